/*
 * The notifications stream as an observer of presence and routing status
 * (scenario observe.presence.via = "stream", genesys-api.md §4, DESIGN §6).
 *
 * Every agent of the run is subscribed through one combined topic,
 * "v2.users.<id>?presence&routingStatus", which counts as two topics
 * against the limit of STREAM_TOPICS_PER_CHANNEL per channel, so a channel
 * holds 500 agents and a run at most STREAM_CHANNELS_MAX channels.
 * Channels are created and subscribed over REST through a session of role
 * "stream" (accounted, rate-limited, recorded in requests.csv like every
 * other call).  One thread runs the libwebsockets service loop for every
 * channel's socket and turns each presence or routingStatus event into a
 * sample of the stream's own tracker (source "stream"), with the server's
 * time (presence modifiedDate, routingStatus startTime) and the arrival
 * time of the frame as both send and receive time.
 *
 * Liveness: any frame is life; after silence/2 without one the client
 * sends {"message":"ping"}; after observe.presence.silence without one the
 * socket is declared silent, closed and replaced.  A new socket sends a
 * ping at once and is used only once a frame (its pong, at the latest)
 * proves the server delivers to it: a server may attach a socket to its
 * channel only after answering the handshake.  On v2.system.
 * socket_closing a new channel is made, subscribed and connected before
 * the old socket is closed (make-before-break), unless the client already
 * holds STREAM_CHANNELS_MAX channels, when a 21st would evict one of its
 * own.  A dropped socket is reconnected to the same connectUri first, then
 * to a new channel, with jittered exponential backoff (100 ms to 5 s).
 *
 * Gaps: from losing a socket (the drop, or the last frame of a silent
 * socket) to its replacement delivering its first frame.  After every gap one
 * bulk REST read (GET /api/v2/users?id=...&expand=presence,routingStatus) of
 * the channel's agents re-seeds the tracker, so a change made during the gap is
 * still recorded, bracketed by the gap; such changes are counted as "may have
 * missed" (the transitions between them are lost).  The same read seeds the
 * tracker when a channel first opens.
 *
 * Ordering: events and reads are applied per property in server-time
 * order; an older value (a read that crossed an event) or an event already
 * applied (the overlap of make-before-break delivers it twice) is dropped,
 * so the overlap never records a change twice or backwards.
 *
 * TLS: wss:// is verified against the system CA store, peer and host name,
 * always.  ws:// is accepted only for loopback hosts (the simulator).
 */
#ifndef RT_HARNESS_STREAM_H
#define RT_HARNESS_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base/err.h"
#include "harness/session.h"

#define STREAM_TOPICS_PER_CHANNEL 1000 /* expanded topics, as documented */
#define STREAM_CHANNELS_MAX 20         /* per OAuth client and app */
#define STREAM_TOPIC_MAX 200           /* characters of a combined topic */
#define STREAM_AGENT_ID_MAX 128        /* longest user id taken from a topic */
#define STREAM_VALUE_MAX 48            /* longest presence or status kept */

struct stream;

/* What the stream did; see stream_stats(). */
struct stream_stats {
    int64_t channels;         /* channels the agents are spread over */
    int64_t channels_created; /* POST .../channels answered 2xx */
    int64_t topics;           /* expanded topics subscribed */
    int64_t topics_rejected;  /* topics the server answered Rejected */
    int64_t events;           /* presence and routing events applied */
    int64_t stale;            /* events already applied, or older */
    int64_t unknown_agent;    /* events for agents not in the run */
    int64_t other;            /* well-formed messages of other topics */
    int64_t malformed;        /* frames that did not parse */
    int64_t heartbeats;
    int64_t pings; /* {"message":"ping"} sent */
    int64_t pongs;
    int64_t socket_closing; /* v2.system.socket_closing warnings */
    int64_t drops;          /* sockets lost without our asking */
    int64_t silences;       /* sockets declared silent and closed */
    int64_t reconnects;     /* replacement sockets opened */
    int64_t connect_failures;
    int64_t gaps;
    int64_t gap_total_ns;
    int64_t gap_max_ns;
    int64_t rereads;         /* reads of a channel's agents done (after
                                a first open or a gap) */
    int64_t reread_failures; /* reads without a usable answer */
    int64_t reread_changes;  /* changes found by reads after gaps */
    int64_t rest_failures;   /* channel or subscription calls that failed */
    int64_t presence_changes;
    int64_t routing_changes;
};

