/* ss_mapper: see ss_mapper.h. */
#include "ss_mapper.h"

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
    for (size_t i = 0; i < cfg->nmapping; i++)
        if (header_is(name, len, cfg->mapping[i].value))
            return SS_MAPPER_BY_MAPPING;
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
        if (m->column[f] < 0)
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
        if (m->column[f] >= 0 || m->constant[f])
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
    }
}

/* Refuses now, before anything is sent, what would quarantine every
 * record: a required field nothing fills, or (a period dataset) no count
 * period. 0, or SS_ESETUP with the message in err. */
static int check_filled(const struct ss_mapper *m, const char *const *names, const size_t *lens,
                        size_t nnames, char *err, size_t errlen)
{
    const struct ss_dataset *ds = m->ds;
    char cols[1024];
    for (size_t f = 0; f < ds->nfields; f++) {
        const struct ss_field *fd = &ds->fields[f];
        if (!(fd->flags & SS_F_REQUIRED) || m->column[f] >= 0 || m->constant[f] ||
            fd->type == SS_FT_OCCURRENCE) /* the collector fills it */
            continue;
        ss_mapper_list_columns(cols, sizeof(cols), names, lens, nnames);
        snprintf(err, errlen,
                 "dataset \"%s\" needs \"%s\" (published header \"%s\"): no such column in the "
                 "export (its columns: %s); name the column in \"mapping\" or give a value in "
                 "\"constants\"",
                 ds->name, fd->name, fd->headers[0] ? fd->headers[0] : fd->name, cols);
        return SS_ESETUP;
    }
    if (!(ds->flags & SS_DS_PERIOD))
        return 0;
    int month = -1, period = -1, start = -1, end = -1;
    for (size_t f = 0; f < ds->nfields; f++) {
        int have = m->column[f] >= 0 || m->constant[f] != NULL;
        switch (ds->fields[f].type) {
        case SS_FT_MONTH:
            month = have;
            break;
        case SS_FT_PERIOD:
            period = have;
            break;
        case SS_FT_PERIOD_START:
            start = have;
            break;
        case SS_FT_PERIOD_END:
            end = have;
            break;
        default:
            break;
        }
    }
    if (month != 1 && period != 1 && !(start == 1 && end == 1)) {
        ss_mapper_list_columns(cols, sizeof(cols), names, lens, nnames);
        snprintf(err, errlen,
                 "dataset \"%s\" needs a count period: a \"Month\" column, a \"Period\" "
                 "column, or \"Count start\" and \"Count end\" (its columns: %s); map one "
                 "in \"mapping\"",
                 ds->name, cols);
        return SS_ESETUP;
    }
    return 0;
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

int ss_mapper_apply(const struct ss_mapper *m, const char *const *fields, const size_t *lens,
                    size_t nfields, const char **vals, size_t *vlens, char *why, size_t whylen)
{
    for (size_t f = 0; f < m->ds->nfields; f++) {
        int c = m->column[f];
        if (c >= 0 && (size_t)c < nfields) {
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
    return 0;
}
