/*
 * The replayer against the embedded simulator (and, for exact 429 and
 * body cases, a scripted server), through the real session, token cache,
 * limiter and history.  Assertions read operations.csv and requests.csv
 * back and look at the org itself.
 *
 * Interleavings are made deterministic with the token cache's exchange
 * hook: it runs on the worker's thread right after each exchange, before
 * session_call() returns, so "another writer bumps agent k just after the
 * replayer read it" is done there, synchronously, with org_user_patch().
 * No sleeps synchronise anything; the only timed checks are one-sided
 * bounds the replayer guarantees by construction (it waits at least
 * Retry-After; an absolute round does not start early).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/http.h"
#include "api/oauth.h"
#include "api/ratelimit.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "support/csvread.h"
#include "harness/history.h"
#include "harness/replay.h"
#include "harness/scenario.h"
#include "harness/session.h"
#include "support/mockhttp.h"
#include "sim/config.h"
#include "sim/org.h"
#include "sim/sim.h"

#define AGENTS 20
#define MAX_AGENTS 64

struct fixture {
    struct sim *sim;       /* or NULL with a mock */
    struct mockhttp *mock; /* or NULL with the simulator */
    struct sim_config cfg;
    struct scenario scn;
    struct harness h;
    int harness_ready;
    char dir[64];
    /* Hook state, touched from worker threads. */
    atomic_int bumps[MAX_AGENTS]; /* bumps left, one per GET of the user */
    atomic_int exchanges;
    int stop_after; /* stop the run at this API exchange, 0 = never */
    /* CSVs read back by fx_load(). */
    struct csvread *ops, *reqs;
};

static const struct sim_writer other_writer = {"client:other", "other",
                                               "other-1"};

/* ------------------------------------------------------------------ */
/* Fixture                                                             */

/* The agent whose user URL is @url ("<api>/api/v2/users/<id>", nothing
 * after the id), or -1. */
static long user_url_agent(struct fixture *fx, const char *url)
{
    const char *api = fx->h.api_url, *id;
    size_t n = strlen(api);

    if (strncmp(url, api, n) || strncmp(url + n, "/api/v2/users/", 14))
        return -1;
    id = url + n + 14;
    if (strpbrk(id, "/?"))
        return -1;
    return org_find_agent(sim_org(fx->sim), id);
}

/* Another writer changes agent @i's title, making every version read
 * before it stale. */
static void bump(struct fixture *fx, size_t i)
{
    struct sim_org *org = sim_org(fx->sim);
    cJSON *fields = cJSON_CreateObject();
    int64_t v, after;

    cJSON_AddStringToObject(fields, "title", "Bumped");
    cJSON_Delete(org_user_fields(org, i, &v));
    assert_int_equal(org_user_patch(org, i, v, fields, &other_writer, &after),
                     RT_OK);
    cJSON_Delete(fields);
}

static void hook(void *ctx, enum oauth_exchange kind,
                 const struct http_request *req,
                 const struct http_response *resp)
{
    struct fixture *fx = ctx;
    long i;
    int n;

    session_oauth_hook(ctx, kind, req, resp);
    if (kind != OAUTH_EXCHANGE_API)
        return;
    n = atomic_fetch_add(&fx->exchanges, 1) + 1;
    if (fx->stop_after && n == fx->stop_after)
        harness_stop(&fx->h);
    if (!fx->sim || strcmp(req->method, "GET") || resp->status != 200)
        return;
    i = user_url_agent(fx, req->url);
    if (i >= 0 && i < MAX_AGENTS && atomic_load(&fx->bumps[i]) > 0) {
        atomic_fetch_sub(&fx->bumps[i], 1);
        bump(fx, (size_t)i);
    }
}

static void fx_scenario(struct fixture *fx, enum scn_operation op,
                        enum scn_strategy strategy)
{
    scenario_defaults(&fx->scn);
    fx->scn.replay.enabled = 1;
    fx->scn.replay.at_ns = 0;
    fx->scn.replay.operation = op;
    fx->scn.replay.strategies[0] = strategy;
    fx->scn.replay.n_strategies = 1;
    fx->scn.replay.retry.backoff = SCN_BACKOFF_FIXED;
    fx->scn.replay.retry.jitter = SCN_JITTER_NONE;
    fx->scn.replay.retry.base_ns = 5 * NS_PER_MS;
    fx->scn.replay.retry.cap_ns = 50 * NS_PER_MS;
    fx->scn.replay.workers = 4;
}

static void fx_sim_config(struct fixture *fx, int64_t agents)
{
    sim_config_defaults(&fx->cfg);
    fx->cfg.agents = agents;
    fx->cfg.world.presence_enabled = 0;
    fx->cfg.log_dir[0] = '\0';
}

/* Start the harness on @api_url with the agent ids @ids. */
static void fx_harness(struct fixture *fx, const char *api_url,
                       const char *login_url, const char *token, char **ids,
                       size_t n)
{
    struct oauth_cache_config ac;

    snprintf(fx->dir, sizeof(fx->dir), "/tmp/rt-replay-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    harness_init(&fx->h);
    fx->harness_ready = 1;
    fx->h.scn = &fx->scn;
    fx->h.is_sim = fx->sim != NULL;
    snprintf(fx->h.api_url, sizeof(fx->h.api_url), "%s", api_url);
    memset(&ac, 0, sizeof(ac));
    ac.login_url = login_url;
    ac.client_id = token ? NULL : fx->cfg.client_id;
    ac.client_secret = token ? NULL : fx->cfg.client_secret;
    ac.access_token = token;
    ac.on_exchange = hook;
    ac.exchange_ctx = fx;
    assert_int_equal(oauth_cache_new(&fx->h.auth, &ac), RT_OK);
    assert_int_equal(history_open(&fx->h.history, fx->dir), RT_OK);
    fx->h.limiter = ratelimit_new(0, 0);
    fx->h.agent_ids = xcalloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        fx->h.agent_ids[i] = xstrdup(ids[i]);
    fx->h.n_agents = n;
    fx->h.start_mono_ns = clock_mono_ns();
    fx->h.start_wall_ns = clock_wall_ns();
}

/* Start the simulator from fx->cfg and a harness over every agent. */
static void fx_start_sim(struct fixture *fx)
{
    struct sim_org *org;
    char *ids[MAX_AGENTS];
    size_t n;

    assert_int_equal(sim_start(&fx->sim, &fx->cfg), RT_OK);
    org = sim_org(fx->sim);
    n = org_agent_count(org);
    assert_true(n <= MAX_AGENTS);
    for (size_t i = 0; i < n; i++)
        ids[i] = xstrdup(org_agent_id(org, i));
    fx_harness(fx, sim_url(fx->sim), sim_url(fx->sim), NULL, ids, n);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
}

static void fx_start_mock(struct fixture *fx, const char *agent)
{
    char *ids[1] = {xstrdup(agent)};

    assert_non_null(fx->mock = mockhttp_start());
    fx_harness(fx, mockhttp_url(fx->mock), mockhttp_url(fx->mock), "mock-token",
               ids, 1);
    free(ids[0]);
}

/* Run the whole replay and wait for it. */
static void fx_replay(struct fixture *fx)
{
    struct replayer *rep = NULL;

    fx->h.start_mono_ns = clock_mono_ns();
    assert_int_equal(replay_start(&rep, &fx->h), RT_OK);
    assert_non_null(rep);
    replay_join(rep);
}

/* Flush the history and read both CSVs back. */
static void fx_load(struct fixture *fx)
{
    char path[128];

    csvread_free(fx->ops);
    csvread_free(fx->reqs);
    history_flush(fx->h.history);
    snprintf(path, sizeof(path), "%s/operations.csv", fx->dir);
    assert_non_null(fx->ops = csvread_load(path));
    snprintf(path, sizeof(path), "%s/requests.csv", fx->dir);
    assert_non_null(fx->reqs = csvread_load(path));
}

static int setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof(*fx));

    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    static const char *const files[] = {"requests.csv", "observations.csv",
                                        "operations.csv"};
    char path[128];

    csvread_free(fx->ops);
    csvread_free(fx->reqs);
    if (fx->harness_ready) {
        history_close(fx->h.history);
        oauth_cache_free(fx->h.auth);
        ratelimit_free(fx->h.limiter);
        harness_release(&fx->h);
        for (size_t i = 0; i < 3; i++) {
            snprintf(path, sizeof(path), "%s/%s", fx->dir, files[i]);
            unlink(path);
        }
        rmdir(fx->dir);
    }
    sim_stop(fx->sim);
    mockhttp_free(fx->mock);
    scenario_release(&fx->scn);
    free(fx);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Reading the results                                                 */

