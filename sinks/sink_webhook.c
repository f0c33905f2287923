/*
 * Webhooks that lose nothing: each alert or rollout becomes a spooled delivery per URL, sent
 * in order, one at a time, retried with capped exponential backoff and full jitter on transport
 * errors, 408, 429 (Retry-After honoured) and 5xx; other 4xx go to the dead-letter file.
 * Formats: generic (DESIGN §6 JSON), slack (incoming webhook), alertmanager (API v2 alerts,
 * re-sent while firing and for 5 minutes after resolving, as Alertmanager expects).
 */
#define _GNU_SOURCE /* strptime, timegm */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "hash.h"
#include "log.h"
#include "sink_int.h"
#include "sinks.h"
#include "xmalloc.h"

/* "" lit: only a string literal compiles here (sizeof of a pointer would copy garbage) */
#define LIT(b, lit) sink__buf_add((b), "" lit, sizeof(lit) - 1)
#define AM_RESOLVED_RESEND_MS (5 * 60 * 1000) /* resolved alerts: re-sent for this long */
#define AM_MAX_ACTIVE 4096
#define RETRY_AFTER_MAX_MS (3600 * 1000)

struct am_alert {
    char fingerprint[17];
    char *obj; /* owned: the postable alert object, JSON */
    int firing;
    uint64_t resolved_ms; /* uv_now when resolved */
};

struct webhook {
    struct sink_webhooks *owner;
    char *url;
    char name[96]; /* for logs and metrics: format and host */
    enum webhook_format fmt;
    struct sink__spool spool;
    int in_flight;
    int waiting; /* for the retry timer */
    uint32_t attempt;
    uv_timer_t retry;
    struct sink_webhook_stats stats;
    struct am_alert *am; /* alertmanager: what it should keep hearing about */
    size_t nam;
};

struct sink_webhooks {
    uv_loop_t *loop;
    struct sink__curl api;   /* libcurl and HMAC, loaded by sink_webhooks_new */
    struct sink__http *http; /* owned */
    struct sink_webhook_opts opts;
    char *state_dir;     /* owned, may be NULL */
    char *secret;        /* owned, may be NULL: never logged */
    size_t secret_len;
    struct webhook **hooks;
    size_t n;
    uint64_t rng; /* xorshift64*, seeded once from the OS */
    uv_timer_t resend; /* alertmanager re-sends */
    int closing;
    size_t pending_closes;
    void (*closed)(void *);
    void *closed_arg;
};

/* ---- small helpers ------------------------------------------------------------------------ */

static uint64_t rnd(struct sink_webhooks *ws)
{
    ws->rng ^= ws->rng >> 12;
    ws->rng ^= ws->rng << 25;
    ws->rng ^= ws->rng >> 27;
    return ws->rng * 2685821657736338717ULL;
}

static void new_id(struct sink_webhooks *ws, char out[33])
{
    unsigned char b[16];

    /* delivery ids must not repeat across restarts: from the OS, not the jitter PRNG */
    if (uv_random(NULL, NULL, b, sizeof(b), 0, NULL) != 0) {
        uint64_t a = rnd(ws), c = rnd(ws);

        memcpy(b, &a, 8);
        memcpy(b + 8, &c, 8);
    }
    for (int i = 0; i < 16; i++) {
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    }
}

static void ts_json(struct sink__buf *b, int64_t ns)
{
    char t[48];
    size_t n = clock_format_rfc3339(ns, t, sizeof(t));

    LIT(b, "\"");
    sink__buf_add(b, t, n);
    LIT(b, "\"");
}

static void add_cstr(struct sink__buf *b, const char *s)
{
    sink__buf_add(b, s, strlen(s));
}

static void json_slice(struct sink__buf *b, struct slice v)
{
    sink__json_str(b, v.p ? v.p : "", v.p ? v.len : 0, 1);
}

/* Slack mrkdwn: &, < and > are control characters there. */
static void slack_escape(struct sink__buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '&') {
            LIT(out, "&amp;");
        } else if (s[i] == '<') {
            LIT(out, "&lt;");
        } else if (s[i] == '>') {
            LIT(out, "&gt;");
        } else {
            sink__buf_add(out, s + i, 1);
        }
    }
}

/* ---- bodies ------------------------------------------------------------------------------- */

