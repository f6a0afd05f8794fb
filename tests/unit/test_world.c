/*
 * The world's schedule, through world_plan(): the same code the world
 * thread runs, against a virtual org.  Same seed, same schedule; each
 * actor's trigger, probability, lag, share and period; the agents' own
 * process (breaks with routing following presence, NOT_RESPONDING,
 * off-queue agents); and no version change at all without an actor.
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
#include "base/xalloc.h"
#include "sim/config.h"
#include "sim/org.h"
#include "sim/world.h"

struct evlist {
    struct world_event *ev;
    size_t n, cap;
    size_t limit; /* stop the plan after this many; 0 = never */
};

static int collect(void *ctx, const struct world_event *ev)
{
    struct evlist *l = ctx;

    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->ev = xreallocarray(l->ev, l->cap, sizeof(*l->ev));
    }
    l->ev[l->n++] = *ev;
    return l->limit && l->n >= l->limit;
}

static void plan(const struct sim_config *cfg, int64_t horizon_ns,
                 struct evlist *out)
{
    memset(out, 0, sizeof(*out));
    assert_int_equal(world_plan(cfg, horizon_ns, collect, out), RT_OK);
}

/* A busy small contact center: fast cycles so minutes of schedule hold
 * thousands of transitions. */
static void busy_cfg(struct sim_config *cfg)
{
    struct sim_world_config *w = &cfg->world;

    sim_config_defaults(cfg);
    cfg->agents = 20;
    w->on_queue_share = 0.7;
    w->mean_idle_ns = 2 * NS_PER_S;
    w->mean_handle_ns = 3 * NS_PER_S;
    w->mean_break_every_ns = 60 * NS_PER_S;
    w->break_len_ns = 10 * NS_PER_S;
    w->not_responding_p = 0.1;
    w->not_responding_ns = 5 * NS_PER_S;
    w->mean_away_every_ns = 30 * NS_PER_S;
}

/* An actor with the defaults the scenario parser gives. */
static struct sim_actor_config *add_actor(struct sim_config *cfg,
                                          enum sim_actor_kind kind)
{
    struct sim_actor_config *a = &cfg->world.actors[cfg->world.n_actors++];

    memset(a, 0, sizeof(*a));
    a->kind = kind;
    snprintf(a->name, sizeof(a->name), "%s", sim_actor_kind_names[kind]);
    a->p = 1.0;
    a->share = 1.0;
    a->lag_lo_ns = 50 * NS_PER_MS;
    a->lag_hi_ns = 400 * NS_PER_MS;
    a->period_ns = 60 * NS_PER_S;
    a->gap_lo_ns = 100 * NS_PER_MS;
    a->gap_hi_ns = 1500 * NS_PER_MS;
    a->spread_ns = 20 * NS_PER_S;
    a->at_ns = -1;
    if (kind == SIM_ACTOR_INTEGRATION)
        snprintf(a->client_id, sizeof(a->client_id), "integration-client-1");
    return a;
}

static void add_on(struct sim_actor_config *a, const char *on)
{
    snprintf(a->on[a->n_on++], SIM_NAME_MAX, "%s", on);
}

/* Every kind of actor at once. */
static void all_actors_cfg(struct sim_config *cfg)
{
    struct sim_actor_config *a;

    busy_cfg(cfg);
    a = add_actor(cfg, SIM_ACTOR_ROUTING_ENGINE);
    add_on(a, "routing:INTERACTING");
    a->p = 0.5;
    a = add_actor(cfg, SIM_ACTOR_PRESENCE_SYNC);
    add_on(a, "presence:*");
    a = add_actor(cfg, SIM_ACTOR_WFM_PUBLISH);
    a->at_ns = 30 * NS_PER_S;
    a->share = 0.5;
    a = add_actor(cfg, SIM_ACTOR_IDP_SYNC);
    a->period_ns = 20 * NS_PER_S;
    a = add_actor(cfg, SIM_ACTOR_STATION);
    a->period_ns = 15 * NS_PER_S;
    a->share = 0.3;
    a = add_actor(cfg, SIM_ACTOR_ADMIN);
    a->period_ns = 5 * NS_PER_S;
    a = add_actor(cfg, SIM_ACTOR_INTEGRATION);
    a->period_ns = 2 * NS_PER_S;
    a->share = 0.25;
}

