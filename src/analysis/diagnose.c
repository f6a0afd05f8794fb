/*
 * The diagnosis.  Order of work: timelines (poll, stream and analytics
 * merged), bumps, the audit record of each foreign bump (its writer, and
 * the server's time of the write, which times the bump from then on),
 * association per signal (Holm over the signals), confounds, attribution
 * of each foreign bump by its timing (transition, then burst, then
 * period), the writers, conflicts and the 2x2 table, the checker,
 * strategies, the verdict and its words, and last the truth score.
 * Numbers that decide the verdict are named constants below so the README
 * can quote them.
 */
#include "analysis/diagnose.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/rng.h"
#include "base/xalloc.h"

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)

/* Two observations of one transition from different sources: the better
 * timed one's time within this of the other's window (clock skew between
 * this machine and the server, and the server's own rounding). */
#define MERGE_TOL_NS (2 * NS_PER_S)
/* An audit record may attribute a bump whose bracket it misses by this
 * much (the server's clock against this machine's). */
#define AUDIT_TOL_NS NS_PER_S
/* "other-writer" from the audit trail: the writer of this many of the
 * unexplained foreign bumps, and at least this share of all of them. */
#define AUDIT_MIN_BUMPS 5
#define AUDIT_MIN_SHARE 0.5
/* A writer is named for a cause's bumps when it wrote this share. */
#define AUDIT_NAME_SHARE 0.5
/* Own client inferred from the records at the job's own writes: at least
 * this many writes, and this share of those with a record. */
#define OWN_INFER_MIN 3
#define OWN_INFER_SHARE 0.8

/* A signal accuses only with this many covered bumps and this lift. */
#define MIN_COVERED 5
#define MIN_LIFT 1.5
/* A further transition is named when it explains this share. */
#define MIN_SECONDARY_SHARE 0.05
/* "other-writer" needs this many unexplained foreign bumps. */
#define MIN_FOREIGN 10
/* Confounded: this share of one signal's transitions come within the
 * window of the other's. */
#define CONFOUND_SHARE 0.5
/* Bursts: bins of 1 s, windows of BURST_SPAN, at least BURST_MIN_AGENTS
 * and BURST_SHARE of the agents in one window. */
#define BURST_BIN_NS NS_PER_S
#define BURST_SPAN_BINS 10
#define BURST_MIN_AGENTS 5
#define BURST_SHARE 0.2
/* ... and at least this many times the agents a window holds on average,
 * so a steady background is not taken for a burst in a short run. */
#define BURST_RATE_FACTOR 3.0
/* Periodic: an agent's intervals vary by at most this coefficient. */
#define PERIOD_MAX_CV 0.1
#define PERIOD_MIN_BUMPS 3
#define PERIOD_MIN_AGENTS 2
/* Threads for the signal tests (each test is one thread's work). */
#define SIGNAL_THREADS_MAX 8
/* Null draws for the burst and period tests. */
#define SHAPE_PERMUTATIONS 199
/* RNG streams of the burst and period tests. */
#define BURST_STREAM UINT64_C(0x6275727374)    /* "burst" */
#define PERIOD_STREAM UINT64_C(0x706572696f64) /* "period" */

#define DIAG_CAUSE_NAME(e, name) name,
static const char *const cause_names[] = {DIAG_CAUSES(DIAG_CAUSE_NAME)};
#undef DIAG_CAUSE_NAME

const char *diag_cause_name(enum diag_cause cause)
{
    return (unsigned)cause < DIAG_CAUSE_COUNT ? cause_names[cause] : "?";
}

const char *diag_time_source_name(enum diag_time_source source)
{
    static const char *const names[] = {"bracket", "audit"};
    return (unsigned)source < 2 ? names[source] : "?";
}

const char *diag_attr_name(enum diag_attr attr)
{
    static const char *const names[] = {"own", "transition", "batch",
                                        "periodic", "unexplained"};
    return (unsigned)attr < DIAG_ATTR_COUNT ? names[attr] : "?";
}

void diagnose_params_default(struct diag_params *p)
{
    p->window_ns = 2 * NS_PER_S;
    p->permutations = 999;
    p->seed = 1;
    p->alpha = 0.05;
}

/* ---- small helpers ---------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Index of the first value > @t in sorted @v. */
static size_t upper_bound(const int64_t *v, size_t n, int64_t t)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The latest value in [t - w, t] of sorted @v, or -1 (times are >= 0). */
static int64_t latest_within(const int64_t *v, size_t n, int64_t t, int64_t w)
{
    size_t i = upper_bound(v, n, t);

    return i > 0 && v[i - 1] >= t - w ? v[i - 1] : -1;
}

/* Any value in [t - w, t + w]? */
static int any_near(const int64_t *v, size_t n, int64_t t, int64_t w)
{
    size_t i = upper_bound(v, n, t + w);

    return i > 0 && v[i - 1] >= t - w;
}

/* ---- timelines -------------------------------------------------------- */

static int trans_cmp(const void *a, const void *b)
{
    const struct diag_transition *x = a, *y = b;

    if (x->t_ns != y->t_ns)
        return x->t_ns < y->t_ns ? -1 : 1;
    return x->is_presence - y->is_presence;
}

/* A transition's time: the server's, when it is plausible (within a
 * minute of the bracket; a wild server clock is ignored), else the
 * bracket's middle. */
static int64_t transition_time(const struct runload_obs *o)
{
    int64_t mid = o->bracket_start_wall_ns +
                  (o->bracket_end_wall_ns - o->bracket_start_wall_ns) / 2;

    if (o->server_wall_ns > 0 &&
        o->server_wall_ns >= o->bracket_start_wall_ns - 60 * NS_PER_S &&
        o->server_wall_ns <= o->bracket_end_wall_ns + 60 * NS_PER_S)
        return o->server_wall_ns;
    return mid;
}

/*
 * Merging the sources.  Each presence or routing observation is a
 * candidate transition with a rank: analytics (exact server times, every
 * transition of the interval) above the stream (server times, as they
 * happen) above the poll (a bracket, sometimes a server time).  A
 * lower-ranked candidate is the same transition as a higher-ranked one
 * when both are of the same property, reach the same value, and the
 * higher one's time lies within MERGE_TOL_NS of the lower one's window
 * (its bracket, widened to its server time); the lower one is then
 * dropped.  Matching is one to one within a pass, nearest in time first,
 * so two transitions to the same value inside one slow poll's bracket
 * leave one of them unmatched: a transition the poll missed.
 */
enum { RANK_POLL, RANK_STREAM, RANK_ANALYTICS };

struct tcand {
    int64_t t_ns;         /* as transition_time() */
    int64_t lo_ns, hi_ns; /* window: bracket and server time */
    const struct runload_obs *o;
    int rank, is_presence;
    int dropped;   /* the same transition as a higher-ranked one */
    int seen_live; /* analytics: a poll or stream observation matched it */
    int used;      /* matched in the current pass */
};

static int source_rank(const char *source)
{
    if (!strcmp(source, "analytics"))
        return RANK_ANALYTICS;
    if (!strcmp(source, "stream"))
        return RANK_STREAM;
    return RANK_POLL;
}

/* An entry of the matching index, sorted by property, value (interned,
 * so equal values are equal pointers; the order between values does not
 * matter, only that each value's entries are together), time and
 * position. */
struct mkey {
    int is_presence;
    uintptr_t value;
    int64_t t_ns;
    size_t k; /* into the candidates */
};

static int mkey_cmp(const void *a, const void *b)
{
    const struct mkey *x = a, *y = b;

    if (x->is_presence != y->is_presence)
        return x->is_presence - y->is_presence;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    if (x->t_ns != y->t_ns)
        return x->t_ns < y->t_ns ? -1 : 1;
    return x->k < y->k ? -1 : x->k > y->k;
}

/* 1 when @m sorts before every entry of @l's property and value at or
 * after time @t. */
static int mkey_before(const struct mkey *m, const struct tcand *l, int64_t t)
{
    uintptr_t v = (uintptr_t)l->o->new_value;

    if (m->is_presence != l->is_presence)
        return m->is_presence < l->is_presence;
    if (m->value != v)
        return m->value < v;
    return m->t_ns < t;
}

/*
 * One pass: every candidate of rank @low is matched against the kept
 * candidates of higher rank, indexed in @idx (@n, sorted).  A match drops
 * the lower one and, when the higher one came from analytics, marks it
 * seen.  Candidates are in timeline order, so earlier observations choose
 * first.
 */
static void merge_pass(struct tcand *c, size_t nc, const struct mkey *idx,
                       size_t n, int low)
{
    for (size_t i = 0; i < n; i++)
        c[idx[i].k].used = 0;
    for (size_t k = 0; k < nc; k++) {
        struct tcand *l = &c[k];
        size_t lo = 0, hi = n, best = SIZE_MAX;
        int64_t best_dist = 0;

        if (l->rank != low || l->dropped)
            continue;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (mkey_before(&idx[mid], l, l->lo_ns - MERGE_TOL_NS))
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i < n; i++) {
            const struct mkey *m = &idx[i];
            int64_t dist;
            if (m->is_presence != l->is_presence ||
                m->value != (uintptr_t)l->o->new_value ||
                m->t_ns > l->hi_ns + MERGE_TOL_NS)
                break;
            if (c[m->k].used)
                continue;
            dist = m->t_ns > l->t_ns ? m->t_ns - l->t_ns : l->t_ns - m->t_ns;
            if (best == SIZE_MAX || dist < best_dist) {
                best = m->k;
                best_dist = dist;
            }
        }
        if (best == SIZE_MAX)
            continue;
        c[best].used = 1;
        c[best].seen_live |= c[best].rank == RANK_ANALYTICS;
        l->dropped = 1;
    }
}

/* Index of the kept candidates of rank >= @min_rank, sorted. */
static size_t merge_index(const struct tcand *c, size_t nc, int min_rank,
                          struct mkey *idx)
{
    size_t n = 0;

    for (size_t k = 0; k < nc; k++) {
        if (c[k].rank < min_rank || c[k].dropped)
            continue;
        idx[n].is_presence = c[k].is_presence;
        idx[n].value = (uintptr_t)c[k].o->new_value;
        idx[n].t_ns = c[k].t_ns;
        idx[n].k = k;
        n++;
    }
    if (n > 1)
        qsort(idx, n, sizeof(*idx), mkey_cmp);
    return n;
}

static void push_transition(struct diagnosis *d, struct diag_timeline *tl,
                            const struct runload_obs *o, int64_t t_ns,
                            int missed)
{
    struct diag_transition *t = &tl->items[tl->n++];

    t->t_ns = t_ns;
    t->from = o->old_value;
    t->to = o->new_value;
    t->source = o->source;
    t->is_presence = o->prop == RUNLOAD_PRESENCE;
    t->missed = missed;
    if (t->is_presence)
        d->n_presence++;
    else
        d->n_routing++;
    switch (source_rank(o->source)) {
    case RANK_ANALYTICS:
        d->n_from_analytics++;
        break;
    case RANK_STREAM:
        d->n_from_stream++;
        break;
    default:
        d->n_from_poll++;
    }
    if (missed && t->is_presence)
        d->missed_presence++;
    else if (missed)
        d->missed_routing++;
}

/* An agent whose observations come from more than one source (or from
 * analytics or the stream): the merge above. */
static void merge_agent(struct diagnosis *d, const struct runload_agent *ag,
                        struct diag_timeline *tl, struct tcand *c,
                        struct mkey *idx)
{
    const struct runload *run = d->run;
    int clip = run->start_wall_ns > 0 && run->end_wall_ns > run->start_wall_ns;
    size_t nc = 0, n;

    for (size_t k = 0; k < ag->n_obs; k++) {
        const struct runload_obs *o = &ag->obs[k];
        struct tcand *x;
        if (o->prop == RUNLOAD_VERSION)
            continue;
        x = &c[nc];
        memset(x, 0, sizeof(*x));
        x->o = o;
        x->rank = source_rank(o->source);
        x->is_presence = o->prop == RUNLOAD_PRESENCE;
        x->t_ns = transition_time(o);
        x->lo_ns = o->bracket_start_wall_ns;
        x->hi_ns = o->bracket_end_wall_ns;
        if (x->t_ns < x->lo_ns)
            x->lo_ns = x->t_ns;
        if (x->t_ns > x->hi_ns)
            x->hi_ns = x->t_ns;
        /* Analytics covers the query's interval, which may reach beyond
         * the run; and an interval may follow one with the same value. */
        if (x->rank == RANK_ANALYTICS &&
            ((clip && (x->t_ns < run->start_wall_ns - MERGE_TOL_NS ||
                       x->t_ns > run->end_wall_ns + MERGE_TOL_NS)) ||
             o->old_value == o->new_value)) {
            d->n_analytics_dropped++;
            continue;
        }
        nc++;
    }
    n = merge_index(c, nc, RANK_ANALYTICS, idx);
    merge_pass(c, nc, idx, n, RANK_STREAM);
    n = merge_index(c, nc, RANK_STREAM, idx);
    merge_pass(c, nc, idx, n, RANK_POLL);
    for (size_t k = 0; k < nc; k++) {
        if (c[k].dropped) {
            d->n_duplicates++;
            continue;
        }
        push_transition(d, tl, c[k].o, c[k].t_ns,
                        c[k].rank == RANK_ANALYTICS && !c[k].seen_live);
    }
}

