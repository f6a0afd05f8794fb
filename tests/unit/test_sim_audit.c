/*
 * The audit store and its query logic (include/sim/audit.h): rendering of
 * every AuditLogMessage field, half-open intervals, filters (same property
 * ORed, different ANDed), service names, sort, realtime paging, the
 * asynchronous transaction (Running, Succeeded, fixed results, cursors,
 * bounds), the ring bound with interned strings freed, request parsing
 * with the field named; then the org's side: who each writer is in the
 * audit trail, one record per write, and the analytics history.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/jread.h"
#include "sim/audit.h"
#include "sim/config.h"
#include "sim/org.h"

#define T0 (INT64_C(1790000000) * NS_PER_S) /* 2026-09-21T14:13:20Z */
#define HOUR (INT64_C(3600) * NS_PER_S)

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static const cJSON *item(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* A query over [from, to) with no filter, ascending. */
static struct audit_query *query(int64_t from, int64_t to)
{
    struct audit_query *q = calloc(1, sizeof(*q));

    assert_non_null(q);
    q->from_wall_ns = from;
    q->to_wall_ns = to;
    snprintf(q->interval, sizeof(q->interval), "test");
    return q;
}

static void add_filter(struct audit_query *q, enum audit_filter_property p,
                       const char *value)
{
    q->filters[q->n_filters].property = p;
    snprintf(q->filters[q->n_filters].value, AUDIT_VALUE_MAX, "%s", value);
    q->n_filters++;
}

/* A Directory/User/Update by @client on @entity at @t. */
static void append_simple(struct audit *a, int64_t t, const char *entity,
                          const char *client, enum audit_action action)
{
    struct audit_entry e;

    memset(&e, 0, sizeof(e));
    e.wall_ns = t;
    e.service = AUDIT_SERVICE_DIRECTORY;
    e.entity_type = AUDIT_ENTITY_USER;
    e.action = action;
    e.level = AUDIT_LEVEL_SYSTEM;
    e.entity_id = entity;
    e.entity_name = "Agent";
    e.client_id = client;
    audit_append(a, &e);
}

/* Entities of a realtime query (all on one page), caller frees. */
static cJSON *run(struct audit *a, const struct audit_query *q)
{
    cJSON *o = audit_realtime(a, q, 1, AUDIT_PAGE_MAX, 0);

    assert_non_null(o);
    return o;
}

static int total(struct audit *a, const struct audit_query *q)
{
    cJSON *o = run(a, q);
    int n = (int)num(o, "total");

    assert_int_equal(cJSON_GetArraySize(item(o, "entities")),
                     n < AUDIT_PAGE_MAX ? n : AUDIT_PAGE_MAX);
    cJSON_Delete(o);
    return n;
}

static void every_field_is_rendered(void **state)
{
    struct audit *a = audit_new(100, 0);
    struct audit_query *q = query(T0, T0 + HOUR);
    struct audit_change ch[2] = {{"title", "Agent", "Team Lead"},
                                 {"preferredName", NULL, "Sam"}};
    struct audit_entry e;
    const cJSON *m, *pc, *ec;
    cJSON *o;

    (void)state;
    memset(&e, 0, sizeof(e));
    e.wall_ns = T0 + 1234 * NS_PER_MS + 999;
    e.service = AUDIT_SERVICE_ROUTING;
    e.entity_type = AUDIT_ENTITY_QUEUE;
    e.action = AUDIT_ACTION_MEMBER_ADD;
    e.level = AUDIT_LEVEL_USER;
    e.entity_id = "q-1";
    e.entity_name = "Queue 01";
    e.user_id = "u-admin";
    e.user_name = "admin";
    e.client_id = "c-1";
    e.application = "console";
    e.remote_ip = "198.51.100.7";
    e.subject_id = "u-7";
    e.subject_name = "Agent 0007";
    e.changes = ch;
    e.n_changes = 2;
    audit_append(a, &e);

    o = audit_realtime(a, q, 1, 25, 0);
    m = cJSON_GetArrayItem(item(o, "entities"), 0);
    assert_non_null(m);
    assert_int_equal(strlen(str(m, "id")), 36);
    assert_string_equal(str(item(m, "user"), "id"), "u-admin");
    assert_null(item(item(m, "user"), "name")); /* only with expand=user */
    assert_string_equal(str(item(m, "user"), "selfUri"),
                        "/api/v2/users/u-admin");
    assert_string_equal(str(item(m, "client"), "id"), "c-1");
    assert_string_equal(cJSON_GetArrayItem(item(m, "remoteIp"), 0)->valuestring,
                        "198.51.100.7");
    assert_string_equal(str(m, "serviceName"), "Routing");
    assert_string_equal(str(m, "level"), "USER");
    assert_string_equal(str(m, "eventDate"), "2026-09-21T14:13:21.234Z");
    assert_string_equal(str(m, "action"), "MemberAdd");
    assert_string_equal(str(item(m, "entity"), "id"), "q-1");
    assert_string_equal(str(item(m, "entity"), "name"), "Queue 01");
    assert_string_equal(str(item(m, "entity"), "selfUri"),
                        "/api/v2/routing/queues/q-1");
    assert_string_equal(str(m, "entityType"), "Queue");
    assert_string_equal(str(m, "status"), "SUCCESS");
    assert_string_equal(str(m, "application"), "console");
    pc = item(m, "propertyChanges");
    assert_int_equal(cJSON_GetArraySize(pc), 2);
    assert_string_equal(str(cJSON_GetArrayItem(pc, 0), "property"), "title");
    assert_string_equal(
        cJSON_GetArrayItem(item(cJSON_GetArrayItem(pc, 0), "oldValues"), 0)
            ->valuestring,
        "Agent");
    assert_string_equal(
        cJSON_GetArrayItem(item(cJSON_GetArrayItem(pc, 0), "newValues"), 0)
            ->valuestring,
        "Team Lead");
    /* No old value: an empty array, not a missing one. */
    assert_int_equal(
        cJSON_GetArraySize(item(cJSON_GetArrayItem(pc, 1), "oldValues")), 0);
    assert_string_equal(str(item(m, "context"), "userId"), "u-7");
    ec = cJSON_GetArrayItem(item(m, "entityChanges"), 0);
    assert_string_equal(str(ec, "entityId"), "u-7");
    assert_string_equal(str(ec, "entityName"), "Agent 0007");
    assert_string_equal(str(ec, "entityType"), "User");
    assert_int_equal((int)num(o, "pageCount"), 1);
    cJSON_Delete(o);

    o = audit_realtime(a, q, 1, 25, 1);
    m = cJSON_GetArrayItem(item(o, "entities"), 0);
    assert_string_equal(str(item(m, "user"), "name"), "admin");
    cJSON_Delete(o);
    free(q);
    audit_free(a);
}

static void absent_fields_are_left_out(void **state)
{
    struct audit *a = audit_new(100, 0);
    struct audit_query *q = query(T0, T0 + HOUR);
    const cJSON *m;
    cJSON *o;

    (void)state;
    append_simple(a, T0, "u-1", NULL, AUDIT_ACTION_UPDATE);
    o = run(a, q);
    m = cJSON_GetArrayItem(item(o, "entities"), 0);
    assert_null(item(m, "user"));
    assert_null(item(m, "client"));
    assert_null(item(m, "remoteIp"));
    assert_null(item(m, "application"));
    assert_null(item(m, "entityChanges"));
    assert_true(cJSON_IsArray(item(m, "propertyChanges")));
    assert_int_equal(cJSON_GetArraySize(item(m, "propertyChanges")), 0);
    assert_true(cJSON_IsObject(item(m, "context")));
    cJSON_Delete(o);
    free(q);
    audit_free(a);
}

static void interval_is_half_open(void **state)
{
    struct audit *a = audit_new(100, 0);
    struct audit_query *q = query(T0, T0 + HOUR);

    (void)state;
    append_simple(a, T0 - 1, "before", NULL, AUDIT_ACTION_UPDATE);
    append_simple(a, T0, "first", NULL, AUDIT_ACTION_UPDATE);
    append_simple(a, T0 + HOUR - 1, "last", NULL, AUDIT_ACTION_UPDATE);
    append_simple(a, T0 + HOUR, "after", NULL, AUDIT_ACTION_UPDATE);
    assert_int_equal(total(a, q), 2);
    add_filter(q, AUDIT_FILTER_ENTITY_ID, "before");
    add_filter(q, AUDIT_FILTER_ENTITY_ID, "after");
    assert_int_equal(total(a, q), 0);
    free(q);
    audit_free(a);
}

static void same_property_ors_different_properties_and(void **state)
{
    struct audit *a = audit_new(100, 0);
    struct audit_query *q;

    (void)state;
    append_simple(a, T0 + 1, "u-1", "c-a", AUDIT_ACTION_UPDATE);
    append_simple(a, T0 + 2, "u-2", "c-a", AUDIT_ACTION_UPDATE);
    append_simple(a, T0 + 3, "u-2", "c-b", AUDIT_ACTION_MEMBER_ADD);
    append_simple(a, T0 + 4, "u-3", "c-b", AUDIT_ACTION_UPDATE);

    q = query(T0, T0 + HOUR);
    add_filter(q, AUDIT_FILTER_ENTITY_ID, "u-1");
    add_filter(q, AUDIT_FILTER_ENTITY_ID, "u-2");
    assert_int_equal(total(a, q), 3);
    add_filter(q, AUDIT_FILTER_CLIENT_ID, "c-b");
    assert_int_equal(total(a, q), 1);
    add_filter(q, AUDIT_FILTER_ACTION, "Update");
    assert_int_equal(total(a, q), 0);
    free(q);

    q = query(T0, T0 + HOUR);
    add_filter(q, AUDIT_FILTER_ACTION, "MemberAdd");
    add_filter(q, AUDIT_FILTER_ACTION, "Update");
    add_filter(q, AUDIT_FILTER_ENTITY_TYPE, "User");
    assert_int_equal(total(a, q), 4);
    add_filter(q, AUDIT_FILTER_ENTITY_TYPE, "Queue");
    assert_int_equal(total(a, q), 4);
    free(q);

    q = query(T0, T0 + HOUR);
    add_filter(q, AUDIT_FILTER_ENTITY_TYPE, "Queue");
    assert_int_equal(total(a, q), 0);
    free(q);

    /* No person wrote any of them. */
    q = query(T0, T0 + HOUR);
    add_filter(q, AUDIT_FILTER_USER_ID, "u-1");
    assert_int_equal(total(a, q), 0);
    free(q);

    /* The simulator has no trustee organizations. */
    q = query(T0, T0 + HOUR);
    add_filter(q, AUDIT_FILTER_TRUSTEE_ORGANIZATION_ID, "org-1");
    assert_int_equal(total(a, q), 0);
    free(q);
    audit_free(a);
}

static void service_name_selects_the_service(void **state)
{
    struct audit *a = audit_new(100, 0);
    struct audit_query *q = query(T0, T0 + HOUR);
    struct audit_entry e;

    (void)state;
    append_simple(a, T0 + 1, "u-1", "c-a", AUDIT_ACTION_UPDATE);
    memset(&e, 0, sizeof(e));
    e.wall_ns = T0 + 2;
    e.service = AUDIT_SERVICE_PRESENCE;
    e.entity_type = AUDIT_ENTITY_USER_PRESENCE;
    e.entity_id = "u-1";
    audit_append(a, &e);
    snprintf(q->service, sizeof(q->service), "Presence");
    assert_int_equal(total(a, q), 1);
    snprintf(q->service, sizeof(q->service), "Directory");
    assert_int_equal(total(a, q), 1);
    snprintf(q->service, sizeof(q->service), "Telephony");
    assert_int_equal(total(a, q), 0);
    q->service[0] = '\0';
    assert_int_equal(total(a, q), 2);
    free(q);
    audit_free(a);
}

static void sorted_by_event_date_both_ways(void **state)
{
    struct audit *a = audit_new(100, 0);
    struct audit_query *q = query(T0, T0 + HOUR);
    const char *asc[] = {"t1", "t2a", "t2b", "t3"};
    cJSON *o;

    (void)state;
    /* Appended out of time order (org writes on different agents race
     * between reading the clock and appending); equal times keep their
     * append order. */
    append_simple(a, T0 + 3 * NS_PER_MS, "t3", NULL, AUDIT_ACTION_UPDATE);
    append_simple(a, T0 + 2 * NS_PER_MS, "t2a", NULL, AUDIT_ACTION_UPDATE);
    append_simple(a, T0 + 1 * NS_PER_MS, "t1", NULL, AUDIT_ACTION_UPDATE);
    append_simple(a, T0 + 2 * NS_PER_MS, "t2b", NULL, AUDIT_ACTION_UPDATE);
    o = run(a, q);
    for (int k = 0; k < 4; k++)
        assert_string_equal(
            str(item(cJSON_GetArrayItem(item(o, "entities"), k), "entity"),
                "id"),
            asc[k]);
    cJSON_Delete(o);
    q->descending = 1;
    o = run(a, q);
    for (int k = 0; k < 4; k++)
        assert_string_equal(
            str(item(cJSON_GetArrayItem(item(o, "entities"), k), "entity"),
                "id"),
            asc[3 - k]);
    cJSON_Delete(o);
    free(q);
    audit_free(a);
}

static void realtime_pages_by_number(void **state)
{
    struct audit *a = audit_new(100, 0);
    struct audit_query *q = query(T0, T0 + HOUR);
    char id[16];
    cJSON *o;

    (void)state;
    for (int k = 0; k < 7; k++) {
        snprintf(id, sizeof(id), "u-%d", k);
        append_simple(a, T0 + k, id, NULL, AUDIT_ACTION_UPDATE);
    }
    o = audit_realtime(a, q, 2, 3, 0);
    assert_int_equal((int)num(o, "total"), 7);
    assert_int_equal((int)num(o, "pageCount"), 3);
    assert_int_equal((int)num(o, "pageSize"), 3);
    assert_int_equal((int)num(o, "pageNumber"), 2);
    assert_int_equal(cJSON_GetArraySize(item(o, "entities")), 3);
    assert_string_equal(
        str(item(cJSON_GetArrayItem(item(o, "entities"), 0), "entity"), "id"),
        "u-3");
    cJSON_Delete(o);
    o = audit_realtime(a, q, 3, 3, 0);
    assert_int_equal(cJSON_GetArraySize(item(o, "entities")), 1);
    cJSON_Delete(o);
    o = audit_realtime(a, q, 4, 3, 0);
    assert_int_equal(cJSON_GetArraySize(item(o, "entities")), 0);
    assert_int_equal((int)num(o, "total"), 7);
    cJSON_Delete(o);
    free(q);
    audit_free(a);
}

static void ring_drops_the_oldest_and_frees_their_strings(void **state)
{
    struct audit *a = audit_new(3, 0);
    struct audit_query *q = query(T0, T0 + HOUR);
    struct audit_stats st;
    char id[32], value[32];
    cJSON *o;

    (void)state;
    for (int k = 0; k < 50; k++) {
        struct audit_change ch = {"title", NULL, value};
        struct audit_entry e;

        snprintf(id, sizeof(id), "entity-%d", k);
        snprintf(value, sizeof(value), "value-%d", k);
        memset(&e, 0, sizeof(e));
        e.wall_ns = T0 + k;
        e.entity_id = id;
        e.client_id = "c-1";
        e.changes = &ch;
        e.n_changes = 1;
        audit_append(a, &e);
    }
    audit_stats(a, &st);
    assert_int_equal(st.appended, 50);
    assert_int_equal(st.dropped, 47);
    assert_int_equal(st.records, 3);
    /* Three live records: their entity tuples and values, one shared
     * identity tuple and one shared property name; the dropped records'
     * strings are gone. */
    assert_int_equal(st.strings, 3 + 3 + 1 + 1);
    o = run(a, q);
    assert_int_equal((int)num(o, "total"), 3);
    assert_string_equal(
        str(item(cJSON_GetArrayItem(item(o, "entities"), 0), "entity"), "id"),
        "entity-47");
    cJSON_Delete(o);
    free(q);
    audit_free(a);
}

static void repeated_strings_cost_nothing_per_record(void **state)
{
    struct audit *a = audit_new(100000, 0);
    struct audit_stats before, after;
    struct audit_change ch[2] = {{"systemPresence", "On Queue", "Break"},
                                 {"message", "lunch", NULL}};
    struct audit_entry e;

    (void)state;
    memset(&e, 0, sizeof(e));
    e.entity_id = "f0ebd1cf-e073-4067-97cb-7d47df96944d";
    e.entity_name = "Agent 0001";
    e.user_id = e.entity_id;
    e.user_name = e.entity_name;
    e.changes = ch;
    e.n_changes = 2;
    e.wall_ns = T0;
    audit_append(a, &e);
    audit_stats(a, &before);
    for (int k = 0; k < 10000; k++) {
        e.wall_ns = T0 + k;
        audit_append(a, &e);
    }
    audit_stats(a, &after);
    assert_int_equal(after.strings, before.strings);
    assert_int_equal(after.string_bytes, before.string_bytes);
    /* 56 bytes a record plus 12 per change beyond the inline one. */
    assert_true(after.record_bytes <= 16384 * 56 + 10001 * 2 * 12);
    audit_free(a);
}

struct parse_case {
    const char *body;
    const char *field; /* NULL: must parse */
};

static void parse_names_the_bad_field(void **state)
{
    static const struct parse_case cases[] = {
        {"{}", "interval"},
        {"[]", "AuditQueryRequest"},
        {"{'interval':5}", "interval"},
        {"{'interval':'2026-05-01T00:00:00Z'}", "interval"},
        {"{'interval':'2026-05-02T00:00:00Z/2026-05-01T00:00:00Z'}",
         "interval"},
        {"{'interval':'yesterday/today'}", "interval"},
        {"{'interval':'2026-05-01T00:00:00Z/2026-05-02T00:00:00Z',"
         "'serviceName':'Nope'}",
         "serviceName"},
        {"{'interval':'2026-05-01T00:00:00Z/2026-05-02T00:00:00Z',"
         "'filters':{}}",
         "filters"},
        {"{'interval':'2026-05-01T00:00:00Z/2026-05-02T00:00:00Z',"
         "'filters':[{'property':'EntityId','value':'u'},"
         "{'property':'Nope','value':'x'}]}",
         "filters[1].property"},
        {"{'interval':'2026-05-01T00:00:00Z/2026-05-02T00:00:00Z',"
         "'filters':[{'property':'EntityId'}]}",
         "filters[0]"},
        {"{'interval':'2026-05-01T00:00:00Z/2026-05-02T00:00:00Z',"
         "'filters':[{'property':'EntityId','value':7}]}",
         "filters[0].value"},
        {"{'interval':'2026-05-01T00:00:00Z/2026-05-02T00:00:00Z',"
         "'sort':[{'name':'Timestamp','sortOrder':'sideways'}]}",
         "sort[0].sortOrder"},
        {"{'interval':'2026-05-01T00:00:00Z/2026-05-02T00:00:00Z',"
         "'sort':[{'name':'EventDate','sortOrder':'ascending'}]}",
         "sort[0].name"},
        {"{'interval':'2026-05-01T00:00:00Z/2026-05-02T00:00:00Z',"
         "'serviceName':'routing','filters':[],'sort':[],"
         "'pageNumber':2}",
         NULL},
        {"{'interval':'2026-05-01T00:00:00/2026-05-02T00:00:00.5+02:00'}",
         NULL},
    };
    struct audit_query *q = calloc(1, sizeof(*q));

    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        char text[512], *p;
        struct jread jr;
        cJSON *body;
        enum rt_err err;

        snprintf(text, sizeof(text), "%s", cases[k].body);
        for (p = text; *p; p++)
            if (*p == '\'')
                *p = '"';
        body = cJSON_Parse(text);
        assert_non_null(body);
        jread_init(&jr, "request body");
        err = audit_query_parse(&jr, body, q);
        if (!cases[k].field) {
            if (err)
                fail_msg("case %zu: %s", k, jr.error);
        } else {
            if (!err)
                fail_msg("case %zu parsed: %s", k, cases[k].body);
            if (!strstr(jr.error, cases[k].field))
                fail_msg("case %zu: '%s' does not name '%s'", k, jr.error,
                         cases[k].field);
        }
        cJSON_Delete(body);
    }
    /* The last cases: canonical service spelling, zoneless UTC. */
    assert_int_equal(q->from_wall_ns, INT64_C(1777593600) * NS_PER_S);
    assert_int_equal(q->to_wall_ns,
                     INT64_C(1777672800) * NS_PER_S + 500 * NS_PER_MS);
    free(q);
}

