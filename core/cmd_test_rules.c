/* rollwatch test-rules: run rule tests (a log plus the alerts and tags it must and must not give). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "cli.h"
#include "parse.h"
#include "rules.h"
#include "xmalloc.h"

#define TEST_MAX_FILE (16 * 1024 * 1024)

static const char test_help[] =
    "Usage: rollwatch test-rules [--rules DIR] TESTDIR\n"
    "\n"
    "Runs every TESTDIR/*.json rule test: log lines (inline \"lines\" or a \"log\" file next to the\n"
    "test) go through the parser and the rules, then the test's expectations are checked:\n"
    "\"records\" (tags and fields of given lines), \"alerts\" (each must match an alert),\n"
    "\"no_alerts\" (none may match), \"alert_count\", \"no_classes\", \"rollouts\", \"no_rollouts\",\n"
    "\"rollout_count\". See rules.d/README.md.\n"
    "\n"
    "Examples:\n"
    "  rollwatch test-rules tests/rules\n"
    "  rollwatch test-rules --rules ./my-rules.d ./my-rule-tests\n"
    "\n"
    "Exit codes: 0 all passed, 1 a test failed, 2 usage or rule errors.\n";

/* What one test run produced, copied out of the borrowed records and alerts. */
struct got_record {
    char *f[FIELD_COUNT]; /* owned; NULL = absent */
    size_t nextra;
    char *extra_name[RECORD_MAX_EXTRA];
    char *extra_val[RECORD_MAX_EXTRA];
};

enum { A_STATUS, A_RULE, A_CLASS, A_SEVERITY, A_APP, A_SERVICE, A_POD, A_RELEASE, A_SUMMARY,
       A_HINT, A_COUNT, A_FIELDS };
static const char *const alert_keys[A_FIELDS] = {"status",  "rule",    "class",   "severity",
                                                 "app",     "service", "pod",     "release",
                                                 "summary", "hint",    "count"};

struct got_alert {
    char *f[A_FIELDS]; /* owned; NULL = absent */
};

enum { R_STATUS, R_APP, R_RELEASE, R_DIAGNOSIS, R_DURATION, R_FAILURES, R_FIELDS };
static const char *const rollout_keys[R_FIELDS] = {"status", "app", "release", "diagnosis",
                                                   "duration_s", "failure"};

struct got_rollout {
    char *f[R_FIELDS]; /* owned; "failure": the failure classes, space-separated */
};

struct run {
    struct got_record *recs;
    size_t nrecs;
    struct got_alert *alerts;
    size_t nalerts;
    struct got_rollout *rollouts;
    size_t nrollouts;
    char why[2048]; /* first failure */
    int failed;
};

static char *slice_dup(struct slice s)
{
    return s.p ? xstrndup(s.p, s.len) : NULL;
}

static void on_alert(void *arg, const struct alert *a)
{
    struct run *run = arg;
    struct got_alert *g;
    char num[32];

    run->alerts = xrealloc(run->alerts, (run->nalerts + 1) * sizeof(*run->alerts));
    g = &run->alerts[run->nalerts++];
    memset(g, 0, sizeof(*g));
    g->f[A_STATUS] = xstrdup(alert_status_name(a->status));
    g->f[A_RULE] = a->rule ? xstrdup(a->rule) : NULL;
    g->f[A_CLASS] = a->class_name ? xstrdup(a->class_name) : NULL;
    g->f[A_SEVERITY] = xstrdup(alert_severity_name(a->severity));
    g->f[A_APP] = slice_dup(a->app);
    g->f[A_SERVICE] = slice_dup(a->service);
    g->f[A_POD] = slice_dup(a->pod);
    g->f[A_RELEASE] = slice_dup(a->release);
    g->f[A_SUMMARY] = a->summary ? xstrdup(a->summary) : NULL;
    g->f[A_HINT] = a->hint ? xstrdup(a->hint) : NULL;
    snprintf(num, sizeof(num), "%llu", (unsigned long long)a->count);
    g->f[A_COUNT] = xstrdup(num);
}

