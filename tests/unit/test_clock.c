/* Clocks and ISO-8601 printing and parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/clock.h"

/* 2026-11-24T16:00:55Z, from Python's calendar.timegm. */
#define T_2026 INT64_C(1795536055)

static const char *fmt(int64_t wall_ns)
{
    static char out[ISO8601_LEN];

    return iso8601_format_ms(wall_ns, out, sizeof(out));
}

static int64_t parse_ok(const char *s)
{
    int64_t ns = -1;

    if (iso8601_parse(s, &ns) != RT_OK)
        fail_msg("'%s' was rejected", s);
    return ns;
}

static void iso8601_formats_known_instants(void **state)
{
    (void)state;
    assert_string_equal(fmt(0), "1970-01-01T00:00:00.000Z");
    assert_string_equal(fmt(T_2026 * NS_PER_S + 123 * NS_PER_MS),
                        "2026-11-24T16:00:55.123Z");
    assert_string_equal(fmt(INT64_C(1709164800) * NS_PER_S),
                        "2024-02-29T00:00:00.000Z");
    assert_string_equal(fmt(INT64_C(-2208988800) * NS_PER_S),
                        "1900-01-01T00:00:00.000Z");
}

static void iso8601_format_truncates_to_the_millisecond(void **state)
{
    (void)state;
    assert_string_equal(fmt(NS_PER_MS - 1), "1970-01-01T00:00:00.000Z");
    assert_string_equal(fmt(1999999), "1970-01-01T00:00:00.001Z");
    assert_string_equal(fmt(NS_PER_S - 1), "1970-01-01T00:00:00.999Z");
}

static void iso8601_format_floors_before_1970(void **state)
{
    /* An instant prints as the millisecond it falls in, so -1 ns is the
     * last millisecond of 1969, not 00:00:00.000. */
    (void)state;
    assert_string_equal(fmt(-1), "1969-12-31T23:59:59.999Z");
    assert_string_equal(fmt(-NS_PER_MS), "1969-12-31T23:59:59.999Z");
    assert_string_equal(fmt(-1500000), "1969-12-31T23:59:59.998Z");
    assert_string_equal(fmt(-NS_PER_S), "1969-12-31T23:59:59.000Z");
    assert_string_equal(fmt(-NS_PER_S - 1), "1969-12-31T23:59:58.999Z");
    assert_string_equal(fmt(INT64_C(-2208988800) * NS_PER_S - 1),
                        "1899-12-31T23:59:59.999Z");
}

static void iso8601_parses_utc_z(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2026-11-24T16:00:55Z"), T_2026 * NS_PER_S);
    assert_int_equal(parse_ok("2026-11-24t16:00:55z"), T_2026 * NS_PER_S);
    assert_int_equal(parse_ok("2026-11-24 16:00:55Z"), T_2026 * NS_PER_S);
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("1969-12-31T23:59:59Z"), -NS_PER_S);
}

static void iso8601_parses_offsets(void **state)
{
    (void)state;
    /* 16:00:55 at +05:30 is 10:30:55 UTC. */
    assert_int_equal(parse_ok("2026-11-24T16:00:55+05:30"),
                     (T_2026 - 5 * 3600 - 30 * 60) * NS_PER_S);
    assert_int_equal(parse_ok("2026-11-24T16:00:55+0530"),
                     (T_2026 - 5 * 3600 - 30 * 60) * NS_PER_S);
    /* 16:00:55 at -08:00 is 00:00:55 UTC the next day. */
    assert_int_equal(parse_ok("2026-11-24T16:00:55-0800"),
                     (T_2026 + 8 * 3600) * NS_PER_S);
    assert_int_equal(parse_ok("2026-11-24T16:00:55-08:00"),
                     (T_2026 + 8 * 3600) * NS_PER_S);
    assert_int_equal(parse_ok("2026-11-24T16:00:55+00:00"), T_2026 * NS_PER_S);
}

static void iso8601_parses_offset_and_fraction(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2026-11-24T16:00:55.25+01:00"),
                     (T_2026 - 3600) * NS_PER_S + 250 * NS_PER_MS);
}

static void iso8601_parses_fractions_of_1_to_9_digits(void **state)
{
    static const char *const fracs[] = {
        "1",      "12",      "123",      "1234",      "12345",
        "123456", "1234567", "12345678", "123456789",
    };
    static const int64_t want[] = {
        100000000, 120000000, 123000000, 123400000, 123450000,
        123456000, 123456700, 123456780, 123456789,
    };
    char text[64];

    (void)state;
    for (size_t i = 0; i < sizeof(fracs) / sizeof(fracs[0]); i++) {
        memcpy(text, "2026-11-24T16:00:55.", 20);
        memcpy(text + 20, fracs[i], strlen(fracs[i]));
        memcpy(text + 20 + strlen(fracs[i]), "Z", 2);
        assert_int_equal(parse_ok(text) - T_2026 * NS_PER_S, want[i]);
    }
    /* A comma is ISO-8601's other decimal sign; digits past 9 drop. */
    assert_int_equal(parse_ok("2026-11-24T16:00:55,5Z") - T_2026 * NS_PER_S,
                     500 * NS_PER_MS);
    assert_int_equal(parse_ok("2026-11-24T16:00:55.1234567899Z") -
                         T_2026 * NS_PER_S,
                     123456789);
}

static void iso8601_accepts_leap_days(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-02-29T00:00:00Z"),
                     INT64_C(1709164800) * NS_PER_S);
    parse_ok("2000-02-29T12:00:00Z");
}

