/*
 * Secret redaction.  Every secret the process holds (the OAuth client
 * secret, the Basic credentials, every access token) is registered here
 * once, and any text that may echo them (a server body quoted in an error
 * message, a URL, a header) goes through redact_*() before it is logged or
 * written anywhere.  Occurrences are replaced by "[redacted]".  Secrets are
 * never removed while the process runs: an old token must stay hidden too.
 * The registry is process-wide and thread-safe.
 */
#ifndef RT_API_REDACT_H
#define RT_API_REDACT_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

#define REDACT_MARK "[redacted]"

/* Register a copy of @secret (NULL and "" are ignored; duplicates are
 * kept once).  Short strings are registered too: hiding too much is
 * harmless, leaking is not.  Thread-safe. */
void redact_add(const char *secret);
void redact_add_n(const char *secret, size_t len);

/*
 * Copies of every registered secret, as NUL-terminated strings in a
 * NULL-terminated array, for a last check of files before they leave the
 * machine (the evidence bundle refuses a file containing one).  *out is
 * the caller's, freed with redact_list_free(); the count is returned.
 * Thread-safe.
 */
size_t redact_list(char ***out);
void redact_list_free(char **list); /* wipes the copies; NULL-safe */

/* Forget every secret (wiping the copies) and free the registry.  For the
 * end of the process and for tests.  Thread-safe. */
void redact_clear(void);

/* Append @in[0..len) to @out with every registered secret replaced.
 * RT_ETRUNC when @out's cap is reached (the redacted prefix that fits is
 * kept: a cut never exposes part of a secret).  Thread-safe. */
enum rt_err redact_append(struct buf *out, const char *in, size_t len);

/*
 * For log lines: copy @in[0..len) into @out (NUL-terminated, @out_len > 0),
 * secrets replaced, control characters (newlines included) turned into
 * spaces, and cut with "..." when longer than @out_len - 1.  Returns @out.
 * Thread-safe.
 */
char *redact_line(char *out, size_t out_len, const char *in, size_t len);

#endif
