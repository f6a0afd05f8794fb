/* The checked number parser: durations, ranges, counts and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/clock.h"
#include "base/units.h"

/* Parse @s as a duration that must succeed; returns the nanoseconds. */
static int64_t duration(const char *s)
{
    int64_t ns = -1;

    assert_int_equal(units_parse_duration(s, &ns), RT_OK);
    return ns;
}

static void duration_parses_each_unit(void **state)
{
    (void)state;
    assert_int_equal(duration("7ns"), 7);
    assert_int_equal(duration("250us"), 250 * NS_PER_US);
    assert_int_equal(duration("500ms"), 500 * NS_PER_MS);
    assert_int_equal(duration("10s"), 10 * NS_PER_S);
    assert_int_equal(duration("2m"), 120 * NS_PER_S);
    assert_int_equal(duration("1h"), 3600 * NS_PER_S);
}

static void duration_parses_fractions_exactly(void **state)
{
    (void)state;
    assert_int_equal(duration("1.5s"), 1500 * NS_PER_MS);
    assert_int_equal(duration(".5s"), 500 * NS_PER_MS);
    assert_int_equal(duration("2.5ms"), 2500 * NS_PER_US);
    assert_int_equal(duration("0.1s"), 100 * NS_PER_MS);
    assert_int_equal(duration("1.25m"), 75 * NS_PER_S);
    assert_int_equal(duration("0.5h"), 1800 * NS_PER_S);
    /* More digits than a double holds: every nanosecond survives. */
    assert_int_equal(duration("1234567.123456789s"), INT64_C(1234567123456789));
    /* Below the nanosecond, round to nearest. */
    assert_int_equal(duration("1.4ns"), 1);
    assert_int_equal(duration("1.5ns"), 2);
    assert_int_equal(duration("0.0000000004s"), 0);
    assert_int_equal(duration("0.0000000006s"), 1);
}

static void duration_zero_needs_no_unit(void **state)
{
    (void)state;
    assert_int_equal(duration("0"), 0);
    assert_int_equal(duration("0.0"), 0);
    assert_int_equal(duration("0ms"), 0);
}

static void duration_without_unit_is_rejected(void **state)
{
    int64_t ns = 42;

    (void)state;
    assert_int_equal(units_parse_duration("5", &ns), RT_EINVAL);
    assert_int_equal(units_parse_duration("0.5", &ns), RT_EINVAL);
    assert_int_equal(ns, 42);
}

static void duration_junk_is_rejected(void **state)
{
    static const char *const junk[] = {
        "",     "s",  "ms",   "5sx",    "5 s", " 5s",   "5s ", "-1s", "+1s",
        "1e3s", "5S", "5sec", "1.2.3s", ".s",  "0x10s", "inf", "nan", "5ms5",
    };
    int64_t ns = 42;

    (void)state;
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        if (units_parse_duration(junk[i], &ns) != RT_EINVAL)
            fail_msg("duration '%s' was accepted", junk[i]);
    }
    assert_int_equal(units_parse_duration(NULL, &ns), RT_EINVAL);
    assert_int_equal(ns, 42);
}

static void duration_overflow_is_erange(void **state)
{
    int64_t ns = 42;

    (void)state;
    /* INT64_MAX ns is 2562047.788...h. */
    assert_int_equal(duration("2562047h"), INT64_C(9223369200000000000));
    assert_int_equal(duration("9223372036.854775807s"), INT64_MAX);
    assert_int_equal(units_parse_duration("9223372036.854775808s", &ns),
                     RT_ERANGE);
    assert_int_equal(units_parse_duration("2562048h", &ns), RT_ERANGE);
    assert_int_equal(units_parse_duration("99999999999999999999ns", &ns),
                     RT_ERANGE);
    assert_int_equal(ns, 42);
}

