/*
 * Simulated org state.  Invariants:
 *  - agents[], queues[] and skills[] are created by org_new() and never
 *    change shape, so lookups by index or id need no lock;
 *  - every field of an agent is guarded by agent->lock, including its
 *    version, which only org_user_patch() changes (+1 per successful write);
 *  - every change is written to truth.csv, the audit trail and (presence,
 *    routing status) the agent's history while the lock is held, so their
 *    order per agent is the order of the changes;
 *  - an agent's history times never go backwards (a change that read the
 *    clock before another one took the lock is recorded at the later
 *    time), so its intervals are well formed.
 */
#include "sim/org.h"

#include <ctype.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/rng.h"
#include "base/xalloc.h"

#define SNAP_MAX 16
#define DIVISION_ID "8f0e7c0e-5a3e-4c1d-9b0a-1c2d3e4f5a6b"
/* Asynchronous audit queries run this long before they succeed. */
#define AUDIT_READY_NS (100 * NS_PER_MS)
/* remoteIp of audit records (include/sim/audit.h): the simulator listens
 * on loopback only; the admin person and the integration get addresses
 * from the documentation ranges (RFC 5737), which no real host uses. */
#define CLIENT_REMOTE_IP "127.0.0.1"
#define ADMIN_REMOTE_IP "198.51.100.7"
#define INTEGRATION_REMOTE_IP "203.0.113.7"

const char *const sim_routing_names[SIM_ROUTING_COUNT] = {
    "OFF_QUEUE", "IDLE", "INTERACTING", "NOT_RESPONDING", "COMMUNICATING"};

static const char *const media_types[] = {"call", "callback", "chat", "email",
                                          "message"};
static const int media_default_capacity[] = {1, 1, 3, 1, 4};

struct snapshot {
    int64_t mono_ns;
    int64_t version;
    cJSON *doc; /* owned copy of the user document at that version */
};

struct skill_slot {
    int assigned;
    double proficiency;
};

/* Transitions of one property, a ring of at most ORG_HISTORY_MAX that
 * grows by doubling and wraps only when full (start stays 0 until then). */
struct hist {
    int64_t *t;       /* wall ns the value began */
    unsigned char *v; /* enum sim_presence / enum sim_routing */
    uint32_t start, len, cap;
    uint64_t dropped;
};

struct sim_agent {
    pthread_mutex_t lock;
    char id[SIM_ID_LEN];
    int64_t version;
    cJSON *doc; /* user fields except id, version, selfUri, expands */
    enum sim_presence presence;
    int64_t presence_wall_ns;
    char *presence_message;
    enum sim_routing routing;
    int64_t routing_wall_ns;
    cJSON *utilization; /* agent-level map mediaType -> settings, or NULL */
    struct skill_slot *skills;
    unsigned char *member; /* per queue */
    unsigned char *joined; /* per queue */
    struct snapshot snaps[SNAP_MAX];
    unsigned snap_head; /* index of the newest snapshot */
    unsigned snap_len;
    struct hist hist[2]; /* by enum sim_prop */
};

struct named {
    char id[SIM_ID_LEN];
    char name[64];
};

/* A configured actor, as the audit trail names it. */
struct actor_ident {
    char name[SIM_NAME_MAX];
    enum sim_actor_kind kind;
    char user_id[SIM_ID_LEN]; /* admin: the person's fixed id */
};

struct sim_org {
    struct sim_agent *agents;
    size_t n_agents;
    struct named *queues;
    size_t n_queues;
    struct named *skills;
    size_t n_skills;
    /* Open-addressing index from user id to agent, built once. */
    long *index;
    size_t index_cap;
    struct sim_log *log;
    int64_t read_lag_ns;
    uint64_t seed;
    struct audit *audit;
    struct actor_ident actors[SIM_ACTORS_MAX];
    size_t n_actors;
    /* Transition listeners (the world, the notification hub), installed
     * before any thread starts and read without a lock afterwards. */
    struct {
        sim_transition_fn fn;
        void *ctx;
    } hooks[ORG_HOOKS_MAX];
    size_t n_hooks;
};

int sim_presence_lookup(const char *name)
{
    return presence_lookup(name);
}

int sim_routing_lookup(const char *name)
{
    for (int i = 0; name && i < SIM_ROUTING_COUNT; i++)
        if (!strcasecmp(name, sim_routing_names[i]))
            return i;
    return -1;
}

/* Deterministic UUID (version 4 layout) from the org's seeded rng. */
static void make_uuid(struct rng *rng, char out[SIM_ID_LEN])
{
    uint64_t hi = rng_u64(rng), lo = rng_u64(rng);

    hi = (hi & ~UINT64_C(0xf000)) | UINT64_C(0x4000);
    lo = (lo & ~(UINT64_C(0xc) << 60)) | (UINT64_C(0x8) << 60);
    snprintf(out, SIM_ID_LEN, "%08x-%04x-%04x-%04x-%012llx",
             (unsigned)(hi >> 32), (unsigned)((hi >> 16) & 0xffff),
             (unsigned)(hi & 0xffff), (unsigned)(lo >> 48),
             (unsigned long long)(lo & UINT64_C(0xffffffffffff)));
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);

    while (*s)
        h = (h ^ (unsigned char)*s++) * UINT64_C(1099511628211);
    return h;
}