static int is_write(const struct world_event *e)
{
    return e->kind == WORLD_EV_WRITE || e->kind == WORLD_EV_CONFLICT;
}

static size_t count_kind(const struct evlist *l, enum world_event_kind kind)
{
    size_t n = 0;

    for (size_t i = 0; i < l->n; i++)
        n += l->ev[i].kind == kind;
    return n;
}

static void assert_same_event(const struct world_event *a,
                              const struct world_event *b, size_t i)
{
    if (a->t_ns != b->t_ns || a->agent != b->agent || a->kind != b->kind ||
        a->old_value != b->old_value || a->new_value != b->new_value ||
        a->actor != b->actor || a->attempt != b->attempt)
        fail_msg("event %zu differs: t=%lld agent=%zu kind=%d %lld->%lld "
                 "actor=%d attempt=%u vs t=%lld agent=%zu kind=%d "
                 "%lld->%lld actor=%d attempt=%u",
                 i, (long long)a->t_ns, a->agent, (int)a->kind,
                 (long long)a->old_value, (long long)a->new_value, a->actor,
                 a->attempt, (long long)b->t_ns, b->agent, (int)b->kind,
                 (long long)b->old_value, (long long)b->new_value, b->actor,
                 b->attempt);
}

static void plan_same_seed_gives_identical_schedule(void **state)
{
    struct sim_config cfg;
    struct evlist a, b;

    (void)state;
    all_actors_cfg(&cfg);
    plan(&cfg, 10 * 60 * NS_PER_S, &a);
    plan(&cfg, 10 * 60 * NS_PER_S, &b);
    assert_true(a.n > 2000);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++)
        assert_same_event(&a.ev[i], &b.ev[i], i);
    /* Every kind of event shows up, so the comparison covered them all. */
    assert_true(count_kind(&a, WORLD_EV_PRESENCE) > 0);
    assert_true(count_kind(&a, WORLD_EV_ROUTING) > 0);
    assert_true(count_kind(&a, WORLD_EV_READ) > 0);
    assert_true(count_kind(&a, WORLD_EV_WRITE) > 0);
    for (int k = 0; k < (int)cfg.world.n_actors; k++) {
        size_t n = 0;
        for (size_t i = 0; i < a.n; i++)
            n += a.ev[i].kind == WORLD_EV_WRITE && a.ev[i].actor == k;
        if (n == 0)
            fail_msg("actor %d (%s) never wrote", k, cfg.world.actors[k].name);
    }
    free(a.ev);
    free(b.ev);
}

static void plan_differs_with_the_seed(void **state)
{
    struct sim_config cfg;
    struct evlist a, b;
    size_t same = 0, n;

    (void)state;
    all_actors_cfg(&cfg);
    plan(&cfg, 5 * 60 * NS_PER_S, &a);
    cfg.seed = 43;
    plan(&cfg, 5 * 60 * NS_PER_S, &b);
    n = a.n < b.n ? a.n : b.n;
    for (size_t i = 0; i < n; i++)
        same += a.ev[i].t_ns == b.ev[i].t_ns && a.ev[i].agent == b.ev[i].agent;
    /* Continuous times: another seed shares essentially no event. */
    assert_true(same < n / 100);
    free(a.ev);
    free(b.ev);
}

static void plan_is_in_time_order_and_versions_step_by_one(void **state)
{
    struct sim_config cfg;
    struct evlist l;
    int64_t *version;

    (void)state;
    all_actors_cfg(&cfg);
    plan(&cfg, 5 * 60 * NS_PER_S, &l);
    version = xcalloc((size_t)cfg.agents, sizeof(*version));
    for (size_t i = 0; i < (size_t)cfg.agents; i++)
        version[i] = 1;
    for (size_t i = 0; i < l.n; i++) {
        const struct world_event *e = &l.ev[i];
        if (i > 0 && e->t_ns < l.ev[i - 1].t_ns)
            fail_msg("event %zu at %lld before event %zu at %lld", i,
                     (long long)e->t_ns, i - 1, (long long)l.ev[i - 1].t_ns);
        assert_true(e->agent < (size_t)cfg.agents);
        if (e->kind == WORLD_EV_WRITE) {
            assert_int_equal(e->old_value, version[e->agent]);
            assert_int_equal(e->new_value, version[e->agent] + 1);
            version[e->agent] = e->new_value;
        } else if (e->kind == WORLD_EV_CONFLICT) {
            assert_int_not_equal(e->old_value, version[e->agent]);
            assert_int_equal(e->new_value, version[e->agent]);
        }
    }
    free(version);
    free(l.ev);
}

