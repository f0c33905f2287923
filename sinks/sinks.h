/* sinks: where records, alerts and metrics go. This cut: NDJSON records on a stdio stream. */
#ifndef ROLLWATCH_SINKS_H
#define ROLLWATCH_SINKS_H

#include <stdio.h>

#include "record.h"

struct sink_json;

/*
 * An NDJSON writer on out (borrowed; not closed by sink_json_free). Output is buffered and
 * written in large blocks. Never NULL (aborts on OOM).
 */
struct sink_json *sink_json_new(FILE *out);

/*
 * Writes one {"type":"record",...} line for r (DESIGN §2). Invalid UTF-8 is replaced by
 * U+FFFD, control bytes are escaped. Returns 0, or -1 if writing to the stream failed.
 */
int sink_json_record(struct sink_json *s, const struct record *r);

/* Writes out what is buffered. Returns 0, or -1 on a write error. */
int sink_json_flush(struct sink_json *s);

/* Flushes and frees. sink_json_free(NULL) is a no-op. */
void sink_json_free(struct sink_json *s);

#endif
