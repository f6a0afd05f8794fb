/* The error table: every code has its own text, and strangers are safe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/err.h"

static void every_code_has_distinct_text(void **state)
{
    (void)state;
    for (int i = 0; i < RT_ERR_COUNT; i++) {
        const char *a = rt_strerror((enum rt_err)i);
        assert_non_null(a);
        assert_true(strlen(a) > 0);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(a, rt_strerror((enum rt_err)j));
    }
}

static void known_codes_read_as_documented(void **state)
{
    (void)state;
    assert_int_equal(RT_OK, 0);
    assert_string_equal(rt_strerror(RT_OK), "success");
    assert_string_equal(rt_strerror(RT_ETRUNC), "buffer limit reached");
    assert_string_equal(rt_strerror(RT_ECONFLICT), "version conflict");
}

static void unknown_codes_do_not_crash(void **state)
{
    (void)state;
    assert_string_equal(rt_strerror(RT_ERR_COUNT), "unknown error");
    assert_string_equal(rt_strerror((enum rt_err) - 1), "unknown error");
    assert_string_equal(rt_strerror((enum rt_err)1000), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_has_distinct_text),
        cmocka_unit_test(known_codes_read_as_documented),
        cmocka_unit_test(unknown_codes_do_not_crash),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
