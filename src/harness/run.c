/*
 * The run's lifecycle (see include/harness/run.h).  Wiring order, as wrk
 * does it: history → auth → limiter → signals → agents → tracker → budget
 * check → progress → observers → snapshot (non-simulator targets) →
 * replayer → wait → stop → join in reverse → after the stop: restore →
 * close the history → run.json.  Everything recorded before a stop is
 * kept: the history files are streams flushed every 500 ms, and a stop
 * only ends the threads, never discards rows.
 *
 * Safe writes.  Against anything but the embedded simulator the replay's
 * first write waits for RUN/snapshot.json: the snapshot is taken on the
 * run's own thread while the observers already run, saved durably, and
 * only then is the replayer started, so no write can leave before it is
 * on disk.  Whatever ends the run (its duration, Ctrl-C, SIGTERM, an
 * error after the snapshot), the restore runs once the replayer has
 * joined.  Work that runs after the stop (the restore, evidence) makes
 * late calls (harness/session.h) and goes in order of urgency: the
 * restore first, since an agent left changed is the one outcome a run
 * must never have.
 */
#include "harness/run.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "base/units.h"
#include "base/xalloc.h"
#include "harness/dryrun.h"
#include "harness/evidence.h"
#include "harness/history.h"
#include "harness/observer.h"
#include "harness/progress.h"
#include "harness/replay.h"
#include "harness/restore.h"
#include "harness/session.h"
#include "harness/sigwatch.h"
#include "harness/snapshot.h"
#include "harness/stream.h"
#include "harness/tracker.h"

/* ------------------------------------------------------------------ */
/* Agents                                                              */

static void add_agent(struct harness *h, size_t *cap, const char *id)
{
    if (h->n_agents == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        h->agent_ids = xreallocarray(h->agent_ids, *cap + 1, sizeof(char *));
    }
    h->agent_ids[h->n_agents++] = xstrdup(id);
    h->agent_ids[h->n_agents] = NULL;
}

