/* ss_fetch: see ss_fetch.h. */
#include "ss_fetch.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

struct transfer {
    CURL *curl;
    ss_fetch_sink sink;
    void *ud;
    int checked; /* status looked at */
    long status;
    int stopped; /* by the sink */
    int bad_status;
    unsigned long long bytes;
};

int ss_fetch_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void ss_fetch_global_cleanup(void)
{
    curl_global_cleanup();
}

void ss_fetch_redact(const char *url, char *dst, size_t dstlen)
{
    const char *scheme = strstr(url, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
    if (scheme && at && (!slash || at < slash))
        snprintf(dst, dstlen, "%.*s***@%s", (int)(scheme + 3 - url), url, at + 1);
    else
        snprintf(dst, dstlen, "%s", url);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct transfer *t = ud;
    size_t len = size * nmemb;
    if (!t->checked) {
        t->checked = 1;
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
        /* file:// reports 0; http reports the final status after redirects. */
        if (t->status != 0 && (t->status < 200 || t->status > 299)) {
            t->bad_status = 1;
            return 0;
        }
    }
    if (len == 0)
        return 0;
    t->bytes += len;
    if (t->sink(t->ud, data, len) != 0) {
        t->stopped = 1;
        return 0;
    }
    return len;
}

enum ss_fetch_result ss_fetch(const char *url, const struct ss_fetch_opts *opts, ss_fetch_sink sink,
                              void *ud, unsigned long long *bytes, char *err, size_t errlen)
{
    char shown[1024], cerr[CURL_ERROR_SIZE] = "";
    struct transfer t;
    enum ss_fetch_result result = SS_FETCH_FAILED;

    memset(&t, 0, sizeof(t));
    ss_fetch_redact(url, shown, sizeof(shown));
    t.curl = curl_easy_init();
    if (!t.curl) {
        snprintf(err, errlen, "%s: cannot start libcurl", shown);
        return SS_FETCH_FAILED;
    }
    t.sink = sink;
    t.ud = ud;
    curl_easy_setopt(t.curl, CURLOPT_URL, url);
    curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(t.curl, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(t.curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t.curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(t.curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(t.curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(t.curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(t.curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(t.curl, CURLOPT_USERAGENT, "shelfsync-collect/" SS_VERSION);
    curl_easy_setopt(t.curl, CURLOPT_CONNECTTIMEOUT, opts->connect_timeout_s);
    curl_easy_setopt(t.curl, CURLOPT_TIMEOUT, opts->timeout_s);
    curl_easy_setopt(t.curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(t.curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (opts->ca_file)
        curl_easy_setopt(t.curl, CURLOPT_CAINFO, opts->ca_file);

    CURLcode rc = curl_easy_perform(t.curl);
    if (!t.checked)
        curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &t.status);
    if (t.stopped) {
        result = SS_FETCH_STOPPED;
    } else if (t.bad_status || (t.status != 0 && (t.status < 200 || t.status > 299))) {
        snprintf(err, errlen, "%s: the server answered HTTP %ld", shown, t.status);
    } else if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s%s%s", shown, curl_easy_strerror(rc), cerr[0] ? ": " : "",
                 cerr);
        err[strcspn(err, "\n")] = '\0';
    } else {
        result = SS_FETCH_OK;
    }
    if (bytes)
        *bytes = t.bytes;
    curl_easy_cleanup(t.curl);
    return result;
}
