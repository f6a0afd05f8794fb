/*
 * OAuth client credentials and the shared token cache.
 *
 * Invariants of the cache (all under @lock):
 *   - at most one thread fetches a token at a time (@refreshing);
 *   - @generation counts installed tokens, so a 401 reported against an
 *     old generation never throws away a newer token;
 *   - a token is used until it expires even while a refresh is pending, so
 *     refresh-ahead never stalls the other threads.
 * Token lifetimes are measured from just before the token request was
 * sent, so the cache never believes a token lives longer than it does.
 */
#include "api/oauth.h"

#include <cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/base64.h"
#include "api/redact.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"

#define REFRESH_MARGIN_MAX_NS (60 * NS_PER_S)
#define RETRY_HOLDOFF_NS (5 * NS_PER_S)

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

static void free_secret(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

void oauth_config_init(struct oauth_config *self)
{
    memset(self, 0, sizeof(*self));
}

void oauth_config_release(struct oauth_config *self)
{
    free(self->client_id);
    free_secret(self->client_secret);
    free_secret(self->access_token);
    free(self->target);
    oauth_config_init(self);
}

static char *env_value(const char *name)
{
    const char *v = getenv(name);

    return v && *v ? xstrdup(v) : NULL;
}

void oauth_config_from_env(struct oauth_config *self)
{
    self->client_id = env_value("GENESYSCLOUD_OAUTHCLIENT_ID");
    self->client_secret = env_value("GENESYSCLOUD_OAUTHCLIENT_SECRET");
    self->access_token = env_value("GENESYSCLOUD_ACCESS_TOKEN");
    self->target = env_value("GENESYSCLOUD_REGION");
    redact_add(self->client_secret);
    redact_add(self->access_token);
}

static char *first_set(const char *a, const char *b, const char *c)
{
    return xstrdup(a ? a : b ? b : c);
}

void oauth_config_merge(struct oauth_config *out,
                        const struct oauth_config *flags,
                        const struct oauth_config *env,
                        const struct oauth_config *scenario)
{
    static const struct oauth_config none;

    if (!flags)
        flags = &none;
    if (!env)
        env = &none;
    if (!scenario)
        scenario = &none;
    out->client_id =
        first_set(flags->client_id, env->client_id, scenario->client_id);
    out->client_secret = first_set(flags->client_secret, env->client_secret,
                                   scenario->client_secret);
    out->access_token = first_set(flags->access_token, env->access_token,
                                  scenario->access_token);
    out->target = first_set(flags->target, env->target, scenario->target);
    redact_add(out->client_secret);
    redact_add(out->access_token);
}

/* ------------------------------------------------------------------ */
/* One token request                                                   */

/* "Authorization: Basic base64(id:secret)" into @out (registered for
 * redaction, both the whole header value and the encoding). */
static void basic_header(struct buf *out, const char *id, const char *secret)
{
    struct buf plain, enc;

    buf_init(&plain, OAUTH_TOKEN_MAX);
    buf_init(&enc, OAUTH_TOKEN_MAX * 2);
    buf_printf(&plain, "%s:%s", id, secret);
    base64_encode(&enc, plain.data, plain.len);
    redact_add(buf_str(&enc));
    buf_printf(out, "Authorization: Basic %s", buf_str(&enc));
    if (plain.data)
        explicit_bzero(plain.data, plain.len);
    if (enc.data)
        explicit_bzero(enc.data, enc.len);
    buf_release(&plain);
    buf_release(&enc);
}

static const char *json_string(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(item) && item->valuestring && *item->valuestring
               ? item->valuestring
               : NULL;
}

/*
 * One line describing an error body, redacted and cut: the OAuth fields
 * ("invalid_client: client not found"), else an ErrorBody message, else
 * the raw text.
 */
static void describe_error_body(const struct http_response *resp, char *out,
                                size_t out_len)
{
    cJSON *root = NULL;
    struct buf text;
    const char *error, *desc, *message;

    buf_init(&text, 4096);
    if (resp->body.len)
        root =
            cJSON_ParseWithLengthOpts(resp->body.data, resp->body.len, NULL, 0);
    if (cJSON_IsObject(root)) {
        error = json_string(root, "error");
        desc = json_string(root, "description");
        if (!desc)
            desc = json_string(root, "error_description");
        message = json_string(root, "message");
        if (error && desc)
            buf_printf(&text, "%s: %s", error, desc);
        else if (error || desc)
            buf_puts(&text, error ? error : desc);
        else if (message)
            buf_puts(&text, message);
    }
    if (!text.len && resp->body.len)
        buf_append(&text, resp->body.data,
                   resp->body.len < 4096 ? resp->body.len : 4096);
    redact_line(out, out_len, buf_str(&text), text.len);
    cJSON_Delete(root);
    buf_release(&text);
}

static enum rt_err parse_token(const struct http_response *resp,
                               const char *url, struct oauth_token *out)
{
    const char *end = NULL, *type;
    cJSON *root, *tok = NULL, *exp;
    enum rt_err err = RT_OK;
    size_t len;

    root = cJSON_ParseWithLengthOpts(resp->body.data, resp->body.len, &end, 0);
    if (!root) {
        long off = end && resp->body.data ? (long)(end - resp->body.data) : 0;
        return rt_fail(RT_EPARSE,
                       "cannot parse the token response from '%s': invalid "
                       "JSON at byte %ld",
                       url, off);
    }
    tok = cJSON_GetObjectItemCaseSensitive(root, "access_token");
    if (!cJSON_IsString(tok) || !tok->valuestring || !*tok->valuestring) {
        err = rt_fail(RT_EPARSE,
                      "token response from '%s' has no 'access_token'", url);
        goto out;
    }
    /* Hide the token before anything else can print it. */
    redact_add(tok->valuestring);
    len = strlen(tok->valuestring);
    if (len >= sizeof(out->access_token)) {
        err = rt_fail(RT_EPARSE, "token from '%s' is longer than %d bytes", url,
                      OAUTH_TOKEN_MAX - 1);
        goto out;
    }
    type = json_string(root, "token_type");
    if (type && strcasecmp(type, "bearer")) {
        char line[64];
        err = rt_fail(RT_EPARSE, "token from '%s' has type '%s', not bearer",
                      url, redact_line(line, sizeof(line), type, strlen(type)));
        goto out;
    }
    memcpy(out->access_token, tok->valuestring, len + 1);
    snprintf(out->token_type, sizeof(out->token_type), "%s",
             type ? type : "bearer");
    exp = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
    out->expires_in_s = -1;
    if (cJSON_IsNumber(exp) && exp->valuedouble >= 0 && exp->valuedouble < 1e9)
        out->expires_in_s = (int64_t)exp->valuedouble;
out:
    if (cJSON_IsString(tok) && tok->valuestring)
        explicit_bzero(tok->valuestring, strlen(tok->valuestring));
    cJSON_Delete(root);
    return err;
}

enum rt_err oauth_request_token(struct http_client *http, const char *login_url,
                                const char *client_id,
                                const char *client_secret,
                                struct http_response *resp,
                                struct oauth_token *out)
{
    static const char form[] = "grant_type=client_credentials";
    struct buf url, auth;
    struct http_request req = {0};
    char detail[320];
    enum rt_err err;
    size_t n;

    /* Whoever called us, the secret is hidden from here on. */
    redact_add(client_secret);
    buf_init(&url, 1024);
    buf_init(&auth, OAUTH_HEADER_MAX * 2);
    n = strlen(login_url);
    while (n > 0 && login_url[n - 1] == '/')
        n--;
    buf_append(&url, login_url, n);
    buf_puts(&url, "/oauth/token");
    basic_header(&auth, client_id, client_secret);

    req.method = "POST";
    req.url = buf_str(&url);
    req.headers[0] = buf_str(&auth);
    req.headers[1] = "Content-Type: application/x-www-form-urlencoded";
    req.headers[2] = "Accept: application/json";
    req.n_headers = 3;
    req.body = form;
    req.body_len = sizeof(form) - 1;
    err = http_client_perform(http, &req, resp);
    if (err == RT_ETIMEOUT || err == RT_EHTTP || err == RT_ETRUNC) {
        char line[HTTP_ERROR_MAX];
        err = rt_fail(
            err == RT_ETIMEOUT ? RT_ETIMEOUT : RT_EHTTP,
            "cannot get an access token from '%s': %s", buf_str(&url),
            redact_line(line, sizeof(line), resp->error, strlen(resp->error)));
        goto out;
    }
    if (err) {
        err = rt_fail(err, "cannot get an access token from '%s': %s",
                      buf_str(&url), rt_strerror(err));
        goto out;
    }
    if (resp->status != 200) {
        describe_error_body(resp, detail, sizeof(detail));
        if (resp->status == 400 || resp->status == 401 || resp->status == 403)
            err = RT_EAUTH;
        else if (resp->status == 429)
            err = RT_ETHROTTLED;
        else
            err = RT_EHTTP;
        log_error("cannot get an access token from '%s': HTTP %ld%s%s%s",
                  buf_str(&url), resp->status, detail[0] ? ": " : "", detail,
                  err == RT_EAUTH ? " (check GENESYSCLOUD_OAUTHCLIENT_ID and "
                                    "GENESYSCLOUD_OAUTHCLIENT_SECRET)"
                                  : "");
        goto out;
    }
    err = parse_token(resp, buf_str(&url), out);
    if (!err)
        log_debug("got an access token from '%s', expires in %lld s",
                  buf_str(&url), (long long)out->expires_in_s);
out:
    /* The body of a successful exchange is the token itself. */
    if (resp->body.data)
        explicit_bzero(resp->body.data, resp->body.len);
    buf_reset(&resp->body);
    if (auth.data)
        explicit_bzero(auth.data, auth.len);
    buf_release(&auth);
    buf_release(&url);
    return err;
}

/* ------------------------------------------------------------------ */
/* The shared token cache                                              */

struct oauth_cache {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a fetch finished */
    char *login_url, *client_id, *client_secret;
    int fixed; /* a fixed token: never fetched, never renewed */
    int64_t (*now_mono_ns)(void *ctx);
    void *clock_ctx;
    oauth_exchange_fn on_exchange;
    void *exchange_ctx;

    char token[OAUTH_TOKEN_MAX]; /* secret */
    int have_token;
    int rejected; /* the current token got a 401 */
    uint64_t generation;
    int64_t expires_mono_ns;
    int64_t refresh_mono_ns;
    int refreshing;
    uint64_t attempts; /* finished fetches */
    enum rt_err last_err;
    struct oauth_cache_stats stats;
};

static int64_t default_now(void *ctx)
{
    (void)ctx;
    return clock_mono_ns();
}

enum rt_err oauth_cache_new(struct oauth_cache **out,
                            const struct oauth_cache_config *cfg)
{
    struct oauth_cache *self;
    int fixed = cfg->access_token && *cfg->access_token;

    if (!fixed) {
        if (!cfg->client_id || !*cfg->client_id || !cfg->client_secret ||
            !*cfg->client_secret)
            return rt_fail(RT_EINVAL,
                           "no credentials: set GENESYSCLOUD_OAUTHCLIENT_ID "
                           "and GENESYSCLOUD_OAUTHCLIENT_SECRET, or "
                           "GENESYSCLOUD_ACCESS_TOKEN");
        if (!cfg->login_url || !*cfg->login_url)
            return rt_fail(RT_EINVAL, "no login URL for the OAuth client");
    }
    if (fixed && strlen(cfg->access_token) >= OAUTH_TOKEN_MAX)
        return rt_fail(RT_EINVAL, "access token longer than %d bytes",
                       OAUTH_TOKEN_MAX - 1);
    self = xcalloc(1, sizeof(*self));
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->cond, NULL);
    self->now_mono_ns = cfg->now_mono_ns ? cfg->now_mono_ns : default_now;
    self->clock_ctx = cfg->clock_ctx;
    self->on_exchange = cfg->on_exchange;
    self->exchange_ctx = cfg->exchange_ctx;
    self->fixed = fixed;
    if (fixed) {
        redact_add(cfg->access_token);
        snprintf(self->token, sizeof(self->token), "%s", cfg->access_token);
        self->have_token = 1;
        self->generation = 1;
        self->expires_mono_ns = INT64_MAX;
        self->refresh_mono_ns = INT64_MAX;
    } else {
        redact_add(cfg->client_secret);
        self->login_url = xstrdup(cfg->login_url);
        self->client_id = xstrdup(cfg->client_id);
        self->client_secret = xstrdup(cfg->client_secret);
    }
    *out = self;
    return RT_OK;
}

