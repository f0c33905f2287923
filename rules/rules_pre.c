/*
 * Testing ahead (rules.h, rules_pre_*). Replay's reader thread parses while the main thread
 * evaluates; the literal and regex tests on fields that nothing after the parser changes need
 * only the record, so the reader runs them and hands one bit per condition list along with the
 * record. The main thread then skips a rule whose bit is clear, and the tests behind a set bit.
 *
 * A field is written after parsing when a rule tags it (event, class), a capture fills it,
 * or the rollout tracker labels it (release). Tags and captures depend on the record alone
 * too, given the rules before: so the reader then goes through the candidate rules as the
 * engine will, tagging and capturing into the record as it goes, and decides their lists
 * whole (decide). Only state stops it: a recent condition, a test of release. A resolve list
 * is left to the engine, which looks at it only while the rule's alerts fire. The engine takes
 * the verdicts and the captures, and keeps the keyed state, the alerts and the rollouts; the
 * main loop was the slower thread.
 */
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "rules_int.h"
#include "xmalloc.h"

struct rules_pre {
    struct rule_set *set; /* a reference */
    pcre2_match_data *md; /* this thread's */
    uint32_t *memo;       /* per test uid: (record number << 1) | its result for that record */
    uint32_t cur;         /* the record number, below 2^31 */
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
    free(w->rest);
    w->rest = xcalloc(w->n ? w->n : 1, sizeof(*w->rest));
    w->nrest = 0;
    w->rest_caps = 0;
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
            w->rest[w->nrest++] = (uint32_t)i;
            w->rest_caps += c->ncaps;
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

static void prog_push(struct rule_set *set, uint32_t v)
{
    if (set->pre_prog_len == set->pre_prog_cap) {
        set->pre_prog_cap = set->pre_prog_cap ? set->pre_prog_cap * 2 : 1024;
        set->pre_prog = xrealloc(set->pre_prog, set->pre_prog_cap * sizeof(*set->pre_prog));
    }
    set->pre_prog[set->pre_prog_len++] = v;
}

/* Kind and object kind tests: decided when the program is built, for each pair of them. */
static int shape_holds(const struct cond *c, int kind, int okind)
{
    return (c->mask >> (c->field == FIELD_KIND ? kind : okind)) & 1u;
}

static void set_bit(uint64_t *bits, uint32_t i)
{
    bits[i >> 6] |= 1ULL << (i & 63);
}

/*
 * A byte the message must have for w to hold: from a prefix (or equality) test on the message,
 * its byte at the last place up to 7 (the first is what the program was chosen by). Most
 * records reach ten or so rules that each want another start of the message: one byte read
 * turns most of them away. 0: none.
 */
static uint32_t quick_check(const struct when *w)
{
    for (size_t i = 0; i < w->n; i++) {
        const struct cond *c = &w->conds[i];

        if (c->pre && c->field == FIELD_MESSAGE && c->nstrs == 1 && c->lens[0] >= 2 &&
            (c->op == COND_PREFIX || c->op == COND_EQUALS)) {
            size_t pos = c->lens[0] - 1 < 7 ? c->lens[0] - 1 : 7;

            return (uint32_t)(pos << 8 | (unsigned char)c->strs[0][pos]);
        }
    }
    return 0;
}

/*
 * A list of rule idx into the program for records of kind and okind: [its bit, the rule's
 * candidate bit, the quick check, n, the n test uids]. Returns -1 if its kind tests fail for
 * them (it cannot hold), 0 if the engine must test it all (no bit), 1 if it holds whatever the
 * record says (its bit goes to always), 2 if the program tests it.
 */
static int prog_when(struct rule_set *set, const struct when *w, uint32_t idx, int kind,
                     int okind, uint64_t *always)
{
    uint32_t n = 0;

    if (w->npre == 0) {
        return 0;
    }
    for (size_t i = 0; i < w->n; i++) {
        if (w->conds[i].op == COND_MASK && !shape_holds(&w->conds[i], kind, okind)) {
            return -1;
        }
        n += w->conds[i].pre && w->conds[i].op != COND_MASK;
    }
    if (n == 0) {
        set_bit(always, w->id);
        return 1;
    }
    prog_push(set, w->id);
    prog_push(set, (uint32_t)(set->cand_word * 64) + idx);
    prog_push(set, quick_check(w));
    prog_push(set, n);
    for (size_t i = 0; i < w->n; i++) {
        if (w->conds[i].pre && w->conds[i].op != COND_MASK) {
            prog_push(set, w->conds[i].uid);
        }
    }
    return 2;
}

static void prog_rule(struct rule_set *set, uint32_t idx, int kind, int okind, uint64_t *always)
{
    const struct rule *r = &set->rules[idx];
    const struct when *lists[3];
    size_t nl = 0;
    int cand = 0;

    lists[nl++] = &r->when;
    if (r->type == RULE_EXPECT) {
        lists[nl++] = &r->then;
    }
    if (r->has_resolve) {
        lists[nl++] = &r->resolve;
    }
    for (size_t i = 0; i < nl; i++) {
        int k = prog_when(set, lists[i], idx, kind, okind, always);

        cand |= k == 0 || k == 1;
    }
    if (cand) {
        set_bit(always, set->cand_word * 64 + idx); /* a candidate whatever the record says */
    }
}

/*
 * One program: [nalways, (word, low 32 bits, high 32 bits) * nalways], then the condition
 * lists of its rules in rule order, flat: a rule's candidate bit is set by each of its lists
 * that holds (a loop per rule around its lists was a third of the program's bookkeeping).
 */
static uint32_t build_prog(struct rule_set *set, uint32_t off, uint32_t n, int kind, int okind,
                           uint64_t *always, size_t words)
{
    uint32_t start = (uint32_t)set->pre_prog_len, nalways = 0;
    size_t rules_at;

    memset(always, 0, words * sizeof(*always));
    prog_push(set, 0);
    rules_at = set->pre_prog_len;
    for (uint32_t j = 0; j < n; j++) {
        prog_rule(set, set->dispatch[off + j], kind, okind, always);
    }
    /* the constant bits go in front of the rules: move the rules up by their size */
    for (size_t w = 0; w < words; w++) {
        nalways += always[w] != 0;
    }
    for (uint32_t i = 0; i < 3 * nalways; i++) {
        prog_push(set, 0);
    }
    memmove(set->pre_prog + rules_at + 3 * nalways, set->pre_prog + rules_at,
            (set->pre_prog_len - rules_at - 3 * nalways) * sizeof(*set->pre_prog));
    set->pre_prog[start] = nalways;
    for (size_t w = 0, o = rules_at; w < words; w++) {
        if (always[w] != 0) {
            set->pre_prog[o++] = (uint32_t)w;
            set->pre_prog[o++] = (uint32_t)always[w];
            set->pre_prog[o++] = (uint32_t)(always[w] >> 32);
        }
    }
    return start;
}

/*
 * The program of each dispatch list for each object kind (a record's kind and object kind come
 * from the parser alone, so their tests are decided here); bytes that share a dispatch list
 * share its programs.
 */
static void build_progs(struct rule_set *set)
{
    size_t words = set->cand_word + (set->nrules + 63) / 64 + 1;
    uint64_t *always = xcalloc(words, sizeof(*always));

    for (int k = 0; k < RECORD_KIND_COUNT; k++) {
        for (int ok = 0; ok < OBJECT_KIND_COUNT; ok++) {
            for (int b = 256; b >= 0; b--) { /* 256 first: the list most bytes share */
                uint32_t off = set->disp_off[k][b], n = set->disp_n[k][b];

                if (b < 256 && off == set->disp_off[k][256] && n == set->disp_n[k][256]) {
                    set->pre_off[k][ok][b] = set->pre_off[k][ok][256];
                    set->pre_len[k][ok][b] = set->pre_len[k][ok][256];
                    continue;
                }
                set->pre_off[k][ok][b] = build_prog(set, off, n, k, ok, always, words);
                set->pre_len[k][ok][b] = (uint32_t)set->pre_prog_len - set->pre_off[k][ok][b];
            }
        }
    }
    free(always);
}

/* Does a condition of w (or inside its "not"s) test field? */
static int tests_field(const struct when *w, int field)
{
    for (size_t i = 0; i < w->n; i++) {
        const struct cond *c = &w->conds[i];

        if ((c->op != COND_MASK && c->field == field) ||
            (c->sub != NULL && tests_field(c->sub, field))) {
            return 1;
        }
    }
    return 0;
}

/*
 * Which rules the reader can decide whole, and the numbers of the captures it hands over. The
 * engine writes release from its state (the rollout's), and a recent condition depends on
 * state: from such a rule on, the engine decides itself. (A resolve list, which cannot
 * capture, stays with the engine: it looks at it only while the rule's alerts fire.)
 */
static void plan_ahead(struct rule_set *set)
{
    size_t n = 0;

    for (size_t i = 0; i < set->nrules; i++) {
        struct rule *r = &set->rules[i];

        r->ahead_ok = r->recent_tag == NULL && !tests_field(&r->when, FIELD_RELEASE) &&
                      !tests_field(&r->then, FIELD_RELEASE);
        n += r->when.rest_caps + r->then.rest_caps;
    }
    free(set->capv);
    set->capv = xcalloc(n + 1, sizeof(*set->capv));
    set->ncapv = 0;
    for (size_t i = 0; i < set->nrules; i++) {
        struct rule *r = &set->rules[i];
        struct when *lists[2] = {&r->when, &r->then};

        for (int l = 0; l < 2; l++) {
            for (size_t k = 0; k < lists[l]->n; k++) {
                struct cond *c = &lists[l]->conds[k];

                for (size_t j = 0; j < c->ncaps; j++) {
                    c->caps[j].gid = set->ncapv;
                    set->capv[set->ncapv++] = &c->caps[j];
                }
            }
        }
    }
    /* list ids and capture numbers cross between the threads in 16 bits (rules.h) */
    set->ahead = set->nwhen <= UINT16_MAX && set->ncapv <= UINT16_MAX;
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
    set->cand_word = (set->nwhen + 63) / 64;
    set->pre_cond = xcalloc(set->nuid + 1, sizeof(*set->pre_cond));
    for (size_t i = 0; i < seen.n; i++) {
        set->pre_cond[seen.conds[i]->uid] = seen.conds[i];
    }
    build_progs(set);
    plan_ahead(set);
    free(seen.conds);
    free(written);
}

/* ---- the reader's side ---------------------------------------------------------------------- */

struct rules_pre *rules_pre_new(struct rule_set *set)
{
    struct rules_pre *pre = xcalloc(1, sizeof(*pre));

