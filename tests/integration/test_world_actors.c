/*
 * The running world against a real org, without HTTP: its own thread, the
 * org hook from other threads, and truth.csv.  Waits poll a condition with
 * a deadline of several seconds; no assertion depends on timing.
 *
 *  - a routing-engine actor bumps versions, and truth.csv names it with a
 *    UUID correlation id;
 *  - with no actor, agents move but no version changes;
 *  - the running world applies exactly the schedule world_plan() computes
 *    (the determinism guarantee holds for the thread, not only the plan);
 *  - a transition a client makes on its own thread triggers presence-sync;
 *  - idp-sync re-sends department without undoing a client's change;
 *  - the integration writes preferredName under its own identity.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/xalloc.h"
#include "sim/config.h"
#include "sim/log.h"
#include "sim/org.h"
#include "sim/world.h"

#define DEADLINE_NS (20 * NS_PER_S)
#define POLL_NS (2 * NS_PER_MS)

static const struct sim_writer client = {"client:test", "test", "c-1"};

static void fast_cfg(struct sim_config *cfg, int64_t agents)
{
    sim_config_defaults(cfg);
    cfg->agents = agents;
    cfg->world.on_queue_share = 1.0;
    cfg->world.mean_idle_ns = 20 * NS_PER_MS;
    cfg->world.mean_handle_ns = 30 * NS_PER_MS;
}

static struct sim_actor_config *add_actor(struct sim_config *cfg,
                                          enum sim_actor_kind kind)
{
    struct sim_actor_config *a = &cfg->world.actors[cfg->world.n_actors++];

    memset(a, 0, sizeof(*a));
    a->kind = kind;
    snprintf(a->name, sizeof(a->name), "%s", sim_actor_kind_names[kind]);
    a->p = 1.0;
    a->share = 1.0;
    a->lag_lo_ns = 5 * NS_PER_MS;
    a->lag_hi_ns = 10 * NS_PER_MS;
    a->period_ns = 50 * NS_PER_MS;
    a->gap_lo_ns = 2 * NS_PER_MS;
    a->gap_hi_ns = 8 * NS_PER_MS;
    a->spread_ns = 100 * NS_PER_MS;
    a->at_ns = -1;
    return a;
}

/* Poll @cond until it holds or the deadline passes. */
static int wait_for(int (*cond)(void *), void *arg)
{
    int64_t deadline = clock_mono_ns() + DEADLINE_NS;

    while (!cond(arg)) {
        if (clock_mono_ns() > deadline)
            return 0;
        clock_sleep_ns(POLL_NS);
    }
    return 1;
}

static int any_version_bumped(void *arg)
{
    struct sim_org *org = arg;

    for (size_t i = 0; i < org_agent_count(org); i++)
        if (org_user_version(org, i) > 1)
            return 1;
    return 0;
}

