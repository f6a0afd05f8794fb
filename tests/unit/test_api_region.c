/* Region map and target resolution (genesys-api.md §1.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/region.h"
#include "support/capture.h"

/* The table of genesys-api.md §1.1, written out again on purpose: a typo in
 * either copy fails the test. */
static const struct {
    const char *key, *env;
} expected[] = {
    {"us_east_1", "mypurecloud.com"},
    {"eu_west_1", "mypurecloud.ie"},
    {"ap_southeast_2", "mypurecloud.com.au"},
    {"ap_northeast_1", "mypurecloud.jp"},
    {"eu_central_1", "mypurecloud.de"},
    {"us_west_2", "usw2.pure.cloud"},
    {"ca_central_1", "cac1.pure.cloud"},
    {"eu_central_2", "euc2.pure.cloud"},
    {"ap_southeast_1", "apse1.pure.cloud"},
    {"ap_northeast_2", "apne2.pure.cloud"},
    {"eu_west_2", "euw2.pure.cloud"},
    {"ap_south_1", "aps1.pure.cloud"},
    {"us_east_2", "use2.us-gov-pure.cloud"},
    {"sa_east_1", "sae1.pure.cloud"},
    {"me_central_1", "mec1.pure.cloud"},
    {"ap_northeast_3", "apne3.pure.cloud"},
    {"mx_central_1", "mxc1.pure.cloud"},
    {"eusc_de_east_1", "edee1.eusc-pure.cloud"},
};

#define N_EXPECTED (sizeof(expected) / sizeof(expected[0]))

static void every_region_key_resolves_to_its_hosts(void **state)
{
    (void)state;
    assert_int_equal(region_count(), N_EXPECTED);
    for (size_t i = 0; i < N_EXPECTED; i++) {
        struct region_target t;
        const struct region *r;
        char api[REGION_URL_MAX], login[REGION_URL_MAX];

        assert_int_equal(region_lookup(expected[i].key, &r), RT_OK);
        assert_string_equal(r->env, expected[i].env);
        assert_int_equal(region_resolve(expected[i].key, &t), RT_OK);
        snprintf(api, sizeof(api), "https://api.%s", expected[i].env);
        snprintf(login, sizeof(login), "https://login.%s", expected[i].env);
        assert_string_equal(t.api_url, api);
        assert_string_equal(t.login_url, login);
        assert_string_equal(t.key, expected[i].key);
        assert_int_equal(t.custom, 0);
        /* The table itself holds the same pairs. */
        assert_string_equal(region_at(i)->key, expected[i].key);
    }
    assert_null(region_at(N_EXPECTED));
}

static void every_region_domain_resolves_to_its_key(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_EXPECTED; i++) {
        struct region_target t;

        assert_int_equal(region_resolve(expected[i].env, &t), RT_OK);
        assert_string_equal(t.key, expected[i].key);
    }
}

static void domain_forms_like_set_environment_are_tolerated(void **state)
{
    static const char *const forms[] = {
        "usw2.pure.cloud",
        "https://usw2.pure.cloud",
        "http://usw2.pure.cloud",
        "api.usw2.pure.cloud",
        "login.usw2.pure.cloud",
        "https://api.usw2.pure.cloud",
        "https://api.usw2.pure.cloud/",
        "https://login.usw2.pure.cloud",
        "USW2.Pure.Cloud",
        "US_WEST_2",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct region_target t;

        assert_int_equal(region_resolve(forms[i], &t), RT_OK);
        assert_string_equal(t.key, "us_west_2");
        assert_string_equal(t.api_url, "https://api.usw2.pure.cloud");
        assert_string_equal(t.login_url, "https://login.usw2.pure.cloud");
    }
}

static void custom_url_sends_login_and_api_to_it(void **state)
{
    struct region_target t;

    (void)state;
    assert_int_equal(region_resolve("http://127.0.0.1:9000", &t), RT_OK);
    assert_int_equal(t.custom, 1);
    assert_string_equal(t.key, "");
    assert_string_equal(t.api_url, "http://127.0.0.1:9000");
    assert_string_equal(t.login_url, "http://127.0.0.1:9000");
    /* Trailing slashes go, a path prefix (a proxy) stays. */
    assert_int_equal(region_resolve("https://proxy.example/gc//", &t), RT_OK);
    assert_string_equal(t.api_url, "https://proxy.example/gc");
    assert_string_equal(t.login_url, "https://proxy.example/gc");
}

static void unknown_regions_and_bad_urls_are_refused(void **state)
{
    static const char *const bad[] = {
        "us_west_9",
        "usw9.pure.cloud",
        "",
        "sim",
        "ftp://127.0.0.1",
        "http://",
        "http:///path",
        "http://user:pw@host",
        "http://host/a b",
        "http://host/?q=1",
        "pure.cloud",
    };
    const struct region *r;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct region_target t;

        assert_int_equal(region_resolve(bad[i], &t), RT_EINVAL);
    }
    assert_int_equal(region_lookup("us_west_9", &r), RT_ENOENT);
    assert_int_equal(region_lookup(NULL, &r), RT_ENOENT);
}

static void unknown_region_error_lists_the_valid_keys(void **state)
{
    struct region_target t;
    char *log;

    (void)state;
    capture_stderr_begin();
    assert_int_equal(region_resolve("us-west-2x", &t), RT_EINVAL);
    log = capture_stderr_end();
    assert_non_null(strstr(log, "unknown region 'us-west-2x'"));
    for (size_t i = 0; i < N_EXPECTED; i++)
        assert_non_null(strstr(log, expected[i].key));
    free(log);
}

static void url_with_credentials_is_refused_without_echoing_them(void **state)
{
    struct region_target t;
    char *log;

    (void)state;
    capture_stderr_begin();
    assert_int_equal(region_resolve("https://bob:hunter2@proxy.example", &t),
                     RT_EINVAL);
    log = capture_stderr_end();
    assert_non_null(strstr(log, "user info"));
    assert_null(strstr(log, "hunter2"));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_region_key_resolves_to_its_hosts),
        cmocka_unit_test(every_region_domain_resolves_to_its_key),
        cmocka_unit_test(domain_forms_like_set_environment_are_tolerated),
        cmocka_unit_test(custom_url_sends_login_and_api_to_it),
        cmocka_unit_test(unknown_regions_and_bad_urls_are_refused),
        cmocka_unit_test(unknown_region_error_lists_the_valid_keys),
        cmocka_unit_test(url_with_credentials_is_refused_without_echoing_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
