/* Unit tests for parse_line and friends: every line shape of DESIGN §2 and the references. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "parse.h"
#include "parse_int.h"
#include "record.h"
#include "utf8.h"

/* ================================================================================== */
/* Fixtures and helpers                                                               */
/* ================================================================================== */

#define NS 1000000000LL
#define T0 1773844251LL /* 2026-03-18T14:30:51Z */
#define AT(sec) ((T0 + (sec)) * NS)
#define OWN(sec) .ts_src = TS_OWN, .ts_ns = AT(sec)

/* Expectation markers for a slice: NULL = must be absent, a string = must equal it. */
static const char ANY[] = "<any>";   /* not checked (but must still point into the line) */
static const char EMPTY_OR_ABSENT[] = ""; /* absent, or present with length 0 */
#define OK_ANY (-1)                  /* object_kind not checked */

/* One line and everything the record must say about it. */
struct want {
    const char *line;
    size_t len;        /* 0: strlen(line) */
    unsigned in_flags; /* REC_TRUNCATED / REC_NO_NEWLINE handed to parse_line */
    enum record_kind kind;
    int okind; /* enum object_kind, or OK_ANY */
    enum ts_source ts_src;
    int64_t ts_ns;
    unsigned flags; /* exact record.flags */
    const char *stream;
    const char *object;
    const char *service;
    const char *replicaset;
    const char *pod;
    const char *container;
    const char *message;
    const char *status_from;
    const char *status_to;
    const char *release;
    const char *build;
    const char *cli;
    const char *pod_status;
};

static const char *const kind_names[] = {"unknown", "k8s", "atom", "state", "app", "cli"};
static const char *const okind_names[] = {"unknown",    "atom", "deployment",
                                          "replicaset", "pod",  "state"};

static const char *kname(int k)
{
    return (k >= 0 && k < RECORD_KIND_COUNT) ? kind_names[k] : "<out of range>";
}

static const char *oname(int k)
{
    return (k >= 0 && k < OBJECT_KIND_COUNT) ? okind_names[k] : "<out of range>";
}

/* Printable form of bytes for failure messages (rotating static buffers). */
static const char *show(const char *s, size_t len)
{
    static char out[4][700];
    static unsigned k;
    char *o = out[k++ & 3u];
    size_t j = 0;
    size_t i;

    if (s == NULL) {
        return "<absent>";
    }
    for (i = 0; i < len && j + 8 < sizeof out[0]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            o[j++] = (char)c;
        } else {
            snprintf(o + j, 5, "\\x%02x", c);
            j += 4;
        }
    }
    if (i < len) {
        memcpy(o + j, "...", 3);
        j += 3;
    }
    o[j] = '\0';
    return o;
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void failf(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error("%s\n", msg);
    fail();
}

static int inside(const char *p, size_t len, const char *lo, size_t lo_len)
{
    uintptr_t a = (uintptr_t)p;
    uintptr_t b = (uintptr_t)lo;

    return a >= b && a <= b + lo_len && len <= (size_t)(b + lo_len - a);
}

/*
 * Check one slice of a record against its expectation; ctx names the line. A slice must
 * point into [lo, lo + lo_len) unless lo is NULL: the cli type ("promote_progress",
 * "pod_status", ...) is a constant that cannot come from the line.
 */
static void check_slice(const char *ctx, const char *field, struct slice got, const char *want,
                        const char *lo, size_t lo_len)
{
    if (got.p != NULL && lo != NULL && !inside(got.p, got.len, lo, lo_len)) {
        failf("%s\n  %s: slice does not point into the line (p=%p len=%zu)", ctx, field,
              (const void *)got.p, got.len);
    }
    if (want == ANY) {
        return;
    }
    if (want == EMPTY_OR_ABSENT) {
        if (got.p != NULL && got.len != 0) {
            failf("%s\n  %s: want empty or absent, got \"%s\"", ctx, field, show(got.p, got.len));
        }
        return;
    }
    if (want == NULL) {
        if (got.p != NULL) {
            failf("%s\n  %s: want absent, got \"%s\"", ctx, field, show(got.p, got.len));
        }
        return;
    }
    if (got.p == NULL) {
        failf("%s\n  %s: want \"%s\", got absent", ctx, field, show(want, strlen(want)));
    }
    if (got.len != strlen(want) || memcmp(got.p, want, got.len) != 0) {
        failf("%s\n  %s: want \"%s\", got \"%s\"", ctx, field, show(want, strlen(want)),
              show(got.p, got.len));
    }
}

/* The harness that the shape tests use: fields as an assertion helper would. */
#define assert_slice(s, str) check_slice("assert_slice", #s, (s), (str), (s).p, (s).len)
#define assert_absent(s) assert_null((s).p)

/* Heap copies are tracked so that a failed assertion (a longjmp) leaks nothing. */
static void *tracked[16];

static void *talloc(size_t n)
{
    size_t i;

    for (i = 0; i < sizeof tracked / sizeof tracked[0]; i++) {
        if (tracked[i] == NULL) {
            tracked[i] = malloc(n ? n : 1);
            assert_non_null(tracked[i]);
            return tracked[i];
        }
    }
    fail_msg("%s", "too many live test buffers");
    return NULL;
}

static void tfree(void *p)
{
    size_t i;

    for (i = 0; i < sizeof tracked / sizeof tracked[0]; i++) {
        if (tracked[i] == p) {
            tracked[i] = NULL;
        }
    }
    free(p);
}

static int free_tracked(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof tracked / sizeof tracked[0]; i++) {
        free(tracked[i]);
        tracked[i] = NULL;
    }
    return 0;
}

static size_t want_len(const struct want *w)
{
    return w->len ? w->len : strlen(w->line);
}

/* Parses text[0..len) from an exact-size heap copy (no NUL after it, so over-reads show
 * under ASan). The record is poisoned first: parse_line must set every field. */
static char *parse_copy(struct parser *p, const struct source *src, const char *text, size_t len,
                        unsigned in_flags, struct record *r)
{
    char *buf = talloc(len);

    memcpy(buf, text, len);
    memset(r, 0xA5, sizeof *r);
    parse_line(p, src, buf, len, in_flags, r);
    return buf;
}

static void check_record(const struct want *w, const char *buf, size_t len,
                         const struct source *src, const struct record *r)
{
    char ctx[800];
    size_t want_line_len = (w->flags & REC_CRLF) ? len - 1 : len;

    snprintf(ctx, sizeof ctx, "line \"%s\"%s", show(buf, len),
             src ? " (with source)" : " (src NULL)");

    if ((int)r->kind != (int)w->kind) {
        failf("%s\n  kind: want %s, got %s (%d)", ctx, kname((int)w->kind), kname((int)r->kind),
              (int)r->kind);
    }
    if (w->okind != OK_ANY && (int)r->object_kind != w->okind) {
        failf("%s\n  object_kind: want %s, got %s (%d)", ctx, oname(w->okind),
              oname((int)r->object_kind), (int)r->object_kind);
    }
    if (w->okind == OK_ANY && ((int)r->object_kind < 0 || r->object_kind >= OBJECT_KIND_COUNT)) {
        failf("%s\n  object_kind out of range: %d", ctx, (int)r->object_kind);
    }
    if (r->ts_src != w->ts_src) {
        failf("%s\n  ts_src: want %d, got %d", ctx, (int)w->ts_src, (int)r->ts_src);
    }
    if (r->ts_ns != (w->ts_src == TS_NONE ? 0 : w->ts_ns)) {
        failf("%s\n  ts_ns: want %lld, got %lld", ctx, (long long)w->ts_ns, (long long)r->ts_ns);
    }
    if (r->flags != (w->flags | w->in_flags)) {
        failf("%s\n  flags: want 0x%x, got 0x%x", ctx, w->flags | w->in_flags, r->flags);
    }
    if (r->src != src) {
        failf("%s\n  src: want %p, got %p", ctx, (const void *)src, (const void *)r->src);
    }
    if (r->line.p != buf || r->line.len != want_line_len) {
        failf("%s\n  line: want the whole line (len %zu), got p=%p len=%zu", ctx, want_line_len,
              (const void *)r->line.p, r->line.len);
    }
    if (src != NULL && src->app != NULL) {
        check_slice(ctx, "app", r->app, src->app, src->app, strlen(src->app));
    } else {
        check_slice(ctx, "app", r->app, NULL, buf, len);
    }
    check_slice(ctx, "stream", r->stream, w->stream, buf, len);
    check_slice(ctx, "object", r->object, w->object, buf, len);
    check_slice(ctx, "service", r->service, w->service, buf, len);
    check_slice(ctx, "replicaset", r->replicaset, w->replicaset, buf, len);
    check_slice(ctx, "pod", r->pod, w->pod, buf, len);
    check_slice(ctx, "container", r->container, w->container, buf, len);
    check_slice(ctx, "message", r->message, w->message, buf, len);
    check_slice(ctx, "status_from", r->status_from, w->status_from, buf, len);
    check_slice(ctx, "status_to", r->status_to, w->status_to, buf, len);
    check_slice(ctx, "release", r->release, w->release, buf, len);
    check_slice(ctx, "build", r->build, w->build, buf, len);
    check_slice(ctx, "cli", r->cli, w->cli, NULL, 0);
    check_slice(ctx, "pod_status", r->pod_status, w->pod_status, buf, len);
}

static const struct source test_src = {"/var/log/convox/myapp.log", "myapp", 7};
static const struct source test_src_noapp = {"-", NULL, 1};

/* A kubectl line with a nanosecond event time: what the primed parser inherits. */
static const char primer_line[] =
    "[pod/web-745f845dc-rzl2q/myapp] 2026-03-18T14:29:00.123456789Z primer";
#define PRIMER_TS (AT(-111) + 123456789LL)

/*
 * Runs one expectation four ways: fresh parser with src NULL, with a labelled source,
 * with an unlabelled source, and after a timestamped line (a line without its own time
 * must then inherit it; a line with one must keep its own).
 */
static void run_want(const struct want *w)
{
    const struct source *srcs[3] = {NULL, &test_src, &test_src_noapp};
    size_t len = want_len(w);
    struct parser p;
    struct record r;
    struct want w2;
    char *buf;
    int i;

    for (i = 0; i < 3; i++) {
        parse_init(&p);
        buf = parse_copy(&p, srcs[i], w->line, len, w->in_flags, &r);
        check_record(w, buf, len, srcs[i], &r);
        tfree(buf);
    }

    parse_init(&p);
    buf = parse_copy(&p, NULL, primer_line, strlen(primer_line), 0, &r);
    tfree(buf);
    assert_int_equal(r.ts_src, TS_OWN);
    assert_true(r.ts_ns == PRIMER_TS);
    w2 = *w;
    if (w2.ts_src == TS_NONE) {
        w2.ts_src = TS_INHERITED;
        w2.ts_ns = PRIMER_TS;
    }
    buf = parse_copy(&p, &test_src, w->line, len, w->in_flags, &r);
    check_record(&w2, buf, len, &test_src, &r);
    tfree(buf);
}

static void run_table(const struct want *rows, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        run_want(&rows[i]);
    }
}

#define RUN_TABLE(t) run_table((t), sizeof(t) / sizeof((t)[0]))

/* Rows for lines with no known shape: unknown, message = the whole line. */
#define UNK(l) .line = (l), .kind = RECORD_UNKNOWN, .message = (l)

/* ================================================================================== */
/* Convox lines (convox-logs.md §1–2, DESIGN §2)                                     */
/* ================================================================================== */

