/* FNV-1a 64: the one non-cryptographic hash for keys, fingerprints and content marks. */
#ifndef ROLLWATCH_HASH_H
#define ROLLWATCH_HASH_H

#include <stddef.h>
#include <stdint.h>

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

#endif
