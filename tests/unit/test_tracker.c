/* Change tracking: brackets, hidden bumps, stale replicas, best-effort
 * expands, and the observations.csv rows they become. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/history.h"
#include "harness/tracker.h"

static struct tracker_sample at(int64_t send, int64_t recv, int64_t version,
                                const char *presence, const char *routing)
{
    struct tracker_sample s = {
        .version = version,
        .presence = presence,
        .routing = routing,
        .send_wall_ns = send,
        .recv_wall_ns = recv,
        .request_seq = send,
    };
    return s;
}

static void version_jump_records_bracket_and_hidden_bumps(void **state)
{
    char dir[] = "/tmp/rt-tracker-XXXXXX", path[300], line[1024];
    char *ids[] = {"agent-a", "agent-b"};
    struct history *h;
    struct tracker *t;
    struct tracker_sample s;
    struct tracker_stats st;
    FILE *f;
    int rows = 0, found_version = 0, found_routing = 0;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(history_open(&h, dir), RT_OK);
    t = tracker_new(ids, 2, h, "poll");
    s = at(100, 110, 3, "On Queue", "IDLE");
    tracker_sample(t, 0, &s);
    s = at(200, 210, 3, "On Queue", "IDLE");
    tracker_sample(t, 0, &s);
    /* Version 3 -> 6: one change observed, two bumps hidden between. */
    s = at(300, 320, 6, "On Queue", "INTERACTING");
    tracker_sample(t, 0, &s);
    /* A stale replica answering 5 is not a change. */
    s = at(400, 410, 5, NULL, NULL);
    tracker_sample(t, 0, &s);
    assert_int_equal(tracker_version(t, 0), 6);
    tracker_stats(t, &st);
    assert_int_equal(st.samples, 4);
    assert_int_equal(st.version_changes, 1);
    assert_int_equal(st.hidden_bumps, 2);
    assert_int_equal(st.routing_changes, 1);
    assert_int_equal(st.presence_changes, 0);
    tracker_free(t);
    assert_int_equal(history_close(h), RT_OK);

    snprintf(path, sizeof(path), "%s/observations.csv", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        rows++;
        /* agent,property,old,new,bracket_start,bracket_end,... */
        if (!strncmp(line, "agent-a,version,3,6,200,320,", 28))
            found_version = strstr(line, ",poll,300,2\n") != NULL;
        if (!strncmp(line, "agent-a,routing_status,IDLE,INTERACTING,200,320,",
                     48))
            found_routing = 1;
    }
    fclose(f);
    assert_int_equal(rows, 3);
    assert_true(found_version);
    assert_true(found_routing);
}

static void first_sample_and_missing_expands_are_not_changes(void **state)
{
    char *ids[] = {"x"};
    struct tracker *t = tracker_new(ids, 1, NULL, "poll");
    struct tracker_sample s;
    struct tracker_stats st;

    (void)state;
    s = at(1, 2, 1, "Available", "OFF_QUEUE");
    tracker_sample(t, 0, &s);
    s = at(3, 4, 1, NULL, NULL); /* expand not returned */
    tracker_sample(t, 0, &s);
    s = at(5, 6, 1, "Available", "OFF_QUEUE");
    tracker_sample(t, 0, &s);
    s = at(7, 8, 2, "Busy", "OFF_QUEUE");
    tracker_sample(t, 0, &s);
    tracker_stats(t, &st);
    assert_int_equal(st.version_changes, 1);
    assert_int_equal(st.hidden_bumps, 0);
    assert_int_equal(st.presence_changes, 1);
    assert_int_equal(st.routing_changes, 0);
    tracker_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_jump_records_bracket_and_hidden_bumps),
        cmocka_unit_test(first_sample_and_missing_expands_are_not_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
