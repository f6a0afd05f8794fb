/*
 * Plot scripts and their rendering (see include/report/plots.h).
 *
 * Each plot is built in two steps.  First its data files are scanned here,
 * row by row, for what the script must know in advance: whether there is
 * any data at all (gnuplot fails on an empty autoscaled plot, so an empty
 * file gets fixed axes and a "no data" label), the lane and tic labels,
 * the states that need a colour and a legend entry, and the ranges.  Then
 * the script is written; it reads the data itself, by relative path, so a
 * person can edit and re-run it by hand.  A series is only plotted when
 * the scan found rows for it, which keeps gnuplot free of "no valid
 * points" warnings and the legend free of entries for things that never
 * happened.
 *
 * Every text that comes from the data or the caller goes into the script
 * through gp_quote(): a single-quoted gnuplot string, in which gnuplot
 * expands neither backquotes (shell commands) nor '@' macros nor
 * backslashes, with control characters and invalid UTF-8 replaced so the
 * SVG stays well-formed.  The terminals are "noenhanced", so '^', '_' and
 * '{' in an agent id print as themselves.
 *
 * gnuplot is started with posix_spawnp() in the plots directory (never a
 * shell), with -d so no personal init file changes the output, and with
 * out='<name>.tmp' so it writes temporary images that are renamed into
 * place only when both exist after a clean exit.
 */
#include "report/plots.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/units.h"
#include "base/xalloc.h"

extern char **environ;

#define PATH_BYTES 4096
#define SCRIPT_MAX_BYTES (4u * 1024 * 1024)
#define NOTE_MAX_BYTES 4096
#define DAT_FIELDS_MAX 12
#define LANES_MAX 400  /* lanes with a tic label and room on the canvas */
#define STATES_MAX 32  /* states with their own colour and legend entry */
#define WINDOWS_MAX 64 /* replay windows shaded */
#define TICS_MAX 64    /* categories labelled on a bar chart */
#define LABEL_BYTES 64 /* of one data label shown in a tic or legend */
#define TITLE_BYTES 120

#define WIDTH_PX 1200
#define HEIGHT_PX 600
#define SWIM_BASE_PX 250 /* title, axis, legend */
#define SWIM_LANE_PX 34
#define SWIM_MIN_PX 380
#define SWIM_MAX_PX 2400

#define FONT "DejaVu Sans"
#define MONO_FONT "DejaVu Sans Mono"
#define LOG_NAME "gnuplot.log"
#define NO_STATE_RGB 0xb0b0b0u

/* ---- Scanning the data files ------------------------------------------ */

struct dat_row {
    char *f[DAT_FIELDS_MAX]; /* point into the line being scanned */
    size_t n;
};

/* Called for every data line (not blank, not a '#' comment); returns 1
 * when the row holds data the plot can use. */
typedef int (*dat_row_fn)(void *ctx, const struct dat_row *row);

/*
 * Split @line in place into whitespace-separated fields; a field starting
 * with '"' runs to the next '"' (gnuplot's own rule for data files).
 */
static void dat_split(char *line, struct dat_row *row)
{
    char *p = line;

    row->n = 0;
    while (row->n < DAT_FIELDS_MAX) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        if (*p == '"') {
            char *end = strchr(p + 1, '"');

            row->f[row->n++] = p + 1;
            if (!end)
                break;
            *end = '\0';
            p = end + 1;
            continue;
        }
        row->f[row->n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (!*p)
            break;
        *p++ = '\0';
    }
}

/*
 * Feed every data line of @dir/@name to @fn and count in *@rows those it
 * accepts.  Returns 1 when the file was read, 0 when it is missing or
 * unreadable (the latter logged): either way the plot is skipped.
 */
static int dat_scan(const char *dir, const char *name, dat_row_fn fn, void *ctx,
                    size_t *rows)
{
    char path[PATH_BYTES];
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    FILE *f;
    int ok = 1;

    *rows = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "r");
    if (!f) {
        if (errno != ENOENT)
            log_warn("cannot open '%s': %s", path, strerror(errno));
        return 0;
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        struct dat_row row;
        char *p = line;

        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        dat_split(p, &row);
        if (fn(ctx, &row))
            (*rows)++;
    }
    if (ferror(f)) {
        log_warn("cannot read '%s': %s", path, strerror(errno));
        ok = 0;
    }
    free(line);
    fclose(f);
    return ok;
}

static int field_double(const struct dat_row *row, size_t i, double *out)
{
    return i < row->n && units_parse_double(row->f[i], out) == RT_OK;
}

/* A lane index; lanes past LANES_MAX are data but have no room. */
static int field_lane(const struct dat_row *row, size_t i, long *out)
{
    int64_t v;

    if (i >= row->n || units_parse_i64(row->f[i], &v) != RT_OK || v < 0 ||
        v > INT32_MAX)
        return 0;
    *out = (long)v;
    return 1;
}

static int field_int(const struct dat_row *row, size_t i, int64_t *out)
{
    return i < row->n && units_parse_i64(row->f[i], out) == RT_OK;
}

/* ---- States and their colours ----------------------------------------- */

struct color {
    const char *name;
    unsigned rgb;
};

/* Genesys routing statuses; the colours mean the same in every plot. */
static const struct color routing_colors[] = {
    {"IDLE", 0x7cb342},          {"INTERACTING", 0x1e88e5},
    {"COMMUNICATING", 0x8e24aa}, {"NOT_RESPONDING", 0xfb8c00},
    {"OFF_QUEUE", 0xbdbdbd},
};

/* Genesys system presences. */
static const struct color presence_colors[] = {
    {"On Queue", 0x26a69a}, {"Available", 0x9ccc65}, {"Away", 0xfdd835},
    {"Break", 0xff7043},    {"Meal", 0xa1887f},      {"Busy", 0xe53935},
    {"Meeting", 0xab47bc},  {"Training", 0x5c6bc0},  {"Idle", 0xd4e157},
    {"Offline", 0x757575},
};

/* For states neither table knows, in order of first appearance. */
static const unsigned extra_colors[] = {
    0x00acc1, 0xf06292, 0x8d6e63, 0x78909c, 0xc0ca33, 0x5e35b1, 0xffb300,
};

/* "On Queue", "ON_QUEUE" and "on queue" name the same presence. */
static int state_eq(const char *a, const char *b)
{
    for (;; a++, b++) {
        char ca = *a == '_' ? ' ' : *a;
        char cb = *b == '_' ? ' ' : *b;

        if (ca >= 'a' && ca <= 'z')
            ca = (char)(ca - 'a' + 'A');
        if (cb >= 'a' && cb <= 'z')
            cb = (char)(cb - 'a' + 'A');
        if (ca != cb)
            return 0;
        if (!ca)
            return 1;
    }
}

/* Distinct names in a fixed order: known ones in table order, then the
 * others as first seen, so the same data always gives the same legend. */
struct states {
    char *name[STATES_MAX]; /* owned */
    unsigned rgb[STATES_MAX];
    size_t n;
    size_t n_unknown;          /* counts from the caller's offset */
    const struct color *table; /* borrowed; NULL: all are "unknown" */
    size_t table_len;
};

static void states_init(struct states *s, const struct color *table,
                        size_t table_len, size_t extra_offset)
{
    memset(s, 0, sizeof(*s));
    s->n_unknown = extra_offset;
    s->table = table;
    s->table_len = table_len;
}

static void states_release(struct states *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->name[i]);
    s->n = 0;
}

static size_t states_rank(const struct states *s, const char *name)
{
    for (size_t i = 0; i < s->table_len; i++)
        if (state_eq(s->table[i].name, name))
            return i;
    return s->table_len;
}

