/* The rules loader: valid files load; every kind of broken file is reported at FILE:LINE:COL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"

#define MAX_ERRS 16

struct errs {
    int n;
    struct err e[MAX_ERRS];
};

static void collect(void *arg, const struct err *e)
{
    struct errs *es = arg;

    if (es->n < MAX_ERRS) {
        es->e[es->n] = *e;
    }
    es->n++;
}

static const char classes[] =
    "\"classes\": {\"crash_loop\": {\"severity\": \"critical\", \"summary\": \"{{service}} crashes\","
    " \"hint\": \"read the logs of {{pod}}\"}}";

/* Loads text[0..len); expects failure with the first error at line:col containing what. */
static void expect_error_n(const char *text, size_t len, int line, int col, const char *what)
{
    struct errs es = {0};
    struct rule_set *set = rules_load_text("bad.json", text, len, collect, &es);

    if (set != NULL) {
        rules_set_free(set);
        fail_msg("loaded, expected an error '%s' in:\n%s", what, text);
    }
    assert_true(es.n >= 1);
    assert_string_equal(es.e[0].file, "bad.json");
    if (es.e[0].line != line || es.e[0].col != col || strstr(es.e[0].msg, what) == NULL) {
        fail_msg("got %d:%d: %s\nwant %d:%d: ...%s...", es.e[0].line, es.e[0].col, es.e[0].msg,
                 line, col, what);
    }
}

static void expect_error(const char *text, int line, int col, const char *what)
{
    expect_error_n(text, strlen(text), line, col, what);
}

static void test_valid_file_loads(void **state)
{
    char text[2048];
    struct errs es = {0};
    struct rule_set *set;
    (void)state;

    snprintf(text, sizeof(text),
             "// comments are allowed\n{%s,\n \"rules\": [\n"
             "  {\"id\": \"crash-loop\", \"when\": {\"kind\": \"k8s\", \"message\": {\"prefix\":"
             " \"Back-off restarting\"}}, \"class\": \"crash_loop\", \"alert\": true},\n"
             "  /* block comment */\n"
             "  {\"id\": \"created\", \"when\": {\"message\": {\"regex\": \"^Created pod: "
             "(?<pod>\\\\S+)\"}}, \"event\": \"pod_created\"},\n"
             "  {\"id\": \"burst\", \"type\": \"threshold\", \"when\": {\"class\": \"crash_loop\"},"
             " \"count\": 3, \"window\": \"5m\", \"alert\": {\"severity\": \"warning\", \"summary\":"
             " \"{{count}} crashes\"}},\n"
             "  {\"id\": \"stuck\", \"type\": \"expect\", \"when\": {\"event\": \"pod_created\"},"
             " \"then\": {\"pod\": {\"present\": true}, \"event\": [\"a\", \"b\"]}, \"within\": 300,"
             " \"key\": [\"pod\"], \"alert\": {\"severity\": \"info\", \"summary\": \"{{pod}}\"}}\n"
             " ]}\n",
             classes);
    set = rules_load_text("ok.json", text, strlen(text), collect, &es);
    if (set == NULL) {
        fail_msg("%d errors, first %d:%d: %s", es.n, es.e[0].line, es.e[0].col, es.e[0].msg);
    }
    assert_int_equal(rules_set_count(set), 4);
    assert_int_equal(rules_set_class_count(set), 1);
    rules_set_free(set);
}

static void test_json_syntax_errors(void **state)
{
    (void)state;
    /* the '}' after "[1,2," */
    expect_error("{\n  \"rules\": [\n    {\"id\": \"x\",\n     \"when\": [1,2,}\n  ]\n}\n", 4, 19,
                 "invalid JSON");
    expect_error("{\"rules\": [}\n", 1, 12, "invalid JSON");
    expect_error("{\"rules\": [\n", 2, 1, "ends too early");
    expect_error("", 1, 1, "ends too early");
    /* lexed as far as "tra" before the lexer gives up: inside the garbage */
    expect_error("{\"rules\": [] }  trailing", 1, 18, "invalid JSON");
    expect_error("{\n\"rules\": \"\xff\"}", 2, 11, "invalid JSON");
    expect_error_n("{\"a\": 1}\0{}", 11, 1, 9, "NUL byte");
}

