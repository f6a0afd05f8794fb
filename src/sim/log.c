/*
 * Simulator logs.  Rows are built on the caller's stack-owned row buffer
 * and copied into the CSV writer under its lock; a flusher thread pushes
 * them to disk every 500 ms (csv_flusher).
 */
#include "sim/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/csv.h"
#include "base/log.h"
#include "base/xalloc.h"

#define SIM_LOG_FLUSH_NS (500 * NS_PER_MS)

struct sim_log {
    struct csv *truth;
    struct csv *server;
    struct csv_flusher *flusher;
};

const char *const sim_log_truth_cols[] = {
    "time_wall_ns", "time", "agent", "property",
    "old",          "new",  "cause", "correlation_id"};
const size_t sim_log_n_truth_cols =
    sizeof(sim_log_truth_cols) / sizeof(sim_log_truth_cols[0]);
static const char *const server_cols[] = {
    "recv_wall_ns",    "time",       "client_id",      "token_seq",
    "method",          "path",       "route",          "agent",
    "status",          "latency_ns", "correlation_id", "version_sent",
    "version_current", "fault"};

enum rt_err sim_log_open(struct sim_log **out, const char *dir)
{
    struct sim_log *self;
    struct csv *both[2];
    enum rt_err err;

    *out = NULL;
    if (!dir || !*dir)
        return RT_OK;
    if (mkdir(dir, 0755) && errno != EEXIST)
        return rt_fail(RT_EIO, "cannot create '%s': %s", dir, strerror(errno));
    self = xcalloc(1, sizeof(*self));
    if ((err = csv_open_in(&self->truth, dir, "truth.csv", sim_log_truth_cols,
                           sim_log_n_truth_cols, CSV_STREAM)))
        goto fail;
    if ((err = csv_open_in(&self->server, dir, "server.csv", server_cols,
                           sizeof(server_cols) / sizeof(server_cols[0]),
                           CSV_STREAM)))
        goto fail;
    both[0] = self->truth;
    both[1] = self->server;
    if ((err = csv_flusher_start(&self->flusher, both, 2, SIM_LOG_FLUSH_NS)))
        goto fail;
    *out = self;
    return RT_OK;
fail:
    csv_abort(self->server);
    csv_abort(self->truth);
    free(self);
    return err;
}

void sim_log_close(struct sim_log *self)
{
    if (!self)
        return;
    csv_flusher_stop(self->flusher);
    csv_close(self->truth);
    csv_close(self->server);
    free(self);
}

void sim_log_flush(struct sim_log *self)
{
    if (!self)
        return;
    csv_flush(self->truth);
    csv_flush(self->server);
}

void sim_log_truth(struct sim_log *self, int64_t wall_ns, const char *agent,
                   const char *property, const char *old_value,
                   const char *new_value, const char *cause,
                   const char *correlation_id)
{
    struct csv_row row;

    if (!self)
        return;
    csv_row_init(&row);
    csv_row_i64(&row, wall_ns);
    csv_row_time(&row, wall_ns);
    csv_row_str(&row, agent);
    csv_row_str(&row, property);
    csv_row_str(&row, old_value);
    csv_row_str(&row, new_value);
    csv_row_str(&row, cause);
    csv_row_str(&row, correlation_id);
    csv_write_row(self->truth, &row);
    csv_row_release(&row);
}

static void row_opt_i64(struct csv_row *row, int64_t v)
{
    if (v < 0)
        csv_row_str(row, "");
    else
        csv_row_i64(row, v);
}

void sim_log_request(struct sim_log *self, const struct sim_log_request *r)
{
    struct csv_row row;

    if (!self)
        return;
    csv_row_init(&row);
    csv_row_i64(&row, r->recv_wall_ns);
    csv_row_time(&row, r->recv_wall_ns);
    csv_row_str(&row, r->client_id);
    row_opt_i64(&row, r->token_seq > 0 ? r->token_seq : -1);
    csv_row_str(&row, r->method);
    csv_row_str(&row, r->path);
    csv_row_str(&row, r->route);
    csv_row_str(&row, r->agent);
    csv_row_i64(&row, r->status);
    csv_row_i64(&row, r->latency_ns);
    csv_row_str(&row, r->correlation_id);
    row_opt_i64(&row, r->version_sent);
    row_opt_i64(&row, r->version_current);
    csv_row_str(&row, r->fault);
    csv_write_row(self->server, &row);
    csv_row_release(&row);
}
