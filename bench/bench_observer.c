/*
 * Observer benchmark: the real observer threads (harness/observer.c, with
 * their sessions, token cache, rate limiter, tracker and history files)
 * against the embedded simulator, driven the way `racetrace run` drives
 * them, so the numbers are those of the shipped code path.
 *
 * Two modes:
 *
 *   --serve  start the simulator and print, one per line, "url=", "token=",
 *            "path=" (the bulk read of the first 100 agents, the observers'
 *            first chunk) and "ready", so bench/observer.sh can point wrk at
 *            the very same server.  Then read commands from stdin, one per
 *            line, until it closes:
 *                observe <threads> <duration>
 *            runs the observers in bulk mode with that many threads (one
 *            connection each) at full speed for the duration and answers
 *            with one "observe threads=... rps=..." line.
 *
 *   --soak <duration>
 *            run the observers at full speed for the duration and print the
 *            process's resident memory (VmRSS) and peak (VmHWM) from
 *            /proc/self/status at the start and every --every, to show
 *            that memory does not grow with the length of a run.
 *
 * Choices, and why:
 *  - The simulator keeps no logs (log_dir ""), so the disk cost measured is
 *    the observer's own requests.csv and observations.csv, which stay on:
 *    writing them is part of what an observer does.
 *  - "Full speed" is a poll interval of 1 ns with no jitter: every target
 *    is always due, so a thread never waits between polls, and a thread
 *    with one target (8 threads over 10 chunks) is as busy as one with
 *    five.  The rate limiter is unlimited, as against the simulator.
 *  - The token is fetched once, before any run, and shared by every run
 *    (and printed for wrk), so requests.csv holds only observer rows.
 *
 * Results go to stdout, diagnostics to stderr.  The history directory is a
 * fresh temporary directory per run, removed at the end of the run unless
 * --history-dir names one (then the files are kept there).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/http.h"
#include "api/oauth.h"
#include "api/ratelimit.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/units.h"
#include "base/xalloc.h"
#include "harness/history.h"
#include "harness/observer.h"
#include "harness/scenario.h"
#include "harness/session.h"
#include "harness/tracker.h"
#include "sim/config.h"
#include "sim/org.h"
#include "sim/sim.h"

#define EXIT_USAGE 2
#define DEFAULT_AGENTS 1000
#define DEFAULT_SOAK_THREADS 2
#define DEFAULT_INTERVAL_NS INT64_C(1)
#define DEFAULT_EVERY_NS (60 * NS_PER_S)
#define COMMAND_MAX 256
#define PATH_BYTES_MAX 8192
#define DIR_MAX 1024
#define THREADS_MAX 64

static const char usage[] =
    "usage: bench_observer --serve [--agents <n>] [--interval <time>]\n"
    "       bench_observer --soak <time> [--threads <n>] [--agents <n>]\n"
    "                      [--interval <time>] [--every <time>]\n"
    "                      [--history-dir <dir>]\n"
    "\n"
    "Benchmark the observers against the embedded simulator (127.0.0.1).\n"
    "\n"
    "    --serve              print url=, token=, path= and ready, then run\n"
    "                         'observe <threads> <time>' lines from stdin\n"
    "    --soak <time>        run the observers this long and print memory\n"
    "    --threads <n>        soak observer threads (default 2)\n"
    "    --agents <n>         simulated agents (default 1000: 10 chunks)\n"
    "    --interval <time>    poll interval per chunk (default 1ns: full\n"
    "                         speed)\n"
    "    --every <time>       soak memory sample period (default 1m)\n"
    "    --history-dir <dir>  keep the history files there (default: a\n"
    "                         temporary directory, removed after each run)\n";

struct opts {
    int serve;
    int64_t soak_ns;
    int threads;
    int64_t agents;
    int64_t interval_ns;
    int64_t every_ns;
    const char *history_dir;
};

/* The server side and what every run shares. */
struct bench {
    struct sim *sim;
    struct scenario *scn;
    struct oauth_cache *auth;
    char token[OAUTH_HEADER_MAX];
    int64_t interval_ns;
};

/* One run of the observers. */
struct run_result {
    int threads;
    int64_t elapsed_ns;
    struct observers_stats st;
    struct tracker_stats ts;
    uint64_t rows_counted; /* history_request_count() */
    uint64_t rows_on_disk; /* data lines of requests.csv */
    int64_t requests_csv_bytes;
    uint64_t observation_rows;
};

