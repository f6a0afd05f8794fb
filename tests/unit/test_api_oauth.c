/* OAuth client credentials and the shared token cache against the mock
 * server; expiry decisions run on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/oauth.h"
#include "api/redact.h"
#include "base/clock.h"
#include "support/capture.h"
#include "support/files.h"
#include "support/mockhttp.h"

#define CLIENT_ID "my-client"
#define SECRET "my-secret"
/* base64("my-client:my-secret"), computed independently. */
#define BASIC "Basic bXktY2xpZW50Om15LXNlY3JldA=="

struct fixture {
    struct mockhttp *mock;
    struct http_client *http;
    struct http_response resp;
    int64_t now; /* the fake clock */
    char url[256];
};

static int64_t fake_now(void *ctx)
{
    return ((struct fixture *)ctx)->now;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f || !(f->mock = mockhttp_start()))
        return -1;
    if (http_client_new(&f->http, NULL))
        return -1;
    http_response_init(&f->resp);
    f->now = 1000 * NS_PER_S;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    http_response_release(&f->resp);
    http_client_free(f->http);
    mockhttp_free(f->mock);
    free(f);
    redact_clear();
    return 0;
}

static const char *url_of(struct fixture *f, const char *path)
{
    snprintf(f->url, sizeof(f->url), "%s%s", mockhttp_url(f->mock), path);
    return f->url;
}

static void script_token(struct fixture *f, const char *token, int expires_in,
                         int times)
{
    char body[256];
    struct mockhttp_response m = {
        .method = "POST",
        .path = "/oauth/token",
        .times = times,
        .headers = {"Content-Type: application/json"},
        .body = body,
    };

    snprintf(body, sizeof(body),
             "{\"access_token\":\"%s\",\"token_type\":\"bearer\","
             "\"expires_in\":%d}",
             token, expires_in);
    mockhttp_script(f->mock, &m);
}

static void script_api(struct fixture *f, int status, int times)
{
    struct mockhttp_response m = {.path = "/api/v2/users/u1",
                                  .status = status,
                                  .times = times,
                                  .body = "{\"version\":1}"};

    mockhttp_script(f->mock, &m);
}

static struct oauth_cache *new_cache(struct fixture *f, int fake_clock)
{
    struct oauth_cache_config cfg = {
        .login_url = mockhttp_url(f->mock),
        .client_id = CLIENT_ID,
        .client_secret = SECRET,
        .now_mono_ns = fake_clock ? fake_now : NULL,
        .clock_ctx = f,
    };
    struct oauth_cache *c = NULL;

    assert_int_equal(oauth_cache_new(&c, &cfg), RT_OK);
    return c;
}

static void token_request_is_exactly_what_genesys_expects(void **state)
{
    struct fixture *f = *state;
    struct oauth_token tok;
    const struct mockhttp_request *r;

    script_token(f, "tok-abc", 86399, 1);
    assert_int_equal(oauth_request_token(f->http, mockhttp_url(f->mock),
                                         CLIENT_ID, SECRET, &f->resp, &tok),
                     RT_OK);
    assert_string_equal(tok.access_token, "tok-abc");
    assert_string_equal(tok.token_type, "bearer");
    assert_int_equal(tok.expires_in_s, 86399);
    /* The body held the token; it is gone. */
    assert_int_equal(f->resp.body.len, 0);
    assert_int_equal(f->resp.status, 200);

    assert_int_equal(mockhttp_count(f->mock), 1);
    r = mockhttp_request(f->mock, 0);
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->url, "/oauth/token");
    assert_string_equal(r->authorization, BASIC);
    assert_string_equal(r->content_type, "application/x-www-form-urlencoded");
    assert_string_equal(r->body, "grant_type=client_credentials");
}

static void oauth_error_is_reported_without_the_secret(void **state)
{
    struct fixture *f = *state;
    /* A hostile server that echoes the credentials back. */
    struct mockhttp_response m = {
        .method = "POST",
        .path = "/oauth/token",
        .status = 400,
        .body = "{\"error\":\"invalid_client\",\"description\":\"client "
                "my-client with secret my-secret and header "
                "bXktY2xpZW50Om15LXNlY3JldA== not found\","
                "\"error_description\":\"client not found\"}",
    };
    struct oauth_token tok;
    char *log;

    mockhttp_script(f->mock, &m);
    capture_stderr_begin();
    assert_int_equal(oauth_request_token(f->http, mockhttp_url(f->mock),
                                         CLIENT_ID, SECRET, &f->resp, &tok),
                     RT_EAUTH);
    log = capture_stderr_end();
    assert_non_null(strstr(log, "cannot get an access token from '"));
    assert_non_null(strstr(log, "HTTP 400: invalid_client: client "));
    assert_non_null(strstr(log, "[redacted]"));
    assert_null(strstr(log, SECRET));
    assert_null(strstr(log, "bXktY2xpZW50Om15LXNlY3JldA=="));
    free(log);
}

static void token_from_a_success_never_reaches_the_log(void **state)
{
    struct fixture *f = *state;
    struct oauth_token tok;
    struct mockhttp_response m = {
        .method = "POST",
        .path = "/oauth/token",
        .body = "{\"access_token\":\"tok-secret-1\",\"token_type\":\"mac\"}",
    };
    char *log;

    /* A 200 with a token we refuse: the message names the problem, not the
     * token. */
    mockhttp_script(f->mock, &m);
    capture_stderr_begin();
    assert_int_equal(oauth_request_token(f->http, mockhttp_url(f->mock),
                                         CLIENT_ID, SECRET, &f->resp, &tok),
                     RT_EPARSE);
    log = capture_stderr_end();
    assert_non_null(strstr(log, "has type 'mac'"));
    assert_null(strstr(log, "tok-secret-1"));
    free(log);
}