static void parse_and_echo_round_trip(void **state)
{
    const char *text =
        "{\"interval\":\"2026-05-01T00:00:00Z/2026-05-02T00:00:00Z\","
        "\"serviceName\":\"directory\",\"filters\":[{\"property\":"
        "\"EntityId\",\"value\":\"u-1\"},{\"property\":\"Action\","
        "\"value\":\"Update\"}],\"sort\":[{\"name\":\"Timestamp\","
        "\"sortOrder\":\"descending\"}]}";
    struct audit_query *q = calloc(1, sizeof(*q));
    struct jread jr;
    cJSON *body = cJSON_Parse(text), *echo = cJSON_CreateObject();

    (void)state;
    jread_init(&jr, "request body");
    assert_int_equal(audit_query_parse(&jr, body, q), RT_OK);
    assert_int_equal(q->n_filters, 2);
    assert_true(q->descending);
    audit_query_echo(q, echo);
    assert_string_equal(str(echo, "serviceName"), "Directory");
    assert_string_equal(str(echo, "interval"),
                        "2026-05-01T00:00:00Z/2026-05-02T00:00:00Z");
    assert_string_equal(
        str(cJSON_GetArrayItem(item(echo, "filters"), 1), "property"),
        "Action");
    assert_string_equal(
        str(cJSON_GetArrayItem(item(echo, "sort"), 0), "sortOrder"),
        "descending");
    cJSON_Delete(echo);
    cJSON_Delete(body);
    free(q);
}

