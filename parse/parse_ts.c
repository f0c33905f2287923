/* RFC 3339 timestamps -> integer nanoseconds since the Unix epoch, without libc time calls. */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "parse.h"

#define NS_PER_SEC 1000000000LL

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Reads exactly n digits at s; returns -1 on a non-digit. */
static int digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dm[m - 1];
}

int parse_rfc3339(const char *s, size_t len, int64_t *ns_out)
{
    int y, mo, d, h, mi, sec, off = 0;
    int64_t frac = 0;
    size_t i = 19;

    /* YYYY-MM-DDTHH:MM:SS is 19 bytes, plus at least the zone. */
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':') {
        return -1;
    }
    y = digits(s, 4);
    mo = digits(s + 5, 2);
    d = digits(s + 8, 2);
    h = digits(s + 11, 2);
    mi = digits(s + 14, 2);
    sec = digits(s + 17, 2);
    /* int64 nanoseconds cover 1678..2262; anything outside is not a log timestamp. */
    if (y < 1678 || y > 2261 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        sec < 0 || sec > 60 || d > days_in_month(y, mo)) {
        return -1;
    }
    if (sec == 60) {
        sec = 59; /* a leap second sorts with the second before it */
    }
    if (s[i] == '.') {
        int n = 0;

        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (++n > 9) {
                return -1;
            }
            frac = frac * 10 + (s[i] - '0');
            i++;
        }
        if (n == 0) {
            return -1;
        }
        for (; n < 9; n++) {
            frac *= 10;
        }
    }
    if (i >= len) {
        return -1;
    }
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        int oh, om, sign = s[i] == '-' ? -1 : 1;

        if (len - i == 6 && s[i + 3] == ':') {
            oh = digits(s + i + 1, 2);
            om = digits(s + i + 4, 2);
        } else if (len - i == 5) {
            oh = digits(s + i + 1, 2);
            om = digits(s + i + 3, 2);
        } else {
            return -1;
        }
        if (oh < 0 || oh > 23 || om < 0 || om > 59) {
            return -1;
        }
        off = sign * (oh * 3600 + om * 60);
        i = len;
    } else {
        return -1;
    }
    if (i != len) {
        return -1;
    }
    *ns_out = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec -
                off) *
               NS_PER_SEC) +
              frac;
    return 0;
}

size_t parse_format_ts(int64_t ns, char *buf, size_t cap)
{
    return clock_format_rfc3339(ns, buf, cap);
}
