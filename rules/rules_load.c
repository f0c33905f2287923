/* Loading rules.d: JSON files -> a compiled, fully validated rule set (errors with FILE:LINE:COL). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rules.h"
#include "hash.h"
#include "rules_int.h"
#include "xmalloc.h"

#define MAX_KEY 8
#define MATCH_LIMIT 200000
#define DEPTH_LIMIT 5000

struct loader {
    struct rule_set *set;
    rules_err_cb on_err;
    void *arg;
    int errors;
    uint32_t max_groups;
    const struct jdoc *doc; /* the file being compiled */
    /* rule_line's cursor: rules come in file order, so it counts on from the last one */
    const struct jdoc *line_doc;
    size_t line_off;
    int line_no;
};

/* ---- error reporting ------------------------------------------------------------------- */

/* The line of L->doc that offset off is on. Counting from the top for every rule was half of
 * loading the default rules. */
static int rule_line(struct loader *L, size_t off)
{
    const char *t = L->doc->text, *p;
    size_t end = off < L->doc->len ? off : L->doc->len;

    if (L->line_doc != L->doc || end < L->line_off) {
        L->line_doc = L->doc;
        L->line_off = 0;
        L->line_no = 1;
    }
    for (p = t + L->line_off; (p = memchr(p, '\n', end - (size_t)(p - t))) != NULL; p++) {
        L->line_no++;
    }
    L->line_off = end;
    return L->line_no;
}

static void __attribute__((format(printf, 3, 4)))
fail_at(struct loader *L, size_t off, const char *fmt, ...)
{
    struct err e;
    va_list ap;
    int line, col;
    char msg[sizeof(e.msg)];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rules__json_pos(L->doc, off, &line, &col);
    err_set_at(&e, L->doc->path, line, col, "%s", msg);
    L->errors++;
    if (L->on_err) {
        L->on_err(L->arg, &e);
    }
}

/* Rejects keys of obj not in allowed (NULL-terminated). Returns the number of bad keys. */
static int check_keys(struct loader *L, const struct jnode *obj, const char *what,
                      const char *const *allowed)
{
    int bad = 0;

    for (size_t i = 0; i < obj->n; i++) {
        const char *const *a = allowed;

        while (*a && strcmp(*a, obj->keys[i]) != 0) {
            a++;
        }
        if (*a == NULL) {
            fail_at(L, obj->key_offs[i], "unknown key \"%s\" in %s", obj->keys[i], what);
            bad++;
        }
    }
    return bad;
}

static int want_type(struct loader *L, const struct jnode *n, enum jtype t, const char *what)
{
    static const char *const names[] = {"null", "a boolean", "a number", "a string", "an array",
                                        "an object"};

    if (n->type != t) {
        fail_at(L, n->off, "%s must be %s", what, names[t]);
        return 0;
    }
    return 1;
}

/* ---- fields -------------------------------------------------------------------------------- */

static int field_lookup(struct loader *L, const char *name)
{
    int id = record_field_id(name, strlen(name));

    if (id >= 0) {
        return id;
    }
    for (size_t i = 0; i < L->set->nextra; i++) {
        if (strcmp(L->set->extra_names[i], name) == 0) {
            return FIELD_COUNT + (int)i;
        }
    }
    return -1;
}

static const char *field_name(const struct rule_set *set, int id)
{
    return id < FIELD_COUNT ? record_field_name(id) : set->extra_names[id - FIELD_COUNT];
}

static int field_intern(struct loader *L, const char *name)
{
    int id = field_lookup(L, name);

    if (id >= 0) {
        return id;
    }
    L->set->extra_names =
        xrealloc(L->set->extra_names, (L->set->nextra + 1) * sizeof(*L->set->extra_names));
    L->set->extra_names[L->set->nextra] = xstrdup(name);
    return FIELD_COUNT + (int)L->set->nextra++;
}

static int field_ref(struct loader *L, const char *name, size_t off)
{
    int id = field_lookup(L, name);

    if (id < 0) {
        fail_at(L, off, "unknown field \"%s\" (a record field or an earlier rule's capture)", name);
    }
    return id;
}

/* ---- conditions ---------------------------------------------------------------------------- */

static void when_free(struct when *w);

/* A rough rarity of a byte in log text: lower is rarer. Spaces and lower-case letters are
 * everywhere; upper case, digits after the first and punctuation are not. */
static int byte_commonness(unsigned char c)
{
    if (c == ' ' || c == 'e' || c == 't' || c == 'a' || c == 'o' || c == 'i' || c == 'n' ||
        c == 's' || c == 'r') {
        return 4;
    }
    if (c >= 'a' && c <= 'z') {
        return 3;
    }
    if (c >= '0' && c <= '9') {
        return 2;
    }
    return 1;
}

