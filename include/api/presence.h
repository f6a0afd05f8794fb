/*
 * The ten Genesys system presences and their spellings (genesys-api.md
 * §2.3): the REST presence definitions say "On Queue", analytics and the
 * activity events say "ON_QUEUE", the newer presence definitions model
 * "OnQueue".  The client names presences the REST way in its history
 * (observations.csv), so every other spelling goes through here.  The
 * table is static; everything is pure and thread-safe.
 */
#ifndef RT_API_PRESENCE_H
#define RT_API_PRESENCE_H

#define PRESENCE_SYSTEM_COUNT 10

struct presence_def {
    const char *id;        /* global definition id */
    const char *name;      /* REST systemPresence, "On Queue" */
    const char *analytics; /* analytics enum, "ON_QUEUE" */
};

/* In the order of genesys-api.md §2.3 (Available first, Break last). */
extern const struct presence_def presence_system[PRESENCE_SYSTEM_COUNT];

/* Index into presence_system of the presence @s names in any spelling
 * (compared case-insensitively with spaces, underscores and hyphens
 * ignored) or by its definition id; -1 for NULL or an unknown name. */
int presence_lookup(const char *s);

/* The REST name of @s ("ON_QUEUE" -> "On Queue"); @s itself when it
 * names no system presence (an org's own presence keeps its spelling).
 * The result is static or @s. */
const char *presence_rest_name(const char *s);

#endif
