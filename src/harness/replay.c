/*
 * The replayer (see include/harness/replay.h).
 *
 * Rounds.  Round r (0 .. repeat.times-1) starts at run start + at +
 * r x every (relative to h->start_mono_ns), or, with an absolute at, at
 * the wall time at + r x every, converted to the monotonic clock once at
 * replay_start(); an absolute time already past at replay_start() is an
 * error.  Within a round each strategy of replay.strategies runs in order
 * over every agent, replay.per_agent times, so there are agents x rounds x
 * strategies x per_agent operations.  A round whose passes overrun the
 * next round's time makes that round start late (one warning per replay).
 *
 * Updates per agent.  With replay.per_agent = K > 1 a strategy's pass is
 * made of K parts, [every agent's update 1][every agent's update 2]...,
 * the way a job applying two changes in two requests, or iterating an
 * input that lists an agent twice, would go.  Part k starts when every
 * item of part k-1 has finished, so two updates of one agent never run at
 * once and the k-th one always starts after the (k-1)-th ended.  Each
 * update is its own operation (own id, own row).  bulk-stale reads in all
 * K parts before it writes in any, so the k-th write of an agent sends the
 * version read before the job's own earlier writes: with a versioned
 * operation every update after the first is a conflict the job caused
 * itself.  The other strategies read (or, blind, remember) the state their
 * own earlier update left, so they do not conflict with themselves.
 *
 * Workers.  replay.workers threads (never more than agents), each with
 * its own session (role "replay"), take agents from the current pass in
 * order.  replay.pace is the minimum spacing between the starts of work
 * items across the whole pool (0: as fast as the workers go); with pacing,
 * the item's slot is passed as intended_wall_ns to its first request, so
 * latency_intended in requests.csv is measured wrk2-style from the
 * schedule.  Operation ids come from one atomic counter starting at 1;
 * every request of an operation carries its id.
 *
 * Operations: read, then write something real and reversible.
 *   user-patch         GET /api/v2/users/{id}; PATCH it with {version,
 *                      department} where the department gains or loses
 *                      " (racetrace)".  Versioned.
 *   utilization-put    GET /api/v2/routing/users/{id}/utilization; PUT the
 *                      whole map read (every media type, labelUtilizations)
 *                      with call.maximumCapacity toggled 1<->2.  A PUT
 *                      resets omitted media types to the org default, so
 *                      sending back only "call" would change more than the
 *                      toggle.  Unversioned.
 *   skills-bulk-patch  GET /api/v2/users/{id}/routingskills?pageSize=100;
 *                      PATCH .../routingskills/bulk [{id, proficiency}] for
 *                      one skill, proficiency toggled p<->p+-1 in 0..5.
 *   queue-join         GET /api/v2/users/{id}/queues?pageSize=100&joined=
 *                      true and ...&joined=false; PATCH
 *                      /api/v2/users/{id}/queues [{id, joined: !joined}]
 *                      for the member queue with the smallest id.
 *   template           GET read.path; the integer at version_field (a dotted
 *                      path) is the version; write.method write.path with
 *                      write.body, "{version}" and "{id}" strings replaced.
 * The skill (the first listed) or queue (the smallest id among both
 * lists, so the choice does not depend on which queues earlier runs
 * toggled) an operation changes is chosen at the agent's first read and
 * kept for the whole replay, so an even number of operations on an agent
 * restores it, within a run and across runs.
 *
 * Strategies.
 *   bulk-stale         two passes: read every agent, then write every agent
 *                      with the state read (the pattern that fails in the
 *                      wild).  No retry.
 *   read-modify-write  per agent, read right before the write.  No retry.
 *   retry              read-modify-write; up to retry.max_attempts writes
 *                      in all.  On a conflict: back off, re-read, write
 *                      again.  On a 429: wait Retry-After (3 s when absent)
 *                      from the response, then resend the same write; a
 *                      Retry-After above retry.give_up_after ends the
 *                      operation as gave_up at once (so do attempts used
 *                      up on 429s).  On a 5xx: back off,
 *                      re-read, and write again unless the re-read shows the
 *                      write landed.  On a timeout or transport error: back
 *                      off and re-read; if the re-read shows the write
 *                      landed (versioned: version v+1 and the intended value;
 *                      unversioned: the intended value) the outcome is ok
 *                      and a line is logged, else write again, and when
 *                      attempts are used up the outcome stays unknown.
 *                      Failed reads (429, 5xx, timeout) are retried the
 *                      same way, at most max_attempts times per read.
 *   blind              write without reading (unversioned operations only;
 *                      replay_start() refuses user-patch and template).  The
 *                      value written is the toggle of the last state the
 *                      replayer saw for the agent (read or written by any
 *                      earlier operation); agents with none get one
 *                      discovery read before the pass, recorded in
 *                      requests.csv with no op_id and not part of any
 *                      operation.
 * The strategies without retry end at the first failure: a conflict is
 * "conflict", a 429 "gave_up", a timeout or transport error on the write
 * "unknown", anything else "error".
 *
 * operations.csv, one row per operation that made at least one request:
 * round counts from 0; read_version is the first version read (-1 for
 * unversioned operations); read_versions every version read; attempts the
 * writes sent (429s included); final_version the version after the
 * successful write (from its response body, or from the re-read that
 * showed it landed; -1 when none or unversioned); requests every
 * exchange; wasted_requests every exchange except, on success, the
 * successful write and the read it was based on.  intent is what the
 * write set, named as in truth.csv ("department=...",
 * "utilization.call.maximumCapacity=2", "skill.<id>=4",
 * "queue_joined.<id>=false", "body=<json>" for a template); an operation
 * that failed before any write names the reason instead.  Each finished
 * operation bumps the run's counters (run_counters_outcome).
 *
 * Dry run (h->dry_run set).  Every read is made as usual; each write is
 * built as it would be sent and listed with dryrun_write() instead, and
 * the operation ends there with outcome "dry_run" (attempts 0: nothing
 * was sent), so the retry strategy never retries and blind writes are
 * based on what was read.  Dry-run operations count in updates_done but
 * in none of the outcome counters.
 *
 * Stopping.  Every wait is harness_wait_until(), and session_call() fails
 * with RT_EINTR once the run stops, so a stop ends operations at once.  An
 * operation in progress is recorded with its outcome as it stands: "error"
 * with intent "interrupted before the write" when it had not written yet,
 * else what its last write gave (conflict, gave_up, unknown, error).
 * Operations that had not started are not recorded.
 *
 * Threads.  The coordinator runs the rounds and hands out passes (one per
 * part); workers take items under the replayer's lock.  Each operation
 * and each agent's remembered state are touched by one worker at a time
 * (one item per agent per part; parts are separate passes, separated by
 * the lock), so they need no lock of their own.
 */
#include "harness/replay.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/units.h"
#include "base/xalloc.h"
#include "harness/dryrun.h"
#include "harness/snapshot.h"

/* Longest request path: the session joins it to an api_url of at most
 * HARNESS_URL_MAX in a buffer of HARNESS_URL_MAX + 4096. */
#define PATH_MAX_BYTES 4095
#define INTENT_MAX 256
#define VERSIONS_MAX_BYTES 4096
#define TARGET_MAX 128
/* A round that starts later than this after its time was delayed by the
 * round before. */
#define LATE_TOLERANCE_NS (10 * NS_PER_MS)

