/*
 * Notification hub (see include/sim/notify.h).
 *
 * Invariants:
 *  - hub->lock guards the channel list, every channel, the list of open
 *    connections and each connection's queue, action and silent flag;
 *  - a struct conn is lws's per-session data: lws allocates it, and it is
 *    freed after LWS_CALLBACK_CLOSED, which runs on the service thread (or
 *    on the stopping thread once the service thread has been joined), so
 *    only that thread ever unlinks one; other threads reach connections
 *    only through the lists, under the lock;
 *  - only the service thread calls lws functions other than
 *    lws_cancel_service(), which the other threads call under the lock
 *    while hub->running is set (so never on a destroyed context);
 *  - a channel receives events only while a socket is connected to it, as
 *    on the real service: nothing is stored for a later connection.
 */
#include "sim/notify.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "base/clock.h"
#include "base/csv.h"
#include "base/log.h"
#include "base/rng.h"
#include "base/xalloc.h"

#define CHANNEL_TTL_NS (INT64_C(24) * 3600 * NS_PER_S)
#define CHANNEL_PREFIX "streaming-0-"
#define CHANNEL_RANDOM_LEN 26
#define TOPIC_PREFIX "v2.users."
#define TOPIC_MAX 256 /* longest single topic name kept */
#define RX_MAX 4096   /* longest client message read */
#define URI_MAX 128

enum topic_kind {
    TOPIC_PRESENCE = 1u << 0,
    TOPIC_ROUTING = 1u << 1,
    TOPIC_ACTIVITY = 1u << 2,
};

/* What the service thread must do with a socket besides writing. */
enum conn_action {
    ACT_NONE,
    ACT_KICK,     /* a second connection took the channel: close frame */
    ACT_CLOSE,    /* socket_closing grace over: close frame (1001) */
    ACT_GONE,     /* channel evicted or expired: close frame */
    ACT_DROP,     /* drop_at: cut without a close frame */
    ACT_OVERFLOW, /* slow consumer: cut without a close frame */
};

enum msg_kind { MSG_EVENT, MSG_HEARTBEAT, MSG_PONG, MSG_SYSTEM };

enum fault_kind { FAULT_CLOSING, FAULT_DROP, FAULT_SILENT };

struct msg {
    struct msg *next;
    enum msg_kind kind;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes for lws, then the text */
};

struct channel;

struct conn {
    struct sim_notify *hub;
    struct lws *wsi;
    /* Guarded by hub->lock. */
    struct channel *ch; /* NULL once the channel is gone or taken */
    struct conn *prev, *next;
    struct msg *head, *tail;
    size_t n_queued;
    enum conn_action action;
    int silent;
    int open; /* listed in hub->conns */
    /* Fixed at ESTABLISHED. */
    char channel_id[SIM_NOTIFY_CHANNEL_ID_LEN];
    char client_id[SIM_NAME_MAX];
    /* Service thread only. */
    lws_sorted_usec_list_t sul_heartbeat;
    lws_sorted_usec_list_t sul_close;
    char rx[RX_MAX];
    size_t rx_len;
    int rx_too_long;
};

struct channel {
    struct channel *next;
    char id[SIM_NOTIFY_CHANNEL_ID_LEN];
    char client_id[SIM_NAME_MAX];
    int64_t expires_wall_ns;
    uint64_t used_seq; /* larger = used more recently */
    char **topics;     /* expanded names, in subscription order */
    size_t n_topics;
    unsigned char *flags; /* per agent: enum topic_kind bits */
    struct conn *conn;
};

struct fault {
    int64_t at_ns; /* from the hub's start */
    enum fault_kind kind;
};

struct sim_notify {
    const struct sim_config *cfg;
    struct sim_org *org;
    size_t n_agents;
    int64_t start_mono_ns;

    pthread_mutex_t lock;
    pthread_cond_t cond; /* signalled when a fault is applied */
    struct channel *channels;
    struct conn *conns;
    struct rng rng; /* channel ids */
    uint64_t use_seq;
    int running; /* lws_cancel_service() may be called */

    struct lws_context *ctx;
    pthread_t thread;
    int thread_started;
    atomic_int quit;
    _Atomic uint16_t port;

    struct fault faults[3 * SIM_STREAM_FAULTS_MAX];
    size_t n_faults, next_fault;
    lws_sorted_usec_list_t sul_fault;

    struct csv *csv;
    uint64_t boot_id;
    atomic_uint_fast64_t seq;

    atomic_uint_fast64_t n_created, n_evicted, n_connections, n_refused,
        n_events, n_heartbeats, n_pongs, n_kicks, n_overflows, n_closing,
        n_drop, n_silent;
};

static const char *const stream_cols[] = {"time_wall_ns", "time", "channel_id",
                                          "client_id", "what"};