static const char *op_field(struct fixture *fx, size_t row, const char *col)
{
    int c = csvread_col(fx->ops, col);

    if (c < 0)
        fail_msg("operations.csv has no column '%s'", col);
    return csvread_field(fx->ops, row, c);
}

static int64_t op_int(struct fixture *fx, size_t row, const char *col)
{
    int c = csvread_col(fx->ops, col);

    if (c < 0)
        fail_msg("operations.csv has no column '%s'", col);
    /* The history prints -1 (none) as an empty field. */
    return csvread_i64(fx->ops, row, c, -1);
}

static const char *req_field(struct fixture *fx, size_t row, const char *col)
{
    int c = csvread_col(fx->reqs, col);

    if (c < 0)
        fail_msg("requests.csv has no column '%s'", col);
    return csvread_field(fx->reqs, row, c);
}

static int64_t req_int(struct fixture *fx, size_t row, const char *col)
{
    int c = csvread_col(fx->reqs, col);

    if (c < 0)
        fail_msg("requests.csv has no column '%s'", col);
    return csvread_i64(fx->reqs, row, c, -1);
}

/* The operations.csv row of agent @i (the only one expected), or fail. */
static size_t op_row_of(struct fixture *fx, size_t i)
{
    const char *id = fx->h.agent_ids[i];
    size_t found = SIZE_MAX;

    for (size_t r = 0; r < csvread_rows(fx->ops); r++) {
        if (strcmp(op_field(fx, r, "agent"), id))
            continue;
        if (found != SIZE_MAX)
            fail_msg("agent %zu has several operations", i);
        found = r;
    }
    if (found == SIZE_MAX)
        fail_msg("agent %zu has no operation", i);
    return found;
}

/* requests.csv rows of operation @op_id, in sequence order, into @rows. */
static size_t req_rows_of(struct fixture *fx, int64_t op_id, size_t *rows,
                          size_t cap)
{
    size_t n = 0;

    for (size_t r = 0; r < csvread_rows(fx->reqs); r++) {
        if (req_int(fx, r, "op_id") != op_id)
            continue;
        assert_true(n < cap);
        rows[n++] = r;
    }
    /* Sort by seq (the file is written in sequence order already, but
     * rows from different threads may land in any order). */
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && req_int(fx, rows[b - 1], "seq") >
                                        req_int(fx, rows[b], "seq");
             b--) {
            size_t t = rows[b];
            rows[b] = rows[b - 1];
            rows[b - 1] = t;
        }
    return n;
}

static char *department(struct fixture *fx, size_t i, int64_t *version)
{
    cJSON *u = org_user_json(sim_org(fx->sim), i, 0);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(u, "department");
    char *out = xstrdup(cJSON_IsString(d) ? d->valuestring : "");

    *version = (int64_t)cJSON_GetNumberValue(
        cJSON_GetObjectItemCaseSensitive(u, "version"));
    cJSON_Delete(u);
    return out;
}

static void assert_department(struct fixture *fx, size_t i, const char *want,
                              int64_t want_version)
{
    int64_t v;
    char *d = department(fx, i, &v);

    if (strcmp(d, want) || v != want_version)
        fail_msg("agent %zu: department '%s' version %lld, expected '%s' "
                 "version %lld",
                 i, d, (long long)v, want, (long long)want_version);
    free(d);
}

