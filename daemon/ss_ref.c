/* ss_ref: see ss_ref.h. */
#include "ss_ref.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ss_buf.h"
#include "ss_config.h"
#include "ss_csv.h"
#include "ss_log.h"
#include "ss_normalise.h"
#include "ss_warehouse.h"

/* Bounds on what a reference file may hold: far above the real files (the
 * authorities JSON is 33 KB, the neighbours CSV 238 KB). */
#define SS_REF_MAX_JSON ((size_t)16 << 20)
#define SS_REF_MAX_NEIGHBOURS 1000
#define SS_REF_KEY_MAX 256
#define SS_REF_COPY_FLUSH ((size_t)64 << 10)
/* Serialises `shelfsync ref load` runs: the alias merge reads, then writes. */
#define SS_REF_LOCK "7310593858020181348"

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

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* ---- a small string map (open addressing), for codes and alias keys ---- */

struct ss__ent {
    char *key;
    char *val;  /* may be NULL */
    char *val2; /* may be NULL */
    unsigned long line;
};

struct ss__map {
    struct ss__ent *e;
    size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void map_free(struct ss__map *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->e[i].key);
        free(m->e[i].val);
        free(m->e[i].val2);
    }
    free(m->e);
    memset(m, 0, sizeof(*m));
}

static struct ss__ent *map_get(const struct ss__map *m, const char *key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->e[i].key)
            return NULL;
        if (strcmp(m->e[i].key, key) == 0)
            return &m->e[i];
    }
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Adds key (which must not be there); 0 or -ENOMEM. */
static int map_put(struct ss__map *m, const char *key, const char *val, const char *val2,
                   unsigned long line)
{
    if (2 * (m->n + 1) > m->cap) {
        struct ss__map g = {calloc(m->cap ? 2 * m->cap : 64, sizeof(struct ss__ent)),
                            m->cap ? 2 * m->cap : 64, 0};
        if (!g.e)
            return -ENOMEM;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->e[i].key)
                continue;
            size_t j = hash_str(m->e[i].key) & (g.cap - 1);
            while (g.e[j].key)
                j = (j + 1) & (g.cap - 1);
            g.e[j] = m->e[i];
            g.n++;
        }
        free(m->e);
        *m = g;
    }
    size_t j = hash_str(key) & (m->cap - 1);
    while (m->e[j].key)
        j = (j + 1) & (m->cap - 1);
    struct ss__ent *e = &m->e[j];
    e->key = strdup(key);
    e->val = dup_or_null(val);
    e->val2 = dup_or_null(val2);
    e->line = line;
    if (!e->key || (val && !e->val) || (val2 && !e->val2)) {
        free(e->key);
        free(e->val);
        free(e->val2);
        memset(e, 0, sizeof(*e));
        return -ENOMEM;
    }
    m->n++;
    return 0;
}

/* ---- field helpers ---- */

static void trim(const char **s, size_t *len)
{
    while (*len && ((*s)[0] == ' ' || (*s)[0] == '\t'))
        (*s)++, (*len)--;
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

static int is_date(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return 0;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (y < 1800 || y > 2100 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 0;
    return 1;
}

/* ---- authorities (JSON) ---- */

/* The line on which each element of the top-level array starts: jansson
 * reports positions for syntax errors only, and a message about element 17
 * should still say where it is. Returns the count, or -1 (no memory). */
static long element_lines(const char *data, size_t len, unsigned long **out)
{
    size_t cap = 256, n = 0;
    unsigned long line = 1, *lines = malloc(cap * sizeof(*lines));
    int depth = 0, in_str = 0, esc = 0, want = 0;
    if (!lines)
        return -1;
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
                    return -1;
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

/* A string member: 0 and *out (NULL if absent/null and optional), or -1. */
static int json_member(json_t *obj, const char *key, int required, const char **out,
                       const char **why)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required) {
            *why = "is missing";
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        *why = "is not a string";
        return -1;
    }
    *out = json_string_value(v);
    if (required && !**out) {
        *why = "is empty";
        return -1;
    }
    return 0;
}

int ss_ref_parse_authorities(const char *path, const char *data, size_t len, ss_ref_authority_cb cb,
                             void *ud, char *err, size_t errlen)
{
    json_error_t jerr;
    unsigned long *lines = NULL;
    struct ss__map seen = {0};
    int rc = -1;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        set_err(err, errlen, "%s:%d:%d: not valid JSON: %s", path, jerr.line, jerr.column,
                jerr.text);
        return -1;
    }
    if (!json_is_array(root)) {
        set_err(err, errlen, "%s:1: expected an array of authorities", path);
        goto out;
    }
    long nlines = element_lines(data, len, &lines);
    if (nlines < 0) {
        set_err(err, errlen, "%s: out of memory", path);
        goto out;
    }
    size_t n = json_array_size(root);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(root, i);
        unsigned long line = (long)i < nlines ? lines[i] : 0;
        struct ss_ref_authority a = {.line = line};
        const char *why = NULL, *field = NULL;
        char code[10];
        if (!json_is_object(o)) {
            set_err(err, errlen, "%s:%lu: authority %zu: expected an object", path, line, i + 1);
            goto out;
        }
        if (json_member(o, field = "code", 1, &a.code, &why) < 0 ||
            json_member(o, field = "name", 1, &a.name, &why) < 0 ||
            json_member(o, field = "nice_name", 1, &a.nice_name, &why) < 0 ||
            json_member(o, field = "region", 0, &a.region, &why) < 0 ||
            json_member(o, field = "nation", 0, &a.nation, &why) < 0) {
            set_err(err, errlen, "%s:%lu: authority %zu: \"%s\" %s", path, line, i + 1, field, why);
            goto out;
        }
        if (!ss_norm_gss_code(a.code, strlen(a.code), code)) {
            set_err(err, errlen,
                    "%s:%lu: authority %zu: \"code\" is \"%s\": not an ONS GSS code (a letter "
                    "E, W, S, N or K and 8 digits)",
                    path, line, i + 1, a.code);
            goto out;
        }
        a.code = code;
        struct ss__ent *dup = map_get(&seen, code);
        if (dup) {
            set_err(err, errlen, "%s:%lu: authority %zu: code %s given twice (first at line %lu)",
                    path, line, i + 1, code, dup->line);
            goto out;
        }
        if (map_put(&seen, code, NULL, NULL, line) < 0) {
            set_err(err, errlen, "%s: out of memory", path);
            goto out;
        }
        if (cb && cb(ud, &a, err, errlen) != 0)
            goto out;
    }
    rc = (int)n;
out:
    map_free(&seen);
    free(lines);
    json_decref(root);
    return rc;
}

/* ---- CSV files ---- */

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
};

/* A file gives each area once: remembers code, or says where it came first. */
static int first_sight(struct csv_run *r, struct ss__map *seen, const char *code,
                       unsigned long line)
{
    struct ss__ent *dup = map_get(seen, code);
    if (dup) {
        set_err(r->err, r->errlen, "%s:%lu: code %s given twice (first at line %lu)", r->path, line,
                code, dup->line);
        return -1;
    }
    if (map_put(seen, code, NULL, NULL, line) < 0) {
        set_err(r->err, r->errlen, "%s: out of memory", r->path);
        return -1;
    }
    return 0;
}

static int csv_record(void *ud, const struct ss_csv_record *rec)
{
    struct csv_run *r = ud;
    if (rec->error) {
        set_err(r->err, r->errlen, "%s:%lu: %s", r->path, rec->line, rec->error);
        return 1;
    }
    if (rec->number == 1) {
        r->ncols = rec->nfields;
        return r->header(r, rec) < 0 ? 1 : 0;
    }
    if (rec->nfields != r->ncols) {
        set_err(r->err, r->errlen, "%s:%lu: %zu columns, but the header has %zu", r->path,
                rec->line, rec->nfields, r->ncols);
        return 1;
    }
    r->rows++;
    return r->row(r, rec) < 0 ? 1 : 0;
}

