/*
 * summary.md and report.html from summary.json: a complete summary shows
 * the verdict first and every evidence table with numbers formatted for
 * people; strings from the summary are escaped in both formats; partial,
 * empty and mistyped summaries still give well-formed documents with
 * "n/a" and never "(null)"; plots are embedded as data: URIs that decode
 * back to the PNG file, or replaced by their title and the note; what the
 * run could and could not see (audit, analytics, stream) is said in plain
 * words, with what could not be seen boxed as a warning; a dry run says
 * that no write was sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/json.h"
#include "report/doc.h"
#include "support/files.h"
#include "support/qjson.h"

#define SCRIPT_SIGNAL "presence:<script>alert('x')</script>"

/* The contract's example (notes/analysis-contract.md), in single quotes
 * for readability; qjson_parse() turns them into double quotes.  Strings
 * that need a real quote are set afterwards. */
static const char complete_json[] =
    "{'tool':'racetrace','version':'0.1.0',"
    "'run':{'name':'predictive-bump','target':'sim','simulator':true,"
    "'start':'2026-11-24T16:58:00.000Z','end':'2026-11-24T16:59:30.000Z',"
    "'duration_s':90.0,'interrupted':false,'agents':150},"
    "'verdict':{'cause':'routing-status','signal':'routing:INTERACTING',"
    "'p_value':0.001,'hit_rate':0.69,'coverage':0.98,'median_lag_ms':210.0,"
    "'lag_iqr_ms':180.0,"
    "'headline':'Predictive routing-style writes bump agents after "
    "INTERACTING',"
    "'text':'Another writer updates each agent about 210 ms after it starts "
    "interacting.',"
    "'secondary':[{'cause':'batch','signal':'burst','p_value':0.002,"
    "'coverage':null}],"
    "'confounded_with':['routing:OFF_QUEUE'],"
    "'more_data':{'events_needed':120,'minutes':14.0,"
    "'text':'Record longer to separate the two signals.'}},"
    "'counts':{'requests':{'total':1804,'by_status':{'200':1789,'409':15},"
    "'by_kind':{'ok':1789,'conflict':15},"
    "'by_role':{'observe':1350,'replay':453,'auth':1}},"
    "'operations':{'total':450,'ok':436,'conflict':14,'gave_up':0,'error':0,"
    "'unknown':0},"
    "'bumps':{'total':800,'own':436,'own_unconfirmed':0,'foreign':364,"
    "'hidden':1},"
    "'transitions':{'presence':6,'routing':791},'observations':1556},"
    "'attribution':{'audit':0,'transition':350,'batch':0,'periodic':0,"
    "'unexplained':14},"
    "'association':["
    "{'signal':'routing:INTERACTING','transitions':457,'bumps':364,"
    "'covered':358,'coverage':0.98,'hit_rate':0.69,'null_coverage':0.12,"
    "'null_hit_rate':0.09,'coverage_lift':8.1,'hit_rate_lift':7.6,"
    "'p_value':0.001,'p_adjusted':0.01,'significant':true,"
    "'lag_median_ms':210.0,'lag_iqr_ms':180.0,'lag_mad_ms':90.0,"
    "'confounded_with':[]},"
    "{'signal':'x','transitions':6,'bumps':364,'covered':2,"
    "'coverage':0.0056,'hit_rate':0.33,'null_coverage':0.004,"
    "'null_hit_rate':0.25,'coverage_lift':1.37,'hit_rate_lift':1.3,"
    "'p_value':0.0002,'p_adjusted':null,'significant':false,"
    "'lag_median_ms':null,'lag_iqr_ms':12.34,'lag_mad_ms':null,"
    "'confounded_with':['routing:OFF_QUEUE']}],"
    "'conflicts':{'total':15,'explained_foreign':14,'explained_own':1,"
    "'unexplained':0,"
    "'at_write':{'exposure':'transitioning or INTERACTING at write',"
    "'exposed_conflict':12,'exposed_ok':80,'other_conflict':3,"
    "'other_ok':340,'odds_ratio':17.0,'ci95':[4.7,61.0],"
    "'p_value':2.3e-07},"
    "'by_state':[{'state':'INTERACTING','writes':92,'conflicts':12,"
    "'rate':0.13},{'state':'IDLE','writes':343,'conflicts':3,"
    "'rate':0.0087}]},"
    "'checker':{'lost_updates':0,'retries_without_reread':0,"
    "'retry_after_ignored':0,'self_conflicts':1,"
    "'findings':[{'check':'self-conflict','op_id':12,'agent':'a1b2c3d4',"
    "'text':'x'}]},"
    "'strategies':[{'strategy':'bulk-stale','operations':150,"
    "'succeeded':136,'conflicts':14,'gave_up':0,'errors':0,'unknown':0,"
    "'requests':300,'wasted_requests':14,'duration_s':6.2,"
    "'lost_updates':0},"
    "{'strategy':'x','operations':1,'succeeded':1,'conflicts':0,"
    "'gave_up':0,'errors':0,'unknown':0,'requests':1,'wasted_requests':0,"
    "'duration_s':null,'lost_updates':0}],"
    "'latency':[{'status':200,'n':1789,'p50_ms':40.1,'p90_ms':58.0,"
    "'p99_ms':61.04,'max_ms':62.26},"
    "{'status':409,'n':15,'p50_ms':null,'p90_ms':0.04,'p99_ms':1234.5,"
    "'max_ms':1300.0}],"
    "'truth_score':{'foreign_bumps':364,'attributed':350,'correct':345,"
    "'precision':0.986,'recall':0.948,'own_foreign_accuracy':1.0,"
    "'true_cause':'routing-status','verdict_correct':true},"
    "'plots':{'rendered':true,'note':null,'items':["
    "{'name':'swimlane','title':'Agent swimlanes','png':'plots/swimlane.png',"
    "'svg':'plots/swimlane.svg'},"
    "{'name':'lag','title':'Lag from transition to bump',"
    "'png':'plots/lag.png','svg':'plots/lag.svg'}]},"
    "'files':['bumps.csv','conflicts.csv','association.csv',"
    "'strategies.csv'],"
    "'analysis':{'window_ms':2000,'permutations':999,'seed':42,"
    "'alpha':0.05,'generated':'2026-11-24T17:01:00.000Z'}}";

