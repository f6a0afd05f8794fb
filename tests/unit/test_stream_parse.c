/* Notification frame parsing (harness/stream): the envelopes of
 * genesys-api.md §4 (presence, routingStatus and activity events, the
 * heartbeat, the pong, socket_closing), presence spellings, and malformed
 * input that must be reported, never crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "harness/stream.h"

#define UUID "4d1b2a1c-9a0e-4c42-9a4f-2b1c6d8e0f11"

static enum rt_err parse(const char *text, struct stream_frame *f)
{
    return stream_parse_frame(text, strlen(text), f);
}

static int64_t iso(const char *s)
{
    int64_t ns = 0;

    assert_int_equal(iso8601_parse(s, &ns), RT_OK);
    return ns;
}

static void presence_event_gives_agent_value_and_server_time(void **state)
{
    struct stream_frame f;

    (void)state;
    assert_int_equal(
        parse("{\"topicName\":\"v2.users." UUID ".presence\",\"version\":\"2\","
              "\"eventBody\":{\"source\":\"PURECLOUD\",\"presenceDefinition\":"
              "{\"id\":\"e08eaf1b-ee47-4fa9-a231-1200e284798f\","
              "\"systemPresence\":\"On Queue\"},\"primary\":true,"
              "\"message\":\"\",\"modifiedDate\":\"2026-11-24T16:00:55.123Z\"},"
              "\"metadata\":{\"CorrelationId\":\"c0ffee\"}}",
              &f),
        RT_OK);
    assert_int_equal(f.kind, STREAM_FRAME_PRESENCE);
    assert_string_equal(f.agent, UUID);
    assert_string_equal(f.presence, "On Queue");
    assert_int_equal(f.presence_server_ns, iso("2026-11-24T16:00:55.123Z"));
    assert_string_equal(f.routing, "");
    assert_int_equal(f.routing_server_ns, 0);
}

static void routing_event_gives_status_and_start_time(void **state)
{
    struct stream_frame f;

    (void)state;
    assert_int_equal(parse("{\"topicName\":\"v2.users." UUID ".routingStatus\","
                           "\"version\":\"2\",\"eventBody\":{\"id\":\"" UUID
                           "\","
                           "\"routingStatus\":{\"status\":\"INTERACTING\","
                           "\"startTime\":\"2026-11-24T16:00:56.5+01:00\"}},"
                           "\"metadata\":{\"CorrelationId\":\"x\"}}",
                           &f),
                     RT_OK);
    assert_int_equal(f.kind, STREAM_FRAME_ROUTING);
    assert_string_equal(f.agent, UUID);
    assert_string_equal(f.routing, "INTERACTING");
    assert_int_equal(f.routing_server_ns, iso("2026-11-24T15:00:56.500Z"));
    assert_string_equal(f.presence, "");
}

static void activity_event_gives_both(void **state)
{
    struct stream_frame f;

    (void)state;
    assert_int_equal(
        parse("{\"topicName\":\"v2.users." UUID ".activity\",\"eventBody\":{"
              "\"id\":\"" UUID "\",\"routingStatus\":{\"status\":\"IDLE\","
              "\"startTime\":\"2026-11-24T16:00:00Z\"},\"presence\":{"
              "\"presenceDefinition\":{\"id\":\"x\",\"systemPresence\":"
              "\"ON_QUEUE\"},\"presenceMessage\":\"\",\"modifiedDate\":"
              "\"2026-11-24T15:59:00Z\"},\"activeQueueIds\":[]}}",
              &f),
        RT_OK);
    assert_int_equal(f.kind, STREAM_FRAME_ACTIVITY);
    assert_string_equal(f.presence, "On Queue");
    assert_int_equal(f.presence_server_ns, iso("2026-11-24T15:59:00Z"));
    assert_string_equal(f.routing, "IDLE");
    assert_int_equal(f.routing_server_ns, iso("2026-11-24T16:00:00Z"));
}

static void control_messages_are_recognised(void **state)
{
    struct stream_frame f;

    (void)state;
    assert_int_equal(parse("{\"topicName\":\"channel.metadata\",\"eventBody\":"
                           "{\"message\":\"WebSocket Heartbeat\"}}",
                           &f),
                     RT_OK);
    assert_int_equal(f.kind, STREAM_FRAME_HEARTBEAT);
    assert_int_equal(parse("{\"topicName\":\"channel.metadata\",\"eventBody\":"
                           "{\"message\":\"pong\"}}",
                           &f),
                     RT_OK);
    assert_int_equal(f.kind, STREAM_FRAME_PONG);
    assert_int_equal(
        parse("{\"topicName\":\"v2.system.socket_closing\",\"eventBody\":{"
              "\"channelId\":\"streaming-0-x\",\"systemTopicType\":"
              "\"socket_closing\",\"reason\":\"maintenance\"}}",
              &f),
        RT_OK);
    assert_int_equal(f.kind, STREAM_FRAME_CLOSING);
    assert_string_equal(f.agent, "");
    /* Other topics and metadata are well formed, just not ours. */
    assert_int_equal(parse("{\"topicName\":\"v2.users." UUID ".conversations\","
                           "\"eventBody\":{}}",
                           &f),
                     RT_OK);
    assert_int_equal(f.kind, STREAM_FRAME_OTHER);
    assert_int_equal(parse("{\"topicName\":\"channel.metadata\",\"eventBody\":"
                           "{\"message\":\"something new\"}}",
                           &f),
                     RT_OK);
    assert_int_equal(f.kind, STREAM_FRAME_OTHER);
    assert_int_equal(parse("{\"topicName\":\"v2.routing.queues.q.users\","
                           "\"eventBody\":{}}",
                           &f),
                     RT_OK);
    assert_int_equal(f.kind, STREAM_FRAME_OTHER);
}

