/* ingest internals: the line splitter, shared by the readers and the unit tests. */
#ifndef ROLLWATCH_INGEST_INT_H
#define ROLLWATCH_INGEST_INT_H

#include <stddef.h>
#include <stdint.h>

/* Emits one line: borrowed bytes, REC_* flags. */
typedef void (*ingest__emit_fn)(void *arg, const char *line, size_t len, unsigned flags);

/*
 * A read buffer with a [start, end) window of unconsumed bytes (nginx's buffer idea).
 * Complete lines are emitted straight from the buffer; a partial last line stays until its
 * newline arrives. Memory is fixed: max_line + chunk bytes, whatever the input.
 */
struct ingest__linebuf {
    char *data; /* owned */
    size_t cap;
    size_t start;   /* first byte of the current (partial) line */
    size_t end;     /* end of valid data */
    size_t scan;    /* bytes before this are known not to hold a newline */
    size_t max_line;
    size_t chunk;
    int skipping;   /* dropping the tail of an over-long line until its newline */
    uint64_t truncated;
};

void ingest__linebuf_init(struct ingest__linebuf *b, size_t max_line, size_t chunk);
void ingest__linebuf_free(struct ingest__linebuf *b);

/* Space to read into: at least b->chunk bytes at *avail. Moves a partial line to the front. */
char *ingest__linebuf_space(struct ingest__linebuf *b, size_t *avail);

/* n bytes were written at the space; emits every complete line. */
void ingest__linebuf_commit(struct ingest__linebuf *b, size_t n, ingest__emit_fn emit, void *arg);

/* End of input: emits a final line without newline (REC_NO_NEWLINE), resets the buffer. */
void ingest__linebuf_finish(struct ingest__linebuf *b, ingest__emit_fn emit, void *arg);

#endif
