/* JSON writing helpers (see include/base/json.h). */
#include "base/json.h"

#include <stdio.h>
#include <stdlib.h>
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
