/* src_koha: the "koha" source kind -- Koha's REST API (/api/v1). The Koha
 * client and the "koha" options it shares with kind "koha_report"
 * (src_koha_report.c) are ss_koha's.
 *
 * "koha" pages through one REST list (koha.resource) and hands over records
 * whose column names are the dataset's field names, so no "mapping" is
 * needed:
 *   checkouts, checkouts_history -> loan_transactions: one record per Koha
 *     checkout (an issue). transaction_id = checkout_id (current and
 *     returned checkouts share the id, so a loan seen first as current and
 *     later as history is the same row); service_point = the library's name
 *     (from /libraries, fetched once a run; when value_maps.service_point is
 *     configured the library_id is handed over for the map instead);
 *     issued_at = checkout_date; item_type = the embedded item's
 *     effective_item_type_id, else item_type_id (x-koha-embed: item);
 *     patron_key = patron_id (the engine turns it into an HMAC or drops it);
 *     renewal = "no": a Koha checkout is the original issue, and its later
 *     renewals (renewals_count) are not separate issues with their own time
 *     here -- count renewals with a saved report over the statistics table.
 *   libraries -> service_points: name, address_1..3 (address1..3 and city,
 *     empty lines closed up, the rest joined into address_3), postcode,
 *     email, url and library_id. statutory and library_type are not in Koha:
 *     give them in "constants", or map library_type to "library_id" with a
 *     value map.
 *   items -> stock: counted here, per home library (else holding library)
 *     and item type, withdrawn and lost items left out, dated the run's day
 *     (UTC); the counts live in a hash of at most SS_KOHA_MAX_STOCK_KEYS.
 *   patron_categories, item_types: no core dataset holds them; refused at
 *     init (name item types with value_maps.item_type).
 * Paging of checkouts: by keyset. Every page is _page=1 of the filter ANDed
 * with "after the last row of the page before" in the paging order
 * ({"-or":[{FIELD:{">":V}},{FIELD:V,"checkout_id":{">":ID}}]}): paged by
 * offset, a checkout returned meanwhile (it leaves /checkouts) moves every
 * later row up one place and the row at the page boundary is skipped for
 * good. A full sweep first fetches the checkouts with no FIELD value
 * ({FIELD: null}, keyset on checkout_id; an incremental filter leaves them
 * out, as before). Paging of the snapshots (libraries, items): _page/_per_page;
 * Link rel="next" is followed when present (one Link header per relation
 * or one comma-joined header) but only to the configured origin, so a
 * token never goes to another host; else the next page number. The requested _per_page is never
 * trusted (a proxy or a server may cap it): the sweep ends on an empty page, on a Link header
 * without rel="next", or on a page shorter than the largest page the
 * server returned in this sweep. X-Total-Count is only a cross-check (a
 * total read while rows change is stale): when the rows received differ
 * from it, a warning names both numbers. /libraries, read for the names,
 * is paged the same way.
 * Auth: OAuth2 client credentials (a token refreshed before expires_in runs
 * out, and once on a 401, the request then repeated) or Basic. The kind
 * authenticates itself: http.auth is not used for the REST API.
 * Incremental (checkouts only): q={"FIELD":{">=":CURSOR}} ANDed with
 * koha.query, FIELD = koha.since_field, else checkout_date (current) or
 * checkin_date (history), sorted by FIELD then checkout_id. ">=" and not ">"
 * because Koha's times have whole seconds: a loan made in the same second as
 * the last one seen, but after the page was read, would otherwise be lost.
 * The cursor keeps the ids seen at that last value, which are skipped, so a
 * run hands over only new loans. Cursor text: "koha1 FIELD\nVALUE\n,ID,ID,".
 * Because the pages come in FIELD order, the same text written after any
 * page is where to resume: after each page handed over whole the kind calls
 * sink->checkpoint with it, so a run that fails half-way is resumed by the
 * next one. libraries and items are snapshots, never checkpointed.
 *
 * Every page body is held whole (parsed with jansson) up to
 * SS_KOHA_MAX_PAGE_BYTES; records of a page are handed over only once the
 * page is read whole, so a failed page gives nothing twice. A body cut
 * short (fewer bytes than Content-Length, a reset after the status line)
 * is reported as cut short.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ss_err.h"
#include "ss_http.h"
#include "ss_koha.h"
#include "ss_log.h"
#include "ss_secret.h"
#include "ss_source.h"
#include "ss_state.h"
#include "ss_text.h"
#include "ss_time.h"

#define SS_KOHA_MAX_LIBRARIES 100000
#define SS_KOHA_MAX_STOCK_KEYS 100000
#define SS_KOHA_MAX_PAGES 10000000L
#define SS_KOHA_MAX_VALUE 256 /* a since-field value, a library id */
/* The ids at the cursor's value: what fits in a cursor beside the rest. */
#define SS_KOHA_MAX_CURSOR_IDS (SS_CURSOR_MAX - 2 * SS_KOHA_MAX_VALUE - 64)

enum koha_resource { RES_LIBRARIES, RES_CHECKOUTS, RES_HISTORY, RES_ITEMS };

static const struct {
    const char *name;
    enum koha_resource res;
    const char *dataset;
    const char *path;
} resources[] = {
    {"libraries", RES_LIBRARIES, "service_points", "libraries"},
    {"checkouts", RES_CHECKOUTS, "loan_transactions", "checkouts"},
    {"checkouts_history", RES_HISTORY, "loan_transactions", "checkouts"},
    {"items", RES_ITEMS, "stock", "items"},
};

