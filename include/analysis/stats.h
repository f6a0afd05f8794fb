/*
 * Pure statistics for the diagnosis: order statistics and spread of lags,
 * Fisher's exact test and the odds ratio of a 2x2 table, the circular
 * time-shift permutation test that asks whether version bumps follow a kind
 * of transition more often than chance, and a sample-size estimate for "how
 * long a run would settle it".
 *
 * Everything here is a pure function of its arguments: no I/O, no globals,
 * no hidden clocks.  Inputs are borrowed for the duration of the call and
 * never modified; scratch memory is allocated and freed inside the call
 * (allocation failure aborts through xmalloc).  Every function is
 * thread-safe.  Randomness comes only from a struct rng seeded from the
 * caller's seed, so the same inputs and seed give bit-identical results on
 * every run and platform.
 *
 * Undefined statistics (the median of nothing, the standard deviation of one
 * value) are NaN; callers print them as "n/a".  Time is int64 nanoseconds
 * on one clock (the caller's wall_ns event times).
 */
#ifndef RT_ANALYSIS_STATS_H
#define RT_ANALYSIS_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* ---- Order statistics, location and spread ---------------------------- */

/*
 * Sample quantile of @sorted (ascending, @n values, borrowed) at @q in
 * [0, 1], by Hyndman & Fan type 7, the default of R's quantile() and
 * numpy.quantile(): with h = (n - 1) q, the result interpolates linearly
 * between sorted[floor(h)] and sorted[floor(h) + 1].  q = 0 gives the
 * minimum, q = 1 the maximum, n = 1 the only value.  NaN when n == 0 or q is
 * outside [0, 1] or NaN.  Thread-safe.
 */
double stats_quantile(const double *sorted, size_t n, double q);

/* Median of @sorted (type 7 at q = 0.5: the mean of the two middle values
 * when n is even).  NaN when n == 0.  Thread-safe. */
double stats_median(const double *sorted, size_t n);

/*
 * Ascending copy of @x (@n values, borrowed); the caller frees it with
 * free().  NULL when n == 0.  NaN values, which should not occur, sort last
 * so the order is still total and deterministic.  Thread-safe.
 */
double *stats_sorted_copy(const double *x, size_t n);

/* Quantile of unsorted @x (borrowed), through a sorted copy that is freed
 * before returning.  Same definition and edge cases as stats_quantile().
 * Thread-safe. */
double stats_quantile_unsorted(const double *x, size_t n, double q);

/* Interquartile range Q3 - Q1 of @sorted, both type 7 (R's IQR()).  NaN
 * when n == 0; 0 when n == 1.  Thread-safe. */
double stats_iqr(const double *sorted, size_t n);

/*
 * Raw median absolute deviation of @sorted: median(|x_i - median(x)|),
 * in the unit of the data and *without* R's 1.4826 consistency factor
 * (multiply by 1.4826 for an estimate of sigma under normality).  NaN when
 * n == 0; 0 when more than half the values are equal.  Thread-safe.
 */
double stats_mad(const double *sorted, size_t n);

/* Arithmetic mean of @x (borrowed).  NaN when n == 0.  Thread-safe. */
double stats_mean(const double *x, size_t n);

/*
 * Sample standard deviation of @x (borrowed), with the n - 1 denominator,
 * computed by the corrected two-pass algorithm (Chan, Golub & LeVeque 1983)
 * so that large offsets such as epoch nanoseconds do not cancel.  NaN when
 * n < 2.  Thread-safe.
 */
double stats_sd(const double *x, size_t n);

/* Everything a report says about a sample of lags, in the data's unit. */
struct stats_summary {
    size_t n;
    double mean;
    double sd; /* sample, n - 1; NaN when n < 2 */
    double min;
    double q1; /* type 7 quantiles */
    double median;
    double q3;
    double max;
    double iqr; /* q3 - q1 */
    double mad; /* raw, unscaled, see stats_mad() */
};

/* Summarise unsorted @x (borrowed) into @out.  With n == 0, out->n is 0 and
 * every other field is NaN.  Thread-safe. */
void stats_summarize(const double *x, size_t n, struct stats_summary *out);

/* ---- Normal distribution ---------------------------------------------- */

/* Standard normal distribution function Phi(z), through erfc() so the
 * tails keep their relative precision.  Thread-safe. */
double stats_normal_cdf(double z);

/*
 * Standard normal quantile Phi^-1(p) by Wichura's algorithm AS 241
 * (PPND16, Applied Statistics 37(3), 1988), relative accuracy about 1e-16;
 * the algorithm behind R's qnorm() and Python's NormalDist.inv_cdf().
 * -INFINITY at p = 0, +INFINITY at p = 1, NaN outside [0, 1].  Thread-safe.
 */
