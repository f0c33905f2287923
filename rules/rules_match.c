/* Evaluating conditions (literals first, PCRE2 last), globs, durations and templates. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "rules_int.h"
#include "text.h"

static int slice_has_prefix(struct slice v, const char *p, size_t n)
{
    return v.len >= n && memcmp(v.p, p, n) == 0;
}

static int slice_has_suffix(struct slice v, const char *p, size_t n)
{
    return v.len >= n && memcmp(v.p + v.len - n, p, n) == 0;
}

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Does a needle whose rarest byte is v.p[j] start at j minus its anchor? */
static inline __attribute__((always_inline)) int candidate(struct slice v, size_t j,
                                                          const struct cond *c)
{
    for (uint32_t m = c->any->who[(unsigned char)v.p[j]]; m != 0; m &= m - 1) {
        unsigned i = (unsigned)__builtin_ctz(m);
        const size_t *a = c->anchor + 2 * i;
        size_t n = c->lens[i];

        if (j >= a[0] && j - a[0] + n <= v.len && v.p[j - a[0] + a[1]] == c->strs[i][a[1]] &&
            memcmp(v.p + j - a[0], c->strs[i], n) == 0) {
            return 1;
        }
    }
    return 0;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_WIDE 1

/*
 * rules__contains_any, 32 bytes a step, for CPUs with AVX2 (the build targets plain x86-64):
 * the out-of-memory signs are looked for in every line of app output.
 */
__attribute__((target("avx2"))) static int contains_any_wide(struct slice v, const struct cond *c)
{
    const struct contains_any *any = c->any;
    __m256i want[CONTAINS_ANY_BYTES];
    size_t j = 0;

    for (unsigned k = 0; k < any->nbytes; k++) {
        want[k] = _mm256_set1_epi8((char)any->bytes[k]);
    }
    for (;;) {
        size_t at = j + 32 <= v.len ? j : v.len - 32;
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(v.p + at));
        __m256i hit = _mm256_cmpeq_epi8(x, want[0]);
        uint32_t m;

        for (unsigned k = 1; k < any->nbytes; k++) {
            hit = _mm256_or_si256(hit, _mm256_cmpeq_epi8(x, want[k]));
        }
        m = (uint32_t)_mm256_movemask_epi8(hit) & (0xFFFFFFFFu << (j - at)); /* from j on */
        for (; m != 0; m &= m - 1) {
            if (candidate(v, at + (size_t)__builtin_ctz(m), c)) {
                return 1;
            }
        }
        if (at + 32 >= v.len) {
            return 0;
        }
        j = at + 32;
    }
}
#endif

#if HAVE_WIDE
/*
 * rules__contains_any for values of 17 bytes or more, with SSSE3 where the CPU has it: every
 * place of a 16-byte step is tested against the first two bytes of all needles at once by
 * table look-ups (rules_int.h), so the work per step does not grow with the needles, and a
 * place is compared only when both its bytes fit a needle of one group. App output is mostly
 * short lines full of digits, and the rarest byte of a needle like "137" is a digit: the
 * search by rarest byte compared many places in vain.
 */
__attribute__((target("ssse3"))) static int contains_any_fp(struct slice v, const struct cond *c)
{
    const struct contains_any *any = c->any;
    const __m128i low = _mm_set1_epi8(0x0F);
    const __m128i lo1 = _mm_loadu_si128((const void *)any->fp1_lo);
    const __m128i hi1 = _mm_loadu_si128((const void *)any->fp1_hi);
    const __m128i lo2 = _mm_loadu_si128((const void *)any->fp2_lo);
    const __m128i hi2 = _mm_loadu_si128((const void *)any->fp2_hi);
    size_t j = 0; /* places before j are done */

    for (;;) {
        /* the places at..at+15, whose first and second bytes are the two loads; the last
         * step overlaps the one before (a needle of two bytes cannot start at the last byte) */
        size_t at = j + 17 <= v.len ? j : v.len - 17;
        __m128i x1 = _mm_loadu_si128((const void *)(v.p + at));
        __m128i x2 = _mm_loadu_si128((const void *)(v.p + at + 1));
        __m128i m1 = _mm_and_si128(_mm_shuffle_epi8(lo1, _mm_and_si128(x1, low)),
                                   _mm_shuffle_epi8(hi1, _mm_and_si128(_mm_srli_epi16(x1, 4), low)));
        __m128i m2 = _mm_and_si128(_mm_shuffle_epi8(lo2, _mm_and_si128(x2, low)),
                                   _mm_shuffle_epi8(hi2, _mm_and_si128(_mm_srli_epi16(x2, 4), low)));
        __m128i m = _mm_and_si128(m1, m2);
        unsigned hits = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(m, _mm_setzero_si128())) &
                        (0xFFFFu << (j - at)) & 0xFFFFu;

        if (hits != 0) {
            unsigned char groups[16];

            _mm_storeu_si128((void *)groups, m);
            for (; hits != 0; hits &= hits - 1) {
                size_t at_i = (size_t)__builtin_ctz(hits), pos = at + at_i;

                for (unsigned g = groups[at_i]; g != 0; g &= g - 1) {
                    for (uint32_t n = any->bucket[__builtin_ctz(g)]; n != 0; n &= n - 1) {
                        unsigned i = (unsigned)__builtin_ctz(n);

                        if (c->lens[i] <= v.len - pos &&
                            memcmp(v.p + pos, c->strs[i], c->lens[i]) == 0) {
                            return 1;
                        }
                    }
                }
            }
        }
        if (at + 17 >= v.len) {
            return 0;
        }
        j = at + 16;
    }
}
#endif

