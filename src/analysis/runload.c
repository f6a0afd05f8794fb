/*
 * Run directory loader.  Order: observations.csv and operations.csv first
 * (kept whole), then requests.csv streamed once, so each own write can be
 * tied to its operation as it streams by; then run.json, and last the
 * optional audit.csv, whose rows are tied to the (by then sorted) agents
 * by binary search.  Agents get indices in order of first sight while
 * loading and are sorted by id before run.json, every stored agent index
 * remapped once.
 *
 * Strings live in an arena of 64 KiB blocks (no allocation per string);
 * repeated values are interned through an open-addressing hash set, so
 * memory for them is per distinct value.  Per-row work on requests.csv is
 * a handful of integer parses and short compares; rows that are neither
 * own writes nor conflicts leave nothing behind but counts.
 */
#include "analysis/runload.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/csvr.h"
#include "base/jread.h"
#include "base/log.h"
#include "base/xalloc.h"

#define ARENA_BLOCK ((size_t)64 * 1024)
/* A version that moves by more than this between two samples is taken
 * for corrupt data: the bumps it stands for are materialized one by one. */
#define RUNLOAD_JUMP_MAX INT64_C(1000000)
/* Runs longer than this (in seconds) are taken for corrupt times. */
#define RUNLOAD_SECONDS_MAX (31 * 86400)

/* ---- Arena ------------------------------------------------------------ */

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
};

struct arena {
    struct arena_block *head;
};

static char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    struct arena_block *b = a->head;
    char *p;

    if (!b || b->cap - b->used < len + 1) {
        size_t cap = len + 1 > ARENA_BLOCK ? len + 1 : ARENA_BLOCK;
        b = xmalloc(sizeof(*b) + cap);
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    p = b->data + b->used;
    memcpy(p, s, len);
    p[len] = '\0';
    b->used += len + 1;
    return p;
}

