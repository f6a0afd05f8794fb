/*
 * Evidence collection (see include/harness/evidence.h).
 *
 * The audit query is asynchronous on the server, so it is submitted first
 * and the analytics pages are read while it runs; only then is its status
 * polled and its results paged.  Every call is a late call with the
 * collection's deadline, so neither the run's stop nor a 429 backoff can
 * hold the run past the time limit, and a second Ctrl-C ends it between
 * two calls (a call in flight still ends within the HTTP timeout).
 *
 * Each part (audit, analytics) ends once, with the first reason that
 * stopped it; what it fetched before that is kept either way: audit.csv
 * is closed (renamed into place) with the rows so far, and the analytics
 * intervals read so far become observations.
 */
#include "harness/evidence.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "api/presence.h"
#include "base/buf.h"
#include "base/csv.h"
#include "base/json.h"
#include "base/log.h"
#include "base/units.h"
#include "base/xalloc.h"

#define ROUTE_AUDIT_QUERY "/api/v2/audits/query"
#define ROUTE_AUDIT_STATUS "/api/v2/audits/query/{transactionId}"
#define ROUTE_AUDIT_RESULTS "/api/v2/audits/query/{transactionId}/results"
#define ROUTE_ANALYTICS "/api/v2/analytics/users/details/query"

/* Status polls start quickly (the simulator answers at once) and back off
 * to a pace a real org's audit service does not mind. */
#define POLL_FIRST_NS (100 * NS_PER_MS)
#define POLL_MAX_NS (2 * NS_PER_S)
/* Attempts per call when the answer is a 429, a 5xx or no answer. */
#define CALL_ATTEMPTS 4
#define RETRY_PAUSE_NS (500 * NS_PER_MS)
/* Guards against a server that never ends its paging. */
#define PAGES_MAX 100000
#define PROPERTIES_MAX_BYTES ((size_t)64 * 1024)
#define MESSAGE_MAX 400

const char *const evidence_audit_cols[] = {
    "audit_id",    "event_wall_ns", "event_iso",   "agent",      "service",
    "entity_type", "action",        "level",       "status",     "user_id",
    "user_name",   "client_id",     "application", "properties", "changes_json",
};
const size_t evidence_n_audit_cols =
    sizeof(evidence_audit_cols) / sizeof(evidence_audit_cols[0]);