/* Does needle i contain another needle of c (an equal one before it counts, after it not)? */
static int contains_other(const struct cond *c, size_t i)
{
    for (size_t k = 0; k < c->nstrs; k++) {
        if (k == i || c->lens[k] == 0 || c->lens[k] > c->lens[i] ||
            (c->lens[k] == c->lens[i] && k > i)) {
            continue;
        }
        for (size_t at = 0; at + c->lens[k] <= c->lens[i]; at++) {
            if (memcmp(c->strs[i] + at, c->strs[k], c->lens[k]) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* Needle i, kept by any, into its two-byte fingerprint tables (rules_int.h). */
static void fingerprint(const struct cond *c, size_t i, struct contains_any *any)
{
    const unsigned char *s = (const unsigned char *)c->strs[i];
    unsigned char g = (unsigned char)(1u << (i % 8));

    if (c->lens[i] < 2) {
        any->fp_ok = 0; /* a one-byte needle may end a value: the search by rarest byte */
        return;
    }
    any->bucket[i % 8] |= 1u << i;
    any->fp1_lo[s[0] & 15] |= g;
    any->fp1_hi[s[0] >> 4] |= g;
    any->fp2_lo[s[1] & 15] |= g;
    any->fp2_hi[s[1] >> 4] |= g;
}

/*
 * For each "contains" needle, its two rarest bytes: a candidate place must have both before
 * the needle is compared. The second is the rarest at another offset, the farther from the
 * first the better (two neighbours are often one word).
 */
void rules__contains_prepare(struct cond *c)
{
    c->anchor = xcalloc(2 * (c->nstrs ? c->nstrs : 1), sizeof(*c->anchor));
    for (size_t i = 0; i < c->nstrs; i++) {
        const unsigned char *s = (const unsigned char *)c->strs[i];
        size_t n = c->lens[i], a = 0, b = 0;

        for (size_t k = 1; k < n; k++) {
            if (byte_commonness(s[k]) < byte_commonness(s[a])) {
                a = k;
            }
        }
        if (n > 1) {
            b = a == 0 ? 1 : 0;
            for (size_t k = 0; k < n; k++) {
                size_t dk = k > a ? k - a : a - k, db = b > a ? b - a : a - b;

                if (k != a && (byte_commonness(s[k]) < byte_commonness(s[b]) ||
                               (byte_commonness(s[k]) == byte_commonness(s[b]) && dk > db))) {
                    b = k;
                }
            }
        }
        c->anchor[2 * i] = a;
        c->anchor[2 * i + 1] = b;
    }
    if (c->nstrs >= 2 && c->nstrs <= CONTAINS_ANY_MAX) {
        struct contains_any *any = xcalloc(1, sizeof(*any));

        any->fp_ok = 1;
        for (size_t i = 0; i < c->nstrs && any != NULL; i++) {
            unsigned char k = c->lens[i] > 0 ? (unsigned char)c->strs[i][c->anchor[2 * i]] : 0;

            if (contains_other(c, i)) {
                continue; /* "OOMKilled" after "Killed": wherever it is, the other is too */
            }
            if (c->lens[i] == 0) {
                free(any); /* the empty needle is in every value: the plain way says so */
                any = NULL;
            } else if (any->who[k] == 0 && any->nbytes == CONTAINS_ANY_BYTES) {
                free(any);
                any = NULL;
            } else {
                if (any->who[k] == 0) {
                    any->bytes[any->nbytes++] = k;
                }
                any->who[k] |= 1u << i;
                fingerprint(c, i, any);
            }
        }
        c->any = any;
    }
}

static void cond_free(struct cond *c)
{
    free(c->anchor);
    free(c->any);
    for (size_t i = 0; i < c->nstrs; i++) {
        free(c->strs[i]);
    }
    free(c->strs);
    free(c->lens);
    pcre2_code_free(c->re);
    free(c->src);
    free(c->caps);
    if (c->sub) {
        when_free(c->sub);
        free(c->sub);
    }
}

static void when_free(struct when *w)
{
    for (size_t i = 0; i < w->n; i++) {
        cond_free(&w->conds[i]);
    }
    free(w->conds);
    free(w->rest);
    w->conds = NULL;
    w->rest = NULL;
    w->n = w->nrest = 0;
}

static struct cond *cond_add(struct when *w, enum cond_op op, int field)
{
    struct cond *c;

    w->conds = xrealloc(w->conds, (w->n + 1) * sizeof(*w->conds));
    c = &w->conds[w->n++];
    memset(c, 0, sizeof(*c));
    c->op = op;
    c->field = field;
    return c;
}

static void cond_add_str(struct cond *c, const struct jnode *s)
{
    c->strs = xrealloc(c->strs, (c->nstrs + 1) * sizeof(*c->strs));
    c->lens = xrealloc(c->lens, (c->nstrs + 1) * sizeof(*c->lens));
    c->strs[c->nstrs] = xstrndup(s->str, s->len);
    c->lens[c->nstrs] = s->len;
    c->nstrs++;
}

/* A string, or an array of strings, into c's operands. */
static int cond_strings(struct loader *L, struct cond *c, const struct jnode *v, const char *op)
{
    if (v->type == J_STRING) {
        cond_add_str(c, v);
        return 1;
    }
    if (v->type != J_ARRAY || v->n == 0) {
        fail_at(L, v->off, "\"%s\" takes a string or a non-empty array of strings", op);
        return 0;
    }
    for (size_t i = 0; i < v->n; i++) {
        if (!want_type(L, v->items[i], J_STRING, op)) {
            return 0;
        }
        cond_add_str(c, v->items[i]);
    }
    return 1;
}

/*
 * Byte offset in the file of byte `decoded` of the JSON string starting (quote) at str_off:
 * escapes make the file text longer than the pattern PCRE2 saw.
 */
static size_t raw_offset(const struct jdoc *doc, size_t str_off, size_t decoded)
{
    size_t i = str_off + 1, d = 0;

    while (i < doc->len && d < decoded && doc->text[i] != '"') {
        if (doc->text[i] == '\\' && i + 1 < doc->len) {
            if (doc->text[i + 1] == 'u') {
                i += 6;
                d += 1; /* close enough for a column: one code point */
            } else {
                i += 2;
                d += 1;
            }
        } else {
            i++;
            d++;
        }
    }
    return i;
}

static void compile_regex(struct loader *L, struct cond *c, const struct jnode *v,
                          const char *no_caps)
{
    int errcode;
    PCRE2_SIZE erroff;
    uint32_t ncap = 0, namecount = 0, entry = 0;
    PCRE2_SPTR table;
    size_t jitsize = 0;

    c->re = pcre2_compile((PCRE2_SPTR)v->str, v->len, 0, &errcode, &erroff, NULL);
    if (c->re == NULL) {
        PCRE2_UCHAR msg[256];

        pcre2_get_error_message(errcode, msg, sizeof(msg));
        fail_at(L, raw_offset(L->doc, v->off, erroff), "bad regex at offset %zu: %s",
                (size_t)erroff, (const char *)msg);
        return;
    }
    c->src = xstrndup(v->str, v->len);
    /* JIT failure is not fatal (interpreter fallback); only a JIT-sized pattern may use it */
    pcre2_jit_compile(c->re, PCRE2_JIT_COMPLETE);
    c->jit = pcre2_pattern_info(c->re, PCRE2_INFO_JITSIZE, &jitsize) == 0 && jitsize > 0;
    pcre2_pattern_info(c->re, PCRE2_INFO_CAPTURECOUNT, &ncap);
    if (ncap > L->max_groups) {
        L->max_groups = ncap;
    }
    pcre2_pattern_info(c->re, PCRE2_INFO_NAMECOUNT, &namecount);
    if (namecount == 0) {
        return;
    }
    if (no_caps != NULL) {
        fail_at(L, v->off, "named captures are not allowed %s", no_caps);
        return;
    }
    pcre2_pattern_info(c->re, PCRE2_INFO_NAMEENTRYSIZE, &entry);
    pcre2_pattern_info(c->re, PCRE2_INFO_NAMETABLE, &table);
    c->caps = xcalloc(namecount, sizeof(*c->caps));
    for (uint32_t i = 0; i < namecount; i++) {
        const unsigned char *e = table + (size_t)i * entry;
        const char *name = (const char *)e + 2;
        int id;

        if (strcmp(name, "kind") == 0 || strcmp(name, "object_kind") == 0 ||
            strcmp(name, "event") == 0 || strcmp(name, "class") == 0 ||
            strcmp(name, "line") == 0 || strcmp(name, "message") == 0) {
            fail_at(L, v->off, "a capture cannot be named \"%s\" (set by the parser or rules)",
                    name);
            continue;
        }
        id = field_intern(L, name);
        c->caps[c->ncaps].group = (uint32_t)((e[0] << 8) | e[1]);
        c->caps[c->ncaps].field = id;
        c->caps[c->ncaps].name = field_name(L->set, id);
        c->ncaps++;
    }
}

static void compile_when(struct loader *L, struct when *w, const struct jnode *obj,
                         const char *no_caps);

/* kind and object_kind take only their enum names; compiled to a bit mask. */
static int enum_bit(int field, const char *name)
{
    int n = field == FIELD_KIND ? RECORD_KIND_COUNT : OBJECT_KIND_COUNT;

    for (int i = 0; i < n; i++) {
        const char *v = field == FIELD_KIND ? record_kind_name((enum record_kind)i)
                                            : object_kind_name((enum object_kind)i);
        if (strcmp(v, name) == 0) {
            return i;
        }
    }
    return -1;
}

static void compile_mask(struct loader *L, struct when *w, int field, const struct jnode *v)
{
    struct cond *c = cond_add(w, COND_MASK, field);
    const struct jnode *const *items = v->type == J_ARRAY ? (const struct jnode *const *)v->items
                                                          : (const struct jnode *const *)&v;
    size_t n = v->type == J_ARRAY ? v->n : 1;

    if (n == 0) {
        fail_at(L, v->off, "an empty list matches nothing");
    }
    for (size_t i = 0; i < n; i++) {
        int bit;

        if (!want_type(L, items[i], J_STRING, record_field_name(field))) {
            return;
        }
        bit = enum_bit(field, items[i]->str);
        if (bit < 0) {
            fail_at(L, items[i]->off, "\"%s\" is not a %s (%s)", items[i]->str,
                    record_field_name(field),
                    field == FIELD_KIND ? "k8s, atom, state, app, cli, unknown"
                                        : "atom, deployment, replicaset, pod, state, unknown");
            return;
        }
        c->mask |= 1u << bit;
    }
}

/* One FIELD: COND entry into w (an object COND adds one condition per key). */
static void compile_cond(struct loader *L, struct when *w, int field, const struct jnode *v,
                         const char *no_caps)
{
    static const char *const ops[] = {"equals", "in",   "prefix",  "suffix", "contains",
                                      "regex",  "glob", "present", "not",    NULL};

    if ((field == FIELD_KIND || field == FIELD_OBJECT_KIND) &&
        (v->type == J_STRING || v->type == J_ARRAY)) {
        compile_mask(L, w, field, v);
        return;
    }
    if (v->type == J_STRING) {
        cond_add_str(cond_add(w, COND_EQUALS, field), v);
        return;
    }
    if (v->type == J_ARRAY) {
        cond_strings(L, cond_add(w, COND_IN, field), v, "in");
        return;
    }
    if (v->type != J_OBJECT || v->n == 0) {
        fail_at(L, v->off, "a condition is a string, an array of strings or an object of tests");
        return;
    }
    check_keys(L, v, "a condition", ops);
    for (size_t i = 0; i < v->n; i++) {
        const char *op = v->keys[i];
        const struct jnode *x = v->items[i];
        struct cond *c;

        if ((strcmp(op, "equals") == 0 || strcmp(op, "in") == 0) &&
            (field == FIELD_KIND || field == FIELD_OBJECT_KIND)) {
            compile_mask(L, w, field, x);
        } else if (strcmp(op, "equals") == 0 || strcmp(op, "in") == 0) {
            cond_strings(L, cond_add(w, COND_IN, field), x, op);
        } else if (strcmp(op, "prefix") == 0) {
            cond_strings(L, cond_add(w, COND_PREFIX, field), x, op);
        } else if (strcmp(op, "suffix") == 0) {
            cond_strings(L, cond_add(w, COND_SUFFIX, field), x, op);
        } else if (strcmp(op, "contains") == 0) {
            c = cond_add(w, COND_CONTAINS, field);
            cond_strings(L, c, x, op);
            rules__contains_prepare(c);
        } else if (strcmp(op, "glob") == 0) {
            cond_strings(L, cond_add(w, COND_GLOB, field), x, op);
        } else if (strcmp(op, "regex") == 0) {
            if (want_type(L, x, J_STRING, "\"regex\"")) {
                c = cond_add(w, COND_REGEX, field);
                compile_regex(L, c, x, no_caps);
            }
        } else if (strcmp(op, "present") == 0) {
            if (want_type(L, x, J_BOOL, "\"present\"")) {
                cond_add(w, COND_PRESENT, field)->present = x->boolean;
            }
        } else if (strcmp(op, "not") == 0) {
            struct jnode wrap = {0};
            char *key = (char *)field_name(L->set, field);
            struct jnode *items[1] = {(struct jnode *)x};
            size_t offs[1] = {x->off};

            c = cond_add(w, COND_NOT, field);
            c->sub = xcalloc(1, sizeof(*c->sub));
            /* "not": COND is the same field tested by COND */
            wrap.type = J_OBJECT;
            wrap.off = x->off;
            wrap.n = 1;
            wrap.items = items;
            wrap.keys = &key;
            wrap.key_offs = offs;
            compile_when(L, c->sub, &wrap, "inside \"not\"");
        }
    }
}

static void sort_when(struct when *w)
{
    /* enum masks, then literal tests, then regexes: a stable partition */
    struct cond *tmp;
    size_t k = 0;

    if (w->n == 0) {
        return; /* every condition failed to compile: nothing to order */
    }
    tmp = xmalloc(w->n * sizeof(*tmp));
    for (size_t i = 0; i < w->n; i++) {
        if (w->conds[i].op == COND_MASK) {
            tmp[k++] = w->conds[i];
        }
    }
    for (size_t i = 0; i < w->n; i++) {
        if (w->conds[i].op != COND_REGEX && w->conds[i].op != COND_MASK) {
            tmp[k++] = w->conds[i];
        }
    }
    for (size_t i = 0; i < w->n; i++) {
        if (w->conds[i].op == COND_REGEX) {
            tmp[k++] = w->conds[i];
        }
    }
    memcpy(w->conds, tmp, w->n * sizeof(*tmp));
    free(tmp);
}

static void compile_when(struct loader *L, struct when *w, const struct jnode *obj,
                         const char *no_caps)
{
    if (!want_type(L, obj, J_OBJECT, "\"when\"")) {
        return;
    }
    if (obj->n == 0) {
        fail_at(L, obj->off, "a condition object needs at least one field");
        return;
    }
    for (size_t i = 0; i < obj->n; i++) {
        int field = field_ref(L, obj->keys[i], obj->key_offs[i]);

        if (field >= 0) {
            compile_cond(L, w, field, obj->items[i], no_caps);
        }
    }
    sort_when(w);
}

/* ---- templates, keys, durations ---------------------------------------------------------- */

static void tpl_free(struct tpl *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->parts[i].lit);
    }
    free(t->parts);
    t->parts = NULL;
    t->n = 0;
}

static void tpl_add(struct tpl *t, const char *lit, size_t n, int field)
{
    t->parts = xrealloc(t->parts, (t->n + 1) * sizeof(*t->parts));
    t->parts[t->n].lit = lit ? xstrndup(lit, n) : NULL;
    t->parts[t->n].lit_len = lit ? n : 0;
    t->parts[t->n].field = field;
    t->n++;
}

static void compile_tpl(struct loader *L, struct tpl *t, const struct jnode *v, const char *what)
{
    const char *s, *open;

    if (!want_type(L, v, J_STRING, what)) {
        return;
    }
    s = v->str;
    while ((open = strstr(s, "{{")) != NULL) {
        const char *close = strstr(open + 2, "}}");
        char name[64];
        size_t n;
        int field;

        if (close == NULL) {
            fail_at(L, v->off, "%s: \"{{\" without \"}}\"", what);
            return;
        }
        if (open > s) {
            tpl_add(t, s, (size_t)(open - s), 0);
        }
        n = (size_t)(close - open - 2);
        while (n > 0 && open[2] == ' ') {
            open++;
            n--;
        }
        while (n > 0 && open[2 + n - 1] == ' ') {
            n--;
        }
        snprintf(name, sizeof(name), "%.*s", (int)n, open + 2);
        if (strcmp(name, "count") == 0) {
            field = TPL_COUNT;
        } else if (strcmp(name, "rule") == 0) {
            field = TPL_RULE;
        } else if (strcmp(name, "class") == 0) {
            field = TPL_CLASS;
        } else if (strcmp(name, "diagnosis") == 0) {
            field = TPL_DIAGNOSIS;
        } else if (strcmp(name, "duration") == 0) {
            field = TPL_DURATION;
        } else if (strcmp(name, "status") == 0) {
            field = TPL_STATUS;
        } else {
            field = field_lookup(L, name);
            if (field < 0) {
                fail_at(L, v->off, "%s: unknown field \"{{%s}}\"", what, name);
                return;
            }
        }
        tpl_add(t, NULL, 0, field);
        s = close + 2;
    }
    if (*s) {
        tpl_add(t, s, strlen(s), 0);
    }
}

static size_t compile_key(struct loader *L, int *key, const struct jnode *v)
{
    size_t n = 0;

    if (v->type != J_ARRAY || v->n == 0 || v->n > MAX_KEY) {
        fail_at(L, v->off, "\"key\" takes an array of 1 to %d field names", MAX_KEY);
        return 0;
    }
    for (size_t i = 0; i < v->n; i++) {
        int id;

        if (!want_type(L, v->items[i], J_STRING, "a key field")) {
            return 0;
        }
        id = field_ref(L, v->items[i]->str, v->items[i]->off);
        if (id < 0) {
            return 0;
        }
        key[n++] = id;
    }
    return n;
}

static int64_t compile_duration(struct loader *L, const struct jnode *v, const char *what)
{
    int64_t ns;

    if (v->type == J_NUMBER || v->type == J_STRING) {
        if (rules__duration(v->str, &ns) == 0 && ns > 0) {
            return ns;
        }
    }
    fail_at(L, v->off, "%s: not a duration (e.g. \"30s\", \"5m\", \"1h30m\" or seconds)", what);
    return 0;
}

/* ---- classes ------------------------------------------------------------------------------ */

static const char *const class_names[] = {
    "crash_loop",   "oom",           "image_pull",         "invalid_image",   "health_check",
    "scheduling",   "config_missing", "config_invalid",    "container_start", "volume_mount",
    "eviction",     "sandbox_network", "admission_rejected", "node_failure", "pod_stuck",
    "rollout_stuck", "rollout_failed", "rollback_failed",    NULL};

static const struct rule_class *class_find(const struct rule_set *set, const char *name)
{
    for (size_t i = 0; i < set->nclasses; i++) {
        if (strcmp(set->classes[i].name, name) == 0) {
            return &set->classes[i];
        }
    }
    return NULL;
}

static void compile_classes(struct loader *L, const struct jnode *obj)
{
    static const char *const keys[] = {"severity", "summary", "hint", "description", NULL};

    if (!want_type(L, obj, J_OBJECT, "\"classes\"")) {
        return;
    }
    for (size_t i = 0; i < obj->n; i++) {
        const struct jnode *c = obj->items[i], *sev, *sum, *hint;
        const char *const *known = class_names;
        struct rule_class *rc;

        while (*known && strcmp(*known, obj->keys[i]) != 0) {
            known++;
        }
        if (*known == NULL) {
            fail_at(L, obj->key_offs[i], "unknown class \"%s\" (DESIGN §3 fixes the names)",
                    obj->keys[i]);
            continue;
        }
        if (class_find(L->set, obj->keys[i]) != NULL) {
            fail_at(L, obj->key_offs[i], "class \"%s\" is defined twice", obj->keys[i]);
            continue;
        }
        if (!want_type(L, c, J_OBJECT, "a class") || check_keys(L, c, "a class", keys)) {
            continue;
        }
        sev = rules__json_get(c, "severity");
        sum = rules__json_get(c, "summary");
        hint = rules__json_get(c, "hint");
        if (sev == NULL || sum == NULL || hint == NULL) {
            fail_at(L, c->off, "class \"%s\" needs \"severity\", \"summary\" and \"hint\"",
                    obj->keys[i]);
            continue;
        }
        L->set->classes =
            xrealloc(L->set->classes, (L->set->nclasses + 1) * sizeof(*L->set->classes));
        rc = &L->set->classes[L->set->nclasses++];
        memset(rc, 0, sizeof(*rc));
        rc->name = xstrdup(obj->keys[i]);
        if (sev->type != J_STRING || alert_severity_parse(sev->str, sev->len, &rc->severity)) {
            fail_at(L, sev->off, "severity must be \"critical\", \"warning\" or \"info\"");
        }
        compile_tpl(L, &rc->summary, sum, "summary");
        compile_tpl(L, &rc->hint, hint, "hint");
    }
}

/* ---- settings ----------------------------------------------------------------------------- */

static void compile_settings(struct loader *L, const struct jnode *obj)
{
    static const char *const keys[] = {"repeat_interval", "rollout_stuck_after",
                                       "rollout_quiet_after", "state_expire", NULL};
    struct rule_settings *st = &L->set->settings;

    if (!want_type(L, obj, J_OBJECT, "\"settings\"") || check_keys(L, obj, "\"settings\"", keys)) {
        return;
    }
    for (size_t i = 0; i < obj->n; i++) {
        int64_t *slot = strcmp(obj->keys[i], "repeat_interval") == 0       ? &st->repeat_interval_ns
                        : strcmp(obj->keys[i], "rollout_stuck_after") == 0 ? &st->rollout_stuck_after_ns
                        : strcmp(obj->keys[i], "rollout_quiet_after") == 0 ? &st->rollout_quiet_after_ns
                                                                           : &st->state_expire_ns;

        if (*slot != 0) {
            fail_at(L, obj->key_offs[i], "setting \"%s\" is given twice", obj->keys[i]);
            continue;
        }
        *slot = compile_duration(L, obj->items[i], obj->keys[i]);
    }
}

/* ---- rules --------------------------------------------------------------------------------- */

static int valid_id(const char *s)
{
    if (*s == '\0') {
        return 0;
    }
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
              *s == '.')) {
            return 0;
        }
    }
    return 1;
}

