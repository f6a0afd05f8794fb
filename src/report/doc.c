/*
 * summary.md and report.html from summary.json.  One walk over the summary
 * drives both formats through a handful of block primitives (section,
 * paragraph, figure list, table, callout, plot), so the two documents
 * always carry the same content in the same order; only the primitives
 * know the syntax.  The document is built in one bounded buffer and written
 * to "<path>.tmp", then renamed into place.
 *
 * Invariants: every string that comes from the summary passes through
 * put_text() (escaped for the format, NULL printed as "n/a"); numbers are
 * read only through num() (missing, null, non-finite and wrong types are
 * "not a number"), so a partial summary never crashes and never prints
 * "(null)".  A build error is sticky in struct doc: after the first failed
 * append nothing more is appended and the file is not written.
 */
#include "report/doc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/base64.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/units.h"
#include "base/xalloc.h"

#define DOC_MD_MAX ((size_t)16 << 20)
#define DOC_HTML_MAX ((size_t)256 << 20)
#define DOC_PNG_MAX ((size_t)32 << 20)
#define DOC_PLOTS_MAX 64
#define DOC_NAME_MAX 128
#define FMT_LEN 64
#define NA "n/a"

enum doc_kind { DOC_MD, DOC_HTML };

struct doc {
    enum doc_kind kind;
    struct buf out;
    const char *run_dir; /* borrowed; may be NULL */
    enum rt_err err;     /* first failed append, sticky */
    int items;           /* items so far in the current inline list */
};

/* Table cell flags. */
enum { CELL_NUM = 1, CELL_CODE = 2, CELL_STRONG = 4 };

struct col {
    const char *title;
    int num; /* right-aligned */
};

/* ------------------------------------------------------------------ */
/* Reading the summary                                                 */

static const cJSON *jget(const cJSON *obj, const char *key)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key)
                               : NULL;
}

static const char *jstr(const cJSON *obj, const char *key)
{
    const cJSON *v = jget(obj, key);

    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* A finite number from a number item, or from a raw item holding digits
 * (base/json.h writes exact integers that way into in-memory trees). */
static int num(const cJSON *v, double *out)
{
    double d;

    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (cJSON_IsRaw(v) && v->valuestring) {
        if (units_parse_double(v->valuestring, &d))
            return 0;
    } else {
        return 0;
    }
    if (!isfinite(d))
        return 0;
    *out = d;
    return 1;
}

/* 1 true, 0 false, -1 missing or not a boolean. */
static int jbool(const cJSON *obj, const char *key)
{
    const cJSON *v = jget(obj, key);

    if (cJSON_IsTrue(v))
        return 1;
    if (cJSON_IsFalse(v))
        return 0;
    return -1;
}

static int array_len(const cJSON *v)
{
    return cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
}

/* ------------------------------------------------------------------ */
/* Numbers for people                                                  */

static const char *fmt_count(char *out, const cJSON *v)
{
    double d;

    if (!num(v, &d))
        return NA;
    if (d == floor(d) && fabs(d) < 1e15)
        snprintf(out, FMT_LEN, "%.0f", d);
    else
        snprintf(out, FMT_LEN, "%.4g", d);
    return out;
}

/* Absurdly large values (a corrupt summary) keep an exponent rather than
 * print hundreds of digits. */
#define FMT_HUGE 1e12

static const char *fmt_pct_d(char *out, double d)
{
    if (!isfinite(d * 100.0))
        return NA;
    if (fabs(d) >= FMT_HUGE)
        snprintf(out, FMT_LEN, "%.3g%%", d * 100.0);
    else
        snprintf(out, FMT_LEN, "%.1f%%", d * 100.0);
    return out;
}

static const char *fmt_pct(char *out, const cJSON *v)
{
    double d;

    return num(v, &d) ? fmt_pct_d(out, d) : NA;
}

/* Milliseconds with at most one decimal, without a trailing ".0". */
static const char *fmt_ms_d(char *out, double d)
{
    size_t n;

    if (fabs(d) < 0.05)
        d = 0.0;
    if (fabs(d) >= FMT_HUGE) {
        snprintf(out, FMT_LEN, "%.3g ms", d);
        return out;
    }
    snprintf(out, FMT_LEN, "%.1f", d);
    n = strlen(out);
    if (n >= 2 && strcmp(out + n - 2, ".0") == 0)
        n -= 2;
    snprintf(out + n, FMT_LEN - n, " ms");
    return out;
}

static const char *fmt_ms(char *out, const cJSON *v)
{
    double d;

    return num(v, &d) ? fmt_ms_d(out, d) : NA;
}

static const char *fmt_s(char *out, const cJSON *v)
{
    double d;

    if (!num(v, &d))
        return NA;
    if (fabs(d) >= FMT_HUGE)
        snprintf(out, FMT_LEN, "%.3g s", d);
    else if (d >= 120.0)
        snprintf(out, FMT_LEN, "%.1f min", d / 60.0);
    else
        snprintf(out, FMT_LEN, "%.1f s", d);
    return out;
}

/* Three significant digits without an exponent: 17, 4.7, 0.0512, 1234. */
static const char *fmt_ratio_d(char *out, double d)
{
    if (fabs(d) >= 1000.0 && fabs(d) < FMT_HUGE)
        snprintf(out, FMT_LEN, "%.0f", d);
    else
        snprintf(out, FMT_LEN, "%.3g", d);
    return out;
}

static const char *fmt_ratio(char *out, const cJSON *v)
{
    double d;

    return num(v, &d) ? fmt_ratio_d(out, d) : NA;
}

/*
 * A p-value: "0.042" down to 0.001.  Below that a permutation p-value is
 * "< 0.001" (999 permutations cannot resolve further), while an exact
 * test's p-value keeps two digits in scientific notation ("2.3e-07").
 */
static const char *fmt_p(char *out, const cJSON *v, int exact)
{
    double d;

    if (!num(v, &d))
        return NA;
    if (d >= 0.001)
        snprintf(out, FMT_LEN, "%.3f", d);
    else if (!exact)
        snprintf(out, FMT_LEN, "< 0.001");
    else if (d <= 0.0)
        snprintf(out, FMT_LEN, "< 1e-300");
    else
        snprintf(out, FMT_LEN, "%.1e", d);
    return out;
}

/* Any scalar as text: strings as they are (escaped later), numbers as
 * counts, booleans as yes/no. */
static const char *fmt_any(char *out, const cJSON *v)
{
    if (cJSON_IsString(v) && v->valuestring)
        return v->valuestring;
    if (cJSON_IsTrue(v))
        return "yes";
    if (cJSON_IsFalse(v))
        return "no";
    return fmt_count(out, v);
}

/* A plain file name (letters, digits, '.', '_', '-'), so a name from the
 * summary can never point outside plots/. */
static int plain_name(const char *s)
{
    size_t n = 0;

    if (!s || !*s || *s == '.')
        return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return n <= DOC_NAME_MAX;
}

/* A relative path made of plain names, for links to the run's files. */
static int plain_relpath(const char *s)
{
    char part[DOC_NAME_MAX + 1];
    const char *p = s;

    if (!s || !*s || strlen(s) > 512)
        return 0;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 0 || n > DOC_NAME_MAX)
            return 0;
        memcpy(part, p, n);
        part[n] = '\0';
        if (!plain_name(part))
            return 0;
        p += n;
        if (*p == '/' && !*++p)
            return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Output primitives                                                   */

static void put_raw(struct doc *d, const char *s)
{
    if (!d->err)
        d->err = buf_puts(&d->out, s);
}

static void put_rawn(struct doc *d, const char *s, size_t n)
{
    if (!d->err && n > 0)
        d->err = buf_append(&d->out, s, n);
}

static void put_rawf(struct doc *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put_rawf(struct doc *d, const char *fmt, ...)
{
    va_list ap;

    if (d->err)
        return;
    va_start(ap, fmt);
    d->err = buf_vprintf(&d->out, fmt, ap);
    va_end(ap);
}

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c >= 0x80;
}

static void html_escape(struct doc *d, const char *s)
{
    const char *run = s;

    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        const char *rep = NULL;

        switch (c) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                rep = " ";
        }
        if (!rep)
            continue;
        put_rawn(d, run, (size_t)(p - run));
        put_raw(d, rep);
        run = p + 1;
    }
    put_rawn(d, run, strlen(run));
}

/*
 * Markdown: backslash-escape what could start markup anywhere (emphasis,
 * code, links, table pipes, strikethrough), '<' where it could open raw
 * HTML, '_' only where it
 * could open or close emphasis (CommonMark ignores it inside words, and
 * OFF_QUEUE should read as it is), '&' only where it could form an entity.
 * Line breaks become spaces so text never leaves its line or table cell.
 * At the start of a block, a character that would make a heading, list,
 * or quote is escaped too.
 */
