/*
 * Golden diagnosis tests: one scenario per cause, recorded on the
 * simulator by the real binary and analysed end to end (`racetrace run`),
 * with the verdict asserted against the cause the scenario plants:
 *
 *   predictive-bump   routing-status, routing:INTERACTING
 *   presence-sync     presence, presence:Break
 *   confound          presence:Break, confounded with routing:OFF_QUEUE
 *   wfm-publish       batch
 *   idp-sync          periodic
 *   integration       other-writer
 *   self-conflict     own-writes
 *   quiet             none (no writer at all: no false accusation)
 *   too-little-data   inconclusive, with how long a run would settle it
 *
 * The scenarios run at the same time (each is a child process with its own
 * simulator), so the suite takes as long as the longest one.  Then one run
 * is analysed again with `racetrace analyze`, which must reproduce every
 * output byte for byte apart from the analysis's own timestamp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "support/files.h"
#include "support/spawn.h"

extern char **environ;

struct golden {
    const char *scenario;
    const char *duration; /* override, NULL = the scenario's */
    const char *agents;   /* override, NULL = the scenario's */
    const char *cause;
    const char *signal; /* NULL = not checked */
    int truth_right;    /* the truth score must agree */
    pid_t pid;
};

static struct golden goldens[] = {
    {"predictive-bump", "40s", "60", "routing-status", "routing:INTERACTING", 1,
     0},
    {"presence-sync", "45s", NULL, "presence", "presence:Break", 1, 0},
    {"confound", "45s", NULL, "presence", "presence:Break", 1, 0},
    {"wfm-publish", "40s", NULL, "batch", "burst", 1, 0},
    {"idp-sync", "50s", NULL, "periodic", "period", 1, 0},
    {"integration", "40s", NULL, "other-writer", NULL, 1, 0},
    {"self-conflict", NULL, NULL, "own-writes", "own-writes", 1, 0},
    {"quiet", "30s", NULL, "none", NULL, 1, 0},
    {"too-little-data", NULL, NULL, "inconclusive", NULL, 0, 0},
};
#define N_GOLDEN (sizeof(goldens) / sizeof(goldens[0]))

static char binary[PATH_MAX], root[PATH_MAX];
static char tmpdir[] = "/tmp/rt-golden-XXXXXX";

static void find_paths(void)
{
    char copy[PATH_MAX];

    spawn_find_binary(binary, sizeof(binary));
    /* <root>/build/<variant>/racetrace */
    snprintf(copy, sizeof(copy), "%s", binary);
    snprintf(root, sizeof(root), "%s", dirname(dirname(dirname(copy))));
}

static cJSON *load_summary(const char *dir)
{
    char path[PATH_MAX + 64];
    char *text;
    cJSON *doc;

    snprintf(path, sizeof(path), "%s/summary.json", dir);
    text = files_slurp(path, NULL);
    if (!text)
        fail_msg("%s has no summary.json", dir);
    doc = cJSON_Parse(text);
    free(text);
    assert_non_null(doc);
    return doc;
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);

    x = b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static void dump_err(const struct golden *g)
{
    char path[PATH_MAX + 64];
    char *text;

    snprintf(path, sizeof(path), "%s/%s.err", tmpdir, g->scenario);
    text = files_slurp(path, NULL);
    print_message("--- %s stderr:\n%s\n", g->scenario, text ? text : "");
    free(text);
}

static void run_all(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_GOLDEN; i++) {
        struct golden *g = &goldens[i];
        char scn[PATH_MAX + 64], out[PATH_MAX + 64], err[PATH_MAX + 64];
        char dur[32], agents[32];
        char *args[16];
        size_t n = 0;

        snprintf(scn, sizeof(scn), "%s/scenarios/%s.json", root, g->scenario);
        snprintf(out, sizeof(out), "%s/%s", tmpdir, g->scenario);
        snprintf(err, sizeof(err), "%s/%s.err", tmpdir, g->scenario);
        args[n++] = binary;
        args[n++] = "run";
        args[n++] = scn;
        args[n++] = "--out";
        args[n++] = out;
        args[n++] = "-q";
        if (g->duration) {
            args[n++] = "--duration";
            snprintf(dur, sizeof(dur), "%s", g->duration);
            args[n++] = dur;
        }
        if (g->agents) {
            args[n++] = "--agents";
            snprintf(agents, sizeof(agents), "%s", g->agents);
            args[n++] = agents;
        }
        args[n] = NULL;
        g->pid = spawn_quiet(binary, args, err);
    }
    for (size_t i = 0; i < N_GOLDEN; i++) {
        int status;
        assert_int_equal(waitpid(goldens[i].pid, &status, 0), goldens[i].pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            dump_err(&goldens[i]);
            fail_msg("racetrace run %s: status %d", goldens[i].scenario,
                     status);
        }
    }
}

