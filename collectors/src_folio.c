/* src_folio: the "folio" source kind -- FOLIO through its Okapi gateway.
 *
 * Authentication: POST /authn/login-with-expiry (X-Okapi-Tenant, JSON body
 * with folio.username and the password from folio.password_file) sets the
 * folioAccessToken and folioRefreshToken cookies with their lifetimes
 * (Max-Age). Every request carries X-Okapi-Tenant and the access token (as
 * X-Okapi-Token and as the cookie, both of which the gateway accepts). Shortly
 * before the access token expires, POST /authn/refresh trades the refresh
 * cookie for new ones; a refresh that fails falls back to a new login. A 401
 * on a data request refreshes once and repeats the same page: a page is
 * handed over only once it has arrived and parsed whole, so nothing is
 * handed over twice. The password is read once, never logged, wiped on exit.
 *
 * Paging: keyset paging, as RMB recommends for bulk reads --
 * `(folio.query) and id>"LAST" sortBy id` with limit=folio.limit (the first
 * page without the id clause). The requested limit is never trusted: a
 * gateway may cap it (some hosted FOLIO sites answer at most 100 records
 * whatever was asked), so the sweep ends only on an empty page, or on a
 * page shorter than the largest one the server returned in this sweep.
 * Keyset paging also means a capped limit or records inserted meanwhile
 * cannot shift a page and skip a record. totalRecords (an estimate past
 * 1000) is logged, never used to stop, and checked at the end: a warning
 * names both numbers when it disagrees with what arrived. The lookups
 * (service points, locations, material types) page the same way.
 * Each page is read into a buffer bounded by limits.max_record_bytes x
 * folio.limit (at most SS_SOURCE_MAX_PAGE_BYTES, 16 MiB: the collector's
 * memory target is 32 MiB) and parsed with jansson; unknown fields are
 * ignored. A body cut short (fewer bytes than Content-Length, a transfer
 * that breaks after the status line) fails the run with a message that
 * says so; nothing of that page is handed over.
 *
 * Resources (folio.resource -> dataset):
 *   loans          -> loan_transactions, from /circulation/loans (the
 *                     business API, whose loans carry item.materialType).
 *                     transaction_id = loan id; issued_at = loanDate;
 *                     service_point = the name of checkoutServicePointId,
 *                     from /service-points read once a run (an id that is
 *                     not there is handed over as the id, so value_maps can
 *                     still name it); item_type = item.materialType.name
 *                     (material type, not loan type: loan types are
 *                     circulation rules, material types are what the
 *                     service counts as "type"), "Unknown" when the item is
 *                     gone; patron_key = userId (the engine pseudonymises
 *                     it; absent on anonymised loans); renewal = "no": the
 *                     FOLIO loan is the issue. A loan whose last action is
 *                     "renewed" also yields a renewal transaction
 *                     "LOANID/renewal/N" (N = renewalCount) issued at
 *                     metadata.updatedDate, the time of that renewal. Runs
 *                     see every update (the cursor is updatedDate), so each
 *                     renewal is caught unless two happen between runs.
 *   service_points -> service_points: name = the service point's name (the
 *                     same name loans use); postcode = its code, for
 *                     value_maps.postcode to turn into the postcode (FOLIO
 *                     keeps no address); statutory, library_type and the
 *                     authority from "constants".
 *   items          -> stock: items counted per service point (effective
 *                     location -> its primaryServicePoint -> name) x
 *                     material type at the run's date, in a bounded table.
 *                     Items withdrawn, lost, missing, on order or claimed
 *                     returned are not stock.
 *   users          -> refused at init: no core dataset is a list of users,
 *                     and "active users" are people who borrowed, which
 *                     loans give (core.v_transaction_active_users).
 *
 * Incremental (loans): the cursor of a complete sweep is a metadata.updatedDate
 * (loanDate when a loan has no metadata); the next run adds
 * metadata.updatedDate>"CURSOR". It is the greatest value seen, but never
 * later than FOLIO_CURSOR_MARGIN_S before the sweep began (the gateway's
 * Date header of its first page): keyset paging walks ids, so a loan
 * created or changed during the sweep under an id already passed is not
 * seen by it, and only a cursor from before the sweep began makes the
 * next run fetch it. Re-fetched loans upsert on transaction_id.
 * Progress: after each page handed over whole, sink->checkpoint gets
 * "folio-resume\nSINCE\nLAST-ID\nGREATEST-UPDATED\nSWEEP-START" (SINCE empty
 * on a full fetch), so a run that fails half-way is resumed by the next
 * run at the id after that page. A resumed sweep that finds nothing more
 * goes on with an incremental sweep from the complete cursor in the same
 * run (it never hands a loan over twice in one run): nothing new at all is
 * SS_SOURCE_UNCHANGED.
 * service_points and stock are snapshots: always fetched whole, never
 * checkpointed (a failed snapshot is fetched whole again).
 */
#include <errno.h>
#include <stddef.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ss_cookie.h"
#include "ss_err.h"
#include "ss_hash.h"
#include "ss_http.h"
#include "ss_log.h"
#include "ss_secret.h"
#include "ss_source.h"
#include "ss_text.h"
#include "ss_time.h"

#define FOLIO_MAX_TOKEN 16384
#define FOLIO_MAX_PAGE SS_SOURCE_MAX_PAGE_BYTES
#define FOLIO_MAX_LOOKUP 200000 /* service points, locations, material types */
#define FOLIO_MAX_GROUPS 65536  /* stock: service point x material type */
#define FOLIO_MAX_ID 256
#define FOLIO_MAX_TS 64          /* an updatedDate */
#define FOLIO_CURSOR_MARGIN_S 60 /* cursor no later than this before a sweep began */
#define FOLIO_MAX_PAGES 100000000UL

enum folio_resource { RES_LOANS, RES_SERVICE_POINTS, RES_ITEMS };

/* id -> value, sorted by id once filled. */
/* id -> name tables (service points, locations, material types): a
 * struct ss_hmap of char * (malloc'd), set up on first use. */
struct idmap {
    struct ss_hmap m;
};

/* ---- options: the "folio" object ---- */

struct folio_options {
    char *tenant;        /* "folio.tenant": X-Okapi-Tenant */
    char *username;      /* "folio.username" */
    char *password_file; /* "folio.password_file" */
    char *resource;      /* "folio.resource": loans service_points items users */
    long limit;          /* "folio.limit": 1..10000, default 1000 */
    char *query;         /* "folio.query": extra CQL, ANDed with the paging clause */
};

static const char *const folio_resources[] = {"loans", "service_points", "items", "users", NULL};

