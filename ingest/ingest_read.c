/* Reading sources one after another through libuv: files with uv_fs_read, stdin as pipe/tty/file. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "ingest_int.h"
#include "log.h"
#include "xmalloc.h"

struct input {
    char *path; /* owned; "-" is stdin */
    char *app;  /* owned, may be NULL */
};

enum ingest_state { INGEST_IDLE, INGEST_READING, INGEST_DONE, INGEST_CLOSING };

struct ingest {
    uv_loop_t *loop;
    enum ingest_state state;
    ingest_line_cb on_line;
    ingest_done_cb on_done;
    void *arg;

    struct input *inputs; /* owned array */
    size_t ninputs, cur;

    struct source src; /* the source being read; name/app borrow from inputs[cur] */
    struct ingest__linebuf buf;
    struct ingest_stats stats;

    uv_file fd;       /* open file, or -1 */
    int fd_owned;     /* 0 for stdin */
    int64_t offset;   /* next file offset to read */
    uv_fs_t req;      /* one read or open in flight at a time */
    int req_busy;
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tty_t tty;
    } h;
    int h_open;
    uv_idle_t kick; /* defers on_done and the next source to a later loop turn */
    int pending;    /* handles whose close callbacks are still due */
    void (*closed)(void *);
    void *closed_arg;
};

static void next_source(struct ingest *in);

static void emit(void *arg, const char *line, size_t len, unsigned flags)
{
    struct ingest *in = arg;

    in->src.lineno++;
    in->stats.lines++;
    in->stats.truncated += (flags & REC_TRUNCATED) != 0;
    in->on_line(in->arg, &in->src, line, len, flags);
}

struct ingest *ingest_new(uv_loop_t *loop, const struct ingest_opts *opts, ingest_line_cb on_line,
                          void *arg)
{
    struct ingest *in = xcalloc(1, sizeof(*in));
    size_t max_line = opts && opts->max_line ? opts->max_line : INGEST_DEFAULT_MAX_LINE;

    in->loop = loop;
    in->on_line = on_line;
    in->arg = arg;
    in->fd = -1;
    ingest__linebuf_init(&in->buf, max_line, INGEST_READ_CHUNK);
    uv_idle_init(loop, &in->kick);
    in->kick.data = in;
    return in;
}

int ingest_add(struct ingest *in, const char *path, const char *app)
{
    in->inputs = xrealloc(in->inputs, (in->ninputs + 1) * sizeof(*in->inputs));
    in->inputs[in->ninputs].path = xstrdup(path);
    in->inputs[in->ninputs].app = app ? xstrdup(app) : NULL;
    in->ninputs++;
    return 0;
}

const struct ingest_stats *ingest_stats(const struct ingest *in)
{
    return &in->stats;
}

/* ---- end of one source ------------------------------------------------------------------ */

static void on_kick(uv_idle_t *idle)
{
    struct ingest *in = idle->data;

    uv_idle_stop(idle);
    next_source(in);
}

/* One fewer libuv resource outstanding during close; the last one frees the ingest. */
static void release(struct ingest *in)
{
    void (*closed)(void *) = in->closed;
    void *closed_arg = in->closed_arg;

    if (--in->pending > 0) {
        return;
    }
    if (in->fd >= 0 && in->fd_owned) {
        uv_fs_t close_req;

        uv_fs_close(NULL, &close_req, in->fd, NULL);
        uv_fs_req_cleanup(&close_req);
    }
    for (size_t i = 0; i < in->ninputs; i++) {
        free(in->inputs[i].path);
        free(in->inputs[i].app);
    }
    free(in->inputs);
    ingest__linebuf_free(&in->buf);
    free(in);
    if (closed) {
        closed(closed_arg);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    struct ingest *in = h->data;

    if (h != (uv_handle_t *)&in->kick) {
        in->h_open = 0;
    }
    if (in->state == INGEST_CLOSING) {
        release(in);
        return;
    }
    uv_idle_start(&in->kick, on_kick);
}

/* The current source is over: flush its partial line, release it, move on next loop turn. */
static void source_end(struct ingest *in)
{
    ingest__linebuf_finish(&in->buf, emit, in);
    if (in->fd >= 0 && in->fd_owned) {
        uv_fs_t close_req;

        uv_fs_close(NULL, &close_req, in->fd, NULL);
        uv_fs_req_cleanup(&close_req);
    }
    in->fd = -1;
    in->cur++;
    if (in->h_open) {
        uv_close(&in->h.handle, on_handle_closed);
    } else {
        uv_idle_start(&in->kick, on_kick);
    }
}

/* ---- files (and stdin redirected from a file) ---------------------------------------------- */

static void read_file_chunk(struct ingest *in);

static void on_fs_read(uv_fs_t *req)
{
    struct ingest *in = req->data;
    ssize_t n = req->result;

    uv_fs_req_cleanup(req);
    in->req_busy = 0;
    if (in->state == INGEST_CLOSING) {
        release(in);
        return;
    }
    if (n < 0) {
        log_at(LOG_ERROR, "ingest", "read failed: %s path=%s", uv_strerror((int)n), in->src.name);
        in->stats.source_errors++;
        source_end(in);
        return;
    }
    if (n == 0) {
        source_end(in);
        return;
    }
    in->offset += n;
    in->stats.bytes += (uint64_t)n;
    ingest__linebuf_commit(&in->buf, (size_t)n, emit, in);
    read_file_chunk(in);
}

static void read_file_chunk(struct ingest *in)
{
    size_t avail;
    char *space = ingest__linebuf_space(&in->buf, &avail);
    uv_buf_t b = uv_buf_init(space, (unsigned)avail);
    int rc;

    in->req.data = in;
    /* stdin may be a character device or unseekable file: read at the current position */
    rc = uv_fs_read(in->loop, &in->req, in->fd, &b, 1, in->fd_owned ? in->offset : -1, on_fs_read);
    if (rc < 0) {
        log_at(LOG_ERROR, "ingest", "read failed: %s path=%s", uv_strerror(rc), in->src.name);
        in->stats.source_errors++;
        source_end(in);
        return;
    }
    in->req_busy = 1;
}

/* ---- pipes and terminals ------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    struct ingest *in = h->data;
    size_t avail;
    char *space = ingest__linebuf_space(&in->buf, &avail);

    (void)suggested;
    *out = uv_buf_init(space, (unsigned)avail);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct ingest *in = s->data;

    (void)b;
    if (n > 0) {
        in->stats.bytes += (uint64_t)n;
        ingest__linebuf_commit(&in->buf, (size_t)n, emit, in);
        return;
    }
    if (n == 0) {
        return; /* EAGAIN: nothing this time */
    }
    uv_read_stop(s);
    if (n != UV_EOF) {
        log_at(LOG_ERROR, "ingest", "read failed: %s path=%s", uv_strerror((int)n), in->src.name);
        in->stats.source_errors++;
    }
    source_end(in);
}

