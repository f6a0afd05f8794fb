/* Evidence response parsing: audit query status, audit result pages into
 * records, analytics user details into transitions, the presence
 * spellings, and hostile bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/presence.h"
#include "base/clock.h"
#include "harness/evidence.h"
#include "sim/org.h"

#define SEEN_MAX 8

static int64_t at(const char *iso)
{
    int64_t ns;

    assert_int_equal(iso8601_parse(iso, &ns), RT_OK);
    return ns;
}

/* --- audit --------------------------------------------------------- */

struct audit_seen {
    size_t n;
    struct {
        char id[64], entity[64], service[32], type[32], action[32];
        char level[16], status[16], user_id[64], user_name[64];
        char client_id[64], application[64], properties[128];
        char changes[512];
        int64_t event_ns;
    } r[SEEN_MAX];
};

static void copy(char *dst, size_t len, const char *src)
{
    assert_non_null(src); /* absent fields are "", never NULL */
    snprintf(dst, len, "%s", src);
}

static void collect_audit(void *ctx, const struct evidence_audit_record *r)
{
    struct audit_seen *s = ctx;
    size_t i = s->n++;

    assert_true(i < SEEN_MAX);
    copy(s->r[i].id, sizeof(s->r[i].id), r->audit_id);
    copy(s->r[i].entity, sizeof(s->r[i].entity), r->entity_id);
    copy(s->r[i].service, sizeof(s->r[i].service), r->service);
    copy(s->r[i].type, sizeof(s->r[i].type), r->entity_type);
    copy(s->r[i].action, sizeof(s->r[i].action), r->action);
    copy(s->r[i].level, sizeof(s->r[i].level), r->level);
    copy(s->r[i].status, sizeof(s->r[i].status), r->status);
    copy(s->r[i].user_id, sizeof(s->r[i].user_id), r->user_id);
    copy(s->r[i].user_name, sizeof(s->r[i].user_name), r->user_name);
    copy(s->r[i].client_id, sizeof(s->r[i].client_id), r->client_id);
    copy(s->r[i].application, sizeof(s->r[i].application), r->application);
    copy(s->r[i].properties, sizeof(s->r[i].properties), r->properties);
    copy(s->r[i].changes, sizeof(s->r[i].changes), r->changes_json);
    s->r[i].event_ns = r->event_wall_ns;
}

static enum rt_err audit_page(const char *body, struct audit_seen *s,
                              char **cursor, size_t *skipped, size_t *offset)
{
    memset(s, 0, sizeof(*s));
    return evidence_parse_audit_page(body, strlen(body), collect_audit, s,
                                     cursor, skipped, offset);
}

static void audit_status_gives_id_and_state(void **state)
{
    static const struct {
        const char *body;
        const char *id;
        enum evidence_audit_state st;
    } cases[] = {
        {"{\"id\":\"q-1\",\"state\":\"Running\",\"serviceName\":\"Directory\"}",
         "q-1", EVIDENCE_AUDIT_RUNNING},
        {"{\"id\":\"q-2\",\"state\":\"Succeeded\"}", "q-2",
         EVIDENCE_AUDIT_SUCCEEDED},
        {"{\"id\":\"q-3\",\"state\":\"QUEUED\"}", "q-3", EVIDENCE_AUDIT_QUEUED},
        {"{\"id\":\"q-4\",\"state\":\"Failed\"}", "q-4", EVIDENCE_AUDIT_FAILED},
        {"{\"id\":\"q-5\",\"state\":\"Cancelled\"}", "q-5",
         EVIDENCE_AUDIT_CANCELLED},
        {"{\"id\":\"q-6\",\"state\":\"Paused\"}", "q-6",
         EVIDENCE_AUDIT_UNKNOWN},
        {"{\"id\":6,\"state\":[\"Running\"]}", "", EVIDENCE_AUDIT_UNKNOWN},
        {"{}", "", EVIDENCE_AUDIT_UNKNOWN},
    };
    char id[EVIDENCE_QUERY_ID_MAX];
    enum evidence_audit_state st;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(evidence_parse_audit_status(cases[i].body,
                                                     strlen(cases[i].body), id,
                                                     &st, NULL),
                         RT_OK);
        assert_string_equal(id, cases[i].id);
        assert_int_equal(st, cases[i].st);
    }
}

