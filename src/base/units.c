/*
 * Units parsing.  strtod/strtoll are used only with full end-pointer and
 * errno checks; callers never see atoi-style silent zeros.  Durations and
 * counts are scaled in exact integer arithmetic rather than through a
 * double, so "4.1G" is exactly 4100000000 and a 19-digit count keeps every
 * digit.
 */
#include "base/units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

/* Digits kept from a fraction beyond the unit's resolution, for rounding;
 * 36 * 10^17 still fits in int64_t. */
#define ROUND_DIGITS 17

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

/* "<digits>[.<digits>]<suffix>", unsigned, at least one digit. */
struct decimal {
    const char *ip; /* integer digits */
    size_t ni;
    const char *fp; /* fraction digits */
    size_t nf;
    const char *suffix;
};

static enum rt_err split_number(const char *s, struct decimal *d)
{
    const char *p = s;

    if (!s)
        return RT_EINVAL;
    d->ip = p;
    while (isdigit((unsigned char)*p))
        p++;
    d->ni = (size_t)(p - d->ip);
    d->fp = p;
    d->nf = 0;
    if (*p == '.') {
        d->fp = ++p;
        while (isdigit((unsigned char)*p))
            p++;
        d->nf = (size_t)(p - d->fp);
    }
    if (d->ni + d->nf == 0)
        return RT_EINVAL;
    d->suffix = p;
    return RT_OK;
}

static int64_t pow10_i64(int e)
{
    int64_t v = 1;

    while (e-- > 0)
        v *= 10;
    return v;
}

/*
 * Exact value of @d times (@c * 10^@e), the unit's size in the result's
 * resolution.  Fraction digits beyond 10^-@e either round to nearest
 * (@whole == 0) or must all be zero (@whole != 0, RT_EINVAL otherwise).
 */
static enum rt_err scale_decimal(const struct decimal *d, int64_t c, int e,
                                 int whole, int64_t *out)
{
    int64_t mult = c * pow10_i64(e), v = 0, frac = 0, rest = 0, rest_den = 1;

    for (size_t i = 0; i < d->ni; i++) {
        int digit = d->ip[i] - '0';
        if (v > (INT64_MAX - digit) / 10)
            return RT_ERANGE;
        v = v * 10 + digit;
    }
    if (v > INT64_MAX / mult)
        return RT_ERANGE;
    v *= mult;
    for (int i = 0; i < e; i++)
        frac = frac * 10 + ((size_t)i < d->nf ? d->fp[i] - '0' : 0);
    frac *= c;
    for (size_t i = (size_t)e; i < d->nf; i++) {
        if (whole && d->fp[i] != '0')
            return RT_EINVAL;
        if (i - (size_t)e < ROUND_DIGITS) {
            rest = rest * 10 + (d->fp[i] - '0');
            rest_den *= 10;
        }
    }
    frac += (c * rest + rest_den / 2) / rest_den;
    if (v > INT64_MAX - frac)
        return RT_ERANGE;
    *out = v + frac;
    return RT_OK;
}

enum rt_err units_parse_duration(const char *s, int64_t *out_ns)
{
    /* Each unit is c * 10^e nanoseconds. */
    static const struct {
        const char *name;
        int64_t c;
        int e;
    } units[] = {{"ns", 1, 0}, {"us", 1, 3}, {"ms", 1, 6},
                 {"s", 1, 9},  {"m", 6, 10}, {"h", 36, 11}};
    struct decimal d;

    if (split_number(s, &d))
        return RT_EINVAL;
    if (*d.suffix == '\0') {
        /* A unit is required except for zero. */
        for (size_t i = 0; i < d.ni; i++)
            if (d.ip[i] != '0')
                return RT_EINVAL;
        for (size_t i = 0; i < d.nf; i++)
            if (d.fp[i] != '0')
                return RT_EINVAL;
        *out_ns = 0;
        return RT_OK;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(d.suffix, units[i].name) == 0)
            return scale_decimal(&d, units[i].c, units[i].e, 0, out_ns);
    }
    return RT_EINVAL;
}

enum rt_err units_parse_duration_range(const char *s, int64_t *lo_ns,
                                       int64_t *hi_ns)
{
    const char *dots;
    char left[64];
    int64_t lo, hi;
    enum rt_err err;

    if (!s)
        return RT_EINVAL;
    dots = strstr(s, "..");
    if (!dots) {
        err = units_parse_duration(s, &lo);
        if (!err) {
            *lo_ns = lo;
            *hi_ns = lo;
        }
        return err;
    }
    if ((size_t)(dots - s) >= sizeof(left))
        return RT_EINVAL;
    memcpy(left, s, (size_t)(dots - s));
    left[dots - s] = '\0';
    if ((err = units_parse_duration(left, &lo)) ||
        (err = units_parse_duration(dots + 2, &hi)))
        return err;
    if (hi < lo)
        return RT_ERANGE;
    *lo_ns = lo;
    *hi_ns = hi;
    return RT_OK;
}

enum rt_err units_parse_count(const char *s, int64_t *out)
{
    struct decimal d;
    int e;

    if (split_number(s, &d))
        return RT_EINVAL;
    if (strcmp(d.suffix, "") == 0)
        e = 0;
    else if (strcmp(d.suffix, "k") == 0 || strcmp(d.suffix, "K") == 0)
        e = 3;
    else if (strcmp(d.suffix, "M") == 0)
        e = 6;
    else if (strcmp(d.suffix, "G") == 0)
        e = 9;
    else
        return RT_EINVAL;
    /* "1.5" is not a count; "1.5k" is. */
    return scale_decimal(&d, 1, e, 1, out);
}

char *units_format_duration(int64_t ns, char *out, unsigned long out_len)
{
    /* The largest unit of which @ns holds at least one and which shows it
     * exactly with at most three decimals, so every printed value parses
     * back to the same nanoseconds. */
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {{"s", 1000000000u}, {"ms", 1000000u}, {"us", 1000u}};
    uint64_t mag = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;
    const char *sign = ns < 0 ? "-" : "";
    char frac[8];

    if (ns == 0) {
        snprintf(out, out_len, "0");
        return out;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        uint64_t milli = units[i].ns / 1000, f;
        int digits = 3;

        if (mag < units[i].ns || mag % milli != 0)
            continue;
        f = mag % units[i].ns / milli;
        if (f == 0) {
            snprintf(out, out_len, "%s%llu%s", sign,
                     (unsigned long long)(mag / units[i].ns), units[i].name);
            return out;
        }
        while (f % 10 == 0) {
            f /= 10;
            digits--;
        }
        snprintf(frac, sizeof(frac), "%0*llu", digits, (unsigned long long)f);
        snprintf(out, out_len, "%s%llu.%s%s", sign,
                 (unsigned long long)(mag / units[i].ns), frac, units[i].name);
        return out;
    }
    snprintf(out, out_len, "%s%lluns", sign, (unsigned long long)mag);
    return out;
}
