/* rollwatch run / replay: ingest -> parse -> rules -> stdout, with SIGHUP reload of the rules. */
#include <errno.h>
#include <time.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cli.h"
#include "err.h"
#include "ingest.h"
#include "log.h"
#include "parse.h"
#include "replay_pipe.h"
#include "rules.h"
#include "sinks.h"
#include "wire_metrics.h"
#include "xmalloc.h"

static const char run_help[] =
    "Usage: rollwatch [run] [OPTIONS] [FILE...]\n"
    "       rollwatch replay [OPTIONS] FILE...\n"
    "\n"
    "run reads Convox / Kubernetes logs, classifies pod failures, follows rollouts and prints\n"
    "alerts. It follows FILEs (and globs) like tail -F: rotation by rename, truncation,\n"
    "deletion and re-creation, files that appear later; no FILE or '-' reads standard input.\n"
    "replay does the same for stored logs, read to their end, then exits. Every window and\n"
    "deadline runs on the logs' own event time, so both give the same alerts.\n"
    "\n"
    "Options:\n"
    "  --rules DIR          rule files (default ./rules.d when present, else " ROLLWATCH_RULES_DIR ",\n"
    "                       else the rules.d of the source tree a build's binary sits in)\n"
    "  --app NAME           label lines with app NAME (Convox lines do not carry it)\n"
    "  --input APP=PATH     read PATH and label its lines with APP (repeatable)\n"
    "  --exec 'CMD ARGS'    run: read the lines CMD prints (e.g. 'convox logs -a myapp --since\n"
    "                       10m'); no shell; restarted with backoff when it exits; the lines a\n"
    "                       restarted command sends again are skipped\n"
    "  --from-start         run: read what followed files already hold (default: from their\n"
    "                       end, like tail -F; a saved offset in --state-dir wins)\n"
    "  --output FMT         json (NDJSON; default when stdout is not a terminal), text, none\n"
    "  --records            also print every record with its event and class tags\n"
    "  --max-line BYTES     cut longer lines to BYTES (default 65536)\n"
    "  --webhook URL        also POST alerts and rollouts to URL (repeatable)\n"
    "  --webhook-format F   generic (DESIGN JSON, default), slack or alertmanager; applies to the\n"
    "                       --webhook before it (or, given first, to all)\n"
    "  --webhook-secret-file FILE  sign deliveries: X-Rollwatch-Signature: t=<unix>,v1=<hex\n"
    "                       HMAC-SHA256(secret, t \".\" body)>\n"
    "  --state-dir DIR      offsets of followed files (a restart resumes where it stopped: no\n"
    "                       line lost, none twice), the webhook spool (kept until a 2xx, sent\n"
    "                       again after a restart) and the dead-letter file\n"
    "  --drain-timeout S    how long the end of input or SIGTERM waits for deliveries (default 10)\n"
    "  --report text|json|html  at the end, per rollout: verdict, diagnosis, hint, failures\n"
    "                       and a timeline of atom transitions and each pod's life (html: one\n"
    "                       self-contained page with an SVG timeline)\n"
    "  --report-out FILE    write the report there (default: standard output, after the rest;\n"
    "                       there a text or html report needs --output none)\n"
    "  --metrics-listen [ADDR:]PORT  serve Prometheus /metrics and /healthz (ADDR 127.0.0.1 if\n"
    "                       not given)\n"
    "  --metrics-interval S also print a {\"type\":\"metrics\"} snapshot every S seconds (and at\n"
    "                       the end), to stdout and generic webhooks\n"
    "  -q, --quiet          no summary on stderr at the end\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples:\n"
    "  convox logs -a myapp | rollwatch --app myapp\n"
    "  rollwatch replay --app myapp --output text examples/deploy-rollback.log\n"
    "  rollwatch replay --records logs/*.log | jq -c 'select(.class != null)'\n"
    "  convox logs -a myapp | rollwatch --app myapp --state-dir /var/lib/rollwatch \\\n"
    "      --webhook http://alertmanager:9093/api/v2/alerts --webhook-format alertmanager\n"
    "\n"
    "Signals: SIGHUP reloads the rules (bad rules keep the old ones); SIGINT/SIGTERM stop.\n"
    "Exit codes: 0 ok, 1 an input could not be read, output failed or deliveries are left\n"
    "undelivered (in the spool) or dead-lettered, 2 usage or rule errors.\n";

#define HEARTBEAT_MS 1000

