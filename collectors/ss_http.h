/* ss_http: the collectors' HTTP(S) client, on libcurl.
 *
 * One client per collector run, built from the config's "http" object:
 * connect and total timeouts, a low-speed abort, TLS verification always on
 * (http.ca_file overrides the system store), proxies from the environment
 * as libcurl reads them, gzip/deflate, redirects (http/https only, at most
 * 5), and the configured credentials (http.auth basic or bearer, read from
 * files or $CREDENTIALS_DIRECTORY, never logged; the API kinds pass no_auth
 * and authenticate themselves).
 *
 * ss_http_request() streams the response body to a sink, never holding it
 * whole. Connection errors, 5xx and 429 are retried (http.retries times)
 * with capped, jittered back-off that honours Retry-After (up to
 * http.retry_max_s) -- but only while no body byte has reached the sink:
 * a transfer that fails half-way is an error, so nothing is handed over
 * twice. A non-2xx body is not given to the sink; its start is kept for the
 * error message. A conditional GET (etag / last_modified in the request)
 * that the server answers 304 gives SS_HTTP_NOT_MODIFIED.
 */
#ifndef SS_HTTP_H
#define SS_HTTP_H

#include <stddef.h>

#include "ss_config.h"

struct ss_http;

/* Return 0 to go on, non-zero to stop the transfer. */
typedef int (*ss_http_body_cb)(void *ud, const char *data, size_t len);
/* One response header, name and value trimmed, not NUL-terminated. Called
 * for the final response only (after redirects and retries). */
typedef void (*ss_http_header_cb)(void *ud, const char *name, size_t nlen, const char *value,
                                  size_t vlen);

struct ss_http_req {
    const char *method; /* NULL: GET */
    const char *url;
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated, or NULL */
    const char *body;           /* request body (POST) or NULL */
    size_t body_len;
    const char *etag; /* conditional GET validators, or NULL */
    const char *last_modified;
    int no_auth; /* do not add the configured http.auth */
};

struct ss_http_resp {
    long status;    /* final HTTP status (0 for file://) */
    char etag[256]; /* validators of the response, "" if none */
    char last_modified[128];
    char error_body[1024];    /* start of a non-2xx body, for messages */
    unsigned long long bytes; /* body bytes handed to the sink */
    int attempts;             /* requests made, retries included */
};

enum ss_http_result {
    SS_HTTP_OK,
    SS_HTTP_NOT_MODIFIED,
    SS_HTTP_FAILED,  /* err: what, with the URL (credentials removed) */
    SS_HTTP_STOPPED, /* the body sink asked to stop, or *stop was set */
};

/* NULL with err on a bad config (an unreadable secret file). */
struct ss_http *ss_http_new(const struct ss_collector_config *cfg, volatile int *stop, char *err,
                            size_t errlen);
void ss_http_free(struct ss_http *h);

enum ss_http_result ss_http_request(struct ss_http *h, const struct ss_http_req *req,
                                    ss_http_header_cb on_header, ss_http_body_cb on_body, void *ud,
                                    struct ss_http_resp *resp, char *err, size_t errlen);

int ss_http_global_init(void);
void ss_http_global_cleanup(void);
/* The conditional-GET cursor of a file or export: "ETAG\nLAST-MODIFIED".
 * Splits a saved one (NULL gives two empty strings). */
void ss_http_cursor_split(const char *cursor, char *etag, size_t elen, char *lm, size_t lmlen);

/* Copies url into dst with any user:password@ removed, for logging. */
void ss_http_redact(const char *url, char *dst, size_t dstlen);

#endif
