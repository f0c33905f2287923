/* rollwatch parse: ingest -> parse -> NDJSON records on stdout, counts on stderr. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cli.h"
#include "ingest.h"
#include "log.h"
#include "parse.h"
#include "sinks.h"

static const char parse_help[] =
    "Usage: rollwatch parse [OPTIONS] [FILE...]\n"
    "\n"
    "Parses Convox / Kubernetes log lines and prints one JSON record per input line\n"
    "(no rules, no alerts). With no FILE, or with '-', reads standard input.\n"
    "\n"
    "Options:\n"
    "  --app NAME         label every record with app NAME\n"
    "  --max-line BYTES   cut longer lines to BYTES (default 65536; k/m suffixes)\n"
    "  -q, --quiet        no summary of counts on stderr\n"
    "  -h, --help         this help\n"
    "\n"
    "Examples:\n"
    "  convox logs -a myapp --since 1h --no-follow | rollwatch parse --app myapp\n"
    "  rollwatch parse examples/deploy-success.log\n"
    "  rollwatch parse logs/*.log | jq -r 'select(.kind==\"atom\") | [.ts,.status_to] | @tsv'\n"
    "\n"
    "Record fields: type, ts, kind (k8s|atom|state|app|cli|unknown), stream, object,\n"
    "object_kind (atom|deployment|replicaset|pod|state|unknown), app, service, replicaset,\n"
    "pod, container, status_from, status_to, release, build, cli, pod_status, message,\n"
    "ts_inherited, truncated. Absent fields are left out.\n"
    "Exit codes: 0 ok (bad lines are counted, never fatal), 1 an input could not be read or\n"
    "stdout failed, 2 usage error.\n";

struct parse_run {
    struct parser parser;
    struct sink_stdout *out;
    int write_failed;
};

static void on_line(void *arg, const struct source *src, const char *line, size_t len,
                    unsigned flags)
{
    struct parse_run *run = arg;
    struct record rec;

    parse_line(&run->parser, src, line, len, flags, &rec);
    if (sink_stdout_record(run->out, &rec) != 0) {
        run->write_failed = 1;
    }
}

static void report(const struct parse_stats *st, const struct ingest_stats *is)
{
    fprintf(stderr,
            "rollwatch: parse: %llu lines (%llu bytes): %llu k8s, %llu atom, %llu state, %llu app, "
            "%llu cli, %llu unknown; %llu truncated, %llu invalid UTF-8, %llu with NUL, "
            "%llu CRLF, %llu without timestamp\n",
            (unsigned long long)st->lines, (unsigned long long)is->bytes,
            (unsigned long long)st->by_kind[RECORD_K8S],
            (unsigned long long)st->by_kind[RECORD_ATOM],
            (unsigned long long)st->by_kind[RECORD_STATE],
            (unsigned long long)st->by_kind[RECORD_APP],
            (unsigned long long)st->by_kind[RECORD_CLI],
            (unsigned long long)st->by_kind[RECORD_UNKNOWN], (unsigned long long)st->truncated,
            (unsigned long long)st->bad_utf8, (unsigned long long)st->nul,
            (unsigned long long)st->crlf, (unsigned long long)st->no_timestamp);
}

int cmd_parse(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"app", required_argument, NULL, 'a'}, {"max-line", required_argument, NULL, 'm'},
        {"quiet", no_argument, NULL, 'q'},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct ingest_opts iopts = {0};
    struct parse_run run;
    const char *app = NULL;
    struct ingest *in;
    uv_loop_t loop;
    int c, quiet = 0, rc = EXIT_OK;

    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            app = optarg;
            break;
        case 'm':
            if (cli_parse_size(optarg, INGEST_MIN_MAX_LINE, INGEST_MAX_MAX_LINE,
                               &iopts.max_line) != 0) {
                fprintf(stderr, "rollwatch parse: --max-line: '%s' is not a size from %d to %d\n",
                        optarg, INGEST_MIN_MAX_LINE, INGEST_MAX_MAX_LINE);
                return EXIT_USAGE;
            }
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            fputs(parse_help, stdout);
            return EXIT_OK;
        default:
            fputs("Run 'rollwatch parse --help' for usage.\n", stderr);
            return EXIT_USAGE;
        }
    }
    parse_init(&run.parser);
    run.out = sink_stdout_new(stdout, SINK_FORMAT_JSON, 0);
    run.write_failed = 0;
    uv_loop_init(&loop);
    in = ingest_new(&loop, &iopts, on_line, &run);
    if (optind >= argc) {
        ingest_add(in, "-", app);
    }
    for (int i = optind; i < argc; i++) {
        ingest_add(in, argv[i], app);
    }
    ingest_start(in, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (ingest_stats(in)->source_errors > 0) {
        rc = EXIT_RUNTIME;
    }
    if (!quiet) {
        report(parse_stats(&run.parser), ingest_stats(in));
    }
    ingest_close(in, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0) {
        log_at(LOG_ERROR, "core", "event loop still had open handles at exit");
        rc = EXIT_RUNTIME;
    }
    if (sink_stdout_flush(run.out) != 0 || run.write_failed) {
        log_at(LOG_ERROR, "core", "writing to stdout failed");
        rc = EXIT_RUNTIME;
    }
    sink_stdout_free(run.out);
    return rc;
}
