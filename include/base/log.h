/*
 * Diagnostics to stderr, one line each, prefixed "racetrace: ".  Messages are
 * lowercase and name what failed first, subject quoted:
 *   cannot open 'scenarios/x.json': No such file or directory
 * Thread-safe: each message is written with one call under a lock, so lines
 * from different threads never interleave.
 */
#ifndef RT_BASE_LOG_H
#define RT_BASE_LOG_H

#include <stddef.h>
#include "base/err.h"

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Messages above this level are dropped.  Default LOG_INFO.  Thread-safe. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* A last look at every message before it is printed: copy @in[0..len)
 * into @out (NUL-terminated) with whatever must not be printed replaced.
 * api/redact installs redact_line() as soon as a secret is registered, so
 * no log line can carry one, whatever its call site forgot.  NULL = print
 * as is.  Thread-safe. */
typedef char *(*log_filter_fn)(char *out, size_t out_len, const char *in,
                               size_t len);
void log_set_filter(log_filter_fn fn);

/* While a live status line is on the terminal (harness/progress), every
 * message first erases it ("\r\033[K"), so log lines never run into it;
 * the status line is redrawn on its next tick.  Thread-safe. */
void log_set_status_line(int active);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Log an error and return @err, git's `return error(...)` idiom. */
enum rt_err rt_fail(enum rt_err err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
