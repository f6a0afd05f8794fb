/*
 * A real org's needs end to end, against `racetrace sim` started as a
 * process of its own and used as a remote target (--target
 * http://127.0.0.1:PORT), which racetrace must protect like a real org.
 * Safe writes:
 *
 *   (a) a run stopped with SIGINT in the middle of its replay leaves every
 *       agent as it was before the run, field by field (versions move and
 *       are not compared), for each built-in operation;
 *   (b) after SIGKILL in the middle of the replay the agents differ, and
 *       `racetrace restore RUN` puts them back; a second restore finds
 *       nothing to do;
 *   (c) --dry-run sends no write (the simulator's server.csv has no
 *       PATCH, PUT or DELETE, and no POST but the token's) and lists the
 *       writes it would have made;
 *   (d) without --allow-writes the replay is refused before anything runs;
 *   (e) `racetrace restore` with a missing or malformed snapshot answers
 *       one line naming the file and the JSON path, exit 2.
 * The rest (issue 5's other done-when points):
 *   (f) with the notifications stream on, presence and routing changes
 *       come from it with server times and none from polling; a forced
 *       socket_closing and a dropped socket are survived with short gaps
 *       and counted; the integration actor's bumps are attributed to its
 *       OAuth client by the audit trail (verdict other-writer);
 *   (g) a slow poll's missed transitions are filled in from analytics and
 *       counted, and a 403 on the audit query is reported, not fatal.
 *
 * The state before and after is read over REST by the test itself, not
 * by the code under test.  The world moves presence and routing status,
 * and a routing-engine actor bumps versions with empty patches, but no
 * actor writes what the replay writes.  Progress is observed, never
 * slept on: the test waits (bounded) for operations.csv to show a
 * successful write before it sends the signal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "api/http.h"
#include "api/oauth.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/fs.h"
#include "support/csvread.h"
#include "support/files.h"
#include "support/spawn.h"

extern char **environ;

#define AGENTS 12
#define WAIT_LIMIT_NS (180 * NS_PER_S)
#define POLL_NS (20 * NS_PER_MS)
#define CHILDREN_MAX 8

static char binary[PATH_MAX];
static char scratch[1024];

/* Children this test started and has not reaped: a failed assertion
 * leaves the test early, and teardown ends them, by pid. */
static pid_t children[CHILDREN_MAX];

static void child_add(pid_t pid)
{
    for (int i = 0; i < CHILDREN_MAX; i++)
        if (!children[i]) {
            children[i] = pid;
            return;
        }
    fail_msg("too many children");
}

/* Wait for @pid; its wait status. */
static int child_wait(pid_t pid)
{
    int status = 0;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    for (int i = 0; i < CHILDREN_MAX; i++)
        if (children[i] == pid)
            children[i] = 0;
    return status;
}

static int end_children(void **state)
{
    (void)state;
    for (int i = 0; i < CHILDREN_MAX; i++)
        if (children[i]) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    return 0;
}

/* Between two looks at a file being written: polling, not a wait for
 * anything in particular. */
static void nap(void)
{
    clock_sleep_ns(POLL_NS);
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */

struct simproc {
    pid_t pid;
    char url[512];
    char id[512];
    char secret[512];
    char log_dir[2048];
};

/* This process's environment without GENESYSCLOUD_*, plus the
 * simulator's credentials when @sim is not NULL.  Caller frees the array
 * and the two strings it adds (the last two before NULL). */
static char **child_env(const struct simproc *sim)
{
    size_t n = 0, k = 0;
    char **env;

    while (environ[n])
        n++;
    env = calloc(n + 3, sizeof(*env));
    assert_non_null(env);
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "GENESYSCLOUD_", 13))
            env[k++] = environ[i];
    if (sim) {
        size_t len = strlen(sim->id) + 64;
        env[k] = malloc(len);
        snprintf(env[k++], len, "GENESYSCLOUD_OAUTHCLIENT_ID=%s", sim->id);
        len = strlen(sim->secret) + 64;
        env[k] = malloc(len);
        snprintf(env[k++], len, "GENESYSCLOUD_OAUTHCLIENT_SECRET=%s",
                 sim->secret);
    }
    env[k] = NULL;
    return env;
}

static void child_env_free(char **env, int added)
{
    size_t n = 0;

    while (env[n])
        n++;
    for (int i = 0; i < added; i++)
        free(env[n - 1 - (size_t)i]);
    free(env);
}

/*
 * Start racetrace with @args (NULL-terminated, without argv[0]) in the
 * scratch directory, stdout and stderr into @tag.out and @tag.err there,
 * the stop signals blocked from the start (racetrace blocks them on its
 * first line anyway; a signal that lands earlier must stay pending).
 */
static pid_t start(char *const *args, const struct simproc *sim,
                   const char *tag)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t stop;
    char out[PATH_MAX], err[PATH_MAX];
    char *argv[32];
    char **env = child_env(sim);
    pid_t pid;
    size_t n = 0;

    argv[n++] = binary;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    snprintf(out, sizeof(out), "%s/%s.out", scratch, tag);
    snprintf(err, sizeof(err), "%s/%s.err", scratch, tag);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addchdir_np(&fa, scratch);
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &stop);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    assert_int_equal(posix_spawn(&pid, binary, &fa, &attr, argv, env), 0);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    child_env_free(env, sim ? 2 : 0);
    child_add(pid);
    return pid;
}

