/* ss_ref_parse: the reference-file parsers of ss_ref.h (the authorities JSON,
 * the ONS CSVs, the curated CSVs compiled in). They read, check and hand rows
 * to a callback; no database, no allocation that outlives a call. */
#include "ss_ref.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ss_buf.h"
#include "ss_csv.h"
#include "ss_date.h"
#include "ss_err.h"
#include "ss_hash.h"
#include "ss_log.h"
#include "ss_normalise.h"
#include "ss_text.h"

const struct ss_ref_file *ss_ref_file_find(const char *name)
{
    for (size_t i = 0; ss_ref_files[i].name; i++)
        if (strcmp(ss_ref_files[i].name, name) == 0)
            return &ss_ref_files[i];
    return NULL;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) SS_PRINTF(3, 4);
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* What a parser remembers of a code (or alias key) it has seen. */
struct seen {
    unsigned long line; /* where it came first */
};

/* Remembers key, or says where it came first: 0, or a negative code with err
 * (SS_EINVAL given twice, SS_E2BIG past SS_REF_MAX_ROWS, SS_ENOMEM). what
 * names the thing ("code E09000003", "authority 3: code E09000003"). */
static int first_sight(struct ss_hmap *seen, const char *key, unsigned long line,
                       unsigned long *first, char *err, size_t errlen, const char *path)
{
    void *v;
    int rc = ss_hmap_put(seen, key, strlen(key), &v);
    if (rc == SS_E2BIG)
        set_err(err, errlen, "%s: more than %d rows", path, SS_REF_MAX_ROWS);
    else if (rc < 0)
        set_err(err, errlen, "%s: out of memory", path);
    if (rc < 0)
        return rc;
    struct seen *s = v;
    if (rc == 0) {
        *first = s->line;
        return SS_EINVAL;
    }
    s->line = line;
    return 0;
}

/* ---- authorities (JSON) ---- */

/* The line on which each element of the top-level array starts: jansson
 * reports positions for syntax errors only, and a message about element 17
 * should still say where it is. Returns the count, or SS_ENOMEM. */
static long element_lines(const char *data, size_t len, unsigned long **out)
{
    size_t cap = 256, n = 0;
    unsigned long line = 1, *lines = malloc(cap * sizeof(*lines));
    int depth = 0, in_str = 0, esc = 0, want = 0;
    if (!lines)
        return SS_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (c == '\n')
            line++;
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (depth == 1 && want && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ']') {
            if (n == cap) {
                unsigned long *g = realloc(lines, 2 * cap * sizeof(*lines));
                if (!g) {
                    free(lines);
                    return SS_ENOMEM;
                }
                lines = g, cap *= 2;
            }
            lines[n++] = line;
            want = 0;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            depth++;
            if (depth == 1)
                want = 1;
        } else if (c == ']' || c == '}') {
            depth--;
        } else if (c == ',' && depth == 1) {
            want = 1;
        }
    }
    *out = lines;
    return (long)n;
}

/* A string member: 0 and *out (NULL if absent/null and optional), or
 * SS_EINVAL with *why. */
static int json_member(json_t *obj, const char *key, int required, const char **out,
                       const char **why)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required) {
            *why = "is missing";
            return SS_EINVAL;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        *why = "is not a string";
        return SS_EINVAL;
    }
    *out = json_string_value(v);
    if (required && !**out) {
        *why = "is empty";
        return SS_EINVAL;
    }
    return 0;
}

/* Element i (1-based in messages) of the array, checked into *a; code
 * receives the upper-cased GSS code a->code then points at. */
static int authority_of(const char *path, json_t *o, size_t i, struct ss_ref_authority *a,
                        char code[10], char *err, size_t errlen)
{
    const char *why = NULL, *field = NULL;
    if (!json_is_object(o)) {
        set_err(err, errlen, "%s:%lu: authority %zu: expected an object", path, a->line, i + 1);
        return SS_EINVAL;
    }
    if (json_member(o, field = "code", 1, &a->code, &why) < 0 ||
        json_member(o, field = "name", 1, &a->name, &why) < 0 ||
        json_member(o, field = "nice_name", 1, &a->nice_name, &why) < 0 ||
        json_member(o, field = "region", 0, &a->region, &why) < 0 ||
        json_member(o, field = "nation", 0, &a->nation, &why) < 0) {
        set_err(err, errlen, "%s:%lu: authority %zu: \"%s\" %s", path, a->line, i + 1, field, why);
        return SS_EINVAL;
    }
    if (!ss_norm_gss_code(a->code, strlen(a->code), code)) {
        set_err(err, errlen,
                "%s:%lu: authority %zu: \"code\" is \"%s\": not an ONS GSS code (a letter "
                "E, W, S, N or K and 8 digits)",
                path, a->line, i + 1, a->code);
        return SS_EINVAL;
    }
    a->code = code;
    return 0;
}

