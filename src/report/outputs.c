/*
 * summary.json, the CSVs and the plot data files.  Numbers go through
 * round_sig() so the files read well and do not depend on the last bits
 * of a floating-point sum.
 */
#include "report/outputs.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/csv.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/xalloc.h"

#define MS_NS 1e6
#define S_NS 1e9
#define SWIMLANES_MAX 12
#define LAG_BINS 20

const char *const outputs_csv_files[] = {"bumps.csv", "conflicts.csv",
                                         "association.csv", "strategies.csv"};

/* @x rounded to @sig significant digits; NaN and infinities unchanged. */
static double round_sig(double x, int sig)
{
    double scale;
    int e;

    if (!isfinite(x) || x == 0)
        return x;
    e = (int)floor(log10(fabs(x)));
    scale = pow(10.0, sig - 1 - e);
    return round(x * scale) / scale;
}

static void add_num(cJSON *o, const char *key, double v, int sig)
{
    if (!isfinite(v))
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, round_sig(v, sig));
}

static void add_u64(cJSON *o, const char *key, uint64_t v)
{
    cJSON_AddItemToObject(o, key, json_int64((int64_t)v));
}

static void add_str_or_null(cJSON *o, const char *key, const char *s)
{
    if (s && *s)
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

static void add_time(cJSON *o, const char *key, int64_t wall_ns)
{
    char iso[40];

    if (wall_ns > 0 && iso8601_format_ms(wall_ns, iso, sizeof(iso)))
        cJSON_AddStringToObject(o, key, iso);
    else
        cJSON_AddNullToObject(o, key);
}

/* The run's origin for plot times: its start, else the window's. */
static int64_t origin_ns(const struct diagnosis *d)
{
    return d->run->start_wall_ns > 0 ? d->run->start_wall_ns : d->t0_ns;
}

static double rel_s(const struct diagnosis *d, int64_t t)
{
    return (double)(t - origin_ns(d)) / S_NS;
}

/* ---- summary.json ----------------------------------------------------- */

static const char *scenario_name(const struct diagnosis *d)
{
    const cJSON *n =
        d->run->scenario
            ? cJSON_GetObjectItemCaseSensitive(d->run->scenario, "name")
            : NULL;
    return cJSON_IsString(n) ? n->valuestring : NULL;
}

static const char *scenario_target(const struct diagnosis *d)
{
    const cJSON *n =
        d->run->scenario
            ? cJSON_GetObjectItemCaseSensitive(d->run->scenario, "target")
            : NULL;
    return cJSON_IsString(n) ? n->valuestring : NULL;
}

/* Operations that ended with @outcome. */
static uint64_t op_outcome_count(const struct diagnosis *d, const char *outcome)
{
    uint64_t n = 0;

    for (size_t i = 0; i < d->run->n_ops; i++)
        n += !strcmp(d->run->ops[i].outcome, outcome);
    return n;
}

/* A dry run: run.json says so, or its operations do (a run.json lost). */
static int dry_run(const struct diagnosis *d)
{
    return d->run->dry_run || op_outcome_count(d, "dry_run") > 0;
}

static void summary_run(const struct diagnosis *d, cJSON *root)
{
    const struct runload *run = d->run;
    cJSON *o = cJSON_AddObjectToObject(root, "run");

    add_str_or_null(o, "name", scenario_name(d));
    add_str_or_null(o, "target", scenario_target(d));
    cJSON_AddBoolToObject(o, "simulator", run->simulator);
    add_time(o, "start", run->start_wall_ns);
    add_time(o, "end", run->end_wall_ns);
    add_num(o, "duration_s",
            run->end_wall_ns > run->start_wall_ns
                ? (double)(run->end_wall_ns - run->start_wall_ns) / S_NS
                : NAN,
            6);
    cJSON_AddBoolToObject(o, "interrupted", run->interrupted);
    /* A dry run sent no write; the writes it would have sent are listed
     * in dry-run.txt (run.json's count, else its operations'). */
    cJSON_AddBoolToObject(o, "dry_run", dry_run(d));
    if (!dry_run(d))
        cJSON_AddNullToObject(o, "dry_run_writes");
    else if (run->dry_run_writes >= 0)
        add_u64(o, "dry_run_writes", (uint64_t)run->dry_run_writes);
    else
        add_u64(o, "dry_run_writes", op_outcome_count(d, "dry_run"));
    add_u64(o, "agents", run->n_agents);
}

/* A writer named by the audit trail. */
static cJSON *writer_json(const struct diag_writer *w)
{
    cJSON *o = cJSON_CreateObject();
    const struct runload_audit *r = w->record;

    cJSON_AddStringToObject(o, "writer", w->label);
    cJSON_AddStringToObject(o, "kind", diag_writer_kind_name(w->kind));
    add_str_or_null(o, "id", w->id);
    add_str_or_null(o, "level", w->level);
    add_str_or_null(o, "client_id", r->client_id);
    add_str_or_null(o, "application", r->application);
    add_str_or_null(o, "user_id", r->user_id);
    add_str_or_null(o, "user_name", r->user_name);
    return o;
}

static void summary_verdict(const struct diagnosis *d, cJSON *root)
{
    const struct diag_verdict *v = &d->verdict;
    cJSON *o = cJSON_AddObjectToObject(root, "verdict");
    cJSON *sec, *conf;

    cJSON_AddStringToObject(o, "cause", diag_cause_name(v->cause));
    add_str_or_null(o, "signal", v->signal);
    add_num(o, "p_value", v->p_value, 4);
    add_num(o, "hit_rate", v->hit_rate, 4);
    add_num(o, "coverage", v->coverage, 4);
    add_num(o, "median_lag_ms", v->median_lag_ms, 4);
    add_num(o, "lag_iqr_ms", v->lag_iqr_ms, 4);
    cJSON_AddStringToObject(o, "headline", v->headline);
    cJSON_AddStringToObject(o, "text", v->text);
    sec = cJSON_AddArrayToObject(o, "secondary");
    for (size_t i = 0; i < v->n_secondary; i++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "cause",
                                diag_cause_name(v->secondary[i].cause));
        add_str_or_null(s, "signal", v->secondary[i].signal);
        add_num(s, "p_value", v->secondary[i].p_value, 4);
        add_num(s, "coverage", v->secondary[i].coverage, 4);
        add_str_or_null(s, "writer",
                        v->secondary[i].writer != DIAG_NONE
                            ? d->writers[v->secondary[i].writer].label
                            : NULL);
        cJSON_AddItemToArray(sec, s);
    }
    if (v->writer != DIAG_NONE) {
        cJSON *w = writer_json(&d->writers[v->writer]);
        add_u64(w, "bumps", v->writer_bumps);
        add_u64(w, "of", v->writer_of);
        cJSON_AddItemToObject(o, "writer", w);
    } else {
        cJSON_AddNullToObject(o, "writer");
    }
    conf = cJSON_AddArrayToObject(o, "confounded_with");
    if (v->signal_index != DIAG_NONE) {
        const struct diag_signal *s = &d->signals[v->signal_index];
        for (size_t k = 0; k < s->n_confounded; k++)
            cJSON_AddItemToArray(
                conf, cJSON_CreateString(d->signals[s->confounded[k]].name));
    }
    if (v->cause == DIAG_CAUSE_INCONCLUSIVE) {
        cJSON *m = cJSON_AddObjectToObject(o, "more_data");
        if (v->events_needed)
            add_u64(m, "events_needed", v->events_needed);
        else
            cJSON_AddNullToObject(m, "events_needed");
        add_num(m, "minutes", v->minutes_needed, 3);
        cJSON_AddStringToObject(m, "text", v->more_data);
    } else {
        cJSON_AddNullToObject(o, "more_data");
    }
}

