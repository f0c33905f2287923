/*
 * Replay on two cores (replay_pipe.h). The worker owns the merge, its loop and the parser;
 * the main loop owns what it is given. They share only the batch queues, under one mutex:
 * a batch is the worker's while it fills it and the main loop's from the moment it is queued
 * until it is handed back. Four batches bound the memory and let the faster side wait.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "replay_pipe.h"
#include "xmalloc.h"

/*
 * A hand-over costs a lock, a wake-up and the other core's cache: 4,096 records a batch made
 * replay 8% faster than 1,024 (interleaved runs, 1M lines), and 8,192 no faster. Lines average
 * about 90 bytes, so 512 KiB holds the records' lines; 7.4 MiB peak RSS in all.
 */
#define BATCH_RECORDS 4096
#define BATCH_BYTES (512 * 1024)
#define NBATCH 4
/*
 * A worker that ran out of batches waits until this many are back. Waking a thread costs
 * tens of microseconds here (a VM), so one wake-up per batch was 6% of the main loop's time.
 */
#define REFILL (NBATCH - 1)
#define EARLY_RECORDS 128 /* a waiting main loop gets a batch of this many */

/*
 * A record as it crosses from the worker to the main loop: its slices as 16-bit offsets into
 * its line, and the line's place in the batch's bytes. 104 bytes instead of the record's 312:
 * moving cache lines between the cores, not parsing, was a third of the worker's time, and
 * 64 bytes more per record made replay 6% slower in a slow phase. A record with a slice
 * elsewhere (none the parser makes today) or a line longer than 64 KiB goes whole.
 */
enum {
    PK_LINE, PK_STREAM, PK_OBJECT, PK_SERVICE, PK_REPLICASET, PK_POD, PK_CONTAINER, PK_MESSAGE,
    PK_STATUS_FROM, PK_STATUS_TO, PK_RELEASE, PK_BUILD, PK_POD_STATUS, PK_N
};
#define PK_NONE UINT16_MAX  /* an absent slice */
#define PK_MAX_LINE (UINT16_MAX - 1) /* longer lines go whole */
#define PK_WHOLE UINT32_MAX /* pk.whole when the record is packed */
/*
 * Bit sets of up to this many words (rule sets up to ~4000 lists and rules) cross compacted:
 * a mask of the words that are not zero, then those words. Most are zero, and what crosses
 * between the cores per line sets the pace when the cores are slow to share.
 * The mask's top bit says that a word follows them with what else the reader decided (the
 * rule it stopped at, and the number of captures), then a word per capture (its list, its
 * number, its place in the line): see pack_ahead. Without it, it decided every rule and took
 * no capture, as for most records.
 */
#define COMPACT_WORDS 63
#define AHEAD_MORE (1ULL << 63)

static const unsigned short pk_slot[PK_N] = {
    offsetof(struct record, line),        offsetof(struct record, stream),
    offsetof(struct record, object),      offsetof(struct record, service),
    offsetof(struct record, replicaset),  offsetof(struct record, pod),
    offsetof(struct record, container),   offsetof(struct record, message),
    offsetof(struct record, status_from), offsetof(struct record, status_to),
    offsetof(struct record, release),     offsetof(struct record, build),
    offsetof(struct record, pod_status),
};

struct packed { /* 104 bytes */
    int64_t ts_ns;
    const char *app, *cli; /* the source's label, the parser's static names; or NULL */
    uint32_t app_len, cli_len;
    uint32_t flags;
    uint32_t whole; /* PK_WHOLE, or the index of the record in the batch's wholes */
    uint32_t at;    /* where the line is in the batch's bytes */
    uint32_t bits_at; /* where its bit set is in the batch's bits, when tested ahead */
    uint16_t off[PK_N], len[PK_N]; /* within the line; PK_NONE: absent */
    uint8_t ts_src, kind, object_kind;
};
_Static_assert(sizeof(struct packed) == 104, "the size the comment above gives");