static void md_escape(struct doc *d, const char *s, int block_start)
{
    const unsigned char *p = (const unsigned char *)s;

    if (block_start) {
        size_t digits = strspn(s, "0123456789");
        if (*p == '#' || *p == '-' || *p == '+' || *p == '=' || *p == '>')
            put_raw(d, "\\");
        else if (digits > 0 && (s[digits] == '.' || s[digits] == ')')) {
            put_rawn(d, s, digits);
            put_raw(d, "\\");
            p += digits;
        }
    }
    for (; *p; p++) {
        unsigned char c = *p;
        char ch[2] = {(char)c, '\0'};

        if (c < 0x20 || c == 0x7f) {
            put_raw(d, " ");
            continue;
        }
        switch (c) {
        case '\\':
        case '`':
        case '*':
        case '[':
        case ']':
        case '|':
        case '~':
            put_raw(d, "\\");
            break;
        case '<':
            /* Only '<' before a letter, '/', '!' or '?' can open raw HTML
             * or an autolink; "< 0.001" stays as it is. */
            if ((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z') ||
                p[1] == '/' || p[1] == '!' || p[1] == '?')
                put_raw(d, "\\");
            break;
        case '_':
            if (!((const char *)p > s && is_word_byte(p[-1]) &&
                  is_word_byte(p[1])))
                put_raw(d, "\\");
            break;
        case '&':
            if ((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z') ||
                p[1] == '#')
                put_raw(d, "\\");
            break;
        default:
            break;
        }
        put_raw(d, ch);
    }
}

/* Text from anywhere (the summary included), escaped; NULL is "n/a". */
static void put_text(struct doc *d, const char *s)
{
    if (!s)
        s = NA;
    if (d->kind == DOC_HTML)
        html_escape(d, s);
    else
        md_escape(d, s, 0);
}

static void put_textf(struct doc *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put_textf(struct doc *d, const char *fmt, ...)
{
    struct buf tmp;
    va_list ap;

    buf_init(&tmp, 4096);
    va_start(ap, fmt);
    if (buf_vprintf(&tmp, fmt, ap) && !d->err)
        d->err = RT_ETRUNC;
    va_end(ap);
    put_text(d, buf_str(&tmp));
    buf_release(&tmp);
}

/* Code-like text (signals, states, file names).  Markdown code spans take
 * no escapes, so text that could break out of one is printed as escaped
 * plain text instead. */
static void put_code(struct doc *d, const char *s)
{
    if (!s) {
        put_text(d, NA);
        return;
    }
    if (d->kind == DOC_HTML) {
        put_raw(d, "<code>");
        html_escape(d, s);
        put_raw(d, "</code>");
        return;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || strchr("`|<>&\\", *p)) {
            md_escape(d, s, 0);
            return;
        }
    }
    put_raw(d, "`");
    put_raw(d, s);
    put_raw(d, "`");
}

static void section(struct doc *d, int level, const char *title)
{
    if (d->kind == DOC_HTML) {
        put_rawf(d, "<h%d>", level);
        html_escape(d, title);
        put_rawf(d, "</h%d>\n", level);
        return;
    }
    /* Exactly one blank line before a heading. */
    if (d->out.len > 0 &&
        !(d->out.len >= 2 &&
          strcmp(buf_str(&d->out) + d->out.len - 2, "\n\n") == 0))
        put_raw(d, d->out.data[d->out.len - 1] == '\n' ? "\n" : "\n\n");
    put_rawf(d, "%.*s ", level, "######");
    md_escape(d, title, 0);
    put_raw(d, "\n\n");
}

/* A paragraph; @cls is an HTML class or NULL. */
static void para_begin(struct doc *d, const char *cls)
{
    if (d->kind != DOC_HTML)
        return;
    if (cls)
        put_rawf(d, "<p class=\"%s\">", cls);
    else
        put_raw(d, "<p>");
}

static void para_end(struct doc *d)
{
    put_raw(d, d->kind == DOC_HTML ? "</p>\n" : "\n\n");
}

static void para(struct doc *d, const char *cls, const char *text)
{
    para_begin(d, cls);
    if (d->kind == DOC_HTML)
        html_escape(d, text ? text : NA);
    else
        md_escape(d, text ? text : NA, 1);
    para_end(d);
}

static void strong_begin(struct doc *d)
{
    put_raw(d, d->kind == DOC_HTML ? "<strong>" : "**");
}

static void strong_end(struct doc *d)
{
    put_raw(d, d->kind == DOC_HTML ? "</strong>" : "**");
}

/* A boxed note: @cls is "warn", "info" or "truth"; @title may be NULL. */
static void callout_begin(struct doc *d, const char *cls, const char *title)
{
    if (d->kind == DOC_HTML)
        put_rawf(d, "<div class=\"callout %s\">", cls);
    else
        put_raw(d, "> ");
    if (title) {
        strong_begin(d);
        put_text(d, title);
        strong_end(d);
        put_raw(d, " ");
    }
}

static void callout_end(struct doc *d)
{
    put_raw(d, d->kind == DOC_HTML ? "</div>\n" : "\n\n");
}

/* Key figures: a grid of boxes in HTML, a bullet list in Markdown. */
static void figs_begin(struct doc *d)
{
    if (d->kind == DOC_HTML)
        put_raw(d, "<dl class=\"figs\">");
}

static void fig_begin(struct doc *d, const char *label, int wide)
{
    if (d->kind == DOC_HTML) {
        put_raw(d, wide ? "<div class=\"wide\"><dt>" : "<div><dt>");
        html_escape(d, label);
        put_raw(d, "</dt><dd>");
    } else {
        put_raw(d, "- **");
        md_escape(d, label, 0);
        put_raw(d, ":** ");
    }
}

static void fig_end(struct doc *d)
{
    put_raw(d, d->kind == DOC_HTML ? "</dd></div>" : "\n");
}

/* One key figure; code values (signals) get a double-width box. */
static void fig(struct doc *d, const char *label, const char *value, int code)
{
    fig_begin(d, label, code && value && strlen(value) > 12);
    if (code)
        put_code(d, value);
    else
        put_text(d, value);
    fig_end(d);
}

static void figs_end(struct doc *d)
{
    put_raw(d, d->kind == DOC_HTML ? "</dl>\n" : "\n");
}

static void table_begin(struct doc *d, const char *cls, const struct col *cols,
                        size_t n)
{
    if (d->kind == DOC_HTML) {
        put_rawf(d, "<div class=\"tw\"><table class=\"%s\"><thead><tr>",
                 cls ? cls : "");
        for (size_t i = 0; i < n; i++) {
            put_raw(d, cols[i].num ? "<th class=\"num\">" : "<th>");
            html_escape(d, cols[i].title);
            put_raw(d, "</th>");
        }
        put_raw(d, "</tr></thead><tbody>\n");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        put_raw(d, "| ");
        md_escape(d, cols[i].title, 0);
        put_raw(d, " ");
    }
    put_raw(d, "|\n");
    for (size_t i = 0; i < n; i++)
        put_raw(d, cols[i].num ? "|---:" : "|---");
    put_raw(d, "|\n");
}

static void row_begin(struct doc *d, const char *cls)
{
    if (d->kind != DOC_HTML)
        return;
    if (cls)
        put_rawf(d, "<tr class=\"%s\">", cls);
    else
        put_raw(d, "<tr>");
}

static void cell_begin(struct doc *d, int flags)
{
    if (d->kind == DOC_HTML)
        put_raw(d, flags & CELL_NUM ? "<td class=\"num\">" : "<td>");
    else
        put_raw(d, "| ");
    if (flags & CELL_STRONG)
        strong_begin(d);
}

static void cell_end(struct doc *d, int flags)
{
    if (flags & CELL_STRONG)
        strong_end(d);
    put_raw(d, d->kind == DOC_HTML ? "</td>" : " ");
}

static void cell(struct doc *d, const char *text, int flags)
{
    cell_begin(d, flags);
    if (flags & CELL_CODE)
        put_code(d, text);
    else
        put_text(d, text);
    cell_end(d, flags);
}

/* A numeric cell: @key of @obj formatted by @fmt ("n/a" when missing). */
static void num_cell(struct doc *d, const char *(*fmt)(char *, const cJSON *),
                     const cJSON *obj, const char *key)
{
    char out[FMT_LEN];

    cell(d, fmt(out, jget(obj, key)), CELL_NUM);
}

/* A figure: @key of @obj formatted by @fmt ("n/a" when missing). */
static void num_fig(struct doc *d, const char *label,
                    const char *(*fmt)(char *, const cJSON *), const cJSON *obj,
                    const char *key)
{
    char out[FMT_LEN];

    fig(d, label, fmt(out, jget(obj, key)), 0);
}

/* 1 when the section's object @obj was recorded; otherwise the muted
 * paragraph @missing stands for the whole section. */
static int recorded(struct doc *d, const cJSON *obj, const char *missing)
{
    if (cJSON_IsObject(obj))
        return 1;
    para(d, "muted", missing);
    return 0;
}

/* 1 when @arr has elements to tabulate; otherwise a muted paragraph says
 * so: @none for an empty array, @missing when it was not recorded. */
static int has_rows(struct doc *d, const cJSON *arr, const char *none,
                    const char *missing)
{
    if (array_len(arr) > 0)
        return 1;
    para(d, "muted", array_len(arr) == 0 ? none : missing);
    return 0;
}

static void row_end(struct doc *d)
{
    put_raw(d, d->kind == DOC_HTML ? "</tr>\n" : "|\n");
}

static void table_end(struct doc *d)
{
    put_raw(d, d->kind == DOC_HTML ? "</tbody></table></div>\n" : "\n");
}

/* An inline list "a, b, c" of code items. */
static void list_item_sep(struct doc *d)
{
    if (d->items++ > 0)
        put_raw(d, ", ");
}

/* ------------------------------------------------------------------ */
/* Causes                                                              */

struct cause_info {
    const char *name;
    const char *label;
};

static const struct cause_info causes[] = {
    {"routing-status", "Writes follow routing-status changes"},
    {"presence", "Writes follow presence changes"},
    {"batch", "A batch job updates many agents at once"},
    {"periodic", "A periodic job updates each agent"},
    {"other-writer", "Another writer, not tied to agent state"},
    {"own-writes", "The job conflicts with its own writes"},
    {"none", "No foreign writer explains the conflicts"},
    {"inconclusive", "Not enough evidence to name a cause"},
};

static const struct cause_info *cause_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
        if (strcmp(causes[i].name, name) == 0)
            return &causes[i];
    return NULL;
}

/* ------------------------------------------------------------------ */
/* The document head                                                   */

static const char css[] =
    ":root{color-scheme:light}"
    "*{box-sizing:border-box}"
    "html{background:#eef1f5}"
    "body{margin:0;color:#1f2933;font:15px/1.55 system-ui,-apple-system,"
    "\"Segoe UI\",Roboto,\"Helvetica Neue\",\"Noto Sans\",\"Liberation Sans\","
    "Arial,sans-serif;-webkit-text-size-adjust:100%}"
    "main{max-width:1080px;margin:24px auto;padding:34px 44px 26px;"
    "background:#fff;border-radius:10px;box-shadow:0 1px 3px "
    "rgba(16,24,40,.08),0 8px 24px rgba(16,24,40,.06)}"
    "h1{font-size:25px;line-height:1.25;margin:0 0 8px;font-weight:700;"
    "letter-spacing:-.01em}"
    "h1 .tool{color:#7b8794;font-weight:500}"
    "h2{font-size:19px;margin:34px 0 10px;padding-bottom:6px;"
    "border-bottom:1px solid #e4e7eb;font-weight:700}"
    "h3{font-size:15.5px;margin:24px 0 6px;font-weight:650;color:#323f4b}"
    "p{margin:8px 0}"
    ".muted{color:#616e7c}"
    ".small{font-size:13px}"
    "code{font:12.5px/1.4 ui-monospace,\"SFMono-Regular\",\"DejaVu Sans Mono\","
    "Menlo,Consolas,\"Liberation Mono\",monospace;background:#f1f3f6;"
    "border:1px solid #e4e7eb;border-radius:4px;padding:1px 5px;"
    "overflow-wrap:anywhere}"
    ".meta{list-style:none;margin:0 0 20px;padding:0;display:flex;"
    "flex-wrap:wrap;gap:4px 20px;color:#52606d;font-size:13.5px}"
    ".meta .k{font-weight:600;color:#323f4b;margin-right:5px}"
    ".card{--c:#52606d;border:1px solid #d9e2ec;border-left:6px solid "
    "var(--c);border-radius:8px;padding:18px 22px 16px;margin:6px 0 8px;"
    "background:#fbfcfe}"
    ".card h2{border:0;margin:0 0 10px;padding:0;font-size:13px;"
    "text-transform:uppercase;letter-spacing:.08em;color:#7b8794}"
    ".cause{display:flex;flex-wrap:wrap;align-items:center;gap:6px 12px}"
    ".badge{display:inline-block;background:var(--c);color:#fff;"
    "font-weight:700;font-size:14px;letter-spacing:.02em;padding:4px 13px;"
    "border-radius:999px}"
    ".cause-label{color:#3e4c59;font-size:14.5px}"
    ".headline{font-size:18.5px;font-weight:650;line-height:1.4;"
    "margin:14px 0 6px}"
    ".figs{display:grid;grid-template-columns:repeat(auto-fit,"
    "minmax(120px,1fr));gap:10px;margin:16px 0 4px}"
    ".figs div{background:#fff;border:1px solid #e4e7eb;border-radius:6px;"
    "padding:8px 12px}"
    ".figs dt{font-size:11.5px;text-transform:uppercase;letter-spacing:.06em;"
    "color:#7b8794}"
    ".figs dd{margin:2px 0 0;font-size:17px;font-weight:650;"
    "font-variant-numeric:tabular-nums;overflow-wrap:anywhere}"
    ".figs dd code{font-size:14px}"
    ".figs .wide{grid-column:span 2}"
    ".c-routing-status{--c:#1d4ed8}.c-presence{--c:#7c3aed}"
    ".c-batch{--c:#c2410c}.c-periodic{--c:#0f766e}"
    ".c-other-writer{--c:#b91c1c}.c-own-writes{--c:#a16207}"
    ".c-none{--c:#15803d}.c-inconclusive{--c:#52606d}"
    ".callout{border:1px solid #f0d27a;background:#fffbea;color:#5c4813;"
    "border-radius:6px;padding:10px 14px;margin:12px 0}"
    ".callout.info{border-color:#bcd4f6;background:#f0f6ff;color:#1c3d6e}"
    ".callout.truth{border-color:#b7e4c7;background:#f1fbf4;color:#1b4d2e}"
    ".tw{overflow-x:auto;margin:8px 0 14px}"
    "table{border-collapse:collapse;width:100%;font-size:13px;"
    "font-variant-numeric:tabular-nums}"
    "th,td{padding:6px 9px;text-align:left;vertical-align:top;"
    "border-bottom:1px solid #e4e7eb}"
    "th{background:#f5f7fa;font-weight:650;color:#323f4b;"
    "border-bottom:2px solid #d9e2ec;line-height:1.3;vertical-align:bottom}"
    "td code{overflow-wrap:normal}"
    "td:first-child code{white-space:nowrap}"
    "td:first-child{min-width:130px}"
    "table.assoc td:first-child{min-width:175px}"
    "tbody tr:nth-child(even){background:#f8fafc}"
    "th.num,td.num{text-align:right}"
    "td.num{white-space:nowrap}"
    "tr.sig td:first-child{box-shadow:inset 3px 0 0 #1d4ed8;"
    "font-weight:650}"
    "table.kv{width:auto;min-width:60%}"
    "table.kv td:first-child{color:#52606d;white-space:nowrap}"
    "table.two td.num{min-width:90px}"
    "figure{margin:14px 0 24px}"
    "figure img{display:block;max-width:100%;height:auto;border:1px solid "
    "#e4e7eb;border-radius:6px}"
    "figcaption{font-size:13px;color:#52606d;margin-top:6px}"
    ".missing{border:1px dashed #cbd2d9;border-radius:6px;padding:14px 18px;"
    "background:#f8fafc}"
    ".missing strong{display:block;margin-bottom:4px}"
    "ul.files{list-style:none;margin:6px 0;padding:0;display:flex;"
    "flex-wrap:wrap;gap:6px 8px}"
    "footer{margin-top:36px;padding-top:12px;border-top:1px solid #e4e7eb;"
    "color:#7b8794;font-size:12.5px}"
    "@media (max-width:720px){main{margin:0;padding:20px 16px;"
    "border-radius:0}}"
    "@media print{html{background:#fff}body{font-size:10.5pt}"
    "main{max-width:none;margin:0;padding:0;box-shadow:none;border-radius:0}"
    "h2,h3{break-after:avoid}tr,figure,.card,.callout{break-inside:avoid}"
    ".tw{overflow:visible}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

static void meta_item(struct doc *d, const char *label, const char *value,
                      int code)
{
    if (!value)
        return;
    if (d->kind == DOC_HTML) {
        put_raw(d, "<li><span class=\"k\">");
        html_escape(d, label);
        put_raw(d, "</span>");
    } else {
        if (d->items > 0)
            put_raw(d, " · ");
        put_raw(d, "**");
        md_escape(d, label, 0);
        put_raw(d, ":** ");
    }
    d->items++;
    if (code)
        put_code(d, value);
    else
        put_text(d, value);
    if (d->kind == DOC_HTML)
        put_raw(d, "</li>");
}

static void put_head(struct doc *d, const cJSON *s)
{
    const cJSON *run = jget(s, "run");
    const char *name = jstr(run, "name");
    const char *tool = jstr(s, "tool");
    const char *start = jstr(run, "start"), *end = jstr(run, "end");
    char a[FMT_LEN], b[FMT_LEN], target[256];
    const char *tg = jstr(run, "target");

    if (!tool)
        tool = "racetrace";
    if (d->kind == DOC_HTML) {
        put_raw(d, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                   "<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" "
                   "content=\"width=device-width,initial-scale=1\">\n"
                   "<title>");
        html_escape(d, tool);
        put_raw(d, " report");
        if (name) {
            put_raw(d, ": ");
            html_escape(d, name);
        }
        put_raw(d, "</title>\n<style>");
        put_raw(d, css);
        put_raw(d, "</style>\n</head>\n<body>\n<main>\n<header>\n<h1>");
        put_raw(d, "<span class=\"tool\">");
        html_escape(d, tool);
        put_raw(d, " report</span>");
        if (name) {
            put_raw(d, " · ");
            html_escape(d, name);
        }
        put_raw(d, "</h1>\n<ul class=\"meta\">");
    } else {
        put_raw(d, "# ");
        md_escape(d, tool, 0);
        put_raw(d, " report");
        if (name) {
            put_raw(d, ": ");
            md_escape(d, name, 0);
        }
        put_raw(d, "\n\n");
    }
    d->items = 0;
    if (tg) {
        snprintf(target, sizeof(target), "%s%s", tg,
                 jbool(run, "simulator") == 1 ? " (simulator)" : "");
        meta_item(d, "Target", target, 0);
    } else if (jbool(run, "simulator") == 1) {
        meta_item(d, "Target", "simulator", 0);
    }
    meta_item(d, "Start", start, 0);
    meta_item(d, "End", end, 0);
    if (jget(run, "duration_s"))
        meta_item(d, "Duration", fmt_s(a, jget(run, "duration_s")), 0);
    if (jget(run, "agents"))
        meta_item(d, "Agents", fmt_count(b, jget(run, "agents")), 0);
    if (d->items == 0)
        meta_item(d, "Run", "n/a (no run details in this summary)", 0);
    if (d->kind == DOC_HTML)
        put_raw(d, "</ul>\n</header>\n");
    else
        put_raw(d, "\n\n");
    d->items = 0;
}

/* ------------------------------------------------------------------ */
/* Verdict, advice, secondary causes                                   */

static void put_verdict(struct doc *d, const cJSON *s)
{
    const cJSON *v = jget(s, "verdict");
    const char *cause = jstr(v, "cause");
    const struct cause_info *ci = cause_find(cause);
    const char *headline = jstr(v, "headline"), *text = jstr(v, "text");
    char a[FMT_LEN];

    if (d->kind == DOC_HTML) {
        put_rawf(d, "<section class=\"card c-%s\">\n",
                 ci ? ci->name : "unknown");
        section(d, 2, "Verdict");
        put_raw(d, "<div class=\"cause\"><span class=\"badge\">");
        html_escape(d, cause ? cause : NA);
        put_raw(d, "</span><span class=\"cause-label\">");
        html_escape(d, ci      ? ci->label
                       : cause ? "Cause reported by a newer analysis"
                               : "The summary holds no verdict");
        put_raw(d, "</span></div>\n");
    } else {
        section(d, 2, "Verdict");
        put_raw(d, "**Cause:** ");
        put_code(d, cause ? cause : NA);
        put_raw(d, " — ");
        md_escape(d,
                  ci      ? ci->label
                  : cause ? "Cause reported by a newer analysis"
                          : "The summary holds no verdict",
                  0);
        put_raw(d, "\n\n");
    }
    if (headline) {
        para_begin(d, "headline");
        if (d->kind == DOC_MD)
            put_raw(d, "**");
        put_text(d, headline);
        if (d->kind == DOC_MD)
            put_raw(d, "**");
        para_end(d);
    }
    if (text)
        para(d, NULL, text);
    figs_begin(d);
    fig(d, "Signal", jstr(v, "signal"), 1);
    fig(d, "p-value", fmt_p(a, jget(v, "p_value"), 0), 0);
    num_fig(d, "Hit rate", fmt_pct, v, "hit_rate");
    num_fig(d, "Coverage", fmt_pct, v, "coverage");
    num_fig(d, "Median lag", fmt_ms, v, "median_lag_ms");
    num_fig(d, "Lag IQR", fmt_ms, v, "lag_iqr_ms");
    if (jstr(jget(v, "writer"), "writer")) {
        const cJSON *w = jget(v, "writer");
        char n[FMT_LEN], of[FMT_LEN], t[600];
        snprintf(t, sizeof(t), "%s: %s of %s bumps", jstr(w, "writer"),
                 fmt_count(n, jget(w, "bumps")), fmt_count(of, jget(w, "of")));
        fig_begin(d, "Writer (audit)", 1);
        put_text(d, t);
        fig_end(d);
    }
    figs_end(d);
    if (jbool(jget(s, "run"), "interrupted") == 1) {
        callout_begin(d, "warn", "Interrupted run.");
        put_text(d, "The run was stopped early; the evidence covers only "
                    "what was recorded before it stopped.");
        callout_end(d);
    }
    if (jbool(jget(s, "run"), "dry_run") == 1) {
        const cJSON *n = jget(jget(s, "run"), "dry_run_writes");
        double w;
        callout_begin(d, "info", "Dry run.");
        if (!num(n, &w))
            n = jget(jget(jget(s, "counts"), "operations"), "dry_run");
        if (num(n, &w))
            put_textf(d,
                      "No write was sent. The replay read the agents and "
                      "listed the %s %s it would have sent in dry-run.txt; "
                      "nothing was changed, so the job could not conflict.",
                      fmt_count(a, n), w == 1.0 ? "write" : "writes");
        else
            put_text(d, "No write was sent. The replay read the agents and "
                        "listed the writes it would have sent in "
                        "dry-run.txt; nothing was changed, so the job could "
                        "not conflict.");
        callout_end(d);
    }
    if (d->kind == DOC_HTML)
        put_raw(d, "</section>\n");
}

static void put_more_data(struct doc *d, const cJSON *s)
{
    const cJSON *m = jget(jget(s, "verdict"), "more_data");
    const char *text = jstr(m, "text");
    char a[FMT_LEN], b[FMT_LEN];
    double n, min;
    int has_n, has_min;

    if (!cJSON_IsObject(m))
        return;
    has_n = num(jget(m, "events_needed"), &n);
    has_min = num(jget(m, "minutes"), &min);
    callout_begin(d, "info", "More data needed.");
    if (text) {
        put_text(d, text);
        put_raw(d, " ");
    }
    if (has_n && has_min) {
        put_textf(d,
                  "About %s more events, roughly %.0f more minutes of "
                  "recording.",
                  fmt_count(a, jget(m, "events_needed")), ceil(min));
    } else if (has_n) {
        put_textf(d, "About %s more events.",
                  fmt_count(a, jget(m, "events_needed")));
    } else if (has_min) {
        put_textf(d, "Roughly %s more minutes of recording.",
                  fmt_ratio_d(b, ceil(min)));
    } else if (!text) {
        put_text(d, "The summary does not say how much more.");
    }
    callout_end(d);
}

static void put_secondary(struct doc *d, const cJSON *s)
{
    static const struct col cols[] = {{"Cause", 0},
                                      {"Signal", 0},
                                      {"p-value", 1},
                                      {"Coverage", 1},
                                      {"Writer (audit)", 0}};
    const cJSON *v = jget(s, "verdict");
    const cJSON *sec = jget(v, "secondary"), *conf = jget(v, "confounded_with");
    const cJSON *it;
    char a[FMT_LEN], b[FMT_LEN];
    int writers = 0;

    section(d, 2, "Secondary causes and confounds");
    if (has_rows(d, sec, "No secondary cause.",
                 "Secondary causes: n/a (not recorded).")) {
        /* The writer column only when the audit named one. */
        cJSON_ArrayForEach(it, sec) writers |= jstr(it, "writer") != NULL;
        table_begin(d, NULL, cols, writers ? 5 : 4);
        cJSON_ArrayForEach(it, sec)
        {
            row_begin(d, NULL);
            cell(d, jstr(it, "cause"), CELL_CODE);
            cell(d, jstr(it, "signal"), CELL_CODE);
            cell(d, fmt_p(a, jget(it, "p_value"), 0), CELL_NUM);
            cell(d, fmt_pct(b, jget(it, "coverage")), CELL_NUM);
            if (writers)
                cell(d, jstr(it, "writer") ? jstr(it, "writer") : "none named",
                     0);
            row_end(d);
        }
        table_end(d);
    }
    para_begin(d, array_len(conf) > 0 ? NULL : "muted");
    if (array_len(conf) > 0) {
        put_text(d, "The signal is confounded with ");
        d->items = 0;
        cJSON_ArrayForEach(it, conf)
        {
            list_item_sep(d);
            put_code(d, cJSON_IsString(it) ? it->valuestring : NULL);
        }
        d->items = 0;
        put_text(d, ": these transitions happen together with it, so the "
                    "timing alone cannot tell which of them triggers the "
                    "writes.");
    } else {
        put_text(d, array_len(conf) == 0
                        ? "The signal is not confounded with another one."
                        : "Confounds: n/a (not recorded).");
    }
    para_end(d);
}

/* ------------------------------------------------------------------ */
/* What the run could and could not see                                */

/* Seconds from milliseconds, for gaps: "0.4 s". */
static const char *fmt_ms_as_s(char *out, const cJSON *v)
{
    double ms;

    if (!num(v, &ms))
        return NA;
    if (fabs(ms) >= FMT_HUGE)
        snprintf(out, FMT_LEN, "%.3g s", ms / 1000.0);
    else
        snprintf(out, FMT_LEN, "%.1f s", ms / 1000.0);
    return out;
}

/* "1 dropped socket" / "2 dropped sockets"; "n/a dropped sockets". */
static void count_words(struct buf *t, const cJSON *v, const char *one,
                        const char *many)
{
    char a[FMT_LEN];
    double n;

    buf_printf(t, "%s %s", fmt_count(a, v),
               num(v, &n) && n == 1.0 ? one : many);
}

/* Into @t, the sentence for a query that did not return everything
 * ("Audit: not permitted — ..."): 1 when something could not be seen, 2
 * when the query was not made (not recorded, skipped), 0 (nothing
 * written) when its status is "ok". */
static int query_trouble(struct buf *t, const cJSON *q, const char *what,
                         const char *consequence)
{
    const char *st = jstr(q, "status"), *msg = jstr(q, "message");
    const char *perm = jstr(q, "permission");
    int ret = 1;

    if (st && !strcmp(st, "ok"))
        return 0;
    buf_printf(t, "%s: ", what);
    if (!st || !strcmp(st, "not-recorded")) {
        buf_printf(t, "not recorded in this run");
        ret = 2;
    } else if (!strcmp(st, "forbidden")) {
        if (perm)
            buf_printf(t, "not permitted — the OAuth client lacks %s", perm);
        else
            buf_printf(t, "not permitted for this OAuth client");
    } else if (!strcmp(st, "failed")) {
        buf_printf(t, "the query failed");
    } else if (!strcmp(st, "interrupted")) {
        buf_printf(t, "the query was interrupted");
    } else if (!strcmp(st, "skipped")) {
        buf_printf(t, "skipped");
        ret = 2;
    } else {
        buf_printf(t, "status %s", st);
    }
    if (msg)
        buf_printf(t, " (%s)", msg);
    buf_printf(t, "; %s.", consequence);
    return ret;
}

/* One source: a paragraph, boxed as a warning when something could not
 * be seen. */
static void source_para(struct doc *d, int trouble, const char *text)
{
    if (trouble == 1) {
        callout_begin(d, "warn", NULL);
        put_text(d, text);
        callout_end(d);
    } else {
        para(d, trouble ? "muted" : NULL, text);
    }
}

static void put_source_audit(struct doc *d, const cJSON *a, struct buf *t)
{
    static const struct col cols[] = {{"Writer", 0}, {"Kind", 0},
                                      {"Level", 0},  {"Foreign bumps", 1},
                                      {"Share", 1},  {"Ambiguous", 1}};
    const char *st = jstr(a, "status");
    const char *own = jstr(a, "own_client");
    char x[FMT_LEN], y[FMT_LEN], z[FMT_LEN];
    const cJSON *it;
    double n;
    int trouble;

    buf_reset(t);
    if (!cJSON_IsObject(a)) {
        para(d, "muted", "Audit: n/a (not recorded).");
        return;
    }
    trouble = query_trouble(t, a, "Audit",
                            st && !strcmp(st, "interrupted")
                                ? "what was read before it stopped is used"
                                : "foreign bumps could not be attributed to "
                                  "a writer");
    if (!trouble || (st && !strcmp(st, "interrupted"))) {
        buf_printf(t, "%s%s records read for the tracked agents",
                   trouble ? " " : "Audit: ", fmt_count(x, jget(a, "records")));
        if (num(jget(a, "foreign_bumps"), &n) && n == 0) {
            buf_printf(t, "; there was no foreign bump to attribute.");
        } else {
            buf_printf(t,
                       "; the writer of %s of %s foreign bumps is named "
                       "(%s ambiguous).",
                       fmt_count(x, jget(a, "attributed")),
                       fmt_count(y, jget(a, "foreign_bumps")),
                       fmt_count(z, jget(a, "ambiguous")));
            if (num(jget(a, "timed"), &n) && n > 0)
                buf_printf(t,
                           " %s of them are timed by the audit's own time "
                           "of the write instead of the observers' bracket.",
                           fmt_count(x, jget(a, "timed")));
        }
        if (own)
            buf_printf(t,
                       " Records by this job's own OAuth client '%s'%s were "
                       "left out (%s).",
                       own,
                       jbool(a, "own_client_inferred") == 1
                           ? " (recognised by its records at the job's own "
                             "writes)"
                           : "",
                       fmt_count(x, jget(a, "own_records")));
        else if (num(jget(a, "loaded"), &n) && n > 0)
            buf_printf(t, " This job's own OAuth client is not known, so its "
                          "own records could not be left out.");
    }
    source_para(d, trouble, buf_str(t));
    if (array_len(jget(a, "writers")) <= 0)
        return;
    table_begin(d, NULL, cols, 6);
    cJSON_ArrayForEach(it, jget(a, "writers"))
    {
        row_begin(d, NULL);
        cell(d, jstr(it, "writer"), 0);
        cell(d, jstr(it, "kind"), CELL_CODE);
        cell(d, jstr(it, "level"), CELL_CODE);
        num_cell(d, fmt_count, it, "bumps");
        num_cell(d, fmt_pct, it, "share");
        num_cell(d, fmt_count, it, "ambiguous");
        row_end(d);
    }
    table_end(d);
    if (num(jget(a, "writers_total"), &n) &&
        n > (double)array_len(jget(a, "writers"))) {
        para_begin(d, "muted small");
        put_textf(d, "The first %d of %s writers.",
                  array_len(jget(a, "writers")),
                  fmt_count(x, jget(a, "writers_total")));
        para_end(d);
    }
}

static void put_source_analytics(struct doc *d, const cJSON *a, struct buf *t)
{
    const cJSON *m = jget(a, "missed_by_polling");
    const char *st = jstr(a, "status");
    char x[FMT_LEN], y[FMT_LEN], z[FMT_LEN], w[FMT_LEN];
    double n;
    int trouble;

    buf_reset(t);
    if (!cJSON_IsObject(a)) {
        para(d, "muted", "Analytics: n/a (not recorded).");
        return;
    }
    trouble = query_trouble(t, a, "Analytics",
                            "transitions between polls may have been missed");
    if (trouble && !(st && !strcmp(st, "interrupted") && cJSON_IsObject(m))) {
        source_para(d, trouble, buf_str(t));
        return;
    }
    if (trouble)
        buf_puts(t, " What was read: ");
    if (!cJSON_IsObject(m)) {
        buf_printf(t, "Analytics: n/a.");
    } else if (num(jget(m, "total"), &n) && n > 0) {
        buf_printf(t, "%s filled %s transitions polling missed (%s)",
                   trouble ? "it" : "Analytics", fmt_count(x, jget(m, "total")),
                   fmt_pct(y, jget(a, "missed_share")));
        buf_printf(t,
                   ": %s presence and %s routing-status changes no poll "
                   "or stream observation saw. ",
                   fmt_count(z, jget(m, "presence")),
                   fmt_count(w, jget(m, "routing_status")));
        buf_printf(t,
                   "They take part in the association tests; the timeline "
                   "holds %s transitions, %s of them from the analytics "
                   "history.",
                   fmt_count(x, jget(a, "timeline_transitions")),
                   fmt_count(y, jget(a, "used")));
    } else if (num(jget(a, "used"), &n) && n > 0) {
        buf_printf(t,
                   "Analytics: the history (%s transitions) holds no "
                   "transition the observers missed.",
                   fmt_count(x, jget(a, "used")));
    } else {
        buf_printf(t, "Analytics: the history holds no transition in the "
                      "run's interval.");
    }
    source_para(d, trouble, buf_str(t));
}

static void put_source_stream(struct doc *d, const cJSON *st,
                              const cJSON *analytics, struct buf *t)
{
    char a[FMT_LEN], b[FMT_LEN];
    double n;

    buf_reset(t);
    if (!cJSON_IsObject(st)) {
        para(d, "muted", "Stream: n/a (not recorded).");
        return;
    }
    if (jbool(st, "enabled") != 1 && cJSON_IsString(jget(st, "error"))) {
        buf_printf(t, "Stream: %s.", jget(st, "error")->valuestring);
        source_para(d, 1, buf_str(t));
        return;
    }
    if (jbool(st, "enabled") != 1) {
        para(d, NULL,
             cJSON_IsObject(jget(analytics, "missed_by_polling"))
                 ? "Stream: off; presence and routing status were polled, "
                   "and the analytics history filled in what the polls "
                   "missed."
                 : "Stream: off; presence and routing status were polled, "
                   "so a change and its undoing between two polls could not "
                   "be seen.");
        return;
    }
    buf_puts(t, "Stream: ");
    if (num(jget(st, "reconnects"), &n) && n == 0) {
        buf_puts(t, "no reconnect");
    } else {
        count_words(t, jget(st, "reconnects"), "reconnect", "reconnects");
        buf_puts(t, " (");
        count_words(t, jget(st, "socket_closing"), "socket_closing",
                    "socket_closing");
        buf_puts(t, ", ");
        count_words(t, jget(st, "drops"), "dropped socket", "dropped sockets");
        buf_puts(t, ", ");
        count_words(t, jget(st, "silences"), "silence", "silences");
        buf_puts(t, ")");
    }
    if (num(jget(st, "gaps"), &n) && n > 0) {
        buf_printf(t, ", longest gap %s (%s in ",
                   fmt_ms_as_s(a, jget(st, "gap_max_ms")),
                   fmt_ms_as_s(b, jget(st, "gap_total_ms")));
        count_words(t, jget(st, "gaps"), "gap", "gaps");
        buf_puts(t, ")");
    } else
        buf_puts(t, ", no gap");
    buf_puts(t, "; ");
    count_words(t, jget(st, "resync_changes"), "change", "changes");
    buf_puts(t, " found by re-reads after gaps. ");
    count_words(t, jget(st, "channels"), "channel", "channels");
    buf_puts(t, ", ");
    count_words(t, jget(st, "topics"), "topic", "topics");
    buf_puts(t, "; ");
    count_words(t, jget(st, "events"), "event", "events");
    buf_puts(t, " and ");
    count_words(t, jget(st, "heartbeats"), "heartbeat", "heartbeats");
    buf_puts(t, " received, ");
    count_words(t, jget(st, "observations"), "observation", "observations");
    buf_puts(t, " recorded from the stream.");
    para(d, NULL, buf_str(t));
}

static void put_sources(struct doc *d, const cJSON *s)
{
    const cJSON *ev = jget(s, "evidence");
    struct buf t;

    section(d, 2, "What the run could see");
    if (!recorded(d, ev, "Evidence sources: n/a (not recorded)."))
        return;
    buf_init(&t, 4096);
    put_source_audit(d, jget(ev, "audit"), &t);
    put_source_analytics(d, jget(ev, "analytics"), &t);
    put_source_stream(d, jget(ev, "stream"), jget(ev, "analytics"), &t);
    buf_release(&t);
}

/* ------------------------------------------------------------------ */
/* Evidence                                                            */

/* "key value, key value" from an object of counts into @out. */
static void pairs(struct buf *out, const cJSON *obj)
{
    const cJSON *it;
    char a[FMT_LEN];
    int n = 0;

    if (!cJSON_IsObject(obj))
        return;
    cJSON_ArrayForEach(it, obj)
    {
        buf_printf(out, "%s%s %s", n++ ? ", " : "",
                   it->string ? it->string : "?", fmt_any(a, it));
    }
}

static void kv_row(struct doc *d, const char *label, const char *value)
{
    row_begin(d, NULL);
    cell(d, label, 0);
    cell(d, value, 0);
    row_end(d);
}

static void put_counts(struct doc *d, const cJSON *s)
{
    static const struct col cols[] = {{"What", 0}, {"Count", 0}};
    const cJSON *c = jget(s, "counts");
    const cJSON *rq = jget(c, "requests"), *op = jget(c, "operations");
    const cJSON *bu = jget(c, "bumps"), *tr = jget(c, "transitions");
    char a[FMT_LEN], b[FMT_LEN], e[FMT_LEN], f[FMT_LEN], g[FMT_LEN];
    char h[FMT_LEN];
    struct buf t;
    double x;

    section(d, 3, "Counts");
    if (!recorded(d, c, "Counts: n/a (not recorded)."))
        return;
    buf_init(&t, 4096);
    table_begin(d, "kv", cols, 2);
    buf_printf(&t, "%s total", fmt_count(a, jget(rq, "total")));
    if (cJSON_IsObject(jget(rq, "by_status"))) {
        buf_puts(&t, " (by status: ");
        pairs(&t, jget(rq, "by_status"));
        buf_puts(&t, ")");
    }
    kv_row(d, "Requests", buf_str(&t));
    buf_reset(&t);
    if (cJSON_IsObject(jget(rq, "by_kind"))) {
        pairs(&t, jget(rq, "by_kind"));
        kv_row(d, "Requests by outcome", buf_str(&t));
        buf_reset(&t);
    }
    if (cJSON_IsObject(jget(rq, "by_role"))) {
        pairs(&t, jget(rq, "by_role"));
        kv_row(d, "Requests by role", buf_str(&t));
        buf_reset(&t);
    }
    buf_printf(
        &t,
        "%s total: %s ok, %s conflict, %s gave up, %s error, "
        "%s unknown",
        fmt_count(a, jget(op, "total")), fmt_count(b, jget(op, "ok")),
        fmt_count(e, jget(op, "conflict")), fmt_count(f, jget(op, "gave_up")),
        fmt_count(g, jget(op, "error")), fmt_count(h, jget(op, "unknown")));
    /* A dry run's operations sent no write: neither ok nor failed. */
    if (num(jget(op, "dry_run"), &x) && x > 0)
        buf_printf(&t, ", %s dry run (no write sent)",
                   fmt_count(a, jget(op, "dry_run")));
    kv_row(d, "Replayed operations", buf_str(&t));
    buf_reset(&t);
    buf_printf(&t,
               "%s total: %s own, %s own (unconfirmed), %s foreign, "
               "%s hidden",
               fmt_count(a, jget(bu, "total")), fmt_count(b, jget(bu, "own")),
               fmt_count(e, jget(bu, "own_unconfirmed")),
               fmt_count(f, jget(bu, "foreign")),
               fmt_count(g, jget(bu, "hidden")));
    kv_row(d, "Version bumps", buf_str(&t));
    buf_reset(&t);
    buf_printf(&t, "%s routing, %s presence", fmt_count(a, jget(tr, "routing")),
               fmt_count(b, jget(tr, "presence")));
    kv_row(d, "Agent transitions", buf_str(&t));
    kv_row(d, "Observations", fmt_count(a, jget(c, "observations")));
    table_end(d);
    buf_release(&t);
}

static const char *attribution_label(const char *key)
{
    static const char *const map[][2] = {
        {"audit", "Audit record"},
        {"transition", "Agent transition shortly before"},
        {"batch", "Cross-agent burst (batch)"},
        {"periodic", "Per-agent period (sync job)"},
        {"unexplained", "Unexplained"},
    };

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i][0], key) == 0)
            return map[i][1];
    return key;
}