static int in_set(size_t i, const size_t *set, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (set[k] == i)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* User patch, per strategy                                            */

static void
read_modify_write_on_a_quiet_org_writes_every_agent_once(void **state)
{
    struct fixture *fx = *state;

    fx_sim_config(fx, AGENTS);
    fx_scenario(fx, SCN_OP_USER_PATCH, SCN_STRATEGY_READ_MODIFY_WRITE);
    fx_start_sim(fx);
    fx_replay(fx);
    fx_load(fx);

    assert_int_equal(csvread_rows(fx->ops), AGENTS);
    assert_int_equal(atomic_load(&fx->h.counters.updates_total), AGENTS);
    assert_int_equal(atomic_load(&fx->h.counters.updates_done), AGENTS);
    assert_int_equal(atomic_load(&fx->h.counters.ops_ok), AGENTS);
    for (size_t i = 0; i < AGENTS; i++) {
        size_t r = op_row_of(fx, i), rows[8];
        int64_t id = op_int(fx, r, "op_id");

        assert_string_equal(op_field(fx, r, "outcome"), "ok");
        assert_string_equal(op_field(fx, r, "strategy"), "read-modify-write");
        assert_int_equal(op_int(fx, r, "round"), 0);
        assert_int_equal(op_int(fx, r, "read_version"), 1);
        assert_string_equal(op_field(fx, r, "read_versions"), "1");
        assert_int_equal(op_int(fx, r, "attempts"), 1);
        assert_int_equal(op_int(fx, r, "final_version"), 2);
        assert_int_equal(op_int(fx, r, "requests"), 2);
        assert_int_equal(op_int(fx, r, "wasted_requests"), 0);
        assert_int_equal(op_int(fx, r, "last_status"), 200);
        assert_string_equal(op_field(fx, r, "intent"),
                            "department=Contact Center (racetrace)");
        assert_true(op_field(fx, r, "last_correlation_id")[0] != '\0');
        assert_true(op_int(fx, r, "first_read_wall_ns") <=
                    op_int(fx, r, "last_write_wall_ns"));
        assert_true(id >= 1 && id <= AGENTS);
        /* Its requests: one GET, then the PATCH with the version read. */
        assert_int_equal(req_rows_of(fx, id, rows, 8), 2);
        assert_string_equal(req_field(fx, rows[0], "method"), "GET");
        assert_string_equal(req_field(fx, rows[0], "route"),
                            "/api/v2/users/{id}");
        assert_string_equal(req_field(fx, rows[0], "role"), "replay");
        assert_string_equal(req_field(fx, rows[1], "method"), "PATCH");
        assert_int_equal(req_int(fx, rows[1], "version_sent"), 1);
        assert_string_equal(req_field(fx, rows[1], "agent"),
                            fx->h.agent_ids[i]);
        assert_department(fx, i, "Contact Center (racetrace)", 2);
    }
}

static const size_t bumped[] = {2, 5, 11};
#define N_BUMPED (sizeof(bumped) / sizeof(bumped[0]))

static void bump_on_first_read(struct fixture *fx)
{
    for (size_t k = 0; k < N_BUMPED; k++)
        atomic_store(&fx->bumps[bumped[k]], 1);
}

static void bulk_stale_conflicts_where_another_writer_came_between(void **state)
{
    struct fixture *fx = *state;
    int64_t last_get = 0, first_patch = INT64_MAX;

    fx_sim_config(fx, AGENTS);
    fx_scenario(fx, SCN_OP_USER_PATCH, SCN_STRATEGY_BULK_STALE);
    fx_start_sim(fx);
    bump_on_first_read(fx);
    fx_replay(fx);
    fx_load(fx);

    assert_int_equal(csvread_rows(fx->ops), AGENTS);
    for (size_t i = 0; i < AGENTS; i++) {
        size_t r = op_row_of(fx, i);

        assert_string_equal(op_field(fx, r, "strategy"), "bulk-stale");
        assert_int_equal(op_int(fx, r, "read_version"), 1);
        assert_int_equal(op_int(fx, r, "attempts"), 1);
        if (in_set(i, bumped, N_BUMPED)) {
            assert_string_equal(op_field(fx, r, "outcome"), "conflict");
            assert_int_equal(op_int(fx, r, "last_status"), 409);
            assert_int_equal(op_int(fx, r, "final_version"), -1);
            assert_int_equal(op_int(fx, r, "wasted_requests"), 2);
            /* Only the other writer's change landed. */
            assert_department(fx, i, "Contact Center", 2);
        } else {
            assert_string_equal(op_field(fx, r, "outcome"), "ok");
            assert_int_equal(op_int(fx, r, "wasted_requests"), 0);
            assert_department(fx, i, "Contact Center (racetrace)", 2);
        }
    }
    assert_int_equal(atomic_load(&fx->h.counters.ops_conflict), N_BUMPED);
    /* Every read went before every write: the bulk pattern. */
    for (size_t r = 0; r < csvread_rows(fx->reqs); r++) {
        int64_t seq = req_int(fx, r, "seq");
        if (strcmp(req_field(fx, r, "role"), "replay"))
            continue;
        if (!strcmp(req_field(fx, r, "method"), "GET") && seq > last_get)
            last_get = seq;
        if (!strcmp(req_field(fx, r, "method"), "PATCH") && seq < first_patch)
            first_patch = seq;
    }
    assert_true(last_get < first_patch);
}

static void read_modify_write_does_not_retry_a_conflict(void **state)
{
    struct fixture *fx = *state;

    fx_sim_config(fx, AGENTS);
    fx_scenario(fx, SCN_OP_USER_PATCH, SCN_STRATEGY_READ_MODIFY_WRITE);
    fx_start_sim(fx);
    bump_on_first_read(fx);
    fx_replay(fx);
    fx_load(fx);

    for (size_t k = 0; k < N_BUMPED; k++) {
        size_t r = op_row_of(fx, bumped[k]);
        assert_string_equal(op_field(fx, r, "outcome"), "conflict");
        assert_int_equal(op_int(fx, r, "attempts"), 1);
        assert_int_equal(op_int(fx, r, "requests"), 2);
    }
    assert_int_equal(atomic_load(&fx->h.counters.ops_ok), AGENTS - N_BUMPED);
}

static void retry_rereads_and_succeeds_after_a_conflict(void **state)
{
    struct fixture *fx = *state;

    fx_sim_config(fx, AGENTS);
    fx_scenario(fx, SCN_OP_USER_PATCH, SCN_STRATEGY_RETRY);
    fx_start_sim(fx);
    bump_on_first_read(fx);
    fx_replay(fx);
    fx_load(fx);

    assert_int_equal(csvread_rows(fx->ops), AGENTS);
    for (size_t i = 0; i < AGENTS; i++) {
        size_t r = op_row_of(fx, i), rows[8];
        int64_t id = op_int(fx, r, "op_id");

        assert_string_equal(op_field(fx, r, "outcome"), "ok");
        assert_int_equal(op_int(fx, r, "read_version"), 1);
        if (!in_set(i, bumped, N_BUMPED)) {
            assert_int_equal(op_int(fx, r, "attempts"), 1);
            assert_department(fx, i, "Contact Center (racetrace)", 2);
            continue;
        }
        assert_int_equal(op_int(fx, r, "attempts"), 2);
        assert_string_equal(op_field(fx, r, "read_versions"), "1;2");
        assert_int_equal(op_int(fx, r, "final_version"), 3);
        assert_int_equal(op_int(fx, r, "requests"), 4);
        assert_int_equal(op_int(fx, r, "wasted_requests"), 2);
        assert_department(fx, i, "Contact Center (racetrace)", 3);
        /* GET, PATCH 409, a re-read, PATCH 200 with the new version. */
        assert_int_equal(req_rows_of(fx, id, rows, 8), 4);
        assert_string_equal(req_field(fx, rows[0], "method"), "GET");
        assert_string_equal(req_field(fx, rows[1], "method"), "PATCH");
        assert_int_equal(req_int(fx, rows[1], "status"), 409);
        assert_string_equal(req_field(fx, rows[1], "kind"), "conflict");
        assert_int_equal(req_int(fx, rows[1], "version_sent"), 1);
        assert_string_equal(req_field(fx, rows[2], "method"), "GET");
        assert_string_equal(req_field(fx, rows[3], "method"), "PATCH");
        assert_int_equal(req_int(fx, rows[3], "status"), 200);
        assert_int_equal(req_int(fx, rows[3], "version_sent"), 2);
    }
}

static void retry_gives_up_after_max_attempts(void **state)
{
    struct fixture *fx = *state;
    size_t r;

    fx_sim_config(fx, 4);
    fx_scenario(fx, SCN_OP_USER_PATCH, SCN_STRATEGY_RETRY);
    fx->scn.replay.retry.max_attempts = 3;
    fx_start_sim(fx);
    /* Every read of agent 1 is made stale at once. */
    atomic_store(&fx->bumps[1], 1000);
    fx_replay(fx);
    fx_load(fx);

    r = op_row_of(fx, 1);
    assert_string_equal(op_field(fx, r, "outcome"), "conflict");
    assert_int_equal(op_int(fx, r, "attempts"), 3);
    assert_int_equal(op_int(fx, r, "requests"), 6);
    assert_int_equal(op_int(fx, r, "wasted_requests"), 6);
    assert_string_equal(op_field(fx, r, "read_versions"), "1;2;3");
    assert_string_equal(op_field(fx, op_row_of(fx, 0), "outcome"), "ok");
}

/* ------------------------------------------------------------------ */
/* Rounds and strategies                                               */

static void every_round_runs_every_strategy_over_every_agent(void **state)
{
    struct fixture *fx = *state;
    int seen[2][3] = {{0}};
    unsigned char *ids;
    size_t n;

    fx_sim_config(fx, AGENTS);
    fx_scenario(fx, SCN_OP_USER_PATCH, SCN_STRATEGY_BULK_STALE);
    fx->scn.replay.strategies[1] = SCN_STRATEGY_READ_MODIFY_WRITE;
    fx->scn.replay.strategies[2] = SCN_STRATEGY_RETRY;
    fx->scn.replay.n_strategies = 3;
    fx->scn.replay.repeat_times = 2;
    fx->scn.replay.repeat_every_ns = 20 * NS_PER_MS;
    fx_start_sim(fx);
    fx_replay(fx);
    fx_load(fx);

    n = csvread_rows(fx->ops);
    assert_int_equal(n, AGENTS * 2 * 3);
    assert_int_equal(atomic_load(&fx->h.counters.updates_total), n);
    assert_int_equal(atomic_load(&fx->h.counters.updates_done), n);
    ids = xcalloc(n + 1, 1);
    for (size_t r = 0; r < n; r++) {
        int64_t id = op_int(fx, r, "op_id"), round = op_int(fx, r, "round");
        const char *s = op_field(fx, r, "strategy");
        int k = !strcmp(s, "bulk-stale")          ? 0
                : !strcmp(s, "read-modify-write") ? 1
                : !strcmp(s, "retry")             ? 2
                                                  : -1;

        assert_true(id >= 1 && (size_t)id <= n);
        assert_int_equal(ids[id], 0); /* unique */
        ids[id] = 1;
        assert_true(round == 0 || round == 1);
        assert_true(k >= 0);
        seen[round][k]++;
        assert_string_equal(op_field(fx, r, "outcome"), "ok");
    }
    free(ids);
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 3; k++)
            assert_int_equal(seen[r][k], AGENTS);
    /* Six toggles: every department is back, six versions later. */
    for (size_t i = 0; i < AGENTS; i++)
        assert_department(fx, i, "Contact Center", 7);
}

