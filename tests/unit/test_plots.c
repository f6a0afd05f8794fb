/*
 * Plots: a realistic plots directory (written here the way the diagnosis
 * writes it, notes/analysis-contract.md) gives six scripts and six PNG and
 * SVG images that decode, with the swimlane growing with its lanes; two
 * renders are byte-identical; header-only data still gives a plot; labels
 * with quotes, backslashes, backquotes and '@' neither break a script nor
 * run a command; a missing data file skips its plot and removes its old
 * files; without gnuplot (or when gnuplot fails) the scripts are still
 * written and the call succeeds, leaving no image behind.
 *
 * These tests run the real gnuplot (Debian's gnuplot-nox, which `make
 * deps` installs); without it they fail, they do not skip.  Each test
 * works in its own mkdtemp directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/rng.h"
#include "base/xalloc.h"
#include "report/plots.h"
#include "support/capture.h"
#include "support/files.h"

#define FILE_MAX (64u * 1024 * 1024)
#define N_PLOTS 6
#define RUN_NAME "predictive-bump"

static const char *const plot_names[N_PLOTS] = {
    "swimlane", "lag", "outcomes", "latency", "conflict_state", "strategies",
};

static const char *const dat_names[] = {
    "swimlane_lanes.dat",
    "swimlane_states.dat",
    "swimlane_bumps.dat",
    "swimlane_windows.dat",
    "lag.dat",
    "outcomes.dat",
    "replay_windows.dat",
    "latency.dat",
    "conflict_state.dat",
    "strategies.dat",
};

static const char *const dat_headers[] = {
    "# lane label\n",
    "# lane t0 t1 kind state\n",
    "# lane t origin\n",
    "# lane t_read t_write outcome\n",
    "# lo_ms hi_ms count\n",
    "# t ok conflict throttled error\n",
    "# t0 t1 strategy\n",
    "# status n p50_ms p90_ms p99_ms max_ms\n",
    "# state writes conflicts rate\n",
    "# strategy operations succeeded conflicts gave_up errors requests "
    "wasted\n",
};

#define N_DATS (sizeof(dat_names) / sizeof(dat_names[0]))

struct fixture {
    char root[256];
    char plots[300];
};

static int setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof(*fx));

    if (files_mkdtemp(fx->root, sizeof(fx->root), "rt-test-plots")) {
        free(fx);
        return -1;
    }
    snprintf(fx->plots, sizeof(fx->plots), "%s/plots", fx->root);
    if (mkdir(fx->plots, 0755)) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    files_remove_tree(fx->root);
    free(fx);
    return 0;
}

/* ---- Files ------------------------------------------------------------ */

