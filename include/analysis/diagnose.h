/*
 * The diagnosis (DESIGN §8): from a loaded run, what bumped the agents'
 * versions and why each update conflicted.
 *
 *   1. Timelines: each agent's presence and routing transitions, at the
 *      server's time when the observation carried one.  Transitions from
 *      the analytics history (exact server times) are merged with those
 *      the poll and the notifications stream saw: one seen by several
 *      sources counts once, and those only analytics saw are counted as
 *      missed by the live observers.
 *   2. Own vs foreign bumps (runload_classify_bumps), and the audit
 *      record of each foreign bump: its writer (who) and, when the record
 *      is unambiguous, the server's time of the write, which replaces the
 *      bump's observation bracket as its time in every step below.
 *   3. Association of foreign bumps with every kind of transition seen
 *      (circular time-shift permutation test, Holm-adjusted), confounds
 *      between signals resolved by the transitions of one without the other.
 *   4. Attribution of every foreign bump by its timing, for the
 *      association and the verdict (why): a significant transition of the
 *      same agent shortly before; a significant cross-agent burst (a batch
 *      job); a significant per-agent period (a sync job); else
 *      unexplained.  The audit's writer is kept beside it.
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
    int64_t t_ns;       /* server time, else the bracket's middle */
    const char *from;   /* interned by the run */
    const char *to;     /* interned by the run */
    const char *source; /* the observation's: poll, stream, analytics */
    int is_presence;    /* 1 presence, 0 routing */
    int missed;         /* from analytics, and no poll or stream saw it */
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
    /* Lags from the transition to each covered bump, in ns: to its
     * audit time, else to its bracket middle, clipped at 0 (summary of
     * them; see diagnose_bump_lag_ns()). */
    struct stats_summary lag;
    /* Indices into diagnosis.signals this one is confounded with. */
    size_t confounded[4];
    size_t n_confounded;
    int demoted; /* confounded and beaten by another signal */
};

/* Where a bump's time comes from. */
enum diag_time_source {
    DIAG_TIME_BRACKET, /* its observation's bracket end */
    DIAG_TIME_AUDIT,   /* the server's time of the write (audit record) */
};

/* "bracket", "audit".  Thread-safe. */
const char *diag_time_source_name(enum diag_time_source source);

/* A foreign or own bump with its explanation. */
struct diag_bump {
    struct runload_bump b;
    /*
     * Its time for every test, the lag, the attribution and the plots.
     * The server's time of the write when one audit record attributed
     * the bump unambiguously (kept within the bracket widened by the
     * audit tolerance); else the bracket end, the latest it can have
     * happened, so a bump that follows a transition is never placed
     * before it.
     */
    int64_t t_ns;
    enum diag_time_source time_source;
    /* What its timing points to (the association and the verdict use
     * it, whether or not the audit named a writer). */
    enum diag_attr attr;
    size_t signal;  /* DIAG_ATTR_TRANSITION: index into signals */
    int64_t lag_ns; /* t_ns - that transition, -1 when none */
    size_t burst;   /* DIAG_ATTR_BATCH: index into bursts */
    /* Foreign bumps only: the audit record that wrote it (borrowed from
     * the run, NULL when none) and its writer (index into writers,
     * DIAG_NONE); ambiguous when records of other writers fit too. */
    const struct runload_audit *audit;
    size_t writer;
    int audit_ambiguous;
};

/* Who a writer is, from its audit records. */
enum diag_writer_kind {
    DIAG_WRITER_CLIENT,  /* an OAuth client: an integration */
    DIAG_WRITER_USER,    /* a person */
    DIAG_WRITER_PROCESS, /* an application or internal process */
    DIAG_WRITER_UNKNOWN, /* a record naming none of these */
    DIAG_WRITER_KIND_COUNT
};

/* "client", "user", "process", "unknown".  Thread-safe. */
const char *diag_writer_kind_name(enum diag_writer_kind kind);

