/* Simulator tokens: issue, lookup, expiry and the per-token rate window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/clock.h"
#include "sim/tokens.h"

static void tokens_are_distinct_and_found(void **state)
{
    struct sim_tokens *t = sim_tokens_new(3600 * NS_PER_S, 0);
    char a[SIM_TOKEN_LEN], b[SIM_TOKEN_LEN];
    struct sim_token_info info;
    int64_t expires_in;

    (void)state;
    sim_tokens_issue(t, "client-a", a, &expires_in);
    sim_tokens_issue(t, "client-b", b, &expires_in);
    assert_int_equal(expires_in, 3600);
    assert_int_equal(strlen(a), SIM_TOKEN_LEN - 1);
    assert_string_not_equal(a, b);
    assert_int_equal(sim_tokens_check(t, b, &info), RT_OK);
    assert_string_equal(info.client_id, "client-b");
    assert_int_equal(info.seq, 2);
    assert_int_equal(sim_tokens_check(t, "deadbeef", &info), RT_ENOENT);
    b[0] = b[0] == 'a' ? 'b' : 'a';
    assert_int_equal(sim_tokens_check(t, b, &info), RT_ENOENT);
    sim_tokens_free(t);
}

static void expired_token_is_reported_as_expired(void **state)
{
    /* A zero lifetime is already over when checked. */
    struct sim_tokens *t = sim_tokens_new(0, 0);
    char a[SIM_TOKEN_LEN];
    struct sim_token_info info;
    int64_t expires_in;

    (void)state;
    sim_tokens_issue(t, "c", a, &expires_in);
    assert_int_equal(sim_tokens_check(t, a, &info), RT_EAUTH);
    assert_string_equal(info.client_id, "c");
    sim_tokens_free(t);
}

static void rate_window_limits_and_resets(void **state)
{
    struct sim_tokens *t = sim_tokens_new(3600 * NS_PER_S, 3);
    char a[SIM_TOKEN_LEN];
    struct sim_rate r;
    int64_t expires_in, t0 = 1000 * NS_PER_S;

    (void)state;
    sim_tokens_issue(t, "c", a, &expires_in);
    for (int k = 1; k <= 3; k++) {
        sim_tokens_rate(t, 1, t0 + k * NS_PER_MS, &r);
        assert_int_equal(r.count, k);
        assert_int_equal(r.allowed, 3);
        assert_false(r.limited);
    }
    /* The fourth request 20.5 s into the window is limited and told to
     * come back when the window resets: ceil(39.5 s) = 40 s. */
    sim_tokens_rate(t, 1, t0 + 20500 * NS_PER_MS, &r);
    assert_true(r.limited);
    assert_int_equal(r.reset_s, 40);
    /* Waiting exactly Retry-After lands in a fresh window. */
    sim_tokens_rate(t, 1, t0 + 20500 * NS_PER_MS + 40 * NS_PER_S, &r);
    assert_false(r.limited);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.reset_s, 60);
    sim_tokens_free(t);
}

static void unlimited_never_limits(void **state)
{
    struct sim_tokens *t = sim_tokens_new(3600 * NS_PER_S, 0);
    char a[SIM_TOKEN_LEN];
    struct sim_rate r;
    int64_t expires_in;

    (void)state;
    sim_tokens_issue(t, "c", a, &expires_in);
    for (int k = 0; k < 10000; k++)
        sim_tokens_rate(t, 1, NS_PER_S + k, &r);
    assert_false(r.limited);
    assert_int_equal(r.count, 10000);
    sim_tokens_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokens_are_distinct_and_found),
        cmocka_unit_test(expired_token_is_reported_as_expired),
        cmocka_unit_test(rate_window_limits_and_resets),
        cmocka_unit_test(unlimited_never_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