static void path_in(char *out, size_t len, const char *dir, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

static int exists_in(const char *dir, const char *name)
{
    char path[512];

    path_in(path, sizeof(path), dir, name);
    return files_exists(path);
}

static void put_text(const char *dir, const char *name, const char *text)
{
    char path[512];

    path_in(path, sizeof(path), dir, name);
    files_write_text(path, text);
}

/* Whole file into @out; fails the test if unreadable. */
static void read_all(const char *dir, const char *name, struct buf *out)
{
    char path[512];

    path_in(path, sizeof(path), dir, name);
    files_read_buf(path, out);
}

static int file_contains(const char *dir, const char *name, const char *needle)
{
    struct buf b;
    int found;

    read_all(dir, name, &b);
    found = strstr(buf_str(&b), needle) != NULL;
    buf_release(&b);
    return found;
}

/* ---- The plots directory the diagnosis would write ------------------- */

struct writer {
    struct buf b;
};

static void w_begin(struct writer *w, size_t dat)
{
    buf_init(&w->b, FILE_MAX);
    assert_int_equal(buf_puts(&w->b, dat_headers[dat]), RT_OK);
}

static void w_row(struct writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void w_row(struct writer *w, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    assert_int_equal(buf_vprintf(&w->b, fmt, ap), RT_OK);
    va_end(ap);
}

static void w_end(struct writer *w, const char *dir, size_t dat)
{
    put_text(dir, dat_names[dat], buf_str(&w->b));
    buf_release(&w->b);
}

/*
 * @lanes agents over 60 s: routing bands cycling IDLE / INTERACTING with
 * an OFF_QUEUE now and then, presence "On Queue" with a Break, a foreign
 * bump 200 ms after each INTERACTING, read->write windows every few
 * seconds (a conflict when a foreign bump falls inside, an own bump
 * otherwise).  @label0 replaces the first lane's label when not NULL.
 */
static void write_swimlane(const char *dir, int lanes, const char *label0)
{
    struct writer wl, ws, wb, ww;
    struct rng rng;

    rng_seed(&rng, 42, 1);
    w_begin(&wl, 0);
    w_begin(&ws, 1);
    w_begin(&wb, 2);
    w_begin(&ww, 3);
    for (int lane = 0; lane < lanes; lane++) {
        double foreign[64];
        int n_foreign = 0;
        double t = 0;

        if (lane == 0 && label0)
            w_row(&wl, "0 %s\n", label0);
        else
            w_row(&wl, "%d %08llx\n", lane,
                  (unsigned long long)(rng_u64(&rng) & 0xffffffffu));
        for (int k = 0; t < 60; k++) {
            const char *st = k % 2 ? "INTERACTING" : "IDLE";
            double t1 = t + 2 + 6 * rng_double(&rng);

            if (k % 7 == 6)
                st = "OFF_QUEUE";
            t1 = t1 > 60 ? 60 : t1;
            w_row(&ws, "%d %.3f %.3f 0 %s\n", lane, t, t1, st);
            if (k % 2 && n_foreign < 64) {
                foreign[n_foreign++] = t + 0.2;
                w_row(&wb, "%d %.3f 1\n", lane, t + 0.2);
            }
            t = t1;
        }
        w_row(&ws, "%d 0.000 %.3f 1 \"On Queue\"\n", lane, 20.0 + lane);
        w_row(&ws, "%d %.3f %.3f 1 Break\n", lane, 20.0 + lane, 26.0 + lane);
        w_row(&ws, "%d %.3f 60.000 1 \"On Queue\"\n", lane, 26.0 + lane);
        for (double tr = 0.5 + rng_double(&rng); tr < 58;
             tr += 2 + 3 * rng_double(&rng)) {
            double tw = tr + 0.2 + 0.5 * rng_double(&rng);
            int conflict = 0;

            for (int i = 0; i < n_foreign; i++)
                conflict |= foreign[i] > tr && foreign[i] < tw;
            w_row(&ww, "%d %.3f %.3f %d\n", lane, tr, tw, conflict);
            if (!conflict)
                w_row(&wb, "%d %.3f 0\n", lane, tw + 0.02);
        }
    }
    w_end(&wl, dir, 0);
    w_end(&ws, dir, 1);
    w_end(&wb, dir, 2);
    w_end(&ww, dir, 3);
}

static void write_others(const char *dir, const char *strategy0)
{
    struct writer w;
    struct rng rng;

    rng_seed(&rng, 42, 2);
    /* Lags around 210 ms in 25 ms bins. */
    w_begin(&w, 4);
    for (int lo = 0; lo < 1000; lo += 25) {
        int d = lo + 12 - 210;
        int count = d < 0 ? -d : d;

        w_row(&w, "%d %d %d\n", lo, lo + 25, count < 150 ? 60 - count / 3 : 0);
    }
    w_end(&w, dir, 4);

    /* 60 s of traffic; more during the two replay windows. */
    w_begin(&w, 5);
    for (int t = 0; t < 60; t++) {
        int replay = (t >= 5 && t < 25) || (t >= 35 && t < 55);

        w_row(&w, "%d.000 %d %d %d %d\n", t,
              14 + (int)rng_below(&rng, 6) + (replay ? 8 : 0),
              replay ? (int)rng_below(&rng, 3) : 0,
              replay && t % 9 == 0 ? 2 : 0, t == 42 ? 1 : 0);
    }
    w_end(&w, dir, 5);
    w_begin(&w, 6);
    w_row(&w, "5.000 25.000 naive\n35.000 55.000 \"retry-reread\"\n");
    w_end(&w, dir, 6);

    w_begin(&w, 7);
    w_row(&w, "200 1789 42.1 88.0 170.5 912.3\n"
              "409 15 38.0 61.2 75.0 75.0\n"
              "429 6 3.1 5.0 6.2 6.2\n"
              "500 2 120.0 450.0 450.0 450.0\n");
    w_end(&w, dir, 7);

    w_begin(&w, 8);
    w_row(&w, "IDLE 210 2 0.0095\n"
              "INTERACTING 190 11 0.0579\n"
              "OFF_QUEUE 20 0 0\n"
              "NOT_RESPONDING 12 1 0.0833\n");
    w_end(&w, dir, 8);

    w_begin(&w, 9);
    w_row(&w, "%s 150 136 14 14 0 300 28\n", strategy0 ? strategy0 : "naive");
    w_row(&w, "\"retry-reread\" 150 150 9 0 0 318 18\n"
              "blind 150 150 0 0 0 150 0\n");
    w_end(&w, dir, 9);
}

static void write_header_only(const char *dir)
{
    for (size_t i = 0; i < N_DATS; i++)
        put_text(dir, dat_names[i], dat_headers[i]);
}

/* ---- Images ----------------------------------------------------------- */

struct image {
    unsigned width, height;
    size_t colors; /* distinct RGB values, counted up to 4096 */
};

/* Decode @dir/@name fully with libpng; fails the test on any error. */
static void decode_png(const char *dir, const char *name, struct image *out)
{
    static const unsigned char signature[8] = {0x89, 'P',  'N',  'G',
                                               0x0d, 0x0a, 0x1a, 0x0a};
    char path[512];
    png_image img;
    png_bytep pixels;
    unsigned *seen;
    struct buf raw;

    read_all(dir, name, &raw);
    if (raw.len < 2000 || memcmp(raw.data, signature, 8) != 0)
        fail_msg("'%s' is not a PNG of a plot (%zu bytes)", name, raw.len);
    buf_release(&raw);

    path_in(path, sizeof(path), dir, name);
    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path))
        fail_msg("cannot read '%s': %s", path, img.message);
    img.format = PNG_FORMAT_RGB;
    pixels = xmalloc(PNG_IMAGE_SIZE(img));
    if (!png_image_finish_read(&img, NULL, pixels, 0, NULL))
        fail_msg("cannot decode '%s': %s", path, img.message);
    out->width = img.width;
    out->height = img.height;
    out->colors = 0;
    seen = xcalloc(4096, sizeof(*seen));
    for (size_t i = 0; i < (size_t)img.width * img.height; i++) {
        const png_byte *p = pixels + 3 * i;
        unsigned rgb = (unsigned)p[0] << 16 | (unsigned)p[1] << 8 | p[2];
        size_t k;

        for (k = 0; k < out->colors && seen[k] != rgb; k++)
            ;
        if (k == out->colors && out->colors < 4096)
            seen[out->colors++] = rgb;
    }
    free(seen);
    free(pixels);
}

