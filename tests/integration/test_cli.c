/*
 * The command line as a user meets it: a table of malformed arguments and
 * scenarios, each answered with one error line naming the flag, file or
 * JSON path and exit code 2; and runs interrupted with SIGINT or SIGTERM at
 * random moments, which must still leave parseable CSVs and run.json.
 *
 * The binary is build/<variant>/racetrace, found from this test's own
 * path (build/<variant>/tests/integration/test_cli).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/clock.h"
#include "base/rng.h"
#include "support/csvread.h"
#include "support/spawn.h"

extern char **environ;

static char binary[PATH_MAX];
static char tmpdir[] = "/tmp/rt-cli-XXXXXX";

static void write_file(const char *name, const char *text)
{
    char path[PATH_MAX + 64];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Run the binary with @argv (NULL-terminated, argv[0] ignored) in tmpdir;
 * stderr goes to @err_path.  Returns the wait status. */
static int run(char *const *argv, const char *err_path, pid_t *pid_out,
               int wait_for_it)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t stop;
    pid_t pid;
    int status = 0;
    char *args[32];
    size_t n = 0;

    args[n++] = binary;
    for (size_t i = 1; argv[i] && n < 31; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, err_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addchdir_np(&fa, tmpdir);
    /* The child starts with the stop signals blocked, as racetrace blocks
     * them on the first line of main().  A signal that lands earlier, while
     * the loader (or the sanitizer runtime, which takes milliseconds) runs,
     * has its default action in any program; the interrupt test is about
     * the moments racetrace can act on, and a pending signal is taken by
     * the run's signal thread like one sent later. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &stop);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    assert_int_equal(posix_spawn(&pid, binary, &fa, &attr, args, environ), 0);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (pid_out)
        *pid_out = pid;
    if (wait_for_it)
        assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void first_line(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "r");

    out[0] = '\0';
    if (!f)
        return;
    if (!fgets(out, (int)len, f))
        out[0] = '\0';
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
}

#define A(...) ((char *const[]){"racetrace", __VA_ARGS__, NULL})

static void bad_input_gets_one_line_and_exit_2(void **state)
{
    const struct {
        char *const *argv;
        const char *want;
    } cases[] = {
        {A("frobnicate"), "unknown command 'frobnicate'"},
        {A("run", "--bogus"), "unknown option '--bogus'"},
        {A("run", "--duration", "abc"), "invalid value 'abc' for --duration"},
        {A("run", "--duration", "0s"), "invalid value '0s' for --duration"},
        {A("run", "--agents", "0"), "invalid value '0' for --agents"},
        {A("run", "--agents", "many"), "invalid value 'many' for --agents"},
        {A("run", "--seed", "-3"), "invalid value '-3' for --seed"},
        {A("run", "a.json", "b.json"), "unexpected argument 'b.json'"},
        {A("run", "missing.json"), "missing.json: cannot open"},
        {A("run", "badkey.json"), "badkey.json: observe.versions.intervall: "
                                  "unknown key"},
        {A("run", "badjson.json"), "badjson.json: invalid JSON at line 3"},
        {A("run", "badactor.json"),
         "badactor.json: world.actors[0].p: expected a number from 0 to 1"},
        {A("run", "late.json"), "late.json: replay.at: 90s is not before"},
        {A("run", "ok.json", "--duration", "5s"),
         "--duration 5s ends the run before the last replay round starts"},
        {A("run", "--target", "mars_north_1"), "unknown region 'mars_north_1'"},
        {A("run", "ok.json", "--target", "us_west_2"),
         "refusing without --allow-writes"},
        {A("run", "--target", "http://user:pw@127.0.0.1:1"),
         "invalid target URL"},
        {A("check"), "'racetrace check' takes exactly one scenario file"},
        {A("check", "a.json", "b.json"),
         "'racetrace check' takes exactly one scenario file"},
        {A("check", "--verbose"), "unknown option '--verbose'"},
        {A("check", "badkey.json"), "badkey.json: observe.versions.intervall"},
        {A("sim", "--port", "70000"), "invalid value '70000' for --port"},
        {A("sim", "--agents", "x"), "invalid value 'x' for --agents"},
        {A("sim", "--rate-limit", "-5"), "invalid value '-5' for --rate-limit"},
        {A("sim", "--duration", "5"), "invalid value '5' for --duration"},
        {A("sim", "--token-lifetime", "0s"),
         "invalid value '0s' for --token-lifetime"},
        {A("sim", "--scenario", "badactor.json"),
         "badactor.json: world.actors[0].p"},
        {A("sim", "--nope"), "unknown option '--nope'"},
        {A("sim", "extra"), "unexpected argument 'extra'"},
    };
    char err_path[PATH_MAX + 32], line[1024];

    (void)state;
    snprintf(err_path, sizeof(err_path), "%s/stderr", tmpdir);
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        int status = run(cases[k].argv, err_path, NULL, 1);

        first_line(err_path, line, sizeof(line));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 2 ||
            strncmp(line, "racetrace: error: ", 18) ||
            !strstr(line, cases[k].want)) {
            fprintf(stderr,
                    "case %zu (%s %s): status %d, first line \"%s\", "
                    "want exit 2 and \"%s\"\n",
                    k, cases[k].argv[1],
                    cases[k].argv[2] ? cases[k].argv[2] : "",
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1, line,
                    cases[k].want);
            fail();
        }
    }
}

/* Every CSV in @dir has a header and rows of the header's width. */
static int csvs_parse(const char *dir, int *files)
{
    static const char *const names[] = {"requests.csv", "observations.csv",
                                        "operations.csv", "truth.csv",
                                        "server.csv"};
    char path[PATH_MAX + 32];

    *files = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct csvread *r;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (access(path, F_OK))
            continue;
        r = csvread_load(path);
        if (!r) {
            fprintf(stderr, "%s does not parse\n", path);
            return 0;
        }
        if (csvread_cols(r) < 5) {
            fprintf(stderr, "%s has %zu columns\n", path, csvread_cols(r));
            csvread_free(r);
            return 0;
        }
        csvread_free(r);
        (*files)++;
    }
    return 1;
}

