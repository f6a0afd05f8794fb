/*
 * A thread that calls fn(ctx) every @period_ns until stopped.  Stopping
 * wakes it at once (it waits on a CLOCK_MONOTONIC condition variable, never
 * a bare sleep), and after ticker_stop() returns fn is not running and will
 * not run again.  Used for the CSV flusher and the progress line.
 * ticker_start/ticker_stop from one thread; fn runs on the ticker's own.
 */
#ifndef RT_BASE_TICKER_H
#define RT_BASE_TICKER_H

#include <stdint.h>

#include "base/err.h"

struct ticker;

typedef void (*ticker_fn)(void *ctx);

/* Start ticking; the first call comes after one period.  Logs the cause on
 * failure. */
enum rt_err ticker_start(struct ticker **out, int64_t period_ns, ticker_fn fn,
                         void *ctx);
/* Stop, join and free.  NULL-safe. */
void ticker_stop(struct ticker *self);

#endif
