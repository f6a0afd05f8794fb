/* Periodic thread (see include/base/ticker.h). */
#include "base/ticker.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"

struct ticker {
    int64_t period_ns;
    ticker_fn fn;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stopping;
};

static void *ticker_main(void *arg)
{
    struct ticker *self = arg;

    pthread_mutex_lock(&self->lock);
    while (!self->stopping) {
        struct timespec ts =
            clock_mono_timespec(clock_mono_ns() + self->period_ns);
        pthread_cond_timedwait(&self->cond, &self->lock, &ts);
        if (self->stopping)
            break;
        pthread_mutex_unlock(&self->lock);
        self->fn(self->ctx);
        pthread_mutex_lock(&self->lock);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

enum rt_err ticker_start(struct ticker **out, int64_t period_ns, ticker_fn fn,
                         void *ctx)
{
    struct ticker *self = xcalloc(1, sizeof(*self));
    pthread_condattr_t attr;
    int rc;

    self->period_ns = period_ns;
    self->fn = fn;
    self->ctx = ctx;
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cond, &attr);
    pthread_condattr_destroy(&attr);
    if ((rc = pthread_create(&self->thread, NULL, ticker_main, self))) {
        pthread_cond_destroy(&self->cond);
        pthread_mutex_destroy(&self->lock);
        free(self);
        return rt_fail(RT_ESYS, "cannot start a thread: %s", strerror(rc));
    }
    *out = self;
    return RT_OK;
}

void ticker_stop(struct ticker *self)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->stopping = 1;
    pthread_cond_signal(&self->cond);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    free(self);
}
