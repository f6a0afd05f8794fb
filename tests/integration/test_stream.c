/*
 * The notifications stream against the embedded simulator, end to end:
 * REST channels and subscriptions, the simulator's WebSocket server, the
 * stream's tracker and the history files.
 *
 * The world's own presence process is off and the test itself changes
 * agents (org_set_presence / org_set_routing, cause "test"), so it knows
 * every change the stream must see; each change alternates to a value
 * the agent does not have, so it is always one truth row.  Scoring, from
 * truth.csv and observations.csv after the run:
 *
 *  1. every test change is one stream observation (source "stream") with
 *     the same agent, property, old and new values, the server's time of
 *     the change (to the millisecond the API carries), and a bracket that
 *     ends no earlier than the change (the frame arrived after it);
 *  2. nothing else is observed;
 *  3. the stream's REST calls are in requests.csv under role "stream",
 *     each with the route template of its endpoint.
 *
 * Faults (world.notifications) are scheduled from the simulator's start;
 * the test waits for the simulator to apply them and for the stream to
 * reconnect (conditions, each with a deadline), then changes agents and
 * checks those changes arrive.  No change is made before the fault: on a
 * slow machine it could land in the fault's gap, where two changes of one
 * agent cancel out (what events before a fault look like is the first
 * test's business).  Gap bounds come from the test's own clock readings
 * around those waits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/oauth.h"
#include "api/ratelimit.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "harness/history.h"
#include "harness/observer.h"
#include "harness/scenario.h"
#include "harness/session.h"
#include "harness/stream.h"
#include "harness/tracker.h"
#include "sim/config.h"
#include "sim/notify.h"
#include "sim/org.h"
#include "sim/sim.h"
#include "support/csvread.h"
#include "support/files.h"
#include "support/mockhttp.h"

#define HEARTBEAT_NS (200 * NS_PER_MS)
#define SILENCE_NS (600 * NS_PER_MS)
/* The first fault time tried; see start_before_fault(). */
#define FAULT_AT_NS (1500 * NS_PER_MS)
#define FAULT_TRIES 4
/* Between rounds of changes: pacing, so one agent changes every ~100 ms. */
#define ROUND_NS (100 * NS_PER_MS)
/* Deadlines for conditions; reaching one is a failure, not a timing. */
#define WAIT_NS (30 * NS_PER_S)

struct rig {
    char dir[512];
    struct sim *sim;
    struct sim_org *org;
    struct scenario scn;
    struct harness h;
    struct stream *st;
    struct observers *obs;     /* when the test polls versions too */
    int64_t sim_start_mono_ns; /* read before sim_start */
    int64_t changes;           /* test changes made */
    struct stream_stats stats; /* after the stop */
};

struct faults {
    int64_t closing_at_ns, drop_at_ns, silent_at_ns; /* 0 = none */
    int64_t closing_grace_ns;
    int64_t at_ns; /* when the fault was scheduled, from the start */
};

