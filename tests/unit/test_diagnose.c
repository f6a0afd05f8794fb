/*
 * The diagnosis on small synthetic runs.  Each test writes a run directory
 * through the recorder's own writer (harness/history, so the columns are
 * the ones a real run has) plus a run.json, loads it with analysis/runload
 * and checks one behaviour of diagnose(): own vs foreign bumps, a planted
 * routing signal found with its lag, no writer, too little data, the
 * conflicts and their 2x2 table, the checker, determinism, parameters,
 * the state of an agent at a time, the audit trail's writers (one,
 * several, our own client left out or inferred, the tolerance, the
 * verdicts it names or does not), the merge of poll, stream and
 * analytics observations, and the audit's time of each write resolving
 * what a slow poll's brackets cannot (and a writer that follows a
 * transition named as its writer, not as another writer).  Audit
 * records are written to audit.csv in the recorder's columns through
 * base/csv.  Permutations are kept at 199 so the whole program runs in
 * well under two seconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "analysis/diagnose.h"
#include "analysis/runload.h"
#include "analysis/stats.h"
#include "base/csv.h"
#include "base/xalloc.h"
#include "harness/history.h"
#include "support/files.h"

#define T0 INT64_C(1800000000000000000)
#define MS INT64_C(1000000)

struct fx {
    char dir[512];
    struct history *h;
    struct runload *run;
    struct csv *audit;     /* audit.csv, opened by the first record */
    const char *client_id; /* run.json target.client_id, NULL: none */
};

static int setup_all(void **state)
{
    (void)state;
    return files_scratch_begin("rt-test-diagnose");
}

static int teardown_all(void **state)
{
    (void)state;
    return files_scratch_end();
}

static int setup(void **state)
{
    struct fx *fx = xcalloc(1, sizeof(*fx));

    if (files_scratch_dir(fx->dir, sizeof(fx->dir)) ||
        history_open(&fx->h, fx->dir)) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    history_close(fx->h);
    csv_abort(fx->audit);
    runload_free(fx->run);
    free(fx);
    return 0;
}

/* run.json as the harness writes it, reduced to what the loader reads. */
static void write_run_json(const struct fx *fx, int64_t end_ms)
{
    cJSON *o = cJSON_CreateObject(), *t;
    char path[600], *text;

    cJSON_AddStringToObject(o, "tool", "racetrace");
    cJSON_AddStringToObject(o, "version", "0.0.0-test");
    t = cJSON_AddObjectToObject(o, "target");
    cJSON_AddBoolToObject(t, "simulator", 0);
    if (fx->client_id)
        cJSON_AddStringToObject(t, "client_id", fx->client_id);
    cJSON_AddNumberToObject(o, "start_wall_ns", (double)T0);
    cJSON_AddNumberToObject(o, "end_wall_ns", (double)(T0 + end_ms * MS));
    cJSON_AddBoolToObject(o, "interrupted", 0);
    cJSON_AddObjectToObject(o, "scenario");
    text = cJSON_Print(o);
    snprintf(path, sizeof(path), "%s/run.json", fx->dir);
    files_write_text(path, text);
    free(text);
    cJSON_Delete(o);
}

/* Close the history, write run.json and load the run into fx->run. */
static const struct runload *finish(struct fx *fx, int64_t end_ms)
{
    assert_int_equal(history_close(fx->h), RT_OK);
    fx->h = NULL;
    if (fx->audit) {
        assert_int_equal(csv_close(fx->audit), RT_OK);
        fx->audit = NULL;
    }
    write_run_json(fx, end_ms);
    assert_int_equal(runload_load(&fx->run, fx->dir), RT_OK);
    return fx->run;
}

static void version_obs(struct fx *fx, const char *agent, int64_t old_v,
                        int64_t new_v, int64_t start_ms, int64_t end_ms)
{
    char o[24], n[24];
    struct history_observation ob = {
        .agent = agent,
        .property = "version",
        .old_value = o,
        .new_value = n,
        .bracket_start_wall_ns = T0 + start_ms * MS,
        .bracket_end_wall_ns = T0 + end_ms * MS,
        .source = "poll",
        .request_seq = -1,
        .hidden = new_v - old_v - 1,
    };

    snprintf(o, sizeof(o), "%lld", (long long)old_v);
    snprintf(n, sizeof(n), "%lld", (long long)new_v);
    history_observation(fx->h, &ob);
}

/* A presence or routing change; @server_ms 0 when the server gave no
 * time. */
static void state_obs(struct fx *fx, const char *agent, const char *prop,
                      const char *old_v, const char *new_v, int64_t start_ms,
                      int64_t end_ms, int64_t server_ms)
{
    struct history_observation ob = {
        .agent = agent,
        .property = prop,
        .old_value = old_v,
        .new_value = new_v,
        .bracket_start_wall_ns = T0 + start_ms * MS,
        .bracket_end_wall_ns = T0 + end_ms * MS,
        .server_wall_ns = server_ms ? T0 + server_ms * MS : 0,
        .source = "poll",
        .request_seq = -1,
    };
    history_observation(fx->h, &ob);
}

static void routing_obs(struct fx *fx, const char *agent, const char *old_v,
                        const char *new_v, int64_t at_ms)
{
    state_obs(fx, agent, "routing_status", old_v, new_v, at_ms - 100,
              at_ms + 100, at_ms);
}

/* A presence or routing change seen by @source ("stream", "analytics"):
 * the stream's bracket is the receive time, analytics' is the server
 * time itself. */
static void source_obs(struct fx *fx, const char *source, const char *agent,
                       const char *prop, const char *old_v, const char *new_v,
                       int64_t start_ms, int64_t end_ms, int64_t server_ms)
{
    struct history_observation ob = {
        .agent = agent,
        .property = prop,
        .old_value = old_v,
        .new_value = new_v,
        .bracket_start_wall_ns = T0 + start_ms * MS,
        .bracket_end_wall_ns = T0 + end_ms * MS,
        .server_wall_ns = server_ms ? T0 + server_ms * MS : 0,
        .source = source,
        .request_seq = -1,
    };
    history_observation(fx->h, &ob);
}

static void analytics_obs(struct fx *fx, const char *agent, const char *prop,
                          const char *old_v, const char *new_v, int64_t at_ms)
{
    source_obs(fx, "analytics", agent, prop, old_v, new_v, at_ms, at_ms, at_ms);
}

/* Who wrote an audit record (empty strings for what it does not say). */
struct who {
    const char *level, *user_id, *user_name, *client_id, *application;
};

static const struct who CRM = {"SYSTEM", "", "", "crm-sync-client", "CRM Sync"};
static const struct who JANE = {"USER", "u-jane", "Jane Doe", "ui-client", ""};
static const struct who OURS = {"SYSTEM", "", "", "racetrace-client", ""};
static const struct who ENGINE = {"SYSTEM", "", "", "", "routing-engine"};

/* One audit.csv row (the recorder's columns, written through base/csv). */
static void audit_row(struct fx *fx, const char *id, const char *agent,
                      int64_t at_ms, const struct who *w,
                      const char *entity_type, const char *status)
{
    static const char *const cols[] = {
        "audit_id",    "event_wall_ns", "event_iso",   "agent",
        "service",     "entity_type",   "action",      "level",
        "status",      "user_id",       "user_name",   "client_id",
        "application", "properties",    "changes_json"};
    struct csv_row row;

    if (!fx->audit)
        assert_int_equal(csv_open_in(&fx->audit, fx->dir, "audit.csv", cols,
                                     sizeof(cols) / sizeof(cols[0]),
                                     CSV_ATOMIC),
                         RT_OK);
    csv_row_init(&row);
    csv_row_str(&row, id);
    csv_row_i64(&row, T0 + at_ms * MS);
    csv_row_time(&row, T0 + at_ms * MS);
    csv_row_str(&row, agent);
    csv_row_str(&row, "Directory");
    csv_row_str(&row, entity_type);
    csv_row_str(&row, "Update");
    csv_row_str(&row, w->level);
    csv_row_str(&row, status);
    csv_row_str(&row, w->user_id);
    csv_row_str(&row, w->user_name);
    csv_row_str(&row, w->client_id);
    csv_row_str(&row, w->application);
    csv_row_str(&row, "version");
    csv_row_str(&row, "[{\"property\":\"version\"}]");
    assert_int_equal(csv_write_row(fx->audit, &row), RT_OK);
    csv_row_release(&row);
}

/* A successful update of a User by @w at @at_ms. */
static void audit_user(struct fx *fx, const char *id, const char *agent,
                       int64_t at_ms, const struct who *w)
{
    audit_row(fx, id, agent, at_ms, w, "User", "SUCCESS");
}

struct op_spec {
    int64_t op_id;
    const char *strategy;
    const char *agent;
    int64_t read_version; /* -1 unversioned */
    const char *outcome;
    int64_t final_version; /* -1 none */
    int64_t first_read_ms, last_write_ms;
};

static void operation(struct fx *fx, const struct op_spec *s)
{
    struct history_operation op = {
        .op_id = s->op_id,
        .round = 0,
        .strategy = s->strategy,
        .agent = s->agent,
        .read_version = s->read_version,
        .read_versions = "",
        .attempts = 1,
        .outcome = s->outcome,
        .final_version = s->final_version,
        .wasted_requests = 0,
        .requests = 2,
        .start_wall_ns = T0 + s->first_read_ms * MS,
        .first_read_wall_ns = T0 + s->first_read_ms * MS,
        .last_write_wall_ns = T0 + s->last_write_ms * MS,
        .end_wall_ns = T0 + (s->last_write_ms + 5) * MS,
        .last_status = 200,
        .last_correlation_id = "op-corr",
        .intent = "department=x",
    };
    history_operation(fx->h, &op);
}

/*
 * A request of @role to @agent sent at @send_ms: @status 200 is "ok",
 * 409 is "conflict", 0 is a request that timed out (no response);
 * @version_sent -1 for an unversioned request.
 */
static void request(struct fx *fx, const char *role, const char *agent,
                    int64_t op_id, int64_t version_sent, int status,
                    int64_t send_ms)
{
    struct history_request r = {
        .thread = 1,
        .role = role,
        .op_id = op_id,
        .agent = agent,
        .method = "PATCH",
        .route = "/api/v2/users/{id}",
        .intended_wall_ns = T0 + send_ms * MS,
        .send_wall_ns = T0 + send_ms * MS,
        .recv_wall_ns = T0 + (send_ms + 2) * MS,
        .send_mono_ns = send_ms * MS,
        .latency_ns = 2 * MS,
        .latency_intended_ns = 2 * MS,
        .status = status,
        .transport_error = status ? "" : "Timeout was reached",
        .error_code = status == 409 ? "general.conflict" : "",
        .kind = status == 409 ? "conflict"
                : status      ? "ok"
                              : "transport",
        .retry_after_s = -1,
        .ratelimit_count = -1,
        .ratelimit_allowed = -1,
        .ratelimit_reset = -1,
        .correlation_id = status == 409 ? "conflict-corr" : "write-corr",
        .version_sent = version_sent,
        .agents_in_request = -1,
    };
    history_request(fx->h, &r);
}