#define ROUTE_USER "/api/v2/users/{id}"
#define ROUTE_UTIL "/api/v2/routing/users/{id}/utilization"
#define ROUTE_SKILLS "/api/v2/users/{id}/routingskills"
#define ROUTE_SKILLS_BULK "/api/v2/users/{id}/routingskills/bulk"
#define ROUTE_QUEUES "/api/v2/users/{id}/queues"

/* What one read saw, or what one write sets. */
struct value {
    int valid;
    int64_t version; /* -1: unversioned resource */
    char *text;      /* user-patch: the department; owned */
    cJSON *util;     /* utilization-put: the "utilization" map; owned */
    cJSON *labels;   /* utilization-put: labelUtilizations; owned or NULL */
    char target[TARGET_MAX]; /* queue-join: the queue found while reading */
    double number;           /* call capacity, proficiency, or joined (0/1) */
};

/* What the replayer remembers of one agent between operations. */
struct known {
    char target[TARGET_MAX]; /* skill or queue id, chosen at first read */
    struct value last;       /* last state read or written */
};

/* One logical update of one agent. */
struct op {
    int64_t id; /* 0 until it starts; -1 for a discovery read */
    size_t agent;
    int round;
    enum scn_strategy strategy;
    struct value base;    /* the state the next write is based on */
    struct value want;    /* what the last write set */
    int64_t read_version; /* first version read */
    struct buf versions;  /* every version read, ";"-joined */
    int attempts;         /* writes sent */
    int64_t requests;
    int64_t read_requests;       /* exchanges of the latest read */
    int64_t write_base_requests; /* ...of the read the last write used */
    int64_t write_requests;      /* exchanges of the last write */
    int64_t final_version;
    int64_t start_wall_ns, first_read_wall_ns, last_write_wall_ns;
    int last_status;
    char correlation_id[HTTP_HEADER_VALUE_MAX];
    char intent[INTENT_MAX];
    const char *outcome;      /* NULL while undecided */
    const char *pending;      /* the outcome if it stopped now */
    int64_t intended_wall_ns; /* for the next request only */
    int backoff_k;            /* retries so far (backoff exponent) */
    int64_t backoff_prev_ns;  /* previous sleep (decorrelated jitter) */
    int recorded;
};

enum phase { PHASE_OP, PHASE_READ, PHASE_WRITE, PHASE_DISCOVER };

/* How a step of an operation ended. */
enum step {
    STEP_OK,   /* go on */
    STEP_DONE, /* op->outcome is set */
    STEP_STOP, /* the run is stopping */
};

struct worker {
    struct replayer *rep;
    struct session *s;
    pthread_t thread;
    int started;
};

struct replayer {
    struct harness *h;
    const struct scenario *scn;
    size_t n;      /* agents */
    int per_agent; /* updates of each agent per strategy pass (parts) */
    size_t n_ops;  /* n x per_agent */
    /* One per agent and part: ops[k x n + agent] is the agent's update
     * k + 1; reset before each strategy. */
    struct op *ops;
    struct known *known; /* one per agent */
    size_t *items;       /* indices into ops of the current pass */
    struct worker *workers;
    int n_workers;
    pthread_t coordinator;
    int coordinator_started;

    pthread_mutex_t lock;
    pthread_cond_t work_cond; /* workers: items to take, or quit */
    pthread_cond_t done_cond; /* coordinator: the pass is finished */
    /* The current pass and the pacer, under lock. */
    enum phase phase;
    size_t n_items, next_item, done_items;
    int quit;
    int64_t next_slot_mono_ns;

    int64_t wall_minus_mono_ns; /* wall = mono + this, for intended times */
    atomic_int_fast64_t next_op_id;
    atomic_int done;
    atomic_int warned_parse, warned_token, warned_target;
    int warned_late; /* coordinator only */
};

/* ------------------------------------------------------------------ */
/* Pure helpers                                                        */

int64_t replay_backoff_ns(const struct scn_retry *r, int attempt,
                          int64_t prev_ns, struct rng *rng)
{
    int64_t base = r->base_ns > 0 ? r->base_ns : 0;
    int64_t cap = r->cap_ns > base ? r->cap_ns : base;
    int64_t b, hi;

    if (r->backoff == SCN_BACKOFF_NONE)
        return 0;
    if (r->backoff == SCN_BACKOFF_FIXED) {
        b = base;
    } else {
        /* base x 2^attempt without overflow: stop doubling at the cap. */
        b = base;
        for (int k = 0; k < attempt && b > 0 && b < cap; k++)
            b = b > cap / 2 ? cap : 2 * b;
    }
    if (b > cap)
        b = cap;
    switch (r->jitter) {
    case SCN_JITTER_NONE:
        return b;
    case SCN_JITTER_FULL:
        return rng_range(rng, 0, b);
    case SCN_JITTER_EQUAL:
        return b / 2 + rng_range(rng, 0, b - b / 2);
    case SCN_JITTER_DECORRELATED:
        if (prev_ns <= 0)
            prev_ns = base;
        hi = prev_ns > INT64_MAX / 3 ? INT64_MAX : prev_ns * 3;
        if (hi < base)
            hi = base;
        b = rng_range(rng, base, hi);
        return b < cap ? b : cap;
    }
    return b;
}

int replay_throttle_wait(const struct scn_retry *r, int64_t retry_after_s,
                         int64_t recv_mono_ns, int64_t *until_mono_ns)
{
    int64_t wait = retry_after_s < 0 ? REPLAY_RETRY_AFTER_DEFAULT_NS
                   : retry_after_s > INT64_MAX / NS_PER_S
                       ? INT64_MAX
                       : retry_after_s * NS_PER_S;

    if (wait > r->give_up_retry_after_ns)
        return 1;
    *until_mono_ns = recv_mono_ns + wait;
    return 0;
}

char *replay_toggle_department(const char *dept)
{
    static const char suffix[] = REPLAY_DEPARTMENT_SUFFIX;
    /* The bare form, for an empty department: the suffix without its
     * leading space. */
    const char *bare = suffix + 1;
    size_t n = dept ? strlen(dept) : 0, s = sizeof(suffix) - 1;
    char *out;

    if (!dept || !*dept)
        return xstrdup(bare);
    if (!strcmp(dept, bare))
        return xstrdup("");
    if (n > s && !strcmp(dept + n - s, suffix))
        return xstrndup(dept, n - s);
    out = xmalloc(n + s + 1);
    memcpy(out, dept, n);
    memcpy(out + n, suffix, s + 1);
    return out;
}

int64_t replay_toggle_capacity(int64_t capacity)
{
    if (capacity <= 0)
        return 1;
    return capacity % 2 ? capacity + 1 : capacity - 1;
}

double replay_toggle_proficiency(double proficiency)
{
    double whole = floor(proficiency), out;

    out = fmod(whole, 2.0) == 0.0 ? proficiency + 1.0 : proficiency - 1.0;
    if (out > 5.0)
        out = proficiency - 1.0;
    if (out < 0.0)
        out = proficiency + 1.0;
    return out;
}

cJSON *replay_template_body(const cJSON *tmpl, int64_t version, const char *id)
{
    const cJSON *c;
    cJSON *out;

    if (cJSON_IsString(tmpl) && !strcmp(tmpl->valuestring, "{version}"))
        return json_int64(version);
    if (cJSON_IsString(tmpl) && !strcmp(tmpl->valuestring, "{id}"))
        return cJSON_CreateString(id);
    if (!cJSON_IsArray(tmpl) && !cJSON_IsObject(tmpl))
        return cJSON_Duplicate(tmpl, 1);
    /* Rebuilt rather than copied and patched, so object members keep
     * their keys without touching cJSON's internals. */
    out = cJSON_IsArray(tmpl) ? cJSON_CreateArray() : cJSON_CreateObject();
    cJSON_ArrayForEach(c, tmpl)
    {
        cJSON *v = replay_template_body(c, version, id);
        if (cJSON_IsArray(tmpl))
            cJSON_AddItemToArray(out, v);
        else
            cJSON_AddItemToObject(out, c->string, v);
    }
    return out;
}