static void put_attribution(struct doc *d, const cJSON *s)
{
    static const struct col cols[] = {
        {"Evidence", 0}, {"Foreign bumps", 1}, {"Share", 1}};
    static const char *const keys[] = {"audit", "transition", "batch",
                                       "periodic", "unexplained"};
    const cJSON *at = jget(s, "attribution"), *it;
    double sum = 0.0, v;
    char a[FMT_LEN], b[FMT_LEN];

    section(d, 3, "Attribution of foreign bumps");
    if (!cJSON_IsObject(at) || !at->child) {
        para(d, "muted", "Attribution: n/a (not recorded).");
        return;
    }
    para(d, "muted small",
         "Each version bump not made by this run, counted once under its "
         "best evidence.");
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
        if (num(jget(at, keys[k]), &v) && v > 0)
            sum += v;
    table_begin(d, NULL, cols, 3);
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        it = jget(at, keys[k]);
        if (!it)
            continue;
        row_begin(d, NULL);
        cell(d, attribution_label(keys[k]), 0);
        cell(d, fmt_count(a, it), CELL_NUM);
        cell(d, num(it, &v) && sum > 0 ? fmt_pct_d(b, v / sum) : NA, CELL_NUM);
        row_end(d);
    }
    table_end(d);
    if (num(jget(at, "audit_ambiguous"), &v) && v > 0) {
        para_begin(d, "muted small");
        put_textf(d,
                  "%s of the audit attributions are ambiguous: records of "
                  "several writers fit the same bump, and the nearest in "
                  "time was taken.",
                  fmt_count(a, jget(at, "audit_ambiguous")));
        para_end(d);
    }
}

