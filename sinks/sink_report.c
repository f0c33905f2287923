/*
 * replay --report: per rollout, its last known state (verdict, diagnosis, hint, failures) and
 * a timeline of atom transitions and pod lifecycle events in times relative to its start, as
 * readable text or one JSON document.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "sink_int.h"
#include "sinks.h"
#include "xmalloc.h"

/* "" lit: only a string literal compiles here (sizeof of a pointer would copy garbage) */
#define LIT(b, lit) sink__buf_add((b), "" lit, sizeof(lit) - 1)

struct rep_point {
    int64_t at;
    char *pod, *what;
    int failure;
};

struct rep_rollout {
    char *app, *release, *diagnosis, *hint;
    enum rollout_status status;
    int64_t started_at, at;
    int start_seen;
    char **transitions;
    size_t nt;
    struct rep_failure {
        char *cls, *evidence;
        uint64_t count;
    } *failures;
    size_t nf;
    struct rep_point *points;
    size_t np;
};

struct sink_report {
    enum report_format fmt;
    struct rep_rollout *r;
    size_t n;
};

static char *dup0(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void rep_clear(struct rep_rollout *r)
{
    free(r->app);
    free(r->release);
    free(r->diagnosis);
    free(r->hint);
    for (size_t i = 0; i < r->nt; i++) {
        free(r->transitions[i]);
    }
    free(r->transitions);
    for (size_t i = 0; i < r->nf; i++) {
        free(r->failures[i].cls);
        free(r->failures[i].evidence);
    }
    free(r->failures);
    for (size_t i = 0; i < r->np; i++) {
        free(r->points[i].pod);
        free(r->points[i].what);
    }
    free(r->points);
    memset(r, 0, sizeof(*r));
}

int report_format_parse(const char *s, enum report_format *out)
{
    if (strcmp(s, "text") == 0) {
        *out = REPORT_TEXT;
    } else if (strcmp(s, "json") == 0) {
        *out = REPORT_JSON;
    } else if (strcmp(s, "html") == 0) {
        *out = REPORT_HTML;
    } else {
        return -1;
    }
    return 0;
}

struct sink_report *sink_report_new(enum report_format fmt)
{
    struct sink_report *rep = xcalloc(1, sizeof(*rep));

    rep->fmt = fmt;
    return rep;
}

void sink_report_rollout(struct sink_report *rep, const struct rollout_event *ev)
{
    struct rep_rollout *r = NULL;

    /* one entry per rollout (app and start), holding its latest state */
    for (size_t i = 0; i < rep->n; i++) {
        if (rep->r[i].started_at == ev->started_at && strcmp(rep->r[i].app, ev->app) == 0) {
            r = &rep->r[i];
        }
    }
    if (r == NULL) {
        rep->r = xrealloc(rep->r, (rep->n + 1) * sizeof(*rep->r));
        r = &rep->r[rep->n++];
        memset(r, 0, sizeof(*r));
    } else if (ev->status == ROLLOUT_STUCK && r->status != ROLLOUT_STARTED) {
        return; /* stuck never hides a verdict */
    } else {
        rep_clear(r);
    }
    r->app = xstrdup(ev->app);
    r->release = dup0(ev->release);
    r->diagnosis = dup0(ev->diagnosis);
    r->hint = dup0(ev->hint);
    r->status = ev->status;
    r->started_at = ev->started_at;
    r->at = ev->at;
    r->start_seen = ev->start_seen;
    r->transitions = xcalloc(ev->ntransitions + 1, sizeof(char *));
    for (size_t i = 0; i < ev->ntransitions; i++) {
        r->transitions[r->nt++] = xstrdup(ev->transitions[i]);
    }
    r->failures = xcalloc(ev->nfailures + 1, sizeof(*r->failures));
    for (size_t i = 0; i < ev->nfailures; i++) {
        r->failures[i].cls = xstrdup(ev->failures[i].class_name);
        r->failures[i].evidence = dup0(ev->failures[i].evidence);
        r->failures[i].count = ev->failures[i].count;
        r->nf++;
    }
    r->points = xcalloc(ev->ntimeline + 1, sizeof(*r->points));
    for (size_t i = 0; i < ev->ntimeline; i++) {
        r->points[i].at = ev->timeline[i].at;
        r->points[i].pod = dup0(ev->timeline[i].pod);
        r->points[i].what = xstrdup(ev->timeline[i].what);
        r->points[i].failure = ev->timeline[i].failure;
        r->np++;
    }
}

static void rel(char *buf, size_t cap, int64_t ns)
{
    int64_t s = ns / 1000000000LL;

    if (s < 0) {
        snprintf(buf, cap, "-%llds", (long long)-s);
    } else if (s >= 3600) {
        snprintf(buf, cap, "+%lldh%02lldm%02llds", (long long)(s / 3600), (long long)(s / 60 % 60),
                 (long long)(s % 60));
    } else if (s >= 60) {
        snprintf(buf, cap, "+%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    } else {
        snprintf(buf, cap, "+%llds", (long long)s);
    }
}

static void write_text(const struct sink_report *rep, FILE *out)
{
    for (size_t k = 0; k < rep->n; k++) {
        const struct rep_rollout *r = &rep->r[k];
        char a[48], b[48], d[32];
        const char *last_pod = NULL;

        clock_format_rfc3339(r->started_at, a, sizeof(a));
        clock_format_rfc3339(r->at, b, sizeof(b));
        rel(d, sizeof(d), r->at - r->started_at);
        fprintf(out, "== %s %s: %s after %s%s\n   %s .. %s\n", r->app[0] ? r->app : "-",
                r->release ? r->release : "(release unknown)", rollout_status_name(r->status), d + 1,
                r->start_seen ? "" : " (the log began mid-rollout)", a, b);
        if (r->diagnosis && r->diagnosis[0]) {
            fprintf(out, "   diagnosis: %s\n", r->diagnosis);
        }
        if (r->hint && r->hint[0]) {
            fprintf(out, "   hint: %s\n", r->hint);
        }
        if (r->nf > 0) {
            fputs("   failures:", out);
            for (size_t i = 0; i < r->nf; i++) {
                fprintf(out, "%s %s x%llu", i ? "," : "", r->failures[i].cls,
                        (unsigned long long)r->failures[i].count);
            }
            fputs("\n", out);
            for (size_t i = 0; i < r->nf; i++) {
                if (r->failures[i].evidence) {
                    fprintf(out, "     %s: %s\n", r->failures[i].cls, r->failures[i].evidence);
                }
            }
        }
        fputs("   timeline:\n", out);
        for (size_t i = 0; i < r->np; i++) {
            rel(d, sizeof(d), r->points[i].at - r->started_at);
            fprintf(out, "     %-10s %-32s %s%s\n", d, r->points[i].pod ? r->points[i].pod : "atom",
                    r->points[i].failure ? "! " : "", r->points[i].what);
        }
        /* each pod's life on one line */
        fputs("   pods:\n", out);
        for (size_t i = 0; i < r->np; i++) {
            const char *pod = r->points[i].pod;
            int first = 1, seen = 0;

            if (pod == NULL || (last_pod && strcmp(pod, last_pod) == 0)) {
                continue;
            }
            for (size_t j = 0; j < i; j++) {
                seen |= r->points[j].pod && strcmp(r->points[j].pod, pod) == 0;
            }
            if (seen) {
                continue;
            }
            fprintf(out, "     %s:", pod);
            for (size_t j = i; j < r->np; j++) {
                if (r->points[j].pod && strcmp(r->points[j].pod, pod) == 0) {
                    rel(d, sizeof(d), r->points[j].at - r->started_at);
                    fprintf(out, "%s %s%s %s", first ? "" : ",", r->points[j].failure ? "!" : "",
                            r->points[j].what, d);
                    first = 0;
                }
            }
            fputs("\n", out);
            last_pod = pod;
        }
        fputs("\n", out);
    }
    if (rep->n == 0) {
        fputs("no rollouts in these logs\n", out);
    }
}

/* For text chosen at run time (LIT takes sizeof, which only works on a literal). */
static void add_s(struct sink__buf *b, const char *s)
{
    sink__buf_add(b, s, strlen(s));
}

static void jstr(struct sink__buf *b, const char *s)
{
    sink__json_cstr_or_null(b, s);
}

static void write_json(const struct sink_report *rep, FILE *out)
{
    struct sink__buf b;
    char t[48], num[64];

    sink__buf_init(&b, 8192);
    LIT(&b, "{\"type\":\"report\",\"rollouts\":[");
    for (size_t k = 0; k < rep->n; k++) {
        const struct rep_rollout *r = &rep->r[k];

        add_s(&b, k ? ",{\"app\":" : "{\"app\":");
        jstr(&b, r->app);
        LIT(&b, ",\"release\":");
        jstr(&b, r->release);
        LIT(&b, ",\"status\":");
        jstr(&b, rollout_status_name(r->status));
        LIT(&b, ",\"started_at\":\"");
        sink__buf_add(&b, t, clock_format_rfc3339(r->started_at, t, sizeof(t)));
        LIT(&b, "\",\"at\":\"");
        sink__buf_add(&b, t, clock_format_rfc3339(r->at, t, sizeof(t)));
        snprintf(num, sizeof(num), "\",\"duration_s\":%lld",
                 (long long)((r->at - r->started_at) / 1000000000LL));
        sink__buf_add(&b, num, strlen(num));
        add_s(&b, r->start_seen ? ",\"start_seen\":true" : ",\"start_seen\":false");
        LIT(&b, ",\"diagnosis\":");
        jstr(&b, r->diagnosis);
        LIT(&b, ",\"hint\":");
        jstr(&b, r->hint);
        LIT(&b, ",\"transitions\":[");
        for (size_t i = 0; i < r->nt; i++) {
            add_s(&b, i ? "," : "");
            jstr(&b, r->transitions[i]);
        }
        LIT(&b, "],\"failures\":[");
        for (size_t i = 0; i < r->nf; i++) {
            add_s(&b, i ? ",{\"class\":" : "{\"class\":");
            jstr(&b, r->failures[i].cls);
            snprintf(num, sizeof(num), ",\"count\":%llu,\"evidence\":",
                     (unsigned long long)r->failures[i].count);
            sink__buf_add(&b, num, strlen(num));
            jstr(&b, r->failures[i].evidence);
            LIT(&b, "}");
        }
        LIT(&b, "],\"timeline\":[");
        for (size_t i = 0; i < r->np; i++) {
            snprintf(num, sizeof(num), "%s{\"t\":%.3f,\"pod\":", i ? "," : "",
                     (double)(r->points[i].at - r->started_at) / 1e9);
            sink__buf_add(&b, num, strlen(num));
            jstr(&b, r->points[i].pod);
            LIT(&b, ",\"what\":");
            jstr(&b, r->points[i].what);
            add_s(&b, r->points[i].failure ? ",\"failure\":true}" : ",\"failure\":false}");
        }
        LIT(&b, "]}");
    }
    LIT(&b, "]}\n");
    fwrite(b.p, 1, b.len, out);
    sink__buf_free(&b);
}

int sink_report_write(struct sink_report *rep, FILE *out)
{
    if (rep->fmt == REPORT_JSON) {
        write_json(rep, out);
    } else {
        write_text(rep, out);
    }
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

void sink_report_free(struct sink_report *rep)
{
    if (rep == NULL) {
        return;
    }
    for (size_t i = 0; i < rep->n; i++) {
        rep_clear(&rep->r[i]);
    }
    free(rep->r);
    free(rep);
}