/* Streams f through ss_csv; returns the number of data rows or -1 with err. */
static int csv_run(struct csv_run *r, FILE *f)
{
    char buf[65536];
    size_t n;
    int rc = 0;
    struct ss_csv *csv = ss_csv_new(NULL, csv_record, r);
    if (!csv) {
        set_err(r->err, r->errlen, "%s: out of memory", r->path);
        return -1;
    }
    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        rc = ss_csv_feed(csv, buf, n);
    if (rc == 0 && ferror(f)) {
        set_err(r->err, r->errlen, "%s: read error: %s", r->path, strerror(errno));
        rc = -1;
    }
    if (rc == 0)
        rc = ss_csv_finish(csv);
    if (rc == 0 && ss_csv_records(csv) == 0) {
        set_err(r->err, r->errlen, "%s:1: the file is empty (expected a header line)", r->path);
        rc = -1;
    }
    if (rc == -ENOMEM)
        set_err(r->err, r->errlen, "%s: out of memory", r->path);
    ss_csv_free(csv);
    return rc == 0 ? (int)r->rows : -1;
}

/* Compares header column i with want (case-insensitive, spaces trimmed). */
static int header_is(const struct ss_csv_record *rec, size_t i, const char *want)
{
    const char *s = rec->fields[i];
    size_t len = rec->lens[i];
    trim(&s, &len);
    return len == strlen(want) && strncasecmp(s, want, len) == 0;
}

static int header_expect(struct csv_run *r, const struct ss_csv_record *rec, size_t i,
                         const char *want)
{
    if (i >= rec->nfields) {
        set_err(r->err, r->errlen, "%s:%lu: header: column %zu missing (expected \"%s\")", r->path,
                rec->line, i + 1, want);
        return -1;
    }
    if (!header_is(rec, i, want)) {
        set_err(r->err, r->errlen, "%s:%lu: header: column %zu is \"%s\", expected \"%s\"", r->path,
                rec->line, i + 1, rec->fields[i], want);
        return -1;
    }
    return 0;
}

/* A GSS code field, upper-cased into out[10]. */
static int field_code(struct csv_run *r, const struct ss_csv_record *rec, size_t i,
                      const char *what, char *out)
{
    const char *s = rec->fields[i];
    size_t len = rec->lens[i];
    trim(&s, &len);
    if (!ss_norm_gss_code(s, len, out)) {
        set_err(r->err, r->errlen,
                "%s:%lu: column %zu (%s): \"%s\" is not an ONS GSS code (a letter E, W, S, N "
                "or K and 8 digits)",
                r->path, rec->line, i + 1, what, rec->fields[i]);
        return -1;
    }
    return 0;
}

/* A non-empty text field, trimmed into a NUL-terminated copy in out. */
static int field_text(struct csv_run *r, const struct ss_csv_record *rec, size_t i,
                      const char *what, struct ss_buf *out)
{
    const char *s = rec->fields[i];
    size_t len = rec->lens[i];
    trim(&s, &len);
    if (!len) {
        set_err(r->err, r->errlen, "%s:%lu: column %zu (%s) is empty", r->path, rec->line, i + 1,
                what);
        return -1;
    }
    ss_buf_reset(out);
    if (ss_buf_add(out, s, len) < 0 || ss_buf_addc(out, '\0') < 0) {
        set_err(r->err, r->errlen, "%s:%lu: column %zu (%s) too long", r->path, rec->line, i + 1,
                what);
        return -1;
    }
    return 0;
}

/* populations */

struct pop_ctx {
    ss_ref_population_cb cb;
    void *ud;
    struct ss__map seen;
    struct ss_buf name, geo;
};

static int pop_header(struct csv_run *r, const struct ss_csv_record *rec)
{
    static const char *const first[] = {"Code", "Name", "Geography", "All ages"};
    char want[8];
    for (size_t i = 0; i < 4; i++)
        if (header_expect(r, rec, i, first[i]) < 0)
            return -1;
    for (int age = 0; age < SS_REF_AGES; age++) {
        snprintf(want, sizeof(want), age == SS_REF_AGES - 1 ? "%d+" : "%d", age);
        if (header_expect(r, rec, 4 + (size_t)age, want) < 0)
            return -1;
    }
    if (rec->nfields != 4 + SS_REF_AGES) {
        set_err(r->err, r->errlen, "%s:%lu: header: %zu columns, expected %d (up to \"90+\")",
                r->path, rec->line, rec->nfields, 4 + SS_REF_AGES);
        return -1;
    }
    return 0;
}

static int field_count(struct csv_run *r, const struct ss_csv_record *rec, size_t i,
                       const char *what, long long *out)
{
    const char *s = rec->fields[i], *why = "empty";
    size_t len = rec->lens[i];
    trim(&s, &len);
    if (!len || ss_norm_count(s, len, out, &why) != 0) {
        set_err(r->err, r->errlen, "%s:%lu: column %zu (\"%s\") is \"%s\": %s", r->path, rec->line,
                i + 1, what, rec->fields[i], why);
        return -1;
    }
    return 0;
}

static int pop_row(struct csv_run *r, const struct ss_csv_record *rec)
{
    struct pop_ctx *c = r->ctx;
    struct ss_ref_population p = {.line = rec->line};
    char code[10], what[16];
    long long sum = 0;
    if (field_code(r, rec, 0, "Code", code) < 0 || field_text(r, rec, 1, "Name", &c->name) < 0 ||
        field_text(r, rec, 2, "Geography", &c->geo) < 0 ||
        field_count(r, rec, 3, "All ages", &p.all_ages) < 0)
        return -1;
    for (int age = 0; age < SS_REF_AGES; age++) {
        snprintf(what, sizeof(what), age == SS_REF_AGES - 1 ? "%d+" : "%d", age);
        if (field_count(r, rec, 4 + (size_t)age, what, &p.persons[age]) < 0)
            return -1;
        sum += p.persons[age];
    }
    if (sum != p.all_ages) {
        set_err(r->err, r->errlen,
                "%s:%lu: column 4 (\"All ages\") is %lld but the single ages add up to %lld",
                r->path, rec->line, p.all_ages, sum);
        return -1;
    }
    if (first_sight(r, &c->seen, code, rec->line) < 0)
        return -1;
    p.code = code;
    p.name = c->name.data;
    p.geography = c->geo.data;
    return c->cb && c->cb(c->ud, &p, r->err, r->errlen) != 0 ? -1 : 0;
}

int ss_ref_parse_populations(const char *path, FILE *f, ss_ref_population_cb cb, void *ud,
                             char *err, size_t errlen)
{
    struct pop_ctx c = {.cb = cb, .ud = ud};
    struct csv_run r = {path, err, errlen, pop_header, pop_row, &c, 0, 0};
    ss_buf_init(&c.name, 4096);
    ss_buf_init(&c.geo, 4096);
    int rc = csv_run(&r, f);
    ss_buf_free(&c.name);
    ss_buf_free(&c.geo);
    map_free(&c.seen);
    return rc;
}

/* neighbours */

