/* Shared limiter: the pure core on a fake clock, then the blocking wrapper
 * with threads (no timing assertions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "api/ratelimit.h"
#include "base/clock.h"

#define T0 (1000 * NS_PER_S)

static void spaces_requests_by_the_interval(void **state)
{
    struct ratelimit *rl = ratelimit_new(60, 1); /* one a second */
    int64_t wait;

    (void)state;
    assert_true(ratelimit_try_acquire(rl, T0, &wait));
    assert_int_equal(wait, 0);
    assert_false(ratelimit_try_acquire(rl, T0, &wait));
    assert_int_equal(wait, NS_PER_S);
    assert_false(ratelimit_try_acquire(rl, T0 + NS_PER_S / 2, &wait));
    assert_int_equal(wait, NS_PER_S / 2);
    assert_true(ratelimit_try_acquire(rl, T0 + NS_PER_S, &wait));
    ratelimit_free(rl);
}

static void burst_goes_back_to_back_then_waits(void **state)
{
    struct ratelimit *rl = ratelimit_new(60, 3);
    int64_t wait;

    (void)state;
    for (int i = 0; i < 3; i++)
        assert_true(ratelimit_try_acquire(rl, T0, &wait));
    assert_false(ratelimit_try_acquire(rl, T0, &wait));
    assert_int_equal(wait, NS_PER_S);
    /* After a long idle spell the full burst is back, not more. */
    for (int i = 0; i < 3; i++)
        assert_true(ratelimit_try_acquire(rl, T0 + 3600 * NS_PER_S, &wait));
    assert_false(ratelimit_try_acquire(rl, T0 + 3600 * NS_PER_S, &wait));
    ratelimit_free(rl);
}

/* A greedy client that always comes back exactly when told. */
static int count_in_first_minute(int64_t per_minute, int64_t burst)
{
    struct ratelimit *rl = ratelimit_new(per_minute, burst);
    int64_t now = T0, wait;
    int n = 0;

    while (now < T0 + 60 * NS_PER_S) {
        if (ratelimit_try_acquire(rl, now, &wait))
            n++;
        else
            now += wait;
    }
    ratelimit_free(rl);
    return n;
}

static void never_exceeds_the_budget_in_a_minute(void **state)
{
    (void)state;
    assert_int_equal(count_in_first_minute(300, 1), 300);
    /* 60 s / 7 is not a whole number of nanoseconds: rounding must not
     * let an eighth through. */
    assert_int_equal(count_in_first_minute(7, 1), 7);
    assert_int_equal(count_in_first_minute(180, 10), 180 + 9);
}

static void unlimited_never_waits_but_backs_off(void **state)
{
    struct ratelimit *rl = ratelimit_new(0, 0);
    struct ratelimit_stats st;
    int64_t wait;

    (void)state;
    for (int i = 0; i < 10000; i++)
        assert_true(ratelimit_try_acquire(rl, T0, &wait));
    ratelimit_backoff(rl, T0 + 42 * NS_PER_S);
    assert_false(ratelimit_try_acquire(rl, T0 + NS_PER_S, &wait));
    assert_int_equal(wait, 41 * NS_PER_S);
    assert_true(ratelimit_try_acquire(rl, T0 + 42 * NS_PER_S, &wait));
    ratelimit_get_stats(rl, &st);
    assert_int_equal(st.acquired, 10001);
    assert_int_equal(st.backoffs, 1);
    ratelimit_free(rl);
}

static void later_backoff_wins_earlier_is_ignored(void **state)
{
    struct ratelimit *rl = ratelimit_new(60, 1);
    struct ratelimit_stats st;
    int64_t wait;

    (void)state;
    ratelimit_backoff(rl, T0 + 30 * NS_PER_S);
    ratelimit_backoff(rl, T0 + 10 * NS_PER_S); /* ignored */
    assert_false(ratelimit_try_acquire(rl, T0 + 20 * NS_PER_S, &wait));
    assert_int_equal(wait, 10 * NS_PER_S);
    ratelimit_backoff(rl, T0 + 50 * NS_PER_S);
    assert_false(ratelimit_try_acquire(rl, T0 + 30 * NS_PER_S, &wait));
    assert_int_equal(wait, 20 * NS_PER_S);
    ratelimit_get_stats(rl, &st);
    assert_int_equal(st.backoffs, 2);
    assert_int_equal(st.backoff_until_mono_ns, T0 + 50 * NS_PER_S);
    /* After the backoff the pace resumes at one a second. */
    assert_true(ratelimit_try_acquire(rl, T0 + 50 * NS_PER_S, &wait));
    assert_false(ratelimit_try_acquire(rl, T0 + 50 * NS_PER_S, &wait));
    assert_int_equal(wait, NS_PER_S);
    ratelimit_free(rl);
}