static void bump(atomic_uint_fast64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint64_t get(atomic_uint_fast64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* One stream.csv row; csv has its own lock, so any thread may call. */
static void stream_row(struct sim_notify *self, const char *channel,
                       const char *client, const char *what)
{
    struct csv_row row;
    int64_t now = clock_wall_ns();
    enum rt_err err;

    if (!self->csv)
        return;
    csv_row_init(&row);
    csv_row_i64(&row, now);
    csv_row_time(&row, now);
    csv_row_str(&row, channel);
    csv_row_str(&row, client);
    csv_row_str(&row, what);
    /* Socket events are rare: flushing each keeps the file whole on a
     * crash without a flusher thread. */
    if ((err = csv_write_row(self->csv, &row)) || (err = csv_flush(self->csv)))
        log_warn("cannot write 'stream.csv': %s", rt_strerror(err));
    csv_row_release(&row);
}

/* Same shape as the HTTP layer's correlation ids. */
static void make_uuid(struct sim_notify *self, char out[SIM_ID_LEN])
{
    uint64_t n = atomic_fetch_add(&self->seq, 1) + 1;
    uint64_t b = self->boot_id;

    snprintf(out, SIM_ID_LEN, "%08x-%04x-4%03x-9%03x-%012llx",
             (unsigned)(b >> 32), (unsigned)((b >> 16) & 0xffff),
             (unsigned)(b & 0xfff), (unsigned)((n >> 48) & 0xfff),
             (unsigned long long)(n & UINT64_C(0xffffffffffff)));
}

static void iso(int64_t wall_ns, char out[ISO8601_LEN])
{
    iso8601_format_ms(wall_ns, out, ISO8601_LEN);
}

/* ------------------------------------------------------------------ */
/* Messages and queues (hub->lock held where noted). */

static struct msg *msg_new(enum msg_kind kind, const char *text, size_t len)
{
    struct msg *m = xmalloc(sizeof(*m) + LWS_PRE + len + 1);

    m->next = NULL;
    m->kind = kind;
    m->len = len;
    memcpy(m->data + LWS_PRE, text, len);
    m->data[LWS_PRE + len] = '\0';
    return m;
}

/* Lock held. */
static void queue_clear(struct conn *c)
{
    while (c->head) {
        struct msg *m = c->head;
        c->head = m->next;
        free(m);
    }
    c->tail = NULL;
    c->n_queued = 0;
}

/* Lock held.  Queue a copy of @text on @c unless the socket is silent or
 * on its way out; an overflowing queue condemns the socket.  Returns 1
 * when the service thread has something new to do for @c. */
static int enqueue(struct sim_notify *self, struct conn *c, enum msg_kind kind,
                   const char *text, size_t len)
{
    struct msg *m;

    if (c->silent || c->action != ACT_NONE)
        return 0;
    if (c->n_queued >= SIM_NOTIFY_QUEUE_MAX) {
        queue_clear(c);
        c->action = ACT_OVERFLOW;
        bump(&self->n_overflows);
        stream_row(self, c->channel_id, c->client_id, "overflow");
        return 1;
    }
    m = msg_new(kind, text, len);
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->n_queued++;
    return 1;
}

/* Lock held: the service thread wakes up and asks for writable callbacks
 * (LWS_CALLBACK_EVENT_WAIT_CANCELLED). */
static void wake(struct sim_notify *self)
{
    if (self->running)
        lws_cancel_service(self->ctx);
}

/* {"topicName":..,"version":"2","eventBody":..,"metadata":{..}}; takes
 * @body.  Caller frees. */
static char *envelope(struct sim_notify *self, const char *topic, cJSON *body)
{
    cJSON *o = cJSON_CreateObject(), *meta;
    char id[SIM_ID_LEN];
    char *text;

    make_uuid(self, id);
    cJSON_AddStringToObject(o, "topicName", topic);
    cJSON_AddStringToObject(o, "version", "2");
    cJSON_AddItemToObject(o, "eventBody", body);
    meta = cJSON_AddObjectToObject(o, "metadata");
    /* Capital C, as the real service spells it. */
    cJSON_AddStringToObject(meta, "CorrelationId", id);
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        abort(); /* cJSON allocation failure */
    return text;
}

/* {"topicName":"channel.metadata","eventBody":{"message":@message}}. */
static char *metadata_text(const char *message)
{
    cJSON *o = cJSON_CreateObject(), *body;
    char *text;

    cJSON_AddStringToObject(o, "topicName", "channel.metadata");
    body = cJSON_AddObjectToObject(o, "eventBody");
    cJSON_AddStringToObject(body, "message", message);
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        abort();
    return text;
}

/* ------------------------------------------------------------------ */
/* Event bodies, rendered from the same org state REST reads. */

static const char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* PresenceEventUserPresence: the definition and time of the change, the
 * message as stored, spelled as GET .../presences/purecloud spells them. */
static cJSON *presence_body(struct sim_notify *self, size_t agent, int p,
                            int64_t wall_ns)
{
    cJSON *rest = org_presence_json(self->org, agent);
    cJSON *o = cJSON_CreateObject(), *def;
    const char *message = json_str(rest, "message");
    char when[ISO8601_LEN];

    iso(wall_ns, when);
    cJSON_AddStringToObject(o, "source", "PURECLOUD");
    def = cJSON_AddObjectToObject(o, "presenceDefinition");
    cJSON_AddStringToObject(def, "id", sim_presence_defs[p].id);
    cJSON_AddStringToObject(def, "systemPresence", sim_presence_defs[p].name);
    cJSON_AddBoolToObject(o, "primary", 1);
    if (message)
        cJSON_AddStringToObject(o, "message", message);
    cJSON_AddStringToObject(o, "modifiedDate", when);
    cJSON_Delete(rest);
    return o;
}

static cJSON *routing_status(const char *status, const char *start)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "status", status);
    cJSON_AddStringToObject(o, "startTime", start);
    return o;
}

/* {id, routingStatus{status, startTime}}. */
static cJSON *routing_body(struct sim_notify *self, size_t agent, int r,
                           int64_t wall_ns)
{
    cJSON *o = cJSON_CreateObject();
    char when[ISO8601_LEN];

    iso(wall_ns, when);
    cJSON_AddStringToObject(o, "id", org_agent_id(self->org, agent));
    cJSON_AddItemToObject(o, "routingStatus",
                          routing_status(sim_routing_names[r], when));
    return o;
}

/*
 * The activity body: the changed property from the change itself, the
 * other one as stored now.  Its presence uses the upper-case spelling
 * ("AVAILABLE", "ON_QUEUE") seen in real activity events (genesys-api.md
 * §2.3); the presence topic uses the REST spelling.
 */
static cJSON *activity_body(struct sim_notify *self, size_t agent,
                            enum sim_prop prop, int value, int64_t wall_ns)
{
    cJSON *o = cJSON_CreateObject(), *pres, *def, *queues, *out_of_office;
    cJSON *rest_p = org_presence_json(self->org, agent);
    cJSON *rest_r = org_routing_json(self->org, agent);
    const cJSON *rest_def =
        cJSON_GetObjectItemCaseSensitive(rest_p, "presenceDefinition");
    const char *message = json_str(rest_p, "message");
    char when[ISO8601_LEN];
    int p;

