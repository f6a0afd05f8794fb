/*
 * What the replayer writes: every toggle changes the value and two
 * toggles give it back (so an even number of operations restores an
 * agent), and template bodies get their "{version}" and "{id}" strings
 * replaced, exactly and only those.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "harness/replay.h"

static void department_toggle_is_an_involution(void **state)
{
    static const char *const cases[] = {"Contact Center", "",
                                        "(racetrace)",    "Sales (racetrace)",
                                        "racetrace",      " (racetrace)x"};

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *once = replay_toggle_department(cases[i]);
        char *twice = replay_toggle_department(once);
        if (!strcmp(once, cases[i]))
            fail_msg("toggle left '%s' unchanged", cases[i]);
        assert_string_equal(twice, cases[i]);
        free(once);
        free(twice);
    }
}

static void department_gains_and_loses_the_suffix(void **state)
{
    char *a = replay_toggle_department("Contact Center");
    char *b = replay_toggle_department("Contact Center (racetrace)");
    char *c = replay_toggle_department(NULL);

    (void)state;
    assert_string_equal(a, "Contact Center (racetrace)");
    assert_string_equal(b, "Contact Center");
    assert_string_equal(c, "(racetrace)");
    free(a);
    free(b);
    free(c);
}

static void capacity_toggles_in_pairs(void **state)
{
    (void)state;
    assert_int_equal(replay_toggle_capacity(1), 2);
    assert_int_equal(replay_toggle_capacity(2), 1);
    assert_int_equal(replay_toggle_capacity(3), 4);
    assert_int_equal(replay_toggle_capacity(4), 3);
    assert_int_equal(replay_toggle_capacity(0), 1);
    for (int64_t c = 1; c <= 24; c++)
        assert_int_equal(replay_toggle_capacity(replay_toggle_capacity(c)), c);
}

static void proficiency_toggles_within_zero_to_five(void **state)
{
    (void)state;
    for (int p = 0; p <= 5; p++) {
        double once = replay_toggle_proficiency(p);
        assert_true(once >= 0.0 && once <= 5.0);
        assert_true(once == p + 1 || once == p - 1);
        assert_true(replay_toggle_proficiency(once) == (double)p);
    }
    assert_true(replay_toggle_proficiency(0) == 1.0);
    assert_true(replay_toggle_proficiency(5) == 4.0);
    /* A fractional value near the top stays in range. */
    assert_true(replay_toggle_proficiency(4.5) == 3.5);
}

static cJSON *parse(const char *text)
{
    cJSON *o = cJSON_Parse(text);

    assert_non_null(o);
    return o;
}

static void template_body_replaces_exact_placeholders(void **state)
{
    cJSON *tmpl = parse("{\"version\":\"{version}\",\"id\":\"{id}\","
                        "\"name\":\"v{version}\",\"n\":3,\"ok\":true,"
                        "\"nested\":{\"list\":[\"{version}\",\"{id}\","
                        "{\"deep\":\"{id}\"},null]},\"{id}\":\"key\"}");
    cJSON *want = parse("{\"version\":41,\"id\":\"u-1\",\"name\":"
                        "\"v{version}\",\"n\":3,\"ok\":true,\"nested\":"
                        "{\"list\":[41,\"u-1\",{\"deep\":\"u-1\"},null]},"
                        "\"{id}\":\"key\"}");
    cJSON *got = replay_template_body(tmpl, 41, "u-1");
    char *got_text = cJSON_PrintUnformatted(got);
    /* Compared as sent: the version is a raw item, printed verbatim. */
    cJSON *reparsed = parse(got_text);

    (void)state;
    if (!cJSON_Compare(reparsed, want, 1))
        fail_msg("got %s", got_text);
    free(got_text);
    cJSON_Delete(reparsed);
    /* The template itself is untouched. */
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(tmpl, "version")->valuestring,
        "{version}");
    cJSON_Delete(tmpl);
    cJSON_Delete(want);
    cJSON_Delete(got);
}

static void template_version_is_a_json_number(void **state)
{
    cJSON *tmpl = parse("{\"version\":\"{version}\"}");
    cJSON *got = replay_template_body(tmpl, 9007199254740991LL, "x");
    char *text = cJSON_PrintUnformatted(got);

    (void)state;
    assert_string_equal(text, "{\"version\":9007199254740991}");
    free(text);
    cJSON_Delete(tmpl);
    cJSON_Delete(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(department_toggle_is_an_involution),
        cmocka_unit_test(department_gains_and_loses_the_suffix),
        cmocka_unit_test(capacity_toggles_in_pairs),
        cmocka_unit_test(proficiency_toggles_within_zero_to_five),
        cmocka_unit_test(template_body_replaces_exact_placeholders),
        cmocka_unit_test(template_version_is_a_json_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