/* The text of @tag.err (caller frees). */
static char *stderr_of(const char *tag)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s.err", scratch, tag);
    return files_read(path, NULL);
}

/* Run racetrace to its end; its exit code (fails the test when it was
 * killed by a signal, with its stderr). */
static int run_to_end(char *const *args, const struct simproc *sim,
                      const char *tag)
{
    int status = child_wait(start(args, sim, tag));

    if (!WIFEXITED(status)) {
        char *err = stderr_of(tag);
        fail_msg("racetrace %s died (status %d):\n%s", args[0], status, err);
    }
    return WEXITSTATUS(status);
}

static void expect_exit(char *const *args, const struct simproc *sim,
                        const char *tag, int want)
{
    int rc = run_to_end(args, sim, tag);

    if (rc != want) {
        char *err = stderr_of(tag);
        fail_msg("racetrace %s %s exited %d, want %d; stderr:\n%s", args[0],
                 args[1] ? args[1] : "", rc, want, err);
    }
}

/* `racetrace sim` on a free port with the world of scenario @world (the
 * scratch world.json when NULL), its logs in @log_dir; reads back the URL
 * and the credentials it prints. */
static void sim_start_world(struct simproc *s, const char *tag,
                            const char *world_file)
{
    posix_spawn_file_actions_t fa;
    char err[PATH_MAX], world[PATH_MAX];
    char line[512];
    int fds[2];
    FILE *f;
    char *argv[] = {binary, "sim",       "--agents", "12", "--scenario",
                    world,  "--log-dir", s->log_dir, "-q", NULL};
    char **env = child_env(NULL);

    snprintf(s->log_dir, sizeof(s->log_dir), "%s/%s-sim", scratch, tag);
    if (world_file)
        snprintf(world, sizeof(world), "%s", world_file);
    else
        snprintf(world, sizeof(world), "%s/world.json", scratch);
    snprintf(err, sizeof(err), "%s/%s-sim.err", scratch, tag);
    assert_int_equal(pipe(fds), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    assert_int_equal(posix_spawn(&s->pid, binary, &fa, NULL, argv, env), 0);
    posix_spawn_file_actions_destroy(&fa);
    child_env_free(env, 0);
    child_add(s->pid);
    close(fds[1]);
    assert_non_null(f = fdopen(fds[0], "r"));
    /* The three lines come as soon as it listens; EOF means it died. */
    assert_non_null(fgets(line, sizeof(line), f));
    line[strcspn(line, "\n")] = '\0';
    snprintf(s->url, sizeof(s->url), "%s", line);
    assert_non_null(fgets(line, sizeof(line), f));
    line[strcspn(line, "\n")] = '\0';
    assert_int_equal(strncmp(line, "client_id=", 10), 0);
    snprintf(s->id, sizeof(s->id), "%s", line + 10);
    assert_non_null(fgets(line, sizeof(line), f));
    line[strcspn(line, "\n")] = '\0';
    assert_int_equal(strncmp(line, "client_secret=", 14), 0);
    snprintf(s->secret, sizeof(s->secret), "%s", line + 14);
    fclose(f);
    assert_int_equal(strncmp(s->url, "http://127.0.0.1:", 17), 0);
}

static void sim_start_proc(struct simproc *s, const char *tag)
{
    sim_start_world(s, tag, NULL);
}

/* SIGTERM, and the simulator flushes its logs and exits 0. */
static void sim_stop_proc(struct simproc *s)
{
    int status;

    kill(s->pid, SIGTERM);
    status = child_wait(s->pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ------------------------------------------------------------------ */
/* The test's own REST client                                          */

struct client {
    struct http_client *http;
    struct http_response resp;
    char auth[OAUTH_HEADER_MAX];
    const struct simproc *sim;
};

static void client_open(struct client *c, const struct simproc *sim)
{
    struct oauth_token tok;

    memset(c, 0, sizeof(*c));
    c->sim = sim;
    assert_int_equal(http_client_new(&c->http, NULL), RT_OK);
    http_response_init(&c->resp);
    assert_int_equal(oauth_request_token(c->http, sim->url, sim->id,
                                         sim->secret, &c->resp, &tok),
                     RT_OK);
    snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %s",
             tok.access_token);
}

static void client_close(struct client *c)
{
    http_response_release(&c->resp);
    http_client_free(c->http);
}

static cJSON *get(struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static cJSON *get(struct client *c, const char *fmt, ...)
{
    struct http_request req;
    char path[1024], url[2048];
    va_list ap;
    cJSON *root;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    snprintf(url, sizeof(url), "%s%s", c->sim->url, path);
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = url;
    req.headers[req.n_headers++] = c->auth;
    req.headers[req.n_headers++] = "Accept: application/json";
    assert_int_equal(http_client_perform(c->http, &req, &c->resp), RT_OK);
    if (c->resp.status != 200)
        fail_msg("GET %s answered %ld: %s", path, c->resp.status,
                 buf_str(&c->resp.body));
    root = cJSON_Parse(buf_str(&c->resp.body));
    assert_non_null(root);
    return root;
}

/* Every agent id of the simulated org. */
static cJSON *agent_ids(struct client *c)
{
    cJSON *root = get(c, "/api/v2/users?pageSize=100"), *ids, *e;

    ids = cJSON_CreateArray();
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "entities"))
        cJSON_AddItemToArray(
            ids, cJSON_CreateString(
                     cJSON_GetObjectItemCaseSensitive(e, "id")->valuestring));
    cJSON_Delete(root);
    assert_int_equal(cJSON_GetArraySize(ids), AGENTS);
    return ids;
}

/* [{id, @key}] of a listing's entities, with @extra as @key when given. */
static void listing_into(cJSON *out, cJSON *listing, const char *key,
                         cJSON *extra)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(listing, "entities"))
    {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(
            o, "id",
            cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(e, "id"), 1));
        cJSON_AddItemToObject(
            o, key,
            cJSON_Duplicate(
                extra ? extra : cJSON_GetObjectItemCaseSensitive(e, key), 1));
        cJSON_AddItemToArray(out, o);
    }
    cJSON_Delete(listing);
}

