/*
 * OAuth client-credentials login (genesys-api.md §1.2) and the token cache
 * every thread shares.
 *
 * Credentials follow the Genesys tooling conventions:
 * GENESYSCLOUD_OAUTHCLIENT_ID, GENESYSCLOUD_OAUTHCLIENT_SECRET (or
 * GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE, a file holding it),
 * GENESYSCLOUD_REGION and GENESYSCLOUD_ACCESS_TOKEN (a token used as is).
 * Flags beat the environment, the environment beats the scenario file.
 *
 * Secrets (client secret, Basic credentials, every token) are registered
 * with api/redact.h as soon as they are known and never logged; every error
 * message that quotes a server body goes through redaction.
 */
#ifndef RT_API_OAUTH_H
#define RT_API_OAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "api/http.h"
#include "base/err.h"

#define OAUTH_TOKEN_MAX 4096
#define OAUTH_HEADER_MAX (OAUTH_TOKEN_MAX + 32)

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

/*
 * Where credentials come from.  Every field is an owned string or NULL
 * when unset.  @target is a region key, a region domain, a URL or "sim"
 * (--target, GENESYSCLOUD_REGION, the scenario's "target").
 */
struct oauth_config {
    char *client_id;
    char *client_secret; /* secret */
    char *access_token;  /* secret; when set it is used as is */
    char *target;
};

/* All fields unset.  Not thread-safe. */
void oauth_config_init(struct oauth_config *self);
/* Free the fields, wiping the secrets first.  Not thread-safe. */
void oauth_config_release(struct oauth_config *self);

/* Longest secret file accepted, in bytes. */
#define OAUTH_SECRET_FILE_MAX 4096

/*
 * Fill @self (initialised, empty) from the GENESYSCLOUD_* environment
 * variables; empty values count as unset.  The client secret comes from
 * GENESYSCLOUD_OAUTHCLIENT_SECRET or from the file named by
 * GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE: a regular file (symbolic links are
 * followed) owned by the effective user, with no permission bits for group
 * or others (mode 600 or 400), holding the secret on one line (trailing
 * newlines are dropped), at most OAUTH_SECRET_FILE_MAX bytes.  Setting both
 * variables is refused as ambiguous.  The secret and the token are
 * registered for redaction as soon as they are read.
 *
 * Returns RT_OK, or RT_EINVAL after logging one line that names the file
 * (or the variables) and the fix; @self is then released (back to empty)
 * and the command line answers exit 2.  Thread-safe as far as getenv() is
 * (call it before starting threads).
 */
enum rt_err oauth_config_from_env(struct oauth_config *self);

/*
 * Field by field, the first one set among @flags, @env, @scenario (any may
 * be NULL) is copied into @out (initialised, empty; caller releases).
 * Not thread-safe.
 */
void oauth_config_merge(struct oauth_config *out,
                        const struct oauth_config *flags,
                        const struct oauth_config *env,
                        const struct oauth_config *scenario);

/* ------------------------------------------------------------------ */
/* One token request                                                   */

struct oauth_token {
    char access_token[OAUTH_TOKEN_MAX]; /* secret */
    char token_type[32];                /* "bearer" */
    int64_t expires_in_s;               /* -1 when the server did not say */
};

/*
 * POST {login_url}/oauth/token with Basic credentials and
 * grant_type=client_credentials, through @http; the raw exchange lands in
 * @resp (initialised by the caller; its body is wiped before return
 * because it holds the token).  On failure logs one line (server text
 * redacted) and returns RT_EAUTH (credentials refused: 400/401/403),
 * RT_ETHROTTLED (429), RT_EHTTP (other status or transport error),
 * RT_ETIMEOUT or RT_EPARSE (a 200 without a usable token).  @out is
 * filled, and the token registered for redaction, only on success.
 * Thread-safe if @http and @resp are the caller's own.
 */
enum rt_err oauth_request_token(struct http_client *http, const char *login_url,
                                const char *client_id,
                                const char *client_secret,
                                struct http_response *resp,
                                struct oauth_token *out);

/* ------------------------------------------------------------------ */
/* The shared token cache                                              */

struct oauth_cache;

enum oauth_exchange {
    OAUTH_EXCHANGE_TOKEN, /* a POST /oauth/token */
    OAUTH_EXCHANGE_API,   /* an API call made by oauth_cache_perform() */
};

/*
 * Called after every HTTP exchange the cache makes (each attempt of a
 * throttled token request included), on the thread that made it, so the
 * history can record it.  @req never contains the Authorization header or
 * a token request's body, and a token response's body is wiped (its
 * status and headers, Retry-After among them, are kept).  Called without
 * the cache's lock held.  Must be thread-safe.
 */
typedef void (*oauth_exchange_fn)(void *ctx, enum oauth_exchange kind,
                                  const struct http_request *req,
                                  const struct http_response *resp);