static int strategy_reads(enum scn_operation op)
{
    /* queue-join may need both lists to find the membership. */
    return op == SCN_OP_QUEUE_JOIN ? 2 : 1;
}

double replay_demand_requests(const struct scenario *scn, size_t n_agents)
{
    int reads = strategy_reads(scn->replay.operation), blind = 0;
    double per_round = 0;
    int times = scn->replay.repeat_times > 0 ? scn->replay.repeat_times : 1;
    int per_agent = scn->replay.per_agent > 0 ? scn->replay.per_agent : 1;

    for (size_t i = 0; i < scn->replay.n_strategies; i++) {
        if (scn->replay.strategies[i] == SCN_STRATEGY_BLIND) {
            per_round += 1;
            blind = 1;
        } else {
            per_round += reads + 1;
        }
    }
    /* Discovery reads are per agent, not per update. */
    return per_round * (double)n_agents * times * per_agent +
           (blind ? (double)reads * (double)n_agents : 0.0);
}

/* ------------------------------------------------------------------ */
/* Values                                                              */

static void value_release(struct value *v)
{
    free(v->text);
    cJSON_Delete(v->util);
    cJSON_Delete(v->labels);
    memset(v, 0, sizeof(*v));
    v->version = -1;
}

static void value_copy(struct value *dst, const struct value *src)
{
    value_release(dst);
    *dst = *src;
    dst->text = src->text ? xstrdup(src->text) : NULL;
    dst->util = src->util ? cJSON_Duplicate(src->util, 1) : NULL;
    dst->labels = src->labels ? cJSON_Duplicate(src->labels, 1) : NULL;
}

static void value_move(struct value *dst, struct value *src)
{
    value_release(dst);
    *dst = *src;
    memset(src, 0, sizeof(*src));
    src->version = -1;
}

static int versioned(enum scn_operation op)
{
    return op == SCN_OP_USER_PATCH || op == SCN_OP_TEMPLATE;
}

/* @out = the state one write makes from @from. */
static void value_toggled(enum scn_operation op, const struct value *from,
                          struct value *out)
{
    value_copy(out, from);
    switch (op) {
    case SCN_OP_USER_PATCH:
        free(out->text);
        out->text = replay_toggle_department(from->text);
        break;
    case SCN_OP_UTILIZATION_PUT: {
        cJSON *call = cJSON_GetObjectItemCaseSensitive(out->util, "call");
        cJSON *cap = cJSON_GetObjectItemCaseSensitive(call, "maximumCapacity");
        out->number = (double)replay_toggle_capacity((int64_t)from->number);
        if (cJSON_IsNumber(cap))
            (void)cJSON_SetNumberValue(cap, out->number);
        break;
    }
    case SCN_OP_SKILLS_BULK_PATCH:
        out->number = replay_toggle_proficiency(from->number);
        break;
    case SCN_OP_QUEUE_JOIN:
        out->number = from->number != 0 ? 0 : 1;
        break;
    case SCN_OP_TEMPLATE:
        break;
    }
}

/* Whether @now (a re-read) shows the write of @want, based on version
 * @based_version, as applied. */