static void arena_release(struct arena *a)
{
    while (a->head) {
        struct arena_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

/* ---- String map (interning and the agent index while loading) -------- */

struct smap_slot {
    const char *key; /* NULL: empty */
    size_t len;
    uint64_t hash;
    size_t val;
};

struct smap {
    struct smap_slot *slots;
    size_t cap; /* power of two */
    size_t n;
};

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = UINT64_C(14695981039346656037);

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static struct smap_slot *smap_slot(struct smap_slot *slots, size_t cap,
                                   const char *s, size_t len, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);

    while (slots[i].key && (slots[i].hash != h || slots[i].len != len ||
                            memcmp(slots[i].key, s, len)))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static void smap_grow(struct smap *m)
{
    size_t cap = m->cap ? 2 * m->cap : 64;
    struct smap_slot *slots = xcalloc(cap, sizeof(*slots));

    for (size_t i = 0; i < m->cap; i++) {
        struct smap_slot *o = &m->slots[i];
        if (o->key)
            *smap_slot(slots, cap, o->key, o->len, o->hash) = *o;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
}

/* The slot of @s, added with @val (key copied into @a) when missing;
 * *added says which. */
static struct smap_slot *smap_put(struct smap *m, struct arena *a,
                                  const char *s, size_t len, size_t val,
                                  int *added)
{
    uint64_t h = hash_bytes(s, len);
    struct smap_slot *slot;

    if (2 * (m->n + 1) > m->cap)
        smap_grow(m);
    slot = smap_slot(m->slots, m->cap, s, len, h);
    *added = !slot->key;
    if (*added) {
        slot->key = arena_strndup(a, s, len);
        slot->len = len;
        slot->hash = h;
        slot->val = val;
        m->n++;
    }
    return slot;
}

static void smap_release(struct smap *m)
{
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* ---- Histogram -------------------------------------------------------- */

#define HIST_SUB ((int64_t)1 << RUNLOAD_HIST_SUB_BITS)

static size_t hist_bucket(int64_t v)
{
    int e;

    if (v < HIST_SUB)
        return (size_t)v;
    e = 63 - __builtin_clzll((unsigned long long)v);
    return (size_t)(e - RUNLOAD_HIST_SUB_BITS + 1) * (size_t)HIST_SUB +
           (size_t)((v >> (e - RUNLOAD_HIST_SUB_BITS)) - HIST_SUB);
}

/* Lowest value of bucket @i and its width. */
static void hist_range(size_t i, int64_t *lo, int64_t *width)
{
    int shift;

    if (i < (size_t)HIST_SUB) {
        *lo = (int64_t)i;
        *width = 1;
        return;
    }
    shift = (int)(i / (size_t)HIST_SUB) - 1;
    *lo = ((int64_t)(i % (size_t)HIST_SUB) + HIST_SUB) << shift;
    *width = (int64_t)1 << shift;
}

static void hist_add(struct runload_hist *h, int64_t v)
{
    if (!h->counts)
        h->counts = xcalloc(RUNLOAD_HIST_BUCKETS, sizeof(*h->counts));
    if (h->n == 0 || v < h->min_ns)
        h->min_ns = v;
    if (h->n == 0 || v > h->max_ns)
        h->max_ns = v;
    h->counts[hist_bucket(v)]++;
    h->n++;
}

double runload_hist_quantile(const struct runload_hist *h, double q)
{
    uint64_t rank, seen = 0;
    int64_t lo, width, mid;

    if (!h || h->n == 0 || !(q >= 0 && q <= 1))
        return NAN;
    if (q == 0)
        return (double)h->min_ns;
    if (q == 1)
        return (double)h->max_ns;
    rank = (uint64_t)ceil(q * (double)h->n);
    if (rank < 1)
        rank = 1;
    if (rank > h->n)
        rank = h->n;
    for (size_t i = 0; i < RUNLOAD_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen < rank)
            continue;
        hist_range(i, &lo, &width);
        mid = lo + (width - 1) / 2;
        if (mid < h->min_ns)
            mid = h->min_ns;
        if (mid > h->max_ns)
            mid = h->max_ns;
        return (double)mid;
    }
    return (double)h->max_ns;
}

/* ---- The loader ------------------------------------------------------- */

struct runload_priv {
    struct arena arena;
    struct smap strings;   /* interned values */
    struct smap agent_map; /* while loading: id -> index */
    size_t agents_cap, ops_cap, conflicts_cap;
    size_t *obs_cap, *writes_cap; /* per agent, while loading */
    size_t kinds_cap, roles_cap;
    size_t kind_last, role_last; /* count cache: the last match */
    size_t seconds_cap;
    uint64_t run_rows; /* rows of the run's own traffic so far */
    /* The latest Retry-After window seen: [from, until). */
    int64_t backoff_from_ns, backoff_until_ns;
};

static const char *intern(struct runload *run, const char *s, size_t len)
{
    int added;

    return smap_put(&run->priv->strings, &run->priv->arena, s, len, 0, &added)
        ->key;
}

static const char *intern_col(struct runload *run, struct csvr *r, size_t col)
{
    size_t len;
    const char *s = csvr_str(r, col, &len);

    return intern(run, s, len);
}

static const char *copy_col(struct runload *run, struct csvr *r, size_t col)
{
    size_t len;
    const char *s = csvr_str(r, col, &len);

    return arena_strndup(&run->priv->arena, s, len);
}

/* Index of agent @id, added on first sight. */
static size_t agent_ref(struct runload *run, const char *id, size_t len)
{
    struct runload_priv *p = run->priv;
    struct smap_slot *slot;
    int added;

    slot = smap_put(&p->agent_map, &p->arena, id, len, run->n_agents, &added);
    if (added) {
        if (run->n_agents == p->agents_cap) {
            p->agents_cap = p->agents_cap ? 2 * p->agents_cap : 64;
            run->agents =
                xreallocarray(run->agents, p->agents_cap, sizeof(*run->agents));
            p->obs_cap =
                xreallocarray(p->obs_cap, p->agents_cap, sizeof(*p->obs_cap));
            p->writes_cap = xreallocarray(p->writes_cap, p->agents_cap,
                                          sizeof(*p->writes_cap));
        }
        memset(&run->agents[run->n_agents], 0, sizeof(*run->agents));
        run->agents[run->n_agents].id = slot->key;
        p->obs_cap[run->n_agents] = 0;
        p->writes_cap[run->n_agents] = 0;
        run->n_agents++;
    }
    return slot->val;
}

/* The agent of column @col, which must not be empty. */
static enum rt_err agent_col(struct runload *run, struct csvr *r, size_t col,
                             size_t *out)
{
    size_t len;
    const char *id = csvr_str(r, col, &len);

    if (len == 0)
        return csvr_fail(r, "column '%s' is empty", csvr_header(r, col));
    *out = agent_ref(run, id, len);
    return RT_OK;
}

/* A required integer: empty is an error. */
static enum rt_err req_i64(struct csvr *r, size_t col, int64_t *out)
{
    size_t len;

    csvr_str(r, col, &len);
    if (len == 0)
        return csvr_fail(r, "column '%s' is empty", csvr_header(r, col));
    return csvr_i64(r, col, 0, out);
}

/* Look up @n columns by name into @idx; the first missing one fails. */
static enum rt_err columns(struct csvr *r, const char *const *names,
                           size_t *idx, size_t n)
{
    enum rt_err err;

    for (size_t i = 0; i < n; i++)
        if ((err = csvr_col(r, names[i], &idx[i])))
            return err;
    return RT_OK;
}

static enum rt_err open_in(struct csvr **r, const char *dir, const char *name)
{
    char path[4096];

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
        sizeof(path))
        return rt_fail(RT_EINVAL, "directory path too long: '%s'", dir);
    return csvr_open(r, path, NULL);
}

/* After the last row: note a skipped truncated tail. */
static void note_tail(struct runload *run, const struct csvr *r)
{
    if (csvr_truncated_line(r))
        run->truncated_files++;
}

#define ROW_COLS_MAX 32

typedef enum rt_err (*row_fn)(struct runload *run, struct csvr *r,
                              const size_t *c, void *ctx);

/* Read every row of "<dir>/<name>" through @fn, with the columns @names
 * looked up once; a truncated last row is counted, not read. */
static enum rt_err load_rows(struct runload *run, const char *dir,
                             const char *name, const char *const *names,
                             size_t n, row_fn fn, void *ctx)
{
    size_t c[ROW_COLS_MAX];
    struct csvr *r = NULL;
    enum rt_err err;
    int has;

    if (n > ROW_COLS_MAX)
        return rt_fail(RT_EINVAL, "'%s': too many columns to read", name);
    if ((err = open_in(&r, dir, name)) || (err = columns(r, names, c, n)))
        goto out;
    while (!(err = csvr_next(r, &has)) && has)
        if ((err = fn(run, r, c, ctx)))
            goto out;
    if (!err)
        note_tail(run, r);
out:
    csvr_close(r);
    return err;
}

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- observations.csv ------------------------------------------------- */

enum {
    O_AGENT,
    O_PROPERTY,
    O_OLD,
    O_NEW,
    O_START,
    O_END,
    O_SERVER,
    O_SOURCE,
    O_SEQ,
    O_HIDDEN,
};
static const char *const obs_cols[] = {"agent",
                                       "property",
                                       "old",
                                       "new",
                                       "bracket_start_wall_ns",
                                       "bracket_end_wall_ns",
                                       "server_wall_ns",
                                       "source",
                                       "request_seq",
                                       "hidden"};

static enum rt_err obs_row(struct runload *run, struct csvr *r, const size_t *c,
                           void *ctx)
{
    int *warned = ctx;
    struct runload_priv *p = run->priv;
    struct runload_obs o;
    struct runload_agent *a;
    const char *prop;
    size_t agent, len;
    enum rt_err err;

    memset(&o, 0, sizeof(o));
    prop = csvr_str(r, c[O_PROPERTY], &len);
    if (!strcmp(prop, "version")) {
        o.prop = RUNLOAD_VERSION;
    } else if (!strcmp(prop, "presence")) {
        o.prop = RUNLOAD_PRESENCE;
    } else if (!strcmp(prop, "routing_status")) {
        o.prop = RUNLOAD_ROUTING;
    } else {
        /* A newer recorder may observe more; this loader keeps what it
         * knows and says once what it left out. */
        if (!*warned)
            log_warn("'%s', line %llu: skipping observations of property "
                     "'%s', unknown to this version",
                     csvr_path(r), (unsigned long long)csvr_line(r), prop);
        *warned = 1;
        run->n_obs_skipped++;
        return RT_OK;
    }
    if ((err = agent_col(run, r, c[O_AGENT], &agent)) ||
        (err = req_i64(r, c[O_START], &o.bracket_start_wall_ns)) ||
        (err = req_i64(r, c[O_END], &o.bracket_end_wall_ns)) ||
        (err = csvr_i64(r, c[O_SERVER], 0, &o.server_wall_ns)) ||
        (err = csvr_i64(r, c[O_SEQ], -1, &o.request_seq)) ||
        (err = csvr_i64(r, c[O_HIDDEN], 0, &o.hidden)))
        return err;
    if (o.bracket_end_wall_ns < o.bracket_start_wall_ns)
        return csvr_fail(r, "the bracket ends before it starts");
    o.source = intern_col(run, r, c[O_SOURCE]);
    o.line = csvr_line(r);
    if (!strcmp(o.source, "stream"))
        run->n_obs_stream++;
    else if (!strcmp(o.source, "analytics"))
        run->n_obs_analytics++;
    if (o.prop == RUNLOAD_VERSION) {
        if ((err = req_i64(r, c[O_OLD], &o.old_version)) ||
            (err = req_i64(r, c[O_NEW], &o.new_version)))
            return err;
        if (o.old_version < 0 || o.new_version <= o.old_version)
            return csvr_fail(r, "version goes from %lld to %lld",
                             (long long)o.old_version,
                             (long long)o.new_version);
        if (o.new_version - o.old_version > RUNLOAD_JUMP_MAX)
            return csvr_fail(r, "version jumps by more than %lld",
                             (long long)RUNLOAD_JUMP_MAX);
        if (o.hidden != o.new_version - o.old_version - 1)
            return csvr_fail(r, "hidden is %lld, the version moved by %lld",
                             (long long)o.hidden,
                             (long long)(o.new_version - o.old_version));
    } else {
        if (o.hidden)
            return csvr_fail(r, "hidden is %lld on a %s change",
                             (long long)o.hidden, prop);
        o.old_version = o.new_version = -1;
        o.old_value = intern_col(run, r, c[O_OLD]);
        o.new_value = intern_col(run, r, c[O_NEW]);
    }
    a = &run->agents[agent];
    if (a->n_obs == p->obs_cap[agent]) {
        p->obs_cap[agent] = p->obs_cap[agent] ? 2 * p->obs_cap[agent] : 16;
        a->obs = xreallocarray(a->obs, p->obs_cap[agent], sizeof(*a->obs));
    }
    a->obs[a->n_obs++] = o;
    run->n_obs++;
    return RT_OK;
}

static enum rt_err load_observations(struct runload *run, const char *dir)
{
    int warned = 0;

    return load_rows(run, dir, "observations.csv", obs_cols, NCOLS(obs_cols),
                     obs_row, &warned);
}

/* ---- operations.csv --------------------------------------------------- */

enum {
    P_OP_ID,
    P_ROUND,
    P_STRATEGY,
    P_AGENT,
    P_READ_VERSION,
    P_READ_VERSIONS,
    P_ATTEMPTS,
    P_OUTCOME,
    P_FINAL_VERSION,
    P_WASTED,
    P_REQUESTS,
    P_START,
    P_FIRST_READ,
    P_LAST_WRITE,
    P_END,
    P_LAST_STATUS,
    P_LAST_CORRELATION,
    P_INTENT,
};
static const char *const op_cols[] = {"op_id",
                                      "round",
                                      "strategy",
                                      "agent",
                                      "read_version",
                                      "read_versions",
                                      "attempts",
                                      "outcome",
                                      "final_version",
                                      "wasted_requests",
                                      "requests",
                                      "start_wall_ns",
                                      "first_read_wall_ns",
                                      "last_write_wall_ns",
                                      "end_wall_ns",
                                      "last_status",
                                      "last_correlation_id",
                                      "intent"};

static enum rt_err op_row(struct runload *run, struct csvr *r, const size_t *c,
                          void *ctx)
{
    (void)ctx;
    struct runload_priv *p = run->priv;
    struct runload_op o;
    enum rt_err err;

    memset(&o, 0, sizeof(o));
    if ((err = req_i64(r, c[P_OP_ID], &o.op_id)) ||
        (err = csvr_i64(r, c[P_ROUND], 0, &o.round)) ||
        (err = agent_col(run, r, c[P_AGENT], &o.agent)) ||
        (err = csvr_i64(r, c[P_READ_VERSION], -1, &o.read_version)) ||
        (err = csvr_i64(r, c[P_ATTEMPTS], 0, &o.attempts)) ||
        (err = csvr_i64(r, c[P_FINAL_VERSION], -1, &o.final_version)) ||
        (err = csvr_i64(r, c[P_WASTED], 0, &o.wasted_requests)) ||
        (err = csvr_i64(r, c[P_REQUESTS], 0, &o.requests)) ||
        (err = csvr_i64(r, c[P_START], 0, &o.start_wall_ns)) ||
        (err = csvr_i64(r, c[P_FIRST_READ], 0, &o.first_read_wall_ns)) ||
        (err = csvr_i64(r, c[P_LAST_WRITE], 0, &o.last_write_wall_ns)) ||
        (err = csvr_i64(r, c[P_END], 0, &o.end_wall_ns)) ||
        (err = csvr_i64(r, c[P_LAST_STATUS], 0, &o.last_status)))
        return err;
    o.strategy = intern_col(run, r, c[P_STRATEGY]);
    o.read_versions = copy_col(run, r, c[P_READ_VERSIONS]);
    o.outcome = intern_col(run, r, c[P_OUTCOME]);
    o.last_correlation_id = copy_col(run, r, c[P_LAST_CORRELATION]);
    o.intent = copy_col(run, r, c[P_INTENT]);
    o.line = csvr_line(r);
    if (run->n_ops == p->ops_cap) {
        p->ops_cap = p->ops_cap ? 2 * p->ops_cap : 64;
        run->ops = xreallocarray(run->ops, p->ops_cap, sizeof(*run->ops));
    }
    run->ops[run->n_ops++] = o;
    return RT_OK;
}

static int op_cmp(const void *a, const void *b)
{
    const struct runload_op *x = a, *y = b;

    if (x->op_id != y->op_id)
        return x->op_id < y->op_id ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static enum rt_err load_operations(struct runload *run, const char *dir)
{
    enum rt_err err = load_rows(run, dir, "operations.csv", op_cols,
                                NCOLS(op_cols), op_row, NULL);

    if (!err && run->n_ops)
        qsort(run->ops, run->n_ops, sizeof(*run->ops), op_cmp);
    return err;
}

const struct runload_op *runload_find_op(const struct runload *run,
                                         int64_t op_id)
{
    size_t lo = 0, hi = run->n_ops;

    if (op_id < 0)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (run->ops[mid].op_id < op_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < run->n_ops && run->ops[lo].op_id == op_id ? &run->ops[lo]
                                                          : NULL;
}

/* ---- requests.csv ----------------------------------------------------- */

enum {
    Q_SEQ,
    Q_ROLE,
    Q_OP_ID,
    Q_AGENT,
    Q_METHOD,
    Q_ROUTE,
    Q_INTENDED,
    Q_SEND,
    Q_RECV,
    Q_LATENCY,
    Q_STATUS,
    Q_ERROR_CODE,
    Q_KIND,
    Q_CORRELATION,
    Q_VERSION_SENT,
    Q_RETRY_AFTER,
};
static const char *const req_cols[] = {"seq",
                                       "role",
                                       "op_id",
                                       "agent",
                                       "method",
                                       "route",
                                       "intended_wall_ns",
                                       "send_wall_ns",
                                       "recv_wall_ns",
                                       "latency_ns",
                                       "status",
                                       "error_code",
                                       "kind",
                                       "correlation_id",
                                       "version_sent",
                                       "retry_after_s"};

/* Count one row with value @s of a small column (kinds, roles): a few
 * distinct values, so a linear search that tries the last match first. */
static void count_value(struct runload *run, struct runload_count **arr,
                        size_t *n, size_t *cap, size_t *last, const char *s,
                        size_t len)
{
    struct runload_count *e;

    if (*last < *n && !strcmp((*arr)[*last].name, s)) {
        (*arr)[*last].n++;
        return;
    }
    for (size_t i = 0; i < *n; i++) {
        if (!strcmp((*arr)[i].name, s)) {
            (*arr)[i].n++;
            *last = i;
            return;
        }
    }
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        *arr = xreallocarray(*arr, *cap, sizeof(**arr));
    }
    e = &(*arr)[(*n)++];
    e->name = intern(run, s, len);
    e->n = 1;
    *last = *n - 1;
}

static int is_write_method(const char *m)
{
    return !strcmp(m, "PATCH") || !strcmp(m, "PUT") || !strcmp(m, "POST") ||
           !strcmp(m, "DELETE");
}

static enum rt_err keep_write(struct runload *run, struct csvr *r,
                              const size_t *c, int64_t seq, int64_t status,
                              int64_t send, int64_t recv)
{
    struct runload_priv *p = run->priv;
    struct runload_write w;
    struct runload_agent *a;
    const struct runload_op *op;
    size_t agent;
    enum rt_err err;

    memset(&w, 0, sizeof(w));
    if ((err = agent_col(run, r, c[Q_AGENT], &agent)) ||
        (err = csvr_i64(r, c[Q_OP_ID], -1, &w.op_id)) ||
        (err = csvr_i64(r, c[Q_VERSION_SENT], -1, &w.version_sent)))
        return err;
    w.seq = seq;
    w.method = intern_col(run, r, c[Q_METHOD]);
    w.route = intern_col(run, r, c[Q_ROUTE]);
    w.send_wall_ns = send;
    w.recv_wall_ns = recv;
    w.status = (int)status;
    w.correlation_id = copy_col(run, r, c[Q_CORRELATION]);
    w.confirmed = status != 0;
    w.version_after = w.version_sent >= 0 ? w.version_sent + 1 : -1;
    /* The operation knows better: its final version came from the
     * response body, or from a re-read that showed a lost write landed. */
    op = runload_find_op(run, w.op_id);
    if (op && op->final_version >= 0 && !strcmp(op->outcome, "ok") &&
        op->last_write_wall_ns == send) {
        w.version_after = op->final_version;
        w.confirmed = 1;
    }
    a = &run->agents[agent];
    if (a->n_writes == p->writes_cap[agent]) {
        p->writes_cap[agent] =
            p->writes_cap[agent] ? 2 * p->writes_cap[agent] : 4;
        a->writes =
            xreallocarray(a->writes, p->writes_cap[agent], sizeof(*a->writes));
    }
    a->writes[a->n_writes++] = w;
    run->n_writes++;
    run->n_writes_confirmed += (size_t)w.confirmed;
    return RT_OK;
}

static enum rt_err keep_conflict(struct runload *run, struct csvr *r,
                                 const size_t *c, int64_t seq, int64_t status,
                                 int64_t send, int64_t recv)
{
    struct runload_priv *p = run->priv;
    struct runload_conflict k;
    size_t len;
    const char *agent;
    enum rt_err err;

    memset(&k, 0, sizeof(k));
    if ((err = csvr_i64(r, c[Q_OP_ID], -1, &k.op_id)) ||
        (err = csvr_i64(r, c[Q_INTENDED], 0, &k.intended_wall_ns)) ||
        (err = csvr_i64(r, c[Q_VERSION_SENT], -1, &k.version_sent)))
        return err;
    agent = csvr_str(r, c[Q_AGENT], &len);
    k.agent = len ? agent_ref(run, agent, len) : RUNLOAD_NONE;
    k.seq = seq;
    k.role = intern_col(run, r, c[Q_ROLE]);
    k.method = intern_col(run, r, c[Q_METHOD]);
    k.route = intern_col(run, r, c[Q_ROUTE]);
    k.error_code = intern_col(run, r, c[Q_ERROR_CODE]);
    k.send_wall_ns = send;
    k.recv_wall_ns = recv;
    k.status = (int)status;
    k.correlation_id = copy_col(run, r, c[Q_CORRELATION]);
    if (run->n_conflicts == p->conflicts_cap) {
        p->conflicts_cap = p->conflicts_cap ? 2 * p->conflicts_cap : 64;
        run->conflicts = xreallocarray(run->conflicts, p->conflicts_cap,
                                       sizeof(*run->conflicts));
    }
    run->conflicts[run->n_conflicts++] = k;
    return RT_OK;
}

/*
 * Is @role the run's own traffic against the org while it ran?  Not the
 * snapshot before the first write and the restore after the last (safety
 * around the job's writes, with versioned writes of their own), nor the
 * evidence queries after the run (audit, analytics).  Those are counted
 * with every request (total, by status, kind and role) but stay out of
 * the per-second outcomes and the latency histograms, which describe the
 * run, and their version conflicts are not the job's.  Unknown roles
 * count as traffic, as every role did before these existed.
 */
static int run_traffic(const char *role)
{
    return strcmp(role, "snapshot") && strcmp(role, "restore") &&
           strcmp(role, "audit") && strcmp(role, "analytics");
}

/* Per-second outcome counts of the run's traffic.  Seconds count from
 * the first such row's send time; a row sent earlier than that (rows are
 * in completion order) lands in second 0. */
static enum rt_err count_second(struct runload *run, struct csvr *r,
                                const char *kind, int64_t status, int64_t send)
{
    struct runload_priv *p = run->priv;
    struct runload_requests *q = &run->requests;
    struct runload_second *sec;
    int64_t base;
    size_t i;

    if (++p->run_rows == 1)
        q->per_second_base_ns = send;
    base = q->per_second_base_ns;
    i = send > base ? (size_t)((send - base) / INT64_C(1000000000)) : 0;
    if (i >= RUNLOAD_SECONDS_MAX)
        return csvr_fail(r,
                         "send time is more than %d days after the "
                         "first request",
                         RUNLOAD_SECONDS_MAX / 86400);
    if (i >= p->seconds_cap) {
        size_t cap = p->seconds_cap ? p->seconds_cap : 64;
        while (cap <= i)
            cap *= 2;
        q->per_second =
            xreallocarray(q->per_second, cap, sizeof(*q->per_second));
        memset(q->per_second + p->seconds_cap, 0,
               (cap - p->seconds_cap) * sizeof(*q->per_second));
        p->seconds_cap = cap;
    }
    if (i + 1 > q->n_seconds)
        q->n_seconds = i + 1;
    sec = &q->per_second[i];
    if (!strcmp(kind, "ok"))
        sec->ok++;
    else if (!strcmp(kind, "conflict"))
        sec->conflict++;
    else if (status == 429)
        sec->throttled++;
    else
        sec->error++;
    return RT_OK;
}

/* Requests sent inside a Retry-After window, whatever their role: every
 * session of the harness honours the server's Retry-After. */
static enum rt_err count_retry_after(struct runload *run, struct csvr *r,
                                     const size_t *c, int64_t status,
                                     int64_t send, int64_t recv)
{
    struct runload_priv *p = run->priv;
    struct runload_requests *q = &run->requests;
    int64_t retry_after;
    enum rt_err err;

    if (send > p->backoff_from_ns && send < p->backoff_until_ns)
        q->retry_after_ignored++;
    if (status == 429) {
        if ((err = csvr_i64(r, c[Q_RETRY_AFTER], -1, &retry_after)))
            return err;
        if (retry_after >= 0 &&
            retry_after <= INT64_MAX / INT64_C(1000000000) - recv) {
            int64_t until = recv + retry_after * INT64_C(1000000000);
            q->throttled_with_retry_after++;
            if (until > p->backoff_until_ns) {
                p->backoff_from_ns = recv;
                p->backoff_until_ns = until;
            }
        }
    }
    return RT_OK;
}

static enum rt_err req_row(struct runload *run, struct csvr *r, const size_t *c,
                           void *ctx)
{
    (void)ctx;
    struct runload_priv *p = run->priv;
    struct runload_requests *q = &run->requests;
    int64_t seq, status, send, recv, latency;
    size_t role_len, kind_len;
    const char *role, *kind;
    enum rt_err err;

    if ((err = req_i64(r, c[Q_SEQ], &seq)) ||
        (err = req_i64(r, c[Q_STATUS], &status)) ||
        (err = req_i64(r, c[Q_SEND], &send)) ||
        (err = req_i64(r, c[Q_RECV], &recv)) ||
        (err = req_i64(r, c[Q_LATENCY], &latency)))
        return err;
    if (status < 0 || status >= RUNLOAD_STATUS_MAX)
        return csvr_fail(r, "status %lld is not an HTTP status",
                         (long long)status);
    if (latency < 0)
        return csvr_fail(r, "negative latency %lld", (long long)latency);
    role = csvr_str(r, c[Q_ROLE], &role_len);
    kind = csvr_str(r, c[Q_KIND], &kind_len);
    count_value(run, &q->by_role, &q->n_roles, &p->roles_cap, &p->role_last,
                role, role_len);
    count_value(run, &q->by_kind, &q->n_kinds, &p->kinds_cap, &p->kind_last,
                kind, kind_len);
    q->rows++;
    q->by_status[status]++;
    if (seq > q->max_seq)
        q->max_seq = seq;
    if (q->first_send_wall_ns == 0 || send < q->first_send_wall_ns)
        q->first_send_wall_ns = send;
    if (recv > q->last_recv_wall_ns)
        q->last_recv_wall_ns = recv;
    if ((err = count_retry_after(run, r, c, status, send, recv)))
        return err;
    if (run_traffic(role)) {
        if (status > 0)
            hist_add(&q->latency, latency);
        if (!q->latency_by_status[status])
            q->latency_by_status[status] =
                xcalloc(1, sizeof(*q->latency_by_status[status]));
        hist_add(q->latency_by_status[status], latency);
        if ((err = count_second(run, r, kind, status, send)))
            return err;
    }
    /* Only the replay's conflicts are the job's; a restore's or a
     * snapshot's are counted apart. */
    if (!strcmp(kind, "conflict")) {
        if (strcmp(role, "replay"))
            q->conflicts_other_roles++;
        else if ((err = keep_conflict(run, r, c, seq, status, send, recv)))
            return err;
    }
    if (!strcmp(role, "replay") &&
        (status == 0 || (status >= 200 && status < 300)) &&
        is_write_method(csvr_str(r, c[Q_METHOD], NULL)))
        return keep_write(run, r, c, seq, status, send, recv);
    return RT_OK;
}

static enum rt_err load_requests(struct runload *run, const char *dir)
{
    return load_rows(run, dir, "requests.csv", req_cols, NCOLS(req_cols),
                     req_row, NULL);
}

/* ---- audit.csv -------------------------------------------------------- */

enum {
    A_ID,
    A_WALL,
    A_AGENT,
    A_SERVICE,
    A_ENTITY_TYPE,
    A_ACTION,
    A_LEVEL,
    A_STATUS,
    A_USER_ID,
    A_USER_NAME,
    A_CLIENT_ID,
    A_APPLICATION,
    A_PROPERTIES,
};
static const char *const audit_cols[] = {
    "audit_id",  "event_wall_ns", "agent",     "service", "entity_type",
    "action",    "level",         "status",    "user_id", "user_name",
    "client_id", "application",   "properties"};

/* Per agent while loading audit.csv: capacity of agent.audits. */
struct audit_ctx {
    size_t *caps;
};

static enum rt_err audit_row(struct runload *run, struct csvr *r,
                             const size_t *c, void *ctx)
{
    struct audit_ctx *ac = ctx;
    struct runload_audit a;
    struct runload_agent *ag;
    const char *id;
    size_t agent, len;
    enum rt_err err;

    memset(&a, 0, sizeof(a));
    id = csvr_str(r, c[A_AGENT], &len);
    if (len == 0)
        return csvr_fail(r, "column 'agent' is empty");
    if ((err = req_i64(r, c[A_WALL], &a.wall_ns)))
        return err;
    if (a.wall_ns <= 0)
        return csvr_fail(r, "event_wall_ns %lld is not a time",
                         (long long)a.wall_ns);
    /* Records of users the run never saw explain nothing it saw. */
    agent = runload_agent_index(run, id);
    if (agent == RUNLOAD_NONE) {
        run->n_audits_unknown_agent++;
        return RT_OK;
    }
    a.id = copy_col(run, r, c[A_ID]);
    a.service = intern_col(run, r, c[A_SERVICE]);
    a.entity_type = intern_col(run, r, c[A_ENTITY_TYPE]);
    a.action = intern_col(run, r, c[A_ACTION]);
    a.level = intern_col(run, r, c[A_LEVEL]);
    a.status = intern_col(run, r, c[A_STATUS]);
    a.user_id = intern_col(run, r, c[A_USER_ID]);
    a.user_name = intern_col(run, r, c[A_USER_NAME]);
    a.client_id = intern_col(run, r, c[A_CLIENT_ID]);
    a.application = intern_col(run, r, c[A_APPLICATION]);
    a.properties = copy_col(run, r, c[A_PROPERTIES]);
    a.line = csvr_line(r);
    ag = &run->agents[agent];
    if (ag->n_audits == ac->caps[agent]) {
        ac->caps[agent] = ac->caps[agent] ? 2 * ac->caps[agent] : 8;
        ag->audits =
            xreallocarray(ag->audits, ac->caps[agent], sizeof(*ag->audits));
    }
    ag->audits[ag->n_audits++] = a;
    run->n_audits++;
    return RT_OK;
}

static int audit_cmp(const void *x, const void *y)
{
    const struct runload_audit *a = x, *b = y;

    if (a->wall_ns != b->wall_ns)
        return a->wall_ns < b->wall_ns ? -1 : 1;
    return a->line < b->line ? -1 : a->line > b->line;
}

/* audit.csv is optional: runs without audit (and older runs) have none.
 * Read after finish(), so rows are tied to the sorted agents directly. */
static enum rt_err load_audit(struct runload *run, const char *dir)
{
    struct audit_ctx ac;
    char path[4096];
    enum rt_err err;

    if ((size_t)snprintf(path, sizeof(path), "%s/audit.csv", dir) >=
        sizeof(path))
        return rt_fail(RT_EINVAL, "directory path too long: '%s'", dir);
    if (access(path, F_OK) && errno == ENOENT)
        return RT_OK;
    ac.caps = xcalloc(run->n_agents ? run->n_agents : 1, sizeof(*ac.caps));
    err = load_rows(run, dir, "audit.csv", audit_cols, NCOLS(audit_cols),
                    audit_row, &ac);
    free(ac.caps);
    if (err)
        return err;
    run->has_audit = 1;
    for (size_t i = 0; i < run->n_agents; i++)
        if (run->agents[i].n_audits > 1)
            qsort(run->agents[i].audits, run->agents[i].n_audits,
                  sizeof(*run->agents[i].audits), audit_cmp);
    return RT_OK;
}

/* ---- run.json --------------------------------------------------------- */

/* The window from the data, for a run without run.json. */
static void window_from_data(struct runload *run)
{
    int64_t lo = run->requests.first_send_wall_ns;
    int64_t hi = run->requests.last_recv_wall_ns;

    for (size_t i = 0; i < run->n_agents; i++) {
        const struct runload_agent *a = &run->agents[i];
        for (size_t k = 0; k < a->n_obs; k++) {
            if (lo == 0 || a->obs[k].bracket_start_wall_ns < lo)
                lo = a->obs[k].bracket_start_wall_ns;
            if (a->obs[k].bracket_end_wall_ns > hi)
                hi = a->obs[k].bracket_end_wall_ns;
        }
    }
    for (size_t i = 0; i < run->n_ops; i++) {
        if (run->ops[i].start_wall_ns &&
            (lo == 0 || run->ops[i].start_wall_ns < lo))
            lo = run->ops[i].start_wall_ns;
        if (run->ops[i].end_wall_ns > hi)
            hi = run->ops[i].end_wall_ns;
    }
    run->start_wall_ns = lo;
    run->end_wall_ns = hi;
}

/* A string owned by the run, or NULL for NULL. */
static const char *own_str(struct runload *run, const char *s)
{
    return s ? arena_strndup(&run->priv->arena, s, strlen(s)) : NULL;
}

/* An optional string member; JSON null counts as absent. */
static enum rt_err opt_str(struct jread *jr, const cJSON *obj, const char *path,
                           const char *key, const char **out)
{
    if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, key)))
        return RT_OK;
    return jread_string(jr, obj, path, key, out) ? RT_EPARSE : RT_OK;
}

