/* JSON writing helpers (see include/base/json.h). */
#include "base/json.h"

#include <stdio.h>
#include <stdlib.h>

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
