/*
 * Audit and analytics over HTTP against the simulator in process:
 *  - a client's PATCH and the integration's and admin's writes show up in
 *    the audit trail with their own identities, at the times truth.csv
 *    recorded;
 *  - an asynchronous query is Running, then Succeeded, and pages by
 *    cursor over more than one page; its results are fixed at creation;
 *  - the realtime query pages by number; bad input is a 400 naming the
 *    field; world.forbid makes every call a 403;
 *  - analytics intervals equal the transitions truth.csv recorded (driven
 *    ones exactly, the running world's as a prefix), the open interval has
 *    no endTime, paging and filters select agents, bad input is a 400.
 * Waits poll a condition with a deadline; no assertion depends on timing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "api/http.h"
#include "api/oauth.h"
#include "base/clock.h"
#include "sim/sim.h"
#include "support/csvread.h"
#include "support/files.h"

#define DEADLINE_NS (20 * NS_PER_S)
#define POLL_NS (5 * NS_PER_MS)
#define BREAK_ID "227b37e2-f1d0-4dd0-8f50-badd7cf6d158"
#define ON_QUEUE_ID "e08eaf1b-ee47-4fa9-a231-1200e284798f"

struct client {
    struct sim *sim;
    struct http_client *http;
    struct http_response resp;
    char bearer[OAUTH_HEADER_MAX];
    char dir[256]; /* log directory, "" for none */
};

static void start(struct client *c, struct sim_config *cfg, int logs)
{
    struct oauth_token tok;

    cfg->port = 0;
    c->dir[0] = '\0';
    if (logs) {
        assert_int_equal(
            files_mkdtemp(c->dir, sizeof(c->dir), "racetrace-audit"), 0);
        snprintf(cfg->log_dir, sizeof(cfg->log_dir), "%s", c->dir);
    }
    assert_int_equal(sim_start(&c->sim, cfg), RT_OK);
    assert_int_equal(http_client_new(&c->http, NULL), RT_OK);
    http_response_init(&c->resp);
    assert_int_equal(oauth_request_token(c->http, sim_url(c->sim),
                                         cfg->client_id, cfg->client_secret,
                                         &c->resp, &tok),
                     RT_OK);
    snprintf(c->bearer, sizeof(c->bearer), "Authorization: Bearer %s",
             tok.access_token);
}

/* Stop the simulator (flushing its logs); the client stays for cleanup. */
static void stop_sim(struct client *c)
{
    sim_stop(c->sim);
    c->sim = NULL;
}

static void finish(struct client *c)
{
    if (c->sim)
        stop_sim(c);
    http_response_release(&c->resp);
    http_client_free(c->http);
    /* Every log the simulator wrote, whatever their names. */
    if (c->dir[0])
        assert_int_equal(files_remove_tree(c->dir), 0);
}

/* One request; the parsed body (NULL when none or not JSON), the status
 * in c->resp.status.  Caller frees. */
static cJSON *call(struct client *c, const char *method, const char *path,
                   const char *body)
{
    struct http_request req;
    char url[1024];

    memset(&req, 0, sizeof(req));
    snprintf(url, sizeof(url), "%s%s", sim_url(c->sim), path);
    req.method = method;
    req.url = url;
    req.headers[req.n_headers++] = c->bearer;
    if (body) {
        req.headers[req.n_headers++] = "Content-Type: application/json";
        req.body = body;
        req.body_len = strlen(body);
    }
    assert_int_equal(http_client_perform(c->http, &req, &c->resp), RT_OK);
    return cJSON_Parse(buf_str(&c->resp.body));
}

