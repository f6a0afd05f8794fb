/*
 * History writer.  Request sequence numbers come from an atomic counter
 * just before the row is appended, so two threads racing may append their
 * rows in the other order; readers sort by seq when order matters.
 */
#include "harness/history.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/clock.h"
#include "base/csv.h"
#include "base/log.h"
#include "base/xalloc.h"

#define HISTORY_FLUSH_NS (500 * NS_PER_MS)

struct history {
    struct csv *requests;
    struct csv *observations;
    struct csv *operations;
    struct csv_flusher *flusher;
    atomic_int_fast64_t seq;
};

const char *const history_request_cols[] = {"seq",
                                            "thread",
                                            "role",
                                            "op_id",
                                            "agent",
                                            "method",
                                            "route",
                                            "intended_wall_ns",
                                            "send_wall_ns",
                                            "recv_wall_ns",
                                            "send_mono_ns",
                                            "send_time",
                                            "latency_ns",
                                            "latency_intended_ns",
                                            "status",
                                            "transport_error",
                                            "error_code",
                                            "kind",
                                            "retry_after_s",
                                            "ratelimit_count",
                                            "ratelimit_allowed",
                                            "ratelimit_reset",
                                            "correlation_id",
                                            "version_sent",
                                            "agents_in_request"};
const char *const history_observation_cols[] = {"agent",
                                                "property",
                                                "old",
                                                "new",
                                                "bracket_start_wall_ns",
                                                "bracket_end_wall_ns",
                                                "bracket_start",
                                                "bracket_end",
                                                "server_wall_ns",
                                                "server_time",
                                                "source",
                                                "request_seq",
                                                "hidden"};
const char *const history_operation_cols[] = {"op_id",
                                              "round",
                                              "strategy",
                                              "agent",
                                              "read_version",
                                              "read_versions",
                                              "attempts",
                                              "outcome",
                                              "final_version",
                                              "wasted_requests",
                                              "requests",
                                              "start_wall_ns",
                                              "first_read_wall_ns",
                                              "last_write_wall_ns",
                                              "end_wall_ns",
                                              "start_time",
                                              "end_time",
                                              "last_status",
                                              "last_correlation_id",
                                              "intent"};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

const size_t history_n_request_cols = NCOLS(history_request_cols);
const size_t history_n_observation_cols = NCOLS(history_observation_cols);
const size_t history_n_operation_cols = NCOLS(history_operation_cols);

enum rt_err history_open(struct history **out, const char *run_dir)
{
    struct history *self = xcalloc(1, sizeof(*self));
    struct csv *all[3];
    enum rt_err err;

    if ((err = csv_open_in(&self->requests, run_dir, "requests.csv",
                           history_request_cols, history_n_request_cols,
                           CSV_STREAM)) ||
        (err = csv_open_in(&self->observations, run_dir, "observations.csv",
                           history_observation_cols, history_n_observation_cols,
                           CSV_STREAM)) ||
        (err = csv_open_in(&self->operations, run_dir, "operations.csv",
                           history_operation_cols, history_n_operation_cols,
                           CSV_STREAM)))
        goto fail;
    all[0] = self->requests;
    all[1] = self->observations;
    all[2] = self->operations;
    if ((err = csv_flusher_start(&self->flusher, all, 3, HISTORY_FLUSH_NS)))
        goto fail;
    *out = self;
    return RT_OK;
fail:
    csv_abort(self->operations);
    csv_abort(self->observations);
    csv_abort(self->requests);
    free(self);
    return err;
}

enum rt_err history_close(struct history *self)
{
    enum rt_err err = RT_OK, e;

    if (!self)
        return RT_OK;
    csv_flusher_stop(self->flusher);
    if ((e = csv_close(self->requests)))
        err = e;
    if ((e = csv_close(self->observations)))
        err = e;
    if ((e = csv_close(self->operations)))
        err = e;
    free(self);
    return err;
}

void history_flush(struct history *self)
{
    csv_flush(self->requests);
    csv_flush(self->observations);
    csv_flush(self->operations);
}