static const struct want convox_k8s_rows[] = {
    /* ReplicaSet, Deployment, Pod objects on system/k8s/ */
    {.line = "2026-03-18T14:30:51Z system/k8s/web-745f845dc Created pod: web-745f845dc-rzl2q",
     .kind = RECORD_K8S, .okind = OBJECT_REPLICASET, OWN(0), .stream = "system/k8s/web-745f845dc",
     .object = "web-745f845dc", .service = "web", .replicaset = "web-745f845dc", .pod = ANY,
     .message = "Created pod: web-745f845dc-rzl2q"},
    {.line = "2026-03-18T14:30:51Z system/k8s/web Scaled up replica set web-745f845dc to 1",
     .kind = RECORD_K8S, .okind = OBJECT_DEPLOYMENT, OWN(0), .stream = "system/k8s/web",
     .object = "web", .service = "web", .replicaset = ANY,
     .message = "Scaled up replica set web-745f845dc to 1"},
    {.line = "2026-03-18T14:30:52Z system/k8s/web-745f845dc-rzl2q Started container myapp",
     .kind = RECORD_K8S, .okind = OBJECT_POD, OWN(1),
     .stream = "system/k8s/web-745f845dc-rzl2q", .object = "web-745f845dc-rzl2q",
     .service = "web", .replicaset = "web-745f845dc", .pod = "web-745f845dc-rzl2q",
     .message = "Started container myapp"},
    /* tenant form (feature gate tid): system/<obj>, no k8s/ */
    {.line = "2026-03-18T14:30:52Z system/web-745f845dc-rzl2q Started container main",
     .kind = RECORD_K8S, .okind = OBJECT_POD, OWN(1), .stream = "system/web-745f845dc-rzl2q",
     .object = "web-745f845dc-rzl2q", .service = "web", .replicaset = "web-745f845dc",
     .pod = "web-745f845dc-rzl2q", .message = "Started container main"},
    {.line = "2026-03-18T14:30:51Z system/web-745f845dc Deleted pod: web-745f845dc-q8w2n",
     .kind = RECORD_K8S, .okind = OBJECT_REPLICASET, OWN(0), .stream = "system/web-745f845dc",
     .object = "web-745f845dc", .service = "web", .replicaset = "web-745f845dc", .pod = ANY,
     .message = "Deleted pod: web-745f845dc-q8w2n"},
    {.line = "2026-03-18T14:30:51Z system/web Scaled down replica set web-5d8f7c9b6d to 0",
     .kind = RECORD_K8S, .okind = OBJECT_DEPLOYMENT, OWN(0), .stream = "system/web",
     .object = "web", .service = "web", .replicaset = ANY,
     .message = "Scaled down replica set web-5d8f7c9b6d to 0"},
    /* HPA messages on the deployment's stream */
    {.line = "2026-03-18T14:35:00Z system/k8s/web New size: 3; reason: cpu resource utilization "
             "(percentage of request) above target",
     .kind = RECORD_K8S, .okind = OBJECT_DEPLOYMENT, OWN(249), .stream = "system/k8s/web",
     .object = "web", .service = "web", .replicaset = ANY,
     .message = "New size: 3; reason: cpu resource utilization (percentage of request) above "
                "target"},
    /* hyphenated service names */
    {.line = "2026-03-18T14:30:51Z system/k8s/web-frontend Scaled up replica set "
             "web-frontend-7d4b9c6f5 to 2",
     .kind = RECORD_K8S, .okind = OBJECT_DEPLOYMENT, OWN(0), .stream = "system/k8s/web-frontend",
     .object = "web-frontend", .service = "web-frontend", .replicaset = ANY,
     .message = "Scaled up replica set web-frontend-7d4b9c6f5 to 2"},
    {.line = "2026-03-18T14:30:53Z system/k8s/web-frontend-7d4b9c6f5-x2x9z Pulling image "
             "\"123456789012.dkr.ecr.us-east-1.amazonaws.com/myrack-myapp:web-frontend.BABCDEFGHI\"",
     .kind = RECORD_K8S, .okind = OBJECT_POD, OWN(2),
     .stream = "system/k8s/web-frontend-7d4b9c6f5-x2x9z", .object = "web-frontend-7d4b9c6f5-x2x9z",
     .service = "web-frontend", .replicaset = "web-frontend-7d4b9c6f5",
     .pod = "web-frontend-7d4b9c6f5-x2x9z", .build = ANY,
     .message = "Pulling image "
                "\"123456789012.dkr.ecr.us-east-1.amazonaws.com/myrack-myapp:web-frontend.BABCDEFGHI\""},
    /* build pod, convox run / agent pods: <svc>-<5>, no replica set */
    {.line = "2026-03-18T14:30:51Z system/k8s/build-xk2p9 Started container build",
     .kind = RECORD_K8S, .okind = OBJECT_POD, OWN(0), .stream = "system/k8s/build-xk2p9",
     .object = "build-xk2p9", .service = "build", .pod = "build-xk2p9",
     .message = "Started container build"},
    {.line = "2026-03-18T14:30:51Z system/k8s/web-k2m9x Created container: myapp",
     .kind = RECORD_K8S, .okind = OBJECT_POD, OWN(0), .stream = "system/k8s/web-k2m9x",
     .object = "web-k2m9x", .service = "web", .pod = "web-k2m9x", .message = "Created container: myapp"},
    /* timer pod: timer-<name>-<jobid>-<rand> */
    {.line = "2026-03-18T14:30:51Z system/k8s/timer-cleanup-29012345-x7k2p Started container cleanup",
     .kind = RECORD_K8S, .okind = OBJECT_POD, OWN(0),
     .stream = "system/k8s/timer-cleanup-29012345-x7k2p", .object = "timer-cleanup-29012345-x7k2p",
     .service = "cleanup", .pod = "timer-cleanup-29012345-x7k2p",
     .message = "Started container cleanup"},
    /* 5-char name with a Deployment / HPA message is the deployment */
    {.line = "2026-03-18T14:30:51Z system/k8s/build-xk2p9 Scaled up replica set "
             "build-xk2p9-6d4b9c7f8 to 1",
     .kind = RECORD_K8S, .okind = OBJECT_DEPLOYMENT, OWN(0), .stream = "system/k8s/build-xk2p9",
     .object = "build-xk2p9", .service = "build-xk2p9", .replicaset = ANY,
     .message = "Scaled up replica set build-xk2p9-6d4b9c7f8 to 1"},
    {.line = "2026-03-18T14:30:51Z system/k8s/build-xk2p9 New size: 2; reason: All metrics below "
             "target",
     .kind = RECORD_K8S, .okind = OBJECT_DEPLOYMENT, OWN(0), .stream = "system/k8s/build-xk2p9",
     .object = "build-xk2p9", .service = "build-xk2p9", .replicaset = ANY,
     .message = "New size: 2; reason: All metrics below target"},
    /* (combined from similar events): stripped, flagged */
    {.line = "2026-03-18T14:31:20Z system/k8s/web-745f845dc-rzl2q (combined from similar events): "
             "Readiness probe failed: HTTP probe failed with statuscode: 503",
     .kind = RECORD_K8S, .okind = OBJECT_POD, OWN(29), .flags = REC_COMBINED,
     .stream = "system/k8s/web-745f845dc-rzl2q", .object = "web-745f845dc-rzl2q",
     .service = "web", .replicaset = "web-745f845dc", .pod = "web-745f845dc-rzl2q",
     .message = "Readiness probe failed: HTTP probe failed with statuscode: 503"},
    {.line = "2026-03-18T14:31:20Z system/k8s/build-xk2p9 (combined from similar events): Scaled "
             "down replica set build-xk2p9-6d4b9c7f8 to 0",
     .kind = RECORD_K8S, .okind = OBJECT_DEPLOYMENT, OWN(29), .flags = REC_COMBINED,
     .stream = "system/k8s/build-xk2p9", .object = "build-xk2p9", .service = "build-xk2p9",
     .replicaset = ANY, .message = "Scaled down replica set build-xk2p9-6d4b9c7f8 to 0"},
    /* empty message, with and without the trailing space */
    {.line = "2026-03-18T14:30:51Z system/k8s/web-745f845dc-rzl2q ", .kind = RECORD_K8S,
     .okind = OBJECT_POD, OWN(0), .stream = "system/k8s/web-745f845dc-rzl2q",
     .object = "web-745f845dc-rzl2q", .service = "web", .replicaset = "web-745f845dc",
     .pod = "web-745f845dc-rzl2q", .message = ""},
    {.line = "2026-03-18T14:30:51Z system/k8s/web-745f845dc-rzl2q", .kind = RECORD_K8S,
     .okind = OBJECT_POD, OWN(0), .stream = "system/k8s/web-745f845dc-rzl2q",
     .object = "web-745f845dc-rzl2q", .service = "web", .replicaset = "web-745f845dc",
     .pod = "web-745f845dc-rzl2q", .message = EMPTY_OR_ABSENT},
    {.line = "2026-03-18T14:30:51Z system/k8s/web ", .kind = RECORD_K8S,
     .okind = OBJECT_DEPLOYMENT, OWN(0), .stream = "system/k8s/web", .object = "web",
     .service = "web", .replicaset = ANY, .message = ""},
    /* timestamps: fraction, offsets (the parser accepts them although Convox prints Z) */
    {.line = "2026-03-18T14:30:51.123Z system/k8s/web Scaled up replica set web-745f845dc to 1",
     .kind = RECORD_K8S, .okind = OBJECT_DEPLOYMENT, .ts_src = TS_OWN,
     .ts_ns = AT(0) + 123000000LL, .stream = "system/k8s/web", .object = "web", .service = "web",
     .replicaset = ANY, .message = "Scaled up replica set web-745f845dc to 1"},
    {.line = "2026-03-18T16:30:51+02:00 system/k8s/web Scaled up replica set web-745f845dc to 1",
     .kind = RECORD_K8S, .okind = OBJECT_DEPLOYMENT, OWN(0), .stream = "system/k8s/web",
     .object = "web", .service = "web", .replicaset = ANY,
     .message = "Scaled up replica set web-745f845dc to 1"},
    {.line = "2026-03-18T16:30:51+0200 system/k8s/web Scaled up replica set web-745f845dc to 1",
     .kind = RECORD_K8S, .okind = OBJECT_DEPLOYMENT, OWN(0), .stream = "system/k8s/web",
     .object = "web", .service = "web", .replicaset = ANY,
     .message = "Scaled up replica set web-745f845dc to 1"},
    {.line = "2026-03-18T09:30:51.5-05:00 system/k8s/web-745f845dc-rzl2q Started container myapp",
     .kind = RECORD_K8S, .okind = OBJECT_POD, .ts_src = TS_OWN, .ts_ns = AT(0) + 500000000LL,
     .stream = "system/k8s/web-745f845dc-rzl2q", .object = "web-745f845dc-rzl2q",
     .service = "web", .replicaset = "web-745f845dc", .pod = "web-745f845dc-rzl2q",
     .message = "Started container myapp"},
    {.line = "2026-03-18T14:30:51.000000001Z system/k8s/web-745f845dc-rzl2q Container started",
     .kind = RECORD_K8S, .okind = OBJECT_POD, .ts_src = TS_OWN, .ts_ns = AT(0) + 1,
     .stream = "system/k8s/web-745f845dc-rzl2q", .object = "web-745f845dc-rzl2q",
     .service = "web", .replicaset = "web-745f845dc", .pod = "web-745f845dc-rzl2q",
     .message = "Container started"},
    /* message keeps inner runs of spaces and its trailing space (eviction texts end in ". ") */
    {.line = "2026-03-18T14:40:00Z system/k8s/web-745f845dc-rzl2q The node was low on resource: "
             "memory. Container myapp was using 1500Mi, which exceeds its request of 512Mi. ",
     .kind = RECORD_K8S, .okind = OBJECT_POD, OWN(549),
     .stream = "system/k8s/web-745f845dc-rzl2q", .object = "web-745f845dc-rzl2q",
     .service = "web", .replicaset = "web-745f845dc", .pod = "web-745f845dc-rzl2q",
     .message = "The node was low on resource: memory. Container myapp was using 1500Mi, which "
                "exceeds its request of 512Mi. "},
};

static const struct want convox_atom_state_rows[] = {
    {.line = "2026-03-18T14:30:51Z system/k8s/atom/app Status: Running => Pending",
     .kind = RECORD_ATOM, .okind = OBJECT_ATOM, OWN(0), .stream = "system/k8s/atom/app",
     .object = "atom/app", .message = "Status: Running => Pending", .status_from = "Running",
     .status_to = "Pending"},
    {.line = "2026-03-18T14:30:51Z system/k8s/atom/app Status: None => Pending",
     .kind = RECORD_ATOM, .okind = OBJECT_ATOM, OWN(0), .stream = "system/k8s/atom/app",
     .object = "atom/app", .message = "Status: None => Pending", .status_from = "None",
     .status_to = "Pending"},
    {.line = "2026-03-18T14:30:51Z system/k8s/atom/app Status: Waiting on dependent resources to "
             "be completed",
     .kind = RECORD_ATOM, .okind = OBJECT_ATOM, OWN(0), .stream = "system/k8s/atom/app",
     .object = "atom/app", .message = "Status: Waiting on dependent resources to be completed"},
    {.line = "2026-03-18T14:30:51Z system/atom/app Status: Updating => Running", .kind = RECORD_ATOM,
     .okind = OBJECT_ATOM, OWN(0), .stream = "system/atom/app", .object = "atom/app",
     .message = "Status: Updating => Running", .status_from = "Updating", .status_to = "Running"},
    /* early v3 per-service atom */
    {.line = "2020-01-01T00:00:00Z system/k8s/atom/service/web Status: Running => Pending",
     .kind = RECORD_ATOM, .okind = OBJECT_ATOM, .ts_src = TS_OWN, .ts_ns = 1577836800LL * NS,
     .stream = "system/k8s/atom/service/web", .object = "atom/service/web", .service = "web",
     .message = "Status: Running => Pending", .status_from = "Running", .status_to = "Pending"},
    /* resource state */
    {.line = "2026-03-18T14:30:51Z system/k8s/state resource db: successfully created db "
             "instance, it may take some time to be available",
     .kind = RECORD_STATE, .okind = OBJECT_STATE, OWN(0), .stream = "system/k8s/state",
     .object = "state",
     .message = "resource db: successfully created db instance, it may take some time to be "
                "available"},
    {.line = "2026-03-18T14:30:51Z system/k8s/state resource db: db instance deletion is triggered",
     .kind = RECORD_STATE, .okind = OBJECT_STATE, OWN(0), .stream = "system/k8s/state",
     .object = "state", .message = "resource db: db instance deletion is triggered"},
    {.line = "2026-03-18T14:30:51Z system/k8s/state resource cache: no changes detected",
     .kind = RECORD_STATE, .okind = OBJECT_STATE, OWN(0), .stream = "system/k8s/state",
     .object = "state", .message = "resource cache: no changes detected"},
    {.line = "2026-03-18T14:30:51Z system/state failed to get connection info for resource 'db': "
             "secrets \"db\" not found",
     .kind = RECORD_STATE, .okind = OBJECT_STATE, OWN(0), .stream = "system/state",
     .object = "state",
     .message = "failed to get connection info for resource 'db': secrets \"db\" not found"},
};

static const struct want convox_app_rows[] = {
    {.line = "2026-03-18T14:30:57Z service/web/web-745f845dc-rzl2q GET / 200", .kind = RECORD_APP,
     .okind = OBJECT_POD, OWN(6), .stream = "service/web/web-745f845dc-rzl2q",
     .object = "web-745f845dc-rzl2q", .service = "web", .replicaset = "web-745f845dc",
     .pod = "web-745f845dc-rzl2q", .message = "GET / 200"},
    {.line = "2020-01-01T00:00:00Z service/web/web-0123456789-abcde Completed 200 OK in 8ms",
     .kind = RECORD_APP, .okind = OBJECT_POD, .ts_src = TS_OWN, .ts_ns = 1577836800LL * NS,
     .stream = "service/web/web-0123456789-abcde", .object = "web-0123456789-abcde",
     .service = "web", .replicaset = "web-0123456789", .pod = "web-0123456789-abcde",
     .message = "Completed 200 OK in 8ms"},
    {.line = "2026-03-18T14:30:51Z service/web-frontend/web-frontend-7d4b9c6f5-x2x9z GET /health "
             "200",
     .kind = RECORD_APP, .okind = OBJECT_POD, OWN(0),
     .stream = "service/web-frontend/web-frontend-7d4b9c6f5-x2x9z",
     .object = "web-frontend-7d4b9c6f5-x2x9z", .service = "web-frontend",
     .replicaset = "web-frontend-7d4b9c6f5", .pod = "web-frontend-7d4b9c6f5-x2x9z",
     .message = "GET /health 200"},
    /* v2 racks: the stream carries the release after the service (convox site, logs.md) */
    {.line = "2017-01-01T00:00:00Z service/web:RSPZQWVWGOP/5e3c8576b942 GET / 200",
     .kind = RECORD_APP, .okind = OBJECT_POD, .ts_src = TS_OWN, .ts_ns = 1483228800LL * NS,
     .stream = "service/web:RSPZQWVWGOP/5e3c8576b942", .object = "5e3c8576b942", .service = "web",
     .release = "RSPZQWVWGOP", .pod = "5e3c8576b942", .message = "GET / 200"},
    /* a colon not followed by a release id stays in the name */
    {.line = "2017-01-01T00:00:00Z service/web:latest/5e3c8576b942 GET / 200", .kind = RECORD_APP,
     .okind = OBJECT_POD, .ts_src = TS_OWN, .ts_ns = 1483228800LL * NS,
     .stream = "service/web:latest/5e3c8576b942", .object = "5e3c8576b942",
     .service = "web:latest", .pod = "5e3c8576b942", .message = "GET / 200"},
    /* build output inside convox logs on AWS */
    {.line = "2026-03-18T14:29:40Z service/build/build-xk2p9 Step 3/9 : RUN make",
     .kind = RECORD_APP, .okind = OBJECT_POD, OWN(-71), .stream = "service/build/build-xk2p9",
     .object = "build-xk2p9", .service = "build", .pod = "build-xk2p9",
     .message = "Step 3/9 : RUN make"},
    /* elastic racks: timer/ and process/ */
    {.line = "2026-03-18T14:30:51Z timer/cleanup/timer-cleanup-29012345-x7k2p deleted 42 expired "
             "sessions",
     .kind = RECORD_APP, .okind = OBJECT_POD, OWN(0),
     .stream = "timer/cleanup/timer-cleanup-29012345-x7k2p",
     .object = "timer-cleanup-29012345-x7k2p", .service = "cleanup",
     .pod = "timer-cleanup-29012345-x7k2p", .message = "deleted 42 expired sessions"},
    {.line = "2026-03-18T14:30:51Z process/web/web-745f845dc-rzl2q listening on 3000",
     .kind = RECORD_APP, .okind = OBJECT_POD, OWN(0), .stream = "process/web/web-745f845dc-rzl2q",
     .object = "web-745f845dc-rzl2q", .service = "web", .replicaset = "web-745f845dc",
     .pod = "web-745f845dc-rzl2q", .message = "listening on 3000"},
    /* v2 (ECS) task id in the pod position */
    {.line = "2019-06-01T12:00:00Z service/web/5f2c6e1d9a8b4c3d2e1f0a9b8c7d6e5f Listening on :3000",
     .kind = RECORD_APP, .okind = OBJECT_POD, .ts_src = TS_OWN, .ts_ns = 1559390400LL * NS,
     .stream = "service/web/5f2c6e1d9a8b4c3d2e1f0a9b8c7d6e5f",
     .object = "5f2c6e1d9a8b4c3d2e1f0a9b8c7d6e5f", .service = "web",
     .pod = "5f2c6e1d9a8b4c3d2e1f0a9b8c7d6e5f", .message = "Listening on :3000"},
    /* empty app message */
    {.line = "2026-03-18T14:30:51Z service/web/web-745f845dc-rzl2q ", .kind = RECORD_APP,
     .okind = OBJECT_POD, OWN(0), .stream = "service/web/web-745f845dc-rzl2q",
     .object = "web-745f845dc-rzl2q", .service = "web", .replicaset = "web-745f845dc",
     .pod = "web-745f845dc-rzl2q", .message = ""},
    /* app output that looks like other shapes stays app output */
    {.line = "2026-03-18T14:30:51Z service/web/web-745f845dc-rzl2q Status: Running => Pending",
     .kind = RECORD_APP, .okind = OBJECT_POD, OWN(0), .stream = "service/web/web-745f845dc-rzl2q",
     .object = "web-745f845dc-rzl2q", .service = "web", .replicaset = "web-745f845dc",
     .pod = "web-745f845dc-rzl2q", .message = "Status: Running => Pending"},
    {.line = "2026-03-18T14:30:51Z service/web/web-745f845dc-rzl2q ERROR: rollback",
     .kind = RECORD_APP, .okind = OBJECT_POD, OWN(0), .stream = "service/web/web-745f845dc-rzl2q",
     .object = "web-745f845dc-rzl2q", .service = "web", .replicaset = "web-745f845dc",
     .pod = "web-745f845dc-rzl2q", .message = "ERROR: rollback"},
    /* system group JSON access logs */
    {.line = "2026-03-18T14:30:51Z /nginx-access-logs {\"status\":200,\"request\":\"GET / "
             "HTTP/1.1\",\"host\":\"web.myapp.example.com\"}",
     .kind = RECORD_APP, .okind = OK_ANY, OWN(0), .stream = "/nginx-access-logs", .object = ANY,
     .service = ANY, .replicaset = ANY, .pod = ANY,
     .message = "{\"status\":200,\"request\":\"GET / HTTP/1.1\",\"host\":\"web.myapp.example.com\"}"},
};

