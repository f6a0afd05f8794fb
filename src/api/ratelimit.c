/*
 * Shared limiter.  GCRA: @tat is the time the bucket would be empty again;
 * a request at @now is allowed when now >= tat - tolerance, where tolerance
 * is (burst - 1) intervals, and then pushes tat one interval further.  The
 * interval is rounded up so rounding never lets more than @per_minute
 * through.  A backoff deadline overrides everything until it passes.
 */
#include "api/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"

#define SLICE_NS (100 * NS_PER_MS)

struct ratelimit {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int64_t interval_ns;  /* 0 = unlimited */
    int64_t tolerance_ns; /* (burst - 1) * interval */
    int64_t tat_mono_ns;
    int64_t backoff_until_mono_ns;
    int stopped;
    struct ratelimit_stats stats;
};

struct ratelimit *ratelimit_new(int64_t per_minute, int64_t burst)
{
    struct ratelimit *self = xcalloc(1, sizeof(*self));
    pthread_condattr_t attr;
    int rc;

    if (burst < 1)
        burst = 1;
    if (per_minute > 0) {
        self->interval_ns = (60 * NS_PER_S + per_minute - 1) / per_minute;
        if (burst - 1 > INT64_MAX / self->interval_ns)
            burst = INT64_MAX / self->interval_ns;
        self->tolerance_ns = (burst - 1) * self->interval_ns;
    }
    pthread_mutex_init(&self->lock, NULL);
    /* Waits are deadlines on CLOCK_MONOTONIC, immune to wall-clock steps. */
    pthread_condattr_init(&attr);
    if ((rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC))) {
        log_error("cannot use CLOCK_MONOTONIC for waits: %s", strerror(rc));
        abort();
    }
    pthread_cond_init(&self->cond, &attr);
    pthread_condattr_destroy(&attr);
    return self;
}

void ratelimit_free(struct ratelimit *self)
{
    if (!self)
        return;
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    free(self);
}

/* The core; called with the lock held. */
static int try_locked(struct ratelimit *self, int64_t now, int64_t *wait_ns)
{
    int64_t allow_at;

    if (now < self->backoff_until_mono_ns) {
        *wait_ns = self->backoff_until_mono_ns - now;
        return 0;
    }
    if (self->interval_ns) {
        allow_at = self->tat_mono_ns - self->tolerance_ns;
        if (now < allow_at) {
            *wait_ns = allow_at - now;
            return 0;
        }
        self->tat_mono_ns =
            (self->tat_mono_ns > now ? self->tat_mono_ns : now) +
            self->interval_ns;
    }
    self->stats.acquired++;
    *wait_ns = 0;
    return 1;
}

int ratelimit_try_acquire(struct ratelimit *self, int64_t now_mono_ns,
                          int64_t *wait_ns)
{
    int ok;

    pthread_mutex_lock(&self->lock);
    ok = try_locked(self, now_mono_ns, wait_ns);
    pthread_mutex_unlock(&self->lock);
    return ok;
}

enum rt_err ratelimit_acquire(struct ratelimit *self, const atomic_bool *stop)
{
    int64_t start = 0, now, wait;
    enum rt_err err;
    struct timespec ts;

    pthread_mutex_lock(&self->lock);
    for (;;) {
        if (self->stopped || (stop && atomic_load(stop))) {
            err = RT_EINTR;
            break;
        }
        now = clock_mono_ns();
        if (try_locked(self, now, &wait)) {
            err = RT_OK;
            break;
        }
        if (!start) {
            start = now;
            self->stats.waiting++;
        }
        if (stop && wait > SLICE_NS)
            wait = SLICE_NS;
        ts = clock_mono_timespec(now + wait);
        /* ETIMEDOUT and spurious wake-ups both just re-check. */
        pthread_cond_timedwait(&self->cond, &self->lock, &ts);
    }
    if (start) {
        self->stats.waiting--;
        self->stats.waited++;
        self->stats.wait_ns += clock_mono_ns() - start;
    }
    pthread_mutex_unlock(&self->lock);
    return err;
}

void ratelimit_backoff(struct ratelimit *self, int64_t until_mono_ns)
{
    pthread_mutex_lock(&self->lock);
    if (until_mono_ns > self->backoff_until_mono_ns) {
        self->backoff_until_mono_ns = until_mono_ns;
        self->stats.backoffs++;
    }
    pthread_mutex_unlock(&self->lock);
    /* Sleepers wake at their old deadline and re-check; nobody needs
     * waking early for a later deadline. */
}

void ratelimit_stop(struct ratelimit *self)
{
    pthread_mutex_lock(&self->lock);
    self->stopped = 1;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

void ratelimit_get_stats(struct ratelimit *self, struct ratelimit_stats *out)
{
    pthread_mutex_lock(&self->lock);
    *out = self->stats;
    out->backoff_until_mono_ns = self->backoff_until_mono_ns;
    pthread_mutex_unlock(&self->lock);
}