static int check(struct ss_config_ctx *ctx, const struct ss_collector_config *cfg, const void *opts)
{
    const struct ss_koha_options *o = opts;
    if (!o->resource)
        return ss_config_fail(ctx, 1, "koha.resource",
                              "required key missing (\"kind\" is \"koha\")");
    return 0;
}

static const struct ss_config_kind config = {"koha", &ss_koha_section, 0, check};

struct cursor {
    char field[SS_KOHA_MAX_VALUE];
    char value[SS_KOHA_MAX_VALUE]; /* "" on the first run */
    char *ids;                     /* ",id,id," of records at value (to skip) */
    /* the next cursor */
    char max[SS_KOHA_MAX_VALUE];
    struct ss_buf max_ids; /* ",id,id," */
    int max_ids_full;
    unsigned long skipped, handed;
    /* the last row of the page just read, for keyset paging */
    char last_value[SS_KOHA_MAX_VALUE];
    json_int_t last_id;
    int have_last; /* its since value and a numeric id are known */
    int last_null; /* ...it is a row without a since value */
};

/* How a list is paged: by page number (snapshots), or by keyset -- after
 * the last row of the previous page -- on (since field, checkout_id) or on
 * checkout_id alone (the checkouts without a since value). */
enum paging { PAGE_NUMBERS, KEYSET_SINCE, KEYSET_ID };

struct koha {
    struct ss_koha k; /* the client: base, auth, the body, the sink */
    enum koha_resource res;
    const char *path; /* under /api/v1 */
    json_t *user_query;
    const char *since_field;
    int library_names; /* service_point from /libraries, not the code */
    json_t *libraries; /* library_id -> name */

    /* one run */
    struct ss_buf url;
    struct ss_buf ckpt; /* a checkpoint's cursor text */
    char *scratch_q;    /* koha.query as compact text */
    struct cursor *cur; /* checkouts */
    json_t *ks_base;    /* checkouts: the filter every keyset page is ANDed with */
    json_t *stock;      /* items: "library\x1ftype" -> count */
    unsigned long uncounted;
};

/* ---- small helpers ---- */