/* Streams of no known class: opaque, but time, stream and message are kept. */
static const struct want convox_other_stream_rows[] = {
    {.line = "2016-05-11T18:33:09Z web:RABCDEFGHI/abc123 GET / 200", .kind = RECORD_UNKNOWN,
     .okind = OK_ANY, .ts_src = TS_OWN, .ts_ns = 1462991589LL * NS,
     .stream = "web:RABCDEFGHI/abc123", .object = ANY, .service = ANY, .replicaset = ANY,
     .pod = ANY, .release = ANY, .message = "GET / 200"},
    {.line = "2016-05-11T18:33:09Z agent:0.70/i-0abc1234 Starting web process 4f2a9c1b7e3d",
     .kind = RECORD_UNKNOWN, .okind = OK_ANY, .ts_src = TS_OWN, .ts_ns = 1462991589LL * NS,
     .stream = "agent:0.70/i-0abc1234", .object = ANY, .service = ANY, .replicaset = ANY,
     .pod = ANY, .message = "Starting web process 4f2a9c1b7e3d"},
    {.line = "2016-05-11T18:33:09Z build:BABCDEFGHI/4f2a9c1b7e3d Step 2/7 : RUN npm install",
     .kind = RECORD_UNKNOWN, .okind = OK_ANY, .ts_src = TS_OWN, .ts_ns = 1462991589LL * NS,
     .stream = "build:BABCDEFGHI/4f2a9c1b7e3d", .object = ANY, .service = ANY, .replicaset = ANY,
     .pod = ANY, .build = ANY, .message = "Step 2/7 : RUN npm install"},
    /* v2 rack system streams: by the tenant rule these are system/<obj> k8s records */
    {.line = "2019-06-01T12:00:00Z system/cloudformation aws/cfm myrack-myapp UPDATE_IN_PROGRESS "
             "ServiceWeb Resource creation Initiated",
     .kind = RECORD_K8S, .okind = OK_ANY, .ts_src = TS_OWN, .ts_ns = 1559390400LL * NS,
     .stream = "system/cloudformation", .object = "cloudformation", .service = ANY,
     .replicaset = ANY, .pod = ANY,
     .message = "aws/cfm myrack-myapp UPDATE_IN_PROGRESS ServiceWeb Resource creation Initiated"},
    {.line = "2019-06-01T12:00:05Z system/ecs aws/ecs (service myrack-myapp-ServiceWeb-1ABCDEF) "
             "has reached a steady state.",
     .kind = RECORD_K8S, .okind = OK_ANY, .ts_src = TS_OWN, .ts_ns = 1559390405LL * NS,
     .stream = "system/ecs", .object = "ecs", .service = ANY, .replicaset = ANY, .pod = ANY,
     .message = "aws/ecs (service myrack-myapp-ServiceWeb-1ABCDEF) has reached a steady state."},
};

static void test_convox_k8s_lines(void **state)
{
    (void)state;
    RUN_TABLE(convox_k8s_rows);
}

static void test_convox_atom_and_state_lines(void **state)
{
    (void)state;
    RUN_TABLE(convox_atom_state_rows);
}

static void test_convox_app_lines(void **state)
{
    (void)state;
    RUN_TABLE(convox_app_rows);
}

static void test_convox_other_streams(void **state)
{
    (void)state;
    RUN_TABLE(convox_other_stream_rows);
}

/* Every atom transition of convox-logs.md §1.3 (plus legacy statuses), both stream forms. */
static void test_atom_transitions(void **state)
{
    static const char *const tr[][2] = {
        {"None", "Pending"},       {"Running", "Pending"},     {"Reverted", "Pending"},
        {"Failure", "Pending"},    {"Pending", "Updating"},    {"Pending", "Error"},
        {"Updating", "Running"},   {"Updating", "Deadline"},   {"Updating", "Error"},
        {"Updating", "Cancelled"}, {"Deadline", "Rollback"},   {"Error", "Rollback"},
        {"Cancelled", "Rollback"}, {"Deadline", "Failure"},    {"Error", "Failure"},
        {"Cancelled", "Failure"},  {"Rollback", "Reverted"},   {"Rollback", "Failure"},
        {"Updating", "Success"},   {"Updating", "Failed"},     {"Success", "Pending"},
    };
    static const char *const streams[] = {"system/k8s/atom/app", "system/atom/app"};
    char line[200];
    char msg[100];
    size_t i;
    size_t s;

    (void)state;
    for (s = 0; s < 2; s++) {
        for (i = 0; i < sizeof tr / sizeof tr[0]; i++) {
            struct want w = {.kind = RECORD_ATOM, .okind = OBJECT_ATOM, OWN(0)};

            snprintf(msg, sizeof msg, "Status: %s => %s", tr[i][0], tr[i][1]);
            snprintf(line, sizeof line, "2026-03-18T14:30:51Z %s %s", streams[s], msg);
            w.line = line;
            w.stream = streams[s];
            w.object = "atom/app";
            w.message = msg;
            w.status_from = tr[i][0];
            w.status_to = tr[i][1];
            run_want(&w);
        }
    }
}

/* ================================================================================== */
/* Kubernetes message variants (k8s-events.md §1–14, convox-logs.md §3)               */
/* ================================================================================== */

#define IMG "123456789012.dkr.ecr.us-east-1.amazonaws.com/myrack-myapp:web.BABCDEFGHI"

/* Pod events, every §14 version variant and the §3 failure texts. */
static const char *const pod_msgs[] = {
    /* Created: ≤1.13, 1.14–1.32, ≈1.33–1.34, ≥1.35, Docker era */
    "Created container",
    "Created container main",
    "Created container myapp",
    "Created container: myapp",
    "Container created",
    "Created container with docker id 4f2a9c1b7e3d; Security:[seccomp=unconfined]",
    /* Started */
    "Started container",
    "Started container myapp",
    "Container started",
    /* Pulling / Pulled */
    "pulling image \"" IMG "\"",
    "Pulling image \"" IMG "\"",
    "Successfully pulled image \"" IMG "\"",
    "Successfully pulled image \"" IMG "\" in 38.871741781s",
    "Successfully pulled image \"" IMG "\" in 1.562s (1.562s including waiting)",
    "Successfully pulled image \"" IMG "\" in 806ms (2.1s including waiting). Image size: "
    "52428800 bytes.",
    "Container image \"" IMG "\" already present on machine",
    "Container image \"" IMG "\" already present on machine and can be accessed by the pod",
    /* BackOff (crash) */
    "Back-off restarting failed container",
    "Back-off restarting failed container myapp in pod "
    "web-745f845dc-rzl2q_myrack-myapp(5c2f0a1e-8d3b-4f6a-9e7c-1b2d3e4f5a6b)",
    /* Killing (dropped by Convox, but must parse) */
    "Killing container with id docker://main:Need to kill Pod",
    "Stopping container myapp",
    /* probes */
    "Readiness probe failed: HTTP probe failed with statuscode: 404",
    "Readiness probe failed: Get \"http://10.0.1.23:3000/\": dial tcp 10.0.1.23:3000: connect: "
    "connection refused",
    "Readiness probe failed: Get \"http://10.0.1.23:3000/\": context deadline exceeded "
    "(Client.Timeout exceeded while awaiting headers)",
    "Liveness probe failed: Get http://10.244.5.16:8022/health: dial tcp 10.244.5.16:8022: "
    "connect: connection refused",
    "Startup probe failed: dial tcp 10.0.1.23:3000: i/o timeout",
    "Readiness probe errored and resulted in unknown state: rpc error: code = DeadlineExceeded "
    "desc = failed to exec in container: timeout 1s exceeded: context deadline exceeded",
    /* image pull */
    "Failed to pull image \"" IMG "\": rpc error: code = NotFound desc = failed to pull and "
    "unpack image \"" IMG "\": failed to resolve reference \"" IMG "\": not found",
    "Error: ErrImagePull",
    "Back-off pulling image \"" IMG "\"",
    "Error: ImagePullBackOff",
    "Error: InvalidImageName",
    "Failed to apply default image tag \"MyRack/MyApp:web\": couldn't parse image name "
    "\"MyRack/MyApp:web\": invalid reference format: repository name must be lowercase",
    /* scheduling, every taint-fragment era */
    "0/3 nodes are available: 3 node(s) had taints that the pod didn't tolerate.",
    "0/3 nodes are available: 1 node(s) had taint {node.kubernetes.io/not-ready: }, that the "
    "pod didn't tolerate, 2 Insufficient cpu.",
    "0/3 nodes are available: 3 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/3 "
    "nodes are available: 3 Preemption is not helpful for scheduling..",
    "0/5 nodes are available: 2 Insufficient memory, 3 node(s) had untolerated taint(s). "
    "preemption: 0/5 nodes are available: 2 No preemption victims found for incoming pod, 3 "
    "Preemption is not helpful for scheduling.",
    "pod didn't trigger scale-up: 1 Insufficient cpu",
    "Successfully assigned myrack-myapp/web-745f845dc-rzl2q to ip-10-0-1-23.ec2.internal",
    /* config */
    "Error: couldn't find key DATABASE_URL in Secret myrack-myapp/env-web",
    "Error: secret \"env-web\" not found",
    "Error: configmap \"web-config\" not found",
    /* container start */
    "Error: failed to create containerd task: failed to create shim task: OCI runtime create "
    "failed: runc create failed: unable to start container process: exec: \"bin/web\": "
    "executable file not found in $PATH: unknown",
    /* volumes */
    "MountVolume.SetUp failed for volume \"data\" : secret \"data\" not found",
    "Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[], failed "
    "to process volumes=[]: timed out waiting for the condition",
    /* eviction: both eras, trailing space kept */
    "The node was low on resource: memory. Container myapp was using 1500Mi, which exceeds its "
    "request of 512Mi. ",
    "The node was low on resource: memory. Threshold quantity: 100Mi, available: 89436Ki. "
    "Container myapp was using 1472540Ki, request is 512Mi, has larger consumption of memory. ",
    "Preempted by pod 7d1c2b3a-0000-4000-8000-000000000000 on node ip-10-0-1-24.ec2.internal",
    "Pod was rejected: Node didn't have enough resource: cpu, requested: 2000, used: 3500, "
    "capacity: 4000",
    /* sandbox, node */
    "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for "
    "sandbox \"4f2a9c1b\": plugin type=\"aws-cni\" name=\"aws-cni\" failed (add): add cmd: "
    "failed to assign an IP address to container",
    "Node is not ready",
};

/* Deployment (ScalingReplicaSet, every era) and HPA messages on the deployment stream. */
static const char *const deploy_msgs[] = {
    "Scaled up replica set web-745f845dc to 1",
    "Scaled up replica set web-745f845dc to 3 from 1",
    "Scaled up replica set web-745f845dc from 0 to 1",
    "Scaled up replica set web-745f845dc from 1 to 3",
    "Scaled down replica set web-5d8f7c9b6d to 0",
    "Scaled down replica set web-5d8f7c9b6d to 1 from 2",
    "Scaled down replica set web-5d8f7c9b6d from 2 to 1",
    "New size: 3; reason: cpu resource utilization (percentage of request) above target",
    "New size: 1; reason: All metrics below target",
    "New size: 4; reason: memory resource utilization (percentage of request) above target; "
    "error: Operation cannot be fulfilled on deployments.apps \"web\"",
    "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned "
    "from resource metrics API",
    "invalid metrics (1 invalid out of 1), first error is: failed to get cpu utilization: "
    "missing request for cpu",
    "Failed to create new replica set \"web-745f845dc\": replicasets.apps \"web-745f845dc\" is "
    "forbidden: exceeded quota: compute",
    "This deployment is selecting all pods. A non-empty selector is required.",
};

/* ReplicaSet messages. */
static const char *const rs_msgs[] = {
    "Created pod: web-745f845dc-rzl2q",
    "Deleted pod: web-745f845dc-rzl2q",
    "Error creating: pods \"web-745f845dc-\" is forbidden: exceeded quota: compute-resources, "
    "requested: cpu=500m, used: cpu=2, limited: cpu=2",
    "Error creating: pods \"web-745f845dc-x8k2p\" is forbidden: violates PodSecurity "
    "\"restricted:latest\": allowPrivilegeEscalation != false",
    "Error creating: Internal error occurred: failed calling webhook \"validate.kyverno.svc\": "
    "context deadline exceeded",
    "Error deleting: pods \"web-745f845dc-rzl2q\" not found",
};

#define COMBINED "(combined from similar events): "

/* Runs msg on obj through system/k8s/, tenant system/ and the combined form. */
static void run_k8s_variant(const struct want *base, const char *obj, const char *msg)
{
    static const char *const prefixes[] = {"system/k8s/", "system/"};
    char line[1200];
    char stream[200];
    size_t pi;
    int comb;

    for (pi = 0; pi < 2; pi++) {
        for (comb = 0; comb < 2; comb++) {
            struct want w = *base;

            snprintf(stream, sizeof stream, "%s%s", prefixes[pi], obj);
            snprintf(line, sizeof line, "2026-03-18T14:30:51Z %s %s%s", stream,
                     comb ? COMBINED : "", msg);
            w.line = line;
            w.stream = stream;
            w.object = obj;
            w.message = msg;
            w.flags = comb ? REC_COMBINED : 0;
            run_want(&w);
        }
    }
}

static void test_k8s_pod_message_variants(void **state)
{
    const struct want base = {.kind = RECORD_K8S, .okind = OBJECT_POD, OWN(0), .service = "web",
                              .replicaset = "web-745f845dc", .pod = "web-745f845dc-rzl2q",
                              .build = ANY, .release = ANY};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof pod_msgs / sizeof pod_msgs[0]; i++) {
        run_k8s_variant(&base, "web-745f845dc-rzl2q", pod_msgs[i]);
    }
}

static void test_k8s_deployment_message_variants(void **state)
{
    const struct want base = {.kind = RECORD_K8S, .okind = OBJECT_DEPLOYMENT, OWN(0),
                              .service = "web", .replicaset = ANY};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof deploy_msgs / sizeof deploy_msgs[0]; i++) {
        run_k8s_variant(&base, "web", deploy_msgs[i]);
    }
}

static void test_k8s_replicaset_message_variants(void **state)
{
    const struct want base = {.kind = RECORD_K8S, .okind = OBJECT_REPLICASET, OWN(0),
                              .service = "web", .replicaset = "web-745f845dc", .pod = ANY};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof rs_msgs / sizeof rs_msgs[0]; i++) {
        run_k8s_variant(&base, "web-745f845dc", rs_msgs[i]);
    }
}

/* ================================================================================== */
/* Object names (DESIGN §2, convox-logs.md §1.2)                                      */
/* ================================================================================== */

struct name_case {
    const char *name;
    const char *msg;
    enum object_kind okind;
    const char *service;
    const char *replicaset;
    const char *pod;
};

