/* The engine: per record, match rules tag it, threshold and expect rules keep keyed state,
 * and alerts are deduplicated by fingerprint on the event-time clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "rules_int.h"
#include "xmalloc.h"

#define KEY_MAX 2048
#define EVIDENCE_MAX_BYTES 2048
#define EXPECT_EARLY_NS (10LL * 1000000000LL) /* B up to this long before A still counts */
#define DEFAULT_REPEAT_NS (3600LL * 1000000000LL)
#define DEFAULT_MAX_STATE 65536
#define SUMMARY_MAX 1024
#define HINT_MAX 4096

/* A copy of what an alert needs from a record that is gone by the time it fires. */
struct snap {
    char *app, *service, *pod, *release; /* owned, may be NULL */
    char *line;
    size_t line_len;
    int64_t ts;
};

struct threshold_state {
    int64_t *ts; /* ring of the last `count` match times */
    uint32_t n, head;
    struct snap ev[ALERT_MAX_EVIDENCE]; /* the newest matching lines */
    uint32_t nev;
};

struct expect_state {
    const struct rule *rule;
    int64_t deadline;
    struct snap a; /* the record that started the wait */
};

struct alert_state {
    int64_t starts_at;
    int64_t last_sent;
    uint64_t count;
};

struct rules_engine {
    struct rule_set *set; /* owned */
    struct rules_opts opts;
    rules_alert_cb on_alert;
    void *arg;
    int64_t now; /* event clock: never goes back */
    int have_now;
    struct kv recent;    /* rule + key -> last time its tag was seen (entry->touched) */
    struct kv threshold; /* rule + key -> struct threshold_state */
    struct kv pending;   /* rule + key -> struct expect_state */
    struct kv early;     /* rule + key -> time B was seen with no A waiting */
    struct kv alerts;    /* fingerprint -> struct alert_state */
    int64_t next_deadline;
    int64_t max_window;
    int64_t max_recent;
    struct rules_stats stats;
    char summary[SUMMARY_MAX];
    char hint[HINT_MAX];
};

/* ---- snapshots --------------------------------------------------------------------------- */

static char *dup_slice(struct slice s)
{
    return s.p ? xstrndup(s.p, s.len) : NULL;
}

static void snap_take(struct snap *s, const struct record *r)
{
    size_t n = r->line.len < EVIDENCE_MAX_BYTES ? r->line.len : EVIDENCE_MAX_BYTES;

    s->app = dup_slice(r->app);
    s->service = dup_slice(r->service);
    s->pod = dup_slice(r->pod);
    s->release = dup_slice(r->release);
    s->line = xstrndup(r->line.p ? r->line.p : "", n);
    s->line_len = n;
    s->ts = r->ts_ns;
}

static void snap_free(struct snap *s)
{
    free(s->app);
    free(s->service);
    free(s->pod);
    free(s->release);
    free(s->line);
    memset(s, 0, sizeof(*s));
}

static struct slice str_slice(const char *s)
{
    return s ? (struct slice){s, strlen(s)} : SLICE_NONE;
}

static void threshold_free(void *p)
{
    struct threshold_state *t = p;

    for (uint32_t i = 0; i < t->nev; i++) {
        snap_free(&t->ev[i]);
    }
    free(t->ts);
    free(t);
}

static void expect_free(void *p)
{
    struct expect_state *x = p;

    snap_free(&x->a);
    free(x);
}

/* ---- keys and fingerprints ------------------------------------------------------------- */

/* The state-key prefix of rule number i ("r<i>"): cheaper than snprintf per record. */
static void rule_tag(char out[24], size_t i)
{
    char tmp[24];
    size_t n = 0, o = 0;

    do {
        tmp[n++] = (char)('0' + i % 10);
        i /= 10;
    } while (i > 0);
    out[o++] = 'r';
    while (n > 0) {
        out[o++] = tmp[--n];
    }
    out[o] = '\0';
}

/* "<tag>\x1f<v1>\x1f<v2>..." with \x1e for an absent value. Returns the length. */
static size_t make_key(char *buf, const char *tag, const int *fields, size_t nf,
                       const struct record *r)
{
    size_t o = strlen(tag);

    if (o > KEY_MAX / 2) {
        o = KEY_MAX / 2;
    }
    memcpy(buf, tag, o);

    for (size_t i = 0; i < nf && o + 2 < KEY_MAX; i++) {
        struct slice v = record_field_get(r, fields[i]);

        buf[o++] = '\x1f';
        if (v.p == NULL) {
            buf[o++] = '\x1e';
        } else {
            size_t n = v.len < KEY_MAX - o - 1 ? v.len : KEY_MAX - o - 1;

            memcpy(buf + o, v.p, n);
            o += n;
        }
    }
    return o;
}

