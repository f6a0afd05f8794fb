/*
 * racetrace run: record a scenario against the embedded simulator (default)
 * or an org, into a run directory.  Wiring only: scenario and flags →
 * target → run directory → simulator (when the target is "sim", logging
 * truth.csv and server.csv into the run directory) → run_record() → stop
 * the simulator → print where the run is.  A restore that left agents
 * changed makes the run fail (exit 1) with the command that retries it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/oauth.h"
#include "api/region.h"
#include "base/clock.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/units.h"
#include "cli/cli.h"
#include "harness/run.h"
#include "harness/scenario.h"
#include "harness/sigwatch.h"
#include "harness/snapshot.h"
#include "report/analyze.h"
#include "sim/sim.h"

static const char usage[] =
    "usage: racetrace run [<scenario.json>] [--target sim|<region>|<url>]\n"
    "                     [--out <dir>] [--duration <time>] [--seed <n>]\n"
    "                     [--agents <n>] [--allow-writes] [--dry-run] [-q]\n"
    "\n"
    "Record a scenario: observe the agents' versions, presence and routing\n"
    "status while replaying the scheduled update, into a run directory;\n"
    "then analyse it (see 'racetrace analyze --help') and print the path\n"
    "of its report.\n"
    "\n"
    "    --target <t>      sim (the embedded simulator, default), a region\n"
    "                      (us_west_2 or usw2.pure.cloud) or a base URL\n"
    "    --out <dir>       the run directory (default\n"
    "                      reports/<scenario>-<UTC time>/, and\n"
    "                      reports/latest points at it)\n"
    "    --duration <time> override the scenario's duration\n"
    "    --seed <n>        override the scenario's seed\n"
    "    --agents <n>      override the number of agents\n"
    "    --allow-writes    allow the replay to write to a real org: what\n"
    "                      it touches is saved to RUN/snapshot.json first\n"
    "                      and put back at the end (also on Ctrl-C; see\n"
    "                      'racetrace restore --help')\n"
    "    --dry-run         do every read, list the writes the replay would\n"
    "                      make in RUN/dry-run.txt, send none (no\n"
    "                      --allow-writes needed)\n"
    "    -q, --quiet       no progress line\n"
    "\n"
    "Credentials for a real org come from GENESYSCLOUD_OAUTHCLIENT_ID with\n"
    "GENESYSCLOUD_OAUTHCLIENT_SECRET or GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE\n"
    "(a file of yours, mode 600, holding the secret), or from\n"
    "GENESYSCLOUD_ACCESS_TOKEN; the region from GENESYSCLOUD_REGION.\n"
    "Start with --dry-run; see README, \"Running against your sandbox org\".\n";

enum {
    OPT_TARGET = 256,
    OPT_OUT,
    OPT_DURATION,
    OPT_SEED,
    OPT_AGENTS,
    OPT_ALLOW_WRITES,
    OPT_DRY_RUN,
    OPT_HELP
};

static const struct option options[] = {
    {"target", required_argument, NULL, OPT_TARGET},
    {"out", required_argument, NULL, OPT_OUT},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"seed", required_argument, NULL, OPT_SEED},
    {"agents", required_argument, NULL, OPT_AGENTS},
    {"allow-writes", no_argument, NULL, OPT_ALLOW_WRITES},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0}};

struct run_flags {
    const char *scenario, *target, *out, *duration, *seed, *agents;
    int allow_writes, dry_run, quiet;
};

/* "<prefix> '<arg>'<suffix>", then the usage; exit code 2. */
static int usage_error(const char *prefix, const char *arg, const char *suffix)
{
    log_error("%s '%s'%s", prefix, arg, suffix);
    fputs(usage, stderr);
    return CLI_USAGE;
}

static int parse_flags(int argc, char **argv, struct run_flags *f)
{
    int opt;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "q", options, NULL)) != -1) {
        switch (opt) {
        case OPT_TARGET:
            f->target = optarg;
            break;
        case OPT_OUT:
            f->out = optarg;
            break;
        case OPT_DURATION:
            f->duration = optarg;
            break;
        case OPT_SEED:
            f->seed = optarg;
            break;
        case OPT_AGENTS:
            f->agents = optarg;
            break;
        case OPT_ALLOW_WRITES:
            f->allow_writes = 1;
            break;
        case OPT_DRY_RUN:
            f->dry_run = 1;
            break;
        case 'q':
            f->quiet = 1;
            break;
        case OPT_HELP:
            fputs(usage, stdout);
            return -1;
        case ':':
            return usage_error("option", argv[optind - 1], " needs a value");
        default:
            return usage_error("unknown option", argv[optind - 1],
                               " for 'racetrace run'");
        }
    }
    if (optind < argc)
        f->scenario = argv[optind++];
    if (optind < argc)
        return usage_error("unexpected argument", argv[optind],
                           " for 'racetrace run'");
    return 0;
}