/* GET a listing page; returns the parsed body or NULL (logged). */
static cJSON *get_listing(struct session *s, const char *route,
                          const char *path)
{
    struct session_call call = {.method = "GET",
                                .route = route,
                                .path = path,
                                .op_id = -1,
                                .version_sent = -1,
                                .agents_in_request = -1};
    struct session_result res;
    cJSON *root;

    if (session_call(s, &call, &res))
        return NULL;
    if (res.cls.kind != CLASSIFY_OK) {
        log_error("cannot list agents: %s %s answered %ld %s%s%s", call.method,
                  route, res.resp->status, classify_kind_name(res.cls.kind),
                  res.cls.message[0] ? ": " : "", res.cls.message);
        return NULL;
    }
    root = cJSON_ParseWithLengthOpts(buf_str(&res.resp->body),
                                     res.resp->body.len, NULL, 0);
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "entities"))) {
        log_error("cannot list agents: %s answered a body without entities",
                  route);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* Page through a listing, adding entity ids (or entity.user ids) until
 * @want agents (0 = all). */
static enum rt_err page_ids(struct session *s, struct harness *h,
                            const char *route, const char *base_path,
                            int64_t want, size_t *cap)
{
    char path[1024];

    for (int page = 1; page < 100000; page++) {
        cJSON *root, *e;
        int n = 0;

        snprintf(path, sizeof(path), "%s%spageSize=100&pageNumber=%d",
                 base_path, strchr(base_path, '?') ? "&" : "?", page);
        if (!(root = get_listing(s, route, path)))
            return RT_EHTTP;
        cJSON_ArrayForEach(e,
                           cJSON_GetObjectItemCaseSensitive(root, "entities"))
        {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
            n++;
            if (cJSON_IsString(id) &&
                (want == 0 || (int64_t)h->n_agents < want))
                add_agent(h, cap, id->valuestring);
        }
        cJSON_Delete(root);
        if (n == 0 || (want && (int64_t)h->n_agents >= want))
            break;
    }
    return RT_OK;
}

/* Keep only the listed ids that exist, in the scenario's order. */
static enum rt_err check_ids(struct session *s, struct harness *h,
                             const struct scenario *scn, size_t *cap)
{
    size_t missing = 0;
    struct buf path;

    for (size_t i = 0; i < scn->n_agent_ids; i += 100) {
        cJSON *root, *e;
        size_t end = i + 100 < scn->n_agent_ids ? i + 100 : scn->n_agent_ids;

        buf_init(&path, 16384);
        buf_puts(&path, "/api/v2/users?pageSize=100&id=");
        for (size_t k = i; k < end; k++)
            buf_printf(&path, "%s%s", k > i ? "," : "", scn->agent_ids[k]);
        root = get_listing(s, "/api/v2/users?id={ids}", buf_str(&path));
        buf_release(&path);
        if (!root)
            return RT_EHTTP;
        for (size_t k = i; k < end; k++) {
            int found = 0;
            cJSON_ArrayForEach(
                e, cJSON_GetObjectItemCaseSensitive(root, "entities"))
            {
                const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
                found |= cJSON_IsString(id) &&
                         !strcmp(id->valuestring, scn->agent_ids[k]);
            }
            if (found) {
                add_agent(h, cap, scn->agent_ids[k]);
            } else {
                missing++;
                log_warn("agent '%s' not found; leaving it out",
                         scn->agent_ids[k]);
            }
        }
        cJSON_Delete(root);
    }
    if (missing)
        log_warn("%zu of %zu listed agents not found", missing,
                 scn->n_agent_ids);
    return RT_OK;
}

static enum rt_err resolve_agents(struct harness *h)
{
    const struct scenario *scn = h->scn;
    struct session *s;
    size_t cap = 0;
    enum rt_err err;
    char path[512];

    if ((err = session_new(&s, h, "agents")))
        return err;
    if (scn->agent_ids) {
        err = check_ids(s, h, scn, &cap);
    } else if (scn->agent_queue[0]) {
        snprintf(path, sizeof(path), "/api/v2/routing/queues/%s/members",
                 scn->agent_queue);
        err = page_ids(s, h, "/api/v2/routing/queues/{id}/members", path, 0,
                       &cap);
    } else {
        err = page_ids(s, h, "/api/v2/users",
                       "/api/v2/users?state=active&sortOrder=ascending",
                       scn->agent_count, &cap);
        if (!err && (int64_t)h->n_agents < scn->agent_count)
            log_warn("asked for %lld agents, the org has %zu active users; "
                     "using those",
                     (long long)scn->agent_count, h->n_agents);
    }
    session_free(s);
    if (!err && h->n_agents == 0)
        err = rt_fail(RT_ENOENT, "no agents to observe");
    return err;
}

/* ------------------------------------------------------------------ */
/* Budget                                                              */

/* Reads of the snapshot taken before the replay (none against the
 * embedded simulator or in a dry run, which write nothing to protect):
 * user-patch reads 100 agents a request, queue-join two lists an agent,
 * the others one resource an agent. */
static double snapshot_demand(const struct harness *h, int wanted)
{
    double n = (double)h->n_agents;

    if (!wanted)
        return 0;
    switch (h->scn->replay.operation) {
    case SCN_OP_USER_PATCH:
        return ceil(n / 100.0);
    case SCN_OP_QUEUE_JOIN:
        return 2 * n;
    default:
        return n;
    }
}

/*
 * One budget for everyone.  The replayer's estimated need is kept for it
 * (spread over the replay window), observers get the rest; if they asked
 * for more, their interval is stretched and the run says so with numbers.
 */
static int64_t plan_budget(struct harness *h, int64_t per_minute, int snapshot)
{
    const struct scenario *scn = h->scn;
    int64_t interval = scn->observe.interval_ns;
    double observe =
        observers_demand_per_min(scn->observe.mode, h->n_agents, interval);
    double replay_per_min = 0, left;
    char a[32], b[32];

    if (per_minute <= 0)
        return interval;
    if (scn->replay.enabled) {
        double requests = replay_demand_requests(scn, h->n_agents) +
                          snapshot_demand(h, snapshot);
        double minutes = (double)scn->duration_ns / 60e9;
        replay_per_min = minutes > 0 ? requests / minutes : requests;
        /* Never plan more than half the budget away from observers. */
        if (replay_per_min > per_minute / 2.0)
            replay_per_min = per_minute / 2.0;
    }
    left = (double)per_minute - replay_per_min;
    if (observe > left) {
        double scale = observe / left;
        int64_t stretched = (int64_t)ceil((double)interval * scale);
        log_warn("budget: %lld requests/min per token; observing %zu agents "
                 "every %s needs %.0f/min and the replay about %.0f/min; "
                 "polling every %s instead",
                 (long long)per_minute, h->n_agents,
                 units_format_duration(interval, a, sizeof(a)), observe,
                 replay_per_min,
                 units_format_duration(stretched - stretched % NS_PER_MS, b,
                                       sizeof(b)));
        interval = stretched - stretched % NS_PER_MS;
    }
    return interval;
}

/* ------------------------------------------------------------------ */
/* run.json                                                            */

/* Safe writes, for run.json: whether the snapshot was taken and what the
 * restore did; null when the run wrote nothing to protect. */
static cJSON *safe_writes_json(const struct run_outcome *out, int wanted)
{
    const struct restore_counts *c = &out->restore;
    cJSON *o, *r;

    if (!wanted)
        return cJSON_CreateNull();
    o = cJSON_CreateObject();
    if (out->snapshot_taken)
        cJSON_AddStringToObject(o, "snapshot", SNAPSHOT_FILE);
    else
        cJSON_AddNullToObject(o, "snapshot");
    if (!out->restored) {
        cJSON_AddNullToObject(o, "restore");
        return o;
    }
    r = cJSON_AddObjectToObject(o, "restore");
    cJSON_AddStringToObject(r, "file", RESTORE_FILE);
    cJSON_AddBoolToObject(r, "complete", restore_complete(c));
    cJSON_AddNumberToObject(r, "agents", (double)c->agents);
    cJSON_AddNumberToObject(r, "restored", (double)c->written);
    cJSON_AddNumberToObject(r, "already_original", (double)c->already_original);
    cJSON_AddNumberToObject(r, "failed", (double)c->failed);
    cJSON_AddNumberToObject(r, "not_attempted", (double)c->not_attempted);
    return o;
}

static enum rt_err write_run_json(struct harness *h, const struct run_target *t,
                                  const char *run_dir, int64_t end_wall_ns,
                                  int64_t interval_ns, int64_t per_minute,
                                  const struct run_options *opt,
                                  const struct run_outcome *out,
                                  int safe_writes, cJSON *evidence,
                                  cJSON *stream)
{
    struct run_counters *c = &h->counters;
    struct tracker_stats ts = {0};
    struct oauth_cache_stats os;
    cJSON *o = cJSON_CreateObject(), *m, *n;
    char iso[ISO8601_LEN], path[4096], text_dur[32];
    enum rt_err err = RT_OK;

    if (h->tracker)
        tracker_stats(h->tracker, &ts);
    oauth_cache_get_stats(h->auth, &os);
    cJSON_AddStringToObject(o, "tool", "racetrace");
    cJSON_AddStringToObject(o, "version", RT_VERSION);
    m = cJSON_AddObjectToObject(o, "target");
    cJSON_AddStringToObject(m, "label", t->label);
    cJSON_AddStringToObject(m, "api_url", t->api_url);
    cJSON_AddBoolToObject(m, "simulator", t->is_sim);
    cJSON_AddStringToObject(
        m, "auth", t->access_token ? "access_token" : "client_credentials");
    /* A client id is not a secret: the analysis needs it to tell our own
     * audit records from other writers'. */
    if (t->client_id && !t->access_token)
        cJSON_AddStringToObject(m, "client_id", t->client_id);
    cJSON_AddItemToObject(o, "start_wall_ns", json_int64(h->start_wall_ns));
    cJSON_AddStringToObject(
        o, "start", iso8601_format_ms(h->start_wall_ns, iso, sizeof(iso)));
    cJSON_AddItemToObject(o, "end_wall_ns", json_int64(end_wall_ns));
    cJSON_AddStringToObject(o, "end",
                            iso8601_format_ms(end_wall_ns, iso, sizeof(iso)));
    cJSON_AddBoolToObject(o, "interrupted", out->interrupted);
    /* A dry run sent no write: its operations ended as "dry_run" and its
     * writes are listed in dry-run.txt. */
    cJSON_AddBoolToObject(o, "dry_run", opt->dry_run);
    cJSON_AddItemToObject(o, "safe_writes", safe_writes_json(out, safe_writes));
    /* The simulator shares this host's clock; for a real org the offset is
     * not measured yet, so it is reported as unknown rather than zero. */
    if (t->is_sim)
        cJSON_AddNumberToObject(o, "clock_offset_ns", 0);
    else
        cJSON_AddNullToObject(o, "clock_offset_ns");
    m = cJSON_AddObjectToObject(o, "observe");
    cJSON_AddStringToObject(
        m, "interval_used",
        units_format_duration(interval_ns, text_dur, sizeof(text_dur)));
    cJSON_AddNumberToObject(m, "budget_per_minute", (double)per_minute);
    m = cJSON_AddObjectToObject(o, "counts");
    cJSON_AddNumberToObject(m, "agents", (double)h->n_agents);
    n = cJSON_AddObjectToObject(m, "requests");
    cJSON_AddNumberToObject(n, "total", (double)atomic_load(&c->requests));
    cJSON_AddNumberToObject(n, "2xx", (double)atomic_load(&c->s2xx));
    cJSON_AddNumberToObject(n, "409", (double)atomic_load(&c->s409));
    cJSON_AddNumberToObject(n, "429", (double)atomic_load(&c->s429));
    cJSON_AddNumberToObject(n, "5xx", (double)atomic_load(&c->s5xx));
    cJSON_AddNumberToObject(n, "other", (double)atomic_load(&c->other));
    cJSON_AddNumberToObject(n, "token_requests", (double)os.token_requests);
    n = cJSON_AddObjectToObject(m, "operations");
    cJSON_AddNumberToObject(n, "planned",
                            (double)atomic_load(&c->updates_total));
    cJSON_AddNumberToObject(n, "ok", (double)atomic_load(&c->ops_ok));
    cJSON_AddNumberToObject(n, "conflict",
                            (double)atomic_load(&c->ops_conflict));
    cJSON_AddNumberToObject(n, "gave_up", (double)atomic_load(&c->ops_gave_up));
    cJSON_AddNumberToObject(n, "error", (double)atomic_load(&c->ops_error));
    cJSON_AddNumberToObject(n, "unknown", (double)atomic_load(&c->ops_unknown));
    cJSON_AddNumberToObject(n, "dry_run", (double)out->dry_run_writes);
    n = cJSON_AddObjectToObject(m, "observations");
    cJSON_AddNumberToObject(n, "samples", (double)ts.samples);
    cJSON_AddNumberToObject(n, "version_changes", (double)ts.version_changes);
    cJSON_AddNumberToObject(n, "hidden_bumps", (double)ts.hidden_bumps);
    cJSON_AddNumberToObject(n, "presence_changes", (double)ts.presence_changes);
    cJSON_AddNumberToObject(n, "routing_changes", (double)ts.routing_changes);
    if (stream)
        cJSON_AddItemToObject(o, "stream", stream);
    if (evidence)
        cJSON_AddItemToObject(o, "evidence", evidence);
    cJSON_AddItemToObject(o, "scenario", scenario_resolved_json(h->scn));
    snprintf(path, sizeof(path), "%s/run.json", run_dir);
    err = json_write_file(path, o);
    cJSON_Delete(o);
    return err;
}

/* ------------------------------------------------------------------ */
/* Thresholds                                                          */

static int check_thresholds(struct harness *h)
{
    const struct scenario *scn = h->scn;
    struct run_counters *c = &h->counters;
    double ops = (double)atomic_load(&c->updates_done);
    double reqs = (double)atomic_load(&c->requests);
    int crossed = 0;

    if (scn->thresholds.conflict_rate_max >= 0 && ops > 0) {
        double r = (double)atomic_load(&c->ops_conflict) / ops;
        if (r > scn->thresholds.conflict_rate_max) {
            log_error("threshold crossed: conflict rate %.3f > %.3f", r,
                      scn->thresholds.conflict_rate_max);
            crossed = 1;
        }
    }
    if (scn->thresholds.gave_up_rate_max >= 0 && ops > 0) {
        double r = (double)atomic_load(&c->ops_gave_up) / ops;
        if (r > scn->thresholds.gave_up_rate_max) {
            log_error("threshold crossed: gave-up rate %.3f > %.3f", r,
                      scn->thresholds.gave_up_rate_max);
            crossed = 1;
        }
    }
    if (scn->thresholds.throttled_rate_max >= 0 && reqs > 0) {
        double r = (double)atomic_load(&c->s429) / reqs;
        if (r > scn->thresholds.throttled_rate_max) {
            log_error("threshold crossed: throttled rate %.3f > %.3f", r,
                      scn->thresholds.throttled_rate_max);
            crossed = 1;
        }
    }
    return crossed;
}

/* ------------------------------------------------------------------ */

/*
 * Safe writes, before the replay: read what it will touch and save it
 * durably.  RT_OK with *@taken set; RT_OK with *@taken clear when a stop
 * came first (nothing was written, so there is nothing to protect); an
 * error (logged) when the replay must not start.
 */
static enum rt_err take_snapshot(struct harness *h,
                                 const struct run_target *target,
                                 const char *run_dir, int64_t per_minute,
                                 struct snapshot *snap, int *taken)
{
    char path[4200];
    enum rt_err err;

    *taken = 0;
    err = snapshot_take(snap, h, target->label, per_minute);
    if (err == RT_EINTR)
        return RT_OK;
    if (err)
        return rt_fail(err, "the replay does not run: what it would change "
                            "could not be snapshotted; nothing was written");
    snprintf(path, sizeof(path), "%s/%s", run_dir, SNAPSHOT_FILE);
    if ((err = snapshot_save(snap, path))) {
        snapshot_release(snap);
        return rt_fail(err, "the replay does not run without its snapshot; "
                            "nothing was written");
    }
    *taken = 1;
    log_info("snapshot: the original state of %zu agents is in '%s'",
             snap->n_agents, path);
    if (!h->scn->replay.at_absolute) {
        int64_t late =
            clock_mono_ns() - h->start_mono_ns - h->scn->replay.at_ns;
        char when[32];
        if (late > 0)
            log_warn("snapshot: reading %zu agents took past replay.at; the "
                     "replay starts %s late (a later replay.at or a larger "
                     "budget avoids it)",
                     snap->n_agents,
                     units_format_duration(late - late % NS_PER_MS, when,
                                           sizeof(when)));
    }
    return RT_OK;
}

enum rt_err run_record(const struct scenario *scn,
                       const struct run_target *target, const char *run_dir,
                       const struct run_options *opt, struct run_outcome *out)
{
    struct harness h;
    struct sigwatch *sw = NULL;
    struct oauth_cache_config ac;
    struct observers *obs = NULL;
    struct replayer *rep = NULL;
    struct progress *prog = NULL;
    struct snapshot snap;
    struct stream *stream = NULL;
    const char *stream_note = NULL;
    cJSON *evidence = NULL, *stream_json = NULL;
    int64_t per_minute = 0, interval = scn->observe.interval_ns, end_wall = 0;
    char every[32];
    enum rt_err err, e;
    /* What the replay writes outside the embedded simulator is put back;
     * a dry run writes nothing. */
    int safe = scn->replay.enabled && !target->is_sim && !opt->dry_run;

    memset(out, 0, sizeof(*out));
    snapshot_init(&snap);
    harness_init(&h);
    h.scn = scn;
    h.is_sim = target->is_sim;
    snprintf(h.api_url, sizeof(h.api_url), "%s", target->api_url);

    if (safe && (err = snapshot_check_scenario(scn)))
        goto out;
    if ((err = history_open(&h.history, run_dir)))
        goto out;
    if (opt->dry_run && (err = dryrun_open(&h.dry_run, run_dir)))
        goto out;
    memset(&ac, 0, sizeof(ac));
    ac.login_url = target->login_url;
    ac.client_id = target->client_id;
    ac.client_secret = target->client_secret;
    ac.access_token = target->access_token;
    ac.on_exchange = session_oauth_hook;
    if ((err = oauth_cache_new(&h.auth, &ac)))
        goto out;
    per_minute = scn->budget_per_minute;
    if (!per_minute)
        per_minute = target->is_sim ? scn->sim.world.rate_limit_per_min
                                    : RUN_REAL_ORG_BUDGET_PER_MIN;
    /* A small burst keeps the limiter from answering a fixed 60 s window's
     * whole budget at once. */
    h.limiter = ratelimit_new(per_minute, per_minute > 0 ? 5 : 0);
    /* Signals wait (blocked) until the watcher takes them, so it starts
     * once everything it may touch exists. */
    if ((err = sigwatch_start(&sw, &h)))
        goto out;
    h.start_mono_ns = clock_mono_ns();
    h.start_wall_ns = clock_wall_ns();

    if ((err = resolve_agents(&h)))
        goto out;
    h.tracker = tracker_new(h.agent_ids, h.n_agents, h.history, "poll");
    interval = plan_budget(&h, per_minute, safe);
    log_info("run: %zu agents on %s, %s, observing every %s%s", h.n_agents,
             target->label, scn->name,
             units_format_duration(interval, every, sizeof(every)),
             !scn->replay.enabled ? ", no replay"
             : opt->dry_run       ? ", replay scheduled (dry run: no write)"
                                  : ", replay scheduled");

    progress_start(&prog, &h.counters, h.start_mono_ns, scn->duration_ns,
                   !opt->quiet);
    /* The stream first: once it is up, every presence and routing change
     * is seen, so the observers only need the versions. */
    if (scn->observe.presence_via == SCN_VIA_STREAM) {
        err = stream_start(&stream, &h);
        if (err == RT_EAUTH) {
            /* An optional endpoint refused (401/403): not fatal. */
            log_warn("notifications: refused; presence and routing status "
                     "are polled instead");
            stream_note = "refused (401/403): presence and routing status "
                          "were polled instead";
            err = RT_OK;
        } else if (err) {
            goto stop;
        }
    }
    if ((err = observers_start(&obs, &h, interval)))
        goto stop;
    if (safe && ((err = take_snapshot(&h, target, run_dir, per_minute, &snap,
                                      &out->snapshot_taken)) ||
                 !out->snapshot_taken))
        goto stop;
    if (scn->replay.enabled && (err = replay_start(&rep, &h)))
        goto stop;
    harness_wait_until(&h, h.start_mono_ns + scn->duration_ns);
stop:
    harness_stop(&h);
    replay_join(rep);
    observers_join(obs);
    stream_join(stream);
    stream_json = stream_stats_json(stream);
    if (stream_note) {
        stream_json = cJSON_CreateObject();
        cJSON_AddBoolToObject(stream_json, "enabled", 0);
        cJSON_AddStringToObject(stream_json, "error", stream_note);
    }
    progress_stop(prog);
    end_wall = clock_wall_ns();
    /* After the stop.  The restore comes first. */
    if (out->snapshot_taken) {
        e = restore_run(&snap, &h, run_dir, &out->restore);
        out->restored = e == RT_OK;
        if (e && !err)
            err = e;
    }
    /* Then the target's own records (audit trail, analytics history):
     * less urgent than the restore, and never fatal. */
    if ((e = evidence_collect(&h, h.start_wall_ns, end_wall, run_dir,
                              &evidence)))
        log_warn("evidence: not collected: %s", rt_strerror(e));
out:
    /* The watcher may be inside harness_stop(), touching the limiter and
     * the wait condition: end it before anything is freed. */
    out->interrupted = sigwatch_stop(sw);
    if (!end_wall)
        end_wall = clock_wall_ns();
    out->requests = atomic_load(&h.counters.requests);
    out->operations = atomic_load(&h.counters.updates_done);
    if (h.dry_run) {
        out->dry_run_writes = dryrun_count(h.dry_run);
        if ((e = dryrun_close(h.dry_run)) && !err)
            err = e;
        h.dry_run = NULL;
        if (!e)
            log_info("dry run: %lld writes not sent; listed in '%s/%s'",
                     (long long)out->dry_run_writes, run_dir, DRYRUN_FILE);
    }
    if (h.history && h.auth) {
        e = write_run_json(&h, target, run_dir, end_wall, interval, per_minute,
                           opt, out, safe, evidence, stream_json);
        evidence = stream_json = NULL; /* taken */
        if (!err)
            err = e;
    }
    if (!err)
        out->threshold_crossed = check_thresholds(&h);
    if ((e = history_close(h.history)) && !err)
        err = e;
    cJSON_Delete(evidence);
    cJSON_Delete(stream_json);
    stream_stop(stream);
    snapshot_release(&snap);
    tracker_free(h.tracker);
    ratelimit_free(h.limiter);
    oauth_cache_free(h.auth);
    harness_release(&h);
    return err;
}
