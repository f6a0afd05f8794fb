/*
 * Strict JSON config reader.  All numbers go through the checked units
 * parser; cJSON is parsed with cJSON_ParseWithLengthOpts so a syntax error
 * can be reported at its byte offset (as line:column).
 */
#include "base/jread.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/units.h"
#include "base/xalloc.h"

#define JREAD_FILE_MAX (16u * 1024 * 1024)

void jread_init(struct jread *self, const char *file)
{
    self->file = file ? file : "<input>";
    self->error[0] = '\0';
}

enum rt_err jread_fail(struct jread *self, const char *path, const char *fmt,
                       ...)
{
    va_list ap;
    int n;

    if (self->error[0])
        return RT_EINVAL;
    if (path && *path)
        n = snprintf(self->error, sizeof(self->error), "%s: %s: ", self->file,
                     path);
    else
        n = snprintf(self->error, sizeof(self->error), "%s: ", self->file);
    if (n < 0 || (size_t)n >= sizeof(self->error))
        return RT_EINVAL;
    va_start(ap, fmt);
    vsnprintf(self->error + n, sizeof(self->error) - (size_t)n, fmt, ap);
    va_end(ap);
    /* Keys and values are quoted raw; a control character in one must not
     * break the message into several lines. */
    for (char *p = self->error; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
    return RT_EINVAL;
}

static enum rt_err fail_at(struct jread *self, const char *text,
                           const char *end)
{
    int line = 1, col = 1;

    for (const char *p = text; p < end; p++) {
        if (*p == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return jread_fail(self, NULL, "invalid JSON at line %d, column %d", line,
                      col);
}

enum rt_err jread_parse(struct jread *self, const char *text, size_t len,
                        cJSON **out)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);

    if (!root) {
        /* cJSON's global error pointer is not thread-safe; @end is. */
        if (!end || end < text || end > text + len)
            end = text + len;
        return fail_at(self, text, end);
    }
    /* cJSON stops after the first value; text after it (a second object,
     * a stray brace) would otherwise be silently ignored.  cJSON's own
     * require_null_terminated check cannot be used with a length that
     * excludes the NUL. */
    if (!end || end < text || end > text + len)
        end = text + len;
    while (end < text + len &&
           (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end < text + len) {
        cJSON_Delete(root);
        return fail_at(self, text, end);
    }
    *out = root;
    return RT_OK;
}

enum rt_err jread_load_file(struct jread *self, const char *path, cJSON **out)
{
    FILE *f = fopen(path, "rb");
    struct buf text;
    char chunk[8192];
    size_t n;
    enum rt_err err = RT_OK;

    if (!f)
        return jread_fail(self, NULL, "cannot open: %s", strerror(errno));
    buf_init(&text, JREAD_FILE_MAX);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&text, chunk, n)) {
            err = jread_fail(self, NULL, "file larger than %u bytes",
                             JREAD_FILE_MAX);
            goto out;
        }
    }
    if (ferror(f)) {
        err = jread_fail(self, NULL, "cannot read: %s", strerror(errno));
        goto out;
    }
    err = jread_parse(self, buf_str(&text), text.len, out);
out:
    buf_release(&text);
    fclose(f);
    return err;
}

void jread_path(char *out, size_t out_len, const char *parent, const char *key)
{
    if (parent && *parent)
        snprintf(out, out_len, "%s.%s", parent, key);
    else
        snprintf(out, out_len, "%s", key);
}

void jread_path_index(char *out, size_t out_len, const char *parent, int index)
{
    snprintf(out, out_len, "%s[%d]", parent ? parent : "", index);
}

static const char *json_type_name(const cJSON *node)
{
    if (cJSON_IsObject(node))
        return "an object";
    if (cJSON_IsArray(node))
        return "an array";
    if (cJSON_IsString(node))
        return "a string";
    if (cJSON_IsNumber(node))
        return "a number";
    if (cJSON_IsBool(node))
        return "a boolean";
    if (cJSON_IsNull(node))
        return "null";
    return "something else";
}

enum rt_err jread_object(struct jread *self, const cJSON *node,
                         const char *path, const char *const *allowed)
{
    const cJSON *item;
    char sub[JREAD_PATH_MAX];

    if (!cJSON_IsObject(node))
        return jread_fail(self, path, "expected an object, got %s",
                          json_type_name(node));
    cJSON_ArrayForEach(item, node)
    {
        int known = !allowed;
        for (const char *const *k = allowed; k && *k; k++) {
            if (item->string && strcmp(item->string, *k) == 0) {
                known = 1;
                break;
            }
        }
        if (!known) {
            jread_path(sub, sizeof(sub), path,
                       item->string ? item->string : "");
            return jread_fail(self, sub, "unknown key");
        }
        /* Duplicate keys would make one of the two silently win, also in
         * objects whose keys are free-form names (@allowed NULL). */
        for (const cJSON *o = node->child; o != item; o = o->next) {
            if (o->string && item->string && !strcmp(o->string, item->string)) {
                jread_path(sub, sizeof(sub), path, item->string);
                return jread_fail(self, sub, "duplicate key");
            }
        }
    }
    return RT_OK;
}

