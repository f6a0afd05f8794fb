/*
 * The replayer's retry timing as pure functions: replay_backoff_ns() for
 * every backoff and jitter kind (bounds over many draws, the cap, the
 * exponential growth, determinism for a seed) and replay_throttle_wait()
 * for Retry-After against a fake receive time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/rng.h"
#include "harness/replay.h"

#define DRAWS 2000

static struct scn_retry retry_of(enum scn_backoff backoff,
                                 enum scn_jitter jitter)
{
    struct scn_retry r;

    memset(&r, 0, sizeof(r));
    r.max_attempts = 5;
    r.backoff = backoff;
    r.jitter = jitter;
    r.base_ns = 100 * NS_PER_MS;
    r.cap_ns = 5 * NS_PER_S;
    r.give_up_retry_after_ns = 180 * NS_PER_S;
    return r;
}

/* Every draw of @r at @attempt lies in [lo, hi]; the draws are not all
 * equal when @spread (a jitter that never varies would be a bug). */
static void assert_draws_within(const struct scn_retry *r, int attempt,
                                int64_t prev, int64_t lo, int64_t hi,
                                int spread)
{
    struct rng rng;
    int64_t min = INT64_MAX, max = INT64_MIN;

    rng_seed(&rng, 42, 1);
    for (int i = 0; i < DRAWS; i++) {
        int64_t d = replay_backoff_ns(r, attempt, prev, &rng);
        if (d < lo || d > hi)
            fail_msg("attempt %d draw %d: %lld outside [%lld, %lld]", attempt,
                     i, (long long)d, (long long)lo, (long long)hi);
        min = d < min ? d : min;
        max = d > max ? d : max;
    }
    if (spread && max - min < (hi - lo) / 2)
        fail_msg("attempt %d: draws span only [%lld, %lld] of [%lld, %lld]",
                 attempt, (long long)min, (long long)max, (long long)lo,
                 (long long)hi);
}

static void backoff_none_never_waits(void **state)
{
    struct rng rng;

    (void)state;
    rng_seed(&rng, 1, 1);
    for (int j = SCN_JITTER_NONE; j <= SCN_JITTER_DECORRELATED; j++) {
        struct scn_retry r = retry_of(SCN_BACKOFF_NONE, (enum scn_jitter)j);
        for (int k = 0; k < 10; k++)
            assert_int_equal(replay_backoff_ns(&r, k, NS_PER_S, &rng), 0);
    }
}

static void fixed_backoff_is_base_every_time(void **state)
{
    struct scn_retry r = retry_of(SCN_BACKOFF_FIXED, SCN_JITTER_NONE);
    struct rng rng;

    (void)state;
    rng_seed(&rng, 1, 1);
    for (int k = 0; k < 20; k++)
        assert_int_equal(replay_backoff_ns(&r, k, 0, &rng), r.base_ns);
}

static void exponential_doubles_up_to_the_cap(void **state)
{
    struct scn_retry r = retry_of(SCN_BACKOFF_EXPONENTIAL, SCN_JITTER_NONE);
    struct rng rng;
    /* 100ms x 2^k: 100, 200, 400, 800, 1600, 3200, then the 5 s cap. */
    static const int64_t want_ms[] = {100,  200,  400,  800,
                                      1600, 3200, 5000, 5000};

    (void)state;
    rng_seed(&rng, 1, 1);
    for (int k = 0; k < (int)(sizeof(want_ms) / sizeof(want_ms[0])); k++)
        assert_int_equal(replay_backoff_ns(&r, k, 0, &rng),
                         want_ms[k] * NS_PER_MS);
    /* Far past 2^63: still the cap, no overflow. */
    assert_int_equal(replay_backoff_ns(&r, 100, 0, &rng), r.cap_ns);
    assert_int_equal(replay_backoff_ns(&r, 1000000, 0, &rng), r.cap_ns);
}

static void full_jitter_stays_between_zero_and_the_backoff(void **state)
{
    struct scn_retry r = retry_of(SCN_BACKOFF_EXPONENTIAL, SCN_JITTER_FULL);

    (void)state;
    assert_draws_within(&r, 0, 0, 0, 100 * NS_PER_MS, 1);
    assert_draws_within(&r, 3, 0, 0, 800 * NS_PER_MS, 1);
    assert_draws_within(&r, 30, 0, 0, r.cap_ns, 1);
}

static void equal_jitter_keeps_at_least_half(void **state)
{
    struct scn_retry r = retry_of(SCN_BACKOFF_EXPONENTIAL, SCN_JITTER_EQUAL);

    (void)state;
    assert_draws_within(&r, 0, 0, 50 * NS_PER_MS, 100 * NS_PER_MS, 1);
    assert_draws_within(&r, 2, 0, 200 * NS_PER_MS, 400 * NS_PER_MS, 1);
    assert_draws_within(&r, 40, 0, r.cap_ns / 2, r.cap_ns, 1);
}

