/*
 * The rollout tracker: one per app, fed by atom status lines, the deploy transcript and the
 * records the rules tagged. The verdict comes from the set of statuses seen, not their order,
 * because Convox orders lines within a second arbitrarily (issue #800 shows Error => Failure
 * before Pending => Error).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "arena.h"
#include "hash.h"
#include "rules_int.h"
#include "text.h"
#include "xmalloc.h"

#define MAX_TRANSITIONS 48
#define MAX_SERVICES 32
#define MAX_PODS 256
#define POD_SLOTS 512 /* open-addressing index of pods: a power of 2, at least 2 * MAX_PODS */
#define MAX_FAILURES 24
#define MAX_TIMELINE 4096
#define LATE_NS (10LL * 1000000000LL)          /* a line this late still belongs to the last rollout */
#define RELEASE_MAX_AGE_NS (3600LL * 1000000000LL) /* "Promoting R…" this long before a start */
#define TEXT_MAX 1024
#define NO_TIME INT64_MIN /* a release named before any timestamp in the log */

enum atom_status {
    ST_OTHER = 0,
    ST_NONE,
    ST_PENDING,
    ST_UPDATING,
    ST_RUNNING,
    ST_DEADLINE,
    ST_ERROR,
    ST_CANCELLED,
    ST_ROLLBACK,
    ST_REVERTED,
    ST_FAILURE,
    ST_SUCCESS,
    ST_FAILED
};

struct ro_failure { /* every string is in the rollout's arena */
    char *cls;
    uint64_t count;
    char *evidence;  /* the first line of this class */
    char *summary;   /* the class's summary rendered for that line */
    char *hint;      /* the class's hint rendered for that line, may be NULL */
    char *service;   /* may be NULL */
    enum alert_severity severity;
};

enum ro_phase { RO_IDLE = 0, RO_ACTIVE, RO_DONE };

/*
 * A pod failure of the app while no rollout of it was under way. `convox logs` starts two
 * minutes back, so a log often begins in the middle of a rollout: the failures before its first
 * atom line (`Updating => Deadline`) were part of it. The last PRE_MAX are kept, copied.
 */
#define PRE_MAX 8
#define PRE_WINDOW_NS (3600LL * 1000000000LL) /* older than the rollout deadline (50 min) */
struct pre_failure {
    int64_t at;
    /* rule: the id of the rule that classified it (its texts and severity are the rollout's
     * wording of it; a reload may have replaced the rule by then, so by id) */
    char cls[32], rule[48], service[64], replicaset[96], pod[96], line[256];
    unsigned char service_len, replicaset_len, pod_len, line_len, msg_off;
};

struct rollout {
    char *app; /* owned */
    enum ro_phase phase;
    struct arena mem; /* the strings of the rollout under way (not app, next_release) */
    char *release; /* in mem, may be NULL */
    int start_seen;
    int64_t started_at, last_progress, ended_at;
    int64_t began_at; /* the time of the line it started at (started_at may be earlier) */
    unsigned emitted; /* 1 << enum rollout_status */
    char decider[32]; /* the status that failed it: Deadline, Error, ERROR: rollback, … */
    /* the raw line of its last transition or verdict, the evidence of a rollout alert that no
     * pod failure explains (an atom line is short; a CLI line is cut) */
    char last_line[512];
    char *transitions[MAX_TRANSITIONS]; /* in mem, as every string below */
    size_t nt;
    char *services[MAX_SERVICES];
    size_t service_len[MAX_SERVICES];
    size_t ns;
    char *pods[MAX_PODS];
    size_t pod_len[MAX_PODS];
    uint16_t pod_slot[POD_SLOTS]; /* 0: empty, else the pod's index + 1 */
    size_t np;
    struct ro_failure fail[MAX_FAILURES];
    size_t nf;
    struct rollout_point *timeline; /* owned; pod and what point into pods / mem */
    size_t ntl;
    char *next_release; /* owned: from "Promoting R…" / "Release: R…" before the atom starts */
    int64_t next_release_at;
    struct pre_failure *pre; /* owned: PRE_MAX, made at the first; a ring from pre_next */
    size_t npre, pre_next;
};

struct rollouts {
    struct kv apps; /* app -> struct rollout */
    /* "Promoting R…" before any timestamp (a transcript's first lines): for that app's next start */
    char *early_app, *early_release; /* owned */
    /* the release of the rollout under way most recently, for the records of its app */
    char *cur_app, *cur_release; /* owned */
    size_t cur_app_len, cur_release_len; /* looked at for every record */
    /* replaced ones: the record being evaluated may still point at them, freed at the next */
    char *retired[8];
    size_t nretired;
};

static const struct {
    const char *name;
    enum atom_status st;
} statuses[] = {
    {"None", ST_NONE},         {"Pending", ST_PENDING},     {"Updating", ST_UPDATING},
    {"Running", ST_RUNNING},   {"Deadline", ST_DEADLINE},   {"Error", ST_ERROR},
    {"Cancelled", ST_CANCELLED}, {"Rollback", ST_ROLLBACK}, {"Reverted", ST_REVERTED},
    {"Failure", ST_FAILURE},   {"Success", ST_SUCCESS},     {"Failed", ST_FAILED},
};

static enum atom_status atom_status(struct slice s)
{
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        if (slice_eq(s, statuses[i].name)) {
            return statuses[i].st;
        }
    }
    return ST_OTHER;
}

static int failing_status(enum atom_status s)
{
    return s == ST_DEADLINE || s == ST_ERROR || s == ST_CANCELLED || s == ST_FAILED;
}

/* ---- state ---------------------------------------------------------------------------------- */

static void rollout_clear(struct rollout *ro)
{
    arena_reset(&ro->mem);
    free(ro->timeline);
    ro->timeline = NULL;
    ro->release = NULL;
    ro->ntl = 0;
    ro->nt = ro->ns = ro->np = ro->nf = 0;
    memset(ro->pod_slot, 0, sizeof(ro->pod_slot));
    ro->emitted = 0;
    ro->decider[0] = '\0';
    ro->last_line[0] = '\0';
    ro->start_seen = 0;
}