static void fingerprint(const char *key, size_t n, char out[17])
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ULL;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* ---- alerts -------------------------------------------------------------------------------- */

static const char *alert_name(const struct rule *rule)
{
    return rule->alert_name ? rule->alert_name : rule->id;
}

/*
 * Raises rule's alert for r (the record that caused it; for expect rules a record rebuilt
 * from the snapshot). Repeats of a firing fingerprint within the repeat interval are counted,
 * not sent.
 */
static void fire(struct rules_engine *eng, const struct rule *rule, const struct record *r,
                 const struct snap *ev, size_t nev, int64_t at)
{
    char key[KEY_MAX];
    const char *name = alert_name(rule);
    size_t klen = make_key(key, name, rule->alert_key, rule->nalert_key, r);
    struct kv_entry *e = rules__kv_put(&eng->alerts, key, klen, at);
    struct alert_state *st = e->val;
    const struct tpl *sum, *hint;
    const char *cls = rule->cls ? rule->cls->name : NULL;
    uint64_t tpl_count;
    struct alert a;

    if (st == NULL) {
        st = e->val = xcalloc(1, sizeof(*st));
        st->starts_at = at;
    } else if (at - st->last_sent < eng->opts.repeat_interval_ns) {
        st->count++;
        eng->stats.alerts_suppressed++;
        return;
    }
    st->count++;
    st->last_sent = at;
    /* {{count}}: how many matches made a threshold fire; else how often this alert fired */
    tpl_count = rule->type == RULE_THRESHOLD ? rule->count : st->count;
    memset(&a, 0, sizeof(a));
    a.status = ALERT_FIRING;
    a.severity = rule->has_severity ? rule->severity
                 : rule->cls       ? rule->cls->severity
                                   : SEVERITY_WARNING;
    a.rule = name;
    a.class_name = cls;
    a.app = r->app;
    a.service = r->service;
    a.pod = r->pod;
    a.release = r->release;
    sum = rule->summary.n ? &rule->summary : rule->cls ? &rule->cls->summary : NULL;
    hint = rule->hint.n ? &rule->hint : rule->cls ? &rule->cls->hint : NULL;
    eng->summary[0] = eng->hint[0] = '\0';
    if (sum) {
        rules__tpl_render(sum, r, cls, tpl_count, name, eng->summary, sizeof(eng->summary));
    }
    if (hint) {
        rules__tpl_render(hint, r, cls, tpl_count, name, eng->hint, sizeof(eng->hint));
    }
    a.summary = eng->summary;
    a.hint = eng->hint;
    a.starts_at = st->starts_at;
    a.count = st->count;
    fingerprint(key, klen, a.fingerprint);
    if (ev != NULL) {
        for (size_t i = 0; i < nev && a.nevidence < ALERT_MAX_EVIDENCE; i++) {
            a.evidence[a.nevidence++] = (struct slice){ev[i].line, ev[i].line_len};
        }
    } else if (r->line.p != NULL) {
        a.evidence[a.nevidence++] = r->line;
    }
    eng->stats.alerts_fired++;
    if (eng->on_alert) {
        eng->on_alert(eng->arg, &a);
    }
}

/* A record standing in for a snapshot when an expect rule fires on time alone. */
static void snap_record(const struct snap *s, struct record *r)
{
    memset(r, 0, sizeof(*r));
    r->app = str_slice(s->app);
    r->service = str_slice(s->service);
    r->pod = str_slice(s->pod);
    r->release = str_slice(s->release);
    r->line = (struct slice){s->line, s->line_len};
    r->ts_ns = s->ts;
    r->ts_src = TS_OWN;
}

/* ---- time -------------------------------------------------------------------------------- */

static void fire_due(struct rules_engine *eng)
{
    int64_t next = INT64_MAX;
    struct kv_entry *e, *prev;

    if (eng->now < eng->next_deadline) {
        return;
    }
    /* oldest first, so alerts come out in the order their waits began */
    for (e = eng->pending.tail; e != NULL; e = prev) {
        struct expect_state *x = e->val;

        prev = e->lprev;
        if (x->deadline <= eng->now) {
            struct record r;

            snap_record(&x->a, &r);
            fire(eng, x->rule, &r, &x->a, 1, x->deadline);
            rules__kv_del(&eng->pending, e);
        } else if (x->deadline < next) {
            next = x->deadline;
        }
    }
    eng->next_deadline = next;
}