double stats_normal_quantile(double p);

/* ---- Fisher's exact test on a 2x2 table ------------------------------- */

/* Largest a + b + c + d stats_fisher_exact() accepts; the exact sum walks
 * the whole support, at most half of this many terms. */
#define STATS_FISHER_MAX_N UINT64_C(10000000)

struct stats_fisher {
    /*
     * P-values under the hypergeometric null (rows and columns fixed).
     * Two-sided is R's fisher.test() definition: the sum of the
     * probabilities of all tables no more probable than the observed one,
     * "no more" with a relative tolerance of 1e-7 so that ties lost to
     * rounding still count.  Greater is P(X >= a), i.e. the odds ratio
     * exceeds 1; less is P(X <= a).
     */
    double p_two_sided;
    double p_greater;
    double p_less;
    /*
     * Sample odds ratio (a d) / (b c) and its 95% Woolf (logit) interval
     * exp(log OR +- 1.959964 sqrt(1/a + 1/b + 1/c + 1/d)).  When any cell
     * is 0 the Haldane-Anscombe correction adds 0.5 to every cell first
     * (and @corrected is 1), so the ratio and interval are always finite
     * and positive.  This is the sample odds ratio, not R's conditional
     * maximum-likelihood estimate, so the two differ slightly.
     */
    double odds_ratio;
    double ci95_lo;
    double ci95_hi;
    int corrected;
};

/*
 * Fisher's exact test on the table
 *
 *                 outcome   no outcome
 *     exposed        a          b
 *     not exposed    c          d
 *
 * (e.g. "transitioning at write" vs not, against conflict vs success).  The
 * hypergeometric probabilities come from log-factorials (lgamma_r), scaled
 * by the most probable table before exponentiating, so counts in the
 * thousands neither overflow nor underflow.  An all-zero table, or one with
 * an empty row or column, has a single possible table and p-values of 1.
 * RT_ERANGE when a + b + c + d exceeds STATS_FISHER_MAX_N (@out untouched).
 * Thread-safe.
 */
enum rt_err stats_fisher_exact(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                               struct stats_fisher *out);

/* ---- Circular time-shift permutation test ----------------------------- */

/*
 * One agent's events, times in ns on the caller's clock, each array sorted
 * ascending (ties allowed) and inside the observation window [t0, t1).
 * Borrowed for the duration of the call.  A NULL array is fine when its
 * count is 0.
 */
struct stats_agent_events {
    const int64_t *transitions_ns; /* e.g. routing -> INTERACTING */
    size_t n_transitions;
    const int64_t *bumps_ns; /* foreign version bumps */
    size_t n_bumps;
};

struct stats_assoc_params {
    int64_t t0_ns;         /* observation window start, inclusive */
    int64_t t1_ns;         /* observation window end, exclusive; > t0_ns */
    int64_t window_ns;     /* lag window W >= 0 */
    uint32_t permutations; /* K >= 1 null draws; 999 gives p down to 0.001 */
    uint64_t seed;
    /*
     * Sequential stop (Besag & Clifford 1991): 0 draws all K; h > 0 stops
     * after the first draw at which both null statistics have reached the
     * observed ones h times.  Such a result cannot be significant at any
     * level below h / K, and a weak signal costs about h / p draws instead
     * of K.  The p-values and null means then use the draws made, reported
     * in stats_assoc.permutations.
     */
    uint32_t stop_after;
    /*
     * Threads sharing the null draws (0 or 1: the calling thread only).
     * The offsets are drawn in the serial order before the work is shared,
     * so the result is bit-identical for any number of threads.
     */
    uint32_t threads;
};

/*
 * The rng stream the permutation test draws from (rng_seed(&rng, seed,
 * STATS_ASSOC_RNG_STREAM)).  Part of the contract so that a test can replay
 * the exact offsets: permutation k = 0..K-1 draws, for each agent in array
 * order that has at least one transition and one bump, one offset
 * rng_below(&rng, t1 - t0).  Agents without both kinds of event draw
 * nothing, because shifting them cannot change either statistic; adding
 * such agents therefore leaves the result unchanged.
 */
#define STATS_ASSOC_RNG_STREAM UINT64_C(0x61736f63) /* "asoc" */