static const cJSON *item(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = item(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int num(const cJSON *o, const char *k)
{
    const cJSON *v = item(o, k);

    assert_true(cJSON_IsNumber(v));
    return (int)v->valuedouble;
}

static void iso(int64_t wall_ns, char *out)
{
    iso8601_format_ms(wall_ns, out, ISO8601_LEN);
}

/* "<from>/<to>" for the last hour through the next. */
static void wide_interval(char *out, size_t len)
{
    char a[ISO8601_LEN], b[ISO8601_LEN];
    int64_t now = clock_wall_ns();

    iso(now - 3600 * NS_PER_S, a);
    iso(now + 3600 * NS_PER_S, b);
    snprintf(out, len, "%s/%s", a, b);
}

/* An ErrorBody with @status and @code whose message names @needle. */
static void assert_error(struct client *c, cJSON *o, long status,
                         const char *code, const char *needle)
{
    assert_int_equal(c->resp.status, status);
    assert_non_null(o);
    assert_string_equal(str(o, "code"), code);
    if (needle && !strstr(str(o, "message"), needle))
        fail_msg("'%s' does not name '%s'", str(o, "message"), needle);
    cJSON_Delete(o);
}

/* POST a realtime query with @filters (JSON array text or NULL); the
 * response, caller frees. */
static cJSON *realtime(struct client *c, const char *filters, int expand)
{
    char interval[80], body[1024];
    cJSON *o;

    wide_interval(interval, sizeof(interval));
    snprintf(body, sizeof(body), "{\"interval\":\"%s\",\"pageSize\":500%s%s}",
             interval, filters ? ",\"filters\":" : "", filters ? filters : "");
    o = call(c, "POST",
             expand ? "/api/v2/audits/query/realtime?expand=user"
                    : "/api/v2/audits/query/realtime",
             body);
    assert_int_equal(c->resp.status, 200);
    return o;
}

static struct sim_actor_config *
add_actor(struct sim_config *cfg, enum sim_actor_kind kind, const char *name)
{
    struct sim_actor_config *a = &cfg->world.actors[cfg->world.n_actors++];

    memset(a, 0, sizeof(*a));
    a->kind = kind;
    snprintf(a->name, sizeof(a->name), "%s", name);
    a->p = 1.0;
    a->share = 1.0;
    a->period_ns = 20 * NS_PER_MS;
    a->gap_lo_ns = 2 * NS_PER_MS;
    a->gap_hi_ns = 5 * NS_PER_MS;
    a->lag_lo_ns = 5 * NS_PER_MS;
    a->lag_hi_ns = 10 * NS_PER_MS;
    a->spread_ns = 100 * NS_PER_MS;
    a->at_ns = -1;
    return a;
}

/* Realtime results for @filters until at least @n, or the deadline. */
static cJSON *wait_records(struct client *c, const char *filters, int n,
                           int expand)
{
    int64_t deadline = clock_mono_ns() + DEADLINE_NS;

    for (;;) {
        cJSON *o = realtime(c, filters, expand);
        if (num(o, "total") >= n)
            return o;
        cJSON_Delete(o);
        if (clock_mono_ns() > deadline)
            fail_msg("fewer than %d audit records for %s", n,
                     filters ? filters : "everything");
        clock_sleep_ns(POLL_NS);
    }
}

/* The version of agent @i over HTTP. */
static int64_t version_of(struct client *c, size_t i)
{
    char path[128];
    cJSON *o;
    int64_t v;

    snprintf(path, sizeof(path), "/api/v2/users/%s",
             org_agent_id(sim_org(c->sim), i));
    o = call(c, "GET", path, NULL);
    assert_int_equal(c->resp.status, 200);
    v = num(o, "version");
    cJSON_Delete(o);
    return v;
}

static void patch_department(struct client *c, size_t i, const char *dept)
{
    char path[128], body[128];

    snprintf(path, sizeof(path), "/api/v2/users/%s",
             org_agent_id(sim_org(c->sim), i));
    snprintf(body, sizeof(body), "{\"version\":%lld,\"department\":\"%s\"}",
             (long long)version_of(c, i), dept);
    cJSON_Delete(call(c, "PATCH", path, body));
    assert_int_equal(c->resp.status, 200);
}

static struct csvread *load_truth(struct client *c)
{
    char path[sizeof(c->dir) + 16];
    struct csvread *t;

    snprintf(path, sizeof(path), "%s/truth.csv", c->dir);
    t = csvread_load(path);
    assert_non_null(t);
    return t;
}

/* A truth.csv row with these fields whose time prints as @when. */
static int truth_has(const struct csvread *t, const char *agent,
                     const char *property, const char *cause, const char *when)
{
    int c_t = csvread_col(t, "time_wall_ns"), c_a = csvread_col(t, "agent");
    int c_p = csvread_col(t, "property"), c_c = csvread_col(t, "cause");
    char text[ISO8601_LEN];

    for (size_t r = 0; r < csvread_rows(t); r++) {
        if (strcmp(csvread_field(t, r, c_a), agent) ||
            strcmp(csvread_field(t, r, c_p), property) ||
            strcmp(csvread_field(t, r, c_c), cause))
            continue;
        iso(csvread_i64(t, r, c_t, -1), text);
        if (!strcmp(text, when))
            return 1;
    }
    return 0;
}

static void writers_are_attributed(void **state)
{
    struct sim_config cfg;
    struct client c;
    char filter[256], cause[96];
    cJSON *mine, *integ, *all;
    const cJSON *m, *e;
    struct csvread *truth;
    int changed = 0, admin_seen = 0;

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 4;
    cfg.world.presence_enabled = 0;
    snprintf(add_actor(&cfg, SIM_ACTOR_INTEGRATION, "crm-sync")->client_id,
             SIM_NAME_MAX, "crm-integration");
    add_actor(&cfg, SIM_ACTOR_ADMIN, "admin");
    start(&c, &cfg, 1);

    patch_department(&c, 0, "Night");
    snprintf(filter, sizeof(filter),
             "[{\"property\":\"ClientId\",\"value\":\"%s\"}]", cfg.client_id);
    mine = wait_records(&c, filter, 1, 0);
    assert_int_equal(num(mine, "total"), 1);
    m = cJSON_GetArrayItem(item(mine, "entities"), 0);
    assert_string_equal(str(m, "serviceName"), "Directory");
    assert_string_equal(str(m, "entityType"), "User");
    assert_string_equal(str(m, "action"), "Update");
    assert_string_equal(str(m, "level"), "SYSTEM");
    assert_string_equal(str(m, "status"), "SUCCESS");
    assert_string_equal(str(item(m, "entity"), "id"),
                        org_agent_id(sim_org(c.sim), 0));
    assert_string_equal(str(item(m, "client"), "id"), cfg.client_id);
    assert_null(item(m, "user"));
    assert_null(item(m, "application"));
    e = cJSON_GetArrayItem(item(m, "propertyChanges"), 0);
    assert_string_equal(str(e, "property"), "department");
    assert_string_equal(
        cJSON_GetArrayItem(item(e, "oldValues"), 0)->valuestring,
        "Contact Center");
    assert_string_equal(
        cJSON_GetArrayItem(item(e, "newValues"), 0)->valuestring, "Night");

    integ = wait_records(
        &c, "[{\"property\":\"ClientId\",\"value\":\"crm-integration\"}]", 3,
        0);
    cJSON_ArrayForEach(m, item(integ, "entities"))
    {
        assert_string_equal(str(item(m, "client"), "id"), "crm-integration");
        assert_string_equal(str(m, "application"), "crm-sync");
        assert_string_equal(str(m, "level"), "SYSTEM");
        assert_string_equal(str(m, "serviceName"), "Directory");
        assert_string_equal(
            cJSON_GetArrayItem(item(m, "remoteIp"), 0)->valuestring,
            "203.0.113.7");
        assert_null(item(m, "user"));
        cJSON_ArrayForEach(e, item(m, "propertyChanges"))
        {
            assert_string_equal(str(e, "property"), "preferredName");
            changed++;
        }
    }
    /* Its first write to an agent always sets a name it did not have. */
    assert_true(changed >= 1);

    /* The admin is a person: found by user name with expand=user. */
    cJSON_Delete(wait_records(
        &c, "[{\"property\":\"EntityType\",\"value\":\"User\"}]", 1, 1));
    for (int64_t deadline = clock_mono_ns() + DEADLINE_NS; !admin_seen;) {
        all =
            realtime(&c, "[{\"property\":\"Action\",\"value\":\"Update\"}]", 1);
        cJSON_ArrayForEach(m, item(all, "entities"))
        {
            const cJSON *u = item(m, "user");
            if (!u || strcmp(str(u, "name"), "admin"))
                continue;
            assert_string_equal(str(m, "level"), "USER");
            assert_int_equal(strlen(str(u, "id")), 36);
            assert_null(item(m, "client"));
            assert_null(item(m, "application"));
            admin_seen = 1;
        }
        cJSON_Delete(all);
        if (!admin_seen && clock_mono_ns() > deadline)
            fail_msg("no audit record by the admin");
        clock_sleep_ns(POLL_NS);
    }
    /* Without expand=user the name is left out. */
    all = realtime(&c, "[{\"property\":\"EntityType\",\"value\":\"User\"}]", 0);
    cJSON_ArrayForEach(m, item(all, "entities"))
    {
        if (item(m, "user"))
            assert_null(item(item(m, "user"), "name"));
    }
    cJSON_Delete(all);

    /* Every record is a truth.csv row of the same writer at that time. */
    stop_sim(&c);
    truth = load_truth(&c);
    snprintf(cause, sizeof(cause), "client:%s", cfg.client_id);
    m = cJSON_GetArrayItem(item(mine, "entities"), 0);
    assert_true(truth_has(truth, str(item(m, "entity"), "id"),
                          "user.department", cause, str(m, "eventDate")));
    cJSON_ArrayForEach(m, item(integ, "entities"))
    {
        assert_true(truth_has(truth, str(item(m, "entity"), "id"), "version",
                              "crm-sync", str(m, "eventDate")));
    }
    csvread_free(truth);
    cJSON_Delete(mine);
    cJSON_Delete(integ);
    finish(&c);
}

/* The state of transaction @id. */
static char *tx_state(struct client *c, const char *id, char *out, size_t len)
{
    char path[160];
    cJSON *o;

    snprintf(path, sizeof(path), "/api/v2/audits/query/%s", id);
    o = call(c, "GET", path, NULL);
    assert_int_equal(c->resp.status, 200);
    assert_string_equal(str(o, "id"), id);
    snprintf(out, len, "%s", str(o, "state"));
    cJSON_Delete(o);
    return out;
}

static void async_query_runs_then_pages_by_cursor(void **state)
{
    struct sim_config cfg;
    struct client c;
    char interval[80], body[512], id[64], path[256], cursor[64] = "";
    char st[32], prev[ISO8601_LEN] = "";
    const char *agent;
    cJSON *o;
    int seen = 0, pages = 0;

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 2;
    cfg.world.presence_enabled = 0;
    start(&c, &cfg, 0);
    agent = org_agent_id(sim_org(c.sim), 0);
    for (int k = 0; k < 23; k++)
        patch_department(&c, 0, k % 2 ? "Day" : "Night");
    patch_department(&c, 1, "Night"); /* another entity: filtered out */

    wide_interval(interval, sizeof(interval));
    snprintf(body, sizeof(body),
             "{\"interval\":\"%s\",\"serviceName\":\"Directory\","
             "\"filters\":[{\"property\":\"EntityId\",\"value\":\"%s\"}],"
             "\"sort\":[{\"name\":\"Timestamp\",\"sortOrder\":"
             "\"descending\"}]}",
             interval, agent);
    o = call(&c, "POST", "/api/v2/audits/query", body);
    assert_int_equal(c.resp.status, 200);
    /* The query ran 100 ms from creation: the answer to its creation
     * cannot have seen it finish. */
    assert_string_equal(str(o, "state"), "Running");
    assert_string_equal(str(o, "interval"), interval);
    assert_string_equal(str(o, "serviceName"), "Directory");
    assert_string_equal(str(cJSON_GetArrayItem(item(o, "filters"), 0), "value"),
                        agent);
    assert_string_equal(
        str(cJSON_GetArrayItem(item(o, "sort"), 0), "sortOrder"), "descending");
    assert_non_null(str(o, "startDate"));
    snprintf(id, sizeof(id), "%s", str(o, "id"));
    cJSON_Delete(o);
    /* Fixed at creation: a later write is not in it. */
    patch_department(&c, 0, "Late");

    for (int64_t deadline = clock_mono_ns() + DEADLINE_NS;
         strcmp(tx_state(&c, id, st, sizeof(st)), "Succeeded");) {
        assert_string_equal(st, "Running");
        if (clock_mono_ns() > deadline)
            fail_msg("audit query %s still %s", id, st);
        clock_sleep_ns(POLL_NS);
    }
    do {
        snprintf(path, sizeof(path),
                 "/api/v2/audits/query/%s/results?pageSize=10%s%s", id,
                 cursor[0] ? "&cursor=" : "", cursor);
        o = call(&c, "GET", path, NULL);
        assert_int_equal(c.resp.status, 200);
        assert_string_equal(str(o, "id"), id);
        assert_int_equal(num(o, "pageSize"), 10);
        {
            const cJSON *m;
            cJSON_ArrayForEach(m, item(o, "entities"))
            {
                assert_string_equal(str(item(m, "entity"), "id"), agent);
                assert_string_not_equal(
                    cJSON_GetArrayItem(
                        item(cJSON_GetArrayItem(item(m, "propertyChanges"), 0),
                             "newValues"),
                        0)
                        ->valuestring,
                    "Late");
                if (prev[0])
                    assert_true(strcmp(str(m, "eventDate"), prev) <= 0);
                snprintf(prev, sizeof(prev), "%s", str(m, "eventDate"));
                seen++;
            }
        }
        cursor[0] = '\0';
        if (str(o, "cursor"))
            snprintf(cursor, sizeof(cursor), "%s", str(o, "cursor"));
        cJSON_Delete(o);
        pages++;
    } while (cursor[0]);
    assert_int_equal(seen, 23);
    assert_int_equal(pages, 3);

    snprintf(path, sizeof(path), "/api/v2/audits/query/%s/results?pageSize=501",
             id);
    assert_error(&c, call(&c, "GET", path, NULL), 400, "bad.request",
                 "pageSize");
    snprintf(path, sizeof(path), "/api/v2/audits/query/%s/results?cursor=zz",
             id);
    assert_error(&c, call(&c, "GET", path, NULL), 400, "bad.request", "cursor");
    assert_error(&c,
                 call(&c, "GET", "/api/v2/audits/query/no-such-query", NULL),
                 404, "not.found", "no-such-query");
    assert_error(
        &c, call(&c, "GET", "/api/v2/audits/query/no-such-query/results", NULL),
        404, "not.found", "no-such-query");
    finish(&c);
}

static void realtime_pages_and_rejects_bad_bodies(void **state)
{
    struct sim_config cfg;
    struct client c;
    char interval[80], body[512];
    cJSON *o;

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 1;
    cfg.world.presence_enabled = 0;
    start(&c, &cfg, 0);
    for (int k = 0; k < 23; k++)
        patch_department(&c, 0, k % 2 ? "Day" : "Night");
    wide_interval(interval, sizeof(interval));
    snprintf(body, sizeof(body),
             "{\"interval\":\"%s\",\"pageSize\":10,\"pageNumber\":3}",
             interval);
    o = call(&c, "POST", "/api/v2/audits/query/realtime", body);
    assert_int_equal(c.resp.status, 200);
    assert_int_equal(num(o, "total"), 23);
    assert_int_equal(num(o, "pageCount"), 3);
    assert_int_equal(num(o, "pageNumber"), 3);
    assert_int_equal(num(o, "pageSize"), 10);
    assert_int_equal(cJSON_GetArraySize(item(o, "entities")), 3);
    /* Exactly the fields of AuditRealtimeQueryResultsResponse. */
    assert_int_equal(cJSON_GetArraySize(o), 5);
    cJSON_Delete(o);

    snprintf(body, sizeof(body), "{\"interval\":\"%s\",\"pageSize\":501}",
             interval);
    assert_error(&c, call(&c, "POST", "/api/v2/audits/query/realtime", body),
                 400, "bad.request", "pageSize");
    snprintf(body, sizeof(body), "{\"interval\":\"%s\",\"pageNumber\":0}",
             interval);
    assert_error(&c, call(&c, "POST", "/api/v2/audits/query/realtime", body),
                 400, "bad.request", "pageNumber");
    snprintf(body, sizeof(body),
             "{\"interval\":\"%s\",\"filters\":[{\"property\":\"Who\","
             "\"value\":\"x\"}]}",
             interval);
    assert_error(&c, call(&c, "POST", "/api/v2/audits/query", body), 400,
                 "bad.request", "filters[0].property");
    assert_error(&c,
                 call(&c, "POST", "/api/v2/audits/query/realtime",
                      "{\"serviceName\":\"Directory\"}"),
                 400, "bad.request", "interval");
    assert_error(&c, call(&c, "POST", "/api/v2/audits/query", "{\"interval\""),
                 400, "bad.request", NULL);

    /* Both service mappings list what the simulator audits. */
    o = call(&c, "GET", "/api/v2/audits/query/servicemapping", NULL);
    assert_int_equal(c.resp.status, 200);
    assert_int_equal(cJSON_GetArraySize(item(o, "services")), 3);
    cJSON_Delete(o);
    o = call(&c, "GET", "/api/v2/audits/query/realtime/servicemapping", NULL);
    assert_int_equal(c.resp.status, 200);
    assert_string_equal(str(cJSON_GetArrayItem(item(o, "services"), 0), "name"),
                        "Directory");
    cJSON_Delete(o);
    finish(&c);
}

static void forbidden_permissions_answer_403(void **state)
{
    struct sim_config cfg;
    struct client c;
    char interval[80], body[256];

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 1;
    cfg.world.presence_enabled = 0;
    snprintf(cfg.world.forbid[cfg.world.n_forbid++], SIM_NAME_MAX,
             "audits:audit:view");
    snprintf(cfg.world.forbid[cfg.world.n_forbid++], SIM_NAME_MAX,
             "analytics:userDetail:view");
    start(&c, &cfg, 0);
    wide_interval(interval, sizeof(interval));
    snprintf(body, sizeof(body), "{\"interval\":\"%s\"}", interval);
    assert_error(&c, call(&c, "POST", "/api/v2/audits/query", body), 403,
                 "missing.permissions", "audits:audit:view");
    assert_error(&c, call(&c, "POST", "/api/v2/audits/query/realtime", body),
                 403, "missing.permissions", "audits:audit:view");
    /* Before the transaction is even looked up. */
    assert_error(&c, call(&c, "GET", "/api/v2/audits/query/x/results", NULL),
                 403, "missing.permissions", "audits:audit:view");
    assert_error(&c, call(&c, "GET", "/api/v2/audits/query/x", NULL), 403,
                 "missing.permissions", "audits:audit:view");
    assert_error(&c,
                 call(&c, "GET", "/api/v2/audits/query/servicemapping", NULL),
                 403, "missing.permissions", "audits:audit:view");
    assert_error(
        &c, call(&c, "POST", "/api/v2/analytics/users/details/query", body),
        403, "missing.permissions", "analytics:userDetail:view");
    finish(&c);
}

/* ---- analytics ---------------------------------------------------------- */

/* One agent's transitions of @property ("presence", "routing_status") in
 * truth.csv, in file order. */
#define TRANSITIONS_MAX 4096

struct transitions {
    int64_t t[TRANSITIONS_MAX];
    char old[TRANSITIONS_MAX][32], now[TRANSITIONS_MAX][32];
    size_t n;
};

static void truth_transitions(const struct csvread *truth, const char *agent,
                              const char *property, struct transitions *out)
{
    int c_t = csvread_col(truth, "time_wall_ns");
    int c_a = csvread_col(truth, "agent"), c_p = csvread_col(truth, "property");
    int c_o = csvread_col(truth, "old"), c_n = csvread_col(truth, "new");

    out->n = 0;
    for (size_t r = 0; r < csvread_rows(truth) && out->n < TRANSITIONS_MAX;
         r++) {
        if (strcmp(csvread_field(truth, r, c_a), agent) ||
            strcmp(csvread_field(truth, r, c_p), property))
            continue;
        out->t[out->n] = csvread_i64(truth, r, c_t, -1);
        snprintf(out->old[out->n], 32, "%s", csvread_field(truth, r, c_o));
        snprintf(out->now[out->n], 32, "%s", csvread_field(truth, r, c_n));
        out->n++;
    }
}

/* The analytics spelling of a truth value ("On Queue" -> "ON_QUEUE"). */
static const char *analytics_name(const char *value, int presence)
{
    if (presence) {
        int p = sim_presence_lookup(value);
        assert_true(p >= 0);
        return sim_presence_defs[p].analytics;
    }
    return value;
}

/*
 * @got (primaryPresence[] or routingStatus[], ascending) is the agent's
 * state at org start followed by the first transitions of @tr, in order:
 * same start times and values, each interval ending where the next
 * begins, the last one open.  @exact: all of @tr.  @t_before: a time
 * before the org was created.
 */
static void assert_intervals(const cJSON *got, const struct transitions *tr,
                             int presence, int exact, int64_t t_before)
{
    const char *key = presence ? "systemPresence" : "routingStatus";
    int n = cJSON_GetArraySize(got);
    char when[ISO8601_LEN];

    assert_true(n >= 1);
    assert_true((size_t)(n - 1) <= tr->n);
    if (exact)
        assert_int_equal((size_t)(n - 1), tr->n);
    for (int k = 0; k < n; k++) {
        const cJSON *iv = cJSON_GetArrayItem(got, k);

        if (k == 0) {
            /* The state at org start, which truth.csv does not list. */
            iso(t_before, when);
            assert_true(strcmp(str(iv, "startTime"), when) >= 0);
            if (tr->n)
                assert_string_equal(str(iv, key),
                                    analytics_name(tr->old[0], presence));
        } else {
            iso(tr->t[k - 1], when);
            assert_string_equal(str(iv, "startTime"), when);
            assert_string_equal(str(iv, key),
                                analytics_name(tr->now[k - 1], presence));
        }
        if (k + 1 < n)
            assert_string_equal(
                str(iv, "endTime"),
                str(cJSON_GetArrayItem(got, k + 1), "startTime"));
        else
            assert_null(item(iv, "endTime"));
        if (presence)
            assert_int_equal(strlen(str(iv, "organizationPresenceId")), 36);
    }
}

/* POST a user details query with @extra members after the interval; the
 * response (status 200 checked), caller frees. */
static cJSON *details(struct client *c, const char *interval, const char *extra)
{
    char body[2048];
    cJSON *o;

    snprintf(body, sizeof(body), "{\"interval\":\"%s\"%s%s}", interval,
             extra ? "," : "", extra ? extra : "");
    o = call(c, "POST", "/api/v2/analytics/users/details/query", body);
    assert_int_equal(c->resp.status, 200);
    assert_non_null(o);
    return o;
}

static const cJSON *detail_of(const cJSON *resp, const char *user)
{
    const cJSON *d;

    cJSON_ArrayForEach(d, item(resp, "userDetails"))
    {
        if (!strcmp(str(d, "userId"), user))
            return d;
    }
    fail_msg("user %s not in userDetails", user);
    return NULL;
}

static void put_presence(struct client *c, const char *agent, const char *def)
{
    char path[160], body[128];

    snprintf(path, sizeof(path), "/api/v2/users/%s/presences/purecloud", agent);
    snprintf(body, sizeof(body), "{\"presenceDefinition\":{\"id\":\"%s\"}}",
             def);
    cJSON_Delete(call(c, "PATCH", path, body));
    assert_int_equal(c->resp.status, 200);
}

static void analytics_intervals_equal_truth(void **state)
{
    static const struct sim_writer world = {"world", NULL, "w-1"};
    struct sim_config cfg;
    struct client c;
    struct sim_org *org;
    char wide[80], window[80], a[ISO8601_LEN], b[ISO8601_LEN], path[160];
    char ids[3][SIM_ID_LEN]; /* copies: used after the org is gone */
    int64_t t_before = clock_wall_ns(), from_ns;
    cJSON *all, *win;
    struct csvread *truth;
    static struct transitions tr; /* large: not on the stack */

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 3;
    cfg.world.presence_enabled = 0;
    start(&c, &cfg, 1);
    org = sim_org(c.sim);
    for (int k = 0; k < 3; k++)
        snprintf(ids[k], sizeof(ids[k]), "%s", org_agent_id(org, (size_t)k));

    /* Agent 0 through the API (routing status follows presence), agent 1
     * as the world moves an agent; agent 2 stays as it started. */
    put_presence(&c, ids[0], BREAK_ID);
    put_presence(&c, ids[0], ON_QUEUE_ID);
    snprintf(path, sizeof(path), "/api/v2/users/%s/routingstatus", ids[0]);
    cJSON_Delete(call(&c, "PUT", path, "{\"status\":\"INTERACTING\"}"));
    assert_int_equal(c.resp.status, 200);
    org_set_routing(org, 1, SIM_ROUTING_INTERACTING, &world);
    org_set_routing(org, 1, SIM_ROUTING_IDLE, &world);
    /* The window starts on a millisecond after the second change and
     * before the third, so exactly one interval of agent 1 crosses it. */
    from_ns = (clock_wall_ns() / NS_PER_MS + 1) * NS_PER_MS;
    while (clock_wall_ns() <= from_ns)
        ;
    org_set_routing(org, 1, SIM_ROUTING_NOT_RESPONDING, &world);

    wide_interval(wide, sizeof(wide));
    all = details(&c, wide, NULL);
    assert_int_equal(num(all, "totalHits"), 3);
    iso(from_ns, a);
    iso(clock_wall_ns() + 3600 * NS_PER_S, b);
    snprintf(window, sizeof(window), "%s/%s", a, b);
    win = details(&c, window, NULL);
    stop_sim(&c);

    truth = load_truth(&c);
    for (int k = 0; k < 3; k++) {
        const cJSON *d = detail_of(all, ids[k]);
        truth_transitions(truth, ids[k], "presence", &tr);
        assert_intervals(item(d, "primaryPresence"), &tr, 1, 1, t_before);
        truth_transitions(truth, ids[k], "routing_status", &tr);
        assert_intervals(item(d, "routingStatus"), &tr, 0, 1, t_before);
        if (k == 0) /* OFF_QUEUE (unless it started there), IDLE, INTER. */
            assert_true(cJSON_GetArraySize(item(d, "routingStatus")) >= 3);
        if (k == 1)
            assert_int_equal(tr.n, 3);
        if (k == 2)
            assert_int_equal(tr.n, 0);
    }
    /* In the window: agent 1's IDLE interval (begun before it, still
     * running into it) and the open NOT_RESPONDING one. */
    {
        const cJSON *r = item(detail_of(win, ids[1]), "routingStatus");
        assert_int_equal(cJSON_GetArraySize(r), 2);
        assert_string_equal(str(cJSON_GetArrayItem(r, 0), "routingStatus"),
                            "IDLE");
        assert_true(strcmp(str(cJSON_GetArrayItem(r, 0), "startTime"), a) < 0);
        assert_string_equal(str(cJSON_GetArrayItem(r, 1), "routingStatus"),
                            "NOT_RESPONDING");
        assert_int_equal(
            cJSON_GetArraySize(item(detail_of(win, ids[0]), "routingStatus")),
            1);
    }
    csvread_free(truth);
    cJSON_Delete(all);
    cJSON_Delete(win);
    finish(&c);
}

static void analytics_pages_filters_and_orders(void **state)
{
    struct sim_config cfg;
    struct client c;
    char wide[80], extra[512], past[80], a[ISO8601_LEN], b[ISO8601_LEN];
    const char *ids[3];
    cJSON *o;
    const cJSON *d;

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 3;
    cfg.world.presence_enabled = 0;
    start(&c, &cfg, 0);
    for (int k = 0; k < 3; k++)
        ids[k] = org_agent_id(sim_org(c.sim), (size_t)k);
    put_presence(&c, ids[1], BREAK_ID);
    wide_interval(wide, sizeof(wide));

    o = details(&c, wide, "\"paging\":{\"pageSize\":2,\"pageNumber\":1}");
    assert_int_equal(num(o, "totalHits"), 3);
    assert_int_equal(cJSON_GetArraySize(item(o, "userDetails")), 2);
    assert_string_equal(
        str(cJSON_GetArrayItem(item(o, "userDetails"), 0), "userId"), ids[0]);
    cJSON_Delete(o);
    o = details(&c, wide, "\"paging\":{\"pageSize\":2,\"pageNumber\":2}");
    assert_int_equal(cJSON_GetArraySize(item(o, "userDetails")), 1);
    assert_string_equal(
        str(cJSON_GetArrayItem(item(o, "userDetails"), 0), "userId"), ids[2]);
    cJSON_Delete(o);
    o = details(&c, wide, "\"paging\":{\"pageSize\":2,\"pageNumber\":3}");
    assert_int_equal(num(o, "totalHits"), 3);
    assert_null(item(o, "userDetails"));
    cJSON_Delete(o);
    o = details(&c, wide, "\"order\":\"desc\"");
    d = cJSON_GetArrayItem(item(o, "userDetails"), 0);
    assert_string_equal(str(d, "userId"), ids[2]);
    cJSON_Delete(o);

    snprintf(extra, sizeof(extra),
             "\"userFilters\":[{\"type\":\"or\",\"predicates\":["
             "{\"type\":\"dimension\",\"dimension\":\"userId\","
             "\"operator\":\"matches\",\"value\":\"%s\"},"
             "{\"dimension\":\"userId\",\"value\":\"%s\"}]}]",
             ids[1], ids[2]);
    o = details(&c, wide, extra);
    assert_int_equal(num(o, "totalHits"), 2);
    cJSON_Delete(o);

    /* Presence filters select intervals, and the agents that have one. */
    o = details(&c, wide,
                "\"presenceFilters\":[{\"type\":\"or\",\"predicates\":["
                "{\"dimension\":\"systemPresence\",\"value\":\"BREAK\"}]}]");
    assert_int_equal(num(o, "totalHits"), 1);
    d = detail_of(o, ids[1]);
    assert_int_equal(cJSON_GetArraySize(item(d, "primaryPresence")), 1);
    assert_string_equal(str(cJSON_GetArrayItem(item(d, "primaryPresence"), 0),
                            "systemPresence"),
                        "BREAK");
    /* Routing status is not filtered by a presence filter. */
    assert_true(cJSON_GetArraySize(item(d, "routingStatus")) >= 1);
    cJSON_Delete(o);
    o = details(&c, wide,
                "\"routingStatusFilters\":[{\"type\":\"and\",\"clauses\":[{"
                "\"type\":\"or\",\"predicates\":[{\"dimension\":"
                "\"routingStatus\",\"value\":\"off_queue\"}]}]}]");
    d = detail_of(o, ids[1]);
    assert_string_equal(
        str(cJSON_GetArrayItem(item(d, "routingStatus"), 0), "routingStatus"),
        "OFF_QUEUE");
    cJSON_Delete(o);

    /* Before the org existed: no hits, no userDetails. */
    iso(clock_wall_ns() - 7200 * NS_PER_S, a);
    iso(clock_wall_ns() - 3600 * NS_PER_S, b);
    snprintf(past, sizeof(past), "%s/%s", a, b);
    o = details(&c, past, NULL);
    assert_int_equal(num(o, "totalHits"), 0);
    assert_null(item(o, "userDetails"));
    cJSON_Delete(o);

    assert_error(&c,
                 call(&c, "POST", "/api/v2/analytics/users/details/query",
                      "{\"order\":\"asc\"}"),
                 400, "bad.request", "interval");
    snprintf(extra, sizeof(extra), "{\"interval\":\"%s/%s\"}", b, a);
    assert_error(
        &c, call(&c, "POST", "/api/v2/analytics/users/details/query", extra),
        400, "bad.request", "interval");
    snprintf(extra, sizeof(extra),
             "{\"interval\":\"%s\",\"paging\":{\"pageSize\":101,"
             "\"pageNumber\":1}}",
             wide);
    assert_error(
        &c, call(&c, "POST", "/api/v2/analytics/users/details/query", extra),
        400, "bad.request", "paging.pageSize");
    snprintf(extra, sizeof(extra), "{\"interval\":\"%s\",\"order\":\"up\"}",
             wide);
    assert_error(
        &c, call(&c, "POST", "/api/v2/analytics/users/details/query", extra),
        400, "bad.request", "order");
    snprintf(extra, sizeof(extra),
             "{\"interval\":\"%s\",\"userFilters\":[{\"type\":\"or\","
             "\"predicates\":[{\"dimension\":\"queueId\",\"value\":\"q\"}]}]}",
             wide);
    assert_error(
        &c, call(&c, "POST", "/api/v2/analytics/users/details/query", extra),
        400, "bad.request", "userFilters[0].predicates[0].dimension");
    snprintf(extra, sizeof(extra),
             "{\"interval\":\"%s\",\"presenceFilters\":[{\"predicates\":[{"
             "\"dimension\":\"systemPresence\",\"value\":\"BREAK\"}]}]}",
             wide);
    assert_error(
        &c, call(&c, "POST", "/api/v2/analytics/users/details/query", extra),
        400, "bad.request", "presenceFilters[0]");
    finish(&c);
}

struct world_wait {
    struct client *c;
    const char *interval;
    cJSON *last;
};

/* Enough transitions of every agent in the latest answer. */
static int world_moved(struct world_wait *w)
{
    const cJSON *d;
    int agents = 0;

    cJSON_Delete(w->last);
    w->last = details(w->c, w->interval, NULL);
    cJSON_ArrayForEach(d, item(w->last, "userDetails"))
    {
        if (cJSON_GetArraySize(item(d, "routingStatus")) < 6 ||
            cJSON_GetArraySize(item(d, "primaryPresence")) < 3)
            return 0;
        agents++;
    }
    return agents == 3;
}

static void analytics_follows_the_running_world(void **state)
{
    struct sim_config cfg;
    struct client c;
    struct world_wait w;
    char wide[80];
    int64_t t_before = clock_wall_ns(), deadline;
    struct csvread *truth;
    static struct transitions tr; /* large: not on the stack */
    const cJSON *d;

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 3;
    cfg.world.presence_enabled = 1;
    cfg.world.on_queue_share = 1.0;
    cfg.world.mean_idle_ns = 10 * NS_PER_MS;
    cfg.world.mean_handle_ns = 10 * NS_PER_MS;
    cfg.world.mean_break_every_ns = 40 * NS_PER_MS;
    cfg.world.break_len_ns = 20 * NS_PER_MS;
    start(&c, &cfg, 1);
    wide_interval(wide, sizeof(wide));
    w.c = &c;
    w.interval = wide;
    w.last = NULL;
    deadline = clock_mono_ns() + DEADLINE_NS;
    while (!world_moved(&w)) {
        if (clock_mono_ns() > deadline)
            fail_msg("the world did not move");
        clock_sleep_ns(POLL_NS);
    }
    stop_sim(&c);
    /* The world went on after the answer: what it returned is a prefix
     * of what truth.csv holds, each interval ending where the next
     * begins, the last one open. */
    truth = load_truth(&c);
    cJSON_ArrayForEach(d, item(w.last, "userDetails"))
    {
        truth_transitions(truth, str(d, "userId"), "presence", &tr);
        assert_intervals(item(d, "primaryPresence"), &tr, 1, 0, t_before);
        truth_transitions(truth, str(d, "userId"), "routing_status", &tr);
        assert_intervals(item(d, "routingStatus"), &tr, 0, 0, t_before);
    }
    csvread_free(truth);
    cJSON_Delete(w.last);
    finish(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writers_are_attributed),
        cmocka_unit_test(async_query_runs_then_pages_by_cursor),
        cmocka_unit_test(realtime_pages_and_rejects_bad_bodies),
        cmocka_unit_test(forbidden_permissions_answer_403),
        cmocka_unit_test(analytics_intervals_equal_truth),
        cmocka_unit_test(analytics_pages_filters_and_orders),
        cmocka_unit_test(analytics_follows_the_running_world),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
