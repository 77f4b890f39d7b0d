/* ss_http: see ss_http.h.
 *
 * One easy handle per client, so that the keep-alive connections of a run
 * are reused (the API kinds page through many requests). Each request resets
 * the handle; each attempt starts from fresh per-attempt state.
 *
 * Retries: an attempt is retried only while no body byte has reached the
 * caller's sink. Bodies of non-2xx answers never reach it (they go to
 * error_body), so 5xx and 429 can always be retried; a connection error is
 * retried only when it happened before the first body byte.
 *
 * Headers are held back until the response is known to be the final one
 * (the first body byte of a 2xx answer, or the end of an attempt that will
 * not be retried): the caller never sees the headers of a redirect or of an
 * answer that is retried. Trailers after the body pass straight through.
 *
 * Secrets are read once in ss_http_new and wiped in ss_http_free. They never
 * go into a log line or an error message. libcurl keeps its own copies
 * (CURLOPT_PASSWORD, CURLOPT_XOAUTH2_BEARER) while the handle lives and
 * frees them without wiping; that is outside our reach.
 */
#include "ss_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include "ss_buf.h"
#include "ss_err.h"
#include "ss_log.h"
#include "ss_secret.h"
#include "ss_text.h"
#include "ss_time.h"

#define SS_HTTP_BACKOFF_INITIAL_MS 500
/* Held-back headers of one response; curl bounds each header line itself. */
#define SS_HTTP_HEADERS_MAX (256 * 1024)

enum http_auth { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

struct ss_http {
    const struct ss_collector_config *cfg;
    volatile int *stop;
    CURL *curl;
    enum http_auth auth;
    char *secret;        /* the password (basic) or the token (bearer) */
    long long data_time; /* the last 2xx body's Last-Modified (file://: mtime), -1 if none */
};

struct transfer {
    CURL *curl;
    ss_http_header_cb on_header;
    ss_http_body_cb on_body;
    void *ud;
    struct ss_http_resp *resp;
    volatile int *stop;
    struct ss_buf headers; /* held back: [size_t nlen][size_t vlen][name][value] ... */
    long long *data_time;  /* the client's data_time, set with the first 2xx body byte */
    int headers_delivered;
    int headers_too_big;
    int checked;
    int stopped;
    int bad_status;
    size_t error_len;
};

int ss_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : SS_ENOMEM;
}

void ss_http_global_cleanup(void)
{
    curl_global_cleanup();
}

void ss_http_cursor_split(const char *cursor, char *etag, size_t elen, char *lm, size_t lmlen)
{
    etag[0] = lm[0] = '\0';
    if (!cursor)
        return;
    const char *nl = strchr(cursor, '\n');
    size_t n = nl ? (size_t)(nl - cursor) : strlen(cursor);
    snprintf(etag, elen, "%.*s", (int)n, cursor);
    if (nl)
        snprintf(lm, lmlen, "%s", nl + 1);
}

/* The media type of a Content-Type value, without parameters or blanks:
 * "text/html; charset=utf-8" -> "text/html". */
static size_t media_type(const char *ct, const char **start)
{
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, "; \t");
    *start = ct;
    return n;
}

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

