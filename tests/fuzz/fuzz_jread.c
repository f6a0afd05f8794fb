/*
 * Fuzz target for the strict JSON reader (include/base/jread.h): parse
 * arbitrary bytes, then walk the whole tree the way a scenario loader does,
 * calling jread_object and every typed reader on every member of every
 * object.  Invariants: a failing call leaves a one-line error naming the
 * file, and a reader that succeeds on a present member leaves none.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/jread.h"

#define WALK_DEPTH_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const allowed[] = {"a", "name", "at",   "p",
                                      "n", "on",   "mode", NULL};
static const char *const modes[] = {"fifo", "lifo", "random", NULL};

/* Each call gets a fresh reader so every failure is checked, not just the
 * first one that sticks. */
static void check(enum rt_err err, const struct jread *jr)
{
    if (err != RT_OK &&
        (strncmp(jr->error, "fuzz.json: ", 11) != 0 || strchr(jr->error, '\n')))
        abort();
    if (err == RT_OK && jr->error[0])
        abort();
}

static void read_member(const cJSON *obj, const char *path, const char *key)
{
    struct jread jr;
    int64_t ns = 0, lo = 0, hi = 0, i = 0;
    double d = 0;
    int b = 0, e = 0;
    const char *s = NULL;

    jread_init(&jr, "fuzz.json");
    check(jread_duration(&jr, obj, path, key, &ns), &jr);
    if (ns < 0)
        abort();
    jread_init(&jr, "fuzz.json");
    check(jread_duration_range(&jr, obj, path, key, &lo, &hi), &jr);
    if (hi < lo)
        abort();
    jread_init(&jr, "fuzz.json");
    check(jread_number(&jr, obj, path, key, 0, 1, &d), &jr);
    if (d < 0 || d > 1)
        abort();
    jread_init(&jr, "fuzz.json");
    check(jread_int(&jr, obj, path, key, -5, 1000000, &i), &jr);
    if (i < -5 || i > 1000000)
        abort();
    jread_init(&jr, "fuzz.json");
    check(jread_bool(&jr, obj, path, key, &b), &jr);
    jread_init(&jr, "fuzz.json");
    check(jread_string(&jr, obj, path, key, &s), &jr);
    jread_init(&jr, "fuzz.json");
    check(jread_enum(&jr, obj, path, key, modes, &e), &jr);
    if (e < 0 || e > 2)
        abort();
}

static void walk(const cJSON *node, const char *path, int depth)
{
    char sub[JREAD_PATH_MAX];
    struct jread jr;
    const cJSON *item;
    int index = 0;

    if (depth > WALK_DEPTH_MAX)
        return;
    jread_init(&jr, "fuzz.json");
    check(jread_object(&jr, node, path, allowed), &jr);
    jread_init(&jr, "fuzz.json");
    check(jread_object(&jr, node, path, NULL), &jr);
    if (cJSON_IsObject(node)) {
        cJSON_ArrayForEach(item, node)
        {
            if (!item->string)
                abort();
            read_member(node, path, item->string);
            jread_path(sub, sizeof(sub), path, item->string);
            walk(item, sub, depth + 1);
        }
    } else if (cJSON_IsArray(node)) {
        cJSON_ArrayForEach(item, node)
        {
            jread_path_index(sub, sizeof(sub), path, index++);
            walk(item, sub, depth + 1);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jread jr;
    cJSON *root = NULL;
    enum rt_err err;

    jread_init(&jr, "fuzz.json");
    err = jread_parse(&jr, (const char *)data, size, &root);
    check(err, &jr);
    if (err == RT_OK) {
        walk(root, "", 0);
        cJSON_Delete(root);
    }
    return 0;
}
