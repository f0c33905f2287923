/* rules internals shared between its files: the positioned JSON tree, compiled rules, state. */
#ifndef ROLLWATCH_RULES_INT_H
#define ROLLWATCH_RULES_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "alert.h"
#include "err.h"
#include "record.h"
#include "rules.h"

/* ---- a JSON tree whose nodes remember where they start (yajl_tree has no positions) ----- */

enum jtype { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

struct jnode {
    enum jtype type;
    size_t off;   /* byte offset of the value's first character in the file */
    size_t end;   /* J_ARRAY / J_OBJECT: offset just past its closing bracket */
    char *str;    /* J_STRING / J_NUMBER text, NUL-terminated (owned) */
    size_t len;
    int boolean;
    size_t n;              /* J_ARRAY / J_OBJECT members */
    struct jnode **items;  /* owned */
    char **keys;           /* J_OBJECT: owned, NUL-terminated */
    size_t *key_offs;      /* J_OBJECT: where each key starts */
};

struct jdoc {
    const char *path; /* borrowed */
    const char *text; /* borrowed, the file's bytes */
    size_t len;
    struct jnode *root; /* owned */
};

#define RULES_MAX_FILE_SIZE (1024 * 1024)
#define RULES_MAX_DEPTH 32

/* Parses text (comments allowed). Returns 0, or -1 with e set to FILE:LINE:COL. */
int rules__json_parse(const char *path, const char *text, size_t len, struct jdoc *doc,
                      struct err *e);
void rules__json_free(struct jdoc *doc);
/* 1-based line and column of byte offset off. */
void rules__json_pos(const struct jdoc *doc, size_t off, int *line, int *col);
/* Member of an object by key, or NULL. */
const struct jnode *rules__json_get(const struct jnode *obj, const char *key);

/* ---- compiled rules ---------------------------------------------------------------------- */

struct when;

enum cond_op {
    COND_EQUALS,
    COND_IN,
    COND_PREFIX,
    COND_SUFFIX,
    COND_CONTAINS,
    COND_REGEX,
    COND_GLOB,
    COND_PRESENT,
    COND_NOT,
    COND_MASK /* kind / object_kind: a bit per enum value, no string compare */
};

struct capture {
    int field; /* record field id (standard or interned extra) */
    const char *name;
    uint32_t group;
    uint32_t gid; /* its number in the rule set (capv), when it is in a "when" or "then" */
};

/*
 * A "contains" list searched in one pass: each place whose byte is the rarest byte of some
 * needle is a candidate for those needles. For lists of 2 to 32 needles whose rarest bytes
 * are at most 16 distinct values.
 */
#define CONTAINS_ANY_MAX 32
#define CONTAINS_ANY_BYTES 16
struct contains_any {
    uint32_t who[256]; /* bit i: needle i's rarest byte is this one */
    unsigned char bytes[CONTAINS_ANY_BYTES];
    unsigned nbytes;
    /*
     * Each needle's first two bytes, for a search that tests every place in a step of 16 by
     * table look-ups on each byte's two halves (a "Teddy" filter): bit b of fp1_lo[x & 15] &
     * fp1_hi[x >> 4] says x may be the first byte of a needle of group b; fp2 the same for the
     * second. Groups: needle i is in group i % 8 (bucket[b], a bit per needle). Set when every
     * needle kept has two bytes or more (fp_ok).
     */
    unsigned char fp1_lo[16], fp1_hi[16], fp2_lo[16], fp2_hi[16];
    uint32_t bucket[8];
    int fp_ok;
};

struct cond {
    enum cond_op op;
    int field;
    char **strs; /* owned: EQUALS/IN/PREFIX/SUFFIX/CONTAINS/GLOB operands */
    size_t *lens;
    /* CONTAINS: per needle, the positions of its rarest and second rarest bytes (the same for
     * a one-byte needle), looked for before the whole needle is compared */
    size_t *anchor;
    struct contains_any *any; /* owned: CONTAINS with several needles, or NULL */
    size_t nstrs;
    int present;   /* COND_PRESENT */
    unsigned mask; /* COND_MASK */
    pcre2_code *re; /* owned */
    char *src;      /* owned: the regex as written, for telling equal conditions apart */
    int jit;
    struct capture *caps; /* owned */
    size_t ncaps;
    struct when *sub; /* COND_NOT: owned; holds when not all of these hold */
    /*
     * Tested ahead, on replay's reader thread (rules_pre.c): the field is one no rule and no
     * tracker can change, so the parsed record alone decides it. uid: the same test in another
     * rule has the same uid, and is run once per record.
     */
    int pre;
    uint32_t uid;
};

/* A set of conditions that must all hold (cheap literal tests first, regexes last). */
struct when {
    struct cond *conds; /* owned */
    size_t n;
    uint32_t id;  /* its bit in the rules_pre_eval bit set */
    size_t npre;  /* conditions with pre set: none means the bit says nothing */
    uint32_t *rest; /* owned: the indices of the conditions without pre, in order */
    size_t nrest;
    size_t rest_caps; /* the captures of those conditions (all of the list's: a capture is
                       * never tested ahead) */
};

/* A template: literal text and field references. */
struct tpl_part {
    char *lit; /* owned; NULL for a field reference */
    size_t lit_len;
    int field; /* record field id, or TPL_CLASS / TPL_COUNT / TPL_RULE */
};
#define TPL_CLASS (-2)
#define TPL_COUNT (-3)
#define TPL_RULE (-4)
#define TPL_DIAGNOSIS (-5) /* rollout alerts: what went wrong, from the failures seen */
#define TPL_DURATION (-6)  /* rollout alerts: "12m30s" */
#define TPL_STATUS (-7)    /* rollout alerts: the atom status that decided it */

struct tpl {
    struct tpl_part *parts; /* owned */
    size_t n;
};

struct rule_class {
    char *name; /* owned */
    enum alert_severity severity;
    struct tpl summary, hint;
};

enum rule_type { RULE_MATCH, RULE_THRESHOLD, RULE_EXPECT };

struct rule {
    /*
     * First what the reader and the engine look at for each record that reaches the rule,
     * together in its first cache lines: a set of 104 rules of 488 bytes is more than the L1
     * cache holds, and these were spread over all of them.
     */
    enum rule_type type;
    /* its "when" and "then" can be decided ahead whole (rules_pre.c): they test no field that
     * state writes, and it has no recent condition */
    int ahead_ok;
    int has_resolve;
    int alert;                    /* raise an alert */
    char *event;                  /* owned, may be NULL */
    const struct rule_class *cls; /* borrowed from the set, may be NULL */
    char *recent_tag;             /* owned, NULL = no recent condition */
    struct slice event_tag, class_tag; /* event and the class's name as a record takes them */
    struct when when;
    struct when then; /* expect: B */
    char *id;         /* owned */
    uint64_t text_hash; /* of the rule's JSON text: a reload keeps the state of unchanged rules */
    char *file;         /* owned: where it was defined, for messages */
    int line;
    char *alert_name; /* owned, NULL = id */
    int has_severity;
    enum alert_severity severity;
    struct tpl summary, hint; /* empty = from the class */
    int key[8]; /* what state (threshold counts, expect waits, recent) is kept per */
    size_t nkey;
    int alert_key[8]; /* the alert's labels in its fingerprint; default: key */
    size_t nalert_key;
    struct when resolve; /* match: a record matching this with the same alert key resolves it */
    /* recent: an earlier record tagged recent_tag (event, or class) under the same key */
    int recent_is_class;
    size_t recent_tag_len; /* compared for each tagged record: not measured each time */
    int64_t recent_within_ns;
    int recent_key[8];
    size_t recent_nkey;
    /* the first bytes a message can start with, from its prefix tests (a cheap pre-filter) */
    int has_first;
    uint64_t first[4];
    uint32_t count;    /* threshold */
    int64_t window_ns; /* threshold window, expect deadline */
};

/* rules.d "settings" (rules.d/README.md); 0 = the built-in default. */
struct rule_settings {
    int64_t repeat_interval_ns;
    int64_t rollout_stuck_after_ns;
    int64_t rollout_quiet_after_ns;
    int64_t state_expire_ns;
};

struct rule_set {
    struct rule_settings settings;
    struct rule *rules; /* owned */
    size_t nrules;
    struct rule_class *classes; /* owned */
    size_t nclasses;
    char **extra_names; /* owned: interned capture names; id = FIELD_COUNT + index */
    size_t nextra;
    pcre2_match_data *md; /* one block, sized for the largest pattern (the main thread's) */
    uint32_t max_groups;  /* for match data of other threads */
    pcre2_match_context *mctx;
    /*
     * dispatch: for each record kind and first byte of the message (256: no message), the
     * rules that can match it, in load order. Lists live in one pool; bytes no prefix test
     * names share the list of the rules without one.
     */
    uint32_t *dispatch; /* owned */
    size_t dispatch_len, dispatch_cap;
    uint32_t disp_off[RECORD_KIND_COUNT][257];
    uint32_t disp_n[RECORD_KIND_COUNT][257];
    /* tags used by "recent" conditions, so eval records only what someone asks for */
    size_t *recent_rules; /* owned: indices of the rules with a "recent" condition */
    size_t nrecent_rules;
    uint32_t nwhen;   /* condition lists, each a bit of the rules_pre_eval set */
    uint32_t nuid;    /* distinct conditions tested ahead */
    const struct cond **pre_cond; /* owned array: the condition of each uid */
    /*
     * What rules_pre_eval runs for a record, per kind, object kind and first byte (as in
     * dispatch): a flat program. First the bits that hold for any such record, [n, (word, low,
     * high) * n]; then for each rule with tests left: [rule index, nlists] and [list id, n,
     * quick, uid * n] for each of its lists. quick is 0, or (pos << 8 | byte) when one of the
     * list's tests is a prefix of the message that has that byte at pos: a message without it
     * fails the list before any test runs. The bit set is nwhen list bits, then from word
     * cand_word one bit per rule that may do anything for the record.
     */
    uint32_t cand_word;
    /*
     * Deciding ahead (rules_pre.c): after the program, the reader runs the rest of the "when"
     * and "then" lists of the candidate rules too, in the engine's order, until a rule that
     * is not ahead_ok. 0 when the set is too large for its numbering (below).
     */
    int ahead;
    const struct capture **capv; /* owned array: the captures of "when" and "then", by gid */
    uint32_t ncapv;
    uint32_t *pre_prog; /* owned */
    size_t pre_prog_len, pre_prog_cap;
    uint32_t pre_off[RECORD_KIND_COUNT][OBJECT_KIND_COUNT][257];
    uint32_t pre_len[RECORD_KIND_COUNT][OBJECT_KIND_COUNT][257];
    int refs;         /* the engine's and the reader thread's; atomic */
};

/* Marks what rules_pre_eval can test ahead and numbers the lists and tests (rules_pre.c). */
void rules__pre_plan(struct rule_set *set);

/* Is bit i set in a rules_pre_eval set? */
static inline int rules__bit(const uint64_t *bits, uint32_t i)
{
    return (int)((bits[i >> 6] >> (i & 63)) & 1u);
}

/*
 * Evaluates all conditions of w against r; on success applies regex captures to r. bits: what
 * rules_pre_eval found for r with this set, or NULL; then the conditions tested ahead are
 * taken from it.
 */
struct rules_stats;
int rules__when_match(const struct rule_set *set, const struct when *w, struct record *r,
                      struct rules_stats *st, const uint64_t *bits);

/*
 * Is the needle p[0..n) in v? a[0] and a[1] are the positions of its rarest and its second
 * rarest byte (both 0 for a one-byte needle): a place is compared whole only if it has both.
 * memchr for the rarest byte: on short log lines this beats memmem, whose two-way setup costs
 * more than the search, and a SIMD search 16 places a test over both bytes (more instructions
 * than glibc's memchr, which mostly finds no rare byte at all). Inline: it runs a few times
 * for every line.
 */
static inline int rules__contains(struct slice v, const char *p, size_t n, const size_t a[2])
{
    const char *hit, *end;

    if (n == 0) {
        return 1;
    }
    if (v.len < n) {
        return 0;
    }
    hit = v.p + a[0];
    end = v.p + v.len - (n - a[0]); /* the last place the rarest byte can be */
    while (hit <= end && (hit = memchr(hit, p[a[0]], (size_t)(end - hit) + 1)) != NULL) {
        if (hit[(ptrdiff_t)a[1] - (ptrdiff_t)a[0]] == p[a[1]] && memcmp(hit - a[0], p, n) == 0) {
            return 1;
        }
        hit++;
    }
    return 0;
}

/* Sets c->anchor, and c->any when it applies, for c's needles (strs, lens, nstrs). */
void rules__contains_prepare(struct cond *c);

/* Is one of c's needles in v? c->any is set. */
int rules__contains_any(struct slice v, const struct cond *c);

/* A capture of a condition list that holds so far: applied when all of the list holds. */
#define MAX_PENDING_CAPS 16
struct rules_pending {
    const struct capture *cap;
    struct slice val;
};

/*
 * The conditions of w not tested ahead (its rest), with match data md; their captures go to
 * pend, not to r. The engine's rules__when_match and the reader's decide share it.
 */
int rules__when_rest(const struct rule_set *set, pcre2_match_data *md, const struct when *w,
                     const struct record *r, struct rules_pending *pend, size_t *npend,
                     struct rules_stats *st);

/* One condition, with match data md; captures go to pend (NULL: not wanted). */
int rules__cond_eval(const struct rule_set *set, pcre2_match_data *md, const struct cond *c,
                     const struct record *r, struct rules_pending *pend, size_t *npend,
                     struct rules_stats *st);

/* Values of the template names that are not record fields. */
struct tpl_ctx {
    const char *class_name;
    uint64_t count;
    const char *rule;
    const char *diagnosis;
    const char *duration;
    const char *status;
};

/* Renders t for r (may be NULL) into buf (NUL-terminated, cut at cap). */
size_t rules__tpl_render(const struct tpl *t, const struct record *r, const struct tpl_ctx *ctx,
                         char *buf, size_t cap);

/* Shell-style glob on a slice: '*', '?', '[abc]', '[a-z]', '[!x]'. */
int rules__glob(const char *pat, const char *s, size_t n);

/* Parses "30s", "5m", "1h30m", "2h" or plain seconds. Returns 0 or -1. */
int rules__duration(const char *s, int64_t *ns_out);

/* ---- keyed state: an LRU hash map with time expiry and a size cap ------------------------ */

struct kv_entry {
    char *key; /* in the entry's own allocation, just after it */
    size_t key_len;
    uint64_t hash;
    int64_t touched; /* event time of the last update */
    struct kv_entry *hnext, *lprev, *lnext;
    void *val;
};

struct kv {
    struct kv_entry **buckets;
    size_t nbuckets, count, cap;
    struct kv_entry *head, *tail; /* LRU: head = most recent */
    void (*free_val)(void *);
    uint64_t evicted;
};

void rules__kv_init(struct kv *kv, size_t cap, void (*free_val)(void *));
void rules__kv_free(struct kv *kv);
/* Finds key; returns the entry or NULL. */
struct kv_entry *rules__kv_get(struct kv *kv, const char *key, size_t len);
/* The hash the map uses, and get / put with it: one key looked up in two maps, hashed once. */
uint64_t rules__kv_hash(const char *key, size_t len);
struct kv_entry *rules__kv_get_h(struct kv *kv, const char *key, size_t len, uint64_t h);
struct kv_entry *rules__kv_put_h(struct kv *kv, const char *key, size_t len, uint64_t h,
                                 int64_t now);
/* Finds or creates key (created entries have val NULL), marks it most recent at time now. */
struct kv_entry *rules__kv_put(struct kv *kv, const char *key, size_t len, int64_t now);
void rules__kv_del(struct kv *kv, struct kv_entry *e);
/* Makes e the most recent without changing its time. */
void rules__kv_touch(struct kv *kv, struct kv_entry *e);
/* What rules__kv_put does to an entry it finds: the newer time, and to the front. */
void rules__kv_refresh(struct kv *kv, struct kv_entry *e, int64_t now);
/* Drops entries untouched since before cutoff (oldest first). */
void rules__kv_expire(struct kv *kv, int64_t cutoff);

#endif

/* ---- the alert table: dedup by fingerprint, firing state, resolved notices ---------------- */

/* What to raise: a rule's alert or one of the rollout tracker's. */
struct alert_spec {
    const char *name; /* the alert's "rule" field and the fingerprint's first part */
    const struct rule_class *cls; /* may be NULL */
    enum alert_severity severity;
    const struct tpl *summary, *hint; /* may be NULL */
    const int *key;
    size_t nkey;
    int scope; /* ALERT_SCOPE_*: which events resolve it without a rule */
    const char *hint_text; /* used instead of the hint templates when set */
    long rule; /* index of the rule raising it, -1 for none: its firing count is kept */
};

#define ALERT_SCOPE_POD 1     /* a pod-level failure: resolved when the app's rollout ends */
#define ALERT_SCOPE_STUCK 2   /* resolved when the rollout reaches any verdict */
#define ALERT_SCOPE_FAILED 3  /* resolved when the rollout ends (rolled back or not) */
#define ALERT_SCOPE_APP_DOWN 4 /* rollback failed: resolved by the next successful rollout */

struct alert_state;

struct alerts {
    struct kv table; /* alert key -> struct alert_state */
    /* the firing ones, in the order they began: what a rollout's end may resolve */
    struct alert_state *firing_head, *firing_tail;
    uint32_t *firing_by_rule; /* borrowed from the engine: firing alerts per rule index */
    rules_alert_cb on_alert;
    void *arg;
    int64_t repeat_ns;
    struct rules_stats *stats; /* borrowed: the engine's counters */
    char summary[1024];
    char hint[4096];
};

void rules__alerts_init(struct alerts *al, size_t cap, rules_alert_cb on_alert, void *arg,
                        struct rules_stats *stats);
void rules__alerts_free(struct alerts *al);

/*
 * Raises spec for record r at event time at (repeats within the repeat interval are counted,
 * not sent). evidence: raw lines (NULL: r's line). Returns 1 if an alert was sent.
 */
int rules__alert_fire(struct alerts *al, const struct alert_spec *spec, const struct record *r,
                      const struct slice *evidence, size_t nev, int64_t at,
                      const struct tpl_ctx *ctx);

/* Resolves the alert named name whose key fields in r match, if it is firing. */
void rules__alert_resolve_key(struct alerts *al, const char *name, const int *key, size_t nkey,
                              const struct record *r, int64_t at);

/* Resolves every firing alert of app with the given scope. */
void rules__alert_resolve_scope(struct alerts *al, struct slice app, int scope, int64_t at);

/*
 * After a rule swap: alerts of old rule i now belong to rule map[i] (-1: none); counts (zeroed,
 * one per new rule) become the firing counts.
 */
void rules__alerts_rebind(struct alerts *al, uint32_t *counts, const long *map, size_t nold);

/* Forgets alerts untouched since before cutoff that are no longer firing (now: the clock). */
void rules__alerts_expire(struct alerts *al, int64_t cutoff, int64_t now);

/* ---- the engine (shared by rules_eval.c and rules_rollout.c) ------------------------------ */

struct rollouts; /* rules_rollout.c */

#define EXPECT_MEMO_SLOTS 32 /* expect memo slots per rule (struct rules_engine): a power of two */

struct rules_engine {
    struct rule_set *set; /* owned */
    struct rules_opts opts;
    void *arg;
    rules_rollout_cb on_rollout;
    void *rollout_arg;
    int64_t now; /* event clock: never goes back */
    int have_now;
    struct kv recent;    /* rule + key -> last time its tag was seen (entry->touched) */
    struct kv threshold; /* rule + key -> struct threshold_state */
    struct kv pending;   /* rule + key -> struct expect_state */
    struct kv early;     /* rule + key -> time B was seen with no A waiting */
    struct alerts alerts;
    struct rollouts *rollouts; /* owned */
    int64_t next_deadline;
    int64_t max_window;
    int64_t max_recent;
    int64_t repeat_ns, stuck_after_ns, quiet_after_ns, expire_ns;
    struct rules_stats stats;
    /* the record being evaluated got its class from this rule: its texts explain the failure */
    const struct rule *class_rule;
    uint32_t *firing; /* owned, one per rule: its alerts now firing (none: nothing to resolve) */
    /* expect rules, EXPECT_MEMO_SLOTS per rule, by the key's hash: the keys of the last Bs seen
     * while the clock stood still, which changed nothing that the same B again would change
     * (app output repeats a pod's key, and several pods' lines interleave) */
    struct expect_memo {
        uint64_t hash, clock;
        int64_t ts; /* the newest time of that B */
        /* that key's entry in early while it has no wait (its val points back here, and
         * the entry's end clears this); NULL: look the key up */
        struct kv_entry *early;
    } *memo; /* owned */
    uint64_t clock; /* counts moves of the event clock from 1: a memo of an older one is stale */
    /* while a record is evaluated: what the reader decided ahead (borrowed), the rules it
     * decided (those before ahead_upto) and the next of its captures to take */
    const struct rules_ahead *ahead;
    size_t ahead_upto;
    uint32_t ahead_cap;
    struct rule_tag {
        char s[23]; /* "r<index>", the first part of a rule's state keys */
        unsigned char len;
        /* another rule raises alerts of this rule's alert name: a key's alert may begin
         * without this rule (an expect rule's remembered B must look again) */
        unsigned char name_shared;
    } *tags; /* owned, one per rule */
};

/* State key "<tag>\x1f<v1>\x1f..." of fields of r into buf (KEY_MAX bytes); tag_len is
 * strlen(tag). */
#define RULES_KEY_MAX 2048
size_t rules__make_key(char *buf, const char *tag, size_t tag_len, const int *fields,
                       size_t nf, const struct record *r);

struct rollouts *rules__rollouts_new(size_t cap);
void rules__rollouts_free(struct rollouts *ro);
/* A record, after the rules tagged it: feeds the tracker of its app. */
void rules__rollouts_record(struct rules_engine *eng, const struct record *r);
/* A record of an app whose rollout is under way gets its release (when it names none). */
void rules__rollouts_label(struct rules_engine *eng, struct record *r);
/* rules__rollouts_label again, after the tracker saw r: the atom line that started a rollout
 * carries the release the transcript named for it (frees nothing: r may point at it). */
void rules__rollouts_relabel(struct rules_engine *eng, struct record *r);
/* Does the rollout tracker raise alerts of this name? */
int rules__rollouts_alert_name(const char *name);
/* An alert raised by time (an expect rule) for r's app: a failure of its rollout too. */
void rules__rollouts_failure(struct rules_engine *eng, const struct record *r,
                             const struct rule *rule);
/* The event clock moved: rollouts past their stuck time are reported. */
void rules__rollouts_tick(struct rules_engine *eng);