static void advance(struct rules_engine *eng, int64_t t)
{
    if (!eng->have_now || t > eng->now) {
        eng->now = t;
        eng->have_now = 1;
    }
    fire_due(eng);
    rules__kv_expire(&eng->threshold, eng->now - eng->max_window);
    rules__kv_expire(&eng->recent, eng->now - eng->max_recent);
    rules__kv_expire(&eng->early, eng->now - EXPECT_EARLY_NS);
    rules__kv_expire(&eng->alerts, eng->now - 2 * eng->opts.repeat_interval_ns);
}

void rules_advance(struct rules_engine *eng, int64_t now_ns)
{
    advance(eng, now_ns);
}

/* ---- rule kinds ------------------------------------------------------------------------------ */

static int recent_holds(struct rules_engine *eng, const struct rule *rule, size_t idx,
                        const struct record *r)
{
    char key[KEY_MAX], tag[24];
    size_t klen;
    struct kv_entry *e;

    rule_tag(tag, idx);
    klen = make_key(key, tag, rule->recent_key, rule->recent_nkey, r);
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
        char key[KEY_MAX], idx[24];
        size_t klen;

        if (!slice_eq(tag, rule->recent_tag)) {
            continue;
        }
        rule_tag(idx, i);
        klen = make_key(key, idx, rule->recent_key, rule->recent_nkey, r);
        rules__kv_put(&eng->recent, key, klen, r->ts_ns);
    }
}

static void eval_match(struct rules_engine *eng, const struct rule *rule, size_t idx,
                       struct record *r)
{
    if ((rule->event && r->event.p) || (rule->cls && r->class_name.p)) {
        return; /* first tag wins */
    }
    if (!rules__when_match(eng->set, &rule->when, r, &eng->stats)) {
        return;
    }
    if (rule->recent_tag && !recent_holds(eng, rule, idx, r)) {
        return;
    }
    if (rule->event) {
        r->event = str_slice(rule->event);
    }
    if (rule->cls) {
        r->class_name = str_slice(rule->cls->name);
    }
    if (rule->alert) {
        fire(eng, rule, r, NULL, 0, r->ts_ns);
    }
}

static void eval_threshold(struct rules_engine *eng, const struct rule *rule, size_t idx,
                           struct record *r)
{
    char key[KEY_MAX], tag[24];
    size_t klen;
    struct kv_entry *e;
    struct threshold_state *t;
    int64_t oldest;

    if (!rules__when_match(eng->set, &rule->when, r, &eng->stats)) {
        return;
    }
    rule_tag(tag, idx);
    klen = make_key(key, tag, rule->key, rule->nkey, r);
    e = rules__kv_put(&eng->threshold, key, klen, r->ts_ns);
    t = e->val;
    if (t == NULL) {
        t = e->val = xcalloc(1, sizeof(*t));
        t->ts = xcalloc(rule->count, sizeof(*t->ts));
    }
    t->ts[t->head] = r->ts_ns;
    t->head = (t->head + 1) % rule->count;
    if (t->n < rule->count) {
        t->n++;
    }
    if (t->nev == ALERT_MAX_EVIDENCE) {
        snap_free(&t->ev[0]);
        memmove(&t->ev[0], &t->ev[1], (ALERT_MAX_EVIDENCE - 1) * sizeof(t->ev[0]));
        t->nev--;
    }
    snap_take(&t->ev[t->nev++], r);
    if (t->n < rule->count) {
        return;
    }
    /* the ring is full: its oldest entry is at head; all within the window? */
    oldest = t->ts[t->head];
    for (uint32_t i = 0; i < rule->count; i++) {
        if (t->ts[i] < oldest) {
            oldest = t->ts[i]; /* out-of-order lines: use the true minimum */
        }
    }
    if (r->ts_ns - oldest <= rule->window_ns) {
        fire(eng, rule, r, t->ev, t->nev, r->ts_ns);
        rules__kv_del(&eng->threshold, e); /* start counting afresh */
    }
}

static void eval_expect(struct rules_engine *eng, const struct rule *rule, size_t idx,
                        struct record *r)
{
    char key[KEY_MAX], tag[24];
    size_t klen;
    struct kv_entry *e;

