/* ss_koha: what the two Koha kinds share. See ss_koha.h. */
#include "ss_koha.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ss_err.h"
#include "ss_http.h"
#include "ss_log.h"
#include "ss_secret.h"
#include "ss_text.h"
#include "ss_time.h"

/* ---- options: the "koha" object ---- */

static const char *const koha_resources[] = {"libraries", "checkouts",         "checkouts_history",
                                             "items",     "patron_categories", "item_types",
                                             NULL};
static const char *const koha_auths[] = {"oauth2", "basic", NULL};

#define O(f) offsetof(struct ss_koha_options, f)
/* clang-format off */
#define KSTR(k, f, h) {.key = k, .type = SS_CFG_STRING, .flags = SS_CFG_NONEMPTY, .off = O(f), .help = h}
#define KINT(k, f, lo, hi, d, h) {.key = k, .type = SS_CFG_INT, .off = O(f), .min = lo, .max = hi, .def = d, .help = h}
/* clang-format on */
static const struct ss_config_option koha_options[] = {
    {.key = "resource",
     .type = SS_CFG_ENUM,
     .off = O(resource),
     .choices = koha_resources,
     .help = "what kind koha fetches"},
    KINT("report_id", report_id, 0, 100000000, 0, "the saved SQL report kind koha_report runs"),
    KINT("per_page", per_page, 1, 1000, 100, "records a page"),
    KINT("max_report_rows", max_report_rows, 1, 100000000, 10, "the instance's SvcMaxReportRows"),
    {.key = "auth",
     .type = SS_CFG_ENUM,
     .off = O(auth),
     .def_str = "oauth2",
     .choices = koha_auths,
     .help = "how to sign in"},
    KSTR("client_id", client_id, "oauth2: the API client's id"),
    KSTR("client_secret_file", client_secret_file, "oauth2: a file holding its secret"),
    KSTR("username", username, "basic: the user"),
    KSTR("password_file", password_file, "basic: a file holding the password"),
    KSTR("query", query, "an extra q= filter, a JSON object as text"),
    KSTR("since_field", since_field, "the field the updated-since cursor reads"),
    {0},
};
#undef KSTR
#undef KINT
#undef O

const struct ss_config_section ss_koha_section = {"koha", koha_options,
                                                  sizeof(struct ss_koha_options), NULL};

/* ---- small helpers ---- */

void ss_koha_wipe_free(char *p)
{
    if (!p)
        return;
    volatile char *v = p;
    while (*v)
        *v++ = '\0';
    free(p);
}

/* The start of a server's error body, on one line, for a message. */
void ss_koha_shown_body(const char *body, const char *secret, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; body[i] && o + 1 < outlen && o < 300; i++)
        out[o++] = (body[i] == '\n' || body[i] == '\r' || body[i] == '\t') ? ' ' : body[i];
    out[o] = '\0';
    /* A server that echoes what it was sent must not put a secret in a log. */
    char *at;
    if (secret && secret[0])
        while ((at = strstr(out, secret)) != NULL)
            memset(at, '*', strlen(secret));
}

/* A JSON scalar as text into b (reset first). 1: absent (null or missing),
 * 0: text, -1: not a scalar. */
int ss_koha_scalar_text(json_t *v, struct ss_buf *b)
{
    ss_buf_reset(b);
    if (!v || json_is_null(v))
        return 1;
    if (json_is_string(v))
        return ss_buf_add(b, json_string_value(v), json_string_length(v)) < 0 ? SS_E2BIG : 0;
    if (json_is_integer(v))
        return ss_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0 ? SS_E2BIG : 0;
    if (json_is_real(v))
        return ss_buf_printf(b, "%.15g", json_real_value(v)) < 0 ? SS_E2BIG : 0;
    if (json_is_boolean(v))
        return ss_buf_adds(b, json_is_true(v) ? "true" : "false") < 0 ? SS_E2BIG : 0;
    return SS_EINVAL;
}

/* ---- HTTP ---- */

/* A URL holds no control character (a NUL would cut it short). */
static int url_text(const char *u, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] < 0x20 || u[i] == 0x7f)
            return 0;
    return 1;
}

