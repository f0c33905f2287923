/*
 * Non-cryptographic hashes. FNV-1a 64 for everything that is written out or saved (alert
 * fingerprints, content marks), so those stay stable; hash_mem for in-memory tables only.
 */
#ifndef ROLLWATCH_HASH_H
#define ROLLWATCH_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HASH_FNV1A_INIT 1469598103934665603ULL

/* Continues hash h over p[0..n). Start with HASH_FNV1A_INIT. */
static inline uint64_t hash_fnv1a_more(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;

    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static inline uint64_t hash_fnv1a(const void *p, size_t n)
{
    return hash_fnv1a_more(HASH_FNV1A_INIT, p, n);
}

/*
 * Eight bytes per step: FNV-1a's multiply per byte is a chain of dependent multiplies, which
 * made it most of the cost of a state lookup. Not stable across versions: never write it out.
 */
static inline uint64_t hash_mem(const void *p, size_t n)
{
    const unsigned char *s = p, *end = s + n;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL);
    uint64_t w = 0;

    if (n < 8) {
        for (size_t i = 0; i < n; i++) {
            w |= (uint64_t)s[i] << (8 * i);
        }
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    } else {
        for (; end - s > 8; s += 8) {
            memcpy(&w, s, 8);
            h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
            h ^= h >> 29;
        }
        /* the last 8 bytes, overlapping the step before: a copy of the tail's own length
         * was a call to memcpy, half the cost of a short key */
        memcpy(&w, end - 8, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    }
    h ^= h >> 32;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 29;
    return h;
}

#endif