static const char *state_of(struct audit *a, const char *id)
{
    static char text[32];
    cJSON *o = audit_tx_status(a, id);

    if (!o)
        return NULL;
    snprintf(text, sizeof(text), "%s", str(o, "state"));
    cJSON_Delete(o);
    return text;
}

static void async_query_runs_then_succeeds(void **state)
{
    struct audit *a = audit_new(100, 3600 * NS_PER_S);
    struct audit_query *q = query(T0, T0 + HOUR);
    cJSON *st, *page = NULL;

    (void)state;
    append_simple(a, T0 + 1, "u-1", NULL, AUDIT_ACTION_UPDATE);
    st = audit_tx_start(a, q);
    assert_string_equal(str(st, "state"), "Running");
    assert_int_equal(strlen(str(st, "id")), 36);
    assert_non_null(str(st, "startDate"));
    assert_string_equal(str(st, "interval"), "test");
    assert_string_equal(state_of(a, str(st, "id")), "Running");
    assert_int_equal(audit_tx_results(a, str(st, "id"), NULL, 25, 0, &page),
                     RT_EBUSY);
    assert_null(page);
    assert_int_equal(audit_tx_results(a, "nope", NULL, 25, 0, &page),
                     RT_ENOENT);
    assert_null(audit_tx_status(a, "nope"));
    cJSON_Delete(st);
    free(q);
    audit_free(a);
}

