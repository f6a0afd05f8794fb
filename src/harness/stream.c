/*
 * The notifications stream (see include/harness/stream.h).
 *
 * One thread owns everything after stream_start(): the libwebsockets
 * context and every socket, the stream's session (REST), its tracker and
 * the per-agent server times.  lws callbacks only record what happened
 * (a frame, an open, an end) and sample the tracker for events; every
 * decision that may block (creating a channel, subscribing, reading
 * agents back) is taken by the loop between two lws_service() calls, so
 * no REST call ever runs inside an lws callback.  A tick timer wakes the
 * loop often enough for silence checks and backoff; stream_join() wakes it
 * at once with lws_cancel_service(), the one lws call made from another
 * thread, which lws allows while the context exists (the context is
 * destroyed only after the thread has been joined).
 *
 * A socket ("conn") is attached to its channel while it is the channel's
 * live or pending socket; a detached socket is on its way out and its
 * frames are ignored.  A conn is freed once lws has let go of it (its
 * opaque pointer is cleared in the last callback, so no callback can
 * reach freed memory) and it is detached.
 *
 * While the loop is blocked in a REST call nothing is read from the
 * sockets, so silence is measured from the later of the last frame and
 * the end of the last blocking call: a slow call never makes a healthy
 * socket look silent.  Gaps are still measured from the last frame.
 */
#include "harness/stream.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <libwebsockets.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/clock.h"
#include "api/presence.h"
#include "base/json.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "harness/observer.h"
#include "harness/tracker.h"

#define ROUTE_CHANNELS "/api/v2/notifications/channels"
#define ROUTE_SUBSCRIPTIONS                                                    \
    "/api/v2/notifications/channels/{channelId}/subscriptions"
#define ROUTE_USERS "/api/v2/users?id={ids}"
#define USERS_SUFFIX "&pageSize=100&expand=presence,routingStatus"
#define TOPIC_SUFFIX "?presence&routingStatus"
#define TOPICS_PER_AGENT 2
#define AGENTS_PER_CHANNEL (STREAM_TOPICS_PER_CHANNEL / TOPICS_PER_AGENT)
#define CHANNEL_ID_MAX 128
#define URI_MAX 512
#define ERROR_MAX 160
/* The session joins a path to an api_url of at most HARNESS_URL_MAX in a
 * buffer of HARNESS_URL_MAX + 4096. */
#define PATH_MAX_BYTES 4095
#define MESSAGE_MAX_BYTES ((size_t)1 << 20)
#define SUBSCRIBE_BODY_MAX ((size_t)4 << 20)
#define START_TIMEOUT_NS (30 * NS_PER_S)
#define BACKOFF_MIN_NS (100 * NS_PER_MS)
#define BACKOFF_MAX_NS (5 * NS_PER_S)
#define PING_TEXT "{\"message\":\"ping\"}"
/* Before the stream is ready, a channel whose socket fails this many times
 * in a row ends stream_start() (a refused certificate does not heal). */
#define START_CONNECT_TRIES 5
#define REJECTED_LOGGED 5 /* agent ids named in the rejection warning */

_Static_assert(OBSERVER_CHUNK_MAX == 100, "update USERS_SUFFIX");

/* ------------------------------------------------------------------ */
/* Frame parsing                                                       */

const char *stream_presence_name(const char *in)
{
    return presence_rest_name(in);
}

static int64_t time_field(const cJSON *obj, const char *key)
{
    const char *s = json_string_field(obj, key);
    int64_t ns;

    return s && iso8601_parse(s, &ns) == RT_OK ? ns : 0;
}

/* One JSON value filling @data, only whitespace after it; NULL else. */
static cJSON *parse_json(const char *data, size_t len)
{
    const char *end = NULL;
    cJSON *doc;

    if (!data || !len)
        return NULL;
    doc = cJSON_ParseWithLengthOpts(data, len, &end, 0);
    if (!doc)
        return NULL;
    for (const char *p = end; p < data + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            cJSON_Delete(doc);
            return NULL;
        }
    return doc;
}

/* Presence of a presence body (the event's eventBody, or the activity's
 * "presence" member); 1 when it names a system presence. */
static int read_presence(const cJSON *p, struct stream_frame *out)
{
    const char *sp = json_string_field(json_field(p, "presenceDefinition"),
                                       "systemPresence");

    if (!sp || !*sp)
        return 0;
    snprintf(out->presence, sizeof(out->presence), "%s",
             stream_presence_name(sp));
    out->presence_server_ns = time_field(p, "modifiedDate");
    return 1;
}

/* The routingStatus member of @body; 1 when it has a status. */
static int read_routing(const cJSON *body, struct stream_frame *out)
{
    const cJSON *r = json_field(body, "routingStatus");
    const char *status = json_string_field(r, "status");

    if (!status || !*status)
        return 0;
    snprintf(out->routing, sizeof(out->routing), "%s", status);
    out->routing_server_ns = time_field(r, "startTime");
    return 1;
}

/* A v2.users.{id}.{what} topic: the kind, with the id copied; MALFORMED
 * for a user topic without a usable id. */
static enum stream_frame_kind user_topic(const char *topic,
                                         struct stream_frame *out)
{
    const char *id = topic + strlen("v2.users."), *dot = strrchr(id, '.');
    enum stream_frame_kind kind;
    size_t n;

    if (!dot)
        return STREAM_FRAME_MALFORMED;
    if (!strcmp(dot + 1, "presence"))
        kind = STREAM_FRAME_PRESENCE;
    else if (!strcmp(dot + 1, "routingStatus"))
        kind = STREAM_FRAME_ROUTING;
    else if (!strcmp(dot + 1, "activity"))
        kind = STREAM_FRAME_ACTIVITY;
    else
        return STREAM_FRAME_OTHER; /* conversations, station, ... */
    n = (size_t)(dot - id);
    if (n == 0 || n >= sizeof(out->agent) || memchr(id, '?', n))
        return STREAM_FRAME_MALFORMED;
    memcpy(out->agent, id, n);
    out->agent[n] = '\0';
    return kind;
}

enum rt_err stream_parse_frame(const char *data, size_t len,
                               struct stream_frame *out)
{
    cJSON *doc = parse_json(data, len);
    const cJSON *body;
    const char *topic, *msg;
    enum stream_frame_kind kind = STREAM_FRAME_MALFORMED;
    int ok;

    memset(out, 0, sizeof(*out));
    if (!doc || !(topic = json_string_field(doc, "topicName")))
        goto out;
    body = json_field(doc, "eventBody");
    if (!strcmp(topic, "channel.metadata")) {
        msg = json_string_field(body, "message");
        if (msg && !strcasecmp(msg, "pong"))
            kind = STREAM_FRAME_PONG;
        else if (msg && !strcasecmp(msg, "WebSocket Heartbeat"))
            kind = STREAM_FRAME_HEARTBEAT;
        else
            kind = STREAM_FRAME_OTHER;
    } else if (!strcmp(topic, "v2.system.socket_closing")) {
        kind = STREAM_FRAME_CLOSING;
    } else if (!strncmp(topic, "v2.users.", strlen("v2.users."))) {
        kind = user_topic(topic, out);
        switch (kind) {
        case STREAM_FRAME_PRESENCE:
            ok = read_presence(body, out);
            break;
        case STREAM_FRAME_ROUTING:
            ok = read_routing(body, out);
            break;
        case STREAM_FRAME_ACTIVITY:
            ok = read_presence(json_field(body, "presence"), out);
            ok |= read_routing(body, out);
            break;
        default:
            ok = 1;
            break;
        }
        if (!ok)
            kind = STREAM_FRAME_MALFORMED;
    } else {
        kind = STREAM_FRAME_OTHER;
    }
out:
    cJSON_Delete(doc);
    if (kind == STREAM_FRAME_MALFORMED) {
        memset(out, 0, sizeof(*out));
        out->kind = STREAM_FRAME_MALFORMED;
        return RT_EPARSE;
    }
    if (kind != STREAM_FRAME_PRESENCE && kind != STREAM_FRAME_ROUTING &&
        kind != STREAM_FRAME_ACTIVITY)
        memset(out, 0, sizeof(*out));
    out->kind = kind;
    return RT_OK;
}