static void range_parses_low_and_high(void **state)
{
    int64_t lo = -1, hi = -1;

    (void)state;
    assert_int_equal(units_parse_duration_range("50ms..400ms", &lo, &hi),
                     RT_OK);
    assert_int_equal(lo, 50 * NS_PER_MS);
    assert_int_equal(hi, 400 * NS_PER_MS);
    assert_int_equal(units_parse_duration_range("1s..1s", &lo, &hi), RT_OK);
    assert_int_equal(lo, NS_PER_S);
    assert_int_equal(hi, NS_PER_S);
    assert_int_equal(units_parse_duration_range("0..2m", &lo, &hi), RT_OK);
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 120 * NS_PER_S);
}

static void range_single_duration_gives_equal_bounds(void **state)
{
    int64_t lo = -1, hi = -1;

    (void)state;
    assert_int_equal(units_parse_duration_range("250ms", &lo, &hi), RT_OK);
    assert_int_equal(lo, 250 * NS_PER_MS);
    assert_int_equal(hi, 250 * NS_PER_MS);
}

static void range_low_above_high_is_rejected(void **state)
{
    int64_t lo = 7, hi = 8;

    (void)state;
    assert_int_equal(units_parse_duration_range("400ms..50ms", &lo, &hi),
                     RT_ERANGE);
    assert_int_equal(lo, 7);
    assert_int_equal(hi, 8);
}

static void range_malformed_is_rejected(void **state)
{
    static const char *const bad[] = {
        "..5s",  "5s..",  "..",    "5s...6s",
        "5s..6", "5..6s", "5s-6s", "5s..6s..7s",
    };
    int64_t lo = 7, hi = 8;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (units_parse_duration_range(bad[i], &lo, &hi) == RT_OK)
            fail_msg("range '%s' was accepted", bad[i]);
    }
    assert_int_equal(lo, 7);
    assert_int_equal(hi, 8);
}

static void count_parses_plain_and_suffixed(void **state)
{
    static const struct {
        const char *s;
        int64_t v;
    } cases[] = {
        {"0", 0},
        {"7", 7},
        {"1k", 1000},
        {"1K", 1000},
        {"2M", 2000000},
        {"3G", 3000000000},
        {"1.5k", 1500},
        {"2.25M", 2250000},
        /* 4.1 * 1e9 is 4099999999.9999995 in doubles. */
        {"4.1G", 4100000000},
        {"1.000k", 1000},
        {"1234567890123456789", INT64_C(1234567890123456789)},
        {"9223372036854775807", INT64_MAX},
    };
    int64_t v;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = -1;
        assert_int_equal(units_parse_count(cases[i].s, &v), RT_OK);
        if (v != cases[i].v)
            fail_msg("count '%s': got %lld, want %lld", cases[i].s,
                     (long long)v, (long long)cases[i].v);
    }
}

static void count_rejects_fractions_and_junk(void **state)
{
    static const char *const bad[] = {
        "",   "k",  "1.5", "1.0005k", "1m",  "1kb",
        "-1", "+1", " 1",  "1 ",      "1e3", "0x10",
    };
    int64_t v = 42;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (units_parse_count(bad[i], &v) != RT_EINVAL)
            fail_msg("count '%s' was not rejected as invalid", bad[i]);
    }
    assert_int_equal(v, 42);
}

static void count_overflow_is_erange(void **state)
{
    int64_t v = 42;

    (void)state;
    assert_int_equal(units_parse_count("9223372036854775808", &v), RT_ERANGE);
    assert_int_equal(units_parse_count("9300000000G", &v), RT_ERANGE);
    assert_int_equal(units_parse_count("99999999999999999999999", &v),
                     RT_ERANGE);
    assert_int_equal(v, 42);
}