/* What @op touches, for every agent: {id: state}. */
static cJSON *capture(struct client *c, const char *op)
{
    cJSON *ids = agent_ids(c), *all = cJSON_CreateObject();
    const cJSON *idv;

    cJSON_ArrayForEach(idv, ids)
    {
        const char *id = idv->valuestring;
        cJSON *st;

        if (!strcmp(op, "user-patch")) {
            cJSON *u = get(c, "/api/v2/users/%s", id);
            cJSON *d = cJSON_GetObjectItemCaseSensitive(u, "department");
            st = cJSON_CreateObject();
            cJSON_AddItemToObject(st, "department",
                                  d ? cJSON_Duplicate(d, 1)
                                    : cJSON_CreateNull());
            cJSON_Delete(u);
        } else if (!strcmp(op, "utilization-put")) {
            st = get(c, "/api/v2/routing/users/%s/utilization", id);
        } else if (!strcmp(op, "skills-bulk-patch")) {
            st = cJSON_CreateArray();
            listing_into(
                st, get(c, "/api/v2/users/%s/routingskills?pageSize=100", id),
                "proficiency", NULL);
        } else {
            cJSON *t = cJSON_CreateTrue(), *f = cJSON_CreateFalse();
            st = cJSON_CreateArray();
            listing_into(st,
                         get(c,
                             "/api/v2/users/%s/queues?pageSize=100&joined="
                             "true",
                             id),
                         "joined", t);
            listing_into(st,
                         get(c,
                             "/api/v2/users/%s/queues?pageSize=100&joined="
                             "false",
                             id),
                         "joined", f);
            cJSON_Delete(t);
            cJSON_Delete(f);
        }
        cJSON_AddItemToObject(all, id, st);
    }
    cJSON_Delete(ids);
    return all;
}

/* Every agent of @before equals @after, or the test fails naming both. */
static void same_state(const cJSON *before, const cJSON *after,
                       const char *what)
{
    const cJSON *b;

    cJSON_ArrayForEach(b, before)
    {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(after, b->string);
        if (!a || !cJSON_Compare(a, b, 1)) {
            char *x = cJSON_PrintUnformatted(b);
            char *y = a ? cJSON_PrintUnformatted(a) : NULL;
            fail_msg("%s: agent %s was %s before the run, is %s", what,
                     b->string, x, y ? y : "(missing)");
        }
    }
}

/* ------------------------------------------------------------------ */
/* Watching a run                                                      */

/* The agent of the first "ok" row of RUN/operations.csv once there is
 * one (complete lines only: the file is being written), or fail when
 * @pid ends first or the wait runs out. */
static void wait_for_ok_row(const char *run_dir, pid_t pid, const char *tag,
                            char *agent, size_t agent_len)
{
    char path[PATH_MAX];
    int64_t deadline = clock_mono_ns() + WAIT_LIMIT_NS;

    snprintf(path, sizeof(path), "%s/operations.csv", run_dir);
    for (;;) {
        size_t len = 0;
        char *text = files_slurp(path, &len);
        int status;

        if (text) {
            char *end = strrchr(text, '\n');
            struct csvread *r =
                end ? csvread_parse(text, (size_t)(end - text) + 1) : NULL;
            free(text);
            if (r) {
                int co = csvread_col(r, "outcome"),
                    ca = csvread_col(r, "agent");
                for (size_t i = 0; i < csvread_rows(r); i++)
                    if (!strcmp(csvread_field(r, i, co), "ok")) {
                        snprintf(agent, agent_len, "%s",
                                 csvread_field(r, i, ca));
                        csvread_free(r);
                        return;
                    }
                csvread_free(r);
            }
        }
        if (waitpid(pid, &status, WNOHANG) == pid) {
            char *err = stderr_of(tag);
            for (int i = 0; i < CHILDREN_MAX; i++)
                if (children[i] == pid)
                    children[i] = 0;
            fail_msg("the run ended (status %d) before any write landed:\n%s",
                     status, err);
        }
        if (clock_mono_ns() > deadline)
            fail_msg("no successful write in '%s' after %lld s", path,
                     (long long)(WAIT_LIMIT_NS / NS_PER_S));
        nap();
    }
}

