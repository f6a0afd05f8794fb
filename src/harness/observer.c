/*
 * Observer threads (see include/harness/observer.h).
 *
 * Everything a thread touches on its hot path is its own: its session
 * (curl handle, response buffer, RNG), its targets with their schedules
 * and sorted member lists, its counters, and the tracker entries of its
 * agents (each agent sits in exactly one target, each target in exactly
 * one thread).  The target table and the harness are shared read-only;
 * the only shared writes are the tracker's and the run's atomics.
 *
 * Each thread keeps its targets in a binary min-heap on the next intended
 * time, so a thread with thousands of agents (agent mode) picks the next
 * one in O(log n).
 */
#include "harness/observer.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>
#include <curl/curl.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "base/xalloc.h"

#define ROUTE_BULK "/api/v2/users?id={ids}"
#define ROUTE_AGENT "/api/v2/users/{id}"
#define EXPAND "expand=presence,routingStatus"
/* Longest request path: the session joins it to an api_url of at most
 * HARNESS_URL_MAX in a buffer of HARNESS_URL_MAX + 4096. */
#define PATH_MAX_BYTES 4095

/* The bulk query spells the page size out. */
_Static_assert(OBSERVER_CHUNK_MAX == 100, "update pageSize in build_path");

struct member {
    const char *id; /* borrowed from h->agent_ids */
    size_t agent;   /* index in h->agent_ids and in the tracker */
};

/* One chunk (bulk) or one agent (agent mode). */
struct target {
    struct member *members; /* a slice of observers.members, sorted by id */
    size_t n;
    unsigned char *seen;  /* per member, while reading one answer */
    char *path;           /* path and query, owned */
    int64_t next_mono_ns; /* intended time of the next poll */
};

struct counters {
    atomic_int_fast64_t requests, failed, unparsable, samples, missing, foreign,
        rescheduled;
};

struct worker {
    struct observers *obs;
    struct session *session;
    pthread_t thread;
    int started;
    size_t *heap; /* target indexes, min-heap on next_mono_ns */
    size_t n;
    struct counters c;
    /* The answer being read, for the parse callback. */
    struct target *cur;
    const struct session_result *res;
};

struct observers {
    struct harness *h;
    enum scn_observe_mode mode;
    /* Presence and routing status come from the notifications stream:
     * polls ask for versions only. */
    int versions_only;
    int64_t interval_ns;
    double jitter;
    struct member *members; /* every agent once, grouped by target */
    struct target *targets;
    size_t n_targets;
    struct worker *workers;
    size_t n_workers;
    /* Warn once per run, not once per poll. */
    atomic_bool warned_failure, warned_parse;
};

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

/* A non-negative integral JSON number, else -1. */
static int64_t version_value(const cJSON *v)
{
    double d;

    if (!cJSON_IsNumber(v))
        return -1;
    d = v->valuedouble;
    /* 2^63 is exactly representable; anything at or above it is not an
     * int64_t. */
    if (!(d >= 0 && d < 9223372036854775808.0) || d != floor(d))
        return -1;
    return (int64_t)d;
}

static int64_t time_field(const cJSON *obj, const char *key)
{
    const char *s = json_string_field(obj, key);
    int64_t ns;

    return s && iso8601_parse(s, &ns) == RT_OK ? ns : 0;
}

/* Fill @out from one user object; 0 when it has no string id. */
static int read_user(const cJSON *u, struct observer_user *out)
{
    const cJSON *p, *r;

    memset(out, 0, sizeof(*out));
    if (!(out->id = json_string_field(u, "id")))
        return 0;
    out->version = version_value(json_field(u, "version"));
    /* Expands are best effort: whatever is missing stays NULL / 0. */
    p = json_field(u, "presence");
    out->presence = json_string_field(json_field(p, "presenceDefinition"),
                                      "systemPresence");
    if (out->presence)
        out->presence_server_ns = time_field(p, "modifiedDate");
    r = json_field(u, "routingStatus");
    out->routing = json_string_field(r, "status");
    if (out->routing)
        out->routing_server_ns = time_field(r, "startTime");
    return 1;
}

