/* sinks internals: a growable output buffer with a fast JSON string writer. */
#ifndef ROLLWATCH_SINK_INT_H
#define ROLLWATCH_SINK_INT_H

#include <stddef.h>

struct sink__buf {
    char *p; /* owned */
    size_t len, cap;
};

void sink__buf_init(struct sink__buf *b, size_t cap);
void sink__buf_free(struct sink__buf *b);
void sink__buf_add(struct sink__buf *b, const char *s, size_t n);

/*
 * Appends s[0..n) as a quoted JSON string: '"' and '\\' escaped, control bytes as \n, \t, … or
 * \u00XX, invalid UTF-8 replaced by U+FFFD when repair is set (else copied as is: the caller
 * knows the text is valid).
 */
void sink__json_str(struct sink__buf *b, const char *s, size_t n, int repair);

struct alert;
struct rollout_event;

/* A DESIGN §6 {"type":"alert",...} object plus a newline. */
void sink__alert_json(struct sink__buf *b, const struct alert *a);
/* A DESIGN §6 {"type":"rollout",...} object plus a newline. */
void sink__rollout_json(struct sink__buf *b, const struct rollout_event *ev);
/* A JSON string, or null when s is NULL. */
void sink__json_cstr_or_null(struct sink__buf *b, const char *s);

#endif