static void rollout_free(void *p)
{
    struct rollout *ro = p;

    rollout_clear(ro);
    free(ro->next_release);
    free(ro->pre);
    free(ro->app);
    free(ro);
}

struct rollouts *rules__rollouts_new(size_t cap)
{
    struct rollouts *ro = xcalloc(1, sizeof(*ro));

    rules__kv_init(&ro->apps, cap, rollout_free);
    return ro;
}

void rules__rollouts_free(struct rollouts *ro)
{
    if (ro == NULL) {
        return;
    }
    rules__kv_free(&ro->apps);
    free(ro->early_app);
    free(ro->early_release);
    free(ro->cur_app);
    free(ro->cur_release);
    for (size_t i = 0; i < ro->nretired; i++) {
        free(ro->retired[i]);
    }
    free(ro);
}

static struct rollout *get(struct rules_engine *eng, struct slice app, int64_t now)
{
    const char *a = app.p ? app.p : "";
    struct kv_entry *e = rules__kv_put(&eng->rollouts->apps, a, app.len, now);

    if (e->val == NULL) {
        struct rollout *ro = xcalloc(1, sizeof(*ro));

        ro->app = xstrndup(a, app.len);
        arena_init(&ro->mem, 4096);
        e->val = ro;
    }
    return e->val;
}

static struct slice sl(const char *s)
{
    return s ? (struct slice){s, strlen(s)} : SLICE_NONE;
}

/* A moment for the report's timeline (pod: one of ro->pods, or NULL). */
static void point(struct rollout *ro, int64_t at, const char *pod, const char *what, size_t len,
                  int failure, struct slice line)
{
    struct rollout_point *pt;

    if (ro->ntl >= MAX_TIMELINE) {
        return;
    }
    if (ro->ntl % 64 == 0) {
        ro->timeline = xrealloc(ro->timeline, (ro->ntl + 64) * sizeof(*ro->timeline));
    }
    pt = &ro->timeline[ro->ntl++];
    pt->at = at;
    pt->pod = pod;
    pt->what = arena_strndup(&ro->mem, what, len);
    pt->failure = failure;
    pt->line = line.p ? arena_strndup(&ro->mem, line.p, line.len < 300 ? line.len : 300) : NULL;
}

/* The slot of pod in the index: where it is, or the empty one where it would go. */
static size_t pod_find(const struct rollout *ro, struct slice pod)
{
    size_t i = hash_mem(pod.p, pod.len) & (POD_SLOTS - 1);

    while (ro->pod_slot[i] != 0) {
        size_t k = ro->pod_slot[i] - 1u;

        if (ro->pod_len[k] == pod.len && memcmp(ro->pods[k], pod.p, pod.len) == 0) {
            break;
        }
        i = (i + 1) & (POD_SLOTS - 1);
    }
    return i;
}

static const char *pod_name(struct rollout *ro, struct slice pod)
{
    size_t i;

    if (pod.p == NULL) {
        return NULL;
    }
    i = pod_find(ro, pod);
    return ro->pod_slot[i] ? ro->pods[ro->pod_slot[i] - 1u] : NULL;
}

static void add_pod(struct rollout *ro, struct slice pod)
{
    size_t i;

    if (pod.p == NULL || pod.len == 0 || ro->np >= MAX_PODS) {
        return;
    }
    i = pod_find(ro, pod);
    if (ro->pod_slot[i] == 0) {
        ro->pods[ro->np] = arena_strndup(&ro->mem, pod.p, pod.len);
        ro->pod_len[ro->np] = pod.len;
        ro->np++;
        ro->pod_slot[i] = (uint16_t)ro->np;
    }
}

/* Adds v to list (lens: the lengths) unless it is there; copies go to mem. */
static void add_unique(struct arena *mem, char **list, size_t *lens, size_t *n, size_t cap,
                       struct slice v)
{
    if (v.p == NULL || v.len == 0 || *n >= cap) {
        return;
    }
    for (size_t i = 0; i < *n; i++) {
        if (lens[i] == v.len && memcmp(list[i], v.p, v.len) == 0) {
            return;
        }
    }
    list[*n] = arena_strndup(mem, v.p, v.len);
    lens[*n] = v.len;
    (*n)++;
}

/* A transition's text, unless it is there already (a late line of an ended rollout). */
static void add_transition(struct rollout *ro, const char *text, int unique)
{
    if (ro->nt >= MAX_TRANSITIONS) {
        return;
    }
    for (size_t i = 0; unique && i < ro->nt; i++) {
        if (strcmp(ro->transitions[i], text) == 0) {
            return;
        }
    }
    ro->transitions[ro->nt++] = arena_strndup(&ro->mem, text, strlen(text));
}

/* r's line as the rollout's evidence */
static void note_line(struct rollout *ro, const struct record *r)
{
    if (r->line.p != NULL) {
        text_put(ro->last_line, sizeof(ro->last_line), 0, r->line.p, r->line.len);
    }
}

static void set_release(struct rollout *ro, const char *rel)
{
    if (rel != NULL && ro->release == NULL) {
        ro->release = arena_strndup(&ro->mem, rel, strlen(rel));
    }
}

/* Remembers (or forgets, when release is NULL) the release records of app should carry. */
static void retire(struct rollouts *all, char *s)
{
    if (s == NULL) {
        return;
    }
    if (all->nretired == sizeof(all->retired) / sizeof(all->retired[0])) {
        free(all->retired[0]); /* so many changes in one record: the oldest is long unused */
        memmove(all->retired, all->retired + 1, (all->nretired - 1) * sizeof(char *));
        all->nretired--;
    }
    all->retired[all->nretired++] = s;
}

static void current(struct rollouts *all, const char *app, const char *release)
{
    retire(all, all->cur_app);
    retire(all, all->cur_release);
    all->cur_app = release ? xstrdup(app) : NULL;
    all->cur_release = release ? xstrdup(release) : NULL;
    all->cur_app_len = release ? strlen(app) : 0;
    all->cur_release_len = release ? strlen(release) : 0;
}