static char *base64(const char *s)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), o = 0;
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)s[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

/* A scalar as a malloc'd string, or NULL when absent or not a scalar. */
static char *scalar_dup(json_t *v)
{
    struct ss_buf b;
    char *s = NULL;
    ss_buf_init(&b, 64 * 1024);
    if (ss_koha_scalar_text(v, &b) == 0)
        s = strdup(b.data ? b.data : "");
    ss_buf_free(&b);
    return s;
}

/* A Koha date-time as the q= filter compares it: "YYYY-MM-DD HH:MM:SS" in
 * the server's zone (the offset Koha prints is its own zone's). */
static void since_value(const char *s, char *out, size_t outlen)
{
    size_t n = strlen(s);
    if (n >= 19 && s[10] == 'T' && s[13] == ':' && s[16] == ':')
        snprintf(out, outlen, "%.10s %.8s", s, s + 11);
    else
        snprintf(out, outlen, "%s", s);
}

/* ---- HTTP ---- */

/* ---- paging ---- */

typedef int (*item_fn)(struct koha *s, json_t *item, char *err, size_t errlen);

/* The URL of page `page` into s->url. */
static int page_url(struct koha *s, const char *path, const char *extra, const char *q,
                    const char *order, long page)
{
    ss_buf_reset(&s->url);
    if (ss_buf_printf(&s->url, "%s/api/v1/%s?_page=%ld&_per_page=%ld", s->k.base, path, page,
                      ss_koha_options(s->k.cfg)->per_page) < 0 ||
        (order && ss_buf_printf(&s->url, "&_order_by=%s", order) < 0) ||
        (extra && ss_buf_printf(&s->url, "&%s", extra) < 0))
        return SS_EINVAL;
    if (q && (ss_buf_adds(&s->url, "&q=") < 0 || ss_url_encode(&s->url, q) < 0))
        return SS_EINVAL;
    return 0;
}

static void write_cursor(const struct cursor *c, struct ss_buf *next);

/* Every record of the pages so far is handed over: the cursor written now
 * is where the next run resumes (the pages come in since-field order). */
static int koha_checkpoint(struct koha *s)
{
    write_cursor(s->cur, &s->ckpt);
    if (!s->ckpt.len)
        return 0; /* no since-field value seen yet: nothing to resume from */
    return s->k.sink->checkpoint(s->k.sink->ud, s->ckpt.data, s->ckpt.len) != 0;
}

/* The q of the page after the last row read: the filter ANDed with "after
 * that row" in the paging order. Written to s->url as page 1; -1 when the
 * last row cannot say where to go on (no numeric id, no since value). */
static int keyset_url(struct koha *s, const char *path, const char *extra, const char *order,
                      enum paging paging)
{
    const struct cursor *c = s->cur;
    json_t *after = NULL, *q;
    if (paging == KEYSET_SINCE && c->have_last)
        after = json_pack("{s:[{s:{s:s}},{s:s,s:{s:I}}]}", "-or", c->field, ">", c->last_value,
                          c->field, c->last_value, "checkout_id", ">", c->last_id);
    else if (paging == KEYSET_ID && c->last_null)
        after = json_pack("{s:{s:I}}", "checkout_id", ">", c->last_id);
    if (!after)
        return SS_EINVAL;
    q = s->ks_base ? json_pack("{s:[O,o]}", "-and", s->ks_base, after) : after;
    char *text = q ? json_dumps(q, JSON_COMPACT) : NULL;
    json_decref(q);
    int rc = text ? page_url(s, path, extra, text, order, 1) : SS_ENOMEM;
    free(text);
    return rc;
}

/* Fetches every page of a list and calls fn for each element, until Koha
 * has no more: an empty page, a Link header without rel="next", or a page
 * shorter than the largest one it returned (never koha.per_page: a server
 * or a proxy may cap the page size). checkpoint: the loans, whose cursor
 * after each page is a resume point. Longer than most functions here on
 * purpose: the loop is the paging contract (page numbers or keyset, the
 * origin rule for Link, the end rules, the checkpoint after each whole
 * page), and reads best in one piece. */
static int page_through(struct koha *s, const char *path, const char *extra, const char *q,
                        const char *order, const char *embed, item_fn fn, enum paging paging,
                        int checkpoint, char *err, size_t errlen)
{
    long page = 1, status, pages = 0;
    long long seen = 0, total = -1;
    size_t largest = 0;
    int warned_origin = 0;
    char *current = NULL;
    int r = SS_SOURCE_FAILED;

    if (page_url(s, path, extra, q, order, page) < 0) {
        snprintf(err, errlen, "koha.query: the request URL is too long");
        return SS_SOURCE_FAILED;
    }
    for (;;) {
        if (*s->k.env->stop) {
            r = SS_SOURCE_STOPPED;
            break;
        }
        free(current);
        current = strdup(s->url.data);
        if (!current) {
            snprintf(err, errlen, "out of memory");
            break;
        }
        r = ss_koha_fetch(&s->k, current, embed, &status, err, errlen);
        if (r != SS_SOURCE_OK)
            break;
        pages++;
        json_error_t jerr;
        json_t *doc = json_loadb(s->k.body.data ? s->k.body.data : "", s->k.body.len, 0, &jerr);
        if (!json_is_array(doc)) {
            ss_koha_not_an_array(&s->k, current, doc, &jerr, err, errlen);
            json_decref(doc);
            r = SS_SOURCE_FAILED;
            break;
        }
        size_t n = json_array_size(doc);
        ss_debug("koha: %s: %zu records%s%lld", current, n, s->k.have_total ? " of " : "",
                 s->k.have_total ? s->k.total : 0LL);
        for (size_t i = 0; i < n && !s->k.sink_stop; i++) {
            if (fn(s, json_array_get(doc, i), err, errlen) < 0) {
                r = SS_SOURCE_FAILED;
                break;
            }
        }
        json_decref(doc);
        if (r != SS_SOURCE_OK)
            break;
        if (s->k.sink_stop) {
            r = SS_SOURCE_STOPPED;
            break;
        }
        seen += (long long)n;
        /* The latest total (rows come and go meanwhile); with keyset paging
         * each page's total counts only the rows after it: the first one's. */
        if (s->k.have_total && (paging == PAGE_NUMBERS || pages == 1))
            total = s->k.total;
        if (checkpoint && n > 0 && koha_checkpoint(s) != 0) {
            r = SS_SOURCE_STOPPED;
            break;
        }
        int end = n == 0 || (s->k.have_link && !s->k.next[0]) || n < largest;
        if (n > largest)
            largest = n;
        if (end)
            break;
        if (++page > SS_KOHA_MAX_PAGES) {
            snprintf(err, errlen, "%s: more than %ld pages: stopping", current, SS_KOHA_MAX_PAGES);
            r = SS_SOURCE_FAILED;
            break;
        }
        if (paging != PAGE_NUMBERS) {
            /* The next page starts after the last row read, not at an
             * offset: a checkout returned meanwhile (it leaves the list)
             * would move every later row up one place, and the row at the
             * page boundary would be skipped for good. */
            if (keyset_url(s, path, extra, order, paging) < 0) {
                snprintf(err, errlen,
                         "%s: the last checkout of the page has no numeric checkout_id or no "
                         "\"%s\": cannot tell where the next page starts",
                         current, s->cur->field);
                r = SS_SOURCE_FAILED;
                break;
            }
            continue;
        }
        if (s->k.next[0] && ss_koha_same_origin(&s->k, s->k.next) &&
            strcmp(s->k.next, current) != 0) {
            ss_buf_reset(&s->url);
            if (ss_buf_adds(&s->url, s->k.next) < 0) {
                snprintf(err, errlen, "%s: the next page's URL is too long", current);
                r = SS_SOURCE_FAILED;
                break;
            }
            continue;
        }
        if (s->k.next[0] && !warned_origin) {
            ss_notice("koha: the Link header points to %.200s, not to %s: counting pages "
                      "instead of following it (a proxy that rewrites URLs?)",
                      s->k.next, s->k.origin);
            warned_origin = 1;
        }
        if (page_url(s, path, extra, q, order, page) < 0) {
            snprintf(err, errlen, "koha.query: the request URL is too long");
            r = SS_SOURCE_FAILED;
            break;
        }
    }
    free(current);
    if (r != SS_SOURCE_OK)
        return r;
    if (largest > 0 && largest < (size_t)ss_koha_options(s->k.cfg)->per_page && pages > 2)
        ss_notice("koha: /api/v1/%s answered at most %zu rows a page although koha.per_page is "
                  "%ld: the server caps the page size (paging went on until it had no more)",
                  path, largest, ss_koha_options(s->k.cfg)->per_page);
    if (total >= 0 && seen != total)
        ss_warn("koha: /api/v1/%s: %lld rows received, but X-Total-Count said %lld (a total "
                "read while rows change is stale; every page was read until Koha had no more)",
                path, seen, total);
    return SS_SOURCE_OK;
}

/* ---- records ---- */

/* A record the kind cannot read: quarantined with the reason (no record
 * content in it) and the values it could be split into, in column order
 * (the engine keeps only the mapped ones), or none. */

/* The service point of a library id: its name, or the id itself. */
static const char *library_point(const struct koha *s, const char *id)
{
    if (s->libraries) {
        json_t *name = json_object_get(s->libraries, id);
        if (json_is_string(name) && json_string_length(name) > 0)
            return json_string_value(name);
    }
    return id;
}

static int library_name_item(struct koha *s, json_t *item, char *err, size_t errlen)
{
    json_t *id = json_object_get(item, "library_id"), *name = json_object_get(item, "name");
    if (!json_is_string(id) || !json_is_string(name))
        return 0;
    if (json_object_size(s->libraries) >= SS_KOHA_MAX_LIBRARIES) {
        snprintf(err, errlen, "/api/v1/libraries: more than %d libraries", SS_KOHA_MAX_LIBRARIES);
        return SS_EINVAL;
    }
    return json_object_set(s->libraries, json_string_value(id), name) < 0 ? -1 : 0;
}

static int load_library_names(struct koha *s, char *err, size_t errlen)
{
    json_decref(s->libraries);
    s->libraries = json_object();
    if (!s->libraries) {
        snprintf(err, errlen, "out of memory");
        return SS_SOURCE_FAILED;
    }
    const struct ss_record_sink *sink = s->k.sink;
    s->k.sink = NULL; /* no records from this */
    int r = page_through(s, "libraries", NULL, NULL, "%2Blibrary_id", NULL, library_name_item,
                         PAGE_NUMBERS, 0, err, errlen);
    s->k.sink = sink;
    if (r == SS_SOURCE_FAILED) {
        size_t l = strlen(err);
        snprintf(err + l, errlen - l,
                 " (the library names for service_point come from /libraries; without access "
                 "to it, map the codes with value_maps.service_point)");
    }
    return r;
}

/* -- checkouts -- */

static const char *const loan_columns[] = {"transaction_id", "service_point", "issued_at",
                                           "item_type",      "patron_key",    "renewal"};
#define NLOAN (sizeof(loan_columns) / sizeof(loan_columns[0]))

static int id_in(const char *list, const char *id)
{
    size_t n = strlen(id);
    for (const char *p = list ? strstr(list, id) : NULL; p; p = strstr(p + 1, id))
        if (p > list && p[-1] == ',' && p[n] == ',')
            return 1;
    return 0;
}

static int loan_item(struct koha *s, json_t *item, char *err, size_t errlen)
{
    struct cursor *c = s->cur;
    char id[64] = "", since[SS_KOHA_MAX_VALUE] = "";
    char *point = NULL, *issued = NULL, *itype = NULL, *patron = NULL;
    (void)err, (void)errlen;

    if (!json_is_object(item)) {
        c->handed++;
        return ss_koha_reject(&s->k, "not a JSON object", NULL, NULL, 0);
    }
    json_t *jid = json_object_get(item, "checkout_id");
    int have_id = json_is_integer(jid) || (json_is_string(jid) && json_string_length(jid) > 0 &&
                                           json_string_length(jid) < sizeof(id));
    if (json_is_integer(jid))
        snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT, json_integer_value(jid));
    else if (have_id)
        snprintf(id, sizeof(id), "%s", json_string_value(jid));

    /* The keyset: where the next page starts. */
    json_t *jsince = json_object_get(item, c->field);
    c->have_last = json_is_integer(jid) && json_is_string(jsince);
    c->last_null = json_is_integer(jid) && (!jsince || json_is_null(jsince));
    if (json_is_integer(jid)) {
        c->last_id = json_integer_value(jid);
        if (json_is_string(jsince))
            since_value(json_string_value(jsince), c->last_value, sizeof(c->last_value));
    }
    /* The cursor: the greatest since-field value and the ids that have it. */
    if (have_id && json_is_string(jsince)) {
        since_value(json_string_value(jsince), since, sizeof(since));
        if (c->value[0] && strcmp(since, c->value) == 0 && id_in(c->ids, id)) {
            c->skipped++;
            return 0; /* handed over by the last run */
        }
        int cmp = strcmp(since, c->max);
        if (cmp > 0) {
            snprintf(c->max, sizeof(c->max), "%s", since);
            ss_buf_reset(&c->max_ids);
            c->max_ids_full = 0;
        }
        if (cmp >= 0 && !c->max_ids_full &&
            ((c->max_ids.len == 0 && ss_buf_addc(&c->max_ids, ',') < 0) ||
             ss_buf_printf(&c->max_ids, "%s,", id) < 0))
            c->max_ids_full = 1; /* more than fit: the next run sees them again */
    }

    point = scalar_dup(json_object_get(item, "library_id"));
    issued = scalar_dup(json_object_get(item, "checkout_date"));
    json_t *it = json_object_get(item, "item");
    json_t *jt = json_object_get(it, "effective_item_type_id");
    if (!json_is_string(jt) || json_string_length(jt) == 0)
        jt = json_object_get(it, "item_type_id");
    itype = scalar_dup(jt);
    patron = scalar_dup(json_object_get(item, "patron_id"));
    const char *sp = point ? (s->library_names ? library_point(s, point) : point) : "";
    const char *vals[NLOAN] = {
        id, sp, issued ? issued : "", itype ? itype : "", patron ? patron : "", "no"};
    size_t lens[NLOAN];
    for (size_t i = 0; i < NLOAN; i++)
        lens[i] = strlen(vals[i]);
    if (have_id)
        ss_koha_hand_over(&s->k, vals, lens, NLOAN);
    else
        ss_koha_reject(&s->k, "the checkout has no usable \"checkout_id\"", vals, lens, NLOAN);
    c->handed++;
    if (patron)
        memset(patron, 0, strlen(patron));
    free(point);
    free(issued);
    free(itype);
    free(patron);
    return 0;
}