static void states_add(struct states *s, const char *name)
{
    size_t rank = states_rank(s, name);
    size_t at = s->n;

    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->name[i], name) == 0)
            return;
    if (s->n == STATES_MAX)
        return; /* drawn in NO_STATE_RGB, without a legend entry */
    if (rank < s->table_len) {
        /* Insert before the first entry that ranks later. */
        at = 0;
        while (at < s->n && states_rank(s, s->name[at]) <= rank)
            at++;
        memmove(&s->name[at + 1], &s->name[at],
                (s->n - at) * sizeof(s->name[0]));
        memmove(&s->rgb[at + 1], &s->rgb[at], (s->n - at) * sizeof(s->rgb[0]));
        s->rgb[at] = s->table[rank].rgb;
    } else {
        s->rgb[at] = extra_colors[s->n_unknown++ % (sizeof(extra_colors) /
                                                    sizeof(extra_colors[0]))];
    }
    s->name[at] = xstrdup(name);
    s->n++;
}

/* ---- Script text ------------------------------------------------------ */

struct script {
    struct buf text;
    enum rt_err err; /* first append that failed */
    int height_px;
};

static void script_init(struct script *s)
{
    buf_init(&s->text, SCRIPT_MAX_BYTES);
    s->err = RT_OK;
    s->height_px = HEIGHT_PX;
}

static void script_release(struct script *s)
{
    buf_release(&s->text);
}

static void gp(struct script *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void gp(struct script *s, const char *fmt, ...)
{
    va_list ap;
    enum rt_err err;

    va_start(ap, fmt);
    err = buf_vprintf(&s->text, fmt, ap);
    va_end(ap);
    if (err != RT_OK && s->err == RT_OK)
        s->err = err;
}

/* Length of the valid UTF-8 sequence at @p (at most @left bytes), 0 if
 * the bytes there are not one. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
    size_t n;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4;
    else
        return 0;
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/*
 * Append @text to @out made safe for one line of a script or a report:
 * control characters become spaces, invalid UTF-8 bytes '?', and text past
 * @max_bytes is cut at a character boundary and marked with "...".  A
 * single quote is doubled when @squote is set (gnuplot's only escape in
 * single-quoted strings).
 */
static void clean_text(struct buf *out, const char *text, size_t max_bytes,
                       int squote, enum rt_err *err)
{
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    size_t left = strlen((const char *)p);
    size_t used = 0;
    enum rt_err e = RT_OK;

    while (left > 0 && e == RT_OK) {
        size_t n = utf8_len(p, left);

        if (used + (n ? n : 1) > max_bytes) {
            e = buf_puts(out, "...");
            break;
        }
        if (n == 0)
            e = buf_putc(out, '?');
        else if (n == 1 && (p[0] < 0x20 || p[0] == 0x7f))
            e = buf_putc(out, ' ');
        else if (n == 1 && p[0] == '\'' && squote)
            e = buf_puts(out, "''");
        else
            e = buf_append(out, p, n);
        n = n ? n : 1;
        p += n;
        left -= n;
        used += n;
    }
    if (e != RT_OK && *err == RT_OK)
        *err = e;
}

/* @text as a single-quoted gnuplot string, at most @max_bytes of it. */
static void gp_quote(struct script *s, const char *text, size_t max_bytes)
{
    gp(s, "'");
    clean_text(&s->text, text, max_bytes, 1, &s->err);
    gp(s, "'");
}

static void gp_rgb(struct script *s, unsigned rgb)
{
    gp(s, "rgb '#%06x'", rgb & 0xffffffu);
}

/* "title — run" as the plot's title; the caption keeps only "title". */
static void gp_title(struct script *s, const struct plots_labels *labels,
                     const char *title)
{
    struct buf t;
    enum rt_err err = RT_OK;

    buf_init(&t, 1024);
    clean_text(&t, title, TITLE_BYTES, 0, &err);
    if (labels && labels->run_name && *labels->run_name) {
        if (err == RT_OK)
            err = buf_puts(&t, " \xe2\x80\x94 ");
        clean_text(&t, labels->run_name, LABEL_BYTES, 0, &err);
    }
    gp(s, "set title ");
    gp_quote(s, buf_str(&t), 2 * TITLE_BYTES);
    gp(s, " font ',14' textcolor rgb '#212121'\n");
    if (err != RT_OK && s->err == RT_OK)
        s->err = err;
    buf_release(&t);
}

/* @text made safe (clean_text()) and cut to fit @out. */
static void copy_clean(char *out, size_t out_len, const char *text)
{
    struct buf t;
    enum rt_err err = RT_OK;

    buf_init(&t, 1024);
    clean_text(&t, text, out_len > 4 ? out_len - 4 : 0, 0, &err);
    snprintf(out, out_len, "%s", buf_str(&t));
    buf_release(&t);
}

static void gp_prologue(struct script *s, const char *name, const char *what,
                        const char *data_files)
{
    gp(s,
       "# racetrace plot '%s': %s.\n"
       "# Reads %s from this directory.  Render by hand with\n"
       "#   cd <run>/plots && gnuplot %s.gp\n"
       "# which writes %s.png and %s.svg (or <out>.png and <out>.svg\n"
       "# with gnuplot -e \"out='<out>'\").\n"
       "reset\n"
       "if (!exists(\"out\")) out = '%s'\n"
       "set encoding utf8\n"
       "set border 3 front lc rgb '#616161' lw 1\n"
       "set tics nomirror out scale 0.5,0.25 textcolor rgb '#424242'\n"
       "set xlabel textcolor rgb '#424242'\n"
       "set ylabel textcolor rgb '#424242'\n"
       "set key textcolor rgb '#424242' noautotitle\n"
       "set grid back lt 1 lc rgb '#e4e4e4' lw 1 dt solid\n"
       "set style fill solid 0.9 noborder\n",
       name, what, data_files, name, name, name, name);
}

/* Axes without data, so an empty file still gives a plot of its own. */
static void gp_no_data(struct script *s)
{
    gp(s, "set xrange [0:1]\n"
          "set yrange [0:1]\n"
          "unset xtics\n"
          "unset ytics\n"
          "unset grid\n"
          "set label 1 'no data' at graph 0.5, graph 0.5 center "
          "font ',18' textcolor rgb '#9e9e9e'\n");
}

/* The plot command goes between gp_output_begin() and gp_output_end(). */
static void gp_output_begin(struct script *s)
{
    gp(s,
       "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
       "    set terminal pngcairo size %d,%d font '" FONT ",10' "
       "linewidth 1 noenhanced background rgb '#ffffff'\n"
       "} else {\n"
       "    set terminal png size %d,%d font '" FONT ",10' "
       "truecolor noenhanced background rgb '#ffffff'\n"
       "}\n"
       "set output out.'.png'\n",
       WIDTH_PX, s->height_px, WIDTH_PX, s->height_px);
}

static void gp_output_end(struct script *s)
{
    gp(s,
       "set terminal svg size %d,%d fixed font '" FONT ",10' "
       "fontscale 1.3 linewidth 1.2 noenhanced background rgb '#ffffff'\n"
       "set output out.'.svg'\n"
       "replot\n"
       "unset output\n",
       WIDTH_PX, s->height_px);
}

/* The whole plot of an empty data file: "no data" axes, both images. */
static void gp_empty_plot(struct script *s)
{
    gp_no_data(s);
    gp_output_begin(s);
    gp(s, "plot NaN\n");
    gp_output_end(s);
}

/* "name(s) = s eq 'A' ? 0x... : ... : 0xb0b0b0": a state's colour. */
static void gp_color_fn(struct script *s, const char *fn,
                        const struct states *st)
{
    gp(s, "%s(s) = ", fn);
    for (size_t i = 0; i < st->n; i++) {
        gp(s, "s eq ");
        gp_quote(s, st->name[i], SIZE_MAX);
        gp(s, " ? 0x%06x : ", st->rgb[i]);
    }
    gp(s, "0x%06x\n", NO_STATE_RGB);
}

/* Category tics for a bar chart: "name" over a smaller second line. */
struct tics {
    char *label[TICS_MAX]; /* owned */
    char *sub[TICS_MAX];   /* owned; made here, plain text */
    size_t n;
};

static void tics_add(struct tics *t, const char *label, const char *sub)
{
    if (t->n == TICS_MAX)
        return;
    t->label[t->n] = xstrdup(label);
    t->sub[t->n] = xstrdup(sub);
    t->n++;
}

static void tics_release(struct tics *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->label[i]);
        free(t->sub[i]);
    }
    t->n = 0;
}

