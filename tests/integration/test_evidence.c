/*
 * Evidence collection against the embedded simulator, end to end over
 * HTTP.  Agents change presence and routing status on their own, an
 * integration actor (its own OAuth client) patches users, and the test
 * patches one user itself; then the run stops and the evidence is read
 * with pages small enough that both the audit results and the analytics
 * users take several.  Scored against the simulator's truth.csv:
 *
 *  1. audit.csv holds exactly one row per user-record write of the
 *     interval (every version bump in truth.csv), with the writer's OAuth
 *     client: the test's own client for its PATCH (with the property it
 *     changed), the integration's for the actor's;
 *  2. the analytics observations are exactly truth.csv's presence and
 *     routing-status changes of the interval, with their times;
 *  3. every call is in requests.csv under roles audit and analytics, and
 *     each observation names the analytics request that fetched it.
 *
 * And the ways it does not get everything: a missing permission (403) is
 * "forbidden" and the other part goes on; a second interrupt or the time
 * limit is "interrupted" before any call.  The run length is a deadline,
 * not synchronisation: every assertion holds for any length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/http.h"
#include "api/oauth.h"
#include "api/ratelimit.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "harness/evidence.h"
#include "harness/history.h"
#include "harness/scenario.h"
#include "harness/session.h"
#include "sim/config.h"
#include "sim/org.h"
#include "sim/sim.h"
#include "support/csvread.h"
#include "support/mockhttp.h"

#define AGENTS 12
#define RUN_NS (2500 * NS_PER_MS)
#define INTEGRATION_CLIENT "crm-sync-client"
#define PATCHED_DEPARTMENT "evidence-test"

struct rig {
    char dir[64];
    struct sim *sim;
    struct scenario scn;
    struct harness h;
    const struct sim_config *live; /* until rig_stop() */
    char client_id[SIM_NAME_MAX];  /* the test's own OAuth client */
    int64_t from_wall_ns, to_wall_ns;
    char patched_agent[64];
    cJSON *report;
};

/* A simulator whose agents change state every few hundred ms, with an
 * integration actor; @forbid (may be NULL) is a permission it refuses. */
static void rig_start(struct rig *r, const char *forbid)
{
    struct sim_config cfg;
    struct sim_actor_config *a;
    struct oauth_cache_config ac;
    struct sim_org *org;

    memset(r, 0, sizeof(*r));
    snprintf(r->dir, sizeof(r->dir), "/tmp/rt-evidence-XXXXXX");
    assert_non_null(mkdtemp(r->dir));

    sim_config_defaults(&cfg);
    cfg.port = 0;
    cfg.agents = AGENTS;
    cfg.seed = 23;
    cfg.world.on_queue_share = 0.75;
    cfg.world.mean_idle_ns = 150 * NS_PER_MS;
    cfg.world.mean_handle_ns = 200 * NS_PER_MS;
    cfg.world.mean_break_every_ns = 700 * NS_PER_MS;
    cfg.world.break_len_ns = 300 * NS_PER_MS;
    cfg.world.mean_away_every_ns = 400 * NS_PER_MS;
    snprintf(cfg.log_dir, sizeof(cfg.log_dir), "%s", r->dir);
    a = &cfg.world.actors[cfg.world.n_actors++];
    memset(a, 0, sizeof(*a));
    a->kind = SIM_ACTOR_INTEGRATION;
    snprintf(a->name, sizeof(a->name), "integration");
    a->period_ns = 60 * NS_PER_MS;
    a->share = 1.0;
    a->gap_lo_ns = 5 * NS_PER_MS;
    a->gap_hi_ns = 30 * NS_PER_MS;
    a->at_ns = -1;
    snprintf(a->client_id, sizeof(a->client_id), "%s", INTEGRATION_CLIENT);
    if (forbid)
        snprintf(cfg.world.forbid[cfg.world.n_forbid++], SIM_NAME_MAX, "%s",
                 forbid);
    assert_int_equal(sim_start(&r->sim, &cfg), RT_OK);
    r->live = sim_config(r->sim);
    snprintf(r->client_id, sizeof(r->client_id), "%s", r->live->client_id);
    org = sim_org(r->sim);

    scenario_defaults(&r->scn);
    r->scn.seed = 7;
    harness_init(&r->h);
    r->h.scn = &r->scn;
    r->h.is_sim = 1;
    snprintf(r->h.api_url, sizeof(r->h.api_url), "%s", sim_url(r->sim));
    memset(&ac, 0, sizeof(ac));
    ac.login_url = sim_url(r->sim);
    ac.client_id = r->live->client_id;
    ac.client_secret = r->live->client_secret;
    ac.on_exchange = session_oauth_hook;
    assert_int_equal(oauth_cache_new(&r->h.auth, &ac), RT_OK);
    /* The run's limiter, stopped with the run like the real one. */
    r->h.limiter = ratelimit_new(6000, 5);
    assert_int_equal(history_open(&r->h.history, r->dir), RT_OK);
    r->h.n_agents = org_agent_count(org);
    assert_int_equal(r->h.n_agents, AGENTS);
    r->h.agent_ids = xcalloc(r->h.n_agents + 1, sizeof(char *));
    for (size_t i = 0; i < r->h.n_agents; i++)
        r->h.agent_ids[i] = xstrdup(org_agent_id(org, i));
    r->h.start_mono_ns = clock_mono_ns();
    r->h.start_wall_ns = clock_wall_ns();
}

