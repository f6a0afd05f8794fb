/*
 * Users, presence and routing status (genesys-api.md §2.1–§2.3).
 *
 * PATCH /api/v2/users/{id} is the optimistic-concurrency surface: the
 * version travels in the body, a missing version is a 400, a stale one a
 * 409 with the directory's real message, and success increments the version
 * by exactly one under the agent's lock (org_user_patch).  The 409 code
 * "general.conflict" is a guess (the real code is unknown) — see the
 * README's notes on the simulator.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "sim/routes.h"

#define CONFLICT_MESSAGE                                                       \
    "The version number of the modified resource must match the version "      \
    "number in the database."

long route_agent(struct sim_req *req)
{
    long i = org_find_agent(req->org, req->params[0]);

    req->agent = req->params[0];
    if (i < 0)
        sim_reply_error(req, 404, "not.found",
                        "The user %s could not be found.", req->params[0]);
    return i;
}

static unsigned parse_expand(struct sim_req *req)
{
    char **values;
    size_t n = sim_req_query_list(req, "expand", &values);
    unsigned flags = 0;

    /* Expands are best effort: unknown values are ignored, as the real API
     * does not guarantee them. */
    for (size_t k = 0; k < n; k++) {
        if (!strcmp(values[k], "presence"))
            flags |= SIM_EXPAND_PRESENCE;
        else if (!strcmp(values[k], "routingStatus"))
            flags |= SIM_EXPAND_ROUTING;
    }
    free(values);
    return flags;
}

/* state query: active (default), inactive, deleted, any; -1 after a 400. */
static int parse_state_filter(struct sim_req *req, const char **out,
                              int allow_any)
{
    const char *s = sim_req_query(req, "state");

    if (!s) {
        *out = "active";
        return 0;
    }
    if (!strcmp(s, "active") || !strcmp(s, "inactive") ||
        !strcmp(s, "deleted") || (allow_any && !strcmp(s, "any"))) {
        *out = s;
        return 0;
    }
    sim_reply_error(req, 400, "bad.request", "Invalid value for state: %s", s);
    return -1;
}

static int user_in_state(cJSON *user, const char *state)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(user, "state");

    if (!strcmp(state, "any"))
        return 1;
    return cJSON_IsString(s) && !strcmp(s->valuestring, state);
}

void route_users_list(struct sim_req *req)
{
    int64_t size, number, total = 0, first;
    unsigned expand = parse_expand(req);
    const char *state;
    char **ids = NULL;
    size_t n_ids;
    cJSON *entities;
    int descending = 0;
    const char *sort = sim_req_query(req, "sortOrder");

    if (sim_req_paging(req, 25, 500, &size, &number) ||
        parse_state_filter(req, &state, 1))
        return;
    if (sort && strcmp(sort, "ascending") && strcmp(sort, "descending")) {
        sim_reply_error(req, 400, "bad.request",
                        "Invalid value for sortOrder: %s", sort);
        return;
    }
    descending = sort && !strcmp(sort, "descending");
    n_ids = sim_req_query_list(req, "id", &ids);
    if (n_ids && sim_req_query(req, "jabberId")) {
        free(ids);
        sim_reply_error(req, 400, "bad.request",
                        "The id and jabberId parameters cannot be combined.");
        return;
    }
    entities = cJSON_CreateArray();
    first = (number - 1) * size;
    {
        size_t n = n_ids ? n_ids : org_agent_count(req->org);
        for (size_t k = 0; k < n; k++) {
            size_t pos = descending ? n - 1 - k : k;
            long i = n_ids ? org_find_agent(req->org, ids[pos]) : (long)pos;
            cJSON *u;

            if (i < 0)
                continue;
            u = org_user_json(req->org, (size_t)i, expand);
            if (!user_in_state(u, state)) {
                cJSON_Delete(u);
                continue;
            }
            if (total >= first && total < first + size)
                cJSON_AddItemToArray(entities, u);
            else
                cJSON_Delete(u);
            total++;
        }
    }
    free(ids);
    sim_reply_json(req, 200, sim_listing(req, entities, size, number, total));
}

