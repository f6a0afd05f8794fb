/*
 * gen_history: a synthetic run directory for the analysis benchmark.
 *
 *   gen_history --out <dir> [--requests <n>] [--observations <n>]
 *               [--agents <n>] [--seed <n>] [--duration <time>]
 *               [--start <iso-time>]
 *
 * The directory holds what `racetrace run` writes against the simulator
 * (DESIGN §7): requests.csv, observations.csv and operations.csv with the
 * columns of harness/history.c, truth.csv with the simulator's columns, and
 * run.json with the keys of harness/run.c and a scenario resolved by
 * harness/scenario.c.  It is not random rows but a small model of such a
 * run, played out in four steps, so the analysis has real work to do and
 * every cross-reference holds:
 *
 *   1. The world.  Each agent, from its own seeded stream, moves as the
 *      simulator's agents do: On Queue agents cycle IDLE -> INTERACTING ->
 *      IDLE (now and then NOT_RESPONDING), take breaks (presence Break,
 *      routing OFF_QUEUE 10-250 ms later, and back); off-queue agents
 *      stay Available, OFF_QUEUE.  A routing-engine actor bumps the version
 *      50-400 ms after 70% of the INTERACTING transitions, and an admin
 *      actor bumps random agents at random times.
 *   2. The replay.  Rounds of user-patch over every agent with the
 *      strategies bulk-stale, read-modify-write and retry, through a pool
 *      of workers with pacing, as harness/replay.c runs them: a write
 *      commits (200) when the version it sends is the current one at its
 *      server instant, else it gets a 409; a few requests get a 429 with
 *      Retry-After, which backs every request off for that long (the
 *      shared limiter), and the retry strategy honours it.
 *   3. The observers.  One bulk GET per chunk of 100 agents, chunks in
 *      turn, evenly spaced with jitter over the run minus the back-offs, so
 *      that the observer requests fill the --requests budget exactly.  A
 *      change is seen by the first poll of its chunk whose server instant
 *      (send + latency / 2) is at or after it, and recorded as the tracker
 *      does: bracket [send of the previous poll, receive of that poll],
 *      several changes between two polls folded into one (hidden bumps).
 *   4. Rows.  requests.csv in receive order (seq is taken when the
 *      response is recorded, as in history.c), observations.csv in the
 *      order of the request that saw them, operations.csv in the order the
 *      operations ended, truth.csv in time order.
 *
 * The observation count is made exact the way a quiet part of the world
 * would make it: the structured world above is sized (from the averages)
 * for about 96% of --observations, and the off-queue agents' presence
 * flips (Available <-> Away/Busy/Meeting, which touch nothing else) make
 * up the rest, each placed between two polls of its chunk so it is seen
 * exactly once.
 *
 * Invariants the loader and the diagnosis rely on: per agent, versions
 * start at 1 and every version observation old -> new continues the
 * previous one; every successful write's version (sent + 1) is shown by an
 * observation whose bracket ends after the write was sent; operation ids,
 * read versions, final versions and last write times match the request
 * rows; seq is unique and increasing down the file, and so is each
 * correlation id unique.  Same arguments, same bytes.
 *
 * Every string field written here is generated here and holds no comma,
 * quote or line break, so the rows need no quoting; rows are formatted by
 * hand into a 1 MiB buffer, because ten million rows through printf would
 * take minutes.  Files are written as "<name>.tmp" and renamed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/clock.h"
#include "base/fs.h"
#include "base/jread.h"
#include "base/json.h"
#include "base/log.h"
#include "base/rng.h"
#include "base/units.h"
#include "base/xalloc.h"
#include "harness/history.h"
#include "harness/replay.h"
#include "harness/scenario.h"
#include "sim/log.h"

/* ---- Defaults and the model's constants ------------------------------ */

#define DEF_REQUESTS INT64_C(10000000)
#define DEF_OBSERVATIONS INT64_C(1000000)
#define DEF_AGENTS INT64_C(2000)
#define DEF_SEED UINT64_C(1)
#define DEF_DURATION (3 * 3600 * NS_PER_S)
#define DEF_START "2026-11-24T09:00:00Z"

#define SEED_MAX (UINT64_C(1) << 53) /* a JSON number holds it exactly */
#define REQUESTS_MAX INT64_C(2000000000)

#define CHUNK_AGENTS 100 /* the bulk GET's limit */
#define OBSERVE_THREADS_MAX 64
#define OBSERVE_INTERVAL_MIN_NS (10 * NS_PER_MS) /* scenario.c */

#define ON_QUEUE_SHARE 0.9
#define BREAK_EVERY_NS (45 * 60 * NS_PER_S)
#define BREAK_LEN_NS (10 * 60 * NS_PER_S)
#define FOLLOW_LO_NS (10 * NS_PER_MS) /* routing follows presence */
#define FOLLOW_HI_NS (250 * NS_PER_MS)
#define NR_P 0.02
#define NR_NS (10 * NS_PER_S)
#define RE_P 0.7
#define RE_LAG_LO_NS (50 * NS_PER_MS)
#define RE_LAG_HI_NS (400 * NS_PER_MS)
/* Shares of --observations: admin bumps, and everything but the filler. */
#define ADMIN_SHARE 0.02
#define STRUCT_SHARE 0.96
/* Successful operations per planned one, for sizing only. */
#define OWN_OK_EST 0.93

#define ROUNDS 5
#define WORKERS 8
#define PACE_MAX_NS (10 * NS_PER_MS)
#define P429_REPLAY 0.0015
#define REQUESTS_PER_OBS429 INT64_C(100000)

/* Client-side gaps: after a slot, between exchanges, before recording. */
#define ITEM_GAP_NS (45 * NS_PER_US)
#define STEP_GAP_NS (40 * NS_PER_US)
#define END_GAP_NS (20 * NS_PER_US)
#define OVERHEAD_MAX_NS (300 * NS_PER_US)
#define END_MARGIN_NS NS_PER_S
#define MONO_BASE_NS INT64_C(4000000000000)

#define RNG_WORLD UINT64_C(1000000)
#define RNG_FILLER UINT64_C(3000000)
#define RNG_REPLAY 1
#define RNG_OBS429 2
#define RNG_IDS 3
#define RNG_MISC 4

#define NONE SIZE_MAX

/* ---- Value tables ------------------------------------------------------ */

enum prop { PROP_VERSION, PROP_PRESENCE, PROP_ROUTING, PROP_DEPT, PROP_TITLE };
static const char *const prop_names[] = {
    "version", "presence", "routing_status", "user.department", "user.title"};

enum presence {
    PR_AVAILABLE,
    PR_AWAY,
    PR_BUSY,
    PR_MEETING,
    PR_ON_QUEUE,
    PR_BREAK
};
static const char *const presence_names[] = {"Available", "Away",     "Busy",
                                             "Meeting",   "On Queue", "Break"};

enum routing { RS_OFF_QUEUE, RS_IDLE, RS_INTERACTING, RS_NOT_RESPONDING };
static const char *const routing_names[] = {"OFF_QUEUE", "IDLE", "INTERACTING",
                                            "NOT_RESPONDING"};

static const char *const titles[] = {"Agent", "Senior Agent", "Team Lead",
                                     "Specialist"};
#define N_TITLES 4

enum cause { CAUSE_WORLD, CAUSE_ROUTING_ENGINE, CAUSE_ADMIN, CAUSE_CLIENT };
static const char *const cause_names[] = {"world", "routing-engine", "admin",
                                          "client:racetrace-sim-client"};

enum role { ROLE_AUTH, ROLE_AGENTS, ROLE_OBSERVE, ROLE_REPLAY };
static const char *const role_names[] = {"auth", "agents", "observe", "replay"};

enum ep { EP_TOKEN, EP_LIST, EP_BULK, EP_USER_GET, EP_USER_PATCH };
static const char *const ep_methods[] = {"POST", "GET", "GET", "GET", "PATCH"};
static const char *const ep_routes[] = {
    "/oauth/token", "/api/v2/users", "/api/v2/users?id={ids}",
    "/api/v2/users/{id}", "/api/v2/users/{id}"};

enum strat { ST_BULK_STALE, ST_RMW, ST_RETRY, ST_COUNT };
static const char *const strat_names[] = {"bulk-stale", "read-modify-write",
                                          "retry"};

enum outcome { OUT_NONE, OUT_OK, OUT_CONFLICT, OUT_GAVE_UP };
static const char *const outcome_names[] = {"", "ok", "conflict", "gave_up"};

/* ---- Model records ----------------------------------------------------- */

/* A presence or routing change (world). */
struct sev {
    int64_t t;
    uint8_t prop, val;
};

/* A foreign version bump; @title is the admin's new title. */
struct fev {
    int64_t t;
    uint8_t cause, title;
};

/* A successful write of ours, at its server instant. */
struct own {
    int64_t t;
    uint32_t agent;
    uint32_t req;
    uint8_t dept_new;
};

/* A request that is not one of the evenly spaced observer polls. */
struct req {
    int64_t intended, send, recv;
    int64_t op_id, version_sent;
    int32_t agent, thread;
    int16_t status, retry_after_s, agents_in_request;
    uint8_t role, ep;
};

/* An observer 429, planned: about when, which chunk, how long. */
struct o429 {
    int64_t at, len;
    size_t chunk;
};

/* A global back-off: nobody sends in [a, b). */
struct pause {
    int64_t a, b;
    int64_t alpha; /* a in active time (pauses cut out) */
    int64_t cum;   /* length of this pause and all before it */
};

struct obs {
    int64_t key; /* poll index while rendering, seq when writing */
    int64_t start, end, server;
    int64_t old, new;
    uint32_t agent;
    uint8_t prop;
};

struct truth {
    int64_t t;
    int64_t old, new;
    uint64_t corr; /* request index (client), else random bits */
    uint32_t agent;
    uint32_t ord; /* generation order, for a stable sort */
    uint8_t prop, cause;
};

#define READS_MAX 24

enum op_state { OP_READ, OP_WRITE };

struct op {
    int64_t id;
    int round;
    enum strat strat;
    uint32_t agent;
    int64_t read_version, base_version, final_version;
    int64_t versions[READS_MAX];
    int n_versions;
    int attempts, requests, read_requests, write_base_requests;
    enum outcome outcome;
    int want_dept, wrote;
    int64_t start, first_read, last_write, end;
    int last_status;
    size_t last_req;
    /* Engine state. */
    enum op_state state;
    int tries, backoff_k;
    int64_t backoff_prev, intended;
};

struct gen {
    /* Arguments. */
    const char *out_dir;
    int64_t n_requests, n_obs_target, duration, start, end;
    uint64_t seed;
    size_t n_agents, n_chunks;
    int obs_threads;

    /* The model's parameters (what the scenario in run.json says). */
    int64_t mean_idle, mean_handle, admin_every, away_every;
    int64_t rlat_lo, rlat_hi, wlat_lo, wlat_hi; /* reads, writes */
    int64_t plat_lo, plat_hi;                   /* observer polls */
    int64_t at, every, pace;
    int rounds, workers;
    int64_t round_lo[ROUNDS], round_hi[ROUNDS]; /* as played */
    struct scn_retry retry;
    int64_t rate_per_min;
    size_t n_obs429;

    /* Agents. */
    char (*ids)[40];
    uint8_t *off_queue;
    size_t n_off;
    uint8_t *dept;  /* current department (0 plain, 1 toggled) */
    uint8_t *title; /* initial title */
    char *dept_values[2];

    /* World, per agent [off[a], off[a + 1]). */
    struct sev *sev;
    size_t n_sev, cap_sev, *sev_off;
    struct fev *fev;
    size_t n_fev, cap_fev, *fev_off;

    /* Replay. */
    struct req *reqs;
    size_t n_reqs, cap_reqs;
    struct op *ops;
    size_t n_ops;
    struct own *own;
    size_t n_own, cap_own, *own_count, *own_off;
    struct pause *pauses;
    size_t n_pauses, cap_pauses;
    struct o429 *o429;

