/*
 * Rule files -> a JSON tree with byte offsets, built from yajl's callback API, so that every
 * error can name FILE:LINE:COL (yajl_tree keeps no positions).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "rules_int.h"
#include "xmalloc.h"

struct builder {
    yajl_handle h;
    const char *text;
    struct jnode *stack[RULES_MAX_DEPTH + 1];
    int depth;
    struct jnode *root;
    char *pending_key; /* owned until attached */
    size_t pending_key_off;
    int too_deep;
    size_t too_deep_off;
};

static size_t consumed(struct builder *b)
{
    return yajl_get_bytes_consumed(b->h);
}

/* Start of a string token that ends (closing quote included) just before end. */
static size_t string_start(const char *text, size_t end)
{
    size_t i = end >= 2 ? end - 2 : 0;

    while (i > 0) {
        if (text[i] == '"') {
            size_t bs = 0;

            while (i > bs && text[i - 1 - bs] == '\\') {
                bs++;
            }
            if (bs % 2 == 0) {
                return i;
            }
        }
        i--;
    }
    return 0;
}

static void node_free(struct jnode *n)
{
    if (n == NULL) {
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        node_free(n->items[i]);
        if (n->keys) {
            free(n->keys[i]);
        }
    }
    free(n->items);
    free(n->keys);
    free(n->key_offs);
    free(n->str);
    free(n);
}

static int attach(struct builder *b, struct jnode *n)
{
    struct jnode *parent = b->depth > 0 ? b->stack[b->depth - 1] : NULL;

    if (parent == NULL) {
        b->root = n;
        return 1;
    }
    parent->items = xrealloc(parent->items, (parent->n + 1) * sizeof(*parent->items));
    if (parent->type == J_OBJECT) {
        parent->keys = xrealloc(parent->keys, (parent->n + 1) * sizeof(*parent->keys));
        parent->key_offs = xrealloc(parent->key_offs, (parent->n + 1) * sizeof(size_t));
        parent->keys[parent->n] = b->pending_key ? b->pending_key : xstrdup("");
        parent->key_offs[parent->n] = b->pending_key_off;
        b->pending_key = NULL;
    }
    parent->items[parent->n++] = n;
    return 1;
}

static struct jnode *node_new(enum jtype t, size_t off)
{
    struct jnode *n = xcalloc(1, sizeof(*n));

    n->type = t;
    n->off = off;
    return n;
}

static int on_null(void *ctx)
{
    struct builder *b = ctx;
    return attach(b, node_new(J_NULL, consumed(b) - 4));
}

static int on_bool(void *ctx, int v)
{
    struct builder *b = ctx;
    struct jnode *n = node_new(J_BOOL, consumed(b) - (v ? 4 : 5));

    n->boolean = v;
    return attach(b, n);
}

static int on_number(void *ctx, const char *s, size_t len)
{
    struct builder *b = ctx;
    size_t end = consumed(b);
    struct jnode *n;

    /* the lexer may have read the delimiter after the number: back up to its last digit */
    while (end > len && strchr("0123456789.eE+-", b->text[end - 1]) == NULL) {
        end--;
    }
    n = node_new(J_NUMBER, end - len);

    n->str = xstrndup(s, len);
    n->len = len;
    return attach(b, n);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    struct builder *b = ctx;
    struct jnode *n = node_new(J_STRING, string_start(b->text, consumed(b)));

    n->str = xstrndup((const char *)s, len);
    n->len = len;
    return attach(b, n);
}

static int on_key(void *ctx, const unsigned char *s, size_t len)
{
    struct builder *b = ctx;

    free(b->pending_key);
    b->pending_key = xstrndup((const char *)s, len);
    /* back up to the key's closing quote in case the lexer has moved past it */
    {
        size_t end = consumed(b);

        while (end > 0 && b->text[end - 1] != '"') {
            end--;
        }
        b->pending_key_off = string_start(b->text, end);
    }
    return 1;
}