void oauth_cache_free(struct oauth_cache *self)
{
    if (!self)
        return;
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    free(self->login_url);
    free(self->client_id);
    free_secret(self->client_secret);
    explicit_bzero(self->token, sizeof(self->token));
    free(self);
}

/* Called with the lock held. */
static void install(struct oauth_cache *self, const struct oauth_token *tok,
                    int64_t sent_mono_ns)
{
    int64_t life, margin;

    snprintf(self->token, sizeof(self->token), "%s", tok->access_token);
    self->have_token = 1;
    self->rejected = 0;
    self->generation++;
    if (tok->expires_in_s < 0) {
        /* No lifetime given: keep it until a 401 says otherwise. */
        self->expires_mono_ns = INT64_MAX;
        self->refresh_mono_ns = INT64_MAX;
        return;
    }
    life = tok->expires_in_s * NS_PER_S;
    margin =
        life / 10 < REFRESH_MARGIN_MAX_NS ? life / 10 : REFRESH_MARGIN_MAX_NS;
    self->expires_mono_ns = sent_mono_ns + life;
    self->refresh_mono_ns = self->expires_mono_ns - margin;
}

static void copy_header(const struct oauth_cache *self, char *header,
                        size_t header_len, uint64_t *generation)
{
    snprintf(header, header_len, "Authorization: Bearer %s", self->token);
    *generation = self->generation;
}