static void token_is_reused_for_many_calls(void **state)
{
    struct fixture *f = *state;
    struct oauth_cache *c = new_cache(f, 1);
    struct http_request req = {.method = "GET",
                               .url = url_of(f, "/api/v2/users/u1")};
    struct oauth_cache_stats st;

    script_token(f, "tok-1", 86399, MOCKHTTP_FOREVER);
    script_api(f, 200, MOCKHTTP_FOREVER);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(oauth_cache_perform(c, f->http, &req, &f->resp),
                         RT_OK);
        assert_int_equal(f->resp.status, 200);
        f->now += 60 * NS_PER_S;
    }
    assert_int_equal(mockhttp_count_matching(f->mock, "POST", "/oauth/token"),
                     1);
    assert_int_equal(
        mockhttp_count_matching(f->mock, "GET", "/api/v2/users/u1"), 20);
    for (size_t i = 0; i < mockhttp_count(f->mock); i++) {
        const struct mockhttp_request *r = mockhttp_request(f->mock, i);
        if (!strcmp(r->method, "GET"))
            assert_string_equal(r->authorization, "Bearer tok-1");
    }
    oauth_cache_get_stats(c, &st);
    assert_int_equal(st.token_requests, 1);
    oauth_cache_free(c);
}

static void refresh_starts_at_ten_percent_of_the_lifetime_left(void **state)
{
    struct fixture *f = *state;
    struct oauth_cache *c = new_cache(f, 1);
    char hdr[OAUTH_HEADER_MAX];
    uint64_t gen;
    int64_t t0 = f->now;

    script_token(f, "tok-1", 100, 1);
    script_token(f, "tok-2", 100, 1);
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_OK);
    assert_string_equal(hdr, "Authorization: Bearer tok-1");
    assert_int_equal(gen, 1);
    /* 100 s lifetime: the margin is 10 s, so refresh from 90 s on. */
    f->now = t0 + 90 * NS_PER_S - 1;
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_OK);
    assert_string_equal(hdr, "Authorization: Bearer tok-1");
    assert_int_equal(mockhttp_count(f->mock), 1);
    f->now = t0 + 90 * NS_PER_S;
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_OK);
    assert_string_equal(hdr, "Authorization: Bearer tok-2");
    assert_int_equal(gen, 2);
    assert_int_equal(mockhttp_count(f->mock), 2);
    oauth_cache_free(c);
}

static void refresh_margin_is_at_most_sixty_seconds(void **state)
{
    struct fixture *f = *state;
    struct oauth_cache *c = new_cache(f, 1);
    char hdr[OAUTH_HEADER_MAX];
    uint64_t gen;
    int64_t t0 = f->now;

    script_token(f, "tok-1", 3600, 1);
    script_token(f, "tok-2", 3600, 1);
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_OK);
    /* 10% would be 360 s; 60 s is smaller. */
    f->now = t0 + 3540 * NS_PER_S - 1;
    oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen);
    assert_string_equal(hdr, "Authorization: Bearer tok-1");
    f->now = t0 + 3540 * NS_PER_S;
    oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen);
    assert_string_equal(hdr, "Authorization: Bearer tok-2");
    assert_int_equal(mockhttp_count(f->mock), 2);
    oauth_cache_free(c);
}

static void failed_refresh_keeps_the_valid_token(void **state)
{
    struct fixture *f = *state;
    struct oauth_cache *c = new_cache(f, 1);
    struct mockhttp_response down = {.method = "POST",
                                     .path = "/oauth/token",
                                     .status = 503,
                                     .body = "{\"message\":\"down\"}"};
    struct oauth_cache_stats st;
    char hdr[OAUTH_HEADER_MAX];
    uint64_t gen;
    int64_t t0 = f->now;

    script_token(f, "tok-1", 100, 1);
    mockhttp_script(f->mock, &down);
    script_token(f, "tok-2", 100, 1);
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_OK);
    capture_stderr_begin();
    f->now = t0 + 95 * NS_PER_S;
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_OK);
    free(capture_stderr_end());
    assert_string_equal(hdr, "Authorization: Bearer tok-1");
    /* Not on every request: a second later nothing new is asked. */
    f->now = t0 + 96 * NS_PER_S;
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_OK);
    assert_int_equal(mockhttp_count(f->mock), 2);
    /* Once expired, a new token is a must. */
    f->now = t0 + 100 * NS_PER_S;
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_OK);
    assert_string_equal(hdr, "Authorization: Bearer tok-2");
    oauth_cache_get_stats(c, &st);
    assert_int_equal(st.token_requests, 3);
    assert_int_equal(st.token_failures, 1);
    oauth_cache_free(c);
}

static void expired_token_and_failed_fetch_is_an_error(void **state)
{
    struct fixture *f = *state;
    struct oauth_cache *c = new_cache(f, 1);
    struct mockhttp_response denied = {.method = "POST",
                                       .path = "/oauth/token",
                                       .status = 401,
                                       .body =
                                           "{\"error\":\"invalid_client\"}"};
    char hdr[OAUTH_HEADER_MAX];
    uint64_t gen;

    mockhttp_script(f->mock, &denied);
    capture_stderr_begin();
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_EAUTH);
    free(capture_stderr_end());
    oauth_cache_free(c);
}