    /* Polls. */
    int64_t poll_start, poll_end, active;
    uint64_t n_polls;
    int64_t q, r; /* active = q * n_polls + r */
    int64_t jit_max, ovh_max;
    uint64_t poll_key;

    /* Observations and truth. */
    struct obs *obs;
    size_t n_obs, cap_obs;
    struct truth *truth;
    size_t n_truth, cap_truth;
    size_t n_filler;

    /* Sequence numbers, known after requests.csv. */
    uint32_t *poll_seq;
    int64_t *req_seq;
    char corr_prefix[32];

    /* Counts for run.json and the summary. */
    uint64_t by_status[600];
    uint64_t ops_by_outcome[4];
    uint64_t samples, version_changes, hidden, presence_changes,
        routing_changes;
};

/* ---- Small helpers ----------------------------------------------------- */

/* splitmix64's finalizer: the observers' per-poll draws are a pure
 * function of (seed, poll index), so a poll can be recomputed anywhere
 * instead of stored (ten million of them). */
static uint64_t mix64(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static int64_t round_to(int64_t v, int64_t unit)
{
    return v < unit ? unit : v - v % unit;
}

static int64_t range_draw(struct rng *r, int64_t lo, int64_t hi)
{
    return hi > lo ? rng_range(r, lo, hi) : lo;
}

static int64_t exp_ns(struct rng *r, int64_t mean_ns)
{
    return (int64_t)rng_exp(r, (double)mean_ns);
}

#define GROW(arr, n, cap)                                                      \
    do {                                                                       \
        if ((n) == (cap)) {                                                    \
            (cap) = (cap) ? 2 * (cap) : 1024;                                  \
            (arr) = xreallocarray((arr), (cap), sizeof(*(arr)));               \
        }                                                                      \
    } while (0)

static const char hexdig[] = "0123456789abcdef";

static void hex_fill(char *p, uint64_t v, int digits)
{
    for (int i = digits - 1; i >= 0; i--) {
        p[i] = hexdig[v & 15];
        v >>= 4;
    }
}

/* A version-4 UUID string (36 characters and a NUL) from 128 bits. */
static void uuid_format(char *out, uint64_t hi, uint64_t lo)
{
    hex_fill(out, hi >> 32, 8);
    out[8] = '-';
    hex_fill(out + 9, (hi >> 16) & 0xffff, 4);
    out[13] = '-';
    out[14] = '4';
    hex_fill(out + 15, hi & 0xfff, 3);
    out[18] = '-';
    hex_fill(out + 19, 0x8000 | ((lo >> 48) & 0x3fff), 4);
    out[23] = '-';
    hex_fill(out + 24, lo & UINT64_C(0xffffffffffff), 12);
    out[36] = '\0';
}

/* ---- Output files ------------------------------------------------------ */

#define OUT_BUF ((size_t)1 << 20)
#define OUT_ROW_MAX ((size_t)4096) /* every row here is far shorter */
#define ISO_CACHE 8

struct out {
    int fd;
    char path[4096], tmp[4200];
    char *buf;
    size_t len;
    enum rt_err err;
    int64_t iso_sec[ISO_CACHE];
    char iso[ISO_CACHE][20];
};

static void out_flush(struct out *o)
{
    size_t done = 0;

    while (!o->err && done < o->len) {
        ssize_t n = write(o->fd, o->buf + done, o->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            o->err = rt_fail(RT_EIO, "cannot write '%s': %s", o->tmp,
                             strerror(errno));
        else
            done += (size_t)n;
    }
    o->len = 0;
}

/* Make room for one row. */
static char *out_row(struct out *o)
{
    if (o->len + OUT_ROW_MAX > OUT_BUF)
        out_flush(o);
    return o->buf + o->len;
}

static enum rt_err out_open(struct out *o, const char *dir, const char *name,
                            const char *const *cols, size_t ncols)
{
    memset(o, 0, sizeof(*o));
    o->fd = -1;
    if ((size_t)snprintf(o->path, sizeof(o->path), "%s/%s", dir, name) >=
        sizeof(o->path))
        return rt_fail(RT_EINVAL, "directory path too long: '%s'", dir);
    snprintf(o->tmp, sizeof(o->tmp), "%s.tmp", o->path);
    o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o->fd < 0)
        return rt_fail(RT_EIO, "cannot create '%s': %s", o->tmp,
                       strerror(errno));
    o->buf = xmalloc(OUT_BUF);
    for (size_t i = 0; i < ISO_CACHE; i++)
        o->iso_sec[i] = -1;
    for (size_t i = 0; i < ncols; i++) {
        size_t n = strlen(cols[i]);
        if (i)
            o->buf[o->len++] = ',';
        memcpy(o->buf + o->len, cols[i], n);
        o->len += n;
    }
    o->buf[o->len++] = '\n';
    return RT_OK;
}

/* Flush, close and rename into place; on any failure remove the
 * temporary file.  Returns the first error. */
static enum rt_err out_close(struct out *o)
{
    if (o->fd >= 0) {
        out_flush(o);
        if (close(o->fd) && !o->err)
            o->err = rt_fail(RT_EIO, "cannot close '%s': %s", o->tmp,
                             strerror(errno));
        o->fd = -1;
        if (!o->err && rename(o->tmp, o->path))
            o->err = rt_fail(RT_EIO, "cannot rename '%s' to '%s': %s", o->tmp,
                             o->path, strerror(errno));
        if (o->err)
            unlink(o->tmp);
    }
    free(o->buf);
    o->buf = NULL;
    return o->err;
}

static char *put_str(char *p, const char *s)
{
    size_t n = strlen(s);

    memcpy(p, s, n);
    return p + n;
}

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_i64(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        return put_u64(p, 0 - (uint64_t)v);
    }
    return put_u64(p, (uint64_t)v);
}

/* As history.c's optional numbers: negative prints as empty. */
static char *put_opt(char *p, int64_t v)
{
    return v < 0 ? p : put_u64(p, (uint64_t)v);
}

/* ISO-8601 UTC with milliseconds, as csv_row_time(); 0 prints as empty.
 * The "YYYY-MM-DDThh:mm:ss" part comes from iso8601_format_ms() once per
 * second seen (a small cache), the milliseconds are appended here. */
static char *put_time(struct out *o, char *p, int64_t wall_ns)
{
    int64_t sec, ms;
    size_t slot;

    if (wall_ns <= 0)
        return p;
    sec = wall_ns / NS_PER_S;
    ms = wall_ns % NS_PER_S / NS_PER_MS;
    slot = (size_t)sec % ISO_CACHE;
    if (o->iso_sec[slot] != sec) {
        char full[ISO8601_LEN];
        iso8601_format_ms(sec * NS_PER_S, full, sizeof(full));
        memcpy(o->iso[slot], full, 19);
        o->iso_sec[slot] = sec;
    }
    memcpy(p, o->iso[slot], 19);
    p += 19;
    *p++ = '.';
    *p++ = (char)('0' + ms / 100);
    *p++ = (char)('0' + ms / 10 % 10);
    *p++ = (char)('0' + ms % 10);
    *p++ = 'Z';
    return p;
}

static void out_end_row(struct out *o, char *p)
{
    *p++ = '\n';
    o->len = (size_t)(p - o->buf);
}

/* ---- Pauses and the observers' clock ----------------------------------- */

/* Index of the last pause starting at or before @t, NONE when none. */
static size_t pause_at(const struct gen *g, int64_t t)
{
    size_t lo = 0, hi = g->n_pauses;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->pauses[mid].a <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : NONE;
}

/* The first instant at or after @t that is in no pause. */
static int64_t defer(const struct gen *g, int64_t t)
{
    size_t k = pause_at(g, t);

    return k != NONE && t < g->pauses[k].b ? g->pauses[k].b : t;
}

/* Add the back-off [a, b), merged with any pause it touches. */
static void pause_add(struct gen *g, int64_t a, int64_t b)
{
    size_t i, w = 0;

    GROW(g->pauses, g->n_pauses, g->cap_pauses);
    i = g->n_pauses++;
    while (i > 0 && g->pauses[i - 1].a > a) {
        g->pauses[i] = g->pauses[i - 1];
        i--;
    }
    g->pauses[i].a = a;
    g->pauses[i].b = b;
    for (i = 0; i < g->n_pauses; i++) {
        if (w > 0 && g->pauses[i].a <= g->pauses[w - 1].b) {
            if (g->pauses[i].b > g->pauses[w - 1].b)
                g->pauses[w - 1].b = g->pauses[i].b;
            continue;
        }
        g->pauses[w++] = g->pauses[i];
    }
    g->n_pauses = w;
}

/*
 * Active time is the observers' time line with the pauses cut out: the
 * polls are spread evenly over it, so none falls in a back-off and the
 * --requests budget is met exactly.
 */
static int64_t wall_of_active(const struct gen *g, int64_t tau)
{
    size_t lo = 0, hi = g->n_pauses;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->pauses[mid].alpha <= tau)
            lo = mid + 1;
        else
            hi = mid;
    }
    return g->poll_start + tau + (lo ? g->pauses[lo - 1].cum : 0);
}

static int64_t active_of_wall(const struct gen *g, int64_t t)
{
    size_t k = pause_at(g, t);

    if (k == NONE)
        return t - g->poll_start;
    if (t < g->pauses[k].b)
        return g->pauses[k].alpha;
    return t - g->poll_start - g->pauses[k].cum;
}

/*
 * Poll @i: planned at base + jitter (jitter < q/4), sent after a client
 * overhead (< q/4), so sends are strictly increasing in i; latency in the
 * observers' range.  Chunk i % n_chunks.
 */
static void poll_times(const struct gen *g, uint64_t i, int64_t *intended,
                       int64_t *send, int64_t *recv)
{
    uint64_t h = mix64(g->poll_key ^ (i * UINT64_C(0xd6e8feb86659fd93)));
    uint64_t h2 = mix64(h);
    int64_t base =
        (int64_t)i * g->q + (int64_t)(i * (uint64_t)g->r / g->n_polls);
    int64_t jit = (int64_t)((h & 0xffffffff) % (uint64_t)g->jit_max);
    int64_t ovh = (int64_t)((h >> 32) % (uint64_t)g->ovh_max);
    int64_t lat =
        g->plat_lo + (int64_t)(h2 % (uint64_t)(g->plat_hi - g->plat_lo + 1));

    *intended = wall_of_active(g, base + jit);
    *send = wall_of_active(g, base + jit + ovh);
    *recv = *send + lat;
}

static uint64_t chunk_polls(const struct gen *g, size_t c)
{
    return g->n_polls > c ? (g->n_polls - 1 - c) / g->n_chunks + 1 : 0;
}

static size_t chunk_size(const struct gen *g, size_t c)
{
    size_t lo = c * CHUNK_AGENTS;

    return g->n_agents - lo < CHUNK_AGENTS ? g->n_agents - lo : CHUNK_AGENTS;
}

/* The server instant of a poll: when it reads the state. */
static int64_t poll_reads_at(const struct gen *g, uint64_t i)
{
    int64_t in, s, r;

    poll_times(g, i, &in, &s, &r);
    return s + (r - s) / 2;
}

/*
 * The index k (within chunk @c) of the first poll that sees a change at
 * @t, -1 when no poll does.  Starts from an index whose send is before
 * t - plat_hi (so whose server instant is before t) and walks forward:
 * a couple of steps.
 */
static int64_t first_seeing(const struct gen *g, size_t c, int64_t t)
{
    int64_t tau = active_of_wall(g, t - g->plat_hi - 1);
    double est = (double)tau * (double)g->n_polls / (double)g->active - 2.0;
    uint64_t k = 0, nk = chunk_polls(g, c);

    if (est > (double)c)
        k = (uint64_t)((est - (double)c) / (double)g->n_chunks);
    for (; k < nk; k++)
        if (poll_reads_at(g, k * g->n_chunks + c) >= t)
            return (int64_t)k;
    return -1;
}

/* ---- Planning ---------------------------------------------------------- */