static void add_counts(cJSON *o, const struct runload_count *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        add_u64(o, c[i].name[0] ? c[i].name : "(empty)", c[i].n);
}

static void summary_counts(const struct diagnosis *d, cJSON *root)
{
    const struct runload *run = d->run;
    const struct runload_requests *q = &run->requests;
    cJSON *o = cJSON_AddObjectToObject(root, "counts");
    cJSON *r = cJSON_AddObjectToObject(o, "requests");
    cJSON *st, *ops, *b, *t;
    static const char *const outcomes[] = {"ok",    "conflict", "gave_up",
                                           "error", "unknown",  "dry_run"};
    uint64_t oc[sizeof(outcomes) / sizeof(outcomes[0])] = {0};
    size_t n_oc = sizeof(outcomes) / sizeof(outcomes[0]);

    add_u64(r, "total", q->rows);
    st = cJSON_AddObjectToObject(r, "by_status");
    for (int s = 0; s < RUNLOAD_STATUS_MAX; s++) {
        char key[16];
        if (!q->by_status[s])
            continue;
        snprintf(key, sizeof(key), "%d", s);
        add_u64(st, key, q->by_status[s]);
    }
    add_counts(cJSON_AddObjectToObject(r, "by_kind"), q->by_kind, q->n_kinds);
    add_counts(cJSON_AddObjectToObject(r, "by_role"), q->by_role, q->n_roles);
    /* Every operation once: an outcome this analysis does not know counts
     * as unknown, like the strategies table. */
    for (size_t i = 0; i < run->n_ops; i++) {
        size_t k = 0;
        while (k < n_oc && strcmp(run->ops[i].outcome, outcomes[k]))
            k++;
        oc[k < n_oc ? k : 4]++;
    }
    ops = cJSON_AddObjectToObject(o, "operations");
    add_u64(ops, "total", run->n_ops);
    for (size_t k = 0; k < n_oc; k++)
        add_u64(ops, outcomes[k], oc[k]);
    b = cJSON_AddObjectToObject(o, "bumps");
    add_u64(b, "total", d->n_bumps);
    add_u64(b, "own", d->raw.n_own);
    add_u64(b, "own_unconfirmed", d->raw.n_own_unconfirmed);
    add_u64(b, "foreign", d->raw.n_foreign);
    add_u64(b, "hidden", d->raw.n_hidden);
    t = cJSON_AddObjectToObject(o, "transitions");
    add_u64(t, "presence", d->n_presence);
    add_u64(t, "routing", d->n_routing);
    {
        cJSON *bs = cJSON_AddObjectToObject(t, "by_source");
        add_u64(bs, "poll", d->n_from_poll);
        add_u64(bs, "stream", d->n_from_stream);
        add_u64(bs, "analytics", d->n_from_analytics);
    }
    add_u64(t, "duplicates", d->n_duplicates);
    add_u64(o, "observations", run->n_obs);
}

static void summary_attribution(const struct diagnosis *d, cJSON *root)
{
    cJSON *o = cJSON_AddObjectToObject(root, "attribution");
    cJSON *bursts;

    /* Each foreign bump once, under its best evidence. */
    add_u64(o, "audit", d->audit_attributed);
    for (int a = DIAG_ATTR_TRANSITION; a < DIAG_ATTR_COUNT; a++)
        add_u64(o, diag_attr_name((enum diag_attr)a), d->unaudited[a]);
    add_u64(o, "audit_ambiguous", d->audit_ambiguous);
    add_num(o, "batch_p_value", d->batch_p, 4);
    bursts = cJSON_AddArrayToObject(o, "bursts");
    for (size_t i = 0; i < d->n_bursts; i++) {
        cJSON *b = cJSON_CreateObject();
        add_time(b, "start", d->bursts[i].t0_ns);
        add_time(b, "end", d->bursts[i].t1_ns);
        add_u64(b, "agents", d->bursts[i].agents);
        add_u64(b, "bumps", d->bursts[i].bumps);
        cJSON_AddItemToArray(bursts, b);
    }
    add_num(o, "periodic_p_value", d->periodic_p, 4);
    add_u64(o, "periodic_agents", d->periodic_agents);
    add_num(o, "period_s", d->periodic_period_s, 4);
}