static void decorrelated_jitter_grows_from_the_previous_sleep(void **state)
{
    struct scn_retry r =
        retry_of(SCN_BACKOFF_EXPONENTIAL, SCN_JITTER_DECORRELATED);
    struct rng rng;
    int64_t prev = 0;

    (void)state;
    /* No previous sleep: U(base, 3 x base). */
    assert_draws_within(&r, 0, 0, r.base_ns, 3 * r.base_ns, 1);
    /* U(base, 3 x prev), the attempt number does not matter. */
    assert_draws_within(&r, 7, 400 * NS_PER_MS, r.base_ns, 1200 * NS_PER_MS, 1);
    /* Capped: 3 x 4 s = 12 s > 5 s. */
    assert_draws_within(&r, 1, 4 * NS_PER_S, r.base_ns, r.cap_ns, 0);
    /* A chain fed its own sleeps stays within [base, cap]. */
    rng_seed(&rng, 9, 9);
    for (int k = 0; k < 200; k++) {
        prev = replay_backoff_ns(&r, k, prev, &rng);
        assert_in_range(prev, r.base_ns, r.cap_ns);
    }
}

static void the_same_seed_gives_the_same_sleeps(void **state)
{
    struct scn_retry r = retry_of(SCN_BACKOFF_EXPONENTIAL, SCN_JITTER_FULL);
    struct rng a, b, c;
    int differ = 0;

    (void)state;
    rng_seed(&a, 1234, 7);
    rng_seed(&b, 1234, 7);
    rng_seed(&c, 1235, 7);
    for (int k = 0; k < 50; k++) {
        int64_t x = replay_backoff_ns(&r, k % 8, 0, &a);
        int64_t y = replay_backoff_ns(&r, k % 8, 0, &b);
        int64_t z = replay_backoff_ns(&r, k % 8, 0, &c);
        assert_int_equal(x, y);
        differ += x != z;
    }
    assert_true(differ > 0);
}

static void retry_after_waits_from_the_response(void **state)
{
    struct scn_retry r = retry_of(SCN_BACKOFF_EXPONENTIAL, SCN_JITTER_FULL);
    int64_t recv = 1000 * NS_PER_S, until = -1;

    (void)state;
    assert_int_equal(replay_throttle_wait(&r, 5, recv, &until), 0);
    assert_int_equal(until, recv + 5 * NS_PER_S);
    assert_int_equal(replay_throttle_wait(&r, 0, recv, &until), 0);
    assert_int_equal(until, recv);
    /* No Retry-After: the .NET SDK's 3 s default. */
    assert_int_equal(replay_throttle_wait(&r, -1, recv, &until), 0);
    assert_int_equal(until, recv + REPLAY_RETRY_AFTER_DEFAULT_NS);
    /* Exactly the limit still waits; one second more gives up. */
    assert_int_equal(replay_throttle_wait(&r, 180, recv, &until), 0);
    assert_int_equal(until, recv + 180 * NS_PER_S);
    until = -7;
    assert_int_equal(replay_throttle_wait(&r, 181, recv, &until), 1);
    assert_int_equal(until, -7);
    assert_int_equal(replay_throttle_wait(&r, INT64_MAX, recv, &until), 1);
}

static void a_lower_give_up_limit_gives_up_sooner(void **state)
{
    struct scn_retry r = retry_of(SCN_BACKOFF_FIXED, SCN_JITTER_NONE);
    int64_t until = 0;

    (void)state;
    r.give_up_retry_after_ns = NS_PER_S;
    assert_int_equal(replay_throttle_wait(&r, 1, 0, &until), 0);
    assert_int_equal(until, NS_PER_S);
    assert_int_equal(replay_throttle_wait(&r, 2, 0, &until), 1);
    /* The 3 s default is above a 1 s limit too. */
    assert_int_equal(replay_throttle_wait(&r, -1, 0, &until), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_none_never_waits),
        cmocka_unit_test(fixed_backoff_is_base_every_time),
        cmocka_unit_test(exponential_doubles_up_to_the_cap),
        cmocka_unit_test(full_jitter_stays_between_zero_and_the_backoff),
        cmocka_unit_test(equal_jitter_keeps_at_least_half),
        cmocka_unit_test(decorrelated_jitter_grows_from_the_previous_sleep),
        cmocka_unit_test(the_same_seed_gives_the_same_sleeps),
        cmocka_unit_test(retry_after_waits_from_the_response),
        cmocka_unit_test(a_lower_give_up_limit_gives_up_sooner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