void evidence_options_default(struct evidence_options *opt)
{
    opt->time_limit_ns = EVIDENCE_TIME_LIMIT_NS;
    opt->audit_poll_limit_ns = EVIDENCE_AUDIT_POLL_LIMIT_NS;
    opt->audit_page_size = EVIDENCE_AUDIT_PAGE_MAX;
    opt->analytics_page_size = EVIDENCE_ANALYTICS_PAGE_MAX;
    opt->analytics_users = EVIDENCE_ANALYTICS_USERS_MAX;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

/* Parse the one JSON object filling @body, or NULL with *@error_offset
 * set (0 when the value is not an object). */
static cJSON *parse_object(const char *body, size_t len, size_t *error_offset)
{
    cJSON *doc = json_parse_exact(body, len, error_offset);

    if (doc && !cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

/* Member @key of @obj; absent and null are NULL. */
static const cJSON *member(const cJSON *obj, const char *key)
{
    const cJSON *v =
        cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

    return cJSON_IsNull(v) ? NULL : v;
}

/* String member, "" when absent; a wrong type counts in *@bad. */
static const char *str_member(const cJSON *obj, const char *key, size_t *bad)
{
    const cJSON *v = member(obj, key);

    if (!v)
        return "";
    if (!cJSON_IsString(v) || !v->valuestring) {
        (*bad)++;
        return "";
    }
    return v->valuestring;
}

/* Object member, NULL when absent; a wrong type counts in *@bad. */
static const cJSON *obj_member(const cJSON *obj, const char *key, size_t *bad)
{
    const cJSON *v = member(obj, key);

    if (v && !cJSON_IsObject(v)) {
        (*bad)++;
        return NULL;
    }
    return v;
}

/* Array member, NULL when absent; a wrong type counts in *@bad. */
static const cJSON *arr_member(const cJSON *obj, const char *key, size_t *bad)
{
    const cJSON *v = member(obj, key);

    if (v && !cJSON_IsArray(v)) {
        (*bad)++;
        return NULL;
    }
    return v;
}

/* ISO-8601 member as wall nanoseconds, 0 when absent; an unreadable one
 * counts in *@bad. */
static int64_t time_member(const cJSON *obj, const char *key, size_t *bad)
{
    const char *s = str_member(obj, key, bad);
    int64_t ns;

    if (!*s)
        return 0;
    if (iso8601_parse(s, &ns) != RT_OK || ns == 0) {
        (*bad)++;
        return 0;
    }
    return ns;
}

enum rt_err evidence_parse_audit_status(const char *body, size_t len,
                                        char id[EVIDENCE_QUERY_ID_MAX],
                                        enum evidence_audit_state *state,
                                        size_t *error_offset)
{
    static const char *const names[] = {"Queued", "Running", "Succeeded",
                                        "Failed", "Cancelled"};
    cJSON *doc = parse_object(body, len, error_offset);
    const char *s;
    size_t bad = 0;

    id[0] = '\0';
    *state = EVIDENCE_AUDIT_UNKNOWN;
    if (!doc)
        return RT_EPARSE;
    s = str_member(doc, "id", &bad);
    if (strlen(s) < EVIDENCE_QUERY_ID_MAX)
        memcpy(id, s, strlen(s) + 1);
    s = str_member(doc, "state", &bad);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcasecmp(s, names[i]))
            *state = (enum evidence_audit_state)i;
    cJSON_Delete(doc);
    return RT_OK;
}

/* Fill @r from one AuditLogMessage; @props holds the joined properties
 * and *@changes (caller frees) the printed propertyChanges. */
static void read_audit(const cJSON *e, struct evidence_audit_record *r,
                       struct buf *props, char **changes, size_t *bad)
{
    const cJSON *pc;

    memset(r, 0, sizeof(*r));
    buf_reset(props);
    *changes = NULL;
    r->audit_id = str_member(e, "id", bad);
    r->event_wall_ns = time_member(e, "eventDate", bad);
    r->entity_id = str_member(obj_member(e, "entity", bad), "id", bad);
    r->service = str_member(e, "serviceName", bad);
    r->entity_type = str_member(e, "entityType", bad);
    r->action = str_member(e, "action", bad);
    r->level = str_member(e, "level", bad);
    r->status = str_member(e, "status", bad);
    {
        const cJSON *u = obj_member(e, "user", bad);
        r->user_id = str_member(u, "id", bad);
        r->user_name = str_member(u, "name", bad);
    }
    r->client_id = str_member(obj_member(e, "client", bad), "id", bad);
    r->application = str_member(e, "application", bad);
    if ((pc = arr_member(e, "propertyChanges", bad))) {
        const cJSON *c;
        cJSON_ArrayForEach(c, pc)
        {
            const char *name;

            if (!cJSON_IsObject(c)) {
                (*bad)++;
                continue;
            }
            name = str_member(c, "property", bad);
            if (!*name)
                continue;
            /* Past the cap the list is cut; changes_json keeps it all. */
            if (props->len && buf_putc(props, ';'))
                break;
            if (buf_puts(props, name))
                break;
        }
        *changes = cJSON_PrintUnformatted(pc);
    }
    r->properties = buf_str(props);
    r->changes_json = *changes ? *changes : "";
}

enum rt_err evidence_parse_audit_page(const char *body, size_t len,
                                      evidence_audit_fn fn, void *ctx,
                                      char **cursor, size_t *skipped,
                                      size_t *error_offset)
{
    cJSON *doc = parse_object(body, len, error_offset);
    const cJSON *entities, *e;
    struct evidence_audit_record r;
    struct buf props;
    size_t bad = 0;
    const char *next;

    *cursor = NULL;
    if (skipped)
        *skipped = 0;
    if (!doc)
        return RT_EPARSE;
    entities = member(doc, "entities");
    if (!cJSON_IsArray(entities)) {
        cJSON_Delete(doc);
        return RT_EPARSE;
    }
    buf_init(&props, PROPERTIES_MAX_BYTES);
    cJSON_ArrayForEach(e, entities)
    {
        char *changes;

        if (!cJSON_IsObject(e)) {
            bad++;
            continue;
        }
        read_audit(e, &r, &props, &changes, &bad);
        fn(ctx, &r);
        cJSON_free(changes);
    }
    buf_release(&props);
    next = str_member(doc, "cursor", &bad);
    if (*next)
        *cursor = xstrdup(next);
    if (skipped)
        *skipped = bad;
    cJSON_Delete(doc);
    return RT_OK;
}

/* ------------------------------------------------------------------ */
/* Timeline                                                            */

enum { PROP_PRESENCE, PROP_ROUTING };

static const char *const prop_names[] = {"presence", "routing_status"};

struct interval {
    char *agent; /* owned */
    int property;
    int64_t start_wall_ns;
    char *value; /* owned */
    int64_t request_seq;
    size_t order; /* arrival, so equal starts keep the server's order */
};

struct evidence_timeline {
    struct interval *v;
    size_t n, cap;
    int sorted;
};

struct evidence_timeline *evidence_timeline_new(void)
{
    return xcalloc(1, sizeof(struct evidence_timeline));
}

void evidence_timeline_free(struct evidence_timeline *self)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->n; i++) {
        free(self->v[i].agent);
        free(self->v[i].value);
    }
    free(self->v);
    free(self);
}

static void add_interval(struct evidence_timeline *self, const char *agent,
                         int property, int64_t start, const char *value,
                         int64_t seq)
{
    struct interval *iv;

    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 256;
        self->v = xreallocarray(self->v, self->cap, sizeof(*self->v));
    }
    iv = &self->v[self->n];
    iv->agent = xstrdup(agent);
    iv->property = property;
    iv->start_wall_ns = start;
    iv->value = xstrdup(value);
    iv->request_seq = seq;
    iv->order = self->n++;
    self->sorted = 0;
}

