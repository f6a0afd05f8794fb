/*
 * CSV writer.  Rows are appended to an in-memory pending buffer under the
 * writer's mutex and written with write(2) in whole rows when the buffer
 * passes CSV_PENDING_MAX or on csv_flush(), so a killed process leaves only
 * whole rows behind in stream mode.
 */
#include "base/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/ticker.h"
#include "base/xalloc.h"

#define CSV_PENDING_MAX (256 * 1024)
#define CSV_ROW_MAX (1024 * 1024)

struct csv {
    pthread_mutex_t lock;
    int fd;
    enum csv_mode mode;
    size_t ncols;
    char *path;     /* final path */
    char *tmp_path; /* atomic mode only */
    struct buf pending;
    uint64_t rows;
    enum rt_err sticky; /* first write error, reported by every later call */
};

enum rt_err csv_escape(struct buf *out, const char *s)
{
    struct buf field;
    size_t quotes = 0, len;
    enum rt_err err;

    if (!s)
        return RT_OK;
    if (!strpbrk(s, ",\"\r\n"))
        return buf_puts(out, s);
    len = strlen(s);
    for (const char *p = s; *p; p++)
        quotes += *p == '"';
    /* Build the quoted field apart and append it in one piece, so a field
     * that does not fit leaves @out unchanged instead of holding an
     * unterminated quote. */
    if (len > out->max || quotes > out->max - len ||
        out->max - len - quotes < 2)
        return RT_ETRUNC;
    buf_init(&field, len + quotes + 2);
    buf_putc(&field, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            buf_putc(&field, '"');
        buf_putc(&field, *p);
    }
    buf_putc(&field, '"');
    err = buf_append(out, buf_str(&field), field.len);
    buf_release(&field);
    return err;
}

static enum rt_err write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return RT_EIO;
        }
        data += n;
        len -= (size_t)n;
    }
    return RT_OK;
}

static enum rt_err csv_flush_locked(struct csv *self)
{
    if (self->sticky)
        return self->sticky;
    if (self->pending.len == 0)
        return RT_OK;
    if (write_all(self->fd, self->pending.data, self->pending.len)) {
        log_error("cannot write '%s': %s", self->path, strerror(errno));
        self->sticky = RT_EIO;
        return RT_EIO;
    }
    buf_reset(&self->pending);
    return RT_OK;
}

enum rt_err csv_open(struct csv **out, const char *path,
                     const char *const *cols, size_t ncols, enum csv_mode mode)
{
    struct csv *self = xcalloc(1, sizeof(*self));
    struct buf name;
    enum rt_err err;

    self->mode = mode;
    self->ncols = ncols;
    self->path = xstrdup(path);
    buf_init(&self->pending, CSV_PENDING_MAX + CSV_ROW_MAX);
    pthread_mutex_init(&self->lock, NULL);
    if (mode == CSV_ATOMIC) {
        buf_init(&name, 4096);
        if (buf_printf(&name, "%s.tmp", path)) {
            buf_release(&name);
            err = rt_fail(RT_EINVAL, "path too long: '%s'", path);
            goto fail;
        }
        self->tmp_path = buf_detach(&name, NULL);
    }
    self->fd = open(self->tmp_path ? self->tmp_path : path,
                    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (self->fd < 0) {
        err = rt_fail(RT_EIO, "cannot create '%s': %s",
                      self->tmp_path ? self->tmp_path : path, strerror(errno));
        goto fail;
    }
    for (size_t i = 0; i < ncols; i++) {
        if (i)
            buf_putc(&self->pending, ',');
        csv_escape(&self->pending, cols[i]);
    }
    buf_putc(&self->pending, '\n');
    if ((err = csv_flush_locked(self))) {
        close(self->fd);
        unlink(self->tmp_path ? self->tmp_path : path);
        goto fail;
    }
    *out = self;
    return RT_OK;
fail:
    pthread_mutex_destroy(&self->lock);
    buf_release(&self->pending);
    free(self->tmp_path);
    free(self->path);
    free(self);
    return err;
}

enum rt_err csv_open_in(struct csv **out, const char *dir, const char *name,
                        const char *const *cols, size_t ncols,
                        enum csv_mode mode)
{
    char path[4096];

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
        sizeof(path))
        return rt_fail(RT_EINVAL, "directory path too long: '%s'", dir);
    return csv_open(out, path, cols, ncols, mode);
}

enum rt_err csv_write_row(struct csv *self, const struct csv_row *row)
{
    enum rt_err err = RT_OK;

    if (row->err)
        return rt_fail(row->err, "'%s': row longer than %d bytes", self->path,
                       CSV_ROW_MAX);
    if (row->nfields != self->ncols)
        return rt_fail(RT_EINVAL, "'%s': row has %zu fields, header has %zu",
                       self->path, row->nfields, self->ncols);
    pthread_mutex_lock(&self->lock);
    if (self->sticky) {
        err = self->sticky;
    } else if (buf_append(&self->pending, buf_str(&row->text), row->text.len) ||
               buf_putc(&self->pending, '\n')) {
        err = RT_ETRUNC;
    } else {
        self->rows++;
        if (self->pending.len >= CSV_PENDING_MAX)
            err = csv_flush_locked(self);
    }
    pthread_mutex_unlock(&self->lock);
    return err;
}