int ss_http_sniff_html(const char *content_type, const char *body, size_t len, int end, char *why,
                       size_t whylen)
{
    static const char *const tags[] = {"<!doctype html", "<html", "<head", "<body"};
    const unsigned char *p = (const unsigned char *)body, *e = p + len;
    const char *mt = "";
    size_t mtlen = content_type ? media_type(content_type, &mt) : 0;
    int html_type = (mtlen == 9 && strncasecmp(mt, "text/html", 9) == 0) ||
                    (mtlen == 21 && strncasecmp(mt, "application/xhtml+xml", 21) == 0);

    if (len >= SS_HTTP_SNIFF_MAX)
        end = 1;
    if (e - p >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        p += 3;
    else if (!end && e - p < 3 && (e - p == 0 || p[0] == 0xEF))
        return SS_HTTP_SNIFF_MORE; /* a byte-order mark, perhaps */
    while (p < e && is_blank(*p))
        p++;
    if (p == e)
        return end ? 0 : SS_HTTP_SNIFF_MORE;
    if (*p != '<')
        return 0;
    if (html_type) {
        snprintf(why, whylen, "Content-Type %.*s", (int)mtlen, mt);
        return 1;
    }
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        size_t n = strlen(tags[i]), have = (size_t)(e - p);
        if (strncasecmp((const char *)p, tags[i], have < n ? have : n) != 0)
            continue;
        if (have < n + 1) {
            if (!end)
                return SS_HTTP_SNIFF_MORE; /* the tag, or its start: see what follows */
            if (have < n)
                continue;
        } else if (!is_blank(p[n]) && p[n] != '>' && p[n] != '/') {
            continue; /* <header>, <bodyguard>... */
        }
        if (mtlen)
            snprintf(why, whylen, "it begins %s%s; Content-Type %.*s",
                     i == 0 ? "<!DOCTYPE" : tags[i], i == 0 ? " html" : "", (int)mtlen, mt);
        else
            snprintf(why, whylen, "it begins %s%s", i == 0 ? "<!DOCTYPE" : tags[i],
                     i == 0 ? " html" : "");
        return 1;
    }
    return 0;
}

void ss_http_html_error(char *dst, size_t dstlen, const char *url, const char *why,
                        const char *what)
{
    char shown[1024];
    ss_http_redact(url, shown, sizeof(shown));
    if (strncmp(url, "file://", 7) == 0)
        snprintf(dst, dstlen,
                 "%s: the file holds HTML (%s), not %s (a saved login or error page? check the "
                 "file)",
                 shown, why, what);
    else
        snprintf(dst, dstlen,
                 "%s: the server sent HTML (%s), not %s (a login or error page? check the URL and "
                 "the credentials)",
                 shown, why, what);
}

void ss_http_binary_reset(struct ss_http_binary *b)
{
    memset(b, 0, sizeof(*b));
}

void ss_http_binary_text(struct ss_http_binary *b, const char *data, size_t n)
{
    const size_t max = sizeof(b->tail);
    if (n >= max) {
        memcpy(b->tail, data + n - max, max);
        b->ntail = max;
        return;
    }
    size_t keep = b->ntail + n > max ? max - n : b->ntail;
    memmove(b->tail, b->tail + b->ntail - keep, keep);
    memcpy(b->tail + keep, data, n);
    b->ntail = keep + n;
}

void ss_http_binary_begin(struct ss_http_binary *b, const unsigned char *body, size_t nbody)
{
    const char *t = b->tail;
    size_t nt = b->ntail;
    b->seen = b->count = 0;
    b->even = b->odd = 0;
    b->gzip = (nbody >= 2 && body[0] == 0x1F && body[1] == 0x8B) ||
              (nt >= 3 && memcmp(t + nt - 3, "\x1f\x8b\x08", 3) == 0);
    b->zip = (nbody >= 4 && memcmp(body, "PK\x03\x04", 4) == 0) ||
             (nt >= 5 && memcmp(t + nt - 5, "PK\x03\x04", 4) == 0);
}

int ss_http_binary_count(struct ss_http_binary *b, const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < len && b->seen < SS_HTTP_BINARY_LOOK; i++, b->seen++) {
        if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r' && p[i] != '\f') ||
            p[i] == 0x7F)
            b->count++;
        if (b->seen < 256 && p[i] == 0) {
            if (b->seen % 2)
                b->odd++;
            else
                b->even++;
        }
    }
    return b->seen >= SS_HTTP_BINARY_LOOK;
}