/* The operations.csv rows of agent @i with strategy @strategy, in op_id
 * order, into @rows; the count. */
static size_t op_rows_of(struct fixture *fx, size_t i, const char *strategy,
                         size_t *rows, size_t cap)
{
    const char *id = fx->h.agent_ids[i];
    size_t n = 0;

    for (size_t r = 0; r < csvread_rows(fx->ops); r++) {
        if (strcmp(op_field(fx, r, "agent"), id) ||
            strcmp(op_field(fx, r, "strategy"), strategy))
            continue;
        assert_true(n < cap);
        rows[n++] = r;
    }
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && op_int(fx, rows[b - 1], "op_id") >
                                        op_int(fx, rows[b], "op_id");
             b--) {
            size_t t = rows[b];
            rows[b] = rows[b - 1];
            rows[b - 1] = t;
        }
    return n;
}

static void bulk_stale_conflicts_with_its_own_second_update(void **state)
{
    struct fixture *fx = *state;
    unsigned char *ids;
    size_t n;

    /* No actor and no presence: nothing but the replay writes. */
    fx_sim_config(fx, AGENTS);
    fx_scenario(fx, SCN_OP_USER_PATCH, SCN_STRATEGY_BULK_STALE);
    fx->scn.replay.strategies[1] = SCN_STRATEGY_READ_MODIFY_WRITE;
    fx->scn.replay.n_strategies = 2;
    fx->scn.replay.per_agent = 2;
    fx_start_sim(fx);
    fx_replay(fx);
    fx_load(fx);

    n = csvread_rows(fx->ops);
    assert_int_equal(n, AGENTS * 2 * 2);
    assert_int_equal(atomic_load(&fx->h.counters.updates_total), n);
    assert_int_equal(atomic_load(&fx->h.counters.updates_done), n);
    assert_int_equal(atomic_load(&fx->h.counters.ops_conflict), AGENTS);
    assert_int_equal(atomic_load(&fx->h.counters.ops_ok), AGENTS * 3);
    ids = xcalloc(n + 1, 1);
    for (size_t r = 0; r < n; r++) {
        int64_t id = op_int(fx, r, "op_id");

        assert_true(id >= 1 && (size_t)id <= n);
        assert_int_equal(ids[id], 0); /* unique */
        ids[id] = 1;
    }
    free(ids);
    for (size_t i = 0; i < AGENTS; i++) {
        size_t bs[4], rmw[4], first[8], second[8];

        /* bulk-stale: both updates read version 1 before either wrote. */
        assert_int_equal(op_rows_of(fx, i, "bulk-stale", bs, 4), 2);
        assert_string_equal(op_field(fx, bs[0], "outcome"), "ok");
        assert_int_equal(op_int(fx, bs[0], "read_version"), 1);
        assert_int_equal(op_int(fx, bs[0], "final_version"), 2);
        assert_string_equal(op_field(fx, bs[1], "outcome"), "conflict");
        assert_int_equal(op_int(fx, bs[1], "read_version"), 1);
        assert_int_equal(op_int(fx, bs[1], "attempts"), 1);
        assert_int_equal(op_int(fx, bs[1], "last_status"), 409);
        assert_int_equal(op_int(fx, bs[1], "final_version"), -1);
        assert_int_equal(op_int(fx, bs[1], "wasted_requests"), 2);
        assert_int_equal(req_rows_of(fx, op_int(fx, bs[0], "op_id"), first, 8),
                         2);
        assert_int_equal(req_rows_of(fx, op_int(fx, bs[1], "op_id"), second, 8),
                         2);
        /* The second read went before the first write: the job's own
         * write made it stale. */
        assert_true(req_int(fx, second[0], "seq") <
                    req_int(fx, first[1], "seq"));
        assert_string_equal(req_field(fx, second[1], "method"), "PATCH");
        assert_string_equal(req_field(fx, second[1], "role"), "replay");
        assert_int_equal(req_int(fx, second[1], "status"), 409);
        assert_int_equal(req_int(fx, second[1], "version_sent"), 1);

        /* read-modify-write: each update reads what the one before left. */
        assert_int_equal(op_rows_of(fx, i, "read-modify-write", rmw, 4), 2);
        assert_string_equal(op_field(fx, rmw[0], "outcome"), "ok");
        assert_int_equal(op_int(fx, rmw[0], "read_version"), 2);
        assert_int_equal(op_int(fx, rmw[0], "final_version"), 3);
        assert_string_equal(op_field(fx, rmw[0], "intent"),
                            "department=Contact Center");
        assert_string_equal(op_field(fx, rmw[1], "outcome"), "ok");
        assert_int_equal(op_int(fx, rmw[1], "read_version"), 3);
        assert_int_equal(op_int(fx, rmw[1], "final_version"), 4);
        assert_string_equal(op_field(fx, rmw[1], "intent"),
                            "department=Contact Center (racetrace)");
        assert_int_equal(req_rows_of(fx, op_int(fx, rmw[0], "op_id"), first, 8),
                         2);
        assert_int_equal(
            req_rows_of(fx, op_int(fx, rmw[1], "op_id"), second, 8), 2);
        assert_true(req_int(fx, first[1], "seq") <
                    req_int(fx, second[0], "seq"));
        /* One bulk-stale toggle landed, then two read-modify-write ones. */
        assert_department(fx, i, "Contact Center (racetrace)", 4);
    }
}