struct fixture {
    char dir[256];
    char md[320];
    char html[320];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char plots[300];

    if (!fx)
        return -1;
    if (files_mkdtemp(fx->dir, sizeof(fx->dir), "rt-test-doc")) {
        free(fx);
        return -1;
    }
    snprintf(plots, sizeof(plots), "%s/plots", fx->dir);
    if (mkdir(plots, 0755)) {
        free(fx);
        return -1;
    }
    snprintf(fx->md, sizeof(fx->md), "%s/summary.md", fx->dir);
    snprintf(fx->html, sizeof(fx->html), "%s/report.html", fx->dir);
    *state = fx;
    return 0;
}

static const char *path_in_dir(const struct fixture *fx, const char *name)
{
    static char path[600];

    snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
    return path;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    files_remove_tree(fx->dir);
    free(fx);
    return 0;
}

/* The complete summary with hostile strings where escaping matters. */
static cJSON *complete_summary(void)
{
    cJSON *root = qjson_parse(complete_json);
    cJSON *assoc = cJSON_GetObjectItem(root, "association");
    cJSON *finding = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(root, "checker"), "findings"),
        0);
    cJSON *strategy =
        cJSON_GetArrayItem(cJSON_GetObjectItem(root, "strategies"), 1);

    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(assoc, 1), "signal",
                              cJSON_CreateString(SCRIPT_SIGNAL));
    cJSON_ReplaceItemInObject(
        finding, "text",
        cJSON_CreateString("retried \"op 12\" & it's <b>stale</b>"));
    cJSON_ReplaceItemInObject(strategy, "strategy",
                              cJSON_CreateString("pipe|name"));
    return root;
}

/* Write summary.md from @s and read it back (caller frees). */
static char *render_md(const struct fixture *fx, const cJSON *s)
{
    assert_int_equal(doc_write_markdown(s, fx->dir, fx->md), RT_OK);
    return files_read(fx->md, NULL);
}

/* Write report.html from @s and read it back (caller frees). */
static char *render_html(const struct fixture *fx, const cJSON *s)
{
    assert_int_equal(doc_write_html(s, fx->dir, fx->html), RT_OK);
    return files_read(fx->html, NULL);
}

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("expected to find [%s] in the document", needle);
}

static void assert_lacks(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);

    if (p)
        fail_msg("did not expect [%s] in the document, found at: %.60s", needle,
                 p);
}

/* Every occurrence of @needle in Markdown is backslash-escaped, so it
 * renders as text, never as raw HTML. */
static void assert_md_escaped(const char *md, const char *needle)
{
    for (const char *p = md; (p = strstr(p, needle)) != NULL; p++)
        if (p == md || p[-1] != '\\')
            fail_msg("unescaped [%s] at: %.60s", needle, p);
}

/* Offset of @needle, failing when it is missing. */
static size_t pos(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);

    if (!p)
        fail_msg("expected to find [%s] in the document", needle);
    return (size_t)(p - text);
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;

    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* Opening and closing tags of the elements the writer uses balance. */
static void assert_html_balanced(const char *html)
{
    static const char *const tags[] = {
        "html",  "head",   "body",   "main", "header",     "footer",
        "table", "thead",  "tbody",  "tr",   "td",         "th",
        "p",     "ul",     "li",     "dl",   "dt",         "dd",
        "div",   "figure", "strong", "code", "figcaption", "section",
        "span",  "h1",     "h2",     "h3",   "style",      "title",
    };

    assert_int_equal(strncmp(html, "<!DOCTYPE html>", 15), 0);
    assert_non_null(strstr(html, "</html>\n"));
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        char open_sp[32], open_gt[32], close[32];
        size_t opens, closes;

        snprintf(open_sp, sizeof(open_sp), "<%s ", tags[i]);
        snprintf(open_gt, sizeof(open_gt), "<%s>", tags[i]);
        snprintf(close, sizeof(close), "</%s>", tags[i]);
        opens = count(html, open_sp) + count(html, open_gt);
        closes = count(html, close);
        if (opens != closes)
            fail_msg("<%s>: %zu opened, %zu closed", tags[i], opens, closes);
    }
    /* Self-contained: nothing is fetched, nothing runs. */
    assert_lacks(html, "<script");
    assert_lacks(html, "http:");
    assert_lacks(html, "https:");
    assert_lacks(html, "url(");
    assert_lacks(html, "@import");
    assert_lacks(html, "<link");
    assert_lacks(html, "(null)");
}

