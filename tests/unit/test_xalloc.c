/* Aborting allocators: the copies and the checked array growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static void strdup_copies_and_keeps_null(void **state)
{
    const char *src = "agent-42";
    char *p = xstrdup(src);

    (void)state;
    assert_string_equal(p, src);
    assert_ptr_not_equal(p, src);
    free(p);
    assert_null(xstrdup(NULL));
}

static void strndup_stops_at_n_or_nul(void **state)
{
    char *a = xstrndup("abcdef", 3);
    char *b = xstrndup("ab", 10);
    char *c = xstrndup("abc", 0);

    (void)state;
    assert_string_equal(a, "abc");
    assert_string_equal(b, "ab");
    assert_string_equal(c, "");
    free(a);
    free(b);
    free(c);
    assert_null(xstrndup(NULL, 4));
}

static void calloc_zeroes_and_realloc_keeps_contents(void **state)
{
    unsigned char *p = xcalloc(64, 1);
    int *v;

    (void)state;
    for (int i = 0; i < 64; i++)
        assert_int_equal(p[i], 0);
    free(p);
    v = xreallocarray(NULL, 4, sizeof(*v));
    for (int i = 0; i < 4; i++)
        v[i] = i * 11;
    v = xreallocarray(v, 1000, sizeof(*v));
    for (int i = 0; i < 4; i++)
        assert_int_equal(v[i], i * 11);
    free(v);
}

static void zero_sizes_still_return_memory(void **state)
{
    void *a = xmalloc(0), *b = xcalloc(0, 0), *c = xrealloc(NULL, 0);

    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    free(a);
    free(b);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strdup_copies_and_keeps_null),
        cmocka_unit_test(strndup_stops_at_n_or_nul),
        cmocka_unit_test(calloc_zeroes_and_realloc_keeps_contents),
        cmocka_unit_test(zero_sizes_still_return_memory),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