enum rt_err csv_flush(struct csv *self)
{
    enum rt_err err;

    pthread_mutex_lock(&self->lock);
    err = csv_flush_locked(self);
    pthread_mutex_unlock(&self->lock);
    return err;
}

uint64_t csv_rows(struct csv *self)
{
    uint64_t n;

    pthread_mutex_lock(&self->lock);
    n = self->rows;
    pthread_mutex_unlock(&self->lock);
    return n;
}

static void csv_free(struct csv *self)
{
    pthread_mutex_destroy(&self->lock);
    buf_release(&self->pending);
    free(self->tmp_path);
    free(self->path);
    free(self);
}

enum rt_err csv_close(struct csv *self)
{
    enum rt_err err;

    if (!self)
        return RT_OK;
    err = csv_flush_locked(self);
    if (close(self->fd) && !err) {
        log_error("cannot close '%s': %s", self->path, strerror(errno));
        err = RT_EIO;
    }
    if (self->tmp_path) {
        if (!err && rename(self->tmp_path, self->path)) {
            log_error("cannot rename '%s' to '%s': %s", self->tmp_path,
                      self->path, strerror(errno));
            err = RT_EIO;
        }
        if (err)
            unlink(self->tmp_path);
    }
    csv_free(self);
    return err;
}

void csv_abort(struct csv *self)
{
    if (!self)
        return;
    if (self->mode == CSV_STREAM)
        csv_flush_locked(self);
    close(self->fd);
    if (self->tmp_path)
        unlink(self->tmp_path);
    csv_free(self);
}

#define CSV_FLUSHER_MAX 8

struct csv_flusher {
    struct csv *writers[CSV_FLUSHER_MAX];
    size_t n;
    struct ticker *ticker;
};

static void flush_all(void *arg)
{
    struct csv_flusher *self = arg;

    for (size_t i = 0; i < self->n; i++)
        csv_flush(self->writers[i]);
}

enum rt_err csv_flusher_start(struct csv_flusher **out, struct csv **writers,
                              size_t n, int64_t interval_ns)
{
    struct csv_flusher *self;
    enum rt_err err;

    if (n > CSV_FLUSHER_MAX)
        return rt_fail(RT_EINVAL, "at most %d writers per flusher",
                       CSV_FLUSHER_MAX);
    self = xcalloc(1, sizeof(*self));
    memcpy(self->writers, writers, n * sizeof(*writers));
    self->n = n;
    if ((err = ticker_start(&self->ticker, interval_ns, flush_all, self))) {
        free(self);
        return err;
    }
    *out = self;
    return RT_OK;
}

void csv_flusher_stop(struct csv_flusher *self)
{
    if (!self)
        return;
    ticker_stop(self->ticker);
    flush_all(self);
    free(self);
}

void csv_row_init(struct csv_row *row)
{
    buf_init(&row->text, CSV_ROW_MAX);
    row->nfields = 0;
    row->err = RT_OK;
}

void csv_row_release(struct csv_row *row)
{
    buf_release(&row->text);
    row->nfields = 0;
    row->err = RT_OK;
}

void csv_row_reset(struct csv_row *row)
{
    buf_reset(&row->text);
    row->nfields = 0;
    row->err = RT_OK;
}

/* Keep the first append error; csv_write_row() refuses the row. */
static void csv_row_check(struct csv_row *row, enum rt_err err)
{
    if (err && !row->err)
        row->err = err;
}

static void csv_row_sep(struct csv_row *row)
{
    if (row->nfields++)
        csv_row_check(row, buf_putc(&row->text, ','));
}

void csv_row_str(struct csv_row *row, const char *s)
{
    csv_row_sep(row);
    csv_row_check(row, csv_escape(&row->text, s));
}

void csv_row_i64(struct csv_row *row, int64_t v)
{
    csv_row_sep(row);
    csv_row_check(row, buf_printf(&row->text, "%lld", (long long)v));
}

void csv_row_u64(struct csv_row *row, uint64_t v)
{
    csv_row_sep(row);
    csv_row_check(row, buf_printf(&row->text, "%llu", (unsigned long long)v));
}

void csv_row_double(struct csv_row *row, double v, int digits)
{
    csv_row_sep(row);
    if (!isnan(v))
        csv_row_check(row, buf_printf(&row->text, "%.*g", digits, v));
}

void csv_row_time(struct csv_row *row, int64_t wall_ns)
{
    char iso[ISO8601_LEN];

    csv_row_sep(row);
    if (wall_ns)
        csv_row_check(
            row,
            buf_puts(&row->text, iso8601_format_ms(wall_ns, iso, sizeof(iso))));
}