/* Every row of every Markdown table has as many unescaped pipes as its
 * header, so no cell text broke out of its cell. */
static void assert_md_tables(const char *md)
{
    const char *line = md;
    size_t header_pipes = 0;
    int in_table = 0;

    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        size_t pipes = 0;

        for (size_t i = 0; i < len; i++) {
            if (line[i] == '\\') {
                i++;
                continue;
            }
            pipes += line[i] == '|';
        }
        if (len > 0 && line[0] == '|') {
            if (!in_table)
                header_pipes = pipes;
            else if (pipes != header_pipes)
                fail_msg("table row has %zu cells, header %zu: %.*s", pipes - 1,
                         header_pipes - 1, (int)len, line);
            in_table = 1;
        } else {
            in_table = 0;
        }
        line += len + (end ? 1 : 0);
    }
    assert_lacks(md, "(null)");
}

static void write_png(const char *path, unsigned w, unsigned h)
{
    unsigned char *px = malloc((size_t)w * h * 3);

    assert_non_null(px);
    for (unsigned y = 0; y < h; y++)
        for (unsigned x = 0; x < w; x++) {
            unsigned char *p = px + ((size_t)y * w + x) * 3;
            p[0] = (unsigned char)(x * 255 / w);
            p[1] = (unsigned char)(y * 255 / h);
            p[2] = 200;
        }
    files_write_png(path, px, w, h);
    free(px);
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decode @len base64 characters (with padding) into a new buffer. */
static unsigned char *b64_decode(const char *s, size_t len, size_t *out_len)
{
    unsigned char *out = malloc(len / 4 * 3 + 3);
    size_t o = 0;

    assert_non_null(out);
    assert_int_equal(len % 4, 0);
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) {
            v[k] = s[i + k] == '=' ? 0 : b64_value(s[i + k]);
            assert_true(v[k] >= 0);
        }
        uint32_t n = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                     (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (unsigned char)(n >> 16);
        if (s[i + 2] != '=')
            out[o++] = (unsigned char)(n >> 8);
        if (s[i + 3] != '=')
            out[o++] = (unsigned char)n;
    }
    *out_len = o;
    return out;
}

static void file_absent(const char *path)
{
    struct stat st;

    if (stat(path, &st) == 0)
        fail_msg("'%s' should not exist", path);
}

/* ------------------------------------------------------------------ */

