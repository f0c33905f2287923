/*
 * Testing ahead (rules.h, rules_pre_*). Replay's reader thread parses while the main thread
 * evaluates; the literal and regex tests on fields that nothing after the parser changes need
 * only the record, so the reader runs them and hands one bit per condition list along with the
 * record. The main thread then skips a rule whose bit is clear, and the tests behind a set bit.
 *
 * A field is written after parsing when a rule tags it (event, class), a capture fills it,
 * or the rollout tracker labels it (release): tests on those stay with the engine.
 */
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "rules_int.h"
#include "xmalloc.h"

#define MAX_PENDING 16

struct rules_pre {
    struct rule_set *set; /* a reference */
    pcre2_match_data *md; /* this thread's */
    uint32_t *gen;        /* per test uid: the record whose result val holds */
    uint8_t *val;
    uint32_t cur;
    size_t words;
};

/* ---- the plan, once per rule set ------------------------------------------------------------ */

static void mark_written(const struct when *w, unsigned char *written)
{
    for (size_t i = 0; i < w->n; i++) {
        for (size_t k = 0; k < w->conds[i].ncaps; k++) {
            written[w->conds[i].caps[k].field] = 1;
        }
        if (w->conds[i].sub != NULL) {
            mark_written(w->conds[i].sub, written);
        }
    }
}

static int pure(const struct cond *c, const unsigned char *written)
{
    if (c->op == COND_MASK) {
        return 1; /* kind and object_kind: the parser's alone */
    }
    if (written[c->field] || c->ncaps > 0) {
        return 0;
    }
    for (size_t i = 0; c->sub != NULL && i < c->sub->n; i++) {
        if (!pure(&c->sub->conds[i], written)) {
            return 0;
        }
    }
    return 1;
}

static int same_cond(const struct cond *a, const struct cond *b)
{
    if (a->op != b->op || a->field != b->field || a->nstrs != b->nstrs ||
        a->present != b->present || a->mask != b->mask || a->op == COND_NOT) {
        return 0; /* a "not" is its own: comparing the lists inside is not worth it */
    }
    if ((a->src == NULL) != (b->src == NULL) || (a->src != NULL && strcmp(a->src, b->src) != 0)) {
        return 0;
    }
    for (size_t i = 0; i < a->nstrs; i++) {
        if (a->lens[i] != b->lens[i] || memcmp(a->strs[i], b->strs[i], a->lens[i]) != 0) {
            return 0;
        }
    }
    return 1;
}

struct seen {
    const struct cond **conds;
    size_t n, cap;
};

static void plan_when(struct rule_set *set, struct when *w, const unsigned char *written,
                      struct seen *seen)
{
    int engine_literal = 0;

    w->id = set->nwhen++;
    w->npre = 0;
    for (size_t i = 0; i < w->n; i++) {
        engine_literal |= w->conds[i].op != COND_REGEX && !pure(&w->conds[i], written);
    }
    for (size_t i = 0; i < w->n; i++) {
        struct cond *c = &w->conds[i];
        size_t k;

        /* a regex behind a literal test the engine keeps (say class = health_check) ran only
         * for the few records passing that test: ahead, it would run for all of them */
        c->pre = pure(c, written) && !(c->op == COND_REGEX && engine_literal);
        if (!c->pre) {
            continue;
        }
        w->npre++;
        for (k = 0; k < seen->n && !same_cond(seen->conds[k], c); k++) {
        }
        if (k < seen->n) {
            c->uid = seen->conds[k]->uid;
            continue;
        }
        c->uid = set->nuid++;
        if (seen->n == seen->cap) {
            seen->cap = seen->cap ? seen->cap * 2 : 64;
            seen->conds = xrealloc(seen->conds, seen->cap * sizeof(*seen->conds));
        }
        seen->conds[seen->n++] = c;
    }
}

void rules__pre_plan(struct rule_set *set)
{
    unsigned char *written = xcalloc(FIELD_COUNT + set->nextra + 1, 1);
    struct seen seen = {0};

    written[FIELD_EVENT] = written[FIELD_CLASS] = 1;
    written[FIELD_RELEASE] = 1; /* rules__rollouts_label */
    for (size_t i = 0; i < set->nrules; i++) {
        mark_written(&set->rules[i].when, written);
        mark_written(&set->rules[i].then, written);
        mark_written(&set->rules[i].resolve, written);
    }
    set->nwhen = 0;
    set->nuid = 0;
    for (size_t i = 0; i < set->nrules; i++) {
        plan_when(set, &set->rules[i].when, written, &seen);
        plan_when(set, &set->rules[i].then, written, &seen);
        plan_when(set, &set->rules[i].resolve, written, &seen);
    }
    free(seen.conds);
    free(written);
}

/* ---- the reader's side ------------------------------------------------------------------------ */

struct rules_pre *rules_pre_new(struct rule_set *set)
{
    struct rules_pre *pre = xcalloc(1, sizeof(*pre));

    pre->set = rules_set_ref(set);
    pre->md = pcre2_match_data_create(set->max_groups + 1, NULL);
    pre->gen = xcalloc(set->nuid + 1, sizeof(*pre->gen));
    pre->val = xcalloc(set->nuid + 1, sizeof(*pre->val));
    pre->words = (set->nwhen + 63) / 64 + 1;
    return pre;
}

void rules_pre_free(struct rules_pre *pre)
{
    if (pre == NULL) {
        return;
    }
    pcre2_match_data_free(pre->md);
    free(pre->gen);
    free(pre->val);
    rules_set_free(pre->set);
    free(pre);
}

struct rule_set *rules_pre_set(const struct rules_pre *pre)
{
    return pre->set;
}

size_t rules_pre_words(const struct rules_pre *pre)
{
    return pre->words;
}

static void pre_when(struct rules_pre *pre, const struct when *w, const struct record *r,
                     uint64_t *bits, struct rules_stats *st)
{
    struct rules_pending *none = NULL; /* tests ahead capture nothing */
    size_t npend = 0;

    for (size_t i = 0; i < w->n; i++) {
        const struct cond *c = &w->conds[i];

        if (!c->pre) {
            continue;
        }
        if (pre->gen[c->uid] != pre->cur) {
            pre->gen[c->uid] = pre->cur;
            pre->val[c->uid] =
                (uint8_t)rules__cond_eval(pre->set, pre->md, c, r, none, &npend, st);
        }
        if (!pre->val[c->uid]) {
            return;
        }
    }
    bits[w->id >> 6] |= 1ULL << (w->id & 63);
}

void rules_pre_eval(struct rules_pre *pre, const struct record *r, uint64_t *bits,
                    struct rules_stats *st)
{
    const struct rule_set *set = pre->set;
    const uint32_t *list;
    unsigned b;

    memset(bits, 0, pre->words * sizeof(*bits));
    if (++pre->cur == 0) {
        memset(pre->gen, 0, (set->nuid + 1) * sizeof(*pre->gen));
        pre->cur = 1;
    }
    /* the engine's own dispatch: the same rules see the same record there */
    b = r->message.p != NULL && r->message.len > 0 ? (unsigned char)r->message.p[0] : 256;
    list = set->dispatch + set->disp_off[r->kind][b];
    for (size_t j = 0; j < set->disp_n[r->kind][b]; j++) {
        const struct rule *rule = &set->rules[list[j]];

        pre_when(pre, &rule->when, r, bits, st);
        if (rule->type == RULE_EXPECT) {
            pre_when(pre, &rule->then, r, bits, st);
        }
        if (rule->has_resolve) {
            pre_when(pre, &rule->resolve, r, bits, st);
        }
    }
}
