/* rules: load rules.d, tag records with events and classes, raise deduplicated alerts. */
#ifndef ROLLWATCH_RULES_H
#define ROLLWATCH_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "rollout.h"
#include "err.h"
#include "record.h"

struct rule_set;
struct rules_engine;

/* Receives each load error (FILE:LINE:COL in e); e is valid only during the call. */
typedef void (*rules_err_cb)(void *arg, const struct err *e);

/* Receives each alert; a is valid only during the call (sinks copy what they keep). */
typedef void (*rules_alert_cb)(void *arg, const struct alert *a);

/* Receives each rollout event (DESIGN §6 "rollout" objects); valid only during the call. */
typedef void (*rules_rollout_cb)(void *arg, const struct rollout_event *ev);

/*
 * Loads every *.json in dir in name order (or the one file, if path is a file) into a new
 * rule set. Reports every error through on_err (may be NULL) and returns NULL if there was any.
 * The caller owns the set.
 */
struct rule_set *rules_load(const char *path, rules_err_cb on_err, void *arg);

/* The same from text in memory (one file named name). For tests and fuzzing. */
struct rule_set *rules_load_text(const char *name, const char *text, size_t len,
                                 rules_err_cb on_err, void *arg);

/* Another owner of set (the sets are shared with replay's reader thread); returns set. */
struct rule_set *rules_set_ref(struct rule_set *set);
/* Drops one owner's reference; the last frees the set. */
void rules_set_free(struct rule_set *set);
size_t rules_set_count(const struct rule_set *set);
size_t rules_set_class_count(const struct rule_set *set);

struct rules_opts {
    int64_t repeat_interval_ns; /* a firing alert is re-sent after this long; 0 = settings/1h */
    size_t max_state;           /* keyed state entries per table; 0 = 65536 */
};

struct rules_stats {
    uint64_t records;
    uint64_t tagged_event;
    uint64_t tagged_class;
    uint64_t alerts_fired;
    uint64_t alerts_suppressed;
    uint64_t alerts_resolved;
    uint64_t rollouts_started;
    uint64_t rollouts_ended;
    uint64_t regex_runs;   /* PCRE2 matches attempted (literal tests filter most lines first) */
    uint64_t regex_errors;
    uint64_t state_evicted;
};

/* An engine evaluating set (ownership passes to the engine). opts may be NULL. */
struct rules_engine *rules_engine_new(struct rule_set *set, const struct rules_opts *opts,
                                      rules_alert_cb on_alert, void *arg);

/* Where rollout events go (none until set). */
void rules_engine_on_rollout(struct rules_engine *eng, rules_rollout_cb cb, void *arg);

/*
 * Each rollout still under way, as it stands at the event clock's time, to the rollout
 * callback with in_progress set (the end of a replay, for its report). Nothing else changes.
 */
void rules_rollouts_snapshot(struct rules_engine *eng);

/*
 * Replaces the rule set (SIGHUP reload), taking ownership of set and freeing the old one.
 * State keyed by rules is dropped; alert dedup state is kept.
 */
void rules_engine_swap(struct rules_engine *eng, struct rule_set *set);

/*
 * Evaluates one record: tags r->event / r->class_name (and capture fields), updates the
 * keyed state, may call on_alert. Advances the event clock to r's time first.
 */
void rules_eval(struct rules_engine *eng, struct record *r);

/*
 * What rules_pre_eval decided for one record on another thread: its bit set, and up to which
 * candidate rule it decided their condition lists whole, with the captures they took (each
 * a list's, in the order the engine takes them; val points into the engine's copy of the
 * record's line).
 */
#define RULES_AHEAD_MAX_CAPS 32
#define RULES_AHEAD_ALL UINT32_MAX /* upto: every candidate rule */
struct rules_ahead_cap {
    uint32_t list, gid; /* the condition list and the capture, as the rule set numbers them */
    struct slice val;
};
struct rules_ahead {
    const uint64_t *bits;
    uint32_t upto; /* the candidate rules before this index were decided; RULES_AHEAD_ALL */
    uint32_t ncaps;
    struct rules_ahead_cap caps[RULES_AHEAD_MAX_CAPS];
};

/*
 * The same, given what rules_pre_eval found for r with rule set set on another thread (ahead
 * NULL: nothing). When set is not the engine's (a reload came in between), ahead is ignored.
 */
void rules_eval_pre(struct rules_engine *eng, struct record *r, const struct rule_set *set,
                    const struct rules_ahead *ahead);

/* The engine's rule set (owned by the engine; rules_set_ref to keep it longer). */
struct rule_set *rules_engine_set(const struct rules_engine *eng);

/*
 * Testing ahead, on another thread: the conditions on fields that no rule changes (kind, the
 * message, the stream's names) depend on the parsed record alone. A reader thread runs them
 * for each record, one bit per condition list, so the engine's thread skips them.
 * A rules_pre is used by one thread at a time; it holds a reference on its set.
 */
struct rules_pre;
struct rules_pre *rules_pre_new(struct rule_set *set);
void rules_pre_free(struct rules_pre *pre);
struct rule_set *rules_pre_set(const struct rules_pre *pre);
/* uint64_t words in the bit set of one record. */
size_t rules_pre_words(const struct rules_pre *pre);
/*
 * Fills bits (rules_pre_words long) for r, and out's upto and captures (out->bits is left as
 * it is); counts regex runs into st. r is tagged and captured into while it runs, and left as
 * it was. Returns a bit for each word it set (the others are zero), or all bits when there
 * are more than 64 words.
 */
uint64_t rules_pre_eval(struct rules_pre *pre, struct record *r, uint64_t *bits,
                        struct rules_ahead *out, struct rules_stats *st);

/* Advances the event clock to now (ns) without a record: expect deadlines may fire. */
void rules_advance(struct rules_engine *eng, int64_t now_ns);

const struct rules_stats *rules_engine_stats(const struct rules_engine *eng);
void rules_engine_free(struct rules_engine *eng);

#endif