static void markdown_puts_verdict_first_with_human_numbers(void **state)
{
    struct fixture *fx = *state;
    cJSON *s = complete_summary();
    char tmp[400];
    char *md;

    md = render_md(fx, s);
    snprintf(tmp, sizeof(tmp), "%s.tmp", fx->md);
    file_absent(tmp);

    assert_int_equal(strncmp(md, "# racetrace report: predictive-bump\n", 36),
                     0);
    assert_contains(md, "**Cause:** `routing-status`");
    assert_contains(md, "**Predictive routing-style writes bump agents after "
                        "INTERACTING**");
    assert_contains(md, "Another writer updates each agent about 210 ms");
    assert_contains(md, "- **Signal:** `routing:INTERACTING`\n");
    assert_contains(md, "- **p-value:** 0.001\n");
    assert_contains(md, "- **Hit rate:** 69.0%\n");
    assert_contains(md, "- **Coverage:** 98.0%\n");
    assert_contains(md, "- **Median lag:** 210 ms\n");
    assert_contains(md, "- **Lag IQR:** 180 ms\n");
    assert_contains(md, "**More data needed.** Record longer to separate the "
                        "two signals. About 120 more events, roughly 14 "
                        "more minutes");
    assert_contains(md, "| `batch` | `burst` | 0.002 | n/a |");
    assert_contains(md, "confounded with `routing:OFF_QUEUE`");

    /* Evidence. */
    assert_contains(md, "| Requests | 1804 total (by status: 200 1789, "
                        "409 15) |");
    assert_contains(md, "| Version bumps | 800 total: 436 own, 0 own "
                        "(unconfirmed), 364 foreign, 1 hidden |");
    assert_contains(md, "| Agent transition shortly before | 350 | 96.2% |");
    assert_contains(md, "| Unexplained | 14 | 3.8% |");
    assert_contains(md, "| `routing:INTERACTING` | yes | 457 | 358 of 364 | "
                        "98.0% (12.0%) | 69.0% (9.0%) | 8.1 / 7.6 | "
                        "0.001 (0.010) | 210 ms (180 ms) |\n");
    assert_contains(md, "| no | 6 | 2 of 364 | 0.6% (0.4%) | 33.0% (25.0%) "
                        "| 1.37 / 1.3 | < 0.001 (n/a) | n/a (12.3 ms) |\n");
    assert_contains(md, "presence:\\<script>alert('x')\\</script> is "
                        "confounded with `routing:OFF_QUEUE`.");
    assert_contains(md, "| transitioning or INTERACTING at write | 12 | 80 | "
                        "13.0% |");
    assert_contains(md, "| otherwise | 3 | 340 | 0.9% |");
    assert_contains(md, "Odds ratio **17** (95% CI 4.7 to 61), Fisher exact "
                        "p = 2.3e-07.");
    assert_contains(md, "| `INTERACTING` | 92 | 12 | 13.0% |");
    assert_contains(md, "| `IDLE` | 343 | 3 | 0.9% |");
    assert_contains(md, "- **Self-conflicts:** 1\n");
    assert_contains(md, "| `self-conflict` | 12 | `a1b2c3d4` | retried "
                        "\"op 12\" & it's \\<b>stale\\</b> |");
    assert_contains(md, "| `bulk-stale` | 150 | 136 | 14 | 0 | 0 | 0 | 300 "
                        "| 14 | 6.2 s | 0 |");
    assert_contains(md, "| pipe\\|name | 1 | 1 | 0 | 0 | 0 | 0 | 1 | 0 | "
                        "n/a | 0 |");
    assert_contains(md, "| 200 | 1789 | 40.1 ms | 58 ms | 61 ms | 62.3 ms |");
    assert_contains(md, "| 409 | 15 | n/a | 0 ms | 1234.5 ms | 1300 ms |");

    /* Truth score, plainly labelled. */
    assert_contains(md, "## Truth score (simulator only)");
    assert_contains(md, "ground truth was used only to score the diagnosis");
    assert_contains(md, "- **Precision:** 98.6%\n");
    assert_contains(md, "- **Verdict correct:** yes\n");

    /* Files as relative links; no PNG here, so no image link. */
    assert_contains(md, "- [bumps.csv](bumps.csv)\n");
    assert_lacks(md, "](plots/swimlane.png)");
    assert_contains(md, "### Agent swimlanes");
    assert_contains(md, "window 2000 ms, 999 permutations, seed 42");

    /* The hostile signal is escaped, never raw HTML. */
    assert_md_escaped(md, "<script>");
    assert_md_escaped(md, "</script>");
    assert_md_escaped(md, "<b>");
    assert_contains(md, "presence:\\<script>alert('x')\\</script>");

    /* Order: verdict, advice, secondary, evidence, truth, plots, files. */
    assert_true(pos(md, "## Verdict") < pos(md, "More data needed"));
    assert_true(pos(md, "More data needed") < pos(md, "## Secondary causes"));
    assert_true(pos(md, "## Secondary causes") < pos(md, "## Evidence"));
    assert_true(pos(md, "## Evidence") < pos(md, "### Counts"));
    assert_true(pos(md, "### Counts") < pos(md, "### Attribution"));
    assert_true(pos(md, "### Attribution") < pos(md, "### Association"));
    assert_true(pos(md, "### Association") < pos(md, "### Conflicts"));
    assert_true(pos(md, "### Conflicts") < pos(md, "### Checker"));
    assert_true(pos(md, "### Checker") < pos(md, "### Replay strategies"));
    assert_true(pos(md, "### Replay strategies") < pos(md, "### Latency"));
    assert_true(pos(md, "### Latency") < pos(md, "## Truth score"));
    assert_true(pos(md, "## Truth score") < pos(md, "## Plots"));
    assert_true(pos(md, "## Plots") < pos(md, "## Files"));
    /* Significant rows first, as given. */
    assert_true(pos(md, "| `routing:INTERACTING` | yes") <
                pos(md, "presence:\\<script"));
    assert_md_tables(md);
    free(md);
    cJSON_Delete(s);
}

static void html_escapes_summary_strings(void **state)
{
    struct fixture *fx = *state;
    cJSON *s = complete_summary();
    char *html;

    html = render_html(fx, s);
    assert_html_balanced(html);
    assert_contains(html, "<title>racetrace report: predictive-bump</title>");
    assert_contains(html, "<section class=\"card c-routing-status\">");
    assert_contains(html, "<span class=\"badge\">routing-status</span>");
    assert_contains(html, "<p class=\"headline\">Predictive routing-style "
                          "writes bump agents after INTERACTING</p>");
    assert_contains(html, "<dt>Hit rate</dt><dd>69.0%</dd>");
    assert_contains(html, "<dt>Median lag</dt><dd>210 ms</dd>");
    assert_contains(html, "<code>presence:&lt;script&gt;alert(&#39;x&#39;)&lt;"
                          "/script&gt;</code>");
    assert_contains(html, "<td>retried &quot;op 12&quot; &amp; it&#39;s "
                          "&lt;b&gt;stale&lt;/b&gt;</td>");
    assert_contains(html, "<tr class=\"sig\"><td><code>routing:INTERACTING"
                          "</code></td><td>yes</td>");
    assert_contains(html, "<tr><td><code>INTERACTING</code></td>"
                          "<td class=\"num\">92</td><td class=\"num\">12</td>"
                          "<td class=\"num\">13.0%</td></tr>");
    assert_contains(html, "<td class=\"num\">&lt; 0.001 (n/a)</td>");
    assert_contains(html, "Fisher exact p = 2.3e-07.");
    assert_contains(html, "Simulator ground truth.");
    assert_contains(html, "<li><code>strategies.csv</code></li>");
    /* No PNG on disk: the title and a note instead of an image. */
    assert_lacks(html, "data:image/png");
    assert_contains(html, "<figure class=\"missing\"><strong>Agent swimlanes"
                          "</strong>");
    assert_contains(html, "plots/swimlane.png was not found");
    assert_true(pos(html, "card c-routing-status") <
                pos(html, "<h2>Evidence</h2>"));
    free(html);
    cJSON_Delete(s);
}

