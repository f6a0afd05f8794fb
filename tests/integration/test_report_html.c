/*
 * report.html as a person sees it: the page written from a summary and a
 * real PNG plot is rendered by headless Chromium (the Debian package the
 * project installs for tests), and the screenshot is decoded with libpng.
 * The page must not be blank, the verdict card's badge must be drawn in the
 * cause's color near the top, and the embedded plot must appear whole, at
 * its own size, with its four colored stripes in order.
 *
 * Chromium missing is a failure, not a skip: without it this test would
 * prove nothing.  The browser runs with HOME in the test's temporary
 * directory, its output in a log file printed on failure, and a 60 s
 * deadline after which its process group is killed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <png.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/clock.h"
#include "report/doc.h"
#include "support/files.h"
#include "support/qjson.h"

extern char **environ;

#define WIN_W 1200
#define WIN_H 1600
#define PLOT_W 640
#define PLOT_H 240
#define DEADLINE_NS (60 * NS_PER_S)

struct rgb {
    unsigned char r, g, b;
};

/* The plot's stripes, left to right: colors the page's CSS never uses. */
static const struct rgb stripes[4] = {
    {230, 0, 230}, {0, 190, 190}, {250, 200, 0}, {100, 0, 170}};
/* The routing-status badge and card border (.c-routing-status in doc.c). */
static const struct rgb badge = {0x1d, 0x4e, 0xd8};

static const char summary_json[] =
    "{'tool':'racetrace','version':'0.1.0',"
    "'run':{'name':'html-render','target':'sim','simulator':true,"
    "'start':'2026-11-24T16:58:00.000Z','end':'2026-11-24T16:59:30.000Z',"
    "'duration_s':90.0,'interrupted':false,'agents':150},"
    "'verdict':{'cause':'routing-status','signal':'routing:INTERACTING',"
    "'p_value':0.001,'hit_rate':0.69,'coverage':0.98,'median_lag_ms':210.0,"
    "'lag_iqr_ms':180.0,"
    "'headline':'Writes by another party follow INTERACTING by ~210 ms',"
    "'text':'Each agent is updated shortly after it starts interacting.',"
    "'secondary':[],'confounded_with':[],'more_data':null},"
    "'plots':{'rendered':true,'note':null,'items':["
    "{'name':'outcomes','title':'Request outcomes over time',"
    "'png':'plots/outcomes.png','svg':'plots/outcomes.svg'}]}}";

struct fixture {
    char dir[PATH_MAX];
};

static char *path_in(const struct fixture *fx, const char *name)
{
    static char paths[4][PATH_MAX + 64];
    static int next;
    char *p = paths[next++ % 4];

    snprintf(p, PATH_MAX + 64, "%s/%s", fx->dir, name);
    return p;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    if (!fx)
        return -1;
    if (files_mkdtemp(fx->dir, sizeof(fx->dir), "rt-report-html") ||
        mkdir(path_in(fx, "plots"), 0755) || mkdir(path_in(fx, "home"), 0700)) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    files_remove_tree(fx->dir);
    free(fx);
    return 0;
}

/* The plot: four vertical stripes of solid color. */
static void write_plot(const char *path)
{
    unsigned char *px = malloc((size_t)PLOT_W * PLOT_H * 3);

    assert_non_null(px);
    for (unsigned y = 0; y < PLOT_H; y++)
        for (unsigned x = 0; x < PLOT_W; x++) {
            const struct rgb *c = &stripes[x * 4 / PLOT_W];
            unsigned char *p = px + ((size_t)y * PLOT_W + x) * 3;
            p[0] = c->r;
            p[1] = c->g;
            p[2] = c->b;
        }
    files_write_png(path, px, PLOT_W, PLOT_H);
    free(px);
}

/* /usr/bin/chromium, or "chromium" found on PATH; fails the test with the
 * fix when neither exists. */
static const char *find_chromium(void)
{
    static char found[PATH_MAX];
    const char *path = getenv("PATH");

    if (access("/usr/bin/chromium", X_OK) == 0)
        return "/usr/bin/chromium";
    while (path && *path) {
        size_t n = strcspn(path, ":");
        snprintf(found, sizeof(found), "%.*s/chromium", (int)n, path);
        if (n > 0 && access(found, X_OK) == 0)
            return found;
        path += n + (path[n] == ':');
    }
    fail_msg("chromium not found (neither /usr/bin/chromium nor on PATH): "
             "install the Debian 'chromium' package, e.g. with 'make deps'; "
             "this test renders report.html with it");
    return NULL;
}

static void print_log(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];

    if (!f)
        return;
    print_message("---- chromium output (%s) ----\n", path);
    while (fgets(line, sizeof(line), f))
        print_message("%s", line);
    fclose(f);
}