    iso(wall_ns, when);
    cJSON_AddStringToObject(o, "id", org_agent_id(self->org, agent));
    if (prop == SIM_PROP_ROUTING) {
        cJSON_AddItemToObject(o, "routingStatus",
                              routing_status(sim_routing_names[value], when));
    } else {
        const char *status = json_str(rest_r, "status");
        const char *start = json_str(rest_r, "startTime");
        cJSON_AddItemToObject(
            o, "routingStatus",
            routing_status(status ? status : "OFF_QUEUE", start ? start : ""));
    }
    pres = cJSON_AddObjectToObject(o, "presence");
    def = cJSON_AddObjectToObject(pres, "presenceDefinition");
    if (prop == SIM_PROP_PRESENCE) {
        p = value;
    } else {
        const char *id = json_str(rest_def, "id");
        p = id ? sim_presence_lookup(id) : -1;
        if (p < 0)
            p = SIM_PRESENCE_OFFLINE;
    }
    cJSON_AddStringToObject(def, "id", sim_presence_defs[p].id);
    cJSON_AddStringToObject(def, "systemPresence",
                            sim_presence_defs[p].analytics);
    if (message)
        cJSON_AddStringToObject(pres, "presenceMessage", message);
    if (prop == SIM_PROP_PRESENCE) {
        cJSON_AddStringToObject(pres, "modifiedDate", when);
    } else {
        const char *modified = json_str(rest_p, "modifiedDate");
        cJSON_AddStringToObject(pres, "modifiedDate", modified ? modified : "");
    }
    out_of_office = cJSON_AddObjectToObject(o, "outOfOffice");
    cJSON_AddBoolToObject(out_of_office, "active", 0);
    queues = cJSON_AddArrayToObject(o, "activeQueueIds");
    for (size_t q = 0; q < org_queue_count(self->org); q++) {
        int joined = 0;
        cJSON *queue;
        const char *qid;
        if (!org_is_member(self->org, agent, q, &joined) || !joined)
            continue;
        queue = org_queue_json(self->org, q);
        if ((qid = json_str(queue, "id")))
            cJSON_AddItemToArray(queues, cJSON_CreateString(qid));
        cJSON_Delete(queue);
    }
    cJSON_Delete(rest_p);
    cJSON_Delete(rest_r);
    return o;
}

/* Lock held: which of @want some connected channel subscribes to for
 * @agent. */
static unsigned interest_locked(struct sim_notify *self, size_t agent,
                                unsigned want)
{
    unsigned have = 0;

    for (struct channel *ch = self->channels; ch && have != want; ch = ch->next)
        if (ch->conn && !ch->conn->silent && ch->conn->action == ACT_NONE)
            have |= ch->flags[agent] & want;
    return have;
}

/* The org hook: runs on whichever thread made the change, outside every
 * org lock. */
static void on_transition(void *ctx, size_t agent, enum sim_prop prop,
                          int old_value, int new_value, int64_t wall_ns,
                          const struct sim_writer *who)
{
    struct sim_notify *self = ctx;
    unsigned want =
        TOPIC_ACTIVITY |
        (prop == SIM_PROP_PRESENCE ? TOPIC_PRESENCE : TOPIC_ROUTING);
    unsigned have;
    char topic[3][TOPIC_MAX];
    char *text[3] = {NULL, NULL, NULL};
    const unsigned kinds[3] = {TOPIC_PRESENCE, TOPIC_ROUTING, TOPIC_ACTIVITY};
    const char *const suffix[3] = {"presence", "routingStatus", "activity"};
    const char *id = org_agent_id(self->org, agent);
    int woke = 0;

    (void)old_value;
    (void)who;
    pthread_mutex_lock(&self->lock);
    have = self->running ? interest_locked(self, agent, want) : 0;
    pthread_mutex_unlock(&self->lock);
    if (!have)
        return;
    /* Rendered outside the hub's lock: they take the agent's lock. */
    for (int k = 0; k < 3; k++) {
        cJSON *body;
        if (!(have & kinds[k]))
            continue;
        snprintf(topic[k], sizeof(topic[k]), "%s%s.%s", TOPIC_PREFIX, id,
                 suffix[k]);
        if (kinds[k] == TOPIC_PRESENCE)
            body = presence_body(self, agent, new_value, wall_ns);
        else if (kinds[k] == TOPIC_ROUTING)
            body = routing_body(self, agent, new_value, wall_ns);
        else
            body = activity_body(self, agent, prop, new_value, wall_ns);
        text[k] = envelope(self, topic[k], body);
    }
    pthread_mutex_lock(&self->lock);
    for (struct channel *ch = self->channels; self->running && ch;
         ch = ch->next) {
        if (!ch->conn)
            continue;
        for (int k = 0; k < 3; k++)
            if (text[k] && (ch->flags[agent] & kinds[k]))
                woke |= enqueue(self, ch->conn, MSG_EVENT, text[k],
                                strlen(text[k]));
    }
    if (woke)
        wake(self);
    pthread_mutex_unlock(&self->lock);
    for (int k = 0; k < 3; k++)
        free(text[k]);
}

/* ------------------------------------------------------------------ */
/* Channels (hub->lock held). */

static void channel_free(struct channel *ch)
{
    for (size_t k = 0; k < ch->n_topics; k++)
        free(ch->topics[k]);
    free(ch->topics);
    free(ch->flags);
    free(ch);
}

/* Lock held: unlink and free @ch; its socket, if any, is closed with a
 * close frame by the service thread. */
static void channel_remove(struct sim_notify *self, struct channel *ch)
{
    struct channel **pp = &self->channels;

    while (*pp && *pp != ch)
        pp = &(*pp)->next;
    if (*pp)
        *pp = ch->next;
    if (ch->conn) {
        ch->conn->ch = NULL;
        if (ch->conn->action == ACT_NONE)
            ch->conn->action = ACT_GONE;
        wake(self);
    }
    channel_free(ch);
}

/* Lock held: remove every channel past its expiry. */
static void channel_expire(struct sim_notify *self, int64_t now_wall_ns)
{
    struct channel *ch = self->channels, *next;

    for (; ch; ch = next) {
        next = ch->next;
        if (ch->expires_wall_ns <= now_wall_ns)
            channel_remove(self, ch);
    }
}

/* Lock held: @client_id's live channel @id, or NULL. */
static struct channel *channel_find(struct sim_notify *self,
                                    const char *client_id, const char *id)
{
    channel_expire(self, clock_wall_ns());
    for (struct channel *ch = self->channels; ch; ch = ch->next)
        if (!strcmp(ch->id, id) &&
            (!client_id || !strcmp(ch->client_id, client_id)))
            return ch;
    return NULL;
}

