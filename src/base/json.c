/* JSON writing helpers (see include/base/json.h). */
#include "base/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/xalloc.h"

cJSON *json_int64(int64_t v)
{
    char text[24];
    cJSON *item;

    snprintf(text, sizeof(text), "%lld", (long long)v);
    item = cJSON_CreateRaw(text);
    if (!item)
        abort(); /* cJSON allocation failure, as xmalloc would */
    return item;
}

enum rt_err json_write_file(const char *path, const cJSON *doc)
{
    char *text = cJSON_Print(doc);
    size_t len;
    enum rt_err err;

    if (!text)
        abort(); /* cJSON allocation failure, as xmalloc would */
    len = strlen(text);
    text = xrealloc(text, len + 2);
    text[len] = '\n';
    text[len + 1] = '\0';
    err = fs_write_atomic(path, text, len + 1);
    free(text);
    return err;
}

cJSON *json_parse_exact(const char *body, size_t len, size_t *error_offset)
{
    const char *end = NULL;
    cJSON *doc;

    if (error_offset)
        *error_offset = 0;
    if (!body || !len)
        return NULL;
    doc = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!doc) {
        if (error_offset && end && end >= body && end <= body + len)
            *error_offset = (size_t)(end - body);
        return NULL;
    }
    for (const char *p = end; p < body + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            if (error_offset)
                *error_offset = (size_t)(p - body);
            cJSON_Delete(doc);
            return NULL;
        }
    return doc;
}

const cJSON *json_field(const cJSON *obj, const char *key)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key)
                               : NULL;
}

const char *json_string_field(const cJSON *obj, const char *key)
{
    const cJSON *v = json_field(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const cJSON *json_by_id(const cJSON *list, const char *id)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, list)
    {
        const char *v = json_string_field(e, "id");
        if (v && !strcmp(v, id))
            return e;
    }
    return NULL;
}

const cJSON *json_at(const cJSON *root, const char *path)
{
    char key[128];

    while (root && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        root = cJSON_GetObjectItemCaseSensitive(root, key);
        path += n;
        if (*path == '.')
            path++;
    }
    return root;
}

int json_whole(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
        v->valuedouble != floor(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > 9007199254740992.0)
        return -1;
    *out = (int64_t)v->valuedouble;
    return 0;
}
