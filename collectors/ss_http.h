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
 *
 * Status per ss_err.h; the one positive outcome is SS_HTTP_NOT_MODIFIED.
 */
#ifndef SS_HTTP_H
#define SS_HTTP_H

#include <stddef.h>

#include "ss_config.h"
#include "ss_err.h"

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
    char content_type[128];   /* the response's Content-Type, "" if none (file://); set before
                                 the first body byte reaches the sink */
    char error_body[1024];    /* start of a non-2xx body, for messages */
    unsigned long long bytes; /* body bytes handed to the sink */
    int attempts;             /* requests made, retries included */
};

/* ss_http_request's one positive outcome, not a failure: the server said
 * 304 Not Modified to a conditional GET (or file:// is not newer). */
#define SS_HTTP_NOT_MODIFIED 1

/* NULL with err on a bad config (an unreadable secret file). */
struct ss_http *ss_http_new(const struct ss_collector_config *cfg, volatile int *stop, char *err,
                            size_t errlen);
void ss_http_free(struct ss_http *h);

/* 0: a 2xx body went to the sink; SS_HTTP_NOT_MODIFIED; SS_ESTOPPED: the
 * body sink asked to stop, or *stop was set; or a failure, err saying what,
 * with the URL (credentials removed): SS_ERETRY (the server stayed away or
 * busy -- a connection error, 5xx, 429 -- through every retry), SS_EPROTO
 * (anything else: a refused request, a body cut short, too many redirects,
 * headers past their bound) or SS_ENOMEM. */
int ss_http_request(struct ss_http *h, const struct ss_http_req *req, ss_http_header_cb on_header,
                    ss_http_body_cb on_body, void *ud, struct ss_http_resp *resp, char *err,
                    size_t errlen);

/* When the data of the last request's 2xx body was last changed, as Unix
 * seconds: its Last-Modified (file://: the file's modification time), or -1
 * (none given, no 2xx body yet, or h NULL). Known from the body's first byte
 * on, so a streaming kind's batches can carry it (the batch's as_of). */
long long ss_http_data_time(const struct ss_http *h);

/* 0, or SS_ENOMEM. */
int ss_http_global_init(void);
void ss_http_global_cleanup(void);
/* The conditional-GET cursor of a file or export: "ETAG\nLAST-MODIFIED".
 * Splits a saved one (NULL gives two empty strings). */
void ss_http_cursor_split(const char *cursor, char *etag, size_t elen, char *lm, size_t lmlen);

/* Whether a body is a web page rather than the data asked for (a login
 * page, a portal's error page served with 200). A body is HTML when
 *   - the Content-Type is text/html or application/xhtml+xml and its first
 *     byte that is not blank (after a UTF-8 byte-order mark) is '<' -- a
 *     CSV or JSON body that a script sends with its default text/html (PHP
 *     does) starts otherwise and is data; or
 *   - whatever the Content-Type (content_type NULL or "" for file://), its
 *     first bytes that are not blank open an HTML document: <!DOCTYPE html,
 *     <html, <head or <body, in any case, followed by a blank, '>' or '/'.
 * body/len: the body's first bytes (UTF-8, or ASCII-compatible). Returns 1
 * (HTML; why says how it shows, e.g. "Content-Type text/html" or "it begins
 * <!DOCTYPE html; Content-Type text/csv"), 0 (data), or SS_HTTP_SNIFF_MORE
 * when the bytes so far do not tell (blank, or the start of one of those
 * tags) and more may come: the caller holds them and asks again with more. At end (no more
 * bytes), or once len reaches SS_HTTP_SNIFF_MAX, it always decides. */
#define SS_HTTP_SNIFF_MAX 1024
#define SS_HTTP_SNIFF_MORE 2
int ss_http_sniff_html(const char *content_type, const char *body, size_t len, int end, char *why,
                       size_t whylen);

/* The message for an HTML body where what (e.g. "CSV", "JSON") was
 * expected: "URL: the server sent HTML (WHY), not CSV (a login or error
 * page? check the URL and the credentials)"; for file:// "the file holds
 * HTML". url is redacted here. */
void ss_http_html_error(char *dst, size_t dstlen, const char *url, const char *why,
                        const char *what);

/* Binary data where text was expected. No CSV or JSON export holds a NUL
 * byte (UTF-16 comes with its byte-order mark or csv.encoding), so the
 * first one ends the read: from it on, the next SS_HTTP_BINARY_LOOK bytes
 * (or the rest of the body) are counted for the message, NUL and control
 * bytes (not tab, CR, LF, FF), and what the data may be is guessed from its
 * signature -- the body's first bytes, or the bytes just before the NUL --
 * or from NULs at every other byte (UTF-16 without its mark). */
#define SS_HTTP_BINARY_LOOK (64 * 1024)
struct ss_http_binary {
    unsigned long long seen, count;
    unsigned even, odd; /* NULs at even and odd offsets in the first 256 bytes */
    int gzip, zip;
    char tail[5]; /* the last text bytes before the NUL */
    size_t ntail;
};
/* A new body. */
void ss_http_binary_reset(struct ss_http_binary *b);
/* n bytes of text went on to be parsed (the last few are kept). */
void ss_http_binary_text(struct ss_http_binary *b, const char *data, size_t n);
/* A NUL byte comes next: the look begins. body/nbody: the body's first
 * bytes (up to 4), for a signature there. */
void ss_http_binary_begin(struct ss_http_binary *b, const unsigned char *body, size_t nbody);
/* Counts len more bytes (the first is the NUL). 1 once the look is over. */
int ss_http_binary_count(struct ss_http_binary *b, const char *p, size_t len);
/* "URL: the export is not text: a NUL byte at line L, and N bytes of binary
 * data ... (what it may be)"; what: "CSV" or "JSON". */
void ss_http_binary_error(const struct ss_http_binary *b, char *dst, size_t dstlen, const char *url,
                          unsigned long line, const char *what);

/* Copies url into dst with any user:password@ removed, for logging. */
void ss_http_redact(const char *url, char *dst, size_t dstlen);

#endif
