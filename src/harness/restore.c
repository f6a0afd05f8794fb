/*
 * Putting snapshotted agents back (see include/harness/restore.h).
 *
 * The loop re-reads before every write and after the last one, so the
 * verification and the conflict handling are the same step: whatever
 * happened in between (another writer, a lost reply, an eventually
 * consistent read), the next turn starts from what the target says now.
 */
#include "harness/restore.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "harness/replay.h"

#define REASON_MAX 512
#define FIELDS_MAX 4096
#define BACKOFF_BASE_NS (250 * NS_PER_MS)
#define BACKOFF_CAP_NS (4 * NS_PER_S)

/* What happened to one agent, for restore.json. */
struct agent_result {
    const char *result; /* restored, already_original, failed,
                           not_attempted */
    char *fields;       /* what differed at the first read, owned */
    int writes;
    int64_t version_before; /* versioned operations: first read, else -1 */
    int64_t version_after;  /* ... last read */
    char reason[REASON_MAX];
};

int restore_complete(const struct restore_counts *c)
{
    return c->failed == 0 && c->not_attempted == 0;
}

void restore_write_release(struct restore_write *w)
{
    free(w->body);
    w->body = NULL;
}

/* ------------------------------------------------------------------ */
/* The write                                                           */

static void say(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

static int versioned(enum scn_operation op)
{
    return op == SCN_OP_USER_PATCH || op == SCN_OP_TEMPLATE;
}

static const char *str_member(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* skills-bulk-patch and queue-join: the entries of @orig's list that
 * differ in @cur, as [{id, value}]; NULL with the reason when one cannot
 * be put back by a write. */
static cJSON *list_body(const cJSON *orig, const cJSON *cur, int skills,
                        char *why, size_t why_len)
{
    const char *list_key = skills ? "skills" : "queues";
    const char *value_key = skills ? "proficiency" : "joined";
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(cur, list_key), *m;
    cJSON *body = cJSON_CreateArray();

    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(orig, list_key))
    {
        const char *id = str_member(m, "id");
        const cJSON *c = json_by_id(cl, id);
        const cJSON *ov = cJSON_GetObjectItemCaseSensitive(m, value_key);
        const cJSON *cv = cJSON_GetObjectItemCaseSensitive(c, value_key);
        cJSON *e;

        if (!c && !skills) {
            /* Joining needs a membership, which the replay never
             * changes; putting one back is not a write the snapshot
             * covers. */
            say(why, why_len,
                "no longer a member of queue %s, so its joined flag "
                "cannot be put back",
                id);
            cJSON_Delete(body);
            return NULL;
        }
        if (c && (skills ? cJSON_IsNumber(cv) && cJSON_IsNumber(ov) &&
                               fabs(cv->valuedouble - ov->valuedouble) < 1e-9
                         : cJSON_IsTrue(cv) == cJSON_IsTrue(ov)))
            continue;
        e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "id", id);
        cJSON_AddItemToObject(e, value_key, cJSON_Duplicate(ov, 1));
        cJSON_AddItemToArray(body, e);
    }
    return body;
}