/* The intervals of one property of one user. */
static void add_intervals(struct evidence_timeline *self, const char *agent,
                          const cJSON *list, int property, int64_t seq,
                          struct evidence_page_info *info)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, list)
    {
        size_t bad = 0;
        int64_t start;
        const char *value;

        if (!cJSON_IsObject(e)) {
            info->skipped++;
            continue;
        }
        start = time_member(e, "startTime", &bad);
        if (property == PROP_PRESENCE) {
            value = str_member(e, "systemPresence", &bad);
            /* An org's own presence may come with only its id; a known
             * system definition id still names it. */
            if (!*value) {
                int k = presence_lookup(
                    str_member(e, "organizationPresenceId", &bad));
                value = k >= 0 ? presence_system[k].name : "";
            }
            value = presence_rest_name(value);
        } else {
            value = str_member(e, "routingStatus", &bad);
        }
        if (!start || !*value) {
            info->skipped++;
            continue;
        }
        info->skipped += bad;
        add_interval(self, agent, property, start, value, seq);
        info->intervals++;
    }
}

enum rt_err evidence_timeline_add_page(struct evidence_timeline *self,
                                       const char *body, size_t len,
                                       int64_t request_seq,
                                       struct evidence_page_info *info,
                                       size_t *error_offset)
{
    cJSON *doc = parse_object(body, len, error_offset);
    const cJSON *details, *hits, *d;
    size_t bad = 0;

    memset(info, 0, sizeof(*info));
    info->total_hits = -1;
    if (!doc)
        return RT_EPARSE;
    details = member(doc, "userDetails");
    if (details && !cJSON_IsArray(details)) {
        cJSON_Delete(doc);
        return RT_EPARSE;
    }
    hits = member(doc, "totalHits");
    if (cJSON_IsNumber(hits) && hits->valuedouble >= 0 &&
        hits->valuedouble < 9007199254740992.0 &&
        hits->valuedouble == (double)(int64_t)hits->valuedouble)
        info->total_hits = (int64_t)hits->valuedouble;
    else if (hits)
        info->skipped++;
    cJSON_ArrayForEach(d, details)
    {
        const char *user;

        info->entries++;
        if (!cJSON_IsObject(d)) {
            info->skipped++;
            continue;
        }
        {
            size_t ignored = 0; /* the entry counts once, below */
            user = str_member(d, "userId", &ignored);
        }
        if (!*user) {
            info->skipped++;
            continue;
        }
        info->users++;
        add_intervals(self, user, arr_member(d, "primaryPresence", &bad),
                      PROP_PRESENCE, request_seq, info);
        add_intervals(self, user, arr_member(d, "routingStatus", &bad),
                      PROP_ROUTING, request_seq, info);
    }
    info->skipped += bad;
    cJSON_Delete(doc);
    return RT_OK;
}

static int cmp_interval(const void *pa, const void *pb)
{
    const struct interval *a = pa, *b = pb;
    int c = strcasecmp(a->agent, b->agent);

    if (c)
        return c;
    if (a->property != b->property)
        return a->property - b->property;
    if (a->start_wall_ns != b->start_wall_ns)
        return a->start_wall_ns < b->start_wall_ns ? -1 : 1;
    return (a->order > b->order) - (a->order < b->order);
}

static void timeline_sort(struct evidence_timeline *self)
{
    if (!self->sorted && self->n)
        qsort(self->v, self->n, sizeof(*self->v), cmp_interval);
    self->sorted = 1;
}

size_t evidence_timeline_users(struct evidence_timeline *self,
                               int (*keep)(void *ctx, const char *user),
                               void *ctx)
{
    size_t users = 0;

    timeline_sort(self);
    for (size_t i = 0; i < self->n; i++)
        if ((!i || strcasecmp(self->v[i].agent, self->v[i - 1].agent)) &&
            (!keep || keep(ctx, self->v[i].agent)))
            users++;
    return users;
}

size_t evidence_timeline_transitions(struct evidence_timeline *self,
                                     int64_t from_wall_ns, int64_t to_wall_ns,
                                     evidence_transition_fn fn, void *ctx)
{
    struct evidence_transition t;
    size_t calls = 0;

    timeline_sort(self);
    for (size_t i = 1; i < self->n; i++) {
        const struct interval *prev = &self->v[i - 1], *cur = &self->v[i];

        if (strcasecmp(prev->agent, cur->agent) ||
            prev->property != cur->property || !strcmp(prev->value, cur->value))
            continue;
        if (cur->start_wall_ns < from_wall_ns ||
            cur->start_wall_ns > to_wall_ns)
            continue;
        t.agent = cur->agent;
        t.property = prop_names[cur->property];
        t.old_value = prev->value;
        t.new_value = cur->value;
        t.at_wall_ns = cur->start_wall_ns;
        t.request_seq = cur->request_seq;
        fn(ctx, &t);
        calls++;
    }
    return calls;
}

/* ------------------------------------------------------------------ */
/* Collection                                                          */