static int value_landed(enum scn_operation op, int64_t based_version,
                        const struct value *want, const struct value *now)
{
    if (versioned(op) && now->version != based_version + 1)
        return 0;
    switch (op) {
    case SCN_OP_USER_PATCH:
        return now->text && want->text && !strcmp(now->text, want->text);
    case SCN_OP_UTILIZATION_PUT:
    case SCN_OP_QUEUE_JOIN:
        return now->number == want->number;
    case SCN_OP_SKILLS_BULK_PATCH:
        return fabs(now->number - want->number) < 1e-9;
    case SCN_OP_TEMPLATE:
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* JSON helpers                                                        */

/* The path part of @path_template (no query), into @out. */
static void route_of(char *out, size_t cap, const char *path_template)
{
    snprintf(out, cap, "%.*s", (int)strcspn(path_template, "?"), path_template);
}

/* ------------------------------------------------------------------ */
/* Operations                                                          */

static const char *agent_id(const struct replayer *rep, size_t agent)
{
    return rep->h->agent_ids[agent];
}

static void op_reset(struct op *op)
{
    value_release(&op->base);
    value_release(&op->want);
    buf_reset(&op->versions);
    op->id = 0;
    op->read_version = -1;
    op->attempts = 0;
    op->requests = op->read_requests = 0;
    op->write_base_requests = op->write_requests = 0;
    op->final_version = -1;
    op->start_wall_ns = op->first_read_wall_ns = op->last_write_wall_ns = 0;
    op->last_status = 0;
    op->correlation_id[0] = '\0';
    op->intent[0] = '\0';
    op->outcome = NULL;
    op->pending = "error";
    op->intended_wall_ns = 0;
    op->backoff_k = 0;
    op->backoff_prev_ns = 0;
    op->recorded = 0;
}

static void op_begin(struct replayer *rep, struct op *op)
{
    op->id = (int64_t)atomic_fetch_add(&rep->next_op_id, 1);
    op->start_wall_ns = clock_wall_ns();
}

static void op_set_intent(struct op *op, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void op_set_intent(struct op *op, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(op->intent, sizeof(op->intent), fmt, ap);
    va_end(ap);
}

static void op_record(struct replayer *rep, struct op *op)
{
    struct harness *h = rep->h;
    struct history_operation row;
    int64_t wasted = op->requests;

    if (op->recorded || op->id <= 0)
        return;
    if (!op->outcome)
        op->outcome = op->pending;
    if (!strcmp(op->outcome, "ok"))
        wasted -= op->write_base_requests + op->write_requests;
    /* A dry run's reads did what was asked of them. */
    if (!strcmp(op->outcome, "dry_run"))
        wasted = 0;
    if (wasted < 0)
        wasted = 0;
    memset(&row, 0, sizeof(row));
    row.op_id = op->id;
    row.round = op->round;
    row.strategy = scn_strategy_names[op->strategy];
    row.agent = agent_id(rep, op->agent);
    row.read_version = op->read_version;
    row.read_versions = buf_str(&op->versions);
    row.attempts = op->attempts;
    row.outcome = op->outcome;
    row.final_version = op->final_version;
    row.wasted_requests = wasted;
    row.requests = op->requests;
    row.start_wall_ns = op->start_wall_ns;
    row.first_read_wall_ns = op->first_read_wall_ns;
    row.last_write_wall_ns = op->last_write_wall_ns;
    row.end_wall_ns = clock_wall_ns();
    row.last_status = op->last_status;
    row.last_correlation_id = op->correlation_id;
    row.intent = op->intent;
    if (h->history)
        history_operation(h->history, &row);
    /* run_counters_outcome() knows the outcomes of writes that were sent;
     * a dry run's only counts as done. */
    if (!strcmp(op->outcome, "dry_run"))
        atomic_fetch_add(&h->counters.updates_done, 1);
    else
        run_counters_outcome(&h->counters, op->outcome);
    op->recorded = 1;
}

/* One exchange of @op.  RT_OK when it happened (read res->cls.kind);
 * RT_EINTR when stopping; another error when no exchange could be made
 * (no token). */
static enum rt_err op_call(struct worker *w, struct op *op, const char *method,
                           const char *route, const char *path,
                           const char *body, int64_t version_sent, int is_write,
                           struct session_result *res)
{
    struct replayer *rep = w->rep;
    struct session_call call;
    const struct http_response *resp;
    enum rt_err err;
    int64_t n;

    memset(&call, 0, sizeof(call));
    call.method = method;
    call.route = route;
    call.path = path;
    call.agent = agent_id(rep, op->agent);
    call.op_id = op->id > 0 ? op->id : -1;
    call.body = body;
    call.body_len = body ? strlen(body) : 0;
    call.version_sent = version_sent;
    call.agents_in_request = -1;
    call.intended_wall_ns = op->intended_wall_ns;
    op->intended_wall_ns = 0;
    err = session_call(w->s, &call, res);
    if (err) {
        if (err != RT_EINTR && !atomic_load(&rep->h->stop) &&
            !atomic_exchange(&rep->warned_token, 1))
            log_warn("replay: no request possible for '%s': %s", call.agent,
                     rt_strerror(err));
        return atomic_load(&rep->h->stop) ? RT_EINTR : err;
    }
    resp = res->resp;
    n = res->exchanges > 0 ? res->exchanges : 1;
    op->requests += n;
    if (is_write)
        op->write_requests = n;
    else
        op->read_requests += n;
    /* A status line followed by a cut body is no response. */
    op->last_status =
        resp->result == HTTP_RESULT_RESPONSE ? (int)resp->status : 0;
    snprintf(op->correlation_id, sizeof(op->correlation_id), "%s",
             resp->correlation_id);
    if (is_write)
        op->last_write_wall_ns = resp->send_wall_ns;
    else if (!op->first_read_wall_ns)
        op->first_read_wall_ns = resp->send_wall_ns;
    return RT_OK;
}

/* The response body as JSON, or NULL (logged once per replay). */
static cJSON *op_parse(struct replayer *rep, struct op *op,
                       const struct session_result *res)
{
    const struct buf *b = &res->resp->body;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf_str(b), b->len, &end, 0);

    if (!root && !atomic_exchange(&rep->warned_parse, 1))
        log_warn("replay: cannot parse the response for '%s' (request %lld) "
                 "at offset %td",
                 agent_id(rep, op->agent), (long long)res->seq,
                 end ? end - buf_str(b) : (ptrdiff_t)0);
    return root;
}

/* A read that did not give a usable state: the reason, logged once. */
static enum step read_unusable(struct replayer *rep, struct op *op,
                               const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum step read_unusable(struct replayer *rep, struct op *op,
                               const char *fmt, ...)
{
    char why[INTENT_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (!atomic_exchange(&rep->warned_target, 1))
        log_warn("replay: '%s': %s", agent_id(rep, op->agent), why);
    /* After a write the intent keeps what that write set. */
    if (!op->attempts)
        snprintf(op->intent, sizeof(op->intent), "%s", why);
    op->outcome = "error";
    return STEP_DONE;
}

/*
 * One GET of @path for @op.  STEP_OK with *root (caller frees) after a 2xx
 * with a JSON body; STEP_OK with *root NULL and *kind set after another
 * status (the caller decides about retries); STEP_DONE after an unusable
 * body or no exchange; STEP_STOP when stopping.
 */
static enum step get_json(struct worker *w, struct op *op, const char *route,
                          const char *path, cJSON **root,
                          struct classify_result *cls, int64_t *recv_mono_ns)
{
    struct session_result res;
    enum rt_err err;

    *root = NULL;
    err = op_call(w, op, "GET", route, path, NULL, -1, 0, &res);
    if (err == RT_EINTR)
        return STEP_STOP;
    if (err)
        return read_unusable(w->rep, op, "no request possible: %s",
                             rt_strerror(err));
    *cls = res.cls;
    *recv_mono_ns = res.resp->recv_mono_ns;
    if (res.cls.kind != CLASSIFY_OK)
        return STEP_OK;
    if (!(*root = op_parse(w->rep, op, &res)))
        return read_unusable(w->rep, op, "unparsable response to GET %s",
                             route);
    return STEP_OK;
}

/* The entity of listing @root whose id is @target, or the first one when
 * @target is empty. */
static const cJSON *listing_find(const cJSON *root, const char *target)
{
    const cJSON *entities = cJSON_GetObjectItemCaseSensitive(root, "entities");
    const cJSON *e;

    cJSON_ArrayForEach(e, entities)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (!cJSON_IsString(id) || strlen(id->valuestring) >= TARGET_MAX)
            continue;
        if (!*target || !strcmp(id->valuestring, target))
            return e;
    }
    return NULL;
}

/*
 * Read the agent's current state into *out, the op-specific part.  The
 * same return convention as get_json(); on STEP_OK with cls->kind !=
 * CLASSIFY_OK nothing usable was read.
 */
static enum step read_value(struct worker *w, struct op *op, struct value *out,
                            struct classify_result *cls, int64_t *recv_mono_ns)
{
    struct replayer *rep = w->rep;
    const struct scenario *scn = rep->scn;
    struct known *kn = &rep->known[op->agent];
    const char *id = agent_id(rep, op->agent);
    char path[PATH_MAX_BYTES + 1], route[300];
    cJSON *root = NULL;
    const cJSON *m;
    enum step st = STEP_OK;

    value_release(out);
    switch (scn->replay.operation) {
    case SCN_OP_USER_PATCH:
        snprintf(path, sizeof(path), "/api/v2/users/%s", id);
        if ((st =
                 get_json(w, op, ROUTE_USER, path, &root, cls, recv_mono_ns)) ||
            !root)
            break;
        m = cJSON_GetObjectItemCaseSensitive(root, "department");
        if (json_whole(cJSON_GetObjectItemCaseSensitive(root, "version"),
                       &out->version)) {
            st = read_unusable(rep, op, "no version in GET %s", ROUTE_USER);
            break;
        }
        out->text = xstrdup(cJSON_IsString(m) ? m->valuestring : "");
        break;
    case SCN_OP_UTILIZATION_PUT: {
        const cJSON *util, *call, *labels;
        int64_t cap;

        snprintf(path, sizeof(path), "/api/v2/routing/users/%s/utilization",
                 id);
        if ((st =
                 get_json(w, op, ROUTE_UTIL, path, &root, cls, recv_mono_ns)) ||
            !root)
            break;
        util = cJSON_GetObjectItemCaseSensitive(root, "utilization");
        call = cJSON_GetObjectItemCaseSensitive(util, "call");
        if (!cJSON_IsObject(util) ||
            json_whole(
                cJSON_GetObjectItemCaseSensitive(call, "maximumCapacity"),
                &cap)) {
            st = read_unusable(rep, op,
                               "no utilization.call.maximumCapacity in GET %s",
                               ROUTE_UTIL);
            break;
        }
        out->util = cJSON_Duplicate(util, 1);
        labels = cJSON_GetObjectItemCaseSensitive(root, "labelUtilizations");
        if (cJSON_IsObject(labels))
            out->labels = cJSON_Duplicate(labels, 1);
        out->number = (double)cap;
        break;
    }
    case SCN_OP_SKILLS_BULK_PATCH: {
        const cJSON *e, *p;

        snprintf(path, sizeof(path),
                 "/api/v2/users/%s/routingskills?pageSize=100", id);
        if ((st = get_json(w, op, ROUTE_SKILLS, path, &root, cls,
                           recv_mono_ns)) ||
            !root)
            break;
        if (!(e = listing_find(root, kn->target))) {
            st = kn->target[0]
                     ? read_unusable(rep, op, "skill %s is no longer assigned",
                                     kn->target)
                     : read_unusable(rep, op,
                                     "the agent has no routing skill to "
                                     "change");
            break;
        }
        p = cJSON_GetObjectItemCaseSensitive(e, "proficiency");
        if (!cJSON_IsNumber(p) || !isfinite(p->valuedouble)) {
            st = read_unusable(rep, op, "no proficiency in GET %s",
                               ROUTE_SKILLS);
            break;
        }
        if (!kn->target[0])
            snprintf(kn->target, sizeof(kn->target), "%s",
                     cJSON_GetObjectItemCaseSensitive(e, "id")->valuestring);
        out->number = p->valuedouble;
        break;
    }
    case SCN_OP_QUEUE_JOIN: {
        const char *pick = NULL;
        int joined = 0;

        /* Both lists, always: the queue changed is the member queue with
         * the smallest id, whatever its joined state, so the choice does
         * not depend on what earlier runs toggled. */
        for (int list = 1; list >= 0; list--) {
            const cJSON *e;
            const cJSON *entities;

            snprintf(path, sizeof(path),
                     "/api/v2/users/%s/queues?pageSize=100&joined=%s", id,
                     list ? "true" : "false");
            cJSON_Delete(root);
            if ((st = get_json(w, op, ROUTE_QUEUES, path, &root, cls,
                               recv_mono_ns)) ||
                !root)
                break;
            entities = cJSON_GetObjectItemCaseSensitive(root, "entities");
            cJSON_ArrayForEach(e, entities)
            {
                const cJSON *q = cJSON_GetObjectItemCaseSensitive(e, "id");
                if (!cJSON_IsString(q) || strlen(q->valuestring) >= TARGET_MAX)
                    continue;
                if (kn->target[0] ? !strcmp(q->valuestring, kn->target)
                                  : !pick || strcmp(q->valuestring, pick) < 0) {
                    /* Copied: @root is replaced by the next list. */
                    snprintf(out->target, sizeof(out->target), "%s",
                             q->valuestring);
                    pick = out->target;
                    joined = list;
                }
            }
        }
        if (st || !root)
            break;
        if (!pick) {
            st = kn->target[0]
                     ? read_unusable(rep, op, "no longer a member of queue %s",
                                     kn->target)
                     : read_unusable(rep, op, "the agent is in no queue");
            break;
        }
        if (!kn->target[0])
            snprintf(kn->target, sizeof(kn->target), "%s", pick);
        out->number = joined;
        break;
    }
    case SCN_OP_TEMPLATE: {
        const struct scn_template *t = &scn->replay.tmpl;

        if (snapshot_expand_path(path, sizeof(path), t->read_path, id)) {
            st = read_unusable(rep, op, "read path too long");
            break;
        }
        route_of(route, sizeof(route), t->read_path);
        if ((st = get_json(w, op, route, path, &root, cls, recv_mono_ns)) ||
            !root)
            break;
        if (json_whole(json_at(root, t->version_field), &out->version)) {
            st = read_unusable(rep, op, "no integer at '%s' in GET %s",
                               t->version_field, route);
            break;
        }
        break;
    }
    }
    if (!st && root)
        out->valid = 1;
    cJSON_Delete(root);
    return st;
}

/* Wait before retry number op->backoff_k.  1 when stopping. */
static int op_backoff(struct worker *w, struct op *op)
{
    struct replayer *rep = w->rep;
    int64_t d = replay_backoff_ns(&rep->scn->replay.retry, op->backoff_k++,
                                  op->backoff_prev_ns, session_rng(w->s));

    op->backoff_prev_ns = d;
    return harness_wait_until(rep->h, clock_mono_ns() + d);
}

static int max_attempts(const struct replayer *rep)
{
    return rep->scn->replay.retry.max_attempts > 0
               ? rep->scn->replay.retry.max_attempts
               : 1;
}

/*
 * Read the agent into op->base, retrying failed reads when @retry.
 * STEP_OK, STEP_DONE (outcome set) or STEP_STOP.
 */
static enum step op_read(struct worker *w, struct op *op, int retry)
{
    struct replayer *rep = w->rep;
    struct classify_result cls;
    struct value v = {0};
    int64_t recv = 0, until;
    enum step st;

    v.version = -1;
    for (int tries = 1;; tries++) {
        op->read_requests = 0;
        memset(&cls, 0, sizeof(cls));
        st = read_value(w, op, &v, &cls, &recv);
        if (st)
            goto out;
        if (v.valid)
            break;
        if (cls.kind == CLASSIFY_THROTTLED) {
            if (!retry || tries >= max_attempts(rep) ||
                replay_throttle_wait(&rep->scn->replay.retry, cls.retry_after_s,
                                     recv, &until)) {
                op->outcome = "gave_up";
                if (!op->attempts)
                    op_set_intent(op, "read throttled (429)");
                st = STEP_DONE;
                goto out;
            }
            if (harness_wait_until(rep->h, until)) {
                st = STEP_STOP;
                goto out;
            }
            continue;
        }
        if (retry && tries < max_attempts(rep) &&
            (cls.kind == CLASSIFY_SERVER_ERROR ||
             cls.kind == CLASSIFY_TIMEOUT || cls.kind == CLASSIFY_TRANSPORT)) {
            if (op_backoff(w, op)) {
                st = STEP_STOP;
                goto out;
            }
            continue;
        }
        op->outcome = "error";
        if (!op->attempts)
            op_set_intent(op, "read failed: %s (status %d)",
                          classify_kind_name(cls.kind), op->last_status);
        st = STEP_DONE;
        goto out;
    }
    if (v.version >= 0) {
        if (op->read_version < 0)
            op->read_version = v.version;
        buf_printf(&op->versions, "%s%lld", op->versions.len ? ";" : "",
                   (long long)v.version);
    }
    value_copy(&rep->known[op->agent].last, &v);
    value_move(&op->base, &v);
out:
    value_release(&v);
    return st;
}

/* The write of op->want based on op->base: method, route, path, body and
 * intent.  -1 (intent set) when it cannot be built. */
static int build_write(struct replayer *rep, struct op *op, const char **method,
                       char *route, size_t route_cap, char *path,
                       size_t path_cap, char **body)
{
    const struct scenario *scn = rep->scn;
    const char *id = agent_id(rep, op->agent);
    const char *target = rep->known[op->agent].target;
    const struct value *want = &op->want;
    cJSON *o = NULL, *e;
    char num[32];

    switch (scn->replay.operation) {
    case SCN_OP_USER_PATCH:
        *method = "PATCH";
        snprintf(route, route_cap, "%s", ROUTE_USER);
        snprintf(path, path_cap, "/api/v2/users/%s", id);
        o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "version", json_int64(op->base.version));
        cJSON_AddStringToObject(o, "department", want->text);
        op_set_intent(op, "department=%s", want->text);
        break;
    case SCN_OP_UTILIZATION_PUT:
        *method = "PUT";
        snprintf(route, route_cap, "%s", ROUTE_UTIL);
        snprintf(path, path_cap, "/api/v2/routing/users/%s/utilization", id);
        o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "utilization", cJSON_Duplicate(want->util, 1));
        if (want->labels)
            cJSON_AddItemToObject(o, "labelUtilizations",
                                  cJSON_Duplicate(want->labels, 1));
        op_set_intent(op, "utilization.call.maximumCapacity=%lld",
                      (long long)want->number);
        break;
    case SCN_OP_SKILLS_BULK_PATCH:
        *method = "PATCH";
        snprintf(route, route_cap, "%s", ROUTE_SKILLS_BULK);
        snprintf(path, path_cap, "/api/v2/users/%s/routingskills/bulk", id);
        o = cJSON_CreateArray();
        e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "id", target);
        cJSON_AddNumberToObject(e, "proficiency", want->number);
        cJSON_AddItemToArray(o, e);
        snprintf(num, sizeof(num), "%g", want->number);
        op_set_intent(op, "skill.%s=%s", target, num);
        break;
    case SCN_OP_QUEUE_JOIN:
        *method = "PATCH";
        snprintf(route, route_cap, "%s", ROUTE_QUEUES);
        snprintf(path, path_cap, "/api/v2/users/%s/queues", id);
        o = cJSON_CreateArray();
        e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "id", target);
        cJSON_AddBoolToObject(e, "joined", want->number != 0);
        cJSON_AddItemToArray(o, e);
        op_set_intent(op, "queue_joined.%s=%s", target,
                      want->number != 0 ? "true" : "false");
        break;
    case SCN_OP_TEMPLATE: {
        const struct scn_template *t = &scn->replay.tmpl;
        *method = t->write_method;
        route_of(route, route_cap, t->write_path);
        if (snapshot_expand_path(path, path_cap, t->write_path, id)) {
            op_set_intent(op, "write path too long");
            return -1;
        }
        o = replay_template_body(t->write_body, op->base.version, id);
        break;
    }
    }
    *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (scn->replay.operation == SCN_OP_TEMPLATE)
        op_set_intent(op, "body=%s", *body);
    return 0;
}

