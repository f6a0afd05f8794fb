/* The libcurl client against the scriptable mock server on 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "base/buf.h"
#include "base/clock.h"
#include "support/mockhttp.h"

struct fixture {
    struct mockhttp *mock;
    struct http_client *http;
    struct http_response resp;
    char url[256];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f || !(f->mock = mockhttp_start()))
        return -1;
    if (http_client_new(&f->http, NULL))
        return -1;
    http_response_init(&f->resp);
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
    return 0;
}

static const char *url_of(struct fixture *f, const char *path)
{
    snprintf(f->url, sizeof(f->url), "%s%s", mockhttp_url(f->mock), path);
    return f->url;
}

static void get_captures_genesys_headers(void **state)
{
    struct fixture *f = *state;
    const struct mockhttp_request *r;
    struct mockhttp_response m = {
        .status = 200,
        /* Odd casing on purpose: header names are case-insensitive. */
        .headers = {"inin-correlation-id: f3ac4404-aaaa-4bbb-8ccc-0123456789ab",
                    "RETRY-AFTER: 42", "inin-ratelimit-count: 1",
                    "Inin-Ratelimit-Allowed: 180", "inin-ratelimit-reset: 61",
                    "Content-Type: application/json"},
        .body = "{\"entities\":[]}",
    };
    struct http_request req = {
        .method = "GET",
        .url = url_of(f, "/api/v2/users?id=u1,u2&expand=presence"),
        .headers = {"Authorization: Bearer abc", "Accept: application/json"},
        .n_headers = 2,
    };

    mockhttp_script(f->mock, &m);
    assert_int_equal(http_client_perform(f->http, &req, &f->resp), RT_OK);
    assert_int_equal(f->resp.result, HTTP_RESULT_RESPONSE);
    assert_int_equal(f->resp.status, 200);
    assert_string_equal(buf_str(&f->resp.body), "{\"entities\":[]}");
    assert_string_equal(f->resp.correlation_id,
                        "f3ac4404-aaaa-4bbb-8ccc-0123456789ab");
    assert_int_equal(f->resp.retry_after_s, 42);
    assert_int_equal(f->resp.ratelimit_count, 1);
    assert_int_equal(f->resp.ratelimit_allowed, 180);
    assert_int_equal(f->resp.ratelimit_reset_s, 61);
    assert_string_equal(f->resp.content_type, "application/json");
    assert_int_equal(f->resp.curl_code, 0);
    assert_string_equal(f->resp.error, "");
    assert_true(f->resp.request_sent);
    assert_true(f->resp.send_mono_ns > 0);
    assert_true(f->resp.recv_mono_ns >= f->resp.send_mono_ns);
    assert_int_equal(f->resp.latency_ns,
                     f->resp.recv_mono_ns - f->resp.send_mono_ns);
    assert_true(f->resp.send_wall_ns > 0);

    assert_int_equal(mockhttp_count(f->mock), 1);
    r = mockhttp_request(f->mock, 0);
    assert_string_equal(r->method, "GET");
    assert_string_equal(r->url, "/api/v2/users?id=u1,u2&expand=presence");
    assert_string_equal(r->authorization, "Bearer abc");
    assert_non_null(strstr(r->headers, "User-Agent: racetrace/"));
    assert_int_equal(r->body_len, 0);
}

static void missing_headers_read_as_absent_on_reuse(void **state)
{
    struct fixture *f = *state;
    struct mockhttp_response with = {
        .headers = {"ININ-Correlation-Id: x1", "Retry-After: 3"}};
    struct mockhttp_response without = {.status = 204};
    struct http_request req = {.method = "GET", .url = url_of(f, "/a")};

    mockhttp_script(f->mock, &with);
    mockhttp_script(f->mock, &without);
    assert_int_equal(http_client_perform(f->http, &req, &f->resp), RT_OK);
    assert_string_equal(f->resp.correlation_id, "x1");
    assert_int_equal(http_client_perform(f->http, &req, &f->resp), RT_OK);
    assert_int_equal(f->resp.status, 204);
    assert_string_equal(f->resp.correlation_id, "");
    assert_int_equal(f->resp.retry_after_s, -1);
    assert_int_equal(f->resp.ratelimit_count, -1);
    assert_int_equal(f->resp.body.len, 0);
}

static void retry_after_as_a_past_http_date_is_zero(void **state)
{
    struct fixture *f = *state;
    struct mockhttp_response m = {
        .status = 429,
        .headers = {"Retry-After: Wed, 21 Oct 2015 07:28:00 GMT"}};
    struct http_request req = {.method = "GET", .url = url_of(f, "/a")};

    mockhttp_script(f->mock, &m);
    assert_int_equal(http_client_perform(f->http, &req, &f->resp), RT_OK);
    assert_int_equal(f->resp.status, 429);
    assert_int_equal(f->resp.retry_after_s, 0);
}