/* Fetch a token with the lock released; returns with it held again. */
static enum rt_err fetch_unlocked(struct oauth_cache *self,
                                  struct http_client *http, int64_t now)
{
    struct http_response resp;
    struct http_request shown = {.method = "POST"};
    struct oauth_token *tok = xmalloc(sizeof(*tok));
    struct buf url;
    enum rt_err err;

    self->refreshing = 1;
    pthread_mutex_unlock(&self->lock);

    http_response_init(&resp);
    err = oauth_request_token(http, self->login_url, self->client_id,
                              self->client_secret, &resp, tok);
    if (self->on_exchange) {
        buf_init(&url, 1024);
        buf_printf(&url, "%s/oauth/token", self->login_url);
        shown.url = buf_str(&url);
        self->on_exchange(self->exchange_ctx, OAUTH_EXCHANGE_TOKEN, &shown,
                          &resp);
        buf_release(&url);
    }
    http_response_release(&resp);

    pthread_mutex_lock(&self->lock);
    self->refreshing = 0;
    self->attempts++;
    self->last_err = err;
    self->stats.token_requests++;
    if (err)
        self->stats.token_failures++;
    else
        install(self, tok, now);
    pthread_cond_broadcast(&self->cond);
    explicit_bzero(tok, sizeof(*tok));
    free(tok);
    return err;
}