static void body_slack_alert(struct sink__buf *b, const struct alert *a)
{
    struct sink__buf t, blk;
    const char *icon = a->status == ALERT_RESOLVED              ? ":white_check_mark:"
                       : a->severity == SEVERITY_CRITICAL       ? ":red_circle:"
                       : a->severity == SEVERITY_WARNING        ? ":warning:"
                                                                : ":information_source:";

    sink__buf_init(&t, 512);
    sink__buf_init(&blk, 1024);
    add_cstr(&t, a->status == ALERT_RESOLVED ? "[RESOLVED] " : "[FIRING] ");
    add_cstr(&t, alert_severity_name(a->severity));
    LIT(&t, " ");
    add_cstr(&t, a->class_name ? a->class_name : a->rule);
    LIT(&t, " ");
    sink__buf_add(&t, a->app.p ? a->app.p : "-", a->app.p ? a->app.len : 1);
    LIT(&t, ": ");
    add_cstr(&t, a->summary ? a->summary : "");
    LIT(b, "{\"text\":");
    sink__json_str(b, t.p, t.len, 1);
    LIT(b, ",\"blocks\":[{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":");
    add_cstr(&blk, icon);
    LIT(&blk, " *");
    slack_escape(&blk, t.p, t.len);
    LIT(&blk, "*");
    if (a->hint && a->hint[0] && a->status == ALERT_FIRING) {
        LIT(&blk, "\n");
        slack_escape(&blk, a->hint, strlen(a->hint));
    }
    sink__json_str(b, blk.p, blk.len, 1);
    LIT(b, "}}");
    if (a->nevidence > 0) {
        blk.len = 0;
        LIT(&blk, "```");
        for (size_t i = 0; i < a->nevidence && i < 3; i++) {
            slack_escape(&blk, a->evidence[i].p, a->evidence[i].len < 500 ? a->evidence[i].len : 500);
            LIT(&blk, "\n");
        }
        LIT(&blk, "```");
        LIT(b, ",{\"type\":\"context\",\"elements\":[{\"type\":\"mrkdwn\",\"text\":");
        sink__json_str(b, blk.p, blk.len, 1);
        LIT(b, "}]}");
    }
    LIT(b, "]}");
    sink__buf_free(&t);
    sink__buf_free(&blk);
}

static void body_slack_rollout(struct sink__buf *b, const struct rollout_event *ev)
{
    struct sink__buf t;
    char num[64];

    sink__buf_init(&t, 512);
    LIT(&t, "Rollout ");
    add_cstr(&t, ev->app[0] ? ev->app : "-");
    if (ev->release) {
        LIT(&t, " ");
        add_cstr(&t, ev->release);
    }
    LIT(&t, " ");
    add_cstr(&t, rollout_status_name(ev->status));
    if (ev->status != ROLLOUT_STARTED) {
        snprintf(num, sizeof(num), " after %llds",
                 (long long)((ev->at - ev->started_at) / 1000000000LL));
        add_cstr(&t, num);
    }
    if (ev->diagnosis[0]) {
        LIT(&t, ": ");
        add_cstr(&t, ev->diagnosis);
    }
    LIT(b, "{\"text\":");
    sink__json_str(b, t.p, t.len, 1);
    LIT(b, "}");
    sink__buf_free(&t);
}

/* One postable alert of Alertmanager's API v2 (labels identify it; annotations describe). */
static void am_object(struct sink__buf *b, const struct alert *a)
{
    LIT(b, "{\"labels\":{\"alertname\":");
    sink__json_str(b, a->rule, strlen(a->rule), 1);
    if (a->app.p && a->app.len) {
        LIT(b, ",\"app\":");
        json_slice(b, a->app);
    }
    if (a->service.p && a->service.len) {
        LIT(b, ",\"service\":");
        json_slice(b, a->service);
    }
    if (a->class_name) {
        LIT(b, ",\"class\":");
        sink__json_str(b, a->class_name, strlen(a->class_name), 1);
    }
    LIT(b, ",\"severity\":\"");
    add_cstr(b, alert_severity_name(a->severity));
    /* two rollwatch replicas compute the same fingerprint: Alertmanager merges them */
    LIT(b, "\",\"rollwatch_fingerprint\":\"");
    add_cstr(b, a->fingerprint);
    LIT(b, "\"},\"annotations\":{\"summary\":");
    sink__json_cstr_or_null(b, a->summary ? a->summary : "");
    LIT(b, ",\"hint\":");
    sink__json_cstr_or_null(b, a->hint ? a->hint : "");
    if (a->pod.p) {
        LIT(b, ",\"pod\":");
        json_slice(b, a->pod);
    }
    if (a->release.p) {
        LIT(b, ",\"release\":");
        json_slice(b, a->release);
    }
    if (a->nevidence > 0) {
        LIT(b, ",\"evidence\":");
        json_slice(b, a->evidence[0]);
    }
    LIT(b, "},\"startsAt\":");
    ts_json(b, a->starts_at);
    if (a->status == ALERT_RESOLVED) {
        LIT(b, ",\"endsAt\":");
        ts_json(b, a->ends_at);
    }
    LIT(b, "}");
}

/* ---- delivery ------------------------------------------------------------------------------ */

static void kick(struct webhook *w);

static void on_retry_timer(uv_timer_t *t)
{
    struct webhook *w = t->data;

    w->waiting = 0;
    kick(w);
}

/* Retry-After: seconds, or an HTTP date. Returns milliseconds, or 0. */
static uint64_t retry_after_ms(const char *v)
{
    char *end;
    unsigned long secs;
    struct tm tm;

    if (v == NULL) {
        return 0;
    }
    secs = strtoul(v, &end, 10);
    if (end != v && *end == '\0') {
        return secs * 1000 < RETRY_AFTER_MAX_MS ? secs * 1000 : RETRY_AFTER_MAX_MS;
    }
    memset(&tm, 0, sizeof(tm));
    if (strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm) != NULL) {
        time_t at = timegm(&tm), now = time(NULL);

        if (at > now) {
            uint64_t ms = (uint64_t)(at - now) * 1000;
            return ms < RETRY_AFTER_MAX_MS ? ms : RETRY_AFTER_MAX_MS;
        }
    }
    return 0;
}

