/*
 * Logging: the "racetrace: " prefix and level words, level filtering,
 * rt_fail's return value, and whole lines from concurrent threads.  stderr
 * is pointed at a temporary file for each test and read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"

#define THREADS 8
#define LINES_PER_THREAD 200

struct capture {
    char path[256];
    int saved_fd;
};

static int setup(void **state)
{
    struct capture *c = calloc(1, sizeof(*c));
    const char *tmp = getenv("TMPDIR");
    int fd;

    if (!c)
        return -1;
    snprintf(c->path, sizeof(c->path), "%s/rt-test-log-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    fd = mkstemp(c->path);
    if (fd < 0) {
        free(c);
        return -1;
    }
    fflush(stderr);
    c->saved_fd = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    log_set_level(LOG_INFO);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct capture *c = *state;

    fflush(stderr);
    dup2(c->saved_fd, STDERR_FILENO);
    close(c->saved_fd);
    unlink(c->path);
    free(c);
    log_set_level(LOG_INFO);
    return 0;
}

/* Everything written to stderr so far (caller releases @out). */
static void captured(struct capture *c, struct buf *out)
{
    char chunk[4096];
    size_t n;
    FILE *f;

    fflush(stderr);
    f = fopen(c->path, "rb");
    assert_non_null(f);
    buf_init(out, 1 << 20);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(buf_append(out, chunk, n), RT_OK);
    fclose(f);
}

static void messages_carry_prefix_and_level(void **state)
{
    struct capture *c = *state;
    struct buf out;

    log_error("cannot open '%s': %s", "x.json", "No such file or directory");
    log_warn("slow response from '%s'", "sim");
    log_info("listening on %d", 8080);
    captured(c, &out);
    assert_string_equal(buf_str(&out),
                        "racetrace: error: cannot open 'x.json': No such file "
                        "or directory\n"
                        "racetrace: warning: slow response from 'sim'\n"
                        "racetrace: listening on 8080\n");
    buf_release(&out);
}

static void level_filters_less_important_messages(void **state)
{
    struct capture *c = *state;
    struct buf out;

    assert_int_equal(log_get_level(), LOG_INFO);
    log_debug("hidden at info");
    log_set_level(LOG_WARN);
    assert_int_equal(log_get_level(), LOG_WARN);
    log_info("hidden at warn");
    log_warn("shown at warn");
    log_set_level(LOG_DEBUG);
    log_debug("shown at debug");
    captured(c, &out);
    assert_string_equal(buf_str(&out), "racetrace: warning: shown at warn\n"
                                       "racetrace: shown at debug\n");
    buf_release(&out);
}

static void rt_fail_logs_and_returns_the_code(void **state)
{
    struct capture *c = *state;
    struct buf out;

    assert_int_equal(rt_fail(RT_EIO, "cannot write '%s'", "out.csv"), RT_EIO);
    captured(c, &out);
    assert_string_equal(buf_str(&out),
                        "racetrace: error: cannot write 'out.csv'\n");
    buf_release(&out);
}

static void *logger_main(void *arg)
{
    int id = *(const int *)arg;

    for (int i = 0; i < LINES_PER_THREAD; i++)
        log_info("thread %d line %03d padding-padding-padding-padding", id, i);
    return NULL;
}

static void concurrent_lines_never_interleave(void **state)
{
    struct capture *c = *state;
    pthread_t tid[THREADS];
    int ids[THREADS];
    int count[THREADS] = {0};
    struct buf out;
    const char *p;

    for (int i = 0; i < THREADS; i++) {
        ids[i] = i;
        assert_int_equal(pthread_create(&tid[i], NULL, logger_main, &ids[i]),
                         0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(tid[i], NULL), 0);
    captured(c, &out);
    p = buf_str(&out);
    while (*p) {
        const char *nl = strchr(p, '\n');
        char want[128];
        int id;

        assert_non_null(nl);
        assert_true(nl - p > 24);
        id = p[18] - '0';
        assert_in_range(id, 0, THREADS - 1);
        snprintf(want, sizeof(want),
                 "racetrace: thread %d line %03d "
                 "padding-padding-padding-padding",
                 id, count[id]);
        if ((size_t)(nl - p) != strlen(want) || strncmp(p, want, strlen(want)))
            fail_msg("torn or out-of-order line: '%.*s'", (int)(nl - p), p);
        count[id]++;
        p = nl + 1;
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(count[i], LINES_PER_THREAD);
    buf_release(&out);
}

/* A filter that hides every 's' (the mechanism; api/redact is the real
 * filter and has its own tests). */
static char *hide_s(char *out, size_t out_len, const char *in, size_t len)
{
    size_t n = len < out_len - 1 ? len : out_len - 1;

    for (size_t i = 0; i < n; i++)
        out[i] = in[i] == 's' ? '*' : in[i];
    out[n] = '\0';
    return out;
}

static void the_filter_sees_every_message(void **state)
{
    struct capture *c = *state;
    struct buf out;

    log_set_filter(hide_s);
    log_error("secret '%s'", "sss");
    (void)rt_fail(RT_EINVAL, "%s", "also this");
    log_set_filter(NULL);
    log_info("unfiltered s");
    captured(c, &out);
    /* The prefix is ours, not the message's: it is never filtered. */
    assert_string_equal(buf_str(&out), "racetrace: error: *ecret '***'\n"
                                       "racetrace: error: al*o thi*\n"
                                       "racetrace: unfiltered s\n");
    buf_release(&out);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(messages_carry_prefix_and_level),
        T(level_filters_less_important_messages),
        T(rt_fail_logs_and_returns_the_code),
        T(concurrent_lines_never_interleave),
        T(the_filter_sees_every_message),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