/* "koha1 FIELD\nVALUE\n,ID,ID," */
static void parse_cursor(struct cursor *c, const char *text)
{
    const char *p;
    size_t n;
    c->value[0] = '\0';
    if (!text || strncmp(text, "koha1 ", 6) != 0)
        return;
    text += 6;
    p = strchr(text, '\n');
    n = p ? (size_t)(p - text) : 0;
    if (!p || n != strlen(c->field) || strncmp(text, c->field, n) != 0) {
        ss_notice("koha: the saved cursor is for another field: fetching everything");
        return;
    }
    text = p + 1;
    p = strchr(text, '\n');
    n = p ? (size_t)(p - text) : strlen(text);
    if (n == 0 || n >= sizeof(c->value))
        return;
    snprintf(c->value, sizeof(c->value), "%.*s", (int)n, text);
    c->ids = strdup(p ? p + 1 : "");
}

/* The next cursor: the greatest value seen and the ids at it (with the
 * last run's when the value has not moved); reset first, left empty when
 * there is no value. Ids past what fits in the engine's cursor
 * (SS_CURSOR_MAX) are left out: the next run hands those loans over again,
 * which the warehouse's upsert on transaction_id absorbs. */
static void write_cursor(const struct cursor *c, struct ss_buf *next)
{
    const char *value = c->max[0] ? c->max : c->value;
    struct ss_buf ids;
    int ok = 1;
    ss_buf_reset(next);
    if (!value[0])
        return;
    ss_buf_init(&ids, SS_KOHA_MAX_CURSOR_IDS);
    if (strcmp(value, c->value) == 0 && c->ids && c->ids[0])
        ok = ss_buf_adds(&ids, c->ids) == 0;
    if (ok && c->max[0] && !c->max_ids_full && c->max_ids.len)
        ok = ss_buf_adds(&ids, ids.len ? c->max_ids.data + 1 : c->max_ids.data) == 0;
    ss_buf_reset(next);
    ss_buf_printf(next, "koha1 %s\n%s\n%s", c->field, value,
                  ok && !c->max_ids_full && ids.data ? ids.data : "");
    ss_buf_free(&ids);
}