static int looks_like_uuid(const char *s)
{
    if (strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

/* Split an unquoted CSV line in place; returns the field count. */
static int split(char *line, char **fields, int max)
{
    int n = 0;

    line[strcspn(line, "\r\n")] = '\0';
    fields[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == ',') {
            *p = '\0';
            fields[n++] = p + 1;
        }
    return n;
}

static void routing_engine_bumps_versions_and_truth_names_it(void **state)
{
    char dir[] = "/tmp/racetrace-world-XXXXXX", path[256], line[1024];
    struct sim_config cfg;
    struct sim_actor_config *a;
    struct sim_log *log = NULL;
    struct sim_org *org;
    struct world *world;
    FILE *f;
    int rows = 0, world_rows = 0;

    (void)state;
    assert_non_null(mkdtemp(dir));
    fast_cfg(&cfg, 5);
    a = add_actor(&cfg, SIM_ACTOR_ROUTING_ENGINE);
    snprintf(a->on[a->n_on++], SIM_NAME_MAX, "routing:INTERACTING");
    assert_int_equal(sim_log_open(&log, dir), RT_OK);
    org = org_new(&cfg, log);
    world = world_new(&cfg, org);
    assert_int_equal(world_start(world), RT_OK);
    assert_true(wait_for(any_version_bumped, org));
    world_free(world);
    org_free(org);
    sim_log_close(log);

    snprintf(path, sizeof(path), "%s/truth.csv", dir);
    assert_non_null(f = fopen(path, "r"));
    while (fgets(line, sizeof(line), f)) {
        char *fl[16];
        if (strchr(line, '"') || split(line, fl, 16) != 8)
            continue;
        /* time_wall_ns,time,agent,property,old,new,cause,correlation_id */
        if (!strcmp(fl[6], "routing-engine")) {
            assert_string_equal(fl[3], "version");
            assert_true(looks_like_uuid(fl[7]));
            rows++;
        } else if (!strcmp(fl[6], "world")) {
            assert_string_equal(fl[3], "routing_status");
            assert_true(looks_like_uuid(fl[7]));
            world_rows++;
        }
    }
    fclose(f);
    assert_true(rows >= 1);
    assert_true(world_rows >= 1);
    unlink(path);
    snprintf(path, sizeof(path), "%s/server.csv", dir);
    unlink(path);
    rmdir(dir);
}

struct transitions_seen {
    struct world *world;
    uint64_t want;
};

static int enough_transitions(void *arg)
{
    struct transitions_seen *t = arg;
    struct world_stats st;

    world_stats(t->world, &st);
    return st.transitions >= t->want;
}

static void no_actor_leaves_every_version_alone(void **state)
{
    struct sim_config cfg;
    struct sim_org *org;
    struct transitions_seen seen;
    struct world_stats st;

    (void)state;
    fast_cfg(&cfg, 5);
    org = org_new(&cfg, NULL);
    seen.world = world_new(&cfg, org);
    seen.want = 100;
    assert_int_equal(world_start(seen.world), RT_OK);
    assert_true(wait_for(enough_transitions, &seen));
    world_stop(seen.world);
    world_stats(seen.world, &st);
    assert_true(st.transitions >= 100);
    assert_int_equal(st.writes + st.conflicts, 0);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(org_user_version(org, i), 1);
    world_free(seen.world);
    org_free(org);
}

struct recorder {
    pthread_mutex_t lock;
    struct world_event *ev;
    size_t n, cap;
};

static int record(void *ctx, const struct world_event *ev)
{
    struct recorder *r = ctx;

    pthread_mutex_lock(&r->lock);
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->ev = xreallocarray(r->ev, r->cap, sizeof(*r->ev));
    }
    r->ev[r->n++] = *ev;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static int recorded_enough(void *arg)
{
    struct recorder *r = arg;
    size_t n;

    pthread_mutex_lock(&r->lock);
    n = r->n;
    pthread_mutex_unlock(&r->lock);
    return n >= 400;
}

static void running_world_follows_its_plan(void **state)
{
    struct sim_config cfg;
    struct sim_actor_config *a;
    struct recorder rec = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct recorder plan = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct sim_org *org;
    struct world *world;
    int kinds[5] = {0};

    (void)state;
    fast_cfg(&cfg, 6);
    cfg.world.on_queue_share = 0.7;
    cfg.world.mean_break_every_ns = 150 * NS_PER_MS;
    cfg.world.break_len_ns = 40 * NS_PER_MS;
    cfg.world.not_responding_p = 0.2;
    cfg.world.not_responding_ns = 15 * NS_PER_MS;
    cfg.world.mean_away_every_ns = 60 * NS_PER_MS;
    a = add_actor(&cfg, SIM_ACTOR_ROUTING_ENGINE);
    snprintf(a->on[a->n_on++], SIM_NAME_MAX, "routing:INTERACTING");
    a->p = 0.5;
    a = add_actor(&cfg, SIM_ACTOR_PRESENCE_SYNC);
    snprintf(a->on[a->n_on++], SIM_NAME_MAX, "presence:*");
    a = add_actor(&cfg, SIM_ACTOR_WFM_PUBLISH);
    a->at_ns = 100 * NS_PER_MS;
    a = add_actor(&cfg, SIM_ACTOR_IDP_SYNC);
    a->share = 0.6;
    a = add_actor(&cfg, SIM_ACTOR_STATION);
    a->share = 0.4;
    add_actor(&cfg, SIM_ACTOR_ADMIN);
    a = add_actor(&cfg, SIM_ACTOR_INTEGRATION);
    snprintf(a->client_id, sizeof(a->client_id), "other-integration");

    org = org_new(&cfg, NULL);
    world = world_new(&cfg, org);
    world_set_observer(world, record, &rec);
    assert_int_equal(world_start(world), RT_OK);
    assert_true(wait_for(recorded_enough, &rec));
    world_free(world);
    org_free(org);

    /* Everything the thread applied is the plan's prefix, to the
     * nanosecond of schedule and the version number. */
    assert_int_equal(world_plan(&cfg, rec.ev[rec.n - 1].t_ns, record, &plan),
                     RT_OK);
    assert_true(plan.n >= rec.n);
    for (size_t i = 0; i < rec.n; i++) {
        const struct world_event *x = &rec.ev[i], *y = &plan.ev[i];
        if (x->t_ns != y->t_ns || x->agent != y->agent || x->kind != y->kind ||
            x->old_value != y->old_value || x->new_value != y->new_value ||
            x->actor != y->actor || x->attempt != y->attempt)
            fail_msg("event %zu: ran t=%lld agent=%zu kind=%d %lld->%lld "
                     "actor=%d, planned t=%lld agent=%zu kind=%d "
                     "%lld->%lld actor=%d",
                     i, (long long)x->t_ns, x->agent, (int)x->kind,
                     (long long)x->old_value, (long long)x->new_value, x->actor,
                     (long long)y->t_ns, y->agent, (int)y->kind,
                     (long long)y->old_value, (long long)y->new_value,
                     y->actor);
        kinds[x->kind]++;
    }
    assert_true(kinds[WORLD_EV_PRESENCE] > 0);
    assert_true(kinds[WORLD_EV_ROUTING] > 0);
    assert_true(kinds[WORLD_EV_READ] > 0);
    assert_true(kinds[WORLD_EV_WRITE] > 0);
    free(rec.ev);
    free(plan.ev);
}

struct presence_job {
    struct sim_org *org;
};

/* A client on its own thread: one change that no actor watches, then one
 * that presence-sync does. */
static void *client_changes_presence(void *arg)
{
    struct presence_job *job = arg;

    org_set_presence(job->org, 2, SIM_PRESENCE_AWAY, NULL, &client);
    org_set_presence(job->org, 1, SIM_PRESENCE_BREAK, NULL, &client);
    return NULL;
}

static int agent1_bumped(void *arg)
{
    return org_user_version(arg, 1) > 1;
}

static void client_transition_triggers_presence_sync(void **state)
{
    struct sim_config cfg;
    struct sim_actor_config *a;
    struct sim_org *org;
    struct world *world;
    struct presence_job job;
    struct world_stats st;
    pthread_t t;

    (void)state;
    fast_cfg(&cfg, 3);
    cfg.world.presence_enabled = 0;
    a = add_actor(&cfg, SIM_ACTOR_PRESENCE_SYNC);
    snprintf(a->on[a->n_on++], SIM_NAME_MAX, "presence:BREAK");
    a->lag_lo_ns = a->lag_hi_ns = NS_PER_MS;
    org = org_new(&cfg, NULL);
    world = world_new(&cfg, org);
    assert_int_equal(world_start(world), RT_OK);
    job.org = org;
    assert_int_equal(pthread_create(&t, NULL, client_changes_presence, &job),
                     0);
    pthread_join(t, NULL);
    assert_true(wait_for(agent1_bumped, org));
    world_stop(world);
    world_stats(world, &st);
    /* The Away change came first with the same lag: had it matched, its
     * write would already be done. */
    assert_int_equal(org_user_version(org, 2), 1);
    assert_int_equal(org_user_version(org, 0), 1);
    assert_int_equal(org_user_version(org, 1), 2);
    assert_int_equal(st.triggers, 2);
    assert_int_equal(st.transitions, 0);
    assert_int_equal(st.writes, 1);
    world_free(world);
    org_free(org);
}

struct synced_after {
    struct sim_org *org;
    int64_t version;
};

static int synced_twice_more(void *arg)
{
    struct synced_after *s = arg;

    return org_user_version(s->org, 0) >= s->version + 2;
}

static const char *field(cJSON *doc, const char *key)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(doc, key);

    return cJSON_IsString(f) ? f->valuestring : "";
}

static void idp_sync_never_undoes_a_client_department(void **state)
{
    struct sim_config cfg;
    struct sim_actor_config *a;
    struct sim_org *org;
    struct world *world;
    struct synced_after s;
    cJSON *fields = cJSON_Parse("{\"department\":\"Claims\"}"), *doc;
    int64_t version = 1;

    (void)state;
    fast_cfg(&cfg, 2);
    cfg.world.presence_enabled = 0;
    a = add_actor(&cfg, SIM_ACTOR_IDP_SYNC);
    a->period_ns = 5 * NS_PER_MS;
    org = org_new(&cfg, NULL);
    world = world_new(&cfg, org);
    assert_int_equal(world_start(world), RT_OK);
    /* The client's own read-modify-write races the sync; retry stale. */
    while (org_user_patch(org, 0, version, fields, &client, &version) ==
           RT_ECONFLICT)
        ;
    s.org = org;
    s.version = version;
    assert_true(wait_for(synced_twice_more, &s));
    world_free(world);
    doc = org_user_json(org, 0, 0);
    assert_string_equal(field(doc, "department"), "Claims");
    assert_string_equal(field(doc, "title"), "Agent");
    cJSON_Delete(doc);
    cJSON_Delete(fields);
    org_free(org);
}

static int has_preferred_name(void *arg)
{
    cJSON *doc = org_user_json(arg, 0, 0);
    int yes = field(doc, "preferredName")[0] != '\0';

    cJSON_Delete(doc);
    return yes;
}

static void integration_writes_preferred_name(void **state)
{
    struct sim_config cfg;
    struct sim_actor_config *a;
    struct sim_org *org;
    struct world *world;
    cJSON *doc;

    (void)state;
    fast_cfg(&cfg, 1);
    cfg.world.presence_enabled = 0;
    a = add_actor(&cfg, SIM_ACTOR_INTEGRATION);
    a->period_ns = 5 * NS_PER_MS;
    snprintf(a->client_id, sizeof(a->client_id), "hr-sync");
    org = org_new(&cfg, NULL);
    world = world_new(&cfg, org);
    assert_int_equal(world_start(world), RT_OK);
    assert_true(wait_for(has_preferred_name, org));
    world_free(world);
    doc = org_user_json(org, 0, 0);
    assert_string_equal(field(doc, "department"), "Contact Center");
    assert_string_equal(field(doc, "title"), "Agent");
    assert_true(org_user_version(org, 0) > 1);
    cJSON_Delete(doc);
    org_free(org);
}

static void world_start_refuses_a_bad_config(void **state)
{
    struct sim_config cfg;
    struct sim_actor_config *a;
    struct sim_org *org;
    struct world *world;

    (void)state;
    fast_cfg(&cfg, 2);
    a = add_actor(&cfg, SIM_ACTOR_ROUTING_ENGINE);
    snprintf(a->on[a->n_on++], SIM_NAME_MAX, "routing:LUNCH");
    org = org_new(&cfg, NULL);
    world = world_new(&cfg, org);
    assert_int_equal(world_start(world), RT_EINVAL);
    world_free(world);
    org_free(org);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routing_engine_bumps_versions_and_truth_names_it),
        cmocka_unit_test(no_actor_leaves_every_version_alone),
        cmocka_unit_test(running_world_follows_its_plan),
        cmocka_unit_test(client_transition_triggers_presence_sync),
        cmocka_unit_test(idp_sync_never_undoes_a_client_department),
        cmocka_unit_test(integration_writes_preferred_name),
        cmocka_unit_test(world_start_refuses_a_bad_config),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