static void index_build(struct sim_org *self)
{
    self->index_cap = 16;
    while (self->index_cap < self->n_agents * 2)
        self->index_cap *= 2;
    self->index = xmalloc(self->index_cap * sizeof(long));
    for (size_t i = 0; i < self->index_cap; i++)
        self->index[i] = -1;
    for (size_t i = 0; i < self->n_agents; i++) {
        size_t slot = hash_str(self->agents[i].id) & (self->index_cap - 1);
        while (self->index[slot] >= 0)
            slot = (slot + 1) & (self->index_cap - 1);
        self->index[slot] = (long)i;
    }
}

static cJSON *division_json(void)
{
    cJSON *d = cJSON_CreateObject();

    cJSON_AddStringToObject(d, "id", DIVISION_ID);
    cJSON_AddStringToObject(d, "name", "Home");
    cJSON_AddStringToObject(d, "selfUri",
                            "/api/v2/authorization/divisions/" DIVISION_ID);
    return d;
}

static cJSON *initial_doc(size_t i, const char *id)
{
    cJSON *doc = cJSON_CreateObject(), *chat, *contacts, *c;
    char name[64], email[96], jid[128];

    snprintf(name, sizeof(name), "Agent %04zu", i + 1);
    snprintf(email, sizeof(email), "agent%04zu@racetrace.example", i + 1);
    snprintf(jid, sizeof(jid), "%s@racetrace.orgspan.com", id);
    cJSON_AddStringToObject(doc, "name", name);
    cJSON_AddItemToObject(doc, "division", division_json());
    chat = cJSON_AddObjectToObject(doc, "chat");
    cJSON_AddStringToObject(chat, "jabberId", jid);
    cJSON_AddStringToObject(doc, "department", "Contact Center");
    cJSON_AddStringToObject(doc, "email", email);
    contacts = cJSON_AddArrayToObject(doc, "primaryContactInfo");
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "address", email);
    cJSON_AddStringToObject(c, "mediaType", "EMAIL");
    cJSON_AddStringToObject(c, "type", "PRIMARY");
    cJSON_AddItemToArray(contacts, c);
    cJSON_AddArrayToObject(doc, "addresses");
    cJSON_AddStringToObject(doc, "state", "active");
    cJSON_AddStringToObject(doc, "title", "Agent");
    cJSON_AddStringToObject(doc, "username", email);
    cJSON_AddBoolToObject(doc, "acdAutoAnswer", 0);
    return doc;
}

/* Record the agent's current document as the newest snapshot.  Lock held. */
static void snapshot_push(struct sim_agent *a)
{
    unsigned slot = a->snap_len == 0 ? 0 : (a->snap_head + 1) % SNAP_MAX;

    if (a->snap_len == SNAP_MAX)
        cJSON_Delete(a->snaps[slot].doc);
    else
        a->snap_len++;
    a->snaps[slot].mono_ns = clock_mono_ns();
    a->snaps[slot].version = a->version;
    a->snaps[slot].doc = cJSON_Duplicate(a->doc, 1);
    a->snap_head = slot;
}

/* Append a transition.  Lock held. */
static void hist_push(struct hist *h, int64_t t, int value)
{
    uint32_t at;

    if (h->len) {
        int64_t last = h->t[(h->start + h->len - 1) % h->cap];
        if (t < last)
            t = last;
    }
    if (h->len == h->cap) {
        if (h->cap < ORG_HISTORY_MAX) {
            uint32_t cap = h->cap ? h->cap * 2 : 16;
            h->cap = cap < ORG_HISTORY_MAX ? cap : ORG_HISTORY_MAX;
            h->t = xreallocarray(h->t, h->cap, sizeof(*h->t));
            h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
        } else {
            h->start = (h->start + 1) % h->cap;
            h->len--;
            h->dropped++;
        }
    }
    at = (h->start + h->len) % h->cap;
    h->t[at] = t;
    h->v[at] = (unsigned char)value;
    h->len++;
}

int org_starts_on_queue(const struct sim_config *cfg, size_t i)
{
    struct rng rng;

    /* A stream of its own per agent, apart from the org's id stream, so
     * the world's plan can compute it without building the org. */
    rng_seed(&rng, cfg->seed, (UINT64_C(0x0a9e) << 40) | (uint64_t)i);
    return rng_chance(&rng, cfg->world.on_queue_share);
}

struct sim_org *org_new(const struct sim_config *cfg, struct sim_log *log)
{
    struct sim_org *self = xcalloc(1, sizeof(*self));
    struct rng rng;
    int64_t now = clock_wall_ns();

