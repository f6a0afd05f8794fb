/*
 * One shared request limiter for every thread that talks to a target.
 * Requests are spaced by a token bucket (GCRA form: one "theoretical
 * arrival time" instead of a token count, so the arithmetic is exact
 * integer nanoseconds) of @per_minute with a burst of @burst, and a 429's
 * Retry-After backs every thread off until a common deadline.
 *
 * The core, ratelimit_try_acquire(), takes the time as an argument so tests
 * drive it with a fake clock; ratelimit_acquire() wraps it with a
 * CLOCK_MONOTONIC condition-variable wait (no busy waiting).
 * All functions are thread-safe.
 */
#ifndef RT_API_RATELIMIT_H
#define RT_API_RATELIMIT_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/err.h"

struct ratelimit;

struct ratelimit_stats {
    uint64_t acquired;             /* permits handed out */
    uint64_t waited;               /* acquires that had to wait at least once */
    int64_t wait_ns;               /* total time spent waiting in acquire */
    uint64_t backoffs;             /* ratelimit_backoff() calls that extended */
    int64_t backoff_until_mono_ns; /* current backoff deadline, 0 if none */
    int waiting;                   /* threads blocked in acquire right now */
};

/*
 * New limiter (caller frees with ratelimit_free()): @per_minute requests a
 * minute, 0 for unlimited (backoffs still apply); @burst requests may go
 * back to back after an idle spell (values below 1 mean 1).
 */
struct ratelimit *ratelimit_new(int64_t per_minute, int64_t burst);
void ratelimit_free(struct ratelimit *self); /* NULL-safe */

/*
 * Try to take one permit at @now_mono_ns.  Returns 1 and takes it, or
 * returns 0 and sets *wait_ns to how long until one may be available (> 0).
 * Thread-safe.
 */
int ratelimit_try_acquire(struct ratelimit *self, int64_t now_mono_ns,
                          int64_t *wait_ns);

/*
 * Block until a permit is taken (RT_OK), or the limiter is stopped or
 * *@stop becomes true (RT_EINTR).  @stop may be NULL; when given (a flag
 * set from a signal handler, say) waits are cut into slices of at most
 * 100 ms so it is seen promptly.  Thread-safe.
 */
enum rt_err ratelimit_acquire(struct ratelimit *self, const atomic_bool *stop);

/* Back every thread off until @until_mono_ns (a later deadline wins; an
 * earlier one is ignored).  Thread-safe. */
void ratelimit_backoff(struct ratelimit *self, int64_t until_mono_ns);

/* Wake every waiter and make every later acquire fail with RT_EINTR.
 * Thread-safe. */
void ratelimit_stop(struct ratelimit *self);

void ratelimit_get_stats(struct ratelimit *self, struct ratelimit_stats *out);

#endif