static void opt_i64(struct csv_row *row, int64_t v)
{
    if (v < 0)
        csv_row_str(row, "");
    else
        csv_row_i64(row, v);
}

int64_t history_request(struct history *self, const struct history_request *r)
{
    struct csv_row row;
    int64_t seq = atomic_fetch_add(&self->seq, 1) + 1;

    csv_row_init(&row);
    csv_row_i64(&row, seq);
    csv_row_i64(&row, r->thread);
    csv_row_str(&row, r->role);
    opt_i64(&row, r->op_id);
    csv_row_str(&row, r->agent);
    csv_row_str(&row, r->method);
    csv_row_str(&row, r->route);
    csv_row_i64(&row, r->intended_wall_ns);
    csv_row_i64(&row, r->send_wall_ns);
    csv_row_i64(&row, r->recv_wall_ns);
    csv_row_i64(&row, r->send_mono_ns);
    csv_row_time(&row, r->send_wall_ns);
    csv_row_i64(&row, r->latency_ns);
    csv_row_i64(&row, r->latency_intended_ns);
    csv_row_i64(&row, r->status);
    csv_row_str(&row, r->transport_error);
    csv_row_str(&row, r->error_code);
    csv_row_str(&row, r->kind);
    opt_i64(&row, r->retry_after_s);
    opt_i64(&row, r->ratelimit_count);
    opt_i64(&row, r->ratelimit_allowed);
    opt_i64(&row, r->ratelimit_reset);
    csv_row_str(&row, r->correlation_id);
    opt_i64(&row, r->version_sent);
    opt_i64(&row, r->agents_in_request);
    csv_write_row(self->requests, &row);
    csv_row_release(&row);
    return seq;
}

void history_observation(struct history *self,
                         const struct history_observation *o)
{
    struct csv_row row;

    csv_row_init(&row);
    csv_row_str(&row, o->agent);
    csv_row_str(&row, o->property);
    csv_row_str(&row, o->old_value);
    csv_row_str(&row, o->new_value);
    csv_row_i64(&row, o->bracket_start_wall_ns);
    csv_row_i64(&row, o->bracket_end_wall_ns);
    csv_row_time(&row, o->bracket_start_wall_ns);
    csv_row_time(&row, o->bracket_end_wall_ns);
    opt_i64(&row, o->server_wall_ns ? o->server_wall_ns : -1);
    csv_row_time(&row, o->server_wall_ns);
    csv_row_str(&row, o->source);
    opt_i64(&row, o->request_seq);
    csv_row_i64(&row, o->hidden);
    csv_write_row(self->observations, &row);
    csv_row_release(&row);
}

void history_operation(struct history *self, const struct history_operation *o)
{
    struct csv_row row;

    csv_row_init(&row);
    csv_row_i64(&row, o->op_id);
    csv_row_i64(&row, o->round);
    csv_row_str(&row, o->strategy);
    csv_row_str(&row, o->agent);
    opt_i64(&row, o->read_version);
    csv_row_str(&row, o->read_versions);
    csv_row_i64(&row, o->attempts);
    csv_row_str(&row, o->outcome);
    opt_i64(&row, o->final_version);
    csv_row_i64(&row, o->wasted_requests);
    csv_row_i64(&row, o->requests);
    csv_row_i64(&row, o->start_wall_ns);
    opt_i64(&row, o->first_read_wall_ns ? o->first_read_wall_ns : -1);
    opt_i64(&row, o->last_write_wall_ns ? o->last_write_wall_ns : -1);
    csv_row_i64(&row, o->end_wall_ns);
    csv_row_time(&row, o->start_wall_ns);
    csv_row_time(&row, o->end_wall_ns);
    csv_row_i64(&row, o->last_status);
    csv_row_str(&row, o->last_correlation_id);
    csv_row_str(&row, o->intent);
    csv_write_row(self->operations, &row);
    csv_row_release(&row);
}

uint64_t history_request_count(struct history *self)
{
    return (uint64_t)atomic_load(&self->seq);
}