/* The job's write (role replay, PATCH). */
static void write_req(struct fx *fx, const char *agent, int64_t op_id,
                      int64_t version_sent, int status, int64_t send_ms)
{
    request(fx, "replay", agent, op_id, version_sent, status, send_ms);
}

static struct diag_params small_params(void)
{
    struct diag_params p;

    diagnose_params_default(&p);
    p.permutations = 199;
    return p;
}

static struct diagnosis *diagnose_ok(const struct runload *run)
{
    struct diag_params p = small_params();
    struct diagnosis *d = NULL;

    assert_int_equal(diagnose(run, NULL, &p, &d), RT_OK);
    assert_non_null(d);
    return d;
}

/* Index into d->bumps of the bump that created @version of @agent. */
static size_t bump_index(const struct diagnosis *d, const char *agent,
                         int64_t version)
{
    size_t a = runload_agent_index(d->run, agent);

    assert_int_not_equal(a, RUNLOAD_NONE);
    for (size_t i = 0; i < d->n_bumps; i++)
        if (d->bumps[i].b.agent == a && d->bumps[i].b.version == version)
            return i;
    fprintf(stderr, "no bump of version %lld of '%s'\n", (long long)version,
            agent);
    fail();
    return DIAG_NONE;
}

static void expect_bump(const struct diagnosis *d, const char *agent,
                        int64_t version, enum diag_attr attr,
                        enum runload_origin origin, int64_t t_ms)
{
    const struct diag_bump *b = &d->bumps[bump_index(d, agent, version)];

    if (b->attr != attr || b->b.origin != origin || b->t_ns != T0 + t_ms * MS) {
        fprintf(stderr,
                "'%s' version %lld: attr %s origin %d t %lld ms; want %s %d "
                "%lld ms\n",
                agent, (long long)version, diag_attr_name(b->attr),
                (int)b->b.origin, (long long)((b->t_ns - T0) / MS),
                diag_attr_name(attr), (int)origin, (long long)t_ms);
        fail();
    }
}

static const struct diag_signal *signal_named(const struct diagnosis *d,
                                              const char *name)
{
    for (size_t i = 0; i < d->n_signals; i++)
        if (!strcmp(d->signals[i].name, name))
            return &d->signals[i];
    return NULL;
}

static const struct diag_strategy *strategy_named(const struct diagnosis *d,
                                                  const char *name)
{
    for (size_t i = 0; i < d->n_strategies; i++)
        if (!strcmp(d->strategies[i].name, name))
            return &d->strategies[i];
    return NULL;
}

static const struct diag_conflict *conflict_of_op(const struct diagnosis *d,
                                                  int64_t op_id)
{
    for (size_t i = 0; i < d->n_conflicts; i++)
        if (d->conflicts[i].k->op_id == op_id)
            return &d->conflicts[i];
    fprintf(stderr, "no conflict of operation %lld\n", (long long)op_id);
    fail();
    return NULL;
}

/* ---- 1. own vs foreign ----------------------------------------------- */

static void own_writes_explain_their_bumps_and_the_rest_is_foreign(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    struct diagnosis *d;

    /* a: our write of 3 seen as 3 -> 4; then 4 -> 6 in one observation,
     * 5 by someone else (hidden), 6 by our write of 5. */
    write_req(fx, "a", 1, 3, 200, 1000);
    version_obs(fx, "a", 3, 4, 900, 1100);
    write_req(fx, "a", 2, 5, 200, 2100);
    version_obs(fx, "a", 4, 6, 2000, 2200);
    /* b: 1 -> 3 by someone else; a 409 sending 3 changed nothing; a
     * write of 3 sent after 3 -> 4 had been seen cannot have made 4. */
    version_obs(fx, "b", 1, 3, 500, 700);
    write_req(fx, "b", 3, 3, 409, 800);
    version_obs(fx, "b", 3, 4, 1000, 1200);
    write_req(fx, "b", 4, 3, 200, 3000);
    /* c: a write that got no response, and its version did appear. */
    write_req(fx, "c", 5, 1, 0, 500);
    version_obs(fx, "c", 1, 2, 400, 600);
    run = finish(fx, 5000);

    d = diagnose_ok(run);
    assert_int_equal(d->n_bumps, 7);
    expect_bump(d, "a", 4, DIAG_ATTR_OWN, RUNLOAD_OWN, 1100);
    expect_bump(d, "a", 5, DIAG_ATTR_UNEXPLAINED, RUNLOAD_FOREIGN, 2200);
    expect_bump(d, "a", 6, DIAG_ATTR_OWN, RUNLOAD_OWN, 2200);
    expect_bump(d, "b", 2, DIAG_ATTR_UNEXPLAINED, RUNLOAD_FOREIGN, 700);
    expect_bump(d, "b", 3, DIAG_ATTR_UNEXPLAINED, RUNLOAD_FOREIGN, 700);
    expect_bump(d, "b", 4, DIAG_ATTR_UNEXPLAINED, RUNLOAD_FOREIGN, 1200);
    expect_bump(d, "c", 2, DIAG_ATTR_OWN, RUNLOAD_OWN_UNCONFIRMED, 600);
    assert_true(d->bumps[bump_index(d, "a", 5)].b.hidden);
    assert_false(d->bumps[bump_index(d, "a", 6)].b.hidden);
    /* Counts agree with the bumps. */
    assert_int_equal(d->n_foreign, 4);
    assert_int_equal(d->raw.n_foreign, 4);
    assert_int_equal(d->raw.n_own, 2);
    assert_int_equal(d->raw.n_own_unconfirmed, 1);
    assert_int_equal(d->attr_counts[DIAG_ATTR_OWN], 3);
    assert_int_equal(d->attr_counts[DIAG_ATTR_UNEXPLAINED], 4);
    assert_int_equal(d->attr_counts[DIAG_ATTR_TRANSITION], 0);
    /* Nothing explains a foreign bump: no signal without transitions. */
    for (size_t i = 0; i < d->n_bumps; i++) {
        assert_int_equal(d->bumps[i].signal, DIAG_NONE);
        assert_int_equal(d->bumps[i].lag_ns, -1);
    }
    assert_int_equal(d->n_signals, 0);
    diagnose_free(d);
}

/* ---- 2. a planted routing signal ------------------------------------- */

#define PLANT_AGENTS 20
#define PLANT_CYCLES 6
#define PLANT_CYCLE_MS 60000
#define PLANT_IDLE_AFTER_MS 20000
#define PLANT_END_MS 400000
#define PLANT_SLOTS (PLANT_AGENTS * PLANT_CYCLES)

/* Every fifth (agent, cycle) slot has no bump: 80% do. */
static int plant_bumped(int slot)
{
    return slot % 5 != 4;
}

/* Lag of slot @slot's bump from its transition, 100..300 ms. */
static int64_t plant_lag_ms(int slot)
{
    return 100 + (slot * 37) % 201;
}

static int64_t plant_interacting_ms(int agent, int cycle)
{
    return 1000 + (agent * 7919) % 30000 + (int64_t)cycle * PLANT_CYCLE_MS;
}

/*
 * 20 agents, each going IDLE -> INTERACTING every minute (staggered per
 * agent) and back to IDLE 20 s later.  After 80% of the INTERACTING
 * transitions another writer bumps the version 100..300 ms later; the
 * observation's bracket is that instant +- 40 ms, so the bracket middle
 * is exactly the planted lag after the transition.  The IDLE transitions
 * are followed by nothing.  Returns the planted lags (caller frees).
 */
static double *plant_routing(struct fx *fx, size_t *n_lags)
{
    double *lags = xmalloc(PLANT_SLOTS * sizeof(*lags));
    size_t n = 0;

    for (int a = 0; a < PLANT_AGENTS; a++) {
        char id[32];
        int64_t v = 1;
        snprintf(id, sizeof(id), "agent-%02d", a);
        for (int c = 0; c < PLANT_CYCLES; c++) {
            int slot = a * PLANT_CYCLES + c;
            int64_t t = plant_interacting_ms(a, c);
            routing_obs(fx, id, "IDLE", "INTERACTING", t);
            if (plant_bumped(slot)) {
                int64_t at = t + plant_lag_ms(slot);
                version_obs(fx, id, v, v + 1, at - 40, at + 40);
                v++;
                lags[n++] = (double)(plant_lag_ms(slot) * MS);
            }
            routing_obs(fx, id, "INTERACTING", "IDLE", t + PLANT_IDLE_AFTER_MS);
        }
    }
    *n_lags = n;
    return lags;
}

/* Fail, printing both, unless |got - want| <= tol. */
static void expect_near(const char *what, double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol)) {
        fprintf(stderr, "%s: got %.17g, want %.17g (+- %g)\n", what, got, want,
                tol);
        fail();
    }
}