/* A millisecond boundary: analytics times have milliseconds, so an
 * interval on boundaries means the same on both sides. */
static int64_t ms_floor(int64_t ns)
{
    return ns / NS_PER_MS * NS_PER_MS;
}

/* GET the user's version, then PATCH its department with it. */
static void patch_user(struct rig *r, const char *agent)
{
    struct session *s;
    struct session_call call;
    struct session_result res;
    char path[128], body[128];
    cJSON *doc;
    const cJSON *v;
    int64_t version;

    assert_int_equal(session_new(&s, &r->h, "replay"), RT_OK);
    snprintf(path, sizeof(path), "/api/v2/users/%s", agent);
    memset(&call, 0, sizeof(call));
    call.method = "GET";
    call.route = "/api/v2/users/{id}";
    call.path = path;
    call.agent = agent;
    call.op_id = -1;
    call.version_sent = -1;
    call.agents_in_request = -1;
    assert_int_equal(session_call(s, &call, &res), RT_OK);
    assert_int_equal(res.resp->status, 200);
    doc = cJSON_Parse(buf_str(&res.resp->body));
    v = cJSON_GetObjectItemCaseSensitive(doc, "version");
    assert_true(cJSON_IsNumber(v));
    version = (int64_t)v->valuedouble;
    cJSON_Delete(doc);
    /* The integration may bump the version in between: read again. */
    for (int attempt = 0;; attempt++) {
        snprintf(body, sizeof(body),
                 "{\"version\":%lld,\"department\":\"" PATCHED_DEPARTMENT "\"}",
                 (long long)version);
        call.method = "PATCH";
        call.body = body;
        call.body_len = strlen(body);
        call.version_sent = version;
        assert_int_equal(session_call(s, &call, &res), RT_OK);
        if (res.resp->status == 200)
            break;
        assert_int_equal(res.cls.kind, CLASSIFY_CONFLICT);
        assert_true(attempt < 20);
        call.method = "GET";
        call.body = NULL;
        call.body_len = 0;
        call.version_sent = -1;
        assert_int_equal(session_call(s, &call, &res), RT_OK);
        doc = cJSON_Parse(buf_str(&res.resp->body));
        version = (int64_t)cJSON_GetObjectItemCaseSensitive(doc, "version")
                      ->valuedouble;
        cJSON_Delete(doc);
    }
    session_free(s);
    snprintf(r->patched_agent, sizeof(r->patched_agent), "%s", agent);
}

/* Let the world run for RUN_NS (with the test's PATCH inside), stop the
 * run as the run does, and collect the evidence with @opt. */
static void run_and_collect(struct rig *r, const struct evidence_options *opt,
                            enum rt_err want)
{
    r->from_wall_ns = ms_floor(clock_wall_ns()) + NS_PER_MS;
    harness_wait_until(&r->h, clock_mono_ns() + RUN_NS / 2);
    patch_user(r, r->h.agent_ids[3]);
    harness_wait_until(&r->h, clock_mono_ns() + RUN_NS / 2);
    r->to_wall_ns = ms_floor(clock_wall_ns());
    harness_stop(&r->h);
    assert_int_equal(evidence_collect_with(&r->h, r->from_wall_ns,
                                           r->to_wall_ns, r->dir, opt,
                                           &r->report),
                     want);
    assert_non_null(r->report);
}

static void rig_stop(struct rig *r)
{
    assert_int_equal(history_close(r->h.history), RT_OK);
    ratelimit_free(r->h.limiter);
    oauth_cache_free(r->h.auth);
    harness_release(&r->h);
    sim_stop(r->sim); /* flushes truth.csv */
    r->sim = NULL;
    r->live = NULL;
}

/* Remove the run directory and whatever the simulator and the run wrote
 * in it. */
static void cleanup(struct rig *r)
{
    DIR *d = opendir(r->dir);
    struct dirent *e;
    char path[320];

    cJSON_Delete(r->report);
    assert_non_null(d);
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof(path), "%s/%s", r->dir, e->d_name);
        assert_int_equal(unlink(path), 0);
    }
    closedir(d);
    assert_int_equal(rmdir(r->dir), 0);
}

static struct csvread *load(const struct rig *r, const char *name)
{
    char path[128];
    struct csvread *c;

    snprintf(path, sizeof(path), "%s/%s", r->dir, name);
    c = csvread_load(path);
    if (!c)
        fail_msg("cannot read '%s'", path);
    return c;
}

static int col(const struct csvread *c, const char *name)
{
    int k = csvread_col(c, name);

    if (k < 0)
        fail_msg("no column '%s'", name);
    return k;
}

static const cJSON *part(const struct rig *r, const char *name)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(r->report, name);

    assert_true(cJSON_IsObject(p));
    return p;
}

static const char *part_str(const cJSON *p, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);

    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static int64_t part_num(const cJSON *p, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);

    assert_true(cJSON_IsNumber(v));
    return (int64_t)v->valuedouble;
}

/* Sorted keys, compared as multisets, printing the first difference. */
struct keys {
    char **v;
    size_t n;
};

