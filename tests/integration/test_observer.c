/*
 * Observers against the embedded simulator, end to end over HTTP: a
 * routing-engine actor bumps every agent's version a few moments after
 * each interaction starts, the observers poll, and the recorded history
 * is scored against the simulator's truth.csv and server.csv:
 *
 *  1. coverage: every truth version bump inside the window where each
 *     agent was certainly sampled before and after it falls inside one
 *     observed change (old < v <= new, hidden bumps included), and inside
 *     that change's bracket [start, end];
 *  2. delay: the median of bracket end - truth time is at most half an
 *     interval plus twice the median request latency plus a tolerance
 *     (polling at random phase waits half an interval on average, then
 *     one request);
 *  3. accounting: every request the simulator logged is in requests.csv
 *     (by correlation id) and every recorded correlation id reached it;
 *  4. the observers' own counters agree with the files.
 *
 * Runs bulk mode over one chunk and over three chunks dealt to two
 * threads, and agent mode over three threads.  The run length is a
 * deadline, not synchronisation: the assertions hold for any length long
 * enough to give a window of several intervals, which is checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/http.h"
#include "api/oauth.h"
#include "api/ratelimit.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "support/csvread.h"
#include "harness/history.h"
#include "harness/observer.h"
#include "harness/scenario.h"
#include "harness/session.h"
#include "harness/tracker.h"
#include "sim/config.h"
#include "sim/org.h"
#include "sim/sim.h"

#define INTERVAL_NS (200 * NS_PER_MS)
#define RUN_NS (4 * NS_PER_S)
/* Margin for what happens between the test's clock reads and the
 * observers' own (thread start, the first token request). */
#define SLACK_NS (50 * NS_PER_MS)
#define DELAY_TOLERANCE_NS (INTERVAL_NS / 10)
/* Enough bumps (about 16 per agent) for the median delay to sit within a
 * few milliseconds of its expectation. */
#define AGENT_MODE_AGENTS 20

struct rig {
    char dir[64];
    struct sim *sim;
    struct scenario scn;
    int64_t start_wall_ns, stop_wall_ns;
    struct observers_stats st;
    struct tracker_stats ts;
    int64_t bumps_counter;
    size_t n_agents;
};

/* Run the observers for RUN_NS against a fresh simulator; leaves the
 * simulator's and the harness's files in r->dir. */
static void run(struct rig *r, enum scn_observe_mode mode, int64_t agents,
                int threads)
{
    struct sim_config cfg;
    struct sim_actor_config *a;
    struct harness h;
    struct oauth_cache_config ac;
    struct observers *obs = NULL;
    const struct sim_config *live;
    struct sim_org *org;

    memset(r, 0, sizeof(*r));
    snprintf(r->dir, sizeof(r->dir), "/tmp/rt-observer-XXXXXX");
    assert_non_null(mkdtemp(r->dir));

    sim_config_defaults(&cfg);
    cfg.port = 0;
    cfg.agents = agents;
    cfg.seed = 11;
    cfg.world.on_queue_share = 1.0;
    cfg.world.mean_idle_ns = 100 * NS_PER_MS;
    cfg.world.mean_handle_ns = 150 * NS_PER_MS;
    snprintf(cfg.log_dir, sizeof(cfg.log_dir), "%s", r->dir);
    a = &cfg.world.actors[cfg.world.n_actors++];
    memset(a, 0, sizeof(*a));
    a->kind = SIM_ACTOR_ROUTING_ENGINE;
    snprintf(a->name, sizeof(a->name), "routing-engine");
    snprintf(a->on[a->n_on++], SIM_NAME_MAX, "routing:INTERACTING");
    a->p = 1.0;
    a->share = 1.0;
    a->lag_lo_ns = 5 * NS_PER_MS;
    a->lag_hi_ns = 20 * NS_PER_MS;
    a->at_ns = -1;
    assert_int_equal(sim_start(&r->sim, &cfg), RT_OK);
    live = sim_config(r->sim);
    org = sim_org(r->sim);

    scenario_defaults(&r->scn);
    r->scn.seed = 5;
    r->scn.observe.mode = mode;
    r->scn.observe.threads = threads;
    r->scn.observe.interval_ns = INTERVAL_NS;

    harness_init(&h);
    h.scn = &r->scn;
    h.is_sim = 1;
    snprintf(h.api_url, sizeof(h.api_url), "%s", sim_url(r->sim));
    memset(&ac, 0, sizeof(ac));
    ac.login_url = sim_url(r->sim);
    ac.client_id = live->client_id;
    ac.client_secret = live->client_secret;
    ac.on_exchange = session_oauth_hook;
    assert_int_equal(oauth_cache_new(&h.auth, &ac), RT_OK);
    h.limiter = ratelimit_new(0, 0);
    assert_int_equal(history_open(&h.history, r->dir), RT_OK);
    h.n_agents = org_agent_count(org);
    h.agent_ids = xcalloc(h.n_agents, sizeof(char *));
    for (size_t i = 0; i < h.n_agents; i++)
        h.agent_ids[i] = xstrdup(org_agent_id(org, i));
    h.tracker = tracker_new(h.agent_ids, h.n_agents, h.history, "poll");
    r->n_agents = h.n_agents;
    h.start_mono_ns = clock_mono_ns();
    h.start_wall_ns = clock_wall_ns();

    r->start_wall_ns = clock_wall_ns();
    assert_int_equal(observers_start(&obs, &h, INTERVAL_NS), RT_OK);
    harness_wait_until(&h, clock_mono_ns() + RUN_NS);
    r->stop_wall_ns = clock_wall_ns();
    harness_stop(&h);
    observers_join_stats(obs, &r->st);
    tracker_stats(h.tracker, &r->ts);
    r->bumps_counter = atomic_load(&h.counters.bumps);

    assert_int_equal(history_close(h.history), RT_OK);
    tracker_free(h.tracker);
    ratelimit_free(h.limiter);
    oauth_cache_free(h.auth);
    harness_release(&h);
    sim_stop(r->sim); /* flushes truth.csv and server.csv */
    r->sim = NULL;
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

static void cleanup(struct rig *r)
{
    static const char *const files[] = {"truth.csv", "server.csv",
                                        "requests.csv", "observations.csv",
                                        "operations.csv"};
    char path[128];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", r->dir, files[i]);
        unlink(path);
    }
    rmdir(r->dir);
}