static void channel_touch(struct sim_notify *self, struct channel *ch)
{
    ch->used_seq = ++self->use_seq;
}

static cJSON *channel_json(struct sim_notify *self, const struct channel *ch)
{
    cJSON *o = cJSON_CreateObject();
    char uri[128], when[ISO8601_LEN];

    snprintf(uri, sizeof(uri), "ws://127.0.0.1:%u/channels/%s",
             (unsigned)atomic_load(&self->port), ch->id);
    iso(ch->expires_wall_ns, when);
    cJSON_AddStringToObject(o, "connectUri", uri);
    cJSON_AddStringToObject(o, "id", ch->id);
    cJSON_AddStringToObject(o, "expires", when);
    return o;
}

cJSON *sim_notify_channel_create(struct sim_notify *self, const char *client_id)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    struct channel *ch = xcalloc(1, sizeof(*ch)), *victim = NULL;
    int64_t now = clock_wall_ns();
    size_t mine = 0;
    cJSON *o;

    ch->flags = xcalloc(self->n_agents ? self->n_agents : 1, 1);
    snprintf(ch->client_id, sizeof(ch->client_id), "%s", client_id);
    ch->expires_wall_ns = now + CHANNEL_TTL_NS;
    pthread_mutex_lock(&self->lock);
    channel_expire(self, now);
    /* The 21st channel evicts the one used least recently, preferring
     * channels with no socket connected. */
    for (struct channel *c = self->channels; c; c = c->next) {
        if (strcmp(c->client_id, client_id))
            continue;
        mine++;
        if (!victim || (!c->conn && victim->conn) ||
            (!c->conn == !victim->conn && c->used_seq < victim->used_seq))
            victim = c;
    }
    if (mine >= SIM_NOTIFY_CHANNELS_MAX && victim) {
        channel_remove(self, victim);
        bump(&self->n_evicted);
    }
    do {
        size_t n = strlen(CHANNEL_PREFIX);
        memcpy(ch->id, CHANNEL_PREFIX, n);
        for (int k = 0; k < CHANNEL_RANDOM_LEN; k++)
            ch->id[n + (size_t)k] =
                alphabet[rng_below(&self->rng, sizeof(alphabet) - 1)];
        ch->id[n + CHANNEL_RANDOM_LEN] = '\0';
    } while (channel_find(self, NULL, ch->id));
    channel_touch(self, ch);
    ch->next = self->channels;
    self->channels = ch;
    o = channel_json(self, ch);
    pthread_mutex_unlock(&self->lock);
    bump(&self->n_created);
    return o;
}

cJSON *sim_notify_channel_list(struct sim_notify *self, const char *client_id)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "entities");

    pthread_mutex_lock(&self->lock);
    channel_expire(self, clock_wall_ns());
    for (struct channel *ch = self->channels; ch; ch = ch->next)
        if (!strcmp(ch->client_id, client_id))
            cJSON_AddItemToArray(arr, channel_json(self, ch));
    pthread_mutex_unlock(&self->lock);
    return o;
}

int sim_notify_channel_exists(struct sim_notify *self, const char *client_id,
                              const char *channel_id)
{
    int found;

    pthread_mutex_lock(&self->lock);
    found = channel_find(self, client_id, channel_id) != NULL;
    pthread_mutex_unlock(&self->lock);
    return found;
}

/* ------------------------------------------------------------------ */
/* Subscriptions. */

struct rejected {
    char *id;
    const char *reason;
};

struct sub_work {
    char **topics; /* the channel's list after the change */
    size_t n_topics, cap_topics;
    unsigned char *flags;
    struct rejected *rejected;
    size_t n_rejected, cap_rejected;
};

static void work_reject(struct sub_work *w, const char *id, const char *reason)
{
    if (w->n_rejected == w->cap_rejected) {
        w->cap_rejected = w->cap_rejected ? 2 * w->cap_rejected : 8;
        w->rejected =
            xreallocarray(w->rejected, w->cap_rejected, sizeof(w->rejected[0]));
    }
    w->rejected[w->n_rejected].id = xstrdup(id);
    w->rejected[w->n_rejected].reason = reason;
    w->n_rejected++;
}

static void work_add(struct sub_work *w, const char *name, size_t agent,
                     unsigned kind)
{
    if (w->flags[agent] & kind)
        return; /* already subscribed */
    w->flags[agent] |= (unsigned char)kind;
    if (w->n_topics == w->cap_topics) {
        w->cap_topics = w->cap_topics ? 2 * w->cap_topics : 16;
        w->topics =
            xreallocarray(w->topics, w->cap_topics, sizeof(w->topics[0]));
    }
    w->topics[w->n_topics++] = xstrdup(name);
}

/* One expanded topic name: v2.users.<id>.presence|routingStatus|activity
 * for an agent of the org is permitted; anything else is rejected. */
static void classify(struct sim_notify *self, struct sub_work *w,
                     const char *name)
{
    size_t plen = strlen(TOPIC_PREFIX);
    const char *rest, *dot, *suffix;
    char id[SIM_ID_LEN];
    unsigned kind;
    long agent;

    if (strncmp(name, TOPIC_PREFIX, plen) || !(dot = strchr(name + plen, '.')))
        goto unsupported;
    rest = name + plen;
    suffix = dot + 1;
    if (!strcmp(suffix, "presence"))
        kind = TOPIC_PRESENCE;
    else if (!strcmp(suffix, "routingStatus"))
        kind = TOPIC_ROUTING;
    else if (!strcmp(suffix, "activity"))
        kind = TOPIC_ACTIVITY;
    else
        goto unsupported;
    if ((size_t)(dot - rest) >= sizeof(id)) {
        work_reject(w, name, "The user in this topic does not exist.");
        return;
    }
    memcpy(id, rest, (size_t)(dot - rest));
    id[dot - rest] = '\0';
    agent = org_find_agent(self->org, id);
    if (agent < 0) {
        work_reject(w, name, "The user in this topic does not exist.");
        return;
    }
    work_add(w, name, (size_t)agent, kind);
    return;
unsupported:
    work_reject(w, name,
                "The simulator does not support this topic; it serves "
                "v2.users.{id}.presence, .routingStatus and .activity.");
}