/* "a (b)" with either part possibly "n/a". */
static const char *pair_text(char *out, size_t len, const char *x,
                             const char *y)
{
    snprintf(out, len, "%s (%s)", x, y);
    return out;
}

static void put_association(struct doc *d, const cJSON *s)
{
    static const struct col cols[] = {{"Signal", 0},
                                      {"Sig.", 0},
                                      {"Transitions", 1},
                                      {"Bumps covered", 1},
                                      {"Coverage (chance)", 1},
                                      {"Hit rate (chance)", 1},
                                      {"Lift cov. / hit", 1},
                                      {"p (adjusted)", 1},
                                      {"Lag median (IQR)", 1}};
    const cJSON *as = jget(s, "association"), *it, *c;
    const cJSON *an = jget(s, "analysis");
    char a[FMT_LEN], b[FMT_LEN], t[2 * FMT_LEN + 8];
    double w;

    section(d, 3, "Association of bumps with transitions");
    if (!has_rows(d, as, "No transition signal was tested.",
                  "Association: n/a (not recorded)."))
        return;
    para_begin(d, "muted small");
    if (num(jget(an, "window_ms"), &w))
        put_textf(d,
                  "Coverage: share of foreign bumps that follow such a "
                  "transition within %s; hit rate: share of those "
                  "transitions followed by a bump.",
                  fmt_ms_d(a, w));
    else
        put_text(d, "Coverage: share of foreign bumps that follow such a "
                    "transition within the window; hit rate: share of those "
                    "transitions followed by a bump.");
    put_text(d, " Chance: the same after shifting each agent's transitions "
                "in time; p from that permutation test.");
    para_end(d);
    table_begin(d, "assoc", cols, 9);
    cJSON_ArrayForEach(it, as)
    {
        int sig = jbool(it, "significant");

        row_begin(d, sig == 1 ? "sig" : NULL);
        cell(d, jstr(it, "signal"), CELL_CODE);
        cell(d, sig == 1 ? "yes" : sig == 0 ? "no" : NA, 0);
        num_cell(d, fmt_count, it, "transitions");
        snprintf(t, sizeof(t), "%s of %s", fmt_count(a, jget(it, "covered")),
                 fmt_count(b, jget(it, "bumps")));
        cell(d, t, CELL_NUM);
        cell(d,
             pair_text(t, sizeof(t), fmt_pct(a, jget(it, "coverage")),
                       fmt_pct(b, jget(it, "null_coverage"))),
             CELL_NUM);
        cell(d,
             pair_text(t, sizeof(t), fmt_pct(a, jget(it, "hit_rate")),
                       fmt_pct(b, jget(it, "null_hit_rate"))),
             CELL_NUM);
        snprintf(t, sizeof(t), "%s / %s",
                 fmt_ratio(a, jget(it, "coverage_lift")),
                 fmt_ratio(b, jget(it, "hit_rate_lift")));
        cell(d, t, CELL_NUM);
        cell(d,
             pair_text(t, sizeof(t), fmt_p(a, jget(it, "p_value"), 0),
                       fmt_p(b, jget(it, "p_adjusted"), 0)),
             CELL_NUM);
        cell(d,
             pair_text(t, sizeof(t), fmt_ms(a, jget(it, "lag_median_ms")),
                       fmt_ms(b, jget(it, "lag_iqr_ms"))),
             CELL_NUM);
        row_end(d);
    }
    table_end(d);
    /* Confounds go below the table: a list per row would make it too wide
     * to read. */
    cJSON_ArrayForEach(it, as)
    {
        if (array_len(jget(it, "confounded_with")) <= 0)
            continue;
        para_begin(d, "small");
        put_code(d, jstr(it, "signal"));
        put_text(d, " is confounded with ");
        d->items = 0;
        cJSON_ArrayForEach(c, jget(it, "confounded_with"))
        {
            list_item_sep(d);
            put_code(d, cJSON_IsString(c) ? c->valuestring : NULL);
        }
        d->items = 0;
        put_text(d, ".");
        para_end(d);
    }
}

