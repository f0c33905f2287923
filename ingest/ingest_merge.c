/*
 * replay: stored logs (plain or gzip) merged in event-time order. Each file keeps one current
 * line; the earliest goes next (ties: the file named first). A line without a timestamp keeps
 * its file's last time, so lines of one file never change order. Files are read in batches on
 * an idle handle, so signals, timers and webhook deliveries keep running during a long replay.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "ingest.h"
#include "ingest_int.h"
#include "log.h"
#include "xmalloc.h"

#define BATCH_LINES 20000 /* lines per loop turn */

struct msrc {
    char *path, *app; /* owned */
    gzFile gz;
    struct source src;
    char *buf; /* owned: [start, end) unread */
    size_t cap, start, end;
    int eof, skipping;
    /* the current line, borrowed from buf until the next pull */
    int have;
    const char *line;
    size_t len;
    unsigned flags;
    int64_t key; /* event time deciding the order */
};

struct ingest_merge {
    uv_loop_t *loop;
    uv_idle_t work;
    ingest_line_cb on_line;
    void *arg;
    ingest_done_cb on_done;
    void (*before_refill)(void *arg);
    ingest_time_fn time_of;
    struct msrc *srcs; /* owned */
    size_t n;
    size_t max_line;
    int started, finished, closing;
    struct ingest_merge_stats stats;
};

/* Reads more of s into its buffer. Returns 0, or -1 at the end (or on an error). */
static int fill(struct ingest_merge *m, struct msrc *s)
{
    int n;

    if (s->eof) {
        return -1;
    }
    if (m->before_refill != NULL) {
        m->before_refill(m->arg); /* the lines before start are about to be overwritten */
    }
    if (s->start > 0) {
        memmove(s->buf, s->buf + s->start, s->end - s->start);
        s->end -= s->start;
        s->start = 0;
    }
    n = gzread(s->gz, s->buf + s->end, (unsigned)(s->cap - s->end));
    if (n < 0) {
        int zerr;

        log_at(LOG_ERROR, "ingest", "read failed: %s path=%s", gzerror(s->gz, &zerr), s->path);
        m->stats.source_errors++;
        s->eof = 1;
        return -1;
    }
    if (n == 0) {
        int zerr;

        /* zlib ends a cut-off gzip stream like a whole one, and says so only here */
        gzerror(s->gz, &zerr);
        if (zerr != Z_OK) {
            log_at(LOG_ERROR, "ingest", "read failed: %s path=%s",
                   zerr == Z_BUF_ERROR ? "unexpected end of file (a truncated .gz?)"
                                       : gzerror(s->gz, &zerr),
                   s->path);
            m->stats.source_errors++;
        }
        s->eof = 1;
        return -1;
    }
    s->end += (size_t)n;
    m->stats.bytes += (uint64_t)n;
    return 0;
}

/* Makes s's next line current (or clears have at the end). */
static void pull(struct ingest_merge *m, struct msrc *s)
{
    s->have = 0;
    for (;;) {
        char *nl = memchr(s->buf + s->start, '\n', s->end - s->start);

        if (s->skipping) {
            /* the rest of an over-long line */
            if (nl != NULL) {
                s->start = (size_t)(nl - s->buf) + 1;
                s->skipping = 0;
                continue;
            }
            s->start = s->end;
            if (fill(m, s) != 0) {
                return;
            }
            continue;
        }
        if (nl != NULL) {
            s->line = s->buf + s->start;
            s->len = (size_t)(nl - s->line);
            s->flags = 0;
            if (s->len > m->max_line) {
                s->len = m->max_line;
                s->flags = REC_TRUNCATED;
            }
            s->start = (size_t)(nl - s->buf) + 1;
            break;
        }
        if (s->end - s->start > m->max_line) {
            s->line = s->buf + s->start;
            s->len = m->max_line;
            s->flags = REC_TRUNCATED;
            s->start = s->end; /* the line stays readable: buf moves only at the next fill */
            s->skipping = 1;
            break;
        }
        if (fill(m, s) != 0) {
            if (s->end > s->start) {
                s->line = s->buf + s->start;
                s->len = s->end - s->start;
                s->flags = REC_NO_NEWLINE;
                s->start = s->end;
                break;
            }
            return;
        }
    }
    s->have = 1;
    m->stats.truncated += (s->flags & REC_TRUNCATED) != 0;
    if (m->n > 1) { /* one source is read in its own order: no time needed */
        int64_t t;

        if (m->time_of(s->line, s->len, &t) == 0) {
            s->key = t;
        }
        /* else: no time of its own, it stays after the line before it */
    }
}

static void finish(struct ingest_merge *m)
{
    m->finished = 1;
    uv_idle_stop(&m->work);
    if (m->on_done) {
        m->on_done(m->arg);
    }
}

