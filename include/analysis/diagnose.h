/*
 * The diagnosis (DESIGN §8): from a loaded run, what bumped the agents'
 * versions and why each update conflicted.
 *
 *   1. Timelines: each agent's presence and routing transitions, at the
 *      server's time when the observation carried one.
 *   2. Own vs foreign bumps (runload_classify_bumps).
 *   3. Association of foreign bumps with every kind of transition seen
 *      (circular time-shift permutation test, Holm-adjusted), confounds
 *      between signals resolved by the transitions of one without the other.
 *   4. Attribution of every foreign bump, best evidence first: a
 *      significant transition of the same agent shortly before; a
 *      significant cross-agent burst (a batch job); a significant per-agent
 *      period (a sync job); else unexplained.
 *   5. Conflicts: the bump that created the version after the one we sent,
 *      its origin and attribution, and the agent's state at write time;
 *      a 2x2 table with Fisher's exact test.
 *   6. Checker: lost updates, retries without a re-read, Retry-After not
 *      honoured, the job conflicting with itself.
 *   7. Strategies side by side, and the verdict.
 *   8. In simulator runs, a score against truth.csv, computed after the
 *      diagnosis and never used by it.
 *
 * Everything is a deterministic function of the run and the parameters:
 * randomness comes from the seed only, so two analyses of one run agree
 * byte for byte.  A diagnosis borrows the run (and the truth) it was made
 * from; keep them alive until diagnose_free().  Read-only once built; may
 * be read from any number of threads.
 */
#ifndef RT_ANALYSIS_DIAGNOSE_H
#define RT_ANALYSIS_DIAGNOSE_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/runload.h"
#include "analysis/stats.h"
#include "base/err.h"

/* The verdict's vocabulary (DESIGN §8.6), X-macro: enum, name. */
#define DIAG_CAUSES(X)                                                         \
    X(DIAG_CAUSE_ROUTING, "routing-status")                                    \
    X(DIAG_CAUSE_PRESENCE, "presence")                                         \
    X(DIAG_CAUSE_BATCH, "batch")                                               \
    X(DIAG_CAUSE_PERIODIC, "periodic")                                         \
    X(DIAG_CAUSE_OTHER_WRITER, "other-writer")                                 \
    X(DIAG_CAUSE_OWN_WRITES, "own-writes")                                     \
    X(DIAG_CAUSE_NONE, "none")                                                 \
    X(DIAG_CAUSE_INCONCLUSIVE, "inconclusive")

#define DIAG_CAUSE_ENUM(e, name) e,
enum diag_cause { DIAG_CAUSES(DIAG_CAUSE_ENUM) DIAG_CAUSE_COUNT };
#undef DIAG_CAUSE_ENUM

/* "routing-status", ...; "?" out of range.  Thread-safe. */
const char *diag_cause_name(enum diag_cause cause);

/* How a bump is explained. */
enum diag_attr {
    DIAG_ATTR_OWN,         /* our own write */
    DIAG_ATTR_TRANSITION,  /* follows a significant transition */
    DIAG_ATTR_BATCH,       /* part of a significant cross-agent burst */
    DIAG_ATTR_PERIODIC,    /* on a significant per-agent period */
    DIAG_ATTR_UNEXPLAINED, /* foreign, none of the above */
    DIAG_ATTR_COUNT
};

/* "own", "transition", "batch", "periodic", "unexplained". */
const char *diag_attr_name(enum diag_attr attr);

#define DIAG_NONE SIZE_MAX

struct diag_params {
    int64_t window_ns;     /* a bump "follows" a transition within this */
    uint32_t permutations; /* null draws of each test */
    uint64_t seed;         /* of every test's draws */
    double alpha;          /* family-wise level, Holm over the signals */
};

/* window 2 s, 999 permutations, seed 1, alpha 0.05. */
void diagnose_params_default(struct diag_params *p);

/* One transition of one agent (presence or routing). */
struct diag_transition {
    int64_t t_ns;     /* server time, else the bracket's middle */
    const char *from; /* interned by the run */
    const char *to;   /* interned by the run */
    int is_presence;  /* 1 presence, 0 routing */
};

struct diag_timeline {
    struct diag_transition *items; /* by time */
    size_t n;
};

/* A transition kind ("routing:INTERACTING", "presence:any", ...) and its
 * association with foreign bumps. */
struct diag_signal {
    char name[96];
    int is_presence;
    const char *to; /* NULL for the "any" signals */
    struct stats_assoc assoc;
    double p_value;    /* the larger of the hit-rate and coverage p */
    double p_adjusted; /* Holm */
    int significant;
    double score; /* coverage x hit rate: how much it explains, how well */
    /* Lags from each covered bump's bracket middle to the transition, in
     * ns, clipped at 0 (summary of them). */
    struct stats_summary lag;
    /* Indices into diagnosis.signals this one is confounded with. */
    size_t confounded[4];
    size_t n_confounded;
    int demoted; /* confounded and beaten by another signal */
};

/* A foreign or own bump with its explanation. */
struct diag_bump {
    struct runload_bump b;
    int64_t t_ns; /* bracket end: the latest it can have happened */
    enum diag_attr attr;
    size_t signal;  /* DIAG_ATTR_TRANSITION: index into signals */
    int64_t lag_ns; /* bracket end - that transition, -1 when none */
    size_t burst;   /* DIAG_ATTR_BATCH: index into bursts */
};

