/*
 * Run directory loader on small handcrafted runs.  The history files are
 * written by the recorder's own writer (harness/history, over base/csv),
 * so the loader is held to the columns the recorder really writes;
 * malformed files, audit.csv and the issue-5 parts of run.json (the
 * evidence, a dry run) are written as raw text.  Also: which roles'
 * requests are the run's traffic and whose conflicts are the job's.
 * Each test gets a fresh directory.
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
#include <unistd.h>

#include <cJSON.h>

#include "analysis/runload.h"
#include "base/csv.h"
#include "base/xalloc.h"
#include "harness/history.h"
#include "support/capture.h"
#include "support/files.h"

#define T0 INT64_C(1800000000000000000)
#define MS INT64_C(1000000)

struct fx {
    char dir[512];
    struct history *h;
};

static int setup_all(void **state)
{
    (void)state;
    return files_scratch_begin("rt-test-runload");
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
    free(fx);
    return 0;
}

static void close_history(struct fx *fx)
{
    assert_int_equal(history_close(fx->h), RT_OK);
    fx->h = NULL;
}

/* @name inside the test's run directory (static buffer, reused). */
static const char *in_run(const struct fx *fx, const char *name)
{
    static char path[600];

    snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
    return path;
}

static void write_file(const struct fx *fx, const char *name, const char *text)
{
    files_write_text(in_run(fx, name), text);
}

static void append_file(const struct fx *fx, const char *name, const char *text)
{
    files_append_text(in_run(fx, name), text);
}

static void write_run_json(const struct fx *fx, int64_t start, int64_t end)
{
    cJSON *o = cJSON_CreateObject(), *t, *s;
    char *text;

    cJSON_AddStringToObject(o, "tool", "racetrace");
    cJSON_AddStringToObject(o, "version", "9.8.7");
    t = cJSON_AddObjectToObject(o, "target");
    cJSON_AddBoolToObject(t, "simulator", 1);
    cJSON_AddNumberToObject(o, "start_wall_ns", (double)start);
    cJSON_AddNumberToObject(o, "end_wall_ns", (double)end);
    cJSON_AddBoolToObject(o, "interrupted", 1);
    s = cJSON_AddObjectToObject(o, "scenario");
    cJSON_AddStringToObject(s, "name", "handmade");
    text = cJSON_Print(o);
    write_file(fx, "run.json", text);
    free(text);
    cJSON_Delete(o);
}

/* A request row with everything optional empty. */
static struct history_request req(const char *role, const char *agent,
                                  const char *method, int status,
                                  const char *kind, int64_t send_ms)
{
    struct history_request r = {
        .thread = 1,
        .role = role,
        .op_id = -1,
        .agent = agent,
        .method = method,
        .route = "/api/v2/users/{id}",
        .intended_wall_ns = T0 + send_ms * MS,
        .send_wall_ns = T0 + send_ms * MS,
        .recv_wall_ns = T0 + send_ms * MS + 2 * MS,
        .send_mono_ns = send_ms * MS,
        .latency_ns = 2 * MS,
        .latency_intended_ns = 2 * MS,
        .status = status,
        .transport_error = "",
        .error_code = "",
        .kind = kind,
        .retry_after_s = -1,
        .ratelimit_count = -1,
        .ratelimit_allowed = -1,
        .ratelimit_reset = -1,
        .correlation_id = "corr",
        .version_sent = -1,
        .agents_in_request = -1,
    };
    return r;
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
        .request_seq = 5,
        .hidden = new_v - old_v - 1,
    };

    snprintf(o, sizeof(o), "%lld", (long long)old_v);
    snprintf(n, sizeof(n), "%lld", (long long)new_v);
    history_observation(fx->h, &ob);
}

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

static void operation(struct fx *fx, int64_t op_id, const char *agent,
                      int64_t read_v, const char *outcome, int64_t final_v,
                      int64_t last_write_ms)
{
    struct history_operation op = {
        .op_id = op_id,
        .round = 0,
        .strategy = "retry",
        .agent = agent,
        .read_version = read_v,
        .read_versions = "3;4",
        .attempts = 1,
        .outcome = outcome,
        .final_version = final_v,
        .wasted_requests = 0,
        .requests = 2,
        .start_wall_ns = T0 + (last_write_ms - 1) * MS,
        .first_read_wall_ns = T0 + (last_write_ms - 1) * MS,
        .last_write_wall_ns = T0 + last_write_ms * MS,
        .end_wall_ns = T0 + (last_write_ms + 3) * MS,
        .last_status = 200,
        .last_correlation_id = "op-corr",
        .intent = "department=a, \"quoted\"",
    };
    history_operation(fx->h, &op);
}

/* A versioned replay write of @agent sent at @send_ms. */
static void write_req(struct fx *fx, const char *agent, int64_t op_id,
                      int64_t version_sent, int status, const char *kind,
                      int64_t send_ms)
{
    struct history_request r =
        req("replay", agent, "PATCH", status, kind, send_ms);
    r.op_id = op_id;
    r.version_sent = version_sent;
    r.correlation_id = status == 409 ? "conflict-corr" : "write-corr";
    r.error_code = status == 409 ? "general.conflict" : "";
    history_request(fx->h, &r);
}

static struct runload *load_ok(const struct fx *fx)
{
    struct runload *run = NULL;

    assert_int_equal(runload_load(&run, fx->dir), RT_OK);
    assert_non_null(run);
    return run;
}

