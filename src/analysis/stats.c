/*
 * Pure statistics for the diagnosis (see include/analysis/stats.h for the
 * contracts).  Invariants kept throughout: no globals (lgamma_r instead of
 * lgamma, which writes the global signgam), no I/O, scratch memory freed
 * before returning, and every random draw taken from a local struct rng
 * seeded from the caller's seed, in a documented order.
 */
#include "analysis/stats.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/xalloc.h"

/* ---- Order statistics, location and spread ---------------------------- */

/* Ascending, NaN last: a total order, so qsort's result is deterministic. */
static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa;
    double b = *(const double *)pb;
    int a_nan = isnan(a);
    int b_nan = isnan(b);

    if (a_nan || b_nan)
        return a_nan - b_nan;
    return (a > b) - (a < b);
}

double stats_quantile(const double *sorted, size_t n, double q)
{
    double h, frac, lo_value, hi_value;
    size_t lo;

    if (n == 0 || !(q >= 0.0 && q <= 1.0))
        return NAN;
    /* Type 7: the quantile sits at 0-based position h = (n - 1) q. */
    h = (double)(n - 1) * q;
    lo = (size_t)floor(h);
    if (lo >= n - 1)
        return sorted[n - 1];
    frac = h - (double)lo;
    lo_value = sorted[lo];
    hi_value = sorted[lo + 1];
    /* Equal neighbours return exactly, even when they are infinite. */
    if (frac == 0.0 || lo_value == hi_value)
        return lo_value;
    return lo_value + frac * (hi_value - lo_value);
}

double stats_median(const double *sorted, size_t n)
{
    return stats_quantile(sorted, n, 0.5);
}

double *stats_sorted_copy(const double *x, size_t n)
{
    double *copy;

    if (n == 0)
        return NULL;
    copy = xreallocarray(NULL, n, sizeof *copy);
    memcpy(copy, x, n * sizeof *copy);
    qsort(copy, n, sizeof *copy, cmp_double);
    return copy;
}

double stats_quantile_unsorted(const double *x, size_t n, double q)
{
    double *sorted = stats_sorted_copy(x, n);
    double result = stats_quantile(sorted, n, q);

    free(sorted);
    return result;
}

double stats_iqr(const double *sorted, size_t n)
{
    return stats_quantile(sorted, n, 0.75) - stats_quantile(sorted, n, 0.25);
}

double stats_mad(const double *sorted, size_t n)
{
    double *dev;
    double center, result;

    if (n == 0)
        return NAN;
    center = stats_median(sorted, n);
    dev = xreallocarray(NULL, n, sizeof *dev);
    for (size_t i = 0; i < n; i++)
        dev[i] = fabs(sorted[i] - center);
    qsort(dev, n, sizeof *dev, cmp_double);
    result = stats_median(dev, n);
    free(dev);
    return result;
}

double stats_mean(const double *x, size_t n)
{
    double sum = 0.0;

    if (n == 0)
        return NAN;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    return sum / (double)n;
}

double stats_sd(const double *x, size_t n)
{
    double mean, ss = 0.0, s = 0.0;

    if (n < 2)
        return NAN;
    mean = stats_mean(x, n);
    /*
     * Corrected two-pass: sum (x - mean)^2 minus (sum (x - mean))^2 / n.
     * The second term is exactly zero in exact arithmetic and removes the
     * rounding error of the computed mean (Chan, Golub & LeVeque 1983).
     */
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - mean;

        ss += d * d;
        s += d;
    }
    ss -= s * s / (double)n;
    if (ss < 0.0)
        ss = 0.0;
    return sqrt(ss / (double)(n - 1));
}

void stats_summarize(const double *x, size_t n, struct stats_summary *out)
{
    double *sorted;

    out->n = n;
    if (n == 0) {
        out->mean = out->sd = out->min = out->q1 = out->median = NAN;
        out->q3 = out->max = out->iqr = out->mad = NAN;
        return;
    }
    sorted = stats_sorted_copy(x, n);
    out->mean = stats_mean(sorted, n);
    out->sd = stats_sd(sorted, n);
    out->min = sorted[0];
    out->q1 = stats_quantile(sorted, n, 0.25);
    out->median = stats_median(sorted, n);
    out->q3 = stats_quantile(sorted, n, 0.75);
    out->max = sorted[n - 1];
    out->iqr = out->q3 - out->q1;
    out->mad = stats_mad(sorted, n);
    free(sorted);
}