static void async_results_are_fixed_and_paged_by_cursor(void **state)
{
    struct audit *a = audit_new(100, 0);
    struct audit_query *q = query(T0, T0 + HOUR);
    char id[AUDIT_ID_LEN], cursor[32] = "", name[16];
    cJSON *st, *page;
    int seen = 0, pages = 0;

    (void)state;
    for (int k = 0; k < 7; k++) {
        snprintf(name, sizeof(name), "u-%d", k);
        append_simple(a, T0 + k, name, NULL, AUDIT_ACTION_UPDATE);
    }
    st = audit_tx_start(a, q);
    assert_string_equal(str(st, "state"), "Succeeded");
    snprintf(id, sizeof(id), "%s", str(st, "id"));
    cJSON_Delete(st);
    /* Written after the query started: not in its results. */
    append_simple(a, T0 + 10, "late", NULL, AUDIT_ACTION_UPDATE);
    do {
        const cJSON *c;
        assert_int_equal(audit_tx_results(a, id, cursor, 3, 0, &page), RT_OK);
        assert_string_equal(str(page, "id"), id);
        assert_int_equal((int)num(page, "pageSize"), 3);
        for (int k = 0; k < cJSON_GetArraySize(item(page, "entities")); k++) {
            snprintf(name, sizeof(name), "u-%d", seen++);
            assert_string_equal(
                str(item(cJSON_GetArrayItem(item(page, "entities"), k),
                         "entity"),
                    "id"),
                name);
        }
        c = item(page, "cursor");
        cursor[0] = '\0';
        if (c)
            snprintf(cursor, sizeof(cursor), "%s", c->valuestring);
        cJSON_Delete(page);
        pages++;
    } while (cursor[0]);
    assert_int_equal(seen, 7);
    assert_int_equal(pages, 3);
    page = NULL;
    assert_int_equal(audit_tx_results(a, id, "7", 3, 0, &page), RT_EINVAL);
    assert_int_equal(audit_tx_results(a, id, "x", 3, 0, &page), RT_EINVAL);
    assert_int_equal(audit_tx_results(a, id, "-3", 3, 0, &page), RT_EINVAL);
    assert_null(page);
    /* An exact multiple of the page size: the last page has no cursor. */
    assert_int_equal(audit_tx_results(a, id, "", 7, 0, &page), RT_OK);
    assert_null(item(page, "cursor"));
    assert_int_equal(cJSON_GetArraySize(item(page, "entities")), 7);
    cJSON_Delete(page);
    free(q);
    audit_free(a);
}

