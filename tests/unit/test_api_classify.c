/* Classification by status and body, with the real bodies of
 * genesys-api.md §2.1 and §3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/classify.h"
#include "api/redact.h"
#include "base/log.h"
#include "support/capture.h"

/* The normalized 429 (forum announcement, 2021-11-10). */
static const char body_429[] =
    "{\"message\":\"Rate limit exceeded the maximum. Retry the request in "
    "[42] seconds\",\"code\":\"too.many.requests.retry.after\",\"status\":"
    "429,\"contextId\":\"5f1c7d2e-0000-4000-8000-000000000429\","
    "\"details\":[],\"errors\":[]}";

/* The directory's stale-version 409 (TF issue #1461), with the code our
 * simulator uses. */
static const char body_409[] =
    "{\"message\":\"The version number of the modified resource must match "
    "the version number in the database.\",\"code\":\"general.conflict\","
    "\"status\":409,\"messageWithParams\":\"The version number of the "
    "modified resource must match the version number in the database.\","
    "\"messageParams\":{},\"contextId\":\"c0ffee00-0000-4000-8000-"
    "000000000409\",\"details\":[],\"errors\":[]}";

/* The 400 wording Terraform's IsVersionMismatch looks for. */
static const char body_400_version[] =
    "{\"message\":\"Version 7 does not match the current version 8 of the "
    "user\",\"code\":\"bad.request\",\"status\":400,\"contextId\":\"ctx-400\","
    "\"details\":[],\"errors\":[]}";

/* POST /api/v2/users colliding with an existing email (TF user resource). */
static const char body_409_dup[] =
    "{\"message\":\"A user with this email already exists\","
    "\"code\":\"general.conflict\",\"status\":409,\"contextId\":\"ctx-dup\"}";

static const char body_400_invalid[] =
    "{\"message\":\"Value [abc] is not a valid version\","
    "\"code\":\"invalid.value\",\"status\":400,\"contextId\":\"ctx-inv\"}";

static const char body_scim[] =
    "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],"
    "\"scimType\":\"invalidVers\",\"detail\":\"ETag mismatch\","
    "\"status\":\"400\"}";

struct row {
    enum classify_transport transport;
    long status;
    const char *body;
    int64_t retry_after_s;
    int is_create;
    enum classify_kind want;
    const char *want_name;
};

