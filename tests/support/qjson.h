/*
 * JSON written in single quotes, for readable fixtures in C strings: every
 * single quote becomes a double quote before parsing, so fixture strings
 * cannot hold a real quote (tests set such strings on the parsed tree).
 * Not thread-safe: failures go through cmocka.
 */
#ifndef RT_TESTS_QJSON_H
#define RT_TESTS_QJSON_H

#include <cJSON.h>

/* Parse @single_quoted; fails the test when it is not valid JSON.  Caller
 * frees with cJSON_Delete(). */
cJSON *qjson_parse(const char *single_quoted);

#endif