static void embedded_png_decodes_to_the_file(void **state)
{
    struct fixture *fx = *state;
    cJSON *s = complete_summary();
    char png_path[400];
    unsigned char *decoded;
    size_t png_len, dec_len, b64_len;
    char *png, *html, *uri, *end;
    char *md;

    snprintf(png_path, sizeof(png_path), "%s/plots/swimlane.png", fx->dir);
    write_png(png_path, 61, 23);
    png = files_read(png_path, &png_len);

    html = render_html(fx, s);
    assert_html_balanced(html);
    assert_int_equal(count(html, "data:image/png;base64,"), 1);
    uri = strstr(html, "<img decoding=\"sync\" alt=\"Agent swimlanes\" "
                       "src=\"data:image/png;base64,");
    assert_non_null(uri);
    uri = strstr(uri, "base64,") + 7;
    end = strchr(uri, '"');
    assert_non_null(end);
    b64_len = (size_t)(end - uri);
    decoded = b64_decode(uri, b64_len, &dec_len);
    assert_int_equal(dec_len, png_len);
    assert_memory_equal(decoded, png, png_len);
    /* The other plot has no PNG: title and note. */
    assert_contains(html, "<strong>Lag from transition to bump</strong>");

    md = render_md(fx, s);
    assert_contains(md, "![Agent swimlanes](plots/swimlane.png)");
    assert_lacks(md, "](plots/lag.png)");
    free(md);
    free(decoded);
    free(html);
    free(png);
    cJSON_Delete(s);
}

static void unrendered_plots_show_title_and_note(void **state)
{
    static const char note[] = "gnuplot not found; render later with: "
                               "(cd RUN/plots && gnuplot *.gp)";
    struct fixture *fx = *state;
    cJSON *s = complete_summary();
    cJSON *plots = cJSON_GetObjectItem(s, "plots");
    char *html, *md;

    cJSON_ReplaceItemInObject(plots, "rendered", cJSON_CreateFalse());
    cJSON_ReplaceItemInObject(plots, "note", cJSON_CreateString(note));
    html = render_html(fx, s);
    md = render_md(fx, s);
    assert_lacks(html, "<img");
    assert_contains(html, "Plots not rendered.");
    assert_contains(html, "<figure class=\"missing\"><strong>Agent swimlanes"
                          "</strong><span class=\"muted\">gnuplot not found; "
                          "render later with: (cd RUN/plots &amp;&amp; "
                          "gnuplot *.gp)</span></figure>");
    assert_contains(html, "<strong>Lag from transition to bump</strong>");
    assert_contains(md, "### Agent swimlanes\n\n*gnuplot not found; render "
                        "later with: (cd RUN/plots && gnuplot \\*.gp)*");
    assert_lacks(md, "![");
    free(md);
    free(html);

    /* Rendered later by hand: the images show and the note steps back. */
    write_png(path_in_dir(fx, "plots/swimlane.png"), 4, 4);
    write_png(path_in_dir(fx, "plots/lag.png"), 4, 4);
    html = render_html(fx, s);
    assert_int_equal(count(html, "data:image/png;base64,"), 2);
    assert_lacks(html, "Plots not rendered.");
    free(html);
    cJSON_Delete(s);
}

static void minimal_summary_gives_valid_documents(void **state)
{
    struct fixture *fx = *state;
    cJSON *s = qjson_parse("{'verdict':{'cause':'none'}}");
    char *html, *md;

    md = render_md(fx, s);
    html = render_html(fx, s);
    assert_md_tables(md);
    assert_html_balanced(html);
    assert_contains(md, "# racetrace report\n");
    assert_contains(md, "**Cause:** `none` — No foreign writer explains");
    assert_contains(md, "- **Signal:** n/a\n");
    assert_contains(md, "- **p-value:** n/a\n");
    assert_contains(md, "Counts: n/a (not recorded).");
    assert_contains(md, "## Files");
    assert_lacks(md, "Truth score");
    assert_contains(html, "<section class=\"card c-none\">");
    assert_contains(html, "<dt>Median lag</dt><dd>n/a</dd>");
    free(html);
    free(md);
    cJSON_Delete(s);
}

static void empty_null_and_mistyped_summaries_do_not_crash(void **state)
{
    struct fixture *fx = *state;
    const char *const inputs[] = {
        "{}",
        "{'verdict':null,'run':null,'counts':null,'plots':null}",
        "{'verdict':'routing','run':[1],'counts':{'requests':'many',"
        "'operations':[],'bumps':{'total':'x'}},'attribution':[1,2],"
        "'association':{'a':1},'conflicts':{'at_write':{'ci95':[1],"
        "'odds_ratio':'big'},'by_state':[null,1,{'state':7}]},"
        "'checker':{'findings':[null,{}]},'strategies':[null,{}],"
        "'latency':[{}],'truth_score':{},'plots':{'rendered':'yes',"
        "'items':[{'name':'../../etc/passwd'},{'name':null},{}]},"
        "'files':[null,7,'../x','a b|c'],'analysis':[]}",
        "{'verdict':{'cause':'<b>new-cause</b>','secondary':[null],"
        "'confounded_with':[null,3],'more_data':{}}}",
        "{'verdict':{'writer':{'writer':7},'secondary':[{'writer':[]}]},"
        "'attribution':{'audit':'x','audit_ambiguous':[]},"
        "'evidence':{'audit':[1],'analytics':{'status':7,"
        "'missed_by_polling':'x'},'stream':{'enabled':true,'reconnects':'x',"
        "'gaps':{}}}}",
        "{'evidence':{'audit':{'status':'ok','writers':[null,{}],"
        "'writers_total':'x'},'analytics':{'status':'ok',"
        "'missed_by_polling':{}},'stream':null}}",
    };
    char *html, *md;

    for (size_t i = 0; i <= sizeof(inputs) / sizeof(inputs[0]); i++) {
        cJSON *s = i < sizeof(inputs) / sizeof(inputs[0])
                       ? qjson_parse(inputs[i])
                       : NULL; /* NULL reads as an empty summary */
        md = render_md(fx, s);
        html = render_html(fx, s);
        assert_md_tables(md);
        assert_html_balanced(html);
        assert_contains(md, "## Verdict");
        assert_contains(md, "n/a");
        assert_contains(html, "<h2>Verdict</h2>");
        assert_lacks(html, "etc/passwd");
        assert_lacks(html, "<b>");
        free(html);
        free(md);
        cJSON_Delete(s);
    }
}

