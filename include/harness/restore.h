/*
 * Safe writes, part two (DESIGN §10): put every agent of a snapshot
 * (harness/snapshot.h) back the way it was, and verify it.  Used at the
 * end of `racetrace run` against a non-simulator target (normal end,
 * Ctrl-C or SIGTERM, once the replay has stopped) and by `racetrace
 * restore RUN` after a crash or SIGKILL.
 *
 * One agent at a time, through one session of role "restore" (budgeted
 * and recorded like every call), each agent a loop:
 *   1. re-read its current state (the snapshot's readers);
 *   2. compare it field by field with the snapshot (snapshot_diff): equal
 *      means done, "already original" when nothing was written yet,
 *      "restored" otherwise, so the verification is a re-read;
 *   3. write the original back (restore_write_for): versioned writes
 *      (user-patch, template) carry the version just read, so a conflict
 *      means someone wrote in between and the next turn re-reads and
 *      tries again; unversioned writes are last-write-wins PUT or PATCH
 *      (or the DELETE that returns utilization to the org's default);
 *   4. back off (250 ms, doubling) and go to 1; at most
 *      RESTORE_WRITE_ATTEMPTS writes, after which the agent "failed".
 * A 429, 5xx, timeout or transport error counts as an attempt and is
 * tried again; any other answer (400, 403, 404) fails the agent at once
 * with the server's message.  Running it twice is harmless: the second
 * time every agent is already original.
 *
 * Stopping.  The calls are late calls that finish their unit of work
 * (session.h must_finish): between agents the restore stops when
 * h->late_stop is set (a second Ctrl-C), leaving the rest "not_attempted"
 * and RUN/snapshot.json for `racetrace restore`; only h->late_abort (a
 * third) cuts an agent short.
 *
 * The result goes to RUN/restore.json, per agent "restored",
 * "already_original", "failed" (with the reason) or "not_attempted", and
 * into one log line: "restore: restored 150 agents (148 written back, 2
 * already original); 0 failed".
 */
#ifndef RT_HARNESS_RESTORE_H
#define RT_HARNESS_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base/err.h"
#include "harness/session.h"
#include "harness/snapshot.h"

#define RESTORE_FILE "restore.json"
#define RESTORE_WRITE_ATTEMPTS 5

struct restore_counts {
    size_t agents;           /* in the snapshot */
    size_t written;          /* written back and verified */
    size_t already_original; /* equal to the snapshot at the first read */
    size_t failed;           /* not put back; the reason in restore.json */
    size_t not_attempted;    /* the restore stopped before them */
};

/*
 * Restore every agent of @snap through @h, whose api_url and auth point
 * at the snapshot's target and whose run has stopped (h->stop set: by the
 * run, or by harness_stop() in `racetrace restore`); no other thread may
 * make calls through @h meanwhile.  Writes @run_dir/restore.json
 * (atomically) and logs one line.  RT_OK when restore.json was written
 * (@out tells what happened); RT_EIO (logged) when it could not be, or
 * the session could not be made.  Not thread-safe.
 */
enum rt_err restore_run(const struct snapshot *snap, struct harness *h,
                        const char *run_dir, struct restore_counts *out);

/* 1 when every agent is restored or already original.  Pure. */
int restore_complete(const struct restore_counts *c);

/* One write that puts an agent back. */
struct restore_write {
    const char *method;   /* "PATCH", "PUT" or "DELETE"; static or @snap's */
    char route[300];      /* template for the history */
    char path[4096];      /* path and query after the base URL */
    char *body;           /* owned JSON text, NULL for none */
    int64_t version_sent; /* the version in the body, -1 when unversioned */
};

/*
 * The write that puts state @orig of @agent back over its current state
 * @cur (both in the snapshot's shape): user-patch PATCH /users/{id} with
 * @cur's version and every snapshotted field; template the template's own
 * write, "{version}" as @cur's version, every snapshotted field set to
 * its original value; utilization-put DELETE when the original level was
 * Organization, else PUT of the original maps; skills-bulk-patch PATCH
 * .../routingskills/bulk with the original proficiency of each skill that
 * differs; queue-join PATCH /users/{id}/queues with the original joined
 * flag of each queue that differs.  RT_OK and @out (release with
 * restore_write_release()); RT_ENOENT with the reason in @why (@why_len
 * bytes) when a difference is not something a write can undo (a queue
 * membership that is gone); RT_EINVAL when @cur has no version where one
 * is needed or a path is too long.  Pure and thread-safe.
 */
enum rt_err restore_write_for(const struct snapshot *snap, const char *agent,
                              const cJSON *orig, const cJSON *cur,
                              struct restore_write *out, char *why,
                              size_t why_len);
void restore_write_release(struct restore_write *w);

#endif