static void dead_letter(struct webhook *w, const char *id, long status, const char *response,
                        size_t rlen, const char *body, size_t blen)
{
    struct sink_webhooks *ws = w->owner;
    struct sink__buf b;
    char path[4096], t[48];
    FILE *f;
    struct timespec now;

    w->stats.dead++;
    clock_gettime(CLOCK_REALTIME, &now);
    clock_format_rfc3339((int64_t)now.tv_sec * 1000000000LL, t, sizeof(t));
    sink__buf_init(&b, blen + rlen + 512);
    LIT(&b, "{\"at\":\"");
    add_cstr(&b, t);
    LIT(&b, "\",\"sink\":");
    sink__json_str(&b, w->name, strlen(w->name), 1);
    LIT(&b, ",\"url\":");
    sink__json_str(&b, w->url, strlen(w->url), 1);
    LIT(&b, ",\"delivery\":\"");
    add_cstr(&b, id);
    snprintf(t, sizeof(t), "\",\"status\":%ld", status);
    add_cstr(&b, t);
    LIT(&b, ",\"response\":");
    sink__json_str(&b, response, rlen, 1);
    LIT(&b, ",\"body\":");
    sink__json_str(&b, body, blen, 1);
    LIT(&b, "}\n");
    if (ws->state_dir == NULL) {
        /* no file to keep it in: stderr is the only place left for it, whole (a log line is
         * cut at 2 KiB) */
        log_at(LOG_ERROR, "sinks", "webhook rejected a delivery; with no --state-dir there is no "
               "dead-letter file, so the dead letter follows on stderr as one JSON line: sink=%s "
               "status=%ld delivery=%s response=%.200s", w->name, status, id, response);
        fwrite(b.p, 1, b.len, stderr);
        fflush(stderr);
        sink__buf_free(&b);
        return;
    }
    snprintf(path, sizeof(path), "%s/deadletter.ndjson", ws->state_dir);
    log_at(LOG_ERROR, "sinks", "webhook rejected a delivery, moved to the dead-letter file: "
           "sink=%s status=%ld delivery=%s response=%.200s path=%s", w->name, status, id,
           response, path);
    f = fopen(path, "a");
    if (f == NULL || fwrite(b.p, 1, b.len, f) != b.len || fflush(f) != 0 ||
        fsync(fileno(f)) != 0) {
        log_at(LOG_ERROR, "sinks", "cannot write the dead-letter file: %s path=%s",
               strerror(errno), path);
    }
    if (f != NULL) {
        fclose(f);
    }
    sink__buf_free(&b);
}

