/*
 * --exec: a child (e.g. `convox logs -a myapp --since 10m`) whose stdout is our input, spawned
 * without a shell, its stderr logged, restarted with capped backoff when it exits. A restarted
 * `convox logs --since` sends the last minutes again: lines seen recently are skipped until the
 * first new one.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "hash.h"
#include "ingest_int.h"
#include "log.h"
#include "xmalloc.h"

#define RECENT 65536        /* line hashes remembered for overlap detection (a power of 2) */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define STABLE_MS 30000     /* a child that ran this long restarts without delay growth */

struct ingest_exec {
    uv_loop_t *loop;
    char **argv; /* owned, NULL-terminated */
    char *app;   /* owned, may be NULL */
    char *name;  /* owned: the command line, for logs and the source name */
    ingest_line_cb on_line;
    void *arg;
    uv_process_t proc;
    uv_pipe_t out, err;
    int running, out_open, err_open, proc_open;
    struct ingest__linebuf out_buf, err_buf;
    struct source src;
    uv_timer_t restart;
    uint64_t backoff_ms;
    uint64_t started_ms;
    /* overlap: hashes of recent lines (ring + open-addressing set), skip mode after restart */
    uint64_t ring[RECENT];
    size_t ring_pos;
    uint64_t *set; /* owned, 2 * RECENT slots, 0 = empty */
    int skipping;
    int closing;
    int pending_closes;
    struct ingest_exec_stats stats;
};

static uint64_t line_hash(const char *s, size_t n)
{
    uint64_t h = hash_mem(s, n);

    return h ? h : 1; /* 0 marks an empty slot */
}

static int set_has(const struct ingest_exec *ex, uint64_t h)
{
    size_t i = h & (2 * RECENT - 1);

    while (ex->set[i] != 0) {
        if (ex->set[i] == h) {
            return 1;
        }
        i = (i + 1) & (2 * RECENT - 1);
    }
    return 0;
}

/* Removes h from the set (linear probing: re-insert the rest of its cluster). */
static void set_del(struct ingest_exec *ex, uint64_t h)
{
    size_t i = h & (2 * RECENT - 1), mask = 2 * RECENT - 1;

    while (ex->set[i] != 0 && ex->set[i] != h) {
        i = (i + 1) & mask;
    }
    if (ex->set[i] == 0) {
        return;
    }
    ex->set[i] = 0;
    for (i = (i + 1) & mask; ex->set[i] != 0; i = (i + 1) & mask) {
        uint64_t v = ex->set[i];
        size_t j = v & mask;

        ex->set[i] = 0;
        while (ex->set[j] != 0) {
            j = (j + 1) & mask;
        }
        ex->set[j] = v;
    }
}

static void remember(struct ingest_exec *ex, uint64_t h)
{
    size_t i = h & (2 * RECENT - 1);

    if (ex->ring[ex->ring_pos] != 0) {
        set_del(ex, ex->ring[ex->ring_pos]);
    }
    ex->ring[ex->ring_pos] = h;
    ex->ring_pos = (ex->ring_pos + 1) & (RECENT - 1);
    while (ex->set[i] != 0 && ex->set[i] != h) {
        i = (i + 1) & (2 * RECENT - 1);
    }
    ex->set[i] = h;
}

static void emit_out(void *arg, const char *line, size_t len, unsigned flags)
{
    struct ingest_exec *ex = arg;
    uint64_t h = line_hash(line, len);

    if (ex->skipping) {
        if (set_has(ex, h)) {
            ex->stats.overlap_skipped++;
            return;
        }
        ex->skipping = 0; /* the first new line: the overlap is over */
    }
    remember(ex, h);
    ex->src.lineno++;
    ex->stats.lines++;
    ex->on_line(ex->arg, &ex->src, line, len, flags);
}

static void emit_err(void *arg, const char *line, size_t len, unsigned flags)
{
    struct ingest_exec *ex = arg;

    (void)flags;
    log_at(LOG_WARN, "ingest", "exec stderr: %.*s cmd=%s", (int)(len < 500 ? len : 500), line,
           ex->name);
}

