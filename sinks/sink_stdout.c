/* Standard output: records and alerts as NDJSON (one reusable buffer, large writes) or text. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink_int.h"
#include "sinks.h"
#include "xmalloc.h"

#define SINK_FLUSH_AT (256 * 1024)

struct sink_stdout {
    FILE *out; /* borrowed */
    enum sink_format fmt;
    int color;
    struct sink__buf buf; /* its time cache too: lines arrive many per second */
    struct sink__alert_memo *memo; /* owned, JSON only: resolved notices repeat their alert */
    int failed;
};

int sink_format_parse(const char *s, enum sink_format *out)
{
    if (strcmp(s, "json") == 0) {
        *out = SINK_FORMAT_JSON;
    } else if (strcmp(s, "text") == 0) {
        *out = SINK_FORMAT_TEXT;
    } else if (strcmp(s, "none") == 0) {
        *out = SINK_FORMAT_NONE;
    } else {
        return -1;
    }
    return 0;
}

struct sink_stdout *sink_stdout_new(FILE *out, enum sink_format fmt, int color)
{
    struct sink_stdout *s = xcalloc(1, sizeof(*s));

    s->out = out;
    s->fmt = fmt;
    s->color = color;
    sink__buf_init(&s->buf, SINK_FLUSH_AT * 2);
    if (fmt == SINK_FORMAT_JSON) {
        s->memo = xcalloc(1, sizeof(*s->memo));
    }
    return s;
}

/* "" lit: only a string literal compiles here (sizeof of a pointer would copy garbage) */
#define LIT(b, lit) sink__buf_add((b), "" lit, sizeof(lit) - 1)

static void field(struct sink__buf *b, const char *key_lit, size_t key_len, struct slice v,
                  int repair)
{
    if (v.p != NULL) {
        sink__buf_add(b, key_lit, key_len);
        sink__json_str(b, v.p, v.len, repair);
    }
}

#define FIELD(b, name, v, repair)                                                                  \
    field((b), ",\"" name "\":", sizeof(",\"" name "\":") - 1, (v), (repair))

static void add_cstr(struct sink__buf *b, const char *s)
{
    sink__buf_add(b, s, strlen(s));
}

static const char *ts_text(struct sink_stdout *s, int64_t ns, size_t *len)
{
    return sink__buf_ts(&s->buf, ns, len);
}

static int maybe_flush(struct sink_stdout *s)
{
    if (s->buf.len >= SINK_FLUSH_AT) {
        return sink_stdout_flush(s);
    }
    return s->failed ? -1 : 0;
}

/* ---- records ----------------------------------------------------------------------------- */

static void record_json(struct sink_stdout *s, const struct record *r)
{
    struct sink__buf *b = &s->buf;
    int repair = (r->flags & REC_BAD_UTF8) != 0;
    size_t n;
    const char *t;

    LIT(b, "{\"type\":\"record\"");
    if (r->ts_src != TS_NONE) {
        t = ts_text(s, r->ts_ns, &n);
        LIT(b, ",\"ts\":\"");
        sink__buf_add(b, t, n);
        LIT(b, "\"");
    }
    LIT(b, ",\"kind\":\"");
    add_cstr(b, record_kind_name(r->kind));
    LIT(b, "\"");
    FIELD(b, "stream", r->stream, repair);
    FIELD(b, "object", r->object, repair);
    LIT(b, ",\"object_kind\":\"");
    add_cstr(b, object_kind_name(r->object_kind));
    LIT(b, "\"");
    FIELD(b, "app", r->app, 1);
    FIELD(b, "service", r->service, repair);
    FIELD(b, "replicaset", r->replicaset, repair);
    FIELD(b, "pod", r->pod, repair);
    FIELD(b, "container", r->container, repair);
    FIELD(b, "status_from", r->status_from, repair);
    FIELD(b, "status_to", r->status_to, repair);
    FIELD(b, "release", r->release, repair);
    FIELD(b, "build", r->build, repair);
    FIELD(b, "cli", r->cli, 0);
    FIELD(b, "pod_status", r->pod_status, 0);
    FIELD(b, "event", r->event, 0);
    FIELD(b, "class", r->class_name, 0);
    for (size_t i = 0; i < r->nextra; i++) {
        LIT(b, ",");
        sink__json_str(b, r->extra[i].name, strlen(r->extra[i].name), 1);
        LIT(b, ":");
        sink__json_str(b, r->extra[i].val.p, r->extra[i].val.len, repair);
    }
    FIELD(b, "message", r->message, repair);
    if (r->ts_src == TS_INHERITED) {
        LIT(b, ",\"ts_inherited\":true");
    }
    if (r->flags & REC_TRUNCATED) {
        LIT(b, ",\"truncated\":true");
    }
    LIT(b, "}\n");
}

