/* Base64 (RFC 4648 §10 test vectors) and secret redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "api/base64.h"
#include "api/redact.h"

static void base64_matches_rfc4648_vectors(void **state)
{
    static const struct {
        const char *in, *out;
    } v[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct buf b;

        buf_init(&b, 64);
        assert_int_equal(base64_encode(&b, v[i].in, strlen(v[i].in)), RT_OK);
        assert_string_equal(buf_str(&b), v[i].out);
        assert_int_equal(b.len, base64_encoded_len(strlen(v[i].in)));
        buf_release(&b);
    }
}

static void base64_uses_the_whole_alphabet_on_binary_input(void **state)
{
    /* 0xfb 0xff 0xbf covers '+' and '/', which text vectors never reach. */
    static const unsigned char bin[] = {0x00, 0x10, 0x83, 0xfb, 0xff, 0xbf};
    struct buf b;

    (void)state;
    buf_init(&b, 64);
    assert_int_equal(base64_encode(&b, bin, sizeof(bin)), RT_OK);
    assert_string_equal(buf_str(&b), "ABCD+/+/");
    buf_release(&b);
}

static void base64_of_basic_credentials(void **state)
{
    struct buf b;

    (void)state;
    /* RFC 7617 §2's example. */
    buf_init(&b, 64);
    assert_int_equal(base64_encode(&b, "Aladdin:open sesame", 19), RT_OK);
    assert_string_equal(buf_str(&b), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    buf_release(&b);
}

static void base64_over_the_cap_leaves_buffer_unchanged(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 6);
    assert_int_equal(buf_puts(&b, "ab"), RT_OK);
    assert_int_equal(base64_encode(&b, "foob", 4), RT_ETRUNC);
    assert_string_equal(buf_str(&b), "ab");
    buf_release(&b);
}

static void redaction_hides_every_registered_secret(void **state)
{
    struct buf b;

    (void)state;
    redact_clear();
    redact_add("s3cr3t-value");
    redact_add("tok-123");
    redact_add("tok-123-longer"); /* longest match first */
    redact_add(NULL);
    redact_add("");
    buf_init(&b, 1024);
    assert_int_equal(
        redact_append(&b, "a s3cr3t-value b tok-123-longer c tok-123", 41),
        RT_OK);
    assert_string_equal(buf_str(&b), "a [redacted] b [redacted] c [redacted]");
    buf_release(&b);
    redact_clear();
}

static void redact_line_cuts_after_redacting_and_flattens(void **state)
{
    const char *in = "error\nwith s3cr3t-value at the end";
    char out[16];

    (void)state;
    redact_clear();
    redact_add("s3cr3t-value");
    redact_line(out, sizeof(out), in, strlen(in));
    /* The cut falls inside the mark, never inside the secret. */
    assert_string_equal(out, "error with [...");
    assert_null(strstr(out, "s3cr"));
    redact_line(out, sizeof(out), "short", 5);
    assert_string_equal(out, "short");
    redact_clear();
    /* After clearing, nothing is hidden any more. */
    redact_line(out, sizeof(out), "s3cr3t-value", 12);
    assert_string_equal(out, "s3cr3t-value");
}

/* redact_list: a copy of every secret, each once, NULL-terminated. */
static void redact_list_copies_every_secret_once(void **state)
{
    char **list;
    size_t n;

    (void)state;
    redact_clear();
    redact_add("s3cr3t-value");
    redact_add("tok-123");
    redact_add("tok-123"); /* kept once */
    n = redact_list(&list);
    assert_int_equal(n, 2);
    assert_non_null(list);
    assert_null(list[2]);
    assert_true(
        (!strcmp(list[0], "s3cr3t-value") && !strcmp(list[1], "tok-123")) ||
        (!strcmp(list[1], "s3cr3t-value") && !strcmp(list[0], "tok-123")));
    redact_list_free(list);
    redact_clear();
    n = redact_list(&list);
    assert_int_equal(n, 0);
    assert_null(list[0]);
    redact_list_free(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(base64_matches_rfc4648_vectors),
        cmocka_unit_test(base64_uses_the_whole_alphabet_on_binary_input),
        cmocka_unit_test(base64_of_basic_credentials),
        cmocka_unit_test(base64_over_the_cap_leaves_buffer_unchanged),
        cmocka_unit_test(redaction_hides_every_registered_secret),
        cmocka_unit_test(redact_line_cuts_after_redacting_and_flattens),
        cmocka_unit_test(redact_list_copies_every_secret_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