int ss_ref_parse_authorities(const char *path, const char *data, size_t len, ss_ref_authority_cb cb,
                             void *ud, char *err, size_t errlen)
{
    json_error_t jerr;
    unsigned long *lines = NULL;
    struct ss_hmap seen;
    int rc = SS_EINVAL;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        set_err(err, errlen, "%s:%d:%d: not valid JSON: %s", path, jerr.line, jerr.column,
                jerr.text);
        return SS_EINVAL;
    }
    ss_hmap_init(&seen, sizeof(struct seen), SS_REF_MAX_ROWS);
    if (!json_is_array(root)) {
        set_err(err, errlen, "%s:1: expected an array of authorities", path);
        goto out;
    }
    long nlines = element_lines(data, len, &lines);
    if (nlines < 0) {
        set_err(err, errlen, "%s: out of memory", path);
        rc = SS_ENOMEM;
        goto out;
    }
    size_t n = json_array_size(root);
    for (size_t i = 0; i < n; i++) {
        struct ss_ref_authority a = {.line = (long)i < nlines ? lines[i] : 0};
        unsigned long first = 0;
        char code[10];
        if ((rc = authority_of(path, json_array_get(root, i), i, &a, code, err, errlen)) < 0)
            goto out;
        rc = first_sight(&seen, code, a.line, &first, err, errlen, path);
        if (rc == SS_EINVAL)
            set_err(err, errlen, "%s:%lu: authority %zu: code %s given twice (first at line %lu)",
                    path, a.line, i + 1, code, first);
        if (rc < 0)
            goto out;
        if (cb && cb(ud, &a, err, errlen) != 0) {
            rc = SS_EINVAL;
            goto out;
        }
    }
    rc = (int)n;
out:
    ss_hmap_free(&seen);
    free(lines);
    json_decref(root);
    return rc;
}

/* ---- CSV files: one driver, a header and a row function per file ---- */

struct csv_run;
typedef int (*csv_row_fn)(struct csv_run *r, const struct ss_csv_record *rec);

struct csv_run {
    const char *path;
    char *err;
    size_t errlen;
    csv_row_fn header;
    csv_row_fn row;
    void *ctx;
    size_t ncols; /* from the header */
    unsigned long rows;
    struct ss_hmap seen;   /* codes (or alias keys) so far: struct seen */
    struct ss_buf text[2]; /* the current row's text fields, trimmed, NUL-terminated */
    int stopped;           /* a header or row function refused, err set */
};

/* A file gives each area once: remembers code, or says where it came first. */
static int csv_first_sight(struct csv_run *r, const char *code, unsigned long line)
{
    unsigned long first = 0;
    int rc = first_sight(&r->seen, code, line, &first, r->err, r->errlen, r->path);
    if (rc == SS_EINVAL)
        set_err(r->err, r->errlen, "%s:%lu: code %s given twice (first at line %lu)", r->path, line,
                code, first);
    return rc;
}

static int csv_record_check(struct csv_run *r, const struct ss_csv_record *rec)
{
    if (rec->error) {
        set_err(r->err, r->errlen, "%s:%lu: %s", r->path, rec->line, rec->error);
        return SS_EINVAL;
    }
    if (rec->number == 1) {
        r->ncols = rec->nfields;
        return r->header(r, rec);
    }
    if (rec->nfields != r->ncols) {
        set_err(r->err, r->errlen, "%s:%lu: %zu columns, but the header has %zu", r->path,
                rec->line, rec->nfields, r->ncols);
        return SS_EINVAL;
    }
    r->rows++;
    return r->row(r, rec);
}

static int csv_record(void *ud, const struct ss_csv_record *rec)
{
    struct csv_run *r = ud;
    int rc = csv_record_check(r, rec);
    r->stopped = rc != 0;
    return rc;
}