void route_user_get(struct sim_req *req)
{
    long i = route_agent(req);
    const char *state;
    cJSON *u;

    if (i < 0 || parse_state_filter(req, &state, 0))
        return;
    u = org_user_json(req->org, (size_t)i, parse_expand(req));
    if (!user_in_state(u, state)) {
        cJSON_Delete(u);
        sim_reply_error(req, 404, "not.found",
                        "The user %s could not be found.", req->params[0]);
        return;
    }
    req->version_current = (int64_t)cJSON_GetNumberValue(
        cJSON_GetObjectItemCaseSensitive(u, "version"));
    sim_reply_json(req, 200, u);
}

enum field_type { F_STRING, F_BOOL, F_OBJECT, F_ARRAY };

static const struct {
    const char *name;
    enum field_type type;
} update_user_fields[] = {
    {"id", F_STRING},           {"name", F_STRING},
    {"chat", F_OBJECT},         {"department", F_STRING},
    {"email", F_STRING},        {"primaryContactInfo", F_ARRAY},
    {"addresses", F_ARRAY},     {"title", F_STRING},
    {"username", F_STRING},     {"preferredName", F_STRING},
    {"manager", F_STRING},      {"images", F_ARRAY},
    {"profileSkills", F_ARRAY}, {"locations", F_ARRAY},
    {"groups", F_ARRAY},        {"state", F_STRING},
    {"acdAutoAnswer", F_BOOL},  {"certifications", F_ARRAY},
    {"biography", F_OBJECT},    {"employerInfo", F_OBJECT},
    {"selfUri", F_STRING},
};

static int type_ok(const cJSON *v, enum field_type t)
{
    switch (t) {
    case F_STRING:
        return cJSON_IsString(v) || cJSON_IsNull(v);
    case F_BOOL:
        return cJSON_IsBool(v) || cJSON_IsNull(v);
    case F_OBJECT:
        return cJSON_IsObject(v) || cJSON_IsNull(v);
    case F_ARRAY:
        return cJSON_IsArray(v) || cJSON_IsNull(v);
    }
    return 0;
}

/* The version member as a whole number, or a 400 reply and -1. */
static int read_version(struct sim_req *req, const cJSON *body,
                        int64_t *version)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "version");

    if (!v || cJSON_IsNull(v)) {
        sim_reply_error(req, 400, "bad.request",
                        "The version field is required; get the current "
                        "version with a GET on the user first.");
        return -1;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < 0 || v->valuedouble > 9e15) {
        sim_reply_error(req, 400, "bad.request",
                        "Invalid value for field 'version': expected an "
                        "integer.");
        return -1;
    }
    *version = (int64_t)v->valuedouble;
    req->version_sent = *version;
    return 0;
}

static void reply_conflict(struct sim_req *req, int64_t current)
{
    req->version_current = current;
    sim_reply_error(req, 409, "general.conflict", CONFLICT_MESSAGE);
}

/* Keep only the known UpdateUser fields; "state", when present, is the only
 * modifiable field (genesys-api.md §2.1).  Returns a new object or NULL
 * after a 400 reply. */
static cJSON *validated_fields(struct sim_req *req, const cJSON *body)
{
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(body, "state");
    cJSON *fields = cJSON_CreateObject();
    const cJSON *f;

    cJSON_ArrayForEach(f, body)
    {
        for (size_t k = 0;
             k < sizeof(update_user_fields) / sizeof(update_user_fields[0]);
             k++) {
            if (strcmp(f->string, update_user_fields[k].name))
                continue;
            if (!type_ok(f, update_user_fields[k].type)) {
                sim_reply_error(req, 400, "bad.request",
                                "Invalid value for field '%s'.", f->string);
                cJSON_Delete(fields);
                return NULL;
            }
            if (!state || !strcmp(f->string, "state"))
                cJSON_AddItemToObject(fields, f->string, cJSON_Duplicate(f, 1));
        }
    }
    if (cJSON_IsString(state) && strcmp(state->valuestring, "active") &&
        strcmp(state->valuestring, "inactive") &&
        strcmp(state->valuestring, "deleted")) {
        sim_reply_error(req, 400, "bad.request",
                        "Invalid value for field 'state'.");
        cJSON_Delete(fields);
        return NULL;
    }
    return fields;
}

