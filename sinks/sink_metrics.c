/*
 * The metrics registry: counters, gauges and histograms with labels, a bounded number of
 * series per family, rendered as Prometheus text exposition 0.0.4 or as a JSON snapshot.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hash.h"
#include "sink_int.h"
#include "sinks.h"
#include "utf8.h"
#include "xmalloc.h"

/* "" lit: only a string literal compiles here (sizeof of a pointer would copy garbage) */
#define LIT(b, lit) sink__buf_add((b), "" lit, sizeof(lit) - 1)
#define MAX_SERIES 5000 /* per family: labels come from logs, cardinality must stay bounded */
#define MAX_LABELS 4

#define NBUCKETS 1024

struct series {
    struct series *next;  /* in its family, in creation order */
    struct series *hnext; /* in its hash bucket */
    uint64_t hash;
    char *values[MAX_LABELS]; /* owned, valid UTF-8 */
    double value;             /* counter, gauge; histogram: sum */
    uint64_t count;           /* histogram */
    uint64_t *buckets;        /* owned, histogram: cumulative per bound */
};

struct metric_family {
    char *name, *help; /* owned */
    enum metric_type type;
    char *labels[MAX_LABELS];
    size_t nlabels;
    double *bounds; /* owned, histogram upper bounds, ascending */
    size_t nbounds;
    struct series *head, *tail;
    struct series *buckets[NBUCKETS];
    size_t nseries;
    uint64_t dropped; /* updates refused because of MAX_SERIES */
};

struct metrics {
    struct metric_family **fams;
    size_t n;
    metrics_collect_cb collect;
    void *collect_arg;
};

struct metrics *metrics_new(void)
{
    return xcalloc(1, sizeof(struct metrics));
}

void metrics_on_collect(struct metrics *m, metrics_collect_cb cb, void *arg)
{
    m->collect = cb;
    m->collect_arg = arg;
}

struct metric_family *metrics_family(struct metrics *m, const char *name, const char *help,
                                     enum metric_type type, const char *const *labels,
                                     const double *bounds, size_t nbounds)
{
    struct metric_family *f = xcalloc(1, sizeof(*f));

    f->name = xstrdup(name);
    f->help = xstrdup(help);
    f->type = type;
    while (labels != NULL && labels[f->nlabels] != NULL && f->nlabels < MAX_LABELS) {
        f->labels[f->nlabels] = xstrdup(labels[f->nlabels]);
        f->nlabels++;
    }
    if (type == METRIC_HISTOGRAM) {
        f->bounds = xmalloc((nbounds + 1) * sizeof(double));
        memcpy(f->bounds, bounds, nbounds * sizeof(double));
        f->nbounds = nbounds;
    }
    m->fams = xrealloc(m->fams, (m->n + 1) * sizeof(*m->fams));
    m->fams[m->n++] = f;
    return f;
}

static int same(const struct series *s, const struct slice *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = v[i].p ? v[i].len : 0;

        if (strlen(s->values[i]) != len || memcmp(s->values[i], v[i].p ? v[i].p : "", len) != 0) {
            return 0;
        }
    }
    return 1;
}

static uint64_t hash_values(const struct slice *v, size_t n)
{
    uint64_t h = HASH_FNV1A_INIT;

    for (size_t i = 0; i < n; i++) {
        h = hash_fnv1a_more(h, v[i].p ? v[i].p : "", v[i].p ? v[i].len : 0);
        h = hash_fnv1a_more(h, "\x1f", 1); /* ("ab","c") and ("a","bc") differ */
    }
    return h;
}

/* The series of these label values (absent = ""), created on first use; NULL when full. */
static struct series *find(struct metric_family *f, const struct slice *v)
{
    uint64_t h = hash_values(v, f->nlabels);
    struct series *s;