static void audit_status_refuses_non_objects_and_long_ids(void **state)
{
    char body[EVIDENCE_QUERY_ID_MAX + 64], id[EVIDENCE_QUERY_ID_MAX];
    enum evidence_audit_state st = EVIDENCE_AUDIT_SUCCEEDED;
    size_t offset = 99;
    int n;

    (void)state;
    assert_int_equal(evidence_parse_audit_status("[1]", 3, id, &st, &offset),
                     RT_EPARSE);
    assert_int_equal(offset, 0);
    assert_int_equal(st, EVIDENCE_AUDIT_UNKNOWN);
    assert_int_equal(
        evidence_parse_audit_status("{\"id\":", 6, id, &st, &offset),
        RT_EPARSE);
    assert_true(offset > 0 && offset <= 6);
    /* An id that does not fit is no id, never a cut one. */
    n = snprintf(body, sizeof(body), "{\"id\":\"%0*d\",\"state\":\"Running\"}",
                 EVIDENCE_QUERY_ID_MAX, 7);
    assert_int_equal(
        evidence_parse_audit_status(body, (size_t)n, id, &st, NULL), RT_OK);
    assert_string_equal(id, "");
    assert_int_equal(st, EVIDENCE_AUDIT_RUNNING);
}

static void audit_page_gives_every_field_and_the_cursor(void **state)
{
    const char *body =
        "{\"id\":\"q-1\",\"pageSize\":2,\"cursor\":\"c2\",\"entities\":["
        "{\"id\":\"a1\",\"userHomeOrgId\":\"org\","
        "\"user\":{\"id\":\"u-admin\",\"name\":\"Ann Admin\"},"
        "\"client\":{\"id\":\"cli-9\"},\"remoteIp\":[\"10.0.0.1\"],"
        "\"serviceName\":\"Directory\",\"level\":\"USER\","
        "\"eventDate\":\"2026-03-02T09:00:00.250Z\",\"action\":\"Update\","
        "\"entity\":{\"id\":\"agent-1\",\"name\":\"A\"},"
        "\"entityType\":\"User\",\"status\":\"SUCCESS\","
        "\"application\":\"racetrace\","
        "\"propertyChanges\":[{\"property\":\"department\","
        "\"oldValues\":[\"x\"],\"newValues\":[\"y\"]},"
        "{\"property\":\"version\",\"oldValues\":[\"3\"],"
        "\"newValues\":[\"4\"]}]},"
        "{\"id\":\"a2\",\"entity\":{\"id\":\"agent-2\"},\"level\":\"SYSTEM\","
        "\"client\":{\"id\":\"integration-x\"}}"
        "]}";
    struct audit_seen s;
    char *cursor = NULL;
    size_t skipped = 9;

    (void)state;
    assert_int_equal(audit_page(body, &s, &cursor, &skipped, NULL), RT_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(skipped, 0);
    assert_string_equal(cursor, "c2");
    free(cursor);
    assert_string_equal(s.r[0].id, "a1");
    assert_int_equal(s.r[0].event_ns, at("2026-03-02T09:00:00.250Z"));
    assert_string_equal(s.r[0].entity, "agent-1");
    assert_string_equal(s.r[0].service, "Directory");
    assert_string_equal(s.r[0].type, "User");
    assert_string_equal(s.r[0].action, "Update");
    assert_string_equal(s.r[0].level, "USER");
    assert_string_equal(s.r[0].status, "SUCCESS");
    assert_string_equal(s.r[0].user_id, "u-admin");
    assert_string_equal(s.r[0].user_name, "Ann Admin");
    assert_string_equal(s.r[0].client_id, "cli-9");
    assert_string_equal(s.r[0].application, "racetrace");
    assert_string_equal(s.r[0].properties, "department;version");
    assert_string_equal(
        s.r[0].changes,
        "[{\"property\":\"department\",\"oldValues\":[\"x\"],\"newValues\":"
        "[\"y\"]},{\"property\":\"version\",\"oldValues\":[\"3\"],"
        "\"newValues\":[\"4\"]}]");
    /* Missing fields are empty, not errors. */
    assert_string_equal(s.r[1].id, "a2");
    assert_string_equal(s.r[1].entity, "agent-2");
    assert_string_equal(s.r[1].client_id, "integration-x");
    assert_string_equal(s.r[1].level, "SYSTEM");
    assert_string_equal(s.r[1].user_id, "");
    assert_string_equal(s.r[1].properties, "");
    assert_string_equal(s.r[1].changes, "");
    assert_int_equal(s.r[1].event_ns, 0);
}

static void audit_page_without_cursor_is_the_last(void **state)
{
    struct audit_seen s;
    char *cursor = (char *)"x";
    size_t skipped;

    (void)state;
    assert_int_equal(audit_page("{\"entities\":[],\"cursor\":null}", &s,
                                &cursor, &skipped, NULL),
                     RT_OK);
    assert_null(cursor);
    assert_int_equal(s.n, 0);
    assert_int_equal(audit_page("{\"entities\":[],\"cursor\":\"\"}", &s,
                                &cursor, &skipped, NULL),
                     RT_OK);
    assert_null(cursor);
}

static void audit_wrong_types_are_skipped_and_counted(void **state)
{
    const char *body =
        "{\"entities\":["
        "7, \"x\", null,"
        "{\"id\":12,\"entity\":\"agent-1\",\"user\":{\"id\":[1],\"name\":2},"
        "\"client\":{\"id\":{}},\"eventDate\":\"yesterday\","
        "\"propertyChanges\":[3,{\"property\":5},{\"property\":\"name\"}]},"
        "{\"id\":\"ok\",\"entity\":{\"id\":\"agent-2\"},"
        "\"propertyChanges\":{\"property\":\"x\"}}"
        "],\"cursor\":42}";
    struct audit_seen s;
    char *cursor = NULL;
    size_t skipped = 0;

    (void)state;
    assert_int_equal(audit_page(body, &s, &cursor, &skipped, NULL), RT_OK);
    assert_null(cursor);
    assert_int_equal(s.n, 2);
    /* 3 non-objects; id, entity, user.id, user.name, client.id,
     * eventDate, propertyChanges[0], [1].property; the second record's
     * propertyChanges; the cursor: 13. */
    assert_int_equal(skipped, 13);
    assert_string_equal(s.r[0].id, "");
    assert_string_equal(s.r[0].entity, "");
    assert_int_equal(s.r[0].event_ns, 0);
    assert_string_equal(s.r[0].properties, "name");
    assert_string_equal(s.r[0].changes,
                        "[3,{\"property\":5},{\"property\":\"name\"}]");
    assert_string_equal(s.r[1].id, "ok");
    assert_string_equal(s.r[1].changes, "");
}

static void audit_malformed_bodies_are_parse_errors(void **state)
{
    static const char *const bodies[] = {
        "",
        "null",
        "[]",
        "{\"entities\":{}}",
        "{\"cursor\":\"c\"}",
        "{\"entities\":[]} {\"entities\":[]}",
        "{\"entities\":[{\"id\":\"a\"}]",
        "<html>502 Bad Gateway</html>",
    };
    struct audit_seen s;
    char *cursor;
    size_t skipped, offset;

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        cursor = (char *)"x";
        assert_int_equal(audit_page(bodies[i], &s, &cursor, &skipped, &offset),
                         RT_EPARSE);
        assert_null(cursor);
        assert_int_equal(s.n, 0);
        assert_true(offset <= strlen(bodies[i]));
    }
    /* The glued second object is where parsing stopped. */
    audit_page(bodies[5], &s, &cursor, &skipped, &offset);
    assert_int_equal(offset, strlen("{\"entities\":[]} "));
}