/* An optional count; JSON null counts as absent. */
static enum rt_err opt_count(struct jread *jr, const cJSON *obj,
                             const char *path, const char *key, int64_t *out)
{
    if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, key)))
        return RT_OK;
    return jread_int(jr, obj, path, key, 0, INT64_MAX, out) ? RT_EPARSE : RT_OK;
}

/* run.json "evidence.<name>": what a post-run query returned. */
static enum rt_err load_query(struct runload *run, struct jread *jr,
                              const cJSON *evidence, const char *name,
                              struct runload_query *q)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(evidence, name);
    const char *status = NULL, *message = NULL, *permission = NULL;
    char path[64];

    q->records = q->users = q->transitions = -1;
    if (!o)
        return RT_OK;
    snprintf(path, sizeof(path), "evidence.%s", name);
    if (!cJSON_IsObject(o))
        return jread_fail(jr, path, "must be an object");
    if (opt_str(jr, o, path, "status", &status) ||
        opt_str(jr, o, path, "message", &message) ||
        opt_str(jr, o, path, "permission", &permission) ||
        opt_count(jr, o, path, "records", &q->records) ||
        opt_count(jr, o, path, "users", &q->users) ||
        opt_count(jr, o, path, "transitions", &q->transitions))
        return RT_EPARSE;
    q->status = own_str(run, status);
    q->message = message && *message ? own_str(run, message) : NULL;
    q->permission = permission && *permission ? own_str(run, permission) : NULL;
    return RT_OK;
}

