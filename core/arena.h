/*
 * A string arena: many small copies that die together (a rollout's timeline, an alert's texts)
 * cost one allocation per chunk instead of one each. Copies never move; arena_reset frees all.
 */
#ifndef ROLLWATCH_ARENA_H
#define ROLLWATCH_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head; /* owned: the chunk being filled, then older ones */
    size_t chunk_size;        /* bytes per chunk (a larger copy gets a chunk of its own) */
};

void arena_init(struct arena *a, size_t chunk_size);
/* A NUL-terminated copy of s[0..n), valid until the next arena_reset. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* Frees every chunk; the arena can be used again. */
void arena_reset(struct arena *a);

#endif