enum rt_err restore_write_for(const struct snapshot *snap, const char *agent,
                              const cJSON *orig, const cJSON *cur,
                              struct restore_write *out, char *why,
                              size_t why_len)
{
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(orig, "fields");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cur, "version"), *m;
    int64_t version = -1;
    cJSON *body = NULL;

    memset(out, 0, sizeof(*out));
    out->version_sent = -1;
    why[0] = '\0';
    if (versioned(snap->operation)) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
            v->valuedouble != floor(v->valuedouble)) {
            say(why, why_len, "the current state has no version");
            return RT_EINVAL;
        }
        version = (int64_t)v->valuedouble;
        out->version_sent = version;
    }
    switch (snap->operation) {
    case SCN_OP_USER_PATCH:
        out->method = "PATCH";
        snprintf(out->route, sizeof(out->route), "/api/v2/users/{id}");
        snprintf(out->path, sizeof(out->path), "/api/v2/users/%s", agent);
        body = cJSON_CreateObject();
        cJSON_AddItemToObject(body, "version", json_int64(version));
        cJSON_ArrayForEach(m, fields)
            cJSON_AddItemToObject(body, m->string, cJSON_Duplicate(m, 1));
        break;
    case SCN_OP_TEMPLATE: {
        const struct scn_template *t = &snap->tmpl;
        out->method = t->write_method;
        snprintf(out->route, sizeof(out->route), "%.*s",
                 (int)strcspn(t->write_path, "?"), t->write_path);
        if (snapshot_expand_path(out->path, sizeof(out->path), t->write_path,
                                 agent)) {
            say(why, why_len, "the template's write path is too long");
            return RT_EINVAL;
        }
        body = replay_template_body(t->write_body, version, agent);
        cJSON_ArrayForEach(m, fields)
        {
            cJSON *dup = cJSON_Duplicate(m, 1);
            if (cJSON_GetObjectItemCaseSensitive(body, m->string))
                cJSON_ReplaceItemInObjectCaseSensitive(body, m->string, dup);
            else
                cJSON_AddItemToObject(body, m->string, dup);
        }
        break;
    }
    case SCN_OP_UTILIZATION_PUT: {
        const cJSON *labels =
            cJSON_GetObjectItemCaseSensitive(orig, "labelUtilizations");
        snprintf(out->route, sizeof(out->route),
                 "/api/v2/routing/users/{id}/utilization");
        snprintf(out->path, sizeof(out->path),
                 "/api/v2/routing/users/%s/utilization", agent);
        /* An agent on the org's defaults had no settings of its own: the
         * DELETE returns it there, where a PUT of the same values would
         * pin them (genesys-api.md §2.4). */
        if (!strcmp(str_member(orig, "level"), "Organization")) {
            out->method = "DELETE";
            return RT_OK;
        }
        out->method = "PUT";
        body = cJSON_CreateObject();
        cJSON_AddItemToObject(
            body, "utilization",
            cJSON_Duplicate(
                cJSON_GetObjectItemCaseSensitive(orig, "utilization"), 1));
        if (cJSON_IsObject(labels))
            cJSON_AddItemToObject(body, "labelUtilizations",
                                  cJSON_Duplicate(labels, 1));
        break;
    }
    case SCN_OP_SKILLS_BULK_PATCH:
        out->method = "PATCH";
        snprintf(out->route, sizeof(out->route),
                 "/api/v2/users/{id}/routingskills/bulk");
        snprintf(out->path, sizeof(out->path),
                 "/api/v2/users/%s/routingskills/bulk", agent);
        if (!(body = list_body(orig, cur, 1, why, why_len)))
            return RT_ENOENT;
        break;
    case SCN_OP_QUEUE_JOIN:
        out->method = "PATCH";
        snprintf(out->route, sizeof(out->route), "/api/v2/users/{id}/queues");
        snprintf(out->path, sizeof(out->path), "/api/v2/users/%s/queues",
                 agent);
        if (!(body = list_body(orig, cur, 0, why, why_len)))
            return RT_ENOENT;
        break;
    }
    out->body = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!out->body)
        abort(); /* cJSON allocation failure, as xmalloc would */
    return RT_OK;
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */

struct restorer {
    const struct snapshot *snap;
    struct harness *h;
    struct session *s;
};

static int64_t state_version(const cJSON *st)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(st, "version");
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

/* Wait before write number @writes + 1; 1 when cut short. */
static int backoff(struct restorer *r, int writes)
{
    int64_t d = BACKOFF_BASE_NS;

    for (int k = 1; k < writes && d < BACKOFF_CAP_NS; k++)
        d *= 2;
    if (d > BACKOFF_CAP_NS)
        d = BACKOFF_CAP_NS;
    return harness_wait_finish(r->h, clock_mono_ns() + d);
}

/* Send @w.  0 when the loop should re-read (a 2xx, or an answer worth
 * another try), -1 with the reason when the agent failed. */