static void plan_stops_when_the_callback_asks(void **state)
{
    struct sim_config cfg;
    struct evlist l;

    (void)state;
    busy_cfg(&cfg);
    memset(&l, 0, sizeof(l));
    l.limit = 10;
    assert_int_equal(world_plan(&cfg, 60 * NS_PER_S, collect, &l), RT_OK);
    assert_int_equal(l.n, 10);
    free(l.ev);
}

static void no_actor_means_no_version_change(void **state)
{
    struct sim_config cfg;
    struct evlist l;

    (void)state;
    busy_cfg(&cfg);
    plan(&cfg, 10 * 60 * NS_PER_S, &l);
    assert_true(count_kind(&l, WORLD_EV_ROUTING) > 1000);
    assert_true(count_kind(&l, WORLD_EV_PRESENCE) > 50);
    for (size_t i = 0; i < l.n; i++)
        if (l.ev[i].kind != WORLD_EV_ROUTING &&
            l.ev[i].kind != WORLD_EV_PRESENCE)
            fail_msg("event %zu of kind %d without any actor", i,
                     (int)l.ev[i].kind);
    free(l.ev);
}

/*
 * Match every first write attempt of actor 0 to a distinct triggering
 * transition of the same agent, lag within [lo, hi] (greedy by time,
 * which is exact for equal-length windows).  Returns the matches; fails
 * on a write with no trigger, or a trigger at least @hi before the
 * horizon with no write.
 */
static size_t match_reactions(const struct evlist *l,
                              enum world_event_kind prop, unsigned new_mask,
                              int64_t lo, int64_t hi, int64_t horizon_ns)
{
    unsigned char *used = xcalloc(l->n ? l->n : 1, 1);
    size_t matched = 0;

    for (size_t w = 0; w < l->n; w++) {
        const struct world_event *e = &l->ev[w];
        size_t t;
        if (!is_write(e) || e->attempt != 0)
            continue;
        assert_int_equal(e->actor, 0);
        for (t = 0; t < w; t++) {
            const struct world_event *tr = &l->ev[t];
            if (!used[t] && tr->kind == prop && tr->agent == e->agent &&
                (new_mask >> tr->new_value & 1) && e->t_ns - tr->t_ns >= lo &&
                e->t_ns - tr->t_ns <= hi)
                break;
        }
        if (t == w)
            fail_msg("write %zu (agent %zu at %lld) follows no trigger", w,
                     e->agent, (long long)e->t_ns);
        used[t] = 1;
        matched++;
    }
    for (size_t t = 0; t < l->n; t++) {
        const struct world_event *tr = &l->ev[t];
        if (tr->kind == prop && (new_mask >> tr->new_value & 1) &&
            tr->t_ns + hi <= horizon_ns && !used[t])
            fail_msg("trigger %zu (agent %zu at %lld) got no write", t,
                     tr->agent, (long long)tr->t_ns);
    }
    free(used);
    return matched;
}

static void routing_engine_p1_writes_once_per_trigger_within_lag(void **state)
{
    struct sim_config cfg;
    struct sim_actor_config *a;
    struct evlist l;
    int64_t horizon = 10 * 60 * NS_PER_S;
    size_t matched;

    (void)state;
    busy_cfg(&cfg);
    a = add_actor(&cfg, SIM_ACTOR_ROUTING_ENGINE);
    add_on(a, "routing:INTERACTING");
    plan(&cfg, horizon, &l);
    matched =
        match_reactions(&l, WORLD_EV_ROUTING, 1u << SIM_ROUTING_INTERACTING,
                        a->lag_lo_ns, a->lag_hi_ns, horizon);
    assert_true(matched > 500);
    free(l.ev);
}

static void routing_engine_star_matches_every_routing_change(void **state)
{
    struct sim_config cfg;
    struct sim_actor_config *a;
    struct evlist l;
    int64_t horizon = 5 * 60 * NS_PER_S;

    (void)state;
    busy_cfg(&cfg);
    a = add_actor(&cfg, SIM_ACTOR_ROUTING_ENGINE);
    add_on(a, "routing:*");
    a->lag_lo_ns = a->lag_hi_ns = 5 * NS_PER_MS;
    plan(&cfg, horizon, &l);
    assert_true(match_reactions(&l, WORLD_EV_ROUTING, 0x1f, 5 * NS_PER_MS,
                                5 * NS_PER_MS, horizon) > 1000);
    free(l.ev);
}

