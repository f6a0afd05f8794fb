/*
 * A run directory loaded for analysis (DESIGN §7, §8.1, §11), with memory
 * proportional to the agents and the observations, not to the requests:
 *
 *   observations.csv  every row, as per-agent timelines;
 *   operations.csv    every row (one per logical update);
 *   requests.csv      streamed once: counted (by status, kind and role),
 *                     latencies folded into fixed histograms, and only two
 *                     kinds of row kept: the harness's own writes and the
 *                     replay's version conflicts;
 *   run.json          start, end and the resolved scenario (optional: a
 *                     run killed outright has none, and the window is then
 *                     taken from the data); whether it was a dry run and
 *                     how many writes it listed; our own OAuth client id, the
 *                     notifications stream's counters and what the audit
 *                     and analytics queries returned (all optional: old
 *                     runs have none of them);
 *   audit.csv         optional: every row, as per-agent audit records
 *                     (who wrote to which user, when), kept only for
 *                     agents the history names.
 *
 * The simulator's truth.csv is loaded apart, into struct runload_truth, by
 * runload_truth_load(): it scores a diagnosis and is never evidence, so no
 * function here takes it.
 *
 * Errors: every parse error names the file and line (base/csvr) and is
 * RT_EPARSE, audit.csv's included; a missing history file is RT_ENOENT
 * (a missing audit.csv is not an error: the run had no audit).  A truncated
 * last row (the run was killed mid-write) is skipped with a warning, because
 * the history's contract is whole rows up to the last flush.
 *
 * Strings (ids, values, correlation ids) are owned by the run and live
 * until runload_free(); values that repeat (presence names, kinds, roles,
 * methods, routes, strategies, outcomes, sources) are interned, so equal
 * values have equal pointers within one run.  Everything is read-only
 * after loading.  runload_load() uses no shared state, so different runs
 * may load in different threads; a loaded run may be read from any number
 * of threads at once.
 */
#ifndef RT_ANALYSIS_RUNLOAD_H
#define RT_ANALYSIS_RUNLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base/err.h"

/* "No index": an agent or write that is not there. */
#define RUNLOAD_NONE SIZE_MAX

enum runload_prop {
    RUNLOAD_VERSION, /* the user's version */
    RUNLOAD_PRESENCE,
    RUNLOAD_ROUTING, /* routing status */
};

/* One observed change of one agent's property (observations.csv). */
struct runload_obs {
    enum runload_prop prop;
    int64_t bracket_start_wall_ns; /* last time the old value was seen */
    int64_t bracket_end_wall_ns;   /* first time the new value was seen */
    int64_t server_wall_ns;        /* server's own time, 0 when none */
    /* RUNLOAD_VERSION: old < new, hidden = new - old - 1 bumps not seen;
     * -1, -1, 0 otherwise. */
    int64_t old_version, new_version, hidden;
    /* Presence and routing: the values (interned); NULL for versions. */
    const char *old_value, *new_value;
    const char *source;  /* poll, stream, analytics (interned) */
    int64_t request_seq; /* request that saw it, -1 when none */
    uint64_t line;       /* where in observations.csv */
};

/*
 * A write by the harness's replayer: a requests.csv row with role "replay"
 * and method PATCH, PUT, POST or DELETE that either succeeded (2xx) or got
 * no response at all (status 0: it may have committed, the client cannot
 * know).  Writes answered with anything else changed nothing and are not
 * kept (version conflicts are kept apart, see struct runload_conflict).
 */
struct runload_write {
    int64_t seq;
    int64_t op_id;      /* -1 when not part of an operation */
    const char *method; /* interned */
    const char *route;  /* template (interned) */
    int64_t send_wall_ns, recv_wall_ns;
    int status;           /* 2xx, or 0 for no response */
    int64_t version_sent; /* -1 for an unversioned write */
    /*
     * The version this write created, -1 when unversioned.  From the
     * operation's final_version when this is the last write of an
     * operation that ended "ok" (that version came from the response body
     * or from the re-read that showed the write landed); else
     * version_sent + 1, the API's documented increment.
     */
    int64_t version_after;
    /* 1: known to have landed (2xx, or the operation's re-read showed
     * it); 0: no response and no proof either way. */
    int confirmed;
    const char *correlation_id; /* ININ-Correlation-Id (owned by the run) */
};

