/* The DESIGN §6 JSON objects (alert, rollout), shared by stdout and the generic webhook. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "rollout.h"
#include "sink_int.h"
#include "text.h"
#include "xmalloc.h"

/* "" lit: only a string literal compiles here (sizeof of a pointer would copy garbage) */
#define LIT(b, lit) sink__buf_add((b), "" lit, sizeof(lit) - 1)

static void add_cstr(struct sink__buf *b, const char *s)
{
    sink__buf_add(b, s, strlen(s));
}

/* v in decimal; tmp: at least 21 bytes of the caller's. */
static void add_u64(struct sink__buf *b, uint64_t v, char *tmp)
{
    sink__buf_add(b, tmp, text_put_u64(tmp, 21, 0, v, 1));
}

/* The event time ns as RFC 3339 text: the buffer's cache (start and end repeat). */
#define ts_of(ns, lenp) sink__buf_ts(b, (ns), (lenp))

static void json_slice_or_null(struct sink__buf *b, struct slice v)
{
    if (v.p != NULL) {
        sink__json_str(b, v.p, v.len, 1);
    } else {
        LIT(b, "null");
    }
}

/* v (n bytes, NUL-terminated) as a JSON string, or null when v is NULL */
static void json_sized_or_null(struct sink__buf *b, const char *v, size_t n)
{
    if (v != NULL) {
        sink__json_str(b, v, n, 1);
    } else {
        LIT(b, "null");
    }
}

void sink__json_cstr_or_null(struct sink__buf *b, const char *v)
{
    if (v != NULL) {
        sink__json_str(b, v, strlen(v), 1);
    } else {
        LIT(b, "null");
    }
}

/* "rule" to "starts_at" of the alert object: what a resolved notice repeats */
static void alert_json_mid(struct sink__buf *b, const struct alert *a)
{
    size_t n;
    const char *t;

    LIT(b, "\",\"rule\":");
    sink__json_str(b, a->rule, a->rule_len, 1);
    LIT(b, ",\"class\":");
    json_sized_or_null(b, a->class_name, a->class_len);
    LIT(b, ",\"severity\":\"");
    add_cstr(b, alert_severity_name(a->severity));
    LIT(b, "\",\"app\":");
    json_slice_or_null(b, a->app);
    LIT(b, ",\"service\":");
    json_slice_or_null(b, a->service);
    LIT(b, ",\"pod\":");
    json_slice_or_null(b, a->pod);
    LIT(b, ",\"release\":");
    json_slice_or_null(b, a->release);
    LIT(b, ",\"summary\":");
    json_sized_or_null(b, a->summary, a->summary_len);
    LIT(b, ",\"hint\":");
    json_sized_or_null(b, a->hint, a->hint_len);
    t = ts_of(a->starts_at, &n);
    LIT(b, ",\"starts_at\":\"");
    sink__buf_add(b, t, n);
}

/* The slot of a fingerprint (16 hex digits of a hash): its last three digits. */
static struct sink__alert_memo_slot *memo_slot(struct sink__alert_memo *memo, const char *fp)
{
    unsigned h = 0;

    for (int i = 13; i < 16 && fp[i] != '\0'; i++) {
        unsigned char c = (unsigned char)fp[i];

        h = h * 16 + (c >= 'a' ? (unsigned)(c - 'a' + 10) : (unsigned)(c - '0'));
    }
    return &memo->slot[h % SINK_ALERT_MEMO_SLOTS];
}

void sink__alert_json_memo(struct sink__buf *b, const struct alert *a,
                           struct sink__alert_memo *memo)
{
    char num[32];
    size_t n, mid;
    const char *t;
    struct sink__alert_memo_slot *m = memo != NULL ? memo_slot(memo, a->fingerprint) : NULL;

