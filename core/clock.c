/* Event time: formatting integer nanoseconds as RFC 3339 UTC. */
#include <string.h>

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

/* v as exactly n decimal digits (zero-padded); returns the end. */
static char *put_digits(char *o, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + n;
}

size_t clock_format_rfc3339(int64_t ns, char *buf, size_t cap)
{
    int64_t secs = ns / NS_PER_SEC, frac = ns % NS_PER_SEC, days, rem;
    int y, digits;
    unsigned m, d;
    char tmp[40], *o = tmp; /* the longest form is 30 bytes: int64 ns end in the year 2262 */
    size_t n;

    if (cap == 0) {
        return 0;
    }
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
    /* digits by hand: this runs for every time field of every alert, and snprintf was 2% of
     * a replay. Fractions are cut to the shortest of 0, 3, 6 or 9 digits that is exact. */
    digits = frac == 0 ? 0 : frac % 1000000 == 0 ? 3 : frac % 1000 == 0 ? 6 : 9;
    o = put_digits(o, (unsigned)y, 4);
    *o++ = '-';
    o = put_digits(o, m, 2);
    *o++ = '-';
    o = put_digits(o, d, 2);
    *o++ = 'T';
    o = put_digits(o, (unsigned)(rem / 3600), 2);
    *o++ = ':';
    o = put_digits(o, (unsigned)(rem / 60 % 60), 2);
    *o++ = ':';
    o = put_digits(o, (unsigned)(rem % 60), 2);
    if (digits > 0) {
        *o++ = '.';
        o = put_digits(o, (unsigned)(frac / (digits == 3 ? 1000000 : digits == 6 ? 1000 : 1)),
                       digits);
    }
    *o++ = 'Z';
    n = (size_t)(o - tmp);
    if (n > cap - 1) {
        n = cap - 1;
    }
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return n;
}