static void transactions_are_bounded(void **state)
{
    struct audit *a = audit_new(10, 0);
    struct audit_query *q = query(T0, T0 + HOUR);
    char first[AUDIT_ID_LEN], second[AUDIT_ID_LEN];
    struct audit_stats stats;
    cJSON *st;

    (void)state;
    for (int k = 0; k < 10; k++)
        append_simple(a, T0 + k, "u", NULL, AUDIT_ACTION_UPDATE);
    st = audit_tx_start(a, q);
    snprintf(first, sizeof(first), "%s", str(st, "id"));
    cJSON_Delete(st);
    /* Ten records held: ten more do not fit beside them. */
    st = audit_tx_start(a, q);
    snprintf(second, sizeof(second), "%s", str(st, "id"));
    cJSON_Delete(st);
    assert_string_not_equal(first, second);
    assert_null(state_of(a, first));
    assert_non_null(state_of(a, second));
    audit_stats(a, &stats);
    assert_int_equal(stats.transactions, 1);
    assert_int_equal(stats.tx_records, 10);

    /* Empty ones: only the count bounds them. */
    q->from_wall_ns = T0 + HOUR;
    q->to_wall_ns = T0 + 2 * HOUR;
    for (int k = 0; k < AUDIT_TX_MAX; k++)
        cJSON_Delete(audit_tx_start(a, q));
    assert_null(state_of(a, second));
    audit_stats(a, &stats);
    assert_int_equal(stats.transactions, AUDIT_TX_MAX);
    assert_int_equal(stats.tx_records, 0);
    free(q);
    audit_free(a);
}

