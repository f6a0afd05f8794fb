/*
 * Snapshots of what the replay touches (see include/harness/snapshot.h).
 *
 * The same readers serve the capture before the replay and the restore's
 * re-reads after it, so an agent's original and current states always
 * have the same shape and snapshot_diff() compares like with like.  The
 * only difference is how the calls are made: during the run they are
 * ordinary calls (a stop ends them: no write has been made yet, so there
 * is nothing to protect), after it they are late calls that finish their
 * agent (harness/restore.h).
 */
#include "harness/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "base/xalloc.h"

#define PATH_MAX_BYTES 4095
#define ID_MAX 128
#define BULK_MAX 100
#define BACKOFF_BASE_NS (250 * NS_PER_MS)
#define BACKOFF_CAP_NS (4 * NS_PER_S)

#define ROUTE_USER "/api/v2/users/{id}"
#define ROUTE_USERS_BULK "/api/v2/users?id={ids}"
#define ROUTE_UTIL "/api/v2/routing/users/{id}/utilization"
#define ROUTE_SKILLS "/api/v2/users/{id}/routingskills"
#define ROUTE_QUEUES "/api/v2/users/{id}/queues"

/* The members of the user that the replay's user-patch body sets besides
 * the version (src/harness/replay.c, build_write()). */
static const char *const user_patch_fields[] = {"department", NULL};

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */

void snapshot_init(struct snapshot *self)
{
    memset(self, 0, sizeof(*self));
}

void snapshot_release(struct snapshot *self)
{
    for (size_t i = 0; i < self->n_agents; i++) {
        free(self->agents[i].id);
        cJSON_Delete(self->agents[i].state);
    }
    free(self->agents);
    cJSON_Delete(self->tmpl.write_body);
    snapshot_init(self);
}

static void add_agent(struct snapshot *self, size_t *cap, const char *id,
                      cJSON *state)
{
    if (self->n_agents == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        self->agents = xreallocarray(self->agents, *cap, sizeof(*self->agents));
    }
    self->agents[self->n_agents].id = xstrdup(id);
    self->agents[self->n_agents].state = state;
    self->n_agents++;
}

/* ------------------------------------------------------------------ */
/* Templates                                                           */

/* Whether @v is, or holds anywhere, a "{version}" or "{id}" string. */
static int has_placeholder(const cJSON *v)
{
    const cJSON *c;

    if (cJSON_IsString(v))
        return !strcmp(v->valuestring, "{version}") ||
               !strcmp(v->valuestring, "{id}");
    cJSON_ArrayForEach(c, v) if (has_placeholder(c)) return 1;
    return 0;
}

/* A key of the write body that carries a value of its own: the restore
 * writes these back. */
static int template_key_touched(const cJSON *member)
{
    return !has_placeholder(member);
}

enum rt_err snapshot_check_scenario(const struct scenario *scn)
{
    const struct scn_template *t = &scn->replay.tmpl;

    if (!scn->replay.enabled || scn->replay.operation != SCN_OP_TEMPLATE)
        return RT_OK;
    if (strcmp(t->write_method, "PATCH") && strcmp(t->write_method, "PUT"))
        return rt_fail(RT_EINVAL,
                       "%s: replay.operation.write.method: a %s cannot be "
                       "undone by writing the old state back, so the "
                       "replay is refused against '%s' (use PATCH or PUT, "
                       "or the embedded simulator)",
                       scn->file, t->write_method, scn->target);
    if (!cJSON_IsObject(t->write_body))
        return rt_fail(RT_EINVAL,
                       "%s: replay.operation.write.body: expected an "
                       "object, whose keys the restore writes back",
                       scn->file);
    if (!t->version_field[0])
        return rt_fail(RT_EINVAL,
                       "%s: replay.operation.version_field: missing; the "
                       "restore needs the current version",
                       scn->file);
    return RT_OK;
}