static void summary_association(const struct diagnosis *d, cJSON *root)
{
    cJSON *arr = cJSON_AddArrayToObject(root, "association");

    for (size_t i = 0; i < d->n_signals; i++) {
        const struct diag_signal *s = &d->signals[i];
        const struct stats_assoc *a = &s->assoc;
        cJSON *o = cJSON_CreateObject(), *conf;
        cJSON_AddStringToObject(o, "signal", s->name);
        add_u64(o, "transitions", a->n_transitions);
        add_u64(o, "bumps", a->n_bumps);
        add_u64(o, "covered", a->covered_bumps);
        add_num(o, "coverage", a->coverage, 4);
        add_num(o, "hit_rate", a->hit_rate, 4);
        add_num(o, "null_coverage", a->null_coverage, 4);
        add_num(o, "null_hit_rate", a->null_hit_rate, 4);
        add_num(o, "coverage_lift", a->coverage_lift, 4);
        add_num(o, "hit_rate_lift", a->hit_rate_lift, 4);
        add_num(o, "p_value", s->p_value, 4);
        add_num(o, "p_adjusted", s->p_adjusted, 4);
        add_u64(o, "permutations", a->permutations);
        cJSON_AddBoolToObject(o, "significant", s->significant);
        cJSON_AddBoolToObject(o, "demoted", s->demoted);
        add_num(o, "lag_median_ms", s->lag.median / MS_NS, 4);
        add_num(o, "lag_iqr_ms", s->lag.iqr / MS_NS, 4);
        add_num(o, "lag_mad_ms", s->lag.mad / MS_NS, 4);
        conf = cJSON_AddArrayToObject(o, "confounded_with");
        for (size_t k = 0; k < s->n_confounded; k++)
            cJSON_AddItemToArray(
                conf, cJSON_CreateString(d->signals[s->confounded[k]].name));
        cJSON_AddItemToArray(arr, o);
    }
}

static void summary_conflicts(const struct diagnosis *d, cJSON *root)
{
    cJSON *o = cJSON_AddObjectToObject(root, "conflicts");
    cJSON *w, *ci, *bs;

    add_u64(o, "total", d->n_conflicts);
    add_u64(o, "explained_foreign", d->conflicts_foreign);
    add_u64(o, "explained_own", d->conflicts_own);
    add_u64(o, "unexplained", d->conflicts_unexplained);
    add_u64(o, "stale_read", d->conflicts_stale_read);
    /* Not the job's: a restore's versioned writes, for one. */
    add_u64(o, "other_roles", d->run->requests.conflicts_other_roles);
    w = cJSON_AddObjectToObject(o, "at_write");
    cJSON_AddStringToObject(w, "exposure",
                            "transitioning or INTERACTING at write");
    add_u64(w, "exposed_conflict", d->table[0]);
    add_u64(w, "exposed_ok", d->table[1]);
    add_u64(w, "other_conflict", d->table[2]);
    add_u64(w, "other_ok", d->table[3]);
    add_num(w, "odds_ratio", d->fisher_ok ? d->fisher.odds_ratio : NAN, 4);
    ci = cJSON_AddArrayToObject(w, "ci95");
    if (d->fisher_ok) {
        cJSON_AddItemToArray(
            ci, cJSON_CreateNumber(round_sig(d->fisher.ci95_lo, 4)));
        cJSON_AddItemToArray(
            ci, cJSON_CreateNumber(round_sig(d->fisher.ci95_hi, 4)));
    }
    add_num(w, "p_value", d->fisher_ok ? d->fisher.p_two_sided : NAN, 4);
    bs = cJSON_AddArrayToObject(o, "by_state");
    for (size_t i = 0; i < d->n_states; i++) {
        const struct diag_state_count *s = &d->by_state[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "state", s->state);
        add_u64(x, "writes", s->writes);
        add_u64(x, "conflicts", s->conflicts);
        add_num(x, "rate",
                s->writes ? (double)s->conflicts / (double)s->writes : NAN, 4);
        cJSON_AddItemToArray(bs, x);
    }
}

static const char *const check_names[] = {"lost-update", "retry-without-reread",
                                          "self-conflict"};

static void summary_checker(const struct diagnosis *d, cJSON *root)
{
    cJSON *o = cJSON_AddObjectToObject(root, "checker");
    cJSON *f;

    add_u64(o, "lost_updates", d->check_counts[DIAG_CHECK_LOST_UPDATE]);
    add_u64(o, "retries_without_reread", d->check_counts[DIAG_CHECK_NO_REREAD]);
    add_u64(o, "retry_after_ignored", d->run->requests.retry_after_ignored);
    add_u64(o, "self_conflicts", d->check_counts[DIAG_CHECK_SELF_CONFLICT]);
    f = cJSON_AddArrayToObject(o, "findings");
    for (size_t i = 0; i < d->n_findings; i++) {
        const struct diag_finding *x = &d->findings[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "check", check_names[x->check]);
        cJSON_AddItemToObject(e, "op_id", json_int64(x->op_id));
        add_str_or_null(
            e, "agent",
            x->agent < d->run->n_agents ? d->run->agents[x->agent].id : NULL);
        cJSON_AddStringToObject(e, "text", x->text);
        cJSON_AddItemToArray(f, e);
    }
}

static double strategy_duration_s(const struct diag_strategy *s)
{
    return s->end_ns > s->start_ns ? (double)(s->end_ns - s->start_ns) / S_NS
                                   : NAN;
}

static void summary_strategies(const struct diagnosis *d, cJSON *root)
{
    cJSON *arr = cJSON_AddArrayToObject(root, "strategies");

    for (size_t i = 0; i < d->n_strategies; i++) {
        const struct diag_strategy *s = &d->strategies[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "strategy", s->name);
        add_u64(o, "operations", s->operations);
        add_u64(o, "succeeded", s->ok);
        add_u64(o, "conflicts", s->conflict);
        add_u64(o, "gave_up", s->gave_up);
        add_u64(o, "errors", s->error);
        add_u64(o, "unknown", s->unknown);
        add_u64(o, "dry_run", s->dry_run);
        add_u64(o, "requests", s->requests);
        add_u64(o, "wasted_requests", s->wasted);
        add_u64(o, "conflict_requests", s->conflict_requests);
        add_num(o, "duration_s", strategy_duration_s(s), 4);
        add_u64(o, "lost_updates", s->lost_updates);
        cJSON_AddItemToArray(arr, o);
    }
}

static void summary_latency(const struct diagnosis *d, cJSON *root)
{
    cJSON *arr = cJSON_AddArrayToObject(root, "latency");

    for (int s = 0; s < RUNLOAD_STATUS_MAX; s++) {
        const struct runload_hist *h = d->run->requests.latency_by_status[s];
        cJSON *o;
        if (!h || !h->n)
            continue;
        o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "status", s);
        add_u64(o, "n", h->n);
        add_num(o, "p50_ms", runload_hist_quantile(h, 0.5) / MS_NS, 4);
        add_num(o, "p90_ms", runload_hist_quantile(h, 0.9) / MS_NS, 4);
        add_num(o, "p99_ms", runload_hist_quantile(h, 0.99) / MS_NS, 4);
        add_num(o, "max_ms", (double)h->max_ns / MS_NS, 4);
        cJSON_AddItemToArray(arr, o);
    }
}