static void service_mapping_lists_what_is_audited(void **state)
{
    cJSON *m = audit_service_mapping();
    const cJSON *svc, *ent;
    int pairs = 0, queue_actions = 0;

    (void)state;
    cJSON_ArrayForEach(svc, item(m, "services"))
    {
        cJSON_ArrayForEach(ent, item(svc, "entities"))
        {
            pairs++;
            if (!strcmp(str(ent, "name"), "Queue"))
                queue_actions = cJSON_GetArraySize(item(ent, "actions"));
        }
    }
    assert_int_equal(cJSON_GetArraySize(item(m, "services")), 3);
    assert_int_equal(pairs, 5);
    assert_int_equal(queue_actions, 3);
    cJSON_Delete(m);
}

struct appender {
    struct audit *a;
    int id;
};

static void *append_many(void *arg)
{
    struct appender *ap = arg;
    struct audit_query *q = query(T0, T0 + HOUR);
    char entity[32];

    snprintf(entity, sizeof(entity), "u-%d", ap->id);
    for (int k = 0; k < 2000; k++) {
        append_simple(ap->a, T0 + k, entity, "c", AUDIT_ACTION_UPDATE);
        if (k % 500 == 0) {
            cJSON_Delete(audit_realtime(ap->a, q, 1, 5, 1));
            cJSON_Delete(audit_tx_start(ap->a, q));
        }
    }
    free(q);
    return NULL;
}

static void concurrent_appends_and_queries(void **state)
{
    enum { N = 4 };
    struct audit *a = audit_new(5000, 0);
    struct appender ap[N];
    pthread_t t[N];
    struct audit_stats st;

    (void)state;
    for (int k = 0; k < N; k++) {
        ap[k].a = a;
        ap[k].id = k;
        assert_int_equal(pthread_create(&t[k], NULL, append_many, &ap[k]), 0);
    }
    for (int k = 0; k < N; k++)
        pthread_join(t[k], NULL);
    audit_stats(a, &st);
    assert_int_equal(st.appended, N * 2000);
    assert_int_equal(st.records, 5000);
    assert_int_equal(st.dropped, N * 2000 - 5000);
    audit_free(a);
}

/* ---- the org's side ---------------------------------------------------- */

static struct sim_org *org_with_actors(struct sim_config *cfg)
{
    static const enum sim_actor_kind kinds[] = {
        SIM_ACTOR_ADMIN, SIM_ACTOR_INTEGRATION, SIM_ACTOR_ROUTING_ENGINE};

    sim_config_defaults(cfg);
    cfg->agents = 3;
    for (size_t k = 0; k < 3; k++) {
        struct sim_actor_config *ac = &cfg->world.actors[cfg->world.n_actors++];
        memset(ac, 0, sizeof(*ac));
        ac->kind = kinds[k];
        snprintf(ac->name, sizeof(ac->name), "%s",
                 sim_actor_kind_names[kinds[k]]);
    }
    snprintf(cfg->world.actors[1].client_id, SIM_NAME_MAX, "integ-7");
    snprintf(cfg->world.actors[1].name, SIM_NAME_MAX, "crm-sync");
    return org_new(cfg, NULL);
}

/* Every record of the org's trail, ascending, expand=user.  Caller
 * frees. */
static cJSON *trail(struct sim_org *org)
{
    struct audit_query *q = query(0, INT64_MAX);
    cJSON *o = audit_realtime(org_audit(org), q, 1, AUDIT_PAGE_MAX, 1);
    cJSON *entities = cJSON_DetachItemFromObject(o, "entities");

    cJSON_Delete(o);
    free(q);
    return entities;
}

