/*
 * Strict JSON reader: every error is one line naming the file and the JSON
 * path, unknown and duplicate keys are errors, typed readers check types
 * and ranges, and absent members leave the caller's defaults alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/jread.h"

struct fixture {
    struct jread jr;
    cJSON *root;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    if (!fx)
        return -1;
    jread_init(&fx->jr, "x.json");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    cJSON_Delete(fx->root);
    free(fx);
    return 0;
}

/* Parse @text, which must be valid, into fx->root. */
static cJSON *parse(struct fixture *fx, const char *text)
{
    cJSON_Delete(fx->root);
    fx->root = NULL;
    if (jread_parse(&fx->jr, text, strlen(text), &fx->root) != RT_OK)
        fail_msg("parse failed: %s", fx->jr.error);
    assert_string_equal(fx->jr.error, "");
    return fx->root;
}

/* Expect @err and exactly @msg as the recorded error; reset the reader. */
static void expect_error(struct fixture *fx, enum rt_err err, enum rt_err want,
                         const char *msg)
{
    assert_int_equal(err, want);
    assert_string_equal(fx->jr.error, msg);
    jread_init(&fx->jr, "x.json");
}

static void unknown_key_names_file_and_path(void **state)
{
    static const char *const top[] = {"world", NULL};
    static const char *const world_keys[] = {"actors", NULL};
    static const char *const actor_keys[] = {"name", "lag", NULL};
    struct fixture *fx = *state;
    cJSON *root = parse(fx, "{\"world\": {\"actors\": ["
                            "{\"name\": \"wfm\", \"foo\": 1}]}}");
    const cJSON *world, *actors;
    char apath[JREAD_PATH_MAX], ipath[JREAD_PATH_MAX];

    assert_int_equal(jread_object(&fx->jr, root, "", top), RT_OK);
    world = cJSON_GetObjectItemCaseSensitive(root, "world");
    assert_int_equal(jread_object(&fx->jr, world, "world", world_keys), RT_OK);
    actors = cJSON_GetObjectItemCaseSensitive(world, "actors");
    jread_path(apath, sizeof(apath), "world", "actors");
    assert_string_equal(apath, "world.actors");
    jread_path_index(ipath, sizeof(ipath), apath, 0);
    assert_string_equal(ipath, "world.actors[0]");
    expect_error(
        fx,
        jread_object(&fx->jr, cJSON_GetArrayItem(actors, 0), ipath, actor_keys),
        RT_EINVAL, "x.json: world.actors[0].foo: unknown key");
}

static void unknown_key_at_top_level_has_no_leading_dot(void **state)
{
    static const char *const top[] = {"a", NULL};
    struct fixture *fx = *state;

    expect_error(fx, jread_object(&fx->jr, parse(fx, "{\"b\":1}"), "", top),
                 RT_EINVAL, "x.json: b: unknown key");
}

static void duplicate_key_is_an_error(void **state)
{
    static const char *const keys[] = {"a", "b", NULL};
    struct fixture *fx = *state;
    cJSON *root = parse(fx, "{\"cfg\": {\"a\": 1, \"b\": 2, \"a\": 3}}");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "cfg");

    expect_error(fx, jread_object(&fx->jr, cfg, "cfg", keys), RT_EINVAL,
                 "x.json: cfg.a: duplicate key");
    /* Also where any key is allowed (free-form names). */
    expect_error(fx, jread_object(&fx->jr, cfg, "cfg", NULL), RT_EINVAL,
                 "x.json: cfg.a: duplicate key");
}

static void non_object_is_an_error(void **state)
{
    struct fixture *fx = *state;
    cJSON *root = parse(fx, "{\"cfg\": [1]}");

    expect_error(fx,
                 jread_object(&fx->jr,
                              cJSON_GetObjectItemCaseSensitive(root, "cfg"),
                              "cfg", NULL),
                 RT_EINVAL, "x.json: cfg: expected an object, got an array");
}

static void first_error_sticks(void **state)
{
    struct fixture *fx = *state;
    cJSON *root = parse(fx, "{\"a\": 1, \"b\": 2}");
    int on = 0;
    const char *s = NULL;

    assert_int_equal(jread_bool(&fx->jr, root, "", "a", &on), RT_EINVAL);
    assert_int_equal(jread_string(&fx->jr, root, "", "b", &s), RT_EINVAL);
    expect_error(fx, RT_EINVAL, RT_EINVAL, "x.json: a: expected true or false");
}

