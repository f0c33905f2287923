/* Fuzz target: arbitrary bytes through the line splitter's contract into parse_line and JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "sinks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    struct parser p;
    struct record rec;
    struct sink_stdout *out;
    const char *s = (const char *)data;
    size_t start = 0;

    if (devnull == NULL) {
        devnull = fopen("/dev/null", "w");
    }
    parse_init(&p);
    out = sink_stdout_new(devnull, SINK_FORMAT_JSON, 0);
    /* each newline-separated piece is a line, as ingest would hand it over */
    for (size_t i = 0; i <= size; i++) {
        if (i == size || s[i] == '\n') {
            parse_line(&p, NULL, s + start, i - start, i == size ? REC_NO_NEWLINE : 0, &rec);
            if (rec.ts_src != TS_NONE) {
                char buf[48];
                int64_t back;
                size_t n = parse_format_ts(rec.ts_ns, buf, sizeof(buf));

                /* formatting then parsing an event time must give it back exactly */
                if (parse_rfc3339(buf, n, &back) != 0 || back != rec.ts_ns) {
                    __builtin_trap();
                }
            }
            sink_stdout_record(out, &rec);
            start = i + 1;
        }
    }
    sink_stdout_free(out);
    return 0;
}
