/*
 * Units parsing.  strtod/strtoll are used only with full end-pointer and
 * errno checks; callers never see atoi-style silent zeros.
 */
#include "base/units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

enum rt_err units_parse_double(const char *s, double *out)
{
    char *end;
    double v;

    if (!s || !*s || isspace((unsigned char)*s))
        return RT_EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0')
        return RT_EINVAL;
    if (errno == ERANGE || !isfinite(v))
        return RT_ERANGE;
    *out = v;
    return RT_OK;
}

enum rt_err units_parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (!s || !*s || isspace((unsigned char)*s))
        return RT_EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || *end != '\0')
        return RT_EINVAL;
    if (errno == ERANGE)
        return RT_ERANGE;
    *out = (int64_t)v;
    return RT_OK;
}

/* Split "<number><suffix>" where number is digits with an optional fraction. */
static enum rt_err split_number(const char *s, double *num, const char **suffix)
{
    const char *p = s;
    char tmp[64];
    size_t n;

    if (!s)
        return RT_EINVAL;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p))
            p++;
    }
    n = (size_t)(p - s);
    if (n == 0 || n >= sizeof(tmp) || (n == 1 && *s == '.'))
        return RT_EINVAL;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (units_parse_double(tmp, num))
        return RT_EINVAL;
    *suffix = p;
    return RT_OK;
}

enum rt_err units_parse_duration(const char *s, int64_t *out_ns)
{
    static const struct {
        const char *name;
        double ns;
    } units[] = {{"ns", 1.0}, {"us", 1e3},  {"ms", 1e6},
                 {"s", 1e9},  {"m", 60e9}, {"h", 3600e9}};
    const char *suffix;
    double num, v;

    if (split_number(s, &num, &suffix))
        return RT_EINVAL;
    if (*suffix == '\0') {
        if (num != 0.0)
            return RT_EINVAL; /* a unit is required except for zero */
        *out_ns = 0;
        return RT_OK;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(suffix, units[i].name) == 0) {
            v = num * units[i].ns;
            if (v > 9.2e18)
                return RT_ERANGE;
            *out_ns = (int64_t)llround(v);
            return RT_OK;
        }
    }
    return RT_EINVAL;
}

enum rt_err units_parse_duration_range(const char *s, int64_t *lo_ns,
                                       int64_t *hi_ns)
{
    const char *dots;
    char left[64];
    enum rt_err err;

    if (!s)
        return RT_EINVAL;
    dots = strstr(s, "..");
    if (!dots) {
        err = units_parse_duration(s, lo_ns);
        if (!err)
            *hi_ns = *lo_ns;
        return err;
    }
    if ((size_t)(dots - s) >= sizeof(left))
        return RT_EINVAL;
    memcpy(left, s, (size_t)(dots - s));
    left[dots - s] = '\0';
    if ((err = units_parse_duration(left, lo_ns)) ||
        (err = units_parse_duration(dots + 2, hi_ns)))
        return err;
    if (*hi_ns < *lo_ns)
        return RT_ERANGE;
    return RT_OK;
}

enum rt_err units_parse_count(const char *s, int64_t *out)
{
    const char *suffix;
    double num, mult = 1.0, v;

    if (split_number(s, &num, &suffix))
        return RT_EINVAL;
    if (strcmp(suffix, "") == 0)
        mult = 1.0;
    else if (strcmp(suffix, "k") == 0 || strcmp(suffix, "K") == 0)
        mult = 1e3;
    else if (strcmp(suffix, "M") == 0)
        mult = 1e6;
    else if (strcmp(suffix, "G") == 0)
        mult = 1e9;
    else
        return RT_EINVAL;
    v = num * mult;
    if (v != floor(v))
        return RT_EINVAL; /* "1.5" is not a count; "1.5k" is */
    if (v > 9.2e18)
        return RT_ERANGE;
    *out = (int64_t)v;
    return RT_OK;
}

char *units_format_duration(int64_t ns, char *out, unsigned long out_len)
{
    if (ns == 0)
        snprintf(out, out_len, "0");
    else if (ns % NS_PER_S == 0)
        snprintf(out, out_len, "%llds", (long long)(ns / NS_PER_S));
    else if (ns % NS_PER_MS == 0)
        snprintf(out, out_len, "%lldms", (long long)(ns / NS_PER_MS));
    else if (ns % NS_PER_US == 0)
        snprintf(out, out_len, "%lldus", (long long)(ns / NS_PER_US));
    else
        snprintf(out, out_len, "%lldns", (long long)ns);
    return out;
}