static void loads_timelines_writes_conflicts_and_counts(void **state)
{
    struct fx *fx = *state;
    struct history_request r;
    struct runload *run;
    const struct runload_agent *a;
    size_t ia, ib, ic;

    /* Observations out of time order, three agents. */
    version_obs(fx, "agent-b", 1, 2, 900, 1000);
    state_obs(fx, "agent-b", "routing_status", "IDLE", "INTERACTING", 100, 300,
              250);
    state_obs(fx, "agent-b", "presence", "On Queue", "Break", 50, 200, 0);
    version_obs(fx, "agent-a", 3, 6, 100, 400);
    state_obs(fx, "agent-c", "routing_status", "OFF_QUEUE", "IDLE", 10, 20, 15);
    operation(fx, 2, "agent-b", 2, "conflict", -1, 1500);
    operation(fx, 1, "agent-a", 6, "ok", 7, 2000);
    /* Requests: an auth, bulk polls, a read, the writes. */
    r = req("auth", "", "POST", 200, "ok", 0);
    r.route = "/oauth/token";
    history_request(fx->h, &r);
    for (int i = 0; i < 5; i++) {
        r = req("observe", "", "GET", 200, "ok", 10 + 200 * i);
        r.route = "/api/v2/users?id={ids}";
        r.latency_ns = (i + 1) * MS;
        r.agents_in_request = 3;
        history_request(fx->h, &r);
    }
    r = req("replay", "agent-a", "GET", 200, "ok", 1999);
    r.op_id = 1;
    history_request(fx->h, &r);
    write_req(fx, "agent-a", 1, 6, 200, "ok", 2000);
    write_req(fx, "agent-b", 2, 2, 409, "conflict", 1500);
    r = req("observe", "", "GET", 429, "throttled", 1700);
    r.retry_after_s = 3;
    history_request(fx->h, &r);
    close_history(fx);
    write_run_json(fx, T0, T0 + 5000 * MS);

    run = load_ok(fx);
    /* Agents sorted by id. */
    assert_int_equal(run->n_agents, 3);
    ia = runload_agent_index(run, "agent-a");
    ib = runload_agent_index(run, "agent-b");
    ic = runload_agent_index(run, "agent-c");
    assert_int_equal(ia, 0);
    assert_int_equal(ib, 1);
    assert_int_equal(ic, 2);
    assert_int_equal(runload_agent_index(run, "agent-z"), RUNLOAD_NONE);
    assert_string_equal(run->agents[ia].id, "agent-a");

    /* agent-b's timeline, by bracket end. */
    a = &run->agents[ib];
    assert_int_equal(a->n_obs, 3);
    assert_int_equal(a->obs[0].prop, RUNLOAD_PRESENCE);
    assert_string_equal(a->obs[0].old_value, "On Queue");
    assert_string_equal(a->obs[0].new_value, "Break");
    assert_int_equal(a->obs[0].server_wall_ns, 0);
    assert_int_equal(a->obs[1].prop, RUNLOAD_ROUTING);
    assert_string_equal(a->obs[1].new_value, "INTERACTING");
    assert_int_equal(a->obs[1].server_wall_ns, T0 + 250 * MS);
    assert_int_equal(a->obs[1].bracket_start_wall_ns, T0 + 100 * MS);
    assert_int_equal(a->obs[1].bracket_end_wall_ns, T0 + 300 * MS);
    assert_int_equal(a->obs[1].request_seq, -1);
    assert_int_equal(a->obs[2].prop, RUNLOAD_VERSION);
    assert_int_equal(a->obs[2].old_version, 1);
    assert_int_equal(a->obs[2].new_version, 2);
    assert_null(a->obs[2].new_value);
    assert_int_equal(a->obs[2].request_seq, 5);
    assert_string_equal(a->obs[2].source, "poll");
    /* Interned: one pointer per distinct value. */
    assert_ptr_equal(a->obs[0].source, a->obs[2].source);
    a = &run->agents[ia];
    assert_int_equal(a->n_obs, 1);
    assert_int_equal(a->obs[0].hidden, 2);
    assert_int_equal(run->n_obs, 5);

    /* Operations by op_id, agents remapped to sorted indices. */
    assert_int_equal(run->n_ops, 2);
    assert_int_equal(run->ops[0].op_id, 1);
    assert_int_equal(run->ops[0].agent, ia);
    assert_string_equal(run->ops[0].outcome, "ok");
    assert_int_equal(run->ops[0].final_version, 7);
    assert_string_equal(run->ops[0].intent, "department=a, \"quoted\"");
    assert_string_equal(run->ops[0].read_versions, "3;4");
    assert_int_equal(run->ops[1].agent, ib);
    assert_int_equal(run->ops[1].final_version, -1);

    /* The own write, tied to its operation. */
    assert_int_equal(run->n_writes, 1);
    assert_int_equal(run->n_writes_confirmed, 1);
    a = &run->agents[ia];
    assert_int_equal(a->n_writes, 1);
    assert_int_equal(a->writes[0].version_sent, 6);
    assert_int_equal(a->writes[0].version_after, 7);
    assert_int_equal(a->writes[0].op_id, 1);
    assert_int_equal(a->writes[0].status, 200);
    assert_true(a->writes[0].confirmed);
    assert_string_equal(a->writes[0].method, "PATCH");
    assert_string_equal(a->writes[0].correlation_id, "write-corr");
    assert_int_equal(a->writes[0].send_wall_ns, T0 + 2000 * MS);

    /* The conflict, kept whole. */
    assert_int_equal(run->n_conflicts, 1);
    assert_int_equal(run->conflicts[0].agent, ib);
    assert_int_equal(run->conflicts[0].status, 409);
    assert_int_equal(run->conflicts[0].version_sent, 2);
    assert_int_equal(run->conflicts[0].op_id, 2);
    assert_string_equal(run->conflicts[0].correlation_id, "conflict-corr");
    assert_string_equal(run->conflicts[0].error_code, "general.conflict");
    assert_string_equal(run->conflicts[0].role, "replay");

    /* Counts. */
    assert_int_equal(run->requests.rows, 10);
    assert_int_equal(run->requests.max_seq, 10);
    assert_int_equal(run->requests.by_status[200], 8);
    assert_int_equal(run->requests.by_status[409], 1);
    assert_int_equal(run->requests.by_status[429], 1);
    assert_int_equal(runload_kind_count(run, "ok"), 8);
    assert_int_equal(runload_kind_count(run, "conflict"), 1);
    assert_int_equal(runload_kind_count(run, "throttled"), 1);
    assert_int_equal(runload_kind_count(run, "nope"), 0);
    assert_int_equal(runload_role_count(run, "observe"), 6);
    assert_int_equal(runload_role_count(run, "replay"), 3);
    assert_int_equal(runload_role_count(run, "auth"), 1);
    assert_int_equal(run->requests.first_send_wall_ns, T0);
    assert_int_equal(run->requests.last_recv_wall_ns, T0 + 2002 * MS);
    /* Latencies 1..5 ms from the polls, 2 ms for the other five. */
    assert_int_equal(run->requests.latency.n, 10);
    assert_int_equal(run->requests.latency.min_ns, 1 * MS);
    assert_int_equal(run->requests.latency.max_ns, 5 * MS);
    assert_non_null(run->requests.latency_by_status[429]);
    assert_int_equal(run->requests.latency_by_status[429]->n, 1);
    assert_null(run->requests.latency_by_status[500]);

    /* run.json. */
    assert_true(run->has_run_json);
    assert_int_equal(run->start_wall_ns, T0);
    assert_int_equal(run->end_wall_ns, T0 + 5000 * MS);
    assert_true(run->interrupted);
    assert_true(run->simulator);
    assert_string_equal(run->tool_version, "9.8.7");
    assert_non_null(run->scenario);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(run->scenario, "name")->valuestring,
        "handmade");
    assert_int_equal(run->truncated_files, 0);
    runload_free(run);
}

