/*
 * Fuzz target for the observer's response parsers
 * (include/harness/observer.h): any bytes, as a bulk listing and as a
 * single user.  Every user handed to the callback has an id, a version of
 * -1 or more, and a server time only alongside the value it dates.
 */
#include <stdint.h>
#include <stdlib.h>

#include "harness/observer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(void *ctx, const struct observer_user *u)
{
    size_t *n = ctx;

    if (!u->id || u->version < -1 || (!u->presence && u->presence_server_ns) ||
        (!u->routing && u->routing_server_ns))
        abort();
    (*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    size_t n = 0, offset = 0, skipped = 0;

    if (observer_parse_listing(body, size, check, &n, &offset, &skipped) !=
            RT_OK &&
        (n != 0 || skipped != 0 || offset > size))
        abort();
    n = 0;
    if (observer_parse_user(body, size, check, &n, &offset) == RT_OK) {
        if (n != 1)
            abort();
    } else if (n != 0 || offset > size) {
        abort();
    }
    return 0;
}
