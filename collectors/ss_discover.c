/* ss_discover: see ss_discover.h. */
#include "ss_discover.h"

#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ss_buf.h"
#include "ss_config.h"
#include "ss_csv.h"
#include "ss_err.h"
#include "ss_http.h"
#include "ss_text.h"
#include "ss_transcode.h"
#include "ss_wide.h"

/* ---- encoding ---- */

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid; a
 * sequence cut by the end of the head counts as valid (-1). */
static int utf8_seq(const unsigned char *p, size_t n)
{
    int len = p[0] < 0x80             ? 1
              : (p[0] & 0xE0) == 0xC0 ? 2
              : (p[0] & 0xF0) == 0xE0 ? 3
              : (p[0] & 0xF8) == 0xF0 ? 4
                                      : 0;
    if (len == 0 || (len == 2 && p[0] < 0xC2) || (len == 4 && p[0] > 0xF4))
        return 0;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    }
    return len;
}

int ss_discover_encoding(const unsigned char *b, size_t n, const char **encoding, const char **bom,
                         char *why, size_t whylen)
{
    *bom = NULL;
    *encoding = "utf-8";
    if (n >= 2 && b[0] == 0xFF && b[1] == 0xFE) {
        *encoding = "utf-16", *bom = "UTF-16LE";
        return 0;
    }
    if (n >= 2 && b[0] == 0xFE && b[1] == 0xFF) {
        *encoding = "utf-16", *bom = "UTF-16BE";
        return 0;
    }
    if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
        *bom = "UTF-8";
    if (n >= 2 && b[0] == 0x1F && b[1] == 0x8B) {
        snprintf(why, whylen, "it is gzip-compressed data, not text");
        return SS_EINVAL;
    }
    if (n >= 4 && memcmp(b, "PK\x03\x04", 4) == 0) {
        snprintf(why, whylen,
                 "it is a zip archive (an .xlsx or .ods spreadsheet?), not text: "
                 "save it as CSV");
        return SS_EINVAL;
    }
    /* UTF-16 without its mark: NUL bytes at every other offset. */
    size_t look = n < 512 ? n : 512, even = 0, odd = 0, ctl = 0;
    for (size_t i = 0; i < look; i++)
        if (b[i] == 0)
            *(i % 2 ? &odd : &even) += 1;
    if (look >= 4 && odd * 4 >= look && even * 16 < look) {
        *encoding = "utf-16le";
        return 0;
    }
    if (look >= 4 && even * 4 >= look && odd * 16 < look) {
        *encoding = "utf-16be";
        return 0;
    }
    /* A NUL byte is never text (the csv and json kinds stop at the first);
     * other control bytes (not tab, CR, LF, FF) at 1% or more are not
     * text either -- one or two are a stray vertical tab from a
     * spreadsheet cell. */
    int utf8 = 1;
    const unsigned char *nul = memchr(b, 0, n);
    if (nul) {
        snprintf(why, whylen, "it is not text: a NUL byte at offset %zu", (size_t)(nul - b));
        return SS_EINVAL;
    }
    for (size_t i = 0; i < n;) {
        if (b[i] < 0x20 && b[i] != '\t' && b[i] != '\r' && b[i] != '\n' && b[i] != '\f')
            ctl++;
        int l = utf8 ? utf8_seq(b + i, n - i) : 1;
        if (l < 0)
            break;
        if (l == 0)
            utf8 = 0, l = 1;
        i += (size_t)l;
    }
    if (ctl > 0 && ctl * 100 >= n) {
        snprintf(why, whylen, "it is not text: %zu control bytes in the first %zu", ctl, n);
        return SS_EINVAL;
    }
    if (!utf8)
        *encoding = "windows-1252";
    return 0;
}

/* ---- what the text is ---- */

enum ss_discover_format ss_discover_format(const char *text, size_t n, const char *content_type,
                                           char *why, size_t whylen)
{
    size_t i = 0;
    if (n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        i++;
    if (i == n)
        return SS_DISCOVER_EMPTY;
    size_t look = n < SS_HTTP_SNIFF_MAX ? n : SS_HTTP_SNIFF_MAX;
    if (ss_http_sniff_html(content_type, text, look, 1, why, whylen) == 1)
        return SS_DISCOVER_HTML;
    if (text[i] == '[' || text[i] == '{')
        return SS_DISCOVER_JSON;
    return SS_DISCOVER_CSV;
}

/* ---- delimiter ---- */

char ss_discover_delimiter(const char *text, size_t n)
{
    static const char cand[] = {',', ';', '\t', '|'};
    enum { NC = sizeof cand, MAXL = 50 };
    size_t count[MAXL][NC];
    size_t nlines = 0, cur[NC] = {0};
    int quoted = 0;
    for (size_t i = 0; i < n && nlines < MAXL; i++) {
        char c = text[i];
        if (c == '"')
            quoted = !quoted;
        else if (!quoted && (c == '\n' || c == '\r')) {
            if (c == '\r' && i + 1 < n && text[i + 1] == '\n')
                i++;
            memcpy(count[nlines++], cur, sizeof cur);
            memset(cur, 0, sizeof cur);
        } else if (!quoted)
            for (size_t k = 0; k < NC; k++)
                cur[k] += c == cand[k];
    }
    /* A last line without its end counts only when it is the only one. */
    if (nlines == 0)
        memcpy(count[nlines++], cur, sizeof cur);
    char best = ',';
    size_t best_same = 0, best_n = 0;
    for (size_t k = 0; k < NC; k++) {
        size_t first = count[0][k], same = 0;
        if (first == 0)
            continue;
        for (size_t l = 0; l < nlines; l++)
            same += count[l][k] == first;
        if (same > best_same || (same == best_same && first > best_n)) {
            best = cand[k];
            best_same = same;
            best_n = first;
        }
    }
    return best;
}

/* ---- names and values ---- */

/* The name folded for matching: ASCII letters lower-cased, other ASCII
 * dropped, other bytes kept. */
static size_t fold(const char *s, size_t len, char *dst, size_t dstlen)
{
    size_t j = 0;
    for (size_t i = 0; i < len && j + 1 < dstlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || isalnum(c))
            dst[j++] = (char)tolower(c);
    }
    dst[j] = '\0';
    return j;
}