/* The issue-5 parts of run.json: target.client_id, "dry_run" with
 * counts.operations.dry_run, "stream" and "evidence".  Each is optional;
 * a present one of the wrong shape is a parse error like any other. */
static enum rt_err load_run_extras(struct runload *run, struct jread *jr,
                                   cJSON *root, const cJSON *target)
{
    const char *client_id = NULL;
    const cJSON *evidence, *stream, *counts, *ops;

    if (target && opt_str(jr, target, "target", "client_id", &client_id))
        return RT_EPARSE;
    if (jread_bool(jr, root, "", "dry_run", &run->dry_run))
        return RT_EPARSE;
    counts = cJSON_GetObjectItemCaseSensitive(root, "counts");
    ops = cJSON_IsObject(counts)
              ? cJSON_GetObjectItemCaseSensitive(counts, "operations")
              : NULL;
    if (cJSON_IsObject(ops) && opt_count(jr, ops, "counts.operations",
                                         "dry_run", &run->dry_run_writes))
        return RT_EPARSE;
    run->client_id = client_id ? own_str(run, client_id) : "";
    stream = cJSON_GetObjectItemCaseSensitive(root, "stream");
    if (stream && !cJSON_IsObject(stream) && !cJSON_IsNull(stream))
        return jread_fail(jr, "stream", "must be an object");
    if (cJSON_IsObject(stream))
        run->stream = cJSON_DetachItemFromObjectCaseSensitive(root, "stream");
    evidence = cJSON_GetObjectItemCaseSensitive(root, "evidence");
    if (evidence && !cJSON_IsObject(evidence) && !cJSON_IsNull(evidence))
        return jread_fail(jr, "evidence", "must be an object");
    if (load_query(run, jr, evidence, "audit", &run->audit_query) ||
        load_query(run, jr, evidence, "analytics", &run->analytics_query))
        return RT_EPARSE;
    return RT_OK;
}

