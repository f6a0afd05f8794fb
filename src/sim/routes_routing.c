/*
 * Utilization, skills and queue membership (genesys-api.md §2.4–§2.6).
 * None of these carry a version: the last write wins, as in the real API.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "sim/routes.h"

static const char *const media_types[] = {"call",  "callback", "chat",
                                          "email", "message",  NULL};

void route_utilization_get(struct sim_req *req)
{
    long i = route_agent(req);

    if (i >= 0)
        sim_reply_json(req, 200, org_utilization_json(req->org, (size_t)i));
}

/* MediaUtilization{maximumCapacity:int, interruptableMediaTypes:[string],
 * includeNonAcd:bool}; returns 0 when valid. */
static int media_valid(const cJSON *m)
{
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(m, "maximumCapacity");
    const cJSON *intr =
        cJSON_GetObjectItemCaseSensitive(m, "interruptableMediaTypes");
    const cJSON *nonacd = cJSON_GetObjectItemCaseSensitive(m, "includeNonAcd");
    const cJSON *t;

    if (!cJSON_IsObject(m) || !cJSON_IsNumber(cap) ||
        cap->valuedouble != floor(cap->valuedouble) || cap->valuedouble < 0 ||
        cap->valuedouble > 25)
        return -1;
    if (intr && !cJSON_IsArray(intr))
        return -1;
    cJSON_ArrayForEach(t, intr) if (!cJSON_IsString(t)) return -1;
    if (nonacd && !cJSON_IsBool(nonacd))
        return -1;
    return 0;
}

void route_utilization_put(struct sim_req *req)
{
    long i = route_agent(req);
    cJSON *body, *util, *clean = NULL;
    const cJSON *m;

    if (i < 0 || !(body = sim_req_json(req)))
        return;
    util = cJSON_GetObjectItemCaseSensitive(body, "utilization");
    if (!cJSON_IsObject(body) || (util && !cJSON_IsObject(util))) {
        sim_reply_error(req, 400, "bad.request",
                        "Invalid utilization: expected {\"utilization\": "
                        "{mediaType: MediaUtilization}}.");
        goto out;
    }
    clean = cJSON_CreateObject();
    cJSON_ArrayForEach(m, util)
    {
        int known = 0;
        for (int k = 0; media_types[k]; k++)
            known |= !strcmp(m->string, media_types[k]);
        if (!known || media_valid(m)) {
            sim_reply_error(req, 400, "bad.request",
                            "Invalid value for utilization.%s.", m->string);
            goto out;
        }
        /* Normalise to the full MediaUtilization shape. */
        {
            cJSON *c = cJSON_CreateObject();
            const cJSON *intr =
                cJSON_GetObjectItemCaseSensitive(m, "interruptableMediaTypes");
            const cJSON *nonacd =
                cJSON_GetObjectItemCaseSensitive(m, "includeNonAcd");
            cJSON_AddNumberToObject(
                c, "maximumCapacity",
                cJSON_GetObjectItemCaseSensitive(m, "maximumCapacity")
                    ->valuedouble);
            cJSON_AddItemToObject(c, "interruptableMediaTypes",
                                  intr ? cJSON_Duplicate(intr, 1)
                                       : cJSON_CreateArray());
            cJSON_AddBoolToObject(c, "includeNonAcd", cJSON_IsTrue(nonacd));
            cJSON_AddItemToObject(clean, m->string, c);
        }
    }
    /* Omitted media types revert to the org default (genesys-api.md §2.4),
     * which the stored map expresses by leaving them out. */
    org_set_utilization(req->org, (size_t)i, clean, &req->writer);
    sim_reply_json(req, 200, org_utilization_json(req->org, (size_t)i));
out:
    cJSON_Delete(clean);
    cJSON_Delete(body);
}

void route_utilization_delete(struct sim_req *req)
{
    long i = route_agent(req);

    if (i < 0)
        return;
    org_set_utilization(req->org, (size_t)i, NULL, &req->writer);
    sim_reply_json(req, 204, NULL);
}