static void keys_add(struct keys *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void keys_add(struct keys *k, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    k->v = xreallocarray(k->v, k->n + 1, sizeof(*k->v));
    k->v[k->n++] = xstrdup(line);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void keys_equal(struct keys *want, struct keys *got, const char *what)
{
    size_t i = 0;

    qsort(want->v, want->n, sizeof(char *), cmp_str);
    qsort(got->v, got->n, sizeof(char *), cmp_str);
    while (i < want->n && i < got->n && !strcmp(want->v[i], got->v[i]))
        i++;
    if (i < want->n || i < got->n)
        fail_msg("%s: %zu expected, %zu got; first difference at %zu: "
                 "expected '%s', got '%s'",
                 what, want->n, got->n, i, i < want->n ? want->v[i] : "(none)",
                 i < got->n ? got->v[i] : "(none)");
    for (i = 0; i < want->n; i++)
        free(want->v[i]);
    for (i = 0; i < got->n; i++)
        free(got->v[i]);
    free(want->v);
    free(got->v);
}

static void check_header(const struct csvread *c)
{
    assert_int_equal(csvread_cols(c), evidence_n_audit_cols);
    for (size_t i = 0; i < evidence_n_audit_cols; i++)
        assert_int_equal(col(c, evidence_audit_cols[i]), (int)i);
}

/* Check 1.  Writes are compared up to the run's end: the world goes on
 * writing while the evidence is read, and the audit query (interval
 * widened by a minute) sees some of that too. */
static void score_audit(const struct rig *r)
{
    struct csvread *truth = load(r, "truth.csv");
    struct csvread *audit = load(r, "audit.csv");
    int t_time = col(truth, "time_wall_ns"), t_agent = col(truth, "agent");
    int t_prop = col(truth, "property"), t_cause = col(truth, "cause");
    int a_time = col(audit, "event_wall_ns"), a_agent = col(audit, "agent");
    int a_client = col(audit, "client_id"), a_props = col(audit, "properties");
    int a_changes = col(audit, "changes_json");
    size_t own = 0, integration = 0;
    struct keys want = {0}, got = {0};
    char own_cause[128];

    check_header(audit);
    snprintf(own_cause, sizeof(own_cause), "client:%s", r->client_id);
    for (size_t i = 0; i < csvread_rows(truth); i++) {
        int64_t t = csvread_i64(truth, i, t_time, -1);
        const char *cause = csvread_field(truth, i, t_cause);
        const char *client = "?";

        if (strcmp(csvread_field(truth, i, t_prop), "version") ||
            ms_floor(t) >= r->to_wall_ns)
            continue;
        if (!strcmp(cause, own_cause))
            client = r->client_id;
        else if (!strcmp(cause, "integration"))
            client = INTEGRATION_CLIENT;
        keys_add(&want, "%s %lld %s", csvread_field(truth, i, t_agent),
                 (long long)ms_floor(t), client);
    }
    for (size_t i = 0; i < csvread_rows(audit); i++) {
        int64_t t = csvread_i64(audit, i, a_time, -1);
        const char *client = csvread_field(audit, i, a_client);

        assert_string_equal(csvread_field(audit, i, col(audit, "service")),
                            "Directory");
        assert_string_equal(csvread_field(audit, i, col(audit, "entity_type")),
                            "User");
        assert_true(t > 0);
        if (t >= r->to_wall_ns)
            continue;
        keys_add(&got, "%s %lld %s", csvread_field(audit, i, a_agent),
                 (long long)t, client);
        if (!strcmp(client, INTEGRATION_CLIENT)) {
            integration++;
        } else if (!strcmp(client, r->client_id)) {
            own++;
            assert_string_equal(csvread_field(audit, i, a_agent),
                                r->patched_agent);
            assert_non_null(
                strstr(csvread_field(audit, i, a_props), "department"));
            assert_non_null(
                strstr(csvread_field(audit, i, a_changes), PATCHED_DEPARTMENT));
        }
    }
    assert_int_equal(own, 1);
    assert_true(integration >= 5);
    keys_equal(&want, &got, "user-record writes (truth.csv vs audit.csv)");
    csvread_free(truth);
    csvread_free(audit);
}

/* Check 2, on the open interval: a change at either end may or may not
 * be in an answer that covers [from, to]. */
static void score_analytics(const struct rig *r, size_t *n_changes)
{
    struct csvread *truth = load(r, "truth.csv");
    struct csvread *obs = load(r, "observations.csv");
    int t_time = col(truth, "time_wall_ns"), t_agent = col(truth, "agent");
    int t_prop = col(truth, "property"), t_old = col(truth, "old");
    int t_new = col(truth, "new");
    int o_agent = col(obs, "agent"), o_prop = col(obs, "property");
    int o_old = col(obs, "old"), o_new = col(obs, "new");
    int o_server = col(obs, "server_wall_ns"), o_src = col(obs, "source");
    int o_start = col(obs, "bracket_start_wall_ns");
    int o_end = col(obs, "bracket_end_wall_ns");
    struct keys want = {0}, got = {0};

    for (size_t i = 0; i < csvread_rows(truth); i++) {
        const char *prop = csvread_field(truth, i, t_prop);
        int64_t t = ms_floor(csvread_i64(truth, i, t_time, -1));

        if ((strcmp(prop, "presence") && strcmp(prop, "routing_status")) ||
            t <= r->from_wall_ns || t >= r->to_wall_ns)
            continue;
        keys_add(&want, "%s %s %s>%s %lld", csvread_field(truth, i, t_agent),
                 prop, csvread_field(truth, i, t_old),
                 csvread_field(truth, i, t_new), (long long)t);
    }
    for (size_t i = 0; i < csvread_rows(obs); i++) {
        int64_t t = csvread_i64(obs, i, o_server, -1);

        assert_string_equal(csvread_field(obs, i, o_src), "analytics");
        assert_int_equal(csvread_i64(obs, i, o_start, -1), t);
        assert_int_equal(csvread_i64(obs, i, o_end, -1), t);
        assert_true(t >= r->from_wall_ns && t <= r->to_wall_ns);
        if (t == r->from_wall_ns || t == r->to_wall_ns)
            continue;
        keys_add(&got, "%s %s %s>%s %lld", csvread_field(obs, i, o_agent),
                 csvread_field(obs, i, o_prop), csvread_field(obs, i, o_old),
                 csvread_field(obs, i, o_new), (long long)t);
    }
    *n_changes = want.n;
    keys_equal(&want, &got, "transitions (truth.csv vs analytics)");
    csvread_free(truth);
    csvread_free(obs);
}

/* Check 3: the calls by role and route; each observation's request_seq
 * is an analytics row. */
static void score_requests(const struct rig *r, int64_t audit_pages,
                           int64_t analytics_pages)
{
    struct csvread *req = load(r, "requests.csv");
    struct csvread *obs = load(r, "observations.csv");
    int c_seq = col(req, "seq"), c_role = col(req, "role");
    int c_route = col(req, "route"), c_status = col(req, "status");
    int o_seq = col(obs, "request_seq");
    int64_t submit = 0, results = 0, analytics = 0;

    for (size_t i = 0; i < csvread_rows(req); i++) {
        const char *role = csvread_field(req, i, c_role);
        const char *route = csvread_field(req, i, c_route);

        if (strcmp(role, "audit") && strcmp(role, "analytics"))
            continue;
        assert_int_equal(csvread_i64(req, i, c_status, 0), 200);
        if (!strcmp(role, "analytics")) {
            assert_string_equal(route, "/api/v2/analytics/users/details/query");
            analytics++;
        } else if (!strcmp(route, "/api/v2/audits/query")) {
            submit++;
        } else if (!strcmp(route,
                           "/api/v2/audits/query/{transactionId}/results")) {
            results++;
        } else {
            assert_string_equal(route, "/api/v2/audits/query/{transactionId}");
        }
    }
    assert_int_equal(submit, 1);
    assert_int_equal(results, audit_pages);
    assert_int_equal(analytics, analytics_pages);
    for (size_t i = 0; i < csvread_rows(obs); i++) {
        int64_t seq = csvread_i64(obs, i, o_seq, -1);
        size_t k = 0;

        while (k < csvread_rows(req) && csvread_i64(req, k, c_seq, -2) != seq)
            k++;
        assert_true(k < csvread_rows(req));
        assert_string_equal(csvread_field(req, k, c_role), "analytics");
    }
    csvread_free(req);
    csvread_free(obs);
}

static void audit_and_analytics_match_the_truth(void **state)
{
    struct evidence_options opt;
    struct rig r;
    const cJSON *audit, *analytics;
    size_t changes;

    (void)state;
    evidence_options_default(&opt);
    opt.audit_page_size = 4;
    opt.analytics_page_size = 2;
    opt.analytics_users = 5;
    rig_start(&r, NULL);
    run_and_collect(&r, &opt, RT_OK);
    audit = part(&r, "audit");
    analytics = part(&r, "analytics");
    assert_string_equal(part_str(audit, "status"), "ok");
    assert_string_equal(part_str(analytics, "status"), "ok");
    assert_string_equal(part_str(audit, "permission"), "audits:audit:view");
    assert_string_equal(part_str(analytics, "permission"),
                        "analytics:userDetail:view");
    assert_int_equal(part_num(audit, "skipped"), 0);
    assert_int_equal(part_num(analytics, "skipped"), 0);
    /* Several pages of audit results; analytics users 5 + 5 + 2 in
     * pages of 2: 3 + 3 + 1. */
    assert_true(part_num(audit, "pages") >= 3);
    assert_int_equal(part_num(analytics, "pages"), 7);
    assert_int_equal(part_num(analytics, "users"), AGENTS);
    rig_stop(&r);

    score_audit(&r);
    score_analytics(&r, &changes);
    assert_true(changes >= 20); /* the world moved enough to mean something */
    assert_int_equal(part_num(analytics, "transitions") >= (int64_t)changes, 1);
    score_requests(&r, part_num(audit, "pages"), part_num(analytics, "pages"));
    {
        struct csvread *a = load(&r, "audit.csv");
        assert_int_equal((int64_t)csvread_rows(a), part_num(audit, "records"));
        csvread_free(a);
    }
    cleanup(&r);
}

/* A 403 on one part leaves the other to go on, with the default limits
 * of a real run. */
static void forbidden(const char *permission, const char *refused,
                      const char *allowed)
{
    struct rig r;
    const cJSON *no, *yes;
    struct csvread *a;

    rig_start(&r, permission);
    run_and_collect(&r, NULL, RT_OK);
    no = part(&r, refused);
    yes = part(&r, allowed);
    assert_string_equal(part_str(no, "status"), "forbidden");
    assert_string_equal(part_str(no, "permission"), permission);
    assert_non_null(strstr(part_str(no, "message"), permission));
    assert_non_null(strstr(part_str(no, "message"), "403"));
    assert_string_equal(part_str(yes, "status"), "ok");
    rig_stop(&r);
    a = load(&r, "audit.csv");
    check_header(a);
    if (!strcmp(refused, "audit")) {
        assert_int_equal(csvread_rows(a), 0);
        assert_int_equal(part_num(no, "records"), 0);
        assert_int_equal(part_num(yes, "users"), AGENTS);
        assert_int_equal(part_num(yes, "pages"), 1);
        assert_true(part_num(yes, "transitions") > 0);
    } else {
        assert_true(csvread_rows(a) > 0);
        assert_int_equal(part_num(no, "transitions"), 0);
        assert_int_equal(part_num(no, "users"), 0);
    }
    csvread_free(a);
    cleanup(&r);
}

static void audit_forbidden_is_reported_and_analytics_goes_on(void **state)
{
    (void)state;
    forbidden(EVIDENCE_AUDIT_PERMISSION, "audit", "analytics");
}

static void analytics_forbidden_is_reported_and_audit_goes_on(void **state)
{
    (void)state;
    forbidden(EVIDENCE_ANALYTICS_PERMISSION, "analytics", "audit");
}

/* Nothing is asked once late calls are ended or the time is up, and the
 * audit file is still there with its header. */
static void interrupted(int second_interrupt)
{
    struct evidence_options opt;
    struct rig r;
    struct csvread *c;
    const char *why = second_interrupt ? "second interrupt" : "time limit";

    evidence_options_default(&opt);
    if (!second_interrupt)
        opt.time_limit_ns = 1;
    rig_start(&r, NULL);
    if (second_interrupt) {
        /* The first stops the run, the second the late calls. */
        assert_int_equal(harness_interrupt(&r.h), 0);
        assert_true(atomic_load(&r.h.stop) && !atomic_load(&r.h.late_stop));
        assert_int_equal(harness_interrupt(&r.h), 1);
        assert_true(atomic_load(&r.h.late_stop));
    } else {
        harness_stop(&r.h);
    }
    r.from_wall_ns = clock_wall_ns() - NS_PER_S;
    r.to_wall_ns = clock_wall_ns();
    assert_int_equal(evidence_collect_with(&r.h, r.from_wall_ns, r.to_wall_ns,
                                           r.dir, &opt, &r.report),
                     RT_OK);
    for (int k = 0; k < 2; k++) {
        const cJSON *p = part(&r, k ? "analytics" : "audit");
        assert_string_equal(part_str(p, "status"), "interrupted");
        assert_non_null(strstr(part_str(p, "message"), why));
        assert_int_equal(part_num(p, "pages"), 0);
    }
    rig_stop(&r);
    c = load(&r, "audit.csv");
    check_header(c);
    assert_int_equal(csvread_rows(c), 0);
    csvread_free(c);
    c = load(&r, "requests.csv");
    for (size_t i = 0; i < csvread_rows(c); i++) {
        const char *role = csvread_field(c, i, col(c, "role"));
        assert_true(strcmp(role, "audit") && strcmp(role, "analytics"));
    }
    csvread_free(c);
    cleanup(&r);
}

static void second_interrupt_ends_collection_before_any_call(void **state)
{
    (void)state;
    interrupted(1);
}

static void time_limit_ends_collection_before_any_call(void **state)
{
    (void)state;
    interrupted(0);
}

/* ------------------------------------------------------------------ */
/* A hostile server: errors, throttling, odd ids and broken bodies      */

#define MOCK_FROM "2026-03-02T09:00:00Z"
#define MOCK_TO "2026-03-02T10:00:00Z"
#define QUERY_PATH "/api/v2/audits/query/q%201%2Fx"
#define RESULTS_PATH QUERY_PATH "/results"
#define ANALYTICS_PATH "/api/v2/analytics/users/details/query"

static int64_t at(const char *iso)
{
    int64_t ns;

    assert_int_equal(iso8601_parse(iso, &ns), RT_OK);
    return ns;
}

/* A harness over agents "a1" and "a2" of a mock server, stopped like a
 * run that has ended. */
static struct mockhttp *mock_rig(struct rig *r)
{
    struct oauth_cache_config ac;
    struct mockhttp *mock = mockhttp_start();

    assert_non_null(mock);
    memset(r, 0, sizeof(*r));
    snprintf(r->dir, sizeof(r->dir), "/tmp/rt-evidence-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    scenario_defaults(&r->scn);
    harness_init(&r->h);
    r->h.scn = &r->scn;
    snprintf(r->h.api_url, sizeof(r->h.api_url), "%s", mockhttp_url(mock));
    memset(&ac, 0, sizeof(ac));
    ac.login_url = mockhttp_url(mock);
    ac.access_token = "mock-token";
    ac.on_exchange = session_oauth_hook;
    assert_int_equal(oauth_cache_new(&r->h.auth, &ac), RT_OK);
    r->h.limiter = ratelimit_new(0, 0);
    assert_int_equal(history_open(&r->h.history, r->dir), RT_OK);
    r->h.n_agents = 2;
    r->h.agent_ids = xcalloc(3, sizeof(char *));
    r->h.agent_ids[0] = xstrdup("a1");
    r->h.agent_ids[1] = xstrdup("a2");
    harness_stop(&r->h);
    r->from_wall_ns = at(MOCK_FROM);
    r->to_wall_ns = at(MOCK_TO);
    return mock;
}

static void mock_rig_stop(struct rig *r, struct mockhttp *mock)
{
    assert_int_equal(history_close(r->h.history), RT_OK);
    ratelimit_free(r->h.limiter);
    oauth_cache_free(r->h.auth);
    harness_release(&r->h);
    mockhttp_free(mock);
}

static void script(struct mockhttp *mock, const char *method, const char *path,
                   int status, const char *header, const char *body)
{
    struct mockhttp_response m;

    memset(&m, 0, sizeof(m));
    m.method = method;
    m.path = path;
    m.status = status;
    m.headers[0] = header;
    m.body = body;
    mockhttp_script(mock, &m);
}

/* The i-th request to @path (query ignored), or fail. */
static const struct mockhttp_request *
nth(struct mockhttp *mock, const char *method, const char *path, size_t i)
{
    size_t n = mockhttp_count(mock), k = 0;

    for (size_t j = 0; j < n; j++) {
        const struct mockhttp_request *q = mockhttp_request(mock, j);
        size_t len = strcspn(q->url, "?");

        if (strcmp(q->method, method) || strlen(path) != len ||
            strncmp(q->url, path, len))
            continue;
        if (k++ == i)
            return q;
    }
    fail_msg("no request %zu to %s %s", i, method, path);
    return NULL;
}

static const char *const audit_page1 =
    "{\"entities\":["
    "{\"id\":\"r1\",\"entity\":{\"id\":\"A1\"},"
    "\"eventDate\":\"2026-03-02T09:05:00.000Z\",\"client\":{\"id\":\"cli\"},"
    "\"serviceName\":\"Directory\",\"entityType\":\"User\","
    "\"action\":\"Update\",\"level\":\"SYSTEM\",\"status\":\"SUCCESS\","
    "\"propertyChanges\":[{\"property\":\"title\","
    "\"oldValues\":[\"a,\\\"b\\\"\"],\"newValues\":[\"c\\nd\"]}]},"
    "{\"id\":\"r2\",\"entity\":{\"id\":\"somebody-else\"}},"
    "7],\"cursor\":\"c/2 +\"}";
static const char *const audit_page2 =
    "{\"entities\":[{\"id\":\"r3\",\"entity\":{\"id\":\"a2\"},"
    "\"user\":{\"id\":\"u9\",\"name\":\"Ann\"},\"level\":\"USER\"}],"
    "\"cursor\":\"c3\"}";
static const char *const analytics_page1 =
    "{\"userDetails\":[{\"userId\":\"a1\",\"primaryPresence\":["
    "{\"startTime\":\"2026-03-02T08:59:00Z\",\"systemPresence\":\"AVAILABLE\"},"
    "{\"startTime\":\"2026-03-02T09:10:00Z\",\"systemPresence\":\"ON_QUEUE\"}"
    "]}],\"totalHits\":2}";
static const char *const analytics_page2 =
    "{\"userDetails\":[7,{\"userId\":\"a2\",\"routingStatus\":["
    "{\"startTime\":\"2026-03-02T08:59:00Z\",\"routingStatus\":\"OFF_QUEUE\"},"
    "{\"startTime\":\"2026-03-02T09:20:00Z\",\"routingStatus\":\"IDLE\"},"
    "{\"startTime\":\"never\",\"routingStatus\":\"IDLE\"}]},"
    "{\"userId\":\"stranger\",\"routingStatus\":["
    "{\"startTime\":\"2026-03-02T09:01:00Z\",\"routingStatus\":\"IDLE\"},"
    "{\"startTime\":\"2026-03-02T09:02:00Z\","
    "\"routingStatus\":\"INTERACTING\"}]}],\"totalHits\":2}";

static void check_mock_audit_csv(const struct rig *r)
{
    struct csvread *a = load(r, "audit.csv");

    check_header(a);
    assert_int_equal(csvread_rows(a), 2);
    /* The run's spelling of the agent, whatever the server's case. */
    assert_string_equal(csvread_field(a, 0, col(a, "agent")), "a1");
    assert_string_equal(csvread_field(a, 0, col(a, "audit_id")), "r1");
    assert_int_equal(csvread_i64(a, 0, col(a, "event_wall_ns"), -1),
                     at("2026-03-02T09:05:00Z"));
    assert_string_equal(csvread_field(a, 0, col(a, "event_iso")),
                        "2026-03-02T09:05:00.000Z");
    assert_string_equal(csvread_field(a, 0, col(a, "client_id")), "cli");
    assert_string_equal(csvread_field(a, 0, col(a, "level")), "SYSTEM");
    assert_string_equal(csvread_field(a, 0, col(a, "properties")), "title");
    assert_string_equal(csvread_field(a, 0, col(a, "changes_json")),
                        "[{\"property\":\"title\",\"oldValues\":"
                        "[\"a,\\\"b\\\"\"],\"newValues\":[\"c\\nd\"]}]");
    assert_string_equal(csvread_field(a, 1, col(a, "agent")), "a2");
    assert_string_equal(csvread_field(a, 1, col(a, "user_id")), "u9");
    assert_string_equal(csvread_field(a, 1, col(a, "user_name")), "Ann");
    assert_string_equal(csvread_field(a, 1, col(a, "event_wall_ns")), "");
    assert_string_equal(csvread_field(a, 1, col(a, "event_iso")), "");
    assert_string_equal(csvread_field(a, 1, col(a, "client_id")), "");
    csvread_free(a);
}

/* A 500 and a 429 are retried (the 429 after its Retry-After), the query
 * id and the cursor are escaped in the URLs, unusable entries are
 * counted, strangers are left out, and a broken page ends the audit with
 * what came before it kept. */
static void hostile_answers_are_retried_skipped_or_reported(void **state)
{
    struct evidence_options opt;
    struct rig r;
    struct mockhttp *mock = mock_rig(&r);
    const struct mockhttp_request *q;
    const cJSON *audit, *analytics;
    struct csvread *c;
    cJSON *body;
    int64_t started;

    (void)state;
    script(mock, "POST", "/api/v2/audits/query", 500, NULL,
           "{\"message\":\"boom\",\"code\":\"internal.server.error\"}");
    script(mock, "POST", "/api/v2/audits/query", 200, NULL,
           "{\"id\":\"q 1/x\",\"state\":\"Queued\"}");
    script(mock, "POST", ANALYTICS_PATH, 429, "Retry-After: 1",
           "{\"message\":\"Rate limit exceeded\","
           "\"code\":\"too.many.requests\",\"status\":429}");
    script(mock, "POST", ANALYTICS_PATH, 200, NULL, analytics_page1);
    script(mock, "POST", ANALYTICS_PATH, 200, NULL, analytics_page2);
    script(mock, "GET", QUERY_PATH, 200, NULL, "{\"state\":\"Running\"}");
    script(mock, "GET", QUERY_PATH, 200, NULL,
           "{\"id\":\"q 1/x\",\"state\":\"Succeeded\"}");
    script(mock, "GET", RESULTS_PATH, 200, NULL, audit_page1);
    script(mock, "GET", RESULTS_PATH, 200, NULL, audit_page2);
    script(mock, "GET", RESULTS_PATH, 200, NULL, "{\"entities\":[");

    evidence_options_default(&opt);
    opt.analytics_page_size = 1;
    started = clock_mono_ns();
    assert_int_equal(evidence_collect_with(&r.h, r.from_wall_ns, r.to_wall_ns,
                                           r.dir, &opt, &r.report),
                     RT_OK);
    /* The 429's Retry-After held the next call back. */
    assert_true(clock_mono_ns() - started >= NS_PER_S);

    audit = part(&r, "audit");
    assert_string_equal(part_str(audit, "status"), "failed");
    assert_non_null(strstr(part_str(audit, "message"), "results page"));
    assert_non_null(strstr(part_str(audit, "message"), "byte"));
    assert_int_equal(part_num(audit, "records"), 2);
    assert_int_equal(part_num(audit, "pages"), 3);
    assert_int_equal(part_num(audit, "skipped"), 1); /* the 7 */
    analytics = part(&r, "analytics");
    assert_string_equal(part_str(analytics, "status"), "ok");
    assert_int_equal(part_num(analytics, "pages"), 2);
    assert_int_equal(part_num(analytics, "users"), 2);
    assert_int_equal(part_num(analytics, "transitions"), 2);
    /* The 7, the interval that never started, the stranger's change. */
    assert_int_equal(part_num(analytics, "skipped"), 3);

    /* What went on the wire. */
    q = nth(mock, "POST", "/api/v2/audits/query", 1);
    assert_non_null(body = cJSON_Parse(q->body));
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(body, "interval")->valuestring,
        "2026-03-02T08:59:00.000Z/2026-03-02T10:01:00.000Z");
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(body, "serviceName")->valuestring,
        "Directory");
    cJSON_Delete(body);
    assert_string_equal(nth(mock, "GET", RESULTS_PATH, 0)->url,
                        RESULTS_PATH "?pageSize=500&expand=user");
    assert_string_equal(nth(mock, "GET", RESULTS_PATH, 1)->url, RESULTS_PATH
                        "?pageSize=500&expand=user&cursor=c%2F2%20%2B");
    assert_string_equal(nth(mock, "GET", RESULTS_PATH, 2)->url,
                        RESULTS_PATH "?pageSize=500&expand=user&cursor=c3");
    q = nth(mock, "POST", ANALYTICS_PATH, 2);
    assert_non_null(body = cJSON_Parse(q->body));
    {
        const cJSON *f = cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(body, "userFilters"), 0);
        const cJSON *preds = cJSON_GetObjectItemCaseSensitive(f, "predicates");
        const cJSON *paging = cJSON_GetObjectItemCaseSensitive(body, "paging");

        assert_string_equal(
            cJSON_GetObjectItemCaseSensitive(body, "interval")->valuestring,
            "2026-03-02T09:00:00.000Z/2026-03-02T10:00:00.000Z");
        assert_string_equal(
            cJSON_GetObjectItemCaseSensitive(body, "order")->valuestring,
            "asc");
        assert_string_equal(
            cJSON_GetObjectItemCaseSensitive(f, "type")->valuestring, "or");
        assert_int_equal(cJSON_GetArraySize(preds), 2);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetArrayItem(preds, 1), "value")
                                ->valuestring,
                            "a2");
        assert_int_equal(
            cJSON_GetObjectItemCaseSensitive(paging, "pageNumber")->valueint,
            2);
        assert_int_equal(
            cJSON_GetObjectItemCaseSensitive(paging, "pageSize")->valueint, 1);
    }
    cJSON_Delete(body);
    mock_rig_stop(&r, mock);

    check_mock_audit_csv(&r);
    c = load(&r, "observations.csv");
    assert_int_equal(csvread_rows(c), 2);
    assert_string_equal(csvread_field(c, 0, col(c, "agent")), "a1");
    assert_string_equal(csvread_field(c, 0, col(c, "old")), "Available");
    assert_string_equal(csvread_field(c, 0, col(c, "new")), "On Queue");
    assert_int_equal(csvread_i64(c, 0, col(c, "server_wall_ns"), -1),
                     at("2026-03-02T09:10:00Z"));
    assert_string_equal(csvread_field(c, 1, col(c, "agent")), "a2");
    assert_string_equal(csvread_field(c, 1, col(c, "property")),
                        "routing_status");
    assert_string_equal(csvread_field(c, 1, col(c, "new")), "IDLE");
    csvread_free(c);
    /* Every exchange is in the history, the refused ones too. */
    c = load(&r, "requests.csv");
    {
        int c_role = col(c, "role"), c_status = col(c, "status");
        int audit_rows = 0, analytics_rows = 0, s500 = 0, s429 = 0;

        for (size_t i = 0; i < csvread_rows(c); i++) {
            int64_t st = csvread_i64(c, i, c_status, 0);
            if (!strcmp(csvread_field(c, i, c_role), "audit"))
                audit_rows++;
            else if (!strcmp(csvread_field(c, i, c_role), "analytics"))
                analytics_rows++;
            s500 += st == 500;
            s429 += st == 429;
        }
        /* 2 submissions, 2 polls, 3 pages; 3 analytics posts. */
        assert_int_equal(audit_rows, 7);
        assert_int_equal(analytics_rows, 3);
        assert_int_equal(s500, 1);
        assert_int_equal(s429, 1);
    }
    csvread_free(c);
    cleanup(&r);
}

