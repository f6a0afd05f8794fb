/*
 * Running the racetrace binary from integration tests: where it is, and
 * starting it quietly with its stderr kept in a file for the failure
 * message.  Failures go through cmocka; call from the test's thread.
 */
#ifndef RT_TESTS_SPAWN_H
#define RT_TESTS_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

/* Put the path of the racetrace binary built with this test program in
 * @out (@len bytes): tests live in build/<variant>/tests/<kind>/, the
 * binary in build/<variant>/.  Fails the test when it is not executable. */
void spawn_find_binary(char *out, size_t len);

/* Start @path with @argv (argv[0] included, NULL-terminated) and this
 * process's environment, stdout to /dev/null, stderr into @err_path
 * (created or truncated).  Returns the child's pid for the caller to
 * reap; fails the test when it cannot be started. */
pid_t spawn_quiet(const char *path, char *const *argv, const char *err_path);

#endif