/*
 * GET of a named org-wide listing (skills, queues): optional id filter
 * (comma-joined or repeated) and name prefix filter (a trailing '*' is
 * allowed), then paged.  @json_fn builds entity @i; there are @count.
 */
static void named_listing(struct sim_req *req, size_t count,
                          cJSON *(*json_fn)(const struct sim_org *, size_t))
{
    int64_t size, number, total = 0;
    const char *name = sim_req_query(req, "name");
    char **ids;
    size_t n_ids = sim_req_query_list(req, "id", &ids);
    cJSON *entities;

    if (sim_req_paging(req, 25, 500, &size, &number)) {
        free(ids);
        return;
    }
    entities = cJSON_CreateArray();
    for (size_t i = 0; i < count; i++) {
        cJSON *o = json_fn(req->org, i);
        const char *id = cJSON_GetObjectItemCaseSensitive(o, "id")->valuestring;
        const char *oname =
            cJSON_GetObjectItemCaseSensitive(o, "name")->valuestring;
        int keep = !n_ids;

        for (size_t k = 0; k < n_ids; k++)
            keep |= !strcmp(ids[k], id);
        if (keep && name)
            keep = !strncasecmp(oname, name, strcspn(name, "*"));
        if (keep && total >= (number - 1) * size && total < number * size)
            cJSON_AddItemToArray(entities, o);
        else
            cJSON_Delete(o);
        total += keep;
    }
    free(ids);
    sim_reply_json(req, 200, sim_listing(req, entities, size, number, total));
}

void route_skills_list(struct sim_req *req)
{
    named_listing(req, org_skill_count(req->org), org_skill_json);
}

/*
 * QueueMemberEntityListing has no total, lastUri or pageCount (the SDK's
 * model, index.d.ts of purecloud-platform-client-v2): the real members
 * endpoint pages without counting.  Takes @listing, returns it trimmed.
 */
static cJSON *member_listing(cJSON *listing)
{
    cJSON_DeleteItemFromObjectCaseSensitive(listing, "total");
    cJSON_DeleteItemFromObjectCaseSensitive(listing, "lastUri");
    cJSON_DeleteItemFromObjectCaseSensitive(listing, "pageCount");
    return listing;
}

/* Page through a plain array (taken) as an entity listing; @members drops
 * the fields a QueueMemberEntityListing does not have. */
static void reply_paged(struct sim_req *req, cJSON *all, int64_t def_size,
                        int64_t max_size, int members)
{
    int64_t size, number, total = cJSON_GetArraySize(all), k = 0;
    cJSON *page, *item, *next, *listing;

    if (sim_req_paging(req, def_size, max_size, &size, &number)) {
        cJSON_Delete(all);
        return;
    }
    page = cJSON_CreateArray();
    for (item = all->child; item; item = next, k++) {
        next = item->next;
        if (k >= (number - 1) * size && k < number * size)
            cJSON_AddItemToArray(page, cJSON_DetachItemViaPointer(all, item));
    }
    cJSON_Delete(all);
    listing = sim_listing(req, page, size, number, total);
    sim_reply_json(req, 200, members ? member_listing(listing) : listing);
}

void route_user_skills_get(struct sim_req *req)
{
    long i = route_agent(req);

    if (i >= 0)
        reply_paged(req, org_user_skills_json(req->org, (size_t)i), 25, 100, 0);
}

static void skills_bulk(struct sim_req *req, int replace)
{
    long i = route_agent(req);
    cJSON *body;
    const cJSON *item;
    size_t n = 0, *skills = NULL;
    double *prof = NULL;

    if (i < 0 || !(body = sim_req_json(req)))
        return;
    if (!cJSON_IsArray(body)) {
        sim_reply_error(req, 400, "bad.request",
                        "Expected an array of UserRoutingSkillPost.");
        goto out;
    }
    skills = xcalloc((size_t)cJSON_GetArraySize(body) + 1, sizeof(*skills));
    prof = xcalloc((size_t)cJSON_GetArraySize(body) + 1, sizeof(*prof));
    cJSON_ArrayForEach(item, body)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(item, "proficiency");
        long s =
            cJSON_IsString(id) ? org_find_skill(req->org, id->valuestring) : -1;
        if (s < 0) {
            sim_reply_error(req, 400, "bad.request",
                            "Invalid skill id in entry %zu.", n);
            goto out;
        }
        if (!cJSON_IsNumber(p) || p->valuedouble < 0 || p->valuedouble > 5) {
            sim_reply_error(req, 400, "bad.request",
                            "Invalid proficiency in entry %zu: expected 0.0 "
                            "to 5.0.",
                            n);
            goto out;
        }
        skills[n] = (size_t)s;
        prof[n] = p->valuedouble;
        n++;
    }
    org_set_skills(req->org, (size_t)i, skills, prof, n, replace, &req->writer);
    reply_paged(req, org_user_skills_json(req->org, (size_t)i), 100, 500, 0);