int ss_discover_header_matches(const char *header, size_t len, const struct ss_field *f)
{
    char a[256], b[256];
    if (fold(header, len, a, sizeof a) == 0)
        return 0;
    for (size_t k = 0; k < SS_FIELD_MAX_HEADERS && f->headers[k]; k++)
        if (fold(f->headers[k], strlen(f->headers[k]), b, sizeof b) && strcmp(a, b) == 0)
            return 1;
    return fold(f->name, strlen(f->name), b, sizeof b) && strcmp(a, b) == 0;
}

/* What a cell holds, for the header and headerless guesses. */
enum cell { C_EMPTY, C_NUMBER, C_DATE, C_MONTH, C_PERIOD, C_TIME, C_X, C_TEXT };

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return n > 0;
}

static enum cell classify(const char *s)
{
    size_t n = strlen(s);
    ss_trim(&s, &n);
    if (n == 0)
        return C_EMPTY;
    if (n == 1 && (s[0] == 'x' || s[0] == 'X'))
        return C_X; /* a withheld count */
    /* a number: -1,234.5 */
    size_t i = s[0] == '-' ? 1 : 0, digits = 0;
    int num = i < n;
    for (; i < n && num; i++) {
        if (isdigit((unsigned char)s[i]))
            digits++;
        else if (s[i] != ',' && s[i] != '.')
            num = 0;
    }
    if (num && digits)
        return C_NUMBER;
    /* a date: 2019-04-01, 01/04/2019 */
    if (n == 10 && all_digits(s, 4) && s[4] == '-' && all_digits(s + 5, 2) && s[7] == '-' &&
        all_digits(s + 8, 2))
        return C_DATE;
    if (n == 10 && all_digits(s, 2) && s[2] == '/' && all_digits(s + 3, 2) && s[5] == '/' &&
        all_digits(s + 6, 4))
        return C_DATE;
    if (n == 5 && all_digits(s, 2) && s[2] == ':' && all_digits(s + 3, 2))
        return C_TIME;
    int y, m;
    if (ss_wide_parse_month(s, n, &y, &m))
        return C_MONTH;
    struct ss_wide_period p;
    if (ss_wide_parse_period(s, n, &p))
        return C_PERIOD;
    return C_TEXT;
}

int ss_discover_header(char *const *const *rows, size_t nrows, size_t ncols)
{
    if (nrows == 0)
        return 0;
    for (size_t c = 0; c < ncols; c++) {
        enum cell k = classify(rows[0][c]);
        if (k == C_NUMBER || k == C_DATE || k == C_TIME)
            return 0;
        if (k == C_MONTH || k == C_PERIOD)
            for (size_t r = 1; r < nrows; r++) {
                enum cell below = classify(rows[r][c]);
                if (below == C_MONTH || below == C_PERIOD)
                    return 0;
            }
    }
    return 1;
}

/* The field f of ds that names, by its header, column name; -1 if none.
 * taken: the fields already given a column. */
static int field_for(const struct ss_dataset *ds, const char *name, const int *taken)
{
    for (size_t f = 0; f < ds->nfields; f++)
        if (!taken[f] && ds->fields[f].type != SS_FT_OCCURRENCE &&
            ss_discover_header_matches(name, strlen(name), &ds->fields[f]))
            return (int)f;
    return -1;
}

const struct ss_dataset *ss_discover_guess_dataset(const char *const *names, size_t n,
                                                   size_t *score)
{
    const struct ss_dataset *const *all = ss_dataset_all(), *best = NULL;
    size_t best_score = 0;
    for (size_t d = 0; all[d]; d++) {
        int taken[SS_DATASET_MAX_COLUMNS] = {0};
        size_t s = 0;
        if (all[d]->nfields > SS_DATASET_MAX_COLUMNS)
            continue;
        for (size_t c = 0; c < n; c++) {
            int f = field_for(all[d], names[c], taken);
            if (f >= 0)
                taken[f] = 1, s++;
        }
        /* s / nfields > best_score / best->nfields, in integers */
        if (s > best_score ||
            (s && s == best_score && s * best->nfields > best_score * all[d]->nfields)) {
            best = all[d];
            best_score = s;
        }
    }
    *score = best_score;
    return best;
}

/* ---- headerless: by position and value type ---- */

/* The cell kinds (1 << enum cell) a field of type t takes. */
static unsigned kinds_of(enum ss_ftype t)
{
    switch (t) {
    case SS_FT_COUNT:
    case SS_FT_UPRN:
    case SS_FT_DECIMAL:
    case SS_FT_YEAR:
        return 1u << C_NUMBER;
    case SS_FT_SUPPRESSED:
        return 1u << C_NUMBER | 1u << C_X;
    case SS_FT_DATE:
    case SS_FT_PERIOD_START:
    case SS_FT_PERIOD_END:
    case SS_FT_TIMESTAMP:
        return 1u << C_DATE;
    case SS_FT_MONTH:
        return 1u << C_MONTH;
    case SS_FT_PERIOD:
        return 1u << C_PERIOD | 1u << C_MONTH;
    case SS_FT_TIME:
        return 1u << C_TIME;
    case SS_FT_HOURS:
        return 1u << C_TEXT | 1u << C_TIME;
    case SS_FT_OCCURRENCE:
        return 0;
    default:
        return 1u << C_TEXT | 1u << C_X;
    }
}

/* The kinds of the sampled values of column c (empty cells left out). */
static unsigned column_kinds(char *const *const *rows, size_t nrows, size_t c)
{
    unsigned mask = 0;
    for (size_t r = 0; r < nrows; r++) {
        enum cell k = classify(rows[r][c]);
        if (k != C_EMPTY)
            mask |= 1u << k;
    }
    return mask;
}

/* Whether a column whose values are of the kinds in mask fits type t:
 * some value, and every one of a kind t takes. */
