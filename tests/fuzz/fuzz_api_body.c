/*
 * Fuzz target for the API error-body readers (include/api/classify.h and
 * the redaction used on every quoted body, include/api/redact.h).  The
 * first input byte picks the status and whether the request was a create;
 * the rest is the body.  Invariants a caller relies on: the kind is one of
 * the named kinds, "give up" only comes with a Retry-After above the limit,
 * the copied fields are NUL-terminated, and a redacted line never contains
 * a registered secret.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/classify.h"
#include "api/redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long statuses[] = {200, 204, 400, 401, 403, 404,
                                408, 409, 429, 500, 503, 302};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct classify_input in = {.transport = CLASSIFY_GOT_RESPONSE,
                                .retry_after_s = -1};
    struct classify_result out;
    char line[128];

    if (size == 0)
        return 0;
    in.status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
    in.is_create = data[0] & 0x80;
    in.body = (const char *)data + 1;
    in.body_len = size - 1;
    classify(&in, &out);
    if ((unsigned)out.kind >= CLASSIFY_KIND_COUNT ||
        !strcmp(classify_kind_name(out.kind), "unknown"))
        abort();
    if (out.give_up && out.retry_after_s <= CLASSIFY_RETRY_AFTER_MAX_S)
        abort();
    if (memchr(out.code, '\0', sizeof(out.code)) == NULL ||
        memchr(out.message, '\0', sizeof(out.message)) == NULL ||
        memchr(out.context_id, '\0', sizeof(out.context_id)) == NULL)
        abort();

    redact_add("s3cr3t");
    redact_line(line, sizeof(line), in.body, in.body_len);
    if (strstr(line, "s3cr3t") || strlen(line) >= sizeof(line))
        abort();
    return 0;
}
