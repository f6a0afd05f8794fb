/*
 * Streaming RFC 4180 CSV reader for the run's history files (the reading
 * half of base/csv).  A file is read once, front to back, through one read
 * buffer; each row is split in place inside that buffer, so memory is
 * bounded by the largest row plus one read, whatever the file's size, and
 * no field is ever allocated.
 *
 * The dialect is the writer's, read strictly:
 *   - the first row is the header; column names are unique and non-empty;
 *   - fields are separated by ',' and rows end with "\n" or "\r\n";
 *   - a field holding ',', '"', CR or LF is quoted, with '"' doubled inside,
 *     and may span lines; a quote anywhere else, a bare CR, or a NUL byte
 *     is an error;
 *   - every row has exactly as many fields as the header;
 *   - the last row may lack its line end.
 * Every error names the file and the line the row starts on and is
 * RT_EPARSE (RT_EIO when reading fails).
 *
 * Truncated tail.  History files are written in whole rows, so a run that
 * was killed leaves at worst a partial last row: the file ends without a
 * line end inside a quoted field, or with fewer fields than the header.
 * That row is not returned: by default the reader logs a warning naming
 * file and line and reports end of file, so analysis uses every whole row
 * and goes on; CSVR_TAIL_ERROR makes it an RT_EPARSE instead.  Either way
 * csvr_truncated_line() tells it happened.  A last line without its line
 * end but with every field is a row (files edited by hand often end so),
 * even though a cut right after a row's last comma looks the same.
 *
 *     struct csvr *r;
 *     size_t c_status;
 *     int has_row;
 *     if ((err = csvr_open(&r, path, NULL)) ||
 *         (err = csvr_col(r, "status", &c_status)))
 *         goto out;
 *     while (!(err = csvr_next(r, &has_row)) && has_row)
 *         ... csvr_i64(r, c_status, 0, &status) ...
 *
 * Not thread-safe: one reader per thread.
 */
#ifndef RT_BASE_CSVR_H
#define RT_BASE_CSVR_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Defaults: the writer's row cap (base/csv), and one read(2) of 1 MiB. */
#define CSVR_ROW_MAX ((size_t)1024 * 1024)
#define CSVR_READ_BYTES ((size_t)1024 * 1024)

enum csvr_tail {
    CSVR_TAIL_WARN,  /* skip a truncated last row with a warning */
    CSVR_TAIL_ERROR, /* a truncated last row is RT_EPARSE */
};

struct csvr_opts {
    size_t row_max_bytes; /* raw row text, line end excluded; 0: default */
    size_t read_bytes;    /* bytes asked of each read; 0: default */
    enum csvr_tail tail;  /* CSVR_TAIL_WARN unless set */
    int quiet;            /* 1: do not log; csvr_error() has the message */
};

struct csvr;

/*
 * Open @path and read its header.  @opts may be NULL for the defaults.  On
 * success *out is a reader the caller closes with csvr_close().  On failure
 * nothing is left to release: RT_ENOENT when the file does not exist,
 * RT_EIO when it cannot be read, RT_EPARSE when it is empty or its header
 * is not valid (the cause is logged unless @opts->quiet).
 */
enum rt_err csvr_open(struct csvr **out, const char *path,
                      const struct csvr_opts *opts);
/*
 * The same over @len bytes at @data, borrowed until csvr_close(); @name
 * stands for the file in messages.  For tests and fuzzing: the bytes go
 * through the same read buffer as a file's.
 */
enum rt_err csvr_open_mem(struct csvr **out, const char *name, const void *data,
                          size_t len, const struct csvr_opts *opts);
/* Close and free.  NULL-safe. */
void csvr_close(struct csvr *self);

/*
 * Read the next row.  RT_OK with *has_row = 1: the row's fields are
 * available through the accessors until the next call.  RT_OK with
 * *has_row = 0: end of file (a truncated last row was skipped, see above);
 * later calls say the same.  RT_EPARSE or RT_EIO: the row is unusable and
 * the reader stays failed; the cause was logged.
 */
enum rt_err csvr_next(struct csvr *self, int *has_row);

/* Header: column count, the name of column @col (borrowed until
 * csvr_close(); NULL when out of range). */
size_t csvr_ncols(const struct csvr *self);
const char *csvr_header(const struct csvr *self, size_t col);
/* Column index of @name: RT_OK, or RT_EPARSE with "no column" logged. */
enum rt_err csvr_col(struct csvr *self, const char *name, size_t *out);
/* The same for an optional column: 1 and *out set when present, else 0;
 * nothing logged. */
int csvr_has_col(const struct csvr *self, const char *name, size_t *out);

/*
 * Field @col of the current row as a NUL-terminated view, unescaped,
 * borrowed until the next csvr_next() or csvr_close(); "" when @col is out
 * of range or there is no current row.  @len (may be NULL) gets its length.
 */
const char *csvr_str(const struct csvr *self, size_t col, size_t *len);
/*
 * Field @col as a signed 64-bit decimal integer (units_parse_i64): an empty
 * field gives @dflt; anything else that is not a whole integer is
 * RT_EPARSE, logged with file, line and column name (*out untouched).
 */
enum rt_err csvr_i64(struct csvr *self, size_t col, int64_t dflt, int64_t *out);
/* The same for a finite double (units_parse_double). */
enum rt_err csvr_double(struct csvr *self, size_t col, double dflt,
                        double *out);

/*
 * Log "'<file>', line <n>: <message>" for the current row (or the header)
 * and return RT_EPARSE, so callers that find a semantic error in a row
 * report it like the reader does.  The first error is also kept for
 * csvr_error().
 */
enum rt_err csvr_fail(struct csvr *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The file's name as given to csvr_open() (borrowed). */
const char *csvr_path(const struct csvr *self);
/* Line the current row starts on (the header is line 1); 0 before the
 * first row. */
uint64_t csvr_line(const struct csvr *self);
/* Data rows returned so far. */
uint64_t csvr_rows(const struct csvr *self);
/* Line a skipped truncated last row started on, 0 when none. */
uint64_t csvr_truncated_line(const struct csvr *self);
/* The first error's message, "" when none. */
const char *csvr_error(const struct csvr *self);

#endif