struct part {
    const char *name;       /* "audit", "analytics" */
    const char *permission; /* the one its calls need */
    const char *status;     /* NULL while it goes on */
    char message[MESSAGE_MAX];
    int64_t pages;
    int64_t skipped;
};

struct collector {
    struct harness *h;
    const struct evidence_options *opt;
    int64_t from_wall_ns, to_wall_ns;
    int64_t deadline_mono_ns;
    const char **agents; /* sorted view of h->agent_ids */
    struct part audit, analytics;
    int64_t audit_records;
    int64_t audit_other; /* records of users that are not agents */
    int64_t analytics_users, transitions;
};

/* End @p with @status; the first ending sticks. */
static void part_end(struct part *p, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void part_end(struct part *p, const char *status, const char *fmt, ...)
{
    va_list ap;

    if (p->status)
        return;
    p->status = status;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
}

static int cmp_agent(const void *a, const void *b)
{
    return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/* The run's spelling of @id when it is one of the agents, else NULL. */
static const char *find_agent(const struct collector *c, const char *id)
{
    const char **hit;

    if (!*id || !c->h->n_agents)
        return NULL;
    hit =
        bsearch(&id, c->agents, c->h->n_agents, sizeof(*c->agents), cmp_agent);
    return hit ? *hit : NULL;
}

static int is_agent(void *ctx, const char *id)
{
    return find_agent(ctx, id) != NULL;
}

static void end_interrupted(struct collector *c, struct part *p,
                            const char *doing)
{
    char limit[32];

    if (atomic_load(&c->h->late_stop))
        part_end(p, "interrupted", "stopped by a second interrupt %s", doing);
    else
        part_end(
            p, "interrupted", "time limit of %s reached %s",
            units_format_duration(c->opt->time_limit_ns, limit, sizeof(limit)),
            doing);
}

/* Wait until @deadline_mono_ns (capped by the collection's own); 0 when it
 * may go on, -1 with @p ended when it must stop. */
static int pause_until(struct collector *c, struct part *p,
                       int64_t deadline_mono_ns, const char *doing)
{
    /* A wait that would outlast the collection ends it now. */
    if (deadline_mono_ns > c->deadline_mono_ns ||
        harness_wait_late(c->h, deadline_mono_ns)) {
        end_interrupted(c, p, doing);
        return -1;
    }
    return 0;
}

static int retryable(const struct session_result *res)
{
    switch (res->cls.kind) {
    case CLASSIFY_THROTTLED:
        return !res->cls.give_up;
    case CLASSIFY_SERVER_ERROR:
    case CLASSIFY_TRANSPORT:
    case CLASSIFY_TIMEOUT:
        return 1;
    default:
        return 0;
    }
}

/*
 * One late call for part @p, retried on a 429 (the limiter holds the
 * Retry-After for it), a 5xx or no answer.  0 with @res holding a 2xx;
 * -1 with @p ended otherwise.
 */
static int call(struct collector *c, struct session *s, struct part *p,
                const char *method, const char *route, const char *path,
                const char *body, const char *doing, struct session_result *res)
{
    struct session_call sc;
    enum rt_err err;

    memset(&sc, 0, sizeof(sc));
    sc.method = method;
    sc.route = route;
    sc.path = path;
    sc.op_id = -1;
    sc.body = body;
    sc.body_len = body ? strlen(body) : 0;
    sc.version_sent = -1;
    sc.agents_in_request = -1;
    sc.late = 1;
    sc.deadline_mono_ns = c->deadline_mono_ns;
    for (int attempt = 1;; attempt++) {
        if (clock_mono_ns() >= c->deadline_mono_ns ||
            atomic_load(&c->h->late_stop)) {
            end_interrupted(c, p, doing);
            return -1;
        }
        err = session_call(s, &sc, res);
        if (err == RT_EINTR || err == RT_ETIMEOUT) {
            end_interrupted(c, p, doing);
            return -1;
        }
        if (err) {
            part_end(p, "failed", "%s %s: no answer (%s)", method, route,
                     rt_strerror(err));
            return -1;
        }
        if (res->cls.kind == CLASSIFY_OK)
            return 0;
        if (res->resp->status == 403) {
            part_end(p, "forbidden",
                     "%s %s answered 403%s%s: the OAuth client lacks the "
                     "permission %s",
                     method, route, res->cls.code[0] ? " " : "", res->cls.code,
                     p->permission);
            return -1;
        }
        if (!retryable(res) || attempt == CALL_ATTEMPTS) {
            part_end(p, "failed", "%s %s answered %ld %s%s%s", method, route,
                     res->resp->status, classify_kind_name(res->cls.kind),
                     res->cls.message[0] ? ": " : "", res->cls.message);
            return -1;
        }
        if (res->cls.kind != CLASSIFY_THROTTLED &&
            pause_until(c, p, clock_mono_ns() + RETRY_PAUSE_NS * attempt,
                        doing))
            return -1;
    }
}

/* "<from>/<to>" in ISO-8601 with milliseconds, @to rounded up so the
 * interval never ends before it. */
static void format_interval(int64_t from_wall_ns, int64_t to_wall_ns, char *out,
                            size_t out_len)
{
    char a[ISO8601_LEN], b[ISO8601_LEN];

    snprintf(out, out_len, "%s/%s",
             iso8601_format_ms(from_wall_ns, a, sizeof(a)),
             iso8601_format_ms(to_wall_ns + NS_PER_MS - 1, b, sizeof(b)));
}

static char *print_body(cJSON *doc)
{
    char *text = cJSON_PrintUnformatted(doc);

    cJSON_Delete(doc);
    if (!text) {
        log_error("cannot print a request body");
        abort();
    }
    return text;
}

/* Parse failure of a 2xx body: ends @p. */
static void end_unparsable(struct part *p, const char *what, size_t offset)
{
    part_end(p, "failed", "%s is not the expected JSON (byte %zu)", what,
             offset);
}

/* --- audit --------------------------------------------------------- */

struct audit_sink {
    struct collector *c;
    struct csv *csv;
    struct csv_row row;
    int64_t too_large; /* rows over the CSV row cap */
    enum rt_err err;   /* first write error */
};

static void audit_row(void *ctx, const struct evidence_audit_record *r)
{
    struct audit_sink *k = ctx;
    const char *agent = find_agent(k->c, r->entity_id);
    enum rt_err err;

    if (!agent) {
        k->c->audit_other++;
        return;
    }
    if (k->err)
        return;
    csv_row_reset(&k->row);
    csv_row_str(&k->row, r->audit_id);
    if (r->event_wall_ns)
        csv_row_i64(&k->row, r->event_wall_ns);
    else
        csv_row_str(&k->row, "");
    csv_row_time(&k->row, r->event_wall_ns);
    csv_row_str(&k->row, agent);
    csv_row_str(&k->row, r->service);
    csv_row_str(&k->row, r->entity_type);
    csv_row_str(&k->row, r->action);
    csv_row_str(&k->row, r->level);
    csv_row_str(&k->row, r->status);
    csv_row_str(&k->row, r->user_id);
    csv_row_str(&k->row, r->user_name);
    csv_row_str(&k->row, r->client_id);
    csv_row_str(&k->row, r->application);
    csv_row_str(&k->row, r->properties);
    csv_row_str(&k->row, r->changes_json);
    err = csv_write_row(k->csv, &k->row);
    if (err == RT_ETRUNC) {
        k->too_large++; /* one huge record must not cost the others */
        return;
    }
    if (err) {
        k->err = err;
        return;
    }
    k->c->audit_records++;
}

/* Submit the query; its id in @id, "" when it could not be submitted. */
static void audit_submit(struct collector *c, struct session *s,
                         char id[EVIDENCE_QUERY_ID_MAX],
                         enum evidence_audit_state *state)
{
    struct session_result res;
    cJSON *doc = cJSON_CreateObject(), *arr, *o;
    char interval[2 * ISO8601_LEN + 2];
    size_t offset;
    char *body;

    id[0] = '\0';
    format_interval(c->from_wall_ns - EVIDENCE_AUDIT_MARGIN_NS,
                    c->to_wall_ns + EVIDENCE_AUDIT_MARGIN_NS, interval,
                    sizeof(interval));
    cJSON_AddStringToObject(doc, "interval", interval);
    cJSON_AddStringToObject(doc, "serviceName", "Directory");
    arr = cJSON_AddArrayToObject(doc, "filters");
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "property", "EntityType");
    cJSON_AddStringToObject(o, "value", "User");
    cJSON_AddItemToArray(arr, o);
    arr = cJSON_AddArrayToObject(doc, "sort");
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", "Timestamp");
    cJSON_AddStringToObject(o, "sortOrder", "ascending");
    cJSON_AddItemToArray(arr, o);
    body = print_body(doc);
    if (call(c, s, &c->audit, "POST", ROUTE_AUDIT_QUERY, ROUTE_AUDIT_QUERY,
             body, "before the audit query was submitted", &res) == 0) {
        if (evidence_parse_audit_status(buf_str(&res.resp->body),
                                        res.resp->body.len, id, state, &offset))
            end_unparsable(&c->audit, "the audit query's answer", offset);
        else if (!id[0])
            part_end(&c->audit, "failed",
                     "the audit query's answer has no usable id");
    }
    cJSON_free(body);
}

/* "/api/v2/audits/query/<id><suffix>" with the id escaped. */
static void audit_path(struct buf *path, const char *id, const char *suffix)
{
    char *esc = curl_easy_escape(NULL, id, 0);

    buf_reset(path);
    if (!esc) {
        log_error("cannot escape an audit query id");
        abort();
    }
    buf_printf(path, "%s/%s%s", ROUTE_AUDIT_QUERY, esc, suffix);
    curl_free(esc);
}

/* Poll until the query has succeeded; 0 when it has.  The first poll
 * goes at once: the analytics pages were read since the submission, and
 * they may have taken longer than the whole polling allowance. */
static int audit_wait(struct collector *c, struct session *s, const char *id,
                      enum evidence_audit_state state, int64_t submitted_mono)
{
    struct session_result res;
    struct buf path;
    int64_t pause = POLL_FIRST_NS;
    char limit[32], got_id[EVIDENCE_QUERY_ID_MAX];
    size_t offset;
    int rc = -1;

    buf_init(&path, 2048);
    audit_path(&path, id, "");
    for (int polls = 0; !c->audit.status; polls++) {
        if (state == EVIDENCE_AUDIT_SUCCEEDED) {
            rc = 0;
            break;
        }
        if (state == EVIDENCE_AUDIT_FAILED ||
            state == EVIDENCE_AUDIT_CANCELLED) {
            part_end(&c->audit, "failed", "the audit query ended %s",
                     state == EVIDENCE_AUDIT_FAILED ? "Failed" : "Cancelled");
            break;
        }
        if (polls) {
            if (clock_mono_ns() + pause >
                submitted_mono + c->opt->audit_poll_limit_ns) {
                part_end(&c->audit, "failed",
                         "the audit query was not done after %s",
                         units_format_duration(c->opt->audit_poll_limit_ns,
                                               limit, sizeof(limit)));
                break;
            }
            if (pause_until(c, &c->audit, clock_mono_ns() + pause,
                            "while the audit query ran"))
                break;
            pause = pause * 2 > POLL_MAX_NS ? POLL_MAX_NS : pause * 2;
        }
        if (call(c, s, &c->audit, "GET", ROUTE_AUDIT_STATUS, buf_str(&path),
                 NULL, "while the audit query ran", &res))
            break;
        if (evidence_parse_audit_status(buf_str(&res.resp->body),
                                        res.resp->body.len, got_id, &state,
                                        &offset)) {
            end_unparsable(&c->audit, "the audit query's status", offset);
            break;
        }
    }
    buf_release(&path);
    return rc;
}

/* Page through the results into @k. */
static void audit_fetch(struct collector *c, struct session *s, const char *id,
                        struct audit_sink *k)
{
    struct session_result res;
    struct buf path, suffix;
    char *cursor = NULL, *next = NULL, doing[96];
    size_t skipped, offset;

    buf_init(&path, 16384);
    buf_init(&suffix, 12288);
    while (!c->audit.status) {
        buf_reset(&suffix);
        buf_printf(&suffix, "/results?pageSize=%d&expand=user",
                   c->opt->audit_page_size);
        if (cursor) {
            char *esc = curl_easy_escape(NULL, cursor, 0);
            enum rt_err err =
                esc ? buf_printf(&suffix, "&cursor=%s", esc) : RT_ETRUNC;
            curl_free(esc);
            if (err) {
                part_end(&c->audit, "failed",
                         "the audit results' cursor is too long (%zu bytes)",
                         strlen(cursor));
                break;
            }
        }
        audit_path(&path, id, buf_str(&suffix));
        if (c->audit.pages)
            snprintf(doing, sizeof(doing), "after %lld pages of audit results",
                     (long long)c->audit.pages);
        else
            snprintf(doing, sizeof(doing), "before the audit results");
        if (call(c, s, &c->audit, "GET", ROUTE_AUDIT_RESULTS, buf_str(&path),
                 NULL, doing, &res))
            break;
        c->audit.pages++;
        if (evidence_parse_audit_page(buf_str(&res.resp->body),
                                      res.resp->body.len, audit_row, k, &next,
                                      &skipped, &offset)) {
            end_unparsable(&c->audit, "an audit results page", offset);
            break;
        }
        c->audit.skipped += (int64_t)skipped;
        if (k->err) {
            part_end(&c->audit, "failed", "cannot write audit.csv: %s",
                     rt_strerror(k->err));
            break;
        }
        if (!next)
            break;
        if (cursor && !strcmp(cursor, next)) {
            part_end(&c->audit, "failed",
                     "the audit results repeated their cursor on page %lld",
                     (long long)c->audit.pages);
            break;
        }
        if (c->audit.pages >= PAGES_MAX) {
            part_end(&c->audit, "failed", "more than %d pages of audit results",
                     PAGES_MAX);
            break;
        }
        free(cursor);
        cursor = next;
        next = NULL;
    }
    free(cursor);
    free(next);
    buf_release(&suffix);
    buf_release(&path);
}

/* --- analytics ----------------------------------------------------- */

static char *analytics_body(const struct collector *c, size_t first, size_t n,
                            int page)
{
    cJSON *doc = cJSON_CreateObject(), *filters, *f, *preds, *paging;
    char interval[2 * ISO8601_LEN + 2];

    format_interval(c->from_wall_ns, c->to_wall_ns, interval, sizeof(interval));
    cJSON_AddStringToObject(doc, "interval", interval);
    cJSON_AddStringToObject(doc, "order", "asc");
    filters = cJSON_AddArrayToObject(doc, "userFilters");
    f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "or");
    preds = cJSON_AddArrayToObject(f, "predicates");
    for (size_t i = first; i < first + n; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", "dimension");
        cJSON_AddStringToObject(p, "dimension", "userId");
        cJSON_AddStringToObject(p, "operator", "matches");
        cJSON_AddStringToObject(p, "value", c->h->agent_ids[i]);
        cJSON_AddItemToArray(preds, p);
    }
    cJSON_AddItemToArray(filters, f);
    paging = cJSON_AddObjectToObject(doc, "paging");
    cJSON_AddNumberToObject(paging, "pageSize", c->opt->analytics_page_size);
    cJSON_AddNumberToObject(paging, "pageNumber", page);
    return print_body(doc);
}

