/*
 * CSV reader.  One buffer of row_max + read_bytes (+1 for a final NUL)
 * holds the unread tail of the file; a row is parsed where it lies, fields
 * unescaped in place (a field's text never grows when unescaped, so the
 * write position never passes the read position) and each ended by a NUL
 * written over its separator.  When a row runs past the data in the
 * buffer, the partial row is moved to the front and the rest is read
 * behind it; the parser's positions move with it and its state (inside a
 * quote, after a CR) carries over, so a row may be cut anywhere by a
 * read.  Field starts are kept relative to the row's start, so moving the
 * row does not touch them.
 *
 * Invariants: start <= w <= r <= end <= cap; the current row's raw text
 * is buf[start .. terminator) and at most row_max bytes.
 */
#include "base/csvr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/units.h"
#include "base/xalloc.h"

#define CSVR_ERROR_MAX 512
#define CSVR_VALUE_SHOWN 40 /* bytes of a bad value quoted in a message */

struct csvr {
    char *path;
    int fd; /* -1 for memory */
    const char *mem;
    size_t mem_len, mem_pos;
    int eof; /* the source gave everything */

    char *buf;
    size_t cap; /* usable bytes; buf has cap + 1 */
    size_t row_max;
    size_t read_bytes; /* most asked of one read */
    size_t start;      /* first byte of the next row */
    size_t end;        /* end of the data in buf */

    /* Current row: field i is buf + row_start + off[i], len[i] bytes. */
    size_t row_start;
    size_t *off, *len;
    size_t nfields, fields_cap;
    int has_row;

    char **names;
    size_t ncols; /* 0 while reading the header */

    uint64_t line;     /* line the next row starts on */
    uint64_t row_line; /* line the current row starts on */
    uint64_t rows;
    uint64_t truncated_line;
    enum csvr_tail tail;
    int quiet;
    int done;
    enum rt_err failed;
    char error[CSVR_ERROR_MAX];
};

/* Bytes that end a run of plain field text. */
static const unsigned char special[256] = {
    ['\0'] = 1, ['\n'] = 1, ['\r'] = 1, [','] = 1, ['"'] = 1,
};

