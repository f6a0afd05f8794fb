/*
 * racetrace analyze: load → diagnose → CSVs and plot data → plots →
 * summary.json → summary.md, report.html → evidence.tar.gz.
 */
#include "report/analyze.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis/runload.h"
#include "api/redact.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "base/units.h"
#include "base/xalloc.h"
#include "report/bundle.h"
#include "report/doc.h"
#include "report/outputs.h"
#include "report/plots.h"

#define BUNDLE_FILES_MAX 96

/* Window and seed from the run's resolved scenario, then the options. */
static void params_for(const struct runload *run,
                       const struct analyze_opts *opts, struct diag_params *p)
{
    const cJSON *scn = run->scenario, *seed, *report, *window;

    diagnose_params_default(p);
    seed = scn ? cJSON_GetObjectItemCaseSensitive(scn, "seed") : NULL;
    if (cJSON_IsNumber(seed) && seed->valuedouble >= 0)
        p->seed = (uint64_t)seed->valuedouble;
    report = scn ? cJSON_GetObjectItemCaseSensitive(scn, "report") : NULL;
    window = report ? cJSON_GetObjectItemCaseSensitive(report, "window") : NULL;
    if (cJSON_IsString(window)) {
        int64_t ns;
        if (!units_parse_duration(window->valuestring, &ns) && ns > 0)
            p->window_ns = ns;
    }
    if (opts && opts->window_ns > 0)
        p->window_ns = opts->window_ns;
    if (opts && opts->permutations > 0)
        p->permutations = opts->permutations;
}

static int exists(const char *dir, const char *name)
{
    char path[4200];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* plots/<name> for every data file, script and picture, sorted. */
static size_t plot_files(const char *dir, char **out, size_t cap)
{
    static const char *const ext[] = {".dat", ".gp", ".png", ".svg"};
    char path[4200];
    struct dirent *e;
    size_t n = 0;
    DIR *d;

    snprintf(path, sizeof(path), "%s/plots", dir);
    if (!(d = opendir(path)))
        return 0;
    while ((e = readdir(d)) && n < cap) {
        size_t len = strlen(e->d_name);
        for (size_t k = 0; k < sizeof(ext) / sizeof(ext[0]); k++) {
            size_t el = strlen(ext[k]);
            if (len > el && !strcmp(e->d_name + len - el, ext[k])) {
                size_t sz = len + 7;
                out[n] = xmalloc(sz);
                snprintf(out[n], sz, "plots/%s", e->d_name);
                n++;
                break;
            }
        }
    }
    closedir(d);
    qsort(out, n, sizeof(*out), name_cmp);
    return n;
}

static const char *dir_base(const char *dir)
{
    size_t len = strlen(dir);
    const char *p;

    while (len > 1 && dir[len - 1] == '/')
        len--;
    for (p = dir + len; p > dir && p[-1] != '/'; p--)
        ;
    return p;
}

static enum rt_err write_bundle(const char *dir, const struct runload *run)
{
    static const char *const fixed[] = {
        "summary.json",   "summary.md",     "report.html",
        "conflicts.csv",  "bumps.csv",      "association.csv",
        "strategies.csv", "operations.csv", "run.json"};
    char *plots[BUNDLE_FILES_MAX];
    const char *files[BUNDLE_FILES_MAX + 16];
    char prefix[256], out[4200], base[200];
    char **secrets = NULL;
    size_t n = 0, np, ns;
    enum rt_err err;

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (exists(dir, fixed[i]))
            files[n++] = fixed[i];
    np = plot_files(dir, plots, BUNDLE_FILES_MAX);
    for (size_t i = 0; i < np; i++)
        files[n++] = plots[i];
    /* The directory's own name (reports/latest resolved), without the
     * characters a member name refuses. */
    {
        char *real = realpath(dir, NULL);
        snprintf(base, sizeof(base), "%s", dir_base(real ? real : dir));
        free(real);
    }
    for (char *p = base; *p; p++)
        if (*p == '\\' || (unsigned char)*p < 0x20 || *p == '/')
            *p = '_';
    snprintf(prefix, sizeof(prefix), "racetrace-evidence-%s",
             *base && strcmp(base, ".") && strcmp(base, "..") ? base : "run");
    snprintf(out, sizeof(out), "%s/evidence.tar.gz", dir);
    ns = redact_list(&secrets);
    err = bundle_write(dir, files, n, prefix,
                       run->end_wall_ns > 0 ? run->end_wall_ns / 1000000000 : 0,
                       (const char *const *)secrets, ns, out);
    redact_list_free(secrets);
    for (size_t i = 0; i < np; i++)
        free(plots[i]);
    return err;
}

/* Every plot's pictures exist. */
static int plots_rendered(const struct plots_result *pr)
{
    if (!pr->gnuplot_found || pr->n_items == 0)
        return 0;
    for (size_t i = 0; i < pr->n_items; i++)
        if (!pr->items[i].rendered)
            return 0;
    return 1;
}

static void add_plots(cJSON *summary, const struct plots_result *pr,
                      const char *dir)
{
    cJSON *o = cJSON_AddObjectToObject(summary, "plots");
    cJSON *items = NULL;

    cJSON_AddBoolToObject(o, "rendered", plots_rendered(pr));
    if (pr->note[0])
        cJSON_AddStringToObject(o, "note", pr->note);
    else
        cJSON_AddNullToObject(o, "note");
    items = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < pr->n_items; i++) {
        const struct plots_item *it = &pr->items[i];
        cJSON *x = cJSON_CreateObject();
        char path[64];
        cJSON_AddStringToObject(x, "name", it->name);
        cJSON_AddStringToObject(x, "title", it->title);
        snprintf(path, sizeof(path), "plots/%s.png", it->name);
        if (it->rendered && exists(dir, path))
            cJSON_AddStringToObject(x, "png", path);
        else
            cJSON_AddNullToObject(x, "png");
        snprintf(path, sizeof(path), "plots/%s.svg", it->name);
        if (it->rendered && exists(dir, path))
            cJSON_AddStringToObject(x, "svg", path);
        else
            cJSON_AddNullToObject(x, "svg");
        snprintf(path, sizeof(path), "plots/%s.gp", it->name);
        cJSON_AddStringToObject(x, "script", path);
        cJSON_AddItemToArray(items, x);
    }
}

