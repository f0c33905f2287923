/* parse_line: every shape of DESIGN §2 into a struct record of slices, never failing. */
#include <stddef.h>
#include <string.h>

#include "parse.h"
#include "parse_int.h"
#include "utf8.h"

#define COMBINED_PREFIX "(combined from similar events): "

void parse_init(struct parser *p)
{
    memset(p, 0, sizeof(*p));
}

const struct parse_stats *parse_stats(const struct parser *p)
{
    return &p->stats;
}

static struct slice sl(const char *p, size_t n)
{
    return (struct slice){p, n};
}

static int has_prefix(const char *s, size_t n, const char *lit, size_t k)
{
    return n >= k && memcmp(s, lit, k) == 0;
}

#define HAS(s, n, lit) has_prefix((s), (n), (lit), sizeof(lit) - 1)

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "Status: Running => Pending" -> from/to; anything else on the atom stream leaves them absent. */
static void atom_status(struct record *out)
{
    const char *s = out->message.p;
    size_t n = out->message.len, i = 8, a, b;

    if (!HAS(s, n, "Status: ")) {
        return;
    }
    a = i;
    while (i < n && s[i] != ' ') {
        i++;
    }
    if (i == a || !has_prefix(s + i, n - i, " => ", 4)) {
        return;
    }
    b = i + 4;
    i = b;
    while (i < n && s[i] != ' ') {
        i++;
    }
    if (i == b) {
        return;
    }
    out->status_from = sl(s + a, b - 4 - a);
    out->status_to = sl(s + b, i - b);
}

static void strip_combined(struct record *out)
{
    if (HAS(out->message.p, out->message.len, COMBINED_PREFIX)) {
        size_t k = sizeof(COMBINED_PREFIX) - 1;

        out->message = sl(out->message.p + k, out->message.len - k);
        out->flags |= REC_COMBINED;
    }
}

/* "system/..." streams: Kubernetes events, atom status and resource state. */
static void system_stream(struct parser *p, struct slice obj, struct record *out)
{
    out->kind = RECORD_K8S;
    strip_combined(out);
    if (HAS(obj.p, obj.len, "atom/")) {
        out->kind = RECORD_ATOM;
        out->object = obj;
        out->object_kind = OBJECT_ATOM;
        /* early v3 racks had per-service atoms: atom/service/<svc> */
        if (HAS(obj.p, obj.len, "atom/service/") && obj.len > 13) {
            out->service = sl(obj.p + 13, obj.len - 13);
        }
        atom_status(out);
        return;
    }
    if (slice_eq(obj, "state")) {
        out->kind = RECORD_STATE;
        out->object = obj;
        out->object_kind = OBJECT_STATE;
        return;
    }
    /* v2 (ECS) racks: CloudFormation and ECS service events, not Kubernetes objects */
    if (slice_eq(obj, "cloudformation") || slice_eq(obj, "ecs")) {
        out->object = obj;
        return;
    }
    parse__object_name_memo(p, obj, out->message, out);
}

/*
 * v2 racks name the stream "service/web:RSPZQWVWGOP/<task>": the service, then the release the
 * task runs. The release goes to its field, the service keeps its name alone (else every
 * release would be a new service).
 */
static inline void release_in_service(struct slice *service, struct record *out)
{
    size_t at;

    /* this runs for every app line: a name that does not end as a release id ends it here */
    if (service->len == 0 || !parse__upper_alnum(service->p[service->len - 1])) {
        return;
    }
    for (at = 0; at < service->len && service->p[at] != ':'; at++) {
    }
    at++; /* after the colon: the release id, to the end of the name */
    if (at < 2 || at >= service->len ||
        at + parse__object_id(service->p + at, service->len - at, 'R') != service->len) {
        return;
    }
    if (out->release.p == NULL) {
        out->release = sl(service->p + at, service->len - at);
    }
    service->len = at - 1;
}

/* "service/<svc>/<pod>", "timer/<name>/<pod>", "process/<svc>/<pod>". */
static void app_stream(struct parser *p, const char *s, size_t n, size_t type_len,
                       struct record *out)
{
    const char *svc = s + type_len + 1;
    size_t rest = n - type_len - 1;
    const char *slash = parse__find(svc, rest, '/');
    struct slice service;

    out->kind = RECORD_APP;
    if (slash == NULL) {
        service = sl(svc, rest);
        release_in_service(&service, out);
        out->service = service.len ? service : SLICE_NONE;
        return;
    }
    service = sl(svc, (size_t)(slash - svc));
    if (slash + 1 < svc + rest) {
        struct slice pod = sl(slash + 1, rest - service.len - 1);

        parse__object_name_memo(p, pod, SLICE_NONE, out);
        /* the stream names the pod outright; keep the derived replica set when it fits */
        if (out->object_kind != OBJECT_POD || type_len == 5 /* timer */) {
            out->replicaset = SLICE_NONE;
        }
        out->object = pod;
        out->object_kind = OBJECT_POD;
        out->pod = pod;
    }
    release_in_service(&service, out); /* after the pod, which is measured from it */
    out->service = service.len ? service : SLICE_NONE;
}

