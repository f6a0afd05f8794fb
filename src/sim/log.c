/*
 * Simulator logs.  Rows are built on the caller's stack-owned row buffer
 * and copied into the CSV writer under its lock; a flusher thread pushes
 * them to disk every 500 ms.  The flusher waits on a condition variable
 * with CLOCK_MONOTONIC so sim_log_close() wakes it at once.
 */
#include "sim/log.h"

#include <errno.h>
#include <pthread.h>
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
    pthread_t flusher;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stopping;
};

static const char *const truth_cols[] = {
    "time_wall_ns", "time", "agent", "property", "old", "new", "cause",
    "correlation_id"};
static const char *const server_cols[] = {
    "recv_wall_ns",   "time",    "client_id",     "token_seq",
    "method",         "path",    "route",         "agent",
    "status",         "latency_ns", "correlation_id", "version_sent",
    "version_current", "fault"};

static void *flusher_main(void *arg)
{
    struct sim_log *self = arg;

    pthread_mutex_lock(&self->lock);
    while (!self->stopping) {
        struct timespec ts =
            clock_mono_timespec(clock_mono_ns() + SIM_LOG_FLUSH_NS);
        pthread_cond_timedwait(&self->cond, &self->lock, &ts);
        pthread_mutex_unlock(&self->lock);
        csv_flush(self->truth);
        csv_flush(self->server);
        pthread_mutex_lock(&self->lock);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

static enum rt_err open_one(struct csv **out, const char *dir,
                            const char *name, const char *const *cols,
                            size_t ncols)
{
    char path[4096];

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
        sizeof(path))
        return rt_fail(RT_EINVAL, "log directory path too long: '%s'", dir);
    return csv_open(out, path, cols, ncols, CSV_STREAM);
}

enum rt_err sim_log_open(struct sim_log **out, const char *dir)
{
    struct sim_log *self;
    pthread_condattr_t attr;
    enum rt_err err;
    int rc;

    *out = NULL;
    if (!dir || !*dir)
        return RT_OK;
    if (mkdir(dir, 0755) && errno != EEXIST)
        return rt_fail(RT_EIO, "cannot create '%s': %s", dir,
                       strerror(errno));
    self = xcalloc(1, sizeof(*self));
    if ((err = open_one(&self->truth, dir, "truth.csv", truth_cols,
                        sizeof(truth_cols) / sizeof(truth_cols[0]))))
        goto fail;
    if ((err = open_one(&self->server, dir, "server.csv", server_cols,
                        sizeof(server_cols) / sizeof(server_cols[0]))))
        goto fail;
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cond, &attr);
    pthread_condattr_destroy(&attr);
    if ((rc = pthread_create(&self->flusher, NULL, flusher_main, self))) {
        err = rt_fail(RT_ESYS, "cannot start log flusher: %s", strerror(rc));
        pthread_cond_destroy(&self->cond);
        pthread_mutex_destroy(&self->lock);
        goto fail;
    }
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
    pthread_mutex_lock(&self->lock);
    self->stopping = 1;
    pthread_cond_signal(&self->cond);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->flusher, NULL);
    csv_close(self->truth);
    csv_close(self->server);
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
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