static int col(const struct csvread *c, const char *name)
{
    int k = csvread_col(c, name);

    if (k < 0)
        fail_msg("no column '%s'", name);
    return k;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int64_t median(int64_t *v, size_t n)
{
    assert_true(n > 0);
    qsort(v, n, sizeof(*v), cmp_i64);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* An observed version change, for lookups by agent. */
struct change {
    const char *agent;
    int64_t old_v, new_v, start_ns, end_ns;
};

static int cmp_change(const void *a, const void *b)
{
    const struct change *x = a, *y = b;
    int c = strcmp(x->agent, y->agent);

    return c ? c : (x->old_v > y->old_v) - (x->old_v < y->old_v);
}

/* First change of @agent in sorted @ch, or NULL. */
static const struct change *first_of(const struct change *ch, size_t n,
                                     const char *agent)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ch[mid].agent, agent) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && !strcmp(ch[lo].agent, agent) ? &ch[lo] : NULL;
}

/* Request latencies of the observers' rows, and their accounting. */
struct latency {
    int64_t median_ns;
    int64_t max_intended_ns;
    size_t observe_rows;
};

static void read_requests(const struct rig *r, const struct csvread *req,
                          enum scn_observe_mode mode, struct latency *out)
{
    int c_role = col(req, "role"), c_route = col(req, "route");
    int c_lat = col(req, "latency_ns"), c_li = col(req, "latency_intended_ns");
    int c_status = col(req, "status"), c_n = col(req, "agents_in_request");
    int c_agent = col(req, "agent");
    size_t rows = csvread_rows(req), n = 0;
    int64_t *lat = xcalloc(rows + 1, sizeof(*lat));

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < rows; i++) {
        int64_t li;

        if (strcmp(csvread_field(req, i, c_role), "observe"))
            continue;
        assert_int_equal(csvread_i64(req, i, c_status, 0), 200);
        if (mode == SCN_OBSERVE_BULK) {
            int64_t k = csvread_i64(req, i, c_n, -1);
            assert_string_equal(csvread_field(req, i, c_route),
                                "/api/v2/users?id={ids}");
            assert_true(k >= 1 && k <= OBSERVER_CHUNK_MAX);
            assert_string_equal(csvread_field(req, i, c_agent), "");
        } else {
            assert_string_equal(csvread_field(req, i, c_route),
                                "/api/v2/users/{id}");
            assert_int_equal(strlen(csvread_field(req, i, c_agent)), 36);
        }
        lat[n++] = csvread_i64(req, i, c_lat, -1);
        li = csvread_i64(req, i, c_li, -1);
        assert_true(lat[n - 1] > 0 && li >= lat[n - 1] - NS_PER_MS);
        if (li > out->max_intended_ns)
            out->max_intended_ns = li;
    }
    out->observe_rows = n;
    out->median_ns = median(lat, n);
    free(lat);
    (void)r;
}