    rng_seed(&rng, cfg->seed, UINT64_C(0x0f9));
    self->log = log;
    self->read_lag_ns = cfg->world.read_lag_ns;
    self->seed = cfg->seed;
    self->audit = audit_new(AUDIT_DEFAULT_MAX_RECORDS, AUDIT_READY_NS);
    for (size_t k = 0; k < cfg->world.n_actors && k < SIM_ACTORS_MAX; k++) {
        struct actor_ident *ai = &self->actors[self->n_actors++];
        struct rng id_rng;

        snprintf(ai->name, sizeof(ai->name), "%s", cfg->world.actors[k].name);
        ai->kind = cfg->world.actors[k].kind;
        /* The same person in every run and every org: the id hangs on
         * the actor's name only, from a stream of its own. */
        rng_seed(&id_rng, hash_str(ai->name), UINT64_C(0xad3170));
        make_uuid(&id_rng, ai->user_id);
    }
    self->n_agents = (size_t)cfg->agents;
    self->n_queues = (size_t)cfg->queues;
    self->n_skills = (size_t)cfg->skills;
    self->queues = xcalloc(self->n_queues, sizeof(*self->queues));
    for (size_t q = 0; q < self->n_queues; q++) {
        make_uuid(&rng, self->queues[q].id);
        snprintf(self->queues[q].name, sizeof(self->queues[q].name),
                 "Queue %02zu", q + 1);
    }
    self->skills = xcalloc(self->n_skills, sizeof(*self->skills));
    for (size_t s = 0; s < self->n_skills; s++) {
        make_uuid(&rng, self->skills[s].id);
        snprintf(self->skills[s].name, sizeof(self->skills[s].name),
                 "Skill %02zu", s + 1);
    }
    self->agents = xcalloc(self->n_agents, sizeof(*self->agents));
    for (size_t i = 0; i < self->n_agents; i++) {
        struct sim_agent *a = &self->agents[i];
        int on_queue = org_starts_on_queue(cfg, i);

        pthread_mutex_init(&a->lock, NULL);
        make_uuid(&rng, a->id);
        a->version = 1;
        a->doc = initial_doc(i, a->id);
        a->presence = on_queue ? SIM_PRESENCE_ON_QUEUE : SIM_PRESENCE_AVAILABLE;
        a->routing = on_queue ? SIM_ROUTING_IDLE : SIM_ROUTING_OFF_QUEUE;
        a->presence_wall_ns = now;
        a->routing_wall_ns = now;
        a->skills = xcalloc(self->n_skills, sizeof(*a->skills));
        for (size_t s = 0; s < self->n_skills; s++) {
            if (s == i % self->n_skills || rng_chance(&rng, 0.25)) {
                a->skills[s].assigned = 1;
                a->skills[s].proficiency = (double)rng_range(&rng, 1, 5);
            }
        }
        a->member = xcalloc(self->n_queues, 1);
        a->joined = xcalloc(self->n_queues, 1);
        for (size_t q = 0; q < self->n_queues; q++) {
            if (q == 0 || rng_chance(&rng, 0.5)) {
                a->member[q] = 1;
                a->joined[q] = (unsigned char)on_queue;
            }
        }
        snapshot_push(a);
        hist_push(&a->hist[SIM_PROP_PRESENCE], now, (int)a->presence);
        hist_push(&a->hist[SIM_PROP_ROUTING], now, (int)a->routing);
    }
    index_build(self);
    return self;
}

void org_free(struct sim_org *self)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->n_agents; i++) {
        struct sim_agent *a = &self->agents[i];
        for (unsigned k = 0; k < a->snap_len; k++)
            cJSON_Delete(a->snaps[k].doc);
        cJSON_Delete(a->doc);
        cJSON_Delete(a->utilization);
        free(a->presence_message);
        free(a->skills);
        free(a->member);
        free(a->joined);
        for (int p = 0; p < 2; p++) {
            free(a->hist[p].t);
            free(a->hist[p].v);
        }
        pthread_mutex_destroy(&a->lock);
    }
    audit_free(self->audit);
    free(self->agents);
    free(self->queues);
    free(self->skills);
    free(self->index);
    free(self);
}

enum rt_err org_add_hook(struct sim_org *self, sim_transition_fn fn, void *ctx)
{
    if (self->n_hooks == ORG_HOOKS_MAX)
        return rt_fail(RT_EBUSY, "too many transition hooks");
    self->hooks[self->n_hooks].fn = fn;
    self->hooks[self->n_hooks].ctx = ctx;
    self->n_hooks++;
    return RT_OK;
}

void org_remove_hook(struct sim_org *self, sim_transition_fn fn, void *ctx)
{
    for (size_t k = 0; k < self->n_hooks; k++) {
        if (self->hooks[k].fn != fn || self->hooks[k].ctx != ctx)
            continue;
        memmove(&self->hooks[k], &self->hooks[k + 1],
                (self->n_hooks - k - 1) * sizeof(self->hooks[0]));
        self->n_hooks--;
        return;
    }
}

static void run_hooks(struct sim_org *self, size_t i, enum sim_prop prop,
                      int old_value, int new_value, int64_t wall_ns,
                      const struct sim_writer *who)
{
    for (size_t k = 0; k < self->n_hooks; k++)
        self->hooks[k].fn(self->hooks[k].ctx, i, prop, old_value, new_value,
                          wall_ns, who);
}

size_t org_agent_count(const struct sim_org *self)
{
    return self->n_agents;
}

long org_find_agent(const struct sim_org *self, const char *id)
{
    size_t slot;

    if (!id || strlen(id) != SIM_ID_LEN - 1)
        return -1;
    slot = hash_str(id) & (self->index_cap - 1);
    while (self->index[slot] >= 0) {
        if (!strcmp(self->agents[self->index[slot]].id, id))
            return self->index[slot];
        slot = (slot + 1) & (self->index_cap - 1);
    }
    return -1;
}

const char *org_agent_id(const struct sim_org *self, size_t i)
{
    return self->agents[i].id;
}

size_t org_queue_count(const struct sim_org *self)
{
    return self->n_queues;
}

long org_find_queue(const struct sim_org *self, const char *id)
{
    for (size_t q = 0; id && q < self->n_queues; q++)
        if (!strcmp(self->queues[q].id, id))
            return (long)q;
    return -1;
}