static void add_files(cJSON *summary)
{
    static const char *const docs[] = {"summary.json", "summary.md",
                                       "report.html", "evidence.tar.gz"};
    cJSON *arr = cJSON_AddArrayToObject(summary, "files");

    for (size_t i = 0; i < OUTPUTS_N_CSV; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(outputs_csv_files[i]));
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(docs[i]));
}

static void add_analysis(cJSON *summary, const struct diag_params *p)
{
    cJSON *o = cJSON_AddObjectToObject(summary, "analysis");
    char iso[40];

    cJSON_AddNumberToObject(o, "window_ms", (double)p->window_ns / 1e6);
    cJSON_AddNumberToObject(o, "permutations", p->permutations);
    cJSON_AddItemToObject(o, "seed", json_int64((int64_t)p->seed));
    cJSON_AddNumberToObject(o, "alpha", p->alpha);
    iso8601_format_ms(clock_wall_ns(), iso, sizeof(iso));
    cJSON_AddStringToObject(o, "generated", iso);
}

static void say_verdict(const struct diagnosis *d, const char *dir)
{
    const struct diag_verdict *v = &d->verdict;

    log_info("verdict: %s%s%s — %s", diag_cause_name(v->cause),
             v->signal[0] ? " " : "", v->signal, v->headline);
    if (d->truth.present)
        log_info("truth (simulator): %s; verdict %s; attribution "
                 "%llu/%llu correct",
                 diag_cause_name(d->truth.true_cause),
                 d->truth.verdict_correct ? "right" : "WRONG",
                 (unsigned long long)d->truth.correct,
                 (unsigned long long)d->truth.foreign_truth);
    log_info("report: %s/report.html (also summary.md, summary.json, "
             "evidence.tar.gz)",
             dir);
}

enum rt_err analyze_run(const char *dir, const struct analyze_opts *opts,
                        struct analyze_result *out)
{
    struct runload *run = NULL;
    struct runload_truth *truth = NULL;
    struct diagnosis *d = NULL;
    struct diag_params params;
    struct plots_result pr;
    struct plots_labels labels;
    cJSON *summary = NULL;
    char path[4200], plots_dir[4200];
    enum rt_err err;

    memset(out, 0, sizeof(*out));
    if ((err = runload_load(&run, dir)))
        return err;
    params_for(run, opts, &params);
    if ((err = runload_truth_load(&truth, run, dir)) ||
        (err = diagnose(run, truth, &params, &d)) ||
        (err = outputs_write(d, dir, &summary)))
        goto out;

    snprintf(plots_dir, sizeof(plots_dir), "%s/plots", dir);
    memset(&labels, 0, sizeof(labels));
    {
        const cJSON *name =
            run->scenario
                ? cJSON_GetObjectItemCaseSensitive(run->scenario, "name")
                : NULL;
        labels.run_name =
            cJSON_IsString(name) ? name->valuestring : dir_base(dir);
    }
    labels.signal = d->verdict.signal[0] ? d->verdict.signal : NULL;
    if ((err = plots_render(plots_dir, &labels, opts ? opts->gnuplot : NULL,
                            &pr)))
        goto out;
    if (pr.note[0] && !(opts && opts->quiet))
        log_warn("%s", pr.note);
    add_plots(summary, &pr, dir);
    add_files(summary);
    add_analysis(summary, &params);

    snprintf(path, sizeof(path), "%s/summary.json", dir);
    if ((err = json_write_file(path, summary)))
        goto out;
    snprintf(path, sizeof(path), "%s/summary.md", dir);
    if ((err = doc_write_markdown(summary, dir, path)))
        goto out;
    snprintf(path, sizeof(path), "%s/report.html", dir);
    if ((err = doc_write_html(summary, dir, path)))
        goto out;
    if ((err = write_bundle(dir, run)))
        goto out;

    out->cause = d->verdict.cause;
    snprintf(out->headline, sizeof(out->headline), "%s", d->verdict.headline);
    out->plots_rendered = plots_rendered(&pr);
    out->truth_scored = d->truth.present;
    out->verdict_correct = d->truth.verdict_correct;
    if (!(opts && opts->quiet))
        say_verdict(d, dir);
out:
    cJSON_Delete(summary);
    diagnose_free(d);
    runload_truth_free(truth);
    runload_free(run);
    return err;
}