static void interrupted_runs_leave_parseable_history(void **state)
{
    char err_path[PATH_MAX + 32], out[PATH_MAX], path[PATH_MAX + 32], *text;
    struct rng rng;
    int64_t seed = clock_wall_ns();

    (void)state;
    /* The moments are random on purpose; the seed is printed so a failure
     * can be replayed. */
    fprintf(stderr, "interrupt moments seed: %lld\n", (long long)seed);
    rng_seed(&rng, (uint64_t)seed, 0);
    for (int k = 0; k < 5; k++) {
        int sig = k % 2 ? SIGTERM : SIGINT, status, files;
        int64_t delay = rng_range(&rng, 0, 2500) * NS_PER_MS;
        pid_t pid;
        cJSON *run_json;
        FILE *f;
        long len;

        snprintf(out, sizeof(out), "%s/run-%d", tmpdir, k);
        snprintf(err_path, sizeof(err_path), "%s/stderr-%d", tmpdir, k);
        run(A("run", "quick.json", "--out", out, "-q"), err_path, &pid, 0);
        /* Not synchronisation: the point is to hit a random moment. */
        clock_sleep_ns(delay);
        kill(pid, sig);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char line[512];
            FILE *ef = fopen(err_path, "r");
            fprintf(stderr,
                    "signal %d after %lld ms: exit %d, killed by %d; "
                    "stderr:\n",
                    sig, (long long)(delay / NS_PER_MS),
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
            while (ef && fgets(line, sizeof(line), ef))
                fputs(line, stderr);
            if (ef)
                fclose(ef);
            fail();
        }
        assert_true(csvs_parse(out, &files));
        assert_int_equal(files, 5);
        snprintf(path, sizeof(path), "%s/run.json", out);
        f = fopen(path, "r");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        rewind(f);
        text = calloc(1, (size_t)len + 1);
        assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        run_json = cJSON_Parse(text);
        assert_non_null(run_json);
        assert_true(cJSON_IsTrue(
            cJSON_GetObjectItemCaseSensitive(run_json, "interrupted")));
        cJSON_Delete(run_json);
        free(text);
    }
}

/* Check requests.csv of @dir: no request sent in [recv, recv + Retry-After)
 * of a 429, by any thread (the limiter backs everyone off), except those
 * already sent before the 429 arrived.  Returns the number of 429s. */
static int retry_after_honoured(const char *dir)
{
    char path[PATH_MAX + 32];
    struct csvread *r;
    int c_send, c_recv, c_status, c_ra, n429 = 0;
    size_t rows;

    snprintf(path, sizeof(path), "%s/requests.csv", dir);
    r = csvread_load(path);
    assert_non_null(r);
    c_send = csvread_col(r, "send_wall_ns");
    c_recv = csvread_col(r, "recv_wall_ns");
    c_status = csvread_col(r, "status");
    c_ra = csvread_col(r, "retry_after_s");
    assert_true(c_send >= 0 && c_recv >= 0 && c_status >= 0 && c_ra >= 0);
    rows = csvread_rows(r);
    for (size_t i = 0; i < rows; i++) {
        int64_t recv, ra, until;
        if (csvread_i64(r, i, c_status, 0) != 429)
            continue;
        n429++;
        recv = csvread_i64(r, i, c_recv, 0);
        ra = csvread_i64(r, i, c_ra, -1);
        assert_true(ra >= 1);
        until = recv + ra * NS_PER_S;
        for (size_t k = 0; k < rows; k++) {
            int64_t send = csvread_i64(r, k, c_send, 0);
            if (send > recv && send < until) {
                fprintf(stderr,
                        "request %zu sent %lld ms after a 429 that "
                        "said wait %lld s\n",
                        k, (long long)((send - recv) / NS_PER_MS),
                        (long long)ra);
                fail();
            }
        }
    }
    csvread_free(r);
    return n429;
}