static void table_of_statuses_and_bodies(void **state)
{
    static const struct row rows[] = {
        {CLASSIFY_GOT_RESPONSE, 200, "{\"version\":3}", -1, 0, CLASSIFY_OK,
         "ok"},
        {CLASSIFY_GOT_RESPONSE, 204, NULL, -1, 0, CLASSIFY_OK, "ok"},
        {CLASSIFY_GOT_RESPONSE, 409, body_409, -1, 0, CLASSIFY_CONFLICT,
         "conflict"},
        /* The version message wins over the create's general.conflict. */
        {CLASSIFY_GOT_RESPONSE, 409, body_409, -1, 1, CLASSIFY_CONFLICT,
         "conflict"},
        {CLASSIFY_GOT_RESPONSE, 409, "", -1, 0, CLASSIFY_CONFLICT, "conflict"},
        {CLASSIFY_GOT_RESPONSE, 409, "<html>busy</html>", -1, 0,
         CLASSIFY_CONFLICT, "conflict"},
        {CLASSIFY_GOT_RESPONSE, 409, body_409_dup, -1, 1, CLASSIFY_DUPLICATE,
         "duplicate"},
        {CLASSIFY_GOT_RESPONSE, 409, body_409_dup, -1, 0, CLASSIFY_CONFLICT,
         "conflict"},
        {CLASSIFY_GOT_RESPONSE, 400, body_400_version, -1, 0, CLASSIFY_CONFLICT,
         "conflict"},
        {CLASSIFY_GOT_RESPONSE, 400, body_scim, -1, 0, CLASSIFY_CONFLICT,
         "conflict"},
        {CLASSIFY_GOT_RESPONSE, 400, body_400_invalid, -1, 0,
         CLASSIFY_BAD_REQUEST, "bad_request"},
        {CLASSIFY_GOT_RESPONSE, 400,
         "{\"message\":\"exists\",\"code\":\"general.conflict\"}", -1, 1,
         CLASSIFY_DUPLICATE, "duplicate"},
        {CLASSIFY_GOT_RESPONSE, 400,
         "{\"message\":\"exists\",\"code\":\"general.conflict\"}", -1, 0,
         CLASSIFY_BAD_REQUEST, "bad_request"},
        {CLASSIFY_GOT_RESPONSE, 429, body_429, 42, 0, CLASSIFY_THROTTLED,
         "throttled"},
        {CLASSIFY_GOT_RESPONSE, 401, "{\"code\":\"bad.credentials\"}", -1, 0,
         CLASSIFY_AUTH, "auth"},
        {CLASSIFY_GOT_RESPONSE, 403, "{\"code\":\"missing.permissions\"}", -1,
         0, CLASSIFY_FORBIDDEN, "forbidden"},
        {CLASSIFY_GOT_RESPONSE, 403, NULL, -1, 0, CLASSIFY_FORBIDDEN,
         "forbidden"},
        {CLASSIFY_GOT_RESPONSE, 404, "{\"code\":\"not.found\"}", -1, 0,
         CLASSIFY_NOT_FOUND, "not_found"},
        {CLASSIFY_GOT_RESPONSE, 422, NULL, -1, 0, CLASSIFY_BAD_REQUEST,
         "bad_request"},
        {CLASSIFY_GOT_RESPONSE, 302, NULL, -1, 0, CLASSIFY_BAD_REQUEST,
         "bad_request"},
        {CLASSIFY_GOT_RESPONSE, 408, NULL, -1, 0, CLASSIFY_SERVER_ERROR,
         "server_error"},
        {CLASSIFY_GOT_RESPONSE, 500, "{\"code\":\"internal.server.error\"}", -1,
         0, CLASSIFY_SERVER_ERROR, "server_error"},
        {CLASSIFY_GOT_RESPONSE, 503, NULL, -1, 0, CLASSIFY_SERVER_ERROR,
         "server_error"},
        {CLASSIFY_NO_RESPONSE, 0, NULL, -1, 0, CLASSIFY_TRANSPORT, "transport"},
        {CLASSIFY_TIMED_OUT, 0, NULL, -1, 0, CLASSIFY_TIMEOUT, "timeout"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct classify_input in = {
            .transport = r->transport,
            .status = r->status,
            .body = r->body,
            .body_len = r->body ? strlen(r->body) : 0,
            .retry_after_s = r->retry_after_s,
            .is_create = r->is_create,
        };
        struct classify_result out;

        classify(&in, &out);
        if (out.kind != r->want)
            print_error("row %zu (status %ld): got %s, want %s\n", i, r->status,
                        classify_kind_name(out.kind), r->want_name);
        assert_int_equal(out.kind, r->want);
        assert_string_equal(classify_kind_name(out.kind), r->want_name);
    }
}

static void error_body_fields_are_extracted(void **state)
{
    struct classify_input in = {.transport = CLASSIFY_GOT_RESPONSE,
                                .status = 409,
                                .body = body_409,
                                .body_len = sizeof(body_409) - 1,
                                .retry_after_s = -1};
    struct classify_result out;

    (void)state;
    classify(&in, &out);
    assert_string_equal(out.code, "general.conflict");
    assert_string_equal(out.context_id, "c0ffee00-0000-4000-8000-000000000409");
    assert_non_null(strstr(out.message, "must match the version number"));
    assert_int_equal(out.retry_after_s, -1);
    assert_false(out.give_up);
}

static void throttled_takes_retry_after_from_header_or_message(void **state)
{
    struct classify_input in = {.transport = CLASSIFY_GOT_RESPONSE,
                                .status = 429,
                                .body = body_429,
                                .body_len = sizeof(body_429) - 1,
                                .retry_after_s = 7};
    struct classify_result out;

    (void)state;
    /* The header wins over the message. */
    classify(&in, &out);
    assert_int_equal(out.kind, CLASSIFY_THROTTLED);
    assert_int_equal(out.retry_after_s, 7);
    assert_string_equal(out.code, "too.many.requests.retry.after");
    assert_false(out.give_up);
    /* Without the header, the "[42] seconds" in the message counts. */
    in.retry_after_s = -1;
    classify(&in, &out);
    assert_int_equal(out.retry_after_s, 42);
    /* Neither: unknown. */
    in.body = "{}";
    in.body_len = 2;
    classify(&in, &out);
    assert_int_equal(out.retry_after_s, -1);
    assert_false(out.give_up);
}

static void retry_after_above_180_seconds_means_give_up(void **state)
{
    struct classify_input in = {.transport = CLASSIFY_GOT_RESPONSE,
                                .status = 429,
                                .body = body_429,
                                .body_len = sizeof(body_429) - 1,
                                .retry_after_s = 180};
    struct classify_result out;

    (void)state;
    classify(&in, &out);
    assert_false(out.give_up);
    in.retry_after_s = 181;
    classify(&in, &out);
    assert_true(out.give_up);
    assert_int_equal(out.kind, CLASSIFY_THROTTLED);
}

static void truncated_or_hostile_bodies_are_harmless(void **state)
{
    static const char *const bodies[] = {
        "{",
        "{\"message\":",
        "[1,2,3]",
        "null",
        "{\"message\":42}",
        "{\"message\":\"[99999999999999999999999] seconds\"}",
        "{\"message\":\"Retry in [] seconds\"}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct classify_input in = {.transport = CLASSIFY_GOT_RESPONSE,
                                    .status = 429,
                                    .body = bodies[i],
                                    .body_len = strlen(bodies[i]),
                                    .retry_after_s = -1};
        struct classify_result out;

        classify(&in, &out);
        assert_int_equal(out.kind, CLASSIFY_THROTTLED);
        assert_int_equal(out.retry_after_s, -1);
    }
}