/* The bump of @version of @agent in @b, or NULL. */
static const struct runload_bump *bump_of(const struct runload *run,
                                          const struct runload_bumps *b,
                                          const char *agent, int64_t version)
{
    size_t ai = runload_agent_index(run, agent);

    for (size_t i = 0; i < b->n; i++)
        if (b->items[i].agent == ai && b->items[i].version == version)
            return &b->items[i];
    return NULL;
}

static void expect_bump(const struct runload *run,
                        const struct runload_bumps *b, const char *agent,
                        int64_t version, enum runload_origin origin, int hidden)
{
    const struct runload_bump *x = bump_of(run, b, agent, version);

    if (!x || x->origin != origin || x->hidden != hidden) {
        fprintf(stderr, "%s version %lld: %s origin %d hidden %d, want %d %d\n",
                agent, (long long)version, x ? "found" : "missing",
                x ? (int)x->origin : -1, x ? x->hidden : -1, (int)origin,
                hidden);
        fail();
    }
}

static void own_and_foreign_bumps_follow_the_matching_rule(void **state)
{
    struct fx *fx = *state;
    struct runload_bumps b;
    struct runload *run;
    const struct runload_bump *x;

    /* a: our write 3 -> 4 seen at 1100; a foreign 4 -> 5 and our 5 -> 6
     * seen together, 5 hidden. */
    write_req(fx, "a", 1, 3, 200, "ok", 1000);
    version_obs(fx, "a", 3, 4, 900, 1100);
    write_req(fx, "a", 2, 5, 200, "ok", 2000);
    version_obs(fx, "a", 4, 6, 1100, 2100);
    /* b: our write would make 8, but 8 was seen before we sent it:
     * someone else's. */
    write_req(fx, "b", 3, 7, 200, "ok", 3000);
    version_obs(fx, "b", 7, 8, 2000, 2500);
    /* c: the write's response was lost; its version showed up. */
    write_req(fx, "c", 4, 1, 0, "transport", 1000);
    version_obs(fx, "c", 1, 2, 900, 1300);
    /* d: the server moved the version by 3; the operation's final version
     * (from the response) says which one is ours. */
    operation(fx, 5, "d", 7, "ok", 10, 4000);
    write_req(fx, "d", 5, 7, 200, "ok", 4000);
    version_obs(fx, "d", 7, 10, 3900, 4100);
    /* e: a write never observed, and a 409 that changed nothing. */
    write_req(fx, "e", 6, 2, 200, "ok", 5000);
    write_req(fx, "e", 7, 2, 409, "conflict", 5100);
    version_obs(fx, "e", 1, 2, 100, 200);
    /* f: a lost write that landed, as the operation's re-read showed. */
    operation(fx, 8, "f", 4, "ok", 5, 6000);
    write_req(fx, "f", 8, 4, 0, "timeout", 6000);
    version_obs(fx, "f", 4, 5, 5900, 6200);
    close_history(fx);
    write_run_json(fx, T0, T0 + 7000 * MS);

    run = load_ok(fx);
    assert_int_equal(runload_classify_bumps(run, &b), RT_OK);
    expect_bump(run, &b, "a", 4, RUNLOAD_OWN, 0);
    expect_bump(run, &b, "a", 5, RUNLOAD_FOREIGN, 1);
    expect_bump(run, &b, "a", 6, RUNLOAD_OWN, 0);
    expect_bump(run, &b, "b", 8, RUNLOAD_FOREIGN, 0);
    expect_bump(run, &b, "c", 2, RUNLOAD_OWN_UNCONFIRMED, 0);
    expect_bump(run, &b, "d", 8, RUNLOAD_FOREIGN, 1);
    expect_bump(run, &b, "d", 9, RUNLOAD_FOREIGN, 1);
    expect_bump(run, &b, "d", 10, RUNLOAD_OWN, 0);
    expect_bump(run, &b, "e", 2, RUNLOAD_FOREIGN, 0);
    expect_bump(run, &b, "f", 5, RUNLOAD_OWN, 0);
    assert_int_equal(b.n, 10);
    assert_int_equal(b.n_own, 4);
    assert_int_equal(b.n_own_unconfirmed, 1);
    assert_int_equal(b.n_foreign, 5);
    assert_int_equal(b.n_hidden, 3);
    /* b's write (8 was not ours) and e's write (3 never seen). */
    assert_int_equal(b.n_writes_unseen, 2);
    /* The matched write is named. */
    x = bump_of(run, &b, "d", 10);
    assert_int_equal(run->agents[x->agent].writes[x->write].op_id, 5);
    x = bump_of(run, &b, "a", 6);
    assert_int_equal(run->agents[x->agent].writes[x->write].version_sent, 5);
    /* Writes: c's unconfirmed, f's confirmed by its operation. */
    assert_int_equal(run->n_writes, 7);
    assert_int_equal(run->n_writes_confirmed, 6);
    assert_int_equal(run->n_conflicts, 1);
    runload_bumps_release(&b);
    runload_bumps_release(&b);
    runload_free(run);
}