/* Resident memory of this process, from /proc/self/status. */
struct mem {
    int64_t rss_kib; /* VmRSS */
    int64_t hwm_kib; /* VmHWM: peak resident set size */
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

/* The number after "<key>:" on a /proc status line, or -1. */
static int64_t status_kib(const char *line, const char *key)
{
    size_t k = strlen(key), n = 0;
    const char *p;
    char digits[32];
    int64_t v;

    if (strncmp(line, key, k) || line[k] != ':')
        return -1;
    for (p = line + k + 1; *p == ' ' || *p == '\t'; p++)
        ;
    while (p[n] >= '0' && p[n] <= '9' && n + 1 < sizeof(digits)) {
        digits[n] = p[n];
        n++;
    }
    digits[n] = '\0';
    return n && units_parse_i64(digits, &v) == RT_OK ? v : -1;
}

static enum rt_err mem_read(struct mem *out)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int64_t v;

    out->rss_kib = out->hwm_kib = -1;
    if (!f)
        return rt_fail(RT_EIO, "cannot open '/proc/self/status': %s",
                       strerror(errno));
    while (fgets(line, sizeof(line), f)) {
        if ((v = status_kib(line, "VmRSS")) >= 0)
            out->rss_kib = v;
        else if ((v = status_kib(line, "VmHWM")) >= 0)
            out->hwm_kib = v;
    }
    fclose(f);
    if (out->rss_kib < 0 || out->hwm_kib < 0)
        return rt_fail(RT_EPARSE, "no VmRSS or VmHWM in '/proc/self/status'");
    return RT_OK;
}

/* Data lines (newlines minus the header's) and size of a CSV file. */
static enum rt_err count_lines(const char *path, uint64_t *rows, int64_t *bytes)
{
    char block[65536];
    uint64_t lines = 0;
    int64_t total = 0;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return rt_fail(RT_EIO, "cannot open '%s': %s", path, strerror(errno));
    while ((n = read(fd, block, sizeof(block))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            return rt_fail(RT_EIO, "cannot read '%s': %s", path,
                           strerror(errno));
        }
        total += n;
        for (ssize_t i = 0; i < n; i++)
            lines += block[i] == '\n';
    }
    close(fd);
    *rows = lines ? lines - 1 : 0;
    *bytes = total;
    return RT_OK;
}

static const char *const history_files[] = {"requests.csv", "observations.csv",
                                            "operations.csv"};

/* Remove the history files and the directory that held them. */
static void remove_history(const char *dir)
{
    char path[DIR_MAX + 32];

    for (size_t i = 0; i < sizeof(history_files) / sizeof(history_files[0]);
         i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, history_files[i]);
        if (unlink(path) && errno != ENOENT)
            log_warn("cannot remove '%s': %s", path, strerror(errno));
    }
    if (rmdir(dir))
        log_warn("cannot remove '%s': %s", dir, strerror(errno));
}

/* ------------------------------------------------------------------ */
/* The server and the token                                            */

static enum rt_err bench_start(struct bench *b, const struct opts *o)
{
    struct sim_config cfg;
    struct oauth_cache_config ac;
    struct http_client *http = NULL;
    char header[OAUTH_HEADER_MAX];
    const char *prefix = "Authorization: Bearer ";
    uint64_t generation;
    enum rt_err err;

    memset(b, 0, sizeof(*b));
    b->interval_ns = o->interval_ns;
    /* Default world: agents change presence and routing status on their
     * own, so the tracker writes observation rows as in a real run; no
     * actors, no injected latency or faults, no logs. */
    sim_config_defaults(&cfg);
    cfg.port = 0;
    cfg.agents = o->agents;
    cfg.world.presence_enabled = 1;
    cfg.log_dir[0] = '\0';
    if ((err = sim_start(&b->sim, &cfg)))
        return err;

    b->scn = xcalloc(1, sizeof(*b->scn));
    scenario_defaults(b->scn);
    b->scn->observe.mode = SCN_OBSERVE_BULK;
    b->scn->observe.jitter = 0;
    b->scn->observe.interval_ns = o->interval_ns;

