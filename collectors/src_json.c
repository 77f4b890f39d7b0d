/* src_json: the "json" source kind -- a JSON export over HTTP(S) or file://.
 *
 * The body streams through ss_jsonsplit as it arrives: the array of records
 * is the document itself, the array at "json.path" ("data.items"), or one
 * record a line ("json.ndjson"). Each element is parsed on its own with
 * jansson (duplicate keys refused), so memory stays bounded by one record
 * (limits.max_record_bytes). Record numbers ("where", the quarantine's line)
 * are element indexes from 1 in document order.
 *
 * Columns. The engine's mapper wants column names before the first record,
 * and JSON records carry their own. The column list is:
 *   1. the values of "mapping" (source paths: a top-level key, or dotted for
 *      a nested member, "library.name"; a key that itself holds a dot is
 *      tried whole first), in config order; then
 *   2. every top-level key of the first object record that names a dataset
 *      field -- its wire name or one of its published headers, compared as
 *      the mapper compares (case-insensitively) -- so an export whose keys
 *      are already the field names needs no mapping.
 * Keys that name no field are not columns: they are never read, so an
 * unrelated nested member ("_links": {...}) costs nothing and rejects
 * nothing. A later record that lacks a column's key simply has no value
 * there. Keys are matched exactly when values are read (JSON is
 * case-sensitive).
 *
 * Values: a string as it is; a number as JSON text (an integer exactly; a
 * whole number written as a real, 12.0 or 1.2e1, as "12" -- JSON does not
 * tell them apart and JavaScript or pandas write counts either way; any
 * other number in the shortest form that reads back the same, 1.50 ->
 * "1.5"); true and false as
 * "true" and "false"; null, an absent key or a path through a non-object as
 * absent. An object or array where a value is wanted rejects the record, as
 * does an element that is not an object or not valid JSON (bad UTF-8, an
 * integer jansson cannot hold, "\u0000", a duplicate key): each is
 * quarantined with the reason. A syntax error in the array (or a body that
 * ends early) fails the run (exit 2); the records before it have been
 * handed over and are delivered.
 *
 * Privacy: a reject carries the record's values for the columns (the engine
 * keeps the mapped ones for the quarantine's raw text) whenever the record
 * can be read as an object at all: an object or array in one column leaves
 * that column out and keeps the others; a record jansson refuses is read
 * again leniently (bad UTF-8 bytes as '?', a huge integer as a real, the
 * last of duplicate keys, "\u0000" allowed) for its values. An element
 * that is no object, or no JSON, goes without values. A reason never
 * quotes the record: jansson's messages carry "near '...'" excerpts of the
 * input, so they are replaced by what went wrong and where (line, column
 * and byte of the record); ss_jsonsplit's say where, not what.
 *
 * Before anything is split, the body's first bytes are checked: an HTML
 * page where JSON was expected (a login or error page; ss_http_sniff_html)
 * fails the run with exit 2 and nothing read; so does, from its line on, a
 * NUL byte (the export is not text: ss_http_binary).
 *
 * An export that has not changed since the last run (ETag / Last-Modified,
 * http.conditional) costs one request and yields nothing. The cursor is
 * "ETAG\nLAST-MODIFIED", as for "csv".
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ss_dataset.h"
#include "ss_err.h"
#include "ss_http.h"
#include "ss_jsonsplit.h"
#include "ss_sniff.h"
#include "ss_source.h"

struct json_state {
    const struct ss_source_env *env;
    const struct ss_dataset *ds;
    const struct ss_record_sink *sink;
    struct ss_jsonsplit *split;
    int have_columns;
    int sink_stop;
    int split_failed;
    int failed; /* err_msg says why (HTML, not text) */
    char err_msg[1024];
    unsigned long long bytes;
    struct ss_sniff sniff; /* the HTML and text checks */
    /* The columns: the mapping's source keys, then the dataset's fields the
     * first record has -- at most cap (nmapping + the dataset's fields), so
     * the arrays are allocated once, in cb_init. */
    size_t cap;
    char **names; /* owned */
    size_t *nlens;
    const char **vals; /* the record being handed over */
    size_t *lens;
    size_t ncols;
    char (*num)[40]; /* numbers' text for the record being handed over */
};

/* ---- options: the "json" object ---- */

