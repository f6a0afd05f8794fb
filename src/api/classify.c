/*
 * Response classification.  The version-conflict wordings are the ones
 * seen from the real directory service (genesys-api.md §2.1): the 409
 * "The version number of the modified resource must match the version
 * number in the database." and Terraform's 400 check for "does not match
 * the current version".  Matching is case-insensitive on a substring, as
 * Terraform does, so small wording changes still count.
 */
#include "api/classify.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "api/redact.h"
#include "base/units.h"

static const char *const kind_names[CLASSIFY_KIND_COUNT] = {
    [CLASSIFY_OK] = "ok",
    [CLASSIFY_CONFLICT] = "conflict",
    [CLASSIFY_DUPLICATE] = "duplicate",
    [CLASSIFY_THROTTLED] = "throttled",
    [CLASSIFY_AUTH] = "auth",
    [CLASSIFY_FORBIDDEN] = "forbidden",
    [CLASSIFY_NOT_FOUND] = "not_found",
    [CLASSIFY_BAD_REQUEST] = "bad_request",
    [CLASSIFY_SERVER_ERROR] = "server_error",
    [CLASSIFY_TRANSPORT] = "transport",
    [CLASSIFY_TIMEOUT] = "timeout",
};

const char *classify_kind_name(enum classify_kind kind)
{
    if ((unsigned)kind >= CLASSIFY_KIND_COUNT)
        return "unknown";
    return kind_names[kind];
}

/* Copy a string field, redacted: whatever the server wrote, a registered
 * secret does not get out of here. */
static void copy_string(char *dst, size_t dst_len, const cJSON *obj,
                        const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (cJSON_IsString(item) && item->valuestring)
        redact_line(dst, dst_len, item->valuestring, strlen(item->valuestring));
}

/* Read the ErrorBody (or SCIM error) fields; a body that is not a JSON
 * object leaves them empty.  Returns 1 for a SCIM invalidVers error. */
static int read_error_body(const struct classify_input *in,
                           struct classify_result *out)
{
    cJSON *root;
    int scim_version = 0;
    const cJSON *scim_type;

    if (!in->body || in->body_len == 0)
        return 0;
    root = cJSON_ParseWithLengthOpts(in->body, in->body_len, NULL, 0);
    if (!cJSON_IsObject(root))
        goto out;
    copy_string(out->code, sizeof(out->code), root, "code");
    copy_string(out->message, sizeof(out->message), root, "message");
    copy_string(out->context_id, sizeof(out->context_id), root, "contextId");
    scim_type = cJSON_GetObjectItemCaseSensitive(root, "scimType");
    if (cJSON_IsString(scim_type) &&
        !strcmp(scim_type->valuestring, "invalidVers")) {
        scim_version = 1;
        if (!out->message[0])
            copy_string(out->message, sizeof(out->message), root, "detail");
    }
out:
    cJSON_Delete(root);
    return scim_version;
}

static int is_version_message(const char *message)
{
    return strcasestr(message, "does not match the current version") ||
           strcasestr(message, "must match the version number");
}

/* "Retry the request in [42] seconds" -> 42; -1 when absent. */
static int64_t retry_after_from_message(const char *message)
{
    const char *open = strchr(message, '[');
    const char *close = open ? strchr(open, ']') : NULL;
    char digits[24];
    size_t n;
    int64_t v;

    if (!close || !strcasestr(close, "second"))
        return -1;
    n = (size_t)(close - open - 1);
    if (n == 0 || n >= sizeof(digits))
        return -1;
    memcpy(digits, open + 1, n);
    digits[n] = '\0';
    if (units_parse_i64(digits, &v) || v < 0)
        return -1;
    return v;
}

/*
 * "... missing the following permission(s): [a:b:c, d:e:f]" (the
 * missing.permissions wording, also used by the simulator) -> "a:b:c,
 * d:e:f"; left "" when the message has no bracketed list after
 * "permission".
 */
static void permission_from_message(const char *message, char *out,
                                    size_t out_len)
{
    const char *at = strcasestr(message, "permission");
    const char *open = at ? strchr(at, '[') : NULL;
    const char *close = open ? strchr(open, ']') : NULL;
    size_t n;

    out[0] = '\0';
    if (!close)
        return;
    n = (size_t)(close - open - 1);
    if (n == 0 || n >= out_len)
        return;
    memcpy(out, open + 1, n);
    out[n] = '\0';
}

void classify(const struct classify_input *in, struct classify_result *out)
{
    long s = in->status;
    int scim_version, version_msg, duplicate;

    memset(out, 0, sizeof(*out));
    out->retry_after_s = -1;
    if (in->transport == CLASSIFY_TIMED_OUT) {
        out->kind = CLASSIFY_TIMEOUT;
        return;
    }
    if (in->transport == CLASSIFY_NO_RESPONSE) {
        out->kind = CLASSIFY_TRANSPORT;
        return;
    }
    /* A success says all it has to say in its status: its body is the
     * resource (121 KB for a bulk read), not an ErrorBody, and parsing it
     * here would double the observers' cost per response. */
    if (s >= 200 && s < 300) {
        out->kind = CLASSIFY_OK;
        return;
    }
    scim_version = read_error_body(in, out);
    version_msg = is_version_message(out->message);
    duplicate = in->is_create && !strcmp(out->code, "general.conflict");

    if (s == 409) {
        /* Every 409 is a conflict of some kind; only a create whose code
         * says the object already exists is a duplicate. */
        out->kind =
            duplicate && !version_msg ? CLASSIFY_DUPLICATE : CLASSIFY_CONFLICT;
    } else if (s == 400) {
        if (version_msg || scim_version)
            out->kind = CLASSIFY_CONFLICT;
        else if (duplicate)
            out->kind = CLASSIFY_DUPLICATE;
        else
            out->kind = CLASSIFY_BAD_REQUEST;
    } else if (s == 429) {
        out->kind = CLASSIFY_THROTTLED;
        out->retry_after_s = in->retry_after_s >= 0
                                 ? in->retry_after_s
                                 : retry_after_from_message(out->message);
        out->give_up = out->retry_after_s > CLASSIFY_RETRY_AFTER_MAX_S;
    } else if (s == 401) {
        out->kind = CLASSIFY_AUTH;
    } else if (s == 403) {
        out->kind = CLASSIFY_FORBIDDEN;
        permission_from_message(out->message, out->permission,
                                sizeof(out->permission));
    } else if (s == 404) {
        out->kind = CLASSIFY_NOT_FOUND;
    } else if (s == 408 || (s >= 500 && s < 600)) {
        out->kind = CLASSIFY_SERVER_ERROR;
    } else {
        out->kind = CLASSIFY_BAD_REQUEST;
    }
}

void classify_response(const struct http_response *resp,
                       enum rt_err perform_err, int is_create,
                       struct classify_result *out)
{
    struct classify_input in = {
        .transport = CLASSIFY_GOT_RESPONSE,
        .status = resp->status,
        .body = resp->body.data,
        .body_len = resp->body.len,
        .retry_after_s = resp->retry_after_s,
        .is_create = is_create,
    };

    if (perform_err == RT_ETIMEOUT || resp->result == HTTP_RESULT_TIMEOUT)
        in.transport = CLASSIFY_TIMED_OUT;
    else if (perform_err || resp->result != HTTP_RESULT_RESPONSE)
        in.transport = CLASSIFY_NO_RESPONSE;
    classify(&in, out);
}