static int plan(struct gen *g)
{
    int64_t window = g->duration - END_MARGIN_NS - 100 * NS_PER_MS;
    int64_t items, ops_est, reqs_est, polls_est, pause_est, q_est;
    double spacing, n_on, rand_total, rest, cycles, cycle, breaks;
    double lam, mu, on_share;
    char a[32], b[32];

    g->n_chunks = (g->n_agents + CHUNK_AGENTS - 1) / CHUNK_AGENTS;
    g->obs_threads = g->n_chunks < OBSERVE_THREADS_MAX ? (int)g->n_chunks
                                                       : OBSERVE_THREADS_MAX;
    g->end = g->start + g->duration;

    /* Replay: ROUNDS rounds, the first after 5% of the run, 18% apart, so
     * the last ends well before the run does. */
    g->rounds = ROUNDS;
    g->workers = WORKERS;
    g->at = round_to(g->duration / 20, NS_PER_MS);
    g->every = round_to(g->duration * 18 / 100, NS_PER_MS);
    items = 4 * (int64_t)g->n_agents; /* bulk-stale twice, rmw, retry */
    g->pace = g->every * 2 / 5 / items;
    if (g->pace > PACE_MAX_NS)
        g->pace = PACE_MAX_NS;
    g->pace = round_to(g->pace, NS_PER_US);
    g->retry.max_attempts = 5;
    g->retry.backoff = SCN_BACKOFF_EXPONENTIAL;
    g->retry.jitter = SCN_JITTER_FULL;
    g->retry.base_ns = 100 * NS_PER_MS;
    g->retry.cap_ns = 2 * NS_PER_S;
    g->retry.give_up_retry_after_ns = 180 * NS_PER_S;

    /* Requests: what the polls get is known only after the replay; the
     * estimate here only picks latencies that fit the poll spacing. */
    g->n_obs429 = (size_t)(g->n_requests / REQUESTS_PER_OBS429);
    if (g->n_obs429 < 1)
        g->n_obs429 = 1;
    if (g->n_obs429 > 1000)
        g->n_obs429 = 1000;
    ops_est = (int64_t)g->rounds * ST_COUNT * (int64_t)g->n_agents;
    reqs_est = ops_est * 21 / 10;
    polls_est = g->n_requests - 1 - (int64_t)g->n_chunks -
                (int64_t)g->n_obs429 - reqs_est;
    if (polls_est < 3 * (int64_t)g->n_chunks) {
        log_error("--requests %lld is too few: the replay of %zu agents "
                  "needs about %lld, and every chunk of 100 agents at least "
                  "3 polls",
                  (long long)g->n_requests, g->n_agents, (long long)reqs_est);
        return -1;
    }
    pause_est = (int64_t)g->n_obs429 * 3 * NS_PER_S / 2 +
                (int64_t)((double)reqs_est * P429_REPLAY * 1.5e9);
    q_est = (window - pause_est) / polls_est;
    spacing = ((double)g->n_chunks - 0.5) * (double)q_est;
    g->rlat_hi = (int64_t)fmin(60e6, 0.72 * spacing);
    g->rlat_lo = (int64_t)fmin(20e6, 0.3 * spacing);
    g->rlat_hi = round_to(g->rlat_hi, NS_PER_US);
    g->rlat_lo = round_to(g->rlat_lo, NS_PER_US);
    /* The scenario's floor on the observers' interval (one chunk's polls
     * apart); back-offs shrink it a little, hence the margin. */
    if ((double)g->n_chunks * (double)q_est < 1.05 * OBSERVE_INTERVAL_MIN_NS) {
        log_error("%lld requests in %s are too many for %zu agents: each "
                  "chunk of 100 would be polled every %.1f ms, and observers "
                  "poll at most every 10 ms; give a longer --duration or "
                  "more --agents",
                  (long long)g->n_requests,
                  units_format_duration(g->duration, a, sizeof(a)), g->n_agents,
                  (double)g->n_chunks * (double)q_est / 1e6);
        return -1;
    }
    g->wlat_lo =
        3 * g->rlat_lo < 60 * NS_PER_MS ? 3 * g->rlat_lo : 60 * NS_PER_MS;
    g->wlat_hi =
        3 * g->rlat_hi < 180 * NS_PER_MS ? 3 * g->rlat_hi : 180 * NS_PER_MS;
    /* A rate limit comfortably above the run's rate: the 429s here stand
     * for the other limits a real org has (per user, per endpoint). */
    g->rate_per_min = (int64_t)ceil(1.5 * (double)g->n_requests /
                                    ((double)g->duration / 60e9) / 1000.0) *
                      1000;
    if (g->rate_per_min < 300)
        g->rate_per_min = 300;

    /* The world, sized for STRUCT_SHARE of the observations (file
     * comment).  Off-queue agents spread evenly over the ids. */
    g->n_off = g->n_agents >= 2
                   ? (size_t)llround((1 - ON_QUEUE_SHARE) * (double)g->n_agents)
                   : 0;
    if (g->n_agents >= 2 && g->n_off == 0)
        g->n_off = 1;
    n_on = (double)(g->n_agents - g->n_off);
    rand_total = ADMIN_SHARE * (double)g->n_obs_target;
    if (rand_total < 1)
        rand_total = 1;
    /* On Queue <-> Break is an alternating exponential process that
     * starts On Queue: the expected share of [0, window] On Queue is
     * mu/(l+mu) + l/(l+mu)^2 (1 - e^-(l+mu)window)/window, and breaks
     * start at rate l while On Queue, four observations each. */
    lam = 1.0 / (double)BREAK_EVERY_NS;
    mu = 1.0 / (double)BREAK_LEN_NS;
    on_share = mu / (lam + mu) + lam / ((lam + mu) * (lam + mu)) *
                                     (1 - exp(-(lam + mu) * (double)window)) /
                                     (double)window;
    breaks = lam * on_share * (double)window;
    rest = STRUCT_SHARE * (double)g->n_obs_target -
           OWN_OK_EST * (double)ops_est - rand_total - n_on * breaks * 4;
    cycles = n_on > 0 ? rest / (n_on * (2 + RE_P * (1 - NR_P))) : 0;
    if (cycles < 1)
        cycles = 1;
    /* A cycle: 1 ms + idle, then NOT_RESPONDING (NR_NS) or 1 ms + handle;
     * idle a quarter of it. */
    cycle = (double)window * on_share / cycles;
    g->mean_idle = round_to((int64_t)(cycle / 4), NS_PER_MS);
    g->mean_handle = round_to(
        (int64_t)((cycle - (double)g->mean_idle - NR_P * (double)NR_NS - 2e6) /
                  (1 - NR_P)),
        NS_PER_MS);
    g->admin_every =
        round_to((int64_t)((double)window / rand_total), NS_PER_US);
    /* Until the filler is known: its expected size. */
    g->away_every =
        g->n_off
            ? round_to(
                  (int64_t)((double)window * (double)g->n_off /
                            ((1 - STRUCT_SHARE) * (double)g->n_obs_target + 1)),
                  NS_PER_MS)
            : 0;
    log_info("gen_history: %zu agents (%zu off queue) in %zu chunks; "
             "mean idle %s, mean handle %s; replay %d rounds of %d "
             "operations",
             g->n_agents, g->n_off, g->n_chunks,
             units_format_duration(g->mean_idle, a, sizeof(a)),
             units_format_duration(g->mean_handle, b, sizeof(b)), g->rounds,
             (int)(ST_COUNT * g->n_agents));
    return 0;
}

/* ---- The scenario (run.json) ------------------------------------------- */

static void add_duration(cJSON *o, const char *key, int64_t ns)
{
    char s[32];

    cJSON_AddStringToObject(o, key, units_format_duration(ns, s, sizeof(s)));
}

static void add_range(cJSON *o, const char *key, int64_t lo, int64_t hi)
{
    char a[32], b[32], s[72];

    snprintf(s, sizeof(s), "%s..%s", units_format_duration(lo, a, sizeof(a)),
             units_format_duration(hi, b, sizeof(b)));
    cJSON_AddStringToObject(o, key, s);
}

/* The scenario this run plays, as a scenario file would give it. */
static cJSON *scenario_doc(const struct gen *g)
{
    cJSON *root = cJSON_CreateObject(), *w, *m, *arr, *act, *r;

    cJSON_AddStringToObject(root, "name", "bench-synthetic");
    cJSON_AddNumberToObject(root, "seed", (double)g->seed); /* <= 2^53 */
    add_duration(root, "duration", g->duration);
    cJSON_AddStringToObject(root, "target", "sim");
    m = cJSON_AddObjectToObject(root, "agents");
    cJSON_AddNumberToObject(m, "count", (double)g->n_agents);

    w = cJSON_AddObjectToObject(root, "world");
    m = cJSON_AddObjectToObject(w, "presence");
    cJSON_AddBoolToObject(m, "enabled", 1);
    cJSON_AddNumberToObject(m, "on_queue_share",
                            g->n_agents ? (double)(g->n_agents - g->n_off) /
                                              (double)g->n_agents
                                        : 1.0);
    add_duration(m, "mean_idle", g->mean_idle);
    add_duration(m, "mean_handle", g->mean_handle);
    add_duration(m, "break_every", BREAK_EVERY_NS);
    add_duration(m, "break_length", BREAK_LEN_NS);
    cJSON_AddNumberToObject(m, "not_responding", NR_P);
    add_duration(m, "not_responding_for", NR_NS);
    add_duration(m, "away_every", g->away_every);
    arr = cJSON_AddArrayToObject(w, "actors");
    act = cJSON_CreateObject();
    cJSON_AddStringToObject(act, "kind", "routing-engine");
    m = cJSON_AddArrayToObject(act, "on");
    cJSON_AddItemToArray(m, cJSON_CreateString("routing:INTERACTING"));
    cJSON_AddNumberToObject(act, "p", RE_P);
    add_range(act, "lag", RE_LAG_LO_NS, RE_LAG_HI_NS);
    cJSON_AddItemToArray(arr, act);
    act = cJSON_CreateObject();
    cJSON_AddStringToObject(act, "kind", "admin");
    add_duration(act, "every", g->admin_every);
    cJSON_AddItemToArray(arr, act);
    m = cJSON_AddObjectToObject(w, "rate_limit");
    cJSON_AddNumberToObject(m, "per_minute", (double)g->rate_per_min);
    m = cJSON_AddObjectToObject(w, "latency");
    add_range(m, "read", g->rlat_lo, g->rlat_hi);
    add_range(m, "write", g->wlat_lo, g->wlat_hi);
    m = cJSON_AddObjectToObject(w, "faults");
    cJSON_AddNumberToObject(m, "http_5xx", 0);
    cJSON_AddNumberToObject(m, "drop", 0);
    cJSON_AddNumberToObject(m, "lost_response", 0);
    cJSON_AddStringToObject(w, "read_lag", "0");
    cJSON_AddNumberToObject(w, "queues", 4);
    cJSON_AddNumberToObject(w, "skills", 8);
    cJSON_AddStringToObject(w, "token_lifetime", "86399s");

    m = cJSON_AddObjectToObject(root, "observe");
    r = cJSON_AddObjectToObject(m, "versions");
    cJSON_AddStringToObject(r, "mode", "bulk");
    add_duration(r, "interval",
                 g->q ? round_to((int64_t)g->n_chunks * g->q, NS_PER_US)
                      : NS_PER_S);
    cJSON_AddNumberToObject(r, "jitter", 0.01);
    cJSON_AddNumberToObject(r, "threads", g->obs_threads);
    r = cJSON_AddObjectToObject(m, "presence");
    cJSON_AddStringToObject(r, "via", "poll");

    m = cJSON_AddObjectToObject(root, "replay");
    add_duration(m, "at", g->at);
    cJSON_AddStringToObject(m, "operation", "user-patch");
    arr = cJSON_AddArrayToObject(m, "strategies");
    for (int s = 0; s < ST_COUNT; s++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(strat_names[s]));
    r = cJSON_AddObjectToObject(m, "retry");
    cJSON_AddNumberToObject(r, "max_attempts", g->retry.max_attempts);
    cJSON_AddStringToObject(r, "backoff", "exponential");
    add_duration(r, "base", g->retry.base_ns);
    add_duration(r, "cap", g->retry.cap_ns);
    cJSON_AddStringToObject(r, "jitter", "full");
    add_duration(r, "give_up_after", g->retry.give_up_retry_after_ns);
    cJSON_AddNumberToObject(m, "workers", g->workers);
    add_duration(m, "pace", g->pace);
    r = cJSON_AddObjectToObject(m, "repeat");
    add_duration(r, "every", g->every);
    cJSON_AddNumberToObject(r, "times", g->rounds);
    cJSON_AddObjectToObject(root, "thresholds");
    m = cJSON_AddObjectToObject(root, "report");
    cJSON_AddStringToObject(m, "window", "2s");
    return root;
}

