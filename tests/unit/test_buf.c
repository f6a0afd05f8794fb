/* Bounded buffers: the cap, growth, printf and handing the data over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

static void empty_buffer_reads_as_empty_string(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 16);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

static void append_and_puts_concatenate(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 64);
    assert_int_equal(buf_puts(&b, "abc"), RT_OK);
    assert_int_equal(buf_append(&b, "defXYZ", 3), RT_OK);
    assert_int_equal(buf_putc(&b, '!'), RT_OK);
    assert_string_equal(buf_str(&b), "abcdef!");
    assert_int_equal(b.len, 7);
    buf_release(&b);
}

static void cap_is_enforced_exactly(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 8);
    assert_int_equal(buf_puts(&b, "12345678"), RT_OK);
    assert_int_equal(b.len, 8);
    assert_int_equal(buf_putc(&b, '9'), RT_ETRUNC);
    assert_int_equal(buf_append(&b, "", 0), RT_OK);
    assert_string_equal(buf_str(&b), "12345678");
    buf_release(&b);
}

static void failed_append_leaves_buffer_unchanged(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 10);
    assert_int_equal(buf_puts(&b, "hello"), RT_OK);
    assert_int_equal(buf_puts(&b, "world!"), RT_ETRUNC);
    assert_string_equal(buf_str(&b), "hello");
    assert_int_equal(b.len, 5);
    assert_int_equal(buf_printf(&b, "%s-%d", "abcd", 12345), RT_ETRUNC);
    assert_string_equal(buf_str(&b), "hello");
    assert_int_equal(b.len, 5);
    assert_int_equal(buf_append(&b, "x", SIZE_MAX), RT_ETRUNC);
    assert_int_equal(b.len, 5);
    /* What still fits goes in. */
    assert_int_equal(buf_puts(&b, "world"), RT_OK);
    assert_string_equal(buf_str(&b), "helloworld");
    buf_release(&b);
}

static void printf_grows_past_the_first_allocation(void **state)
{
    struct buf b;
    char want[2001];

    (void)state;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 200; i++)
        assert_int_equal(buf_printf(&b, "%05d%s", i, "abcde"), RT_OK);
    assert_int_equal(b.len, 2000);
    assert_true(b.cap > b.len);
    for (int i = 0; i < 200; i++)
        snprintf(want + i * 10, sizeof(want) - (size_t)i * 10, "%05dabcde", i);
    assert_string_equal(buf_str(&b), want);
    assert_int_equal(strlen(buf_str(&b)), 2000);
    buf_release(&b);
}

static void printf_of_long_argument_is_complete(void **state)
{
    struct buf b;
    char big[5000];

    (void)state;
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    buf_init(&b, 8192);
    assert_int_equal(buf_printf(&b, "<%s>", big), RT_OK);
    assert_int_equal(b.len, 5001);
    assert_int_equal(buf_str(&b)[0], '<');
    assert_int_equal(buf_str(&b)[4999], 'q');
    assert_int_equal(buf_str(&b)[5000], '>');
    buf_release(&b);
}

static void reset_empties_but_keeps_allocation(void **state)
{
    struct buf b;
    size_t cap;

    (void)state;
    buf_init(&b, 64);
    buf_puts(&b, "something");
    cap = b.cap;
    buf_reset(&b);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    assert_int_equal(buf_puts(&b, "again"), RT_OK);
    assert_string_equal(buf_str(&b), "again");
    buf_release(&b);
}

static void detach_hands_over_data_and_resets(void **state)
{
    struct buf b;
    size_t len = 0;
    char *p;

    (void)state;
    buf_init(&b, 32);
    buf_puts(&b, "payload");
    p = buf_detach(&b, &len);
    assert_string_equal(p, "payload");
    assert_int_equal(len, 7);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 32);
    assert_string_equal(buf_str(&b), "");
    /* The buffer is usable again, with the same cap. */
    assert_int_equal(buf_puts(&b, "0123456789012345678901234567890123"),
                     RT_ETRUNC);
    assert_int_equal(buf_puts(&b, "next"), RT_OK);
    assert_string_equal(buf_str(&b), "next");
    free(p);
    buf_release(&b);
}

static void detach_of_empty_buffer_is_empty_string(void **state)
{
    struct buf b;
    size_t len = 99;
    char *p;

    (void)state;
    buf_init(&b, 32);
    p = buf_detach(&b, &len);
    assert_non_null(p);
    assert_string_equal(p, "");
    assert_int_equal(len, 0);
    free(p);
    buf_release(&b);
}

static void zero_cap_buffer_takes_nothing(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    assert_int_equal(buf_putc(&b, 'x'), RT_ETRUNC);
    assert_int_equal(buf_printf(&b, "%s", ""), RT_OK);
    assert_string_equal(buf_str(&b), "");
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_buffer_reads_as_empty_string),
        cmocka_unit_test(append_and_puts_concatenate),
        cmocka_unit_test(cap_is_enforced_exactly),
        cmocka_unit_test(failed_append_leaves_buffer_unchanged),
        cmocka_unit_test(printf_grows_past_the_first_allocation),
        cmocka_unit_test(printf_of_long_argument_is_complete),
        cmocka_unit_test(reset_empties_but_keeps_allocation),
        cmocka_unit_test(detach_hands_over_data_and_resets),
        cmocka_unit_test(detach_of_empty_buffer_is_empty_string),
        cmocka_unit_test(zero_cap_buffer_takes_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
