/* The engine: per record, match rules tag it, threshold and expect rules keep keyed state,
 * alerts go through the alert table, and the rollout tracker follows each app. All time is
 * event time: a clock that moves with the records (and the live heartbeat), never back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "rules_int.h"
#include "text.h"
#include "xmalloc.h"

#define EXPECT_EARLY_NS (10LL * 1000000000LL) /* B up to this long before A still counts */
#define REORDER_SLACK_NS (30LL * 1000000000LL) /* how late a line may come and still count */
#define THRESHOLD_EXTRA 64                     /* matches kept beyond count, for late lines */
#define DEFAULT_REPEAT_NS (3600LL * 1000000000LL)
#define DEFAULT_STUCK_NS (600LL * 1000000000LL)
#define DEFAULT_QUIET_NS (300LL * 1000000000LL)
#define DEFAULT_EXPIRE_NS (6LL * 3600 * 1000000000LL)
#define DEFAULT_MAX_STATE 65536
#define EVIDENCE_MAX_BYTES 2048

/* A record copied out of the line it borrowed from, for alerts raised after it is gone. */
struct frozen {
    char *buf; /* owned: every slice of rec points into it */
    struct record rec;
};

struct threshold_state {
    int64_t *ts; /* match times, sorted; at most count + THRESHOLD_EXTRA */
    uint32_t n, cap;
    struct frozen ev[ALERT_MAX_EVIDENCE]; /* the newest matching records */
    uint32_t nev;
};

struct expect_state {
    const struct rule *rule;
    int64_t deadline;
    struct frozen a; /* the record that started the wait */
};

/* ---- frozen records ------------------------------------------------------------------------ */

static void freeze(struct frozen *f, const struct record *r)
{
    struct slice *slots[] = {&f->rec.stream,  &f->rec.object,     &f->rec.service,
                             &f->rec.replicaset, &f->rec.pod,     &f->rec.container,
                             &f->rec.message, &f->rec.status_from, &f->rec.status_to,
                             &f->rec.release, &f->rec.build,      &f->rec.app,
                             &f->rec.cli,     &f->rec.pod_status, &f->rec.line};
    size_t total = 0, o = 0, i;

    f->rec = *r;
    f->rec.src = NULL;
    if (f->rec.line.len > EVIDENCE_MAX_BYTES) {
        f->rec.line.len = EVIDENCE_MAX_BYTES;
    }
    for (i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
        total += slots[i]->len;
    }
    for (i = 0; i < f->rec.nextra; i++) {
        total += f->rec.extra[i].val.len;
    }
    f->buf = xmalloc(total + 1);
    /* event, class_name and extra names point into the rule set, which outlives the state */
    for (i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
        if (slots[i]->p != NULL) {
            memcpy(f->buf + o, slots[i]->p, slots[i]->len);
            slots[i]->p = f->buf + o;
            o += slots[i]->len;
        }
    }
    for (i = 0; i < f->rec.nextra; i++) {
        struct slice *v = &f->rec.extra[i].val;

        if (v->p != NULL) {
            memcpy(f->buf + o, v->p, v->len);
            v->p = f->buf + o;
            o += v->len;
        }
    }
}

static void thaw_free(struct frozen *f)
{
    free(f->buf);
    memset(f, 0, sizeof(*f));
}

static void threshold_free(void *p)
{
    struct threshold_state *t = p;

    for (uint32_t i = 0; i < t->nev; i++) {
        thaw_free(&t->ev[i]);
    }
    free(t->ts);
    free(t);
}

/* An early entry ends (expired, evicted, met by its A): its memo slot must not point at it. */
static void early_gone(void *p)
{
    ((struct expect_memo *)p)->early = NULL;
}

static void memo_forget(struct expect_memo *m)
{
    if (m->early != NULL) {
        m->early->val = NULL;
        m->early = NULL;
    }
}

static void expect_free(void *p)
{
    struct expect_state *x = p;

    thaw_free(&x->a);
    free(x);
}