/* The scenario resolved by harness/scenario.c (what run.json records), or
 * NULL (logged) when it does not validate. */
static cJSON *scenario_resolved(const struct gen *g)
{
    struct scenario scn;
    struct jread jr;
    cJSON *doc = scenario_doc(g), *out = NULL;

    scenario_defaults(&scn);
    jread_init(&jr, "gen_history scenario");
    if (scenario_from_json(&scn, &jr, doc)) {
        log_error("the generated scenario does not validate: %s", jr.error);
    } else {
        out = scenario_resolved_json(&scn);
        scenario_release(&scn);
    }
    cJSON_Delete(doc);
    return out;
}

/* ---- Agents and the world --------------------------------------------- */

static void make_agents(struct gen *g)
{
    struct rng r;

    rng_seed(&r, g->seed, RNG_IDS);
    g->ids = xcalloc(g->n_agents, sizeof(*g->ids));
    g->off_queue = xcalloc(g->n_agents, 1);
    g->dept = xcalloc(g->n_agents, 1);
    g->title = xcalloc(g->n_agents, 1);
    for (size_t a = 0; a < g->n_agents; a++) {
        uint64_t hi = rng_u64(&r), lo = rng_u64(&r);
        uuid_format(g->ids[a], hi, lo);
        g->title[a] = (uint8_t)rng_below(&r, N_TITLES);
        /* n_off of them, spread evenly over the list. */
        g->off_queue[a] =
            (a + 1) * g->n_off / g->n_agents != a * g->n_off / g->n_agents;
    }
    g->dept_values[0] = xstrdup("Contact Center");
    g->dept_values[1] = replay_toggle_department(g->dept_values[0]);
}

static void sev_add(struct gen *g, int64_t t, enum prop p, int val)
{
    if (t >= g->end)
        return;
    GROW(g->sev, g->n_sev, g->cap_sev);
    g->sev[g->n_sev].t = t;
    g->sev[g->n_sev].prop = (uint8_t)p;
    g->sev[g->n_sev].val = (uint8_t)val;
    g->n_sev++;
}

static void fev_add(struct gen *g, int64_t t, enum cause c, int title)
{
    if (t >= g->end)
        return;
    GROW(g->fev, g->n_fev, g->cap_fev);
    g->fev[g->n_fev].t = t;
    g->fev[g->n_fev].cause = (uint8_t)c;
    g->fev[g->n_fev].title = (uint8_t)title;
    g->n_fev++;
}

static int sev_cmp(const void *x, const void *y)
{
    const struct sev *a = x, *b = y;

    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    /* Equal times keep presence before routing (routing follows). */
    return (int)a->prop - (int)b->prop;
}

static int fev_cmp(const void *x, const void *y)
{
    const struct fev *a = x, *b = y;

    return a->t < b->t ? -1 : a->t > b->t;
}

/* One agent's own process and the actors' bumps on it (file comment). */
static void world_agent(struct gen *g, size_t a)
{
    struct rng r;
    int64_t t = g->start, due, admin_mean;
    int title = g->title[a];

    rng_seed(&r, g->seed, RNG_WORLD + a);
    if (!g->off_queue[a]) {
        due = t + exp_ns(&r, BREAK_EVERY_NS);
        while (t < g->end) {
            if (t >= due) {
                /* The break falls due while busy and is taken when next
                 * IDLE; it lasts at least as long as routing takes to
                 * follow, so the routing changes keep their order. */
                int64_t back = t + FOLLOW_HI_NS + exp_ns(&r, BREAK_LEN_NS);
                sev_add(g, t, PROP_PRESENCE, PR_BREAK);
                sev_add(g, t + range_draw(&r, FOLLOW_LO_NS, FOLLOW_HI_NS),
                        PROP_ROUTING, RS_OFF_QUEUE);
                sev_add(g, back, PROP_PRESENCE, PR_ON_QUEUE);
                t = back + range_draw(&r, FOLLOW_LO_NS, FOLLOW_HI_NS);
                sev_add(g, t, PROP_ROUTING, RS_IDLE);
                due = t + exp_ns(&r, BREAK_EVERY_NS);
                continue;
            }
            t += NS_PER_MS + exp_ns(&r, g->mean_idle);
            if (t >= g->end)
                break;
            if (rng_chance(&r, NR_P)) {
                sev_add(g, t, PROP_ROUTING, RS_NOT_RESPONDING);
                t += NR_NS;
            } else {
                sev_add(g, t, PROP_ROUTING, RS_INTERACTING);
                if (rng_chance(&r, RE_P))
                    fev_add(g, t + range_draw(&r, RE_LAG_LO_NS, RE_LAG_HI_NS),
                            CAUSE_ROUTING_ENGINE, 0);
                t += NS_PER_MS + exp_ns(&r, g->mean_handle);
            }
            sev_add(g, t, PROP_ROUTING, RS_IDLE);
        }
    }
    /* The admin picks a random agent every admin_every: per agent, a
     * Poisson process A times slower. */
    admin_mean = g->admin_every * (int64_t)g->n_agents;
    for (t = g->start + exp_ns(&r, admin_mean); t < g->end;
         t += 1 + exp_ns(&r, admin_mean)) {
        int next = (title + 1 + (int)rng_below(&r, N_TITLES - 1)) % N_TITLES;
        fev_add(g, t, CAUSE_ADMIN, next);
        title = next;
    }
}

static void make_world(struct gen *g)
{
    g->sev_off = xcalloc(g->n_agents + 1, sizeof(*g->sev_off));
    g->fev_off = xcalloc(g->n_agents + 1, sizeof(*g->fev_off));
    for (size_t a = 0; a < g->n_agents; a++) {
        g->sev_off[a] = g->n_sev;
        g->fev_off[a] = g->n_fev;
        world_agent(g, a);
        qsort(g->sev + g->sev_off[a], g->n_sev - g->sev_off[a], sizeof(*g->sev),
              sev_cmp);
        qsort(g->fev + g->fev_off[a], g->n_fev - g->fev_off[a], sizeof(*g->fev),
              fev_cmp);
    }
    g->sev_off[g->n_agents] = g->n_sev;
    g->fev_off[g->n_agents] = g->n_fev;
}

/* ---- Requests other than the polls ------------------------------------- */

static size_t req_add(struct gen *g, enum role role, enum ep ep, int thread,
                      int64_t intended, int64_t send, int64_t recv, int status,
                      int64_t retry_after_s, int64_t op_id, int64_t agent,
                      int64_t version_sent, int agents_in_request)
{
    struct req *q;

    GROW(g->reqs, g->n_reqs, g->cap_reqs);
    q = &g->reqs[g->n_reqs];
    q->intended = intended;
    q->send = send;
    q->recv = recv;
    q->op_id = op_id;
    q->version_sent = version_sent;
    q->agent = (int32_t)agent;
    q->thread = thread;
    q->status = (int16_t)status;
    q->retry_after_s = (int16_t)retry_after_s;
    q->agents_in_request = (int16_t)agents_in_request;
    q->role = (uint8_t)role;
    q->ep = (uint8_t)ep;
    return g->n_reqs++;
}

/* The token, then the agent listing page by page, on the main thread. */
static void make_startup(struct gen *g)
{
    struct rng r;
    int64_t t = g->start + NS_PER_MS;

    rng_seed(&r, g->seed, RNG_MISC);
    for (size_t i = 0; i <= g->n_chunks; i++) {
        int64_t lat = range_draw(&r, g->rlat_lo, g->rlat_hi);
        req_add(g, i ? ROLE_AGENTS : ROLE_AUTH, i ? EP_LIST : EP_TOKEN, 1, t, t,
                t + lat, 200, -1, -1, -1, -1, -1);
        t += lat + STEP_GAP_NS;
    }
    g->poll_start = t + NS_PER_MS;
    g->poll_end = g->end - END_MARGIN_NS;
}

/* ---- The replay -------------------------------------------------------- */

enum pass_kind { PASS_READ, PASS_WRITE, PASS_OP };

struct worker {
    int busy;
    int64_t t; /* when free, or the op's next event */
    struct op *op;
    int thread;
};

/* The version of @agent at server instant @t.  Our own writes to an agent
 * are sequential, so every one counted so far is before @t. */
static int64_t version_at(const struct gen *g, uint32_t agent, int64_t t)
{
    const struct fev *f = g->fev + g->fev_off[agent];
    size_t lo = 0, hi = g->fev_off[agent + 1] - g->fev_off[agent];

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f[mid].t <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 1 + (int64_t)lo + (int64_t)g->own_count[agent];
}

static int64_t draw_retry_after(struct rng *r)
{
    return rng_range(r, 1, 2);
}

/* The op ends with @o at @recv; returns 0 (the worker is free). */
static int op_finish(struct op *op, enum outcome o, int64_t recv, int64_t *next)
{
    op->outcome = o;
    op->end = recv + END_GAP_NS;
    *next = op->end;
    return 0;
}

/*
 * One exchange of @op at @t (outside every pause), as harness/replay.c
 * does it.  Returns 1 with *next the op's next event, or 0 when the
 * worker is done with this item at *next.
 */
static int op_step(struct gen *g, struct rng *r, struct op *op, int thread,
                   enum pass_kind kind, int64_t t, int64_t *next)
{
    int retry = op->strat == ST_RETRY;
    int64_t lat, recv, ra = -1, until;
    int throttled = rng_chance(r, P429_REPLAY);
    int status;

    if (throttled)
        ra = draw_retry_after(r);
    if (op->state == OP_READ) {
        int64_t v = 0;

        lat = range_draw(r, g->rlat_lo, g->rlat_hi);
        recv = t + lat;
        if (!throttled)
            v = version_at(g, op->agent, t + lat / 2);
        op->last_req =
            req_add(g, ROLE_REPLAY, EP_USER_GET, thread,
                    op->intended ? op->intended : t, t, recv,
                    throttled ? 429 : 200, ra, op->id, op->agent, -1, -1);
        op->intended = 0;
        op->requests++;
        op->read_requests = 1;
        op->last_status = throttled ? 429 : 200;
        if (!op->first_read)
            op->first_read = t;
        if (throttled) {
            pause_add(g, recv, recv + ra * NS_PER_S);
            if (!retry || op->tries >= g->retry.max_attempts ||
                replay_throttle_wait(&g->retry, ra, recv, &until))
                return op_finish(op, OUT_GAVE_UP, recv, next);
            op->tries++;
            *next = until;
            return 1;
        }
        if (op->read_version < 0)
            op->read_version = v;
        if (op->n_versions < READS_MAX)
            op->versions[op->n_versions++] = v;
        op->base_version = v;
        op->want_dept = !g->dept[op->agent];
        if (kind == PASS_READ) {
            *next = recv;
            return 0;
        }
        op->state = OP_WRITE;
        *next = recv + STEP_GAP_NS;
        return 1;
    }