struct batch {
    struct packed pk[BATCH_RECORDS];
    size_t n;
    struct record *wholes; /* owned: records that do not pack (slices point into bytes) */
    size_t nwholes, wholes_cap;
    struct rule_set *set; /* the tests ahead were run with it: a reference, so no later set
                           * can have its address while the batch is queued */
    uint64_t *bits;             /* owned: the records' bit sets, compacted (COMPACT_WORDS) */
    size_t words, bits_cap, bits_used;
    uint64_t regex_runs, regex_errors; /* the worker's, after this batch */
    char *bytes; /* owned: copies of the lines */
    size_t used, cap;
    struct parse_stats ps;        /* the worker's parse counts after this batch */
    struct ingest_merge_stats ms; /* byte counts (want_progress, and the last batch) */
    int last;                     /* nothing follows */
    struct batch *next;
};

struct replay_pipe {
    /* main loop side */
    uv_loop_t *loop;
    uv_async_t wake; /* the worker queued a batch */
    uv_idle_t work;  /* consume queued batches, one per turn of the loop */
    replay_record_cb on_record;
    ingest_done_cb done;
    void *arg;
    struct parse_stats *ps; /* borrowed: the caller's counts of the records handed on */
    struct ingest_merge_stats ms;
    uint64_t regex_runs, regex_errors;
    int started, finished, closing, nclosed;
    /* worker side */
    uv_loop_t wloop;
    struct ingest_merge *merge; /* NULL once the worker closed it */
    struct parser parser;
    struct rules_pre *pre;    /* the tests ahead */
    const char *span;         /* lines of cur not copied yet: still in the merge's buffer */
    size_t span_len;
    const struct source *span_src; /* whose buffer that is */
    struct rules_stats wstats; /* their regex counts */
    /*
     * Test ahead in the next batch? Not when the main loop was idle, waiting for the last one:
     * then the worker is the slower side and hands the tests back. Either way the outcome is
     * the same; this only balances the two threads (on a shared VM one core is often slower).
     */
    int pre_next;
    /*
     * RW_REPLAY_AHEAD_ALWAYS in the environment: every batch is tested and decided ahead,
     * whoever waits. For the tests: a short log goes mostly untested (the main loop waits for
     * it), so the paths they check would run only when the timing happens to allow.
     */
    int ahead_always;
    uv_thread_t thread;
    struct batch *cur; /* being filled */
    int want_progress;
    /* shared, under mu */
    uv_mutex_t mu;
    uv_cond_t cv;                     /* a batch came back, or stop */
    struct batch *full_head, *full_tail; /* queued for the main loop, in order */
    struct batch *free_list;
    size_t nfree;
    int worker_waits; /* in take_free, until REFILL batches are free */
    /* the main loop found no batch: the next one must wake it. Atomic: the worker also reads
     * it without the lock, to hand over a part-filled batch to a waiting main loop */
    int main_waits;
    struct rule_set *next_set; /* a reload, for the worker's next batch (a reference) */
    int stop;
    struct ingest_merge_stats final_ms; /* the merge's counts when the worker closed it */
    struct batch *store;                /* owned: NBATCH batches */
};

/* ---- worker ------------------------------------------------------------------------------- */

static struct batch *take_free(struct replay_pipe *rp)
{
    struct batch *b;
    struct rule_set *next;

    uv_mutex_lock(&rp->mu);
    if (rp->free_list == NULL) {
        rp->worker_waits = 1;
        while (rp->nfree < REFILL && !rp->stop) {
            uv_cond_wait(&rp->cv, &rp->mu);
        }
        rp->worker_waits = 0;
    }
    b = rp->stop ? NULL : rp->free_list;
    if (b != NULL) {
        rp->free_list = b->next;
        rp->nfree--;
    }
    next = rp->next_set;
    rp->next_set = NULL;
    uv_mutex_unlock(&rp->mu);
    if (next != NULL) {
        /* between batches: a batch is tested with one set throughout */
        rules_pre_free(rp->pre);
        rp->pre = rules_pre_new(next);
        rules_set_free(next);
    }
    if (b != NULL) {
        b->set = rp->pre_next ? rules_set_ref(rules_pre_set(rp->pre)) : NULL;
        b->words = rules_pre_words(rp->pre);
        if (b->bits_cap < (b->words + 2) * BATCH_RECORDS) {
            free(b->bits);
            b->bits_cap = (b->words + 2) * BATCH_RECORDS;
            b->bits = xmalloc(b->bits_cap * sizeof(*b->bits));
        }
    }
    return b;
}

