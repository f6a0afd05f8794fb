/*
 * Scenarios: defaults, every section, the resolved form round-tripping
 * through the parser, and a table of malformed scenarios, each rejected
 * with one line naming the file and the JSON path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "harness/scenario.h"

static enum rt_err parse(const char *text, struct scenario *scn,
                         struct jread *jr)
{
    cJSON *root = NULL;
    enum rt_err err;

    scenario_defaults(scn);
    jread_init(jr, "x.json");
    if ((err = jread_parse(jr, text, strlen(text), &root)))
        return err;
    err = scenario_from_json(scn, jr, root);
    cJSON_Delete(root);
    return err;
}

static const char full[] =
    "{\"name\":\"predictive-bump\",\"seed\":42,\"duration\":\"90s\","
    "\"target\":\"sim\",\"agents\":{\"count\":150},"
    "\"world\":{\"presence\":{\"on_queue_share\":0.8,\"mean_handle\":\"40s\","
    "\"mean_idle\":\"15s\"},\"actors\":[{\"kind\":\"routing-engine\","
    "\"on\":\"routing:INTERACTING\",\"p\":0.7,\"lag\":\"50ms..400ms\"},"
    "{\"kind\":\"wfm-publish\",\"at\":\"30s\",\"spread\":\"20s\"}],"
    "\"rate_limit\":{\"per_minute\":300},\"latency\":{\"read\":\"40ms\","
    "\"write\":\"120ms\"},\"faults\":{\"http_5xx\":0.0,\"lost_response\":0.0},"
    "\"read_lag\":\"0ms\"},"
    "\"observe\":{\"versions\":{\"mode\":\"bulk\",\"interval\":\"200ms\","
    "\"jitter\":0.2,\"threads\":2},\"presence\":{\"via\":\"poll\"}},"
    "\"replay\":{\"at\":\"10s\",\"operation\":\"user-patch\","
    "\"strategies\":[\"bulk-stale\",\"retry\"],"
    "\"retry\":{\"max_attempts\":5,\"base\":\"100ms\",\"cap\":\"5s\","
    "\"jitter\":\"full\"},\"workers\":4,\"pace\":\"100ms\","
    "\"repeat\":{\"every\":\"30s\",\"times\":2}},"
    "\"thresholds\":{\"conflict_rate_max\":0.05},"
    "\"report\":{\"window\":\"2s\"}}";

static void full_scenario_is_read(void **state)
{
    struct scenario s;
    struct jread jr;

    (void)state;
    assert_int_equal(parse(full, &s, &jr), RT_OK);
    assert_string_equal(s.name, "predictive-bump");
    assert_int_equal(s.seed, 42);
    assert_int_equal(s.duration_ns, 90 * NS_PER_S);
    assert_int_equal(s.agent_count, 150);
    assert_int_equal(s.sim.agents, 150);
    assert_int_equal(s.sim.world.n_actors, 2);
    assert_int_equal(s.observe.mode, SCN_OBSERVE_BULK);
    assert_int_equal(s.observe.interval_ns, 200 * NS_PER_MS);
    assert_true(s.replay.enabled);
    assert_int_equal(s.replay.at_ns, 10 * NS_PER_S);
    assert_int_equal(s.replay.n_strategies, 2);
    assert_int_equal(s.replay.strategies[0], SCN_STRATEGY_BULK_STALE);
    assert_int_equal(s.replay.strategies[1], SCN_STRATEGY_RETRY);
    assert_int_equal(s.replay.retry.jitter, SCN_JITTER_FULL);
    assert_int_equal(s.replay.repeat_times, 2);
    assert_true(s.thresholds.conflict_rate_max == 0.05);
    assert_true(s.thresholds.throttled_rate_max < 0);
    scenario_release(&s);
}

static void resolved_scenario_round_trips(void **state)
{
    struct scenario a, b;
    struct jread jr;
    cJSON *ra, *rb;

    (void)state;
    assert_int_equal(parse(full, &a, &jr), RT_OK);
    ra = scenario_resolved_json(&a);
    scenario_defaults(&b);
    jread_init(&jr, "resolved");
    if (scenario_from_json(&b, &jr, ra)) {
        fprintf(stderr, "%s\n", jr.error);
        fail();
    }
    rb = scenario_resolved_json(&b);
    if (!cJSON_Compare(ra, rb, 1)) {
        char *x = cJSON_Print(ra), *y = cJSON_Print(rb);
        fprintf(stderr, "first:\n%s\nsecond:\n%s\n", x, y);
        free(x);
        free(y);
        fail();
    }
    cJSON_Delete(ra);
    cJSON_Delete(rb);
    scenario_release(&a);
    scenario_release(&b);
}

static void absolute_replay_time_and_template(void **state)
{
    struct scenario s;
    struct jread jr;
    int64_t want;

    (void)state;
    assert_int_equal(
        parse("{\"agents\":{\"ids\":[\"a\",\"b\"]},\"replay\":{\"at\":"
              "\"2026-12-01T09:00:00-06:00\",\"operation\":{\"read\":{"
              "\"method\":\"GET\",\"path\":\"/api/v2/users/{id}\"},\"write\":"
              "{\"method\":\"PATCH\",\"path\":\"/api/v2/users/{id}\",\"body\":"
              "{\"title\":\"x\"}},\"version_field\":\"version\"}}}",
              &s, &jr),
        RT_OK);
    assert_true(s.replay.at_absolute);
    assert_int_equal(iso8601_parse("2026-12-01T15:00:00Z", &want), RT_OK);
    assert_int_equal(s.replay.at_wall_ns, want);
    assert_int_equal(s.replay.operation, SCN_OP_TEMPLATE);
    assert_string_equal(s.replay.tmpl.write_method, "PATCH");
    assert_int_equal(s.n_agent_ids, 2);
    assert_string_equal(s.agent_ids[1], "b");
    scenario_release(&s);
}

static void blind_is_accepted_for_unversioned_operations(void **state)
{
    struct scenario s;
    struct jread jr;

    (void)state;
    assert_int_equal(parse("{\"replay\":{\"operation\":\"queue-join\","
                           "\"strategies\":[\"blind\",\"retry\"]}}",
                           &s, &jr),
                     RT_OK);
    assert_int_equal(s.replay.strategies[0], SCN_STRATEGY_BLIND);
    scenario_release(&s);
}

static void updates_per_agent_default_to_one_and_are_resolved(void **state)
{
    struct scenario s;
    struct jread jr;
    cJSON *r;
    const cJSON *replay;

    (void)state;
    assert_int_equal(parse("{\"replay\":{}}", &s, &jr), RT_OK);
    assert_int_equal(s.replay.per_agent, 1);
    scenario_release(&s);
    assert_int_equal(parse("{\"replay\":{\"strategies\":[\"bulk-stale\"],"
                           "\"per_agent\":2}}",
                           &s, &jr),
                     RT_OK);
    assert_int_equal(s.replay.per_agent, 2);
    r = scenario_resolved_json(&s);
    replay = cJSON_GetObjectItemCaseSensitive(r, "replay");
    assert_int_equal(cJSON_GetNumberValue(
                         cJSON_GetObjectItemCaseSensitive(replay, "per_agent")),
                     2);
    cJSON_Delete(r);
    scenario_release(&s);
}

static void presence_stream_and_silence_are_read_and_resolved(void **state)
{
    struct scenario s;
    struct jread jr;
    cJSON *r, *p;

    (void)state;
    assert_int_equal(parse("{}", &s, &jr), RT_OK);
    assert_int_equal(s.observe.presence_via, SCN_VIA_POLL);
    assert_int_equal(s.observe.presence_silence_ns, 75 * NS_PER_S);
    scenario_release(&s);

    assert_int_equal(parse("{\"observe\":{\"presence\":{\"via\":"
                           "\"stream\",\"silence\":\"600ms\"}}}",
                           &s, &jr),
                     RT_OK);
    assert_int_equal(s.observe.presence_via, SCN_VIA_STREAM);
    assert_int_equal(s.observe.presence_silence_ns, 600 * NS_PER_MS);
    r = scenario_resolved_json(&s);
    p = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(r, "observe"), "presence");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "via")->valuestring,
                        "stream");
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(p, "silence")->valuestring, "600ms");
    cJSON_Delete(r);
    scenario_release(&s);
}

static void malformed_scenarios_name_file_and_path(void **state)
{
    static const struct {
        const char *json;
        const char *error;
    } cases[] = {
        {"[]", "x.json: expected an object"},
        {"{\"nmae\":\"x\"}", "x.json: nmae: unknown key"},
        {"{\"name\":\"a b\"}", "x.json: name: expected 1 to 63 letters"},
        {"{\"duration\":\"90\"}", "x.json: duration: expected a duration"},
        {"{\"duration\":\"500ms\"}", "x.json: duration: must be at least 1s"},
        {"{\"target\":5}", "x.json: target: expected a string"},
        {"{\"agents\":5}", "x.json: agents: expected an object"},
        {"{\"agents\":{\"count\":3,\"queue\":\"q\"}}",
         "x.json: agents: give one of count, ids or queue"},
        {"{\"agents\":{\"ids\":[]}}", "x.json: agents.ids: expected an array"},
        {"{\"agents\":{\"ids\":[\"a\",\"a\"]}}",
         "x.json: agents.ids[1]: duplicate id"},
        {"{\"agents\":{\"ids\":[\"a/b\"]}}",
         "x.json: agents.ids[0]: expected a user id"},
        {"{\"observe\":{\"versions\":{\"mode\":\"fast\"}}}",
         "x.json: observe.versions.mode: unknown value \"fast\""},
        {"{\"observe\":{\"versions\":{\"interval\":\"1ms\"}}}",
         "x.json: observe.versions.interval: must be at least 10ms"},
        {"{\"observe\":{\"versions\":{\"jitter\":2}}}",
         "x.json: observe.versions.jitter: expected a number from 0 to 1"},
        {"{\"observe\":{\"presence\":{\"via\":\"carrier-pigeon\"}}}",
         "x.json: observe.presence.via: unknown value"},
        {"{\"observe\":{\"presence\":{\"via\":\"push\"}}}",
         "x.json: observe.presence.via: unknown value \"push\" (expected "
         "one of: poll, stream)"},
        {"{\"observe\":{\"presence\":{\"via\":\"stream\",\"silence\":"
         "\"0s\"}}}",
         "x.json: observe.presence.silence: must be greater than 0"},
        {"{\"observe\":{\"presence\":{\"silence\":\"soon\"}}}",
         "x.json: observe.presence.silence: expected a duration"},
        {"{\"observe\":{\"presence\":{\"heartbeat\":\"30s\"}}}",
         "x.json: observe.presence.heartbeat: unknown key"},
        {"{\"observe\":{\"version\":{}}}",
         "x.json: observe.version: unknown key"},
        {"{\"budget\":{\"per_minute\":0}}",
         "x.json: budget.per_minute: expected a whole number"},
        {"{\"replay\":{\"at\":\"tomorrow\"}}",
         "x.json: replay.at: expected a time from the start"},
        {"{\"duration\":\"60s\",\"replay\":{\"at\":\"60s\"}}",
         "x.json: replay.at: 60s is not before the end of the run (60s)"},
        {"{\"duration\":\"60s\",\"replay\":{\"at\":\"10s\",\"repeat\":"
         "{\"every\":\"30s\",\"times\":3}}}",
         "x.json: replay.repeat: the last round would start at 70s"},
        {"{\"replay\":{\"repeat\":{\"times\":2}}}",
         "x.json: replay.repeat.every: missing or zero"},
        {"{\"replay\":{\"operation\":\"user-put\"}}",
         "x.json: replay.operation: unknown value \"user-put\""},
        {"{\"replay\":{\"strategy\":\"retry\",\"strategies\":[\"blind\"]}}",
         "x.json: replay: give strategy or strategies, not both"},
        {"{\"replay\":{\"strategies\":[\"retry\",\"retry\"]}}",
         "x.json: replay.strategies[1]: strategy listed twice"},
        {"{\"replay\":{\"strategies\":[\"retry\",\"blind\"]}}",
         "x.json: replay.strategies[1]: blind needs an unversioned operation"},
        {"{\"replay\":{\"strategies\":[\"optimistic\"]}}",
         "x.json: replay.strategies[0]: expected one of"},
        {"{\"replay\":{\"retry\":{\"max_attempts\":0}}}",
         "x.json: replay.retry.max_attempts: expected a whole number from 1"},
        {"{\"replay\":{\"retry\":{\"jitter\":\"some\"}}}",
         "x.json: replay.retry.jitter: unknown value \"some\""},
        {"{\"replay\":{\"retry\":{\"base\":\"2s\",\"cap\":\"1s\"}}}",
         "x.json: replay.retry.cap: must not be less than replay.retry.base"},
        {"{\"replay\":{\"workers\":0}}",
         "x.json: replay.workers: expected a whole number from 1 to 256"},
        {"{\"replay\":{\"per_agent\":0}}",
         "x.json: replay.per_agent: expected a whole number from 1 to 4"},
        {"{\"replay\":{\"per_agent\":5}}",
         "x.json: replay.per_agent: expected a whole number from 1 to 4"},
        {"{\"replay\":{\"per_agent\":\"x\"}}",
         "x.json: replay.per_agent: expected a whole number from 1 to 4"},
        {"{\"replay\":{\"operation\":{\"read\":{\"method\":\"GET\",\"path\":"
         "\"/api/v2/users\"},\"write\":{}}}}",
         "x.json: replay.operation.read.path: expected an API path"},
        {"{\"replay\":{\"operation\":{\"read\":{\"method\":\"GET\",\"path\":"
         "\"/api/v2/users/{id}\"}}}}",
         "x.json: replay.operation.write: missing"},
        {"{\"replay\":{\"operation\":{\"read\":{\"method\":\"GET\",\"path\":"
         "\"/api/v2/users/{id}\"},\"write\":{\"method\":\"DELETE\","
         "\"path\":\"/api/v2/users/{id}\"}}}}",
         "x.json: replay.operation.write.method: unknown value \"DELETE\""},
        {"{\"thresholds\":{\"conflict_rate_max\":5}}",
         "x.json: thresholds.conflict_rate_max: expected a number from 0 to 1"},
        {"{\"report\":{\"window\":true}}",
         "x.json: report.window: expected a duration"},
        {"{\"world\":{\"actors\":[{\"kind\":\"routing-engine\",\"on\":"
         "\"routing:IDLE\",\"lag\":\"fast\"}]}}",
         "x.json: world.actors[0].lag: expected a duration or a range"},
        {"{\"name\":\"a\",\n\"seed\":}", "x.json: invalid JSON at line 2"},
    };
    struct scenario s;
    struct jread jr;

    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        assert_int_equal(parse(cases[k].json, &s, &jr), RT_EINVAL);
        if (strncmp(jr.error, cases[k].error, strlen(cases[k].error))) {
            fprintf(stderr, "case %zu: got \"%s\", want prefix \"%s\"\n", k,
                    jr.error, cases[k].error);
            fail();
        }
        assert_null(strchr(jr.error, '\n'));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_scenario_is_read),
        cmocka_unit_test(resolved_scenario_round_trips),
        cmocka_unit_test(presence_stream_and_silence_are_read_and_resolved),
        cmocka_unit_test(absolute_replay_time_and_template),
        cmocka_unit_test(blind_is_accepted_for_unversioned_operations),
        cmocka_unit_test(updates_per_agent_default_to_one_and_are_resolved),
        cmocka_unit_test(malformed_scenarios_name_file_and_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
