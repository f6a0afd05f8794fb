/*
 * Small helpers for writing JSON with cJSON.  Thread-safe.
 */
#ifndef RT_BASE_JSON_H
#define RT_BASE_JSON_H

#include <stdint.h>

#include <cJSON.h>

#include "base/err.h"

/* @v as a JSON number printed exactly.  cJSON keeps numbers as doubles and
 * prints 15 significant digits, which rounds nanosecond times and large
 * versions; this is a raw item holding the decimal digits.  Caller owns it
 * (add it to an object or free it with cJSON_Delete). */
cJSON *json_int64(int64_t v);

/* Write @doc (borrowed), indented and ending in a newline, to @path
 * atomically (base/fs.h fs_write_atomic).  RT_EIO logged on failure. */
enum rt_err json_write_file(const char *path, const cJSON *doc);

#endif