static void build_timelines(struct diagnosis *d)
{
    const struct runload *run = d->run;
    struct tcand *cands = NULL;
    struct mkey *idx = NULL;
    size_t cap = 0;

    d->timelines =
        xcalloc(run->n_agents ? run->n_agents : 1, sizeof(*d->timelines));
    for (size_t a = 0; a < run->n_agents; a++) {
        const struct runload_agent *ag = &run->agents[a];
        struct diag_timeline *tl = &d->timelines[a];
        size_t n = 0;
        int merge = 0;

        for (size_t k = 0; k < ag->n_obs; k++) {
            if (ag->obs[k].prop == RUNLOAD_VERSION)
                continue;
            n++;
            merge |= source_rank(ag->obs[k].source) != RANK_POLL;
        }
        if (!n)
            continue;
        tl->items = xmalloc(n * sizeof(*tl->items));
        if (merge) {
            if (n > cap) {
                cap = n;
                cands = xreallocarray(cands, cap, sizeof(*cands));
                idx = xreallocarray(idx, cap, sizeof(*idx));
            }
            merge_agent(d, ag, tl, cands, idx);
        } else {
            /* Poll only (every run before the stream and analytics):
             * nothing to merge. */
            for (size_t k = 0; k < ag->n_obs; k++)
                if (ag->obs[k].prop != RUNLOAD_VERSION)
                    push_transition(d, tl, &ag->obs[k],
                                    transition_time(&ag->obs[k]), 0);
        }
        if (tl->n > 1)
            qsort(tl->items, tl->n, sizeof(*tl->items), trans_cmp);
    }
    free(cands);
    free(idx);
}

/* Index of the first transition of @tl after @t_ns (by time). */
static size_t timeline_upper(const struct diag_timeline *tl, int64_t t_ns)
{
    size_t lo = 0, hi = tl->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tl->items[mid].t_ns <= t_ns)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A binary search, then a walk to the nearest transition of the property:
 * per write, not per transition of the run. */
const char *diagnose_state_at(const struct diagnosis *self, size_t agent,
                              int is_presence, int64_t t_ns)
{
    const struct diag_timeline *tl;
    size_t i;

    if (!self || agent >= self->run->n_agents)
        return NULL;
    tl = &self->timelines[agent];
    i = timeline_upper(tl, t_ns);
    for (size_t k = i; k > 0; k--)
        if (tl->items[k - 1].is_presence == is_presence)
            return tl->items[k - 1].to;
    for (size_t k = i; k < tl->n; k++)
        if (tl->items[k].is_presence == is_presence)
            return tl->items[k].from;
    return NULL;
}

/* ---- the analysis window ---------------------------------------------- */

static void window(struct diagnosis *d)
{
    const struct runload *run = d->run;
    int64_t lo = run->start_wall_ns, hi = run->end_wall_ns;

    for (size_t a = 0; a < run->n_agents; a++) {
        const struct diag_timeline *tl = &d->timelines[a];
        for (size_t i = 0; i < tl->n; i++) {
            if (lo <= 0 || tl->items[i].t_ns < lo)
                lo = tl->items[i].t_ns;
            if (tl->items[i].t_ns > hi)
                hi = tl->items[i].t_ns;
        }
    }
    for (size_t i = 0; i < d->n_bumps; i++) {
        if (lo <= 0 || d->bumps[i].t_ns < lo)
            lo = d->bumps[i].t_ns;
        if (d->bumps[i].t_ns > hi)
            hi = d->bumps[i].t_ns;
    }
    if (lo <= 0)
        lo = 1;
    if (hi < lo)
        hi = lo;
    d->t0_ns = lo;
    d->t1_ns = hi + 1;
}

/* ---- bumps ------------------------------------------------------------ */

static void build_bumps(struct diagnosis *d)
{
    d->n_bumps = d->raw.n;
    d->bumps = xcalloc(d->n_bumps ? d->n_bumps : 1, sizeof(*d->bumps));
    for (size_t i = 0; i < d->raw.n; i++) {
        struct diag_bump *b = &d->bumps[i];
        b->b = d->raw.items[i];
        b->t_ns = b->b.bracket_end_wall_ns;
        b->time_source = DIAG_TIME_BRACKET;
        b->signal = DIAG_NONE;
        b->burst = DIAG_NONE;
        b->writer = DIAG_NONE;
        b->lag_ns = -1;
        if (b->b.origin == RUNLOAD_FOREIGN) {
            b->attr = DIAG_ATTR_UNEXPLAINED;
            d->n_foreign++;
        } else {
            b->attr = DIAG_ATTR_OWN;
        }
    }
}

/* The time a bump's lag is measured to: its audit time when it has one
 * (the write itself), else the middle of its bracket (the best guess
 * inside it; the bracket end would add half a poll interval to every
 * lag). */
static int64_t lag_ref_ns(const struct diag_bump *b)
{
    if (b->time_source == DIAG_TIME_AUDIT)
        return b->t_ns;
    return b->b.bracket_start_wall_ns +
           (b->b.bracket_end_wall_ns - b->b.bracket_start_wall_ns) / 2;
}

/* Per agent: the foreign bumps not yet explained, as sorted times. */
struct agent_times {
    int64_t *t;
    size_t n;
};

static struct agent_times *foreign_times(const struct diagnosis *d,
                                         int only_unexplained)
{
    size_t na = d->run->n_agents;
    struct agent_times *at = xcalloc(na ? na : 1, sizeof(*at));
    size_t *cap = xcalloc(na ? na : 1, sizeof(*cap));

    for (size_t i = 0; i < d->n_bumps; i++) {
        const struct diag_bump *b = &d->bumps[i];
        struct agent_times *x = &at[b->b.agent];
        if (b->b.origin != RUNLOAD_FOREIGN ||
            (only_unexplained && b->attr != DIAG_ATTR_UNEXPLAINED))
            continue;
        if (x->n == cap[b->b.agent]) {
            cap[b->b.agent] = cap[b->b.agent] ? 2 * cap[b->b.agent] : 8;
            x->t = xreallocarray(x->t, cap[b->b.agent], sizeof(*x->t));
        }
        x->t[x->n++] = b->t_ns;
    }
    for (size_t a = 0; a < na; a++)
        if (at[a].n > 1)
            qsort(at[a].t, at[a].n, sizeof(*at[a].t), cmp_i64);
    free(cap);
    return at;
}

static void times_free(struct agent_times *at, size_t n)
{
    if (!at)
        return;
    for (size_t i = 0; i < n; i++)
        free(at[i].t);
    free(at);
}

/* ---- signals ---------------------------------------------------------- */

/* The transition times of signal (@is_presence, @to) per agent; @to NULL
 * is "any" change of that property. */
static struct agent_times *signal_times(const struct diagnosis *d,
                                        int is_presence, const char *to)
{
    size_t na = d->run->n_agents;
    struct agent_times *at = xcalloc(na ? na : 1, sizeof(*at));

    for (size_t a = 0; a < na; a++) {
        const struct diag_timeline *tl = &d->timelines[a];
        size_t n = 0;
        for (size_t i = 0; i < tl->n; i++)
            n += tl->items[i].is_presence == is_presence &&
                 (!to || tl->items[i].to == to);
        if (!n)
            continue;
        at[a].t = xmalloc(n * sizeof(*at[a].t));
        for (size_t i = 0; i < tl->n; i++)
            if (tl->items[i].is_presence == is_presence &&
                (!to || tl->items[i].to == to))
                at[a].t[at[a].n++] = tl->items[i].t_ns;
    }
    return at;
}

struct sigwork {
    struct agent_times *trans; /* per agent */
};

/* Threads for the permutation tests: the machine's cores, at most 8.
 * The results do not depend on it (stats_assoc_params.threads). */
static uint32_t analysis_threads(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    return cpus < 1                    ? 1
           : cpus > SIGNAL_THREADS_MAX ? SIGNAL_THREADS_MAX
                                       : (uint32_t)cpus;
}

static enum rt_err assoc(const struct diagnosis *d,
                         const struct agent_times *trans,
                         const struct agent_times *bumps,
                         struct stats_assoc *out)
{
    size_t na = d->run->n_agents;
    struct stats_agent_events *ev = xcalloc(na ? na : 1, sizeof(*ev));
    struct stats_assoc_params p = {
        .t0_ns = d->t0_ns,
        .t1_ns = d->t1_ns,
        .window_ns = d->params.window_ns,
        .permutations = d->params.permutations,
        .seed = d->params.seed,
        /* A stopped test has p >= (1 + h) / (1 + K) > alpha. */
        .stop_after = (uint32_t)ceil(d->params.alpha *
                                     ((double)d->params.permutations + 1)),
        .threads = analysis_threads(),
    };
    enum rt_err err;

    for (size_t a = 0; a < na; a++) {
        ev[a].transitions_ns = trans[a].t;
        ev[a].n_transitions = trans[a].n;
        ev[a].bumps_ns = bumps[a].t;
        ev[a].n_bumps = bumps[a].n;
    }
    err = stats_assoc_test(ev, na, &p, out);
    free(ev);
    return err;
}

/* Lags from the latest transition of @trans within the window before
 * each foreign bump's time to the bump (lag_ref_ns()), clipped at 0. */
static void signal_lags(const struct diagnosis *d,
                        const struct agent_times *trans,
                        struct stats_summary *out)
{
    double *lags = xmalloc((d->n_foreign ? d->n_foreign : 1) * sizeof(*lags));
    size_t n = 0;

    for (size_t i = 0; i < d->n_bumps; i++) {
        const struct diag_bump *b = &d->bumps[i];
        const struct agent_times *t = &trans[b->b.agent];
        int64_t tt, ref;
        if (b->b.origin != RUNLOAD_FOREIGN)
            continue;
        tt = latest_within(t->t, t->n, b->t_ns, d->params.window_ns);
        if (tt < 0)
            continue;
        ref = lag_ref_ns(b);
        lags[n++] = ref > tt ? (double)(ref - tt) : 0.0;
    }
    stats_summarize(lags, n, out);
    free(lags);
}

static int signal_cmp(const void *a, const void *b)
{
    const struct diag_signal *x = a, *y = b;

    if (x->significant != y->significant)
        return y->significant - x->significant;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Holm's step-down adjustment of the signals' p-values. */
static void holm(struct diagnosis *d)
{
    size_t m = d->n_signals;
    size_t *order = xmalloc((m ? m : 1) * sizeof(*order));
    double running = 0;

    for (size_t i = 0; i < m; i++)
        order[i] = i;
    /* Insertion sort by p (then name): m is a few dozen at most. */
    for (size_t i = 1; i < m; i++) {
        size_t k = order[i], j = i;
        while (
            j > 0 &&
            (d->signals[order[j - 1]].p_value > d->signals[k].p_value ||
             (d->signals[order[j - 1]].p_value == d->signals[k].p_value &&
              strcmp(d->signals[order[j - 1]].name, d->signals[k].name) > 0))) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = k;
    }
    for (size_t i = 0; i < m; i++) {
        struct diag_signal *s = &d->signals[order[i]];
        double adj = fmin(1.0, (double)(m - i) * s->p_value);
        if (adj > running)
            running = adj;
        s->p_adjusted = running;
    }
    free(order);
}

/* Distinct transition kinds seen, as (is_presence, to) pairs. */
struct kind {
    int is_presence;
    const char *to;
};

static size_t collect_kinds(const struct diagnosis *d, struct kind **out)
{
    size_t n = 0, cap = 0;
    struct kind *k = NULL;

    for (size_t a = 0; a < d->run->n_agents; a++) {
        const struct diag_timeline *tl = &d->timelines[a];
        for (size_t i = 0; i < tl->n; i++) {
            size_t j;
            for (j = 0; j < n; j++)
                if (k[j].is_presence == tl->items[i].is_presence &&
                    k[j].to == tl->items[i].to)
                    break;
            if (j < n)
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 16;
                k = xreallocarray(k, cap, sizeof(*k));
            }
            k[n].is_presence = tl->items[i].is_presence;
            k[n].to = tl->items[i].to;
            n++;
        }
    }
    *out = k;
    return n;
}

/* Per signal, its transition times per agent (kept for attribution). */
struct sigtimes {
    struct agent_times **t; /* parallel to d->signals */
    size_t n;               /* entries of t allocated */
};

static enum rt_err test_signals(struct diagnosis *d, struct sigtimes *st,
                                const struct agent_times *bumps)
{
    struct kind *kinds = NULL;
    size_t nk = collect_kinds(d, &kinds), n = 0;
    int has[2] = {0, 0};
    enum rt_err err;

    for (size_t i = 0; i < nk; i++)
        has[kinds[i].is_presence] = 1;
    d->signals = xcalloc(nk + 2, sizeof(*d->signals));
    st->t = xcalloc(nk + 2, sizeof(*st->t));
    for (size_t i = 0; i < nk + 2; i++) {
        struct diag_signal *s = &d->signals[n];
        int pres;
        const char *to;
        if (i < nk) {
            pres = kinds[i].is_presence;
            to = kinds[i].to;
        } else {
            pres = (int)(i - nk);
            to = NULL;
            if (!has[pres])
                continue;
        }
        s->is_presence = pres;
        s->to = to;
        snprintf(s->name, sizeof(s->name), "%s:%s",
                 pres ? "presence" : "routing", to ? to : "any");
        st->t[n] = signal_times(d, pres, to);
        st->n = ++n;
    }
    free(kinds);
    d->n_signals = n;
    for (size_t i = 0; i < n; i++) {
        struct diag_signal *s = &d->signals[i];
        if ((err = assoc(d, st->t[i], bumps, &s->assoc)))
            return err;
        s->p_value = fmax(s->assoc.p_hit_rate, s->assoc.p_coverage);
        s->score = s->assoc.coverage * s->assoc.hit_rate;
        signal_lags(d, st->t[i], &s->lag);
    }
    holm(d);
    for (size_t i = 0; i < n; i++) {
        struct diag_signal *s = &d->signals[i];
        s->significant = s->p_adjusted < d->params.alpha &&
                         s->assoc.covered_bumps >= MIN_COVERED &&
                         s->assoc.hit_rate_lift >= MIN_LIFT;
    }
    return RT_OK;
}