static void truncated_last_rows_are_skipped_with_a_warning(void **state)
{
    struct fx *fx = *state;
    struct history_request r;
    struct runload *run;
    char *err_text;

    r = req("observe", "", "GET", 200, "ok", 10);
    history_request(fx->h, &r);
    history_request(fx->h, &r);
    version_obs(fx, "a", 1, 2, 0, 20);
    close_history(fx);
    write_run_json(fx, T0, T0 + 100 * MS);
    /* A killed writer's last rows, cut mid-field. */
    append_file(fx, "requests.csv", "3,1,observe,,,GET,/api/v2/us");
    append_file(fx, "observations.csv", "a,version,2,\"3");
    capture_stderr_begin();
    assert_int_equal(runload_load(&run, fx->dir), RT_OK);
    err_text = capture_stderr_end();
    assert_int_equal(run->requests.rows, 2);
    assert_int_equal(run->n_obs, 1);
    assert_int_equal(run->truncated_files, 2);
    if (!strstr(err_text, "requests.csv', line 4: skipping the truncated") ||
        !strstr(err_text, "observations.csv', line 3: skipping")) {
        fprintf(stderr, "stderr was: %s\n", err_text);
        fail();
    }
    free(err_text);
    runload_free(run);
}

/* Loading @fx->dir fails with @want_err and logs @want. */
static void load_fails(struct fx *fx, enum rt_err want_err, const char *want)
{
    struct runload *run = NULL;
    enum rt_err err;
    char *err_text;

    capture_stderr_begin();
    err = runload_load(&run, fx->dir);
    err_text = capture_stderr_end();
    if (err != want_err || !strstr(err_text, want)) {
        fprintf(stderr, "got %s, logged \"%s\"; want %s and \"%s\"\n",
                rt_strerror(err), err_text, rt_strerror(want_err), want);
        fail();
    }
    assert_null(run);
    free(err_text);
}

static const char obs_header[] =
    "agent,property,old,new,bracket_start_wall_ns,bracket_end_wall_ns,"
    "bracket_start,bracket_end,server_wall_ns,server_time,source,"
    "request_seq,hidden\n";

static void parse_errors_name_file_and_line(void **state)
{
    struct fx *fx = *state;
    struct history_request r;
    char text[1024];

    r = req("observe", "", "GET", 200, "ok", 10);
    history_request(fx->h, &r);
    history_request(fx->h, &r);
    close_history(fx);
    write_run_json(fx, T0, T0 + 100 * MS);
    /* Good so far; then one bad thing at a time. */
    append_file(fx, "requests.csv",
                "3,1,observe,,,GET,/x,1,1,2,1,,1,1,abc,,,ok,,,,,c,,\n");
    load_fails(fx, RT_EPARSE,
               "requests.csv', line 4: column 'status': 'abc' is not");

    write_file(fx, "requests.csv", "seq,role\n1,observe\n");
    load_fails(fx, RT_EPARSE, "requests.csv', line 1: no column 'op_id'");

    snprintf(text, sizeof(text), "%sa,version,5,4,1,2,,,,,poll,,0\n",
             obs_header);
    write_file(fx, "observations.csv", text);
    load_fails(fx, RT_EPARSE,
               "observations.csv', line 2: version goes from 5 to 4");
    snprintf(text, sizeof(text), "%sa,version,1,4,1,2,,,,,poll,,0\n",
             obs_header);
    write_file(fx, "observations.csv", text);
    load_fails(fx, RT_EPARSE,
               "observations.csv', line 2: hidden is 0, the version moved "
               "by 3");
    snprintf(text, sizeof(text),
             "%sa,presence,x,y,1,2,,,,,poll,,0\n"
             ",routing_status,IDLE,INTERACTING,1,2,,,,,poll,,0\n",
             obs_header);
    write_file(fx, "observations.csv", text);
    load_fails(fx, RT_EPARSE,
               "observations.csv', line 3: column 'agent' is empty");
    snprintf(text, sizeof(text), "%sa,presence,x,y,9,2,,,,,poll,,0\n",
             obs_header);
    write_file(fx, "observations.csv", text);
    load_fails(fx, RT_EPARSE,
               "observations.csv', line 2: the bracket ends before it starts");
    snprintf(text, sizeof(text), "%sa,presence,x,y,1,2,,,,,poll,,0,extra\n",
             obs_header);
    write_file(fx, "observations.csv", text);
    load_fails(fx, RT_EPARSE,
               "observations.csv', line 2: row has 14 fields, the header "
               "has 13");

    snprintf(text, sizeof(text), "%s/observations.csv", fx->dir);
    assert_int_equal(unlink(text), 0);
    load_fails(fx, RT_ENOENT, "cannot open");
}