static void on_rollout(void *arg, const struct rollout_event *ev)
{
    struct run *run = arg;
    struct got_rollout *g;
    char num[32], fails[1024];
    size_t o = 0;

    run->rollouts = xrealloc(run->rollouts, (run->nrollouts + 1) * sizeof(*run->rollouts));
    g = &run->rollouts[run->nrollouts++];
    memset(g, 0, sizeof(*g));
    g->f[R_STATUS] = xstrdup(rollout_status_name(ev->status));
    g->f[R_APP] = ev->app[0] ? xstrdup(ev->app) : NULL;
    g->f[R_RELEASE] = ev->release ? xstrdup(ev->release) : NULL;
    g->f[R_DIAGNOSIS] = xstrdup(ev->diagnosis);
    snprintf(num, sizeof(num), "%lld", (long long)((ev->at - ev->started_at) / 1000000000LL));
    g->f[R_DURATION] = xstrdup(num);
    fails[0] = '\0';
    for (size_t i = 0; i < ev->nfailures && o + 1 < sizeof(fails); i++) {
        int n = snprintf(fails + o, sizeof(fails) - o, " %s ", ev->failures[i].class_name);

        o += n > 0 ? (size_t)n : 0;
    }
    g->f[R_FAILURES] = xstrdup(fails);
}

static void keep_record(struct run *run, const struct record *r)
{
    struct got_record *g;

    run->recs = xrealloc(run->recs, (run->nrecs + 1) * sizeof(*run->recs));
    g = &run->recs[run->nrecs++];
    memset(g, 0, sizeof(*g));
    for (int i = 0; i < FIELD_COUNT; i++) {
        g->f[i] = slice_dup(record_field_get(r, i));
    }
    for (size_t i = 0; i < r->nextra; i++) {
        g->extra_name[i] = xstrdup(r->extra[i].name);
        g->extra_val[i] = slice_dup(r->extra[i].val);
    }
    g->nextra = r->nextra;
}

static void run_free(struct run *run)
{
    for (size_t i = 0; i < run->nrecs; i++) {
        for (int k = 0; k < FIELD_COUNT; k++) {
            free(run->recs[i].f[k]);
        }
        for (size_t k = 0; k < run->recs[i].nextra; k++) {
            free(run->recs[i].extra_name[k]);
            free(run->recs[i].extra_val[k]);
        }
    }
    for (size_t i = 0; i < run->nalerts; i++) {
        for (int k = 0; k < A_FIELDS; k++) {
            free(run->alerts[i].f[k]);
        }
    }
    for (size_t i = 0; i < run->nrollouts; i++) {
        for (int k = 0; k < R_FIELDS; k++) {
            free(run->rollouts[i].f[k]);
        }
    }
    free(run->recs);
    free(run->alerts);
    free(run->rollouts);
}