    memset(&ac, 0, sizeof(ac));
    ac.login_url = sim_url(b->sim);
    ac.client_id = sim_config(b->sim)->client_id;
    ac.client_secret = sim_config(b->sim)->client_secret;
    ac.on_exchange = session_oauth_hook;
    if ((err = oauth_cache_new(&b->auth, &ac)))
        goto fail;
    /* Fetch the token now: every run (and wrk) uses this one. */
    if ((err = http_client_new(&http, NULL)))
        goto fail;
    err =
        oauth_cache_bearer(b->auth, http, header, sizeof(header), &generation);
    http_client_free(http);
    if (err)
        goto fail;
    if (strncmp(header, prefix, strlen(prefix))) {
        err = rt_fail(RT_EAUTH, "unexpected authorization header form");
        goto fail;
    }
    snprintf(b->token, sizeof(b->token), "%s", header + strlen(prefix));
    return RT_OK;
fail:
    oauth_cache_free(b->auth);
    free(b->scn);
    sim_stop(b->sim);
    memset(b, 0, sizeof(*b));
    return err;
}

static void bench_stop(struct bench *b)
{
    oauth_cache_free(b->auth);
    free(b->scn);
    sim_stop(b->sim);
    memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------------ */
/* One run                                                             */

/* Print a memory sample line (soak mode). */
static void print_sample(int64_t elapsed_ns, const struct observers_stats *st,
                         uint64_t rows, int64_t prev_requests,
                         int64_t period_ns)
{
    struct mem m;
    double rate = period_ns > 0 ? (double)(st->requests - prev_requests) * 1e9 /
                                      (double)period_ns
                                : 0;

    if (mem_read(&m))
        return;
    printf("soak elapsed_s=%lld requests=%lld rows=%llu rps=%.0f "
           "vmrss_kib=%lld vmhwm_kib=%lld\n",
           (long long)(elapsed_ns / NS_PER_S), (long long)st->requests,
           (unsigned long long)rows, rate, (long long)m.rss_kib,
           (long long)m.hwm_kib);
    fflush(stdout);
}

/*
 * Run the observers with @threads threads for @duration_ns against the
 * simulator, history in @dir_arg (kept) or a temporary directory
 * (removed).  With @every_ns > 0, print a memory sample at the start and
 * every @every_ns.
 */
static enum rt_err run_observers(struct bench *b, int threads,
                                 int64_t duration_ns, int64_t every_ns,
                                 const char *dir_arg, struct run_result *out)
{
    struct sim_org *org = sim_org(b->sim);
    struct harness h;
    struct observers *obs = NULL;
    char dir[DIR_MAX], path[DIR_MAX + 32];
    const char *tmp = getenv("TMPDIR");
    int64_t start_ns, end_ns, next_ns, prev_requests = 0, prev_ns;
    int64_t bytes;
    enum rt_err err;

    memset(out, 0, sizeof(*out));
    out->threads = threads;
    if (dir_arg) {
        if ((size_t)snprintf(dir, sizeof(dir), "%s", dir_arg) >= sizeof(dir))
            return rt_fail(RT_EINVAL, "history directory too long: '%s'",
                           dir_arg);
        if ((err = fs_mkdir_p(dir)))
            return err;
    } else {
        if ((size_t)snprintf(dir, sizeof(dir), "%s/rt-bench-observer-XXXXXX",
                             tmp && *tmp ? tmp : "/tmp") >= sizeof(dir))
            return rt_fail(RT_EINVAL, "TMPDIR too long: '%s'", tmp);
        if (!mkdtemp(dir))
            return rt_fail(RT_EIO, "cannot create '%s': %s", dir,
                           strerror(errno));
    }

    b->scn->observe.threads = threads;
    harness_init(&h);
    h.scn = b->scn;
    h.is_sim = 1;
    snprintf(h.api_url, sizeof(h.api_url), "%s", sim_url(b->sim));
    h.auth = b->auth;
    h.limiter = ratelimit_new(0, 0);
    if ((err = history_open(&h.history, dir)))
        goto out;
    h.n_agents = org_agent_count(org);
    h.agent_ids = xcalloc(h.n_agents + 1, sizeof(char *));
    for (size_t i = 0; i < h.n_agents; i++)
        h.agent_ids[i] = xstrdup(org_agent_id(org, i));
    h.tracker = tracker_new(h.agent_ids, h.n_agents, h.history, "poll");
    h.start_mono_ns = clock_mono_ns();
    h.start_wall_ns = clock_wall_ns();

    if (every_ns > 0) {
        struct observers_stats zero;

        memset(&zero, 0, sizeof(zero));
        print_sample(0, &zero, 0, 0, 0);
    }
    start_ns = clock_mono_ns();
    if ((err = observers_start(&obs, &h, b->interval_ns)))
        goto out;
    end_ns = start_ns + duration_ns;
    prev_ns = start_ns;
    next_ns = every_ns > 0 ? start_ns + every_ns : end_ns;
    while (!harness_wait_until(&h, next_ns < end_ns ? next_ns : end_ns)) {
        int64_t now = clock_mono_ns();
        struct observers_stats st;

        if (every_ns > 0 && now >= next_ns) {
            observers_stats(obs, &st);
            print_sample(now - start_ns, &st, history_request_count(h.history),
                         prev_requests, now - prev_ns);
            fprintf(stderr, "bench_observer: %lld s of %lld s, %lld requests\n",
                    (long long)((now - start_ns) / NS_PER_S),
                    (long long)(duration_ns / NS_PER_S),
                    (long long)st.requests);
            prev_requests = st.requests;
            prev_ns = now;
            next_ns += every_ns;
        }
        if (now >= end_ns)
            break;
    }
    harness_stop(&h);
    observers_join_stats(obs, &out->st);
    obs = NULL;
    out->elapsed_ns = clock_mono_ns() - start_ns;
    tracker_stats(h.tracker, &out->ts);
    out->rows_counted = history_request_count(h.history);
    err = history_close(h.history);
    h.history = NULL;
    if (err)
        goto out;
    snprintf(path, sizeof(path), "%s/requests.csv", dir);
    if ((err = count_lines(path, &out->rows_on_disk, &out->requests_csv_bytes)))
        goto out;
    snprintf(path, sizeof(path), "%s/observations.csv", dir);
    err = count_lines(path, &out->observation_rows, &bytes);
out:
    if (obs) {
        harness_stop(&h);
        observers_join(obs);
    }
    if (h.history)
        history_close(h.history);
    tracker_free(h.tracker);
    ratelimit_free(h.limiter);
    harness_release(&h);
    if (!dir_arg)
        remove_history(dir);
    return err;
}

static double rate_of(const struct run_result *r)
{
    return r->elapsed_ns > 0
               ? (double)r->st.requests * 1e9 / (double)r->elapsed_ns
               : 0;
}

static void print_result(const char *what, const struct run_result *r)
{
    printf("%s threads=%d seconds=%.3f requests=%lld rps=%.1f failed=%lld "
           "unparsable=%lld missing=%lld samples=%lld rows=%llu "
           "rows_on_disk=%llu requests_csv_bytes=%lld observation_rows=%llu "
           "version_changes=%lld presence_changes=%lld routing_changes=%lld\n",
           what, r->threads, (double)r->elapsed_ns / 1e9,
           (long long)r->st.requests, rate_of(r), (long long)r->st.failed,
           (long long)r->st.unparsable, (long long)r->st.missing,
           (long long)r->st.samples, (unsigned long long)r->rows_counted,
           (unsigned long long)r->rows_on_disk,
           (long long)r->requests_csv_bytes,
           (unsigned long long)r->observation_rows,
           (long long)r->ts.version_changes, (long long)r->ts.presence_changes,
           (long long)r->ts.routing_changes);
    fflush(stdout);
}

/* Every request answered, parsed and written: otherwise the rate would
 * not be that of the observer's real work. */
static enum rt_err check_result(const struct run_result *r)
{
    if (r->st.requests == 0 || r->st.failed || r->st.unparsable ||
        r->st.missing || r->rows_on_disk != (uint64_t)r->st.requests ||
        r->rows_counted != (uint64_t)r->st.requests)
        return rt_fail(RT_EIO,
                       "observer run not clean: %lld requests, %lld failed, "
                       "%lld unparsable, %lld missing, %llu rows counted, "
                       "%llu rows in 'requests.csv'",
                       (long long)r->st.requests, (long long)r->st.failed,
                       (long long)r->st.unparsable, (long long)r->st.missing,
                       (unsigned long long)r->rows_counted,
                       (unsigned long long)r->rows_on_disk);
    return RT_OK;
}

/* ------------------------------------------------------------------ */
/* Modes                                                               */

/* The bulk read of the first chunk, exactly as the observers ask for it
 * (ids in the org's order, then page size and expands). */
static enum rt_err first_chunk_path(struct bench *b, struct buf *path)
{
    struct sim_org *org = sim_org(b->sim);
    size_t n = org_agent_count(org);
    enum rt_err err;

    if (n < OBSERVER_CHUNK_MAX)
        return rt_fail(RT_EINVAL, "need at least %d agents, have %zu",
                       OBSERVER_CHUNK_MAX, n);
    err = buf_puts(path, "/api/v2/users?id=");
    for (size_t i = 0; !err && i < OBSERVER_CHUNK_MAX; i++)
        err = buf_printf(path, "%s%s", i ? "," : "", org_agent_id(org, i));
    if (!err)
        err = buf_puts(path, "&pageSize=100&expand=presence,routingStatus");
    return err ? rt_fail(err, "bulk path too long") : RT_OK;
}

static void count_user(void *ctx, const struct observer_user *u)
{
    size_t *n = ctx;

    if (u->version >= 0 && u->presence && u->routing)
        (*n)++;
}

/* GET @path once, as wrk will, and check the answer holds 100 users with
 * version, presence and routing status. */
static enum rt_err check_path(struct bench *b, const char *path)
{
    struct http_client *http = NULL;
    struct http_response resp;
    struct http_request req;
    struct buf url, auth;
    size_t users = 0, offset = 0;
    enum rt_err err;

    buf_init(&url, PATH_BYTES_MAX + 64);
    buf_init(&auth, OAUTH_HEADER_MAX);
    http_response_init(&resp);
    if ((err = buf_printf(&url, "%s%s", sim_url(b->sim), path)) ||
        (err = buf_printf(&auth, "Authorization: Bearer %s", b->token)) ||
        (err = http_client_new(&http, NULL)))
        goto out;
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = buf_str(&url);
    req.headers[req.n_headers++] = buf_str(&auth);
    if ((err = http_client_perform(http, &req, &resp)))
        goto out;
    if (resp.status != 200) {
        err = rt_fail(RT_EHTTP, "GET '%s' answered %ld", path, resp.status);
        goto out;
    }
    if ((err = observer_parse_listing(resp.body.data, resp.body.len, count_user,
                                      &users, &offset, NULL))) {
        err = rt_fail(err, "cannot parse the bulk answer at byte %zu", offset);
        goto out;
    }
    if (users != OBSERVER_CHUNK_MAX)
        err = rt_fail(RT_EPARSE, "bulk answer held %zu complete users, not %d",
                      users, OBSERVER_CHUNK_MAX);
    else
        printf("bytes=%zu\n", resp.body.len);
out:
    http_client_free(http);
    http_response_release(&resp);
    buf_release(&auth);
    buf_release(&url);
    return err;
}

/* Split "observe <threads> <duration>" and run it. */
static enum rt_err serve_command(struct bench *b, const struct opts *o,
                                 char *line)
{
    char *words[4];
    size_t n = 0;
    char *p = line;
    int64_t threads, duration_ns;
    struct run_result r;
    enum rt_err err;

    while (n < 4) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        words[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
    if (n == 0)
        return RT_OK;
    if (n != 3 || strcmp(words[0], "observe"))
        return rt_fail(RT_EINVAL,
                       "unknown command '%s'; expected "
                       "'observe <threads> <duration>'",
                       words[0]);
    if (units_parse_i64(words[1], &threads) || threads < 1 ||
        threads > THREADS_MAX)
        return rt_fail(RT_EINVAL, "invalid thread count '%s': expected 1 to %d",
                       words[1], THREADS_MAX);
    if (units_parse_duration(words[2], &duration_ns) || duration_ns <= 0)
        return rt_fail(RT_EINVAL, "invalid duration '%s'", words[2]);
    if ((err = run_observers(b, (int)threads, duration_ns, 0, o->history_dir,
                             &r)))
        return err;
    print_result("observe", &r);
    return check_result(&r);
}

static int serve(const struct opts *o)
{
    struct bench b;
    struct buf path;
    char line[COMMAND_MAX];
    int rc = 1;

    if (bench_start(&b, o))
        return 1;
    buf_init(&path, PATH_BYTES_MAX);
    if (first_chunk_path(&b, &path) || check_path(&b, buf_str(&path)))
        goto out;
    printf("url=%s\ntoken=%s\npath=%s\nready\n", sim_url(b.sim), b.token,
           buf_str(&path));
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (serve_command(&b, o, line))
            goto out;
    }
    rc = 0;
out:
    buf_release(&path);
    bench_stop(&b);
    return rc;
}

static int soak(const struct opts *o)
{
    struct bench b;
    struct run_result r;
    struct mem m;
    enum rt_err err;

    if (bench_start(&b, o))
        return 1;
    printf("soak agents=%lld threads=%d duration_s=%lld every_s=%lld "
           "interval_ns=%lld\n",
           (long long)o->agents, o->threads, (long long)(o->soak_ns / NS_PER_S),
           (long long)(o->every_ns / NS_PER_S), (long long)o->interval_ns);
    err = run_observers(&b, o->threads, o->soak_ns, o->every_ns, o->history_dir,
                        &r);
    if (!err) {
        print_result("soak-done", &r);
        err = check_result(&r);
    }
    /* After the join, before the simulator stops: what stays. */
    if (!err && !(err = mem_read(&m)))
        printf("soak-end vmrss_kib=%lld vmhwm_kib=%lld\n", (long long)m.rss_kib,
               (long long)m.hwm_kib);
    bench_stop(&b);
    return err ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Command line                                                        */

enum {
    OPT_SERVE = 256,
    OPT_SOAK,
    OPT_THREADS,
    OPT_AGENTS,
    OPT_INTERVAL,
    OPT_EVERY,
    OPT_HISTORY_DIR,
    OPT_HELP
};

static const struct option options[] = {
    {"serve", no_argument, NULL, OPT_SERVE},
    {"soak", required_argument, NULL, OPT_SOAK},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"agents", required_argument, NULL, OPT_AGENTS},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"every", required_argument, NULL, OPT_EVERY},
    {"history-dir", required_argument, NULL, OPT_HISTORY_DIR},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0}};