out:
    free(skills);
    free(prof);
    cJSON_Delete(body);
}

void route_user_skills_patch_bulk(struct sim_req *req)
{
    skills_bulk(req, 0);
}

void route_user_skills_put_bulk(struct sim_req *req)
{
    skills_bulk(req, 1);
}

void route_queues_list(struct sim_req *req)
{
    named_listing(req, org_queue_count(req->org), org_queue_json);
}

static long route_queue(struct sim_req *req)
{
    long q = org_find_queue(req->org, req->params[0]);

    if (q < 0)
        sim_reply_error(req, 404, "not.found",
                        "The queue %s could not be found.", req->params[0]);
    return q;
}

/*
 * QueueMember.user is a full User (the SDK's model requires its version),
 * with presence when expanded; routingStatus sits on the member itself.
 */
static cJSON *member_json(struct sim_req *req, size_t i, size_t q, int joined,
                          unsigned expand)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *u = org_user_json(req->org, i, expand & SIM_EXPAND_PRESENCE);
    char uri[200];
    const char *id = org_agent_id(req->org, i);

    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(
        o, "name", cJSON_GetObjectItemCaseSensitive(u, "name")->valuestring);
    cJSON_AddItemToObject(o, "user", u);
    cJSON_AddNumberToObject(o, "ringNumber", 1);
    cJSON_AddBoolToObject(o, "joined", joined);
    cJSON_AddStringToObject(o, "memberBy", "user");
    if (expand & SIM_EXPAND_ROUTING)
        cJSON_AddItemToObject(o, "routingStatus",
                              org_routing_json(req->org, i));
    snprintf(uri, sizeof(uri), "/api/v2/routing/queues/%s/members/%s",
             req->params[0], id);
    cJSON_AddStringToObject(o, "selfUri", uri);
    (void)q;
    return o;
}

void route_queue_members_get(struct sim_req *req)
{
    long q = route_queue(req);
    const char *joined_q;
    int want_joined = -1;
    unsigned expand = 0;
    char **exp;
    size_t n_exp;
    cJSON *all;

    if (q < 0)
        return;
    joined_q = sim_req_query(req, "joined");
    if (joined_q && sim_req_query_bool(req, "joined", 0, &want_joined))
        return;
    n_exp = sim_req_query_list(req, "expand", &exp);
    for (size_t k = 0; k < n_exp; k++) {
        if (!strcmp(exp[k], "presence"))
            expand |= SIM_EXPAND_PRESENCE;
        else if (!strcmp(exp[k], "routingStatus"))
            expand |= SIM_EXPAND_ROUTING;
    }
    free(exp);
    /* routingStatus and presence are also filters when given as values of
     * their own parameters; only joined is supported as a filter here. */
    all = cJSON_CreateArray();
    for (size_t i = 0; i < org_agent_count(req->org); i++) {
        int joined;
        if (!org_is_member(req->org, i, (size_t)q, &joined))
            continue;
        if (want_joined >= 0 && joined != want_joined)
            continue;
        cJSON_AddItemToArray(all,
                             member_json(req, i, (size_t)q, joined, expand));
    }
    reply_paged(req, all, 25, 100, 1);
}

