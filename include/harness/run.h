/*
 * One recorded run: resolve the agents, check the budget, start the
 * observers and the replayer, wait for the duration or a stop signal, stop
 * everything in reverse order, and leave a complete history plus run.json
 * in the run directory.  SIGINT and SIGTERM must be blocked by the caller
 * in every thread before any thread starts; run_record() takes them with
 * sigwait() on a thread of its own and stops the run cleanly.
 * Not thread-safe: one run per process at a time.
 */
#ifndef RT_HARNESS_RUN_H
#define RT_HARNESS_RUN_H

#include <stdint.h>

#include "base/err.h"
#include "harness/scenario.h"

struct run_target {
    char api_url[512];
    char login_url[512];
    int is_sim;
    const char *client_id;     /* borrowed */
    const char *client_secret; /* borrowed, secret */
    const char *access_token;  /* borrowed, secret; wins when set */
    const char *label;         /* "sim", a region key or the URL */
};

struct run_outcome {
    int interrupted;       /* stopped by a signal */
    int threshold_crossed; /* a scenario threshold was crossed */
    int64_t requests;
    int64_t operations;
};

/* Record @scn against @target into @run_dir (which exists).  @quiet turns
 * off the progress line. */
enum rt_err run_record(const struct scenario *scn,
                       const struct run_target *target, const char *run_dir,
                       int quiet, struct run_outcome *out);

#endif