/* The environment with HOME replaced, so Chromium's profile and caches go
 * to the test's directory.  Caller frees the array and its HOME entry. */
static char **env_with_home(const char *home)
{
    size_t n = 0, o = 0;
    char **env;

    while (environ[n])
        n++;
    env = calloc(n + 2, sizeof(*env));
    assert_non_null(env);
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "HOME=", 5) != 0)
            env[o++] = environ[i];
    env[o] = malloc(strlen(home) + 6);
    assert_non_null(env[o]);
    snprintf(env[o], strlen(home) + 6, "HOME=%s", home);
    return env;
}

/*
 * Wait for @pid until @deadline_mono_ns.  A pidfd becomes readable when
 * the process exits, so poll() on it waits without sleeping; where pidfds
 * are missing, waitpid(WNOHANG) is retried at short intervals.  Returns 1
 * with *status filled in, 0 on timeout.
 */
static int wait_until(pid_t pid, int64_t deadline_mono_ns, int *status)
{
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

    for (;;) {
        int64_t left = deadline_mono_ns - clock_mono_ns();
        pid_t r = waitpid(pid, status, WNOHANG);

        if (r == pid)
            break;
        assert_true(r == 0 || (r < 0 && errno == EINTR));
        if (left <= 0) {
            if (pidfd >= 0)
                close(pidfd);
            return 0;
        }
        if (pidfd >= 0) {
            struct pollfd p = {.fd = pidfd, .events = POLLIN};
            int ms = (int)(left / NS_PER_MS) + 1;
            poll(&p, 1, ms);
        } else {
            clock_sleep_ns(left < 20 * NS_PER_MS ? left : 20 * NS_PER_MS);
        }
    }
    if (pidfd >= 0)
        close(pidfd);
    return 1;
}

static void render(const struct fixture *fx, const char *html, const char *shot)
{
    const char *exe = find_chromium();
    char home[PATH_MAX + 64], log[PATH_MAX + 64];
    char shot_arg[2 * PATH_MAX], url[2 * PATH_MAX];
    char *argv[] = {
        (char *)"chromium",
        (char *)"--headless",
        (char *)"--no-sandbox",
        (char *)"--disable-gpu",
        (char *)"--hide-scrollbars",
        (char *)"--force-device-scale-factor=1",
        (char *)"--window-size=1200,1600",
        /* Paint everything before the shot: on a loaded machine the
         * screenshot could otherwise catch a half-decoded image. */
        (char *)"--run-all-compositor-stages-before-draw",
        (char *)"--virtual-time-budget=10000",
        shot_arg,
        url,
        NULL,
    };
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    char **env;
    int status = 0, rc;
    pid_t pid;

    snprintf(home, sizeof(home), "%s/home", fx->dir);
    snprintf(log, sizeof(log), "%s/chromium.log", fx->dir);
    snprintf(shot_arg, sizeof(shot_arg), "--screenshot=%s", shot);
    snprintf(url, sizeof(url), "file://%s", html);
    env = env_with_home(home);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawnattr_init(&attr);
    /* Its own process group, so a hung browser and its helpers can all be
     * killed by the group id. */
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    rc = posix_spawnp(&pid, exe, &fa, &attr, argv, env);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    for (size_t i = 0; env[i]; i++)
        if (strncmp(env[i], "HOME=", 5) == 0)
            free(env[i]);
    free(env);
    if (rc != 0)
        fail_msg("cannot start '%s': %s", exe, strerror(rc));
    if (!wait_until(pid, clock_mono_ns() + DEADLINE_NS, &status)) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        print_log(log);
        fail_msg("chromium did not finish within %d s; killed",
                 (int)(DEADLINE_NS / NS_PER_S));
    }
    /* Reap nothing more, but leave no helper of ours running. */
    kill(-pid, SIGKILL);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        print_log(log);
        fail_msg("chromium failed (wait status %d)", status);
    }
    if (access(shot, R_OK) != 0) {
        print_log(log);
        fail_msg("chromium wrote no screenshot '%s'", shot);
    }
}

struct shot {
    unsigned w, h;
    unsigned char *px; /* RGB */
};

static void load_shot(const char *path, struct shot *out)
{
    png_image img;

    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path))
        fail_msg("cannot decode '%s': %s", path, img.message);
    img.format = PNG_FORMAT_RGB;
    out->w = img.width;
    out->h = img.height;
    out->px = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(out->px);
    if (!png_image_finish_read(&img, NULL, out->px, 0, NULL))
        fail_msg("cannot decode '%s': %s", path, img.message);
}

static const unsigned char *px_at(const struct shot *s, unsigned x, unsigned y)
{
    return s->px + ((size_t)y * s->w + x) * 3;
}