static int run_loans(struct koha *s, const char *cursor, struct ss_buf *next_cursor, char *err,
                     size_t errlen)
{
    struct cursor c;
    int r;
    json_t *q = NULL, *since = NULL;
    char *qtext = NULL;
    char order[SS_KOHA_MAX_VALUE + 32];
    size_t lens[NLOAN];

    memset(&c, 0, sizeof(c));
    snprintf(c.field, sizeof(c.field), "%s", s->since_field);
    ss_buf_init(&c.max_ids, SS_KOHA_MAX_CURSOR_IDS);
    parse_cursor(&c, cursor);
    s->cur = &c;

    for (size_t i = 0; i < NLOAN; i++)
        lens[i] = strlen(loan_columns[i]);
    if (s->k.sink->columns(s->k.sink->ud, loan_columns, lens, NLOAN) != 0) {
        r = SS_SOURCE_STOPPED;
        goto out;
    }
    if (s->library_names && (r = load_library_names(s, err, errlen)) != SS_SOURCE_OK)
        goto out;

    if (c.value[0])
        since = json_pack("{s:{s:s}}", c.field, ">=", c.value);
    if (since && s->user_query)
        q = json_pack("{s:[O,O]}", "-and", s->user_query, since);
    else if (since)
        q = json_incref(since);
    else if (s->user_query)
        q = json_incref(s->user_query);
    if (q)
        qtext = json_dumps(q, JSON_COMPACT);
    if ((c.value[0] || s->user_query) && !qtext) {
        snprintf(err, errlen, "out of memory");
        r = SS_SOURCE_FAILED;
        goto out;
    }
    const char *extra = s->res == RES_HISTORY ? "checked_in=1" : NULL;
    s->ks_base = q;
    if (!c.value[0]) {
        /* A full sweep: first the checkouts with no since value (none has a
         * place in the since order; an incremental run's filter leaves them
         * out), by keyset on checkout_id and without checkpoints, so that a
         * run that stops here starts again from scratch. */
        json_t *none = json_pack("{s:n}", c.field);
        json_t *nq =
            none && s->user_query ? json_pack("{s:[O,o]}", "-and", s->user_query, none) : none;
        char *ntext = nq ? json_dumps(nq, JSON_COMPACT) : NULL;
        json_t *saved = s->ks_base;
        s->ks_base = nq;
        r = ntext ? page_through(s, "checkouts", extra, ntext, "%2Bcheckout_id", "item", loan_item,
                                 KEYSET_ID, 0, err, errlen)
                  : SS_SOURCE_FAILED;
        if (!ntext)
            snprintf(err, errlen, "out of memory");
        s->ks_base = saved;
        free(ntext);
        json_decref(nq);
        if (r != SS_SOURCE_OK)
            goto out;
    }
    snprintf(order, sizeof(order), "%%2B%s,%%2Bcheckout_id", c.field);
    r = page_through(s, "checkouts", extra, qtext, order, "item", loan_item, KEYSET_SINCE, 1, err,
                     errlen);
    if (r != SS_SOURCE_OK)
        goto out;
    if (c.value[0])
        ss_info("koha: %lu new checkouts since %s %s (%lu sent before, skipped)", c.handed, c.field,
                c.value, c.skipped);
    else
        ss_info("koha: %lu checkouts", c.handed);
    write_cursor(&c, next_cursor);
    if (c.value[0] && c.handed == 0)
        r = SS_SOURCE_UNCHANGED;
out:
    s->cur = NULL;
    s->ks_base = NULL;
    free(qtext);
    json_decref(q);
    json_decref(since);
    free(c.ids);
    ss_buf_free(&c.max_ids);
    return r;
}

