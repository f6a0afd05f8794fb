/*
 * racetrace restore RUN: put back what a run's replay changed on a real
 * org, from RUN/snapshot.json, after the run could not do it itself (it
 * was killed, the machine went down, or its restore stopped early).
 * Wiring only: snapshot → target (the snapshot's, cross-checked with
 * RUN/run.json when there is one) → credentials (the environment, as for
 * run) → a harness with the run's budget, already stopped so every call
 * is a late one → restore_run() (harness/restore.h) → exit code.  The
 * exchanges are recorded in RUN/restore/requests.csv, so the run's own
 * history is never touched.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/oauth.h"
#include "api/ratelimit.h"
#include "api/region.h"
#include "base/fs.h"
#include "base/jread.h"
#include "base/log.h"
#include "cli/cli.h"
#include "harness/history.h"
#include "harness/restore.h"
#include "harness/run.h"
#include "harness/session.h"
#include "harness/sigwatch.h"
#include "harness/snapshot.h"

static const char usage[] =
    "usage: racetrace restore <run-dir>\n"
    "\n"
    "Put back what a run's replay changed on a real org, from\n"
    "<run-dir>/snapshot.json (saved before the replay's first write), and\n"
    "verify it field by field.  'racetrace run' does this itself at its end\n"
    "and on Ctrl-C; this command is for a run that was killed, or whose\n"
    "restore did not finish.  Running it twice is harmless.\n"
    "\n"
    "The target is the one the snapshot was taken on; credentials come from\n"
    "the same environment as for 'racetrace run':\n"
    "GENESYSCLOUD_OAUTHCLIENT_ID with GENESYSCLOUD_OAUTHCLIENT_SECRET (or\n"
    "GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE), or GENESYSCLOUD_ACCESS_TOKEN.\n"
    "\n"
    "Each agent's result goes to <run-dir>/restore.json and the requests\n"
    "to <run-dir>/restore/requests.csv.  Ctrl-C stops after the current\n"
    "agent.  Exit status: 0 every agent is as it was; 1 some are not (see\n"
    "restore.json); 2 bad arguments, snapshot or credentials.\n";

/* The target the snapshot was taken on, checked against run.json. */
static int resolve_target(const struct snapshot *snap, const char *run_dir,
                          struct region_target *rt)
{
    char path[4200];
    struct jread jr;
    cJSON *root = NULL;
    const cJSON *url;
    int rc = 0;

    if (!strcmp(snap->target, "sim")) {
        log_error("'%s/%s': target.label: the embedded simulator ends with "
                  "its run; there is nothing to restore",
                  run_dir, SNAPSHOT_FILE);
        return CLI_USAGE;
    }
    if (region_resolve(snap->target, rt))
        return CLI_USAGE; /* region_resolve named the problem */
    if (strcmp(rt->api_url, snap->api_url)) {
        log_error("'%s/%s': target: '%s' resolves to '%s', not the "
                  "snapshot's api_url '%s'",
                  run_dir, SNAPSHOT_FILE, snap->target, rt->api_url,
                  snap->api_url);
        return CLI_USAGE;
    }
    /* A run that was killed has no run.json; one that has must agree. */
    snprintf(path, sizeof(path), "%s/run.json", run_dir);
    if (access(path, F_OK) && errno == ENOENT)
        return 0;
    jread_init(&jr, path);
    if (jread_load_file(&jr, path, &root)) {
        log_error("%s", jr.error);
        return CLI_USAGE;
    }
    url = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "target"), "api_url");
    if (!cJSON_IsString(url)) {
        log_error("%s: target.api_url: expected a string", path);
        rc = CLI_USAGE;
    } else if (strcmp(url->valuestring, snap->api_url)) {
        log_error("%s: target.api_url: '%s' is not where '%s' was taken "
                  "('%s')",
                  path, url->valuestring, SNAPSHOT_FILE, snap->api_url);
        rc = CLI_USAGE;
    }
    cJSON_Delete(root);
    return rc;
}