/*
 * Subscribe every agent of @h (h->agent_ids, distinct; h->scn and
 * h->history set; h->tracker is not used: the stream has a tracker of its
 * own over the same indexes) and start the stream thread.  Returns once
 * every channel's socket is open and its agents have been read once, so
 * observations made after it are complete.  Errors, each logged with its
 * cause: RT_ERANGE when the agents need more than STREAM_CHANNELS_MAX
 * channels; RT_EAUTH when creating or subscribing a channel is refused
 * (401/403); RT_EINVAL for a connectUri that is not wss:// (or ws:// on a
 * loopback host); RT_EHTTP when a channel's socket fails to open five
 * times in a row (a refused certificate, say); RT_ETIMEOUT when the
 * sockets are not open and read within 30 s;
 * RT_EINTR when h stops meanwhile; the session's errors otherwise.  On
 * failure nothing is left running.  On success h->presence_streamed is
 * set, so the observers poll versions only.  @h is borrowed until
 * stream_stop().
 * Call from the run's thread, after the agents and the run's tracker
 * exist and before the observers start.
 */
enum rt_err stream_start(struct stream **out, struct harness *h);

/* After harness_stop(h): close the sockets and join the thread; every
 * observation is written by then.  Idempotent, NULL-safe.  Call from the
 * thread that called stream_start(). */
void stream_join(struct stream *self);
/* stream_join(), then free.  NULL-safe. */
void stream_stop(struct stream *self);

/* Counters so far; exact once stream_join() has returned.  Thread-safe.
 * All zero when @self is NULL. */
void stream_stats(struct stream *self, struct stream_stats *out);
/* The same as a JSON object for run.json (caller frees); NULL when @self
 * is NULL.  Thread-safe. */
cJSON *stream_stats_json(struct stream *self);

/* A condition on the counters, for stream_wait(). */
typedef int (*stream_done_fn)(const struct stream_stats *stats, void *ctx);

/* Block until @done returns nonzero, the stream thread has ended, or
 * @timeout_ns passes; returns 1 when done.  @done runs on the calling
 * thread after every pass of the stream's loop (each frame, timer tick
 * or REST call ends one).  For tests and tools that must act on the
 * stream's progress without sleeping.  Thread-safe. */
int stream_wait(struct stream *self, stream_done_fn done, void *ctx,
                int64_t timeout_ns);

/* ------------------------------------------------------------------ */
/* Frame parsing, exposed for tests and the fuzz target                 */

enum stream_frame_kind {
    STREAM_FRAME_PRESENCE,  /* v2.users.{id}.presence */
    STREAM_FRAME_ROUTING,   /* v2.users.{id}.routingStatus */
    STREAM_FRAME_ACTIVITY,  /* v2.users.{id}.activity: both */
    STREAM_FRAME_HEARTBEAT, /* channel.metadata "WebSocket Heartbeat" */
    STREAM_FRAME_PONG,      /* channel.metadata "pong" */
    STREAM_FRAME_CLOSING,   /* v2.system.socket_closing */
    STREAM_FRAME_OTHER,     /* any other well-formed message */
    STREAM_FRAME_MALFORMED,
};

/* One parsed frame.  Strings are copies, NUL-terminated and cut to fit;
 * empty when the kind does not carry them. */
struct stream_frame {
    enum stream_frame_kind kind;
    char agent[STREAM_AGENT_ID_MAX]; /* user id from the topic */
    char presence[STREAM_VALUE_MAX]; /* systemPresence, REST spelling */
    int64_t presence_server_ns;      /* modifiedDate, 0 if none */
    char routing[STREAM_VALUE_MAX];  /* routingStatus.status */
    int64_t routing_server_ns;       /* startTime, 0 if none */
};

/*
 * Parse one WebSocket message of @len bytes (need not be NUL-terminated)
 * into @out.  RT_OK for every well-formed message (kind says which);
 * RT_EPARSE, kind STREAM_FRAME_MALFORMED, for anything else: not JSON, no
 * topicName, a user topic without a user id, a presence event without
 * a presenceDefinition.systemPresence, a routingStatus event without a
 * routingStatus.status (empty strings count as none), an activity event
 * with neither.  A server time
 * that does not parse is 0, not an error.  Presence names are spelled as
 * REST spells them ("On Queue", not "ON_QUEUE" or "OnQueue": compared
 * ignoring case, spaces and underscores); unknown ones are kept as sent.
 * Pure and thread-safe.
 */
enum rt_err stream_parse_frame(const char *data, size_t len,
                               struct stream_frame *out);

/* The REST spelling of system presence @in ("ON_QUEUE" -> "On Queue"), or
 * @in itself when it is not a known system presence.  Pure. */
const char *stream_presence_name(const char *in);

#endif