static void pacing_spaces_operation_starts(void **state)
{
    struct fixture *fx = *state;
    int64_t intended[8];
    size_t n = 0;

    fx_sim_config(fx, 6);
    fx_scenario(fx, SCN_OP_USER_PATCH, SCN_STRATEGY_READ_MODIFY_WRITE);
    fx->scn.replay.workers = 3;
    fx->scn.replay.pace_ns = 40 * NS_PER_MS;
    fx_start_sim(fx);
    fx_replay(fx);
    fx_load(fx);

    /* The first request of each operation carries its pace slot. */
    for (int64_t id = 1; id <= 6; id++) {
        size_t rows[8];
        assert_int_equal(req_rows_of(fx, id, rows, 8), 2);
        intended[n++] = req_int(fx, rows[0], "intended_wall_ns");
        assert_true(req_int(fx, rows[0], "send_wall_ns") >=
                    intended[n - 1] - 5 * NS_PER_MS);
    }
    /* Slots are handed out in op order, at least pace apart. */
    for (size_t k = 1; k < n; k++)
        if (intended[k] - intended[k - 1] < 40 * NS_PER_MS)
            fail_msg("ops %zu and %zu intended %lld ns apart", k, k + 1,
                     (long long)(intended[k] - intended[k - 1]));
}

static void absolute_time_in_the_past_is_refused(void **state)
{
    struct fixture *fx = *state;
    struct replayer *rep = (struct replayer *)&rep;

    fx_sim_config(fx, 2);
    fx_scenario(fx, SCN_OP_USER_PATCH, SCN_STRATEGY_READ_MODIFY_WRITE);
    fx->scn.replay.at_absolute = 1;
    fx->scn.replay.at_wall_ns = clock_wall_ns() - NS_PER_S;
    fx_start_sim(fx);
    assert_int_equal(replay_start(&rep, &fx->h), RT_EINVAL);
    assert_null(rep);
    assert_int_equal(atomic_load(&fx->exchanges), 0);
}

static void absolute_time_starts_the_round_then(void **state)
{
    struct fixture *fx = *state;
    int64_t at = clock_wall_ns() + 300 * NS_PER_MS;

    fx_sim_config(fx, 2);
    fx_scenario(fx, SCN_OP_USER_PATCH, SCN_STRATEGY_READ_MODIFY_WRITE);
    fx->scn.replay.at_absolute = 1;
    fx->scn.replay.at_wall_ns = at;
    fx_start_sim(fx);
    fx_replay(fx);
    fx_load(fx);
    assert_int_equal(csvread_rows(fx->ops), 2);
    for (size_t r = 0; r < 2; r++)
        assert_true(op_int(fx, r, "start_wall_ns") >= at - 20 * NS_PER_MS);
}

static void blind_is_refused_for_versioned_operations(void **state)
{
    struct fixture *fx = *state;
    struct replayer *rep = NULL;

    fx_sim_config(fx, 2);
    fx_scenario(fx, SCN_OP_USER_PATCH, SCN_STRATEGY_BLIND);
    fx_start_sim(fx);
    assert_int_equal(replay_start(&rep, &fx->h), RT_EINVAL);
    assert_null(rep);
    fx->scn.replay.operation = SCN_OP_TEMPLATE;
    assert_int_equal(replay_start(&rep, &fx->h), RT_EINVAL);
}

static void a_stop_ends_the_replay_and_records_what_started(void **state)
{
    struct fixture *fx = *state;
    struct replayer *rep = NULL;

    fx_sim_config(fx, AGENTS);
    fx_scenario(fx, SCN_OP_USER_PATCH, SCN_STRATEGY_READ_MODIFY_WRITE);
    fx->scn.replay.workers = 1;
    fx_start_sim(fx);
    /* Exchange 3 is op 2's read: the run stops right after it. */
    fx->stop_after = 3;
    assert_int_equal(replay_start(&rep, &fx->h), RT_OK);
    replay_join(rep);
    fx_load(fx);

    assert_int_equal(csvread_rows(fx->ops), 2);
    assert_string_equal(op_field(fx, 0, "outcome"), "ok");
    assert_int_equal(op_int(fx, 1, "op_id"), 2);
    assert_string_equal(op_field(fx, 1, "outcome"), "error");
    assert_string_equal(op_field(fx, 1, "intent"),
                        "interrupted before the write");
    assert_int_equal(op_int(fx, 1, "attempts"), 0);
    assert_int_equal(atomic_load(&fx->h.counters.updates_done), 2);
    assert_int_equal(atomic_load(&fx->exchanges), 3);
}

/* ------------------------------------------------------------------ */
/* Lost replies                                                        */

