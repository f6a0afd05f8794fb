/*
 * One recorded run: resolve the agents, check the budget, start the
 * observers, snapshot what the replay will touch (non-simulator targets),
 * start the replayer, wait for the duration or a stop signal, stop
 * everything in reverse order, put the snapshotted agents back, and leave
 * a complete history plus run.json in the run directory.  SIGINT, SIGTERM
 * and SIGUSR1 must be blocked by the caller in every thread before any
 * thread starts; run_record() takes them on a thread of its own
 * (harness/sigwatch.h) and stops the run cleanly.
 * Not thread-safe: one run per process at a time.
 */
#ifndef RT_HARNESS_RUN_H
#define RT_HARNESS_RUN_H

#include <stdint.h>

#include "base/err.h"
#include "harness/restore.h"
#include "harness/scenario.h"

/* Requests a minute per token when the scenario names no budget and the
 * target is not the embedded simulator. */
#define RUN_REAL_ORG_BUDGET_PER_MIN 300

struct run_target {
    char api_url[512];
    char login_url[512];
    int is_sim;                /* the embedded simulator, nothing else */
    const char *client_id;     /* borrowed */
    const char *client_secret; /* borrowed, secret */
    const char *access_token;  /* borrowed, secret; wins when set */
    const char *label;         /* "sim", a region key or the URL */
};

struct run_options {
    int quiet; /* no progress line */
    /* Do every read, list every write the replay would make in
     * RUN/dry-run.txt (harness/dryrun.h) and send none. */
    int dry_run;
};

struct run_outcome {
    int interrupted;       /* stopped by a signal */
    int threshold_crossed; /* a scenario threshold was crossed */
    int64_t requests;
    int64_t operations;
    int64_t dry_run_writes; /* writes listed, not sent (dry run) */
    /* Safe writes (non-simulator target, replay on, not a dry run):
     * RUN/snapshot.json was written before the first write, and the
     * restore's counts (RUN/restore.json). */
    int snapshot_taken;
    int restored; /* the restore ran and wrote restore.json */
    struct restore_counts restore;
};

/*
 * Record @scn against @target into @run_dir (which exists).  RT_OK when
 * the run was recorded, whatever the restore did (read @out->restore);
 * an error when the run failed (logged).
 */
enum rt_err run_record(const struct scenario *scn,
                       const struct run_target *target, const char *run_dir,
                       const struct run_options *opt, struct run_outcome *out);

#endif
