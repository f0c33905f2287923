/*
 * The alert table: one entry per fingerprint (alert name + key labels). Repeats of a firing
 * alert are counted and re-sent only after the repeat interval; a resolved notice repeats the
 * last firing alert with status resolved and ends_at.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "hash.h"
#include "rules_int.h"
#include "xmalloc.h"

/* The last alert sent for a fingerprint, kept to say "resolved" about it later. */
struct alert_state {
    struct alerts *owner;
    struct alert_state *fprev, *fnext; /* the owner's firing list, while firing */
    int firing;
    int scope;
    long rule; /* the rule whose firing count this alert is in, or -1 */
    int64_t starts_at;
    int64_t last_sent;
    uint64_t count;
    struct alert a;
    /* copies of the last alert's texts, all in strs (NULL: absent) */
    char *name, *class_name, *app, *service, *pod, *release, *summary, *hint, *evidence;
    char *strs; /* owned, reused from one alert to the next */
    size_t strs_cap;
};

static void state_strings_free(struct alert_state *st)
{
    free(st->strs);
    st->strs = NULL;
    st->strs_cap = 0;
}

static void firing_link(struct alert_state *st)
{
    struct alerts *al = st->owner;

    st->firing = 1;
    if (st->rule >= 0 && al->firing_by_rule != NULL) {
        al->firing_by_rule[st->rule]++;
    }
    st->fnext = NULL;
    st->fprev = al->firing_tail;
    if (al->firing_tail) {
        al->firing_tail->fnext = st;
    } else {
        al->firing_head = st;
    }
    al->firing_tail = st;
}

static void firing_unlink(struct alert_state *st)
{
    struct alerts *al = st->owner;

    if (!st->firing) {
        return;
    }
    st->firing = 0;
    if (st->rule >= 0 && al->firing_by_rule != NULL) {
        al->firing_by_rule[st->rule]--;
    }
    if (st->fprev) {
        st->fprev->fnext = st->fnext;
    } else {
        al->firing_head = st->fnext;
    }
    if (st->fnext) {
        st->fnext->fprev = st->fprev;
    } else {
        al->firing_tail = st->fprev;
    }
    st->fprev = st->fnext = NULL;
}

static void state_free(void *p)
{
    struct alert_state *st = p;

    firing_unlink(st); /* evicted while firing: the table was full */
    state_strings_free(st);
    free(st);
}

void rules__alerts_init(struct alerts *al, size_t cap, rules_alert_cb on_alert, void *arg,
                        struct rules_stats *stats)
{
    memset(al, 0, sizeof(*al));
    al->stats = stats;
    rules__kv_init(&al->table, cap, state_free);
    al->on_alert = on_alert;
    al->arg = arg;
}

void rules__alerts_free(struct alerts *al)
{
    rules__kv_free(&al->table);
}

static void fingerprint(const char *key, size_t n, char out[17])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t h = hash_fnv1a(key, n);

    for (int i = 15; i >= 0; i--, h >>= 4) {
        out[i] = hex[h & 15];
    }
    out[16] = '\0';
}

/* Appends s[0..n) and a NUL at *o in st->strs; returns the copy. */
static char *keep(struct alert_state *st, size_t *o, const char *s, size_t n)
{
    char *p = st->strs + *o;

    memcpy(p, s, n);
    p[n] = '\0';
    *o += n + 1;
    return p;
}

static char *keep_slice(struct alert_state *st, size_t *o, struct slice v)
{
    return v.p ? keep(st, o, v.p, v.len) : NULL;
}

/*
 * Keeps a copy of a (just sent) in st for a later resolved notice: one buffer for all of its
 * texts, reused, because an alert is sent for one line in ten of a bad rollout's log.
 */
static void remember(struct alert_state *st, const struct alert *a)
{
    struct slice ev = a->nevidence ? a->evidence[0] : SLICE_NONE;
    size_t need = a->rule_len + a->class_len + a->app.len + a->service.len + a->pod.len +
                  a->release.len + a->summary_len + a->hint_len + ev.len + 9,
           o = 0;

    if (need > st->strs_cap) {
        free(st->strs);
        st->strs_cap = need;
        st->strs = xmalloc(need);
    }
    st->name = keep(st, &o, a->rule, a->rule_len);
    st->class_name = a->class_name ? keep(st, &o, a->class_name, a->class_len) : NULL;
    st->app = keep_slice(st, &o, a->app);
    st->service = keep_slice(st, &o, a->service);
    st->pod = keep_slice(st, &o, a->pod);
    st->release = keep_slice(st, &o, a->release);
    st->summary = keep(st, &o, a->summary ? a->summary : "", a->summary_len);
    st->hint = keep(st, &o, a->hint ? a->hint : "", a->hint_len);
    st->evidence = keep_slice(st, &o, ev);
    st->a = *a;
}