    for (s = f->buckets[h % NBUCKETS]; s != NULL; s = s->hnext) {
        if (s->hash == h && same(s, v, f->nlabels)) {
            return s;
        }
    }
    if (f->nseries >= MAX_SERIES) {
        f->dropped++;
        return NULL;
    }
    s = xcalloc(1, sizeof(*s));
    for (size_t i = 0; i < f->nlabels; i++) {
        size_t len = v[i].p ? v[i].len : 0;
        char *out = xmalloc(3 * len + 1);

        /* the exposition format is UTF-8: repair what the logs brought */
        out[utf8_sanitize(v[i].p ? v[i].p : "", len, out)] = '\0';
        s->values[i] = out;
    }
    if (f->type == METRIC_HISTOGRAM) {
        s->buckets = xcalloc(f->nbounds + 1, sizeof(uint64_t));
    }
    s->hash = h;
    s->hnext = f->buckets[h % NBUCKETS];
    f->buckets[h % NBUCKETS] = s;
    if (f->tail) {
        f->tail->next = s;
    } else {
        f->head = s;
    }
    f->tail = s;
    f->nseries++;
    return s;
}

void metrics_add(struct metric_family *f, const struct slice *values, double v)
{
    struct series *s = find(f, values);

    if (s != NULL) {
        s->value += v;
    }
}

void metrics_set(struct metric_family *f, const struct slice *values, double v)
{
    struct series *s = find(f, values);

    if (s != NULL) {
        s->value = v;
    }
}

void metrics_observe(struct metric_family *f, const struct slice *values, double v)
{
    struct series *s = find(f, values);

    if (s == NULL) {
        return;
    }
    s->value += v;
    s->count++;
    for (size_t i = 0; i < f->nbounds; i++) {
        if (v <= f->bounds[i]) {
            s->buckets[i]++;
        }
    }
}

/* ---- exposition ----------------------------------------------------------------------------- */

static void add_num(struct sink__buf *b, double v)
{
    char num[64];

    if (isinf(v)) {
        sink__buf_add(b, v > 0 ? "+Inf" : "-Inf", 4);
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(num, sizeof(num), "%.0f", v);
    } else {
        snprintf(num, sizeof(num), "%.9g", v);
    }
    sink__buf_add(b, num, strlen(num));
}

/* A label value: backslash, double quote and newline escaped (exposition format 0.0.4). */
static void add_label_value(struct sink__buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\') {
            LIT(b, "\\\\");
        } else if (*v == '"') {
            LIT(b, "\\\"");
        } else if (*v == '\n') {
            LIT(b, "\\n");
        } else {
            sink__buf_add(b, v, 1);
        }
    }
}

static void add_labels(struct sink__buf *b, const struct metric_family *f, const struct series *s,
                       const char *le)
{
    if (f->nlabels == 0 && le == NULL) {
        return;
    }
    LIT(b, "{");
    for (size_t i = 0; i < f->nlabels; i++) {
        if (i > 0) {
            LIT(b, ",");
        }
        sink__buf_add(b, f->labels[i], strlen(f->labels[i]));
        LIT(b, "=\"");
        add_label_value(b, s->values[i]);
        LIT(b, "\"");
    }
    if (le != NULL) {
        if (f->nlabels > 0) {
            LIT(b, ",");
        }
        LIT(b, "le=\"");
        sink__buf_add(b, le, strlen(le));
        LIT(b, "\"");
    }
    LIT(b, "}");
}

static void add_name(struct sink__buf *b, const struct metric_family *f, const char *suffix)
{
    sink__buf_add(b, f->name, strlen(f->name));
    sink__buf_add(b, suffix, strlen(suffix));
}