struct nn_ctx {
    ss_ref_neighbours_cb cb;
    void *ud;
    struct ss__map seen;
    struct ss_buf name;
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
        return -1;
    }
    if (rec->nfields - 2 > SS_REF_MAX_NEIGHBOURS) {
        set_err(r->err, r->errlen, "%s:%lu: header: more than %d neighbour columns", r->path,
                rec->line, SS_REF_MAX_NEIGHBOURS);
        return -1;
    }
    for (size_t i = 2; i < rec->nfields; i++) {
        snprintf(want, sizeof(want), "Neighbour %zu", i - 1);
        if (header_expect(r, rec, i, want) < 0)
            return -1;
    }
    c->codes = calloc(rec->nfields, sizeof(*c->codes));
    c->ptrs = calloc(rec->nfields, sizeof(*c->ptrs));
    if (!c->codes || !c->ptrs) {
        set_err(r->err, r->errlen, "%s: out of memory", r->path);
        return -1;
    }
    return 0;
}

static int nn_row(struct csv_run *r, const struct ss_csv_record *rec)
{
    struct nn_ctx *c = r->ctx;
    struct ss_ref_neighbours nb = {.line = rec->line};
    char code[10], what[48];
    size_t n = 0;
    if (field_code(r, rec, 0, "code", code) < 0 || field_text(r, rec, 1, "name", &c->name) < 0)
        return -1;
    for (size_t i = 2; i < rec->nfields; i++) {
        const char *s = rec->fields[i];
        size_t len = rec->lens[i];
        trim(&s, &len);
        if (!len)
            continue;
        if (n != i - 2) {
            set_err(r->err, r->errlen,
                    "%s:%lu: column %zu (\"Neighbour %zu\") is given but \"Neighbour %zu\" is "
                    "empty",
                    r->path, rec->line, i + 1, i - 1, n + 1);
            return -1;
        }
        snprintf(what, sizeof(what), "\"Neighbour %zu\"", i - 1);
        if (field_code(r, rec, i, what, c->codes[n]) < 0)
            return -1;
        if (strcmp(c->codes[n], code) == 0) {
            set_err(r->err, r->errlen, "%s:%lu: column %zu (%s): %s is its own neighbour", r->path,
                    rec->line, i + 1, what, code);
            return -1;
        }
        c->ptrs[n] = c->codes[n];
        n++;
    }
    if (first_sight(r, &c->seen, code, rec->line) < 0)
        return -1;
    nb.code = code;
    nb.name = c->name.data;
    nb.n = n;
    nb.neighbours = c->ptrs;
    return c->cb && c->cb(c->ud, &nb, r->err, r->errlen) != 0 ? -1 : 0;
}

int ss_ref_parse_neighbours(const char *path, FILE *f, ss_ref_neighbours_cb cb, void *ud, char *err,
                            size_t errlen)
{
    struct nn_ctx c = {.cb = cb, .ud = ud};
    struct csv_run r = {path, err, errlen, nn_header, nn_row, &c, 0, 0};
    ss_buf_init(&c.name, 4096);
    int rc = csv_run(&r, f);
    ss_buf_free(&c.name);
    map_free(&c.seen);
    free(c.codes);
    free(c.ptrs);
    return rc;
}

/* curated aliases */

struct alias_ctx {
    ss_ref_alias_cb cb;
    void *ud;
    struct ss__map seen;
    struct ss_buf alias;
};

static int alias_header(struct csv_run *r, const struct ss_csv_record *rec)
{
    if (header_expect(r, rec, 0, "alias") < 0 || header_expect(r, rec, 1, "code") < 0)
        return -1;
    if (rec->nfields != 2) {
        set_err(r->err, r->errlen, "%s:%lu: header: expected the columns alias,code", r->path,
                rec->line);
        return -1;
    }
    return 0;
}

static int alias_row(struct csv_run *r, const struct ss_csv_record *rec)
{
    struct alias_ctx *c = r->ctx;
    char code[10], key[SS_REF_KEY_MAX];
    if (field_text(r, rec, 0, "alias", &c->alias) < 0 || field_code(r, rec, 1, "code", code) < 0)
        return -1;
    if (ss_norm_authority_key(c->alias.data, c->alias.len - 1, key, sizeof(key)) < 0) {
        set_err(r->err, r->errlen, "%s:%lu: column 1 (alias): \"%s\" leaves no name to match",
                r->path, rec->line, c->alias.data);
        return -1;
    }
    struct ss__ent *dup = map_get(&c->seen, key);
    if (dup) {
        set_err(r->err, r->errlen,
                "%s:%lu: alias \"%s\" matches the same names as line %lu (key \"%s\")", r->path,
                rec->line, c->alias.data, dup->line, key);
        return -1;
    }
    if (map_put(&c->seen, key, NULL, NULL, rec->line) < 0) {
        set_err(r->err, r->errlen, "%s: out of memory", r->path);
        return -1;
    }
    struct ss_ref_alias a = {c->alias.data, code, rec->line};
    return c->cb && c->cb(c->ud, &a, r->err, r->errlen) != 0 ? -1 : 0;
}

int ss_ref_parse_aliases(const char *path, FILE *f, ss_ref_alias_cb cb, void *ud, char *err,
                         size_t errlen)
{
    struct alias_ctx c = {.cb = cb, .ud = ud};
    struct csv_run r = {path, err, errlen, alias_header, alias_row, &c, 0, 0};
    ss_buf_init(&c.alias, 4096);
    int rc = csv_run(&r, f);
    ss_buf_free(&c.alias);
    map_free(&c.seen);
    return rc;
}

/* successors */

struct succ_ctx {
    ss_ref_successor_cb cb;
    void *ud;
    struct ss_buf name, date;
};

static int succ_header(struct csv_run *r, const struct ss_csv_record *rec)
{
    static const char *const cols[] = {"old_code", "old_name", "new_code", "changed_on"};
    for (size_t i = 0; i < 4; i++)
        if (header_expect(r, rec, i, cols[i]) < 0)
            return -1;
    if (rec->nfields != 4) {
        set_err(r->err, r->errlen,
                "%s:%lu: header: expected the columns old_code,old_name,new_code,changed_on",
                r->path, rec->line);
        return -1;
    }
    return 0;
}

static int succ_row(struct csv_run *r, const struct ss_csv_record *rec)
{
    struct succ_ctx *c = r->ctx;
    char old_code[10], new_code[10];
    if (field_code(r, rec, 0, "old_code", old_code) < 0 ||
        field_text(r, rec, 1, "old_name", &c->name) < 0 ||
        field_code(r, rec, 2, "new_code", new_code) < 0 ||
        field_text(r, rec, 3, "changed_on", &c->date) < 0)
        return -1;
    if (!is_date(c->date.data)) {
        set_err(r->err, r->errlen, "%s:%lu: column 4 (changed_on): \"%s\" is not a YYYY-MM-DD date",
                r->path, rec->line, c->date.data);
        return -1;
    }
    if (strcmp(old_code, new_code) == 0) {
        set_err(r->err, r->errlen, "%s:%lu: %s succeeds itself", r->path, rec->line, old_code);
        return -1;
    }
    struct ss_ref_successor s = {old_code, c->name.data, new_code, c->date.data, rec->line};
    return c->cb && c->cb(c->ud, &s, r->err, r->errlen) != 0 ? -1 : 0;
}

int ss_ref_parse_successors(const char *path, FILE *f, ss_ref_successor_cb cb, void *ud, char *err,
                            size_t errlen)
{
    struct succ_ctx c = {.cb = cb, .ud = ud};
    struct csv_run r = {path, err, errlen, succ_header, succ_row, &c, 0, 0};
    ss_buf_init(&c.name, 4096);
    ss_buf_init(&c.date, 64);
    int rc = csv_run(&r, f);
    ss_buf_free(&c.name);
    ss_buf_free(&c.date);
    return rc;
}

