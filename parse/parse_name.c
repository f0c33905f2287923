/* Kubernetes object names -> object kind, service, replica set and pod, from the name's shape. */
#include <stdint.h>
#include <string.h>

#include "parse.h"
#include "parse_int.h"

/*
 * Kubernetes draws generated suffixes (pod-template-hash, the 5-char pod suffix) from
 * the alphabet "bcdfghjklmnpqrstvwxz2456789": no vowels, no 0/1/3, so English words rarely
 * look like hashes. One table lookup per byte: these tests run for every byte of every name.
 */
enum { CH_ALNUM = 1, CH_SAFE = 2, CH_DIGIT = 4 }; /* lower-case alphanumeric; safe; 0-9 */

static const unsigned char ch_class[256] = {
    ['0'] = CH_ALNUM | CH_DIGIT,           ['1'] = CH_ALNUM | CH_DIGIT,
    ['2'] = CH_ALNUM | CH_DIGIT | CH_SAFE, ['3'] = CH_ALNUM | CH_DIGIT,
    ['4'] = CH_ALNUM | CH_DIGIT | CH_SAFE, ['5'] = CH_ALNUM | CH_DIGIT | CH_SAFE,
    ['6'] = CH_ALNUM | CH_DIGIT | CH_SAFE, ['7'] = CH_ALNUM | CH_DIGIT | CH_SAFE,
    ['8'] = CH_ALNUM | CH_DIGIT | CH_SAFE, ['9'] = CH_ALNUM | CH_DIGIT | CH_SAFE,
    ['a'] = CH_ALNUM, ['b'] = CH_ALNUM | CH_SAFE, ['c'] = CH_ALNUM | CH_SAFE,
    ['d'] = CH_ALNUM | CH_SAFE, ['e'] = CH_ALNUM, ['f'] = CH_ALNUM | CH_SAFE,
    ['g'] = CH_ALNUM | CH_SAFE, ['h'] = CH_ALNUM | CH_SAFE, ['i'] = CH_ALNUM,
    ['j'] = CH_ALNUM | CH_SAFE, ['k'] = CH_ALNUM | CH_SAFE, ['l'] = CH_ALNUM | CH_SAFE,
    ['m'] = CH_ALNUM | CH_SAFE, ['n'] = CH_ALNUM | CH_SAFE, ['o'] = CH_ALNUM,
    ['p'] = CH_ALNUM | CH_SAFE, ['q'] = CH_ALNUM | CH_SAFE, ['r'] = CH_ALNUM | CH_SAFE,
    ['s'] = CH_ALNUM | CH_SAFE, ['t'] = CH_ALNUM | CH_SAFE, ['u'] = CH_ALNUM,
    ['v'] = CH_ALNUM | CH_SAFE, ['w'] = CH_ALNUM | CH_SAFE, ['x'] = CH_ALNUM | CH_SAFE,
    ['y'] = CH_ALNUM, ['z'] = CH_ALNUM | CH_SAFE,
};

/* The classes every byte of s[0..n) has, and those one of them has. */
static void classes(const char *s, size_t n, unsigned *all, unsigned *any)
{
    unsigned a = CH_ALNUM | CH_SAFE | CH_DIGIT, o = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned c = ch_class[(unsigned char)s[i]];

        a &= c;
        o |= c;
    }
    *all = a;
    *any = o;
}

/*
 * A pod-template-hash: 6–10 lower-case alphanumerics that either use only the safe
 * alphabet or contain a digit (documentation examples use 0123456789 and the like).
 */
static int hash_like(const char *s, size_t n)
{
    unsigned all, any;

    if (n < 6 || n > 10) {
        return 0;
    }
    classes(s, n, &all, &any);
    return (all & CH_ALNUM) && ((all & CH_SAFE) || (any & CH_DIGIT));
}

static int pod_suffix(const char *s, size_t n, int strict)
{
    unsigned all, any;

    if (n != 5) {
        return 0;
    }
    classes(s, n, &all, &any);
    return (all & (strict ? CH_SAFE : CH_ALNUM)) != 0;
}

static int all_digits(const char *s, size_t n)
{
    if (n == 0) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* Position of the last '-' in s[0..n), or -1. */
static long last_dash(const char *s, size_t n)
{
    for (size_t i = n; i > 0; i--) {
        if (s[i - 1] == '-') {
            return (long)(i - 1);
        }
    }
    return -1;
}

/*
 * Messages only a Deployment or its HPA writes (k8s-events.md §10–11): the deployment
 * controller's ScalingReplicaSet, ReplicaSetCreateError, DeploymentRollback and SelectingAll,
 * and the HPA's metric failures (the prefixes of rules.d's hpa-metrics-unavailable).
 */
static int deployment_message(struct slice msg)
{
#define P(s) {s, sizeof(s) - 1}
    static const struct {
        const char *s;
        size_t n;
    } prefixes[] = {
        P("Scaled "), P("New size: "), P("failed to get "), P("invalid metrics"),
        P("This deployment "), P("Failed to create new replica set "),
        P("Rolled back deployment "), P("Unable to find last revision"),
        P("Unable to find the revision to rollback to"), P("unable to get "),
        P("unable to fetch metrics"), P("did not receive metrics for "),
        P("missing request for "),
    };
#undef P

    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        if (parse__has_prefix_n(msg, prefixes[i].s, prefixes[i].n)) {
            return 1;
        }
    }
    return 0;
}

static struct slice mk(const char *p, size_t n)
{
    return (struct slice){p, n};
}