int ss_koha_link_next(const char *v, size_t n, char *next, size_t nextlen)
{
    int found = 0;
    /* RFC 8288: <url>; rel="next", <url>; rel="first" -- one header per
     * relation (newer Koha) or all joined with commas (older). */
    size_t i = 0;
    while (i < n) {
        while (i < n && v[i] != '<')
            i++;
        if (i >= n)
            break;
        size_t us = ++i;
        while (i < n && v[i] != '>')
            i++;
        if (i >= n)
            break;
        size_t ue = i++, ps = i;
        int inq = 0;
        while (i < n && (inq || v[i] != ',')) {
            if (v[i] == '"')
                inq = !inq;
            i++;
        }
        /* The rel parameter's value: quoted or not, possibly several rels. */
        for (size_t p = ps; p + 3 <= i; p++) {
            if (strncasecmp(v + p, "rel", 3) != 0 || (p > ps && isalnum((unsigned char)v[p - 1])))
                continue;
            size_t q = p + 3;
            while (q < i && v[q] == ' ')
                q++;
            if (q >= i || v[q] != '=')
                continue;
            q++;
            while (q < i && v[q] == ' ')
                q++;
            int quoted = q < i && v[q] == '"';
            q += quoted;
            while (q < i && v[q] != '"' && v[q] != ';' && (quoted || v[q] != ' ')) {
                size_t t = q;
                while (t < i && v[t] != '"' && v[t] != ';' && v[t] != ' ')
                    t++;
                if (t - q == 4 && strncasecmp(v + q, "next", 4) == 0 && ue - us < nextlen &&
                    url_text(v + us, ue - us)) {
                    snprintf(next, nextlen, "%.*s", (int)(ue - us), v + us);
                    found = 1;
                }
                q = t;
                while (quoted && q < i && v[q] == ' ')
                    q++;
            }
            break;
        }
    }
    return found;
}

static void on_header(void *ud, const char *name, size_t nlen, const char *v, size_t n)
{
    struct ss_koha *s = ud;
    if (nlen == 13 && strncasecmp(name, "X-Total-Count", 13) == 0) {
        char num[32];
        char *end;
        snprintf(num, sizeof(num), "%.*s", (int)(n < 31 ? n : 31), v);
        errno = 0;
        long long t = strtoll(num, &end, 10);
        if (errno == 0 && end != num && *end == '\0' && t >= 0) {
            s->total = t;
            s->have_total = 1;
        }
        return;
    }
    if (nlen != 4 || strncasecmp(name, "Link", 4) != 0)
        return;
    s->have_link = 1;
    ss_koha_link_next(v, n, s->next, sizeof(s->next));
}

static int on_body(void *ud, const char *data, size_t len)
{
    struct ss_koha *s = ud;
    if (ss_buf_add(&s->body, data, len) < 0) {
        s->body_too_big = 1;
        return 1;
    }
    s->bytes += len;
    if (s->sink && s->sink->progress)
        s->sink->progress(s->sink->ud, s->bytes);
    return 0;
}

