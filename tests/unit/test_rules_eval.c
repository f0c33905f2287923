/* The rule engine's evaluation semantics (rules.d/README.md) through the public API of rules.h:
 * tagging, captures, conditions, recent, threshold, expect, alert dedup, dispatch, swap and the
 * state cap. Rule sets are inline JSON, records are real Convox lines parsed by parse_line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alert.h"
#include "parse.h"
#include "record.h"
#include "rules.h"
#include "rules_int.h"

/* ================================================================================== */
/* Lines                                                                              */
/* ================================================================================== */

#define NS 1000000000LL
#define T0 1773844251LL /* 2026-03-18T14:30:51Z */
#define AT(sec) ((T0 + (sec)) * NS)

#define POD_P "web-745f845dc-rzl2q"
#define POD_Q "web-745f845dc-qqqqq"
#define POD_API "api-6c9d8f7b5-abcde"

/* The text after the timestamp: feed() prepends it. */
#define BACKOFF(pod)                                                                               \
    "system/k8s/" pod " Back-off restarting failed container myapp in pod " pod "_myapp(1a2b)"
#define STARTED(pod) "system/k8s/" pod " Started container myapp"
#define CREATED(pod) "system/k8s/web-745f845dc Created pod: " pod
#define CREATED_RS(rs, pod) "system/k8s/" rs " Created pod: " pod
#define PROBE(pod)                                                                                 \
    "system/k8s/" pod " Readiness probe failed: HTTP probe failed with statuscode: 500"
#define APPLINE(pod, msg) "service/web/" pod " " msg
#define PULLING(pod, image) "system/k8s/" pod " Pulling image \"" image "\""
#define SCALED "system/k8s/web Scaled up replica set web-745f845dc to 1"
#define ATOM "system/k8s/atom/app Status: Running => Pending"

/* ================================================================================== */
/* Classes used by the rule sets                                                      */
/* ================================================================================== */

#define CLASS_CRASH                                                                                \
    "\"crash_loop\":{\"severity\":\"critical\","                                                   \
    "\"summary\":\"{{service}}: crashing ({{pod}})\","                                             \
    "\"hint\":\"app={{app}} class={{class}} rule={{rule}} n={{count}} rel={{release}}\"}"
#define CLASS_OOM                                                                                  \
    "\"oom\":{\"severity\":\"warning\",\"summary\":\"{{service}}: oom ({{pod}})\","                \
    "\"hint\":\"oom hint\"}"
#define CLASS_STUCK                                                                                \
    "\"pod_stuck\":{\"severity\":\"warning\",\"summary\":\"{{service}}: {{pod}} stuck\","          \
    "\"hint\":\"stuck hint {{app}}\"}"
#define CLASS_PULL                                                                                 \
    "\"image_pull\":{\"severity\":\"critical\",\"summary\":\"{{service}}: pull\","                 \
    "\"hint\":\"pull hint\"}"
#define CLASS_HEALTH                                                                               \
    "\"health_check\":{\"severity\":\"warning\",\"summary\":\"{{service}}: probes\","              \
    "\"hint\":\"probe hint\"}"

/* An alert object for rules without a class. */
#define ALERT_INFO "\"alert\":{\"severity\":\"info\",\"summary\":\"s\"}"

/* ================================================================================== */
/* Harness                                                                            */
/* ================================================================================== */

#define MAX_ALERTS 64

/* A copy of one alert (struct alert is valid only during the callback). */
struct got {
    enum alert_status status;
    enum alert_severity severity;
    char *rule, *cls;
    char *app, *service, *pod, *release; /* NULL = absent */
    char *summary, *hint;
    int64_t starts_at, ends_at;
    char fp[17];
    uint64_t count;
    size_t nev;
    char *ev[ALERT_MAX_EVIDENCE];
};

/*
 * The whole group runs twice: evaluating each record directly, and the way replay does, with
 * the conditions tested ahead by rules_pre_eval (as on the reader thread) and passed along.
 */
static int use_pre;

struct h {
    struct rules_engine *eng;
    struct rules_pre *pre; /* use_pre: for the engine's set at the time */
    uint64_t bits[64];
    struct rules_ahead ahead; /* what rules_pre_eval decided beyond the bits */
    struct rules_stats pre_stats; /* the regex runs of the tests ahead */
    struct parser p;
    struct source src;
    struct got a[MAX_ALERTS];
    size_t n;
    int overflow;
    struct record rec;
    char line[4096]; /* rec borrows from it until the next feed */
    char names[2048];
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static char *dup_slice(struct slice s)
{
    return s.p ? strndup(s.p, s.len) : NULL;
}

static void on_alert(void *arg, const struct alert *a)
{
    struct h *h = arg;
    struct got *g;

    if (h->n >= MAX_ALERTS) {
        h->overflow = 1;
        return;
    }
    g = &h->a[h->n++];
    g->status = a->status;
    g->severity = a->severity;
    g->rule = dup_or_null(a->rule);
    g->cls = dup_or_null(a->class_name);
    g->app = dup_slice(a->app);
    g->service = dup_slice(a->service);
    g->pod = dup_slice(a->pod);
    g->release = dup_slice(a->release);
    g->summary = dup_or_null(a->summary);
    g->hint = dup_or_null(a->hint);
    g->starts_at = a->starts_at;
    g->ends_at = a->ends_at;
    memcpy(g->fp, a->fingerprint, sizeof(g->fp));
    g->count = a->count;
    g->nev = a->nevidence;
    for (size_t i = 0; i < a->nevidence && i < ALERT_MAX_EVIDENCE; i++) {
        g->ev[i] = dup_slice(a->evidence[i]);
    }
}

static void got_free(struct got *g)
{
    free(g->rule);
    free(g->cls);
    free(g->app);
    free(g->service);
    free(g->pod);
    free(g->release);
    free(g->summary);
    free(g->hint);
    for (size_t i = 0; i < g->nev && i < ALERT_MAX_EVIDENCE; i++) {
        free(g->ev[i]);
    }
    memset(g, 0, sizeof(*g));
}

static void on_err(void *arg, const struct err *e)
{
    int *n = arg;

    (*n)++;
    print_error("rule load error: %s:%d:%d: %s\n", e->file, e->line, e->col, e->msg);
}

static struct rule_set *load(const char *json)
{
    int errs = 0;
    struct rule_set *set = rules_load_text("test.json", json, strlen(json), on_err, &errs);

    assert_int_equal(errs, 0);
    assert_non_null(set);
    return set;
}

/* Harnesses not yet freed: a failed assertion leaves the test early, the teardown frees them
 * so that LeakSanitizer reports only real leaks. */
#define MAX_LIVE 8
static struct h *live[MAX_LIVE];

static struct h *h_new(const char *json, const struct rules_opts *opts)
{
    struct h *h = calloc(1, sizeof(*h));
    size_t i;

    assert_non_null(h);
    for (i = 0; i < MAX_LIVE && live[i] != NULL; i++) {
    }
    if (i == MAX_LIVE) {
        free(h);
        fail_msg("too many live harnesses");
    }
    live[i] = h;
    parse_init(&h->p);
    h->src.name = "test";
    h->src.app = "myapp";
    h->eng = rules_engine_new(load(json), opts, on_alert, h);
    assert_non_null(h->eng);
    return h;
}

static void h_clear_alerts(struct h *h)
{
    for (size_t i = 0; i < h->n; i++) {
        got_free(&h->a[i]);
    }
    h->n = 0;
}

static void h_release(struct h *h)
{
    for (size_t i = 0; i < MAX_LIVE; i++) {
        if (live[i] == h) {
            live[i] = NULL;
        }
    }
    rules_pre_free(h->pre);
    rules_engine_free(h->eng);
    h_clear_alerts(h);
    free(h);
}

static void h_free(struct h *h)
{
    int overflow = h->overflow;

    h_release(h);
    assert_false(overflow);
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < MAX_LIVE; i++) {
        if (live[i] != NULL) {
            h_release(live[i]);
        }
    }
    return 0;
}

/* Parses and evaluates line as is (no timestamp added). */
static struct record *feed_raw(struct h *h, const char *line)
{
    size_t n = strlen(line);

    assert_true(n < sizeof(h->line));
    memcpy(h->line, line, n + 1);
    h->src.lineno++;
    parse_line(&h->p, &h->src, h->line, n, 0, &h->rec);
    if (!use_pre) {
        rules_eval(h->eng, &h->rec);
        return &h->rec;
    }
    if (h->pre == NULL || rules_pre_set(h->pre) != rules_engine_set(h->eng)) {
        rules_pre_free(h->pre); /* a swap: test ahead with the new rules */
        h->pre = rules_pre_new(rules_engine_set(h->eng));
    }
    assert_true(rules_pre_words(h->pre) <= sizeof(h->bits) / sizeof(h->bits[0]));
    rules_pre_eval(h->pre, &h->rec, h->bits, &h->ahead, &h->pre_stats);
    h->ahead.bits = h->bits; /* the captures point into h->line, as the engine's would */
    rules_eval_pre(h->eng, &h->rec, rules_pre_set(h->pre), &h->ahead);
    return &h->rec;
}

/* Evaluates "<T0 + sec> rest". */
static struct record *feed(struct h *h, int64_t sec, const char *rest)
{
    char ts[48], line[4096];

    parse_format_ts(AT(sec), ts, sizeof(ts));
    snprintf(line, sizeof(line), "%s %s", ts, rest);
    return feed_raw(h, line);
}

/* The whole line feed() builds, for comparing evidence. */
static const char *line_at(int64_t sec, const char *rest)
{
    static char out[4][4096];
    static unsigned k;
    char ts[48];
    char *o = out[k++ & 3u];

    parse_format_ts(AT(sec), ts, sizeof(ts));
    snprintf(o, sizeof(out[0]), "%s %s", ts, rest);
    return o;
}

/* Printable copy of a slice ("<absent>" for none), rotating buffers. */
static const char *sl(struct slice s)
{
    static char out[8][1024];
    static unsigned k;
    char *o = out[k++ & 7u];

    if (s.p == NULL) {
        return "<absent>";
    }
    snprintf(o, sizeof(out[0]), "%.*s", (int)s.len, s.p);
    return o;
}

#define ABSENT "<absent>"
#define assert_slice(s, want) assert_string_equal(sl(s), (want))
#define assert_str_or_absent(s, want) assert_string_equal((s) ? (s) : ABSENT, (want))

/* The value of the capture named name (an extra field), found through its interned id. */
static struct slice extra(const struct record *r, const char *name)
{
    for (size_t i = 0; i < r->nextra; i++) {
        if (r->extra[i].name != NULL && strcmp(r->extra[i].name, name) == 0) {
            assert_true(r->extra[i].field >= FIELD_COUNT);
            return record_field_get(r, r->extra[i].field);
        }
    }
    return SLICE_NONE;
}

/* The rule names of alerts [from, h->n), space separated. */
static const char *names_since(struct h *h, size_t from)
{
    size_t o = 0;

    h->names[0] = '\0';
    for (size_t i = from; i < h->n; i++) {
        o += (size_t)snprintf(h->names + o, sizeof(h->names) - o, "%s%s", o ? " " : "",
                              h->a[i].rule);
        assert_true(o < sizeof(h->names));
    }
    return h->names;
}

static const struct rules_stats *stats(struct h *h)
{
    return rules_engine_stats(h->eng);
}

/* ================================================================================== */
/* First tag wins                                                                     */
/* ================================================================================== */

