/*
 * The simulated world: the agents' own presence/routing process and the
 * background actors, run by one engine that world_plan() drives against a
 * virtual org and a virtual clock, and the world thread drives against the
 * real org and CLOCK_MONOTONIC.  Because both run the same code, the plan
 * test proves the running world's schedule.
 *
 * Determinism.  Every random decision seeds its own generator from the
 * scenario seed and a key of (stream tag, actor, agent, counter): an
 * agent's n-th step, an actor's reaction to an agent's n-th transition, an
 * actor's n-th firing.  Nothing depends on timing or thread interleaving,
 * and events with the same time are ordered by their keys, not by arrival.
 * Transitions made by clients (the org hook reports them from HTTP threads)
 * are keyed by a separate per-agent counter, so they add reactions without
 * shifting any decision of the world's own schedule.  The agents' process
 * follows its own plan: a presence a client sets lasts until the agent's
 * next planned step.
 *
 * The agents' process (cfg->world, when presence_enabled).  On-queue
 * agents: IDLE for exp(mean_idle), then an alert: INTERACTING for
 * exp(mean_handle), or with probability not_responding_p NOT_RESPONDING
 * for not_responding_for; then IDLE again.  With break_every > 0, a break
 * falls due after exp(break_every) On Queue; the agent takes it when next
 * IDLE: presence Break, then routing OFF_QUEUE 10-250 ms later (routing
 * follows presence, so the two nearly coincide), exp(break_length) later
 * presence On Queue and, 10-250 ms after, routing IDLE.  Off-queue agents
 * (Available, OFF_QUEUE) alternate Available <-> Busy/Away/Meeting every
 * exp(away_every).  Presence and routing changes never touch the user's
 * version: the real API keeps them in separate services.
 *
 * What each actor writes, always through org_user_patch with the version
 * it read, under writer cause = its name and a UUID correlation id per
 * request.  None writes `department` with a value of its own, because the
 * harness's user-patch operation toggles it; none writes `title` except
 * admin.
 *   routing-engine  on each matching routing transition, with probability
 *                   p: reads the version at once, writes an empty patch
 *                   (an internal, version-only write) after a lag uniform
 *                   in [lag]; on a conflict re-reads and retries at once,
 *                   up to 5 times.
 *   presence-sync   the same, on matching presence transitions.
 *   wfm-publish     exactly round(share * agents) agents, chosen by seed,
 *                   each at its own time uniform in [at, at + spread]:
 *                   read, empty patch (version-only), up to 5 retries.
 *   idp-sync        round(share * agents) agents, each at its own fixed
 *                   phase within `every` (from `at`, default 0), then every
 *                   `every`: reads the stored fields unlagged and re-sends
 *                   `department` and `title` with their current values
 *                   (no field changes, the version moves); a stale read
 *                   conflicts and is re-read, up to 5 retries.
 *   station         round(share * agents) agents, each with association
 *                   churn at exp(every) intervals of its own: read, empty
 *                   patch (the association lives outside the user
 *                   document), up to 5 retries.
 *   admin           org-wide, at exp(every) intervals, a uniformly random
 *                   agent: read, patch `title` to one of a fixed list, up
 *                   to 5 retries.
 *   integration     another OAuth client (its client_id rides on every
 *                   write): at exp(every) intervals it picks one of its
 *                   round(share * agents) agents, reads the version, waits
 *                   a gap uniform in [gap], patches `preferredName`; on a
 *                   conflict it re-reads and tries again after a new gap,
 *                   up to 3 retries.
 *
 * Threads.  The heap, the agents' process state and the virtual org belong
 * to the world thread (or to world_plan's caller).  The org hook may run on
 * any thread: it only appends to the trigger queue under `lock` and
 * signals; the world thread drains the queue and does every write.
 */
#include "sim/world.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/rng.h"
#include "base/xalloc.h"

#define FOLLOW_LO_NS (10 * NS_PER_MS)
#define FOLLOW_HI_NS (250 * NS_PER_MS)
#define SERVICE_RETRIES 5
#define INTEGRATION_RETRIES 3
#define QUEUE_MAX 65536
#define NO_AGENT UINT32_MAX
#define CLIENT_KEY (UINT64_C(1) << 63)

/* Only the world's own presence/routing writes carry this pointer, which
 * is how the hook tells them from a client's. */
static const char world_cause[] = "world";

static const char *const admin_titles[] = {"Agent", "Senior Agent", "Team Lead",
                                           "Quality Analyst", "Trainer"};
static const char *const preferred_names[] = {"Alex",  "Sam", "Jordan",
                                              "Robin", "Kim", "Noor"};
static const enum sim_presence away_presences[] = {
    SIM_PRESENCE_BUSY, SIM_PRESENCE_AWAY, SIM_PRESENCE_MEETING};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Stream tags: the first part of every decision's key. */
enum tag {
    TAG_START = 1,
    TAG_STEP,
    TAG_REACT,
    TAG_CHOOSE,
    TAG_FIRE,
    TAG_GAP,
    TAG_VALUE,
    TAG_CORR_AGENT,
    TAG_CORR_ACTOR
};

/* What an agent's pending step does. */
enum phase {
    PH_NONE,
    PH_ALERT,
    PH_END_INTERACTION,
    PH_END_NOT_RESPONDING,
    PH_BREAK_PRESENCE,
    PH_BREAK_ROUTING,
    PH_BACK_PRESENCE,
    PH_BACK_ROUTING,
    PH_AWAY,
    PH_AVAILABLE
};