/* A cross-agent burst of foreign bumps. */
struct diag_burst {
    int64_t t0_ns, t1_ns;
    size_t bumps, agents;
};

/* A version conflict with its explanation. */
struct diag_conflict {
    const struct runload_conflict *k;
    const struct runload_op *op; /* NULL when the request had no operation */
    int64_t read_wall_ns;        /* the operation's first read, 0 unknown */
    size_t bump;                 /* the bump that created version_sent + 1
                                    (index into bumps), DIAG_NONE unknown */
    int stale_read;       /* that bump was seen before the read was made */
    const char *presence; /* state at write time; NULL unknown */
    const char *routing;
    int transitioning; /* a transition within the window before the write */
};

struct diag_strategy {
    const char *name;
    uint64_t operations, ok, conflict, gave_up, error, unknown;
    uint64_t requests, wasted;
    int64_t start_ns, end_ns;
    uint64_t lost_updates;
    uint64_t conflict_requests; /* version conflicts among its requests */
};

enum diag_check {
    DIAG_CHECK_LOST_UPDATE,
    DIAG_CHECK_NO_REREAD,
    DIAG_CHECK_SELF_CONFLICT,
    DIAG_CHECK_COUNT
};

struct diag_finding {
    enum diag_check check;
    int64_t op_id;
    size_t agent;
    char text[256];
};

#define DIAG_FINDINGS_MAX 100

struct diag_state_count {
    const char *state; /* routing status at write; "unknown" */
    uint64_t writes, conflicts;
};

struct diag_truth_score {
    int present;
    uint64_t foreign_truth; /* bumps the simulator says were not ours */
    uint64_t predicted;     /* foreign bumps we attributed (not unexplained
                               unless the truth is an unexplained kind) */
    uint64_t correct;
    uint64_t own_agree, own_total; /* own/foreign split agreeing */
    enum diag_cause true_cause;
    int verdict_correct;
};

struct diag_secondary {
    enum diag_cause cause;
    const char *signal;
    double p_value;  /* NaN when none */
    double coverage; /* share of foreign bumps */
};

struct diag_verdict {
    enum diag_cause cause;
    char signal[96]; /* "" when none */
    double p_value, hit_rate, coverage, median_lag_ms, lag_iqr_ms; /* NaN */
    size_t signal_index; /* into signals, DIAG_NONE */
    struct diag_secondary secondary[8];
    size_t n_secondary;
    /* For "inconclusive": events that would settle it, 0 unknown. */
    uint64_t events_needed;
    double minutes_needed; /* NaN unknown */
    char more_data[400];
    char headline[300];
    char text[1600];
};

struct diagnosis {
    const struct runload *run;
    struct diag_params params;
    int64_t t0_ns, t1_ns; /* the analysis window */

    struct diag_timeline *timelines; /* per run agent */
    size_t n_presence, n_routing;    /* transitions */

    struct runload_bumps raw;
    struct diag_bump *bumps; /* parallel to raw.items */
    size_t n_bumps, n_foreign;
    size_t attr_counts[DIAG_ATTR_COUNT];

    struct diag_signal *signals; /* significant first, then by score */
    size_t n_signals;

    struct diag_burst *bursts;
    size_t n_bursts;
    double batch_p;    /* NaN when not tested */
    double periodic_p; /* NaN when not tested */
    size_t periodic_agents;
    double periodic_period_s; /* median over periodic agents, NaN */

    struct diag_conflict *conflicts; /* parallel to run->conflicts */
    size_t n_conflicts;
    size_t conflicts_foreign, conflicts_own, conflicts_unexplained;
    size_t conflicts_stale_read;
    uint64_t table[4]; /* exposed conflict, exposed ok, other c., other ok */
    struct stats_fisher fisher;
    int fisher_ok;
    struct diag_state_count *by_state;
    size_t n_states;

    struct diag_strategy *strategies;
    size_t n_strategies;

    uint64_t check_counts[DIAG_CHECK_COUNT];
    struct diag_finding findings[DIAG_FINDINGS_MAX];
    size_t n_findings;

    struct diag_verdict verdict;
    struct diag_truth_score truth;
};

/*
 * Diagnose @run (borrowed until diagnose_free()).  @truth (may be NULL) is
 * consulted only after the diagnosis is complete, to fill out->truth.
 * On RT_OK *out is the caller's.  RT_EINVAL on bad parameters.
 * Thread-safe for different outputs.
 */
enum rt_err diagnose(const struct runload *run,
                     const struct runload_truth *truth,
                     const struct diag_params *params, struct diagnosis **out);
void diagnose_free(struct diagnosis *self); /* NULL-safe */

/* The lag reported for a bump attributed to a transition: from the
 * transition to the middle of the bump's bracket, clipped at 0 (the
 * definition the association's lag statistics use); -1 when the bump has
 * no transition.  Thread-safe. */
int64_t diagnose_bump_lag_ns(const struct diag_bump *b);

/* The agent's routing status (or presence) at @t_ns from its timeline:
 * the value after the last transition at or before @t_ns, else the value
 * before the first one; NULL when the timeline is empty. */
const char *diagnose_state_at(const struct diagnosis *self, size_t agent,
                              int is_presence, int64_t t_ns);

#endif