static void compile_alert(struct loader *L, struct rule *r, const struct jnode *obj,
                          const struct jnode *a)
{
    static const char *const keys[] = {"name", "severity", "summary", "hint", "key", NULL};
    const struct jnode *x;

    if (a->type == J_BOOL) {
        r->alert = a->boolean;
        /* an unknown class was reported already; do not pile a second error on it */
        if (r->alert && r->cls == NULL && rules__json_get(obj, "class") == NULL) {
            fail_at(L, a->off, "\"alert\": true needs a \"class\" to take severity and texts from");
        }
        return;
    }
    if (!want_type(L, a, J_OBJECT, "\"alert\"") || check_keys(L, a, "\"alert\"", keys)) {
        return;
    }
    r->alert = 1;
    if ((x = rules__json_get(a, "name")) != NULL && want_type(L, x, J_STRING, "\"name\"")) {
        if (!valid_id(x->str)) {
            fail_at(L, x->off, "an alert name is made of a-z, 0-9, '-', '_' and '.'");
        }
        r->alert_name = xstrdup(x->str);
    }
    if ((x = rules__json_get(a, "severity")) != NULL) {
        if (x->type != J_STRING || alert_severity_parse(x->str, x->len, &r->severity)) {
            fail_at(L, x->off, "severity must be \"critical\", \"warning\" or \"info\"");
        }
        r->has_severity = 1;
    }
    if ((x = rules__json_get(a, "summary")) != NULL) {
        compile_tpl(L, &r->summary, x, "summary");
    }
    if ((x = rules__json_get(a, "hint")) != NULL) {
        compile_tpl(L, &r->hint, x, "hint");
    }
    if ((x = rules__json_get(a, "key")) != NULL) {
        r->nalert_key = compile_key(L, r->alert_key, x);
    }
    if (r->cls == NULL && rules__json_get(obj, "class") == NULL &&
        (!r->has_severity || r->summary.n == 0)) {
        fail_at(L, a->off, "an alert without a \"class\" needs \"severity\" and \"summary\"");
    }
}