static const char first_tag_rules[] =
    "{\"classes\":{" CLASS_CRASH "," CLASS_OOM "},\"rules\":["
    "{\"id\":\"first\",\"when\":{\"message\":{\"prefix\":\"Back-off\"}},"
    " \"class\":\"crash_loop\",\"alert\":true},"
    "{\"id\":\"second\",\"when\":{\"message\":{\"contains\":\"restarting\"}},"
    " \"class\":\"oom\",\"alert\":true},"
    "{\"id\":\"ev-only\",\"when\":{\"message\":{\"contains\":\"restarting\"}},\"event\":"
    "\"backoff\"},"
    "{\"id\":\"ev-late\",\"when\":{\"message\":{\"contains\":\"failed\"}},\"event\":\"other\"},"
    /* sees the event the first tagging rule gave, not a later one's */
    "{\"id\":\"on-backoff\",\"when\":{\"event\":\"backoff\"}," ALERT_INFO "}"
    "]}";

static void test_first_tag_wins(void **state)
{
    struct h *h = h_new(first_tag_rules, NULL);
    struct record *r;
    (void)state;

    r = feed(h, 0, BACKOFF(POD_P));
    assert_slice(r->class_name, "crash_loop"); /* the earlier rule's class is kept */
    assert_slice(r->event, "backoff");         /* an event-only rule tags despite the class */
    assert_slice(record_field_get(r, FIELD_CLASS), "crash_loop");
    assert_slice(record_field_get(r, FIELD_EVENT), "backoff");
    assert_int_equal(h->n, 2);
    assert_string_equal(h->a[0].rule, "first"); /* the later class rule does not alert */
    assert_string_equal(h->a[0].cls, "crash_loop");
    assert_string_equal(h->a[1].rule, "on-backoff");

    /* the second rule works on its own when the first does not match */
    r = feed(h, 1, "system/k8s/" POD_P " Liveness probe failed, restarting container");
    assert_slice(r->class_name, "oom");
    assert_slice(r->event, "backoff");
    assert_int_equal(h->n, 3); /* on-backoff's alert for the pod is firing already */
    assert_string_equal(h->a[2].rule, "second");

    /* neither: the last event rule tags, nobody sets a class */
    r = feed(h, 2, "system/k8s/" POD_P " Readiness probe failed");
    assert_slice(r->class_name, ABSENT);
    assert_slice(r->event, "other");
    assert_int_equal(h->n, 3);

    assert_int_equal(stats(h)->records, 3);
    assert_int_equal(stats(h)->tagged_class, 2);
    assert_int_equal(stats(h)->tagged_event, 3);
    assert_int_equal(stats(h)->alerts_fired, 3);
    h_free(h);
}

/* ================================================================================== */
/* A match rule's resolve list                                                        */
/* ================================================================================== */

/* resolve tests a tag an earlier rule gives: nothing the reader can test ahead */
static const char resolve_rules[] =
    "{\"classes\":{" CLASS_CRASH "," CLASS_HEALTH "},\"rules\":["
    "{\"id\":\"started\",\"when\":{\"message\":{\"prefix\":\"Started container\"}},"
    " \"event\":\"container_started\"},"
    "{\"id\":\"odd\",\"when\":{\"message\":{\"suffix\":\" odd\"}},\"class\":\"health_check\"},"
    "{\"id\":\"crash\",\"when\":{\"kind\":\"k8s\",\"message\":{\"prefix\":\"Back-off\"}},"
    " \"class\":\"crash_loop\",\"alert\":true,\"key\":[\"pod\"],"
    " \"resolve\":{\"event\":\"container_started\"}}"
    "]}";

/* A record meeting resolve ends the alert with its key, though the rule's "when" fails. */
static void test_match_resolve(void **state)
{
    struct h *h = h_new(resolve_rules, NULL);
    (void)state;

    feed(h, 0, STARTED(POD_P)); /* nothing firing: nothing to resolve */
    feed(h, 1, BACKOFF(POD_P));
    assert_int_equal(h->n, 1);
    assert_int_equal(h->a[0].status, ALERT_FIRING);
    feed(h, 5, STARTED(POD_Q)); /* another pod's alert key */
    assert_int_equal(h->n, 1);
    feed(h, 10, STARTED(POD_P));
    assert_int_equal(h->n, 2);
    assert_int_equal(h->a[1].status, ALERT_RESOLVED);
    assert_string_equal(h->a[1].rule, "crash");
    assert_string_equal(h->a[1].pod, POD_P);
    assert_int_equal(h->a[1].ends_at, AT(10));
    feed(h, 11, STARTED(POD_P)); /* resolved once */
    assert_int_equal(h->n, 2);

    /* a record that another rule classed first still resolves (first tag wins for tags) */
    feed(h, 20, BACKOFF(POD_Q));
    assert_int_equal(h->n, 3);
    feed(h, 21, STARTED(POD_Q) " odd");
    assert_int_equal(h->n, 4);
    assert_int_equal(h->a[3].status, ALERT_RESOLVED);
    assert_string_equal(h->a[3].pod, POD_Q);
    h_free(h);
}

/* ================================================================================== */
/* Named captures                                                                     */
/* ================================================================================== */

static const char capture_rules[] =
    "{\"classes\":{" CLASS_PULL "},\"rules\":["
    "{\"id\":\"pull\",\"when\":{\"kind\":\"k8s\",\"message\":{\"prefix\":\"Pulling image \","
    " \"regex\":\"^Pulling image .(?<image>[a-z0-9./-]+):(?<tag>\\\\w+)\"}},"
    " \"event\":\"image_pulling\"},"
    "{\"id\":\"victim\",\"when\":{\"message\":{\"regex\":\"in pod (?<pod>[a-z0-9-]+)_\"}},"
    " \"event\":\"backoff\"},"
    "{\"id\":\"by-image\",\"when\":{\"image\":{\"prefix\":\"registry.example.com/"
    "\"},\"tag\":\"B123\"},"
    " \"class\":\"image_pull\",\"alert\":{"
    "  \"summary\":\"{{service}} pulls {{image}}:{{tag}} on {{pod}} n={{count}} c={{class}}"
    " r={{rule}} b={{build}}\","
    "  \"hint\":\"{{ image }} via {{message}}\",\"key\":[\"image\"]}}"
    "]}";

static void test_captures_become_fields(void **state)
{
    struct h *h = h_new(capture_rules, NULL);
    struct record *r;
    char fp1[17];
    (void)state;

    r = feed(h, 0, PULLING(POD_P, "registry.example.com/myapp:B123"));
    assert_slice(r->event, "image_pulling");
    assert_int_equal(r->nextra, 2);
    assert_slice(extra(r, "image"), "registry.example.com/myapp");
    assert_slice(extra(r, "tag"), "B123");
    assert_slice(extra(r, "nope"), ABSENT);
    /* a later rule's conditions, key and templates use them */
    assert_slice(r->class_name, "image_pull");
    assert_int_equal(h->n, 1);
    assert_string_equal(h->a[0].rule, "by-image");
    assert_string_equal(h->a[0].summary, "web pulls registry.example.com/myapp:B123 on " POD_P
                                         " n=1 c=image_pull r=by-image b=?");
    assert_string_equal(h->a[0].hint, "registry.example.com/myapp via Pulling image "
                                      "\"registry.example.com/myapp:B123\"");
    assert_int_equal(h->a[0].severity, SEVERITY_CRITICAL);
    memcpy(fp1, h->a[0].fp, sizeof(fp1));

    /* the key is the image: another image is another alert, the same image is suppressed */
    r = feed(h, 1, PULLING(POD_Q, "registry.example.com/other:B123"));
    assert_slice(extra(r, "image"), "registry.example.com/other");
    assert_int_equal(h->n, 2);
    assert_string_not_equal(h->a[1].fp, fp1);
    assert_string_equal(h->a[1].pod, POD_Q);
    r = feed(h, 2, PULLING(POD_Q, "registry.example.com/myapp:B123"));
    assert_int_equal(h->n, 2);
    assert_int_equal(stats(h)->alerts_suppressed, 1);

    /* the capture's value fails the later condition: no class, no alert */
    r = feed(h, 3, PULLING(POD_P, "docker.io/library/nginx:B123"));
    assert_slice(r->event, "image_pulling");
    assert_slice(extra(r, "image"), "docker.io/library/nginx");
    assert_slice(r->class_name, ABSENT);
    r = feed(h, 4, PULLING(POD_P, "registry.example.com/myapp:B124"));
    assert_slice(extra(r, "tag"), "B124");
    assert_slice(r->class_name, ABSENT);
    assert_int_equal(h->n, 2);

    /* a capture named pod overrides the record's own pod; it is no extra */
    r = feed(h, 5,
             "system/k8s/" POD_P " Back-off restarting failed container myapp in pod "
             "web-745f845dc-zzzzz_myapp(1a2b)");
    assert_slice(r->event, "backoff");
    assert_slice(r->pod, "web-745f845dc-zzzzz");
    assert_slice(record_field_get(r, FIELD_POD), "web-745f845dc-zzzzz");
    assert_slice(r->object, POD_P);
    assert_int_equal(r->nextra, 0);
    assert_slice(extra(r, "image"), ABSENT); /* no image on this record */
    h_free(h);
}

/* ================================================================================== */
/* Condition operators                                                                */
/* ================================================================================== */

#define RULE(id, when) "{\"id\":\"" id "\",\"when\":" when "," ALERT_INFO "},"

