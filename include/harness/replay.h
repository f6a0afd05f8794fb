/*
 * The replayer (DESIGN.md §6): the scenario's operation over every agent of
 * the run, replay.per_agent times per strategy, per round, through a pool
 * of worker threads with pacing.  Every logical operation gets an id, every
 * HTTP exchange it makes carries that id (requests.csv), and every operation
 * that started ends as one row of operations.csv.  The full semantics (rounds,
 * phases, outcomes, what "wasted" means, what a stop does) are in the comment
 * at the top of src/harness/replay.c and in notes/replay.md.
 *
 * The pure helpers below (backoff, Retry-After, value toggles, template
 * bodies) are exposed so they can be tested without a server.
 */
#ifndef RT_HARNESS_REPLAY_H
#define RT_HARNESS_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base/err.h"
#include "base/rng.h"
#include "harness/scenario.h"
#include "harness/session.h"

/* Suffix the user-patch operation toggles on the department. */
#define REPLAY_DEPARTMENT_SUFFIX " (racetrace)"
/* Wait after a 429 without Retry-After: the .NET SDK's RetryAfterDefaultMs
 * (genesys-api.md §3). */
#define REPLAY_RETRY_AFTER_DEFAULT_NS (INT64_C(3) * 1000000000)

struct replayer;

/*
 * Schedule the replay of h->scn over h->agent_ids (h->n_agents of them):
 * create the worker sessions (role "replay") and start the coordinator
 * thread, which waits for each round's time.  Sets
 * h->counters.updates_total to agents x rounds x strategies x
 * replay.per_agent.  Fails with RT_EINVAL (one line logged) when the
 * replay cannot run: no agents, an absolute replay.at already in the past,
 * the blind strategy with a versioned operation, a template without a
 * body.  @h must outlive the replayer; caller ends it with replay_join().
 * Call from one thread.
 */
enum rt_err replay_start(struct replayer **out, struct harness *h);

/*
 * Wait until every round has finished or the run stops (h->stop, after
 * which operations in flight end at once), join every thread and free.
 * NULL-safe.  Call once, from the thread that started it.
 */
void replay_join(struct replayer *self);

/* 1 once the coordinator has finished: every round ran, or the run
 * stopped.  Thread-safe. */
int replay_done(struct replayer *self);

/*
 * Requests the replay is expected to make when no write conflicts: reads
 * plus writes per operation, times agents, rounds, strategies and
 * replay.per_agent, plus one discovery read per agent when the blind
 * strategy is used.  A pure estimate for the budget check at start.
 * Thread-safe.
 */
double replay_demand_requests(const struct scenario *scn, size_t n_agents);

/*
 * The sleep before retry number @attempt (0 for the first retry), per
 * replay.retry: backoff none = 0; fixed = base; exponential =
 * min(cap, base x 2^attempt).  Jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): none = the backoff; full = U(0, b); equal =
 * b/2 + U(0, b/2); decorrelated = min(cap, U(base, 3 x @prev_ns)) with
 * @prev_ns the previous sleep (base when <= 0) whatever the backoff kind,
 * except none.  Draws from @rng (the caller's own).  Not thread-safe on
 * @rng; otherwise pure.
 */
int64_t replay_backoff_ns(const struct scn_retry *r, int attempt,
                          int64_t prev_ns, struct rng *rng);

/*
 * After a 429 received at @recv_mono_ns with Retry-After @retry_after_s
 * (-1 when absent: REPLAY_RETRY_AFTER_DEFAULT_NS), set *until_mono_ns to
 * when the next request of the operation may start and return 0; return 1
 * (give up, *until_mono_ns untouched) when the wait exceeds
 * r->give_up_retry_after_ns.  Pure and thread-safe.
 */
int replay_throttle_wait(const struct scn_retry *r, int64_t retry_after_s,
                         int64_t recv_mono_ns, int64_t *until_mono_ns);

/* The department after one user-patch: REPLAY_DEPARTMENT_SUFFIX appended,
 * or removed when present (an empty department becomes "(racetrace)" and
 * back), so two toggles give the original.  @dept NULL counts as "".
 * Caller frees.  Thread-safe. */
char *replay_toggle_department(const char *dept);
/* maximumCapacity after one utilization-put: 1<->2, 3<->4, ... (odd goes
 * up, even goes down), 0 -> 1.  Thread-safe. */
int64_t replay_toggle_capacity(int64_t capacity);
/* Proficiency after one skills-bulk-patch: +1 when its whole part is even,
 * -1 when odd (0<->1, 2<->3, 4<->5), kept within 0..5; an involution on
 * whole numbers.  Thread-safe. */
double replay_toggle_proficiency(double proficiency);

/*
 * A deep copy of template body @tmpl in which every string value exactly
 * "{version}" becomes the number @version (a raw item, printed exactly) and
 * every string exactly "{id}" becomes @id (other strings, keys and values are
 * copied as they are). Caller frees with cJSON_Delete.  Thread-safe.
 */
cJSON *replay_template_body(const cJSON *tmpl, int64_t version, const char *id);

#endif
