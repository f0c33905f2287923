/* parse module internals shared between its files. */
#ifndef ROLLWATCH_PARSE_INT_H
#define ROLLWATCH_PARSE_INT_H

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "record.h"

/*
 * memchr inline, 16 bytes a test: for the short spans of a line's head (its time, stream,
 * service), a few per line, where a call costs about as much as the search. The last block
 * overlaps the one before; nothing is read outside s[0..n).
 */
static inline const char *parse__find(const char *s, size_t n, char c)
{
    size_t i = 0;

#if defined(__SSE2__)
    const __m128i want = _mm_set1_epi8(c);

    for (; i + 16 <= n; i += 16) {
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s + i)), want));

        if (m != 0) {
            return s + i + __builtin_ctz(m);
        }
    }
    if (n >= 16 && i < n) {
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s + n - 16)), want));

        m >>= 16 - (n - i); /* the bytes from i on */
        return m != 0 ? s + i + __builtin_ctz(m) : NULL;
    }
#endif
    for (; i < n; i++) {
        if (s[i] == c) {
            return s + i;
        }
    }
    return NULL;
}

/* memcmp(a, b, n) == 0 inline for 16 to 32 bytes (a timestamp), else memcmp. */
static inline int parse__same(const char *a, const char *b, size_t n)
{
#if defined(__SSE2__)
    if (n >= 16 && n <= 32) {
        __m128i x = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)a),
                                   _mm_loadu_si128((const __m128i *)(const void *)b));
        __m128i y = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(a + n - 16)),
                                   _mm_loadu_si128((const __m128i *)(const void *)(b + n - 16)));

        return _mm_movemask_epi8(_mm_and_si128(x, y)) == 0xFFFF;
    }
#endif
    return memcmp(a, b, n) == 0;
}

static inline int parse__has_prefix_n(struct slice s, const char *prefix, size_t n)
{
    return s.p != NULL && s.len >= n && memcmp(s.p, prefix, n) == 0;
}

/* prefix must be a string literal (its length is taken at compile time) */
#define parse__has_prefix(s, prefix) parse__has_prefix_n((s), prefix, sizeof(prefix) - 1)

static inline int parse__upper_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Length of a Convox object id at s (R… or B…: the letter, then upper-case alphanumerics). */
static inline size_t parse__object_id(const char *s, size_t n, char letter)
{
    size_t i = 1;

    if (n == 0 || s[0] != letter) {
        return 0;
    }
    while (i < n && parse__upper_alnum(s[i])) {
        i++;
    }
    return i >= 5 && i <= 20 ? i : 0;
}

/* parse_object_name with p's memo of recent names (parse_name.c). */
struct parser;
void parse__object_name_memo(struct parser *p, struct slice name, struct slice msg,
                             struct record *out);

/* Deploy transcript lines (convox deploy / releases promote). Returns 1 if recognised. */
int parse__cli_line(const char *s, size_t n, struct record *out);


#endif
