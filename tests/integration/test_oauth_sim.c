/*
 * The token endpoint's limits against the in-process simulator, through
 * the real client: /oauth/token answers the normalized 429 with
 * Retry-After beyond world.rate_limit.token_per_minute, the token cache
 * waits it out and gets its token with every attempt recorded, and a
 * wrong secret is one error line that does not show it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "api/base64.h"
#include "api/http.h"
#include "api/oauth.h"
#include "api/redact.h"
#include "base/buf.h"
#include "base/clock.h"
#include "sim/sim.h"
#include "support/capture.h"

static struct sim *start_sim(int64_t token_per_minute)
{
    struct sim_config cfg;
    struct sim *sim = NULL;

    sim_config_defaults(&cfg);
    cfg.port = 0;
    cfg.agents = 5;
    cfg.world.presence_enabled = 0;
    cfg.world.token_rate_limit_per_min = token_per_minute;
    assert_int_equal(sim_start(&sim, &cfg), RT_OK);
    return sim;
}

/* POST /oauth/token by hand, so the test sees the body the client wipes. */
static void raw_token_request(struct sim *sim, struct http_client *http,
                              struct http_response *resp)
{
    const struct sim_config *cfg = sim_config(sim);
    struct buf plain, enc, auth, url;
    struct http_request req;

    buf_init(&plain, 256);
    buf_init(&enc, 512);
    buf_init(&auth, 600);
    buf_init(&url, 256);
    buf_printf(&plain, "%s:%s", cfg->client_id, cfg->client_secret);
    base64_encode(&enc, plain.data, plain.len);
    buf_printf(&auth, "Authorization: Basic %s", buf_str(&enc));
    buf_printf(&url, "%s/oauth/token", sim_url(sim));
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = buf_str(&url);
    req.headers[req.n_headers++] = buf_str(&auth);
    req.headers[req.n_headers++] =
        "Content-Type: application/x-www-form-urlencoded";
    req.body = "grant_type=client_credentials";
    req.body_len = strlen(req.body);
    assert_int_equal(http_client_perform(http, &req, resp), RT_OK);
    buf_release(&plain);
    buf_release(&enc);
    buf_release(&auth);
    buf_release(&url);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : "";
}

static void token_endpoint_answers_429_beyond_its_budget(void **state)
{
    struct sim *sim = start_sim(3);
    struct http_client *http;
    struct http_response resp;
    char want[128];
    cJSON *o;

    (void)state;
    assert_int_equal(http_client_new(&http, NULL), RT_OK);
    http_response_init(&resp);
    /* A budget of 3 a minute: three at once... */
    for (int k = 0; k < 3; k++) {
        raw_token_request(sim, http, &resp);
        assert_int_equal(resp.status, 200);
    }
    /* ...then the normalized 429 (genesys-api.md §3). */
    raw_token_request(sim, http, &resp);
    assert_int_equal(resp.status, 429);
    assert_true(resp.retry_after_s >= 1 && resp.retry_after_s <= 20);
    assert_int_equal(strlen(resp.correlation_id), 36);
    o = cJSON_Parse(buf_str(&resp.body));
    assert_non_null(o);
    assert_string_equal(str(o, "code"), "too.many.requests.retry.after");
    snprintf(want, sizeof(want),
             "Rate limit exceeded the maximum. Retry the request in [%lld] "
             "seconds",
             (long long)resp.retry_after_s);
    assert_string_equal(str(o, "message"), want);
    assert_string_equal(str(o, "contextId"), resp.correlation_id);
    assert_int_equal(
        (int)cJSON_GetObjectItemCaseSensitive(o, "status")->valuedouble, 429);
    cJSON_Delete(o);
    http_response_release(&resp);
    http_client_free(http);
    sim_stop(sim);
}

/* Every token exchange the cache reports, in order. */
#define LOG_MAX 512

struct token_log {
    pthread_mutex_t lock;
    size_t n;
    long status[LOG_MAX];
    int64_t retry_after_s[LOG_MAX];
    int64_t send_mono_ns[LOG_MAX], recv_mono_ns[LOG_MAX];
};

static void on_exchange(void *ctx, enum oauth_exchange kind,
                        const struct http_request *req,
                        const struct http_response *resp)
{
    struct token_log *x = ctx;

    (void)req;
    if (kind != OAUTH_EXCHANGE_TOKEN)
        return;
    pthread_mutex_lock(&x->lock);
    if (x->n < LOG_MAX) {
        x->status[x->n] = resp->status;
        x->retry_after_s[x->n] = resp->retry_after_s;
        x->send_mono_ns[x->n] = resp->send_mono_ns;
        x->recv_mono_ns[x->n] = resp->recv_mono_ns;
        x->n++;
    }
    pthread_mutex_unlock(&x->lock);
}