static void queue_full(struct replay_pipe *rp, struct batch *b, int last)
{
    int wake;

    b->ps = *parse_stats(&rp->parser);
    b->regex_runs = rp->wstats.regex_runs;
    b->regex_errors = rp->wstats.regex_errors;
    if (rp->want_progress || last) {
        b->ms = *ingest_merge_stats(rp->merge);
    }
    b->last = last;
    b->next = NULL;
    uv_mutex_lock(&rp->mu);
    if (rp->full_tail != NULL) {
        rp->full_tail->next = b;
    } else {
        rp->full_head = b;
    }
    rp->full_tail = b;
    /* a busy main loop finds the batch itself: no eventfd write */
    wake = __atomic_load_n(&rp->main_waits, __ATOMIC_RELAXED);
    __atomic_store_n(&rp->main_waits, 0, __ATOMIC_RELAXED);
    rp->pre_next = !wake || rp->ahead_always;
    uv_mutex_unlock(&rp->mu);
    if (wake) {
        uv_async_send(&rp->wake);
    }
}

static void worker_close_merge(struct replay_pipe *rp)
{
    if (rp->merge != NULL) {
        uv_mutex_lock(&rp->mu);
        rp->final_ms = *ingest_merge_stats(rp->merge);
        uv_mutex_unlock(&rp->mu);
        ingest_merge_close(rp->merge);
        rp->merge = NULL;
    }
}

/* Slice k of r as an offset and length in pk. Returns non-zero if it is not within the line. */
static inline size_t pack_slice(const struct slice *s, const char *line, size_t len,
                                struct packed *pk, int k)
{
    /* d wraps when s->p is before the line */
    size_t d = (size_t)((uintptr_t)s->p - (uintptr_t)line);

    if (s->p == NULL) {
        pk->off[k] = PK_NONE;
        pk->len[k] = 0;
        return 0;
    }
    pk->off[k] = (uint16_t)d; /* d and s->len: at most len when the record packs */
    pk->len[k] = (uint16_t)s->len;
    return (size_t)(d > len) | (size_t)(s->len > len - d);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_WIDE 1

/* The low 16 bits of each of v's four 64-bit lanes, stored at out[0..4). */
__attribute__((target("avx2"))) static inline void store_u16x4(uint16_t *out, __m256i v)
{
    const __m256i pick = _mm256_setr_epi8(0, 1, 8, 9, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                          -1, 0, 1, 8, 9, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                          -1, -1);
    __m256i t = _mm256_shuffle_epi8(v, pick);

    _mm_storel_epi64((void *)out, _mm_unpacklo_epi32(_mm256_castsi256_si128(t),
                                                     _mm256_extracti128_si256(t, 1)));
}

/*
 * The slices from line to build, four a step with AVX2 where the CPU has it (the build targets
 * plain x86-64), then pod_status. The same as pack_slice for each; returns non-zero if one is
 * not within the line.
 */
__attribute__((target("avx2"))) static size_t pack_slices_wide(const struct record *r,
                                                               const char *line, size_t len,
                                                               struct packed *pk)
{
    const struct slice *in = &r->line;
    const __m256i base = _mm256_set1_epi64x((long long)(uintptr_t)line);
    const __m256i top = _mm256_set1_epi64x((long long)len);
    /* unsigned compares as signed ones, both sides flipped at the sign bit */
    const __m256i flip = _mm256_set1_epi64x(INT64_MIN);
    const __m256i none = _mm256_set1_epi64x(PK_NONE);
    __m256i bad = _mm256_setzero_si256();