static int open_stdin(struct ingest *in)
{
    uv_handle_type t = uv_guess_handle(0);
    int rc;

    if (t == UV_NAMED_PIPE) {
        rc = uv_pipe_init(in->loop, &in->h.pipe, 0);
        if (rc == 0 && (rc = uv_pipe_open(&in->h.pipe, 0)) != 0) {
            uv_close(&in->h.handle, NULL);
            return rc;
        }
    } else if (t == UV_TTY) {
        rc = uv_tty_init(in->loop, &in->h.tty, 0, 1);
    } else {
        in->fd = 0;
        in->fd_owned = 0;
        read_file_chunk(in);
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    in->h_open = 1;
    in->h.handle.data = in;
    return uv_read_start(&in->h.stream, on_alloc, on_read);
}

/* ---- the sequence of sources ------------------------------------------------------------- */

static void next_source(struct ingest *in)
{
    while (in->cur < in->ninputs) {
        struct input *inp = &in->inputs[in->cur];
        uv_fs_t open_req;
        int rc;

        in->src.name = inp->path;
        in->src.app = inp->app;
        in->src.lineno = 0;
        in->offset = 0;
        if (strcmp(inp->path, "-") == 0) {
            rc = open_stdin(in);
            if (rc == 0) {
                return;
            }
        } else {
            /* opening is quick and rare: done synchronously, the reads go to the thread pool */
            rc = uv_fs_open(NULL, &open_req, inp->path, O_RDONLY | O_CLOEXEC, 0, NULL);
            uv_fs_req_cleanup(&open_req);
            if (rc >= 0) {
                in->fd = rc;
                in->fd_owned = 1;
                read_file_chunk(in);
                return;
            }
        }
        /* strerror's words, as replay says them (libuv's errors are -errno here) */
        log_at(LOG_ERROR, "ingest", "cannot read input: %s path=%s",
               rc < 0 && rc > -4000 ? strerror(-rc) : uv_strerror(rc), inp->path);
        in->stats.source_errors++;
        in->cur++;
    }
    in->state = INGEST_DONE;
    if (in->on_done) {
        in->on_done(in->arg);
    }
}

int ingest_start(struct ingest *in, ingest_done_cb done)
{
    if (in->state != INGEST_IDLE) {
        return UV_EALREADY;
    }
    in->on_done = done;
    in->state = INGEST_READING;
    /* start on the next loop turn so done is never called from inside ingest_start */
    return uv_idle_start(&in->kick, on_kick);
}

void ingest_close(struct ingest *in, void (*closed)(void *arg), void *arg)
{
    if (in == NULL || in->state == INGEST_CLOSING) {
        return;
    }
    in->state = INGEST_CLOSING;
    in->closed = closed;
    in->closed_arg = arg;
    in->pending = 1; /* the idle handle */
    if (in->h_open) {
        uv_read_stop(&in->h.stream);
        in->pending++;
        uv_close(&in->h.handle, on_handle_closed);
    }
    if (in->req_busy) {
        in->pending++;
        uv_cancel((uv_req_t *)&in->req);
    }
    uv_close((uv_handle_t *)&in->kick, on_handle_closed);
}