/* The version in a successful write's response, or -1. */
static int64_t written_version(struct replayer *rep, struct op *op,
                               const struct session_result *res)
{
    const char *field = rep->scn->replay.operation == SCN_OP_TEMPLATE
                            ? rep->scn->replay.tmpl.version_field
                            : "version";
    cJSON *root;
    int64_t v = -1;

    if (!versioned(rep->scn->replay.operation))
        return -1;
    if ((root = op_parse(rep, op, res)) && json_whole(json_at(root, field), &v))
        v = -1;
    cJSON_Delete(root);
    return v;
}

/* The write succeeded (or was seen to land) with @version. */
static void op_succeeded(struct replayer *rep, struct op *op, int64_t version)
{
    struct known *kn = &rep->known[op->agent];

    op->outcome = "ok";
    op->final_version = version;
    value_copy(&kn->last, &op->want);
    kn->last.version = version;
}

/*
 * Send one write of op->want (the toggle of op->base).  STEP_OK with
 * *cls and *recv set when an exchange happened (a 2xx is handled here:
 * outcome ok), STEP_DONE when it could not be sent, STEP_STOP.
 */
static enum step op_write(struct worker *w, struct op *op,
                          struct classify_result *cls, int64_t *recv_mono_ns)
{
    struct replayer *rep = w->rep;
    struct session_result res;
    const char *method = NULL;
    char route[300], path[PATH_MAX_BYTES + 1];
    char *body = NULL;
    enum rt_err err;
    enum step st = STEP_OK;