/* clang-format off */
static const char cond_rules[] =
    "{\"rules\":["
    RULE("eq", "{\"service\":\"web\"}")
    RULE("eq-no", "{\"service\":\"we\"}")
    RULE("eq-obj", "{\"service\":{\"equals\":\"web\"}}")
    RULE("in", "{\"service\":[\"api\",\"web\"]}")
    RULE("in-no", "{\"service\":{\"in\":[\"api\",\"worker\"]}}")
    RULE("prefix", "{\"message\":{\"prefix\":[\"Started\",\"Back-off\"]}}")
    RULE("prefix-no", "{\"message\":{\"prefix\":[\"Started\",\"Pulling\"]}}")
    RULE("suffix", "{\"message\":{\"suffix\":[\"nope\",\"(1a2b)\"]}}")
    RULE("suffix-no", "{\"message\":{\"suffix\":[\"(1a2\",\"Back-off\"]}}")
    RULE("contains", "{\"message\":{\"contains\":[\"zzz\",\"failed container\"]}}")
    RULE("contains-no", "{\"message\":{\"contains\":[\"zzz\",\"Failed\"]}}")
    RULE("regex", "{\"message\":{\"regex\":\"restarting f[a-z]+ed\"}}")
    RULE("regex-anchored-no", "{\"message\":{\"regex\":\"^restarting\"}}")
    RULE("regex-anchored", "{\"message\":{\"regex\":\"^Back-off\\\\s\"}}")
    RULE("glob-star", "{\"stream\":{\"glob\":\"system/k8s/*\"}}")
    RULE("glob-whole-no", "{\"stream\":{\"glob\":\"system/k8s\"}}")
    RULE("glob-inner-no", "{\"stream\":{\"glob\":\"k8s/*\"}}")
    RULE("glob-qmark", "{\"pod\":{\"glob\":\"web-745f845dc-rzl2?\"}}")
    RULE("glob-qmark-no", "{\"pod\":{\"glob\":\"web-745f845dc-rzl2??\"}}")
    RULE("glob-range", "{\"pod\":{\"glob\":\"[a-z]eb-*-[r-s]zl2q\"}}")
    RULE("glob-range-no", "{\"pod\":{\"glob\":\"[0-9]eb-*\"}}")
    RULE("glob-neg", "{\"pod\":{\"glob\":\"[!x]eb-*\"}}")
    RULE("glob-neg-no", "{\"pod\":{\"glob\":\"[!w]eb-*\"}}")
    RULE("glob-array", "{\"pod\":{\"glob\":[\"api-*\",\"*-rzl2q\"]}}")
    RULE("present", "{\"pod\":{\"present\":true}}")
    RULE("present-no", "{\"pod\":{\"present\":false}}")
    RULE("not", "{\"message\":{\"not\":{\"prefix\":\"Back-off\",\"contains\":\"nope\"}}}")
    RULE("not-no", "{\"message\":{\"not\":{\"prefix\":\"Back-off\",\"contains\":\"restarting\"}}}")
    RULE("prefix-and-not", "{\"message\":{\"prefix\":\"Back-off\","
                           "\"not\":{\"contains\":\"succeeded\"}}}")
    RULE("prefix-and-not-no", "{\"message\":{\"prefix\":\"Back-off\","
                              "\"not\":{\"contains\":\"myapp\"}}}")
    RULE("not-in", "{\"service\":{\"not\":{\"in\":[\"api\",\"worker\"]}}}")
    RULE("not-in-no", "{\"service\":{\"not\":{\"in\":[\"web\",\"api\"]}}}")
    RULE("kind", "{\"kind\":\"k8s\"}")
    RULE("kind-no", "{\"kind\":[\"app\",\"cli\"]}")
    RULE("okind", "{\"object_kind\":{\"in\":[\"replicaset\",\"pod\"]}}")
    RULE("okind-no", "{\"object_kind\":\"deployment\"}")
    RULE("kind-not", "{\"kind\":{\"not\":\"app\"}}")
    RULE("all-of-no", "{\"service\":\"web\",\"pod\":\"nope\"}")
    /* container is absent on a Kubernetes event line */
    RULE("abs-eq", "{\"container\":\"\"}")
    RULE("abs-in", "{\"container\":[\"myapp\",\"\"]}")
    RULE("abs-prefix", "{\"container\":{\"prefix\":\"\"}}")
    RULE("abs-suffix", "{\"container\":{\"suffix\":\"\"}}")
    RULE("abs-contains", "{\"container\":{\"contains\":\"\"}}")
    RULE("abs-regex", "{\"container\":{\"regex\":\"\"}}")
    RULE("abs-regex-neg", "{\"container\":{\"regex\":\"^(?!x)\"}}")
    RULE("abs-glob", "{\"container\":{\"glob\":\"*\"}}")
    RULE("abs-present", "{\"container\":{\"present\":true}}")
    RULE("abs-present-false", "{\"container\":{\"present\":false}}")
    RULE("abs-not", "{\"container\":{\"not\":\"myapp\"}}")
    "{\"id\":\"abs-not-present\",\"when\":{\"container\":{\"not\":{\"present\":true}}},"
    ALERT_INFO "}"
    "]}";
/* clang-format on */

static void test_condition_operators(void **state)
{
    struct h *h = h_new(cond_rules, NULL);
    (void)state;

    feed(h, 0, BACKOFF(POD_P));
    assert_string_equal(names_since(h, 0),
                        "eq eq-obj in prefix suffix contains regex regex-anchored glob-star "
                        "glob-qmark glob-range glob-neg glob-array present not prefix-and-not "
                        "not-in kind okind kind-not abs-present-false abs-not abs-not-present");
    assert_int_equal(stats(h)->regex_errors + h->pre_stats.regex_errors, 0);
    h_free(h);

    /* an app line of another service: the kind masks flip */
    h = h_new(cond_rules, NULL);
    feed(h, 0, "service/api/" POD_API " Back-off restarting failed container in pod x_y(1a2b)");
    assert_string_equal(names_since(h, 0),
                        "in in-no prefix suffix contains regex regex-anchored glob-array present "
                        "not prefix-and-not prefix-and-not-no kind-no okind abs-present-false "
                        "abs-not abs-not-present");
    h_free(h);
}

/* An empty field is present: it passes equals "" and prefix "", unlike an absent one. */
static void test_condition_empty_vs_absent(void **state)
{
    /* clang-format off */
    static const char rules[] =
        "{\"rules\":["
        RULE("msg-empty", "{\"message\":\"\"}")
        RULE("msg-prefix-empty", "{\"message\":{\"prefix\":\"\"}}")
        RULE("msg-present", "{\"message\":{\"present\":true}}")
        RULE("msg-regex-end", "{\"message\":{\"regex\":\"^$\"}}")
        RULE("msg-glob-star", "{\"message\":{\"glob\":\"*\"}}")
        RULE("msg-glob-q-no", "{\"message\":{\"glob\":\"?\"}}")
        "{\"id\":\"msg-prefix-b\",\"when\":{\"message\":{\"prefix\":\"B\"}}," ALERT_INFO "}"
        "]}";
    /* clang-format on */
    struct h *h = h_new(rules, NULL);
    struct record *r;
    (void)state;

    r = feed(h, 0, "system/k8s/" POD_P " ");
    assert_non_null(r->message.p);
    assert_int_equal(r->message.len, 0);
    assert_string_equal(names_since(h, 0),
                        "msg-empty msg-prefix-empty msg-present msg-regex-end msg-glob-star");
    h_free(h);
}

/* ================================================================================== */
/* recent                                                                             */
/* ================================================================================== */

static const char recent_rules[] =
    "{\"classes\":{" CLASS_CRASH "," CLASS_OOM "},\"rules\":["
    "{\"id\":\"sig\",\"when\":{\"kind\":\"app\",\"message\":{\"contains\":\"Killed\"}},"
    " \"event\":\"oom_signal\"},"
    "{\"id\":\"oom-after-signal\",\"when\":{\"kind\":\"k8s\",\"message\":{\"prefix\":\"Back-off\"}}"
    ","
    " \"recent\":{\"event\":\"oom_signal\",\"within\":\"5m\",\"key\":[\"pod\"]},"
    " \"class\":\"oom\",\"alert\":true},"
    "{\"id\":\"crash\",\"when\":{\"kind\":\"k8s\",\"message\":{\"prefix\":\"Back-off\"}},"
    " \"class\":\"crash_loop\",\"alert\":true},"
    /* a longer window elsewhere keeps the state for an hour: the 5 m must still hold */
    "{\"id\":\"long\",\"when\":{\"kind\":\"state\"},"
    " \"recent\":{\"event\":\"never\",\"within\":\"1h\"},\"event\":\"x\"}"
    "]}";

static void test_recent(void **state)
{
    struct h *h = h_new(recent_rules, NULL);
    struct record *r;
    (void)state;

    /* no signal yet */
    r = feed(h, -10, BACKOFF(POD_P));
    assert_slice(r->class_name, "crash_loop");

    r = feed(h, 0, APPLINE(POD_P, "Killed"));
    assert_slice(r->event, "oom_signal");
    assert_slice(r->class_name, ABSENT);

    r = feed(h, 60, BACKOFF(POD_Q)); /* another pod: no signal for it */
    assert_slice(r->class_name, "crash_loop");
    r = feed(h, 61, BACKOFF(POD_P)); /* the pod with the signal, within 5 minutes */
    assert_slice(r->class_name, "oom");
    r = feed(h, 240, BACKOFF(POD_P));
    assert_slice(r->class_name, "oom");
    r = feed(h, 240, BACKOFF(POD_Q));
    assert_slice(r->class_name, "crash_loop");
    r = feed(h, 301, BACKOFF(POD_P)); /* the window has expired */
    assert_slice(r->class_name, "crash_loop");

    /* a new signal for Q only */
    r = feed(h, 400, APPLINE(POD_Q, "Killed"));
    assert_slice(r->event, "oom_signal");
    r = feed(h, 410, BACKOFF(POD_Q));
    assert_slice(r->class_name, "oom");
    r = feed(h, 411, BACKOFF(POD_P));
    assert_slice(r->class_name, "crash_loop");

    /* alerts: crash-loop (web) once, suppressed after; oom (web) once, suppressed after */
    assert_string_equal(names_since(h, 0), "crash oom-after-signal");
    assert_string_equal(h->a[1].pod, POD_P);
    assert_string_equal(h->a[1].cls, "oom");
    h_free(h);
}

/* ================================================================================== */
/* threshold                                                                          */
/* ================================================================================== */

static const char threshold_rules[] =
    "{\"classes\":{" CLASS_HEALTH "},\"rules\":["
    "{\"id\":\"probes\",\"type\":\"threshold\","
    " \"when\":{\"kind\":\"k8s\",\"message\":{\"prefix\":\"Readiness probe failed\"}},"
    " \"count\":3,\"window\":\"60s\",\"key\":[\"app\",\"service\"],\"class\":\"health_check\","
    " \"alert\":{\"summary\":\"{{service}} failed {{count}} times\"}}"
    "]}";

static void test_threshold_fires_once_at_n(void **state)
{
    struct h *h = h_new(threshold_rules, NULL);
    struct record *r;
    (void)state;

    r = feed(h, 0, PROBE(POD_P));
    assert_slice(r->class_name, ABSENT); /* a threshold rule's class is the alert's */
    feed(h, 20, PROBE(POD_Q));
    feed(h, 30, STARTED(POD_P)); /* does not match */
    assert_int_equal(h->n, 0);
    feed(h, 60, PROBE(POD_P)); /* third within 60 s (inclusive) */
    assert_int_equal(h->n, 1);
    assert_string_equal(h->a[0].rule, "probes");
    assert_string_equal(h->a[0].cls, "health_check");
    assert_int_equal(h->a[0].severity, SEVERITY_WARNING);
    assert_string_equal(h->a[0].summary, "web failed 3 times");
    assert_string_equal(h->a[0].hint, "probe hint");
    assert_string_equal(h->a[0].service, "web");
    assert_int_equal(h->a[0].starts_at, AT(60));
    assert_int_equal(h->a[0].nev, 3);
    assert_string_equal(h->a[0].ev[0], line_at(0, PROBE(POD_P)));
    assert_string_equal(h->a[0].ev[1], line_at(20, PROBE(POD_Q)));
    assert_string_equal(h->a[0].ev[2], line_at(60, PROBE(POD_P)));
    h_free(h);

    /* N - 1: nothing, also not at the end */
    h = h_new(threshold_rules, NULL);
    feed(h, 0, PROBE(POD_P));
    feed(h, 10, PROBE(POD_P));
    rules_advance(h->eng, AT(1000));
    assert_int_equal(h->n, 0);
    h_free(h);
}

static void test_threshold_window(void **state)
{
    struct h *h = h_new(threshold_rules, NULL);
    (void)state;

    /* N spread wider than the window: nothing */
    feed(h, 0, PROBE(POD_P));
    feed(h, 40, PROBE(POD_P));
    feed(h, 80, PROBE(POD_P));
    assert_int_equal(h->n, 0);
    /* the window slides: 40, 80, 90 are within 60 s */
    feed(h, 90, PROBE(POD_P));
    assert_int_equal(h->n, 1);
    assert_int_equal(h->a[0].starts_at, AT(90));
    h_free(h);

    /* a long pause empties the window */
    h = h_new(threshold_rules, NULL);
    feed(h, 0, PROBE(POD_P));
    feed(h, 1, PROBE(POD_P));
    feed(h, 500, PROBE(POD_P));
    feed(h, 501, PROBE(POD_P));
    assert_int_equal(h->n, 0);
    feed(h, 502, PROBE(POD_P));
    assert_int_equal(h->n, 1);
    h_free(h);
}

