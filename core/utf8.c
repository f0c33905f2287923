/* UTF-8 checks and repair for log bytes: validity and NUL scan (ASCII fast path), U+FFFD fix-up. */
#include <stdint.h>
#include <string.h>

#include "record.h"
#include "utf8.h"
#include "word.h"


/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is invalid or cut short. */
size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];

    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 &&
                       (s[3] & 0xC0) == 0x80
                   ? 4
                   : 0;
    }
    return 0;
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* Non-zero if one of the 16 bytes at s is a NUL or is not ASCII. */
static inline unsigned odd16(const unsigned char *s)
{
    __m128i v = _mm_loadu_si128((const __m128i *)s);

    return (unsigned)_mm_movemask_epi8(_mm_or_si128(v, _mm_cmpeq_epi8(v, _mm_setzero_si128())));
}

/*
 * Where the byte-wise scan has to start: n when all n bytes are ASCII and none is NUL, else
 * the start of the first 16-byte block that is not (all bytes before it are plain ASCII, so
 * it is a character boundary). Log lines are mostly plain, and this is the reader's only
 * pass over every byte, so it runs 16 bytes per test with no byte-wise tail: the last block
 * overlaps the one before it.
 */
static size_t plain_prefix(const unsigned char *s, size_t n)
{
    size_t i = 0;

    if (n < 16) {
        return 0;
    }
    for (; i + 32 <= n; i += 32) {
        if (odd16(s + i) | odd16(s + i + 16)) {
            return i;
        }
    }
    if (i + 16 <= n) {
        if (odd16(s + i)) {
            return i;
        }
        i += 16;
    }
    if (i < n && odd16(s + n - 16)) {
        return n - 16;
    }
    return n;
}
#else
static size_t plain_prefix(const unsigned char *s, size_t n)
{
    (void)s;
    (void)n;
    return 0;
}
#endif

unsigned utf8_scan(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned flags = 0;
    size_t i = plain_prefix(s, n);

    while (i < n) {
        /* Plain ASCII bytes, none of them NUL: the common case, 32 or 8 at a time. */
        if (n - i >= 32) {
            uint64_t bad = 0;

            for (int k = 0; k < 4; k++) {
                uint64_t v = word_load(s + i + 8 * k);

                bad |= word_high(v) | word_zero(v);
            }
            if (bad == 0) {
                i += 32;
                continue;
            }
        }
        if (n - i >= 8) {
            uint64_t v = word_load(s + i);

            if ((word_high(v) | word_zero(v)) == 0) {
                i += 8;
                continue;
            }
        }
        if (s[i] == 0) {
            flags |= REC_HAS_NUL;
            i++;
        } else if (s[i] < 0x80) {
            i++;
        } else {
            size_t k = utf8_seq(s + i, n - i);

            if (k == 0) {
                flags |= REC_BAD_UTF8;
                k = 1;
            }
            i += k;
        }
    }
    return flags;
}

size_t utf8_sanitize(const char *str, size_t n, char *out)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, o = 0;

    while (i < n) {
        size_t k = utf8_seq(s + i, n - i);

        if (k == 0) {
            /* U+FFFD REPLACEMENT CHARACTER, one per bad byte (the WHATWG decoder's choice). */
            out[o++] = (char)0xEF;
            out[o++] = (char)0xBF;
            out[o++] = (char)0xBD;
            i++;
        } else {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        }
    }
    return o;
}
