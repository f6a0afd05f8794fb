/*
 * Org state: the version compare-and-increment under contention, presence
 * spellings, skills add vs replace, queue membership, read lag, and the
 * truth log rows that every change leaves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "sim/config.h"
#include "sim/log.h"
#include "sim/org.h"

static const struct sim_writer client = {"client:test", "test", "c-1"};

static struct sim_org *small_org(size_t agents, int64_t read_lag_ns)
{
    struct sim_config cfg;

    sim_config_defaults(&cfg);
    cfg.agents = (int64_t)agents;
    cfg.world.read_lag_ns = read_lag_ns;
    return org_new(&cfg, NULL);
}

struct race {
    struct sim_org *org;
    pthread_barrier_t *start;
    int won;
};

static void *patch_same_version(void *arg)
{
    struct race *r = arg;
    cJSON *fields = cJSON_Parse("{\"department\":\"Race\"}");
    int64_t after;

    pthread_barrier_wait(r->start);
    r->won = org_user_patch(r->org, 0, 1, fields, &client, &after) == RT_OK;
    cJSON_Delete(fields);
    return NULL;
}

static void version_patch_exactly_one_of_many_wins(void **state)
{
    enum { N = 16 };
    struct sim_org *org = small_org(1, 0);
    pthread_t t[N];
    struct race r[N];
    pthread_barrier_t start;
    int winners = 0;

    (void)state;
    pthread_barrier_init(&start, NULL, N);
    for (int i = 0; i < N; i++) {
        r[i] = (struct race){org, &start, 0};
        pthread_create(&t[i], NULL, patch_same_version, &r[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        winners += r[i].won;
    }
    assert_int_equal(winners, 1);
    assert_int_equal(org_user_version(org, 0), 2);
    pthread_barrier_destroy(&start);
    org_free(org);
}

static void version_patch_increments_by_one_and_rejects_stale(void **state)
{
    struct sim_org *org = small_org(2, 0);
    cJSON *fields = cJSON_Parse("{\"title\":\"Lead\",\"version\":99}");
    int64_t after = 0;
    cJSON *user;

    (void)state;
    assert_int_equal(org_user_patch(org, 1, 1, fields, &client, &after), RT_OK);
    assert_int_equal(after, 2);
    assert_int_equal(org_user_patch(org, 1, 1, fields, &client, &after),
                     RT_ECONFLICT);
    assert_int_equal(after, 2);
    /* A version ahead of the stored one is as wrong as a stale one. */
    assert_int_equal(org_user_patch(org, 1, 3, fields, &client, &after),
                     RT_ECONFLICT);
    user = org_user_json(org, 1, 0);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(user, "title")->valuestring, "Lead");
    assert_int_equal(
        (int)cJSON_GetObjectItemCaseSensitive(user, "version")->valuedouble, 2);
    /* The other agent is untouched. */
    assert_int_equal(org_user_version(org, 0), 1);
    cJSON_Delete(user);
    cJSON_Delete(fields);
    org_free(org);
}

static void presence_lookup_accepts_every_spelling(void **state)
{
    (void)state;
    assert_int_equal(sim_presence_lookup("On Queue"), SIM_PRESENCE_ON_QUEUE);
    assert_int_equal(sim_presence_lookup("ON_QUEUE"), SIM_PRESENCE_ON_QUEUE);
    assert_int_equal(sim_presence_lookup("OnQueue"), SIM_PRESENCE_ON_QUEUE);
    assert_int_equal(sim_presence_lookup("onqueue"), SIM_PRESENCE_ON_QUEUE);
    assert_int_equal(
        sim_presence_lookup("e08eaf1b-ee47-4fa9-a231-1200e284798f"),
        SIM_PRESENCE_ON_QUEUE);
    assert_int_equal(sim_presence_lookup("BREAK"), SIM_PRESENCE_BREAK);
    assert_int_equal(sim_presence_lookup("Lunch"), -1);
    assert_int_equal(sim_routing_lookup("interacting"),
                     SIM_ROUTING_INTERACTING);
    assert_int_equal(sim_routing_lookup("BUSY"), -1);
}

static void presence_and_routing_changes_leave_version_alone(void **state)
{
    struct sim_org *org = small_org(1, 0);
    cJSON *p;

    (void)state;
    org_set_presence(org, 0, SIM_PRESENCE_BREAK, "lunch", &client);
    org_set_routing(org, 0, SIM_ROUTING_OFF_QUEUE, &client);
    assert_int_equal(org_presence(org, 0), SIM_PRESENCE_BREAK);
    assert_int_equal(org_routing(org, 0), SIM_ROUTING_OFF_QUEUE);
    assert_int_equal(org_user_version(org, 0), 1);
    p = org_presence_json(org, 0);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(p, "presenceDefinition"),
            "systemPresence")
            ->valuestring,
        "Break");
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(p, "message")->valuestring, "lunch");
    cJSON_Delete(p);
    org_free(org);
}

static void skills_patch_adds_and_put_replaces(void **state)
{
    struct sim_org *org = small_org(1, 0);
    size_t s[2] = {0, 1};
    double prof[2] = {4.5, 2};
    cJSON *arr;

    (void)state;
    org_set_skills(org, 0, s, prof, 2, 1, &client);
    assert_int_equal(org_user_skill_total(org, 0), 2);
    s[0] = 2;
    org_set_skills(org, 0, s, prof, 1, 0, &client);
    assert_int_equal(org_user_skill_total(org, 0), 3);
    org_set_skills(org, 0, s, prof, 1, 1, &client);
    assert_int_equal(org_user_skill_total(org, 0), 1);
    arr = org_user_skills_json(org, 0);
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    assert_true(cJSON_GetObjectItemCaseSensitive(arr->child, "proficiency")
                    ->valuedouble == 4.5);
    cJSON_Delete(arr);
    org_free(org);
}