static void test_threshold_keys_separate(void **state)
{
    struct h *h = h_new(threshold_rules, NULL);
    (void)state;

    feed(h, 0, PROBE(POD_P));
    feed(h, 10, PROBE(POD_API));
    feed(h, 20, PROBE(POD_Q)); /* web again (another pod, same key) */
    feed(h, 30, PROBE(POD_API));
    assert_int_equal(h->n, 0); /* 2 + 2, not 4 */
    feed(h, 40, PROBE(POD_P));
    assert_int_equal(h->n, 1);
    assert_string_equal(h->a[0].service, "web");
    feed(h, 50, PROBE(POD_API));
    assert_int_equal(h->n, 2);
    assert_string_equal(h->a[1].service, "api");
    assert_string_equal(h->a[1].summary, "api failed 3 times");
    assert_string_not_equal(h->a[0].fp, h->a[1].fp);
    h_free(h);
}

static void test_threshold_out_of_order(void **state)
{
    struct h *h = h_new(threshold_rules, NULL);
    (void)state;

    /* Convox orders lines within a second arbitrarily: late lines within the window count */
    feed(h, 30, PROBE(POD_P));
    feed(h, 10, PROBE(POD_P));
    assert_int_equal(h->n, 0);
    feed(h, 20, PROBE(POD_P));
    assert_int_equal(h->n, 1);
    h_free(h);

    /* a late line older than the others does not stretch the window: 0, 10, 65 span 65 s */
    h = h_new(threshold_rules, NULL);
    feed(h, 10, PROBE(POD_P));
    feed(h, 0, PROBE(POD_P));
    feed(h, 65, PROBE(POD_P));
    assert_int_equal(h->n, 0);
    h_free(h);
}

static void test_threshold_restarts_after_firing(void **state)
{
    struct rules_opts o = {.repeat_interval_ns = 1}; /* every fire is sent */
    struct h *h = h_new(threshold_rules, &o);
    (void)state;

    feed(h, 0, PROBE(POD_P));
    feed(h, 1, PROBE(POD_P));
    feed(h, 2, PROBE(POD_P));
    assert_int_equal(h->n, 1);
    feed(h, 3, PROBE(POD_P));
    feed(h, 4, PROBE(POD_P));
    assert_int_equal(h->n, 1); /* the count restarted: 2 so far */
    feed(h, 5, PROBE(POD_P));
    assert_int_equal(h->n, 2);
    assert_int_equal(h->a[1].nev, 3); /* the evidence of the new round only */
    assert_string_equal(h->a[1].ev[0], line_at(3, PROBE(POD_P)));
    assert_int_equal(stats(h)->alerts_fired, 2);
    assert_int_equal(stats(h)->alerts_suppressed, 0);
    h_free(h);
}

/* Regression (fixed): the window is measured from the current record back to the oldest, not across
 * the true span of the N records, so a late line can make N lines spread wider than the
 * window fire. */
static void test_threshold_out_of_order_span_wider_than_window(void **state)
{
    static const char rules[] =
        "{\"classes\":{" CLASS_HEALTH "},\"rules\":["
        "{\"id\":\"probes\",\"type\":\"threshold\","
        " \"when\":{\"message\":{\"prefix\":\"Readiness probe failed\"}},"
        " \"count\":4,\"window\":\"10s\",\"class\":\"health_check\",\"alert\":true}"
        "]}";
    struct h *h = h_new(rules, NULL);
    (void)state;

    feed(h, 0, PROBE(POD_P));
    feed(h, 6, PROBE(POD_P));
    feed(h, 12, PROBE(POD_P));
    feed(h, 9, PROBE(POD_P)); /* 3 s late; the four span 12 s > 10 s */
    /* Regression (fixed): README: N records "within window of event time"; no 10 s window holds 0, 6,
     * 9 and 12, yet eval_threshold() compares the current record (9) with the oldest (0):
     * 9 s <= 10 s, and it fires. (The span is newest - oldest: 12 s.) */
    assert_int_equal(h->n, 0);
    h_free(h);
}

/* Regression (fixed): the ring of the last N matches is kept in arrival order, so a late line pushes
 * out a newer one that is still inside the window. */
static void test_threshold_late_line_does_not_hide_window(void **state)
{
    struct h *h = h_new(threshold_rules, NULL);
    (void)state;

    feed(h, 10, PROBE(POD_P));
    feed(h, 0, PROBE(POD_P)); /* late */
    feed(h, 65, PROBE(POD_P));
    assert_int_equal(h->n, 0); /* 0, 10, 65: span 65 s > 60 s */
    feed(h, 66, PROBE(POD_P));
    /* Regression (fixed): README: alert when N records "arrive within window of event time"; 10, 65
     * and 66 are 3 records within 60 s, but eval_threshold() overwrote the ring slot of 10
     * (the oldest arrival) instead of 0 (the oldest event time), compares 66 with 0 and
     * does not fire. */
    assert_int_equal(h->n, 1);
    h_free(h);
}

/* ================================================================================== */
/* expect                                                                             */
/* ================================================================================== */

#define EXPECT_BASE                                                                                \
    "{\"id\":\"created\",\"when\":{\"kind\":\"k8s\",\"object_kind\":\"replicaset\","               \
    " \"message\":{\"prefix\":\"Created pod: \",\"regex\":\"^Created pod: (?<pod>\\\\S+)\"}},"     \
    " \"event\":\"pod_created\"},"                                                                 \
    "{\"id\":\"started\",\"when\":{\"kind\":\"k8s\",\"object_kind\":\"pod\","                      \
    " \"message\":{\"prefix\":\"Started container\"}},\"event\":\"container_started\"},"

static const char expect_rules[] =
    "{\"classes\":{" CLASS_STUCK "},\"rules\":[" EXPECT_BASE
    "{\"id\":\"stuck\",\"type\":\"expect\",\"when\":{\"event\":\"pod_created\"},"
    " \"then\":{\"event\":\"container_started\"},\"within\":\"5m\",\"key\":[\"pod\"],"
    " \"class\":\"pod_stuck\",\"alert\":true}"
    "]}";

static void test_expect_b_in_time(void **state)
{
    struct h *h = h_new(expect_rules, NULL);
    struct record *r;
    (void)state;

    r = feed(h, 0, CREATED(POD_P));
    assert_slice(r->event, "pod_created");
    assert_slice(r->pod, POD_P);
    assert_slice(r->class_name, ABSENT);
    r = feed(h, 100, STARTED(POD_P));
    assert_slice(r->event, "container_started");
    feed(h, 400, SCALED);
    rules_advance(h->eng, AT(10000));
    assert_int_equal(h->n, 0);
    h_free(h);
}

static void test_expect_fires_after_deadline(void **state)
{
    struct h *h = h_new(expect_rules, NULL);
    (void)state;

    feed(h, 0, CREATED(POD_P));
    feed(h, 200, STARTED(POD_Q)); /* B for another pod */
    feed(h, 299, SCALED);
    assert_int_equal(h->n, 0);
    feed(h, 301, ATOM); /* an unrelated record moves the clock past the deadline */
    assert_int_equal(h->n, 1);
    assert_int_equal(h->a[0].status, ALERT_FIRING);
    assert_string_equal(h->a[0].rule, "stuck");
    assert_string_equal(h->a[0].cls, "pod_stuck");
    assert_int_equal(h->a[0].severity, SEVERITY_WARNING);
    assert_string_equal(h->a[0].summary, "web: " POD_P " stuck");
    assert_string_equal(h->a[0].hint, "stuck hint myapp");
    assert_string_equal(h->a[0].app, "myapp");
    assert_string_equal(h->a[0].service, "web");
    assert_string_equal(h->a[0].pod, POD_P);
    assert_int_equal(h->a[0].starts_at, AT(300)); /* the deadline */
    assert_int_equal(h->a[0].ends_at, 0);
    assert_int_equal(h->a[0].count, 1);
    assert_int_equal(h->a[0].nev, 1);
    assert_string_equal(h->a[0].ev[0], line_at(0, CREATED(POD_P))); /* the A line */

    /* a late B does not fire again: it resolves the alert (the pod started after all) */
    feed(h, 310, STARTED(POD_P));
    rules_advance(h->eng, AT(10000));
    assert_int_equal(h->n, 2);
    assert_int_equal(h->a[1].status, ALERT_RESOLVED);
    assert_string_equal(h->a[1].rule, "stuck");
    assert_string_equal(h->a[1].pod, POD_P);
    assert_int_equal(h->a[1].starts_at, AT(300));
    assert_int_equal(h->a[1].ends_at, AT(310));
    h_free(h);
}

static void test_expect_b_before_a(void **state)
{
    struct h *h = h_new(expect_rules, NULL);
    (void)state;

    /* B up to 10 s before A counts */
    feed(h, 0, STARTED(POD_P));
    feed(h, 10, CREATED(POD_P));
    feed(h, 1000, SCALED);
    assert_int_equal(h->n, 0);
    h_free(h);

    h = h_new(expect_rules, NULL);
    feed(h, 0, STARTED(POD_P));
    feed(h, 3, STARTED(POD_Q));
    feed(h, 5, CREATED(POD_P));
    feed(h, 6, CREATED(POD_Q));
    rules_advance(h->eng, AT(1000));
    assert_int_equal(h->n, 0);
    h_free(h);

    /* B 60 s before A does not */
    h = h_new(expect_rules, NULL);
    feed(h, -60, STARTED(POD_P));
    feed(h, 0, CREATED(POD_P));
    feed(h, 299, SCALED);
    assert_int_equal(h->n, 0);
    feed(h, 301, SCALED);
    assert_int_equal(h->n, 1);
    assert_string_equal(h->a[0].pod, POD_P);
    assert_int_equal(h->a[0].starts_at, AT(300));
    h_free(h);

    /* 11 s is too early as well */
    h = h_new(expect_rules, NULL);
    feed(h, 0, STARTED(POD_P));
    feed(h, 11, CREATED(POD_P));
    rules_advance(h->eng, AT(1000));
    assert_int_equal(h->n, 1);
    h_free(h);
}

/* Lines of one pod within one second (the engine skips a B it has just seen): the outcome is
 * that of evaluating every line. */
static void test_expect_repeats_within_a_second(void **state)
{
    struct h *h = h_new(expect_rules, NULL);
    (void)state;

    /* B, A (met by that B, which is used up), B, A: the second A is met by the second B */
    feed(h, 0, STARTED(POD_P));
    feed(h, 0, CREATED(POD_P));
    feed(h, 0, STARTED(POD_P));
    feed(h, 0, CREATED(POD_P));
    rules_advance(h->eng, AT(1000));
    assert_int_equal(h->n, 0);
    h_free(h);

    /* A, B (ends the wait), B (remembered), A: met by the remembered B */
    h = h_new(expect_rules, NULL);
    feed(h, 0, CREATED(POD_P));
    feed(h, 0, STARTED(POD_P));
    feed(h, 0, STARTED(POD_P));
    feed(h, 0, CREATED(POD_P));
    rules_advance(h->eng, AT(1000));
    assert_int_equal(h->n, 0);
    h_free(h);

    /* late B lines while the clock stands at 10 s: the later one counts for an A at 17 s */
    h = h_new(expect_rules, NULL);
    feed(h, 10, SCALED);
    feed(h, 5, STARTED(POD_P));
    feed(h, 8, STARTED(POD_P));
    feed(h, 17, CREATED(POD_P));
    rules_advance(h->eng, AT(1000));
    assert_int_equal(h->n, 0);
    h_free(h);
}

