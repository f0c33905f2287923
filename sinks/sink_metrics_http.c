/*
 * A tiny HTTP/1.x server on the uv loop for Prometheus: GET /metrics (text exposition 0.0.4)
 * and GET /healthz. One request per connection (Connection: close); requests are limited in
 * size (8 KiB) and time (5 s); at most 128 connections at once. It never blocks ingest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <netdb.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "sink_int.h"
#include "sinks.h"
#include "xmalloc.h"

#define REQ_MAX 8192
#define REQ_TIMEOUT_MS 5000
#define MAX_CONNS 128

struct sink_metrics_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    struct metrics *metrics; /* borrowed */
    struct conn *conns;      /* open connections */
    size_t nconns;
    int closing;
};

struct conn {
    struct sink_metrics_server *srv;
    struct conn *prev, *next;
    uv_tcp_t tcp;
    uv_timer_t timer;
    char buf[REQ_MAX];
    size_t len;
    int answered;
    int pending_closes;
    uv_write_t wreq;
    char *response; /* owned until written */
};

static void conn_unlink(struct conn *c)
{
    struct sink_metrics_server *srv = c->srv;

    if (c->prev) {
        c->prev->next = c->next;
    } else if (srv->conns == c) {
        srv->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    c->prev = c->next = NULL;
    srv->nconns--;
}

static void on_conn_part_closed(uv_handle_t *h)
{
    struct conn *c = h->data;

    if (--c->pending_closes == 0) {
        free(c->response);
        free(c);
    }
}

static void conn_close(struct conn *c)
{
    if (c->pending_closes > 0) {
        return;
    }
    conn_unlink(c);
    c->pending_closes = 2;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_conn_part_closed);
    uv_close((uv_handle_t *)&c->tcp, on_conn_part_closed);
}

static void on_written(uv_write_t *w, int status)
{
    struct conn *c = w->data;

    (void)status;
    conn_close(c);
}

/* Sends status, headers and body (body NULL: none), then closes the connection. */
static void respond(struct conn *c, int status, const char *reason, const char *extra_headers,
                    const char *ctype, const char *body, size_t blen, int head_only)
{
    struct sink__buf b;
    char line[256];
    uv_buf_t ub;

    if (c->answered) {
        return;
    }
    c->answered = 1;
    uv_read_stop((uv_stream_t *)&c->tcp);
    sink__buf_init(&b, blen + 512);
    snprintf(line, sizeof(line),
             "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n",
             status, reason, ctype, blen);
    sink__buf_add(&b, line, strlen(line));
    if (extra_headers) {
        sink__buf_add(&b, extra_headers, strlen(extra_headers));
    }
    sink__buf_add(&b, "\r\n", 2);
    if (body && !head_only) {
        sink__buf_add(&b, body, blen);
    }
    c->response = b.p;
    ub = uv_buf_init(b.p, (unsigned)b.len);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &ub, 1, on_written) != 0) {
        conn_close(c);
    }
}

static void plain(struct conn *c, int status, const char *reason, const char *extra)
{
    char body[128];

    snprintf(body, sizeof(body), "%d %s\n", status, reason);
    respond(c, status, reason, extra, "text/plain; charset=utf-8", body, strlen(body), 0);
}