enum rt_err observer_parse_listing(const char *body, size_t len,
                                   observer_user_fn fn, void *ctx,
                                   size_t *error_offset, size_t *skipped)
{
    cJSON *doc = json_parse_exact(body, len, error_offset);
    const cJSON *entities, *u;
    struct observer_user user;
    size_t skip = 0;

    if (skipped)
        *skipped = 0;
    if (!doc)
        return RT_EPARSE;
    entities = json_field(doc, "entities");
    if (!cJSON_IsArray(entities)) {
        cJSON_Delete(doc);
        return RT_EPARSE;
    }
    cJSON_ArrayForEach(u, entities)
    {
        if (read_user(u, &user))
            fn(ctx, &user);
        else
            skip++;
    }
    cJSON_Delete(doc);
    if (skipped)
        *skipped = skip;
    return RT_OK;
}

enum rt_err observer_parse_user(const char *body, size_t len,
                                observer_user_fn fn, void *ctx,
                                size_t *error_offset)
{
    cJSON *doc = json_parse_exact(body, len, error_offset);
    struct observer_user user;
    enum rt_err err = RT_EPARSE;

    if (!doc)
        return RT_EPARSE;
    if (read_user(doc, &user)) {
        fn(ctx, &user);
        err = RT_OK;
    }
    cJSON_Delete(doc);
    return err;
}

/* ------------------------------------------------------------------ */
/* Demand                                                              */

static size_t chunks_for(size_t n_agents)
{
    return (n_agents + OBSERVER_CHUNK_MAX - 1) / OBSERVER_CHUNK_MAX;
}

double observers_demand_per_min(enum scn_observe_mode mode, size_t n_agents,
                                int64_t interval_ns)
{
    size_t per_interval =
        mode == SCN_OBSERVE_BULK ? chunks_for(n_agents) : n_agents;

    if (per_interval == 0)
        return 0;
    if (interval_ns <= 0)
        return HUGE_VAL;
    return (double)per_interval * 60e9 / (double)interval_ns;
}

/* ------------------------------------------------------------------ */
/* Targets                                                             */

static int member_cmp(const void *a, const void *b)
{
    return strcasecmp(((const struct member *)a)->id,
                      ((const struct member *)b)->id);
}

/* Refuse duplicate ids: two targets (or threads) sampling one agent would
 * break the tracker's one-thread-per-agent rule. */
static enum rt_err check_distinct(struct harness *h)
{
    struct member *m = xcalloc(h->n_agents ? h->n_agents : 1, sizeof(*m));
    enum rt_err err = RT_OK;

    for (size_t i = 0; i < h->n_agents; i++)
        m[i].id = h->agent_ids[i];
    qsort(m, h->n_agents, sizeof(*m), member_cmp);
    for (size_t i = 1; i < h->n_agents; i++)
        if (!strcasecmp(m[i - 1].id, m[i].id)) {
            err = rt_fail(RT_EINVAL, "agent '%s' is listed twice", m[i].id);
            break;
        }
    free(m);
    return err;
}

/*
 * Build the request path of a target starting at member @first with at
 * most @want agents: fewer when the ids (percent-encoded by libcurl) would
 * not fit one path, which only happens for ids much longer than a UUID.
 * *@took gets the number taken (at least 1).
 */
static enum rt_err build_path(struct observers *self, size_t first, size_t want,
                              char **out, size_t *took)
{
    const char *bulk_suffix =
        self->versions_only ? "&pageSize=100" : "&pageSize=100&" EXPAND;
    const char *agent_suffix = self->versions_only ? "" : "?" EXPAND;
    int bulk = self->mode == SCN_OBSERVE_BULK;
    struct buf path;
    enum rt_err err = RT_OK;
    size_t k;

    buf_init(&path, PATH_MAX_BYTES);
    err = buf_puts(&path, bulk ? "/api/v2/users?id=" : "/api/v2/users/");
    for (k = 0; !err && k < want; k++) {
        const char *id = self->members[first + k].id;
        char *esc = curl_easy_escape(NULL, id, 0);
        size_t need;

        if (!esc) {
            err = rt_fail(RT_EINVAL, "cannot encode agent id '%s'", id);
            break;
        }
        need = (k > 0) + strlen(esc) +
               strlen(bulk ? bulk_suffix : agent_suffix) + 1;
        if (path.len + need > PATH_MAX_BYTES) {
            if (k == 0)
                err = rt_fail(RT_EINVAL,
                              "agent id '%.40s...' is too long for a "
                              "request path",
                              id);
            curl_free(esc);
            break;
        }
        if (k > 0)
            err = buf_putc(&path, ',');
        if (!err)
            err = buf_puts(&path, esc);
        curl_free(esc);
    }
    if (!err)
        err = buf_puts(&path, bulk ? bulk_suffix : agent_suffix);
    if (err) {
        buf_release(&path);
        return err;
    }
    *took = k;
    *out = buf_detach(&path, NULL);
    return RT_OK;
}