/* Both images of a rendered plot: a decodable PNG 1200 wide with more
 * than a few colours (not a blank canvas) and a complete SVG document. */
static void check_images(const char *dir, const char *plot, struct image *png)
{
    char name[64];
    struct buf svg;

    snprintf(name, sizeof(name), "%s.png", plot);
    decode_png(dir, name, png);
    assert_int_equal(png->width, 1200);
    if (png->colors < 16)
        fail_msg("'%s' has only %zu colours", name, png->colors);

    snprintf(name, sizeof(name), "%s.svg", plot);
    read_all(dir, name, &svg);
    if (strncmp(buf_str(&svg), "<?xml", 5) != 0 &&
        strncmp(buf_str(&svg), "<svg", 4) != 0)
        fail_msg("'%s' does not start as SVG", name);
    assert_non_null(strstr(buf_str(&svg), "</svg>"));
    /* The report runs no script: no interactive SVG. */
    assert_null(strstr(buf_str(&svg), "<script"));
    buf_release(&svg);
}

static void check_result_names(const struct plots_result *res)
{
    assert_int_equal(res->n_items, N_PLOTS);
    for (size_t i = 0; i < N_PLOTS; i++) {
        assert_string_equal(res->items[i].name, plot_names[i]);
        assert_true(res->items[i].title[0] != '\0');
    }
}

/* No temporary file of the scripts or the images is left behind. */
static void check_no_tmp(const char *dir)
{
    for (size_t i = 0; i < N_PLOTS; i++) {
        const char *ext[] = {".gp.tmp", ".tmp.png", ".tmp.svg"};

        for (size_t k = 0; k < 3; k++) {
            char name[64];

            snprintf(name, sizeof(name), "%s%s", plot_names[i], ext[k]);
            if (exists_in(dir, name))
                fail_msg("'%s' left behind", name);
        }
    }
}

