/*
 * `racetrace analyze` on synthetic runs with the issue-5 evidence: an
 * audit.csv naming who wrote the foreign bumps, run.json saying what the
 * audit and analytics queries returned and what the notifications stream
 * went through.  Checks what reaches the files people and machines read
 * (summary.json "evidence", verdict.writer, bumps.csv and conflicts.csv
 * writer and time columns, summary.md), that a second analysis writes the
 * same bytes, that a malformed audit.csv stops the analysis with one line
 * naming the file and the line (exit 2 through the binary), and that a
 * dry run's outcomes are counted as such and said plainly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/clock.h"
#include "base/csv.h"
#include "base/xalloc.h"
#include "harness/history.h"
#include "report/analyze.h"
#include "support/capture.h"
#include "support/csvread.h"
#include "support/files.h"
#include "support/spawn.h"

#define T0 INT64_C(1800000000000000000)
#define MS INT64_C(1000000)
#define N_INT 8 /* agents the integration writes to */

#define CRM_LABEL                                                              \
    "OAuth client 'crm-sync-client' (application 'CRM Sync', level SYSTEM)"

struct fx {
    char dir[512];
    struct history *h;
    struct csv *audit;
};

static int setup_all(void **state)
{
    (void)state;
    return files_scratch_begin("rt-test-analyze-evidence");
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
    free(fx);
    return 0;
}

