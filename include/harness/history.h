/*
 * The run's history: requests.csv, observations.csv and operations.csv in
 * the run directory, the contract between recording and analysis (DESIGN
 * §7).  One writer per file, shared by every thread: rows are copied in
 * whole under the writer's lock, so they never interleave, and a flusher
 * pushes them to disk every 500 ms, so an interrupted run keeps what it
 * recorded.  Times are integer nanoseconds (wall and mono) plus ISO-8601
 * UTC with milliseconds for people.  Thread-safe.
 */
#ifndef RT_HARNESS_HISTORY_H
#define RT_HARNESS_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct history;

/* One HTTP exchange by the harness.  Strings are borrowed; NULL prints as
 * empty; -1 in an optional number prints as empty. */
struct history_request {
    int thread;
    const char *role;  /* observe, replay, auth, audit, analytics */
    int64_t op_id;     /* -1 when not part of an operation */
    const char *agent; /* user id, or "" for bulk reads */
    const char *method;
    const char *route;        /* template, e.g. "/api/v2/users/{id}" */
    int64_t intended_wall_ns; /* when it was meant to go (pacing) */
    int64_t send_wall_ns;
    int64_t recv_wall_ns;
    int64_t send_mono_ns;
    int64_t latency_ns;          /* receive - send */
    int64_t latency_intended_ns; /* receive - intended (wrk2 style) */
    int status;                  /* 0 when no response */
    const char *transport_error; /* curl's message, or "" */
    const char *error_code;      /* ErrorBody code, or "" */
    const char *kind;            /* classification (api/classify) */
    int64_t retry_after_s;
    int64_t ratelimit_count, ratelimit_allowed, ratelimit_reset;
    const char *correlation_id;
    int64_t version_sent;      /* versioned writes; -1 otherwise */
    int64_t agents_in_request; /* bulk reads: how many agents */
};

/* One observed change of an agent property. */
struct history_observation {
    const char *agent;
    const char *property; /* version, presence, routing_status */
    const char *old_value;
    const char *new_value;
    int64_t bracket_start_wall_ns; /* last time the old value was seen */
    int64_t bracket_end_wall_ns;   /* first time the new value was seen */
    int64_t server_wall_ns;        /* server's own time (modifiedDate,
                                      startTime), 0 if none */
    const char *source;            /* poll, stream, analytics */
    int64_t request_seq;           /* request that saw it, -1 if none */
    int64_t hidden;                /* version jumps > 1: bumps not seen */
};

/* One logical update of one agent. */
struct history_operation {
    int64_t op_id;
    int round;
    const char *strategy;
    const char *agent;
    int64_t read_version;      /* version the first write was based on */
    const char *read_versions; /* every version read, ";"-joined */
    int attempts;              /* writes sent */
    const char *outcome;       /* ok, conflict, gave_up, error, unknown */
    int64_t final_version;     /* after the last successful write, -1 */
    int64_t wasted_requests;   /* requests that did not lead to success */
    int64_t requests;          /* every request of the operation */
    int64_t start_wall_ns;
    int64_t first_read_wall_ns;
    int64_t last_write_wall_ns;
    int64_t end_wall_ns;
    int last_status;
    const char *last_correlation_id;
    const char *intent; /* what the write set, e.g. department=X */
};

/* The columns of each file, in order: the contract with the analysis
 * (analysis/runload) and with bench/gen_history.  Read-only. */
extern const char *const history_request_cols[];
extern const size_t history_n_request_cols;
extern const char *const history_observation_cols[];
extern const size_t history_n_observation_cols;
extern const char *const history_operation_cols[];
extern const size_t history_n_operation_cols;

/* Create the three files in @run_dir (which must exist). */
enum rt_err history_open(struct history **out, const char *run_dir);
/* Flush and close everything.  NULL-safe.  Not thread-safe: every other
 * thread must have stopped writing. */
enum rt_err history_close(struct history *self);
/* Push buffered rows to disk now. */
void history_flush(struct history *self);

/* Append a row; returns the request's sequence number (1, 2, ...). */
int64_t history_request(struct history *self, const struct history_request *r);
void history_observation(struct history *self,
                         const struct history_observation *o);
void history_operation(struct history *self, const struct history_operation *o);

/* Rows written so far. */
uint64_t history_request_count(struct history *self);

#endif