struct attempt {
    struct webhook *w;
    char id[48];
    char *body_copy; /* for the dead-letter file */
    size_t len;
};

static void on_done(void *arg, int curl_code, long status, const char *retry_after,
                    const char *error, const char *response, size_t rlen)
{
    struct attempt *at = arg;
    struct webhook *w = at->w;
    struct sink_webhooks *ws = w->owner;
    uint64_t cap, delay;

    w->in_flight = 0;
    if (ws->closing) {
        free(at->body_copy);
        free(at);
        return;
    }
    if (curl_code == 0 && status >= 200 && status < 300) {
        w->stats.delivered++;
        w->attempt = 0;
        sink__spool_pop(&w->spool);
    } else if (curl_code == 0 && status != 408 && status != 429 && status < 500) {
        dead_letter(w, at->id, status, response, rlen, at->body_copy, at->len);
        w->attempt = 0;
        sink__spool_pop(&w->spool);
    } else {
        /* full jitter: anywhere in [0, min(cap, base * 2^attempt)] */
        w->stats.retried++;
        w->attempt++;
        cap = ws->opts.backoff_base_ms << (w->attempt < 20 ? w->attempt : 20);
        if (cap > ws->opts.backoff_cap_ms) {
            cap = ws->opts.backoff_cap_ms;
        }
        delay = rnd(ws) % (cap + 1);
        if (status == 429 || status == 503) {
            uint64_t ra = retry_after_ms(retry_after);

            delay = ra > delay ? ra : delay;
        }
        if (curl_code != 0) {
            log_at(LOG_WARN, "sinks", "webhook delivery failed, retrying: %s sink=%s attempt=%u "
                   "delivery=%s retry_in_ms=%llu", error ? error : "transport error", w->name,
                   w->attempt, at->id, (unsigned long long)delay);
        } else {
            log_at(LOG_WARN, "sinks", "webhook delivery failed, retrying: sink=%s status=%ld "
                   "attempt=%u delivery=%s retry_in_ms=%llu", w->name, status, w->attempt, at->id,
                   (unsigned long long)delay);
        }
        w->waiting = 1;
        uv_timer_start(&w->retry, on_retry_timer, delay, 0);
    }
    free(at->body_copy);
    free(at);
    kick(w);
}

static struct curl_slist *headers_for(struct sink_webhooks *ws, const char *id, const char *body,
                                      size_t len)
{
    struct curl_slist *h = NULL;
    char line[256];

    h = ws->api.slist_append(h, "Content-Type: application/json");
    h = ws->api.slist_append(h, "Expect:"); /* no 100-continue round trip */
    snprintf(line, sizeof(line), "X-Rollwatch-Delivery: %s", id);
    h = ws->api.slist_append(h, line);
    if (ws->secret != NULL) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int maclen = 0;
        char t[32], hex[2 * EVP_MAX_MD_SIZE + 1];
        size_t tl;
        struct sink__buf msg;

        /* v1 = HMAC-SHA256(secret, t "." body): the time stops replays of old deliveries */
        tl = (size_t)snprintf(t, sizeof(t), "%lld", (long long)time(NULL));
        sink__buf_init(&msg, len + tl + 2);
        sink__buf_add(&msg, t, tl);
        sink__buf_add(&msg, ".", 1);
        sink__buf_add(&msg, body, len);
        ws->api.hmac(ws->api.sha256(), ws->secret, (int)ws->secret_len,
                     (const unsigned char *)msg.p, msg.len, mac, &maclen);
        sink__buf_free(&msg);
        for (unsigned int i = 0; i < maclen; i++) {
            snprintf(hex + 2 * i, 3, "%02x", mac[i]);
        }
        snprintf(line, sizeof(line), "X-Rollwatch-Signature: t=%s,v1=%s", t, hex);
        h = ws->api.slist_append(h, line);
    }
    return h;
}