struct json_options {
    char *path; /* "json.path": dotted path to the array of records, e.g. "data.items"; absent:
                   the top level */
    int ndjson; /* "json.ndjson": bool, default false: one JSON object per line */
};

static const struct ss_config_option json_options[] = {
    {.key = "path",
     .type = SS_CFG_STRING,
     .off = offsetof(struct json_options, path),
     .help = "dotted path to the array of records"},
    {.key = "ndjson",
     .type = SS_CFG_BOOL,
     .off = offsetof(struct json_options, ndjson),
     .help = "one JSON object per line"},
    {0},
};

static const struct ss_config_section json_section = {"json", json_options,
                                                      sizeof(struct json_options), NULL};
static const struct ss_config_kind json_config = {"json", &json_section, 0, NULL};

static void free_columns(struct json_state *s)
{
    for (size_t i = 0; i < s->ncols; i++)
        free(s->names[i]);
    s->ncols = 0;
    s->have_columns = 0;
}

static void cb_exit(void *state);

static int cb_init(void **state, const struct ss_source_env *env, char *err, size_t errlen)
{
    const struct ss_collector_config *cfg = env->cfg;
    const struct json_options *o = cfg->options;
    struct json_state *s;

    if (o->ndjson && o->path && o->path[0]) {
        snprintf(err, errlen,
                 "\"json.path\" and \"json.ndjson\" do not go together: an NDJSON export has one "
                 "record a line, with no array to find");
        return SS_EINVAL;
    }
    if (o->path) {
        size_t n = strlen(o->path);
        if (n == 0 || o->path[0] == '.' || o->path[n - 1] == '.' || strstr(o->path, "..")) {
            snprintf(err, errlen,
                     "\"json.path\": \"%s\" has an empty part: give the keys from the top of the "
                     "document to the array, joined by dots (\"data.items\")",
                     o->path);
            return SS_EINVAL;
        }
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return SS_ENOMEM;
    }
    s->env = env;
    s->ds = ss_dataset_find(cfg->dataset);
    if (!s->ds) {
        snprintf(err, errlen, "\"dataset\": no dataset \"%s\"", cfg->dataset);
        free(s);
        return SS_EINVAL;
    }
    s->cap = cfg->nmapping + s->ds->nfields + 1;
    for (size_t i = 0; cfg->mapping_sums && i < cfg->nmapping; i++)
        s->cap += cfg->mapping_sums[i].ncolumns;
    s->names = calloc(s->cap, sizeof(*s->names));
    s->nlens = calloc(s->cap, sizeof(*s->nlens));
    s->vals = calloc(s->cap, sizeof(*s->vals));
    s->lens = calloc(s->cap, sizeof(*s->lens));
    s->num = calloc(s->cap, sizeof(*s->num));
    if (!s->names || !s->nlens || !s->vals || !s->lens || !s->num) {
        snprintf(err, errlen, "out of memory");
        cb_exit(s);
        return SS_ENOMEM;
    }
    *state = s;
    return 0;
}

static void cb_exit(void *state)
{
    struct json_state *s = state;
    if (!s)
        return;
    ss_jsonsplit_free(s->split);
    if (s->names)
        free_columns(s);
    free(s->names);
    free(s->nlens);
    free(s->vals);
    free(s->lens);
    free(s->num);
    free(s);
}

static int add_column(struct json_state *s, const char *name)
{
    for (size_t i = 0; i < s->ncols; i++)
        if (strcmp(s->names[i], name) == 0)
            return 0;
    if (s->ncols >= s->cap)
        return SS_EINVAL; /* cannot happen: cap counts every mapping value and dataset field */
    s->names[s->ncols] = strdup(name);
    if (!s->names[s->ncols])
        return SS_EINVAL;
    s->nlens[s->ncols] = strlen(name);
    s->ncols++;
    return 0;
}

static int names_field(const struct ss_dataset *ds, const char *key)
{
    for (size_t f = 0; f < ds->nfields; f++) {
        const struct ss_field *fd = &ds->fields[f];
        if (strcasecmp(key, fd->name) == 0)
            return 1;
        for (size_t k = 0; k < SS_FIELD_MAX_HEADERS && fd->headers[k]; k++)
            if (strcasecmp(key, fd->headers[k]) == 0)
                return 1;
    }
    return 0;
}

