/*
 * The simulator's notification hub (genesys-api.md §4): channels per OAuth
 * client, their topic subscriptions, and a WebSocket server
 * (libwebsockets, 127.0.0.1, kernel-chosen port) that pushes
 * v2.users.{id}.presence, .routingStatus and .activity events in the real
 * envelope, the channel.metadata heartbeat, answers to {"message":"ping"},
 * and the faults of world.notifications (socket_closing warnings, dropped
 * and silent sockets).
 *
 * Limits as documented: 20 channels per client (a 21st evicts the channel
 * used least recently, unconnected ones first), 1,000 topics per channel
 * (beyond it: RT_ERANGE, a 400 for the caller), one WebSocket per channel
 * (a second connection kicks the first), channels expire 24 h after their
 * creation or last subscription change.
 *
 * Threads: one lws service thread owns every socket; org changes arrive
 * through an org hook on whatever thread made them and are queued per
 * connection under the hub's lock, then handed to the service thread with
 * lws_cancel_service().  A connection whose queue passes
 * SIM_NOTIFY_QUEUE_MAX messages is dropped as a slow consumer.
 *
 * Lifecycle: sim_notify_new (installs the org hook, so call it before any
 * other thread touches the org) → sim_notify_start (server and thread) →
 * sim_notify_stop (closes every socket, joins the thread; events after it
 * are dropped) → sim_notify_free (removes the hook, so call it after every
 * other thread stopped touching the org).  The channel and subscription
 * functions and sim_notify_stats are thread-safe.
 */
#ifndef RT_SIM_NOTIFY_H
#define RT_SIM_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base/err.h"
#include "sim/config.h"
#include "sim/org.h"

#define SIM_NOTIFY_CHANNELS_MAX 20   /* per OAuth client */
#define SIM_NOTIFY_TOPICS_MAX 1000   /* expanded topics per channel */
#define SIM_NOTIFY_QUEUE_MAX 10000   /* queued messages per socket */
#define SIM_NOTIFY_COMBINED_MAX 200  /* characters of a combined topic */
#define SIM_NOTIFY_CHANNEL_ID_LEN 39 /* "streaming-0-" + 26 + NUL */

struct sim_notify;

/* Counters since sim_notify_new; read with relaxed atomics. */
struct sim_notify_stats {
    uint64_t channels_created;
    uint64_t channels_evicted; /* by the 20-channel limit */
    uint64_t connections;      /* WebSockets accepted */
    uint64_t refused;          /* handshakes for unknown channels */
    uint64_t events;           /* topic events written to sockets */
    uint64_t heartbeats;       /* channel.metadata heartbeats written */
    uint64_t pongs;
    uint64_t kicks;          /* sockets closed by a second connection */
    uint64_t overflows;      /* sockets dropped as slow consumers */
    uint64_t faults_closing; /* socket_closing warnings sent */
    uint64_t faults_drop;    /* sockets cut by drop_at */
    uint64_t faults_silent;  /* sockets silenced by silent_at */
};

/*
 * New hub for @cfg (borrowed, read-only) and @org (borrowed): installs the
 * transition hook and opens "<cfg->log_dir>/stream.csv" (one row per
 * socket event) when a log directory is set.  Fault times count from this
 * call.  Not thread-safe (see the lifecycle above).
 */
enum rt_err sim_notify_new(struct sim_notify **out,
                           const struct sim_config *cfg, struct sim_org *org);
/* Start the WebSocket server and its service thread.  Not thread-safe. */
enum rt_err sim_notify_start(struct sim_notify *self);
/* The WebSocket server's port (0 before sim_notify_start).  Thread-safe. */
uint16_t sim_notify_port(const struct sim_notify *self);
/* Close every socket, stop and join the service thread.  Idempotent,
 * NULL-safe.  Not thread-safe. */
void sim_notify_stop(struct sim_notify *self);
/* Stop if needed, remove the org hook, close stream.csv, free.
 * NULL-safe.  Not thread-safe. */
void sim_notify_free(struct sim_notify *self);

/* POST /api/v2/notifications/channels: a new Channel {id, connectUri,
 * expires} owned by @client_id (caller frees).  Thread-safe. */
cJSON *sim_notify_channel_create(struct sim_notify *self,
                                 const char *client_id);
/* ChannelEntityListing {entities:[Channel]} of @client_id's channels
 * (caller frees).  Thread-safe. */
cJSON *sim_notify_channel_list(struct sim_notify *self, const char *client_id);
/* 1 when @channel_id exists and belongs to @client_id, else 0.
 * Thread-safe. */
int sim_notify_channel_exists(struct sim_notify *self, const char *client_id,
                              const char *channel_id);

enum sim_notify_sub_op {
    SIM_NOTIFY_SUB_ADD,     /* POST: add to the list */
    SIM_NOTIFY_SUB_REPLACE, /* PUT: replace the list */
};

/*
 * Subscribe channel @channel_id of @client_id to @topics (@n strings,
 * borrowed; combined topics "v2.users.<id>?presence&routingStatus" are
 * expanded).  On RT_OK *out is the ChannelTopicEntityListing of the
 * channel's topics after the change (state Permitted) followed by the
 * topics rejected in this request (state Rejected, rejectionReason,
 * missingPermissions), caller frees.  RT_ENOENT: no such channel for this
 * client; RT_ERANGE: the channel would hold more than
 * SIM_NOTIFY_TOPICS_MAX topics (nothing changed).  Thread-safe.
 */
enum rt_err sim_notify_subscribe(struct sim_notify *self, const char *client_id,
                                 const char *channel_id,
                                 const char *const *topics, size_t n,
                                 enum sim_notify_sub_op op, cJSON **out);
/* The channel's ChannelTopicEntityListing (caller frees); RT_ENOENT when
 * there is no such channel for this client.  Thread-safe. */
enum rt_err sim_notify_subscriptions(struct sim_notify *self,
                                     const char *client_id,
                                     const char *channel_id, cJSON **out);
/* Remove every subscription; RT_ENOENT as above.  Thread-safe. */
enum rt_err sim_notify_unsubscribe_all(struct sim_notify *self,
                                       const char *client_id,
                                       const char *channel_id);

/* A snapshot of the counters.  Thread-safe. */
void sim_notify_stats(struct sim_notify *self, struct sim_notify_stats *out);
/*
 * Block until at least @n faults (socket_closing + drop + silent, counted
 * per socket) have been applied, or @timeout_ns passes; 1 when they have,
 * 0 on timeout.  For tests that must act after a scheduled fault without
 * sleeping.  Thread-safe.
 */
int sim_notify_wait_faults(struct sim_notify *self, uint64_t n,
                           int64_t timeout_ns);

#endif