static enum rt_err load_run_json(struct runload *run, const char *dir)
{
    char path[4096];
    struct jread jr;
    cJSON *root = NULL;
    const cJSON *target;
    const char *version = NULL;
    int64_t start = -1, end = -1;
    enum rt_err err = RT_OK;

    if ((size_t)snprintf(path, sizeof(path), "%s/run.json", dir) >=
        sizeof(path))
        return rt_fail(RT_EINVAL, "directory path too long: '%s'", dir);
    if (access(path, F_OK) && errno == ENOENT) {
        log_warn("'%s' is missing (the run was killed?); taking the run's "
                 "start and end from the history",
                 path);
        window_from_data(run);
        return RT_OK;
    }
    jread_init(&jr, path);
    if (jread_load_file(&jr, path, &root) ||
        jread_int(&jr, root, "", "start_wall_ns", 0, INT64_MAX, &start) ||
        jread_int(&jr, root, "", "end_wall_ns", 0, INT64_MAX, &end) ||
        jread_bool(&jr, root, "", "interrupted", &run->interrupted) ||
        jread_string(&jr, root, "", "version", &version)) {
        err = rt_fail(RT_EPARSE, "%s", jr.error);
        goto out;
    }
    target = cJSON_GetObjectItemCaseSensitive(root, "target");
    if (target &&
        jread_bool(&jr, target, "target", "simulator", &run->simulator)) {
        err = rt_fail(RT_EPARSE, "%s", jr.error);
        goto out;
    }
    if (load_run_extras(run, &jr, root, target)) {
        err = rt_fail(RT_EPARSE, "%s", jr.error);
        goto out;
    }
    run->has_run_json = 1;
    run->tool_version =
        version ? arena_strndup(&run->priv->arena, version, strlen(version))
                : "";
    run->scenario = cJSON_DetachItemFromObjectCaseSensitive(root, "scenario");
    if (start < 0 || end < 0) {
        log_warn("'%s' has no start_wall_ns or end_wall_ns; taking them "
                 "from the history",
                 path);
        window_from_data(run);
    } else {
        run->start_wall_ns = start;
        run->end_wall_ns = end;
    }
out:
    cJSON_Delete(root);
    return err;
}