static void kick(struct webhook *w)
{
    struct sink_webhooks *ws = w->owner;
    struct spool_item *it;
    struct attempt *at;
    char *body;
    size_t len;
    struct curl_slist *h;

    while (!w->in_flight && !w->waiting && !ws->closing && (it = w->spool.head) != NULL) {
        if (sink__spool_load(&w->spool, it, &body, &len) != 0) {
            log_at(LOG_ERROR, "sinks", "spooled delivery is gone, skipping: sink=%s delivery=%s",
                   w->name, it->id);
            sink__spool_pop(&w->spool);
            continue;
        }
        at = xcalloc(1, sizeof(*at));
        at->w = w;
        snprintf(at->id, sizeof(at->id), "%s", it->id);
        at->body_copy = xstrndup(body, len);
        at->len = len;
        h = headers_for(ws, it->id, body, len);
        if (sink__http_post(ws->http, w->url, h, body, len, ws->opts.connect_ms,
                            ws->opts.total_ms, on_done, at) != 0) {
            ws->api.slist_free_all(h);
            free(body);
            free(at->body_copy);
            free(at);
            w->waiting = 1;
            uv_timer_start(&w->retry, on_retry_timer, ws->opts.backoff_base_ms, 0);
            return;
        }
        w->in_flight = 1;
        w->stats.attempts++;
    }
}

static void enqueue(struct webhook *w, const char *body, size_t len, int durable)
{
    char id[33];

    new_id(w->owner, id);
    if (w->spool.count >= w->spool.max) {
        w->stats.dropped++;
    }
    sink__spool_push(&w->spool, id, body, len, durable);
    kick(w);
}

/* ---- alertmanager's table of what it should keep hearing about ---------------------------- */

static void am_remember(struct webhook *w, const struct alert *a, const char *obj, size_t len)
{
    struct am_alert *e = NULL;

    for (size_t i = 0; i < w->nam; i++) {
        if (strcmp(w->am[i].fingerprint, a->fingerprint) == 0) {
            e = &w->am[i];
        }
    }
    if (e == NULL) {
        if (w->nam == AM_MAX_ACTIVE) {
            free(w->am[0].obj);
            memmove(&w->am[0], &w->am[1], (w->nam - 1) * sizeof(w->am[0]));
            w->nam--;
        }
        w->am = xrealloc(w->am, (w->nam + 1) * sizeof(*w->am));
        e = &w->am[w->nam++];
        memset(e, 0, sizeof(*e));
        memcpy(e->fingerprint, a->fingerprint, sizeof(e->fingerprint));
    }
    free(e->obj);
    e->obj = xstrndup(obj, len);
    e->firing = a->status == ALERT_FIRING;
    e->resolved_ms = uv_now(w->owner->loop);
}

static void on_resend(uv_timer_t *t)
{
    struct sink_webhooks *ws = t->data;
    uint64_t now = uv_now(ws->loop);

    for (size_t k = 0; k < ws->n; k++) {
        struct webhook *w = ws->hooks[k];
        struct sink__buf b;
        size_t n = 0, i = 0;

        if (w->fmt != WEBHOOK_ALERTMANAGER || w->spool.count > 0) {
            continue; /* a backlog already carries the news */
        }
        sink__buf_init(&b, 4096);
        LIT(&b, "[");
        while (i < w->nam) {
            struct am_alert *e = &w->am[i];

            if (!e->firing && now - e->resolved_ms > AM_RESOLVED_RESEND_MS) {
                free(e->obj);
                memmove(e, e + 1, (w->nam - i - 1) * sizeof(*e));
                w->nam--;
                continue;
            }
            if (n++ > 0) {
                LIT(&b, ",");
            }
            add_cstr(&b, e->obj);
            i++;
        }
        LIT(&b, "]");
        if (n > 0) {
            enqueue(w, b.p, b.len, 0); /* a refresh: not worth a file */
        }
        sink__buf_free(&b);
    }
}

/* ---- public -------------------------------------------------------------------------------- */

int webhook_format_parse(const char *s, enum webhook_format *out)
{
    if (strcmp(s, "generic") == 0) {
        *out = WEBHOOK_GENERIC;
    } else if (strcmp(s, "slack") == 0) {
        *out = WEBHOOK_SLACK;
    } else if (strcmp(s, "alertmanager") == 0) {
        *out = WEBHOOK_ALERTMANAGER;
    } else {
        return -1;
    }
    return 0;
}

static const char *format_name(enum webhook_format f)
{
    return f == WEBHOOK_SLACK ? "slack" : f == WEBHOOK_ALERTMANAGER ? "alertmanager" : "generic";
}