static cJSON *load_json(const char *dir, const char *name)
{
    char path[PATH_MAX];
    char *text;
    cJSON *root;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    text = files_read(path, NULL);
    root = cJSON_Parse(text);
    free(text);
    if (!root)
        fail_msg("'%s' is not JSON", path);
    return root;
}

static int64_t count_of(const cJSON *restore_json, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(restore_json, "counts"), key);
    assert_true(cJSON_IsNumber(v));
    return (int64_t)v->valuedouble;
}

/* The scenario file for @op with @per_minute requests a minute. */
static void scenario_budget(const char *op, int per_minute, char *out,
                            size_t len)
{
    char path[PATH_MAX], text[2048];

    snprintf(out, len, "%s/%s-%d.json", scratch, op, per_minute);
    snprintf(path, sizeof(path), "%s", out);
    snprintf(text, sizeof(text),
             "{\"name\": \"safe-%s\", \"seed\": 11, \"duration\": \"60s\",\n"
             " \"agents\": {\"count\": %d},\n"
             " \"budget\": {\"per_minute\": %d},\n"
             " \"observe\": {\"versions\": {\"mode\": \"bulk\", "
             "\"interval\": \"200ms\", \"threads\": 1}},\n"
             " \"replay\": {\"at\": \"1s\", \"operation\": \"%s\", "
             "\"strategies\": [\"retry\"], \"workers\": 1, "
             "\"pace\": \"300ms\"}}\n",
             op, AGENTS, per_minute, op);
    files_write_text(path, text);
}

/* The scenario file for @op, with a budget that never holds it back. */
static void scenario_for(const char *op, char *out, size_t len)
{
    scenario_budget(op, 60000, out, len);
}

/* Wait (bounded) until @tag.err says @text; fail when @pid ends first. */
static void wait_for_text(const char *tag, pid_t pid, const char *text)
{
    char path[PATH_MAX];
    int64_t deadline = clock_mono_ns() + WAIT_LIMIT_NS;

    snprintf(path, sizeof(path), "%s/%s.err", scratch, tag);
    for (;;) {
        char *got = files_slurp(path, NULL);
        int found = got && strstr(got, text), status;

        free(got);
        if (found)
            return;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            for (int i = 0; i < CHILDREN_MAX; i++)
                if (children[i] == pid)
                    children[i] = 0;
            fail_msg("'%s' never came; the run ended with status %d:\n%s", text,
                     status, stderr_of(tag));
        }
        if (clock_mono_ns() > deadline)
            fail_msg("'%s' did not come in %lld s", text,
                     (long long)(WAIT_LIMIT_NS / NS_PER_S));
        nap();
    }
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void sigint_mid_replay_leaves_every_agent_as_before(void **state)
{
    static const char *const ops[] = {"user-patch", "utilization-put",
                                      "skills-bulk-patch", "queue-join"};
    struct simproc sim;
    struct client c;

    (void)state;
    sim_start_proc(&sim, "sigint");
    client_open(&c, &sim);
    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
        char scn[2048], run[2048], tag[64], agent[128];
        cJSON *before = capture(&c, ops[k]), *after, *rj;
        pid_t pid;
        int status;
        char *err;

        scenario_for(ops[k], scn, sizeof(scn));
        snprintf(run, sizeof(run), "%s/sigint-%s", scratch, ops[k]);
        snprintf(tag, sizeof(tag), "sigint-%s", ops[k]);
        pid = start((char *const[]){"run", scn, "--target", sim.url,
                                    "--allow-writes", "--out", run, "-q", NULL},
                    &sim, tag);
        wait_for_ok_row(run, pid, tag, agent, sizeof(agent));
        kill(pid, SIGINT);
        status = child_wait(pid);
        err = stderr_of(tag);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("%s: the interrupted run exited with status %d:\n%s",
                     ops[k], status, err);
        if (!strstr(err, "stopping on Ctrl-C") ||
            !strstr(err, "restore: restored 12 agents") ||
            !strstr(err, "; 0 failed"))
            fail_msg("%s: stderr does not tell the restore:\n%s", ops[k], err);
        free(err);
        after = capture(&c, ops[k]);
        same_state(before, after, ops[k]);
        rj = load_json(run, "restore.json");
        assert_true(
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rj, "complete")));
        assert_int_equal(count_of(rj, "agents"), AGENTS);
        assert_int_equal(count_of(rj, "failed"), 0);
        assert_int_equal(count_of(rj, "not_attempted"), 0);
        /* At least the write the test saw was undone. */
        assert_true(count_of(rj, "restored") >= 1);
        cJSON_Delete(rj);
        rj = load_json(run, "run.json");
        assert_true(
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rj, "interrupted")));
        cJSON_Delete(rj);
        cJSON_Delete(before);
        cJSON_Delete(after);
    }
    client_close(&c);
    sim_stop_proc(&sim);
}