/*
 * One pass for all needles: a rule lists many (eight for out-of-memory signs), and a memchr
 * each cost more than the whole pass. Sixteen bytes a step are compared with every distinct
 * rarest byte; the last step overlaps the one before.
 */
int rules__contains_any(struct slice v, const struct cond *c)
{
    const struct contains_any *any = c->any;
    size_t j = 0;

#if HAVE_WIDE
    if (v.len >= 17 && any->fp_ok && __builtin_cpu_supports("ssse3")) {
        return contains_any_fp(v, c);
    }
    if (v.len >= 32 && __builtin_cpu_supports("avx2")) {
        return contains_any_wide(v, c);
    }
#endif
#if defined(__SSE2__)
    if (v.len >= 16) {
        __m128i want[CONTAINS_ANY_BYTES];

        for (unsigned k = 0; k < any->nbytes; k++) {
            want[k] = _mm_set1_epi8((char)any->bytes[k]);
        }
        for (;;) {
            size_t at = j + 16 <= v.len ? j : v.len - 16;
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(v.p + at));
            __m128i hit = _mm_cmpeq_epi8(x, want[0]);
            unsigned m;

            for (unsigned k = 1; k < any->nbytes; k++) {
                hit = _mm_or_si128(hit, _mm_cmpeq_epi8(x, want[k]));
            }
            m = (unsigned)_mm_movemask_epi8(hit) & (0xFFFFu << (j - at)); /* from j on */
            for (; m != 0; m &= m - 1) {
                if (candidate(v, at + (size_t)__builtin_ctz(m), c)) {
                    return 1;
                }
            }
            if (at + 16 >= v.len) {
                return 0;
            }
            j = at + 16;
        }
    }
#endif
    for (; j < v.len; j++) {
        if (any->who[(unsigned char)v.p[j]] != 0 && candidate(v, j, c)) {
            return 1;
        }
    }
    return 0;
}

/*
 * The rarer operators, out of line: rules__cond_eval runs for most records several times,
 * mostly for a mask, a presence or an equality, and its entry and exit saved and restored the
 * registers that the regex and negation code needs on every call.
 */
static __attribute__((noinline)) int cond_regex(const struct rule_set *set,
                                                pcre2_match_data *md, const struct cond *c,
                                                struct slice v, struct rules_pending *pend,
                                                size_t *npend, struct rules_stats *st)
{
    int rc;
    PCRE2_SIZE *ov;

    st->regex_runs++;
    /* JIT fast path only for patterns JIT really compiled (PCRE2_INFO_JITSIZE > 0) */
    if (c->jit) {
        rc = pcre2_jit_match(c->re, (PCRE2_SPTR)v.p, v.len, 0, 0, md, set->mctx);
    } else {
        rc = pcre2_match(c->re, (PCRE2_SPTR)v.p, v.len, 0, 0, md, set->mctx);
    }
    if (rc == PCRE2_ERROR_NOMATCH) {
        return 0;
    }
    if (rc < 0) {
        st->regex_errors++;
        return 0;
    }
    ov = pcre2_get_ovector_pointer(md);
    for (size_t i = 0; i < c->ncaps && *npend < MAX_PENDING_CAPS; i++) {
        uint32_t g = c->caps[i].group;

        if ((int)g < rc && ov[2 * g] != PCRE2_UNSET) {
            pend[*npend].cap = &c->caps[i];
            pend[*npend].val = (struct slice){v.p + ov[2 * g], ov[2 * g + 1] - ov[2 * g]};
            (*npend)++;
        }
    }
    return 1;
}