/* Streams f through ss_csv, the header to header(), each row to row() (both
 * return 0 or a negative code with r->err set). Returns the number of data
 * rows, or a negative code with err. */
static int csv_parse(const char *path, FILE *f, csv_row_fn header, csv_row_fn row, void *ctx,
                     char *err, size_t errlen)
{
    struct csv_run r = {
        .path = path, .err = err, .errlen = errlen, .header = header, .row = row, .ctx = ctx};
    char buf[65536];
    size_t n;
    int rc = 0;
    struct ss_csv *csv = ss_csv_new(NULL, csv_record, &r);
    if (!csv) {
        set_err(err, errlen, "%s: out of memory", path);
        return SS_ENOMEM;
    }
    ss_hmap_init(&r.seen, sizeof(struct seen), SS_REF_MAX_ROWS);
    ss_buf_init(&r.text[0], 4096);
    ss_buf_init(&r.text[1], 4096);
    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        rc = ss_csv_feed(csv, buf, n);
    if (rc == 0 && ferror(f)) {
        set_err(err, errlen, "%s: read error: %s", path, strerror(errno));
        rc = -errno;
    }
    if (rc == 0)
        rc = ss_csv_finish(csv);
    if (rc == 0 && ss_csv_records(csv) == 0) {
        set_err(err, errlen, "%s:1: the file is empty (expected a header line)", path);
        rc = SS_EINVAL;
    }
    if (rc == SS_ENOMEM && !r.stopped)
        set_err(err, errlen, "%s: out of memory", path);
    ss_csv_free(csv);
    ss_hmap_free(&r.seen);
    ss_buf_free(&r.text[0]);
    ss_buf_free(&r.text[1]);
    return rc < 0 ? rc : rc > 0 ? SS_EINVAL : (int)r.rows;
}

/* Column i of rec, trimmed by ss_trim. */
static void field_at(const struct ss_csv_record *rec, size_t i, const char **s, size_t *len)
{
    *s = rec->fields[i];
    *len = rec->lens[i];
    ss_trim(s, len);
}

static int header_expect(struct csv_run *r, const struct ss_csv_record *rec, size_t i,
                         const char *want)
{
    const char *s;
    size_t len;
    if (i >= rec->nfields) {
        set_err(r->err, r->errlen, "%s:%lu: header: column %zu missing (expected \"%s\")", r->path,
                rec->line, i + 1, want);
        return SS_EINVAL;
    }
    field_at(rec, i, &s, &len);
    if (len != strlen(want) || strncasecmp(s, want, len) != 0) {
        set_err(r->err, r->errlen, "%s:%lu: header: column %zu is \"%s\", expected \"%s\"", r->path,
                rec->line, i + 1, rec->fields[i], want);
        return SS_EINVAL;
    }
    return 0;
}

/* Header columns from..from+n-1 are want[0..n-1]. */
static int header_expect_all(struct csv_run *r, const struct ss_csv_record *rec, size_t from,
                             const char *const *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (header_expect(r, rec, from + i, want[i]) < 0)
            return SS_EINVAL;
    return 0;
}

/* The header has exactly n columns, or the message says what it should be. */
static int header_width(struct csv_run *r, const struct ss_csv_record *rec, size_t n,
                        const char *expected)
{
    if (rec->nfields == n)
        return 0;
    set_err(r->err, r->errlen, "%s:%lu: header: %s", r->path, rec->line, expected);
    return SS_EINVAL;
}

/* A GSS code field, upper-cased into out[10]. */
static int field_code(struct csv_run *r, const struct ss_csv_record *rec, size_t i,
                      const char *what, char *out)
{
    const char *s;
    size_t len;
    field_at(rec, i, &s, &len);
    if (!ss_norm_gss_code(s, len, out)) {
        set_err(r->err, r->errlen,
                "%s:%lu: column %zu (%s): \"%s\" is not an ONS GSS code (a letter E, W, S, N "
                "or K and 8 digits)",
                r->path, rec->line, i + 1, what, rec->fields[i]);
        return SS_EINVAL;
    }
    return 0;
}