/* ---- keys -------------------------------------------------------------------------------- */

/* The state-key prefix of rule number i ("r<i>"), made once per rule set; returns its length. */
static size_t rule_tag(char out[23], size_t i)
{
    return text_put_u64(out, 23, text_put(out, 23, 0, "r", 1), i, 1);
}

size_t rules__make_key(char *buf, const char *tag, size_t tag_len, const int *fields,
                       size_t nf, const struct record *r)
{
    size_t o = tag_len < RULES_KEY_MAX / 2 ? tag_len : RULES_KEY_MAX / 2;

    text_copy(buf, tag, o);
    for (size_t i = 0; i < nf && o + 2 < RULES_KEY_MAX; i++) {
        struct slice v = record_field_get(r, fields[i]);

        buf[o++] = '\x1f';
        if (v.p == NULL) {
            buf[o++] = '\x1e';
        } else {
            size_t n = v.len < RULES_KEY_MAX - o - 1 ? v.len : RULES_KEY_MAX - o - 1;

            text_copy(buf + o, v.p, n);
            o += n;
        }
    }
    return o;
}

/* ---- alerts of rules ------------------------------------------------------------------------- */

/* The name of the alerts rule raises: its own, or its id. */
static const char *rule_alert_name(const struct rule *rule)
{
    return rule->alert_name ? rule->alert_name : rule->id;
}

/* rules: the set's rule array, rule one of them */
static void rule_spec(const struct rule *rules, const struct rule *rule, struct alert_spec *sp)
{
    memset(sp, 0, sizeof(*sp));
    sp->name = rule_alert_name(rule);
    sp->cls = rule->cls;
    sp->severity = rule->has_severity ? rule->severity
                   : rule->cls       ? rule->cls->severity
                                     : SEVERITY_WARNING;
    sp->summary = &rule->summary;
    sp->hint = &rule->hint;
    sp->key = rule->alert_key;
    sp->nkey = rule->nalert_key;
    sp->scope = ALERT_SCOPE_POD;
    sp->rule = rule - rules;
}

static void fire_rule(struct rules_engine *eng, const struct rule *rule, const struct record *r,
                      const struct slice *ev, size_t nev, int64_t at, uint64_t count)
{
    struct alert_spec sp;
    struct tpl_ctx ctx = {0};

    rule_spec(eng->set->rules, rule, &sp);
    ctx.count = count; /* 0: the alert's own count */
    rules__alert_fire(&eng->alerts, &sp, r, ev, nev, at, &ctx);
}

/* ---- time -------------------------------------------------------------------------------- */

static void fire_due(struct rules_engine *eng)
{
    int64_t next = INT64_MAX;
    struct kv_entry *e, *prev;

    if (eng->now <= eng->next_deadline) {
        return;
    }
    /* oldest first, so alerts come out in the order their waits began */
    for (e = eng->pending.tail; e != NULL; e = prev) {
        struct expect_state *x = e->val;

        prev = e->lprev;
        /* strictly after: a B exactly at the deadline is in time */
        if (x->deadline < eng->now) {
            fire_rule(eng, x->rule, &x->a.rec, &x->a.rec.line, 1, x->deadline, 0);
            rules__rollouts_failure(eng, &x->a.rec, x->rule);
            rules__kv_del(&eng->pending, e);
        } else if (x->deadline < next) {
            next = x->deadline;
        }
    }
    eng->next_deadline = next;
}

static void advance(struct rules_engine *eng, int64_t t)
{
    if (eng->have_now && t <= eng->now) {
        return; /* the clock did not move: nothing came due (most lines share a second) */
    }
    eng->now = t;
    eng->have_now = 1;
    eng->clock++;
    fire_due(eng);
    rules__rollouts_tick(eng);
    rules__kv_expire(&eng->threshold, eng->now - eng->max_window - REORDER_SLACK_NS);
    rules__kv_expire(&eng->recent, eng->now - eng->max_recent - REORDER_SLACK_NS);
    rules__kv_expire(&eng->early, eng->now - EXPECT_EARLY_NS - REORDER_SLACK_NS);
    rules__alerts_expire(&eng->alerts, eng->now - 2 * eng->repeat_ns, eng->now);
}

