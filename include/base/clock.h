/*
 * The two clocks, named in every time value:
 *   *_mono_ns  CLOCK_MONOTONIC, for durations and scheduling;
 *   *_wall_ns  CLOCK_REALTIME, for event times lined up with a server.
 * Both are integer nanoseconds.  Read each at the event site.  Thread-safe.
 */
#ifndef RT_BASE_CLOCK_H
#define RT_BASE_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"

#define NS_PER_US INT64_C(1000)
#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)

int64_t clock_mono_ns(void);
int64_t clock_wall_ns(void);

/* Sleep until CLOCK_MONOTONIC reaches @deadline_mono_ns (EINTR-safe). */
void clock_sleep_until_mono(int64_t deadline_mono_ns);
void clock_sleep_ns(int64_t ns);

/* Fill a struct timespec for CLOCK_MONOTONIC condition-variable waits. */
struct timespec clock_mono_timespec(int64_t mono_ns);

#define ISO8601_LEN 32 /* "2026-11-24T16:00:55.123Z" plus room */

/*
 * Print @wall_ns as UTC ISO-8601 with milliseconds ("...T09:00:00.123Z")
 * into @out (at least ISO8601_LEN bytes).  Returns @out.
 */
char *iso8601_format_ms(int64_t wall_ns, char *out, size_t out_len);

/*
 * Parse ISO-8601 date-time: "YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm|
 * +hhmm)".  A zone is required.  Fraction digits past nanoseconds are
 * dropped.  RT_ERANGE for instants int64 nanoseconds cannot hold (before
 * 1677-09-21 or after 2262-04-11), RT_EINVAL on anything else.
 */
enum rt_err iso8601_parse(const char *s, int64_t *wall_ns);

#endif