/* Body [{"id": userId, ...}] of at most 100 entries; NULL after a 400. */
static cJSON *member_list(struct sim_req *req, int need_joined)
{
    cJSON *body = sim_req_json(req);
    const cJSON *item;

    if (!body)
        return NULL;
    if (!cJSON_IsArray(body) || cJSON_GetArraySize(body) > 100) {
        sim_reply_error(req, 400, "bad.request",
                        "Expected an array of at most 100 members.");
        cJSON_Delete(body);
        return NULL;
    }
    cJSON_ArrayForEach(item, body)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(item, "joined");
        if (!cJSON_IsString(id) || (need_joined && !cJSON_IsBool(j))) {
            sim_reply_error(req, 400, "bad.request",
                            need_joined ? "Each entry needs id and joined."
                                        : "Each entry needs an id.");
            cJSON_Delete(body);
            return NULL;
        }
    }
    return body;
}

void route_queue_members_post(struct sim_req *req)
{
    long q = route_queue(req);
    int del;
    cJSON *body;
    const cJSON *item;

    if (q < 0 || sim_req_query_bool(req, "delete", 0, &del) ||
        !(body = member_list(req, 0)))
        return;
    cJSON_ArrayForEach(item, body)
    {
        long i = org_find_agent(
            req->org,
            cJSON_GetObjectItemCaseSensitive(item, "id")->valuestring);
        if (i >= 0)
            org_set_member(req->org, (size_t)i, (size_t)q, !del, &req->writer);
    }
    cJSON_Delete(body);
    sim_reply_json(req, 200, NULL);
}

void route_queue_members_patch(struct sim_req *req)
{
    long q = route_queue(req);
    cJSON *body, *entities;
    const cJSON *item;
    int64_t n = 0;

    if (q < 0 || !(body = member_list(req, 1)))
        return;
    entities = cJSON_CreateArray();
    cJSON_ArrayForEach(item, body)
    {
        long i = org_find_agent(
            req->org,
            cJSON_GetObjectItemCaseSensitive(item, "id")->valuestring);
        int joined =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item, "joined"));
        /* Pairs where the user is not a member are silently ignored. */
        if (i >= 0 && org_set_joined(req->org, (size_t)i, (size_t)q, joined,
                                     &req->writer)) {
            cJSON_AddItemToArray(
                entities, member_json(req, (size_t)i, (size_t)q, joined, 0));
            n++;
        }
    }
    cJSON_Delete(body);
    sim_reply_json(req, 200,
                   member_listing(sim_listing(req, entities, n ? n : 1, 1, n)));
}

static cJSON *user_queue_json(struct sim_req *req, size_t q, int joined)
{
    cJSON *o = org_queue_json(req->org, q);

    cJSON_AddBoolToObject(o, "joined", joined);
    return o;
}

void route_user_queues_get(struct sim_req *req)
{
    long i = route_agent(req);
    int want_joined;
    cJSON *all;

    if (i < 0 || sim_req_query_bool(req, "joined", 1, &want_joined))
        return;
    all = cJSON_CreateArray();
    for (size_t q = 0; q < org_queue_count(req->org); q++) {
        int joined;
        if (org_is_member(req->org, (size_t)i, q, &joined) &&
            joined == want_joined)
            cJSON_AddItemToArray(all, user_queue_json(req, q, joined));
    }
    reply_paged(req, all, 25, 100, 0);
}

void route_user_queues_patch(struct sim_req *req)
{
    long i = route_agent(req);
    cJSON *body, *entities;
    const cJSON *item;
    int64_t n = 0;

    if (i < 0 || !(body = member_list(req, 1)))
        return;
    entities = cJSON_CreateArray();
    cJSON_ArrayForEach(item, body)
    {
        long q = org_find_queue(
            req->org,
            cJSON_GetObjectItemCaseSensitive(item, "id")->valuestring);
        int joined =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item, "joined"));
        if (q >= 0 && org_set_joined(req->org, (size_t)i, (size_t)q, joined,
                                     &req->writer)) {
            cJSON_AddItemToArray(entities,
                                 user_queue_json(req, (size_t)q, joined));
            n++;
        }
    }
    cJSON_Delete(body);
    sim_reply_json(req, 200, sim_listing(req, entities, n ? n : 1, 1, n));
}