static void compile_recent(struct loader *L, struct rule *r, const struct jnode *v)
{
    static const char *const keys[] = {"event", "class", "within", "key", NULL};
    const struct jnode *ev, *cl, *within, *key;

    if (!want_type(L, v, J_OBJECT, "\"recent\"") || check_keys(L, v, "\"recent\"", keys)) {
        return;
    }
    ev = rules__json_get(v, "event");
    cl = rules__json_get(v, "class");
    within = rules__json_get(v, "within");
    key = rules__json_get(v, "key");
    if ((ev == NULL) == (cl == NULL) || within == NULL) {
        fail_at(L, v->off, "\"recent\" needs \"within\" and one of \"event\" or \"class\"");
        return;
    }
    if (!want_type(L, ev ? ev : cl, J_STRING, ev ? "\"event\"" : "\"class\"")) {
        return;
    }
    r->recent_tag = xstrdup(ev ? ev->str : cl->str);
    r->recent_tag_len = strlen(r->recent_tag);
    r->recent_is_class = cl != NULL;
    r->recent_within_ns = compile_duration(L, within, "\"within\"");
    if (key != NULL) {
        r->recent_nkey = compile_key(L, r->recent_key, key);
    }
}

static void compile_rule(struct loader *L, const struct jnode *obj)
{
    static const char *const match_keys[] = {"id",    "type", "description", "when",    "event",
                                             "class", "alert", "key",        "recent", "resolve",
                                             NULL};
    static const char *const threshold_keys[] = {"id",     "type",  "description", "when", "count",
                                                 "window", "class", "alert",       "key",  NULL};
    static const char *const expect_keys[] = {"id",     "type",  "description", "when", "then",
                                              "within", "class", "alert",       "key",  NULL};
    const struct jnode *id, *type, *x;
    struct rule *r;
    size_t idx;

    if (!want_type(L, obj, J_OBJECT, "a rule")) {
        return;
    }
    id = rules__json_get(obj, "id");
    if (id == NULL || id->type != J_STRING || !valid_id(id->str)) {
        fail_at(L, id ? id->off : obj->off,
                "a rule needs an \"id\" made of a-z, 0-9, '-', '_' and '.'");
        return;
    }
    for (size_t i = 0; i < L->set->nrules; i++) {
        if (strcmp(L->set->rules[i].id, id->str) == 0) {
            fail_at(L, id->off, "rule id \"%s\" is already used at %s:%d", id->str,
                    L->set->rules[i].file, L->set->rules[i].line);
            return;
        }
    }
    L->set->rules = xrealloc(L->set->rules, (L->set->nrules + 1) * sizeof(*L->set->rules));
    idx = L->set->nrules++;
    r = &L->set->rules[idx];
    memset(r, 0, sizeof(*r));
    r->id = xstrdup(id->str);
    r->file = xstrdup(L->doc->path);
    {
        size_t end = obj->end < L->doc->len ? obj->end : L->doc->len;

        r->text_hash = hash_fnv1a(L->doc->text + obj->off, end > obj->off ? end - obj->off : 0);
    }
    r->line = rule_line(L, obj->off);
    r->type = RULE_MATCH;
    type = rules__json_get(obj, "type");
    if (type != NULL) {
        if (type->type == J_STRING && strcmp(type->str, "threshold") == 0) {
            r->type = RULE_THRESHOLD;
        } else if (type->type == J_STRING && strcmp(type->str, "expect") == 0) {
            r->type = RULE_EXPECT;
        } else if (type->type != J_STRING || strcmp(type->str, "match") != 0) {
            fail_at(L, type->off, "\"type\" must be \"match\", \"threshold\" or \"expect\"");
            return;
        }
    }
    check_keys(L, obj, r->type == RULE_MATCH ? "a match rule"
                       : r->type == RULE_THRESHOLD ? "a threshold rule" : "an expect rule",
               r->type == RULE_MATCH ? match_keys
               : r->type == RULE_THRESHOLD ? threshold_keys : expect_keys);
    if ((x = rules__json_get(obj, "description")) != NULL) {
        want_type(L, x, J_STRING, "\"description\"");
    }
    if ((x = rules__json_get(obj, "when")) == NULL) {
        fail_at(L, obj->off, "rule \"%s\" has no \"when\"", r->id);
    } else {
        compile_when(L, &r->when, x,
                     r->type == RULE_THRESHOLD ? "in a threshold rule's \"when\"" : NULL);
    }
    if ((x = rules__json_get(obj, "class")) != NULL && want_type(L, x, J_STRING, "\"class\"")) {
        r->cls = class_find(L->set, x->str);
        if (r->cls == NULL) {
            fail_at(L, x->off, "class \"%s\" is not defined in any \"classes\"", x->str);
        }
    }
    if ((x = rules__json_get(obj, "event")) != NULL && want_type(L, x, J_STRING, "\"event\"")) {
        if (!valid_id(x->str)) {
            fail_at(L, x->off, "an event name is made of a-z, 0-9, '-', '_' and '.'");
        }
        r->event = xstrdup(x->str);
    }
    r->event_tag = r->event ? (struct slice){r->event, strlen(r->event)} : SLICE_NONE;
    r->class_tag = r->cls ? (struct slice){r->cls->name, strlen(r->cls->name)} : SLICE_NONE;
    if ((x = rules__json_get(obj, "key")) != NULL) {
        r->nkey = compile_key(L, r->key, x);
    }
    if ((x = rules__json_get(obj, "alert")) != NULL) {
        compile_alert(L, r, obj, x);
    }
    if (r->nkey == 0) {
        r->key[0] = FIELD_APP;
        r->key[1] = FIELD_SERVICE;
        r->nkey = 2;
    }
    if (r->nalert_key == 0) {
        memcpy(r->alert_key, r->key, sizeof(r->key));
        r->nalert_key = r->nkey;
    }
    if ((x = rules__json_get(obj, "recent")) != NULL) {
        compile_recent(L, r, x);
        if (r->recent_nkey == 0) {
            memcpy(r->recent_key, r->key, sizeof(r->key));
            r->recent_nkey = r->nkey;
        }
    }
    if ((x = rules__json_get(obj, "resolve")) != NULL) {
        if (!r->alert) {
            fail_at(L, x->off, "\"resolve\" needs an \"alert\" to resolve");
        } else {
            compile_when(L, &r->resolve, x, "in \"resolve\"");
            r->has_resolve = 1;
        }
    }
    if (r->type == RULE_MATCH && r->event == NULL && r->cls == NULL && !r->alert) {
        fail_at(L, obj->off, "rule \"%s\" does nothing: give it an \"event\", \"class\" or \"alert\"",
                r->id);
    }
    if (r->type == RULE_THRESHOLD) {
        x = rules__json_get(obj, "count");
        if (x == NULL || x->type != J_NUMBER || strspn(x->str, "0123456789") != x->len ||
            x->len > 4 || strtoul(x->str, NULL, 10) < 1 || strtoul(x->str, NULL, 10) > 1000) {
            fail_at(L, x ? x->off : obj->off, "a threshold rule needs \"count\": 1 to 1000");
        } else {
            r->count = (uint32_t)strtoul(x->str, NULL, 10);
        }
        if ((x = rules__json_get(obj, "window")) == NULL) {
            fail_at(L, obj->off, "a threshold rule needs a \"window\"");
        } else {
            r->window_ns = compile_duration(L, x, "\"window\"");
        }
    }
    if (r->type == RULE_EXPECT) {
        if ((x = rules__json_get(obj, "then")) == NULL) {
            fail_at(L, obj->off, "an expect rule needs \"then\"");
        } else {
            compile_when(L, &r->then, x, NULL);
        }
        if ((x = rules__json_get(obj, "within")) == NULL) {
            fail_at(L, obj->off, "an expect rule needs \"within\"");
        } else {
            r->window_ns = compile_duration(L, x, "\"within\"");
        }
    }
    if (r->type != RULE_MATCH && !r->alert) {
        fail_at(L, obj->off, "a %s rule needs an \"alert\"",
                r->type == RULE_THRESHOLD ? "threshold" : "expect");
    }
}