/* Checks 1 and 2. */
static void score_truth(const struct rig *r, const struct latency *lat)
{
    struct csvread *truth = load(r, "truth.csv");
    struct csvread *obs = load(r, "observations.csv");
    int t_agent = col(truth, "agent"), t_prop = col(truth, "property");
    int t_new = col(truth, "new"), t_cause = col(truth, "cause");
    int t_time = col(truth, "time_wall_ns");
    int o_agent = col(obs, "agent"), o_prop = col(obs, "property");
    int o_old = col(obs, "old"), o_new = col(obs, "new");
    int o_hidden = col(obs, "hidden");
    int o_start = col(obs, "bracket_start_wall_ns");
    int o_end = col(obs, "bracket_end_wall_ns");
    size_t n_ch = 0, n_truth = 0, n_covered = 0, n_delay = 0;
    struct change *ch = xcalloc(csvread_rows(obs) + 1, sizeof(*ch));
    int64_t *delay = xcalloc(csvread_rows(truth) + 1, sizeof(*delay));
    int64_t w0, w1, med, bound;
    double worst_agent = 1.0;
    const char *worst_id = "";

    /* Every agent was sampled for the first time by one interval plus
     * the worst lateness after the start, and for the last time no
     * earlier than one stretched interval plus twice that before the
     * stop (a late poll can reschedule from its end). */
    w0 = r->start_wall_ns + INTERVAL_NS + lat->max_intended_ns + SLACK_NS;
    w1 = r->stop_wall_ns -
         (int64_t)((double)INTERVAL_NS * (1 + r->scn.observe.jitter)) -
         2 * lat->max_intended_ns - SLACK_NS;
    if (w1 - w0 < 5 * INTERVAL_NS)
        fail_msg("window too short to score: %lld ms (worst lateness %lld ms)",
                 (long long)((w1 - w0) / NS_PER_MS),
                 (long long)(lat->max_intended_ns / NS_PER_MS));

    for (size_t i = 0; i < csvread_rows(obs); i++) {
        struct change *c;

        if (strcmp(csvread_field(obs, i, o_prop), "version"))
            continue;
        c = &ch[n_ch++];
        c->agent = csvread_field(obs, i, o_agent);
        c->old_v = csvread_i64(obs, i, o_old, -1);
        c->new_v = csvread_i64(obs, i, o_new, -1);
        c->start_ns = csvread_i64(obs, i, o_start, -1);
        c->end_ns = csvread_i64(obs, i, o_end, -1);
        assert_true(c->old_v >= 1 && c->new_v > c->old_v);
        assert_int_equal(csvread_i64(obs, i, o_hidden, -1),
                         c->new_v - c->old_v - 1);
        assert_true(c->start_ns > 0 && c->start_ns < c->end_ns);
    }
    qsort(ch, n_ch, sizeof(*ch), cmp_change);
    for (size_t i = 1; i < n_ch; i++)
        if (!strcmp(ch[i - 1].agent, ch[i].agent))
            assert_int_equal(ch[i - 1].new_v, ch[i].old_v); /* no gaps */

    /* Truth rows come grouped by nothing in particular; tally per agent
     * by walking each agent's rows in turn. */
    {
        const char **agents = xcalloc(r->n_agents + 1, sizeof(char *));
        size_t n_agents = 0;

        for (size_t i = 0; i < csvread_rows(truth); i++) {
            const char *id = csvread_field(truth, i, t_agent);
            int known = 0;
            for (size_t k = 0; k < n_agents && !known; k++)
                known = !strcmp(agents[k], id);
            if (!known && !strcmp(csvread_field(truth, i, t_prop), "version"))
                agents[n_agents++] = id;
            assert_true(n_agents <= r->n_agents);
        }
        for (size_t k = 0; k < n_agents; k++) {
            size_t total = 0, covered = 0;
            const struct change *first = first_of(ch, n_ch, agents[k]);

            for (size_t i = 0; i < csvread_rows(truth); i++) {
                int64_t t = csvread_i64(truth, i, t_time, 0), v;
                const struct change *c;

                if (strcmp(csvread_field(truth, i, t_agent), agents[k]) ||
                    strcmp(csvread_field(truth, i, t_prop), "version"))
                    continue;
                assert_string_equal(csvread_field(truth, i, t_cause),
                                    "routing-engine");
                if (t < w0 || t > w1)
                    continue;
                total++;
                v = csvread_i64(truth, i, t_new, -1);
                for (c = first;
                     c && c < ch + n_ch && !strcmp(c->agent, agents[k]); c++)
                    if (c->old_v < v && v <= c->new_v)
                        break;
                if (!c || c >= ch + n_ch || strcmp(c->agent, agents[k]))
                    continue;
                covered++;
                /* The bump happened after the last read of the old
                 * version and before the answer with the new one. */
                if (t < c->start_ns || t > c->end_ns)
                    fail_msg("agent %s version %lld at %lld outside its "
                             "bracket [%lld, %lld]",
                             agents[k], (long long)v, (long long)t,
                             (long long)c->start_ns, (long long)c->end_ns);
                delay[n_delay++] = c->end_ns - t;
            }
            n_truth += total;
            n_covered += covered;
            if (total && (double)covered / (double)total < worst_agent) {
                worst_agent = (double)covered / (double)total;
                worst_id = agents[k];
            }
        }
        assert_int_equal(n_agents, r->n_agents);
        free(agents);
    }

    med = median(delay, n_delay);
    bound = INTERVAL_NS / 2 + 2 * lat->median_ns + DELAY_TOLERANCE_NS;
    print_message("      %zu agents, window %lld ms: %zu of %zu truth bumps "
                  "observed (%.2f%%), worst agent %.2f%%\n",
                  r->n_agents, (long long)((w1 - w0) / NS_PER_MS), n_covered,
                  n_truth, 100.0 * (double)n_covered / (double)n_truth,
                  100.0 * worst_agent);
    print_message("      median detection delay %.1f ms, bound %.1f ms "
                  "(median request latency %.2f ms, worst lateness %.1f ms)\n",
                  (double)med / 1e6, (double)bound / 1e6,
                  (double)lat->median_ns / 1e6,
                  (double)lat->max_intended_ns / 1e6);
    /* Enough bumps in the window to make the percentages mean
     * something: about one per 250 ms per agent. */
    assert_true(n_truth >= 5 * r->n_agents);
    if (worst_agent < 0.99)
        fail_msg("agent %s: only %.2f%% of its bumps observed", worst_id,
                 100.0 * worst_agent);
    if (med > bound)
        fail_msg("median delay %lld ns above bound %lld ns", (long long)med,
                 (long long)bound);
    free(ch);
    free(delay);
    csvread_free(truth);
    csvread_free(obs);
}