static void write_methods_send_body_and_content_type(void **state)
{
    struct fixture *f = *state;
    static const char json[] = "{\"version\":3,\"title\":\"x\"}";
    struct mockhttp_response ok = {.status = 200, .times = 4};
    struct http_request req = {
        .method = "PATCH",
        .url = url_of(f, "/api/v2/users/u1"),
        .headers = {"Content-Type: application/json"},
        .n_headers = 1,
        .body = json,
        .body_len = sizeof(json) - 1,
    };
    const struct mockhttp_request *r;

    mockhttp_script(f->mock, &ok);
    assert_int_equal(http_client_perform(f->http, &req, &f->resp), RT_OK);
    req.method = "PUT";
    assert_int_equal(http_client_perform(f->http, &req, &f->resp), RT_OK);
    req.method = "DELETE";
    req.body = NULL;
    req.body_len = 0;
    req.n_headers = 0;
    assert_int_equal(http_client_perform(f->http, &req, &f->resp), RT_OK);
    req.method = "POST"; /* no body: Content-Length 0 */
    assert_int_equal(http_client_perform(f->http, &req, &f->resp), RT_OK);

    assert_int_equal(mockhttp_count(f->mock), 4);
    r = mockhttp_request(f->mock, 0);
    assert_string_equal(r->method, "PATCH");
    assert_string_equal(r->content_type, "application/json");
    assert_string_equal(r->body, json);
    assert_null(strstr(r->headers, "Expect:"));
    r = mockhttp_request(f->mock, 1);
    assert_string_equal(r->method, "PUT");
    assert_string_equal(r->body, json);
    r = mockhttp_request(f->mock, 2);
    assert_string_equal(r->method, "DELETE");
    assert_int_equal(r->body_len, 0);
    r = mockhttp_request(f->mock, 3);
    assert_string_equal(r->method, "POST");
    assert_int_equal(r->body_len, 0);
    assert_non_null(strstr(r->headers, "Content-Length: 0"));
}

static void keep_alive_reuses_one_connection(void **state)
{
    struct fixture *f = *state;
    struct mockhttp_response ok = {.body = "{}", .times = 2};
    struct http_request req = {.method = "GET", .url = url_of(f, "/k")};
    const struct mockhttp_request *a, *b;

    mockhttp_script(f->mock, &ok);
    assert_int_equal(http_client_perform(f->http, &req, &f->resp), RT_OK);
    assert_int_equal(f->resp.num_connects, 1);
    assert_int_equal(http_client_perform(f->http, &req, &f->resp), RT_OK);
    assert_int_equal(f->resp.num_connects, 0);
    /* The server saw both on one connection too. */
    a = mockhttp_request(f->mock, 0);
    b = mockhttp_request(f->mock, 1);
    assert_int_not_equal(a->client_port, 0);
    assert_int_equal(a->client_port, b->client_port);
}

static void stalled_server_hits_the_total_timeout(void **state)
{
    struct fixture *f = *state;
    struct http_options opt = {.timeout_ns = 200 * NS_PER_MS};
    struct http_client *fast;
    struct mockhttp_response stall = {.behaviour = MOCKHTTP_STALL,
                                      .path = "/slow"};
    struct mockhttp_response ok = {.body = "fine", .path = "/after"};
    struct http_request req = {.method = "PATCH",
                               .url = url_of(f, "/slow"),
                               .body = "{}",
                               .body_len = 2};

    mockhttp_script(f->mock, &stall);
    mockhttp_script(f->mock, &ok);
    assert_int_equal(http_client_new(&fast, &opt), RT_OK);
    assert_int_equal(http_client_perform(fast, &req, &f->resp), RT_ETIMEOUT);
    assert_int_equal(f->resp.result, HTTP_RESULT_TIMEOUT);
    assert_string_equal(http_result_name(f->resp.result), "timeout");
    assert_int_equal(f->resp.status, 0);
    /* The write reached the server: its outcome is unknown. */
    assert_true(f->resp.request_sent);
    assert_int_equal(mockhttp_count(f->mock), 1);
    assert_true(f->resp.error[0] != '\0');
    mockhttp_release(f->mock);
    /* The client recovers on a fresh connection. */
    req.url = url_of(f, "/after");
    assert_int_equal(http_client_perform(fast, &req, &f->resp), RT_OK);
    assert_string_equal(buf_str(&f->resp.body), "fine");
    http_client_free(fast);
}