/* ---- files and sets ------------------------------------------------------------------------ */

static void rule_free(struct rule *r)
{
    free(r->id);
    free(r->file);
    when_free(&r->when);
    when_free(&r->then);
    when_free(&r->resolve);
    free(r->event);
    free(r->alert_name);
    tpl_free(&r->summary);
    tpl_free(&r->hint);
    free(r->recent_tag);
}

struct rule_set *rules_set_ref(struct rule_set *set)
{
    __atomic_add_fetch(&set->refs, 1, __ATOMIC_RELAXED);
    return set;
}

void rules_set_free(struct rule_set *set)
{
    if (set == NULL || __atomic_sub_fetch(&set->refs, 1, __ATOMIC_ACQ_REL) > 0) {
        return;
    }
    for (size_t i = 0; i < set->nrules; i++) {
        rule_free(&set->rules[i]);
    }
    free(set->rules);
    for (size_t i = 0; i < set->nclasses; i++) {
        free(set->classes[i].name);
        tpl_free(&set->classes[i].summary);
        tpl_free(&set->classes[i].hint);
    }
    free(set->classes);
    for (size_t i = 0; i < set->nextra; i++) {
        free(set->extra_names[i]);
    }
    free(set->extra_names);
    free(set->recent_rules);
    free(set->dispatch);
    free(set->pre_prog);
    free(set->pre_cond);
    free(set->capv);
    pcre2_match_data_free(set->md);
    pcre2_match_context_free(set->mctx);
    free(set);
}