/* The column list, from the config and the first object record. */
static int declare_columns(struct json_state *s, json_t *first)
{
    const struct ss_collector_config *cfg = s->env->cfg;
    const char *key;
    json_t *v;

    free_columns(s);
    for (size_t i = 0; i < cfg->nmapping; i++) {
        const struct ss_config_sum *sum = cfg->mapping_sums ? &cfg->mapping_sums[i] : NULL;
        if (cfg->mapping[i].value && add_column(s, cfg->mapping[i].value) < 0)
            return SS_EINVAL;
        for (size_t j = 0; sum && j < sum->ncolumns; j++) /* {"sum": [...]}: each of its paths */
            if (add_column(s, sum->columns[j]) < 0)
                return SS_EINVAL;
    }
    json_object_foreach(first, key, v)
    {
        (void)v;
        if (names_field(s->ds, key) && add_column(s, key) < 0)
            return SS_EINVAL;
    }
    s->have_columns = 1;
    return 0;
}

/* The member at path: the key whole, else the dotted path through objects. */
static json_t *lookup(json_t *obj, const char *path)
{
    json_t *v = json_object_get(obj, path);
    if (v || !strchr(path, '.'))
        return v;
    char part[512];
    for (const char *p = path;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof(part) || !json_is_object(obj))
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        obj = json_object_get(obj, part);
        if (!dot || !obj)
            return obj;
        p = dot + 1;
    }
}

/* A real as text: a whole number (within 2^53, where doubles are exact) as
 * an integer, since JSON does not tell 10.0 from 10 and JavaScript or
 * pandas write counts either way; anything else in the shortest form that
 * reads back the same. */
static void real_text(double d, char *buf, size_t n)
{
    if (d == (double)(long long)d && d > -9007199254740992.0 && d < 9007199254740992.0) {
        snprintf(buf, n, "%lld", (long long)d);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "true or false";
    default:
        return "null";
    }
}

/* What jansson found wrong, in words that quote nothing of the record
 * (its own messages end in "near '<the input>'"). */
static const char *jansson_why(const json_error_t *e)
{
    switch (json_error_code(e)) {
    case json_error_invalid_utf8:
        return "text that is not UTF-8";
    case json_error_numeric_overflow:
        return "a number too large to hold";
    case json_error_null_character:
        return "\"\\u0000\" in a string";
    case json_error_null_byte_in_key:
        return "\"\\u0000\" in a key";
    case json_error_duplicate_key:
        return "a key that appears twice";
    case json_error_stack_overflow:
        return "nesting too deep";
    case json_error_out_of_memory:
        return "out of memory";
    case json_error_premature_end_of_input:
        return "the record ends early";
    case json_error_end_of_input_expected:
        return "more after the end of the record";
    default:
        return strncmp(e->text, "invalid Unicode", 15) == 0
                   ? "a \\u escape that is no character (an unpaired surrogate?)"
                   : "a syntax error";
    }
}

/* Each byte that does not begin or continue a valid UTF-8 sequence becomes
 * '?' (same length, in place). */
static void utf8_repair(unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        size_t k = c < 0x80                 ? 0
                   : c >= 0xC2 && c <= 0xDF ? 1
                   : c >= 0xE0 && c <= 0xEF ? 2
                   : c >= 0xF0 && c <= 0xF4 ? 3
                                            : 4;
        int ok = k < 4 && i + k < n;
        for (size_t j = 1; ok && j <= k; j++)
            ok = (p[i + j] & 0xC0) == 0x80;
        if (ok && k == 2)
            ok = !(c == 0xE0 && p[i + 1] < 0xA0) && !(c == 0xED && p[i + 1] >= 0xA0);
        if (ok && k == 3)
            ok = !(c == 0xF0 && p[i + 1] < 0x90) && !(c == 0xF4 && p[i + 1] >= 0x90);
        if (!ok) {
            p[i++] = '?';
            continue;
        }
        i += k + 1;
    }
}

/* A record jansson refused, read leniently for its values only; NULL when
 * even that fails. */
static json_t *lenient_load(const struct ss_jsonsplit_elem *e, const json_error_t *strict)
{
    const size_t flags = JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL;
    if (json_error_code(strict) != json_error_invalid_utf8)
        return json_loadb(e->text, e->len, flags, NULL);
    unsigned char *copy = malloc(e->len ? e->len : 1);
    if (!copy)
        return NULL;
    memcpy(copy, e->text, e->len);
    utf8_repair(copy, e->len);
    json_t *j = json_loadb((const char *)copy, e->len, flags, NULL);
    free(copy);
    return j;
}