static void routing_engine_p0_never_writes(void **state)
{
    struct sim_config cfg;
    struct sim_actor_config *a;
    struct evlist l;

    (void)state;
    busy_cfg(&cfg);
    a = add_actor(&cfg, SIM_ACTOR_ROUTING_ENGINE);
    add_on(a, "routing:INTERACTING");
    a->p = 0.0;
    plan(&cfg, 10 * 60 * NS_PER_S, &l);
    assert_true(count_kind(&l, WORLD_EV_ROUTING) > 1000);
    assert_int_equal(count_kind(&l, WORLD_EV_WRITE), 0);
    assert_int_equal(count_kind(&l, WORLD_EV_CONFLICT), 0);
    free(l.ev);
}

static void routing_engine_half_chance_writes_about_half(void **state)
{
    struct sim_config cfg;
    struct sim_actor_config *a;
    struct evlist l;
    size_t triggers = 0, firsts = 0;

    (void)state;
    busy_cfg(&cfg);
    a = add_actor(&cfg, SIM_ACTOR_ROUTING_ENGINE);
    add_on(a, "routing:INTERACTING");
    a->p = 0.5;
    plan(&cfg, 20 * 60 * NS_PER_S, &l);
    for (size_t i = 0; i < l.n; i++) {
        triggers += l.ev[i].kind == WORLD_EV_ROUTING &&
                    l.ev[i].new_value == SIM_ROUTING_INTERACTING;
        firsts += is_write(&l.ev[i]) && l.ev[i].attempt == 0;
    }
    /* Binomial(n > 2000, 0.5): 0.4..0.6 is more than 9 sigma wide. */
    assert_true(triggers > 2000);
    assert_true(firsts > triggers * 4 / 10 && firsts < triggers * 6 / 10);
    free(l.ev);
}

static void presence_sync_matches_any_spelling(void **state)
{
    static const char *const spellings[] = {
        "presence:On Queue", "presence:ON_QUEUE", "presence:OnQueue",
        "presence:e08eaf1b-ee47-4fa9-a231-1200e284798f"};
    struct evlist first = {0};
    int64_t horizon = 10 * 60 * NS_PER_S;

    (void)state;
    for (size_t s = 0; s < sizeof(spellings) / sizeof(spellings[0]); s++) {
        struct sim_config cfg;
        struct sim_actor_config *a;
        struct evlist l;

        busy_cfg(&cfg);
        a = add_actor(&cfg, SIM_ACTOR_PRESENCE_SYNC);
        add_on(a, spellings[s]);
        plan(&cfg, horizon, &l);
        assert_true(match_reactions(&l, WORLD_EV_PRESENCE,
                                    1u << SIM_PRESENCE_ON_QUEUE, a->lag_lo_ns,
                                    a->lag_hi_ns, horizon) > 10);
        if (s == 0) {
            first = l;
            continue;
        }
        assert_int_equal(l.n, first.n);
        for (size_t i = 0; i < l.n; i++)
            assert_same_event(&l.ev[i], &first.ev[i], i);
        free(l.ev);
    }
    free(first.ev);
}

static void wfm_publish_touches_exact_share_within_window(void **state)
{
    static const double shares[] = {0.25, 0.5, 1.0};

    (void)state;
    for (size_t s = 0; s < 3; s++) {
        struct sim_config cfg;
        struct sim_actor_config *a;
        struct evlist l;
        unsigned char seen[40] = {0};
        size_t writes = 0;

        sim_config_defaults(&cfg);
        cfg.agents = 40;
        cfg.world.presence_enabled = 0;
        a = add_actor(&cfg, SIM_ACTOR_WFM_PUBLISH);
        a->at_ns = 30 * NS_PER_S;
        a->spread_ns = 20 * NS_PER_S;
        a->share = shares[s];
        plan(&cfg, 10 * 60 * NS_PER_S, &l);
        for (size_t i = 0; i < l.n; i++) {
            const struct world_event *e = &l.ev[i];
            assert_int_equal(e->kind, WORLD_EV_WRITE);
            assert_in_range(e->t_ns, 30 * NS_PER_S, 50 * NS_PER_S);
            assert_int_equal(seen[e->agent], 0);
            seen[e->agent] = 1;
            writes++;
        }
        assert_int_equal(writes, (size_t)(shares[s] * 40));
        free(l.ev);
    }
}