static int send_write(struct restorer *r, const char *agent,
                      const struct restore_write *w, struct agent_result *res)
{
    struct session_call call;
    struct session_result sr;
    enum rt_err err;

    memset(&call, 0, sizeof(call));
    call.method = w->method;
    call.route = w->route;
    call.path = w->path;
    call.agent = agent;
    call.op_id = -1;
    call.body = w->body;
    call.body_len = w->body ? strlen(w->body) : 0;
    call.version_sent = w->version_sent;
    call.agents_in_request = -1;
    call.late = 1;
    call.must_finish = 1;
    err = session_call(r->s, &call, &sr);
    if (err) {
        say(res->reason, sizeof(res->reason), "%s",
            err == RT_EINTR ? "interrupted" : rt_strerror(err));
        return -1;
    }
    res->writes++;
    switch (sr.cls.kind) {
    case CLASSIFY_OK:
    case CLASSIFY_CONFLICT:
    case CLASSIFY_THROTTLED:
    case CLASSIFY_SERVER_ERROR:
    case CLASSIFY_TIMEOUT:
    case CLASSIFY_TRANSPORT:
        /* The re-read tells whether it landed, and the next write carries
         * the version it shows. */
        say(res->reason, sizeof(res->reason), "%s %s answered %ld %s%s%s",
            w->method, w->route, sr.resp->status,
            classify_kind_name(sr.cls.kind), sr.cls.message[0] ? ": " : "",
            sr.cls.message);
        return 0;
    default:
        say(res->reason, sizeof(res->reason), "%s %s answered %ld %s%s%s",
            w->method, w->route, sr.resp->status,
            classify_kind_name(sr.cls.kind), sr.cls.message[0] ? ": " : "",
            sr.cls.message);
        return -1;
    }
}

static void restore_agent(struct restorer *r, const struct snapshot_agent *a,
                          struct agent_result *res)
{
    struct buf fields;
    char why[REASON_MAX];

    buf_init(&fields, FIELDS_MAX);
    res->version_before = res->version_after = -1;
    for (int turn = 0;; turn++) {
        struct restore_write w;
        cJSON *cur = NULL;
        size_t n;

        if (snapshot_read_state(r->snap, r->h, r->s, 1, a->id, &cur, why,
                                sizeof(why))) {
            res->result = "failed";
            say(res->reason, sizeof(res->reason), "%s", why);
            break;
        }
        buf_reset(&fields);
        n = snapshot_diff(r->snap, a->state, cur, &fields);
        if (turn == 0) {
            res->fields = xstrdup(buf_str(&fields));
            res->version_before = state_version(cur);
        }
        res->version_after = state_version(cur);
        if (n == 0) {
            res->result = res->writes ? "restored" : "already_original";
            res->reason[0] = '\0';
            cJSON_Delete(cur);
            break;
        }
        if (res->writes >= RESTORE_WRITE_ATTEMPTS) {
            res->result = "failed";
            say(res->reason, sizeof(res->reason),
                "%s still differ%s after %d writes (last: %.300s)",
                buf_str(&fields), n > 1 ? "" : "s", res->writes,
                res->reason[0] ? res->reason : "2xx");
            cJSON_Delete(cur);
            break;
        }
        if (restore_write_for(r->snap, a->id, a->state, cur, &w, why,
                              sizeof(why))) {
            res->result = "failed";
            say(res->reason, sizeof(res->reason), "%s", why);
            cJSON_Delete(cur);
            break;
        }
        cJSON_Delete(cur);
        /* After a write that did not show, give the target a moment:
         * conflicts clear, 429s pass, eventually consistent reads catch
         * up. */
        if (res->writes > 0 && backoff(r, res->writes)) {
            res->result = "failed";
            say(res->reason, sizeof(res->reason), "interrupted");
            restore_write_release(&w);
            break;
        }
        if (send_write(r, a->id, &w, res)) {
            res->result = "failed";
            restore_write_release(&w);
            break;
        }
        restore_write_release(&w);
    }
    buf_release(&fields);
}