static int kinds_fit(unsigned mask, enum ss_ftype t)
{
    return mask != 0 && (mask & ~kinds_of(t)) == 0;
}

/* Each column the next field, in the dataset's order, that its values fit;
 * the columns' names become the fields' published headers. */
static int map_by_position(struct ss_discover *d)
{
    size_t next = 0;
    for (size_t c = 0; c < d->ncols; c++) {
        for (size_t f = next; f < d->ds->nfields; f++)
            if (kinds_fit(d->kinds[c], d->ds->fields[f].type)) {
                d->field[c] = (int)f;
                next = f + 1;
                break;
            }
        const struct ss_field *fd = d->field[c] >= 0 ? &d->ds->fields[d->field[c]] : NULL;
        char name[64];
        if (fd)
            snprintf(name, sizeof name, "%s", fd->headers[0] ? fd->headers[0] : fd->name);
        else
            snprintf(name, sizeof name, "column_%zu", c + 1);
        free(d->cols[c]);
        if (!(d->cols[c] = strdup(name)))
            return SS_ENOMEM;
    }
    return 0;
}

/* ---- the sample's rows ---- */

struct sample {
    char ***rows; /* rows[r][c], ncols cells each (missing cells "") */
    size_t nrows, ncols;
    int stop_more; /* more rows than kept */
};

static void sample_free(struct sample *s)
{
    for (size_t r = 0; r < s->nrows; r++) {
        for (size_t c = 0; c < s->ncols; c++)
            free(s->rows[r][c]);
        free(s->rows[r]);
    }
    free(s->rows);
    memset(s, 0, sizeof *s);
}

static int sample_row(void *ud, const struct ss_csv_record *rec)
{
    struct sample *s = ud;
    if (rec->error)
        return 0;
    if (s->nrows == 0)
        s->ncols = rec->nfields < SS_DISCOVER_MAX_COLUMNS ? rec->nfields : SS_DISCOVER_MAX_COLUMNS;
    if (s->nrows >= SS_DISCOVER_MAX_ROWS + 1) {
        s->stop_more = 1;
        return 0;
    }
    char **row = calloc(s->ncols ? s->ncols : 1, sizeof *row);
    char ***rows = row ? realloc(s->rows, (s->nrows + 1) * sizeof *rows) : NULL;
    if (!rows) {
        free(row);
        return SS_ENOMEM;
    }
    s->rows = rows;
    s->rows[s->nrows++] = row;
    for (size_t c = 0; c < s->ncols; c++)
        if (!(row[c] = strndup(c < rec->nfields ? rec->fields[c] : "",
                               c < rec->nfields ? rec->lens[c] : 0)))
            return SS_ENOMEM;
    return 0;
}

/* ---- JSON ---- */

/* The dotted path (into path) of the first array of objects at or under
 * v, depth at most 3; the array, or NULL. */
static json_t *find_records(json_t *v, char *path, size_t pathlen, int depth)
{
    if (json_is_array(v) && json_array_size(v) > 0 && json_is_object(json_array_get(v, 0)))
        return v;
    if (!json_is_object(v) || depth >= 3)
        return NULL;
    const char *key;
    json_t *m;
    size_t used = strlen(path);
    json_object_foreach(v, key, m)
    {
        snprintf(path + used, pathlen - used, "%s%s", used ? "." : "", key);
        json_t *found = find_records(m, path, pathlen, depth + 1);
        if (found)
            return found;
        path[used] = '\0';
    }
    return NULL;
}

/* The keys of the first records, in order of appearance, as the columns. */
static int json_columns(struct ss_discover *d, const char *text, size_t n, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(text, n, JSON_DISABLE_EOF_CHECK, &je);
    size_t end = root ? (size_t)je.position : 0;
    /* JSON_DISABLE_EOF_CHECK stops after the first value: more text after
     * it on later lines is newline-delimited JSON. */
    while (root && end < n && (text[end] == ' ' || text[end] == '\r' || text[end] == '\t'))
        end++;
    if (root && end < n && text[end] == '\n' && json_is_object(root)) {
        d->ndjson = 1;
        json_t *arr = json_array();
        json_array_append_new(arr, root);
        root = arr;
    }
    if (!root) {
        snprintf(err, errlen,
                 "the JSON is not complete in the first %zu bytes or not valid (%s at line %d): "
                 "--discover reads JSON whose records begin within that",
                 n, je.text, je.line);
        return SS_EINVAL;
    }
    d->json_path[0] = '\0';
    json_t *recs = find_records(root, d->json_path, sizeof d->json_path, 0);
    if (!recs) {
        json_decref(root);
        snprintf(err, errlen, "the JSON holds no array of objects (records)");
        return SS_EINVAL;
    }
    size_t cap = 0;
    for (size_t i = 0; i < json_array_size(recs) && i < SS_DISCOVER_MAX_ROWS; i++) {
        const char *key;
        json_t *m;
        json_t *rec = json_array_get(recs, i);
        if (!json_is_object(rec))
            continue;
        d->rows++;
        json_object_foreach(rec, key, m)
        {
            size_t c = 0;
            while (c < d->ncols && strcmp(d->cols[c], key) != 0)
                c++;
            if (c < d->ncols || d->ncols >= SS_DISCOVER_MAX_COLUMNS)
                continue;
            if (d->ncols == cap) {
                cap = cap ? cap * 2 : 16;
                char **cols = realloc(d->cols, cap * sizeof *cols);
                if (!cols)
                    goto nomem;
                d->cols = cols;
            }
            if (!(d->cols[d->ncols] = strdup(key)))
                goto nomem;
            d->ncols++;
        }
    }
    json_decref(root);
    if (d->ncols == 0) {
        snprintf(err, errlen, "the JSON records have no fields: nothing to map");
        return SS_EINVAL;
    }
    return 0;
nomem:
    json_decref(root);
    return SS_ENOMEM;
}

/* ---- the analysis ---- */

static int transcode_sink(void *ud, const char *data, size_t len)
{
    return ss_buf_add(ud, data, len) < 0 ? SS_ENOMEM : 0;
}