    lat = range_draw(r, g->wlat_lo, g->wlat_hi);
    recv = t + lat;
    status = throttled                                                   ? 429
             : version_at(g, op->agent, t + lat / 2) == op->base_version ? 200
                                                                         : 409;
    op->last_req = req_add(g, ROLE_REPLAY, EP_USER_PATCH, thread,
                           op->intended ? op->intended : t, t, recv, status, ra,
                           op->id, op->agent, op->base_version, -1);
    op->intended = 0;
    op->attempts++;
    op->write_base_requests = op->read_requests;
    op->requests++;
    op->last_write = t;
    op->last_status = status;
    op->wrote = 1;
    if (status == 200) {
        struct own *w;

        GROW(g->own, g->n_own, g->cap_own);
        w = &g->own[g->n_own++];
        w->t = t + lat / 2;
        w->agent = op->agent;
        w->req = (uint32_t)op->last_req;
        w->dept_new = (uint8_t)op->want_dept;
        g->own_count[op->agent]++;
        g->dept[op->agent] = (uint8_t)op->want_dept;
        op->final_version = op->base_version + 1;
        return op_finish(op, OUT_OK, recv, next);
    }
    if (status == 429) {
        pause_add(g, recv, recv + ra * NS_PER_S);
        if (!retry || op->attempts >= g->retry.max_attempts ||
            replay_throttle_wait(&g->retry, ra, recv, &until))
            return op_finish(op, OUT_GAVE_UP, recv, next);
        /* Nothing was written: the same write goes again. */
        *next = until;
        return 1;
    }
    if (!retry || op->attempts >= g->retry.max_attempts)
        return op_finish(op, OUT_CONFLICT, recv, next);
    op->backoff_prev =
        replay_backoff_ns(&g->retry, op->backoff_k++, op->backoff_prev, r);
    op->state = OP_READ;
    op->tries = 1;
    *next = recv + op->backoff_prev;
    return 1;
}

/*
 * One pass over @n items through the worker pool, starting at @t0: a
 * worker that comes free takes the next item, whose slot is at least
 * `pace` after the previous one's; events run in time order, so a 429's
 * back-off delays every request sent after it.  Returns when the last
 * item is done.
 */
static int64_t run_pass(struct gen *g, struct rng *r, struct op **items,
                        size_t n, enum pass_kind kind, int64_t t0,
                        int64_t *next_id)
{
    struct worker w[WORKERS];
    size_t next = 0;
    int64_t next_slot = t0, end = t0;

    for (int i = 0; i < g->workers; i++) {
        w[i].busy = 0;
        w[i].t = t0;
        w[i].op = NULL;
        w[i].thread = 2 + g->obs_threads + i;
    }
    for (;;) {
        int best = -1;
        struct worker *k;
        int64_t t, at;

        for (int i = 0; i < g->workers; i++)
            if ((w[i].busy || next < n) && (best < 0 || w[i].t < w[best].t))
                best = i;
        if (best < 0)
            break;
        k = &w[best];
        if (!k->busy) {
            int64_t slot = k->t > next_slot ? k->t : next_slot;
            struct op *op = items[next++];

            next_slot = slot + g->pace;
            if (kind != PASS_WRITE) {
                op->id = (*next_id)++;
                op->start = slot + NS_PER_US;
                op->tries = 1;
            }
            op->state = kind == PASS_WRITE ? OP_WRITE : OP_READ;
            op->intended = slot;
            k->op = op;
            k->busy = 1;
            k->t = slot + ITEM_GAP_NS;
            continue;
        }
        t = defer(g, k->t);
        if (t != k->t) {
            k->t = t;
            continue;
        }
        if (op_step(g, r, k->op, k->thread, kind, t, &at)) {
            k->t = at;
            continue;
        }
        k->busy = 0;
        k->t = at;
        if (at > end)
            end = at;
    }
    return end;
}

static int make_replay(struct gen *g)
{
    struct rng r;
    struct op **items = xcalloc(g->n_agents, sizeof(*items));
    int64_t t = 0, next_id = 1, last_end = 0;
    size_t o = 0;
    char a[32];

    rng_seed(&r, g->seed, RNG_REPLAY);
    g->n_ops = (size_t)g->rounds * ST_COUNT * g->n_agents;
    g->ops = xcalloc(g->n_ops, sizeof(*g->ops));
    g->own_count = xcalloc(g->n_agents, sizeof(*g->own_count));
    for (int round = 0; round < g->rounds; round++) {
        int64_t sched = g->start + g->at + (int64_t)round * g->every;

        /* A round whose passes overrun the next one's time starts late. */
        t = sched > last_end ? sched : last_end;
        g->round_lo[round] = t;
        for (int s = 0; s < ST_COUNT; s++) {
            size_t n = 0;
            for (size_t ag = 0; ag < g->n_agents; ag++) {
                struct op *op = &g->ops[o++];
                op->round = round;
                op->strat = (enum strat)s;
                op->agent = (uint32_t)ag;
                op->read_version = op->final_version = -1;
                items[ag] = op;
            }
            if (s == ST_BULK_STALE) {
                /* Read every agent, then write every agent that was
                 * read, with the versions read. */
                t = run_pass(g, &r, items, g->n_agents, PASS_READ, t,
                             &next_id) +
                    NS_PER_US;
                for (size_t ag = 0; ag < g->n_agents; ag++)
                    if (items[ag]->outcome == OUT_NONE)
                        items[n++] = items[ag];
                t = run_pass(g, &r, items, n, PASS_WRITE, t, &next_id) +
                    NS_PER_US;
            } else {
                t = run_pass(g, &r, items, g->n_agents, PASS_OP, t, &next_id) +
                    NS_PER_US;
            }
        }
        last_end = t;
        /* Its last 429's back-off may outlast it. */
        g->round_hi[round] = g->n_pauses && g->pauses[g->n_pauses - 1].b > t
                                 ? g->pauses[g->n_pauses - 1].b
                                 : t;
    }
    free(items);
    if (last_end > g->poll_end - END_MARGIN_NS) {
        log_error(
            "the replay of %zu agents ends %s after the run; give a "
            "longer --duration or fewer --agents",
            g->n_agents,
            units_format_duration(round_to(last_end - g->poll_end, NS_PER_MS),
                                  a, sizeof(a)));
        return -1;
    }
    for (size_t i = 0; i < g->n_ops; i++)
        g->ops_by_outcome[g->ops[i].outcome]++;
    return 0;
}

/*
 * Observer 429s, planned: at a few random times one bulk GET is throttled
 * and every thread backs off for its Retry-After.  Drawn after the
 * replay, away from its rounds and at least 5 s apart, so no request is
 * ever sent inside a back-off (the replay's own were in force while it
 * was played).  Their lengths are fixed here, so the observers' spacing
 * can be; layout_polls() puts each into a gap of its chunk's thread.
 */
static void plan_obs429(struct gen *g)
{
    struct rng r;
    int64_t lo = g->poll_start + g->duration / 50;
    int64_t hi = g->poll_end - g->duration / 20, last = INT64_MIN;
    int64_t margin = 5 * NS_PER_S;
    size_t n = 0;

    rng_seed(&r, g->seed, RNG_OBS429);
    g->o429 = xcalloc(g->n_obs429, sizeof(*g->o429));
    for (size_t i = 0; i < g->n_obs429; i++) {
        g->o429[i].at = range_draw(&r, lo, hi);
        g->o429[i].len = rng_range(&r, 1, 2) * NS_PER_S;
        g->o429[i].chunk = (size_t)rng_below(&r, g->n_chunks);
    }
    for (size_t i = 1; i < g->n_obs429; i++)
        for (size_t k = i; k > 0 && g->o429[k - 1].at > g->o429[k].at; k--) {
            struct o429 x = g->o429[k];
            g->o429[k] = g->o429[k - 1];
            g->o429[k - 1] = x;
        }
    for (size_t i = 0; i < g->n_obs429; i++) {
        int64_t at = g->o429[i].at, until = at + g->o429[i].len + margin;
        int clash = at < last + margin;

        for (int k = 0; k < g->rounds && !clash; k++)
            clash =
                until + margin > g->round_lo[k] && at < g->round_hi[k] + margin;
        if (clash)
            continue;
        g->o429[n++] = g->o429[i];
        last = until;
    }
    g->n_obs429 = n;
}

/* ---- The polls --------------------------------------------------------- */

/* Place each pause in active time (pauses sorted and disjoint). */
static int64_t pauses_index(struct gen *g)
{
    int64_t total = 0;

    for (size_t k = 0; k < g->n_pauses; k++) {
        struct pause *p = &g->pauses[k];
        p->alpha = p->a - g->poll_start - total;
        total += p->b - p->a;
        p->cum = total;
    }
    return total;
}

/*
 * Put planned observer 429 @o on its chunk's thread between two of its
 * polls: sent after one returned, answered before the next leaves, so
 * the thread still has one request at a time.  The layout so far holds
 * every back-off before it, and the spacing is already final, so adding
 * this one moves only what comes after it.
 */
static int place_obs429(struct gen *g, const struct o429 *o)
{
    for (size_t n = 0; n < g->n_chunks; n++) {
        size_t c = (o->chunk + n) % g->n_chunks;
        int64_t k0 = first_seeing(g, c, o->at);
        uint64_t nk = chunk_polls(g, c);

        if (k0 < 0)
            continue;
        for (uint64_t k = (uint64_t)k0; k + 1 < nk && k < (uint64_t)k0 + 64;
             k++) {
            int64_t in, s0, r0, s1, r1, gap, lat, send;
            size_t prev;

            poll_times(g, k * g->n_chunks + c, &in, &s0, &r0);
            poll_times(g, (k + 1) * g->n_chunks + c, &in, &s1, &r1);
            gap = s1 - r0;
            if (gap < 100 * NS_PER_US)
                continue;
            /* A 429 is answered at once, before any work. */
            lat = gap / 2 < g->rlat_lo ? gap / 2 : g->rlat_lo;
            send = r0 + (gap - lat) / 2;
            prev = pause_at(g, send + lat + o->len);
            if (prev != NONE && g->pauses[prev].b >= send)
                continue;
            req_add(g, ROLE_OBSERVE, EP_BULK,
                    2 + (int)(c % (size_t)g->obs_threads), send, send,
                    send + lat, 429, o->len / NS_PER_S, -1, -1, -1,
                    (int)chunk_size(g, c));
            pause_add(g, send + lat, send + lat + o->len);
            pauses_index(g);
            return 0;
        }
    }
    log_error("cannot place an observer 429 near %lld", (long long)o->at);
    return -1;
}

/*
 * The observers' polls take every request the others left, spread evenly
 * over the run minus every back-off; then the observer 429s go in.
 */
static int layout_polls(struct gen *g)
{
    int64_t total = pauses_index(g), spacing_lo, others;
    uint64_t polls;
    char a[32];

    for (size_t i = 0; i < g->n_obs429; i++)
        total += g->o429[i].len;
    others = (int64_t)(g->n_reqs + g->n_obs429);
    if (others >= g->n_requests ||
        (uint64_t)(g->n_requests - others) < 3 * g->n_chunks) {
        log_error("--requests %lld leaves %lld for the observers after %lld "
                  "other requests; at least %zu are needed",
                  (long long)g->n_requests, (long long)(g->n_requests - others),
                  (long long)others, 3 * g->n_chunks);
        return -1;
    }
    polls = (uint64_t)(g->n_requests - others);
    g->n_polls = polls;
    g->active = g->poll_end - g->poll_start - total;
    g->q = g->active / (int64_t)polls;
    g->r = g->active % (int64_t)polls;
    if (g->q < 4) {
        log_error("too many requests for the run's length");
        return -1;
    }
    g->jit_max = g->q / 4 > 0 ? g->q / 4 : 1;
    g->ovh_max = g->q / 4 < OVERHEAD_MAX_NS ? g->q / 4 : OVERHEAD_MAX_NS;
    if (g->ovh_max < 1)
        g->ovh_max = 1;
    g->poll_key = mix64(g->seed ^ UINT64_C(0x5eed0f0b5e7e5));
    /* A chunk's next poll must not leave before its last one returned:
     * the observers' threads poll their chunks one after another. */
    spacing_lo = (int64_t)((double)g->q * ((double)g->n_chunks - 0.5) * 0.95);
    g->plat_hi = g->rlat_hi < spacing_lo ? g->rlat_hi : spacing_lo;
    g->plat_lo = g->rlat_lo < g->plat_hi ? g->rlat_lo : g->plat_hi;
    if (g->plat_hi < 1) {
        log_error("too many requests for the run's length");
        return -1;
    }
    for (size_t i = 0; i < g->n_obs429; i++)
        if (place_obs429(g, &g->o429[i]))
            return -1;
    if (pauses_index(g) != total) {
        log_error("back-offs overlap; the observers' layout is off");
        return -1;
    }
    log_info(
        "gen_history: %llu observer polls, one every %s per chunk; "
        "%zu back-offs",
        (unsigned long long)polls,
        units_format_duration(round_to(g->q * (int64_t)g->n_chunks, NS_PER_US),
                              a, sizeof(a)),
        g->n_pauses);
    return 0;
}

