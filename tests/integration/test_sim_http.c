/*
 * The simulator over HTTP, through the real api client: headers on every
 * response, ErrorBody shapes, token expiry, the per-token rate limit, every
 * imperfection (latency, 5xx, dropped connections, lost responses, read
 * lag) and the version compare-and-increment under contention.
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

#include <curl/curl.h>

#include "api/http.h"
#include "api/oauth.h"
#include "base/clock.h"
#include "sim/sim.h"

struct client {
    struct sim *sim;
    struct http_client *http;
    struct http_response resp;
    char bearer[OAUTH_HEADER_MAX];
};

static void start(struct client *c, struct sim_config *cfg)
{
    struct oauth_token tok;

    cfg->port = 0;
    cfg->world.presence_enabled = 0;
    assert_int_equal(sim_start(&c->sim, cfg), RT_OK);
    assert_int_equal(http_client_new(&c->http, NULL), RT_OK);
    http_response_init(&c->resp);
    assert_int_equal(oauth_request_token(c->http, sim_url(c->sim),
                                         cfg->client_id, cfg->client_secret,
                                         &c->resp, &tok),
                     RT_OK);
    snprintf(c->bearer, sizeof(c->bearer), "Authorization: Bearer %s",
             tok.access_token);
}

static void stop(struct client *c)
{
    http_response_release(&c->resp);
    http_client_free(c->http);
    sim_stop(c->sim);
}

/* One request; returns http_client_perform's result. */
static enum rt_err call(struct client *c, const char *method, const char *path,
                        const char *body, int auth)
{
    struct http_request req;
    char url[512];

    memset(&req, 0, sizeof(req));
    snprintf(url, sizeof(url), "%s%s", sim_url(c->sim), path);
    req.method = method;
    req.url = url;
    if (auth)
        req.headers[req.n_headers++] = c->bearer;
    if (body) {
        req.headers[req.n_headers++] = "Content-Type: application/json";
        req.body = body;
        req.body_len = strlen(body);
    }
    return http_client_perform(c->http, &req, &c->resp);
}

static cJSON *body_json(struct client *c)
{
    cJSON *o = cJSON_Parse(buf_str(&c->resp.body));

    assert_non_null(o);
    return o;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Every response: correlation id, ratelimit headers; errors: ErrorBody
 * whose contextId is the correlation id. */
static void assert_error_body(struct client *c, long status, const char *code)
{
    cJSON *o;

    assert_int_equal(c->resp.status, status);
    assert_int_equal(strlen(c->resp.correlation_id), 36);
    assert_true(c->resp.ratelimit_allowed > 0);
    assert_true(c->resp.ratelimit_reset_s >= 1);
    o = body_json(c);
    assert_string_equal(str(o, "code"), code);
    assert_int_equal(
        (long)cJSON_GetObjectItemCaseSensitive(o, "status")->valuedouble,
        status);
    assert_string_equal(str(o, "contextId"), c->resp.correlation_id);
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "details")));
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "errors")));
    assert_true(strlen(str(o, "message")) > 0);
    cJSON_Delete(o);
}

static void errors_are_error_bodies_with_headers(void **state)
{
    struct sim_config cfg;
    struct client c;
    char path[128];

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 2;
    start(&c, &cfg);
    assert_int_equal(call(&c, "GET", "/api/v2/users", NULL, 0), RT_OK);
    assert_error_body(&c, 401, "authentication.required");
    assert_int_equal(call(&c, "GET", "/api/v2/users/nobody", NULL, 1), RT_OK);
    assert_error_body(&c, 404, "not.found");
    assert_int_equal(call(&c, "GET", "/api/v2/routing/users/x", NULL, 1),
                     RT_OK);
    assert_error_body(&c, 404, "not.found");
    snprintf(path, sizeof(path), "/api/v2/users/%s",
             org_agent_id(sim_org(c.sim), 0));
    assert_int_equal(call(&c, "PATCH", path, "{\"version\":", 1), RT_OK);
    assert_error_body(&c, 400, "bad.request");
    assert_int_equal(call(&c, "PATCH", path, "{\"department\":\"x\"}", 1),
                     RT_OK);
    assert_error_body(&c, 400, "bad.request");
    assert_int_equal(
        call(&c, "PATCH", path, "{\"version\":1,\"acdAutoAnswer\":\"yes\"}", 1),
        RT_OK);
    assert_error_body(&c, 400, "bad.request");
    assert_int_equal(
        call(&c, "PATCH", path, "{\"version\":1,\"title\":\"T\"}", 1), RT_OK);
    assert_int_equal(c.resp.status, 200);
    assert_int_equal(
        call(&c, "PATCH", path, "{\"version\":1,\"title\":\"U\"}", 1), RT_OK);
    assert_error_body(&c, 409, "general.conflict");
    {
        cJSON *o = body_json(&c);
        assert_string_equal(str(o, "message"),
                            "The version number of the modified resource "
                            "must match the version number in the database.");
        cJSON_Delete(o);
    }
    stop(&c);
}