void ss_http_binary_error(const struct ss_http_binary *b, char *dst, size_t dstlen, const char *url,
                          unsigned long line, const char *what)
{
    char shown[1024];
    const char *hint;
    unsigned long long parity = b->seen < 256 ? b->seen : 256;

    if (b->gzip)
        hint = "gzip-compressed data, and the server did not say so (no Content-Encoding): fetch "
               "the uncompressed export, or have the server send Content-Encoding: gzip";
    else if (b->zip)
        hint = "a ZIP archive -- an Excel workbook (.xlsx)? Save or export it as CSV";
    else if (parity >= 16 && b->even * 2 + 2 >= parity && b->odd == 0)
        hint = strcmp(what, "CSV") == 0
                   ? "it looks like UTF-16 without a byte-order mark: set \"csv.encoding\" to "
                     "\"utf-16\" (or \"utf-16be\")"
                   : "it looks like UTF-16: a JSON export must be UTF-8";
    else
        hint = strcmp(what, "CSV") == 0
                   ? "a compressed file, a spreadsheet or other binary data where CSV was expected?"
                   : "a compressed file or other binary data where JSON was expected?";
    ss_http_redact(url, shown, sizeof(shown));
    snprintf(dst, dstlen,
             "%s: the export is not text: a NUL byte at line %lu, and %llu bytes of binary data "
             "(NUL or control bytes) in the %llu bytes from there; nothing from line %lu on is "
             "read (%s)",
             shown, line, b->count, b->seen, line, hint);
}