/* A non-empty text field, trimmed into r->text[slot] (NUL-terminated). */
static int field_text(struct csv_run *r, const struct ss_csv_record *rec, size_t i,
                      const char *what, int slot)
{
    struct ss_buf *out = &r->text[slot];
    const char *s;
    size_t len;
    field_at(rec, i, &s, &len);
    if (!len) {
        set_err(r->err, r->errlen, "%s:%lu: column %zu (%s) is empty", r->path, rec->line, i + 1,
                what);
        return SS_EINVAL;
    }
    /* The row hands the text on as a C string: a NUL inside would cut it. */
    if (memchr(s, '\0', len)) {
        set_err(r->err, r->errlen, "%s:%lu: column %zu (%s) holds a NUL byte: not a text file",
                r->path, rec->line, i + 1, what);
        return SS_EINVAL;
    }
    ss_buf_reset(out);
    if (ss_buf_add(out, s, len) < 0 || ss_buf_addc(out, '\0') < 0) {
        set_err(r->err, r->errlen, "%s:%lu: column %zu (%s) too long", r->path, rec->line, i + 1,
                what);
        return SS_E2BIG;
    }
    return 0;
}

static int field_count(struct csv_run *r, const struct ss_csv_record *rec, size_t i,
                       const char *what, long long *out)
{
    const char *s, *why = "empty";
    size_t len;
    field_at(rec, i, &s, &len);
    if (!len || ss_norm_count(s, len, out, &why) != 0) {
        set_err(r->err, r->errlen, "%s:%lu: column %zu (\"%s\") is \"%s\": %s", r->path, rec->line,
                i + 1, what, rec->fields[i], why);
        return SS_EINVAL;
    }
    return 0;
}

/* The callback's verdict on a row: 0, or SS_EINVAL when it stopped the parse. */
#define SS_REF_CALL(cb, ud, row, r)                                                                \
    ((cb) && (cb)((ud), (row), (r)->err, (r)->errlen) != 0 ? SS_EINVAL : 0)

/* ---- populations ---- */

struct pop_ctx {
    ss_ref_population_cb cb;
    void *ud;
};

/* "0".."89", "90+": the name of age column age. */
static void age_name(int age, char *out, size_t outlen)
{
    snprintf(out, outlen, age == SS_REF_AGES - 1 ? "%d+" : "%d", age);
}

static int pop_header(struct csv_run *r, const struct ss_csv_record *rec)
{
    static const char *const first[] = {"Code", "Name", "Geography", "All ages"};
    char want[8], expected[64];
    if (header_expect_all(r, rec, 0, first, 4) < 0)
        return SS_EINVAL;
    for (int age = 0; age < SS_REF_AGES; age++) {
        age_name(age, want, sizeof(want));
        if (header_expect(r, rec, 4 + (size_t)age, want) < 0)
            return SS_EINVAL;
    }
    snprintf(expected, sizeof(expected), "%zu columns, expected %d (up to \"90+\")", rec->nfields,
             4 + SS_REF_AGES);
    return header_width(r, rec, 4 + SS_REF_AGES, expected);
}

static int pop_row(struct csv_run *r, const struct ss_csv_record *rec)
{
    struct pop_ctx *c = r->ctx;
    struct ss_ref_population p = {.line = rec->line};
    char code[10], what[16];
    long long sum = 0;
    if (field_code(r, rec, 0, "Code", code) < 0 || field_text(r, rec, 1, "Name", 0) < 0 ||
        field_text(r, rec, 2, "Geography", 1) < 0 ||
        field_count(r, rec, 3, "All ages", &p.all_ages) < 0)
        return SS_EINVAL;
    for (int age = 0; age < SS_REF_AGES; age++) {
        age_name(age, what, sizeof(what));
        if (field_count(r, rec, 4 + (size_t)age, what, &p.persons[age]) < 0)
            return SS_EINVAL;
        sum += p.persons[age];
    }
    if (sum != p.all_ages) {
        set_err(r->err, r->errlen,
                "%s:%lu: column 4 (\"All ages\") is %lld but the single ages add up to %lld",
                r->path, rec->line, p.all_ages, sum);
        return SS_EINVAL;
    }
    int rc = csv_first_sight(r, code, rec->line);
    if (rc < 0)
        return rc;
    p.code = code;
    p.name = r->text[0].data;
    p.geography = r->text[1].data;
    return SS_REF_CALL(c->cb, c->ud, &p, r);
}

