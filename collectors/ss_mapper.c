/* ss_mapper: see ss_mapper.h. */
#include "ss_mapper.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ss_buf.h"
#include "ss_err.h"

/* Compares a header cell with a name, ignoring case and surrounding spaces
 * (and no-break spaces, which spreadsheets leave behind). */
static int header_is(const char *h, size_t len, const char *name)
{
    while (len && (*h == ' ' || *h == '\t'))
        h++, len--;
    while (len >= 2 && (unsigned char)h[0] == 0xC2 && (unsigned char)h[1] == 0xA0)
        h += 2, len -= 2;
    while (len && (h[len - 1] == ' ' || h[len - 1] == '\t'))
        len--;
    while (len >= 2 && (unsigned char)h[len - 2] == 0xC2 && (unsigned char)h[len - 1] == 0xA0)
        len -= 2;
    return strlen(name) == len && strncasecmp(h, name, len) == 0;
}

/* The index of the column whose header is want, or -1 if none. */
static int find_column(const char *const *names, const size_t *lens, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (header_is(names[i], lens[i], want))
            return (int)i;
    return -1;
}

int ss_mapper_claims(const struct ss_dataset *ds, const struct ss_collector_config *cfg,
                     const char *name, size_t len)
{
    for (size_t i = 0; i < cfg->nmapping; i++) {
        const struct ss_config_sum *sum = cfg->mapping_sums ? &cfg->mapping_sums[i] : NULL;
        if (cfg->mapping[i].value && header_is(name, len, cfg->mapping[i].value))
            return SS_MAPPER_BY_MAPPING;
        for (size_t j = 0; sum && j < sum->ncolumns; j++)
            if (header_is(name, len, sum->columns[j]))
                return SS_MAPPER_BY_MAPPING;
    }
    for (size_t f = 0; f < ds->nfields; f++) {
        const struct ss_field *fd = &ds->fields[f];
        for (size_t k = 0; k < SS_FIELD_MAX_HEADERS && fd->headers[k]; k++)
            if (header_is(name, len, fd->headers[k]))
                return SS_MAPPER_BY_NAME;
        if (header_is(name, len, fd->name))
            return SS_MAPPER_BY_NAME;
    }
    return 0;
}

void ss_mapper_list_columns(char *dst, size_t dstlen, const char *const *names, const size_t *lens,
                            size_t n)
{
    struct ss_buf b;
    ss_buf_init(&b, dstlen > 0 ? dstlen - 1 : 0);
    for (size_t i = 0; i < n; i++)
        if (ss_buf_printf(&b, "%s\"%.*s\"", i ? ", " : "", (int)(lens[i] < 60 ? lens[i] : 60),
                          names[i]) < 0)
            break;
    snprintf(dst, dstlen, "%s", b.data ? b.data : "");
    ss_buf_free(&b);
}

/* Field f sums the columns p names: finds each. 0, or SS_ESETUP with the
 * message in err (a column the export lacks, or too many). */
static int map_sum(struct ss_mapper *m, int f, const char *field, const struct ss_config_sum *p,
                   const char *const *names, const size_t *lens, size_t nnames, char *err,
                   size_t errlen)
{
    char cols[1024];
    if (p->ncolumns > SS_MAPPER_MAX_SUM) {
        snprintf(err, errlen, "\"mapping.%s\": a sum of %zu columns (at most %d)", field,
                 p->ncolumns, SS_MAPPER_MAX_SUM);
        return SS_ESETUP;
    }
    for (size_t j = 0; j < p->ncolumns; j++) {
        int c = find_column(names, lens, nnames, p->columns[j]);
        if (c < 0) {
            ss_mapper_list_columns(cols, sizeof(cols), names, lens, nnames);
            snprintf(err, errlen,
                     "\"mapping.%s\": the export has no column \"%s\", which the sum names "
                     "(its columns: %s)",
                     field, p->columns[j], cols);
            return SS_ESETUP;
        }
        m->sum[f][j] = c;
    }
    m->nsum[f] = p->ncolumns;
    m->sum_cfg[f] = p;
    m->sum_field[f] = field;
    return 0;
}

/* Whether column c is one a sum of the mapping reads. */
static int summed(const struct ss_mapper *m, int c)
{
    for (size_t f = 0; f < m->ds->nfields; f++)
        for (size_t j = 0; j < m->nsum[f]; j++)
            if (m->sum[f][j] == c)
                return 1;
    return 0;
}