static void a_planted_routing_signal_is_found_with_its_lag(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    const struct diag_signal *inter, *idle;
    struct diagnosis *d;
    double *lags, *sorted, want_median;
    size_t n_lags;

    lags = plant_routing(fx, &n_lags);
    run = finish(fx, PLANT_END_MS);
    sorted = stats_sorted_copy(lags, n_lags);
    want_median = stats_median(sorted, n_lags);
    free(sorted);
    free(lags);
    assert_int_equal(n_lags, PLANT_SLOTS * 4 / 5);

    d = diagnose_ok(run);
    assert_int_equal(d->n_foreign, n_lags);
    assert_int_equal(d->n_routing, 2 * PLANT_SLOTS);
    assert_int_equal(d->n_presence, 0);

    /* The planted signal: every bump follows one, 80% of them are
     * followed, far above chance. */
    inter = signal_named(d, "routing:INTERACTING");
    assert_non_null(inter);
    assert_false(inter->is_presence);
    assert_string_equal(inter->to, "INTERACTING");
    assert_int_equal(inter->assoc.n_transitions, PLANT_SLOTS);
    assert_int_equal(inter->assoc.n_bumps, n_lags);
    assert_int_equal(inter->assoc.covered_bumps, n_lags);
    assert_int_equal(inter->assoc.hit_transitions, n_lags);
    expect_near("coverage", inter->assoc.coverage, 1.0, 1e-12);
    expect_near("hit rate", inter->assoc.hit_rate, 0.8, 1e-12);
    assert_true(inter->assoc.null_hit_rate < 0.2);
    /* No null draw comes near: the smallest p-value 199 draws give. */
    expect_near("p", inter->p_value, 1.0 / 200.0, 1e-12);
    /* Holm: the smallest p-value (first by name among ties) times the
     * number of signals tested (INTERACTING, IDLE, any). */
    assert_int_equal(d->n_signals, 3);
    expect_near("p adjusted", inter->p_adjusted, 3.0 / 200.0, 1e-12);
    assert_true(inter->assoc.hit_rate_lift >= 1.5);
    assert_true(inter->significant);
    assert_false(inter->demoted);
    /* Lags to the bracket middle: exactly the planted ones. */
    assert_int_equal(inter->lag.n, n_lags);
    expect_near("lag median", inter->lag.median, want_median, 0.5);
    assert_true(inter->lag.min >= (double)(100 * MS));
    assert_true(inter->lag.max <= (double)(300 * MS));

    /* Going back to IDLE bumps nothing. */
    idle = signal_named(d, "routing:IDLE");
    assert_non_null(idle);
    assert_int_equal(idle->assoc.hit_transitions, 0);
    assert_false(idle->significant);
    /* Significant signals rank first. */
    assert_true(d->signals[0].significant);

    /* Every foreign bump is attributed to the INTERACTING transition
     * before it; its lag_ns is from the transition to the bracket end
     * (bumps.csv and lag.dat recover the transition time from it). */
    assert_int_equal(d->attr_counts[DIAG_ATTR_TRANSITION], n_lags);
    assert_int_equal(d->attr_counts[DIAG_ATTR_UNEXPLAINED], 0);
    for (int a = 0; a < PLANT_AGENTS; a++) {
        char id[32];
        int64_t v = 1;
        snprintf(id, sizeof(id), "agent-%02d", a);
        for (int c = 0; c < PLANT_CYCLES; c++) {
            int slot = a * PLANT_CYCLES + c;
            const struct diag_bump *b;
            if (!plant_bumped(slot))
                continue;
            b = &d->bumps[bump_index(d, id, ++v)];
            assert_int_equal(b->attr, DIAG_ATTR_TRANSITION);
            assert_int_not_equal(b->signal, DIAG_NONE);
            assert_string_equal(d->signals[b->signal].name,
                                "routing:INTERACTING");
            assert_int_equal(b->lag_ns, (plant_lag_ms(slot) + 40) * MS);
            assert_int_equal(b->t_ns - b->lag_ns,
                             T0 + plant_interacting_ms(a, c) * MS);
        }
    }

    /* The verdict names it, with the planted lag. */
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_ROUTING);
    assert_string_equal(diag_cause_name(d->verdict.cause), "routing-status");
    assert_string_equal(d->verdict.signal, "routing:INTERACTING");
    assert_int_not_equal(d->verdict.signal_index, DIAG_NONE);
    assert_ptr_equal(&d->signals[d->verdict.signal_index], inter);
    expect_near("verdict coverage", d->verdict.coverage, 1.0, 1e-12);
    expect_near("verdict hit rate", d->verdict.hit_rate, 0.8, 1e-12);
    expect_near("verdict median lag", d->verdict.median_lag_ms,
                want_median / (double)MS, 1e-6);
    assert_true(d->verdict.median_lag_ms >= 100 &&
                d->verdict.median_lag_ms <= 300);
    assert_non_null(strstr(d->verdict.headline, "INTERACTING"));
    assert_non_null(strstr(d->verdict.text, "INTERACTING"));
    diagnose_free(d);
}

/* ---- 3. no writer ---------------------------------------------------- */

static void transitions_without_foreign_bumps_give_none(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    struct diagnosis *d;

    /* Five agents change state often; only the job writes to them. */
    for (int a = 0; a < 5; a++) {
        char id[32];
        snprintf(id, sizeof(id), "quiet-%d", a);
        for (int k = 0; k < 4; k++) {
            int64_t t = 1000 + a * 500 + k * 30000;
            routing_obs(fx, id, "IDLE", "INTERACTING", t);
            state_obs(fx, id, "presence", "Available", "Busy", t - 50, t + 50,
                      t);
            routing_obs(fx, id, "INTERACTING", "IDLE", t + 10000);
            state_obs(fx, id, "presence", "Busy", "Available", t + 9950,
                      t + 10050, t + 10000);
        }
        write_req(fx, id, a + 1, 1, 200, 1200 + a * 500);
        version_obs(fx, id, 1, 2, 1150 + a * 500, 1300 + a * 500);
    }
    run = finish(fx, 130000);

    d = diagnose_ok(run);
    assert_int_equal(d->n_bumps, 5);
    assert_int_equal(d->n_foreign, 0);
    assert_int_equal(d->attr_counts[DIAG_ATTR_OWN], 5);
    assert_int_equal(d->n_routing, 40);
    assert_int_equal(d->n_presence, 40);
    for (size_t i = 0; i < d->n_signals; i++)
        assert_false(d->signals[i].significant);
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_NONE);
    assert_string_equal(d->verdict.signal, "");
    assert_int_equal(d->verdict.signal_index, DIAG_NONE);
    assert_int_not_equal(d->verdict.headline[0], '\0');
    assert_int_not_equal(d->verdict.text[0], '\0');
    diagnose_free(d);
}

/* A run that saw nothing at all: no agent, no bump, nothing to blame. */
static void an_empty_run_gives_none(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    struct diagnosis *d;

    run = finish(fx, 1000);
    assert_int_equal(run->n_agents, 0);
    d = diagnose_ok(run);
    assert_int_equal(d->n_bumps, 0);
    assert_int_equal(d->n_signals, 0);
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_NONE);
    assert_null(diagnose_state_at(d, 0, 0, T0));
    diagnose_free(d);
}

/* "none" needs every conflict explained: a conflict whose next version
 * nobody saw leaves the cause open. */
static void a_conflict_without_a_seen_bump_is_not_none(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    struct diagnosis *d;

    routing_obs(fx, "q", "IDLE", "INTERACTING", 500);
    operation(fx,
              &(struct op_spec){1, "retry", "q", 4, "conflict", -1, 900, 1000});
    write_req(fx, "q", 1, 4, 409, 1000);
    run = finish(fx, 60000);

    d = diagnose_ok(run);
    assert_int_equal(d->n_foreign, 0);
    assert_int_equal(d->conflicts_unexplained, 1);
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_INCONCLUSIVE);
    assert_non_null(strstr(d->verdict.more_data, "poll versions more often"));
    diagnose_free(d);
}

/* ---- 4. too little data ---------------------------------------------- */

static void two_foreign_bumps_are_inconclusive_and_ask_for_more(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    struct diagnosis *d;
    double minutes;

    for (int a = 0; a < 4; a++) {
        char id[32];
        snprintf(id, sizeof(id), "few-%d", a);
        for (int k = 0; k < 3; k++) {
            int64_t t = 2000 + a * 700 + k * 40000;
            routing_obs(fx, id, "IDLE", "INTERACTING", t);
            routing_obs(fx, id, "INTERACTING", "IDLE", t + 15000);
        }
    }
    /* One bump right after a transition, one at a quiet moment. */
    version_obs(fx, "few-0", 1, 2, 2150, 2250);
    version_obs(fx, "few-1", 4, 5, 30000, 30100);
    run = finish(fx, 120000);

    d = diagnose_ok(run);
    assert_int_equal(d->n_foreign, 2);
    for (size_t i = 0; i < d->n_signals; i++)
        assert_false(d->signals[i].significant);
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_INCONCLUSIVE);
    assert_string_equal(d->verdict.signal, "");
    assert_int_not_equal(d->verdict.more_data[0], '\0');
    assert_non_null(strstr(d->verdict.text, d->verdict.more_data));
    /* Ten foreign bumps at this rate (two per run) take five runs. */
    minutes = (double)(d->t1_ns - d->t0_ns) / 60e9;
    assert_false(isnan(d->verdict.minutes_needed));
    assert_true(d->verdict.minutes_needed >= 5 * minutes * (1 - 1e-9));
    diagnose_free(d);
}

/*
 * @n agents, each with one IDLE -> INTERACTING transition and a foreign
 * bump 200 ms after it, a hundred seconds apart, in a run of 1000 s: as
 * aligned as it gets, so only the count of covered bumps can hold a
 * signal back.
 */
static void plant_aligned(struct fx *fx, int n)
{
    for (int a = 0; a < n; a++) {
        char id[32];
        int64_t t = 10000 + (int64_t)a * 100000;
        snprintf(id, sizeof(id), "aligned-%d", a);
        routing_obs(fx, id, "IDLE", "INTERACTING", t);
        version_obs(fx, id, 1, 2, t + 160, t + 240);
    }
}

static void four_aligned_bumps_accuse_nothing(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    const struct diag_signal *s;
    struct diagnosis *d;

    plant_aligned(fx, 4);
    run = finish(fx, 1000000);
    d = diagnose_ok(run);
    assert_int_equal(d->n_foreign, 4);
    s = signal_named(d, "routing:INTERACTING");
    assert_non_null(s);
    /* Significant by the numbers, but a signal needs 5 covered bumps. */
    assert_int_equal(s->assoc.covered_bumps, 4);
    assert_true(s->p_adjusted < 0.05);
    assert_false(s->significant);
    assert_int_equal(d->attr_counts[DIAG_ATTR_UNEXPLAINED], 4);
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_INCONCLUSIVE);
    assert_int_not_equal(d->verdict.more_data[0], '\0');
    diagnose_free(d);
}

static void five_aligned_bumps_accuse_the_transition(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    const struct diag_signal *s;
    struct diagnosis *d;

    plant_aligned(fx, 5);
    run = finish(fx, 1000000);
    d = diagnose_ok(run);
    s = signal_named(d, "routing:INTERACTING");
    assert_non_null(s);
    assert_int_equal(s->assoc.covered_bumps, 5);
    assert_true(s->significant);
    assert_int_equal(d->attr_counts[DIAG_ATTR_TRANSITION], 5);
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_ROUTING);
    assert_string_equal(d->verdict.signal, "routing:INTERACTING");
    expect_near("median lag", d->verdict.median_lag_ms, 200, 1e-9);
    diagnose_free(d);
}

/* ---- 5. conflicts ---------------------------------------------------- */