/* --- analytics ----------------------------------------------------- */

struct trans_seen {
    size_t n;
    struct {
        char agent[32], property[32], old_v[32], new_v[32];
        int64_t at_ns, seq;
    } t[SEEN_MAX * 2];
};

static void collect_transition(void *ctx, const struct evidence_transition *t)
{
    struct trans_seen *s = ctx;
    size_t i = s->n++;

    assert_true(i < SEEN_MAX * 2);
    copy(s->t[i].agent, sizeof(s->t[i].agent), t->agent);
    copy(s->t[i].property, sizeof(s->t[i].property), t->property);
    copy(s->t[i].old_v, sizeof(s->t[i].old_v), t->old_value);
    copy(s->t[i].new_v, sizeof(s->t[i].new_v), t->new_value);
    s->t[i].at_ns = t->at_wall_ns;
    s->t[i].seq = t->request_seq;
}

static void add(struct evidence_timeline *tl, const char *body, int64_t seq,
                struct evidence_page_info *info)
{
    assert_int_equal(
        evidence_timeline_add_page(tl, body, strlen(body), seq, info, NULL),
        RT_OK);
}

static void expect(const struct trans_seen *s, size_t i, const char *agent,
                   const char *property, const char *old_v, const char *new_v,
                   const char *iso, int64_t seq)
{
    assert_true(i < s->n);
    assert_string_equal(s->t[i].agent, agent);
    assert_string_equal(s->t[i].property, property);
    assert_string_equal(s->t[i].old_v, old_v);
    assert_string_equal(s->t[i].new_v, new_v);
    assert_int_equal(s->t[i].at_ns, at(iso));
    assert_int_equal(s->t[i].seq, seq);
}