void rules_advance(struct rules_engine *eng, int64_t now_ns)
{
    advance(eng, now_ns);
}

/* ---- rule kinds ------------------------------------------------------------------------------ */

static int recent_holds(struct rules_engine *eng, const struct rule *rule, size_t idx,
                        const struct record *r)
{
    char key[RULES_KEY_MAX];
    size_t klen;
    struct kv_entry *e;

    klen = rules__make_key(key, eng->tags[idx].s, eng->tags[idx].len, rule->recent_key,
                           rule->recent_nkey, r);
    e = rules__kv_get(&eng->recent, key, klen);
    return e != NULL && r->ts_ns - e->touched <= rule->recent_within_ns;
}

/* After a record is tagged: remember it for the rules whose "recent" asks for that tag. */
static void note_recent(struct rules_engine *eng, const struct record *r)
{
    for (size_t j = 0; j < eng->set->nrecent_rules; j++) {
        size_t i = eng->set->recent_rules[j];
        const struct rule *rule = &eng->set->rules[i];
        struct slice tag = rule->recent_is_class ? r->class_name : r->event;
        char key[RULES_KEY_MAX];
        size_t klen;

        if (tag.len != rule->recent_tag_len || tag.p == NULL ||
            memcmp(tag.p, rule->recent_tag, tag.len) != 0) {
            continue;
        }
        klen = rules__make_key(key, eng->tags[i].s, eng->tags[i].len, rule->recent_key,
                               rule->recent_nkey, r);
        rules__kv_put(&eng->recent, key, klen, r->ts_ns);
    }
}

/*
 * Does w, a "when" or "then" of rule idx, hold for r? For the rules before ahead_upto the reader
 * decided it whole: its bit is the verdict, and the captures it took come with it, in order.
 */
static inline int list_holds(struct rules_engine *eng, const struct when *w, size_t idx,
                             struct record *r, const uint64_t *bits)
{
    if (idx < eng->ahead_upto) {
        const struct rules_ahead *ah = eng->ahead;

        if (!rules__bit(bits, w->id)) {
            return 0;
        }
        for (; eng->ahead_cap < ah->ncaps && ah->caps[eng->ahead_cap].list == w->id;
             eng->ahead_cap++) {
            const struct capture *cap = eng->set->capv[ah->caps[eng->ahead_cap].gid];

            record_field_set(r, cap->field, cap->name, ah->caps[eng->ahead_cap].val);
        }
        return 1;
    }
    return rules__when_match(eng->set, w, r, &eng->stats, bits);
}

static void eval_match(struct rules_engine *eng, const struct rule *rule, size_t idx,
                       struct record *r, const uint64_t *bits)
{
    struct record saved;

    if (rule->has_resolve && eng->firing[idx] > 0 &&
        rules__when_match(eng->set, &rule->resolve, r, &eng->stats, bits)) {
        struct alert_spec sp;

        rule_spec(eng->set->rules, rule, &sp);
        rules__alert_resolve_key(&eng->alerts, sp.name, sp.key, sp.nkey, r, r->ts_ns);
    }
    if ((rule->event && r->event.p) || (rule->cls && r->class_name.p)) {
        return; /* first tag wins */
    }
    if (rule->recent_tag) {
        saved = *r; /* only a firing rule's captures become fields */
    }
    if (!list_holds(eng, &rule->when, idx, r, bits)) {
        return;
    }
    if (rule->recent_tag && !recent_holds(eng, rule, idx, r)) {
        *r = saved;
        return;
    }
    if (rule->event) {
        r->event = rule->event_tag;
    }
    if (rule->cls) {
        r->class_name = rule->class_tag;
        eng->class_rule = rule;
    }
    if (rule->alert) {
        fire_rule(eng, rule, r, NULL, 0, r->ts_ns, 0);
    }
}