struct pipeline {
    uv_loop_t loop;
    struct parser parser;
    struct rules_engine *engine;
    struct sink_stdout *out;
    struct ingest *in;            /* stdin and replay's files, read to their end; may be NULL */
    struct ingest_follow *follow; /* run's files, followed; may be NULL */
    struct ingest_exec *exec;     /* --exec; may be NULL */
    struct replay_pipe *pipe;     /* replay's files, merged by event time and parsed; may be NULL */
    uint64_t pre_regex_runs, pre_regex_errors; /* the pipe's tests ahead, when it closed */
    struct parse_stats replay_ps; /* replay: the parse counts, kept by the pipe */
    const struct parse_stats *ps; /* parser's or replay_ps */
    uv_timer_t progress;          /* replay on a terminal: a progress bar on stderr */
    uint64_t progress_start_ms;
    int progress_shown;
    const char *rules_path;
    int records;
    int write_failed;
    int started; /* the inputs were started: there is a run to sum up and report on */
    uint64_t alerts;
    uint64_t source_errors;
    /* for the summary at the end */
    uint64_t rollouts[ROLLOUT_STATUS_COUNT];
    struct tally {
        char name[48];
        size_t len;
        uint64_t n, resolved;
    } classes[32], rules_fired[64];
    size_t nclasses, nrules_fired;
    uv_check_t flush;
    uv_timer_t heartbeat; /* live only: silence moves the event clock on */
    int live;
    int have_event;
    int64_t last_event_ns;
    uint64_t last_event_wall_ms;
    uv_signal_t sighup, sigint, sigterm;
    struct sink_webhooks *webhooks; /* NULL without --webhook */
    struct wire_metrics metrics;    /* .m NULL without --metrics-* */
    struct sink_report *report;     /* NULL without --report */
    struct sink_metrics_server *metrics_srv;
    uv_timer_t snapshot;
    uint64_t snapshot_ms;
    uv_timer_t drain;
    uint64_t drain_deadline;
    uint64_t drain_ms;
    int stopping;
    size_t undelivered;
    uint64_t dead;
};

/* Counts name in a small table (names past its size are not tallied). */
static struct tally *tally(struct tally *t, size_t *n, size_t cap, const char *name, size_t len)
{
    for (size_t i = 0; i < *n; i++) {
        if (t[i].len == len && memcmp(t[i].name, name, len) == 0) {
            return &t[i];
        }
    }
    if (*n == cap || len >= sizeof(t[0].name)) {
        return NULL;
    }
    memcpy(t[*n].name, name, len);
    t[*n].name[len] = '\0';
    t[*n].len = len;
    return &t[(*n)++];
}

static void on_alert(void *arg, const struct alert *a)
{
    struct pipeline *p = arg;
    struct tally *t = tally(p->rules_fired, &p->nrules_fired, 64, a->rule, a->rule_len);

    if (t != NULL) {
        t->n += a->status == ALERT_FIRING;
        t->resolved += a->status == ALERT_RESOLVED;
    }
    p->alerts++;
    if (p->metrics.m) {
        wire_metrics_alert(&p->metrics, a);
    }
    if (p->webhooks) {
        sink_webhooks_alert(p->webhooks, a);
    }
    if (sink_stdout_alert(p->out, a) != 0) {
        p->write_failed = 1;
    }
}

static void on_rollout(void *arg, const struct rollout_event *ev)
{
    struct pipeline *p = arg;

    if (p->report) {
        sink_report_rollout(p->report, ev);
    }
    if (ev->in_progress) {
        return; /* for the report alone: no change of status to tell anyone */
    }
    p->rollouts[ev->status]++;
    if (p->metrics.m) {
        wire_metrics_rollout(&p->metrics, ev);
    }
    if (p->webhooks) {
        sink_webhooks_rollout(p->webhooks, ev);
    }
    if (sink_stdout_rollout(p->out, ev) != 0) {
        p->write_failed = 1;
    }
}

/* A parsed record, whichever way it came; set and bits: tested ahead by replay's worker. */
static void on_record_pre(void *arg, struct record *rec, const struct rule_set *set,
                          const struct rules_ahead *ahead)
{
    struct pipeline *p = arg;

    if (rec->ts_src == TS_OWN) {
        /* the heartbeat counts wall time from here */
        p->last_event_ns = rec->ts_ns;
        p->last_event_wall_ms = uv_now(&p->loop);
        p->have_event = 1;
    }
    rules_eval_pre(p->engine, rec, set, ahead);
    if (rec->class_name.p != NULL) {
        struct tally *t =
            tally(p->classes, &p->nclasses, 32, rec->class_name.p, rec->class_name.len);

        if (t != NULL) {
            t->n++;
        }
    }
    if (p->metrics.m) {
        wire_metrics_record(&p->metrics, rec);
    }
    if (p->records && sink_stdout_record(p->out, rec) != 0) {
        p->write_failed = 1;
    }
}

/* A line of stdin, a followed file or --exec: parsed here, on the loop. */
static void on_line(void *arg, const struct source *src, const char *line, size_t len,
                    unsigned flags)
{
    struct pipeline *p = arg;
    struct record rec;

    parse_line(&p->parser, src, line, len, flags, &rec);
    on_record_pre(p, &rec, NULL, NULL);
}

/*
 * After each turn of the loop: what was produced goes out now, not when the buffer fills.
 * Not in replay, where a turn is a batch of thousands of lines of a stored log (hundreds of
 * writes per million lines): there output goes out as the buffer fills, and at the end.
 */
static void on_flush(uv_check_t *h)
{
    struct pipeline *p = h->data;

    if (sink_stdout_flush(p->out) != 0) {
        p->write_failed = 1;
    }
}

/*
 * Live mode: now = last event time + wall time since that line arrived, so a rollout that
 * goes quiet is still reported stuck on time. Replay has no heartbeat: the log is the clock.
 */
