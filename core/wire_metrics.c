/* The DESIGN §6 metric families, fed by the pipeline's callbacks and, at scrape time, stats. */
#include <string.h>

#include "wire_metrics.h"

static struct slice s(const char *v)
{
    return v ? (struct slice){v, strlen(v)} : SLICE_NONE;
}

static void collect(void *arg, struct metrics *m)
{
    struct wire_metrics *w = arg;

    (void)m;
    for (int k = 0; k < RECORD_KIND_COUNT; k++) {
        struct slice kind = s(record_kind_name((enum record_kind)k));

        metrics_set(w->lines, &kind, (double)w->parse->by_kind[k]);
    }
    metrics_set(w->unparsed, NULL, (double)w->parse->by_kind[RECORD_UNKNOWN]);
    if (w->webhooks == NULL) {
        return;
    }
    for (size_t i = 0; i < sink_webhooks_count(w->webhooks); i++) {
        struct sink_webhook_stats st;
        const char *name;
        struct slice l[2];

        sink_webhooks_stats(w->webhooks, i, &name, &st);
        l[0] = s(name);
        l[1] = s("delivered");
        metrics_set(w->deliveries, l, (double)st.delivered);
        l[1] = s("retried");
        metrics_set(w->deliveries, l, (double)st.retried);
        l[1] = s("dead_letter");
        metrics_set(w->deliveries, l, (double)st.dead);
        l[1] = s("dropped");
        metrics_set(w->deliveries, l, (double)st.dropped);
        metrics_set(w->queue, l, (double)st.queued);
    }
}

void wire_metrics_init(struct wire_metrics *w, const char *version, const struct parse_stats *ps)
{
    static const char *const kind[] = {"kind", NULL};
    static const char *const ase[] = {"app", "service", "event", NULL};
    static const char *const asc[] = {"app", "service", "class", NULL};
    static const char *const as[] = {"app", "status", NULL};
    static const char *const rss[] = {"rule", "severity", "status", NULL};
    static const char *const sr[] = {"sink", "result", NULL};
    static const char *const sink[] = {"sink", NULL};
    static const char *const ver[] = {"version", NULL};
    /* rollouts take seconds to an hour; the rack gives up at 3000 s */
    static const double bounds[] = {15, 30, 60, 120, 300, 600, 900, 1800, 3000, 3600};
    struct slice v = s(version);

    memset(w, 0, sizeof(*w));
    w->m = metrics_new();
    w->parse = ps;
    w->lines = metrics_family(w->m, "rollwatch_lines_total", "Lines read, by record kind.",
                              METRIC_COUNTER, kind, NULL, 0);
    w->unparsed = metrics_family(w->m, "rollwatch_lines_unparsed_total",
                                 "Lines that matched no known shape (kind unknown).",
                                 METRIC_COUNTER, NULL, NULL, 0);
    w->events = metrics_family(w->m, "rollwatch_events_total",
                               "Records tagged with a lifecycle event by the rules.",
                               METRIC_COUNTER, ase, NULL, 0);
    w->failures = metrics_family(w->m, "rollwatch_pod_failures_total",
                                 "Records classified as a failure, by class.", METRIC_COUNTER, asc,
                                 NULL, 0);
    w->rollouts = metrics_family(w->m, "rollwatch_rollouts_total",
                                 "Rollout events (started, succeeded, stuck, failed, rolled_back, "
                                 "rollback_failed).",
                                 METRIC_COUNTER, as, NULL, 0);
    w->duration = metrics_family(w->m, "rollwatch_rollout_duration_seconds",
                                 "Event-time duration of finished rollouts, by outcome.",
                                 METRIC_HISTOGRAM, as, bounds, sizeof(bounds) / sizeof(bounds[0]));
    w->alerts = metrics_family(w->m, "rollwatch_alerts_total",
                               "Alert notices sent (firing, re-sent, resolved).", METRIC_COUNTER,
                               rss, NULL, 0);
    w->deliveries = metrics_family(w->m, "rollwatch_webhook_deliveries_total",
                                   "Webhook delivery outcomes: delivered, retried, dead_letter, "
                                   "dropped.",
                                   METRIC_COUNTER, sr, NULL, 0);
    w->queue = metrics_family(w->m, "rollwatch_webhook_queue_depth",
                              "Deliveries waiting (spooled or in flight), by sink.", METRIC_GAUGE,
                              sink, NULL, 0);
    w->build = metrics_family(w->m, "rollwatch_build_info", "The running version (always 1).",
                              METRIC_GAUGE, ver, NULL, 0);
    metrics_set(w->build, &v, 1);
    metrics_on_collect(w->m, collect, w);
}

void wire_metrics_free(struct wire_metrics *w)
{
    metrics_free(w->m);
    w->m = NULL;
}

void wire_metrics_record(struct wire_metrics *w, const struct record *r)
{
    struct slice l[3];

    if (r->event.p == NULL && r->class_name.p == NULL) {
        return;
    }
    /* no pod label: cardinality stays bounded by apps and services */
    l[0] = r->app;
    l[1] = r->service;
    if (r->event.p != NULL) {
        l[2] = r->event;
        metrics_add(w->events, l, 1);
    }
    if (r->class_name.p != NULL) {
        l[2] = r->class_name;
        metrics_add(w->failures, l, 1);
    }
}

void wire_metrics_alert(struct wire_metrics *w, const struct alert *a)
{
    struct slice l[3] = {s(a->rule), s(alert_severity_name(a->severity)),
                         s(alert_status_name(a->status))};

    metrics_add(w->alerts, l, 1);
}

void wire_metrics_rollout(struct wire_metrics *w, const struct rollout_event *ev)
{
    struct slice l[2] = {s(ev->app), s(rollout_status_name(ev->status))};

    metrics_add(w->rollouts, l, 1);
    if (ev->status == ROLLOUT_SUCCEEDED || ev->status == ROLLOUT_ROLLED_BACK ||
        ev->status == ROLLOUT_ROLLBACK_FAILED) {
        metrics_observe(w->duration, l, (double)(ev->at - ev->started_at) / 1e9);
    }
}