/* ---- Finishing -------------------------------------------------------- */

static int obs_cmp(const void *a, const void *b)
{
    const struct runload_obs *x = a, *y = b;

    if (x->bracket_end_wall_ns != y->bracket_end_wall_ns)
        return x->bracket_end_wall_ns < y->bracket_end_wall_ns ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int write_cmp(const void *a, const void *b)
{
    const struct runload_write *x = a, *y = b;

    if (x->send_wall_ns != y->send_wall_ns)
        return x->send_wall_ns < y->send_wall_ns ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int conflict_cmp(const void *a, const void *b)
{
    const struct runload_conflict *x = a, *y = b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int agent_cmp(const void *a, const void *b)
{
    return strcmp(((const struct runload_agent *)a)->id,
                  ((const struct runload_agent *)b)->id);
}

/* Sort agents by id and every timeline by time; remap agent indices. */
static void finish(struct runload *run)
{
    struct runload_priv *p = run->priv;
    size_t *new_index;

    /* Remember each agent's old index in its slot of the map, then sort
     * and read the permutation back through the ids. */
    if (run->n_agents)
        qsort(run->agents, run->n_agents, sizeof(*run->agents), agent_cmp);
    new_index =
        xmalloc((run->n_agents ? run->n_agents : 1) * sizeof(*new_index));
    for (size_t i = 0; i < run->n_agents; i++) {
        const char *id = run->agents[i].id;
        int added;
        struct smap_slot *slot =
            smap_put(&p->agent_map, &p->arena, id, strlen(id), 0, &added);
        new_index[slot->val] = i;
    }
    for (size_t i = 0; i < run->n_ops; i++)
        run->ops[i].agent = new_index[run->ops[i].agent];
    for (size_t i = 0; i < run->n_conflicts; i++)
        if (run->conflicts[i].agent != RUNLOAD_NONE)
            run->conflicts[i].agent = new_index[run->conflicts[i].agent];
    free(new_index);
    for (size_t i = 0; i < run->n_agents; i++) {
        struct runload_agent *a = &run->agents[i];
        if (a->n_obs)
            qsort(a->obs, a->n_obs, sizeof(*a->obs), obs_cmp);
        if (a->n_writes)
            qsort(a->writes, a->n_writes, sizeof(*a->writes), write_cmp);
    }
    if (run->n_conflicts)
        qsort(run->conflicts, run->n_conflicts, sizeof(*run->conflicts),
              conflict_cmp);
    smap_release(&p->agent_map);
    free(p->obs_cap);
    free(p->writes_cap);
    p->obs_cap = p->writes_cap = NULL;
}

enum rt_err runload_load(struct runload **out, const char *run_dir)
{
    struct runload *run = xcalloc(1, sizeof(*run));
    enum rt_err err;

    run->priv = xcalloc(1, sizeof(*run->priv));
    run->dir = xstrdup(run_dir);
    run->tool_version = "";
    run->client_id = "";
    run->audit_query.records = run->audit_query.users =
        run->audit_query.transitions = -1;
    run->analytics_query = run->audit_query;
    run->dry_run_writes = -1;
    if ((err = load_observations(run, run_dir)) ||
        (err = load_operations(run, run_dir)) ||
        (err = load_requests(run, run_dir)))
        goto fail;
    finish(run);
    if ((err = load_run_json(run, run_dir)) || (err = load_audit(run, run_dir)))
        goto fail;
    *out = run;
    return RT_OK;
fail:
    runload_free(run);
    return err;
}

void runload_free(struct runload *self)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->n_agents; i++) {
        free(self->agents[i].obs);
        free(self->agents[i].writes);
        free(self->agents[i].audits);
    }
    free(self->agents);
    free(self->ops);
    free(self->conflicts);
    free(self->requests.by_kind);
    free(self->requests.by_role);
    free(self->requests.latency.counts);
    free(self->requests.per_second);
    for (size_t s = 0; s < RUNLOAD_STATUS_MAX; s++) {
        if (self->requests.latency_by_status[s]) {
            free(self->requests.latency_by_status[s]->counts);
            free(self->requests.latency_by_status[s]);
        }
    }
    cJSON_Delete(self->scenario);
    cJSON_Delete(self->stream);
    if (self->priv) {
        smap_release(&self->priv->strings);
        smap_release(&self->priv->agent_map);
        free(self->priv->obs_cap);
        free(self->priv->writes_cap);
        arena_release(&self->priv->arena);
        free(self->priv);
    }
    free(self->dir);
    free(self);
}

size_t runload_agent_index(const struct runload *self, const char *id)
{
    size_t lo = 0, hi = self->n_agents;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(self->agents[mid].id, id);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return RUNLOAD_NONE;
}

static uint64_t count_of(const struct runload_count *arr, size_t n,
                         const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(arr[i].name, name))
            return arr[i].n;
    return 0;
}