size_t rules_set_count(const struct rule_set *set)
{
    return set->nrules;
}

size_t rules_set_class_count(const struct rule_set *set)
{
    return set->nclasses;
}

struct file {
    char *path;
    char *text;
    size_t len;
    struct jdoc doc;
    int ok;
};

static void report_plain(struct loader *L, const char *path, const char *what, const char *why)
{
    struct err e;

    err_set_at(&e, path, 0, 0, "%s%s", what, why);
    L->errors++;
    if (L->on_err) {
        L->on_err(L->arg, &e);
    }
}

/* The record kinds a condition list can match: its kind masks ANDed (all kinds if none). */
static unsigned kinds_of(const struct when *w)
{
    unsigned m = (1u << RECORD_KIND_COUNT) - 1;

    for (size_t i = 0; i < w->n; i++) {
        if (w->conds[i].op == COND_MASK && w->conds[i].field == FIELD_KIND) {
            m &= w->conds[i].mask;
        }
    }
    return m;
}

/* First bytes of the message allowed by w's top-level prefix tests on message. */
static int first_bytes(const struct when *w, uint64_t set[4])
{
    for (size_t i = 0; i < w->n; i++) {
        const struct cond *c = &w->conds[i];
        int ok = c->op == COND_PREFIX && c->field == FIELD_MESSAGE;

        for (size_t k = 0; ok && k < c->nstrs; k++) {
            ok = c->lens[k] > 0;
        }
        if (ok) {
            memset(set, 0, 4 * sizeof(uint64_t));
            for (size_t k = 0; k < c->nstrs; k++) {
                unsigned char b = (unsigned char)c->strs[k][0];

                set[b >> 6] |= 1ULL << (b & 63);
            }
            return 1;
        }
    }
    return 0;
}