static void token_failure_leaves_no_stale_response(void **state)
{
    struct fixture *f = *state;
    struct oauth_cache *c = new_cache(f, 1);
    struct mockhttp_response denied = {.method = "POST",
                                       .path = "/oauth/token",
                                       .status = 400,
                                       .body =
                                           "{\"error\":\"invalid_client\"}"};
    struct http_request req = {.method = "GET",
                               .url = url_of(f, "/api/v2/users/u1")};

    script_token(f, "tok-1", 100, 1);
    mockhttp_script(f->mock, &denied);
    script_api(f, 200, MOCKHTTP_FOREVER);
    assert_int_equal(oauth_cache_perform(c, f->http, &req, &f->resp), RT_OK);
    assert_int_equal(f->resp.status, 200);
    f->now += 100 * NS_PER_S; /* expired */
    capture_stderr_begin();
    assert_int_equal(oauth_cache_perform(c, f->http, &req, &f->resp), RT_EAUTH);
    free(capture_stderr_end());
    assert_int_equal(f->resp.status, 0);
    assert_int_equal(f->resp.body.len, 0);
    assert_int_equal(f->resp.result, HTTP_RESULT_TRANSPORT);
    assert_non_null(strstr(f->resp.error, "no access token"));
    assert_int_equal(mockhttp_count_matching(f->mock, "GET", NULL), 1);
    oauth_cache_free(c);
}

static void a_401_renews_the_token_and_retries_once(void **state)
{
    struct fixture *f = *state;
    struct oauth_cache *c = new_cache(f, 1);
    struct http_request req = {.method = "GET",
                               .url = url_of(f, "/api/v2/users/u1")};
    struct oauth_cache_stats st;
    const struct mockhttp_request *r;

    script_token(f, "tok-1", 86399, 1);
    script_token(f, "tok-2", 86399, 1);
    script_api(f, 401, 1);
    script_api(f, 200, 1);
    assert_int_equal(oauth_cache_perform(c, f->http, &req, &f->resp), RT_OK);
    assert_int_equal(f->resp.status, 200);
    /* token, 401 call, token, 200 call */
    assert_int_equal(mockhttp_count(f->mock), 4);
    r = mockhttp_request(f->mock, 1);
    assert_string_equal(r->authorization, "Bearer tok-1");
    r = mockhttp_request(f->mock, 3);
    assert_string_equal(r->authorization, "Bearer tok-2");
    oauth_cache_get_stats(c, &st);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(st.token_requests, 2);
    oauth_cache_free(c);
}

static void a_persistent_401_is_retried_only_once(void **state)
{
    struct fixture *f = *state;
    struct oauth_cache *c = new_cache(f, 1);
    struct http_request req = {.method = "GET",
                               .url = url_of(f, "/api/v2/users/u1")};

    script_token(f, "tok-1", 86399, MOCKHTTP_FOREVER);
    script_api(f, 401, MOCKHTTP_FOREVER);
    assert_int_equal(oauth_cache_perform(c, f->http, &req, &f->resp), RT_OK);
    assert_int_equal(f->resp.status, 401);
    assert_int_equal(mockhttp_count_matching(f->mock, "GET", NULL), 2);
    assert_int_equal(mockhttp_count_matching(f->mock, "POST", NULL), 2);
    oauth_cache_free(c);
}

static void stale_generation_reject_keeps_the_newer_token(void **state)
{
    struct fixture *f = *state;
    struct oauth_cache *c = new_cache(f, 1);
    char hdr[OAUTH_HEADER_MAX];
    uint64_t gen1, gen2;

    script_token(f, "tok-1", 86399, 1);
    script_token(f, "tok-2", 86399, 1);
    oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen1);
    assert_int_equal(oauth_cache_reject(c, gen1), RT_OK);
    assert_int_equal(oauth_cache_reject(c, gen1), RT_OK); /* counted once */
    oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen2);
    assert_string_equal(hdr, "Authorization: Bearer tok-2");
    /* A late 401 on tok-1 must not throw tok-2 away. */
    assert_int_equal(oauth_cache_reject(c, gen1), RT_OK);
    oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen2);
    assert_string_equal(hdr, "Authorization: Bearer tok-2");
    assert_int_equal(mockhttp_count(f->mock), 2);
    oauth_cache_free(c);
}

static void fixed_access_token_is_used_as_is(void **state)
{
    struct fixture *f = *state;
    struct oauth_cache_config cfg = {.access_token = "fixed-tok-xyz"};
    struct http_request req = {.method = "GET",
                               .url = url_of(f, "/api/v2/users/u1")};
    struct oauth_cache *c;
    char *log;

    script_api(f, 200, 1);
    script_api(f, 401, MOCKHTTP_FOREVER);
    assert_int_equal(oauth_cache_new(&c, &cfg), RT_OK);
    assert_int_equal(oauth_cache_perform(c, f->http, &req, &f->resp), RT_OK);
    assert_int_equal(f->resp.status, 200);
    assert_string_equal(mockhttp_request(f->mock, 0)->authorization,
                        "Bearer fixed-tok-xyz");
    /* A 401 cannot be fixed by renewing: no retry, no token request. */
    capture_stderr_begin();
    assert_int_equal(oauth_cache_perform(c, f->http, &req, &f->resp), RT_OK);
    log = capture_stderr_end();
    assert_int_equal(f->resp.status, 401);
    assert_int_equal(mockhttp_count(f->mock), 2);
    assert_non_null(strstr(log, "GENESYSCLOUD_ACCESS_TOKEN was rejected"));
    assert_null(strstr(log, "fixed-tok-xyz"));
    free(log);
    oauth_cache_free(c);
}

