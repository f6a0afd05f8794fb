/*
 * Fuzz target for the units parser (include/base/units.h): every parser on
 * the input as one NUL-terminated string, plus the invariants a caller
 * relies on: results are non-negative where the contract says so, a range
 * is ordered, and a formatted duration parses back to the same value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"
#include "base/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(int64_t ns)
{
    char text[64];
    int64_t back = -1;

    units_format_duration(ns, text, sizeof(text));
    if (units_parse_duration(text, &back) != RT_OK || back != ns)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1);
    int64_t ns, lo, hi, n;
    double d;

    memcpy(s, data, size);
    s[size] = '\0';
    if (units_parse_duration(s, &ns) == RT_OK) {
        if (ns < 0)
            abort();
        check_round_trip(ns);
    }
    if (units_parse_duration_range(s, &lo, &hi) == RT_OK) {
        if (lo < 0 || hi < lo)
            abort();
        check_round_trip(lo);
        check_round_trip(hi);
    }
    if (units_parse_count(s, &n) == RT_OK && n < 0)
        abort();
    units_parse_i64(s, &n);
    units_parse_double(s, &d);
    free(s);
    return 0;
}