    value_toggled(rep->scn->replay.operation, &op->base, &op->want);
    if (build_write(rep, op, &method, route, sizeof(route), path, sizeof(path),
                    &body)) {
        op->outcome = "error";
        return STEP_DONE;
    }
    /* A dry run lists the write and sends nothing; the operation ends
     * there, neither a success nor a failure. */
    if (rep->h->dry_run) {
        dryrun_write(rep->h->dry_run, method, path, body);
        free(body);
        op->outcome = "dry_run";
        return STEP_DONE;
    }
    err = op_call(w, op, method, route, path, body,
                  versioned(rep->scn->replay.operation) ? op->base.version : -1,
                  1, &res);
    free(body);
    if (err == RT_EINTR)
        return STEP_STOP;
    if (err) {
        op->outcome = op->attempts ? op->pending : "error";
        return STEP_DONE;
    }
    op->attempts++;
    op->write_base_requests =
        op->strategy == SCN_STRATEGY_BLIND ? 0 : op->read_requests;
    *cls = res.cls;
    *recv_mono_ns = res.resp->recv_mono_ns;
    if (res.cls.kind == CLASSIFY_OK)
        op_succeeded(rep, op, written_version(rep, op, &res));
    return st;
}

/* The outcome a failed write stands at, with no retry. */
static const char *failure_outcome(enum classify_kind kind)
{
    switch (kind) {
    case CLASSIFY_CONFLICT:
        return "conflict";
    case CLASSIFY_THROTTLED:
        return "gave_up";
    case CLASSIFY_TIMEOUT:
    case CLASSIFY_TRANSPORT:
        return "unknown";
    default:
        return "error";
    }
}

/*
 * After a write that may have landed (5xx, timeout, transport): re-read
 * into op->base and check.  STEP_OK (not landed; op->base is fresh),
 * STEP_DONE (landed: ok, or the re-read failed), STEP_STOP.
 */
static enum step op_verify(struct worker *w, struct op *op)
{
    struct replayer *rep = w->rep;
    struct value before = {0};
    int64_t based;
    enum step st;

    before.version = -1;
    based = op->base.version;
    value_move(&before, &op->base);
    st = op_read(w, op, 1);
    if (st == STEP_OK &&
        value_landed(rep->scn->replay.operation, based, &op->want, &op->base)) {
        op_succeeded(rep, op,
                     versioned(rep->scn->replay.operation) ? op->base.version
                                                           : -1);
        log_info("replay: op %lld on '%s': the write landed although its "
                 "reply was lost or failed (seen by a re-read)",
                 (long long)op->id, agent_id(rep, op->agent));
        st = STEP_DONE;
    } else if (st == STEP_DONE && !strcmp(op->outcome, "error")) {
        /* The re-read failed: what the write did stays unknown. */
        op->outcome = op->pending;
    }
    value_release(&before);
    return st;
}

/* Write op->base's toggle until done, retrying per the strategy. */
static void op_write_loop(struct worker *w, struct op *op, int retry)
{
    struct replayer *rep = w->rep;
    struct classify_result cls;
    int64_t recv = 0, until;
    enum step st;

    for (;;) {
        memset(&cls, 0, sizeof(cls));
        if ((st = op_write(w, op, &cls, &recv)) || op->outcome)
            return;
        op->pending = failure_outcome(cls.kind);
        if (!retry ||
            (cls.kind != CLASSIFY_CONFLICT && cls.kind != CLASSIFY_THROTTLED &&
             cls.kind != CLASSIFY_SERVER_ERROR &&
             cls.kind != CLASSIFY_TIMEOUT && cls.kind != CLASSIFY_TRANSPORT)) {
            op->outcome = op->pending;
            return;
        }
        switch (cls.kind) {
        case CLASSIFY_THROTTLED:
            if (op->attempts >= max_attempts(rep) ||
                replay_throttle_wait(&rep->scn->replay.retry, cls.retry_after_s,
                                     recv, &until)) {
                op->outcome = "gave_up";
                return;
            }
            /* Nothing was written: the same write goes again. */
            if (harness_wait_until(rep->h, until))
                return;
            continue;
        case CLASSIFY_CONFLICT:
            if (op->attempts >= max_attempts(rep)) {
                op->outcome = "conflict";
                return;
            }
            if (op_backoff(w, op) || op_read(w, op, 1))
                return;
            continue;
        case CLASSIFY_SERVER_ERROR:
            if (op->attempts >= max_attempts(rep)) {
                op->outcome = "error";
                return;
            }
            if (op_backoff(w, op) || op_verify(w, op))
                return;
            continue;
        default: /* timeout, transport: learn whether it landed */
            if (op_backoff(w, op) || op_verify(w, op))
                return;
            if (op->attempts >= max_attempts(rep)) {
                op->outcome = "unknown";
                return;
            }
            continue;
        }
    }
}