    for (int k = 0; k < PK_POD_STATUS; k += 4) {
        __m256i a = _mm256_loadu_si256((const void *)&in[k]);     /* p, len of k and k + 1 */
        __m256i b = _mm256_loadu_si256((const void *)&in[k + 2]); /* of k + 2 and k + 3 */
        __m256i p = _mm256_permute4x64_epi64(_mm256_unpacklo_epi64(a, b), 0xD8);
        __m256i n = _mm256_permute4x64_epi64(_mm256_unpackhi_epi64(a, b), 0xD8);
        __m256i absent = _mm256_cmpeq_epi64(p, _mm256_setzero_si256());
        __m256i d = _mm256_sub_epi64(p, base);
        __m256i past = _mm256_cmpgt_epi64(_mm256_xor_si256(d, flip), _mm256_xor_si256(top, flip));
        __m256i longer = _mm256_cmpgt_epi64(_mm256_xor_si256(n, flip),
                                            _mm256_xor_si256(_mm256_sub_epi64(top, d), flip));

        bad = _mm256_or_si256(bad, _mm256_andnot_si256(absent, _mm256_or_si256(past, longer)));
        store_u16x4(&pk->off[k], _mm256_blendv_epi8(d, none, absent));
        store_u16x4(&pk->len[k], _mm256_andnot_si256(absent, n));
    }
    return (size_t)!_mm256_testz_si256(bad, bad) |
           pack_slice(&r->pod_status, line, len, pk, PK_POD_STATUS);
}
#endif

/*
 * Packs r, parsed from line[0..len), into pk; the line will be at offset at of b's bytes. A
 * record with a slice outside the line is kept whole instead (its slices moved to there).
 */
static void pack(struct batch *b, const struct record *r, const char *line, size_t len, size_t at,
                 struct packed *pk)
{
    int ok = r->nextra == 0 && r->event.p == NULL && r->class_name.p == NULL &&
             r->app.len < UINT32_MAX && r->cli.len < UINT32_MAX && len <= PK_MAX_LINE;
    size_t bad = 0;

#if HAVE_WIDE
    if (__builtin_cpu_supports("avx2")) {
        bad = pack_slices_wide(r, line, len, pk);
    } else
#endif
    {
        for (int k = 0; k < PK_N; k++) {
            bad |= pack_slice((const struct slice *)(const void *)((const char *)r + pk_slot[k]),
                              line, len, pk, k);
        }
    }
    if (!ok || bad) {
        struct record *w;

        if (b->nwholes == b->wholes_cap) {
            b->wholes_cap = b->wholes_cap ? 2 * b->wholes_cap : 16;
            b->wholes = xrealloc(b->wholes, b->wholes_cap * sizeof(*b->wholes));
        }
        w = &b->wholes[b->nwholes];
        *w = *r;
        for (int k = 0; k < PK_N; k++) {
            struct slice *s = (struct slice *)(void *)((char *)w + pk_slot[k]);

            if (s->p != NULL && s->p >= line && s->p <= line + len) {
                s->p = b->bytes + at + (s->p - line);
            }
        }
        pk->whole = (uint32_t)b->nwholes++;
        return;
    }
    pk->whole = PK_WHOLE;
    pk->at = (uint32_t)at;
    pk->ts_ns = r->ts_ns;
    pk->ts_src = (uint8_t)r->ts_src;
    pk->kind = (uint8_t)r->kind;
    pk->object_kind = (uint8_t)r->object_kind;
    pk->flags = r->flags;
    pk->app = r->app.p;
    pk->app_len = (uint32_t)r->app.len;
    pk->cli = r->cli.p;
    pk->cli_len = (uint32_t)r->cli.len;
}

/*
 * The lines parsed since the last copy, still in the merge's buffer, go to the batch in one
 * memcpy: the batch's bytes were last read on the main loop's core, and one large copy writes
 * whole cache lines where a copy per line waited for each to come back (3% less CPU in all).
 * Lines are parsed where the merge read them, in this core's cache.
 */
static void flush_span(struct replay_pipe *rp)
{
    if (rp->span_len > 0 && rp->cur != NULL) {
        memcpy(rp->cur->bytes + rp->cur->used, rp->span, rp->span_len);
        rp->cur->used += rp->span_len;
    }
    rp->span = NULL;
    rp->span_len = 0;
}

/* The merge is about to refill a buffer: the lines of the span are about to go. */
static void on_refill(void *arg)
{
    flush_span(arg);
}

/*
 * The head of the record pk stands for, field by field (a memset first was a tenth of
 * unpacking); returns its line in b's bytes. NULL: the record went whole, and r is it.
 */
static inline const char *unpack_head(const struct batch *b, const struct packed *pk,
                                      struct record *r)
{
    if (pk->whole != PK_WHOLE) {
        *r = b->wholes[pk->whole];
        return NULL;
    }
    r->src = NULL;
    r->ts_ns = pk->ts_ns;
    r->ts_src = (enum ts_source)pk->ts_src;
    r->kind = (enum record_kind)pk->kind;
    r->object_kind = (enum object_kind)pk->object_kind;
    r->flags = pk->flags;
    r->app = (struct slice){pk->app, pk->app_len}; /* absent: NULL and 0 */
    r->cli = (struct slice){pk->cli, pk->cli_len};
    r->event = SLICE_NONE;
    r->class_name = SLICE_NONE;
    r->nextra = 0;
    return b->bytes + pk->at;
}

/* The record pk stands for, its slices into b's bytes. */
static void unpack(const struct batch *b, const struct packed *pk, struct record *r)
{
    const char *line = unpack_head(b, pk, r);

    for (int k = 0; line != NULL && k < PK_N; k++) {
        *(struct slice *)(void *)((char *)r + pk_slot[k]) =
            pk->off[k] != PK_NONE ? (struct slice){line + pk->off[k], pk->len[k]} : SLICE_NONE;
    }
}

#if HAVE_WIDE
/*
 * unpack with AVX2, where the CPU has it (the build targets plain x86-64): the twelve slices
 * from line to build, four a step. Unpacking was a tenth of the main loop's instructions, and
 * the main loop is the slower thread.
 */
__attribute__((target("avx2"))) static void unpack_wide(const struct batch *b,
                                                        const struct packed *pk,
                                                        struct record *r)
{
    const char *line = unpack_head(b, pk, r);
    struct slice *out = &r->line;