/* Every page of the users [@first, @first + @n). */
static void analytics_chunk(struct collector *c, struct session *s,
                            struct evidence_timeline *tl, size_t first,
                            size_t n)
{
    struct session_result res;
    struct evidence_page_info info;
    char doing[96];
    size_t offset;

    for (int page = 1; !c->analytics.status; page++) {
        char *body = analytics_body(c, first, n, page);
        int rc;

        if (c->analytics.pages)
            snprintf(doing, sizeof(doing), "after %lld pages of analytics",
                     (long long)c->analytics.pages);
        else
            snprintf(doing, sizeof(doing), "before the analytics");
        rc = call(c, s, &c->analytics, "POST", ROUTE_ANALYTICS, ROUTE_ANALYTICS,
                  body, doing, &res);
        cJSON_free(body);
        if (rc)
            return;
        c->analytics.pages++;
        if (evidence_timeline_add_page(tl, buf_str(&res.resp->body),
                                       res.resp->body.len, res.seq, &info,
                                       &offset)) {
            end_unparsable(&c->analytics, "an analytics page", offset);
            return;
        }
        c->analytics.skipped += (int64_t)info.skipped;
        /* The last page: short, empty, or as far as totalHits goes. */
        if (!info.entries ||
            (info.total_hits >= 0 &&
             (int64_t)page * c->opt->analytics_page_size >= info.total_hits) ||
            (info.total_hits < 0 &&
             info.entries < (size_t)c->opt->analytics_page_size))
            return;
        if (page >= PAGES_MAX) {
            part_end(&c->analytics, "failed",
                     "more than %d pages of analytics for one query",
                     PAGES_MAX);
            return;
        }
    }
}