static void lost_replies_are_unknown_without_retry(void **state)
{
    struct fixture *fx = *state;

    fx_sim_config(fx, 4);
    fx->cfg.world.fault_lost_response = 1.0;
    fx_scenario(fx, SCN_OP_USER_PATCH, SCN_STRATEGY_READ_MODIFY_WRITE);
    fx_start_sim(fx);
    fx_replay(fx);
    fx_load(fx);

    for (size_t i = 0; i < 4; i++) {
        size_t r = op_row_of(fx, i);
        assert_string_equal(op_field(fx, r, "outcome"), "unknown");
        assert_int_equal(op_int(fx, r, "attempts"), 1);
        assert_int_equal(op_int(fx, r, "last_status"), 0);
        /* It did land. */
        assert_department(fx, i, "Contact Center (racetrace)", 2);
    }
    assert_int_equal(atomic_load(&fx->h.counters.ops_unknown), 4);
}

static void retry_learns_from_a_reread_that_a_lost_write_landed(void **state)
{
    struct fixture *fx = *state;

    fx_sim_config(fx, 4);
    fx->cfg.world.fault_lost_response = 1.0;
    fx_scenario(fx, SCN_OP_USER_PATCH, SCN_STRATEGY_RETRY);
    fx_start_sim(fx);
    fx_replay(fx);
    fx_load(fx);

    for (size_t i = 0; i < 4; i++) {
        size_t r = op_row_of(fx, i);
        assert_string_equal(op_field(fx, r, "outcome"), "ok");
        assert_int_equal(op_int(fx, r, "attempts"), 1);
        assert_string_equal(op_field(fx, r, "read_versions"), "1;2");
        assert_int_equal(op_int(fx, r, "final_version"), 2);
        assert_int_equal(op_int(fx, r, "requests"), 3);
        assert_int_equal(op_int(fx, r, "wasted_requests"), 1);
        assert_department(fx, i, "Contact Center (racetrace)", 2);
    }
}

/* ------------------------------------------------------------------ */
/* Throttling                                                          */

static void a_long_retry_after_gives_up(void **state)
{
    struct fixture *fx = *state;
    size_t r, rows[8];

    /* Five requests a minute: agents 0 and 1 use four, agent 2's read is
     * the fifth and its write the sixth, answered 429 with a Retry-After
     * of up to 60 s, above the 1 s limit set here. */
    fx_sim_config(fx, 3);
    fx->cfg.world.rate_limit_per_min = 5;
    fx_scenario(fx, SCN_OP_USER_PATCH, SCN_STRATEGY_RETRY);
    fx->scn.replay.workers = 1;
    fx->scn.replay.retry.give_up_retry_after_ns = NS_PER_S;
    fx_start_sim(fx);
    fx_replay(fx);
    fx_load(fx);

    assert_string_equal(op_field(fx, op_row_of(fx, 0), "outcome"), "ok");
    assert_string_equal(op_field(fx, op_row_of(fx, 1), "outcome"), "ok");
    r = op_row_of(fx, 2);
    assert_string_equal(op_field(fx, r, "outcome"), "gave_up");
    assert_int_equal(op_int(fx, r, "attempts"), 1);
    assert_int_equal(op_int(fx, r, "last_status"), 429);
    assert_int_equal(op_int(fx, r, "wasted_requests"), 2);
    assert_int_equal(req_rows_of(fx, op_int(fx, r, "op_id"), rows, 8), 2);
    assert_true(req_int(fx, rows[1], "retry_after_s") > 1);
    assert_int_equal(atomic_load(&fx->h.counters.ops_gave_up), 1);
}

#define USER_BODY(version, dept)                                               \
    "{\"id\":\"u-1\",\"version\":" #version ",\"department\":\"" dept "\"}"

static void retry_after_is_waited_before_the_same_write_again(void **state)
{
    struct fixture *fx = *state;
    struct mockhttp_response get = {0}, throttled = {0}, ok = {0};
    const struct mockhttp_request *sent;
    size_t r, rows[8];
    int64_t earliest;

    get.method = "GET";
    get.path = "/api/v2/users/u-1";
    get.times = MOCKHTTP_FOREVER;
    get.body = USER_BODY(7, "Ops");
    throttled.method = "PATCH";
    throttled.status = 429;
    throttled.headers[0] = "Retry-After: 1";
    throttled.body = "{\"message\":\"Rate limit exceeded the maximum. Retry "
                     "the request in [1] seconds\",\"code\":"
                     "\"too.many.requests.retry.after\",\"status\":429}";
    ok.method = "PATCH";
    ok.times = MOCKHTTP_FOREVER;
    ok.body = USER_BODY(8, "Ops (racetrace)");

    fx_scenario(fx, SCN_OP_USER_PATCH, SCN_STRATEGY_RETRY);
    fx_start_mock(fx, "u-1");
    mockhttp_script(fx->mock, &get);
    mockhttp_script(fx->mock, &throttled);
    mockhttp_script(fx->mock, &ok);
    fx_replay(fx);
    fx_load(fx);

    assert_int_equal(csvread_rows(fx->ops), 1);
    r = 0;
    assert_string_equal(op_field(fx, r, "outcome"), "ok");
    assert_int_equal(op_int(fx, r, "attempts"), 2);
    /* A 429 changed nothing: the same write went again, no re-read. */
    assert_string_equal(op_field(fx, r, "read_versions"), "7");
    assert_int_equal(op_int(fx, r, "final_version"), 8);
    assert_int_equal(op_int(fx, r, "requests"), 3);
    assert_int_equal(op_int(fx, r, "wasted_requests"), 1);
    assert_int_equal(req_rows_of(fx, 1, rows, 8), 3);
    assert_int_equal(req_int(fx, rows[1], "status"), 429);
    assert_int_equal(req_int(fx, rows[1], "retry_after_s"), 1);
    earliest = req_int(fx, rows[1], "recv_wall_ns") + NS_PER_S;
    if (req_int(fx, rows[2], "send_wall_ns") < earliest - 50 * NS_PER_MS)
        fail_msg("retried %lld ms after the 429, Retry-After was 1 s",
                 (long long)((req_int(fx, rows[2], "send_wall_ns") -
                              req_int(fx, rows[1], "recv_wall_ns")) /
                             NS_PER_MS));
    /* Both PATCHes carried the version read and the toggled value. */
    assert_int_equal(mockhttp_count_matching(fx->mock, "PATCH", NULL), 2);
    for (size_t k = 0; k < mockhttp_count(fx->mock); k++) {
        cJSON *body;
        sent = mockhttp_request(fx->mock, k);
        if (strcmp(sent->method, "PATCH"))
            continue;
        assert_non_null(body = cJSON_Parse(sent->body));
        assert_int_equal(cJSON_GetNumberValue(
                             cJSON_GetObjectItemCaseSensitive(body, "version")),
                         7);
        assert_string_equal(
            cJSON_GetObjectItemCaseSensitive(body, "department")->valuestring,
            "Ops (racetrace)");
        cJSON_Delete(body);
    }
}