static void __attribute__((format(printf, 2, 3))) failf(struct run *run, const char *fmt, ...)
{
    va_list ap;

    if (run->failed++) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(run->why, sizeof(run->why), fmt, ap);
    va_end(ap);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (f == NULL) {
        return NULL;
    }
    buf = xmalloc(TEST_MAX_FILE + 1);
    n = fread(buf, 1, TEST_MAX_FILE, f);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void feed(struct run *run, struct parser *ps, struct rules_engine *eng,
                 struct source *src, const char *line, size_t len)
{
    struct record rec;

    src->lineno++;
    parse_line(ps, src, line, len, 0, &rec);
    rules_eval(eng, &rec);
    keep_record(run, &rec);
}

/* ---- expectations ------------------------------------------------------------------------- */

static const char *value_text(yajl_val v, char *buf, size_t cap)
{
    if (YAJL_IS_STRING(v)) {
        return YAJL_GET_STRING(v);
    }
    if (YAJL_IS_NUMBER(v)) {
        snprintf(buf, cap, "%s", YAJL_GET_NUMBER(v));
        return buf;
    }
    return NULL;
}

/* How a test's value is compared with what was produced. */
enum match_mode { MATCH_EQUAL, MATCH_SUBSTRING, MATCH_WORD };

/* The fields of one kind of output object (alert or rollout) a test may name. */
struct out_kind {
    const char *what;
    const char *const *keys;
    const unsigned char *modes; /* enum match_mode per key */
    int nkeys;
};

static const unsigned char alert_modes[A_FIELDS] = {[A_SUMMARY] = MATCH_SUBSTRING,
                                                    [A_HINT] = MATCH_SUBSTRING};
static const unsigned char rollout_modes[R_FIELDS] = {[R_DIAGNOSIS] = MATCH_SUBSTRING,
                                                      [R_FAILURES] = MATCH_WORD};
static const struct out_kind alert_kind = {"alert", alert_keys, alert_modes, A_FIELDS};
static const struct out_kind rollout_kind = {"rollout", rollout_keys, rollout_modes, R_FIELDS};

/* Are all the fields want names known for its kind? A typo must fail the test, not match. */
static int fields_known(const struct out_kind *k, yajl_val want, struct run *run)
{
    for (size_t i = 0; i < want->u.object.len; i++) {
        int known = 0;

        for (int a = 0; a < k->nkeys; a++) {
            known |= strcmp(k->keys[a], want->u.object.keys[i]) == 0;
        }
        if (!known) {
            failf(run, "unknown %s field \"%s\" in the test", k->what, want->u.object.keys[i]);
            return 0;
        }
    }
    return 1;
}

/* Do the produced fields have (each field of want; null: absent)? */
static int fields_match(char *const *have, const struct out_kind *k, yajl_val want,
                        struct run *run)
{
    for (size_t i = 0; i < want->u.object.len; i++) {
        const char *key = want->u.object.keys[i];
        yajl_val v = want->u.object.values[i];
        char buf[64], pat[80];
        const char *w;
        int idx = -1;

        for (int a = 0; a < k->nkeys; a++) {
            if (strcmp(k->keys[a], key) == 0) {
                idx = a;
            }
        }
        if (idx < 0) {
            failf(run, "unknown %s field \"%s\" in the test", k->what, key);
            return 0;
        }
        if (YAJL_IS_NULL(v)) {
            if (have[idx] != NULL) {
                return 0;
            }
            continue;
        }
        w = value_text(v, buf, sizeof(buf));
        if (w == NULL || have[idx] == NULL) {
            return 0;
        }
        switch (k->modes[idx]) {
        case MATCH_SUBSTRING:
            if (strstr(have[idx], w) == NULL) {
                return 0;
            }
            break;
        case MATCH_WORD: /* have is " a  b  c " */
            snprintf(pat, sizeof(pat), " %s ", w);
            if (strstr(have[idx], pat) == NULL) {
                return 0;
            }
            break;
        default:
            if (strcmp(have[idx], w) != 0) {
                return 0;
            }
        }
    }
    return 1;
}

static void describe_rollouts(struct run *run, char *buf, size_t cap)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < run->nrollouts && o + 1 < cap; i++) {
        const struct got_rollout *g = &run->rollouts[i];
        int n = snprintf(buf + o, cap - o, "\n      got rollout app=%s status=%s release=%s",
                         g->f[R_APP] ? g->f[R_APP] : "null", g->f[R_STATUS],
                         g->f[R_RELEASE] ? g->f[R_RELEASE] : "null");

        if (n < 0) {
            break;
        }
        o += (size_t)n;
    }
}

static void describe_alerts(struct run *run, char *buf, size_t cap)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < run->nalerts && o + 1 < cap; i++) {
        const struct got_alert *g = &run->alerts[i];
        int n = snprintf(buf + o, cap - o, "\n      got alert rule=%s class=%s service=%s pod=%s",
                         g->f[A_RULE] ? g->f[A_RULE] : "null",
                         g->f[A_CLASS] ? g->f[A_CLASS] : "null",
                         g->f[A_SERVICE] ? g->f[A_SERVICE] : "null",
                         g->f[A_POD] ? g->f[A_POD] : "null");

        if (n < 0) {
            break;
        }
        o += (size_t)n;
    }
}

