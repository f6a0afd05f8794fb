/*
 * Strict reading of JSON configuration (scenario files) with JSON paths in
 * every error.  Unknown keys are errors, so a typo never silently changes a
 * test.  The first error is kept in self->error as one line:
 *   scenarios/x.json: world.actors[0].p: expected a number from 0 to 1
 * Optional members that are absent leave the out-parameter untouched (the
 * caller sets defaults first).  Not thread-safe (one reader per file).
 */
#ifndef RT_BASE_JREAD_H
#define RT_BASE_JREAD_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base/err.h"

#define JREAD_PATH_MAX 256

struct jread {
    const char *file; /* borrowed, for messages */
    char error[768];  /* first error, "" when none */
};

void jread_init(struct jread *self, const char *file);

/* Record an error (only the first sticks); returns RT_EINVAL. */
enum rt_err jread_fail(struct jread *self, const char *path, const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));

/* Parse one JSON value (text after it is an error); a syntax error names
 * line and column.  Caller frees *out with cJSON_Delete. */
enum rt_err jread_parse(struct jread *self, const char *text, size_t len,
                        cJSON **out);
/* Read and parse a file (at most 16 MiB). */
enum rt_err jread_load_file(struct jread *self, const char *path, cJSON **out);

/* "parent.key" or "key" when parent is empty, into @out. */
void jread_path(char *out, size_t out_len, const char *parent, const char *key);
/* "parent[index]" into @out. */
void jread_path_index(char *out, size_t out_len, const char *parent, int index);

/* @node must be an object without duplicate keys whose keys all appear in
 * NULL-terminated @allowed (NULL allows any key). */
enum rt_err jread_object(struct jread *self, const cJSON *node,
                         const char *path, const char *const *allowed);

/* Typed optional members of @obj.  A present member of the wrong type or
 * out of range is an error naming "path.key". */
enum rt_err jread_duration(struct jread *self, const cJSON *obj,
                           const char *path, const char *key, int64_t *out_ns);
enum rt_err jread_duration_range(struct jread *self, const cJSON *obj,
                                 const char *path, const char *key,
                                 int64_t *lo_ns, int64_t *hi_ns);
enum rt_err jread_number(struct jread *self, const cJSON *obj, const char *path,
                         const char *key, double min, double max, double *out);
/* Integer as a JSON number or a count string ("1k"). */
enum rt_err jread_int(struct jread *self, const cJSON *obj, const char *path,
                      const char *key, int64_t min, int64_t max, int64_t *out);
enum rt_err jread_bool(struct jread *self, const cJSON *obj, const char *path,
                       const char *key, int *out);
/* Borrowed from the cJSON tree. */
enum rt_err jread_string(struct jread *self, const cJSON *obj, const char *path,
                         const char *key, const char **out);
/* String that must be one of NULL-terminated @choices; *out = its index. */
enum rt_err jread_enum(struct jread *self, const cJSON *obj, const char *path,
                       const char *key, const char *const *choices, int *out);

#endif
