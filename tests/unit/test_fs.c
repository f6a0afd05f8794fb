/* fs_mkdir_p: nested creation, idempotence, and failure through a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"

struct fixture {
    char root[256];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    const char *tmp = getenv("TMPDIR");

    if (!fx)
        return -1;
    snprintf(fx->root, sizeof(fx->root), "%s/rt-test-fs-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fx->root)) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

/* Remove what the tests may have created, deepest first. */
static int teardown(void **state)
{
    static const char *const leftovers[] = {
        "a/b/c", "a/b", "a",       "file/x",  "file", "trail/x",
        "trail", "out", "out.tmp", "dir.tmp", "dir",
    };
    struct fixture *fx = *state;
    char p[512];

    for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", fx->root, leftovers[i]);
        if (rmdir(p))
            unlink(p);
    }
    rmdir(fx->root);
    free(fx);
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void creates_missing_parents(void **state)
{
    struct fixture *fx = *state;
    char p[512];

    snprintf(p, sizeof(p), "%s/a/b/c", fx->root);
    assert_int_equal(fs_mkdir_p(p), RT_OK);
    assert_true(is_dir(p));
}

static void existing_directory_is_fine(void **state)
{
    struct fixture *fx = *state;
    char p[512];

    snprintf(p, sizeof(p), "%s/a/b", fx->root);
    assert_int_equal(fs_mkdir_p(p), RT_OK);
    assert_int_equal(fs_mkdir_p(p), RT_OK);
    assert_int_equal(fs_mkdir_p(fx->root), RT_OK);
    assert_true(is_dir(p));
}

static void trailing_slash_is_accepted(void **state)
{
    struct fixture *fx = *state;
    char p[512];

    snprintf(p, sizeof(p), "%s/trail/x/", fx->root);
    assert_int_equal(fs_mkdir_p(p), RT_OK);
    snprintf(p, sizeof(p), "%s/trail/x", fx->root);
    assert_true(is_dir(p));
}

static void file_in_the_way_is_an_error(void **state)
{
    struct fixture *fx = *state;
    char p[512];
    FILE *f;

    snprintf(p, sizeof(p), "%s/file", fx->root);
    f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/file/x", fx->root);
    assert_int_equal(fs_mkdir_p(p), RT_EIO);
    assert_false(is_dir(p));
}

static void empty_path_is_invalid(void **state)
{
    (void)state;
    assert_int_equal(fs_mkdir_p(""), RT_EINVAL);
}

static char *read_all(const char *path)
{
    static char text[256];
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f)
        return NULL;
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void write_atomic_creates_and_replaces(void **state)
{
    struct fixture *fx = *state;
    char p[512], tmp[520];

    snprintf(p, sizeof(p), "%s/out", fx->root);
    snprintf(tmp, sizeof(tmp), "%s.tmp", p);
    assert_int_equal(fs_write_atomic(p, "first\n", 6), RT_OK);
    assert_string_equal(read_all(p), "first\n");
    assert_int_equal(fs_write_atomic(p, "2nd", 3), RT_OK);
    assert_string_equal(read_all(p), "2nd");
    assert_int_not_equal(access(tmp, F_OK), 0);
}

/* A directory in the way: the rename fails, nothing is left behind. */
static void write_atomic_failure_leaves_no_tmp(void **state)
{
    struct fixture *fx = *state;
    char p[512], tmp[520];

    snprintf(p, sizeof(p), "%s/dir", fx->root);
    snprintf(tmp, sizeof(tmp), "%s.tmp", p);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(fs_write_atomic(p, "x", 1), RT_EIO);
    assert_true(is_dir(p));
    assert_int_not_equal(access(tmp, F_OK), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(creates_missing_parents),
        T(existing_directory_is_fine),
        T(trailing_slash_is_accepted),
        T(file_in_the_way_is_an_error),
        T(empty_path_is_invalid),
        T(write_atomic_creates_and_replaces),
        T(write_atomic_failure_leaves_no_tmp),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