static void test_structure_errors(void **state)
{
    (void)state;
    expect_error("[]", 1, 1, "a rule file must be an object");
    expect_error("{\n  \"rulez\": []\n}", 2, 3, "unknown key \"rulez\"");
    expect_error("{\"rules\": [\n  {\"when\": {\"kind\": \"k8s\"}, \"event\": \"e\"}\n]}", 2, 3,
                 "needs an \"id\"");
    expect_error("{\"rules\": [\n  {\"id\": \"Bad Id\", \"when\": {}}]}", 2, 10, "needs an \"id\"");
    expect_error("{\"rules\": [\n {\"id\": \"a\", \"when\": {\"kind\": \"k8s\"}, \"event\": \"e\"},\n"
                 " {\"id\": \"a\", \"when\": {\"kind\": \"k8s\"}, \"event\": \"e\"}]}",
                 3, 9, "already used at bad.json:2");
    /* rule lines are counted on from the rule before: the fourth rule repeats the third's id */
    expect_error("{\"rules\": [\n {\"id\": \"a\", \"when\": {\"kind\": \"k8s\"}, \"event\": \"e\"},\n\n"
                 " {\"id\": \"b\", \"when\": {\"kind\": \"k8s\"}, \"event\": \"e\"},\n\n\n"
                 " {\"id\": \"c\", \"when\": {\"kind\": \"k8s\"}, \"event\": \"e\"},\n\n"
                 " {\"id\": \"c\", \"when\": {\"kind\": \"k8s\"}, \"event\": \"e\"}]}",
                 9, 9, "already used at bad.json:7");
    expect_error("{\"rules\": [{\"id\": \"a\", \"when\": {\"kind\": \"k8s\"}, \"event\": \"e\",\n"
                 "   \"colour\": \"red\"}]}",
                 2, 4, "unknown key \"colour\" in a match rule");
    expect_error("{\"rules\": [{\"id\": \"a\", \"when\": {\"kind\": \"k8s\"}}]}", 1, 12,
                 "does nothing");
    expect_error("{\"rules\": [{\"id\": \"a\", \"type\": \"sometimes\", \"when\": {}}]}", 1, 32,
                 "\"type\" must be");
}

static void test_field_and_value_errors(void **state)
{
    (void)state;
    expect_error("{\"rules\": [{\"id\": \"a\",\n \"when\": {\"mesage\": \"x\"}, \"event\": \"e\"}]}", 2,
                 11, "unknown field \"mesage\"");
    expect_error("{\"rules\": [{\"id\": \"a\", \"when\": {\"kind\": \"k8\"}, \"event\": \"e\"}]}", 1,
                 41, "\"k8\" is not a kind");
    expect_error("{\"rules\": [{\"id\": \"a\", \"when\": {\"object_kind\": [\"pod\", \"node\"]},"
                 " \"event\": \"e\"}]}",
                 1, 56, "\"node\" is not a object_kind");
    expect_error("{\"rules\": [{\"id\": \"a\", \"when\": {\"message\": {\"startswith\": \"x\"}},"
                 " \"event\": \"e\"}]}",
                 1, 45, "unknown key \"startswith\" in a condition");
    expect_error("{\"rules\": [{\"id\": \"a\", \"when\": {\"message\": {\"prefix\": 3}}, \"event\": "
                 "\"e\"}]}",
                 1, 55, "\"prefix\" takes a string");
    expect_error("{\"rules\": [{\"id\": \"a\", \"when\": {\"pod\": {\"present\": \"yes\"}}, \"event\": "
                 "\"e\"}]}",
                 1, 52, "\"present\" must be a boolean");
    expect_error("{\"rules\": [{\"id\": \"a\", \"when\": {\"kind\": \"k8s\"}, \"class\": \"nope\"}]}", 1,
                 58, "class \"nope\" is not defined");
    expect_error("{\"rules\": [{\"id\": \"a\", \"when\": {\"kind\": \"k8s\"}, \"event\": \"e\", \"key\": "
                 "[\"nosuch\"]}]}",
                 1, 71, "unknown field \"nosuch\"");
}