static void unknown_properties_are_skipped_once(void **state)
{
    struct fx *fx = *state;
    struct runload *run;
    char *err_text;

    state_obs(fx, "a", "station", "s1", "s2", 0, 10, 0);
    state_obs(fx, "a", "station", "s2", "s3", 10, 20, 0);
    version_obs(fx, "a", 1, 2, 20, 30);
    close_history(fx);
    write_run_json(fx, T0, T0 + 100 * MS);
    capture_stderr_begin();
    assert_int_equal(runload_load(&run, fx->dir), RT_OK);
    err_text = capture_stderr_end();
    assert_int_equal(run->n_obs, 1);
    assert_int_equal(run->n_obs_skipped, 2);
    assert_non_null(strstr(err_text, "property 'station'"));
    assert_null(strstr(strstr(err_text, "station") + 1, "property 'station'"));
    free(err_text);
    runload_free(run);
}

static void without_run_json_the_window_comes_from_the_data(void **state)
{
    struct fx *fx = *state;
    struct history_request r;
    struct runload *run;
    char *err_text;

    r = req("observe", "", "GET", 200, "ok", 100);
    history_request(fx->h, &r);
    version_obs(fx, "a", 1, 2, 50, 700);
    close_history(fx);
    capture_stderr_begin();
    assert_int_equal(runload_load(&run, fx->dir), RT_OK);
    err_text = capture_stderr_end();
    assert_non_null(strstr(err_text, "run.json' is missing"));
    free(err_text);
    assert_false(run->has_run_json);
    assert_null(run->scenario);
    assert_string_equal(run->tool_version, "");
    assert_int_equal(run->start_wall_ns, T0 + 50 * MS);
    assert_int_equal(run->end_wall_ns, T0 + 700 * MS);
    runload_free(run);

    write_file(fx, "run.json", "{\"start_wall_ns\": 1,\n \"end_wall_ns\": }\n");
    load_fails(fx, RT_EPARSE, "run.json: invalid JSON at line 2");
}

static const char audit_header[] =
    "audit_id,event_wall_ns,event_iso,agent,service,entity_type,action,"
    "level,status,user_id,user_name,client_id,application,properties,"
    "changes_json\n";

/* run.json with the issue-5 parts: our client, the stream, evidence. */
static void write_run_json_evidence(const struct fx *fx)
{
    write_file(fx, "run.json",
               "{\"version\": \"9.8.7\",\n"
               " \"target\": {\"simulator\": false, \"client_id\": \"me\"},\n"
               " \"start_wall_ns\": 1800000000000000000,\n"
               " \"end_wall_ns\": 1800000000100000000,\n"
               " \"stream\": {\"enabled\": true, \"reconnects\": 2,\n"
               "            \"gap_max_ms\": 400.5},\n"
               " \"evidence\": {\n"
               "  \"audit\": {\"status\": \"ok\", \"message\": null,\n"
               "            \"records\": 3, \"permission\": "
               "\"audits:audit:view\"},\n"
               "  \"analytics\": {\"status\": \"forbidden\",\n"
               "                \"message\": \"403 missing.permissions\",\n"
               "                \"users\": 2, \"transitions\": null,\n"
               "                \"permission\": "
               "\"analytics:userDetail:view\"}}}\n");
}

static void audit_csv_and_run_json_evidence_are_loaded(void **state)
{
    struct fx *fx = *state;
    struct runload *run;
    const struct runload_agent *a;
    char text[2048];

    version_obs(fx, "a", 1, 2, 0, 10);
    version_obs(fx, "b", 1, 2, 0, 10);
    state_obs(fx, "b", "presence", "Available", "Break", 0, 10, 5);
    {
        struct history_observation ob = {
            .agent = "b",
            .property = "routing_status",
            .old_value = "IDLE",
            .new_value = "INTERACTING",
            .bracket_start_wall_ns = T0 + 20 * MS,
            .bracket_end_wall_ns = T0 + 20 * MS,
            .server_wall_ns = T0 + 20 * MS,
            .source = "analytics",
            .request_seq = -1,
        };
        history_observation(fx->h, &ob);
        ob.source = "stream";
        history_observation(fx->h, &ob);
    }
    close_history(fx);
    write_run_json_evidence(fx);
    /* Out of time order, one of an agent the run never saw, quoted
     * fields with commas. */
    snprintf(text, sizeof(text),
             "%s"
             "r2,1800000000000000300,,a,Directory,User,Update,USER,SUCCESS,"
             "u1,\"Doe, Jane\",ui,,version,\"[{\"\"p\"\":1}]\"\n"
             "r1,1800000000000000200,,a,Directory,User,Update,SYSTEM,SUCCESS,"
             ",,crm,CRM,\"version,title\",\n"
             "r3,1800000000000000100,,zz,Directory,User,Update,SYSTEM,,,,crm,"
             ",,\n"
             "r4,1800000000000000100,,b,Routing,Queue,Add,SYSTEM,FAILURE,,,,"
             ",,\n",
             audit_header);
    write_file(fx, "audit.csv", text);
    run = load_ok(fx);
    assert_true(run->has_audit);
    assert_int_equal(run->n_audits, 3);
    assert_int_equal(run->n_audits_unknown_agent, 1);
    a = &run->agents[runload_agent_index(run, "a")];
    assert_int_equal(a->n_audits, 2);
    /* By event time. */
    assert_string_equal(a->audits[0].id, "r1");
    assert_int_equal(a->audits[0].wall_ns, T0 + 200);
    assert_string_equal(a->audits[0].level, "SYSTEM");
    assert_string_equal(a->audits[0].client_id, "crm");
    assert_string_equal(a->audits[0].application, "CRM");
    assert_string_equal(a->audits[0].user_id, "");
    assert_string_equal(a->audits[0].properties, "version,title");
    assert_int_equal(a->audits[0].line, 3);
    assert_string_equal(a->audits[1].id, "r2");
    assert_string_equal(a->audits[1].user_name, "Doe, Jane");
    assert_string_equal(a->audits[1].level, "USER");
    assert_string_equal(a->audits[1].entity_type, "User");
    /* Interned: equal values, equal pointers. */
    assert_ptr_equal(a->audits[0].entity_type, a->audits[1].entity_type);
    a = &run->agents[runload_agent_index(run, "b")];
    assert_int_equal(a->n_audits, 1);
    assert_string_equal(a->audits[0].status, "FAILURE");
    assert_string_equal(a->audits[0].entity_type, "Queue");
    /* The audit adds no agent. */
    assert_int_equal(run->n_agents, 2);
    /* Observations by source. */
    assert_int_equal(run->n_obs_analytics, 1);
    assert_int_equal(run->n_obs_stream, 1);
    /* run.json. */
    assert_string_equal(run->client_id, "me");
    assert_non_null(run->stream);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(run->stream, "enabled")));
    assert_string_equal(run->audit_query.status, "ok");
    assert_null(run->audit_query.message);
    assert_string_equal(run->audit_query.permission, "audits:audit:view");
    assert_int_equal(run->audit_query.records, 3);
    assert_int_equal(run->audit_query.users, -1);
    assert_string_equal(run->analytics_query.status, "forbidden");
    assert_string_equal(run->analytics_query.message,
                        "403 missing.permissions");
    assert_int_equal(run->analytics_query.users, 2);
    assert_int_equal(run->analytics_query.transitions, -1);
    runload_free(run);
}