/* A request of the replay (role "replay": the job under test) classified
 * as a version conflict (kind "conflict": 409, or 400 "does not match the
 * current version").  Other roles' conflicts (a restore's) are only
 * counted, in runload_requests.conflicts_other_roles. */
struct runload_conflict {
    int64_t seq;
    int64_t op_id;
    size_t agent; /* index into runload.agents, RUNLOAD_NONE when empty */
    const char *role, *method, *route, *error_code; /* interned */
    int64_t intended_wall_ns, send_wall_ns, recv_wall_ns;
    int status;
    int64_t version_sent; /* -1 when none was sent */
    const char *correlation_id;
};

/* A logical update (operations.csv).  Times 0 when absent. */
struct runload_op {
    int64_t op_id;
    int64_t round;
    const char *strategy; /* interned */
    size_t agent;         /* index into runload.agents */
    int64_t read_version; /* -1 when unversioned */
    const char *read_versions;
    int64_t attempts;
    /* ok, conflict, gave_up, error, unknown, dry_run (a dry run's: no
     * write was sent); interned. */
    const char *outcome;
    int64_t final_version; /* -1 when none */
    int64_t wasted_requests, requests;
    int64_t start_wall_ns, first_read_wall_ns, last_write_wall_ns, end_wall_ns;
    int64_t last_status;
    const char *last_correlation_id, *intent;
    uint64_t line;
};

/* One audit record of a tracked agent (audit.csv): who changed the user,
 * through which OAuth client or application, and when. */
struct runload_audit {
    const char *id;  /* audit_id (owned by the run) */
    int64_t wall_ns; /* event time, the server's */
    /* Interned; "" when empty. */
    const char *service, *entity_type, *action;
    const char *level;  /* USER, SYSTEM, ... */
    const char *status; /* SUCCESS, FAILURE, ... */
    const char *user_id, *user_name, *client_id, *application;
    const char *properties; /* changed properties as recorded (owned) */
    uint64_t line;          /* where in audit.csv */
};

struct runload_agent {
    const char *id;
    /* Observed changes, by bracket end (then file order). */
    struct runload_obs *obs;
    size_t n_obs;
    /* The harness's writes to this agent, by send time (then seq). */
    struct runload_write *writes;
    size_t n_writes;
    /* Audit records of this agent, by event time (then file order). */
    struct runload_audit *audits;
    size_t n_audits;
};

/*
 * What one post-run evidence query returned (run.json "evidence.audit" or
 * "evidence.analytics").  @status is NULL when run.json does not say (an
 * old run); strings are owned by the run.
 */
struct runload_query {
    const char *status;     /* ok, forbidden, failed, interrupted, skipped */
    const char *message;    /* NULL when none */
    const char *permission; /* the permission missing or used, NULL */
    /* Counts as the recorder reported them, -1 when absent. */
    int64_t records;     /* audit: records returned */
    int64_t users;       /* analytics: users queried */
    int64_t transitions; /* analytics: transitions returned */
};

/*
 * Latency histogram: log-linear buckets, exact below 128 ns, then 128
 * buckets per power of two, so any value is known to within 1/128 of
 * itself and quantiles are reported to within 1/256 (the bucket middle).
 * Fixed size (about 57 KiB), so memory does not grow with requests.
 */
#define RUNLOAD_HIST_SUB_BITS 7
#define RUNLOAD_HIST_BUCKETS                                                   \
    ((64 - RUNLOAD_HIST_SUB_BITS) << RUNLOAD_HIST_SUB_BITS)

struct runload_hist {
    uint64_t n;
    int64_t min_ns, max_ns; /* exact */
    uint64_t *counts;       /* RUNLOAD_HIST_BUCKETS; NULL while n == 0 */
};

/*
 * Quantile @q in [0, 1] of @h by nearest rank: the smallest recorded value
 * v such that at least ceil(q n) values are <= v (q = 0 gives the
 * minimum), reported as the middle of v's bucket clamped to [min, max].
 * NaN when empty or @q is outside [0, 1].  Thread-safe.
 */
double runload_hist_quantile(const struct runload_hist *h, double q);

/* A count of rows with one value of a column. */
struct runload_count {
    const char *name; /* interned */
    uint64_t n;
};

#define RUNLOAD_STATUS_MAX 1000 /* statuses are 0 (no response) to 999 */