static void user_details_become_transitions_inside_the_run(void **state)
{
    /* The first interval of each list starts before the run: it gives
     * the old value but is no transition of the run. */
    const char *body =
        "{\"userDetails\":[{\"userId\":\"u1\","
        "\"primaryPresence\":["
        "{\"startTime\":\"2026-03-02T08:00:00.000Z\","
        "\"endTime\":\"2026-03-02T09:00:01.000Z\","
        "\"systemPresence\":\"AVAILABLE\"},"
        "{\"startTime\":\"2026-03-02T09:00:01.000Z\","
        "\"endTime\":\"2026-03-02T09:00:05.000Z\","
        "\"systemPresence\":\"ON_QUEUE\","
        "\"organizationPresenceId\":\"e08eaf1b-ee47-4fa9-a231-1200e284798f\"},"
        "{\"startTime\":\"2026-03-02T09:00:05.000Z\","
        "\"systemPresence\":\"BREAK\"}],"
        "\"routingStatus\":["
        "{\"startTime\":\"2026-03-02T08:30:00Z\",\"routingStatus\":\"OFF_"
        "QUEUE\"},"
        "{\"startTime\":\"2026-03-02T09:00:01.010Z\",\"routingStatus\":"
        "\"IDLE\"},"
        "{\"startTime\":\"2026-03-02T09:00:02.500Z\","
        "\"routingStatus\":\"INTERACTING\"},"
        "{\"startTime\":\"2026-03-02T09:00:04.000Z\","
        "\"routingStatus\":\"IDLE\"}]}],"
        "\"totalHits\":1}";
    struct evidence_timeline *tl = evidence_timeline_new();
    struct evidence_page_info info;
    struct trans_seen s;

    (void)state;
    add(tl, body, 17, &info);
    assert_int_equal(info.total_hits, 1);
    assert_int_equal(info.entries, 1);
    assert_int_equal(info.users, 1);
    assert_int_equal(info.intervals, 7);
    assert_int_equal(info.skipped, 0);
    assert_int_equal(evidence_timeline_users(tl, NULL, NULL), 1);
    memset(&s, 0, sizeof(s));
    assert_int_equal(evidence_timeline_transitions(
                         tl, at("2026-03-02T09:00:00Z"),
                         at("2026-03-02T09:01:00Z"), collect_transition, &s),
                     5);
    expect(&s, 0, "u1", "presence", "Available", "On Queue",
           "2026-03-02T09:00:01.000Z", 17);
    expect(&s, 1, "u1", "presence", "On Queue", "Break",
           "2026-03-02T09:00:05.000Z", 17);
    expect(&s, 2, "u1", "routing_status", "OFF_QUEUE", "IDLE",
           "2026-03-02T09:00:01.010Z", 17);
    expect(&s, 3, "u1", "routing_status", "IDLE", "INTERACTING",
           "2026-03-02T09:00:02.500Z", 17);
    expect(&s, 4, "u1", "routing_status", "INTERACTING", "IDLE",
           "2026-03-02T09:00:04.000Z", 17);
    /* The interval's bounds are inclusive, and a narrower one leaves out
     * what falls outside it. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(
        evidence_timeline_transitions(tl, at("2026-03-02T09:00:02.500Z"),
                                      at("2026-03-02T09:00:04.000Z"),
                                      collect_transition, &s),
        2);
    expect(&s, 0, "u1", "routing_status", "IDLE", "INTERACTING",
           "2026-03-02T09:00:02.500Z", 17);
    evidence_timeline_free(tl);
}

static int only_u2(void *ctx, const char *user)
{
    (void)ctx;
    return !strcmp(user, "u2");
}

static void pages_merge_in_time_order_and_repeats_count_once(void **state)
{
    /* u2's intervals arrive out of order over two pages, one of them
     * twice; u1 and u2 keep their own timelines; unchanged values and
     * split intervals are no transition. */
    const char *p1 =
        "{\"userDetails\":["
        "{\"userId\":\"u2\",\"routingStatus\":["
        "{\"startTime\":\"2026-03-02T09:00:03Z\",\"routingStatus\":\"IDLE\"},"
        "{\"startTime\":\"2026-03-02T09:00:01Z\","
        "\"routingStatus\":\"OFF_QUEUE\"}]},"
        "{\"userId\":\"u1\",\"routingStatus\":["
        "{\"startTime\":\"2026-03-02T09:00:01Z\",\"routingStatus\":\"IDLE\"},"
        "{\"startTime\":\"2026-03-02T09:00:02Z\",\"routingStatus\":\"IDLE\"}]}"
        "],\"totalHits\":3}";
    const char *p2 =
        "{\"userDetails\":["
        "{\"userId\":\"u2\",\"routingStatus\":["
        "{\"startTime\":\"2026-03-02T09:00:03Z\",\"routingStatus\":\"IDLE\"},"
        "{\"startTime\":\"2026-03-02T09:00:02Z\","
        "\"routingStatus\":\"INTERACTING\"}]}"
        "],\"totalHits\":3}";
    struct evidence_timeline *tl = evidence_timeline_new();
    struct evidence_page_info info;
    struct trans_seen s;

    (void)state;
    add(tl, p1, 1, &info);
    add(tl, p2, 2, &info);
    assert_int_equal(evidence_timeline_users(tl, NULL, NULL), 2);
    assert_int_equal(evidence_timeline_users(tl, only_u2, NULL), 1);
    memset(&s, 0, sizeof(s));
    assert_int_equal(evidence_timeline_transitions(
                         tl, at("2026-03-02T09:00:00Z"),
                         at("2026-03-02T09:01:00Z"), collect_transition, &s),
                     2);
    expect(&s, 0, "u2", "routing_status", "OFF_QUEUE", "INTERACTING",
           "2026-03-02T09:00:02Z", 2);
    expect(&s, 1, "u2", "routing_status", "INTERACTING", "IDLE",
           "2026-03-02T09:00:03Z", 1);
    evidence_timeline_free(tl);
}

