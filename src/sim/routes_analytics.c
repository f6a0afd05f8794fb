/*
 * POST /api/v2/analytics/users/details/query (genesys-api.md §6): each
 * agent's primaryPresence[] and routingStatus[] intervals from the org's
 * history (org_history), for the agents and values the filters select.
 * Needs analytics:userDetail:view (403 when world.forbid lists it).
 *
 * The simulator's reading of the query, where the real API is not
 * documented:
 *  - every interval that overlaps the query interval is returned whole
 *    (not clipped to it); an interval still open has no endTime (whether
 *    real orgs leave it out is unverified);
 *  - userFilters select agents (dimension userId); presenceFilters select
 *    primaryPresence[] entries (systemPresence, organizationPresenceId)
 *    and routingStatusFilters select routingStatus[] entries
 *    (routingStatus).  An agent is a hit when it passes userFilters, has
 *    a matching interval of each kind whose filters were given, and has
 *    at least one interval at all; entries in a filter array are ANDed,
 *    predicates and clauses inside one filter combine by its type;
 *  - values compare as genesys-api.md §2.3 advises: presences ignore
 *    case, spaces and underscores ("ON_QUEUE" = "On Queue"), routing
 *    statuses and presence ids ignore case, user ids are exact;
 *  - order asc (default) / desc sorts the agents (org order) and each
 *    agent's intervals by startTime; unordered is asc;
 *  - paging is over agents: pageSize 1..100 (default 25, the documented
 *    default; 100 is the analytics detail queries' usual maximum, not
 *    stated for this endpoint), pageNumber from 1; totalHits counts the
 *    agents; userDetails is left out when the page is empty, as analytics
 *    queries leave out empty collections.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/jread.h"
#include "base/xalloc.h"
#include "sim/audit.h"
#include "sim/routes.h"

#define ANALYTICS_PERMISSION "analytics:userDetail:view"
#define PAGE_DEFAULT 25
#define PAGE_MAX 100

enum dim {
    DIM_USER_ID,
    DIM_SYSTEM_PRESENCE,
    DIM_ORG_PRESENCE_ID,
    DIM_ROUTING_STATUS,
    DIM_COUNT
};

static const char *const dim_names[DIM_COUNT + 1] = {"userId", "systemPresence",
                                                     "organizationPresenceId",
                                                     "routingStatus", NULL};

/* The dimensions each filter array may use. */
static const char *const user_dims[] = {"userId", NULL};
static const char *const presence_dims[] = {"systemPresence",
                                            "organizationPresenceId", NULL};
static const char *const routing_dims[] = {"routingStatus", NULL};

enum { OP_MATCHES, OP_EXISTS, OP_NOT_EXISTS };
static const char *const ops[] = {"matches", "exists", "notExists", NULL};
static const char *const bool_types[] = {"and", "or", NULL};
static const char *const predicate_types[] = {"dimension", NULL};

/* What one predicate is tested against: a value per dimension, NULL when
 * the subject has none. */
struct subject {
    const char *v[DIM_COUNT];
};

/* ---- validation -------------------------------------------------------- */

static enum rt_err check_predicates(struct jread *jr, const cJSON *arr,
                                    const char *path, const char *const *dims,
                                    int *count)
{
    const cJSON *p;
    char sub[JREAD_PATH_MAX];
    int k = 0;

    if (!arr || cJSON_IsNull(arr))
        return RT_OK;
    if (!cJSON_IsArray(arr))
        return jread_fail(jr, path, "expected an array");
    cJSON_ArrayForEach(p, arr)
    {
        int type = 0, dim = -1, op = OP_MATCHES;
        const char *value = NULL;

        jread_path_index(sub, sizeof(sub), path, k++);
        if (!cJSON_IsObject(p))
            return jread_fail(jr, sub, "expected an object");
        if (jread_enum(jr, p, sub, "type", predicate_types, &type) ||
            jread_enum(jr, p, sub, "dimension", dims, &dim) ||
            jread_enum(jr, p, sub, "operator", ops, &op) ||
            jread_string(jr, p, sub, "value", &value))
            return RT_EINVAL;
        if (dim < 0)
            return jread_fail(jr, sub, "dimension is required");
        if (cJSON_GetObjectItemCaseSensitive(p, "range"))
            return jread_fail(jr, sub, "range is not supported on a dimension");
        if (op == OP_MATCHES && !value)
            return jread_fail(jr, sub,
                              "value is required with operator "
                              "matches");
        (*count)++;
    }
    return RT_OK;
}