static void summary_truth(const struct diagnosis *d, cJSON *root)
{
    const struct diag_truth_score *t = &d->truth;
    cJSON *o;

    if (!t->present)
        return;
    o = cJSON_AddObjectToObject(root, "truth_score");
    add_u64(o, "foreign_bumps", t->foreign_truth);
    add_u64(o, "attributed", t->predicted);
    add_u64(o, "correct", t->correct);
    add_num(o, "precision",
            t->predicted ? (double)t->correct / (double)t->predicted : NAN, 4);
    add_num(o, "recall",
            t->foreign_truth ? (double)t->correct / (double)t->foreign_truth
                             : NAN,
            4);
    add_num(o, "own_foreign_accuracy",
            t->own_total ? (double)t->own_agree / (double)t->own_total : NAN,
            4);
    cJSON_AddStringToObject(o, "true_cause", diag_cause_name(t->true_cause));
    cJSON_AddBoolToObject(o, "verdict_correct", t->verdict_correct);
    add_u64(o, "audit_attributed", t->audit_attributed);
    add_u64(o, "audit_correct", t->audit_correct);
}

/* ---- evidence: what the run could and could not see ------------------ */

#define EVIDENCE_WRITERS_MAX 20

/* A query's status: run.json's, else "ok" when its data is there, else
 * "not-recorded" (runs from before the query existed). */
static void add_query(cJSON *o, const struct runload_query *q, int has_data)
{
    cJSON_AddStringToObject(o, "status",
                            q->status  ? q->status
                            : has_data ? "ok"
                                       : "not-recorded");
    add_str_or_null(o, "message", q->message);
    add_str_or_null(o, "permission", q->permission);
}

static void add_count_or_null(cJSON *o, const char *key, int64_t v)
{
    if (v >= 0)
        add_u64(o, key, (uint64_t)v);
    else
        cJSON_AddNullToObject(o, key);
}

static int query_ok(const struct runload_query *q, int has_data)
{
    return q->status ? !strcmp(q->status, "ok") : has_data;
}

static void evidence_audit(const struct diagnosis *d, cJSON *ev)
{
    const struct runload *run = d->run;
    cJSON *o = cJSON_AddObjectToObject(ev, "audit"), *ws;

    add_query(o, &run->audit_query, run->has_audit);
    add_count_or_null(o, "records",
                      run->audit_query.records >= 0 ? run->audit_query.records
                      : run->has_audit              ? (int64_t)(run->n_audits +
                                                   run->n_audits_unknown_agent)
                                                    : -1);
    add_u64(o, "loaded", run->n_audits);
    add_u64(o, "other_agents", run->n_audits_unknown_agent);
    add_str_or_null(o, "own_client", d->own_client);
    cJSON_AddBoolToObject(o, "own_client_inferred", d->own_client_inferred);
    add_u64(o, "own_records", d->audit_own);
    add_u64(o, "usable", d->audit_usable);
    add_u64(o, "attributed", d->audit_attributed);
    add_u64(o, "ambiguous", d->audit_ambiguous);
    add_u64(o, "timed", d->audit_timed);
    add_u64(o, "foreign_bumps", d->n_foreign);
    ws = cJSON_AddArrayToObject(o, "writers");
    for (size_t i = 0; i < d->n_writers && i < EVIDENCE_WRITERS_MAX; i++) {
        const struct diag_writer *w = &d->writers[i];
        cJSON *x = writer_json(w), *bc;
        add_u64(x, "bumps", w->bumps);
        add_num(x, "share",
                d->n_foreign ? (double)w->bumps / (double)d->n_foreign : NAN,
                4);
        add_u64(x, "ambiguous", w->ambiguous);
        bc = cJSON_AddObjectToObject(x, "by_cause");
        for (int c = 0; c < DIAG_CAUSE_COUNT; c++)
            if (w->by_cause[c])
                add_u64(bc, diag_cause_name((enum diag_cause)c),
                        w->by_cause[c]);
        cJSON_AddItemToArray(ws, x);
    }
    add_u64(o, "writers_total", d->n_writers);
}

static void evidence_analytics(const struct diagnosis *d, cJSON *ev)
{
    const struct runload *run = d->run;
    const struct runload_query *q = &run->analytics_query;
    int has = run->n_obs_analytics > 0;
    size_t total = d->n_presence + d->n_routing;
    size_t missed = d->missed_presence + d->missed_routing;
    cJSON *o = cJSON_AddObjectToObject(ev, "analytics");

    add_query(o, q, has);
    add_count_or_null(o, "users", q->users);
    add_count_or_null(o, "transitions",
                      q->transitions >= 0 ? q->transitions
                      : has               ? (int64_t)run->n_obs_analytics
                                          : -1);
    add_u64(o, "used", d->n_from_analytics);
    add_u64(o, "left_out", d->n_analytics_dropped);
    add_u64(o, "timeline_transitions", total);
    /* Only a history that was read can say what the observers missed. */
    if (has || query_ok(q, has)) {
        cJSON *m = cJSON_AddObjectToObject(o, "missed_by_polling");
        add_u64(m, "presence", d->missed_presence);
        add_u64(m, "routing_status", d->missed_routing);
        add_u64(m, "total", missed);
        add_num(o, "missed_share", total ? (double)missed / (double)total : NAN,
                4);
    } else {
        cJSON_AddNullToObject(o, "missed_by_polling");
        cJSON_AddNullToObject(o, "missed_share");
    }
}

static void replace_item(cJSON *o, const char *key, cJSON *item)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    cJSON_AddItemToObject(o, key, item);
}

/* A number member of @o, or NaN. */
static double member_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The names summary.json promises, for counters a recorder wrote under
 * others (the stream's own "gap_max_ns", "reread_changes"): added when
 * missing, never overwritten.  An object that is there at all is a stream
 * that ran. */
static void stream_names(cJSON *o)
{
    static const char *const ns_ms[][2] = {{"gap_max_ns", "gap_max_ms"},
                                           {"gap_total_ns", "gap_total_ms"}};

    if (!cJSON_GetObjectItemCaseSensitive(o, "enabled"))
        cJSON_AddBoolToObject(o, "enabled", 1);
    for (size_t i = 0; i < sizeof(ns_ms) / sizeof(ns_ms[0]); i++)
        if (!cJSON_GetObjectItemCaseSensitive(o, ns_ms[i][1]) &&
            isfinite(member_num(o, ns_ms[i][0])))
            add_num(o, ns_ms[i][1], member_num(o, ns_ms[i][0]) / MS_NS, 6);
    if (!cJSON_GetObjectItemCaseSensitive(o, "resync_changes") &&
        isfinite(member_num(o, "reread_changes")))
        add_num(o, "resync_changes", member_num(o, "reread_changes"), 15);
}

static void evidence_stream(const struct diagnosis *d, cJSON *ev)
{
    const struct runload *run = d->run;
    cJSON *o;

    /* The recorder's counters as it wrote them, plus what the history
     * holds. */
    if (run->stream) {
        o = cJSON_Duplicate(run->stream, 1);
        stream_names(o);
    } else {
        o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "enabled", 0);
    }
    replace_item(o, "observations", json_int64((int64_t)run->n_obs_stream));
    replace_item(o, "transitions_used", json_int64((int64_t)d->n_from_stream));
    cJSON_AddItemToObject(ev, "stream", o);
}