/* ------------------------------------------------------------------ */
/* State                                                               */

/* The counters of struct stream_stats that the stream keeps itself
 * (presence_changes and routing_changes come from the tracker). */
#define STREAM_COUNTERS(X)                                                     \
    X(channels)                                                                \
    X(channels_created)                                                        \
    X(topics)                                                                  \
    X(topics_rejected)                                                         \
    X(events)                                                                  \
    X(stale)                                                                   \
    X(unknown_agent)                                                           \
    X(other)                                                                   \
    X(malformed)                                                               \
    X(heartbeats)                                                              \
    X(pings)                                                                   \
    X(pongs)                                                                   \
    X(socket_closing)                                                          \
    X(drops)                                                                   \
    X(silences)                                                                \
    X(reconnects)                                                              \
    X(connect_failures)                                                        \
    X(gaps)                                                                    \
    X(gap_total_ns)                                                            \
    X(gap_max_ns)                                                              \
    X(rereads)                                                                 \
    X(reread_failures)                                                         \
    X(reread_changes)                                                          \
    X(rest_failures)

struct counters {
#define DECLARE_COUNTER(name) atomic_int_fast64_t name;
    STREAM_COUNTERS(DECLARE_COUNTER)
#undef DECLARE_COUNTER
};

/* What the stream last applied for an agent, per property. */
struct seen {
    int64_t presence_ns, routing_ns; /* server times, 0 if none */
    char presence[STREAM_VALUE_MAX], routing[STREAM_VALUE_MAX];
};

/* An agent, for lookups by id. */
struct member {
    const char *id; /* borrowed from h->agent_ids */
    size_t agent;   /* index in h->agent_ids and in the tracker */
};

/* Where a channel's socket connects. */
struct endpoint {
    char id[CHANNEL_ID_MAX];
    char uri[URI_MAX];
    int64_t expires_wall_ns; /* 0 when the answer had none */
};

struct channel;

struct conn {
    struct stream *st;
    struct channel *ch; /* NULL once detached */
    struct lws *wsi;    /* NULL once lws has let go */
    struct endpoint ep;
    int established; /* the handshake completed */
    int ended;       /* closed, failed or destroyed */
    int closing;     /* we asked lws to close it */
    int ping_due;
    int closing_warned; /* v2.system.socket_closing arrived */
    int got_frame;      /* at least one frame since it opened */
    int64_t opened_mono_ns;
    int64_t first_frame_mono_ns;
    int64_t ended_mono_ns;
    int64_t last_frame_mono_ns;
    int64_t last_ping_mono_ns;
    struct buf msg; /* the message being reassembled */
    int msg_too_big;
    char error[ERROR_MAX];
    struct conn *next; /* in stream.conns */
};

struct channel {
    size_t index;
    size_t *agents; /* indexes in h->agent_ids */
    size_t n_agents;
    char *subscribe_body; /* the PUT body, owned */
    int64_t topics;       /* expanded topics in it */
    int64_t rejected;     /* topics rejected by the last subscription */
    struct endpoint ep;   /* the channel the live socket uses */
    struct endpoint next; /* a channel made for the next attempt */
    int has_next;
    struct conn *live, *pending;
    int replacing;             /* make-before-break in progress */
    int fresh;                 /* the next attempt makes a new channel */
    int opened_once;           /* a socket of this channel has been open */
    int seeded;                /* its agents have been read once */
    int reseed;                /* read its agents once a socket is open */
    int reseed_counts;         /* that read follows a gap */
    int warned_reject;         /* rejections logged */
    int warned_connect;        /* connection failures logged */
    int warned_rest;           /* REST failures logged */
    int64_t gap_start_mono_ns; /* 0 = no gap open */
    int64_t next_try_mono_ns;  /* 0 = nothing scheduled */
    int64_t reseed_next_mono_ns;
    int64_t backoff_ns;
    int failures_in_row; /* sockets that failed to open, since one did */
    char last_error[ERROR_MAX];
};

struct stream {
    struct harness *h;
    struct session *session;
    struct tracker *tracker;
    struct lws_context *ctx;
    lws_sorted_usec_list_t tick;
    int64_t tick_us;
    int64_t silence_ns, ping_after_ns;
    struct member *members; /* sorted by id, case-insensitively */
    size_t n;
    struct seen *seen; /* per agent, in h->agent_ids order */
    struct channel *channels;
    size_t n_channels;
    struct conn *conns;        /* every conn not yet freed */
    int64_t unblocked_mono_ns; /* end of the last blocking call */
    struct counters c;
    int warned_malformed, warned_unknown;

    pthread_t thread;
    int started, joined;
    atomic_bool quit;
    /* Start-up hand-shake with stream_start(). */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int ready, finished;
    enum rt_err fatal;
};