/* A filter array (userFilters, presenceFilters, routingStatusFilters). */
static enum rt_err check_filters(struct jread *jr, const cJSON *body,
                                 const char *key, const char *const *dims)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, key);
    const cJSON *f, *c;
    char path[JREAD_PATH_MAX], sub[JREAD_PATH_MAX], leaf[JREAD_PATH_MAX];
    int k = 0;

    if (!arr || cJSON_IsNull(arr))
        return RT_OK;
    if (!cJSON_IsArray(arr))
        return jread_fail(jr, key, "expected an array");
    cJSON_ArrayForEach(f, arr)
    {
        const cJSON *clauses;
        int type = -1, count = 0, j = 0;

        jread_path_index(path, sizeof(path), key, k++);
        if (!cJSON_IsObject(f))
            return jread_fail(jr, path, "expected an object");
        if (jread_enum(jr, f, path, "type", bool_types, &type))
            return RT_EINVAL;
        if (type < 0)
            return jread_fail(jr, path, "type is required (and, or)");
        jread_path(sub, sizeof(sub), path, "predicates");
        if (check_predicates(jr,
                             cJSON_GetObjectItemCaseSensitive(f, "predicates"),
                             sub, dims, &count))
            return RT_EINVAL;
        clauses = cJSON_GetObjectItemCaseSensitive(f, "clauses");
        jread_path(sub, sizeof(sub), path, "clauses");
        if (clauses && !cJSON_IsNull(clauses) && !cJSON_IsArray(clauses))
            return jread_fail(jr, sub, "expected an array");
        cJSON_ArrayForEach(c, clauses)
        {
            int ctype = -1;

            jread_path_index(leaf, sizeof(leaf), sub, j++);
            if (!cJSON_IsObject(c))
                return jread_fail(jr, leaf, "expected an object");
            if (jread_enum(jr, c, leaf, "type", bool_types, &ctype))
                return RT_EINVAL;
            if (ctype < 0)
                return jread_fail(jr, leaf, "type is required (and, or)");
            jread_path(path, sizeof(path), leaf, "predicates");
            if (check_predicates(
                    jr, cJSON_GetObjectItemCaseSensitive(c, "predicates"), path,
                    dims, &count))
                return RT_EINVAL;
        }
        if (count == 0) {
            jread_path_index(path, sizeof(path), key, k - 1);
            return jread_fail(jr, path, "needs at least one predicate");
        }
    }
    return RT_OK;
}

/* ---- evaluation (on validated filters) -------------------------------- */

static int value_matches(int dim, const char *have, const char *want)
{
    int w;

    switch (dim) {
    case DIM_USER_ID:
        return !strcmp(have, want);
    case DIM_SYSTEM_PRESENCE:
        /* Any spelling: "ON_QUEUE", "On Queue", "OnQueue". */
        w = sim_presence_lookup(want);
        return w >= 0 && w == sim_presence_lookup(have);
    default:
        return !strcasecmp(have, want);
    }
}

static int dim_index(const char *name)
{
    for (int d = 0; d < DIM_COUNT; d++)
        if (!strcmp(dim_names[d], name))
            return d;
    return -1;
}

static int predicate_holds(const cJSON *p, const struct subject *s)
{
    const cJSON *dim = cJSON_GetObjectItemCaseSensitive(p, "dimension");
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(p, "operator");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(p, "value");
    int d = dim_index(dim->valuestring);
    const char *have = s->v[d];

    if (cJSON_IsString(op) && !strcmp(op->valuestring, "exists"))
        return have != NULL;
    if (cJSON_IsString(op) && !strcmp(op->valuestring, "notExists"))
        return have == NULL;
    return have && value_matches(d, have, value->valuestring);
}