static void check_records(struct run *run, yajl_val recs)
{
    for (size_t i = 0; i < recs->u.array.len; i++) {
        yajl_val want = recs->u.array.values[i];
        const char *path_line[] = {"line", NULL};
        yajl_val ln = yajl_tree_get(want, path_line, yajl_t_number);
        long long n;
        const struct got_record *g;

        if (!YAJL_IS_OBJECT(want) || ln == NULL || !YAJL_IS_INTEGER(ln)) {
            failf(run, "records[%zu] needs \"line\": N", i);
            return;
        }
        n = YAJL_GET_INTEGER(ln);
        if (n < 1 || (size_t)n > run->nrecs) {
            failf(run, "records[%zu]: line %lld does not exist (%zu lines)", i, n, run->nrecs);
            return;
        }
        g = &run->recs[n - 1];
        for (size_t k = 0; k < want->u.object.len; k++) {
            const char *key = want->u.object.keys[k];
            yajl_val v = want->u.object.values[k];
            const char *have = NULL;
            char buf[64];
            const char *w;
            int id;

            if (strcmp(key, "line") == 0) {
                continue;
            }
            id = record_field_id(key, strlen(key));
            if (id >= 0) {
                have = g->f[id];
            } else {
                for (size_t e = 0; e < g->nextra; e++) {
                    if (strcmp(g->extra_name[e], key) == 0) {
                        have = g->extra_val[e];
                    }
                }
            }
            w = YAJL_IS_NULL(v) ? NULL : value_text(v, buf, sizeof(buf));
            if ((w == NULL) != (have == NULL) || (w && strcmp(w, have) != 0)) {
                failf(run, "line %lld: %s is %s%s%s, expected %s%s%s", n, key, have ? "\"" : "",
                      have ? have : "absent", have ? "\"" : "", w ? "\"" : "",
                      w ? w : "absent", w ? "\"" : "");
                return;
            }
        }
    }
}

static void check(struct run *run, yajl_val test)
{
    static const char *const known[] = {"name",        "app",        "log",         "lines",
                                        "records",     "alerts",     "no_alerts",   "alert_count",
                                        "no_classes",  "description", "rollouts",   "no_rollouts",
                                        "rollout_count", NULL};
    char extra[4096];

    for (size_t i = 0; i < test->u.object.len; i++) {
        const char *const *k = known;

        while (*k && strcmp(*k, test->u.object.keys[i]) != 0) {
            k++;
        }
        if (*k == NULL) {
            failf(run, "unknown key \"%s\" in the test", test->u.object.keys[i]);
            return;
        }
    }
    for (size_t i = 0; i < test->u.object.len; i++) {
        const char *key = test->u.object.keys[i];
        yajl_val v = test->u.object.values[i];

        if (strcmp(key, "records") == 0 && YAJL_IS_ARRAY(v)) {
            check_records(run, v);
        } else if ((strcmp(key, "alerts") == 0 || strcmp(key, "no_alerts") == 0 ||
                    strcmp(key, "rollouts") == 0 || strcmp(key, "no_rollouts") == 0) &&
                   YAJL_IS_ARRAY(v)) {
            int must = strncmp(key, "no_", 3) != 0, alerts = strstr(key, "alerts") != NULL;
            const struct out_kind *kind = alerts ? &alert_kind : &rollout_kind;
            size_t n = alerts ? run->nalerts : run->nrollouts;

            for (size_t k = 0; k < v->u.array.len; k++) {
                yajl_val want = v->u.array.values[k];
                size_t hits = 0;

                if (!YAJL_IS_OBJECT(want)) {
                    failf(run, "%s[%zu] must be an object", key, k);
                    return;
                }
                if (!fields_known(kind, want, run)) {
                    return;
                }
                for (size_t a = 0; a < n; a++) {
                    hits += fields_match(alerts ? run->alerts[a].f : run->rollouts[a].f, kind,
                                         want, run);
                }
                if (must != (hits > 0)) {
                    if (alerts) {
                        describe_alerts(run, extra, sizeof(extra));
                    } else {
                        describe_rollouts(run, extra, sizeof(extra));
                    }
                    failf(run, "%s[%zu]: %zu %ss match%s", key, k, hits, kind->what, extra);
                }
            }
        } else if (strcmp(key, "rollout_count") == 0 && YAJL_IS_INTEGER(v)) {
            if ((long long)run->nrollouts != YAJL_GET_INTEGER(v)) {
                describe_rollouts(run, extra, sizeof(extra));
                failf(run, "rollout_count: got %zu, expected %lld%s", run->nrollouts,
                      YAJL_GET_INTEGER(v), extra);
            }
        } else if (strcmp(key, "alert_count") == 0 && YAJL_IS_INTEGER(v)) {
            if ((long long)run->nalerts != YAJL_GET_INTEGER(v)) {
                describe_alerts(run, extra, sizeof(extra));
                failf(run, "alert_count: got %zu, expected %lld%s", run->nalerts,
                      YAJL_GET_INTEGER(v), extra);
            }
        } else if (strcmp(key, "no_classes") == 0 && YAJL_IS_TRUE(v)) {
            for (size_t r = 0; r < run->nrecs; r++) {
                if (run->recs[r].f[FIELD_CLASS] != NULL) {
                    failf(run, "no_classes: line %zu has class %s: %s", r + 1,
                          run->recs[r].f[FIELD_CLASS],
                          run->recs[r].f[FIELD_LINE] ? run->recs[r].f[FIELD_LINE] : "");
                    break;
                }
            }
        }
    }
}