static void write_transition(void *ctx, const struct evidence_transition *t)
{
    struct collector *c = ctx;
    const char *agent = find_agent(c, t->agent);
    struct history_observation o;

    if (!agent) {
        c->analytics.skipped++; /* a user that was not asked for */
        return;
    }
    memset(&o, 0, sizeof(o));
    o.agent = agent;
    o.property = t->property;
    o.old_value = t->old_value;
    o.new_value = t->new_value;
    o.bracket_start_wall_ns = t->at_wall_ns;
    o.bracket_end_wall_ns = t->at_wall_ns;
    o.server_wall_ns = t->at_wall_ns;
    o.source = "analytics";
    o.request_seq = t->request_seq;
    o.hidden = 0;
    if (c->h->history)
        history_observation(c->h->history, &o);
    c->transitions++;
}

/* --- report -------------------------------------------------------- */

static cJSON *part_json(const struct part *p, const char *count_key,
                        int64_t count, const char *count2_key, int64_t count2)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "status", p->status);
    cJSON_AddStringToObject(o, "message", p->message);
    cJSON_AddNumberToObject(o, count_key, (double)count);
    if (count2_key)
        cJSON_AddNumberToObject(o, count2_key, (double)count2);
    cJSON_AddNumberToObject(o, "pages", (double)p->pages);
    cJSON_AddNumberToObject(o, "skipped", (double)p->skipped);
    cJSON_AddStringToObject(o, "permission", p->permission);
    return o;
}