/* Conflict rate of a row of the 2x2 table. */
static const char *row_rate(char *out, const cJSON *conflict, const cJSON *ok)
{
    double c, o;

    if (!num(conflict, &c) || !num(ok, &o) || c + o <= 0)
        return NA;
    return fmt_pct_d(out, c / (c + o));
}

static void put_conflicts(struct doc *d, const cJSON *s)
{
    static const struct col two[] = {{"Agent at write time", 0},
                                     {"Conflict", 1},
                                     {"Success", 1},
                                     {"Conflict rate", 1}};
    static const struct col states[] = {{"Routing state at write", 0},
                                        {"Writes", 1},
                                        {"Conflicts", 1},
                                        {"Rate", 1}};
    const cJSON *c = jget(s, "conflicts"), *aw = jget(c, "at_write"), *it;
    const cJSON *ci = jget(aw, "ci95");
    char a[FMT_LEN], b[FMT_LEN], e[FMT_LEN];
    const char *exposure = jstr(aw, "exposure");

    section(d, 3, "Conflicts");
    if (!recorded(d, c, "Conflicts: n/a (not recorded)."))
        return;
    figs_begin(d);
    num_fig(d, "Conflicts", fmt_count, c, "total");
    num_fig(d, "Explained by foreign bumps", fmt_count, c, "explained_foreign");
    num_fig(d, "Explained by own writes", fmt_count, c, "explained_own");
    num_fig(d, "Unexplained", fmt_count, c, "unexplained");
    figs_end(d);
    if (cJSON_IsObject(aw)) {
        table_begin(d, "two", two, 4);
        row_begin(d, NULL);
        cell(d, exposure ? exposure : "exposed (n/a)", 0);
        cell(d, fmt_count(a, jget(aw, "exposed_conflict")), CELL_NUM);
        cell(d, fmt_count(b, jget(aw, "exposed_ok")), CELL_NUM);
        cell(d,
             row_rate(e, jget(aw, "exposed_conflict"), jget(aw, "exposed_ok")),
             CELL_NUM);
        row_end(d);
        row_begin(d, NULL);
        cell(d, "otherwise", 0);
        cell(d, fmt_count(a, jget(aw, "other_conflict")), CELL_NUM);
        cell(d, fmt_count(b, jget(aw, "other_ok")), CELL_NUM);
        cell(d, row_rate(e, jget(aw, "other_conflict"), jget(aw, "other_ok")),
             CELL_NUM);
        row_end(d);
        table_end(d);
        para_begin(d, NULL);
        put_text(d, "Odds ratio ");
        strong_begin(d);
        put_text(d, fmt_ratio(a, jget(aw, "odds_ratio")));
        strong_end(d);
        if (array_len(ci) == 2)
            put_textf(d, " (95%% CI %s to %s)",
                      fmt_ratio(a, cJSON_GetArrayItem(ci, 0)),
                      fmt_ratio(b, cJSON_GetArrayItem(ci, 1)));
        else
            put_text(d, " (95% CI n/a)");
        put_textf(d, ", Fisher exact p = %s.",
                  fmt_p(a, jget(aw, "p_value"), 1));
        para_end(d);
    } else {
        para(d, "muted", "Conflicts by exposure at write: n/a.");
    }
    if (array_len(jget(c, "by_state")) > 0) {
        table_begin(d, NULL, states, 4);
        cJSON_ArrayForEach(it, jget(c, "by_state"))
        {
            row_begin(d, NULL);
            cell(d, jstr(it, "state"), CELL_CODE);
            num_cell(d, fmt_count, it, "writes");
            num_cell(d, fmt_count, it, "conflicts");
            num_cell(d, fmt_pct, it, "rate");
            row_end(d);
        }
        table_end(d);
    } else {
        para(d, "muted", "Conflicts by routing state: n/a.");
    }
}