static void duration_reader_checks_type_and_units(void **state)
{
    struct fixture *fx = *state;
    cJSON *root = parse(
        fx, "{\"ok\": \"1.5s\", \"zero\": 0, \"num\": 5, \"bad\": \"5\"}");
    int64_t ns = 7;

    assert_int_equal(jread_duration(&fx->jr, root, "cfg", "ok", &ns), RT_OK);
    assert_int_equal(ns, 1500 * NS_PER_MS);
    assert_int_equal(jread_duration(&fx->jr, root, "cfg", "zero", &ns), RT_OK);
    assert_int_equal(ns, 0);
    ns = 7;
    expect_error(fx, jread_duration(&fx->jr, root, "cfg", "num", &ns),
                 RT_EINVAL,
                 "x.json: cfg.num: expected a duration such as \"500ms\", "
                 "\"10s\" or \"2m\"");
    expect_error(fx, jread_duration(&fx->jr, root, "cfg", "bad", &ns),
                 RT_EINVAL,
                 "x.json: cfg.bad: expected a duration such as \"500ms\", "
                 "\"10s\" or \"2m\"");
    assert_int_equal(ns, 7);
}

static void duration_range_reader_wants_low_first(void **state)
{
    struct fixture *fx = *state;
    cJSON *root = parse(fx, "{\"lag\": \"50ms..400ms\", \"one\": \"2s\", "
                            "\"rev\": \"400ms..50ms\", \"num\": 1}");
    int64_t lo = 1, hi = 2;
    static const char *msg = "expected a duration or a range such as "
                             "\"50ms..400ms\" (low first)";
    char want[256];

    assert_int_equal(jread_duration_range(&fx->jr, root, "", "lag", &lo, &hi),
                     RT_OK);
    assert_int_equal(lo, 50 * NS_PER_MS);
    assert_int_equal(hi, 400 * NS_PER_MS);
    assert_int_equal(jread_duration_range(&fx->jr, root, "", "one", &lo, &hi),
                     RT_OK);
    assert_int_equal(lo, 2 * NS_PER_S);
    assert_int_equal(hi, 2 * NS_PER_S);
    lo = 1;
    hi = 2;
    snprintf(want, sizeof(want), "x.json: rev: %s", msg);
    expect_error(fx, jread_duration_range(&fx->jr, root, "", "rev", &lo, &hi),
                 RT_EINVAL, want);
    snprintf(want, sizeof(want), "x.json: num: %s", msg);
    expect_error(fx, jread_duration_range(&fx->jr, root, "", "num", &lo, &hi),
                 RT_EINVAL, want);
    assert_int_equal(lo, 1);
    assert_int_equal(hi, 2);
}

static void number_reader_checks_type_and_range(void **state)
{
    struct fixture *fx = *state;
    cJSON *root =
        parse(fx, "{\"p\": 0.25, \"big\": 1.5, \"str\": \"0.5\", \"t\": true}");
    double d = -1;

    assert_int_equal(jread_number(&fx->jr, root, "a", "p", 0, 1, &d), RT_OK);
    assert_true(d == 0.25);
    d = -1;
    expect_error(fx, jread_number(&fx->jr, root, "a", "big", 0, 1, &d),
                 RT_EINVAL, "x.json: a.big: expected a number from 0 to 1");
    expect_error(fx, jread_number(&fx->jr, root, "a", "str", 0, 1, &d),
                 RT_EINVAL, "x.json: a.str: expected a number from 0 to 1");
    expect_error(fx, jread_number(&fx->jr, root, "a", "t", 0, 1, &d), RT_EINVAL,
                 "x.json: a.t: expected a number from 0 to 1");
    assert_true(d == -1);
}

