/*
 * HTTP POSTs through one curl multi handle driven by the uv loop (curl's multi-uv pattern,
 * c-anchors §4): curl says which sockets to watch and when to wake it; libuv watches and wakes.
 * Nothing here blocks the loop.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "sink_int.h"
#include "xmalloc.h"

#define RESPONSE_MAX (16 * 1024) /* kept for the dead-letter file */

struct sink__http {
    uv_loop_t *loop;
    const struct sink__curl *api; /* borrowed */
    CURLM *multi; /* owned */
    uv_timer_t timer;
    int closing;
    size_t in_flight;
    struct http_req *reqs; /* in flight, for close (curl 7.88 cannot list its handles) */
    size_t pending_closes; /* poll contexts and the timer still closing */
    void (*closed)(void *);
    void *closed_arg;
};

/* One transfer: owns its easy handle, header list, body and response. */
struct http_req {
    struct sink__http *http;
    struct http_req *prev, *next;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    size_t body_len;
    char errbuf[CURL_ERROR_SIZE];
    char retry_after[64];
    struct sink__buf response;
    sink__http_done done;
    void *arg;
};

/* A socket curl asked us to watch. */
struct poll_ctx {
    struct sink__http *http;
    uv_poll_t poll;
    curl_socket_t fd;
};

static void maybe_closed(struct sink__http *h)
{
    if (h->closing && h->pending_closes == 0) {
        void (*closed)(void *) = h->closed;
        void *arg = h->closed_arg;

        free(h);
        if (closed) {
            closed(arg);
        }
    }
}

static void on_poll_closed(uv_handle_t *handle)
{
    struct poll_ctx *ctx = handle->data;
    struct sink__http *h = ctx->http;

    free(ctx);
    h->pending_closes--;
    maybe_closed(h);
}

static void req_unlink(struct http_req *r)
{
    if (r->prev) {
        r->prev->next = r->next;
    } else {
        r->http->reqs = r->next;
    }
    if (r->next) {
        r->next->prev = r->prev;
    }
    r->prev = r->next = NULL;
}

static void req_free(struct http_req *r)
{
    r->http->api->easy_cleanup(r->easy);
    r->http->api->slist_free_all(r->headers);
    free(r->body);
    sink__buf_free(&r->response);
    free(r);
}

/* Every finished transfer: hand the result to its owner, free the request. */
static void drain_done(struct sink__http *h)
{
    CURLMsg *msg;
    int left;

    while ((msg = h->api->multi_info_read(h->multi, &left)) != NULL) {
        struct http_req *r;
        CURL *easy;
        CURLcode result;
        long status = 0;

        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        /* read the message before remove_handle invalidates it */
        easy = msg->easy_handle;
        result = msg->data.result;
        h->api->easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
        h->api->easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        h->api->multi_remove_handle(h->multi, easy);
        req_unlink(r);
        h->in_flight--;
        if (r->done) {
            sink__buf_add(&r->response, "", 1); /* NUL for the reader's convenience */
            r->done(r->arg, (int)result, result == CURLE_OK ? status : 0,
                    r->retry_after[0] ? r->retry_after : NULL,
                    result == CURLE_OK ? NULL : (r->errbuf[0] ? r->errbuf : h->api->easy_strerror(result)),
                    r->response.p, r->response.len - 1);
        }
        req_free(r);
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct poll_ctx *ctx = p->data;
    int flags = 0, running;

    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    }
    if (events & UV_READABLE) {
        flags |= CURL_CSELECT_IN;
    }
    if (events & UV_WRITABLE) {
        flags |= CURL_CSELECT_OUT;
    }
    ctx->http->api->multi_socket_action(ctx->http->multi, ctx->fd, flags, &running);
    drain_done(ctx->http);
}

static void on_timer(uv_timer_t *t)
{
    struct sink__http *h = t->data;
    int running;

    h->api->multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_done(h);
}

/* curl: "call me in ms milliseconds" (-1: never mind). */
static int on_curl_timer(CURLM *multi, long ms, void *userp)
{
    struct sink__http *h = userp;

    (void)multi;
    if (ms < 0) {
        uv_timer_stop(&h->timer);
    } else {
        /* 0 means now, but calling curl back from inside its callback is not allowed */
        uv_timer_start(&h->timer, on_timer, ms == 0 ? 1 : (uint64_t)ms, 0);
    }
    return 0;
}