static int bad_arg(const char *flag, const char *value, const char *want)
{
    log_error("invalid value '%s' for --%s: %s", value, flag, want);
    return EXIT_USAGE;
}

/* 0 when @o is filled in; an exit code otherwise. */
static int parse_args(int argc, char **argv, struct opts *o)
{
    int64_t v;
    int c;

    memset(o, 0, sizeof(*o));
    o->threads = DEFAULT_SOAK_THREADS;
    o->agents = DEFAULT_AGENTS;
    o->interval_ns = DEFAULT_INTERVAL_NS;
    o->every_ns = DEFAULT_EVERY_NS;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case OPT_SERVE:
            o->serve = 1;
            break;
        case OPT_SOAK:
            if (units_parse_duration(optarg, &o->soak_ns) || o->soak_ns <= 0)
                return bad_arg("soak", optarg, "expected a duration, e.g. 10m");
            break;
        case OPT_THREADS:
            if (units_parse_i64(optarg, &v) || v < 1 || v > THREADS_MAX)
                return bad_arg("threads", optarg, "expected 1 to 64");
            o->threads = (int)v;
            break;
        case OPT_AGENTS:
            if (units_parse_count(optarg, &v) || v < OBSERVER_CHUNK_MAX ||
                v > 100000)
                return bad_arg("agents", optarg, "expected 100 to 100000");
            o->agents = v;
            break;
        case OPT_INTERVAL:
            if (units_parse_duration(optarg, &o->interval_ns) ||
                o->interval_ns <= 0)
                return bad_arg("interval", optarg,
                               "expected a positive duration, e.g. 20ms");
            break;
        case OPT_EVERY:
            if (units_parse_duration(optarg, &o->every_ns) ||
                o->every_ns < NS_PER_S)
                return bad_arg("every", optarg,
                               "expected a duration of at least 1s");
            break;
        case OPT_HISTORY_DIR:
            o->history_dir = optarg;
            break;
        case OPT_HELP:
            fputs(usage, stdout);
            exit(0);
        default:
            fputs(usage, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc || o->serve == (o->soak_ns > 0)) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    int rc;

    if ((rc = parse_args(argc, argv, &o)))
        return rc;
    log_set_level(LOG_WARN);
    if (http_global_init())
        return 1;
    rc = o.serve ? serve(&o) : soak(&o);
    http_global_cleanup();
    return rc;
}