static void
conflicts_are_tied_to_the_bump_that_made_the_next_version(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    const struct diag_conflict *c;
    const struct diag_finding *f = NULL;
    struct diagnosis *d;
    size_t y;

    /* x: INTERACTING from 500 ms.  Op 1 read 3 at 800, someone made 4
     * (seen 1000..1200), op 1's write of 3 at 1500 got 409.  Op 2 then
     * wrote 4 fine. */
    routing_obs(fx, "x", "IDLE", "INTERACTING", 500);
    operation(fx,
              &(struct op_spec){1, "retry", "x", 3, "conflict", -1, 800, 1500});
    version_obs(fx, "x", 3, 4, 1000, 1200);
    write_req(fx, "x", 1, 3, 409, 1500);
    operation(fx, &(struct op_spec){2, "retry", "x", 4, "ok", 5, 2900, 3000});
    write_req(fx, "x", 2, 4, 200, 3000);
    version_obs(fx, "x", 4, 5, 3000, 3100);
    /* y: no transitions.  Op 3 wrote 5 (making 6); op 4 read 5 again at
     * 1900 (a stale read: 6 was visible since 1100) and its write of 5
     * conflicted with the job's own 6.  Op 5 wrote 6 fine. */
    operation(fx, &(struct op_spec){3, "retry", "y", 5, "ok", 6, 900, 1000});
    write_req(fx, "y", 3, 5, 200, 1000);
    version_obs(fx, "y", 5, 6, 1000, 1100);
    operation(
        fx, &(struct op_spec){4, "retry", "y", 5, "conflict", -1, 1900, 2000});
    write_req(fx, "y", 4, 5, 409, 2000);
    operation(fx, &(struct op_spec){5, "retry", "y", 6, "ok", 7, 4900, 5000});
    write_req(fx, "y", 5, 6, 200, 5000);
    version_obs(fx, "y", 6, 7, 5000, 5100);
    /* u: a conflict whose next version nobody saw. */
    operation(
        fx, &(struct op_spec){6, "retry", "u", 9, "conflict", -1, 5900, 6000});
    write_req(fx, "u", 6, 9, 409, 6000);
    run = finish(fx, 8000);

    d = diagnose_ok(run);
    y = runload_agent_index(run, "y");
    assert_int_equal(d->n_conflicts, 3);

    c = conflict_of_op(d, 1);
    assert_int_equal(c->bump, bump_index(d, "x", 4));
    assert_int_equal(d->bumps[c->bump].b.origin, RUNLOAD_FOREIGN);
    assert_int_equal(c->read_wall_ns, T0 + 800 * MS);
    assert_false(c->stale_read);
    assert_non_null(c->op);
    assert_int_equal(c->op->op_id, 1);
    assert_non_null(c->routing);
    assert_string_equal(c->routing, "INTERACTING");
    assert_null(c->presence);
    assert_true(c->transitioning);

    c = conflict_of_op(d, 4);
    assert_int_equal(c->bump, bump_index(d, "y", 6));
    assert_int_equal(d->bumps[c->bump].b.origin, RUNLOAD_OWN);
    assert_true(c->stale_read);
    assert_null(c->routing);
    assert_false(c->transitioning);

    c = conflict_of_op(d, 6);
    assert_int_equal(c->bump, DIAG_NONE);

    assert_int_equal(d->conflicts_foreign, 1);
    assert_int_equal(d->conflicts_own, 1);
    assert_int_equal(d->conflicts_unexplained, 1);
    assert_int_equal(d->conflicts_stale_read, 1);

    /* The job conflicting with itself is a finding. */
    assert_int_equal(d->check_counts[DIAG_CHECK_SELF_CONFLICT], 1);
    for (size_t i = 0; i < d->n_findings; i++)
        if (d->findings[i].check == DIAG_CHECK_SELF_CONFLICT)
            f = &d->findings[i];
    assert_non_null(f);
    assert_int_equal(f->op_id, 4);
    assert_int_equal(f->agent, y);
    assert_non_null(strstr(f->text, "version 6"));

    /* Exposed (INTERACTING or transitioning) vs not, conflict vs ok:
     * x's conflict and x's write; y's and u's conflicts; y's two
     * writes. */
    assert_int_equal(d->table[0], 1);
    assert_int_equal(d->table[1], 1);
    assert_int_equal(d->table[2], 2);
    assert_int_equal(d->table[3], 2);
    assert_true(d->fisher_ok);
    assert_int_equal(d->n_states, 2);
    assert_string_equal(d->by_state[0].state, "INTERACTING");
    assert_int_equal(d->by_state[0].writes, 2);
    assert_int_equal(d->by_state[0].conflicts, 1);
    assert_string_equal(d->by_state[1].state, "unknown");
    assert_int_equal(d->by_state[1].writes, 4);
    assert_int_equal(d->by_state[1].conflicts, 2);
    assert_int_equal(strategy_named(d, "retry")->conflict_requests, 3);
    diagnose_free(d);
}

static void conflicts_mostly_caused_by_the_job_give_own_writes(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    struct diagnosis *d;

    /* Two agents, each written twice from the same read: the second write
     * conflicts with the first. */
    for (int a = 0; a < 2; a++) {
        char id[32];
        int64_t t = 1000 + a * 3000;
        snprintf(id, sizeof(id), "self-%d", a);
        operation(fx, &(struct op_spec){10 + 2 * a, "batch", id, 2, "ok", 3,
                                        t - 100, t});
        write_req(fx, id, 10 + 2 * a, 2, 200, t);
        version_obs(fx, id, 2, 3, t, t + 100);
        operation(fx, &(struct op_spec){11 + 2 * a, "batch", id, 2, "conflict",
                                        -1, t - 100, t + 500});
        write_req(fx, id, 11 + 2 * a, 2, 409, t + 500);
    }
    run = finish(fx, 10000);

    d = diagnose_ok(run);
    assert_int_equal(d->n_foreign, 0);
    assert_int_equal(d->conflicts_own, 2);
    assert_int_equal(d->check_counts[DIAG_CHECK_SELF_CONFLICT], 2);
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_OWN_WRITES);
    assert_string_equal(d->verdict.signal, "own-writes");
    diagnose_free(d);
}

/* ---- 6. checker ------------------------------------------------------ */

static const struct diag_finding *finding_of(const struct diagnosis *d,
                                             enum diag_check check)
{
    for (size_t i = 0; i < d->n_findings; i++)
        if (d->findings[i].check == check)
            return &d->findings[i];
    return NULL;
}

static void
the_checker_finds_retries_without_reread_and_lost_updates(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    const struct diag_finding *f;
    struct diagnosis *d;

    /* z: op 10 sent 7 twice, both refused; op 11 sent 7, then 8 after
     * reading again: only op 10 retried without a re-read. */
    operation(
        fx, &(struct op_spec){10, "naive", "z", 7, "conflict", -1, 900, 1200});
    write_req(fx, "z", 10, 7, 409, 1000);
    write_req(fx, "z", 10, 7, 409, 1200);
    operation(
        fx, &(struct op_spec){11, "naive", "z", 7, "conflict", -1, 1900, 2200});
    write_req(fx, "z", 11, 7, 409, 2000);
    write_req(fx, "z", 11, 8, 409, 2200);
    /* w: op 12 read at 1000, someone made 3 (seen 1200..1400), op 12
     * wrote without a version at 2000: 3 was lost.  Unversioned
     * operations record no final version (harness/replay), so the
     * write's own bump, seen at 2000..2100, cannot be told from a
     * foreign one. */
    operation(fx,
              &(struct op_spec){12, "blind", "w", -1, "ok", -1, 1000, 2000});
    version_obs(fx, "w", 2, 3, 1200, 1400);
    write_req(fx, "w", 12, -1, 200, 2000);
    version_obs(fx, "w", 3, 4, 2000, 2100);
    /* w2: the foreign bump came before op 13 read, and the bump seen
     * after its write came after it: nothing lost. */
    version_obs(fx, "w2", 1, 2, 4000, 4500);
    operation(fx,
              &(struct op_spec){13, "blind", "w2", -1, "ok", -1, 5000, 6000});
    write_req(fx, "w2", 13, -1, 200, 6000);
    version_obs(fx, "w2", 2, 3, 6000, 6100);
    run = finish(fx, 8000);

    d = diagnose_ok(run);
    assert_int_equal(d->check_counts[DIAG_CHECK_NO_REREAD], 1);
    f = finding_of(d, DIAG_CHECK_NO_REREAD);
    assert_non_null(f);
    assert_int_equal(f->op_id, 10);
    assert_int_equal(f->agent, runload_agent_index(run, "z"));
    assert_non_null(strstr(f->text, "version 7"));

    assert_int_equal(d->check_counts[DIAG_CHECK_LOST_UPDATE], 1);
    f = finding_of(d, DIAG_CHECK_LOST_UPDATE);
    assert_non_null(f);
    assert_int_equal(f->op_id, 12);
    assert_int_equal(f->agent, runload_agent_index(run, "w"));
    assert_non_null(strstr(f->text, "version 3"));
    assert_non_null(strstr(f->text, "another writer"));
    assert_int_equal(strategy_named(d, "blind")->lost_updates, 1);
    assert_int_equal(strategy_named(d, "blind")->operations, 2);
    assert_int_equal(strategy_named(d, "naive")->lost_updates, 0);
    assert_int_equal(strategy_named(d, "naive")->conflict_requests, 4);
    expect_bump(d, "w", 3, DIAG_ATTR_UNEXPLAINED, RUNLOAD_FOREIGN, 1400);
    assert_int_equal(d->check_counts[DIAG_CHECK_SELF_CONFLICT], 0);
    diagnose_free(d);
}

/* ---- 7. determinism -------------------------------------------------- */

/* Fail unless @a and @b hold bit-identical numbers. */
static void expect_same(const char *what, const char *name, double a, double b)
{
    if (memcmp(&a, &b, sizeof(a))) {
        fprintf(stderr, "%s of %s: %.17g then %.17g\n", what, name, a, b);
        fail();
    }
}

static void expect_same_diagnosis(const struct diagnosis *x,
                                  const struct diagnosis *y)
{
    assert_int_equal(x->n_signals, y->n_signals);
    for (size_t i = 0; i < x->n_signals; i++) {
        const struct diag_signal *a = &x->signals[i], *b = &y->signals[i];
        assert_string_equal(a->name, b->name);
        expect_same("p", a->name, a->p_value, b->p_value);
        expect_same("p adjusted", a->name, a->p_adjusted, b->p_adjusted);
        expect_same("null coverage", a->name, a->assoc.null_coverage,
                    b->assoc.null_coverage);
        expect_same("null hit rate", a->name, a->assoc.null_hit_rate,
                    b->assoc.null_hit_rate);
        expect_same("lag median", a->name, a->lag.median, b->lag.median);
        assert_int_equal(a->assoc.permutations, b->assoc.permutations);
        assert_int_equal(a->significant, b->significant);
    }
    for (size_t i = 0; i < x->n_bumps; i++) {
        assert_int_equal(x->bumps[i].attr, y->bumps[i].attr);
        assert_int_equal(x->bumps[i].signal, y->bumps[i].signal);
    }
    assert_int_equal(x->verdict.cause, y->verdict.cause);
    assert_string_equal(x->verdict.signal, y->verdict.signal);
    assert_string_equal(x->verdict.headline, y->verdict.headline);
    assert_string_equal(x->verdict.text, y->verdict.text);
    assert_string_equal(x->verdict.more_data, y->verdict.more_data);
}