int snapshot_expand_path(char *out, size_t cap, const char *tmpl,
                         const char *id)
{
    struct buf b;
    const char *p = tmpl, *hit;
    int rc = 0;

    buf_init(&b, cap - 1);
    while ((hit = strstr(p, "{id}"))) {
        if (buf_append(&b, p, (size_t)(hit - p)) || buf_puts(&b, id)) {
            rc = -1;
            break;
        }
        p = hit + 4;
    }
    if (!rc && buf_puts(&b, p))
        rc = -1;
    if (!rc)
        snprintf(out, cap, "%s", buf_str(&b));
    buf_release(&b);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

struct reader {
    struct harness *h;
    struct session *s;
    int late; /* after the run: late, must_finish calls */
    char *why;
    size_t why_len;
};

static void say(struct reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(struct reader *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->why, r->why_len, fmt, ap);
    va_end(ap);
}

/* Wait before try number @attempt + 1; 1 when stopping. */
static int backoff(struct reader *r, int attempt)
{
    int64_t d = BACKOFF_BASE_NS;

    for (int k = 1; k < attempt && d < BACKOFF_CAP_NS; k++)
        d *= 2;
    if (d > BACKOFF_CAP_NS)
        d = BACKOFF_CAP_NS;
    return r->late ? harness_wait_finish(r->h, clock_mono_ns() + d)
                   : harness_wait_until(r->h, clock_mono_ns() + d);
}

/*
 * GET @path.  RT_OK with *@out (caller frees) after a 2xx with a JSON
 * body; otherwise an error with the reason in r->why.  429, 5xx, timeouts
 * and transport errors are tried again (the limiter already backs every
 * thread off for a 429's Retry-After).
 */
static enum rt_err get_json(struct reader *r, const char *route,
                            const char *path, const char *agent,
                            int64_t agents_in_request, cJSON **out)
{
    struct session_call call;
    struct session_result res;
    enum rt_err err;

    *out = NULL;
    for (int attempt = 1;; attempt++) {
        const struct buf *b;
        int retry;

        memset(&call, 0, sizeof(call));
        call.method = "GET";
        call.route = route;
        call.path = path;
        call.agent = agent;
        call.op_id = -1;
        call.version_sent = -1;
        call.agents_in_request = agents_in_request;
        call.late = r->late;
        call.must_finish = r->late;
        err = session_call(r->s, &call, &res);
        if (err == RT_EINTR) {
            say(r, "interrupted");
            return RT_EINTR;
        }
        if (err) {
            say(r, "no request possible: %s", rt_strerror(err));
            return err;
        }
        if (res.cls.kind == CLASSIFY_OK) {
            b = &res.resp->body;
            if (!(*out =
                      cJSON_ParseWithLengthOpts(buf_str(b), b->len, NULL, 0))) {
                say(r, "GET %s answered a body that is not JSON", route);
                return RT_EPARSE;
            }
            return RT_OK;
        }
        say(r, "GET %s answered %ld %s%s%s", route, res.resp->status,
            classify_kind_name(res.cls.kind), res.cls.message[0] ? ": " : "",
            res.cls.message);
        retry = res.cls.kind == CLASSIFY_THROTTLED ||
                res.cls.kind == CLASSIFY_SERVER_ERROR ||
                res.cls.kind == CLASSIFY_TIMEOUT ||
                res.cls.kind == CLASSIFY_TRANSPORT;
        if (!retry || attempt >= SNAPSHOT_READ_ATTEMPTS)
            return RT_EHTTP;
        if (backoff(r, attempt)) {
            say(r, "interrupted");
            return RT_EINTR;
        }
    }
}

/* user-patch: the version and the fields the replay sets, from a user. */
static cJSON *user_state(struct reader *r, const cJSON *user)
{
    cJSON *st, *fields;
    int64_t version;

    if (json_whole(cJSON_GetObjectItemCaseSensitive(user, "version"),
                   &version)) {
        say(r, "GET %s answered a user without a version", ROUTE_USER);
        return NULL;
    }
    st = cJSON_CreateObject();
    cJSON_AddNumberToObject(st, "version", (double)version);
    fields = cJSON_AddObjectToObject(st, "fields");
    for (size_t k = 0; user_patch_fields[k]; k++) {
        const cJSON *v =
            cJSON_GetObjectItemCaseSensitive(user, user_patch_fields[k]);
        cJSON_AddItemToObject(fields, user_patch_fields[k],
                              v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
    }
    return st;
}

static enum rt_err read_user(struct reader *r, const char *agent, cJSON **out)
{
    char path[PATH_MAX_BYTES + 1];
    cJSON *root;
    enum rt_err err;

    snprintf(path, sizeof(path), "/api/v2/users/%s", agent);
    if ((err = get_json(r, ROUTE_USER, path, agent, -1, &root)))
        return err;
    *out = user_state(r, root);
    cJSON_Delete(root);
    return *out ? RT_OK : RT_EPARSE;
}

static enum rt_err read_utilization(struct reader *r, const char *agent,
                                    cJSON **out)
{
    char path[PATH_MAX_BYTES + 1];
    const cJSON *util, *labels, *level;
    cJSON *root, *st;
    enum rt_err err;

    snprintf(path, sizeof(path), "/api/v2/routing/users/%s/utilization", agent);
    if ((err = get_json(r, ROUTE_UTIL, path, agent, -1, &root)))
        return err;
    util = cJSON_GetObjectItemCaseSensitive(root, "utilization");
    labels = cJSON_GetObjectItemCaseSensitive(root, "labelUtilizations");
    level = cJSON_GetObjectItemCaseSensitive(root, "level");
    if (!cJSON_IsObject(util)) {
        say(r, "GET %s answered no utilization map", ROUTE_UTIL);
        cJSON_Delete(root);
        return RT_EPARSE;
    }
    st = cJSON_CreateObject();
    /* The documented default: no level means the agent's own settings
     * are not known to be the org's, so they are put back as they are. */
    cJSON_AddStringToObject(st, "level",
                            cJSON_IsString(level) &&
                                    !strcmp(level->valuestring, "Organization")
                                ? "Organization"
                                : "Agent");
    cJSON_AddItemToObject(st, "utilization", cJSON_Duplicate(util, 1));
    cJSON_AddItemToObject(st, "labelUtilizations",
                          cJSON_IsObject(labels) ? cJSON_Duplicate(labels, 1)
                                                 : cJSON_CreateObject());
    cJSON_Delete(root);
    *out = st;
    return RT_OK;
}

/* Page through @base_path, adding each entity to @list as {"id", "name",
 * @extra_key: @extra, or the entity's own @extra_key when @extra is
 * NULL}. */
static enum rt_err read_listing(struct reader *r, const char *route,
                                const char *base_path, const char *agent,
                                const char *extra_key, const cJSON *extra,
                                cJSON *list)
{
    char path[PATH_MAX_BYTES + 1];
    enum rt_err err;

    for (int page = 1; page <= SNAPSHOT_PAGES_MAX; page++) {
        const cJSON *entities, *e, *count;
        cJSON *root;
        int n = 0;
        int64_t pages = -1;

        snprintf(path, sizeof(path), "%s%spageSize=100&pageNumber=%d",
                 base_path, strchr(base_path, '?') ? "&" : "?", page);
        if ((err = get_json(r, route, path, agent, -1, &root)))
            return err;
        entities = cJSON_GetObjectItemCaseSensitive(root, "entities");
        if (!cJSON_IsArray(entities)) {
            say(r, "GET %s answered a listing without entities", route);
            cJSON_Delete(root);
            return RT_EPARSE;
        }
        cJSON_ArrayForEach(e, entities)
        {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
            const cJSON *x =
                extra ? extra : cJSON_GetObjectItemCaseSensitive(e, extra_key);
            cJSON *o;

            n++;
            if (!cJSON_IsString(id) || strlen(id->valuestring) >= ID_MAX ||
                !(cJSON_IsNumber(x) || cJSON_IsBool(x))) {
                say(r, "GET %s answered an entity without id or %s", route,
                    extra_key);
                cJSON_Delete(root);
                return RT_EPARSE;
            }
            o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "id", id->valuestring);
            if (cJSON_IsString(name))
                cJSON_AddStringToObject(o, "name", name->valuestring);
            cJSON_AddItemToObject(o, extra_key, cJSON_Duplicate(x, 1));
            cJSON_AddItemToArray(list, o);
        }
        count = cJSON_GetObjectItemCaseSensitive(root, "pageCount");
        if (json_whole(count, &pages))
            pages = -1;
        cJSON_Delete(root);
        if (n < 100 || (pages >= 0 && page >= pages))
            return RT_OK;
    }
    say(r, "GET %s: more than %d pages", route, SNAPSHOT_PAGES_MAX);
    return RT_ERANGE;
}

static enum rt_err read_skills(struct reader *r, const char *agent, cJSON **out)
{
    char base[PATH_MAX_BYTES + 1];
    cJSON *st = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(st, "skills");
    enum rt_err err;

    snprintf(base, sizeof(base), "/api/v2/users/%s/routingskills", agent);
    if ((err = read_listing(r, ROUTE_SKILLS, base, agent, "proficiency", NULL,
                            list))) {
        cJSON_Delete(st);
        return err;
    }
    *out = st;
    return RT_OK;
}

static enum rt_err read_queues(struct reader *r, const char *agent, cJSON **out)
{
    char base[PATH_MAX_BYTES + 1];
    cJSON *st = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(st, "queues");
    enum rt_err err = RT_OK;

    /* Both lists: the queue the replay toggles may be joined or not. */
    for (int joined = 1; joined >= 0 && !err; joined--) {
        cJSON *flag = cJSON_CreateBool(joined);
        snprintf(base, sizeof(base), "/api/v2/users/%s/queues?joined=%s", agent,
                 joined ? "true" : "false");
        err = read_listing(r, ROUTE_QUEUES, base, agent, "joined", flag, list);
        cJSON_Delete(flag);
    }
    if (err) {
        cJSON_Delete(st);
        return err;
    }
    *out = st;
    return RT_OK;
}

static enum rt_err read_template(struct reader *r, const struct scn_template *t,
                                 const char *agent, int capture, cJSON **out)
{
    char path[PATH_MAX_BYTES + 1], route[300];
    const cJSON *m;
    cJSON *root, *st, *fields;
    int64_t version;
    enum rt_err err;

    if (snapshot_expand_path(path, sizeof(path), t->read_path, agent)) {
        say(r, "read path too long");
        return RT_EINVAL;
    }
    snprintf(route, sizeof(route), "%.*s", (int)strcspn(t->read_path, "?"),
             t->read_path);
    if ((err = get_json(r, route, path, agent, -1, &root)))
        return err;
    if (json_whole(json_at(root, t->version_field), &version)) {
        say(r, "GET %s answered no integer at '%s'", route, t->version_field);
        cJSON_Delete(root);
        return RT_EPARSE;
    }
    st = cJSON_CreateObject();
    cJSON_AddNumberToObject(st, "version", (double)version);
    fields = cJSON_AddObjectToObject(st, "fields");
    cJSON_ArrayForEach(m, t->write_body)
    {
        const cJSON *v;
        if (!template_key_touched(m))
            continue;
        v = cJSON_GetObjectItemCaseSensitive(root, m->string);
        /* At capture the original must be known, or it could not be put
         * back; later a missing member is compared as empty. */
        if (!v && capture) {
            say(r,
                "the template writes '%s', which GET %s does not return, so "
                "it could not be put back",
                m->string, route);
            cJSON_Delete(st);
            cJSON_Delete(root);
            return RT_ENOENT;
        }
        cJSON_AddItemToObject(fields, m->string,
                              v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
    }
    if (capture)
        cJSON_AddItemToObject(st, "resource", cJSON_Duplicate(root, 1));
    cJSON_Delete(root);
    *out = st;
    return RT_OK;
}

static enum rt_err read_state(struct reader *r, enum scn_operation op,
                              const struct scn_template *t, const char *agent,
                              int capture, cJSON **out)
{
    *out = NULL;
    switch (op) {
    case SCN_OP_USER_PATCH:
        return read_user(r, agent, out);
    case SCN_OP_UTILIZATION_PUT:
        return read_utilization(r, agent, out);
    case SCN_OP_SKILLS_BULK_PATCH:
        return read_skills(r, agent, out);
    case SCN_OP_QUEUE_JOIN:
        return read_queues(r, agent, out);
    case SCN_OP_TEMPLATE:
        return read_template(r, t, agent, capture, out);
    }
    say(r, "unknown operation");
    return RT_EINVAL;
}

enum rt_err snapshot_read_state(const struct snapshot *self, struct harness *h,
                                struct session *s, int late, const char *agent,
                                cJSON **state, char *why, size_t why_len)
{
    struct reader r = {h, s, late, why, why_len};

    why[0] = '\0';
    return read_state(&r, self->operation, &self->tmpl, agent, 0, state);
}

/*
 * user-patch, the @n agents @ids: one bulk read of up to 100; an agent the
 * listing leaves out is read on its own.  Logs the failure.
 */
static enum rt_err capture_users(struct reader *r, struct snapshot *self,
                                 size_t *cap, char **ids, size_t n)
{
    struct buf path;
    cJSON *root = NULL;
    const cJSON *entities;
    enum rt_err err;

    buf_init(&path, PATH_MAX_BYTES);
    buf_puts(&path, "/api/v2/users?pageSize=100&id=");
    for (size_t k = 0; k < n; k++)
        buf_printf(&path, "%s%s", k ? "," : "", ids[k]);
    err =
        get_json(r, ROUTE_USERS_BULK, buf_str(&path), NULL, (int64_t)n, &root);
    buf_release(&path);
    if (err) {
        if (err != RT_EINTR)
            log_error("cannot snapshot agents '%s' to '%s': %s", ids[0],
                      ids[n - 1], r->why);
        return err;
    }
    entities = cJSON_GetObjectItemCaseSensitive(root, "entities");
    for (size_t k = 0; k < n && !err; k++) {
        const cJSON *e, *found = NULL;
        cJSON *st = NULL;

        cJSON_ArrayForEach(e, entities)
        {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
            if (cJSON_IsString(id) && !strcmp(id->valuestring, ids[k]))
                found = e;
        }
        if (found)
            err = (st = user_state(r, found)) ? RT_OK : RT_EPARSE;
        else
            err = read_user(r, ids[k], &st);
        if (!err)
            add_agent(self, cap, ids[k], st);
        else if (err != RT_EINTR)
            log_error("cannot snapshot agent '%s': %s", ids[k], r->why);
    }
    cJSON_Delete(root);
    return err;
}

enum rt_err snapshot_take(struct snapshot *self, struct harness *h,
                          const char *target, int64_t budget_per_minute)
{
    const struct scenario *scn = h->scn;
    char why[512];
    struct reader r = {h, NULL, 0, why, sizeof(why)};
    size_t cap = 0;
    enum rt_err err = RT_OK;

    self->operation = scn->replay.operation;
    snprintf(self->scenario, sizeof(self->scenario), "%s", scn->name);
    snprintf(self->target, sizeof(self->target), "%s", target);
    snprintf(self->api_url, sizeof(self->api_url), "%s", h->api_url);
    self->budget_per_minute = budget_per_minute;
    if (scn->replay.operation == SCN_OP_TEMPLATE) {
        self->tmpl = scn->replay.tmpl;
        self->tmpl.write_body = cJSON_Duplicate(scn->replay.tmpl.write_body, 1);
    }
    if ((err = session_new(&r.s, h, "snapshot")))
        goto out;
    why[0] = '\0';
    for (size_t i = 0; i < h->n_agents && !err;) {
        if (self->operation == SCN_OP_USER_PATCH) {
            size_t n = h->n_agents - i < BULK_MAX ? h->n_agents - i : BULK_MAX;
            err = capture_users(&r, self, &cap, h->agent_ids + i, n);
            i += n;
        } else {
            cJSON *st;
            if (!(err = read_state(&r, self->operation, &self->tmpl,
                                   h->agent_ids[i], 1, &st)))
                add_agent(self, &cap, h->agent_ids[i], st);
            else if (err != RT_EINTR)
                log_error("cannot snapshot agent '%s': %s", h->agent_ids[i],
                          why);
            i++;
        }
    }
out:
    session_free(r.s);
    if (err)
        snapshot_release(self);
    else
        self->taken_wall_ns = clock_wall_ns();
    return err;
}

/* ------------------------------------------------------------------ */
/* Comparison                                                          */

static int blank(const cJSON *v)
{
    return !v || cJSON_IsNull(v) ||
           (cJSON_IsString(v) && v->valuestring[0] == '\0');
}

static int same(const cJSON *a, const cJSON *b)
{
    if (blank(a) || blank(b))
        return blank(a) && blank(b);
    return cJSON_Compare(a, b, 1);
}

/* Two objects member by member; a missing object is an empty one. */
static int same_map(const cJSON *a, const cJSON *b)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, a) if (!same(m, cJSON_GetObjectItemCaseSensitive(
                                              b, m->string))) return 0;
    cJSON_ArrayForEach(m, b) if (!same(m, cJSON_GetObjectItemCaseSensitive(
                                              a, m->string))) return 0;
    return 1;
}