int ss_ref_year_from_name(const char *path)
{
    const char *b = base_name(path);
    for (const char *p = b; (p = strstr(p, "mye")) != NULL; p += 3)
        if (isdigit((unsigned char)p[3]) && isdigit((unsigned char)p[4]) &&
            !isdigit((unsigned char)p[5]))
            return 2000 + (p[3] - '0') * 10 + (p[4] - '0');
    return -1;
}

/* ---- database helpers ---- */

static int db_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        set_err(err, errlen, "%s", PQresultErrorMessage(res));
    PQclear(res);
    return ok ? 0 : -1;
}

/* A query with text parameters; NULL with err unless it returned rows or OK. */
static PGresult *db_query(PGconn *conn, const char *sql, int n, const char *const *params,
                          char *err, size_t errlen)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        set_err(err, errlen, "%s", PQresultErrorMessage(res));
        PQclear(res);
        return NULL;
    }
    return res;
}

static long db_count(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res = db_query(conn, sql, 0, NULL, err, errlen);
    long v = -1;
    if (res && PQntuples(res) == 1)
        v = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

static void db_rollback(PGconn *conn)
{
    char ignored[256];
    db_exec(conn, "ROLLBACK", ignored, sizeof(ignored));
}

/* Sets err to "what: message", trimming libpq's trailing newline. */
static void db_err(char *err, size_t errlen, const char *what, const char *msg)
{
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    set_err(err, errlen, "%s: %.*s", what, (int)n, msg);
}

/* COPY ... FROM STDIN in text format, buffered. */
struct copy {
    PGconn *conn;
    struct ss_buf buf;
    int field; /* fields so far in the current row */
    int failed;
};

static int copy_begin(struct copy *c, PGconn *conn, const char *sql, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->conn = conn;
    ss_buf_init(&c->buf, (size_t)16 << 20);
    PGresult *res = PQexec(conn, sql);
    int ok = PQresultStatus(res) == PGRES_COPY_IN;
    if (!ok)
        set_err(err, errlen, "%s", PQresultErrorMessage(res));
    PQclear(res);
    if (!ok)
        ss_buf_free(&c->buf);
    return ok ? 0 : -1;
}

static void copy_text(struct copy *c, const char *s)
{
    if (c->field++)
        c->failed |= ss_buf_addc(&c->buf, '\t') < 0;
    if (!s) {
        c->failed |= ss_buf_adds(&c->buf, "\\N") < 0;
        return;
    }
    for (; *s; s++) {
        const char *esc = NULL;
        switch (*s) {
        case '\\':
            esc = "\\\\";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        default:
            break;
        }
        c->failed |= (esc ? ss_buf_adds(&c->buf, esc) : ss_buf_addc(&c->buf, *s)) < 0;
    }
}

static void copy_int(struct copy *c, long long v)
{
    char num[32];
    snprintf(num, sizeof(num), "%lld", v);
    copy_text(c, num);
}

static int copy_flush(struct copy *c)
{
    if (c->buf.len && PQputCopyData(c->conn, c->buf.data, (int)c->buf.len) != 1)
        c->failed = 1;
    ss_buf_reset(&c->buf);
    return c->failed ? -1 : 0;
}

static int copy_row_end(struct copy *c)
{
    c->failed |= ss_buf_addc(&c->buf, '\n') < 0;
    c->field = 0;
    if (c->buf.len >= SS_REF_COPY_FLUSH)
        return copy_flush(c);
    return c->failed ? -1 : 0;
}

/* Ends the COPY; with abort set (or after a failure) the server discards it. */
static int copy_end(struct copy *c, int abort, char *err, size_t errlen)
{
    int ok = !abort && copy_flush(c) == 0;
    PQputCopyEnd(c->conn, ok ? NULL : "aborted by shelfsync");
    PGresult *res;
    while ((res = PQgetResult(c->conn)) != NULL) {
        if (ok && PQresultStatus(res) != PGRES_COMMAND_OK) {
            set_err(err, errlen, "%s", PQresultErrorMessage(res));
            ok = 0;
        }
        PQclear(res);
    }
    if (!ok && !abort && !*err)
        set_err(err, errlen, "COPY failed: %s", PQerrorMessage(c->conn));
    ss_buf_free(&c->buf);
    return ok ? 0 : -1;
}

/* BEGIN and the ref-load lock. */
static int begin(PGconn *conn, char *err, size_t errlen)
{
    char msg[1024];
    if (db_exec(conn, "BEGIN", msg, sizeof(msg)) < 0 ||
        db_exec(conn, "SET LOCAL client_min_messages = warning", msg, sizeof(msg)) < 0 ||
        db_exec(conn, "SELECT pg_advisory_xact_lock(" SS_REF_LOCK ")", msg, sizeof(msg)) < 0) {
        db_err(err, errlen, "cannot start the load", msg);
        db_rollback(conn);
        return -1;
    }
    return 0;
}

static int commit(PGconn *conn, char *err, size_t errlen)
{
    char msg[1024];
    if (db_exec(conn, "COMMIT", msg, sizeof(msg)) < 0) {
        db_err(err, errlen, "commit failed", msg);
        db_rollback(conn);
        return -1;
    }
    return 0;
}

/* ---- aliases: the merge that never lets an ambiguous name pick a code ---- */

struct alias_merge {
    struct ss__map keys;  /* alias_key -> code (val), alias (val2) */
    struct ss__map codes; /* codes in ref.authority */
    struct copy copy;
    int copying;
    unsigned added, ambiguous, unknown_code;
};

static int merge_open(struct alias_merge *m, PGconn *conn, char *err, size_t errlen)
{
    char msg[1024];
    PGresult *res;
    memset(m, 0, sizeof(*m));
    res = db_query(conn, "SELECT alias_key, code, alias FROM ref.authority_alias", 0, NULL, msg,
                   sizeof(msg));
    if (!res)
        goto fail;
    for (int i = 0; i < PQntuples(res); i++)
        if (map_put(&m->keys, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                    0) < 0) {
            PQclear(res);
            snprintf(msg, sizeof(msg), "out of memory");
            goto fail;
        }
    PQclear(res);
    res = db_query(conn, "SELECT code FROM ref.authority", 0, NULL, msg, sizeof(msg));
    if (!res)
        goto fail;
    for (int i = 0; i < PQntuples(res); i++)
        if (map_put(&m->codes, PQgetvalue(res, i, 0), NULL, NULL, 0) < 0) {
            PQclear(res);
            snprintf(msg, sizeof(msg), "out of memory");
            goto fail;
        }
    PQclear(res);
    return 0;
fail:
    db_err(err, errlen, "cannot read the aliases", msg);
    map_free(&m->keys);
    map_free(&m->codes);
    return -1;
}

/* Adds one alias unless its key is known; a key known for another code is
 * reported and left as it is. 0 or -1 with err. */
static int merge_add(struct alias_merge *m, PGconn *conn, const char *alias, const char *code,
                     const char *origin, char *err, size_t errlen)
{
    char key[SS_REF_KEY_MAX];
    if (ss_norm_authority_key(alias, strlen(alias), key, sizeof(key)) < 0)
        return 0;
    if (!map_get(&m->codes, code)) {
        ss_warn("authority alias \"%s\" (%s): %s is not in ref.authority; alias skipped", alias,
                origin, code);
        m->unknown_code++;
        return 0;
    }
    struct ss__ent *e = map_get(&m->keys, key);
    if (e) {
        if (strcmp(e->val, code) != 0) {
            ss_warn("ambiguous authority name: \"%s\" (%s) would stand for %s, but \"%s\" "
                    "already stands for %s (both give the key \"%s\"); keeping %s — fix by hand "
                    "in ref.authority_alias if that is wrong",
                    alias, origin, code, e->val2 ? e->val2 : "?", e->val, key, e->val);
            m->ambiguous++;
        }
        return 0;
    }
    if (map_put(&m->keys, key, code, alias, 0) < 0) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    if (!m->copying) {
        char msg[1024];
        if (copy_begin(&m->copy, conn,
                       "COPY ref.authority_alias (alias_key, code, alias, origin) FROM STDIN", msg,
                       sizeof(msg)) < 0) {
            db_err(err, errlen, "cannot write aliases", msg);
            return -1;
        }
        m->copying = 1;
    }
    copy_text(&m->copy, key);
    copy_text(&m->copy, code);
    copy_text(&m->copy, alias);
    copy_text(&m->copy, origin);
    if (copy_row_end(&m->copy) < 0) {
        set_err(err, errlen, "cannot write aliases: %s", PQerrorMessage(conn));
        return -1;
    }
    m->added++;
    return 0;
}

/* Ends the COPY (if any) and frees; 0 or -1 with err. */
static int merge_close(struct alias_merge *m, int abort, char *err, size_t errlen)
{
    int rc = 0;
    if (m->copying) {
        char msg[1024] = "";
        if (copy_end(&m->copy, abort, msg, sizeof(msg)) < 0 && !abort) {
            db_err(err, errlen, "cannot write aliases", msg);
            rc = -1;
        }
        m->copying = 0;
    }
    map_free(&m->keys);
    map_free(&m->codes);
    return rc;
}

/* ---- load authorities ---- */

struct auth_list {
    struct ss_ref_authority *a;
    size_t n, cap;
};

static int auth_collect(void *ud, const struct ss_ref_authority *row, char *err, size_t errlen)
{
    struct auth_list *l = ud;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        struct ss_ref_authority *g = realloc(l->a, cap * sizeof(*g));
        if (!g)
            goto nomem;
        l->a = g, l->cap = cap;
    }
    struct ss_ref_authority *a = &l->a[l->n];
    memset(a, 0, sizeof(*a));
    a->line = row->line;
    a->code = strdup(row->code);
    a->name = strdup(row->name);
    a->nice_name = strdup(row->nice_name);
    a->region = dup_or_null(row->region);
    a->nation = dup_or_null(row->nation);
    l->n++;
    if (!a->code || !a->name || !a->nice_name || (row->region && !a->region) ||
        (row->nation && !a->nation))
        goto nomem;
    return 0;
nomem:
    set_err(err, errlen, "out of memory");
    return -1;
}

