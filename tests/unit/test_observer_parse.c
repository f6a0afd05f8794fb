/* Observer response parsing and demand: listings and single users with
 * and without expands, malformed bodies, and the request rate a mode
 * costs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "harness/observer.h"

#define SEEN_MAX 8

struct seen {
    size_t n;
    char id[SEEN_MAX][64];
    int64_t version[SEEN_MAX];
    char presence[SEEN_MAX][32];
    int64_t presence_ns[SEEN_MAX];
    char routing[SEEN_MAX][32];
    int64_t routing_ns[SEEN_MAX];
};

/* Copy each user: the strings are only valid during the callback. */
static void collect(void *ctx, const struct observer_user *u)
{
    struct seen *s = ctx;
    size_t i = s->n++;

    assert_true(i < SEEN_MAX);
    snprintf(s->id[i], sizeof(s->id[i]), "%s", u->id);
    s->version[i] = u->version;
    snprintf(s->presence[i], sizeof(s->presence[i]), "%s",
             u->presence ? u->presence : "(null)");
    s->presence_ns[i] = u->presence_server_ns;
    snprintf(s->routing[i], sizeof(s->routing[i]), "%s",
             u->routing ? u->routing : "(null)");
    s->routing_ns[i] = u->routing_server_ns;
}

static enum rt_err listing(const char *body, struct seen *s, size_t *offset,
                           size_t *skipped)
{
    memset(s, 0, sizeof(*s));
    return observer_parse_listing(body, strlen(body), collect, s, offset,
                                  skipped);
}

static int64_t at(const char *iso)
{
    int64_t ns;

    assert_int_equal(iso8601_parse(iso, &ns), RT_OK);
    return ns;
}

static void listing_with_expands_gives_every_field(void **state)
{
    const char *body =
        "{\"entities\":["
        "{\"id\":\"u1\",\"name\":\"A\",\"version\":7,"
        "\"presence\":{\"presenceDefinition\":{\"id\":\"e08e\","
        "\"systemPresence\":\"On Queue\"},"
        "\"modifiedDate\":\"2026-03-02T09:00:00.250Z\"},"
        "\"routingStatus\":{\"userId\":\"u1\",\"status\":\"INTERACTING\","
        "\"startTime\":\"2026-03-02T09:00:01.5Z\"}},"
        "{\"id\":\"u2\",\"version\":1}"
        "],\"pageSize\":100,\"pageNumber\":1,\"total\":2}\n";
    struct seen s;
    size_t skipped = 9;

    (void)state;
    assert_int_equal(listing(body, &s, NULL, &skipped), RT_OK);
    assert_int_equal(skipped, 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.id[0], "u1");
    assert_int_equal(s.version[0], 7);
    assert_string_equal(s.presence[0], "On Queue");
    assert_int_equal(s.presence_ns[0], at("2026-03-02T09:00:00.250Z"));
    assert_string_equal(s.routing[0], "INTERACTING");
    assert_int_equal(s.routing_ns[0], at("2026-03-02T09:00:01.500Z"));
    /* Expands are best effort: absent means unknown, not empty. */
    assert_string_equal(s.id[1], "u2");
    assert_int_equal(s.version[1], 1);
    assert_string_equal(s.presence[1], "(null)");
    assert_int_equal(s.presence_ns[1], 0);
    assert_string_equal(s.routing[1], "(null)");
    assert_int_equal(s.routing_ns[1], 0);
}

static void odd_values_degrade_to_unknown(void **state)
{
    const char *body =
        "{\"entities\":["
        "{\"id\":\"a\",\"version\":1.5,"
        "\"presence\":{\"presenceDefinition\":{\"systemPresence\":7},"
        "\"modifiedDate\":\"2026-03-02T09:00:00Z\"},"
        "\"routingStatus\":{\"status\":\"IDLE\",\"startTime\":\"yesterday\"}},"
        "{\"id\":\"b\",\"version\":\"3\",\"presence\":\"Available\","
        "\"routingStatus\":null},"
        "{\"id\":\"c\",\"version\":-2,"
        "\"presence\":{\"presenceDefinition\":{\"systemPresence\":\"Away\"}}},"
        "{\"id\":\"d\",\"version\":1e300}"
        "]}";
    struct seen s;

    (void)state;
    assert_int_equal(listing(body, &s, NULL, NULL), RT_OK);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.version[0], -1);
    assert_string_equal(s.presence[0], "(null)");
    assert_string_equal(s.routing[0], "IDLE");
    assert_int_equal(s.routing_ns[0], 0);
    assert_int_equal(s.version[1], -1);
    assert_string_equal(s.presence[1], "(null)");
    assert_string_equal(s.routing[1], "(null)");
    assert_int_equal(s.version[2], -1);
    assert_string_equal(s.presence[2], "Away");
    assert_int_equal(s.presence_ns[2], 0);
    assert_int_equal(s.version[3], -1);
}