/* The columns and constants "mapping" and "constants" name. 0, or
 * SS_EINVAL (no such field in the dataset) or SS_ESETUP (no such column in
 * the export) with the message in err. */
static int map_configured(struct ss_mapper *m, const struct ss_collector_config *cfg,
                          const char *const *names, const size_t *lens, size_t nnames, char *err,
                          size_t errlen)
{
    const struct ss_dataset *ds = m->ds;
    char cols[1024];
    for (size_t i = 0; i < cfg->nmapping; i++) {
        int f = ss_dataset_field_index(ds, cfg->mapping[i].key);
        if (f < 0) {
            snprintf(err, errlen, "\"mapping.%s\": dataset \"%s\" has no field \"%s\"",
                     cfg->mapping[i].key, ds->name, cfg->mapping[i].key);
            return SS_EINVAL;
        }
        if (!cfg->mapping[i].value) {
            int rc = map_sum(m, f, cfg->mapping[i].key, &cfg->mapping_sums[i], names, lens, nnames,
                             err, errlen);
            if (rc < 0)
                return rc;
            continue;
        }
        int c = find_column(names, lens, nnames, cfg->mapping[i].value);
        if (c < 0) {
            ss_mapper_list_columns(cols, sizeof(cols), names, lens, nnames);
            snprintf(err, errlen,
                     "\"mapping.%s\": the export has no column \"%s\" (its columns: %s)",
                     cfg->mapping[i].key, cfg->mapping[i].value, cols);
            return SS_ESETUP;
        }
        m->column[f] = c;
    }
    for (size_t i = 0; i < cfg->nconstants; i++) {
        int f = ss_dataset_field_index(ds, cfg->constants[i].key);
        if (f < 0) {
            snprintf(err, errlen, "\"constants.%s\": dataset \"%s\" has no field \"%s\"",
                     cfg->constants[i].key, ds->name, cfg->constants[i].key);
            return SS_EINVAL;
        }
        if (m->column[f] < 0 && m->nsum[f] == 0)
            m->constant[f] = cfg->constants[i].value;
    }
    return 0;
}

/* The fields still unfilled, by their published headers or their names. */
static void map_by_name(struct ss_mapper *m, const struct ss_collector_config *cfg,
                        const char *const *names, const size_t *lens, size_t nnames)
{
    const struct ss_dataset *ds = m->ds;
    for (size_t f = 0; f < ds->nfields; f++) {
        const struct ss_field *fd = &ds->fields[f];
        if (m->column[f] >= 0 || m->constant[f] || m->nsum[f])
            continue;
        for (size_t k = 0; k < SS_FIELD_MAX_HEADERS && fd->headers[k] && m->column[f] < 0; k++)
            m->column[f] = find_column(names, lens, nnames, fd->headers[k]);
        if (m->column[f] < 0)
            m->column[f] = find_column(names, lens, nnames, fd->name);
        /* A column the config mapped to one field is not also read, by its
         * published name, into another. */
        for (size_t i = 0; m->column[f] >= 0 && i < cfg->nmapping; i++) {
            int g = ss_dataset_field_index(ds, cfg->mapping[i].key);
            if (g >= 0 && (size_t)g != f && m->column[g] == m->column[f])
                m->column[f] = -1;
        }
        if (m->column[f] >= 0 && summed(m, m->column[f]))
            m->column[f] = -1;
    }
}

/* Appends to b how the config could fill field fd: the export's column
 * names the mapper looks for, then the two keys. */
static void describe_missing(struct ss_buf *b, const struct ss_field *fd, int first)
{
    ss_buf_printf(b, "%s\"%s\" (a column named", first ? "" : "; ", fd->name);
    size_t k = 0;
    for (; k < SS_FIELD_MAX_HEADERS && fd->headers[k]; k++)
        ss_buf_printf(b, "%s \"%s\"", k ? " or" : "", fd->headers[k]);
    ss_buf_printf(b,
                  "%s \"%s\", or \"mapping\": {\"%s\": \"COLUMN\"}, or \"constants\": "
                  "{\"%s\": \"VALUE\"})",
                  k ? " or" : "", fd->name, fd->name, fd->name);
}

/* Whether the mapper fills a count period: a month, a period, or both a
 * start and an end. Datasets without SS_DS_PERIOD always do. */