uint64_t runload_kind_count(const struct runload *self, const char *name)
{
    return count_of(self->requests.by_kind, self->requests.n_kinds, name);
}

uint64_t runload_role_count(const struct runload *self, const char *name)
{
    return count_of(self->requests.by_role, self->requests.n_roles, name);
}

/* ---- Own vs foreign bumps --------------------------------------------- */

/* A candidate write for matching, by the version it created. */
struct cand {
    int64_t version_after;
    int confirmed;
    size_t write; /* index into agent.writes (already in send order) */
};

static int cand_cmp(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;

    if (x->version_after != y->version_after)
        return x->version_after < y->version_after ? -1 : 1;
    if (x->confirmed != y->confirmed)
        return y->confirmed - x->confirmed; /* confirmed first */
    return x->write < y->write ? -1 : x->write > y->write;
}

/* The first unused candidate for @version with @confirmed sent by
 * @deadline, marked used; RUNLOAD_NONE when none. */
static size_t take_write(const struct runload_agent *a, struct cand *c,
                         size_t n, unsigned char *used, int64_t version,
                         int confirmed, int64_t deadline)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c[mid].version_after < version)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < n && c[lo].version_after == version; lo++) {
        if (c[lo].confirmed != confirmed || used[lo] ||
            a->writes[c[lo].write].send_wall_ns > deadline)
            continue;
        used[lo] = 1;
        return c[lo].write;
    }
    return RUNLOAD_NONE;
}

static void bumps_push(struct runload_bumps *out, size_t *cap,
                       const struct runload_bump *b)
{
    if (out->n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        out->items = xreallocarray(out->items, *cap, sizeof(*out->items));
    }
    out->items[out->n++] = *b;
}

enum rt_err runload_classify_bumps(const struct runload *run,
                                   struct runload_bumps *out)
{
    struct cand *cands = NULL;
    unsigned char *used = NULL;
    size_t cap = 0, cands_cap = 0;