/* Keeps r among the newest ALERT_MAX_EVIDENCE matches (the alert's evidence). */
static void freeze_evidence(struct threshold_state *t, const struct record *r)
{
    if (t->nev == ALERT_MAX_EVIDENCE) {
        thaw_free(&t->ev[0]);
        memmove(&t->ev[0], &t->ev[1], (ALERT_MAX_EVIDENCE - 1) * sizeof(t->ev[0]));
        t->nev--;
    }
    freeze(&t->ev[t->nev++], r);
}

/* Inserts t into the sorted ring of match times; returns its index. */
static uint32_t insert_sorted(struct threshold_state *t, int64_t v)
{
    uint32_t i = t->n;

    if (t->n == t->cap) {
        /* full: the oldest goes (it is the least likely to complete a window) */
        memmove(t->ts, t->ts + 1, (t->n - 1) * sizeof(*t->ts));
        t->n--;
        i = t->n;
    }
    while (i > 0 && t->ts[i - 1] > v) {
        t->ts[i] = t->ts[i - 1];
        i--;
    }
    t->ts[i] = v;
    t->n++;
    return i;
}

static void eval_threshold(struct rules_engine *eng, const struct rule *rule, size_t idx,
                           struct record *r, const uint64_t *bits)
{
    char key[RULES_KEY_MAX];
    size_t klen;
    struct kv_entry *e;
    struct threshold_state *t;
    uint32_t pos, drop = 0, lo, hi;
    int64_t newest;

    if (!list_holds(eng, &rule->when, idx, r, bits)) {
        return;
    }
    klen = rules__make_key(key, eng->tags[idx].s, eng->tags[idx].len, rule->key, rule->nkey,
                           r);
    e = rules__kv_put(&eng->threshold, key, klen, r->ts_ns);
    t = e->val;
    if (t == NULL) {
        t = e->val = xcalloc(1, sizeof(*t));
        t->cap = rule->count + THRESHOLD_EXTRA;
        t->ts = xcalloc(t->cap, sizeof(*t->ts));
    }
    pos = insert_sorted(t, r->ts_ns);
    freeze_evidence(t, r);
    /* forget matches too old to share a window with anything that can still arrive */
    newest = t->ts[t->n - 1];
    while (drop < t->n && t->ts[drop] < newest - rule->window_ns - REORDER_SLACK_NS) {
        drop++;
    }
    if (drop > 0) {
        memmove(t->ts, t->ts + drop, (t->n - drop) * sizeof(*t->ts));
        t->n -= drop;
        if (pos < drop) {
            return; /* this line came too late to complete any window */
        }
        pos -= drop;
    }
    if (t->n < rule->count) {
        return;
    }
    /* any run of `count` consecutive times that includes the new one, within the window? */
    lo = pos + 1 >= rule->count ? pos + 1 - rule->count : 0;
    hi = pos < t->n - rule->count ? pos : t->n - rule->count;
    for (uint32_t i = lo; i <= hi; i++) {
        if (t->ts[i + rule->count - 1] - t->ts[i] <= rule->window_ns) {
            struct slice ev[ALERT_MAX_EVIDENCE];

            for (uint32_t k = 0; k < t->nev; k++) {
                ev[k] = t->ev[k].rec.line;
            }
            fire_rule(eng, rule, r, ev, t->nev, r->ts_ns, rule->count);
            rules__kv_del(&eng->threshold, e); /* start counting afresh */
            return;
        }
    }
}

static int same_fields(const int *a, size_t na, const int *b, size_t nb)
{
    return na == nb && memcmp(a, b, na * sizeof(*a)) == 0;
}

/*
 * The key of an expect rule, as rules__make_key builds it, inline for the usual one field
 * (the pod): app output builds one per line.
 */