static void test_regex_errors(void **state)
{
    (void)state;
    /* the offset points into the pattern: "(" unclosed at its end */
    expect_error("{\"rules\": [{\"id\": \"a\",\n \"when\": {\"message\": {\"regex\": \"^foo(bar\"}},"
                 " \"event\": \"e\"}]}",
                 2, 41, "bad regex at offset 8");
    expect_error("{\"rules\": [{\"id\": \"a\", \"when\": {\"message\": {\"regex\": \"a{2,1}\"}},"
                 " \"event\": \"e\"}]}",
                 1, 60, "bad regex at offset 5"); /* at the '}' of {2,1} */
    expect_error("{\"rules\": [{\"id\": \"a\", \"when\": {\"message\": {\"regex\": \"(?<kind>x)\"}},"
                 " \"event\": \"e\"}]}",
                 1, 54, "cannot be named \"kind\"");
    /* the engine picks rules by the message's first byte: no rule may rewrite it */
    expect_error("{\"rules\": [{\"id\": \"a\", \"when\": {\"line\": {\"regex\": \"(?<message>x)\"}},"
                 " \"event\": \"e\"}]}",
                 1, 51, "cannot be named \"message\"");
    expect_error("{\"rules\": [{\"id\": \"a\", \"when\": {\"message\": {\"not\": {\"regex\": "
                 "\"(?<p>x)\"}}}, \"event\": \"e\"}]}",
                 1, 62, "not allowed inside \"not\"");
    /* the error names where the capture is, not "not" for every place that refuses one */
    expect_error("{\"rules\": [{\"id\": \"a\", \"when\": {\"kind\": \"k8s\"}, \"event\": \"e\", "
                 "\"alert\": {\"severity\": \"info\", \"summary\": \"s\"}, "
                 "\"resolve\": {\"message\": {\"regex\": \"(?<p>x)\"}}}]}",
                 1, 143, "not allowed in \"resolve\"");
    expect_error("{\"rules\": [{\"id\": \"t\", \"type\": \"threshold\", "
                 "\"when\": {\"message\": {\"regex\": \"(?<p>x)\"}}, \"count\": 2, \"window\": \"1m\", "
                 "\"alert\": {\"severity\": \"info\", \"summary\": \"s\"}}]}",
                 1, 75, "not allowed in a threshold rule's \"when\"");
}

static void test_class_and_template_errors(void **state)
{
    (void)state;
    expect_error("{\"classes\": {\"crashloop\": {}}}", 1, 14, "unknown class \"crashloop\"");
    expect_error("{\"classes\": {\"oom\": {\"severity\": \"high\", \"summary\": \"s\", \"hint\": "
                 "\"h\"}}}",
                 1, 34, "severity must be");
    expect_error("{\"classes\": {\"oom\": {\"severity\": \"info\", \"summary\": \"s\"}}}", 1, 21,
                 "needs \"severity\", \"summary\" and \"hint\"");
    expect_error("{\"classes\": {\"oom\": {\"severity\": \"info\", \"summary\": \"{{pood}} s\", "
                 "\"hint\": \"h\"}}}",
                 1, 53, "unknown field \"{{pood}}\"");
    expect_error("{\"classes\": {\"oom\": {\"severity\": \"info\", \"summary\": \"{{pod\", \"hint\": "
                 "\"h\"}}}",
                 1, 53, "without \"}}\"");
    expect_error("{\"classes\": {\"oom\": {\"severity\": \"info\", \"summary\": \"s\", \"hint\": "
                 "\"h\"},\n \"oom\": {\"severity\": \"info\", \"summary\": \"s\", \"hint\": \"h\"}}}",
                 2, 2, "defined twice");
}