static void on_alloc_out(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct ingest_exec *ex = h->data;
    size_t avail;
    char *p = ingest__linebuf_space(&ex->out_buf, &avail);

    (void)suggested;
    *b = uv_buf_init(p, (unsigned)avail);
}

static void on_alloc_err(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct ingest_exec *ex = h->data;
    size_t avail;
    char *p = ingest__linebuf_space(&ex->err_buf, &avail);

    (void)suggested;
    *b = uv_buf_init(p, (unsigned)avail);
}

static void spawn(struct ingest_exec *ex);

static void on_restart(uv_timer_t *t)
{
    spawn(t->data);
}

static void on_part_closed(uv_handle_t *h);

/* Child gone and its pipes drained: schedule the next one. */
static void maybe_restart(struct ingest_exec *ex)
{
    uint64_t ran;

    if (ex->closing || ex->out_open || ex->err_open || ex->proc_open) {
        return;
    }
    ran = uv_now(ex->loop) - ex->started_ms;
    ex->backoff_ms = ran >= STABLE_MS ? BACKOFF_MIN_MS
                     : ex->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                           : ex->backoff_ms * 2;
    log_at(LOG_INFO, "ingest", "exec restarting in %llu ms cmd=%s",
           (unsigned long long)ex->backoff_ms, ex->name);
    uv_timer_start(&ex->restart, on_restart, ex->backoff_ms, 0);
}

static void on_pipe_closed(uv_handle_t *h)
{
    struct ingest_exec *ex = h->data;

    if (h == (uv_handle_t *)&ex->out) {
        ex->out_open = 0;
    } else {
        ex->err_open = 0;
    }
    if (ex->closing) {
        on_part_closed(h);
        return;
    }
    maybe_restart(ex);
}

static void on_read_out(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct ingest_exec *ex = s->data;

    (void)b;
    if (n > 0) {
        ex->stats.bytes += (uint64_t)n;
        ingest__linebuf_commit(&ex->out_buf, (size_t)n, emit_out, ex);
    } else if (n < 0) {
        ingest__linebuf_finish(&ex->out_buf, emit_out, ex);
        uv_close((uv_handle_t *)s, on_pipe_closed);
    }
}

static void on_read_err(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct ingest_exec *ex = s->data;

    (void)b;
    if (n > 0) {
        ingest__linebuf_commit(&ex->err_buf, (size_t)n, emit_err, ex);
    } else if (n < 0) {
        ingest__linebuf_finish(&ex->err_buf, emit_err, ex);
        uv_close((uv_handle_t *)s, on_pipe_closed);
    }
}

static void on_proc_closed(uv_handle_t *h)
{
    struct ingest_exec *ex = h->data;

    ex->proc_open = 0;
    if (ex->closing) {
        on_part_closed(h);
        return;
    }
    maybe_restart(ex);
}

static void on_child_exit(uv_process_t *p, int64_t status, int signo)
{
    struct ingest_exec *ex = p->data;

    ex->running = 0;
    ex->stats.exits++;
    log_at(status == 0 && signo == 0 ? LOG_INFO : LOG_WARN, "ingest",
           "exec exited status=%lld signal=%d cmd=%s", (long long)status, signo, ex->name);
    uv_close((uv_handle_t *)p, on_proc_closed);
}

static void spawn(struct ingest_exec *ex)
{
    uv_process_options_t o;
    uv_stdio_container_t stdio[3];
    int rc;

    memset(&o, 0, sizeof(o));
    uv_pipe_init(ex->loop, &ex->out, 0);
    uv_pipe_init(ex->loop, &ex->err, 0);
    ex->out.data = ex->err.data = ex;
    ex->out_open = ex->err_open = 1;
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&ex->out;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&ex->err;
    o.file = ex->argv[0];
    o.args = ex->argv;
    o.stdio = stdio;
    o.stdio_count = 3;
    o.exit_cb = on_child_exit;
    ex->proc.data = ex;
    ex->started_ms = uv_now(ex->loop);
    /* a restart re-sends recent lines: skip those we have, until the first new one */
    ex->skipping = ex->stats.starts > 0;
    rc = uv_spawn(ex->loop, &ex->proc, &o);
    if (rc != 0) {
        log_at(LOG_ERROR, "ingest", "cannot run the exec command: %s cmd=%s", uv_strerror(rc),
               ex->name);
        ex->proc_open = 1; /* uv_spawn initialised the handle even on failure */
        uv_close((uv_handle_t *)&ex->proc, on_proc_closed);
        uv_close((uv_handle_t *)&ex->out, on_pipe_closed);
        uv_close((uv_handle_t *)&ex->err, on_pipe_closed);
        return;
    }
    ex->running = 1;
    ex->proc_open = 1;
    ex->stats.starts++;
    log_at(LOG_INFO, "ingest", "exec started pid=%d cmd=%s", ex->proc.pid, ex->name);
    uv_read_start((uv_stream_t *)&ex->out, on_alloc_out, on_read_out);
    uv_read_start((uv_stream_t *)&ex->err, on_alloc_err, on_read_err);
}