static void summary_evidence(const struct diagnosis *d, cJSON *root)
{
    cJSON *ev = cJSON_AddObjectToObject(root, "evidence");

    evidence_audit(d, ev);
    evidence_analytics(d, ev);
    evidence_stream(d, ev);
}

static cJSON *summary_build(const struct diagnosis *d)
{
    cJSON *root = cJSON_CreateObject();

    cJSON_AddStringToObject(root, "tool", "racetrace");
    cJSON_AddStringToObject(root, "version", RT_VERSION);
    add_str_or_null(root, "recorded_with", d->run->tool_version);
    summary_run(d, root);
    summary_verdict(d, root);
    summary_counts(d, root);
    summary_attribution(d, root);
    summary_evidence(d, root);
    summary_association(d, root);
    summary_conflicts(d, root);
    summary_checker(d, root);
    summary_strategies(d, root);
    summary_latency(d, root);
    summary_truth(d, root);
    return root;
}

/* ---- CSVs ------------------------------------------------------------- */

static enum rt_err write_rows_done(struct csv *w, struct csv_row *row,
                                   enum rt_err err)
{
    csv_row_release(row);
    if (err) {
        csv_abort(w);
        return err;
    }
    return csv_close(w);
}

static enum rt_err write_bumps(const struct diagnosis *d, const char *dir)
{
    static const char *const cols[] = {"agent",
                                       "version",
                                       "origin",
                                       "hidden",
                                       "bracket_start_wall_ns",
                                       "bracket_end_wall_ns",
                                       "bracket_start",
                                       "bracket_end",
                                       "attribution",
                                       "signal",
                                       "lag_ms",
                                       "write_correlation_id",
                                       "pattern",
                                       "writer",
                                       "writer_level",
                                       "audit_id",
                                       "audit_ambiguous",
                                       "time_wall_ns",
                                       "time",
                                       "time_source"};
    static const char *const origins[] = {"own", "own-unconfirmed", "foreign"};
    struct csv *w;
    struct csv_row row;
    enum rt_err err;

    if ((err = csv_open_in(&w, dir, "bumps.csv", cols,
                           sizeof(cols) / sizeof(cols[0]), CSV_ATOMIC)))
        return err;
    csv_row_init(&row);
    for (size_t i = 0; i < d->n_bumps && !err; i++) {
        const struct diag_bump *b = &d->bumps[i];
        const struct runload_agent *ag = &d->run->agents[b->b.agent];
        int64_t lag;
        csv_row_reset(&row);
        csv_row_str(&row, ag->id);
        csv_row_i64(&row, b->b.version);
        csv_row_str(&row, origins[b->b.origin]);
        csv_row_i64(&row, b->b.hidden);
        csv_row_i64(&row, b->b.bracket_start_wall_ns);
        csv_row_i64(&row, b->b.bracket_end_wall_ns);
        csv_row_time(&row, b->b.bracket_start_wall_ns);
        csv_row_time(&row, b->b.bracket_end_wall_ns);
        /* The best evidence: the audit's writer, else the timing. */
        csv_row_str(&row, b->audit ? "audit" : diag_attr_name(b->attr));
        csv_row_str(&row,
                    b->signal != DIAG_NONE ? d->signals[b->signal].name : NULL);
        lag = diagnose_bump_lag_ns(b);
        csv_row_double(&row, lag >= 0 ? (double)lag / MS_NS : NAN, 6);
        csv_row_str(&row, b->b.write != RUNLOAD_NONE
                              ? ag->writes[b->b.write].correlation_id
                              : NULL);
        csv_row_str(&row, diag_attr_name(b->attr));
        csv_row_str(&row, b->audit ? d->writers[b->writer].label : NULL);
        csv_row_str(&row, b->audit ? b->audit->level : NULL);
        csv_row_str(&row, b->audit ? b->audit->id : NULL);
        if (b->audit)
            csv_row_i64(&row, b->audit_ambiguous);
        else
            csv_row_str(&row, NULL);
        /* The time every test used: the audit's, else the bracket end. */
        csv_row_i64(&row, b->t_ns);
        csv_row_time(&row, b->t_ns);
        csv_row_str(&row, diag_time_source_name(b->time_source));
        err = csv_write_row(w, &row);
    }
    return write_rows_done(w, &row, err);
}

static enum rt_err write_conflicts(const struct diagnosis *d, const char *dir)
{
    static const char *const cols[] = {"seq",
                                       "op_id",
                                       "strategy",
                                       "agent",
                                       "method",
                                       "route",
                                       "status",
                                       "error_code",
                                       "inin_correlation_id",
                                       "version_sent",
                                       "read_wall_ns",
                                       "send_wall_ns",
                                       "recv_wall_ns",
                                       "read_time",
                                       "send_time",
                                       "recv_time",
                                       "cause_version",
                                       "cause_origin",
                                       "cause_attribution",
                                       "cause_signal",
                                       "cause_seen_from",
                                       "cause_seen_by",
                                       "stale_read",
                                       "presence_at_write",
                                       "routing_at_write",
                                       "transitioning_at_write",
                                       "cause_writer",
                                       "cause_writer_level",
                                       "cause_audit_id"};
    struct csv *w;
    struct csv_row row;
    enum rt_err err;