static void test_threshold_and_expect_errors(void **state)
{
    (void)state;
    expect_error("{\"rules\": [{\"id\": \"t\", \"type\": \"threshold\", \"when\": {\"kind\": \"k8s\"},"
                 " \"count\": 0, \"window\": \"5m\", \"alert\": {\"severity\": \"info\", \"summary\": "
                 "\"s\"}}]}",
                 1, 79, "\"count\": 1 to 1000");
    expect_error("{\"rules\": [{\"id\": \"t\", \"type\": \"threshold\", \"when\": {\"kind\": \"k8s\"},"
                 " \"count\": 2, \"window\": \"5 minutes\", \"alert\": {\"severity\": \"info\", "
                 "\"summary\": \"s\"}}]}",
                 1, 92, "not a duration");
    expect_error("{\"rules\": [{\"id\": \"x\", \"type\": \"expect\", \"when\": {\"kind\": \"k8s\"},"
                 " \"within\": \"1m\", \"alert\": {\"severity\": \"info\", \"summary\": \"s\"}}]}",
                 1, 12, "needs \"then\"");
    expect_error("{\"rules\": [{\"id\": \"x\", \"type\": \"expect\", \"when\": {\"kind\": \"k8s\"},"
                 " \"then\": {\"kind\": \"app\"}, \"within\": \"1m\"}]}",
                 1, 12, "needs an \"alert\"");
    expect_error("{\"rules\": [{\"id\": \"a\", \"when\": {\"kind\": \"k8s\"}, \"alert\": true}]}", 1,
                 58, "needs a \"class\"");
}

static void test_all_errors_reported(void **state)
{
    const char *text = "{\"rules\": [\n"
                       " {\"id\": \"a\", \"when\": {\"bad1\": \"x\"}, \"event\": \"e\"},\n"
                       " {\"id\": \"b\", \"when\": {\"bad2\": \"x\"}, \"event\": \"e\"},\n"
                       " {\"id\": \"c\", \"when\": {\"message\": {\"regex\": \"(\"}}, \"event\": \"e\"}\n"
                       "]}";
    struct errs es = {0};
    (void)state;

    assert_null(rules_load_text("bad.json", text, strlen(text), collect, &es));
    assert_int_equal(es.n, 3);
    assert_int_equal(es.e[0].line, 2);
    assert_int_equal(es.e[1].line, 3);
    assert_int_equal(es.e[2].line, 4);
}

static void test_deep_nesting_rejected(void **state)
{
    char text[512];
    size_t o = 0;
    (void)state;

    for (int i = 0; i < 100; i++) {
        text[o++] = '[';
    }
    text[o] = '\0';
    expect_error(text, 1, 33, "nested deeper than 32"); /* the 33rd '[' */
}

struct fired {
    int n;
    char fp[4][17];
    char pod[4][64];
};

static void on_alert(void *arg, const struct alert *a)
{
    struct fired *f = arg;

    if (f->n < 4) {
        memcpy(f->fp[f->n], a->fingerprint, 17);
        snprintf(f->pod[f->n], sizeof(f->pod[0]), "%.*s", (int)a->pod.len, a->pod.p);
    }
    f->n++;
}

static struct record pod_record(const char *pod, const char *msg, int64_t sec)
{
    struct record r;

    memset(&r, 0, sizeof(r));
    r.kind = RECORD_K8S;
    r.object_kind = OBJECT_POD;
    r.ts_src = TS_OWN;
    r.ts_ns = sec * 1000000000LL;
    r.app = (struct slice){"myapp", 5};
    r.service = (struct slice){"web", 3};
    r.pod = (struct slice){pod, strlen(pod)};
    r.message = (struct slice){msg, strlen(msg)};
    r.line = r.message;
    return r;
}