static void unknown_cause_and_exact_counts(void **state)
{
    struct fixture *fx = *state;
    cJSON *s = qjson_parse("{'verdict':{'cause':'future-cause'},"
                           "'counts':{'requests':{}}}");
    cJSON *req =
        cJSON_GetObjectItem(cJSON_GetObjectItem(s, "counts"), "requests");
    char *html;

    /* In-memory trees carry exact integers as raw items (base/json.h). */
    cJSON_AddItemToObject(req, "total", json_int64(INT64_C(123456789012)));
    html = render_html(fx, s);
    assert_contains(html, "<section class=\"card c-unknown\">");
    assert_contains(html, "<span class=\"badge\">future-cause</span>");
    assert_contains(html, "<td>123456789012 total</td>");
    free(html);
    cJSON_Delete(s);
}

static void unwritable_path_fails_and_leaves_nothing(void **state)
{
    struct fixture *fx = *state;
    cJSON *s = complete_summary();
    char path[400], tmp[420];

    snprintf(path, sizeof(path), "%s/no-such-dir/report.html", fx->dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_equal(doc_write_html(s, fx->dir, path), RT_EIO);
    assert_int_equal(doc_write_markdown(s, fx->dir, path), RT_EIO);
    file_absent(path);
    file_absent(tmp);
    /* A path that is a directory: the rename fails, the .tmp is removed. */
    snprintf(path, sizeof(path), "%s/plots", fx->dir);
    snprintf(tmp, sizeof(tmp), "%s/plots.tmp", fx->dir);
    assert_int_equal(doc_write_markdown(s, fx->dir, path), RT_EIO);
    file_absent(tmp);
    assert_int_equal(doc_write_markdown(s, fx->dir, NULL), RT_EINVAL);
    cJSON_Delete(s);
}

static void plots_without_a_list_are_found_on_disk(void **state)
{
    struct fixture *fx = *state;
    cJSON *s = qjson_parse("{'verdict':{'cause':'batch'}}");
    char path[400];
    char *html, *md;

    snprintf(path, sizeof(path), "%s/plots/outcomes.png", fx->dir);
    write_png(path, 8, 8);
    snprintf(path, sizeof(path), "%s/plots/bad name.png", fx->dir);
    write_png(path, 8, 8);
    snprintf(path, sizeof(path), "%s/plots/fake.png", fx->dir);
    {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("not a png", f);
        fclose(f);
    }
    html = render_html(fx, s);
    md = render_md(fx, s);
    assert_int_equal(count(html, "data:image/png;base64,"), 1);
    assert_contains(html, "<img decoding=\"sync\" alt=\"outcomes\"");
    assert_contains(html, "<strong>fake</strong>");
    assert_lacks(html, "bad name");
    assert_true(pos(html, "<strong>fake</strong>") <
                pos(html, "<img decoding=\"sync\" alt=\"outcomes\""));
    assert_contains(md, "![outcomes](plots/outcomes.png)");
    free(md);
    free(html);
    cJSON_Delete(s);
}

/* ---- what the run could see (issue 5) -------------------------------- */

static const char evidence_json[] =
    "{'verdict':{'cause':'other-writer','signal':'audit',"
    "'headline':'Another writer changes these agents.','text':'x',"
    "'writer':{'writer':'W','kind':'client','id':'crm-sync','level':'SYSTEM',"
    "'bumps':41,'of':44},"
    "'secondary':[{'cause':'batch','signal':'burst','p_value':0.002,"
    "'coverage':0.05,'writer':'SYSTEM process routing-engine'},"
    "{'cause':'presence','signal':'presence:Break','p_value':0.01,"
    "'coverage':0.02,'writer':null}]},"
    "'attribution':{'audit':41,'transition':0,'batch':2,'periodic':0,"
    "'unexplained':1,'audit_ambiguous':3,'batch_p_value':0.01,'bursts':[],"
    "'periodic_p_value':1,'periodic_agents':0,'period_s':null},"
    "'evidence':{"
    "'audit':{'status':'forbidden','message':null,"
    "'permission':'audits:audit:view','records':null,'loaded':0,"
    "'attributed':0,'ambiguous':0,'foreign_bumps':44,'writers':[]},"
    "'analytics':{'status':'ok','message':null,'permission':null,"
    "'users':40,'transitions':200,'used':200,'left_out':0,"
    "'timeline_transitions':283,"
    "'missed_by_polling':{'presence':5,'routing_status':12,'total':17},"
    "'missed_share':0.06},"
    "'stream':{'enabled':true,'channels':1,'topics':80,'events':500,"
    "'heartbeats':4,'reconnects':2,'socket_closing':1,'drops':1,"
    "'silences':0,'gaps':2,'gap_total_ms':600,'gap_max_ms':400,"
    "'resync_changes':3,'observations':480}}}";

static void evidence_sources_are_said_in_plain_words(void **state)
{
    struct fixture *fx = *state;
    cJSON *s = qjson_parse(evidence_json);
    cJSON *w = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "verdict"), "writer");
    char *html, *md;

    cJSON_ReplaceItemInObject(
        w, "writer",
        cJSON_CreateString("OAuth client 'crm-sync' (application 'CRM')"));
    md = render_md(fx, s);
    html = render_html(fx, s);
    assert_md_tables(md);
    assert_html_balanced(html);

    /* The section sits between the secondary causes and the evidence. */
    assert_true(pos(md, "## Secondary causes") <
                pos(md, "## What the run could see"));
    assert_true(pos(md, "## What the run could see") < pos(md, "## Evidence"));
    assert_contains(md, "> Audit: not permitted — the OAuth client lacks "
                        "audits:audit:view; foreign bumps could not be "
                        "attributed to a writer.\n");
    assert_contains(html, "<div class=\"callout warn\">Audit: not permitted — "
                          "the OAuth client lacks audits:audit:view; foreign "
                          "bumps could not be attributed to a writer.</div>");
    assert_contains(md, "\nAnalytics filled 17 transitions polling missed "
                        "(6.0%): 5 presence and 12 routing-status changes no "
                        "poll or stream observation saw. They take part in "
                        "the association tests; the timeline holds 283 "
                        "transitions, 200 of them from the analytics "
                        "history.\n");
    assert_contains(md, "\nStream: 2 reconnects (1 socket_closing, 1 dropped "
                        "socket, 0 silences), longest gap 0.4 s (0.6 s in 2 "
                        "gaps); 3 changes found by re-reads after gaps. 1 "
                        "channel, 80 topics; 500 events and 4 heartbeats "
                        "received, 480 observations recorded from the "
                        "stream.\n");
    assert_contains(html, "<p>Stream: 2 reconnects (1 socket_closing");

    /* The verdict's writer, and the secondary causes' writers. */
    assert_contains(md, "- **Writer (audit):** OAuth client 'crm-sync' "
                        "(application 'CRM'): 41 of 44 bumps\n");
    assert_contains(html, "<dt>Writer (audit)</dt><dd>OAuth client "
                          "&#39;crm-sync&#39; (application &#39;CRM&#39;): "
                          "41 of 44 bumps</dd>");
    assert_contains(md, "| Cause | Signal | p-value | Coverage | Writer "
                        "(audit) |");
    assert_contains(md, "| `batch` | `burst` | 0.002 | 5.0% | SYSTEM process "
                        "routing-engine |");
    assert_contains(md, "| `presence` | `presence:Break` | 0.010 | 2.0% | "
                        "none named |");

    /* Attribution: the five kinds of evidence only, each bump once. */
    assert_contains(md, "| Audit record | 41 | 93.2% |");
    assert_contains(md, "| Cross-agent burst (batch) | 2 | 4.5% |");
    assert_contains(md, "| Unexplained | 1 | 2.3% |");
    assert_lacks(md, "batch_p_value");
    assert_lacks(md, "periodic_agents");
    assert_contains(md, "3 of the audit attributions are ambiguous");
    free(html);
    free(md);
    cJSON_Delete(s);
}

