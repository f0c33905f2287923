/* Keyed rule state: a hash map with LRU order, so the oldest entry goes first when it is full. */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "rules_int.h"
#include "xmalloc.h"

void rules__kv_init(struct kv *kv, size_t cap, void (*free_val)(void *))
{
    memset(kv, 0, sizeof(*kv));
    kv->nbuckets = 64;
    kv->buckets = xcalloc(kv->nbuckets, sizeof(*kv->buckets));
    kv->cap = cap;
    kv->free_val = free_val;
}

static void lru_unlink(struct kv *kv, struct kv_entry *e)
{
    if (e->lprev) {
        e->lprev->lnext = e->lnext;
    } else {
        kv->head = e->lnext;
    }
    if (e->lnext) {
        e->lnext->lprev = e->lprev;
    } else {
        kv->tail = e->lprev;
    }
    e->lprev = e->lnext = NULL;
}

static void lru_push_front(struct kv *kv, struct kv_entry *e)
{
    e->lprev = NULL;
    e->lnext = kv->head;
    if (kv->head) {
        kv->head->lprev = e;
    }
    kv->head = e;
    if (kv->tail == NULL) {
        kv->tail = e;
    }
}

static struct kv_entry *find(const struct kv *kv, const char *key, size_t len, uint64_t h)
{
    struct kv_entry *e = kv->buckets[h & (kv->nbuckets - 1)];

    for (; e != NULL; e = e->hnext) {
        if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0) {
            return e;
        }
    }
    return NULL;
}

uint64_t rules__kv_hash(const char *key, size_t len)
{
    return hash_mem(key, len);
}

struct kv_entry *rules__kv_get_h(struct kv *kv, const char *key, size_t len, uint64_t h)
{
    return find(kv, key, len, h);
}

struct kv_entry *rules__kv_get(struct kv *kv, const char *key, size_t len)
{
    return find(kv, key, len, hash_mem(key, len));
}

static void grow(struct kv *kv)
{
    size_t nb = kv->nbuckets * 2;
    struct kv_entry **b = xcalloc(nb, sizeof(*b));

    for (size_t i = 0; i < kv->nbuckets; i++) {
        struct kv_entry *e = kv->buckets[i], *next;

        for (; e != NULL; e = next) {
            next = e->hnext;
            e->hnext = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    }
    free(kv->buckets);
    kv->buckets = b;
    kv->nbuckets = nb;
}

void rules__kv_del(struct kv *kv, struct kv_entry *e)
{
    struct kv_entry **pp = &kv->buckets[e->hash & (kv->nbuckets - 1)];

    while (*pp != e) {
        pp = &(*pp)->hnext;
    }
    *pp = e->hnext;
    lru_unlink(kv, e);
    if (kv->free_val && e->val) {
        kv->free_val(e->val);
    }
    free(e); /* the key with it */
    kv->count--;
}

struct kv_entry *rules__kv_put(struct kv *kv, const char *key, size_t len, int64_t now)
{
    return rules__kv_put_h(kv, key, len, hash_mem(key, len), now);
}

struct kv_entry *rules__kv_put_h(struct kv *kv, const char *key, size_t len, uint64_t h,
                                 int64_t now)
{
    struct kv_entry *e = find(kv, key, len, h);

    if (e != NULL) {
        rules__kv_refresh(kv, e, now);
        return e;
    }
    if (kv->count >= kv->cap && kv->tail != NULL) {
        rules__kv_del(kv, kv->tail);
        kv->evicted++;
    }
    if (kv->count + 1 > kv->nbuckets * 3 / 4) {
        grow(kv);
    }
    /* the key right after the entry: one allocation, and the compare in find() reads the
     * cache line the entry is on. Not calloc: every field is set here or by lru_push_front,
     * and clearing the key's bytes too was wasted. */
    e = xmalloc(sizeof(*e) + len + 1);
    e->key = (char *)(e + 1);
    memcpy(e->key, key, len);
    e->key[len] = '\0';
    e->key_len = len;
    e->hash = h;
    e->touched = now > 0 ? now : 0; /* the newer of now and none, as for an entry found */
    e->val = NULL;
    e->hnext = kv->buckets[e->hash & (kv->nbuckets - 1)];
    kv->buckets[e->hash & (kv->nbuckets - 1)] = e;
    kv->count++;
    lru_push_front(kv, e);
    return e;
}

void rules__kv_touch(struct kv *kv, struct kv_entry *e)
{
    lru_unlink(kv, e);
    lru_push_front(kv, e);
}

void rules__kv_refresh(struct kv *kv, struct kv_entry *e, int64_t now)
{
    rules__kv_touch(kv, e);
    if (now > e->touched) {
        e->touched = now;
    }
}

void rules__kv_expire(struct kv *kv, int64_t cutoff)
{
    while (kv->tail != NULL && kv->tail->touched < cutoff) {
        rules__kv_del(kv, kv->tail);
    }
}

void rules__kv_free(struct kv *kv)
{
    while (kv->head != NULL) {
        rules__kv_del(kv, kv->head);
    }
    free(kv->buckets);
    kv->buckets = NULL;
}
