/* The record: one parsed log line, every text field a slice borrowed from the line. */
#ifndef ROLLWATCH_RECORD_H
#define ROLLWATCH_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* A borrowed byte range; p == NULL means "absent", len 0 with p != NULL means "empty". */
struct slice {
    const char *p;
    size_t len;
};

#define SLICE_NONE ((struct slice){NULL, 0})

static inline int slice_present(struct slice s)
{
    return s.p != NULL;
}

/* What kind of line this is (DESIGN §2). The names are part of the output contract. */
enum record_kind {
    RECORD_UNKNOWN = 0,
    RECORD_K8S,   /* system/k8s/<obj> or tenant system/<obj>: a Kubernetes event message */
    RECORD_ATOM,  /* system/k8s/atom/...: Convox rollout status */
    RECORD_STATE, /* system/k8s/state: resource state */
    RECORD_APP,   /* service/, timer/, process/ streams and kubectl lines */
    RECORD_CLI,   /* convox deploy transcript */
    RECORD_KIND_COUNT
};

/* What the object name's shape says it is (DESIGN §2). */
enum object_kind {
    OBJECT_UNKNOWN = 0,
    OBJECT_ATOM,
    OBJECT_DEPLOYMENT,
    OBJECT_REPLICASET,
    OBJECT_POD,
    OBJECT_STATE,
    OBJECT_KIND_COUNT
};

/* Where the event time of a record came from. */
enum ts_source {
    TS_NONE = 0,   /* no timestamp yet in this stream */
    TS_OWN,        /* parsed from the line itself */
    TS_INHERITED   /* copied from the previous timestamped line */
};

/* Per-line facts found by ingest and parse; a bit set in record.flags. */
enum record_flag {
    REC_TRUNCATED = 1u << 0,  /* longer than --max-line; the tail was dropped */
    REC_CRLF = 1u << 1,       /* a trailing CR was removed */
    REC_NO_NEWLINE = 1u << 2, /* last line of input without its newline */
    REC_HAS_NUL = 1u << 3,    /* contains NUL bytes */
    REC_BAD_UTF8 = 1u << 4,   /* contains invalid UTF-8 */
    REC_COMBINED = 1u << 5    /* "(combined from similar events): " was stripped */
};

#define RECORD_MAX_EXTRA 8

/* Where a line came from. Owned by ingest; valid while the line callback runs. */
struct source {
    const char *name; /* path, "-" for stdin, or the command line of --exec */
    const char *app;  /* app label (--app / --input APP=PATH), or NULL */
    uint64_t lineno;  /* 1-based number of the current line in this source */
};

/*
 * One line, parsed. Every slice points into the line passed to parse_line() (or into
 * the source's app label), so a record is valid only until the line callback returns:
 * nobody keeps a struct record, consumers copy what they need.
 */
struct record {
    const struct source *src;
    int64_t ts_ns; /* event time, ns since the Unix epoch (UTC); 0 when ts_src == TS_NONE */
    enum ts_source ts_src;
    enum record_kind kind;
    enum object_kind object_kind;
    unsigned flags; /* enum record_flag bits */

    struct slice line;        /* the whole line as given (CR removed) */
    struct slice stream;      /* system/k8s/web-1a2b, service/web/<pod>, pod/<pod>/<container> */
    struct slice object;      /* the stream's object name: web-745f845dc-rzl2q, atom/app */
    struct slice service;     /* derived from the name or stream */
    struct slice replicaset;  /* <svc>-<hash> */
    struct slice pod;         /* <svc>-<hash>-<5> */
    struct slice container;   /* kubectl lines: the container name */
    struct slice message;     /* the text after the prefix; "(combined…): " stripped */
    struct slice status_from; /* atom lines: "Running" of "Status: Running => Pending" */
    struct slice status_to;
    struct slice release;     /* R… where the line names it */
    struct slice build;       /* B… where the line names it */
    struct slice app;         /* from the source label */
    struct slice cli;         /* transcript line type: promoting, ok, error, pod_status, … */
    struct slice pod_status;  /* transcript pod rows: pending, running, crashed, … */

    /* Set by rules (strings owned by the rule set, valid while it is loaded). */
    struct slice event;      /* lifecycle tag: pod_created, container_started, … */
    struct slice class_name; /* failure class: crash_loop, oom, … */
    size_t nextra;           /* named regex captures that are not standard fields */
    struct record_extra {
        int field; /* an id >= FIELD_COUNT, interned by the rule set */
        const char *name;
        struct slice val;
    } extra[RECORD_MAX_EXTRA];
};

/* Fields addressable by name in rules and templates. The names are the JSON output keys. */
enum record_field {
    FIELD_KIND = 0,
    FIELD_OBJECT_KIND,
    FIELD_STREAM,
    FIELD_OBJECT,
    FIELD_SERVICE,
    FIELD_REPLICASET,
    FIELD_POD,
    FIELD_CONTAINER,
    FIELD_MESSAGE,
    FIELD_STATUS_FROM,
    FIELD_STATUS_TO,
    FIELD_RELEASE,
    FIELD_BUILD,
    FIELD_APP,
    FIELD_CLI,
    FIELD_POD_STATUS,
    FIELD_LINE,
    FIELD_EVENT,
    FIELD_CLASS,
    FIELD_COUNT
};

/* The id of a standard field name, or -1. */
int record_field_id(const char *name, size_t len);
const char *record_field_name(int id);

/* Where each field's slice is in struct record; 0 for kind and object_kind (not slices). */
extern const unsigned short record_slice_offset[FIELD_COUNT];

/* record_field_get for kind, object_kind and extras. */
struct slice record_field_get_other(const struct record *r, int id);

/* The value of field id (standard or extra) in r; absent = SLICE_NONE. Inline: the rules look
 * up fields millions of times a second. */
static inline struct slice record_field_get(const struct record *r, int id)
{
    if ((unsigned)id < FIELD_COUNT && record_slice_offset[id] != 0) {
        return *(const struct slice *)(const void *)((const char *)r + record_slice_offset[id]);
    }
    return record_field_get_other(r, id);
}

/* Sets field id to v: a standard slice, or an extra (replaced if present; ignored when full). */
void record_field_set(struct record *r, int id, const char *name, struct slice v);

const char *record_kind_name(enum record_kind k);
const char *object_kind_name(enum object_kind k);

/* Compare a slice with a NUL-terminated string (inline: strlen of a literal folds away). */
static inline int slice_eq(struct slice s, const char *str)
{
    size_t n = __builtin_strlen(str);

    return s.p != NULL && s.len == n && __builtin_memcmp(s.p, str, n) == 0;
}

#endif