static void dispatch_push(struct rule_set *set, uint32_t v)
{
    if (set->dispatch_len == set->dispatch_cap) {
        set->dispatch_cap = set->dispatch_cap ? set->dispatch_cap * 2 : 256;
        set->dispatch = xrealloc(set->dispatch, set->dispatch_cap * sizeof(*set->dispatch));
    }
    set->dispatch[set->dispatch_len++] = v;
}

/* Appends to the pool the rules of kind mask bit k that can see a message starting with b. */
static void dispatch_list(struct rule_set *set, const unsigned *kinds, int k, int b)
{
    set->disp_off[k][b] = (uint32_t)set->dispatch_len;
    for (size_t i = 0; i < set->nrules; i++) {
        const struct rule *r = &set->rules[i];

        if (!(kinds[i] & (1u << k))) {
            continue;
        }
        if (r->has_first && (b == 256 || !((r->first[b >> 6] >> (b & 63)) & 1))) {
            continue;
        }
        dispatch_push(set, (uint32_t)i);
    }
    set->disp_n[k][b] = (uint32_t)(set->dispatch_len - set->disp_off[k][b]);
}

/*
 * Most records meet a handful of the rules: the kind and the first byte of the message (from
 * prefix tests) pick the list, so the rest are never looked at.
 */
static void build_dispatch(struct rule_set *set)
{
    unsigned *kinds = xcalloc(set->nrules + 1, sizeof(unsigned));
    uint64_t named[4] = {0}; /* first bytes some prefix test names */

    for (size_t i = 0; i < set->nrules; i++) {
        struct rule *r = &set->rules[i];

        kinds[i] = kinds_of(&r->when);
        /* match and threshold rules only: an expect rule also listens for its "then" */
        if (r->type != RULE_EXPECT) {
            r->has_first = first_bytes(&r->when, r->first);
        } else {
            kinds[i] |= kinds_of(&r->then); /* B records must reach the rule too */
        }
        if (r->has_resolve) {
            /* and a match rule's resolving records, which its "when" does not describe */
            uint64_t first[4];

            kinds[i] |= kinds_of(&r->resolve);
            if (r->has_first && first_bytes(&r->resolve, first)) {
                for (int w = 0; w < 4; w++) {
                    r->first[w] |= first[w];
                }
            } else {
                r->has_first = 0;
            }
        }
        for (int w = 0; r->has_first && w < 4; w++) {
            named[w] |= r->first[w];
        }
    }
    for (int k = 0; k < RECORD_KIND_COUNT; k++) {
        dispatch_list(set, kinds, k, 256);
        for (int b = 0; b < 256; b++) {
            if ((named[b >> 6] >> (b & 63)) & 1) {
                dispatch_list(set, kinds, k, b);
            } else {
                set->disp_off[k][b] = set->disp_off[k][256];
                set->disp_n[k][b] = set->disp_n[k][256];
            }
        }
    }
    free(kinds);
}