cJSON *org_queue_json(const struct sim_org *self, size_t q)
{
    cJSON *o = cJSON_CreateObject();
    char uri[128];

    snprintf(uri, sizeof(uri), "/api/v2/routing/queues/%s", self->queues[q].id);
    cJSON_AddStringToObject(o, "id", self->queues[q].id);
    cJSON_AddStringToObject(o, "name", self->queues[q].name);
    cJSON_AddItemToObject(o, "division", division_json());
    cJSON_AddStringToObject(o, "selfUri", uri);
    return o;
}

size_t org_skill_count(const struct sim_org *self)
{
    return self->n_skills;
}

long org_find_skill(const struct sim_org *self, const char *id)
{
    for (size_t s = 0; id && s < self->n_skills; s++)
        if (!strcmp(self->skills[s].id, id))
            return (long)s;
    return -1;
}

cJSON *org_skill_json(const struct sim_org *self, size_t s)
{
    cJSON *o = cJSON_CreateObject();
    char uri[128];

    snprintf(uri, sizeof(uri), "/api/v2/routing/skills/%s", self->skills[s].id);
    cJSON_AddStringToObject(o, "id", self->skills[s].id);
    cJSON_AddStringToObject(o, "name", self->skills[s].name);
    cJSON_AddStringToObject(o, "state", "active");
    cJSON_AddStringToObject(o, "selfUri", uri);
    return o;
}

static void iso(int64_t wall_ns, char *out)
{
    iso8601_format_ms(wall_ns, out, ISO8601_LEN);
}

/* Lock held. */
static cJSON *presence_json_locked(const struct sim_agent *a)
{
    const struct presence_def *d = &sim_presence_defs[a->presence];
    cJSON *o = cJSON_CreateObject(), *def;
    char when[ISO8601_LEN], uri[160];

    iso(a->presence_wall_ns, when);
    cJSON_AddStringToObject(o, "id", d->id);
    cJSON_AddStringToObject(o, "name", d->name);
    cJSON_AddStringToObject(o, "source", "PURECLOUD");
    cJSON_AddStringToObject(o, "sourceId", "PURECLOUD");
    cJSON_AddBoolToObject(o, "primary", 1);
    def = cJSON_AddObjectToObject(o, "presenceDefinition");
    cJSON_AddStringToObject(def, "id", d->id);
    cJSON_AddStringToObject(def, "systemPresence", d->name);
    snprintf(uri, sizeof(uri), "/api/v2/presencedefinitions/%s", d->id);
    cJSON_AddStringToObject(def, "selfUri", uri);
    if (a->presence_message)
        cJSON_AddStringToObject(o, "message", a->presence_message);
    cJSON_AddStringToObject(o, "modifiedDate", when);
    snprintf(uri, sizeof(uri), "/api/v2/users/%s/presences/PURECLOUD", a->id);
    cJSON_AddStringToObject(o, "selfUri", uri);
    return o;
}

/* Lock held. */
static cJSON *routing_json_locked(const struct sim_agent *a)
{
    cJSON *o = cJSON_CreateObject();
    char when[ISO8601_LEN];

    iso(a->routing_wall_ns, when);
    cJSON_AddStringToObject(o, "userId", a->id);
    cJSON_AddStringToObject(o, "status", sim_routing_names[a->routing]);
    cJSON_AddStringToObject(o, "startTime", when);
    return o;
}

static _Thread_local struct rng lag_rng;
static _Thread_local int lag_rng_ready;
static atomic_uint_fast64_t lag_rng_streams;

/* Lock held.  The snapshot a read at this moment sees under read_lag. */
static const struct snapshot *lagged_snapshot(struct sim_org *self,
                                              struct sim_agent *a)
{
    int64_t lag, cutoff;
    unsigned k, idx;

    if (self->read_lag_ns <= 0 || a->snap_len <= 1)
        return NULL;
    if (!lag_rng_ready) {
        rng_seed(&lag_rng, self->seed,
                 0x1a9000 + atomic_fetch_add(&lag_rng_streams, 1));
        lag_rng_ready = 1;
    }
    lag = rng_range(&lag_rng, 0, self->read_lag_ns);
    cutoff = clock_mono_ns() - lag;
    /* Walk from newest to oldest; the first snapshot committed before the
     * cutoff is what a replica that far behind would hold. */
    for (k = 0; k < a->snap_len; k++) {
        idx = (a->snap_head + SNAP_MAX - k) % SNAP_MAX;
        if (a->snaps[idx].mono_ns <= cutoff)
            return &a->snaps[idx];
    }
    return &a->snaps[(a->snap_head + SNAP_MAX - (a->snap_len - 1)) % SNAP_MAX];
}

cJSON *org_user_json(struct sim_org *self, size_t i, unsigned expand)
{
    struct sim_agent *a = &self->agents[i];
    const struct snapshot *snap;
    cJSON *o;
    char uri[128];

    pthread_mutex_lock(&a->lock);
    snap = lagged_snapshot(self, a);
    o = cJSON_Duplicate(snap ? snap->doc : a->doc, 1);
    cJSON_AddStringToObject(o, "id", a->id);
    cJSON_AddNumberToObject(o, "version",
                            (double)(snap ? snap->version : a->version));
    if (expand & SIM_EXPAND_ROUTING)
        cJSON_AddItemToObject(o, "routingStatus", routing_json_locked(a));
    if (expand & SIM_EXPAND_PRESENCE)
        cJSON_AddItemToObject(o, "presence", presence_json_locked(a));
    pthread_mutex_unlock(&a->lock);
    snprintf(uri, sizeof(uri), "/api/v2/users/%s", a->id);
    cJSON_AddStringToObject(o, "selfUri", uri);
    return o;
}