/* The raw head converted to UTF-8 text. */
static int to_utf8(const char *raw, size_t n, const char *encoding, struct ss_buf *out)
{
    struct ss_transcode *t;
    int rc = ss_transcode_new(&t, encoding, transcode_sink, out);
    if (rc < 0)
        return rc;
    rc = ss_transcode_feed(t, raw, n);
    if (rc == 0)
        rc = ss_transcode_finish(t);
    ss_transcode_free(t);
    return rc < 0 ? rc : rc ? SS_ENOMEM : 0;
}

/* The CSV columns, header or not, and the rows sampled. */
static int csv_columns(struct ss_discover *d, const char *text, size_t n, struct sample *s,
                       char *err, size_t errlen)
{
    d->delimiter = ss_discover_delimiter(text, n);
    struct ss_csv_opts o = {.delimiter = d->delimiter, .max_record = 2 * SS_DISCOVER_MAX_BYTES};
    struct ss_csv *csv = ss_csv_new(&o, sample_row, s);
    if (!csv)
        return SS_ENOMEM;
    int rc = ss_csv_feed(csv, text, n);
    if (rc == 0)
        rc = ss_csv_finish(csv);
    ss_csv_free(csv);
    if (rc)
        return rc < 0 ? rc : SS_ENOMEM;
    /* The last row of a head that stops mid-export may be cut short. */
    if (d->truncated && !s->stop_more && s->nrows > 1) {
        for (size_t c = 0; c < s->ncols; c++)
            free(s->rows[s->nrows - 1][c]);
        free(s->rows[--s->nrows]);
    }
    if (s->nrows == 0 || s->ncols == 0) {
        snprintf(err, errlen, "no rows");
        return SS_EINVAL;
    }
    d->header =
        ss_discover_header((char *const *const *)s->rows, s->nrows > 50 ? 50 : s->nrows, s->ncols);
    d->ncols = s->ncols;
    d->rows = s->nrows - (size_t)d->header;
    if (!(d->cols = calloc(d->ncols, sizeof *d->cols)))
        return SS_ENOMEM;
    for (size_t c = 0; c < d->ncols; c++) {
        const char *v = d->header ? s->rows[0][c] : "";
        size_t len = strlen(v);
        ss_trim(&v, &len);
        if (!(d->cols[c] = strndup(v, len)))
            return SS_ENOMEM;
    }
    return 0;
}

/* Period columns (a wide file) and each other column's field. */
static void map_by_header(struct ss_discover *d)
{
    int taken[SS_DATASET_MAX_COLUMNS] = {0};
    struct ss_wide_period p;
    d->all_months = 1;
    for (size_t c = 0; c < d->ncols; c++) {
        d->field[c] = field_for(d->ds, d->cols[c], taken);
        if (d->field[c] >= 0)
            taken[d->field[c]] = 1;
        else if (d->format == SS_DISCOVER_CSV &&
                 ss_wide_parse_period(d->cols[c], strlen(d->cols[c]), &p)) {
            d->period[c] = 1;
            d->nperiod++;
            d->all_months &= ss_wide_period_is_month(&p) || p.also_fy;
        }
    }
    if (d->nperiod < 2) {
        memset(d->period, 0, d->ncols * sizeof *d->period);
        d->nperiod = 0;
        return;
    }
    /* Wide: the cells fill the first required count no column names; the
     * period goes to month when every column is a month, else period. */
    for (size_t f = 0; f < d->ds->nfields && !d->value_field; f++) {
        const struct ss_field *fd = &d->ds->fields[f];
        if (!taken[f] && (fd->flags & SS_F_REQUIRED) &&
            (fd->type == SS_FT_COUNT || fd->type == SS_FT_SUPPRESSED || fd->type == SS_FT_DECIMAL))
            d->value_field = fd->name;
    }
    if (d->all_months && ss_dataset_field_index(d->ds, "month") >= 0)
        d->period_field = "month";
    else if (ss_dataset_field_index(d->ds, "period") >= 0)
        d->period_field = "period";
    if (!d->value_field || !d->period_field)
        d->value_field = d->period_field = NULL; /* reported; the columns stay unmapped */
}