    LIT(b, "{\"type\":\"alert\",\"status\":\"");
    add_cstr(b, alert_status_name(a->status));
    mid = b->len;
    if (m != NULL && a->status == ALERT_RESOLVED && m->json != NULL &&
        strcmp(m->fingerprint, a->fingerprint) == 0) {
        sink__buf_add(b, m->json, m->len);
    } else {
        alert_json_mid(b, a);
        if (m != NULL && a->status == ALERT_FIRING) {
            n = b->len - mid;
            if (n > m->cap) {
                free(m->json);
                m->cap = n;
                m->json = xmalloc(n);
            }
            memcpy(m->json, b->p + mid, n);
            m->len = n;
            memcpy(m->fingerprint, a->fingerprint, sizeof(m->fingerprint));
        }
    }
    LIT(b, "\",\"ends_at\":");
    if (a->ends_at != 0) {
        t = ts_of(a->ends_at, &n);
        LIT(b, "\"");
        sink__buf_add(b, t, n);
        LIT(b, "\"");
    } else {
        LIT(b, "null");
    }
    LIT(b, ",\"fingerprint\":\"");
    add_cstr(b, a->fingerprint);
    LIT(b, "\",\"count\":");
    add_u64(b, a->count, num);
    LIT(b, ",\"evidence\":[");
    for (size_t i = 0; i < a->nevidence; i++) {
        if (i > 0) {
            LIT(b, ",");
        }
        sink__json_str(b, a->evidence[i].p, a->evidence[i].len, 1);
    }
    LIT(b, "]}\n");
}

void sink__alert_json(struct sink__buf *b, const struct alert *a)
{
    sink__alert_json_memo(b, a, NULL);
}

void sink__alert_memo_free(struct sink__alert_memo *memo)
{
    if (memo == NULL) {
        return;
    }
    for (size_t i = 0; i < SINK_ALERT_MEMO_SLOTS; i++) {
        free(memo->slot[i].json);
    }
    free(memo);
}

static void json_str_list(struct sink__buf *b, const char *const *v, size_t n)
{
    LIT(b, "[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            LIT(b, ",");
        }
        sink__json_str(b, v[i], strlen(v[i]), 1);
    }
    LIT(b, "]");
}

void sink__rollout_json(struct sink__buf *b, const struct rollout_event *ev)
{
    char num[64];
    int64_t secs;
    size_t n;
    const char *t;

    LIT(b, "{\"type\":\"rollout\",\"app\":");
    /* an app no line named is unknown: null, as in the alert object, not "" */
    sink__json_cstr_or_null(b, ev->app[0] ? ev->app : NULL);
    LIT(b, ",\"release\":");
    sink__json_cstr_or_null(b, ev->release);
    LIT(b, ",\"status\":\"");
    add_cstr(b, rollout_status_name(ev->status));
    t = ts_of(ev->at, &n);
    LIT(b, "\",\"at\":\"");
    sink__buf_add(b, t, n);
    t = ts_of(ev->started_at, &n);
    LIT(b, "\",\"started_at\":\"");
    sink__buf_add(b, t, n);
    LIT(b, "\",\"duration_s\":");
    secs = (ev->at - ev->started_at) / 1000000000LL;
    if (secs < 0) {
        LIT(b, "-");
    }
    add_u64(b, (uint64_t)(secs < 0 ? -secs : secs), num);
    if (!ev->start_seen) {
        LIT(b, ",\"start_seen\":false");
    }
    LIT(b, ",\"transitions\":");
    json_str_list(b, ev->transitions, ev->ntransitions);
    LIT(b, ",\"services\":");
    json_str_list(b, ev->services, ev->nservices);
    LIT(b, ",\"pods\":");
    json_str_list(b, ev->pods, ev->npods);
    LIT(b, ",\"failures\":{");
    for (size_t i = 0; i < ev->nfailures; i++) {
        if (i > 0) {
            LIT(b, ",");
        }
        sink__json_str(b, ev->failures[i].class_name, strlen(ev->failures[i].class_name), 1);
        LIT(b, ":");
        add_u64(b, ev->failures[i].count, num);
    }
    LIT(b, "},\"evidence\":{");
    for (size_t i = 0; i < ev->nfailures; i++) {
        if (i > 0) {
            LIT(b, ",");
        }
        sink__json_str(b, ev->failures[i].class_name, strlen(ev->failures[i].class_name), 1);
        LIT(b, ":");
        sink__json_cstr_or_null(b, ev->failures[i].evidence);
    }
    LIT(b, "},\"diagnosis\":");
    sink__json_str(b, ev->diagnosis, strlen(ev->diagnosis), 1);
    LIT(b, "}\n");
}