static void count(atomic_int_fast64_t *c, int64_t n)
{
    /* Only the stream thread writes (stream_start before it exists). */
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static int stopping(struct stream *st)
{
    return atomic_load(&st->quit) || atomic_load(&st->h->stop);
}

static int member_cmp(const void *a, const void *b)
{
    return strcasecmp(((const struct member *)a)->id,
                      ((const struct member *)b)->id);
}

static const struct member *find_member(struct stream *st, const char *id)
{
    struct member key = {.id = id};

    return bsearch(&key, st->members, st->n, sizeof(key), member_cmp);
}

/* ------------------------------------------------------------------ */
/* Samples                                                             */

/*
 * Whether a value @v with server time @t may replace what was applied
 * last (@last_v at @last_t): not when it is older (a read that crossed an
 * event), nor, for an event, when it is the very same change again (the
 * overlap of make-before-break delivers it twice).  A read of an unchanged
 * value is applied: it tells the tracker the value was still seen then.
 * Without server times there is no order to keep.
 */
static int applies(const char *v, int64_t t, const char *last_v, int64_t last_t,
                   int is_event)
{
    if (!v)
        return 0;
    if (t == 0 || last_t == 0 || t > last_t)
        return 1;
    if (t < last_t)
        return 0;
    return !is_event || strncmp(v, last_v, STREAM_VALUE_MAX - 1);
}

static void remember(char *last_v, int64_t *last_t, const char *v, int64_t t)
{
    snprintf(last_v, STREAM_VALUE_MAX, "%s", v);
    if (t > *last_t)
        *last_t = t;
}

/*
 * Feed one agent's presence and routing status to the tracker, each only
 * when applies() says so.  Returns the number of properties applied.
 */
static int apply(struct stream *st, size_t i, const char *presence,
                 int64_t presence_ns, const char *routing, int64_t routing_ns,
                 int64_t send_wall_ns, int64_t recv_wall_ns, int64_t seq)
{
    struct seen *a = &st->seen[i];
    int is_event = seq < 0;
    struct tracker_sample s = {
        .version = -1,
        .send_wall_ns = send_wall_ns,
        .recv_wall_ns = recv_wall_ns,
        .request_seq = seq,
    };
    int applied = 0;

    if (applies(presence, presence_ns, a->presence, a->presence_ns, is_event)) {
        s.presence = presence;
        s.presence_server_ns = presence_ns;
        remember(a->presence, &a->presence_ns, presence, presence_ns);
        applied++;
    }
    if (applies(routing, routing_ns, a->routing, a->routing_ns, is_event)) {
        s.routing = routing;
        s.routing_server_ns = routing_ns;
        remember(a->routing, &a->routing_ns, routing, routing_ns);
        applied++;
    }
    if (applied)
        tracker_sample(st->tracker, i, &s);
    return applied;
}

static void apply_event(struct stream *st, const struct stream_frame *f,
                        int64_t now_wall_ns)
{
    const struct member *m = find_member(st, f->agent);

    if (!m) {
        count(&st->c.unknown_agent, 1);
        if (!st->warned_unknown) {
            st->warned_unknown = 1;
            log_warn("notifications: event for agent '%s', who is not in "
                     "the run; later ones are only counted",
                     f->agent);
        }
        return;
    }
    if (apply(st, m->agent, f->presence[0] ? f->presence : NULL,
              f->presence_server_ns, f->routing[0] ? f->routing : NULL,
              f->routing_server_ns, now_wall_ns, now_wall_ns, -1))
        count(&st->c.events, 1);
    else
        count(&st->c.stale, 1);
}

/* ------------------------------------------------------------------ */
/* lws side: callbacks record, the loop decides                        */

static void on_message(struct conn *c, const char *data, size_t len)
{
    struct stream *st = c->st;
    struct stream_frame f;

    if (stream_parse_frame(data, len, &f)) {
        count(&st->c.malformed, 1);
        if (!st->warned_malformed) {
            st->warned_malformed = 1;
            log_warn("notifications: cannot parse a message of %zu bytes "
                     "on channel '%s'; later ones are only counted",
                     len, c->ep.id);
        }
        return;
    }
    switch (f.kind) {
    case STREAM_FRAME_HEARTBEAT:
        count(&st->c.heartbeats, 1);
        break;
    case STREAM_FRAME_PONG:
        count(&st->c.pongs, 1);
        break;
    case STREAM_FRAME_CLOSING:
        count(&st->c.socket_closing, 1);
        c->closing_warned = 1;
        break;
    case STREAM_FRAME_PRESENCE:
    case STREAM_FRAME_ROUTING:
    case STREAM_FRAME_ACTIVITY:
        apply_event(st, &f, clock_wall_ns());
        break;
    default:
        count(&st->c.other, 1);
        break;
    }
}

static void on_receive(struct conn *c, struct lws *wsi, const void *in,
                       size_t len)
{
    c->last_frame_mono_ns = clock_mono_ns();
    if (!c->got_frame)
        c->first_frame_mono_ns = c->last_frame_mono_ns;
    c->got_frame = 1;
    if (!c->msg_too_big && buf_append(&c->msg, in, len))
        c->msg_too_big = 1;
    /* lws hands a message over in pieces when it is larger than its
     * buffer; the last piece of the last fragment completes it. */
    if (!lws_is_final_fragment(wsi))
        return;
    if (c->msg_too_big) {
        count(&c->st->c.malformed, 1);
    } else if (c->ch) {
        /* A detached socket is on its way out: its twin delivers. */
        on_message(c, c->msg.data ? c->msg.data : "", c->msg.len);
    }
    buf_reset(&c->msg);
    c->msg_too_big = 0;
}

/* The last callback lws makes for @wsi: forget it both ways. */
static void conn_end(struct conn *c, struct lws *wsi)
{
    if (!c->ended) {
        c->ended = 1;
        c->ended_mono_ns = clock_mono_ns();
    }
    c->wsi = NULL;
    lws_set_opaque_user_data(wsi, NULL);
}

static int on_writeable(struct conn *c, struct lws *wsi)
{
    unsigned char frame[LWS_PRE + sizeof(PING_TEXT)];
    size_t n = sizeof(PING_TEXT) - 1;

    if (c->closing) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
    }
    if (!c->ping_due)
        return 0;
    c->ping_due = 0;
    memcpy(frame + LWS_PRE, PING_TEXT, n);
    if (lws_write(wsi, frame + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
        return -1;
    count(&c->st->c.pings, 1);
    return 0;
}

static int on_lws(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                  void *in, size_t len)
{
    struct conn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;

    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (c) {
            c->established = 1;
            c->opened_mono_ns = clock_mono_ns();
            c->last_frame_mono_ns = c->opened_mono_ns;
            /* The server may finish attaching a socket to its channel
             * after the handshake answer: its pong proves it has, so a
             * socket is used only once a frame came (see promote). */
            c->ping_due = 1;
            c->last_ping_mono_ns = c->opened_mono_ns;
            lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (c)
            on_receive(c, wsi, in, len);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (c)
            return on_writeable(c, wsi);
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c) {
            snprintf(c->error, sizeof(c->error), "%s",
                     in && len ? (const char *)in : "connection failed");
            conn_end(c, wsi);
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        if (c)
            conn_end(c, wsi);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {.name = "racetrace-stream", .callback = on_lws},
    {.name = NULL, .callback = NULL},
};

static void on_tick(lws_sorted_usec_list_t *sul)
{
    struct stream *st = lws_container_of(sul, struct stream, tick);

    /* Nothing to do here: lws_service() returns after a timer fires, and
     * the loop does the work. */
    lws_sul_schedule(st->ctx, 0, &st->tick, on_tick, st->tick_us);
}

static void lws_log_line(int level, const char *line)
{
    size_t n = strlen(line);

    (void)level;
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    log_error("websocket: %.*s", (int)n, line);
}

/* lws logs errors only, through our log.  The setting is process-wide and
 * the simulator's WebSocket server may already be running on another
 * thread with its own: it is written only when nobody made it errors-only
 * yet, so it never changes under a thread that reads it. */
static void quiet_lws(void)
{
    if (lwsl_visible(LLL_WARN) || lwsl_visible(LLL_NOTICE) ||
        !lwsl_visible(LLL_ERR))
        lws_set_log_level(LLL_ERR, lws_log_line);
}

/* ------------------------------------------------------------------ */
/* URIs                                                                */

static int is_loopback(const char *host)
{
    return !strcmp(host, "127.0.0.1") || !strcmp(host, "::1") ||
           !strcasecmp(host, "localhost");
}

/*
 * Check a connectUri: wss:// anywhere, ws:// only on a loopback host.
 * The parts go to @ads (@ads_len bytes), *@port, @path and *@tls; on
 * RT_EINVAL @why (@why_len bytes) says what is wrong.
 */
static enum rt_err parse_connect_uri(const char *uri, char *ads, size_t ads_len,
                                     int *port, char *path, size_t path_len,
                                     int *tls, char *why, size_t why_len)
{
    char copy[URI_MAX];
    const char *prot = NULL, *a = NULL, *p = NULL;

    if (snprintf(copy, sizeof(copy), "%s", uri) >= (int)sizeof(copy)) {
        snprintf(why, why_len, "connectUri '%.60s...' is too long", uri);
        return RT_EINVAL;
    }
    if (lws_parse_uri(copy, &prot, &a, port, &p) || !prot || !a || !*a) {
        snprintf(why, why_len, "cannot parse connectUri '%s'", uri);
        return RT_EINVAL;
    }
    if (!strcasecmp(prot, "wss")) {
        *tls = 1;
    } else if (!strcasecmp(prot, "ws") && is_loopback(a)) {
        *tls = 0;
    } else if (!strcasecmp(prot, "ws")) {
        snprintf(why, why_len,
                 "refusing unencrypted connectUri '%s': ws:// is accepted "
                 "only on 127.0.0.1, ::1 and localhost; a remote stream "
                 "must be wss://",
                 uri);
        return RT_EINVAL;
    } else {
        snprintf(why, why_len,
                 "connectUri '%s' is not a WebSocket URI (expected wss://)",
                 uri);
        return RT_EINVAL;
    }
    if (*port <= 0 || *port > 65535) {
        snprintf(why, why_len, "bad port in connectUri '%s'", uri);
        return RT_EINVAL;
    }
    snprintf(ads, ads_len, "%s", a);
    snprintf(path, path_len, "/%s", p ? p : "");
    return RT_OK;
}

/* ------------------------------------------------------------------ */
/* Sockets                                                             */

static struct conn *conn_new(struct stream *st, struct channel *ch,
                             const struct endpoint *ep)
{
    struct conn *c = xcalloc(1, sizeof(*c));

    c->st = st;
    c->ch = ch;
    c->ep = *ep;
    buf_init(&c->msg, MESSAGE_MAX_BYTES);
    c->next = st->conns;
    st->conns = c;
    return c;
}

/* Ask lws to close @c and detach it from its channel. */
static void conn_close(struct conn *c)
{
    c->ch = NULL;
    if (c->closing || c->ended || !c->wsi)
        return;
    c->closing = 1;
    if (c->established) {
        /* A close frame from the writeable callback; the timeout is the
         * backstop for a peer that stopped reading. */
        lws_callback_on_writable(c->wsi);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 5);
    } else {
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
}

/* Free the conns lws has let go of and no channel holds. */
static void conns_collect(struct stream *st)
{
    struct conn **pp = &st->conns;

    while (*pp) {
        struct conn *c = *pp;

        if (c->ended && !c->ch) {
            *pp = c->next;
            buf_release(&c->msg);
            free(c);
        } else {
            pp = &c->next;
        }
    }
}

/* Start connecting @ch to @ep: the new socket becomes ch->pending. */
static enum rt_err conn_open(struct stream *st, struct channel *ch,
                             const struct endpoint *ep, char *why,
                             size_t why_len)
{
    struct lws_client_connect_info ci;
    char ads[256], path[URI_MAX], host[300];
    int port = 0, tls = 0;
    struct conn *c;
    struct lws *wsi;
    enum rt_err err;

    if ((err = parse_connect_uri(ep->uri, ads, sizeof(ads), &port, path,
                                 sizeof(path), &tls, why, why_len)))
        return err;
    /* The Host header: the port only when it is not the default, an
     * IPv6 literal in brackets. */
    if ((tls && port == 443) || (!tls && port == 80))
        snprintf(host, sizeof(host), "%s%s%s", strchr(ads, ':') ? "[" : "", ads,
                 strchr(ads, ':') ? "]" : "");
    else
        snprintf(host, sizeof(host), "%s%s%s:%d", strchr(ads, ':') ? "[" : "",
                 ads, strchr(ads, ':') ? "]" : "", port);
    c = conn_new(st, ch, ep);
    memset(&ci, 0, sizeof(ci));
    ci.context = st->ctx;
    ci.address = ads;
    ci.port = port;
    ci.path = path;
    ci.host = host;
    ci.origin = NULL;
    ci.protocol = NULL; /* the service names no sub-protocol */
    ci.local_protocol_name = protocols[0].name;
    /* TLS with full verification: never LCCSCF_ALLOW_SELFSIGNED,
     * _ALLOW_INSECURE, _ALLOW_EXPIRED or _SKIP_SERVER_CERT_HOSTNAME_CHECK. */
    ci.ssl_connection = tls ? LCCSCF_USE_SSL : 0;
    ci.ietf_version_or_minus_one = -1;
    ci.opaque_user_data = c;
    wsi = lws_client_connect_via_info(&ci);
    /* The host name is resolved synchronously: another blocking call. */
    st->unblocked_mono_ns = clock_mono_ns();
    if (!c->ended)
        c->wsi = wsi;
    if (!wsi && !c->ended) {
        c->ended = 1;
        c->ended_mono_ns = clock_mono_ns();
        snprintf(c->error, sizeof(c->error), "cannot start the connection");
    }
    ch->pending = c;
    return RT_OK;
}

/* ------------------------------------------------------------------ */
/* REST                                                                */

static void call_init(struct session_call *call, const char *method,
                      const char *route, const char *path)
{
    memset(call, 0, sizeof(*call));
    call->method = method;
    call->route = route;
    call->path = path;
    call->op_id = -1;
    call->version_sent = -1;
    call->agents_in_request = -1;
}

/* Make @call; RT_OK only for a 2xx.  Anything else is described in
 * @why (the caller decides whether to log it) and mapped to an error:
 * RT_EAUTH (401, 403), RT_ENOENT (404), RT_EINVAL (other 4xx),
 * RT_ETHROTTLED, RT_EHTTP (5xx, transport), RT_ETIMEOUT. */
static enum rt_err rest(struct stream *st, const struct session_call *call,
                        struct session_result *res, char *why, size_t why_len)
{
    enum rt_err err = session_call(st->session, call, res);

    st->unblocked_mono_ns = clock_mono_ns();
    if (err) {
        snprintf(why, why_len, "%s %s: %s", call->method, call->route,
                 rt_strerror(err));
        return err;
    }
    if (res->cls.kind == CLASSIFY_OK)
        return RT_OK;
    snprintf(why, why_len, "%s %s: status %ld (%s%s%s)", call->method,
             call->route, res->resp->status, classify_kind_name(res->cls.kind),
             res->cls.code[0] ? ", " : "", res->cls.code);
    switch (res->cls.kind) {
    case CLASSIFY_AUTH:
        return RT_EAUTH;
    case CLASSIFY_NOT_FOUND:
        return RT_ENOENT;
    case CLASSIFY_THROTTLED:
        return RT_ETHROTTLED;
    case CLASSIFY_TIMEOUT:
        return RT_ETIMEOUT;
    case CLASSIFY_SERVER_ERROR:
    case CLASSIFY_TRANSPORT:
        return RT_EHTTP;
    default:
        return RT_EINVAL;
    }
}

/* POST /api/v2/notifications/channels into @ep. */
static enum rt_err channel_create(struct stream *st, struct endpoint *ep,
                                  char *why, size_t why_len)
{
    struct session_call call;
    struct session_result res;
    const char *id, *uri, *expires;
    char ads[256], path[URI_MAX];
    int port, tls;
    cJSON *doc;
    enum rt_err err;

    call_init(&call, "POST", ROUTE_CHANNELS, ROUTE_CHANNELS);
    if ((err = rest(st, &call, &res, why, why_len)))
        return err;
    doc = parse_json(res.resp->body.data, res.resp->body.len);
    id = json_string_field(doc, "id");
    uri = json_string_field(doc, "connectUri");
    expires = json_string_field(doc, "expires");
    if (!id || !*id || strlen(id) >= sizeof(ep->id) || !uri ||
        strlen(uri) >= sizeof(ep->uri)) {
        snprintf(why, why_len,
                 "POST %s: the answer (request %lld) is not a Channel with "
                 "an id and a connectUri",
                 ROUTE_CHANNELS, (long long)res.seq);
        cJSON_Delete(doc);
        return RT_EPARSE;
    }
    memset(ep, 0, sizeof(*ep));
    snprintf(ep->id, sizeof(ep->id), "%s", id);
    snprintf(ep->uri, sizeof(ep->uri), "%s", uri);
    if (!expires || iso8601_parse(expires, &ep->expires_wall_ns))
        ep->expires_wall_ns = 0;
    cJSON_Delete(doc);
    count(&st->c.channels_created, 1);
    /* Refuse a plain-text or foreign URI before anything connects. */
    return parse_connect_uri(ep->uri, ads, sizeof(ads), &port, path,
                             sizeof(path), &tls, why, why_len);
}

/* Expanded topics in a (maybe combined) topic: "v2.users.x?a&b" is 2. */
static int64_t expanded(const char *topic)
{
    const char *q = strchr(topic, '?');
    int64_t n = 1;

    if (!q)
        return 1;
    for (const char *p = q + 1; *p; p++)
        n += *p == '&';
    return n;
}

/* Count and (once per channel) name the topics the answer rejected. */
static void read_rejections(struct stream *st, struct channel *ch,
                            const struct endpoint *ep,
                            const struct http_response *resp)
{
    cJSON *doc = parse_json(resp->body.data, resp->body.len);
    const cJSON *e, *entities = json_field(doc, "entities");
    struct buf names;
    const char *reason = NULL, *last = NULL;
    size_t last_len = 0;
    int64_t rejected = 0, agents = 0;

    if (!cJSON_IsArray(entities)) {
        if (!ch->warned_reject)
            log_warn("notifications: the subscription answer of channel "
                     "'%s' is not a topic listing; rejections unknown",
                     ep->id);
        ch->warned_reject = 1;
        cJSON_Delete(doc);
        return;
    }
    buf_init(&names, 1024);
    cJSON_ArrayForEach(e, entities)
    {
        const char *state = json_string_field(e, "state"),
                   *id = json_string_field(e, "id");

        if (!state || strcasecmp(state, "Rejected"))
            continue;
        rejected += id ? expanded(id) : 1;
        if (!reason)
            reason = json_string_field(e, "rejectionReason");
        if (id && !strncmp(id, "v2.users.", strlen("v2.users."))) {
            const char *a = id + strlen("v2.users.");
            size_t n = strcspn(a, ".?");

            /* An agent's expanded topics come one after the other. */
            if (last && n == last_len && !strncmp(a, last, n))
                continue;
            last = a;
            last_len = n;
            if (agents < REJECTED_LOGGED)
                (void)buf_printf(&names, "%s'%.*s'", agents ? ", " : "", (int)n,
                                 a);
        }
        agents++;
    }
    count(&st->c.topics_rejected, rejected - ch->rejected);
    ch->rejected = rejected;
    if (rejected && !ch->warned_reject) {
        ch->warned_reject = 1;
        log_warn("notifications: channel %zu rejected %lld topics of %lld "
                 "of its agents (%s%s)%s%s; their presence is not observed",
                 ch->index + 1, (long long)rejected, (long long)agents,
                 buf_str(&names), agents > REJECTED_LOGGED ? ", ..." : "",
                 reason ? ": " : "", reason ? reason : "");
    }
    buf_release(&names);
    cJSON_Delete(doc);
}

/* PUT the channel's topics on channel @ep. */
static enum rt_err channel_subscribe(struct stream *st, struct channel *ch,
                                     const struct endpoint *ep, char *why,
                                     size_t why_len)
{
    struct session_call call;
    struct session_result res;
    char path[CHANNEL_ID_MAX * 3 + 64];
    char *esc = curl_easy_escape(NULL, ep->id, 0);
    enum rt_err err;

    if (!esc) {
        snprintf(why, why_len, "cannot encode channel id '%s'", ep->id);
        return RT_EINVAL;
    }
    snprintf(path, sizeof(path), "%s/%s/subscriptions", ROUTE_CHANNELS, esc);
    curl_free(esc);
    call_init(&call, "PUT", ROUTE_SUBSCRIPTIONS, path);
    call.body = ch->subscribe_body;
    call.body_len = strlen(ch->subscribe_body);
    if ((err = rest(st, &call, &res, why, why_len)))
        return err;
    read_rejections(st, ch, ep, res.resp);
    return RT_OK;
}

/* The answer being read back, for the listing callback. */
struct reread {
    struct stream *st;
    const struct session_result *res;
};

static void on_user(void *ctx, const struct observer_user *u)
{
    struct reread *r = ctx;
    const struct member *m = find_member(r->st, u->id);

    if (!m)
        return;
    apply(r->st, m->agent,
          u->presence ? stream_presence_name(u->presence) : NULL,
          u->presence_server_ns, u->routing, u->routing_server_ns,
          r->res->resp->send_wall_ns, r->res->resp->recv_wall_ns, r->res->seq);
}

/* GET the agents ch->agents[first..] in one bulk request of at most
 * OBSERVER_CHUNK_MAX (fewer when the ids would not fit one path); *@took
 * gets how many were asked for. */
static enum rt_err read_chunk(struct stream *st, struct channel *ch,
                              size_t first, size_t *took, char *why,
                              size_t why_len)
{
    struct session_call call;
    struct session_result res;
    struct reread ctx = {.st = st};
    struct buf path;
    size_t k, offset = 0;
    enum rt_err err = RT_OK;

    buf_init(&path, PATH_MAX_BYTES);
    err = buf_puts(&path, "/api/v2/users?id=");
    for (k = 0; !err && k < OBSERVER_CHUNK_MAX && first + k < ch->n_agents;
         k++) {
        const char *id = st->h->agent_ids[ch->agents[first + k]];
        char *esc = curl_easy_escape(NULL, id, 0);

        if (!esc) {
            err = RT_EINVAL;
            break;
        }
        if (path.len + (k > 0) + strlen(esc) + sizeof(USERS_SUFFIX) >
            PATH_MAX_BYTES) {
            curl_free(esc);
            if (k == 0)
                err = RT_EINVAL;
            break;
        }
        if (k > 0)
            err = buf_putc(&path, ',');
        if (!err)
            err = buf_puts(&path, esc);
        curl_free(esc);
    }
    if (!err)
        err = buf_puts(&path, USERS_SUFFIX);
    if (err) {
        snprintf(why, why_len, "cannot build the read of channel %zu's agents",
                 ch->index + 1);
        buf_release(&path);
        return RT_EINVAL;
    }
    *took = k;
    call_init(&call, "GET", ROUTE_USERS, buf_str(&path));
    call.agents_in_request = (int64_t)k;
    err = rest(st, &call, &res, why, why_len);
    buf_release(&path);
    if (err)
        return err;
    ctx.res = &res;
    if (observer_parse_listing(res.resp->body.data, res.resp->body.len, on_user,
                               &ctx, &offset, NULL)) {
        snprintf(why, why_len,
                 "cannot parse the answer to '%s' (request %lld) at byte %zu",
                 ROUTE_USERS, (long long)res.seq, offset);
        return RT_EPARSE;
    }
    return RT_OK;
}

/* Read every agent of @ch back into the tracker. */
static enum rt_err channel_reread(struct stream *st, struct channel *ch,
                                  char *why, size_t why_len)
{
    struct tracker_stats before, after;
    size_t first = 0, took = 0;
    enum rt_err err = RT_OK;

    tracker_stats(st->tracker, &before);
    while (first < ch->n_agents) {
        if ((err = read_chunk(st, ch, first, &took, why, why_len)))
            break;
        first += took;
    }
    tracker_stats(st->tracker, &after);
    /* Changes a read finds after a gap were made while nothing was
     * listening: the transitions between them may be lost.  (Only this
     * thread samples the tracker, so the difference is exact.) */
    if (ch->reseed_counts)
        count(&st->c.reread_changes,
              (after.presence_changes - before.presence_changes) +
                  (after.routing_changes - before.routing_changes));
    return err;
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */

/* Errors that will not go away by trying again. */
static int is_permanent(enum rt_err err)
{
    return err == RT_EAUTH || err == RT_EINVAL || err == RT_ENOENT ||
           err == RT_ERANGE;
}

/* Before the stream is ready a permanent error ends it (stream_start
 * reports it); afterwards everything is retried. */
static void fail_start(struct stream *st, enum rt_err err, const char *why)
{
    pthread_mutex_lock(&st->lock);
    if (!st->ready && !st->fatal) {
        st->fatal = err;
        log_error("notifications: %s", why);
    }
    pthread_mutex_unlock(&st->lock);
}

static int is_ready(struct stream *st)
{
    int ready;

    pthread_mutex_lock(&st->lock);
    ready = st->ready;
    pthread_mutex_unlock(&st->lock);
    return ready;
}

/* Next attempt after a failure: 100 ms doubling to 5 s, equal jitter. */
static void schedule_backoff(struct stream *st, struct channel *ch, int64_t now)
{
    int64_t b = ch->backoff_ns ? ch->backoff_ns * 2 : BACKOFF_MIN_NS;

    if (b > BACKOFF_MAX_NS)
        b = BACKOFF_MAX_NS;
    ch->backoff_ns = b;
    ch->next_try_mono_ns =
        now + b / 2 +
        (int64_t)(rng_double(session_rng(st->session)) * (double)(b / 2));
}

static void rest_failed(struct stream *st, struct channel *ch, enum rt_err err,
                        const char *why, int64_t now)
{
    count(&st->c.rest_failures, 1);
    snprintf(ch->last_error, sizeof(ch->last_error), "%s", why);
    if (!is_ready(st) && is_permanent(err)) {
        fail_start(st, err, why);
        return;
    }
    if (!ch->warned_rest) {
        ch->warned_rest = 1;
        log_warn("notifications: %s; retrying", why);
    }
    schedule_backoff(st, ch, now);
}

static void open_gap(struct channel *ch, int64_t at_mono_ns)
{
    if (ch->opened_once && !ch->gap_start_mono_ns)
        ch->gap_start_mono_ns = at_mono_ns > 0 ? at_mono_ns : 1;
}

static void close_gap(struct stream *st, struct channel *ch, int64_t at_mono_ns)
{
    int64_t gap = at_mono_ns - ch->gap_start_mono_ns;

    if (!ch->gap_start_mono_ns)
        return;
    ch->gap_start_mono_ns = 0;
    /* Whatever changed meanwhile is read back. */
    ch->reseed = 1;
    ch->reseed_counts = 1;
    if (gap <= 0)
        return; /* the new socket opened before the old one was lost */
    count(&st->c.gaps, 1);
    count(&st->c.gap_total_ns, gap);
    if (gap > atomic_load(&st->c.gap_max_ns))
        atomic_store(&st->c.gap_max_ns, gap);
    log_info("notifications: channel %zu back after a gap of %lld ms",
             ch->index + 1, (long long)(gap / NS_PER_MS));
}

/* The pending socket opened and delivered a frame (the answer to its
 * first ping, at the latest): it becomes the live one.  Until then the old
 * socket, if any, stays attached, and the overlap is harmless (events are
 * applied in server-time order). */
static void promote(struct stream *st, struct channel *ch)
{
    struct conn *c = ch->pending, *old = ch->live;

    ch->pending = NULL;
    ch->live = c;
    ch->ep = c->ep;
    if (ch->has_next && !strcmp(ch->next.id, c->ep.id))
        ch->has_next = 0;
    if (old)
        conn_close(old); /* make-before-break: no gap */
    if (ch->opened_once)
        count(&st->c.reconnects, 1);
    close_gap(st, ch, c->first_frame_mono_ns);
    if (!ch->seeded)
        ch->reseed = 1;
    ch->opened_once = 1;
    ch->replacing = 0;
    ch->next_try_mono_ns = 0;
    ch->warned_connect = 0;
    ch->failures_in_row = 0;
}

/* A new channel (when needed) and a socket to it. */
static void attempt(struct stream *st, struct channel *ch, int64_t now)
{
    char why[ERROR_MAX + 128];
    enum rt_err err;

    ch->next_try_mono_ns = 0;
    if (ch->fresh || !ch->ep.id[0] ||
        (ch->ep.expires_wall_ns && clock_wall_ns() >= ch->ep.expires_wall_ns)) {
        struct endpoint ep;

        if ((err = channel_create(st, &ep, why, sizeof(why))) ||
            (err = channel_subscribe(st, ch, &ep, why, sizeof(why)))) {
            if (err != RT_EINTR)
                rest_failed(st, ch, err, why, clock_mono_ns());
            return;
        }
        ch->next = ep;
        ch->has_next = 1;
        ch->fresh = 0;
        ch->warned_rest = 0;
    }
    if ((err = conn_open(st, ch, ch->has_next ? &ch->next : &ch->ep, why,
                         sizeof(why))))
        rest_failed(st, ch, err, why, now);
}

static void socket_failed(struct stream *st, struct channel *ch, int64_t now)
{
    struct conn *c = ch->pending;

    ch->pending = NULL;
    conn_close(c); /* detach; close a mute one */
    count(&st->c.connect_failures, 1);
    /* Refused or unreachable: the channel may be gone. */
    if (!c->established)
        ch->fresh = 1;
    snprintf(ch->last_error, sizeof(ch->last_error), "%s",
             c->error[0] ? c->error : "closed");
    if (++ch->failures_in_row >= START_CONNECT_TRIES && !is_ready(st)) {
        char why[ERROR_MAX + URI_MAX + 64];

        snprintf(why, sizeof(why),
                 "channel %zu cannot connect to '%s' (%d tries): %s",
                 ch->index + 1, c->ep.uri, ch->failures_in_row, ch->last_error);
        fail_start(st, RT_EHTTP, why);
        return;
    }
    if (!ch->warned_connect) {
        ch->warned_connect = 1;
        log_warn("notifications: cannot connect channel %zu to '%s': %s; "
                 "retrying",
                 ch->index + 1, c->ep.uri, c->error[0] ? c->error : "closed");
    }
    schedule_backoff(st, ch, now);
}

/* After losing the live socket: reconnect at once the first time (the
 * same connectUri), with backoff when sockets keep dying young (one that
 * lasted resets it, see check_live). */
static void retry_soon(struct stream *st, struct channel *ch, int64_t now)
{
    if (ch->pending || ch->next_try_mono_ns)
        return;
    if (ch->backoff_ns) {
        schedule_backoff(st, ch, now);
    } else {
        ch->next_try_mono_ns = now;
        ch->backoff_ns = BACKOFF_MIN_NS / 2;
    }
}

static void check_live(struct stream *st, struct channel *ch, int64_t now)
{
    struct conn *c = ch->live;
    int64_t ref, idle;

    if (c->ended) {
        /* Lost without our asking. */
        ch->live = NULL;
        c->ch = NULL;
        count(&st->c.drops, 1);
        open_gap(ch, c->ended_mono_ns);
        log_info("notifications: channel %zu dropped (%s); reconnecting",
                 ch->index + 1, c->error[0] ? c->error : "closed");
        retry_soon(st, ch, now);
        return;
    }
    /* A socket that lasted is healthy: the next loss reconnects at once.
     * One dropped right after opening is not, so the backoff (and the
     * read after each gap) cannot turn into a loop against the API. */
    if (now - c->opened_mono_ns >= st->ping_after_ns)
        ch->backoff_ns = 0;
    /* A blocking REST call is not the socket's silence. */
    ref = c->last_frame_mono_ns > st->unblocked_mono_ns ? c->last_frame_mono_ns
                                                        : st->unblocked_mono_ns;
    idle = now - ref;
    if (idle >= st->silence_ns) {
        count(&st->c.silences, 1);
        log_info("notifications: channel %zu silent for %lld ms; "
                 "reconnecting",
                 ch->index + 1,
                 (long long)((now - c->last_frame_mono_ns) / NS_PER_MS));
        open_gap(ch, c->last_frame_mono_ns);
        ch->live = NULL;
        conn_close(c);
        retry_soon(st, ch, now);
        return;
    }
    if (idle >= st->ping_after_ns &&
        now - c->last_ping_mono_ns >= st->ping_after_ns && c->wsi &&
        !c->ping_due) {
        c->ping_due = 1;
        c->last_ping_mono_ns = now;
        lws_callback_on_writable(c->wsi);
    }
    if (ch->replacing || ch->pending)
        return;
    if (c->closing_warned) {
        c->closing_warned = 0;
        /* A 21st channel would evict one of our own: then wait for the
         * drop and reconnect (a gap, counted). */
        if (st->n_channels < STREAM_CHANNELS_MAX) {
            log_info("notifications: channel %zu is closing; replacing it",
                     ch->index + 1);
            ch->replacing = 1;
            ch->fresh = 1;
            ch->next_try_mono_ns = now;
        }
    }
}

static void run_channel(struct stream *st, struct channel *ch)
{
    int64_t now = clock_mono_ns();
    char why[ERROR_MAX + 128];
    enum rt_err err;

    if (ch->pending && !ch->pending->ended && ch->pending->established &&
        !ch->pending->got_frame &&
        now - ch->pending->opened_mono_ns >= st->silence_ns &&
        now - st->unblocked_mono_ns >= st->silence_ns) {
        /* Open but mute (and not for want of the loop's attention): not
         * a socket to rely on. */
        snprintf(ch->pending->error, sizeof(ch->pending->error),
                 "no frame, not even a pong, after opening");
        socket_failed(st, ch, now);
    } else if (ch->pending && ch->pending->ended) {
        socket_failed(st, ch, now);
    }
    if (ch->live)
        check_live(st, ch, now);
    if (ch->pending && ch->pending->established && ch->pending->got_frame)
        promote(st, ch);
    if ((!ch->live || ch->replacing) && !ch->pending && ch->next_try_mono_ns &&
        now >= ch->next_try_mono_ns)
        attempt(st, ch, now);
    if (ch->live && ch->reseed && !stopping(st) &&
        now >= ch->reseed_next_mono_ns) {
        err = channel_reread(st, ch, why, sizeof(why));
        if (err == RT_EINTR)
            return;
        if (err) {
            count(&st->c.reread_failures, 1);
            if (!is_ready(st) && is_permanent(err)) {
                fail_start(st, err, why);
                return;
            }
            log_warn("notifications: %s; reading again", why);
            ch->reseed_next_mono_ns = clock_mono_ns() + BACKOFF_MAX_NS;
            return;
        }
        count(&st->c.rereads, 1);
        ch->reseed = 0;
        ch->reseed_counts = 0;
        ch->seeded = 1;
    }
}

static void *stream_main(void *arg)
{
    struct stream *st = arg;
    int64_t now = clock_mono_ns();

    for (size_t i = 0; i < st->n_channels; i++) {
        st->channels[i].fresh = 1;
        st->channels[i].next_try_mono_ns = now;
    }
    lws_sul_schedule(st->ctx, 0, &st->tick, on_tick, st->tick_us);
    while (!stopping(st)) {
        size_t seeded = 0;
        int fatal;

        for (size_t i = 0; i < st->n_channels && !stopping(st); i++)
            run_channel(st, &st->channels[i]);
        conns_collect(st);
        for (size_t i = 0; i < st->n_channels; i++)
            seeded += st->channels[i].seeded;
        pthread_mutex_lock(&st->lock);
        if (seeded == st->n_channels)
            st->ready = 1;
        fatal = st->fatal != RT_OK;
        /* For stream_start() and stream_wait(): a pass is done. */
        pthread_cond_broadcast(&st->cond);
        pthread_mutex_unlock(&st->lock);
        if (fatal || stopping(st))
            break;
        if (lws_service(st->ctx, 0) < 0) {
            fail_start(st, RT_EIO, "the WebSocket service loop failed");
            break;
        }
    }
    lws_sul_cancel(&st->tick);
    pthread_mutex_lock(&st->lock);
    st->finished = 1;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Plan                                                                */

/* The subscription body of a channel's agents. */
static void plan_topics(struct stream *st, struct channel *ch)
{
    cJSON *arr = cJSON_CreateArray();
    char topic[STREAM_TOPIC_MAX + 64];

    for (size_t k = 0; k < ch->n_agents; k++) {
        const char *id = st->h->agent_ids[ch->agents[k]];
        cJSON *t;

        if ((size_t)snprintf(topic, sizeof(topic), "v2.users.%s%s", id,
                             TOPIC_SUFFIX) <= STREAM_TOPIC_MAX) {
            t = cJSON_CreateObject();
            cJSON_AddStringToObject(t, "id", topic);
            cJSON_AddItemToArray(arr, t);
        } else {
            /* Too long to combine: the two topics on their own. */
            static const char *const what[] = {"presence", "routingStatus"};

            for (size_t w = 0; w < 2; w++) {
                struct buf b;

                buf_init(&b, SUBSCRIBE_BODY_MAX);
                (void)buf_printf(&b, "v2.users.%s.%s", id, what[w]);
                t = cJSON_CreateObject();
                cJSON_AddStringToObject(t, "id", buf_str(&b));
                cJSON_AddItemToArray(arr, t);
                buf_release(&b);
            }
        }
        ch->topics += TOPICS_PER_AGENT;
    }
    ch->subscribe_body = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    if (!ch->subscribe_body)
        ch->subscribe_body = xstrdup("[]");
}

/* Spread the agents over as few channels as hold them, evenly (600 agents
 * make two channels of 300, not 500 and 100). */
static enum rt_err plan(struct stream *st)
{
    size_t n = st->n, per, first = 0;
    size_t want = (n + AGENTS_PER_CHANNEL - 1) / AGENTS_PER_CHANNEL;

    if (want > STREAM_CHANNELS_MAX)
        return rt_fail(RT_ERANGE,
                       "notifications: %zu agents need %zu channels of %d "
                       "agents (%d topics each), more than the %d a client "
                       "may hold; observe fewer agents or poll presence",
                       n, want, AGENTS_PER_CHANNEL, STREAM_TOPICS_PER_CHANNEL,
                       STREAM_CHANNELS_MAX);
    st->channels = xcalloc(want ? want : 1, sizeof(*st->channels));
    st->n_channels = want;
    per = want ? (n + want - 1) / want : 0;
    for (size_t i = 0; i < want; i++) {
        struct channel *ch = &st->channels[i];
        size_t take = per < n - first ? per : n - first;

        ch->index = i;
        ch->agents = xcalloc(take ? take : 1, sizeof(*ch->agents));
        for (size_t k = 0; k < take; k++)
            ch->agents[k] = first + k;
        ch->n_agents = take;
        first += take;
        plan_topics(st, ch);
        count(&st->c.topics, ch->topics);
    }
    count(&st->c.channels, (int64_t)want);
    return RT_OK;
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */

static enum rt_err make_context(struct stream *st)
{
    struct lws_context_creation_info info;
    const char *ca_env;

    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    /* A few sockets per channel (live, pending, closing) and lws's own. */
    info.fd_limit_per_thread = 16 + 4 * STREAM_CHANNELS_MAX;
    info.timeout_secs = 20;
    info.connect_timeout_secs = 10;
    info.user = st;
    /* The system CA store, as OpenSSL names it (SSL_CERT_FILE wins):
     * without a file lws would look in a directory of its own build. */
    ca_env = getenv(X509_get_default_cert_file_env());
    info.client_ssl_ca_filepath =
        ca_env && *ca_env ? ca_env : X509_get_default_cert_file();
    quiet_lws();
    st->ctx = lws_create_context(&info);
    if (!st->ctx)
        return rt_fail(RT_EIO, "notifications: cannot create the WebSocket "
                               "client context");
    return RT_OK;
}

static void stream_free(struct stream *self)
{
    struct conn *c, *next;

    if (!self)
        return;
    if (self->ctx) {
        /* Made, but the thread never started. */
        lws_context_destroy(self->ctx);
        self->ctx = NULL;
    }
    for (c = self->conns; c; c = next) {
        next = c->next;
        buf_release(&c->msg);
        free(c);
    }
    for (size_t i = 0; i < self->n_channels; i++) {
        free(self->channels[i].agents);
        free(self->channels[i].subscribe_body);
    }
    free(self->channels);
    tracker_free(self->tracker);
    session_free(self->session);
    free(self->members);
    free(self->seen);
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    free(self);
}

/* Wait for the thread to be ready or finished, until @deadline. */
static enum rt_err wait_ready(struct stream *st, int64_t deadline_mono_ns)
{
    struct timespec ts = clock_mono_timespec(deadline_mono_ns);
    enum rt_err err = RT_OK;

    pthread_mutex_lock(&st->lock);
    while (!st->ready && !st->finished && clock_mono_ns() < deadline_mono_ns)
        pthread_cond_timedwait(&st->cond, &st->lock, &ts);
    if (st->fatal)
        err = st->fatal;
    else if (!st->ready && atomic_load(&st->h->stop))
        err = RT_EINTR;
    else if (!st->ready)
        err = RT_ETIMEOUT;
    pthread_mutex_unlock(&st->lock);
    return err;
}

static void log_not_ready(struct stream *st)
{
    /* The thread has been joined: its state is ours to read. */
    for (size_t i = 0; i < st->n_channels; i++) {
        const struct channel *ch = &st->channels[i];

        if (!ch->seeded)
            log_error("notifications: channel %zu (%zu agents) did not "
                      "open within %lld s%s%s",
                      ch->index + 1, ch->n_agents,
                      (long long)(START_TIMEOUT_NS / NS_PER_S),
                      ch->last_error[0] ? ": " : "", ch->last_error);
    }
}

enum rt_err stream_start(struct stream **out, struct harness *h)
{
    struct stream *self;
    pthread_condattr_t attr;
    enum rt_err err;
    int rc;

    *out = NULL;
    if (!h->scn)
        return rt_fail(RT_EINVAL, "notifications: the stream needs a scenario");
    self = xcalloc(1, sizeof(*self));
    self->h = h;
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cond, &attr);
    pthread_condattr_destroy(&attr);
    atomic_init(&self->quit, false);
    self->silence_ns = h->scn->observe.presence_silence_ns;
    if (self->silence_ns <= 0)
        self->silence_ns = 75 * NS_PER_S;
    self->ping_after_ns = self->silence_ns / 2;
    self->tick_us = self->silence_ns / 20 / NS_PER_US;
    if (self->tick_us < 10000)
        self->tick_us = 10000;
    if (self->tick_us > 50000)
        self->tick_us = 50000;
    self->n = h->n_agents;
    self->members = xcalloc(self->n ? self->n : 1, sizeof(*self->members));
    for (size_t i = 0; i < self->n; i++) {
        self->members[i].id = h->agent_ids[i];
        self->members[i].agent = i;
    }
    qsort(self->members, self->n, sizeof(*self->members), member_cmp);
    for (size_t i = 1; i < self->n; i++)
        if (!strcasecmp(self->members[i - 1].id, self->members[i].id)) {
            err = rt_fail(RT_EINVAL, "agent '%s' is listed twice",
                          self->members[i].id);
            goto fail;
        }
    self->seen = xcalloc(self->n ? self->n : 1, sizeof(*self->seen));
    self->tracker = tracker_new(h->agent_ids, self->n, h->history, "stream");
    if ((err = plan(self)))
        goto fail;
    if (self->n_channels == 0) {
        h->presence_streamed = 1;
        *out = self; /* nothing to follow: an idle stream */
        return RT_OK;
    }
    if ((err = session_new(&self->session, h, "stream")) ||
        (err = make_context(self)))
        goto fail;
    if ((rc = pthread_create(&self->thread, NULL, stream_main, self))) {
        err = rt_fail(RT_ESYS, "cannot start the notifications thread: %s",
                      strerror(rc));
        goto fail;
    }
    self->started = 1;
    if ((err = wait_ready(self, clock_mono_ns() + START_TIMEOUT_NS))) {
        stream_join(self);
        if (err == RT_ETIMEOUT)
            log_not_ready(self);
        goto fail;
    }
    log_debug("notifications: %zu agents on %zu channels", self->n,
              self->n_channels);
    /* From now on the stream sees every change: the observers need only
     * the versions. */
    h->presence_streamed = 1;
    *out = self;
    return RT_OK;

fail:
    stream_stop(self);
    return err;
}

void stream_join(struct stream *self)
{
    if (!self || !self->started || self->joined)
        return;
    atomic_store(&self->quit, true);
    lws_cancel_service(self->ctx);
    pthread_join(self->thread, NULL);
    self->joined = 1;
    /* The thread is gone, so lws is ours: close every socket.  The
     * callbacks this makes only mark conns ended. */
    lws_context_destroy(self->ctx);
    self->ctx = NULL;
}

void stream_stop(struct stream *self)
{
    if (!self)
        return;
    stream_join(self);
    stream_free(self);
}

void stream_stats(struct stream *self, struct stream_stats *out)
{
    struct tracker_stats ts;

    memset(out, 0, sizeof(*out));
    if (!self)
        return;
#define COPY_COUNTER(name) out->name = atomic_load(&self->c.name);
    STREAM_COUNTERS(COPY_COUNTER)
#undef COPY_COUNTER
    tracker_stats(self->tracker, &ts);
    out->presence_changes = ts.presence_changes;
    out->routing_changes = ts.routing_changes;
}

int stream_wait(struct stream *self, stream_done_fn done, void *ctx,
                int64_t timeout_ns)
{
    int64_t deadline = clock_mono_ns() + timeout_ns;
    struct timespec ts = clock_mono_timespec(deadline);
    struct stream_stats st;
    int ok = 0, finished;

    if (!self)
        return 0;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        finished = self->finished || !self->started;
        /* The counters are atomics: reading them under the lock only
         * orders the check with the thread's broadcast. */
        stream_stats(self, &st);
        if ((ok = done(&st, ctx)) || finished || clock_mono_ns() >= deadline)
            break;
        pthread_cond_timedwait(&self->cond, &self->lock, &ts);
    }
    pthread_mutex_unlock(&self->lock);
    return ok;
}

cJSON *stream_stats_json(struct stream *self)
{
    struct stream_stats st;
    cJSON *o;

    if (!self)
        return NULL;
    stream_stats(self, &st);
    o = cJSON_CreateObject();
#define ADD_COUNTER(name) cJSON_AddNumberToObject(o, #name, (double)st.name);
    STREAM_COUNTERS(ADD_COUNTER)
#undef ADD_COUNTER
    cJSON_AddNumberToObject(o, "presence_changes", (double)st.presence_changes);
    cJSON_AddNumberToObject(o, "routing_changes", (double)st.routing_changes);
    return o;
}