static void cache_without_credentials_is_refused(void **state)
{
    struct oauth_cache_config cfg = {.login_url = "https://login.x",
                                     .client_id = "id"};
    struct oauth_cache *c = NULL;
    char *log;

    (void)state;
    capture_stderr_begin();
    assert_int_equal(oauth_cache_new(&c, &cfg), RT_EINVAL);
    log = capture_stderr_end();
    assert_null(c);
    assert_non_null(strstr(log, "GENESYSCLOUD_OAUTHCLIENT_SECRET"));
    free(log);
}

struct exchange_log {
    pthread_mutex_t lock;
    int tokens, apis, leaked;
};

static void on_exchange(void *ctx, enum oauth_exchange kind,
                        const struct http_request *req,
                        const struct http_response *resp)
{
    struct exchange_log *x = ctx;

    pthread_mutex_lock(&x->lock);
    if (kind == OAUTH_EXCHANGE_TOKEN)
        x->tokens++;
    else
        x->apis++;
    for (size_t i = 0; i < req->n_headers; i++)
        if (strstr(req->headers[i], "Authorization"))
            x->leaked++;
    if (strstr(buf_str(&resp->body), "tok-"))
        x->leaked++;
    pthread_mutex_unlock(&x->lock);
}

struct worker {
    struct oauth_cache *cache;
    const char *url;
    int ok;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct http_client *http;
    struct http_response resp;
    struct http_request req = {.method = "GET", .url = w->url};

    if (http_client_new(&http, NULL))
        return NULL;
    http_response_init(&resp);
    for (int i = 0; i < 25; i++)
        if (oauth_cache_perform(w->cache, http, &req, &resp) == RT_OK &&
            resp.status == 200)
            w->ok++;
    http_response_release(&resp);
    http_client_free(http);
    return NULL;
}

static void threads_share_one_token(void **state)
{
    struct fixture *f = *state;
    struct exchange_log x = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct oauth_cache_config cfg = {
        .login_url = mockhttp_url(f->mock),
        .client_id = CLIENT_ID,
        .client_secret = SECRET,
        .on_exchange = on_exchange,
        .exchange_ctx = &x,
    };
    struct oauth_cache *c;
    struct worker w[4];
    pthread_t t[4];

    script_token(f, "tok-1", 86399, MOCKHTTP_FOREVER);
    script_api(f, 200, MOCKHTTP_FOREVER);
    assert_int_equal(oauth_cache_new(&c, &cfg), RT_OK);
    url_of(f, "/api/v2/users/u1");
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.cache = c, .url = f->url};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, 25);
    }
    assert_int_equal(mockhttp_count_matching(f->mock, "POST", "/oauth/token"),
                     1);
    assert_int_equal(x.tokens, 1);
    assert_int_equal(x.apis, 100);
    assert_int_equal(x.leaked, 0);
    oauth_cache_free(c);
}

static void config_comes_from_env_and_flags_win(void **state)
{
    struct oauth_config env, flags, scenario, merged;

    (void)state;
    setenv("GENESYSCLOUD_OAUTHCLIENT_ID", "env-id", 1);
    setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", "env-secret", 1);
    setenv("GENESYSCLOUD_REGION", "usw2.pure.cloud", 1);
    setenv("GENESYSCLOUD_ACCESS_TOKEN", "", 1); /* empty = unset */
    oauth_config_init(&env);
    assert_int_equal(oauth_config_from_env(&env), RT_OK);
    assert_string_equal(env.client_id, "env-id");
    assert_string_equal(env.client_secret, "env-secret");
    assert_string_equal(env.target, "usw2.pure.cloud");
    assert_null(env.access_token);

    oauth_config_init(&flags);
    flags.target = strdup("http://127.0.0.1:9000");
    oauth_config_init(&scenario);
    scenario.target = strdup("sim");
    scenario.client_id = strdup("scenario-id");
    scenario.access_token = strdup("scenario-token");

    oauth_config_init(&merged);
    oauth_config_merge(&merged, &flags, &env, &scenario);
    assert_string_equal(merged.target, "http://127.0.0.1:9000");
    assert_string_equal(merged.client_id, "env-id");
    assert_string_equal(merged.client_secret, "env-secret");
    assert_string_equal(merged.access_token, "scenario-token");
    oauth_config_release(&merged);

    oauth_config_init(&merged);
    oauth_config_merge(&merged, NULL, NULL, &scenario);
    assert_string_equal(merged.target, "sim");
    assert_null(merged.client_secret);
    oauth_config_release(&merged);

    /* The environment's secret is hidden from now on. */
    {
        char line[64];
        redact_line(line, sizeof(line), "x env-secret y", 14);
        assert_string_equal(line, "x [redacted] y");
    }
    oauth_config_release(&env);
    oauth_config_release(&flags);
    oauth_config_release(&scenario);
    unsetenv("GENESYSCLOUD_OAUTHCLIENT_ID");
    unsetenv("GENESYSCLOUD_OAUTHCLIENT_SECRET");
    unsetenv("GENESYSCLOUD_REGION");
    unsetenv("GENESYSCLOUD_ACCESS_TOKEN");
    redact_clear();
}

/* ------------------------------------------------------------------ */
/* The secret from a file                                              */

#define SECRET_ENV "GENESYSCLOUD_OAUTHCLIENT_SECRET"
#define SECRET_FILE_ENV "GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE"

struct secret_dir {
    char dir[256];
    char path[320];
};

static void secret_dir_make(struct secret_dir *d, const char *name)
{
    assert_int_equal(files_mkdtemp(d->dir, sizeof(d->dir), "rt-secret"), 0);
    snprintf(d->path, sizeof(d->path), "%s/%s", d->dir, name);
}