static int period_filled(const struct ss_mapper *m)
{
    const struct ss_dataset *ds = m->ds;
    if (!(ds->flags & SS_DS_PERIOD))
        return 1;
    int month = 0, period = 0, start = 0, end = 0;
    for (size_t f = 0; f < ds->nfields; f++) {
        int have = m->column[f] >= 0 || m->constant[f] != NULL || m->nsum[f] > 0;
        switch (ds->fields[f].type) {
        case SS_FT_MONTH:
            month |= have;
            break;
        case SS_FT_PERIOD:
            period |= have;
            break;
        case SS_FT_PERIOD_START:
            start |= have;
            break;
        case SS_FT_PERIOD_END:
            end |= have;
            break;
        default:
            break;
        }
    }
    return month || period || (start && end);
}

/* Refuses now, before anything is sent, what would quarantine every
 * record: the required fields nothing fills -- all of them in one message,
 * each with what the config could do -- and (a period dataset) no count
 * period. 0, or SS_ESETUP with the message in err. */
static int check_filled(const struct ss_mapper *m, const char *const *names, const size_t *lens,
                        size_t nnames, char *err, size_t errlen)
{
    const struct ss_dataset *ds = m->ds;
    struct ss_buf b;
    size_t missing = 0;
    ss_buf_init(&b, 16384);
    for (size_t f = 0; f < ds->nfields; f++) {
        const struct ss_field *fd = &ds->fields[f];
        if (!(fd->flags & SS_F_REQUIRED) || m->column[f] >= 0 || m->constant[f] || m->nsum[f] > 0 ||
            fd->type == SS_FT_OCCURRENCE) /* the collector fills it */
            continue;
        if (missing++ == 0)
            ss_buf_printf(&b,
                          "dataset \"%s\" needs fields the export and the config do not "
                          "give: ",
                          ds->name);
        describe_missing(&b, fd, missing == 1);
    }
    int period = period_filled(m);
    if (!period)
        ss_buf_printf(&b,
                      "%sdataset \"%s\" needs a count period: a \"Month\" column, a "
                      "\"Period\" column, or \"Count start\" and \"Count end\"; map one "
                      "in \"mapping\"",
                      missing ? "; and " : "", ds->name);
    if (missing == 0 && period) {
        ss_buf_free(&b);
        return 0;
    }
    char cols[1024];
    ss_mapper_list_columns(cols, sizeof(cols), names, lens, nnames);
    ss_buf_printf(&b, " (the export's columns: %s)", cols);
    snprintf(err, errlen, "%s", b.data ? b.data : "");
    ss_buf_free(&b);
    return SS_ESETUP;
}

int ss_mapper_init(struct ss_mapper *m, const struct ss_dataset *ds,
                   const struct ss_collector_config *cfg, const char *const *names,
                   const size_t *lens, size_t nnames, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    m->ds = ds;
    m->ncolumns = nnames;
    if (ds->nfields > SS_MAPPER_MAX_FIELDS) {
        snprintf(err, errlen, "dataset \"%s\" has too many fields", ds->name);
        return SS_E2BIG;
    }
    for (size_t f = 0; f < ds->nfields; f++)
        m->column[f] = -1;
    int rc = map_configured(m, cfg, names, lens, nnames, err, errlen);
    if (rc < 0)
        return rc;
    map_by_name(m, cfg, names, lens, nnames);
    return check_filled(m, names, lens, nnames, err, errlen);
}

size_t ss_mapper_unconfigured(const struct ss_dataset *ds, const struct ss_collector_config *cfg,
                              char *dst, size_t dstlen)
{
    struct ss_buf b;
    size_t n = 0;
    ss_buf_init(&b, 16384);
    for (size_t f = 0; f < ds->nfields; f++) {
        const struct ss_field *fd = &ds->fields[f];
        int given = 0;
        for (size_t i = 0; i < cfg->nmapping; i++)
            given |= strcmp(cfg->mapping[i].key, fd->name) == 0;
        for (size_t i = 0; i < cfg->nconstants; i++)
            given |= strcmp(cfg->constants[i].key, fd->name) == 0;
        if (given || !(fd->flags & SS_F_REQUIRED) || fd->type == SS_FT_OCCURRENCE)
            continue;
        describe_missing(&b, fd, n++ == 0);
    }
    snprintf(dst, dstlen, "%s", b.data ? b.data : "");
    ss_buf_free(&b);
    return n;
}

/* Reads a summed cell: a whole number, spaces around it and thousands
 * separators ("1,234") allowed, as the daemon reads counts. Returns 1 with
 * *v set, 0 when the cell is empty, -1 when it is no whole number. */