void rules__rollouts_label(struct rules_engine *eng, struct record *r)
{
    struct rollouts *all = eng->rollouts;

    /* a new record: nothing points at the strings retired during the last one */
    while (all->nretired > 0) {
        free(all->retired[--all->nretired]);
    }
    rules__rollouts_relabel(eng, r);
}

void rules__rollouts_relabel(struct rules_engine *eng, struct record *r)
{
    struct rollouts *all = eng->rollouts;
    size_t n = all->cur_app_len;

    if (r->release.p != NULL || all->cur_release == NULL) {
        return;
    }
    if ((r->app.p ? r->app.len : 0) == n && (n == 0 || memcmp(r->app.p, all->cur_app, n) == 0)) {
        r->release = (struct slice){all->cur_release, all->cur_release_len};
    }
}

/* ---- verdicts and what they emit ---------------------------------------------------------- */

static void format_duration(int64_t ns, char *buf, size_t cap)
{
    int64_t s = ns / 1000000000LL;

    if (s < 0) {
        s = 0;
    }
    if (s >= 3600) {
        size_t o = text_put_u64(buf, cap, 0, (uint64_t)(s / 3600), 1);

        o = text_put(buf, cap, o, "h", 1);
        o = text_put_u64(buf, cap, o, (uint64_t)(s / 60 % 60), 2);
        text_put(buf, cap, o, "m", 1);
    } else if (s >= 60) {
        size_t o = text_put_u64(buf, cap, 0, (uint64_t)(s / 60), 1);

        o = text_put(buf, cap, o, "m", 1);
        o = text_put_u64(buf, cap, o, (uint64_t)(s % 60), 2);
        text_put(buf, cap, o, "s", 1);
    } else {
        text_put(buf, cap, text_put_u64(buf, cap, 0, (uint64_t)s, 1), "s", 1);
    }
}

/* The failure that best explains the rollout: most severe, then most frequent, then first. */
static const struct ro_failure *main_failure(const struct rollout *ro)
{
    const struct ro_failure *best = NULL;

    for (size_t i = 0; i < ro->nf; i++) {
        const struct ro_failure *f = &ro->fail[i];

        if (best == NULL || f->severity > best->severity ||
            (f->severity == best->severity && f->count > best->count)) {
            best = f;
        }
    }
    return best;
}

static void diagnose(const struct rollout *ro, enum rollout_status st, char *buf, size_t cap)
{
    const struct ro_failure *m = main_failure(ro);
    size_t o = 0;

    buf[0] = '\0';
    if (m != NULL) {
        o = text_puts(buf, cap, 0, m->summary);
        for (size_t i = 0; i < ro->nf && o + 1 < cap; i++) {
            if (&ro->fail[i] != m) {
                o = text_puts(buf, cap, o, o ? "; also " : "");
                o = text_puts(buf, cap, o, ro->fail[i].cls);
                o = text_put(buf, cap, o, " x", 2);
                o = text_put_u64(buf, cap, o, ro->fail[i].count, 1);
            }
        }
    } else if (st == ROLLOUT_STUCK) {
        text_puts(buf, cap, 0, "no terminal status and no progress in the logs; no pod failure seen");
    } else if (st != ROLLOUT_SUCCEEDED && st != ROLLOUT_STARTED) {
        o = text_puts(buf, cap, 0, "status ");
        o = text_puts(buf, cap, o, ro->decider[0] ? ro->decider : "unknown");
        text_puts(buf, cap, o, "; no pod failure seen in the logs");
    }
}

static const struct rule_class *find_class(const struct rule_set *set, const char *name)
{
    for (size_t i = 0; i < set->nclasses; i++) {
        if (strcmp(set->classes[i].name, name) == 0) {
            return &set->classes[i];
        }
    }
    return NULL;
}

/* The classes of the tracker's own alerts (rules.d/00-classes.json has them). */
enum { TRACKER_STUCK, TRACKER_FAILED, TRACKER_ROLLBACK_FAILED, TRACKER_NCLASSES };
static const char *const tracker_class[TRACKER_NCLASSES] = {"rollout_stuck", "rollout_failed",
                                                            "rollback_failed"};

/* The alert name of a tracker class: dashes for underscores, as rule names have them. */
static void tracker_alert_name(const char *cls_name, char *out, size_t cap)
{
    text_puts(out, cap, 0, cls_name);
    for (char *c = out; *c; c++) {
        *c = *c == '_' ? '-' : *c;
    }
}