struct oauth_cache_config {
    const char *login_url; /* e.g. "https://login.usw2.pure.cloud" */
    const char *client_id; /* with client_secret, for client credentials */
    const char *client_secret;
    const char *access_token; /* fixed token; wins over the pair when set */
    /* Clock for expiry decisions; NULL means clock_mono_ns(). */
    int64_t (*now_mono_ns)(void *ctx);
    void *clock_ctx;
    oauth_exchange_fn on_exchange; /* may be NULL */
    void *exchange_ctx;
    /* Wait after a token endpoint 429 that says neither Retry-After nor
     * "[N] seconds"; 0 means OAUTH_THROTTLE_WAIT_NS_DEFAULT. */
    int64_t throttle_wait_default_ns;
};

/* A throttled token request is retried at most this many times... */
#define OAUTH_THROTTLE_RETRIES 5
/* ...after the server's Retry-After, or 3 s when it gives none (the .NET
 * SDK's RetryAfterDefaultMs)... */
#define OAUTH_THROTTLE_WAIT_NS_DEFAULT (INT64_C(3) * 1000000000)
/* ...and not at all when it asks for more than this (the .NET SDK's
 * limit, classify.h's CLASSIFY_RETRY_AFTER_MAX_S). */
#define OAUTH_THROTTLE_WAIT_MAX_S 180

struct oauth_cache_stats {
    uint64_t token_requests;  /* POST /oauth/token made */
    uint64_t token_failures;  /* of which failed (429s included) */
    uint64_t token_throttled; /* of which answered 429 */
    int64_t throttle_wait_ns; /* time spent waiting after those 429s */
    uint64_t rejected;        /* tokens marked bad after a 401 */
};

/*
 * New cache (caller frees with oauth_cache_free()).  Copies every string.
 * RT_EINVAL (logged) when there is neither a fixed token nor a complete
 * client id + secret pair, or no login URL for the pair.  Thread-safe once
 * created.
 */
enum rt_err oauth_cache_new(struct oauth_cache **out,
                            const struct oauth_cache_config *cfg);
void oauth_cache_free(struct oauth_cache *self); /* NULL-safe */

/*
 * Write "Authorization: Bearer <token>" into @header (at least
 * OAUTH_HEADER_MAX bytes) and the token's generation into *@generation.
 * Reuses the cached token; fetches one through the caller's @http when
 * there is none, it was rejected, or it is near expiry (less than 10% of
 * its lifetime or 60 s left, whichever is smaller).  One thread fetches
 * while the others keep using a still-valid token or wait for the new one;
 * a fetch never holds the lock while it talks to the server or waits.
 *
 * A failed refresh of a still-valid token is logged and the old token is
 * used (a 429 then only postpones the next try by its Retry-After).  With
 * no valid token, a 429 from the token endpoint is waited out and retried
 * (see OAUTH_THROTTLE_*), each attempt reported to the exchange hook.
 * Credentials refused (RT_EAUTH: 400, 401, 403) are logged once and
 * remembered: later calls fail at once without asking the server again.
 * Returns oauth_request_token()'s errors, or RT_EINTR once
 * oauth_cache_stop() was called during a throttle wait.  Thread-safe.
 */
enum rt_err oauth_cache_bearer(struct oauth_cache *self,
                               struct http_client *http, char *header,
                               size_t header_len, uint64_t *generation);

/*
 * The run is stopping: end every throttle wait now (those fetches return
 * RT_EINTR) and wait no more from now on.  Cached tokens stay usable.
 * Safe to call from any thread, any number of times.  Thread-safe.
 */
void oauth_cache_stop(struct oauth_cache *self);

/*
 * A request with the token of @generation got 401: mark it bad so the next
 * oauth_cache_bearer() fetches a new one (once, however many threads
 * report the same generation).  RT_OK means retrying once is worthwhile;
 * RT_EAUTH (logged) when the token is a fixed one that cannot be renewed.
 * Thread-safe.
 */
enum rt_err oauth_cache_reject(struct oauth_cache *self, uint64_t generation);

/*
 * Perform @req with the cached token added (@req must leave one header
 * slot free): on a 401 the token is rejected, renewed, and the request
 * sent once more.  Returns http_client_perform()'s result for the last
 * exchange (a 401 that persists is RT_OK with status 401), or the token
 * errors (then nothing was sent and @resp is reset: status 0, result
 * transport, error "no access token: ...").  Thread-safe if @http and
 * @resp are the caller's own.
 */
enum rt_err oauth_cache_perform(struct oauth_cache *self,
                                struct http_client *http,
                                const struct http_request *req,
                                struct http_response *resp);

void oauth_cache_get_stats(struct oauth_cache *self,
                           struct oauth_cache_stats *out);

#endif