/* Check 3: correlation ids, both ways. */
static void score_accounting(const struct rig *r)
{
    struct csvread *srv = load(r, "server.csv");
    struct csvread *req = load(r, "requests.csv");
    int s_id = col(srv, "correlation_id"), q_id = col(req, "correlation_id");
    size_t ns = csvread_rows(srv), nq = csvread_rows(req);
    const char **a = xcalloc(ns + 1, sizeof(char *));
    const char **b = xcalloc(nq + 1, sizeof(char *));

    for (size_t i = 0; i < ns; i++) {
        a[i] = csvread_field(srv, i, s_id);
        assert_true(a[i][0] != '\0');
    }
    for (size_t i = 0; i < nq; i++)
        b[i] = csvread_field(req, i, q_id);
    qsort(a, ns, sizeof(*a), cmp_str);
    qsort(b, nq, sizeof(*b), cmp_str);
    print_message("      server.csv %zu requests, requests.csv %zu rows\n", ns,
                  nq);
    for (size_t i = 0; i < ns; i++)
        if (!bsearch(&a[i], b, nq, sizeof(*b), cmp_str))
            fail_msg("server logged %s, requests.csv has no such row", a[i]);
    for (size_t i = 0; i < nq; i++)
        if (!bsearch(&b[i], a, ns, sizeof(*a), cmp_str))
            fail_msg("requests.csv has %s, the server never saw it", b[i]);
    assert_int_equal(ns, nq);
    free(a);
    free(b);
    csvread_free(srv);
    csvread_free(req);
}