static void an_agent_without_skills_is_an_error(void **state)
{
    struct fixture *fx = *state;
    struct mockhttp_response none = {0};

    none.method = "GET";
    none.path = "/api/v2/users/u-1/routingskills";
    none.times = MOCKHTTP_FOREVER;
    none.body = "{\"entities\":[],\"pageSize\":100,\"pageNumber\":1,"
                "\"total\":0}";
    fx_scenario(fx, SCN_OP_SKILLS_BULK_PATCH, SCN_STRATEGY_RETRY);
    fx_start_mock(fx, "u-1");
    mockhttp_script(fx->mock, &none);
    fx_replay(fx);
    fx_load(fx);

    assert_int_equal(csvread_rows(fx->ops), 1);
    assert_string_equal(op_field(fx, 0, "outcome"), "error");
    assert_string_equal(op_field(fx, 0, "intent"),
                        "the agent has no routing skill to change");
    assert_int_equal(op_int(fx, 0, "attempts"), 0);
    assert_int_equal(op_int(fx, 0, "requests"), 1);
    assert_int_equal(mockhttp_count_matching(fx->mock, "PATCH", NULL), 0);
}

/* ------------------------------------------------------------------ */
/* Unversioned operations                                              */

static int64_t call_capacity(struct fixture *fx, size_t i, int64_t *chat)
{
    cJSON *u = org_utilization_json(sim_org(fx->sim), i);
    const cJSON *util = cJSON_GetObjectItemCaseSensitive(u, "utilization");
    int64_t cap =
        (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(util, "call"), "maximumCapacity"));

    *chat = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(util, "chat"), "maximumCapacity"));
    cJSON_Delete(u);
    return cap;
}

static void utilization_put_toggles_call_capacity_and_back(void **state)
{
    struct fixture *fx = *state;
    int64_t chat0[6], chat;

    fx_sim_config(fx, 6);
    fx_scenario(fx, SCN_OP_UTILIZATION_PUT, SCN_STRATEGY_READ_MODIFY_WRITE);
    fx_start_sim(fx);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(call_capacity(fx, i, &chat0[i]), 1);
    fx_replay(fx);
    fx_load(fx);
    for (size_t i = 0; i < 6; i++) {
        size_t r = op_row_of(fx, i);
        assert_string_equal(op_field(fx, r, "outcome"), "ok");
        assert_int_equal(op_int(fx, r, "read_version"), -1);
        assert_int_equal(op_int(fx, r, "final_version"), -1);
        assert_string_equal(op_field(fx, r, "intent"),
                            "utilization.call.maximumCapacity=2");
        assert_int_equal(call_capacity(fx, i, &chat), 2);
        /* The other media types were sent back as read. */
        assert_int_equal(chat, chat0[i]);
    }
    fx_replay(fx);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(call_capacity(fx, i, &chat), 1);
        assert_int_equal(chat, chat0[i]);
    }
}

/* The queue queue-join picks for agent @i: the member queue with the
 * smallest id; its joined state in *joined. */
static size_t expected_queue(struct fixture *fx, size_t i, int *joined)
{
    struct sim_org *org = sim_org(fx->sim);
    size_t nq = org_queue_count(org), best = SIZE_MAX;
    char best_id[64] = "";

    for (size_t q = 0; q < nq; q++) {
        cJSON *o;
        const char *id;
        if (!org_is_member(org, i, q, NULL))
            continue;
        o = org_queue_json(org, q);
        id = cJSON_GetObjectItemCaseSensitive(o, "id")->valuestring;
        if (best == SIZE_MAX || strcmp(id, best_id) < 0) {
            best = q;
            snprintf(best_id, sizeof(best_id), "%s", id);
        }
        cJSON_Delete(o);
    }
    if (best == SIZE_MAX)
        fail_msg("agent %zu is in no queue", i);
    org_is_member(org, i, best, joined);
    return best;
}

static void queue_join_flips_one_membership_and_back(void **state)
{
    struct fixture *fx = *state;
    struct sim_org *org;
    size_t target[8];
    int before[8], joined;

    fx_sim_config(fx, 8);
    fx->cfg.world.on_queue_share = 0.5;
    fx_scenario(fx, SCN_OP_QUEUE_JOIN, SCN_STRATEGY_READ_MODIFY_WRITE);
    fx_start_sim(fx);
    org = sim_org(fx->sim);
    for (size_t i = 0; i < 8; i++)
        target[i] = expected_queue(fx, i, &before[i]);
    fx_replay(fx);
    fx_load(fx);
    for (size_t i = 0; i < 8; i++) {
        size_t r = op_row_of(fx, i);
        cJSON *q = org_queue_json(org, target[i]);
        char intent[160];

        snprintf(intent, sizeof(intent), "queue_joined.%s=%s",
                 cJSON_GetObjectItemCaseSensitive(q, "id")->valuestring,
                 before[i] ? "false" : "true");
        cJSON_Delete(q);
        assert_string_equal(op_field(fx, r, "outcome"), "ok");
        assert_string_equal(op_field(fx, r, "intent"), intent);
        /* Both lists are read, then one write. */
        assert_int_equal(op_int(fx, r, "requests"), 3);
        assert_true(org_is_member(org, i, target[i], &joined));
        assert_int_equal(joined, !before[i]);
    }
    fx_replay(fx);
    for (size_t i = 0; i < 8; i++) {
        assert_true(org_is_member(org, i, target[i], &joined));
        assert_int_equal(joined, before[i]);
    }
}

/* The first skill of agent @i and its proficiency. */
static double first_skill(struct fixture *fx, size_t i, char *id, size_t cap)
{
    cJSON *skills = org_user_skills_json(sim_org(fx->sim), i);
    const cJSON *s = cJSON_GetArrayItem(skills, 0);
    double p;

    assert_non_null(s);
    snprintf(id, cap, "%s",
             cJSON_GetObjectItemCaseSensitive(s, "id")->valuestring);
    p = cJSON_GetNumberValue(
        cJSON_GetObjectItemCaseSensitive(s, "proficiency"));
    cJSON_Delete(skills);
    return p;
}

static void skills_bulk_patch_toggles_one_proficiency_and_back(void **state)
{
    struct fixture *fx = *state;
    double before[6];
    char ids[6][64], now_id[64], intent[128];

    fx_sim_config(fx, 6);
    fx_scenario(fx, SCN_OP_SKILLS_BULK_PATCH, SCN_STRATEGY_RETRY);
    fx_start_sim(fx);
    for (size_t i = 0; i < 6; i++)
        before[i] = first_skill(fx, i, ids[i], sizeof(ids[i]));
    fx_replay(fx);
    fx_load(fx);
    for (size_t i = 0; i < 6; i++) {
        size_t r = op_row_of(fx, i);
        double want = replay_toggle_proficiency(before[i]);
        assert_string_equal(op_field(fx, r, "outcome"), "ok");
        snprintf(intent, sizeof(intent), "skill.%s=%g", ids[i], want);
        assert_string_equal(op_field(fx, r, "intent"), intent);
        assert_true(first_skill(fx, i, now_id, sizeof(now_id)) == want);
        assert_string_equal(now_id, ids[i]);
    }
    fx_replay(fx);
    for (size_t i = 0; i < 6; i++)
        assert_true(first_skill(fx, i, now_id, sizeof(now_id)) == before[i]);
}

