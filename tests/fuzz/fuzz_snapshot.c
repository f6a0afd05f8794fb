/*
 * Fuzz target for snapshot.json, the file `racetrace restore` trusts
 * after a crash (include/harness/snapshot.h): parse arbitrary bytes as a
 * snapshot.  Invariants: a refused file leaves a one-line error naming the
 * file and an empty snapshot; an accepted one writes back a document that
 * is accepted again with the same agents, every agent's state compared
 * with itself shows no difference, and building its restore write either
 * succeeds with a method and a path for that agent or gives a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/jread.h"
#include "harness/restore.h"
#include "harness/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_agents(const struct snapshot *snap)
{
    for (size_t i = 0; i < snap->n_agents; i++) {
        const struct snapshot_agent *a = &snap->agents[i];
        struct restore_write w;
        char why[256];
        enum rt_err err;

        if (snapshot_diff(snap, a->state, a->state, NULL) != 0)
            abort();
        err = restore_write_for(snap, a->id, a->state, a->state, &w, why,
                                sizeof(why));
        if (err == RT_OK) {
            if (!w.method || !strstr(w.path, a->id))
                abort();
            restore_write_release(&w);
        } else if (!why[0]) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct snapshot snap, again;
    struct jread jr;
    cJSON *root = NULL, *doc;
    char *text;

    jread_init(&jr, "snapshot.json");
    if (jread_parse(&jr, (const char *)data, size, &root))
        return 0;
    snapshot_init(&snap);
    if (snapshot_from_json(&snap, &jr, root)) {
        if (strncmp(jr.error, "snapshot.json: ", 15) ||
            strchr(jr.error, '\n') || snap.n_agents || snap.agents)
            abort();
        cJSON_Delete(root);
        return 0;
    }
    check_agents(&snap);
    /* Through text, as a file would be: json_int64() writes raw numbers
     * that only a parse turns into numbers again. */
    doc = snapshot_to_json(&snap);
    text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text || !(doc = cJSON_Parse(text)))
        abort();
    free(text);
    snapshot_init(&again);
    jread_init(&jr, "snapshot.json");
    if (snapshot_from_json(&again, &jr, doc) ||
        again.n_agents != snap.n_agents || again.operation != snap.operation)
        abort();
    for (size_t i = 0; i < snap.n_agents; i++)
        if (strcmp(again.agents[i].id, snap.agents[i].id))
            abort();
    snapshot_release(&again);
    snapshot_release(&snap);
    cJSON_Delete(doc);
    cJSON_Delete(root);
    return 0;
}