static void gp_xtics(struct script *s, const struct tics *t)
{
    gp(s, "set xtics (");
    for (size_t i = 0; i < t->n; i++) {
        gp(s, "%s", i ? ", " : "");
        gp_quote(s, t->label[i], LABEL_BYTES);
        gp(s, ".\"\\n\".");
        gp_quote(s, t->sub[i], LABEL_BYTES);
        gp(s, " %zu", i);
    }
    gp(s, ") scale 0\n");
}

/* ---- swimlane --------------------------------------------------------- */

struct swim {
    char *label[LANES_MAX]; /* owned; NULL shows the lane number */
    long n_lanes;           /* highest lane seen + 1, capped at LANES_MAX */
    double t_min, t_max;    /* t_min <= 0: the axis starts at 0 or before */
    struct states routing, presence;
    size_t own, foreign, ok, conflict;
};

static void swim_lane_seen(struct swim *w, long lane)
{
    if (lane + 1 > w->n_lanes)
        w->n_lanes = lane + 1 < LANES_MAX ? lane + 1 : LANES_MAX;
}

static void swim_time_seen(struct swim *w, double t)
{
    if (t > w->t_max)
        w->t_max = t;
    if (t < w->t_min)
        w->t_min = t;
}

static int swim_lane_row(void *ctx, const struct dat_row *row)
{
    struct swim *w = ctx;
    long lane;

    if (!field_lane(row, 0, &lane))
        return 0;
    swim_lane_seen(w, lane);
    if (lane < LANES_MAX && row->n >= 2 && !w->label[lane])
        w->label[lane] = xstrdup(row->f[1]);
    return 1;
}

static int swim_state_row(void *ctx, const struct dat_row *row)
{
    struct swim *w = ctx;
    long lane;
    double t0, t1;
    int64_t kind;

    if (!field_lane(row, 0, &lane) || !field_double(row, 1, &t0) ||
        !field_double(row, 2, &t1) || !field_int(row, 3, &kind) || row->n < 5 ||
        (kind != 0 && kind != 1))
        return 0;
    swim_lane_seen(w, lane);
    swim_time_seen(w, t0);
    swim_time_seen(w, t1);
    states_add(kind == 0 ? &w->routing : &w->presence, row->f[4]);
    return 1;
}

static int swim_bump_row(void *ctx, const struct dat_row *row)
{
    struct swim *w = ctx;
    long lane;
    double t;
    int64_t origin;

    if (!field_lane(row, 0, &lane) || !field_double(row, 1, &t) ||
        !field_int(row, 2, &origin) || (origin != 0 && origin != 1))
        return 0;
    swim_lane_seen(w, lane);
    swim_time_seen(w, t);
    if (origin == 0)
        w->own++;
    else
        w->foreign++;
    return 1;
}

static int swim_window_row(void *ctx, const struct dat_row *row)
{
    struct swim *w = ctx;
    long lane;
    double t_read, t_write;
    int64_t outcome;

    if (!field_lane(row, 0, &lane) || !field_double(row, 1, &t_read) ||
        !field_double(row, 2, &t_write) || !field_int(row, 3, &outcome) ||
        (outcome != 0 && outcome != 1))
        return 0;
    swim_lane_seen(w, lane);
    swim_time_seen(w, t_read);
    swim_time_seen(w, t_write);
    if (outcome == 0)
        w->ok++;
    else
        w->conflict++;
    return 1;
}

/*
 * The legend is built from keyentry items only, so its order is free of
 * the drawing order: one row per group (routing states, presences,
 * events) behind a header, laid out by gnuplot column by column in as
 * many rows as there are groups.
 */
#define KEY_COLS 6 /* entries per group before the grid gives up */
#define KEY_STYLE_BYTES 160

struct key_entry {
    char style[KEY_STYLE_BYTES]; /* "with ..." made here, no data text */
    const char *title;           /* borrowed; shown as given */
    const char *suffix;          /* appended to the title */
};

struct key_row {
    const char *header;
    struct key_entry e[STATES_MAX];
    size_t n;
};