static void differs(struct buf *fields, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void differs(struct buf *fields, size_t *n, const char *fmt, ...)
{
    va_list ap;

    if (fields) {
        if (fields->len)
            buf_putc(fields, ',');
        va_start(ap, fmt);
        buf_vprintf(fields, fmt, ap);
        va_end(ap);
    }
    (*n)++;
}

static const char *str_member(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

size_t snapshot_diff(const struct snapshot *self, const cJSON *orig,
                     const cJSON *cur, struct buf *fields)
{
    size_t n = 0;
    const cJSON *m;

    switch (self->operation) {
    case SCN_OP_USER_PATCH:
    case SCN_OP_TEMPLATE: {
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(orig, "fields");
        const cJSON *cf = cJSON_GetObjectItemCaseSensitive(cur, "fields");
        cJSON_ArrayForEach(m, of)
        {
            if (!same(m, cJSON_GetObjectItemCaseSensitive(cf, m->string)))
                differs(fields, &n, "%s", m->string);
        }
        break;
    }
    case SCN_OP_UTILIZATION_PUT: {
        const char *lo = str_member(orig, "level");
        const cJSON *ou = cJSON_GetObjectItemCaseSensitive(orig, "utilization");
        const cJSON *cu = cJSON_GetObjectItemCaseSensitive(cur, "utilization");
        if (strcmp(lo, str_member(cur, "level")))
            differs(fields, &n, "level");
        if (!strcmp(lo, "Organization"))
            break;
        cJSON_ArrayForEach(m, ou)
        {
            if (!same(m, cJSON_GetObjectItemCaseSensitive(cu, m->string)))
                differs(fields, &n, "utilization.%s", m->string);
        }
        cJSON_ArrayForEach(m, cu)
        {
            if (!cJSON_GetObjectItemCaseSensitive(ou, m->string) && !blank(m))
                differs(fields, &n, "utilization.%s", m->string);
        }
        if (!same_map(
                cJSON_GetObjectItemCaseSensitive(orig, "labelUtilizations"),
                cJSON_GetObjectItemCaseSensitive(cur, "labelUtilizations")))
            differs(fields, &n, "labelUtilizations");
        break;
    }
    case SCN_OP_SKILLS_BULK_PATCH:
    case SCN_OP_QUEUE_JOIN: {
        int skills = self->operation == SCN_OP_SKILLS_BULK_PATCH;
        const char *list_key = skills ? "skills" : "queues";
        const char *value_key = skills ? "proficiency" : "joined";
        const cJSON *cl = cJSON_GetObjectItemCaseSensitive(cur, list_key);
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(orig, list_key))
        {
            const char *id = str_member(m, "id");
            const cJSON *c = json_by_id(cl, id);
            const cJSON *ov = cJSON_GetObjectItemCaseSensitive(m, value_key);
            const cJSON *cv = cJSON_GetObjectItemCaseSensitive(c, value_key);
            int eq =
                c &&
                (skills ? cJSON_IsNumber(ov) && cJSON_IsNumber(cv) &&
                              fabs(ov->valuedouble - cv->valuedouble) < 1e-9
                        : cJSON_IsBool(ov) && cJSON_IsBool(cv) &&
                              cJSON_IsTrue(ov) == cJSON_IsTrue(cv));
            if (!eq)
                differs(fields, &n, "%s.%s", skills ? "skill" : "queue", id);
        }
        break;
    }
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */

cJSON *snapshot_to_json(const struct snapshot *self)
{
    cJSON *o = cJSON_CreateObject(), *m, *agents;
    char iso[ISO8601_LEN];

    cJSON_AddStringToObject(o, "tool", "racetrace");
    cJSON_AddNumberToObject(o, "format", SNAPSHOT_FORMAT);
    cJSON_AddStringToObject(o, "racetrace_version", RT_VERSION);
    cJSON_AddStringToObject(o, "scenario", self->scenario);
    cJSON_AddStringToObject(o, "operation",
                            scn_operation_names[self->operation]);
    m = cJSON_AddObjectToObject(o, "target");
    cJSON_AddStringToObject(m, "label", self->target);
    cJSON_AddStringToObject(m, "api_url", self->api_url);
    cJSON_AddNumberToObject(o, "budget_per_minute",
                            (double)self->budget_per_minute);
    cJSON_AddStringToObject(
        o, "taken", iso8601_format_ms(self->taken_wall_ns, iso, sizeof(iso)));
    cJSON_AddItemToObject(o, "taken_wall_ns", json_int64(self->taken_wall_ns));
    if (self->operation == SCN_OP_TEMPLATE) {
        cJSON *t = cJSON_AddObjectToObject(o, "template"), *c;
        c = cJSON_AddObjectToObject(t, "read");
        cJSON_AddStringToObject(c, "method", self->tmpl.read_method);
        cJSON_AddStringToObject(c, "path", self->tmpl.read_path);
        c = cJSON_AddObjectToObject(t, "write");
        cJSON_AddStringToObject(c, "method", self->tmpl.write_method);
        cJSON_AddStringToObject(c, "path", self->tmpl.write_path);
        cJSON_AddItemToObject(c, "body",
                              self->tmpl.write_body
                                  ? cJSON_Duplicate(self->tmpl.write_body, 1)
                                  : cJSON_CreateObject());
        cJSON_AddStringToObject(t, "version_field", self->tmpl.version_field);
    }
    agents = cJSON_AddArrayToObject(o, "agents");
    for (size_t i = 0; i < self->n_agents; i++) {
        cJSON *a = cJSON_CreateObject();
        const cJSON *c;
        cJSON_AddStringToObject(a, "id", self->agents[i].id);
        cJSON_ArrayForEach(c, self->agents[i].state)
            cJSON_AddItemToObject(a, c->string, cJSON_Duplicate(c, 1));
        cJSON_AddItemToArray(agents, a);
    }
    return o;
}

static enum rt_err parse_template(struct snapshot *self, struct jread *jr,
                                  const cJSON *t)
{
    static const char *const keys[] = {"read", "write", "version_field", NULL};
    static const char *const read_keys[] = {"method", "path", NULL};
    static const char *const write_keys[] = {"method", "path", "body", NULL};
    static const char *const read_methods[] = {"GET", NULL};
    static const char *const write_methods[] = {"PATCH", "PUT", NULL};
    const cJSON *rd = cJSON_GetObjectItemCaseSensitive(t, "read");
    const cJSON *wr = cJSON_GetObjectItemCaseSensitive(t, "write");
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(wr, "body");
    const char *rp = NULL, *wp = NULL, *vf = NULL;
    int rm = 0, wm = 0;

    if (!t)
        return jread_fail(jr, "template",
                          "missing; a template operation "
                          "needs its read and write");
    if (jread_object(jr, t, "template", keys) ||
        jread_object(jr, rd, "template.read", read_keys) ||
        jread_object(jr, wr, "template.write", write_keys) ||
        jread_enum(jr, rd, "template.read", "method", read_methods, &rm) ||
        jread_enum(jr, wr, "template.write", "method", write_methods, &wm) ||
        jread_string(jr, rd, "template.read", "path", &rp) ||
        jread_string(jr, wr, "template.write", "path", &wp) ||
        jread_string(jr, t, "template", "version_field", &vf))
        return RT_EINVAL;
    if (!rp || rp[0] != '/' || strlen(rp) >= sizeof(self->tmpl.read_path))
        return jread_fail(jr, "template.read.path", "expected an API path");
    if (!wp || wp[0] != '/' || strlen(wp) >= sizeof(self->tmpl.write_path))
        return jread_fail(jr, "template.write.path", "expected an API path");
    if (!vf || !*vf || strlen(vf) >= sizeof(self->tmpl.version_field))
        return jread_fail(jr, "template.version_field",
                          "expected the version's dotted path");
    if (!cJSON_IsObject(body))
        return jread_fail(jr, "template.write.body", "expected an object");
    snprintf(self->tmpl.read_method, sizeof(self->tmpl.read_method), "%s",
             read_methods[rm]);
    snprintf(self->tmpl.write_method, sizeof(self->tmpl.write_method), "%s",
             write_methods[wm]);
    snprintf(self->tmpl.read_path, sizeof(self->tmpl.read_path), "%s", rp);
    snprintf(self->tmpl.write_path, sizeof(self->tmpl.write_path), "%s", wp);
    snprintf(self->tmpl.version_field, sizeof(self->tmpl.version_field), "%s",
             vf);
    self->tmpl.write_body = cJSON_Duplicate(body, 1);
    return RT_OK;
}

/* The id/value list of one skills or queues entry. */
static enum rt_err parse_list(struct jread *jr, const cJSON *a,
                              const char *path, const char *key, int skills)
{
    static const char *const skill_keys[] = {"id", "name", "proficiency", NULL};
    static const char *const queue_keys[] = {"id", "name", "joined", NULL};
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(a, key), *e;
    char lpath[JREAD_PATH_MAX], epath[JREAD_PATH_MAX];
    int k = 0;

    jread_path(lpath, sizeof(lpath), path, key);
    if (!cJSON_IsArray(list))
        return jread_fail(jr, lpath, "expected an array");
    cJSON_ArrayForEach(e, list)
    {
        const char *id = NULL, *name = NULL;
        double p = 0;
        int joined = 0;
        jread_path_index(epath, sizeof(epath), lpath, k++);
        if (jread_object(jr, e, epath, skills ? skill_keys : queue_keys) ||
            jread_string(jr, e, epath, "id", &id) ||
            jread_string(jr, e, epath, "name", &name) ||
            (skills ? jread_number(jr, e, epath, "proficiency", 0, 5, &p)
                    : jread_bool(jr, e, epath, "joined", &joined)))
            return RT_EINVAL;
        if (!id || !*id || strlen(id) >= ID_MAX)
            return jread_fail(jr, epath, "expected a non-empty \"id\"");
        /* One entry per skill or queue: two would say two things. */
        for (const cJSON *prev = list->child; prev != e; prev = prev->next)
            if (!strcmp(str_member(prev, "id"), id))
                return jread_fail(jr, epath, "'%s' is listed twice", id);
        if (!cJSON_GetObjectItemCaseSensitive(e, skills ? "proficiency"
                                                        : "joined"))
            return jread_fail(jr, epath, "missing \"%s\"",
                              skills ? "proficiency" : "joined");
    }
    return RT_OK;
}

/* One entry of "agents": checked against the operation, then kept. */
static enum rt_err parse_agent(struct snapshot *self, struct jread *jr,
                               const cJSON *a, const char *path, size_t *cap)
{
    static const char *const user_keys[] = {"id", "version", "fields", NULL};
    static const char *const tmpl_keys[] = {"id", "version", "fields",
                                            "resource", NULL};
    static const char *const util_keys[] = {"id", "level", "utilization",
                                            "labelUtilizations", NULL};
    static const char *const skill_keys[] = {"id", "skills", NULL};
    static const char *const queue_keys[] = {"id", "queues", NULL};
    static const char *const levels[] = {"Agent", "Organization", NULL};
    const char *const *keys;
    const char *id = NULL;
    char sub[JREAD_PATH_MAX];
    int64_t version = 0;
    int level = 0;
    cJSON *st;
    const cJSON *c;

    switch (self->operation) {
    case SCN_OP_USER_PATCH:
        keys = user_keys;
        break;
    case SCN_OP_TEMPLATE:
        keys = tmpl_keys;
        break;
    case SCN_OP_UTILIZATION_PUT:
        keys = util_keys;
        break;
    case SCN_OP_SKILLS_BULK_PATCH:
        keys = skill_keys;
        break;
    default:
        keys = queue_keys;
        break;
    }
    if (jread_object(jr, a, path, keys) || jread_string(jr, a, path, "id", &id))
        return RT_EINVAL;
    if (!id || !*id || strlen(id) >= ID_MAX || strchr(id, '/') ||
        strchr(id, '?'))
        return jread_fail(jr, path, "expected an agent id in \"id\"");
    switch (self->operation) {
    case SCN_OP_USER_PATCH:
    case SCN_OP_TEMPLATE:
        jread_path(sub, sizeof(sub), path, "fields");
        if (jread_int(jr, a, path, "version", 0, INT64_C(9007199254740992),
                      &version))
            return RT_EINVAL;
        if (!cJSON_GetObjectItemCaseSensitive(a, "version"))
            return jread_fail(jr, path, "missing \"version\"");
        if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(a, "fields")))
            return jread_fail(jr, sub, "expected an object");
        /* Each field once: the comparison looks members up by name. */
        if (jread_object(jr, cJSON_GetObjectItemCaseSensitive(a, "fields"), sub,
                         NULL))
            return RT_EINVAL;
        break;
    case SCN_OP_UTILIZATION_PUT:
        jread_path(sub, sizeof(sub), path, "utilization");
        if (jread_enum(jr, a, path, "level", levels, &level))
            return RT_EINVAL;
        if (!cJSON_GetObjectItemCaseSensitive(a, "level"))
            return jread_fail(jr, path, "missing \"level\"");
        if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(a, "utilization")))
            return jread_fail(jr, sub, "expected an object");
        if (jread_object(jr, cJSON_GetObjectItemCaseSensitive(a, "utilization"),
                         sub, NULL))
            return RT_EINVAL;
        c = cJSON_GetObjectItemCaseSensitive(a, "labelUtilizations");
        jread_path(sub, sizeof(sub), path, "labelUtilizations");
        if (c && !cJSON_IsObject(c))
            return jread_fail(jr, sub, "expected an object");
        if (c && jread_object(jr, c, sub, NULL))
            return RT_EINVAL;
        break;
    case SCN_OP_SKILLS_BULK_PATCH:
        if (parse_list(jr, a, path, "skills", 1))
            return RT_EINVAL;
        break;
    case SCN_OP_QUEUE_JOIN:
        if (parse_list(jr, a, path, "queues", 0))
            return RT_EINVAL;
        break;
    }
    st = cJSON_CreateObject();
    cJSON_ArrayForEach(c, a) if (strcmp(c->string, "id"))
        cJSON_AddItemToObject(st, c->string, cJSON_Duplicate(c, 1));
    add_agent(self, cap, id, st);
    return RT_OK;
}