static void blind_writes_without_reading_after_one_discovery(void **state)
{
    struct fixture *fx = *state;
    int64_t chat, discovery = 0, writes = 0;

    fx_sim_config(fx, 5);
    fx_scenario(fx, SCN_OP_UTILIZATION_PUT, SCN_STRATEGY_BLIND);
    fx->scn.replay.repeat_times = 2;
    fx->scn.replay.repeat_every_ns = 10 * NS_PER_MS;
    fx_start_sim(fx);
    fx_replay(fx);
    fx_load(fx);

    assert_int_equal(csvread_rows(fx->ops), 10);
    for (size_t r = 0; r < 10; r++) {
        assert_string_equal(op_field(fx, r, "outcome"), "ok");
        assert_string_equal(op_field(fx, r, "strategy"), "blind");
        assert_int_equal(op_int(fx, r, "requests"), 1);
        assert_int_equal(op_int(fx, r, "wasted_requests"), 0);
        assert_true(op_int(fx, r, "first_read_wall_ns") <= 0);
        assert_string_equal(op_field(fx, r, "intent"),
                            op_int(fx, r, "round") == 0
                                ? "utilization.call.maximumCapacity=2"
                                : "utilization.call.maximumCapacity=1");
    }
    /* One discovery GET per agent, outside any operation, then PUTs. */
    for (size_t r = 0; r < csvread_rows(fx->reqs); r++) {
        if (strcmp(req_field(fx, r, "role"), "replay"))
            continue;
        if (!strcmp(req_field(fx, r, "method"), "GET")) {
            assert_string_equal(req_field(fx, r, "op_id"), "");
            discovery++;
        } else {
            assert_string_equal(req_field(fx, r, "method"), "PUT");
            writes++;
        }
    }
    assert_int_equal(discovery, 5);
    assert_int_equal(writes, 10);
    /* Two rounds: back where it started. */
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(call_capacity(fx, i, &chat), 1);
}

static void template_writes_the_version_it_read(void **state)
{
    struct fixture *fx = *state;
    struct scn_template *t;
    size_t rows[8];

    fx_sim_config(fx, 3);
    fx_scenario(fx, SCN_OP_TEMPLATE, SCN_STRATEGY_RETRY);
    t = &fx->scn.replay.tmpl;
    snprintf(t->read_method, sizeof(t->read_method), "GET");
    snprintf(t->read_path, sizeof(t->read_path), "/api/v2/users/{id}");
    snprintf(t->write_method, sizeof(t->write_method), "PATCH");
    snprintf(t->write_path, sizeof(t->write_path), "/api/v2/users/{id}");
    t->write_body = cJSON_Parse("{\"version\":\"{version}\",\"title\":"
                                "\"Lead\",\"id\":\"{id}\"}");
    fx_start_sim(fx);
    atomic_store(&fx->bumps[1], 1);
    fx_replay(fx);
    fx_load(fx);

    for (size_t i = 0; i < 3; i++) {
        size_t r = op_row_of(fx, i);
        cJSON *u = org_user_json(sim_org(fx->sim), i, 0);
        int64_t v = i == 1 ? 3 : 2;

        assert_string_equal(op_field(fx, r, "outcome"), "ok");
        assert_int_equal(op_int(fx, r, "final_version"), v);
        assert_int_equal(op_int(fx, r, "attempts"), i == 1 ? 2 : 1);
        assert_true(strncmp(op_field(fx, r, "intent"), "body={", 6) == 0);
        assert_string_equal(
            cJSON_GetObjectItemCaseSensitive(u, "title")->valuestring, "Lead");
        assert_int_equal(cJSON_GetNumberValue(
                             cJSON_GetObjectItemCaseSensitive(u, "version")),
                         v);
        cJSON_Delete(u);
        assert_true(req_rows_of(fx, op_int(fx, r, "op_id"), rows, 8) >= 2);
        assert_int_equal(req_int(fx, rows[1], "version_sent"), 1);
    }
}

static void demand_counts_reads_and_writes(void **state)
{
    struct scenario scn;

    (void)state;
    scenario_defaults(&scn);
    scn.replay.operation = SCN_OP_USER_PATCH;
    scn.replay.strategies[0] = SCN_STRATEGY_BULK_STALE;
    scn.replay.strategies[1] = SCN_STRATEGY_RETRY;
    scn.replay.n_strategies = 2;
    scn.replay.repeat_times = 3;
    assert_true(replay_demand_requests(&scn, 10) == 2.0 * 2 * 10 * 3);
    scn.replay.operation = SCN_OP_QUEUE_JOIN;
    scn.replay.strategies[1] = SCN_STRATEGY_BLIND;
    /* bulk-stale 2 reads + 1 write, blind 1 write, plus 2 discovery reads
     * per agent once. */
    assert_true(replay_demand_requests(&scn, 10) == (3.0 + 1) * 10 * 3 + 20);
    /* Every update is an operation; discovery stays once per agent. */
    scn.replay.per_agent = 2;
    assert_true(replay_demand_requests(&scn, 10) ==
                (3.0 + 1) * 10 * 3 * 2 + 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(read_modify_write_on_a_quiet_org_writes_every_agent_once),
        T(bulk_stale_conflicts_where_another_writer_came_between),
        T(read_modify_write_does_not_retry_a_conflict),
        T(retry_rereads_and_succeeds_after_a_conflict),
        T(retry_gives_up_after_max_attempts),
        T(every_round_runs_every_strategy_over_every_agent),
        T(bulk_stale_conflicts_with_its_own_second_update),
        T(pacing_spaces_operation_starts),
        T(absolute_time_in_the_past_is_refused),
        T(absolute_time_starts_the_round_then),
        T(blind_is_refused_for_versioned_operations),
        T(a_stop_ends_the_replay_and_records_what_started),
        T(lost_replies_are_unknown_without_retry),
        T(retry_learns_from_a_reread_that_a_lost_write_landed),
        T(a_long_retry_after_gives_up),
        T(retry_after_is_waited_before_the_same_write_again),
        T(an_agent_without_skills_is_an_error),
        T(utilization_put_toggles_call_capacity_and_back),
        T(queue_join_flips_one_membership_and_back),
        T(skills_bulk_patch_toggles_one_proficiency_and_back),
        T(blind_writes_without_reading_after_one_discovery),
        T(template_writes_the_version_it_read),
        cmocka_unit_test(demand_counts_reads_and_writes),
#undef T
    };
    int rc;

    if (http_global_init())
        return 1;
    log_set_level(LOG_WARN);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    http_global_cleanup();
    return rc;
}