static void key_add(struct key_row *row, const char *title, const char *suffix,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void key_add(struct key_row *row, const char *title, const char *suffix,
                    const char *fmt, ...)
{
    va_list ap;

    if (row->n == STATES_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(row->e[row->n].style, KEY_STYLE_BYTES, fmt, ap);
    va_end(ap);
    row->e[row->n].title = title;
    row->e[row->n].suffix = suffix;
    row->n++;
}

static void key_states(struct key_row *row, const struct states *st,
                       const char *suffix)
{
    for (size_t i = 0; i < st->n; i++)
        key_add(row, st->name[i], suffix,
                "with boxes fs solid 1.0 noborder fc rgb '#%06x'", st->rgb[i]);
}

static void gp_key_entry(struct script *s, const struct key_entry *e)
{
    struct buf t;
    enum rt_err err = RT_OK;

    buf_init(&t, 1024);
    clean_text(&t, e->title, LABEL_BYTES, 0, &err);
    if (err == RT_OK && e->suffix)
        err = buf_puts(&t, e->suffix);
    gp(s, ", \\\n     keyentry %s title ", e->style);
    gp_quote(s, buf_str(&t), 2 * LABEL_BYTES);
    if (err != RT_OK && s->err == RT_OK)
        s->err = err;
    buf_release(&t);
}

/* The "set key" line; gp_key_rows() must follow with the same rows. */
static void gp_key_layout(struct script *s, const struct key_row *rows,
                          size_t n_rows)
{
    size_t used = 0, cols = 0, total = 0;

    for (size_t r = 0; r < n_rows; r++) {
        if (rows[r].n == 0)
            continue;
        used++;
        total += rows[r].n;
        if (rows[r].n > cols)
            cols = rows[r].n;
    }
    if (cols > KEY_COLS)
        used = (total + KEY_COLS) / (KEY_COLS + 1);
    gp(s,
       "set key outside below center vertical Left reverse maxrows %zu "
       "samplen 1.5 spacing 1.25 width 1\n",
       used > 0 ? used : 1);
}

static void gp_key_rows(struct script *s, const struct key_row *rows,
                        size_t n_rows)
{
    static const struct key_entry blank = {"with points ps 0 lc rgb '#ffffff'",
                                           " ", NULL};
    size_t cols = 0;

    for (size_t r = 0; r < n_rows; r++)
        if (rows[r].n > cols)
            cols = rows[r].n;
    if (cols > KEY_COLS) {
        /* Too wide for a grid: the groups one after the other. */
        for (size_t r = 0; r < n_rows; r++)
            for (size_t i = 0; i < rows[r].n; i++)
                gp_key_entry(s, &rows[r].e[i]);
        return;
    }
    for (size_t c = 0; c <= cols; c++) {
        for (size_t r = 0; r < n_rows; r++) {
            struct key_entry header = blank;

            if (rows[r].n == 0)
                continue;
            header.title = rows[r].header;
            if (c == 0)
                gp_key_entry(s, &header);
            else
                gp_key_entry(s, c - 1 < rows[r].n ? &rows[r].e[c - 1] : &blank);
        }
    }
}

/*
 * Lane layout, in lane units around the lane's centre (the y axis runs
 * downwards): bump ticks on top, the routing band, the thinner presence
 * band, the read->write windows at the bottom; conflicts cross the
 * routing band.
 */
#define BUMP_Y0 "-0.48"
#define BUMP_DY "0.17"
#define ROUTING_Y0 "-0.30"
#define ROUTING_Y1 "0.10"
#define PRESENCE_Y0 "0.14"
#define PRESENCE_Y1 "0.28"
#define WINDOW_Y "0.38"
#define CONFLICT_Y "-0.10"

#define OK_RGB "'#00897b'"
#define CONFLICT_RGB "'#e53935'"
#define MARK_RGB "'#b71c1c'"
#define OWN_RGB "'#546e7a'"
#define FOREIGN_RGB "'#d81b60'"
#define WINDOW_HEADS "heads size screen 0.003,90"

static void swim_plot(struct script *s, const struct swim *w)
{
    struct key_row *keys = xcalloc(3, sizeof(*keys));
    long lanes = w->n_lanes > 0 ? w->n_lanes : 1;
    double t_max = w->t_max > 0 ? w->t_max : 1;

    keys[0].header = "routing status:";
    key_states(&keys[0], &w->routing, NULL);
    keys[1].header = "presence:";
    key_states(&keys[1], &w->presence, NULL);
    keys[2].header = "events:";
    if (w->foreign > 0)
        key_add(&keys[2], "foreign bump", NULL,
                "with vectors nohead lw 2.5 lc rgb " FOREIGN_RGB);
    if (w->own > 0)
        key_add(&keys[2], "own bump", NULL,
                "with vectors nohead lw 2 lc rgb " OWN_RGB);
    if (w->ok > 0)
        key_add(&keys[2], "read\xe2\x86\x92write ok", NULL,
                "with vectors " WINDOW_HEADS " lw 1.5 lc rgb " OK_RGB);
    if (w->conflict > 0) {
        key_add(&keys[2], "read\xe2\x86\x92write conflict", NULL,
                "with vectors " WINDOW_HEADS " lw 2 lc rgb " CONFLICT_RGB);
        key_add(&keys[2], "conflict at write", NULL,
                "with points pt 2 ps 1.4 lw 3 lc rgb " MARK_RGB);
    }

    gp(s, "set xlabel 'seconds since start'\n"
          "set ylabel 'agent' offset 1,0\n"
          "set grid xtics noytics\n"
          "set mxtics 2\n");
    gp(s, "set xrange [%.3f:%.3f]\n", floor(w->t_min), t_max);
    gp(s, "set yrange [%ld.5:-0.5]\n", lanes - 1);
    gp(s, "set ytics font '" MONO_FONT ",9' scale 0 (");
    for (long i = 0; i < lanes; i++) {
        char num[32];

        snprintf(num, sizeof(num), "%ld", i);
        gp(s, "%s", i ? ", " : "");
        gp_quote(s, w->label[i] ? w->label[i] : num, LABEL_BYTES);
        gp(s, " %ld", i);
    }
    gp(s, ")\n");
    /* Every other lane shaded, so a lane can be followed across. */
    for (long i = 1; i < lanes; i += 2)
        gp(s,
           "set object %ld rect from graph 0, first %ld.5 to graph 1, "
           "first %ld.5 behind fc rgb '#eef1f4' fs solid 1.0 noborder\n",
           i / 2 + 1, i - 1, i);
    gp_key_layout(s, keys, 3);
    gp_color_fn(s, "routing_rgb", &w->routing);
    gp_color_fn(s, "presence_rgb", &w->presence);
    gp_output_begin(s);
    gp(s, "plot NaN notitle");
    if (w->routing.n > 0)
        gp(s, ", \\\n     'swimlane_states.dat' using ($4 == 0 ? "
              "($2 + $3) / 2 : NaN):1:2:3:($1 " ROUTING_Y0 "):($1 + " ROUTING_Y1
              "):(routing_rgb(strcol(5))) with boxxyerror fs solid 1.0 "
              "noborder lc rgb variable notitle");
    if (w->presence.n > 0)
        gp(s, ", \\\n     'swimlane_states.dat' using ($4 == 1 ? "
              "($2 + $3) / 2 : NaN):1:2:3:($1 + " PRESENCE_Y0
              "):($1 + " PRESENCE_Y1 "):(presence_rgb(strcol(5))) "
              "with boxxyerror fs solid 1.0 noborder lc rgb variable "
              "notitle");
    if (w->ok > 0)
        gp(s,
           ", \\\n     'swimlane_windows.dat' using 2:($4 == 0 ? $1 + " WINDOW_Y
           " : NaN):($3 - $2):(0) with vectors " WINDOW_HEADS
           " lw 1.5 lc rgb " OK_RGB " notitle");
    if (w->conflict > 0)
        gp(s,
           ", \\\n     'swimlane_windows.dat' using 2:($4 == 1 ? $1 + " WINDOW_Y
           " : NaN):($3 - $2):(0) with vectors " WINDOW_HEADS
           " lw 2 lc rgb " CONFLICT_RGB " notitle");
    if (w->own > 0)
        gp(s, ", \\\n     'swimlane_bumps.dat' using 2:($3 == 0 ? $1 " BUMP_Y0
              " : NaN):(0):(" BUMP_DY ") with vectors nohead lw 2 "
              "lc rgb " OWN_RGB " notitle");
    if (w->foreign > 0)
        gp(s, ", \\\n     'swimlane_bumps.dat' using 2:($3 == 1 ? $1 " BUMP_Y0
              " : NaN):(0):(" BUMP_DY ") with vectors nohead lw 2.5 "
              "lc rgb " FOREIGN_RGB " notitle");
    if (w->conflict > 0)
        gp(s,
           ", \\\n     'swimlane_windows.dat' using 3:($4 == 1 ? $1 "
           "+ " CONFLICT_Y
           " : NaN) with points pt 2 ps 1.6 lw 3 lc rgb " MARK_RGB " notitle");
    gp_key_rows(s, keys, 3);
    gp(s, "\n");
    gp_output_end(s);
    free(keys);
}

static int build_swimlane(const char *dir, const struct plots_labels *labels,
                          struct script *s, char *title, size_t title_len)
{
    static const char caption[] = "Per-agent timeline: states, version "
                                  "bumps, read\xe2\x86\x92write windows";
    struct swim w;
    size_t n_lanes, n_states = 0, n_bumps = 0, n_windows = 0;
    long lanes_px;

    memset(&w, 0, sizeof(w));
    /* Unknown presences start further down the extra colours, so they
     * do not look like an unknown routing state. */
    states_init(&w.routing, routing_colors,
                sizeof(routing_colors) / sizeof(routing_colors[0]), 0);
    states_init(&w.presence, presence_colors,
                sizeof(presence_colors) / sizeof(presence_colors[0]), 3);
    if (!dat_scan(dir, "swimlane_lanes.dat", swim_lane_row, &w, &n_lanes))
        goto out_missing;
    dat_scan(dir, "swimlane_states.dat", swim_state_row, &w, &n_states);
    dat_scan(dir, "swimlane_bumps.dat", swim_bump_row, &w, &n_bumps);
    dat_scan(dir, "swimlane_windows.dat", swim_window_row, &w, &n_windows);

    lanes_px = SWIM_BASE_PX + SWIM_LANE_PX * (w.n_lanes > 0 ? w.n_lanes : 1);
    s->height_px = (int)(lanes_px < SWIM_MIN_PX   ? SWIM_MIN_PX
                         : lanes_px > SWIM_MAX_PX ? SWIM_MAX_PX
                                                  : lanes_px);
    gp_prologue(s, "swimlane", "per-agent swimlane timeline",
                "swimlane_lanes.dat, swimlane_states.dat, "
                "swimlane_bumps.dat and swimlane_windows.dat");
    gp_title(s, labels, caption);
    if (n_lanes + n_states + n_bumps + n_windows == 0) {
        gp(s, "set xlabel 'seconds since start'\n");
        gp_empty_plot(s);
    } else {
        swim_plot(s, &w);
    }
    copy_clean(title, title_len, caption);
    for (long i = 0; i < LANES_MAX; i++)
        free(w.label[i]);
    states_release(&w.routing);
    states_release(&w.presence);
    return 1;

out_missing:
    for (long i = 0; i < LANES_MAX; i++)
        free(w.label[i]);
    states_release(&w.routing);
    states_release(&w.presence);
    return 0;
}

/* ---- lag -------------------------------------------------------------- */

struct lag_bin {
    double lo, hi, count;
};

struct lag {
    struct lag_bin *bin; /* owned */
    size_t n, cap;
    double total, max_count;
};

static int lag_row(void *ctx, const struct dat_row *row)
{
    struct lag *l = ctx;
    struct lag_bin b;

    if (!field_double(row, 0, &b.lo) || !field_double(row, 1, &b.hi) ||
        !field_double(row, 2, &b.count) || b.hi < b.lo || b.count < 0)
        return 0;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->bin = xreallocarray(l->bin, l->cap, sizeof(l->bin[0]));
    }
    l->bin[l->n++] = b;
    l->total += b.count;
    if (b.count > l->max_count)
        l->max_count = b.count;
    return 1;
}

static int lag_bin_cmp(const void *a, const void *b)
{
    const struct lag_bin *x = a, *y = b;

    return (x->lo > y->lo) - (x->lo < y->lo);
}

/* The median lag read off the bins, interpolated inside its bin. */
static double lag_median(const struct lag *l)
{
    double half = l->total / 2, cum = 0;

    for (size_t i = 0; i < l->n; i++) {
        const struct lag_bin *b = &l->bin[i];

        if (b->count > 0 && cum + b->count >= half)
            return b->lo + (half - cum) / b->count * (b->hi - b->lo);
        cum += b->count;
    }
    return NAN;
}

static double lag_hi(const struct lag *l)
{
    double hi = l->bin[0].hi;

    for (size_t i = 1; i < l->n; i++)
        if (l->bin[i].hi > hi)
            hi = l->bin[i].hi;
    return hi;
}

static int build_lag(const char *dir, const struct plots_labels *labels,
                     struct script *s, char *title, size_t title_len)
{
    struct lag l;
    struct buf cap;
    enum rt_err err = RT_OK;
    size_t rows;
    const char *signal = labels ? labels->signal : NULL;

    memset(&l, 0, sizeof(l));
    if (!dat_scan(dir, "lag.dat", lag_row, &l, &rows)) {
        free(l.bin);
        return 0;
    }
    buf_init(&cap, 1024);
    if (signal && *signal) {
        err = buf_puts(&cap, "Lag from ");
        clean_text(&cap, signal, LABEL_BYTES, 0, &err);
        if (err == RT_OK)
            err = buf_puts(&cap, " to version bump");
    } else {
        err = buf_puts(&cap, "Lag from transition to version bump");
    }
    if (err != RT_OK && s->err == RT_OK)
        s->err = err;

    gp_prologue(s, "lag", "lag from the verdict's transition to the bump",
                "lag.dat");
    gp_title(s, labels, buf_str(&cap));
    gp(s, "set xlabel 'lag (ms)'\n"
          "set ylabel 'version bumps'\n"
          "set grid noxtics ytics\n");
    if (rows == 0) {
        gp_no_data(s);
        gp_output_begin(s);
        gp(s, "plot NaN\n");
    } else {
        double median;

        qsort(l.bin, l.n, sizeof(l.bin[0]), lag_bin_cmp);
        median = l.total > 0 ? lag_median(&l) : NAN;
        gp(s, "set xrange [%.6g:%.6g]\n", l.bin[0].lo, lag_hi(&l));
        gp(s, "set yrange [0:%.6g]\n",
           l.max_count > 0 ? ceil(l.max_count * 1.15) : 1);
        gp(s, "set key top right Left reverse samplen 1.5\n");
        if (isfinite(median)) {
            gp(s,
               "set arrow 1 from first %.6g, graph 0 to first %.6g, graph 1 "
               "nohead front lw 2 dt 2 lc rgb '#e53935'\n"
               "set label 1 'median %.0f ms' at first %.6g, graph 0.95 "
               "left offset 0.8,0 front textcolor rgb '#c62828'\n",
               median, median, median, median);
        }
        gp_output_begin(s);
        gp(s,
           "plot 'lag.dat' using (($1 + $2) / 2):3:($2 - $1) with boxes "
           "fs solid 0.85 border lc rgb '#ffffff' lc rgb '#1e88e5' "
           "title 'bumps (%.0f)'\n",
           l.total);
    }
    gp_output_end(s);
    copy_clean(title, title_len, buf_str(&cap));
    buf_release(&cap);
    free(l.bin);
    return 1;
}

/* ---- outcomes --------------------------------------------------------- */

struct outcomes {
    double t_min, t_max, peak, total[4]; /* t_min <= 0 */
};

static int outcomes_row(void *ctx, const struct dat_row *row)
{
    struct outcomes *o = ctx;
    double t, v[4];

    if (!field_double(row, 0, &t))
        return 0;
    for (size_t i = 0; i < 4; i++) {
        if (!field_double(row, i + 1, &v[i]))
            return 0;
    }
    if (t + 1 > o->t_max)
        o->t_max = t + 1;
    if (t < o->t_min)
        o->t_min = t;
    for (size_t i = 0; i < 4; i++) {
        o->total[i] += v[i];
        if (v[i] > o->peak)
            o->peak = v[i];
    }
    return 1;
}

struct replay_window {
    double t0, t1;
    size_t strategy; /* index into the strategies */
};

struct replay {
    struct replay_window win[WINDOWS_MAX];
    size_t n;
    struct states strategies;
};

static int replay_row(void *ctx, const struct dat_row *row)
{
    struct replay *r = ctx;
    struct replay_window *w;
    double t0, t1;

    if (!field_double(row, 0, &t0) || !field_double(row, 1, &t1) ||
        row->n < 3 || t1 < t0)
        return 0;
    if (r->n == WINDOWS_MAX)
        return 1;
    states_add(&r->strategies, row->f[2]);
    w = &r->win[r->n++];
    w->t0 = t0;
    w->t1 = t1;
    w->strategy = STATES_MAX;
    for (size_t i = 0; i < r->strategies.n; i++)
        if (strcmp(r->strategies.name[i], row->f[2]) == 0)
            w->strategy = i;
    return 1;
}

static int build_outcomes(const char *dir, const struct plots_labels *labels,
                          struct script *s, char *title, size_t title_len)
{
    static const char caption[] = "Requests per second by outcome";
    struct outcomes o;
    struct replay r;
    size_t rows, n_replay = 0;
    double t_min, t_max, y_max;

    memset(&o, 0, sizeof(o));
    if (!dat_scan(dir, "outcomes.dat", outcomes_row, &o, &rows))
        return 0;
    memset(&r, 0, sizeof(r));
    states_init(&r.strategies, NULL, 0, 0);
    dat_scan(dir, "replay_windows.dat", replay_row, &r, &n_replay);

    gp_prologue(s, "outcomes", "requests per second by outcome",
                "outcomes.dat and replay_windows.dat");
    gp_title(s, labels, caption);
    gp(s, "set xlabel 'seconds since start'\n"
          "set ylabel 'requests per second'\n"
          "set mxtics 2\n");
    if (rows == 0) {
        gp_empty_plot(s);
        goto out;
    }
    t_min = o.t_min;
    t_max = o.t_max;
    for (size_t i = 0; i < r.n; i++) {
        if (r.win[i].t1 > t_max)
            t_max = r.win[i].t1;
        if (r.win[i].t0 < t_min)
            t_min = r.win[i].t0;
    }
    /* Room above the highest second for the window labels. */
    y_max = o.peak > 0 ? ceil(o.peak * 1.15 + 1) : 1;
    gp(s, "set xrange [%.3f:%.3f]\n", floor(t_min), ceil(t_max));
    gp(s, "set yrange [0:%.6g]\n", y_max);
    gp(s, "set key outside right top vertical Left reverse samplen 1.5 "
          "spacing 1.3 width 2\n");
    /* Replay windows: grey bands behind everything, each named on top;
     * strategies differ by name, not colour, so the bands never tint
     * the outcome colours. */
    for (size_t i = 0; i < r.n; i++) {
        const struct replay_window *w = &r.win[i];

        gp(s,
           "set object %zu rect from first %.3f, graph 0 to first %.3f, "
           "graph 1 behind fc rgb '#455a64' fs transparent solid 0.09 "
           "noborder\n",
           i + 1, w->t0, w->t1);
        gp(s, "set label %zu ", i + 1);
        if (w->strategy < r.strategies.n)
            gp_quote(s, r.strategies.name[w->strategy], LABEL_BYTES);
        else
            gp(s, "''");
        gp(s,
           " at first %.3f, graph 0.97 center front font ',9' "
           "tc rgb '#37474f'\n",
           (w->t0 + w->t1) / 2);
    }
    gp_output_begin(s);
    /* ok is the bulk: a filled step line.  The failures are few: stacked
     * bars per second, so a single conflict stays visible. */
    gp(s, "plot 'outcomes.dat' using ($1 + 0.5):2:(1.0) with boxes "
          "fs transparent solid 0.22 noborder lc rgb '#43a047', \\\n"
          "     'outcomes.dat' using ($1 + 0.5):2 with histeps lw 1.5 "
          "lc rgb '#2e7d32', \\\n"
          "     'outcomes.dat' using ($1 + 0.5):($3 + $4 + $5):(0.8) "
          "with boxes fs solid 1.0 noborder lc rgb '#6a1b9a', \\\n"
          "     'outcomes.dat' using ($1 + 0.5):($3 + $4):(0.8) "
          "with boxes fs solid 1.0 noborder lc rgb '#fb8c00', \\\n"
          "     'outcomes.dat' using ($1 + 0.5):3:(0.8) "
          "with boxes fs solid 1.0 noborder lc rgb '#e53935'");
    /* The legend in reading order, not drawing order. */
    gp(s,
       ", \\\n     keyentry with lines lw 1.5 lc rgb '#2e7d32' "
       "title 'ok (%.0f)'",
       o.total[0]);
    gp(s,
       ", \\\n     keyentry with boxes fs solid 1.0 noborder "
       "fc rgb '#e53935' title 'conflict (%.0f)'",
       o.total[1]);
    gp(s,
       ", \\\n     keyentry with boxes fs solid 1.0 noborder "
       "fc rgb '#fb8c00' title 'throttled (%.0f)'",
       o.total[2]);
    gp(s,
       ", \\\n     keyentry with boxes fs solid 1.0 noborder "
       "fc rgb '#6a1b9a' title 'error (%.0f)'",
       o.total[3]);
    if (r.n > 0)
        gp(s, ", \\\n     keyentry with boxes fs transparent solid 0.18 "
              "noborder fc rgb '#455a64' title 'replay window'");
    gp(s, "\n");
    gp_output_end(s);
out:
    copy_clean(title, title_len, caption);
    states_release(&r.strategies);
    return 1;
}

/* ---- latency ---------------------------------------------------------- */

struct latency {
    struct tics tics;
    double min_pos, max;
};

static int latency_row(void *ctx, const struct dat_row *row)
{
    struct latency *l = ctx;
    char sub[48];
    int64_t n = 0;

    /* Every line gets its tic: gnuplot numbers the lines the same way. */
    field_int(row, 1, &n);
    snprintf(sub, sizeof(sub), "n=%lld", (long long)n);
    tics_add(&l->tics, row->n > 0 ? row->f[0] : "", sub);
    for (size_t i = 2; i < 6; i++) {
        double v;

        if (!field_double(row, i, &v))
            continue;
        if (v > 0 && (l->min_pos == 0 || v < l->min_pos))
            l->min_pos = v;
        if (v > l->max)
            l->max = v;
    }
    return 1;
}

/* Clustered bars: series @j of @k around each category's integer x. */
static double bar_offset(size_t j, size_t k)
{
    return ((double)j - (double)(k - 1) / 2) * (0.8 / (double)k);
}

/*
 * Axes of a chart with one category (tic) per data row.  With no rows the
 * whole plot is the empty one and 0 is returned: the caller draws nothing
 * more.  The labels are the caller's literals and hold no quote.
 */
static int gp_category_axes(struct script *s, const char *xlabel,
                            const char *ylabel, const struct tics *tics,
                            size_t rows)
{
    gp(s,
       "set xlabel '%s' offset 0,-1\n"
       "set ylabel '%s'\n"
       "set grid noxtics ytics\n",
       xlabel, ylabel);
    if (rows == 0) {
        gp_empty_plot(s);
        return 0;
    }
    gp_xtics(s, tics);
    return 1;
}

/* Room below for the two-line tics, the key to the right of the bars. */
static void gp_bars_key(struct script *s)
{
    gp(s, "set bmargin 6\n"
          "set key outside right top vertical Left reverse samplen 1.5 "
          "spacing 1.3 width 2\n");
}

/* The plot command's four clustered bar series: column @cols[j] of @dat
 * drawn in @rgb[j] and titled @names[j]. */
static void gp_bars(struct script *s, const char *dat, const size_t cols[4],
                    const char *const names[4], const unsigned rgb[4])
{
    double width = 0.8 / 4 * 0.9;

    for (size_t j = 0; j < 4; j++) {
        gp(s,
           "%s'%s' using ($0 %+.4f):%zu:(%.4f) with boxes "
           "fs solid 1.0 noborder lc ",
           j ? ", \\\n     " : "plot ", dat, bar_offset(j, 4), cols[j], width);
        gp_rgb(s, rgb[j]);
        gp(s, " title '%s'", names[j]);
    }
}

/* A value label over each of the four bars of gp_bars(): the expression
 * @pre $col @post, in @font_pt points. */
static void gp_bar_labels(struct script *s, const char *dat,
                          const size_t cols[4], const char *pre,
                          const char *post, int font_pt)
{
    for (size_t j = 0; j < 4; j++)
        gp(s,
           ", \\\n     '%s' using ($0 %+.4f):%zu:(%s$%zu%s) "
           "with labels offset 0,0.6 font ',%d' tc rgb '#424242' notitle",
           dat, bar_offset(j, 4), cols[j], pre, cols[j], post, font_pt);
}

static int build_latency(const char *dir, const struct plots_labels *labels,
                         struct script *s, char *title, size_t title_len)
{
    static const char caption[] = "Latency by HTTP status";
    static const char *const names[] = {"p50", "p90", "p99", "max"};
    static const size_t cols[] = {3, 4, 5, 6};
    static const unsigned rgb[] = {0x90caf9, 0x42a5f5, 0x1565c0, 0x263238};
    struct latency l;
    size_t rows;

    memset(&l, 0, sizeof(l));
    if (!dat_scan(dir, "latency.dat", latency_row, &l, &rows)) {
        tics_release(&l.tics);
        return 0;
    }
    gp_prologue(s, "latency", "latency percentiles by HTTP status",
                "latency.dat");
    gp_title(s, labels, caption);
    if (!gp_category_axes(s, "HTTP status", "latency (ms)", &l.tics, rows))
        goto out;
    gp(s, "set xrange [-0.6:%zu.6]\n", rows - 1);
    gp_bars_key(s);
    gp(s, "lbl(v) = v >= 100 ? sprintf('%%.0f', v) : sprintf('%%.3g', v)\n");
    /* A log axis once the slowest is 30 times the fastest, else the fast
     * statuses (429s answered at once) vanish at the bottom. */
    if (l.min_pos > 0 && l.max / l.min_pos >= 30) {
        gp(s,
           "set logscale y 10\n"
           "set yrange [%.6g:%.6g]\n",
           pow(10, floor(log10(l.min_pos / 1.5))), l.max * 2.5);
        gp(s, "set mytics 10\n");
    } else {
        gp(s, "set yrange [0:%.6g]\n", l.max > 0 ? l.max * 1.15 : 1);
    }
    gp_output_begin(s);
    gp_bars(s, "latency.dat", cols, names, rgb);
    gp_bar_labels(s, "latency.dat", cols, "lbl(", ")", 8);
    gp(s, "\n");
    gp_output_end(s);
out:
    copy_clean(title, title_len, caption);
    tics_release(&l.tics);
    return 1;
}

/* ---- conflict_state --------------------------------------------------- */

struct cstate {
    struct tics tics;
    struct states states;
    double rate_max;
};

static int cstate_row(void *ctx, const struct dat_row *row)
{
    struct cstate *c = ctx;
    char sub[48];
    int64_t writes = 0;
    double rate;

    field_int(row, 1, &writes);
    snprintf(sub, sizeof(sub), "%lld writes", (long long)writes);
    tics_add(&c->tics, row->n > 0 ? row->f[0] : "", sub);
    if (row->n > 0)
        states_add(&c->states, row->f[0]);
    if (field_double(row, 3, &rate) && rate > c->rate_max)
        c->rate_max = rate;
    return 1;
}

static int build_cstate(const char *dir, const struct plots_labels *labels,
                        struct script *s, char *title, size_t title_len)
{
    static const char caption[] = "Conflict rate by agent routing state at "
                                  "write";
    struct cstate c;
    size_t rows;

    memset(&c, 0, sizeof(c));
    states_init(&c.states, routing_colors,
                sizeof(routing_colors) / sizeof(routing_colors[0]), 0);
    if (!dat_scan(dir, "conflict_state.dat", cstate_row, &c, &rows)) {
        tics_release(&c.tics);
        states_release(&c.states);
        return 0;
    }
    gp_prologue(s, "conflict_state", "conflict rate by routing state at write",
                "conflict_state.dat");
    gp_title(s, labels, caption);
    if (!gp_category_axes(s, "routing status of the agent at write",
                          "conflict rate (%)", &c.tics, rows))
        goto out;
    gp_color_fn(s, "state_rgb", &c.states);
    gp(s, "set xrange [-0.6:%zu.6]\n", rows - 1);
    gp(s, "set yrange [0:%.6g]\n",
       c.rate_max > 0 ? c.rate_max * 100 * 1.25 : 1);
    gp(s, "set bmargin 6\n"
          "set key off\n");
    gp_output_begin(s);
    gp(s, "plot 'conflict_state.dat' using 0:($4 * 100):(0.6):"
          "(state_rgb(strcol(1))) with boxes fs solid 1.0 noborder "
          "lc rgb variable, \\\n"
          "     'conflict_state.dat' using 0:($4 * 100):"
          "(sprintf('%%.1f%%%%  (%%d of %%d)', $4 * 100, int($3), int($2))) "
          "with labels offset 0,0.8 font ',10' tc rgb '#212121'\n");
    gp_output_end(s);
out:
    copy_clean(title, title_len, caption);
    tics_release(&c.tics);
    states_release(&c.states);
    return 1;
}

/* ---- strategies ------------------------------------------------------- */

struct strat {
    struct tics tics;
    double max;
};

static int strat_row(void *ctx, const struct dat_row *row)
{
    static const size_t cols[] = {2, 3, 4, 7}; /* the plotted columns */
    struct strat *st = ctx;
    char sub[64];
    int64_t ops = 0, requests = 0;

    field_int(row, 1, &ops);
    field_int(row, 6, &requests);
    snprintf(sub, sizeof(sub), "%lld ops, %lld requests", (long long)ops,
             (long long)requests);
    tics_add(&st->tics, row->n > 0 ? row->f[0] : "", sub);
    for (size_t i = 0; i < 4; i++) {
        double v;

        if (field_double(row, cols[i], &v) && v > st->max)
            st->max = v;
    }
    return 1;
}

static int build_strategies(const char *dir, const struct plots_labels *labels,
                            struct script *s, char *title, size_t title_len)
{
    static const char caption[] = "Strategy comparison";
    static const char *const names[] = {"succeeded", "conflicts", "gave up",
                                        "wasted requests"};
    static const size_t cols[] = {3, 4, 5, 8};
    static const unsigned rgb[] = {0x43a047, 0xe53935, 0x616161, 0xfb8c00};
    struct strat st;
    size_t rows;

    memset(&st, 0, sizeof(st));
    if (!dat_scan(dir, "strategies.dat", strat_row, &st, &rows)) {
        tics_release(&st.tics);
        return 0;
    }
    gp_prologue(s, "strategies", "strategy comparison", "strategies.dat");
    gp_title(s, labels, caption);
    if (!gp_category_axes(s, "strategy", "count", &st.tics, rows))
        goto out;
    gp(s, "set xrange [-0.6:%zu.6]\n", rows - 1);
    gp(s, "set yrange [0:%.6g]\n", st.max > 0 ? ceil(st.max * 1.15) : 1);
    gp_bars_key(s);
    gp_output_begin(s);
    gp_bars(s, "strategies.dat", cols, names, rgb);
    gp_bar_labels(s, "strategies.dat", cols, "sprintf('%d', int(", "))", 9);
    gp(s, "\n");
    gp_output_end(s);
out:
    copy_clean(title, title_len, caption);
    tics_release(&st.tics);
    return 1;
}

/* ---- Files and gnuplot ------------------------------------------------ */

typedef int (*plot_build_fn)(const char *dir, const struct plots_labels *,
                             struct script *s, char *title, size_t title_len);

static const struct plot_def {
    const char *name;
    plot_build_fn build;
} plot_defs[] = {
    {"swimlane", build_swimlane},     {"lag", build_lag},
    {"outcomes", build_outcomes},     {"latency", build_latency},
    {"conflict_state", build_cstate}, {"strategies", build_strategies},
};

#define N_PLOTS (sizeof(plot_defs) / sizeof(plot_defs[0]))

static void remove_file(const char *dir, const char *name, const char *ext)
{
    char path[PATH_BYTES];

    snprintf(path, sizeof(path), "%s/%s%s", dir, name, ext);
    if (unlink(path) && errno != ENOENT)
        log_warn("cannot remove '%s': %s", path, strerror(errno));
}

static void remove_images(const char *dir, const char *name)
{
    remove_file(dir, name, ".png");
    remove_file(dir, name, ".svg");
    remove_file(dir, name, ".tmp.png");
    remove_file(dir, name, ".tmp.svg");
}

/* @dir/@name.gp through a temporary file, so no half script is left. */
static enum rt_err write_script(const char *dir, const char *name,
                                const struct script *s)
{
    char path[PATH_BYTES];
    const char *text = buf_str(&s->text);

    if (s->err != RT_OK)
        return rt_fail(RT_EIO, "cannot write '%s/%s.gp': %s", dir, name,
                       rt_strerror(s->err));
    snprintf(path, sizeof(path), "%s/%s.gp", dir, name);
    return fs_write_atomic(path, text, s->text.len);
}

enum run_result { RUN_OK, RUN_FAILED, RUN_NOT_FOUND };

static void log_line(int fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A separator line in gnuplot.log, so each plot's messages can be found. */
static void log_line(int fd, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    int n;

    if (fd < 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0 && write(fd, line, strlen(line)) < 0)
        log_debug("cannot write to the gnuplot log: %s", strerror(errno));
}

/*
 * The environment gnuplot runs with: ours, with the locale forced to
 * C.UTF-8 (present on every Debian system), so that the scripts' UTF-8
 * labels convert without warnings and numbers print with a decimal point
 * whatever the user's locale; the same pictures on every machine.  The
 * array is the caller's (free() it; the strings are borrowed).
 */
static char **gnuplot_env(void)
{
    static char locale[] = "LC_ALL=C.UTF-8";
    size_t n = 0, k = 0;
    char **env;

    while (environ[n])
        n++;
    env = xcalloc(n + 2, sizeof(*env));
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LC_", 3) && strncmp(environ[i], "LANG=", 5) &&
            strncmp(environ[i], "LANGUAGE=", 9))
            env[k++] = environ[i];
    env[k++] = locale;
    env[k] = NULL;
    return env;
}

/*
 * Run `@prog -d -e "out='<name>.tmp'" <name>.gp` in @dir and move its two
 * images into place.  RUN_NOT_FOUND when @prog cannot be started at all.
 */
static enum run_result run_gnuplot(const char *prog, const char *dir,
                                   const char *name, int log_fd,
                                   const char *log_path)
{
    char out_arg[96], script[64];
    char *argv[6], *prog_arg = xstrdup(prog);
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int rc, status;
    enum run_result result = RUN_FAILED;

    snprintf(out_arg, sizeof(out_arg), "out='%s.tmp'", name);
    snprintf(script, sizeof(script), "%s.gp", name);
    argv[0] = prog_arg;
    argv[1] = "-d";
    argv[2] = "-e";
    argv[3] = out_arg;
    argv[4] = script;
    argv[5] = NULL;

    remove_images(dir, name);
    log_line(log_fd, "== %s.gp\n", name);
    rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0) {
        log_warn("cannot run gnuplot for plot '%s': %s", name, strerror(rc));
        goto out;
    }
    rc = posix_spawn_file_actions_addchdir_np(&fa, dir);
    if (rc == 0)
        rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0 && log_fd >= 0) {
        rc = posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
        if (rc == 0)
            rc = posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
    } else if (rc == 0) {
        rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        if (rc == 0)
            rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    }
    if (rc == 0) {
        char **env = gnuplot_env();
        rc = posix_spawnp(&pid, prog, &fa, NULL, argv, env);
        free(env);
    }
    posix_spawn_file_actions_destroy(&fa);
    if (rc == ENOENT || rc == EACCES || rc == ENOTDIR || rc == ENOEXEC) {
        log_line(log_fd, "cannot run '%s': %s\n", prog, strerror(rc));
        result = RUN_NOT_FOUND;
        goto out;
    }
    if (rc != 0) {
        log_warn("cannot run gnuplot for plot '%s': %s", name, strerror(rc));
        goto out;
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            log_warn("cannot wait for gnuplot (plot '%s'): %s", name,
                     strerror(errno));
            goto out;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        char png[PATH_BYTES], svg[PATH_BYTES], tpng[PATH_BYTES],
            tsvg[PATH_BYTES];
        struct stat st_png, st_svg;

        snprintf(png, sizeof(png), "%s/%s.png", dir, name);
        snprintf(svg, sizeof(svg), "%s/%s.svg", dir, name);
        snprintf(tpng, sizeof(tpng), "%s/%s.tmp.png", dir, name);
        snprintf(tsvg, sizeof(tsvg), "%s/%s.tmp.svg", dir, name);
        if (stat(tpng, &st_png) == 0 && st_png.st_size > 0 &&
            stat(tsvg, &st_svg) == 0 && st_svg.st_size > 0 &&
            rename(tpng, png) == 0 && rename(tsvg, svg) == 0) {
            result = RUN_OK;
        } else {
            log_warn("gnuplot left no images for plot '%s'; see '%s'", name,
                     log_path);
        }
    } else if (WIFEXITED(status)) {
        log_line(log_fd, "== %s.gp: exit status %d\n", name,
                 WEXITSTATUS(status));
        log_warn("gnuplot failed on plot '%s' (exit status %d); see '%s'", name,
                 WEXITSTATUS(status), log_path);
    } else {
        log_warn("gnuplot failed on plot '%s' (signal %d); see '%s'", name,
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0, log_path);
    }
