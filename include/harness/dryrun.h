/*
 * The list of writes a dry run (racetrace run --dry-run) would have made.
 * The replayer does every read as usual and, instead of sending a write,
 * hands it here: one line per write, in the order the workers reached
 * them,
 *   PATCH /api/v2/users/<id> {"version":3,"department":"Sales (racetrace)"}
 * (method, path and query, compact JSON body or nothing), into
 * RUN/dry-run.txt.  The file is written as RUN/dry-run.txt.tmp while the
 * run goes and renamed when it is closed, so a complete list is never
 * mistaken for a partial one.  Thread-safe.
 */
#ifndef RT_HARNESS_DRYRUN_H
#define RT_HARNESS_DRYRUN_H

#include <stdint.h>

#include "base/err.h"

#define DRYRUN_FILE "dry-run.txt"

struct dryrun;

/* Create RUN/dry-run.txt.tmp in @run_dir.  Caller ends it with
 * dryrun_close().  RT_EIO (logged) when it cannot be created. */
enum rt_err dryrun_open(struct dryrun **out, const char *run_dir);

/* List one write: @method, @path (path and query after the base URL) and
 * @body (JSON text, or NULL for none; a line break in it is written as a
 * space so the line stays one line).  Thread-safe. */
void dryrun_write(struct dryrun *self, const char *method, const char *path,
                  const char *body);

/* Writes listed so far.  Thread-safe. */
int64_t dryrun_count(struct dryrun *self);

/* Flush, close and rename the list to RUN/dry-run.txt; free.  RT_EIO
 * (logged) when a write to the file failed at any point.  NULL-safe.  Not
 * thread-safe: every writer must have stopped. */
enum rt_err dryrun_close(struct dryrun *self);

#endif