/* Every request the simulator logged in server.csv is in requests.csv
 * (matched by ININ-Correlation-Id), and the two have as many rows. */
static void every_server_request_is_recorded(const char *dir)
{
    char path[PATH_MAX + 32];
    struct csvread *srv, *req;
    int cs, cr;

    snprintf(path, sizeof(path), "%s/server.csv", dir);
    srv = csvread_load(path);
    snprintf(path, sizeof(path), "%s/requests.csv", dir);
    req = csvread_load(path);
    assert_non_null(srv);
    assert_non_null(req);
    cs = csvread_col(srv, "correlation_id");
    cr = csvread_col(req, "correlation_id");
    assert_true(cs >= 0 && cr >= 0);
    assert_true(csvread_rows(srv) > 0);
    assert_int_equal(csvread_rows(srv), csvread_rows(req));
    for (size_t i = 0; i < csvread_rows(srv); i++) {
        const char *id = csvread_field(srv, i, cs);
        int found = 0;
        for (size_t k = 0; k < csvread_rows(req) && !found; k++)
            found = !strcmp(id, csvread_field(req, k, cr));
        if (!found) {
            fprintf(stderr, "server.csv request %s is not in requests.csv\n",
                    id);
            fail();
        }
    }
    csvread_free(srv);
    csvread_free(req);
}

static void budget_is_kept_and_retry_after_honoured(void **state)
{
    char err_path[PATH_MAX + 32], out[PATH_MAX];
    int status;

    (void)state;
    /* Budget = the world's limit: the limiter keeps the run inside it. */
    snprintf(out, sizeof(out), "%s/budget-ok", tmpdir);
    snprintf(err_path, sizeof(err_path), "%s/stderr-budget-ok", tmpdir);
    status =
        run(A("run", "limited.json", "--out", out, "-q"), err_path, NULL, 1);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(retry_after_honoured(out), 0);
    every_server_request_is_recorded(out);
    /* A budget ten times the world's limit runs into 429s; after the
     * first one no thread sends anything until Retry-After has passed. */
    snprintf(out, sizeof(out), "%s/budget-over", tmpdir);
    snprintf(err_path, sizeof(err_path), "%s/stderr-budget-over", tmpdir);
    status =
        run(A("run", "overbudget.json", "--out", out, "-q"), err_path, NULL, 1);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(retry_after_honoured(out) >= 1);
    every_server_request_is_recorded(out);
}

static int setup(void **state)
{
    (void)state;
    spawn_find_binary(binary, sizeof(binary));
    if (!mkdtemp(tmpdir))
        return -1;
    write_file("badkey.json",
               "{\"observe\": {\"versions\": {\"intervall\": \"1s\"}}}\n");
    write_file("badjson.json", "{\n  \"name\": \"x\",\n  \"seed\": ,\n}\n");
    write_file("badactor.json",
               "{\"world\": {\"actors\": [{\"kind\": \"routing-engine\", "
               "\"on\": \"routing:IDLE\", \"p\": 7}]}}\n");
    write_file("late.json", "{\"replay\": {\"at\": \"90s\"}}\n");
    write_file("ok.json", "{\"duration\": \"60s\", \"agents\": {\"count\": 3},"
                          " \"replay\": {\"at\": \"10s\"}}\n");
    /* Long enough that every interrupt lands mid-run: agents poll, the
     * replay starts at 1s and runs for seconds with pacing. */
    write_file("quick.json",
               "{\"duration\": \"30s\", \"agents\": {\"count\": 10},"
               " \"world\": {\"presence\": {\"mean_idle\": \"500ms\","
               " \"mean_handle\": \"800ms\"}, \"actors\": [{\"kind\":"
               " \"routing-engine\", \"on\": \"routing:INTERACTING\"}]},"
               " \"replay\": {\"at\": \"1s\", \"pace\": \"200ms\","
               " \"workers\": 1, \"strategies\": [\"bulk-stale\", \"retry\"],"
               " \"repeat\": {\"every\": \"5s\", \"times\": 3}}}\n");
    write_file("limited.json",
               "{\"duration\": \"8s\", \"agents\": {\"count\": 4},"
               " \"world\": {\"rate_limit\": {\"per_minute\": 60}},"
               " \"replay\": {\"at\": \"2s\"}}\n");
    write_file("overbudget.json",
               "{\"duration\": \"8s\", \"agents\": {\"count\": 4},"
               " \"budget\": {\"per_minute\": 600},"
               " \"world\": {\"rate_limit\": {\"per_minute\": 30}},"
               " \"replay\": {\"at\": \"2s\"}}\n");
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_input_gets_one_line_and_exit_2),
        cmocka_unit_test(interrupted_runs_leave_parseable_history),
        cmocka_unit_test(budget_is_kept_and_retry_after_honoured),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