/* Old runs: no audit.csv, no client id, no stream, no evidence. */
static void runs_without_evidence_load_as_before(void **state)
{
    struct fx *fx = *state;
    struct runload *run;

    version_obs(fx, "a", 1, 2, 0, 10);
    close_history(fx);
    write_run_json(fx, T0, T0 + 100 * MS);
    run = load_ok(fx);
    assert_false(run->has_audit);
    assert_int_equal(run->n_audits, 0);
    assert_int_equal(run->agents[0].n_audits, 0);
    assert_string_equal(run->client_id, "");
    assert_null(run->stream);
    assert_null(run->audit_query.status);
    assert_int_equal(run->audit_query.records, -1);
    assert_null(run->analytics_query.status);
    assert_int_equal(run->analytics_query.transitions, -1);
    runload_free(run);
}

static void malformed_audit_and_evidence_name_file_and_line(void **state)
{
    struct fx *fx = *state;
    char text[1024];

    version_obs(fx, "a", 1, 2, 0, 10);
    close_history(fx);
    write_run_json(fx, T0, T0 + 100 * MS);
    snprintf(text, sizeof(text),
             "%sr1,1800000000000000200,,a,D,User,Update,USER,SUCCESS,,,,,,\n"
             "r2,soon,,a,D,User,Update,USER,SUCCESS,,,,,,\n",
             audit_header);
    write_file(fx, "audit.csv", text);
    load_fails(fx, RT_EPARSE,
               "audit.csv', line 3: column 'event_wall_ns': 'soon' is not");
    snprintf(text, sizeof(text),
             "%sr1,1800000000000000200,,,D,User,Update,USER,SUCCESS,,,,,,\n",
             audit_header);
    write_file(fx, "audit.csv", text);
    load_fails(fx, RT_EPARSE, "audit.csv', line 2: column 'agent' is empty");
    snprintf(text, sizeof(text), "%sr1,0,,a,D,User,Update,USER,,,,,,,\n",
             audit_header);
    write_file(fx, "audit.csv", text);
    load_fails(fx, RT_EPARSE,
               "audit.csv', line 2: event_wall_ns 0 is not a time");
    write_file(fx, "audit.csv",
               "audit_id,event_wall_ns,agent\nr1,1800000000000000200,a\n");
    load_fails(fx, RT_EPARSE, "audit.csv', line 1: no column 'service'");
    snprintf(text, sizeof(text), "%sr1,1,,a,D,User,Update,USER,,,,,,\n",
             audit_header);
    write_file(fx, "audit.csv", text);
    load_fails(fx, RT_EPARSE,
               "audit.csv', line 2: row has 14 fields, the header has 15");
    write_file(fx, "audit.csv", audit_header);

    write_file(fx, "run.json",
               "{\"start_wall_ns\": 1, \"end_wall_ns\": 2,\n"
               " \"evidence\": {\"audit\": {\"status\": 3}}}\n");
    load_fails(fx, RT_EPARSE,
               "run.json: evidence.audit.status: expected a "
               "string");
    write_file(fx, "run.json",
               "{\"start_wall_ns\": 1, \"end_wall_ns\": 2,\n"
               " \"evidence\": {\"analytics\": {\"transitions\": -4}}}\n");
    load_fails(fx, RT_EPARSE, "run.json: evidence.analytics.transitions");
    write_file(fx, "run.json",
               "{\"start_wall_ns\": 1, \"end_wall_ns\": 2, \"stream\": 7}\n");
    load_fails(fx, RT_EPARSE, "run.json: stream: must be an object");
    write_file(fx, "run.json",
               "{\"start_wall_ns\": 1, \"end_wall_ns\": 2,\n"
               " \"target\": {\"client_id\": false}}\n");
    load_fails(fx, RT_EPARSE, "run.json: target.client_id: expected a string");
}