int64_t org_user_version(struct sim_org *self, size_t i)
{
    struct sim_agent *a = &self->agents[i];
    int64_t v;

    pthread_mutex_lock(&a->lock);
    v = a->version;
    pthread_mutex_unlock(&a->lock);
    return v;
}

cJSON *org_user_fields(struct sim_org *self, size_t i, int64_t *version_out)
{
    struct sim_agent *a = &self->agents[i];
    cJSON *o;

    pthread_mutex_lock(&a->lock);
    o = cJSON_Duplicate(a->doc, 1);
    *version_out = a->version;
    pthread_mutex_unlock(&a->lock);
    return o;
}

static void truth(struct sim_org *self, const struct sim_agent *a,
                  int64_t wall_ns, const char *prop, const char *old_value,
                  const char *new_value, const struct sim_writer *who)
{
    sim_log_truth(self->log, wall_ns, a->id, prop, old_value, new_value,
                  who->cause, who->correlation_id ? who->correlation_id : "");
}

static char *print_value(const cJSON *v)
{
    if (!v)
        return xstrdup("");
    if (cJSON_IsString(v))
        return xstrdup(v->valuestring);
    return cJSON_PrintUnformatted(v);
}

/* The agent's display name, borrowed from its document.  Lock held. */
static const char *agent_name(const struct sim_agent *a)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(a->doc, "name");

    return cJSON_IsString(n) ? n->valuestring : NULL;
}

/* The audit identity of @who, as include/sim/audit.h maps it.  Lock held
 * (the agent's own name is borrowed from its document). */
static void audit_identity(const struct sim_org *self,
                           const struct sim_agent *a,
                           const struct sim_writer *who, struct audit_entry *e)
{
    const char *cause = who && who->cause ? who->cause : "";
    const char *client = who ? who->client_id : NULL;

    e->level = AUDIT_LEVEL_SYSTEM;
    if (!strncmp(cause, "client:", 7)) {
        e->client_id = client ? client : cause + 7;
        e->remote_ip = CLIENT_REMOTE_IP;
        return;
    }
    if (!strcmp(cause, "world")) {
        e->user_id = a->id;
        e->user_name = agent_name(a);
        e->level = AUDIT_LEVEL_USER;
        return;
    }
    for (size_t k = 0; k < self->n_actors; k++) {
        const struct actor_ident *ai = &self->actors[k];
        if (strcmp(ai->name, cause))
            continue;
        if (ai->kind == SIM_ACTOR_ADMIN) {
            e->user_id = ai->user_id;
            e->user_name = ai->name;
            e->level = AUDIT_LEVEL_USER;
            e->remote_ip = ADMIN_REMOTE_IP;
            return;
        }
        if (ai->kind == SIM_ACTOR_INTEGRATION)
            e->remote_ip = INTEGRATION_REMOTE_IP;
        break;
    }
    /* An internal service, an integration, or a writer nobody configured
     * (tests call the org directly): named by its cause. */
    e->application = *cause ? cause : NULL;
    e->client_id = client;
}

/* Start an audit entry about agent @a.  Lock held. */
static void audit_begin(const struct sim_org *self, const struct sim_agent *a,
                        const struct sim_writer *who, int64_t wall_ns,
                        enum audit_service service, enum audit_entity_type type,
                        enum audit_action action, struct audit_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->wall_ns = wall_ns;
    e->service = service;
    e->entity_type = type;
    e->action = action;
    e->entity_id = a->id;
    e->entity_name = agent_name(a);
    audit_identity(self, a, who, e);
}

struct audit *org_audit(struct sim_org *self)
{
    return self->audit;
}

enum rt_err org_user_patch(struct sim_org *self, size_t i, int64_t expected,
                           const cJSON *fields, const struct sim_writer *who,
                           int64_t *version_out)
{
    struct sim_agent *a = &self->agents[i];
    const cJSON *f;
    int64_t now;
    char old_v[24], new_v[24];
    size_t n_fields = (size_t)cJSON_GetArraySize(fields), n_ch = 0;
    struct audit_change *ch;
    char **texts; /* owned: two per change */
    struct audit_entry e;

    pthread_mutex_lock(&a->lock);
    if (a->version != expected) {
        *version_out = a->version;
        pthread_mutex_unlock(&a->lock);
        return RT_ECONFLICT;
    }
    now = clock_wall_ns();
    /* The audit record carries every changed field with its old and new
     * value, so the texts live until it is appended. */
    ch = xcalloc(n_fields ? n_fields : 1, sizeof(*ch));
    texts = xcalloc(2 * n_fields + 1, sizeof(*texts));
    cJSON_ArrayForEach(f, fields)
    {
        const char *k = f->string;
        cJSON *old;
        char *before, *after;

        if (!k || !strcmp(k, "version") || !strcmp(k, "id") ||
            !strcmp(k, "selfUri"))
            continue;
        old = cJSON_GetObjectItemCaseSensitive(a->doc, k);
        if (old && cJSON_Compare(old, f, 1))
            continue;
        before = print_value(old);
        after = print_value(f);
        {
            char prop[96];
            snprintf(prop, sizeof(prop), "user.%s", k);
            truth(self, a, now, prop, before, after, who);
        }
        ch[n_ch].property = k;
        ch[n_ch].old_value = old ? before : NULL;
        ch[n_ch].new_value = after;
        texts[2 * n_ch] = before;
        texts[2 * n_ch + 1] = after;
        n_ch++;
        if (old)
            cJSON_ReplaceItemInObjectCaseSensitive(a->doc, k,
                                                   cJSON_Duplicate(f, 1));
        else
            cJSON_AddItemToObject(a->doc, k, cJSON_Duplicate(f, 1));
    }
    snprintf(old_v, sizeof(old_v), "%lld", (long long)a->version);
    a->version++;
    snprintf(new_v, sizeof(new_v), "%lld", (long long)a->version);
    truth(self, a, now, "version", old_v, new_v, who);
    audit_begin(self, a, who, now, AUDIT_SERVICE_DIRECTORY, AUDIT_ENTITY_USER,
                AUDIT_ACTION_UPDATE, &e);
    e.changes = ch;
    e.n_changes = n_ch;
    audit_append(self->audit, &e);
    snapshot_push(a);
    *version_out = a->version;
    pthread_mutex_unlock(&a->lock);
    for (size_t k = 0; k < 2 * n_ch; k++)
        free(texts[k]);
    free(texts);
    free(ch);
    return RT_OK;
}

