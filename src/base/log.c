/*
 * stderr logging.  A message is formatted into a local buffer first and then
 * written with a single fputs under a mutex, so concurrent threads never
 * interleave within a line.
 */
#include "base/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_int log_level = LOG_INFO;
static atomic_int status_line_active;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(log_filter_fn) log_filter;

void log_set_filter(log_filter_fn fn)
{
    atomic_store(&log_filter, fn);
}

void log_set_level(enum log_level level)
{
    atomic_store(&log_level, (int)level);
}

void log_set_status_line(int active)
{
    atomic_store(&status_line_active, active != 0);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load(&log_level);
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
    static const char *const prefix[] = {"error: ", "warning: ", "", ""};
    char line[2048], msg[2048];
    log_filter_fn filter = atomic_load(&log_filter);
    int n;

    if ((int)level > atomic_load(&log_level))
        return;
    n = snprintf(line, sizeof(line), "%sracetrace: %s",
                 atomic_load(&status_line_active) ? "\r\033[K" : "",
                 prefix[level]);
    if (n < 0)
        return;
    if (filter) {
        int m = vsnprintf(msg, sizeof(msg), fmt, ap);
        size_t len = m < 0 ? 0 : (size_t)m;
        if (len >= sizeof(msg))
            len = sizeof(msg) - 1;
        filter(line + n, sizeof(line) - (size_t)n, msg, len);
    } else {
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    }
    pthread_mutex_lock(&log_lock);
    fputs(line, stderr);
    fputc('\n', stderr);
    pthread_mutex_unlock(&log_lock);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

enum rt_err rt_fail(enum rt_err err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(LOG_ERROR, fmt, ap);
    va_end(ap);
    return err;
}