static void queue_join_needs_membership(void **state)
{
    struct sim_org *org = small_org(1, 0);
    int joined = -1;
    size_t q = org_queue_count(org) - 1;

    (void)state;
    org_set_member(org, 0, q, 0, &client);
    assert_int_equal(org_set_joined(org, 0, q, 1, &client), 0);
    assert_int_equal(org_is_member(org, 0, q, &joined), 0);
    assert_int_equal(org_set_member(org, 0, q, 1, &client), 1);
    assert_int_equal(org_set_member(org, 0, q, 1, &client), 0);
    assert_int_equal(org_set_joined(org, 0, q, 1, &client), 1);
    assert_int_equal(org_is_member(org, 0, q, &joined), 1);
    assert_int_equal(joined, 1);
    org_free(org);
}

static void utilization_reverts_to_org_default(void **state)
{
    struct sim_org *org = small_org(1, 0);
    cJSON *util = cJSON_Parse("{\"call\":{\"maximumCapacity\":2,"
                              "\"interruptableMediaTypes\":[],"
                              "\"includeNonAcd\":false}}");
    cJSON *got;

    (void)state;
    got = org_utilization_json(org, 0);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(got, "level")->valuestring,
        "Organization");
    cJSON_Delete(got);
    org_set_utilization(org, 0, util, &client);
    got = org_utilization_json(org, 0);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(got, "level")->valuestring, "Agent");
    assert_int_equal(
        (int)cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(got, "utilization"), "call"),
            "maximumCapacity")
            ->valuedouble,
        2);
    cJSON_Delete(got);
    org_set_utilization(org, 0, NULL, &client);
    got = org_utilization_json(org, 0);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(got, "level")->valuestring,
        "Organization");
    cJSON_Delete(got);
    cJSON_Delete(util);
    org_free(org);
}

static void read_lag_can_return_an_older_version(void **state)
{
    /* With a lag far longer than the test, every read sees the state as it
     * was at creation, while the stored version has moved on. */
    struct sim_org *org = small_org(1, 3600 * NS_PER_S);
    cJSON *fields = cJSON_Parse("{\"title\":\"New\"}");
    int64_t after;
    int stale = 0;

    (void)state;
    assert_int_equal(org_user_patch(org, 0, 1, fields, &client, &after), RT_OK);
    for (int k = 0; k < 20; k++) {
        cJSON *u = org_user_json(org, 0, 0);
        int v =
            (int)cJSON_GetObjectItemCaseSensitive(u, "version")->valuedouble;
        stale += v == 1;
        cJSON_Delete(u);
    }
    assert_int_equal(stale, 20);
    assert_int_equal(org_user_version(org, 0), 2);
    cJSON_Delete(fields);
    org_free(org);
}

static void ids_are_deterministic_per_seed(void **state)
{
    struct sim_org *a = small_org(3, 0), *b = small_org(3, 0);

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(org_agent_id(a, i), org_agent_id(b, i));
        assert_int_equal(org_find_agent(a, org_agent_id(a, i)), (long)i);
    }
    assert_int_equal(org_find_agent(a, "nope"), -1);
    org_free(a);
    org_free(b);
}

static void every_change_is_in_truth_csv(void **state)
{
    char dir[] = "/tmp/rt-org-XXXXXX", path[256], line[1024];
    struct sim_config cfg;
    struct sim_log *log;
    struct sim_org *org;
    cJSON *fields = cJSON_Parse("{\"title\":\"T\"}");
    int64_t after;
    FILE *f;
    int rows = 0, version_rows = 0, presence_rows = 0;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(sim_log_open(&log, dir), RT_OK);
    sim_config_defaults(&cfg);
    cfg.agents = 1;
    org = org_new(&cfg, log);
    org_user_patch(org, 0, 1, fields, &client, &after);
    org_set_presence(org, 0, SIM_PRESENCE_MEAL, NULL, &client);
    org_free(org);
    sim_log_close(log);
    snprintf(path, sizeof(path), "%s/truth.csv", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        rows++;
        version_rows += strstr(line, ",version,1,2,client:test,c-1") != NULL;
        presence_rows += strstr(line, ",presence,") != NULL &&
                         strstr(line, ",Meal,") != NULL;
    }
    fclose(f);
    assert_int_equal(rows, 4); /* header, user.title, version, presence */
    assert_int_equal(version_rows, 1);
    assert_int_equal(presence_rows, 1);
    cJSON_Delete(fields);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_patch_exactly_one_of_many_wins),
        cmocka_unit_test(version_patch_increments_by_one_and_rejects_stale),
        cmocka_unit_test(presence_lookup_accepts_every_spelling),
        cmocka_unit_test(presence_and_routing_changes_leave_version_alone),
        cmocka_unit_test(skills_patch_adds_and_put_replaces),
        cmocka_unit_test(queue_join_needs_membership),
        cmocka_unit_test(utilization_reverts_to_org_default),
        cmocka_unit_test(read_lag_can_return_an_older_version),
        cmocka_unit_test(ids_are_deterministic_per_seed),
        cmocka_unit_test(every_change_is_in_truth_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