void org_set_presence(struct sim_org *self, size_t i, enum sim_presence p,
                      const char *message, const struct sim_writer *who)
{
    struct sim_agent *a = &self->agents[i];
    enum sim_presence old;
    int64_t now = clock_wall_ns();
    char *old_message = NULL;
    int message_changed = 0;
    struct audit_change ch[2];
    struct audit_entry e;
    size_t n_ch = 0;

    pthread_mutex_lock(&a->lock);
    old = a->presence;
    if (message) {
        message_changed =
            !a->presence_message || strcmp(a->presence_message, message);
        old_message = a->presence_message; /* freed after the audit */
        a->presence_message = xstrdup(message);
    }
    if (old != p) {
        a->presence = p;
        a->presence_wall_ns = now;
        truth(self, a, now, "presence", sim_presence_defs[old].name,
              sim_presence_defs[p].name, who);
        hist_push(&a->hist[SIM_PROP_PRESENCE], now, (int)p);
        ch[n_ch++] =
            (struct audit_change){"systemPresence", sim_presence_defs[old].name,
                                  sim_presence_defs[p].name};
    }
    if (message_changed)
        ch[n_ch++] =
            (struct audit_change){"message", old_message, a->presence_message};
    if (n_ch) {
        audit_begin(self, a, who, now, AUDIT_SERVICE_PRESENCE,
                    AUDIT_ENTITY_USER_PRESENCE, AUDIT_ACTION_UPDATE, &e);
        e.changes = ch;
        e.n_changes = n_ch;
        audit_append(self->audit, &e);
    }
    pthread_mutex_unlock(&a->lock);
    free(old_message);
    if (old != p)
        run_hooks(self, i, SIM_PROP_PRESENCE, (int)old, (int)p, now, who);
}

void org_set_routing(struct sim_org *self, size_t i, enum sim_routing r,
                     const struct sim_writer *who)
{
    struct sim_agent *a = &self->agents[i];
    enum sim_routing old;
    int64_t now = clock_wall_ns();

    pthread_mutex_lock(&a->lock);
    old = a->routing;
    if (old != r) {
        a->routing = r;
        a->routing_wall_ns = now;
        truth(self, a, now, "routing_status", sim_routing_names[old],
              sim_routing_names[r], who);
        hist_push(&a->hist[SIM_PROP_ROUTING], now, (int)r);
        /* The world's own routing changes are the ACD's, not a write
         * anyone made: not audited. */
        if (!who || !who->cause || strcmp(who->cause, "world")) {
            struct audit_change ch = {"routingStatus", sim_routing_names[old],
                                      sim_routing_names[r]};
            struct audit_entry e;

            audit_begin(self, a, who, now, AUDIT_SERVICE_ROUTING,
                        AUDIT_ENTITY_USER, AUDIT_ACTION_UPDATE, &e);
            e.changes = &ch;
            e.n_changes = 1;
            audit_append(self->audit, &e);
        }
    }
    pthread_mutex_unlock(&a->lock);
    if (old != r)
        run_hooks(self, i, SIM_PROP_ROUTING, (int)old, (int)r, now, who);
}

enum sim_presence org_presence(struct sim_org *self, size_t i)
{
    struct sim_agent *a = &self->agents[i];
    enum sim_presence p;

    pthread_mutex_lock(&a->lock);
    p = a->presence;
    pthread_mutex_unlock(&a->lock);
    return p;
}

enum sim_routing org_routing(struct sim_org *self, size_t i)
{
    struct sim_agent *a = &self->agents[i];
    enum sim_routing r;

    pthread_mutex_lock(&a->lock);
    r = a->routing;
    pthread_mutex_unlock(&a->lock);
    return r;
}

cJSON *org_presence_json(struct sim_org *self, size_t i)
{
    struct sim_agent *a = &self->agents[i];
    cJSON *o;

    pthread_mutex_lock(&a->lock);
    o = presence_json_locked(a);
    pthread_mutex_unlock(&a->lock);
    return o;
}

cJSON *org_routing_json(struct sim_org *self, size_t i)
{
    struct sim_agent *a = &self->agents[i];
    cJSON *o;

    pthread_mutex_lock(&a->lock);
    o = routing_json_locked(a);
    pthread_mutex_unlock(&a->lock);
    return o;
}

static cJSON *media_default(size_t m)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "maximumCapacity", media_default_capacity[m]);
    cJSON_AddArrayToObject(o, "interruptableMediaTypes");
    cJSON_AddBoolToObject(o, "includeNonAcd", 0);
    return o;
}