/* The columns' values in rec (valid while rec lives). Returns the first
 * column whose value is an object or array (left absent), or -1. */
static long read_values(struct json_state *s, json_t *rec, const char **vals, size_t *lens)
{
    long bad = -1;
    for (size_t i = 0; i < s->ncols; i++) {
        json_t *v = lookup(rec, s->names[i]);
        vals[i] = NULL;
        lens[i] = 0;
        switch (v ? json_typeof(v) : JSON_NULL) {
        case JSON_STRING:
            vals[i] = json_string_value(v);
            lens[i] = json_string_length(v);
            break;
        case JSON_INTEGER:
            snprintf(s->num[i], sizeof(s->num[i]), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            vals[i] = s->num[i];
            lens[i] = strlen(s->num[i]);
            break;
        case JSON_REAL:
            real_text(json_real_value(v), s->num[i], sizeof(s->num[i]));
            vals[i] = s->num[i];
            lens[i] = strlen(s->num[i]);
            break;
        case JSON_TRUE:
        case JSON_FALSE:
            vals[i] = json_is_true(v) ? "true" : "false";
            lens[i] = strlen(vals[i]);
            break;
        case JSON_NULL:
            break;
        case JSON_OBJECT:
        case JSON_ARRAY:
            if (bad < 0)
                bad = (long)i;
            break;
        }
    }
    return bad;
}

/* The column list, from the first object (or the config alone), handed to
 * the sink once. 0, or 1 to stop. */
static int ensure_columns(struct json_state *s, json_t *first)
{
    const struct ss_record_sink *k = s->sink;
    if (s->have_columns)
        return 0;
    if (declare_columns(s, first) < 0)
        return 1; /* out of memory */
    return k->columns(k->ud, (const char *const *)s->names, s->nlens, s->ncols) != 0;
}

/* A rejected record: with the values of obj (an object, or NULL: none). */
static int reject(struct json_state *s, const struct ss_jsonsplit_elem *e, const char *why,
                  json_t *obj)
{
    const struct ss_record_sink *k = s->sink;
    const char **vals = s->vals;
    size_t *lens = s->lens;
    size_t n = 0;

    if (obj && json_is_object(obj)) {
        if (ensure_columns(s, obj) != 0)
            return s->sink_stop = 1;
        read_values(s, obj, vals, lens);
        n = s->ncols;
    }
    return s->sink_stop = k->reject(k->ud, e->index, why, n ? vals : NULL, n ? lens : NULL, n) != 0;
}

static int on_elem(void *ud, const struct ss_jsonsplit_elem *e)
{
    struct json_state *s = ud;
    const struct ss_record_sink *k = s->sink;
    const char **vals = s->vals;
    size_t *lens = s->lens;
    char why[512];
    json_error_t jerr;
    json_t *rec;
    int rc;

    if (e->error)
        return reject(s, e, e->error, NULL);
    rec = json_loadb(e->text, e->len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!rec) {
        snprintf(why, sizeof(why),
                 "not valid JSON: %s at byte %d of the record (its line %d, column %d)",
                 jansson_why(&jerr), jerr.position, jerr.line, jerr.column);
        json_t *lenient = lenient_load(e, &jerr);
        rc = reject(s, e, why, lenient);
        json_decref(lenient);
        return rc;
    }
    if (!json_is_object(rec)) {
        snprintf(why, sizeof(why), "the record is %s, not a JSON object", type_name(rec));
        json_decref(rec);
        return reject(s, e, why, NULL);
    }
    if (ensure_columns(s, rec) != 0) {
        json_decref(rec);
        return s->sink_stop = 1;
    }
    long bad = read_values(s, rec, vals, lens);
    if (bad >= 0) {
        snprintf(why, sizeof(why), "\"%s\" is %s, not a single value", s->names[bad],
                 type_name(lookup(rec, s->names[bad])));
        rc = s->sink_stop = k->reject(k->ud, e->index, why, vals, lens, s->ncols) != 0;
    } else {
        rc = s->sink_stop = k->record(k->ud, vals, lens, s->ncols, e->index) != 0;
    }
    json_decref(rec);
    return rc;
}

static int fail(struct json_state *s, const char *msg)
{
    snprintf(s->err_msg, sizeof(s->err_msg), "%s", msg);
    s->failed = 1;
    return 1;
}

/* Text past the HTML and text checks: to the split. */
static int split_feed(void *ud, const char *data, size_t len)
{
    struct json_state *s = ud;
    int rc = ss_jsonsplit_feed(s->split, data, len);
    if (rc < 0 && rc != SS_ESTOPPED)
        s->split_failed = 1;
    return rc != 0;
}

static unsigned long split_line(void *ud)
{
    struct json_state *s = ud;
    return ss_jsonsplit_line(s->split);
}

static int sniff_fail(void *ud, const char *msg)
{
    return fail(ud, msg);
}

static int on_body(void *ud, const char *data, size_t len)
{
    struct json_state *s = ud;
    ss_sniff_raw(&s->sniff, data, len);
    s->bytes += len;
    if (s->sink->progress)
        s->sink->progress(s->sink->ud, s->bytes);
    return ss_sniff_feed(&s->sniff, data, len);
}

static void split_error(struct json_state *s, char *err, size_t errlen)
{
    char shown[512];
    ss_http_redact(s->env->cfg->url, shown, sizeof(shown));
    snprintf(err, errlen, "%s: not a valid JSON export: %s (%lu records before it were read)",
             shown, ss_jsonsplit_error(s->split), ss_jsonsplit_count(s->split));
}

static int cb_run(void *state, const char *cursor, struct ss_buf *next_cursor,
                  const struct ss_record_sink *sink, char *err, size_t errlen)
{
    struct json_state *s = state;
    const struct ss_collector_config *cfg = s->env->cfg;
    const struct json_options *o = cfg->options;
    struct ss_jsonsplit_opts opts = {o->path, o->ndjson, (size_t)cfg->max_record_bytes};
    struct ss_http_resp resp = {0};
    char etag[256], lm[128];

    s->sink = sink;
    s->bytes = 0;
    s->sink_stop = 0;
    s->split_failed = 0;
    s->failed = 0;
    s->err_msg[0] = '\0';
    s->sniff = (struct ss_sniff){.what = "JSON",
                                 .url = cfg->url,
                                 .feed = split_feed,
                                 .line = split_line,
                                 .fail = sniff_fail,
                                 .ud = s};
    ss_sniff_begin(&s->sniff, &resp);
    free_columns(s);
    ss_jsonsplit_free(s->split);
    s->split = ss_jsonsplit_new(&opts, on_elem, s);
    if (!s->split) {
        snprintf(err, errlen, "out of memory");
        return SS_SOURCE_FAILED;
    }

    ss_http_cursor_split(cfg->http_conditional ? cursor : NULL, etag, sizeof(etag), lm, sizeof(lm));
    struct ss_http_req req = {.url = cfg->url, .etag = etag, .last_modified = lm};
    int r = ss_http_request(s->env->http, &req, NULL, on_body, s, &resp, err, errlen);
    if (r == SS_HTTP_NOT_MODIFIED)
        return SS_SOURCE_UNCHANGED;
    if (s->failed) {
        snprintf(err, errlen, "%s", s->err_msg);
        return SS_SOURCE_FAILED;
    }
    if (s->split_failed) {
        split_error(s, err, errlen);
        return SS_SOURCE_FAILED;
    }
    if (r == SS_ESTOPPED || s->sink_stop)
        return SS_SOURCE_STOPPED;
    if (r != 0)
        return SS_SOURCE_FAILED; /* a cut body's last record is not finished: it is dropped */
    ss_sniff_finish(&s->sniff);
    if (s->failed) {
        snprintf(err, errlen, "%s", s->err_msg);
        return SS_SOURCE_FAILED;
    }
    if (s->split_failed) {
        split_error(s, err, errlen);
        return SS_SOURCE_FAILED;
    }
    if (s->sink_stop)
        return SS_SOURCE_STOPPED;
    int split = ss_jsonsplit_finish(s->split);
    if (split == SS_ESTOPPED)
        return SS_SOURCE_STOPPED;
    if (split < 0) {
        split_error(s, err, errlen);
        return SS_SOURCE_FAILED;
    }
    ss_buf_reset(next_cursor);
    ss_buf_printf(next_cursor, "%s\n%s", resp.etag, resp.last_modified);
    return SS_SOURCE_OK;
}

const struct ss_source_kind ss_source_json = {"json", &json_config, cb_init, cb_run, cb_exit};