static void int_reader_takes_numbers_and_count_strings(void **state)
{
    struct fixture *fx = *state;
    cJSON *root = parse(fx, "{\"n\": 150, \"k\": \"1.5k\", \"frac\": 2.5, "
                            "\"neg\": -1, \"junk\": \"ten\", \"arr\": []}");
    int64_t v = 9;
    static const char *msg = "expected a whole number from 0 to 10000";
    char want[256];

    assert_int_equal(jread_int(&fx->jr, root, "", "n", 0, 10000, &v), RT_OK);
    assert_int_equal(v, 150);
    assert_int_equal(jread_int(&fx->jr, root, "", "k", 0, 10000, &v), RT_OK);
    assert_int_equal(v, 1500);
    v = 9;
    snprintf(want, sizeof(want), "x.json: frac: %s", msg);
    expect_error(fx, jread_int(&fx->jr, root, "", "frac", 0, 10000, &v),
                 RT_EINVAL, want);
    snprintf(want, sizeof(want), "x.json: neg: %s", msg);
    expect_error(fx, jread_int(&fx->jr, root, "", "neg", 0, 10000, &v),
                 RT_EINVAL, want);
    snprintf(want, sizeof(want), "x.json: junk: %s", msg);
    expect_error(fx, jread_int(&fx->jr, root, "", "junk", 0, 10000, &v),
                 RT_EINVAL, want);
    snprintf(want, sizeof(want), "x.json: arr: %s", msg);
    expect_error(fx, jread_int(&fx->jr, root, "", "arr", 0, 10000, &v),
                 RT_EINVAL, want);
    assert_int_equal(v, 9);
}

static void bool_reader_rejects_numbers_and_strings(void **state)
{
    struct fixture *fx = *state;
    cJSON *root = parse(
        fx, "{\"on\": true, \"off\": false, \"one\": 1, \"s\": \"true\"}");
    int b = 5;

    assert_int_equal(jread_bool(&fx->jr, root, "o", "on", &b), RT_OK);
    assert_int_equal(b, 1);
    assert_int_equal(jread_bool(&fx->jr, root, "o", "off", &b), RT_OK);
    assert_int_equal(b, 0);
    b = 5;
    expect_error(fx, jread_bool(&fx->jr, root, "o", "one", &b), RT_EINVAL,
                 "x.json: o.one: expected true or false");
    expect_error(fx, jread_bool(&fx->jr, root, "o", "s", &b), RT_EINVAL,
                 "x.json: o.s: expected true or false");
    assert_int_equal(b, 5);
}

static void string_reader_names_the_wrong_type(void **state)
{
    struct fixture *fx = *state;
    cJSON *root =
        parse(fx, "{\"s\": \"hi\", \"n\": 3, \"o\": {}, \"z\": null}");
    const char *s = "default";

    assert_int_equal(jread_string(&fx->jr, root, "", "s", &s), RT_OK);
    assert_string_equal(s, "hi");
    s = "default";
    expect_error(fx, jread_string(&fx->jr, root, "", "n", &s), RT_EINVAL,
                 "x.json: n: expected a string, got a number");
    expect_error(fx, jread_string(&fx->jr, root, "", "o", &s), RT_EINVAL,
                 "x.json: o: expected a string, got an object");
    expect_error(fx, jread_string(&fx->jr, root, "", "z", &s), RT_EINVAL,
                 "x.json: z: expected a string, got null");
    assert_string_equal(s, "default");
}

static void enum_reader_lists_the_choices(void **state)
{
    static const char *const modes[] = {"fifo", "lifo", "random", NULL};
    struct fixture *fx = *state;
    cJSON *root = parse(fx, "{\"m\": \"lifo\", \"bad\": \"sideways\", "
                            "\"num\": 2}");
    int m = -1;

    assert_int_equal(jread_enum(&fx->jr, root, "q", "m", modes, &m), RT_OK);
    assert_int_equal(m, 1);
    m = -1;
    expect_error(fx, jread_enum(&fx->jr, root, "q", "bad", modes, &m),
                 RT_EINVAL,
                 "x.json: q.bad: unknown value \"sideways\" (expected one "
                 "of: fifo, lifo, random)");
    expect_error(fx, jread_enum(&fx->jr, root, "q", "num", modes, &m),
                 RT_EINVAL, "x.json: q.num: expected a string, got a number");
    assert_int_equal(m, -1);
}

static void absent_optional_members_leave_defaults(void **state)
{
    static const char *const modes[] = {"a", NULL};
    struct fixture *fx = *state;
    cJSON *root = parse(fx, "{\"other\": 1}");
    int64_t ns = 11, lo = 12, hi = 13, i = 14;
    double d = 15.5;
    int b = 16, e = 17;
    const char *s = "dflt";

    assert_int_equal(jread_duration(&fx->jr, root, "", "x", &ns), RT_OK);
    assert_int_equal(jread_duration_range(&fx->jr, root, "", "x", &lo, &hi),
                     RT_OK);
    assert_int_equal(jread_number(&fx->jr, root, "", "x", 0, 100, &d), RT_OK);
    assert_int_equal(jread_int(&fx->jr, root, "", "x", 0, 100, &i), RT_OK);
    assert_int_equal(jread_bool(&fx->jr, root, "", "x", &b), RT_OK);
    assert_int_equal(jread_string(&fx->jr, root, "", "x", &s), RT_OK);
    assert_int_equal(jread_enum(&fx->jr, root, "", "x", modes, &e), RT_OK);
    assert_int_equal(ns, 11);
    assert_int_equal(lo, 12);
    assert_int_equal(hi, 13);
    assert_int_equal(i, 14);
    assert_true(d == 15.5);
    assert_int_equal(b, 16);
    assert_int_equal(e, 17);
    assert_string_equal(s, "dflt");
    assert_string_equal(fx->jr.error, "");
}