static void start(struct rig *r, int64_t agents, const struct faults *f,
                  const char *extra_agent)
{
    struct sim_config cfg;
    const struct sim_config *live;
    struct oauth_cache_config ac;
    struct harness *h = &r->h;
    size_t n;

    memset(r, 0, sizeof(*r));
    assert_int_equal(files_scratch_dir(r->dir, sizeof(r->dir)), 0);

    sim_config_defaults(&cfg);
    cfg.port = 0;
    cfg.agents = agents;
    cfg.seed = 7;
    cfg.world.presence_enabled = 0; /* only the test moves agents */
    cfg.world.stream.heartbeat_ns = HEARTBEAT_NS;
    if (f) {
        if (f->closing_at_ns)
            cfg.world.stream.closing_at_ns[cfg.world.stream.n_closing++] =
                f->closing_at_ns;
        if (f->drop_at_ns)
            cfg.world.stream.drop_at_ns[cfg.world.stream.n_drop++] =
                f->drop_at_ns;
        if (f->silent_at_ns)
            cfg.world.stream.silent_at_ns[cfg.world.stream.n_silent++] =
                f->silent_at_ns;
        if (f->closing_grace_ns)
            cfg.world.stream.closing_grace_ns = f->closing_grace_ns;
    }
    snprintf(cfg.log_dir, sizeof(cfg.log_dir), "%s", r->dir);
    r->sim_start_mono_ns = clock_mono_ns();
    assert_int_equal(sim_start(&r->sim, &cfg), RT_OK);
    live = sim_config(r->sim);
    r->org = sim_org(r->sim);

    scenario_defaults(&r->scn);
    r->scn.seed = 3;
    r->scn.observe.presence_via = SCN_VIA_STREAM;
    r->scn.observe.presence_silence_ns = SILENCE_NS;

    harness_init(h);
    h->scn = &r->scn;
    h->is_sim = 1;
    snprintf(h->api_url, sizeof(h->api_url), "%s", sim_url(r->sim));
    memset(&ac, 0, sizeof(ac));
    ac.login_url = sim_url(r->sim);
    ac.client_id = live->client_id;
    ac.client_secret = live->client_secret;
    ac.on_exchange = session_oauth_hook;
    assert_int_equal(oauth_cache_new(&h->auth, &ac), RT_OK);
    h->limiter = ratelimit_new(0, 0);
    assert_int_equal(history_open(&h->history, r->dir), RT_OK);
    n = org_agent_count(r->org);
    h->n_agents = n + (extra_agent != NULL);
    h->agent_ids = xcalloc(h->n_agents, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        h->agent_ids[i] = xstrdup(org_agent_id(r->org, i));
    if (extra_agent)
        h->agent_ids[n] = xstrdup(extra_agent);
    h->tracker = tracker_new(h->agent_ids, h->n_agents, h->history, "poll");
    h->start_mono_ns = clock_mono_ns();
    h->start_wall_ns = clock_wall_ns();
    assert_int_equal(stream_start(&r->st, h), RT_OK);
}

static void stop(struct rig *r)
{
    struct harness *h = &r->h;

    harness_stop(h);
    observers_join(r->obs);
    r->obs = NULL;
    stream_join(r->st);
    stream_stats(r->st, &r->stats);
    stream_stop(r->st);
    r->st = NULL;
    assert_int_equal(history_close(h->history), RT_OK);
    tracker_free(h->tracker);
    ratelimit_free(h->limiter);
    oauth_cache_free(h->auth);
    harness_release(h);
    sim_stop(r->sim); /* flushes truth.csv */
    r->sim = NULL;
    print_message("      stream: %lld channels, %lld events, %lld heartbeats, "
                  "%lld closing, %lld drops, %lld silences, %lld reconnects, "
                  "%lld gaps (max %.1f ms), %lld re-read changes\n",
                  (long long)r->stats.channels, (long long)r->stats.events,
                  (long long)r->stats.heartbeats,
                  (long long)r->stats.socket_closing, (long long)r->stats.drops,
                  (long long)r->stats.silences, (long long)r->stats.reconnects,
                  (long long)r->stats.gaps, (double)r->stats.gap_max_ns / 1e6,
                  (long long)r->stats.reread_changes);
}

/*
 * Start with the fault of @f scheduled at @f->at_ns from the simulator's
 * start; the stream must be ready before it, or the fault finds no
 * socket.  On a machine too slow for that (sanitizers, a loaded box), the
 * run is thrown away and tried again with the fault twice as late: the
 * schedule adapts to the machine, the test never depends on its speed.
 */
static void start_before_fault(struct rig *r, struct faults *f)
{
    for (int k = 0; k < FAULT_TRIES; k++) {
        f->at_ns = FAULT_AT_NS << k;
        f->closing_at_ns = f->closing_at_ns ? f->at_ns : 0;
        f->drop_at_ns = f->drop_at_ns ? f->at_ns : 0;
        f->silent_at_ns = f->silent_at_ns ? f->at_ns : 0;
        start(r, 10, f, NULL);
        if (clock_mono_ns() < r->sim_start_mono_ns + f->at_ns)
            return;
        print_message("      the stream was ready after the fault at %lld ms; "
                      "again with the fault later\n",
                      (long long)(f->at_ns / NS_PER_MS));
        stop(r);
    }
    fail_msg("the stream was never ready before its fault");
}

/* ------------------------------------------------------------------ */
/* Changes and waits                                                   */

static const struct sim_writer test_writer = {.cause = "test"};

/* Change agent @i's presence and routing status, each to a value it does
 * not have: two truth rows. */
static void change(struct rig *r, size_t i)
{
    enum sim_presence p = org_presence(r->org, i) == SIM_PRESENCE_BUSY
                              ? SIM_PRESENCE_AWAY
                              : SIM_PRESENCE_BUSY;
    enum sim_routing s = org_routing(r->org, i) == SIM_ROUTING_INTERACTING
                             ? SIM_ROUTING_IDLE
                             : SIM_ROUTING_INTERACTING;

    org_set_presence(r->org, i, p, NULL, &test_writer);
    org_set_routing(r->org, i, s, &test_writer);
    r->changes += 2;
}

static int64_t observed(const struct stream_stats *s)
{
    return s->presence_changes + s->routing_changes;
}

static int all_observed(const struct stream_stats *s, void *ctx)
{
    return observed(s) >= *(const int64_t *)ctx;
}

/* Every change made so far has been recorded by the stream. */
static void wait_observed(struct rig *r)
{
    struct stream_stats s;

    if (!stream_wait(r->st, all_observed, &r->changes, WAIT_NS)) {
        stream_stats(r->st, &s);
        fail_msg("the stream recorded %lld of %lld changes",
                 (long long)observed(&s), (long long)r->changes);
    }
}

/* @rounds rounds over every simulated agent, paced, then wait for them. */
static void rounds(struct rig *r, int rounds)
{
    size_t n = org_agent_count(r->org);

    for (int k = 0; k < rounds; k++) {
        for (size_t i = 0; i < n; i++)
            change(r, i);
        harness_wait_until(&r->h, clock_mono_ns() + ROUND_NS);
    }
    wait_observed(r);
}

static int reconnected(const struct stream_stats *s, void *ctx)
{
    (void)ctx;
    return s->reconnects >= 1;
}

/* Reconnected, and the read after the gap (the seed was the first) is
 * done: a change made from now on is pushed, not merged into that read
 * with one made during the gap. */
static int read_back(const struct stream_stats *s, void *ctx)
{
    (void)ctx;
    return s->reconnects >= 1 && s->rereads >= 2;
}

/* The simulator applied its fault and the stream is back as @done says;
 * the time the test saw it, for gap bounds. */
static int64_t wait_fault_and_reconnect(struct rig *r, stream_done_fn done)
{
    if (!sim_notify_wait_faults(sim_notify(r->sim), 1, WAIT_NS))
        fail_msg("the simulator did not apply its fault");
    if (!stream_wait(r->st, done, NULL, WAIT_NS))
        fail_msg("the stream did not reconnect");
    return clock_mono_ns();
}

/* ------------------------------------------------------------------ */
/* Scoring                                                             */

static struct csvread *load(const struct rig *r, const char *name)
{
    char path[600];
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

/* Checks 1 and 2 over the stream's observations; returns how many came
 * from REST reads (request_seq set) rather than events. */
static size_t score(const struct rig *r)
{
    struct csvread *truth = load(r, "truth.csv");
    struct csvread *obs = load(r, "observations.csv");
    int t_time = col(truth, "time_wall_ns"), t_agent = col(truth, "agent");
    int t_prop = col(truth, "property"), t_old = col(truth, "old");
    int t_new = col(truth, "new"), t_cause = col(truth, "cause");
    int o_agent = col(obs, "agent"), o_prop = col(obs, "property");
    int o_old = col(obs, "old"), o_new = col(obs, "new");
    int o_server = col(obs, "server_wall_ns"), o_source = col(obs, "source");
    int o_end = col(obs, "bracket_end_wall_ns");
    int o_seq = col(obs, "request_seq");
    size_t n_obs = csvread_rows(obs), n_truth = 0, from_reads = 0;
    unsigned char *used = xcalloc(n_obs + 1, 1);

    for (size_t i = 0; i < csvread_rows(truth); i++) {
        const char *agent = csvread_field(truth, i, t_agent);
        const char *prop = csvread_field(truth, i, t_prop);
        int64_t t = csvread_i64(truth, i, t_time, 0);
        size_t k;

        if (strcmp(csvread_field(truth, i, t_cause), "test"))
            continue; /* the version writes of the polling test */
        assert_true(!strcmp(prop, "presence") ||
                    !strcmp(prop, "routing_status"));
        n_truth++;
        for (k = 0; k < n_obs; k++) {
            int64_t server = csvread_i64(obs, k, o_server, 0);

            if (used[k] || strcmp(csvread_field(obs, k, o_source), "stream") ||
                strcmp(csvread_field(obs, k, o_agent), agent) ||
                strcmp(csvread_field(obs, k, o_prop), prop) ||
                strcmp(csvread_field(obs, k, o_new),
                       csvread_field(truth, i, t_new)))
                continue;
            /* The API carries milliseconds. */
            if (server > t || t - server >= NS_PER_MS)
                continue;
            break;
        }
        if (k == n_obs)
            fail_msg("change of %s of agent %s to %s at %lld not observed",
                     prop, agent, csvread_field(truth, i, t_new), (long long)t);
        used[k] = 1;
        assert_string_equal(csvread_field(obs, k, o_source), "stream");
        assert_string_equal(csvread_field(obs, k, o_old),
                            csvread_field(truth, i, t_old));
        /* The frame (or the read) arrived after the change. */
        assert_true(csvread_i64(obs, k, o_end, 0) >= t);
        from_reads += csvread_i64(obs, k, o_seq, -1) >= 0;
    }
    for (size_t k = 0; k < n_obs; k++)
        if (!used[k] && !strcmp(csvread_field(obs, k, o_source), "stream"))
            fail_msg("observation %zu (%s of %s, %s -> %s, source %s) "
                     "matches no change",
                     k, csvread_field(obs, k, o_prop),
                     csvread_field(obs, k, o_agent),
                     csvread_field(obs, k, o_old), csvread_field(obs, k, o_new),
                     csvread_field(obs, k, o_source));
    assert_int_equal(n_truth, (size_t)r->changes);
    assert_int_equal(r->stats.presence_changes + r->stats.routing_changes,
                     r->changes);
    free(used);
    csvread_free(truth);
    csvread_free(obs);
    return from_reads;
}

/* Requests of role "stream": every one answered 200, by route. */
struct stream_requests {
    size_t channels, subscriptions, reads, agents_read;
};

static void stream_requests(const struct rig *r, struct stream_requests *out)
{
    struct csvread *req = load(r, "requests.csv");
    int c_role = col(req, "role"), c_route = col(req, "route");
    int c_method = col(req, "method"), c_status = col(req, "status");
    int c_n = col(req, "agents_in_request");

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < csvread_rows(req); i++) {
        const char *route = csvread_field(req, i, c_route);
        const char *method = csvread_field(req, i, c_method);

        if (strcmp(csvread_field(req, i, c_role), "stream"))
            continue;
        assert_int_equal(csvread_i64(req, i, c_status, 0), 200);
        if (!strcmp(method, "POST") &&
            !strcmp(route, "/api/v2/notifications/channels")) {
            out->channels++;
        } else if (!strcmp(method, "PUT") &&
                   !strcmp(route, "/api/v2/notifications/channels/"
                                  "{channelId}/subscriptions")) {
            out->subscriptions++;
        } else if (!strcmp(method, "GET") &&
                   !strcmp(route, "/api/v2/users?id={ids}")) {
            int64_t n = csvread_i64(req, i, c_n, -1);
            assert_true(n >= 1 && n <= 100);
            out->reads++;
            out->agents_read += (size_t)n;
        } else {
            fail_msg("unexpected stream request %s %s", method, route);
        }
    }
    csvread_free(req);
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void events_become_observations_with_server_times(void **state)
{
    struct rig r;
    struct stream_requests q;

    (void)state;
    start(&r, 20, NULL, NULL);
    rounds(&r, 5);
    stop(&r);
    assert_int_equal(score(&r), 0); /* all through events */
    assert_int_equal(r.stats.channels, 1);
    assert_int_equal(r.stats.channels_created, 1);
    assert_int_equal(r.stats.topics, 40);
    assert_int_equal(r.stats.topics_rejected, 0);
    assert_int_equal(r.stats.events, r.changes);
    assert_int_equal(r.stats.malformed, 0);
    assert_int_equal(r.stats.unknown_agent, 0);
    assert_int_equal(r.stats.drops + r.stats.silences + r.stats.gaps, 0);
    assert_int_equal(r.stats.rereads, 1); /* the seed */
    assert_int_equal(r.stats.reread_changes, 0);
    stream_requests(&r, &q);
    assert_int_equal(q.channels, 1);
    assert_int_equal(q.subscriptions, 1);
    assert_int_equal(q.reads, 1);
    assert_int_equal(q.agents_read, 20);
}

static void socket_closing_is_survived_without_a_gap(void **state)
{
    /* A grace far longer than making a channel and connecting takes, so
     * the old socket is replaced before the simulator cuts it. */
    struct faults f = {.closing_at_ns = FAULT_AT_NS,
                       .closing_grace_ns = 5 * NS_PER_S};
    struct rig r;
    struct stream_requests q;

    (void)state;
    start_before_fault(&r, &f);
    wait_fault_and_reconnect(&r, reconnected);
    rounds(&r, 2);
    stop(&r);
    assert_int_equal(score(&r), 0);
    assert_int_equal(r.stats.socket_closing, 1);
    assert_int_equal(r.stats.reconnects, 1);
    assert_int_equal(r.stats.channels_created, 2); /* make-before-break */
    assert_int_equal(r.stats.gaps, 0);
    assert_int_equal(r.stats.drops, 0);
    assert_int_equal(r.stats.events, r.changes);
    stream_requests(&r, &q);
    assert_int_equal(q.channels, 2);
    assert_int_equal(q.subscriptions, 2);
}

static void dropped_socket_is_reconnected_and_the_gap_counted(void **state)
{
    struct faults f = {.drop_at_ns = FAULT_AT_NS};
    struct rig r;
    int64_t back_mono_ns;

    (void)state;
    start_before_fault(&r, &f);
    back_mono_ns = wait_fault_and_reconnect(&r, read_back);
    rounds(&r, 2);
    stop(&r);
    /* Nothing changed during the gap: every change is pushed. */
    assert_int_equal(score(&r), 0);
    assert_int_equal(r.stats.reread_changes, 0);
    assert_int_equal(r.stats.drops, 1);
    assert_int_equal(r.stats.reconnects, 1);
    assert_int_equal(r.stats.gaps, 1);
    /* The gap began no earlier than the fault and ended before the test
     * saw the new socket. */
    assert_true(r.stats.gap_max_ns > 0);
    assert_true(r.stats.gap_max_ns <=
                back_mono_ns - (r.sim_start_mono_ns + f.at_ns));
    assert_int_equal(r.stats.rereads, 2); /* the seed and after the gap */
    assert_int_equal(r.stats.events, r.changes);
}

static int silent_seen(const struct stream_stats *s, void *ctx)
{
    (void)ctx;
    return s->silences >= 1;
}

static void silent_socket_is_replaced_and_the_gap_read_back(void **state)
{
    struct faults f = {.silent_at_ns = FAULT_AT_NS};
    struct stream_stats s;
    struct rig r;
    int64_t back_mono_ns, in_gap = -1;

    (void)state;
    start_before_fault(&r, &f);
    if (!sim_notify_wait_faults(sim_notify(r.sim), 1, WAIT_NS))
        fail_msg("the simulator did not apply its fault");
    /* The socket is silent: changes now are never pushed, and if the
     * stream still has not noticed once they are made (it reconnects only
     * after noticing), only the read after the gap can find them.  The
     * silence is far longer than making them, so that is the rule; when
     * it is not so, their count is not checked. */
    for (size_t i = 0; i < 3; i++)
        change(&r, i);
    stream_stats(r.st, &s);
    if (!s.silences)
        in_gap = 6;
    if (!stream_wait(r.st, silent_seen, NULL, WAIT_NS) ||
        !stream_wait(r.st, read_back, NULL, WAIT_NS))
        fail_msg("the stream did not notice the silence and reconnect");
    back_mono_ns = clock_mono_ns();
    rounds(&r, 2);
    stop(&r);
    assert_int_equal(score(&r), (size_t)r.stats.reread_changes);
    if (in_gap >= 0)
        assert_int_equal(r.stats.reread_changes, in_gap);
    assert_int_equal(r.stats.silences, 1);
    assert_int_equal(r.stats.reconnects, 1);
    assert_int_equal(r.stats.gaps, 1);
    assert_int_equal(r.stats.events + r.stats.reread_changes, r.changes);
    /* A silent socket is given the whole silence from its last frame... */
    assert_true(r.stats.gap_max_ns >= SILENCE_NS);
    /* ...and that frame came less than a silence (and a tick of the
     * stream's timer) before the fault, or the stream would have given up
     * on the socket before it and counted two silences. */
    assert_true(r.stats.gap_max_ns <=
                back_mono_ns - (r.sim_start_mono_ns + f.at_ns - SILENCE_NS -
                                HEARTBEAT_NS));
    assert_true(r.stats.pings >= 1); /* asked before giving up */
}

static void many_agents_are_spread_over_channels(void **state)
{
    struct rig r;
    struct stream_requests q;

    (void)state;
    start(&r, 600, NULL, NULL);
    rounds(&r, 1);
    stop(&r);
    assert_int_equal(score(&r), 0);
    assert_int_equal(r.stats.channels, 2);
    assert_int_equal(r.stats.channels_created, 2);
    assert_int_equal(r.stats.topics, 1200);
    stream_requests(&r, &q);
    assert_int_equal(q.channels, 2);
    assert_int_equal(q.subscriptions, 2);
    assert_int_equal(q.reads, 6);
    assert_int_equal(q.agents_read, 600);
}

static void rejected_topics_are_counted_not_fatal(void **state)
{
    struct rig r;

    (void)state;
    start(&r, 5, NULL, "00000000-0000-4000-8000-00000000dead");
    rounds(&r, 1);
    stop(&r);
    assert_int_equal(score(&r), 0);
    assert_int_equal(r.stats.topics, 12);
    assert_int_equal(r.stats.topics_rejected, 2);
}

static int64_t rows_where(const struct rig *r, const char *source,
                          const char *property)
{
    struct csvread *obs = load(r, "observations.csv");
    int c_source = col(obs, "source"), c_prop = col(obs, "property");
    int64_t n = 0;

    for (size_t k = 0; k < csvread_rows(obs); k++)
        n += !strcmp(csvread_field(obs, k, c_source), source) &&
             !strcmp(csvread_field(obs, k, c_prop), property);
    csvread_free(obs);
    return n;
}

/* The observers' samples reached a count (checked on each pass of the
 * stream's loop, which runs at least every few tens of milliseconds). */
struct polls {
    struct observers *obs;
    int64_t samples;
};

static int polled(const struct stream_stats *s, void *ctx)
{
    struct polls *p = ctx;
    struct observers_stats os;

    (void)s;
    observers_stats(p->obs, &os);
    return os.samples >= p->samples;
}

static void polls_leave_presence_to_the_stream(void **state)
{
    static const struct sim_writer versioner = {.cause = "test-version"};
    cJSON *fields = cJSON_CreateObject();
    struct observers_stats os;
    struct polls p;
    int64_t version, n;
    struct rig r;

    (void)state;
    start(&r, 5, NULL, NULL);
    n = (int64_t)org_agent_count(r.org);
    r.scn.observe.threads = 1;
    assert_int_equal(observers_start(&r.obs, &r.h, 20 * NS_PER_MS), RT_OK);
    /* Every agent polled once (one bulk chunk), so the bump below is a
     * change the polls must see. */
    p.obs = r.obs;
    p.samples = n;
    if (!stream_wait(r.st, polled, &p, WAIT_NS))
        fail_msg("the observers did not poll");
    rounds(&r, 2);
    cJSON_AddStringToObject(fields, "title", "bumped");
    for (size_t i = 0; i < (size_t)n; i++)
        assert_int_equal(org_user_patch(r.org, i, org_user_version(r.org, i),
                                        fields, &versioner, &version),
                         RT_OK);
    cJSON_Delete(fields);
    /* Two more whole polls: the second began after the bumps. */
    observers_stats(r.obs, &os);
    p.samples = os.samples + 2 * n;
    if (!stream_wait(r.st, polled, &p, WAIT_NS))
        fail_msg("the observers did not poll again");
    stop(&r);
    assert_int_equal(score(&r), 0);
    /* Presence and routing status come from the stream only. */
    assert_int_equal(rows_where(&r, "poll", "presence"), 0);
    assert_int_equal(rows_where(&r, "poll", "routing_status"), 0);
    assert_int_equal(rows_where(&r, "poll", "version"), n);
}

/* The polls' own requests, against a scripted API: no expand at all. */
static void poll_requests_ask_for_versions_only(void **state)
{
    static const char listing[] =
        "{\"entities\":[{\"id\":\"u1\",\"version\":3}],\"pageSize\":100}";
    static const enum scn_observe_mode modes[] = {SCN_OBSERVE_BULK,
                                                  SCN_OBSERVE_AGENT};
    struct mockhttp_response m;
    struct oauth_cache_config ac;
    struct observers *obs;
    struct scenario scn;
    struct harness h;

    (void)state;
    for (size_t k = 0; k < 2; k++) {
        struct mockhttp *api = mockhttp_start();
        const struct mockhttp_request *req;

        assert_non_null(api);
        memset(&m, 0, sizeof(m));
        m.method = "GET";
        m.times = MOCKHTTP_FOREVER;
        m.body = modes[k] == SCN_OBSERVE_BULK ? listing
                                              : "{\"id\":\"u1\",\"version\":3}";
        mockhttp_script(api, &m);
        scenario_defaults(&scn);
        scn.observe.mode = modes[k];
        scn.observe.threads = 1;
        scn.observe.presence_via = SCN_VIA_STREAM;
        harness_init(&h);
        h.scn = &scn;
        h.presence_streamed = 1; /* as stream_start() leaves it */
        snprintf(h.api_url, sizeof(h.api_url), "%s", mockhttp_url(api));
        memset(&ac, 0, sizeof(ac));
        ac.access_token = "test-token";
        ac.login_url = mockhttp_url(api);
        assert_int_equal(oauth_cache_new(&h.auth, &ac), RT_OK);
        h.n_agents = 1;
        h.agent_ids = xcalloc(1, sizeof(char *));
        h.agent_ids[0] = xstrdup("u1");
        h.tracker = tracker_new(h.agent_ids, 1, NULL, "poll");
        assert_int_equal(observers_start(&obs, &h, 10 * NS_PER_MS), RT_OK);
        mockhttp_wait_count(api, 2);
        harness_stop(&h);
        observers_join(obs);
        req = mockhttp_request(api, 0);
        assert_non_null(req);
        assert_null(strstr(req->url, "expand"));
        if (modes[k] == SCN_OBSERVE_BULK)
            assert_string_equal(req->url, "/api/v2/users?id=u1&pageSize=100");
        else
            assert_string_equal(req->url, "/api/v2/users/u1");
        tracker_free(h.tracker);
        oauth_cache_free(h.auth);
        harness_release(&h);
        mockhttp_free(api);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(events_become_observations_with_server_times),
        cmocka_unit_test(socket_closing_is_survived_without_a_gap),
        cmocka_unit_test(dropped_socket_is_reconnected_and_the_gap_counted),
        cmocka_unit_test(silent_socket_is_replaced_and_the_gap_read_back),
        cmocka_unit_test(many_agents_are_spread_over_channels),
        cmocka_unit_test(rejected_topics_are_counted_not_fatal),
        cmocka_unit_test(polls_leave_presence_to_the_stream),
        cmocka_unit_test(poll_requests_ask_for_versions_only),
    };
    int rc;

    if (files_scratch_begin("rt-stream"))
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    files_scratch_end();
    return rc;
}