static void iso8601_rejects_invalid_dates_and_times(void **state)
{
    static const char *const bad[] = {
        "2026-02-30T00:00:00Z",      "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",      "2026-04-31T00:00:00Z",
        "2026-13-01T00:00:00Z",      "2026-00-10T00:00:00Z",
        "2026-11-00T00:00:00Z",      "2026-11-24T24:00:00Z",
        "2026-11-24T16:60:00Z",      "2026-11-24T16:00:61Z",
        "2026-11-24T16:00:55+24:00", "2026-11-24T16:00:55+05:60",
    };
    int64_t ns = 42;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (iso8601_parse(bad[i], &ns) != RT_EINVAL)
            fail_msg("'%s' was not rejected as invalid", bad[i]);
    }
    assert_int_equal(ns, 42);
}

static void iso8601_rejects_missing_zone_and_malformed_text(void **state)
{
    static const char *const bad[] = {
        "2026-11-24T16:00:55",
        "2026-11-24T16:00:55.123",
        "2026-11-24T16:00:55.Z",
        "2026-11-24T16:00Z",
        "2026-11-24",
        "2026-11-24T16:00:55Zx",
        "2026-11-24T16:00:55+05",
        "2026-11-24T16:00:55+5:30",
        "26-11-24T16:00:55Z",
        "2026/11/24T16:00:55Z",
        "2026-11-24X16:00:55Z",
        " 2026-11-24T16:00:55Z",
        "",
        "garbage",
    };
    int64_t ns = 42;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (iso8601_parse(bad[i], &ns) != RT_EINVAL)
            fail_msg("'%s' was not rejected as invalid", bad[i]);
    }
    assert_int_equal(iso8601_parse(NULL, &ns), RT_EINVAL);
    assert_int_equal(ns, 42);
}

static void iso8601_rejects_instants_beyond_int64_ns(void **state)
{
    int64_t ns = 42;

    (void)state;
    assert_int_equal(parse_ok("2262-04-11T23:47:16.854775807Z"), INT64_MAX);
    assert_int_equal(iso8601_parse("2262-04-11T23:47:16.854775808Z", &ns),
                     RT_ERANGE);
    assert_int_equal(iso8601_parse("9999-12-31T23:59:59Z", &ns), RT_ERANGE);
    assert_int_equal(iso8601_parse("0000-01-01T00:00:00Z", &ns), RT_ERANGE);
    assert_int_equal(ns, 42);
}

static void iso8601_parse_of_format_round_trips(void **state)
{
    static const int64_t values[] = {
        0,
        1,
        -1,
        NS_PER_MS - 1,
        -1500000,
        T_2026 * NS_PER_S + 123456789,
        INT64_C(-2208988800) * NS_PER_S - 1,
        INT64_C(951782400) * NS_PER_S,
        INT64_C(4102444799) * NS_PER_S + 999999999,
    };

    (void)state;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        int64_t v = values[i];
        int64_t floor_ms = v / NS_PER_MS - (v % NS_PER_MS < 0);
        assert_int_equal(parse_ok(fmt(v)), floor_ms * NS_PER_MS);
    }
}

static void mono_clock_never_goes_back(void **state)
{
    int64_t prev = clock_mono_ns(), now;

    (void)state;
    assert_true(prev > 0);
    for (int i = 0; i < 100000; i++) {
        now = clock_mono_ns();
        if (now < prev)
            fail_msg("monotonic clock went from %lld to %lld", (long long)prev,
                     (long long)now);
        prev = now;
    }
}

static void wall_clock_reads_the_present(void **state)
{
    (void)state;
    /* Any machine running this is past 2024-01-01 and before 2262. */
    assert_true(clock_wall_ns() > INT64_C(1704067200) * NS_PER_S);
}

static void mono_timespec_splits_seconds_and_nanoseconds(void **state)
{
    struct timespec ts = clock_mono_timespec(12 * NS_PER_S + 345);

    (void)state;
    assert_int_equal(ts.tv_sec, 12);
    assert_int_equal(ts.tv_nsec, 345);
}

static void sleep_until_past_deadline_returns(void **state)
{
    int64_t before = clock_mono_ns();

    (void)state;
    /* A deadline already passed must not block; no timing is asserted. */
    clock_sleep_until_mono(before - NS_PER_S);
    clock_sleep_ns(0);
    clock_sleep_ns(-5);
    assert_true(clock_mono_ns() >= before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(iso8601_formats_known_instants),
        cmocka_unit_test(iso8601_format_truncates_to_the_millisecond),
        cmocka_unit_test(iso8601_format_floors_before_1970),
        cmocka_unit_test(iso8601_parses_utc_z),
        cmocka_unit_test(iso8601_parses_offsets),
        cmocka_unit_test(iso8601_parses_offset_and_fraction),
        cmocka_unit_test(iso8601_parses_fractions_of_1_to_9_digits),
        cmocka_unit_test(iso8601_accepts_leap_days),
        cmocka_unit_test(iso8601_rejects_invalid_dates_and_times),
        cmocka_unit_test(iso8601_rejects_missing_zone_and_malformed_text),
        cmocka_unit_test(iso8601_rejects_instants_beyond_int64_ns),
        cmocka_unit_test(iso8601_parse_of_format_round_trips),
        cmocka_unit_test(mono_clock_never_goes_back),
        cmocka_unit_test(wall_clock_reads_the_present),
        cmocka_unit_test(mono_timespec_splits_seconds_and_nanoseconds),
        cmocka_unit_test(sleep_until_past_deadline_returns),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