    pre->set = rules_set_ref(set);
    pre->md = pcre2_match_data_create(set->max_groups + 1, NULL);
    pre->memo = xcalloc(set->nuid + 1, sizeof(*pre->memo));
    pre->words = set->cand_word + (set->nrules + 63) / 64 + 1;
    return pre;
}

void rules_pre_free(struct rules_pre *pre)
{
    if (pre == NULL) {
        return;
    }
    pcre2_match_data_free(pre->md);
    free(pre->memo);
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

/*
 * The record as decide's lists see it: the caller's, with the tags and captures taken so far,
 * and what they replaced, to put back at the end (a copy per record cost more than all the
 * lists' tests).
 */
struct decided {
    struct record *r;
    size_t nundo;
    struct undo {
        int field;
        struct slice was;
    } undo[RULES_AHEAD_MAX_CAPS];
};

/* decide_list for a list whose rest captures: out of line, as few lists do. */
static __attribute__((noinline)) int decide_rest(struct rules_pre *pre, const struct when *w,
                                                 struct decided *dc, uint64_t *bits,
                                                 uint64_t *touched, struct rules_ahead *out,
                                                 struct rules_stats *st)
{
    struct rules_pending pend[MAX_PENDING_CAPS];
    size_t npend = 0;
    uint64_t bit = 1ULL << (w->id & 63);

    if (!rules__when_rest(pre->set, pre->md, w, dc->r, pend, &npend, st)) {
        bits[w->id >> 6] &= ~bit;
        return 0;
    }
    if (out->ncaps + npend > RULES_AHEAD_MAX_CAPS) {
        return -1;
    }
    for (size_t i = 0; i < npend; i++) {
        int f = pend[i].cap->field;

        if (f < FIELD_COUNT) { /* extras come only from here: their count is put back */
            dc->undo[dc->nundo++] = (struct undo){f, record_field_get(dc->r, f)};
        }
        record_field_set(dc->r, f, pend[i].cap->name, pend[i].val);
        out->caps[out->ncaps++] = (struct rules_ahead_cap){w->id, pend[i].cap->gid, pend[i].val};
    }
    bits[w->id >> 6] |= bit;
    *touched |= 1ULL << ((w->id >> 6) & 63);
    return 1;
}

/*
 * List w for the record as the engine will have it by then: 1 if it holds (its bit is set,
 * its captures go to the working copy and to out), 0 if not (its bit is cleared), -1 if its
 * captures do not fit in out (nothing changed: the engine decides from here on).
 */
static inline int decide_list(struct rules_pre *pre, const struct when *w, struct decided *dc,
                              uint64_t *bits, uint64_t *touched, struct rules_ahead *out,
                              struct rules_stats *st)
{
    if (w->npre > 0 && !rules__bit(bits, w->id)) {
        return 0;
    }
    if (w->rest_caps == 0) { /* the usual list: a test of the tags, say; no call */
        size_t none = 0;

        if (w->nrest > 0 && !rules__when_rest(pre->set, pre->md, w, dc->r, NULL, &none, st)) {
            bits[w->id >> 6] &= ~(1ULL << (w->id & 63));
            return 0;
        }
        if (w->npre == 0) { /* its bit was never set */
            bits[w->id >> 6] |= 1ULL << (w->id & 63);
            *touched |= 1ULL << ((w->id >> 6) & 63);
        }
        return 1;
    }
    return decide_rest(pre, w, dc, bits, touched, out, st);
}

/*
 * The candidate rules in the engine's order, as rules_eval_pre would visit them, with their
 * lists decided whole: tags and captures go to the record (decide puts it back), so a later
 * list sees them as the engine's does. Returns the first rule it cannot decide, or
 * RULES_AHEAD_ALL.
 */
static uint32_t decide_rules(struct rules_pre *pre, struct decided *dc, uint64_t *bits,
                             uint64_t *touched, struct rules_ahead *out, struct rules_stats *st)
{
    const struct rule_set *set = pre->set;
    const uint64_t *cand = bits + set->cand_word;
    struct record *r = dc->r;
    int k;

    for (size_t w = 0; w < (set->nrules + 63) / 64; w++) {
        for (uint64_t m = cand[w]; m != 0; m &= m - 1) {
            size_t idx = w * 64 + (size_t)__builtin_ctzll(m);
            const struct rule *rule = &set->rules[idx];

            if (!rule->ahead_ok) {
                return (uint32_t)idx;
            }
            switch (rule->type) {
            case RULE_MATCH:
                k = 0;
                if (!(rule->event && r->event.p) && !(rule->cls && r->class_name.p)) {
                    k = decide_list(pre, &rule->when, dc, bits, touched, out, st);
                } /* else the first tag wins */
                if (k < 0) {
                    return (uint32_t)idx;
                }
                if (k > 0 && rule->event) {
                    r->event = rule->event_tag;
                }
                if (k > 0 && rule->cls) {
                    r->class_name = rule->class_tag;
                }
                k |= rule->has_resolve; /* its resolve list waits for the engine's state */
                break;
            case RULE_THRESHOLD:
                k = decide_list(pre, &rule->when, dc, bits, touched, out, st);
                if (k < 0) {
                    return (uint32_t)idx;
                }
                break;
            case RULE_EXPECT:
                /* the engine looks at the A only when the B does not hold */
                k = decide_list(pre, &rule->then, dc, bits, touched, out, st);
                if (k == 0) {
                    k = decide_list(pre, &rule->when, dc, bits, touched, out, st);
                }
                if (k < 0) {
                    return (uint32_t)idx;
                }
                break;
            default:
                k = 1;
            }
            if (k == 0) { /* the engine would find nothing to do: it need not look */
                bits[set->cand_word + w] &= ~(1ULL << (idx & 63));
                *touched |= 1ULL << ((set->cand_word + w) & 63);
            }
        }
    }
    return RULES_AHEAD_ALL;
}

/* decide_rules on r itself, which is then put back as it was. */
static uint32_t decide(struct rules_pre *pre, struct record *r, uint64_t *bits,
                       uint64_t *touched, struct rules_ahead *out, struct rules_stats *st)
{
    struct decided dc;
    const struct slice ev = r->event, cls = r->class_name;
    const size_t nextra = r->nextra;
    uint32_t upto;

    dc.r = r;
    dc.nundo = 0;
    upto = decide_rules(pre, &dc, bits, touched, out, st);
    while (dc.nundo > 0) {
        dc.nundo--;
        record_field_set(r, dc.undo[dc.nundo].field, NULL, dc.undo[dc.nundo].was);
    }
    r->event = ev;
    r->class_name = cls;
    r->nextra = nextra;
    return upto;
}

uint64_t rules_pre_eval(struct rules_pre *pre, struct record *r, uint64_t *bits,
                        struct rules_ahead *out, struct rules_stats *st)
{
    const struct rule_set *set = pre->set;
    const uint32_t *p, *end;
    uint32_t *memo = pre->memo;
    uint32_t cur;
    const char *mp;
    size_t mlen;
    unsigned b;
    size_t npend = 0;
    uint64_t touched = 0; /* a bit per word set: the caller copies only those */

    memset(bits, 0, pre->words * sizeof(*bits));
    if (++pre->cur == 1u << 31) {
        memset(memo, 0, (set->nuid + 1) * sizeof(*memo));
        pre->cur = 1;
    }
    cur = pre->cur << 1;
    /* the engine's own dispatch: the same rules see the same record there */
    b = r->message.p != NULL && r->message.len > 0 ? (unsigned char)r->message.p[0] : 256;
    mp = r->message.p;
    mlen = r->message.p != NULL ? r->message.len : 0;
    p = set->pre_prog + set->pre_off[r->kind][r->object_kind][b];
    end = p + set->pre_len[r->kind][r->object_kind][b];
    for (uint32_t n = *p++; n > 0; n--, p += 3) {
        bits[p[0]] |= (uint64_t)p[1] | ((uint64_t)p[2] << 32);
        touched |= 1ULL << (p[0] & 63);
    }
    while (p < end) {
        uint32_t id = p[0], cb = p[1], q = p[2], n = p[3], k;
        const uint32_t *u = p + 4;

        p = u + n;
        if (q != 0 && !((q >> 8) < mlen && (unsigned char)mp[q >> 8] == (q & 0xFFu))) {
            continue; /* the message does not start as this list wants */
        }
        for (k = 0; k < n; k++) {
            uint32_t m = memo[u[k]];

            if ((m & ~1u) != cur) {
                /* tests ahead capture nothing: no pending list */
                m = cur | (uint32_t)rules__cond_eval(set, pre->md, set->pre_cond[u[k]], r, NULL,
                                                     &npend, st);
                memo[u[k]] = m;
            }
            if (!(m & 1u)) {
                goto next; /* the list fails: on to the next */
            }
        }
        bits[id >> 6] |= 1ULL << (id & 63);
        bits[cb >> 6] |= 1ULL << (cb & 63);
        touched |= 1ULL << ((id >> 6) & 63) | 1ULL << ((cb >> 6) & 63);
    next:;
    }
    out->ncaps = 0;
    out->upto = set->ahead ? decide(pre, r, bits, &touched, out, st) : RULES_AHEAD_ALL;
    return pre->words <= 64 ? touched : ~0ULL;
}