static void log_part(const struct part *p)
{
    if (!strcmp(p->status, "ok"))
        log_info("evidence: %s: %s", p->name, p->message);
    else
        log_warn("evidence: %s %s: %s", p->name, p->status, p->message);
}

enum rt_err evidence_collect(struct harness *h, int64_t from_wall_ns,
                             int64_t to_wall_ns, const char *run_dir,
                             cJSON **report_out)
{
    return evidence_collect_with(h, from_wall_ns, to_wall_ns, run_dir, NULL,
                                 report_out);
}

static int options_valid(const struct evidence_options *o)
{
    return o->time_limit_ns > 0 && o->audit_poll_limit_ns > 0 &&
           o->audit_page_size >= 1 &&
           o->audit_page_size <= EVIDENCE_AUDIT_PAGE_MAX &&
           o->analytics_page_size >= 1 &&
           o->analytics_page_size <= EVIDENCE_ANALYTICS_PAGE_MAX &&
           o->analytics_users >= 1 &&
           o->analytics_users <= EVIDENCE_ANALYTICS_USERS_MAX;
}

enum rt_err evidence_collect_with(struct harness *h, int64_t from_wall_ns,
                                  int64_t to_wall_ns, const char *run_dir,
                                  const struct evidence_options *opt,
                                  cJSON **report_out)
{
    struct evidence_options defaults;
    struct collector c;
    struct session *sa = NULL, *sn = NULL;
    struct evidence_timeline *tl = NULL;
    struct audit_sink sink;
    enum evidence_audit_state state = EVIDENCE_AUDIT_UNKNOWN;
    char id[EVIDENCE_QUERY_ID_MAX] = "";
    int64_t submitted_mono = 0;
    enum rt_err err = RT_OK, e;
    cJSON *report;

    if (report_out)
        *report_out = NULL;
    evidence_options_default(&defaults);
    if (!opt)
        opt = &defaults;
    if (!h || !run_dir || !report_out || !options_valid(opt) ||
        to_wall_ns < from_wall_ns)
        return rt_fail(RT_EINVAL, "cannot collect evidence: bad arguments");

    memset(&c, 0, sizeof(c));
    c.h = h;
    c.opt = opt;
    c.from_wall_ns = from_wall_ns;
    c.to_wall_ns = to_wall_ns;
    c.deadline_mono_ns = clock_mono_ns() + opt->time_limit_ns;
    c.audit.name = "audit";
    c.audit.permission = EVIDENCE_AUDIT_PERMISSION;
    c.analytics.name = "analytics";
    c.analytics.permission = EVIDENCE_ANALYTICS_PERMISSION;
    c.agents = xcalloc(h->n_agents ? h->n_agents : 1, sizeof(*c.agents));
    for (size_t i = 0; i < h->n_agents; i++)
        c.agents[i] = h->agent_ids[i];
    qsort(c.agents, h->n_agents, sizeof(*c.agents), cmp_agent);
    memset(&sink, 0, sizeof(sink));
    sink.c = &c;
    csv_row_init(&sink.row);
    tl = evidence_timeline_new();

    if ((e = csv_open_in(&sink.csv, run_dir, "audit.csv", evidence_audit_cols,
                         evidence_n_audit_cols, CSV_ATOMIC))) {
        err = RT_EIO;
        part_end(&c.audit, "failed", "cannot write audit.csv: %s",
                 rt_strerror(e));
    }
    if (!h->n_agents) {
        part_end(&c.audit, "ok", "no agents, nothing to ask");
        part_end(&c.analytics, "ok", "no agents, nothing to ask");
    }
    if (!c.audit.status && (e = session_new(&sa, h, "audit")))
        part_end(&c.audit, "failed", "no session: %s", rt_strerror(e));
    if (!c.analytics.status && (e = session_new(&sn, h, "analytics")))
        part_end(&c.analytics, "failed", "no session: %s", rt_strerror(e));
    if (h->n_agents) {
        char limit[32];
        log_info(
            "evidence: reading the audit trail and the analytics "
            "history of %zu agents (at most %s)",
            h->n_agents,
            units_format_duration(opt->time_limit_ns, limit, sizeof(limit)));
    }

    /* The audit query works on the server while analytics is read. */
    if (!c.audit.status) {
        submitted_mono = clock_mono_ns();
        audit_submit(&c, sa, id, &state);
    }
    for (size_t first = 0; !c.analytics.status && first < h->n_agents;
         first += (size_t)opt->analytics_users) {
        size_t n = h->n_agents - first;
        analytics_chunk(&c, sn, tl, first,
                        n < (size_t)opt->analytics_users
                            ? n
                            : (size_t)opt->analytics_users);
    }
    /* What was read is kept, whatever ended the reading. */
    evidence_timeline_transitions(tl, from_wall_ns, to_wall_ns,
                                  write_transition, &c);
    c.analytics_users = (int64_t)evidence_timeline_users(tl, is_agent, &c);
    part_end(&c.analytics, "ok",
             "%lld presence and routing transitions of %lld agents",
             (long long)c.transitions, (long long)c.analytics_users);

    if (!c.audit.status && audit_wait(&c, sa, id, state, submitted_mono) == 0)
        audit_fetch(&c, sa, id, &sink);
    part_end(&c.audit, "ok",
             "%lld records about the run's agents in %lld page%s (%lld "
             "about other users left out)",
             (long long)c.audit_records, (long long)c.audit.pages,
             c.audit.pages == 1 ? "" : "s", (long long)c.audit_other);
    if (sink.too_large)
        log_warn("evidence: %lld audit records over the CSV row limit were "
                 "left out",
                 (long long)sink.too_large);
    c.audit.skipped += sink.too_large;
    if (sink.csv && (e = csv_close(sink.csv)) && !err)
        err = RT_EIO;

    log_part(&c.audit);
    log_part(&c.analytics);
    report = cJSON_CreateObject();
    cJSON_AddItemToObject(
        report, "audit",
        part_json(&c.audit, "records", c.audit_records, NULL, 0));
    cJSON_AddItemToObject(report, "analytics",
                          part_json(&c.analytics, "users", c.analytics_users,
                                    "transitions", c.transitions));
    *report_out = report;

    csv_row_release(&sink.row);
    evidence_timeline_free(tl);
    session_free(sn);
    session_free(sa);
    free(c.agents);
    return err;
}