static void the_same_run_gives_the_same_diagnosis(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    struct runload *again = NULL;
    struct diagnosis *d1, *d2, *d3, *d4;
    struct diag_params p = small_params();
    double *lags;
    size_t n_lags;
    int differs = 0;

    lags = plant_routing(fx, &n_lags);
    free(lags);
    /* Noise, so that the null means are not trivially zero. */
    for (int k = 0; k < 30; k++)
        version_obs(fx, "agent-03", 100 + k, 101 + k, 5000 + k * 11000,
                    5100 + k * 11000);
    run = finish(fx, PLANT_END_MS);

    d1 = diagnose_ok(run);
    d2 = diagnose_ok(run);
    expect_same_diagnosis(d1, d2);
    /* A second load of the same directory too. */
    assert_int_equal(runload_load(&again, fx->dir), RT_OK);
    d3 = diagnose_ok(again);
    expect_same_diagnosis(d1, d3);
    /* The comparison sees the draws: another seed moves a null mean. */
    p.seed = 2;
    assert_int_equal(diagnose(run, NULL, &p, &d4), RT_OK);
    assert_int_equal(d4->n_signals, d1->n_signals);
    for (size_t i = 0; i < d1->n_signals; i++)
        differs |= d1->signals[i].assoc.null_hit_rate !=
                   d4->signals[i].assoc.null_hit_rate;
    assert_true(differs);
    diagnose_free(d1);
    diagnose_free(d2);
    diagnose_free(d3);
    diagnose_free(d4);
    runload_free(again);
}

/* ---- 8. parameters --------------------------------------------------- */

static void expect_einval(const struct runload *run,
                          const struct diag_params *p, const char *what)
{
    static struct diagnosis sentinel;
    struct diagnosis *d = &sentinel; /* must come back NULL */
    enum rt_err err = diagnose(run, NULL, p, &d);

    if (err != RT_EINVAL || d != NULL) {
        fprintf(stderr, "%s: got %s and %s output, want %s and none\n", what,
                rt_strerror(err), d ? "an" : "no", rt_strerror(RT_EINVAL));
        if (err == RT_OK)
            diagnose_free(d);
        fail();
    }
}

static void bad_parameters_are_refused(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    struct diag_params p;
    struct diagnosis *d;

    /* No transitions, so no permutation test runs: the parameters must
     * be refused up front, not by a test that happens to run. */
    version_obs(fx, "a", 1, 2, 100, 200);
    version_obs(fx, "b", 4, 6, 300, 400);
    run = finish(fx, 1000);

    p = small_params();
    p.permutations = 0;
    expect_einval(run, &p, "permutations 0");
    p = small_params();
    p.alpha = 0;
    expect_einval(run, &p, "alpha 0");
    p = small_params();
    p.alpha = 1;
    expect_einval(run, &p, "alpha 1");
    p = small_params();
    p.alpha = NAN;
    expect_einval(run, &p, "alpha NaN");
    p = small_params();
    p.window_ns = -1;
    expect_einval(run, &p, "window -1 ns");
    p = small_params();
    expect_einval(NULL, &p, "no run");
    expect_einval(run, NULL, "no parameters");
    /* The same run with good parameters is fine, window 0 included. */
    p.window_ns = 0;
    assert_int_equal(diagnose(run, NULL, &p, &d), RT_OK);
    diagnose_free(d);
    diagnose_free(NULL);
}

/* ---- 9. state at a time ---------------------------------------------- */

static void state_at_is_the_value_after_the_last_transition(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    const struct diag_timeline *tl;
    struct diagnosis *d;
    size_t s, v;

    /* Routing at the server's times 1000 and 3000; presence with no
     * server time (bracket middle 2000); a last routing change whose
     * server time is ten minutes off (bracket middle 5000 instead). */
    routing_obs(fx, "s", "OFF_QUEUE", "IDLE", 1000);
    state_obs(fx, "s", "presence", "Available", "Break", 1800, 2200, 0);
    routing_obs(fx, "s", "IDLE", "INTERACTING", 3000);
    state_obs(fx, "s", "routing_status", "INTERACTING", "IDLE", 4900, 5100,
              700000);
    version_obs(fx, "v", 1, 2, 100, 200);
    run = finish(fx, 8000);

    d = diagnose_ok(run);
    s = runload_agent_index(run, "s");
    v = runload_agent_index(run, "v");
    assert_int_equal(d->n_routing, 3);
    assert_int_equal(d->n_presence, 1);
    tl = &d->timelines[s];
    assert_int_equal(tl->n, 4);
    assert_int_equal(tl->items[0].t_ns, T0 + 1000 * MS);
    assert_int_equal(tl->items[1].t_ns, T0 + 2000 * MS);
    assert_true(tl->items[1].is_presence);
    assert_int_equal(tl->items[2].t_ns, T0 + 3000 * MS);
    assert_int_equal(tl->items[3].t_ns, T0 + 5000 * MS);

    /* Before the first transition: its "from". */
    assert_string_equal(diagnose_state_at(d, s, 0, T0), "OFF_QUEUE");
    assert_string_equal(diagnose_state_at(d, s, 0, T0 + 999 * MS), "OFF_QUEUE");
    /* At a transition's time: its "to". */
    assert_string_equal(diagnose_state_at(d, s, 0, T0 + 1000 * MS), "IDLE");
    assert_string_equal(diagnose_state_at(d, s, 0, T0 + 3000 * MS - 1), "IDLE");
    assert_string_equal(diagnose_state_at(d, s, 0, T0 + 3000 * MS),
                        "INTERACTING");
    assert_string_equal(diagnose_state_at(d, s, 0, T0 + 4999 * MS),
                        "INTERACTING");
    assert_string_equal(diagnose_state_at(d, s, 0, T0 + 5000 * MS), "IDLE");
    assert_string_equal(diagnose_state_at(d, s, 0, T0 + 900000 * MS), "IDLE");
    /* Presence has its own timeline. */
    assert_string_equal(diagnose_state_at(d, s, 1, T0 + 1999 * MS),
                        "Available");
    assert_string_equal(diagnose_state_at(d, s, 1, T0 + 2000 * MS), "Break");
    assert_string_equal(diagnose_state_at(d, s, 1, T0 + 6000 * MS), "Break");
    /* No transitions, or no such agent: unknown. */
    assert_null(diagnose_state_at(d, v, 0, T0 + 1000 * MS));
    assert_null(diagnose_state_at(d, v, 1, T0 + 1000 * MS));
    assert_null(diagnose_state_at(d, run->n_agents, 0, T0));
    assert_null(diagnose_state_at(NULL, s, 0, T0));
    diagnose_free(d);
}

/* ---- 10. audit attribution ------------------------------------------ */

/* The bump's writer label, or NULL. */
static const char *writer_of(const struct diagnosis *d, const char *agent,
                             int64_t version)
{
    const struct diag_bump *b = &d->bumps[bump_index(d, agent, version)];

    if (!b->audit)
        return NULL;
    assert_int_not_equal(b->writer, DIAG_NONE);
    return d->writers[b->writer].label;
}

static void expect_writer(const struct diagnosis *d, const char *agent,
                          int64_t version, const char *label,
                          const char *audit_id, int ambiguous)
{
    const struct diag_bump *b = &d->bumps[bump_index(d, agent, version)];
    const char *got = writer_of(d, agent, version);

    if ((label == NULL) != (got == NULL) ||
        (label && (strcmp(label, got) || strcmp(b->audit->id, audit_id) ||
                   b->audit_ambiguous != ambiguous))) {
        fprintf(stderr,
                "'%s' version %lld: writer %s (record %s, ambiguous %d); "
                "want %s (record %s, ambiguous %d)\n",
                agent, (long long)version, got ? got : "none",
                b->audit ? b->audit->id : "-", b->audit_ambiguous,
                label ? label : "none", audit_id ? audit_id : "-", ambiguous);
        fail();
    }
}

/* The time bump @version of @agent was given, and where it came from. */
static void expect_time(const struct diagnosis *d, const char *agent,
                        int64_t version, enum diag_time_source source,
                        int64_t t_ms)
{
    const struct diag_bump *b = &d->bumps[bump_index(d, agent, version)];

    if (b->time_source != source || b->t_ns != T0 + t_ms * MS) {
        fprintf(stderr,
                "'%s' version %lld: time %lld ms from %s; want %lld ms from "
                "%s\n",
                agent, (long long)version, (long long)((b->t_ns - T0) / MS),
                diag_time_source_name(b->time_source), (long long)t_ms,
                diag_time_source_name(source));
        fail();
    }
}

#define CRM_LABEL                                                              \
    "OAuth client 'crm-sync-client' (application 'CRM Sync', level SYSTEM)"
#define JANE_LABEL "user 'Jane Doe' (id u-jane, level USER)"

