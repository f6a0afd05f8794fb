/*
 * RFC 4180 CSV writer: header row first, fields quoted when they hold a
 * comma, quote, CR or LF, CRLF-free ("\n") line ends.
 *
 * Two modes:
 *   CSV_ATOMIC  written to "<path>.tmp" and renamed into place by
 *               csv_close(), so a crash never leaves half a report;
 *   CSV_STREAM  a history log written to <path> directly in whole rows, so
 *               an interrupted run keeps everything flushed so far; call
 *               csv_flush() at least every second.
 *
 * Rows are built in a caller-owned struct csv_row (one per thread) and
 * handed to csv_write_row(), which copies them under the writer's lock:
 * rows from different threads never interleave.
 */
#ifndef RT_BASE_CSV_H
#define RT_BASE_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

enum csv_mode { CSV_ATOMIC, CSV_STREAM };

struct csv;

struct csv_row {
    struct buf text;
    size_t nfields;
    enum rt_err err; /* first field that did not fit; the row is refused */
};

/*
 * Create @path (truncating) and write the header of @ncols columns.
 * On success *out is a writer the caller releases with csv_close() or
 * csv_abort().  Logs the cause on failure.  Thread-safe once open.
 */
enum rt_err csv_open(struct csv **out, const char *path,
                     const char *const *cols, size_t ncols, enum csv_mode mode);
/* csv_open() of "<dir>/<name>". */
enum rt_err csv_open_in(struct csv **out, const char *dir, const char *name,
                        const char *const *cols, size_t ncols,
                        enum csv_mode mode);
/* Copy one complete row in; fails with RT_EINVAL on a wrong field count
 * and RT_ETRUNC when a field did not fit the row (1 MiB).  Thread-safe. */
enum rt_err csv_write_row(struct csv *self, const struct csv_row *row);
/* Push buffered rows to the file.  Thread-safe. */
enum rt_err csv_flush(struct csv *self);
/* Rows written so far (excluding the header).  Thread-safe. */
uint64_t csv_rows(struct csv *self);
/* Flush, close, rename (atomic mode) and free.  NULL-safe.  Not thread-safe:
 * no other thread may use the writer any more. */
enum rt_err csv_close(struct csv *self);
/* Close and remove the temporary file (atomic) or keep what was written
 * (stream); frees.  NULL-safe. */
void csv_abort(struct csv *self);

/*
 * A background thread that flushes @n writers every @interval_ns, so a
 * stream log loses at most that much on a crash.  The writers are borrowed
 * and must outlive the flusher.  csv_flusher_stop() flushes once more,
 * joins and frees (NULL-safe).
 */
struct csv_flusher;
enum rt_err csv_flusher_start(struct csv_flusher **out, struct csv **writers,
                              size_t n, int64_t interval_ns);
void csv_flusher_stop(struct csv_flusher *self);

/* Row building; not thread-safe (one row per thread). */
void csv_row_init(struct csv_row *row);
void csv_row_release(struct csv_row *row);
void csv_row_reset(struct csv_row *row);
void csv_row_str(struct csv_row *row, const char *s); /* NULL = empty */
void csv_row_i64(struct csv_row *row, int64_t v);
void csv_row_u64(struct csv_row *row, uint64_t v);
/* %.*g with @digits significant digits; NaN prints as empty. */
void csv_row_double(struct csv_row *row, double v, int digits);
/* ISO-8601 UTC with milliseconds; 0 prints as empty. */
void csv_row_time(struct csv_row *row, int64_t wall_ns);

/* Quote @s into @out per RFC 4180 when needed; on RT_ETRUNC @out is
 * unchanged. */
enum rt_err csv_escape(struct buf *out, const char *s);

#endif