static void expired_token_gets_401(void **state)
{
    struct sim_config cfg;
    struct client c;

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 1;
    cfg.token_lifetime_ns = 1; /* over by the time it is used */
    start(&c, &cfg);
    assert_int_equal(call(&c, "GET", "/api/v2/users", NULL, 1), RT_OK);
    assert_error_body(&c, 401, "credentials.expired");
    stop(&c);
}

static void rate_limit_answers_429_with_retry_after(void **state)
{
    struct sim_config cfg;
    struct client c;
    int limited = 0;

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 1;
    cfg.world.rate_limit_per_min = 5;
    start(&c, &cfg);
    for (int k = 1; k <= 7; k++) {
        assert_int_equal(call(&c, "GET", "/api/v2/users", NULL, 1), RT_OK);
        assert_int_equal(c.resp.ratelimit_allowed, 5);
        assert_int_equal(c.resp.ratelimit_count, k);
        if (k <= 5) {
            assert_int_equal(c.resp.status, 200);
            assert_int_equal(c.resp.retry_after_s, -1);
        } else {
            cJSON *o;
            assert_error_body(&c, 429, "too.many.requests.retry.after");
            assert_true(c.resp.retry_after_s >= 1 &&
                        c.resp.retry_after_s <= 60);
            assert_int_equal(c.resp.retry_after_s, c.resp.ratelimit_reset_s);
            o = body_json(&c);
            {
                char want[96];
                snprintf(want, sizeof(want),
                         "Retry the request in [%lld] "
                         "seconds",
                         (long long)c.resp.retry_after_s);
                assert_non_null(strstr(str(o, "message"), want));
            }
            cJSON_Delete(o);
            limited++;
        }
    }
    assert_int_equal(limited, 2);
    stop(&c);
}

static void injected_5xx_and_drops(void **state)
{
    struct sim_config cfg;
    struct client c;

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 1;
    cfg.world.fault_5xx = 1.0;
    start(&c, &cfg);
    assert_int_equal(call(&c, "GET", "/api/v2/users", NULL, 1), RT_OK);
    assert_error_body(&c, 503, "service.unavailable");
    stop(&c);

    sim_config_defaults(&cfg);
    cfg.agents = 1;
    cfg.world.fault_drop = 1.0;
    start(&c, &cfg);
    /* The connection breaks mid-response: a transport error, never a
     * silent resend by the client. */
    assert_int_equal(call(&c, "GET", "/api/v2/users", NULL, 1), RT_EHTTP);
    assert_int_equal(c.resp.result, HTTP_RESULT_TRANSPORT);
    assert_int_equal(c.resp.num_connects, 0);
    stop(&c);
}

static void lost_response_commits_the_write(void **state)
{
    struct sim_config cfg;
    struct client c;
    char path[128];

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 1;
    cfg.world.fault_lost_response = 1.0;
    start(&c, &cfg);
    snprintf(path, sizeof(path), "/api/v2/users/%s",
             org_agent_id(sim_org(c.sim), 0));
    /* Reads are never affected. */
    assert_int_equal(call(&c, "GET", path, NULL, 1), RT_OK);
    assert_int_equal(c.resp.status, 200);
    assert_int_equal(
        call(&c, "PATCH", path, "{\"version\":1,\"title\":\"X\"}", 1),
        RT_EHTTP);
    assert_int_equal(c.resp.result, HTTP_RESULT_TRANSPORT);
    assert_true(c.resp.request_sent);
    /* The client cannot know, but the write landed. */
    assert_int_equal(org_user_version(sim_org(c.sim), 0), 2);
    stop(&c);
}

