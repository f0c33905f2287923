/*
 * Replay on two cores (replay_pipe.h). The worker owns the merge, its loop and the parser;
 * the main loop owns what it is given. They share only the batch queues, under one mutex:
 * a batch is the worker's while it fills it and the main loop's from the moment it is queued
 * until it is handed back. Three batches bound the memory and let the faster side wait.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "replay_pipe.h"
#include "xmalloc.h"

#define BATCH_RECORDS 1024
#define BATCH_BYTES (256 * 1024)
#define NBATCH 3

struct batch {
    struct record recs[BATCH_RECORDS]; /* slices point into bytes */
    size_t n;
    char *bytes; /* owned: copies of the lines */
    size_t used, cap;
    struct parse_stats ps;        /* the worker's parse counts after this batch */
    struct ingest_merge_stats ms; /* byte counts (want_progress, and the last batch) */
    int last;                     /* nothing follows */
    struct batch *next;
};

struct replay_pipe {
    /* main loop side */
    uv_loop_t *loop;
    uv_async_t wake; /* the worker queued a batch */
    uv_idle_t work;  /* consume queued batches, one per turn of the loop */
    replay_record_cb on_record;
    ingest_done_cb done;
    void *arg;
    struct parse_stats *ps; /* borrowed: the caller's counts of the records handed on */
    struct ingest_merge_stats ms;
    int started, finished, closing, nclosed;
    /* worker side */
    uv_loop_t wloop;
    struct ingest_merge *merge; /* NULL once the worker closed it */
    struct parser parser;
    uv_thread_t thread;
    struct batch *cur; /* being filled */
    int want_progress;
    /* shared, under mu */
    uv_mutex_t mu;
    uv_cond_t cv;                     /* a batch came back, or stop */
    struct batch *full_head, *full_tail; /* queued for the main loop, in order */
    struct batch *free_list;
    int stop;
    struct ingest_merge_stats final_ms; /* the merge's counts when the worker closed it */
    struct batch *store;                /* owned: NBATCH batches */
};

/* ---- worker ------------------------------------------------------------------------------- */

static struct batch *take_free(struct replay_pipe *rp)
{
    struct batch *b;

    uv_mutex_lock(&rp->mu);
    while (rp->free_list == NULL && !rp->stop) {
        uv_cond_wait(&rp->cv, &rp->mu);
    }
    b = rp->stop ? NULL : rp->free_list;
    if (b != NULL) {
        rp->free_list = b->next;
    }
    uv_mutex_unlock(&rp->mu);
    return b;
}

static void queue_full(struct replay_pipe *rp, struct batch *b, int last)
{
    b->ps = *parse_stats(&rp->parser);
    if (rp->want_progress || last) {
        b->ms = *ingest_merge_stats(rp->merge);
    }
    b->last = last;
    b->next = NULL;
    uv_mutex_lock(&rp->mu);
    if (rp->full_tail != NULL) {
        rp->full_tail->next = b;
    } else {
        rp->full_head = b;
    }
    rp->full_tail = b;
    uv_mutex_unlock(&rp->mu);
    uv_async_send(&rp->wake);
}

static void worker_close_merge(struct replay_pipe *rp)
{
    if (rp->merge != NULL) {
        uv_mutex_lock(&rp->mu);
        rp->final_ms = *ingest_merge_stats(rp->merge);
        uv_mutex_unlock(&rp->mu);
        ingest_merge_close(rp->merge);
        rp->merge = NULL;
    }
}

/* The merge's line, on the worker: copied into the batch and parsed there. */
static void on_line(void *arg, const struct source *src, const char *line, size_t len,
                    unsigned flags)
{
    struct replay_pipe *rp = arg;
    struct batch *b = rp->cur;
    char *copy;

    if (b != NULL && (b->n == BATCH_RECORDS || b->cap - b->used < len)) {
        queue_full(rp, b, 0);
        b = rp->cur = NULL;
    }
    if (b == NULL && (b = rp->cur = take_free(rp)) == NULL) {
        worker_close_merge(rp); /* the main loop stopped: read no more */
        return;
    }
    if (b->cap < len) {
        /* an empty batch and a line longer than its buffer (--max-line above 256 KiB) */
        free(b->bytes);
        b->cap = len;
        b->bytes = xmalloc(b->cap);
    }
    copy = b->bytes + b->used;
    memcpy(copy, line, len);
    b->used += len;
    parse_line(&rp->parser, src, copy, len, flags, &b->recs[b->n]);
    b->recs[b->n++].src = NULL; /* the merge's, and it moves on: nobody downstream reads it */
}

/*
 * The merge stays open after its last line: the records still queued point at its app labels.
 * replay_pipe_close closes it once the main loop is done with them.
 */
static void on_merge_done(void *arg)
{
    struct replay_pipe *rp = arg;
    struct batch *b = rp->cur != NULL ? rp->cur : take_free(rp);

    rp->cur = NULL;
    if (b != NULL) {
        queue_full(rp, b, 1);
    }
}