/* A topic as sent: plain, or combined "v2.users.<id>?a&b&c" (each part
 * becomes its own topic "v2.users.<id>.a"). */
static void expand(struct sim_notify *self, struct sub_work *w,
                   const char *topic)
{
    const char *q = strchr(topic, '?');
    char name[TOPIC_MAX];

    if (strlen(topic) >= TOPIC_MAX ||
        (q && strlen(topic) > SIM_NOTIFY_COMBINED_MAX)) {
        work_reject(w, topic,
                    q ? "A combined topic may have at most 200 characters."
                      : "The topic name is too long.");
        return;
    }
    if (!q) {
        classify(self, w, topic);
        return;
    }
    for (const char *part = q + 1;;) {
        const char *end = strchr(part, '&');
        size_t len = end ? (size_t)(end - part) : strlen(part);
        if (len) {
            snprintf(name, sizeof(name), "%.*s.%.*s", (int)(q - topic), topic,
                     (int)len, part);
            classify(self, w, name);
        }
        if (!end)
            break;
        part = end + 1;
    }
}

static void work_release(struct sub_work *w)
{
    for (size_t k = 0; k < w->n_topics; k++)
        free(w->topics[k]);
    free(w->topics);
    free(w->flags);
    for (size_t k = 0; k < w->n_rejected; k++)
        free(w->rejected[k].id);
    free(w->rejected);
}

static cJSON *topics_listing(char *const *topics, size_t n,
                             const struct rejected *rejected, size_t n_rej)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "entities");

    for (size_t k = 0; k < n; k++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "id", topics[k]);
        cJSON_AddStringToObject(t, "state", "Permitted");
        cJSON_AddItemToArray(arr, t);
    }
    for (size_t k = 0; k < n_rej; k++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "id", rejected[k].id);
        cJSON_AddStringToObject(t, "state", "Rejected");
        cJSON_AddStringToObject(t, "rejectionReason", rejected[k].reason);
        cJSON_AddArrayToObject(t, "missingPermissions");
        cJSON_AddItemToArray(arr, t);
    }
    return o;
}

enum rt_err sim_notify_subscribe(struct sim_notify *self, const char *client_id,
                                 const char *channel_id,
                                 const char *const *topics, size_t n,
                                 enum sim_notify_sub_op op, cJSON **out)
{
    struct sub_work w;
    struct channel *ch;
    size_t n_agents = self->n_agents ? self->n_agents : 1;
    enum rt_err err = RT_OK;

    memset(&w, 0, sizeof(w));
    w.flags = xcalloc(n_agents, 1);
    pthread_mutex_lock(&self->lock);
    if (!(ch = channel_find(self, client_id, channel_id))) {
        err = RT_ENOENT;
        goto out;
    }
    if (op == SIM_NOTIFY_SUB_ADD) {
        memcpy(w.flags, ch->flags, n_agents);
        for (size_t k = 0; k < ch->n_topics; k++) {
            if (w.n_topics == w.cap_topics) {
                w.cap_topics = w.cap_topics ? 2 * w.cap_topics : 16;
                w.topics =
                    xreallocarray(w.topics, w.cap_topics, sizeof(w.topics[0]));
            }
            w.topics[w.n_topics++] = xstrdup(ch->topics[k]);
        }
    }
    for (size_t k = 0; k < n; k++)
        expand(self, &w, topics[k]);
    /* Rejected topics count too: the limit is on what a channel is asked
     * to carry. */
    if (w.n_topics + w.n_rejected > SIM_NOTIFY_TOPICS_MAX) {
        err = RT_ERANGE;
        goto out;
    }
    /* Swap the new list in; the old one is released with @w. */
    {
        char **t = ch->topics;
        size_t nt = ch->n_topics;
        unsigned char *f = ch->flags;
        ch->topics = w.topics;
        ch->n_topics = w.n_topics;
        ch->flags = w.flags;
        w.topics = t;
        w.n_topics = nt;
        w.flags = f;
    }
    ch->expires_wall_ns = clock_wall_ns() + CHANNEL_TTL_NS;
    channel_touch(self, ch);
    *out = topics_listing(ch->topics, ch->n_topics, w.rejected, w.n_rejected);
out:
    pthread_mutex_unlock(&self->lock);
    work_release(&w);
    return err;
}

enum rt_err sim_notify_subscriptions(struct sim_notify *self,
                                     const char *client_id,
                                     const char *channel_id, cJSON **out)
{
    struct channel *ch;
    enum rt_err err = RT_OK;

    pthread_mutex_lock(&self->lock);
    if ((ch = channel_find(self, client_id, channel_id))) {
        channel_touch(self, ch);
        *out = topics_listing(ch->topics, ch->n_topics, NULL, 0);
    } else {
        err = RT_ENOENT;
    }
    pthread_mutex_unlock(&self->lock);
    return err;
}

enum rt_err sim_notify_unsubscribe_all(struct sim_notify *self,
                                       const char *client_id,
                                       const char *channel_id)
{
    struct channel *ch;
    enum rt_err err = RT_OK;

    pthread_mutex_lock(&self->lock);
    if ((ch = channel_find(self, client_id, channel_id))) {
        for (size_t k = 0; k < ch->n_topics; k++)
            free(ch->topics[k]);
        ch->n_topics = 0;
        memset(ch->flags, 0, self->n_agents);
        channel_touch(self, ch);
    } else {
        err = RT_ENOENT;
    }
    pthread_mutex_unlock(&self->lock);
    return err;
}

/* ------------------------------------------------------------------ */
/* The service thread: sockets, timers, faults. */

static struct conn *conn_of(lws_sorted_usec_list_t *sul, size_t offset)
{
    return (struct conn *)(void *)((char *)sul - offset);
}

static void on_heartbeat(lws_sorted_usec_list_t *sul)
{
    struct conn *c = conn_of(sul, offsetof(struct conn, sul_heartbeat));
    struct sim_notify *self = c->hub;
    char *text = metadata_text("WebSocket Heartbeat");
    int more;

    pthread_mutex_lock(&self->lock);
    more = enqueue(self, c, MSG_HEARTBEAT, text, strlen(text));
    pthread_mutex_unlock(&self->lock);
    free(text);
    if (more)
        lws_callback_on_writable(c->wsi);
    lws_sul_schedule(
        lws_get_context(c->wsi), 0, &c->sul_heartbeat, on_heartbeat,
        (lws_usec_t)(self->cfg->world.stream.heartbeat_ns / NS_PER_US));
}