/* Predicates and clauses combined by @and_type. */
static int group_holds(const cJSON *node, const struct subject *s)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(node, "type");
    const cJSON *p, *c;
    int and_type = !strcmp(type->valuestring, "and");

    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(node, "predicates"))
    {
        if (predicate_holds(p, s) != and_type)
            return !and_type;
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(node, "clauses"))
    {
        if (group_holds(c, s) != and_type)
            return !and_type;
    }
    return and_type;
}

/* Every filter of the array holds (an absent array holds). */
static int filters_hold(const cJSON *arr, const struct subject *s)
{
    const cJSON *f;

    cJSON_ArrayForEach(f, arr)
    {
        if (!group_holds(f, s))
            return 0;
    }
    return 1;
}

/* ---- the query --------------------------------------------------------- */

struct query {
    int64_t from_wall_ns, to_wall_ns;
    int descending;
    int64_t page_size, page_number;
    const cJSON *user_filters, *presence_filters, *routing_filters;
};

static enum rt_err parse(struct jread *jr, const cJSON *body, struct query *q)
{
    static const char *const orders[] = {"asc", "desc", "unordered", NULL};
    const char *interval = NULL;
    const cJSON *paging;
    int order = 0;

    memset(q, 0, sizeof(*q));
    q->page_size = PAGE_DEFAULT;
    q->page_number = 1;
    if (!cJSON_IsObject(body))
        return jread_fail(jr, NULL, "expected a UserDetailsQuery object");
    if (jread_string(jr, body, "", "interval", &interval))
        return RT_EINVAL;
    if (!interval)
        return jread_fail(jr, "interval", "is required");
    if (audit_interval_parse(interval, &q->from_wall_ns, &q->to_wall_ns))
        return jread_fail(jr, "interval",
                          "expected \"<ISO-8601>/<ISO-8601>\" with the "
                          "start before the end");
    if (jread_enum(jr, body, "", "order", orders, &order))
        return RT_EINVAL;
    q->descending = order == 1;
    paging = cJSON_GetObjectItemCaseSensitive(body, "paging");
    if (paging && !cJSON_IsNull(paging)) {
        if (!cJSON_IsObject(paging))
            return jread_fail(jr, "paging", "expected an object");
        if (jread_int(jr, paging, "paging", "pageSize", 1, PAGE_MAX,
                      &q->page_size) ||
            jread_int(jr, paging, "paging", "pageNumber", 1, INT32_MAX,
                      &q->page_number))
            return RT_EINVAL;
    }
    if (check_filters(jr, body, "userFilters", user_dims) ||
        check_filters(jr, body, "presenceFilters", presence_dims) ||
        check_filters(jr, body, "routingStatusFilters", routing_dims))
        return RT_EINVAL;
    q->user_filters = cJSON_GetObjectItemCaseSensitive(body, "userFilters");
    q->presence_filters =
        cJSON_GetObjectItemCaseSensitive(body, "presenceFilters");
    q->routing_filters =
        cJSON_GetObjectItemCaseSensitive(body, "routingStatusFilters");
    return RT_OK;
}

static int has_filters(const cJSON *arr)
{
    return cJSON_IsArray(arr) && cJSON_GetArraySize(arr) > 0;
}

static void add_times(cJSON *o, const struct org_interval *iv)
{
    char when[ISO8601_LEN];

    cJSON_AddStringToObject(
        o, "startTime",
        iso8601_format_ms(iv->start_wall_ns, when, sizeof(when)));
    if (iv->end_wall_ns >= 0)
        cJSON_AddStringToObject(
            o, "endTime",
            iso8601_format_ms(iv->end_wall_ns, when, sizeof(when)));
}

/* Keep the intervals the filters select (in place); returns how many. */
static size_t select_intervals(struct org_interval *iv, size_t n,
                               enum sim_prop prop, const cJSON *filters)
{
    size_t kept = 0;