static void invalid_json_reports_line_and_column(void **state)
{
    struct fixture *fx = *state;
    const char *text = "{\n  \"a\": 1,\n  \"b\": }\n";
    cJSON *root = NULL;

    expect_error(fx, jread_parse(&fx->jr, text, strlen(text), &root), RT_EINVAL,
                 "x.json: invalid JSON at line 3, column 8");
    assert_null(root);
    text = "[1, 2,";
    expect_error(fx, jread_parse(&fx->jr, text, strlen(text), &root), RT_EINVAL,
                 "x.json: invalid JSON at line 1, column 6");
    expect_error(fx, jread_parse(&fx->jr, "", 0, &root), RT_EINVAL,
                 "x.json: invalid JSON at line 1, column 1");
    assert_null(root);
}

static void text_after_the_value_is_rejected(void **state)
{
    struct fixture *fx = *state;
    const char *text = "{\"a\": 1}\n}";
    cJSON *root = NULL;

    expect_error(fx, jread_parse(&fx->jr, text, strlen(text), &root), RT_EINVAL,
                 "x.json: invalid JSON at line 2, column 1");
    text = "{\"a\": 1} {\"b\": 2}";
    expect_error(fx, jread_parse(&fx->jr, text, strlen(text), &root), RT_EINVAL,
                 "x.json: invalid JSON at line 1, column 10");
    assert_null(root);
    /* Trailing whitespace is fine. */
    parse(fx, "{\"a\": 1}\n\t \r\n");
}

static void parse_respects_length_not_nul(void **state)
{
    struct fixture *fx = *state;
    const char text[] = "{\"a\": 1}XXXX";
    cJSON *root = NULL;

    assert_int_equal(jread_parse(&fx->jr, text, 8, &root), RT_OK);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(root, "a")->valueint, 1);
    cJSON_Delete(root);
}

static void control_characters_do_not_split_the_message(void **state)
{
    static const char *const keys[] = {"a", NULL};
    struct fixture *fx = *state;

    expect_error(fx,
                 jread_object(&fx->jr, parse(fx, "{\"x\\ny\": 1}"), "", keys),
                 RT_EINVAL, "x.json: x?y: unknown key");
}

static void load_file_reads_and_reports_missing_files(void **state)
{
    struct fixture *fx = *state;
    char dir[] = "/tmp/rt-test-jread-XXXXXX";
    char path[128];
    cJSON *root = NULL;
    FILE *f;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/s.json", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"seed\": 42}\n", f);
    fclose(f);
    assert_int_equal(jread_load_file(&fx->jr, path, &root), RT_OK);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(root, "seed")->valueint,
                     42);
    cJSON_Delete(root);
    root = NULL;
    unlink(path);
    rmdir(dir);
    expect_error(fx, jread_load_file(&fx->jr, path, &root), RT_EINVAL,
                 "x.json: cannot open: No such file or directory");
    assert_null(root);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(unknown_key_names_file_and_path),
        T(unknown_key_at_top_level_has_no_leading_dot),
        T(duplicate_key_is_an_error),
        T(non_object_is_an_error),
        T(first_error_sticks),
        T(duration_reader_checks_type_and_units),
        T(duration_range_reader_wants_low_first),
        T(number_reader_checks_type_and_range),
        T(int_reader_takes_numbers_and_count_strings),
        T(bool_reader_rejects_numbers_and_strings),
        T(string_reader_names_the_wrong_type),
        T(enum_reader_lists_the_choices),
        T(absent_optional_members_leave_defaults),
        T(invalid_json_reports_line_and_column),
        T(text_after_the_value_is_rejected),
        T(parse_respects_length_not_nul),
        T(control_characters_do_not_split_the_message),
        T(load_file_reads_and_reports_missing_files),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