static void render_ok(const char *dir, const struct plots_labels *labels,
                      struct plots_result *res)
{
    assert_int_equal(plots_render(dir, labels, NULL, res), RT_OK);
    if (!res->gnuplot_found)
        fail_msg("gnuplot is not installed (apt-get install gnuplot-nox); "
                 "note: %s",
                 res->note);
}

/* ---- Tests ------------------------------------------------------------ */

static void full_run_renders_every_plot(void **state)
{
    struct fixture *fx = *state;
    struct plots_labels labels = {RUN_NAME, "routing:INTERACTING"};
    struct plots_result res;
    struct image png;

    write_swimlane(fx->plots, 12, NULL);
    write_others(fx->plots, NULL);
    render_ok(fx->plots, &labels, &res);

    check_result_names(&res);
    assert_string_equal(res.note, "");
    for (size_t i = 0; i < N_PLOTS; i++) {
        char gp[64];

        snprintf(gp, sizeof(gp), "%s.gp", plot_names[i]);
        assert_true(exists_in(fx->plots, gp));
        if (!res.items[i].rendered)
            fail_msg("plot '%s' not rendered", plot_names[i]);
        check_images(fx->plots, plot_names[i], &png);
    }
    check_no_tmp(fx->plots);
    /* Scripts read their data by relative path and name what they show. */
    assert_true(
        file_contains(fx->plots, "swimlane.gp", "'swimlane_states.dat' using"));
    assert_false(file_contains(fx->plots, "swimlane.gp", fx->plots));
    assert_true(file_contains(fx->plots, "lag.gp", "routing:INTERACTING"));
    assert_true(file_contains(fx->plots, "outcomes.gp", "'retry-reread'"));
    assert_non_null(strstr(res.items[1].title, "routing:INTERACTING"));
    /* The data are clean, so gnuplot has nothing to warn about. */
    assert_true(exists_in(fx->plots, "gnuplot.log"));
    assert_false(file_contains(fx->plots, "gnuplot.log", "arning"));
    assert_false(file_contains(fx->plots, "gnuplot.log", "rror"));
}

static void swimlane_grows_with_lanes(void **state)
{
    struct fixture *fx = *state;
    struct plots_result res;
    struct image few, many;

    write_swimlane(fx->plots, 3, NULL);
    render_ok(fx->plots, NULL, &res);
    assert_true(res.items[0].rendered);
    decode_png(fx->plots, "swimlane.png", &few);

    write_swimlane(fx->plots, 30, NULL);
    render_ok(fx->plots, NULL, &res);
    assert_true(res.items[0].rendered);
    decode_png(fx->plots, "swimlane.png", &many);
    if (many.height <= few.height + 27 * 20)
        fail_msg("30 lanes: %u px high, 3 lanes: %u px", many.height,
                 few.height);
    /* Only the swimlane had data. */
    assert_int_equal(res.n_items, 1);
}

static void two_renders_are_byte_identical(void **state)
{
    struct fixture *fx = *state;
    struct plots_labels labels = {RUN_NAME, "routing:INTERACTING"};
    struct plots_result res;
    struct buf first[N_PLOTS][3];
    const char *ext[3] = {".gp", ".png", ".svg"};

    write_swimlane(fx->plots, 8, NULL);
    write_others(fx->plots, NULL);
    render_ok(fx->plots, &labels, &res);
    for (size_t i = 0; i < N_PLOTS; i++)
        for (size_t k = 0; k < 3; k++) {
            char name[64];

            snprintf(name, sizeof(name), "%s%s", plot_names[i], ext[k]);
            read_all(fx->plots, name, &first[i][k]);
        }
    render_ok(fx->plots, &labels, &res);
    check_result_names(&res);
    for (size_t i = 0; i < N_PLOTS; i++)
        for (size_t k = 0; k < 3; k++) {
            char name[64];
            struct buf again;

            snprintf(name, sizeof(name), "%s%s", plot_names[i], ext[k]);
            read_all(fx->plots, name, &again);
            if (again.len != first[i][k].len ||
                memcmp(again.data, first[i][k].data, again.len) != 0)
                fail_msg("'%s' differs between renders (%zu and %zu bytes)",
                         name, first[i][k].len, again.len);
            buf_release(&again);
            buf_release(&first[i][k]);
        }
}