    rule_tag(tag, idx);
    if (rules__when_match(eng->set, &rule->then, r, &eng->stats)) {
        klen = make_key(key, tag, rule->key, rule->nkey, r);
        e = rules__kv_get(&eng->pending, key, klen);
        if (e != NULL) {
            rules__kv_del(&eng->pending, e);
        } else {
            rules__kv_put(&eng->early, key, klen, r->ts_ns);
        }
        return;
    }
    if (!rules__when_match(eng->set, &rule->when, r, &eng->stats)) {
        return;
    }
    klen = make_key(key, tag, rule->key, rule->nkey, r);
    e = rules__kv_get(&eng->early, key, klen);
    if (e != NULL && e->touched >= r->ts_ns - EXPECT_EARLY_NS) {
        rules__kv_del(&eng->early, e); /* B came first, within the reorder slack */
        return;
    }
    e = rules__kv_put(&eng->pending, key, klen, r->ts_ns);
    if (e->val == NULL) {
        struct expect_state *x = xcalloc(1, sizeof(*x));

        x->rule = rule;
        x->deadline = r->ts_ns + rule->window_ns;
        snap_take(&x->a, r);
        e->val = x;
        if (x->deadline < eng->next_deadline) {
            eng->next_deadline = x->deadline;
        }
    }
}

void rules_eval(struct rules_engine *eng, struct record *r)
{
    const struct rule_set *set = eng->set;

    eng->stats.records++;
    if (r->ts_src != TS_NONE) {
        advance(eng, r->ts_ns);
    }
    for (size_t j = 0; j < set->nby_kind[r->kind]; j++) {
        size_t i = set->by_kind[r->kind][j];
        const struct rule *rule = &set->rules[i];

        if (rule->has_first) {
            unsigned char b;

            if (r->message.p == NULL || r->message.len == 0) {
                continue;
            }
            b = (unsigned char)r->message.p[0];
            if (!((rule->first[b >> 6] >> (b & 63)) & 1)) {
                continue;
            }
        }

        switch (rule->type) {
        case RULE_MATCH:
            eval_match(eng, rule, i, r);
            break;
        case RULE_THRESHOLD:
            eval_threshold(eng, rule, i, r);
            break;
        case RULE_EXPECT:
            eval_expect(eng, rule, i, r);
            break;
        }
    }
    eng->stats.tagged_event += r->event.p != NULL;
    eng->stats.tagged_class += r->class_name.p != NULL;
    if (set->nrecent_rules > 0 && (r->event.p || r->class_name.p)) {
        note_recent(eng, r);
    }
}

/* ---- lifetime ---------------------------------------------------------------------------- */

static void windows(struct rules_engine *eng)
{
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
}

static void state_init(struct rules_engine *eng)
{
    size_t cap = eng->opts.max_state;

    rules__kv_init(&eng->recent, cap, NULL);
    rules__kv_init(&eng->threshold, cap, threshold_free);
    rules__kv_init(&eng->pending, cap, expect_free);
    rules__kv_init(&eng->early, cap, NULL);
    eng->next_deadline = INT64_MAX;
}

static void state_free(struct rules_engine *eng)
{
    eng->stats.state_evicted += eng->recent.evicted + eng->threshold.evicted +
                                eng->pending.evicted + eng->early.evicted;
    rules__kv_free(&eng->recent);
    rules__kv_free(&eng->threshold);
    rules__kv_free(&eng->pending);
    rules__kv_free(&eng->early);
}

struct rules_engine *rules_engine_new(struct rule_set *set, const struct rules_opts *opts,
                                      rules_alert_cb on_alert, void *arg)
{
    struct rules_engine *eng = xcalloc(1, sizeof(*eng));

    if (opts != NULL) {
        eng->opts = *opts;
    }
    if (eng->opts.repeat_interval_ns <= 0) {
        eng->opts.repeat_interval_ns = DEFAULT_REPEAT_NS;
    }
    if (eng->opts.max_state == 0) {
        eng->opts.max_state = DEFAULT_MAX_STATE;
    }
    eng->set = set;
    eng->on_alert = on_alert;
    eng->arg = arg;
    state_init(eng);
    rules__kv_init(&eng->alerts, eng->opts.max_state, free);
    windows(eng);
    return eng;
}

void rules_engine_swap(struct rules_engine *eng, struct rule_set *set)
{
    /* keyed state points into the old rules (indices, expect_state.rule): drop it */
    state_free(eng);
    rules_set_free(eng->set);
    eng->set = set;
    state_init(eng);
    windows(eng);
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
    state_free(eng);
    rules__kv_free(&eng->alerts);
    rules_set_free(eng->set);
    free(eng);
}
