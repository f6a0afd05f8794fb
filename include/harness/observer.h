/*
 * Observer threads: sample every agent's version, presence and routing
 * status by polling, and feed each sample to the run's change tracker
 * (DESIGN §6).
 *
 * Two modes (scenario observe.versions.mode):
 *   bulk   GET /api/v2/users?id=<ids>&pageSize=100&expand=presence,
 *          routingStatus, for chunks of at most 100 agents;
 *   agent  GET /api/v2/users/{id}?expand=presence,routingStatus per agent.
 * With observe.presence.via = "stream" the polls ask for versions only
 * (no expand: presence and routing status come from harness/stream) and
 * the tracker gets no presence or routing status from them.
 * A "target" is one chunk (bulk) or one agent (agent mode).  Targets are
 * dealt round-robin to observe.threads threads; each agent therefore
 * belongs to exactly one thread, which the tracker requires.
 *
 * Timing: each target keeps its own schedule, next = previous intended +
 * interval * (1 + jitter * U(-1,1)), so sampling cannot lock onto a
 * periodic server job; first polls are staggered evenly over the first
 * interval.  Requests carry their intended time, so requests.csv measures
 * latency from it (wrk2).  A target that falls so far behind that its
 * next poll is already due when a request ends starts a fresh schedule
 * from that moment instead of firing back to back to catch up.
 *
 * Responses that are not 2xx or do not parse are skipped and counted;
 * agents missing from a bulk answer are counted, never taken as changes.
 */
#ifndef RT_HARNESS_OBSERVER_H
#define RT_HARNESS_OBSERVER_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "harness/scenario.h"
#include "harness/session.h"

/* Agents per bulk request (the page size, so one page holds a chunk). */
#define OBSERVER_CHUNK_MAX 100

struct observers;

/* What the observers did; see observers_join_stats(). */
struct observers_stats {
    int64_t requests;    /* poll calls that reached the target */
    int64_t failed;      /* polls without a 2xx answer (token errors too) */
    int64_t unparsable;  /* 2xx bodies that were not the expected JSON */
    int64_t samples;     /* agent samples fed to the tracker */
    int64_t missing;     /* agents asked for but absent from a 2xx answer */
    int64_t foreign;     /* entities not asked for, or without an id */
    int64_t rescheduled; /* polls that fell behind and restarted from now */
};

/*
 * Start observer threads over h->agent_ids (h->scn and h->tracker must be
 * set; tracker indexes are positions in h->agent_ids).  @interval_ns is the
 * target poll interval per agent (the run may stretch
 * scn->observe.interval to fit the budget).  Agent ids must be distinct
 * (compared case-insensitively, as UUIDs are).  With no agents, no thread
 * starts.  On failure nothing is left running: if some threads had
 * started, h is stopped (harness_stop) and they are joined.  *@out is
 * freed with observers_join(); h and its agent ids are borrowed until
 * then.  Call from the run's thread.
 */
enum rt_err observers_start(struct observers **out, struct harness *h,
                            int64_t interval_ns);

/* After harness_stop(h): join the threads and free.  NULL-safe. */
void observers_join(struct observers *self);
/* The same, copying the threads' merged counters into @out first (@out
 * may be NULL; all zero when @self is NULL). */
void observers_join_stats(struct observers *self, struct observers_stats *out);

/* Counters so far, summed over threads; exact only once the threads have
 * ended (use observers_join_stats() for that).  Thread-safe. */
void observers_stats(struct observers *self, struct observers_stats *out);

/* Requests per minute the observers make at @interval_ns for @n_agents in
 * @mode (the mean: jitter does not change it).  HUGE_VAL when
 * @interval_ns <= 0 and there are agents.  Pure. */
double observers_demand_per_min(enum scn_observe_mode mode, size_t n_agents,
                                int64_t interval_ns);

/* ------------------------------------------------------------------ */
/* Response parsing, exposed for tests and the fuzz target              */

/* One user of a response.  Strings are borrowed from the parsed document
 * and valid only during the callback. */
struct observer_user {
    const char *id;
    int64_t version;            /* -1 when absent or not an integer */
    const char *presence;       /* presenceDefinition.systemPresence */
    int64_t presence_server_ns; /* presence.modifiedDate, 0 if none */
    const char *routing;        /* routingStatus.status */
    int64_t routing_server_ns;  /* routingStatus.startTime, 0 if none */
};

/* Called once per user with a string id; users without one are skipped. */
typedef void (*observer_user_fn)(void *ctx, const struct observer_user *u);

/*
 * Parse a UserEntityListing (GET /api/v2/users) from @body of @len bytes
 * (need not be NUL-terminated) and call @fn for each entity.  Expands are
 * best effort: an absent or malformed presence or routingStatus gives NULL
 * and 0, never an error.  RT_EPARSE when the body is not JSON or not an
 * object whose "entities" is an array; *@error_offset (may be NULL) then
 * gets the byte offset where cJSON stopped, or 0 for a shape error.
 * Returns the number of entities skipped (not an object, no string id)
 * through *@skipped (may be NULL).  Pure and thread-safe.
 */
enum rt_err observer_parse_listing(const char *body, size_t len,
                                   observer_user_fn fn, void *ctx,
                                   size_t *error_offset, size_t *skipped);

/* The same for one User (GET /api/v2/users/{id}): @fn is called once, or
 * not at all when the user has no string id (RT_EPARSE then). */
enum rt_err observer_parse_user(const char *body, size_t len,
                                observer_user_fn fn, void *ctx,
                                size_t *error_offset);

#endif