/*
 * Cut the agents into targets: one per agent, or balanced bulk chunks
 * (101 agents make chunks of 51 and 50, not 100 and 1).
 */
static enum rt_err build_targets(struct observers *self)
{
    struct harness *h = self->h;
    size_t n = h->n_agents, per = 1, first = 0;
    enum rt_err err;

    self->members = xcalloc(n ? n : 1, sizeof(*self->members));
    for (size_t i = 0; i < n; i++) {
        self->members[i].id = h->agent_ids[i];
        self->members[i].agent = i;
    }
    if (self->mode == SCN_OBSERVE_BULK && n > 0)
        per = (n + chunks_for(n) - 1) / chunks_for(n);
    /* At most one target per agent. */
    self->targets = xcalloc(n ? n : 1, sizeof(*self->targets));
    while (first < n) {
        struct target *t = &self->targets[self->n_targets];
        size_t want = per < n - first ? per : n - first, took;

        if ((err = build_path(self, first, want, &t->path, &took)))
            return err;
        self->n_targets++;
        t->members = self->members + first;
        t->n = took;
        t->seen = xcalloc(took, 1);
        /* Sorted for bsearch when the answer comes back. */
        qsort(t->members, took, sizeof(*t->members), member_cmp);
        first += took;
    }
    return RT_OK;
}

/* ------------------------------------------------------------------ */
/* The threads                                                         */

static void heap_sift_down(struct worker *w, const struct target *targets,
                           size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, min = i, tmp;

        if (l < w->n && targets[w->heap[l]].next_mono_ns <
                            targets[w->heap[min]].next_mono_ns)
            min = l;
        if (r < w->n && targets[w->heap[r]].next_mono_ns <
                            targets[w->heap[min]].next_mono_ns)
            min = r;
        if (min == i)
            return;
        tmp = w->heap[i];
        w->heap[i] = w->heap[min];
        w->heap[min] = tmp;
        i = min;
    }
}

