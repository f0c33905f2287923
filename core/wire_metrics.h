/* The DESIGN §6 metric families and how the pipeline's events update them. */
#ifndef ROLLWATCH_WIRE_METRICS_H
#define ROLLWATCH_WIRE_METRICS_H

#include "alert.h"
#include "parse.h"
#include "record.h"
#include "rollout.h"
#include "sinks.h"

struct wire_metrics {
    struct metrics *m; /* owned */
    struct metric_family *lines, *unparsed, *events, *failures, *rollouts, *duration, *alerts,
        *deliveries, *queue, *build;
    const struct parse_stats *parse;      /* borrowed, read at collect time */
    const struct sink_webhooks *webhooks; /* borrowed, may be NULL */
};

void wire_metrics_init(struct wire_metrics *w, const char *version, const struct parse_stats *ps);
void wire_metrics_free(struct wire_metrics *w);
void wire_metrics_record(struct wire_metrics *w, const struct record *r);
void wire_metrics_alert(struct wire_metrics *w, const struct alert *a);
void wire_metrics_rollout(struct wire_metrics *w, const struct rollout_event *ev);

#endif