/* Requests sent in one second of the run, by classified kind: ok (2xx),
 * conflict (a version conflict), throttled (429), error (anything else).
 * The run's own traffic only: every role but "snapshot", "restore",
 * "audit" and "analytics" (the safety around the job's writes and the
 * evidence queries after the run). */
struct runload_second {
    uint32_t ok, conflict, throttled, error;
};

/* What requests.csv holds, in aggregate. */
struct runload_requests {
    uint64_t rows;
    uint64_t by_status[RUNLOAD_STATUS_MAX];
    struct runload_count *by_kind; /* in order of first appearance */
    size_t n_kinds;
    struct runload_count *by_role;
    size_t n_roles;
    int64_t max_seq;
    int64_t first_send_wall_ns, last_recv_wall_ns; /* 0 when no rows */
    /* latency_ns of every request of the run's own traffic (the roles of
     * struct runload_second) that got a response (status > 0), and per
     * status (0 included); latency_by_status[s] is NULL when no such
     * request had status s.  by_status above counts every request. */
    struct runload_hist latency;
    struct runload_hist *latency_by_status[RUNLOAD_STATUS_MAX];
    /* per_second[i]: requests of the run's own traffic sent in [base + i
     * s, base + (i + 1) s); memory grows with the run's length, not its
     * requests. */
    struct runload_second *per_second;
    size_t n_seconds;
    int64_t per_second_base_ns; /* second 0 starts here (the first such
                                   row's send) */
    /* Version conflicts of roles other than the replay (a restore's
     * versioned writes): not the job's, not kept. */
    uint64_t conflicts_other_roles;
    /* Requests of any role sent after a 429 had been received and before
     * its Retry-After had passed (rows in file order, which is completion
     * order, so every earlier 429 is known when a row is read). */
    uint64_t retry_after_ignored;
    uint64_t throttled_with_retry_after; /* 429s that carried Retry-After */
};

struct runload_priv;

struct runload {
    char *dir;
    /* Every agent named in observations, operations, own writes or
     * conflicts, sorted by id. */
    struct runload_agent *agents;
    size_t n_agents;
    struct runload_op *ops; /* by op_id (then file order) */
    size_t n_ops;
    struct runload_conflict *conflicts; /* by seq */
    size_t n_conflicts;
    struct runload_requests requests;
    size_t n_obs;    /* over all agents */
    size_t n_writes; /* over all agents */
    size_t n_writes_confirmed;
    size_t n_obs_skipped; /* rows of a property this loader does not know */
    int truncated_files;  /* files whose truncated last row was skipped */

    /* run.json.  Its times are JSON numbers, read as doubles: exact to
     * about 256 ns at today's epoch, plenty for a run's window.  Without
     * run.json they are the earliest and latest times in the history. */
    int has_run_json;
    int64_t start_wall_ns, end_wall_ns;
    int interrupted;
    int simulator; /* the target was the embedded simulator */
    /* run.json "dry_run": the replay sent no write (racetrace run
     * --dry-run); dry_run_writes: the writes it listed instead
     * (counts.operations.dry_run), -1 when run.json does not say. */
    int dry_run;
    int64_t dry_run_writes;
    const char *tool_version; /* "" when unknown */
    cJSON *scenario;          /* the resolved scenario, NULL without run.json */
    /* run.json target.client_id: the OAuth client the job wrote with,
     * "" when unknown. */
    const char *client_id;
    /* run.json "stream" (the notifications stream's counters), NULL when
     * the run polled; owned by the run. */
    cJSON *stream;
    struct runload_query audit_query, analytics_query;

    /* Observations by source (all properties). */
    size_t n_obs_stream, n_obs_analytics;
    /* audit.csv: present at all; rows kept; rows of agents the history
     * does not name (counted, not kept). */
    int has_audit;
    size_t n_audits;
    size_t n_audits_unknown_agent;

    struct runload_priv *priv;
};

/*
 * Load the run in @run_dir.  On success *out is the caller's, freed with
 * runload_free().  RT_ENOENT when a history file is missing, RT_EPARSE on
 * malformed content (file and line logged), RT_EIO when reading fails;
 * nothing to release on failure.
 */
enum rt_err runload_load(struct runload **out, const char *run_dir);
void runload_free(struct runload *self); /* NULL-safe */

/* The first operation with @op_id (binary search over run->ops), or NULL;
 * NULL for a negative id (a request outside any operation).  Pure. */