/* ---- Normal distribution ---------------------------------------------- */

double stats_normal_cdf(double z)
{
    /* Phi(z) = erfc(-z / sqrt 2) / 2; erfc keeps the lower tail precise. */
    return 0.5 * erfc(-z * 0.70710678118654752440);
}

double stats_normal_quantile(double p)
{
    double q, r, num, den, x;

    if (!(p >= 0.0 && p <= 1.0))
        return NAN;
    if (p == 0.0)
        return -INFINITY;
    if (p == 1.0)
        return INFINITY;
    /*
     * Wichura (1988), algorithm AS 241, PPND16: a rational approximation
     * on the central region |p - 0.5| <= 0.425, and two more in
     * r = sqrt(-log(min(p, 1 - p))) for the tails.  Coefficients as
     * published.
     */
    q = p - 0.5;
    if (fabs(q) <= 0.425) {
        r = 0.180625 - q * q;
        num = (((((((2.5090809287301226727e+3 * r + 3.3430575583588128105e+4) *
                        r +
                    6.7265770927008700853e+4) *
                       r +
                   4.5921953931549871457e+4) *
                      r +
                  1.3731693765509461125e+4) *
                     r +
                 1.9715909503065514427e+3) *
                    r +
                1.3314166789178437745e+2) *
                   r +
               3.3871328727963666080e+0) *
              q;
        den = (((((((5.2264952788528545610e+3 * r + 2.8729085735721942674e+4) *
                        r +
                    3.9307895800092710610e+4) *
                       r +
                   2.1213794301586595867e+4) *
                      r +
                  5.3941960214247511077e+3) *
                     r +
                 6.8718700749205790830e+2) *
                    r +
                4.2313330701600911252e+1) *
                   r +
               1.0);
        return num / den;
    }
    r = q < 0.0 ? p : 1.0 - p;
    r = sqrt(-log(r));
    if (r <= 5.0) {
        r -= 1.6;
        num =
            (((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) *
                      r +
                  2.41780725177450611770e-1) *
                     r +
                 1.27045825245236838258e+0) *
                    r +
                3.64784832476320460504e+0) *
                   r +
               5.76949722146069140550e+0) *
                  r +
              4.63033784615654529590e+0) *
                 r +
             1.42343711074968357734e+0);
        den =
            (((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) *
                      r +
                  1.51986665636164571966e-2) *
                     r +
                 1.48103976427480074590e-1) *
                    r +
                6.89767334985100004550e-1) *
                   r +
               1.67638483018380384940e+0) *
                  r +
              2.05319162663775882187e+0) *
                 r +
             1.0);
    } else {
        r -= 5.0;
        num =
            (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) *
                      r +
                  1.24266094738807843860e-3) *
                     r +
                 2.65321895265761230930e-2) *
                    r +
                2.96560571828504891230e-1) *
                   r +
               1.78482653991729133580e+0) *
                  r +
              5.46378491116411436990e+0) *
                 r +
             6.65790464350110377720e+0);
        den =
            (((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) *
                      r +
                  1.84631831751005468180e-5) *
                     r +
                 7.86869131145613259100e-4) *
                    r +
                1.48753612908506148525e-2) *
                   r +
               1.36929880922735805310e-1) *
                  r +
              5.99832206555887937690e-1) *
                 r +
             1.0);
    }
    x = num / den;
    return q < 0.0 ? -x : x;
}

/* ---- Fisher's exact test on a 2x2 table ------------------------------- */

/* R's fisher.test() relErr: tables within this factor of the observed
 * probability count as "as extreme" in the two-sided p-value. */
#define FISHER_REL_TOL (1.0 + 1e-7)

/* qnorm(0.975), for the 95% Woolf interval. */
#define Z_975 1.959963984540054

