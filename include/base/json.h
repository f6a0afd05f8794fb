/*
 * Small helpers for writing JSON with cJSON.  Thread-safe.
 */
#ifndef RT_BASE_JSON_H
#define RT_BASE_JSON_H

#include <stddef.h>
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

/* Parse the one JSON value that fills @body (@len bytes, need not be
 * NUL-terminated): only white space may follow it, since a body cut short
 * or glued to another is not the answer it looks like.  NULL on failure,
 * with *@error_offset (may be NULL) the byte where parsing stopped, or 0.
 * Caller frees. */
cJSON *json_parse_exact(const char *body, size_t len, size_t *error_offset);

/* Member @key of @obj, or NULL when @obj is not an object or lacks it. */
const cJSON *json_field(const cJSON *obj, const char *key);
/* The string member @key of @obj, or NULL when absent or not a string.
 * Borrowed from @obj. */
const char *json_string_field(const cJSON *obj, const char *key);
/* The member at dotted @path of @root ("version", "meta.version"), or
 * NULL. */
const cJSON *json_at(const cJSON *root, const char *path);
/* A whole number >= 0 that a double holds exactly (up to 2^53) into *@out:
 * 0, or -1 for anything else (NULL, not a number, fractional, too big). */
int json_whole(const cJSON *v, int64_t *out);
/* The element of array @list whose string "id" equals @id, or NULL. */
const cJSON *json_by_id(const cJSON *list, const char *id);

#endif