static void put_checker(struct doc *d, const cJSON *s)
{
    static const struct col cols[] = {
        {"Check", 0}, {"Operation", 1}, {"Agent", 0}, {"Detail", 0}};
    const cJSON *c = jget(s, "checker"), *f = jget(c, "findings"), *it;

    section(d, 3, "Checker");
    if (!recorded(d, c, "Checker: n/a (not recorded)."))
        return;
    figs_begin(d);
    num_fig(d, "Lost updates", fmt_count, c, "lost_updates");
    num_fig(d, "Retries without re-read", fmt_count, c,
            "retries_without_reread");
    num_fig(d, "Retry-After ignored", fmt_count, c, "retry_after_ignored");
    num_fig(d, "Self-conflicts", fmt_count, c, "self_conflicts");
    figs_end(d);
    if (!has_rows(d, f, "No findings.", "Findings: n/a."))
        return;
    if (array_len(f) >= 100)
        para(d, "muted small", "The first 100 findings:");
    table_begin(d, NULL, cols, 4);
    cJSON_ArrayForEach(it, f)
    {
        row_begin(d, NULL);
        cell(d, jstr(it, "check"), CELL_CODE);
        num_cell(d, fmt_count, it, "op_id");
        cell(d, jstr(it, "agent"), CELL_CODE);
        cell(d, jstr(it, "text"), 0);
        row_end(d);
    }
    table_end(d);
}

