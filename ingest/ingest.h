/* ingest: bytes from stdin and files, read through libuv in large chunks, split into lines. */
#ifndef ROLLWATCH_INGEST_H
#define ROLLWATCH_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "record.h"

#define INGEST_DEFAULT_MAX_LINE (64 * 1024)
#define INGEST_MIN_MAX_LINE 64
#define INGEST_MAX_MAX_LINE (64 * 1024 * 1024)
#define INGEST_READ_CHUNK (256 * 1024)

/*
 * Called once per line, synchronously, on the loop thread. line[0..len) has no newline and
 * is borrowed: valid only until the callback returns. flags: REC_TRUNCATED, REC_NO_NEWLINE.
 */
typedef void (*ingest_line_cb)(void *arg, const struct source *src, const char *line, size_t len,
                               unsigned flags);
/* Called when every source has been read to its end (or failed), never synchronously. */
typedef void (*ingest_done_cb)(void *arg);

struct ingest_opts {
    size_t max_line; /* longer lines are cut to this many bytes and flagged; 0 = default */
};

struct ingest_stats {
    uint64_t bytes;
    uint64_t lines;
    uint64_t truncated;     /* lines cut at max_line */
    uint64_t source_errors; /* sources that could not be opened or read */
};

struct ingest;

/* Creates an ingest on loop. Takes no ownership of opts. Never NULL (aborts on OOM). */
struct ingest *ingest_new(uv_loop_t *loop, const struct ingest_opts *opts, ingest_line_cb on_line,
                          void *arg);

/*
 * Queues a source: a file path, or "-" for standard input (a pipe, a terminal or a redirected
 * file). app labels its lines (may be NULL). Both strings are copied. Sources are read one
 * after another, in the order added. Returns 0.
 */
int ingest_add(struct ingest *in, const char *path, const char *app);

/* Starts reading. done is called after the last source ends. Returns 0, or <0 (a libuv code). */
int ingest_start(struct ingest *in, ingest_done_cb done);

const struct ingest_stats *ingest_stats(const struct ingest *in);

/*
 * Stops reading, closes every handle and frees the ingest once libuv has released them;
 * closed (may be NULL) is called then. ingest_close(NULL, ...) is a no-op.
 */
void ingest_close(struct ingest *in, void (*closed)(void *arg), void *arg);

/* ---- following files like tail -F (ingest_follow.c) ---------------------------------------- */

struct ingest_follow_opts {
    size_t max_line;       /* 0 = default */
    const char *state_dir; /* offsets.json here (copied); NULL: no resume */
    int from_start;        /* files present at start-up are read from 0, not from their end */
};

struct ingest_follow_stats {
    uint64_t bytes, lines, opened, rotated, truncated;
};

struct ingest_follow;

/* A follower on loop; lines go to on_line. Never NULL. */
struct ingest_follow *ingest_follow_new(uv_loop_t *loop, const struct ingest_follow_opts *opts,
                                        ingest_line_cb on_line, void *arg);
/* Follows a path or a glob (files that match later are picked up); app labels its lines. */
int ingest_follow_add(struct ingest_follow *in, const char *pattern, const char *app);
/* Loads saved offsets, starts watching. Returns 0, or -1 (state dir unusable). */
int ingest_follow_start(struct ingest_follow *in);
/* Writes the offsets now (durably). */
void ingest_follow_save(struct ingest_follow *in);
const struct ingest_follow_stats *ingest_follow_stats(const struct ingest_follow *in);
/* Saves the offsets, stops, closes handles; frees itself once libuv has released them. */
void ingest_follow_close(struct ingest_follow *in);

/* ---- --exec: a child's stdout as input (ingest_exec.c) --------------------------------------- */

struct ingest_exec_stats {
    uint64_t starts, exits, lines, bytes, overlap_skipped;
};

struct ingest_exec;

/*
 * A child running argv (copied; argv[0] looked up in PATH, no shell), its stdout read as lines
 * labelled app, its stderr logged. Restarted with backoff (1 s doubling to 30 s; reset after
 * 30 s of running) whenever it exits; after a restart, lines seen in the last 65,536 are
 * skipped until the first new one (convox logs --since sends them again). Never NULL.
 */
struct ingest_exec *ingest_exec_new(uv_loop_t *loop, char *const *argv, const char *app,
                                    size_t max_line, ingest_line_cb on_line, void *arg);
void ingest_exec_start(struct ingest_exec *ex);
const struct ingest_exec_stats *ingest_exec_stats(const struct ingest_exec *ex);
/* Sends SIGTERM to a running child, closes handles; frees itself once libuv released them. */
void ingest_exec_close(struct ingest_exec *ex);

/* ---- replay: stored files merged by event time (ingest_merge.c) -------------------------------- */

/* The event time of a line, from its text: 0 and *ns, or -1 when it has none. */
typedef int (*ingest_time_fn)(const char *line, size_t len, int64_t *ns);

struct ingest_merge_stats {
    uint64_t bytes;       /* uncompressed bytes read */
    uint64_t bytes_total; /* sizes of the files on disk */
    uint64_t bytes_done;  /* of those, consumed (compressed bytes for .gz) */
    uint64_t lines, truncated, source_errors;
};

struct ingest_merge;

/* A merger of stored files (plain or gzip, told apart by content). Never NULL. */
struct ingest_merge *ingest_merge_new(uv_loop_t *loop, size_t max_line, ingest_time_fn time_of,
                                      ingest_line_cb on_line, void *arg);
/* Adds a file; its lines are labelled app. Returns 0, or -1 (logged, counted) if unreadable. */
int ingest_merge_add(struct ingest_merge *m, const char *path, const char *app);
/*
 * A line handed to on_line stays where it is in its file's buffer until that buffer is
 * refilled; cb (with on_line's arg) runs just before, so a caller may keep lines until then
 * (and copy many at once).
 */
void ingest_merge_before_refill(struct ingest_merge *m, void (*cb)(void *arg));
/* Starts; done is called (from the loop) after the last line of the last file. */
void ingest_merge_start(struct ingest_merge *m, ingest_done_cb done);
const struct ingest_merge_stats *ingest_merge_stats(struct ingest_merge *m);
/* Stops and frees once libuv has released the handle. */
void ingest_merge_close(struct ingest_merge *m);

#endif
