/* sinks: where records and alerts go. This cut: standard output as NDJSON or readable text. */
#ifndef ROLLWATCH_SINKS_H
#define ROLLWATCH_SINKS_H

#include <stdio.h>

#include "alert.h"
#include "rollout.h"
#include "record.h"

enum sink_format { SINK_FORMAT_JSON = 0, SINK_FORMAT_TEXT, SINK_FORMAT_NONE };

struct sink_stdout;

/*
 * A writer on out (borrowed; not closed by sink_stdout_free). Output is buffered and written
 * in large blocks (flush to push it out). color: ANSI colours in text format.
 * Never NULL (aborts on OOM).
 */
struct sink_stdout *sink_stdout_new(FILE *out, enum sink_format fmt, int color);

/*
 * One {"type":"record",...} line for r (DESIGN §2), with "event"/"class" when rules set them.
 * Invalid UTF-8 becomes U+FFFD, control bytes are escaped. Text format: a short line.
 * Returns 0, or -1 if writing failed.
 */
int sink_stdout_record(struct sink_stdout *s, const struct record *r);

/* One {"type":"alert",...} line (DESIGN §6), or in text a line plus its hint. */
int sink_stdout_alert(struct sink_stdout *s, const struct alert *a);

/* One {"type":"rollout",...} line (DESIGN §6), or in text one line with the diagnosis. */
int sink_stdout_rollout(struct sink_stdout *s, const struct rollout_event *ev);

/* Writes out what is buffered. Returns 0, or -1 on a write error. */
int sink_stdout_flush(struct sink_stdout *s);

/* Flushes and frees. sink_stdout_free(NULL) is a no-op. */
void sink_stdout_free(struct sink_stdout *s);

/* Parses "json", "text" or "none". Returns 0, or -1. */
int sink_format_parse(const char *s, enum sink_format *out);

/* ---- webhooks ------------------------------------------------------------------------------- */

#include <stdint.h>
#include <uv.h>

struct err;

enum webhook_format { WEBHOOK_GENERIC = 0, WEBHOOK_SLACK, WEBHOOK_ALERTMANAGER };

/* Parses "generic", "slack" or "alertmanager". Returns 0, or -1. */
int webhook_format_parse(const char *s, enum webhook_format *out);

struct sink_webhook_opts {
    const char *state_dir; /* spool and dead letters here; NULL: memory only (copied) */
    const char *secret;    /* HMAC key for X-Rollwatch-Signature, or NULL (copied) */
    size_t secret_len;
    size_t max_queue;         /* deliveries kept per URL; 0 = 10000 (then the oldest go) */
    long connect_ms, total_ms; /* 0 = 5 s, 15 s */
    uint64_t backoff_base_ms, backoff_cap_ms; /* 0 = 500 ms, 60 s */
    uint64_t resend_ms;       /* alertmanager re-sends; 0 = 60 s */
};

struct sink_webhook_stats {
    uint64_t attempts, delivered, retried, dead, dropped;
    size_t queued;
};

struct sink_webhooks;

/*
 * A set of webhooks sharing one HTTP client on loop. Loads libcurl and OpenSSL's libcrypto
 * (only now: most runs send nothing, and linking them cost every run 13 ms) and initialises
 * libcurl, so call it before any thread starts. NULL with e set if they cannot be loaded.
 */
struct sink_webhooks *sink_webhooks_new(uv_loop_t *loop, const struct sink_webhook_opts *opts,
                                        struct err *e);

/*
 * Adds a URL (http:// or https://) with its format; what an earlier run left in its spool is
 * sent again. Returns 0, or -1 with e set (bad URL, spool directory not usable).
 */
int sink_webhooks_add(struct sink_webhooks *ws, const char *url, enum webhook_format fmt,
                      struct err *e);

/* Queues a (for a durable spool: on disk when this returns) for every URL. Never blocks on
 * the network. */
void sink_webhooks_alert(struct sink_webhooks *ws, const struct alert *a);
void sink_webhooks_rollout(struct sink_webhooks *ws, const struct rollout_event *ev);

/* Deliveries not yet acknowledged by a 2xx (queued or in flight). */
size_t sink_webhooks_pending(const struct sink_webhooks *ws);
size_t sink_webhooks_count(const struct sink_webhooks *ws);
void sink_webhooks_stats(const struct sink_webhooks *ws, size_t i, const char **name,
                         struct sink_webhook_stats *st);

/* Stops sending (the spool keeps what is left), closes handles, frees, then calls closed. */
void sink_webhooks_close(struct sink_webhooks *ws, void (*closed)(void *), void *arg);

/* ---- metrics --------------------------------------------------------------------------------- */

enum metric_type { METRIC_COUNTER = 0, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metrics;
struct metric_family;

/* Called before every render, to refresh values kept elsewhere (queue depths, counters). */
typedef void (*metrics_collect_cb)(void *arg, struct metrics *m);

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
void metrics_on_collect(struct metrics *m, metrics_collect_cb cb, void *arg);

/*
 * Registers a family. labels: NULL-terminated names (at most 4, copied). Histograms take
 * ascending upper bounds (copied). Families render in registration order.
 */
struct metric_family *metrics_family(struct metrics *m, const char *name, const char *help,
                                     enum metric_type type, const char *const *labels,
                                     const double *bounds, size_t nbounds);

/*
 * Updates the series with these label values (one slice per label; absent = ""). A family
 * keeps at most 5000 series: updates to further ones are dropped (and counted).
 */
void metrics_add(struct metric_family *f, const struct slice *values, double v);
void metrics_set(struct metric_family *f, const struct slice *values, double v);
void metrics_observe(struct metric_family *f, const struct slice *values, double v);

/* Prometheus text exposition 0.0.4; malloc'd, NUL-terminated, *len without the NUL. */
char *metrics_render_text(struct metrics *m, size_t *len);
/* {"type":"metrics","at":...,"metrics":{name:[{"labels":{..},"value":N},..]}} plus newline. */
char *metrics_render_json(struct metrics *m, int64_t at_ns, size_t *len);

struct sink_metrics_server;

/*
 * Serves GET /metrics and /healthz on listen ("[ADDR:]PORT"; no ADDR means 127.0.0.1;
 * "[::1]:PORT" for IPv6) from m (borrowed). Returns NULL with e set on a bad address or a
 * failed bind.
 */
struct sink_metrics_server *sink_metrics_server_start(uv_loop_t *loop, const char *listen,
                                                      struct metrics *m, struct err *e);
/* Closes the listener and every connection, then frees. */
void sink_metrics_server_close(struct sink_metrics_server *srv);

/* ---- replay reports (sink_report.c) ---------------------------------------------------------- */

enum report_format { REPORT_TEXT = 0, REPORT_JSON, REPORT_HTML };

/* Parses "text", "json" or "html". Returns 0, or -1. */
int report_format_parse(const char *s, enum report_format *out);

struct sink_report;

struct sink_report *sink_report_new(enum report_format fmt);
/* Keeps (a copy of) the latest state of ev's rollout. */
void sink_report_rollout(struct sink_report *rep, const struct rollout_event *ev);
/* Writes the report of every rollout seen. Returns 0, or -1 on a write error. */
int sink_report_write(struct sink_report *rep, FILE *out);
void sink_report_free(struct sink_report *rep);

/* A snapshot line (metrics_render_json) to stdout / to every webhook with a JSON body. */
int sink_stdout_raw(struct sink_stdout *s, const char *text, size_t len);
void sink_webhooks_raw(struct sink_webhooks *ws, const char *json, size_t len);

#endif