static void unusable_intervals_are_skipped_and_counted(void **state)
{
    const char *body =
        "{\"userDetails\":["
        "5, {\"userId\":7}, {\"primaryPresence\":[]},"
        "{\"userId\":\"u1\",\"primaryPresence\":["
        "\"x\","
        "{\"systemPresence\":\"AWAY\"},"
        "{\"startTime\":\"soon\",\"systemPresence\":\"AWAY\"},"
        "{\"startTime\":\"2026-03-02T09:00:01Z\"},"
        "{\"startTime\":\"2026-03-02T09:00:01Z\",\"systemPresence\":3},"
        "{\"startTime\":\"2026-03-02T09:00:01Z\",\"organizationPresenceId\":"
        "\"227b37e2-f1d0-4dd0-8f50-badd7cf6d158\"},"
        "{\"startTime\":\"2026-03-02T09:00:02Z\",\"systemPresence\":\"Mood\"}"
        "],\"routingStatus\":{\"routingStatus\":\"IDLE\"}}"
        "],\"totalHits\":\"4\"}";
    struct evidence_timeline *tl = evidence_timeline_new();
    struct evidence_page_info info;
    struct trans_seen s;

    (void)state;
    add(tl, body, 3, &info);
    assert_int_equal(info.total_hits, -1);
    assert_int_equal(info.entries, 4);
    assert_int_equal(info.users, 1);
    assert_int_equal(info.intervals, 2);
    /* totalHits; 5; userId 7; no userId; "x"; no start; bad start; no
     * value; value 3; routingStatus not an array: 10. */
    assert_int_equal(info.skipped, 10);
    memset(&s, 0, sizeof(s));
    assert_int_equal(evidence_timeline_transitions(
                         tl, at("2026-03-02T09:00:00Z"),
                         at("2026-03-02T09:01:00Z"), collect_transition, &s),
                     1);
    /* A known definition id names the presence; an org's own one keeps
     * its spelling. */
    expect(&s, 0, "u1", "presence", "Break", "Mood", "2026-03-02T09:00:02Z", 3);
    evidence_timeline_free(tl);
}