    memset(out, 0, sizeof(*out));
    for (size_t ai = 0; ai < run->n_agents; ai++) {
        const struct runload_agent *a = &run->agents[ai];
        size_t nc = 0;

        if (a->n_writes > cands_cap) {
            cands_cap = a->n_writes;
            cands = xreallocarray(cands, cands_cap, sizeof(*cands));
            used = xrealloc(used, cands_cap);
        }
        for (size_t w = 0; w < a->n_writes; w++) {
            if (a->writes[w].version_after < 0)
                continue;
            cands[nc].version_after = a->writes[w].version_after;
            cands[nc].confirmed = a->writes[w].confirmed;
            cands[nc].write = w;
            nc++;
        }
        if (nc) {
            qsort(cands, nc, sizeof(*cands), cand_cmp);
            memset(used, 0, nc);
        }
        for (size_t k = 0; k < a->n_obs; k++) {
            const struct runload_obs *o = &a->obs[k];
            if (o->prop != RUNLOAD_VERSION)
                continue;
            for (int64_t v = o->old_version + 1; v <= o->new_version; v++) {
                struct runload_bump b = {
                    .agent = ai,
                    .obs = k,
                    .version = v,
                    .bracket_start_wall_ns = o->bracket_start_wall_ns,
                    .bracket_end_wall_ns = o->bracket_end_wall_ns,
                    .hidden = v < o->new_version,
                    .origin = RUNLOAD_FOREIGN,
                    .write = RUNLOAD_NONE,
                };
                b.write = take_write(a, cands, nc, used, v, 1,
                                     o->bracket_end_wall_ns);
                if (b.write != RUNLOAD_NONE) {
                    b.origin = RUNLOAD_OWN;
                    out->n_own++;
                } else if ((b.write = take_write(a, cands, nc, used, v, 0,
                                                 o->bracket_end_wall_ns)) !=
                           RUNLOAD_NONE) {
                    b.origin = RUNLOAD_OWN_UNCONFIRMED;
                    out->n_own_unconfirmed++;
                } else {
                    out->n_foreign++;
                }
                out->n_hidden += (size_t)b.hidden;
                bumps_push(out, &cap, &b);
            }
        }
        for (size_t i = 0; i < nc; i++)
            out->n_writes_unseen += cands[i].confirmed && !used[i];
    }
    free(cands);
    free(used);
    return RT_OK;
}

void runload_bumps_release(struct runload_bumps *self)
{
    if (!self)
        return;
    free(self->items);
    memset(self, 0, sizeof(*self));
}

/* ---- truth.csv -------------------------------------------------------- */

struct runload_truth_priv {
    struct arena arena;
    struct smap causes;
    size_t *caps;
};

enum { T_TIME, T_AGENT, T_PROPERTY, T_OLD, T_NEW, T_CAUSE, T_CORRELATION };
static const char *const truth_cols[] = {"time_wall_ns",  "agent", "property",
                                         "old",           "new",   "cause",
                                         "correlation_id"};

static enum rt_err truth_row(struct runload_truth *t, const struct runload *run,
                             struct csvr *r, const size_t *c)
{
    struct runload_truth_priv *p = t->priv;
    struct runload_truth_agent *ta;
    struct runload_truth_bump b;
    size_t agent, len;
    const char *s;
    enum rt_err err;
    int added;

    if (strcmp(csvr_str(r, c[T_PROPERTY], NULL), "version"))
        return RT_OK;
    memset(&b, 0, sizeof(b));
    if ((err = req_i64(r, c[T_TIME], &b.wall_ns)) ||
        (err = req_i64(r, c[T_OLD], &b.old_version)) ||
        (err = req_i64(r, c[T_NEW], &b.new_version)))
        return err;
    if (b.new_version <= b.old_version)
        return csvr_fail(r, "version goes from %lld to %lld",
                         (long long)b.old_version, (long long)b.new_version);
    agent = runload_agent_index(run, csvr_str(r, c[T_AGENT], NULL));
    if (agent == RUNLOAD_NONE) {
        t->n_unknown_agent_bumps++;
        return RT_OK;
    }
    s = csvr_str(r, c[T_CAUSE], &len);
    b.cause = smap_put(&p->causes, &p->arena, s, len, 0, &added)->key;
    s = csvr_str(r, c[T_CORRELATION], &len);
    b.correlation_id = arena_strndup(&p->arena, s, len);
    b.line = csvr_line(r);
    ta = &t->agents[agent];
    if (ta->n_bumps == p->caps[agent]) {
        p->caps[agent] = p->caps[agent] ? 2 * p->caps[agent] : 16;
        ta->bumps =
            xreallocarray(ta->bumps, p->caps[agent], sizeof(*ta->bumps));
    }
    ta->bumps[ta->n_bumps++] = b;
    t->n_bumps++;
    return RT_OK;
}

static int truth_cmp(const void *a, const void *b)
{
    const struct runload_truth_bump *x = a, *y = b;

    if (x->new_version != y->new_version)
        return x->new_version < y->new_version ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

enum rt_err runload_truth_load(struct runload_truth **out,
                               const struct runload *run, const char *run_dir)
{
    struct runload_truth *t;
    size_t c[NCOLS(truth_cols)];
    struct csvr *r = NULL;
    char path[4096];
    enum rt_err err;
    int has;

    *out = NULL;
    if ((size_t)snprintf(path, sizeof(path), "%s/truth.csv", run_dir) >=
        sizeof(path))
        return rt_fail(RT_EINVAL, "directory path too long: '%s'", run_dir);
    if (access(path, F_OK) && errno == ENOENT)
        return RT_OK;
    t = xcalloc(1, sizeof(*t));
    t->priv = xcalloc(1, sizeof(*t->priv));
    t->n_agents = run->n_agents;
    t->agents = xcalloc(run->n_agents ? run->n_agents : 1, sizeof(*t->agents));
    t->priv->caps =
        xcalloc(run->n_agents ? run->n_agents : 1, sizeof(*t->priv->caps));
    if ((err = csvr_open(&r, path, NULL)) ||
        (err = columns(r, truth_cols, c, NCOLS(truth_cols))))
        goto out;
    while (!(err = csvr_next(r, &has)) && has)
        if ((err = truth_row(t, run, r, c)))
            goto out;
    if (err)
        goto out;
    for (size_t i = 0; i < t->n_agents; i++)
        if (t->agents[i].n_bumps)
            qsort(t->agents[i].bumps, t->agents[i].n_bumps,
                  sizeof(*t->agents[i].bumps), truth_cmp);
    free(t->priv->caps);
    t->priv->caps = NULL;
    *out = t;
    t = NULL;
out:
    csvr_close(r);
    runload_truth_free(t);
    return err;
}

void runload_truth_free(struct runload_truth *self)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->n_agents; i++)
        free(self->agents[i].bumps);
    free(self->agents);
    if (self->priv) {
        smap_release(&self->priv->causes);
        arena_release(&self->priv->arena);
        free(self->priv->caps);
        free(self->priv);
    }
    free(self);
}

const struct runload_truth_bump *
runload_truth_find(const struct runload_truth *self, size_t agent,
                   int64_t new_version)
{
    const struct runload_truth_agent *ta;
    size_t lo = 0, hi;

    if (!self || agent >= self->n_agents)
        return NULL;
    ta = &self->agents[agent];
    hi = ta->n_bumps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ta->bumps[mid].new_version < new_version)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ta->n_bumps && ta->bumps[lo].new_version == new_version
               ? &ta->bumps[lo]
               : NULL;
}