const struct runload_op *runload_find_op(const struct runload *run,
                                         int64_t op_id);

/* Index of agent @id in self->agents, RUNLOAD_NONE when absent.
 * Thread-safe. */
size_t runload_agent_index(const struct runload *self, const char *id);

/* Rows of requests.csv with kind (or role) @name; 0 when none.
 * Thread-safe. */
uint64_t runload_kind_count(const struct runload *self, const char *name);
uint64_t runload_role_count(const struct runload *self, const char *name);

/* ---- Own vs foreign bumps (DESIGN §8.1) ------------------------------ */

enum runload_origin {
    RUNLOAD_OWN,             /* created by a confirmed write of ours */
    RUNLOAD_OWN_UNCONFIRMED, /* by a write of ours that got no response */
    RUNLOAD_FOREIGN,         /* by anyone else */
};

/* One version bump: the creation of one version of one agent. */
struct runload_bump {
    size_t agent;    /* index into runload.agents */
    size_t obs;      /* the observation that revealed it, in agent.obs */
    int64_t version; /* the version it created */
    /* The observation's bracket: the bump happened before its end (and,
     * barring stale reads, after its start). */
    int64_t bracket_start_wall_ns, bracket_end_wall_ns;
    int hidden; /* 1: an intermediate version the observers never saw */
    enum runload_origin origin;
    size_t write; /* index into agent.writes when own, else RUNLOAD_NONE */
};

struct runload_bumps {
    struct runload_bump *items; /* by agent, then timeline, then version */
    size_t n;
    size_t n_own, n_own_unconfirmed, n_foreign, n_hidden;
    /* Confirmed versioned writes whose version no observation covered
     * (e.g. written after the last sample). */
    size_t n_writes_unseen;
};

/*
 * Split every observed version bump of @run into own and foreign.
 *
 * An observation old -> new of agent A stands for new - old bumps, one per
 * version v in old+1 .. new (all but the last hidden).  Bump v is OWN when
 * a confirmed write w of ours to A has w.version_after == v and
 * w.send_wall_ns <= the observation's bracket end (we cannot have created
 * a version someone saw before we sent the write; there is no lower bound,
 * because a lagging read may show an old version after our write landed).
 * Failing that, it is OWN_UNCONFIRMED when an unconfirmed write (no
 * response) matches the same way, else FOREIGN.  Each write explains at
 * most one bump; candidates are taken in send order.  Version numbers are
 * unique per agent, so the time test only guards against inconsistent
 * data.
 *
 * On RT_OK *out is filled and owned by the caller, released with
 * runload_bumps_release().  Thread-safe (reads @run only).
 */
enum rt_err runload_classify_bumps(const struct runload *run,
                                   struct runload_bumps *out);
void runload_bumps_release(struct runload_bumps *self); /* NULL-safe */

/* ---- Ground truth (simulator runs only; scoring, never evidence) ----- */

/* One version bump as the simulator logged it (truth.csv). */
struct runload_truth_bump {
    int64_t wall_ns;
    int64_t old_version, new_version;
    const char *cause;          /* actor name or client:<id> (interned) */
    const char *correlation_id; /* owned by the truth */
    uint64_t line;
};

struct runload_truth_agent {
    struct runload_truth_bump *bumps; /* by new_version */
    size_t n_bumps;
};

struct runload_truth_priv;

struct runload_truth {
    /* Indexed like the run's agents (same n_agents). */
    struct runload_truth_agent *agents;
    size_t n_agents;
    size_t n_bumps;
    /* Bumps of agents the run never saw: counted, not kept. */
    size_t n_unknown_agent_bumps;
    struct runload_truth_priv *priv;
};

/*
 * Load truth.csv from @run_dir, its agents indexed like @run's (borrowed
 * for the call).  RT_OK with *out NULL when the run has no truth.csv (a
 * real org).  Errors as runload_load().  Caller frees with
 * runload_truth_free().
 */
enum rt_err runload_truth_load(struct runload_truth **out,
                               const struct runload *run, const char *run_dir);
void runload_truth_free(struct runload_truth *self); /* NULL-safe */

/* The bump that created version @new_version of agent @agent, or NULL.
 * Thread-safe. */
const struct runload_truth_bump *
runload_truth_find(const struct runload_truth *self, size_t agent,
                   int64_t new_version);

#endif
