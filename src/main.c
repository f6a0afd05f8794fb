/*
 * racetrace: reproduce and diagnose optimistic-locking races against the
 * Genesys Cloud Platform API.  main() only dispatches to a subcommand; each
 * subcommand wires its parts (see src/cli/).
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "base/log.h"
#include "cli/cli.h"

static const char usage[] =
    "usage: racetrace <command> [<args>]\n"
    "\n"
    "    run        record a scenario against the simulator or an org,\n"
    "               then analyse it\n"
    "    analyze    diagnose a recorded run again from its directory\n"
    "    sim        serve a simulated Genesys Cloud org on 127.0.0.1\n"
    "    check      validate a scenario and print it resolved\n"
    "    restore    put back what a killed run changed on an org\n"
    "    version    print the version\n"
    "\n"
    "'racetrace <command> --help' describes a command.\n";

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;
    int rc;

    if (!cmd) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("racetrace %s\n", RT_VERSION);
        return CLI_OK;
    }
    /* libcurl's global state must exist before any thread starts. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        log_error("cannot initialise libcurl");
        return CLI_FAILED;
    }
    if (!strcmp(cmd, "sim")) {
        rc = cmd_sim(argc - 1, argv + 1);
    } else if (!strcmp(cmd, "run")) {
        rc = cmd_run(argc - 1, argv + 1);
    } else if (!strcmp(cmd, "analyze") || !strcmp(cmd, "analyse")) {
        rc = cmd_analyze(argc - 1, argv + 1);
    } else if (!strcmp(cmd, "check")) {
        rc = cmd_check(argc - 1, argv + 1);
    } else if (!strcmp(cmd, "restore")) {
        rc = cmd_restore(argc - 1, argv + 1);
    } else {
        log_error("unknown command '%s'", cmd);
        fputs(usage, stderr);
        rc = CLI_USAGE;
    }
    curl_global_cleanup();
    return rc;
}