static void idp_sync_keeps_each_agents_own_period(void **state)
{
    struct sim_config cfg;
    struct sim_actor_config *a;
    struct evlist l;
    int64_t last[30], first[30];
    size_t count[30] = {0}, synced = 0;
    int64_t lo_phase = INT64_MAX, hi_phase = 0;
    const int64_t every = 10 * NS_PER_S, at = 5 * NS_PER_S;

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 30;
    cfg.world.presence_enabled = 0;
    a = add_actor(&cfg, SIM_ACTOR_IDP_SYNC);
    a->period_ns = every;
    a->at_ns = at;
    a->share = 0.5;
    plan(&cfg, 5 * 60 * NS_PER_S, &l);
    for (size_t i = 0; i < l.n; i++) {
        const struct world_event *e = &l.ev[i];
        assert_int_equal(e->kind, WORLD_EV_WRITE);
        if (count[e->agent]++ == 0)
            first[e->agent] = e->t_ns;
        else
            assert_int_equal(e->t_ns - last[e->agent], every);
        last[e->agent] = e->t_ns;
    }
    for (size_t i = 0; i < 30; i++) {
        if (!count[i])
            continue;
        synced++;
        assert_in_range(first[i], at, at + every - 1);
        /* Horizon 300 s: 29 or 30 syncs depending on the phase. */
        assert_in_range(count[i], 29, 30);
        lo_phase = first[i] < lo_phase ? first[i] : lo_phase;
        hi_phase = first[i] > hi_phase ? first[i] : hi_phase;
    }
    assert_int_equal(synced, 15);
    /* Phases are per agent, spread over the period, not one batch. */
    assert_true(hi_phase - lo_phase > every / 2);
    free(l.ev);
}

static void station_churns_only_its_share_of_agents(void **state)
{
    struct sim_config cfg;
    struct sim_actor_config *a;
    struct evlist l;
    size_t per_agent[10] = {0}, touched = 0;

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 10;
    cfg.world.presence_enabled = 0;
    a = add_actor(&cfg, SIM_ACTOR_STATION);
    a->period_ns = 5 * NS_PER_S;
    a->share = 0.5;
    plan(&cfg, 10 * 60 * NS_PER_S, &l);
    for (size_t i = 0; i < l.n; i++) {
        assert_int_equal(l.ev[i].kind, WORLD_EV_WRITE);
        per_agent[l.ev[i].agent]++;
    }
    for (size_t i = 0; i < 10; i++) {
        touched += per_agent[i] > 0;
        /* Poisson with mean 120: 60..200 is over 5 sigma wide. */
        if (per_agent[i])
            assert_in_range(per_agent[i], 60, 200);
    }
    assert_int_equal(touched, 5);
    free(l.ev);
}

static void admin_edits_random_agents_org_wide(void **state)
{
    struct sim_config cfg;
    struct sim_actor_config *a;
    struct evlist l;
    size_t per_agent[20] = {0}, touched = 0;

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 20;
    cfg.world.presence_enabled = 0;
    a = add_actor(&cfg, SIM_ACTOR_ADMIN);
    a->period_ns = NS_PER_S;
    plan(&cfg, 10 * 60 * NS_PER_S, &l);
    for (size_t i = 0; i < l.n; i++) {
        assert_int_equal(l.ev[i].kind, WORLD_EV_WRITE);
        per_agent[l.ev[i].agent]++;
    }
    for (size_t i = 0; i < 20; i++)
        touched += per_agent[i] > 0;
    /* Poisson with mean 600 org-wide; every agent is hit. */
    assert_in_range(l.n, 450, 750);
    assert_int_equal(touched, 20);
    free(l.ev);
}