static void analytics_malformed_bodies_add_nothing(void **state)
{
    static const char *const bodies[] = {
        "",
        "[]",
        "\"userDetails\"",
        "{\"userDetails\":{}}",
        "{\"userDetails\":[{\"userId\":\"u1\",\"routingStatus\":["
        "{\"startTime\":\"2026-03-02T09:00:01Z\",\"routingStatus\":\"IDLE\"}"
        "]}]",
        "{\"userDetails\":[]}x",
    };
    struct evidence_timeline *tl = evidence_timeline_new();
    struct evidence_page_info info;
    size_t offset;

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        assert_int_equal(evidence_timeline_add_page(tl, bodies[i],
                                                    strlen(bodies[i]), 1, &info,
                                                    &offset),
                         RT_EPARSE);
        assert_true(offset <= strlen(bodies[i]));
        assert_int_equal(info.users, 0);
    }
    assert_int_equal(evidence_timeline_users(tl, NULL, NULL), 0);
    /* No userDetails at all is a page without users. */
    add(tl, "{\"totalHits\":0}", 1, &info);
    assert_int_equal(info.total_hits, 0);
    assert_int_equal(info.entries, 0);
    evidence_timeline_free(tl);
}

/* --- presence spellings -------------------------------------------- */

static void presence_spellings_map_to_rest_names(void **state)
{
    (void)state;
    assert_string_equal(presence_rest_name("ON_QUEUE"), "On Queue");
    assert_string_equal(presence_rest_name("OnQueue"), "On Queue");
    assert_string_equal(presence_rest_name("on queue"), "On Queue");
    assert_string_equal(presence_rest_name("AVAILABLE"), "Available");
    assert_string_equal(
        presence_rest_name("227B37E2-F1D0-4DD0-8F50-BADD7CF6D158"), "Break");
    assert_string_equal(presence_rest_name("Mood"), "Mood");
    assert_string_equal(presence_rest_name(""), "");
    assert_int_equal(presence_lookup(NULL), -1);
    assert_int_equal(presence_lookup("ON"), -1);
    assert_int_equal(presence_lookup("On Queue Now"), -1);
}

/* The client's table and the simulator's must name the same presences
 * the same way, or a simulated run would test another spelling than a
 * real org's. */
static void presence_table_agrees_with_the_simulator(void **state)
{
    (void)state;
    assert_int_equal(PRESENCE_SYSTEM_COUNT, SIM_PRESENCE_COUNT);
    for (int i = 0; i < PRESENCE_SYSTEM_COUNT; i++) {
        assert_string_equal(presence_system[i].id, sim_presence_defs[i].id);
        assert_string_equal(presence_system[i].name, sim_presence_defs[i].name);
        assert_string_equal(presence_system[i].analytics,
                            sim_presence_defs[i].analytics);
        assert_int_equal(presence_lookup(sim_presence_defs[i].analytics), i);
    }
}

static void audit_columns_are_the_contract(void **state)
{
    static const char *const want[] = {
        "audit_id",    "event_wall_ns", "event_iso",    "agent",
        "service",     "entity_type",   "action",       "level",
        "status",      "user_id",       "user_name",    "client_id",
        "application", "properties",    "changes_json",
    };

    (void)state;
    assert_int_equal(evidence_n_audit_cols, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < evidence_n_audit_cols; i++)
        assert_string_equal(evidence_audit_cols[i], want[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(audit_status_gives_id_and_state),
        cmocka_unit_test(audit_status_refuses_non_objects_and_long_ids),
        cmocka_unit_test(audit_page_gives_every_field_and_the_cursor),
        cmocka_unit_test(audit_page_without_cursor_is_the_last),
        cmocka_unit_test(audit_wrong_types_are_skipped_and_counted),
        cmocka_unit_test(audit_malformed_bodies_are_parse_errors),
        cmocka_unit_test(user_details_become_transitions_inside_the_run),
        cmocka_unit_test(pages_merge_in_time_order_and_repeats_count_once),
        cmocka_unit_test(unusable_intervals_are_skipped_and_counted),
        cmocka_unit_test(analytics_malformed_bodies_add_nothing),
        cmocka_unit_test(presence_spellings_map_to_rest_names),
        cmocka_unit_test(presence_table_agrees_with_the_simulator),
        cmocka_unit_test(audit_columns_are_the_contract),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
