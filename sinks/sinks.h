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

#endif