static void presence_spellings_become_the_rest_one(void **state)
{
    (void)state;
    assert_string_equal(stream_presence_name("ON_QUEUE"), "On Queue");
    assert_string_equal(stream_presence_name("OnQueue"), "On Queue");
    assert_string_equal(stream_presence_name("on queue"), "On Queue");
    assert_string_equal(stream_presence_name("AVAILABLE"), "Available");
    assert_string_equal(stream_presence_name("Break"), "Break");
    /* Unknown ones are kept as sent. */
    assert_string_equal(stream_presence_name("Lunch Break"), "Lunch Break");
    assert_string_equal(stream_presence_name(""), "");
}

static void bad_server_times_are_zero_not_errors(void **state)
{
    struct stream_frame f;

    (void)state;
    assert_int_equal(
        parse("{\"topicName\":\"v2.users.a.presence\",\"eventBody\":{"
              "\"presenceDefinition\":{\"systemPresence\":\"Away\"},"
              "\"modifiedDate\":\"yesterday\"}}",
              &f),
        RT_OK);
    assert_string_equal(f.agent, "a");
    assert_string_equal(f.presence, "Away");
    assert_int_equal(f.presence_server_ns, 0);
    assert_int_equal(
        parse("{\"topicName\":\"v2.users.a.routingStatus\",\"eventBody\":{"
              "\"routingStatus\":{\"status\":\"IDLE\",\"startTime\":5}}}",
              &f),
        RT_OK);
    assert_int_equal(f.routing_server_ns, 0);
}