out:
    if (result != RUN_OK)
        remove_images(dir, name);
    free(prog_arg);
    return result;
}

/* @s as a shell word for the note: quoted only when it needs to be. */
static void shell_word(struct buf *b, const char *s, enum rt_err *err)
{
    enum rt_err e = RT_OK;

    if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789/._-+:,@") == strlen(s)) {
        clean_text(b, s, PATH_BYTES, 0, err);
        return;
    }
    e = buf_putc(b, '\'');
    for (const char *p = s; *p && e == RT_OK; p++) {
        char one[2] = {*p, '\0'};

        if (*p == '\'')
            e = buf_puts(b, "'\\''");
        else
            clean_text(b, one, 1, 0, &e);
    }
    if (e == RT_OK)
        e = buf_putc(b, '\'');
    if (e != RT_OK && *err == RT_OK)
        *err = e;
}

static void note_sep(struct buf *b, enum rt_err *err)
{
    if (b->len > 0 && *err == RT_OK)
        *err = buf_puts(b, "; ");
}

enum rt_err plots_render(const char *plots_dir,
                         const struct plots_labels *labels, const char *gnuplot,
                         struct plots_result *out)
{
    const char *prog = gnuplot ? gnuplot : "gnuplot";
    char log_path[PATH_BYTES];
    struct buf note, skipped, failed;
    enum rt_err ret = RT_OK, nerr = RT_OK;
    int log_fd = -1, tried = 0;