static void header_only_data_still_gives_plots(void **state)
{
    struct fixture *fx = *state;
    struct plots_labels labels = {RUN_NAME, NULL};
    struct plots_result res;
    struct image png;

    write_header_only(fx->plots);
    render_ok(fx->plots, &labels, &res);
    check_result_names(&res);
    for (size_t i = 0; i < N_PLOTS; i++) {
        char gp[64];

        snprintf(gp, sizeof(gp), "%s.gp", plot_names[i]);
        assert_true(file_contains(fx->plots, gp, "'no data'"));
        if (!res.items[i].rendered)
            fail_msg("empty plot '%s' not rendered", plot_names[i]);
        check_images(fx->plots, plot_names[i], &png);
    }
    assert_false(file_contains(fx->plots, "gnuplot.log", "arning"));
    /* Without a signal the lag plot still has a title. */
    assert_string_equal(res.items[1].title,
                        "Lag from transition to version bump");
}

static void quotes_in_labels_neither_break_nor_run(void **state)
{
    struct fixture *fx = *state;
    char pwned[400], label0[512], strategy0[64];
    struct plots_labels labels = {"run \"it's\" \\ `x` @y", NULL};
    struct plots_result res;
    struct image png;

    /* A backquoted command would create this file if gnuplot ran it. */
    snprintf(pwned, sizeof(pwned), "%s/pwned", fx->root);
    snprintf(label0, sizeof(label0), "\"a'b\\c`touch %s`@x\"", pwned);
    snprintf(strategy0, sizeof(strategy0), "\"it's \\\\ @z\"");
    write_swimlane(fx->plots, 4, label0);
    write_others(fx->plots, strategy0);
    labels.signal = "presence:On Queue \"'\\";
    render_ok(fx->plots, &labels, &res);

    check_result_names(&res);
    for (size_t i = 0; i < N_PLOTS; i++) {
        if (!res.items[i].rendered)
            fail_msg("plot '%s' not rendered", plot_names[i]);
        check_images(fx->plots, plot_names[i], &png);
    }
    assert_false(access(pwned, F_OK) == 0);
    /* The labels arrive as written (gnuplot escapes '<' and '&'). */
    assert_true(file_contains(fx->plots, "swimlane.svg", "a'b\\c`touch"));
    assert_true(file_contains(fx->plots, "strategies.svg", "it's \\\\ @z"));
    assert_true(file_contains(fx->plots, "lag.svg",
                              "presence:On Queue \"'\\ to version bump"));
    assert_true(file_contains(fx->plots, "outcomes.svg", "run \"it's\""));
    assert_string_equal(res.items[1].title,
                        "Lag from presence:On Queue \"'\\ to version bump");
}

static void missing_gnuplot_still_writes_scripts(void **state)
{
    struct fixture *fx = *state;
    char missing[400];
    struct plots_labels labels = {RUN_NAME, "routing:INTERACTING"};
    struct plots_result res;
    char *log;

    write_swimlane(fx->plots, 5, NULL);
    write_others(fx->plots, NULL);
    /* Images of an earlier render must not outlive the scripts' data. */
    render_ok(fx->plots, &labels, &res);
    assert_true(exists_in(fx->plots, "lag.png"));

    snprintf(missing, sizeof(missing), "%s/no-such-gnuplot", fx->root);
    capture_stderr_begin();
    assert_int_equal(plots_render(fx->plots, &labels, missing, &res), RT_OK);
    log = capture_stderr_end();

    assert_int_equal(res.gnuplot_found, 0);
    check_result_names(&res);
    for (size_t i = 0; i < N_PLOTS; i++) {
        char name[64];

        assert_int_equal(res.items[i].rendered, 0);
        snprintf(name, sizeof(name), "%s.gp", plot_names[i]);
        assert_true(exists_in(fx->plots, name));
        snprintf(name, sizeof(name), "%s.png", plot_names[i]);
        assert_false(exists_in(fx->plots, name));
        snprintf(name, sizeof(name), "%s.svg", plot_names[i]);
        assert_false(exists_in(fx->plots, name));
    }
    assert_non_null(strstr(res.note, "gnuplot not found"));
    assert_non_null(strstr(res.note, fx->plots));
    assert_non_null(strstr(res.note, "for f in *.gp; do gnuplot \"$f\"; done"));
    /* The caller logs the note; no warning of its own. */
    assert_null(strstr(log, "warning"));
    free(log);
    check_no_tmp(fx->plots);
}