static void truth_is_loaded_apart_and_indexed_like_the_run(void **state)
{
    struct fx *fx = *state;
    struct runload_truth *t = NULL;
    const struct runload_truth_bump *tb;
    struct runload *run;
    char text[2048];

    version_obs(fx, "a", 1, 3, 0, 100);
    version_obs(fx, "b", 1, 2, 0, 100);
    close_history(fx);
    write_run_json(fx, T0, T0 + 100 * MS);
    run = load_ok(fx);
    /* No truth.csv: a real org. */
    assert_int_equal(runload_truth_load(&t, run, fx->dir), RT_OK);
    assert_null(t);
    snprintf(text, sizeof(text),
             "time_wall_ns,time,agent,property,old,new,cause,correlation_id\n"
             "%lld,,a,version,2,3,routing-engine,c2\n"
             "%lld,,a,version,1,2,client:me,c1\n"
             "%lld,,a,routing_status,IDLE,INTERACTING,world,\n"
             "%lld,,zz,version,1,2,admin,c9\n"
             "%lld,,b,version,1,2,routing-engine,c3\n",
             (long long)(T0 + 60 * MS), (long long)(T0 + 30 * MS),
             (long long)(T0 + 10 * MS), (long long)(T0 + 40 * MS),
             (long long)(T0 + 50 * MS));
    write_file(fx, "truth.csv", text);
    assert_int_equal(runload_truth_load(&t, run, fx->dir), RT_OK);
    assert_non_null(t);
    assert_int_equal(t->n_agents, run->n_agents);
    assert_int_equal(t->n_bumps, 3);
    assert_int_equal(t->n_unknown_agent_bumps, 1);
    tb = runload_truth_find(t, runload_agent_index(run, "a"), 2);
    assert_non_null(tb);
    assert_string_equal(tb->cause, "client:me");
    assert_string_equal(tb->correlation_id, "c1");
    assert_int_equal(tb->wall_ns, T0 + 30 * MS);
    tb = runload_truth_find(t, runload_agent_index(run, "a"), 3);
    assert_string_equal(tb->cause, "routing-engine");
    assert_ptr_equal(
        tb->cause,
        runload_truth_find(t, runload_agent_index(run, "b"), 2)->cause);
    assert_null(runload_truth_find(t, runload_agent_index(run, "a"), 4));
    assert_null(runload_truth_find(t, RUNLOAD_NONE, 2));
    runload_truth_free(t);
    /* Malformed truth names its line too. */
    write_file(fx, "truth.csv",
               "time_wall_ns,time,agent,property,old,new,cause,correlation_id\n"
               "1,,a,version,3,3,x,y\n");
    capture_stderr_begin();
    assert_int_equal(runload_truth_load(&t, run, fx->dir), RT_EPARSE);
    free(capture_stderr_end());
    assert_null(t);
    runload_free(run);
}

/* The histogram's quantiles against exact nearest-rank quantiles. */
static void latency_quantiles_are_within_the_bucket_precision(void **state)
{
    struct fx *fx = *state;
    struct history_request r;
    struct runload *run;
    const struct runload_hist *h;
    const double qs[] = {0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1};
    enum { N = 2000 };
    int64_t lat[N];

    /* Latencies spread over five decades, in shuffled order. */
    for (int i = 0; i < N; i++) {
        lat[i] = (int64_t)(50.0 * pow(10.0, 5.0 * i / (N - 1)));
        r = req("observe", "", "GET", 200, "ok", i);
        r.latency_ns = lat[i];
        history_request(fx->h, &r);
    }
    close_history(fx);
    write_run_json(fx, T0, T0 + N * MS);
    run = load_ok(fx);
    h = &run->requests.latency;
    assert_int_equal(h->n, N);
    assert_int_equal(h->min_ns, lat[0]);
    assert_int_equal(h->max_ns, lat[N - 1]);
    for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
        /* Nearest rank: the ceil(q N)-th smallest (lat[] is ascending). */
        size_t rank = qs[k] == 0 ? 1 : (size_t)ceil(qs[k] * N);
        double want = (double)lat[rank - 1];
        double got = runload_hist_quantile(h, qs[k]);
        if (fabs(got - want) > want / 256.0 + 0.5) {
            fprintf(stderr, "q %g: got %.0f, want %.0f\n", qs[k], got, want);
            fail();
        }
    }
    assert_true(isnan(runload_hist_quantile(h, 1.5)));
    assert_true(isnan(runload_hist_quantile(h, NAN)));
    assert_true(isnan(
        runload_hist_quantile(run->requests.latency_by_status[200], -0.1)));
    assert_null(run->requests.latency_by_status[0]);
    runload_free(run);
}

/*
 * The roles around the job: a snapshot before its writes, a restore after
 * them (with a conflict of its own), the evidence queries after the run,
 * the stream's requests during it.  Every request is counted by status,
 * kind and role; only the replay's conflicts are the job's; the
 * per-second outcomes and latencies cover the run's own traffic.
 */
