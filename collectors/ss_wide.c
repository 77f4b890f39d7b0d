/* ss_wide: see ss_wide.h. */
#include "ss_wide.h"

#include "ss_mapper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ss_buf.h"

struct wide_col {
    const char *period; /* NULL: not a period column; else month[] or the configured text */
    size_t plen;
    char month[8]; /* "YYYY-MM" */
};

struct ss_wide {
    struct ss_wide_opts opts;
    size_t nin;  /* columns in the header */
    size_t nout; /* columns of the records */
    size_t nperiods;
    struct wide_col *cols;  /* nin */
    const char **out_names; /* nout */
    size_t *out_lens;       /* nout */
    char *name_store;       /* copies of the header names the records keep */
    const char **vals;      /* nout: the record being made */
    size_t *vlens;          /* nout */
};

static const char *const month_names[12] = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december",
};

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Leading and trailing spaces and tabs off. */
static void trim(const char **s, size_t *len)
{
    while (*len && is_space(**s))
        (*s)++, (*len)--;
    while (*len && is_space((*s)[*len - 1]))
        (*len)--;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The value of n digits at s, or -1 unless they are all digits. */
static int digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int month_from_name(const char *s, size_t n)
{
    for (int m = 0; m < 12; m++) {
        size_t full = strlen(month_names[m]);
        if ((n == full || n == 3) && strncasecmp(s, month_names[m], n) == 0)
            return m + 1;
    }
    if (n == 4 && strncasecmp(s, "sept", 4) == 0)
        return 9;
    return 0;
}

int ss_wide_parse_month(const char *s, size_t len, int *year, int *month)
{
    int y, m;
    trim(&s, &len);
    if (len == 0)
        return 0;
    if (is_digit(s[0])) {
        /* YYYY-MM */
        if (len == 7 && s[4] == '-' && (y = digits(s, 4)) >= 0 && (m = digits(s + 5, 2)) >= 0)
            goto found;
        /* MM/YYYY, M/YYYY */
        const char *slash = memchr(s, '/', len);
        if (!slash)
            return 0;
        size_t ml = (size_t)(slash - s);
        if ((ml == 1 || ml == 2) && len - ml - 1 == 4 && (m = digits(s, ml)) >= 0 &&
            (y = digits(slash + 1, 4)) >= 0)
            goto found;
        return 0;
    }
    size_t nl = 0;
    while (nl < len && ((s[nl] >= 'a' && s[nl] <= 'z') || (s[nl] >= 'A' && s[nl] <= 'Z')))
        nl++;
    if ((m = month_from_name(s, nl)) == 0)
        return 0;
    size_t i = nl;
    if (i < len && s[i] == '-')
        i++;
    else
        while (i < len && s[i] == ' ')
            i++;
    if (i == nl)
        return 0; /* "Apr2023": no separator */
    size_t yl = len - i;
    if (yl == 4 && (y = digits(s + i, 4)) >= 0)
        goto found;
    if (yl == 2 && (y = digits(s + i, 2)) >= 0) {
        y += y < 70 ? 2000 : 1900;
        goto found;
    }
    return 0;
found:
    if (m < 1 || m > 12 || y < 1000)
        return 0;
    *year = y;
    *month = m;
    return 1;
}

int ss_wide_new(struct ss_wide **out, const struct ss_wide_opts *opts)
{
    *out = NULL;
    if (!opts || !opts->value_field || !opts->value_field[0])
        return -EINVAL;
    struct ss_wide *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->opts = *opts;
    if (!w->opts.period_field || !w->opts.period_field[0])
        w->opts.period_field = "month";
    *out = w;
    return 0;
}

static void release_header(struct ss_wide *w)
{
    free(w->cols);
    free(w->out_names);
    free(w->out_lens);
    free(w->name_store);
    free(w->vals);
    free(w->vlens);
    w->cols = NULL;
    w->out_names = NULL;
    w->out_lens = NULL;
    w->name_store = NULL;
    w->vals = NULL;
    w->vlens = NULL;
    w->nin = w->nout = w->nperiods = 0;
}

void ss_wide_free(struct ss_wide *w)
{
    if (!w)
        return;
    release_header(w);
    free(w);
}

/* A header cell is name: any case, spaces around ignored (as the mapper does). */
static int header_is(const char *h, size_t len, const char *name)
{
    trim(&h, &len);
    return strlen(name) == len && strncasecmp(h, name, len) == 0;
}

int ss_wide_header(struct ss_wide *w, const char *const *names, const size_t *lens, size_t n,
                   char *err, size_t errlen)
{
    char cols[1024];
    size_t store = 0;

    release_header(w);
    w->cols = calloc(n ? n : 1, sizeof(*w->cols));
    if (!w->cols)
        goto nomem;
    w->nin = n;

    if (w->opts.ncolumns > 0) {
        for (size_t k = 0; k < w->opts.ncolumns; k++) {
            const struct ss_config_pair *p = &w->opts.columns[k];
            size_t i;
            for (i = 0; i < n; i++)
                if (header_is(names[i], lens[i], p->key))
                    break;
            if (i == n) {
                ss_mapper_list_columns(cols, sizeof(cols), names, lens, n);
                snprintf(err, errlen,
                         "\"csv.wide.columns\": the export has no column \"%s\" (its columns: %s)",
                         p->key, cols);
                goto fail;
            }
            if (!w->cols[i].period)
                w->nperiods++;
            w->cols[i].period = p->value;
            w->cols[i].plen = strlen(p->value);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            int y, m;
            if (!ss_wide_parse_month(names[i], lens[i], &y, &m))
                continue;
            snprintf(w->cols[i].month, sizeof(w->cols[i].month), "%04d-%02d", y, m);
            w->cols[i].period = w->cols[i].month;
            w->cols[i].plen = 7;
            w->nperiods++;
        }
        if (w->nperiods == 0) {
            ss_mapper_list_columns(cols, sizeof(cols), names, lens, n);
            snprintf(err, errlen,
                     "\"csv.wide\": no column header reads as a month (\"2023-04\", \"Apr-23\", "
                     "\"April 2023\", \"04/2023\"; its columns: %s); name the period columns in "
                     "\"csv.wide.columns\"",
                     cols);
            goto fail;
        }
    }

    for (size_t i = 0; i < n; i++) {
        if (w->cols[i].period)
            continue;
        const char *clash = header_is(names[i], lens[i], w->opts.period_field)  ? "period_field"
                            : header_is(names[i], lens[i], w->opts.value_field) ? "value_field"
                                                                                : NULL;
        if (clash) {
            snprintf(err, errlen,
                     "\"csv.wide.%s\": the export already has a column \"%.*s\", which is not a "
                     "period column; choose another field or list the period columns in "
                     "\"csv.wide.columns\"",
                     clash, (int)(lens[i] < 60 ? lens[i] : 60), names[i]);
            goto fail;
        }
        store += lens[i] + 1;
    }

    w->nout = n - w->nperiods + 2;
    w->out_names = calloc(w->nout, sizeof(*w->out_names));
    w->out_lens = calloc(w->nout, sizeof(*w->out_lens));
    w->vals = calloc(w->nout, sizeof(*w->vals));
    w->vlens = calloc(w->nout, sizeof(*w->vlens));
    w->name_store = malloc(store ? store : 1);
    if (!w->out_names || !w->out_lens || !w->vals || !w->vlens || !w->name_store)
        goto nomem;
    size_t o = 0, at = 0;
    for (size_t i = 0; i < n; i++) {
        if (w->cols[i].period)
            continue;
        memcpy(w->name_store + at, names[i], lens[i]);
        w->name_store[at + lens[i]] = '\0';
        w->out_names[o] = w->name_store + at;
        w->out_lens[o++] = lens[i];
        at += lens[i] + 1;
    }
    w->out_names[o] = w->opts.period_field;
    w->out_lens[o++] = strlen(w->opts.period_field);
    w->out_names[o] = w->opts.value_field;
    w->out_lens[o] = strlen(w->opts.value_field);
    return 0;

nomem:
    release_header(w);
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
fail:
    release_header(w);
    return -1;
}

void ss_wide_columns(const struct ss_wide *w, const char *const **names, const size_t **lens,
                     size_t *n)
{
    *names = w->out_names;
    *lens = w->out_lens;
    *n = w->nout;
}

size_t ss_wide_periods(const struct ss_wide *w)
{
    return w->nperiods;
}

size_t ss_wide_project(const struct ss_wide *w, const char *const *fields, const size_t *lens,
                       size_t n, const char **vals, size_t *vlens)
{
    size_t o = 0;
    for (size_t i = 0; i < w->nin && i < n; i++) {
        if (w->cols[i].period)
            continue;
        vals[o] = fields[i];
        vlens[o++] = lens[i];
    }
    return o;
}

static int blank(const char *s, size_t len)
{
    trim(&s, &len);
    return len == 0;
}

int ss_wide_row(struct ss_wide *w, const char *const *fields, const size_t *lens, size_t n,
                ss_wide_record_cb cb, void *ud, char *why, size_t whylen)
{
    if (n != w->nin || !w->vals) {
        snprintf(why, whylen, "%zu fields where the header has %zu", n, w->nin);
        return -1;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (w->cols[i].period)
            continue;
        w->vals[o] = fields[i];
        w->vlens[o++] = lens[i];
    }
    for (size_t i = 0; i < n; i++) {
        if (!w->cols[i].period || blank(fields[i], lens[i]))
            continue;
        w->vals[o] = w->cols[i].period;
        w->vlens[o] = w->cols[i].plen;
        w->vals[o + 1] = fields[i];
        w->vlens[o + 1] = lens[i];
        if (cb(ud, w->vals, w->vlens, w->nout) != 0)
            return 1;
    }
    return 0;
}