static void failed_interrupted_and_missing_sources(void **state)
{
    struct fixture *fx = *state;
    cJSON *s = qjson_parse(
        "{'verdict':{'cause':'inconclusive'},'evidence':{"
        "'audit':{'status':'failed','message':'HTTP 500 from the audit "
        "query'},"
        "'analytics':{'status':'interrupted','message':'SIGINT',"
        "'missed_by_polling':{'presence':0,'routing_status':2,'total':2},"
        "'missed_share':0.01,'timeline_transitions':200,'used':20},"
        "'stream':{'enabled':false}}}");
    cJSON *t = qjson_parse(
        "{'verdict':{'cause':'other-writer'},'evidence':{"
        "'audit':{'status':'ok','records':120,'loaded':118,"
        "'own_client':'racetrace-client','own_client_inferred':false,"
        "'own_records':60,'attributed':44,'ambiguous':2,'foreign_bumps':44,"
        "'writers':[{'writer':'W','kind':'client','level':'SYSTEM',"
        "'bumps':41,'share':0.9318,'ambiguous':1}],'writers_total':3},"
        "'analytics':{'status':'skipped','message':'--no-analytics'},"
        "'stream':{'enabled':true,'reconnects':0,'gaps':0,"
        "'resync_changes':0}}}");
    cJSON *old = qjson_parse("{'verdict':{'cause':'none'}}");
    char *html, *md;

    md = render_md(fx, s);
    html = render_html(fx, s);
    assert_md_tables(md);
    assert_html_balanced(html);
    assert_contains(md, "> Audit: the query failed (HTTP 500 from the audit "
                        "query); foreign bumps could not be attributed to a "
                        "writer.\n");
    assert_contains(md, "> Analytics: the query was interrupted (SIGINT); "
                        "transitions between polls may have been missed. "
                        "What was read: it filled 2 transitions polling "
                        "missed (1.0%)");
    assert_contains(md, "\nStream: off; presence and routing status were "
                        "polled");
    assert_contains(html, "<div class=\"callout warn\">Audit: the query "
                          "failed");
    free(html);
    free(md);

    cJSON_ReplaceItemInObject(
        cJSON_GetArrayItem(cJSON_GetObjectItem(
                               cJSON_GetObjectItem(
                                   cJSON_GetObjectItem(t, "evidence"), "audit"),
                               "writers"),
                           0),
        "writer", cJSON_CreateString("OAuth client 'crm-sync'"));
    md = render_md(fx, t);
    html = render_html(fx, t);
    assert_md_tables(md);
    assert_html_balanced(html);
    assert_contains(md, "\nAudit: 120 records read for the tracked agents; "
                        "the writer of 44 of 44 foreign bumps is named (2 "
                        "ambiguous). Records by this job's own OAuth client "
                        "'racetrace-client' were left out (60).\n");
    assert_contains(md, "| OAuth client 'crm-sync' | `client` | `SYSTEM` | "
                        "41 | 93.2% | 1 |");
    assert_contains(md, "The first 1 of 3 writers.");
    assert_contains(md, "\nAnalytics: skipped (--no-analytics); transitions "
                        "between polls may have been missed.\n");
    assert_contains(html, "<p class=\"muted\">Analytics: skipped");
    assert_contains(md, "\nStream: no reconnect, no gap; 0 changes found by "
                        "re-reads after gaps.");
    free(html);
    free(md);

    md = render_md(fx, old);
    assert_contains(md, "Evidence sources: n/a (not recorded).");
    free(md);
    cJSON_Delete(old);
    cJSON_Delete(t);
    cJSON_Delete(s);
}