static const cJSON *member(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

enum rt_err jread_duration(struct jread *self, const cJSON *obj,
                           const char *path, const char *key, int64_t *out_ns)
{
    const cJSON *m = member(obj, key);
    char sub[JREAD_PATH_MAX];
    int64_t v;

    if (!m)
        return RT_OK;
    jread_path(sub, sizeof(sub), path, key);
    if (cJSON_IsNumber(m) && m->valuedouble == 0) {
        *out_ns = 0;
        return RT_OK;
    }
    if (!cJSON_IsString(m) || units_parse_duration(m->valuestring, &v))
        return jread_fail(self, sub,
                          "expected a duration such as \"500ms\", \"10s\" or "
                          "\"2m\"");
    *out_ns = v;
    return RT_OK;
}

enum rt_err jread_duration_range(struct jread *self, const cJSON *obj,
                                 const char *path, const char *key,
                                 int64_t *lo_ns, int64_t *hi_ns)
{
    const cJSON *m = member(obj, key);
    char sub[JREAD_PATH_MAX];
    int64_t lo, hi;

    if (!m)
        return RT_OK;
    jread_path(sub, sizeof(sub), path, key);
    if (!cJSON_IsString(m) ||
        units_parse_duration_range(m->valuestring, &lo, &hi))
        return jread_fail(self, sub,
                          "expected a duration or a range such as "
                          "\"50ms..400ms\" (low first)");
    *lo_ns = lo;
    *hi_ns = hi;
    return RT_OK;
}

enum rt_err jread_number(struct jread *self, const cJSON *obj, const char *path,
                         const char *key, double min, double max, double *out)
{
    const cJSON *m = member(obj, key);
    char sub[JREAD_PATH_MAX];

    if (!m)
        return RT_OK;
    jread_path(sub, sizeof(sub), path, key);
    if (!cJSON_IsNumber(m) || !isfinite(m->valuedouble) ||
        m->valuedouble < min || m->valuedouble > max)
        return jread_fail(self, sub, "expected a number from %g to %g", min,
                          max);
    *out = m->valuedouble;
    return RT_OK;
}

enum rt_err jread_int(struct jread *self, const cJSON *obj, const char *path,
                      const char *key, int64_t min, int64_t max, int64_t *out)
{
    const cJSON *m = member(obj, key);
    char sub[JREAD_PATH_MAX];
    int64_t v;

    if (!m)
        return RT_OK;
    jread_path(sub, sizeof(sub), path, key);
    if (cJSON_IsNumber(m)) {
        double d = m->valuedouble;
        if (!isfinite(d) || d != floor(d) || d < -9.2e18 || d > 9.2e18)
            goto bad;
        v = (int64_t)d;
    } else if (cJSON_IsString(m)) {
        if (units_parse_count(m->valuestring, &v))
            goto bad;
    } else {
        goto bad;
    }
    if (v < min || v > max)
        goto bad;
    *out = v;
    return RT_OK;
bad:
    return jread_fail(self, sub, "expected a whole number from %lld to %lld",
                      (long long)min, (long long)max);
}

enum rt_err jread_bool(struct jread *self, const cJSON *obj, const char *path,
                       const char *key, int *out)
{
    const cJSON *m = member(obj, key);
    char sub[JREAD_PATH_MAX];

    if (!m)
        return RT_OK;
    jread_path(sub, sizeof(sub), path, key);
    if (!cJSON_IsBool(m))
        return jread_fail(self, sub, "expected true or false");
    *out = cJSON_IsTrue(m);
    return RT_OK;
}

enum rt_err jread_string(struct jread *self, const cJSON *obj, const char *path,
                         const char *key, const char **out)
{
    const cJSON *m = member(obj, key);
    char sub[JREAD_PATH_MAX];

    if (!m)
        return RT_OK;
    jread_path(sub, sizeof(sub), path, key);
    if (!cJSON_IsString(m))
        return jread_fail(self, sub, "expected a string, got %s",
                          json_type_name(m));
    *out = m->valuestring;
    return RT_OK;
}

enum rt_err jread_enum(struct jread *self, const cJSON *obj, const char *path,
                       const char *key, const char *const *choices, int *out)
{
    const char *s = NULL;
    char sub[JREAD_PATH_MAX];
    struct buf list;

    if (jread_string(self, obj, path, key, &s))
        return RT_EINVAL;
    if (!s)
        return RT_OK;
    for (int i = 0; choices[i]; i++) {
        if (strcmp(s, choices[i]) == 0) {
            *out = i;
            return RT_OK;
        }
    }
    jread_path(sub, sizeof(sub), path, key);
    buf_init(&list, 512);
    for (int i = 0; choices[i]; i++)
        buf_printf(&list, "%s%s", i ? ", " : "", choices[i]);
    jread_fail(self, sub, "unknown value \"%s\" (expected one of: %s)", s,
               buf_str(&list));
    buf_release(&list);
    return RT_EINVAL;
}