static void entities_without_an_id_are_skipped_and_counted(void **state)
{
    struct seen s;
    size_t skipped = 0;

    (void)state;
    assert_int_equal(listing("{\"entities\":[{\"version\":3},42,"
                             "{\"id\":5},{\"id\":\"ok\",\"version\":2}]}",
                             &s, NULL, &skipped),
                     RT_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.id[0], "ok");
    assert_int_equal(skipped, 3);
    assert_int_equal(listing("{\"entities\":[]}", &s, NULL, &skipped), RT_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(skipped, 0);
}

static void malformed_bodies_are_parse_errors_with_an_offset(void **state)
{
    struct seen s;
    size_t offset = 99;

    (void)state;
    assert_int_equal(
        listing("{\"entities\":[{\"id\":\"a\"},", &s, &offset, NULL),
        RT_EPARSE);
    assert_int_equal(s.n, 0);
    assert_true(offset > 0 && offset <= 25);
    assert_int_equal(listing("{\"entities\":5}", &s, &offset, NULL), RT_EPARSE);
    assert_int_equal(offset, 0);
    assert_int_equal(listing("[{\"id\":\"a\"}]", &s, &offset, NULL), RT_EPARSE);
    assert_int_equal(listing("", &s, &offset, NULL), RT_EPARSE);
    assert_int_equal(listing("<html>503</html>", &s, &offset, NULL), RT_EPARSE);
    /* A valid listing followed by more text is not a listing. */
    assert_int_equal(listing("{\"entities\":[]} {}", &s, &offset, NULL),
                     RT_EPARSE);
    assert_int_equal(offset, 16);
    assert_int_equal(listing("{\"entities\":[]} \r\n\t", &s, &offset, NULL),
                     RT_OK);
}

static void length_bounds_the_parse(void **state)
{
    /* Only the first @len bytes count: the rest is never read. */
    const char *body = "{\"entities\":[{\"id\":\"a\",\"version\":4}]}GARBAGE";
    struct seen s;

    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(
        observer_parse_listing(body, strlen(body) - 7, collect, &s, NULL, NULL),
        RT_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.version[0], 4);
}

static void single_user_parses_like_an_entity(void **state)
{
    const char *body =
        "{\"id\":\"u9\",\"version\":12,\"routingStatus\":"
        "{\"status\":\"OFF_QUEUE\",\"startTime\":\"2026-01-01T00:00:00Z\"}}";
    struct seen s;

    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(observer_parse_user(body, strlen(body), collect, &s, NULL),
                     RT_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.id[0], "u9");
    assert_int_equal(s.version[0], 12);
    assert_string_equal(s.routing[0], "OFF_QUEUE");
    assert_int_equal(s.routing_ns[0], at("2026-01-01T00:00:00Z"));
    memset(&s, 0, sizeof(s));
    assert_int_equal(
        observer_parse_user("{\"version\":12}", 14, collect, &s, NULL),
        RT_EPARSE);
    assert_int_equal(
        observer_parse_user("{\"message\":\"x\"", 14, collect, &s, NULL),
        RT_EPARSE);
    assert_int_equal(s.n, 0);
}

static void demand_counts_chunks_or_agents(void **state)
{
    int64_t ms200 = 200 * NS_PER_MS;

    (void)state;
    /* 250 agents are 3 bulk requests per interval: 3 * 300/min. */
    assert_true(fabs(observers_demand_per_min(SCN_OBSERVE_BULK, 250, ms200) -
                     900.0) < 1e-9);
    assert_true(fabs(observers_demand_per_min(SCN_OBSERVE_BULK, 100, ms200) -
                     300.0) < 1e-9);
    assert_true(fabs(observers_demand_per_min(SCN_OBSERVE_BULK, 101, NS_PER_S) -
                     120.0) < 1e-9);
    assert_true(fabs(observers_demand_per_min(SCN_OBSERVE_AGENT, 10, NS_PER_S) -
                     600.0) < 1e-9);
    assert_true(observers_demand_per_min(SCN_OBSERVE_AGENT, 0, ms200) == 0);
    assert_true(isinf(observers_demand_per_min(SCN_OBSERVE_BULK, 5, 0)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(listing_with_expands_gives_every_field),
        cmocka_unit_test(odd_values_degrade_to_unknown),
        cmocka_unit_test(entities_without_an_id_are_skipped_and_counted),
        cmocka_unit_test(malformed_bodies_are_parse_errors_with_an_offset),
        cmocka_unit_test(length_bounds_the_parse),
        cmocka_unit_test(single_user_parses_like_an_entity),
        cmocka_unit_test(demand_counts_chunks_or_agents),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