/* Text from the logs (names, summaries, hints, diagnoses), made safe for a terminal. */
static void add_text(struct sink__buf *b, const char *s)
{
    sink__text_str(b, s, strlen(s), 1);
}

static void add_slice_or(struct sink__buf *b, struct slice v, const char *dflt)
{
    if (v.p != NULL) {
        sink__text_str(b, v.p, v.len, 1);
    } else {
        add_cstr(b, dflt);
    }
}

/* Text: "14:30:51 k8s web-745f845dc-rzl2q [crash_loop] Back-off restarting ..." */
static void record_text(struct sink_stdout *s, const struct record *r)
{
    struct sink__buf *b = &s->buf;
    size_t n;
    const char *t = r->ts_src != TS_NONE ? ts_text(s, r->ts_ns, &n) : NULL;

    if (t != NULL) {
        sink__buf_add(b, t, n);
    } else {
        LIT(b, "-");
    }
    LIT(b, " ");
    add_cstr(b, record_kind_name(r->kind));
    LIT(b, " ");
    add_slice_or(b, r->object, "-");
    if (r->class_name.p) {
        LIT(b, " [");
        sink__buf_add(b, r->class_name.p, r->class_name.len);
        LIT(b, "]");
    } else if (r->event.p) {
        LIT(b, " (");
        sink__buf_add(b, r->event.p, r->event.len);
        LIT(b, ")");
    }
    LIT(b, " ");
    /* the text form is for eyes: quotes stay quotes, control bytes are shown, not sent */
    sink__text_str(b, r->message.p ? r->message.p : "", r->message.len,
                   (r->flags & REC_BAD_UTF8) != 0);
    LIT(b, "\n");
}

int sink_stdout_record(struct sink_stdout *s, const struct record *r)
{
    if (s->fmt == SINK_FORMAT_JSON) {
        record_json(s, r);
    } else if (s->fmt == SINK_FORMAT_TEXT) {
        record_text(s, r);
    }
    return maybe_flush(s);
}

/* ---- alerts ------------------------------------------------------------------------------ */

static void alert_text(struct sink_stdout *s, const struct alert *a)
{
    struct sink__buf *b = &s->buf;
    size_t n;
    const char *t = ts_text(s, a->status == ALERT_RESOLVED ? a->ends_at : a->starts_at, &n);
    const char *col = "", *reset = "", *dim = "";

    if (s->color) {
        reset = "\x1b[0m";
        dim = "\x1b[2m";
        col = a->status == ALERT_RESOLVED           ? "\x1b[32m"
              : a->severity == SEVERITY_CRITICAL   ? "\x1b[1;31m"
              : a->severity == SEVERITY_WARNING    ? "\x1b[33m"
                                                   : "\x1b[36m";
    }
    sink__buf_add(b, t, n);
    LIT(b, " ");
    add_cstr(b, col);
    add_cstr(b, a->status == ALERT_RESOLVED ? "RESOLVED" : alert_severity_name(a->severity));
    add_cstr(b, reset);
    LIT(b, " ");
    add_cstr(b, a->class_name ? a->class_name : a->rule);
    LIT(b, " ");
    add_slice_or(b, a->app, "-");
    LIT(b, "/");
    add_slice_or(b, a->service, "-");
    if (a->pod.p) {
        LIT(b, "/");
        sink__text_str(b, a->pod.p, a->pod.len, 1);
    }
    LIT(b, ": ");
    add_text(b, a->summary ? a->summary : "");
    if (a->count > 1) {
        char num[32];

        snprintf(num, sizeof(num), " (x%llu)", (unsigned long long)a->count);
        add_cstr(b, num);
    }
    LIT(b, "\n");
    if (a->hint && a->hint[0] && a->status == ALERT_FIRING) {
        LIT(b, "    ");
        add_cstr(b, dim);
        LIT(b, "hint: ");
        add_text(b, a->hint);
        add_cstr(b, reset);
        LIT(b, "\n");
    }
}