/*
 * Where yajl gave up on text, as a line and column (yajl_tree_parse's message has neither), and
 * the first line of its message. The same options as yajl_tree_parse (comments allowed).
 */
static void json_error_at(const char *text, size_t len, int *line, int *col, char *msg, size_t cap)
{
    yajl_handle h = yajl_alloc(NULL, NULL, NULL);
    size_t at = len; /* the input ended too soon: the place is its end */
    unsigned char *m = NULL;

    *line = 1;
    *col = 1;
    snprintf(msg, cap, "invalid JSON");
    if (h == NULL) {
        return;
    }
    yajl_config(h, yajl_allow_comments, 1);
    if (yajl_parse(h, (const unsigned char *)text, len) != yajl_status_ok) {
        /* consumed ends just past the token it could not take: point at its last byte */
        at = yajl_get_bytes_consumed(h);
        at = at > 0 ? at - 1 : 0;
        m = yajl_get_error(h, 0, (const unsigned char *)text, len);
    } else if (yajl_complete_parse(h) != yajl_status_ok) {
        m = yajl_get_error(h, 0, (const unsigned char *)text, len);
    }
    if (m != NULL) {
        snprintf(msg, cap, "invalid JSON: %.*s", (int)strcspn((const char *)m, "\n"),
                 (const char *)m);
        yajl_free_error(h, m);
    }
    yajl_free(h);
    for (size_t i = 0; i < at && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/*
 * Runs one test file. Returns 1 passed, 0 failed, -1 rule errors, -2 a file that is not a test
 * (named on stderr).
 */
static int run_test(const char *dir, const char *file, const char *rules_path)
{
    char path[4096], errbuf[512], dirpath[4096];
    size_t len;
    char *text = NULL, *log = NULL;
    yajl_val test = NULL, name, lines, logv, appv;
    struct rule_set *set;
    struct rules_engine *eng;
    struct parser ps;
    struct source src = {0};
    struct run run;
    const char *p_name[] = {"name", NULL}, *p_lines[] = {"lines", NULL},
               *p_log[] = {"log", NULL}, *p_app[] = {"app", NULL};
    int result;

    memset(&run, 0, sizeof(run));
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    text = read_all(path, &len);
    if (text == NULL) {
        fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
        return -2;
    }
    if ((test = yajl_tree_parse(text, errbuf, sizeof(errbuf))) == NULL) {
        int line, col;

        /* a broken test file is an input error, as a broken rule file is: FILE:LINE:COL */
        json_error_at(text, len, &line, &col, errbuf, sizeof(errbuf));
        fprintf(stderr, "%s:%d:%d: %s\n", path, line, col, errbuf);
        free(text);
        return -2;
    }
    if (!YAJL_IS_OBJECT(test)) {
        fprintf(stderr, "%s:1:1: a rule test is a JSON object\n", path);
        free(text);
        yajl_tree_free(test);
        return -2;
    }
    set = rules_load(rules_path, cli_print_rule_error, NULL);
    if (set == NULL) {
        free(text);
        yajl_tree_free(test);
        return -1;
    }
    eng = rules_engine_new(set, NULL, on_alert, &run);
    rules_engine_on_rollout(eng, on_rollout, &run);
    parse_init(&ps);
    name = yajl_tree_get(test, p_name, yajl_t_string);
    lines = yajl_tree_get(test, p_lines, yajl_t_array);
    logv = yajl_tree_get(test, p_log, yajl_t_string);
    appv = yajl_tree_get(test, p_app, yajl_t_string);
    src.name = path;
    src.app = appv ? YAJL_GET_STRING(appv) : NULL;
    if ((lines == NULL) == (logv == NULL)) {
        failf(&run, "a test needs exactly one of \"lines\" or \"log\"");
    } else if (lines != NULL) {
        for (size_t i = 0; i < lines->u.array.len; i++) {
            const char *l = YAJL_GET_STRING(lines->u.array.values[i]);

            if (l == NULL) {
                failf(&run, "lines[%zu] is not a string", i);
                break;
            }
            feed(&run, &ps, eng, &src, l, strlen(l));
        }
    } else {
        snprintf(dirpath, sizeof(dirpath), "%s/%s", dir, YAJL_GET_STRING(logv));
        log = read_all(dirpath, &len);
        if (log == NULL) {
            failf(&run, "cannot read log %s", dirpath);
        } else {
            size_t start = 0;

            for (size_t i = 0; i <= len; i++) {
                if (i == len || log[i] == '\n') {
                    if (i > start || i < len) {
                        feed(&run, &ps, eng, &src, log + start, i - start);
                    }
                    start = i + 1;
                }
            }
        }
    }
    if (!run.failed) {
        check(&run, test);
    }
    result = run.failed == 0;
    if (result) {
        printf("PASS %s  (%s)\n", name ? YAJL_GET_STRING(name) : file, file);
    } else {
        printf("FAIL %s  (%s)\n      %s\n", name ? YAJL_GET_STRING(name) : file, path, run.why);
    }
    rules_engine_free(eng);
    run_free(&run);
    yajl_tree_free(test);
    free(text);
    free(log);
    return result;
}

static int json_name(const struct dirent *e)
{
    size_t n = strlen(e->d_name);

    return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".json") == 0;
}

int cmd_test_rules(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"rules", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *rules_opt = NULL, *rules_path;
    char rules_buf[CLI_PATH_MAX];
    struct dirent **names = NULL;
    struct rule_set *set;
    int c, n, passed = 0, failed = 0, bad = 0, rc = EXIT_OK;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            rules_opt = optarg;
            break;
        case 'h':
            fputs(test_help, stdout);
            return EXIT_OK;
        default:
            fputs("Run 'rollwatch test-rules --help' for usage.\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fputs("rollwatch test-rules: name one TESTDIR (see --help)\n", stderr);
        return EXIT_USAGE;
    }
    rules_path = cli_rules_path(rules_opt, rules_buf, sizeof(rules_buf));
    if (rules_path == NULL) {
        cli_no_rules("test-rules");
        return EXIT_USAGE;
    }
    set = rules_load(rules_path, cli_print_rule_error, NULL);
    if (set == NULL) {
        fprintf(stderr, "rollwatch test-rules: the rules in %s have errors (see above)\n",
                rules_path);
        return EXIT_USAGE;
    }
    rules_set_free(set);
    n = scandir(argv[optind], &names, json_name, alphasort);
    if (n < 0) {
        fprintf(stderr, "rollwatch test-rules: cannot read %s: %s\n", argv[optind],
                strerror(errno));
        return EXIT_USAGE;
    }
    if (n == 0) {
        fprintf(stderr, "rollwatch test-rules: no *.json tests in %s\n", argv[optind]);
        free(names);
        return EXIT_USAGE;
    }
    for (int i = 0; i < n; i++) {
        int r = rc == EXIT_USAGE ? 0 : run_test(argv[optind], names[i]->d_name, rules_path);

        if (r == -2) {
            bad++; /* named on stderr; the other tests still run */
        } else if (r < 0) {
            rc = EXIT_USAGE;
        } else if (r > 0) {
            passed++;
        } else {
            failed++;
        }
        free(names[i]);
    }
    free(names);
    if (bad > 0) {
        printf("%d passed, %d failed, %d not readable as a test\n", passed, failed, bad);
        return EXIT_USAGE;
    }
    printf("%d passed, %d failed\n", passed, failed);
    if (rc == EXIT_USAGE) {
        return rc;
    }
    return failed > 0 ? EXIT_RUNTIME : EXIT_OK;
}