/* The socket_closing grace is over. */
static void on_close_due(lws_sorted_usec_list_t *sul)
{
    struct conn *c = conn_of(sul, offsetof(struct conn, sul_close));
    struct sim_notify *self = c->hub;

    pthread_mutex_lock(&self->lock);
    if (c->action == ACT_NONE && !c->silent)
        c->action = ACT_CLOSE;
    pthread_mutex_unlock(&self->lock);
    lws_callback_on_writable(c->wsi);
}

/* {"topicName":"v2.system.socket_closing","eventBody":SystemMessage}. */
static char *closing_text(struct sim_notify *self, const struct conn *c)
{
    cJSON *o = cJSON_CreateObject(), *body;
    char id[SIM_ID_LEN];
    char *text;

    make_uuid(self, id);
    cJSON_AddStringToObject(o, "topicName", "v2.system.socket_closing");
    body = cJSON_AddObjectToObject(o, "eventBody");
    cJSON_AddStringToObject(body, "channelId", c->channel_id);
    cJSON_AddStringToObject(body, "systemTopicType", "socket_closing");
    cJSON_AddStringToObject(body, "correlationId", id);
    cJSON_AddStringToObject(body, "oauthClientId", c->client_id);
    cJSON_AddStringToObject(body, "reason", "maintenance");
    cJSON_AddStringToObject(body, "message",
                            "This WebSocket is closing for maintenance; "
                            "reconnect to the channel.");
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        abort();
    return text;
}