static int read_addend(const char *s, size_t len, long long *v)
{
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0)
        return 0;
    long long n = 0;
    size_t group = 0, seps = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ',') {
            if (group == 0 || (seps && group != 3) || group > 3 || s[0] == '0')
                return -1;
            seps++, group = 0;
            continue;
        }
        if (s[i] < '0' || s[i] > '9' || n > (LLONG_MAX - 9) / 10)
            return -1;
        n = n * 10 + (s[i] - '0');
        group++;
    }
    if (seps && group != 3)
        return -1;
    *v = n;
    return 1;
}

/* Field f's sum for one record into m->sum_text, and vals/vlens to it.
 * 0, or SS_EINVAL with the reason in why (the cells joined by "+" then). */
static int apply_sum(struct ss_mapper *m, size_t f, const char *const *fields, const size_t *lens,
                     size_t nfields, const char **val, size_t *vlen, char *why, size_t whylen)
{
    const struct ss_config_sum *p = m->sum_cfg[f];
    long long total = 0;
    size_t empty = 0, first_empty = 0, first_full = 0, bad = SIZE_MAX;
    for (size_t j = 0; j < m->nsum[f]; j++) {
        size_t c = (size_t)m->sum[f][j];
        long long v = 0;
        int r = c < nfields ? read_addend(fields[c], lens[c], &v) : 0;
        if (r < 0 && bad == SIZE_MAX)
            bad = j;
        if (r == 0 && empty++ == 0)
            first_empty = j;
        if (r > 0 && total > LLONG_MAX - v && bad == SIZE_MAX)
            bad = j;
        if (r > 0) {
            total = total > LLONG_MAX - v ? LLONG_MAX : total + v;
            first_full = j;
        }
    }
    int rc = 0;
    if (bad != SIZE_MAX) {
        size_t c = (size_t)m->sum[f][bad];
        snprintf(why, whylen, "\"%s\" is no whole number (\"%.*s\"), and \"mapping.%s\" adds it up",
                 p->columns[bad], (int)(lens[c] < 40 ? lens[c] : 40), fields[c], m->sum_field[f]);
        rc = SS_EINVAL;
    } else if (empty && empty < m->nsum[f]) {
        snprintf(why, whylen,
                 "\"%s\" is empty where \"%s\" is not: \"mapping.%s\" adds them up and will "
                 "not take an empty cell as 0",
                 p->columns[first_empty], p->columns[first_full], m->sum_field[f]);
        rc = SS_EINVAL;
    }
    if (rc < 0 || empty == m->nsum[f]) { /* the cells as they are, for the quarantine */
        struct ss_buf b;
        ss_buf_init(&b, sizeof(m->sum_text[f]) - 1);
        for (size_t j = 0; rc < 0 && j < m->nsum[f]; j++) {
            size_t c = (size_t)m->sum[f][j];
            if (ss_buf_printf(&b, "%s%.*s", j ? "+" : "", c < nfields ? (int)lens[c] : 0,
                              c < nfields ? fields[c] : "") < 0)
                break;
        }
        snprintf(m->sum_text[f], sizeof(m->sum_text[f]), "%s", b.data ? b.data : "");
        ss_buf_free(&b);
    } else {
        snprintf(m->sum_text[f], sizeof(m->sum_text[f]), "%lld", total);
    }
    *val = m->sum_text[f];
    *vlen = strlen(m->sum_text[f]);
    return rc;
}

int ss_mapper_apply(struct ss_mapper *m, const char *const *fields, const size_t *lens,
                    size_t nfields, const char **vals, size_t *vlens, char *why, size_t whylen)
{
    char sum_why[256] = "";
    for (size_t f = 0; f < m->ds->nfields; f++) {
        int c = m->column[f];
        if (m->nsum[f]) {
            apply_sum(m, f, fields, lens, nfields, &vals[f], &vlens[f], sum_why[0] ? NULL : sum_why,
                      sum_why[0] ? 0 : sizeof(sum_why));
        } else if (c >= 0 && (size_t)c < nfields) {
            vals[f] = fields[c];
            vlens[f] = lens[c];
        } else if (m->constant[f]) {
            vals[f] = m->constant[f];
            vlens[f] = strlen(m->constant[f]);
        } else {
            vals[f] = NULL;
            vlens[f] = 0;
        }
    }
    if (nfields != m->ncolumns) {
        snprintf(why, whylen, "%zu fields where the header has %zu", nfields, m->ncolumns);
        return SS_EINVAL;
    }
    if (sum_why[0]) {
        snprintf(why, whylen, "%s", sum_why);
        return SS_EINVAL;
    }
    return 0;
}