int rules__rollouts_alert_name(const char *name)
{
    char own[64];

    for (size_t i = 0; i < TRACKER_NCLASSES; i++) {
        tracker_alert_name(tracker_class[i], own, sizeof(own));
        if (strcmp(name, own) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The record a rollout class's templates render: the app and the release. */
static void tracker_record(const struct rollout *ro, struct record *r)
{
    memset(r, 0, sizeof(*r));
    /* an unknown app is absent, as on a pod's alert: {{app}} renders "?", the JSON says null */
    r->app = ro->app[0] ? sl(ro->app) : SLICE_NONE;
    r->release = sl(ro->release);
    r->kind = RECORD_ATOM;
}

static void rollout_alert(struct rules_engine *eng, const struct rollout *ro, const char *cls_name,
                          int scope, int64_t at, const char *diagnosis, const char *duration)
{
    static const int key[] = {FIELD_APP};
    const struct rule_class *cls = find_class(eng->set, cls_name);
    const struct ro_failure *m = main_failure(ro);
    struct alert_spec sp;
    struct tpl_ctx ctx = {0};
    struct record r;
    char name[64], hint[4096];
    struct slice ev;

    if (cls == NULL) {
        return; /* a rule set without this class asks for no such alert */
    }
    tracker_record(ro, &r);
    r.service = m ? sl(m->service) : SLICE_NONE;
    ev = m ? sl(m->evidence) : ro->last_line[0] ? sl(ro->last_line) : SLICE_NONE;
    tracker_alert_name(cls_name, name, sizeof(name));
    memset(&sp, 0, sizeof(sp));
    sp.rule = -1;
    sp.name = name;
    sp.cls = cls;
    sp.severity = cls->severity;
    sp.key = key;
    sp.nkey = 1;
    sp.scope = scope;
    if (m != NULL && m->hint != NULL) {
        /* the failing class says what to fix; the rollout class says what happens next */
        char tail[2048];
        size_t o = text_puts(hint, sizeof(hint), 0, m->hint);

        rules__tpl_render(&cls->hint, &r, &ctx, tail, sizeof(tail));
        text_puts(hint, sizeof(hint), text_put(hint, sizeof(hint), o, " ", 1), tail);
        sp.hint_text = hint;
    }
    ctx.diagnosis = diagnosis;
    ctx.duration = duration;
    ctx.status = ro->decider[0] ? ro->decider : NULL;
    rules__alert_fire(&eng->alerts, &sp, &r, ev.p ? &ev : NULL, ev.p ? 1 : 0, at, &ctx);
}

/* The rollout is over: what it caused is resolved (pod failures, stuck, failed). */
static void end_rollout(struct rules_engine *eng, struct rollout *ro, enum rollout_status st,
                        int64_t at)
{
    struct slice app = sl(ro->app);

    ro->phase = RO_DONE;
    ro->ended_at = at;
    eng->stats.rollouts_ended++;
    if (eng->rollouts->cur_app != NULL && strcmp(eng->rollouts->cur_app, ro->app) == 0) {
        current(eng->rollouts, ro->app, NULL);
    }
    rules__alert_resolve_scope(&eng->alerts, app, ALERT_SCOPE_STUCK, at);
    if (st != ROLLOUT_ROLLBACK_FAILED) {
        /* after a failed rollback the failing pods may well still be there */
        rules__alert_resolve_scope(&eng->alerts, app, ALERT_SCOPE_POD, at);
    }
    rules__alert_resolve_scope(&eng->alerts, app, ALERT_SCOPE_FAILED, at);
    if (st == ROLLOUT_SUCCEEDED) {
        rules__alert_resolve_scope(&eng->alerts, app, ALERT_SCOPE_APP_DOWN, at);
    }
}

/* The texts an event points at: they live in the caller's frame. */
struct event_text {
    struct rollout_failure fails[MAX_FAILURES];
    char diagnosis[TEXT_MAX], duration[32], class_hint[2048];
};

/* ev: ro as it is now, with status st at time at. */
static void fill_event(struct rules_engine *eng, const struct rollout *ro, enum rollout_status st,
                       int64_t at, struct rollout_event *ev, struct event_text *t)
{
    diagnose(ro, st, t->diagnosis, sizeof(t->diagnosis));
    format_duration(at - ro->started_at, t->duration, sizeof(t->duration));
    memset(ev, 0, sizeof(*ev));
    ev->status = st;
    ev->app = ro->app;
    ev->release = ro->release;
    ev->at = at;
    ev->started_at = ro->started_at;
    ev->start_seen = ro->start_seen;
    ev->transitions = (const char *const *)ro->transitions;
    ev->ntransitions = ro->nt;
    ev->services = (const char *const *)ro->services;
    ev->nservices = ro->ns;
    ev->pods = (const char *const *)ro->pods;
    ev->npods = ro->np;
    for (size_t i = 0; i < ro->nf; i++) {
        t->fails[i].class_name = ro->fail[i].cls;
        t->fails[i].count = ro->fail[i].count;
        t->fails[i].evidence = ro->fail[i].evidence;
    }
    ev->failures = t->fails;
    ev->nfailures = ro->nf;
    ev->diagnosis = t->diagnosis;
    ev->hint = main_failure(ro) ? main_failure(ro)->hint : NULL;
    if (ev->hint == NULL && st != ROLLOUT_STARTED && st != ROLLOUT_SUCCEEDED) {
        /* no pod failure to say what to fix: the rollout class's own hint says what to do (a
         * failed rollback, the worst outcome, had none in the report) */
        const struct rule_class *cls =
            find_class(eng->set, tracker_class[st == ROLLOUT_STUCK             ? TRACKER_STUCK
                                               : st == ROLLOUT_ROLLBACK_FAILED ? TRACKER_ROLLBACK_FAILED
                                                                               : TRACKER_FAILED]);

        if (cls != NULL) {
            struct tpl_ctx ctx = {0};
            struct record r;

            tracker_record(ro, &r);
            ctx.diagnosis = t->diagnosis;
            ctx.duration = t->duration;
            ctx.status = ro->decider[0] ? ro->decider : NULL;
            rules__tpl_render(&cls->hint, &r, &ctx, t->class_hint, sizeof(t->class_hint));
            ev->hint = t->class_hint[0] ? t->class_hint : NULL;
        }
    }
    ev->timeline = ro->timeline;
    ev->ntimeline = ro->ntl;
}

static void emit(struct rules_engine *eng, struct rollout *ro, enum rollout_status st, int64_t at)
{
    struct event_text t;
    struct rollout_event ev;
    const char *diagnosis = t.diagnosis, *duration = t.duration;
    struct slice app = sl(ro->app);

    if (ro->emitted & (1u << st)) {
        return;
    }
    ro->emitted |= 1u << st;
    fill_event(eng, ro, st, at, &ev, &t);
    if (st == ROLLOUT_STARTED) {
        eng->stats.rollouts_started++;
    }
    if (eng->on_rollout) {
        eng->on_rollout(eng->rollout_arg, &ev);
    }
    switch (st) {
    case ROLLOUT_STUCK:
        rollout_alert(eng, ro, tracker_class[TRACKER_STUCK], ALERT_SCOPE_STUCK, at, diagnosis,
                      duration);
        break;
    case ROLLOUT_FAILED:
        rules__alert_resolve_scope(&eng->alerts, app, ALERT_SCOPE_STUCK, at);
        rollout_alert(eng, ro, tracker_class[TRACKER_FAILED], ALERT_SCOPE_FAILED, at, diagnosis,
                      duration);
        break;
    case ROLLOUT_ROLLBACK_FAILED:
        rules__alert_resolve_scope(&eng->alerts, app, ALERT_SCOPE_STUCK, at);
        rollout_alert(eng, ro, tracker_class[TRACKER_ROLLBACK_FAILED], ALERT_SCOPE_APP_DOWN, at,
                      diagnosis, duration);
        end_rollout(eng, ro, st, at);
        break;
    case ROLLOUT_SUCCEEDED:
    case ROLLOUT_ROLLED_BACK:
        end_rollout(eng, ro, st, at);
        break;
    default:
        break;
    }
}

/* s into buf (NUL-terminated, cut to cap - 1 bytes); returns the length. */
static size_t copy_cut(char *buf, size_t cap, struct slice s)
{
    buf[0] = '\0';
    return text_put(buf, cap, 0, s.p, s.len);
}

static void add_failure(struct rules_engine *eng, struct rollout *ro, const struct record *r,
                        const char *name, const struct rule *rule);

/* Forgets the failures kept for the app's next rollout: they were not its own. */
static void pre_drop(struct rollout *ro)
{
    ro->npre = ro->pre_next = 0;
}

/* Keeps r, a pod failure of the app while none of its rollouts is under way. */
static void pre_keep(struct rollout *ro, const struct record *r, const struct rule *rule)
{
    struct pre_failure *f;
    size_t n;

    if (ro->pre == NULL) {
        ro->pre = xcalloc(PRE_MAX, sizeof(*ro->pre));
    }
    f = &ro->pre[ro->pre_next];
    ro->pre_next = (ro->pre_next + 1) % PRE_MAX;
    ro->npre += ro->npre < PRE_MAX;
    f->at = r->ts_ns;
    copy_cut(f->cls, sizeof(f->cls), r->class_name);
    copy_cut(f->rule, sizeof(f->rule), sl(rule != NULL ? rule->id : NULL));
    f->replicaset_len = (unsigned char)copy_cut(f->replicaset, sizeof(f->replicaset), r->replicaset);
    f->service_len = (unsigned char)copy_cut(f->service, sizeof(f->service), r->service);
    f->pod_len = (unsigned char)copy_cut(f->pod, sizeof(f->pod), r->pod);
    n = copy_cut(f->line, sizeof(f->line), r->line);
    f->line_len = (unsigned char)n;
    /* the message is the end of the line, when the cut left it there */
    f->msg_off = r->message.p != NULL && r->message.p >= r->line.p &&
                         (size_t)(r->message.p - r->line.p) <= n
                     ? (unsigned char)(r->message.p - r->line.p)
                     : (unsigned char)n;
}

/*
 * A rollout first seen in the middle (its start line is not in the log): the app's failures
 * kept since its last rollout, from within the deadline before, were part of it, and it began
 * at the first of them at the latest.
 */
static void pre_attach(struct rules_engine *eng, struct rollout *ro, int64_t at)
{
    for (size_t k = 0; k < ro->npre; k++) {
        /* oldest first: the ring's next slot holds the oldest once it is full */
        const struct pre_failure *f =
            &ro->pre[(ro->pre_next + PRE_MAX - ro->npre + k) % PRE_MAX];
        const struct rule *rule = NULL;
        struct record r;

        if (f->at > at || at - f->at > PRE_WINDOW_NS) {
            continue;
        }
        memset(&r, 0, sizeof(r));
        r.ts_ns = f->at;
        r.ts_src = TS_OWN;
        r.line = (struct slice){f->line, f->line_len};
        r.message = (struct slice){f->line + f->msg_off, (size_t)(f->line_len - f->msg_off)};
        r.service = f->service_len ? (struct slice){f->service, f->service_len} : SLICE_NONE;
        r.replicaset =
            f->replicaset_len ? (struct slice){f->replicaset, f->replicaset_len} : SLICE_NONE;
        r.pod = f->pod_len ? (struct slice){f->pod, f->pod_len} : SLICE_NONE;
        r.app = sl(ro->app);
        r.class_name = sl(f->cls);
        add_unique(&ro->mem, ro->services, ro->service_len, &ro->ns, MAX_SERVICES, r.service);
        add_pod(ro, r.pod);
        for (size_t i = 0; f->rule[0] != '\0' && i < eng->set->nrules && rule == NULL; i++) {
            rule = strcmp(eng->set->rules[i].id, f->rule) == 0 ? &eng->set->rules[i] : NULL;
        }
        add_failure(eng, ro, &r, f->cls, rule);
        point(ro, f->at, pod_name(ro, r.pod), f->cls, strlen(f->cls), 1, r.line);
        ro->started_at = f->at < ro->started_at ? f->at : ro->started_at;
    }
    pre_drop(ro);
}

/* A new rollout; first: the transition that started it ("Running => Pending"), or NULL. */
static void start(struct rules_engine *eng, struct rollout *ro, int64_t at, int seen,
                  const char *first)
{
    struct rollouts *all = eng->rollouts;

    rollout_clear(ro);
    if (first != NULL) {
        add_transition(ro, first, 0);
        point(ro, at, NULL, first, strlen(first), 0, SLICE_NONE);
    }
    if (all->early_release != NULL && strcmp(all->early_app, ro->app) == 0) {
        free(ro->next_release);
        ro->next_release = all->early_release;
        ro->next_release_at = NO_TIME;
        all->early_release = NULL;
    }
    ro->phase = RO_ACTIVE;
    ro->start_seen = seen;
    ro->started_at = at;
    ro->began_at = at;
    ro->last_progress = at;
    if (seen) {
        pre_drop(ro); /* before its start line: not this rollout's */
    } else {
        pre_attach(eng, ro, at);
    }
    if (ro->next_release != NULL &&
        (ro->next_release_at == NO_TIME || at - ro->next_release_at <= RELEASE_MAX_AGE_NS)) {
        set_release(ro, ro->next_release);
    }
    free(ro->next_release);
    ro->next_release = NULL;
    current(all, ro->app, ro->release);
    if (seen) {
        emit(eng, ro, ROLLOUT_STARTED, at);
    }
}

static void fail(struct rules_engine *eng, struct rollout *ro, const char *decider, int64_t at)
{
    if (ro->decider[0] == '\0') {
        text_puts(ro->decider, sizeof(ro->decider), 0, decider);
    }
    emit(eng, ro, ROLLOUT_FAILED, at);
}

/*
 * The CLI's OK after Promoting: the verdict, when no atom line said it. A transcript of only
 * CLI lines (filtered, or from an old rack) has no other.
 */
static void transcript_ok(struct rules_engine *eng, struct rollout *ro, int64_t at)
{
    if (ro->phase == RO_ACTIVE) {
        /* the CLI says OK once the app runs the promoted release, and stops streaming the
         * logs there: the atom's "Updating => Running" may never be in the transcript. After
         * atom lines, only the OK of a transcript that named the release counts: a stray "OK"
         * (a test runner's, in a CI log) must not end a rollout the atom still runs. */
        if (!(ro->emitted & (1u << ROLLOUT_FAILED)) && (ro->nt == 0 || ro->release != NULL)) {
            emit(eng, ro, ROLLOUT_SUCCEEDED, at);
        }
        return;
    }
    if (ro->next_release != NULL || eng->rollouts->early_release != NULL) {
        start(eng, ro, at, 1, NULL);
        emit(eng, ro, ROLLOUT_SUCCEEDED, at);
    }
}

/*
 * The CLI's ERROR after Promoting, during a rollout. Only two say how it went: `ERROR: rollback`
 * (the app went back to the release before) and `ERROR: timeout` (35 minutes without running).
 * Any other is the CLI's own trouble (`ERROR: Get "https://rack/apps/x": net/http: TLS handshake
 * timeout` while it polls): the rack goes on, and its atom decides. An ERROR starts no rollout:
 * a transcript's lines take the time of the lines before them, so in files merged by time its
 * ERROR can come before the atom lines of the rollout it ends.
 */
static void transcript_error(struct rules_engine *eng, struct rollout *ro, const struct record *r,
                             int64_t at)
{
    int timeout = slice_eq(r->message, "timeout");

    if (ro->phase != RO_ACTIVE || (!timeout && !slice_eq(r->message, "rollback"))) {
        return;
    }
    note_line(ro, r);
    if (timeout) {
        emit(eng, ro, ROLLOUT_STUCK, at);
    } else {
        fail(eng, ro, "ERROR: rollback", at);
    }
}

/*
 * "<from> => <to>" of a service's own atom (atom/service/web, older racks), beside the app's:
 * progress of the app's rollout for its timeline, never its start or verdict (the service's
 * "Updating => Running" comes before the app's, its "Running => Pending" after the app's).
 */
static void service_transition(struct rules_engine *eng, const struct record *r)
{
    struct kv_entry *e = rules__kv_get(&eng->rollouts->apps, r->app.p ? r->app.p : "", r->app.len);
    struct rollout *ro;
    char text[128];
    size_t n = 0;

    if (e == NULL || (ro = e->val)->phase != RO_ACTIVE) {
        return;
    }
    n = text_put(text, sizeof(text), n, r->service.p, r->service.len);
    n = text_put(text, sizeof(text), n, ": ", 2);
    n = text_put(text, sizeof(text), n, r->status_from.p, r->status_from.len);
    n = text_put(text, sizeof(text), n, " => ", 4);
    n = text_put(text, sizeof(text), n, r->status_to.p, r->status_to.len);
    point(ro, r->ts_ns, NULL, text, n, 0, SLICE_NONE);
    ro->last_progress = r->ts_ns > ro->last_progress ? r->ts_ns : ro->last_progress;
}

/* "<from> => <to>" on the atom stream */
static void transition(struct rules_engine *eng, struct rollout *ro, const struct record *r)
{
    enum atom_status from = atom_status(r->status_from), to = atom_status(r->status_to);
    int64_t at = r->ts_ns;
    char text[96], from_name[32], to_name[32];
    const char *why;
    size_t nf = copy_cut(from_name, sizeof(from_name), r->status_from);
    size_t nt = copy_cut(to_name, sizeof(to_name), r->status_to);

    memcpy(text, from_name, nf);
    memcpy(text + nf, " => ", 4);
    memcpy(text + nf + 4, to_name, nt + 1);
    if (to == ST_PENDING) {
        if (ro->phase == RO_ACTIVE && !ro->start_seen && at <= ro->began_at + LATE_NS) {
            /* the start line, arriving after the line that made us start implicitly */
            ro->start_seen = 1;
            ro->started_at = at < ro->started_at ? at : ro->started_at;
            add_transition(ro, text, 0);
            point(ro, at, NULL, text, strlen(text), 0, SLICE_NONE);
            emit(eng, ro, ROLLOUT_STARTED, ro->started_at);
            return;
        } else if (ro->phase == RO_DONE &&
                   (at < ro->ended_at || (at == ro->ended_at && !ro->start_seen))) {
            /* the start line of the rollout that already ended: late, not a new deploy */
            ro->start_seen = 1;
            add_transition(ro, text, 1);
            return;
        } else if (ro->phase == RO_ACTIVE && at > ro->began_at + LATE_NS) {
            /* a new deploy while we still wait for the last one's end: its from-status says
             * how that one ended (the CLI's ERROR: rollback comes before Reverted) */
            note_line(ro, r);
            if (from == ST_REVERTED) {
                fail(eng, ro, "Rollback", at);
                emit(eng, ro, ROLLOUT_ROLLED_BACK, at);
            } else if (from == ST_FAILURE) {
                fail(eng, ro, "Rollback", at);
                emit(eng, ro, ROLLOUT_ROLLBACK_FAILED, at);
            } else if (from == ST_RUNNING || from == ST_SUCCESS) {
                emit(eng, ro,
                     ro->emitted & (1u << ROLLOUT_FAILED) ? ROLLOUT_ROLLED_BACK : ROLLOUT_SUCCEEDED,
                     at);
            }
            start(eng, ro, at, 1, text);
            note_line(ro, r);
            return;
        } else if (ro->phase != RO_ACTIVE) {
            start(eng, ro, at, 1, text);
            note_line(ro, r);
            return;
        }
    } else if (ro->phase == RO_DONE && at <= ro->ended_at + LATE_NS) {
        /* a late line of the rollout that just ended: recorded, the verdict stands */
        add_transition(ro, text, 1);
        return;
    } else if (ro->phase != RO_ACTIVE) {
        /* the log begins in the middle of a rollout. One first seen at "Pending => X" began
         * a moment ago (its start line may follow, out of order): what failed before was not
         * its own */
        if (from == ST_PENDING) {
            pre_drop(ro);
        }
        start(eng, ro, at, 0, NULL);
    }
    add_transition(ro, text, 0);
    point(ro, at, NULL, text, strlen(text), 0, SLICE_NONE);
    note_line(ro, r);
    ro->last_progress = at > ro->last_progress ? at : ro->last_progress;
    /* what failed the rollout: the failing status itself, or the one a rollback came from */
    why = failing_status(to) ? to_name : failing_status(from) ? from_name : "Rollback";
    switch (to) {
    case ST_RUNNING:
    case ST_SUCCESS:
        /* Running after a failure would be a rollback that ended well */
        emit(eng, ro,
             ro->emitted & (1u << ROLLOUT_FAILED) ? ROLLOUT_ROLLED_BACK : ROLLOUT_SUCCEEDED, at);
        break;
    case ST_DEADLINE:
    case ST_ERROR:
    case ST_CANCELLED:
    case ST_FAILED:
    case ST_ROLLBACK:
        fail(eng, ro, why, at);
        break;
    case ST_REVERTED:
        fail(eng, ro, why, at);
        emit(eng, ro, ROLLOUT_ROLLED_BACK, at);
        break;
    case ST_FAILURE:
        fail(eng, ro, why, at);
        emit(eng, ro, ROLLOUT_ROLLBACK_FAILED, at);
        break;
    default:
        break;
    }
}

/* The deploy transcript: Promoting R…, Release: R…, OK, ERROR: … */
static void transcript(struct rules_engine *eng, struct rollout *ro, const struct record *r)
{
    int64_t at = r->ts_ns;
    char rel[32];
    int own_time = r->ts_src == TS_OWN;

    if ((slice_eq(r->cli, "promoting") || slice_eq(r->cli, "release") ||
         slice_eq(r->cli, "rolling_back")) &&
        r->release.p != NULL) {
        copy_cut(rel, sizeof(rel), r->release);
        if (ro->phase == RO_ACTIVE && !slice_eq(r->cli, "release") && ro->release == NULL) {
            set_release(ro, rel);
            current(eng->rollouts, ro->app, ro->release);
        } else {
            free(ro->next_release);
            ro->next_release = xstrdup(rel);
            ro->next_release_at = at;
        }
        /* a transcript line carries no time of its own: the atom's Pending starts the rollout
         * at its real time; only a transcript without atom lines starts at its OK */
        if (slice_eq(r->cli, "promoting") && own_time && ro->phase != RO_ACTIVE) {
            start(eng, ro, at, 1, NULL);
        }
        /* "Promoting R... OK" on one line is a promote without --wait: the rack took it, the
         * rollout has not even begun; its verdict comes from the atom */
        return;
    }
    if (slice_eq(r->cli, "ok")) {
        transcript_ok(eng, ro, at);
    } else if (slice_eq(r->cli, "error")) {
        transcript_error(eng, ro, r, at);
    }
}

/* Counts a failure of class name (seen in r, classified by rule, may be NULL). */
static void add_failure(struct rules_engine *eng, struct rollout *ro, const struct record *r,
                        const char *name, const struct rule *rule)
{
    const struct rule_class *cls = NULL;
    struct ro_failure *f = NULL;

    for (size_t i = 0; i < ro->nf; i++) {
        if (strcmp(ro->fail[i].cls, name) == 0) {
            f = &ro->fail[i];
        }
    }
    if (f == NULL && ro->nf < MAX_FAILURES) {
        const struct tpl *sum = NULL, *hint = NULL;
        char text[TEXT_MAX], msg[256];
        struct tpl_ctx ctx = {0};
        size_t n;

        cls = find_class(eng->set, name);
        f = &ro->fail[ro->nf++];
        memset(f, 0, sizeof(*f));
        f->cls = arena_strndup(&ro->mem, name, strlen(name));
        f->evidence = arena_strndup(&ro->mem, r->line.p ? r->line.p : "",
                                    r->line.len < 2048 ? r->line.len : 2048);
        f->service = r->service.p ? arena_strndup(&ro->mem, r->service.p, r->service.len) : NULL;
        f->severity = rule && rule->has_severity ? rule->severity
                      : cls                      ? cls->severity
                                                 : SEVERITY_WARNING;
        /* the texts of the rule that classified it are the most specific ones */
        if (rule != NULL && rule->summary.n) {
            sum = &rule->summary;
        } else if (cls != NULL) {
            sum = &cls->summary;
        }
        if (rule != NULL && rule->hint.n) {
            hint = &rule->hint;
        } else if (cls != NULL) {
            hint = &cls->hint;
        }
        ctx.class_name = f->cls;
        ctx.count = 1;
        ctx.rule = rule ? rule->id : NULL;
        n = sum ? rules__tpl_render(sum, r, &ctx, text, sizeof(text)) : 0;
        /* and the line's own words: "statuscode: 404", "exec format error" */
        copy_cut(msg, 201, r->message); /* at most 200 bytes; an absent message is "" */
        if (n > 0) {
            n = text_puts(text, sizeof(text), n, " (");
            text_put(text, sizeof(text), text_puts(text, sizeof(text), n, msg), ")", 1);
        } else {
            text_puts(text, sizeof(text), 0, msg);
        }
        f->summary = arena_strndup(&ro->mem, text, strlen(text));
        if (hint != NULL) {
            rules__tpl_render(hint, r, &ctx, text, sizeof(text));
            f->hint = arena_strndup(&ro->mem, text, strlen(text));
        }
    }
    if (f != NULL) {
        f->count++;
    }
}

/* A pod-level record of the app during a rollout: what it touched and what failed. */
static void observe(struct rules_engine *eng, struct rollout *ro, const struct record *r)
{
    if (r->kind == RECORD_K8S || r->kind == RECORD_CLI) {
        add_unique(&ro->mem, ro->services, ro->service_len, &ro->ns, MAX_SERVICES, r->service);
        if (r->object_kind == OBJECT_POD || slice_eq(r->event, "pod_created")) {
            add_pod(ro, r->pod);
        }
    }
    if (r->class_name.p != NULL) {
        char name[64];

        copy_cut(name, sizeof(name), r->class_name);
        add_failure(eng, ro, r, name, eng->class_rule);
        point(ro, r->ts_ns, pod_name(ro, r->pod), r->class_name.p, r->class_name.len, 1, r->line);
    } else if (r->event.p != NULL) {
        if (r->object_kind == OBJECT_POD || slice_eq(r->event, "pod_created")) {
            point(ro, r->ts_ns, pod_name(ro, r->pod), r->event.p, r->event.len, 0, SLICE_NONE);
        }
        /* lifecycle progress: the rollout is moving. Not the autoscaler's rescales (hpa_*
         * events of 10-lifecycle.json): they come every few minutes whatever the rollout does,
         * and held a stuck one back for as long as they came */
        if (!(r->event.len >= 4 && memcmp(r->event.p, "hpa_", 4) == 0)) {
            ro->last_progress = r->ts_ns > ro->last_progress ? r->ts_ns : ro->last_progress;
        }
    }
}

void rules__rollouts_record(struct rules_engine *eng, const struct record *r)
{
    struct rollout *ro;
    struct kv_entry *e;

    if (r->ts_src == TS_NONE) {
        /* before the first timestamp: only "Promoting R…" matters, for the coming rollout */
        if (r->kind == RECORD_CLI && r->release.p != NULL) {
            struct rollouts *all = eng->rollouts;

            free(all->early_app);
            free(all->early_release);
            all->early_app = xstrndup(r->app.p ? r->app.p : "", r->app.len);
            all->early_release = xstrndup(r->release.p, r->release.len);
        }
        if (r->kind == RECORD_CLI && (slice_eq(r->cli, "ok") || slice_eq(r->cli, "promoting")) &&
            eng->rollouts->early_release != NULL) {
            /* a transcript with no timestamp at all: the event clock has nothing, say 0 */
            transcript(eng, get(eng, r->app, eng->now), r);
        }
        return;
    }
    if (r->kind == RECORD_ATOM && r->status_to.p != NULL && r->status_from.p != NULL) {
        if (r->service.p != NULL) {
            service_transition(eng, r);
        } else {
            transition(eng, get(eng, r->app, r->ts_ns), r);
        }
        return;
    }
    if (r->kind == RECORD_CLI) {
        transcript(eng, get(eng, r->app, r->ts_ns), r);
        if (!slice_eq(r->cli, "pod_status")) {
            return;
        }
    }
    /* everything else only matters to a rollout that is under way, and untagged app output
     * (most lines) not even then */
    if (r->kind == RECORD_APP && r->class_name.p == NULL && r->event.p == NULL) {
        return;
    }
    if (r->pod.p != NULL && r->replicaset.p == NULL) {
        /* a pod no ReplicaSet owns (a timer's, a one-off `convox run`, a build, an agent): the
         * rollout neither waits for it nor fails by it. A timer running every minute held a
         * stuck rollout back forever, and a failed build pod became its diagnosis */
        return;
    }
    e = rules__kv_get(&eng->rollouts->apps, r->app.p ? r->app.p : "", r->app.len);
    if (e == NULL || (ro = e->val)->phase != RO_ACTIVE) {
        /* (a late line of the rollout that just ended is that one's) */
        if (r->class_name.p != NULL && r->kind != RECORD_CLI && r->ts_src != TS_NONE &&
            (e == NULL || ro->phase != RO_DONE || r->ts_ns > ro->ended_at + LATE_NS)) {
            pre_keep(e != NULL ? e->val : get(eng, r->app, r->ts_ns), r, eng->class_rule);
        }
        return;
    }
    rules__kv_refresh(&eng->rollouts->apps, e, r->ts_ns); /* not a second look-up */
    observe(eng, ro, r);
}

void rules__rollouts_tick(struct rules_engine *eng)
{
    struct kv_entry *e, *prev;

    for (e = eng->rollouts->apps.tail; e != NULL; e = prev) {
        struct rollout *ro = e->val;
        int64_t stuck_at;

        prev = e->lprev;
        if (ro->phase == RO_ACTIVE && !(ro->emitted & (1u << ROLLOUT_STUCK)) &&
            !(ro->emitted & (1u << ROLLOUT_FAILED))) {
            /* stuck: past the deadline and quiet for a while (a slow but moving rollout is not) */
            stuck_at = ro->started_at + eng->stuck_after_ns;
            if (ro->last_progress + eng->quiet_after_ns > stuck_at) {
                stuck_at = ro->last_progress + eng->quiet_after_ns;
            }
            if (eng->now > stuck_at) {
                emit(eng, ro, ROLLOUT_STUCK, stuck_at);
            }
        }
    }
    rules__kv_expire(&eng->rollouts->apps, eng->now - eng->expire_ns);
}

void rules__rollouts_failure(struct rules_engine *eng, const struct record *r,
                             const struct rule *rule)
{
    struct kv_entry *e = rules__kv_get(&eng->rollouts->apps, r->app.p ? r->app.p : "", r->app.len);
    struct rollout *ro;

    if (e == NULL || (ro = e->val)->phase != RO_ACTIVE || rule->cls == NULL) {
        return;
    }
    add_failure(eng, ro, r, rule->cls->name, rule);
    point(ro, eng->now, pod_name(ro, r->pod), rule->cls->name, strlen(rule->cls->name), 1,
          r->line);
}

void rules_rollouts_snapshot(struct rules_engine *eng)
{
    /* oldest first, as their starts came */
    for (struct kv_entry *e = eng->rollouts->apps.tail; e != NULL; e = e->lprev) {
        const struct rollout *ro = e->val;
        struct event_text t;
        struct rollout_event ev;

        if (ro->phase != RO_ACTIVE || eng->on_rollout == NULL) {
            continue;
        }
        fill_event(eng, ro,
                   ro->emitted & (1u << ROLLOUT_STUCK) ? ROLLOUT_STUCK : ROLLOUT_STARTED,
                   eng->now > ro->started_at ? eng->now : ro->started_at, &ev, &t);
        ev.in_progress = 1;
        eng->on_rollout(eng->rollout_arg, &ev);
    }
}