/* Flags beat the scenario; each bad value names its flag. */
static int apply_overrides(struct scenario *scn, const struct run_flags *f)
{
    int64_t v;

    if (f->duration) {
        if (units_parse_duration(f->duration, &v) || v < NS_PER_S) {
            log_error("invalid value '%s' for --duration: expected a "
                      "duration of at least 1s, such as 90s or 10m",
                      f->duration);
            return CLI_USAGE;
        }
        scn->duration_ns = v;
    }
    if (f->seed) {
        if (units_parse_i64(f->seed, &v) || v < 0) {
            log_error("invalid value '%s' for --seed: expected a whole "
                      "number >= 0",
                      f->seed);
            return CLI_USAGE;
        }
        scn->seed = scn->sim.seed = (uint64_t)v;
    }
    if (f->agents) {
        if (units_parse_count(f->agents, &v) || v < 1 || v > 100000) {
            log_error("invalid value '%s' for --agents: expected 1 to "
                      "100000",
                      f->agents);
            return CLI_USAGE;
        }
        scn->agent_count = scn->sim.agents = v;
        scenario_release(scn); /* a count replaces a listed set */
        scn->agent_queue[0] = '\0';
    }
    if (f->target) {
        if (!*f->target || strlen(f->target) >= sizeof(scn->target)) {
            log_error("invalid value '%s' for --target", f->target);
            return CLI_USAGE;
        }
        snprintf(scn->target, sizeof(scn->target), "%s", f->target);
    }
    /* The overridden duration must still hold the replay. */
    if (scn->replay.enabled && !scn->replay.at_absolute) {
        int64_t last = scenario_last_round_ns(scn);
        if (last >= scn->duration_ns) {
            char a[32], b[32];
            log_error("--duration %s ends the run before the last replay "
                      "round starts (%s)",
                      units_format_duration(scn->duration_ns, a, sizeof(a)),
                      units_format_duration(last, b, sizeof(b)));
            return CLI_USAGE;
        }
    }
    return 0;
}

static void utc_stamp(char *out, size_t len)
{
    char iso[ISO8601_LEN];

    iso8601_format_ms(clock_wall_ns(), iso, sizeof(iso));
    /* 2026-11-24T16:00:55.123Z -> 20261124T160055Z */
    snprintf(out, len, "%.4s%.2s%.2sT%.2s%.2s%.2sZ", iso, iso + 5, iso + 8,
             iso + 11, iso + 14, iso + 17);
}

static int make_run_dir(const char *name, const char *out, char *dir,
                        size_t len)
{
    char stamp[32];

    if (out) {
        struct stat st;
        snprintf(dir, len, "%s", out);
        if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
            log_error("--out '%s' exists and is not a directory", dir);
            return CLI_USAGE;
        }
        return fs_mkdir_p(dir) ? CLI_FAILED : 0;
    }
    utc_stamp(stamp, sizeof(stamp));
    snprintf(dir, len, "reports/%s-%s", name, stamp);
    if (fs_mkdir_p(dir))
        return CLI_FAILED;
    /* reports/latest -> <run>, replaced atomically. */
    {
        char link_tmp[1100], target[1100];
        snprintf(target, sizeof(target), "%s-%s", name, stamp);
        snprintf(link_tmp, sizeof(link_tmp), "reports/latest.%ld.tmp",
                 (long)getpid());
        unlink(link_tmp);
        if (symlink(target, link_tmp) || rename(link_tmp, "reports/latest"))
            log_warn("cannot point reports/latest at '%s': %s", dir,
                     strerror(errno));
    }
    return 0;
}

/* 1 (logged) when the run may have left agents changed: the snapshot was
 * taken but the restore did not put every agent back. */
static int restore_left_changes(const struct run_outcome *o,
                                const char *run_dir)
{
    const struct restore_counts *c = &o->restore;

    if (!o->snapshot_taken)
        return 0;
    if (!o->restored) {
        log_error("the agents the replay touched were not restored; "
                  "their original state is in '%s/%s'; run: racetrace "
                  "restore %s",
                  run_dir, SNAPSHOT_FILE, run_dir);
        return 1;
    }
    if (restore_complete(c))
        return 0;
    log_error("%zu of %zu agents were not put back (%zu failed, %zu not "
              "attempted); see '%s/%s', then run: racetrace restore %s",
              c->failed + c->not_attempted, c->agents, c->failed,
              c->not_attempted, run_dir, RESTORE_FILE, run_dir);
    return 1;
}

