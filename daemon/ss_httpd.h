/* ss_httpd: the small HTTP server of the daemon's /metrics and /health and
 * of `shelfsync serve` (the published exports, ss_serve.h).
 *
 * One listening TCP socket (loopback by default) and one request at a
 * time, served from a thread of its own: the main loop may be blocked for
 * as long as a batch takes to apply, and /health must still answer then
 * ("main loop stuck for N s"); a slow or hostile HTTP client, in turn, can
 * never stall batch handling, since the main loop never touches the socket.
 * Every connection is bounded: a request of at most SS_HTTPD_REQUEST_MAX
 * bytes, read with non-blocking I/O and a deadline of SS_HTTPD_TIMEOUT_MS
 * for the whole exchange; past either the connection is closed. Only GET
 * and HEAD are served; every response closes the connection.
 *
 * The request parser (ss_httpd_parse) is separate from the socket code, so
 * it can be fuzzed (tests/fuzz/fuzz_httpd.c).
 */
#ifndef SS_HTTPD_H
#define SS_HTTPD_H

#include <stddef.h>

#include "ss_buf.h"

#define SS_HTTPD_REQUEST_MAX 4096
#define SS_HTTPD_TIMEOUT_MS 2000
#define SS_HTTPD_PATH_MAX 256
#define SS_HTTPD_BODY_MAX (4u << 20)

struct ss_http_request {
    char method[8];               /* "GET" or "HEAD" */
    char path[SS_HTTPD_PATH_MAX]; /* without the query string */
    int head;                     /* HEAD: headers only */
    /* Conditional request headers, trimmed; "" when absent or longer than
     * the field (a value cut short would compare wrongly: it is ignored,
     * and the full answer given). */
    char if_none_match[256];
    char if_modified_since[64];
};

/* Parses the bytes of a request received so far (buf need not be
 * NUL-terminated). Returns 0 when the request is not complete yet (no
 * blank line), 1 with req filled when it is, SS_EINVAL (with *why, a
 * static string) when it is not an HTTP/1.x request this server takes,
 * SS_E2BIG when len reaches SS_HTTPD_REQUEST_MAX without the end of the
 * headers. */
int ss_httpd_parse(const char *buf, size_t len, struct ss_http_request *req, const char **why);

/* Fills body (bounded by SS_HTTPD_BODY_MAX) and *ctype for req; returns the
 * HTTP status (200, 304, 404, 500, 503...). headers (bounded, initially
 * empty) takes extra response header lines, each "Name: value\r\n" (ETag,
 * Last-Modified); one that sets Cache-Control replaces the default
 * no-store. A 304's body is never sent. Called in the server's thread. */
typedef int (*ss_httpd_handler)(void *arg, const struct ss_http_request *req, struct ss_buf *body,
                                const char **ctype, struct ss_buf *headers);

struct ss_httpd;

/* Binds listen ("HOST:PORT") and starts the thread, with every signal
 * blocked in it. NULL with err on failure (bind refused, address taken). */
struct ss_httpd *ss_httpd_start(const char *listen, ss_httpd_handler h, void *arg, char *err,
                                size_t errlen);
/* Stops the thread (within about 200 ms), closes the socket, frees. NULL is
 * fine. */
void ss_httpd_stop(struct ss_httpd *s);

#endif
