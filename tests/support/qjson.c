/* Single-quoted JSON fixtures: one copy, quotes swapped, cJSON parses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "qjson.h"

#include <stdlib.h>
#include <string.h>

cJSON *qjson_parse(const char *single_quoted)
{
    char *text = strdup(single_quoted);
    cJSON *root;

    assert_non_null(text);
    for (char *p = text; *p; p++)
        if (*p == '\'')
            *p = '"';
    root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    return root;
}