static void auth_list_free(struct auth_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free((char *)l->a[i].code);
        free((char *)l->a[i].name);
        free((char *)l->a[i].nice_name);
        free((char *)l->a[i].region);
        free((char *)l->a[i].nation);
    }
    free(l->a);
}

static int read_file(const char *path, size_t max, char **out, size_t *outlen, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct ss_buf b;
    char chunk[65536];
    size_t n;
    if (!f) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    ss_buf_init(&b, max);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (ss_buf_add(&b, chunk, n) < 0) {
            set_err(err, errlen, "%s: larger than %zu bytes", path, max);
            goto fail;
        }
    if (ferror(f)) {
        set_err(err, errlen, "%s: read error: %s", path, strerror(errno));
        goto fail;
    }
    fclose(f);
    if (ss_buf_addc(&b, '\0') < 0) {
        set_err(err, errlen, "%s: larger than %zu bytes", path, max);
        ss_buf_free(&b);
        return -1;
    }
    *out = b.data;
    *outlen = b.len - 1;
    return 0;
fail:
    fclose(f);
    ss_buf_free(&b);
    return -1;
}

/* A compiled-in file as a stream (the parsers take FILE *). */
static FILE *open_builtin(const char *name, char *err, size_t errlen)
{
    const struct ss_ref_file *rf = ss_ref_file_find(name);
    FILE *f = rf ? fmemopen((void *)rf->data, rf->len ? rf->len : 1, "r") : NULL;
    if (!f)
        set_err(err, errlen, "built-in file %s is missing from this build", name);
    return f;
}

/* Successor rows for the temp table; old nice name derived from the name. */
static int succ_copy(void *ud, const struct ss_ref_successor *s, char *err, size_t errlen)
{
    static const char *const suffixes[] = {" County Council", " Borough Council", " City Council",
                                           " Council", NULL};
    struct copy *c = ud;
    char nice[512];
    snprintf(nice, sizeof(nice), "%s",
             strncmp(s->old_name, "Borough of ", 11) == 0 ? s->old_name + 11 : s->old_name);
    for (size_t i = 0; suffixes[i]; i++) {
        size_t n = strlen(nice), k = strlen(suffixes[i]);
        if (n > k && strcmp(nice + n - k, suffixes[i]) == 0) {
            nice[n - k] = '\0';
            break;
        }
    }
    copy_text(c, s->old_code);
    copy_text(c, s->old_name);
    copy_text(c, nice);
    copy_text(c, s->new_code);
    copy_text(c, s->changed_on);
    if (copy_row_end(c) < 0) {
        set_err(err, errlen, "cannot write successors: %s", PQerrorMessage(c->conn));
        return -1;
    }
    return 0;
}

struct curated_alias {
    char **alias, **code;
    size_t n, cap;
};

static int curated_collect(void *ud, const struct ss_ref_alias *a, char *err, size_t errlen)
{
    struct curated_alias *l = ud;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 32;
        char **ga = realloc(l->alias, cap * sizeof(char *));
        if (ga)
            l->alias = ga;
        char **gc = ga ? realloc(l->code, cap * sizeof(char *)) : NULL;
        if (!gc) {
            set_err(err, errlen, "out of memory");
            return -1;
        }
        l->code = gc, l->cap = cap;
    }
    l->alias[l->n] = strdup(a->alias);
    l->code[l->n] = strdup(a->code);
    l->n++;
    if (!l->alias[l->n - 1] || !l->code[l->n - 1]) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static void curated_free(struct curated_alias *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->alias[i]);
        free(l->code[i]);
    }
    free(l->alias);
    free(l->code);
}