static void audit_records_name_the_writer_of_each_foreign_bump(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    struct diagnosis *d;

    fx->client_id = "racetrace-client";
    /* a v2: one record by the integration inside the bracket. */
    version_obs(fx, "a", 1, 2, 1000, 1200);
    audit_user(fx, "r1", "a", 1100, &CRM);
    /* a v3: our own write, audited under our client: never a writer. */
    write_req(fx, "a", 1, 2, 200, 2000);
    version_obs(fx, "a", 2, 3, 1950, 2100);
    audit_user(fx, "r2", "a", 2050, &OURS);
    /* a v4: our client's record and Jane's fit; ours does not count, so
     * Jane is the one writer. */
    version_obs(fx, "a", 3, 4, 3000, 3200);
    audit_user(fx, "r3", "a", 3100, &OURS);
    audit_user(fx, "r4", "a", 3150, &JANE);
    /* b v2: the integration 0.5 s before the bracket, Jane inside it:
     * several writers, the nearest (Jane) taken and flagged. */
    version_obs(fx, "b", 1, 2, 5000, 5100);
    audit_user(fx, "r5", "b", 4500, &CRM);
    audit_user(fx, "r6", "b", 5060, &JANE);
    /* c v2: records 1.2 s before and 1.1 s after the bracket: outside the
     * 1 s tolerance; a failed update and another entity inside it. */
    version_obs(fx, "c", 1, 2, 7000, 7100);
    audit_user(fx, "r7", "c", 5800, &CRM);
    audit_user(fx, "r8", "c", 8200, &CRM);
    audit_row(fx, "r9", "c", 7050, &CRM, "User", "FAILURE");
    audit_row(fx, "r10", "c", 7060, &CRM, "Queue", "SUCCESS");
    /* c v3, v4: two hidden bumps of one bracket take the integration's
     * two records in order. */
    version_obs(fx, "c", 2, 4, 11000, 11500);
    audit_user(fx, "r12", "c", 11300, &CRM);
    audit_user(fx, "r11", "c", 11100, &CRM);
    /* A user the run never saw. */
    audit_user(fx, "r13", "zz", 11100, &CRM);
    run = finish(fx, 14000);

    assert_true(run->has_audit);
    assert_int_equal(run->n_audits, 12);
    assert_int_equal(run->n_audits_unknown_agent, 1);
    assert_string_equal(run->client_id, "racetrace-client");
    d = diagnose_ok(run);
    assert_int_equal(d->n_foreign, 6);
    assert_string_equal(d->own_client, "racetrace-client");
    assert_false(d->own_client_inferred);
    expect_writer(d, "a", 2, CRM_LABEL, "r1", 0);
    expect_writer(d, "a", 3, NULL, NULL, 0);
    assert_null(d->bumps[bump_index(d, "a", 3)].audit);
    expect_writer(d, "a", 4, JANE_LABEL, "r4", 0);
    expect_writer(d, "b", 2, JANE_LABEL, "r6", 1);
    expect_writer(d, "c", 2, NULL, NULL, 0);
    expect_writer(d, "c", 3, CRM_LABEL, "r11", 0);
    expect_writer(d, "c", 4, CRM_LABEL, "r12", 0);
    assert_int_equal(d->audit_attributed, 5);
    assert_int_equal(d->audit_ambiguous, 1);
    /* An unambiguous record times its bump (hidden ones too, in order);
     * an ambiguous one, no record and our own writes keep the bracket
     * end. */
    expect_time(d, "a", 2, DIAG_TIME_AUDIT, 1100);
    expect_time(d, "a", 3, DIAG_TIME_BRACKET, 2100);
    expect_time(d, "a", 4, DIAG_TIME_AUDIT, 3150);
    expect_time(d, "b", 2, DIAG_TIME_BRACKET, 5100);
    expect_time(d, "c", 2, DIAG_TIME_BRACKET, 7100);
    expect_time(d, "c", 3, DIAG_TIME_AUDIT, 11100);
    expect_time(d, "c", 4, DIAG_TIME_AUDIT, 11300);
    assert_int_equal(d->audit_timed, 4);
    assert_int_equal(d->audit_own, 2);
    /* Usable: everything but our two, the failure and the queue. */
    assert_int_equal(d->audit_usable, 8);
    /* Writers: most bumps first. */
    assert_int_equal(d->n_writers, 2);
    assert_string_equal(d->writers[0].label, CRM_LABEL);
    assert_int_equal(d->writers[0].kind, DIAG_WRITER_CLIENT);
    assert_string_equal(d->writers[0].id, "crm-sync-client");
    assert_string_equal(d->writers[0].level, "SYSTEM");
    assert_int_equal(d->writers[0].bumps, 3);
    assert_int_equal(d->writers[0].ambiguous, 0);
    assert_string_equal(d->writers[1].label, JANE_LABEL);
    assert_int_equal(d->writers[1].kind, DIAG_WRITER_USER);
    assert_string_equal(d->writers[1].id, "u-jane");
    assert_int_equal(d->writers[1].bumps, 2);
    assert_int_equal(d->writers[1].ambiguous, 1);
    /* The timing attribution is kept underneath, and counted once. */
    assert_int_equal(d->attr_counts[DIAG_ATTR_UNEXPLAINED], 6);
    assert_int_equal(d->unaudited[DIAG_ATTR_UNEXPLAINED], 1);
    assert_int_equal(d->writers[0].by_cause[DIAG_CAUSE_OTHER_WRITER], 3);
    /* Too few for any verdict, but the audit is reported. */
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_INCONCLUSIVE);
    assert_non_null(strstr(d->verdict.text,
                           "Audit records name the writer of 5 of the 6 "
                           "foreign bumps (1 of them ambiguous"));
    assert_non_null(strstr(d->verdict.text, "The most: " CRM_LABEL " (3)"));
    diagnose_free(d);
}

/* An integration: @n foreign bumps on @n agents at quiet moments, each
 * with the integration's record; our own writes audited under our
 * client; one bump by Jane. */
static void plant_integration(struct fx *fx, int n, int with_audit)
{
    for (int a = 0; a < n; a++) {
        char id[32], rid[32];
        int64_t t = 5000 + (int64_t)a * 7000;
        snprintf(id, sizeof(id), "int-%02d", a);
        /* Our write first, then the integration's. */
        write_req(fx, id, a + 1, 1, 200, t - 2000);
        version_obs(fx, id, 1, 2, t - 2050, t - 1900);
        version_obs(fx, id, 2, 3, t - 100, t + 100);
        if (!with_audit)
            continue;
        snprintf(rid, sizeof(rid), "own-%d", a);
        audit_user(fx, rid, id, t - 1950, &OURS);
        snprintf(rid, sizeof(rid), "crm-%d", a);
        audit_user(fx, rid, id, t, a == n - 1 ? &JANE : &CRM);
    }
}

static void other_writer_from_the_audit_names_the_client(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    struct diagnosis *d;
    const struct diag_writer *w;

    fx->client_id = "racetrace-client";
    plant_integration(fx, 8, 1);
    run = finish(fx, 70000);
    d = diagnose_ok(run);
    assert_int_equal(d->n_foreign, 8);
    assert_int_equal(d->raw.n_own, 8);
    /* 8 unexplained bumps are too few for "other-writer" by timing
     * alone (10), but the audit names the writer of 7 of them. */
    assert_int_equal(d->attr_counts[DIAG_ATTR_UNEXPLAINED], 8);
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_OTHER_WRITER);
    assert_string_equal(d->verdict.signal, "audit");
    assert_int_not_equal(d->verdict.writer, DIAG_NONE);
    w = &d->writers[d->verdict.writer];
    assert_string_equal(w->label, CRM_LABEL);
    assert_int_equal(d->verdict.writer_bumps, 7);
    assert_int_equal(d->verdict.writer_of, 8);
    assert_non_null(strstr(d->verdict.headline, CRM_LABEL " wrote 7 of 8 "
                                                          "foreign bumps"));
    assert_non_null(strstr(d->verdict.text, "another OAuth client than this "
                                            "job's ('racetrace-client')"));
    /* Our own client is never a writer. */
    for (size_t i = 0; i < d->n_writers; i++)
        assert_null(strstr(d->writers[i].label, "racetrace-client"));
    assert_int_equal(d->audit_own, 8);
    diagnose_free(d);
}

static void without_the_audit_the_same_bumps_are_inconclusive(void **state)
{
    struct fx *fx = *state;
    struct diagnosis *d;

    plant_integration(fx, 8, 0);
    d = diagnose_ok(finish(fx, 70000));
    assert_int_equal(d->n_foreign, 8);
    assert_int_equal(d->audit_attributed, 0);
    assert_int_equal(d->n_writers, 0);
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_INCONCLUSIVE);
    assert_int_equal(d->verdict.writer, DIAG_NONE);
    diagnose_free(d);
}

/* A writer with too small a share is named, not accused. */
static void a_minor_audit_writer_is_no_verdict(void **state)
{
    struct fx *fx = *state;
    struct diagnosis *d;

    fx->client_id = "racetrace-client";
    plant_integration(fx, 8, 1);
    /* Eight more foreign bumps nobody audited: the integration's 7 are
     * under half of the 16. */
    for (int a = 0; a < 8; a++) {
        char id[32];
        snprintf(id, sizeof(id), "int-%02d", a);
        version_obs(fx, id, 3, 4, 3000 + a * 7000 + 5000,
                    3000 + a * 7000 + 5100);
    }
    d = diagnose_ok(finish(fx, 70000));
    assert_int_equal(d->n_foreign, 16);
    assert_int_equal(d->audit_attributed, 8);
    /* 16 unexplained: "other-writer" by timing, but no writer named. */
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_OTHER_WRITER);
    assert_string_equal(d->verdict.signal, "unexplained");
    assert_int_equal(d->verdict.writer, DIAG_NONE);
    assert_non_null(strstr(d->verdict.text, "the audit trail names several"));
    diagnose_free(d);
}

/* Without target.client_id in run.json, the job's own client is the one
 * whose records sit at its own writes; its records in a foreign bump's
 * bracket then name no one. */
static void our_client_is_inferred_from_our_own_writes(void **state)
{
    struct fx *fx = *state;
    struct diagnosis *d;

    plant_integration(fx, 8, 1);
    /* One of our records inside a foreign bump's bracket. */
    audit_user(fx, "own-late", "int-00", 5050, &OURS);
    d = diagnose_ok(finish(fx, 70000));
    assert_string_equal(d->run->client_id, "");
    assert_string_equal(d->own_client, "racetrace-client");
    assert_true(d->own_client_inferred);
    assert_int_equal(d->audit_own, 9);
    expect_writer(d, "int-00", 3, CRM_LABEL, "crm-0", 0);
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_OTHER_WRITER);
    diagnose_free(d);
}

static void
a_transition_verdict_keeps_its_cause_and_names_the_writer(void **state)
{
    struct fx *fx = *state;
    const struct runload *run;
    struct diagnosis *d;
    double *lags;
    size_t n_lags;
    char want[200];

    lags = plant_routing(fx, &n_lags);
    free(lags);
    /* The routing engine audits each of its writes, at the bump. */
    for (int a = 0; a < PLANT_AGENTS; a++) {
        char id[32], rid[48];
        snprintf(id, sizeof(id), "agent-%02d", a);
        for (int c = 0; c < PLANT_CYCLES; c++) {
            int slot = a * PLANT_CYCLES + c;
            if (!plant_bumped(slot))
                continue;
            snprintf(rid, sizeof(rid), "eng-%d", slot);
            audit_user(fx, rid, id,
                       plant_interacting_ms(a, c) + plant_lag_ms(slot),
                       &ENGINE);
        }
    }
    run = finish(fx, PLANT_END_MS);
    d = diagnose_ok(run);
    assert_int_equal(d->audit_attributed, n_lags);
    assert_int_equal(d->n_writers, 1);
    assert_string_equal(d->writers[0].label, "SYSTEM process 'routing-engine'");
    assert_int_equal(d->writers[0].kind, DIAG_WRITER_PROCESS);
    assert_int_equal(d->writers[0].by_cause[DIAG_CAUSE_ROUTING], n_lags);
    /* The statistics still decide why: the routing transition. */
    assert_int_equal(d->attr_counts[DIAG_ATTR_TRANSITION], n_lags);
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_ROUTING);
    assert_string_equal(d->verdict.signal, "routing:INTERACTING");
    assert_int_equal(d->verdict.writer, 0);
    assert_int_equal(d->verdict.writer_bumps, n_lags);
    snprintf(want, sizeof(want),
             "The org's audit trail names who wrote them: SYSTEM process "
             "'routing-engine' wrote %zu of these %zu bumps.",
             n_lags, n_lags);
    assert_non_null(strstr(d->verdict.text, want));
    diagnose_free(d);
}