/* log Gamma(x) for x > 0; lgamma_r because lgamma writes signgam. */
static double log_gamma(double x)
{
    int sign;

    return lgamma_r(x, &sign);
}

/*
 * log of C(m, x) C(n, k - x), the hypergeometric weight of a table with x in
 * the top-left cell, minus the constant log(m! n!), which cancels when the
 * weights are normalised.
 */
static double hyper_log_weight(uint64_t x, uint64_t m, uint64_t n, uint64_t k)
{
    return -log_gamma((double)x + 1.0) - log_gamma((double)(m - x) + 1.0) -
           log_gamma((double)(k - x) + 1.0) -
           log_gamma((double)(n - k + x) + 1.0);
}

static double clamp_probability(double p)
{
    return p > 1.0 ? 1.0 : p;
}

enum rt_err stats_fisher_exact(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                               struct stats_fisher *out)
{
    uint64_t m, n, k, lo, hi, mode;
    double log_top, w_obs, total = 0.0, two = 0.0, greater = 0.0, less = 0.0;
    double ca, cb, cc, cd, log_or, se;

    if (a > STATS_FISHER_MAX_N || b > STATS_FISHER_MAX_N ||
        c > STATS_FISHER_MAX_N || d > STATS_FISHER_MAX_N ||
        a + b + c + d > STATS_FISHER_MAX_N)
        return RT_ERANGE;

    /*
     * With both margins fixed the table is determined by its top-left cell
     * X, hypergeometric: column-one total m, column-two total n, row-one
     * total k (R's fisher.test() names).  X ranges over [lo, hi].
     */
    m = a + c;
    n = b + d;
    k = a + b;
    lo = k > n ? k - n : 0;
    hi = k < m ? k : m;

    /*
     * Scale every weight by the most probable table, the mode
     * floor((k + 1)(m + 1) / (N + 2)), so the largest weight is 1 and the
     * sums neither overflow nor underflow (the way R's dnhyper() does it).
     * The products fit: each factor is at most 1e7 + 1.
     */
    mode = (k + 1) * (m + 1) / (m + n + 2);
    if (mode < lo)
        mode = lo;
    if (mode > hi)
        mode = hi;
    log_top = hyper_log_weight(mode, m, n, k);
    w_obs = exp(hyper_log_weight(a, m, n, k) - log_top);

    for (uint64_t x = lo; x <= hi; x++) {
        double w = exp(hyper_log_weight(x, m, n, k) - log_top);

        total += w;
        if (w <= w_obs * FISHER_REL_TOL)
            two += w;
        if (x >= a)
            greater += w;
        if (x <= a)
            less += w;
    }
    out->p_two_sided = clamp_probability(two / total);
    out->p_greater = clamp_probability(greater / total);
    out->p_less = clamp_probability(less / total);

    /*
     * Haldane-Anscombe: adding 1/2 to every cell when one is empty keeps the
     * log odds ratio and its Woolf standard error finite, and is the
     * least-biased fixed correction for the log odds ratio.
     */
    out->corrected = a == 0 || b == 0 || c == 0 || d == 0;
    ca = (double)a + (out->corrected ? 0.5 : 0.0);
    cb = (double)b + (out->corrected ? 0.5 : 0.0);
    cc = (double)c + (out->corrected ? 0.5 : 0.0);
    cd = (double)d + (out->corrected ? 0.5 : 0.0);
    log_or = log(ca) + log(cd) - log(cb) - log(cc);
    se = sqrt(1.0 / ca + 1.0 / cb + 1.0 / cc + 1.0 / cd);
    out->odds_ratio = (ca * cd) / (cb * cc);
    out->ci95_lo = exp(log_or - Z_975 * se);
    out->ci95_hi = exp(log_or + Z_975 * se);
    return RT_OK;
}

/* ---- Circular time-shift permutation test ----------------------------- */

/* Sorted ascending and every time in [t0, t1). */
static int times_valid(const int64_t *t, size_t n, int64_t t0, int64_t t1)
{
    if (n == 0)
        return 1;
    if (!t)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < t0 || t[i] >= t1)
            return 0;
        if (i > 0 && t[i] < t[i - 1])
            return 0;
    }
    return 1;
}