static void integration_writes_after_its_gap_with_the_version_read(void **state)
{
    struct sim_config cfg;
    struct sim_actor_config *a;
    struct evlist l;
    unsigned char touched[20] = {0};
    size_t n_touched = 0, reads = 0, conflicts = 0;

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 20;
    cfg.world.presence_enabled = 0;
    a = add_actor(&cfg, SIM_ACTOR_INTEGRATION);
    a->period_ns = NS_PER_S;
    a->share = 0.2;
    /* A second writer on the same agents makes the integration's gap a
     * window for conflicts. */
    add_actor(&cfg, SIM_ACTOR_ADMIN)->period_ns = NS_PER_S / 4;
    plan(&cfg, 10 * 60 * NS_PER_S, &l);
    for (size_t w = 0; w < l.n; w++) {
        const struct world_event *e = &l.ev[w];
        size_t r;
        if (e->actor != 0)
            continue;
        if (e->kind == WORLD_EV_READ) {
            reads++;
            assert_int_equal(e->old_value, e->new_value);
            continue;
        }
        if (!touched[e->agent]++)
            n_touched++;
        conflicts += e->kind == WORLD_EV_CONFLICT;
        /* The newest read of this agent with this attempt number: the
         * version the write carries, one gap earlier. */
        for (r = w; r-- > 0;)
            if (l.ev[r].actor == 0 && l.ev[r].kind == WORLD_EV_READ &&
                l.ev[r].agent == e->agent && l.ev[r].attempt == e->attempt &&
                l.ev[r].new_value == e->old_value &&
                e->t_ns - l.ev[r].t_ns >= a->gap_lo_ns &&
                e->t_ns - l.ev[r].t_ns <= a->gap_hi_ns)
                break;
        if (r == (size_t)-1)
            fail_msg("integration write %zu has no read one gap before", w);
        assert_true(e->attempt <= 3);
    }
    assert_int_equal(n_touched, 4);
    assert_true(reads > 500);
    assert_true(conflicts > 0);
    free(l.ev);
}

/* The next event of @agent after index @i, or NULL. */
static const struct world_event *next_of(const struct evlist *l, size_t i,
                                         size_t agent)
{
    for (size_t k = i + 1; k < l->n; k++)
        if (l->ev[k].agent == agent)
            return &l->ev[k];
    return NULL;
}

static void break_and_off_queue_come_together(void **state)
{
    struct sim_config cfg;
    struct evlist l;
    size_t breaks = 0, returns = 0;

    (void)state;
    busy_cfg(&cfg);
    cfg.world.mean_break_every_ns = 20 * NS_PER_S;
    cfg.world.break_len_ns = 5 * NS_PER_S;
    plan(&cfg, 10 * 60 * NS_PER_S, &l);
    for (size_t i = 0; i < l.n; i++) {
        const struct world_event *e = &l.ev[i], *n;
        if (e->kind != WORLD_EV_PRESENCE)
            continue;
        if (e->new_value == SIM_PRESENCE_BREAK) {
            breaks++;
            assert_int_equal(e->old_value, SIM_PRESENCE_ON_QUEUE);
            n = next_of(&l, i, e->agent);
            if (!n)
                continue;
            assert_int_equal(n->kind, WORLD_EV_ROUTING);
            assert_int_equal(n->new_value, SIM_ROUTING_OFF_QUEUE);
            assert_in_range(n->t_ns - e->t_ns, 10 * NS_PER_MS, 250 * NS_PER_MS);
        } else if (e->new_value == SIM_PRESENCE_ON_QUEUE) {
            returns++;
            assert_int_equal(e->old_value, SIM_PRESENCE_BREAK);
            n = next_of(&l, i, e->agent);
            if (!n)
                continue;
            assert_int_equal(n->kind, WORLD_EV_ROUTING);
            assert_int_equal(n->new_value, SIM_ROUTING_IDLE);
            assert_in_range(n->t_ns - e->t_ns, 10 * NS_PER_MS, 250 * NS_PER_MS);
        }
    }
    assert_true(breaks > 100);
    assert_true(returns > 100);
    free(l.ev);
}

static void not_responding_lasts_its_set_time(void **state)
{
    struct sim_config cfg;
    struct evlist l;
    size_t alerts = 0;

    (void)state;
    busy_cfg(&cfg);
    cfg.world.not_responding_p = 1.0;
    plan(&cfg, 5 * 60 * NS_PER_S, &l);
    for (size_t i = 0; i < l.n; i++) {
        const struct world_event *e = &l.ev[i], *n;
        assert_false(e->kind == WORLD_EV_ROUTING &&
                     e->new_value == SIM_ROUTING_INTERACTING);
        if (e->kind != WORLD_EV_ROUTING ||
            e->new_value != SIM_ROUTING_NOT_RESPONDING)
            continue;
        alerts++;
        assert_int_equal(e->old_value, SIM_ROUTING_IDLE);
        if (!(n = next_of(&l, i, e->agent)))
            continue;
        assert_int_equal(n->kind, WORLD_EV_ROUTING);
        assert_int_equal(n->new_value, SIM_ROUTING_IDLE);
        assert_int_equal(n->t_ns - e->t_ns, cfg.world.not_responding_ns);
    }
    assert_true(alerts > 100);
    free(l.ev);
}

