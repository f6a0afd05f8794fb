/*
 * The simulator's two logs, written in whole rows and flushed by a
 * background thread every 500 ms so an interrupted simulator keeps what it
 * recorded:
 *   truth.csv   every state change (time, agent, property, old, new, cause,
 *               correlation id) — ground truth, used only to score a
 *               diagnosis, never as its input;
 *   server.csv  every request from any client (time, client, method, path,
 *               route, agent, status, latency, correlation id, versions sent
 *               and current, fault).
 * A NULL struct sim_log (no log directory) accepts and drops every row.
 * Thread-safe.
 */
#ifndef RT_SIM_LOG_H
#define RT_SIM_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* truth.csv's columns, in order (read by analysis/runload, written by
 * bench/gen_history too).  Read-only. */
extern const char *const sim_log_truth_cols[];
extern const size_t sim_log_n_truth_cols;

struct sim_log;

struct sim_log_request {
    int64_t recv_wall_ns;
    int64_t latency_ns;    /* receipt of the request to response queued */
    const char *client_id; /* "" before authentication */
    int64_t token_seq;     /* which token (never the token itself); 0 none */
    const char *method;
    const char *path;
    const char *route; /* template, e.g. "/api/v2/users/{id}" */
    const char *agent; /* user id in the path, or "" */
    int status;        /* 0 when the connection was dropped */
    const char *correlation_id;
    int64_t version_sent;    /* -1 when none */
    int64_t version_current; /* -1 when not applicable */
    const char *fault;       /* "" or "5xx", "drop", "lost_response" */
};

/* Open truth.csv and server.csv in @dir (created if missing).  *out is
 * NULL when @dir is NULL or "". */
enum rt_err sim_log_open(struct sim_log **out, const char *dir);
/* Flush, stop the flusher and close both files.  NULL-safe. */
void sim_log_close(struct sim_log *self);

void sim_log_truth(struct sim_log *self, int64_t wall_ns, const char *agent,
                   const char *property, const char *old_value,
                   const char *new_value, const char *cause,
                   const char *correlation_id);
void sim_log_request(struct sim_log *self, const struct sim_log_request *r);
/* Push buffered rows to disk now. */
void sim_log_flush(struct sim_log *self);

#endif
