/*
 * Subcommands.  Each takes the arguments after its name (argv[0] is the
 * subcommand) and returns the process exit code: 0 ok, 1 failed, 2 usage or
 * invalid input, 3 a scenario threshold crossed.
 */
#ifndef RT_CLI_CLI_H
#define RT_CLI_CLI_H

enum cli_exit {
    CLI_OK = 0,
    CLI_FAILED = 1,
    CLI_USAGE = 2,
    CLI_THRESHOLD = 3,
};

int cmd_sim(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_restore(int argc, char **argv);

#endif
