/* NDJSON output of records into one reusable buffer, written to the stream in large blocks. */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "sink_int.h"
#include "sinks.h"
#include "xmalloc.h"

#define SINK_JSON_FLUSH_AT (256 * 1024)

struct sink_json {
    FILE *out; /* borrowed */
    struct sink__buf buf;
    int64_t ts_cached; /* lines arrive many per second: format each distinct time once */
    char ts_text[48];
    size_t ts_len;
    int failed;
};

struct sink_json *sink_json_new(FILE *out)
{
    struct sink_json *s = xcalloc(1, sizeof(*s));

    s->out = out;
    sink__buf_init(&s->buf, SINK_JSON_FLUSH_AT * 2);
    s->ts_len = 0;
    return s;
}

#define LIT(b, lit) sink__buf_add((b), (lit), sizeof(lit) - 1)

static void field(struct sink__buf *b, const char *key_lit, size_t key_len, struct slice v,
                  int repair)
{
    if (v.p != NULL) {
        sink__buf_add(b, key_lit, key_len);
        sink__json_str(b, v.p, v.len, repair);
    }
}

#define FIELD(b, name, v, repair) field((b), ",\"" name "\":", sizeof(",\"" name "\":") - 1, (v), (repair))

int sink_json_record(struct sink_json *s, const struct record *r)
{
    struct sink__buf *b = &s->buf;
    int repair = (r->flags & REC_BAD_UTF8) != 0;
    const char *kind = record_kind_name(r->kind), *okind = object_kind_name(r->object_kind);

    LIT(b, "{\"type\":\"record\"");
    if (r->ts_src != TS_NONE) {
        if (s->ts_len == 0 || r->ts_ns != s->ts_cached) {
            s->ts_len = clock_format_rfc3339(r->ts_ns, s->ts_text, sizeof(s->ts_text));
            s->ts_cached = r->ts_ns;
        }
        LIT(b, ",\"ts\":\"");
        sink__buf_add(b, s->ts_text, s->ts_len);
        LIT(b, "\"");
    }
    LIT(b, ",\"kind\":\"");
    sink__buf_add(b, kind, strlen(kind));
    LIT(b, "\"");
    FIELD(b, "stream", r->stream, repair);
    FIELD(b, "object", r->object, repair);
    LIT(b, ",\"object_kind\":\"");
    sink__buf_add(b, okind, strlen(okind));
    LIT(b, "\"");
    FIELD(b, "app", r->app, 1);
    FIELD(b, "service", r->service, repair);
    FIELD(b, "replicaset", r->replicaset, repair);
    FIELD(b, "pod", r->pod, repair);
    FIELD(b, "container", r->container, repair);
    FIELD(b, "status_from", r->status_from, repair);
    FIELD(b, "status_to", r->status_to, repair);
    FIELD(b, "release", r->release, 0);
    FIELD(b, "build", r->build, 0);
    FIELD(b, "cli", r->cli, 0);
    FIELD(b, "pod_status", r->pod_status, 0);
    FIELD(b, "message", r->message, repair);
    if (r->ts_src == TS_INHERITED) {
        LIT(b, ",\"ts_inherited\":true");
    }
    if (r->flags & REC_TRUNCATED) {
        LIT(b, ",\"truncated\":true");
    }
    LIT(b, "}\n");
    if (b->len >= SINK_JSON_FLUSH_AT) {
        return sink_json_flush(s);
    }
    return s->failed ? -1 : 0;
}

int sink_json_flush(struct sink_json *s)
{
    if (s->buf.len > 0 && !s->failed) {
        if (fwrite(s->buf.p, 1, s->buf.len, s->out) != s->buf.len || fflush(s->out) != 0) {
            s->failed = 1;
        }
    }
    s->buf.len = 0;
    return s->failed ? -1 : 0;
}

void sink_json_free(struct sink_json *s)
{
    if (s == NULL) {
        return;
    }
    sink_json_flush(s);
    sink__buf_free(&s->buf);
    free(s);
}