enum rt_err snapshot_from_json(struct snapshot *self, struct jread *jr,
                               const cJSON *root)
{
    static const char *const keys[] = {"tool",
                                       "format",
                                       "racetrace_version",
                                       "scenario",
                                       "operation",
                                       "target",
                                       "budget_per_minute",
                                       "taken",
                                       "taken_wall_ns",
                                       "template",
                                       "agents",
                                       NULL};
    static const char *const target_keys[] = {"label", "api_url", NULL};
    const char *tool = NULL, *scenario = NULL, *label = NULL, *url = NULL;
    const cJSON *target, *agents, *a;
    int64_t format = 0;
    int op = 0;
    size_t cap = 0;
    char sub[JREAD_PATH_MAX];
    int k = 0;

    target = cJSON_GetObjectItemCaseSensitive(root, "target");
    agents = cJSON_GetObjectItemCaseSensitive(root, "agents");
    if (jread_object(jr, root, "", keys) ||
        jread_string(jr, root, "", "tool", &tool) ||
        jread_int(jr, root, "", "format", 1, 1000, &format) ||
        jread_string(jr, root, "", "scenario", &scenario) ||
        jread_enum(jr, root, "", "operation", scn_operation_names, &op) ||
        jread_int(jr, root, "", "budget_per_minute", 0, 1000000000,
                  &self->budget_per_minute) ||
        jread_int(jr, root, "", "taken_wall_ns", 0, INT64_MAX,
                  &self->taken_wall_ns))
        goto fail;
    if (!tool || strcmp(tool, "racetrace")) {
        jread_fail(jr, "tool", "expected \"racetrace\"");
        goto fail;
    }
    if (format != SNAPSHOT_FORMAT) {
        jread_fail(jr, "format", "expected %d (this racetrace's format)",
                   SNAPSHOT_FORMAT);
        goto fail;
    }
    if (!cJSON_GetObjectItemCaseSensitive(root, "operation")) {
        jread_fail(jr, "operation", "missing");
        goto fail;
    }
    self->operation = (enum scn_operation)op;
    snprintf(self->scenario, sizeof(self->scenario), "%s",
             scenario ? scenario : "");
    if (!target) {
        jread_fail(jr, "target", "missing; where the snapshot was taken");
        goto fail;
    }
    if (jread_object(jr, target, "target", target_keys) ||
        jread_string(jr, target, "target", "label", &label) ||
        jread_string(jr, target, "target", "api_url", &url))
        goto fail;
    if (!label || !*label || strlen(label) >= sizeof(self->target)) {
        jread_fail(jr, "target.label", "expected the run's target");
        goto fail;
    }
    if (!url || strncmp(url, "http", 4) ||
        strlen(url) >= sizeof(self->api_url)) {
        jread_fail(jr, "target.api_url", "expected an http(s) URL");
        goto fail;
    }
    snprintf(self->target, sizeof(self->target), "%s", label);
    snprintf(self->api_url, sizeof(self->api_url), "%s", url);
    if (self->operation == SCN_OP_TEMPLATE &&
        parse_template(self, jr,
                       cJSON_GetObjectItemCaseSensitive(root, "template")))
        goto fail;
    if (self->operation != SCN_OP_TEMPLATE &&
        cJSON_GetObjectItemCaseSensitive(root, "template")) {
        jread_fail(jr, "template", "only for a template operation");
        goto fail;
    }
    if (!cJSON_IsArray(agents)) {
        jread_fail(jr, "agents", "expected an array");
        goto fail;
    }
    cJSON_ArrayForEach(a, agents)
    {
        jread_path_index(sub, sizeof(sub), "agents", k++);
        if (parse_agent(self, jr, a, sub, &cap))
            goto fail;
        for (size_t i = 0; i + 1 < self->n_agents; i++)
            if (!strcmp(self->agents[i].id,
                        self->agents[self->n_agents - 1].id)) {
                jread_fail(jr, sub, "agent '%s' is listed twice",
                           self->agents[i].id);
                goto fail;
            }
    }
    return RT_OK;
fail:
    snapshot_release(self);
    return RT_EINVAL;
}