static void on_heartbeat(uv_timer_t *h)
{
    struct pipeline *p = h->data;

    if (p->have_event) {
        uint64_t quiet_ms = uv_now(&p->loop) - p->last_event_wall_ms;

        rules_advance(p->engine, p->last_event_ns + (int64_t)quiet_ms * 1000000LL);
    }
}

static void on_sighup(uv_signal_t *h, int signum)
{
    struct pipeline *p = h->data;
    struct rule_set *set;

    (void)signum;
    log_at(LOG_INFO, "rules", "SIGHUP: reloading rules path=%s", p->rules_path);
    set = rules_load(p->rules_path, cli_print_rule_error, NULL);
    if (set == NULL) {
        log_at(LOG_ERROR, "rules", "reload failed, keeping the old rules path=%s", p->rules_path);
        return;
    }
    if (p->pipe != NULL) {
        replay_pipe_set_rules(p->pipe, set); /* records parsed from now on are tested with it */
    }
    rules_engine_swap(p->engine, set);
    log_at(LOG_INFO, "rules", "reloaded rules=%zu path=%s", rules_set_count(set), p->rules_path);
}

static void on_ingest_closed(void *arg)
{
    (void)arg;
}

static void on_webhooks_closed(void *arg)
{
    (void)arg;
}

/* A metrics snapshot line to stdout and (webhooks) to the generic webhooks. */
static void snapshot(struct pipeline *p, int to_stdout, int webhooks)
{
    struct timespec now;
    size_t len;
    char *json;

    clock_gettime(CLOCK_REALTIME, &now);
    json = metrics_render_json(p->metrics.m, (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec,
                               &len);
    if (to_stdout && sink_stdout_raw(p->out, json, len) != 0) {
        p->write_failed = 1;
    }
    if (webhooks && p->webhooks) {
        sink_webhooks_raw(p->webhooks, json, len);
    }
    free(json);
}

static void on_snapshot(uv_timer_t *t)
{
    snapshot(t->data, 1, 1);
}

/* Last step: what is not delivered stays in the spool; handles close. */
static void finish(struct pipeline *p)
{
    uv_timer_stop(&p->drain);
    if (p->snapshot_ms > 0 && p->started) {
        /* stdout's final counts come after the drain: they include the deliveries */
        snapshot(p, 1, 0);
    }
    sink_metrics_server_close(p->metrics_srv);
    p->metrics_srv = NULL;
    if (p->webhooks != NULL) {
        for (size_t i = 0; i < sink_webhooks_count(p->webhooks); i++) {
            struct sink_webhook_stats st;
            const char *name;

            sink_webhooks_stats(p->webhooks, i, &name, &st);
            p->dead += st.dead + st.dropped;
        }
        p->undelivered = sink_webhooks_pending(p->webhooks);
        sink_webhooks_close(p->webhooks, on_webhooks_closed, p);
        p->webhooks = NULL;
    }
    uv_check_stop(&p->flush);
}

static void on_drain(uv_timer_t *t)
{
    struct pipeline *p = t->data;

    if (sink_webhooks_pending(p->webhooks) == 0 || uv_now(&p->loop) >= p->drain_deadline) {
        finish(p);
    }
}

/* End of input or a stop signal: no more reading, then deliveries get up to the drain time. */
static void close_all(struct pipeline *p)
{
    if (p->stopping) {
        return;
    }
    p->stopping = 1;
    if (p->in != NULL) {
        /* ingest frees itself once closed: keep what the exit code needs */
        p->source_errors = ingest_stats(p->in)->source_errors;
        ingest_close(p->in, on_ingest_closed, p);
        p->in = NULL;
    }
    if (p->follow != NULL) {
        ingest_follow_close(p->follow); /* saves the offsets of what was processed */
        p->follow = NULL;
    }
    if (p->exec != NULL) {
        ingest_exec_close(p->exec);
        p->exec = NULL;
    }
    if (p->pipe != NULL) {
        struct ingest_merge_stats ms;

        replay_pipe_regex_counts(p->pipe, &p->pre_regex_runs, &p->pre_regex_errors);
        replay_pipe_close(p->pipe, &ms);
        p->source_errors += ms.source_errors;
        p->pipe = NULL;
    }
    uv_timer_stop(&p->progress);
    if (p->progress_shown) {
        fputs("\r\x1b[K", stderr); /* the bar goes, the summary follows */
        p->progress_shown = 0;
    }
    uv_signal_stop(&p->sighup);
    uv_signal_stop(&p->sigint);
    uv_signal_stop(&p->sigterm);
    uv_timer_stop(&p->heartbeat);
    uv_timer_stop(&p->snapshot);
    if (p->snapshot_ms > 0 && p->started) {
        snapshot(p, 0, 1); /* the webhooks' final counts, while they can still be delivered */
    }
    if (p->webhooks != NULL && sink_webhooks_pending(p->webhooks) > 0) {
        p->drain_deadline = uv_now(&p->loop) + p->drain_ms;
        uv_timer_start(&p->drain, on_drain, 50, 50);
        return;
    }
    finish(p);
}

static void on_stop_signal(uv_signal_t *h, int signum)
{
    struct pipeline *p = h->data;

    log_at(LOG_INFO, "core", "signal %d: stopping", signum);
    close_all(p);
}

static void on_ingest_done(void *arg)
{
    struct pipeline *p = arg;

    if (p->follow != NULL || p->exec != NULL) {
        return; /* stdin ended, but followed files and --exec go on until a signal */
    }
    close_all(p);
}

/* "[#######.......]  45%  12.3/27.1 MB  850k lines/s  ETA 8s" */
static void on_progress(uv_timer_t *t)
{
    struct pipeline *p = t->data;
    struct ingest_merge_stats ms;
    const struct ingest_merge_stats *st = &ms;
    double secs, frac, rate;
    char bar[31];
    int fill;

    if (p->pipe == NULL) {
        return;
    }
    ms = replay_pipe_merge_stats(p->pipe);
    secs = (double)(uv_now(&p->loop) - p->progress_start_ms) / 1000.0;
    frac = st->bytes_total ? (double)st->bytes_done / (double)st->bytes_total : 0;
    frac = frac > 1 ? 1 : frac;
    rate = secs > 0 ? (double)st->lines / secs : 0;
    fill = (int)(frac * 30);
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(30 - fill));
    bar[30] = '\0';
    fprintf(stderr, "\r[%s] %3.0f%%  %.1f/%.1f MB  %.0fk lines/s  ETA %.0fs\x1b[K", bar,
            frac * 100, (double)st->bytes_done / 1e6, (double)st->bytes_total / 1e6, rate / 1000,
            frac > 0.01 ? secs * (1 - frac) / frac : 0.0);
    p->progress_shown = 1;
}

