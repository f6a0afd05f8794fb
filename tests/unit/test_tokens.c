/* Simulator tokens: issue, lookup, expiry, the per-token rate window, the
 * per-client token-request budget and the enumeration tests rely on. */
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

static void token_requests_get_a_burst_then_an_even_rate(void **state)
{
    struct sim_tokens *t = sim_tokens_new(3600 * NS_PER_S, 0);
    int64_t t0 = 1000 * NS_PER_S, wait;

    (void)state;
    /* 3 a minute: three at once, then one every 20 s. */
    for (int k = 0; k < 3; k++)
        assert_int_equal(sim_tokens_login(t, "a", 3, t0 + k), 0);
    wait = sim_tokens_login(t, "a", 3, t0 + 5 * NS_PER_S);
    /* The next one is due at t0 + 20 s: 15 s from now. */
    assert_int_equal(wait, 15);
    /* A refused request costs nothing: asking again does not push the
     * time out. */
    assert_int_equal(sim_tokens_login(t, "a", 3, t0 + 5 * NS_PER_S), 15);
    assert_int_equal(sim_tokens_login(t, "a", 3, t0 + 20 * NS_PER_S - 1), 1);
    assert_int_equal(sim_tokens_login(t, "a", 3, t0 + 20 * NS_PER_S), 0);
    /* Another client has its own budget. */
    for (int k = 0; k < 3; k++)
        assert_int_equal(sim_tokens_login(t, "b", 3, t0 + 20 * NS_PER_S), 0);
    assert_true(sim_tokens_login(t, "b", 3, t0 + 20 * NS_PER_S) > 0);
    /* After a quiet minute the whole burst is back. */
    for (int k = 0; k < 3; k++)
        assert_int_equal(sim_tokens_login(t, "a", 3, t0 + 100 * NS_PER_S), 0);
    /* No limit configured: never refused. */
    for (int k = 0; k < 1000; k++)
        assert_int_equal(sim_tokens_login(t, "c", 0, t0), 0);
    sim_tokens_free(t);
}

struct seen {
    int n;
    char tokens[4][SIM_TOKEN_LEN];
    int64_t seq[4];
};

static void collect(void *ctx, const char *token,
                    const struct sim_token_info *info)
{
    struct seen *s = ctx;

    if (s->n < 4) {
        memcpy(s->tokens[s->n], token, SIM_TOKEN_LEN);
        s->seq[s->n] = info->seq;
    }
    s->n++;
}

static void every_issued_token_can_be_enumerated(void **state)
{
    /* Expired at once: enumerated all the same. */
    struct sim_tokens *t = sim_tokens_new(0, 0);
    char a[SIM_TOKEN_LEN], b[SIM_TOKEN_LEN];
    struct seen s = {0};
    int64_t expires_in;

    (void)state;
    sim_tokens_each(t, collect, &s);
    assert_int_equal(s.n, 0);
    sim_tokens_issue(t, "c", a, &expires_in);
    sim_tokens_issue(t, "c", b, &expires_in);
    sim_tokens_each(t, collect, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.tokens[0], a);
    assert_string_equal(s.tokens[1], b);
    assert_int_equal(s.seq[0], 1);
    assert_int_equal(s.seq[1], 2);
    sim_tokens_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokens_are_distinct_and_found),
        cmocka_unit_test(expired_token_is_reported_as_expired),
        cmocka_unit_test(rate_window_limits_and_resets),
        cmocka_unit_test(unlimited_never_limits),
        cmocka_unit_test(token_requests_get_a_burst_then_an_even_rate),
        cmocka_unit_test(every_issued_token_can_be_enumerated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