static const struct name_case name_cases[] = {
    /* <svc>-<hash>-<5>: pods */
    {"web-745f845dc-rzl2q", "Started container myapp", OBJECT_POD, "web", "web-745f845dc",
     "web-745f845dc-rzl2q"},
    {"web-frontend-7d4b9c6f5-x2x9z", "Started container myapp", OBJECT_POD, "web-frontend",
     "web-frontend-7d4b9c6f5", "web-frontend-7d4b9c6f5-x2x9z"},
    {"web-66b6c48dd5-8lnnw", "Pulling image \"nginx\"", OBJECT_POD, "web", "web-66b6c48dd5",
     "web-66b6c48dd5-8lnnw"}, /* 10-char hash */
    {"web-5f7b6c-k2m9x", "Started container myapp", OBJECT_POD, "web", "web-5f7b6c",
     "web-5f7b6c-k2m9x"}, /* 6-char hash */
    {"worker-bcdfghjkl-abc12", "Started container myapp", OBJECT_POD, "worker",
     "worker-bcdfghjkl", "worker-bcdfghjkl-abc12"}, /* hash without digits, consonants only */
    {"web-0123456789-abcde", "Started container myapp", OBJECT_POD, "web", "web-0123456789",
     "web-0123456789-abcde"},
    /* <svc>-<hash>: replica sets */
    {"web-745f845dc", "Created pod: web-745f845dc-rzl2q", OBJECT_REPLICASET, "web",
     "web-745f845dc", NULL},
    {"web-frontend-7d4b9c6f5", "Created pod: web-frontend-7d4b9c6f5-x2x9z", OBJECT_REPLICASET,
     "web-frontend", "web-frontend-7d4b9c6f5", NULL},
    {"web-bcdfghj", "Deleted pod: web-bcdfghj-rzl2q", OBJECT_REPLICASET, "web", "web-bcdfghj",
     NULL},
    {"web-66b6c48dd5", "Created pod: web-66b6c48dd5-8lnnw", OBJECT_REPLICASET, "web",
     "web-66b6c48dd5", NULL},
    /* plain names: deployments */
    {"web", "Scaled up replica set web-745f845dc to 1", OBJECT_DEPLOYMENT, "web", NULL, NULL},
    {"web-frontend", "Scaled up replica set web-frontend-7d4b9c6f5 to 1", OBJECT_DEPLOYMENT,
     "web-frontend", NULL, NULL},
    {"web-worker", "Scaled down replica set web-worker-7d4b9c6f5 to 0", OBJECT_DEPLOYMENT,
     "web-worker", NULL, NULL}, /* "worker": 6 chars but not hash-like */
    {"my-app-admin", "Scaled up replica set my-app-admin-7d4b9c6f5 to 1", OBJECT_DEPLOYMENT,
     "my-app-admin", NULL, NULL},
    {"web-a1b2c", "New size: 2; reason: All metrics below target", OBJECT_DEPLOYMENT, "web-a1b2c",
     NULL, NULL}, /* 5 chars, but a/1 are not in the pod-suffix alphabet */
    {"web-1234567890a", "Scaled up replica set web-1234567890a-7d4b9c6f5 to 1", OBJECT_DEPLOYMENT,
     "web-1234567890a", NULL, NULL}, /* 11 chars: too long for a hash */
    {"web", "New size: 3; reason: cpu resource utilization (percentage of request) above target",
     OBJECT_DEPLOYMENT, "web", NULL, NULL},
    /* <svc>-<5 from bcdfghjklmnpqrstvwxz2456789>: build, run and agent pods */
    {"build-xk2p9", "Started container build", OBJECT_POD, "build", NULL, "build-xk2p9"},
    {"web-k2m9x", "Created container myapp", OBJECT_POD, "web", NULL, "web-k2m9x"},
    {"datadog-bx9qk", "Pulling image \"datadog/agent:7\"", OBJECT_POD, "datadog", NULL,
     "datadog-bx9qk"},
    {"api-gateway-x7k2p", "Started container api-gateway", OBJECT_POD, "api-gateway", NULL,
     "api-gateway-x7k2p"}, /* "gateway" is not hash-like, so not <svc>-<hash>-<5> */
    {"web-abcdefgh-x2x9z", "Started container myapp", OBJECT_POD, "web-abcdefgh", NULL,
     "web-abcdefgh-x2x9z"}, /* "abcdefgh": no digit, has vowels */
    /* ... unless the message is a Deployment/HPA message */
    {"build-xk2p9", "Scaled up replica set build-xk2p9-6d4b9c7f8 to 1", OBJECT_DEPLOYMENT,
     "build-xk2p9", NULL, NULL},
    {"build-xk2p9", "Scaled down replica set build-xk2p9-6d4b9c7f8 to 0 from 1",
     OBJECT_DEPLOYMENT, "build-xk2p9", NULL, NULL},
    {"web-k2m9x", "New size: 2; reason: All metrics below target", OBJECT_DEPLOYMENT, "web-k2m9x",
     NULL, NULL},
    {"proxy-https", "Failed to create new replica set \"proxy-https-6d4b8f7c9b\": "
     "replicasets.apps \"proxy-https-6d4b8f7c9b\" is forbidden: exceeded quota: compute",
     OBJECT_DEPLOYMENT, "proxy-https", NULL, NULL},
    {"proxy-https", "Rolled back deployment \"proxy-https\" to revision 3", OBJECT_DEPLOYMENT,
     "proxy-https", NULL, NULL},
    {"web-k2m9x", "unable to get metric http_requests: unable to fetch metrics from custom "
     "metrics API: the server could not find the metric http_requests for pods",
     OBJECT_DEPLOYMENT, "web-k2m9x", NULL, NULL},
    {"web-k2m9x", "missing request for cpu in container web of Pod web-745f845dc-rzl2q",
     OBJECT_DEPLOYMENT, "web-k2m9x", NULL, NULL},
    /* timer pods: timer-<name>-<digits>-<5> */
    {"timer-cleanup-29012345-x7k2p", "Started container cleanup", OBJECT_POD, "cleanup", NULL,
     "timer-cleanup-29012345-x7k2p"},
    {"timer-db-backup-29012345-q8w2n", "Created container: db-backup", OBJECT_POD, "db-backup",
     NULL, "timer-db-backup-29012345-q8w2n"},
    /* an Indexed Job's pods (parallelCount > 1): timer-<name>-<digits>-<index>-<5> */
    {"timer-data-import-29012345-2-x7k2p", "Started container myapp", OBJECT_POD, "data-import",
     NULL, "timer-data-import-29012345-2-x7k2p"},
    {"timer-sync-29012345-12-q8w2n", "Created container: myapp", OBJECT_POD, "sync", NULL,
     "timer-sync-29012345-12-q8w2n"},
    /* KEDA's HPA of a service (keda-hpa-<ScaledObject>, named after the service) */
    {"keda-hpa-worker", "New size: 4; reason: external metric s0-aws-sqs-queue-jobs above target",
     OBJECT_DEPLOYMENT, "worker", NULL, NULL},
    {"keda-hpa-worker2", "New size: 2; reason: All metrics below target", OBJECT_DEPLOYMENT,
     "worker2", NULL, NULL},
    {"keda-hpa-cdn42", "New size: 2; reason: All metrics below target", OBJECT_DEPLOYMENT, "cdn42",
     NULL, NULL},
    /* a digit segment of a timer's own name is not a job id */
    {"timer-v2-29012345-q8w2n", "Created container: myapp", OBJECT_POD, "v2", NULL,
     "timer-v2-29012345-q8w2n"},
};

static void check_name_fields(const struct name_case *c, const struct record *r, const char *lo,
                              size_t lo_len, const char *how)
{
    char ctx[300];

    snprintf(ctx, sizeof ctx, "%s: name \"%s\" msg \"%s\"", how, c->name, c->msg);
    if (r->object_kind != c->okind) {
        failf("%s\n  object_kind: want %s, got %s (%d)", ctx, oname((int)c->okind),
              oname((int)r->object_kind), (int)r->object_kind);
    }
    check_slice(ctx, "service", r->service, c->service, lo, lo_len);
    check_slice(ctx, "replicaset", r->replicaset, c->replicaset, lo, lo_len);
    check_slice(ctx, "pod", r->pod, c->pod, lo, lo_len);
}

static void test_parse_object_name_direct(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof name_cases / sizeof name_cases[0]; i++) {
        const struct name_case *c = &name_cases[i];
        size_t nlen = strlen(c->name);
        size_t mlen = strlen(c->msg);
        char *name = talloc(nlen);
        char *msg = talloc(mlen);
        struct record r;

        memcpy(name, c->name, nlen);
        memcpy(msg, c->msg, mlen);
        memset(&r, 0, sizeof r);
        parse_object_name((struct slice){name, nlen}, (struct slice){msg, mlen}, &r);
        check_name_fields(c, &r, name, nlen, "parse_object_name");
        tfree(name);
        tfree(msg);
    }
}

/* Without a message, a <svc>-<5> name is a pod; the shape alone decides the rest. */
static void test_parse_object_name_empty_msg(void **state)
{
    static const struct name_case cases[] = {
        {"build-xk2p9", "", OBJECT_POD, "build", NULL, "build-xk2p9"},
        {"web", "", OBJECT_DEPLOYMENT, "web", NULL, NULL},
        {"web-745f845dc", "", OBJECT_REPLICASET, "web", "web-745f845dc", NULL},
        {"web-745f845dc-rzl2q", "", OBJECT_POD, "web", "web-745f845dc", "web-745f845dc-rzl2q"},
        {"timer-cleanup-29012345-x7k2p", "", OBJECT_POD, "cleanup", NULL,
         "timer-cleanup-29012345-x7k2p"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct record r;

        memset(&r, 0, sizeof r);
        parse_object_name((struct slice){cases[i].name, strlen(cases[i].name)},
                          (struct slice){"", 0}, &r);
        check_name_fields(&cases[i], &r, cases[i].name, strlen(cases[i].name),
                          "parse_object_name (empty msg)");
        memset(&r, 0, sizeof r);
        parse_object_name((struct slice){cases[i].name, strlen(cases[i].name)}, SLICE_NONE, &r);
        check_name_fields(&cases[i], &r, cases[i].name, strlen(cases[i].name),
                          "parse_object_name (absent msg)");
    }
}

/*
 * Each byte value in a hash, a strict and a loose pod suffix: Kubernetes' suffix alphabet is
 * "bcdfghjklmnpqrstvwxz2456789"; a hash may also be any lower-case alphanumerics with a digit.
 */
static void test_name_alphabets(void **state)
{
    static const char safe[] = "bcdfghjklmnpqrstvwxz2456789";

    (void)state;
    for (int c = 1; c < 256; c++) {
        int is_safe = c < 128 && strchr(safe, c) != NULL;
        int digit = c >= '0' && c <= '9', alnum = digit || (c >= 'a' && c <= 'z');
        char name[40];
        struct record r;

        if (c == '-' || c == '/' || c == ' ') {
            continue; /* they split the name */
        }
        /* web-<c x8>-rzl2q: a pod of replica set web-<c x8> if the eight make a hash */
        snprintf(name, sizeof name, "web-%c%c%c%c%c%c%c%c-rzl2q", c, c, c, c, c, c, c, c);
        memset(&r, 0, sizeof r);
        parse_object_name((struct slice){name, strlen(name)}, SLICE_NONE, &r);
        if ((r.replicaset.len == 12) != (is_safe || digit)) {
            fail_msg("byte 0x%02x in a hash: replica set \"%.*s\"", c, (int)r.replicaset.len,
                     r.replicaset.p ? r.replicaset.p : "");
        }
        /* web-<c x5>: a convox run pod if the five are a strict suffix, else a deployment */
        snprintf(name, sizeof name, "web-%c%c%c%c%c", c, c, c, c, c);
        memset(&r, 0, sizeof r);
        parse_object_name((struct slice){name, strlen(name)}, SLICE_NONE, &r);
        if ((r.object_kind == OBJECT_POD) != is_safe) {
            fail_msg("byte 0x%02x in a run pod's suffix: kind %d", c, (int)r.object_kind);
        }
        /* web-745f845dc-<c x5>: a pod of the replica set if the five are lower-case alnum */
        snprintf(name, sizeof name, "web-745f845dc-%c%c%c%c%c", c, c, c, c, c);
        memset(&r, 0, sizeof r);
        parse_object_name((struct slice){name, strlen(name)}, SLICE_NONE, &r);
        if ((r.replicaset.len == 13) != alnum) {
            fail_msg("byte 0x%02x in a pod suffix: replica set \"%.*s\"", c,
                     (int)r.replicaset.len, r.replicaset.p ? r.replicaset.p : "");
        }
    }
}

/* Two records agree on what a name says (slices compared by where they point). */
static void same_name_fields(const struct record *a, const struct record *b, const char *ctx)
{
    if (a->object_kind != b->object_kind || a->object.p != b->object.p ||
        a->object.len != b->object.len || a->pod.p != b->pod.p || a->pod.len != b->pod.len ||
        a->replicaset.p != b->replicaset.p || a->replicaset.len != b->replicaset.len ||
        a->service.p != b->service.p || a->service.len != b->service.len) {
        fail_msg("%s: the memoised shape differs from parse_object_name", ctx);
    }
}

/*
 * parse_line remembers the shapes of recent names. Every name case with every case's message,
 * three rounds (the second and third find the memo), must give what parse_object_name gives:
 * a <svc>-<5> name that a Deployment's message makes a deployment must not stick.
 */
static void test_name_memo_agrees(void **state)
{
    struct parser p;
    char line[400];
    size_t n = sizeof name_cases / sizeof name_cases[0];

    (void)state;
    parse_init(&p);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < n; k += (round == 0 ? 1 : 3)) {
                struct record r, want;
                const char *name = name_cases[i].name;
                int len = snprintf(line, sizeof line, "2026-03-18T14:30:51Z system/k8s/%s %s",
                                   name, name_cases[k].msg);
                const char *obj = line + strlen("2026-03-18T14:30:51Z system/k8s/");

                if (len <= 0 || (size_t)len >= sizeof line) {
                    continue;
                }
                parse_line(&p, NULL, line, (size_t)len, 0, &r);
                if (r.object.p != obj) {
                    continue; /* an atom, state or other stream: not a name lookup */
                }
                memset(&want, 0, sizeof want);
                parse_object_name((struct slice){obj, strlen(name)},
                                  (struct slice){r.message.p, r.message.len}, &want);
                same_name_fields(&r, &want, name);
            }
        }
    }
    /* the same run pod name, first under a Deployment's message, then a pod's */
    {
        struct record r;
        const char *a = "2026-03-18T14:30:51Z system/k8s/builder-xk2p9 Scaled up replica set x";
        const char *b = "2026-03-18T14:30:52Z system/k8s/builder-xk2p9 Started container main";

        parse_line(&p, NULL, a, strlen(a), 0, &r);
        assert_int_equal(r.object_kind, OBJECT_DEPLOYMENT);
        parse_line(&p, NULL, b, strlen(b), 0, &r);
        assert_int_equal(r.object_kind, OBJECT_POD);
        parse_line(&p, NULL, a, strlen(a), 0, &r);
        assert_int_equal(r.object_kind, OBJECT_DEPLOYMENT);
    }
}

/* The inline memchr and memcmp of the parser against libc's, at every length and place. */
static void test_find_and_same_agree_with_libc(void **state)
{
    char a[80], b[80];

    (void)state;
    for (size_t n = 0; n <= 70; n++) {
        memset(a, 'x', sizeof a);
        assert_ptr_equal(parse__find(a, n, ' '), memchr(a, ' ', n));
        for (size_t at = 0; at < n; at++) {
            memset(a, 'x', sizeof a);
            a[at] = ' ';
            if (at + 5 < n) {
                a[at + 5] = ' '; /* the first of two */
            }
            a[n] = ' '; /* just past the end: must not be found */
            if (parse__find(a, n, ' ') != memchr(a, ' ', n)) {
                fail_msg("find: space at %zu of %zu", at, n);
            }
        }
        for (size_t at = 0; at <= n && n <= 40; at++) {
            memset(a, 'y', sizeof a);
            memset(b, 'y', sizeof b);
            if (at < n) {
                b[at] = 'z';
            }
            b[n] = 'q'; /* just past the end: must not count */
            if (parse__same(a, b, n) != (memcmp(a, b, n) == 0)) {
                fail_msg("same: difference at %zu of %zu", at, n);
            }
        }
    }
}

/*
 * A line's time is taken from the last line's when only its seconds differ: every line of a
 * walk across minutes, hours, days and a leap second, forwards and back, against the full
 * parse of its own text.
 */
static void test_time_from_the_last_line(void **state)
{
    static const char *const odd[] = {
        "2026-12-31T23:59:60Z", "2026-12-31T23:59:59Z", "2026-12-31T23:59:5xZ",
        "2026-12-31T23:59:61Z", "2026-12-31T23:59:07+00:00", "2026-12-31T23:59:07.5Z",
    };
    struct parser p;
    char line[128];
    int64_t t = 1798761000LL; /* 2026-12-31T23:10:00Z */
    uint32_t seed = 99;

    (void)state;
    parse_init(&p);
    for (int i = 0; i < 3000; i++) {
        struct record r;
        char ts[32];
        int64_t want;
        time_t tt;
        struct tm tm;

        seed = seed * 1103515245u + 12345u;
        t += (int64_t)((seed >> 16) % 13) - 3; /* mostly forwards, now and then back */
        tt = (time_t)t;
        gmtime_r(&tt, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (i % 97 == 0) {
            snprintf(ts, sizeof ts, "%s", odd[(i / 97) % 6]);
        } else if (i % 97 == 1) {
            /* the same minute as the odd one: a leap second's line must not be the base */
            snprintf(ts, sizeof ts, "2026-12-31T23:59:%02uZ", (seed >> 8) % 60);
        }
        snprintf(line, sizeof line, "%s service/web/web-745f845dc-rzl2q GET / 200", ts);
        parse_line(&p, NULL, line, strlen(line), 0, &r);
        if (parse_rfc3339(ts, strlen(ts), &want) != 0) {
            if (r.ts_src == TS_OWN) {
                fail_msg("line %d: \"%s\" is no time, but the line got one", i, ts);
            }
            continue;
        }
        if (r.ts_src != TS_OWN || r.ts_ns != want) {
            fail_msg("line %d: \"%s\": got %lld, want %lld", i, ts, (long long)r.ts_ns,
                     (long long)want);
        }
    }
}

/* The same names through parse_line on system/k8s/<name>. */
static void test_object_names_in_lines(void **state)
{
    char line[400];
    char stream[200];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof name_cases / sizeof name_cases[0]; i++) {
        const struct name_case *c = &name_cases[i];
        struct want w = {.kind = RECORD_K8S, OWN(0)};

        snprintf(stream, sizeof stream, "system/k8s/%s", c->name);
        snprintf(line, sizeof line, "2026-03-18T14:30:51Z %s %s", stream, c->msg);
        w.line = line;
        w.okind = (int)c->okind;
        w.stream = stream;
        w.object = c->name;
        w.service = c->service;
        /* a replica set or pod a deployment/RS message names is not part of the contract */
        w.replicaset = (c->okind == OBJECT_DEPLOYMENT) ? ANY : c->replicaset;
        w.pod = (c->okind == OBJECT_REPLICASET) ? ANY : c->pod;
        w.message = c->msg;
        run_want(&w);
    }
}

