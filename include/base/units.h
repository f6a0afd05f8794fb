/*
 * The one checked number parser.  Durations take a unit ("500ms", "10s",
 * "2m", "1h", "250us", "0"); counts take an optional k/M/G suffix ("1k" =
 * 1000).  Whole strings only: trailing junk, signs where not allowed, and
 * overflow are RT_EINVAL / RT_ERANGE.  Pure and thread-safe.
 */
#ifndef RT_BASE_UNITS_H
#define RT_BASE_UNITS_H

#include <stdint.h>

#include "base/err.h"

/* Non-negative duration with a unit, e.g. "1.5s" -> 1500000000. */
enum rt_err units_parse_duration(const char *s, int64_t *out_ns);
/* Duration range "50ms..400ms"; a single duration gives lo == hi. */
enum rt_err units_parse_duration_range(const char *s, int64_t *lo_ns,
                                       int64_t *hi_ns);
/* Non-negative integer count with optional k/M/G suffix. */
enum rt_err units_parse_count(const char *s, int64_t *out);
/* Signed 64-bit decimal integer, whole string. */
enum rt_err units_parse_i64(const char *s, int64_t *out);
/* Finite double, whole string. */
enum rt_err units_parse_double(const char *s, double *out);
/* Print a duration compactly ("1.5s", "200ms", "0") into @out. */
char *units_format_duration(int64_t ns, char *out, unsigned long out_len);

#endif