void ss_http_redact(const char *url, char *dst, size_t dstlen)
{
    const char *scheme = strstr(url, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
    if (scheme && at && (!slash || at < slash))
        snprintf(dst, dstlen, "%.*s***@%s", (int)(scheme + 3 - url), url, at + 1);
    else
        snprintf(dst, dstlen, "%s", url);
}

struct ss_http *ss_http_new(const struct ss_collector_config *cfg, volatile int *stop, char *err,
                            size_t errlen)
{
    char why[1024];
    struct ss_http *h = calloc(1, sizeof(*h));
    if (h)
        h->data_time = -1;
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->cfg = cfg;
    h->stop = stop;
    const char *auth = cfg->http_auth ? cfg->http_auth : "none";
    if (strcmp(auth, "basic") == 0) {
        h->auth = AUTH_BASIC;
        if (!cfg->http_username || !cfg->http_password_file) {
            snprintf(err, errlen,
                     "\"http.auth\" is \"basic\": \"http.username\" and \"http.password_file\" "
                     "are needed");
            goto fail;
        }
        h->secret = ss_secret_read(cfg->http_password_file, why, sizeof(why));
        if (!h->secret) {
            snprintf(err, errlen, "\"http.password_file\": %s", why);
            goto fail;
        }
    } else if (strcmp(auth, "bearer") == 0) {
        h->auth = AUTH_BEARER;
        if (!cfg->http_token_file) {
            snprintf(err, errlen, "\"http.auth\" is \"bearer\": \"http.token_file\" is needed");
            goto fail;
        }
        h->secret = ss_secret_read(cfg->http_token_file, why, sizeof(why));
        if (!h->secret) {
            snprintf(err, errlen, "\"http.token_file\": %s", why);
            goto fail;
        }
    }
    h->curl = curl_easy_init();
    if (!h->curl) {
        snprintf(err, errlen, "cannot start libcurl");
        goto fail;
    }
    return h;
fail:
    ss_http_free(h);
    return NULL;
}

void ss_http_free(struct ss_http *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    ss_secret_free(h->secret);
    free(h);
}

static void deliver_headers(struct transfer *t)
{
    size_t off = 0, nlen, vlen;
    if (t->headers_delivered)
        return;
    t->headers_delivered = 1;
    if (!t->on_header)
        return;
    while (off + 2 * sizeof(size_t) <= t->headers.len) {
        memcpy(&nlen, t->headers.data + off, sizeof(nlen));
        memcpy(&vlen, t->headers.data + off + sizeof(nlen), sizeof(vlen));
        off += 2 * sizeof(size_t);
        t->on_header(t->ud, t->headers.data + off, nlen, t->headers.data + off + nlen, vlen);
        off += nlen + vlen;
    }
}

static size_t on_header_line(char *line, size_t size, size_t nitems, void *ud)
{
    struct transfer *t = ud;
    size_t len = size * nitems;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0 && !t->headers_delivered) {
        /* A new response (after a redirect or a 1xx): forget the last one's. */
        ss_buf_reset(&t->headers);
        t->resp->etag[0] = '\0';
        t->resp->last_modified[0] = '\0';
        t->resp->content_type[0] = '\0';
        return len;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return len; /* the blank end */
    const char *name = line, *value = colon + 1;
    size_t nlen = (size_t)(colon - line), vlen = len - nlen - 1;
    ss_trim(&name, &nlen);
    ss_trim(&value, &vlen);
    if (nlen == 4 && strncasecmp(name, "ETag", 4) == 0 && vlen < sizeof(t->resp->etag))
        snprintf(t->resp->etag, sizeof(t->resp->etag), "%.*s", (int)vlen, value);
    if (nlen == 13 && strncasecmp(name, "Last-Modified", 13) == 0 &&
        vlen < sizeof(t->resp->last_modified))
        snprintf(t->resp->last_modified, sizeof(t->resp->last_modified), "%.*s", (int)vlen, value);
    if (nlen == 12 && strncasecmp(name, "Content-Type", 12) == 0)
        snprintf(
            t->resp->content_type, sizeof(t->resp->content_type), "%.*s",
            (int)(vlen < sizeof(t->resp->content_type) ? vlen : sizeof(t->resp->content_type) - 1),
            value);
    if (!t->on_header)
        return len;
    if (t->headers_delivered) {
        t->on_header(t->ud, name, nlen, value, vlen); /* a trailer */
        return len;
    }
    if (ss_buf_reserve(&t->headers, 2 * sizeof(size_t) + nlen + vlen) < 0) {
        t->headers_too_big = 1;
        return 0;
    }
    ss_buf_add(&t->headers, &nlen, sizeof(nlen));
    ss_buf_add(&t->headers, &vlen, sizeof(vlen));
    ss_buf_add(&t->headers, name, nlen);
    ss_buf_add(&t->headers, value, vlen);
    return len;
}

static size_t on_body_data(char *data, size_t size, size_t nmemb, void *ud)
{
    struct transfer *t = ud;
    size_t len = size * nmemb;
    if (!t->checked) {
        t->checked = 1;
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->resp->status);
        t->bad_status = t->resp->status != 0 && (t->resp->status < 200 || t->resp->status > 299);
    }
    if (t->bad_status) {
        /* Keep the start of an error page for the message, not as data. */
        size_t room = sizeof(t->resp->error_body) - 1 - t->error_len;
        size_t n = len < room ? len : room;
        memcpy(t->resp->error_body + t->error_len, data, n);
        t->error_len += n;
        t->resp->error_body[t->error_len] = '\0';
        return len;
    }
    if (t->stop && *t->stop) {
        t->stopped = 1;
        return 0;
    }
    if (len == 0)
        return 0;
    if (t->data_time && *t->data_time < 0) {
        /* Last-Modified for HTTP, the file's time for file:// (CURLOPT_FILETIME). */
        curl_off_t ft = -1;
        if (curl_easy_getinfo(t->curl, CURLINFO_FILETIME_T, &ft) == CURLE_OK && ft > 0)
            *t->data_time = (long long)ft;
        else if (t->resp->last_modified[0] && (ft = curl_getdate(t->resp->last_modified, NULL)) > 0)
            *t->data_time = (long long)ft;
    }
    /* A 2xx body: this answer is final (redirect bodies never get here, and
     * nothing is retried once the sink has data), so its headers go first. */
    deliver_headers(t);
    t->resp->bytes += len;
    if (t->on_body(t->ud, data, len) != 0) {
        t->stopped = 1;
        return 0;
    }
    return len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct transfer *t = ud;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    if (t->stop && *t->stop) {
        t->stopped = 1;
        return 1; /* CURLE_ABORTED_BY_CALLBACK */
    }
    return 0;
}