static void
only_the_runs_traffic_is_timed_and_only_replay_conflicts(void **state)
{
    struct fx *fx = *state;
    struct history_request r;
    struct runload *run;
    uint64_t ok = 0, conflict = 0, throttled = 0, error = 0;

    r = req("snapshot", "a", "GET", 200, "ok", 500);
    r.latency_ns = 90 * MS;
    history_request(fx->h, &r);
    r = req("auth", "", "POST", 200, "ok", 1000);
    r.route = "/oauth/token";
    history_request(fx->h, &r);
    r = req("stream", "", "POST", 200, "ok", 1100);
    r.route = "/api/v2/notifications/channels";
    history_request(fx->h, &r);
    r = req("observe", "", "GET", 200, "ok", 1200);
    history_request(fx->h, &r);
    write_req(fx, "a", 1, 4, 409, "conflict", 2500);
    write_req(fx, "a", 2, 5, 200, "ok", 2600);
    /* The restore's versioned write meets someone else's change. */
    r = req("restore", "a", "PUT", 409, "conflict", 4000);
    r.version_sent = 6;
    r.latency_ns = 70 * MS;
    history_request(fx->h, &r);
    r = req("restore", "a", "PUT", 200, "ok", 4100);
    history_request(fx->h, &r);
    r = req("audit", "", "POST", 429, "throttled", 6000);
    r.latency_ns = 80 * MS;
    history_request(fx->h, &r);
    r = req("audit", "", "GET", 200, "ok", 7000);
    r.latency_ns = 80 * MS;
    history_request(fx->h, &r);
    r = req("analytics", "", "POST", 200, "ok", 7100);
    r.latency_ns = 80 * MS;
    history_request(fx->h, &r);
    close_history(fx);
    write_run_json(fx, T0 + 1000 * MS, T0 + 5000 * MS);

    run = load_ok(fx);
    /* Every request counted. */
    assert_int_equal(run->requests.rows, 11);
    assert_int_equal(run->requests.by_status[200], 8);
    assert_int_equal(run->requests.by_status[409], 2);
    assert_int_equal(run->requests.by_status[429], 1);
    assert_int_equal(runload_kind_count(run, "conflict"), 2);
    assert_int_equal(runload_role_count(run, "restore"), 2);
    assert_int_equal(runload_role_count(run, "audit"), 2);
    /* The job's conflict only. */
    assert_int_equal(run->n_conflicts, 1);
    assert_string_equal(run->conflicts[0].role, "replay");
    assert_int_equal(run->conflicts[0].version_sent, 4);
    assert_int_equal(run->requests.conflicts_other_roles, 1);
    /* Timed: auth, stream, observe and the replay's two (2 ms each). */
    assert_int_equal(run->requests.latency.n, 5);
    assert_int_equal(run->requests.latency.max_ns, 2 * MS);
    assert_int_equal(run->requests.latency_by_status[409]->n, 1);
    assert_null(run->requests.latency_by_status[429]);
    /* Seconds from the first of them (the auth at 1 s), not the
     * snapshot's read. */
    assert_int_equal(run->requests.per_second_base_ns, T0 + 1000 * MS);
    assert_int_equal(run->requests.n_seconds, 2);
    for (size_t i = 0; i < run->requests.n_seconds; i++) {
        ok += run->requests.per_second[i].ok;
        conflict += run->requests.per_second[i].conflict;
        throttled += run->requests.per_second[i].throttled;
        error += run->requests.per_second[i].error;
    }
    assert_int_equal(ok, 4);
    assert_int_equal(conflict, 1);
    assert_int_equal(throttled + error, 0);
    runload_free(run);
}

static void a_dry_run_is_loaded_with_its_listed_writes(void **state)
{
    struct fx *fx = *state;
    struct runload *run;

    operation(fx, 1, "a", 3, "dry_run", -1, 100);
    close_history(fx);
    write_file(fx, "run.json",
               "{\"version\": \"9.8.7\", \"dry_run\": true,\n"
               " \"start_wall_ns\": 1800000000000000000,\n"
               " \"end_wall_ns\": 1800000000100000000,\n"
               " \"counts\": {\"operations\": {\"ok\": 0, \"dry_run\": 7}}}\n");
    run = load_ok(fx);
    assert_true(run->dry_run);
    assert_int_equal(run->dry_run_writes, 7);
    assert_string_equal(run->ops[0].outcome, "dry_run");
    runload_free(run);

    /* A run that was not one says so, or says nothing (older runs). */
    write_file(fx, "run.json",
               "{\"dry_run\": false, \"start_wall_ns\": 1, \"end_wall_ns\": "
               "2}\n");
    run = load_ok(fx);
    assert_false(run->dry_run);
    assert_int_equal(run->dry_run_writes, -1);
    runload_free(run);
    write_run_json(fx, T0, T0 + 100 * MS);
    run = load_ok(fx);
    assert_false(run->dry_run);
    assert_int_equal(run->dry_run_writes, -1);
    runload_free(run);

    write_file(fx, "run.json", "{\"dry_run\": \"yes\"}\n");
    load_fails(fx, RT_EPARSE, "dry_run");
    write_file(fx, "run.json",
               "{\"counts\": {\"operations\": {\"dry_run\": -3}}}\n");
    load_fails(fx, RT_EPARSE, "counts.operations.dry_run");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            loads_timelines_writes_conflicts_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(
            own_and_foreign_bumps_follow_the_matching_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(
            truncated_last_rows_are_skipped_with_a_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(parse_errors_name_file_and_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unknown_properties_are_skipped_once,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            without_run_json_the_window_comes_from_the_data, setup, teardown),
        cmocka_unit_test_setup_teardown(
            audit_csv_and_run_json_evidence_are_loaded, setup, teardown),
        cmocka_unit_test_setup_teardown(runs_without_evidence_load_as_before,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            malformed_audit_and_evidence_name_file_and_line, setup, teardown),
        cmocka_unit_test_setup_teardown(
            truth_is_loaded_apart_and_indexed_like_the_run, setup, teardown),
        cmocka_unit_test_setup_teardown(
            latency_quantiles_are_within_the_bucket_precision, setup, teardown),
        cmocka_unit_test_setup_teardown(
            only_the_runs_traffic_is_timed_and_only_replay_conflicts, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            a_dry_run_is_loaded_with_its_listed_writes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