    if (!out)
        return rt_fail(RT_EINVAL, "plots: no result to fill in");
    memset(out, 0, sizeof(*out));
    if (!plots_dir || !*plots_dir)
        return rt_fail(RT_EINVAL, "plots: no plots directory");
    buf_init(&note, NOTE_MAX_BYTES);
    buf_init(&skipped, NOTE_MAX_BYTES);
    buf_init(&failed, NOTE_MAX_BYTES);

    for (size_t i = 0; i < N_PLOTS; i++) {
        const struct plot_def *d = &plot_defs[i];
        struct plots_item *item = &out->items[out->n_items];
        struct script s;

        memset(item, 0, sizeof(*item));
        script_init(&s);
        if (!d->build(plots_dir, labels, &s, item->title,
                      sizeof(item->title))) {
            script_release(&s);
            remove_file(plots_dir, d->name, ".gp");
            remove_images(plots_dir, d->name);
            if (skipped.len > 0 && nerr == RT_OK)
                nerr = buf_puts(&skipped, ", ");
            if (nerr == RT_OK)
                nerr = buf_puts(&skipped, d->name);
            continue;
        }
        if (write_script(plots_dir, d->name, &s) != RT_OK) {
            ret = RT_EIO;
            remove_images(plots_dir, d->name);
            memset(item, 0, sizeof(*item));
        } else {
            snprintf(item->name, sizeof(item->name), "%s", d->name);
            out->n_items++;
        }
        script_release(&s);
    }