static void refused_connection_is_a_transport_error_never_sent(void **state)
{
    struct fixture *f = *state;
    struct mockhttp *gone = mockhttp_start();
    char url[128];
    struct http_request req = {
        .method = "PATCH", .url = url, .body = "{}", .body_len = 2};

    assert_non_null(gone);
    snprintf(url, sizeof(url), "%s/x", mockhttp_url(gone));
    mockhttp_free(gone); /* nothing listens there any more */
    assert_int_equal(http_client_perform(f->http, &req, &f->resp), RT_EHTTP);
    assert_int_equal(f->resp.result, HTTP_RESULT_TRANSPORT);
    assert_int_equal(f->resp.status, 0);
    assert_false(f->resp.request_sent);
    assert_int_not_equal(f->resp.curl_code, 0);
}

static void dropped_connection_leaves_the_outcome_unknown(void **state)
{
    struct fixture *f = *state;
    struct mockhttp_response drop = {.behaviour = MOCKHTTP_CLOSE};
    struct http_request req = {.method = "PATCH",
                               .url = url_of(f, "/api/v2/users/u1"),
                               .body = "{}",
                               .body_len = 2};

    mockhttp_script(f->mock, &drop);
    assert_int_equal(http_client_perform(f->http, &req, &f->resp), RT_EHTTP);
    assert_int_equal(f->resp.result, HTTP_RESULT_TRANSPORT);
    assert_true(f->resp.request_sent);
}

static void body_over_the_cap_is_an_error(void **state)
{
    struct fixture *f = *state;
    struct http_options opt = {.body_max_bytes = 1024};
    struct http_client *small;
    char *big = malloc(4097);
    struct http_request req = {.method = "GET", .url = url_of(f, "/big")};
    struct mockhttp_response fits = {.body = big, .body_len = 1024};
    struct mockhttp_response sized = {.body = big, .body_len = 4096};
    struct mockhttp_response chunked = {
        .body = big, .body_len = 4096, .chunked = 1};

    assert_non_null(big);
    memset(big, 'x', 4096);
    big[4096] = '\0';
    mockhttp_script(f->mock, &fits);
    mockhttp_script(f->mock, &sized);
    mockhttp_script(f->mock, &chunked);
    assert_int_equal(http_client_new(&small, &opt), RT_OK);
    /* Exactly at the cap is fine. */
    assert_int_equal(http_client_perform(small, &req, &f->resp), RT_OK);
    assert_int_equal(f->resp.body.len, 1024);
    /* Announced by Content-Length: refused before reading. */
    assert_int_equal(http_client_perform(small, &req, &f->resp), RT_ETRUNC);
    assert_int_equal(f->resp.result, HTTP_RESULT_TOO_LARGE);
    assert_true(f->resp.body.len <= 1024);
    /* Chunked, no length: cut while reading. */
    assert_int_equal(http_client_perform(small, &req, &f->resp), RT_ETRUNC);
    assert_int_equal(f->resp.result, HTTP_RESULT_TOO_LARGE);
    assert_true(f->resp.body.len <= 1024);
    http_client_free(small);
    free(big);
}

static void default_options_are_the_documented_ones(void **state)
{
    struct http_options opt;
    struct http_client *c;
    struct http_options bad = {.timeout_ns = -1};

    (void)state;
    http_options_default(&opt);
    assert_int_equal(opt.connect_timeout_ns, 5 * NS_PER_S);
    assert_int_equal(opt.timeout_ns, 30 * NS_PER_S);
    assert_int_equal(opt.body_max_bytes, 8u << 20);
    assert_int_equal(http_client_new(&c, &bad), RT_EINVAL);
}

static void malformed_requests_are_refused(void **state)
{
    struct fixture *f = *state;
    struct http_request brew = {.method = "BREW", .url = url_of(f, "/")};
    struct http_request ftp = {.method = "GET", .url = "ftp://127.0.0.1/"};
    struct http_request get_body = {
        .method = "GET", .url = f->url, .body = "x", .body_len = 1};

    assert_int_equal(http_client_perform(f->http, &brew, &f->resp), RT_EINVAL);
    assert_int_equal(http_client_perform(f->http, &ftp, &f->resp), RT_EINVAL);
    assert_int_equal(http_client_perform(f->http, &get_body, &f->resp),
                     RT_EINVAL);
    assert_int_equal(mockhttp_count(f->mock), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(get_captures_genesys_headers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(missing_headers_read_as_absent_on_reuse,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(retry_after_as_a_past_http_date_is_zero,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            write_methods_send_body_and_content_type, setup, teardown),
        cmocka_unit_test_setup_teardown(keep_alive_reuses_one_connection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(stalled_server_hits_the_total_timeout,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            refused_connection_is_a_transport_error_never_sent, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            dropped_connection_leaves_the_outcome_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(body_over_the_cap_is_an_error, setup,
                                        teardown),
        cmocka_unit_test(default_options_are_the_documented_ones),
        cmocka_unit_test_setup_teardown(malformed_requests_are_refused, setup,
                                        teardown),
    };
    int rc;

    if (http_global_init())
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    http_global_cleanup();
    return rc;
}