static void sigkill_then_restore_puts_agents_back(void **state)
{
    struct simproc sim;
    struct client c;
    char scn[2048], run[2048], agent[128], snap[PATH_MAX];
    cJSON *before, *killed, *after, *rj;
    const cJSON *a, *b;
    pid_t pid;
    int status;

    (void)state;
    sim_start_proc(&sim, "sigkill");
    client_open(&c, &sim);
    before = capture(&c, "user-patch");
    scenario_for("user-patch", scn, sizeof(scn));
    snprintf(run, sizeof(run), "%s/sigkill", scratch);
    pid = start((char *const[]){"run", scn, "--target", sim.url,
                                "--allow-writes", "--out", run, "-q", NULL},
                &sim, "sigkill");
    wait_for_ok_row(run, pid, "sigkill", agent, sizeof(agent));
    kill(pid, SIGKILL);
    status = child_wait(pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* The snapshot was on disk before the first write. */
    snprintf(snap, sizeof(snap), "%s/snapshot.json", run);
    assert_true(files_exists(snap));
    killed = capture(&c, "user-patch");
    b = cJSON_GetObjectItemCaseSensitive(before, agent);
    a = cJSON_GetObjectItemCaseSensitive(killed, agent);
    assert_non_null(a);
    assert_non_null(b);
    if (cJSON_Compare(a, b, 1))
        fail_msg("agent %s, written by the killed run, still looks "
                 "untouched",
                 agent);

    expect_exit((char *const[]){"restore", run, NULL}, &sim, "restore1", 0);
    after = capture(&c, "user-patch");
    same_state(before, after, "after racetrace restore");
    rj = load_json(run, "restore.json");
    assert_true(count_of(rj, "restored") >= 1);
    assert_int_equal(count_of(rj, "failed"), 0);
    cJSON_Delete(rj);
    /* Running it again is harmless: nothing is left to do. */
    expect_exit((char *const[]){"restore", run, NULL}, &sim, "restore2", 0);
    rj = load_json(run, "restore.json");
    assert_int_equal(count_of(rj, "restored"), 0);
    assert_int_equal(count_of(rj, "already_original"), AGENTS);
    cJSON_Delete(rj);
    cJSON_Delete(after);
    after = capture(&c, "user-patch");
    same_state(before, after, "after a second racetrace restore");

    cJSON_Delete(before);
    cJSON_Delete(killed);
    cJSON_Delete(after);
    client_close(&c);
    sim_stop_proc(&sim);
}

/*
 * A second Ctrl-C during the restore lets the agent in hand finish and
 * stops there: no agent is left half done, the rest stay "not_attempted",
 * the run exits 1 naming restore.json and the command, and that command
 * finishes the job.  A small budget keeps the restore slow enough for the
 * second signal to find it at work; if it ever finished first, the run
 * must simply have succeeded.
 */
static void second_sigint_stops_the_restore_between_agents(void **state)
{
    struct simproc sim;
    struct client c;
    char scn[2048], run[2048], agent[128];
    cJSON *before, *after, *rj;
    const cJSON *a;
    size_t not_attempted = 0;
    pid_t pid;
    int status;
    char *err;

    (void)state;
    sim_start_proc(&sim, "twice");
    client_open(&c, &sim);
    before = capture(&c, "user-patch");
    scenario_budget("user-patch", 120, scn, sizeof(scn));
    snprintf(run, sizeof(run), "%s/twice", scratch);
    pid = start((char *const[]){"run", scn, "--target", sim.url,
                                "--allow-writes", "--out", run, "-q", NULL},
                &sim, "twice");
    wait_for_ok_row(run, pid, "twice", agent, sizeof(agent));
    kill(pid, SIGINT);
    wait_for_text("twice", pid, "restore: putting back");
    kill(pid, SIGINT);
    status = child_wait(pid);
    assert_true(WIFEXITED(status));
    rj = load_json(run, "restore.json");
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(rj, "agents"))
    {
        const char *r =
            cJSON_GetObjectItemCaseSensitive(a, "result")->valuestring;
        if (strcmp(r, "restored") && strcmp(r, "already_original") &&
            strcmp(r, "not_attempted"))
            fail_msg("agent %s ended as %s",
                     cJSON_GetObjectItemCaseSensitive(a, "id")->valuestring, r);
        not_attempted += !strcmp(r, "not_attempted");
    }
    assert_int_equal(count_of(rj, "not_attempted"), (int64_t)not_attempted);
    cJSON_Delete(rj);
    err = stderr_of("twice");
    if (not_attempted) {
        if (WEXITSTATUS(status) != 1 || !strstr(err, "restore.json") ||
            !strstr(err, "then run: racetrace restore "))
            fail_msg("exit %d; want 1 and the command that finishes the "
                     "restore:\n%s",
                     WEXITSTATUS(status), err);
        expect_exit((char *const[]){"restore", run, NULL}, &sim,
                    "twice-restore", 0);
    } else {
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    free(err);
    after = capture(&c, "user-patch");
    same_state(before, after, "after the restore was finished");
    cJSON_Delete(before);
    cJSON_Delete(after);
    client_close(&c);
    sim_stop_proc(&sim);
}

/* A POST that is a query reads; anything else that is not a GET writes. */
static int is_write(const char *method, const char *route)
{
    size_t n = strlen(route);

    if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
        return 0;
    if (!strcmp(method, "POST"))
        return strcmp(route, "/oauth/token") &&
               !(n >= 6 && !strcmp(route + n - 6, "/query"));
    return 1;
}

static void dry_run_sends_no_write(void **state)
{
    struct simproc sim;
    struct client c;
    char scn[2048], run[2048], path[PATH_MAX];
    cJSON *before, *after, *rj;
    struct csvread *r;
    char *text, *line, *next;
    int lines = 0, gets = 0;
    int cc, cm, cr;

    (void)state;
    sim_start_proc(&sim, "dry");
    client_open(&c, &sim);
    before = capture(&c, "user-patch");
    scenario_for("user-patch", scn, sizeof(scn));
    snprintf(run, sizeof(run), "%s/dry", scratch);
    /* No --allow-writes: a dry run needs none. */
    expect_exit((char *const[]){"run", scn, "--target", sim.url, "--dry-run",
                                "--duration", "5s", "--out", run, "-q", NULL},
                &sim, "dry", 0);
    text = stderr_of("dry");
    if (!strstr(text, "dry run: 12 writes not sent; listed in"))
        fail_msg("stderr does not count the writes:\n%s", text);
    free(text);

    snprintf(path, sizeof(path), "%s/dry-run.txt", run);
    text = files_read(path, NULL);
    for (line = text; *line; line = next) {
        next = line + strcspn(line, "\n");
        if (*next)
            *next++ = '\0';
        lines++;
        if (strncmp(line, "PATCH /api/v2/users/", 20) ||
            !strstr(line, " {\"version\":") ||
            !strstr(line, "\"department\":\"Contact Center (racetrace)\""))
            fail_msg("unexpected dry-run line: %s", line);
    }
    free(text);
    assert_int_equal(lines, AGENTS);
    rj = load_json(run, "run.json");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rj, "dry_run")));
    cJSON_Delete(rj);
    snprintf(path, sizeof(path), "%s/operations.csv", run);
    assert_non_null(r = csvread_load(path));
    assert_int_equal(csvread_rows(r), AGENTS);
    for (size_t i = 0; i < csvread_rows(r); i++)
        assert_string_equal(csvread_field(r, i, csvread_col(r, "outcome")),
                            "dry_run");
    csvread_free(r);
    after = capture(&c, "user-patch");
    same_state(before, after, "after a dry run");
    client_close(&c);

    /* The simulator's own log, complete once it has stopped. */
    sim_stop_proc(&sim);
    snprintf(path, sizeof(path), "%s/server.csv", sim.log_dir);
    assert_non_null(r = csvread_load(path));
    cc = csvread_col(r, "client_id");
    cm = csvread_col(r, "method");
    cr = csvread_col(r, "route");
    assert_true(cc >= 0 && cm >= 0 && cr >= 0);
    for (size_t i = 0; i < csvread_rows(r); i++) {
        const char *m = csvread_field(r, i, cm);
        const char *route = csvread_field(r, i, cr);
        if (strcmp(csvread_field(r, i, cc), sim.id))
            continue;
        gets += !strcmp(m, "GET");
        if (is_write(m, route))
            fail_msg("the dry run sent %s %s", m, route);
    }
    csvread_free(r);
    /* Not vacuous: the reads did reach the server. */
    assert_true(gets > AGENTS);
    cJSON_Delete(before);
    cJSON_Delete(after);
}