static void malformed_frames_are_reported(void **state)
{
    static const char *const bad[] = {
        "",
        "not json",
        "{\"topicName\":",
        "[]",
        "\"v2.users.a.presence\"",
        "{}",
        "{\"topicName\":5}",
        "{\"topicName\":\"channel.metadata\"} trailing",
        /* No user id. */
        "{\"topicName\":\"v2.users..presence\",\"eventBody\":{"
        "\"presenceDefinition\":{\"systemPresence\":\"Away\"}}}",
        "{\"topicName\":\"v2.users.presence\",\"eventBody\":{}}",
        /* A combined name is a subscription, never an event's topic. */
        "{\"topicName\":\"v2.users.a?presence.presence\",\"eventBody\":{"
        "\"presenceDefinition\":{\"systemPresence\":\"Away\"}}}",
        /* Bodies without the value. */
        "{\"topicName\":\"v2.users.a.presence\",\"eventBody\":{}}",
        "{\"topicName\":\"v2.users.a.presence\",\"eventBody\":{"
        "\"presenceDefinition\":{\"systemPresence\":7}}}",
        "{\"topicName\":\"v2.users.a.presence\",\"eventBody\":\"x\"}",
        "{\"topicName\":\"v2.users.a.routingStatus\",\"eventBody\":{"
        "\"routingStatus\":{}}}",
        "{\"topicName\":\"v2.users.a.routingStatus\"}",
        /* Empty values are none. */
        "{\"topicName\":\"v2.users.a.presence\",\"eventBody\":{"
        "\"presenceDefinition\":{\"systemPresence\":\"\"}}}",
        "{\"topicName\":\"v2.users.a.routingStatus\",\"eventBody\":{"
        "\"routingStatus\":{\"status\":\"\"}}}",
        "{\"topicName\":\"v2.users.a.activity\",\"eventBody\":{}}",
    };
    struct stream_frame f;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&f, 0x5a, sizeof(f));
        if (parse(bad[i], &f) != RT_EPARSE)
            fail_msg("accepted %s", bad[i]);
        assert_int_equal(f.kind, STREAM_FRAME_MALFORMED);
        assert_string_equal(f.agent, "");
    }
}

static void long_ids_and_values_are_bounded(void **state)
{
    char text[1024], id[STREAM_AGENT_ID_MAX + 8], value[200];
    struct stream_frame f;

    (void)state;
    memset(id, 'a', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    snprintf(text, sizeof(text),
             "{\"topicName\":\"v2.users.%s.presence\",\"eventBody\":{"
             "\"presenceDefinition\":{\"systemPresence\":\"Away\"}}}",
             id);
    assert_int_equal(parse(text, &f), RT_EPARSE);
    /* The longest id that fits is kept whole. */
    id[STREAM_AGENT_ID_MAX - 1] = '\0';
    snprintf(text, sizeof(text),
             "{\"topicName\":\"v2.users.%s.presence\",\"eventBody\":{"
             "\"presenceDefinition\":{\"systemPresence\":\"Away\"}}}",
             id);
    assert_int_equal(parse(text, &f), RT_OK);
    assert_string_equal(f.agent, id);
    /* A long presence is cut, never overflowed. */
    memset(value, 'x', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    snprintf(text, sizeof(text),
             "{\"topicName\":\"v2.users.a.presence\",\"eventBody\":{"
             "\"presenceDefinition\":{\"systemPresence\":\"%s\"}}}",
             value);
    assert_int_equal(parse(text, &f), RT_OK);
    assert_int_equal(strlen(f.presence), STREAM_VALUE_MAX - 1);
}

static void input_need_not_be_terminated(void **state)
{
    static const char text[] =
        "{\"topicName\":\"v2.users.b.routingStatus\",\"eventBody\":{"
        "\"routingStatus\":{\"status\":\"IDLE\"}}}";
    char *copy = malloc(sizeof(text) - 1);
    struct stream_frame f;

    (void)state;
    memcpy(copy, text, sizeof(text) - 1);
    assert_int_equal(stream_parse_frame(copy, sizeof(text) - 1, &f), RT_OK);
    assert_string_equal(f.agent, "b");
    /* Cut anywhere, it is no longer a message. */
    for (size_t n = 0; n + 1 < sizeof(text) - 1; n++)
        assert_int_equal(stream_parse_frame(copy, n, &f), RT_EPARSE);
    free(copy);
    assert_int_equal(stream_parse_frame(NULL, 0, &f), RT_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(presence_event_gives_agent_value_and_server_time),
        cmocka_unit_test(routing_event_gives_status_and_start_time),
        cmocka_unit_test(activity_event_gives_both),
        cmocka_unit_test(control_messages_are_recognised),
        cmocka_unit_test(presence_spellings_become_the_rest_one),
        cmocka_unit_test(bad_server_times_are_zero_not_errors),
        cmocka_unit_test(malformed_frames_are_reported),
        cmocka_unit_test(long_ids_and_values_are_bounded),
        cmocka_unit_test(input_need_not_be_terminated),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
