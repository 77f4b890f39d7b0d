/* ss_httpd: see ss_httpd.h. */
#include "ss_httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ss_err.h"
#include "ss_log.h"
#include "ss_text.h"
#include "ss_time.h"

struct ss_httpd {
    int fd;
    pthread_t thread;
    atomic_int stop;
    ss_httpd_handler handler;
    void *arg;
    char listen[128];
    struct ss_buf body, out, headers;
};

/* The end of the headers in buf[0..len), or NULL. */
static const char *headers_end(const char *buf, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] == '\n' && buf[i + 1] == '\n')
            return buf + i + 2;
        if (i + 3 < len && memcmp(buf + i, "\r\n\r\n", 4) == 0)
            return buf + i + 4;
    }
    return NULL;
}

/* Copies the value of header line [p, eol) into dst when its name is
 * name (any case) and the trimmed value fits; leaves dst alone otherwise. */
static void header_value(const char *p, const char *eol, const char *name, char *dst, size_t cap)
{
    size_t nlen = strlen(name);
    if ((size_t)(eol - p) <= nlen || p[nlen] != ':' || strncasecmp(p, name, nlen) != 0)
        return;
    const char *v = p + nlen + 1;
    size_t vlen = (size_t)(eol - v);
    ss_trim(&v, &vlen);
    if (vlen < cap) {
        memcpy(dst, v, vlen);
        dst[vlen] = '\0';
    }
}

int ss_httpd_parse(const char *buf, size_t len, struct ss_http_request *req, const char **why)
{
    memset(req, 0, sizeof(*req));
    *why = NULL;
    const char *end = headers_end(buf, len);
    if (!end) {
        if (len >= SS_HTTPD_REQUEST_MAX) {
            *why = "request headers too large";
            return SS_E2BIG;
        }
        /* A request line that is plainly not HTTP need not wait for more. */
        for (size_t i = 0; i < len && i < 8; i++)
            if (buf[i] < 'A' || buf[i] > 'Z') {
                if (buf[i] == ' ' && i > 0)
                    break;
                *why = "not an HTTP request";
                return SS_EINVAL;
            }
        return 0;
    }
    if ((size_t)(end - buf) > SS_HTTPD_REQUEST_MAX) {
        *why = "request headers too large";
        return SS_E2BIG;
    }
    /* Request line: METHOD SP TARGET SP HTTP/1.x CRLF */
    const char *p = buf, *lim = end;
    const char *sp = memchr(p, ' ', (size_t)(lim - p));
    if (!sp || sp == p || (size_t)(sp - p) >= sizeof(req->method)) {
        *why = "malformed request line";
        return SS_EINVAL;
    }
    memcpy(req->method, p, (size_t)(sp - p));
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        *why = "method not allowed";
        return SS_EINVAL;
    }
    req->head = req->method[0] == 'H';
    p = sp + 1;
    sp = memchr(p, ' ', (size_t)(lim - p));
    if (!sp || sp == p || *p != '/') {
        *why = "malformed request target";
        return SS_EINVAL;
    }
    size_t tlen = (size_t)(sp - p);
    const char *q = memchr(p, '?', tlen);
    if (q)
        tlen = (size_t)(q - p);
    if (tlen >= sizeof(req->path)) {
        *why = "request target too long";
        return SS_EINVAL;
    }
    for (size_t i = 0; i < tlen; i++)
        if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f) {
            *why = "malformed request target";
            return SS_EINVAL;
        }
    memcpy(req->path, p, tlen);
    p = sp + 1;
    if (lim - p < 9 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
        (p[8] != '\r' && p[8] != '\n')) {
        *why = "not HTTP/1.0 or HTTP/1.1";
        return SS_EINVAL;
    }
    /* The header lines, for the conditional ones. */
    p = memchr(p, '\n', (size_t)(lim - p));
    while (p && ++p < lim) {
        const char *eol = memchr(p, '\n', (size_t)(lim - p));
        if (!eol)
            break;
        const char *e = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        header_value(p, e, "If-None-Match", req->if_none_match, sizeof(req->if_none_match));
        header_value(p, e, "If-Modified-Since", req->if_modified_since,
                     sizeof(req->if_modified_since));
        p = eol;
    }
    return 1;
}

