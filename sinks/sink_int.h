/* sinks internals: a growable output buffer with a fast JSON string writer. */
#ifndef ROLLWATCH_SINK_INT_H
#define ROLLWATCH_SINK_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A time already formatted (sink__buf's cache: alerts in a row share their times). */
struct sink__ts {
    int64_t ns;
    size_t len; /* 0: empty */
    char text[40];
};

struct sink__buf {
    char *p; /* owned */
    size_t len, cap;
    struct sink__ts ts[2]; /* the last two times formatted into it */
    unsigned ts_next;      /* the entry the next new time replaces */
};

/* ns as RFC 3339 text, from b's cache or formatted into it; valid until the next call. */
const char *sink__buf_ts(struct sink__buf *b, int64_t ns, size_t *len);

void sink__buf_init(struct sink__buf *b, size_t cap);
void sink__buf_free(struct sink__buf *b);
void sink__buf_grow(struct sink__buf *b, size_t n); /* room for n more bytes */

/* Inline: an alert is some 25 pieces, most of them short literals. */
static inline void sink__buf_add(struct sink__buf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        sink__buf_grow(b, n);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/*
 * Appends s[0..n) as a quoted JSON string: '"' and '\\' escaped, control bytes as \n, \t, … or
 * \u00XX, invalid UTF-8 replaced by U+FFFD when repair is set (else copied as is: the caller
 * knows the text is valid).
 */
void sink__json_str(struct sink__buf *b, const char *s, size_t n, int repair);

/*
 * Appends s[0..n) for reading on a terminal: as it is, but control bytes as \t, \n, \r or
 * \xNN (never raw: an ESC would drive the terminal), invalid UTF-8 as U+FFFD when repair is set.
 */
void sink__text_str(struct sink__buf *b, const char *s, size_t n, int repair);

struct alert;
struct rollout_event;

/* ---- libcurl and OpenSSL's HMAC, loaded on first use (sink_curl.c) ----------------------- */

#include <curl/curl.h>
#include <openssl/evp.h>
#include <uv.h>

struct err;

/* Their functions this code calls, filled by sink__curl_open. */
struct sink__curl {
    void *curl, *crypto; /* dlopen handles */
    int ready;           /* curl_global_init done */
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *easy);
    CURLcode (*easy_setopt)(CURL *easy, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *easy, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode code);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *multi);
    CURLMcode (*multi_setopt)(CURLM *multi, CURLMoption option, ...);
    CURLMcode (*multi_add_handle)(CURLM *multi, CURL *easy);
    CURLMcode (*multi_remove_handle)(CURLM *multi, CURL *easy);
    CURLMcode (*multi_socket_action)(CURLM *multi, curl_socket_t s, int mask, int *running);
    CURLMcode (*multi_assign)(CURLM *multi, curl_socket_t s, void *p);
    CURLMsg *(*multi_info_read)(CURLM *multi, int *left);
    const char *(*multi_strerror)(CURLMcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
    void (*slist_free_all)(struct curl_slist *list);
    unsigned char *(*hmac)(const EVP_MD *md, const void *key, int key_len,
                           const unsigned char *data, size_t len, unsigned char *out,
                           unsigned int *out_len);
    const EVP_MD *(*sha256)(void);
};

/* Loads both libraries and initialises libcurl (before any thread). 0, or -1 with e set. */
int sink__curl_open(struct sink__curl *c, struct err *e);
/* libcurl's global cleanup, after every handle is gone. */
void sink__curl_close(struct sink__curl *c);

/* ---- HTTP POSTs on the uv loop through curl multi (sink_http.c) --------------------------- */

struct sink__http;

/*
 * A finished POST: curl_code 0 and the HTTP status, or a transport error (status 0, error
 * text). retry_after: the Retry-After header, or NULL. response: the body (at most 16 KiB).
 */
typedef void (*sink__http_done)(void *arg, int curl_code, long status, const char *retry_after,
                                const char *error, const char *response, size_t response_len);

/* api: loaded, and outlives the returned object. */
struct sink__http *sink__http_new(uv_loop_t *loop, const struct sink__curl *api);

/*
 * POSTs body[0..len) to url. Takes ownership of headers and body (malloc'd) on success;
 * on failure (-1) they stay the caller's and done is never called.
 */
int sink__http_post(struct sink__http *h, const char *url, struct curl_slist *headers,
                    char *body, size_t len, long connect_ms, long total_ms, sink__http_done done,
                    void *arg);
size_t sink__http_in_flight(const struct sink__http *h);

/* ---- the delivery spool (sink_spool.c) ----------------------------------------------------- */

struct err;

struct spool_item {
    struct spool_item *next;
    char id[48];  /* the delivery id, stable across retries and restarts */
    char *name;   /* owned: the file in the spool dir, or NULL when kept in memory */
    char *body;   /* owned: memory-only deliveries */
    size_t len;
    int refresh;  /* a re-send of known state (alertmanager): never on disk, not owed */
};

struct sink__spool {
    char *dir; /* owned; NULL = memory only */
    uint64_t next_seq;
    struct spool_item *head, *tail; /* FIFO */
    size_t count, max;
    size_t recovered; /* found on disk at open: left by an earlier run */
    uint64_t dropped; /* pushed out by the size bound */
};

/* Opens (creating) dir, queueing what an earlier run left there. dir NULL: memory only. */
int sink__spool_open(struct sink__spool *sp, const char *dir, size_t max, struct err *e);
/* Queues a delivery; durable ones are on disk (fsync'd) when this returns. Drops the oldest
 * when full. */
int sink__spool_push(struct sink__spool *sp, const char *id, const char *body, size_t len,
                     int durable);
/* The body of it, malloc'd. Returns 0 or -1 (the file is gone). */
int sink__spool_load(struct sink__spool *sp, struct spool_item *it, char **body, size_t *len);
/* Removes the head (delivered or dead-lettered), file included. */
void sink__spool_pop(struct sink__spool *sp);
/* Frees the queue; files stay for the next run. */
void sink__spool_close(struct sink__spool *sp);

/* Abandons transfers in flight (their done gets CURLE_ABORTED_BY_CALLBACK, synchronously),
 * closes handles, then frees. */
void sink__http_close(struct sink__http *h, void (*closed)(void *), void *arg);

/* A DESIGN §6 {"type":"alert",...} object plus a newline. */
void sink__alert_json(struct sink__buf *b, const struct alert *a);

/*
 * The part of an alert's JSON that its resolved notice repeats byte for byte ("rule" to
 * "starts_at": the rules send the notice with the copies of the last alert sent), kept per
 * fingerprint in a table of fixed size: a newer alert of the same slot takes it over, and a
 * notice that finds another fingerprint there is written in full. It saves the notice most of
 * the escaping of its hint and summary.
 */
#define SINK_ALERT_MEMO_SLOTS 1024
struct sink__alert_memo {
    struct sink__alert_memo_slot {
        char fingerprint[17];
        char *json; /* owned */
        size_t len, cap;
    } slot[SINK_ALERT_MEMO_SLOTS];
};

/* sink__alert_json through memo: kept from a firing alert, used for its resolved notice. */
void sink__alert_json_memo(struct sink__buf *b, const struct alert *a,
                           struct sink__alert_memo *memo);
void sink__alert_memo_free(struct sink__alert_memo *memo);
/* A DESIGN §6 {"type":"rollout",...} object plus a newline. */
void sink__rollout_json(struct sink__buf *b, const struct rollout_event *ev);
/* A JSON string, or null when s is NULL. */
void sink__json_cstr_or_null(struct sink__buf *b, const char *s);

#endif