cJSON *org_utilization_json(struct sim_org *self, size_t i)
{
    struct sim_agent *a = &self->agents[i];
    cJSON *o = cJSON_CreateObject(), *util;

    util = cJSON_AddObjectToObject(o, "utilization");
    pthread_mutex_lock(&a->lock);
    for (size_t m = 0; m < sizeof(media_types) / sizeof(media_types[0]); m++) {
        const cJSON *custom =
            a->utilization ? cJSON_GetObjectItemCaseSensitive(a->utilization,
                                                              media_types[m])
                           : NULL;
        cJSON_AddItemToObject(util, media_types[m],
                              custom ? cJSON_Duplicate(custom, 1)
                                     : media_default(m));
    }
    cJSON_AddObjectToObject(o, "labelUtilizations");
    cJSON_AddStringToObject(o, "level",
                            a->utilization ? "Agent" : "Organization");
    pthread_mutex_unlock(&a->lock);
    return o;
}

void org_set_utilization(struct sim_org *self, size_t i, const cJSON *util,
                         const struct sim_writer *who)
{
    struct sim_agent *a = &self->agents[i];
    char *before, *after;
    int64_t now = clock_wall_ns();
    int was_default;

    pthread_mutex_lock(&a->lock);
    was_default = a->utilization == NULL;
    before = a->utilization ? cJSON_PrintUnformatted(a->utilization)
                            : xstrdup("Organization");
    cJSON_Delete(a->utilization);
    a->utilization = util ? cJSON_Duplicate(util, 1) : NULL;
    after = a->utilization ? cJSON_PrintUnformatted(a->utilization)
                           : xstrdup("Organization");
    if (strcmp(before, after)) {
        /* The org default has no agent-level value: an empty array. */
        struct audit_change ch = {"utilization", was_default ? NULL : before,
                                  a->utilization ? after : NULL};
        struct audit_entry e;

        truth(self, a, now, "utilization", before, after, who);
        audit_begin(self, a, who, now, AUDIT_SERVICE_ROUTING,
                    AUDIT_ENTITY_AGENT_ROUTING_INFO, AUDIT_ACTION_UPDATE, &e);
        e.changes = &ch;
        e.n_changes = 1;
        audit_append(self->audit, &e);
    }
    pthread_mutex_unlock(&a->lock);
    free(before);
    free(after);
}

cJSON *org_user_skills_json(struct sim_org *self, size_t i)
{
    struct sim_agent *a = &self->agents[i];
    cJSON *arr = cJSON_CreateArray();
    char uri[200];

    pthread_mutex_lock(&a->lock);
    for (size_t s = 0; s < self->n_skills; s++) {
        cJSON *o;
        if (!a->skills[s].assigned)
            continue;
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", self->skills[s].id);
        cJSON_AddStringToObject(o, "name", self->skills[s].name);
        cJSON_AddNumberToObject(o, "proficiency", a->skills[s].proficiency);
        cJSON_AddStringToObject(o, "state", "active");
        snprintf(uri, sizeof(uri), "/api/v2/routing/skills/%s",
                 self->skills[s].id);
        cJSON_AddStringToObject(o, "skillUri", uri);
        snprintf(uri, sizeof(uri), "/api/v2/users/%s/routingskills/%s", a->id,
                 self->skills[s].id);
        cJSON_AddStringToObject(o, "selfUri", uri);
        cJSON_AddItemToArray(arr, o);
    }
    pthread_mutex_unlock(&a->lock);
    return arr;
}

size_t org_user_skill_total(struct sim_org *self, size_t i)
{
    struct sim_agent *a = &self->agents[i];
    size_t n = 0;

    pthread_mutex_lock(&a->lock);
    for (size_t s = 0; s < self->n_skills; s++)
        n += a->skills[s].assigned != 0;
    pthread_mutex_unlock(&a->lock);
    return n;
}

void org_set_skills(struct sim_org *self, size_t i, const size_t *skills,
                    const double *proficiency, size_t n, int replace,
                    const struct sim_writer *who)
{
    struct sim_agent *a = &self->agents[i];
    int64_t now = clock_wall_ns();
    /* One audit record for the whole call: every skill it changed. */
    struct skill_text {
        char prop[96], before[32], after[32];
    } *txt = xcalloc(self->n_skills + n + 1, sizeof(*txt));
    struct audit_change *ch = xcalloc(self->n_skills + n + 1, sizeof(*ch));
    size_t n_ch = 0;
    struct audit_entry e;

    pthread_mutex_lock(&a->lock);
    if (replace) {
        for (size_t s = 0; s < self->n_skills; s++) {
            int keep = 0;
            for (size_t k = 0; k < n; k++)
                keep |= skills[k] == s;
            if (!keep && a->skills[s].assigned) {
                struct skill_text *t = &txt[n_ch];
                snprintf(t->prop, sizeof(t->prop), "skill.%s",
                         self->skills[s].id);
                snprintf(t->before, sizeof(t->before), "%g",
                         a->skills[s].proficiency);
                truth(self, a, now, t->prop, t->before, "", who);
                ch[n_ch++] = (struct audit_change){t->prop, t->before, NULL};
                a->skills[s].assigned = 0;
            }
        }
    }
    for (size_t k = 0; k < n; k++) {
        struct skill_slot *slot = &a->skills[skills[k]];
        struct skill_text *t = &txt[n_ch];
        if (slot->assigned && slot->proficiency == proficiency[k])
            continue;
        snprintf(t->prop, sizeof(t->prop), "skill.%s",
                 self->skills[skills[k]].id);
        if (slot->assigned)
            snprintf(t->before, sizeof(t->before), "%g", slot->proficiency);
        snprintf(t->after, sizeof(t->after), "%g", proficiency[k]);
        truth(self, a, now, t->prop, t->before, t->after, who);
        ch[n_ch++] = (struct audit_change){
            t->prop, slot->assigned ? t->before : NULL, t->after};
        slot->assigned = 1;
        slot->proficiency = proficiency[k];
    }
    if (n_ch) {
        audit_begin(self, a, who, now, AUDIT_SERVICE_ROUTING,
                    AUDIT_ENTITY_AGENT_ROUTING_INFO, AUDIT_ACTION_UPDATE, &e);
        e.changes = ch;
        e.n_changes = n_ch;
        audit_append(self->audit, &e);
    }
    pthread_mutex_unlock(&a->lock);
    free(ch);
    free(txt);
}

