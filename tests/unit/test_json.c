/* Exact int64 numbers in JSON output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(int64_prints_every_digit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
