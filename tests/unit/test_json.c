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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(int64_prints_every_digit),
        cmocka_unit_test(write_file_is_the_printed_document_and_a_newline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