/* -- libraries -- */

static const char *const library_columns[] = {"name",     "address_1", "address_2", "address_3",
                                              "postcode", "email",     "url",       "library_id"};
#define NLIB (sizeof(library_columns) / sizeof(library_columns[0]))

static int library_item(struct koha *s, json_t *item, char *err, size_t errlen)
{
    static const char *const keys[] = {"name", "postal_code", "email", "url", "library_id"};
    static const char *const lines[] = {"address1", "address2", "address3", "city"};
    char *v[5] = {NULL}, *line[4] = {NULL};
    const char *vals[NLIB];
    size_t lens[NLIB], nl = 0;
    struct ss_buf rest;
    (void)err, (void)errlen;

    if (!json_is_object(item))
        return ss_koha_reject(&s->k, "not a JSON object", NULL, NULL, 0);
    for (size_t i = 0; i < 5; i++)
        v[i] = scalar_dup(json_object_get(item, keys[i]));
    for (size_t i = 0; i < 4; i++) {
        char *l = scalar_dup(json_object_get(item, lines[i]));
        if (l && l[0])
            line[nl++] = l;
        else
            free(l);
    }
    /* Lines 1 and 2 as they are; the rest (line 3, the town) joined. */
    ss_buf_init(&rest, 4096);
    for (size_t i = 2; i < nl; i++)
        if ((i > 2 && ss_buf_adds(&rest, ", ") < 0) || ss_buf_adds(&rest, line[i]) < 0)
            break;
    vals[0] = v[0] ? v[0] : "";
    vals[1] = nl > 0 ? line[0] : "";
    vals[2] = nl > 1 ? line[1] : "";
    vals[3] = rest.data ? rest.data : "";
    vals[4] = v[1] ? v[1] : "";
    vals[5] = v[2] ? v[2] : "";
    vals[6] = v[3] ? v[3] : "";
    vals[7] = v[4] ? v[4] : "";
    for (size_t i = 0; i < NLIB; i++)
        lens[i] = strlen(vals[i]);
    ss_koha_hand_over(&s->k, vals, lens, NLIB);
    ss_buf_free(&rest);
    for (size_t i = 0; i < 5; i++)
        free(v[i]);
    for (size_t i = 0; i < nl; i++)
        free(line[i]);
    return 0;
}

static int run_libraries(struct koha *s, char *err, size_t errlen)
{
    size_t lens[NLIB];
    for (size_t i = 0; i < NLIB; i++)
        lens[i] = strlen(library_columns[i]);
    if (s->k.sink->columns(s->k.sink->ud, library_columns, lens, NLIB) != 0)
        return SS_SOURCE_STOPPED;
    return page_through(s, "libraries", NULL, s->user_query ? s->scratch_q : NULL, "%2Blibrary_id",
                        NULL, library_item, PAGE_NUMBERS, 0, err, errlen);
}

/* -- items -- */

static const char *const stock_columns[] = {"service_point", "item_type", "count_date", "items"};
#define NSTOCK (sizeof(stock_columns) / sizeof(stock_columns[0]))

static int nonzero(json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_string(v))
        return json_string_length(v) && strcmp(json_string_value(v), "0") != 0;
    return 0;
}

static int stock_item(struct koha *s, json_t *item, char *err, size_t errlen)
{
    char key[2 * SS_KOHA_MAX_VALUE + 2];
    if (!json_is_object(item))
        return ss_koha_reject(&s->k, "not a JSON object", NULL, NULL, 0);
    if (nonzero(json_object_get(item, "withdrawn")) ||
        nonzero(json_object_get(item, "lost_status")))
        return 0; /* not in stock */
    json_t *lib = json_object_get(item, "home_library_id");
    if (!json_is_string(lib) || !json_string_length(lib))
        lib = json_object_get(item, "holding_library_id");
    json_t *type = json_object_get(item, "effective_item_type_id");
    if (!json_is_string(type) || !json_string_length(type))
        type = json_object_get(item, "item_type_id");
    if (!json_is_string(lib) || !json_string_length(lib) || !json_is_string(type) ||
        !json_string_length(type) || json_string_length(lib) >= SS_KOHA_MAX_VALUE ||
        json_string_length(type) >= SS_KOHA_MAX_VALUE) {
        s->uncounted++;
        return 0;
    }
    snprintf(key, sizeof(key), "%s\x1f%s", json_string_value(lib), json_string_value(type));
    json_t *n = json_object_get(s->stock, key);
    if (n)
        return json_integer_set(n, json_integer_value(n) + 1) < 0 ? -1 : 0;
    if (json_object_size(s->stock) >= SS_KOHA_MAX_STOCK_KEYS) {
        snprintf(err, errlen,
                 "/api/v1/items: more than %d library and item type pairs: stopping (a stock "
                 "count this wide is not a summary)",
                 SS_KOHA_MAX_STOCK_KEYS);
        return SS_EINVAL;
    }
    if (json_object_set_new(s->stock, key, json_integer(1)) < 0) {
        snprintf(err, errlen, "out of memory");
        return SS_EINVAL;
    }
    return 0;
}