/* ---- Observations and truth -------------------------------------------- */

static void truth_add(struct gen *g, int64_t t, uint32_t agent, enum prop p,
                      int64_t old, int64_t new, enum cause c, uint64_t corr)
{
    struct truth *x;

    GROW(g->truth, g->n_truth, g->cap_truth);
    x = &g->truth[g->n_truth];
    x->t = t;
    x->old = old;
    x->new = new;
    x->corr = corr;
    x->agent = agent;
    x->ord = (uint32_t)g->n_truth;
    x->prop = (uint8_t)p;
    x->cause = (uint8_t)c;
    g->n_truth++;
}

static void obs_add(struct gen *g, uint32_t agent, size_t c, enum prop p,
                    int64_t k, int64_t old, int64_t new, int64_t server)
{
    uint64_t i = (uint64_t)k * g->n_chunks + c;
    int64_t in, s, r, ps;
    struct obs *o;

    poll_times(g, i, &in, &s, &r);
    poll_times(g, i - g->n_chunks, &in, &ps, &in);
    GROW(g->obs, g->n_obs, g->cap_obs);
    o = &g->obs[g->n_obs++];
    o->key = (int64_t)i;
    o->start = ps;
    o->end = r;
    /* Routing startTime and presence modifiedDate carry milliseconds. */
    o->server = p == PROP_VERSION ? 0 : server - server % NS_PER_MS;
    o->old = old;
    o->new = new;
    o->agent = agent;
    o->prop = (uint8_t)p;
    if (p == PROP_VERSION) {
        g->version_changes++;
        g->hidden += (uint64_t)(new - old - 1);
    } else if (p == PROP_PRESENCE) {
        g->presence_changes++;
    } else {
        g->routing_changes++;
    }
}

/*
 * What the tracker makes of one property's changes: the changes a poll
 * sees together fold into one observation (old -> last), a change back to
 * the value last seen is no observation, and changes before the chunk's
 * first poll are its baseline.
 */
struct track {
    int64_t seen;
    int64_t pend_k, pend_val, pend_t;
    int dead;
};

static void track_init(struct track *tr, int64_t initial)
{
    tr->seen = initial;
    tr->pend_k = -1;
    tr->pend_val = tr->pend_t = 0;
    tr->dead = 0;
}

static void track_flush(struct gen *g, struct track *tr, uint32_t agent,
                        size_t c, enum prop p)
{
    if (tr->pend_k > 0 && tr->pend_val != tr->seen) {
        obs_add(g, agent, c, p, tr->pend_k, tr->seen, tr->pend_val, tr->pend_t);
        tr->seen = tr->pend_val;
    }
    tr->pend_k = -1;
}

static void track_event(struct gen *g, struct track *tr, uint32_t agent,
                        size_t c, enum prop p, int64_t t, int64_t val)
{
    int64_t k;

    if (tr->dead)
        return;
    k = first_seeing(g, c, t);
    if (k < 0) {
        /* After the last poll: nobody sees this or anything later. */
        track_flush(g, tr, agent, c, p);
        tr->dead = 1;
        return;
    }
    if (k == 0) {
        tr->seen = val;
        return;
    }
    if (k != tr->pend_k)
        track_flush(g, tr, agent, c, p);
    tr->pend_k = k;
    tr->pend_val = val;
    tr->pend_t = t;
}

static int own_cmp(const void *x, const void *y)
{
    const struct own *a = x, *b = y;

    if (a->agent != b->agent)
        return a->agent < b->agent ? -1 : 1;
    return a->t < b->t ? -1 : a->t > b->t;
}

static uint64_t rand_corr(const struct gen *g, uint32_t agent, uint64_t n)
{
    return mix64(g->seed ^ mix64(((uint64_t)agent << 32) ^ n));
}

static void render_agent(struct gen *g, uint32_t a)
{
    size_t c = a / CHUNK_AGENTS;
    const struct fev *f = g->fev + g->fev_off[a];
    const struct own *w = g->own + g->own_off[a];
    size_t nf = g->fev_off[a + 1] - g->fev_off[a];
    size_t nw = g->own_off[a + 1] - g->own_off[a];
    size_t i = 0, j = 0;
    struct track tv, tp, tr;
    int64_t v = 1;
    int presence = g->off_queue[a] ? PR_AVAILABLE : PR_ON_QUEUE;
    int routing = g->off_queue[a] ? RS_OFF_QUEUE : RS_IDLE;
    int title = g->title[a], dept = 0;
    uint64_t n = 0;

    track_init(&tv, 1);
    while (i < nf || j < nw) {
        int foreign = j >= nw || (i < nf && f[i].t <= w[j].t);
        int64_t t = foreign ? f[i].t : w[j].t;

        if (foreign) {
            uint64_t corr = rand_corr(g, a, n++);
            if (f[i].cause == CAUSE_ADMIN) {
                truth_add(g, t, a, PROP_TITLE, title, f[i].title, CAUSE_ADMIN,
                          corr);
                title = f[i].title;
            }
            truth_add(g, t, a, PROP_VERSION, v, v + 1, (enum cause)f[i].cause,
                      corr);
            i++;
        } else {
            truth_add(g, t, a, PROP_DEPT, dept, w[j].dept_new, CAUSE_CLIENT,
                      w[j].req);
            dept = w[j].dept_new;
            truth_add(g, t, a, PROP_VERSION, v, v + 1, CAUSE_CLIENT, w[j].req);
            j++;
        }
        v++;
        track_event(g, &tv, a, c, PROP_VERSION, t, v);
    }
    track_flush(g, &tv, a, c, PROP_VERSION);

    track_init(&tp, presence);
    track_init(&tr, routing);
    for (size_t k = g->sev_off[a]; k < g->sev_off[a + 1]; k++) {
        const struct sev *e = &g->sev[k];
        if (e->prop == PROP_PRESENCE) {
            truth_add(g, e->t, a, PROP_PRESENCE, presence, e->val, CAUSE_WORLD,
                      rand_corr(g, a, n++));
            presence = e->val;
            track_event(g, &tp, a, c, PROP_PRESENCE, e->t, e->val);
        } else {
            truth_add(g, e->t, a, PROP_ROUTING, routing, e->val, CAUSE_WORLD,
                      rand_corr(g, a, n++));
            routing = e->val;
            track_event(g, &tr, a, c, PROP_ROUTING, e->t, e->val);
        }
    }
    track_flush(g, &tp, a, c, PROP_PRESENCE);
    track_flush(g, &tr, a, c, PROP_ROUTING);
}

static void render(struct gen *g)
{
    /* Own writes by agent, in time order (a counting sort would do; qsort
     * of a few tens of thousands is as quick). */
    if (g->n_own)
        qsort(g->own, g->n_own, sizeof(*g->own), own_cmp);
    g->own_off = xcalloc(g->n_agents + 1, sizeof(*g->own_off));
    for (size_t i = 0, a = 0; a <= g->n_agents; a++) {
        while (i < g->n_own && g->own[i].agent < a)
            i++;
        g->own_off[a] = i;
    }
    for (size_t a = 0; a < g->n_agents; a++)
        render_agent(g, (uint32_t)a);
}

/*
 * The off-queue agents' presence flips that bring the observations to
 * exactly --observations: each between the server instants of two
 * consecutive polls of its chunk, on polls at least two apart, so each
 * is seen, alone, by exactly one poll.
 */
static void make_filler(struct gen *g)
{
    int64_t want = g->n_obs_target - (int64_t)g->n_obs;
    size_t left, made = 0, idx = 0;

    if (want <= 0 || g->n_off == 0) {
        if (want != 0)
            log_warn("gen_history: the world gives %zu observations, not "
                     "the %lld asked for",
                     g->n_obs, (long long)g->n_obs_target);
        return;
    }
    left = (size_t)want;
    for (size_t a = 0; a < g->n_agents; a++) {
        size_t c = a / CHUNK_AGENTS, f;
        uint64_t nk = chunk_polls(g, c), range, slot;
        struct rng r;
        int cur = PR_AVAILABLE;
        uint64_t n = 1u << 30;

        if (!g->off_queue[a])
            continue;
        f = left / (g->n_off - idx) + (left % (g->n_off - idx) != 0);
        idx++;
        range = nk > 4 ? nk - 3 : 0; /* polls 2 .. nk - 2 */
        if (f > range / 2)
            f = (size_t)(range / 2);
        if (f == 0)
            continue;
        slot = range / f;
        rng_seed(&r, g->seed, RNG_FILLER + a);
        for (size_t i = 0; i < f; i++) {
            uint64_t k = 2 + i * slot + rng_below(&r, slot - 1);
            uint64_t gi = k * g->n_chunks + c;
            int64_t r0 = poll_reads_at(g, gi - g->n_chunks);
            int64_t r1 = poll_reads_at(g, gi);
            int64_t t = r0 + 1 + (int64_t)rng_below(&r, (uint64_t)(r1 - r0));
            int next = cur == PR_AVAILABLE ? PR_AWAY + (int)rng_below(&r, 3)
                                           : PR_AVAILABLE;

            truth_add(g, t, (uint32_t)a, PROP_PRESENCE, cur, next, CAUSE_WORLD,
                      rand_corr(g, (uint32_t)a, n++));
            obs_add(g, (uint32_t)a, c, PROP_PRESENCE, (int64_t)k, cur, next, t);
            cur = next;
        }
        left -= f;
        made += f;
    }
    g->n_filler = made;
    if (left)
        log_warn("gen_history: %zu observations short of the %lld asked "
                 "for: too few polls to place them",
                 left, (long long)g->n_obs_target);
    /* What the scenario should say about off-queue agents' changes. */
    if (made)
        g->away_every = round_to((g->poll_end - g->poll_start) *
                                     (int64_t)g->n_off / (int64_t)made,
                                 NS_PER_MS);
}

/* ---- requests.csv ------------------------------------------------------ */

struct pend {
    int64_t recv, send, intended;
    uint64_t id; /* poll index, or PEND_REQ | request index */
};

#define PEND_REQ (UINT64_C(1) << 63)

static int pend_less(const struct pend *a, const struct pend *b)
{
    if (a->recv != b->recv)
        return a->recv < b->recv;
    if (a->send != b->send)
        return a->send < b->send;
    return a->id < b->id;
}

struct heap {
    struct pend *v;
    size_t n, cap;
};