struct worker {
    struct ratelimit *rl;
    const atomic_bool *stop;
    int n;
    int ok;
    enum rt_err last;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < w->n; i++) {
        w->last = ratelimit_acquire(w->rl, w->stop);
        if (w->last == RT_OK)
            w->ok++;
    }
    return NULL;
}

static void threads_share_one_limiter(void **state)
{
    struct ratelimit *rl = ratelimit_new(0, 1);
    struct worker w[4];
    pthread_t t[4];
    struct ratelimit_stats st;

    (void)state;
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.rl = rl, .n = 500};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, 500);
    }
    ratelimit_get_stats(rl, &st);
    assert_int_equal(st.acquired, 2000);
    assert_int_equal(st.waiting, 0);
    ratelimit_free(rl);
}

/* Wait (yielding, not sleeping) until @n threads block in the limiter. */
static void wait_for_waiters(struct ratelimit *rl, int n)
{
    struct ratelimit_stats st;

    for (;;) {
        ratelimit_get_stats(rl, &st);
        if (st.waiting >= n)
            return;
        sched_yield();
    }
}

static void stop_wakes_a_thread_blocked_in_a_backoff(void **state)
{
    struct ratelimit *rl = ratelimit_new(60, 1);
    struct worker w = {.n = 1};
    struct ratelimit_stats st;
    pthread_t t;

    (void)state;
    w.rl = rl;
    ratelimit_backoff(rl, clock_mono_ns() + 3600 * NS_PER_S);
    assert_int_equal(pthread_create(&t, NULL, worker_main, &w), 0);
    wait_for_waiters(rl, 1);
    ratelimit_stop(rl);
    pthread_join(t, NULL);
    assert_int_equal(w.last, RT_EINTR);
    assert_int_equal(w.ok, 0);
    /* Later acquires fail at once. */
    assert_int_equal(ratelimit_acquire(rl, NULL), RT_EINTR);
    ratelimit_get_stats(rl, &st);
    assert_int_equal(st.waited, 1);
    assert_int_equal(st.waiting, 0);
    ratelimit_free(rl);
}

static void external_stop_flag_is_seen_while_blocked(void **state)
{
    struct ratelimit *rl = ratelimit_new(60, 1);
    atomic_bool stop = false;
    struct worker w = {.n = 1};
    pthread_t t;

    (void)state;
    w.rl = rl;
    w.stop = &stop;
    ratelimit_backoff(rl, clock_mono_ns() + 3600 * NS_PER_S);
    assert_int_equal(pthread_create(&t, NULL, worker_main, &w), 0);
    wait_for_waiters(rl, 1);
    atomic_store(&stop, true);
    pthread_join(t, NULL);
    assert_int_equal(w.last, RT_EINTR);
    ratelimit_free(rl);
}

static void blocking_acquire_returns_when_the_permit_is_due(void **state)
{
    /* 60000/min is one per millisecond: the second acquire waits about a
     * millisecond on the real clock and must then succeed. */
    struct ratelimit *rl = ratelimit_new(60000, 1);
    struct ratelimit_stats st;

    (void)state;
    assert_int_equal(ratelimit_acquire(rl, NULL), RT_OK);
    assert_int_equal(ratelimit_acquire(rl, NULL), RT_OK);
    ratelimit_get_stats(rl, &st);
    assert_int_equal(st.acquired, 2);
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spaces_requests_by_the_interval),
        cmocka_unit_test(burst_goes_back_to_back_then_waits),
        cmocka_unit_test(never_exceeds_the_budget_in_a_minute),
        cmocka_unit_test(unlimited_never_waits_but_backs_off),
        cmocka_unit_test(later_backoff_wins_earlier_is_ignored),
        cmocka_unit_test(threads_share_one_limiter),
        cmocka_unit_test(stop_wakes_a_thread_blocked_in_a_backoff),
        cmocka_unit_test(external_stop_flag_is_seen_while_blocked),
        cmocka_unit_test(blocking_acquire_returns_when_the_permit_is_due),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