enum rt_err oauth_cache_bearer(struct oauth_cache *self,
                               struct http_client *http, char *header,
                               size_t header_len, uint64_t *generation)
{
    enum rt_err err = RT_OK;
    int64_t now;
    int usable;

    pthread_mutex_lock(&self->lock);
    if (self->fixed) {
        copy_header(self, header, header_len, generation);
        goto out;
    }
    for (;;) {
        now = self->now_mono_ns(self->clock_ctx);
        usable =
            self->have_token && !self->rejected && now < self->expires_mono_ns;
        if (usable && (now < self->refresh_mono_ns || self->refreshing)) {
            copy_header(self, header, header_len, generation);
            break;
        }
        if (self->refreshing) {
            uint64_t seen = self->attempts;
            while (self->refreshing)
                pthread_cond_wait(&self->cond, &self->lock);
            /* The fetch we waited for failed: report it rather than
             * start another at once. */
            if (self->attempts != seen && self->last_err) {
                err = self->last_err;
                break;
            }
            continue;
        }
        err = fetch_unlocked(self, http, now);
        if (!err) {
            /* Use what we just got, even if a zero lifetime makes it
             * look expired: the server decides. */
            copy_header(self, header, header_len, generation);
            break;
        }
        if (usable) {
            /* Refresh-ahead failed; the old token is still good.  Try
             * again a little later, not on every request. */
            int64_t left = self->expires_mono_ns - now;
            self->refresh_mono_ns =
                now +
                (left / 2 < RETRY_HOLDOFF_NS ? left / 2 : RETRY_HOLDOFF_NS);
            log_warn("cannot renew the access token; using the current one "
                     "until it expires");
            copy_header(self, header, header_len, generation);
            err = RT_OK;
        }
        break;
    }
out:
    pthread_mutex_unlock(&self->lock);
    return err;
}