static int retryable_code(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

/* What went wrong at the transport level, in words, with the setting to
 * look at for a timeout. */
static void describe(const struct ss_collector_config *cfg, CURL *curl, CURLcode rc,
                     const char *cerr, char *dst, size_t dstlen)
{
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        curl_off_t connected = 0;
        curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connected);
        if (connected == 0) {
            snprintf(dst, dstlen, "timed out: no connection within %ld s (http.connect_timeout_s)",
                     cfg->connect_timeout_s);
            return;
        }
        if (strstr(cerr, "too slow") && cfg->low_speed_s > 0) {
            snprintf(dst, dstlen,
                     "timed out: the server sent less than 1 byte/s for %ld s (http.low_speed_s)",
                     cfg->low_speed_s);
            return;
        }
        if (cfg->timeout_s > 0) {
            snprintf(dst, dstlen, "timed out: the transfer took longer than %ld s (http.timeout_s)",
                     cfg->timeout_s);
            return;
        }
    }
    /* libcurl's own message is the more precise one when it left one. */
    snprintf(dst, dstlen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
    dst[strcspn(dst, "\r\n")] = '\0';
}

static int add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *n = curl_slist_append(*list, line);
    if (!n)
        return SS_ENOMEM;
    *list = n;
    return 0;
}

static int build_headers(const struct ss_collector_config *cfg, const struct ss_http_req *req,
                         struct curl_slist **out)
{
    char line[1024];
    for (size_t i = 0; req->headers && req->headers[i]; i++)
        if (add_header(out, req->headers[i]) < 0)
            return SS_ENOMEM;
    for (size_t i = 0; i < cfg->nhttp_headers; i++) {
        snprintf(line, sizeof(line), "%s: %s", cfg->http_headers[i].key,
                 cfg->http_headers[i].value);
        if (add_header(out, line) < 0)
            return SS_ENOMEM;
    }
    if (req->etag && req->etag[0]) {
        snprintf(line, sizeof(line), "If-None-Match: %s", req->etag);
        if (add_header(out, line) < 0)
            return SS_ENOMEM;
    }
    if (req->last_modified && req->last_modified[0]) {
        snprintf(line, sizeof(line), "If-Modified-Since: %s", req->last_modified);
        if (add_header(out, line) < 0)
            return SS_ENOMEM;
    }
    return 0;
}

/* A file:// time condition that said "not modified". */
static int condition_unmet(CURL *c)
{
    long unmet = 0;
    return curl_easy_getinfo(c, CURLINFO_CONDITION_UNMET, &unmet) == CURLE_OK && unmet;
}

static void set_options(struct ss_http *h, const struct ss_http_req *req, struct transfer *t,
                        struct curl_slist *headers, char *cerr)
{
    const struct ss_collector_config *cfg = h->cfg;
    CURL *c = h->curl;

    curl_easy_setopt(c, CURLOPT_URL, req->url);
    /* file:// has no request headers: the same condition, asked of libcurl,
     * which compares the file's modification time. */
    if (strncmp(req->url, "file://", 7) == 0 && req->last_modified && req->last_modified[0]) {
        time_t since = curl_getdate(req->last_modified, NULL);
        if (since > 0) {
            curl_easy_setopt(c, CURLOPT_TIMECONDITION, (long)CURL_TIMECOND_IFMODSINCE);
            curl_easy_setopt(c, CURLOPT_TIMEVALUE_LARGE, (curl_off_t)since);
        }
    }
    if (req->method && strcmp(req->method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    if (req->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header_line);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "shelfsync-collect/" SS_VERSION);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, cfg->connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, cfg->timeout_s);
    if (cfg->low_speed_s > 0) {
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, cfg->low_speed_s);
    }
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (cfg->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
    /* libcurl sends these to the first host only, never after a redirect to
     * another (CURLOPT_UNRESTRICTED_AUTH stays off). */
    if (!req->no_auth && h->auth == AUTH_BASIC) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, cfg->http_username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, h->secret);
    } else if (!req->no_auth && h->auth == AUTH_BEARER) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, h->secret);
    }
}