struct agent_proc {
    int64_t t_ns;         /* when the pending step happens */
    int64_t break_due_ns; /* next break falls due; INT64_MAX = never */
    int64_t break_end_ns; /* end of the break in progress */
    uint64_t step;        /* steps applied; the pending step's key */
    enum phase phase;
};

enum ev_type { EV_AGENT, EV_FIRE, EV_WRITE };

/* One scheduled event.  The key fields double as the tie-break order. */
struct ev {
    int64_t t_ns;
    uint64_t key;    /* firing counter, or the reaction's trigger key */
    int64_t version; /* EV_WRITE: the version read */
    uint32_t agent;
    uint16_t actor;
    uint8_t type;
    uint8_t attempt;
};

/* A presence or routing change, as the org hook reports it. */
struct trigger {
    int64_t t_ns;
    uint64_t key; /* own: the agent's step; client: CLIENT_KEY | count */
    uint32_t agent;
    uint8_t prop;
    uint8_t own;
    int16_t old_value, new_value;
};

struct actor_rt {
    unsigned routing_mask;  /* bit per enum sim_routing that triggers */
    unsigned presence_mask; /* bit per enum sim_presence */
    uint32_t *chosen;       /* the actor's share of agents, ascending */
    size_t n_chosen;
};

struct world {
    struct sim_config cfg;
    struct sim_org *org; /* NULL when planning */
    size_t n_agents;
    struct agent_proc *agents;
    struct actor_rt actors[SIM_ACTORS_MAX];
    struct ev *heap;
    size_t heap_len, heap_cap;
    /* The virtual org of a plan. */
    unsigned char *v_presence, *v_routing;
    int64_t *v_version;
    /* The step being applied; world thread only. */
    int64_t cur_t_ns;
    uint64_t cur_key;
    world_event_fn observer;
    void *observer_ctx;
    int plan_done;

    /* Shared with the hook: everything below `lock` is guarded by it. */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    struct trigger *queue, *spare;
    size_t queue_len, queue_cap, spare_cap;
    uint32_t *client_seq; /* per agent */
    int stopping;