#define O(f) offsetof(struct folio_options, f)
#define REQ (SS_CFG_REQUIRED | SS_CFG_NONEMPTY)
static const struct ss_config_option folio_options[] = {
    {.key = "tenant",
     .type = SS_CFG_STRING,
     .flags = REQ,
     .off = O(tenant),
     .help = "X-Okapi-Tenant"},
    {.key = "username",
     .type = SS_CFG_STRING,
     .flags = REQ,
     .off = O(username),
     .help = "the user"},
    {.key = "password_file",
     .type = SS_CFG_STRING,
     .flags = REQ,
     .off = O(password_file),
     .help = "a file holding the password"},
    {.key = "resource",
     .type = SS_CFG_ENUM,
     .flags = SS_CFG_REQUIRED,
     .off = O(resource),
     .choices = folio_resources,
     .help = "what to fetch"},
    {.key = "limit",
     .type = SS_CFG_INT,
     .off = O(limit),
     .min = 1,
     .max = 10000,
     .def = 1000,
     .help = "records a page"},
    {.key = "query",
     .type = SS_CFG_STRING,
     .flags = SS_CFG_NONEMPTY,
     .off = O(query),
     .help = "extra CQL, ANDed with the paging clause"},
    {0},
};
#undef REQ
#undef O

static const struct ss_config_section folio_section = {"folio", folio_options,
                                                       sizeof(struct folio_options), NULL};
/* Its tenant, username, password_file and resource are required wherever
 * the object appears; a file of kind folio must have it. */
static const struct ss_config_kind folio_config = {"folio", &folio_section, 1, NULL};

static const struct folio_options *fo(const struct ss_collector_config *cfg)
{
    return cfg->options;
}

struct folio {
    const struct ss_source_env *env;
    const struct ss_collector_config *cfg;
    enum folio_resource res;
    char *password;
    char base[2048];
    char tenant_hdr[512];

    struct ss_buf access, refresh;
    int64_t access_expires; /* ss_now_ms() time */
    int64_t access_life_ms;
    /* cookies of the auth response being read */
    struct ss_buf new_access, new_refresh;
    long new_access_age, new_refresh_age;

    struct ss_buf page;
    int page_too_big;
    unsigned long long bytes;

    time_t resp_date; /* the Date header of the last data response, 0 if none */

    struct ss_buf url, cql, ckpt;
    const struct ss_record_sink *sink;
    unsigned long where;
    unsigned long handed; /* records and rejects handed over this run */
    char max_updated[FOLIO_MAX_TS];

    struct idmap sps, locs, mtypes;
    struct idmap *lookup_target; /* load_lookup's table and field */
    const char *lookup_field;
    struct ss_hmap groups; /* stock: "SERVICE POINT\x1fTYPE" -> unsigned long count */
};

/* ---- small helpers ---- */

static void idmap_free(struct idmap *m)
{
    for (size_t i = 0; i < ss_hmap_count(&m->m); i++)
        free(*(char **)ss_hmap_at(&m->m, i));
    ss_hmap_free(&m->m);
}

/* The first value given for an id stands. 0, SS_E2BIG past
 * FOLIO_MAX_LOOKUP, or SS_ENOMEM. */
static int idmap_add(struct idmap *m, const char *id, const char *val)
{
    void *v;
    if (m->m.valsize == 0 || m->m.max_entries == 0)
        ss_hmap_init(&m->m, sizeof(char *), FOLIO_MAX_LOOKUP);
    int rc = ss_hmap_put(&m->m, id, strlen(id), &v);
    if (rc <= 0)
        return rc;
    if (!(*(char **)v = strdup(val)))
        return SS_ENOMEM;
    return 0;
}

static const char *idmap_get(const struct idmap *m, const char *id)
{
    char **v = ss_hmap_gets(&m->m, id);
    return v ? *v : NULL;
}