static void worker(void *arg)
{
    struct replay_pipe *rp = arg;

    ingest_merge_start(rp->merge, on_merge_done);
    uv_run(&rp->wloop, UV_RUN_DEFAULT); /* until the merge is done, or stopped and closed */
}

/* ---- main loop ---------------------------------------------------------------------------- */

static void give_back(struct replay_pipe *rp, struct batch *b)
{
    b->n = 0;
    b->used = 0;
    uv_mutex_lock(&rp->mu);
    b->next = rp->free_list;
    rp->free_list = b;
    uv_cond_signal(&rp->cv);
    uv_mutex_unlock(&rp->mu);
}

static void on_work(uv_idle_t *h)
{
    struct replay_pipe *rp = h->data;
    struct batch *b;
    int last;

    uv_mutex_lock(&rp->mu);
    b = rp->full_head;
    if (b != NULL) {
        rp->full_head = b->next;
        if (rp->full_head == NULL) {
            rp->full_tail = NULL;
        }
    }
    uv_mutex_unlock(&rp->mu);
    if (b == NULL) {
        uv_idle_stop(&rp->work); /* the next batch wakes us */
        return;
    }
    for (size_t i = 0; i < b->n && !rp->closing; i++) {
        rp->on_record(rp->arg, &b->recs[i]);
    }
    *rp->ps = b->ps;
    if (rp->want_progress || b->last) {
        rp->ms = b->ms;
    }
    last = b->last;
    give_back(rp, b);
    if (last && !rp->closing) {
        rp->finished = 1;
        uv_idle_stop(&rp->work);
        if (rp->done != NULL) {
            rp->done(rp->arg);
        }
    }
}

static void on_wake(uv_async_t *h)
{
    struct replay_pipe *rp = h->data;

    if (!rp->finished && !rp->closing) {
        uv_idle_start(&rp->work, on_work);
    }
}

struct replay_pipe *replay_pipe_new(uv_loop_t *loop, size_t max_line, struct parse_stats *ps,
                                    replay_record_cb on_record, ingest_done_cb done, void *arg)
{
    struct replay_pipe *rp = xcalloc(1, sizeof(*rp));

    rp->ps = ps;
    rp->loop = loop;
    rp->on_record = on_record;
    rp->done = done;
    rp->arg = arg;
    uv_loop_init(&rp->wloop);
    rp->merge = ingest_merge_new(&rp->wloop, max_line, parse_line_time, on_line, rp);
    parse_init(&rp->parser);
    uv_mutex_init(&rp->mu);
    uv_cond_init(&rp->cv);
    uv_async_init(loop, &rp->wake, on_wake);
    rp->wake.data = rp;
    uv_idle_init(loop, &rp->work);
    rp->work.data = rp;
    rp->store = xcalloc(NBATCH, sizeof(*rp->store));
    for (size_t i = 0; i < NBATCH; i++) {
        rp->store[i].cap = BATCH_BYTES;
        rp->store[i].bytes = xmalloc(BATCH_BYTES);
        rp->store[i].next = rp->free_list;
        rp->free_list = &rp->store[i];
    }
    return rp;
}

int replay_pipe_add(struct replay_pipe *rp, const char *path, const char *app)
{
    return ingest_merge_add(rp->merge, path, app);
}

void replay_pipe_start(struct replay_pipe *rp, int want_progress)
{
    rp->want_progress = want_progress;
    if (uv_thread_create(&rp->thread, worker, rp) != 0) {
        log_at(LOG_ERROR, "core", "cannot start the reader thread");
        abort();
    }
    rp->started = 1;
}

struct ingest_merge_stats replay_pipe_merge_stats(struct replay_pipe *rp)
{
    return rp->ms;
}

static void on_closed(uv_handle_t *h)
{
    struct replay_pipe *rp = h->data;

    if (++rp->nclosed < 2) {
        return;
    }
    for (size_t i = 0; i < NBATCH; i++) {
        free(rp->store[i].bytes);
    }
    free(rp->store);
    uv_mutex_destroy(&rp->mu);
    uv_cond_destroy(&rp->cv);
    free(rp);
}

void replay_pipe_close(struct replay_pipe *rp, struct ingest_merge_stats *final)
{
    if (rp == NULL || rp->closing) {
        return;
    }
    rp->closing = 1;
    uv_mutex_lock(&rp->mu);
    rp->stop = 1;
    uv_cond_broadcast(&rp->cv);
    uv_mutex_unlock(&rp->mu);
    if (rp->started) {
        uv_thread_join(&rp->thread);
    }
    /* the worker is gone (or never ran): its loop is ours now, to close the merge on */
    worker_close_merge(rp);
    uv_run(&rp->wloop, UV_RUN_DEFAULT);
    if (uv_loop_close(&rp->wloop) != 0) {
        log_at(LOG_ERROR, "core", "the reader's loop still had open handles");
    }
    if (final != NULL) {
        *final = rp->final_ms;
    }
    uv_idle_stop(&rp->work);
    uv_close((uv_handle_t *)&rp->wake, on_closed);
    uv_close((uv_handle_t *)&rp->work, on_closed);
}