int rules__alert_fire(struct alerts *al, const struct alert_spec *spec, const struct record *r,
                      const struct slice *evidence, size_t nev, int64_t at,
                      const struct tpl_ctx *ctx)
{
    char key[RULES_KEY_MAX];
    size_t name_len = strlen(spec->name);
    size_t klen = rules__make_key(key, spec->name, name_len, spec->key, spec->nkey, r);
    struct kv_entry *e = rules__kv_put(&al->table, key, klen, at);
    struct alert_state *st = e->val;
    const struct tpl *sum, *hint;
    struct tpl_ctx tc = {0};
    struct alert a;

    if (st == NULL) {
        st = e->val = xcalloc(1, sizeof(*st));
        st->owner = al;
    }
    if (st->firing && at - st->last_sent < al->repeat_ns) {
        st->count++;
        al->stats->alerts_suppressed++;
        return 0;
    }
    if (!st->firing) {
        /* a new episode: count and start time begin again */
        st->rule = spec->rule;
        firing_link(st);
        st->starts_at = at;
        st->count = 0;
    }
    st->count++;
    st->last_sent = at;
    st->scope = spec->scope;
    if (ctx != NULL) {
        tc = *ctx;
    }
    tc.class_name = spec->cls ? spec->cls->name : NULL;
    tc.rule = spec->name;
    if (ctx == NULL || ctx->count == 0) {
        tc.count = st->count;
    }
    memset(&a, 0, sizeof(a));
    a.status = ALERT_FIRING;
    a.severity = spec->severity;
    a.rule = spec->name;
    a.rule_len = name_len;
    a.class_name = tc.class_name;
    a.class_len = tc.class_name ? strlen(tc.class_name) : 0;
    a.app = r->app;
    a.service = r->service;
    a.pod = r->pod;
    a.release = r->release;
    sum = spec->summary && spec->summary->n ? spec->summary : spec->cls ? &spec->cls->summary : NULL;
    hint = spec->hint && spec->hint->n ? spec->hint : spec->cls ? &spec->cls->hint : NULL;
    al->summary[0] = al->hint[0] = '\0';
    if (sum) {
        a.summary_len = rules__tpl_render(sum, r, &tc, al->summary, sizeof(al->summary));
    }
    if (spec->hint_text) {
        size_t n = strlen(spec->hint_text);

        n = n < sizeof(al->hint) - 1 ? n : sizeof(al->hint) - 1;
        memcpy(al->hint, spec->hint_text, n);
        al->hint[n] = '\0';
        a.hint_len = n;
    } else if (hint) {
        a.hint_len = rules__tpl_render(hint, r, &tc, al->hint, sizeof(al->hint));
    }
    if (r->flags & REC_HAS_NUL) {
        /* a NUL from the line ends the text, as every sink reads it */
        a.summary_len = strlen(al->summary);
        a.hint_len = strlen(al->hint);
    }
    a.summary = al->summary;
    a.hint = al->hint;
    a.starts_at = st->starts_at;
    a.count = st->count;
    fingerprint(key, klen, a.fingerprint);
    if (evidence != NULL) {
        for (size_t i = 0; i < nev && a.nevidence < ALERT_MAX_EVIDENCE; i++) {
            a.evidence[a.nevidence++] = evidence[i];
        }
    } else if (r->line.p != NULL) {
        a.evidence[a.nevidence++] = r->line;
    }
    remember(st, &a);
    al->stats->alerts_fired++;
    if (al->on_alert) {
        al->on_alert(al->arg, &a);
    }
    return 1;
}

static void send_resolved(struct alerts *al, struct alert_state *st, int64_t at)
{
    struct alert a = st->a; /* the lengths are the copies' too */

    firing_unlink(st);
    a.status = ALERT_RESOLVED;
    a.rule = st->name;
    a.class_name = st->class_name;
    a.app = (struct slice){st->app, st->a.app.len};
    a.service = (struct slice){st->service, st->a.service.len};
    a.pod = (struct slice){st->pod, st->a.pod.len};
    a.release = (struct slice){st->release, st->a.release.len};
    a.summary = st->summary;
    a.hint = st->hint;
    a.starts_at = st->starts_at;
    a.ends_at = at > st->starts_at ? at : st->starts_at;
    a.count = st->count;
    a.nevidence = 0;
    if (st->evidence) {
        a.evidence[a.nevidence++] = (struct slice){st->evidence, st->a.evidence[0].len};
    }
    al->stats->alerts_resolved++;
    if (al->on_alert) {
        al->on_alert(al->arg, &a);
    }
}

void rules__alert_resolve_key(struct alerts *al, const char *name, const int *key, size_t nkey,
                              const struct record *r, int64_t at)
{
    char k[RULES_KEY_MAX];
    size_t klen = rules__make_key(k, name, strlen(name), key, nkey, r);
    struct kv_entry *e = rules__kv_get(&al->table, k, klen);

    if (e != NULL && ((struct alert_state *)e->val)->firing) {
        send_resolved(al, e->val, at);
    }
}

void rules__alert_resolve_scope(struct alerts *al, struct slice app, int scope, int64_t at)
{
    struct alert_state *st, *next;

    /* oldest first, so notices come out in the order the alerts began */
    for (st = al->firing_head; st != NULL; st = next) {
        struct slice sa = {st->app, st->a.app.len};

        next = st->fnext;
        if (st->scope == scope && sa.len == app.len &&
            (app.len == 0 || memcmp(sa.p, app.p, app.len) == 0)) {
            send_resolved(al, st, at);
        }
    }
}

void rules__alerts_rebind(struct alerts *al, uint32_t *counts, const long *map, size_t nold)
{
    for (struct kv_entry *e = al->table.head; e != NULL; e = e->lnext) {
        struct alert_state *st = e->val;

        if (st->rule >= 0) {
            st->rule = (size_t)st->rule < nold ? map[st->rule] : -1;
        }
        if (st->firing && st->rule >= 0) {
            counts[st->rule]++;
        }
    }
    al->firing_by_rule = counts;
}

void rules__alerts_expire(struct alerts *al, int64_t cutoff, int64_t now)
{
    struct kv_entry *e;

    /*
     * A resolved alert is forgotten. A firing one stays (its resolve may still come) and is
     * looked at again only after another expiry period, so a pile of alerts that never resolve
     * costs nothing per record.
     */
    while ((e = al->table.tail) != NULL && e->touched < cutoff) {
        if (((struct alert_state *)e->val)->firing) {
            e->touched = now;
            rules__kv_touch(&al->table, e);
        } else {
            rules__kv_del(&al->table, e);
        }
    }
}