/*
 * A pod's B lines over several seconds: the engine keeps a pointer to the pod's early entry
 * and moves it on without a look-up. The outcome must be that of looking it up every time,
 * also once the entry has expired, been met by its A, evicted, or the rules reloaded.
 */
static void test_expect_repeats_across_seconds(void **state)
{
    /* a step: at second t, a B ('B') or an A ('A') of pod P (Q, R when given), a line of no
     * pod ('S'), or the rules reloaded ('W'); 0 ends the list */
    static const struct {
        const char *what;
        struct {
            int t;
            char kind, pod;
        } steps[10];
        size_t max_state, alerts;
        int first_at; /* the first alert's start, when there is one */
    } cases[] = {
        {"B at 0 and 3, A at 12: within 10 s of the later B (the entry took the newer time)",
         {{0, 'B', 'P'}, {3, 'B', 'P'}, {12, 'A', 'P'}, {0, 0, 0}}, 0, 0, 0},
        {"the entry has expired at 100: B at 101 must make another for A at 105",
         {{0, 'B', 'P'}, {1, 'B', 'P'}, {100, 'S', 0}, {101, 'B', 'P'}, {105, 'A', 'P'}},
         0, 0, 0},
        {"A at 2 uses the entry up, B at 3 starts another for A at 4; A at 30 waits and fires",
         {{0, 'B', 'P'}, {1, 'B', 'P'}, {2, 'A', 'P'}, {3, 'B', 'P'}, {4, 'A', 'P'},
          {30, 'A', 'P'}},
         0, 1, 330},
        {"room for two keys: P's entry is evicted by Q's and R's; P's next B meets its A",
         {{0, 'B', 'P'}, {1, 'B', 'P'}, {2, 'B', 'Q'}, {3, 'B', 'R'}, {4, 'B', 'P'},
          {5, 'A', 'P'}},
         2, 0, 0},
        {"reloaded after two B's: the entry carries over (met by A at 5), the pointer does not",
         {{0, 'B', 'P'}, {1, 'B', 'P'}, {2, 'W', 0}, {5, 'A', 'P'}, {6, 'B', 'P'},
          {7, 'B', 'P'}, {16, 'A', 'P'}},
         0, 0, 0},
    };
    (void)state;

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct rules_opts o = {.max_state = cases[c].max_state};
        struct h *h = h_new(expect_rules, &o);

        for (size_t k = 0; k < 10 && cases[c].steps[k].kind != 0; k++) {
            const char *pod = cases[c].steps[k].pod == 'Q'   ? POD_Q
                              : cases[c].steps[k].pod == 'R' ? "web-745f845dc-rrrrr"
                                                             : POD_P;
            char line[256];

            switch (cases[c].steps[k].kind) {
            case 'B':
                snprintf(line, sizeof(line), STARTED("%s"), pod);
                break;
            case 'A':
                snprintf(line, sizeof(line), CREATED("%s"), pod);
                break;
            case 'W':
                rules_engine_swap(h->eng, load(expect_rules));
                continue;
            default:
                snprintf(line, sizeof(line), "%s", SCALED);
                break;
            }
            feed(h, cases[c].steps[k].t, line);
        }
        rules_advance(h->eng, AT(1000));
        if (h->n != cases[c].alerts || (h->n > 0 && h->a[0].starts_at != AT(cases[c].first_at))) {
            fail_msg("%s: %zu alerts", cases[c].what, h->n);
        }
        h_free(h);
    }
}

/*
 * An expect rule's remembered B skips looking up the key's alert, for no A came since. Not
 * when another rule raises alerts of the same name: a B must still end that rule's alert.
 */
static void test_expect_b_ends_shared_name_alert(void **state)
{
    static const char rules[] =
        "{\"classes\":{" CLASS_STUCK "," CLASS_CRASH "},\"rules\":[" EXPECT_BASE
        "{\"id\":\"stuck\",\"type\":\"expect\",\"when\":{\"event\":\"pod_created\"},"
        " \"then\":{\"event\":\"container_started\"},\"within\":\"5m\",\"key\":[\"pod\"],"
        " \"class\":\"pod_stuck\",\"alert\":{\"name\":\"shared\"}},"
        "{\"id\":\"backoff\",\"when\":{\"message\":{\"prefix\":\"Back-off\"}},"
        " \"class\":\"crash_loop\",\"alert\":{\"name\":\"shared\",\"key\":[\"pod\"]}}"
        "]}";
    struct h *h = h_new(rules, NULL);
    (void)state;

    feed(h, 0, CREATED(POD_Q));
    feed(h, 400, SCALED); /* Q's wait fires: the rule has an alert firing */
    assert_int_equal(h->n, 1);
    feed(h, 401, STARTED(POD_P)); /* P's B, remembered */
    feed(h, 402, STARTED(POD_P));
    feed(h, 403, BACKOFF(POD_P)); /* the other rule's alert of that name, for P */
    assert_int_equal(h->n, 2);
    assert_int_equal(h->a[1].status, ALERT_FIRING);
    feed(h, 404, STARTED(POD_P)); /* ends it, as a B always did */
    assert_int_equal(h->n, 3);
    assert_int_equal(h->a[2].status, ALERT_RESOLVED);
    assert_string_equal(h->a[2].pod, POD_P);
    assert_string_equal(h->a[2].fp, h->a[1].fp);
    h_free(h);
}

/* The names the rollout tracker raises alerts under, which a rule's alert name may share. */
static void test_tracker_alert_names(void **state)
{
    (void)state;
    assert_true(rules__rollouts_alert_name("rollout-stuck"));
    assert_true(rules__rollouts_alert_name("rollout-failed"));
    assert_true(rules__rollouts_alert_name("rollback-failed"));
    assert_false(rules__rollouts_alert_name("rollout_failed")); /* the class, not the alert */
    assert_false(rules__rollouts_alert_name("pod-stuck"));
    assert_false(rules__rollouts_alert_name(""));
}

enum { NPODS = 40 };

/* Pod i of test_expect_repeats_many_pods. */
static void many_pod(char *buf, size_t n, int i)
{
    snprintf(buf, n, "web-745f845dc-p%04d", i);
}

/* At second 0: the B line (b) or the A line of pods from, from + step, ... below NPODS. */
static void feed_pods(struct h *h, int b, int from, int step)
{
    char pod[32], line[1400];

    for (int i = from; i < NPODS; i += step) {
        many_pod(pod, sizeof(pod), i);
        if (b) {
            snprintf(line, sizeof(line), STARTED("%s"), pod);
        } else {
            snprintf(line, sizeof(line), CREATED("%s"), pod);
        }
        feed(h, 0, line);
    }
}

/*
 * The same with many pods' lines interleaved in one second, more pods than the engine keeps
 * recent B's for: each A forgets only its own pod's B, and the outcome is still that of
 * evaluating every line.
 */
static void test_expect_repeats_many_pods(void **state)
{
    /* each a list of (B?, first pod, step) at second 0; -1 ends it */
    static const struct {
        int steps[6][3];
        size_t alerts;
    } cases[] = {
        /* twice over: B of every pod, then A of every pod (met by its pod's B, used up) */
        {{{1, 0, 1}, {0, 0, 1}, {1, 0, 1}, {0, 0, 1}, {-1}}, 0},
        /* A of every pod, B of every pod twice (the waits end), A again: met by the B's */
        {{{0, 0, 1}, {1, 0, 1}, {1, 0, 1}, {0, 0, 1}, {-1}}, 0},
        /* A of every pod, B of every other pod twice: the others' waits fire, one alert each */
        {{{0, 0, 1}, {1, 0, 2}, {1, 0, 2}, {-1}}, NPODS / 2},
    };
    char pod[32];
    (void)state;

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct h *h = h_new(expect_rules, NULL);

        for (int k = 0; cases[c].steps[k][0] >= 0; k++) {
            feed_pods(h, cases[c].steps[k][0], cases[c].steps[k][1], cases[c].steps[k][2]);
        }
        rules_advance(h->eng, AT(1000));
        assert_int_equal(h->n, cases[c].alerts);
        for (size_t i = 0; i < h->n; i++) {
            many_pod(pod, sizeof(pod), 2 * (int)i + 1); /* the pods with no B, in order */
            assert_string_equal(h->a[i].pod, pod);
        }
        h_free(h);
    }
}

static void test_expect_end_of_input_and_advance(void **state)
{
    struct h *h = h_new(expect_rules, NULL);
    (void)state;

    /* the input ends before the deadline: nothing, not even when the engine is freed */
    feed(h, 0, CREATED(POD_P));
    feed(h, 200, SCALED);
    assert_int_equal(h->n, 0);
    rules_engine_free(h->eng);
    h->eng = NULL;
    assert_int_equal(h->n, 0);
    h_free(h);

    h = h_new(expect_rules, NULL);
    feed(h, 0, CREATED(POD_P));
    rules_advance(h->eng, AT(299));
    assert_int_equal(h->n, 0);
    rules_advance(h->eng, AT(100)); /* the clock never goes back */
    assert_int_equal(h->n, 0);
    rules_advance(h->eng, AT(301));
    assert_int_equal(h->n, 1);
    assert_string_equal(h->a[0].pod, POD_P);
    assert_int_equal(h->a[0].starts_at, AT(300));
    assert_string_equal(h->a[0].ev[0], line_at(0, CREATED(POD_P)));
    rules_advance(h->eng, AT(1000)); /* fired once, then the wait is gone */
    assert_int_equal(h->n, 1);
    assert_int_equal(stats(h)->alerts_suppressed, 0);
    h_free(h);
}

static void test_expect_keys_independent(void **state)
{
    struct h *h = h_new(expect_rules, NULL);
    (void)state;

    feed(h, 0, CREATED(POD_P));
    feed(h, 10, CREATED(POD_Q));
    feed(h, 20, STARTED(POD_P));
    feed(h, 500, SCALED);
    assert_int_equal(h->n, 1);
    assert_string_equal(h->a[0].pod, POD_Q);
    assert_int_equal(h->a[0].starts_at, AT(310));

    /* two waits time out: two alerts, oldest first, different fingerprints (key pod) */
    feed(h, 600, CREATED(POD_P));
    feed(h, 601, CREATED("web-745f845dc-rrrrr"));
    rules_advance(h->eng, AT(1000));
    assert_int_equal(h->n, 3);
    assert_string_equal(h->a[1].pod, POD_P);
    assert_string_equal(h->a[2].pod, "web-745f845dc-rrrrr");
    assert_string_not_equal(h->a[1].fp, h->a[2].fp);
    assert_string_not_equal(h->a[0].fp, h->a[1].fp);
    h_free(h);
}

/* B may be of another kind than A: it still reaches the rule (dispatch by "then" too). */
static void test_expect_then_of_another_kind(void **state)
{
    static const char rules[] =
        "{\"classes\":{" CLASS_STUCK "},\"rules\":[" EXPECT_BASE
        "{\"id\":\"quiet\",\"type\":\"expect\",\"when\":{\"kind\":\"k8s\",\"event\":\"pod_"
        "created\"},"
        " \"then\":{\"kind\":\"app\",\"message\":{\"prefix\":\"listening\"}},\"within\":\"1m\","
        " \"key\":[\"pod\"],\"class\":\"pod_stuck\",\"alert\":true}"
        "]}";
    struct h *h = h_new(rules, NULL);
    (void)state;

    feed(h, 0, CREATED(POD_P));
    feed(h, 1, CREATED(POD_Q));
    feed(h, 30, APPLINE(POD_P, "listening on 3000"));
    feed(h, 31, APPLINE(POD_Q, "GET / 200"));
    rules_advance(h->eng, AT(100));
    assert_int_equal(h->n, 1);
    assert_string_equal(h->a[0].pod, POD_Q);
    h_free(h);
}