static void verdicts(void **state)
{
    int bad = 0;

    (void)state;
    for (size_t i = 0; i < N_GOLDEN; i++) {
        const struct golden *g = &goldens[i];
        char dir[PATH_MAX + 64];
        const char *cause, *signal;
        const cJSON *truth;
        cJSON *s;

        snprintf(dir, sizeof(dir), "%s/%s", tmpdir, g->scenario);
        s = load_summary(dir);
        cause = str_at(s, "verdict", "cause");
        signal = str_at(s, "verdict", "signal");
        truth = cJSON_GetObjectItemCaseSensitive(s, "truth_score");
        print_message("%-16s verdict %s %s\n", g->scenario, cause ? cause : "?",
                      signal ? signal : "");
        if (!cause || strcmp(cause, g->cause) ||
            (g->signal && (!signal || strcmp(signal, g->signal)))) {
            print_message("  expected %s %s: %s\n", g->cause,
                          g->signal ? g->signal : "",
                          str_at(s, "verdict", "text"));
            bad++;
        }
        /* The score is against the simulator's truth, never an input. */
        assert_non_null(truth);
        if (g->truth_right && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
                                  truth, "verdict_correct"))) {
            print_message("  %s: the truth score disagrees\n", g->scenario);
            bad++;
        }
        cJSON_Delete(s);
    }
    assert_int_equal(bad, 0);
}

/* The confound is named, and the demoted signal is the routing one. */
static void confound_is_named(void **state)
{
    char dir[PATH_MAX + 64];
    const cJSON *conf, *assoc, *a;
    cJSON *s;
    int found = 0, demoted = 0;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/confound", tmpdir);
    s = load_summary(dir);
    conf = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(s, "verdict"), "confounded_with");
    cJSON_ArrayForEach(a, conf) found |=
        cJSON_IsString(a) && !strcmp(a->valuestring, "routing:OFF_QUEUE");
    assoc = cJSON_GetObjectItemCaseSensitive(s, "association");
    cJSON_ArrayForEach(a, assoc)
    {
        const char *name = str_at(a, "signal", NULL);
        if (name && !strcmp(name, "routing:OFF_QUEUE"))
            demoted =
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "demoted"));
    }
    assert_true(found);
    assert_true(demoted);
    cJSON_Delete(s);
}

/* Too little data: no cause, and advice on how long a run would do. */
static void inconclusive_says_how_long(void **state)
{
    char dir[PATH_MAX + 64];
    const cJSON *more;
    cJSON *s;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/too-little-data", tmpdir);
    s = load_summary(dir);
    more = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(s, "verdict"), "more_data");
    assert_true(cJSON_IsObject(more));
    assert_non_null(str_at(more, "text", NULL));
    assert_true(strlen(str_at(more, "text", NULL)) > 20);
    assert_null(str_at(s, "verdict", "signal"));
    cJSON_Delete(s);
}

/* @a and @b equal once @ga and @gb (the generated stamps) are blanked. */
static int same_but_stamp(char *a, size_t la, char *b, size_t lb,
                          const char *ga, const char *gb)
{
    char *p;

    for (p = strstr(a, ga); p; p = strstr(p, ga))
        memset(p, '#', strlen(ga));
    for (p = strstr(b, gb); p; p = strstr(p, gb))
        memset(p, '#', strlen(gb));
    return la == lb && !memcmp(a, b, la);
}