enum rt_err snapshot_load(struct snapshot *self, struct jread *jr,
                          const char *path)
{
    cJSON *root = NULL;
    enum rt_err err;

    if ((err = jread_load_file(jr, path, &root)))
        return err;
    err = snapshot_from_json(self, jr, root);
    cJSON_Delete(root);
    return err;
}

/* All of @len bytes to @fd; -1 with errno on failure. */
static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fsync the directory holding @path, so a rename into it is durable. */
static int sync_dir(const char *path)
{
    char dir[4200];
    const char *slash = strrchr(path, '/');
    int fd, rc;

    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

enum rt_err snapshot_save(const struct snapshot *self, const char *path)
{
    cJSON *doc = snapshot_to_json(self);
    char *text = cJSON_Print(doc);
    char tmp[4200];
    size_t len;
    int fd = -1;
    enum rt_err err = RT_OK;

    cJSON_Delete(doc);
    if (!text)
        abort(); /* cJSON allocation failure, as xmalloc would */
    len = strlen(text);
    text = xrealloc(text, len + 2);
    text[len++] = '\n';
    text[len] = '\0';
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        err = rt_fail(RT_EINVAL, "path too long: '%s'", path);
        goto out;
    }
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        err = rt_fail(RT_EIO, "cannot create '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (write_all(fd, text, len) || fsync(fd)) {
        err = rt_fail(RT_EIO, "cannot write '%s': %s", tmp, strerror(errno));
        close(fd);
        remove(tmp);
        goto out;
    }
    if (close(fd)) {
        err = rt_fail(RT_EIO, "cannot write '%s': %s", tmp, strerror(errno));
        remove(tmp);
        goto out;
    }
    if (rename(tmp, path)) {
        err = rt_fail(RT_EIO, "cannot rename '%s': %s", tmp, strerror(errno));
        remove(tmp);
        goto out;
    }
    if (sync_dir(path))
        err = rt_fail(RT_EIO, "cannot sync the directory of '%s': %s", path,
                      strerror(errno));
out:
    free(text);
    return err;
}