/* Sort the signals (and their times alongside). */
static void sort_signals(struct diagnosis *d, struct sigtimes *st)
{
    size_t n = d->n_signals;
    struct ranked {
        struct diag_signal s;
        struct agent_times *t;
    } *tmp = xmalloc((n ? n : 1) * sizeof(*tmp));

    for (size_t i = 0; i < n; i++) {
        tmp[i].s = d->signals[i];
        tmp[i].t = st->t[i];
    }
    /* Stable by construction: compare through the signal, ties by name. */
    for (size_t i = 1; i < n; i++) {
        size_t j = i;
        while (j > 0 && signal_cmp(&tmp[j - 1].s, &tmp[j].s) > 0) {
            struct ranked x = tmp[j];
            tmp[j] = tmp[j - 1];
            tmp[j - 1] = x;
            j--;
        }
    }
    for (size_t i = 0; i < n; i++) {
        d->signals[i] = tmp[i].s;
        st->t[i] = tmp[i].t;
    }
    free(tmp);
}

/* Share of @a's transitions with one of @b's within the window. */
static double co_share(const struct diagnosis *d, const struct agent_times *a,
                       const struct agent_times *b, size_t *total)
{
    size_t hit = 0, n = 0;

    for (size_t ag = 0; ag < d->run->n_agents; ag++)
        for (size_t i = 0; i < a[ag].n; i++) {
            n++;
            hit += any_near(b[ag].t, b[ag].n, a[ag].t[i], d->params.window_ns);
        }
    *total = n;
    return n ? (double)hit / (double)n : 0.0;
}

/* @a's transitions without one of @b's within the window. */
static struct agent_times *solo(const struct diagnosis *d,
                                const struct agent_times *a,
                                const struct agent_times *b, size_t *total)
{
    size_t na = d->run->n_agents;
    struct agent_times *out = xcalloc(na ? na : 1, sizeof(*out));

    *total = 0;
    for (size_t ag = 0; ag < na; ag++) {
        if (!a[ag].n)
            continue;
        out[ag].t = xmalloc(a[ag].n * sizeof(*out[ag].t));
        for (size_t i = 0; i < a[ag].n; i++)
            if (!any_near(b[ag].t, b[ag].n, a[ag].t[i], d->params.window_ns))
                out[ag].t[out[ag].n++] = a[ag].t[i];
        *total += out[ag].n;
    }
    return out;
}

/* Do @a's transitions without @b still predict bumps?  1 yes, 0 no, -1
 * too few of them to tell. */
static int solo_predicts(const struct diagnosis *d, const struct agent_times *a,
                         const struct agent_times *b,
                         const struct agent_times *bumps)
{
    size_t n;
    struct agent_times *s = solo(d, a, b, &n);
    struct stats_assoc r;
    int verdict = -1;

    if (n >= MIN_COVERED && !assoc(d, s, bumps, &r)) {
        verdict = r.p_hit_rate < d->params.alpha && r.hit_rate_lift >= MIN_LIFT;
        stats_assoc_release(&r);
    }
    times_free(s, d->run->n_agents);
    return verdict;
}

static void note_confound(struct diag_signal *s, size_t other)
{
    if (s->n_confounded < sizeof(s->confounded) / sizeof(s->confounded[0]))
        s->confounded[s->n_confounded++] = other;
}

/*
 * Two significant specific signals whose transitions co-occur are
 * confounded.  The one whose transitions without the other still predict
 * bumps (or cannot be tested alone) wins over one whose transitions alone
 * do not; failing that, the one with the higher hit rate wins.  The loser
 * is demoted: listed, never the verdict, never used for attribution.
 */
static void confounds(struct diagnosis *d, const struct sigtimes *st,
                      const struct agent_times *bumps)
{
    for (size_t i = 0; i < d->n_signals; i++) {
        struct diag_signal *a = &d->signals[i];
        if (!a->significant || !a->to)
            continue;
        for (size_t j = i + 1; j < d->n_signals; j++) {
            struct diag_signal *b = &d->signals[j];
            size_t na, nb;
            int pa, pb, a_wins;
            if (!b->significant || !b->to)
                continue;
            if (co_share(d, st->t[i], st->t[j], &na) < CONFOUND_SHARE &&
                co_share(d, st->t[j], st->t[i], &nb) < CONFOUND_SHARE)
                continue;
            note_confound(a, j);
            note_confound(b, i);
            pa = solo_predicts(d, st->t[i], st->t[j], bumps);
            pb = solo_predicts(d, st->t[j], st->t[i], bumps);
            if (pa != 0 && pb == 0)
                a_wins = 1;
            else if (pb != 0 && pa == 0)
                a_wins = 0;
            else
                a_wins = a->assoc.hit_rate >= b->assoc.hit_rate;
            if (a_wins)
                b->demoted = 1;
            else
                a->demoted = 1;
        }
    }
}

/* ---- attribution ------------------------------------------------------ */