static int is_bad_status(long status)
{
    return status != 0 && (status < 200 || status > 299);
}

/* One attempt's outcome. *retry is set (and why says why) when the attempt
 * may be made again; otherwise err says what failed, unless it succeeded. */
static int classify(struct ss_http *h, const struct ss_http_req *req, const struct transfer *t,
                    CURLcode rc, const char *cerr, const char *shown, char *why, size_t whylen,
                    int *retry, char *err, size_t errlen)
{
    const struct ss_collector_config *cfg = h->cfg;
    struct ss_http_resp *resp = t->resp;
    int authed = !req->no_auth && h->auth != AUTH_NONE;

    if (t->headers_too_big) {
        snprintf(err, errlen, "%s: the response headers exceed %d KiB", shown,
                 SS_HTTP_HEADERS_MAX / 1024);
        return SS_EPROTO;
    }
    if (rc == CURLE_TOO_MANY_REDIRECTS) {
        snprintf(err, errlen, "%s: more than 5 redirects", shown);
        return SS_EPROTO;
    }
    if (resp->status == 304 || (rc == CURLE_OK && condition_unmet(h->curl)))
        return SS_HTTP_NOT_MODIFIED;
    if (is_bad_status(resp->status)) {
        long st = resp->status;
        if (st == 429 || st >= 500) {
            *retry = 1;
            snprintf(why, whylen, "the server answered HTTP %ld", st);
            return SS_ERETRY;
        }
        if ((st == 401 || st == 403) && authed)
            snprintf(err, errlen, "%s: the server refused the credentials (HTTP %ld): check %s",
                     shown, st,
                     h->auth == AUTH_BASIC ? "\"http.username\" and \"http.password_file\""
                                           : "\"http.token_file\"");
        else if (st == 401 && !req->no_auth)
            snprintf(err, errlen,
                     "%s: the server answered HTTP 401: it wants credentials (\"http.auth\")",
                     shown);
        else
            snprintf(err, errlen, "%s: the server answered HTTP %ld", shown, st);
        return SS_EPROTO;
    }
    if (rc == CURLE_OK)
        return 0;
    if (rc == CURLE_PARTIAL_FILE && resp->bytes > 0) {
        curl_off_t got = 0, want = -1;
        curl_easy_getinfo(h->curl, CURLINFO_SIZE_DOWNLOAD_T, &got);
        curl_easy_getinfo(h->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &want);
        if (want >= 0)
            snprintf(err, errlen, "%s: the body was cut short after %lld of %lld bytes", shown,
                     (long long)got, (long long)want);
        else
            snprintf(err, errlen, "%s: the body was cut short after %lld bytes", shown,
                     (long long)got);
        return SS_EPROTO;
    }
    describe(cfg, h->curl, rc, cerr, why, whylen);
    if (resp->bytes > 0) {
        /* Not retried: the sink has records of this body already. */
        snprintf(err, errlen, "%s: the transfer broke after %llu bytes: %s", shown, resp->bytes,
                 why);
        return SS_EPROTO;
    }
    if (retryable_code(rc)) {
        *retry = 1;
        return SS_ERETRY;
    }
    snprintf(err, errlen, "%s: %s", shown, why);
    return SS_EPROTO;
}

/* Sleeps before the next attempt: the back-off's delay, or the server's
 * Retry-After when longer, never past http.retry_max_s. */