static void analyze_reproduces_the_run(void **state)
{
    static const char *const files[] = {"bumps.csv",
                                        "conflicts.csv",
                                        "association.csv",
                                        "strategies.csv",
                                        "summary.json",
                                        "summary.md",
                                        "report.html",
                                        "plots/swimlane_lanes.dat",
                                        "plots/swimlane_states.dat",
                                        "plots/swimlane_bumps.dat",
                                        "plots/swimlane_windows.dat",
                                        "plots/lag.dat",
                                        "plots/outcomes.dat",
                                        "plots/latency.dat",
                                        "plots/conflict_state.dat",
                                        "plots/strategies.dat",
                                        "plots/swimlane.gp",
                                        "plots/swimlane.png",
                                        "plots/swimlane.svg",
                                        "plots/lag.png",
                                        "plots/outcomes.svg"};
    char dir[PATH_MAX + 64], copy[2 * PATH_MAX], cmd[3 * PATH_MAX];
    char *before[sizeof(files) / sizeof(files[0])];
    size_t lb[sizeof(files) / sizeof(files[0])];
    char ga[64], gb[64], err[PATH_MAX + 64];
    cJSON *s;
    int status;
    pid_t pid;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/confound", tmpdir);
    s = load_summary(dir);
    snprintf(ga, sizeof(ga), "%s", str_at(s, "analysis", "generated"));
    cJSON_Delete(s);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(copy, sizeof(copy), "%s/%s", dir, files[i]);
        before[i] = files_slurp(copy, &lb[i]);
    }
    /* Wipe the outputs so the analysis has to write them all again. */
    snprintf(cmd, sizeof(cmd), "%s/plots", dir);
    {
        char *rm[] = {"rm", "-rf", cmd, NULL};
        char path[2 * PATH_MAX];
        assert_int_equal(posix_spawnp(&pid, "rm", NULL, NULL, rm, environ), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        for (size_t i = 0; i < 7; i++) {
            snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
            unlink(path);
        }
    }
    {
        char *args[] = {binary, "analyze", dir, "-q", NULL};
        snprintf(err, sizeof(err), "%s/analyze.err", tmpdir);
        pid = spawn_quiet(binary, args, err);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    s = load_summary(dir);
    snprintf(gb, sizeof(gb), "%s", str_at(s, "analysis", "generated"));
    cJSON_Delete(s);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t la;
        char *after;
        snprintf(copy, sizeof(copy), "%s/%s", dir, files[i]);
        after = files_slurp(copy, &la);
        if (!before[i] && !after)
            continue;
        if (!before[i] || !after)
            fail_msg("%s: present in only one of the two analyses", files[i]);
        if (!same_but_stamp(before[i], lb[i], after, la, ga, gb))
            fail_msg("%s differs between racetrace run and racetrace analyze",
                     files[i]);
        free(before[i]);
        free(after);
    }
}

/* A secret the process knows (here from GENESYSCLOUD_OAUTHCLIENT_SECRET)
 * found in any output: the analysis fails, names the file, never prints
 * the secret, and the earlier bundle stays as it was. */
static void bundle_refuses_a_known_secret(void **state)
{
    static const char secret[] = "presence:Break"; /* in summary.json */
    char dir[PATH_MAX + 64], path[2 * PATH_MAX], err[PATH_MAX + 64];
    char *args[] = {binary, "analyze", dir, "-q", NULL};
    char *before, *after, *log;
    size_t lb, la;
    int status;
    pid_t pid;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/confound", tmpdir);
    snprintf(path, sizeof(path), "%s/evidence.tar.gz", dir);
    before = files_read(path, &lb);
    snprintf(err, sizeof(err), "%s/secret.err", tmpdir);
    setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", secret, 1);
    pid = spawn_quiet(binary, args, err);
    unsetenv("GENESYSCLOUD_OAUTHCLIENT_SECRET");
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    log = files_read(err, NULL);
    assert_non_null(strstr(log, "forbidden string"));
    assert_null(strstr(log, secret));
    after = files_read(path, &la);
    assert_int_equal(la, lb);
    assert_memory_equal(after, before, lb);
    free(before);
    free(after);
    free(log);
}

static int setup(void **state)
{
    (void)state;
    find_paths();
    if (!mkdtemp(tmpdir))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (!getenv("RT_KEEP_TMP"))
        files_remove_tree(tmpdir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(run_all),
        cmocka_unit_test(verdicts),
        cmocka_unit_test(confound_is_named),
        cmocka_unit_test(inconclusive_says_how_long),
        cmocka_unit_test(analyze_reproduces_the_run),
        cmocka_unit_test(bundle_refuses_a_known_secret),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