    if ((err = csv_open_in(&w, dir, "conflicts.csv", cols,
                           sizeof(cols) / sizeof(cols[0]), CSV_ATOMIC)))
        return err;
    csv_row_init(&row);
    for (size_t i = 0; i < d->n_conflicts && !err; i++) {
        const struct diag_conflict *c = &d->conflicts[i];
        const struct runload_conflict *k = c->k;
        const struct diag_bump *b =
            c->bump != DIAG_NONE ? &d->bumps[c->bump] : NULL;
        csv_row_reset(&row);
        csv_row_i64(&row, k->seq);
        if (k->op_id >= 0)
            csv_row_i64(&row, k->op_id);
        else
            csv_row_str(&row, NULL);
        csv_row_str(&row, c->op ? c->op->strategy : NULL);
        csv_row_str(&row, k->agent != RUNLOAD_NONE ? d->run->agents[k->agent].id
                                                   : NULL);
        csv_row_str(&row, k->method);
        csv_row_str(&row, k->route);
        csv_row_i64(&row, k->status);
        csv_row_str(&row, k->error_code);
        csv_row_str(&row, k->correlation_id);
        if (k->version_sent >= 0)
            csv_row_i64(&row, k->version_sent);
        else
            csv_row_str(&row, NULL);
        if (c->read_wall_ns > 0)
            csv_row_i64(&row, c->read_wall_ns);
        else
            csv_row_str(&row, NULL);
        csv_row_i64(&row, k->send_wall_ns);
        csv_row_i64(&row, k->recv_wall_ns);
        csv_row_time(&row, c->read_wall_ns);
        csv_row_time(&row, k->send_wall_ns);
        csv_row_time(&row, k->recv_wall_ns);
        if (b) {
            static const char *const origins[] = {"own", "own-unconfirmed",
                                                  "foreign"};
            csv_row_i64(&row, b->b.version);
            csv_row_str(&row, origins[b->b.origin]);
            csv_row_str(&row, diag_attr_name(b->attr));
            csv_row_str(&row, b->signal != DIAG_NONE
                                  ? d->signals[b->signal].name
                                  : NULL);
            csv_row_time(&row, b->b.bracket_start_wall_ns);
            csv_row_time(&row, b->b.bracket_end_wall_ns);
        } else {
            for (int n = 0; n < 6; n++)
                csv_row_str(&row, NULL);
        }
        csv_row_i64(&row, c->stale_read);
        csv_row_str(&row, c->presence);
        csv_row_str(&row, c->routing);
        csv_row_i64(&row, c->transitioning);
        csv_row_str(&row, b && b->audit ? d->writers[b->writer].label : NULL);
        csv_row_str(&row, b && b->audit ? b->audit->level : NULL);
        csv_row_str(&row, b && b->audit ? b->audit->id : NULL);
        err = csv_write_row(w, &row);
    }
    return write_rows_done(w, &row, err);
}

static enum rt_err write_association(const struct diagnosis *d, const char *dir)
{
    static const char *const cols[] = {
        "signal",        "transitions",   "bumps",         "covered",
        "coverage",      "hit_rate",      "null_coverage", "null_hit_rate",
        "coverage_lift", "hit_rate_lift", "p_value",       "p_adjusted",
        "permutations",  "significant",   "demoted",       "confounded_with",
        "lag_median_ms", "lag_iqr_ms",    "lag_mad_ms"};
    struct csv *w;
    struct csv_row row;
    enum rt_err err;

    if ((err = csv_open_in(&w, dir, "association.csv", cols,
                           sizeof(cols) / sizeof(cols[0]), CSV_ATOMIC)))
        return err;
    csv_row_init(&row);
    for (size_t i = 0; i < d->n_signals && !err; i++) {
        const struct diag_signal *s = &d->signals[i];
        const struct stats_assoc *a = &s->assoc;
        char conf[512] = "";
        size_t len = 0;
        for (size_t k = 0; k < s->n_confounded && len < sizeof(conf); k++)
            len += (size_t)snprintf(conf + len, sizeof(conf) - len, "%s%s",
                                    k ? ";" : "",
                                    d->signals[s->confounded[k]].name);
        csv_row_reset(&row);
        csv_row_str(&row, s->name);
        csv_row_u64(&row, a->n_transitions);
        csv_row_u64(&row, a->n_bumps);
        csv_row_u64(&row, a->covered_bumps);
        csv_row_double(&row, a->coverage, 4);
        csv_row_double(&row, a->hit_rate, 4);
        csv_row_double(&row, a->null_coverage, 4);
        csv_row_double(&row, a->null_hit_rate, 4);
        csv_row_double(&row,
                       isfinite(a->coverage_lift) ? a->coverage_lift : NAN, 4);
        csv_row_double(&row,
                       isfinite(a->hit_rate_lift) ? a->hit_rate_lift : NAN, 4);
        csv_row_double(&row, s->p_value, 4);
        csv_row_double(&row, s->p_adjusted, 4);
        csv_row_u64(&row, a->permutations);
        csv_row_i64(&row, s->significant);
        csv_row_i64(&row, s->demoted);
        csv_row_str(&row, conf);
        csv_row_double(&row, s->lag.median / MS_NS, 6);
        csv_row_double(&row, s->lag.iqr / MS_NS, 6);
        csv_row_double(&row, s->lag.mad / MS_NS, 6);
        err = csv_write_row(w, &row);
    }
    return write_rows_done(w, &row, err);
}

static enum rt_err write_strategies(const struct diagnosis *d, const char *dir)
{
    static const char *const cols[] = {
        "strategy",        "operations", "succeeded",         "conflicts",
        "gave_up",         "errors",     "unknown",           "requests",
        "wasted_requests", "duration_s", "conflict_requests", "lost_updates",
        "dry_run"};
    struct csv *w;
    struct csv_row row;
    enum rt_err err;

    if ((err = csv_open_in(&w, dir, "strategies.csv", cols,
                           sizeof(cols) / sizeof(cols[0]), CSV_ATOMIC)))
        return err;
    csv_row_init(&row);
    for (size_t i = 0; i < d->n_strategies && !err; i++) {
        const struct diag_strategy *s = &d->strategies[i];
        csv_row_reset(&row);
        csv_row_str(&row, s->name);
        csv_row_u64(&row, s->operations);
        csv_row_u64(&row, s->ok);
        csv_row_u64(&row, s->conflict);
        csv_row_u64(&row, s->gave_up);
        csv_row_u64(&row, s->error);
        csv_row_u64(&row, s->unknown);
        csv_row_u64(&row, s->requests);
        csv_row_u64(&row, s->wasted);
        csv_row_double(&row, strategy_duration_s(s), 6);
        csv_row_u64(&row, s->conflict_requests);
        csv_row_u64(&row, s->lost_updates);
        csv_row_u64(&row, s->dry_run);
        err = csv_write_row(w, &row);
    }
    return write_rows_done(w, &row, err);
}