/* A blind write: the toggle of what the replayer last saw, no read. */
static void op_blind(struct worker *w, struct op *op)
{
    struct replayer *rep = w->rep;
    struct known *kn = &rep->known[op->agent];
    struct classify_result cls;
    int64_t recv;

    if (!kn->last.valid) {
        read_unusable(rep, op, "no state known (the discovery read failed)");
        return;
    }
    value_copy(&op->base, &kn->last);
    memset(&cls, 0, sizeof(cls));
    if (op_write(w, op, &cls, &recv) || op->outcome)
        return;
    op->outcome = failure_outcome(cls.kind);
}

/* ------------------------------------------------------------------ */
/* Workers and passes                                                  */

static void run_item(struct worker *w, enum phase phase, size_t item,
                     int64_t intended_wall_ns)
{
    struct replayer *rep = w->rep;
    struct op *op = &rep->ops[item];
    size_t agent = op->agent;
    int retry = op->strategy == SCN_STRATEGY_RETRY;

    op->intended_wall_ns = intended_wall_ns;
    switch (phase) {
    case PHASE_DISCOVER: {
        struct classify_result cls;
        int64_t recv;
        struct value v = {0};

        /* Not an operation: no id, no row; only the state is kept. */
        op->id = -1;
        v.version = -1;
        if (read_value(w, op, &v, &cls, &recv) == STEP_OK && v.valid)
            value_move(&rep->known[agent].last, &v);
        value_release(&v);
        op_reset(op);
        return;
    }
    case PHASE_READ:
        op_begin(rep, op);
        if (op_read(w, op, 0) == STEP_DONE)
            op_record(rep, op);
        return;
    case PHASE_WRITE:
        op_write_loop(w, op, 0);
        break;
    case PHASE_OP:
        op_begin(rep, op);
        if (op->strategy == SCN_STRATEGY_BLIND)
            op_blind(w, op);
        else if (op_read(w, op, retry) == STEP_OK)
            op_write_loop(w, op, retry);
        break;
    }
    /* Stopped operations are recorded by the coordinator's sweep. */
    if (op->outcome)
        op_record(rep, op);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct replayer *rep = w->rep;
    int64_t pace = rep->scn->replay.pace_ns;

    pthread_mutex_lock(&rep->lock);
    for (;;) {
        enum phase phase;
        size_t item;
        int64_t slot, intended = 0;

        while (!rep->quit && rep->next_item >= rep->n_items)
            pthread_cond_wait(&rep->work_cond, &rep->lock);
        if (rep->quit)
            break;
        phase = rep->phase;
        item = rep->items[rep->next_item++];
        slot = clock_mono_ns();
        if (pace > 0) {
            if (slot < rep->next_slot_mono_ns)
                slot = rep->next_slot_mono_ns;
            rep->next_slot_mono_ns = slot + pace;
            intended = slot + rep->wall_minus_mono_ns;
        }
        pthread_mutex_unlock(&rep->lock);
        /* After a stop the remaining items drain without running. */
        if (!harness_wait_until(rep->h, slot))
            run_item(w, phase, item, intended);
        pthread_mutex_lock(&rep->lock);
        if (++rep->done_items == rep->n_items)
            pthread_cond_signal(&rep->done_cond);
    }
    pthread_mutex_unlock(&rep->lock);
    return NULL;
}

/* Hand @n items (rep->items) of @phase to the workers and wait for all. */
static void run_pass(struct replayer *rep, enum phase phase, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&rep->lock);
    rep->phase = phase;
    rep->n_items = n;
    rep->next_item = 0;
    rep->done_items = 0;
    pthread_cond_broadcast(&rep->work_cond);
    while (rep->done_items < rep->n_items)
        pthread_cond_wait(&rep->done_cond, &rep->lock);
    rep->n_items = rep->next_item = rep->done_items = 0;
    pthread_mutex_unlock(&rep->lock);
}

static void log_pass(struct replayer *rep, int round, enum scn_strategy s)
{
    static const char *const names[] = {"ok",    "conflict", "gave_up",
                                        "error", "unknown",  "dry_run"};
    size_t count[6] = {0};

    for (size_t i = 0; i < rep->n_ops; i++) {
        const struct op *op = &rep->ops[i];
        if (!op->recorded)
            continue;
        for (size_t k = 0; k < 6; k++)
            if (!strcmp(op->outcome, names[k]))
                count[k]++;
    }
    if (rep->h->dry_run)
        log_info("replay: round %d/%d %s: %zu writes listed (dry run), "
                 "%zu error",
                 round + 1, rep->scn->replay.repeat_times,
                 scn_strategy_names[s], count[5], count[3]);
    else
        log_info("replay: round %d/%d %s: %zu ok, %zu conflict, %zu gave up, "
                 "%zu error, %zu unknown",
                 round + 1, rep->scn->replay.repeat_times,
                 scn_strategy_names[s], count[0], count[1], count[2], count[3],
                 count[4]);
}

/* Put part @k's operations (every agent's update k + 1) in rep->items,
 * only those still waiting for their write when @pending; the count. */
static size_t part_items(struct replayer *rep, int k, int pending)
{
    size_t n = 0;

    for (size_t i = 0; i < rep->n; i++) {
        size_t j = (size_t)k * rep->n + i;
        if (!pending || (rep->ops[j].id > 0 && !rep->ops[j].outcome))
            rep->items[n++] = j;
    }
    return n;
}

/* One strategy over every agent, per_agent times.  Returns 1 when the run
 * is stopping. */
static int run_strategy(struct replayer *rep, int round, enum scn_strategy s)
{
    size_t n = 0;

    for (size_t i = 0; i < rep->n_ops; i++) {
        op_reset(&rep->ops[i]);
        rep->ops[i].round = round;
        rep->ops[i].strategy = s;
    }
    switch (s) {
    case SCN_STRATEGY_BULK_STALE:
        /* Every read of every part before any write. */
        for (int k = 0; k < rep->per_agent; k++)
            run_pass(rep, PHASE_READ, part_items(rep, k, 0));
        for (int k = 0; k < rep->per_agent; k++)
            run_pass(rep, PHASE_WRITE, part_items(rep, k, 1));
        break;
    case SCN_STRATEGY_BLIND:
        /* Discovery uses part 0's operation of the agent as scratch. */
        for (size_t i = 0; i < rep->n; i++)
            if (!rep->known[i].last.valid)
                rep->items[n++] = i;
        run_pass(rep, PHASE_DISCOVER, n);
        for (int k = 0; k < rep->per_agent; k++)
            run_pass(rep, PHASE_OP, part_items(rep, k, 0));
        break;
    case SCN_STRATEGY_READ_MODIFY_WRITE:
    case SCN_STRATEGY_RETRY:
        for (int k = 0; k < rep->per_agent; k++)
            run_pass(rep, PHASE_OP, part_items(rep, k, 0));
        break;
    }
    /* Operations a stop interrupted end as they stand. */
    for (size_t i = 0; i < rep->n_ops; i++) {
        struct op *op = &rep->ops[i];
        if (op->id > 0 && !op->recorded) {
            if (!op->attempts)
                op_set_intent(op, "interrupted before the write");
            op_record(rep, op);
        }
    }
    log_pass(rep, round, s);
    return atomic_load(&rep->h->stop);
}