/*
 * The secret for HMAC signatures: the file's content, trailing whitespace removed. Returns
 * EXIT_OK, or EXIT_USAGE: a secret file missing or unusable is configuration, as rules are.
 */
static int read_secret(const char *cmd, const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char buf[4096];
    size_t n;
    int full;

    if (f == NULL) {
        fprintf(stderr, "rollwatch %s: --webhook-secret-file: cannot read %s: %s\n", cmd, path,
                strerror(errno));
        return EXIT_USAGE;
    }
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    full = n == sizeof(buf); /* before the trim: a longer secret must not be cut silently */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
                     buf[n - 1] == '\t')) {
        n--;
    }
    if (n == 0 || full) {
        memset(buf, 0, sizeof(buf));
        fprintf(stderr, "rollwatch %s: --webhook-secret-file: %s is %s\n", cmd, path,
                n == 0 ? "empty" : "4 KiB or larger");
        return EXIT_USAGE;
    }
    *out = malloc(n);
    if (*out == NULL) {
        abort();
    }
    memcpy(*out, buf, n);
    memset(buf, 0, sizeof(buf));
    *len = n;
    return EXIT_OK;
}

static void on_walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

static void summary(struct pipeline *p)
{
    const struct parse_stats *ps = p->ps;
    const struct rules_stats *rs = rules_engine_stats(p->engine);

    fprintf(stderr,
            "rollwatch: %llu lines (%llu unknown, %llu truncated), %llu tagged with an event, "
            "%llu with a failure class, %llu alerts sent (%llu repeats suppressed, %llu resolved), "
            "%llu rollouts\n",
            (unsigned long long)ps->lines, (unsigned long long)ps->by_kind[RECORD_UNKNOWN],
            (unsigned long long)ps->truncated, (unsigned long long)rs->tagged_event,
            (unsigned long long)rs->tagged_class, (unsigned long long)rs->alerts_fired,
            (unsigned long long)rs->alerts_suppressed, (unsigned long long)rs->alerts_resolved,
            (unsigned long long)rs->rollouts_started);
    fprintf(stderr, "  rollouts: %llu started, %llu succeeded, %llu stuck, %llu failed, %llu rolled back, "
            "%llu rollback failed\n",
            (unsigned long long)p->rollouts[ROLLOUT_STARTED],
            (unsigned long long)p->rollouts[ROLLOUT_SUCCEEDED],
            (unsigned long long)p->rollouts[ROLLOUT_STUCK],
            (unsigned long long)p->rollouts[ROLLOUT_FAILED],
            (unsigned long long)p->rollouts[ROLLOUT_ROLLED_BACK],
            (unsigned long long)p->rollouts[ROLLOUT_ROLLBACK_FAILED]);
    fputs("  failures:", stderr);
    for (size_t i = 0; i < p->nclasses; i++) {
        fprintf(stderr, "%s %s %llu", i ? "," : "", p->classes[i].name,
                (unsigned long long)p->classes[i].n);
    }
    fputs(p->nclasses ? "\n  alerts:  " : " none\n  alerts:  ", stderr);
    for (size_t i = 0; i < p->nrules_fired; i++) {
        fprintf(stderr, "%s %s %llu fired/%llu resolved", i ? "," : "", p->rules_fired[i].name,
                (unsigned long long)p->rules_fired[i].n,
                (unsigned long long)p->rules_fired[i].resolved);
    }
    fputs(p->nrules_fired ? "\n" : " none\n", stderr);
    fprintf(stderr, "  %.2f regex matches per line\n",
            ps->lines ? (double)(rs->regex_runs + p->pre_regex_runs) / (double)ps->lines : 0.0);
    if (rs->regex_errors + p->pre_regex_errors > 0) {
        fprintf(stderr, "rollwatch: %llu regex match errors (match limit hit)\n",
                (unsigned long long)(rs->regex_errors + p->pre_regex_errors));
    }
}