/* What a name says, as offsets into it: the replica set is a prefix, the service a part. */
struct name_shape {
    enum object_kind kind;
    int pod, rs, svc; /* pod is the name; replicaset is name[0..rs_len); service too */
    size_t rs_len, svc_off, svc_len;
};

/* The shape of name; *msg_used says whether msg decided it (then it is not memoised). */
static struct name_shape shape_of(struct slice name, struct slice msg, int *msg_used)
{
    struct name_shape sh = {OBJECT_UNKNOWN, 0, 0, 0, 0, 0, 0};
    const char *s = name.p;
    size_t n = name.len;
    long d1, d2;

    *msg_used = 0;
    if (s == NULL || n == 0 || parse__find(s, n, '/') != NULL || parse__find(s, n, ' ') != NULL) {
        return sh;
    }
    if (n == 5 && memcmp(s, "state", 5) == 0) {
        sh.kind = OBJECT_STATE;
        return sh;
    }
    /* KEDA's HPA of a service scaled by a ScaledObject, which Convox names after the service
     * (whatever the service's name looks like: worker2 would pass for a replica set) */
    if (n > 9 && memcmp(s, "keda-hpa-", 9) == 0) {
        sh = (struct name_shape){OBJECT_DEPLOYMENT, 0, 0, 1, 0, 9, n - 9};
        return sh;
    }
    d1 = last_dash(s, n);
    if (d1 > 0) {
        const char *last = s + d1 + 1;
        size_t last_n = n - (size_t)d1 - 1;

        d2 = last_dash(s, (size_t)d1);
        /* Timer pods: timer-<name>-<job id>-<rand>; the job id is all digits. A timer with a
         * parallelCount above 1 runs an Indexed Job, whose pods have the completion index
         * too: timer-<name>-<job id>-<index>-<rand> (the job id has 8 digits or more). */
        if (d2 > 6 && memcmp(s, "timer-", 6) == 0 && pod_suffix(last, last_n, 0) &&
            all_digits(s + d2 + 1, (size_t)(d1 - d2 - 1))) {
            long d3 = last_dash(s, (size_t)d2);

            if (d3 > 6 && d2 - d3 - 1 >= 8 && all_digits(s + d3 + 1, (size_t)(d2 - d3 - 1))) {
                d2 = d3;
            }
            sh = (struct name_shape){OBJECT_POD, 1, 0, 1, 0, 6, (size_t)d2 - 6};
            return sh;
        }
        if (d2 > 0 && pod_suffix(last, last_n, 0) &&
            hash_like(s + d2 + 1, (size_t)(d1 - d2 - 1))) {
            sh = (struct name_shape){OBJECT_POD, 1, 1, 1, (size_t)d1, 0, (size_t)d2};
            return sh;
        }
        if (hash_like(last, last_n)) {
            sh = (struct name_shape){OBJECT_REPLICASET, 0, 1, 1, n, 0, (size_t)d1};
            return sh;
        }
        /* <svc>-<5>: convox run, build and agent pods, unless a Deployment wrote it. */
        if (pod_suffix(last, last_n, 1)) {
            *msg_used = 1;
            if (!deployment_message(msg)) {
                sh = (struct name_shape){OBJECT_POD, 1, 0, 1, 0, 0, (size_t)d1};
                return sh;
            }
        }
    }
    sh = (struct name_shape){OBJECT_DEPLOYMENT, 0, 0, 1, 0, 0, n};
    return sh;
}

static void apply(const struct name_shape *sh, struct slice name, struct record *out)
{
    out->object = name;
    out->object_kind = sh->kind;
    if (sh->pod) {
        out->pod = name;
    }
    if (sh->rs) {
        out->replicaset = mk(name.p, sh->rs_len);
    }
    if (sh->svc) {
        out->service = mk(name.p + sh->svc_off, sh->svc_len);
    }
}

void parse_object_name(struct slice name, struct slice msg, struct record *out)
{
    int msg_used;
    struct name_shape sh = shape_of(name, msg, &msg_used);

    apply(&sh, name, out);
}

/*
 * parse_object_name, remembering the shapes of recent names: every line of a pod names it
 * again, and its shape took a fifth of the parse. Direct-mapped on the name's last 8 bytes,
 * where pod names differ.
 */
void parse__object_name_memo(struct parser *p, struct slice name, struct slice msg,
                             struct record *out)
{
    struct parse_name_memo *e;
    struct name_shape sh;
    uint64_t w;
    int msg_used;

    if (name.p == NULL || name.len < 8 || name.len > PARSE_NAME_MAX) {
        parse_object_name(name, msg, out);
        return;
    }
    memcpy(&w, name.p + name.len - 8, sizeof(w));
    e = &p->names[((w ^ name.len) * 0x9E3779B97F4A7C15ULL) >> (64 - PARSE_NAME_MEMO_BITS)];
    if (e->len == name.len && memcmp(e->name, name.p, name.len) == 0) {
        sh = (struct name_shape){(enum object_kind)e->kind, e->pod, e->rs, e->svc,
                                 e->rs_len, e->svc_off, e->svc_len};
        apply(&sh, name, out);
        return;
    }
    sh = shape_of(name, msg, &msg_used);
    apply(&sh, name, out);
    if (!msg_used) {
        e->len = (unsigned char)name.len;
        memcpy(e->name, name.p, name.len);
        e->kind = (unsigned char)sh.kind;
        e->pod = (unsigned char)sh.pod;
        e->rs = (unsigned char)sh.rs;
        e->svc = (unsigned char)sh.svc;
        e->rs_len = (unsigned char)sh.rs_len;
        e->svc_off = (unsigned char)sh.svc_off;
        e->svc_len = (unsigned char)sh.svc_len;
    }
}