    if (line == NULL) {
        return;
    }
    {
        const __m256i base = _mm256_set1_epi64x((long long)(uintptr_t)line);
        const __m256i none = _mm256_set1_epi64x(PK_NONE);

        for (int k = 0; k < PK_POD_STATUS; k += 4) {
            __m256i off = _mm256_cvtepu16_epi64(_mm_loadl_epi64((const void *)&pk->off[k]));
            __m256i len = _mm256_cvtepu16_epi64(_mm_loadl_epi64((const void *)&pk->len[k]));
            /* an absent slice: p NULL (its len is 0 already) */
            __m256i p = _mm256_andnot_si256(_mm256_cmpeq_epi64(off, none),
                                            _mm256_add_epi64(base, off));
            __m256i lo = _mm256_unpacklo_epi64(p, len); /* slices k, k + 2 */
            __m256i hi = _mm256_unpackhi_epi64(p, len); /* k + 1, k + 3 */

            _mm256_storeu_si256((void *)&out[k], _mm256_permute2x128_si256(lo, hi, 0x20));
            _mm256_storeu_si256((void *)&out[k + 2], _mm256_permute2x128_si256(lo, hi, 0x31));
        }
    }
    r->pod_status = pk->off[PK_POD_STATUS] != PK_NONE
                        ? (struct slice){line + pk->off[PK_POD_STATUS], pk->len[PK_POD_STATUS]}
                        : SLICE_NONE;
}
#endif

/* unpack_wide stores the slices before pod_status as one array, in this order */
_Static_assert(PK_POD_STATUS == 12 && offsetof(struct record, build) ==
                                         offsetof(struct record, line) + 11 * sizeof(struct slice),
               "the packed slices up to build are the record's, in the record's order");

/* unpack sets each field of a record's head: a field added to struct record must go there */
_Static_assert(offsetof(struct record, line) == offsetof(struct record, flags) + sizeof(unsigned),
               "unpack sets src, ts_ns, ts_src, kind, object_kind and flags before the slices");
_Static_assert(offsetof(struct record, extra) - offsetof(struct record, line) ==
                   (PK_N + 4) * sizeof(struct slice) + sizeof(size_t),
               "unpack sets every slice of a record (PK_N packed, app, cli, event, class_name) "
               "and nextra: a new field of struct record must be unpacked too");

/*
 * What the reader decided beyond the bits, as words after them: [upto | ncaps << 32], then
 * per capture [list | number << 16 | offset in the line << 32 | length << 48]. A capture that
 * is not within the line's first 64 KiB (one of a source's app label, say) cannot go so: then
 * the engine decides every rule itself, which the bits allow (they hold whole verdicts only
 * where the engine would have come to the same). Returns the words written.
 */
static size_t pack_ahead(const struct rules_ahead *ah, const struct record *r, uint64_t *out)
{
    const char *line = r->line.p;

    for (uint32_t i = 0; i < ah->ncaps; i++) {
        const struct slice v = ah->caps[i].val;
        size_t off;

        if (v.p == NULL || v.p < line || v.p > line + r->line.len ||
            (off = (size_t)(v.p - line)) > PK_MAX_LINE || v.len > PK_MAX_LINE ||
            v.len > r->line.len - off) {
            out[0] = 0; /* upto 0, no captures */
            return 1;
        }
        out[1 + i] = ah->caps[i].list | (uint64_t)ah->caps[i].gid << 16 | (uint64_t)off << 32 |
                     (uint64_t)v.len << 48;
    }
    out[0] = ah->upto | (uint64_t)ah->ncaps << 32;
    return 1 + ah->ncaps;
}

/* The merge's line, on the worker: parsed where it is, tested ahead, packed; copied later. */
static void on_line(void *arg, const struct source *src, const char *line, size_t len,
                    unsigned flags)
{
    struct replay_pipe *rp = arg;
    struct batch *b = rp->cur;
    struct record rec;
    uint32_t bits_at;
    /* the line right after the span's last one (past its newline) extends the span */
    int next = rp->span != NULL && src == rp->span_src && line == rp->span + rp->span_len + 1;
    size_t at;

    if (b != NULL &&
        (b->n == BATCH_RECORDS || b->cap - b->used - rp->span_len < len + (size_t)next)) {
        flush_span(rp);
        queue_full(rp, b, 0);
        b = rp->cur = NULL;
        next = 0;
    }
    if (b == NULL && (b = rp->cur = take_free(rp)) == NULL) {
        worker_close_merge(rp); /* the main loop stopped: read no more */
        return;
    }
    if (b->cap < len) {
        /* an empty batch and a line longer than its buffer (--max-line above 512 KiB) */
        free(b->bytes);
        b->cap = len;
        b->bytes = xmalloc(b->cap);
    }
    if (next) {
        rp->span_len += 1 + len;
    } else {
        flush_span(rp);
        rp->span = line;
        rp->span_len = len;
        rp->span_src = src;
    }
    at = b->used + (size_t)(line - rp->span);
    parse_line(&rp->parser, src, line, len, flags, &rec);
    rec.src = NULL; /* the merge's, and it moves on: nobody downstream reads it */
    bits_at = (uint32_t)b->bits_used;
    if (b->set != NULL && b->words <= COMPACT_WORDS) {
        /* built here, then stored in one go: the batch's lines were last read by the other
         * core, and or-ing bits into them would wait for each line to come back */
        uint64_t bits[COMPACT_WORDS], *out;
        struct rules_ahead ah;
        uint64_t mask = rules_pre_eval(rp->pre, &rec, bits, &ah, &rp->wstats); /* words set */
        size_t n = 0;

        if (b->bits_cap - bits_at < 2 + b->words + ah.ncaps) {
            b->bits_cap *= 2; /* many captures in one batch */
            b->bits = xrealloc(b->bits, b->bits_cap * sizeof(*b->bits));
        }
        out = b->bits + bits_at + 1;
        for (uint64_t m = mask; m != 0; m &= m - 1) {
            out[n++] = bits[__builtin_ctzll(m)];
        }
        if (ah.upto != RULES_AHEAD_ALL || ah.ncaps > 0) {
            n += pack_ahead(&ah, &rec, out + n);
            mask |= AHEAD_MORE;
        }
        b->bits[bits_at] = mask;
        b->bits_used += 1 + n;
    } else if (b->set != NULL) {
        struct rules_ahead ah; /* not handed over: the engine decides all itself */

        rules_pre_eval(rp->pre, &rec, b->bits + bits_at, &ah, &rp->wstats); /* as it is */
        b->bits_used += b->words;
    }
    pack(b, &rec, line, len, at, &b->pk[b->n]);
    b->pk[b->n++].bits_at = bits_at;
    if (b->n >= EARLY_RECORDS && __atomic_load_n(&rp->main_waits, __ATOMIC_RELAXED)) {
        /* the main loop has nothing to do: what is ready goes now, not when the batch is full */
        flush_span(rp);
        queue_full(rp, b, 0);
        rp->cur = NULL;
    }
}

/*
 * The merge stays open after its last line: the records still queued point at its app labels.
 * replay_pipe_close closes it once the main loop is done with them.
 */
static void on_merge_done(void *arg)
{
    struct replay_pipe *rp = arg;
    struct batch *b;

    flush_span(rp);
    b = rp->cur != NULL ? rp->cur : take_free(rp);
    rp->cur = NULL;
    if (b != NULL) {
        queue_full(rp, b, 1);
    }
}

static void worker(void *arg)
{
    struct replay_pipe *rp = arg;

    ingest_merge_start(rp->merge, on_merge_done);
    uv_run(&rp->wloop, UV_RUN_DEFAULT); /* until the merge is done, or stopped and closed */
}

/* ---- main loop ---------------------------------------------------------------------------- */

static void give_back(struct replay_pipe *rp, struct batch *b)
{
    b->n = 0;
    b->used = 0;
    b->bits_used = 0;
    b->nwholes = 0;
    rules_set_free(b->set);
    b->set = NULL;
    uv_mutex_lock(&rp->mu);
    b->next = rp->free_list;
    rp->free_list = b;
    rp->nfree++;
    if (rp->worker_waits && rp->nfree >= REFILL) {
        uv_cond_signal(&rp->cv);
    }
    uv_mutex_unlock(&rp->mu);
}

/* pack_ahead's words, for r on this side: the captures point into its line. */
static void unpack_ahead(const uint64_t *in, const struct record *r, struct rules_ahead *ah)
{
    ah->upto = (uint32_t)in[0];
    ah->ncaps = (uint32_t)(in[0] >> 32);
    for (uint32_t i = 0; i < ah->ncaps; i++) {
        uint64_t e = in[1 + i];

        ah->caps[i].list = (uint32_t)(e & 0xFFFF);
        ah->caps[i].gid = (uint32_t)(e >> 16 & 0xFFFF);
        ah->caps[i].val = (struct slice){r->line.p + (e >> 32 & 0xFFFF), (size_t)(e >> 48)};
    }
}

static void on_work(uv_idle_t *h)
{
    struct replay_pipe *rp = h->data;
    struct batch *b;
    int last;

    uv_mutex_lock(&rp->mu);
    b = rp->full_head;
    if (b != NULL) {
        rp->full_head = b->next;
        if (rp->full_head == NULL) {
            rp->full_tail = NULL;
        }
    } else {
        __atomic_store_n(&rp->main_waits, 1, __ATOMIC_RELAXED);
    }
    uv_mutex_unlock(&rp->mu);
    if (b == NULL) {
        uv_idle_stop(&rp->work); /* the next batch wakes us */
        return;
    }
#if HAVE_WIDE
    int wide = __builtin_cpu_supports("avx2");
#endif
    for (size_t i = 0; i < b->n && !rp->closing; i++) {
        struct record rec;
        uint64_t local[COMPACT_WORDS];
        const uint64_t *bits = NULL;
        struct rules_ahead ah;

#if HAVE_WIDE
        if (wide) {
            unpack_wide(b, &b->pk[i], &rec);
        } else {
            unpack(b, &b->pk[i], &rec);
        }
#else
        unpack(b, &b->pk[i], &rec);
#endif
        if (b->set != NULL) {
            bits = b->bits + b->pk[i].bits_at;
            ah.upto = 0; /* not compacted: nothing else came */
            ah.ncaps = 0;
            if (b->words <= COMPACT_WORDS) {
                /* the mask says which words follow; the others are zero */
                const uint64_t *in = bits + 1;

                if (b->words <= 8) {
                    for (int w = 0; w < 8; w++) { /* a fixed count: stores, no call */
                        local[w] = 0;
                    }
                } else {
                    memset(local, 0, b->words * sizeof(*local));
                }
                for (uint64_t m = bits[0] & ~AHEAD_MORE; m != 0; m &= m - 1) {
                    local[__builtin_ctzll(m)] = *in++;
                }
                ah.upto = RULES_AHEAD_ALL;
                if (bits[0] & AHEAD_MORE) {
                    unpack_ahead(in, &rec, &ah);
                }
                bits = local;
            }
            ah.bits = bits;
        }
        rp->on_record(rp->arg, &rec, b->set, bits != NULL ? &ah : NULL);
    }
    *rp->ps = b->ps;
    rp->regex_runs = b->regex_runs;
    rp->regex_errors = b->regex_errors;
    if (rp->want_progress || b->last) {
        rp->ms = b->ms;
    }
    last = b->last;
    give_back(rp, b);
    if (last && !rp->closing) {
        rp->finished = 1;
        uv_idle_stop(&rp->work);
        if (rp->done != NULL) {
            rp->done(rp->arg);
        }
    }
}

static void on_wake(uv_async_t *h)
{
    struct replay_pipe *rp = h->data;

    if (!rp->finished && !rp->closing) {
        uv_idle_start(&rp->work, on_work);
    }
}

struct replay_pipe *replay_pipe_new(uv_loop_t *loop, size_t max_line, struct parse_stats *ps,
                                    struct rule_set *set, replay_record_cb on_record,
                                    ingest_done_cb done, void *arg)
{
    struct replay_pipe *rp = xcalloc(1, sizeof(*rp));

    rp->ps = ps;
    rp->loop = loop;
    rp->on_record = on_record;
    rp->done = done;
    rp->arg = arg;
    uv_loop_init(&rp->wloop);
    rp->merge = ingest_merge_new(&rp->wloop, max_line, parse_line_time, on_line, rp);
    ingest_merge_before_refill(rp->merge, on_refill);
    parse_init(&rp->parser);
    rp->pre = rules_pre_new(set);
    uv_mutex_init(&rp->mu);
    uv_cond_init(&rp->cv);
    uv_async_init(loop, &rp->wake, on_wake);
    rp->wake.data = rp;
    uv_idle_init(loop, &rp->work);
    rp->work.data = rp;
    rp->store = xcalloc(NBATCH, sizeof(*rp->store));
    for (size_t i = 0; i < NBATCH; i++) {
        rp->store[i].cap = BATCH_BYTES;
        rp->store[i].bytes = xmalloc(BATCH_BYTES);
        rp->store[i].next = rp->free_list;
        rp->free_list = &rp->store[i];
    }
    rp->nfree = NBATCH;
    rp->main_waits = 1; /* the loop has not looked yet */
    rp->ahead_always = getenv("RW_REPLAY_AHEAD_ALWAYS") != NULL;
    rp->pre_next = rp->ahead_always;
    return rp;
}

void replay_pipe_set_rules(struct replay_pipe *rp, struct rule_set *set)
{
    uv_mutex_lock(&rp->mu);
    rules_set_free(rp->next_set); /* one not yet taken up: the newer wins */
    rp->next_set = rules_set_ref(set);
    uv_mutex_unlock(&rp->mu);
}

void replay_pipe_regex_counts(const struct replay_pipe *rp, uint64_t *runs, uint64_t *errors)
{
    *runs = rp->regex_runs;
    *errors = rp->regex_errors;
}

int replay_pipe_add(struct replay_pipe *rp, const char *path, const char *app)
{
    return ingest_merge_add(rp->merge, path, app);
}

void replay_pipe_start(struct replay_pipe *rp, int want_progress)
{
    rp->want_progress = want_progress;
    if (uv_thread_create(&rp->thread, worker, rp) != 0) {
        log_at(LOG_ERROR, "core", "cannot start the reader thread");
        abort();
    }
    rp->started = 1;
}

struct ingest_merge_stats replay_pipe_merge_stats(struct replay_pipe *rp)
{
    return rp->ms;
}

static void on_closed(uv_handle_t *h)
{
    struct replay_pipe *rp = h->data;

    if (++rp->nclosed < 2) {
        return;
    }
    for (size_t i = 0; i < NBATCH; i++) {
        free(rp->store[i].bytes);
        free(rp->store[i].bits);
        free(rp->store[i].wholes);
        rules_set_free(rp->store[i].set);
    }
    free(rp->store);
    rules_pre_free(rp->pre);
    rules_set_free(rp->next_set);
    uv_mutex_destroy(&rp->mu);
    uv_cond_destroy(&rp->cv);
    free(rp);
}

void replay_pipe_close(struct replay_pipe *rp, struct ingest_merge_stats *final)
{
    if (rp == NULL || rp->closing) {
        return;
    }
    rp->closing = 1;
    uv_mutex_lock(&rp->mu);
    rp->stop = 1;
    uv_cond_broadcast(&rp->cv);
    uv_mutex_unlock(&rp->mu);
    if (rp->started) {
        uv_thread_join(&rp->thread);
    }
    /* the worker is gone (or never ran): its loop is ours now, to close the merge on */
    worker_close_merge(rp);
    uv_run(&rp->wloop, UV_RUN_DEFAULT);
    if (uv_loop_close(&rp->wloop) != 0) {
        log_at(LOG_ERROR, "core", "the reader's loop still had open handles");
    }
    if (final != NULL) {
        *final = rp->final_ms;
    }
    uv_idle_stop(&rp->work);
    uv_close((uv_handle_t *)&rp->wake, on_closed);
    uv_close((uv_handle_t *)&rp->work, on_closed);
}