int cmd_run(int argc, char **argv)
{
    struct run_flags f = {0};
    struct scenario scn;
    struct jread jr;
    struct oauth_config env;
    struct run_target target;
    struct region_target rt;
    struct run_options opts;
    struct run_outcome outcome;
    struct analyze_opts aopts;
    struct analyze_result ares;
    struct sim *sim = NULL;
    char run_dir[1024];
    int rc;
    enum rt_err err;

    /* Block the stop signals before anything else, and before any thread
     * exists, so every thread inherits the mask and a Ctrl-C that comes
     * early stays pending until run_record() takes it with sigwait(). */
    sigwatch_block();

    if ((rc = parse_flags(argc, argv, &f)))
        return rc < 0 ? CLI_OK : rc;
    scenario_defaults(&scn);
    if (f.scenario) {
        jread_init(&jr, f.scenario);
        if (scenario_load(&scn, &jr, f.scenario)) {
            log_error("%s", jr.error);
            return CLI_USAGE;
        }
    } else {
        snprintf(scn.name, sizeof(scn.name), "default");
    }
    oauth_config_init(&env);
    if (oauth_config_from_env(&env)) {
        rc = CLI_USAGE; /* it named the variable or file */
        goto out;
    }
    /* Flags beat the environment, which beats the scenario. */
    if (!f.target && env.target)
        snprintf(scn.target, sizeof(scn.target), "%s", env.target);
    if ((rc = apply_overrides(&scn, &f)))
        goto out;

    memset(&target, 0, sizeof(target));
    if (!strcmp(scn.target, "sim")) {
        target.is_sim = 1;
        target.label = "sim";
    } else {
        if (region_resolve(scn.target, &rt)) {
            rc = CLI_USAGE; /* region_resolve named the problem */
            goto out;
        }
        snprintf(target.api_url, sizeof(target.api_url), "%s", rt.api_url);
        snprintf(target.login_url, sizeof(target.login_url), "%s",
                 rt.login_url);
        target.label = scn.target;
        target.client_id = env.client_id;
        target.client_secret = env.client_secret;
        target.access_token = env.access_token;
        if (scn.replay.enabled && !f.allow_writes && !f.dry_run) {
            log_error("the replay writes to '%s'; refusing without "
                      "--allow-writes (or --dry-run to see the writes, or "
                      "remove \"replay\" to only observe)",
                      scn.target);
            rc = CLI_USAGE;
            goto out;
        }
        if (scn.replay.enabled && !f.dry_run && snapshot_check_scenario(&scn)) {
            rc = CLI_USAGE; /* the check named the problem */
            goto out;
        }
        if (!target.access_token &&
            (!target.client_id || !target.client_secret)) {
            log_error("no credentials for '%s': set "
                      "GENESYSCLOUD_OAUTHCLIENT_ID and "
                      "GENESYSCLOUD_OAUTHCLIENT_SECRET (or _SECRET_FILE), "
                      "or GENESYSCLOUD_ACCESS_TOKEN",
                      scn.target);
            rc = CLI_USAGE;
            goto out;
        }
    }
    if ((rc = make_run_dir(scn.name, f.out, run_dir, sizeof(run_dir))))
        goto out;

    if (target.is_sim) {
        scn.sim.port = 0;
        snprintf(scn.sim.log_dir, sizeof(scn.sim.log_dir), "%s", run_dir);
        if (sim_start(&sim, &scn.sim)) {
            rc = CLI_FAILED;
            goto out;
        }
        snprintf(target.api_url, sizeof(target.api_url), "%s", sim_url(sim));
        snprintf(target.login_url, sizeof(target.login_url), "%s",
                 sim_url(sim));
        target.client_id = sim_config(sim)->client_id;
        target.client_secret = sim_config(sim)->client_secret;
    }
    opts.quiet = f.quiet;
    opts.dry_run = f.dry_run;
    err = run_record(&scn, &target, run_dir, &opts, &outcome);
    sim_stop(sim);
    if (err) {
        log_error("run failed; what was recorded is in '%s'", run_dir);
        restore_left_changes(&outcome, run_dir);
        rc = CLI_FAILED;
        goto out;
    }
    if (!f.quiet)
        log_info("recorded %lld requests and %lld operations%s in '%s'; "
                 "analysing",
                 (long long)outcome.requests, (long long)outcome.operations,
                 outcome.interrupted ? " (interrupted)" : "", run_dir);
    memset(&aopts, 0, sizeof(aopts));
    aopts.quiet = f.quiet;
    if (analyze_run(run_dir, &aopts, &ares)) {
        log_error("the run is recorded in '%s' but its analysis failed; "
                  "after fixing the cause, run: racetrace analyze %s",
                  run_dir, run_dir);
        restore_left_changes(&outcome, run_dir);
        rc = CLI_FAILED;
        goto out;
    }
    printf("%s/report.html\n", run_dir);
    rc = outcome.threshold_crossed ? CLI_THRESHOLD : CLI_OK;
    if (restore_left_changes(&outcome, run_dir))
        rc = CLI_FAILED;
out:
    oauth_config_release(&env);
    scenario_release(&scn);
    return rc;
}