int ss_discover_analyse(const char *raw, size_t n, int truncated, const char *content_type,
                        const char *url, const char *dataset, struct ss_discover *d, char *err,
                        size_t errlen)
{
    char why[512] = "", shown[1024];
    struct ss_buf text;
    struct sample s = {0};
    int rc;
    memset(d, 0, sizeof *d);
    ss_buf_init(&text, 4 * SS_DISCOVER_MAX_BYTES + 16);
    ss_http_redact(url ? url : "", shown, sizeof shown);
    d->nbytes = n;
    d->truncated = truncated;
    if (dataset && !(d->ds = ss_dataset_find(dataset))) {
        snprintf(err, errlen, "--dataset %s: no such dataset", dataset);
        rc = SS_EINVAL;
        goto out;
    }
    d->ds_given = dataset != NULL;
    if ((rc = ss_discover_encoding((const unsigned char *)raw, n, &d->encoding, &d->bom, why,
                                   sizeof why)) < 0)
        goto fail;
    if ((rc = to_utf8(raw, n, d->encoding, &text)) < 0) {
        snprintf(why, sizeof why, "it could not be read as %s", d->encoding);
        goto fail;
    }
    d->format =
        ss_discover_format(text.data ? text.data : "", text.len, content_type, why, sizeof why);
    if (d->format == SS_DISCOVER_EMPTY) {
        snprintf(why, sizeof why, "it is empty");
        rc = SS_EINVAL;
        goto fail;
    }
    if (d->format == SS_DISCOVER_HTML) {
        ss_http_html_error(err, errlen, url ? url : "", why, "CSV or JSON");
        rc = SS_EINVAL;
        goto out;
    }
    rc = d->format == SS_DISCOVER_JSON ? json_columns(d, text.data, text.len, why, sizeof why)
                                       : csv_columns(d, text.data, text.len, &s, why, sizeof why);
    if (rc < 0)
        goto fail;
    if (!(d->field = calloc(d->ncols, sizeof *d->field)) ||
        !(d->period = calloc(d->ncols, sizeof *d->period))) {
        rc = SS_ENOMEM;
        goto out;
    }
    for (size_t c = 0; c < d->ncols; c++)
        d->field[c] = -1;
    if (!(d->kinds = calloc(d->ncols, sizeof *d->kinds))) {
        rc = SS_ENOMEM;
        goto out;
    }
    /* What the values look like, from the data rows (up to 200). */
    for (size_t c = 0; c < d->ncols && s.nrows > (size_t)d->header; c++) {
        size_t nr = s.nrows - (size_t)d->header;
        d->kinds[c] =
            column_kinds((char *const *const *)s.rows + d->header, nr > 200 ? 200 : nr, c);
    }
    if (d->format == SS_DISCOVER_CSV && !d->header) {
        if (!d->ds) {
            snprintf(why, sizeof why,
                     "its first row is data, not a header (%zu columns): pass --dataset NAME to "
                     "map the columns by position and value",
                     d->ncols);
            rc = SS_EINVAL;
            goto fail;
        }
        if ((rc = map_by_position(d)) < 0)
            goto out;
        goto done;
    }
    if (!d->ds) {
        d->ds = ss_discover_guess_dataset((const char *const *)d->cols, d->ncols, &d->ds_score);
        if (!d->ds) {
            snprintf(why, sizeof why,
                     "no column header is one a dataset publishes: pass --dataset NAME");
            rc = SS_EINVAL;
            goto fail;
        }
    }
    if (d->ds->nfields > SS_DATASET_MAX_COLUMNS) {
        rc = SS_E2BIG;
        goto out;
    }
    map_by_header(d);
done:
    d->ds_score = 0;
    for (size_t c = 0; c < d->ncols; c++)
        d->ds_score += d->field[c] >= 0;
    rc = 0;
    goto out;
fail:
    snprintf(err, errlen, "%s: nothing to propose: %s", shown, why);
out:
    sample_free(&s);
    ss_buf_free(&text);
    if (rc < 0)
        ss_discover_free(d);
    return rc;
}

void ss_discover_free(struct ss_discover *d)
{
    for (size_t c = 0; c < d->ncols && d->cols; c++)
        free(d->cols[c]);
    free(d->cols);
    free(d->field);
    free(d->period);
    free(d->kinds);
    d->kinds = NULL;
    d->cols = NULL;
    d->field = d->period = NULL;
    d->ncols = 0;
}

/* ---- the proposal ---- */

/* The source name from the URL's last path segment, without extension or
 * query, in the characters a source name allows; else the dataset's name. */
static void source_name(const char *url, const char *dataset, char *dst, size_t dstlen)
{
    const char *end = url + strcspn(url, "?#"), *start = end;
    while (start > url && start[-1] != '/')
        start--;
    const char *dot = end;
    for (const char *p = start; p < end; p++)
        if (*p == '.')
            dot = p;
    if (dot > start)
        end = dot;
    size_t j = 0;
    for (const char *p = start; p < end && j + 1 < dstlen && j < 64; p++) {
        unsigned char c = (unsigned char)*p;
        dst[j++] = (char)(isalnum(c) || c == '.' || c == '_' || c == '-' ? c : '-');
    }
    dst[j] = '\0';
    if (j == 0)
        snprintf(dst, dstlen, "%s", dataset);
}

static int field_mapped(const struct ss_discover *d, size_t f)
{
    for (size_t c = 0; c < d->ncols; c++)
        if (d->field[c] == (int)f)
            return 1;
    return 0;
}

/* Whether the records carry a count period: a column or the wide period. */
static int has_period(const struct ss_discover *d)
{
    if (!(d->ds->flags & SS_DS_PERIOD) || d->period_field)
        return 1;
    int m = ss_dataset_field_index(d->ds, "month"), p = ss_dataset_field_index(d->ds, "period");
    int s = ss_dataset_field_index(d->ds, "period_start");
    int e = ss_dataset_field_index(d->ds, "period_end");
    return (m >= 0 && field_mapped(d, (size_t)m)) || (p >= 0 && field_mapped(d, (size_t)p)) ||
           (s >= 0 && e >= 0 && field_mapped(d, (size_t)s) && field_mapped(d, (size_t)e));
}

/* Whether field f must come from a constant: required, no column, not
 * what a wide file fills. */
static int needs_constant(const struct ss_discover *d, size_t f)
{
    const struct ss_field *fd = &d->ds->fields[f];
    if (!(fd->flags & SS_F_REQUIRED) || fd->type == SS_FT_OCCURRENCE || field_mapped(d, f))
        return 0;
    return !(d->value_field && strcmp(fd->name, d->value_field) == 0) &&
           !(d->period_field && strcmp(fd->name, d->period_field) == 0);
}

/* Whether column c is neither mapped nor a period column that loads. */
static int unmapped(const struct ss_discover *d, size_t c)
{
    return d->field[c] < 0 && !(d->period[c] && d->value_field);
}

/* Appends "A", "B", ... (the columns for which pick says 1) to b. */
static size_t list_columns(const struct ss_discover *d,
                           int (*pick)(const struct ss_discover *, size_t), struct ss_buf *b)
{
    size_t n = 0;
    for (size_t c = 0; c < d->ncols; c++)
        if (pick(d, c))
            ss_buf_printf(b, "%s\"%s\"", n++ ? ", " : "", d->cols[c]);
    return n;
}

/* Appends to b, for each field that needs a constant, the unmapped
 * columns whose values are of its type: "; count_date could be \"Stock
 * date\"". Only for the types a value shows (numbers, dates, months,
 * periods, times): any text column could be a text field. */