/* Parses every file, then compiles classes from all of them, then rules in order. */
static struct rule_set *compile_files(struct loader *L, struct file *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct err e;
        const struct jnode *root;
        static const char *const keys[] = {"classes", "rules", "settings", NULL};

        if (rules__json_parse(files[i].path, files[i].text, files[i].len, &files[i].doc, &e)) {
            L->errors++;
            if (L->on_err) {
                L->on_err(L->arg, &e);
            }
            continue;
        }
        L->doc = &files[i].doc;
        root = files[i].doc.root;
        if (!want_type(L, root, J_OBJECT, "a rule file") ||
            check_keys(L, root, "a rule file", keys)) {
            continue;
        }
        files[i].ok = 1;
    }
    for (size_t i = 0; i < n; i++) {
        const struct jnode *c;

        if (files[i].ok && (c = rules__json_get(files[i].doc.root, "settings")) != NULL) {
            L->doc = &files[i].doc;
            compile_settings(L, c);
        }
        if (files[i].ok && (c = rules__json_get(files[i].doc.root, "classes")) != NULL) {
            L->doc = &files[i].doc;
            compile_classes(L, c);
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct jnode *rs;

        if (!files[i].ok || (rs = rules__json_get(files[i].doc.root, "rules")) == NULL) {
            continue;
        }
        L->doc = &files[i].doc;
        if (!want_type(L, rs, J_ARRAY, "\"rules\"")) {
            continue;
        }
        for (size_t k = 0; k < rs->n; k++) {
            compile_rule(L, rs->items[k]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        rules__json_free(&files[i].doc);
    }
    if (L->errors > 0) {
        rules_set_free(L->set);
        return NULL;
    }
    L->set->max_groups = L->max_groups;
    L->set->md = pcre2_match_data_create(L->max_groups + 1, NULL);
    L->set->mctx = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(L->set->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(L->set->mctx, DEPTH_LIMIT);
    build_dispatch(L->set);
    rules__pre_plan(L->set);
    for (size_t i = 0; i < L->set->nrules; i++) {
        if (L->set->rules[i].recent_tag != NULL) {
            L->set->recent_rules = xrealloc(L->set->recent_rules,
                                            (L->set->nrecent_rules + 1) * sizeof(size_t));
            L->set->recent_rules[L->set->nrecent_rules++] = i;
        }
    }
    return L->set;
}

struct rule_set *rules_load_text(const char *name, const char *text, size_t len,
                                 rules_err_cb on_err, void *arg)
{
    struct loader L = {0};
    struct file f = {0};

    L.set = xcalloc(1, sizeof(*L.set));
    L.set->refs = 1;
    L.on_err = on_err;
    L.arg = arg;
    f.path = (char *)name;
    f.text = (char *)text;
    f.len = len;
    return compile_files(&L, &f, 1);
}

static int read_file(const char *path, char **text, size_t *len, const char **why)
{
    FILE *fp = fopen(path, "rb");
    size_t n = 0;
    char *buf;

    if (fp == NULL) {
        *why = strerror(errno);
        return -1;
    }
    buf = xmalloc(RULES_MAX_FILE_SIZE + 1);
    n = fread(buf, 1, RULES_MAX_FILE_SIZE + 1, fp);
    if (ferror(fp)) {
        *why = strerror(errno);
        fclose(fp);
        free(buf);
        return -1;
    }
    fclose(fp);
    if (n > RULES_MAX_FILE_SIZE) {
        *why = "larger than 1 MiB";
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

static int json_name(const struct dirent *e)
{
    size_t n = strlen(e->d_name);

    return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".json") == 0;
}

struct rule_set *rules_load(const char *path, rules_err_cb on_err, void *arg)
{
    struct loader L = {0};
    struct file *files = NULL;
    struct dirent **names = NULL;
    struct stat st;
    size_t nfiles = 0;
    int n = 0;
    struct rule_set *set;
    const char *why;

    L.on_err = on_err;
    L.arg = arg;
    if (stat(path, &st) != 0) {
        report_plain(&L, path, "cannot read rules: ", strerror(errno));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        n = scandir(path, &names, json_name, alphasort);
        if (n < 0) {
            report_plain(&L, path, "cannot list rules: ", strerror(errno));
            return NULL;
        }
        if (n == 0) {
            report_plain(&L, path, "no *.json rule files in this directory", "");
            free(names);
            return NULL;
        }
        files = xcalloc((size_t)n, sizeof(*files));
        for (int i = 0; i < n; i++) {
            size_t plen = strlen(path) + strlen(names[i]->d_name) + 2;

            files[nfiles].path = xmalloc(plen);
            snprintf(files[nfiles].path, plen, "%s/%s", path, names[i]->d_name);
            free(names[i]);
            nfiles++;
        }
        free(names);
    } else {
        files = xcalloc(1, sizeof(*files));
        files[0].path = xstrdup(path);
        nfiles = 1;
    }
    for (size_t i = 0; i < nfiles; i++) {
        if (read_file(files[i].path, &files[i].text, &files[i].len, &why) != 0) {
            report_plain(&L, files[i].path, "cannot read rule file: ", why);
            files[i].text = xstrdup("{}");
            files[i].len = 2;
        }
    }
    L.set = xcalloc(1, sizeof(*L.set));
    L.set->refs = 1;
    set = compile_files(&L, files, nfiles);
    for (size_t i = 0; i < nfiles; i++) {
        free(files[i].path);
        free(files[i].text);
    }
    free(files);
    return set;
}