enum rt_err oauth_cache_reject(struct oauth_cache *self, uint64_t generation)
{
    enum rt_err err = RT_OK;

    pthread_mutex_lock(&self->lock);
    if (self->fixed) {
        err = RT_EAUTH;
        if (!self->rejected)
            log_error("the access token from GENESYSCLOUD_ACCESS_TOKEN was "
                      "rejected (HTTP 401) and cannot be renewed");
        self->rejected = 1;
    } else if (generation == self->generation && !self->rejected) {
        self->rejected = 1;
        self->stats.rejected++;
    }
    pthread_mutex_unlock(&self->lock);
    return err;
}

static enum rt_err perform_once(struct oauth_cache *self,
                                struct http_client *http,
                                const struct http_request *req,
                                struct http_response *resp,
                                uint64_t *generation)
{
    char *header = xmalloc(OAUTH_HEADER_MAX);
    struct http_request with = *req;
    enum rt_err err;

    err = oauth_cache_bearer(self, http, header, OAUTH_HEADER_MAX, generation);
    if (err) {
        /* Nothing was sent: leave no earlier exchange's status behind. */
        http_response_reset(resp);
        snprintf(resp->error, sizeof(resp->error), "no access token: %s",
                 rt_strerror(err));
        goto out;
    }
    with.headers[with.n_headers++] = header;
    err = http_client_perform(http, &with, resp);
    if (self->on_exchange)
        self->on_exchange(self->exchange_ctx, OAUTH_EXCHANGE_API, req, resp);
out:
    explicit_bzero(header, OAUTH_HEADER_MAX);
    free(header);
    return err;
}

enum rt_err oauth_cache_perform(struct oauth_cache *self,
                                struct http_client *http,
                                const struct http_request *req,
                                struct http_response *resp)
{
    uint64_t generation;
    enum rt_err err;

    if (req->n_headers >= HTTP_HEADERS_MAX)
        return rt_fail(RT_EINVAL, "too many headers for '%s'", req->url);
    err = perform_once(self, http, req, resp, &generation);
    if (err || resp->status != 401)
        return err;
    if (oauth_cache_reject(self, generation))
        return RT_OK; /* the 401 stands */
    return perform_once(self, http, req, resp, &generation);
}

void oauth_cache_get_stats(struct oauth_cache *self,
                           struct oauth_cache_stats *out)
{
    pthread_mutex_lock(&self->lock);
    *out = self->stats;
    pthread_mutex_unlock(&self->lock);
}