static void suggest(const struct ss_discover *d, struct ss_buf *b)
{
    for (size_t f = 0; f < d->ds->nfields; f++) {
        enum ss_ftype t = d->ds->fields[f].type;
        if (!needs_constant(d, f) || (kinds_of(t) & (1u << C_TEXT)))
            continue;
        size_t n = 0;
        for (size_t c = 0; c < d->ncols; c++)
            if (unmapped(d, c) && !d->period[c] && d->kinds && kinds_fit(d->kinds[c], t))
                ss_buf_printf(b, "%s\"%s\"", n++ ? " or " : "; maybe a column: ", d->cols[c]);
        if (n)
            ss_buf_printf(b, " for %s", d->ds->fields[f].name);
    }
}

static const char *delimiter_name(char c)
{
    return c == ';' ? "semicolon" : c == '\t' ? "tab" : c == '|' ? "pipe" : "comma";
}

/* The period columns' first and last headers, for descriptions. */
static void period_range(const struct ss_discover *d, const char **first, const char **last)
{
    *first = *last = "";
    for (size_t c = 0; c < d->ncols; c++)
        if (d->period[c]) {
            if (!**first)
                *first = d->cols[c];
            *last = d->cols[c];
        }
}

static json_t *csv_object(const struct ss_discover *d)
{
    json_t *o = json_object();
    char delim[2] = {d->delimiter, '\0'}, desc[1024];
    snprintf(desc, sizeof desc,
             "Detected from the head of the export: %s%s, %s-separated, %s. "
             "detect_delimiter true instead of delimiter if the delimiter changes from one "
             "export to the next.",
             d->encoding, d->bom ? " (with a byte-order mark)" : "", delimiter_name(d->delimiter),
             d->header ? "the first row names the columns"
                       : "no header row: the column names below are the ones --discover gave "
                         "them, by position and by what their values look like");
    json_object_set_new(o, "description", json_string(desc));
    json_object_set_new(o, "delimiter", json_string(delim));
    json_object_set_new(o, "header", json_boolean(d->header));
    json_object_set_new(o, "encoding", json_string(d->encoding));
    if (!d->header) {
        json_t *cols = json_array();
        for (size_t c = 0; c < d->ncols; c++)
            json_array_append_new(cols, json_string(d->cols[c]));
        json_object_set_new(o, "columns", cols);
    }
    if (d->value_field) {
        json_t *w = json_object(), *ign = json_array();
        const char *first, *last;
        period_range(d, &first, &last);
        snprintf(desc, sizeof desc,
                 "A wide file: %zu columns read as periods (%s ... %s); each non-empty cell "
                 "becomes one record, its value in %s and its column's period in %s. The "
                 "columns nothing maps are left out on purpose (ignore): take one out of the "
                 "list and map it if it is data.",
                 d->nperiod, first, last, d->value_field, d->period_field);
        json_object_set_new(w, "description", json_string(desc));
        json_object_set_new(w, "value_field", json_string(d->value_field));
        json_object_set_new(w, "period_field", json_string(d->period_field));
        for (size_t c = 0; c < d->ncols; c++)
            if (unmapped(d, c) && d->cols[c][0])
                json_array_append_new(ign, json_string(d->cols[c]));
        if (json_array_size(ign))
            json_object_set_new(w, "ignore", ign);
        else
            json_decref(ign);
        json_object_set_new(o, "wide", w);
    }
    return o;
}

static json_t *mapping_object(const struct ss_discover *d)
{
    json_t *o = json_object();
    struct ss_buf b;
    ss_buf_init(&b, 65536);
    ss_buf_printf(&b, "Dataset field -> the export's %s, matched by %s.",
                  d->format == SS_DISCOVER_JSON ? "key" : "column",
                  d->header || d->format == SS_DISCOVER_JSON
                      ? "the field's published header or name (any case, spaces and punctuation "
                        "ignored)"
                      : "position and value type, in the dataset's published column order: "
                        "check each one");
    struct ss_buf cols;
    ss_buf_init(&cols, 60000);
    size_t n = list_columns(d, unmapped, &cols);
    if (n && !d->value_field)
        ss_buf_printf(&b,
                      " Not mapped, so not loaded (no field of %s has these headers): %.*s; "
                      "map one as \"field\": \"column\" if it is one.",
                      d->ds->name, (int)cols.len, cols.data);
    ss_buf_free(&cols);
    size_t nopt = 0;
    for (size_t f = 0; f < d->ds->nfields; f++) {
        const struct ss_field *fd = &d->ds->fields[f];
        if (field_mapped(d, f) || (fd->flags & SS_F_REQUIRED) || fd->type == SS_FT_OCCURRENCE ||
            (d->period_field && (ss_ftype_is_period(fd->type))))
            continue;
        ss_buf_printf(&b, "%s%s", nopt++ ? ", " : " Optional fields no column gives: ", fd->name);
    }
    if (nopt)
        ss_buf_adds(&b, ".");
    json_object_set_new(o, "description", json_stringn(b.data, b.len));
    ss_buf_free(&b);
    for (size_t f = 0; f < d->ds->nfields; f++)
        for (size_t c = 0; c < d->ncols; c++)
            if (d->field[c] == (int)f)
                json_object_set_new(o, d->ds->fields[f].name, json_string(d->cols[c]));
    return o;
}

/* The value a constant placeholder holds: a text that says what to write
 * there, which check-config accepts -- never a plausible value, so that one
 * left in an authority, date or number field is quarantined with its reason
 * (in a text field it would load: the description and the summary say to
 * replace each). */