static void response_wrapper_maps_perform_errors(void **state)
{
    struct http_response resp;
    struct classify_result out;

    (void)state;
    http_response_init(&resp);
    resp.result = HTTP_RESULT_TIMEOUT;
    classify_response(&resp, RT_ETIMEOUT, 0, &out);
    assert_int_equal(out.kind, CLASSIFY_TIMEOUT);
    resp.result = HTTP_RESULT_TRANSPORT;
    classify_response(&resp, RT_EHTTP, 0, &out);
    assert_int_equal(out.kind, CLASSIFY_TRANSPORT);
    resp.result = HTTP_RESULT_RESPONSE;
    resp.status = 409;
    buf_puts(&resp.body, body_409);
    classify_response(&resp, RT_OK, 0, &out);
    assert_int_equal(out.kind, CLASSIFY_CONFLICT);
    http_response_release(&resp);
}

/* The missing.permissions 403 (genesys-api.md §2.1 codes; the wording
 * real orgs and the simulator use). */
static void forbidden_names_the_missing_permission(void **state)
{
    static const char body_403[] =
        "{\"message\":\"Unable to perform the requested action. You are "
        "missing the following permission(s): [audits:audit:view]\","
        "\"code\":\"missing.permissions\",\"status\":403,"
        "\"contextId\":\"ctx-403\",\"details\":[],\"errors\":[]}";
    static const char body_403_two[] =
        "{\"message\":\"You are missing the following permission(s): "
        "[analytics:userDetail:view, analytics:userObservation:view]\","
        "\"code\":\"missing.any.permissions\",\"status\":403}";
    static const char body_403_none[] =
        "{\"message\":\"Not authorized [for this division]\","
        "\"code\":\"not.authorized\",\"status\":403}";
    struct classify_input in = {.transport = CLASSIFY_GOT_RESPONSE,
                                .status = 403,
                                .body = body_403,
                                .body_len = sizeof(body_403) - 1,
                                .retry_after_s = -1};
    struct classify_result out;

    (void)state;
    classify(&in, &out);
    assert_int_equal(out.kind, CLASSIFY_FORBIDDEN);
    assert_string_equal(out.code, "missing.permissions");
    assert_string_equal(out.permission, "audits:audit:view");
    assert_string_equal(out.context_id, "ctx-403");

    in.body = body_403_two;
    in.body_len = sizeof(body_403_two) - 1;
    classify(&in, &out);
    assert_string_equal(out.permission, "analytics:userDetail:view, "
                                        "analytics:userObservation:view");

    /* A bracket that is not after "permission" is not a permission. */
    in.body = body_403_none;
    in.body_len = sizeof(body_403_none) - 1;
    classify(&in, &out);
    assert_int_equal(out.kind, CLASSIFY_FORBIDDEN);
    assert_string_equal(out.code, "not.authorized");
    assert_string_equal(out.permission, "");

    /* A 401 is about the token, not a permission. */
    in.status = 401;
    in.body = body_403;
    in.body_len = sizeof(body_403) - 1;
    classify(&in, &out);
    assert_int_equal(out.kind, CLASSIFY_AUTH);
    assert_string_equal(out.permission, "");
}