static void heap_push(struct heap *h, const struct pend *p)
{
    size_t i;

    GROW(h->v, h->n, h->cap);
    i = h->n++;
    while (i > 0 && pend_less(p, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = *p;
}

static struct pend heap_pop(struct heap *h)
{
    struct pend top = h->v[0], last = h->v[--h->n];
    size_t i = 0;

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && pend_less(&h->v[c + 1], &h->v[c]))
            c++;
        if (!pend_less(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

static char *put_corr(const struct gen *g, char *p, int64_t seq)
{
    memcpy(p, g->corr_prefix, 24);
    hex_fill(p + 24, (uint64_t)seq, 12);
    return p + 36;
}

/* The rate-limit headers: a fixed window of a minute from the start. */
struct ratewin {
    int64_t window, count;
};

static char *put_request(struct gen *g, struct out *o, struct ratewin *rw,
                         int64_t seq, const struct pend *pd)
{
    char *p = out_row(o);
    const struct req *q =
        pd->id & PEND_REQ ? &g->reqs[pd->id & ~PEND_REQ] : NULL;
    int status = q ? q->status : 200;
    int64_t since = pd->recv - g->start, w = since / (60 * NS_PER_S);
    int64_t reset;
    enum ep ep = q ? (enum ep)q->ep : EP_BULK;

    if (w != rw->window) {
        rw->window = w;
        rw->count = 0;
    }
    rw->count++;
    reset = ((w + 1) * 60 * NS_PER_S - since + NS_PER_S - 1) / NS_PER_S;
    p = put_i64(p, seq);
    *p++ = ',';
    p = put_i64(p, q ? q->thread
                     : 2 + (int64_t)((pd->id % g->n_chunks) %
                                     (uint64_t)g->obs_threads));
    *p++ = ',';
    p = put_str(p, role_names[q ? q->role : ROLE_OBSERVE]);
    *p++ = ',';
    p = put_opt(p, q ? q->op_id : -1);
    *p++ = ',';
    if (q && q->agent >= 0)
        p = put_str(p, g->ids[q->agent]);
    *p++ = ',';
    p = put_str(p, ep_methods[ep]);
    *p++ = ',';
    p = put_str(p, ep_routes[ep]);
    *p++ = ',';
    p = put_i64(p, pd->intended);
    *p++ = ',';
    p = put_i64(p, pd->send);
    *p++ = ',';
    p = put_i64(p, pd->recv);
    *p++ = ',';
    p = put_i64(p, pd->send - g->start + MONO_BASE_NS);
    *p++ = ',';
    p = put_time(o, p, pd->send);
    *p++ = ',';
    p = put_i64(p, pd->recv - pd->send);
    *p++ = ',';
    p = put_i64(p, pd->recv - pd->intended);
    *p++ = ',';
    p = put_i64(p, status);
    *p++ = ',';
    *p++ = ','; /* transport_error */
    if (status == 409)
        p = put_str(p, "general.conflict");
    else if (status == 429)
        p = put_str(p, "too.many.requests.retry.after");
    *p++ = ',';
    p = put_str(p, status == 200   ? "ok"
                   : status == 409 ? "conflict"
                                   : "throttled");
    *p++ = ',';
    p = put_opt(p, q ? q->retry_after_s : -1);
    *p++ = ',';
    p = put_i64(p, rw->count);
    *p++ = ',';
    p = put_i64(p, g->rate_per_min);
    *p++ = ',';
    p = put_i64(p, reset);
    *p++ = ',';
    p = put_corr(g, p, seq);
    *p++ = ',';
    p = put_opt(p, q ? q->version_sent : -1);
    *p++ = ',';
    p = put_opt(p, q ? q->agents_in_request
                     : (int64_t)chunk_size(g, pd->id % g->n_chunks));
    if (status < 600)
        g->by_status[status]++;
    return p;
}

static int req_order_cmp(const void *x, const void *y, void *arg)
{
    const struct gen *g = arg;
    const struct req *a = &g->reqs[*(const uint32_t *)x];
    const struct req *b = &g->reqs[*(const uint32_t *)y];

    if (a->send != b->send)
        return a->send < b->send ? -1 : 1;
    return *(const uint32_t *)x < *(const uint32_t *)y ? -1 : 1;
}

/*
 * Every request in receive order, seq taken as each is recorded.  Polls
 * (in send order, computed on the fly) and the other requests (sorted by
 * send) are merged by send time into a heap ordered by receive time; a
 * request can be written once no later send can receive before it, and
 * since latency is positive that is when its receive time is at or before
 * the next send.  The heap holds only what is in flight.
 */
static enum rt_err write_requests(struct gen *g)
{
    struct out o;
    struct heap h = {0};
    struct ratewin rw = {-1, 0};
    uint32_t *ord = xcalloc(g->n_reqs ? g->n_reqs : 1, sizeof(*ord));
    uint64_t gi = 0;
    size_t ri = 0;
    int64_t seq = 0;
    struct pend poll = {0};
    enum rt_err err;

    for (size_t i = 0; i < g->n_reqs; i++)
        ord[i] = (uint32_t)i;
    qsort_r(ord, g->n_reqs, sizeof(*ord), req_order_cmp, g);
    g->poll_seq = xcalloc(g->n_polls, sizeof(*g->poll_seq));
    g->req_seq = xcalloc(g->n_reqs ? g->n_reqs : 1, sizeof(*g->req_seq));
    if ((err = out_open(&o, g->out_dir, "requests.csv", history_request_cols,
                        history_n_request_cols)))
        goto out;
    if (gi < g->n_polls) {
        poll_times(g, gi, &poll.intended, &poll.send, &poll.recv);
        poll.id = gi;
    }
    while (gi < g->n_polls || ri < g->n_reqs) {
        struct pend next;

        if (ri < g->n_reqs &&
            (gi >= g->n_polls || g->reqs[ord[ri]].send <= poll.send)) {
            const struct req *q = &g->reqs[ord[ri]];
            next.recv = q->recv;
            next.send = q->send;
            next.intended = q->intended;
            next.id = PEND_REQ | ord[ri];
            ri++;
        } else {
            next = poll;
            if (++gi < g->n_polls) {
                poll_times(g, gi, &poll.intended, &poll.send, &poll.recv);
                poll.id = gi;
            }
        }
        while (h.n && h.v[0].recv <= next.send) {
            struct pend p = heap_pop(&h);
            seq++;
            out_end_row(&o, put_request(g, &o, &rw, seq, &p));
            if (p.id & PEND_REQ)
                g->req_seq[p.id & ~PEND_REQ] = seq;
            else
                g->poll_seq[p.id] = (uint32_t)seq;
        }
        heap_push(&h, &next);
    }
    while (h.n) {
        struct pend p = heap_pop(&h);
        seq++;
        out_end_row(&o, put_request(g, &o, &rw, seq, &p));
        if (p.id & PEND_REQ)
            g->req_seq[p.id & ~PEND_REQ] = seq;
        else
            g->poll_seq[p.id] = (uint32_t)seq;
    }
    err = out_close(&o);
out:
    free(h.v);
    free(ord);
    return err;
}

/* ---- observations.csv, operations.csv, truth.csv ----------------------- */

static int obs_cmp(const void *x, const void *y)
{
    const struct obs *a = x, *b = y;

    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    if (a->agent != b->agent)
        return a->agent < b->agent ? -1 : 1;
    return (int)a->prop - (int)b->prop;
}

static const char *value_name(enum prop p, int64_t v)
{
    return p == PROP_PRESENCE ? presence_names[v] : routing_names[v];
}

static enum rt_err write_observations(struct gen *g)
{
    struct out o;
    enum rt_err err;

    for (size_t i = 0; i < g->n_obs; i++)
        g->obs[i].key = g->poll_seq[g->obs[i].key];
    qsort(g->obs, g->n_obs, sizeof(*g->obs), obs_cmp);
    if ((err = out_open(&o, g->out_dir, "observations.csv",
                        history_observation_cols, history_n_observation_cols)))
        return err;
    for (size_t i = 0; i < g->n_obs; i++) {
        const struct obs *b = &g->obs[i];
        enum prop pr = (enum prop)b->prop;
        char *p = out_row(&o);

        p = put_str(p, g->ids[b->agent]);
        *p++ = ',';
        p = put_str(p, prop_names[pr]);
        *p++ = ',';
        if (pr == PROP_VERSION) {
            p = put_i64(p, b->old);
            *p++ = ',';
            p = put_i64(p, b->new);
        } else {
            p = put_str(p, value_name(pr, b->old));
            *p++ = ',';
            p = put_str(p, value_name(pr, b->new));
        }
        *p++ = ',';
        p = put_i64(p, b->start);
        *p++ = ',';
        p = put_i64(p, b->end);
        *p++ = ',';
        p = put_time(&o, p, b->start);
        *p++ = ',';
        p = put_time(&o, p, b->end);
        *p++ = ',';
        p = put_opt(p, b->server ? b->server : -1);
        *p++ = ',';
        p = put_time(&o, p, b->server);
        *p++ = ',';
        p = put_str(p, "poll");
        *p++ = ',';
        p = put_i64(p, b->key);
        *p++ = ',';
        p = put_i64(p, pr == PROP_VERSION ? b->new - b->old - 1 : 0);
        out_end_row(&o, p);
    }
    return out_close(&o);
}

static int op_end_cmp(const void *x, const void *y)
{
    const struct op *a = *(const struct op *const *)x;
    const struct op *b = *(const struct op *const *)y;

    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static enum rt_err write_operations(struct gen *g)
{
    struct op **v = xcalloc(g->n_ops ? g->n_ops : 1, sizeof(*v));
    struct out o;
    enum rt_err err;

    for (size_t i = 0; i < g->n_ops; i++)
        v[i] = &g->ops[i];
    qsort(v, g->n_ops, sizeof(*v), op_end_cmp);
    if ((err = out_open(&o, g->out_dir, "operations.csv",
                        history_operation_cols, history_n_operation_cols))) {
        free(v);
        return err;
    }
    for (size_t i = 0; i < g->n_ops; i++) {
        const struct op *op = v[i];
        int64_t wasted = op->requests;
        char *p = out_row(&o);

        /* As replay.c counts it: on success, every exchange but the
         * write and the read it was based on. */
        if (op->outcome == OUT_OK)
            wasted -= op->write_base_requests + 1;
        if (wasted < 0)
            wasted = 0;
        p = put_i64(p, op->id);
        *p++ = ',';
        p = put_i64(p, op->round);
        *p++ = ',';
        p = put_str(p, strat_names[op->strat]);
        *p++ = ',';
        p = put_str(p, g->ids[op->agent]);
        *p++ = ',';
        p = put_opt(p, op->read_version);
        *p++ = ',';
        for (int k = 0; k < op->n_versions; k++) {
            if (k)
                *p++ = ';';
            p = put_i64(p, op->versions[k]);
        }
        *p++ = ',';
        p = put_i64(p, op->attempts);
        *p++ = ',';
        p = put_str(p, outcome_names[op->outcome]);
        *p++ = ',';
        p = put_opt(p, op->final_version);
        *p++ = ',';
        p = put_i64(p, wasted);
        *p++ = ',';
        p = put_i64(p, op->requests);
        *p++ = ',';
        p = put_i64(p, op->start);
        *p++ = ',';
        p = put_opt(p, op->first_read ? op->first_read : -1);
        *p++ = ',';
        p = put_opt(p, op->last_write ? op->last_write : -1);
        *p++ = ',';
        p = put_i64(p, op->end);
        *p++ = ',';
        p = put_time(&o, p, op->start);
        *p++ = ',';
        p = put_time(&o, p, op->end);
        *p++ = ',';
        p = put_i64(p, op->last_status);
        *p++ = ',';
        p = put_corr(g, p, g->req_seq[op->last_req]);
        *p++ = ',';
        if (op->wrote) {
            p = put_str(p, "department=");
            p = put_str(p, g->dept_values[op->want_dept]);
        } else {
            p = put_str(p, "read throttled (429)");
        }
        out_end_row(&o, p);
    }
    free(v);
    return out_close(&o);
}

static int truth_cmp(const void *x, const void *y)
{
    const struct truth *a = x, *b = y;

    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->ord < b->ord ? -1 : a->ord > b->ord;
}

static char *put_value(const struct gen *g, char *p, enum prop pr, int64_t v)
{
    switch (pr) {
    case PROP_VERSION:
        return put_i64(p, v);
    case PROP_PRESENCE:
    case PROP_ROUTING:
        return put_str(p, value_name(pr, v));
    case PROP_DEPT:
        return put_str(p, g->dept_values[v]);
    case PROP_TITLE:
        return put_str(p, titles[v]);
    }
    return p;
}

static enum rt_err write_truth(struct gen *g)
{
    struct out o;
    enum rt_err err;

    qsort(g->truth, g->n_truth, sizeof(*g->truth), truth_cmp);
    if ((err = out_open(&o, g->out_dir, "truth.csv", sim_log_truth_cols,
                        sim_log_n_truth_cols)))
        return err;
    for (size_t i = 0; i < g->n_truth; i++) {
        const struct truth *x = &g->truth[i];
        char *p = out_row(&o);

        p = put_i64(p, x->t);
        *p++ = ',';
        p = put_time(&o, p, x->t);
        *p++ = ',';
        p = put_str(p, g->ids[x->agent]);
        *p++ = ',';
        p = put_str(p, prop_names[x->prop]);
        *p++ = ',';
        p = put_value(g, p, (enum prop)x->prop, x->old);
        *p++ = ',';
        p = put_value(g, p, (enum prop)x->prop, x->new);
        *p++ = ',';
        p = put_str(p, cause_names[x->cause]);
        *p++ = ',';
        if (x->cause == CAUSE_CLIENT) {
            p = put_corr(g, p, g->req_seq[x->corr]);
        } else {
            uuid_format(p, x->corr, mix64(x->corr));
            p += 36;
        }
        out_end_row(&o, p);
    }
    return out_close(&o);
}

/* ---- run.json ---------------------------------------------------------- */

static enum rt_err write_run_json(struct gen *g)
{
    cJSON *o = cJSON_CreateObject(), *m, *n, *scn;
    char iso[ISO8601_LEN], path[4096], tmp[4200], url[64];
    char *text = NULL;
    FILE *f;
    enum rt_err err = RT_OK;
    uint64_t s2xx = 0, other = 0;

    if (!(scn = scenario_resolved(g))) {
        cJSON_Delete(o);
        return RT_EINVAL;
    }
    for (int s = 200; s < 300; s++)
        s2xx += g->by_status[s];
    for (int s = 0; s < 600; s++)
        if ((s < 200 || s >= 300) && s != 409 && s != 429)
            other += g->by_status[s];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d",
             40000 + (int)(g->seed % 20000));
    cJSON_AddStringToObject(o, "tool", "racetrace");
    cJSON_AddStringToObject(o, "version", RT_VERSION);
    m = cJSON_AddObjectToObject(o, "target");
    cJSON_AddStringToObject(m, "label", "sim");
    cJSON_AddStringToObject(m, "api_url", url);
    cJSON_AddBoolToObject(m, "simulator", 1);
    cJSON_AddStringToObject(m, "auth", "client_credentials");
    cJSON_AddItemToObject(o, "start_wall_ns", json_int64(g->start));
    cJSON_AddStringToObject(o, "start",
                            iso8601_format_ms(g->start, iso, sizeof(iso)));
    cJSON_AddItemToObject(o, "end_wall_ns", json_int64(g->end));
    cJSON_AddStringToObject(o, "end",
                            iso8601_format_ms(g->end, iso, sizeof(iso)));
    cJSON_AddBoolToObject(o, "interrupted", 0);
    cJSON_AddNumberToObject(o, "clock_offset_ns", 0);
    m = cJSON_AddObjectToObject(o, "observe");
    add_duration(m, "interval_used",
                 round_to(g->q * (int64_t)g->n_chunks, NS_PER_US));
    cJSON_AddNumberToObject(m, "budget_per_minute", 0);
    m = cJSON_AddObjectToObject(o, "counts");
    cJSON_AddNumberToObject(m, "agents", (double)g->n_agents);
    n = cJSON_AddObjectToObject(m, "requests");
    cJSON_AddNumberToObject(n, "total", (double)g->n_requests);
    cJSON_AddNumberToObject(n, "2xx", (double)s2xx);
    cJSON_AddNumberToObject(n, "409", (double)g->by_status[409]);
    cJSON_AddNumberToObject(n, "429", (double)g->by_status[429]);
    cJSON_AddNumberToObject(n, "5xx", 0);
    cJSON_AddNumberToObject(n, "other", (double)other);
    cJSON_AddNumberToObject(n, "token_requests", 1);
    n = cJSON_AddObjectToObject(m, "operations");
    cJSON_AddNumberToObject(n, "planned", (double)g->n_ops);
    cJSON_AddNumberToObject(n, "ok", (double)g->ops_by_outcome[OUT_OK]);
    cJSON_AddNumberToObject(n, "conflict",
                            (double)g->ops_by_outcome[OUT_CONFLICT]);
    cJSON_AddNumberToObject(n, "gave_up",
                            (double)g->ops_by_outcome[OUT_GAVE_UP]);
    cJSON_AddNumberToObject(n, "error", 0);
    cJSON_AddNumberToObject(n, "unknown", 0);
    n = cJSON_AddObjectToObject(m, "observations");
    cJSON_AddNumberToObject(n, "samples", (double)g->samples);
    cJSON_AddNumberToObject(n, "version_changes", (double)g->version_changes);
    cJSON_AddNumberToObject(n, "hidden_bumps", (double)g->hidden);
    cJSON_AddNumberToObject(n, "presence_changes", (double)g->presence_changes);
    cJSON_AddNumberToObject(n, "routing_changes", (double)g->routing_changes);
    cJSON_AddItemToObject(o, "scenario", scn);
    text = cJSON_Print(o);
    cJSON_Delete(o);
    snprintf(path, sizeof(path), "%s/run.json", g->out_dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (!(f = fopen(tmp, "w")) || fputs(text, f) < 0 || fputc('\n', f) < 0)
        err = rt_fail(RT_EIO, "cannot write '%s': %s", tmp, strerror(errno));
    if (f && fclose(f) && !err)
        err = rt_fail(RT_EIO, "cannot write '%s': %s", tmp, strerror(errno));
    if (!err && rename(tmp, path))
        err = rt_fail(RT_EIO, "cannot rename '%s': %s", tmp, strerror(errno));
    if (err)
        unlink(tmp);
    free(text);
    return err;
}

/* ---- Command line ------------------------------------------------------ */

static const char usage_text[] =
    "usage: gen_history --out <dir> [--requests <n>] [--observations <n>]\n"
    "                   [--agents <n>] [--seed <n>] [--duration <time>]\n"
    "                   [--start <iso-time>]\n"
    "\n"
    "Write a synthetic run directory (requests.csv, observations.csv,\n"
    "operations.csv, truth.csv, run.json) for the analysis benchmark.\n"
    "\n"
    "    --out <dir>            where to write (created when missing)\n"
    "    --requests <n>         requests.csv rows (default 10M)\n"
    "    --observations <n>     observations.csv rows (default 1M)\n"
    "    --agents <n>           agents (default 2000)\n"
    "    --seed <n>             seed (default 1); same arguments, same "
    "files\n"
    "    --duration <time>      run length (default 3h)\n"
    "    --start <iso-time>     run start (default " DEF_START ")\n";

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Misuse: the reason and the usage on stderr, exit status 2. */
static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("gen_history: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n%s", usage_text);
    return 2;
}

static void gen_free(struct gen *g)
{
    free(g->ids);
    free(g->off_queue);
    free(g->dept);
    free(g->title);
    free(g->dept_values[0]);
    free(g->dept_values[1]);
    free(g->sev);
    free(g->sev_off);
    free(g->fev);
    free(g->fev_off);
    free(g->reqs);
    free(g->ops);
    free(g->own);
    free(g->own_count);
    free(g->own_off);
    free(g->pauses);
    free(g->o429);
    free(g->obs);
    free(g->truth);
    free(g->poll_seq);
    free(g->req_seq);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"requests", required_argument, NULL, 'n'},
        {"observations", required_argument, NULL, 'm'},
        {"agents", required_argument, NULL, 'a'},
        {"seed", required_argument, NULL, 's'},
        {"duration", required_argument, NULL, 'd'},
        {"start", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct gen g;
    int64_t v, t0 = clock_mono_ns();
    int c, rc = 1;
    cJSON *check;

    memset(&g, 0, sizeof(g));
    g.n_requests = DEF_REQUESTS;
    g.n_obs_target = DEF_OBSERVATIONS;
    g.n_agents = (size_t)DEF_AGENTS;
    g.seed = DEF_SEED;
    g.duration = DEF_DURATION;
    iso8601_parse(DEF_START, &g.start);
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            g.out_dir = optarg;
            break;
        case 'n':
            if (units_parse_count(optarg, &g.n_requests) || g.n_requests < 1 ||
                g.n_requests > REQUESTS_MAX)
                return usage_error("--requests: expected a count from 1 to "
                                   "2G, got '%s'",
                                   optarg);
            break;
        case 'm':
            if (units_parse_count(optarg, &g.n_obs_target))
                return usage_error("--observations: expected a count, got "
                                   "'%s'",
                                   optarg);
            break;
        case 'a':
            if (units_parse_count(optarg, &v) || v < 1 || v > 100000)
                return usage_error("--agents: expected a count from 1 to "
                                   "100000, got '%s'",
                                   optarg);
            g.n_agents = (size_t)v;
            break;
        case 's':
            if (units_parse_i64(optarg, &v) || v < 0 || (uint64_t)v > SEED_MAX)
                return usage_error("--seed: expected a whole number from 0 "
                                   "to 2^53, got '%s'",
                                   optarg);
            g.seed = (uint64_t)v;
            break;
        case 'd':
            if (units_parse_duration(optarg, &g.duration) ||
                g.duration < 60 * NS_PER_S)
                return usage_error("--duration: expected a time of at least "
                                   "1m such as '3h', got '%s'",
                                   optarg);
            break;
        case 't':
            if (iso8601_parse(optarg, &g.start) || g.start <= 0)
                return usage_error("--start: expected an ISO-8601 time with "
                                   "zone, got '%s'",
                                   optarg);
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!g.out_dir)
        return usage_error("--out is required");

    snprintf(g.corr_prefix, sizeof(g.corr_prefix), "%08x-%04x-4%03x-8000-",
             (unsigned)(mix64(g.seed) >> 32),
             (unsigned)(mix64(g.seed) >> 16) & 0xffff,
             (unsigned)mix64(g.seed) & 0xfff);
    /* Until the files are written, a failure means the arguments ask for
     * a run that cannot be: invalid input. */
    rc = 2;
    if (plan(&g))
        goto out;
    /* Fail on a scenario that does not validate before the long work. */
    if (!(check = scenario_resolved(&g)))
        goto out;
    cJSON_Delete(check);
    make_agents(&g);
    make_world(&g);
    make_startup(&g);
    if (make_replay(&g))
        goto out;
    plan_obs429(&g);
    if (layout_polls(&g))
        goto out;
    for (size_t k = 0; k < g.n_chunks; k++)
        g.samples += chunk_polls(&g, k) * chunk_size(&g, k);
    render(&g);
    make_filler(&g);
    rc = 1;
    if (fs_mkdir_p(g.out_dir) || write_requests(&g) || write_observations(&g) ||
        write_operations(&g) || write_truth(&g) || write_run_json(&g))
        goto out;
    printf("gen_history: wrote '%s': %lld requests (%llu observer polls), "
           "%zu observations (%zu filler), %zu operations (%llu ok, %llu "
           "conflict, %llu gave_up), %llu 409s, %llu 429s, %zu truth rows, "
           "%.1f s\n",
           g.out_dir, (long long)g.n_requests, (unsigned long long)g.n_polls,
           g.n_obs, g.n_filler, g.n_ops,
           (unsigned long long)g.ops_by_outcome[OUT_OK],
           (unsigned long long)g.ops_by_outcome[OUT_CONFLICT],
           (unsigned long long)g.ops_by_outcome[OUT_GAVE_UP],
           (unsigned long long)g.by_status[409],
           (unsigned long long)g.by_status[429], g.n_truth,
           (double)(clock_mono_ns() - t0) / 1e9);
    rc = 0;
out:
    gen_free(&g);
    return rc;
}