static int near(const unsigned char *p, const struct rgb *c)
{
    return abs(p[0] - c->r) <= 8 && abs(p[1] - c->g) <= 8 &&
           abs(p[2] - c->b) <= 8;
}

static uint32_t key(const unsigned char *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/* Not blank: the most common color is the background; at least 2% of the
 * pixels differ from it and at least 5 distinct colors appear. */
static void assert_not_blank(const struct shot *s)
{
    size_t n = (size_t)s->w * s->h, best = 0, distinct = 0, run = 0;
    uint32_t *keys = malloc(n * sizeof(*keys));

    assert_non_null(keys);
    for (size_t i = 0; i < n; i++)
        keys[i] = key(s->px + i * 3);
    qsort(keys, n, sizeof(*keys), cmp_u32);
    for (size_t i = 0; i < n; i++) {
        run = i > 0 && keys[i] == keys[i - 1] ? run + 1 : 1;
        distinct += run == 1;
        if (run > best)
            best = run;
    }
    free(keys);
    print_message("screenshot %ux%u: %zu colors, background %.1f%%\n", s->w,
                  s->h, distinct, 100.0 * (double)best / (double)n);
    assert_true((double)(n - best) >= 0.02 * (double)n);
    assert_true(distinct >= 5);
}

static void page_shows_verdict_and_embedded_plot(void **state)
{
    struct fixture *fx = *state;
    char html[PATH_MAX + 64], shot_path[PATH_MAX + 64];
    unsigned x0 = UINT_MAX, y0 = UINT_MAX, x1 = 0, y1 = 0;
    size_t badge_px = 0, in_box = 0, per[4] = {0};
    struct shot s;
    cJSON *summary = qjson_parse(summary_json);

    write_plot(path_in(fx, "plots/outcomes.png"));
    snprintf(html, sizeof(html), "%s", path_in(fx, "report.html"));
    snprintf(shot_path, sizeof(shot_path), "%s", path_in(fx, "shot.png"));
    assert_int_equal(doc_write_html(summary, fx->dir, html), RT_OK);
    cJSON_Delete(summary);

    render(fx, html, shot_path);
    load_shot(shot_path, &s);
    assert_int_equal(s.w, WIN_W);
    assert_int_equal(s.h, WIN_H);
    assert_not_blank(&s);

    /* The verdict card near the top, its badge in the cause's color. */
    for (unsigned y = 0; y < 700; y++)
        for (unsigned x = 0; x < s.w; x++)
            badge_px += near(px_at(&s, x, y), &badge);
    print_message("badge-colored pixels in the top 700 rows: %zu\n", badge_px);
    assert_true(badge_px >= 1000);

    /* The plot: the box around its colors is the image at its own size,
     * filled with the stripes in order, each a quarter of the width. */
    for (unsigned y = 0; y < s.h; y++)
        for (unsigned x = 0; x < s.w; x++)
            for (int k = 0; k < 4; k++)
                if (near(px_at(&s, x, y), &stripes[k])) {
                    x0 = x < x0 ? x : x0;
                    y0 = y < y0 ? y : y0;
                    x1 = x > x1 ? x : x1;
                    y1 = y > y1 ? y : y1;
                }
    if (x0 == UINT_MAX)
        fail_msg("the plot's colors appear nowhere in the screenshot");
    print_message("plot drawn at x %u..%u, y %u..%u\n", x0, x1, y0, y1);
    assert_in_range(x1 - x0 + 1, PLOT_W - 2, PLOT_W + 2);
    assert_in_range(y1 - y0 + 1, PLOT_H - 2, PLOT_H + 2);
    assert_true(y1 < s.h - 1); /* whole, not cut by the window */
    for (unsigned y = y0; y <= y1; y++)
        for (unsigned x = x0; x <= x1; x++)
            for (int k = 0; k < 4; k++)
                if (near(px_at(&s, x, y), &stripes[k])) {
                    in_box++;
                    /* Stripe k lies in the k-th quarter of the box. */
                    if ((x - x0) * 4 / (x1 - x0 + 1) == (unsigned)k)
                        per[k]++;
                    break;
                }
    assert_true(in_box >= (size_t)(x1 - x0 + 1) * (y1 - y0 + 1) * 98 / 100);
    for (int k = 0; k < 4; k++) {
        size_t quarter = (size_t)(x1 - x0 + 1) * (y1 - y0 + 1) / 4;
        if (per[k] < quarter * 95 / 100)
            fail_msg("stripe %d covers %zu of %zu pixels of its quarter", k,
                     per[k], quarter);
    }
    free(s.px);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(page_shows_verdict_and_embedded_plot,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