/* A writer the audit trail named for foreign bumps. */
struct diag_writer {
    enum diag_writer_kind kind;
    /* Client id, user id (else name) or application, by kind; "" for
     * unknown.  Interned by the run. */
    const char *id;
    const char *level; /* USER, SYSTEM, ... as recorded; "" unknown */
    /* Its first attributed record: client id, application and user as
     * recorded (borrowed from the run). */
    const struct runload_audit *record;
    /* "OAuth client 'crm-sync' (application 'CRM', level SYSTEM)",
     * "user 'Jane Doe' (id u-1, level USER)", "SYSTEM process
     * 'routing-engine'". */
    char label[256];
    size_t bumps;     /* foreign bumps attributed to it */
    size_t ambiguous; /* of them, with another writer's record fitting */
    /* Its bumps by the cause their timing points to (a transition's
     * property, batch, periodic; other-writer for the unexplained). */
    size_t by_cause[DIAG_CAUSE_COUNT];
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
    /* Operations by outcome; dry_run: a dry run's, which sent no write
     * (racetrace run --dry-run). */
    uint64_t operations, ok, conflict, gave_up, error, unknown, dry_run;
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
    /* Foreign bumps the audit attributed, and of them those whose writer
     * is the simulator's actor (its client id, or its name as user or
     * application). */
    uint64_t audit_attributed, audit_correct;
};

struct diag_secondary {
    enum diag_cause cause;
    const char *signal;
    double p_value;  /* NaN when none */
    double coverage; /* share of foreign bumps */
    size_t writer;   /* the audit's writer of these bumps, DIAG_NONE */
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
    /* The writer the audit names for the verdict's bumps (index into
     * writers), DIAG_NONE when none; it wrote writer_bumps of the
     * writer_of bumps the verdict's cause stands for. */
    size_t writer;
    size_t writer_bumps, writer_of;
    char more_data[400];
    char headline[400];
    char text[4096];
};

struct diagnosis {
    const struct runload *run;
    struct diag_params params;
    int64_t t0_ns, t1_ns; /* the analysis window */

    struct diag_timeline *timelines; /* per run agent */
    size_t n_presence, n_routing;    /* transitions */
    /* The merge of sources: transitions by source in the timelines;
     * analytics transitions no poll or stream observation saw, per
     * property; observations dropped as the same transition as a better
     * timed one; analytics rows left out (outside the run, or no
     * change). */
    size_t n_from_poll, n_from_stream, n_from_analytics;
    size_t missed_presence, missed_routing;
    size_t n_duplicates, n_analytics_dropped;

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

    /* Audit attribution.  own_client: the run's OAuth client id (or the
     * one inferred from the records of the job's own writes), whose
     * records are the job's own and are never a candidate; "" unknown. */
    const char *own_client;
    int own_client_inferred;
    size_t audit_usable; /* records that may attribute a bump */
    size_t audit_own;    /* records by the job's own client */
    size_t audit_attributed, audit_ambiguous; /* foreign bumps */
    /* Foreign bumps timed by their audit record (DIAG_TIME_AUDIT). */
    size_t audit_timed;
    struct diag_writer *writers; /* most bumps first, then by label */
    size_t n_writers;
    /* Foreign bumps no audit record attributed, by what their timing
     * points to: with audit_attributed, each foreign bump counted once
     * under its best evidence. */
    size_t unaudited[DIAG_ATTR_COUNT];

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

/* The lag reported for a bump attributed to a transition (the
 * definition the association's lag statistics use): from the transition
 * to the bump's audit time when it has one (DIAG_TIME_AUDIT), else to the
 * middle of its bracket, clipped at 0; -1 when the bump has no
 * transition.  Thread-safe. */
int64_t diagnose_bump_lag_ns(const struct diag_bump *b);

/* The agent's routing status (or presence) at @t_ns from its timeline:
 * the value after the last transition at or before @t_ns, else the value
 * before the first one; NULL when the timeline is empty. */
const char *diagnose_state_at(const struct diagnosis *self, size_t agent,
                              int is_presence, int64_t t_ns);

#endif