static cJSON *result_json(const struct snapshot *snap,
                          const struct agent_result *res,
                          const struct restore_counts *c, int64_t start_wall,
                          int64_t end_wall)
{
    cJSON *o = cJSON_CreateObject(), *m, *agents;
    char iso[ISO8601_LEN];

    cJSON_AddStringToObject(o, "tool", "racetrace");
    cJSON_AddStringToObject(o, "snapshot", SNAPSHOT_FILE);
    cJSON_AddStringToObject(o, "operation",
                            scn_operation_names[snap->operation]);
    m = cJSON_AddObjectToObject(o, "target");
    cJSON_AddStringToObject(m, "label", snap->target);
    cJSON_AddStringToObject(m, "api_url", snap->api_url);
    cJSON_AddStringToObject(o, "start",
                            iso8601_format_ms(start_wall, iso, sizeof(iso)));
    cJSON_AddStringToObject(o, "end",
                            iso8601_format_ms(end_wall, iso, sizeof(iso)));
    cJSON_AddBoolToObject(o, "complete", restore_complete(c));
    m = cJSON_AddObjectToObject(o, "counts");
    cJSON_AddNumberToObject(m, "agents", (double)c->agents);
    cJSON_AddNumberToObject(m, "restored", (double)c->written);
    cJSON_AddNumberToObject(m, "already_original", (double)c->already_original);
    cJSON_AddNumberToObject(m, "failed", (double)c->failed);
    cJSON_AddNumberToObject(m, "not_attempted", (double)c->not_attempted);
    agents = cJSON_AddArrayToObject(o, "agents");
    for (size_t i = 0; i < snap->n_agents; i++) {
        const struct agent_result *r = &res[i];
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "id", snap->agents[i].id);
        cJSON_AddStringToObject(a, "result", r->result);
        cJSON_AddStringToObject(a, "fields", r->fields ? r->fields : "");
        cJSON_AddNumberToObject(a, "writes", r->writes);
        if (versioned(snap->operation)) {
            cJSON_AddItemToObject(a, "version_before",
                                  json_int64(r->version_before));
            cJSON_AddItemToObject(a, "version_after",
                                  json_int64(r->version_after));
        }
        if (r->reason[0])
            cJSON_AddStringToObject(a, "reason", r->reason);
        cJSON_AddItemToArray(agents, a);
    }
    return o;
}

enum rt_err restore_run(const struct snapshot *snap, struct harness *h,
                        const char *run_dir, struct restore_counts *out)
{
    struct restorer r = {snap, h, NULL};
    struct agent_result *res = xcalloc(snap->n_agents + 1, sizeof(*res));
    char path[4200];
    int64_t start_wall = clock_wall_ns();
    enum rt_err err;
    cJSON *doc;

    memset(out, 0, sizeof(*out));
    out->agents = snap->n_agents;
    for (size_t i = 0; i < snap->n_agents; i++)
        res[i].result = "not_attempted";
    if ((err = session_new(&r.s, h, "restore"))) {
        free(res);
        return rt_fail(RT_EIO, "restore: cannot start a session: %s",
                       rt_strerror(err));
    }
    log_info("restore: putting back what the replay changed on %zu agents "
             "(Ctrl-C stops after the current agent)",
             snap->n_agents);
    for (size_t i = 0; i < snap->n_agents; i++) {
        if (atomic_load(&h->late_stop))
            break;
        restore_agent(&r, &snap->agents[i], &res[i]);
        if (!strcmp(res[i].result, "failed"))
            log_warn("restore: agent '%s' failed: %s", snap->agents[i].id,
                     res[i].reason);
    }
    session_free(r.s);
    for (size_t i = 0; i < snap->n_agents; i++) {
        const char *x = res[i].result;
        if (!strcmp(x, "restored"))
            out->written++;
        else if (!strcmp(x, "already_original"))
            out->already_original++;
        else if (!strcmp(x, "failed"))
            out->failed++;
        else
            out->not_attempted++;
    }
    doc = result_json(snap, res, out, start_wall, clock_wall_ns());
    snprintf(path, sizeof(path), "%s/%s", run_dir, RESTORE_FILE);
    err = json_write_file(path, doc);
    cJSON_Delete(doc);
    for (size_t i = 0; i < snap->n_agents; i++)
        free(res[i].fields);
    free(res);
    {
        size_t done = out->written + out->already_original;
        char stopped[64] = "";

        if (out->not_attempted)
            snprintf(stopped, sizeof(stopped), "; %zu not attempted (stopped)",
                     out->not_attempted);
        log_info("restore: restored %zu agent%s (%zu written back, %zu "
                 "already original); %zu failed%s",
                 done, done == 1 ? "" : "s", out->written,
                 out->already_original, out->failed, stopped);
    }
    return err;
}
