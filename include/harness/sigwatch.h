/*
 * The stop signals of a run or a restore.  SIGINT, SIGTERM and SIGUSR1
 * must be blocked by the caller in every thread before any thread starts
 * (so a signal that comes early stays pending); a thread of its own takes them
 * with sigwait() and hands each to harness_interrupt():
 *   first   the run stops (harness_stop); the history up to now is kept,
 *           and what runs after the stop (the restore, late calls) goes on;
 *   second  late calls end; the restore finishes its current agent, then
 *           stops (harness_stop_late);
 *   third   the restore's current agent is cut short too (late_abort).
 * A signal that comes after the run stopped on its own counts from the
 * second step.  SIGUSR1 is this module's own "stop watching" signal.
 * Not thread-safe: one watcher per harness, started and stopped by one
 * thread.
 */
#ifndef RT_HARNESS_SIGWATCH_H
#define RT_HARNESS_SIGWATCH_H

#include "base/err.h"
#include "harness/session.h"

struct sigwatch;

/* Block SIGINT, SIGTERM and SIGUSR1 in the calling thread and ignore
 * SIGPIPE.  Call first thing in main's thread, before any thread exists:
 * every thread inherits the mask, and a signal that comes early stays
 * pending until the watcher takes it with sigwait(). */
void sigwatch_block(void);

/* Start watching for @h (which must outlive the watcher).  RT_ESYS
 * (logged) when the thread cannot start. */
enum rt_err sigwatch_start(struct sigwatch **out, struct harness *h);

/* Stop watching, join the thread and free.  Returns 1 when a signal
 * stopped the run (the first step above), read once the watcher has
 * joined, so a signal taken just before is never missed.  Call before @h
 * is released: the watcher may be inside harness_stop() until then.
 * NULL-safe (returns 0). */
int sigwatch_stop(struct sigwatch *self);

#endif