static void secret_dir_remove(struct secret_dir *d)
{
    assert_int_equal(files_remove_tree(d->dir), 0);
    unsetenv(SECRET_ENV);
    unsetenv(SECRET_FILE_ENV);
    redact_clear();
}

/* Write @text to @path with @mode (chmod, so the umask does not matter). */
static void write_secret(const char *path, const char *text, mode_t mode)
{
    files_write(path, text, strlen(text));
    assert_int_equal(chmod(path, mode), 0);
}

/* oauth_config_from_env() with GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE=@path;
 * returns its result, the config (released by the caller) in @c and what
 * it logged in *@log (caller frees). */
static enum rt_err from_env_with_file(const char *path, struct oauth_config *c,
                                      char **log)
{
    enum rt_err err;

    setenv(SECRET_FILE_ENV, path, 1);
    oauth_config_init(c);
    capture_stderr_begin();
    err = oauth_config_from_env(c);
    *log = capture_stderr_end();
    return err;
}

static int count_lines(const char *text)
{
    int n = 0;

    for (; *text; text++)
        n += *text == '\n';
    return n;
}

/* A refusal: RT_EINVAL, nothing kept, exactly one line naming the file and
 * containing @want. */
static void assert_refused(const char *path, const char *want)
{
    struct oauth_config c;
    char *log;

    assert_int_equal(from_env_with_file(path, &c, &log), RT_EINVAL);
    assert_null(c.client_secret);
    assert_null(c.client_id);
    if (!strstr(log, want) || !strstr(log, path) || count_lines(log) != 1)
        print_error("want one line with '%s' and '%s', got:\n%s", want, path,
                    log);
    assert_non_null(strstr(log, want));
    assert_non_null(strstr(log, path));
    assert_int_equal(count_lines(log), 1);
    free(log);
    oauth_config_release(&c);
}

static void secret_file_of_mode_600_is_read_without_its_newline(void **state)
{
    struct secret_dir d;
    struct oauth_config c;
    char *log, line[64];

    (void)state;
    secret_dir_make(&d, "secret");
    setenv("GENESYSCLOUD_OAUTHCLIENT_ID", "file-id", 1);
    write_secret(d.path, "s3cret-from-file\n", 0600);
    assert_int_equal(from_env_with_file(d.path, &c, &log), RT_OK);
    assert_string_equal(c.client_secret, "s3cret-from-file");
    assert_string_equal(c.client_id, "file-id");
    assert_string_equal(log, "");
    free(log);
    /* Registered for redaction as soon as it was read. */
    redact_line(line, sizeof(line), "x s3cret-from-file y", 20);
    assert_string_equal(line, "x [redacted] y");
    oauth_config_release(&c);

    /* Read-only for the owner is fine too, and CRLF endings go. */
    write_secret(d.path, "s3cret-2\r\n", 0400);
    assert_int_equal(from_env_with_file(d.path, &c, &log), RT_OK);
    assert_string_equal(c.client_secret, "s3cret-2");
    free(log);
    oauth_config_release(&c);

    /* A symbolic link is followed: the file it names is what counts. */
    {
        char link[400];
        snprintf(link, sizeof(link), "%s/link", d.dir);
        assert_int_equal(symlink(d.path, link), 0);
        assert_int_equal(from_env_with_file(link, &c, &log), RT_OK);
        assert_string_equal(c.client_secret, "s3cret-2");
        free(log);
        oauth_config_release(&c);
    }
    unsetenv("GENESYSCLOUD_OAUTHCLIENT_ID");
    secret_dir_remove(&d);
}

static void secret_file_open_to_others_is_refused(void **state)
{
    static const mode_t modes[] = {0644, 0640, 0604, 0620, 0602, 0660, 0666};
    struct secret_dir d;
    char fix[400];

    (void)state;
    secret_dir_make(&d, "secret");
    snprintf(fix, sizeof(fix), "run: chmod 600 '%s'", d.path);
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        char mode[16];
        write_secret(d.path, "s3cret\n", modes[i]);
        snprintf(mode, sizeof(mode), "(mode %03o)", (unsigned)modes[i]);
        assert_refused(d.path, fix);
        assert_refused(d.path, mode);
    }
    secret_dir_remove(&d);
}

static void secret_file_of_another_user_is_refused(void **state)
{
    struct secret_dir d;

    (void)state;
    /* Only root can give a file away; as anyone else there is no such
     * file to test with. */
    if (geteuid() != 0) {
        skip();
        return;
    }
    secret_dir_make(&d, "secret");
    write_secret(d.path, "s3cret\n", 0600);
    assert_int_equal(chown(d.path, 65534, 65534), 0);
    assert_refused(d.path, "owned by uid 65534, not by you (uid 0)");
    secret_dir_remove(&d);
}

