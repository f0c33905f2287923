/* A rollout event: produced by the rules' tracker, serialised by sinks (DESIGN §6). */
#ifndef ROLLWATCH_ROLLOUT_H
#define ROLLWATCH_ROLLOUT_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

enum rollout_status {
    ROLLOUT_STARTED = 0,
    ROLLOUT_SUCCEEDED,
    ROLLOUT_STUCK,
    ROLLOUT_FAILED,
    ROLLOUT_ROLLED_BACK,
    ROLLOUT_ROLLBACK_FAILED,
    ROLLOUT_STATUS_COUNT
};

struct rollout_failure {
    const char *class_name;
    uint64_t count;
    const char *evidence; /* the first line of this class, may be NULL */
};

/* One moment of a rollout: an atom transition, or a pod's lifecycle event or failure. */
struct rollout_point {
    int64_t at;
    const char *pod;  /* NULL for atom transitions */
    const char *what; /* "Running => Pending", "container_started", "crash_loop" */
    int failure;      /* what is a failure class */
    const char *line; /* failures: the line that showed it (at most 300 bytes), else NULL */
};

/* Every pointer is borrowed and valid only while the rollout callback runs. */
struct rollout_event {
    enum rollout_status status;
    const char *app;     /* "" when the lines carry no app */
    const char *release; /* NULL when unknown */
    int64_t at;          /* event time of this status, ns */
    int64_t started_at;  /* when the rollout began (or was first seen), ns */
    int start_seen;      /* 0: the log began mid-rollout, duration is a lower bound */
    const char *const *transitions; /* "Running => Pending", in arrival order */
    size_t ntransitions;
    const char *const *services;
    size_t nservices;
    const char *const *pods;
    size_t npods;
    const struct rollout_failure *failures;
    size_t nfailures;
    const char *diagnosis; /* "", or what went wrong, from the failures seen */
    const char *hint;      /* NULL, or the hint of the failure behind the diagnosis */
    const struct rollout_point *timeline; /* in arrival order, at most 4096 */
    size_t ntimeline;
    /* 1: not a change of status but a rollout still under way when the input ended, as it
     * stands then (rules_rollouts_snapshot; for replay's report, never printed as an event) */
    int in_progress;
};

const char *rollout_status_name(enum rollout_status s);

#endif
