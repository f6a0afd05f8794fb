/*
 * Clocks and ISO-8601.  Printing goes through gmtime_r (never localtime);
 * parsing is hand-rolled because strptime ignores fractions and zones.
 */
#include "base/clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t clock_read(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

int64_t clock_mono_ns(void)
{
    return clock_read(CLOCK_MONOTONIC);
}

int64_t clock_wall_ns(void)
{
    return clock_read(CLOCK_REALTIME);
}

struct timespec clock_mono_timespec(int64_t mono_ns)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(mono_ns / NS_PER_S);
    ts.tv_nsec = (long)(mono_ns % NS_PER_S);
    return ts;
}

void clock_sleep_until_mono(int64_t deadline_mono_ns)
{
    struct timespec ts = clock_mono_timespec(deadline_mono_ns);

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

void clock_sleep_ns(int64_t ns)
{
    if (ns > 0)
        clock_sleep_until_mono(clock_mono_ns() + ns);
}

char *iso8601_format_ms(int64_t wall_ns, char *out, size_t out_len)
{
    struct tm tm;
    time_t secs;
    int64_t total_ms, ms;

    /* Floor division (C truncates toward zero) so an instant before 1970
     * prints the millisecond it falls in: -1 ns is 23:59:59.999. */
    total_ms = wall_ns / NS_PER_MS;
    if (wall_ns % NS_PER_MS < 0)
        total_ms--;
    secs = (time_t)(total_ms / 1000);
    ms = total_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    if (!gmtime_r(&secs, &tm)) {
        snprintf(out, out_len, "invalid-time");
        return out;
    }
    snprintf(out, out_len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)ms);
    return out;
}

static int take_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int take_char(const char **p, char c)
{
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

static int days_in_month(int year, int month)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 ? 28 + leap : dm[month - 1];
}

enum rt_err iso8601_parse(const char *s, int64_t *wall_ns)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    int64_t frac_ns = 0, scale = NS_PER_S / 10;
    const char *p = s;
    struct tm tm;
    time_t t;

    if (!s)
        return RT_EINVAL;
    if (take_digits(&p, 4, &y) || take_char(&p, '-') ||
        take_digits(&p, 2, &mo) || take_char(&p, '-') ||
        take_digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return RT_EINVAL;
    p++;
    if (take_digits(&p, 2, &h) || take_char(&p, ':') ||
        take_digits(&p, 2, &mi) || take_char(&p, ':') ||
        take_digits(&p, 2, &sec))
        return RT_EINVAL;
    if (*p == '.' || *p == ',') {
        p++;
        if (*p < '0' || *p > '9')
            return RT_EINVAL;
        while (*p >= '0' && *p <= '9') {
            frac_ns += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        p++;
        if (take_digits(&p, 2, &oh))
            return RT_EINVAL;
        if (*p == ':')
            p++;
        if (take_digits(&p, 2, &om))
            return RT_EINVAL;
        if (oh > 23 || om > 59)
            return RT_EINVAL;
    } else {
        return RT_EINVAL;
    }
    if (*p != '\0')
        return RT_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || sec > 60)
        return RT_EINVAL;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    t -= (time_t)sign * (oh * 3600 + om * 60);
    /* int64 nanoseconds span 1677..2262; years outside would overflow. */
    if (t > INT64_MAX / NS_PER_S || t < INT64_MIN / NS_PER_S ||
        (int64_t)t * NS_PER_S > INT64_MAX - frac_ns)
        return RT_ERANGE;
    *wall_ns = (int64_t)t * NS_PER_S + frac_ns;
    return RT_OK;
}