static void gnuplot_failure_is_logged_and_not_fatal(void **state)
{
    struct fixture *fx = *state;
    struct plots_result res;
    char *log;

    write_others(fx->plots, NULL);
    /* false(1) starts, ignores the script and exits 1: a failing gnuplot. */
    capture_stderr_begin();
    assert_int_equal(plots_render(fx->plots, NULL, "false", &res), RT_OK);
    log = capture_stderr_end();

    assert_int_equal(res.gnuplot_found, 1);
    assert_int_equal(res.n_items, 5);
    for (size_t i = 0; i < res.n_items; i++)
        assert_int_equal(res.items[i].rendered, 0);
    assert_false(exists_in(fx->plots, "lag.png"));
    assert_non_null(strstr(log, "gnuplot failed on plot 'lag'"));
    assert_non_null(strstr(log, "gnuplot.log"));
    assert_non_null(strstr(res.note, "gnuplot failed on lag, outcomes"));
    assert_non_null(strstr(res.note, "no data file for swimlane"));
    free(log);
}

static void missing_data_file_skips_its_plot(void **state)
{
    struct fixture *fx = *state;
    struct plots_result res;
    char name[512];

    write_swimlane(fx->plots, 4, NULL);
    write_others(fx->plots, NULL);
    render_ok(fx->plots, NULL, &res);
    assert_true(exists_in(fx->plots, "latency.png"));

    /* The next analysis wrote no latency or swimlane data. */
    for (size_t i = 0; i < N_DATS; i++)
        if (strncmp(dat_names[i], "swimlane", 8) == 0 ||
            strcmp(dat_names[i], "latency.dat") == 0 ||
            strcmp(dat_names[i], "replay_windows.dat") == 0) {
            path_in(name, sizeof(name), fx->plots, dat_names[i]);
            assert_int_equal(unlink(name), 0);
        }
    render_ok(fx->plots, NULL, &res);

    assert_int_equal(res.n_items, 4);
    assert_string_equal(res.items[0].name, "lag");
    assert_string_equal(res.items[1].name, "outcomes");
    assert_string_equal(res.items[2].name, "conflict_state");
    assert_string_equal(res.items[3].name, "strategies");
    for (size_t i = 0; i < res.n_items; i++)
        assert_true(res.items[i].rendered);
    assert_false(exists_in(fx->plots, "latency.gp"));
    assert_false(exists_in(fx->plots, "latency.png"));
    assert_false(exists_in(fx->plots, "swimlane.svg"));
    /* Outcomes without replay windows: nothing shaded. */
    assert_false(file_contains(fx->plots, "outcomes.gp", "set object"));
    assert_string_equal(res.note, "no data file for swimlane, latency");
}

static void unwritable_script_is_an_error(void **state)
{
    struct fixture *fx = *state;
    char dir[400], path[512];
    struct plots_result res;
    char *log;

    /* No plots directory: no data file, nothing to do, no error. */
    snprintf(dir, sizeof(dir), "%s/missing", fx->root);
    capture_stderr_begin();
    assert_int_equal(plots_render(dir, NULL, NULL, &res), RT_OK);
    free(capture_stderr_end());
    assert_int_equal(res.n_items, 0);

    /* A directory where lag.gp belongs: its script cannot be renamed into
     * place (whoever runs the test, root included); the others still
     * are written and rendered. */
    write_others(fx->plots, NULL);
    path_in(path, sizeof(path), fx->plots, "lag.gp");
    assert_int_equal(mkdir(path, 0755), 0);
    capture_stderr_begin();
    assert_int_equal(plots_render(fx->plots, NULL, NULL, &res), RT_EIO);
    log = capture_stderr_end();
    assert_non_null(strstr(log, "lag.gp"));
    free(log);
    assert_int_equal(res.n_items, 4);
    assert_string_equal(res.items[0].name, "outcomes");
    for (size_t i = 0; i < res.n_items; i++)
        assert_true(res.items[i].rendered);
    assert_false(exists_in(fx->plots, "lag.png"));
    check_no_tmp(fx->plots);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(full_run_renders_every_plot, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(swimlane_grows_with_lanes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(two_renders_are_byte_identical, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(header_only_data_still_gives_plots,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(quotes_in_labels_neither_break_nor_run,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(missing_gnuplot_still_writes_scripts,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(gnuplot_failure_is_logged_and_not_fatal,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(missing_data_file_skips_its_plot, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unwritable_script_is_an_error, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