static void apply_fault(struct sim_notify *self, enum fault_kind kind)
{
    int64_t grace_us = self->cfg->world.stream.closing_grace_ns / NS_PER_US;

    pthread_mutex_lock(&self->lock);
    for (struct conn *c = self->conns; c; c = c->next) {
        if (c->silent || c->action != ACT_NONE)
            continue;
        switch (kind) {
        case FAULT_CLOSING: {
            char *text = closing_text(self, c);
            enqueue(self, c, MSG_SYSTEM, text, strlen(text));
            free(text);
            /* Rescheduling moves an earlier warning's deadline. */
            lws_sul_schedule(self->ctx, 0, &c->sul_close, on_close_due,
                             (lws_usec_t)grace_us);
            bump(&self->n_closing);
            stream_row(self, c->channel_id, c->client_id, "socket_closing");
            break;
        }
        case FAULT_DROP:
            c->action = ACT_DROP;
            queue_clear(c);
            bump(&self->n_drop);
            stream_row(self, c->channel_id, c->client_id, "drop");
            break;
        case FAULT_SILENT:
            c->silent = 1;
            queue_clear(c);
            lws_sul_cancel(&c->sul_close);
            bump(&self->n_silent);
            stream_row(self, c->channel_id, c->client_id, "silent");
            break;
        }
        lws_callback_on_writable(c->wsi);
    }
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

/* Apply every fault that is due, then sleep until the next one. */
static void on_fault(lws_sorted_usec_list_t *sul)
{
    struct sim_notify *self =
        (struct sim_notify *)(void *)((char *)sul -
                                      offsetof(struct sim_notify, sul_fault));
    int64_t now = clock_mono_ns();

    while (self->next_fault < self->n_faults &&
           self->start_mono_ns + self->faults[self->next_fault].at_ns <= now)
        apply_fault(self, self->faults[self->next_fault++].kind);
    if (self->next_fault < self->n_faults) {
        int64_t due =
            self->start_mono_ns + self->faults[self->next_fault].at_ns - now;
        lws_sul_schedule(self->ctx, 0, &self->sul_fault, on_fault,
                         (lws_usec_t)((due + NS_PER_US - 1) / NS_PER_US));
    }
}

/* "/channels/<id>" → @id; 0 on success. */
static int channel_from_uri(struct lws *wsi, char id[SIM_NOTIFY_CHANNEL_ID_LEN])
{
    static const char prefix[] = "/channels/";
    char uri[URI_MAX];
    size_t len;

    if (lws_hdr_copy(wsi, uri, (int)sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
        strncmp(uri, prefix, sizeof(prefix) - 1))
        return -1;
    len = strlen(uri + sizeof(prefix) - 1);
    if (!len || len >= SIM_NOTIFY_CHANNEL_ID_LEN)
        return -1;
    memcpy(id, uri + sizeof(prefix) - 1, len + 1);
    return 0;
}

static int on_established(struct sim_notify *self, struct lws *wsi,
                          struct conn *c)
{
    struct channel *ch;
    struct conn *old = NULL;

    c->hub = self;
    c->wsi = wsi;
    if (channel_from_uri(wsi, c->channel_id))
        return -1;
    pthread_mutex_lock(&self->lock);
    if (!(ch = channel_find(self, NULL, c->channel_id))) {
        pthread_mutex_unlock(&self->lock);
        bump(&self->n_refused);
        return -1;
    }
    snprintf(c->client_id, sizeof(c->client_id), "%s", ch->client_id);
    /* One socket per channel: the newcomer takes it. */
    if ((old = ch->conn)) {
        old->ch = NULL;
        if (old->action == ACT_NONE) {
            old->action = ACT_KICK;
            queue_clear(old);
        }
        bump(&self->n_kicks);
        stream_row(self, old->channel_id, old->client_id, "kick");
    }
    ch->conn = c;
    c->ch = ch;
    channel_touch(self, ch);
    c->open = 1;
    c->next = self->conns;
    if (self->conns)
        self->conns->prev = c;
    self->conns = c;
    pthread_mutex_unlock(&self->lock);
    if (old)
        lws_callback_on_writable(old->wsi);
    bump(&self->n_connections);
    stream_row(self, c->channel_id, c->client_id, "open");
    lws_sul_schedule(
        lws_get_context(wsi), 0, &c->sul_heartbeat, on_heartbeat,
        (lws_usec_t)(self->cfg->world.stream.heartbeat_ns / NS_PER_US));
    return 0;
}

static void on_closed(struct sim_notify *self, struct conn *c)
{
    lws_sul_cancel(&c->sul_heartbeat);
    lws_sul_cancel(&c->sul_close);
    if (!c->open)
        return;
    pthread_mutex_lock(&self->lock);
    if (c->ch && c->ch->conn == c) {
        c->ch->conn = NULL;
        channel_touch(self, c->ch);
    }
    c->ch = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        self->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->open = 0;
    queue_clear(c);
    pthread_mutex_unlock(&self->lock);
    stream_row(self, c->channel_id, c->client_id, "close");
}

/* Close with a close frame carrying @status and @why; returns -1 for the
 * callback to hand back to lws. */
static int close_with(struct lws *wsi, enum lws_close_status status,
                      const char *why)
{
    unsigned char text[64];
    size_t n = strlen(why);

    if (n > sizeof(text))
        n = sizeof(text);
    memcpy(text, why, n);
    lws_close_reason(wsi, status, text, n);
    return -1;
}

static int on_writable(struct sim_notify *self, struct lws *wsi, struct conn *c)
{
    enum conn_action act;
    struct msg *m;
    int more, n;

    pthread_mutex_lock(&self->lock);
    act = c->action;
    m = NULL;
    if (act == ACT_NONE && c->silent) {
        queue_clear(c);
    } else if (act == ACT_NONE && (m = c->head)) {
        c->head = m->next;
        if (!c->head)
            c->tail = NULL;
        c->n_queued--;
    }
    more = c->head != NULL;
    pthread_mutex_unlock(&self->lock);
    switch (act) {
    case ACT_NONE:
        break;
    case ACT_KICK:
        return close_with(wsi, LWS_CLOSE_STATUS_NORMAL,
                          "another connection took the channel");
    case ACT_CLOSE:
        return close_with(wsi, LWS_CLOSE_STATUS_GOINGAWAY, "socket closing");
    case ACT_GONE:
        return close_with(wsi, LWS_CLOSE_STATUS_NORMAL, "channel removed");
    case ACT_DROP:
    case ACT_OVERFLOW:
        /* No close reason: lws closes without a close frame. */
        return -1;
    }
    if (!m)
        return 0;
    /* Counted before the write, so a client that has read a message
     * always finds it counted. */
    switch (m->kind) {
    case MSG_EVENT:
        bump(&self->n_events);
        break;
    case MSG_HEARTBEAT:
        bump(&self->n_heartbeats);
        break;
    case MSG_PONG:
        bump(&self->n_pongs);
        break;
    case MSG_SYSTEM:
        break;
    }
    n = lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT);
    if (n < (int)m->len) {
        free(m);
        return -1;
    }
    free(m);
    if (more)
        lws_callback_on_writable(wsi);
    return 0;
}

/* A whole client text message: {"message":"ping"} gets a pong; anything
 * else is ignored, as the simulator takes subscriptions over REST only. */
static void on_client_message(struct sim_notify *self, struct lws *wsi,
                              struct conn *c)
{
    cJSON *o = cJSON_ParseWithLength(c->rx, c->rx_len);
    const char *m = json_str(o, "message");
    int more = 0;

    if (m && !strcmp(m, "ping")) {
        char *text = metadata_text("pong");
        pthread_mutex_lock(&self->lock);
        more = enqueue(self, c, MSG_PONG, text, strlen(text));
        pthread_mutex_unlock(&self->lock);
        free(text);
    }
    cJSON_Delete(o);
    if (more)
        lws_callback_on_writable(wsi);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
                    void *user, void *in, size_t len)
{
    struct sim_notify *self = lws_context_user(lws_get_context(wsi));
    struct conn *c = user;
    char id[SIM_NOTIFY_CHANNEL_ID_LEN];

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        /* Only WebSocket upgrades are served here. */
        if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL))
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        if (!in || strcasecmp(in, "websocket") || channel_from_uri(wsi, id) ||
            !sim_notify_channel_exists(self, NULL, id)) {
            bump(&self->n_refused);
            lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
            return 1;
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        return on_established(self, wsi, c);
    case LWS_CALLBACK_CLOSED:
        if (c && c->hub)
            on_closed(self, c);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c && c->open ? on_writable(self, wsi, c) : 0;
    case LWS_CALLBACK_RECEIVE:
        if (!c || !c->open)
            return 0;
        if (c->rx_len + len > sizeof(c->rx))
            c->rx_too_long = 1;
        else {
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            if (!c->rx_too_long && !lws_frame_is_binary(wsi))
                on_client_message(self, wsi, c);
            c->rx_len = 0;
            c->rx_too_long = 0;
        }
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        /* Another thread queued messages or condemned a socket. */
        if (!self)
            return 0;
        pthread_mutex_lock(&self->lock);
        for (struct conn *k = self->conns; k; k = k->next)
            if (k->head || k->action != ACT_NONE)
                lws_callback_on_writable(k->wsi);
        pthread_mutex_unlock(&self->lock);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {"genesys-notifications", callback, sizeof(struct conn), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_log_line(int level, const char *line)
{
    char text[512];

    (void)level;
    snprintf(text, sizeof(text), "%s", line);
    text[strcspn(text, "\n")] = '\0';
    log_warn("sim stream: %s", text);
}

static void lws_log_init(void)
{
    lws_set_log_level(LLL_ERR, lws_log_line);
}

static void *service_main(void *arg)
{
    struct sim_notify *self = arg;

    while (!atomic_load(&self->quit))
        if (lws_service(self->ctx, 0) < 0)
            break;
    return NULL;
}

static int fault_cmp(const void *a, const void *b)
{
    const struct fault *x = a, *y = b;

    return (x->at_ns > y->at_ns) - (x->at_ns < y->at_ns);
}

/* ------------------------------------------------------------------ */
/* Lifecycle. */

enum rt_err sim_notify_new(struct sim_notify **out,
                           const struct sim_config *cfg, struct sim_org *org)
{
    struct sim_notify *self = xcalloc(1, sizeof(*self));
    const struct sim_world_config *w = &cfg->world;
    pthread_condattr_t attr;
    uint64_t seed[2];
    enum rt_err err;

    self->cfg = cfg;
    self->org = org;
    self->n_agents = org_agent_count(org);
    self->start_mono_ns = clock_mono_ns();
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cond, &attr);
    pthread_condattr_destroy(&attr);
    /* Channel ids need not repeat across runs, so they come from the
     * kernel rather than the scenario's seed. */
    while (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
        ;
    self->boot_id = seed[0];
    rng_seed(&self->rng, seed[1], 0xc4a7);
    for (size_t k = 0; k < w->stream.n_closing; k++)
        self->faults[self->n_faults++] =
            (struct fault){w->stream.closing_at_ns[k], FAULT_CLOSING};
    for (size_t k = 0; k < w->stream.n_drop; k++)
        self->faults[self->n_faults++] =
            (struct fault){w->stream.drop_at_ns[k], FAULT_DROP};
    for (size_t k = 0; k < w->stream.n_silent; k++)
        self->faults[self->n_faults++] =
            (struct fault){w->stream.silent_at_ns[k], FAULT_SILENT};
    qsort(self->faults, self->n_faults, sizeof(self->faults[0]), fault_cmp);
    if (cfg->log_dir[0] &&
        (err = csv_open_in(&self->csv, cfg->log_dir, "stream.csv", stream_cols,
                           sizeof(stream_cols) / sizeof(stream_cols[0]),
                           CSV_STREAM)))
        goto fail;
    if ((err = org_add_hook(org, on_transition, self)))
        goto fail;
    *out = self;
    return RT_OK;
fail:
    csv_abort(self->csv);
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    free(self);
    return err;
}

enum rt_err sim_notify_start(struct sim_notify *self)
{
    static pthread_once_t log_once = PTHREAD_ONCE_INIT;
    struct lws_context_creation_info info;
    struct lws_vhost *vh;
    int rc;

    pthread_once(&log_once, lws_log_init);
    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_DISABLE_IPV6 |
                   LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    info.user = self;
    info.fd_limit_per_thread = 4096;
    info.count_threads = 1;
    self->ctx = lws_create_context(&info);
    if (!self->ctx)
        return rt_fail(RT_ESYS, "cannot start the notification server");
    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6 |
                   LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    info.port = 0;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.vhost_name = "notifications";
    info.user = self;
    if (!(vh = lws_create_vhost(self->ctx, &info)) ||
        lws_get_vhost_listen_port(vh) <= 0) {
        lws_context_destroy(self->ctx);
        self->ctx = NULL;
        return rt_fail(RT_ESYS, "cannot listen for notifications on "
                                "127.0.0.1");
    }
    atomic_store(&self->port, (uint16_t)lws_get_vhost_listen_port(vh));
    if (self->n_faults) {
        int64_t due =
            self->start_mono_ns + self->faults[0].at_ns - clock_mono_ns();
        lws_sul_schedule(self->ctx, 0, &self->sul_fault, on_fault,
                         (lws_usec_t)(due > 0 ? due / NS_PER_US : 0));
    }
    pthread_mutex_lock(&self->lock);
    self->running = 1;
    pthread_mutex_unlock(&self->lock);
    if ((rc = pthread_create(&self->thread, NULL, service_main, self))) {
        pthread_mutex_lock(&self->lock);
        self->running = 0;
        pthread_mutex_unlock(&self->lock);
        lws_context_destroy(self->ctx);
        self->ctx = NULL;
        return rt_fail(RT_ESYS, "cannot start the notification thread: %s",
                       strerror(rc));
    }
    self->thread_started = 1;
    return RT_OK;
}

uint16_t sim_notify_port(const struct sim_notify *self)
{
    return atomic_load(&self->port);
}

void sim_notify_stop(struct sim_notify *self)
{
    if (!self || !self->ctx)
        return;
    pthread_mutex_lock(&self->lock);
    self->running = 0;
    pthread_mutex_unlock(&self->lock);
    if (self->thread_started) {
        atomic_store(&self->quit, 1);
        lws_cancel_service(self->ctx);
        pthread_join(self->thread, NULL);
        self->thread_started = 0;
    }
    lws_sul_cancel(&self->sul_fault);
    /* Closes every socket; their CLOSED callbacks run on this thread. */
    lws_context_destroy(self->ctx);
    self->ctx = NULL;
    /* lws has freed every connection: no channel may point at one, even
     * if a CLOSED callback did not come. */
    pthread_mutex_lock(&self->lock);
    for (struct channel *ch = self->channels; ch; ch = ch->next)
        ch->conn = NULL;
    self->conns = NULL;
    pthread_mutex_unlock(&self->lock);
}

void sim_notify_free(struct sim_notify *self)
{
    enum rt_err err;

    if (!self)
        return;
    sim_notify_stop(self);
    org_remove_hook(self->org, on_transition, self);
    while (self->channels) {
        struct channel *ch = self->channels;
        self->channels = ch->next;
        channel_free(ch);
    }
    if ((err = csv_close(self->csv)))
        log_warn("cannot close 'stream.csv': %s", rt_strerror(err));
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    free(self);
}

void sim_notify_stats(struct sim_notify *self, struct sim_notify_stats *out)
{
    out->channels_created = get(&self->n_created);
    out->channels_evicted = get(&self->n_evicted);
    out->connections = get(&self->n_connections);
    out->refused = get(&self->n_refused);
    out->events = get(&self->n_events);
    out->heartbeats = get(&self->n_heartbeats);
    out->pongs = get(&self->n_pongs);
    out->kicks = get(&self->n_kicks);
    out->overflows = get(&self->n_overflows);
    out->faults_closing = get(&self->n_closing);
    out->faults_drop = get(&self->n_drop);
    out->faults_silent = get(&self->n_silent);
}

/* Lock held or not: the counters are atomic. */
static uint64_t faults_applied(struct sim_notify *self)
{
    return get(&self->n_closing) + get(&self->n_drop) + get(&self->n_silent);
}

int sim_notify_wait_faults(struct sim_notify *self, uint64_t n,
                           int64_t timeout_ns)
{
    struct timespec deadline =
        clock_mono_timespec(clock_mono_ns() + timeout_ns);
    int ok;

    pthread_mutex_lock(&self->lock);
    while (faults_applied(self) < n)
        if (pthread_cond_timedwait(&self->cond, &self->lock, &deadline))
            break;
    ok = faults_applied(self) >= n;
    pthread_mutex_unlock(&self->lock);
    return ok;
}