static inline size_t expect_key(char *key, const struct rule_tag *tag, const struct rule *rule,
                                const struct record *r)
{
    if (rule->nkey == 1 && tag->len <= 16) {
        struct slice v = record_field_get(r, rule->key[0]);

        if (v.p != NULL && v.len + tag->len + 2 < (size_t)RULES_KEY_MAX) {
            memcpy(key, tag->s, 16); /* the tag's array is longer: one fixed-size copy */
            key[tag->len] = '\x1f';
            text_copy(key + tag->len + 1, v.p, v.len);
            return tag->len + 1 + v.len;
        }
    }
    return rules__make_key(key, tag->s, tag->len, rule->key, rule->nkey, r);
}

/* The memo slot of a B's key. */
static inline struct expect_memo *memo_slot(struct rules_engine *eng, size_t idx, uint64_t h)
{
    return &eng->memo[idx * EXPECT_MEMO_SLOTS + (h & (EXPECT_MEMO_SLOTS - 1))];
}

static void eval_expect(struct rules_engine *eng, const struct rule *rule, size_t idx,
                        struct record *r, const uint64_t *bits)
{
    char key[RULES_KEY_MAX];
    const struct rule_tag *tag = &eng->tags[idx];
    size_t klen;
    uint64_t h;
    struct kv_entry *e;
    struct expect_memo *m;

    if (list_holds(eng, &rule->then, idx, r, bits)) {
        klen = expect_key(key, tag, rule, r);
        h = rules__kv_hash(key, klen);
        m = memo_slot(eng, idx, h);
        if (m->clock == eng->clock && m->hash == h && r->ts_ns <= m->ts) {
            return; /* this B again, no later, and no A since: nothing it would write is new */
        }
        if (m->early != NULL && m->hash == h) {
            /* this B again, later: no A since, so no wait; its early entry moves on */
            e = m->early;
            rules__kv_refresh(&eng->early, e, r->ts_ns);
            m->clock = eng->clock;
            m->ts = r->ts_ns;
            /* the B that left this memo resolved the key's alert; since, no A came, so this
             * rule began none for it, and no other rule can when the name is its own */
            if (eng->firing[idx] > 0 && tag->name_shared) {
                struct alert_spec sp;

                rule_spec(eng->set->rules, rule, &sp);
                rules__alert_resolve_key(&eng->alerts, sp.name, sp.key, sp.nkey, r, r->ts_ns);
            }
            return;
        }
        e = rules__kv_get_h(&eng->pending, key, klen, h);
        if (e != NULL) {
            struct expect_state *x = e->val;

            if (r->ts_ns <= x->deadline) {
                rules__kv_del(&eng->pending, e);
            }
        } else {
            struct alert_spec sp;

            e = rules__kv_put_h(&eng->early, key, klen, h, r->ts_ns);
            if (same_fields(rule->alert_key, rule->nalert_key, rule->key, rule->nkey)) {
                /* the same B again finds no wait, writes no newer time, resolves nothing new */
                if (m->early != e) {
                    memo_forget(m);
                }
                m->clock = eng->clock;
                m->hash = h;
                m->ts = r->ts_ns;
                m->early = e;
                e->val = m;
            }
            /* B after the deadline: what was missing has come, the alert is over */
            if (eng->firing[idx] > 0) {
                rule_spec(eng->set->rules, rule, &sp);
                rules__alert_resolve_key(&eng->alerts, sp.name, sp.key, sp.nkey, r, r->ts_ns);
            }
        }
        return;
    }
    if (!list_holds(eng, &rule->when, idx, r, bits)) {
        return;
    }
    klen = expect_key(key, tag, rule, r);
    h = rules__kv_hash(key, klen);
    m = memo_slot(eng, idx, h);
    m->clock = 0; /* an A changes what the next B of its key finds */
    memo_forget(m);
    e = rules__kv_get_h(&eng->early, key, klen, h);
    if (e != NULL && e->touched >= r->ts_ns - EXPECT_EARLY_NS) {
        rules__kv_del(&eng->early, e); /* B came first, within the reorder slack */
        return;
    }
    e = rules__kv_put_h(&eng->pending, key, klen, h, r->ts_ns);
    if (e->val == NULL) {
        struct expect_state *x = xcalloc(1, sizeof(*x));

        x->rule = rule;
        x->deadline = r->ts_ns + rule->window_ns;
        freeze(&x->a, r);
        e->val = x;
        if (x->deadline < eng->next_deadline) {
            eng->next_deadline = x->deadline;
        }
    }
}