static int64_t round_start_mono(const struct replayer *rep, int round)
{
    const struct scenario *scn = rep->scn;
    int64_t off = (int64_t)round * scn->replay.repeat_every_ns;

    if (scn->replay.at_absolute)
        return scn->replay.at_wall_ns + off - rep->wall_minus_mono_ns;
    return rep->h->start_mono_ns + scn->replay.at_ns + off;
}

static void *coordinator_main(void *arg)
{
    struct replayer *rep = arg;
    const struct scenario *scn = rep->scn;
    char late[32], every[32];

    for (int r = 0; r < scn->replay.repeat_times; r++) {
        int64_t at = round_start_mono(rep, r), behind;

        if (harness_wait_until(rep->h, at))
            break;
        behind = clock_mono_ns() - at;
        if (r > 0 && behind > LATE_TOLERANCE_NS && !rep->warned_late) {
            rep->warned_late = 1;
            log_warn("replay: round %d starts %s late: round %d took longer "
                     "than replay.repeat.every (%s)",
                     r + 1, units_format_duration(behind, late, sizeof(late)),
                     r,
                     units_format_duration(scn->replay.repeat_every_ns, every,
                                           sizeof(every)));
        }
        for (size_t k = 0; k < scn->replay.n_strategies; k++)
            if (run_strategy(rep, r, scn->replay.strategies[k]))
                goto out;
    }
out:
    atomic_store(&rep->done, 1);
    pthread_mutex_lock(&rep->lock);
    rep->quit = 1;
    pthread_cond_broadcast(&rep->work_cond);
    pthread_mutex_unlock(&rep->lock);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */

static enum rt_err check_scenario(const struct harness *h)
{
    const struct scenario *scn = h->scn;
    char iso[ISO8601_LEN], now[ISO8601_LEN];

    if (!h->agent_ids || h->n_agents == 0)
        return rt_fail(RT_EINVAL, "replay: no agents to replay over");
    if (scn->replay.n_strategies == 0)
        return rt_fail(RT_EINVAL, "replay.strategies: none given");
    for (size_t k = 0; k < scn->replay.n_strategies; k++)
        if (scn->replay.strategies[k] == SCN_STRATEGY_BLIND &&
            versioned(scn->replay.operation))
            return rt_fail(RT_EINVAL,
                           "replay.strategies: blind needs an unversioned "
                           "operation (utilization-put, skills-bulk-patch "
                           "or queue-join), not %s",
                           scn_operation_names[scn->replay.operation]);
    if (scn->replay.operation == SCN_OP_TEMPLATE &&
        (!scn->replay.tmpl.write_body || !scn->replay.tmpl.version_field[0]))
        return rt_fail(RT_EINVAL, "replay.operation: the template has no "
                                  "write body or version_field");
    if (scn->replay.at_absolute && scn->replay.at_wall_ns < clock_wall_ns())
        return rt_fail(
            RT_EINVAL, "replay.at '%s' is already past (now %s)",
            iso8601_format_ms(scn->replay.at_wall_ns, iso, sizeof(iso)),
            iso8601_format_ms(clock_wall_ns(), now, sizeof(now)));
    return RT_OK;
}

static void replayer_free(struct replayer *self)
{
    for (int i = 0; i < self->n_workers; i++)
        session_free(self->workers[i].s);
    for (size_t i = 0; self->ops && i < self->n_ops; i++) {
        value_release(&self->ops[i].base);
        value_release(&self->ops[i].want);
        buf_release(&self->ops[i].versions);
    }
    for (size_t i = 0; self->known && i < self->n; i++)
        value_release(&self->known[i].last);
    free(self->workers);
    free(self->ops);
    free(self->known);
    free(self->items);
    pthread_cond_destroy(&self->done_cond);
    pthread_cond_destroy(&self->work_cond);
    pthread_mutex_destroy(&self->lock);
    free(self);
}

/* Stop and join the workers that started. */
static void join_workers(struct replayer *self)
{
    pthread_mutex_lock(&self->lock);
    self->quit = 1;
    pthread_cond_broadcast(&self->work_cond);
    pthread_mutex_unlock(&self->lock);
    for (int i = 0; i < self->n_workers; i++)
        if (self->workers[i].started)
            pthread_join(self->workers[i].thread, NULL);
}

enum rt_err replay_start(struct replayer **out, struct harness *h)
{
    const struct scenario *scn = h->scn;
    struct replayer *self;
    enum rt_err err;
    int rc;

    *out = NULL;
    if ((err = check_scenario(h)))
        return err;
    self = xcalloc(1, sizeof(*self));
    self->h = h;
    self->scn = scn;
    self->n = h->n_agents;
    self->per_agent = scn->replay.per_agent > 0 ? scn->replay.per_agent : 1;
    self->n_ops = self->n * (size_t)self->per_agent;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->work_cond, NULL);
    pthread_cond_init(&self->done_cond, NULL);
    atomic_init(&self->next_op_id, 1);
    atomic_init(&self->done, 0);
    self->wall_minus_mono_ns = clock_wall_ns() - clock_mono_ns();
    self->ops = xcalloc(self->n_ops, sizeof(*self->ops));
    self->known = xcalloc(self->n, sizeof(*self->known));
    self->items = xcalloc(self->n, sizeof(*self->items));
    for (size_t i = 0; i < self->n_ops; i++) {
        self->ops[i].agent = i % self->n;
        self->ops[i].base.version = -1;
        self->ops[i].want.version = -1;
        buf_init(&self->ops[i].versions, VERSIONS_MAX_BYTES);
        op_reset(&self->ops[i]);
    }
    for (size_t i = 0; i < self->n; i++)
        self->known[i].last.version = -1;
    self->n_workers = scn->replay.workers > 0 ? scn->replay.workers : 1;
    if ((size_t)self->n_workers > self->n)
        self->n_workers = (int)self->n;
    self->workers = xcalloc((size_t)self->n_workers, sizeof(*self->workers));
    for (int i = 0; i < self->n_workers; i++) {
        self->workers[i].rep = self;
        if ((err = session_new(&self->workers[i].s, h, "replay")))
            goto fail;
    }
    for (int i = 0; i < self->n_workers; i++) {
        if ((rc = pthread_create(&self->workers[i].thread, NULL, worker_main,
                                 &self->workers[i]))) {
            err = rt_fail(RT_ESYS, "cannot start a replay worker: %s",
                          strerror(rc));
            goto fail;
        }
        self->workers[i].started = 1;
    }
    atomic_store(&h->counters.updates_total,
                 (int_fast64_t)self->n_ops * scn->replay.repeat_times *
                     (int_fast64_t)scn->replay.n_strategies);
    if ((rc = pthread_create(&self->coordinator, NULL, coordinator_main,
                             self))) {
        err = rt_fail(RT_ESYS, "cannot start the replay coordinator: %s",
                      strerror(rc));
        goto fail;
    }
    self->coordinator_started = 1;
    *out = self;
    return RT_OK;
fail:
    join_workers(self);
    replayer_free(self);
    return err;
}

void replay_join(struct replayer *self)
{
    if (!self)
        return;
    if (self->coordinator_started)
        pthread_join(self->coordinator, NULL);
    join_workers(self);
    replayer_free(self);
}

int replay_done(struct replayer *self)
{
    return atomic_load(&self->done);
}