/* ---- 11. merging poll, stream and analytics -------------------------- */

static void analytics_fills_what_a_slow_poll_missed(void **state)
{
    struct fx *fx = *state;
    const struct diag_timeline *tl;
    struct diagnosis *d;
    size_t s;

    /* One poll bracket of 10 s saw IDLE -> INTERACTING; in it the agent
     * went INTERACTING at 2 s, IDLE at 4 s, INTERACTING at 6 s. */
    state_obs(fx, "s", "routing_status", "IDLE", "INTERACTING", 1000, 11000, 0);
    analytics_obs(fx, "s", "routing_status", "IDLE", "INTERACTING", 2000);
    analytics_obs(fx, "s", "routing_status", "INTERACTING", "IDLE", 4000);
    analytics_obs(fx, "s", "routing_status", "IDLE", "INTERACTING", 6000);
    /* Presence: the poll's server time is 1.5 s off analytics' (clock
     * skew within the 2 s tolerance): the same transition. */
    state_obs(fx, "s", "presence", "Available", "Break", 19000, 19200, 21500);
    analytics_obs(fx, "s", "presence", "Available", "Break", 20000);
    /* Outside the run, and no change at all: left out. */
    analytics_obs(fx, "s", "presence", "Break", "Available", 90000);
    analytics_obs(fx, "s", "presence", "Break", "Break", 25000);
    d = diagnose_ok(finish(fx, 30000));
    s = runload_agent_index(d->run, "s");
    tl = &d->timelines[s];
    assert_int_equal(tl->n, 4);
    assert_int_equal(tl->items[0].t_ns, T0 + 2000 * MS);
    assert_int_equal(tl->items[1].t_ns, T0 + 4000 * MS);
    assert_int_equal(tl->items[2].t_ns, T0 + 6000 * MS);
    assert_int_equal(tl->items[3].t_ns, T0 + 20000 * MS);
    /* The poll's INTERACTING is the one nearest its bracket's middle. */
    assert_true(tl->items[0].missed);
    assert_true(tl->items[1].missed);
    assert_false(tl->items[2].missed);
    assert_false(tl->items[3].missed);
    for (size_t i = 0; i < tl->n; i++)
        assert_string_equal(tl->items[i].source, "analytics");
    assert_int_equal(d->missed_routing, 2);
    assert_int_equal(d->missed_presence, 0);
    assert_int_equal(d->n_from_analytics, 4);
    assert_int_equal(d->n_from_poll, 0);
    assert_int_equal(d->n_duplicates, 2);
    assert_int_equal(d->n_analytics_dropped, 2);
    assert_int_equal(d->n_routing, 3);
    assert_int_equal(d->n_presence, 1);
    diagnose_free(d);
}

/* Agents cycle IDLE -> INTERACTING -> IDLE six times; a writer bumps the
 * version 200 ms after 5 of the 6 INTERACTING.  The poll saw only the
 * first cycle; with @analytics the history has them all. */
static void plant_missed_cycles(struct fx *fx, int analytics)
{
    for (int a = 0; a < 10; a++) {
        char id[32];
        int64_t v = 1;
        snprintf(id, sizeof(id), "cyc-%d", a);
        for (int c = 0; c < 6; c++) {
            int64_t t = 3000 + a * 1700 + (int64_t)c * 40000;
            if (c == 0) {
                routing_obs(fx, id, "IDLE", "INTERACTING", t);
                routing_obs(fx, id, "INTERACTING", "IDLE", t + 5000);
            }
            if (analytics) {
                analytics_obs(fx, id, "routing_status", "IDLE", "INTERACTING",
                              t);
                analytics_obs(fx, id, "routing_status", "INTERACTING", "IDLE",
                              t + 5000);
            }
            if (c != 3) {
                version_obs(fx, id, v, v + 1, t + 160, t + 240);
                v++;
            }
        }
    }
}

static void transitions_only_analytics_saw_take_part_in_the_tests(void **state)
{
    struct fx *fx = *state;
    const struct diag_signal *s;
    struct diagnosis *d;

    plant_missed_cycles(fx, 1);
    d = diagnose_ok(finish(fx, 250000));
    assert_int_equal(d->n_foreign, 50);
    assert_int_equal(d->n_routing, 120);
    assert_int_equal(d->missed_routing, 100);
    assert_int_equal(d->n_duplicates, 20);
    s = signal_named(d, "routing:INTERACTING");
    assert_non_null(s);
    assert_int_equal(s->assoc.n_transitions, 60);
    assert_int_equal(s->assoc.covered_bumps, 50);
    assert_true(s->significant);
    assert_int_equal(d->attr_counts[DIAG_ATTR_TRANSITION], 50);
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_ROUTING);
    diagnose_free(d);
}

static void without_analytics_the_poll_alone_sees_little(void **state)
{
    struct fx *fx = *state;
    const struct diag_signal *s;
    struct diagnosis *d;

    plant_missed_cycles(fx, 0);
    d = diagnose_ok(finish(fx, 250000));
    assert_int_equal(d->n_routing, 20);
    assert_int_equal(d->missed_routing, 0);
    s = signal_named(d, "routing:INTERACTING");
    assert_non_null(s);
    assert_int_equal(s->assoc.n_transitions, 10);
    assert_int_equal(s->assoc.covered_bumps, 10);
    assert_int_equal(d->attr_counts[DIAG_ATTR_TRANSITION] < 50, 1);
    diagnose_free(d);
}

static void
stream_transitions_carry_server_times_and_replace_the_poll(void **state)
{
    struct fx *fx = *state;
    const struct diag_timeline *tl;
    struct diagnosis *d;
    size_t x;

    /* The stream delivered Break 300 ms after the server's time; a poll
     * saw the same change later, without a server time. */
    source_obs(fx, "stream", "x", "presence", "Available", "Break", 1300, 1300,
               1000);
    state_obs(fx, "x", "presence", "Available", "Break", 900, 1600, 0);
    /* A stream change the poll did not see, and a poll change the stream
     * did not report (kept: nothing better timed saw it). */
    source_obs(fx, "stream", "x", "presence", "Break", "Available", 5400, 5400,
               5000);
    state_obs(fx, "x", "routing_status", "IDLE", "OFF_QUEUE", 1100, 1300, 0);
    version_obs(fx, "x", 1, 2, 1400, 1500);
    d = diagnose_ok(finish(fx, 8000));
    x = runload_agent_index(d->run, "x");
    tl = &d->timelines[x];
    assert_int_equal(tl->n, 3);
    assert_int_equal(tl->items[0].t_ns, T0 + 1000 * MS);
    assert_string_equal(tl->items[0].source, "stream");
    assert_true(tl->items[0].is_presence);
    assert_int_equal(tl->items[1].t_ns, T0 + 1200 * MS);
    assert_string_equal(tl->items[1].source, "poll");
    assert_int_equal(tl->items[2].t_ns, T0 + 5000 * MS);
    assert_string_equal(tl->items[2].source, "stream");
    assert_int_equal(d->n_from_stream, 2);
    assert_int_equal(d->n_from_poll, 1);
    assert_int_equal(d->n_duplicates, 1);
    /* No analytics: nothing counts as missed. */
    assert_int_equal(d->missed_presence + d->missed_routing, 0);
    /* The state at a time follows the server's clock. */
    assert_string_equal(diagnose_state_at(d, x, 1, T0 + 1100 * MS), "Break");
    diagnose_free(d);
}

/* ---- 12. audit times against a slow poll ----------------------------- */

#define SLOW_AGENTS 20
#define SLOW_POLL_MS 5000
#define SLOW_END_MS 62000

/* Lag of bump @slot after its INTERACTING, 100..400 ms. */
static int64_t slow_lag_ms(int slot)
{
    return 100 + (slot * 37) % 301;
}

/*
 * The slow-poll scenario in small: 20 agents cycle IDLE (1.5..2.5 s) ->
 * INTERACTING (2.5..3.5 s), every transition in the analytics history at
 * its exact time.  A routing engine bumps the version 100..400 ms after
 * 70% of the INTERACTING transitions; the versions are polled only every
 * 5 s, so a bump is known by its poll only within a 5 s bracket, wider
 * than the 2 s window.  With @audit each bump has the engine's audit
 * record at its exact time.  Returns the number of bumps; @lags (may be
 * NULL) receives the planted lags in ns.
 */
static size_t plant_slow_poll(struct fx *fx, int audit, double *lags)
{
    size_t n = 0;

    for (int a = 0; a < SLOW_AGENTS; a++) {
        char id[32];
        int64_t t = (a * 397) % 5000, bumps[64];
        size_t nb = 0, k = 0;
        int64_t v = 1;
        snprintf(id, sizeof(id), "slow-%02d", a);
        for (int c = 0;; c++) {
            int slot = a * 100 + c;
            t += 1500 + (a * 31 + c * 17) % 1000;
            if (t >= SLOW_END_MS - 4000)
                break;
            analytics_obs(fx, id, "routing_status", "IDLE", "INTERACTING", t);
            if (slot % 10 < 7) {
                if (lags)
                    lags[n] = (double)(slow_lag_ms(slot) * MS);
                bumps[nb++] = t + slow_lag_ms(slot);
                n++;
            }
            t += 2500 + (a * 13 + c * 29) % 1000;
            analytics_obs(fx, id, "routing_status", "INTERACTING", "IDLE", t);
        }
        /* The poll: one observation per 5 s bracket that saw bumps. */
        for (int64_t p = 10; p < SLOW_END_MS; p += SLOW_POLL_MS) {
            int64_t v0 = v;
            while (k < nb && bumps[k] < p + SLOW_POLL_MS) {
                if (audit) {
                    char rid[48];
                    snprintf(rid, sizeof(rid), "eng-%d-%zu", a, k);
                    audit_user(fx, rid, id, bumps[k], &ENGINE);
                }
                k++;
                v++;
            }
            if (v > v0)
                version_obs(fx, id, v0, v, p, p + SLOW_POLL_MS);
        }
    }
    return n;
}