static void on_work(uv_idle_t *h)
{
    struct ingest_merge *m = h->data;

    for (int k = 0; k < BATCH_LINES && !m->closing; k++) {
        struct msrc *best = NULL;

        for (size_t i = 0; i < m->n; i++) {
            if (m->srcs[i].have && (best == NULL || m->srcs[i].key < best->key)) {
                best = &m->srcs[i];
            }
        }
        if (best == NULL) {
            finish(m);
            return;
        }
        best->src.lineno++;
        m->stats.lines++;
        m->on_line(m->arg, &best->src, best->line, best->len, best->flags);
        pull(m, best);
    }
}

struct ingest_merge *ingest_merge_new(uv_loop_t *loop, size_t max_line, ingest_time_fn time_of,
                                      ingest_line_cb on_line, void *arg)
{
    struct ingest_merge *m = xcalloc(1, sizeof(*m));

    m->loop = loop;
    m->max_line = max_line ? max_line : INGEST_DEFAULT_MAX_LINE;
    m->time_of = time_of;
    m->on_line = on_line;
    m->arg = arg;
    uv_idle_init(loop, &m->work);
    m->work.data = m;
    return m;
}

int ingest_merge_add(struct ingest_merge *m, const char *path, const char *app)
{
    struct msrc *s;
    struct stat st;
    int is_stdin = strcmp(path, "-") == 0;
    gzFile gz;

    errno = 0;
    if (!is_stdin && (stat(path, &st) != 0 || S_ISDIR(st.st_mode))) {
        log_at(LOG_ERROR, "ingest", "cannot read input: %s path=%s",
               errno ? strerror(errno) : "is a directory", path);
        m->stats.source_errors++;
        return -1;
    }
    gz = is_stdin ? gzdopen(dup(0), "rb") : gzopen(path, "rb");
    if (gz == NULL) {
        log_at(LOG_ERROR, "ingest", "cannot read input: %s path=%s",
               errno ? strerror(errno) : "cannot open", path);
        m->stats.source_errors++;
        return -1;
    }
    if (is_stdin) {
        st.st_size = 0;
    }
    gzbuffer(gz, 64 * 1024);
    m->srcs = xrealloc(m->srcs, (m->n + 1) * sizeof(*m->srcs));
    s = &m->srcs[m->n++];
    memset(s, 0, sizeof(*s));
    s->path = xstrdup(path);
    s->app = app ? xstrdup(app) : NULL;
    s->gz = gz;
    s->cap = m->max_line + INGEST_READ_CHUNK;
    s->buf = xmalloc(s->cap);
    s->key = INT64_MIN;
    m->stats.bytes_total += (uint64_t)st.st_size;
    return 0;
}

void ingest_merge_before_refill(struct ingest_merge *m, void (*cb)(void *arg))
{
    m->before_refill = cb;
}

void ingest_merge_start(struct ingest_merge *m, ingest_done_cb done)
{
    m->on_done = done;
    /* names and labels are fixed now: the array no longer moves */
    for (size_t i = 0; i < m->n; i++) {
        struct msrc *s = &m->srcs[i];

        s->src.name = s->path;
        s->src.app = s->app;
        /* a file's untimed first lines (a deploy transcript's "Promoting R...") belong with its
         * first timestamp, not before every other file: look ahead in the first buffer */
        if (fill(m, s) == 0) {
            size_t at = 0;

            while (at < s->end) {
                char *nl = memchr(s->buf + at, '\n', s->end - at);
                size_t len = nl ? (size_t)(nl - s->buf) - at : s->end - at;
                int64_t t;

                if (m->time_of(s->buf + at, len, &t) == 0) {
                    s->key = t;
                    break;
                }
                if (nl == NULL) {
                    break;
                }
                at = (size_t)(nl - s->buf) + 1;
            }
        }
        pull(m, s);
    }
    m->started = 1;
    uv_idle_start(&m->work, on_work);
}

const struct ingest_merge_stats *ingest_merge_stats(struct ingest_merge *m)
{
    uint64_t done = 0;

    for (size_t i = 0; i < m->n; i++) {
        done += m->srcs[i].eof ? 0 : (uint64_t)gzoffset(m->srcs[i].gz);
    }
    /* compressed bytes consumed, for a progress bar over file sizes */
    m->stats.bytes_done = done;
    for (size_t i = 0; i < m->n; i++) {
        if (m->srcs[i].eof) {
            struct stat st;

            if (strcmp(m->srcs[i].path, "-") != 0 && stat(m->srcs[i].path, &st) == 0) {
                m->stats.bytes_done += (uint64_t)st.st_size;
            }
        }
    }
    return &m->stats;
}

static void on_closed(uv_handle_t *h)
{
    struct ingest_merge *m = h->data;

    for (size_t i = 0; i < m->n; i++) {
        gzclose(m->srcs[i].gz);
        free(m->srcs[i].buf);
        free(m->srcs[i].path);
        free(m->srcs[i].app);
    }
    free(m->srcs);
    free(m);
}

void ingest_merge_close(struct ingest_merge *m)
{
    if (m == NULL || m->closing) {
        return;
    }
    m->closing = 1;
    uv_idle_stop(&m->work);
    uv_close((uv_handle_t *)&m->work, on_closed);
}