static void secret_file_must_be_a_regular_file(void **state)
{
    struct secret_dir d;
    char fifo[400];

    (void)state;
    secret_dir_make(&d, "secret");
    assert_int_equal(mkdir(d.path, 0700), 0);
    assert_refused(d.path, "not a regular file");
    /* A FIFO with no writer would block a plain open() for ever. */
    snprintf(fifo, sizeof(fifo), "%s/fifo", d.dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_refused(fifo, "not a regular file");
    snprintf(fifo, sizeof(fifo), "%s/missing", d.dir);
    assert_refused(fifo, "cannot open the secret file");
    secret_dir_remove(&d);
}

static void empty_or_multi_line_secret_file_is_refused(void **state)
{
    struct secret_dir d;
    struct oauth_config c;
    char *log;

    (void)state;
    secret_dir_make(&d, "secret");
    write_secret(d.path, "", 0600);
    assert_refused(d.path, "it is empty");
    write_secret(d.path, "\n\n", 0600);
    assert_refused(d.path, "it is empty");
    /* Two lines: probably the wrong file; whatever it holds stays out of
     * the message. */
    write_secret(d.path, "ID=abc\nSECRET=xyz-123\n", 0600);
    assert_int_equal(from_env_with_file(d.path, &c, &log), RT_EINVAL);
    assert_non_null(strstr(log, "alone on one line"));
    assert_null(strstr(log, "xyz-123"));
    free(log);
    oauth_config_release(&c);
    secret_dir_remove(&d);
}

static void secret_in_both_env_and_file_is_refused(void **state)
{
    struct secret_dir d;

    (void)state;
    secret_dir_make(&d, "secret");
    write_secret(d.path, "from-file\n", 0600);
    setenv(SECRET_ENV, "from-env", 1);
    assert_refused(d.path, "both GENESYSCLOUD_OAUTHCLIENT_SECRET and "
                           "GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE are set "
                           "(to '");
    /* An empty variable counts as unset, as everywhere else. */
    setenv(SECRET_ENV, "", 1);
    {
        struct oauth_config c;
        char *log;
        assert_int_equal(from_env_with_file(d.path, &c, &log), RT_OK);
        assert_string_equal(c.client_secret, "from-file");
        free(log);
        oauth_config_release(&c);
    }
    secret_dir_remove(&d);
}

/* ------------------------------------------------------------------ */
/* Token endpoint throttling                                           */

static const char body_429[] =
    "{\"message\":\"Rate limit exceeded the maximum. Retry the request in "
    "[1] seconds\",\"code\":\"too.many.requests.retry.after\",\"status\":"
    "429,\"contextId\":\"ctx\",\"details\":[],\"errors\":[]}";

static void script_429(struct fixture *f, const char *retry_after, int times)
{
    char header[64];
    struct mockhttp_response m = {.method = "POST",
                                  .path = "/oauth/token",
                                  .status = 429,
                                  .times = times,
                                  .body = body_429};

    if (retry_after) {
        snprintf(header, sizeof(header), "Retry-After: %s", retry_after);
        m.headers[0] = header;
    }
    mockhttp_script(f->mock, &m);
}

/* What the exchange hook saw, in order. */
struct token_log {
    pthread_mutex_t lock;
    int n;
    long status[16];
    int64_t retry_after_s[16];
    int64_t send_mono_ns[16], recv_mono_ns[16];
};

static void on_token_exchange(void *ctx, enum oauth_exchange kind,
                              const struct http_request *req,
                              const struct http_response *resp)
{
    struct token_log *x = ctx;

    (void)req;
    pthread_mutex_lock(&x->lock);
    if (kind == OAUTH_EXCHANGE_TOKEN && x->n < 16) {
        x->status[x->n] = resp->status;
        x->retry_after_s[x->n] = resp->retry_after_s;
        x->send_mono_ns[x->n] = resp->send_mono_ns;
        x->recv_mono_ns[x->n] = resp->recv_mono_ns;
        x->n++;
    }
    pthread_mutex_unlock(&x->lock);
}

static struct oauth_cache *new_logged_cache(struct fixture *f,
                                            struct token_log *x, int fake_clock,
                                            int64_t default_wait_ns)
{
    struct oauth_cache_config cfg = {
        .login_url = mockhttp_url(f->mock),
        .client_id = CLIENT_ID,
        .client_secret = SECRET,
        .now_mono_ns = fake_clock ? fake_now : NULL,
        .clock_ctx = f,
        .on_exchange = on_token_exchange,
        .exchange_ctx = x,
        .throttle_wait_default_ns = default_wait_ns,
    };
    struct oauth_cache *c = NULL;

    pthread_mutex_init(&x->lock, NULL);
    x->n = 0;
    assert_int_equal(oauth_cache_new(&c, &cfg), RT_OK);
    return c;
}

static void
throttled_token_request_waits_retry_after_then_succeeds(void **state)
{
    struct fixture *f = *state;
    struct token_log x;
    struct oauth_cache *c = new_logged_cache(f, &x, 0, 0);
    struct oauth_cache_stats st;
    char hdr[OAUTH_HEADER_MAX], *log;
    uint64_t gen;

    script_429(f, "1", 2);
    script_token(f, "tok-after-429", 86399, 1);
    capture_stderr_begin();
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_OK);
    log = capture_stderr_end();
    assert_string_equal(hdr, "Authorization: Bearer tok-after-429");
    /* Every attempt reached the hook, 429s with their Retry-After. */
    assert_int_equal(x.n, 3);
    assert_int_equal(x.status[0], 429);
    assert_int_equal(x.retry_after_s[0], 1);
    assert_int_equal(x.status[1], 429);
    assert_int_equal(x.status[2], 200);
    /* Nothing was sent before the Retry-After had passed. */
    assert_true(x.send_mono_ns[1] - x.recv_mono_ns[0] >= NS_PER_S);
    assert_true(x.send_mono_ns[2] - x.recv_mono_ns[1] >= NS_PER_S);
    oauth_cache_get_stats(c, &st);
    assert_int_equal(st.token_requests, 3);
    assert_int_equal(st.token_throttled, 2);
    assert_int_equal(st.token_failures, 2);
    assert_true(st.throttle_wait_ns >= 2 * NS_PER_S);
    /* One warning per wait, no error. */
    assert_int_equal(count_lines(log), 2);
    assert_non_null(strstr(log, "retry 1 of 5"));
    assert_null(strstr(log, "error"));
    free(log);
    oauth_cache_free(c);
    pthread_mutex_destroy(&x.lock);
}

