/*
 * Progress line.  Drawn with "\r" and erased with "\r\033[K"; written in
 * one fputs so it never tears against log lines (which the log module also
 * writes whole).
 */
#include "harness/progress.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"

#define PROGRESS_PERIOD_NS (250 * NS_PER_MS)

void run_counters_status(struct run_counters *c, int status)
{
    atomic_fetch_add(&c->requests, 1);
    if (status >= 200 && status < 300)
        atomic_fetch_add(&c->s2xx, 1);
    else if (status == 409)
        atomic_fetch_add(&c->s409, 1);
    else if (status == 429)
        atomic_fetch_add(&c->s429, 1);
    else if (status >= 500)
        atomic_fetch_add(&c->s5xx, 1);
    else
        atomic_fetch_add(&c->other, 1);
}

void run_counters_outcome(struct run_counters *c, const char *outcome)
{
    if (!strcmp(outcome, "ok"))
        atomic_fetch_add(&c->ops_ok, 1);
    else if (!strcmp(outcome, "conflict"))
        atomic_fetch_add(&c->ops_conflict, 1);
    else if (!strcmp(outcome, "gave_up"))
        atomic_fetch_add(&c->ops_gave_up, 1);
    else if (!strcmp(outcome, "unknown"))
        atomic_fetch_add(&c->ops_unknown, 1);
    else
        atomic_fetch_add(&c->ops_error, 1);
    atomic_fetch_add(&c->updates_done, 1);
}

void progress_format(struct run_counters *c, int64_t elapsed_ns,
                     int64_t total_ns, char *out, size_t out_len)
{
    struct run_counters *m = c;
    double secs = (double)elapsed_ns / 1e9;
    int64_t req = atomic_load(&m->requests);

    snprintf(out, out_len,
             "[%6.1fs/%.0fs] %6.1f req/s  2xx %lld  409 %lld  429 %lld  "
             "5xx %lld  bumps %lld  updates %lld/%lld",
             secs, (double)total_ns / 1e9, secs > 0 ? (double)req / secs : 0.0,
             (long long)atomic_load(&m->s2xx), (long long)atomic_load(&m->s409),
             (long long)atomic_load(&m->s429), (long long)atomic_load(&m->s5xx),
             (long long)atomic_load(&m->bumps),
             (long long)atomic_load(&m->updates_done),
             (long long)atomic_load(&m->updates_total));
}

struct progress {
    struct run_counters *c;
    int64_t start_mono_ns, total_ns;
    int active;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stopping;
};

static void *progress_main(void *arg)
{
    struct progress *self = arg;
    char line[256], out[300];

    pthread_mutex_lock(&self->lock);
    while (!self->stopping) {
        struct timespec ts =
            clock_mono_timespec(clock_mono_ns() + PROGRESS_PERIOD_NS);
        pthread_mutex_unlock(&self->lock);
        progress_format(self->c, clock_mono_ns() - self->start_mono_ns,
                        self->total_ns, line, sizeof(line));
        snprintf(out, sizeof(out), "\r%s\033[K", line);
        fputs(out, stderr);
        fflush(stderr);
        pthread_mutex_lock(&self->lock);
        if (!self->stopping)
            pthread_cond_timedwait(&self->cond, &self->lock, &ts);
    }
    pthread_mutex_unlock(&self->lock);
    fputs("\r\033[K", stderr);
    fflush(stderr);
    return NULL;
}

enum rt_err progress_start(struct progress **out, struct run_counters *c,
                           int64_t start_mono_ns, int64_t total_ns, int enabled)
{
    struct progress *self = xcalloc(1, sizeof(*self));
    pthread_condattr_t attr;
    int rc;

    self->c = c;
    self->start_mono_ns = start_mono_ns;
    self->total_ns = total_ns;
    *out = self;
    if (!enabled || !isatty(STDERR_FILENO))
        return RT_OK;
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cond, &attr);
    pthread_condattr_destroy(&attr);
    if ((rc = pthread_create(&self->thread, NULL, progress_main, self))) {
        pthread_cond_destroy(&self->cond);
        pthread_mutex_destroy(&self->lock);
        log_warn("no progress line: cannot start its thread: %s", strerror(rc));
        return RT_OK;
    }
    self->active = 1;
    log_set_status_line(1);
    return RT_OK;
}

void progress_stop(struct progress *self)
{
    if (!self)
        return;
    if (self->active) {
        pthread_mutex_lock(&self->lock);
        self->stopping = 1;
        pthread_cond_signal(&self->cond);
        pthread_mutex_unlock(&self->lock);
        pthread_join(self->thread, NULL);
        log_set_status_line(0);
        pthread_cond_destroy(&self->cond);
        pthread_mutex_destroy(&self->lock);
    }
    free(self);
}