/* Keep the first message, log every one (unless quiet); returns @err. */
static enum rt_err vreport(struct csvr *self, enum rt_err err, uint64_t line,
                           const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static enum rt_err vreport(struct csvr *self, enum rt_err err, uint64_t line,
                           const char *fmt, va_list ap)
{
    char msg[CSVR_ERROR_MAX];
    int n;

    if (line)
        n = snprintf(msg, sizeof(msg), "'%s', line %llu: ", self->path,
                     (unsigned long long)line);
    else
        n = snprintf(msg, sizeof(msg), "'%s': ", self->path);
    if (n < 0)
        n = 0;
    if ((size_t)n < sizeof(msg))
        vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    if (!self->error[0])
        memcpy(self->error, msg, sizeof(msg));
    if (!self->quiet)
        log_error("%s", msg);
    return err;
}

static enum rt_err report(struct csvr *self, enum rt_err err, uint64_t line,
                          const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum rt_err report(struct csvr *self, enum rt_err err, uint64_t line,
                          const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(self, err, line, fmt, ap);
    va_end(ap);
    return err;
}

enum rt_err csvr_fail(struct csvr *self, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(self, RT_EPARSE, self->row_line ? self->row_line : 1, fmt, ap);
    va_end(ap);
    return RT_EPARSE;
}

/*
 * Move the unread tail (from the row being parsed) to the front and read
 * behind it.  @r, @w and @fstart are positions in buf and move along.
 * *got = 0 at end of input.
 */
static enum rt_err refill(struct csvr *self, size_t *r, size_t *w,
                          size_t *fstart, size_t *got)
{
    size_t delta = self->start, room;

    *got = 0;
    if (self->eof)
        return RT_OK;
    if (delta > 0) {
        memmove(self->buf, self->buf + delta, self->end - delta);
        self->end -= delta;
        self->start = 0;
        *r -= delta;
        *w -= delta;
        *fstart -= delta;
    }
    room = self->cap - self->end;
    if (room > self->read_bytes)
        room = self->read_bytes;
    if (room == 0)
        return RT_OK; /* the caller's length check fires first */
    if (self->fd < 0) {
        size_t n = self->mem_len - self->mem_pos;
        if (n > room)
            n = room;
        memcpy(self->buf + self->end, self->mem + self->mem_pos, n);
        self->mem_pos += n;
        *got = n;
    } else {
        ssize_t n;
        do
            n = read(self->fd, self->buf + self->end, room);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return report(self, RT_EIO, 0, "cannot read: %s", strerror(errno));
        *got = (size_t)n;
    }
    if (*got == 0)
        self->eof = 1;
    self->end += *got;
    return RT_OK;
}

static void grow_fields(struct csvr *self)
{
    self->fields_cap = self->fields_cap ? 2 * self->fields_cap : 32;
    self->off = xreallocarray(self->off, self->fields_cap, sizeof(*self->off));
    self->len = xreallocarray(self->len, self->fields_cap, sizeof(*self->len));
}

/* Called once per field: kept small so it inlines. */
static inline void end_field(struct csvr *self, size_t fstart, size_t w)
{
    if (self->nfields == self->fields_cap)
        grow_fields(self);
    self->off[self->nfields] = fstart - self->start;
    self->len[self->nfields] = w - fstart;
    self->nfields++;
    self->buf[w] = '\0';
}

enum row_end { ROW_NONE, ROW_LINE, ROW_EOF, ROW_TRUNCATED };

enum pstate { P_FIELD, P_PLAIN, P_QUOTED, P_QUOTE, P_CR };

/*
 * Parse one row from self->start.  On RT_OK *how says how it ended:
 * ROW_NONE (no bytes left), ROW_LINE (line end), ROW_EOF (end of input
 * right after a whole field) or ROW_TRUNCATED (end of input inside a
 * quoted field).  self->start then points past the row.
 */
static enum rt_err parse_row(struct csvr *self, enum row_end *how)
{
    enum pstate st = P_FIELD;
    size_t r = self->start, w = r, fstart = r, raw_len = 0, got;
    uint64_t inner_lines = 0, line = self->line;
    enum rt_err err;
    char *b;

    self->nfields = 0;
    for (;;) {
        /* Parsing never looks further than a valid row could reach (its
         * text, CR and LF), so where an overlong row is reported does not
         * depend on how much the last read brought in. */
        size_t lim = self->end - self->start > self->row_max + 2
                         ? self->start + self->row_max + 2
                         : self->end;
        if (r == lim) {
            if (r - self->start >= self->row_max + 2)
                return report(self, RT_EPARSE, line,
                              "row longer than %zu bytes", self->row_max);
            if ((err = refill(self, &r, &w, &fstart, &got)))
                return err;
            if (got > 0)
                continue;
            /* End of input. */
            if (st == P_FIELD) {
                if (self->nfields == 0 && r == self->start) {
                    *how = ROW_NONE;
                    return RT_OK;
                }
                /* A row ending in ',' ends with an empty field. */
                fstart = w;
                st = P_PLAIN;
            }
            switch (st) {
            case P_FIELD:
            case P_PLAIN:
            case P_QUOTE:
                end_field(self, fstart, w);
                raw_len = r - self->start;
                *how = ROW_EOF;
                break;
            case P_CR:
                /* A CRLF cut between its two bytes: the row is whole. */
                *how = ROW_LINE;
                break;
            case P_QUOTED:
                raw_len = r - self->start;
                *how = ROW_TRUNCATED;
                break;
            }
            goto done;
        }
        b = self->buf;
        switch (st) {
        case P_FIELD:
            fstart = w;
            if (b[r] == '"') {
                st = P_QUOTED;
                r++;
            } else {
                st = P_PLAIN;
            }
            break;
        case P_PLAIN:
            if (w == r) {
                while (r < lim && !special[(unsigned char)b[r]])
                    r++;
                w = r;
            } else {
                while (r < lim && !special[(unsigned char)b[r]])
                    b[w++] = b[r++];
            }
            if (r == lim)
                break;
            switch (b[r]) {
            case ',':
                end_field(self, fstart, w);
                w++;
                r++;
                st = P_FIELD;
                break;
            case '\n':
                end_field(self, fstart, w);
                raw_len = r++ - self->start;
                *how = ROW_LINE;
                goto done;
            case '\r':
                end_field(self, fstart, w);
                raw_len = r++ - self->start;
                st = P_CR;
                break;
            case '"':
                return report(self, RT_EPARSE, line + inner_lines,
                              "quote inside an unquoted field %zu",
                              self->nfields + 1);
            default:
                return report(self, RT_EPARSE, line + inner_lines,
                              "NUL byte in field %zu", self->nfields + 1);
            }
            break;
        case P_QUOTED:
            while (r < lim && b[r] != '"') {
                if (b[r] == '\n')
                    inner_lines++;
                else if (b[r] == '\0')
                    return report(self, RT_EPARSE, line + inner_lines,
                                  "NUL byte in field %zu", self->nfields + 1);
                b[w++] = b[r++];
            }
            if (r < lim) {
                r++;
                st = P_QUOTE;
            }
            break;
        case P_QUOTE:
            switch (b[r]) {
            case '"':
                b[w++] = '"';
                r++;
                st = P_QUOTED;
                break;
            case ',':
                end_field(self, fstart, w);
                w++;
                r++;
                st = P_FIELD;
                break;
            case '\n':
                end_field(self, fstart, w);
                raw_len = r++ - self->start;
                *how = ROW_LINE;
                goto done;
            case '\r':
                end_field(self, fstart, w);
                raw_len = r++ - self->start;
                st = P_CR;
                break;
            default:
                return report(self, RT_EPARSE, line + inner_lines,
                              "text after the closing quote of field %zu",
                              self->nfields + 1);
            }
            break;
        case P_CR:
            if (b[r] != '\n')
                return report(self, RT_EPARSE, line + inner_lines,
                              "carriage return without a line feed");
            r++;
            *how = ROW_LINE;
            goto done;
        }
    }
done:
    if (raw_len > self->row_max)
        return report(self, RT_EPARSE, line, "row longer than %zu bytes",
                      self->row_max);
    self->row_start = self->start;
    self->start = r;
    self->row_line = line;
    self->line = line + 1 + inner_lines;
    return RT_OK;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read the header row into self->names. */
static enum rt_err read_header(struct csvr *self)
{
    size_t r = 0, w = 0, f = 0, got;
    enum row_end how;
    char **sorted;
    enum rt_err err = RT_OK;

    /* A byte-order mark (a spreadsheet's export) is not part of a name. */
    while (self->end < 3 && !self->eof)
        if ((err = refill(self, &r, &w, &f, &got)))
            return err;
    if (self->end >= 3 && !memcmp(self->buf, "\xEF\xBB\xBF", 3))
        self->start = 3;
    if ((err = parse_row(self, &how)))
        return err;
    if (how == ROW_NONE)
        return report(self, RT_EPARSE, 0, "empty file, no header row");
    if (how == ROW_TRUNCATED)
        return report(self, RT_EPARSE, 1, "unterminated quote in the header");
    self->ncols = self->nfields;
    self->names = xcalloc(self->ncols, sizeof(*self->names));
    for (size_t i = 0; i < self->ncols; i++) {
        const char *name = self->buf + self->row_start + self->off[i];
        if (!*name)
            return report(self, RT_EPARSE, 1, "column %zu has no name", i + 1);
        self->names[i] = xstrndup(name, self->len[i]);
    }
    /* Duplicates by sorting a copy: O(n log n) even for a huge header. */
    sorted = xmalloc(self->ncols * sizeof(*sorted));
    memcpy(sorted, self->names, self->ncols * sizeof(*sorted));
    qsort(sorted, self->ncols, sizeof(*sorted), name_cmp);
    for (size_t i = 1; i < self->ncols && !err; i++)
        if (!strcmp(sorted[i - 1], sorted[i]))
            err = report(self, RT_EPARSE, 1, "column '%s' appears twice",
                         sorted[i]);
    free(sorted);
    return err;
}

static struct csvr *csvr_alloc(const char *path, const struct csvr_opts *opts)
{
    struct csvr *self = xcalloc(1, sizeof(*self));
    size_t read_bytes =
        opts && opts->read_bytes ? opts->read_bytes : CSVR_READ_BYTES;

    self->path = xstrdup(path);
    self->fd = -1;
    self->row_max =
        opts && opts->row_max_bytes ? opts->row_max_bytes : CSVR_ROW_MAX;
    /* One spare byte for a CR whose LF is not read yet (see parse_row). */
    self->read_bytes = read_bytes;
    self->cap = self->row_max + read_bytes + 1;
    self->buf = xmalloc(self->cap + 1);
    self->tail = opts ? opts->tail : CSVR_TAIL_WARN;
    self->quiet = opts ? opts->quiet : 0;
    self->line = 1;
    return self;
}

static enum rt_err csvr_start(struct csvr **out, struct csvr *self)
{
    enum rt_err err = read_header(self);

    if (err) {
        csvr_close(self);
        return err;
    }
    self->has_row = 0;
    *out = self;
    return RT_OK;
}

enum rt_err csvr_open(struct csvr **out, const char *path,
                      const struct csvr_opts *opts)
{
    struct csvr *self = csvr_alloc(path, opts);
    enum rt_err err;

    self->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (self->fd < 0) {
        err = errno == ENOENT ? RT_ENOENT : RT_EIO;
        if (!self->quiet)
            log_error("cannot open '%s': %s", path, strerror(errno));
        csvr_close(self);
        return err;
    }
    /* The whole file is read once, front to back. */
    (void)posix_fadvise(self->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return csvr_start(out, self);
}

enum rt_err csvr_open_mem(struct csvr **out, const char *name, const void *data,
                          size_t len, const struct csvr_opts *opts)
{
    struct csvr *self = csvr_alloc(name, opts);

    self->mem = data;
    self->mem_len = len;
    return csvr_start(out, self);
}

void csvr_close(struct csvr *self)
{
    if (!self)
        return;
    if (self->fd >= 0)
        close(self->fd);
    for (size_t i = 0; i < self->ncols; i++)
        free(self->names[i]);
    free(self->names);
    free(self->off);
    free(self->len);
    free(self->buf);
    free(self->path);
    free(self);
}

enum rt_err csvr_next(struct csvr *self, int *has_row)
{
    enum row_end how;
    enum rt_err err;

    *has_row = 0;
    self->has_row = 0;
    if (self->failed)
        return self->failed;
    if (self->done)
        return RT_OK;
    if ((err = parse_row(self, &how))) {
        self->failed = err;
        return err;
    }
    if (how == ROW_NONE) {
        self->done = 1;
        return RT_OK;
    }
    if (self->nfields != self->ncols) {
        /* Only the missing end of a row, cut by a killed writer, is a
         * truncated tail; a whole line of another width is an error. */
        if (how == ROW_LINE || self->nfields > self->ncols) {
            self->failed = report(self, RT_EPARSE, self->row_line,
                                  "row has %zu fields, the header has %zu",
                                  self->nfields, self->ncols);
            return self->failed;
        }
        how = ROW_TRUNCATED;
    }
    if (how == ROW_TRUNCATED) {
        self->done = 1;
        self->truncated_line = self->row_line;
        if (self->tail == CSVR_TAIL_ERROR) {
            self->failed = report(self, RT_EPARSE, self->row_line,
                                  "the file ends inside this row (truncated)");
            return self->failed;
        }
        if (!self->quiet)
            log_warn("'%s', line %llu: skipping the truncated last row "
                     "(was the run interrupted?)",
                     self->path, (unsigned long long)self->row_line);
        return RT_OK;
    }
    self->rows++;
    self->has_row = 1;
    *has_row = 1;
    return RT_OK;
}

size_t csvr_ncols(const struct csvr *self)
{
    return self->ncols;
}

const char *csvr_header(const struct csvr *self, size_t col)
{
    return col < self->ncols ? self->names[col] : NULL;
}

int csvr_has_col(const struct csvr *self, const char *name, size_t *out)
{
    for (size_t i = 0; i < self->ncols; i++) {
        if (!strcmp(self->names[i], name)) {
            *out = i;
            return 1;
        }
    }
    return 0;
}

enum rt_err csvr_col(struct csvr *self, const char *name, size_t *out)
{
    if (csvr_has_col(self, name, out))
        return RT_OK;
    return report(self, RT_EPARSE, 1, "no column '%s'", name);
}

const char *csvr_str(const struct csvr *self, size_t col, size_t *len)
{
    if (!self->has_row || col >= self->nfields) {
        if (len)
            *len = 0;
        return "";
    }
    if (len)
        *len = self->len[col];
    return self->buf + self->row_start + self->off[col];
}

/* A bad value, shortened for a message. */
static enum rt_err bad_value(struct csvr *self, size_t col, const char *what)
{
    size_t len;
    const char *s = csvr_str(self, col, &len);

    return report(self, RT_EPARSE, self->row_line,
                  "column '%s': '%.*s%s' is not %s",
                  col < self->ncols ? self->names[col] : "?",
                  (int)(len > CSVR_VALUE_SHOWN ? CSVR_VALUE_SHOWN : len), s,
                  len > CSVR_VALUE_SHOWN ? "..." : "", what);
}

enum rt_err csvr_i64(struct csvr *self, size_t col, int64_t dflt, int64_t *out)
{
    size_t len;
    const char *s = csvr_str(self, col, &len);

    if (len == 0) {
        *out = dflt;
        return RT_OK;
    }
    if (units_parse_i64(s, out))
        return bad_value(self, col, "a 64-bit integer");
    return RT_OK;
}

enum rt_err csvr_double(struct csvr *self, size_t col, double dflt, double *out)
{
    size_t len;
    const char *s = csvr_str(self, col, &len);

    if (len == 0) {
        *out = dflt;
        return RT_OK;
    }
    if (units_parse_double(s, out))
        return bad_value(self, col, "a finite number");
    return RT_OK;
}

const char *csvr_path(const struct csvr *self)
{
    return self->path;
}

uint64_t csvr_line(const struct csvr *self)
{
    return self->has_row ? self->row_line : 0;
}

uint64_t csvr_rows(const struct csvr *self)
{
    return self->rows;
}

uint64_t csvr_truncated_line(const struct csvr *self)
{
    return self->truncated_line;
}

const char *csvr_error(const struct csvr *self)
{
    return self->error;
}