struct sink_webhooks *sink_webhooks_new(uv_loop_t *loop, const struct sink_webhook_opts *opts,
                                        struct err *e)
{
    struct sink_webhooks *ws = xcalloc(1, sizeof(*ws));

    if (sink__curl_open(&ws->api, e) != 0) {
        free(ws); /* libcurl was not initialised: nothing to clean up */
        return NULL;
    }
    ws->loop = loop;
    ws->opts = *opts;
    if (ws->opts.max_queue == 0) {
        ws->opts.max_queue = 10000;
    }
    if (ws->opts.connect_ms == 0) {
        ws->opts.connect_ms = 5000;
    }
    if (ws->opts.total_ms == 0) {
        ws->opts.total_ms = 15000;
    }
    if (ws->opts.backoff_base_ms == 0) {
        ws->opts.backoff_base_ms = 500;
    }
    if (ws->opts.backoff_cap_ms == 0) {
        ws->opts.backoff_cap_ms = 60000;
    }
    if (ws->opts.resend_ms == 0) {
        ws->opts.resend_ms = 60000;
    }
    ws->state_dir = opts->state_dir ? xstrdup(opts->state_dir) : NULL;
    if (opts->secret != NULL) {
        ws->secret = xstrndup(opts->secret, opts->secret_len);
        ws->secret_len = opts->secret_len;
    }
    ws->opts.state_dir = NULL;
    ws->opts.secret = NULL;
    /* seed the jitter once, from the OS */
    if (uv_random(NULL, NULL, &ws->rng, sizeof(ws->rng), 0, NULL) != 0 || ws->rng == 0) {
        ws->rng = (uint64_t)time(NULL) | 1;
    }
    ws->http = sink__http_new(loop, &ws->api);
    uv_timer_init(loop, &ws->resend);
    ws->resend.data = ws;
    uv_timer_start(&ws->resend, on_resend, ws->opts.resend_ms, ws->opts.resend_ms);
    uv_unref((uv_handle_t *)&ws->resend); /* re-sends alone do not keep rollwatch running */
    return ws;
}

int sink_webhooks_add(struct sink_webhooks *ws, const char *url, enum webhook_format fmt,
                      struct err *e)
{
    struct webhook *w;
    char dir[4096];
    const char *host, *end;

    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        err_set(e, "webhook URL must start with http:// or https://: %s", url);
        e->usage = 1;
        return -1;
    }
    w = xcalloc(1, sizeof(*w));
    w->owner = ws;
    w->url = xstrdup(url);
    w->fmt = fmt;
    host = strstr(url, "://") + 3;
    end = host + strcspn(host, "/?#");
    snprintf(w->name, sizeof(w->name), "%s:%.*s", format_name(fmt), (int)(end - host), host);
    if (ws->state_dir != NULL) {
        /* one spool per URL, named by a hash of it (the URL may hold a token) */
        snprintf(dir, sizeof(dir), "%s/spool/%016llx", ws->state_dir,
                 (unsigned long long)hash_fnv1a(url, strlen(url)));
    }
    if (sink__spool_open(&w->spool, ws->state_dir ? dir : NULL, ws->opts.max_queue, e) != 0) {
        free(w->url);
        free(w);
        return -1;
    }
    if (w->spool.recovered > 0) {
        log_at(LOG_INFO, "sinks", "resending deliveries left by an earlier run: sink=%s count=%zu",
               w->name, w->spool.recovered);
    }
    uv_timer_init(ws->loop, &w->retry);
    w->retry.data = w;
    ws->hooks = xrealloc(ws->hooks, (ws->n + 1) * sizeof(*ws->hooks));
    ws->hooks[ws->n++] = w;
    kick(w);
    return 0;
}

void sink_webhooks_alert(struct sink_webhooks *ws, const struct alert *a)
{
    struct sink__buf b;

    sink__buf_init(&b, 2048);
    for (size_t i = 0; i < ws->n; i++) {
        struct webhook *w = ws->hooks[i];

        b.len = 0;
        switch (w->fmt) {
        case WEBHOOK_GENERIC:
            sink__alert_json(&b, a);
            b.len--; /* no newline in a request body */
            break;
        case WEBHOOK_SLACK:
            body_slack_alert(&b, a);
            break;
        case WEBHOOK_ALERTMANAGER:
            LIT(&b, "[");
            am_object(&b, a);
            am_remember(w, a, b.p + 1, b.len - 1);
            LIT(&b, "]");
            break;
        }
        enqueue(w, b.p, b.len, 1);
    }
    sink__buf_free(&b);
}

