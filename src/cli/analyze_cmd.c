/*
 * racetrace analyze RUN: the diagnosis and every report of a recorded run,
 * from its directory alone (report/analyze.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "api/oauth.h"
#include "base/log.h"
#include "base/units.h"
#include "cli/cli.h"
#include "report/analyze.h"

static const char usage[] =
    "usage: racetrace analyze <run-dir> [--window <time>]\n"
    "                         [--permutations <n>] [-q]\n"
    "\n"
    "Diagnose a recorded run again: what bumped the agents' versions and\n"
    "why each update conflicted.  Reads only the run directory and writes\n"
    "summary.json, summary.md, report.html, bumps.csv, conflicts.csv,\n"
    "association.csv, strategies.csv, plots/ and evidence.tar.gz into it.\n"
    "\n"
    "    --window <time>      how soon after a transition a bump counts as\n"
    "                         following it (default: the scenario's\n"
    "                         report.window, else 2s)\n"
    "    --permutations <n>   null draws of each test (default 999)\n"
    "    -q, --quiet          print only the report's path\n";

enum { OPT_WINDOW = 256, OPT_PERMUTATIONS, OPT_HELP };

static const struct option options[] = {
    {"window", required_argument, NULL, OPT_WINDOW},
    {"permutations", required_argument, NULL, OPT_PERMUTATIONS},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0}};

/* The usage after an error already logged; exit code 2. */
static int usage_error(void)
{
    fputs(usage, stderr);
    return CLI_USAGE;
}

int cmd_analyze(int argc, char **argv)
{
    struct analyze_opts opts;
    struct analyze_result res;
    struct oauth_config env;
    const char *dir = NULL;
    struct stat st;
    int64_t v;
    int opt;
    enum rt_err err;

    memset(&opts, 0, sizeof(opts));
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "q", options, NULL)) != -1) {
        switch (opt) {
        case OPT_WINDOW:
            if (units_parse_duration(optarg, &v) || v <= 0) {
                log_error("invalid value '%s' for --window: expected a "
                          "duration such as 500ms or 2s",
                          optarg);
                return usage_error();
            }
            opts.window_ns = v;
            break;
        case OPT_PERMUTATIONS:
            if (units_parse_count(optarg, &v) || v < 19 || v > 100000) {
                log_error("invalid value '%s' for --permutations: expected "
                          "19 to 100000",
                          optarg);
                return usage_error();
            }
            opts.permutations = (uint32_t)v;
            break;
        case 'q':
            opts.quiet = 1;
            break;
        case OPT_HELP:
            fputs(usage, stdout);
            return CLI_OK;
        case ':':
            log_error("option '%s' needs a value", argv[optind - 1]);
            return usage_error();
        default:
            log_error("unknown option '%s' for 'racetrace analyze'",
                      argv[optind - 1]);
            return usage_error();
        }
    }
    if (optind < argc)
        dir = argv[optind++];
    if (!dir) {
        log_error("%s", "missing the run directory");
        return usage_error();
    }
    if (optind < argc) {
        log_error("unexpected argument '%s' for 'racetrace analyze'",
                  argv[optind]);
        return usage_error();
    }
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
        log_error("'%s' is not a run directory", dir);
        return usage_error();
    }
    /* Secrets in the environment are registered for redaction, so the
     * evidence bundle refuses any file that carries one. */
    oauth_config_init(&env);
    if (oauth_config_from_env(&env)) {
        oauth_config_release(&env);
        return CLI_USAGE; /* the one-line reason is logged */
    }
    err = analyze_run(dir, &opts, &res);
    oauth_config_release(&env);
    if (err == RT_EPARSE || err == RT_ENOENT)
        return CLI_USAGE;
    if (err)
        return CLI_FAILED;
    printf("%s/report.html\n", dir);
    return CLI_OK;
}