struct stats_assoc {
    size_t n_bumps;         /* over all agents */
    size_t n_transitions;   /* over all agents */
    size_t covered_bumps;   /* bumps with a transition in [b - W, b] */
    size_t hit_transitions; /* transitions with a bump in [t, t + W] */
    double coverage;        /* covered_bumps / n_bumps; 0 if no bumps */
    double hit_rate;        /* hit_transitions / n_transitions; 0 if none */
    /* Means over the K shifted copies of the same two ratios. */
    double null_coverage;
    double null_hit_rate;
    /*
     * Observed / null mean.  When the null mean is 0 the lift is 1 if the
     * observed value is 0 too (nothing beyond chance, e.g. no bumps at all)
     * and +INFINITY otherwise (cJSON prints that as null).
     */
    double coverage_lift;
    double hit_rate_lift;
    /*
     * One-sided permutation p-values with the +1 correction (Phipson &
     * Smyth 2010): (1 + #{k : null_k >= observed}) / (1 + K), never 0,
     * at least 1 / (K + 1).  Ties count against the association, so with
     * no bumps (or no transitions) the p-value is 1.
     */
    double p_coverage;
    double p_hit_rate;
    uint32_t permutations; /* draws made: K, or fewer after a stop */
    /*
     * Lag b - t from each covered bump to its nearest preceding transition
     * (0 <= lag <= W), in agent order and, within an agent, bump order.
     * Owned by this struct: freed by stats_assoc_release(); NULL when
     * n_lags == 0.  n_lags == covered_bumps.
     */
    int64_t *lags_ns;
    size_t n_lags;
    struct stats_summary lag_ns; /* summary of lags_ns, in ns */
};

/*
 * Association between @agents[i].transitions and @agents[i].bumps (@n_agents
 * agents, borrowed).  A bump b "follows" a transition t of the same agent
 * when 0 <= b - t <= W.  The observed coverage and hit rate are compared
 * with K copies in which each agent's transitions are rotated by an
 * independent uniform offset u in [0, t1 - t0): t -> t0 + (t - t0 + u)
 * mod (t1 - t0).  Rotation keeps each agent's transition count and
 * spacing (bursts stay bursts) and breaks only their alignment with the
 * bumps.  Lags are not wrapped: a bump just after t0 is not "preceded" by a
 * transition just before t1, in the observed data and the null alike.
 *
 * Cost: O(T_i + B_i) per agent per permutation, O(K sum(T_i + B_i)) in
 * all: a rotation of a sorted array is two sorted runs (found by binary
 * search and copied into one scratch array of max T_i values), and both
 * statistics are merge sweeps over two sorted arrays.
 *
 * On RT_OK @out is filled and owns lags_ns; release it with
 * stats_assoc_release().  RT_EINVAL (and @out zeroed, nothing to release)
 * when t1 <= t0, t1 - t0 overflows, W < 0, K == 0, an array is NULL with a
 * non-zero count, or an array is unsorted or has a time outside [t0, t1).
 * Thread-safe.
 */
enum rt_err stats_assoc_test(const struct stats_agent_events *agents,
                             size_t n_agents,
                             const struct stats_assoc_params *params,
                             struct stats_assoc *out);

/* Free the lags owned by @self and zero it.  NULL-safe; safe on a zeroed
 * struct.  Not thread-safe for the same @self. */
void stats_assoc_release(struct stats_assoc *self);

/* ---- Sample size ------------------------------------------------------ */

/*
 * Number of events n needed for a one-sided test of a proportion against
 * p0 at level @alpha to reach @power when the true proportion is p1, by the
 * usual normal approximation with the variance under each hypothesis
 * (Lachin 1981, Controlled Clinical Trials 2:93; Fleiss, Levin & Paik,
 * "Statistical Methods for Rates and Proportions", ch. 2):
 *
 *     n = ceil( (z_(1-alpha) sqrt(p0 (1 - p0)) + z_power sqrt(p1 (1 - p1)))^2
 *               / (p1 - p0)^2 )
 *
 * The direction of the alternative follows the sign of p1 - p0.  Pass
 * alpha / 2 for a two-sided test.  Typical use: p0 = the null hit rate, p1
 * = the observed hit rate, n = transitions needed; a run then needs about
 * n / (transitions per minute) minutes.  The approximation is crude for
 * p near 0 or 1 and small n; treat the result as an order of magnitude.
 *
 * RT_EINVAL (@out_n untouched) unless 0 <= p0, p1 <= 1, p0 != p1,
 * 0 < alpha <= 0.5 and 0.5 <= power < 1; RT_ERANGE when n exceeds 2^53.
 * Thread-safe.
 */
enum rt_err stats_events_needed(double p0, double p1, double alpha,
                                double power, uint64_t *out_n);

#endif