static const char *in_run(const struct fx *fx, const char *name)
{
    static char path[700];

    snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
    return path;
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

static void state_obs(struct fx *fx, const char *source, const char *agent,
                      const char *old_v, const char *new_v, int64_t start_ms,
                      int64_t end_ms, int64_t server_ms)
{
    struct history_observation ob = {
        .agent = agent,
        .property = "routing_status",
        .old_value = old_v,
        .new_value = new_v,
        .bracket_start_wall_ns = T0 + start_ms * MS,
        .bracket_end_wall_ns = T0 + end_ms * MS,
        .server_wall_ns = T0 + server_ms * MS,
        .source = source,
        .request_seq = -1,
    };
    history_observation(fx->h, &ob);
}

/* A replay PATCH sending @version_sent: 200 or 409. */
static void write_req(struct fx *fx, const char *agent, int64_t op_id,
                      int64_t version_sent, int status, int64_t send_ms)
{
    struct history_request r = {
        .thread = 1,
        .role = "replay",
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
        .transport_error = "",
        .error_code = status == 409 ? "general.conflict" : "",
        .kind = status == 409 ? "conflict" : "ok",
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

static void operation(struct fx *fx, int64_t op_id, const char *agent,
                      int64_t read_v, const char *outcome, int64_t final_v,
                      int64_t read_ms, int64_t write_ms)
{
    struct history_operation op = {
        .op_id = op_id,
        .strategy = "bulk-stale",
        .agent = agent,
        .read_version = read_v,
        .read_versions = "",
        .attempts = 1,
        .outcome = outcome,
        .final_version = final_v,
        .requests = 2,
        .start_wall_ns = T0 + read_ms * MS,
        .first_read_wall_ns = T0 + read_ms * MS,
        .last_write_wall_ns = T0 + write_ms * MS,
        .end_wall_ns = T0 + (write_ms + 5) * MS,
        .last_status = 200,
        .last_correlation_id = "op-corr",
        .intent = "department=x",
    };
    history_operation(fx->h, &op);
}

static void audit_row(struct fx *fx, const char *id, const char *agent,
                      int64_t at_ms, const char *level, const char *client,
                      const char *application)
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
    csv_row_str(&row, "User");
    csv_row_str(&row, "Update");
    csv_row_str(&row, level);
    csv_row_str(&row, "SUCCESS");
    csv_row_str(&row, "");
    csv_row_str(&row, "");
    csv_row_str(&row, client);
    csv_row_str(&row, application);
    csv_row_str(&row, "preferredName");
    csv_row_str(&row, "");
    assert_int_equal(csv_write_row(fx->audit, &row), RT_OK);
    csv_row_release(&row);
}

/*
 * An integration run: N_INT agents, each written once by the job (our
 * client's record) and then by the integration (its record); agent
 * int-00's job operation read before the integration's bump and got a
 * 409 for it.  A slow poll and the analytics history of one agent, and
 * a stream with two reconnects.  The audit query saw everything; the
 * analytics query was refused.
 */
/* run.json "stream" as the brief's contract has it, and as the stream's
 * own counters name it (nanoseconds, reread_changes, no "enabled"). */
static const char stream_ms[] =
    "{\"enabled\": true, \"channels\": 1,\n"
    "   \"topics\": 16, \"events\": 40, \"heartbeats\": 2,\n"
    "   \"reconnects\": 2, \"socket_closing\": 1, \"drops\": 1,\n"
    "   \"silences\": 0, \"gaps\": 2, \"gap_total_ms\": 600,\n"
    "   \"gap_max_ms\": 400, \"resync_changes\": 3}";
static const char stream_ns[] =
    "{\"channels\": 1, \"topics\": 16, \"events\": 40,\n"
    "   \"heartbeats\": 2, \"reconnects\": 1, \"socket_closing\": 0,\n"
    "   \"drops\": 1, \"silences\": 0, \"gaps\": 1,\n"
    "   \"gap_total_ns\": 250000000, \"gap_max_ns\": 250000000,\n"
    "   \"reread_changes\": 1}";

static void plant(struct fx *fx, const char *analytics_status,
                  const char *stream)
{
    char text[2048];

    for (int a = 0; a < N_INT; a++) {
        char id[32], rid[32];
        int64_t t = 5000 + (int64_t)a * 7000;
        snprintf(id, sizeof(id), "int-%02d", a);
        operation(fx, a + 1, id, 1, "ok", 2, t - 2100, t - 2000);
        write_req(fx, id, a + 1, 1, 200, t - 2000);
        version_obs(fx, id, 1, 2, t - 2050, t - 1900);
        snprintf(rid, sizeof(rid), "own-%d", a);
        audit_row(fx, rid, id, t - 1950, "SYSTEM", "racetrace-client", "");
        version_obs(fx, id, 2, 3, t - 100, t + 100);
        snprintf(rid, sizeof(rid), "crm-%d", a);
        audit_row(fx, rid, id, t, "SYSTEM", "crm-sync-client", "CRM Sync");
    }
    /* The conflict: read version 2 at 4.0 s, integration's 3 seen at
     * 4.9..5.1 s, write of 2 at 5.5 s refused. */
    operation(fx, 100, "int-00", 2, "conflict", -1, 4000, 5500);
    write_req(fx, "int-00", 100, 2, 409, 5500);
    /* The restore after the run meets a change too: not the job's. */
    {
        struct history_request r = {
            .thread = 2,
            .role = "restore",
            .op_id = -1,
            .agent = "int-00",
            .method = "PUT",
            .route = "/api/v2/users/{id}",
            .intended_wall_ns = T0 + 69000 * MS,
            .send_wall_ns = T0 + 69000 * MS,
            .recv_wall_ns = T0 + 69003 * MS,
            .send_mono_ns = 69000 * MS,
            .latency_ns = 3 * MS,
            .latency_intended_ns = 3 * MS,
            .status = 409,
            .transport_error = "",
            .error_code = "general.conflict",
            .kind = "conflict",
            .retry_after_s = -1,
            .ratelimit_count = -1,
            .ratelimit_allowed = -1,
            .ratelimit_reset = -1,
            .correlation_id = "restore-corr",
            .version_sent = 3,
            .agents_in_request = -1,
        };
        history_request(fx->h, &r);
    }
    /* Routing of int-01: the poll saw one change; analytics had two. */
    state_obs(fx, "poll", "int-01", "IDLE", "INTERACTING", 20000, 30000, 29000);
    state_obs(fx, "analytics", "int-01", "IDLE", "INTERACTING", 22000, 22000,
              22000);
    state_obs(fx, "analytics", "int-01", "INTERACTING", "IDLE", 25000, 25000,
              25000);
    state_obs(fx, "analytics", "int-01", "IDLE", "INTERACTING", 29000, 29000,
              29000);
    assert_int_equal(history_close(fx->h), RT_OK);
    fx->h = NULL;
    assert_int_equal(csv_close(fx->audit), RT_OK);
    fx->audit = NULL;
    snprintf(text, sizeof(text),
             "{\"version\": \"0.0.0-test\",\n"
             " \"target\": {\"simulator\": false, \"label\": \"sandbox\",\n"
             "            \"client_id\": \"racetrace-client\"},\n"
             " \"start_wall_ns\": 1800000000000000000,\n"
             " \"end_wall_ns\": 1800000070000000000,\n"
             " \"interrupted\": false,\n"
             " \"stream\": %s,\n"
             " \"evidence\": {\n"
             "   \"audit\": {\"status\": \"ok\", \"message\": null,\n"
             "             \"records\": %d, \"permission\": null},\n"
             "   \"analytics\": {\"status\": \"%s\",\n"
             "     \"message\": \"HTTP 403 missing.permissions\",\n"
             "     \"permission\": \"analytics:userDetail:view\",\n"
             "     \"users\": %d, \"transitions\": 3}},\n"
             " \"scenario\": {\"name\": \"synthetic-integration\", "
             "\"seed\": 3}}\n",
             stream, 2 * N_INT, analytics_status, N_INT);
    files_write_text(in_run(fx, "run.json"), text);
}

static void analyze_expect(const struct fx *fx, enum diag_cause cause)
{
    struct analyze_opts opts = {
        .permutations = 199,
        .gnuplot = "/nonexistent/gnuplot",
        .quiet = 1,
    };
    struct analyze_result res;

    capture_stderr_begin();
    {
        enum rt_err err = analyze_run(fx->dir, &opts, &res);
        char *log = capture_stderr_end();
        if (err) {
            fprintf(stderr, "analyze: %s\n%s\n", rt_strerror(err), log);
            free(log);
            fail();
        }
        free(log);
    }
    assert_int_equal(res.cause, cause);
}

static void analyze_ok(const struct fx *fx)
{
    analyze_expect(fx, DIAG_CAUSE_OTHER_WRITER);
}

static cJSON *load_json(const struct fx *fx, const char *name)
{
    char *text = files_read(in_run(fx, name), NULL);
    cJSON *o = cJSON_Parse(text);

    free(text);
    assert_non_null(o);
    return o;
}

static const cJSON *at(const cJSON *o, const char *path)
{
    char key[64];

    while (o && *path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof(key), "%.*s", (int)n, path);
        o = cJSON_GetObjectItemCaseSensitive(o, key);
        path += n + (path[n] == '.');
    }
    return o;
}

static void expect_num(const cJSON *root, const char *path, double want)
{
    const cJSON *v = at(root, path);

    if (!cJSON_IsNumber(v) || v->valuedouble != want) {
        char *got = v ? cJSON_PrintUnformatted(v) : NULL;
        fprintf(stderr, "%s: got %s, want %g\n", path, got ? got : "nothing",
                want);
        free(got);
        fail();
    }
}

static void expect_str(const cJSON *root, const char *path, const char *want)
{
    const cJSON *v = at(root, path);

    if (!cJSON_IsString(v) || strcmp(v->valuestring, want)) {
        char *got = v ? cJSON_PrintUnformatted(v) : NULL;
        fprintf(stderr, "%s: got %s, want \"%s\"\n", path,
                got ? got : "nothing", want);
        free(got);
        fail();
    }
}

static void the_audit_names_the_integration_in_every_output(void **state)
{
    struct fx *fx = *state;
    struct csvread *csv;
    cJSON *s;
    char *md;
    int c_attr, c_writer, c_level, c_audit, c_pattern, c_agent, c_version;
    int c_time, c_time_ns, c_source;
    size_t named = 0;

    plant(fx, "forbidden", stream_ms);
    analyze_ok(fx);
    s = load_json(fx, "summary.json");

    /* The verdict names the client, with its share. */
    expect_str(s, "verdict.cause", "other-writer");
    expect_str(s, "verdict.signal", "audit");
    expect_str(s, "verdict.writer.writer", CRM_LABEL);
    expect_str(s, "verdict.writer.kind", "client");
    expect_str(s, "verdict.writer.client_id", "crm-sync-client");
    expect_str(s, "verdict.writer.level", "SYSTEM");
    expect_num(s, "verdict.writer.bumps", N_INT);
    expect_num(s, "verdict.writer.of", N_INT);
    assert_non_null(strstr(cJSON_GetStringValue(at(s, "verdict.headline")),
                           CRM_LABEL " wrote 8 of 8 foreign bumps"));
    /* Attribution: the audit's count, each bump once. */
    expect_num(s, "attribution.audit", N_INT);
    expect_num(s, "attribution.unexplained", 0);
    /* What the run could see. */
    expect_str(s, "evidence.audit.status", "ok");
    expect_num(s, "evidence.audit.records", 2 * N_INT);
    expect_num(s, "evidence.audit.attributed", N_INT);
    expect_num(s, "evidence.audit.own_records", N_INT);
    expect_str(s, "evidence.audit.own_client", "racetrace-client");
    assert_int_equal(cJSON_GetArraySize(at(s, "evidence.audit.writers")), 1);
    expect_str(s, "evidence.analytics.status", "forbidden");
    expect_str(s, "evidence.analytics.permission", "analytics:userDetail:view");
    expect_num(s, "evidence.analytics.missed_by_polling.routing_status", 2);
    expect_num(s, "evidence.analytics.missed_by_polling.total", 2);
    expect_num(s, "evidence.stream.reconnects", 2);
    expect_num(s, "evidence.stream.gap_max_ms", 400);
    expect_num(s, "counts.transitions.by_source.analytics", 3);
    expect_num(s, "counts.transitions.duplicates", 1);
    /* Every foreign bump is timed by its record. */
    expect_num(s, "evidence.audit.timed", N_INT);
    /* The job's conflict; the restore's is counted apart. */
    expect_num(s, "conflicts.total", 1);
    expect_num(s, "conflicts.other_roles", 1);
    expect_num(s, "counts.requests.by_status.409", 2);
    expect_num(s, "counts.requests.by_role.restore", 1);
    cJSON_Delete(s);

    /* bumps.csv: the best evidence and the writer, the timing kept. */
    csv = csvread_load(in_run(fx, "bumps.csv"));
    assert_non_null(csv);
    c_agent = csvread_col(csv, "agent");
    c_version = csvread_col(csv, "version");
    c_attr = csvread_col(csv, "attribution");
    c_pattern = csvread_col(csv, "pattern");
    c_writer = csvread_col(csv, "writer");
    c_level = csvread_col(csv, "writer_level");
    c_audit = csvread_col(csv, "audit_id");
    c_time = csvread_col(csv, "time");
    c_time_ns = csvread_col(csv, "time_wall_ns");
    c_source = csvread_col(csv, "time_source");
    assert_true(c_attr >= 0 && c_pattern >= 0 && c_writer >= 0 &&
                c_level >= 0 && c_audit >= 0 && c_time >= 0 && c_time_ns >= 0 &&
                c_source >= 0);
    for (size_t r = 0; r < csvread_rows(csv); r++) {
        int64_t v = csvread_i64(csv, r, c_version, 0);
        int64_t t = -1;
        char iso[40];
        for (int a = 0; a < N_INT; a++) {
            char id[32];
            snprintf(id, sizeof(id), "int-%02d", a);
            if (!strcmp(csvread_field(csv, r, c_agent), id))
                t = 5000 + (int64_t)a * 7000;
        }
        assert_true(t > 0);
        if (v == 2) {
            assert_string_equal(csvread_field(csv, r, c_attr), "own");
            assert_string_equal(csvread_field(csv, r, c_writer), "");
            /* Our own write: its bracket end. */
            assert_string_equal(csvread_field(csv, r, c_source), "bracket");
            assert_int_equal(csvread_i64(csv, r, c_time_ns, 0),
                             T0 + (t - 1900) * MS);
            continue;
        }
        /* The integration's: the time of its record, the bracket kept. */
        assert_string_equal(csvread_field(csv, r, c_source), "audit");
        assert_int_equal(csvread_i64(csv, r, c_time_ns, 0), T0 + t * MS);
        assert_non_null(iso8601_format_ms(T0 + t * MS, iso, sizeof(iso)));
        assert_string_equal(csvread_field(csv, r, c_time), iso);
        assert_int_equal(
            csvread_i64(csv, r, csvread_col(csv, "bracket_end_wall_ns"), 0),
            T0 + (t + 100) * MS);
        assert_int_equal(v, 3);
        assert_string_equal(csvread_field(csv, r, c_attr), "audit");
        assert_string_equal(csvread_field(csv, r, c_pattern), "unexplained");
        assert_string_equal(csvread_field(csv, r, c_writer), CRM_LABEL);
        assert_string_equal(csvread_field(csv, r, c_level), "SYSTEM");
        /* The agent's own record: int-0K was written by crm-K. */
        for (int a = 0; a < N_INT; a++) {
            char id[32], rid[32];
            snprintf(id, sizeof(id), "int-%02d", a);
            snprintf(rid, sizeof(rid), "crm-%d", a);
            if (!strcmp(csvread_field(csv, r, c_agent), id))
                assert_string_equal(csvread_field(csv, r, c_audit), rid);
        }
        named++;
    }
    assert_int_equal(named, N_INT);
    csvread_free(csv);

    /* conflicts.csv: the bump between read and write, and its writer. */
    csv = csvread_load(in_run(fx, "conflicts.csv"));
    assert_non_null(csv);
    assert_int_equal(csvread_rows(csv), 1);
    assert_string_equal(
        csvread_field(csv, 0, csvread_col(csv, "cause_attribution")),
        "unexplained");
    assert_string_equal(csvread_field(csv, 0, csvread_col(csv, "cause_writer")),
                        CRM_LABEL);
    assert_string_equal(
        csvread_field(csv, 0, csvread_col(csv, "cause_writer_level")),
        "SYSTEM");
    assert_string_equal(
        csvread_field(csv, 0, csvread_col(csv, "cause_audit_id")), "crm-0");
    csvread_free(csv);

    /* summary.md in plain words. */
    md = files_read(in_run(fx, "summary.md"), NULL);
    assert_non_null(strstr(md, "> Analytics: not permitted — the OAuth "
                               "client lacks analytics:userDetail:view "
                               "(HTTP 403 missing.permissions); transitions "
                               "between polls may have been missed.\n"));
    assert_non_null(strstr(md, "Stream: 2 reconnects (1 socket_closing, 1 "
                               "dropped socket, 0 silences), longest gap "
                               "0.4 s (0.6 s in 2 gaps); 3 changes found by "
                               "re-reads after gaps."));
    assert_non_null(strstr(md, "\nAudit: 16 records read for the tracked "
                               "agents; the writer of 8 of 8 foreign bumps "
                               "is named (0 ambiguous). 8 of them are timed "
                               "by the audit's own time of the write instead "
                               "of the observers' bracket."));
    free(md);
}

/* Every output of two analyses of one run agrees byte for byte, once the
 * analysis's own timestamp is blanked. */
static void a_second_analysis_writes_the_same_bytes(void **state)
{
    static const char *const files[] = {"bumps.csv",       "conflicts.csv",
                                        "association.csv", "summary.json",
                                        "summary.md",      "report.html"};
    struct fx *fx = *state;
    char *before[6], *gen[2];
    size_t lb[6];

    plant(fx, "ok", stream_ns);
    for (int pass = 0; pass < 2; pass++) {
        cJSON *s;
        analyze_ok(fx);
        s = load_json(fx, "summary.json");
        gen[pass] = xstrdup(cJSON_GetStringValue(at(s, "analysis.generated")));
        cJSON_Delete(s);
        for (size_t i = 0; i < 6; i++) {
            size_t len;
            char *text = files_read(in_run(fx, files[i]), &len);
            for (char *p = strstr(text, gen[pass]); p; p = strstr(p, gen[pass]))
                memset(p, '#', strlen(gen[pass]));
            if (pass == 0) {
                before[i] = text;
                lb[i] = len;
                continue;
            }
            if (len != lb[i] || memcmp(text, before[i], len)) {
                fprintf(stderr, "%s differs between two analyses\n", files[i]);
                fail();
            }
            free(text);
            free(before[i]);
        }
    }
    free(gen[0]);
    free(gen[1]);
    /* The stream's own counter names, given the contract's too. */
    {
        cJSON *s = load_json(fx, "summary.json");
        char *md = files_read(in_run(fx, "summary.md"), NULL);
        assert_true(cJSON_IsTrue(at(s, "evidence.stream.enabled")));
        expect_num(s, "evidence.stream.gap_max_ms", 250);
        expect_num(s, "evidence.stream.gap_total_ms", 250);
        expect_num(s, "evidence.stream.gap_max_ns", 250000000);
        expect_num(s, "evidence.stream.resync_changes", 1);
        assert_non_null(strstr(md, "Stream: 1 reconnect (0 socket_closing, 1 "
                                   "dropped socket, 0 silences), longest gap "
                                   "0.2 s (0.2 s in 1 gap); 1 change found "
                                   "by re-reads after gaps."));
        free(md);
        cJSON_Delete(s);
    }
}

static void a_malformed_audit_csv_stops_the_analysis(void **state)
{
    struct fx *fx = *state;
    struct analyze_opts opts = {.quiet = 1, .gnuplot = "/nonexistent/gp"};
    struct analyze_result res;
    char bin[1024], err_path[700], *log, *nl;
    char *argv[] = {bin, "analyze", fx->dir, "-q", NULL};
    int status;
    pid_t pid;

    plant(fx, "ok", stream_ms);
    files_append_text(in_run(fx, "audit.csv"),
                      "bad,not-a-time,,int-00,Directory,User,Update,SYSTEM,"
                      "SUCCESS,,,x,,,\n");
    capture_stderr_begin();
    assert_int_equal(analyze_run(fx->dir, &opts, &res), RT_EPARSE);
    log = capture_stderr_end();
    assert_non_null(strstr(log, "audit.csv', line 18: column "
                                "'event_wall_ns': 'not-a-time' is not"));
    free(log);
    /* Nothing was written. */
    assert_false(files_exists(in_run(fx, "summary.json")));

    /* Through the binary: exit 2, one line naming the file and line. */
    spawn_find_binary(bin, sizeof(bin));
    snprintf(err_path, sizeof(err_path), "%s.err", fx->dir);
    pid = spawn_quiet(bin, argv, err_path);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    log = files_read(err_path, NULL);
    nl = strchr(log, '\n');
    assert_non_null(nl);
    assert_string_equal(nl + 1, "");
    assert_non_null(strstr(log, "audit.csv', line 18: "));
    free(log);
}

/* A dry run (racetrace run --dry-run): every operation read its agent and
 * listed its write instead of sending it.  No outcome is "unknown", and
 * every document says plainly that no write was sent, and how many
 * would have been. */
static void a_dry_run_says_no_write_was_sent(void **state)
{
    struct fx *fx = *state;
    struct csvread *csv;
    cJSON *s;
    char *md, *html;

    for (int a = 0; a < 6; a++) {
        char id[32];
        struct history_operation op = {
            .op_id = a + 1,
            .strategy = a < 3 ? "bulk-stale" : "retry",
            .read_version = 1,
            .read_versions = "1",
            .attempts = 0,
            .outcome = "dry_run",
            .final_version = -1,
            .requests = 1,
            .start_wall_ns = T0 + (1000 + a * 100) * MS,
            .first_read_wall_ns = T0 + (1000 + a * 100) * MS,
            .end_wall_ns = T0 + (1010 + a * 100) * MS,
            .last_status = 200,
            .last_correlation_id = "read-corr",
            .intent = "department=x",
        };
        snprintf(id, sizeof(id), "dry-%02d", a);
        op.agent = id;
        history_operation(fx->h, &op);
    }
    assert_int_equal(history_close(fx->h), RT_OK);
    fx->h = NULL;
    files_write_text(in_run(fx, "run.json"),
                     "{\"version\": \"0.0.0-test\", \"dry_run\": true,\n"
                     " \"target\": {\"simulator\": false},\n"
                     " \"start_wall_ns\": 1800000000000000000,\n"
                     " \"end_wall_ns\": 1800000010000000000,\n"
                     " \"interrupted\": false,\n"
                     " \"counts\": {\"operations\": {\"ok\": 0, "
                     "\"dry_run\": 6}},\n"
                     " \"scenario\": {\"name\": \"dry\", \"seed\": 1}}\n");
    analyze_expect(fx, DIAG_CAUSE_NONE);

    s = load_json(fx, "summary.json");
    assert_true(cJSON_IsTrue(at(s, "run.dry_run")));
    expect_num(s, "run.dry_run_writes", 6);
    expect_num(s, "counts.operations.total", 6);
    expect_num(s, "counts.operations.dry_run", 6);
    expect_num(s, "counts.operations.unknown", 0);
    expect_num(s, "counts.operations.ok", 0);
    assert_int_equal(cJSON_GetArraySize(at(s, "strategies")), 2);
    for (int i = 0; i < 2; i++) {
        const cJSON *st = cJSON_GetArrayItem(at(s, "strategies"), i);
        expect_num(st, "dry_run", 3);
        expect_num(st, "unknown", 0);
    }
    assert_non_null(strstr(cJSON_GetStringValue(at(s, "verdict.text")),
                           "This was a dry run: the job sent no write"));
    cJSON_Delete(s);

    csv = csvread_load(in_run(fx, "strategies.csv"));
    assert_non_null(csv);
    assert_int_equal(csvread_rows(csv), 2);
    for (size_t r = 0; r < 2; r++) {
        assert_int_equal(csvread_i64(csv, r, csvread_col(csv, "dry_run"), -1),
                         3);
        assert_int_equal(csvread_i64(csv, r, csvread_col(csv, "unknown"), -1),
                         0);
    }
    csvread_free(csv);

    md = files_read(in_run(fx, "summary.md"), NULL);
    assert_non_null(strstr(md, "> **Dry run.** No write was sent. The replay "
                               "read the agents and listed the 6 writes it "
                               "would have sent in dry-run.txt"));
    assert_non_null(strstr(md, "6 total: 0 ok, 0 conflict, 0 gave up, 0 "
                               "error, 0 unknown, 6 dry run (no write sent)"));
    assert_non_null(strstr(md, "| Dry run |"));
    free(md);
    html = files_read(in_run(fx, "report.html"), NULL);
    assert_non_null(strstr(html, "<strong>Dry run.</strong> No write was "
                                 "sent."));
    free(html);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            the_audit_names_the_integration_in_every_output, setup, teardown),
        cmocka_unit_test_setup_teardown(a_second_analysis_writes_the_same_bytes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_malformed_audit_csv_stops_the_analysis, setup, teardown),
        cmocka_unit_test_setup_teardown(a_dry_run_says_no_write_was_sent, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