void route_user_patch(struct sim_req *req)
{
    long i = route_agent(req);
    cJSON *body, *fields = NULL;
    int64_t version, after;

    if (i < 0 || !(body = sim_req_json(req)))
        return;
    if (!cJSON_IsObject(body)) {
        sim_reply_error(req, 400, "bad.request",
                        "The request body must be a JSON object.");
        goto out;
    }
    if (read_version(req, body, &version) ||
        !(fields = validated_fields(req, body)))
        goto out;
    if (org_user_patch(req->org, (size_t)i, version, fields, &req->writer,
                       &after)) {
        reply_conflict(req, after);
        goto out;
    }
    req->version_current = after;
    sim_reply_json(req, 200, org_user_json(req->org, (size_t)i, 0));
out:
    cJSON_Delete(fields);
    cJSON_Delete(body);
}

void route_user_state_put(struct sim_req *req)
{
    long i = route_agent(req);
    cJSON *body, *fields, *o;
    const cJSON *state, *reason, *date;
    int64_t version, after;

    if (i < 0 || !(body = sim_req_json(req)))
        return;
    state = cJSON_GetObjectItemCaseSensitive(body, "state");
    if (!cJSON_IsObject(body) || !cJSON_IsString(state) ||
        (strcmp(state->valuestring, "active") &&
         strcmp(state->valuestring, "inactive") &&
         strcmp(state->valuestring, "deleted"))) {
        sim_reply_error(req, 400, "bad.request",
                        "Invalid value for field 'state'.");
        cJSON_Delete(body);
        return;
    }
    if (read_version(req, body, &version)) {
        cJSON_Delete(body);
        return;
    }
    fields = cJSON_CreateObject();
    cJSON_AddStringToObject(fields, "state", state->valuestring);
    if (org_user_patch(req->org, (size_t)i, version, fields, &req->writer,
                       &after)) {
        reply_conflict(req, after);
    } else {
        req->version_current = after;
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "state", state->valuestring);
        cJSON_AddNumberToObject(o, "version", (double)after);
        reason = cJSON_GetObjectItemCaseSensitive(body, "stateChangeReason");
        date = cJSON_GetObjectItemCaseSensitive(body, "stateChangeDate");
        if (cJSON_IsString(reason))
            cJSON_AddStringToObject(o, "stateChangeReason",
                                    reason->valuestring);
        if (cJSON_IsString(date))
            cJSON_AddStringToObject(o, "stateChangeDate", date->valuestring);
        sim_reply_json(req, 200, o);
    }
    cJSON_Delete(fields);
    cJSON_Delete(body);
}

void route_routingstatus_get(struct sim_req *req)
{
    long i = route_agent(req);

    if (i >= 0)
        sim_reply_json(req, 200, org_routing_json(req->org, (size_t)i));
}

void route_routingstatus_put(struct sim_req *req)
{
    long i = route_agent(req);
    cJSON *body;
    const cJSON *status;
    int r;

    if (i < 0 || !(body = sim_req_json(req)))
        return;
    status = cJSON_GetObjectItemCaseSensitive(body, "status");
    r = cJSON_IsString(status) ? sim_routing_lookup(status->valuestring) : -1;
    if (!cJSON_IsObject(body) || r < 0) {
        sim_reply_error(req, 400, "bad.request",
                        "Invalid value for field 'status': expected one of "
                        "OFF_QUEUE, IDLE, INTERACTING, NOT_RESPONDING, "
                        "COMMUNICATING.");
    } else {
        org_set_routing(req->org, (size_t)i, (enum sim_routing)r, &req->writer);
        sim_reply_json(req, 200, org_routing_json(req->org, (size_t)i));
    }
    cJSON_Delete(body);
}

void route_presence_get(struct sim_req *req)
{
    long i = route_agent(req);

    if (i >= 0)
        sim_reply_json(req, 200, org_presence_json(req->org, (size_t)i));
}

