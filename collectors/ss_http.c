/* ss_http: see ss_http.h. */
#include "ss_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ss_http {
    const struct ss_collector_config *cfg;
    volatile int *stop;
};

struct transfer {
    CURL *curl;
    ss_http_header_cb on_header;
    ss_http_body_cb on_body;
    void *ud;
    struct ss_http_resp *resp;
    int checked;
    int stopped;
    int bad_status;
    size_t error_len;
    volatile int *stop;
};

int ss_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void ss_http_global_cleanup(void)
{
    curl_global_cleanup();
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
    struct ss_http *h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->cfg = cfg;
    h->stop = stop;
    return h;
}

void ss_http_free(struct ss_http *h)
{
    free(h);
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r' ||
                  (*s)[*n - 1] == '\n'))
        (*n)--;
}

static size_t on_header_line(char *line, size_t size, size_t nitems, void *ud)
{
    struct transfer *t = ud;
    size_t len = size * nitems;
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return len; /* status line or the blank end */
    const char *name = line, *value = colon + 1;
    size_t nlen = (size_t)(colon - line), vlen = len - nlen - 1;
    trim(&name, &nlen);
    trim(&value, &vlen);
    if (nlen == 4 && strncasecmp(name, "ETag", 4) == 0 && vlen < sizeof(t->resp->etag))
        snprintf(t->resp->etag, sizeof(t->resp->etag), "%.*s", (int)vlen, value);
    if (nlen == 13 && strncasecmp(name, "Last-Modified", 13) == 0 &&
        vlen < sizeof(t->resp->last_modified))
        snprintf(t->resp->last_modified, sizeof(t->resp->last_modified), "%.*s", (int)vlen, value);
    if (t->on_header)
        t->on_header(t->ud, name, nlen, value, vlen);
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
    t->resp->bytes += len;
    if (t->on_body(t->ud, data, len) != 0) {
        t->stopped = 1;
        return 0;
    }
    return len;
}

enum ss_http_result ss_http_request(struct ss_http *h, const struct ss_http_req *req,
                                    ss_http_header_cb on_header, ss_http_body_cb on_body, void *ud,
                                    struct ss_http_resp *resp, char *err, size_t errlen)
{
    char shown[1024], cerr[CURL_ERROR_SIZE] = "", line[512];
    struct transfer t;
    struct curl_slist *headers = NULL;
    enum ss_http_result result = SS_HTTP_FAILED;
    const struct ss_collector_config *cfg = h->cfg;

    memset(resp, 0, sizeof(*resp));
    memset(&t, 0, sizeof(t));
    ss_http_redact(req->url, shown, sizeof(shown));
    t.curl = curl_easy_init();
    if (!t.curl) {
        snprintf(err, errlen, "%s: cannot start libcurl", shown);
        return SS_HTTP_FAILED;
    }
    t.on_header = on_header;
    t.on_body = on_body;
    t.ud = ud;
    t.resp = resp;
    t.stop = h->stop;
    for (size_t i = 0; req->headers && req->headers[i]; i++)
        headers = curl_slist_append(headers, req->headers[i]);
    for (size_t i = 0; i < cfg->nhttp_headers; i++) {
        snprintf(line, sizeof(line), "%s: %s", cfg->http_headers[i].key,
                 cfg->http_headers[i].value);
        headers = curl_slist_append(headers, line);
    }
    if (req->etag && req->etag[0]) {
        snprintf(line, sizeof(line), "If-None-Match: %s", req->etag);
        headers = curl_slist_append(headers, line);
    }
    if (req->last_modified && req->last_modified[0]) {
        snprintf(line, sizeof(line), "If-Modified-Since: %s", req->last_modified);
        headers = curl_slist_append(headers, line);
    }
    curl_easy_setopt(t.curl, CURLOPT_URL, req->url);
    if (req->method && strcmp(req->method, "GET") != 0)
        curl_easy_setopt(t.curl, CURLOPT_CUSTOMREQUEST, req->method);
    if (req->body) {
        curl_easy_setopt(t.curl, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(t.curl, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
    }
    curl_easy_setopt(t.curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(t.curl, CURLOPT_HEADERFUNCTION, on_header_line);
    curl_easy_setopt(t.curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, on_body_data);
    curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(t.curl, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(t.curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t.curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(t.curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(t.curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(t.curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(t.curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(t.curl, CURLOPT_USERAGENT, "shelfsync-collect/" SS_VERSION);
    curl_easy_setopt(t.curl, CURLOPT_CONNECTTIMEOUT, cfg->connect_timeout_s);
    curl_easy_setopt(t.curl, CURLOPT_TIMEOUT, cfg->timeout_s);
    curl_easy_setopt(t.curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(t.curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (cfg->ca_file)
        curl_easy_setopt(t.curl, CURLOPT_CAINFO, cfg->ca_file);

    CURLcode rc = curl_easy_perform(t.curl);
    resp->attempts = 1;
    if (!t.checked)
        curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &resp->status);
    if (t.stopped) {
        result = SS_HTTP_STOPPED;
    } else if (resp->status == 304) {
        result = SS_HTTP_NOT_MODIFIED;
    } else if (resp->status != 0 && (resp->status < 200 || resp->status > 299)) {
        snprintf(err, errlen, "%s: the server answered HTTP %ld", shown, resp->status);
    } else if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s%s%s", shown, curl_easy_strerror(rc), cerr[0] ? ": " : "",
                 cerr);
        err[strcspn(err, "\n")] = '\0';
    } else {
        result = SS_HTTP_OK;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(t.curl);
    return result;
}