static void
throttle_without_retry_after_uses_the_message_or_default(void **state)
{
    struct fixture *f = *state;
    struct token_log x;
    /* 20 ms instead of 3 s, so the test does not sit still. */
    struct oauth_cache *c = new_logged_cache(f, &x, 0, 20 * NS_PER_MS);
    struct mockhttp_response bare = {
        .method = "POST", .path = "/oauth/token", .status = 429};
    struct oauth_cache_stats st;
    char hdr[OAUTH_HEADER_MAX];
    uint64_t gen;

    mockhttp_script(f->mock, &bare);
    script_token(f, "tok-1", 86399, 1);
    capture_stderr_begin();
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_OK);
    free(capture_stderr_end());
    assert_int_equal(x.n, 2);
    assert_int_equal(x.retry_after_s[0], -1);
    assert_true(x.send_mono_ns[1] - x.recv_mono_ns[0] >= 20 * NS_PER_MS);
    oauth_cache_get_stats(c, &st);
    assert_int_equal(st.token_throttled, 1);
    oauth_cache_free(c);
    pthread_mutex_destroy(&x.lock);

    /* No header, but the ErrorBody's "[1] seconds": that is the wait. */
    c = new_logged_cache(f, &x, 0, 20 * NS_PER_MS);
    script_429(f, NULL, 1);
    script_token(f, "tok-2", 86399, 1);
    capture_stderr_begin();
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_OK);
    free(capture_stderr_end());
    assert_string_equal(hdr, "Authorization: Bearer tok-2");
    assert_true(x.send_mono_ns[1] - x.recv_mono_ns[0] >= NS_PER_S);
    oauth_cache_free(c);
    pthread_mutex_destroy(&x.lock);
}

static void persistent_throttling_gives_up_after_bounded_retries(void **state)
{
    struct fixture *f = *state;
    struct token_log x;
    struct oauth_cache *c = new_logged_cache(f, &x, 0, 0);
    char hdr[OAUTH_HEADER_MAX], *log;
    uint64_t gen;

    script_429(f, "0", MOCKHTTP_FOREVER);
    capture_stderr_begin();
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_ETHROTTLED);
    log = capture_stderr_end();
    assert_int_equal(mockhttp_count(f->mock), 1 + OAUTH_THROTTLE_RETRIES);
    assert_int_equal(x.n, 1 + OAUTH_THROTTLE_RETRIES);
    assert_non_null(strstr(log, "still answers 429 after 5 retries"));
    free(log);
    oauth_cache_free(c);
    pthread_mutex_destroy(&x.lock);
}

static void retry_after_above_the_limit_is_not_waited(void **state)
{
    struct fixture *f = *state;
    struct token_log x;
    struct oauth_cache *c = new_logged_cache(f, &x, 0, 0);
    struct oauth_cache_stats st;
    char hdr[OAUTH_HEADER_MAX], *log;
    uint64_t gen;

    script_429(f, "181", MOCKHTTP_FOREVER);
    capture_stderr_begin();
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_ETHROTTLED);
    log = capture_stderr_end();
    assert_int_equal(mockhttp_count(f->mock), 1);
    assert_non_null(strstr(log, "asks to wait 181 s"));
    assert_int_equal(count_lines(log), 1);
    oauth_cache_get_stats(c, &st);
    assert_int_equal(st.throttle_wait_ns, 0);
    free(log);
    oauth_cache_free(c);
    pthread_mutex_destroy(&x.lock);
}

static void
throttled_refresh_ahead_keeps_the_token_without_waiting(void **state)
{
    struct fixture *f = *state;
    struct token_log x;
    struct oauth_cache *c = new_logged_cache(f, &x, 1, 0);
    struct oauth_cache_stats st;
    char hdr[OAUTH_HEADER_MAX];
    uint64_t gen;
    int64_t t0 = f->now;

    script_token(f, "tok-1", 3600, 1);
    script_429(f, "20", 1);
    script_token(f, "tok-2", 3600, 1);
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_OK);
    /* Refresh time (60 s before expiry): throttled, the old token is
     * used at once. */
    f->now = t0 + 3540 * NS_PER_S;
    capture_stderr_begin();
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_OK);
    free(capture_stderr_end());
    assert_string_equal(hdr, "Authorization: Bearer tok-1");
    oauth_cache_get_stats(c, &st);
    assert_int_equal(st.throttle_wait_ns, 0);
    assert_int_equal(mockhttp_count(f->mock), 2);
    /* Not again before the 20 s the server asked for... */
    f->now = t0 + 3559 * NS_PER_S;
    oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen);
    assert_string_equal(hdr, "Authorization: Bearer tok-1");
    assert_int_equal(mockhttp_count(f->mock), 2);
    /* ...and then it renews. */
    f->now = t0 + 3560 * NS_PER_S;
    oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen);
    assert_string_equal(hdr, "Authorization: Bearer tok-2");
    assert_int_equal(x.n, 3);
    oauth_cache_free(c);
    pthread_mutex_destroy(&x.lock);
}

struct bearer_call {
    struct oauth_cache *cache;
    const char *url;
    enum rt_err err;
    char header[OAUTH_HEADER_MAX];
};

static void *bearer_main(void *arg)
{
    struct bearer_call *b = arg;
    struct http_client *http;
    uint64_t gen;

    if (http_client_new(&http, NULL)) {
        b->err = RT_EIO;
        return NULL;
    }
    b->err =
        oauth_cache_bearer(b->cache, http, b->header, sizeof(b->header), &gen);
    http_client_free(http);
    return NULL;
}

