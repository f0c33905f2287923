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
    char *pod, *what, *line;
    int failure;
};

struct rep_rollout {
    char *app, *release, *diagnosis, *hint;
    enum rollout_status status;
    int64_t started_at, at;
    int start_seen;
    int in_progress; /* still under way when the log ended */
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
        free(r->points[i].line);
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
    } else if (ev->status == ROLLOUT_STUCK && r->status != ROLLOUT_STARTED && !ev->in_progress) {
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
    r->in_progress = ev->in_progress;
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
        r->points[i].line = dup0(ev->timeline[i].line);
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

/* The rollout's status as the report shows it: one still under way says so, not "started". */
static const char *status_text(const struct rep_rollout *r)
{
    if (r->in_progress) {
        return r->status == ROLLOUT_STUCK ? "stuck, still under way when the log ends"
                                          : "still under way when the log ends";
    }
    return rollout_status_name(r->status);
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
        fprintf(out, "== %s %s: %s", r->app[0] ? r->app : "-",
                r->release ? r->release : "(release unknown)", status_text(r));
        if (r->at == 0) {
            /* a deploy transcript without a single timestamp: no time to give, not 1970 */
            fprintf(out, "%s\n   times unknown (no timestamp in the log)\n",
                    r->start_seen ? "" : " (the log began mid-rollout)");
        } else {
            fprintf(out, r->in_progress ? ", %s in%s\n   %s .. %s\n" : " after %s%s\n   %s .. %s\n",
                    d + 1, r->start_seen ? "" : " (the log began mid-rollout)", a, b);
        }
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
        jstr(&b, r->app[0] ? r->app : NULL);
        LIT(&b, ",\"release\":");
        jstr(&b, r->release);
        LIT(&b, ",\"status\":");
        jstr(&b, rollout_status_name(r->status));
        if (r->at == 0) { /* no timestamp in the log (see write_text) */
            LIT(&b, ",\"started_at\":null,\"at\":null,\"duration_s\":null");
        } else {
            LIT(&b, ",\"started_at\":\"");
            sink__buf_add(&b, t, clock_format_rfc3339(r->started_at, t, sizeof(t)));
            LIT(&b, "\",\"at\":\"");
            sink__buf_add(&b, t, clock_format_rfc3339(r->at, t, sizeof(t)));
            snprintf(num, sizeof(num), "\",\"duration_s\":%lld",
                     (long long)((r->at - r->started_at) / 1000000000LL));
            sink__buf_add(&b, num, strlen(num));
        }
        add_s(&b, r->start_seen ? ",\"start_seen\":true" : ",\"start_seen\":false");
        add_s(&b, r->in_progress ? ",\"in_progress\":true" : ",\"in_progress\":false");
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

/* ---- html: one self-contained file, inline CSS and SVG, readable without scripts ----------- */

static void h(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '&':
            fputs("&amp;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

/* The colour of an atom status phase (the status a transition went to). */
static const char *phase_colour(const char *transition)
{
    static const struct {
        const char *to, *colour;
    } map[] = {{"=> Pending", "#9aa5b1"},  {"=> Updating", "#3b82f6"},  {"=> Running", "#16a34a"},
               {"=> Success", "#16a34a"},  {"=> Deadline", "#f97316"},  {"=> Error", "#f97316"},
               {"=> Cancelled", "#f97316"}, {"=> Failed", "#f97316"},   {"=> Rollback", "#8b5cf6"},
               {"=> Reverted", "#0d9488"}, {"=> Failure", "#dc2626"}};
    const char *arrow = strstr(transition, "=> ");

    for (size_t i = 0; arrow && i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(arrow, map[i].to) == 0) {
            return map[i].colour;
        }
    }
    return "#cbd5e1";
}

/* A pod's phase after an event: pulling, starting, running, crashed... */
static const char *pod_colour(const char *event, int failure)
{
    if (failure) {
        return "#fca5a5";
    }
    if (strstr(event, "pulling")) {
        return "#bfdbfe";
    }
    if (strstr(event, "pulled") || strstr(event, "present") || strstr(event, "created")) {
        return "#93c5fd";
    }
    if (strstr(event, "started") || strstr(event, "running")) {
        return "#86efac";
    }
    if (strstr(event, "deleted")) {
        return "#e5e7eb";
    }
    return "#dbeafe";
}

#define SVG_W 1100
#define LABEL_W 230
#define LANE_H 16

static void write_html_rollout(const struct rep_rollout *r, size_t idx, FILE *out)
{
    char a[48], d[32];
    int64_t span = r->at - r->started_at, end = r->at;
    const char **pods = xcalloc(r->np + 1, sizeof(char *));
    size_t npods = 0, lanes;
    double scale;
    /* a rollout still under way when the log ends is not shown as good */
    int bad = (r->status != ROLLOUT_SUCCEEDED && r->status != ROLLOUT_STARTED) || r->in_progress;

    for (size_t i = 0; i < r->np; i++) {
        int seen = 0;

        if (r->points[i].at > end) {
            end = r->points[i].at;
        }
        for (size_t k = 0; r->points[i].pod && k < npods; k++) {
            seen |= strcmp(pods[k], r->points[i].pod) == 0;
        }
        if (r->points[i].pod && !seen) {
            pods[npods++] = r->points[i].pod;
        }
    }
    span = end - r->started_at;
    if (span <= 0) {
        span = 1000000000LL;
    }
    scale = (double)(SVG_W - LABEL_W - 20) / (double)span;
    lanes = npods + 1;
    rel(d, sizeof(d), r->at - r->started_at);
    clock_format_rfc3339(r->started_at, a, sizeof(a));
    fprintf(out, "<section class=\"rollout\" id=\"rollout-%zu\">\n<h2>", idx);
    h(out, r->app[0] ? r->app : "(app unknown)");
    fputs(" <span class=\"release\">", out);
    h(out, r->release ? r->release : "release unknown");
    fprintf(out, "</span> <span class=\"status %s\">%s</span> <span class=\"dur\">",
            bad ? "bad" : "good", status_text(r));
    if (r->at == 0) {
        fputs("times unknown (no timestamp in the log)", out);
    } else {
        fprintf(out, "after %s, from ", d + 1);
        h(out, a);
    }
    fputs("</span></h2>\n", out);
    if (r->diagnosis && r->diagnosis[0]) {
        fputs("<p class=\"diagnosis\"><b>Diagnosis:</b> ", out);
        h(out, r->diagnosis);
        fputs("</p>\n", out);
    }
    if (r->hint && r->hint[0]) {
        fputs("<p class=\"hint\"><b>What to do:</b> ", out);
        h(out, r->hint);
        fputs("</p>\n", out);
    }
    /* the timeline: an atom lane, then one lane per pod */
    fprintf(out, "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                 "height=\"%zu\" viewBox=\"0 0 %d %zu\">\n",
            SVG_W, (lanes + 1) * LANE_H + 24, SVG_W, (lanes + 1) * LANE_H + 24);
    for (int t = 0; t <= 10; t++) {
        double x = LABEL_W + (SVG_W - LABEL_W - 20) * t / 10.0;

        rel(d, sizeof(d), span * t / 10);
        fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%zu\"/>"
                     "<text class=\"tick\" x=\"%.1f\" y=\"%zu\" text-anchor=\"%s\">%s</text>\n",
                x, x, (lanes + 1) * LANE_H, x, (lanes + 1) * LANE_H + 14,
                t == 0 ? "start" : t == 10 ? "end" : "middle", d);
    }
    fprintf(out, "<g class=\"lane atom\"><text class=\"label\" x=\"4\" y=\"%d\">atom status</text>\n",
            LANE_H - 4);
    for (size_t i = 0; i < r->np; i++) {
        int64_t next = end;

        if (r->points[i].pod != NULL) {
            continue;
        }
        for (size_t k = i + 1; k < r->np; k++) {
            if (r->points[k].pod == NULL) {
                next = r->points[k].at;
                break;
            }
        }
        fprintf(out, "<rect class=\"phase\" x=\"%.1f\" y=\"2\" width=\"%.1f\" height=\"%d\" "
                     "fill=\"%s\"><title>",
                LABEL_W + (double)(r->points[i].at - r->started_at) * scale,
                (double)(next - r->points[i].at) * scale + 1, LANE_H - 4,
                phase_colour(r->points[i].what));
        rel(d, sizeof(d), r->points[i].at - r->started_at);
        h(out, d);
        fputs(" ", out);
        h(out, r->points[i].what);
        fputs("</title></rect>\n", out);
    }
    fputs("</g>\n", out);
    for (size_t p = 0; p < npods; p++) {
        double y = (double)(p + 1) * LANE_H;

        fprintf(out, "<g class=\"lane pod\"><text class=\"label\" x=\"4\" y=\"%.0f\">", y + LANE_H - 4);
        h(out, pods[p]);
        fputs("</text>\n", out);
        for (size_t i = 0; i < r->np; i++) {
            int64_t next = end;
            double x;

            if (r->points[i].pod == NULL || strcmp(r->points[i].pod, pods[p]) != 0) {
                continue;
            }
            for (size_t k = i + 1; k < r->np; k++) {
                if (r->points[k].pod && strcmp(r->points[k].pod, pods[p]) == 0 &&
                    !r->points[k].failure) {
                    next = r->points[k].at;
                    break;
                }
            }
            x = LABEL_W + (double)(r->points[i].at - r->started_at) * scale;
            rel(d, sizeof(d), r->points[i].at - r->started_at);
            if (r->points[i].failure) {
                fprintf(out, "<circle class=\"marker failure\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\"><title>",
                        x, y + LANE_H / 2.0);
                h(out, d);
                fputs(" ", out);
                h(out, r->points[i].what);
                if (r->points[i].line) {
                    fputs(": ", out);
                    h(out, r->points[i].line);
                }
                fputs("</title></circle>\n", out);
            } else {
                fprintf(out, "<rect class=\"phase\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                             "height=\"%d\" fill=\"%s\"><title>",
                        x, y + 3, (double)(next - r->points[i].at) * scale + 1, LANE_H - 6,
                        pod_colour(r->points[i].what, 0));
                h(out, d);
                fputs(" ", out);
                h(out, r->points[i].what);
                fputs("</title></rect>\n", out);
            }
        }
        fputs("</g>\n", out);
    }
    fputs("</svg>\n", out);
    if (r->nf > 0) {
        fputs("<table class=\"failures\"><tr><th>failure</th><th>count</th><th>first line</th></tr>\n",
              out);
        for (size_t i = 0; i < r->nf; i++) {
            fputs("<tr><td>", out);
            h(out, r->failures[i].cls);
            fprintf(out, "</td><td>%llu</td><td><code>", (unsigned long long)r->failures[i].count);
            h(out, r->failures[i].evidence);
            fputs("</code></td></tr>\n", out);
        }
        fputs("</table>\n", out);
    }
    fputs("</section>\n", out);
    free(pods);
}

static void write_html(const struct sink_report *rep, FILE *out)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>rollwatch report</title>\n<style>\n"
          "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111827;max-width:1160px}\n"
          "h1{font-size:20px}h2{font-size:16px;margin:28px 0 6px}\n"
          ".release{color:#6b7280;font-weight:normal}.dur{color:#6b7280;font-weight:normal;"
          "font-size:13px}\n.status{padding:1px 8px;border-radius:9px;color:#fff;font-size:12px}\n"
          ".status.bad{background:#dc2626}.status.good{background:#16a34a}\n"
          ".diagnosis,.hint{margin:4px 0}.hint{color:#374151;font-size:13px}\n"
          "svg.timeline{border:1px solid #e5e7eb;background:#fafafa;margin:8px 0}\n"
          ".label{font:11px monospace;fill:#374151}.tick{font:10px sans-serif;fill:#6b7280}\n"
          ".grid{stroke:#e5e7eb}.marker.failure{fill:#dc2626;stroke:#fff}\n"
          "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #e5e7eb;padding:3px 6px;"
          "text-align:left;vertical-align:top}code{font-size:12px;word-break:break-all}\n"
          ".summary td:first-child{font-weight:bold}\n</style></head><body>\n"
          "<h1>rollwatch: rollout report</h1>\n", out);
    fputs("<table class=\"summary\"><tr><th>app</th><th>release</th><th>status</th><th>duration</th>"
          "<th>failures</th></tr>\n", out);
    for (size_t k = 0; k < rep->n; k++) {
        const struct rep_rollout *r = &rep->r[k];
        char d[32];

        rel(d, sizeof(d), r->at - r->started_at);
        fprintf(out, "<tr><td><a href=\"#rollout-%zu\">", k);
        h(out, r->app[0] ? r->app : "-");
        fputs("</a></td><td>", out);
        h(out, r->release ? r->release : "-");
        fprintf(out, "</td><td>%s</td><td>%s</td><td>", status_text(r), d + 1);
        for (size_t i = 0; i < r->nf; i++) {
            fprintf(out, "%s", i ? ", " : "");
            h(out, r->failures[i].cls);
            fprintf(out, " &times;%llu", (unsigned long long)r->failures[i].count);
        }
        fputs("</td></tr>\n", out);
    }
    fputs("</table>\n", out);
    for (size_t k = 0; k < rep->n; k++) {
        write_html_rollout(&rep->r[k], k, out);
    }
    if (rep->n == 0) {
        fputs("<p>No rollouts in these logs.</p>\n", out);
    }
    fputs("</body></html>\n", out);
}

/*
 * The text report goes to a terminal as often as to a file: it is written to memory first, then
 * each of its lines through the terminal escaper stdout's text uses (sink__text_str: control
 * bytes from the logs, an ESC among them, are shown, not sent). Its own newlines stay: no text
 * from a log holds one, lines are split at them.
 */
static void write_text_safe(const struct sink_report *rep, FILE *out)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    struct sink__buf b;

    if (mem == NULL) {
        write_text(rep, out); /* no memory for the copy: as it is */
        return;
    }
    write_text(rep, mem);
    fclose(mem);
    sink__buf_init(&b, len + 64);
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;

        sink__text_str(&b, text + i, end - i, 0); /* invalid UTF-8 passes as before */
        if (nl != NULL) {
            sink__buf_add(&b, "\n", 1);
        }
        i = end + 1;
    }
    fwrite(b.p, 1, b.len, out);
    sink__buf_free(&b);
    free(text);
}

int sink_report_write(struct sink_report *rep, FILE *out)
{
    if (rep->fmt == REPORT_JSON) {
        write_json(rep, out);
    } else if (rep->fmt == REPORT_HTML) {
        write_html(rep, out);
    } else {
        write_text_safe(rep, out);
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