static __attribute__((noinline)) int cond_not(const struct rule_set *set, pcre2_match_data *md,
                                              const struct cond *c, const struct record *r,
                                              struct rules_pending *pend, size_t *npend,
                                              struct rules_stats *st)
{
    size_t keep = *npend;
    int all = 1;

    for (size_t i = 0; i < c->sub->n && all; i++) {
        all = rules__cond_eval(set, md, &c->sub->conds[i], r, pend, npend, st);
    }
    *npend = keep; /* captures inside a negation are never applied */
    return !all;
}

static __attribute__((noinline)) int cond_strings(const struct cond *c, struct slice v)
{
    size_t i;

    switch (c->op) {
    case COND_PREFIX:
        for (i = 0; i < c->nstrs; i++) {
            if (slice_has_prefix(v, c->strs[i], c->lens[i])) {
                return 1;
            }
        }
        return 0;
    case COND_SUFFIX:
        for (i = 0; i < c->nstrs; i++) {
            if (slice_has_suffix(v, c->strs[i], c->lens[i])) {
                return 1;
            }
        }
        return 0;
    case COND_CONTAINS:
        if (c->any != NULL) {
            return rules__contains_any(v, c);
        }
        for (i = 0; i < c->nstrs; i++) {
            if (rules__contains(v, c->strs[i], c->lens[i], c->anchor + 2 * i)) {
                return 1;
            }
        }
        return 0;
    case COND_GLOB:
        for (i = 0; i < c->nstrs; i++) {
            if (rules__glob(c->strs[i], v.p, v.len)) {
                return 1;
            }
        }
        return 0;
    default:
        return 0;
    }
}

/* Is v one of c's strings? An absent v is none. */
static inline int in_list(const struct cond *c, struct slice v)
{
    if (v.p == NULL) {
        return 0;
    }
    for (size_t i = 0; i < c->nstrs; i++) {
        if (v.len == c->lens[i] && memcmp(v.p, c->strs[i], v.len) == 0) {
            return 1;
        }
    }
    return 0;
}

/* rules__cond_eval, inlined into the loops over a list's conditions */
static inline __attribute__((always_inline)) int
cond_eval(const struct rule_set *set, pcre2_match_data *md, const struct cond *c,
          const struct record *r, struct rules_pending *pend, size_t *npend,
          struct rules_stats *st)
{
    struct slice v;

    if (c->op == COND_MASK) {
        unsigned k = c->field == FIELD_KIND ? (unsigned)r->kind : (unsigned)r->object_kind;
        return (c->mask >> k) & 1u;
    }
    if (c->op == COND_NOT) {
        const struct cond *only = c->sub->n == 1 ? &c->sub->conds[0] : NULL;

        /* "event": {"not": {"in": [...]}}, an expect rule's usual B: tested here, no call */
        if (only != NULL && (only->op == COND_IN || only->op == COND_EQUALS)) {
            return !in_list(only, record_field_get(r, only->field));
        }
        return cond_not(set, md, c, r, pend, npend, st);
    }
    v = record_field_get(r, c->field);
    if (c->op == COND_PRESENT) {
        return (v.p != NULL) == (c->present != 0);
    }
    if (v.p == NULL) {
        return 0;
    }
    switch (c->op) {
    case COND_EQUALS:
    case COND_IN:
        return in_list(c, v);
    case COND_REGEX:
        return cond_regex(set, md, c, v, pend, npend, st);
    default:
        return cond_strings(c, v);
    }
}

int rules__cond_eval(const struct rule_set *set, pcre2_match_data *md, const struct cond *c,
                     const struct record *r, struct rules_pending *pend, size_t *npend,
                     struct rules_stats *st)
{
    return cond_eval(set, md, c, r, pend, npend, st);
}

int rules__when_rest(const struct rule_set *set, pcre2_match_data *md, const struct when *w,
                     const struct record *r, struct rules_pending *pend, size_t *npend,
                     struct rules_stats *st)
{
    for (size_t i = 0; i < w->nrest; i++) {
        if (!cond_eval(set, md, &w->conds[w->rest[i]], r, pend, npend, st)) {
            return 0;
        }
    }
    return 1;
}

int rules__when_match(const struct rule_set *set, const struct when *w, struct record *r,
                      struct rules_stats *st, const uint64_t *bits)
{
    struct rules_pending pend[MAX_PENDING_CAPS];
    size_t npend = 0;