/* parse_rfc3339, but a repeat of the previous line's timestamp text costs one compare. */
static int two_digits(const char *s)
{
    return s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' ? (s[0] - '0') * 10 + s[1] - '0'
                                                                     : -1;
}

static int cached_time(struct parser *p, const char *s, size_t n, int64_t *ns)
{
    if (n > 0 && n == p->ts_len && parse__same(s, p->ts_text, n)) {
        *ns = p->ts_ns;
        return 0;
    }
    /* "YYYY-MM-DDTHH:MM:SSZ" in the same minute as the last: only the seconds moved (a third
     * of lines start a new second, and the full parse was most of their time) */
    if (n == 20 && p->ts_len == 20 && s[19] == 'Z' && memcmp(s, p->ts_text, 17) == 0) {
        int was = two_digits(p->ts_text + 17), now = two_digits(s + 17);

        if (was >= 0 && was <= 59 && now >= 0 && now <= 59) {
            *ns = p->ts_ns + (int64_t)(now - was) * 1000000000LL;
            memcpy(p->ts_text + 17, s + 17, 2);
            p->ts_ns = *ns;
            return 0;
        }
    }
    if (parse_rfc3339(s, n, ns) != 0) {
        return -1;
    }
    if (n <= sizeof(p->ts_text)) {
        memcpy(p->ts_text, s, n);
        p->ts_len = n;
        p->ts_ns = *ns;
    }
    return 0;
}

/* "<TS> <stream> <message>": Convox's own prefix (convox-logs.md §2.1). */
static int convox_line(struct parser *p, const char *s, size_t n, struct record *out)
{
    const char *sp = parse__find(s, n, ' ');
    const char *stream, *sp2;
    size_t stream_len;

    if (sp == NULL || cached_time(p, s, (size_t)(sp - s), &out->ts_ns) != 0) {
        return 0;
    }
    out->ts_src = TS_OWN;
    stream = sp + 1;
    sp2 = parse__find(stream, n - (size_t)(stream - s), ' ');
    stream_len = sp2 ? (size_t)(sp2 - stream) : n - (size_t)(stream - s);
    out->stream = sl(stream, stream_len);
    out->message = sp2 ? sl(sp2 + 1, n - (size_t)(sp2 + 1 - s)) : sl(stream + stream_len, 0);
    if (HAS(stream, stream_len, "system/") && stream_len > 7) {
        struct slice obj = sl(stream + 7, stream_len - 7);

        if (HAS(obj.p, obj.len, "k8s/") && obj.len > 4) {
            obj = sl(obj.p + 4, obj.len - 4);
        }
        system_stream(p, obj, out);
    } else if (HAS(stream, stream_len, "service/")) {
        app_stream(p, stream, stream_len, 7, out);
    } else if (HAS(stream, stream_len, "timer/")) {
        app_stream(p, stream, stream_len, 5, out);
    } else if (HAS(stream, stream_len, "process/")) {
        app_stream(p, stream, stream_len, 7, out);
    } else if (stream_len > 1 && stream[0] == '/') {
        out->kind = RECORD_APP;
    } else {
        out->kind = RECORD_UNKNOWN;
    }
    return 1;
}

/* "[pod/<pod>/<container>] <RFC3339Nano> <message>" from convox logs -s (kubectl). */
static int kubectl_line(const char *s, size_t n, struct record *out)
{
    const char *close, *pod, *slash, *rest, *sp;
    size_t scan = n < 512 ? n : 512, rest_n;

    if (!HAS(s, n, "[pod/") || (close = memchr(s, ']', scan)) == NULL) {
        return 0;
    }
    pod = s + 5;
    slash = memchr(pod, '/', (size_t)(close - pod));
    if (slash == NULL || slash == pod || slash + 1 == close) {
        return 0;
    }
    out->kind = RECORD_APP;
    out->stream = sl(s + 1, (size_t)(close - s - 1));
    parse_object_name(sl(pod, (size_t)(slash - pod)), SLICE_NONE, out);
    out->object_kind = OBJECT_POD;
    out->pod = out->object;
    out->container = sl(slash + 1, (size_t)(close - slash - 1));
    rest = close + 1;
    rest_n = n - (size_t)(rest - s);
    if (rest_n > 0 && rest[0] == ' ') {
        rest++;
        rest_n--;
    }
    sp = memchr(rest, ' ', rest_n);
    if (parse_rfc3339(rest, sp ? (size_t)(sp - rest) : rest_n, &out->ts_ns) == 0) {
        out->ts_src = TS_OWN;
        out->message = sp ? sl(sp + 1, rest_n - (size_t)(sp + 1 - rest)) : sl(rest + rest_n, 0);
    } else {
        out->message = sl(rest, rest_n);
    }
    return 1;
}

