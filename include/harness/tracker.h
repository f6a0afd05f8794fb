/*
 * Change detection for observed agents.  Each sample of an agent (version,
 * presence, routing status, with the request's send and receive times) is
 * compared with the last one; every change becomes an observation with its
 * bracket [last time the old value was seen, first time the new one was
 * seen] and, for a version that moved by more than one, the number of
 * hidden bumps between.
 *
 * Brackets are conservative: the old value was read by the server no
 * earlier than the send time of the last request that saw it, and the new
 * value no later than the receive time of the first request that saw it.
 *
 * Not thread-safe per agent: each agent must be sampled by one thread at a
 * time (observers partition agents).  Different agents may be sampled from
 * different threads concurrently.
 */
#ifndef RT_HARNESS_TRACKER_H
#define RT_HARNESS_TRACKER_H

#include <stddef.h>
#include <stdint.h>

#include "harness/history.h"

struct tracker;

struct tracker_sample {
    int64_t version;            /* -1 when the payload had none */
    const char *presence;       /* systemPresence, or NULL */
    int64_t presence_server_ns; /* modifiedDate, 0 if none */
    const char *routing;        /* routing status, or NULL */
    int64_t routing_server_ns;  /* startTime, 0 if none */
    int64_t send_wall_ns;
    int64_t recv_wall_ns;
    int64_t request_seq;
};

/* Counters over all agents, for progress and run.json. */
struct tracker_stats {
    int64_t samples;
    int64_t version_changes;
    int64_t hidden_bumps;
    int64_t presence_changes;
    int64_t routing_changes;
};

/* Track @n agents; @ids are copied.  Observations go to @history (borrowed,
 * may be NULL in tests). */
struct tracker *tracker_new(char *const *ids, size_t n, struct history *history,
                            const char *source);
void tracker_free(struct tracker *self); /* NULL-safe */

/* Record one sample of agent @i; writes 0 to 3 observation rows. */
void tracker_sample(struct tracker *self, size_t i,
                    const struct tracker_sample *s);

/* Totals so far (approximate while threads sample).  Thread-safe. */
void tracker_stats(struct tracker *self, struct tracker_stats *out);

/* Last known version of agent @i, -1 before the first sample. */
int64_t tracker_version(struct tracker *self, size_t i);

#endif
