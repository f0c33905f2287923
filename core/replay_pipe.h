/*
 * Replay on two cores: a worker thread reads and merges the stored files (ingest_merge on a
 * loop of its own) and parses every line; the main loop gets the records in batches, in the
 * same order, and does the rest. Parsing is about a third of a replay's time.
 */
#ifndef ROLLWATCH_REPLAY_PIPE_H
#define ROLLWATCH_REPLAY_PIPE_H

#include <uv.h>

#include "ingest.h"
#include "parse.h"
#include "record.h"

struct replay_pipe;

/* A parsed record, on the main loop. It is valid during the call only, like ingest's lines. */
typedef void (*replay_record_cb)(void *arg, struct record *r);

/*
 * Never NULL. ps (the caller's) gets the parse counts of the records handed on so far, after
 * each batch. done runs on the main loop after the last record.
 */
struct replay_pipe *replay_pipe_new(uv_loop_t *loop, size_t max_line, struct parse_stats *ps,
                                    replay_record_cb on_record, ingest_done_cb done, void *arg);
/* Before start: a file (or "-"), its lines labelled app. 0, or -1 (logged) if unreadable. */
int replay_pipe_add(struct replay_pipe *rp, const char *path, const char *app);
/* want_progress: keep byte counts for a progress bar (they cost a stat per batch). */
void replay_pipe_start(struct replay_pipe *rp, int want_progress);
/* Byte and line counts as of the last batch (want_progress), and source errors. */
struct ingest_merge_stats replay_pipe_merge_stats(struct replay_pipe *rp);
/*
 * Stops the worker if it still runs and frees everything (the main loop must run to finish);
 * final gets the merge's counts (source errors). Records handed on have src NULL.
 */
void replay_pipe_close(struct replay_pipe *rp, struct ingest_merge_stats *final);

#endif
