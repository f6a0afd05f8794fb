/*
 * Standard base64 (RFC 4648 §4, with '=' padding), for HTTP Basic
 * authentication.  libcurl has no public encoder and we build the
 * Authorization header ourselves so the same code path serves every target.
 * Pure and thread-safe.
 */
#ifndef RT_API_BASE64_H
#define RT_API_BASE64_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* Bytes base64_encode() appends for @len input bytes (no NUL). */
size_t base64_encoded_len(size_t len);

/* Append the encoding of @data[0..len) to @out; RT_ETRUNC when @out's cap
 * is reached (then @out is unchanged). */
enum rt_err base64_encode(struct buf *out, const void *data, size_t len);

#endif