    if (bits != NULL) {
        /* the bit says whether the conditions tested ahead held: only the rest are left */
        if (w->npre > 0 && !rules__bit(bits, w->id)) {
            return 0;
        }
        if (!rules__when_rest(set, set->md, w, r, pend, &npend, st)) {
            return 0;
        }
    } else {
        for (size_t i = 0; i < w->n; i++) {
            if (!cond_eval(set, set->md, &w->conds[i], r, pend, &npend, st)) {
                return 0;
            }
        }
    }
    for (size_t i = 0; i < npend; i++) {
        record_field_set(r, pend[i].cap->field, pend[i].cap->name, pend[i].val);
    }
    return 1;
}

/* ---- glob ------------------------------------------------------------------------------ */

/* Matches one [...] class at pat; sets *adv to its length. Returns 1 if c is in it. */
static int glob_class(const char *pat, char c, size_t *adv)
{
    size_t i = 1;
    int neg = 0, hit = 0;

    if (pat[i] == '!' || pat[i] == '^') {
        neg = 1;
        i++;
    }
    do {
        if (pat[i] == '\0') {
            *adv = 1; /* no closing bracket: '[' is a literal */
            return c == '[';
        }
        if (pat[i + 1] == '-' && pat[i + 2] != ']' && pat[i + 2] != '\0') {
            hit |= c >= pat[i] && c <= pat[i + 2];
            i += 3;
        } else {
            hit |= c == pat[i];
            i++;
        }
    } while (pat[i] != ']');
    *adv = i + 1;
    return hit != neg;
}

int rules__glob(const char *pat, const char *s, size_t n)
{
    const char *star_p = NULL;
    size_t star_s = 0, i = 0;

    while (i < n || *pat) {
        if (*pat == '*') {
            star_p = ++pat;
            star_s = i;
            continue;
        }
        if (i < n && *pat) {
            size_t adv = 1;
            int ok;

            if (*pat == '?') {
                ok = 1;
            } else if (*pat == '[') {
                ok = glob_class(pat, s[i], &adv);
            } else {
                ok = *pat == s[i];
            }
            if (ok) {
                pat += adv;
                i++;
                continue;
            }
        }
        if (star_p != NULL && star_s < n) {
            pat = star_p;
            i = ++star_s;
            continue;
        }
        return 0;
    }
    return 1;
}

/* ---- durations --------------------------------------------------------------------------- */

int rules__duration(const char *s, int64_t *ns_out)
{
    int64_t total = 0;
    int any = 0;

    if (s == NULL || *s == '\0') {
        return -1;
    }
    while (*s) {
        int64_t v = 0, unit;
        int digits = 0;

        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (*s - '0');
            if (v > 10LL * 365 * 86400) {
                return -1;
            }
            s++;
            digits++;
        }
        if (digits == 0) {
            return -1;
        }
        switch (*s) {
        case 'h':
            unit = 3600;
            s++;
            break;
        case 'm':
            unit = 60;
            s++;
            break;
        case 's':
            unit = 1;
            s++;
            break;
        case '\0':
            if (any) {
                return -1; /* "1h30" is ambiguous */
            }
            unit = 1;
            break;
        default:
            return -1;
        }
        total += v * unit;
        any = 1;
    }
    *ns_out = total * 1000000000LL;
    return 0;
}

/* ---- templates ---------------------------------------------------------------------------- */

size_t rules__tpl_render(const struct tpl *t, const struct record *r, const struct tpl_ctx *ctx,
                         char *buf, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < t->n; i++) {
        const struct tpl_part *p = &t->parts[i];
        const char *v = NULL;

        if (p->lit != NULL) {
            o = text_put(buf, cap, o, p->lit, p->lit_len);
            continue;
        }
        switch (p->field) {
        case TPL_COUNT:
            o = text_put_u64(buf, cap, o, ctx ? ctx->count : 0, 1);
            continue;
        case TPL_CLASS:
            v = ctx ? ctx->class_name : NULL;
            break;
        case TPL_RULE:
            v = ctx ? ctx->rule : NULL;
            break;
        case TPL_DIAGNOSIS:
            v = ctx ? ctx->diagnosis : NULL;
            break;
        case TPL_DURATION:
            v = ctx ? ctx->duration : NULL;
            break;
        case TPL_STATUS:
            v = ctx ? ctx->status : NULL;
            break;
        default: {
            struct slice sv = r ? record_field_get(r, p->field) : SLICE_NONE;

            o = sv.p ? text_put(buf, cap, o, sv.p, sv.len) : text_put(buf, cap, o, "?", 1);
            continue;
        }
        }
        o = v && *v ? text_put(buf, cap, o, v, strlen(v)) : text_put(buf, cap, o, "?", 1);
    }
    buf[o] = '\0';
    return o;
}