static void eval_rule(struct rules_engine *eng, size_t i, struct record *r, const uint64_t *bits)
{
    const struct rule *rule = &eng->set->rules[i];

    switch (rule->type) {
    case RULE_MATCH:
        eval_match(eng, rule, i, r, bits);
        break;
    case RULE_THRESHOLD:
        eval_threshold(eng, rule, i, r, bits);
        break;
    case RULE_EXPECT:
        eval_expect(eng, rule, i, r, bits);
        break;
    }
}

void rules_eval(struct rules_engine *eng, struct record *r)
{
    rules_eval_pre(eng, r, NULL, NULL);
}

void rules_eval_pre(struct rules_engine *eng, struct record *r, const struct rule_set *pre_set,
                    const struct rules_ahead *ahead)
{
    const struct rule_set *set = eng->set;
    const uint64_t *bits = ahead != NULL ? ahead->bits : NULL;
    const uint32_t *list;
    unsigned b;

    if (pre_set != set || bits == NULL) {
        bits = NULL; /* tested with the rules before a reload, or not tested */
        ahead = NULL;
    }
    eng->ahead = ahead;
    eng->ahead_upto = ahead != NULL && set->ahead ? ahead->upto : 0;
    eng->ahead_cap = 0;
    eng->stats.records++;
    eng->class_rule = NULL;
    if (r->ts_src != TS_NONE) {
        advance(eng, r->ts_ns);
    }
    rules__rollouts_label(eng, r);
    if (bits != NULL) {
        /* the candidates the reader found, in rule order as the dispatch list has them */
        const uint64_t *cand = bits + set->cand_word;

        for (size_t w = 0; w < (set->nrules + 63) / 64; w++) {
            for (uint64_t m = cand[w]; m != 0; m &= m - 1) {
                eval_rule(eng, w * 64 + (size_t)__builtin_ctzll(m), r, bits);
            }
        }
    } else {
        b = r->message.p != NULL && r->message.len > 0 ? (unsigned char)r->message.p[0] : 256;
        list = set->dispatch + set->disp_off[r->kind][b];
        for (size_t j = 0; j < set->disp_n[r->kind][b]; j++) {
            eval_rule(eng, list[j], r, NULL);
        }
    }
    eng->stats.tagged_event += r->event.p != NULL;
    eng->stats.tagged_class += r->class_name.p != NULL;
    if (set->nrecent_rules > 0 && (r->event.p || r->class_name.p)) {
        note_recent(eng, r);
    }
    eng->ahead = NULL; /* the caller's, for this record only */
    eng->ahead_upto = 0;
    rules__rollouts_record(eng, r);
    if (r->kind == RECORD_ATOM && r->release.p == NULL) {
        rules__rollouts_relabel(eng, r);
    }
}

/* ---- lifetime ---------------------------------------------------------------------------- */