int ss_ref_load_authorities(PGconn *conn, const char *path, FILE *report, char *err, size_t errlen)
{
    struct auth_list list = {0};
    struct curated_alias curated = {0};
    struct alias_merge merge;
    struct copy copy;
    char *data = NULL, msg[2048] = "";
    size_t len;
    int rc = -1, in_tx = 0, merging = 0;
    long england = 0, inserted = 0, changed = 0, successors = 0, abolished = 0;
    FILE *f;

    if (read_file(path, SS_REF_MAX_JSON, &data, &len, err, errlen) < 0)
        return -1;
    if (ss_ref_parse_authorities(path, data, len, auth_collect, &list, err, errlen) < 0)
        goto out;
    if (list.n == 0) {
        set_err(err, errlen, "%s: no authorities in the file", path);
        goto out;
    }
    if (!(f = open_builtin("authority_aliases.csv", err, errlen)))
        goto out;
    int nc = ss_ref_parse_aliases("authority_aliases.csv (built in)", f, curated_collect, &curated,
                                  err, errlen);
    fclose(f);
    if (nc < 0)
        goto out;
    for (size_t i = 0; i < list.n; i++)
        england += list.a[i].nation && strcmp(list.a[i].nation, "England") == 0;

    if (begin(conn, err, errlen) < 0)
        goto out;
    in_tx = 1;

    /* 1. The authorities, upserted; a row whose values are unchanged is not rewritten. */
    if (db_exec(conn,
                "CREATE TEMP TABLE ss_ref_authority_in (code text, name text, nice_name text,"
                " region text, nation text) ON COMMIT DROP",
                msg, sizeof(msg)) < 0 ||
        copy_begin(&copy, conn, "COPY ss_ref_authority_in FROM STDIN", msg, sizeof(msg)) < 0) {
        db_err(err, errlen, "cannot load authorities", msg);
        goto out;
    }
    for (size_t i = 0; i < list.n; i++) {
        const struct ss_ref_authority *a = &list.a[i];
        copy_text(&copy, a->code);
        copy_text(&copy, a->name);
        copy_text(&copy, a->nice_name);
        copy_text(&copy, a->region);
        copy_text(&copy, a->nation);
        if (copy_row_end(&copy) < 0)
            break;
    }
    if (copy_end(&copy, 0, msg, sizeof(msg)) < 0) {
        db_err(err, errlen, "cannot load authorities", msg);
        goto out;
    }
    PGresult *res = db_query(
        conn,
        "WITH up AS (INSERT INTO ref.authority AS a (code, name, nice_name, region, nation)"
        " SELECT code, name, nice_name, region, nation FROM ss_ref_authority_in"
        " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, nice_name = EXCLUDED.nice_name,"
        " region = EXCLUDED.region, nation = EXCLUDED.nation"
        " WHERE (a.name, a.nice_name, a.region, a.nation) IS DISTINCT FROM"
        " (EXCLUDED.name, EXCLUDED.nice_name, EXCLUDED.region, EXCLUDED.nation)"
        " RETURNING (xmax = 0) AS inserted)"
        " SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up",
        0, NULL, msg, sizeof(msg));
    if (!res) {
        db_err(err, errlen, "cannot load authorities", msg);
        goto out;
    }
    inserted = atol(PQgetvalue(res, 0, 0));
    changed = atol(PQgetvalue(res, 0, 1));
    PQclear(res);

    /* 2. Reorganisations: old codes kept (with valid_to) so facts keyed by them resolve. */
    if (!(f = open_builtin("authority_successors.csv", err, errlen)))
        goto out;
    if (db_exec(conn,
                "CREATE TEMP TABLE ss_ref_successor_in (old_code text, old_name text,"
                " old_nice text, new_code text, changed_on date) ON COMMIT DROP",
                msg, sizeof(msg)) < 0 ||
        copy_begin(&copy, conn, "COPY ss_ref_successor_in FROM STDIN", msg, sizeof(msg)) < 0) {
        fclose(f);
        db_err(err, errlen, "cannot load successors", msg);
        goto out;
    }
    int ns = ss_ref_parse_successors("authority_successors.csv (built in)", f, succ_copy, &copy,
                                     err, errlen);
    fclose(f);
    if (copy_end(&copy, ns < 0, msg, sizeof(msg)) < 0) {
        if (ns >= 0)
            db_err(err, errlen, "cannot load successors", msg);
        goto out;
    }
    res = db_query(conn,
                   "SELECT s.old_code, s.new_code FROM ss_ref_successor_in s"
                   " WHERE NOT EXISTS (SELECT 1 FROM ref.authority a WHERE a.code = s.new_code)"
                   " ORDER BY 1, 2",
                   0, NULL, msg, sizeof(msg));
    if (!res) {
        db_err(err, errlen, "cannot load successors", msg);
        goto out;
    }
    for (int i = 0; i < PQntuples(res); i++)
        ss_warn("successor %s -> %s skipped: %s is not in %s", PQgetvalue(res, i, 0),
                PQgetvalue(res, i, 1), PQgetvalue(res, i, 1), path);
    PQclear(res);
    static const char *const succ_sql[] = {
        "DELETE FROM ss_ref_successor_in s"
        " WHERE NOT EXISTS (SELECT 1 FROM ref.authority a WHERE a.code = s.new_code)",
        /* Old codes: historic name, the successor's region and nation, valid_to. */
        "INSERT INTO ref.authority AS a (code, name, nice_name, region, nation, valid_to)"
        " SELECT DISTINCT ON (s.old_code) s.old_code, s.old_name, s.old_nice, n.region,"
        " n.nation, s.changed_on - 1"
        " FROM ss_ref_successor_in s JOIN ref.authority n ON n.code = s.new_code"
        " ORDER BY s.old_code, s.changed_on"
        " ON CONFLICT (code) DO UPDATE SET valid_to = EXCLUDED.valid_to"
        " WHERE a.valid_to IS DISTINCT FROM EXCLUDED.valid_to",
        "UPDATE ref.authority a SET valid_from = s.changed_on"
        " FROM (SELECT new_code, max(changed_on) AS changed_on FROM ss_ref_successor_in"
        " GROUP BY new_code) s"
        " WHERE a.code = s.new_code AND a.valid_from IS DISTINCT FROM s.changed_on",
        "INSERT INTO ref.authority_successor AS x (old_code, new_code, changed_on)"
        " SELECT old_code, new_code, changed_on FROM ss_ref_successor_in"
        " ON CONFLICT (old_code, new_code) DO UPDATE SET changed_on = EXCLUDED.changed_on"
        " WHERE x.changed_on IS DISTINCT FROM EXCLUDED.changed_on",
        NULL};
    for (size_t i = 0; succ_sql[i]; i++)
        if (db_exec(conn, succ_sql[i], msg, sizeof(msg)) < 0) {
            db_err(err, errlen, "cannot load successors", msg);
            goto out;
        }
    successors = db_count(conn, "SELECT count(*) FROM ss_ref_successor_in", msg, sizeof(msg));
    abolished = db_count(conn, "SELECT count(DISTINCT old_code) FROM ss_ref_successor_in", msg,
                         sizeof(msg));

    /* 3. Aliases: official names, nice names, then the curated ones. */
    if (merge_open(&merge, conn, err, errlen) < 0)
        goto out;
    merging = 1;
    for (size_t i = 0; i < list.n; i++) {
        if (merge_add(&merge, conn, list.a[i].name, list.a[i].code, "authorities file name", err,
                      errlen) < 0 ||
            merge_add(&merge, conn, list.a[i].nice_name, list.a[i].code, "nice name", err, errlen) <
                0)
            goto out;
    }
    for (size_t i = 0; i < curated.n; i++)
        if (merge_add(&merge, conn, curated.alias[i], curated.code[i], "curated", err, errlen) < 0)
            goto out;
    unsigned added = merge.added, ambiguous = merge.ambiguous;
    merging = 0;
    if (merge_close(&merge, 0, err, errlen) < 0)
        goto out;

    /* 4. Tell the daemon its alias cache is stale. */
    res = db_query(conn,
                   "INSERT INTO ref.meta AS m (key, value) VALUES ('authorities_generation', '1')"
                   " ON CONFLICT (key) DO UPDATE SET value = (m.value::bigint + 1)::text"
                   " RETURNING value",
                   0, NULL, msg, sizeof(msg));
    if (!res) {
        db_err(err, errlen, "cannot update ref.meta", msg);
        goto out;
    }
    char generation[32];
    snprintf(generation, sizeof(generation), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    long aliases = db_count(conn, "SELECT count(*) FROM ref.authority_alias", msg, sizeof(msg));

    if (commit(conn, err, errlen) < 0) {
        in_tx = 0;
        goto out;
    }
    in_tx = 0;
    fprintf(report,
            "%s: %zu authorities (%ld England; %ld new, %ld changed), %ld aliases (%u new%s), "
            "%ld successors (%ld abolished codes kept); authorities generation %s\n",
            base_name(path), list.n, england, inserted, changed, aliases, added,
            ambiguous ? ", some ambiguous: see the warnings" : "", successors, abolished,
            generation);
    rc = 0;
out:
    if (merging)
        merge_close(&merge, 1, msg, sizeof(msg));
    if (in_tx)
        db_rollback(conn);
    auth_list_free(&list);
    curated_free(&curated);
    free(data);
    return rc;
}

/* ---- load populations ---- */

struct pop_load {
    PGconn *conn;
    struct copy copy;
    int year;
    struct curated_alias names; /* ONS names of codes in ref.authority */
    struct ss__map *codes;
    long areas;
};

static int pop_copy(void *ud, const struct ss_ref_population *p, char *err, size_t errlen)
{
    struct pop_load *l = ud;
    for (int age = 0; age < SS_REF_AGES; age++) {
        copy_text(&l->copy, p->code);
        copy_int(&l->copy, l->year);
        copy_int(&l->copy, age);
        copy_int(&l->copy, p->persons[age]);
        if (copy_row_end(&l->copy) < 0) {
            set_err(err, errlen, "cannot write populations: %s", PQerrorMessage(l->conn));
            return -1;
        }
    }
    l->areas++;
    if (map_get(l->codes, p->code)) {
        struct ss_ref_alias a = {p->name, p->code, p->line};
        return curated_collect(&l->names, &a, err, errlen);
    }
    return 0;
}

int ss_ref_load_populations(PGconn *conn, const char *path, int year, FILE *report, char *err,
                            size_t errlen)
{
    struct pop_load l = {.conn = conn, .year = year};
    struct alias_merge merge;
    char msg[2048] = "", yeartext[16];
    int rc = -1, in_tx = 0, merging = 0;
    FILE *f = NULL;

    if (l.year <= 0)
        l.year = ss_ref_year_from_name(path);
    if (l.year <= 0) {
        set_err(err, errlen,
                "%s: cannot tell the mid-year from the file name (like mye24...): give --year",
                path);
        return -1;
    }
    if (l.year < 1900 || l.year > 2100) {
        set_err(err, errlen, "--year %d: expected a year such as 2024", l.year);
        return -1;
    }
    if (!(f = fopen(path, "rb"))) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (begin(conn, err, errlen) < 0)
        goto out;
    in_tx = 1;
    if (merge_open(&merge, conn, err, errlen) < 0)
        goto out;
    merging = 1;
    l.codes = &merge.codes;
    snprintf(yeartext, sizeof(yeartext), "%d", l.year);
    const char *params[] = {yeartext};
    PGresult *res = db_query(conn,
                             "WITH d AS (DELETE FROM ref.population WHERE mid_year = $1::integer"
                             " RETURNING 1) SELECT count(*) FROM d",
                             1, params, msg, sizeof(msg));
    if (!res) {
        db_err(err, errlen, "cannot replace populations", msg);
        goto out;
    }
    long replaced = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (copy_begin(&l.copy, conn, "COPY ref.population (code, mid_year, age, persons) FROM STDIN",
                   msg, sizeof(msg)) < 0) {
        db_err(err, errlen, "cannot load populations", msg);
        goto out;
    }
    int n = ss_ref_parse_populations(path, f, pop_copy, &l, err, errlen);
    if (copy_end(&l.copy, n < 0, msg, sizeof(msg)) < 0) {
        if (n >= 0)
            db_err(err, errlen, "cannot load populations", msg);
        goto out;
    }
    if (n == 0) {
        set_err(err, errlen, "%s: no rows after the header", path);
        goto out;
    }
    for (size_t i = 0; i < l.names.n; i++)
        if (merge_add(&merge, conn, l.names.alias[i], l.names.code[i], "ONS population file", err,
                      errlen) < 0)
            goto out;
    unsigned added = merge.added, ambiguous = merge.ambiguous;
    merging = 0;
    if (merge_close(&merge, 0, err, errlen) < 0)
        goto out;
    if (commit(conn, err, errlen) < 0) {
        in_tx = 0;
        goto out;
    }
    in_tx = 0;
    fprintf(report,
            "%s: mid-%d populations of %ld areas (%ld rows, replacing %ld); %zu of them "
            "library authorities, %u new aliases%s\n",
            base_name(path), l.year, l.areas, l.areas * SS_REF_AGES, replaced, l.names.n, added,
            ambiguous ? " (some ambiguous: see the warnings)" : "");
    rc = 0;
out:
    if (merging)
        merge_close(&merge, 1, msg, sizeof(msg));
    if (in_tx)
        db_rollback(conn);
    curated_free(&l.names);
    fclose(f);
    return rc;
}

/* ---- load neighbours ---- */

struct nn_load {
    PGconn *conn;
    struct copy copy;
    long codes, rows;
};

static int nn_copy(void *ud, const struct ss_ref_neighbours *nb, char *err, size_t errlen)
{
    struct nn_load *l = ud;
    for (size_t i = 0; i < nb->n; i++) {
        copy_text(&l->copy, nb->code);
        copy_int(&l->copy, (long long)i + 1);
        copy_text(&l->copy, nb->neighbours[i]);
        if (copy_row_end(&l->copy) < 0) {
            set_err(err, errlen, "cannot write neighbours: %s", PQerrorMessage(l->conn));
            return -1;
        }
    }
    l->codes++;
    l->rows += (long)nb->n;
    return 0;
}

int ss_ref_load_neighbours(PGconn *conn, const char *path, FILE *report, char *err, size_t errlen)
{
    struct nn_load l = {.conn = conn};
    char msg[2048] = "";
    int rc = -1, in_tx = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (begin(conn, err, errlen) < 0)
        goto out;
    in_tx = 1;
    if (db_exec(conn,
                "CREATE TEMP TABLE ss_ref_neighbour_in (code text, rank integer,"
                " neighbour_code text) ON COMMIT DROP",
                msg, sizeof(msg)) < 0 ||
        copy_begin(&l.copy, conn, "COPY ss_ref_neighbour_in FROM STDIN", msg, sizeof(msg)) < 0) {
        db_err(err, errlen, "cannot load neighbours", msg);
        goto out;
    }
    int n = ss_ref_parse_neighbours(path, f, nn_copy, &l, err, errlen);
    if (copy_end(&l.copy, n < 0, msg, sizeof(msg)) < 0) {
        if (n >= 0)
            db_err(err, errlen, "cannot load neighbours", msg);
        goto out;
    }
    if (n == 0) {
        set_err(err, errlen, "%s: no rows after the header", path);
        goto out;
    }
    if (db_exec(conn,
                "DELETE FROM ref.nearest_neighbour"
                " WHERE code IN (SELECT code FROM ss_ref_neighbour_in)",
                msg, sizeof(msg)) < 0 ||
        db_exec(conn,
                "INSERT INTO ref.nearest_neighbour (code, rank, neighbour_code)"
                " SELECT code, rank, neighbour_code FROM ss_ref_neighbour_in",
                msg, sizeof(msg)) < 0) {
        db_err(err, errlen, "cannot load neighbours", msg);
        goto out;
    }
    long unknown = db_count(conn,
                            "SELECT count(DISTINCT c) FROM (SELECT code AS c FROM"
                            " ss_ref_neighbour_in UNION SELECT neighbour_code FROM"
                            " ss_ref_neighbour_in) x"
                            " WHERE NOT EXISTS (SELECT 1 FROM ref.authority a WHERE a.code = x.c)",
                            msg, sizeof(msg));
    if (commit(conn, err, errlen) < 0) {
        in_tx = 0;
        goto out;
    }
    in_tx = 0;
    if (unknown > 0)
        ss_warn("%s: %ld codes are not in ref.authority (load the authorities first?)",
                base_name(path), unknown);
    fprintf(report, "%s: nearest neighbours of %ld authorities (%ld rows)\n", base_name(path),
            l.codes, l.rows);
    rc = 0;
out:
    if (in_tx)
        db_rollback(conn);
    fclose(f);
    return rc;
}

/* ---- show, resolve ---- */

int ss_ref_show(PGconn *conn, FILE *out, char *err, size_t errlen)
{
    static const char *const sql =
        "SELECT 'ref.authority', format('%s rows (%s current, %s in England; %s abolished)',"
        "  count(*), count(*) FILTER (WHERE valid_to IS NULL),"
        "  count(*) FILTER (WHERE valid_to IS NULL AND nation = 'England'),"
        "  count(*) FILTER (WHERE valid_to IS NOT NULL)) FROM ref.authority"
        " UNION ALL SELECT 'ref.authority_alias', format('%s rows%s', count(*),"
        "  coalesce(' (' || (SELECT string_agg(o || ' ' || n, ', ' ORDER BY o) FROM"
        "  (SELECT origin o, count(*) n FROM ref.authority_alias GROUP BY origin) x) || ')', ''))"
        "  FROM ref.authority_alias"
        " UNION ALL SELECT 'ref.authority_successor', format('%s rows', count(*))"
        "  FROM ref.authority_successor"
        " UNION ALL SELECT 'ref.population', format('%s rows%s', count(*),"
        "  coalesce(' (' || (SELECT string_agg(format('mid-%s: %s areas', y, n), ', ' ORDER BY y)"
        "  FROM (SELECT mid_year y, count(DISTINCT code) n FROM ref.population GROUP BY 1) x)"
        "  || ')', '')) FROM ref.population"
        " UNION ALL SELECT 'ref.nearest_neighbour', format('%s rows (%s authorities)', count(*),"
        "  count(DISTINCT code)) FROM ref.nearest_neighbour"
        " UNION ALL SELECT 'ref.financial_year', format('%s rows (%s to %s)', count(*),"
        "  min(label), max(label)) FROM ref.financial_year"
        " UNION ALL SELECT 'ref.code_list', format('%s rows (%s lists)', count(*),"
        "  count(DISTINCT list)) FROM ref.code_list"
        " UNION ALL SELECT 'ref.meta', format('%s rows (authorities_generation %s)', count(*),"
        "  coalesce(max(value) FILTER (WHERE key = 'authorities_generation'), 'none'))"
        "  FROM ref.meta";
    char msg[2048];
    PGresult *res = db_query(conn, sql, 0, NULL, msg, sizeof(msg));
    if (!res) {
        db_err(err, errlen, "cannot read the ref tables (is the schema migrated?)", msg);
        return -1;
    }
    for (int i = 0; i < PQntuples(res); i++)
        fprintf(out, "%-24s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    PQclear(res);
    return 0;
}

int ss_ref_resolve(PGconn *conn, const char *name, char code[10], char *err, size_t errlen)
{
    char key[SS_REF_KEY_MAX], msg[2048], gss[10];
    const char *s = name;
    size_t len = strlen(name);
    PGresult *res;
    trim(&s, &len);
    code[0] = '\0';
    if (ss_norm_gss_code(s, len, gss)) {
        const char *params[] = {gss};
        res = db_query(conn, "SELECT code FROM ref.authority WHERE code = $1", 1, params, msg,
                       sizeof(msg));
    } else {
        if (ss_norm_authority_key(s, len, key, sizeof(key)) < 0)
            return 0;
        const char *params[] = {key};
        res = db_query(conn, "SELECT code FROM ref.authority_alias WHERE alias_key = $1", 1, params,
                       msg, sizeof(msg));
    }
    if (!res) {
        db_err(err, errlen, "cannot resolve an authority name", msg);
        return -1;
    }
    int found = PQntuples(res) == 1;
    if (found)
        snprintf(code, 10, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return found;
}

/* ---- the `shelfsync ref` command ---- */

static void cli_usage(FILE *f)
{
    fprintf(f, "usage: shelfsync ref load authorities FILE.json --config DAEMON-CONFIG\n"
               "       shelfsync ref load populations FILE.csv [--year N] --config DAEMON-CONFIG\n"
               "       shelfsync ref load neighbours FILE.csv --config DAEMON-CONFIG\n"
               "       shelfsync ref show --config DAEMON-CONFIG\n"
               "       shelfsync ref resolve NAME --config DAEMON-CONFIG\n");
}

int ss_ref_cli(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"year", required_argument, NULL, 'y'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL, *args[4];
    struct ss_daemon_config cfg;
    char err[4096] = "", *end;
    int c, nargs = 0, year = 0, status = 1, rc = -1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "-c:y:h", opts, NULL)) != -1) {
        switch (c) {
        case 1: /* an operand, in order */
            if (nargs == 4) {
                cli_usage(stderr);
                return 2;
            }
            args[nargs++] = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'y':
            errno = 0;
            year = (int)strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || year < 1900 || year > 2100) {
                fprintf(stderr, "shelfsync ref: --year \"%s\": expected a year such as 2024\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            cli_usage(stdout);
            return 0;
        default:
            cli_usage(stderr);
            return 2;
        }
    }
    int load = nargs == 3 && strcmp(args[0], "load") == 0;
    int show = nargs == 1 && strcmp(args[0], "show") == 0;
    int resolve = nargs == 2 && strcmp(args[0], "resolve") == 0;
    if (load && strcmp(args[1], "authorities") != 0 && strcmp(args[1], "populations") != 0 &&
        strcmp(args[1], "neighbours") != 0) {
        fprintf(stderr,
                "shelfsync ref load: unknown kind \"%s\" (authorities, populations, "
                "neighbours)\n",
                args[1]);
        return 2;
    }
    if ((!load && !show && !resolve) || !config) {
        if (!config && (load || show || resolve))
            fprintf(stderr, "shelfsync ref: --config DAEMON-CONFIG is required\n");
        cli_usage(stderr);
        return 2;
    }
    if (year && !(load && strcmp(args[1], "populations") == 0)) {
        fprintf(stderr, "shelfsync ref: --year applies to `ref load populations` only\n");
        return 2;
    }

    memset(&cfg, 0, sizeof(cfg));
    if (ss_daemon_config_load(config, &cfg, err, sizeof(err)) < 0) {
        ss_error("%s", err);
        return 1;
    }
    struct ss_wh *wh = ss_wh_connect(cfg.db_conninfo, cfg.db_password_file, err, sizeof(err));
    if (!wh) {
        ss_error("%s", err);
        goto out;
    }
    PGconn *conn = ss_wh_conn(wh);
    if (show) {
        rc = ss_ref_show(conn, stdout, err, sizeof(err));
    } else if (resolve) {
        char code[10];
        rc = ss_ref_resolve(conn, args[1], code, err, sizeof(err));
        if (rc >= 0)
            printf("%s\n", rc ? code : "unknown");
        status = rc == 1 ? 0 : 1;
        if (rc == 0)
            rc = 1; /* unknown: status 1, no error message */
    } else if (strcmp(args[1], "authorities") == 0) {
        rc = ss_ref_load_authorities(conn, args[2], stdout, err, sizeof(err));
    } else if (strcmp(args[1], "populations") == 0) {
        rc = ss_ref_load_populations(conn, args[2], year, stdout, err, sizeof(err));
    } else {
        rc = ss_ref_load_neighbours(conn, args[2], stdout, err, sizeof(err));
    }
    if (rc < 0)
        ss_error("%s%s", err, load ? " (nothing loaded)" : "");
    else if (!resolve)
        status = 0;
    ss_wh_free(wh);
out:
    ss_daemon_config_free(&cfg);
    return status;
}