void sink_webhooks_rollout(struct sink_webhooks *ws, const struct rollout_event *ev)
{
    struct sink__buf b;

    sink__buf_init(&b, 2048);
    for (size_t i = 0; i < ws->n; i++) {
        struct webhook *w = ws->hooks[i];

        b.len = 0;
        if (w->fmt == WEBHOOK_GENERIC) {
            sink__rollout_json(&b, ev);
            b.len--;
        } else if (w->fmt == WEBHOOK_SLACK) {
            body_slack_rollout(&b, ev);
        } else {
            continue; /* Alertmanager takes alerts: the rollout alerts already say it */
        }
        enqueue(w, b.p, b.len, 1);
    }
    sink__buf_free(&b);
}

void sink_webhooks_raw(struct sink_webhooks *ws, const char *json, size_t len)
{
    while (len > 0 && json[len - 1] == '\n') {
        len--;
    }
    for (size_t i = 0; i < ws->n; i++) {
        /* metric snapshots are JSON for JSON receivers; chat and Alertmanager do not want them */
        if (ws->hooks[i]->fmt == WEBHOOK_GENERIC) {
            enqueue(ws->hooks[i], json, len, 1);
        }
    }
}

size_t sink_webhooks_pending(const struct sink_webhooks *ws)
{
    size_t n = 0;

    for (size_t i = 0; i < ws->n; i++) {
        /* refreshes do not count: they are re-sent anyway and die with the process */
        for (struct spool_item *it = ws->hooks[i]->spool.head; it != NULL; it = it->next) {
            n += !it->refresh;
        }
    }
    return n;
}

size_t sink_webhooks_count(const struct sink_webhooks *ws)
{
    return ws->n;
}

void sink_webhooks_stats(const struct sink_webhooks *ws, size_t i, const char **name,
                         struct sink_webhook_stats *st)
{
    *name = ws->hooks[i]->name;
    *st = ws->hooks[i]->stats;
    st->queued = ws->hooks[i]->spool.count;
    st->dropped += ws->hooks[i]->spool.dropped;
}

static void maybe_closed(struct sink_webhooks *ws)
{
    if (ws->pending_closes == 0) {
        void (*closed)(void *) = ws->closed;
        void *arg = ws->closed_arg;

        free(ws->hooks);
        free(ws->state_dir);
        if (ws->secret) {
            memset(ws->secret, 0, ws->secret_len);
            free(ws->secret);
        }
        sink__curl_close(&ws->api); /* the HTTP client, and so every curl handle, is gone */
        free(ws);
        if (closed) {
            closed(arg);
        }
    }
}

static void on_part_closed(uv_handle_t *h)
{
    struct sink_webhooks *ws = h->data;

    ws->pending_closes--;
    maybe_closed(ws);
}

static void on_retry_closed(uv_handle_t *h)
{
    struct webhook *w = h->data;
    struct sink_webhooks *ws = w->owner;

    sink__spool_close(&w->spool);
    for (size_t i = 0; i < w->nam; i++) {
        free(w->am[i].obj);
    }
    free(w->am);
    free(w->url);
    free(w);
    ws->pending_closes--;
    maybe_closed(ws);
}

static void on_http_closed(void *arg)
{
    struct sink_webhooks *ws = arg;

    ws->pending_closes--;
    maybe_closed(ws);
}

void sink_webhooks_close(struct sink_webhooks *ws, void (*closed)(void *), void *arg)
{
    if (ws == NULL || ws->closing) {
        return;
    }
    ws->closing = 1;
    ws->closed = closed;
    ws->closed_arg = arg;
    ws->pending_closes = ws->n + 2;
    for (size_t i = 0; i < ws->n; i++) {
        uv_timer_stop(&ws->hooks[i]->retry);
        uv_close((uv_handle_t *)&ws->hooks[i]->retry, on_retry_closed);
    }
    uv_timer_stop(&ws->resend);
    uv_close((uv_handle_t *)&ws->resend, on_part_closed);
    sink__http_close(ws->http, on_http_closed, ws);
}