    pthread_t thread;
    int started;
    atomic_int running;
    int64_t t0_mono_ns; /* written before `running` is released */
    atomic_uint_fast64_t n_transitions, n_writes, n_conflicts, n_triggers,
        n_dropped;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
    uint64_t z = h ^ (v + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* The generator of one decision. */
static void stream(const struct world *self, struct rng *r, enum tag tag,
                   uint64_t a, uint64_t b, uint64_t c)
{
    rng_seed(r, self->cfg.seed, mix(mix(mix(mix(0, tag), a), b), c));
}

static int64_t exp_ns(struct rng *r, int64_t mean_ns)
{
    double x = rng_exp(r, (double)mean_ns);

    /* At least 1 ns so a process always moves forward in time. */
    if (x < 1.0)
        return 1;
    if (x > 1e17)
        return INT64_C(100000000000000000);
    return (int64_t)x;
}

static int64_t max_i64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* A request id in UUID layout, a pure function of the decision key. */
static void make_uuid(const struct world *self, char out[SIM_ID_LEN],
                      enum tag tag, uint64_t a, uint64_t b, uint64_t c)
{
    struct rng r;
    uint64_t hi, lo;

    stream(self, &r, tag, a, b, c);
    hi = rng_u64(&r);
    lo = rng_u64(&r);
    hi = (hi & ~UINT64_C(0xf000)) | UINT64_C(0x4000);
    lo = (lo & ~(UINT64_C(0xc) << 60)) | (UINT64_C(0x8) << 60);
    snprintf(out, SIM_ID_LEN, "%08x-%04x-%04x-%04x-%012llx",
             (unsigned)(hi >> 32), (unsigned)((hi >> 16) & 0xffff),
             (unsigned)(hi & 0xffff), (unsigned)(lo >> 48),
             (unsigned long long)(lo & UINT64_C(0xffffffffffff)));
}

/* ---- triggers ---------------------------------------------------------- */

/* Parse one "routing:<STATUS>" / "presence:<Presence>" / "<kind>:*" into
 * the masks.  -1 when the name is unknown. */
static int trigger_mask(const char *on, unsigned *routing_mask,
                        unsigned *presence_mask)
{
    const char *name;
    int v;

    if (!strncmp(on, "routing:", 8)) {
        name = on + 8;
        if (!strcmp(name, "*")) {
            *routing_mask |= (1u << SIM_ROUTING_COUNT) - 1;
            return 0;
        }
        if ((v = sim_routing_lookup(name)) < 0)
            return -1;
        *routing_mask |= 1u << v;
        return 0;
    }
    if (!strncmp(on, "presence:", 9)) {
        name = on + 9;
        if (!strcmp(name, "*")) {
            *presence_mask |= (1u << SIM_PRESENCE_COUNT) - 1;
            return 0;
        }
        if ((v = sim_presence_lookup(name)) < 0)
            return -1;
        *presence_mask |= 1u << v;
        return 0;
    }
    return -1;
}

enum rt_err world_check(const struct sim_config *cfg)
{
    const struct sim_world_config *w = &cfg->world;

    if (cfg->agents < 1 || cfg->agents >= (int64_t)NO_AGENT)
        return rt_fail(RT_EINVAL, "world: agent count %lld out of range",
                       (long long)cfg->agents);
    if (w->presence_enabled && (w->mean_idle_ns <= 0 || w->mean_handle_ns <= 0))
        return rt_fail(RT_EINVAL,
                       "world: 'mean_idle' and 'mean_handle' must be > 0");
    if (w->n_actors > SIM_ACTORS_MAX)
        return rt_fail(RT_EINVAL, "world: more than %d actors", SIM_ACTORS_MAX);
    for (size_t a = 0; a < w->n_actors; a++) {
        const struct sim_actor_config *ac = &w->actors[a];
        unsigned rm = 0, pm = 0;

        if ((unsigned)ac->kind >= SIM_ACTOR_KIND_COUNT || !ac->name[0])
            return rt_fail(RT_EINVAL, "world: actor %zu has no kind or name",
                           a);
        if (ac->share < 0 || ac->share > 1 || ac->p < 0 || ac->p > 1)
            return rt_fail(RT_EINVAL,
                           "world: actor '%s': share and p must be in [0, 1]",
                           ac->name);
        switch (ac->kind) {
        case SIM_ACTOR_ROUTING_ENGINE:
        case SIM_ACTOR_PRESENCE_SYNC:
            if (ac->n_on == 0 || ac->n_on > SIM_ON_MAX)
                return rt_fail(RT_EINVAL, "world: actor '%s': no trigger",
                               ac->name);
            for (size_t k = 0; k < ac->n_on; k++)
                if (trigger_mask(ac->on[k], &rm, &pm))
                    return rt_fail(RT_EINVAL,
                                   "world: actor '%s': unknown trigger '%s'",
                                   ac->name, ac->on[k]);
            if (ac->lag_lo_ns < 0 || ac->lag_hi_ns < ac->lag_lo_ns)
                return rt_fail(RT_EINVAL, "world: actor '%s': bad lag range",
                               ac->name);
            break;
        case SIM_ACTOR_WFM_PUBLISH:
            if (ac->at_ns < 0 || ac->spread_ns < 0)
                return rt_fail(RT_EINVAL,
                               "world: actor '%s': needs 'at' and a "
                               "non-negative 'spread'",
                               ac->name);
            break;
        case SIM_ACTOR_INTEGRATION:
            if (ac->gap_lo_ns < 0 || ac->gap_hi_ns < ac->gap_lo_ns)
                return rt_fail(RT_EINVAL, "world: actor '%s': bad gap range",
                               ac->name);
            /* fall through */
        case SIM_ACTOR_IDP_SYNC:
        case SIM_ACTOR_STATION:
        case SIM_ACTOR_ADMIN:
            if (ac->period_ns <= 0)
                return rt_fail(RT_EINVAL,
                               "world: actor '%s': 'every' must be > 0",
                               ac->name);
            break;
        default:
            break;
        }
    }
    return RT_OK;
}

/* ---- heap -------------------------------------------------------------- */

static int ev_before(const struct ev *a, const struct ev *b)
{
    if (a->t_ns != b->t_ns)
        return a->t_ns < b->t_ns;
    if (a->type != b->type)
        return a->type < b->type;
    if (a->actor != b->actor)
        return a->actor < b->actor;
    if (a->agent != b->agent)
        return a->agent < b->agent;
    if (a->key != b->key)
        return a->key < b->key;
    return a->attempt < b->attempt;
}

static void heap_push(struct world *self, const struct ev *ev)
{
    size_t i;

    if (self->heap_len == self->heap_cap) {
        self->heap_cap = self->heap_cap ? self->heap_cap * 2 : 64;
        self->heap =
            xreallocarray(self->heap, self->heap_cap, sizeof(*self->heap));
    }
    i = self->heap_len++;
    while (i > 0 && ev_before(ev, &self->heap[(i - 1) / 2])) {
        self->heap[i] = self->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    self->heap[i] = *ev;
}

static struct ev heap_pop(struct world *self)
{
    struct ev top = self->heap[0], last = self->heap[--self->heap_len];
    size_t i = 0, n = self->heap_len;

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ev_before(&self->heap[c + 1], &self->heap[c]))
            c++;
        if (!ev_before(&self->heap[c], &last))
            break;
        self->heap[i] = self->heap[c];
        i = c;
    }
    if (n)
        self->heap[i] = last;
    return top;
}

static void push_ev(struct world *self, enum ev_type type, int64_t t_ns,
                    size_t actor, uint32_t agent, uint64_t key,
                    unsigned attempt, int64_t version)
{
    struct ev ev = {t_ns,
                    key,
                    version,
                    agent,
                    (uint16_t)actor,
                    (uint8_t)type,
                    (uint8_t)attempt};

    heap_push(self, &ev);
}

/* ---- the org, real or virtual ----------------------------------------- */

static void emit(struct world *self, enum world_event_kind kind, int64_t t_ns,
                 size_t agent, int64_t old_value, int64_t new_value, int actor,
                 unsigned attempt)
{
    struct world_event e = {t_ns,      agent, kind,   old_value,
                            new_value, actor, attempt};

    if (self->observer && !self->plan_done &&
        self->observer(self->observer_ctx, &e) && !self->org)
        self->plan_done = 1;
}

static void enqueue(struct world *self, struct trigger *tr, int client)
{
    pthread_mutex_lock(&self->lock);
    if (client)
        tr->key = CLIENT_KEY | self->client_seq[tr->agent]++;
    if (self->queue_len == QUEUE_MAX) {
        atomic_fetch_add(&self->n_dropped, 1);
    } else {
        if (self->queue_len == self->queue_cap) {
            self->queue_cap = self->queue_cap ? self->queue_cap * 2 : 64;
            self->queue = xreallocarray(self->queue, self->queue_cap,
                                        sizeof(*self->queue));
        }
        self->queue[self->queue_len++] = *tr;
        pthread_cond_signal(&self->cond);
    }
    pthread_mutex_unlock(&self->lock);
}

/* The org hook: runs on whichever thread made the change, outside the
 * org's locks.  Only records the change; the world thread acts on it. */
static void on_transition(void *ctx, size_t agent, enum sim_prop prop,
                          int old_value, int new_value, int64_t wall_ns,
                          const struct sim_writer *who)
{
    struct world *self = ctx;
    struct trigger tr;
    int own = who && who->cause == world_cause;

    (void)wall_ns;
    if (!atomic_load_explicit(&self->running, memory_order_acquire))
        return;
    memset(&tr, 0, sizeof(tr));
    tr.agent = (uint32_t)agent;
    tr.prop = (uint8_t)prop;
    tr.own = (uint8_t)own;
    tr.old_value = (int16_t)old_value;
    tr.new_value = (int16_t)new_value;
    if (own) {
        /* Only the world thread writes with world_cause, so this is the
         * world thread reading its own step. */
        tr.t_ns = self->cur_t_ns;
        tr.key = self->cur_key;
    } else {
        tr.t_ns = clock_mono_ns() - self->t0_mono_ns;
    }
    enqueue(self, &tr, !own);
}

static void set_state(struct world *self, size_t i, enum sim_prop prop,
                      int value)
{
    char corr[SIM_ID_LEN];
    struct sim_writer who = {world_cause, NULL, corr};
    unsigned char *slot;
    struct trigger tr;

    make_uuid(self, corr, TAG_CORR_AGENT, i, self->cur_key, prop);
    if (self->org) {
        if (prop == SIM_PROP_PRESENCE)
            org_set_presence(self->org, i, (enum sim_presence)value, NULL,
                             &who);
        else
            org_set_routing(self->org, i, (enum sim_routing)value, &who);
        return;
    }
    slot =
        prop == SIM_PROP_PRESENCE ? &self->v_presence[i] : &self->v_routing[i];
    if (*slot == value)
        return;
    memset(&tr, 0, sizeof(tr));
    tr.t_ns = self->cur_t_ns;
    tr.key = self->cur_key;
    tr.agent = (uint32_t)i;
    tr.prop = (uint8_t)prop;
    tr.own = 1;
    tr.old_value = *slot;
    tr.new_value = (int16_t)value;
    *slot = (unsigned char)value;
    enqueue(self, &tr, 0);
}

static int64_t read_version(struct world *self, size_t i)
{
    return self->org ? org_user_version(self->org, i) : self->v_version[i];
}

/* The patch idp-sync re-sends: the stored department and title, read
 * together with their version.  Caller frees. */
static cJSON *read_idp_fields(struct world *self, size_t i, int64_t *version)
{
    cJSON *out = cJSON_CreateObject(), *doc;
    const char *const keys[] = {"department", "title"};

    if (!self->org) {
        *version = self->v_version[i];
        return out;
    }
    doc = org_user_fields(self->org, i, version);
    for (size_t k = 0; k < COUNT(keys); k++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(doc, keys[k]);
        if (f)
            cJSON_AddItemToObject(out, keys[k], cJSON_Duplicate(f, 1));
    }
    cJSON_Delete(doc);
    return out;
}

/* One versioned request by actor @a.  *current is the version after it
 * (the new one, or the one that made it stale).  1 when it committed. */
static int write_once(struct world *self, int64_t t_ns, size_t a, size_t agent,
                      uint64_t key, unsigned attempt, int64_t expected,
                      const cJSON *fields, int64_t *current)
{
    const struct sim_actor_config *ac = &self->cfg.world.actors[a];
    char corr[SIM_ID_LEN];
    struct sim_writer who = {ac->name, ac->client_id[0] ? ac->client_id : NULL,
                             corr};
    enum rt_err err = RT_OK;

    make_uuid(self, corr, TAG_CORR_ACTOR, a, agent, mix(key, attempt));
    if (self->org) {
        err = org_user_patch(self->org, agent, expected, fields, &who, current);
    } else if (self->v_version[agent] != expected) {
        *current = self->v_version[agent];
        err = RT_ECONFLICT;
    } else {
        *current = ++self->v_version[agent];
    }
    atomic_fetch_add(err ? &self->n_conflicts : &self->n_writes, 1);
    emit(self, err ? WORLD_EV_CONFLICT : WORLD_EV_WRITE, t_ns, agent, expected,
         *current, (int)a, attempt);
    return !err;
}

/* A service's write: @version read earlier, or -1 to read it now; a
 * conflict re-reads and retries at once. */
static void write_service(struct world *self, int64_t t_ns, size_t a,
                          size_t agent, uint64_t key, int64_t version,
                          const cJSON *fields)
{
    cJSON *empty = NULL;

    if (!fields)
        fields = empty = cJSON_CreateObject();
    if (version < 0)
        version = read_version(self, agent);
    for (unsigned attempt = 0; attempt <= SERVICE_RETRIES; attempt++)
        if (write_once(self, t_ns, a, agent, key, attempt, version, fields,
                       &version))
            break;
    cJSON_Delete(empty);
}

static void write_idp(struct world *self, int64_t t_ns, size_t a, size_t agent,
                      uint64_t key)
{
    for (unsigned attempt = 0; attempt <= SERVICE_RETRIES; attempt++) {
        int64_t version, after;
        cJSON *fields = read_idp_fields(self, agent, &version);
        int ok = write_once(self, t_ns, a, agent, key, attempt, version, fields,
                            &after);

        cJSON_Delete(fields);
        if (ok)
            break;
    }
}

/* ---- the agents' process ---------------------------------------------- */

static int64_t follow_ns(struct rng *r)
{
    return rng_range(r, FOLLOW_LO_NS, FOLLOW_HI_NS);
}

/* The agent became IDLE at @t: the next alert, or the break due first. */
static void plan_idle(struct world *self, struct agent_proc *ag, struct rng *r,
                      int64_t t)
{
    int64_t idle = exp_ns(r, self->cfg.world.mean_idle_ns);

    if (ag->break_due_ns <= t + idle) {
        ag->phase = PH_BREAK_PRESENCE;
        ag->t_ns = max_i64(t + follow_ns(r), ag->break_due_ns);
    } else {
        ag->phase = PH_ALERT;
        ag->t_ns = t + idle;
    }
}

static void agent_start(struct world *self, size_t i)
{
    const struct sim_world_config *w = &self->cfg.world;
    struct agent_proc *ag = &self->agents[i];
    struct rng r;

    stream(self, &r, TAG_START, i, 0, 0);
    ag->break_due_ns = INT64_MAX;
    ag->phase = PH_NONE;
    if (org_starts_on_queue(&self->cfg, i)) {
        if (w->mean_break_every_ns > 0)
            ag->break_due_ns = exp_ns(&r, w->mean_break_every_ns);
        plan_idle(self, ag, &r, 0);
    } else if (w->mean_away_every_ns > 0) {
        ag->phase = PH_AWAY;
        ag->t_ns = exp_ns(&r, w->mean_away_every_ns);
    }
    if (ag->phase != PH_NONE)
        push_ev(self, EV_AGENT, ag->t_ns, 0, (uint32_t)i, 0, 0, 0);
}

static void agent_step(struct world *self, size_t i, int64_t t)
{
    const struct sim_world_config *w = &self->cfg.world;
    struct agent_proc *ag = &self->agents[i];
    struct rng r;

    stream(self, &r, TAG_STEP, i, ag->step, 0);
    self->cur_t_ns = t;
    self->cur_key = ag->step;
    switch (ag->phase) {
    case PH_ALERT:
        if (rng_chance(&r, w->not_responding_p)) {
            set_state(self, i, SIM_PROP_ROUTING, SIM_ROUTING_NOT_RESPONDING);
            ag->phase = PH_END_NOT_RESPONDING;
            ag->t_ns = t + max_i64(w->not_responding_ns, 1);
        } else {
            set_state(self, i, SIM_PROP_ROUTING, SIM_ROUTING_INTERACTING);
            ag->phase = PH_END_INTERACTION;
            ag->t_ns = t + exp_ns(&r, w->mean_handle_ns);
        }
        break;
    case PH_END_INTERACTION:
    case PH_END_NOT_RESPONDING:
    case PH_BACK_ROUTING:
        set_state(self, i, SIM_PROP_ROUTING, SIM_ROUTING_IDLE);
        plan_idle(self, ag, &r, t);
        break;
    case PH_BREAK_PRESENCE:
        set_state(self, i, SIM_PROP_PRESENCE, SIM_PRESENCE_BREAK);
        ag->break_end_ns = t + exp_ns(&r, w->break_len_ns);
        ag->phase = PH_BREAK_ROUTING;
        ag->t_ns = t + follow_ns(&r);
        break;
    case PH_BREAK_ROUTING:
        set_state(self, i, SIM_PROP_ROUTING, SIM_ROUTING_OFF_QUEUE);
        ag->phase = PH_BACK_PRESENCE;
        ag->t_ns = max_i64(t, ag->break_end_ns);
        break;
    case PH_BACK_PRESENCE:
        set_state(self, i, SIM_PROP_PRESENCE, SIM_PRESENCE_ON_QUEUE);
        ag->break_due_ns = t + exp_ns(&r, w->mean_break_every_ns);
        ag->phase = PH_BACK_ROUTING;
        ag->t_ns = t + follow_ns(&r);
        break;
    case PH_AWAY:
        set_state(self, i, SIM_PROP_PRESENCE,
                  away_presences[rng_below(&r, COUNT(away_presences))]);
        ag->phase = PH_AVAILABLE;
        ag->t_ns = t + exp_ns(&r, w->mean_away_every_ns);
        break;
    case PH_AVAILABLE:
        set_state(self, i, SIM_PROP_PRESENCE, SIM_PRESENCE_AVAILABLE);
        ag->phase = PH_AWAY;
        ag->t_ns = t + exp_ns(&r, w->mean_away_every_ns);
        break;
    case PH_NONE:
        return;
    }
    ag->step++;
    push_ev(self, EV_AGENT, ag->t_ns, 0, (uint32_t)i, ag->step, 0, 0);
}

/* ---- actors ----------------------------------------------------------- */

/* Exactly round(share * n) agents, chosen by a seeded shuffle. */
static void choose_agents(struct world *self, size_t a)
{
    struct actor_rt *rt = &self->actors[a];
    size_t n = self->n_agents;
    size_t m = (size_t)(self->cfg.world.actors[a].share * (double)n + 0.5);
    uint32_t *perm = xmalloc(n * sizeof(*perm));
    struct rng r;

    if (m > n)
        m = n;
    stream(self, &r, TAG_CHOOSE, a, 0, 0);
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    for (size_t i = 0; i < m; i++) {
        size_t j = i + (size_t)rng_below(&r, n - i);
        uint32_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    rt->chosen = xcalloc(m ? m : 1, sizeof(*rt->chosen));
    rt->n_chosen = m;
    /* Mark and collect in index order so the list reads ascending. */
    {
        unsigned char *mark = xcalloc(n, 1);
        size_t k = 0;
        for (size_t i = 0; i < m; i++)
            mark[perm[i]] = 1;
        for (size_t i = 0; i < n; i++)
            if (mark[i])
                rt->chosen[k++] = (uint32_t)i;
        free(mark);
    }
    free(perm);
}

static void actor_start(struct world *self, size_t a)
{
    const struct sim_actor_config *ac = &self->cfg.world.actors[a];
    struct actor_rt *rt = &self->actors[a];
    struct rng r;

    for (size_t k = 0; k < ac->n_on && k < SIM_ON_MAX; k++)
        (void)trigger_mask(ac->on[k], &rt->routing_mask, &rt->presence_mask);
    switch (ac->kind) {
    case SIM_ACTOR_WFM_PUBLISH:
    case SIM_ACTOR_IDP_SYNC:
    case SIM_ACTOR_STATION:
    case SIM_ACTOR_INTEGRATION:
        choose_agents(self, a);
        break;
    default:
        break;
    }
    for (size_t k = 0; k < rt->n_chosen && ac->kind != SIM_ACTOR_INTEGRATION;
         k++) {
        uint32_t agent = rt->chosen[k];
        int64_t t = 0;

        stream(self, &r, TAG_FIRE, a, agent, 0);
        if (ac->kind == SIM_ACTOR_WFM_PUBLISH)
            t = ac->at_ns + rng_range(&r, 0, ac->spread_ns);
        else if (ac->kind == SIM_ACTOR_IDP_SYNC)
            t = max_i64(ac->at_ns, 0) + rng_range(&r, 0, ac->period_ns - 1);
        else
            t = exp_ns(&r, ac->period_ns);
        push_ev(self, EV_FIRE, t, a, agent, 0, 0, 0);
    }
    if (ac->kind == SIM_ACTOR_ADMIN ||
        (ac->kind == SIM_ACTOR_INTEGRATION && rt->n_chosen > 0)) {
        stream(self, &r, TAG_FIRE, a, NO_AGENT, UINT64_MAX);
        push_ev(self, EV_FIRE, exp_ns(&r, ac->period_ns), a, NO_AGENT, 0, 0, 0);
    }
}

/* A transition of any source: report the world's own, then let every
 * routing-engine / presence-sync actor decide whether to react. */
static void react(struct world *self, const struct trigger *tr)
{
    atomic_fetch_add(&self->n_triggers, 1);
    if (tr->own) {
        atomic_fetch_add(&self->n_transitions, 1);
        emit(self,
             tr->prop == SIM_PROP_PRESENCE ? WORLD_EV_PRESENCE
                                           : WORLD_EV_ROUTING,
             tr->t_ns, tr->agent, tr->old_value, tr->new_value, -1, 0);
    }
    if (tr->new_value < 0 || tr->new_value >= 32)
        return;
    for (size_t a = 0; a < self->cfg.world.n_actors; a++) {
        const struct sim_actor_config *ac = &self->cfg.world.actors[a];
        unsigned mask = tr->prop == SIM_PROP_ROUTING
                            ? self->actors[a].routing_mask
                            : self->actors[a].presence_mask;
        struct rng r;
        int64_t lag;

        if (!(mask & (1u << tr->new_value)))
            continue;
        stream(self, &r, TAG_REACT, a, tr->agent, tr->key);
        if (!rng_chance(&r, ac->p))
            continue;
        lag = rng_range(&r, ac->lag_lo_ns, ac->lag_hi_ns);
        /* The service reads the version when it sees the transition and
         * writes with it after the lag. */
        push_ev(self, EV_WRITE, tr->t_ns + lag, a, tr->agent, tr->key, 0,
                read_version(self, tr->agent));
    }
}

static void drain(struct world *self)
{
    for (;;) {
        struct trigger *batch;
        size_t n, cap;

        pthread_mutex_lock(&self->lock);
        n = self->queue_len;
        batch = self->queue;
        cap = self->queue_cap;
        self->queue = self->spare;
        self->queue_cap = self->spare_cap;
        self->queue_len = 0;
        self->spare = batch;
        self->spare_cap = cap;
        pthread_mutex_unlock(&self->lock);
        if (!n)
            return;
        /* Writes never call the hook, so nothing swaps the buffers while
         * this batch is read. */
        for (size_t k = 0; k < n; k++)
            react(self, &batch[k]);
    }
}

static void fire(struct world *self, const struct ev *ev)
{
    const struct sim_actor_config *ac = &self->cfg.world.actors[ev->actor];
    const struct actor_rt *rt = &self->actors[ev->actor];
    struct rng r;
    cJSON *fields;
    uint32_t agent;
    int64_t version;

    switch (ac->kind) {
    case SIM_ACTOR_WFM_PUBLISH:
        write_service(self, ev->t_ns, ev->actor, ev->agent, ev->key, -1, NULL);
        break;
    case SIM_ACTOR_IDP_SYNC:
        write_idp(self, ev->t_ns, ev->actor, ev->agent, ev->key);
        push_ev(self, EV_FIRE, ev->t_ns + ac->period_ns, ev->actor, ev->agent,
                ev->key + 1, 0, 0);
        break;
    case SIM_ACTOR_STATION:
        write_service(self, ev->t_ns, ev->actor, ev->agent, ev->key, -1, NULL);
        stream(self, &r, TAG_FIRE, ev->actor, ev->agent, ev->key + 1);
        push_ev(self, EV_FIRE, ev->t_ns + exp_ns(&r, ac->period_ns), ev->actor,
                ev->agent, ev->key + 1, 0, 0);
        break;
    case SIM_ACTOR_ADMIN:
        stream(self, &r, TAG_FIRE, ev->actor, NO_AGENT, ev->key);
        agent = (uint32_t)rng_below(&r, self->n_agents);
        fields = cJSON_CreateObject();
        cJSON_AddStringToObject(
            fields, "title", admin_titles[rng_below(&r, COUNT(admin_titles))]);
        write_service(self, ev->t_ns, ev->actor, agent, ev->key, -1, fields);
        cJSON_Delete(fields);
        push_ev(self, EV_FIRE, ev->t_ns + exp_ns(&r, ac->period_ns), ev->actor,
                NO_AGENT, ev->key + 1, 0, 0);
        break;
    case SIM_ACTOR_INTEGRATION:
        stream(self, &r, TAG_FIRE, ev->actor, NO_AGENT, ev->key);
        agent = rt->chosen[rng_below(&r, rt->n_chosen)];
        version = read_version(self, agent);
        emit(self, WORLD_EV_READ, ev->t_ns, agent, version, version, ev->actor,
             0);
        push_ev(self, EV_WRITE,
                ev->t_ns + rng_range(&r, ac->gap_lo_ns, ac->gap_hi_ns),
                ev->actor, agent, ev->key, 0, version);
        push_ev(self, EV_FIRE, ev->t_ns + exp_ns(&r, ac->period_ns), ev->actor,
                NO_AGENT, ev->key + 1, 0, 0);
        break;
    default:
        break;
    }
}

/* The integration's write after its gap; a conflict re-reads and tries
 * again after a new gap. */
static void write_integration(struct world *self, const struct ev *ev)
{
    const struct sim_actor_config *ac = &self->cfg.world.actors[ev->actor];
    cJSON *fields = cJSON_CreateObject();
    struct rng r;
    int64_t current;

    stream(self, &r, TAG_VALUE, ev->actor, ev->agent, ev->key);
    cJSON_AddStringToObject(
        fields, "preferredName",
        preferred_names[rng_below(&r, COUNT(preferred_names))]);
    if (!write_once(self, ev->t_ns, ev->actor, ev->agent, ev->key, ev->attempt,
                    ev->version, fields, &current) &&
        ev->attempt < INTEGRATION_RETRIES) {
        stream(self, &r, TAG_GAP, ev->actor, ev->key, ev->attempt + 1u);
        emit(self, WORLD_EV_READ, ev->t_ns, ev->agent, current, current,
             ev->actor, ev->attempt + 1u);
        push_ev(self, EV_WRITE,
                ev->t_ns + rng_range(&r, ac->gap_lo_ns, ac->gap_hi_ns),
                ev->actor, ev->agent, ev->key, ev->attempt + 1u, current);
    }
    cJSON_Delete(fields);
}

static void process(struct world *self, const struct ev *ev)
{
    switch ((enum ev_type)ev->type) {
    case EV_AGENT:
        agent_step(self, ev->agent, ev->t_ns);
        break;
    case EV_FIRE:
        fire(self, ev);
        break;
    case EV_WRITE:
        if (self->cfg.world.actors[ev->actor].kind == SIM_ACTOR_INTEGRATION)
            write_integration(self, ev);
        else
            write_service(self, ev->t_ns, ev->actor, ev->agent, ev->key,
                          ev->version, NULL);
        break;
    }
}

/* ---- lifecycle -------------------------------------------------------- */

static struct world *world_create(const struct sim_config *cfg,
                                  struct sim_org *org)
{
    struct world *self = xcalloc(1, sizeof(*self));
    pthread_condattr_t attr;

    self->cfg = *cfg;
    self->org = org;
    self->n_agents = org ? org_agent_count(org) : (size_t)cfg->agents;
    if (self->cfg.world.n_actors > SIM_ACTORS_MAX)
        self->cfg.world.n_actors = SIM_ACTORS_MAX;
    self->agents = xcalloc(self->n_agents, sizeof(*self->agents));
    self->client_seq = xcalloc(self->n_agents, sizeof(*self->client_seq));
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cond, &attr);
    pthread_condattr_destroy(&attr);
    atomic_init(&self->running, 0);
    atomic_init(&self->n_transitions, 0);
    atomic_init(&self->n_writes, 0);
    atomic_init(&self->n_conflicts, 0);
    atomic_init(&self->n_triggers, 0);
    atomic_init(&self->n_dropped, 0);
    if (!org) {
        self->v_presence = xmalloc(self->n_agents);
        self->v_routing = xmalloc(self->n_agents);
        self->v_version = xmalloc(self->n_agents * sizeof(int64_t));
        for (size_t i = 0; i < self->n_agents; i++) {
            int on_queue = org_starts_on_queue(cfg, i);
            self->v_presence[i] =
                on_queue ? SIM_PRESENCE_ON_QUEUE : SIM_PRESENCE_AVAILABLE;
            self->v_routing[i] =
                on_queue ? SIM_ROUTING_IDLE : SIM_ROUTING_OFF_QUEUE;
            self->v_version[i] = 1;
        }
    }
    if (self->cfg.world.presence_enabled)
        for (size_t i = 0; i < self->n_agents; i++)
            agent_start(self, i);
    for (size_t a = 0; a < self->cfg.world.n_actors; a++)
        actor_start(self, a);
    return self;
}

static void world_destroy(struct world *self)
{
    for (size_t a = 0; a < SIM_ACTORS_MAX; a++)
        free(self->actors[a].chosen);
    free(self->agents);
    free(self->heap);
    free(self->v_presence);
    free(self->v_routing);
    free(self->v_version);
    free(self->queue);
    free(self->spare);
    free(self->client_seq);
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    free(self);
}

enum rt_err world_plan(const struct sim_config *cfg, int64_t horizon_ns,
                       world_event_fn fn, void *ctx)
{
    struct world *self;
    enum rt_err err;

    if ((err = world_check(cfg)))
        return err;
    self = world_create(cfg, NULL);
    self->observer = fn;
    self->observer_ctx = ctx;
    while (!self->plan_done && self->heap_len &&
           self->heap[0].t_ns <= horizon_ns) {
        struct ev ev = heap_pop(self);
        process(self, &ev);
        drain(self);
    }
    world_destroy(self);
    return RT_OK;
}

struct world *world_new(const struct sim_config *cfg, struct sim_org *org)
{
    struct world *self = world_create(cfg, org);