/* ---- plot data -------------------------------------------------------- */

/* A plot data file, built in memory and written atomically. */
#define DAT_MAX ((size_t)256 << 20)

struct dat {
    struct buf b;
    enum rt_err err; /* the first append that did not fit */
    char path[4096];
};

static void dat_printf(struct dat *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void dat_printf(struct dat *d, const char *fmt, ...)
{
    va_list ap;
    enum rt_err err;

    va_start(ap, fmt);
    err = buf_vprintf(&d->b, fmt, ap);
    va_end(ap);
    if (err && !d->err)
        d->err = err;
}

static enum rt_err dat_open(struct dat *d, const char *dir, const char *name,
                            const char *header)
{
    if ((size_t)snprintf(d->path, sizeof(d->path), "%s/plots/%s", dir, name) >=
        sizeof(d->path))
        return rt_fail(RT_EINVAL, "directory path too long: '%s'", dir);
    buf_init(&d->b, DAT_MAX);
    d->err = RT_OK;
    dat_printf(d, "# %s\n", header);
    return RT_OK;
}

static enum rt_err dat_close(struct dat *d)
{
    enum rt_err err;

    /* A file over the cap is refused whole, never written cut. */
    if (d->err)
        err =
            rt_fail(RT_ETRUNC, "'%s' would exceed %zu bytes", d->path, DAT_MAX);
    else
        err = fs_write_atomic(d->path, buf_str(&d->b), d->b.len);
    buf_release(&d->b);
    return err;
}

/* A quoted string for gnuplot data: double quotes and backslashes out. */
static void dat_quoted(struct dat *d, const char *s)
{
    dat_printf(d, "\"");
    for (; s && *s; s++)
        if (*s != '"' && *s != '\\' && *s != '\n' && *s != '\r')
            dat_printf(d, "%c", *s);
    dat_printf(d, "\"");
}

/* Lanes: agents with conflicts (most first), then with foreign bumps. */
static size_t pick_lanes(const struct diagnosis *d, size_t *lanes)
{
    size_t na = d->run->n_agents, n = 0;
    size_t *conf = xcalloc(na ? na : 1, sizeof(*conf));
    size_t *foreign = xcalloc(na ? na : 1, sizeof(*foreign));
    unsigned char *taken = xcalloc(na ? na : 1, 1);

    for (size_t i = 0; i < d->n_conflicts; i++)
        if (d->conflicts[i].k->agent != RUNLOAD_NONE)
            conf[d->conflicts[i].k->agent]++;
    for (size_t i = 0; i < d->n_bumps; i++)
        foreign[d->bumps[i].b.agent] += d->bumps[i].attr != DIAG_ATTR_OWN;
    for (int pass = 0; pass < 2; pass++) {
        while (n < SWIMLANES_MAX) {
            size_t best = SIZE_MAX;
            for (size_t a = 0; a < na; a++) {
                size_t v = pass == 0 ? conf[a] : foreign[a];
                if (taken[a] || !v)
                    continue;
                if (best == SIZE_MAX ||
                    v > (pass == 0 ? conf[best] : foreign[best]))
                    best = a;
            }
            if (best == SIZE_MAX)
                break;
            taken[best] = 1;
            lanes[n++] = best;
        }
    }
    free(conf);
    free(foreign);
    free(taken);
    return n;
}

static enum rt_err write_swimlanes(const struct diagnosis *d, const char *dir)
{
    size_t lanes[SWIMLANES_MAX], n = pick_lanes(d, lanes);
    double end =
        rel_s(d, d->run->end_wall_ns > 0 ? d->run->end_wall_ns : d->t1_ns);
    struct dat f;
    enum rt_err err;

    if ((err = dat_open(&f, dir, "swimlane_lanes.dat", "lane label")))
        return err;
    for (size_t l = 0; l < n; l++) {
        dat_printf(&f, "%zu ", l);
        dat_printf(&f, "\"%.8s\"\n", d->run->agents[lanes[l]].id);
    }
    if ((err = dat_close(&f)) || (err = dat_open(&f, dir, "swimlane_states.dat",
                                                 "lane t0 t1 kind state")))
        return err;
    for (size_t l = 0; l < n; l++) {
        const struct diag_timeline *tl = &d->timelines[lanes[l]];
        for (int pres = 0; pres < 2; pres++) {
            double from = 0;
            const char *state = NULL;
            for (size_t i = 0; i < tl->n; i++) {
                const struct diag_transition *t = &tl->items[i];
                double at = rel_s(d, t->t_ns);
                if (t->is_presence != pres)
                    continue;
                if (!state)
                    state = t->from;
                if (at > from) {
                    dat_printf(&f, "%zu %.3f %.3f %d ", l, from, at, pres);
                    dat_quoted(&f, state);
                    dat_printf(&f, "\n");
                }
                from = at > from ? at : from;
                state = t->to;
            }
            if (state && end > from) {
                dat_printf(&f, "%zu %.3f %.3f %d ", l, from, end, pres);
                dat_quoted(&f, state);
                dat_printf(&f, "\n");
            }
        }
    }
    if ((err = dat_close(&f)) ||
        (err = dat_open(&f, dir, "swimlane_bumps.dat", "lane t origin")))
        return err;
    for (size_t l = 0; l < n; l++)
        for (size_t i = 0; i < d->n_bumps; i++)
            if (d->bumps[i].b.agent == lanes[l])
                dat_printf(&f, "%zu %.3f %d\n", l, rel_s(d, d->bumps[i].t_ns),
                           d->bumps[i].attr != DIAG_ATTR_OWN);
    if ((err = dat_close(&f)) ||
        (err = dat_open(&f, dir, "swimlane_windows.dat",
                        "lane t_read t_write outcome")))
        return err;
    for (size_t l = 0; l < n; l++) {
        for (size_t i = 0; i < d->run->n_ops; i++) {
            const struct runload_op *op = &d->run->ops[i];
            if (op->agent != lanes[l] || op->first_read_wall_ns <= 0 ||
                op->last_write_wall_ns <= 0 || strcmp(op->outcome, "ok"))
                continue;
            dat_printf(&f, "%zu %.3f %.3f 0\n", l,
                       rel_s(d, op->first_read_wall_ns),
                       rel_s(d, op->last_write_wall_ns));
        }
        for (size_t i = 0; i < d->n_conflicts; i++) {
            const struct diag_conflict *c = &d->conflicts[i];
            if (c->k->agent != lanes[l])
                continue;
            dat_printf(&f, "%zu %.3f %.3f 1\n", l,
                       rel_s(d, c->read_wall_ns > 0 ? c->read_wall_ns
                                                    : c->k->send_wall_ns),
                       rel_s(d, c->k->send_wall_ns));
        }
    }
    return dat_close(&f);
}

static enum rt_err write_lag(const struct diagnosis *d, const char *dir)
{
    size_t sig = d->verdict.signal_index, n = 0;
    double *lags = NULL, max = 0, width;
    uint64_t counts[LAG_BINS] = {0};
    struct dat f;
    enum rt_err err;

    if ((err = dat_open(&f, dir, "lag.dat", "lo_ms hi_ms count")))
        return err;
    if (sig != DIAG_NONE) {
        lags = xmalloc((d->n_bumps ? d->n_bumps : 1) * sizeof(*lags));
        for (size_t i = 0; i < d->n_bumps; i++) {
            const struct diag_bump *b = &d->bumps[i];
            if (b->attr != DIAG_ATTR_TRANSITION || b->signal != sig)
                continue;
            lags[n] = (double)diagnose_bump_lag_ns(b) / MS_NS;
            if (lags[n] > max)
                max = lags[n];
            n++;
        }
    }
    if (n) {
        /* A round bin width: 1, 2 or 5 times a power of ten. */
        double raw = (max > 0 ? max : 1) / LAG_BINS, p10, step;
        p10 = pow(10, floor(log10(raw)));
        step = raw <= p10       ? p10
               : raw <= 2 * p10 ? 2 * p10
               : raw <= 5 * p10 ? 5 * p10
                                : 10 * p10;
        width = step;
        for (size_t i = 0; i < n; i++) {
            size_t bin = (size_t)(lags[i] / width);
            counts[bin < LAG_BINS ? bin : LAG_BINS - 1]++;
        }
        for (size_t b = 0; b < LAG_BINS; b++)
            dat_printf(&f, "%g %g %llu\n", (double)b * width,
                       (double)(b + 1) * width, (unsigned long long)counts[b]);
    }
    free(lags);
    return dat_close(&f);
}

static enum rt_err write_outcomes(const struct diagnosis *d, const char *dir)
{
    const struct runload_requests *q = &d->run->requests;
    double base = rel_s(d, q->per_second_base_ns);
    struct dat f;
    enum rt_err err;

    if ((err = dat_open(&f, dir, "outcomes.dat",
                        "t ok conflict throttled error")))
        return err;
    for (size_t i = 0; i < q->n_seconds; i++) {
        const struct runload_second *s = &q->per_second[i];
        dat_printf(&f, "%.3f %u %u %u %u\n", base + (double)i, s->ok,
                   s->conflict, s->throttled, s->error);
    }
    if ((err = dat_close(&f)) ||
        (err = dat_open(&f, dir, "replay_windows.dat", "t0 t1 strategy")))
        return err;
    for (size_t i = 0; i < d->n_strategies; i++) {
        const struct diag_strategy *s = &d->strategies[i];
        if (s->start_ns <= 0 || s->end_ns <= s->start_ns)
            continue;
        dat_printf(&f, "%.3f %.3f ", rel_s(d, s->start_ns),
                   rel_s(d, s->end_ns));
        dat_quoted(&f, s->name);
        dat_printf(&f, "\n");
    }
    return dat_close(&f);
}

static enum rt_err write_tables(const struct diagnosis *d, const char *dir)
{
    struct dat f;
    enum rt_err err;

    if ((err = dat_open(&f, dir, "latency.dat",
                        "status n p50_ms p90_ms p99_ms max_ms")))
        return err;
    for (int s = 0; s < RUNLOAD_STATUS_MAX; s++) {
        const struct runload_hist *h = d->run->requests.latency_by_status[s];
        if (!h || !h->n)
            continue;
        dat_printf(
            &f, "%d %llu %.3f %.3f %.3f %.3f\n", s, (unsigned long long)h->n,
            runload_hist_quantile(h, 0.5) / MS_NS,
            runload_hist_quantile(h, 0.9) / MS_NS,
            runload_hist_quantile(h, 0.99) / MS_NS, (double)h->max_ns / MS_NS);
    }
    if ((err = dat_close(&f)) ||
        (err = dat_open(&f, dir, "conflict_state.dat",
                        "state writes conflicts rate")))
        return err;
    for (size_t i = 0; i < d->n_states; i++) {
        const struct diag_state_count *s = &d->by_state[i];
        dat_quoted(&f, s->state);
        dat_printf(&f, " %llu %llu %.4f\n", (unsigned long long)s->writes,
                   (unsigned long long)s->conflicts,
                   s->writes ? (double)s->conflicts / (double)s->writes : 0.0);
    }
    if ((err = dat_close(&f)) ||
        (err = dat_open(&f, dir, "strategies.dat",
                        "strategy operations succeeded conflicts gave_up "
                        "errors requests wasted")))
        return err;
    for (size_t i = 0; i < d->n_strategies; i++) {
        const struct diag_strategy *s = &d->strategies[i];
        dat_quoted(&f, s->name);
        dat_printf(&f, " %llu %llu %llu %llu %llu %llu %llu\n",
                   (unsigned long long)s->operations, (unsigned long long)s->ok,
                   (unsigned long long)s->conflict,
                   (unsigned long long)s->gave_up, (unsigned long long)s->error,
                   (unsigned long long)s->requests,
                   (unsigned long long)s->wasted);
    }
    return dat_close(&f);
}

enum rt_err outputs_write(const struct diagnosis *d, const char *dir,
                          cJSON **summary)
{
    char plots[4096];
    enum rt_err err;

    *summary = NULL;
    if ((size_t)snprintf(plots, sizeof(plots), "%s/plots", dir) >=
        sizeof(plots))
        return rt_fail(RT_EINVAL, "directory path too long: '%s'", dir);
    if ((err = fs_mkdir_p(plots)) || (err = write_bumps(d, dir)) ||
        (err = write_conflicts(d, dir)) || (err = write_association(d, dir)) ||
        (err = write_strategies(d, dir)) || (err = write_swimlanes(d, dir)) ||
        (err = write_lag(d, dir)) || (err = write_outcomes(d, dir)) ||
        (err = write_tables(d, dir)))
        return err;
    *summary = summary_build(d);
    return RT_OK;
}