/* An expect rule waits per pod (key) but raises one alert per service (alert.key). */
static void test_alert_key_separate_from_state_key(void **state)
{
    const char *text =
        "{\"rules\": [{\"id\": \"stuck\", \"type\": \"expect\","
        " \"when\": {\"message\": \"created\"}, \"then\": {\"message\": \"started\"},"
        " \"within\": \"5m\", \"key\": [\"pod\"],"
        " \"alert\": {\"severity\": \"warning\", \"summary\": \"{{pod}}\","
        " \"key\": [\"app\", \"service\"]}}]}";
    struct errs es = {0};
    struct fired f = {0};
    struct rule_set *set = rules_load_text("k.json", text, strlen(text), collect, &es);
    struct rules_engine *eng;
    struct record r;
    (void)state;

    assert_non_null(set);
    eng = rules_engine_new(set, NULL, on_alert, &f);
    r = pod_record("web-a", "created", 0);
    rules_eval(eng, &r);
    r = pod_record("web-b", "created", 1);
    rules_eval(eng, &r);
    /* web-a starts; web-b does not: only web-b is stuck */
    r = pod_record("web-a", "started", 2);
    rules_eval(eng, &r);
    rules_advance(eng, 400 * 1000000000LL);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.pod[0], "web-b");
    rules_engine_free(eng);
}

static struct rule_set *load_or_fail(const char *text)
{
    struct errs es = {0};
    struct rule_set *set = rules_load_text("swap.json", text, strlen(text), collect, &es);

    if (set == NULL) {
        fail_msg("%d errors, first %d:%d: %s", es.n, es.e[0].line, es.e[0].col, es.e[0].msg);
    }
    return set;
}

#define SWAP_THRESHOLD(window)                                                                     \
    "{\"id\": \"burst\", \"type\": \"threshold\", \"when\": {\"message\": \"x\"}, \"count\": 3,"        \
    " \"window\": \"" window "\", \"key\": [\"service\"],"                                        \
    " \"alert\": {\"severity\": \"warning\", \"summary\": \"{{count}} x\"}}"

/* SIGHUP keeps the state of unchanged rules (same id, same text) and drops that of changed ones. */
static void test_swap_keeps_state_of_unchanged_rules(void **state)
{
    const char *a = "{\"rules\": [{\"id\": \"tag\", \"when\": {\"message\": \"y\"}, \"event\": \"e1\"},"
                    SWAP_THRESHOLD("5m") "]}";
    /* "tag" changed and moved after "burst": indices differ, burst's text does not */
    const char *b = "{\"rules\": [" SWAP_THRESHOLD("5m") ", {\"id\": \"tag\", \"when\":"
                    " {\"message\": \"y\"}, \"event\": \"e2\"}]}";
    const char *c = "{\"rules\": [" SWAP_THRESHOLD("6m") "]}";
    struct fired f = {0};
    struct rules_engine *eng;
    struct record r;
    (void)state;

    eng = rules_engine_new(load_or_fail(a), NULL, on_alert, &f);
    r = pod_record("web-a", "x", 0);
    rules_eval(eng, &r);
    r = pod_record("web-a", "x", 1);
    rules_eval(eng, &r);
    rules_engine_swap(eng, load_or_fail(b));
    r = pod_record("web-a", "x", 2);
    rules_eval(eng, &r);
    assert_int_equal(f.n, 1); /* two counted before the reload, one after */
    r = pod_record("web-a", "y", 3);
    rules_eval(eng, &r);
    assert_true(slice_eq(r.event, "e2")); /* the new text of the changed rule applies */

    r = pod_record("web-a", "x", 10);
    rules_eval(eng, &r);
    r = pod_record("web-a", "x", 11);
    rules_eval(eng, &r);
    rules_engine_swap(eng, load_or_fail(c)); /* burst itself changed: its count starts over */
    r = pod_record("web-a", "x", 12);
    rules_eval(eng, &r);
    assert_int_equal(f.n, 1);
    rules_engine_free(eng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_file_loads),
        cmocka_unit_test(test_json_syntax_errors),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_field_and_value_errors),
        cmocka_unit_test(test_regex_errors),
        cmocka_unit_test(test_class_and_template_errors),
        cmocka_unit_test(test_threshold_and_expect_errors),
        cmocka_unit_test(test_all_errors_reported),
        cmocka_unit_test(test_deep_nesting_rejected),
        cmocka_unit_test(test_alert_key_separate_from_state_key),
        cmocka_unit_test(test_swap_keeps_state_of_unchanged_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
