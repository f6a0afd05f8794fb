/*
 * Bounded growable byte buffer (curl's dynbuf idea).  Every buffer has a cap
 * set at init; appends that would exceed it fail with RT_ETRUNC and leave the
 * buffer unchanged.  The data is always NUL-terminated.  Not thread-safe.
 */
#ifndef RT_BASE_BUF_H
#define RT_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* cap on len, excluding the terminating NUL */
};

void buf_init(struct buf *self, size_t max_bytes);
void buf_release(struct buf *self);
/* Empty the buffer, keeping its allocation. */
void buf_reset(struct buf *self);
enum rt_err buf_append(struct buf *self, const void *data, size_t len);
enum rt_err buf_puts(struct buf *self, const char *s);
enum rt_err buf_putc(struct buf *self, char c);
enum rt_err buf_printf(struct buf *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum rt_err buf_vprintf(struct buf *self, const char *fmt, va_list ap);
/* Borrowed view of the contents, "" when empty; valid until the next call. */
const char *buf_str(const struct buf *self);
/* Hand the contents to the caller (caller frees) and reset the buffer. */
char *buf_detach(struct buf *self, size_t *len);

#endif
