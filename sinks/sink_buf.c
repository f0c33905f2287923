/*
 * Output buffer and JSON string escaping for the record stream. yajl_gen spent most of
 * `rollwatch parse` in per-byte callbacks; this copies clean runs with one memcpy instead.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "sink_int.h"
#include "utf8.h"
#include "word.h"
#include "xmalloc.h"

void sink__buf_init(struct sink__buf *b, size_t cap)
{
    memset(b, 0, sizeof(*b));
    b->p = xmalloc(cap);
    b->cap = cap;
}

const char *sink__buf_ts(struct sink__buf *b, int64_t ns, size_t *len)
{
    struct sink__ts *t;

    for (int i = 0; i < 2; i++) {
        if (b->ts[i].len > 0 && b->ts[i].ns == ns) {
            *len = b->ts[i].len;
            return b->ts[i].text;
        }
    }
    t = &b->ts[b->ts_next];
    b->ts_next ^= 1;
    t->ns = ns;
    t->len = clock_format_rfc3339(ns, t->text, sizeof(t->text));
    *len = t->len;
    return t->text;
}

void sink__buf_free(struct sink__buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void sink__buf_grow(struct sink__buf *b, size_t n)
{
    while (b->len + n > b->cap) {
        b->cap *= 2;
    }
    b->p = xrealloc(b->p, b->cap);
}

static void reserve(struct sink__buf *b, size_t n)
{
    if (b->len + n > b->cap) {
        sink__buf_grow(b, n);
    }
}

/* 0: copy as is; 1: needs an escape; 2: byte >= 0x80, check UTF-8 when repairing. */
static const unsigned char esc_class[256] = {
    /* 0x00-0x1f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x20-0x7f: '"' and '\\' */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x80-0xff */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* Nonzero if one of the 8 bytes at s may need escaping (never zero when one does). */
static uint64_t word_dirty(const unsigned char *s)
{
    uint64_t v = word_load(s);

    /* control bytes, '"', '\\', and bytes of 0x80 and above (checked for valid UTF-8) */
    return word_below(v, 0x20) | word_eq(v, '"') | word_eq(v, '\\') | word_high(v);
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* Bit k set if byte k of the 16 at s may need escaping: the same bytes as word_dirty. */
static inline unsigned dirty16(const unsigned char *s)
{
    __m128i v = _mm_loadu_si128((const __m128i *)s);
    /* signed: 0x80 and above are negative, so "below 0x20" takes them too */
    __m128i m = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                             _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                          _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));

    return (unsigned)_mm_movemask_epi8(m);
}
#endif

/*
 * The first byte at or after i that may need escaping, or n. Alert hints are long runs of
 * plain text: 16 bytes a test, and the last block overlaps the one before instead of
 * stepping byte by byte.
 */