/* "14:30:51 <line>": a CI runner's clock in front of a transcript (rack PR #3428). */
static size_t ci_time_prefix(const char *s, size_t n)
{
    if (n > 9 && is_digit(s[0]) && is_digit(s[1]) && s[2] == ':' && is_digit(s[3]) &&
        is_digit(s[4]) && s[5] == ':' && is_digit(s[6]) && is_digit(s[7]) && s[8] == ' ') {
        return 9;
    }
    return 0;
}

/*
 * Clears a record's head (everything before the extras) with 16-byte stores: for these 312
 * bytes the compiler chose rep stos, whose start-up cost on this hardware was a tenth of
 * parsing a line.
 */
static void clear_head(struct record *out)
{
#if defined(__SSE2__)
    char *o = (char *)out;
    const __m128i z = _mm_setzero_si128();

    /* written out: as a loop the compiler turned it back into rep stos */
#define Z4(i)                                                                                  \
    _mm_storeu_si128((__m128i *)(void *)(o + (i)), z);                                         \
    _mm_storeu_si128((__m128i *)(void *)(o + (i) + 16), z);                                    \
    _mm_storeu_si128((__m128i *)(void *)(o + (i) + 32), z);                                    \
    _mm_storeu_si128((__m128i *)(void *)(o + (i) + 48), z)
    _Static_assert(offsetof(struct record, extra) > 256 && offsetof(struct record, extra) <= 320,
                   "clear_head clears 320 bytes at most, the last 16 overlapping");
    Z4(0);
    Z4(64);
    Z4(128);
    Z4(192);
    _mm_storeu_si128((__m128i *)(void *)(o + 256), z);
    _mm_storeu_si128((__m128i *)(void *)(o + 272), z);
    _mm_storeu_si128((__m128i *)(void *)(o + 288), z);
    _mm_storeu_si128((__m128i *)(void *)(o + offsetof(struct record, extra) - 16), z);
#undef Z4
#else
    memset(out, 0, offsetof(struct record, extra));
#endif
}

void parse_line(struct parser *p, const struct source *src, const char *line, size_t len,
                unsigned line_flags, struct record *out)
{
    const char *s;
    size_t n, skip;
    int done = 0;

    if (src != NULL && src->lineno == 1) {
        p->have_ts = 0; /* a new source: no time to inherit from another file */
    }
    /* not the extras: nextra = 0 says none is set, and clearing them was a third of a record */
    clear_head(out);
    out->src = src;
    if (len > 0 && line[len - 1] == '\r') {
        len--;
        line_flags |= REC_CRLF;
    }
    out->line = sl(line, len);
    out->flags = line_flags | utf8_scan(line, len);
    if (src != NULL && src->app != NULL) {
        out->app = sl(src->app, strlen(src->app));
    }
    s = line;
    n = len;
    skip = ci_time_prefix(s, n);
    if (skip) {
        s += skip;
        n -= skip;
    }
    if (n > 0 && s[0] == '[') {
        done = kubectl_line(s, n, out);
    } else if (n > 20 && is_digit(s[0])) {
        done = convox_line(p, s, n, out);
    }
    if (!done && !parse__cli_line(s, n, out)) {
        /* Unknown: keep the whole line (with any CI prefix) as the message. */
        unsigned flags = out->flags;
        struct slice app = out->app;

        memset(out, 0, offsetof(struct record, extra));
        out->src = src;
        out->line = sl(line, len);
        out->flags = flags;
        out->app = app;
        out->kind = RECORD_UNKNOWN;
        out->message = sl(line, len);
    } else if (!done) {
        out->kind = RECORD_CLI;
    }
    if (out->ts_src == TS_OWN) {
        p->last_ts_ns = out->ts_ns;
        p->have_ts = 1;
    } else {
        p->stats.no_timestamp++;
        if (p->have_ts) {
            out->ts_ns = p->last_ts_ns;
            out->ts_src = TS_INHERITED;
        }
    }
    p->stats.lines++;
    p->stats.by_kind[out->kind]++;
    p->stats.truncated += (out->flags & REC_TRUNCATED) != 0;
    p->stats.crlf += (out->flags & REC_CRLF) != 0;
    p->stats.nul += (out->flags & REC_HAS_NUL) != 0;
    p->stats.bad_utf8 += (out->flags & REC_BAD_UTF8) != 0;
}

int parse_line_time(const char *line, size_t len, int64_t *ns)
{
    const char *s = line, *sp;
    size_t n = len, skip = ci_time_prefix(line, len);

    s += skip;
    n -= skip;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n < 512 ? n : 512);

        if (close == NULL || (size_t)(close - s) + 2 >= n) {
            return -1;
        }
        n -= (size_t)(close + 2 - s);
        s = close + 2;
    }
    sp = memchr(s, ' ', n);
    return parse_rfc3339(s, sp ? (size_t)(sp - s) : n, ns);
}