static json_t *constants_object(const struct ss_discover *d)
{
    json_t *o = json_object();
    char v[512];
    struct ss_buf b;
    ss_buf_init(&b, 8192);
    size_t n = 0;
    for (size_t f = 0; f < d->ds->nfields; f++)
        if (needs_constant(d, f))
            ss_buf_printf(&b, "%s%s", n++ ? ", " : "", d->ds->fields[f].name);
    if (!has_period(d))
        ss_buf_printf(&b, "%speriod", n++ ? ", " : "");
    suggest(d, &b);
    if (n)
        json_object_set_new(
            o, "description",
            json_sprintf("FILL IN: required field%s of %s that no column gives: %.*s. Write each "
                         "value here (or map a column to it in \"mapping\"). Replace every "
                         "placeholder: left in, one in an authority, date or number field is "
                         "quarantined by the daemon, but one in a text field loads as written.",
                         n == 1 ? "" : "s", d->ds->name, (int)b.len, b.data));
    else
        json_object_set_new(o, "description",
                            json_string("Dataset field -> fixed value, for a field the export "
                                        "has no column for. Every required field has a column."));
    ss_buf_free(&b);
    for (size_t f = 0; f < d->ds->nfields; f++)
        if (needs_constant(d, f)) {
            const struct ss_field *fd = &d->ds->fields[f];
            snprintf(v, sizeof v, "FILL IN: %s (%s)", fd->comment ? fd->comment : fd->name,
                     ss_ftype_name(fd->type));
            json_object_set_new(o, fd->name, json_string(v));
        }
    if (!has_period(d))
        json_object_set_new(o, "period",
                            json_string("FILL IN: the count period of the whole export, e.g. "
                                        "2024-04-01/P1M or 2024-25, or map a Month column"));
    return o;
}

char *ss_discover_config_json(const struct ss_discover *d, const char *url)
{
    char source[80], desc[2048], state[160];
    source_name(url, d->ds->name, source, sizeof source);
    snprintf(state, sizeof state, "/var/lib/shelfsync-collect/%s", source);
    time_t now = time(NULL);
    struct tm tm;
    char day[16];
    gmtime_r(&now, &tm);
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    char shown[1024], wide[64] = "";
    ss_http_redact(url, shown, sizeof shown);
    if (d->value_field)
        snprintf(wide, sizeof wide, " and %zu read as periods", d->nperiod);
    snprintf(desc, sizeof desc,
             "Proposed by shelfsync-collect --discover on %s from %s (%s%zu bytes, %zu %s): "
             "dataset %s (%s), %zu of %zu %s mapped%s. Fill in what says FILL IN, review the "
             "rest, then: shelfsync-collect --check-config --config FILE; shelfsync-collect "
             "--config FILE --dry-run. source and state_dir are derived from the URL; daemon is "
             "a placeholder for a daemon on this host.",
             day, shown, d->truncated ? "the first " : "", d->nbytes, d->rows,
             d->format == SS_DISCOVER_JSON ? "records" : "data rows", d->ds->name,
             d->ds_given ? "given" : "guessed from the headers", d->ds_score, d->ncols,
             d->format == SS_DISCOVER_JSON ? "keys" : "columns", wide);
    json_t *root = json_object();
    json_object_set_new(root, "description", json_string(desc));
    json_object_set_new(root, "source", json_string(source));
    json_object_set_new(root, "dataset", json_string(d->ds->name));
    json_object_set_new(root, "url", json_string(url));
    if (d->format == SS_DISCOVER_JSON) {
        json_object_set_new(root, "kind", json_string("json"));
        json_t *j = json_object();
        json_object_set_new(j, "description",
                            json_string("Detected: path is the dotted path to the array of "
                                        "records (absent: the top level); ndjson one object a "
                                        "line."));
        if (d->json_path[0])
            json_object_set_new(j, "path", json_string(d->json_path));
        json_object_set_new(j, "ndjson", json_boolean(d->ndjson));
        json_object_set_new(root, "json", j);
    } else {
        json_object_set_new(root, "kind", json_string("csv"));
        json_object_set_new(root, "csv", csv_object(d));
    }
    json_object_set_new(root, "mapping", mapping_object(d));
    json_object_set_new(root, "constants", constants_object(d));
    json_object_set_new(root, "state_dir", json_string(state));
    json_t *daemon = json_object(), *eps = json_array();
    json_object_set_new(daemon, "description",
                        json_string("Placeholder: the shelfsyncd on this host. Set the real "
                                    "endpoint(s), and server_key when the daemon uses CURVE "
                                    "(docs/configuration.md)."));
    json_array_append_new(eps, json_string("tcp://127.0.0.1:5555"));
    json_object_set_new(daemon, "endpoints", eps);
    json_object_set_new(root, "daemon", daemon);
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(root);
    return s;
}

void ss_discover_summary(const struct ss_discover *d, const char *url, FILE *f)
{
    char shown[1024];
    struct ss_buf b;
    ss_buf_init(&b, 65536);
    ss_http_redact(url, shown, sizeof shown);
    fprintf(f, "discover: %s: %zu bytes read%s; %s%s%s%s%s", shown, d->nbytes,
            d->truncated ? " (the head of a longer export)" : "", d->encoding,
            d->bom ? " (byte-order mark " : "", d->bom ? d->bom : "", d->bom ? ")" : "",
            d->format == SS_DISCOVER_JSON ? ", JSON" : "");
    if (d->format == SS_DISCOVER_JSON)
        fprintf(f, "%s, records at %s, %zu keys, %zu records sampled\n",
                d->ndjson ? " (one object a line)" : "", d->json_path[0] ? d->json_path : "the top",
                d->ncols, d->rows);
    else
        fprintf(f, ", CSV, %s-separated, %s, %zu columns, %zu data rows sampled\n",
                delimiter_name(d->delimiter), d->header ? "header row" : "NO header row", d->ncols,
                d->rows);
    fprintf(f, "discover: dataset %s (%s; %zu of %zu columns mapped)\n", d->ds->name,
            d->ds_given ? "given" : "guessed from the headers: --dataset NAME to choose",
            d->ds_score, d->ncols);
    for (size_t c = 0; c < d->ncols; c++)
        if (d->field[c] >= 0)
            ss_buf_printf(&b, "%s%s <- \"%s\"", b.len ? ", " : "", d->ds->fields[d->field[c]].name,
                          d->cols[c]);
    if (b.len)
        fprintf(f, "discover: mapped: %.*s\n", (int)b.len, b.data);
    if (!d->header && d->format == SS_DISCOVER_CSV)
        fprintf(f, "discover: CHECK: without a header row the columns were mapped by position "
                   "and by what their values look like\n");
    if (d->nperiod && d->value_field) {
        const char *first, *last;
        period_range(d, &first, &last);
        fprintf(f, "discover: wide: %zu period columns (%s ... %s) -> %s, cells -> %s\n",
                d->nperiod, first, last, d->period_field, d->value_field);
    } else if (d->nperiod)
        fprintf(f,
                "discover: CHECK: %zu columns read as periods, but %s has no count field "
                "left for their cells (or no month/period field): they are not mapped\n",
                d->nperiod, d->ds->name);
    ss_buf_reset(&b);
    if (list_columns(d, unmapped, &b))
        fprintf(f, "discover: not mapped%s: %.*s\n", d->value_field ? " (csv.wide.ignore)" : "",
                (int)b.len, b.data);
    ss_buf_reset(&b);
    for (size_t fi = 0; fi < d->ds->nfields; fi++)
        if (needs_constant(d, fi))
            ss_buf_printf(&b, "%s%s", b.len ? ", " : "", d->ds->fields[fi].name);
    if (!has_period(d))
        ss_buf_printf(&b, "%speriod", b.len ? ", " : "");
    if (b.len)
        suggest(d, &b);
    if (b.len)
        fprintf(f,
                "discover: FILL IN: required fields no column gives, placeholders in "
                "\"constants\": %.*s\n",
                (int)b.len, b.data);
    fprintf(f, "discover: FILL IN: \"daemon\" (a placeholder, tcp://127.0.0.1:5555); check "
               "\"source\" and \"state_dir\"\n");
    ss_buf_free(&b);
}