static void i64_parses_signed_whole_strings(void **state)
{
    int64_t v = 0;

    (void)state;
    assert_int_equal(units_parse_i64("-42", &v), RT_OK);
    assert_int_equal(v, -42);
    assert_int_equal(units_parse_i64("9223372036854775807", &v), RT_OK);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(units_parse_i64("-9223372036854775808", &v), RT_OK);
    assert_int_equal(v, INT64_MIN);
    v = 42;
    assert_int_equal(units_parse_i64("9223372036854775808", &v), RT_ERANGE);
    assert_int_equal(units_parse_i64("12a", &v), RT_EINVAL);
    assert_int_equal(units_parse_i64("", &v), RT_EINVAL);
    assert_int_equal(units_parse_i64(" 1", &v), RT_EINVAL);
    assert_int_equal(units_parse_i64("abc", &v), RT_EINVAL);
    assert_int_equal(v, 42);
}

static void double_parses_finite_values_only(void **state)
{
    double d = 0;

    (void)state;
    assert_int_equal(units_parse_double("0.25", &d), RT_OK);
    assert_true(d == 0.25);
    assert_int_equal(units_parse_double("-1e3", &d), RT_OK);
    assert_true(d == -1000.0);
    d = 42;
    assert_int_equal(units_parse_double("1e999", &d), RT_ERANGE);
    assert_int_equal(units_parse_double("inf", &d), RT_ERANGE);
    assert_int_equal(units_parse_double("nan", &d), RT_ERANGE);
    assert_int_equal(units_parse_double("1.5x", &d), RT_EINVAL);
    assert_int_equal(units_parse_double("", &d), RT_EINVAL);
    assert_int_equal(units_parse_double(" 1", &d), RT_EINVAL);
    assert_true(d == 42);
}

static void format_duration_is_compact(void **state)
{
    static const struct {
        int64_t ns;
        const char *text;
    } cases[] = {
        {0, "0"},
        {7, "7ns"},
        {250, "250ns"},
        {1500, "1.5us"},
        {250 * NS_PER_US, "250us"},
        {1001, "1.001us"},
        {200 * NS_PER_MS, "200ms"},
        {1500 * NS_PER_MS, "1.5s"},
        {1250 * NS_PER_MS, "1.25s"},
        {10 * NS_PER_S, "10s"},
        {3600 * NS_PER_S, "3600s"},
        {NS_PER_S + 1, "1000000.001us"},
        {-1500 * NS_PER_MS, "-1.5s"},
    };
    char out[64];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(
            units_format_duration(cases[i].ns, out, sizeof(out)),
            cases[i].text);
}

static void format_then_parse_round_trips(void **state)
{
    static const int64_t values[] = {
        0,
        1,
        999,
        1000,
        1001,
        NS_PER_MS - 1,
        NS_PER_MS,
        1500 * NS_PER_MS,
        NS_PER_S + 1,
        123456789012345,
        INT64_MAX,
    };
    char out[64];

    (void)state;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        units_format_duration(values[i], out, sizeof(out));
        assert_int_equal(duration(out), values[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duration_parses_each_unit),
        cmocka_unit_test(duration_parses_fractions_exactly),
        cmocka_unit_test(duration_zero_needs_no_unit),
        cmocka_unit_test(duration_without_unit_is_rejected),
        cmocka_unit_test(duration_junk_is_rejected),
        cmocka_unit_test(duration_overflow_is_erange),
        cmocka_unit_test(range_parses_low_and_high),
        cmocka_unit_test(range_single_duration_gives_equal_bounds),
        cmocka_unit_test(range_low_above_high_is_rejected),
        cmocka_unit_test(range_malformed_is_rejected),
        cmocka_unit_test(count_parses_plain_and_suffixed),
        cmocka_unit_test(count_rejects_fractions_and_junk),
        cmocka_unit_test(count_overflow_is_erange),
        cmocka_unit_test(i64_parses_signed_whole_strings),
        cmocka_unit_test(double_parses_finite_values_only),
        cmocka_unit_test(format_duration_is_compact),
        cmocka_unit_test(format_then_parse_round_trips),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