static int run_items(struct koha *s, char *err, size_t errlen)
{
    size_t lens[NSTOCK];
    int r;
    char today[16], count[32];
    const char *k;
    json_t *v;

    for (size_t i = 0; i < NSTOCK; i++)
        lens[i] = strlen(stock_columns[i]);
    if (s->k.sink->columns(s->k.sink->ud, stock_columns, lens, NSTOCK) != 0)
        return SS_SOURCE_STOPPED;
    if (s->library_names && (r = load_library_names(s, err, errlen)) != SS_SOURCE_OK)
        return r;
    json_decref(s->stock);
    s->stock = json_object();
    s->uncounted = 0;
    if (!s->stock) {
        snprintf(err, errlen, "out of memory");
        return SS_SOURCE_FAILED;
    }
    r = page_through(s, "items", NULL, s->user_query ? s->scratch_q : NULL, "%2Bitem_id", NULL,
                     stock_item, PAGE_NUMBERS, 0, err, errlen);
    if (r != SS_SOURCE_OK)
        return r;
    if (s->uncounted)
        ss_warn("koha: %lu items have no library or no item type: not counted", s->uncounted);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(today, sizeof(today), "%Y-%m-%d", &tm);
    json_object_foreach(s->stock, k, v)
    {
        const char *sep = strchr(k, '\x1f');
        char lib[SS_KOHA_MAX_VALUE];
        snprintf(lib, sizeof(lib), "%.*s", (int)(sep - k), k);
        snprintf(count, sizeof(count), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        const char *vals[NSTOCK] = {s->library_names ? library_point(s, lib) : lib, sep + 1, today,
                                    count};
        for (size_t i = 0; i < NSTOCK; i++)
            lens[i] = strlen(vals[i]);
        ss_koha_hand_over(&s->k, vals, lens, NSTOCK);
        if (s->k.sink_stop)
            return SS_SOURCE_STOPPED;
    }
    ss_info("koha: stock of %zu library and item type pairs on %s", json_object_size(s->stock),
            today);
    return SS_SOURCE_OK;
}

/* ---- koha_report ---- */

/* ---- the kind ---- */

/* koha.auth: the secret read, and OAuth2 mode or the Basic header. */
static int auth_init(struct koha *s, const struct ss_collector_config *cfg, char *err,
                     size_t errlen)
{
    const char *auth = ss_koha_options(cfg)->auth ? ss_koha_options(cfg)->auth : "oauth2";
    if (strcmp(auth, "oauth2") == 0) {
        if (!ss_koha_options(cfg)->client_id || !ss_koha_options(cfg)->client_secret_file) {
            snprintf(err, errlen,
                     "\"koha.auth\" oauth2 needs \"koha.client_id\" and "
                     "\"koha.client_secret_file\" (an API key made on the Koha patron the "
                     "collector acts as)");
            return SS_EINVAL;
        }
        s->k.oauth2 = 1;
        s->k.secret = ss_secret_read(ss_koha_options(cfg)->client_secret_file, err, errlen);
        if (!s->k.secret)
            return SS_EINVAL;
    } else if (strcmp(auth, "basic") == 0) {
        if (!ss_koha_options(cfg)->username || !ss_koha_options(cfg)->password_file) {
            snprintf(err, errlen,
                     "\"koha.auth\" basic needs \"koha.username\" and \"koha.password_file\"");
            return SS_EINVAL;
        }
        s->k.secret = ss_secret_read(ss_koha_options(cfg)->password_file, err, errlen);
        if (!s->k.secret)
            return SS_EINVAL;
        size_t ul = strlen(ss_koha_options(cfg)->username) + strlen(s->k.secret) + 2;
        char *pair = malloc(ul);
        char *b64 = NULL;
        if (pair) {
            snprintf(pair, ul, "%s:%s", ss_koha_options(cfg)->username, s->k.secret);
            b64 = base64(pair);
            ss_koha_wipe_free(pair);
        }
        if (b64) {
            size_t hl = strlen(b64) + 32;
            s->k.auth_header = malloc(hl);
            if (s->k.auth_header)
                snprintf(s->k.auth_header, hl, "Authorization: Basic %s", b64);
            ss_koha_wipe_free(b64);
        }
        if (!s->k.auth_header) {
            snprintf(err, errlen, "out of memory");
            return SS_EINVAL;
        }
    } else {
        snprintf(err, errlen, "\"koha.auth\": expected oauth2 or basic, got \"%s\"", auth);
        return SS_EINVAL;
    }
    return 0;
}

static int init_state(void **state, const struct ss_source_env *env, char *err, size_t errlen)
{
    const struct ss_collector_config *cfg = env->cfg;
    struct koha *s = calloc(1, sizeof(*s));
    size_t i;
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return SS_ENOMEM;
    }
    *state = s;
    if (ss_koha_init(&s->k, env, 0, err, errlen) < 0)
        return SS_EINVAL;
    ss_buf_init(&s->url, SS_KOHA_MAX_URL);
    ss_buf_init(&s->ckpt, SS_CURSOR_MAX);
    if (!ss_koha_options(cfg)->resource) {
        snprintf(err, errlen,
                 "\"koha.resource\" is required: one of libraries, checkouts, "
                 "checkouts_history, items");
        return SS_EINVAL;
    }
    if (strcmp(ss_koha_options(cfg)->resource, "patron_categories") == 0 ||
        strcmp(ss_koha_options(cfg)->resource, "item_types") == 0) {
        snprintf(err, errlen,
                 "\"koha.resource\": \"%s\": no core dataset holds %s; name them where they are "
                 "used with value_maps (e.g. value_maps.item_type), or count by them with a saved "
                 "report (kind koha_report)",
                 ss_koha_options(cfg)->resource,
                 ss_koha_options(cfg)->resource[0] == 'p' ? "patron categories" : "item types");
        return SS_EINVAL;
    }
    for (i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
        if (strcmp(ss_koha_options(cfg)->resource, resources[i].name) == 0)
            break;
    if (i == sizeof(resources) / sizeof(resources[0])) {
        snprintf(err, errlen,
                 "\"koha.resource\": expected one of libraries, checkouts, checkouts_history, "
                 "items; got \"%s\"",
                 ss_koha_options(cfg)->resource);
        return SS_EINVAL;
    }
    s->res = resources[i].res;
    s->path = resources[i].path;
    if (strcmp(cfg->dataset, resources[i].dataset) != 0) {
        snprintf(err, errlen, "\"koha.resource\": %s feeds the dataset \"%s\", not \"%s\"",
                 ss_koha_options(cfg)->resource, resources[i].dataset, cfg->dataset);
        return SS_EINVAL;
    }
    if (ss_koha_options(cfg)->since_field && s->res != RES_CHECKOUTS && s->res != RES_HISTORY) {
        snprintf(err, errlen,
                 "\"koha.since_field\": only checkouts and checkouts_history are fetched "
                 "incrementally (%s is a whole snapshot each run)",
                 ss_koha_options(cfg)->resource);
        return SS_EINVAL;
    }
    s->since_field = ss_koha_options(cfg)->since_field ? ss_koha_options(cfg)->since_field
                     : s->res == RES_HISTORY           ? "checkin_date"
                                                       : "checkout_date";
    for (const char *p = s->since_field; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.') ||
            strlen(s->since_field) >= SS_KOHA_MAX_VALUE) {
            snprintf(err, errlen, "\"koha.since_field\": \"%s\" is not a Koha field name",
                     s->since_field);
            return SS_EINVAL;
        }
    if (ss_koha_options(cfg)->query) {
        json_error_t jerr;
        s->user_query = json_loads(ss_koha_options(cfg)->query, 0, &jerr);
        if (!json_is_object(s->user_query)) {
            snprintf(err, errlen,
                     "\"koha.query\": expected a JSON object (a Koha q= filter such as "
                     "{\"library_id\": \"CPL\"})%s%s",
                     s->user_query ? "" : ": ", s->user_query ? "" : jerr.text);
            return SS_EINVAL;
        }
        s->scratch_q = json_dumps(s->user_query, JSON_COMPACT);
        if (!s->scratch_q) {
            snprintf(err, errlen, "out of memory");
            return SS_EINVAL;
        }
    }
    s->library_names = s->res != RES_LIBRARIES;
    for (i = 0; i < cfg->nvalue_maps; i++)
        if (strcmp(cfg->value_maps[i].field, "service_point") == 0)
            s->library_names = 0; /* the codes go to the configured map */

    return auth_init(s, cfg, err, errlen);
}

static void cb_exit(void *state);

/* A failed set-up frees what it had made: the engine calls cb_exit only
 * after a cb_init that succeeded. */
static int cb_init(void **state, const struct ss_source_env *env, char *err, size_t errlen)
{
    int rc = init_state(state, env, err, errlen);
    if (rc < 0 && *state) {
        cb_exit(*state);
        *state = NULL;
    }
    return rc;
}

static void cb_exit(void *state)
{
    struct koha *s = state;
    if (!s)
        return;
    ss_koha_free(&s->k);
    json_decref(s->user_query);
    free(s->scratch_q);
    json_decref(s->libraries);
    json_decref(s->stock);
    ss_buf_free(&s->url);
    ss_buf_free(&s->ckpt);
    free(s);
}

static int cb_run(void *state, const char *cursor, struct ss_buf *next_cursor,
                  const struct ss_record_sink *sink, char *err, size_t errlen)
{
    struct koha *s = state;
    s->k.sink = sink;
    s->k.bytes = 0;
    s->k.where = 0;
    s->k.sink_stop = 0;
    ss_buf_reset(next_cursor);
    switch (s->res) {
    case RES_CHECKOUTS:
    case RES_HISTORY:
        return run_loans(s, cursor, next_cursor, err, errlen);
    case RES_LIBRARIES:
        return run_libraries(s, err, errlen);
    case RES_ITEMS:
        return run_items(s, err, errlen);
    }
    return SS_SOURCE_FAILED;
}

const struct ss_source_kind ss_source_koha = {"koha", &config, cb_init, cb_run, cb_exit};