/* ---- the command ---- */

struct fetch {
    struct ss_buf buf;
    int truncated;
};

static int fetch_body(void *ud, const char *data, size_t len)
{
    struct fetch *fe = ud;
    size_t room = SS_DISCOVER_MAX_BYTES - fe->buf.len;
    if (len > room) {
        ss_buf_add(&fe->buf, data, room);
        fe->truncated = 1;
        return 1;
    }
    return ss_buf_add(&fe->buf, data, len) < 0;
}

/* The schemes ss_http reads (as check-config's "url" does). */
static int check_url_scheme(const char *url, char *why, size_t whylen)
{
    static const char *const schemes[] = {"http://", "https://", "file://"};
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (strncmp(url, schemes[i], strlen(schemes[i])) == 0 && url[strlen(schemes[i])])
            return 0;
    snprintf(why, whylen, "expected a URL starting with http://, https:// or file://");
    return SS_EINVAL;
}

int ss_discover_main(const char *url, const char *dataset, const char *out)
{
    char err[2048], why[256];
    struct ss_collector_config cfg = {0};
    struct ss_http_resp resp = {0};
    struct fetch fe = {.truncated = 0};
    struct ss_discover d;
    volatile int stop = 0;
    int status = 2;
    char *text = NULL;

    if (check_url_scheme(url, why, sizeof why) < 0) {
        fprintf(stderr, "discover: %s: %s\n", url, why);
        return 1;
    }
    if (dataset && !ss_dataset_find(dataset)) {
        fprintf(stderr, "discover: --dataset %s: no such dataset\n", dataset);
        return 1;
    }
    ss_buf_init(&fe.buf, SS_DISCOVER_MAX_BYTES + 1);
    cfg.connect_timeout_s = 30;
    cfg.timeout_s = 120;
    cfg.low_speed_s = 60;
    cfg.http_retries = 2;
    cfg.http_retry_max_s = 10;
    if (ss_http_global_init() < 0) {
        fprintf(stderr, "discover: cannot initialise libcurl\n");
        return 1;
    }
    struct ss_http *h = ss_http_new(&cfg, &stop, err, sizeof err);
    if (!h) {
        fprintf(stderr, "discover: %s\n", err);
        status = 1;
        goto out;
    }
    struct ss_http_req req = {.url = url};
    int rc = ss_http_request(h, &req, NULL, fetch_body, &fe, &resp, err, sizeof err);
    ss_http_free(h);
    if (rc < 0 && !(rc == SS_ESTOPPED && fe.truncated)) {
        fprintf(stderr, "discover: %s\n", err);
        goto out;
    }
    if (ss_discover_analyse(fe.buf.data ? fe.buf.data : "", fe.buf.len, fe.truncated,
                            resp.content_type, url, dataset, &d, err, sizeof err) < 0) {
        fprintf(stderr, "discover: %s\n", err);
        goto out;
    }
    text = ss_discover_config_json(&d, url);
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!text || !f || fprintf(f, "%s\n", text) < 0 || (out ? fclose(f) : fflush(f)) != 0) {
        fprintf(stderr, "discover: %s: cannot write the config\n", out ? out : "stdout");
        status = 1;
    } else {
        ss_discover_summary(&d, url, stderr);
        fprintf(stderr,
                "discover: config written to %s; check it with: shelfsync-collect "
                "--check-config --config %s\n",
                out ? out : "stdout", out ? out : "FILE");
        status = 0;
    }
    free(text);
    ss_discover_free(&d);
out:
    ss_buf_free(&fe.buf);
    ss_http_global_cleanup();
    return status;
}

int ss_discover_wanted(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--discover") == 0 || strncmp(argv[i], "--discover=", 11) == 0)
            return 1;
    return 0;
}

int ss_discover_cli(int argc, char **argv)
{
    static const struct option opts[] = {{"discover", required_argument, NULL, 'D'},
                                         {"dataset", required_argument, NULL, 'S'},
                                         {"out", required_argument, NULL, 'O'},
                                         {NULL, 0, NULL, 0}};
    const char *url = NULL, *dataset = NULL, *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'D':
            url = optarg;
            break;
        case 'S':
            dataset = optarg;
            break;
        case 'O':
            out = optarg;
            break;
        default:
            fprintf(stderr, "usage: shelfsync-collect --discover URL [--dataset NAME] [--out "
                            "FILE] (no other option goes with --discover)\n");
            return 1;
        }
    }
    if (!url || optind != argc) {
        fprintf(stderr, "usage: shelfsync-collect --discover URL [--dataset NAME] [--out FILE]\n");
        return 1;
    }
    return ss_discover_main(url, dataset, out);
}