static void configure(struct rules_engine *eng)
{
    const struct rule_settings *st = &eng->set->settings;

    eng->max_window = 0;
    eng->max_recent = 0;
    for (size_t i = 0; i < eng->set->nrules; i++) {
        const struct rule *r = &eng->set->rules[i];

        if (r->type == RULE_THRESHOLD && r->window_ns > eng->max_window) {
            eng->max_window = r->window_ns;
        }
        if (r->recent_within_ns > eng->max_recent) {
            eng->max_recent = r->recent_within_ns;
        }
    }
    eng->repeat_ns = eng->opts.repeat_interval_ns > 0 ? eng->opts.repeat_interval_ns
                     : st->repeat_interval_ns > 0     ? st->repeat_interval_ns
                                                      : DEFAULT_REPEAT_NS;
    eng->stuck_after_ns = st->rollout_stuck_after_ns ? st->rollout_stuck_after_ns : DEFAULT_STUCK_NS;
    eng->quiet_after_ns = st->rollout_quiet_after_ns ? st->rollout_quiet_after_ns : DEFAULT_QUIET_NS;
    eng->expire_ns = st->state_expire_ns ? st->state_expire_ns : DEFAULT_EXPIRE_NS;
    eng->alerts.repeat_ns = eng->repeat_ns;
}

static void state_init(struct rules_engine *eng)
{
    size_t cap = eng->opts.max_state;

    rules__kv_init(&eng->recent, cap, NULL);
    rules__kv_init(&eng->threshold, cap, threshold_free);
    rules__kv_init(&eng->pending, cap, expect_free);
    rules__kv_init(&eng->early, cap, early_gone);
    eng->next_deadline = INT64_MAX;
    eng->firing = xcalloc(eng->set->nrules + 1, sizeof(*eng->firing));
    eng->memo = xcalloc((eng->set->nrules + 1) * EXPECT_MEMO_SLOTS, sizeof(*eng->memo));
    eng->tags = xcalloc(eng->set->nrules + 1, sizeof(*eng->tags));
    for (size_t i = 0; i < eng->set->nrules; i++) {
        eng->tags[i].len = (unsigned char)rule_tag(eng->tags[i].s, i);
    }
    for (size_t i = 0; i < eng->set->nrules; i++) {
        const char *ni = rule_alert_name(&eng->set->rules[i]);

        if (eng->set->rules[i].type != RULE_EXPECT) {
            continue; /* only an expect rule's memo asks */
        }
        eng->tags[i].name_shared = (unsigned char)rules__rollouts_alert_name(ni);
        for (size_t j = 0; j < eng->set->nrules && !eng->tags[i].name_shared; j++) {
            eng->tags[i].name_shared =
                j != i && strcmp(ni, rule_alert_name(&eng->set->rules[j])) == 0;
        }
    }
}

static void state_free(struct rules_engine *eng)
{
    eng->stats.state_evicted += eng->recent.evicted + eng->threshold.evicted +
                                eng->pending.evicted + eng->early.evicted;
    rules__kv_free(&eng->recent);
    rules__kv_free(&eng->threshold);
    rules__kv_free(&eng->pending);
    rules__kv_free(&eng->early);
    free(eng->firing);
    eng->firing = NULL;
    free(eng->memo);
    eng->memo = NULL;
    free(eng->tags);
    eng->tags = NULL;
}

struct rules_engine *rules_engine_new(struct rule_set *set, const struct rules_opts *opts,
                                      rules_alert_cb on_alert, void *arg)
{
    struct rules_engine *eng = xcalloc(1, sizeof(*eng));

    if (opts != NULL) {
        eng->opts = *opts;
    }
    if (eng->opts.max_state == 0) {
        eng->opts.max_state = DEFAULT_MAX_STATE;
    }
    eng->set = set;
    eng->arg = arg;
    eng->clock = 1; /* memos start at 0: stale */
    state_init(eng);
    rules__alerts_init(&eng->alerts, eng->opts.max_state, on_alert, arg, &eng->stats);
    eng->alerts.firing_by_rule = eng->firing;
    eng->rollouts = rules__rollouts_new(eng->opts.max_state);
    configure(eng);
    return eng;
}

void rules_engine_on_rollout(struct rules_engine *eng, rules_rollout_cb cb, void *arg)
{
    eng->on_rollout = cb;
    eng->rollout_arg = arg;
}

