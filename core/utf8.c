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

unsigned utf8_scan(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned flags = 0;
    size_t i = 0;

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