/* POST /api/v1/oauth/token: a new token into s->auth_header. */
static int get_token(struct ss_koha *s, char *err, size_t errlen)
{
    const struct ss_collector_config *cfg = s->cfg;
    struct ss_buf form, url;
    struct ss_http_resp resp;
    char shown[512];
    int rc = SS_EINVAL;
    static const char *const headers[] = {"Content-Type: application/x-www-form-urlencoded",
                                          "Accept: application/json", NULL};

    ss_buf_init(&form, 16 * 1024);
    ss_buf_init(&url, SS_KOHA_MAX_URL);
    if (ss_buf_adds(&form, "grant_type=client_credentials&client_id=") < 0 ||
        ss_url_encode(&form, ss_koha_options(cfg)->client_id) < 0 ||
        ss_buf_adds(&form, "&client_secret=") < 0 || ss_url_encode(&form, s->secret) < 0 ||
        ss_buf_printf(&url, "%s/api/v1/oauth/token", s->base) < 0) {
        snprintf(err, errlen, "koha.client_id: too long");
        goto out;
    }
    struct ss_http_req req = {.method = "POST",
                              .url = url.data,
                              .headers = headers,
                              .body = form.data,
                              .body_len = form.len,
                              .no_auth = 1};
    ss_buf_reset(&s->body);
    s->body_too_big = 0;
    int r = ss_http_request(s->env->http, &req, NULL, on_body, s, &resp, err, errlen);
    if (r == SS_ESTOPPED && !s->body_too_big)
        goto out;
    if (r != 0 || s->body_too_big) {
        if (resp.status >= 400 && resp.status < 500) {
            ss_koha_shown_body(resp.error_body, s->secret, shown, sizeof(shown));
            snprintf(err, errlen,
                     "%s/api/v1/oauth/token: Koha refused the client credentials (HTTP %ld: %s): "
                     "check koha.client_id and koha.client_secret_file, and that the syspref "
                     "RESTOAuth2ClientCredentials is on",
                     s->origin, resp.status, shown);
        } else if (s->body_too_big) {
            snprintf(err, errlen, "%s/api/v1/oauth/token: the answer is too large", s->origin);
        }
        goto out;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(s->body.data ? s->body.data : "", s->body.len, 0, &jerr);
    json_t *tok = doc ? json_object_get(doc, "access_token") : NULL;
    json_t *exp = doc ? json_object_get(doc, "expires_in") : NULL;
    const char *t = json_is_string(tok) ? json_string_value(tok) : NULL;
    int ok = t && t[0] && strlen(t) <= 4096;
    for (const char *p = t; ok && *p; p++)
        ok = *p > ' ' && *p < 127; /* no header injection */
    if (!ok) {
        snprintf(err, errlen,
                 "%s/api/v1/oauth/token: the answer has no usable \"access_token\" (expected "
                 "{\"access_token\": ..., \"expires_in\": ...})",
                 s->origin);
        json_decref(doc);
        goto out;
    }
    long long life = json_is_integer(exp) ? json_integer_value(exp) : 3600;
    if (life < 1)
        life = 1;
    /* Renew a minute early, or a quarter early for short-lived tokens. */
    long long early_ms = life >= 240 ? 60000 : life * 250;
    s->token_renew_ms = ss_now_ms() + life * 1000 - early_ms;
    ss_koha_wipe_free(s->auth_header);
    size_t hl = strlen(t) + 32;
    s->auth_header = malloc(hl);
    if (s->auth_header)
        snprintf(s->auth_header, hl, "Authorization: Bearer %s", t);
    json_decref(doc);
    if (!s->auth_header) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    ss_debug("koha: new OAuth2 token, valid for %lld s", life);
    rc = 0;
out:
    /* The form holds the secret. */
    if (form.data)
        memset(form.data, 0, form.cap);
    ss_buf_free(&form);
    ss_buf_free(&url);
    return rc;
}

/* GET url into s->body, authenticated. A 401 on an OAuth2 token gets a new
 * token and one more try. */
int ss_koha_fetch(struct ss_koha *s, const char *url, const char *embed, long *status, char *err,
                  size_t errlen)
{
    char shown[512], embed_line[128];
    const char *headers[4];
    size_t nh = 0;
    struct ss_http_resp resp;

    for (int attempt = 0;; attempt++) {
        if (!s->report && s->oauth2 && (!s->auth_header || ss_now_ms() >= s->token_renew_ms) &&
            get_token(s, err, errlen) < 0)
            return SS_SOURCE_FAILED;
        nh = 0;
        headers[nh++] = "Accept: application/json";
        if (s->auth_header && !s->report)
            headers[nh++] = s->auth_header;
        if (embed) {
            snprintf(embed_line, sizeof(embed_line), "x-koha-embed: %s", embed);
            headers[nh++] = embed_line;
        }
        headers[nh] = NULL;
        struct ss_http_req req = {.url = url, .headers = headers, .no_auth = !s->report};
        ss_buf_reset(&s->body);
        s->body_too_big = 0;
        s->have_link = s->have_total = 0;
        s->next[0] = '\0';
        s->total = 0;
        int r = ss_http_request(s->env->http, &req, on_header, on_body, s, &resp, err, errlen);
        *status = resp.status;
        if (s->body_too_big) {
            snprintf(err, errlen,
                     "%s: the page is larger than %zu MiB: lower koha.per_page (now %ld)", url,
                     SS_KOHA_MAX_PAGE_BYTES >> 20, ss_koha_options(s->cfg)->per_page);
            return SS_SOURCE_FAILED;
        }
        if (r == 0)
            return SS_SOURCE_OK;
        if (r == SS_ESTOPPED)
            return SS_SOURCE_STOPPED;
        if (resp.status == 401 && s->oauth2 && !s->report && attempt == 0) {
            ss_notice("koha: the token was refused (HTTP 401): getting a new one");
            ss_koha_wipe_free(s->auth_header);
            s->auth_header = NULL;
            continue;
        }
        if (resp.status >= 200 && resp.status <= 299 && !strstr(err, "cut short")) {
            /* The status was fine, the body was not (a reset, a timeout). */
            size_t l = strlen(err);
            snprintf(err + l, errlen - l, ": the answer (HTTP %ld) was cut short", resp.status);
        }
        if (resp.status >= 200 && resp.status <= 299) {
            size_t l = strlen(err);
            snprintf(err + l, errlen - l, "; nothing of this page was handed over");
        }
        if (resp.status >= 400) {
            ss_koha_shown_body(resp.error_body, s->secret, shown, sizeof(shown));
            size_t l = strlen(err);
            const char *hint = "";
            if (resp.status == 401 || resp.status == 403)
                hint = s->oauth2 ? "; check koha.client_id and the API key's patron permissions"
                                 : "; check koha.username, koha.password_file, the user's "
                                   "permissions and the syspref RESTBasicAuth";
            else if (resp.status == 400)
                hint = "; Koha refuses unknown query parameters and bad q= filters: check "
                       "koha.query";
            snprintf(err + l, errlen - l, "%s%s%s", shown[0] ? ": " : "", shown, hint);
        }
        return SS_SOURCE_FAILED;
    }
}

/* Same scheme, host and port as the configured URL? */
int ss_koha_same_origin(const struct ss_koha *s, const char *url)
{
    size_t n = strlen(s->origin);
    return strncasecmp(url, s->origin, n) == 0 && (url[n] == '/' || url[n] == '?');
}

/* A body that is not an array: Koha's {"error": ...}, or not JSON. */
void ss_koha_not_an_array(const struct ss_koha *s, const char *url, json_t *doc,
                          const json_error_t *jerr, char *err, size_t errlen)
{
    char shown[512];
    if (!doc && s->body.len == 0) {
        snprintf(err, errlen,
                 "%s: the answer has no body: it was cut short (or Koha answered "
                 "nothing)",
                 url);
        return;
    }
    if (!doc) {
        snprintf(err, errlen, "%s: the answer is not JSON: %s at byte %d%s", url, jerr->text,
                 jerr->position,
                 strstr(jerr->text, "premature end") ? ": the answer was cut short" : "");
        return;
    }
    char *text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
    ss_koha_shown_body(text ? text : "", s->secret, shown, sizeof(shown));
    free(text);
    json_t *e = json_is_object(doc) ? json_object_get(doc, "error") : NULL;
    if (json_is_string(e))
        snprintf(err, errlen, "%s: Koha answered with an error: %s (%s)", url, json_string_value(e),
                 shown);
    else
        snprintf(err, errlen, "%s: expected a JSON array of records, got %s", url, shown);
}

/* ---- the sink ---- */

int ss_koha_reject(struct ss_koha *s, const char *why, const char *const *vals, const size_t *lens,
                   size_t n)
{
    s->where++;
    int rc = s->sink->reject(s->sink->ud, s->where, why, vals, lens, n);
    if (rc != 0)
        s->sink_stop = 1;
    return 0;
}

int ss_koha_hand_over(struct ss_koha *s, const char *const *vals, const size_t *lens, size_t n)
{
    s->where++;
    if (s->sink->record(s->sink->ud, vals, lens, n, s->where) != 0)
        s->sink_stop = 1;
    return 0;
}

/* ---- life cycle ---- */

int ss_koha_init(struct ss_koha *s, const struct ss_source_env *env, int report, char *err,
                 size_t errlen)
{
    const struct ss_collector_config *cfg = env->cfg;
    s->env = env;
    s->cfg = cfg;
    s->report = report;
    ss_buf_init(&s->body, SS_KOHA_MAX_PAGE_BYTES);
    if (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0) {
        snprintf(err, errlen, "\"url\": the Koha base URL must be http:// or https://");
        return SS_EINVAL;
    }
    s->base = strdup(cfg->url);
    if (!s->base) {
        snprintf(err, errlen, "out of memory");
        return SS_ENOMEM;
    }
    size_t n = strlen(s->base);
    while (n && s->base[n - 1] == '/')
        s->base[--n] = '\0';
    if (n >= 7 && strcmp(s->base + n - 7, "/api/v1") == 0)
        s->base[n -= 7] = '\0'; /* the API's root given: the base is above it */
    const char *host = strstr(s->base, "://") + 3;
    size_t on = strcspn(host, "/?#") + (size_t)(host - s->base);
    snprintf(s->origin, sizeof(s->origin), "%.*s", (int)on, s->base);
    return 0;
}

void ss_koha_free(struct ss_koha *s)
{
    free(s->base);
    if (s->secret)
        ss_secret_free(s->secret);
    ss_koha_wipe_free(s->auth_header);
    ss_buf_free(&s->body);
    memset(s, 0, sizeof(*s));
}