/*
 * The i-th input: the --input APP=PATH values first, then the file arguments. Returns its path;
 * *eq: the '=' of an --input (the app label is inputs[i] up to it), else NULL.
 */
static const char *input_at(char **inputs, size_t ninputs, char **files, size_t i,
                            const char **eq)
{
    if (i < ninputs) {
        *eq = strchr(inputs[i], '='); /* checked when the option was read */
        return *eq + 1;
    }
    *eq = NULL;
    return files[i - ninputs];
}

/* Of two exit codes, the one to report: a usage error over a runtime failure over none. */
static int worse(int a, int b)
{
    return a > b ? a : b;
}

/* Set-up failed before any input was opened: close what there is, free the caller's, rc. */
static int abandon(struct pipeline *p, struct rule_set *set, char **inputs, int rc)
{
    sink_webhooks_close(p->webhooks, NULL, NULL); /* NULL: none yet */
    p->webhooks = NULL;
    uv_close((uv_handle_t *)&p->drain, NULL);
    uv_run(&p->loop, UV_RUN_DEFAULT);
    uv_loop_close(&p->loop);
    rules_set_free(set);
    free(inputs);
    return rc;
}

int cmd_run(int argc, char **argv, int replay)
{
    static const struct option longopts[] = {
        {"rules", required_argument, NULL, 'r'},   {"app", required_argument, NULL, 'a'},
        {"input", required_argument, NULL, 'i'},   {"output", required_argument, NULL, 'o'},
        {"records", no_argument, NULL, 'R'},       {"max-line", required_argument, NULL, 'm'},
        {"quiet", no_argument, NULL, 'q'},         {"help", no_argument, NULL, 'h'},
        {"webhook", required_argument, NULL, 'w'}, {"webhook-format", required_argument, NULL, 'f'},
        {"webhook-secret-file", required_argument, NULL, 's'},
        {"state-dir", required_argument, NULL, 'd'},
        {"drain-timeout", required_argument, NULL, 'D'},
        {"metrics-listen", required_argument, NULL, 'L'},
        {"metrics-interval", required_argument, NULL, 'I'},
        {"from-start", no_argument, NULL, 'S'},
        {"exec", required_argument, NULL, 'E'},
        {"report", required_argument, NULL, 'P'},
        {"report-out", required_argument, NULL, 'O'},
        {NULL, 0, NULL, 0},
    };
    char rules_buf[CLI_PATH_MAX]; /* p.rules_path may point here: SIGHUP reloads from it */
    const char *cmd = replay ? "replay" : "run";
    struct {
        const char *url;
        enum webhook_format fmt;
    } hooks[32];
    size_t nhooks = 0;
    int fmt_given = 0;
    enum webhook_format default_fmt = WEBHOOK_GENERIC;
    const char *secret_file = NULL, *state_dir = NULL, *metrics_listen = NULL;
    size_t drain_s = 10, interval_s = 0;
    int from_start = 0;
    char **exec_argv = NULL;
    const char *exec_cmd = NULL; /* --exec, checked */
    const char *report_out = NULL;
    int report_fmt = -1;
    struct ingest_opts iopts = {0};
    struct pipeline p;
    struct rule_set *set;
    const char *app = NULL, *rules_opt = NULL;
    char **inputs = NULL;
    size_t ninputs = 0;
    enum sink_format fmt = isatty(1) ? SINK_FORMAT_TEXT : SINK_FORMAT_JSON;
    int c, quiet = 0, rc = EXIT_OK;

    memset(&p, 0, sizeof(p));
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            rules_opt = optarg;
            break;
        case 'a':
            if (optarg[0] == '\0') {
                fprintf(stderr, "rollwatch %s: --app needs a name (the Convox app)\n", cmd);
                free(inputs);
                return EXIT_USAGE;
            }
            app = optarg;
            break;
        case 'i':
            if (strchr(optarg, '=') == NULL || optarg[0] == '=' || strchr(optarg, '=')[1] == 0) {
                fprintf(stderr, "rollwatch %s: --input takes APP=PATH, got '%s'\n", cmd, optarg);
                free(inputs);
                return EXIT_USAGE;
            }
            inputs = realloc(inputs, (ninputs + 1) * sizeof(*inputs));
            if (inputs == NULL) {
                abort();
            }
            inputs[ninputs++] = optarg;
            break;
        case 'o':
            if (sink_format_parse(optarg, &fmt) != 0) {
                fprintf(stderr, "rollwatch %s: --output must be json, text or none, got '%s'\n",
                        cmd, optarg);
                free(inputs);
                return EXIT_USAGE;
            }
            break;
        case 'R':
            p.records = 1;
            break;
        case 'm':
            if (cli_parse_size(optarg, INGEST_MIN_MAX_LINE, INGEST_MAX_MAX_LINE,
                               &iopts.max_line) != 0) {
                fprintf(stderr, "rollwatch %s: --max-line: '%s' is not a size from %d to %d\n", cmd,
                        optarg, INGEST_MIN_MAX_LINE, INGEST_MAX_MAX_LINE);
                free(inputs);
                return EXIT_USAGE;
            }
            break;
        case 'q':
            quiet = 1;
            break;
        case 'w':
            if (nhooks == sizeof(hooks) / sizeof(hooks[0])) {
                fprintf(stderr, "rollwatch %s: at most 32 --webhook\n", cmd);
                free(inputs);
                return EXIT_USAGE;
            }
            hooks[nhooks].url = optarg;
            hooks[nhooks].fmt = default_fmt;
            nhooks++;
            break;
        case 'f': {
            enum webhook_format f;

            if (webhook_format_parse(optarg, &f) != 0) {
                fprintf(stderr, "rollwatch %s: --webhook-format must be generic, slack or "
                                "alertmanager, got '%s'\n", cmd, optarg);
                free(inputs);
                return EXIT_USAGE;
            }
            fmt_given = 1;
            if (nhooks > 0) {
                hooks[nhooks - 1].fmt = f;
            } else {
                default_fmt = f;
            }
            break;
        }
        case 's':
            secret_file = optarg;
            break;
        case 'd':
            state_dir = optarg;
            break;
        case 'L':
            metrics_listen = optarg;
            break;
        case 'S':
            from_start = 1;
            break;
        case 'P': {
            enum report_format rf;

            if (report_format_parse(optarg, &rf) != 0) {
                fprintf(stderr, "rollwatch %s: --report must be text, json or html\n", cmd);
                free(inputs);
                return EXIT_USAGE;
            }
            report_fmt = (int)rf;
            break;
        }
        case 'O':
            report_out = optarg;
            break;
        case 'E': {
            const char *why = NULL;

            /* checked now, split again where it is used: the usage errors between here and
             * there would each have to free it */
            exec_cmd = optarg;
            if (replay) {
                fprintf(stderr, "rollwatch replay: --exec is for run (live input)\n");
                free(inputs);
                return EXIT_USAGE;
            }
            if (cli_split_args(optarg, &exec_argv, &why) != 0) {
                fprintf(stderr, "rollwatch run: --exec: %s in '%s'\n", why, optarg);
                free(inputs);
                return EXIT_USAGE;
            }
            cli_free_args(exec_argv);
            exec_argv = NULL;
            break;
        }
        case 'I':
            if (cli_parse_size(optarg, 1, 86400, &interval_s) != 0) {
                fprintf(stderr,
                        "rollwatch %s: --metrics-interval takes seconds (1 to 86400), got '%s'\n",
                        cmd, optarg);
                free(inputs);
                return EXIT_USAGE;
            }
            break;
        case 'D':
            if (cli_parse_size(optarg, 0, 86400, &drain_s) != 0) {
                fprintf(stderr,
                        "rollwatch %s: --drain-timeout takes seconds (0 to 86400), got '%s'\n", cmd,
                        optarg);
                free(inputs);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(run_help, stdout);
            free(inputs);
            return EXIT_OK;
        default:
            fprintf(stderr, "Run 'rollwatch %s --help' for usage.\n", cmd);
            free(inputs);
            return EXIT_USAGE;
        }
    }
    if (replay && optind >= argc && ninputs == 0) {
        fprintf(stderr, "rollwatch replay: name the log files to replay (see --help)\n");
        free(inputs);
        return EXIT_USAGE;
    }
    if (!replay && (report_fmt >= 0 || report_out != NULL)) {
        fprintf(stderr, "rollwatch run: --report is for replay (a post-mortem of stored logs)\n");
        free(inputs);
        return EXIT_USAGE;
    }
    if (report_fmt >= 0 && report_fmt != REPORT_JSON && report_out == NULL &&
        fmt == SINK_FORMAT_JSON) {
        /* after the NDJSON on stdout, a text or HTML report would break every consumer of it */
        fprintf(stderr, "rollwatch replay: a %s report on standard output would follow the NDJSON "
                        "output there: name a file with --report-out, or add --output none\n",
                report_fmt == REPORT_HTML ? "HTML" : "text");
        free(inputs);
        return EXIT_USAGE;
    }
    if (report_out != NULL) {
        /* found out now, not after the whole replay */
        FILE *probe = fopen(report_out, "a");

        if (probe == NULL) {
            fprintf(stderr, "rollwatch replay: cannot write the report: %s path=%s\n",
                    strerror(errno), report_out);
            free(inputs);
            return EXIT_RUNTIME;
        }
        fclose(probe);
    }
    for (size_t i = 0; !replay && i < ninputs + (size_t)(argc - optind); i++) {
        const char *eq;
        const char *dir = input_at(inputs, ninputs, argv + optind, i, &eq);
        int n = (int)strlen(dir);

        /* a file that is not there yet is waited for (tail -F); a directory never becomes one */
        if (cli_is_dir(dir)) {
            while (n > 1 && dir[n - 1] == '/') {
                n--;
            }
            fprintf(stderr,
                    "rollwatch %s: %s is a directory: name the files to follow (a quoted glob "
                    "such as '%.*s/*.log' also follows files that appear later)\n",
                    cmd, dir, n, dir);
            free(inputs);
            return EXIT_USAGE;
        }
    }
    p.rules_path = cli_rules_path(rules_opt, rules_buf, sizeof(rules_buf));
    if (p.rules_path == NULL) {
        cli_no_rules(cmd);
        free(inputs);
        return EXIT_USAGE;
    }
    set = rules_load(p.rules_path, cli_print_rule_error, NULL);
    if (set == NULL) {
        fprintf(stderr, "rollwatch %s: the rules in %s have errors (see above)\n", cmd,
                p.rules_path);
        free(inputs);
        return EXIT_USAGE;
    }
    if (secret_file != NULL && nhooks == 0) {
        log_at(LOG_WARN, "core", "--webhook-secret-file only matters with --webhook");
    }
    if (fmt_given && nhooks == 0) {
        log_at(LOG_WARN, "core", "--webhook-format only matters with --webhook");
    }
    uv_loop_init(&p.loop);
    p.drain_ms = (uint64_t)drain_s * 1000;
    uv_timer_init(&p.loop, &p.drain);
    p.drain.data = &p;
    if (nhooks > 0) {
        struct sink_webhook_opts wo = {0};
        char *secret = NULL;
        size_t secret_len = 0;
        struct err e;

        if (secret_file != NULL &&
            (rc = read_secret(cmd, secret_file, &secret, &secret_len)) != EXIT_OK) {
            return abandon(&p, set, inputs, rc);
        }
        wo.state_dir = state_dir;
        wo.secret = secret;
        wo.secret_len = secret_len;
        /* loads libcurl and OpenSSL (only when there are webhooks); still before any thread:
         * libuv starts its pool at the first file read */
        p.webhooks = sink_webhooks_new(&p.loop, &wo, &e);
        if (secret != NULL) {
            memset(secret, 0, secret_len);
            free(secret);
        }
        if (p.webhooks == NULL) {
            fprintf(stderr, "rollwatch %s: %s\n", cmd, e.msg);
            return abandon(&p, set, inputs, EXIT_RUNTIME);
        }
        for (size_t i = 0; i < nhooks; i++) {
            if (sink_webhooks_add(p.webhooks, hooks[i].url, hooks[i].fmt, &e) != 0) {
                fprintf(stderr, "rollwatch %s: %s\n", cmd, e.msg);
                rc = worse(rc, e.usage ? EXIT_USAGE : EXIT_RUNTIME);
            }
        }
        if (rc != EXIT_OK) {
            return abandon(&p, set, inputs, rc);
        }
    }
    if (report_out != NULL && report_fmt < 0) {
        report_fmt = REPORT_TEXT;
    }
    if (report_fmt >= 0) {
        p.report = sink_report_new((enum report_format)report_fmt);
    }
    parse_init(&p.parser);
    p.ps = replay ? &p.replay_ps : parse_stats(&p.parser);
    uv_timer_init(&p.loop, &p.snapshot);
    p.snapshot.data = &p;
    if (metrics_listen != NULL || interval_s > 0) {
        struct err e;

        wire_metrics_init(&p.metrics, ROLLWATCH_VERSION, p.ps);
        p.metrics.webhooks = p.webhooks;
        if (metrics_listen != NULL &&
            (p.metrics_srv = sink_metrics_server_start(&p.loop, metrics_listen, p.metrics.m, &e)) ==
                NULL) {
            fprintf(stderr, "rollwatch %s: %s\n", cmd, e.msg);
            rc = worse(rc, e.usage ? EXIT_USAGE : EXIT_RUNTIME);
        }
        p.snapshot_ms = (uint64_t)interval_s * 1000;
        if (p.snapshot_ms > 0) {
            uv_timer_start(&p.snapshot, on_snapshot, p.snapshot_ms, p.snapshot_ms);
        }
    }
    p.out = sink_stdout_new(stdout, fmt, fmt == SINK_FORMAT_TEXT && isatty(1));
    p.engine = rules_engine_new(set, NULL, on_alert, &p);
    rules_engine_on_rollout(p.engine, on_rollout, &p);
    {
        /* replay reads everything to its end; run follows files and reads stdin */
        int nstdin = 0, nfollow = 0;

        p.in = ingest_new(&p.loop, &iopts, on_line, &p);
        if (replay) {
            p.pipe = replay_pipe_new(&p.loop, iopts.max_line, &p.replay_ps,
                                     rules_engine_set(p.engine), on_record_pre, on_ingest_done,
                                     &p);
        } else {
            struct ingest_follow_opts fo = {0};

            fo.max_line = iopts.max_line;
            fo.state_dir = state_dir;
            fo.from_start = from_start;
            p.follow = ingest_follow_new(&p.loop, &fo, on_line, &p);
        }
        for (size_t i = 0; i < ninputs + (size_t)(argc - optind); i++) {
            const char *eq;
            const char *path = input_at(inputs, ninputs, argv + optind, i, &eq), *label = app;
            char *app_copy = NULL;

            if (eq != NULL) {
                app_copy = xstrndup(inputs[i], (size_t)(eq - inputs[i]));
                label = app_copy;
            }
            if (replay) {
                replay_pipe_add(p.pipe, path, label); /* errors counted for the exit code */
            } else if (strcmp(path, "-") == 0) {
                ingest_add(p.in, path, label);
                nstdin++;
            } else {
                ingest_follow_add(p.follow, path, label);
                nfollow++;
            }
            free(app_copy);
        }
        if (exec_cmd != NULL) {
            const char *why = NULL; /* none: exec_cmd was checked */

            if (cli_split_args(exec_cmd, &exec_argv, &why) == 0) {
                p.exec = ingest_exec_new(&p.loop, exec_argv, app, iopts.max_line, on_line, &p);
            }
            cli_free_args(exec_argv);
            exec_argv = NULL;
        }
        if (nstdin == 0 && nfollow == 0 && p.exec == NULL && p.pipe == NULL) {
            if (isatty(0)) {
                fprintf(stderr, "rollwatch: reading logs from the terminal (Ctrl-D ends; --help)\n");
            }
            ingest_add(p.in, "-", app);
            nstdin++;
        }
        if (nfollow == 0 && p.follow != NULL) {
            ingest_follow_close(p.follow);
            p.follow = NULL;
        } else if (p.follow != NULL && ingest_follow_start(p.follow) != 0) {
            rc = worse(rc, EXIT_RUNTIME);
        }
        if (nstdin == 0) {
            ingest_close(p.in, on_ingest_closed, &p);
            p.in = NULL;
        }
    }
    uv_timer_init(&p.loop, &p.heartbeat);
    p.heartbeat.data = &p;
    if (!replay) {
        uv_timer_start(&p.heartbeat, on_heartbeat, HEARTBEAT_MS, HEARTBEAT_MS);
    }
    uv_check_init(&p.loop, &p.flush);
    p.flush.data = &p;
    if (p.pipe == NULL) {
        uv_check_start(&p.flush, on_flush);
    }
    uv_signal_init(&p.loop, &p.sighup);
    uv_signal_init(&p.loop, &p.sigint);
    uv_signal_init(&p.loop, &p.sigterm);
    p.sighup.data = p.sigint.data = p.sigterm.data = &p;
    uv_signal_start(&p.sighup, on_sighup, SIGHUP);
    uv_signal_start(&p.sigint, on_stop_signal, SIGINT);
    uv_signal_start(&p.sigterm, on_stop_signal, SIGTERM);
    uv_timer_init(&p.loop, &p.progress);
    p.progress.data = &p;
    p.started = rc == EXIT_OK; /* a failed start has nothing to sum up */
    if (p.started) {
        if (p.in != NULL) {
            ingest_start(p.in, on_ingest_done);
        }
        if (p.pipe != NULL) {
            replay_pipe_start(p.pipe, isatty(2) && !quiet);
            if (isatty(2) && !quiet) {
                p.progress_start_ms = uv_now(&p.loop);
                uv_timer_start(&p.progress, on_progress, 0, 250); /* a first frame at once */
            }
        }
        if (p.exec != NULL) {
            ingest_exec_start(p.exec);
        }
    } else {
        close_all(&p); /* set-up failed (the metrics port): read nothing, just clean up */
    }
    uv_run(&p.loop, UV_RUN_DEFAULT);
    uv_walk(&p.loop, on_walk_close, NULL);
    uv_run(&p.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&p.loop) != 0) {
        log_at(LOG_ERROR, "core", "event loop still had open handles at exit");
        rc = worse(rc, EXIT_RUNTIME);
    }
    if (sink_stdout_flush(p.out) != 0 || p.write_failed) {
        log_at(LOG_ERROR, "core", "writing to stdout failed");
        rc = worse(rc, EXIT_RUNTIME);
    }
    if (p.source_errors > 0) {
        rc = worse(rc, EXIT_RUNTIME);
    }
    if (p.report != NULL && p.started) {
        FILE *out;

        rules_rollouts_snapshot(p.engine); /* what is still under way, as the log leaves it */
        out = report_out ? fopen(report_out, "w") : stdout;
        if (out == NULL || sink_report_write(p.report, out) != 0) {
            log_at(LOG_ERROR, "core", "cannot write the report: %s path=%s", strerror(errno),
                   report_out ? report_out : "-");
            rc = worse(rc, EXIT_RUNTIME);
        }
        if (out != NULL && out != stdout) {
            fclose(out);
        }
    }
    sink_report_free(p.report);
    if (p.undelivered > 0) {
        log_at(LOG_ERROR, "core", "deliveries left undelivered count=%zu%s%s", p.undelivered,
               state_dir ? " (kept in the spool, sent on the next start) state_dir=" : " (lost: no --state-dir)",
               state_dir ? state_dir : "");
        rc = worse(rc, EXIT_RUNTIME);
    }
    if (p.dead > 0) {
        log_at(LOG_ERROR, "core", "deliveries rejected or dropped count=%llu%s",
               (unsigned long long)p.dead,
               state_dir ? " (see deadletter.ndjson in the state dir)" : "");
        rc = worse(rc, EXIT_RUNTIME);
    }
    if (!quiet && p.started) {
        summary(&p);
    }
    sink_stdout_free(p.out);
    rules_engine_free(p.engine);
    if (p.metrics.m) {
        wire_metrics_free(&p.metrics);
    }
    free(inputs);
    return rc;
}