static const char *jstr(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A CQL string literal's content: the masking characters escaped. */
static int add_cql_literal(struct ss_buf *b, const char *s)
{
    int rc = ss_buf_addc(b, '"');
    for (; rc == 0 && *s; s++) {
        if (strchr("\"\\*?^", *s))
            rc = ss_buf_addc(b, '\\');
        if (rc == 0)
            rc = ss_buf_addc(b, *s);
    }
    return rc ? rc : ss_buf_addc(b, '"');
}

/* The first line of an error body, cut short, with the password (should a
 * server ever echo it) never shown. */
static void error_excerpt(const struct folio *f, const char *body, char *dst, size_t dstlen)
{
    size_t n = strcspn(body, "\r\n");
    if (n > 200)
        n = 200;
    if (f->password && f->password[0] && strstr(body, f->password)) {
        snprintf(dst, dstlen, " (response withheld: it repeats the password)");
        return;
    }
    snprintf(dst, dstlen, n ? ": %.*s" : "%.*s", (int)n, body);
}

/* ---- authentication ---- */

/* Set-Cookie: NAME=VALUE; Max-Age=N; ... (ss_cookie) */
static void on_auth_header(void *ud, const char *name, size_t nlen, const char *value, size_t vlen)
{
    struct folio *f = ud;
    struct ss_cookie c;
    if (nlen != 10 || strncasecmp(name, "Set-Cookie", 10) != 0)
        return;
    if (ss_cookie_parse(value, vlen, &c) < 0)
        return;
    struct ss_buf *dst = NULL;
    long *age = NULL;
    if (c.name_len == 16 && memcmp(c.name, "folioAccessToken", 16) == 0)
        dst = &f->new_access, age = &f->new_access_age;
    else if (c.name_len == 17 && memcmp(c.name, "folioRefreshToken", 17) == 0)
        dst = &f->new_refresh, age = &f->new_refresh_age;
    if (!dst)
        return;
    ss_buf_reset(dst);
    if (ss_buf_add(dst, c.value, c.value_len) < 0)
        ss_buf_reset(dst); /* too long: treated as missing */
    *age = c.max_age;
}

static int on_page_body(void *ud, const char *data, size_t len)
{
    struct folio *f = ud;
    f->bytes += len;
    if (f->sink && f->sink->progress)
        f->sink->progress(f->sink->ud, f->bytes);
    if (ss_buf_add(&f->page, data, len) < 0) {
        f->page_too_big = 1;
        return 1;
    }
    return 0;
}

/* Access-token lifetime from the body's accessTokenExpiration, in seconds,
 * for a gateway that sets no Max-Age; -1 if unknown. */
static long body_access_lifetime(const struct folio *f)
{
    json_t *root = json_loadb(f->page.data ? f->page.data : "", f->page.len, 0, NULL);
    const char *exp = root ? jstr(root, "accessTokenExpiration") : NULL;
    long out = -1;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (exp && sscanf(exp, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                      &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        time_t t = timegm(&tm);
        out = (long)(t - time(NULL));
        if (out < 0)
            out = 0;
    }
    json_decref(root);
    return out;
}

/* refresh: 1 for /authn/refresh, 0 for a login with the password. 0,
 * SS_ESTOPPED, or SS_EPROTO (refused or failed: err says why). */
static int folio_auth(struct folio *f, int refresh, char *err, size_t errlen)
{
    const struct ss_collector_config *cfg = f->cfg;
    struct ss_http_resp resp;
    struct ss_buf url, cookie;
    char *body = NULL, why[256];
    int rc = SS_EPROTO;

    ss_buf_init(&url, sizeof(f->base) + 64);
    ss_buf_init(&cookie, FOLIO_MAX_TOKEN + 64);
    ss_buf_printf(&url, "%s/authn/%s", f->base, refresh ? "refresh" : "login-with-expiry");
    const char *headers[5] = {f->tenant_hdr, "Accept: application/json", NULL, NULL, NULL};
    if (refresh) {
        if (ss_buf_printf(&cookie, "Cookie: folioRefreshToken=%s", f->refresh.data) < 0)
            goto out;
        headers[2] = cookie.data;
    } else {
        json_t *o = json_pack("{s:s, s:s}", "username", fo(cfg)->username, "password", f->password);
        body = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (!body) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        headers[2] = "Content-Type: application/json";
    }
    struct ss_http_req req = {.method = "POST",
                              .url = url.data,
                              .headers = headers,
                              .body = body ? body : "",
                              .body_len = body ? strlen(body) : 0,
                              .no_auth = 1};
    ss_buf_reset(&f->new_access);
    ss_buf_reset(&f->new_refresh);
    f->new_access_age = f->new_refresh_age = -1;
    ss_buf_reset(&f->page);
    f->page_too_big = 0;
    int r =
        ss_http_request(f->env->http, &req, on_auth_header, on_page_body, f, &resp, err, errlen);
    if (r == SS_ESTOPPED && !f->page_too_big) {
        snprintf(err, errlen, "stopped");
        rc = SS_ESTOPPED;
        goto out;
    }
    if (r != 0 || f->page_too_big) {
        error_excerpt(f, resp.error_body, why, sizeof(why));
        if (refresh)
            snprintf(err, errlen, "FOLIO %s/authn/refresh: HTTP %ld%s", f->base, resp.status, why);
        else if (resp.status == 400)
            snprintf(err, errlen,
                     "FOLIO login at %s refused the request (HTTP 400%s): check \"folio.tenant\" "
                     "(\"%s\") names this library's tenant",
                     f->base, why, fo(cfg)->tenant);
        else if (resp.status == 401 || resp.status == 403 || resp.status == 422)
            snprintf(err, errlen,
                     "FOLIO login as \"%s\" at %s (tenant \"%s\") failed (HTTP %ld%s): check "
                     "\"folio.username\" and the password in %s",
                     fo(cfg)->username, f->base, fo(cfg)->tenant, resp.status, why,
                     fo(cfg)->password_file);
        else if (resp.status)
            snprintf(err, errlen, "FOLIO login at %s: HTTP %ld%s", f->base, resp.status, why);
        /* else err already says why (connection refused, timeout) */
        goto out;
    }
    if (!f->new_access.len) {
        snprintf(err, errlen,
                 "FOLIO %s answered HTTP %ld without a folioAccessToken cookie: is \"url\" the "
                 "Okapi gateway, and does it support login-with-expiry?",
                 url.data, resp.status);
        goto out;
    }
    long age = f->new_access_age >= 0 ? f->new_access_age : body_access_lifetime(f);
    if (age < 0)
        age = 600; /* FOLIO's default; a 401 still triggers a refresh */
    ss_buf_reset(&f->access);
    if (ss_buf_add(&f->access, f->new_access.data, f->new_access.len) < 0)
        goto out;
    if (f->new_refresh.len) {
        ss_buf_reset(&f->refresh);
        if (ss_buf_add(&f->refresh, f->new_refresh.data, f->new_refresh.len) < 0)
            goto out;
    }
    f->access_life_ms = (int64_t)age * 1000;
    f->access_expires = ss_now_ms() + f->access_life_ms;
    ss_info("FOLIO %s: access token for %ld s", refresh ? "token refreshed" : "logged in", age);
    rc = 0;
out:
    if (body) {
        memset(body, 0, strlen(body));
        free(body);
    }
    ss_buf_free(&url);
    if (cookie.data)
        memset(cookie.data, 0, cookie.len);
    ss_buf_free(&cookie);
    return rc;
}

/* A refresh, falling back to a login when there is no refresh token or the
 * gateway refuses it. */
static int folio_renew(struct folio *f, char *err, size_t errlen)
{
    if (f->refresh.len) {
        int rc = folio_auth(f, 1, err, errlen);
        if (rc != SS_EPROTO)
            return rc;
        ss_notice("%s; logging in again", err);
    }
    return folio_auth(f, 0, err, errlen);
}

/* Renews the access token when less than a quarter of its life (at most
 * 30 s) is left, so a page never starts with a token about to lapse. */
static int folio_fresh(struct folio *f, char *err, size_t errlen)
{
    if (!f->access.len)
        return folio_auth(f, 0, err, errlen);
    int64_t margin = f->access_life_ms / 4;
    if (margin > 30000)
        margin = 30000;
    int64_t left = f->access_expires - ss_now_ms();
    if (left > margin)
        return 0;
    ss_info("FOLIO access token expires in %lld ms: refreshing", (long long)left);
    return folio_renew(f, err, errlen);
}

/* An HTTP date (RFC 9110 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"), or
 * 0 when it is not one. */
static time_t parse_http_date(const char *v, size_t n)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char text[64], mon[4];
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (n >= sizeof(text))
        return 0;
    memcpy(text, v, n);
    text[n] = '\0';
    const char *p = strchr(text, ',');
    if (!p || sscanf(p + 1, " %d %3s %d %d:%d:%d", &tm.tm_mday, mon, &tm.tm_year, &tm.tm_hour,
                     &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    const char *m = strstr(months, mon);
    if (strlen(mon) != 3 || !m || (m - months) % 3 != 0 || tm.tm_year < 1970)
        return 0;
    tm.tm_mon = (int)((m - months) / 3);
    tm.tm_year -= 1900;
    time_t t = timegm(&tm);
    return t > 0 ? t : 0;
}

static void on_data_header(void *ud, const char *name, size_t nlen, const char *value, size_t vlen)
{
    struct folio *f = ud;
    if (nlen == 4 && strncasecmp(name, "Date", 4) == 0)
        f->resp_date = parse_http_date(value, vlen);
}

static int is_2xx(long status)
{
    return status >= 200 && status <= 299;
}

/* GET url into f->page; 0, SS_ESTOPPED, or SS_EPROTO (failed: err says why). */
static int folio_get(struct folio *f, const char *url, char *err, size_t errlen)
{
    struct ss_http_resp resp;
    struct ss_buf tok, cookie;
    char why[256];
    int rc = SS_EPROTO;

    ss_buf_init(&tok, FOLIO_MAX_TOKEN + 64);
    ss_buf_init(&cookie, FOLIO_MAX_TOKEN + 64);
    for (int attempt = 0; attempt < 2; attempt++) {
        rc = folio_fresh(f, err, errlen);
        if (rc < 0)
            goto out;
        rc = SS_EPROTO;
        ss_buf_reset(&tok);
        ss_buf_reset(&cookie);
        if (ss_buf_printf(&tok, "X-Okapi-Token: %s", f->access.data) < 0 ||
            ss_buf_printf(&cookie, "Cookie: folioAccessToken=%s", f->access.data) < 0) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        const char *headers[] = {f->tenant_hdr, "Accept: application/json", tok.data, cookie.data,
                                 NULL};
        struct ss_http_req req = {.url = url, .headers = headers, .no_auth = 1};
        ss_buf_reset(&f->page);
        f->page_too_big = 0;
        f->resp_date = 0;
        int r = ss_http_request(f->env->http, &req, on_data_header, on_page_body, f, &resp, err,
                                errlen);
        if (f->page_too_big) {
            snprintf(err, errlen,
                     "%s: the page is larger than %zu bytes (limits.max_record_bytes x "
                     "folio.limit, at most %zu MiB): lower \"folio.limit\"",
                     url, f->page.max, FOLIO_MAX_PAGE >> 20);
            goto out;
        }
        if (r == SS_ESTOPPED) {
            rc = SS_ESTOPPED;
            goto out;
        }
        if (r == 0) {
            rc = 0;
            goto out;
        }
        if (resp.status == 401 && attempt == 0) {
            ss_notice("FOLIO refused the access token (HTTP 401): refreshing it and repeating "
                      "the request");
            rc = folio_renew(f, err, errlen);
            if (rc < 0)
                goto out;
            continue;
        }
        if (is_2xx(resp.status)) {
            /* The status was fine, the body was not: ss_http says how it
             * broke (fewer bytes than Content-Length, a reset); say that it
             * is a page cut short, not an HTTP error. */
            char how[1024];
            snprintf(how, sizeof(how), "%s", err);
            if (strstr(how, "cut short"))
                snprintf(err, errlen, "FOLIO %s; nothing of this page was handed over", how);
            else
                snprintf(err, errlen,
                         "FOLIO %s: the answer (HTTP %ld) was cut short; nothing of this page was "
                         "handed over",
                         how, resp.status);
        } else if (resp.status) {
            error_excerpt(f, resp.error_body, why, sizeof(why));
            snprintf(err, errlen, "FOLIO %s: HTTP %ld%s%s", url, resp.status, why,
                     resp.status == 403 ? " (the API user lacks a permission)" : "");
        }
        goto out;
    }
out:
    if (tok.data)
        memset(tok.data, 0, tok.len);
    if (cookie.data)
        memset(cookie.data, 0, cookie.len);
    ss_buf_free(&tok);
    ss_buf_free(&cookie);
    return rc;
}

/* ---- keyset paging ---- */

/* Called for each record of a page; 0 on, 1 the sink asked to stop, -1 err. */
typedef int (*folio_rec_cb)(struct folio *f, json_t *rec, char *err, size_t errlen);

/* One keyset sweep over a collection. */
struct sweep {
    const char *path, *key;  /* /circulation/loans, "loans" */
    const char *query;       /* folio.query, or NULL */
    const char *since;       /* metadata.updatedDate>"SINCE", or NULL */
    char last[FOLIO_MAX_ID]; /* id>"LAST" (a resumed sweep starts with one), or "" */
    int checkpoint;          /* hand sink->checkpoint the resume point after each page */
    time_t start;            /* when the sweep began (server time); 0: not yet */
};

/* "folio-resume\nSINCE\nLAST\nMAX\nSTART": where a run resumes after the
 * pages handed over so far. */
static int folio_checkpoint(struct folio *f, const struct sweep *sw)
{
    ss_buf_reset(&f->ckpt);
    if (ss_buf_printf(&f->ckpt, "folio-resume\n%s\n%s\n%s\n%lld", sw->since ? sw->since : "",
                      sw->last, f->max_updated, (long long)sw->start) < 0)
        return 0; /* cannot happen with the bounds above; no checkpoint then */
    return f->sink->checkpoint(f->sink->ud, f->ckpt.data, f->ckpt.len) != 0;
}

/* Reads every record of the sweep's collection, ANDing the clauses given,
 * until the server has no more: an empty page, or one shorter than the
 * largest it returned (never the requested limit: a gateway may cap it).
 * Longer than most functions here on purpose: the loop is the paging
 * contract (the keyset clause, the loop guard, the end rules, the
 * checkpoint after each whole page), and reads best in one piece. */
static int folio_fetch(struct folio *f, struct sweep *sw, folio_rec_cb cb, char *err, size_t errlen)
{
    const char *path = sw->path;
    unsigned long pageno = 0, total = 0;
    size_t largest = 0;
    long long reported = -1;
    long limit = fo(f->cfg)->limit;

    for (;;) {
        if (*f->env->stop)
            return SS_SOURCE_STOPPED;
        if (pageno >= FOLIO_MAX_PAGES) {
            snprintf(err, errlen, "FOLIO %s: more than %lu pages: stopping", path, FOLIO_MAX_PAGES);
            return SS_SOURCE_FAILED;
        }
        /* (QUERY) and metadata.updatedDate>"SINCE" and id>"LAST" sortBy id */
        int n = 0;
        ss_buf_reset(&f->cql);
        if (sw->query && sw->query[0]) {
            ss_buf_printf(&f->cql, "(%s)", sw->query);
            n++;
        }
        if (sw->since) {
            ss_buf_printf(&f->cql, "%smetadata.updatedDate>", n++ ? " and " : "");
            add_cql_literal(&f->cql, sw->since);
        }
        if (sw->last[0]) {
            ss_buf_printf(&f->cql, "%sid>", n++ ? " and " : "");
            add_cql_literal(&f->cql, sw->last);
        }
        if (!n)
            ss_buf_adds(&f->cql, "cql.allRecords=1");
        if (ss_buf_adds(&f->cql, " sortBy id") < 0) {
            snprintf(err, errlen, "%s: the CQL query is too long", path);
            return SS_SOURCE_FAILED;
        }
        ss_buf_reset(&f->url);
        ss_buf_printf(&f->url, "%s%s?limit=%ld&query=", f->base, path, limit);
        if (ss_url_encode(&f->url, f->cql.data) < 0) {
            snprintf(err, errlen, "%s: the request URL is too long", path);
            return SS_SOURCE_FAILED;
        }
        ss_debug("FOLIO GET %s?query=%s", path, f->cql.data);
        int rc = folio_get(f, f->url.data, err, errlen);
        if (rc == SS_ESTOPPED)
            return SS_SOURCE_STOPPED;
        if (rc < 0)
            return SS_SOURCE_FAILED;
        pageno++;
        if (!sw->start)
            sw->start = f->resp_date ? f->resp_date : time(NULL);

        json_error_t jerr;
        json_t *root = json_loadb(f->page.data ? f->page.data : "", f->page.len, 0, &jerr);
        json_t *arr = root ? json_object_get(root, sw->key) : NULL;
        if (!root || !json_is_array(arr)) {
            if (!root && f->page.len == 0)
                snprintf(err, errlen,
                         "FOLIO %s page %lu: the answer has no body: it was cut short (or the "
                         "gateway answered nothing)",
                         path, pageno);
            else if (!root)
                snprintf(err, errlen, "FOLIO %s page %lu: not JSON (line %d column %d: %s)%s", path,
                         pageno, jerr.line, jerr.column, jerr.text,
                         strstr(jerr.text, "premature end") ? ": the answer was cut short" : "");
            else
                snprintf(err, errlen, "FOLIO %s page %lu: no \"%s\" array in the response", path,
                         pageno, sw->key);
            json_decref(root);
            return SS_SOURCE_FAILED;
        }
        if (pageno == 1) {
            json_t *tr = json_object_get(root, "totalRecords");
            if (json_is_integer(tr)) {
                reported = (long long)json_integer_value(tr);
                ss_info("FOLIO %s: totalRecords %lld (an estimate: paging goes on to the last "
                        "page whatever it says)",
                        path, reported);
            }
        }
        size_t count = json_array_size(arr);
        for (size_t i = 0; i < count; i++) {
            json_t *rec = json_array_get(arr, i);
            const char *id = json_is_object(rec) ? jstr(rec, "id") : NULL;
            if (!id || !id[0] || strlen(id) >= sizeof(sw->last)) {
                snprintf(err, errlen,
                         "FOLIO %s page %lu record %zu: no usable \"id\": keyset paging needs "
                         "one",
                         path, pageno, i + 1);
                json_decref(root);
                return SS_SOURCE_FAILED;
            }
            if (sw->last[0] && strcmp(id, sw->last) <= 0) {
                snprintf(err, errlen,
                         "FOLIO %s page %lu: id \"%s\" does not follow \"%s\": the server does "
                         "not honour \"sortBy id\" (refusing to loop)",
                         path, pageno, id, sw->last);
                json_decref(root);
                return SS_SOURCE_FAILED;
            }
            snprintf(sw->last, sizeof(sw->last), "%s", id);
            rc = cb(f, rec, err, errlen);
            if (rc != 0) {
                json_decref(root);
                return rc > 0 ? SS_SOURCE_STOPPED : SS_SOURCE_FAILED;
            }
        }
        json_decref(root);
        total += count;
        if (count == 0)
            break;
        /* Every record of this page is handed over: the next run may
         * resume after it. */
        if (sw->checkpoint && folio_checkpoint(f, sw) != 0)
            return SS_SOURCE_STOPPED;
        if (count < largest)
            break;
        if (count > largest)
            largest = count;
    }
    ss_info("FOLIO %s: %lu records in %lu pages", path, total, pageno);
    if (largest > 0 && largest < (size_t)limit && pageno > 2)
        ss_notice("FOLIO %s: the gateway returned at most %zu records a page although "
                  "\"folio.limit\" is %ld: it caps the page size (paging went on until it had no "
                  "more)",
                  path, largest, limit);
    if (reported >= 0 && (unsigned long long)reported != total)
        ss_warn("FOLIO %s: %lu records received, but totalRecords said %lld (FOLIO estimates "
                "totals past 1000, and records change while they are read; every page was read "
                "until the gateway had no more)",
                path, total, reported);
    return SS_SOURCE_OK;
}

/* ---- lookups ---- */

static int lookup_rec(struct folio *f, json_t *rec, char *err, size_t errlen)
{
    const char *v = jstr(rec, f->lookup_field);
    if (!v)
        return 0;
    if (idmap_add(f->lookup_target, jstr(rec, "id"), v) < 0) {
        snprintf(err, errlen, "more than %d entries in a FOLIO lookup table", FOLIO_MAX_LOOKUP);
        return SS_EINVAL;
    }
    return 0;
}

/* Reads PATH's records into m: id -> FIELD. */
static int load_lookup(struct folio *f, struct idmap *m, const char *path, const char *key,
                       const char *field, char *err, size_t errlen)
{
    idmap_free(m);
    f->lookup_target = m;
    f->lookup_field = field;
    struct sweep sw = {.path = path, .key = key};
    return folio_fetch(f, &sw, lookup_rec, err, errlen);
}

/* ---- loans ---- */

static void see_updated(struct folio *f, const char *ts)
{
    if (ts && ts[0] && strlen(ts) < sizeof(f->max_updated) && strcmp(ts, f->max_updated) > 0)
        snprintf(f->max_updated, sizeof(f->max_updated), "%s", ts);
}

static int loan_rec(struct folio *f, json_t *rec, char *err, size_t errlen)
{
    const struct ss_record_sink *k = f->sink;
    const char *id = jstr(rec, "id");
    const char *loan_date = jstr(rec, "loanDate");
    const char *updated = jstr(json_object_get(rec, "metadata"), "updatedDate");
    (void)err, (void)errlen;

    see_updated(f, updated ? updated : loan_date);
    f->where++;
    f->handed++;
    const char *spid = jstr(rec, "checkoutServicePointId");
    const char *sp = spid ? idmap_get(&f->sps, spid) : NULL;
    if (!sp)
        sp = spid ? spid : "";
    const json_t *item = json_object_get(rec, "item");
    const char *mtype = jstr(json_object_get(item, "materialType"), "name");
    if (!mtype || !mtype[0])
        mtype = "Unknown";
    const char *user = jstr(rec, "userId");
    if (!user)
        user = "";
    const char *vals[6] = {id, sp, loan_date ? loan_date : "", mtype, user, "no"};
    size_t lens[6];
    for (int i = 0; i < 6; i++)
        lens[i] = strlen(vals[i]);
    if (!loan_date)
        return k->reject(k->ud, f->where, "FOLIO loan without \"loanDate\"", vals, lens, 6) != 0;
    if (k->record(k->ud, vals, lens, 6, f->where) != 0)
        return 1;

    const char *action = jstr(rec, "action");
    json_t *rc = json_object_get(rec, "renewalCount");
    if (action && strcmp(action, "renewed") == 0 && updated && json_is_integer(rc) &&
        json_integer_value(rc) > 0) {
        char rid[FOLIO_MAX_ID + 40];
        snprintf(rid, sizeof(rid), "%s/renewal/%lld", id, (long long)json_integer_value(rc));
        vals[0] = rid;
        vals[2] = updated;
        vals[5] = "yes";
        lens[0] = strlen(rid);
        lens[2] = strlen(updated);
        lens[5] = 3;
        f->where++;
        f->handed++;
        if (k->record(k->ud, vals, lens, 6, f->where) != 0)
            return 1;
    }
    return 0;
}

/* The cursor a run starts from. */
struct folio_cursor {
    char since[FOLIO_MAX_TS]; /* updatedDate>SINCE; "" for everything */
    int resume;               /* a sweep cut short: what follows is where it stopped */
    char last[FOLIO_MAX_ID];
    char max[FOLIO_MAX_TS];
    long long start;
};

/* Copies the next "\n"-ended part of *p into dst; 0, or -1 if it does not fit. */
static int cursor_part(const char **p, char *dst, size_t dstlen, int last)
{
    const char *end = last ? *p + strlen(*p) : strchr(*p, '\n');
    if (!end || (size_t)(end - *p) >= dstlen)
        return SS_EINVAL;
    snprintf(dst, dstlen, "%.*s", (int)(end - *p), *p);
    *p = *end ? end + 1 : end;
    return 0;
}

/* A saved cursor: a plain updatedDate (a complete sweep), or
 * "folio-resume\nSINCE\nLAST\nMAX\nSTART". Anything else: fetch in full. */
static void parse_cursor(const char *text, struct folio_cursor *c)
{
    char start[32];
    memset(c, 0, sizeof(*c));
    if (!text || !text[0])
        return;
    if (strncmp(text, "folio-resume\n", 13) == 0) {
        const char *p = text + 13;
        char *end;
        if (cursor_part(&p, c->since, sizeof(c->since), 0) == 0 &&
            cursor_part(&p, c->last, sizeof(c->last), 0) == 0 &&
            cursor_part(&p, c->max, sizeof(c->max), 0) == 0 &&
            cursor_part(&p, start, sizeof(start), 1) == 0 && c->last[0]) {
            errno = 0;
            c->start = strtoll(start, &end, 10);
            if (errno == 0 && end != start && *end == '\0' && c->start >= 0) {
                c->resume = 1;
                return;
            }
        }
    } else if (strlen(text) < sizeof(c->since) && !strchr(text, '\n')) {
        snprintf(c->since, sizeof(c->since), "%s", text);
        return;
    }
    memset(c, 0, sizeof(*c));
    ss_notice("FOLIO: the saved cursor is not one this collector reads: fetching everything");
}

/* t in the form of model (an updatedDate in UTC: "...Z", "...+00:00" or no
 * zone; its fraction of a second kept as zeros of the same width). -1 when
 * model is not such a time. */
static int time_like(const char *model, time_t t, char *out, size_t outlen)
{
    size_t n = strlen(model), frac = 0;
    if (n < 19 || model[4] != '-' || model[7] != '-' || model[10] != 'T' || model[13] != ':' ||
        model[16] != ':')
        return SS_EINVAL;
    const char *p = model + 19;
    if (*p == '.')
        while (p[1 + frac] >= '0' && p[1 + frac] <= '9')
            frac++;
    const char *zone = *p == '.' ? p + 1 + frac : p;
    if (*zone && strcmp(zone, "Z") != 0 && strcmp(zone, "+00:00") != 0 &&
        strcmp(zone, "+0000") != 0)
        return SS_EINVAL; /* a local offset: leave it alone */
    struct tm tm;
    char base[32], zeros[16] = "";
    if (frac >= sizeof(zeros) || !gmtime_r(&t, &tm) ||
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) != 19)
        return SS_EINVAL;
    memset(zeros, '0', frac);
    zeros[frac] = '\0';
    int w = snprintf(out, outlen, "%s%s%s%s", base, *p == '.' ? "." : "", zeros, zone);
    return w < 0 || (size_t)w >= outlen ? -1 : 0;
}

/* The cursor a complete sweep leaves: the greatest updatedDate seen, but no
 * later than FOLIO_CURSOR_MARGIN_S before the sweep began, and never before
 * the one it started from. "" when there is none. */
static void complete_cursor(const struct folio *f, const char *since, time_t start, char *out,
                            size_t outlen)
{
    char cap[FOLIO_MAX_TS];
    snprintf(out, outlen, "%s", f->max_updated[0] ? f->max_updated : since ? since : "");
    if (f->max_updated[0] && start > FOLIO_CURSOR_MARGIN_S &&
        time_like(f->max_updated, start - FOLIO_CURSOR_MARGIN_S, cap, sizeof(cap)) == 0 &&
        strcmp(cap, out) < 0)
        snprintf(out, outlen, "%s", cap);
    if (since && strcmp(out, since) < 0)
        snprintf(out, outlen, "%s", since);
}

static int run_loans(struct folio *f, const char *cursor, struct ss_buf *next_cursor, char *err,
                     size_t errlen)
{
    static const char *const loan_cols[] = {"transaction_id", "service_point", "issued_at",
                                            "item_type",      "patron_key",    "renewal"};
    size_t lens[6];
    struct folio_cursor c;
    char done[FOLIO_MAX_TS];
    int r;

    parse_cursor(cursor, &c);
    r = load_lookup(f, &f->sps, "/service-points", "servicepoints", "name", err, errlen);
    if (r != SS_SOURCE_OK)
        return r;
    for (int i = 0; i < 6; i++)
        lens[i] = strlen(loan_cols[i]);
    if (f->sink->columns(f->sink->ud, loan_cols, lens, 6) != 0)
        return SS_SOURCE_STOPPED;

    struct sweep sw = {.path = "/circulation/loans",
                       .key = "loans",
                       .query = fo(f->cfg)->query,
                       .since = c.since[0] ? c.since : NULL,
                       .checkpoint = 1};
    if (c.resume) {
        snprintf(sw.last, sizeof(sw.last), "%s", c.last);
        snprintf(f->max_updated, sizeof(f->max_updated), "%s", c.max);
        sw.start = (time_t)c.start;
        ss_info("FOLIO loans: resuming the sweep cut short by the last run, after id %s%s%s",
                c.last, c.since[0] ? ", updated after " : "", c.since);
    } else if (c.since[0]) {
        ss_info("FOLIO loans updated after %s", c.since);
    }
    r = folio_fetch(f, &sw, loan_rec, err, errlen);
    if (r != SS_SOURCE_OK)
        return r;
    complete_cursor(f, sw.since, sw.start, done, sizeof(done));
    if (c.resume && f->handed == 0 && done[0]) {
        /* The rest of the cut sweep held nothing: a cursor that stays
         * mid-sweep would never move again, so look for what is new since
         * the complete cursor now (nothing was handed over in this run yet,
         * so nothing can be handed over twice). */
        ss_info("FOLIO loans: the rest of the last run's sweep is empty; loans updated after %s",
                done);
        char since[FOLIO_MAX_TS];
        snprintf(since, sizeof(since), "%s", done);
        struct sweep again = {
            .path = sw.path, .key = sw.key, .query = sw.query, .since = since, .checkpoint = 1};
        r = folio_fetch(f, &again, loan_rec, err, errlen);
        if (r != SS_SOURCE_OK)
            return r;
        complete_cursor(f, again.since, again.start, done, sizeof(done));
    }
    ss_buf_reset(next_cursor);
    ss_buf_adds(next_cursor, done);
    if ((c.since[0] || c.resume) && f->handed == 0)
        return SS_SOURCE_UNCHANGED; /* a cursor of ours, and nothing new */
    return SS_SOURCE_OK;
}

/* ---- service points ---- */

static int sp_rec(struct folio *f, json_t *rec, char *err, size_t errlen)
{
    const struct ss_record_sink *k = f->sink;
    const char *name = jstr(rec, "name");
    const char *code = jstr(rec, "code");
    (void)err, (void)errlen;
    f->where++;
    f->handed++;
    const char *vals[2] = {name ? name : "", code ? code : ""};
    size_t lens[2] = {strlen(vals[0]), strlen(vals[1])};
    if (!name)
        return k->reject(k->ud, f->where, "FOLIO service point without \"name\"", vals, lens, 2) !=
               0;
    return k->record(k->ud, vals, lens, 2, f->where) != 0;
}

/* ---- items -> stock ---- */

static const char *const not_stock[] = {
    "Withdrawn", "Lost and paid", "Declared lost", "Aged to lost",     "Long missing",
    "Missing",   "On order",      "Order closed",  "Claimed returned", NULL};

static int group_add(struct folio *f, const char *key)
{
    void *v;
    if (f->groups.valsize == 0 || f->groups.max_entries == 0)
        ss_hmap_init(&f->groups, sizeof(unsigned long), FOLIO_MAX_GROUPS);
    int rc = ss_hmap_put(&f->groups, key, strlen(key), &v);
    if (rc < 0)
        return rc;
    (*(unsigned long *)v)++;
    return 0;
}

static int item_rec(struct folio *f, json_t *rec, char *err, size_t errlen)
{
    const char *status = jstr(json_object_get(rec, "status"), "name");
    for (size_t i = 0; status && not_stock[i]; i++)
        if (strcmp(status, not_stock[i]) == 0)
            return 0;
    const char *loc = jstr(rec, "effectiveLocationId");
    const char *spid = loc ? idmap_get(&f->locs, loc) : NULL;
    const char *sp = spid ? idmap_get(&f->sps, spid) : NULL;
    if (!sp)
        sp = spid ? spid : loc ? loc : "Unknown";
    const char *mt = jstr(rec, "materialTypeId");
    const char *type = mt ? idmap_get(&f->mtypes, mt) : NULL;
    if (!type)
        type = mt ? mt : "Unknown";
    char key[1024];
    snprintf(key, sizeof(key), "%s\x1f%s", sp, type);
    int rc = group_add(f, key);
    if (rc == SS_E2BIG) {
        snprintf(err, errlen,
                 "more than %d service point x material type groups in the stock: narrow "
                 "\"folio.query\"",
                 FOLIO_MAX_GROUPS);
        return SS_EINVAL;
    }
    if (rc < 0) {
        snprintf(err, errlen, "out of memory counting the stock");
        return SS_EINVAL;
    }
    return 0;
}

struct group {
    const char *key; /* "SERVICE POINT\x1fTYPE" */
    unsigned long count;
};

static int cmp_group(const void *a, const void *b)
{
    return strcmp(((const struct group *)a)->key, ((const struct group *)b)->key);
}

/* 0, 1 when the sink asked to stop, or SS_ENOMEM. */
static int emit_stock(struct folio *f)
{
    const struct ss_record_sink *k = f->sink;
    char today[16], count[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(today, sizeof(today), "%Y-%m-%d", &tm);
    size_t n = ss_hmap_count(&f->groups);
    struct group *g = malloc((n ? n : 1) * sizeof(*g));
    if (!g)
        return SS_ENOMEM;
    for (size_t i = 0; i < n; i++)
        g[i] = (struct group){ss_hmap_key(&f->groups, i, NULL),
                              *(unsigned long *)ss_hmap_at(&f->groups, i)};
    qsort(g, n, sizeof(*g), cmp_group);
    int stop = 0;
    for (size_t i = 0; i < n && !stop; i++) {
        const char *key = g[i].key;
        const char *sep = strchr(key, '\x1f');
        snprintf(count, sizeof(count), "%lu", g[i].count);
        const char *vals[4] = {key, today, sep + 1, count};
        size_t lens[4] = {(size_t)(sep - key), strlen(today), strlen(sep + 1), strlen(count)};
        stop = k->record(k->ud, vals, lens, 4, ++f->where) != 0;
    }
    free(g);
    return stop;
}

/* ---- the kind ---- */

static void folio_free(struct folio *f)
{
    if (!f)
        return;
    if (f->password)
        ss_secret_free(f->password);
    if (f->access.data)
        memset(f->access.data, 0, f->access.len);
    if (f->refresh.data)
        memset(f->refresh.data, 0, f->refresh.len);
    ss_buf_free(&f->access);
    ss_buf_free(&f->refresh);
    ss_buf_free(&f->new_access);
    ss_buf_free(&f->new_refresh);
    ss_buf_free(&f->page);
    ss_buf_free(&f->url);
    ss_buf_free(&f->cql);
    ss_buf_free(&f->ckpt);
    idmap_free(&f->sps);
    idmap_free(&f->locs);
    idmap_free(&f->mtypes);
    ss_hmap_free(&f->groups);
    free(f);
}

static int cb_init(void **state, const struct ss_source_env *env, char *err, size_t errlen)
{
    const struct ss_collector_config *cfg = env->cfg;
    static const struct {
        const char *resource, *dataset;
        enum folio_resource res;
    } fits[] = {{"loans", "loan_transactions", RES_LOANS},
                {"service_points", "service_points", RES_SERVICE_POINTS},
                {"items", "stock", RES_ITEMS}};
    struct folio *f;
    const char *resource = fo(cfg)->resource ? fo(cfg)->resource : "loans";
    size_t i;

    if (!fo(cfg)->tenant || !fo(cfg)->username || !fo(cfg)->password_file) {
        snprintf(err, errlen,
                 "\"folio\": \"tenant\", \"username\" and \"password_file\" are required");
        return SS_EINVAL;
    }
    if (strcmp(resource, "users") == 0) {
        snprintf(err, errlen,
                 "\"folio.resource\": \"users\" fills no core dataset: FOLIO records no "
                 "borrowing activity on users, and active users are people who borrowed -- "
                 "collect \"loans\" into \"loan_transactions\" (the warehouse counts active "
                 "users from them in core.v_transaction_active_users)");
        return SS_EINVAL;
    }
    for (i = 0; i < sizeof(fits) / sizeof(fits[0]); i++)
        if (strcmp(resource, fits[i].resource) == 0)
            break;
    if (i == sizeof(fits) / sizeof(fits[0])) {
        snprintf(err, errlen,
                 "\"folio.resource\": \"%s\" is not one of loans, service_points, items", resource);
        return SS_EINVAL;
    }
    if (strcmp(cfg->dataset, fits[i].dataset) != 0) {
        snprintf(err, errlen,
                 "\"folio.resource\" \"%s\" fills the dataset \"%s\", not \"%s\": set "
                 "\"dataset\": \"%s\"",
                 resource, fits[i].dataset, cfg->dataset, fits[i].dataset);
        return SS_EINVAL;
    }
    if (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0) {
        snprintf(err, errlen, "\"url\": the FOLIO Okapi gateway needs an http:// or https:// URL");
        return SS_EINVAL;
    }
    if (strlen(fo(cfg)->tenant) > 256 || strpbrk(fo(cfg)->tenant, "\r\n")) {
        snprintf(err, errlen, "\"folio.tenant\": not a tenant id");
        return SS_EINVAL;
    }
    f = calloc(1, sizeof(*f));
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return SS_ENOMEM;
    }
    f->env = env;
    f->cfg = cfg;
    f->res = fits[i].res;
    if (strlen(cfg->url) >= sizeof(f->base) - 1) {
        snprintf(err, errlen, "\"url\": too long");
        folio_free(f);
        return SS_EINVAL;
    }
    snprintf(f->base, sizeof(f->base), "%s", cfg->url);
    for (size_t n = strlen(f->base); n > 0 && f->base[n - 1] == '/'; n--)
        f->base[n - 1] = '\0';
    snprintf(f->tenant_hdr, sizeof(f->tenant_hdr), "X-Okapi-Tenant: %s", fo(cfg)->tenant);
    f->password = ss_secret_read(fo(cfg)->password_file, err, errlen);
    if (!f->password) {
        folio_free(f);
        return SS_EINVAL;
    }
    size_t page_max = (size_t)cfg->max_record_bytes * (size_t)fo(cfg)->limit;
    if (page_max > FOLIO_MAX_PAGE)
        page_max = FOLIO_MAX_PAGE;
    ss_buf_init(&f->page, page_max);
    ss_buf_init(&f->access, FOLIO_MAX_TOKEN);
    ss_buf_init(&f->refresh, FOLIO_MAX_TOKEN);
    ss_buf_init(&f->new_access, FOLIO_MAX_TOKEN);
    ss_buf_init(&f->new_refresh, FOLIO_MAX_TOKEN);
    ss_buf_init(&f->url, 64 * 1024);
    ss_buf_init(&f->cql, 32 * 1024);
    ss_buf_init(&f->ckpt, 4 * FOLIO_MAX_TS + FOLIO_MAX_ID);
    *state = f;
    return 0;
}

static void cb_exit(void *state)
{
    folio_free(state);
}

static int send_columns(const struct ss_record_sink *k, const char *const *names, size_t n)
{
    size_t lens[8];
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(names[i]);
    return k->columns(k->ud, names, lens, n);
}

static int cb_run(void *state, const char *cursor, struct ss_buf *next_cursor,
                  const struct ss_record_sink *sink, char *err, size_t errlen)
{
    static const char *const sp_cols[] = {"name", "postcode"};
    static const char *const stock_cols[] = {"service_point", "count_date", "item_type", "items"};
    struct folio *f = state;
    const char *query = fo(f->cfg)->query;
    struct sweep sps = {.path = "/service-points", .key = "servicepoints", .query = query};
    struct sweep items = {.path = "/item-storage/items", .key = "items", .query = query};
    int r;

    f->sink = sink;
    f->where = 0;
    f->handed = 0;
    f->bytes = 0;
    f->max_updated[0] = '\0';
    int rc = folio_fresh(f, err, errlen);
    if (rc < 0)
        return rc == SS_ESTOPPED ? SS_SOURCE_STOPPED : SS_SOURCE_FAILED;

    switch (f->res) {
    case RES_LOANS:
        return run_loans(f, cursor, next_cursor, err, errlen);
    case RES_SERVICE_POINTS:
        if (send_columns(sink, sp_cols, 2) != 0)
            return SS_SOURCE_STOPPED;
        return folio_fetch(f, &sps, sp_rec, err, errlen);
    case RES_ITEMS:
        ss_hmap_free(&f->groups);
        r = load_lookup(f, &f->sps, "/service-points", "servicepoints", "name", err, errlen);
        if (r == SS_SOURCE_OK)
            r = load_lookup(f, &f->locs, "/locations", "locations", "primaryServicePoint", err,
                            errlen);
        if (r == SS_SOURCE_OK)
            r = load_lookup(f, &f->mtypes, "/material-types", "mtypes", "name", err, errlen);
        if (r == SS_SOURCE_OK)
            r = folio_fetch(f, &items, item_rec, err, errlen);
        if (r == SS_SOURCE_OK && send_columns(sink, stock_cols, 4) != 0)
            r = SS_SOURCE_STOPPED;
        if (r == SS_SOURCE_OK && (rc = emit_stock(f)) != 0) {
            if (rc < 0)
                snprintf(err, errlen, "out of memory");
            r = rc < 0 ? SS_SOURCE_FAILED : SS_SOURCE_STOPPED;
        }
        ss_hmap_free(&f->groups);
        return r;
    }
    return SS_SOURCE_FAILED;
}

const struct ss_source_kind ss_source_folio = {"folio", &folio_config, cb_init, cb_run, cb_exit};
