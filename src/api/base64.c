/*
 * Base64 encoder (RFC 4648 §4).  Encodes into a local block first and
 * appends once, so a failed append leaves the caller's buffer unchanged.
 */
#include "api/base64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encoded_len(size_t len)
{
    return (len + 2) / 3 * 4;
}

enum rt_err base64_encode(struct buf *out, const void *data, size_t len)
{
    const unsigned char *in = data;
    size_t n = base64_encoded_len(len), o = 0, i = 0;
    enum rt_err err;
    char *tmp;

    if (len > (SIZE_MAX - 2) / 4 * 3)
        return RT_ERANGE;
    tmp = xmalloc(n + 1);
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
                     (uint32_t)in[i + 2];
        tmp[o++] = alphabet[v >> 18 & 63];
        tmp[o++] = alphabet[v >> 12 & 63];
        tmp[o++] = alphabet[v >> 6 & 63];
        tmp[o++] = alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        tmp[o++] = alphabet[v >> 18 & 63];
        tmp[o++] = alphabet[v >> 12 & 63];
        tmp[o++] = '=';
        tmp[o++] = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        tmp[o++] = alphabet[v >> 18 & 63];
        tmp[o++] = alphabet[v >> 12 & 63];
        tmp[o++] = alphabet[v >> 6 & 63];
        tmp[o++] = '=';
    }
    err = buf_append(out, tmp, o);
    /* The input is usually "id:secret"; leave no copy behind. */
    explicit_bzero(tmp, n + 1);
    free(tmp);
    return err;
}