/* Index of the first element of sorted @t that is >= @v (n if none). */
static size_t lower_bound(const int64_t *t, size_t n, int64_t v)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (t[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*
 * Rotate sorted @t (all in [t0, t0 + len)) by @u in [0, len) around the
 * window into @out, which comes out sorted: the times at or after
 * t0 + len - u wrap to the front (now in [t0, t0 + u)), followed by the rest
 * moved up by u.  Neither expression can overflow, because each result lies
 * inside the window.
 */
static void rotate_times(const int64_t *t, size_t n, int64_t t0, int64_t len,
                         int64_t u, int64_t *out)
{
    int64_t back = len - u; /* in (0, len] */
    size_t split = lower_bound(t, n, t0 + back);
    size_t j = 0;

    for (size_t i = split; i < n; i++)
        out[j++] = t[i] - back;
    for (size_t i = 0; i < split; i++)
        out[j++] = t[i] + u;
}

struct sweep_counts {
    size_t covered; /* bumps with a transition in [b - W, b] */
    size_t hits;    /* transitions with a bump in [t, t + W] */
};

/*
 * One agent, two merge sweeps over sorted arrays, O(T + B).  Differences
 * are taken between times inside one window, so they cannot overflow, and
 * compared with W instead of computing t + W.  When @lags is not NULL the
 * lag of each covered bump to its nearest preceding transition is appended
 * at lags[*n_lags].
 */
static void sweep_agent(const int64_t *tr, size_t nt, const int64_t *bu,
                        size_t nb, int64_t window_ns, struct sweep_counts *acc,
                        int64_t *lags, size_t *n_lags)
{
    size_t i = 0, j = 0;

    /* Coverage: i counts the transitions at or before the current bump. */
    for (j = 0; j < nb; j++) {
        while (i < nt && tr[i] <= bu[j])
            i++;
        if (i > 0 && bu[j] - tr[i - 1] <= window_ns) {
            acc->covered++;
            if (lags)
                lags[(*n_lags)++] = bu[j] - tr[i - 1];
        }
    }
    /* Hit rate: j is the first bump at or after the current transition. */
    j = 0;
    for (i = 0; i < nt; i++) {
        while (j < nb && bu[j] < tr[i])
            j++;
        if (j < nb && bu[j] - tr[i] <= window_ns)
            acc->hits++;
    }
}

static double ratio_or_zero(size_t num, size_t den)
{
    return den ? (double)num / (double)den : 0.0;
}

static double lift(double observed, double expected)
{
    if (expected > 0.0)
        return observed / expected;
    return observed > 0.0 ? INFINITY : 1.0;
}

/* Null draws are made in blocks; a block's permutations are shared among
 * threads, each writing its own slots, and summed in order afterwards. */
#define PERM_BLOCK 64u
#define PERM_THREADS_MAX 16u

struct perm_job {
    const struct stats_agent_events *agents;
    size_t n_agents, n_active, max_trans;
    int64_t t0, len, w;
    int64_t *u; /* [permutation in block][active agent] */
    uint32_t n;
    atomic_uint next;
    size_t cov[PERM_BLOCK], hit[PERM_BLOCK];
};

static void *perm_worker(void *arg)
{
    struct perm_job *job = arg;
    int64_t *scratch = xreallocarray(NULL, job->max_trans ? job->max_trans : 1,
                                     sizeof *scratch);
    unsigned k;

    while ((k = atomic_fetch_add(&job->next, 1)) < job->n) {
        struct sweep_counts null = {0, 0};
        const int64_t *u = job->u + (size_t)k * job->n_active;
        size_t i = 0;

        for (size_t a = 0; a < job->n_agents; a++) {
            const struct stats_agent_events *ev = &job->agents[a];
            if (ev->n_transitions == 0 || ev->n_bumps == 0)
                continue;
            rotate_times(ev->transitions_ns, ev->n_transitions, job->t0,
                         job->len, u[i++], scratch);
            sweep_agent(scratch, ev->n_transitions, ev->bumps_ns, ev->n_bumps,
                        job->w, &null, NULL, NULL);
        }
        job->cov[k] = null.covered;
        job->hit[k] = null.hits;
    }
    free(scratch);
    return NULL;
}

/* One block on up to @threads threads (this one included). */
static void run_perm_block(struct perm_job *job, uint32_t threads)
{
    pthread_t tid[PERM_THREADS_MAX];
    uint32_t started = 0;

    if (threads > PERM_THREADS_MAX)
        threads = PERM_THREADS_MAX;
    if (threads > job->n)
        threads = job->n;
    for (uint32_t i = 1; i < threads; i++) {
        if (pthread_create(&tid[started], NULL, perm_worker, job))
            break; /* fewer threads: the work still gets done */
        started++;
    }
    perm_worker(job);
    for (uint32_t i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
}

enum rt_err stats_assoc_test(const struct stats_agent_events *agents,
                             size_t n_agents,
                             const struct stats_assoc_params *params,
                             struct stats_assoc *out)
{
    const int64_t t0 = params->t0_ns;
    const int64_t t1 = params->t1_ns;
    const int64_t w = params->window_ns;
    const uint32_t perms = params->permutations;
    struct sweep_counts obs = {0, 0};
    size_t total_bumps = 0, total_trans = 0, max_trans = 0;
    uint64_t null_covered_sum = 0, null_hits_sum = 0;
    uint64_t covered_ge = 0, hits_ge = 0;
    uint32_t done = 0;
    int stopped = 0;
    size_t n_active = 0;
    struct perm_job job;
    int64_t len;
    double *lag_values = NULL;
    struct rng rng;

    memset(out, 0, sizeof *out);
    /* t1 - t0 must be positive and representable (t0 < 0 < t1 can wrap). */
    if (t1 <= t0 || (t0 < 0 && t1 > INT64_MAX + t0) || w < 0 || perms == 0)
        return RT_EINVAL;
    if (n_agents > 0 && !agents)
        return RT_EINVAL;
    len = t1 - t0;
    for (size_t a = 0; a < n_agents; a++) {
        const struct stats_agent_events *ev = &agents[a];

        if (!times_valid(ev->transitions_ns, ev->n_transitions, t0, t1) ||
            !times_valid(ev->bumps_ns, ev->n_bumps, t0, t1))
            return RT_EINVAL;
        total_bumps += ev->n_bumps;
        total_trans += ev->n_transitions;
        if (ev->n_transitions > max_trans)
            max_trans = ev->n_transitions;
    }

    /* Observed statistics and lags; at most one lag per bump. */
    if (total_bumps > 0)
        out->lags_ns = xreallocarray(NULL, total_bumps, sizeof *out->lags_ns);
    for (size_t a = 0; a < n_agents; a++)
        sweep_agent(agents[a].transitions_ns, agents[a].n_transitions,
                    agents[a].bumps_ns, agents[a].n_bumps, w, &obs,
                    out->lags_ns, &out->n_lags);

    /*
     * Null: K independent rotations of every agent's transitions.  Only
     * agents with both transitions and bumps are rotated (and draw an
     * offset); for the others both counts are 0 whatever the shift.  The
     * null counts are compared as integers, so "null >= observed" has no
     * rounding.
     */
    for (size_t a = 0; a < n_agents; a++)
        n_active += agents[a].n_transitions > 0 && agents[a].n_bumps > 0;
    job.agents = agents;
    job.n_agents = n_agents;
    job.t0 = t0;
    job.len = len;
    job.w = w;
    job.max_trans = max_trans;
    job.n_active = n_active;
    job.u = xreallocarray(NULL, (size_t)PERM_BLOCK * (n_active ? n_active : 1),
                          sizeof *job.u);
    rng_seed(&rng, params->seed, STATS_ASSOC_RNG_STREAM);
    for (uint32_t k0 = 0; k0 < perms && !stopped; k0 += PERM_BLOCK) {
        uint32_t n = perms - k0 < PERM_BLOCK ? perms - k0 : PERM_BLOCK;

        /* The draws in the serial order: permutation by permutation,
         * agent by agent, so the result does not depend on the threads. */
        for (size_t i = 0; i < (size_t)n * n_active; i++)
            job.u[i] = (int64_t)rng_below(&rng, (uint64_t)len);
        job.n = n;
        atomic_store(&job.next, 0);
        run_perm_block(&job, params->threads);
        for (uint32_t k = 0; k < n; k++) {
            null_covered_sum += job.cov[k];
            null_hits_sum += job.hit[k];
            covered_ge += job.cov[k] >= obs.covered;
            hits_ge += job.hit[k] >= obs.hits;
            done++;
            /* Besag & Clifford (1991): once both statistics were reached
             * stop_after times, more draws cannot make either
             * significant. */
            if (params->stop_after && covered_ge >= params->stop_after &&
                hits_ge >= params->stop_after) {
                stopped = 1;
                break;
            }
        }
    }
    free(job.u);

    out->n_bumps = total_bumps;
    out->n_transitions = total_trans;
    out->covered_bumps = obs.covered;
    out->hit_transitions = obs.hits;
    out->coverage = ratio_or_zero(obs.covered, total_bumps);
    out->hit_rate = ratio_or_zero(obs.hits, total_trans);
    /* Mean of K ratios with a common denominator = pooled sum / (K n). */
    out->null_coverage = total_bumps ? (double)null_covered_sum /
                                           ((double)done * (double)total_bumps)
                                     : 0.0;
    out->null_hit_rate = total_trans ? (double)null_hits_sum /
                                           ((double)done * (double)total_trans)
                                     : 0.0;
    out->coverage_lift = lift(out->coverage, out->null_coverage);
    out->hit_rate_lift = lift(out->hit_rate, out->null_hit_rate);
    /* Phipson & Smyth (2010): the observed data is one of the K + 1. */
    out->p_coverage = (1.0 + (double)covered_ge) / (1.0 + (double)done);
    out->p_hit_rate = (1.0 + (double)hits_ge) / (1.0 + (double)done);
    out->permutations = done;

    if (out->n_lags == 0) {
        free(out->lags_ns);
        out->lags_ns = NULL;
    } else {
        out->lags_ns =
            xreallocarray(out->lags_ns, out->n_lags, sizeof *out->lags_ns);
        lag_values = xreallocarray(NULL, out->n_lags, sizeof *lag_values);
        for (size_t i = 0; i < out->n_lags; i++)
            lag_values[i] = (double)out->lags_ns[i];
    }
    stats_summarize(lag_values, out->n_lags, &out->lag_ns);
    free(lag_values);
    return RT_OK;
}

void stats_assoc_release(struct stats_assoc *self)
{
    if (!self)
        return;
    free(self->lags_ns);
    memset(self, 0, sizeof *self);
}

/* ---- Sample size ------------------------------------------------------ */

/* 2^53: beyond this a double no longer holds every integer. */
#define EXACT_INT_LIMIT 9007199254740992.0

enum rt_err stats_events_needed(double p0, double p1, double alpha,
                                double power, uint64_t *out_n)
{
    double z_alpha, z_power, num, diff, n;

    if (!(p0 >= 0.0 && p0 <= 1.0) || !(p1 >= 0.0 && p1 <= 1.0) || p0 == p1 ||
        !(alpha > 0.0 && alpha <= 0.5) || !(power >= 0.5 && power < 1.0))
        return RT_EINVAL;
    /*
     * z_(1-alpha) as -Phi^-1(alpha): the lower tail is computed directly,
     * so a tiny alpha does not round 1 - alpha to 1.  Both z values are
     * >= 0 by the range checks, so the sum below cannot cancel.
     */
    z_alpha = -stats_normal_quantile(alpha);
    z_power = stats_normal_quantile(power);
    num = z_alpha * sqrt(p0 * (1.0 - p0)) + z_power * sqrt(p1 * (1.0 - p1));
    diff = p1 - p0;
    n = ceil(num * num / (diff * diff));
    if (!(n <= EXACT_INT_LIMIT))
        return RT_ERANGE;
    /* alpha = power = 0.5 gives 0; any test needs at least one event. */
    *out_n = n < 1.0 ? 1 : (uint64_t)n;
    return RT_OK;
}