/* A dry run: a callout says that no write was sent and how many would
 * have been (run.json's count, else the operations'), and the strategies
 * table gains its column. */
static void a_dry_run_is_said_plainly(void **state)
{
    struct fixture *fx = *state;
    cJSON *s = complete_summary();
    cJSON *run = cJSON_GetObjectItem(s, "run");
    cJSON *ops =
        cJSON_GetObjectItem(cJSON_GetObjectItem(s, "counts"), "operations");
    cJSON *st = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "strategies"), 0);
    char *md, *html;

    /* Not a dry run: neither the callout nor the column. */
    md = render_md(fx, s);
    assert_lacks(md, "Dry run");
    free(md);

    cJSON_AddBoolToObject(run, "dry_run", 1);
    cJSON_AddNumberToObject(run, "dry_run_writes", 1);
    cJSON_AddNumberToObject(ops, "dry_run", 450);
    cJSON_AddNumberToObject(st, "dry_run", 150);
    md = render_md(fx, s);
    html = render_html(fx, s);
    assert_md_tables(md);
    assert_html_balanced(html);
    assert_contains(md, "> **Dry run.** No write was sent. The replay read "
                        "the agents and listed the 1 write it would have "
                        "sent in dry-run.txt; nothing was changed, so the "
                        "job could not conflict.\n");
    assert_contains(html, "<div class=\"callout info\"><strong>Dry "
                          "run.</strong> No write was sent.");
    assert_true(pos(md, "**Dry run.**") < pos(md, "## Evidence"));
    assert_contains(md, "| Replayed operations | 450 total: 436 ok, 14 "
                        "conflict, 0 gave up, 0 error, 0 unknown, 450 dry "
                        "run (no write sent) |");
    assert_contains(md, "| Strategy | Operations | Succeeded | Conflicts | "
                        "Gave up | Errors | Unknown | Dry run | Requests |");
    assert_contains(md, "| `bulk-stale` | 150 | 136 | 14 | 0 | 0 | 0 | 150 | "
                        "300 | 14 | 6.2 s | 0 |");
    /* A strategy without the field shows n/a in the column. */
    assert_contains(md, "| pipe\\|name | 1 | 1 | 0 | 0 | 0 | 0 | n/a | 1 | 0 "
                        "| n/a | 0 |");
    free(md);
    free(html);

    /* Without run.json's count, the operations' count says it. */
    cJSON_ReplaceItemInObject(run, "dry_run_writes", cJSON_CreateNull());
    md = render_md(fx, s);
    assert_contains(md, "listed the 450 writes it would have sent");
    free(md);
    cJSON_Delete(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            markdown_puts_verdict_first_with_human_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(html_escapes_summary_strings, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(embedded_png_decodes_to_the_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unrendered_plots_show_title_and_note,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(minimal_summary_gives_valid_documents,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            empty_null_and_mistyped_summaries_do_not_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_cause_and_exact_counts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            unwritable_path_fails_and_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(
            evidence_sources_are_said_in_plain_words, setup, teardown),
        cmocka_unit_test_setup_teardown(a_dry_run_is_said_plainly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(failed_interrupted_and_missing_sources,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(plots_without_a_list_are_found_on_disk,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