static void audit_times_resolve_what_a_slow_poll_cannot(void **state)
{
    struct fx *fx = *state;
    const struct diag_signal *s;
    struct diagnosis *d;
    double lags[SLOW_AGENTS * 20], *sorted, want_median;
    size_t n;

    fx->client_id = "racetrace-client";
    n = plant_slow_poll(fx, 1, lags);
    d = diagnose_ok(finish(fx, SLOW_END_MS));
    assert_int_equal(d->n_foreign, n);
    assert_int_equal(d->audit_attributed, n);
    assert_int_equal(d->audit_ambiguous, 0);
    assert_int_equal(d->audit_timed, n);
    /* Every bump is at its write, inside its 5 s bracket. */
    for (size_t i = 0; i < d->n_bumps; i++) {
        const struct diag_bump *b = &d->bumps[i];
        assert_int_equal(b->time_source, DIAG_TIME_AUDIT);
        assert_int_equal(b->t_ns, b->audit->wall_ns);
        assert_true(b->b.bracket_end_wall_ns - b->b.bracket_start_wall_ns ==
                    SLOW_POLL_MS * MS);
        assert_true(b->t_ns > b->b.bracket_start_wall_ns &&
                    b->t_ns < b->b.bracket_end_wall_ns);
    }
    /* The association sees the planted lag, to the write itself. */
    s = signal_named(d, "routing:INTERACTING");
    assert_non_null(s);
    assert_true(s->significant);
    assert_false(s->demoted);
    assert_int_equal(s->assoc.covered_bumps, n);
    assert_true(s->assoc.hit_rate_lift >= 2);
    sorted = stats_sorted_copy(lags, n);
    want_median = stats_median(sorted, n);
    free(sorted);
    assert_int_equal(s->lag.n, n);
    expect_near("lag median", s->lag.median, want_median, 0.5);
    assert_true(s->lag.min >= (double)(100 * MS));
    assert_true(s->lag.max <= (double)(400 * MS));
    /* Why and who. */
    assert_int_equal(d->attr_counts[DIAG_ATTR_TRANSITION], n);
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_ROUTING);
    assert_string_equal(d->verdict.signal, "routing:INTERACTING");
    assert_int_not_equal(d->verdict.writer, DIAG_NONE);
    assert_string_equal(d->writers[d->verdict.writer].label,
                        "SYSTEM process 'routing-engine'");
    assert_int_equal(d->verdict.writer_bumps, n);
    assert_true(d->verdict.median_lag_ms >= 100 &&
                d->verdict.median_lag_ms <= 400);
    diagnose_free(d);
}

static void without_the_audit_a_slow_poll_cannot_tell(void **state)
{
    struct fx *fx = *state;
    const struct diag_signal *s;
    struct diagnosis *d;
    size_t n;

    n = plant_slow_poll(fx, 0, NULL);
    d = diagnose_ok(finish(fx, SLOW_END_MS));
    assert_int_equal(d->n_foreign, n);
    assert_int_equal(d->audit_timed, 0);
    for (size_t i = 0; i < d->n_bumps; i++) {
        assert_int_equal(d->bumps[i].time_source, DIAG_TIME_BRACKET);
        assert_int_equal(d->bumps[i].t_ns, d->bumps[i].b.bracket_end_wall_ns);
    }
    /* A bracket end says nothing about the transition inside the
     * bracket: no signal stands out, and the bumps stay unexplained. */
    s = signal_named(d, "routing:INTERACTING");
    assert_non_null(s);
    assert_false(s->significant);
    assert_int_equal(d->attr_counts[DIAG_ATTR_TRANSITION], 0);
    assert_int_not_equal(d->verdict.cause, DIAG_CAUSE_ROUTING);
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_OTHER_WRITER);
    assert_string_equal(d->verdict.signal, "unexplained");
    assert_int_equal(d->verdict.writer, DIAG_NONE);
    diagnose_free(d);
}

/* 25..53 s after cycle @c's INTERACTING of agent @a: clear of every
 * transition (IDLE comes at 20 s, the next INTERACTING at 60 s), at
 * intervals that vary by a third, so no period either. */
static int64_t quiet_ms(int a, int c)
{
    static const int64_t offset_ms[] = {25000, 46000, 32000, 53000, 39000};

    return offset_ms[(a + c) % 5];
}

/*
 * One writer, the routing engine, bumps after 80% of the INTERACTING
 * transitions (96 bumps) and, as often, at moments tied to nothing (100
 * bumps, irregular): the audit names it for both.  Its unexplained bumps
 * outnumber the others, yet the transition it is shown to follow is the
 * cause, and the engine is named as its writer, not as an unrelated
 * other writer.
 */
static void an_audit_writer_that_follows_a_transition_is_not_other(void **state)
{
    struct fx *fx = *state;
    struct diagnosis *d;
    double *lags;
    size_t n_lags, n_other = 0;
    char want[200];

    lags = plant_routing(fx, &n_lags);
    free(lags);
    for (int a = 0; a < PLANT_AGENTS; a++) {
        char id[32], rid[48];
        int64_t v = 1;
        snprintf(id, sizeof(id), "agent-%02d", a);
        for (int c = 0; c < PLANT_CYCLES; c++) {
            int slot = a * PLANT_CYCLES + c;
            if (!plant_bumped(slot))
                continue;
            v++;
            snprintf(rid, sizeof(rid), "eng-%d", slot);
            audit_user(fx, rid, id,
                       plant_interacting_ms(a, c) + plant_lag_ms(slot),
                       &ENGINE);
        }
        /* Five more bumps at quiet moments. */
        for (int c = 0; c < 5; c++) {
            int64_t at = plant_interacting_ms(a, c) + quiet_ms(a, c);
            snprintf(rid, sizeof(rid), "eng-x-%d-%d", a, c);
            version_obs(fx, id, 100 + v, 101 + v, at - 40, at + 40);
            audit_user(fx, rid, id, at, &ENGINE);
            v++;
            n_other++;
        }
    }
    d = diagnose_ok(finish(fx, PLANT_END_MS));
    assert_int_equal(d->n_foreign, n_lags + n_other);
    assert_int_equal(d->n_writers, 1);
    assert_true(d->writers[0].by_cause[DIAG_CAUSE_OTHER_WRITER] >=
                d->writers[0].by_cause[DIAG_CAUSE_ROUTING]);
    assert_true(signal_named(d, "routing:INTERACTING")->significant);
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_ROUTING);
    assert_string_equal(d->verdict.signal, "routing:INTERACTING");
    assert_int_equal(d->verdict.writer, 0);
    snprintf(want, sizeof(want),
             "SYSTEM process 'routing-engine' wrote %zu of these %zu bumps. "
             "%zu more of its bumps follow no state change",
             d->writers[0].by_cause[DIAG_CAUSE_ROUTING],
             d->writers[0].by_cause[DIAG_CAUSE_ROUTING],
             d->writers[0].by_cause[DIAG_CAUSE_OTHER_WRITER]);
    assert_non_null(strstr(d->verdict.text, want));
    /* Not listed again as an unrelated other writer. */
    for (size_t i = 0; i < d->verdict.n_secondary; i++)
        assert_int_not_equal(d->verdict.secondary[i].cause,
                             DIAG_CAUSE_OTHER_WRITER);
    diagnose_free(d);
}

/* The same, but the untimed bumps are another client's: that is another
 * writer, and the shares decide between the two. */
static void another_audit_writer_still_accuses(void **state)
{
    struct fx *fx = *state;
    struct diagnosis *d;
    double *lags;
    size_t n_lags;

    fx->client_id = "racetrace-client";
    lags = plant_routing(fx, &n_lags);
    free(lags);
    for (int a = 0; a < PLANT_AGENTS; a++) {
        char id[32], rid[48];
        snprintf(id, sizeof(id), "agent-%02d", a);
        for (int c = 0; c < 6; c++) {
            int64_t at = plant_interacting_ms(a, c) + quiet_ms(a, c);
            version_obs(fx, id, 100 + c, 101 + c, at - 40, at + 40);
            snprintf(rid, sizeof(rid), "crm-%d-%d", a, c);
            audit_user(fx, rid, id, at, &CRM);
        }
    }
    d = diagnose_ok(finish(fx, PLANT_END_MS));
    assert_true(signal_named(d, "routing:INTERACTING")->significant);
    assert_int_equal(d->verdict.cause, DIAG_CAUSE_OTHER_WRITER);
    assert_string_equal(d->verdict.signal, "audit");
    assert_string_equal(d->writers[d->verdict.writer].label, CRM_LABEL);
    assert_int_equal(d->verdict.n_secondary >= 1, 1);
    assert_int_equal(d->verdict.secondary[0].cause, DIAG_CAUSE_ROUTING);
    diagnose_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            own_writes_explain_their_bumps_and_the_rest_is_foreign, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            a_planted_routing_signal_is_found_with_its_lag, setup, teardown),
        cmocka_unit_test_setup_teardown(
            transitions_without_foreign_bumps_give_none, setup, teardown),
        cmocka_unit_test_setup_teardown(an_empty_run_gives_none, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            a_conflict_without_a_seen_bump_is_not_none, setup, teardown),
        cmocka_unit_test_setup_teardown(
            two_foreign_bumps_are_inconclusive_and_ask_for_more, setup,
            teardown),
        cmocka_unit_test_setup_teardown(four_aligned_bumps_accuse_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            five_aligned_bumps_accuse_the_transition, setup, teardown),
        cmocka_unit_test_setup_teardown(
            conflicts_are_tied_to_the_bump_that_made_the_next_version, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            conflicts_mostly_caused_by_the_job_give_own_writes, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            the_checker_finds_retries_without_reread_and_lost_updates, setup,
            teardown),
        cmocka_unit_test_setup_teardown(the_same_run_gives_the_same_diagnosis,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(bad_parameters_are_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            state_at_is_the_value_after_the_last_transition, setup, teardown),
        cmocka_unit_test_setup_teardown(
            audit_records_name_the_writer_of_each_foreign_bump, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            other_writer_from_the_audit_names_the_client, setup, teardown),
        cmocka_unit_test_setup_teardown(
            without_the_audit_the_same_bumps_are_inconclusive, setup, teardown),
        cmocka_unit_test_setup_teardown(a_minor_audit_writer_is_no_verdict,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            our_client_is_inferred_from_our_own_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_transition_verdict_keeps_its_cause_and_names_the_writer, setup,
            teardown),
        cmocka_unit_test_setup_teardown(analytics_fills_what_a_slow_poll_missed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            transitions_only_analytics_saw_take_part_in_the_tests, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            without_analytics_the_poll_alone_sees_little, setup, teardown),
        cmocka_unit_test_setup_teardown(
            stream_transitions_carry_server_times_and_replace_the_poll, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            audit_times_resolve_what_a_slow_poll_cannot, setup, teardown),
        cmocka_unit_test_setup_teardown(
            without_the_audit_a_slow_poll_cannot_tell, setup, teardown),
        cmocka_unit_test_setup_teardown(
            an_audit_writer_that_follows_a_transition_is_not_other, setup,
            teardown),
        cmocka_unit_test_setup_teardown(another_audit_writer_still_accuses,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