static void org_writers_map_to_audit_identities(void **state)
{
    struct sim_config cfg;
    struct sim_org *org = org_with_actors(&cfg);
    const struct sim_writer client = {"client:racetrace", "racetrace", "c-1"};
    const struct sim_writer admin = {"admin", NULL, "c-2"};
    const struct sim_writer integ = {"crm-sync", "integ-7", "c-3"};
    const struct sim_writer engine = {"routing-engine", NULL, "c-4"};
    cJSON *fields = cJSON_Parse("{\"title\":\"Team Lead\",\"version\":1}");
    cJSON *empty = cJSON_CreateObject(), *all;
    const cJSON *m;
    int64_t v;

    (void)state;
    assert_int_equal(org_user_patch(org, 0, 1, fields, &client, &v), RT_OK);
    assert_int_equal(org_user_patch(org, 0, 2, empty, &admin, &v), RT_OK);
    assert_int_equal(org_user_patch(org, 0, 3, empty, &integ, &v), RT_OK);
    assert_int_equal(org_user_patch(org, 0, 4, empty, &engine, &v), RT_OK);
    /* A stale write changes nothing and is not audited. */
    assert_int_equal(org_user_patch(org, 0, 1, empty, &client, &v),
                     RT_ECONFLICT);
    all = trail(org);
    assert_int_equal(cJSON_GetArraySize(all), 4);

    m = cJSON_GetArrayItem(all, 0);
    assert_string_equal(str(m, "serviceName"), "Directory");
    assert_string_equal(str(m, "entityType"), "User");
    assert_string_equal(str(m, "action"), "Update");
    assert_string_equal(str(item(m, "entity"), "id"), org_agent_id(org, 0));
    assert_string_equal(str(item(m, "entity"), "name"), "Agent 0001");
    assert_string_equal(str(item(m, "client"), "id"), "racetrace");
    assert_null(item(m, "user"));
    assert_string_equal(str(m, "level"), "SYSTEM");
    assert_string_equal(cJSON_GetArrayItem(item(m, "remoteIp"), 0)->valuestring,
                        "127.0.0.1");
    /* The changed field only; no invented version property. */
    assert_int_equal(cJSON_GetArraySize(item(m, "propertyChanges")), 1);
    assert_string_equal(
        str(cJSON_GetArrayItem(item(m, "propertyChanges"), 0), "property"),
        "title");

    m = cJSON_GetArrayItem(all, 1);
    assert_string_equal(str(m, "level"), "USER");
    assert_string_equal(str(item(m, "user"), "name"), "admin");
    assert_int_equal(strlen(str(item(m, "user"), "id")), 36);
    assert_null(item(m, "client"));
    assert_int_equal(cJSON_GetArraySize(item(m, "propertyChanges")), 0);

    m = cJSON_GetArrayItem(all, 2);
    assert_string_equal(str(m, "level"), "SYSTEM");
    assert_string_equal(str(item(m, "client"), "id"), "integ-7");
    assert_string_equal(str(m, "application"), "crm-sync");
    assert_null(item(m, "user"));

    m = cJSON_GetArrayItem(all, 3);
    assert_string_equal(str(m, "application"), "routing-engine");
    assert_null(item(m, "client"));
    assert_null(item(m, "remoteIp"));
    cJSON_Delete(all);
    cJSON_Delete(fields);
    cJSON_Delete(empty);
    org_free(org);
}

static void org_presence_routing_and_routing_config_are_audited(void **state)
{
    struct sim_config cfg;
    struct sim_org *org = org_with_actors(&cfg);
    const struct sim_writer world = {"world", NULL, "w-1"};
    const struct sim_writer client = {"client:racetrace", "racetrace", "c-1"};
    size_t skills[2] = {0, 1};
    double prof[2] = {4, 2};
    cJSON *util = cJSON_Parse("{\"call\":{\"maximumCapacity\":2}}"), *all;
    const cJSON *m;
    int queue_records = 0;

    (void)state;
    /* The agent's own presence: the agent is the user. */
    org_set_presence(org, 1, SIM_PRESENCE_BREAK, NULL, &world);
    /* The ACD's routing change: not audited. */
    org_set_routing(org, 1, SIM_ROUTING_OFF_QUEUE, &world);
    org_set_routing(org, 1, SIM_ROUTING_IDLE, &client);
    org_set_routing(org, 1, SIM_ROUTING_IDLE, &client); /* no change */
    org_set_utilization(org, 1, util, &client);
    org_set_skills(org, 1, skills, prof, 2, 1, &client);
    if (org_set_member(org, 1, 0, 0, &client))
        queue_records++;
    if (org_set_member(org, 1, 0, 1, &client))
        queue_records++;
    assert_int_equal(queue_records, 2);
    assert_int_equal(org_set_joined(org, 1, 0, 1, &client), 1);
    all = trail(org);
    assert_int_equal(cJSON_GetArraySize(all), 4 + queue_records + 1);

    m = cJSON_GetArrayItem(all, 0);
    assert_string_equal(str(m, "serviceName"), "Presence");
    assert_string_equal(str(m, "entityType"), "UserPresence");
    assert_string_equal(str(m, "level"), "USER");
    assert_string_equal(str(item(m, "user"), "id"), org_agent_id(org, 1));
    assert_string_equal(str(item(m, "user"), "name"), "Agent 0002");
    assert_string_equal(
        cJSON_GetArrayItem(
            item(cJSON_GetArrayItem(item(m, "propertyChanges"), 0),
                 "newValues"),
            0)
            ->valuestring,
        "Break");

    m = cJSON_GetArrayItem(all, 1);
    assert_string_equal(str(m, "serviceName"), "Routing");
    assert_string_equal(str(m, "entityType"), "User");
    assert_string_equal(
        str(cJSON_GetArrayItem(item(m, "propertyChanges"), 0), "property"),
        "routingStatus");

    m = cJSON_GetArrayItem(all, 2);
    assert_string_equal(str(m, "entityType"), "AgentRoutingInfo");
    assert_string_equal(
        str(cJSON_GetArrayItem(item(m, "propertyChanges"), 0), "property"),
        "utilization");
    /* From the org default: no old value. */
    assert_int_equal(
        cJSON_GetArraySize(item(
            cJSON_GetArrayItem(item(m, "propertyChanges"), 0), "oldValues")),
        0);

    m = cJSON_GetArrayItem(all, 3);
    assert_string_equal(str(m, "entityType"), "AgentRoutingInfo");
    assert_true(cJSON_GetArraySize(item(m, "propertyChanges")) >= 1);
    assert_non_null(strstr(
        str(cJSON_GetArrayItem(item(m, "propertyChanges"), 0), "property"),
        "skill."));

    m = cJSON_GetArrayItem(all, 4);
    assert_string_equal(str(m, "entityType"), "Queue");
    assert_string_equal(str(m, "action"), "MemberRemove");
    assert_string_equal(str(item(m, "entity"), "name"), "Queue 01");
    assert_string_equal(str(item(m, "context"), "userId"),
                        org_agent_id(org, 1));
    m = cJSON_GetArrayItem(all, 5);
    assert_string_equal(str(m, "action"), "MemberAdd");
    m = cJSON_GetArrayItem(all, 6);
    assert_string_equal(str(m, "action"), "Update");
    assert_string_equal(
        str(cJSON_GetArrayItem(item(m, "propertyChanges"), 0), "property"),
        "joined");
    cJSON_Delete(all);
    cJSON_Delete(util);
    org_free(org);
}