int sink_stdout_alert(struct sink_stdout *s, const struct alert *a)
{
    if (s->fmt == SINK_FORMAT_JSON) {
        sink__alert_json_memo(&s->buf, a, s->memo);
    } else if (s->fmt == SINK_FORMAT_TEXT) {
        alert_text(s, a);
    }
    return maybe_flush(s);
}

/* ---- rollouts ------------------------------------------------------------------------------ */

static void rollout_text(struct sink_stdout *s, const struct rollout_event *ev)
{
    struct sink__buf *b = &s->buf;
    char num[64];
    size_t n;
    const char *t = ts_text(s, ev->at, &n);
    int bad = ev->status == ROLLOUT_FAILED || ev->status == ROLLOUT_ROLLBACK_FAILED ||
              ev->status == ROLLOUT_STUCK || ev->status == ROLLOUT_ROLLED_BACK;
    const char *col = s->color ? (bad ? "\x1b[1;35m" : "\x1b[1;32m") : "";

    sink__buf_add(b, t, n);
    LIT(b, " ");
    add_cstr(b, col);
    LIT(b, "ROLLOUT ");
    add_cstr(b, rollout_status_name(ev->status));
    add_cstr(b, s->color ? "\x1b[0m" : "");
    LIT(b, " ");
    add_text(b, ev->app[0] ? ev->app : "-");
    if (ev->release) {
        LIT(b, " ");
        add_text(b, ev->release);
    }
    if (ev->status != ROLLOUT_STARTED) {
        snprintf(num, sizeof(num), " after %llds", (long long)((ev->at - ev->started_at) / 1000000000LL));
        add_cstr(b, num);
    }
    if (ev->diagnosis[0]) {
        LIT(b, ": ");
        add_text(b, ev->diagnosis);
    }
    LIT(b, "\n");
}

int sink_stdout_rollout(struct sink_stdout *s, const struct rollout_event *ev)
{
    if (s->fmt == SINK_FORMAT_JSON) {
        sink__rollout_json(&s->buf, ev);
    } else if (s->fmt == SINK_FORMAT_TEXT) {
        rollout_text(s, ev);
    }
    return maybe_flush(s);
}

int sink_stdout_raw(struct sink_stdout *s, const char *text, size_t len)
{
    if (s->fmt != SINK_FORMAT_NONE) {
        sink__buf_add(&s->buf, text, len);
    }
    return maybe_flush(s);
}

/*
 * One write(2) for the whole buffer: through stdio, a block this large went out as two (the
 * whole blocks, then the rest from stdio's own buffer). Streams with no descriptor (memory
 * streams in tests) go through stdio.
 */
static int write_all(FILE *out, const char *p, size_t n)
{
    int fd = fileno(out);

    if (fd < 0) {
        return fwrite(p, 1, n, out) == n && fflush(out) == 0 ? 0 : -1;
    }
    if (fflush(out) != 0) { /* what others wrote through stdio goes first */
        return -1;
    }
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int sink_stdout_flush(struct sink_stdout *s)
{
    if (s->buf.len > 0 && !s->failed) {
        if (write_all(s->out, s->buf.p, s->buf.len) != 0) {
            s->failed = 1;
        }
    }
    s->buf.len = 0;
    return s->failed ? -1 : 0;
}

void sink_stdout_free(struct sink_stdout *s)
{
    if (s == NULL) {
        return;
    }
    sink_stdout_flush(s);
    sink__buf_free(&s->buf);
    sink__alert_memo_free(s->memo);
    free(s);
}
