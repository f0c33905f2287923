/* String arena (arena.h): bump allocation in chunks kept on a list. */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "xmalloc.h"

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    char data[];
};

void arena_init(struct arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->chunk_size = chunk_size;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    struct arena_chunk *c = a->head;
    char *out;

    if (c == NULL || c->cap - c->used < n + 1) {
        size_t cap = n + 1 > a->chunk_size ? n + 1 : a->chunk_size;

        c = xmalloc(sizeof(*c) + cap);
        c->used = 0;
        c->cap = cap;
        if (a->head != NULL && n + 1 > a->chunk_size) {
            /* an outsized copy: keep filling the current chunk afterwards */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    out = c->data + c->used;
    memcpy(out, s, n);
    out[n] = '\0';
    c->used += n + 1;
    return out;
}

void arena_reset(struct arena *a)
{
    struct arena_chunk *c = a->head, *next;

    for (; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    a->head = NULL;
}