static void latency_is_at_least_the_configured_floor(void **state)
{
    struct sim_config cfg;
    struct client c;
    char path[128];

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 1;
    cfg.world.read_latency_lo_ns = 30 * NS_PER_MS;
    cfg.world.read_latency_hi_ns = 40 * NS_PER_MS;
    cfg.world.write_latency_lo_ns = 80 * NS_PER_MS;
    cfg.world.write_latency_hi_ns = 90 * NS_PER_MS;
    start(&c, &cfg);
    snprintf(path, sizeof(path), "/api/v2/users/%s",
             org_agent_id(sim_org(c.sim), 0));
    /* Lower bounds only: the server sleeps at least this long; an upper
     * bound would be a timed test. */
    assert_int_equal(call(&c, "GET", path, NULL, 1), RT_OK);
    assert_true(c.resp.latency_ns >= 30 * NS_PER_MS);
    assert_int_equal(call(&c, "PATCH", path, "{\"version\":1}", 1), RT_OK);
    assert_int_equal(c.resp.status, 200);
    assert_true(c.resp.latency_ns >= 80 * NS_PER_MS);
    stop(&c);
}

static void read_lag_serves_an_older_version(void **state)
{
    struct sim_config cfg;
    struct client c;
    char path[128];
    cJSON *o;

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 1;
    cfg.world.read_lag_ns = 3600 * NS_PER_S;
    start(&c, &cfg);
    snprintf(path, sizeof(path), "/api/v2/users/%s",
             org_agent_id(sim_org(c.sim), 0));
    assert_int_equal(call(&c, "PATCH", path, "{\"version\":1}", 1), RT_OK);
    assert_int_equal(c.resp.status, 200);
    assert_int_equal(call(&c, "GET", path, NULL, 1), RT_OK);
    o = body_json(&c);
    assert_int_equal(
        (int)cJSON_GetObjectItemCaseSensitive(o, "version")->valuedouble, 1);
    cJSON_Delete(o);
    /* A write with the lagged version is a real conflict. */
    assert_int_equal(call(&c, "PATCH", path, "{\"version\":1}", 1), RT_OK);
    assert_int_equal(c.resp.status, 409);
    stop(&c);
}

struct racer {
    struct client *shared;
    pthread_barrier_t *go;
    long status;
};

static void *race_patch(void *arg)
{
    struct racer *r = arg;
    struct http_client *http;
    struct http_response resp;
    struct http_request req;
    char url[256];
    static const char body[] = "{\"version\":1,\"department\":\"race\"}";

    http_client_new(&http, NULL);
    http_response_init(&resp);
    memset(&req, 0, sizeof(req));
    snprintf(url, sizeof(url), "%s/api/v2/users/%s", sim_url(r->shared->sim),
             org_agent_id(sim_org(r->shared->sim), 0));
    req.method = "PATCH";
    req.url = url;
    req.headers[req.n_headers++] = r->shared->bearer;
    req.body = body;
    req.body_len = sizeof(body) - 1;
    pthread_barrier_wait(r->go);
    if (http_client_perform(http, &req, &resp) == RT_OK)
        r->status = resp.status;
    http_response_release(&resp);
    http_client_free(http);
    return NULL;
}

static void concurrent_patches_with_one_version_one_wins(void **state)
{
    enum { N = 24 };
    struct sim_config cfg;
    struct client c;
    pthread_t t[N];
    struct racer r[N];
    pthread_barrier_t go;
    int ok = 0, conflict = 0;

    (void)state;
    sim_config_defaults(&cfg);
    cfg.agents = 1;
    start(&c, &cfg);
    pthread_barrier_init(&go, NULL, N);
    for (int i = 0; i < N; i++) {
        r[i] = (struct racer){&c, &go, 0};
        pthread_create(&t[i], NULL, race_patch, &r[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ok += r[i].status == 200;
        conflict += r[i].status == 409;
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(ok, 1);
    assert_int_equal(conflict, N - 1);
    assert_int_equal(org_user_version(sim_org(c.sim), 0), 2);
    stop(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(errors_are_error_bodies_with_headers),
        cmocka_unit_test(expired_token_gets_401),
        cmocka_unit_test(rate_limit_answers_429_with_retry_after),
        cmocka_unit_test(injected_5xx_and_drops),
        cmocka_unit_test(lost_response_commits_the_write),
        cmocka_unit_test(latency_is_at_least_the_configured_floor),
        cmocka_unit_test(read_lag_serves_an_older_version),
        cmocka_unit_test(concurrent_patches_with_one_version_one_wins),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
