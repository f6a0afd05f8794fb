/*
 * System presences (see include/api/presence.h).  The definition ids look
 * global: they come from a real /api/v2/presencedefinitions payload and
 * recur in public samples (genesys-api.md §2.3).
 */
#include "api/presence.h"

#include <stddef.h>
#include <strings.h>

const struct presence_def presence_system[PRESENCE_SYSTEM_COUNT] = {
    {"6a3af858-942f-489d-9700-5f9bcdcdae9b", "Available", "AVAILABLE"},
    {"5e5c5c66-ea97-4e7f-ac41-6424784829f2", "Away", "AWAY"},
    {"31fe3bac-dea6-44b7-bed7-47f91660a1a0", "Busy", "BUSY"},
    {"ccf3c10a-aa2c-4845-8e8d-f59fa48c58e5", "Offline", "OFFLINE"},
    {"7ffa01cd-7866-4ad7-8faa-31e11b42f51f", "Idle", "IDLE"},
    {"e08eaf1b-ee47-4fa9-a231-1200e284798f", "On Queue", "ON_QUEUE"},
    {"3fd96123-badb-4f69-bc03-1b1ccc6d8014", "Meal", "MEAL"},
    {"d2390a99-8546-bad9-8f0a-219548e8aeb0", "Training", "TRAINING"},
    {"bbdff279-7ae1-48ea-bade-7831d7234c64", "Meeting", "MEETING"},
    {"227b37e2-f1d0-4dd0-8f50-badd7cf6d158", "Break", "BREAK"},
};

static int is_separator(char c)
{
    return c == ' ' || c == '_' || c == '-';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Equal up to case and separators: "On Queue" = "ON_QUEUE" = "OnQueue". */
static int same_name(const char *a, const char *b)
{
    for (;;) {
        while (is_separator(*a))
            a++;
        while (is_separator(*b))
            b++;
        if (lower(*a) != lower(*b))
            return 0;
        if (!*a)
            return 1;
        a++;
        b++;
    }
}

int presence_lookup(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < PRESENCE_SYSTEM_COUNT; i++)
        if (!strcasecmp(s, presence_system[i].id) ||
            same_name(s, presence_system[i].name))
            return i;
    return -1;
}

const char *presence_rest_name(const char *s)
{
    int i = presence_lookup(s);

    return i >= 0 ? presence_system[i].name : s;
}
