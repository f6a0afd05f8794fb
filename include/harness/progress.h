/*
 * Live counters of a run and the one-line status shown on a terminal:
 *   [  12.3s/90s]  41.2 req/s  2xx 480  409 3  429 0  5xx 0  bumps 17  updates
 * 120/300 The counters are atomics bumped by every thread; the status line is
 * redrawn by its own thread every 250 ms, only when stderr is a terminal
 * and not silenced with -q, and erased when the run ends.  Thread-safe.
 */
#ifndef RT_HARNESS_PROGRESS_H
#define RT_HARNESS_PROGRESS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct run_counters {
    atomic_int_fast64_t requests;
    atomic_int_fast64_t s2xx, s409, s429, s5xx, other;
    atomic_int_fast64_t bumps;
    atomic_int_fast64_t updates_done;
    atomic_int_fast64_t updates_total;
    /* Finished operations by outcome (run_counters_outcome). */
    atomic_int_fast64_t ops_ok, ops_conflict, ops_gave_up, ops_error,
        ops_unknown;
};

/* Count one finished operation by its outcome name (ok, conflict, gave_up,
 * error, unknown) and bump updates_done. */
void run_counters_outcome(struct run_counters *c, const char *outcome);

/* Count one response status (0 = no response). */
void run_counters_status(struct run_counters *c, int status);

/* Format the status line for @elapsed_ns of @total_ns into @out. */
void progress_format(struct run_counters *c, int64_t elapsed_ns,
                     int64_t total_ns, char *out, size_t out_len);

struct progress;

/* Start redrawing (a no-op object when @enabled is 0 or stderr is not a
 * terminal).  @c is borrowed. */
enum rt_err progress_start(struct progress **out, struct run_counters *c,
                           int64_t start_mono_ns, int64_t total_ns,
                           int enabled);
/* Stop, erase the line, free.  NULL-safe. */
void progress_stop(struct progress *self);

#endif