static void org_history_gives_intervals(void **state)
{
    struct sim_config cfg;
    struct sim_org *org = org_with_actors(&cfg);
    const struct sim_writer world = {"world", NULL, "w-1"};
    struct org_interval *iv;
    int64_t t1, t2;
    size_t n;

    (void)state;
    t1 = clock_wall_ns();
    org_set_routing(org, 2, SIM_ROUTING_INTERACTING, &world);
    org_set_routing(org, 2, SIM_ROUTING_NOT_RESPONDING, &world);
    t2 = clock_wall_ns();
    /* Everything: the state at org start, then two transitions, the last
     * still open. */
    n = org_history(org, 2, SIM_PROP_ROUTING, 0, INT64_MAX, &iv);
    assert_int_equal(n, 3);
    assert_int_equal(iv[0].end_wall_ns, iv[1].start_wall_ns);
    assert_int_equal(iv[1].end_wall_ns, iv[2].start_wall_ns);
    assert_int_equal(iv[1].value, SIM_ROUTING_INTERACTING);
    assert_int_equal(iv[2].value, SIM_ROUTING_NOT_RESPONDING);
    assert_int_equal(iv[2].end_wall_ns, -1);
    assert_true(iv[1].start_wall_ns >= t1 && iv[2].start_wall_ns <= t2);
    free(iv);
    /* A window after the last transition: only the open interval. */
    n = org_history(org, 2, SIM_PROP_ROUTING, t2 + 1, t2 + 2, &iv);
    assert_int_equal(n, 1);
    assert_int_equal(iv[0].value, SIM_ROUTING_NOT_RESPONDING);
    free(iv);
    /* Before the org existed: nothing. */
    n = org_history(org, 2, SIM_PROP_PRESENCE, 0, 1, &iv);
    assert_int_equal(n, 0);
    assert_null(iv);
    assert_int_equal(org_history_dropped(org), 0);
    org_free(org);
}

static void org_history_is_bounded_per_agent(void **state)
{
    struct sim_config cfg;
    struct sim_org *org = org_with_actors(&cfg);
    const struct sim_writer world = {"world", NULL, "w-1"};
    struct org_interval *iv;
    size_t n;

    (void)state;
    for (int k = 0; k < ORG_HISTORY_MAX + 10; k++)
        org_set_routing(
            org, 0, k % 2 ? SIM_ROUTING_IDLE : SIM_ROUTING_INTERACTING, &world);
    n = org_history(org, 0, SIM_PROP_ROUTING, 0, INT64_MAX, &iv);
    assert_int_equal(n, ORG_HISTORY_MAX);
    /* The initial state and the first ten transitions are gone. */
    assert_int_equal(org_history_dropped(org), 11);
    for (size_t k = 1; k < n; k++)
        assert_true(iv[k].start_wall_ns >= iv[k - 1].start_wall_ns);
    assert_int_equal(iv[n - 1].end_wall_ns, -1);
    free(iv);
    org_free(org);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_field_is_rendered),
        cmocka_unit_test(absent_fields_are_left_out),
        cmocka_unit_test(interval_is_half_open),
        cmocka_unit_test(same_property_ors_different_properties_and),
        cmocka_unit_test(service_name_selects_the_service),
        cmocka_unit_test(sorted_by_event_date_both_ways),
        cmocka_unit_test(realtime_pages_by_number),
        cmocka_unit_test(ring_drops_the_oldest_and_frees_their_strings),
        cmocka_unit_test(repeated_strings_cost_nothing_per_record),
        cmocka_unit_test(parse_names_the_bad_field),
        cmocka_unit_test(parse_and_echo_round_trip),
        cmocka_unit_test(async_query_runs_then_succeeds),
        cmocka_unit_test(async_results_are_fixed_and_paged_by_cursor),
        cmocka_unit_test(transactions_are_bounded),
        cmocka_unit_test(service_mapping_lists_what_is_audited),
        cmocka_unit_test(concurrent_appends_and_queries),
        cmocka_unit_test(org_writers_map_to_audit_identities),
        cmocka_unit_test(org_presence_routing_and_routing_config_are_audited),
        cmocka_unit_test(org_history_gives_intervals),
        cmocka_unit_test(org_history_is_bounded_per_agent),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