/* An audit entry about queue @q that names agent @a as its subject.
 * Lock held. */
static void queue_audit(const struct sim_org *self, const struct sim_agent *a,
                        size_t q, const struct sim_writer *who, int64_t wall_ns,
                        enum audit_action action, struct audit_entry *e)
{
    audit_begin(self, a, who, wall_ns, AUDIT_SERVICE_ROUTING,
                AUDIT_ENTITY_QUEUE, action, e);
    e->entity_id = self->queues[q].id;
    e->entity_name = self->queues[q].name;
    e->subject_id = a->id;
    e->subject_name = agent_name(a);
}

int org_is_member(struct sim_org *self, size_t i, size_t q, int *joined)
{
    struct sim_agent *a = &self->agents[i];
    int member;

    pthread_mutex_lock(&a->lock);
    member = a->member[q];
    if (joined)
        *joined = a->joined[q];
    pthread_mutex_unlock(&a->lock);
    return member;
}

int org_set_member(struct sim_org *self, size_t i, size_t q, int member,
                   const struct sim_writer *who)
{
    struct sim_agent *a = &self->agents[i];
    char prop[96];
    int changed;
    int64_t now;
    struct audit_entry e;

    pthread_mutex_lock(&a->lock);
    changed = a->member[q] != (member != 0);
    if (changed) {
        now = clock_wall_ns();
        a->member[q] = member != 0;
        if (!member)
            a->joined[q] = 0;
        snprintf(prop, sizeof(prop), "queue_member.%s", self->queues[q].id);
        truth(self, a, now, prop, member ? "false" : "true",
              member ? "true" : "false", who);
        queue_audit(
            self, a, q, who, now,
            member ? AUDIT_ACTION_MEMBER_ADD : AUDIT_ACTION_MEMBER_REMOVE, &e);
        audit_append(self->audit, &e);
    }
    pthread_mutex_unlock(&a->lock);
    return changed;
}

int org_set_joined(struct sim_org *self, size_t i, size_t q, int joined,
                   const struct sim_writer *who)
{
    struct sim_agent *a = &self->agents[i];
    char prop[96];
    int ok;
    int64_t now;
    struct audit_entry e;

    pthread_mutex_lock(&a->lock);
    ok = a->member[q];
    if (ok && a->joined[q] != (joined != 0)) {
        struct audit_change ch = {"joined", joined ? "false" : "true",
                                  joined ? "true" : "false"};

        now = clock_wall_ns();
        a->joined[q] = joined != 0;
        snprintf(prop, sizeof(prop), "queue_joined.%s", self->queues[q].id);
        truth(self, a, now, prop, ch.old_value, ch.new_value, who);
        queue_audit(self, a, q, who, now, AUDIT_ACTION_UPDATE, &e);
        e.changes = &ch;
        e.n_changes = 1;
        audit_append(self->audit, &e);
    }
    pthread_mutex_unlock(&a->lock);
    return ok;
}

size_t org_history(struct sim_org *self, size_t i, enum sim_prop prop,
                   int64_t from_wall_ns, int64_t to_wall_ns,
                   struct org_interval **out)
{
    struct sim_agent *a = &self->agents[i];
    const struct hist *h = &a->hist[prop];
    struct org_interval *iv = NULL;
    size_t n = 0;

    pthread_mutex_lock(&a->lock);
    for (uint32_t k = 0; k < h->len; k++) {
        uint32_t at = (h->start + k) % h->cap;
        int64_t start = h->t[at];
        int64_t end = k + 1 < h->len ? h->t[(at + 1) % h->cap] : -1;

        if (start >= to_wall_ns || (end >= 0 && end <= from_wall_ns))
            continue;
        if (!iv)
            iv = xcalloc(h->len - k, sizeof(*iv));
        iv[n].start_wall_ns = start;
        iv[n].end_wall_ns = end;
        iv[n].value = h->v[at];
        n++;
    }
    pthread_mutex_unlock(&a->lock);
    *out = iv;
    return n;
}

uint64_t org_history_dropped(struct sim_org *self)
{
    uint64_t n = 0;

    for (size_t i = 0; i < self->n_agents; i++) {
        struct sim_agent *a = &self->agents[i];
        pthread_mutex_lock(&a->lock);
        n += a->hist[SIM_PROP_PRESENCE].dropped +
             a->hist[SIM_PROP_ROUTING].dropped;
        pthread_mutex_unlock(&a->lock);
    }
    return n;
}
