/*
 * Bounded text building in a caller's buffer of cap bytes (cap >= 1): each call appends at
 * offset o, cuts what does not fit and keeps the text NUL-terminated, and returns the new
 * offset. Replaces snprintf where it ran per record or per alert: a plain "%s" or "%llu"
 * through vfprintf cost some 800 instructions.
 */
#ifndef ROLLWATCH_TEXT_H
#define ROLLWATCH_TEXT_H

#include <stdint.h>
#include <string.h>

/*
 * memcpy for the short runs of keys and names: where the compiler knows a bound on n it
 * expands memcpy as rep movs, whose start-up cost is several times that of copying 30 bytes.
 * Overlapping word copies, nothing read or written outside [0, n).
 */
static inline void text_copy(char *dst, const char *src, size_t n)
{
    uint64_t a, b;

    if (n >= 16) {
        size_t i = 0;

        for (; i + 16 <= n; i += 16) {
            memcpy(&a, src + i, 8);
            memcpy(&b, src + i + 8, 8);
            memcpy(dst + i, &a, 8);
            memcpy(dst + i + 8, &b, 8);
        }
        if (i < n) {
            memcpy(&a, src + n - 16, 8);
            memcpy(&b, src + n - 8, 8);
            memcpy(dst + n - 16, &a, 8);
            memcpy(dst + n - 8, &b, 8);
        }
    } else if (n >= 8) {
        memcpy(&a, src, 8);
        memcpy(&b, src + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else {
        for (size_t i = 0; i < n; i++) {
            dst[i] = src[i];
        }
    }
}

static inline size_t text_put(char *buf, size_t cap, size_t o, const char *s, size_t n)
{
    if (o + 1 >= cap) {
        return o;
    }
    if (n > cap - 1 - o) {
        n = cap - 1 - o;
    }
    if (n > 0) {
        memcpy(buf + o, s, n); /* s may be NULL when n is 0 */
    }
    buf[o + n] = '\0';
    return o + n;
}

static inline size_t text_puts(char *buf, size_t cap, size_t o, const char *s)
{
    return text_put(buf, cap, o, s, strlen(s));
}

/* v in decimal, at least width digits (zero-padded). */
static inline size_t text_put_u64(char *buf, size_t cap, size_t o, uint64_t v, int width)
{
    char tmp[20];
    int n = 0;

    do {
        tmp[19 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0 || n < width);
    return text_put(buf, cap, o, tmp + 20 - n, (size_t)n);
}

#endif