struct ingest_exec *ingest_exec_new(uv_loop_t *loop, char *const *argv, const char *app,
                                    size_t max_line, ingest_line_cb on_line, void *arg)
{
    struct ingest_exec *ex = xcalloc(1, sizeof(*ex));
    size_t n = 0, len = 0;

    while (argv[n] != NULL) {
        len += strlen(argv[n]) + 1;
        n++;
    }
    ex->argv = xcalloc(n + 1, sizeof(char *));
    ex->name = xcalloc(len + 1, 1);
    len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(argv[i]);

        ex->argv[i] = xstrdup(argv[i]);
        if (i > 0) {
            ex->name[len++] = ' ';
        }
        memcpy(ex->name + len, argv[i], k);
        len += k;
    }
    ex->loop = loop;
    ex->app = app ? xstrdup(app) : NULL;
    ex->on_line = on_line;
    ex->arg = arg;
    ex->src.name = ex->name;
    ex->src.app = ex->app;
    ex->set = xcalloc(2 * RECENT, sizeof(uint64_t));
    ex->backoff_ms = BACKOFF_MIN_MS / 2;
    ingest__linebuf_init(&ex->out_buf, max_line ? max_line : INGEST_DEFAULT_MAX_LINE,
                         INGEST_READ_CHUNK);
    ingest__linebuf_init(&ex->err_buf, 4096, 4096);
    uv_timer_init(loop, &ex->restart);
    ex->restart.data = ex;
    return ex;
}

void ingest_exec_start(struct ingest_exec *ex)
{
    spawn(ex);
}

const struct ingest_exec_stats *ingest_exec_stats(const struct ingest_exec *ex)
{
    return &ex->stats;
}

static void on_part_closed(uv_handle_t *h)
{
    struct ingest_exec *ex = h->data;

    if (--ex->pending_closes > 0) {
        return;
    }
    for (size_t i = 0; ex->argv[i] != NULL; i++) {
        free(ex->argv[i]);
    }
    free(ex->argv);
    free(ex->name);
    free(ex->app);
    free(ex->set);
    ingest__linebuf_free(&ex->out_buf);
    ingest__linebuf_free(&ex->err_buf);
    free(ex);
}

void ingest_exec_close(struct ingest_exec *ex)
{
    if (ex == NULL || ex->closing) {
        return;
    }
    ex->closing = 1;
    ex->pending_closes = 1; /* the restart timer */
    if (ex->running) {
        uv_process_kill(&ex->proc, SIGTERM);
    }
    if (ex->proc_open) {
        ex->pending_closes++;
        if (!uv_is_closing((uv_handle_t *)&ex->proc)) {
            uv_close((uv_handle_t *)&ex->proc, on_proc_closed);
        }
    }
    if (ex->out_open) {
        ex->pending_closes++;
        if (!uv_is_closing((uv_handle_t *)&ex->out)) {
            uv_close((uv_handle_t *)&ex->out, on_pipe_closed);
        }
    }
    if (ex->err_open) {
        ex->pending_closes++;
        if (!uv_is_closing((uv_handle_t *)&ex->err)) {
            uv_close((uv_handle_t *)&ex->err, on_pipe_closed);
        }
    }
    uv_timer_stop(&ex->restart);
    uv_close((uv_handle_t *)&ex->restart, on_part_closed);
}
