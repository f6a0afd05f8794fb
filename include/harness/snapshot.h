/*
 * Safe writes, part one (DESIGN §10): the original state of everything the
 * replay will touch, read for every agent of the run before the replay's
 * first write to a target that is not the embedded simulator, and saved to
 * RUN/snapshot.json (written to a temporary file, fsync'd, renamed, and
 * the directory fsync'd, so the file is complete and durable before the
 * first write leaves).  harness/restore.h puts it back.
 *
 * What "touched" means depends on replay.operation, and each agent's entry
 * in snapshot.json has this shape:
 *
 *   user-patch         {"id", "version", "fields": {"department": ...}}
 *                      the fields the replay's PATCH body sets (only
 *                      department, whatever the strategy or per_agent),
 *                      and the version at capture, for the record.
 *   utilization-put    {"id", "level", "utilization", "labelUtilizations"}
 *                      the whole GET .../utilization answer; level
 *                      "Organization" means the agent had no settings of
 *                      its own and is restored with a DELETE.
 *   skills-bulk-patch  {"id", "skills": [{"id", "name", "proficiency"}]}
 *                      every assigned skill (every page).
 *   queue-join         {"id", "queues": [{"id", "name", "joined"}]}
 *                      every queue the agent is a member of, joined or
 *                      not (both lists, every page).
 *   template           {"id", "version", "fields": {...}, "resource": {...}}
 *                      the whole read resource, for the record, and the
 *                      top-level keys the template's write body sets with
 *                      a value of its own (not "{version}" or "{id}",
 *                      nowhere inside either), with their values in the
 *                      read resource: those are what the restore writes
 *                      back, with the template's own write method and
 *                      path.  Against a non-simulator target a template is
 *                      refused before anything runs when that cannot be
 *                      done safely: a POST (a create cannot be undone by a
 *                      write), a body that is not an object, or a
 *                      written key the read resource does not return.
 *
 * Comparison (snapshot_diff) is field by field: department; level, each
 * media type of utilization (Agent level only: at Organization level the
 * values are the org's, not the agent's) and labelUtilizations; each
 * snapshotted skill's proficiency (a skill removed since counts, one added
 * does not: the replay adds none); each snapshotted queue's joined flag
 * (membership lost counts); each template field.  A missing member, null
 * and "" are the same value: the API does not tell them apart reliably.
 * Versions are never compared: other writers move them.
 *
 * Plain data once built; the functions that read the target use the
 * caller's session and are not thread-safe on it.
 */
#ifndef RT_HARNESS_SNAPSHOT_H
#define RT_HARNESS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/jread.h"
#include "harness/scenario.h"
#include "harness/session.h"

#define SNAPSHOT_FILE "snapshot.json"
#define SNAPSHOT_FORMAT 1
/* Reads of one agent's state: attempts on a 429, 5xx, timeout or
 * transport error before giving up. */
#define SNAPSHOT_READ_ATTEMPTS 5
/* Pages of one listing at most (100 entities each). */
#define SNAPSHOT_PAGES_MAX 100

struct snapshot_agent {
    char *id;     /* owned */
    cJSON *state; /* owned: the entry above without "id" */
};

struct snapshot {
    enum scn_operation operation;
    char scenario[SCN_NAME_MAX];
    char target[SCN_TARGET_MAX];   /* as given: region key, domain or URL */
    char api_url[HARNESS_URL_MAX]; /* where the state was read */
    int64_t budget_per_minute;     /* the run's budget, for the restore */
    int64_t taken_wall_ns;         /* when the capture finished */
    struct scn_template tmpl;      /* template only; write_body owned */
    struct snapshot_agent *agents; /* owned, in the run's agent order */
    size_t n_agents;
};

/* Empty snapshot.  Not thread-safe. */
void snapshot_init(struct snapshot *self);
/* Free everything it owns and empty it.  Not thread-safe. */
void snapshot_release(struct snapshot *self);

/*
 * Whether @scn's replay can be snapshotted and restored against a target
 * that is not the embedded simulator: RT_OK, or RT_EINVAL with one line
 * logged naming the file, the JSON path and why (templates only, see
 * above).  Pure.
 */
enum rt_err snapshot_check_scenario(const struct scenario *scn);

/*
 * Read the original state of every agent of @h (h->agent_ids) for
 * h->scn's operation into @self (initialised, empty), through a session of
 * role "snapshot" (budgeted and recorded like every call).  user-patch
 * reads up to 100 agents a request (GET /api/v2/users?id=...); the others
 * read each agent's resource, every page.  A read answered 429, 5xx or
 * not at all is tried again, up to SNAPSHOT_READ_ATTEMPTS.  @target is the
 * run's target label (kept for `racetrace restore`), @budget_per_minute
 * its budget.  RT_OK with every agent read; otherwise an error (one line
 * logged naming the agent and the answer, or RT_EINTR when the run
 * stopped) and @self released.  Call from one thread.
 */
enum rt_err snapshot_take(struct snapshot *self, struct harness *h,
                          const char *target, int64_t budget_per_minute);

/*
 * The current state of @agent in the shape of @self's entries, through
 * @s (the caller's session, whose calls are made with the @late and
 * must_finish flags given here).  RT_OK and *@state (caller frees);
 * otherwise an error, nothing in *@state, and the reason in @why (one
 * line, @why_len bytes): the read's status and message, or "interrupted"
 * (RT_EINTR).  Retries as snapshot_take() does, waiting between tries
 * with harness_wait_finish() for late calls.  Not thread-safe on @s.
 */
enum rt_err snapshot_read_state(const struct snapshot *self, struct harness *h,
                                struct session *s, int late, const char *agent,
                                cJSON **state, char *why, size_t why_len);

/*
 * Compare @orig (an entry's state) with @cur (snapshot_read_state() of the
 * same agent) field by field, as described above.  Returns how many
 * fields differ and, when @fields is not NULL, appends their names
 * ("department", "level", "utilization.call", "labelUtilizations",
 * "skill.<id>", "queue.<id>", or the template key), comma-separated.
 * Pure and thread-safe.
 */
size_t snapshot_diff(const struct snapshot *self, const cJSON *orig,
                     const cJSON *cur, struct buf *fields);

/* The document written to snapshot.json.  Caller frees. */
cJSON *snapshot_to_json(const struct snapshot *self);

/*
 * Read a snapshot.json document into @self (initialised, empty).  Strict:
 * unknown keys, a missing member or a wrong type are errors recorded in
 * @jr naming the JSON path ("agents[3].fields"); @self is released then.
 * Not thread-safe.
 */
enum rt_err snapshot_from_json(struct snapshot *self, struct jread *jr,
                               const cJSON *root);
/* The same from a file (jread_load_file()). */
enum rt_err snapshot_load(struct snapshot *self, struct jread *jr,
                          const char *path);

/* @tmpl with every "{id}" replaced by @id, into @out (@cap bytes); 0, or
 * -1 when it does not fit.  Pure. */
int snapshot_expand_path(char *out, size_t cap, const char *tmpl,
                         const char *id);

/* Write snapshot_to_json() to @path durably: a temporary file, fsync,
 * rename, fsync of the directory.  RT_EIO (logged) on failure, when the
 * old file, if any, is left as it was. */
enum rt_err snapshot_save(const struct snapshot *self, const char *path);

#endif