/* A complete request head is in c->buf: answer it. */
static void handle(struct conn *c)
{
    char method[16], path[1024];
    const char *sp1, *sp2, *eol = strstr(c->buf, "\r\n");
    int head;

    sp1 = memchr(c->buf, ' ', (size_t)(eol - c->buf));
    sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (sp1 == NULL || sp2 == NULL || (size_t)(sp1 - c->buf) >= sizeof(method) ||
        (size_t)(sp2 - sp1 - 1) >= sizeof(path) || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        plain(c, 400, "Bad Request", NULL);
        return;
    }
    snprintf(method, sizeof(method), "%.*s", (int)(sp1 - c->buf), c->buf);
    snprintf(path, sizeof(path), "%.*s", (int)(sp2 - sp1 - 1), sp1 + 1);
    path[strcspn(path, "?")] = '\0'; /* Prometheus may add parameters */
    head = strcmp(method, "HEAD") == 0;
    if (strcmp(path, "/metrics") != 0 && strcmp(path, "/healthz") != 0) {
        plain(c, 404, "Not Found", NULL);
        return;
    }
    if (strcmp(method, "GET") != 0 && !head) {
        plain(c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
        return;
    }
    if (strcmp(path, "/healthz") == 0) {
        respond(c, 200, "OK", NULL, "text/plain; charset=utf-8", "ok\n", 3, head);
        return;
    }
    {
        size_t len;
        char *text = metrics_render_text(c->srv->metrics, &len);

        respond(c, 200, "OK", NULL, "text/plain; version=0.0.4; charset=utf-8", text, len, head);
        free(text);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    struct conn *c = h->data;

    (void)suggested;
    *out = uv_buf_init(c->buf + c->len, (unsigned)(REQ_MAX - 1 - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct conn *c = s->data;

    (void)b;
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    if (memchr(c->buf, '\0', c->len) != NULL) {
        plain(c, 400, "Bad Request", NULL);
    } else if (strstr(c->buf, "\r\n\r\n") != NULL) {
        handle(c);
    } else if (c->len >= REQ_MAX - 1) {
        plain(c, 431, "Request Header Fields Too Large", NULL);
    }
}

static void on_timeout(uv_timer_t *t)
{
    struct conn *c = t->data;

    plain(c, 408, "Request Timeout", NULL);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct sink_metrics_server *srv = server->data;
    struct conn *c;

    if (status < 0 || srv->closing) {
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->next = srv->conns;
    if (srv->conns) {
        srv->conns->prev = c;
    }
    srv->conns = c;
    srv->nconns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    if (srv->nconns > MAX_CONNS) {
        plain(c, 503, "Service Unavailable", NULL);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, REQ_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/*
 * A host name's first address (IPv4 first, as "localhost" means to most scrapers). 0, or
 * getaddrinfo's error (*gai) with UV_EAI_NONAME for a name that does not exist, UV_EAGAIN for
 * a lookup that may work later.
 */
static int resolve(const char *host, int port, struct sockaddr_storage *sa, int *gai)
{
    struct addrinfo hints, *res = NULL, *ai;
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
        *gai = rc;
        return rc == EAI_NONAME ? UV_EAI_NONAME : UV_EAGAIN;
    }
    for (ai = res; ai != NULL && ai->ai_family != AF_INET; ai = ai->ai_next) {
    }
    ai = ai != NULL ? ai : res;
    rc = UV_EINVAL;
    if (ai != NULL && ai->ai_addrlen <= sizeof(*sa)) {
        memcpy(sa, ai->ai_addr, ai->ai_addrlen);
        if (ai->ai_family == AF_INET) {
            ((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
            rc = 0;
        } else if (ai->ai_family == AF_INET6) {
            ((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
            rc = 0;
        }
    }
    freeaddrinfo(res);
    return rc;
}

/* "[ADDR:]PORT", "[v6]:PORT", ":PORT" (all addresses), "HOST:PORT" -> sockaddr. 0 or a
 * libuv error. */
static int parse_listen(const char *listen, struct sockaddr_storage *sa, int *gai)
{
    char host[256] = "127.0.0.1";
    const char *port_s = listen;
    char *end;
    long port;

    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');

        if (close == NULL || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof(host)) {
            return UV_EINVAL;
        }
        snprintf(host, sizeof(host), "%.*s", (int)(close - listen - 1), listen + 1);
        port_s = close + 2;
    } else if (strrchr(listen, ':') != NULL) {
        const char *colon = strrchr(listen, ':');

        if ((size_t)(colon - listen) >= sizeof(host)) {
            return UV_EINVAL;
        }
        snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
        port_s = colon + 1;
    }
    port = strtol(port_s, &end, 10);
    if (*port_s == '\0' || *end != '\0' || port < 0 || port > 65535) {
        return UV_EINVAL;
    }
    if (host[0] == '\0') {
        /* ":9464", as Prometheus exporters take it: every address, IPv6 and IPv4 (a dual-stack
         * socket; the caller falls back to IPv4 alone where IPv6 is off) */
        snprintf(host, sizeof(host), "::");
    }
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)sa) == 0 ||
        uv_ip4_addr(host, (int)port, (struct sockaddr_in *)sa) == 0) {
        return 0;
    }
    return resolve(host, (int)port, sa, gai); /* "localhost:9464": once, at start-up */
}

struct sink_metrics_server *sink_metrics_server_start(uv_loop_t *loop, const char *listen,
                                                      struct metrics *m, struct err *e)
{
    struct sink_metrics_server *srv;
    struct sockaddr_storage sa;
    int rc, gai = 0;

    memset(&sa, 0, sizeof(sa));
    if ((rc = parse_listen(listen, &sa, &gai)) != 0) {
        if (gai != 0) {
            /* a name that does not exist is the user's mistake; DNS that fails is the system's */
            err_set(e, "--metrics-listen %s: cannot resolve the host: %s", listen,
                    gai_strerror(gai));
            e->usage = rc == UV_EAI_NONAME;
            return NULL;
        }
        err_set(e, "--metrics-listen: '%s' is not [ADDR:]PORT (an address or host name, and a "
                "port from 0 to 65535)", listen);
        e->usage = 1;
        return NULL;
    }
    srv = xcalloc(1, sizeof(*srv));
    srv->loop = loop;
    srv->metrics = m;
    uv_tcp_init(loop, &srv->listener);
    srv->listener.data = srv;
    rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&sa, 0);
    if ((rc == UV_EAFNOSUPPORT || rc == UV_EADDRNOTAVAIL) && listen[0] == ':') {
        struct sockaddr_in *any4 = (struct sockaddr_in *)&sa;

        /* a kernel without IPv6: ":PORT" is every IPv4 address */
        uv_ip4_addr("0.0.0.0", ntohs(((struct sockaddr_in6 *)&sa)->sin6_port), any4);
        rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&sa, 0);
    }
    if (rc != 0 || (rc = uv_listen((uv_stream_t *)&srv->listener, 128, on_connection)) != 0) {
        err_set(e, "--metrics-listen %s: %s", listen, uv_strerror(rc));
        srv->closing = 1;
        uv_close((uv_handle_t *)&srv->listener, NULL);
        /* the loop frees nothing of ours: srv is freed here once the close has run */
        uv_run(loop, UV_RUN_NOWAIT);
        free(srv);
        return NULL;
    }
    {
        struct sockaddr_storage bound;
        int len = (int)sizeof(bound);
        char ip[64] = "?";
        int port = 0;

        /* the port it got, for --metrics-listen 127.0.0.1:0 */
        if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &len) == 0) {
            if (bound.ss_family == AF_INET6) {
                uv_ip6_name((struct sockaddr_in6 *)&bound, ip, sizeof(ip));
                port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
            } else {
                uv_ip4_name((struct sockaddr_in *)&bound, ip, sizeof(ip));
                port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
            }
        }
        log_at(LOG_INFO, "sinks", "serving metrics listen=%s address=%s port=%d", listen, ip, port);
    }
    return srv;
}

static void on_listener_closed(uv_handle_t *h)
{
    free(h->data);
}

void sink_metrics_server_close(struct sink_metrics_server *srv)
{
    if (srv == NULL || srv->closing) {
        return;
    }
    srv->closing = 1;
    while (srv->conns != NULL) {
        conn_close(srv->conns);
    }
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
}