static int open_container(struct builder *b, enum jtype t)
{
    struct jnode *n = node_new(t, consumed(b) - 1);

    if (b->depth >= RULES_MAX_DEPTH) {
        b->too_deep = 1;
        b->too_deep_off = n->off;
        free(n);
        return 0;
    }
    attach(b, n);
    b->stack[b->depth++] = n;
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, J_OBJECT);
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, J_ARRAY);
}

static int on_end(void *ctx)
{
    struct builder *b = ctx;

    b->stack[b->depth - 1]->end = consumed(b);
    b->depth--;
    return 1;
}

static const yajl_callbacks callbacks = {
    on_null, on_bool, NULL, NULL, on_number, on_string, on_start_map, on_key, on_end,
    on_start_array, on_end,
};

void rules__json_pos(const struct jdoc *doc, size_t off, int *line, int *col)
{
    int l = 1, c = 1;

    for (size_t i = 0; i < off && i < doc->len; i++) {
        if (doc->text[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* yajl's short error text is "parse error: <reason>\n"; keep the reason. */
static void short_error(yajl_handle h, const char *text, size_t len, char *out, size_t cap)
{
    unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)text, len);
    const char *m = (const char *)msg;
    size_t n;

    if (strncmp(m, "parse error: ", 13) == 0) {
        m += 13;
    } else if (strncmp(m, "lexical error: ", 15) == 0) {
        m += 15;
    }
    n = strcspn(m, "\n");
    snprintf(out, cap, "%.*s", (int)n, m);
    yajl_free_error(h, msg);
}

int rules__json_parse(const char *path, const char *text, size_t len, struct jdoc *doc,
                      struct err *e)
{
    struct builder b;
    yajl_status st;
    int line, col;
    char why[256];

    memset(doc, 0, sizeof(*doc));
    doc->path = path;
    doc->text = text;
    doc->len = len;
    if (memchr(text, '\0', len) != NULL) {
        rules__json_pos(doc, (size_t)((const char *)memchr(text, '\0', len) - text), &line, &col);
        err_set_at(e, path, line, col, "NUL byte in rule file");
        return -1;
    }
    memset(&b, 0, sizeof(b));
    b.text = text;
    b.h = yajl_alloc(&callbacks, NULL, &b);
    yajl_config(b.h, yajl_allow_comments, 1);
    st = yajl_parse(b.h, (const unsigned char *)text, len);
    if (st == yajl_status_ok) {
        st = yajl_complete_parse(b.h);
        if (st != yajl_status_ok) {
            short_error(b.h, text, len, why, sizeof(why));
            rules__json_pos(doc, len, &line, &col);
            err_set_at(e, path, line, col, "%s (the file ends too early)", why);
            goto fail;
        }
    } else {
        size_t off = yajl_get_bytes_consumed(b.h);

        if (b.too_deep) {
            rules__json_pos(doc, b.too_deep_off, &line, &col);
            err_set_at(e, path, line, col, "nested deeper than %d levels", RULES_MAX_DEPTH);
            goto fail;
        }
        short_error(b.h, text, len, why, sizeof(why));
        /* the offset is just past the offending token: point at its first byte */
        if (off > 0) {
            off--;
        }
        rules__json_pos(doc, off, &line, &col);
        err_set_at(e, path, line, col, "invalid JSON: %s", why);
        goto fail;
    }
    yajl_free(b.h);
    free(b.pending_key);
    doc->root = b.root;
    if (doc->root == NULL) {
        err_set_at(e, path, 1, 1, "empty rule file");
        return -1;
    }
    return 0;
fail:
    yajl_free(b.h);
    free(b.pending_key);
    node_free(b.root);
    return -1;
}

void rules__json_free(struct jdoc *doc)
{
    node_free(doc->root);
    doc->root = NULL;
}

const struct jnode *rules__json_get(const struct jnode *obj, const char *key)
{
    if (obj == NULL || obj->type != J_OBJECT) {
        return NULL;
    }
    for (size_t i = 0; i < obj->n; i++) {
        if (strcmp(obj->keys[i], key) == 0) {
            return obj->items[i];
        }
    }
    return NULL;
}