static void wait_to_retry(struct ss_http *h, struct ss_backoff *backoff, const char *shown,
                          const char *why, const struct ss_http_resp *resp)
{
    const struct ss_collector_config *cfg = h->cfg;
    long delay = ss_backoff_next(backoff);
    long cap = cfg->http_retry_max_s * 1000;
    curl_off_t after = 0;
    if (resp->status == 429 || resp->status >= 500)
        curl_easy_getinfo(h->curl, CURLINFO_RETRY_AFTER, &after);
    if (after > 0) {
        long after_ms = after >= cfg->http_retry_max_s ? cap : (long)after * 1000;
        if (after_ms > delay)
            delay = after_ms;
    }
    if (delay > cap)
        delay = cap;
    ss_warn("%s: %s; retry %d of %ld in %.1f s%s", shown, why, resp->attempts, cfg->http_retries,
            (double)delay / 1000.0, after > 0 ? " (Retry-After)" : "");
    ss_sleep_ms(delay, h->stop);
}

/* Fresh per-attempt state; resp->bytes is still 0 (nothing is retried once
 * the sink has data). */
static void reset_attempt(struct transfer *t)
{
    struct ss_http_resp *resp = t->resp;
    ss_buf_reset(&t->headers);
    t->headers_delivered = t->headers_too_big = 0;
    t->checked = t->bad_status = 0;
    t->error_len = 0;
    resp->status = 0;
    resp->etag[0] = resp->last_modified[0] = resp->error_body[0] = '\0';
    resp->content_type[0] = '\0';
}

int ss_http_request(struct ss_http *h, const struct ss_http_req *req, ss_http_header_cb on_header,
                    ss_http_body_cb on_body, void *ud, struct ss_http_resp *resp, char *err,
                    size_t errlen)
{
    char shown[1024], cerr[CURL_ERROR_SIZE], why[CURL_ERROR_SIZE + 256];
    struct transfer t;
    struct curl_slist *headers = NULL;
    struct ss_backoff backoff;
    int result = SS_ENOMEM;
    const struct ss_collector_config *cfg = h->cfg;

    memset(resp, 0, sizeof(*resp));
    memset(&t, 0, sizeof(t));
    err[0] = '\0';
    ss_http_redact(req->url, shown, sizeof(shown));
    ss_buf_init(&t.headers, SS_HTTP_HEADERS_MAX);
    t.curl = h->curl;
    t.on_header = on_header;
    t.on_body = on_body;
    t.ud = ud;
    t.resp = resp;
    t.stop = h->stop;
    t.data_time = &h->data_time;
    h->data_time = -1;
    if (build_headers(cfg, req, &headers) < 0) {
        snprintf(err, errlen, "%s: out of memory", shown);
        goto out;
    }
    set_options(h, req, &t, headers, cerr);
    ss_backoff_init(&backoff, SS_HTTP_BACKOFF_INITIAL_MS, cfg->http_retry_max_s * 1000);

    for (;;) {
        int retry = 0;
        if (h->stop && *h->stop) {
            result = SS_ESTOPPED;
            break;
        }
        reset_attempt(&t);
        cerr[0] = '\0';
        why[0] = '\0';

        CURLcode rc = curl_easy_perform(h->curl);
        resp->attempts++;
        if (!t.checked)
            curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
        if (t.stopped || (h->stop && *h->stop)) {
            result = SS_ESTOPPED;
            break;
        }
        result = classify(h, req, &t, rc, cerr, shown, why, sizeof(why), &retry, err, errlen);
        if (!retry)
            break;
        if (resp->attempts > cfg->http_retries) {
            if (resp->attempts > 1)
                snprintf(err, errlen, "%s: %s (gave up after %d attempts)", shown, why,
                         resp->attempts);
            else
                snprintf(err, errlen, "%s: %s", shown, why);
            break;
        }
        wait_to_retry(h, &backoff, shown, why, resp);
    }
    if (result != SS_ESTOPPED && resp->status != 0)
        deliver_headers(&t);
out:
    /* Drops the handle's pointers into this frame (error buffer, callback
     * data, header list) and its copies of the credentials; keeps the
     * connections for the next request. */
    curl_easy_reset(h->curl);
    ss_buf_free(&t.headers);
    curl_slist_free_all(headers);
    return result;
}

long long ss_http_data_time(const struct ss_http *h)
{
    return h ? h->data_time : -1;
}