/* ================================================================================== */
/* kubectl lines from convox logs -s (convox-logs.md §2.3)                            */
/* ================================================================================== */

static const struct want kubectl_rows[] = {
    {.line = "[pod/web-745f845dc-rzl2q/myapp] 2026-03-18T14:30:56.123456789Z listening on 3000",
     .kind = RECORD_APP, .okind = OBJECT_POD, .ts_src = TS_OWN, .ts_ns = AT(5) + 123456789LL,
     .stream = "pod/web-745f845dc-rzl2q/myapp", .object = "web-745f845dc-rzl2q",
     .service = "web", .replicaset = "web-745f845dc", .pod = "web-745f845dc-rzl2q",
     .container = "myapp", .message = "listening on 3000"},
    {.line = "[pod/web-745f845dc-rzl2q/init] 2026-03-18T14:30:55.000000001Z running migrations",
     .kind = RECORD_APP, .okind = OBJECT_POD, .ts_src = TS_OWN, .ts_ns = AT(4) + 1,
     .stream = "pod/web-745f845dc-rzl2q/init", .object = "web-745f845dc-rzl2q", .service = "web",
     .replicaset = "web-745f845dc", .pod = "web-745f845dc-rzl2q", .container = "init",
     .message = "running migrations"},
    /* container "main" before 2020-07 */
    {.line = "[pod/worker-6d4b9c7f8-k2m9x/main] 2026-03-18T14:30:57.500000000Z "
             "{\"level\":\"info\",\"msg\":\"started\"}",
     .kind = RECORD_APP, .okind = OBJECT_POD, .ts_src = TS_OWN, .ts_ns = AT(6) + 500000000LL,
     .stream = "pod/worker-6d4b9c7f8-k2m9x/main", .object = "worker-6d4b9c7f8-k2m9x",
     .service = "worker", .replicaset = "worker-6d4b9c7f8", .pod = "worker-6d4b9c7f8-k2m9x",
     .container = "main", .message = "{\"level\":\"info\",\"msg\":\"started\"}"},
    {.line = "[pod/web-frontend-7d4b9c6f5-x2x9z/myapp] 2026-03-18T14:30:51.000000000Z GET / 200 "
             "[12ms]",
     .kind = RECORD_APP, .okind = OBJECT_POD, OWN(0),
     .stream = "pod/web-frontend-7d4b9c6f5-x2x9z/myapp", .object = "web-frontend-7d4b9c6f5-x2x9z",
     .service = "web-frontend", .replicaset = "web-frontend-7d4b9c6f5",
     .pod = "web-frontend-7d4b9c6f5-x2x9z", .container = "myapp", .message = "GET / 200 [12ms]"},
};

static void test_kubectl_lines(void **state)
{
    (void)state;
    RUN_TABLE(kubectl_rows);
}

/*
 * A kubectl prefix with no timestamp after it (kubectl logs --prefix without --timestamps) is
 * still a kubectl line: app output of that pod, the event time inherited.
 */
#define KUBECTL_NO_TS(l, msg)                                                                     \
    .line = (l), .kind = RECORD_APP, .okind = OBJECT_POD, .stream = "pod/web-745f845dc-rzl2q/myapp", \
    .object = "web-745f845dc-rzl2q", .service = "web", .replicaset = "web-745f845dc",              \
    .pod = "web-745f845dc-rzl2q", .container = "myapp", .message = (msg)
static const struct want kubectl_no_ts_rows[] = {
    {KUBECTL_NO_TS("[pod/web-745f845dc-rzl2q/myapp] not-a-timestamp listening",
                   "not-a-timestamp listening")},
    {KUBECTL_NO_TS("[pod/web-745f845dc-rzl2q/myapp] listening on 3000", "listening on 3000")},
};

static void test_kubectl_without_timestamp(void **state)
{
    (void)state;
    RUN_TABLE(kubectl_no_ts_rows);
}

/* ================================================================================== */
/* CI time prefix (convox-logs.md §6.1)                                               */
/* ================================================================================== */

static const struct want ci_rows[] = {
    {.line = "14:30:51 2026-03-18T14:30:51Z system/k8s/web Scaled up replica set web-745f845dc to 1",
     .kind = RECORD_K8S, .okind = OBJECT_DEPLOYMENT, OWN(0), .stream = "system/k8s/web",
     .object = "web", .service = "web", .replicaset = ANY,
     .message = "Scaled up replica set web-745f845dc to 1"},
    {.line = "14:31:02 2026-03-18T14:31:02Z system/k8s/atom/app Status: Updating => Running",
     .kind = RECORD_ATOM, .okind = OBJECT_ATOM, OWN(11), .stream = "system/k8s/atom/app",
     .object = "atom/app", .message = "Status: Updating => Running", .status_from = "Updating",
     .status_to = "Running"},
    {.line = "09:15:00 2026-03-18T14:30:52Z system/k8s/web-745f845dc-rzl2q Back-off restarting "
             "failed container",
     .kind = RECORD_K8S, .okind = OBJECT_POD, OWN(1), .stream = "system/k8s/web-745f845dc-rzl2q",
     .object = "web-745f845dc-rzl2q", .service = "web", .replicaset = "web-745f845dc",
     .pod = "web-745f845dc-rzl2q", .message = "Back-off restarting failed container"},
    {.line = "14:30:56 [pod/web-745f845dc-rzl2q/myapp] 2026-03-18T14:30:56.123456789Z listening",
     .kind = RECORD_APP, .okind = OBJECT_POD, .ts_src = TS_OWN, .ts_ns = AT(5) + 123456789LL,
     .stream = "pod/web-745f845dc-rzl2q/myapp", .object = "web-745f845dc-rzl2q",
     .service = "web", .replicaset = "web-745f845dc", .pod = "web-745f845dc-rzl2q",
     .container = "myapp", .message = "listening"},
    /* a CI prefix before something that is not a line stays unknown, whole line */
    {.line = "14:30:51 not a convox line", .kind = RECORD_UNKNOWN,
     .message = "14:30:51 not a convox line"},
};

static void test_ci_prefix(void **state)
{
    (void)state;
    RUN_TABLE(ci_rows);
}

/* ================================================================================== */
/* convox deploy transcript (convox-logs.md §2.4, §6.4)                               */
/* ================================================================================== */

#define CLI(l, c) .line = (l), .kind = RECORD_CLI, .message = (l), .cli = (c)

static const struct want cli_rows[] = {
    {CLI("Packaging source... OK", "step")},
    {CLI("Uploading source... OK", "step")},
    {CLI("Starting build... OK", "step")},
    {CLI("Waiting for app to be ready... OK", "step")},
    {CLI("Building: .", "build_output")},
    {CLI("Authenticating 123456789012.dkr.ecr.us-east-1.amazonaws.com: Login Succeeded",
         "build_output")},
    {CLI("Running: docker tag myrack/myapp:web.BABCDEFGHI " IMG, "build_output"), .build = ANY},
    {CLI("Running: docker push " IMG, "build_output"), .build = ANY},
    {CLI("Step 3/9 : RUN make", "build_output")},
    {CLI("Build:   BABCDEFGHI", "build"), .build = "BABCDEFGHI"},
    {CLI("Build: BABCDEFGHI", "build"), .build = "BABCDEFGHI"},
    {CLI("Release: RABCDEFGHI", "release"), .release = "RABCDEFGHI"},
    {CLI("Promoting RBCDEFGHIJ...", "promoting"), .release = "RBCDEFGHIJ"},
    {CLI("Promoting RNEWNEWNEW...", "promoting"), .release = "RNEWNEWNEW"},
    {CLI("Promoting still in progress...", "promote_progress")},
    {CLI("OK", "ok")},
    /* the end of "Rolling back to R...", when the new release comes only with the OK */
    {CLI("OK, RZYXWVUTSR", "ok"), .release = "RZYXWVUTSR"},
    /* the CLI's colours on a terminal (convox/action-deploy runs it on a pseudo-TTY) */
    {.line = "\x1b[38;5;46mOK\x1b[0m", .kind = RECORD_CLI, .cli = "ok", .message = "OK"},
    {.line = "\x1b[38;5;124mERROR: \x1b[38;5;203mrollback\x1b[0m", .kind = RECORD_CLI,
     .cli = "error", .message = "rollback"},
    {.line = "Promoting \x1b[38;5;24mRABCDEFGHI\x1b[0m... ", .kind = RECORD_CLI,
     .cli = "promoting", .message = "Promoting \x1b[38;5;24mRABCDEFGHI\x1b[0m... ",
     .release = "RABCDEFGHI"},
    {.line = "Rolling back to \x1b[38;5;24mRBCDEFGHIJ\x1b[0m... \x1b[38;5;46mOK\x1b[0m, "
             "\x1b[38;5;247mRZYXWVUTSR\x1b[0m",
     .kind = RECORD_CLI, .cli = "rolling_back",
     .message = "Rolling back to \x1b[38;5;24mRBCDEFGHIJ\x1b[0m... \x1b[38;5;46mOK\x1b[0m, "
                "\x1b[38;5;247mRZYXWVUTSR",
     .release = "RZYXWVUTSR"},
    {.line = "Release: \x1b[38;5;24mRABCDEFGHI\x1b[0m", .kind = RECORD_CLI, .cli = "release",
     .message = "Release: \x1b[38;5;24mRABCDEFGHI", .release = "RABCDEFGHI"},
    {.line = "ERROR: rollback", .kind = RECORD_CLI, .cli = "error", .message = "rollback"},
    {.line = "ERROR: timeout", .kind = RECORD_CLI, .cli = "error", .message = "timeout"},
    {.line = "ERROR: build failed", .kind = RECORD_CLI, .cli = "error", .message = "build failed"},
    {.line = "ERROR: app is currently updating", .kind = RECORD_CLI, .cli = "error",
     .message = "app is currently updating"},
    {CLI("Rolling back to RBCDEFGHIJ... OK, RNEWNEWNEW", "rolling_back"), .release = "RNEWNEWNEW"},
    /* the pod row example, as written in the brief (not exactly %-32s) */
    {CLI("  web-745f845dc-rzl2q              web           crashed", "pod_status"),
     .okind = OBJECT_POD, .pod = "web-745f845dc-rzl2q", .service = "web", .pod_status = "crashed",
     .object = ANY, .replicaset = ANY},
};

static void test_cli_lines(void **state)
{
    (void)state;
    RUN_TABLE(cli_rows);
}

/*
 * Real CLI output that the brief's semantics do not name: stdcli's Startf prints
 * "Promoting RXXX... " with a trailing space (convox/convox pkg/cli/deploy_test.go), and
 * release ids are R + 9–10 letters (convox-logs.md §6.4). Kept separate so a failure
 * here reads as a gap in the semantics.
 */
static const struct want cli_real_variant_rows[] = {
    {CLI("Promoting RBCDEFGHIJ... ", "promoting"), .release = "RBCDEFGHIJ"},
    {CLI("Promoting RBCDEFGHIJK...", "promoting"), .release = "RBCDEFGHIJK"},
};

static void test_cli_real_variants(void **state)
{
    (void)state;
    RUN_TABLE(cli_real_variant_rows);
}

/* Pod status rows as the CLI prints them: "  %-32s  %-12s  %s". */
static void test_cli_pod_status_rows(void **state)
{
    static const char *const statuses[] = {"pending", "starting",  "running",  "unhealthy",
                                           "crashed", "failed",    "complete", "unknown"};
    static const char *const pods[][2] = {
        {"web-745f845dc-rzl2q", "web"},
        {"worker-6d4b9c7f8-k2m9x", "worker"},
        /* longer than the columns: the padding disappears, two spaces remain */
        {"web-frontend-admin-panel-5d8f7c9b6d-x2x9z", "web-frontend-admin-panel"},
        {"build-xk2p9", "build"},
    };
    char line[200];
    size_t i;
    size_t j;

    (void)state;
    for (j = 0; j < sizeof pods / sizeof pods[0]; j++) {
        for (i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
            struct want w = {.kind = RECORD_CLI, .okind = OBJECT_POD, .cli = "pod_status",
                             .object = ANY, .replicaset = ANY};

            snprintf(line, sizeof line, "  %-32s  %-12s  %s", pods[j][0], pods[j][1],
                     statuses[i]);
            w.line = line;
            w.message = line;
            w.pod = pods[j][0];
            w.service = pods[j][1];
            w.pod_status = statuses[i];
            run_want(&w);
        }
    }
}

/*
 * Lines the references show but the parser semantics do not name. Kept apart so a
 * failure here reads as a semantics gap rather than a parser bug.
 */
static const struct want reference_variant_rows[] = {
    /* BuildKit progress is raw build output (convox-logs.md §2.4) */
    {CLI("#5 [2/4] RUN make", "build_output")},
    {CLI("#12 DONE 0.4s", "build_output")},
    /* ProcessLogs status lines without a prefix (convox-logs.md §2.3): unknown today */
    {UNK("waiting for build pod to be scheduled...")},
    {UNK("waiting for build pod...")},
    {UNK("build pod did not start within 10 minutes -- check cluster resources and node "
         "availability")},
    {UNK("build log stream interrupted, retrying...")},
};

static void test_reference_variants(void **state)
{
    (void)state;
    RUN_TABLE(reference_variant_rows);
}

/* HPA failure texts (k8s-events.md §11) also come from the deployment's HPA. */
static void test_reference_hpa_names(void **state)
{
    static const struct name_case cases[] = {
        {"web-k2m9x",
         "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics "
         "returned from resource metrics API",
         OBJECT_DEPLOYMENT, "web-k2m9x", NULL, NULL},
        {"build-xk2p9",
         "invalid metrics (1 invalid out of 1), first error is: failed to get cpu utilization: "
         "missing request for cpu",
         OBJECT_DEPLOYMENT, "build-xk2p9", NULL, NULL},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct record r;

        memset(&r, 0, sizeof r);
        parse_object_name((struct slice){cases[i].name, strlen(cases[i].name)},
                          (struct slice){cases[i].msg, strlen(cases[i].msg)}, &r);
        check_name_fields(&cases[i], &r, cases[i].name, strlen(cases[i].name),
                          "parse_object_name (HPA failure)");
    }
}

/* ================================================================================== */
/* Anything else (DESIGN §2 "unknown")                                                */
/* ================================================================================== */

static const struct want unknown_rows[] = {
    {UNK("Mounting command: mount")},
    {UNK("Mounting arguments: -t nfs 10.0.0.5:/export /var/lib/kubelet/pods/x/volumes/data")},
    {UNK("mysqladmin: connect to server at 'localhost' failed")},
    {UNK("}")},
    {UNK("OKAY")},
    {UNK("ERROR")},
    {UNK("    at Object.<anonymous> (/app/index.js:10:9)")},
    /* malformed timestamps: no own time, no record shape */
    {UNK("2026-13-18T14:30:51Z system/k8s/web Scaled up replica set web-745f845dc to 1")},
    {UNK("2026-03-18T24:30:51Z system/k8s/web Scaled up replica set web-745f845dc to 1")},
    {UNK("2026-03-18 14:30:51 system/k8s/web Scaled up replica set web-745f845dc to 1")},
    {UNK("2026-03-18T14:30:51 system/k8s/web Scaled up replica set web-745f845dc to 1")},
    {UNK("2026-03-18T14:30:51.1234567890Z system/k8s/web Scaled up replica set web-745f845dc to "
         "1")},
    /* a pod row whose status is not one the CLI prints */
    {UNK("  web-745f845dc-rzl2q               web             exploded")},
};

static void test_unknown_lines(void **state)
{
    (void)state;
    RUN_TABLE(unknown_rows);
}

/* The empty line: unknown, empty message, never crashes. */
static void test_empty_line(void **state)
{
    static const struct want w = {.line = "", .kind = RECORD_UNKNOWN,
                                  .message = EMPTY_OR_ABSENT};
    struct parser p;
    struct record r;
    char dummy = 'x';

    (void)state;
    run_want(&w);
    parse_init(&p);
    memset(&r, 0xA5, sizeof r);
    parse_line(&p, NULL, &dummy, 0, 0, &r);
    assert_int_equal(r.kind, RECORD_UNKNOWN);
    assert_int_equal(r.ts_src, TS_NONE);
    assert_int_equal(r.line.len, 0);
    assert_int_equal(parse_stats(&p)->lines, 1);
    assert_int_equal(parse_stats(&p)->by_kind[RECORD_UNKNOWN], 1);
}