    /* The world is the first listener; it cannot be refused. */
    (void)org_add_hook(org, on_transition, self);
    return self;
}

void world_set_observer(struct world *self, world_event_fn fn, void *ctx)
{
    self->observer = fn;
    self->observer_ctx = ctx;
}

static void *world_main(void *arg)
{
    struct world *self = arg;

    pthread_mutex_lock(&self->lock);
    while (!self->stopping) {
        int64_t due;

        if (self->queue_len) {
            pthread_mutex_unlock(&self->lock);
            drain(self);
            pthread_mutex_lock(&self->lock);
            continue;
        }
        if (!self->heap_len) {
            pthread_cond_wait(&self->cond, &self->lock);
            continue;
        }
        due = self->t0_mono_ns + self->heap[0].t_ns;
        if (clock_mono_ns() < due) {
            struct timespec ts = clock_mono_timespec(due);
            pthread_cond_timedwait(&self->cond, &self->lock, &ts);
            continue;
        }
        pthread_mutex_unlock(&self->lock);
        {
            /* Run the event unlocked: the org calls the hook, which takes
             * the lock. */
            struct ev ev = heap_pop(self);
            process(self, &ev);
        }
        drain(self);
        pthread_mutex_lock(&self->lock);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

enum rt_err world_start(struct world *self)
{
    enum rt_err err;
    int rc;

    if (self->started)
        return RT_OK;
    if (self->stopping)
        return rt_fail(RT_EBUSY, "a stopped world cannot be restarted");
    if ((err = world_check(&self->cfg)))
        return err;
    self->t0_mono_ns = clock_mono_ns();
    atomic_store_explicit(&self->running, 1, memory_order_release);
    if ((rc = pthread_create(&self->thread, NULL, world_main, self))) {
        atomic_store_explicit(&self->running, 0, memory_order_release);
        return rt_fail(RT_ESYS, "cannot start the world thread: %s",
                       strerror(rc));
    }
    self->started = 1;
    return RT_OK;
}

void world_stop(struct world *self)
{
    if (!self || !self->started)
        return;
    /* The thread finishes the event in hand, hook calls included, so
     * what it applied is always a whole prefix of the schedule. */
    pthread_mutex_lock(&self->lock);
    self->stopping = 1;
    pthread_cond_signal(&self->cond);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    atomic_store_explicit(&self->running, 0, memory_order_release);
    self->started = 0;
}

void world_free(struct world *self)
{
    if (!self)
        return;
    world_stop(self);
    org_remove_hook(self->org, on_transition, self);
    world_destroy(self);
}

void world_stats(struct world *self, struct world_stats *out)
{
    out->transitions = atomic_load(&self->n_transitions);
    out->writes = atomic_load(&self->n_writes);
    out->conflicts = atomic_load(&self->n_conflicts);
    out->triggers = atomic_load(&self->n_triggers);
    out->triggers_dropped = atomic_load(&self->n_dropped);
}