/* The index in the new set of old rule i if it is unchanged (same id, same text), or -1. */
static long same_rule(const struct rule_set *old, size_t i, const struct rule_set *set)
{
    for (size_t j = 0; j < set->nrules; j++) {
        if (strcmp(set->rules[j].id, old->rules[i].id) == 0) {
            return set->rules[j].text_hash == old->rules[i].text_hash ? (long)j : -1;
        }
    }
    return -1;
}

/*
 * Moves the entries of kv keyed by unchanged rules ("r<i>...") into fresh, renamed for their new
 * index; the rest is dropped. expect_state.rule is re-pointed into the new set.
 */
static void carry(struct kv *from, struct kv *to, const long *map, size_t nold,
                  const struct rule_set *set, int is_pending)
{
    struct kv_entry *e, *prev;

    for (e = from->tail; e != NULL; e = prev) {
        char *end, key[RULES_KEY_MAX + 24], tag[24];
        unsigned long i;
        size_t rest, klen;
        struct kv_entry *n;

        prev = e->lprev;
        if (e->key_len < 2 || e->key[0] != 'r') {
            continue;
        }
        i = strtoul(e->key + 1, &end, 10);
        if (i >= nold || map[i] < 0) {
            continue;
        }
        rule_tag(tag, (size_t)map[i]);
        rest = e->key_len - (size_t)(end - e->key);
        klen = strlen(tag);
        memcpy(key, tag, klen);
        memcpy(key + klen, end, rest);
        n = rules__kv_put(to, key, klen + rest, e->touched);
        n->val = e->val;
        if (from->free_val == early_gone && e->val != NULL) {
            early_gone(e->val); /* the old engine's memo slot: the new one starts without */
            n->val = NULL;
        }
        e->val = NULL;
        if (is_pending) {
            ((struct expect_state *)n->val)->rule = &set->rules[map[i]];
        }
    }
}

void rules_engine_swap(struct rules_engine *eng, struct rule_set *set)
{
    struct rules_engine fresh;
    long *map = xcalloc(eng->set->nrules + 1, sizeof(long));

    /* state of rules that did not change moves over; the rest is dropped. Alerts and rollouts
     * hold their own copies and carry over whole. */
    for (size_t i = 0; i < eng->set->nrules; i++) {
        map[i] = same_rule(eng->set, i, set);
    }
    memset(&fresh, 0, sizeof(fresh));
    fresh.opts = eng->opts;
    fresh.set = set;
    state_init(&fresh);
    carry(&eng->recent, &fresh.recent, map, eng->set->nrules, set, 0);
    carry(&eng->threshold, &fresh.threshold, map, eng->set->nrules, set, 0);
    carry(&eng->pending, &fresh.pending, map, eng->set->nrules, set, 1);
    carry(&eng->early, &fresh.early, map, eng->set->nrules, set, 0);
    rules__alerts_rebind(&eng->alerts, fresh.firing, map, eng->set->nrules);
    state_free(eng);
    rules_set_free(eng->set);
    eng->set = set;
    eng->recent = fresh.recent;
    eng->threshold = fresh.threshold;
    eng->pending = fresh.pending;
    eng->early = fresh.early;
    eng->firing = fresh.firing;
    eng->memo = fresh.memo;
    eng->tags = fresh.tags;
    eng->next_deadline = INT64_MIN; /* recomputed at the next tick */
    free(map);
    configure(eng);
}

struct rule_set *rules_engine_set(const struct rules_engine *eng)
{
    return eng->set;
}

const struct rules_stats *rules_engine_stats(const struct rules_engine *eng)
{
    return &eng->stats;
}

void rules_engine_free(struct rules_engine *eng)
{
    if (eng == NULL) {
        return;
    }
    rules__alerts_free(&eng->alerts); /* first: it counts down the engine's firing counts */
    state_free(eng);
    rules__rollouts_free(eng->rollouts);
    rules_set_free(eng->set);
    free(eng);
}
