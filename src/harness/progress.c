/*
 * Progress line, redrawn by a ticker.  Drawn with "\r" and erased with
 * "\r\033[K", in one fputs; log lines erase it first (log_set_status_line)
 * so they never run into it.
 */
#include "harness/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/ticker.h"
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
    struct ticker *ticker; /* NULL when not drawing */
};

static void progress_draw(void *arg)
{
    struct progress *self = arg;
    char line[256], out[300];

    progress_format(self->c, clock_mono_ns() - self->start_mono_ns,
                    self->total_ns, line, sizeof(line));
    snprintf(out, sizeof(out), "\r%s\033[K", line);
    fputs(out, stderr);
    fflush(stderr);
}

enum rt_err progress_start(struct progress **out, struct run_counters *c,
                           int64_t start_mono_ns, int64_t total_ns, int enabled)
{
    struct progress *self = xcalloc(1, sizeof(*self));

    self->c = c;
    self->start_mono_ns = start_mono_ns;
    self->total_ns = total_ns;
    *out = self;
    if (!enabled || !isatty(STDERR_FILENO))
        return RT_OK;
    if (ticker_start(&self->ticker, PROGRESS_PERIOD_NS, progress_draw, self)) {
        log_warn("no progress line: cannot start its thread");
        self->ticker = NULL;
        return RT_OK;
    }
    log_set_status_line(1);
    return RT_OK;
}

void progress_stop(struct progress *self)
{
    if (!self)
        return;
    if (self->ticker) {
        ticker_stop(self->ticker);
        log_set_status_line(0);
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    free(self);
}