static void stop_ends_a_throttle_wait(void **state)
{
    struct fixture *f = *state;
    struct token_log x;
    struct oauth_cache *c = new_logged_cache(f, &x, 0, 0);
    struct bearer_call b = {.cache = c};
    pthread_t t;
    char *log;

    script_429(f, "100", MOCKHTTP_FOREVER);
    capture_stderr_begin();
    assert_int_equal(pthread_create(&t, NULL, bearer_main, &b), 0);
    /* The 429 is on its way; whether the wait has begun or not, stopping
     * ends it. */
    mockhttp_wait_count(f->mock, 1);
    oauth_cache_stop(c);
    pthread_join(t, NULL);
    log = capture_stderr_end();
    assert_int_equal(b.err, RT_EINTR);
    assert_int_equal(mockhttp_count(f->mock), 1);
    free(log);
    oauth_cache_free(c);
    pthread_mutex_destroy(&x.lock);
}

static void a_slow_refresh_does_not_hold_other_threads(void **state)
{
    struct fixture *f = *state;
    struct oauth_cache *c = new_cache(f, 1);
    struct mockhttp_response stalled = {
        .method = "POST",
        .path = "/oauth/token",
        .headers = {"Content-Type: application/json"},
        .body = "{\"access_token\":\"tok-2\",\"expires_in\":3600}",
        .behaviour = MOCKHTTP_STALL};
    struct bearer_call b = {.cache = c};
    char hdr[OAUTH_HEADER_MAX];
    uint64_t gen;
    pthread_t t;

    script_token(f, "tok-1", 3600, 1);
    mockhttp_script(f->mock, &stalled);
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_OK);
    f->now += 3540 * NS_PER_S; /* refresh time, still valid */
    assert_int_equal(pthread_create(&t, NULL, bearer_main, &b), 0);
    /* The other thread's token request is at the server, stalled. */
    mockhttp_wait_count(f->mock, 2);
    /* This thread is not made to wait for it. */
    assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                     RT_OK);
    assert_string_equal(hdr, "Authorization: Bearer tok-1");
    mockhttp_release(f->mock);
    pthread_join(t, NULL);
    assert_int_equal(b.err, RT_OK);
    assert_string_equal(b.header, "Authorization: Bearer tok-2");
    oauth_cache_free(c);
}

static void refused_credentials_are_asked_once_and_never_shown(void **state)
{
    struct fixture *f = *state;
    struct mockhttp_response denied = {
        .method = "POST",
        .path = "/oauth/token",
        .status = 401,
        .times = MOCKHTTP_FOREVER,
        .body = "{\"error\":\"invalid_client\",\"description\":\"bad secret "
                "my-secret\"}"};
    struct oauth_cache *c = new_cache(f, 1);
    struct http_request req = {.method = "GET",
                               .url = url_of(f, "/api/v2/users/u1")};
    char hdr[OAUTH_HEADER_MAX], *log;
    uint64_t gen;

    mockhttp_script(f->mock, &denied);
    capture_stderr_begin();
    for (int i = 0; i < 3; i++)
        assert_int_equal(oauth_cache_bearer(c, f->http, hdr, sizeof(hdr), &gen),
                         RT_EAUTH);
    assert_int_equal(oauth_cache_perform(c, f->http, &req, &f->resp), RT_EAUTH);
    log = capture_stderr_end();
    assert_int_equal(mockhttp_count(f->mock), 1);
    assert_int_equal(count_lines(log), 1);
    assert_non_null(strstr(log, "HTTP 401: invalid_client: bad secret "
                                "[redacted]"));
    assert_non_null(strstr(log, "GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE"));
    assert_null(strstr(log, SECRET));
    free(log);
    oauth_cache_free(c);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(token_request_is_exactly_what_genesys_expects),
        T(oauth_error_is_reported_without_the_secret),
        T(token_from_a_success_never_reaches_the_log),
        T(token_is_reused_for_many_calls),
        T(refresh_starts_at_ten_percent_of_the_lifetime_left),
        T(refresh_margin_is_at_most_sixty_seconds),
        T(failed_refresh_keeps_the_valid_token),
        T(expired_token_and_failed_fetch_is_an_error),
        T(token_failure_leaves_no_stale_response),
        T(a_401_renews_the_token_and_retries_once),
        T(a_persistent_401_is_retried_only_once),
        T(stale_generation_reject_keeps_the_newer_token),
        T(fixed_access_token_is_used_as_is),
        cmocka_unit_test(cache_without_credentials_is_refused),
        T(threads_share_one_token),
        cmocka_unit_test(config_comes_from_env_and_flags_win),
        cmocka_unit_test(secret_file_of_mode_600_is_read_without_its_newline),
        cmocka_unit_test(secret_file_open_to_others_is_refused),
        cmocka_unit_test(secret_file_of_another_user_is_refused),
        cmocka_unit_test(secret_file_must_be_a_regular_file),
        cmocka_unit_test(empty_or_multi_line_secret_file_is_refused),
        cmocka_unit_test(secret_in_both_env_and_file_is_refused),
        T(throttled_token_request_waits_retry_after_then_succeeds),
        T(throttle_without_retry_after_uses_the_message_or_default),
        T(persistent_throttling_gives_up_after_bounded_retries),
        T(retry_after_above_the_limit_is_not_waited),
        T(throttled_refresh_ahead_keeps_the_token_without_waiting),
        T(stop_ends_a_throttle_wait),
        T(a_slow_refresh_does_not_hold_other_threads),
        T(refused_credentials_are_asked_once_and_never_shown),
    };
    int rc;

    if (http_global_init())
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    http_global_cleanup();
    return rc;
}
