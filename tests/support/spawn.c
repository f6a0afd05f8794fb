/*
 * The binary is found from /proc/self/exe rather than the working
 * directory, so a test runs the same from the repository root or from
 * its own folder.  Children are started with posix_spawn, never a shell.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "spawn.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <unistd.h>

extern char **environ;

void spawn_find_binary(char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *d;

    assert_true(n > 0);
    exe[n] = '\0';
    d = dirname(dirname(dirname(exe))); /* build/<variant> */
    snprintf(out, len, "%s/racetrace", d);
    assert_int_equal(access(out, X_OK), 0);
}

pid_t spawn_quiet(const char *path, char *const *argv, const char *err_path)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, err_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_int_equal(posix_spawn(&pid, path, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}