/* A server that hands back the same cursor, and an analytics page that is
 * not JSON: both end their part as failed, keeping what came before. */
static void repeated_cursor_and_broken_page_end_their_part(void **state)
{
    struct evidence_options opt;
    struct rig r;
    struct mockhttp *mock = mock_rig(&r);
    const cJSON *audit, *analytics;
    struct csvread *c;
    const char *same =
        "{\"entities\":[{\"id\":\"r\",\"entity\":{\"id\":\"a1\"}}],"
        "\"cursor\":\"same\"}";

    (void)state;
    script(mock, "POST", "/api/v2/audits/query", 200, NULL,
           "{\"id\":\"q 1/x\",\"state\":\"Succeeded\"}");
    script(mock, "POST", ANALYTICS_PATH, 200, NULL, analytics_page1);
    script(mock, "POST", ANALYTICS_PATH, 200, NULL, "<html>oops</html>");
    script(mock, "GET", RESULTS_PATH, 200, NULL, same);
    script(mock, "GET", RESULTS_PATH, 200, NULL, same);
    evidence_options_default(&opt);
    opt.analytics_page_size = 1;
    assert_int_equal(evidence_collect_with(&r.h, r.from_wall_ns, r.to_wall_ns,
                                           r.dir, &opt, &r.report),
                     RT_OK);
    audit = part(&r, "audit");
    analytics = part(&r, "analytics");
    assert_string_equal(part_str(audit, "status"), "failed");
    assert_non_null(strstr(part_str(audit, "message"), "cursor"));
    assert_int_equal(part_num(audit, "records"), 2);
    assert_int_equal(part_num(audit, "pages"), 2);
    assert_string_equal(part_str(analytics, "status"), "failed");
    assert_non_null(strstr(part_str(analytics, "message"), "analytics page"));
    assert_int_equal(part_num(analytics, "transitions"), 1);
    /* The query was done at once: no status poll. */
    assert_int_equal(mockhttp_count_matching(mock, "GET", QUERY_PATH), 0);
    mock_rig_stop(&r, mock);
    c = load(&r, "audit.csv");
    assert_int_equal(csvread_rows(c), 2);
    csvread_free(c);
    c = load(&r, "observations.csv");
    assert_int_equal(csvread_rows(c), 1);
    csvread_free(c);
    cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(audit_and_analytics_match_the_truth),
        cmocka_unit_test(audit_forbidden_is_reported_and_analytics_goes_on),
        cmocka_unit_test(analytics_forbidden_is_reported_and_audit_goes_on),
        cmocka_unit_test(second_interrupt_ends_collection_before_any_call),
        cmocka_unit_test(time_limit_ends_collection_before_any_call),
        cmocka_unit_test(hostile_answers_are_retried_skipped_or_reported),
        cmocka_unit_test(repeated_cursor_and_broken_page_end_their_part),
    };
    int rc;

    if (http_global_init())
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    http_global_cleanup();
    return rc;
}