static inline size_t next_dirty(const unsigned char *s, size_t i, size_t n)
{
#if defined(__SSE2__)
    while (n - i >= 16) {
        unsigned m = dirty16(s + i);

        if (m != 0) {
            return i + (size_t)__builtin_ctz(m);
        }
        i += 16;
    }
    if (n >= 16 && i < n) {
        unsigned m = dirty16(s + n - 16) >> (16 - (n - i)); /* the bytes from i on */

        return m != 0 ? i + (size_t)__builtin_ctz(m) : n;
    }
#endif
    while (n - i >= 8 && word_dirty(s + i) == 0) {
        i += 8;
    }
    while (i < n && esc_class[s[i]] == 0) {
        i++;
    }
    return i;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_WIDE 1

/*
 * next_dirty, 32 bytes a test, for CPUs with AVX2 (the build targets plain x86-64). An alert's
 * hint is hundreds of bytes with nothing to escape, and alerts are most of what replay writes.
 */
__attribute__((target("avx2"))) static size_t next_dirty_wide(const unsigned char *s, size_t i,
                                                             size_t n)
{
    const __m256i sp = _mm256_set1_epi8(0x20), q = _mm256_set1_epi8('"');
    const __m256i bs = _mm256_set1_epi8('\\');

    while (n - i >= 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
        /* signed, as in dirty16: 0x80 and above are below 0x20 too */
        __m256i m = _mm256_or_si256(_mm256_cmpgt_epi8(sp, v),
                                    _mm256_or_si256(_mm256_cmpeq_epi8(v, q),
                                                    _mm256_cmpeq_epi8(v, bs)));
        unsigned mask = (unsigned)_mm256_movemask_epi8(m);

        if (mask != 0) {
            return i + (size_t)__builtin_ctz(mask);
        }
        i += 32;
    }
    return next_dirty(s, i, n);
}
#endif

/* The seq bytes of a UTF-8 sequence at s[*i], or U+FFFD for an invalid byte (seq 0). */
static inline void put_utf8(struct sink__buf *b, const unsigned char *s, size_t *i, size_t seq)
{
    if (seq > 0) {
        memcpy(b->p + b->len, s + *i, seq);
        b->len += seq;
        *i += seq;
    } else {
        memcpy(b->p + b->len, "\xEF\xBF\xBD", 3);
        b->len += 3;
        (*i)++;
    }
}

void sink__json_str(struct sink__buf *b, const char *str, size_t n, int repair)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;
#if HAVE_WIDE
    int wide = n >= 64 && __builtin_cpu_supports("avx2");
#endif

    /* worst case: every byte becomes \u00XX (6) or U+FFFD (3) */
    reserve(b, 6 * n + 2);
    b->p[b->len++] = '"';
    for (;;) {
#if HAVE_WIDE
        i = wide ? next_dirty_wide(s, i, n) : next_dirty(s, i, n);
#else
        i = next_dirty(s, i, n);
#endif
        if (i >= n) {
            break;
        }
        unsigned char c;
        unsigned char k;
        char *o;

        c = s[i];
        k = esc_class[c];

        if (k == 2 && !repair) {
            i++;
            continue;
        }
        memcpy(b->p + b->len, s + run, i - run);
        b->len += i - run;
        o = b->p + b->len;
        if (k == 2) {
            put_utf8(b, s, &i, utf8_seq(s + i, n - i));
            run = i;
            continue;
        }
        o[0] = '\\';
        switch (c) {
        case '"':
        case '\\':
            o[1] = (char)c;
            b->len += 2;
            break;
        case '\n':
            o[1] = 'n';
            b->len += 2;
            break;
        case '\r':
            o[1] = 'r';
            b->len += 2;
            break;
        case '\t':
            o[1] = 't';
            b->len += 2;
            break;
        case '\b':
            o[1] = 'b';
            b->len += 2;
            break;
        case '\f':
            o[1] = 'f';
            b->len += 2;
            break;
        default:
            memcpy(o + 1, "u00", 3);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            b->len += 6;
        }
        i++;
        run = i;
    }
    memcpy(b->p + b->len, s + run, n - run);
    b->len += n - run;
    b->p[b->len++] = '"';
}

void sink__text_str(struct sink__buf *b, const char *str, size_t n, int repair)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    /* worst case: every byte becomes \xNN (4), U+FFFD (3), or two bytes one \u00XX (6) */
    reserve(b, 4 * n);
    while (i < n) {
        unsigned char c = s[i];
        char *o = b->p + b->len;

        if (c >= 0x20 && c < 0x7f) {
            *o = (char)c;
            b->len++;
            i++;
        } else if (c >= 0x80) {
            size_t seq = utf8_seq(s + i, n - i);

            if (seq == 2 && c == 0xC2 && s[i + 1] < 0xA0) {
                /* U+0080..U+009F: C1 controls (U+009B is a CSI to some terminals) */
                memcpy(o, "\\u00", 4);
                o[4] = hex[s[i + 1] >> 4];
                o[5] = hex[s[i + 1] & 15];
                b->len += 6;
                i += 2;
            } else {
                put_utf8(b, s, &i, seq == 0 && !repair ? 1 : seq); /* not repaired: as it is */
            }
        } else {
            /* a control byte (ESC among them) must not reach the terminal */
            o[0] = '\\';
            o[1] = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : 'x';
            if (o[1] == 'x') {
                o[2] = hex[c >> 4];
                o[3] = hex[c & 15];
                b->len += 4;
            } else {
                b->len += 2;
            }
            i++;
        }
    }
}
