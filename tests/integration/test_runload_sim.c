/*
 * The loader on real recordings: two short runs of the built binary
 * against its embedded simulator, recorded side by side: 10 agents for 8
 * s, a read-modify-write update of every agent at 3 s, one with a
 * routing-engine that writes to an agent after every routing transition to
 * INTERACTING, one without.  The loaded run must agree with an independent
 * reading of its CSVs (tests/support/csvread), and the own/foreign split of
 * the version bumps must agree with the simulator's truth.csv: the bumps
 * the harness's client made are own, every other one foreign; without the
 * actor there is no foreign bump at all.
 *
 * The binary is build/<variant>/racetrace, found from this test's own
 * path (build/<variant>/tests/integration/test_runload_sim).
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
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/runload.h"
#include "support/csvread.h"
#include "support/files.h"
#include "support/spawn.h"

extern char **environ;

#define AGENTS 10

static char binary[PATH_MAX];
static char tmpdir[] = "/tmp/rt-runload-sim-XXXXXX";
static char dir_actor[PATH_MAX], dir_quiet[PATH_MAX];

static const char scenario_actor[] =
    "{\"duration\": \"8s\", \"agents\": {\"count\": 10},"
    " \"world\": {\"presence\": {\"mean_idle\": \"500ms\","
    " \"mean_handle\": \"800ms\"}, \"actors\": [{\"kind\": "
    "\"routing-engine\", \"on\": \"routing:INTERACTING\", \"p\": 1}]},"
    " \"replay\": {\"at\": \"3s\", \"strategy\": \"read-modify-write\"}}\n";
static const char scenario_quiet[] =
    "{\"duration\": \"8s\", \"agents\": {\"count\": 10},"
    " \"world\": {\"presence\": {\"mean_idle\": \"500ms\","
    " \"mean_handle\": \"800ms\"}},"
    " \"replay\": {\"at\": \"3s\", \"strategy\": \"read-modify-write\"}}\n";

/* Start `racetrace run @scenario --out @out -q`, stderr to @err_path. */
static pid_t start_run(char *scenario, char *out, const char *err_path)
{
    char *args[] = {binary, "run", scenario, "--out", out, "-q", NULL};

    return spawn_quiet(binary, args, err_path);
}

static void wait_ok(pid_t pid, const char *err_path)
{
    int status;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char line[512];
        FILE *f = fopen(err_path, "r");
        fprintf(stderr, "run failed (status %d); stderr:\n",
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        while (f && fgets(line, sizeof(line), f))
            fputs(line, stderr);
        if (f)
            fclose(f);
        fail();
    }
}

/* Both runs at once: the test takes one run's time. */
static int setup(void **state)
{
    char scn_a[PATH_MAX + 32], scn_q[PATH_MAX + 32];
    char err_a[PATH_MAX + 32], err_q[PATH_MAX + 32];
    pid_t a, q;

    (void)state;
    spawn_find_binary(binary, sizeof(binary));
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(scn_a, sizeof(scn_a), "%s/actor.json", tmpdir);
    snprintf(scn_q, sizeof(scn_q), "%s/quiet.json", tmpdir);
    snprintf(err_a, sizeof(err_a), "%s/actor.err", tmpdir);
    snprintf(err_q, sizeof(err_q), "%s/quiet.err", tmpdir);
    snprintf(dir_actor, sizeof(dir_actor), "%s/run-actor", tmpdir);
    snprintf(dir_quiet, sizeof(dir_quiet), "%s/run-quiet", tmpdir);
    files_write_text(scn_a, scenario_actor);
    files_write_text(scn_q, scenario_quiet);
    a = start_run(scn_a, dir_actor, err_a);
    q = start_run(scn_q, dir_quiet, err_q);
    wait_ok(a, err_a);
    wait_ok(q, err_q);
    return 0;
}