/* Regression (fixed): the deadline fires when the clock reaches it, not when it passes it. */
static void test_expect_b_exactly_at_deadline(void **state)
{
    struct h *h = h_new(expect_rules, NULL);
    (void)state;

    feed(h, 0, CREATED(POD_P));
    feed(h, 300, STARTED(POD_P)); /* exactly 5 m after A: still "within 5m" */
    rules_advance(h->eng, AT(1000));
    /* Regression (fixed): README: B must follow "within DURATION, else the alert fires (when event
     * time passes the deadline)"; fire_due() fires at deadline <= now, before B at the
     * deadline itself is evaluated (threshold and recent windows are inclusive). */
    assert_int_equal(h->n, 0);
    h_free(h);
}

/* "alert": {"key": [...]} labels the fingerprint only: the waits stay per the rule's "key". */
static void test_expect_alert_key_keeps_state_key(void **state)
{
    static const char rules[] =
        "{\"classes\":{" CLASS_STUCK "},\"rules\":[" EXPECT_BASE
        "{\"id\":\"stuck\",\"type\":\"expect\",\"when\":{\"event\":\"pod_created\"},"
        " \"then\":{\"event\":\"container_started\"},\"within\":\"5m\",\"key\":[\"pod\"],"
        " \"class\":\"pod_stuck\",\"alert\":{\"name\":\"pod-stuck\",\"key\":[\"app\",\"service\"]}}"
        "]}";
    struct h *h = h_new(rules, NULL);
    (void)state;

    feed(h, 0, CREATED(POD_P));
    feed(h, 10, CREATED(POD_Q));
    feed(h, 20, STARTED(POD_P)); /* ends the wait for P only */
    rules_advance(h->eng, AT(1000));
    assert_int_equal(h->n, 1);
    assert_string_equal(h->a[0].rule, "pod-stuck");
    assert_string_equal(h->a[0].pod, POD_Q);

    /* two more stuck pods of the same service: the same (app, service) fingerprint */
    feed(h, 1100, CREATED(POD_P));
    feed(h, 1101, CREATED("web-745f845dc-rrrrr"));
    rules_advance(h->eng, AT(2000));
    assert_int_equal(h->n, 1);
    assert_int_equal(stats(h)->alerts_suppressed, 2);
    h_free(h);
}

/* Regression (fixed): an expect alert fired by time is built from a snapshot that keeps only app,
 * service, pod, release and the line: other key fields and template fields are lost. */
static void test_expect_timeout_alert_keeps_key_fields(void **state)
{
    static const char rules[] =
        "{\"classes\":{" CLASS_STUCK "},\"rules\":[" EXPECT_BASE
        "{\"id\":\"rs-stuck\",\"type\":\"expect\",\"when\":{\"event\":\"pod_created\"},"
        " \"then\":{\"event\":\"container_started\"},\"within\":\"5m\",\"key\":[\"replicaset\"],"
        " \"class\":\"pod_stuck\",\"alert\":{\"summary\":\"{{replicaset}} stuck\"}}"
        "]}";
    struct h *h = h_new(rules, NULL);
    (void)state;

    feed(h, 0, CREATED_RS("web-745f845dc", POD_P));
    feed(h, 1, CREATED_RS("web-5d8f7c9b6d", "web-5d8f7c9b6d-abcde"));
    rules_advance(h->eng, AT(1000));
    /* Regression (fixed): README: "key" identifies the fingerprint and the expect state, and templates
     * may use any field. The two waits (two replica sets) time out, but fire() computes the
     * fingerprint from the snapshot record, where replicaset is absent: both get the same
     * fingerprint, the second is suppressed, and {{replicaset}} renders "?". */
    assert_int_equal(h->n, 2);
    assert_int_equal(stats(h)->alerts_suppressed, 0);
    if (h->n >= 1) {
        assert_string_equal(h->a[0].summary, "web-745f845dc stuck");
    }
    if (h->n >= 2) {
        assert_string_not_equal(h->a[0].fp, h->a[1].fp);
    }
    h_free(h);
}

/* ================================================================================== */
/* Alert dedup                                                                        */
/* ================================================================================== */

static const char crash_rules[] =
    "{\"classes\":{" CLASS_CRASH "},\"rules\":["
    "{\"id\":\"crash\",\"when\":{\"kind\":\"k8s\",\"message\":{\"prefix\":\"Back-off\"}},"
    " \"class\":\"crash_loop\",\"alert\":true}"
    "]}";

