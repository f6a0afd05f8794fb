/* The scenario's world section: defaults, every key, and one-line errors
 * that name the file and the JSON path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "sim/config.h"

static enum rt_err parse(const char *text, struct sim_config *cfg,
                         struct jread *jr)
{
    cJSON *root = NULL;
    enum rt_err err;

    sim_config_defaults(cfg);
    jread_init(jr, "s.json");
    err = jread_parse(jr, text, strlen(text), &root);
    if (!err)
        err = sim_config_from_json(cfg, jr, root);
    cJSON_Delete(root);
    return err;
}

static void world_keys_override_defaults(void **state)
{
    struct sim_config cfg;
    struct jread jr;
    const struct sim_actor_config *a;

    (void)state;
    assert_int_equal(
        parse("{\"seed\":7,\"agents\":{\"count\":12},\"world\":{"
              "\"presence\":{\"on_queue_share\":0.5,\"mean_idle\":\"2s\","
              "\"break_every\":\"10m\"},"
              "\"actors\":[{\"kind\":\"routing-engine\",\"on\":"
              "\"routing:INTERACTING\",\"p\":0.7,\"lag\":\"50ms..400ms\"},"
              "{\"kind\":\"integration\",\"every\":\"5s\",\"gap\":\"1s\","
              "\"client_id\":\"crm-sync\"}],"
              "\"rate_limit\":{\"per_minute\":300},"
              "\"latency\":{\"read\":\"40ms\",\"write\":\"100ms..150ms\"},"
              "\"faults\":{\"http_5xx\":0.01,\"lost_response\":0.02},"
              "\"read_lag\":\"250ms\",\"token_lifetime\":\"10m\"}}",
              &cfg, &jr),
        RT_OK);
    assert_int_equal(cfg.seed, 7);
    assert_int_equal(cfg.agents, 12);
    assert_true(cfg.world.on_queue_share == 0.5);
    assert_int_equal(cfg.world.mean_idle_ns, 2 * NS_PER_S);
    assert_int_equal(cfg.world.mean_handle_ns, 40 * NS_PER_S); /* default */
    assert_int_equal(cfg.world.mean_break_every_ns, 600 * NS_PER_S);
    assert_int_equal(cfg.world.n_actors, 2);
    a = &cfg.world.actors[0];
    assert_int_equal(a->kind, SIM_ACTOR_ROUTING_ENGINE);
    assert_string_equal(a->name, "routing-engine");
    assert_int_equal(a->n_on, 1);
    assert_string_equal(a->on[0], "routing:INTERACTING");
    assert_true(a->p == 0.7);
    assert_int_equal(a->lag_lo_ns, 50 * NS_PER_MS);
    assert_int_equal(a->lag_hi_ns, 400 * NS_PER_MS);
    a = &cfg.world.actors[1];
    assert_string_equal(a->client_id, "crm-sync");
    assert_int_equal(a->gap_lo_ns, NS_PER_S);
    assert_int_equal(a->gap_hi_ns, NS_PER_S);
    assert_int_equal(cfg.world.rate_limit_per_min, 300);
    assert_int_equal(cfg.world.read_latency_lo_ns, 40 * NS_PER_MS);
    assert_int_equal(cfg.world.write_latency_hi_ns, 150 * NS_PER_MS);
    assert_true(cfg.world.fault_lost_response == 0.02);
    assert_int_equal(cfg.world.read_lag_ns, 250 * NS_PER_MS);
    assert_int_equal(cfg.token_lifetime_ns, 600 * NS_PER_S);
}

static void malformed_worlds_name_file_and_path(void **state)
{
    static const struct {
        const char *json;
        const char *error;
    } cases[] = {
        {"{\"world\":{\"actor\":[]}}", "s.json: world.actor: unknown key"},
        {"{\"world\":{\"actors\":[{\"kind\":\"robot\"}]}}",
         "s.json: world.actors[0].kind: unknown value \"robot\""},
        {"{\"world\":{\"actors\":[{\"p\":1}]}}",
         "s.json: world.actors[0].kind: missing"},
        {"{\"world\":{\"actors\":[{\"kind\":\"routing-engine\"}]}}",
         "s.json: world.actors[0].on: missing"},
        {"{\"world\":{\"actors\":[{\"kind\":\"routing-engine\",\"on\":"
         "\"INTERACTING\"}]}}",
         "s.json: world.actors[0].on: expected \"routing:<STATUS>\""},
        {"{\"world\":{\"actors\":[{\"kind\":\"routing-engine\",\"on\":"
         "[\"routing:IDLE\",\"routing:BUSY\"]}]}}",
         "s.json: world.actors[0].on[1]: expected \"routing:<STATUS>\""},
        {"{\"world\":{\"actors\":[{\"kind\":\"presence-sync\",\"on\":"
         "\"presence:Lunch\"}]}}",
         "s.json: world.actors[0].on: expected \"routing:<STATUS>\""},
        {"{\"world\":{\"actors\":[{\"kind\":\"routing-engine\",\"on\":"
         "\"routing:IDLE\",\"p\":1.5}]}}",
         "s.json: world.actors[0].p: expected a number from 0 to 1"},
        {"{\"world\":{\"actors\":[{\"kind\":\"routing-engine\",\"on\":"
         "\"routing:IDLE\",\"lag\":\"400ms..50ms\"}]}}",
         "s.json: world.actors[0].lag: expected a duration or a range"},
        {"{\"world\":{\"actors\":[{\"kind\":\"wfm-publish\"}]}}",
         "s.json: world.actors[0].at: missing"},
        {"{\"world\":{\"actors\":[{\"kind\":\"admin\",\"on\":\"routing:IDLE\""
         "}]}}",
         "s.json: world.actors[0].on: unknown key"},
        {"{\"world\":{\"actors\":[{\"kind\":\"idp-sync\",\"every\":\"0\"}]}}",
         "s.json: world.actors[0].every: must be greater than 0"},
        {"{\"world\":{\"presence\":{\"mean_idle\":\"15\"}}}",
         "s.json: world.presence.mean_idle: expected a duration"},
        {"{\"world\":{\"presence\":{\"mean_idle\":\"0s\"}}}",
         "s.json: world.presence.mean_idle: must be greater than 0"},
        {"{\"world\":{\"rate_limit\":{\"per_minute\":-1}}}",
         "s.json: world.rate_limit.per_minute: expected a whole number"},
        {"{\"world\":{\"faults\":{\"http_500\":0.1}}}",
         "s.json: world.faults.http_500: unknown key"},
        {"{\"world\":{\"latency\":{\"read\":40}}}",
         "s.json: world.latency.read: expected a duration"},
        {"{\"world\":{\"token_lifetime\":\"0s\"}}",
         "s.json: world.token_lifetime: must be greater than 0"},
        {"{\"agents\":{\"count\":0}}",
         "s.json: agents.count: expected a whole number from 1 to 100000"},
        {"{\"seed\":\"x\"}", "s.json: seed: expected a whole number"},
        {"{\"world\":[]}", "s.json: world: expected an object, got an array"},
        {"{\"world\":{\"read_lag\":\"1s\",\"read_lag\":\"2s\"}}",
         "s.json: world.read_lag: duplicate key"},
        {"{\"world\":", "s.json: invalid JSON at line 1, column 9"},
    };
    struct sim_config cfg;
    struct jread jr;

    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        assert_int_equal(parse(cases[k].json, &cfg, &jr), RT_EINVAL);
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
        cmocka_unit_test(world_keys_override_defaults),
        cmocka_unit_test(malformed_worlds_name_file_and_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