/* ================================================================================== */
/* Per-line facts: CR, NUL, UTF-8, ingest flags                                       */
/* ================================================================================== */

static const struct want flag_rows[] = {
    {.line = "2026-03-18T14:30:51Z system/k8s/web Scaled up replica set web-745f845dc to 1\r",
     .kind = RECORD_K8S, .okind = OBJECT_DEPLOYMENT, OWN(0), .flags = REC_CRLF,
     .stream = "system/k8s/web", .object = "web", .service = "web", .replicaset = ANY,
     .message = "Scaled up replica set web-745f845dc to 1"},
    {.line = "2026-03-18T14:30:51Z system/k8s/web-745f845dc-rzl2q \r", .kind = RECORD_K8S,
     .okind = OBJECT_POD, OWN(0), .flags = REC_CRLF, .stream = "system/k8s/web-745f845dc-rzl2q",
     .object = "web-745f845dc-rzl2q", .service = "web", .replicaset = "web-745f845dc",
     .pod = "web-745f845dc-rzl2q", .message = ""},
    {.line = "2026-03-18T14:30:51Z system/k8s/atom/app Status: Pending => Updating\r",
     .kind = RECORD_ATOM, .okind = OBJECT_ATOM, OWN(0), .flags = REC_CRLF,
     .stream = "system/k8s/atom/app", .object = "atom/app", .message = "Status: Pending => Updating",
     .status_from = "Pending", .status_to = "Updating"},
    {.line = "OK\r", .kind = RECORD_CLI, .flags = REC_CRLF, .cli = "ok", .message = "OK"},
    {.line = "ERROR: rollback\r", .kind = RECORD_CLI, .flags = REC_CRLF, .cli = "error",
     .message = "rollback"},
    {.line = "  web-745f845dc-rzl2q               web           unhealthy\r", .kind = RECORD_CLI,
     .okind = OBJECT_POD, .flags = REC_CRLF, .cli = "pod_status", .pod = "web-745f845dc-rzl2q",
     .service = "web", .pod_status = "unhealthy", .object = ANY, .replicaset = ANY,
     .message = "  web-745f845dc-rzl2q               web           unhealthy"},
    {.line = "[pod/web-745f845dc-rzl2q/myapp] 2026-03-18T14:30:56.123456789Z listening\r",
     .kind = RECORD_APP, .okind = OBJECT_POD, .ts_src = TS_OWN, .ts_ns = AT(5) + 123456789LL,
     .flags = REC_CRLF, .stream = "pod/web-745f845dc-rzl2q/myapp",
     .object = "web-745f845dc-rzl2q", .service = "web", .replicaset = "web-745f845dc",
     .pod = "web-745f845dc-rzl2q", .container = "myapp", .message = "listening"},
    {.line = "\r", .kind = RECORD_UNKNOWN, .flags = REC_CRLF, .message = EMPTY_OR_ABSENT},
    {.line = "garbage\r", .kind = RECORD_UNKNOWN, .flags = REC_CRLF, .message = "garbage"},
    /* only one trailing CR is a line ending */
    {.line = "garbage\r\r", .kind = RECORD_UNKNOWN, .flags = REC_CRLF, .message = "garbage\r"},
    /* a CR in the middle is data */
    {.line = "2026-03-18T14:30:51Z service/web/web-745f845dc-rzl2q a\rb", .kind = RECORD_APP,
     .okind = OBJECT_POD, OWN(0), .stream = "service/web/web-745f845dc-rzl2q",
     .object = "web-745f845dc-rzl2q", .service = "web", .replicaset = "web-745f845dc",
     .pod = "web-745f845dc-rzl2q", .message = "a\rb"},
    /* invalid UTF-8 (Latin-1 é), and a valid multi-byte message */
    {.line = "2026-03-18T14:30:51Z service/web/web-745f845dc-rzl2q caf\xe9 cr\xe8me",
     .kind = RECORD_APP, .okind = OBJECT_POD, OWN(0), .flags = REC_BAD_UTF8,
     .stream = "service/web/web-745f845dc-rzl2q", .object = "web-745f845dc-rzl2q",
     .service = "web", .replicaset = "web-745f845dc", .pod = "web-745f845dc-rzl2q",
     .message = "caf\xe9 cr\xe8me"},
    {.line = "2026-03-18T14:30:51Z service/web/web-745f845dc-rzl2q h\xc3\xa9llo \xe2\x9c\x93 "
             "\xf0\x9f\x98\x80",
     .kind = RECORD_APP, .okind = OBJECT_POD, OWN(0), .stream = "service/web/web-745f845dc-rzl2q",
     .object = "web-745f845dc-rzl2q", .service = "web", .replicaset = "web-745f845dc",
     .pod = "web-745f845dc-rzl2q", .message = "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80"},
    {.line = "\xff\xfe garbage", .kind = RECORD_UNKNOWN, .flags = REC_BAD_UTF8,
     .message = "\xff\xfe garbage"},
    /* flags from ingest are kept */
    {.line = "2026-03-18T14:30:51Z system/k8s/web Scaled up replica set web-745f845dc to 1",
     .in_flags = REC_TRUNCATED, .kind = RECORD_K8S, .okind = OBJECT_DEPLOYMENT, OWN(0),
     .stream = "system/k8s/web", .object = "web", .service = "web", .replicaset = ANY,
     .message = "Scaled up replica set web-745f845dc to 1"},
    {.line = "OK", .in_flags = REC_NO_NEWLINE, .kind = RECORD_CLI, .cli = "ok", .message = "OK"},
    {.line = "2026-03-18T14:30:51Z service/web/web-745f845dc-rzl2q aaaa\r",
     .in_flags = REC_TRUNCATED | REC_NO_NEWLINE, .kind = RECORD_APP, .okind = OBJECT_POD, OWN(0),
     .flags = REC_CRLF, .stream = "service/web/web-745f845dc-rzl2q",
     .object = "web-745f845dc-rzl2q", .service = "web", .replicaset = "web-745f845dc",
     .pod = "web-745f845dc-rzl2q", .message = "aaaa"},
};

static void test_line_flags(void **state)
{
    (void)state;
    RUN_TABLE(flag_rows);
}

/* Lines with NUL bytes: lengths come from len, never from strlen. */
static void test_nul_bytes(void **state)
{
    static const char app[] = "2026-03-18T14:30:51Z service/web/web-745f845dc-rzl2q bad\0byte";
    static const char unk[] = "\0\0\0";
    static const char k8s[] = "2026-03-18T14:30:51Z system/k8s/web-745f845dc-rzl2q Started "
                              "container my\0app";
    struct parser p;
    struct record r;
    char *buf;

    (void)state;
    parse_init(&p);

    buf = parse_copy(&p, NULL, app, sizeof app - 1, 0, &r);
    assert_int_equal(r.kind, RECORD_APP);
    assert_int_equal(r.flags, REC_HAS_NUL);
    assert_int_equal(r.ts_src, TS_OWN);
    assert_true(r.ts_ns == AT(0));
    assert_int_equal(r.line.len, sizeof app - 1);
    assert_int_equal(r.message.len, 8);
    assert_memory_equal(r.message.p, "bad\0byte", 8);
    assert_slice(r.service, "web");
    assert_slice(r.pod, "web-745f845dc-rzl2q");
    assert_absent(r.container);
    assert_absent(r.cli);
    tfree(buf);

    buf = parse_copy(&p, NULL, unk, sizeof unk - 1, 0, &r);
    assert_int_equal(r.kind, RECORD_UNKNOWN);
    assert_int_equal(r.flags, REC_HAS_NUL);
    assert_int_equal(r.ts_src, TS_INHERITED);
    assert_true(r.ts_ns == AT(0));
    assert_int_equal(r.line.len, 3);
    assert_int_equal(r.message.len, 3);
    tfree(buf);

    buf = parse_copy(&p, NULL, k8s, sizeof k8s - 1, REC_TRUNCATED, &r);
    assert_int_equal(r.kind, RECORD_K8S);
    assert_int_equal(r.object_kind, OBJECT_POD);
    assert_int_equal(r.flags, REC_HAS_NUL | REC_TRUNCATED);
    assert_int_equal(r.message.len, strlen("Started container my") + 4);
    tfree(buf);

    assert_int_equal(parse_stats(&p)->nul, 3);
    assert_int_equal(parse_stats(&p)->truncated, 1);
    assert_int_equal(parse_stats(&p)->lines, 3);
}

/* UTF-8 validity per RFC 3629: overlongs, surrogates and > U+10FFFF are invalid. */
static void test_utf8_edges(void **state)
{
    static const struct {
        const char *bytes;
        int bad;
    } cases[] = {
        {"\xe2\x82\xac", 0},          /* € */
        {"\xf0\x9f\x98\x80", 0},      /* 😀 */
        {"\xef\xbb\xbf", 0},          /* BOM */
        {"\xf4\x8f\xbf\xbf", 0},      /* U+10FFFF */
        {"\xed\x9f\xbf", 0},          /* U+D7FF */
        {"\xc2\x80", 0},              /* U+0080 */
        {"\x80", 1},                  /* lone continuation */
        {"\xc3", 1},                  /* truncated at end of line */
        {"\xe2\x82", 1},              /* truncated at end of line */
        {"\xe2\x82x", 1},             /* truncated in the middle */
        {"\xc0\xaf", 1},              /* overlong '/' */
        {"\xe0\x80\xaf", 1},          /* overlong */
        {"\xf0\x80\x80\xaf", 1},      /* overlong */
        {"\xed\xa0\x80", 1},          /* surrogate U+D800 */
        {"\xf4\x90\x80\x80", 1},      /* U+110000 */
        {"\xf5\x80\x80\x80", 1},      /* F5 lead */
        {"\xfe", 1},
    };
    char line[200];
    size_t i;
    int shape;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (shape = 0; shape < 3; shape++) {
            struct parser p;
            struct record r;
            char *buf;
            size_t len;

            if (shape == 0) {
                snprintf(line, sizeof line, "2026-03-18T14:30:51Z service/web/web-745f845dc-rzl2q "
                                            "x %s", cases[i].bytes);
            } else if (shape == 1) {
                snprintf(line, sizeof line, "%s", cases[i].bytes);
            } else {
                snprintf(line, sizeof line,
                         "2026-03-18T14:30:51Z system/k8s/web-745f845dc-rzl2q %s y",
                         cases[i].bytes);
            }
            len = strlen(line);
            parse_init(&p);
            buf = parse_copy(&p, NULL, line, len, 0, &r);
            if (((r.flags & REC_BAD_UTF8) != 0) != cases[i].bad) {
                failf("line \"%s\": REC_BAD_UTF8 want %d, flags 0x%x", show(line, len),
                      cases[i].bad, r.flags);
            }
            if (shape != 1 && r.kind == RECORD_UNKNOWN) {
                failf("line \"%s\": bad bytes in the message must not change the shape",
                      show(line, len));
            }
            assert_int_equal(parse_stats(&p)->bad_utf8, (uint64_t)cases[i].bad);
            tfree(buf);
        }
    }
}

/* The flags the scan must give, one byte or sequence at a time. */
static unsigned utf8_scan_ref(const unsigned char *s, size_t n)
{
    unsigned flags = 0;
    size_t i = 0;

    while (i < n) {
        size_t k = utf8_seq(s + i, n - i);

        if (s[i] == 0) {
            flags |= REC_HAS_NUL;
        }
        if (k == 0) {
            flags |= REC_BAD_UTF8;
            k = 1;
        }
        i += k;
    }
    return flags;
}

/*
 * The scan skips plain ASCII in blocks, with an overlapping last block: put each odd
 * sequence at every offset of every line length up to 100, so it lands at the start, the
 * middle and the end of a block, across two blocks and in the overlap, and at the line end.
 */
static void test_utf8_scan_every_offset(void **state)
{
    static const char *const odd[] = {
        "\0", "\x80", "\xc3", "\xe2\x82", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc2\x80", "\xff",
    };
    static const size_t odd_len[] = {1, 1, 1, 2, 2, 3, 4, 3, 4, 2, 1};
    unsigned char line[128];
    size_t i, len, at;
    int checked = 0;

    (void)state;
    for (len = 0; len <= 100; len++) {
        memset(line, 'a', sizeof line);
        assert_int_equal(utf8_scan((const char *)line, len), 0);
        for (i = 0; i < sizeof odd / sizeof odd[0]; i++) {
            for (at = 0; at + odd_len[i] <= len; at++) {
                unsigned want, got;

                memset(line, 'a', sizeof line);
                memcpy(line + at, odd[i], odd_len[i]);
                want = utf8_scan_ref(line, len);
                got = utf8_scan((const char *)line, len);
                if (got != want) {
                    failf("sequence %zu at %zu of %zu bytes: flags 0x%x, want 0x%x", i, at, len,
                          got, want);
                }
                checked += want != 0;
            }
        }
    }
    assert_true(checked > 30000); /* the bad sequences did land */
}

/* ================================================================================== */
/* Out of order lines and time inheritance (convox-logs.md §0.6, DESIGN §3)           */
/* ================================================================================== */

struct step {
    const char *line;
    enum record_kind kind;
    enum ts_source ts_src;
    int64_t ts_ns;
    const char *cli;
    const char *status_from;
    const char *status_to;
    const char *message;
};

static void run_steps(const struct step *steps, size_t n)
{
    struct parser p;
    size_t i;

    parse_init(&p);
    for (i = 0; i < n; i++) {
        const struct step *s = &steps[i];
        size_t len = strlen(s->line);
        struct record r;
        char ctx[800];
        char *buf = parse_copy(&p, &test_src, s->line, len, 0, &r);

        snprintf(ctx, sizeof ctx, "step %zu: line \"%s\"", i, show(buf, len));
        if (r.kind != s->kind) {
            failf("%s\n  kind: want %s, got %s", ctx, kname((int)s->kind), kname((int)r.kind));
        }
        if (r.ts_src != s->ts_src || r.ts_ns != s->ts_ns) {
            failf("%s\n  time: want src %d ns %lld, got src %d ns %lld", ctx, (int)s->ts_src,
                  (long long)s->ts_ns, (int)r.ts_src, (long long)r.ts_ns);
        }
        check_slice(ctx, "cli", r.cli, s->cli, NULL, 0);
        check_slice(ctx, "status_from", r.status_from, s->status_from, buf, len);
        check_slice(ctx, "status_to", r.status_to, s->status_to, buf, len);
        if (s->message != NULL) {
            check_slice(ctx, "message", r.message, s->message, buf, len);
        }
        tfree(buf);
    }
    assert_int_equal(parse_stats(&p)->lines, n);
}

#define STEPS(a) run_steps((a), sizeof(a) / sizeof((a)[0]))

/* Started before Created within one second; a later line with an earlier time. */
static void test_out_of_order_container_events(void **state)
{
    static const struct step steps[] = {
        {"2026-03-18T14:30:53Z system/k8s/web-745f845dc-rzl2q Started container myapp", RECORD_K8S,
         TS_OWN, AT(2), NULL, NULL, NULL, "Started container myapp"},
        {"2026-03-18T14:30:53Z system/k8s/web-745f845dc-rzl2q Created container myapp", RECORD_K8S,
         TS_OWN, AT(2), NULL, NULL, NULL, "Created container myapp"},
        {"2026-03-18T14:30:54Z system/k8s/web-745f845dc-q8w2n Container started", RECORD_K8S,
         TS_OWN, AT(3), NULL, NULL, NULL, "Container started"},
        {"2026-03-18T14:30:52Z system/k8s/web-745f845dc-q8w2n Container created", RECORD_K8S,
         TS_OWN, AT(1), NULL, NULL, NULL, "Container created"},
        /* inherits the previous line's time, not the latest seen */
        {"  web-745f845dc-q8w2n               web           starting", RECORD_CLI, TS_INHERITED,
         AT(1), "pod_status", NULL, NULL, NULL},
        {"2026-03-18T14:30:52Z system/k8s/web-745f845dc-q8w2n Pulling image \"" IMG "\"",
         RECORD_K8S, TS_OWN, AT(1), NULL, NULL, NULL, NULL},
        {"2026-03-18T14:30:51Z system/k8s/web-745f845dc Created pod: web-745f845dc-q8w2n",
         RECORD_K8S, TS_OWN, AT(0), NULL, NULL, NULL, NULL},
        {"Promoting still in progress...", RECORD_CLI, TS_INHERITED, AT(0), "promote_progress",
         NULL, NULL, NULL},
        {"Promoting still in progress...", RECORD_CLI, TS_INHERITED, AT(0), "promote_progress",
         NULL, NULL, NULL},
    };

    (void)state;
    STEPS(steps);
}