    snprintf(log_path, sizeof(log_path), "%s/" LOG_NAME, plots_dir);
    if (out->n_items > 0) {
        log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log_fd < 0)
            log_warn("cannot create '%s': %s; gnuplot output discarded",
                     log_path, strerror(errno));
        out->gnuplot_found = 1;
    }
    for (size_t i = 0; i < out->n_items; i++) {
        struct plots_item *item = &out->items[i];
        enum run_result r;

        if (!out->gnuplot_found) {
            remove_images(plots_dir, item->name);
            continue;
        }
        r = run_gnuplot(prog, plots_dir, item->name, log_fd, log_path);
        tried = 1;
        if (r == RUN_NOT_FOUND) {
            out->gnuplot_found = 0;
            /* The caller reports the note; one line is enough. */
            log_debug("gnuplot not found ('%s'); plots not rendered", prog);
            remove_images(plots_dir, item->name);
            continue;
        }
        item->rendered = r == RUN_OK;
        if (r == RUN_FAILED) {
            if (failed.len > 0 && nerr == RT_OK)
                nerr = buf_puts(&failed, ", ");
            if (nerr == RT_OK)
                nerr = buf_puts(&failed, item->name);
        }
    }
    if (log_fd >= 0 && close(log_fd) != 0)
        log_warn("cannot write '%s': %s", log_path, strerror(errno));

    if (tried && !out->gnuplot_found) {
        if (nerr == RT_OK)
            nerr = buf_puts(&note, "gnuplot not found; render later with: cd ");
        shell_word(&note, plots_dir, &nerr);
        if (nerr == RT_OK)
            nerr =
                buf_puts(&note, " && for f in *.gp; do gnuplot \"$f\"; done");
    }
    if (failed.len > 0) {
        note_sep(&note, &nerr);
        if (nerr == RT_OK)
            nerr = buf_printf(&note, "gnuplot failed on %s; see ",
                              buf_str(&failed));
        clean_text(&note, log_path, PATH_BYTES, 0, &nerr);
    }
    if (skipped.len > 0) {
        note_sep(&note, &nerr);
        if (nerr == RT_OK)
            nerr = buf_printf(&note, "no data file for %s", buf_str(&skipped));
    }
    /* The note is advice for a person: cut to fit, at a character. */
    copy_clean(out->note, sizeof(out->note), buf_str(&note));
    buf_release(&failed);
    buf_release(&skipped);
    buf_release(&note);
    return ret;
}
