/* Bounded buffers (see include/base/buf.h). */
#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

void buf_init(struct buf *self, size_t max_bytes)
{
    self->data = NULL;
    self->len = 0;
    self->cap = 0;
    self->max = max_bytes;
}

void buf_release(struct buf *self)
{
    free(self->data);
    buf_init(self, self->max);
}

void buf_reset(struct buf *self)
{
    self->len = 0;
    if (self->data)
        self->data[0] = '\0';
}

static enum rt_err buf_reserve(struct buf *self, size_t extra)
{
    size_t need;

    if (extra > self->max || self->len > self->max - extra)
        return RT_ETRUNC;
    need = self->len + extra + 1;
    if (need <= self->cap)
        return RT_OK;
    size_t cap = self->cap ? self->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    self->data = xrealloc(self->data, cap);
    self->cap = cap;
    return RT_OK;
}

enum rt_err buf_append(struct buf *self, const void *data, size_t len)
{
    if (buf_reserve(self, len))
        return RT_ETRUNC;
    if (len)
        memcpy(self->data + self->len, data, len);
    self->len += len;
    self->data[self->len] = '\0';
    return RT_OK;
}

enum rt_err buf_puts(struct buf *self, const char *s)
{
    return buf_append(self, s, strlen(s));
}

enum rt_err buf_putc(struct buf *self, char c)
{
    return buf_append(self, &c, 1);
}

enum rt_err buf_vprintf(struct buf *self, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return RT_EINVAL;
    if (buf_reserve(self, (size_t)n))
        return RT_ETRUNC;
    vsnprintf(self->data + self->len, (size_t)n + 1, fmt, ap);
    self->len += (size_t)n;
    return RT_OK;
}

enum rt_err buf_printf(struct buf *self, const char *fmt, ...)
{
    va_list ap;
    enum rt_err err;

    va_start(ap, fmt);
    err = buf_vprintf(self, fmt, ap);
    va_end(ap);
    return err;
}

const char *buf_str(const struct buf *self)
{
    return self->data ? self->data : "";
}

char *buf_detach(struct buf *self, size_t *len)
{
    char *p = self->data ? self->data : xstrdup("");

    if (len)
        *len = self->len;
    buf_init(self, self->max);
    return p;
}
