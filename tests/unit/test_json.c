/* Exact int64 numbers in JSON output, and JSON documents written to files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/json.h"

static void int64_prints_every_digit(void **state)
{
    cJSON *o = cJSON_CreateObject();
    char *text;

    (void)state;
    /* A wall-clock time in ns: 19 digits, past what a double holds. */
    cJSON_AddItemToObject(o, "t", json_int64(INT64_C(1795536863025048543)));
    cJSON_AddItemToObject(o, "min", json_int64(INT64_MIN));
    text = cJSON_PrintUnformatted(o);
    assert_string_equal(text, "{\"t\":1795536863025048543,"
                              "\"min\":-9223372036854775808}");
    free(text);
    cJSON_Delete(o);
}

/* json_write_file: the document as cJSON prints it, then a newline. */
static void write_file_is_the_printed_document_and_a_newline(void **state)
{
    char dir[] = "/tmp/rt-test-json-XXXXXX", path[64], text[256];
    cJSON *o = cJSON_CreateObject();
    char *want;
    FILE *f;
    size_t n;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/doc.json", dir);
    cJSON_AddStringToObject(o, "cause", "none");
    cJSON_AddItemToObject(o, "n", json_int64(42));
    assert_int_equal(json_write_file(path, o), RT_OK);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    want = cJSON_Print(o);
    assert_int_equal(n, strlen(want) + 1);
    assert_memory_equal(text, want, strlen(want));
    assert_int_equal(text[n - 1], '\n');
    free(want);
    cJSON_Delete(o);
    unlink(path);
    rmdir(dir);
}

static void parse_exact_wants_one_whole_value(void **state)
{
    static const char glued[] = "{\"a\":1}{\"b\":2}";
    static const char cut[] = "{\"a\":";
    size_t off = 99;
    cJSON *doc;

    (void)state;
    doc = json_parse_exact("{\"a\":1} \r\n", 10, &off);
    assert_non_null(doc);
    assert_int_equal(off, 0);
    cJSON_Delete(doc);
    /* Not NUL-terminated: only @len bytes count. */
    doc = json_parse_exact("[1]xyz", 3, NULL);
    assert_non_null(doc);
    cJSON_Delete(doc);
    assert_null(json_parse_exact(glued, sizeof(glued) - 1, &off));
    assert_int_equal(off, 7);
    assert_null(json_parse_exact(cut, sizeof(cut) - 1, &off));
    assert_null(json_parse_exact("", 0, &off));
    assert_int_equal(off, 0);
    assert_null(json_parse_exact(NULL, 3, NULL));
}

static void fields_and_ids_tolerate_any_shape(void **state)
{
    cJSON *doc = cJSON_Parse("{\"s\":\"x\",\"n\":1,\"list\":[3,{\"id\":7},"
                             "{\"id\":\"b\"},{\"id\":\"c\",\"v\":2}]}");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "list");

    (void)state;
    assert_string_equal(json_string_field(doc, "s"), "x");
    assert_null(json_string_field(doc, "n"));
    assert_null(json_string_field(doc, "missing"));
    assert_null(json_field(list, "s")); /* an array is not an object */
    assert_null(json_field(NULL, "s"));
    assert_non_null(json_by_id(list, "c"));
    assert_ptr_equal(json_by_id(list, "c"), cJSON_GetArrayItem(list, 3));
    assert_null(json_by_id(list, "7")); /* a number id is not "7" */
    assert_null(json_by_id(doc, "b"));  /* not an array: no elements */
    cJSON_Delete(doc);
}

static void dotted_paths_and_whole_numbers(void **state)
{
    cJSON *doc = cJSON_Parse("{\"version\":7,\"meta\":{\"version\":2.5,"
                             "\"big\":1e300,\"neg\":-1,\"s\":\"3\"}}");
    int64_t v = -5;

    (void)state;
    assert_int_equal(json_whole(json_at(doc, "version"), &v), 0);
    assert_int_equal(v, 7);
    assert_null(json_at(doc, "meta.missing"));
    assert_null(json_at(doc, "version.deeper"));
    assert_int_equal(json_whole(json_at(doc, "meta.version"), &v), -1);
    assert_int_equal(json_whole(json_at(doc, "meta.big"), &v), -1);
    assert_int_equal(json_whole(json_at(doc, "meta.neg"), &v), -1);
    assert_int_equal(json_whole(json_at(doc, "meta.s"), &v), -1);
    assert_int_equal(json_whole(NULL, &v), -1);
    assert_int_equal(v, 7); /* untouched on failure */
    cJSON_Delete(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(int64_prints_every_digit),
        cmocka_unit_test(write_file_is_the_printed_document_and_a_newline),
        cmocka_unit_test(parse_exact_wants_one_whole_value),
        cmocka_unit_test(fields_and_ids_tolerate_any_shape),
        cmocka_unit_test(dotted_paths_and_whole_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
