/* parse: one log line -> struct record, zero-copy, total (never fails, never crashes). */
#ifndef ROLLWATCH_PARSE_H
#define ROLLWATCH_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

/* Counters a parser keeps; read them with parse_stats(). */
struct parse_stats {
    uint64_t lines;
    uint64_t by_kind[RECORD_KIND_COUNT];
    uint64_t truncated;
    uint64_t crlf;
    uint64_t nul;
    uint64_t bad_utf8;
    uint64_t no_timestamp; /* lines that had to inherit (or had no) event time */
};

/*
 * Parser state: the event time of the last timestamped line (inherited by lines that
 * have none) and counters. Plain memory; initialise with parse_init, no free needed.
 */
/* The shape of a recent object name (parse_name.c): offsets into it, all below 64. */
#define PARSE_NAME_MAX 48
#define PARSE_NAME_MEMO_BITS 6
struct parse_name_memo {
    unsigned char len; /* 0: empty */
    unsigned char kind, pod, rs, svc, rs_len, svc_off, svc_len;
    char name[PARSE_NAME_MAX];
};

struct parser {
    int64_t last_ts_ns;
    int have_ts;
    /* the last Convox timestamp text and its value: consecutive lines mostly share it */
    char ts_text[40];
    size_t ts_len;
    int64_t ts_ns;
    struct parse_stats stats;
    struct parse_name_memo names[1 << PARSE_NAME_MEMO_BITS];
};

void parse_init(struct parser *p);

/*
 * Parses line[0..len) (no trailing newline; a trailing CR is removed here) into *out.
 * line_flags are REC_TRUNCATED / REC_NO_NEWLINE bits from ingest. src may be NULL; a source's
 * line 1 starts afresh (no time is inherited across sources).
 * Every slice in *out borrows from line (or from src->app). Never fails: a line that
 * matches no known shape gives kind RECORD_UNKNOWN.
 */
void parse_line(struct parser *p, const struct source *src, const char *line, size_t len,
                unsigned line_flags, struct record *out);

/*
 * Parses an RFC 3339 timestamp occupying exactly s[0..len): date 'T' time, 0-9 fractional
 * digits, 'Z' or an offset +HH:MM / +HHMM. Returns 0 and the UTC epoch in ns, or -1.
 */
int parse_rfc3339(const char *s, size_t len, int64_t *ns_out);

/*
 * Formats ns as UTC RFC 3339 into buf (at least 40 bytes): seconds, then .mmm, .uuuuuu or
 * .nnnnnnnnn only when the fraction needs it, then 'Z'. Returns the length.
 */
size_t parse_format_ts(int64_t ns, char *buf, size_t cap);

/*
 * Derives object kind, service, replica set and pod from a Kubernetes object name
 * (the part of a system/k8s/ stream after the prefix). msg, may be empty, settles
 * names like build-xk2p9 that could be a pod or a deployment.
 */
void parse_object_name(struct slice name, struct slice msg, struct record *out);

const struct parse_stats *parse_stats(const struct parser *p);

/*
 * The event time a line carries (Convox prefix, kubectl prefix, after a CI clock), without
 * parsing the rest. Returns 0 and *ns, or -1 when it carries none.
 */
int parse_line_time(const char *line, size_t len, int64_t *ns);

#endif
