/*
 * The secret registry behind redact_*().  Secrets are kept longest first so
 * that a token containing another registered string is hidden whole.  The
 * scan is quadratic in the worst case, which is fine: it only runs over
 * error messages and short bodies, never on the request hot path.
 */
#include "api/redact.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"

struct secret {
    char *text;
    size_t len;
};

static pthread_mutex_t redact_lock = PTHREAD_MUTEX_INITIALIZER;
static struct secret *secrets;
static size_t n_secrets, cap_secrets;

void redact_add_n(const char *secret, size_t len)
{
    size_t at;

    if (!secret || len == 0)
        return;
    /* From the first secret on, every log line is redacted too. */
    log_set_filter(redact_line);
    pthread_mutex_lock(&redact_lock);
    for (size_t i = 0; i < n_secrets; i++) {
        if (secrets[i].len == len && !memcmp(secrets[i].text, secret, len))
            goto out;
    }
    if (n_secrets == cap_secrets) {
        cap_secrets = cap_secrets ? cap_secrets * 2 : 8;
        secrets = xreallocarray(secrets, cap_secrets, sizeof(*secrets));
    }
    at = 0;
    while (at < n_secrets && secrets[at].len >= len)
        at++;
    memmove(&secrets[at + 1], &secrets[at],
            (n_secrets - at) * sizeof(*secrets));
    secrets[at].text = xstrndup(secret, len);
    secrets[at].len = len;
    n_secrets++;
out:
    pthread_mutex_unlock(&redact_lock);
}

void redact_add(const char *secret)
{
    if (secret)
        redact_add_n(secret, strlen(secret));
}

void redact_clear(void)
{
    pthread_mutex_lock(&redact_lock);
    for (size_t i = 0; i < n_secrets; i++) {
        explicit_bzero(secrets[i].text, secrets[i].len);
        free(secrets[i].text);
    }
    free(secrets);
    secrets = NULL;
    n_secrets = cap_secrets = 0;
    pthread_mutex_unlock(&redact_lock);
}

/* Length of the longest registered secret at @p (at most @left bytes), 0
 * when none starts there.  Called with the lock held. */
static size_t match_at(const char *p, size_t left)
{
    for (size_t i = 0; i < n_secrets; i++) {
        const struct secret *s = &secrets[i];
        if (s->len <= left && s->text[0] == p[0] && !memcmp(s->text, p, s->len))
            return s->len;
    }
    return 0;
}

enum rt_err redact_append(struct buf *out, const char *in, size_t len)
{
    enum rt_err err = RT_OK;
    size_t i = 0, run = 0;

    pthread_mutex_lock(&redact_lock);
    while (i < len) {
        size_t m = match_at(in + i, len - i);
        if (m == 0) {
            i++;
            continue;
        }
        if ((err = buf_append(out, in + run, i - run)) ||
            (err = buf_puts(out, REDACT_MARK)))
            goto out;
        i += m;
        run = i;
    }
    err = buf_append(out, in + run, len - run);
out:
    pthread_mutex_unlock(&redact_lock);
    return err;
}

char *redact_line(char *out, size_t out_len, const char *in, size_t len)
{
    static const char dots[] = "...";
    struct buf b;
    size_t n;

    if (out_len == 0)
        return out;
    /* Redact the whole input before cutting: a cut secret would no longer
     * match and half of it would leak. */
    if (!in)
        len = 0;
    /* Each input byte turns into at most one mark, so this cap always
     * fits. */
    buf_init(&b, len > SIZE_MAX / 16 ? SIZE_MAX / 2 : len * 11 + 16);
    redact_append(&b, in ? in : "", len);
    n = b.len;
    if (n > out_len - 1) {
        n = out_len - 1;
        if (n >= sizeof(dots) - 1)
            memcpy(b.data + n - (sizeof(dots) - 1), dots, sizeof(dots) - 1);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)b.data[i];
        out[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[n] = '\0';
    buf_release(&b);
    return out;
}

size_t redact_list(char ***out)
{
    size_t n;
    char **list;

    pthread_mutex_lock(&redact_lock);
    n = n_secrets;
    list = xcalloc(n + 1, sizeof(*list));
    for (size_t i = 0; i < n; i++) {
        list[i] = xmalloc(secrets[i].len + 1);
        memcpy(list[i], secrets[i].text, secrets[i].len);
        list[i][secrets[i].len] = '\0';
    }
    pthread_mutex_unlock(&redact_lock);
    *out = list;
    return n;
}

void redact_list_free(char **list)
{
    if (!list)
        return;
    for (size_t i = 0; list[i]; i++) {
        explicit_bzero(list[i], strlen(list[i]));
        free(list[i]);
    }
    free(list);
}