int ss_ref_parse_populations(const char *path, FILE *f, ss_ref_population_cb cb, void *ud,
                             char *err, size_t errlen)
{
    struct pop_ctx c = {cb, ud};
    return csv_parse(path, f, pop_header, pop_row, &c, err, errlen);
}

/* ---- neighbours ---- */

struct nn_ctx {
    ss_ref_neighbours_cb cb;
    void *ud;
    char (*codes)[10];
    const char **ptrs;
};

static int nn_header(struct csv_run *r, const struct ss_csv_record *rec)
{
    struct nn_ctx *c = r->ctx;
    char want[32];
    if (rec->nfields < 3) {
        set_err(r->err, r->errlen,
                "%s:%lu: header: expected a code, a name and \"Neighbour 1\" .. columns", r->path,
                rec->line);
        return SS_EINVAL;
    }
    if (rec->nfields - 2 > SS_REF_MAX_NEIGHBOURS) {
        set_err(r->err, r->errlen, "%s:%lu: header: more than %d neighbour columns", r->path,
                rec->line, SS_REF_MAX_NEIGHBOURS);
        return SS_E2BIG;
    }
    for (size_t i = 2; i < rec->nfields; i++) {
        snprintf(want, sizeof(want), "Neighbour %zu", i - 1);
        if (header_expect(r, rec, i, want) < 0)
            return SS_EINVAL;
    }
    c->codes = calloc(rec->nfields, sizeof(*c->codes));
    c->ptrs = calloc(rec->nfields, sizeof(*c->ptrs));
    if (!c->codes || !c->ptrs) {
        set_err(r->err, r->errlen, "%s: out of memory", r->path);
        return SS_ENOMEM;
    }
    return 0;
}

/* Neighbour column i (0-based) holding c->codes[n]: a GSS code, not the row's own. */
static int nn_neighbour(struct csv_run *r, const struct ss_csv_record *rec, size_t i, size_t n,
                        const char *code)
{
    struct nn_ctx *c = r->ctx;
    char what[48];
    if (n != i - 2) {
        set_err(r->err, r->errlen,
                "%s:%lu: column %zu (\"Neighbour %zu\") is given but \"Neighbour %zu\" is "
                "empty",
                r->path, rec->line, i + 1, i - 1, n + 1);
        return SS_EINVAL;
    }
    snprintf(what, sizeof(what), "\"Neighbour %zu\"", i - 1);
    if (field_code(r, rec, i, what, c->codes[n]) < 0)
        return SS_EINVAL;
    if (strcmp(c->codes[n], code) == 0) {
        set_err(r->err, r->errlen, "%s:%lu: column %zu (%s): %s is its own neighbour", r->path,
                rec->line, i + 1, what, code);
        return SS_EINVAL;
    }
    c->ptrs[n] = c->codes[n];
    return 0;
}

static int nn_row(struct csv_run *r, const struct ss_csv_record *rec)
{
    struct nn_ctx *c = r->ctx;
    struct ss_ref_neighbours nb = {.line = rec->line};
    char code[10];
    size_t n = 0;
    int rc;
    if (field_code(r, rec, 0, "code", code) < 0 || field_text(r, rec, 1, "name", 0) < 0)
        return SS_EINVAL;
    for (size_t i = 2; i < rec->nfields; i++) {
        const char *s;
        size_t len;
        field_at(rec, i, &s, &len);
        if (!len)
            continue;
        if ((rc = nn_neighbour(r, rec, i, n, code)) < 0)
            return rc;
        n++;
    }
    if ((rc = csv_first_sight(r, code, rec->line)) < 0)
        return rc;
    nb.code = code;
    nb.name = r->text[0].data;
    nb.n = n;
    nb.neighbours = c->ptrs;
    return SS_REF_CALL(c->cb, c->ud, &nb, r);
}

int ss_ref_parse_neighbours(const char *path, FILE *f, ss_ref_neighbours_cb cb, void *ud, char *err,
                            size_t errlen)
{
    struct nn_ctx c = {cb, ud, NULL, NULL};
    int rc = csv_parse(path, f, nn_header, nn_row, &c, err, errlen);
    free(c.codes);
    free(c.ptrs);
    return rc;
}

/* ---- curated aliases ---- */

struct alias_ctx {
    ss_ref_alias_cb cb;
    void *ud;
};

