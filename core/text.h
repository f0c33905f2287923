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
