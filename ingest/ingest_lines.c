/* The line splitter: complete lines straight out of the read buffer, bounded memory. */
#include <stdlib.h>
#include <string.h>

#include "ingest_int.h"
#include "record.h"
#include "xmalloc.h"

void ingest__linebuf_init(struct ingest__linebuf *b, size_t max_line, size_t chunk)
{
    memset(b, 0, sizeof(*b));
    b->max_line = max_line;
    b->chunk = chunk;
    b->cap = max_line + chunk;
    b->data = xmalloc(b->cap);
}

void ingest__linebuf_free(struct ingest__linebuf *b)
{
    free(b->data);
    b->data = NULL;
}

char *ingest__linebuf_space(struct ingest__linebuf *b, size_t *avail)
{
    if (b->cap - b->end < b->chunk) {
        size_t keep = b->end - b->start;

        memmove(b->data, b->data + b->start, keep);
        b->scan -= b->start;
        b->end = keep;
        b->start = 0;
    }
    *avail = b->cap - b->end;
    return b->data + b->end;
}

void ingest__linebuf_commit(struct ingest__linebuf *b, size_t n, ingest__emit_fn emit, void *arg)
{
    b->end += n;
    for (;;) {
        char *nl = memchr(b->data + b->scan, '\n', b->end - b->scan);

        if (nl == NULL) {
            break;
        }
        size_t pos = (size_t)(nl - b->data), len = pos - b->start;

        if (b->skipping) {
            b->skipping = 0;
        } else if (len > b->max_line) {
            b->truncated++;
            emit(arg, b->data + b->start, b->max_line, REC_TRUNCATED);
        } else {
            emit(arg, b->data + b->start, len, 0);
        }
        b->start = b->scan = pos + 1;
    }
    b->scan = b->end;
    if (b->skipping) {
        b->start = b->scan = b->end = 0;
    } else if (b->end - b->start > b->max_line) {
        /* No newline within max_line bytes: emit the head now, drop the rest of the line. */
        b->truncated++;
        emit(arg, b->data + b->start, b->max_line, REC_TRUNCATED);
        b->skipping = 1;
        b->start = b->scan = b->end = 0;
    }
}

void ingest__linebuf_finish(struct ingest__linebuf *b, ingest__emit_fn emit, void *arg)
{
    if (!b->skipping && b->end > b->start) {
        emit(arg, b->data + b->start, b->end - b->start, REC_NO_NEWLINE);
    }
    b->start = b->scan = b->end = 0;
    b->skipping = 0;
}