void route_presence_patch(struct sim_req *req)
{
    long i = route_agent(req);
    cJSON *body;
    const cJSON *def, *def_id, *message, *primary;
    int p = -1;

    if (i < 0 || !(body = sim_req_json(req)))
        return;
    def = cJSON_GetObjectItemCaseSensitive(body, "presenceDefinition");
    def_id = cJSON_GetObjectItemCaseSensitive(def, "id");
    message = cJSON_GetObjectItemCaseSensitive(body, "message");
    primary = cJSON_GetObjectItemCaseSensitive(body, "primary");
    if (!cJSON_IsObject(body) || (def && !cJSON_IsObject(def)) ||
        (message && !cJSON_IsString(message)) ||
        (primary && !cJSON_IsBool(primary))) {
        sim_reply_error(req, 400, "bad.request",
                        "Invalid presence: expected presenceDefinition{id}, "
                        "message or primary.");
        goto out;
    }
    if (def) {
        /* Only ids name a definition; a bare systemPresence is not an id. */
        for (int k = 0; cJSON_IsString(def_id) && k < SIM_PRESENCE_COUNT; k++)
            if (!strcmp(def_id->valuestring, sim_presence_defs[k].id))
                p = k;
        if (p < 0) {
            sim_reply_error(req, 400, "bad.request",
                            "Invalid value for field 'presenceDefinition.id'.");
            goto out;
        }
    } else if (!message && !primary) {
        sim_reply_error(req, 400, "bad.request",
                        "Specify presenceDefinition, message or primary.");
        goto out;
    }
    if (p < 0)
        p = (int)org_presence(req->org, (size_t)i);
    org_set_presence(req->org, (size_t)i, (enum sim_presence)p,
                     message ? message->valuestring : NULL, &req->writer);
    /* Routing status follows presence: On Queue makes an off-queue agent
     * IDLE, leaving On Queue takes the agent off queue. */
    if (p == SIM_PRESENCE_ON_QUEUE &&
        org_routing(req->org, (size_t)i) == SIM_ROUTING_OFF_QUEUE)
        org_set_routing(req->org, (size_t)i, SIM_ROUTING_IDLE, &req->writer);
    else if (p != SIM_PRESENCE_ON_QUEUE)
        org_set_routing(req->org, (size_t)i, SIM_ROUTING_OFF_QUEUE,
                        &req->writer);
    sim_reply_json(req, 200, org_presence_json(req->org, (size_t)i));
out:
    cJSON_Delete(body);
}

static cJSON *presence_definition_json(int k)
{
    cJSON *o = cJSON_CreateObject(), *labels;
    char uri[128];

    cJSON_AddStringToObject(o, "id", sim_presence_defs[k].id);
    labels = cJSON_AddObjectToObject(o, "languageLabels");
    cJSON_AddStringToObject(labels, "en_US", sim_presence_defs[k].name);
    cJSON_AddStringToObject(o, "systemPresence", sim_presence_defs[k].name);
    cJSON_AddBoolToObject(o, "deactivated", 0);
    cJSON_AddBoolToObject(o, "primary", 1);
    snprintf(uri, sizeof(uri), "/api/v2/presencedefinitions/%s",
             sim_presence_defs[k].id);
    cJSON_AddStringToObject(o, "selfUri", uri);
    return o;
}

void route_presencedefinitions_list(struct sim_req *req)
{
    int64_t size, number;
    cJSON *entities;

    if (sim_req_paging(req, 25, 100, &size, &number))
        return;
    entities = cJSON_CreateArray();
    for (int64_t k = (number - 1) * size;
         k < SIM_PRESENCE_COUNT && k < number * size; k++)
        cJSON_AddItemToArray(entities, presence_definition_json((int)k));
    sim_reply_json(
        req, 200, sim_listing(req, entities, size, number, SIM_PRESENCE_COUNT));
}

void route_presencedefinition_get(struct sim_req *req)
{
    for (int k = 0; k < SIM_PRESENCE_COUNT; k++) {
        if (!strcmp(req->params[0], sim_presence_defs[k].id)) {
            sim_reply_json(req, 200, presence_definition_json(k));
            return;
        }
    }
    sim_reply_error(req, 404, "not.found",
                    "The presence definition %s could not be found.",
                    req->params[0]);
}
