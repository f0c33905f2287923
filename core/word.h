/*
 * Eight bytes at a time: tests on a uint64_t of text bytes, for the scans that run over every
 * byte (UTF-8 validity, JSON escaping). Each returns a word with the high bit set in the byte
 * that matches; a byte after a matching one may be flagged too (borrows carry), so callers
 * use them to skip clean runs and look at the flagged word byte by byte.
 */
#ifndef ROLLWATCH_WORD_H
#define ROLLWATCH_WORD_H

#include <stdint.h>
#include <string.h>

#define WORD_ONES 0x0101010101010101ULL
#define WORD_HIGHS 0x8080808080808080ULL

static inline uint64_t word_load(const unsigned char *s)
{
    uint64_t v;

    memcpy(&v, s, sizeof(v));
    return v;
}

/* A zero byte. */
static inline uint64_t word_zero(uint64_t v)
{
    return (v - WORD_ONES) & ~v & WORD_HIGHS;
}

/* A byte below n (n at most 0x80). */
static inline uint64_t word_below(uint64_t v, unsigned char n)
{
    return (v - WORD_ONES * n) & ~v & WORD_HIGHS;
}

/* A byte equal to c. */
static inline uint64_t word_eq(uint64_t v, unsigned char c)
{
    return word_zero(v ^ (WORD_ONES * c));
}

/* A byte of 0x80 or above (not ASCII). */
static inline uint64_t word_high(uint64_t v)
{
    return v & WORD_HIGHS;
}

#endif