/* A server that echoes a token in its ErrorBody: the fields that go to
 * requests.csv and to messages carry the mark instead. */
static void echoed_secrets_are_redacted_from_the_fields(void **state)
{
    static const char body[] =
        "{\"message\":\"token tok-9f8e7d is not valid here\","
        "\"code\":\"bad.tok-9f8e7d\",\"status\":401,"
        "\"contextId\":\"tok-9f8e7d\"}";
    struct classify_input in = {.transport = CLASSIFY_GOT_RESPONSE,
                                .status = 401,
                                .body = body,
                                .body_len = sizeof(body) - 1,
                                .retry_after_s = -1};
    struct classify_result out;

    (void)state;
    /* Not registered: copied as is (the control for what follows). */
    classify(&in, &out);
    assert_string_equal(out.message, "token tok-9f8e7d is not valid here");
    redact_add("tok-9f8e7d");
    classify(&in, &out);
    assert_string_equal(out.message, "token [redacted] is not valid here");
    assert_string_equal(out.code, "bad.[redacted]");
    assert_string_equal(out.context_id, "[redacted]");
    redact_clear();
}

/* Whatever a call site forgets, a registered secret never reaches a log
 * line: registering one installs the log filter. */
static void log_lines_are_redacted_once_a_secret_is_known(void **state)
{
    char *err;

    (void)state;
    redact_add("s3cr3t-value");
    capture_stderr_begin();
    log_error("login failed with secret '%s'", "s3cr3t-value");
    err = capture_stderr_end();
    assert_null(strstr(err, "s3cr3t-value"));
    assert_non_null(strstr(err, "login failed with secret '[redacted]'"));
    free(err);
    redact_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_of_statuses_and_bodies),
        cmocka_unit_test(log_lines_are_redacted_once_a_secret_is_known),
        cmocka_unit_test(error_body_fields_are_extracted),
        cmocka_unit_test(throttled_takes_retry_after_from_header_or_message),
        cmocka_unit_test(retry_after_above_180_seconds_means_give_up),
        cmocka_unit_test(truncated_or_hostile_bodies_are_harmless),
        cmocka_unit_test(response_wrapper_maps_perform_errors),
        cmocka_unit_test(forbidden_names_the_missing_permission),
        cmocka_unit_test(echoed_secrets_are_redacted_from_the_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