static void attribute_transitions(struct diagnosis *d,
                                  const struct sigtimes *st)
{
    /* Specific signals before the "any" ones, each in rank order. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t s = 0; s < d->n_signals; s++) {
            const struct diag_signal *sig = &d->signals[s];
            if (!sig->significant || sig->demoted || (pass == 0) != !!sig->to)
                continue;
            for (size_t i = 0; i < d->n_bumps; i++) {
                struct diag_bump *b = &d->bumps[i];
                const struct agent_times *t = &st->t[s][b->b.agent];
                int64_t tt;
                if (b->attr != DIAG_ATTR_UNEXPLAINED)
                    continue;
                tt = latest_within(t->t, t->n, b->t_ns, d->params.window_ns);
                if (tt < 0)
                    continue;
                b->attr = DIAG_ATTR_TRANSITION;
                b->signal = s;
                b->lag_ns = b->t_ns - tt;
            }
        }
    }
}

/* Burst statistic: bumps lying in 1 s bins covered by a window of
 * BURST_SPAN_BINS bins in which at least @min_agents distinct agents were
 * bumped.  @times per agent; @shift per agent (0 for the observed data).
 * Scratch arrays of nbins entries; @mark (optional) receives the bins. */
struct burst_scratch {
    uint32_t *agents_in_bin, *stamp;
    int32_t *diff;
    unsigned char *in_burst;
    size_t nbins;
};

static size_t bin_of(const struct diagnosis *d, int64_t t, int64_t shift)
{
    int64_t len = d->t1_ns - d->t0_ns;
    int64_t x = t - d->t0_ns + shift;

    if (x >= len)
        x -= len;
    return (size_t)(x / BURST_BIN_NS);
}

static uint64_t burst_stat(const struct diagnosis *d,
                           const struct agent_times *at, const int64_t *shift,
                           size_t min_agents, struct burst_scratch *s)
{
    size_t na = d->run->n_agents, nb = s->nbins;
    uint64_t stat = 0;
    long run = 0;

    memset(s->agents_in_bin, 0, nb * sizeof(*s->agents_in_bin));
    memset(s->stamp, 0, nb * sizeof(*s->stamp));
    memset(s->diff, 0, (nb + 1) * sizeof(*s->diff));
    for (size_t a = 0; a < na; a++)
        for (size_t i = 0; i < at[a].n; i++) {
            size_t bin = bin_of(d, at[a].t[i], shift ? shift[a] : 0);
            if (s->stamp[bin] != a + 1) {
                s->stamp[bin] = (uint32_t)(a + 1);
                s->agents_in_bin[bin]++;
            }
        }
    {
        uint64_t sum = 0;
        size_t span = nb < BURST_SPAN_BINS ? nb : BURST_SPAN_BINS;
        for (size_t i = 0; i < nb; i++) {
            sum += s->agents_in_bin[i];
            if (i >= span)
                sum -= s->agents_in_bin[i - span];
            if (i + 1 >= span && sum >= min_agents) {
                s->diff[i + 1 - span]++;
                s->diff[i + 1]--;
            }
        }
    }
    for (size_t i = 0; i < nb; i++) {
        run += s->diff[i];
        s->in_burst[i] = run > 0;
    }
    for (size_t a = 0; a < na; a++)
        for (size_t i = 0; i < at[a].n; i++)
            stat += s->in_burst[bin_of(d, at[a].t[i], shift ? shift[a] : 0)];
    return stat;
}

static void attribute_bursts(struct diagnosis *d)
{
    size_t na = d->run->n_agents, min_agents;
    struct agent_times *at = foreign_times(d, 1);
    struct burst_scratch s;
    int64_t *shift = xcalloc(na ? na : 1, sizeof(*shift));
    int64_t len = d->t1_ns - d->t0_ns;
    uint64_t obs, ge = 0;
    uint32_t draws = 0, stop;
    struct rng rng;
    size_t total = 0;

    d->batch_p = NAN;
    for (size_t a = 0; a < na; a++)
        total += at[a].n;
    min_agents = (size_t)ceil(BURST_SHARE * (double)na);
    if (min_agents < BURST_MIN_AGENTS)
        min_agents = BURST_MIN_AGENTS;
    {
        double per_window = (double)total * (double)BURST_SPAN_BINS *
                            (double)BURST_BIN_NS / (double)len;
        size_t by_rate = (size_t)ceil(BURST_RATE_FACTOR * per_window);
        if (by_rate > min_agents)
            min_agents = by_rate;
    }
    if (total < min_agents) {
        times_free(at, na);
        free(shift);
        return;
    }
    s.nbins = (size_t)((len + BURST_BIN_NS - 1) / BURST_BIN_NS);
    s.agents_in_bin = xcalloc(s.nbins, sizeof(*s.agents_in_bin));
    s.stamp = xcalloc(s.nbins, sizeof(*s.stamp));
    s.diff = xcalloc(s.nbins + 1, sizeof(*s.diff));
    s.in_burst = xcalloc(s.nbins, 1);
    stop = (uint32_t)ceil(d->params.alpha * (SHAPE_PERMUTATIONS + 1));
    rng_seed(&rng, d->params.seed, BURST_STREAM);
    obs = burst_stat(d, at, NULL, min_agents, &s);
    if (obs > 0) {
        while (draws < SHAPE_PERMUTATIONS) {
            for (size_t a = 0; a < na; a++)
                shift[a] =
                    at[a].n ? (int64_t)rng_below(&rng, (uint64_t)len) : 0;
            ge += burst_stat(d, at, shift, min_agents, &s) >= obs;
            draws++;
            if (ge >= stop)
                break;
        }
        d->batch_p = (1.0 + (double)ge) / (1.0 + (double)draws);
    } else {
        d->batch_p = 1.0;
    }
    if (d->batch_p < d->params.alpha && obs >= min_agents) {
        /* Recompute the observed bins and attribute their bumps. */
        size_t cap = 0;
        burst_stat(d, at, NULL, min_agents, &s);
        for (size_t i = 0; i < s.nbins;) {
            size_t j = i;
            struct diag_burst bu;
            if (!s.in_burst[i]) {
                i++;
                continue;
            }
            while (j < s.nbins && s.in_burst[j])
                j++;
            memset(&bu, 0, sizeof(bu));
            bu.t0_ns = d->t0_ns + (int64_t)i * BURST_BIN_NS;
            bu.t1_ns = d->t0_ns + (int64_t)j * BURST_BIN_NS;
            if (d->n_bursts == cap) {
                cap = cap ? 2 * cap : 4;
                d->bursts = xreallocarray(d->bursts, cap, sizeof(*d->bursts));
            }
            d->bursts[d->n_bursts++] = bu;
            i = j;
        }
        for (size_t i = 0; i < d->n_bumps; i++) {
            struct diag_bump *b = &d->bumps[i];
            if (b->attr != DIAG_ATTR_UNEXPLAINED)
                continue;
            for (size_t k = 0; k < d->n_bursts; k++) {
                if (b->t_ns < d->bursts[k].t0_ns ||
                    b->t_ns >= d->bursts[k].t1_ns)
                    continue;
                b->attr = DIAG_ATTR_BATCH;
                b->burst = k;
                d->bursts[k].bumps++;
                break;
            }
        }
        /* Distinct agents per burst: bumps are grouped by agent. */
        for (size_t k = 0; k < d->n_bursts; k++) {
            size_t prev = SIZE_MAX;
            for (size_t i = 0; i < d->n_bumps; i++)
                if (d->bumps[i].burst == k &&
                    d->bumps[i].attr == DIAG_ATTR_BATCH &&
                    d->bumps[i].b.agent != prev) {
                    d->bursts[k].agents++;
                    prev = d->bumps[i].b.agent;
                }
        }
    }
    free(s.agents_in_bin);
    free(s.stamp);
    free(s.diff);
    free(s.in_burst);
    free(shift);
    times_free(at, na);
}

/* Coefficient of variation of the intervals of sorted @t; NaN when fewer
 * than PERIOD_MIN_BUMPS times. */
static double interval_cv(const int64_t *t, size_t n, double *median_s)
{
    double *iv;
    struct stats_summary sum;

    if (n < PERIOD_MIN_BUMPS)
        return NAN;
    iv = xmalloc((n - 1) * sizeof(*iv));
    for (size_t i = 1; i < n; i++)
        iv[i - 1] = (double)(t[i] - t[i - 1]);
    stats_summarize(iv, n - 1, &sum);
    free(iv);
    if (median_s)
        *median_s = sum.median / (double)NS_PER_S;
    return sum.mean > 0 ? sum.sd / sum.mean : NAN;
}

static uint64_t periodic_stat(const struct agent_times *at, size_t na,
                              unsigned char *regular)
{
    uint64_t stat = 0;

    for (size_t a = 0; a < na; a++) {
        double cv = interval_cv(at[a].t, at[a].n, NULL);
        int r = cv <= PERIOD_MAX_CV;
        if (regular)
            regular[a] = (unsigned char)r;
        stat += r ? at[a].n : 0;
    }
    return stat;
}

static void attribute_periods(struct diagnosis *d)
{
    size_t na = d->run->n_agents, n_regular = 0;
    struct agent_times *at = foreign_times(d, 1);
    struct agent_times *draw;
    unsigned char *regular = xcalloc(na ? na : 1, 1);
    uint64_t obs, ge = 0;
    uint32_t draws = 0, stop;
    struct rng rng;
    double *periods;

    d->periodic_p = NAN;
    d->periodic_period_s = NAN;
    obs = periodic_stat(at, na, regular);
    for (size_t a = 0; a < na; a++)
        n_regular += regular[a];
    if (obs == 0 || n_regular < PERIOD_MIN_AGENTS) {
        if (obs == 0 && na)
            d->periodic_p = 1.0;
        goto out;
    }
    /* Null: the same number of bumps per agent, uniform in the window. */
    draw = xcalloc(na, sizeof(*draw));
    for (size_t a = 0; a < na; a++)
        if (at[a].n >= PERIOD_MIN_BUMPS)
            draw[a].t = xmalloc(at[a].n * sizeof(*draw[a].t));
    stop = (uint32_t)ceil(d->params.alpha * (SHAPE_PERMUTATIONS + 1));
    rng_seed(&rng, d->params.seed, PERIOD_STREAM);
    while (draws < SHAPE_PERMUTATIONS) {
        for (size_t a = 0; a < na; a++) {
            if (!draw[a].t)
                continue;
            for (size_t i = 0; i < at[a].n; i++)
                draw[a].t[i] =
                    d->t0_ns +
                    (int64_t)rng_below(&rng, (uint64_t)(d->t1_ns - d->t0_ns));
            draw[a].n = at[a].n;
            qsort(draw[a].t, draw[a].n, sizeof(*draw[a].t), cmp_i64);
        }
        ge += periodic_stat(draw, na, NULL) >= obs;
        draws++;
        if (ge >= stop)
            break;
    }
    times_free(draw, na);
    d->periodic_p = (1.0 + (double)ge) / (1.0 + (double)draws);
    if (d->periodic_p >= d->params.alpha)
        goto out;
    periods = xmalloc(na * sizeof(*periods));
    for (size_t a = 0; a < na; a++) {
        if (!regular[a])
            continue;
        interval_cv(at[a].t, at[a].n, &periods[d->periodic_agents]);
        d->periodic_agents++;
    }
    qsort(periods, d->periodic_agents, sizeof(*periods), cmp_double);
    d->periodic_period_s = stats_median(periods, d->periodic_agents);
    free(periods);
    for (size_t i = 0; i < d->n_bumps; i++) {
        struct diag_bump *b = &d->bumps[i];
        if (b->attr == DIAG_ATTR_UNEXPLAINED && regular[b->b.agent])
            b->attr = DIAG_ATTR_PERIODIC;
    }
out:
    free(regular);
    times_free(at, na);
}

/* ---- audit ------------------------------------------------------------ */

const char *diag_writer_kind_name(enum diag_writer_kind kind)
{
    static const char *const names[] = {"client", "user", "process", "unknown"};
    return (unsigned)kind < DIAG_WRITER_KIND_COUNT ? names[kind] : "?";
}

/*
 * Who wrote @a.  A person (a user at a level other than SYSTEM) first, as
 * a person may act through any client, the UI's included; then the OAuth
 * client, which tells integrations apart; then the application or
 * process; then a user at SYSTEM level; else nobody named.
 */
static enum diag_writer_kind writer_kind(const struct runload_audit *a,
                                         const char **id)
{
    int user = a->user_id[0] || a->user_name[0];

    if (user && strcmp(a->level, "SYSTEM")) {
        *id = a->user_id[0] ? a->user_id : a->user_name;
        return DIAG_WRITER_USER;
    }
    if (a->client_id[0]) {
        *id = a->client_id;
        return DIAG_WRITER_CLIENT;
    }
    if (a->application[0]) {
        *id = a->application;
        return DIAG_WRITER_PROCESS;
    }
    if (user) {
        *id = a->user_id[0] ? a->user_id : a->user_name;
        return DIAG_WRITER_USER;
    }
    *id = "";
    return DIAG_WRITER_UNKNOWN;
}

/* Same writer: kind, id and level (interned, so pointers compare). */
static int same_writer(const struct runload_audit *x,
                       const struct runload_audit *y)
{
    const char *ix, *iy;

    return writer_kind(x, &ix) == writer_kind(y, &iy) && ix == iy &&
           x->level == y->level;
}

static void writer_label(struct diag_writer *w)
{
    const struct runload_audit *a = w->record;
    const char *lvl = w->level;

    switch (w->kind) {
    case DIAG_WRITER_CLIENT:
        if (a->application[0] && lvl[0])
            snprintf(w->label, sizeof(w->label),
                     "OAuth client '%.80s' (application '%.80s', level %.20s)",
                     w->id, a->application, lvl);
        else if (a->application[0])
            snprintf(w->label, sizeof(w->label),
                     "OAuth client '%.80s' (application '%.80s')", w->id,
                     a->application);
        else if (lvl[0])
            snprintf(w->label, sizeof(w->label),
                     "OAuth client '%.80s' (level %.20s)", w->id, lvl);
        else
            snprintf(w->label, sizeof(w->label), "OAuth client '%.80s'", w->id);
        break;
    case DIAG_WRITER_USER:
        if (a->user_name[0] && a->user_id[0])
            snprintf(w->label, sizeof(w->label),
                     "user '%.80s' (id %.80s%s%.20s)", a->user_name, a->user_id,
                     lvl[0] ? ", level " : "", lvl);
        else
            snprintf(w->label, sizeof(w->label), "user '%.80s'%s%.20s%s", w->id,
                     lvl[0] ? " (level " : "", lvl, lvl[0] ? ")" : "");
        break;
    case DIAG_WRITER_PROCESS:
        snprintf(w->label, sizeof(w->label), "%.20s%sprocess '%.80s'", lvl,
                 lvl[0] ? " " : "", w->id);
        break;
    default:
        snprintf(w->label, sizeof(w->label), "an unnamed %.20s%swriter", lvl,
                 lvl[0] ? " " : "");
    }
}

/* A record that may attribute a foreign bump: a change of the User
 * entity that did not fail.  @own_too: also those by the job's own
 * client. */
static int audit_candidate(const struct diagnosis *d,
                           const struct runload_audit *a, int own_too)
{
    if (strcmp(a->entity_type, "User") || !strcmp(a->status, "FAILURE"))
        return 0;
    return own_too || !d->own_client[0] || strcmp(a->client_id, d->own_client);
}

/* Index of the first of the agent's records at or after @t. */
static size_t audit_lower(const struct runload_agent *ag, int64_t t)
{
    size_t lo = 0, hi = ag->n_audits;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ag->audits[mid].wall_ns < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*
 * The job's own OAuth client when run.json does not say: the client
 * whose records sit at the job's own confirmed writes (the write's send
 * to its receive, within the tolerance), when it is the same client at
 * OWN_INFER_SHARE of those writes and at least OWN_INFER_MIN of them.
 * Without it, records of the job's own writes could be taken for another
 * writer's.
 */
static void infer_own_client(struct diagnosis *d)
{
    const struct runload *run = d->run;
    struct tally {
        const char *client;
        size_t n;
    } *t = NULL;
    size_t nt = 0, cap = 0, writes = 0, best = SIZE_MAX;

    for (size_t a = 0; a < run->n_agents; a++) {
        const struct runload_agent *ag = &run->agents[a];
        for (size_t w = 0; w < ag->n_writes && ag->n_audits; w++) {
            const struct runload_write *wr = &ag->writes[w];
            const char *client = NULL;
            int64_t near = 0;
            if (!wr->confirmed)
                continue;
            /* The record nearest the write (inside send..receive is 0). */
            for (size_t i = audit_lower(ag, wr->send_wall_ns - AUDIT_TOL_NS);
                 i < ag->n_audits &&
                 ag->audits[i].wall_ns <= wr->recv_wall_ns + AUDIT_TOL_NS;
                 i++) {
                const struct runload_audit *r = &ag->audits[i];
                int64_t dist = r->wall_ns < wr->send_wall_ns
                                   ? wr->send_wall_ns - r->wall_ns
                               : r->wall_ns > wr->recv_wall_ns
                                   ? r->wall_ns - wr->recv_wall_ns
                                   : 0;
                if (!audit_candidate(d, r, 1) || !r->client_id[0] ||
                    (client && dist >= near))
                    continue;
                client = r->client_id;
                near = dist;
            }
            if (!client)
                continue;
            writes++;
            for (size_t k = 0; k <= nt; k++) {
                if (k == nt) {
                    if (nt == cap) {
                        cap = cap ? 2 * cap : 8;
                        t = xreallocarray(t, cap, sizeof(*t));
                    }
                    t[nt].client = client;
                    t[nt++].n = 1;
                    break;
                }
                if (t[k].client == client) {
                    t[k].n++;
                    break;
                }
            }
        }
    }
    for (size_t k = 0; k < nt; k++)
        if (best == SIZE_MAX || t[k].n > t[best].n ||
            (t[k].n == t[best].n && strcmp(t[k].client, t[best].client) < 0))
            best = k;
    if (best != SIZE_MAX && t[best].n >= OWN_INFER_MIN &&
        (double)t[best].n >= OWN_INFER_SHARE * (double)writes) {
        d->own_client = t[best].client;
        d->own_client_inferred = 1;
    }
    free(t);
}

/* The cause a foreign bump's timing points to. */
static enum diag_cause bump_cause(const struct diagnosis *d,
                                  const struct diag_bump *b)
{
    switch (b->attr) {
    case DIAG_ATTR_TRANSITION:
        return d->signals[b->signal].is_presence ? DIAG_CAUSE_PRESENCE
                                                 : DIAG_CAUSE_ROUTING;
    case DIAG_ATTR_BATCH:
        return DIAG_CAUSE_BATCH;
    case DIAG_ATTR_PERIODIC:
        return DIAG_CAUSE_PERIODIC;
    default:
        return DIAG_CAUSE_OTHER_WRITER;
    }
}

/* Writers' order: key while grouping (kind, id, level). */
static int rec_key_cmp(const struct runload_audit *x,
                       const struct runload_audit *y)
{
    const char *ix, *iy;
    enum diag_writer_kind kx = writer_kind(x, &ix), ky = writer_kind(y, &iy);
    int c;

    if (kx != ky)
        return kx < ky ? -1 : 1;
    if ((c = strcmp(ix, iy)))
        return c;
    return strcmp(x->level, y->level);
}

struct wref {
    const struct diag_bump *b;
    size_t i; /* into d->bumps */
};

static int wref_cmp(const void *a, const void *b)
{
    const struct wref *x = a, *y = b;
    int c = rec_key_cmp(x->b->audit, y->b->audit);

    if (c)
        return c;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Writers sorted with their index before the sort. */
struct wpair {
    struct diag_writer w;
    size_t old;
};

static int wpair_cmp(const void *a, const void *b)
{
    const struct wpair *x = a, *y = b;

    if (x->w.bumps != y->w.bumps)
        return x->w.bumps > y->w.bumps ? -1 : 1;
    if (strcmp(x->w.label, y->w.label))
        return strcmp(x->w.label, y->w.label);
    return x->old < y->old ? -1 : x->old > y->old;
}

/* Group the attributed bumps by writer, most bumps first (then by
 * label); each bump's writer index follows. */
static void build_writers(struct diagnosis *d)
{
    struct wref *refs;
    struct wpair *p;
    size_t n = 0, *perm;

    if (!d->audit_attributed)
        return;
    refs = xmalloc(d->audit_attributed * sizeof(*refs));
    for (size_t i = 0; i < d->n_bumps; i++)
        if (d->bumps[i].audit)
            refs[n++] = (struct wref){&d->bumps[i], i};
    qsort(refs, n, sizeof(*refs), wref_cmp);
    d->writers = xcalloc(n, sizeof(*d->writers));
    for (size_t k = 0; k < n; k++) {
        struct diag_bump *b = &d->bumps[refs[k].i];
        struct diag_writer *w;
        if (k == 0 || rec_key_cmp(refs[k - 1].b->audit, b->audit)) {
            w = &d->writers[d->n_writers++];
            w->kind = writer_kind(b->audit, &w->id);
            w->level = b->audit->level;
            w->record = b->audit;
            writer_label(w);
        }
        w = &d->writers[d->n_writers - 1];
        b->writer = d->n_writers - 1;
        w->bumps++;
        w->ambiguous += (size_t)b->audit_ambiguous;
        w->by_cause[bump_cause(d, b)]++;
    }
    free(refs);
    p = xmalloc(d->n_writers * sizeof(*p));
    perm = xmalloc(d->n_writers * sizeof(*perm));
    for (size_t k = 0; k < d->n_writers; k++) {
        p[k].w = d->writers[k];
        p[k].old = k;
    }
    qsort(p, d->n_writers, sizeof(*p), wpair_cmp);
    for (size_t k = 0; k < d->n_writers; k++) {
        d->writers[k] = p[k].w;
        perm[p[k].old] = k;
    }
    for (size_t i = 0; i < d->n_bumps; i++)
        if (d->bumps[i].audit)
            d->bumps[i].writer = perm[d->bumps[i].writer];
    free(p);
    free(perm);
}

/* @t clipped into [@lo, @hi]. */
static int64_t clip_i64(int64_t t, int64_t lo, int64_t hi)
{
    return t < lo ? lo : t > hi ? hi : t;
}

/*
 * Audit attribution (DESIGN §8.2, the best evidence).  Per agent, its
 * foreign bumps in version order take the agent's usable records one to
 * one: the candidates of a bump are the unused records with an event time
 * within AUDIT_TOL_NS of its bracket.  When they all name one writer the
 * bump takes the earliest (hidden bumps of one bracket take them in
 * order); when they name several it takes the one nearest its bracket
 * (inside it counts as 0, ties to the earliest) and is flagged ambiguous.
 * Records by the job's own client are never candidates: those are its
 * own writes.
 *
 * An unambiguous record's event time is the server's own time of the
 * write, where the bracket only bounds it (a slow poll's bracket is
 * seconds wide, wider than the association's window): it becomes the
 * bump's time, clipped into the bracket widened by the tolerance (a
 * no-op for a candidate, kept as the contract).  This runs before the
 * analysis window is fixed and before any test, so the observed
 * statistics and their null draws see the same times.  An ambiguous
 * record keeps the bracket: the record taken may be the wrong one.
 * The writers are grouped later (build_writers()), once the timing
 * attribution they are counted by is known.
 */
static void match_audit(struct diagnosis *d, const size_t *first)
{
    const struct runload *run = d->run;
    unsigned char *used = NULL;
    size_t used_cap = 0;

    d->own_client = run->client_id ? run->client_id : "";
    if (!run->n_audits)
        return;
    if (!d->own_client[0])
        infer_own_client(d);
    for (size_t a = 0; a < run->n_agents; a++) {
        const struct runload_agent *ag = &run->agents[a];
        if (!ag->n_audits)
            continue;
        for (size_t i = 0; i < ag->n_audits; i++) {
            const struct runload_audit *r = &ag->audits[i];
            if (audit_candidate(d, r, 0))
                d->audit_usable++;
            else if (audit_candidate(d, r, 1))
                d->audit_own++;
        }
        if (ag->n_audits > used_cap) {
            used_cap = ag->n_audits;
            used = xrealloc(used, used_cap);
        }
        memset(used, 0, ag->n_audits);
        for (size_t k = first[a]; k < first[a + 1]; k++) {
            struct diag_bump *b = &d->bumps[k];
            int64_t s = b->b.bracket_start_wall_ns,
                    e = b->b.bracket_end_wall_ns;
            size_t pick = SIZE_MAX, near = SIZE_MAX;
            int64_t near_dist = 0;
            int several = 0;
            if (b->b.origin != RUNLOAD_FOREIGN)
                continue;
            for (size_t i = audit_lower(ag, s - AUDIT_TOL_NS);
                 i < ag->n_audits && ag->audits[i].wall_ns <= e + AUDIT_TOL_NS;
                 i++) {
                const struct runload_audit *r = &ag->audits[i];
                int64_t dist = r->wall_ns < s   ? s - r->wall_ns
                               : r->wall_ns > e ? r->wall_ns - e
                                                : 0;
                if (used[i] || !audit_candidate(d, r, 0))
                    continue;
                if (pick == SIZE_MAX)
                    pick = i;
                else if (!same_writer(&ag->audits[pick], r))
                    several = 1;
                if (near == SIZE_MAX || dist < near_dist) {
                    near = i;
                    near_dist = dist;
                }
            }
            if (pick == SIZE_MAX)
                continue;
            if (several)
                pick = near;
            used[pick] = 1;
            b->audit = &ag->audits[pick];
            b->audit_ambiguous = several;
            d->audit_attributed++;
            d->audit_ambiguous += (size_t)several;
            if (!several) {
                b->t_ns = clip_i64(b->audit->wall_ns, s - AUDIT_TOL_NS,
                                   e + AUDIT_TOL_NS);
                b->time_source = DIAG_TIME_AUDIT;
                d->audit_timed++;
            }
        }
    }
    free(used);
}

/* ---- conflicts -------------------------------------------------------- */

/* The bump that created version @v of @agent; DIAG_NONE when unseen.
 * Bumps are grouped by agent and, within one, by version. */
static size_t find_bump(const struct diagnosis *d, const size_t *first,
                        size_t agent, int64_t v)
{
    size_t lo = first[agent], hi = first[agent + 1];

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->bumps[mid].b.version < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < first[agent + 1] && d->bumps[lo].b.version == v ? lo
                                                                : DIAG_NONE;
}

/* A transition of @agent within the window before @t? */
static int transitioning_at(const struct diagnosis *d, size_t agent, int64_t t)
{
    const struct diag_timeline *tl = &d->timelines[agent];
    size_t i = timeline_upper(tl, t);

    return i > 0 && tl->items[i - 1].t_ns >= t - d->params.window_ns;
}

static void add_finding(struct diagnosis *d, enum diag_check check,
                        int64_t op_id, size_t agent, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add_finding(struct diagnosis *d, enum diag_check check,
                        int64_t op_id, size_t agent, const char *fmt, ...)
{
    struct diag_finding *f;
    va_list ap;

    d->check_counts[check]++;
    if (d->n_findings >= DIAG_FINDINGS_MAX)
        return;
    f = &d->findings[d->n_findings++];
    f->check = check;
    f->op_id = op_id;
    f->agent = agent;
    va_start(ap, fmt);
    vsnprintf(f->text, sizeof(f->text), fmt, ap);
    va_end(ap);
}

static void count_state(struct diagnosis *d, size_t *cap, const char *state,
                        int conflict)
{
    size_t i;

    if (!state)
        state = "unknown";
    for (i = 0; i < d->n_states; i++)
        if (!strcmp(d->by_state[i].state, state))
            break;
    if (i == d->n_states) {
        if (d->n_states == *cap) {
            *cap = *cap ? 2 * *cap : 8;
            d->by_state =
                xreallocarray(d->by_state, *cap, sizeof(*d->by_state));
        }
        memset(&d->by_state[i], 0, sizeof(d->by_state[i]));
        d->by_state[i].state = state;
        d->n_states++;
    }
    d->by_state[i].writes++;
    d->by_state[i].conflicts += (uint64_t)conflict;
}

static int state_cmp(const void *a, const void *b)
{
    return strcmp(((const struct diag_state_count *)a)->state,
                  ((const struct diag_state_count *)b)->state);
}

static int exposed(const struct diagnosis *d, size_t agent, int64_t t,
                   const char **routing)
{
    *routing = diagnose_state_at(d, agent, 0, t);
    return transitioning_at(d, agent, t) ||
           (*routing && !strcmp(*routing, "INTERACTING"));
}

static void conflicts(struct diagnosis *d, const size_t *first)
{
    const struct runload *run = d->run;
    size_t state_cap = 0;

    d->n_conflicts = run->n_conflicts;
    d->conflicts =
        xcalloc(d->n_conflicts ? d->n_conflicts : 1, sizeof(*d->conflicts));
    for (size_t i = 0; i < run->n_conflicts; i++) {
        const struct runload_conflict *k = &run->conflicts[i];
        struct diag_conflict *c = &d->conflicts[i];
        const struct diag_bump *b;
        const char *routing;
        int ex;

        c->k = k;
        c->bump = DIAG_NONE;
        c->op = runload_find_op(run, k->op_id);
        c->read_wall_ns = c->op ? c->op->first_read_wall_ns : 0;
        if (k->agent == RUNLOAD_NONE) {
            d->conflicts_unexplained++;
            continue;
        }
        c->presence = diagnose_state_at(d, k->agent, 1, k->send_wall_ns);
        ex = exposed(d, k->agent, k->send_wall_ns, &routing);
        c->routing = routing;
        c->transitioning = transitioning_at(d, k->agent, k->send_wall_ns);
        if (!strcmp(k->role, "replay") && k->version_sent >= 0) {
            d->table[ex ? 0 : 2]++;
            count_state(d, &state_cap, routing, 1);
        }
        if (k->version_sent >= 0)
            c->bump = find_bump(d, first, k->agent, k->version_sent + 1);
        if (c->bump == DIAG_NONE) {
            d->conflicts_unexplained++;
            continue;
        }
        b = &d->bumps[c->bump];
        c->stale_read =
            c->read_wall_ns > 0 && b->b.bracket_end_wall_ns < c->read_wall_ns;
        d->conflicts_stale_read += (size_t)c->stale_read;
        if (b->b.origin == RUNLOAD_FOREIGN) {
            d->conflicts_foreign++;
        } else {
            const struct runload_write *w =
                &run->agents[k->agent].writes[b->b.write];
            d->conflicts_own++;
            add_finding(d, DIAG_CHECK_SELF_CONFLICT, k->op_id, k->agent,
                        "operation %lld (%s) sent version %lld, but this job "
                        "had already written version %lld (operation %lld, "
                        "%s)",
                        (long long)k->op_id,
                        c->op ? c->op->strategy : "no operation",
                        (long long)k->version_sent, (long long)b->b.version,
                        (long long)w->op_id, w->correlation_id);
        }
    }
    /* The successful versioned writes complete the 2x2 table. */
    for (size_t a = 0; a < run->n_agents; a++) {
        const struct runload_agent *ag = &run->agents[a];
        for (size_t i = 0; i < ag->n_writes; i++) {
            const struct runload_write *w = &ag->writes[i];
            const char *routing;
            int ex;
            if (w->version_sent < 0 || w->status < 200 || w->status > 299)
                continue;
            ex = exposed(d, a, w->send_wall_ns, &routing);
            d->table[ex ? 1 : 3]++;
            count_state(d, &state_cap, routing, 0);
        }
    }
    if (d->n_states > 1)
        qsort(d->by_state, d->n_states, sizeof(*d->by_state), state_cmp);
    d->fisher_ok = !stats_fisher_exact(d->table[0], d->table[1], d->table[2],
                                       d->table[3], &d->fisher);
}

/* ---- checker and strategies ------------------------------------------ */

static struct diag_strategy *strategy_of(struct diagnosis *d, size_t *cap,
                                         const char *name)
{
    for (size_t i = 0; i < d->n_strategies; i++)
        if (d->strategies[i].name == name)
            return &d->strategies[i];
    if (d->n_strategies == *cap) {
        *cap = *cap ? 2 * *cap : 4;
        d->strategies =
            xreallocarray(d->strategies, *cap, sizeof(*d->strategies));
    }
    memset(&d->strategies[d->n_strategies], 0, sizeof(*d->strategies));
    d->strategies[d->n_strategies].name = name;
    return &d->strategies[d->n_strategies++];
}

static void strategies(struct diagnosis *d)
{
    const struct runload *run = d->run;
    size_t cap = 0;

    for (size_t i = 0; i < run->n_ops; i++) {
        const struct runload_op *op = &run->ops[i];
        struct diag_strategy *s = strategy_of(d, &cap, op->strategy);
        s->operations++;
        if (!strcmp(op->outcome, "ok"))
            s->ok++;
        else if (!strcmp(op->outcome, "conflict"))
            s->conflict++;
        else if (!strcmp(op->outcome, "gave_up"))
            s->gave_up++;
        else if (!strcmp(op->outcome, "error"))
            s->error++;
        else if (!strcmp(op->outcome, "dry_run"))
            s->dry_run++;
        else
            s->unknown++;
        s->requests += (uint64_t)(op->requests > 0 ? op->requests : 0);
        s->wasted +=
            (uint64_t)(op->wasted_requests > 0 ? op->wasted_requests : 0);
        if (op->start_wall_ns > 0 &&
            (s->start_ns == 0 || op->start_wall_ns < s->start_ns))
            s->start_ns = op->start_wall_ns;
        if (op->end_wall_ns > s->end_ns)
            s->end_ns = op->end_wall_ns;
    }
    for (size_t i = 0; i < run->n_conflicts; i++) {
        const struct runload_op *op =
            runload_find_op(run, run->conflicts[i].op_id);
        if (op)
            strategy_of(d, &cap, op->strategy)->conflict_requests++;
    }
}

static int conflict_op_cmp(const void *a, const void *b)
{
    const struct runload_conflict *x =
        *(const struct runload_conflict *const *)a;
    const struct runload_conflict *y =
        *(const struct runload_conflict *const *)b;

    if (x->op_id != y->op_id)
        return x->op_id < y->op_id ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void checker(struct diagnosis *d, const size_t *first)
{
    const struct runload *run = d->run;
    const struct runload_conflict **by_op;
    size_t cap = 0;

    /* A retry that sends a version it already had refused re-read nothing. */
    by_op = xmalloc((run->n_conflicts ? run->n_conflicts : 1) * sizeof(*by_op));
    for (size_t i = 0; i < run->n_conflicts; i++)
        by_op[i] = &run->conflicts[i];
    qsort(by_op, run->n_conflicts, sizeof(*by_op), conflict_op_cmp);
    for (size_t i = 1; i < run->n_conflicts; i++) {
        const struct runload_conflict *p = by_op[i - 1], *k = by_op[i];
        if (k->op_id < 0 || k->op_id != p->op_id ||
            k->version_sent != p->version_sent || k->version_sent < 0)
            continue;
        add_finding(d, DIAG_CHECK_NO_REREAD, k->op_id, k->agent,
                    "operation %lld retried with version %lld after that "
                    "version had been refused, without reading again (%s)",
                    (long long)k->op_id, (long long)k->version_sent,
                    k->correlation_id);
    }
    free(by_op);

    /* Lost updates: an unversioned write that landed over a change made
     * after its operation read the agent. */
    for (size_t a = 0; a < run->n_agents; a++) {
        const struct runload_agent *ag = &run->agents[a];
        for (size_t i = 0; i < ag->n_writes; i++) {
            const struct runload_write *w = &ag->writes[i];
            const struct runload_op *op;
            if (w->version_sent >= 0 || !w->confirmed)
                continue;
            op = runload_find_op(run, w->op_id);
            if (!op || op->first_read_wall_ns <= 0)
                continue;
            for (size_t k = first[a]; k < first[a + 1]; k++) {
                const struct diag_bump *b = &d->bumps[k];
                if (b->b.write == i && b->b.origin != RUNLOAD_FOREIGN)
                    continue;
                if (b->b.bracket_start_wall_ns < op->first_read_wall_ns ||
                    b->b.bracket_end_wall_ns > w->send_wall_ns)
                    continue;
                add_finding(d, DIAG_CHECK_LOST_UPDATE, op->op_id, a,
                            "operation %lld (%s) wrote without a version "
                            "over version %lld, made (%s) after its read: "
                            "that change was lost (%s)",
                            (long long)op->op_id, op->strategy,
                            (long long)b->b.version,
                            b->b.origin == RUNLOAD_FOREIGN ? "by another "
                                                             "writer"
                                                           : "by this job",
                            w->correlation_id);
                strategy_of(d, &cap, op->strategy)->lost_updates++;
                break;
            }
        }
    }
}

/* ---- verdict ---------------------------------------------------------- */

static void fmt_p(char *out, size_t cap, double p)
{
    if (isnan(p))
        snprintf(out, cap, "n/a");
    else if (p < 0.001)
        snprintf(out, cap, "< 0.001");
    else
        snprintf(out, cap, "%.3f", p);
}

/* Foreign bumps whose timing points to @cause. */
static size_t cause_bumps(const struct diagnosis *d, enum diag_cause cause)
{
    size_t n = 0;

    for (size_t i = 0; i < d->n_bumps; i++)
        n += d->bumps[i].b.origin == RUNLOAD_FOREIGN &&
             bump_cause(d, &d->bumps[i]) == cause;
    return n;
}

/* The writer the audit names for @cause's bumps: the one that wrote the
 * most of them, when that is at least AUDIT_NAME_SHARE of them; else
 * DIAG_NONE.  Writers are sorted, so ties go to the first. */
static size_t cause_writer(const struct diagnosis *d, enum diag_cause cause)
{
    size_t best = DIAG_NONE, n;

    if (cause == DIAG_CAUSE_OWN_WRITES || !d->n_writers)
        return DIAG_NONE;
    for (size_t w = 0; w < d->n_writers; w++)
        if (d->writers[w].by_cause[cause] > 0 &&
            (best == DIAG_NONE ||
             d->writers[w].by_cause[cause] > d->writers[best].by_cause[cause]))
            best = w;
    n = cause_bumps(d, cause);
    if (best == DIAG_NONE ||
        (double)d->writers[best].by_cause[cause] < AUDIT_NAME_SHARE * (double)n)
        return DIAG_NONE;
    return best;
}

static void add_secondary(const struct diagnosis *d, struct diag_verdict *v,
                          enum diag_cause cause, const char *signal, double p,
                          double coverage)
{
    struct diag_secondary *x;

    if (v->n_secondary >= sizeof(v->secondary) / sizeof(v->secondary[0]))
        return;
    x = &v->secondary[v->n_secondary++];
    x->cause = cause;
    x->signal = signal;
    x->p_value = p;
    x->coverage = coverage;
    x->writer = cause_writer(d, cause);
}

/* Foreign bumps attributed to signal @s. */
static size_t signal_bumps(const struct diagnosis *d, size_t s)
{
    size_t n = 0;

    for (size_t i = 0; i < d->n_bumps; i++)
        n +=
            d->bumps[i].attr == DIAG_ATTR_TRANSITION && d->bumps[i].signal == s;
    return n;
}

struct candidate {
    enum diag_cause cause;
    const char *signal;
    size_t signal_index;
    double p, share;
};

static const char *cause_words(enum diag_cause c)
{
    switch (c) {
    case DIAG_CAUSE_ROUTING:
        return "changes of the agent's routing status";
    case DIAG_CAUSE_PRESENCE:
        return "changes of the agent's presence";
    case DIAG_CAUSE_BATCH:
        return "a batch job that updates many agents at once";
    case DIAG_CAUSE_PERIODIC:
        return "a job that updates each agent on a fixed period";
    case DIAG_CAUSE_OTHER_WRITER:
        return "another writer, not tied to any state change";
    case DIAG_CAUSE_OWN_WRITES:
        return "this job's own writes";
    default:
        return "nothing identified";
    }
}

/* Operations of a dry run (racetrace run --dry-run): they sent no
 * write. */
static uint64_t dry_run_ops(const struct diagnosis *d)
{
    uint64_t n = 0;

    for (size_t i = 0; i < d->n_strategies; i++)
        n += d->strategies[i].dry_run;
    return n;
}

/* The part of the paragraph about conflicts and the 2x2 table. */
static void conflict_words(const struct diagnosis *d, struct buf *b)
{
    char p[32];

    if (!d->n_conflicts && (d->run->dry_run || dry_run_ops(d))) {
        buf_printf(b, " This was a dry run: the job sent no write, so it "
                      "could not conflict.");
        return;
    }
    if (!d->n_conflicts) {
        buf_printf(b, " The job had no version conflict in this run.");
        return;
    }
    buf_printf(b,
               " Of the job's %zu version conflicts, %zu were caused by "
               "another writer's bump between its read and its write, %zu "
               "by its own earlier write, and %zu could not be tied to a "
               "seen bump.",
               d->n_conflicts, d->conflicts_foreign, d->conflicts_own,
               d->conflicts_unexplained);
    if (d->conflicts_stale_read)
        buf_printf(b,
                   " In %zu of them the bump was already visible before the "
                   "job's read: the read returned stale data.",
                   d->conflicts_stale_read);
    if (d->fisher_ok && d->table[0] + d->table[2] > 0) {
        fmt_p(p, sizeof(p), d->fisher.p_two_sided);
        buf_printf(b,
                   " Writes made while the agent was interacting or changing "
                   "state conflicted in %llu of %llu cases, other writes in "
                   "%llu of %llu (odds ratio %.2g, 95%% CI %.2g to %.2g, "
                   "Fisher exact p %s).",
                   (unsigned long long)d->table[0],
                   (unsigned long long)(d->table[0] + d->table[1]),
                   (unsigned long long)d->table[2],
                   (unsigned long long)(d->table[2] + d->table[3]),
                   d->fisher.odds_ratio, d->fisher.ci95_lo, d->fisher.ci95_hi,
                   p);
    }
}

/* Operations of @s whose writes were sent (not a dry run's). */
static uint64_t sent_ops(const struct diag_strategy *s)
{
    return s->operations - s->dry_run;
}

/* Advice: the strategy with the fewest failed operations among those
 * that sent their writes (a dry run's neither succeed nor fail). */
static void advice_words(const struct diagnosis *d, struct buf *b)
{
    const struct diag_strategy *best = NULL, *worst = NULL;

    for (size_t i = 0; i < d->n_strategies; i++) {
        const struct diag_strategy *s = &d->strategies[i];
        uint64_t fail = sent_ops(s) - s->ok;
        if (!sent_ops(s))
            continue;
        if (!best || fail < sent_ops(best) - best->ok)
            best = s;
        if (!worst || fail > sent_ops(worst) - worst->ok)
            worst = s;
    }
    if (best && worst && best != worst &&
        sent_ops(worst) - worst->ok > sent_ops(best) - best->ok)
        buf_printf(b,
                   " Strategy %s completed %llu of %llu updates, %s %llu of "
                   "%llu: read the version right before each write and "
                   "retry on conflict.",
                   best->name, (unsigned long long)best->ok,
                   (unsigned long long)sent_ops(best), worst->name,
                   (unsigned long long)worst->ok,
                   (unsigned long long)sent_ops(worst));
}

static double run_minutes(const struct diagnosis *d)
{
    return (double)(d->t1_ns - d->t0_ns) / (60.0 * (double)NS_PER_S);
}

static void more_data(struct diagnosis *d)
{
    struct diag_verdict *v = &d->verdict;
    const struct diag_signal *best = NULL;
    double minutes = run_minutes(d), need_min = NAN;
    uint64_t need = 0;

    /* The most promising signal: the highest lift with transitions. */
    for (size_t i = 0; i < d->n_signals; i++) {
        const struct diag_signal *s = &d->signals[i];
        if (s->assoc.n_transitions == 0 || !s->to)
            continue;
        if (!best || s->assoc.hit_rate_lift > best->assoc.hit_rate_lift)
            best = s;
    }
    if (best && best->assoc.hit_rate > best->assoc.null_hit_rate &&
        minutes > 0 &&
        !stats_events_needed(best->assoc.null_hit_rate, best->assoc.hit_rate,
                             d->params.alpha / (double)d->n_signals, 0.8,
                             &need)) {
        double per_min = (double)best->assoc.n_transitions / minutes;
        need_min = per_min > 0 ? (double)need / per_min : NAN;
        v->events_needed = need;
    }
    if (d->n_foreign < MIN_FOREIGN && d->n_foreign > 0 && minutes > 0) {
        double per_min = (double)d->n_foreign / minutes;
        double m = (double)MIN_FOREIGN / per_min;
        if (isnan(need_min) || m > need_min)
            need_min = m;
    }
    v->minutes_needed = need_min;
    if (!isnan(need_min)) {
        snprintf(v->more_data, sizeof(v->more_data),
                 "At this run's rates, a run of about %.0f minutes%s would "
                 "settle it%s%s.",
                 ceil(need_min * 1.2),
                 need ? " (to see enough transitions)" : "",
                 best && need ? " for " : "", best && need ? best->name : "");
    } else if (d->n_foreign == 0 && d->n_conflicts > 0) {
        snprintf(v->more_data, sizeof(v->more_data),
                 "The conflicts happened but no bump was observed: poll "
                 "versions more often (observe.versions.interval) so the "
                 "bumps between read and write are seen.");
    } else {
        snprintf(v->more_data, sizeof(v->more_data),
                 "Run longer, with more agents, so that more transitions and "
                 "bumps are seen.");
    }
}

/* "not permitted (the OAuth client lacks X)", "failed (msg)", ... for
 * an evidence query that did not return everything; NULL when it did or
 * the run does not say. */
static const char *query_trouble(const struct runload_query *q, char *out,
                                 size_t cap)
{
    const char *st = q->status;

    if (!st || !strcmp(st, "ok"))
        return NULL;
    if (!strcmp(st, "forbidden"))
        snprintf(out, cap, "not permitted%s%.100s%s",
                 q->permission ? ": the OAuth client lacks " : "",
                 q->permission ? q->permission : "",
                 q->permission ? "" : " for this OAuth client");
    else if (!strcmp(st, "failed"))
        snprintf(out, cap, "the query failed%s%.160s%s", q->message ? " (" : "",
                 q->message ? q->message : "", q->message ? ")" : "");
    else if (!strcmp(st, "interrupted"))
        snprintf(out, cap, "the query was interrupted%s%.160s%s",
                 q->message ? " (" : "", q->message ? q->message : "",
                 q->message ? ")" : "");
    else if (!strcmp(st, "skipped"))
        snprintf(out, cap, "the query was skipped%s%.160s%s",
                 q->message ? " (" : "", q->message ? q->message : "",
                 q->message ? ")" : "");
    else
        snprintf(out, cap, "status %.40s", st);
    return out;
}

/* What the audit trail added, or why it could not (any verdict with
 * foreign bumps). */
static void audit_words(const struct diagnosis *d, struct buf *b)
{
    const struct diag_verdict *v = &d->verdict;
    char why[320];
    const char *trouble = query_trouble(&d->run->audit_query, why, sizeof(why));

    if (!d->n_foreign)
        return;
    if (d->audit_attributed && v->writer != DIAG_NONE) {
        /* The verdict named its writer; say who else the audit names. */
        for (size_t w = 0, k = 0; w < d->n_writers && k < 3; w++) {
            if (w == v->writer)
                continue;
            buf_printf(b, "%s %s (%zu)",
                       k++ == 0 ? " The audit trail also names" : ";",
                       d->writers[w].label, d->writers[w].bumps);
        }
        if (d->n_writers > 1)
            buf_printf(b, ".");
        if (d->audit_attributed < d->n_foreign)
            buf_printf(b,
                       " Audit records name the writer of %zu of the %zu "
                       "foreign bumps.",
                       d->audit_attributed, d->n_foreign);
        if (d->audit_ambiguous)
            buf_printf(b,
                       " %zu attributions are ambiguous: records of several "
                       "writers fit the same bump, the nearest was taken.",
                       d->audit_ambiguous);
    } else if (d->audit_attributed) {
        buf_printf(b,
                   " Audit records name the writer of %zu of the %zu foreign "
                   "bumps",
                   d->audit_attributed, d->n_foreign);
        if (d->audit_ambiguous)
            buf_printf(b,
                       " (%zu of them ambiguous: records of several writers "
                       "fit the same bump, the nearest was taken)",
                       d->audit_ambiguous);
        buf_printf(b, ".");
        /* Name the writers when the verdict did not already. */
        if (v->writer == DIAG_NONE) {
            for (size_t w = 0; w < d->n_writers && w < 3; w++)
                buf_printf(b, "%s %s (%zu)", w == 0 ? " The most:" : ";",
                           d->writers[w].label, d->writers[w].bumps);
            buf_printf(b, ".");
        }
    }
    /* An other-writer verdict without a writer already said why. */
    if (trouble &&
        !(v->cause == DIAG_CAUSE_OTHER_WRITER && v->writer == DIAG_NONE))
        buf_printf(b,
                   " The audit trail could not be read in full (%s), so "
                   "%s foreign bumps could not be tied to a writer.",
                   trouble, d->audit_attributed ? "some" : "the");
    else if (!trouble && !d->audit_attributed &&
             (d->run->has_audit || d->run->audit_query.status))
        buf_printf(b, " No audit record of another writer fits any foreign "
                      "bump.");
}

/* For a transition, batch or periodic verdict: who wrote those bumps,
 * when the audit says. */
static void pattern_writer_words(struct diagnosis *d, struct buf *b)
{
    struct diag_verdict *v = &d->verdict;
    size_t w = cause_writer(d, v->cause);

    if (w == DIAG_NONE)
        return;
    v->writer = w;
    v->writer_bumps = d->writers[w].by_cause[v->cause];
    v->writer_of = cause_bumps(d, v->cause);
    buf_printf(b,
               " The org's audit trail names who wrote them: %s wrote %zu of "
               "these %zu bumps.",
               d->writers[w].label, v->writer_bumps, v->writer_of);
    if (d->writers[w].by_cause[DIAG_CAUSE_OTHER_WRITER])
        buf_printf(b,
                   " %zu more of its bumps follow no state change the run "
                   "could place them after.",
                   d->writers[w].by_cause[DIAG_CAUSE_OTHER_WRITER]);
}

/* Headline and paragraph of an "other-writer" verdict. */
static void other_writer_words(struct diagnosis *d, struct buf *b)
{
    struct diag_verdict *v = &d->verdict;
    size_t w = cause_writer(d, DIAG_CAUSE_OTHER_WRITER);
    size_t unexplained = d->attr_counts[DIAG_ATTR_UNEXPLAINED];
    char why[320];
    const char *trouble;

    buf_printf(b,
               "In this run of %.1f minutes over %zu agents, something other "
               "than this job changed the agents' versions %zu times. %zu of "
               "them (%.0f%%) are tied to none of the agents' presence or "
               "routing changes, to no burst across agents and to no "
               "per-agent period.",
               run_minutes(d), d->run->n_agents, d->n_foreign, unexplained,
               100 * v->coverage);
    if (w != DIAG_NONE) {
        const struct diag_writer *x = &d->writers[w];
        v->writer = w;
        v->writer_bumps = x->bumps;
        v->writer_of = d->n_foreign;
        snprintf(v->headline, sizeof(v->headline),
                 "Another writer changes these agents: %s wrote %zu of %zu "
                 "foreign bumps (audit trail).",
                 x->label, x->bumps, d->n_foreign);
        buf_printf(b,
                   " The org's audit trail names the writer: %s wrote %zu of "
                   "the %zu foreign bumps (%.0f%%), %zu of those tied to no "
                   "state change.",
                   x->label, x->bumps, d->n_foreign,
                   100 * (double)x->bumps / (double)d->n_foreign,
                   x->by_cause[DIAG_CAUSE_OTHER_WRITER]);
        switch (x->kind) {
        case DIAG_WRITER_CLIENT:
            buf_printf(b,
                       " That is another OAuth client than this job's%s%s%s:"
                       " an integration that updates these users at its "
                       "own pace.",
                       d->own_client[0] ? " ('" : "", d->own_client,
                       d->own_client[0] ? "')" : "");
            break;
        case DIAG_WRITER_USER:
            buf_printf(b, " That is a person (an administrator or a "
                          "supervisor) editing these users.");
            break;
        case DIAG_WRITER_PROCESS:
            buf_printf(b, " That is an application or internal process of "
                          "the org, not this job.");
            break;
        default:
            buf_printf(b, " The records do not say which client or person "
                          "it was.");
        }
        return;
    }
    snprintf(v->headline, sizeof(v->headline),
             "Another writer changes these agents: %.0f%% of foreign bumps "
             "follow no state change, burst or period.",
             100 * v->coverage);
    trouble = query_trouble(&d->run->audit_query, why, sizeof(why));
    if (trouble)
        buf_printf(b,
                   " Another writer, such as an integration or an "
                   "administrator, updates these users at its own pace; the "
                   "audit trail would name it, but this run could not read it "
                   "(%s).",
                   trouble);
    else if (d->audit_attributed)
        buf_printf(b, " Another writer, such as an integration or an "
                      "administrator, updates these users at its own pace; "
                      "the audit trail names several.");
    else
        buf_printf(b, " Another writer, such as an integration or an "
                      "administrator, updates these users at its own pace; "
                      "the audit trail of the org names it.");
}

static void verdict_body(struct diagnosis *d, struct buf *b)
{
    struct diag_verdict *v = &d->verdict;
    struct candidate c[8];
    size_t nc = 0, best = 0, by_sig[2] = {0, 0},
           top[2] = {DIAG_NONE, DIAG_NONE};
    size_t ow;
    int audit_ow, yield = 0;
    double F = (double)d->n_foreign;
    char p[32];

    memset(v, 0, sizeof(*v));
    v->p_value = v->hit_rate = v->coverage = NAN;
    v->median_lag_ms = v->lag_iqr_ms = v->minutes_needed = NAN;
    v->signal_index = DIAG_NONE;
    v->writer = DIAG_NONE;

    /* Transition signals: the share each property explains, and its
     * best signal (specific before "any"). */
    for (size_t i = 0; i < d->n_bumps; i++)
        if (d->bumps[i].attr == DIAG_ATTR_TRANSITION)
            by_sig[d->signals[d->bumps[i].signal].is_presence]++;
    for (int pres = 0; pres < 2; pres++) {
        for (int pass = 0; pass < 2 && top[pres] == DIAG_NONE; pass++)
            for (size_t s = 0; s < d->n_signals; s++) {
                const struct diag_signal *sig = &d->signals[s];
                if (sig->significant && !sig->demoted &&
                    sig->is_presence == pres && (pass == 0) == !!sig->to) {
                    top[pres] = s;
                    break;
                }
            }
        if (top[pres] != DIAG_NONE && by_sig[pres] > 0) {
            const struct diag_signal *sig = &d->signals[top[pres]];
            c[nc++] = (struct candidate){
                pres ? DIAG_CAUSE_PRESENCE : DIAG_CAUSE_ROUTING, sig->name,
                top[pres], sig->p_value, (double)by_sig[pres] / F};
        }
    }
    if (d->attr_counts[DIAG_ATTR_BATCH])
        c[nc++] =
            (struct candidate){DIAG_CAUSE_BATCH, "burst", DIAG_NONE, d->batch_p,
                               (double)d->attr_counts[DIAG_ATTR_BATCH] / F};
    if (d->attr_counts[DIAG_ATTR_PERIODIC])
        c[nc++] = (struct candidate){
            DIAG_CAUSE_PERIODIC, "period", DIAG_NONE, d->periodic_p,
            (double)d->attr_counts[DIAG_ATTR_PERIODIC] / F};
    /* Another writer: enough bumps no timing explains, or an audit
     * writer of a meaningful share of them (direct evidence, so no
     * permutation test; never the job's own client, whose records are
     * not candidates). */
    ow = cause_writer(d, DIAG_CAUSE_OTHER_WRITER);
    audit_ow =
        ow != DIAG_NONE &&
        d->writers[ow].by_cause[DIAG_CAUSE_OTHER_WRITER] >= AUDIT_MIN_BUMPS &&
        (double)d->writers[ow].by_cause[DIAG_CAUSE_OTHER_WRITER] >=
            AUDIT_MIN_SHARE * F;
    /* ... unless the audit names that writer for a significant transition
     * cause too: its writes are shown to follow those transitions, so the
     * rest of them are the same writes whose transition the run did not
     * resolve (a bracket wider than the window, a missed transition).
     * The transition says why, the writer says who; both are reported. */
    for (size_t i = 0; i < nc && ow != DIAG_NONE; i++)
        yield |= (c[i].cause == DIAG_CAUSE_ROUTING ||
                  c[i].cause == DIAG_CAUSE_PRESENCE) &&
                 cause_writer(d, c[i].cause) == ow;
    if (!yield &&
        (d->attr_counts[DIAG_ATTR_UNEXPLAINED] >= MIN_FOREIGN || audit_ow))
        c[nc++] = (struct candidate){
            DIAG_CAUSE_OTHER_WRITER, audit_ow ? "audit" : "unexplained",
            DIAG_NONE, NAN, (double)d->attr_counts[DIAG_ATTR_UNEXPLAINED] / F};
    for (size_t i = 1; i < nc; i++)
        if (c[i].share > c[best].share)
            best = i;

    if (d->n_conflicts > 0 && d->conflicts_own > d->conflicts_foreign &&
        2 * d->conflicts_own >= d->n_conflicts) {
        v->cause = DIAG_CAUSE_OWN_WRITES;
        snprintf(v->signal, sizeof(v->signal), "own-writes");
        v->coverage = (double)d->conflicts_own / (double)d->n_conflicts;
        for (size_t i = 0; i < nc; i++)
            add_secondary(d, v, c[i].cause, c[i].signal, c[i].p, c[i].share);
        snprintf(v->headline, sizeof(v->headline),
                 "The job conflicts with itself: %zu of its %zu version "
                 "conflicts were caused by its own earlier writes.",
                 d->conflicts_own, d->n_conflicts);
        buf_printf(b,
                   "In this run of %.1f minutes over %zu agents, %zu of the "
                   "job's %zu version conflicts came from the job's own "
                   "writes: it updated an agent and then wrote the same agent "
                   "again with the version it had read before its first "
                   "update. No other process is needed to explain them. Read "
                   "the version again before every write, or apply all the "
                   "changes to one agent in one request.",
                   run_minutes(d), d->run->n_agents, d->conflicts_own,
                   d->n_conflicts);
        if (d->n_foreign)
            buf_printf(b,
                       " Other writers also bumped %zu versions during the "
                       "run.",
                       d->n_foreign);
        audit_words(d, b);
        advice_words(d, b);
        return;
    }
    if (d->n_foreign == 0) {
        v->cause = d->conflicts_unexplained ? DIAG_CAUSE_INCONCLUSIVE
                                            : DIAG_CAUSE_NONE;
        if (v->cause == DIAG_CAUSE_INCONCLUSIVE) {
            more_data(d);
            snprintf(v->headline, sizeof(v->headline),
                     "Inconclusive: %zu conflicts, but no foreign version "
                     "change was observed.",
                     d->n_conflicts);
            buf_printf(b,
                       "The job had %zu version conflicts, but the observers "
                       "saw no version change by anyone else, so their cause "
                       "cannot be named. %s",
                       d->n_conflicts, v->more_data);
            return;
        }
        snprintf(v->headline, sizeof(v->headline), "%s",
                 d->n_bumps ? "Nothing but this job changed the agents' "
                              "versions."
                            : "Nothing changed the agents' versions.");
        if (d->n_bumps)
            buf_printf(b,
                       "In this run of %.1f minutes over %zu agents, every "
                       "version change the observers saw (%zu) was made by "
                       "this job, and ",
                       run_minutes(d), d->run->n_agents, d->n_bumps);
        else
            buf_printf(b,
                       "In this run of %.1f minutes over %zu agents, the "
                       "observers saw no version change at all, and ",
                       run_minutes(d), d->run->n_agents);
        buf_printf(b,
                   "%zu presence and %zu routing-status changes bumped no "
                   "version. Nothing else writes to these agents, so there "
                   "is nothing to blame for a conflict here.",
                   d->n_presence, d->n_routing);
        conflict_words(d, b);
        return;
    }
    if (nc == 0) {
        v->cause = DIAG_CAUSE_INCONCLUSIVE;
        more_data(d);
        snprintf(v->headline, sizeof(v->headline),
                 "Inconclusive: %zu foreign version changes, too few to tie "
                 "to a cause.",
                 d->n_foreign);
        buf_printf(b,
                   "In this run of %.1f minutes over %zu agents, something "
                   "other than this job changed the agents' versions %zu "
                   "times, but no state change, burst or period explains "
                   "them with statistical significance (level %.2g after "
                   "Holm's correction), and there are too few to say that an "
                   "unrelated writer is at work. %s",
                   run_minutes(d), d->run->n_agents, d->n_foreign,
                   d->params.alpha, v->more_data);
        audit_words(d, b);
        conflict_words(d, b);
        return;
    }

    v->cause = c[best].cause;
    v->coverage = c[best].share;
    v->p_value = c[best].p;
    snprintf(v->signal, sizeof(v->signal), "%s", c[best].signal);
    if (c[best].signal_index != DIAG_NONE)
        v->coverage = (double)signal_bumps(d, c[best].signal_index) / F;
    for (size_t i = 0; i < nc; i++)
        if (i != best)
            add_secondary(d, v, c[i].cause, c[i].signal, c[i].p, c[i].share);
    /* Other transitions that explain bumps on their own (e.g. Break and
     * On Queue for a presence sync). */
    for (size_t s = 0; s < d->n_signals; s++) {
        size_t n = signal_bumps(d, s);
        /* A handful of bumps near some other transition is noise. */
        if (s == c[best].signal_index || n < MIN_COVERED ||
            (double)n < MIN_SECONDARY_SHARE * F || s == top[0] || s == top[1])
            continue;
        add_secondary(d, v,
                      d->signals[s].is_presence ? DIAG_CAUSE_PRESENCE
                                                : DIAG_CAUSE_ROUTING,
                      d->signals[s].name, d->signals[s].p_value, (double)n / F);
    }
    if (d->conflicts_own)
        add_secondary(d, v, DIAG_CAUSE_OWN_WRITES, "own-writes", NAN,
                      (double)d->conflicts_own / (double)d->n_conflicts);
    fmt_p(p, sizeof(p), v->p_value);
    if (c[best].signal_index != DIAG_NONE) {
        const struct diag_signal *s = &d->signals[c[best].signal_index];
        v->signal_index = c[best].signal_index;
        v->hit_rate = s->assoc.hit_rate;
        v->median_lag_ms = s->lag.median / (double)NS_PER_MS;
        v->lag_iqr_ms = s->lag.iqr / (double)NS_PER_MS;
        snprintf(v->headline, sizeof(v->headline),
                 "%s %s bumps the agent's version: %.0f%% of foreign bumps "
                 "follow one within %.1f s (p %s).",
                 s->is_presence ? "A presence change to"
                                : "A routing-status "
                                  "change to",
                 s->to ? s->to : "any value", 100 * v->coverage,
                 (double)d->params.window_ns / (double)NS_PER_S, p);
        buf_printf(b,
                   "In this run of %.1f minutes over %zu agents, something "
                   "other than this job changed the agents' versions %zu "
                   "times. %zu of them (%.0f%%) came shortly after the "
                   "agent's %s changed to %s (median lag %.0f ms, "
                   "interquartile range %.0f ms), and %.0f%% of those %zu "
                   "transitions were followed by a version change, against "
                   "%.0f%% expected by chance (circular time-shift "
                   "permutation test, p %s, Holm-adjusted over %zu signals: "
                   "%.3g).",
                   run_minutes(d), d->run->n_agents, d->n_foreign,
                   by_sig[s->is_presence], 100 * v->coverage,
                   s->is_presence ? "presence" : "routing status",
                   s->to ? s->to : "any value", v->median_lag_ms, v->lag_iqr_ms,
                   100 * s->assoc.hit_rate, s->assoc.n_transitions,
                   100 * s->assoc.null_hit_rate, p, d->n_signals,
                   s->p_adjusted);
        if (v->lag_iqr_ms < 0.5 * fmax(v->median_lag_ms, 1.0) ||
            v->median_lag_ms < 1000)
            buf_printf(b, " A short, steady lag points to an automated process "
                          "that writes to the user when this transition "
                          "happens (a routing or presence service, or an "
                          "integration listening to the same events), not to "
                          "a person.");
        for (size_t k = 0; k < s->n_confounded; k++)
            buf_printf(b,
                       " Its transitions come together with %s; %s was "
                       "preferred because its own transitions predict the "
                       "bumps better.",
                       d->signals[s->confounded[k]].name, s->name);
    } else if (v->cause == DIAG_CAUSE_BATCH) {
        size_t biggest = 0;
        for (size_t k = 1; k < d->n_bursts; k++)
            if (d->bursts[k].agents > d->bursts[biggest].agents)
                biggest = k;
        snprintf(v->headline, sizeof(v->headline),
                 "A batch job bumps many agents at once: %.0f%% of foreign "
                 "bumps fall in %zu burst%s (p %s).",
                 100 * v->coverage, d->n_bursts, d->n_bursts == 1 ? "" : "s",
                 p);
        buf_printf(b,
                   "In this run of %.1f minutes over %zu agents, something "
                   "other than this job changed the agents' versions %zu "
                   "times. %zu of them (%.0f%%) fall in %zu burst%s in "
                   "which many agents were changed within seconds of each "
                   "other (the largest: %zu agents in %.0f s), which chance "
                   "does not explain (circular time-shift test, p %s). "
                   "That is the mark of a batch job: a WFM schedule publish, "
                   "a bulk import or a nightly sync. Schedule this job away "
                   "from it, or re-read before each write.",
                   run_minutes(d), d->run->n_agents, d->n_foreign,
                   d->attr_counts[DIAG_ATTR_BATCH], 100 * v->coverage,
                   d->n_bursts, d->n_bursts == 1 ? "" : "s",
                   d->n_bursts ? d->bursts[biggest].agents : 0,
                   d->n_bursts ? (double)(d->bursts[biggest].t1_ns -
                                          d->bursts[biggest].t0_ns) /
                                     (double)NS_PER_S
                               : 0.0,
                   p);
    } else if (v->cause == DIAG_CAUSE_PERIODIC) {
        snprintf(v->headline, sizeof(v->headline),
                 "A periodic job bumps each agent every %.0f s: %.0f%% of "
                 "foreign bumps are on a fixed per-agent period (p %s).",
                 d->periodic_period_s, 100 * v->coverage, p);
        buf_printf(b,
                   "In this run of %.1f minutes over %zu agents, something "
                   "other than this job changed the agents' versions %zu "
                   "times. %zu of them (%.0f%%), on %zu agents, recur at a "
                   "fixed interval per agent (median period %.1f s), which "
                   "random writes do not do (p %s). That is the mark of a "
                   "synchronisation job, such as an identity-provider (SCIM) "
                   "sync, that rewrites each user on a timer.",
                   run_minutes(d), d->run->n_agents, d->n_foreign,
                   d->attr_counts[DIAG_ATTR_PERIODIC], 100 * v->coverage,
                   d->periodic_agents, d->periodic_period_s, p);
    } else {
        other_writer_words(d, b);
    }
    if (v->cause != DIAG_CAUSE_OTHER_WRITER)
        pattern_writer_words(d, b);
    for (size_t i = 0; i < v->n_secondary; i++) {
        const struct diag_secondary *x = &v->secondary[i];
        int named =
            x->cause == DIAG_CAUSE_ROUTING || x->cause == DIAG_CAUSE_PRESENCE;
        buf_printf(b, "%s %s%s%s (%.0f%% of foreign bumps%s%s)",
                   i == 0 ? " Also seen:" : ";", cause_words(x->cause),
                   named ? ", " : "", named ? x->signal : "", 100 * x->coverage,
                   x->writer != DIAG_NONE ? "; audit: written by " : "",
                   x->writer != DIAG_NONE ? d->writers[x->writer].label : "");
    }
    if (v->n_secondary)
        buf_printf(b, ".");
    audit_words(d, b);
    conflict_words(d, b);
    advice_words(d, b);
}

static void verdict(struct diagnosis *d)
{
    struct buf text;

    buf_init(&text, sizeof(d->verdict.text) - 1);
    verdict_body(d, &text);
    snprintf(d->verdict.text, sizeof(d->verdict.text), "%s", buf_str(&text));
    buf_release(&text);
}

/* ---- truth score ------------------------------------------------------ */

/* The attribution a truth cause should get, from the actor's kind in the
 * run's scenario; DIAG_ATTR_COUNT when unknown. */
static enum diag_attr truth_attr(const struct runload *run, const char *cause,
                                 int *is_presence)
{
    const cJSON *actors = NULL, *a;
    const char *kind = NULL;

    *is_presence = -1;
    if (!strncmp(cause, "client:", 7))
        return DIAG_ATTR_OWN;
    if (run->scenario) {
        const cJSON *world =
            cJSON_GetObjectItemCaseSensitive(run->scenario, "world");
        actors =
            world ? cJSON_GetObjectItemCaseSensitive(world, "actors") : NULL;
    }
    cJSON_ArrayForEach(a, actors)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(a, "name");
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(a, "kind");
        if (cJSON_IsString(n) && cJSON_IsString(k) &&
            !strcmp(n->valuestring, cause))
            kind = k->valuestring;
    }
    if (!kind)
        kind = cause;
    if (!strcmp(kind, "routing-engine")) {
        *is_presence = 0;
        return DIAG_ATTR_TRANSITION;
    }
    if (!strcmp(kind, "presence-sync")) {
        *is_presence = 1;
        return DIAG_ATTR_TRANSITION;
    }
    if (!strcmp(kind, "wfm-publish"))
        return DIAG_ATTR_BATCH;
    if (!strcmp(kind, "idp-sync"))
        return DIAG_ATTR_PERIODIC;
    if (!strcmp(kind, "station") || !strcmp(kind, "admin") ||
        !strcmp(kind, "integration"))
        return DIAG_ATTR_UNEXPLAINED;
    return DIAG_ATTR_COUNT;
}

static enum diag_cause attr_cause(enum diag_attr a, int is_presence)
{
    switch (a) {
    case DIAG_ATTR_TRANSITION:
        return is_presence ? DIAG_CAUSE_PRESENCE : DIAG_CAUSE_ROUTING;
    case DIAG_ATTR_BATCH:
        return DIAG_CAUSE_BATCH;
    case DIAG_ATTR_PERIODIC:
        return DIAG_CAUSE_PERIODIC;
    case DIAG_ATTR_UNEXPLAINED:
        return DIAG_CAUSE_OTHER_WRITER;
    default:
        return DIAG_CAUSE_OWN_WRITES;
    }
}

/* The client id of the scenario's actor named @cause, or NULL. */
static const char *actor_client(const struct runload *run, const char *cause)
{
    const cJSON *world, *actors, *a;

    if (!run->scenario)
        return NULL;
    world = cJSON_GetObjectItemCaseSensitive(run->scenario, "world");
    actors = world ? cJSON_GetObjectItemCaseSensitive(world, "actors") : NULL;
    cJSON_ArrayForEach(a, actors)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(a, "name");
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(a, "kind");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "client_id");
        const char *name = cJSON_IsString(n)   ? n->valuestring
                           : cJSON_IsString(k) ? k->valuestring
                                               : NULL;
        if (name && !strcmp(name, cause))
            return cJSON_IsString(c) ? c->valuestring : NULL;
    }
    return NULL;
}

/* Does the audit record @r name the truth's writer @cause (an actor's
 * name, or "client:<id>")? */
static int audit_names(const struct runload *run, const struct runload_audit *r,
                       const char *cause)
{
    const char *client = actor_client(run, cause);

    if (!strncmp(cause, "client:", 7))
        return !strcmp(r->client_id, cause + 7);
    if (client && *client && !strcmp(r->client_id, client))
        return 1;
    return !strcmp(r->application, cause) || !strcmp(r->user_name, cause) ||
           !strcmp(r->user_id, cause) || !strcmp(r->client_id, cause);
}

static void score(struct diagnosis *d, const struct runload_truth *truth)
{
    struct diag_truth_score *s = &d->truth;
    uint64_t per_cause[DIAG_CAUSE_COUNT] = {0};
    uint64_t own_conflicts = 0;

    if (!truth)
        return;
    s->present = 1;
    for (size_t i = 0; i < d->n_bumps; i++) {
        const struct diag_bump *b = &d->bumps[i];
        const struct runload_truth_bump *t =
            runload_truth_find(truth, b->b.agent, b->b.version);
        int pres;
        enum diag_attr want;
        if (!t)
            continue;
        want = truth_attr(d->run, t->cause, &pres);
        if (b->audit) {
            s->audit_attributed++;
            s->audit_correct +=
                (uint64_t)audit_names(d->run, b->audit, t->cause);
        }
        s->own_total++;
        s->own_agree += (want == DIAG_ATTR_OWN) == (b->attr == DIAG_ATTR_OWN);
        if (want == DIAG_ATTR_OWN)
            continue;
        s->foreign_truth++;
        if (want != DIAG_ATTR_COUNT)
            per_cause[attr_cause(want, pres)]++;
        if (b->attr == DIAG_ATTR_OWN)
            continue;
        if (b->attr != DIAG_ATTR_UNEXPLAINED || want == DIAG_ATTR_UNEXPLAINED)
            s->predicted++;
        if (b->attr == want && (want != DIAG_ATTR_TRANSITION ||
                                d->signals[b->signal].is_presence == pres))
            s->correct++;
    }
    for (size_t i = 0; i < d->n_conflicts; i++) {
        const struct diag_conflict *c = &d->conflicts[i];
        const struct runload_truth_bump *t =
            c->k->agent != RUNLOAD_NONE && c->k->version_sent >= 0
                ? runload_truth_find(truth, c->k->agent, c->k->version_sent + 1)
                : NULL;
        own_conflicts += t && !strncmp(t->cause, "client:", 7);
    }
    s->true_cause = DIAG_CAUSE_NONE;
    if (d->n_conflicts && 2 * own_conflicts >= d->n_conflicts &&
        own_conflicts > 0) {
        s->true_cause = DIAG_CAUSE_OWN_WRITES;
    } else {
        uint64_t best = 0;
        for (int c = 0; c < DIAG_CAUSE_COUNT; c++)
            if (per_cause[c] > best) {
                best = per_cause[c];
                s->true_cause = (enum diag_cause)c;
            }
    }
    s->verdict_correct = d->verdict.cause == s->true_cause;
}

int64_t diagnose_bump_lag_ns(const struct diag_bump *b)
{
    int64_t tt, ref;

    if (b->lag_ns < 0)
        return -1;
    tt = b->t_ns - b->lag_ns;
    ref = lag_ref_ns(b);
    return ref > tt ? ref - tt : 0;
}

/* ---- driver ----------------------------------------------------------- */

enum rt_err diagnose(const struct runload *run,
                     const struct runload_truth *truth,
                     const struct diag_params *params, struct diagnosis **out)
{
    struct diagnosis *d;
    struct sigtimes st = {NULL};
    struct agent_times *fb = NULL;
    size_t *first = NULL;
    enum rt_err err;

    *out = NULL;
    if (!run || !params || params->window_ns < 0 || params->permutations == 0 ||
        !(params->alpha > 0 && params->alpha < 1))
        return RT_EINVAL;
    d = xcalloc(1, sizeof(*d));
    d->run = run;
    d->params = *params;
    build_timelines(d);
    if ((err = runload_classify_bumps(run, &d->raw)))
        goto fail;
    build_bumps(d);
    first = xcalloc(run->n_agents + 1, sizeof(*first));
    for (size_t i = 0, a = 0; a <= run->n_agents; a++) {
        while (i < d->n_bumps && d->bumps[i].b.agent < a)
            i++;
        first[a] = i;
    }
    /* The audit first: its times of the writes time the bumps for the
     * window and every test. */
    match_audit(d, first);
    window(d);

    fb = foreign_times(d, 0);
    if ((err = test_signals(d, &st, fb)))
        goto fail;
    sort_signals(d, &st);
    confounds(d, &st, fb);
    attribute_transitions(d, &st);
    attribute_bursts(d);
    attribute_periods(d);
    build_writers(d);
    for (size_t i = 0; i < d->n_bumps; i++) {
        d->attr_counts[d->bumps[i].attr]++;
        if (d->bumps[i].b.origin == RUNLOAD_FOREIGN && !d->bumps[i].audit)
            d->unaudited[d->bumps[i].attr]++;
    }

    conflicts(d, first);
    strategies(d);
    checker(d, first);
    verdict(d);
    score(d, truth);
    err = RT_OK;
    *out = d;
    d = NULL;
fail:
    for (size_t i = 0; i < st.n; i++)
        times_free(st.t[i], run->n_agents);
    free(st.t);
    times_free(fb, run->n_agents);
    free(first);
    diagnose_free(d);
    return err;
}

void diagnose_free(struct diagnosis *self)
{
    if (!self)
        return;
    for (size_t a = 0; self->timelines && a < self->run->n_agents; a++)
        free(self->timelines[a].items);
    free(self->timelines);
    runload_bumps_release(&self->raw);
    free(self->bumps);
    for (size_t i = 0; i < self->n_signals; i++)
        stats_assoc_release(&self->signals[i].assoc);
    free(self->signals);
    free(self->bursts);
    free(self->writers);
    free(self->conflicts);
    free(self->by_state);
    free(self->strategies);
    free(self);
}