static void writes_are_refused_without_allow_writes(void **state)
{
    char scn[2048], run[2048];
    char *err;

    (void)state;
    scenario_for("user-patch", scn, sizeof(scn));
    snprintf(run, sizeof(run), "%s/refused", scratch);
    expect_exit((char *const[]){"run", scn, "--target", "http://127.0.0.1:9",
                                "--out", run, NULL},
                NULL, "refused", 2);
    err = stderr_of("refused");
    if (!strstr(err, "refusing without --allow-writes"))
        fail_msg("unexpected refusal: %s", err);
    free(err);
    /* Refused before anything ran: not even the run directory. */
    assert_false(files_exists(run));
}

static void restore_names_a_bad_snapshot(void **state)
{
    char dir[2048], path[PATH_MAX];
    char *err;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/bad-restore", scratch);
    assert_int_equal(fs_mkdir_p(dir), RT_OK);
    expect_exit((char *const[]){"restore", dir, NULL}, NULL, "restore-missing",
                2);
    err = stderr_of("restore-missing");
    if (!strstr(err, "snapshot.json: cannot open") ||
        strchr(err, '\n') != strrchr(err, '\n'))
        fail_msg("want one line naming snapshot.json, got:\n%s", err);
    free(err);
    snprintf(path, sizeof(path), "%s/snapshot.json", dir);
    files_write_text(path,
                     "{\"tool\": \"racetrace\", \"format\": 1, \"operation\": "
                     "\"user-patch\", \"target\": {\"label\": \"us_west_2\", "
                     "\"api_url\": \"https://api.usw2.pure.cloud\"}, "
                     "\"agents\": [{\"id\": \"a1\", \"version\": 3, "
                     "\"fields\": 7}]}\n");
    expect_exit((char *const[]){"restore", dir, NULL}, NULL, "restore-bad", 2);
    err = stderr_of("restore-bad");
    if (!strstr(err, "snapshot.json: agents[0].fields: expected an object"))
        fail_msg("want the JSON path, got:\n%s", err);
    free(err);
}