/* curl: "watch this socket for these events" (or stop watching it). */
static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct sink__http *h = userp;
    struct poll_ctx *ctx = socketp;
    int events = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (ctx != NULL) {
            uv_poll_stop(&ctx->poll);
            h->api->multi_assign(h->multi, s, NULL);
            h->pending_closes++;
            uv_close((uv_handle_t *)&ctx->poll, on_poll_closed);
        }
        return 0;
    }
    if (ctx == NULL) {
        ctx = xcalloc(1, sizeof(*ctx));
        ctx->http = h;
        ctx->fd = s;
        if (uv_poll_init_socket(h->loop, &ctx->poll, s) != 0) {
            free(ctx);
            return -1;
        }
        ctx->poll.data = ctx;
        h->api->multi_assign(h->multi, s, ctx);
    }
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) {
        events |= UV_READABLE;
    }
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) {
        events |= UV_WRITABLE;
    }
    uv_poll_start(&ctx->poll, events, on_poll);
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    struct http_req *r = userp;
    size_t len = size * n, room = RESPONSE_MAX - r->response.len;

    sink__buf_add(&r->response, data, len < room ? len : room);
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
    struct http_req *r = userp;
    size_t len = size * n;

    if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        size_t i = 12, k = 0;

        while (i < len && (data[i] == ' ' || data[i] == '\t')) {
            i++;
        }
        while (i < len && data[i] != '\r' && data[i] != '\n' && k + 1 < sizeof(r->retry_after)) {
            r->retry_after[k++] = data[i++];
        }
        r->retry_after[k] = '\0';
    }
    return len;
}

struct sink__http *sink__http_new(uv_loop_t *loop, const struct sink__curl *api)
{
    struct sink__http *h = xcalloc(1, sizeof(*h));

    h->loop = loop;
    h->api = api;
    h->multi = h->api->multi_init();
    if (h->multi == NULL) {
        abort();
    }
    h->api->multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    h->api->multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    h->api->multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    h->api->multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    h->api->multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 4L);
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    return h;
}

int sink__http_post(struct sink__http *h, const char *url, struct curl_slist *headers,
                    char *body, size_t len, long connect_ms, long total_ms, sink__http_done done,
                    void *arg)
{
    struct http_req *r = xcalloc(1, sizeof(*r));
    CURLMcode mc;

    r->http = h;
    r->headers = headers;
    r->body = body;
    r->body_len = len;
    r->done = done;
    r->arg = arg;
    sink__buf_init(&r->response, 1024);
    r->easy = h->api->easy_init();
    if (r->easy == NULL || h->closing) {
        req_free(r);
        return -1;
    }
    h->api->easy_setopt(r->easy, CURLOPT_URL, url);
    h->api->easy_setopt(r->easy, CURLOPT_POST, 1L);
    h->api->easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
    h->api->easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    h->api->easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
    h->api->easy_setopt(r->easy, CURLOPT_PRIVATE, r);
    h->api->easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
    h->api->easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    h->api->easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, total_ms);
    h->api->easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    h->api->easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
    h->api->easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    h->api->easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
    h->api->easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
    h->api->easy_setopt(r->easy, CURLOPT_USERAGENT, "rollwatch/" ROLLWATCH_HTTP_VERSION);
    /* webhooks are http(s) only: no file://, no redirects to elsewhere */
    h->api->easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    mc = h->api->multi_add_handle(h->multi, r->easy);
    if (mc != CURLM_OK) {
        log_at(LOG_ERROR, "sinks", "cannot start a request: %s", h->api->multi_strerror(mc));
        r->body = NULL; /* the caller keeps ownership on failure */
        r->headers = NULL;
        req_free(r);
        return -1;
    }
    r->next = h->reqs;
    if (h->reqs) {
        h->reqs->prev = r;
    }
    h->reqs = r;
    h->in_flight++;
    return 0;
}

size_t sink__http_in_flight(const struct sink__http *h)
{
    return h->in_flight;
}

static void on_timer_closed(uv_handle_t *t)
{
    struct sink__http *h = t->data;

    h->pending_closes--;
    maybe_closed(h);
}

void sink__http_close(struct sink__http *h, void (*closed)(void *), void *arg)
{
    if (h == NULL || h->closing) {
        return;
    }
    h->closing = 1;
    h->closed = closed;
    h->closed_arg = arg;
    /* abandon what is in flight (the callers' spool still has it); done is told, so that
     * its owner can free what it passed along */
    while (h->reqs != NULL) {
        struct http_req *r = h->reqs;

        h->api->multi_remove_handle(h->multi, r->easy);
        req_unlink(r);
        if (r->done) {
            r->done(r->arg, CURLE_ABORTED_BY_CALLBACK, 0, NULL, "abandoned at shutdown", "", 0);
        }
        req_free(r);
    }
    h->in_flight = 0;
    h->api->multi_cleanup(h->multi); /* may call on_curl_socket(REMOVE): poll contexts close */
    h->multi = NULL;
    uv_timer_stop(&h->timer);
    h->pending_closes++;
    uv_close((uv_handle_t *)&h->timer, on_timer_closed);
}