char *metrics_render_text(struct metrics *m, size_t *len)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    struct sink__buf b;
    char *out;

    if (m->collect) {
        m->collect(m->collect_arg, m);
    }
    sink__buf_init(&b, 8192);
    for (size_t i = 0; i < m->n; i++) {
        const struct metric_family *f = m->fams[i];

        LIT(&b, "# HELP ");
        add_name(&b, f, " ");
        sink__buf_add(&b, f->help, strlen(f->help));
        LIT(&b, "\n# TYPE ");
        add_name(&b, f, " ");
        sink__buf_add(&b, types[f->type], strlen(types[f->type]));
        LIT(&b, "\n");
        for (const struct series *s = f->head; s != NULL; s = s->next) {
            if (f->type != METRIC_HISTOGRAM) {
                add_name(&b, f, "");
                add_labels(&b, f, s, NULL);
                LIT(&b, " ");
                add_num(&b, s->value);
                LIT(&b, "\n");
                continue;
            }
            for (size_t k = 0; k <= f->nbounds; k++) {
                char le[64];

                if (k < f->nbounds) {
                    snprintf(le, sizeof(le), "%g", f->bounds[k]);
                } else {
                    snprintf(le, sizeof(le), "+Inf");
                }
                add_name(&b, f, "_bucket");
                add_labels(&b, f, s, le);
                LIT(&b, " ");
                add_num(&b, (double)(k < f->nbounds ? s->buckets[k] : s->count));
                LIT(&b, "\n");
            }
            add_name(&b, f, "_sum");
            add_labels(&b, f, s, NULL);
            LIT(&b, " ");
            add_num(&b, s->value);
            LIT(&b, "\n");
            add_name(&b, f, "_count");
            add_labels(&b, f, s, NULL);
            LIT(&b, " ");
            add_num(&b, (double)s->count);
            LIT(&b, "\n");
        }
    }
    *len = b.len;
    sink__buf_add(&b, "", 1);
    out = b.p;
    return out;
}

char *metrics_render_json(struct metrics *m, int64_t at_ns, size_t *len)
{
    struct sink__buf b;
    char t[48];

    if (m->collect) {
        m->collect(m->collect_arg, m);
    }
    sink__buf_init(&b, 8192);
    LIT(&b, "{\"type\":\"metrics\",\"at\":\"");
    sink__buf_add(&b, t, clock_format_rfc3339(at_ns, t, sizeof(t)));
    LIT(&b, "\",\"metrics\":{");
    for (size_t i = 0; i < m->n; i++) {
        const struct metric_family *f = m->fams[i];
        size_t k = 0;

        if (i > 0) {
            LIT(&b, ",");
        }
        sink__json_str(&b, f->name, strlen(f->name), 1);
        LIT(&b, ":[");
        for (const struct series *s = f->head; s != NULL; s = s->next, k++) {
            if (k > 0) {
                LIT(&b, ",");
            }
            LIT(&b, "{\"labels\":{");
            for (size_t l = 0; l < f->nlabels; l++) {
                if (l > 0) {
                    LIT(&b, ",");
                }
                sink__json_str(&b, f->labels[l], strlen(f->labels[l]), 1);
                LIT(&b, ":");
                sink__json_str(&b, s->values[l], strlen(s->values[l]), 0);
            }
            LIT(&b, "},");
            if (f->type == METRIC_HISTOGRAM) {
                LIT(&b, "\"count\":");
                add_num(&b, (double)s->count);
                LIT(&b, ",\"sum\":");
            } else {
                LIT(&b, "\"value\":");
            }
            add_num(&b, s->value);
            LIT(&b, "}");
        }
        LIT(&b, "]");
    }
    LIT(&b, "}}\n");
    *len = b.len;
    sink__buf_add(&b, "", 1);
    return b.p;
}

void metrics_free(struct metrics *m)
{
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < m->n; i++) {
        struct metric_family *f = m->fams[i];
        struct series *s = f->head, *next;

        for (; s != NULL; s = next) {
            next = s->next;
            for (size_t l = 0; l < f->nlabels; l++) {
                free(s->values[l]);
            }
            free(s->buckets);
            free(s);
        }
        for (size_t l = 0; l < f->nlabels; l++) {
            free(f->labels[l]);
        }
        free(f->bounds);
        free(f->name);
        free(f->help);
        free(f);
    }
    free(m->fams);
    free(m);
}