/* Builds the whole response for the request read into in. */
static void respond(struct ss_httpd *s, const char *in, size_t len)
{
    struct ss_http_request req;
    const char *why, *ctype = "text/plain; charset=utf-8";
    int status;
    ss_buf_reset(&s->body);
    ss_buf_reset(&s->out);
    ss_buf_reset(&s->headers);
    int rc = ss_httpd_parse(in, len, &req, &why);
    if (rc < 0) {
        status = rc == SS_E2BIG ? 431 : strcmp(why, "method not allowed") == 0 ? 405 : 400;
        ss_buf_printf(&s->body, "%s\n", why);
    } else {
        status = s->handler(s->arg, &req, &s->body, &ctype, &s->headers);
    }
    const char *text = status == 200   ? "OK"
                       : status == 304 ? "Not Modified"
                       : status == 404 ? "Not Found"
                       : status == 405 ? "Method Not Allowed"
                       : status == 431 ? "Request Header Fields Too Large"
                       : status == 500 ? "Internal Server Error"
                       : status == 503 ? "Service Unavailable"
                                       : "Bad Request";
    if (status == 304)
        ss_buf_reset(&s->body);
    int own_cache = s->headers.len && strstr(s->headers.data, "Cache-Control:") != NULL;
    ss_buf_printf(&s->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s",
                  status, text, ctype, s->body.len, own_cache ? "" : "Cache-Control: no-store\r\n");
    ss_buf_add(&s->out, s->headers.data, s->headers.len);
    ss_buf_adds(&s->out, "Connection: close\r\n\r\n");
    if ((rc < 0 || !req.head) && status != 304)
        ss_buf_add(&s->out, s->body.data, s->body.len);
}

/* Waits for fd to be ready for events until the deadline: 1 ready, 0 past
 * the deadline or stopping, -errno. */
static int wait_fd(struct ss_httpd *s, int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - ss_now_ms();
        if (left <= 0 || atomic_load(&s->stop))
            return 0;
        struct pollfd p = {fd, events, 0};
        int rc = poll(&p, 1, left < 200 ? (int)left : 200);
        if (rc < 0 && errno != EINTR)
            return -errno;
        if (rc > 0)
            return 1;
    }
}

/* One connection: read the request (bounded, with a deadline), answer,
 * close. Whatever the client does, this returns within the deadline. */
static void serve_one(struct ss_httpd *s, int c)
{
    char in[SS_HTTPD_REQUEST_MAX];
    size_t len = 0;
    const char *why;
    struct ss_http_request req;
    int64_t deadline = ss_now_ms() + SS_HTTPD_TIMEOUT_MS;

    for (;;) {
        int rc = ss_httpd_parse(in, len, &req, &why);
        if (rc != 0)
            break;
        if (wait_fd(s, c, POLLIN, deadline) <= 0)
            goto out; /* too slow: close */
        ssize_t n = recv(c, in + len, sizeof(in) - len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            goto out;
        len += (size_t)n;
    }
    respond(s, in, len);
    size_t off = 0;
    while (off < s->out.len) {
        ssize_t n = send(c, s->out.data + off, s->out.len - off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(s, c, POLLOUT, deadline) <= 0)
                goto out;
            continue;
        }
        if (n <= 0)
            goto out;
        off += (size_t)n;
    }
    shutdown(c, SHUT_WR);
out:
    close(c);
}

static void *httpd_main(void *arg)
{
    struct ss_httpd *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {s->fd, POLLIN, 0};
        int rc = poll(&p, 1, 200);
        if (rc <= 0)
            continue;
        int c = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0)
            continue; /* EAGAIN, ECONNABORTED, EMFILE: try again on the next round */
        serve_one(s, c);
    }
    return NULL;
}

/* Splits "HOST:PORT" / "[V6]:PORT" into a bound-ready address. 0, or
 * SS_EINVAL with err. */
static int resolve(const char *listen, struct addrinfo **ai, char *err, size_t errlen)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    size_t hlen = colon ? (size_t)(colon - listen) : 0;
    if (!colon || hlen == 0 || hlen >= sizeof(host) || !colon[1]) {
        snprintf(err, errlen, "listen \"%s\": expected HOST:PORT", listen);
        return SS_EINVAL;
    }
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    if (host[0] == '[' && host[hlen - 1] == ']') {
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
                             .ai_socktype = SOCK_STREAM};
    int rc = getaddrinfo(host, colon + 1, &hints, ai);
    if (rc != 0) {
        snprintf(err, errlen, "listen \"%s\": %s", listen, gai_strerror(rc));
        return SS_EINVAL;
    }
    return 0;
}

struct ss_httpd *ss_httpd_start(const char *addr, ss_httpd_handler h, void *arg, char *err,
                                size_t errlen)
{
    struct addrinfo *ai = NULL;
    struct ss_httpd *s = NULL;
    int one = 1, fd = -1;
    if (resolve(addr, &ai, err, errlen) < 0)
        return NULL;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        goto fail;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s->fd = fd;
    s->handler = h;
    s->arg = arg;
    snprintf(s->listen, sizeof(s->listen), "%s", addr);
    ss_buf_init(&s->body, SS_HTTPD_BODY_MAX);
    ss_buf_init(&s->out, SS_HTTPD_BODY_MAX + 2048);
    ss_buf_init(&s->headers, 1024);
    atomic_init(&s->stop, 0);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, httpd_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the HTTP thread: %s", strerror(rc));
        ss_buf_free(&s->body);
        ss_buf_free(&s->out);
        ss_buf_free(&s->headers);
        free(s);
        s = NULL;
        goto fail;
    }
    freeaddrinfo(ai);
    return s;
fail:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return NULL;
}

void ss_httpd_stop(struct ss_httpd *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    close(s->fd);
    ss_buf_free(&s->body);
    ss_buf_free(&s->out);
    ss_buf_free(&s->headers);
    free(s);
}
