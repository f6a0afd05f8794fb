/*
 * OAuth client credentials and the shared token cache.
 *
 * Invariants of the cache (all under @lock):
 *   - at most one thread fetches a token at a time (@refreshing);
 *   - @generation counts installed tokens, so a 401 reported against an
 *     old generation never throws away a newer token;
 *   - a token is used until it expires even while a refresh is pending, so
 *     refresh-ahead never stalls the other threads, and a throttled
 *     refresh-ahead is not waited for at all;
 *   - nothing talks to the server or waits out a 429 with @lock held;
 *   - once the token endpoint refuses the credentials (@refused) it is not
 *     asked again: one error line, not one per thread and request.
 * Token lifetimes are measured from just before the token request was
 * sent, so the cache never believes a token lives longer than it does.
 */
#include "api/oauth.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/base64.h"
#include "api/classify.h"
#include "api/redact.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/units.h"
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

/*
 * The secret from @path into *@out (caller frees, wiping it).  The checks
 * run on the opened descriptor, so the file checked is the file read; the
 * content is not read at all when the permissions are wrong.  O_NONBLOCK
 * keeps a FIFO from blocking the open; it is then refused as not regular.
 */
static enum rt_err read_secret_file(const char *path, char **out)
{
    char *text = xmalloc(OAUTH_SECRET_FILE_MAX + 2);
    enum rt_err err = RT_EINVAL;
    size_t len = 0;
    struct stat st;
    ssize_t n;
    int fd;

    fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        rt_fail(err,
                "cannot open the secret file '%s' "
                "(GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE): %s",
                path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st)) {
        rt_fail(err, "cannot stat the secret file '%s': %s", path,
                strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rt_fail(err,
                "refusing the secret file '%s': not a regular file; "
                "put the secret alone in a file and run: chmod 600 "
                "<file>",
                path);
        goto out;
    }
    if (st.st_uid != geteuid()) {
        rt_fail(err,
                "refusing the secret file '%s': owned by uid %lu, not "
                "by you (uid %lu); copy it to a file of your own and "
                "run: chmod 600 <file>",
                path, (unsigned long)st.st_uid, (unsigned long)geteuid());
        goto out;
    }
    if (st.st_mode & 077) {
        rt_fail(err,
                "refusing the secret file '%s': group or others may "
                "read or write it (mode %03lo); run: chmod 600 '%s'",
                path, (unsigned long)(st.st_mode & 0777), path);
        goto out;
    }
    while (len <= OAUTH_SECRET_FILE_MAX) {
        n = read(fd, text + len, OAUTH_SECRET_FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rt_fail(err, "cannot read the secret file '%s': %s", path,
                    strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    text[len] = '\0';
    /* Hidden before any check can mention it, even a refused one. */
    redact_add_n(text, len);
    if (len > OAUTH_SECRET_FILE_MAX) {
        rt_fail(err, "refusing the secret file '%s': longer than %d bytes",
                path, OAUTH_SECRET_FILE_MAX);
        goto out;
    }
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    if (len == 0) {
        rt_fail(err,
                "refusing the secret file '%s': it is empty; write the "
                "client secret in it",
                path);
        goto out;
    }
    if (memchr(text, '\n', len) || memchr(text, '\r', len) ||
        memchr(text, '\0', len)) {
        rt_fail(err,
                "refusing the secret file '%s': the secret must be "
                "alone on one line",
                path);
        goto out;
    }
    redact_add_n(text, len);
    *out = xstrndup(text, len);
    err = RT_OK;
out:
    if (fd >= 0)
        close(fd);
    explicit_bzero(text, OAUTH_SECRET_FILE_MAX + 2);
    free(text);
    return err;
}

enum rt_err oauth_config_from_env(struct oauth_config *self)
{
    const char *file = getenv("GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE");
    enum rt_err err = RT_OK;

    self->client_id = env_value("GENESYSCLOUD_OAUTHCLIENT_ID");
    self->client_secret = env_value("GENESYSCLOUD_OAUTHCLIENT_SECRET");
    self->access_token = env_value("GENESYSCLOUD_ACCESS_TOKEN");
    self->target = env_value("GENESYSCLOUD_REGION");
    redact_add(self->client_secret);
    redact_add(self->access_token);
    if (file && *file) {
        /* Two sources could disagree, and guessing which one the user
         * meant would log in with the other one's secret. */
        if (self->client_secret)
            err = rt_fail(RT_EINVAL,
                          "both GENESYSCLOUD_OAUTHCLIENT_SECRET and "
                          "GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE are set "
                          "(to '%s'); unset one of them",
                          file);
        else
            err = read_secret_file(file, &self->client_secret);
    }
    if (err)
        oauth_config_release(self);
    return err;
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

/*
 * The token request behind oauth_request_token() and the cache.  With
 * @quiet_throttle a 429 is not logged (the cache says what it does about
 * it); *@retry_after_s gets a 429's wait (Retry-After, else the "[N]
 * seconds" of its ErrorBody, else -1).
 */
static enum rt_err request_token(struct http_client *http,
                                 const char *login_url, const char *client_id,
                                 const char *client_secret,
                                 struct http_response *resp,
                                 struct oauth_token *out, int quiet_throttle,
                                 int64_t *retry_after_s)
{
    static const char form[] = "grant_type=client_credentials";
    struct buf url, auth;
    struct http_request req = {0};
    struct classify_result cls;
    char detail[320], shown[512];
    enum rt_err err;
    size_t n;

    *retry_after_s = -1;
    /* Whoever called us, the secret is hidden from here on. */
    redact_add(client_secret);
    buf_init(&url, 1024);
    buf_init(&auth, OAUTH_HEADER_MAX * 2);
    n = strlen(login_url);
    while (n > 0 && login_url[n - 1] == '/')
        n--;
    buf_append(&url, login_url, n);
    buf_puts(&url, "/oauth/token");
    /* The URL is the user's configuration, but it is quoted in messages,
     * so it is redacted like anything else that is printed. */
    redact_line(shown, sizeof(shown), buf_str(&url), url.len);
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
        /* http.c redacted resp->error already; once more costs nothing. */
        char line[HTTP_ERROR_MAX];
        err = rt_fail(
            err == RT_ETIMEOUT ? RT_ETIMEOUT : RT_EHTTP,
            "cannot get an access token from '%s': %s", shown,
            redact_line(line, sizeof(line), resp->error, strlen(resp->error)));
        goto out;
    }
    if (err) {
        err = rt_fail(err, "cannot get an access token from '%s': %s", shown,
                      rt_strerror(err));
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
        if (err == RT_ETHROTTLED) {
            classify_response(resp, RT_OK, 0, &cls);
            *retry_after_s = cls.retry_after_s;
            if (quiet_throttle)
                goto out;
        }
        log_error("cannot get an access token from '%s': HTTP %ld%s%s%s", shown,
                  resp->status, detail[0] ? ": " : "", detail,
                  err == RT_EAUTH
                      ? " (check GENESYSCLOUD_OAUTHCLIENT_ID and the secret "
                        "in GENESYSCLOUD_OAUTHCLIENT_SECRET or "
                        "GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE)"
                      : "");
        goto out;
    }
    err = parse_token(resp, shown, out);
    if (!err)
        log_debug("got an access token from '%s', expires in %lld s", shown,
                  (long long)out->expires_in_s);
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

enum rt_err oauth_request_token(struct http_client *http, const char *login_url,
                                const char *client_id,
                                const char *client_secret,
                                struct http_response *resp,
                                struct oauth_token *out)
{
    int64_t retry_after_s;

    return request_token(http, login_url, client_id, client_secret, resp, out,
                         0, &retry_after_s);
}

/* ------------------------------------------------------------------ */
/* The shared token cache                                              */

struct oauth_cache {
    pthread_mutex_t lock;
    /* A fetch finished, or the cache is stopping.  On CLOCK_MONOTONIC, for
     * the throttle waits. */
    pthread_cond_t cond;
    char *login_url, *client_id, *client_secret;
    int fixed; /* a fixed token: never fetched, never renewed */
    int64_t (*now_mono_ns)(void *ctx);
    void *clock_ctx;
    oauth_exchange_fn on_exchange;
    void *exchange_ctx;
    int64_t throttle_wait_default_ns;

    char token[OAUTH_TOKEN_MAX]; /* secret */
    int have_token;
    int rejected; /* the current token got a 401 */
    uint64_t generation;
    int64_t expires_mono_ns;
    int64_t refresh_mono_ns;
    int refreshing;
    int refused;       /* the token endpoint refused the credentials */
    int stopping;      /* oauth_cache_stop() was called */
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
    pthread_condattr_t attr;
    int fixed = cfg->access_token && *cfg->access_token;

    if (!fixed) {
        if (!cfg->client_id || !*cfg->client_id || !cfg->client_secret ||
            !*cfg->client_secret)
            return rt_fail(RT_EINVAL,
                           "no credentials: set GENESYSCLOUD_OAUTHCLIENT_ID "
                           "and GENESYSCLOUD_OAUTHCLIENT_SECRET (or "
                           "GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE), or "
                           "GENESYSCLOUD_ACCESS_TOKEN");
        if (!cfg->login_url || !*cfg->login_url)
            return rt_fail(RT_EINVAL, "no login URL for the OAuth client");
    }
    if (fixed && strlen(cfg->access_token) >= OAUTH_TOKEN_MAX)
        return rt_fail(RT_EINVAL, "access token longer than %d bytes",
                       OAUTH_TOKEN_MAX - 1);
    if (cfg->throttle_wait_default_ns < 0)
        return rt_fail(RT_EINVAL, "negative default throttle wait");
    self = xcalloc(1, sizeof(*self));
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cond, &attr);
    pthread_condattr_destroy(&attr);
    self->now_mono_ns = cfg->now_mono_ns ? cfg->now_mono_ns : default_now;
    self->clock_ctx = cfg->clock_ctx;
    self->on_exchange = cfg->on_exchange;
    self->exchange_ctx = cfg->exchange_ctx;
    self->throttle_wait_default_ns = cfg->throttle_wait_default_ns
                                         ? cfg->throttle_wait_default_ns
                                         : OAUTH_THROTTLE_WAIT_NS_DEFAULT;
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

void oauth_cache_stop(struct oauth_cache *self)
{
    pthread_mutex_lock(&self->lock);
    self->stopping = 1;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
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

/* Hand one token exchange to the hook: method and URL only, the body is
 * already wiped.  Called without the lock. */
static void report_exchange(struct oauth_cache *self,
                            const struct http_response *resp)
{
    struct http_request shown = {.method = "POST"};
    struct buf url;

    if (!self->on_exchange)
        return;
    buf_init(&url, 1024);
    buf_printf(&url, "%s/oauth/token", self->login_url);
    shown.url = buf_str(&url);
    self->on_exchange(self->exchange_ctx, OAUTH_EXCHANGE_TOKEN, &shown, resp);
    buf_release(&url);
}

/*
 * Wait @ns of real time (the server's clock, not the expiry clock) or until
 * oauth_cache_stop(); returns 1 when stopped.  Adds the time waited to
 * *@waited_ns.  Called without the lock: the wait itself releases it, so
 * other threads keep using a valid token meanwhile.
 */
static int throttle_wait(struct oauth_cache *self, int64_t ns,
                         int64_t *waited_ns)
{
    int64_t start = clock_mono_ns(), deadline = start + ns;
    struct timespec ts = clock_mono_timespec(deadline);
    int stopped;

    pthread_mutex_lock(&self->lock);
    while (!(stopped = self->stopping) && clock_mono_ns() < deadline)
        pthread_cond_timedwait(&self->cond, &self->lock, &ts);
    pthread_mutex_unlock(&self->lock);
    *waited_ns += clock_mono_ns() - start;
    return stopped;
}

/*
 * Fetch a token with the lock released; returns with it held again.  With
 * @may_wait (no valid token to fall back on) a 429 is waited out and
 * retried, up to OAUTH_THROTTLE_RETRIES times; otherwise the first 429
 * ends the fetch and *@retry_after_ns says how long the server asked to
 * wait.  Every attempt goes to the exchange hook.
 */
static enum rt_err fetch_unlocked(struct oauth_cache *self,
                                  struct http_client *http, int64_t now,
                                  int may_wait, int64_t *retry_after_ns)
{
    struct oauth_token *tok = xmalloc(sizeof(*tok));
    struct oauth_cache_stats st = {0};
    struct http_response resp;
    int64_t sent = now, ra_s, wait_ns;
    char dur[32];
    enum rt_err err;

    *retry_after_ns = -1;
    self->refreshing = 1;
    pthread_mutex_unlock(&self->lock);

    http_response_init(&resp);
    for (int retry = 0;; retry++) {
        err = request_token(http, self->login_url, self->client_id,
                            self->client_secret, &resp, tok, 1, &ra_s);
        st.token_requests++;
        if (err)
            st.token_failures++;
        report_exchange(self, &resp);
        if (err != RT_ETHROTTLED)
            break;
        st.token_throttled++;
        wait_ns = ra_s >= 0 ? ra_s * NS_PER_S : self->throttle_wait_default_ns;
        *retry_after_ns = wait_ns;
        if (!may_wait)
            break;
        if (ra_s > OAUTH_THROTTLE_WAIT_MAX_S) {
            log_error("cannot get an access token: the token endpoint is "
                      "throttling and asks to wait %lld s (more than %d s)",
                      (long long)ra_s, OAUTH_THROTTLE_WAIT_MAX_S);
            break;
        }
        if (retry == OAUTH_THROTTLE_RETRIES) {
            log_error("cannot get an access token: the token endpoint still "
                      "answers 429 after %d retries",
                      OAUTH_THROTTLE_RETRIES);
            break;
        }
        log_warn("the token endpoint is throttling (HTTP 429); asking again "
                 "in %s (retry %d of %d)",
                 units_format_duration(wait_ns, dur, sizeof(dur)), retry + 1,
                 OAUTH_THROTTLE_RETRIES);
        if (throttle_wait(self, wait_ns, &st.throttle_wait_ns)) {
            err = RT_EINTR;
            break;
        }
        sent = self->now_mono_ns(self->clock_ctx);
    }
    http_response_release(&resp);

    pthread_mutex_lock(&self->lock);
    self->refreshing = 0;
    self->attempts++;
    self->last_err = err;
    self->stats.token_requests += st.token_requests;
    self->stats.token_failures += st.token_failures;
    self->stats.token_throttled += st.token_throttled;
    self->stats.throttle_wait_ns += st.throttle_wait_ns;
    /* Refused credentials stay refused: asking again would only repeat
     * the error (and look like an attack to the server). */
    if (err == RT_EAUTH)
        self->refused = 1;
    if (!err)
        install(self, tok, sent);
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
    int64_t now, retry_after_ns, hold;
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
        if (usable && (now < self->refresh_mono_ns || self->refreshing ||
                       self->refused)) {
            copy_header(self, header, header_len, generation);
            break;
        }
        if (self->refused) {
            /* Logged once, by the fetch that was refused. */
            err = RT_EAUTH;
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
        err = fetch_unlocked(self, http, now, !usable, &retry_after_ns);
        if (!err) {
            /* Use what we just got, even if a zero lifetime makes it
             * look expired: the server decides. */
            copy_header(self, header, header_len, generation);
            break;
        }
        if (usable) {
            /* Refresh-ahead failed; the old token is still good.  Try
             * again a little later (after a 429, no sooner than the server
             * asked), not on every request, and never wait for it. */
            int64_t left = self->expires_mono_ns - now;
            hold = RETRY_HOLDOFF_NS;
            if (err == RT_ETHROTTLED && retry_after_ns > hold)
                hold = retry_after_ns;
            if (hold > left / 2)
                hold = left / 2;
            self->refresh_mono_ns = now + hold;
            log_warn("cannot renew the access token (%s); using the current "
                     "one until it expires",
                     rt_strerror(err));
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