/* ------------------------------------------------------------------ */
/* The rest of a real org: stream, audit, analytics                    */

/* The number in summary.json or run.json at the dotted @path, or NAN. */
static double num_at(const cJSON *root, const char *path)
{
    char key[128];
    const char *p = path;
    const cJSON *n = root;

    while (n && *p) {
        size_t len = strcspn(p, ".");
        snprintf(key, sizeof(key), "%.*s", (int)len, p);
        n = cJSON_GetObjectItemCaseSensitive(n, key);
        p += len + (p[len] == '.');
    }
    return cJSON_IsNumber(n) ? n->valuedouble : NAN;
}

static const char *str_at(const cJSON *root, const char *a, const char *b)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, a), b);
    return cJSON_IsString(n) ? n->valuestring : "";
}

/*
 * Against `racetrace sim` as a remote target, with the stream on: every
 * presence and routing change comes from the stream with a server time
 * (none from polling), a forced socket_closing and a dropped socket are
 * survived and counted with short gaps, the integration actor's bumps are
 * attributed to its OAuth client by the audit trail and the verdict is
 * other-writer naming it, and the department the replay wrote is put
 * back.
 */
static void stream_audit_and_faults_against_a_remote_sim(void **state)
{
    struct simproc sim;
    struct client c;
    char scn[PATH_MAX], run[PATH_MAX], path[PATH_MAX + 32];
    cJSON *before, *after, *summary, *rj;
    struct csvread *obs;
    size_t streamed = 0, polled = 0;
    int c_prop, c_src, c_server;
    char *md;

    (void)state;
    snprintf(scn, sizeof(scn), "%s/remote-stream.json", scratch);
    /* Fault times count from the simulator's start; the run begins right
     * after it and its replay at 4 s. */
    files_write_text(
        scn,
        "{\"name\": \"remote-stream\", \"seed\": 11, \"duration\": \"22s\",\n"
        " \"agents\": {\"count\": 12},\n"
        " \"world\": {\"presence\": {\"on_queue_share\": 0.8, \"mean_idle\":"
        " \"2s\", \"mean_handle\": \"4s\"},\n"
        "  \"actors\": [{\"kind\": \"integration\", \"every\": \"300ms\","
        " \"share\": 1.0, \"gap\": \"200ms..800ms\", \"client_id\":"
        " \"crm-sync-client\"}],\n"
        "  \"notifications\": {\"heartbeat\": \"1s\", \"closing_grace\":"
        " \"1s\", \"socket_closing_at\": [\"9s\"], \"drop_at\":"
        " [\"15s\"]}},\n"
        " \"observe\": {\"versions\": {\"mode\": \"bulk\", \"interval\":"
        " \"250ms\", \"threads\": 1}, \"presence\": {\"via\": \"stream\","
        " \"silence\": \"3s\"}},\n"
        " \"replay\": {\"at\": \"4s\", \"operation\": \"user-patch\","
        " \"strategies\": [\"bulk-stale\", \"retry\"], \"workers\": 2,"
        " \"pace\": \"100ms\"}}\n");
    sim_start_world(&sim, "stream", scn);
    client_open(&c, &sim);
    before = capture(&c, "user-patch");
    snprintf(run, sizeof(run), "%s/stream-run", scratch);
    expect_exit((char *const[]){"run", scn, "--target", sim.url,
                                "--allow-writes", "--out", run, "-q", NULL},
                &sim, "stream-run", 0);

    /* Presence and routing status came from the stream only, with the
     * server's time. */
    snprintf(path, sizeof(path), "%s/observations.csv", run);
    assert_non_null(obs = csvread_load(path));
    c_prop = csvread_col(obs, "property");
    c_src = csvread_col(obs, "source");
    c_server = csvread_col(obs, "server_wall_ns");
    assert_true(c_prop >= 0 && c_src >= 0 && c_server >= 0);
    for (size_t r = 0; r < csvread_rows(obs); r++) {
        const char *prop = csvread_field(obs, r, c_prop);
        const char *src = csvread_field(obs, r, c_src);
        if (!strcmp(prop, "version"))
            continue;
        if (!strcmp(src, "stream")) {
            streamed++;
            assert_true(csvread_i64(obs, r, c_server, 0) > 0);
        } else if (!strcmp(src, "poll")) {
            polled++;
        }
    }
    csvread_free(obs);
    assert_true(streamed > 0);
    assert_int_equal(polled, 0);

    /* Both faults were survived, counted, and left only short gaps:
     * reconnecting takes milliseconds here, and a silent socket would be
     * given up after 3 s. */
    rj = load_json(run, "run.json");
    assert_true(num_at(rj, "stream.socket_closing") >= 1);
    assert_true(num_at(rj, "stream.drops") >= 1);
    assert_true(num_at(rj, "stream.reconnects") >= 2);
    assert_true(num_at(rj, "stream.gap_max_ns") < 3.0 * NS_PER_S);
    assert_string_equal(str_at(rj, "target", "client_id"), sim.id);
    cJSON_Delete(rj);

    /* The audit trail names the integration's client. */
    summary = load_json(run, "summary.json");
    assert_string_equal(str_at(summary, "verdict", "cause"), "other-writer");
    assert_string_equal(
        str_at(cJSON_GetObjectItemCaseSensitive(summary, "verdict"), "writer",
               "client_id"),
        "crm-sync-client");
    assert_true(num_at(summary, "attribution.audit") > 0);
    cJSON_Delete(summary);
    snprintf(path, sizeof(path), "%s/summary.md", run);
    md = files_read(path, NULL);
    if (!strstr(md, "crm-sync-client") || !strstr(md, "Stream: "))
        fail_msg("summary.md does not name the writer or the stream:\n%s", md);
    free(md);

    /* And the replay's writes are undone. */
    after = capture(&c, "user-patch");
    same_state(before, after, "after the stream run");
    cJSON_Delete(before);
    cJSON_Delete(after);
    client_close(&c);
    sim_stop_proc(&sim);
}