/* Issue #800: Error => Failure arrives before Pending => Error. */
static void test_out_of_order_atom_statuses(void **state)
{
    static const struct step steps[] = {
        {"Promoting RBCDEFGHIJ...", RECORD_CLI, TS_NONE, 0, "promoting", NULL, NULL, NULL},
        {"2026-03-18T14:31:10Z system/k8s/atom/app Status: Error => Failure", RECORD_ATOM, TS_OWN,
         AT(19), NULL, "Error", "Failure", "Status: Error => Failure"},
        {"2026-03-18T14:31:10Z system/k8s/atom/app Status: Pending => Error", RECORD_ATOM, TS_OWN,
         AT(19), NULL, "Pending", "Error", "Status: Pending => Error"},
        {"2026-03-18T14:31:09Z system/k8s/atom/app Status: Running => Pending", RECORD_ATOM,
         TS_OWN, AT(18), NULL, "Running", "Pending", NULL},
        {"ERROR: rollback", RECORD_CLI, TS_INHERITED, AT(18), "error", NULL, NULL, "rollback"},
        {"2026-03-18T14:31:10Z system/atom/app Status: Error => Failure", RECORD_ATOM, TS_OWN,
         AT(19), NULL, "Error", "Failure", NULL},
    };

    (void)state;
    STEPS(steps);
}

/* A whole deploy, as `convox deploy` prints it (no time until the first system line). */
static void test_deploy_transcript(void **state)
{
    static const struct step steps[] = {
        {"Packaging source... OK", RECORD_CLI, TS_NONE, 0, "step", NULL, NULL, NULL},
        {"Uploading source... OK", RECORD_CLI, TS_NONE, 0, "step", NULL, NULL, NULL},
        {"Starting build... OK", RECORD_CLI, TS_NONE, 0, "step", NULL, NULL, NULL},
        {"Building: .", RECORD_CLI, TS_NONE, 0, "build_output", NULL, NULL, NULL},
        {"Step 1/4 : FROM node:20-alpine", RECORD_CLI, TS_NONE, 0, "build_output", NULL, NULL,
         NULL},
        {"Authenticating 123456789012.dkr.ecr.us-east-1.amazonaws.com: Login Succeeded",
         RECORD_CLI, TS_NONE, 0, "build_output", NULL, NULL, NULL},
        {"Running: docker push " IMG, RECORD_CLI, TS_NONE, 0, "build_output", NULL, NULL, NULL},
        {"Build:   BABCDEFGHI", RECORD_CLI, TS_NONE, 0, "build", NULL, NULL, NULL},
        {"Release: RBCDEFGHIJ", RECORD_CLI, TS_NONE, 0, "release", NULL, NULL, NULL},
        {"Promoting RBCDEFGHIJ...", RECORD_CLI, TS_NONE, 0, "promoting", NULL, NULL, NULL},
        {"2026-03-18T14:30:51Z system/k8s/atom/app Status: Running => Pending", RECORD_ATOM,
         TS_OWN, AT(0), NULL, "Running", "Pending", NULL},
        {"2026-03-18T14:30:51Z system/k8s/atom/app Status: Pending => Updating", RECORD_ATOM,
         TS_OWN, AT(0), NULL, "Pending", "Updating", NULL},
        {"2026-03-18T14:30:51Z system/k8s/web Scaled up replica set web-745f845dc to 1",
         RECORD_K8S, TS_OWN, AT(0), NULL, NULL, NULL, NULL},
        {"2026-03-18T14:30:51Z system/k8s/web-745f845dc Created pod: web-745f845dc-rzl2q",
         RECORD_K8S, TS_OWN, AT(0), NULL, NULL, NULL, NULL},
        {"2026-03-18T14:30:52Z system/k8s/web-745f845dc-rzl2q Pulling image \"" IMG "\"",
         RECORD_K8S, TS_OWN, AT(1), NULL, NULL, NULL, NULL},
        {"  web-745f845dc-rzl2q               web           pending", RECORD_CLI, TS_INHERITED,
         AT(1), "pod_status", NULL, NULL, NULL},
        {"Promoting still in progress...", RECORD_CLI, TS_INHERITED, AT(1), "promote_progress",
         NULL, NULL, NULL},
        {"2026-03-18T14:30:58Z system/k8s/web-745f845dc-rzl2q Back-off restarting failed container "
         "myapp in pod web-745f845dc-rzl2q_myrack-myapp(5c2f0a1e-8d3b-4f6a-9e7c-1b2d3e4f5a6b)",
         RECORD_K8S, TS_OWN, AT(7), NULL, NULL, NULL, NULL},
        {"  web-745f845dc-rzl2q               web           crashed", RECORD_CLI, TS_INHERITED,
         AT(7), "pod_status", NULL, NULL, NULL},
        {"continuation of something", RECORD_UNKNOWN, TS_INHERITED, AT(7), NULL, NULL, NULL,
         "continuation of something"},
        /* a malformed timestamp does not move the clock */
        {"2026-03-18T99:30:58Z system/k8s/web nonsense", RECORD_UNKNOWN, TS_INHERITED, AT(7), NULL,
         NULL, NULL, NULL},
        /* an opaque stream still has its own time, and later lines inherit it */
        {"2026-03-18T14:31:00Z web:RABCDEFGHI/abc123 hello", RECORD_UNKNOWN, TS_OWN, AT(9), NULL,
         NULL, NULL, "hello"},
        {"continuation", RECORD_UNKNOWN, TS_INHERITED, AT(9), NULL, NULL, NULL, "continuation"},
        {"2026-03-18T15:20:51Z system/k8s/atom/app Status: Updating => Deadline", RECORD_ATOM,
         TS_OWN, AT(3000), NULL, "Updating", "Deadline", NULL},
        {"2026-03-18T15:20:51Z system/k8s/atom/app Status: Deadline => Rollback", RECORD_ATOM,
         TS_OWN, AT(3000), NULL, "Deadline", "Rollback", NULL},
        {"ERROR: rollback", RECORD_CLI, TS_INHERITED, AT(3000), "error", NULL, NULL, "rollback"},
        {"14:51:20 2026-03-18T15:21:20Z system/k8s/atom/app Status: Rollback => Reverted",
         RECORD_ATOM, TS_OWN, AT(3029), NULL, "Rollback", "Reverted", NULL},
        {"[pod/web-5d8f7c9b6d-k2m9x/myapp] 2026-03-18T15:21:21.000000042Z ready", RECORD_APP,
         TS_OWN, AT(3030) + 42, NULL, NULL, NULL, "ready"},
        {"OK", RECORD_CLI, TS_INHERITED, AT(3030) + 42, "ok", NULL, NULL, "OK"},
        {"Rolling back to RBCDEFGHIJ... OK, RNEWNEWNEW", RECORD_CLI, TS_INHERITED, AT(3030) + 42,
         "rolling_back", NULL, NULL, NULL},
    };

    (void)state;
    STEPS(steps);
}

/* parse_init resets the inherited time. */
static void test_parse_init_resets(void **state)
{
    struct parser p;
    struct record r;
    char *buf;

    (void)state;
    parse_init(&p);
    buf = parse_copy(&p, NULL, primer_line, strlen(primer_line), 0, &r);
    tfree(buf);
    buf = parse_copy(&p, NULL, "OK", 2, 0, &r);
    assert_int_equal(r.ts_src, TS_INHERITED);
    assert_true(r.ts_ns == PRIMER_TS);
    tfree(buf);
    assert_int_equal(parse_stats(&p)->lines, 2);

    parse_init(&p);
    assert_int_equal(parse_stats(&p)->lines, 0);
    assert_int_equal(parse_stats(&p)->no_timestamp, 0);
    buf = parse_copy(&p, NULL, "OK", 2, 0, &r);
    assert_int_equal(r.ts_src, TS_NONE);
    assert_true(r.ts_ns == 0);
    assert_slice(r.cli, "ok");
    assert_absent(r.release);
    assert_absent(r.stream);
    tfree(buf);
}

/* ================================================================================== */
/* Counters                                                                            */
/* ================================================================================== */

static void count_rows(struct parser *p, const struct want *rows, size_t n, struct parse_stats *e)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const struct want *w = &rows[i];
        size_t len = want_len(w);
        struct record r;
        char *buf = parse_copy(p, NULL, w->line, len, w->in_flags, &r);

        if (r.kind != w->kind) {
            failf("stats run: line \"%s\": kind want %s got %s", show(buf, len),
                  kname((int)w->kind), kname((int)r.kind));
        }
        tfree(buf);
        e->lines++;
        e->by_kind[w->kind]++;
        e->truncated += (w->in_flags & REC_TRUNCATED) ? 1 : 0;
        e->crlf += (w->flags & REC_CRLF) ? 1 : 0;
        e->nul += (w->flags & REC_HAS_NUL) ? 1 : 0;
        e->bad_utf8 += (w->flags & REC_BAD_UTF8) ? 1 : 0;
        e->no_timestamp += (w->ts_src != TS_OWN) ? 1 : 0;
    }
}

#define COUNT_ROWS(p, t, e) count_rows((p), (t), sizeof(t) / sizeof((t)[0]), (e))

static void test_stats(void **state)
{
    struct parser p;
    struct parse_stats e;
    const struct parse_stats *s;
    int k;

    (void)state;
    memset(&e, 0, sizeof e);
    parse_init(&p);
    s = parse_stats(&p);
    assert_non_null(s);
    assert_int_equal(s->lines, 0);
    for (k = 0; k < RECORD_KIND_COUNT; k++) {
        assert_int_equal(s->by_kind[k], 0);
    }

    /* unknown and CLI lines first, so some have no time at all */
    COUNT_ROWS(&p, unknown_rows, &e);
    COUNT_ROWS(&p, cli_rows, &e);
    COUNT_ROWS(&p, convox_k8s_rows, &e);
    COUNT_ROWS(&p, convox_atom_state_rows, &e);
    COUNT_ROWS(&p, convox_app_rows, &e);
    COUNT_ROWS(&p, convox_other_stream_rows, &e);
    COUNT_ROWS(&p, kubectl_rows, &e);
    COUNT_ROWS(&p, ci_rows, &e);
    COUNT_ROWS(&p, flag_rows, &e);

    s = parse_stats(&p);
    assert_int_equal(s->lines, e.lines);
    for (k = 0; k < RECORD_KIND_COUNT; k++) {
        if (s->by_kind[k] != e.by_kind[k]) {
            failf("by_kind[%s]: want %llu, got %llu", kname(k), (unsigned long long)e.by_kind[k],
                  (unsigned long long)s->by_kind[k]);
        }
    }
    assert_true(e.by_kind[RECORD_K8S] > 0 && e.by_kind[RECORD_ATOM] > 0 &&
                e.by_kind[RECORD_STATE] > 0 && e.by_kind[RECORD_APP] > 0 &&
                e.by_kind[RECORD_CLI] > 0 && e.by_kind[RECORD_UNKNOWN] > 0);
    assert_int_equal(s->truncated, e.truncated);
    assert_int_equal(s->crlf, e.crlf);
    assert_int_equal(s->nul, e.nul);
    assert_int_equal(s->bad_utf8, e.bad_utf8);
    assert_int_equal(s->no_timestamp, e.no_timestamp);
    assert_true(e.truncated >= 2 && e.crlf >= 5 && e.bad_utf8 >= 2);
}

/* ================================================================================== */
/* parse_rfc3339 / parse_format_ts                                                     */
/* ================================================================================== */

static void test_rfc3339_valid(void **state)
{
    static const struct {
        const char *s;
        int64_t ns;
    } ok[] = {
        {"2026-03-18T14:30:51Z", AT(0)},
        {"2026-03-18T14:30:51.5Z", AT(0) + 500000000LL},
        {"2026-03-18T14:30:51.123Z", AT(0) + 123000000LL},
        {"2026-03-18T14:30:51.123456Z", AT(0) + 123456000LL},
        {"2026-03-18T14:30:51.123456789Z", AT(0) + 123456789LL},
        {"2026-03-18T14:30:51.000000001Z", AT(0) + 1},
        {"2026-03-18T14:30:51.000000000Z", AT(0)},
        {"2026-03-18T16:30:51+02:00", AT(0)},
        {"2026-03-18T16:30:51+0200", AT(0)},
        {"2026-03-18T09:30:51-05:00", AT(0)},
        {"2026-03-18T09:30:51-0500", AT(0)},
        {"2026-03-18T14:30:51+00:00", AT(0)},
        {"2026-03-18T14:30:51-00:00", AT(0)},
        {"2026-03-19T00:30:51+10:00", AT(0)},           /* crosses a day */
        {"2026-03-18T14:00:51.25-00:30", AT(0) + 250000000LL},
        {"2026-03-18T20:00:51.123456789+05:30", AT(0) + 123456789LL},
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01T00:00:00.000000001Z", 1},
        {"2000-02-29T00:00:00Z", 951782400LL * NS},      /* leap day, century rule */
        {"2024-02-29T12:00:00Z", 1709208000LL * NS},
        {"1999-12-31T23:59:59Z", 946684799LL * NS},
        {"2026-12-31T23:59:59.999999999Z", 1798761599LL * NS + 999999999LL},
        {"2020-01-01T00:00:00Z", 1577836800LL * NS},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        size_t len = strlen(ok[i].s);
        char *buf = talloc(len);
        int64_t ns = -7;
        int rc;

        memcpy(buf, ok[i].s, len);
        rc = parse_rfc3339(buf, len, &ns);
        tfree(buf);
        if (rc != 0 || ns != ok[i].ns) {
            failf("parse_rfc3339(\"%s\"): want 0, %lld; got %d, %lld", ok[i].s,
                  (long long)ok[i].ns, rc, (long long)ns);
        }
    }
}

static void test_rfc3339_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "2026-13-18T14:30:51Z",           /* month 13 */
        "2026-00-18T14:30:51Z",           /* month 0 */
        "2026-03-32T14:30:51Z",           /* day 32 */
        "2026-03-00T14:30:51Z",           /* day 0 */
        "2026-03-18T24:00:00Z",           /* hour 24 */
        "2026-03-18T14:60:51Z",           /* minute 60 */
        "2026-03-18T14:30:51",            /* no zone */
        "2026-03-18T14:30:51.123",        /* no zone */
        "2026-03-18T14:30:51.1234567890Z", /* 10 fractional digits */
        "2026-03-18T14:30:51Zjunk",       /* trailing junk */
        "2026-03-18T14:30:51Z ",          /* trailing space */
        " 2026-03-18T14:30:51Z",          /* leading space */
        "2026-03-18 14:30:51Z",           /* no T */
        "2026-03-18T14:30:51+02",         /* short offset */
        "2026-03-18T14:30:51+02:0",       /* short offset */
        "2026-03-18T14:30:51+2:00",       /* short offset */
        "2026-3-18T14:30:51Z",            /* one-digit month */
        "26-03-18T14:30:51Z",             /* two-digit year */
        "2026-03-18T14:30:5aZ",           /* non-digit */
        "2026/03/18T14:30:51Z",           /* wrong separators */
        "2026-03-18T14.30.51Z",
        "2026-03-18T",
        "2026-03-18",
        "14:30:51",
        "Z",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = strlen(bad[i]);
        char *buf = talloc(len);
        int64_t ns = 0;
        int rc;

        memcpy(buf, bad[i], len);
        rc = parse_rfc3339(buf, len, &ns);
        tfree(buf);
        if (rc != -1) {
            failf("parse_rfc3339(\"%s\"): want -1, got %d (ns %lld)", bad[i], rc, (long long)ns);
        }
    }
}

/* The length, not a NUL, ends the timestamp. */
static void test_rfc3339_uses_len(void **state)
{
    int64_t ns = 0;

    (void)state;
    assert_int_equal(parse_rfc3339("2026-03-18T14:30:51Zjunk", 20, &ns), 0);
    assert_true(ns == AT(0));
    assert_int_equal(parse_rfc3339("2026-03-18T14:30:51.123456789Z system/k8s/web", 30, &ns), 0);
    assert_true(ns == AT(0) + 123456789LL);
    assert_int_equal(parse_rfc3339("2026-03-18T14:30:51.123Z", 19, &ns), -1);
    assert_int_equal(parse_rfc3339("2026-03-18T14:30:51Z", 19, &ns), -1);
    assert_int_equal(parse_rfc3339("2026-03-18T14:30:51Z", 0, &ns), -1);
}