static int is_hex16(const char *s)
{
    if (strlen(s) != 16) {
        return 0;
    }
    for (; *s; s++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

static void test_dedup_same_fingerprint(void **state)
{
    struct h *h = h_new(crash_rules, NULL);
    (void)state;

    feed(h, 0, BACKOFF(POD_P));
    feed(h, 10, BACKOFF(POD_Q)); /* same app and service: same fingerprint */
    assert_int_equal(h->n, 1);
    assert_int_equal(stats(h)->alerts_fired, 1);
    assert_int_equal(stats(h)->alerts_suppressed, 1);
    assert_true(is_hex16(h->a[0].fp));
    /* the default repeat interval is an hour */
    feed(h, 3599, BACKOFF(POD_P));
    assert_int_equal(h->n, 1);
    assert_int_equal(stats(h)->alerts_suppressed, 2);
    h_free(h);
}

static void test_dedup_repeat_interval(void **state)
{
    struct rules_opts o = {.repeat_interval_ns = 60 * NS};
    struct h *h = h_new(crash_rules, &o);
    (void)state;

    feed(h, 0, BACKOFF(POD_P));
    feed(h, 30, BACKOFF(POD_P));
    assert_int_equal(h->n, 1);
    assert_int_equal(h->a[0].count, 1);
    feed(h, 120, BACKOFF(POD_P));
    assert_int_equal(h->n, 2);
    assert_int_equal(h->a[1].count, 3); /* sent, suppressed, sent */
    assert_int_equal(h->a[1].starts_at, AT(0));
    assert_string_equal(h->a[1].fp, h->a[0].fp);
    assert_string_equal(h->a[1].hint,
                        "app=myapp class=crash_loop rule=crash n=3 rel=?"); /* {{count}} */
    assert_string_equal(h->a[1].ev[0], line_at(120, BACKOFF(POD_P)));
    assert_int_equal(stats(h)->alerts_fired, 2);
    assert_int_equal(stats(h)->alerts_suppressed, 1);
    h_free(h);
}

/* A rollout's end resolves its pod alerts in the order they began, whatever came since. */
static void test_resolve_in_order_begun(void **state)
{
    static const char rules[] =
        "{\"classes\":{" CLASS_CRASH "},\"rules\":["
        "{\"id\":\"crash\",\"when\":{\"kind\":\"k8s\",\"message\":{\"prefix\":\"Back-off\"}},"
        " \"class\":\"crash_loop\",\"alert\":{\"key\":[\"pod\"]}}"
        "]}";
    struct h *h = h_new(rules, NULL);
    (void)state;

    feed(h, 0, ATOM);
    feed(h, 1, BACKOFF(POD_P));
    feed(h, 2, BACKOFF(POD_Q));
    feed(h, 3, BACKOFF(POD_P)); /* a repeat: P is now the most recently touched */
    assert_int_equal(h->n, 2);
    feed(h, 4, "system/k8s/atom/app Status: Pending => Running");
    assert_int_equal(h->n, 4);
    assert_int_equal(h->a[2].status, ALERT_RESOLVED);
    assert_string_equal(h->a[2].pod, POD_P);
    assert_int_equal(h->a[3].status, ALERT_RESOLVED);
    assert_string_equal(h->a[3].pod, POD_Q);
    /* a new episode of P begins after Q's: it is resolved after it */
    feed(h, 5, ATOM);
    feed(h, 6, BACKOFF(POD_Q));
    feed(h, 7, BACKOFF(POD_P));
    feed(h, 8, BACKOFF(POD_Q));
    feed(h, 9, "system/k8s/atom/app Status: Pending => Running");
    assert_int_equal(h->n, 8);
    assert_string_equal(h->a[6].pod, POD_Q);
    assert_string_equal(h->a[7].pod, POD_P);
    h_free(h);
}

static void test_dedup_keys_and_stable_fingerprint(void **state)
{
    struct h *h = h_new(crash_rules, NULL);
    struct h *h2 = h_new(crash_rules, NULL);
    (void)state;

    feed(h, 0, BACKOFF(POD_P));
    feed(h, 1, BACKOFF(POD_API)); /* another service */
    assert_int_equal(h->n, 2);
    assert_string_equal(h->a[1].service, "api");
    assert_true(is_hex16(h->a[0].fp));
    assert_true(is_hex16(h->a[1].fp));
    assert_string_not_equal(h->a[0].fp, h->a[1].fp);

    /* another engine, another time, another pod of the same service: the same fingerprint */
    feed(h2, 5000, BACKOFF(POD_Q));
    assert_int_equal(h2->n, 1);
    assert_string_equal(h2->a[0].fp, h->a[0].fp);
    h_free(h2);

    /* another app label: another fingerprint */
    h2 = h_new(crash_rules, NULL);
    h2->src.app = "otherapp";
    feed(h2, 0, BACKOFF(POD_P));
    assert_int_equal(h2->n, 1);
    assert_string_equal(h2->a[0].app, "otherapp");
    assert_string_not_equal(h2->a[0].fp, h->a[0].fp);
    h_free(h2);
    h_free(h);
}

/* ================================================================================== */
/* Alert fields                                                                       */
/* ================================================================================== */

static const char field_rules[] =
    "{\"classes\":{" CLASS_CRASH "," CLASS_OOM "},\"rules\":["
    "{\"id\":\"crash\",\"when\":{\"message\":{\"prefix\":\"Back-off\"}},"
    " \"class\":\"crash_loop\",\"alert\":true},"
    "{\"id\":\"started-oom\",\"when\":{\"message\":{\"prefix\":\"Started container\"}},"
    " \"class\":\"oom\",\"alert\":{\"name\":\"custom-name\",\"severity\":\"info\","
    " \"summary\":\"override {{pod}}\",\"hint\":\"hint for {{service}}\"}},"
    "{\"id\":\"sev-only\",\"when\":{\"message\":{\"prefix\":\"Killed\"}},"
    " \"class\":\"oom\",\"alert\":{\"severity\":\"critical\"}},"
    "{\"id\":\"noclass\",\"when\":{\"kind\":\"atom\"},"
    " \"alert\":{\"severity\":\"info\",\"summary\":\"c={{class}} r={{rule}} n={{count}}"
    " x={{container}} {{status_from}}>{{status_to}}\"}},"
    "{\"id\":\"promote\",\"when\":{\"kind\":\"cli\",\"cli\":\"promoting\"},"
    " \"alert\":{\"severity\":\"warning\",\"summary\":\"promoting {{release}} of {{app}}\"}}"
    "]}";

static void test_alert_fields(void **state)
{
    struct h *h = h_new(field_rules, NULL);
    struct got *g;
    (void)state;

    feed(h, 0, BACKOFF(POD_P));
    assert_int_equal(h->n, 1);
    g = &h->a[0];
    assert_int_equal(g->status, ALERT_FIRING);
    assert_int_equal(g->severity, SEVERITY_CRITICAL); /* the class's */
    assert_string_equal(g->rule, "crash");
    assert_string_equal(g->cls, "crash_loop");
    assert_string_equal(g->summary, "web: crashing (" POD_P ")");
    assert_string_equal(g->hint, "app=myapp class=crash_loop rule=crash n=1 rel=?");
    assert_str_or_absent(g->app, "myapp");
    assert_str_or_absent(g->service, "web");
    assert_str_or_absent(g->pod, POD_P);
    assert_str_or_absent(g->release, ABSENT);
    assert_int_equal(g->starts_at, AT(0));
    assert_int_equal(g->ends_at, 0);
    assert_int_equal(g->count, 1);
    assert_int_equal(g->nev, 1);
    assert_string_equal(g->ev[0], line_at(0, BACKOFF(POD_P)));

    /* the rule's alert object overrides name, severity, summary and hint */
    feed(h, 1, STARTED(POD_Q));
    assert_int_equal(h->n, 2);
    g = &h->a[1];
    assert_string_equal(g->rule, "custom-name");
    assert_string_equal(g->cls, "oom");
    assert_int_equal(g->severity, SEVERITY_INFO);
    assert_string_equal(g->summary, "override " POD_Q);
    assert_string_equal(g->hint, "hint for web");

    /* only the severity overridden: texts from the class */
    feed(h, 2, APPLINE(POD_P, "Killed"));
    assert_int_equal(h->n, 3);
    g = &h->a[2];
    assert_string_equal(g->rule, "sev-only");
    assert_int_equal(g->severity, SEVERITY_CRITICAL);
    assert_string_equal(g->summary, "web: oom (" POD_P ")");
    assert_string_equal(g->hint, "oom hint");

    /* no class: {{class}} and absent fields render "?" */
    feed(h, 3, ATOM);
    assert_int_equal(h->n, 4);
    g = &h->a[3];
    assert_string_equal(g->rule, "noclass");
    assert_null(g->cls);
    assert_int_equal(g->severity, SEVERITY_INFO);
    assert_string_equal(g->summary, "c=? r=noclass n=1 x=? Running>Pending");
    assert_string_equal(g->hint, "");
    assert_str_or_absent(g->service, ABSENT);
    assert_str_or_absent(g->pod, ABSENT);
    assert_str_or_absent(g->app, "myapp");

    /* release from the record: a transcript line inherits the last event time */
    feed_raw(h, "Promoting RBCDEFGHIJ...");
    assert_int_equal(h->rec.ts_src, TS_INHERITED);
    assert_int_equal(h->n, 5);
    g = &h->a[4];
    assert_string_equal(g->rule, "promote");
    assert_int_equal(g->severity, SEVERITY_WARNING);
    assert_str_or_absent(g->release, "RBCDEFGHIJ");
    assert_string_equal(g->summary, "promoting RBCDEFGHIJ of myapp");
    assert_int_equal(g->starts_at, AT(3));
    assert_string_equal(g->ev[0], "Promoting RBCDEFGHIJ...");
    h_free(h);
}

/* ================================================================================== */
/* Dispatch                                                                           */
/* ================================================================================== */

#define DRULE(id, when)                                                                            \
    "{\"id\":\"" id "\",\"when\":" when ",\"alert\":{\"severity\":\"info\",\"summary\":\"s\","     \
    "\"key\":[\"line\"]}},"

/* clang-format off */
static const char dispatch_rules[] =
    "{\"rules\":["
    DRULE("app-only", "{\"kind\":\"app\"}")
    DRULE("k8s-or-cli", "{\"kind\":{\"in\":[\"k8s\",\"cli\"]}}")
    DRULE("any", "{\"line\":{\"present\":true}}")
    DRULE("pfx", "{\"message\":{\"prefix\":\"Back-off\"}}")
    DRULE("pfx2", "{\"message\":{\"prefix\":[\"Back-off\",\"Started\"]}}")
    DRULE("pfx-and-kind", "{\"kind\":\"k8s\",\"message\":{\"prefix\":\"Back-off\"}}")
    DRULE("empty", "{\"message\":\"\"}")
    "{\"id\":\"not-pfx\",\"when\":{\"message\":{\"not\":{\"prefix\":\"Back-off\"}}},"
    " \"alert\":{\"severity\":\"info\",\"summary\":\"s\",\"key\":[\"line\"]}}"
    "]}";
/* clang-format on */

static void test_dispatch(void **state)
{
    struct h *h = h_new(dispatch_rules, NULL);
    size_t from;
    (void)state;

#define EXPECT_FIRED(want)                                                                         \
    do {                                                                                           \
        assert_string_equal(names_since(h, from), (want));                                         \
        from = h->n;                                                                               \
    } while (0)

    from = 0;
    feed(h, 0, BACKOFF(POD_P));
    EXPECT_FIRED("k8s-or-cli any pfx pfx2 pfx-and-kind");
    feed(h, 1, STARTED(POD_P));
    EXPECT_FIRED("k8s-or-cli any pfx2 not-pfx");
    feed(h, 2, "system/k8s/" POD_P " Backed off"); /* the right first byte, not the prefix */
    EXPECT_FIRED("k8s-or-cli any not-pfx");
    feed(h, 3, "system/k8s/" POD_P " back-off restarting"); /* case matters */
    EXPECT_FIRED("k8s-or-cli any not-pfx");
    feed(h, 4, APPLINE(POD_P, "Back-off in the app"));
    EXPECT_FIRED("app-only any pfx pfx2");
    h_free(h);
}

static void test_dispatch_kinds_and_empty(void **state)
{
    struct h *h = h_new(dispatch_rules, NULL);
    size_t from = 0;
    struct record *r;
    (void)state;

    r = feed(h, 0, APPLINE(POD_P, "GET / 200"));
    assert_int_equal(r->kind, RECORD_APP);
    EXPECT_FIRED("app-only any not-pfx");
    r = feed(h, 1, ATOM);
    assert_int_equal(r->kind, RECORD_ATOM);
    EXPECT_FIRED("any not-pfx");
    r = feed_raw(h, "Promoting RBCDEFGHIJ...");
    assert_int_equal(r->kind, RECORD_CLI);
    EXPECT_FIRED("k8s-or-cli any not-pfx");
    r = feed_raw(h, "garbage here");
    assert_int_equal(r->kind, RECORD_UNKNOWN);
    EXPECT_FIRED("any not-pfx");
    /* empty messages: a prefix rule never fires, equals "" does, not-prefix does */
    r = feed(h, 2, "system/k8s/" POD_P " ");
    assert_int_equal(r->message.len, 0);
    EXPECT_FIRED("k8s-or-cli any empty not-pfx");
    r = feed(h, 3, "system/k8s/" POD_P);
    EXPECT_FIRED("k8s-or-cli any empty not-pfx");
    r = feed_raw(h, "");
    assert_int_equal(r->kind, RECORD_UNKNOWN);
    if (r->message.p != NULL) {
        EXPECT_FIRED("any empty not-pfx");
    } else {
        EXPECT_FIRED("any not-pfx");
    }
    assert_int_equal(stats(h)->records, 7);
    assert_int_equal(stats(h)->alerts_suppressed, 0);
    h_free(h);
#undef EXPECT_FIRED
}

/* ================================================================================== */
/* Swap                                                                               */
/* ================================================================================== */

static const char swap_rules_1[] =
    "{\"classes\":{" CLASS_CRASH "," CLASS_STUCK "},\"rules\":[" EXPECT_BASE
    "{\"id\":\"crash\",\"when\":{\"message\":{\"prefix\":\"Back-off\"}},"
    " \"class\":\"crash_loop\",\"alert\":{\"name\":\"crash-loop\"}},"
    "{\"id\":\"stuck\",\"type\":\"expect\",\"when\":{\"event\":\"pod_created\"},"
    " \"then\":{\"event\":\"container_started\"},\"within\":\"5m\",\"key\":[\"pod\"],"
    " \"class\":\"pod_stuck\",\"alert\":true}"
    "]}";

static const char swap_rules_2[] =
    "{\"classes\":{" CLASS_OOM "},\"rules\":["
    "{\"id\":\"crash-v2\",\"when\":{\"message\":{\"prefix\":\"Back-off\"}},"
    " \"class\":\"oom\",\"alert\":{\"name\":\"crash-loop\"}},"
    "{\"id\":\"started\",\"when\":{\"message\":{\"prefix\":\"Started container\"}},"
    " \"event\":\"container_started\",\"alert\":{\"severity\":\"info\",\"summary\":\"started "
    "{{pod}}\"}}"
    "]}";

static void test_swap(void **state)
{
    struct h *h = h_new(swap_rules_1, NULL);
    struct record *r;
    char fp[17];
    (void)state;

    r = feed(h, 0, BACKOFF(POD_P));
    assert_slice(r->class_name, "crash_loop");
    assert_int_equal(h->n, 1);
    memcpy(fp, h->a[0].fp, sizeof(fp));
    feed(h, 1, CREATED(POD_Q)); /* a pending wait, dropped by the swap */
    r = feed(h, 2, STARTED(POD_P));
    assert_slice(r->event, "container_started");
    assert_int_equal(h->n, 1);

    rules_engine_swap(h->eng, load(swap_rules_2));

    /* the new rules apply */
    r = feed(h, 10, BACKOFF(POD_P));
    assert_slice(r->class_name, "oom");
    /* the same alert name and key: the fingerprint that fired before is still suppressed */
    assert_int_equal(h->n, 1);
    assert_int_equal(stats(h)->alerts_suppressed, 1);
    r = feed(h, 11, STARTED(POD_P));
    assert_slice(r->event, "container_started");
    assert_int_equal(h->n, 1 + 1);
    assert_string_equal(h->a[1].rule, "started");
    assert_string_equal(h->a[1].summary, "started " POD_P);
    /* the old rules are gone: Created pod is no event, and the old wait never fires */
    r = feed(h, 12, CREATED(POD_P));
    assert_slice(r->event, ABSENT);
    rules_advance(h->eng, AT(2000));
    assert_int_equal(h->n, 2);
    h_free(h);
}

/* ================================================================================== */
/* State cap                                                                          */
/* ================================================================================== */

static void test_state_cap(void **state)
{
    struct rules_opts o = {.max_state = 4};
    struct h *h = h_new(expect_rules, &o);
    char rest[256], pod[64];
    (void)state;

    for (int i = 0; i < 10; i++) {
        snprintf(pod, sizeof(pod), "web-745f845dc-p%04d", i);
        snprintf(rest, sizeof(rest), CREATED("%s"), pod);
        feed(h, i, rest);
        assert_slice(h->rec.pod, pod);
    }
    rules_advance(h->eng, AT(400));
    /* the 6 oldest waits were evicted: only the last 4 fire, oldest first */
    assert_int_equal(h->n, 4);
    for (int i = 0; i < 4; i++) {
        snprintf(pod, sizeof(pod), "web-745f845dc-p%04d", 6 + i);
        assert_string_equal(h->a[i].pod, pod);
        assert_int_equal(h->a[i].starts_at, AT(6 + i + 300));
    }
    assert_int_equal(stats(h)->alerts_suppressed, 0);

    /* the engine keeps working: a B still ends a wait, a new wait still fires */
    feed(h, 500, CREATED(POD_P));
    feed(h, 501, CREATED(POD_Q));
    feed(h, 502, STARTED(POD_P));
    rules_advance(h->eng, AT(1000));
    assert_int_equal(h->n, 5);
    assert_string_equal(h->a[4].pod, POD_Q);

    /* eviction shows in the stats once the keyed state is dropped (swap or free) */
    rules_engine_swap(h->eng, load(expect_rules));
    assert_int_equal(stats(h)->state_evicted, 6);
    h_free(h);
}

/* ================================================================================== */
/* Captures of a rule that does not fire                                              */
/* ================================================================================== */

/* Regression (fixed): captures are applied as soon as "when" holds, even when "recent" then fails. */
static void test_captures_only_from_firing_rules(void **state)
{
    static const char rules[] =
        "{\"classes\":{" CLASS_OOM "},\"rules\":["
        "{\"id\":\"oom-after\",\"when\":{\"message\":{\"regex\":\"in pod "
        "(?<victim>[a-z0-9-]+)_\"}},"
        " \"recent\":{\"event\":\"oom_signal\",\"within\":\"5m\",\"key\":[\"pod\"]},"
        " \"class\":\"oom\",\"alert\":true},"
        "{\"id\":\"saw-victim\",\"when\":{\"victim\":{\"present\":true}},\"event\":\"victim_seen\"}"
        "]}";
    struct h *h = h_new(rules, NULL);
    struct record *r;
    (void)state;

    r = feed(h, 0, BACKOFF(POD_P)); /* no oom_signal: oom-after does not fire */
    assert_slice(r->class_name, ABSENT);
    assert_int_equal(h->n, 0);
    /* Regression (fixed): README: "The named captures of a firing match rule's regexes become fields
     * of the record"; eval_match() checks "recent" after rules__when_match() has already
     * applied the captures, so a rule that did not fire still sets victim. */
    assert_slice(extra(r, "victim"), ABSENT);
    assert_slice(r->event, ABSENT);
    h_free(h);
}

/* ================================================================================== */
/* Testing ahead (rules_pre)                                                          */
/* ================================================================================== */

/* pod is not in the parsed record of a ReplicaSet's line: the first rule's capture sets it */
static const char pre_capture_rules[] =
    "{\"rules\":["
    "{\"id\":\"cap\",\"when\":{\"kind\":\"k8s\","
    "\"message\":{\"regex\":\"^Created pod: (?<pod>\\\\S+)\"}},\"event\":\"pod_created\"},"
    "{\"id\":\"web-pod\",\"when\":{\"kind\":\"k8s\",\"pod\":{\"prefix\":\"web-\"}}," ALERT_INFO
    "}]}";

static void test_pre_captured_field_stays_with_engine(void **state)
{
    struct h *h = h_new(pre_capture_rules, NULL);
    struct record *r;

    (void)state;
    r = feed(h, 0, "system/k8s/web-745f845dc Created pod: web-745f845dc-rzl2q");
    assert_slice(r->pod, "web-745f845dc-rzl2q");
    /* tested ahead on the parsed record (no pod yet), the prefix would have failed */
    assert_string_equal(names_since(h, 0), "web-pod");
    h_free(h);
}

static const char pre_bits_rules[] =
    "{\"rules\":[{\"id\":\"backoff\",\"when\":{\"kind\":\"k8s\","
    "\"message\":{\"prefix\":\"Back-off\"}}," ALERT_INFO "}]}";

/* The engine takes the tests ahead from the bits, unless they were made with other rules. */
static void test_pre_bits_of_other_rules_ignored(void **state)
{
    struct h *h = h_new(pre_bits_rules, NULL);
    struct rules_pre *pre = rules_pre_new(rules_engine_set(h->eng));
    struct rules_stats st = {0};
    uint64_t bits[8] = {0};
    struct rules_ahead ah;
    struct record r;
    const char *line = line_at(0, BACKOFF(POD_P));

    (void)state;
    assert_true(rules_pre_words(pre) <= 8);
    parse_line(&h->p, &h->src, line, strlen(line), 0, &r);
    rules_pre_eval(pre, &r, bits, &ah, &st);
    assert_true(bits[0] != 0); /* the prefix holds */
    memset(bits, 0, sizeof(bits));
    ah.bits = bits;
    rules_eval_pre(h->eng, &r, rules_pre_set(pre), &ah); /* the bits say it does not */
    assert_int_equal(h->n, 0);
    rules_eval_pre(h->eng, &r, NULL, &ah); /* not tested with this set: the engine tests */
    assert_string_equal(names_since(h, 0), "backoff");
    rules_pre_free(pre);
    h_free(h);
}

/* The plain search rules__contains must agree with. */
static int contains_ref(const char *h, size_t hn, const char *p, size_t n)
{
    for (size_t i = 0; i + n <= hn; i++) {
        if (memcmp(h + i, p, n) == 0) {
            return 1;
        }
    }
    return n == 0;
}

/*
 * The needle search against a plain one: every haystack length
 * up to 80, needles of 1 to 6 bytes from a 3-letter alphabet (many near misses), each pair of
 * anchors, and the needle planted at many places (the start, the end of the haystack).
 */
static void test_contains_agrees_with_plain_search(void **state)
{
    uint32_t seed = 12345;
    int found = 0;

    (void)state;
    for (size_t hn = 0; hn <= 80; hn++) {
        for (int round = 0; round < 40; round++) {
            char h[96], p[8];
            size_t n = 1 + (size_t)round % 6, plant;

            for (size_t i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                p[i] = (char)('a' + (seed >> 16) % 3);
            }
            for (size_t i = 0; i < hn; i++) {
                seed = seed * 1103515245u + 12345u;
                h[i] = (char)('a' + (seed >> 16) % 3);
            }
            /* past the end, bytes that would complete a needle cut short by the end */
            memset(h + hn, p[n - 1], sizeof(h) - hn);
            plant = hn >= n ? (size_t)round * 7 % (hn - n + 1) : 0;
            if (round % 2 == 1 && hn >= n) {
                memcpy(h + plant, p, n);
            }
            for (size_t a0 = 0; a0 < n; a0++) {
                for (size_t a1 = 0; a1 < n; a1++) {
                    size_t a[2] = {a0, a1};
                    int want = contains_ref(h, hn, p, n);
                    int got = rules__contains((struct slice){h, hn}, p, n, a);

                    if (got != want) {
                        fail_msg("needle %.*s (anchors %zu, %zu) in %.*s: got %d want %d",
                                 (int)n, p, a0, a1, (int)hn, h, got, want);
                    }
                    found += got;
                }
            }
        }
    }
    /* a needle of distinct bytes at the very end of a long haystack of another letter */
    for (size_t hn = 3; hn <= 80; hn++) {
        char h[96];
        size_t a[2] = {0, 2};

        memset(h, 'x', hn);
        memcpy(h + hn - 3, "abc", 3);
        assert_true(rules__contains((struct slice){h, hn}, "abc", 3, a));
        assert_false(rules__contains((struct slice){h, hn - 1}, "abc", 3, a));
    }
    assert_true(found > 10000);
}

/*
 * A "contains" list in one pass against each needle the plain way: lists of 2 to 9 needles
 * of 1 to 5 bytes from a 4-letter alphabet (shared rarest bytes, near misses), haystacks of
 * every length up to 140 (the 16- and 32-byte steps, the overlapping last one, the byte-wise
 * path). Every other round has 2 to 20 needles of 2 to 6 bytes: the two-byte fingerprint
 * search, with needles sharing its eight groups.
 */
static void test_contains_any_agrees_with_each_needle(void **state)
{
    uint32_t seed = 777;
    int found = 0, used_any = 0, used_fp = 0;

    (void)state;
    for (int round = 0; round < 300; round++) {
        struct cond c;
        char *strs[20];
        size_t lens[20];
        int fp = round % 2;

        memset(&c, 0, sizeof(c));
        c.op = COND_CONTAINS;
        c.nstrs = fp ? 2 + (size_t)round % 19 : 2 + (size_t)round % 8;
        c.strs = strs;
        c.lens = lens;
        for (size_t i = 0; i < c.nstrs; i++) {
            lens[i] = fp ? 2 + (size_t)(round + i) % 5 : 1 + (size_t)(round + i) % 5;
            strs[i] = malloc(lens[i] + 1);
            for (size_t k = 0; k < lens[i]; k++) {
                seed = seed * 1103515245u + 12345u;
                strs[i][k] = "abcXY"[(seed >> 16) % (round % 3 == 0 ? 5 : 4)];
            }
            strs[i][lens[i]] = '\0';
        }
        rules__contains_prepare(&c);
        used_any += c.any != NULL;
        used_fp += c.any != NULL && c.any->fp_ok;
        /* to 140: where the CPU has AVX2, haystacks from 32 bytes take 32-byte steps */
        for (size_t hn = 0; hn <= 140; hn++) {
            char h[150];
            int want = 0, got;

            for (size_t k = 0; k < hn; k++) {
                seed = seed * 1103515245u + 12345u;
                h[k] = "abcdXY"[(seed >> 16) % 6];
            }
            memset(h + hn, strs[0][0], sizeof(h) - hn); /* past the end: a needle's bytes */
            for (size_t i = 0; i < c.nstrs; i++) {
                want |= contains_ref(h, hn, strs[i], lens[i]);
            }
            got = c.any ? rules__contains_any((struct slice){h, hn}, &c) : want;
            if (got != want) {
                fail_msg("round %d, %zu bytes: got %d want %d", round, hn, got, want);
            }
            found += got;
        }
        for (size_t i = 0; i < c.nstrs; i++) {
            free(strs[i]);
        }
        free(c.anchor);
        free(c.any);
    }
    assert_true(used_any > 250);
    assert_true(used_fp > 140);
    assert_true(found > 5000 && found < 300 * 141 - 1000);
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_first_tag_wins),
        T(test_match_resolve),
        T(test_captures_become_fields),
        T(test_condition_operators),
        T(test_condition_empty_vs_absent),
        T(test_recent),
        T(test_threshold_fires_once_at_n),
        T(test_threshold_window),
        T(test_threshold_keys_separate),
        T(test_threshold_out_of_order),
        T(test_threshold_restarts_after_firing),
        T(test_threshold_out_of_order_span_wider_than_window),
        T(test_threshold_late_line_does_not_hide_window),
        T(test_expect_b_in_time),
        T(test_expect_fires_after_deadline),
        T(test_expect_b_before_a),
        T(test_expect_repeats_within_a_second),
        T(test_expect_repeats_many_pods),
        T(test_expect_repeats_across_seconds),
        T(test_expect_b_ends_shared_name_alert),
        T(test_tracker_alert_names),
        T(test_expect_end_of_input_and_advance),
        T(test_expect_keys_independent),
        T(test_expect_then_of_another_kind),
        T(test_expect_b_exactly_at_deadline),
        T(test_expect_alert_key_keeps_state_key),
        T(test_expect_timeout_alert_keeps_key_fields),
        T(test_dedup_same_fingerprint),
        T(test_dedup_repeat_interval),
        T(test_resolve_in_order_begun),
        T(test_dedup_keys_and_stable_fingerprint),
        T(test_alert_fields),
        T(test_dispatch),
        T(test_dispatch_kinds_and_empty),
        T(test_swap),
        T(test_state_cap),
        T(test_captures_only_from_firing_rules),
        T(test_pre_captured_field_stays_with_engine),
        T(test_pre_bits_of_other_rules_ignored),
    };

    int failed = cmocka_run_group_tests_name("evaluated directly", tests, NULL, NULL);

    const struct CMUnitTest search[] = {
        cmocka_unit_test(test_contains_agrees_with_plain_search),
        cmocka_unit_test(test_contains_any_agrees_with_each_needle),
    };

    use_pre = 1;
    failed += cmocka_run_group_tests_name("tested ahead, as replay does", tests, NULL, NULL);
    return failed + cmocka_run_group_tests_name("search", search, NULL, NULL);
}