/*
 * Polling every 5 s misses most of the agents' short routing states; the
 * analytics history read after the run fills them in and the report says
 * how many polling missed.  The OAuth client lacks audits:audit:view here:
 * the run goes on and the report says what it could not see.
 */
static void analytics_fills_a_slow_poll_and_403_is_reported(void **state)
{
    struct simproc sim;
    char scn[PATH_MAX], run[PATH_MAX], path[PATH_MAX + 32];
    cJSON *summary;
    char *md;

    (void)state;
    snprintf(scn, sizeof(scn), "%s/remote-slow.json", scratch);
    files_write_text(
        scn,
        "{\"name\": \"remote-slow\", \"seed\": 5, \"duration\": \"16s\",\n"
        " \"agents\": {\"count\": 12},\n"
        " \"world\": {\"presence\": {\"on_queue_share\": 1.0, \"mean_idle\":"
        " \"1s\", \"mean_handle\": \"2s\"},\n"
        "  \"forbid\": [\"audits:audit:view\"]},\n"
        " \"observe\": {\"versions\": {\"mode\": \"bulk\", \"interval\":"
        " \"5s\", \"threads\": 1}}}\n");
    sim_start_world(&sim, "slow", scn);
    snprintf(run, sizeof(run), "%s/slow-run", scratch);
    expect_exit((char *const[]){"run", scn, "--target", sim.url, "--out", run,
                                "-q", NULL},
                &sim, "slow-run", 0);
    summary = load_json(run, "summary.json");
    assert_string_equal(
        str_at(cJSON_GetObjectItemCaseSensitive(summary, "evidence"),
               "analytics", "status"),
        "ok");
    assert_true(num_at(summary, "evidence.analytics.missed_by_polling.total") >
                0);
    assert_true(num_at(summary, "counts.transitions.by_source.analytics") > 0);
    assert_string_equal(
        str_at(cJSON_GetObjectItemCaseSensitive(summary, "evidence"), "audit",
               "status"),
        "forbidden");
    cJSON_Delete(summary);
    snprintf(path, sizeof(path), "%s/summary.md", run);
    md = files_read(path, NULL);
    if (!strstr(md, "audits:audit:view") || !strstr(md, "Analytics"))
        fail_msg("summary.md does not say what it could not see:\n%s", md);
    free(md);
    sim_stop_proc(&sim);
}

/* ------------------------------------------------------------------ */

static int group_setup(void **state)
{
    char world[PATH_MAX];

    (void)state;
    spawn_find_binary(binary, sizeof(binary));
    if (http_global_init())
        return -1;
    if (files_mkdtemp(scratch, sizeof(scratch), "rt-remote"))
        return -1;
    snprintf(world, sizeof(world), "%s/world.json", scratch);
    /* Presence moves, and routing-engine bumps versions with empty
     * patches; nothing writes department, utilization, skills or queue
     * membership but the replay. */
    files_write_text(world,
                     "{\"seed\": 11, \"agents\": {\"count\": 12},\n"
                     " \"world\": {\"presence\": {\"on_queue_share\": 0.8,"
                     " \"mean_idle\": \"2s\", \"mean_handle\": \"3s\"},\n"
                     "  \"actors\": [{\"kind\": \"routing-engine\", \"on\":"
                     " [\"routing:*\"], \"p\": 0.5, \"lag\": "
                     "\"20ms..100ms\"}]}}\n");
    return 0;
}

static int group_teardown(void **state)
{
    end_children(state);
    http_global_cleanup();
    return files_remove_tree(scratch) ? -1 : 0;
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, end_children)
    const struct CMUnitTest tests[] = {
        T(writes_are_refused_without_allow_writes),
        T(restore_names_a_bad_snapshot),
        T(dry_run_sends_no_write),
        T(sigkill_then_restore_puts_agents_back),
        T(sigint_mid_replay_leaves_every_agent_as_before),
        T(second_sigint_stops_the_restore_between_agents),
        T(stream_audit_and_faults_against_a_remote_sim),
        T(analytics_fills_a_slow_poll_and_403_is_reported),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