static void count(atomic_int_fast64_t *c, int64_t n)
{
    /* Only the owning thread writes its counters. */
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* interval * (1 + jitter * U(-1,1)), at least 1 ns. */
static int64_t next_step(struct worker *w)
{
    struct observers *o = w->obs;
    double u = 2.0 * rng_double(session_rng(w->session)) - 1.0;
    int64_t step = (int64_t)((double)o->interval_ns * (1.0 + o->jitter * u));

    return step > 0 ? step : 1;
}

/* Show tracker bumps on the progress line; never move it backwards when
 * two threads race to update it. */
static void publish_bumps(struct harness *h)
{
    struct tracker_stats st;
    int_fast64_t seen, now;

    tracker_stats(h->tracker, &st);
    now = st.version_changes + st.hidden_bumps;
    seen = atomic_load(&h->counters.bumps);
    while (seen < now &&
           !atomic_compare_exchange_weak(&h->counters.bumps, &seen, now))
        ;
}

static void on_user(void *ctx, const struct observer_user *u)
{
    struct worker *w = ctx;
    struct target *t = w->cur;
    const struct http_response *resp = w->res->resp;
    struct member key = {.id = u->id}, *m;
    struct tracker_sample s;

    m = bsearch(&key, t->members, t->n, sizeof(*m), member_cmp);
    if (!m) {
        count(&w->c.foreign, 1);
        return;
    }
    t->seen[m - t->members] = 1;
    memset(&s, 0, sizeof(s));
    s.version = u->version;
    if (!w->obs->versions_only) {
        s.presence = u->presence;
        s.presence_server_ns = u->presence_server_ns;
        s.routing = u->routing;
        s.routing_server_ns = u->routing_server_ns;
    }
    s.send_wall_ns = resp->send_wall_ns;
    s.recv_wall_ns = resp->recv_wall_ns;
    s.request_seq = w->res->seq;
    tracker_sample(w->obs->h->tracker, m->agent, &s);
    count(&w->c.samples, 1);
}

static void warn_once(atomic_bool *flag, const char *what)
{
    if (!atomic_exchange(flag, true))
        log_warn("%s; later ones are only counted", what);
}

/* Read one answer into the tracker. */
static void read_answer(struct worker *w, struct target *t,
                        const struct session_result *res)
{
    struct observers *o = w->obs;
    const struct http_response *resp = res->resp;
    const char *route = o->mode == SCN_OBSERVE_BULK ? ROUTE_BULK : ROUTE_AGENT;
    size_t offset = 0, skipped = 0, missing = 0;
    char what[160];
    enum rt_err err;

    memset(t->seen, 0, t->n);
    w->cur = t;
    w->res = res;
    if (o->mode == SCN_OBSERVE_BULK)
        err = observer_parse_listing(resp->body.data, resp->body.len, on_user,
                                     w, &offset, &skipped);
    else
        err = observer_parse_user(resp->body.data, resp->body.len, on_user, w,
                                  &offset);
    w->cur = NULL;
    w->res = NULL;
    if (err) {
        count(&w->c.unparsable, 1);
        snprintf(what, sizeof(what),
                 "cannot parse the answer to '%s' (request %lld) at byte %zu",
                 route, (long long)res->seq, offset);
        warn_once(&o->warned_parse, what);
        return;
    }
    count(&w->c.foreign, (int64_t)skipped);
    for (size_t k = 0; k < t->n; k++)
        missing += !t->seen[k];
    count(&w->c.missing, (int64_t)missing);
    publish_bumps(o->h);
}

/* Poll @t once.  RT_EINTR when the run is stopping. */
static enum rt_err poll_target(struct worker *w, struct target *t)
{
    struct observers *o = w->obs;
    int bulk = o->mode == SCN_OBSERVE_BULK;
    struct session_call call;
    struct session_result res;
    char what[200];
    enum rt_err err;

    memset(&call, 0, sizeof(call));
    call.method = "GET";
    call.route = bulk ? ROUTE_BULK : ROUTE_AGENT;
    call.path = t->path;
    call.agent = bulk ? NULL : t->members[0].id;
    call.op_id = -1;
    call.version_sent = -1;
    call.agents_in_request = bulk ? (int64_t)t->n : -1;
    /* The wall time matching the intended monotonic time, read now so a
     * wall-clock step does not skew it. */
    call.intended_wall_ns =
        clock_wall_ns() - (clock_mono_ns() - t->next_mono_ns);
    err = session_call(w->session, &call, &res);
    if (err == RT_EINTR)
        return err;
    if (res.exchanges > 0)
        count(&w->c.requests, 1);
    if (err || res.cls.kind != CLASSIFY_OK) {
        count(&w->c.failed, 1);
        /* A 429 is the limiter's business and shows in requests.csv. */
        if (!err && res.cls.kind == CLASSIFY_THROTTLED)
            return RT_OK;
        if (err)
            snprintf(what, sizeof(what), "observe request '%s' failed: %s",
                     call.route, rt_strerror(err));
        else
            snprintf(what, sizeof(what),
                     "observe request '%s' failed: status %ld (%s)", call.route,
                     res.resp->status, classify_kind_name(res.cls.kind));
        warn_once(&o->warned_failure, what);
        return RT_OK;
    }
    read_answer(w, t, &res);
    return RT_OK;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct observers *o = w->obs;
    struct harness *h = o->h;

    while (w->n > 0) {
        struct target *t = &o->targets[w->heap[0]];
        int64_t next, now;

        if (harness_wait_until(h, t->next_mono_ns))
            break;
        if (poll_target(w, t) == RT_EINTR)
            break;
        next = t->next_mono_ns + next_step(w);
        now = clock_mono_ns();
        if (next < now) {
            /* Behind by more than an interval: start afresh rather than
             * fire the missed polls back to back. */
            next = now + next_step(w);
            count(&w->c.rescheduled, 1);
        }
        t->next_mono_ns = next;
        heap_sift_down(w, o->targets, 0);
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */

static void free_observers(struct observers *self)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->n_workers; i++) {
        session_free(self->workers[i].session);
        free(self->workers[i].heap);
    }
    free(self->workers);
    for (size_t i = 0; i < self->n_targets; i++) {
        free(self->targets[i].seen);
        free(self->targets[i].path);
    }
    free(self->targets);
    free(self->members);
    free(self);
}

static void join_started(struct observers *self)
{
    for (size_t i = 0; i < self->n_workers; i++)
        if (self->workers[i].started) {
            pthread_join(self->workers[i].thread, NULL);
            self->workers[i].started = 0;
        }
}

/* Deal targets round-robin and stagger first polls over one interval. */
static enum rt_err make_workers(struct observers *self, int threads)
{
    size_t n_workers = threads > 0 ? (size_t)threads : 1;
    int64_t start = clock_mono_ns();
    enum rt_err err;

    if (n_workers > self->n_targets)
        n_workers = self->n_targets;
    self->workers = xcalloc(n_workers ? n_workers : 1, sizeof(*self->workers));
    self->n_workers = n_workers;
    for (size_t i = 0; i < n_workers; i++) {
        struct worker *w = &self->workers[i];

        w->obs = self;
        w->heap = xcalloc(self->n_targets / n_workers + 1, sizeof(*w->heap));
        if ((err = session_new(&w->session, self->h, "observe")))
            return err;
    }
    for (size_t c = 0; c < self->n_targets; c++) {
        struct worker *w = &self->workers[c % n_workers];

        /* (long double) keeps c * interval from overflowing. */
        self->targets[c].next_mono_ns =
            start + (int64_t)((long double)self->interval_ns * (long double)c /
                              (long double)self->n_targets);
        /* Ascending times: the array is already a valid heap. */
        w->heap[w->n++] = c;
    }
    return RT_OK;
}

enum rt_err observers_start(struct observers **out, struct harness *h,
                            int64_t interval_ns)
{
    struct observers *self;
    enum rt_err err;
    int rc;

    *out = NULL;
    if (!h->scn || !h->tracker)
        return rt_fail(RT_EINVAL, "observers need a scenario and a tracker");
    if (interval_ns <= 0)
        return rt_fail(RT_EINVAL, "observe interval must be positive");
    if ((err = check_distinct(h)))
        return err;
    self = xcalloc(1, sizeof(*self));
    self->h = h;
    self->mode = h->scn->observe.mode;
    self->versions_only = h->presence_streamed;
    self->interval_ns = interval_ns;
    self->jitter = h->scn->observe.jitter;
    if (self->jitter < 0)
        self->jitter = 0;
    if (self->jitter > 1)
        self->jitter = 1;
    atomic_init(&self->warned_failure, false);
    atomic_init(&self->warned_parse, false);
    if ((err = build_targets(self)) ||
        (err = make_workers(self, h->scn->observe.threads)))
        goto fail;
    for (size_t i = 0; i < self->n_workers; i++) {
        struct worker *w = &self->workers[i];

        if ((rc = pthread_create(&w->thread, NULL, worker_main, w))) {
            err = rt_fail(RT_ESYS, "cannot start observer thread: %s",
                          strerror(rc));
            goto fail;
        }
        w->started = 1;
    }
    log_debug("observers: %zu agents in %zu %s over %zu threads", h->n_agents,
              self->n_targets,
              self->mode == SCN_OBSERVE_BULK ? "chunks" : "targets",
              self->n_workers);
    *out = self;
    return RT_OK;

fail:
    if (self->n_workers && self->workers[0].started) {
        harness_stop(h);
        join_started(self);
    }
    free_observers(self);
    return err;
}

void observers_stats(struct observers *self, struct observers_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!self)
        return;
    for (size_t i = 0; i < self->n_workers; i++) {
        struct counters *c = &self->workers[i].c;

        out->requests += atomic_load(&c->requests);
        out->failed += atomic_load(&c->failed);
        out->unparsable += atomic_load(&c->unparsable);
        out->samples += atomic_load(&c->samples);
        out->missing += atomic_load(&c->missing);
        out->foreign += atomic_load(&c->foreign);
        out->rescheduled += atomic_load(&c->rescheduled);
    }
}

void observers_join_stats(struct observers *self, struct observers_stats *out)
{
    struct observers_stats st;

    if (!self) {
        if (out)
            memset(out, 0, sizeof(*out));
        return;
    }
    join_started(self);
    observers_stats(self, &st);
    if (st.missing || st.foreign || st.unparsable)
        log_warn("observers: %lld agent samples missing from answers, "
                 "%lld unexpected entities, %lld unparsable answers",
                 (long long)st.missing, (long long)st.foreign,
                 (long long)st.unparsable);
    log_debug("observers: %lld requests, %lld failed, %lld samples, "
              "%lld polls rescheduled after falling behind",
              (long long)st.requests, (long long)st.failed,
              (long long)st.samples, (long long)st.rescheduled);
    if (out)
        *out = st;
    free_observers(self);
}

void observers_join(struct observers *self)
{
    observers_join_stats(self, NULL);
}
