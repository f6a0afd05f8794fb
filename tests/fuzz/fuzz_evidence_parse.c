/*
 * Fuzz target for the evidence parsers (include/harness/evidence.h): any
 * bytes as an audit query status, an audit results page and an analytics
 * users/details page.  Every record has all its strings (empty, never
 * NULL); a failed parse calls nothing back and hands out no cursor; every
 * transition changes a value, lies inside the asked interval and comes
 * in order of user, property and time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "harness/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FROM_NS INT64_C(0)
#define TO_NS INT64_MAX

static void check_record(void *ctx, const struct evidence_audit_record *r)
{
    const char *const s[] = {r->audit_id,    r->entity_id,   r->service,
                             r->entity_type, r->action,      r->level,
                             r->status,      r->user_id,     r->user_name,
                             r->client_id,   r->application, r->properties,
                             r->changes_json};

    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        if (!s[i])
            abort();
    (*(size_t *)ctx)++;
}

struct order {
    size_t n;
    char agent[256];
    char property[32];
    int64_t at_ns;
};

static void check_transition(void *ctx, const struct evidence_transition *t)
{
    struct order *o = ctx;
    int c;

    if (!t->agent || !t->property || !t->old_value || !t->new_value ||
        !strcmp(t->old_value, t->new_value) || t->at_wall_ns < FROM_NS ||
        t->at_wall_ns > TO_NS)
        abort();
    if (o->n) {
        /* Agents are compared on what fits the copy. */
        c = strncasecmp(o->agent, t->agent, sizeof(o->agent) - 1);
        if (c > 0)
            abort();
        if (!c && strlen(t->agent) < sizeof(o->agent) - 1 &&
            !strcmp(o->property, t->property) && t->at_wall_ns < o->at_ns)
            abort();
    }
    strncpy(o->agent, t->agent, sizeof(o->agent) - 1);
    strncpy(o->property, t->property, sizeof(o->property) - 1);
    o->at_ns = t->at_wall_ns;
    o->n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    char id[EVIDENCE_QUERY_ID_MAX];
    enum evidence_audit_state st;
    struct evidence_timeline *tl;
    struct evidence_page_info info;
    struct order order;
    size_t n = 0, skipped = 0, offset = 0, total;
    char *cursor = NULL;

    if (evidence_parse_audit_status(body, size, id, &st, &offset) == RT_OK) {
        if (strlen(id) >= EVIDENCE_QUERY_ID_MAX)
            abort();
    } else if (id[0] || st != EVIDENCE_AUDIT_UNKNOWN || offset > size) {
        abort();
    }
    if (evidence_parse_audit_page(body, size, check_record, &n, &cursor,
                                  &skipped, &offset) != RT_OK &&
        (n || cursor || offset > size))
        abort();
    if (cursor && !cursor[0])
        abort();
    free(cursor);

    tl = evidence_timeline_new();
    if (evidence_timeline_add_page(tl, body, size, 1, &info, &offset) !=
        RT_OK) {
        if (info.users || info.intervals || offset > size ||
            evidence_timeline_users(tl, NULL, NULL))
            abort();
    } else if (info.users > info.entries ||
               evidence_timeline_users(tl, NULL, NULL) > info.users) {
        abort();
    }
    memset(&order, 0, sizeof(order));
    total = evidence_timeline_transitions(tl, FROM_NS, TO_NS, check_transition,
                                          &order);
    if (total != order.n || total > info.intervals)
        abort();
    evidence_timeline_free(tl);
    return 0;
}