static void put_strategies(struct doc *d, const cJSON *s)
{
    /* "Dry run" (operations whose write was listed, not sent) only when
     * a strategy has one, so other runs keep their table. */
    static const struct col cols[] = {
        {"Strategy", 0},  {"Operations", 1}, {"Succeeded", 1},
        {"Conflicts", 1}, {"Gave up", 1},    {"Errors", 1},
        {"Unknown", 1},   {"Dry run", 1},    {"Requests", 1},
        {"Wasted", 1},    {"Duration", 1},   {"Lost updates", 1}};
    static const struct col cols_sent[] = {
        {"Strategy", 0},  {"Operations", 1},  {"Succeeded", 1},
        {"Conflicts", 1}, {"Gave up", 1},     {"Errors", 1},
        {"Unknown", 1},   {"Requests", 1},    {"Wasted", 1},
        {"Duration", 1},  {"Lost updates", 1}};
    const cJSON *st = jget(s, "strategies"), *it;
    int dry = 0;
    double n;

    section(d, 3, "Replay strategies");
    if (!has_rows(d, st, "No strategy was replayed.",
                  "Strategies: n/a (not recorded)."))
        return;
    cJSON_ArrayForEach(it, st) dry |= num(jget(it, "dry_run"), &n) && n > 0;
    if (dry)
        table_begin(d, NULL, cols, 12);
    else
        table_begin(d, NULL, cols_sent, 11);
    cJSON_ArrayForEach(it, st)
    {
        row_begin(d, NULL);
        cell(d, jstr(it, "strategy"), CELL_CODE);
        num_cell(d, fmt_count, it, "operations");
        num_cell(d, fmt_count, it, "succeeded");
        num_cell(d, fmt_count, it, "conflicts");
        num_cell(d, fmt_count, it, "gave_up");
        num_cell(d, fmt_count, it, "errors");
        num_cell(d, fmt_count, it, "unknown");
        if (dry)
            num_cell(d, fmt_count, it, "dry_run");
        num_cell(d, fmt_count, it, "requests");
        num_cell(d, fmt_count, it, "wasted_requests");
        num_cell(d, fmt_s, it, "duration_s");
        num_cell(d, fmt_count, it, "lost_updates");
        row_end(d);
    }
    table_end(d);
}

static void put_latency(struct doc *d, const cJSON *s)
{
    static const struct col cols[] = {{"Status", 0}, {"Requests", 1},
                                      {"p50", 1},    {"p90", 1},
                                      {"p99", 1},    {"max", 1}};
    const cJSON *l = jget(s, "latency"), *it;
    char a[FMT_LEN];

    section(d, 3, "Latency by status");
    if (!has_rows(d, l, "No request was timed.",
                  "Latency: n/a (not recorded)."))
        return;
    table_begin(d, NULL, cols, 6);
    cJSON_ArrayForEach(it, l)
    {
        row_begin(d, NULL);
        cell(d, fmt_any(a, jget(it, "status")), 0);
        num_cell(d, fmt_count, it, "n");
        num_cell(d, fmt_ms, it, "p50_ms");
        num_cell(d, fmt_ms, it, "p90_ms");
        num_cell(d, fmt_ms, it, "p99_ms");
        num_cell(d, fmt_ms, it, "max_ms");
        row_end(d);
    }
    table_end(d);
}

static void put_truth(struct doc *d, const cJSON *s)
{
    const cJSON *t = jget(s, "truth_score");
    int ok = jbool(t, "verdict_correct");

    if (!cJSON_IsObject(t))
        return;
    section(d, 2, "Truth score (simulator only)");
    callout_begin(d, "truth", "Simulator ground truth.");
    put_text(d, "The simulator knows who made every write. That ground "
                "truth was used only to score the diagnosis above, never to "
                "reach it; a run against a real org has no such score.");
    callout_end(d);
    figs_begin(d);
    fig(d, "Verdict correct", ok == 1 ? "yes" : ok == 0 ? "no" : NA, 0);
    fig(d, "True cause", jstr(t, "true_cause"), 1);
    num_fig(d, "Foreign bumps", fmt_count, t, "foreign_bumps");
    num_fig(d, "Attributed", fmt_count, t, "attributed");
    num_fig(d, "Correctly attributed", fmt_count, t, "correct");
    num_fig(d, "Precision", fmt_pct, t, "precision");
    num_fig(d, "Recall", fmt_pct, t, "recall");
    num_fig(d, "Own/foreign accuracy", fmt_pct, t, "own_foreign_accuracy");
    {
        double n;
        if (num(jget(t, "audit_attributed"), &n) && n > 0) {
            num_fig(d, "Audit-attributed", fmt_count, t, "audit_attributed");
            num_fig(d, "Right writer", fmt_count, t, "audit_correct");
        }
    }
    figs_end(d);
}

/* ------------------------------------------------------------------ */
/* Plots                                                               */

struct plot {
    char name[DOC_NAME_MAX + 1];
    const char *title; /* borrowed from the summary; NULL = name */
    const char *svg;   /* borrowed; NULL when absent */
};

/* Read @run_dir/plots/@name.png into *out (caller frees).  RT_ENOENT when
 * it is not there; anything else is logged, as the report goes on
 * without the image. */