static void cache_waits_out_the_token_limit_and_records_each_429(void **state)
{
    /* 60 a minute: a burst of 60, then one a second, so a 429 says
     * Retry-After: 1 and the test waits about a second. */
    struct sim *sim = start_sim(60);
    const struct sim_config *cfg = sim_config(sim);
    static struct token_log x = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct oauth_cache_config ac = {
        .login_url = sim_url(sim),
        .client_id = cfg->client_id,
        .client_secret = cfg->client_secret,
        .on_exchange = on_exchange,
        .exchange_ctx = &x,
    };
    struct oauth_cache *c;
    struct oauth_cache_stats st;
    struct http_client *http;
    struct http_response resp;
    struct http_request req;
    char hdr[OAUTH_HEADER_MAX], url[256], *log;
    uint64_t gen;
    size_t n429 = 0;
    int fetches = 0;

    (void)state;
    x.n = 0;
    assert_int_equal(http_client_new(&http, NULL), RT_OK);
    http_response_init(&resp);
    assert_int_equal(oauth_cache_new(&c, &ac), RT_OK);
    /* Each rejected token makes the next call fetch a new one, until the
     * endpoint throttles; the call that meets the 429 must still end
     * with a token. */
    capture_stderr_begin();
    do {
        assert_int_equal(oauth_cache_bearer(c, http, hdr, sizeof(hdr), &gen),
                         RT_OK);
        oauth_cache_get_stats(c, &st);
        if (st.token_throttled)
            break;
        assert_int_equal(oauth_cache_reject(c, gen), RT_OK);
    } while (++fetches < 300);
    log = capture_stderr_end();
    assert_true(st.token_throttled >= 1);
    assert_non_null(strstr(log, "the token endpoint is throttling"));
    free(log);

    /* Every attempt was recorded; each 429 carried Retry-After and was
     * honoured before the next attempt. */
    assert_int_equal(x.n, st.token_requests);
    for (size_t i = 0; i < x.n; i++) {
        if (x.status[i] != 429)
            continue;
        n429++;
        assert_true(x.retry_after_s[i] >= 1);
        assert_true(i + 1 < x.n);
        assert_true(x.send_mono_ns[i + 1] - x.recv_mono_ns[i] >=
                    x.retry_after_s[i] * NS_PER_S);
    }
    assert_int_equal(n429, st.token_throttled);
    assert_int_equal(x.status[x.n - 1], 200);

    /* The token got after the wait works. */
    snprintf(url, sizeof(url), "%s/api/v2/users?pageSize=1", sim_url(sim));
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = url;
    assert_int_equal(oauth_cache_perform(c, http, &req, &resp), RT_OK);
    assert_int_equal(resp.status, 200);

    oauth_cache_free(c);
    http_response_release(&resp);
    http_client_free(http);
    sim_stop(sim);
    redact_clear();
}

static void wrong_secret_is_one_line_without_the_secret(void **state)
{
    static const char wrong[] = "wrong-S3cret-4c1d";
    struct sim *sim = start_sim(0);
    const struct sim_config *cfg = sim_config(sim);
    struct oauth_cache_config ac = {
        .login_url = sim_url(sim),
        .client_id = cfg->client_id,
        .client_secret = wrong,
    };
    struct oauth_cache *c;
    struct http_client *http;
    char hdr[OAUTH_HEADER_MAX], *log;
    uint64_t gen;
    int lines = 0;

    (void)state;
    assert_int_equal(http_client_new(&http, NULL), RT_OK);
    assert_int_equal(oauth_cache_new(&c, &ac), RT_OK);
    capture_stderr_begin();
    for (int i = 0; i < 5; i++)
        assert_int_equal(oauth_cache_bearer(c, http, hdr, sizeof(hdr), &gen),
                         RT_EAUTH);
    log = capture_stderr_end();
    for (const char *p = log; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1);
    assert_non_null(strstr(log, "HTTP 400: invalid_client"));
    assert_null(strstr(log, wrong));
    free(log);
    oauth_cache_free(c);
    http_client_free(http);
    sim_stop(sim);
    redact_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(token_endpoint_answers_429_beyond_its_budget),
        cmocka_unit_test(cache_waits_out_the_token_limit_and_records_each_429),
        cmocka_unit_test(wrong_secret_is_one_line_without_the_secret),
    };
    int rc;

    if (http_global_init())
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    http_global_cleanup();
    return rc;
}