    for (size_t k = 0; k < n; k++) {
        struct subject s;

        memset(&s, 0, sizeof(s));
        if (prop == SIM_PROP_PRESENCE) {
            s.v[DIM_SYSTEM_PRESENCE] = sim_presence_defs[iv[k].value].analytics;
            s.v[DIM_ORG_PRESENCE_ID] = sim_presence_defs[iv[k].value].id;
        } else {
            s.v[DIM_ROUTING_STATUS] = sim_routing_names[iv[k].value];
        }
        if (filters_hold(filters, &s))
            iv[kept++] = iv[k];
    }
    return kept;
}

static cJSON *intervals_json(const struct org_interval *iv, size_t n,
                             enum sim_prop prop, int descending)
{
    cJSON *arr = cJSON_CreateArray();

    for (size_t k = 0; k < n; k++) {
        const struct org_interval *x = &iv[descending ? n - 1 - k : k];
        cJSON *o = cJSON_CreateObject();

        add_times(o, x);
        if (prop == SIM_PROP_PRESENCE) {
            cJSON_AddStringToObject(o, "systemPresence",
                                    sim_presence_defs[x->value].analytics);
            cJSON_AddStringToObject(o, "organizationPresenceId",
                                    sim_presence_defs[x->value].id);
        } else {
            cJSON_AddStringToObject(o, "routingStatus",
                                    sim_routing_names[x->value]);
        }
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

void route_analytics_user_details(struct sim_req *req)
{
    struct jread jr;
    struct query q;
    cJSON *body, *out, *details = NULL;
    size_t n_agents, first;
    int64_t hits = 0;

    if (sim_req_require(req, ANALYTICS_PERMISSION) ||
        !(body = sim_req_json(req)))
        return;
    jread_init(&jr, "request body");
    if (parse(&jr, body, &q)) {
        sim_reply_error(req, 400, "bad.request", "%s", jr.error);
        goto out;
    }
    n_agents = org_agent_count(req->org);
    first = (size_t)(q.page_number - 1) * (size_t)q.page_size;
    for (size_t k = 0; k < n_agents; k++) {
        size_t i = q.descending ? n_agents - 1 - k : k;
        struct subject who;
        struct org_interval *pres, *rout;
        size_t n_pres, n_rout;
        int hit;

        memset(&who, 0, sizeof(who));
        who.v[DIM_USER_ID] = org_agent_id(req->org, i);
        if (!filters_hold(q.user_filters, &who))
            continue;
        n_pres = org_history(req->org, i, SIM_PROP_PRESENCE, q.from_wall_ns,
                             q.to_wall_ns, &pres);
        n_rout = org_history(req->org, i, SIM_PROP_ROUTING, q.from_wall_ns,
                             q.to_wall_ns, &rout);
        n_pres = select_intervals(pres, n_pres, SIM_PROP_PRESENCE,
                                  q.presence_filters);
        n_rout =
            select_intervals(rout, n_rout, SIM_PROP_ROUTING, q.routing_filters);
        hit = n_pres + n_rout > 0 &&
              (n_pres || !has_filters(q.presence_filters)) &&
              (n_rout || !has_filters(q.routing_filters));
        if (hit && (size_t)hits >= first &&
            (size_t)hits < first + (size_t)q.page_size) {
            cJSON *d = cJSON_CreateObject();

            cJSON_AddStringToObject(d, "userId", who.v[DIM_USER_ID]);
            if (n_pres)
                cJSON_AddItemToObject(d, "primaryPresence",
                                      intervals_json(pres, n_pres,
                                                     SIM_PROP_PRESENCE,
                                                     q.descending));
            if (n_rout)
                cJSON_AddItemToObject(d, "routingStatus",
                                      intervals_json(rout, n_rout,
                                                     SIM_PROP_ROUTING,
                                                     q.descending));
            if (!details)
                details = cJSON_CreateArray();
            cJSON_AddItemToArray(details, d);
        }
        hits += hit;
        free(pres);
        free(rout);
    }
    out = cJSON_CreateObject();
    if (details)
        cJSON_AddItemToObject(out, "userDetails", details);
    cJSON_AddNumberToObject(out, "totalHits", (double)hits);
    sim_reply_json(req, 200, out);
out:
    cJSON_Delete(body);
}
