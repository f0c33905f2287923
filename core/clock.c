/* Event time: formatting integer nanoseconds as RFC 3339 UTC. */
#include <stdio.h>

#include "clock.h"

#define NS_PER_SEC 1000000000LL

static void civil_from_days(int64_t z, int *y_out, unsigned *m_out, unsigned *d_out)
{
    int64_t era, y;
    unsigned doe, yoe, doy, mp, d, m;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = (int64_t)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    *y_out = (int)(y + (m <= 2));
    *m_out = m;
    *d_out = d;
}

size_t clock_format_rfc3339(int64_t ns, char *buf, size_t cap)
{
    int64_t secs = ns / NS_PER_SEC, frac = ns % NS_PER_SEC, days, rem;
    int y, n;
    unsigned m, d;

    if (frac < 0) {
        frac += NS_PER_SEC;
        secs -= 1;
    }
    days = secs / 86400;
    rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days -= 1;
    }
    civil_from_days(days, &y, &m, &d);
    if (frac == 0) {
        n = snprintf(buf, cap, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, m, d, (int)(rem / 3600),
                     (int)(rem / 60 % 60), (int)(rem % 60));
    } else if (frac % 1000000 == 0) {
        n = snprintf(buf, cap, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d, (int)(rem / 3600),
                     (int)(rem / 60 % 60), (int)(rem % 60), (int)(frac / 1000000));
    } else if (frac % 1000 == 0) {
        n = snprintf(buf, cap, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", y, m, d, (int)(rem / 3600),
                     (int)(rem / 60 % 60), (int)(rem % 60), (int)(frac / 1000));
    } else {
        n = snprintf(buf, cap, "%04d-%02u-%02uT%02d:%02d:%02d.%09dZ", y, m, d, (int)(rem / 3600),
                     (int)(rem / 60 % 60), (int)(rem % 60), (int)frac);
    }
    return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}