static void off_queue_agents_alternate_available_and_away(void **state)
{
    struct sim_config cfg;
    struct evlist l;
    size_t changes = 0;

    (void)state;
    busy_cfg(&cfg);
    cfg.agents = 40;
    cfg.world.mean_away_every_ns = 10 * NS_PER_S;
    plan(&cfg, 10 * 60 * NS_PER_S, &l);
    for (size_t agent = 0; agent < 40; agent++) {
        int presence = SIM_PRESENCE_AVAILABLE;
        if (org_starts_on_queue(&cfg, agent))
            continue;
        for (size_t i = 0; i < l.n; i++) {
            const struct world_event *e = &l.ev[i];
            if (e->agent != agent)
                continue;
            assert_int_equal(e->kind, WORLD_EV_PRESENCE);
            assert_int_equal(e->old_value, presence);
            if (presence == SIM_PRESENCE_AVAILABLE)
                assert_true(e->new_value == SIM_PRESENCE_BUSY ||
                            e->new_value == SIM_PRESENCE_AWAY ||
                            e->new_value == SIM_PRESENCE_MEETING);
            else
                assert_int_equal(e->new_value, SIM_PRESENCE_AVAILABLE);
            presence = (int)e->new_value;
            changes++;
        }
    }
    assert_true(changes > 100);
    free(l.ev);
}

static void world_check_rejects_bad_actors(void **state)
{
    struct sim_config cfg;
    struct sim_actor_config *a;

    (void)state;
    busy_cfg(&cfg);
    a = add_actor(&cfg, SIM_ACTOR_ROUTING_ENGINE);
    add_on(a, "routing:BOGUS");
    assert_int_equal(world_check(&cfg), RT_EINVAL);
    assert_int_equal(world_plan(&cfg, NS_PER_S, collect, NULL), RT_EINVAL);
    snprintf(a->on[0], SIM_NAME_MAX, "presence:Lunch");
    assert_int_equal(world_check(&cfg), RT_EINVAL);
    snprintf(a->on[0], SIM_NAME_MAX, "presence:on_queue");
    assert_int_equal(world_check(&cfg), RT_OK);
    a = add_actor(&cfg, SIM_ACTOR_STATION);
    a->period_ns = 0;
    assert_int_equal(world_check(&cfg), RT_EINVAL);
    a->period_ns = NS_PER_S;
    a = add_actor(&cfg, SIM_ACTOR_WFM_PUBLISH);
    assert_int_equal(world_check(&cfg), RT_EINVAL); /* no "at" */
    a->at_ns = 0;
    assert_int_equal(world_check(&cfg), RT_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan_same_seed_gives_identical_schedule),
        cmocka_unit_test(plan_differs_with_the_seed),
        cmocka_unit_test(plan_is_in_time_order_and_versions_step_by_one),
        cmocka_unit_test(plan_stops_when_the_callback_asks),
        cmocka_unit_test(no_actor_means_no_version_change),
        cmocka_unit_test(routing_engine_p1_writes_once_per_trigger_within_lag),
        cmocka_unit_test(routing_engine_star_matches_every_routing_change),
        cmocka_unit_test(routing_engine_p0_never_writes),
        cmocka_unit_test(routing_engine_half_chance_writes_about_half),
        cmocka_unit_test(presence_sync_matches_any_spelling),
        cmocka_unit_test(wfm_publish_touches_exact_share_within_window),
        cmocka_unit_test(idp_sync_keeps_each_agents_own_period),
        cmocka_unit_test(station_churns_only_its_share_of_agents),
        cmocka_unit_test(admin_edits_random_agents_org_wide),
        cmocka_unit_test(
            integration_writes_after_its_gap_with_the_version_read),
        cmocka_unit_test(break_and_off_queue_come_together),
        cmocka_unit_test(not_responding_lasts_its_set_time),
        cmocka_unit_test(off_queue_agents_alternate_available_and_away),
        cmocka_unit_test(world_check_rejects_bad_actors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