/* Check 4, then 1 to 3. */
static void score(struct rig *r, enum scn_observe_mode mode)
{
    struct csvread *req = load(r, "requests.csv");
    struct latency lat;

    read_requests(r, req, mode, &lat);
    assert_int_equal(r->st.requests, (int64_t)lat.observe_rows);
    assert_int_equal(r->st.failed, 0);
    assert_int_equal(r->st.unparsable, 0);
    assert_int_equal(r->st.missing, 0);
    assert_int_equal(r->st.foreign, 0);
    assert_int_equal(r->st.samples, r->ts.samples);
    assert_true(r->st.samples >= (int64_t)r->n_agents);
    assert_int_equal(r->bumps_counter,
                     r->ts.version_changes + r->ts.hidden_bumps);
    assert_true(r->ts.version_changes > 0);
    if (mode == SCN_OBSERVE_BULK)
        /* Every answer held its whole chunk. */
        assert_true(r->st.samples >= (int64_t)lat.observe_rows);
    else
        assert_int_equal(r->st.samples, (int64_t)lat.observe_rows);
    csvread_free(req);

    score_truth(r, &lat);
    score_accounting(r);
}

static void bulk_one_chunk_sees_every_bump(void **state)
{
    struct rig r;

    (void)state;
    run(&r, SCN_OBSERVE_BULK, 30, 2);
    score(&r, SCN_OBSERVE_BULK);
    cleanup(&r);
}

/* 230 agents: three balanced chunks (77, 77, 76), two threads. */
static void bulk_three_chunks_on_two_threads_see_every_bump(void **state)
{
    struct rig r;
    struct csvread *req;
    size_t sizes[3] = {0};

    (void)state;
    run(&r, SCN_OBSERVE_BULK, 230, 2);
    score(&r, SCN_OBSERVE_BULK);
    req = load(&r, "requests.csv");
    for (size_t i = 0; i < csvread_rows(req); i++) {
        int64_t k = csvread_i64(req, i, col(req, "agents_in_request"), -1);
        if (k == 77)
            sizes[0]++;
        else if (k == 76)
            sizes[1]++;
        else if (k != -1)
            sizes[2]++;
    }
    /* Two chunks of 77 and one of 76, polled at the same rate. */
    assert_int_equal(sizes[2], 0);
    assert_true(sizes[1] > 0 && sizes[0] > sizes[1]);
    csvread_free(req);
    cleanup(&r);
}

static void agent_mode_polls_each_agent_once_per_interval(void **state)
{
    struct rig r;
    struct csvread *req;
    int64_t expect = RUN_NS / INTERVAL_NS;

    (void)state;
    run(&r, SCN_OBSERVE_AGENT, AGENT_MODE_AGENTS, 3);
    score(&r, SCN_OBSERVE_AGENT);
    /* Each agent about once per interval: never a burst (well under two
     * polls per interval) and never left behind. */
    req = load(&r, "requests.csv");
    {
        int c_agent = col(req, "agent"), c_role = col(req, "role");
        const char *ids[AGENT_MODE_AGENTS];
        int64_t n[AGENT_MODE_AGENTS] = {0}, lo, hi;
        size_t k = 0;

        for (size_t i = 0; i < csvread_rows(req); i++) {
            const char *id = csvread_field(req, i, c_agent);
            size_t j;

            if (strcmp(csvread_field(req, i, c_role), "observe"))
                continue;
            for (j = 0; j < k && strcmp(ids[j], id); j++)
                ;
            if (j == k) {
                assert_true(k < AGENT_MODE_AGENTS);
                ids[k++] = id;
            }
            n[j]++;
        }
        assert_int_equal(k, AGENT_MODE_AGENTS);
        lo = hi = n[0];
        for (size_t j = 1; j < k; j++) {
            lo = n[j] < lo ? n[j] : lo;
            hi = n[j] > hi ? n[j] : hi;
        }
        print_message("      polls per agent %lld..%lld in %lld intervals\n",
                      (long long)lo, (long long)hi, (long long)expect);
        assert_true(lo >= expect * 6 / 10 && hi <= expect * 3 / 2);
    }
    csvread_free(req);
    cleanup(&r);
}

static int setup(void **state)
{
    (void)state;
    return http_global_init() == RT_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    http_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bulk_one_chunk_sees_every_bump),
        cmocka_unit_test(bulk_three_chunks_on_two_threads_see_every_bump),
        cmocka_unit_test(agent_mode_polls_each_agent_once_per_interval),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
