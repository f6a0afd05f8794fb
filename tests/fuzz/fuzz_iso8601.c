/*
 * Fuzz target for iso8601_parse (include/base/clock.h).  Whatever parses
 * must print back through iso8601_format_ms and parse again to the same
 * instant truncated (floored) to the millisecond.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1);
    char text[ISO8601_LEN];
    int64_t ns, back, floor_ms;

    memcpy(s, data, size);
    s[size] = '\0';
    if (iso8601_parse(s, &ns) == RT_OK) {
        floor_ms = ns / NS_PER_MS - (ns % NS_PER_MS < 0);
        iso8601_format_ms(ns, text, sizeof(text));
        if (iso8601_parse(text, &back) != RT_OK || back != floor_ms * NS_PER_MS)
            abort();
    }
    free(s);
    return 0;
}