static int teardown(void **state)
{
    char cmd[PATH_MAX + 32];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct csvread *load_csv(const char *dir, const char *name)
{
    char path[PATH_MAX + 32];
    struct csvread *r;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    r = csvread_load(path);
    assert_non_null(r);
    return r;
}

/* What an independent reader counts in requests.csv. */
struct req_counts {
    size_t rows, ok_patches, conflicts, by_status_200;
};

static void count_requests(const char *dir, struct req_counts *c)
{
    struct csvread *r = load_csv(dir, "requests.csv");
    int role = csvread_col(r, "role"), method = csvread_col(r, "method");
    int status = csvread_col(r, "status"), kind = csvread_col(r, "kind");

    assert_true(role >= 0 && method >= 0 && status >= 0 && kind >= 0);
    memset(c, 0, sizeof(*c));
    c->rows = csvread_rows(r);
    for (size_t i = 0; i < c->rows; i++) {
        int64_t s = csvread_i64(r, i, status, -1);
        c->by_status_200 += s == 200;
        c->conflicts += !strcmp(csvread_field(r, i, kind), "conflict");
        c->ok_patches += !strcmp(csvread_field(r, i, role), "replay") &&
                         !strcmp(csvread_field(r, i, method), "PATCH") &&
                         s >= 200 && s < 300;
    }
    csvread_free(r);
}

/* Load @dir and check it against the CSVs and the truth; the bump split
 * goes to @out (caller releases; the run too). */
static struct runload *load_and_check(const char *dir,
                                      struct runload_bumps *out)
{
    struct runload *run = NULL;
    struct runload_truth *truth = NULL;
    struct req_counts rc;
    struct csvread *obs, *ops;
    size_t version_obs = 0, own = 0, foreign = 0, ok_ops = 0;
    const char *client_cause = NULL;
    int c_prop, c_outcome;

    assert_int_equal(runload_load(&run, dir), RT_OK);
    count_requests(dir, &rc);
    assert_int_equal(run->requests.rows, rc.rows);
    assert_int_equal(run->requests.max_seq, (int64_t)rc.rows);
    assert_int_equal(run->requests.by_status[200], rc.by_status_200);
    assert_int_equal(run->n_conflicts, rc.conflicts);
    assert_int_equal(runload_kind_count(run, "conflict"), rc.conflicts);
    assert_int_equal(run->n_writes_confirmed, rc.ok_patches);
    assert_int_equal(run->n_writes, rc.ok_patches);
    assert_int_equal(run->n_agents, AGENTS);
    assert_true(run->has_run_json);
    assert_true(run->simulator);
    assert_non_null(run->scenario);
    assert_true(run->start_wall_ns > 0 &&
                run->end_wall_ns > run->start_wall_ns);
    assert_int_equal(run->truncated_files, 0);

    /* Observations and operations, row for row. */
    obs = load_csv(dir, "observations.csv");
    c_prop = csvread_col(obs, "property");
    for (size_t i = 0; i < csvread_rows(obs); i++)
        version_obs += !strcmp(csvread_field(obs, i, c_prop), "version");
    assert_int_equal(run->n_obs, csvread_rows(obs));
    csvread_free(obs);
    ops = load_csv(dir, "operations.csv");
    c_outcome = csvread_col(ops, "outcome");
    for (size_t i = 0; i < csvread_rows(ops); i++)
        ok_ops += !strcmp(csvread_field(ops, i, c_outcome), "ok");
    assert_int_equal(run->n_ops, AGENTS);
    assert_int_equal(csvread_rows(ops), AGENTS);
    csvread_free(ops);
    /* Read-modify-write: one write per operation, ok or conflict. */
    assert_int_equal(run->n_writes_confirmed, ok_ops);
    assert_int_equal(run->n_writes_confirmed + run->n_conflicts, AGENTS);

    assert_int_equal(runload_classify_bumps(run, out), RT_OK);
    assert_true(out->n >= version_obs);
    assert_int_equal(out->n,
                     out->n_own + out->n_own_unconfirmed + out->n_foreign);
    assert_int_equal(out->n_own_unconfirmed, 0);
    assert_int_equal(out->n_own + out->n_writes_unseen,
                     run->n_writes_confirmed);

    /* Every observed bump against the simulator's own record of it. */
    assert_int_equal(runload_truth_load(&truth, run, dir), RT_OK);
    assert_non_null(truth);
    assert_int_equal(truth->n_unknown_agent_bumps, 0);
    for (size_t i = 0; i < out->n; i++) {
        const struct runload_bump *b = &out->items[i];
        const struct runload_truth_bump *t =
            runload_truth_find(truth, b->agent, b->version);
        int by_client;

        if (!t) {
            fprintf(stderr, "%s: bump to %lld of '%s' is not in truth.csv\n",
                    dir, (long long)b->version, run->agents[b->agent].id);
            fail();
        }
        by_client = !strncmp(t->cause, "client:", 7);
        if (by_client) {
            /* One client in these runs: the harness. */
            if (!client_cause)
                client_cause = t->cause;
            assert_ptr_equal(t->cause, client_cause);
        }
        if (by_client != (b->origin == RUNLOAD_OWN)) {
            fprintf(stderr,
                    "%s: '%s' version %lld classified %s, truth says %s\n", dir,
                    run->agents[b->agent].id, (long long)b->version,
                    b->origin == RUNLOAD_OWN ? "own" : "foreign", t->cause);
            fail();
        }
        if (b->origin == RUNLOAD_OWN) {
            const struct runload_write *w =
                &run->agents[b->agent].writes[b->write];
            assert_int_equal(w->version_after, b->version);
            assert_true(w->send_wall_ns <= b->bracket_end_wall_ns);
            /* The simulator committed it between send and receive. */
            assert_true(t->wall_ns >= w->send_wall_ns &&
                        t->wall_ns <= w->recv_wall_ns);
            own++;
        } else {
            foreign++;
        }
    }
    assert_int_equal(own, out->n_own);
    assert_int_equal(foreign, out->n_foreign);
    runload_truth_free(truth);
    return run;
}

static void with_the_actor_bumps_split_into_own_and_foreign(void **state)
{
    struct runload_bumps b;
    struct runload *run;

    (void)state;
    run = load_and_check(dir_actor, &b);
    assert_true(b.n_foreign > 0);
    assert_true(b.n_own > 0);
    runload_bumps_release(&b);
    runload_free(run);
}

static void without_an_actor_every_bump_is_our_own(void **state)
{
    struct runload_bumps b;
    struct runload *run;

    (void)state;
    run = load_and_check(dir_quiet, &b);
    assert_int_equal(run->n_writes_confirmed, AGENTS);
    assert_int_equal(run->n_conflicts, 0);
    assert_int_equal(b.n_foreign, 0);
    /* Written at 3 s, observed every 200 ms until 8 s: all seen. */
    assert_int_equal(b.n_own, AGENTS);
    assert_int_equal(b.n_writes_unseen, 0);
    assert_int_equal(b.n, AGENTS);
    runload_bumps_release(&b);
    runload_free(run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(with_the_actor_bumps_split_into_own_and_foreign),
        cmocka_unit_test(without_an_actor_every_bump_is_our_own),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