static enum rt_err read_png(const char *run_dir, const char *name, char **out,
                            size_t *out_len)
{
    static const unsigned char sig[8] = {0x89, 'P',  'N',  'G',
                                         '\r', '\n', 0x1a, '\n'};
    struct buf path;
    enum rt_err err = RT_OK;
    struct stat st;
    char *data = NULL;
    size_t got = 0;
    int fd = -1;

    *out = NULL;
    *out_len = 0;
    if (!run_dir)
        return RT_ENOENT;
    buf_init(&path, 4096);
    if (buf_printf(&path, "%s/plots/%s.png", run_dir, name)) {
        err = rt_fail(RT_EINVAL, "plot path too long: '%s'", run_dir);
        goto out;
    }
    fd = open(buf_str(&path), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            err = RT_ENOENT;
        else
            err = rt_fail(RT_EIO, "cannot open '%s': %s", buf_str(&path),
                          strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        err = rt_fail(RT_EIO, "cannot read '%s': not a regular file",
                      buf_str(&path));
        goto out;
    }
    if ((uintmax_t)st.st_size > DOC_PNG_MAX) {
        err =
            rt_fail(RT_ETRUNC, "plot too large to embed: '%s'", buf_str(&path));
        goto out;
    }
    data = xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = rt_fail(RT_EIO, "cannot read '%s': %s", buf_str(&path),
                          strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got < sizeof(sig) || memcmp(data, sig, sizeof(sig)) != 0) {
        err = rt_fail(RT_EPARSE, "not a PNG image: '%s'", buf_str(&path));
        goto out;
    }
    *out = data;
    *out_len = got;
    data = NULL;
out:
    free(data);
    if (fd >= 0)
        close(fd);
    buf_release(&path);
    return err;
}

static int png_exists(const char *run_dir, const char *name)
{
    char path[4096];
    struct stat st;
    int n;

    if (!run_dir)
        return 0;
    n = snprintf(path, sizeof(path), "%s/plots/%s.png", run_dir, name);
    return n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0 &&
           S_ISREG(st.st_mode);
}

static int plot_cmp(const void *x, const void *y)
{
    return strcmp(((const struct plot *)x)->name,
                  ((const struct plot *)y)->name);
}

/*
 * The plots to show: the summary's items (names that are not plain file
 * names are skipped), or, for a summary without a plot list, every PNG
 * under plots/ in name order.  Returns how many were filled in.
 */
static size_t list_plots(const struct doc *d, const cJSON *plots,
                         struct plot *out, size_t max)
{
    const cJSON *items = jget(plots, "items"), *it;
    struct dirent *de;
    size_t n = 0;
    char path[4096];
    DIR *dir;

    if (cJSON_IsArray(items)) {
        cJSON_ArrayForEach(it, items)
        {
            const char *name = jstr(it, "name");
            if (n == max)
                break;
            if (!plain_name(name)) {
                log_warn("skipping plot with unusable name '%s'",
                         name ? name : "");
                continue;
            }
            snprintf(out[n].name, sizeof(out[n].name), "%s", name);
            out[n].title = jstr(it, "title");
            out[n].svg = jstr(it, "svg");
            n++;
        }
        return n;
    }
    if (!d->run_dir || snprintf(path, sizeof(path), "%s/plots", d->run_dir) >=
                           (int)sizeof(path))
        return 0;
    dir = opendir(path);
    if (!dir)
        return 0;
    while (n < max && (de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len <= 4 || len - 4 > DOC_NAME_MAX ||
            strcmp(de->d_name + len - 4, ".png") != 0)
            continue;
        memcpy(out[n].name, de->d_name, len - 4);
        out[n].name[len - 4] = '\0';
        if (!plain_name(out[n].name))
            continue;
        out[n].title = NULL;
        out[n].svg = NULL;
        n++;
    }
    closedir(dir);
    qsort(out, n, sizeof(out[0]), plot_cmp);
    return n;
}

/* Why an image is not shown. */
static void put_missing_note(struct doc *d, const cJSON *plots,
                             const struct plot *p)
{
    const char *note = jstr(plots, "note");

    if (note)
        put_text(d, note);
    else
        put_textf(d,
                  "The image plots/%s.png was not found in the run "
                  "directory.",
                  p->name);
}

static void put_plot_html(struct doc *d, const cJSON *plots,
                          const struct plot *p)
{
    const char *title = p->title ? p->title : p->name;
    char *png = NULL;
    size_t len = 0;

    if (read_png(d->run_dir, p->name, &png, &len) == RT_OK) {
        /* decoding="sync": a printed or captured page never shows a
         * half-decoded plot. */
        put_raw(d, "<figure><img decoding=\"sync\" alt=\"");
        html_escape(d, title);
        put_raw(d, "\" src=\"data:image/png;base64,");
        if (!d->err)
            d->err = base64_encode(&d->out, png, len);
        put_raw(d, "\"><figcaption>");
        html_escape(d, title);
        put_raw(d, " <span class=\"muted\">· <code>plots/");
        html_escape(d, p->name);
        put_raw(d, ".png</code></span></figcaption></figure>\n");
        free(png);
        return;
    }
    put_raw(d, "<figure class=\"missing\"><strong>");
    html_escape(d, title);
    put_raw(d, "</strong><span class=\"muted\">");
    put_missing_note(d, plots, p);
    put_raw(d, "</span></figure>\n");
}

static void put_plot_md(struct doc *d, const cJSON *plots, const struct plot *p)
{
    const char *title = p->title ? p->title : p->name;

    put_raw(d, "### ");
    md_escape(d, title, 0);
    put_raw(d, "\n\n");
    if (png_exists(d->run_dir, p->name)) {
        put_raw(d, "![");
        md_escape(d, title, 0);
        put_rawf(d, "](plots/%s.png)", p->name);
        if (plain_relpath(p->svg)) {
            put_raw(d, " ([SVG](");
            put_raw(d, p->svg);
            put_raw(d, "))");
        }
        put_raw(d, "\n\n");
        return;
    }
    para_begin(d, NULL);
    put_raw(d, "*");
    put_missing_note(d, plots, p);
    put_raw(d, "*");
    para_end(d);
}

static void put_plots(struct doc *d, const cJSON *s)
{
    const cJSON *plots = jget(s, "plots");
    struct plot *list = xcalloc(DOC_PLOTS_MAX, sizeof(*list));
    size_t n = list_plots(d, plots, list, DOC_PLOTS_MAX);
    const char *note = jstr(plots, "note");
    size_t missing = 0;

    for (size_t i = 0; i < n; i++)
        missing += !png_exists(d->run_dir, list[i].name);
    section(d, 2, "Plots");
    /* Plots rendered later by hand (the note says how) are simply shown;
     * the note stands out only while an image is still missing. */
    if ((jbool(plots, "rendered") == 0 && (missing > 0 || n == 0)) ||
        (note && n == 0)) {
        callout_begin(d, "warn", "Plots not rendered.");
        put_text(d, note ? note : "n/a");
        callout_end(d);
    }
    if (n == 0)
        para(d, "muted", "No plot in this run directory.");
    for (size_t i = 0; i < n; i++) {
        if (d->kind == DOC_HTML)
            put_plot_html(d, plots, &list[i]);
        else
            put_plot_md(d, plots, &list[i]);
    }
    free(list);
}

/* ------------------------------------------------------------------ */
/* Files and footer                                                    */

static void put_files(struct doc *d, const cJSON *s)
{
    const cJSON *files = jget(s, "files"), *it;

    section(d, 2, "Files");
    if (array_len(files) <= 0) {
        para(d, "muted", "Files: n/a (not recorded).");
        return;
    }
    para(d, "muted small",
         "In the run directory, next to summary.json, summary.md and "
         "report.html:");
    if (d->kind == DOC_HTML)
        put_raw(d, "<ul class=\"files\">");
    cJSON_ArrayForEach(it, files)
    {
        const char *f = cJSON_IsString(it) ? it->valuestring : NULL;

        if (d->kind == DOC_HTML) {
            put_raw(d, "<li>");
            put_code(d, f);
            put_raw(d, "</li>");
        } else if (plain_relpath(f)) {
            put_raw(d, "- [");
            md_escape(d, f, 0);
            put_rawf(d, "](%s)\n", f);
        } else {
            put_raw(d, "- ");
            put_code(d, f);
            put_raw(d, "\n");
        }
    }
    put_raw(d, d->kind == DOC_HTML ? "</ul>\n" : "\n");
}

static void put_foot(struct doc *d, const cJSON *s)
{
    const cJSON *an = jget(s, "analysis");
    const char *tool = jstr(s, "tool"), *version = jstr(s, "version");
    char a[FMT_LEN];
    struct buf t;

    buf_init(&t, 2048);
    buf_printf(&t, "Generated by %s %s", tool ? tool : "racetrace",
               version ? version : NA);
    if (cJSON_IsObject(an)) {
        buf_printf(&t, " · analysis window %s",
                   fmt_ms(a, jget(an, "window_ms")));
        buf_printf(&t, ", %s permutations",
                   fmt_count(a, jget(an, "permutations")));
        buf_printf(&t, ", seed %s", fmt_count(a, jget(an, "seed")));
        buf_printf(&t, ", alpha %s", fmt_ratio(a, jget(an, "alpha")));
        buf_printf(&t, " · analysed %s",
                   jstr(an, "generated") ? jstr(an, "generated") : NA);
    }
    if (d->kind == DOC_HTML) {
        put_raw(d, "<footer>");
        html_escape(d, buf_str(&t));
        put_raw(d, "</footer>\n</main>\n</body>\n</html>\n");
    } else {
        put_raw(d, "---\n\n");
        md_escape(d, buf_str(&t), 1);
        put_raw(d, "\n");
    }
    buf_release(&t);
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */

static enum rt_err doc_write(enum doc_kind kind, const cJSON *summary,
                             const char *run_dir, const char *out_path)
{
    struct doc d = {.kind = kind, .run_dir = run_dir};
    enum rt_err err;

    if (!out_path)
        return rt_fail(RT_EINVAL, "no path for the report");
    buf_init(&d.out, kind == DOC_HTML ? DOC_HTML_MAX : DOC_MD_MAX);
    put_head(&d, summary);
    put_verdict(&d, summary);
    put_more_data(&d, summary);
    put_secondary(&d, summary);
    put_sources(&d, summary);
    section(&d, 2, "Evidence");
    put_counts(&d, summary);
    put_attribution(&d, summary);
    put_association(&d, summary);
    put_conflicts(&d, summary);
    put_checker(&d, summary);
    put_strategies(&d, summary);
    put_latency(&d, summary);
    put_truth(&d, summary);
    put_plots(&d, summary);
    put_files(&d, summary);
    put_foot(&d, summary);
    if (d.err) {
        err = rt_fail(d.err, "cannot build '%s': %s", out_path,
                      rt_strerror(d.err));
        goto out;
    }
    err = fs_write_atomic(out_path, buf_str(&d.out), d.out.len);
out:
    buf_release(&d.out);
    return err;
}

enum rt_err doc_write_markdown(const cJSON *summary, const char *run_dir,
                               const char *out_path)
{
    return doc_write(DOC_MD, summary, run_dir, out_path);
}

enum rt_err doc_write_html(const cJSON *summary, const char *run_dir,
                           const char *out_path)
{
    return doc_write(DOC_HTML, summary, run_dir, out_path);
}
