/*
 * racetrace check SCENARIO: validate a scenario and print it resolved (every
 * default filled in) as JSON on stdout, or the first error as one line on
 * stderr with exit code 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"
#include "harness/scenario.h"

static const char usage[] =
    "usage: racetrace check <scenario.json>\n"
    "\n"
    "Validate a scenario and print it with every default filled in.\n";

int cmd_check(int argc, char **argv)
{
    struct scenario scn;
    struct jread jr;
    cJSON *resolved;
    char *text;

    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (argc != 2 || argv[1][0] == '-') {
        if (argc > 1 && argv[1][0] == '-')
            log_error("unknown option '%s' for 'racetrace check'", argv[1]);
        else
            log_error("'racetrace check' takes exactly one scenario file");
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    scenario_defaults(&scn);
    jread_init(&jr, argv[1]);
    if (scenario_load(&scn, &jr, argv[1])) {
        log_error("%s", jr.error);
        return CLI_USAGE;
    }
    resolved = scenario_resolved_json(&scn);
    text = cJSON_Print(resolved);
    puts(text);
    free(text);
    cJSON_Delete(resolved);
    scenario_release(&scn);
    return CLI_OK;
}