/* Restore through a harness of its own; the exit code. */
static int restore(const struct snapshot *snap, const char *run_dir,
                   const struct region_target *rt,
                   const struct oauth_config *env)
{
    struct harness h;
    struct oauth_cache_config ac;
    struct sigwatch *sw = NULL;
    struct restore_counts counts;
    char dir[4200];
    int64_t per_minute = snap->budget_per_minute > 0
                             ? snap->budget_per_minute
                             : RUN_REAL_ORG_BUDGET_PER_MIN;
    int rc = CLI_FAILED;

    harness_init(&h);
    snprintf(h.api_url, sizeof(h.api_url), "%s", rt->api_url);
    snprintf(dir, sizeof(dir), "%s/restore", run_dir);
    if (fs_mkdir_p(dir) || history_open(&h.history, dir))
        goto out;
    memset(&ac, 0, sizeof(ac));
    ac.login_url = rt->login_url;
    ac.client_id = env->client_id;
    ac.client_secret = env->client_secret;
    ac.access_token = env->access_token;
    ac.on_exchange = session_oauth_hook;
    if (oauth_cache_new(&h.auth, &ac))
        goto out;
    h.limiter = ratelimit_new(per_minute, per_minute > 0 ? 5 : 0);
    /* Nothing runs but the restore: stopped from the start, every call is
     * a late one, and Ctrl-C counts from "finish the current agent". */
    harness_stop(&h);
    if (sigwatch_start(&sw, &h))
        goto out;
    if (restore_run(snap, &h, run_dir, &counts))
        goto out;
    if (restore_complete(&counts)) {
        rc = CLI_OK;
    } else {
        log_error("%zu of %zu agents were not put back (%zu failed, %zu "
                  "not attempted); see '%s/%s', then run: racetrace "
                  "restore %s",
                  counts.failed + counts.not_attempted, counts.agents,
                  counts.failed, counts.not_attempted, run_dir, RESTORE_FILE,
                  run_dir);
    }
out:
    sigwatch_stop(sw);
    if (history_close(h.history))
        rc = CLI_FAILED;
    ratelimit_free(h.limiter);
    oauth_cache_free(h.auth);
    harness_release(&h);
    return rc;
}

int cmd_restore(int argc, char **argv)
{
    struct snapshot snap;
    struct region_target rt;
    struct oauth_config env;
    struct jread jr;
    char path[4200];
    const char *run_dir;
    int rc;

    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (argc != 2 || argv[1][0] == '-') {
        if (argc > 1 && argv[1][0] == '-')
            log_error("unknown option '%s' for 'racetrace restore'", argv[1]);
        else
            log_error("'racetrace restore' takes exactly one run directory");
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    run_dir = argv[1];
    /* Before any thread: every thread inherits the mask, and the watcher
     * takes the signals with sigwait(). */
    sigwatch_block();

    snapshot_init(&snap);
    oauth_config_init(&env);
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", run_dir, SNAPSHOT_FILE) >=
        sizeof(path)) {
        log_error("run directory path too long: '%s'", run_dir);
        return CLI_USAGE;
    }
    jread_init(&jr, path);
    if (snapshot_load(&snap, &jr, path)) {
        log_error("%s", jr.error);
        return CLI_USAGE;
    }
    if ((rc = resolve_target(&snap, run_dir, &rt)))
        goto out;
    if (oauth_config_from_env(&env)) {
        rc = CLI_USAGE;
        goto out;
    }
    if (!env.access_token && (!env.client_id || !env.client_secret)) {
        log_error("no credentials for '%s': set GENESYSCLOUD_OAUTHCLIENT_ID "
                  "and GENESYSCLOUD_OAUTHCLIENT_SECRET (or _SECRET_FILE), "
                  "or GENESYSCLOUD_ACCESS_TOKEN",
                  snap.target);
        rc = CLI_USAGE;
        goto out;
    }
    rc = restore(&snap, run_dir, &rt, &env);
out:
    oauth_config_release(&env);
    snapshot_release(&snap);
    return rc;
}