static int alias_header(struct csv_run *r, const struct ss_csv_record *rec)
{
    static const char *const cols[] = {"alias", "code"};
    if (header_expect_all(r, rec, 0, cols, 2) < 0)
        return SS_EINVAL;
    return header_width(r, rec, 2, "expected the columns alias,code");
}

static int alias_row(struct csv_run *r, const struct ss_csv_record *rec)
{
    struct alias_ctx *c = r->ctx;
    const struct ss_buf *alias = &r->text[0];
    char code[10], key[SS_REF_KEY_MAX];
    unsigned long first = 0;
    if (field_text(r, rec, 0, "alias", 0) < 0 || field_code(r, rec, 1, "code", code) < 0)
        return SS_EINVAL;
    if (ss_norm_authority_key(alias->data, alias->len - 1, key, sizeof(key)) < 0) {
        set_err(r->err, r->errlen, "%s:%lu: column 1 (alias): \"%s\" leaves no name to match",
                r->path, rec->line, alias->data);
        return SS_EINVAL;
    }
    int rc = first_sight(&r->seen, key, rec->line, &first, r->err, r->errlen, r->path);
    if (rc == SS_EINVAL)
        set_err(r->err, r->errlen,
                "%s:%lu: alias \"%s\" matches the same names as line %lu (key \"%s\")", r->path,
                rec->line, alias->data, first, key);
    if (rc < 0)
        return rc;
    struct ss_ref_alias a = {alias->data, code, rec->line};
    return SS_REF_CALL(c->cb, c->ud, &a, r);
}

int ss_ref_parse_aliases(const char *path, FILE *f, ss_ref_alias_cb cb, void *ud, char *err,
                         size_t errlen)
{
    struct alias_ctx c = {cb, ud};
    return csv_parse(path, f, alias_header, alias_row, &c, err, errlen);
}

/* ---- successors ---- */

struct succ_ctx {
    ss_ref_successor_cb cb;
    void *ud;
};

static int succ_header(struct csv_run *r, const struct ss_csv_record *rec)
{
    static const char *const cols[] = {"old_code", "old_name", "new_code", "changed_on"};
    if (header_expect_all(r, rec, 0, cols, 4) < 0)
        return SS_EINVAL;
    return header_width(r, rec, 4, "expected the columns old_code,old_name,new_code,changed_on");
}

static int succ_row(struct csv_run *r, const struct ss_csv_record *rec)
{
    struct succ_ctx *c = r->ctx;
    const struct ss_buf *date = &r->text[1];
    char old_code[10], new_code[10];
    struct ss_date d;
    const char *why;
    if (field_code(r, rec, 0, "old_code", old_code) < 0 ||
        field_text(r, rec, 1, "old_name", 0) < 0 ||
        field_code(r, rec, 2, "new_code", new_code) < 0 ||
        field_text(r, rec, 3, "changed_on", 1) < 0)
        return SS_EINVAL;
    /* ISO 8601 only: ss_parse_date takes dd/mm/yyyy as well, which a curated
     * file written for PostgreSQL never has. */
    if (date->len - 1 != 10 || date->data[4] != '-' ||
        ss_parse_date(date->data, date->len - 1, &d, &why) < 0) {
        set_err(r->err, r->errlen, "%s:%lu: column 4 (changed_on): \"%s\" is not a YYYY-MM-DD date",
                r->path, rec->line, date->data);
        return SS_EINVAL;
    }
    if (strcmp(old_code, new_code) == 0) {
        set_err(r->err, r->errlen, "%s:%lu: %s succeeds itself", r->path, rec->line, old_code);
        return SS_EINVAL;
    }
    struct ss_ref_successor s = {old_code, r->text[0].data, new_code, date->data, rec->line};
    return SS_REF_CALL(c->cb, c->ud, &s, r);
}

int ss_ref_parse_successors(const char *path, FILE *f, ss_ref_successor_cb cb, void *ud, char *err,
                            size_t errlen)
{
    struct succ_ctx c = {cb, ud};
    return csv_parse(path, f, succ_header, succ_row, &c, err, errlen);
}

int ss_ref_year_from_name(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    for (const char *p = b; (p = strstr(p, "mye")) != NULL; p += 3)
        if (ss_is_digit(p[3]) && ss_is_digit(p[4]) && !ss_is_digit(p[5]))
            return 2000 + (p[3] - '0') * 10 + (p[4] - '0');
    return SS_EINVAL;
}
