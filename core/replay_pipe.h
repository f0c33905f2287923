/*
 * Replay on two cores: a worker thread reads and merges the stored files (ingest_merge on a
 * loop of its own) and parses every line; the main loop gets the records in batches, in the
 * same order, and does the rest. The worker also runs the rule tests that need only the parsed
 * record (rules_pre_eval), so the main loop's share shrinks to what needs the engine's state.
 */
#ifndef ROLLWATCH_REPLAY_PIPE_H
#define ROLLWATCH_REPLAY_PIPE_H

#include <uv.h>

#include "ingest.h"
#include "parse.h"
#include "record.h"
#include "rules.h"

struct replay_pipe;

/*
 * A parsed record, on the main loop, with what rules_pre_eval found for it under set (for
 * rules_eval_pre). All are valid during the call only, like ingest's lines.
 */
typedef void (*replay_record_cb)(void *arg, struct record *r, const struct rule_set *set,
                                 const struct rules_ahead *ahead);

/*
 * Never NULL. ps (the caller's) gets the parse counts of the records handed on so far, after
 * each batch. done runs on the main loop after the last record. The worker tests ahead with
 * set (it takes a reference).
 */
struct replay_pipe *replay_pipe_new(uv_loop_t *loop, size_t max_line, struct parse_stats *ps,
                                    struct rule_set *set, replay_record_cb on_record,
                                    ingest_done_cb done, void *arg);
/* A reload: the worker tests ahead with set from its next batch (it takes a reference). */
void replay_pipe_set_rules(struct replay_pipe *rp, struct rule_set *set);
/* The regex runs and errors of the tests ahead, as of the last batch handed on. */
void replay_pipe_regex_counts(const struct replay_pipe *rp, uint64_t *runs, uint64_t *errors);
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