static void test_format_ts(void **state)
{
    static const struct {
        int64_t ns;
        const char *s;
    } cases[] = {
        {AT(0), "2026-03-18T14:30:51Z"},
        {AT(0) + 500000000LL, "2026-03-18T14:30:51.500Z"},
        {AT(0) + 123000000LL, "2026-03-18T14:30:51.123Z"},
        {AT(0) + 1000000LL, "2026-03-18T14:30:51.001Z"},
        {AT(0) + 123400000LL, "2026-03-18T14:30:51.123400Z"},
        {AT(0) + 1000LL, "2026-03-18T14:30:51.000001Z"},
        {AT(0) + 123456789LL, "2026-03-18T14:30:51.123456789Z"},
        {AT(0) + 1, "2026-03-18T14:30:51.000000001Z"},
        {AT(0) + 10, "2026-03-18T14:30:51.000000010Z"},
        {AT(0) + 999999999LL, "2026-03-18T14:30:51.999999999Z"},
        {0, "1970-01-01T00:00:00Z"},
        {951782400LL * NS, "2000-02-29T00:00:00Z"},
        {1709208000LL * NS, "2024-02-29T12:00:00Z"},
        {946684799LL * NS, "1999-12-31T23:59:59Z"},
        {1798761599LL * NS + 999999999LL, "2026-12-31T23:59:59.999999999Z"},
        {-1, "1969-12-31T23:59:59.999999999Z"},
        {-9200000000LL * NS, "1678-06-18T12:26:40Z"},
        {9200000000LL * NS, "2261-07-15T11:33:20Z"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        size_t n;
        int64_t back = -1;

        memset(buf, '#', sizeof buf);
        n = parse_format_ts(cases[i].ns, buf, sizeof buf);
        if (n != strlen(cases[i].s) || memcmp(buf, cases[i].s, n) != 0) {
            failf("parse_format_ts(%lld): want \"%s\", got \"%s\" (len %zu)",
                  (long long)cases[i].ns, cases[i].s, show(buf, n < sizeof buf ? n : sizeof buf),
                  n);
        }
        /* round trip */
        assert_int_equal(parse_rfc3339(buf, n, &back), 0);
        assert_true(back == cases[i].ns);
    }
    /* seconds all over the range of int64 nanoseconds, the way gmtime and strftime see them */
    {
        uint64_t x = 88172645463325252ULL;

        for (i = 0; i < 20000; i++) {
            char buf[64], want[64];
            time_t t;
            struct tm tm;

            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t = (time_t)(x % 18400000000ULL) - 9200000000LL;
            gmtime_r(&t, &tm);
            strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
            assert_int_equal(parse_format_ts((int64_t)t * NS, buf, sizeof buf), strlen(want));
            assert_string_equal(buf, want);
        }
    }
    /* exactly 40 bytes is enough for the longest form */
    {
        char buf40[40];
        size_t n = parse_format_ts(1798761599LL * NS + 999999999LL, buf40, sizeof buf40);

        assert_int_equal(n, strlen("2026-12-31T23:59:59.999999999Z"));
        assert_memory_equal(buf40, "2026-12-31T23:59:59.999999999Z", n);
    }
}

/* ================================================================================== */
/* record.h helpers                                                                    */
/* ================================================================================== */

static void test_record_names(void **state)
{
    int k;

    (void)state;
    for (k = 0; k < RECORD_KIND_COUNT; k++) {
        assert_string_equal(record_kind_name((enum record_kind)k), kind_names[k]);
    }
    for (k = 0; k < OBJECT_KIND_COUNT; k++) {
        assert_string_equal(object_kind_name((enum object_kind)k), okind_names[k]);
    }
    assert_true(slice_eq((struct slice){"web-745f845dc", 3}, "web"));
    assert_false(slice_eq((struct slice){"web-745f845dc", 3}, "we"));
    assert_false(slice_eq((struct slice){"web-745f845dc", 3}, "web-"));
    assert_true(slice_eq((struct slice){"", 0}, ""));
    assert_false(slice_present(SLICE_NONE));
    assert_true(slice_present((struct slice){"", 0}));
}

/* ================================================================================== */
/* Never crashes: every prefix of every line, and hostile input                       */
/* ================================================================================== */

static void check_invariants(const char *buf, size_t len, const struct record *r,
                             const struct source *src)
{
    char ctx[800];
    const struct slice *sl[] = {&r->stream,    &r->object,    &r->service, &r->replicaset,
                                &r->pod,       &r->container, &r->message, &r->status_from,
                                &r->status_to, &r->release,   &r->build,   &r->pod_status};
    static const char *const names[] = {"stream",    "object",    "service", "replicaset",
                                        "pod",       "container", "message", "status_from",
                                        "status_to", "release",   "build",   "pod_status"};
    size_t i;

    snprintf(ctx, sizeof ctx, "invariants: line \"%s\"", show(buf, len));
    if ((int)r->kind < 0 || r->kind >= RECORD_KIND_COUNT) {
        failf("%s\n  kind out of range: %d", ctx, (int)r->kind);
    }
    if ((int)r->object_kind < 0 || r->object_kind >= OBJECT_KIND_COUNT) {
        failf("%s\n  object_kind out of range: %d", ctx, (int)r->object_kind);
    }
    if (r->ts_src != TS_NONE && r->ts_src != TS_OWN && r->ts_src != TS_INHERITED) {
        failf("%s\n  ts_src out of range: %d", ctx, (int)r->ts_src);
    }
    if (r->line.p != buf || r->line.len > len) {
        failf("%s\n  line slice is not the line", ctx);
    }
    if (r->src != src) {
        failf("%s\n  src not kept", ctx);
    }
    for (i = 0; i < sizeof sl / sizeof sl[0]; i++) {
        check_slice(ctx, names[i], *sl[i], ANY, buf, len);
    }
    if (r->cli.p != NULL && (r->cli.len == 0 || r->cli.len > 32)) {
        failf("%s\n  cli: implausible type of length %zu", ctx, r->cli.len);
    }
    if ((r->cli.p != NULL) != (r->kind == RECORD_CLI)) {
        failf("%s\n  cli set on a %s record, or missing on a cli record", ctx,
              kname((int)r->kind));
    }
}

static void all_prefixes(struct parser *p, const char *line, size_t len)
{
    size_t k;

    for (k = 0; k <= len; k++) {
        struct record r;
        char *buf = parse_copy(p, &test_src, line, k, 0, &r);

        check_invariants(buf, k, &r, &test_src);
        tfree(buf);
    }
}

static void prefixes_of_table(struct parser *p, const struct want *rows, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        all_prefixes(p, rows[i].line, want_len(&rows[i]));
    }
}

#define PREFIXES(p, t) prefixes_of_table((p), (t), sizeof(t) / sizeof((t)[0]))

static void test_never_crashes_on_prefixes(void **state)
{
    struct parser p;

    (void)state;
    parse_init(&p);
    PREFIXES(&p, convox_k8s_rows);
    PREFIXES(&p, convox_atom_state_rows);
    PREFIXES(&p, convox_app_rows);
    PREFIXES(&p, convox_other_stream_rows);
    PREFIXES(&p, kubectl_rows);
    PREFIXES(&p, ci_rows);
    PREFIXES(&p, cli_rows);
    PREFIXES(&p, cli_real_variant_rows);
    PREFIXES(&p, unknown_rows);
    PREFIXES(&p, kubectl_no_ts_rows);
    PREFIXES(&p, reference_variant_rows);
    PREFIXES(&p, flag_rows);
}

static void test_never_crashes_on_hostile_input(void **state)
{
    static const char *const hostile[] = {
        " ",
        "                                        ",
        "\t\t\t",
        "2026-03-18T14:30:51Z",
        "2026-03-18T14:30:51Z ",
        "2026-03-18T14:30:51Z  ",
        "2026-03-18T14:30:51Z  system/k8s/web  double spaces",
        "2026-03-18T14:30:51Z system/k8s/",
        "2026-03-18T14:30:51Z system/k8s/ empty object",
        "2026-03-18T14:30:51Z system/ empty object",
        "2026-03-18T14:30:51Z system/k8s/atom/ Status: ",
        "2026-03-18T14:30:51Z system/k8s/atom/app Status:",
        "2026-03-18T14:30:51Z system/k8s/atom/app Status: =>",
        "2026-03-18T14:30:51Z system/k8s/atom/app Status:  => ",
        "2026-03-18T14:30:51Z system/k8s/atom/app Status: Running =>",
        "2026-03-18T14:30:51Z system/k8s/atom/app Status: => Running",
        "2026-03-18T14:30:51Z system/k8s/web (combined from similar events): ",
        "2026-03-18T14:30:51Z system/k8s/web (combined from similar events):",
        "2026-03-18T14:30:51Z service// x",
        "2026-03-18T14:30:51Z service/web x",
        "2026-03-18T14:30:51Z service/web/ x",
        "2026-03-18T14:30:51Z service/web/a/b/c x",
        "2026-03-18T14:30:51Z timer// x",
        "2026-03-18T14:30:51Z process/ x",
        "2026-03-18T14:30:51Z / x",
        "2026-03-18T14:30:51Z system/k8s/-- x",
        "2026-03-18T14:30:51Z system/k8s/--- x",
        "2026-03-18T14:30:51Z system/k8s/-abcde x",
        "2026-03-18T14:30:51Z system/k8s/web- x",
        "2026-03-18T14:30:51Z system/k8s/web--rzl2q x",
        "2026-03-18T14:30:51Z system/k8s/timer--1-abcde x",
        "2026-03-18T14:30:51Z system/k8s/timer-x-1-abcde x",
        "2026-03-18T14:30:51Z system/k8s/timer-29012345-x7k2p x",
        "2026-03-18T14:30:51Z system/k8s/-745f845dc-rzl2q x",
        "[pod/",
        "[pod/]",
        "[pod//] 2026-03-18T14:30:51.123456789Z x",
        "[pod/a/b] ",
        "[pod/a/b] 2026-03-18T14:30:51.123456789Z",
        "[pod/a/b]2026-03-18T14:30:51.123456789Z x",
        "[pod/a] 2026-03-18T14:30:51.123456789Z x",
        "[pod/a/b/c] 2026-03-18T14:30:51.123456789Z x",
        "[] 2026-03-18T14:30:51Z x",
        "Promoting ",
        "Promoting ...",
        "Promoting R...",
        "Rolling back to ",
        "Rolling back to R... OK, ",
        "Build:",
        "Build: ",
        "Release:",
        "ERROR:",
        "ERROR: ",
        "  ",
        "  a",
        "  a  b",
        "  a  b  ",
        "  a  b  running extra",
        "00:00:00 ",
        "00:00:00 00:00:00 2026-03-18T14:30:51Z system/k8s/web x",
        "99:99:99 2026-03-18T14:30:51Z system/k8s/web x",
        "\xff",
        "\xc0",
        "\xf0\x9f\x98",
        "9999-12-31T23:59:59.999999999Z system/k8s/web x",
        "0000-01-01T00:00:00Z system/k8s/web x",
        "1969-12-31T23:59:59Z system/k8s/web x",
        "2026-03-18T14:30:51+99:99 system/k8s/web x",
        "2026-03-18T14:30:51-23:59 system/k8s/web x",
    };
    struct parser p;
    size_t i;
    unsigned b;

    (void)state;
    parse_init(&p);
    for (i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        all_prefixes(&p, hostile[i], strlen(hostile[i]));
    }

    /* every byte value alone and after a valid prefix */
    for (b = 0; b < 256; b++) {
        char line[80];
        size_t n = (size_t)snprintf(line, sizeof line, "2026-03-18T14:30:51Z system/k8s/web-");
        struct record r;
        char *buf;

        line[n++] = (char)b;
        buf = parse_copy(&p, &test_src, line, n, 0, &r);
        check_invariants(buf, n, &r, &test_src);
        tfree(buf);
        buf = parse_copy(&p, &test_src, line + n - 1, 1, 0, &r);
        check_invariants(buf, 1, &r, &test_src);
        tfree(buf);
    }
}

/* Lines at and over the 64 KiB limit. */
static void test_long_lines(void **state)
{
    static const char head[] = "2026-03-18T14:30:51Z service/web/web-745f845dc-rzl2q ";
    size_t body = 65536;
    size_t len = sizeof head - 1 + body;
    char *line = talloc(len);
    struct parser p;
    struct record r;
    char *buf;

    (void)state;
    memcpy(line, head, sizeof head - 1);
    memset(line + sizeof head - 1, 'a', body);
    parse_init(&p);
    buf = parse_copy(&p, NULL, line, len, REC_TRUNCATED, &r);
    assert_int_equal(r.kind, RECORD_APP);
    assert_int_equal(r.flags, REC_TRUNCATED);
    assert_int_equal(r.message.len, body);
    assert_true(r.message.p == buf + sizeof head - 1);
    assert_int_equal(r.line.len, len);
    tfree(buf);

    /* one huge token: no stream, no time */
    memset(line, 'x', len);
    buf = parse_copy(&p, NULL, line, len, REC_TRUNCATED | REC_NO_NEWLINE, &r);
    assert_int_equal(r.kind, RECORD_UNKNOWN);
    assert_int_equal(r.flags, REC_TRUNCATED | REC_NO_NEWLINE);
    assert_int_equal(r.message.len, len);
    assert_int_equal(r.ts_src, TS_INHERITED);
    tfree(buf);

    /* a huge object name */
    memcpy(line, "2026-03-18T14:30:51Z system/k8s/", 32);
    memset(line + 32, 'b', len - 32);
    buf = parse_copy(&p, NULL, line, len, 0, &r);
    check_invariants(buf, len, &r, NULL);
    assert_int_equal(r.kind, RECORD_K8S);
    tfree(buf);

    assert_int_equal(parse_stats(&p)->truncated, 2);
    tfree(line);
}

/* ================================================================================== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_convox_k8s_lines, free_tracked),
        cmocka_unit_test_teardown(test_convox_atom_and_state_lines, free_tracked),
        cmocka_unit_test_teardown(test_convox_app_lines, free_tracked),
        cmocka_unit_test_teardown(test_convox_other_streams, free_tracked),
        cmocka_unit_test_teardown(test_atom_transitions, free_tracked),
        cmocka_unit_test_teardown(test_k8s_pod_message_variants, free_tracked),
        cmocka_unit_test_teardown(test_k8s_deployment_message_variants, free_tracked),
        cmocka_unit_test_teardown(test_k8s_replicaset_message_variants, free_tracked),
        cmocka_unit_test_teardown(test_parse_object_name_direct, free_tracked),
        cmocka_unit_test_teardown(test_parse_object_name_empty_msg, free_tracked),
        cmocka_unit_test_teardown(test_object_names_in_lines, free_tracked),
        cmocka_unit_test_teardown(test_kubectl_lines, free_tracked),
        cmocka_unit_test_teardown(test_kubectl_without_timestamp, free_tracked),
        cmocka_unit_test_teardown(test_ci_prefix, free_tracked),
        cmocka_unit_test_teardown(test_cli_lines, free_tracked),
        cmocka_unit_test_teardown(test_cli_real_variants, free_tracked),
        cmocka_unit_test_teardown(test_cli_pod_status_rows, free_tracked),
        cmocka_unit_test_teardown(test_reference_variants, free_tracked),
        cmocka_unit_test_teardown(test_reference_hpa_names, free_tracked),
        cmocka_unit_test_teardown(test_unknown_lines, free_tracked),
        cmocka_unit_test_teardown(test_empty_line, free_tracked),
        cmocka_unit_test_teardown(test_line_flags, free_tracked),
        cmocka_unit_test_teardown(test_nul_bytes, free_tracked),
        cmocka_unit_test_teardown(test_utf8_edges, free_tracked),
        cmocka_unit_test(test_name_alphabets),
        cmocka_unit_test(test_time_from_the_last_line),
        cmocka_unit_test(test_find_and_same_agree_with_libc),
        cmocka_unit_test(test_name_memo_agrees),
        cmocka_unit_test(test_utf8_scan_every_offset),
        cmocka_unit_test_teardown(test_out_of_order_container_events, free_tracked),
        cmocka_unit_test_teardown(test_out_of_order_atom_statuses, free_tracked),
        cmocka_unit_test_teardown(test_deploy_transcript, free_tracked),
        cmocka_unit_test_teardown(test_parse_init_resets, free_tracked),
        cmocka_unit_test_teardown(test_stats, free_tracked),
        cmocka_unit_test_teardown(test_rfc3339_valid, free_tracked),
        cmocka_unit_test_teardown(test_rfc3339_invalid, free_tracked),
        cmocka_unit_test_teardown(test_rfc3339_uses_len, free_tracked),
        cmocka_unit_test_teardown(test_format_ts, free_tracked),
        cmocka_unit_test_teardown(test_record_names, free_tracked),
        cmocka_unit_test_teardown(test_never_crashes_on_prefixes, free_tracked),
        cmocka_unit_test_teardown(test_never_crashes_on_hostile_input, free_tracked),
        cmocka_unit_test_teardown(test_long_lines, free_tracked),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
