/* ss_wide: see ss_wide.h. */
#include "ss_wide.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ss_date.h"
#include "ss_err.h"
#include "ss_mapper.h"
#include "ss_text.h"

enum { COL_OTHER, COL_PERIOD, COL_IGNORED };

/* Longest canonical text: "2023-04-01/2023-06-30" (21) or "2023-04-01/P2999M". */
#define TEXT_MAX 32
/* A header longer than this (spaces around it off) is no period. */
#define PERIOD_MAX 64

struct wide_col {
    unsigned char cls;
    unsigned char plen;
    char text[TEXT_MAX]; /* COL_PERIOD: the canonical period text */
    struct ss_wide_period per;
    int series;           /* COL_PERIOD with series: the csv.wide.series entry, else -1 */
    int total;            /* the series field (index into xnames) it totals over, else -1 */
    size_t band0, nbands; /* a total: its band columns, w->bands[band0 .. band0 + nbands) */
};

/* A row's series (period_end): what its cells are. */
enum { SER_MONTHS, SER_QUARTERS, SER_YEAR };

struct ss_wide {
    struct ss_wide_opts opts;
    int as_month;
    size_t nin;  /* columns in the header */
    size_t nout; /* columns of the records */
    size_t nperiods;
    size_t nignored;
    struct wide_col *cols;  /* nin */
    const char **out_names; /* nout */
    size_t *out_lens;       /* nout */
    char *name_store;       /* copies of the header names the records keep */
    const char **vals;      /* nout: the record being made */
    size_t *vlens;          /* nout */

    /* csv.wide.series and totals (set by ss_wide_header) */
    const char **xnames; /* nx: the fields the series give, in order of first mention */
    size_t nx;
    const char **sx;       /* nseries * nx: each series' value of each field, or NULL */
    size_t *sgroup;        /* nseries: series with the same values share a group */
    size_t ngroups;        /* at least 1: without series, one */
    size_t *bands;         /* the band columns of the totals */
    unsigned char *take;   /* nin: this row's cells to load */
    unsigned *gmask;       /* ngroups: months (bit m-1) with a cell in this row */
    unsigned char *gother; /* ngroups: a cell of a period other than one month */
    unsigned char *gkind;  /* ngroups: SER_* */
    int *gyear;            /* ngroups: the financial year (its first calendar year) of a cell */
    char ptext[TEXT_MAX];  /* a quarter's or year's text */
    unsigned long dropped, differing, quarters, years;
    unsigned long covered;     /* totals left out for bands of a longer period around them */
    unsigned long long excess; /* what dropped totals hold beyond their bands */
};

static const char *const month_names[12] = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december",
};

/* ---- text helpers ---- */

static int is_alpha(char c)
{
    return c >= 'a' && c <= 'z';
}

/* The value of exactly n digits at s (1-9 of them), or -1. */
static int digits(const char *s, size_t n)
{
    int v;
    if (n == 0 || n > 9 || ss_digits(s, n, &v) < 0)
        return -1;
    return v;
}

/* How many digits start at s[i] (of n). */
static size_t run_digits(const char *s, size_t n, size_t i)
{
    size_t k = 0;
    while (i + k < n && ss_is_digit(s[i + k]))
        k++;
    return k;
}

static size_t run_spaces(const char *s, size_t n, size_t i)
{
    size_t k = 0;
    while (i + k < n && s[i + k] == ' ')
        k++;
    return k;
}

/* ---- the calendar ---- */

#define YEAR_MIN 1900
#define YEAR_MAX 2199 /* the daemon's range: what it reads, PostgreSQL stores */

static int good_date(int y, int m, int d)
{
    return y >= YEAR_MIN && y <= YEAR_MAX && m >= 1 && m <= 12 && d >= 1 &&
           d <= ss_days_in_month(y, m);
}

static long to_days(int y, int m, int d)
{
    return ss_date_to_days((struct ss_date){y, m, d});
}

/* p is k whole months from y-m-01. 1, or 0 when it leaves the years read. */
static int set_months(struct ss_wide_period *p, int y, int m, int k)
{
    long last = (long)y * 12 + (m - 1) + k - 1;
    if (y < YEAR_MIN || m < 1 || m > 12 || k < 1 || last / 12 > YEAR_MAX)
        return 0;
    memset(p, 0, sizeof(*p));
    p->y1 = y, p->m1 = m, p->d1 = 1;
    p->y2 = (int)(last / 12), p->m2 = (int)(last % 12) + 1;
    p->d2 = ss_days_in_month(p->y2, p->m2);
    return 1;
}

static int month_from_name(const char *s, size_t n)
{
    for (int m = 0; m < 12; m++) {
        size_t full = strlen(month_names[m]);
        if ((n == full || n == 3) && memcmp(s, month_names[m], n) == 0)
            return m + 1;
    }
    if (n == 4 && memcmp(s, "sept", 4) == 0)
        return 9;
    return 0;
}

/* ---- the forms (on lower-case text, spaces around it off) ---- */

/* A date: YYYY-MM-DD or DD/MM/YYYY (10 characters at t). */
static int read_date(const char *t, int *y, int *m, int *d)
{
    struct ss_date dt;
    const char *why;
    if (ss_parse_date(t, 10, &dt, &why) < 0)
        return 0;
    *y = dt.y, *m = dt.m, *d = dt.d;
    return 1;
}

/* A month YYYY-MM (7 characters at t). */
static int read_ym(const char *t, int *y, int *m)
{
    struct ss_date start, end;
    const char *why;
    if (ss_parse_month(t, 7, &start, &end, &why) < 0)
        return 0;
    *y = start.y, *m = start.m;
    return 1;
}

/* ss_date's duration parser, on text this file has lower-cased. */
static int read_duration(const char *t, size_t n, int *years, int *months, long *days)
{
    char up[32];
    if (n >= sizeof(up))
        return 0;
    for (size_t i = 0; i < n; i++)
        up[i] = t[i] >= 'a' && t[i] <= 'z' ? (char)(t[i] - 'a' + 'A') : t[i];
    return ss_parse_duration(up, n, years, months, days) == 0;
}

/* START/DURATION or START/END. */
static int read_interval(const char *t, size_t n, struct ss_wide_period *p)
{
    int y1, m1, d1 = 1, y2, m2, d2;
    size_t at;
    if (n > 11 && t[10] == '/' && read_date(t, &y1, &m1, &d1))
        at = 11;
    else if (n > 8 && t[7] == '/' && read_ym(t, &y1, &m1))
        at = 8;
    else
        return 0;
    const char *r = t + at;
    size_t rn = n - at;
    if (r[0] == 'p') {
        int years, months;
        long days;
        if (!read_duration(r, rn, &years, &months, &days))
            return 0;
        /* As the daemon computes it (the range is checked below). */
        struct ss_date e = ss_duration_end((struct ss_date){y1, m1, d1}, years, months, days);
        y2 = e.y, m2 = e.m, d2 = e.d;
    } else if (rn == 10 && read_date(r, &y2, &m2, &d2)) {
        /* START/END */
    } else if (rn == 7 && read_ym(r, &y2, &m2)) {
        d2 = ss_days_in_month(y2, m2);
    } else {
        return 0;
    }
    if (!good_date(y2, m2, d2) || to_days(y2, m2, d2) < to_days(y1, m1, d1))
        return 0;
    memset(p, 0, sizeof(*p));
    p->y1 = y1, p->m1 = m1, p->d1 = d1;
    p->y2 = y2, p->m2 = m2, p->d2 = d2;
    return 1;
}

/* A financial year label, the whole of t: YYYY-YY YYYY/YY YYYY-YYYY
 * YYYY/YYYY, the second year the one after the first. */
static int read_fy(const char *t, size_t n, int *y)
{
    if ((n != 7 && n != 9) || (t[4] != '-' && t[4] != '/'))
        return 0;
    int a = digits(t, 4), b = digits(t + 5, n - 5);
    if (a < 0 || b < 0 || (n == 7 ? b != (a + 1) % 100 : b != a + 1))
        return 0;
    *y = a;
    return 1;
}

/* The same, after an optional "fy" and spaces. */
static int read_fy_prefixed(const char *t, size_t n, int *y)
{
    if (n > 2 && t[0] == 'f' && t[1] == 'y') {
        size_t sp = run_spaces(t, n, 2);
        return read_fy(t + 2 + sp, n - 2 - sp, y);
    }
    return read_fy(t, n, y);
}

/* A quarter of the financial year (is_fy) or of the calendar year y. */
static int set_quarter(struct ss_wide_period *p, int is_fy, int y, int q)
{
    if (is_fy)
        return q == 4 ? set_months(p, y + 1, 1, 3) : set_months(p, y, 3 * q + 1, 3);
    return set_months(p, y, 3 * q - 2, 3);
}

/* A year part of a quarter: a financial year (FY prefix allowed) or YYYY. */
static int read_quarter_year(const char *t, size_t n, int *is_fy, int *y)
{
    if (read_fy_prefixed(t, n, y)) {
        *is_fy = 1;
        return 1;
    }
    *is_fy = 0;
    return n == 4 && (*y = digits(t, 4)) >= 0;
}

static int read_quarter(const char *t, size_t n, struct ss_wide_period *p)
{
    int is_fy, y;
    /* Q1 2023, Q1-2023, Q1 2023-24 */
    if (n > 3 && t[0] == 'q' && t[1] >= '1' && t[1] <= '4') {
        size_t i = 2 + run_spaces(t, n, 2);
        if (i == 2 && t[2] == '-')
            i = 3;
        if (i > 2 && read_quarter_year(t + i, n - i, &is_fy, &y))
            return set_quarter(p, is_fy, y, t[1] - '0');
        return 0;
    }
    /* 2023 Q1, 2023-Q1, 2023Q1, 2023-24 Q1 */
    if (n >= 6 && t[n - 2] == 'q' && t[n - 1] >= '1' && t[n - 1] <= '4') {
        size_t e = n - 2;
        while (e > 0 && t[e - 1] == ' ')
            e--;
        int sep = e < n - 2;
        if (!sep && t[e - 1] == '-')
            e--, sep = 1;
        if (!read_quarter_year(t, e, &is_fy, &y))
            return 0;
        if (is_fy && !sep)
            return 0; /* "2023-24q1": one form too many */
        return set_quarter(p, is_fy, y, t[n - 1] - '0');
    }
    return 0;
}

/* Jan-23 Jan 2023 January 2023 Jan-2023 Jan/23 Sept 2023; 2023 Jan 2023-Jan */
static int read_named_month(const char *t, size_t n, struct ss_wide_period *p)
{
    size_t nl = 0;
    while (nl < n && is_alpha(t[nl]))
        nl++;
    if (nl > 0) {
        int m = month_from_name(t, nl);
        if (!m || nl == n)
            return 0;
        size_t i = nl + run_spaces(t, n, nl);
        if (i == nl && (t[nl] == '-' || t[nl] == '/'))
            i++;
        if (i == nl)
            return 0; /* "Apr2023" */
        size_t yl = n - i;
        int y = digits(t + i, yl);
        if (y < 0 || (yl != 2 && yl != 4))
            return 0;
        if (yl == 2)
            y += y < 70 ? 2000 : 1900;
        return set_months(p, y, m, 1);
    }
    if (n > 5 && run_digits(t, n, 0) == 4) {
        size_t i = 4 + run_spaces(t, n, 4);
        if (i == 4 && t[4] == '-')
            i = 5;
        if (i == 4)
            return 0;
        size_t k = 0;
        while (i + k < n && is_alpha(t[i + k]))
            k++;
        int m = i + k == n ? month_from_name(t + i, k) : 0;
        return m && set_months(p, digits(t, 4), m, 1);
    }
    return 0;
}

/* 2023-1 2023-01 2023/1 2023/01 2023-24 2023/24 2023/2024 1/2023 01/2023 01-2023 */
static int read_numeric(const char *t, size_t n, struct ss_wide_period *p)
{
    size_t a = run_digits(t, n, 0);
    if (a == 0 || a >= n || (t[a] != '-' && t[a] != '/'))
        return 0;
    size_t b = run_digits(t, n, a + 1);
    if (a + 1 + b != n)
        return 0;
    int x = digits(t, a), y = digits(t + a + 1, b);
    if (a == 4 && b == 4) {
        return y == x + 1 && set_months(p, x, 4, 12);
    }
    if (a == 4 && (b == 1 || b == 2)) {
        int month = y >= 1 && y <= 12;
        int fy = b == 2 && y == (x + 1) % 100;
        if (month) {
            if (!set_months(p, x, y, 1))
                return 0;
            /* The financial year must read too (2199-00 ends in 2200). */
            struct ss_wide_period f;
            p->also_fy = fy && set_months(&f, x, 4, 12);
            return 1;
        }
        return fy && set_months(p, x, 4, 12);
    }
    if ((a == 1 || a == 2) && b == 4)
        return x >= 1 && x <= 12 && set_months(p, y, x, 1);
    return 0;
}

int ss_wide_parse_period(const char *s, size_t len, struct ss_wide_period *p)
{
    char t[PERIOD_MAX];
    int y;
    ss_trim(&s, &len);
    if (len == 0 || len > sizeof(t))
        return 0;
    for (size_t i = 0; i < len; i++)
        t[i] = (char)ss_to_lower(s[i]);
    if (memchr(t, '/', len) && read_interval(t, len, p))
        return 1;
    if (read_quarter(t, len, p) || read_named_month(t, len, p))
        return 1;
    if (len > 2 && t[0] == 'f' && t[1] == 'y')
        return read_fy_prefixed(t, len, &y) && set_months(p, y, 4, 12);
    return read_numeric(t, len, p);
}

int ss_wide_period_is_month(const struct ss_wide_period *p)
{
    return p->y1 == p->y2 && p->m1 == p->m2 && p->d1 == 1 &&
           p->d2 == ss_days_in_month(p->y2, p->m2);
}

size_t ss_wide_period_text(const struct ss_wide_period *p, int as_month, char *dst, size_t dstlen)
{
    int n;
    if (as_month) {
        if (!ss_wide_period_is_month(p))
            return 0;
        n = snprintf(dst, dstlen, "%04d-%02d", p->y1, p->m1);
    } else if (p->d1 == 1 && p->d2 == ss_days_in_month(p->y2, p->m2)) {
        int k = (p->y2 * 12 + p->m2) - (p->y1 * 12 + p->m1) + 1;
        n = k % 12 == 0 ? snprintf(dst, dstlen, "%04d-%02d-01/P%dY", p->y1, p->m1, k / 12)
                        : snprintf(dst, dstlen, "%04d-%02d-01/P%dM", p->y1, p->m1, k);
    } else {
        n = snprintf(dst, dstlen, "%04d-%02d-%02d/%04d-%02d-%02d", p->y1, p->m1, p->d1, p->y2,
                     p->m2, p->d2);
    }
    return n > 0 && (size_t)n < dstlen ? (size_t)n : 0;
}

int ss_wide_parse_month(const char *s, size_t len, int *year, int *month)
{
    struct ss_wide_period p;
    if (!ss_wide_parse_period(s, len, &p) || !ss_wide_period_is_month(&p))
        return 0;
    *year = p.y1;
    *month = p.m1;
    return 1;
}

/* ---- patterns ---- */

/* One UTF-8 character's bytes from s[i]. */
static size_t char_len(const char *s, size_t n, size_t i)
{
    size_t k = 1;
    while (i + k < n && ((unsigned char)s[i + k] & 0xC0) == 0x80)
        k++;
    return k;
}

/* A set at pattern p ("[...]"): *end set past it; returns 1 when c is in it,
 * 0 when not, -1 when it is no set (no closing ']': '[' is literal). */
static int set_match(const char *p, const char **end, char c)
{
    const char *q = p + 1;
    int neg = 0, in = 0;
    if (*q == '!' || *q == '^')
        neg = 1, q++;
    const char *first = q;
    for (; *q && (*q != ']' || q == first); q++) {
        char lo = (char)ss_to_lower(*q), hi = lo;
        if (q[1] == '-' && q[2] && q[2] != ']') {
            hi = (char)ss_to_lower(q[2]);
            q += 2;
        }
        if (c >= lo && c <= hi)
            in = 1;
    }
    if (*q != ']')
        return -1;
    *end = q + 1;
    return in != neg;
}

int ss_wide_glob(const char *pattern, const char *s, size_t len)
{
    const char *p = pattern, *star = NULL;
    size_t i = 0, star_i = 0;
    ss_trim(&s, &len);
    /* Spaces around the pattern do not count either. */
    while (*p == ' ' || *p == '\t')
        p++;
    size_t plen = strlen(p);
    while (plen && (p[plen - 1] == ' ' || p[plen - 1] == '\t'))
        plen--;
    const char *pend = p + plen;

    while (i < len || (p < pend && *p == '*')) {
        if (p < pend && *p == '*') {
            while (p < pend && *p == '*')
                p++;
            if (p == pend)
                return 1;
            star = p;
            star_i = i;
            continue;
        }
        if (i < len && p < pend) {
            char c = (char)ss_to_lower(s[i]);
            if (*p == '?') {
                p++;
                i += char_len(s, len, i);
                continue;
            }
            if (*p == '[') {
                const char *end = NULL;
                int m = set_match(p, &end, c);
                if (m == 1 && end <= pend) {
                    p = end;
                    i++;
                    continue;
                }
                if (m == -1 && c == '[') {
                    p++;
                    i++;
                    continue;
                }
            } else {
                const char *lit = p;
                if (*p == '\\' && p + 1 < pend)
                    lit = p + 1;
                if ((char)ss_to_lower(*lit) == c) {
                    p = lit + 1;
                    i++;
                    continue;
                }
            }
        }
        if (!star)
            return 0;
        /* Let the last '*' take one character more, and try again. */
        p = star;
        star_i += char_len(s, len, star_i);
        if (star_i > len)
            return 0;
        i = star_i;
    }
    return p == pend;
}

/* ---- the converter ---- */

int ss_wide_new(struct ss_wide **out, const struct ss_wide_opts *opts)
{
    *out = NULL;
    if (!opts || !opts->value_field || !opts->value_field[0])
        return SS_EINVAL;
    struct ss_wide *w = calloc(1, sizeof(*w));
    if (!w)
        return SS_ENOMEM;
    w->opts = *opts;
    if (!w->opts.period_field || !w->opts.period_field[0])
        w->opts.period_field = "month";
    w->as_month = w->opts.period_type == SS_FT_MONTH;
    *out = w;
    return 0;
}

static void release_header(struct ss_wide *w)
{
    free(w->xnames);
    free(w->sx);
    free(w->sgroup);
    free(w->bands);
    free(w->take);
    free(w->gmask);
    free(w->gother);
    free(w->gkind);
    free(w->gyear);
    w->gyear = NULL;
    w->xnames = w->sx = NULL;
    w->sgroup = w->bands = NULL;
    w->take = w->gother = w->gkind = NULL;
    w->gmask = NULL;
    w->nx = w->ngroups = 0;
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
    w->nin = w->nout = w->nperiods = w->nignored = 0;
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
    size_t nl = strlen(name);
    ss_trim(&h, &len);
    ss_trim(&name, &nl);
    return nl == len && strncasecmp(h, name, len) == 0;
}

int ss_wide_ignores(const struct ss_wide *w, const char *name, size_t len)
{
    for (size_t k = 0; k < w->opts.nignore; k++)
        if (ss_wide_glob(w->opts.ignore[k], name, len))
            return 1;
    return 0;
}

/* Column names, trimmed, sorted for lookup (ties by position). */
struct name_ix {
    const char *s;
    size_t len;
    size_t i;
};

static int name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = strncasecmp(a, b, n);
    return c ? c : (al > bl) - (al < bl);
}

static int name_ix_cmp(const void *x, const void *y)
{
    const struct name_ix *a = x, *b = y;
    int c = name_cmp(a->s, a->len, b->s, b->len);
    return c ? c : (a->i > b->i) - (a->i < b->i);
}

/* The first column named key, or n. */
static size_t find_name(const struct name_ix *ix, size_t n, const char *key)
{
    size_t kl = strlen(key), lo = 0, hi = n;
    ss_trim(&key, &kl);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (name_cmp(ix[mid].s, ix[mid].len, key, kl) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && name_cmp(ix[lo].s, ix[lo].len, key, kl) == 0 ? ix[lo].i : n;
}

/* Period columns sorted by their text, to find two of one period. */
struct text_ix {
    const char *text;
    size_t i;
};

static int text_ix_cmp(const void *x, const void *y)
{
    const struct text_ix *a = x, *b = y;
    int c = strcmp(a->text, b->text);
    return c ? c : (a->i > b->i) - (a->i < b->i);
}

#define SHOWN(len) (int)((len) < 60 ? (len) : 60)

/* Whether a csv.wide key is a pattern rather than a column's name. */
static int is_pattern(const char *k)
{
    return strpbrk(k, "*?[\\") != NULL;
}

/* How specific a pattern is: its characters that are no wildcard (a set
 * counts as one). */
static size_t literal_chars(const char *p)
{
    size_t n = 0;
    for (; *p; p++) {
        if (*p == '*' || *p == '?')
            continue;
        if (*p == '[') {
            while (p[1] && p[1] != ']')
                p++;
            if (p[1])
                p++;
        } else if (*p == '\\' && p[1]) {
            p++;
        }
        n++;
    }
    return n;
}

/* Of keys[0..n) (names or patterns; NULL ones skipped), the one that fits column name best:
 * an exact name (any case, spaces around ignored), else the matching pattern
 * with the most literal characters. Returns its index, or -1 for none; *tie
 * is set to another index as good (else -1). */
static int best_match(const char *const *keys, size_t n, const char *name, size_t len, int *tie)
{
    int best = -1;
    size_t score = 0;
    *tie = -1;
    for (size_t k = 0; k < n; k++) {
        size_t sc;
        if (!keys[k])
            continue;
        if (!is_pattern(keys[k])) {
            if (!header_is(name, len, keys[k]))
                continue;
            sc = (size_t)-1;
        } else {
            if (!ss_wide_glob(keys[k], name, len))
                continue;
            sc = literal_chars(keys[k]);
        }
        if (best < 0 || sc > score) {
            best = (int)k, score = sc, *tie = -1;
        } else if (sc == score) {
            *tie = (int)k;
        }
    }
    return best;
}

static int column_period(const struct ss_wide *w, const struct ss_config_pair *pair,
                         struct ss_wide_period *per, char *err, size_t errlen);

/* The configured columns: each header named, each value read as a period. */
static int configured(struct ss_wide *w, const char *const *names, const size_t *lens, size_t n,
                      char *err, size_t errlen)
{
    char cols[1024];
    struct name_ix *ix = malloc((n ? n : 1) * sizeof(*ix));
    if (!ix)
        return SS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        ix[i].s = names[i];
        ix[i].len = lens[i];
        ix[i].i = i;
        ss_trim(&ix[i].s, &ix[i].len);
    }
    qsort(ix, n, sizeof(*ix), name_ix_cmp);
    for (size_t k = 0; k < w->opts.ncolumns; k++) {
        const struct ss_config_pair *pair = &w->opts.columns[k];
        if (is_pattern(pair->key))
            continue; /* after csv.wide.ignore (pattern_columns) */
        size_t i = find_name(ix, n, pair->key);
        if (i == n) {
            ss_mapper_list_columns(cols, sizeof(cols), names, lens, n);
            snprintf(err, errlen,
                     "\"csv.wide.columns\": the export has no column \"%s\" (its columns: %s)",
                     pair->key, cols);
            goto fail;
        }
        struct wide_col *c = &w->cols[i];
        struct ss_wide_period per;
        if (column_period(w, pair, &per, err, errlen) < 0)
            goto fail;
        if (c->cls != COL_PERIOD)
            w->nperiods++;
        c->cls = COL_PERIOD;
        c->per = per;
    }
    free(ix);
    return 0;
fail:
    free(ix);
    return SS_ESETUP;
}

/* A csv.wide.columns value read as a period into *per. 0, or SS_ESETUP. */
static int column_period(const struct ss_wide *w, const struct ss_config_pair *pair,
                         struct ss_wide_period *per, char *err, size_t errlen)
{
    {
        if (!ss_wide_parse_period(pair->value, strlen(pair->value), per)) {
            snprintf(err, errlen,
                     "\"csv.wide.columns.%s\": \"%s\" is not a period (a month such as "
                     "\"2023-04\", a financial year such as \"2023-24\", or an ISO 8601 interval "
                     "such as \"2023-04-01/P3M\" or \"2023-04-01/2023-06-30\")",
                     pair->key, pair->value);
            return SS_ESETUP;
        }
        /* "2010-11" as a value: the month for a month field, else the
         * financial year -- as the daemon would read the text as given. */
        if (per->also_fy && !w->as_month)
            set_months(per, per->y1, 4, 12);
    }
    return 0;
}

/* The columns csv.wide.columns names by pattern, among those neither
 * named exactly nor ignored. 0, or SS_ESETUP with the message in err (a
 * pattern no column matches, two as specific with different periods). */
static int pattern_columns(struct ss_wide *w, const char *const *names, const size_t *lens,
                           size_t n, char *err, size_t errlen)
{
    size_t nk = w->opts.ncolumns;
    const char **keys = malloc((nk ? nk : 1) * sizeof(*keys));
    unsigned char *used = calloc(nk ? nk : 1, 1);
    int rc = 0;
    if (!keys || !used) {
        free(keys);
        free(used);
        return SS_ENOMEM;
    }
    for (size_t k = 0; k < nk; k++) /* names were handled by configured() */
        keys[k] = is_pattern(w->opts.columns[k].key) ? w->opts.columns[k].key : NULL;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct wide_col *c = &w->cols[i];
        int tie, k = c->cls == COL_OTHER ? best_match(keys, nk, names[i], lens[i], &tie) : -1;
        if (k < 0)
            continue;
        used[k] = 1;
        if (tie >= 0 && strcmp(w->opts.columns[k].value, w->opts.columns[tie].value) != 0) {
            snprintf(err, errlen,
                     "\"csv.wide.columns\": \"%s\" and \"%s\" both match the column \"%.*s\" "
                     "and give different periods; name the column itself",
                     w->opts.columns[k].key, w->opts.columns[tie].key, SHOWN(lens[i]), names[i]);
            rc = SS_ESETUP;
            break;
        }
        if ((rc = column_period(w, &w->opts.columns[k], &c->per, err, errlen)) < 0)
            break;
        c->cls = COL_PERIOD;
        w->nperiods++;
    }
    for (size_t k = 0; k < nk && rc == 0; k++)
        if (keys[k] && !used[k]) {
            char cols[1024];
            ss_mapper_list_columns(cols, sizeof(cols), names, lens, n);
            snprintf(err, errlen,
                     "\"csv.wide.columns\": the pattern \"%s\" matches no column that "
                     "\"csv.wide.ignore\" leaves in (its columns: %s)",
                     keys[k], cols);
            rc = SS_ESETUP;
        }
    free(keys);
    free(used);
    return rc;
}

/* Two series give the same values to every field. */
static int same_values(const struct ss_wide *w, size_t a, size_t b, long except)
{
    for (size_t x = 0; x < w->nx; x++) {
        const char *va = w->sx[a * w->nx + x], *vb = w->sx[b * w->nx + x];
        if ((long)x == except)
            continue;
        if ((va == NULL) != (vb == NULL) || (va && strcmp(va, vb) != 0))
            return 0;
    }
    return 1;
}

/* csv.wide.series: the fields (xnames), each series' values (sx) and group.
 * 0, SS_ENOMEM. */
static int series_fields(struct ss_wide *w)
{
    const struct ss_config_valmap *sr = w->opts.series;
    size_t cap = 0;
    for (size_t s = 0; s < w->opts.nseries; s++)
        cap += sr[s].npairs;
    w->xnames = calloc(cap ? cap : 1, sizeof(*w->xnames));
    w->sgroup = calloc(w->opts.nseries ? w->opts.nseries : 1, sizeof(*w->sgroup));
    if (!w->xnames || !w->sgroup)
        return SS_ENOMEM;
    for (size_t s = 0; s < w->opts.nseries; s++)
        for (size_t j = 0; j < sr[s].npairs; j++) {
            size_t x = 0;
            while (x < w->nx && strcmp(w->xnames[x], sr[s].pairs[j].key) != 0)
                x++;
            if (x == w->nx)
                w->xnames[w->nx++] = sr[s].pairs[j].key;
        }
    size_t nsx = w->opts.nseries * w->nx;
    w->sx = calloc(nsx > 0 ? nsx : 1, sizeof(*w->sx));
    if (!w->sx)
        return SS_ENOMEM;
    for (size_t s = 0; s < w->opts.nseries; s++)
        for (size_t j = 0; j < sr[s].npairs; j++)
            for (size_t x = 0; x < w->nx; x++)
                if (strcmp(w->xnames[x], sr[s].pairs[j].key) == 0)
                    w->sx[s * w->nx + x] = sr[s].pairs[j].value;
    w->ngroups = 0;
    for (size_t s = 0; s < w->opts.nseries; s++) {
        size_t t = 0;
        while (t < s && !same_values(w, s, t, -1))
            t++;
        w->sgroup[s] = t < s ? w->sgroup[t] : w->ngroups++;
    }
    if (w->ngroups == 0)
        w->ngroups = 1;
    return 0;
}

/* Each period column's series and, for a total, its bands. 0, SS_ESETUP
 * with the message in err, or SS_ENOMEM. */
static int series_columns(struct ss_wide *w, const char *const *names, const size_t *lens, size_t n,
                          char *err, size_t errlen)
{
    size_t ns = w->opts.nseries, nt = w->opts.ntotals, nb = 0;
    const char **skeys = malloc((ns + nt + 1) * sizeof(*skeys));
    if (!skeys)
        return SS_ENOMEM;
    const char **tkeys = skeys + ns;
    for (size_t k = 0; k < ns; k++)
        skeys[k] = w->opts.series[k].field;
    for (size_t k = 0; k < nt; k++)
        tkeys[k] = w->opts.totals[k].key;
    int rc = 0, tie;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct wide_col *c = &w->cols[i];
        c->series = c->total = -1;
        if (c->cls != COL_PERIOD || ns == 0)
            continue;
        c->series = best_match(skeys, ns, names[i], lens[i], &tie);
        if (c->series < 0 || (tie >= 0 && !same_values(w, (size_t)c->series, (size_t)tie, -1))) {
            snprintf(err, errlen,
                     c->series < 0 ? "\"csv.wide.series\": the period column \"%.*s\" is in no "
                                     "series (give it one, or list it in \"csv.wide.ignore\")%s%s"
                                   : "\"csv.wide.series\": the column \"%.*s\" matches \"%s\" "
                                     "and \"%s\", which give different values; name it itself",
                     SHOWN(lens[i]), names[i], c->series < 0 ? "" : skeys[c->series],
                     c->series < 0 ? "" : skeys[tie]);
            rc = SS_ESETUP;
            break;
        }
        int t = nt ? best_match(tkeys, nt, names[i], lens[i], &tie) : -1;
        if (t < 0)
            continue;
        for (size_t x = 0; x < w->nx; x++)
            if (strcmp(w->xnames[x], w->opts.totals[t].value) == 0)
                c->total = (int)x;
    }
    free(skeys);
    if (rc < 0)
        return rc;
    /* Two columns of one series and one period would make colliding records. */
    for (size_t i = 0; i < n && ns; i++)
        for (size_t j = i + 1; j < n && w->cols[i].cls == COL_PERIOD; j++) {
            const struct wide_col *a = &w->cols[i], *b = &w->cols[j];
            if (b->cls != COL_PERIOD || strcmp(a->text, b->text) != 0 ||
                w->sgroup[a->series] != w->sgroup[b->series])
                continue;
            snprintf(err, errlen,
                     "\"csv.wide\": columns \"%.*s\" and \"%.*s\" are both the period %s of "
                     "one series; give them different \"csv.wide.series\" values, or list the "
                     "one to leave out in \"csv.wide.ignore\"",
                     SHOWN(lens[i]), names[i], SHOWN(lens[j]), names[j], a->text);
            return SS_ESETUP;
        }
    /* The bands of each total: same period, same values but the total's field. */
    for (int pass = 0; pass < 2; pass++) {
        nb = 0;
        for (size_t i = 0; i < n; i++) {
            struct wide_col *t = &w->cols[i];
            if (t->cls != COL_PERIOD || t->total < 0)
                continue;
            t->band0 = nb;
            for (size_t j = 0; j < n; j++) {
                const struct wide_col *b = &w->cols[j];
                if (j == i || b->cls != COL_PERIOD || b->total >= 0 ||
                    strcmp(b->text, t->text) != 0 ||
                    !same_values(w, (size_t)b->series, (size_t)t->series, t->total))
                    continue;
                if (pass)
                    w->bands[nb] = j;
                nb++;
            }
            t->nbands = nb - t->band0;
        }
        if (pass == 0 && !(w->bands = malloc((nb ? nb : 1) * sizeof(*w->bands))))
            return SS_ENOMEM;
    }
    return 0;
}

/* Headers read as periods; "2010-11" decided by the others. */
static int detected(struct ss_wide *w, const char *const *names, const size_t *lens, size_t n,
                    char *err, size_t errlen)
{
    char cols[1024];
    int months = 0, others = 0;
    for (size_t i = 0; i < n; i++) {
        struct wide_col *c = &w->cols[i];
        if (c->cls == COL_IGNORED || !ss_wide_parse_period(names[i], lens[i], &c->per))
            continue;
        c->cls = COL_PERIOD;
        w->nperiods++;
        if (!c->per.also_fy) {
            if (ss_wide_period_is_month(&c->per))
                months = 1;
            else
                others = 1;
        }
    }
    if (w->nperiods == 0) {
        ss_mapper_list_columns(cols, sizeof(cols), names, lens, n);
        snprintf(err, errlen,
                 "\"csv.wide\": no column header reads as a period (a month such as \"2023-04\", "
                 "\"2023-1\", \"Apr-23\" or \"April 2023\", a financial year or quarter such as "
                 "\"2023-24\" or \"2023-24 Q1\", an ISO 8601 interval; its columns: %s); name "
                 "the period columns in \"csv.wide.columns\"",
                 cols);
        return SS_ESETUP;
    }
    for (size_t i = 0; i < n; i++) {
        struct wide_col *c = &w->cols[i];
        if (c->cls != COL_PERIOD || !c->per.also_fy)
            continue;
        if (months) {
            c->per.also_fy = 0; /* a month among months */
        } else if (others) {
            set_months(&c->per, c->per.y1, 4, 12); /* a year among years and quarters */
        } else {
            snprintf(err, errlen,
                     "\"csv.wide\": column \"%.*s\" reads both as the month %04d-%02d and as "
                     "the financial year %04d-%02d, and no other column tells which; name the "
                     "period columns in \"csv.wide.columns\" (\"%.*s\": \"%04d-%02d\" or "
                     "\"%04d-%02d-01/P1Y\")",
                     SHOWN(lens[i]), names[i], c->per.y1, c->per.m1, c->per.y1,
                     (c->per.y1 + 1) % 100, SHOWN(lens[i]), names[i], c->per.y1, c->per.m1,
                     c->per.y1, 4);
            return SS_ESETUP;
        }
    }
    return 0;
}

/* Each period column's text, and no period twice. */
static int period_texts(struct ss_wide *w, const char *const *names, const size_t *lens, size_t n,
                        char *err, size_t errlen)
{
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        struct wide_col *c = &w->cols[i];
        if (c->cls != COL_PERIOD)
            continue;
        size_t l = ss_wide_period_text(&c->per, w->as_month, c->text, sizeof(c->text));
        if (l == 0) {
            char text[TEXT_MAX];
            ss_wide_period_text(&c->per, 0, text, sizeof(text));
            snprintf(err, errlen,
                     "\"csv.wide\": column \"%.*s\" is the period %s, not one calendar month, "
                     "and \"csv.wide.period_field\" \"%s\" is a month field; set "
                     "\"period_field\": \"period\" to load periods other than months (or list "
                     "the column in \"csv.wide.ignore\" to leave it out)",
                     SHOWN(lens[i]), names[i], text, w->opts.period_field);
            return SS_ESETUP;
        }
        c->plen = (unsigned char)l;
        np++;
    }
    struct text_ix *order = malloc((np ? np : 1) * sizeof(*order));
    if (!order)
        return SS_ENOMEM;
    np = 0;
    for (size_t i = 0; i < n; i++)
        if (w->cols[i].cls == COL_PERIOD)
            order[np++] = (struct text_ix){w->cols[i].text, i};
    qsort(order, np, sizeof(*order), text_ix_cmp);
    for (size_t k = 1; k < np && w->opts.nseries == 0; k++) { /* series: series_columns */
        size_t a = order[k - 1].i, b = order[k].i;
        if (strcmp(order[k - 1].text, order[k].text) != 0)
            continue;
        snprintf(err, errlen,
                 "\"csv.wide\": columns \"%.*s\" and \"%.*s\" are both the period %s; list the "
                 "one to leave out in \"csv.wide.ignore\"",
                 SHOWN(lens[a]), names[a], SHOWN(lens[b]), names[b], w->cols[a].text);
        free(order);
        return SS_ESETUP;
    }
    free(order);
    return 0;
}

int ss_wide_header(struct ss_wide *w, const char *const *names, const size_t *lens, size_t n,
                   char *err, size_t errlen)
{
    size_t store = 0;
    int rc;

    release_header(w);
    w->cols = calloc(n ? n : 1, sizeof(*w->cols));
    if (!w->cols)
        goto nomem;
    w->nin = n;

    if (w->opts.ncolumns > 0 && (rc = configured(w, names, lens, n, err, errlen)) < 0)
        goto out;
    /* A configured column is read whatever the patterns say. */
    for (size_t i = 0; i < n; i++)
        if (w->cols[i].cls != COL_PERIOD && ss_wide_ignores(w, names[i], lens[i])) {
            w->cols[i].cls = COL_IGNORED;
            w->nignored++;
        }
    if (w->opts.ncolumns > 0 && (rc = pattern_columns(w, names, lens, n, err, errlen)) < 0)
        goto out;
    if (w->opts.ncolumns == 0 && (rc = detected(w, names, lens, n, err, errlen)) < 0)
        goto out;
    if ((rc = period_texts(w, names, lens, n, err, errlen)) < 0)
        goto out;
    if ((rc = series_fields(w)) < 0 || (rc = series_columns(w, names, lens, n, err, errlen)) < 0)
        goto out;
    w->take = calloc(n ? n : 1, 1);
    w->gmask = calloc(w->ngroups, sizeof(*w->gmask));
    w->gother = calloc(w->ngroups, 1);
    w->gkind = calloc(w->ngroups, 1);
    w->gyear = calloc(w->ngroups, sizeof(*w->gyear));
    if (!w->take || !w->gmask || !w->gother || !w->gkind || !w->gyear)
        goto nomem;

    for (size_t i = 0; i < n; i++) {
        if (w->cols[i].cls != COL_OTHER)
            continue;
        const char *clash = header_is(names[i], lens[i], w->opts.period_field)  ? "period_field"
                            : header_is(names[i], lens[i], w->opts.value_field) ? "value_field"
                                                                                : NULL;
        for (size_t x = 0; !clash && x < w->nx; x++)
            if (header_is(names[i], lens[i], w->xnames[x]))
                clash = "series";
        if (clash) {
            snprintf(err, errlen,
                     "\"csv.wide.%s\": the export already has a column \"%.*s\", which is not a "
                     "period column; choose another field, list the period columns in "
                     "\"csv.wide.columns\", or leave the column out with \"csv.wide.ignore\"",
                     clash, SHOWN(lens[i]), names[i]);
            rc = SS_ESETUP;
            goto out;
        }
        store += lens[i] + 1;
    }

    w->nout = n - w->nperiods - w->nignored + w->nx + 2;
    w->out_names = calloc(w->nout, sizeof(*w->out_names));
    w->out_lens = calloc(w->nout, sizeof(*w->out_lens));
    w->vals = calloc(w->nout, sizeof(*w->vals));
    w->vlens = calloc(w->nout, sizeof(*w->vlens));
    w->name_store = malloc(store ? store : 1);
    if (!w->out_names || !w->out_lens || !w->vals || !w->vlens || !w->name_store)
        goto nomem;
    size_t o = 0, at = 0;
    for (size_t i = 0; i < n; i++) {
        if (w->cols[i].cls != COL_OTHER)
            continue;
        memcpy(w->name_store + at, names[i], lens[i]);
        w->name_store[at + lens[i]] = '\0';
        w->out_names[o] = w->name_store + at;
        w->out_lens[o++] = lens[i];
        at += lens[i] + 1;
    }
    for (size_t x = 0; x < w->nx; x++) {
        w->out_names[o] = w->xnames[x];
        w->out_lens[o++] = strlen(w->xnames[x]);
    }
    w->out_names[o] = w->opts.period_field;
    w->out_lens[o++] = strlen(w->opts.period_field);
    w->out_names[o] = w->opts.value_field;
    w->out_lens[o] = strlen(w->opts.value_field);
    return 0;

nomem:
    rc = SS_ENOMEM;
out:
    release_header(w);
    if (rc == SS_ENOMEM)
        snprintf(err, errlen, "out of memory");
    return rc;
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

size_t ss_wide_ignored(const struct ss_wide *w)
{
    return w->nignored;
}

size_t ss_wide_project(const struct ss_wide *w, const char *const *fields, const size_t *lens,
                       size_t n, const char **vals, size_t *vlens)
{
    size_t o = 0;
    for (size_t i = 0; i < w->nin && i < n; i++) {
        if (w->cols[i].cls != COL_OTHER)
            continue;
        vals[o] = fields[i];
        vlens[o++] = lens[i];
    }
    return o;
}

size_t ss_wide_source_column(const struct ss_wide *w, size_t col)
{
    for (size_t i = 0; i < w->nin; i++)
        if (w->cols[i].cls == COL_OTHER && col-- == 0)
            return i;
    return (size_t)-1;
}

static int blank(const char *s, size_t len)
{
    ss_trim(&s, &len);
    return len == 0;
}

/* A cell as a whole number (spaces around it allowed), or -1. */
static long long cell_number(const char *s, size_t len)
{
    long long v = 0;
    ss_trim(&s, &len);
    if (len == 0 || len > 18)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!ss_is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Which of the row's cells load: the non-empty ones, but a total only
 * when its bands are all empty. */
static void choose_cells(struct ss_wide *w, const char *const *fields, const size_t *lens)
{
    for (size_t i = 0; i < w->nin; i++)
        w->take[i] = w->cols[i].cls == COL_PERIOD && !blank(fields[i], lens[i]);
    for (size_t i = 0; i < w->nin; i++) {
        const struct wide_col *t = &w->cols[i];
        if (!w->take[i] || t->total < 0)
            continue;
        long long sum = 0;
        int any = 0, exact = 1;
        for (size_t b = t->band0; b < t->band0 + t->nbands; b++) {
            size_t j = w->bands[b];
            if (!w->take[j])
                continue;
            long long v = cell_number(fields[j], lens[j]);
            any = 1;
            exact &= v >= 0;
            sum += v >= 0 ? v : 0;
        }
        if (!any)
            continue;
        w->take[i] = 0;
        w->dropped++;
        long long tv = cell_number(fields[i], lens[i]);
        if (!exact || tv != sum)
            w->differing++;
        if (exact && tv > sum)
            w->excess += (unsigned long long)(tv - sum);
    }
}

/* period_end: what each series of the row holds (see ss_wide.h). */
static void classify_series(struct ss_wide *w)
{
    const unsigned qe = 1u << 2 | 1u << 5 | 1u << 8 | 1u << 11; /* Mar, Jun, Sep, Dec */
    memset(w->gmask, 0, w->ngroups * sizeof(*w->gmask));
    memset(w->gother, 0, w->ngroups);
    for (size_t i = 0; i < w->nin; i++) {
        const struct wide_col *c = &w->cols[i];
        if (!w->take[i])
            continue;
        size_t g = c->series >= 0 ? w->sgroup[c->series] : 0;
        if (ss_wide_period_is_month(&c->per)) {
            w->gmask[g] |= 1u << (c->per.m1 - 1);
            w->gyear[g] = c->per.m1 >= 4 ? c->per.y1 : c->per.y1 - 1;
        } else
            w->gother[g] = 1;
    }
    int quarterly = 0;
    for (size_t g = 0; g < w->ngroups; g++)
        quarterly |= !w->gother[g] && w->gmask[g] && !(w->gmask[g] & ~qe) &&
                     (w->gmask[g] & (w->gmask[g] - 1));
    for (size_t g = 0; g < w->ngroups; g++) {
        unsigned m = w->gmask[g];
        int one = m && !(m & (m - 1));
        w->gkind[g] = SER_MONTHS;
        if (w->gother[g] || !m)
            continue;
        if (!(m & ~qe) && (!one || quarterly))
            w->gkind[g] = SER_QUARTERS;
        else if (one && (m == 1u << 2 || m == 1u << 3))
            w->gkind[g] = SER_YEAR;
    }
}

/* period_end: a monthly total whose bands are empty that month but hold
 * the quarter or the year around it (Norfolk's monthly book totals beside
 * the year's age bands, entered in March) is left out too: the bands count
 * that month already. */
static void drop_covered_totals(struct ss_wide *w)
{
    for (size_t i = 0; i < w->nin; i++) {
        const struct wide_col *t = &w->cols[i];
        if (!w->take[i] || t->total < 0 || !ss_wide_period_is_month(&t->per))
            continue;
        int m = t->per.m1, fy = m >= 4 ? t->per.y1 : t->per.y1 - 1;
        unsigned qend = 1u << ((m - 1) / 3 * 3 + 2);
        for (size_t b = t->band0; b < t->band0 + t->nbands; b++) {
            const struct wide_col *band = &w->cols[w->bands[b]];
            size_t g = band->series >= 0 ? w->sgroup[band->series] : 0;
            if ((w->gkind[g] == SER_YEAR && w->gyear[g] == fy) ||
                (w->gkind[g] == SER_QUARTERS && (w->gmask[g] & qend))) {
                w->take[i] = 0;
                w->dropped++;
                w->covered++;
                break;
            }
        }
    }
}

/* The period text of cell i: its column's, or (period_end) the quarter or
 * the financial year it stands for. */
static void cell_period(struct ss_wide *w, size_t i, const char **text, size_t *len)
{
    const struct wide_col *c = &w->cols[i];
    size_t g = c->series >= 0 ? w->sgroup[c->series] : 0;
    struct ss_wide_period p;
    int ok = 0;
    *text = c->text;
    *len = c->plen;
    if (!w->opts.period_end || w->gkind[g] == SER_MONTHS)
        return;
    if (w->gkind[g] == SER_QUARTERS)
        ok = set_months(&p, c->per.y1, c->per.m1 - 2, 3);
    else
        ok = set_months(&p, c->per.m1 >= 4 ? c->per.y1 : c->per.y1 - 1, 4, 12);
    size_t l = ok ? ss_wide_period_text(&p, 0, w->ptext, sizeof(w->ptext)) : 0;
    if (l == 0)
        return;
    *text = w->ptext;
    *len = l;
    if (w->gkind[g] == SER_QUARTERS)
        w->quarters++;
    else
        w->years++;
}

unsigned long ss_wide_totals_dropped(const struct ss_wide *w)
{
    return w->dropped;
}

unsigned long ss_wide_totals_differing(const struct ss_wide *w)
{
    return w->differing;
}

unsigned long long ss_wide_totals_excess(const struct ss_wide *w)
{
    return w->excess;
}

unsigned long ss_wide_totals_covered(const struct ss_wide *w)
{
    return w->covered;
}

unsigned long ss_wide_quarters(const struct ss_wide *w)
{
    return w->quarters;
}

unsigned long ss_wide_years(const struct ss_wide *w)
{
    return w->years;
}

int ss_wide_row(struct ss_wide *w, const char *const *fields, const size_t *lens, size_t n,
                ss_wide_record_cb cb, void *ud, char *why, size_t whylen)
{
    if (n != w->nin || !w->vals) {
        snprintf(why, whylen, "%zu fields where the header has %zu", n, w->nin);
        return SS_EINVAL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (w->cols[i].cls != COL_OTHER)
            continue;
        w->vals[o] = fields[i];
        w->vlens[o++] = lens[i];
    }
    choose_cells(w, fields, lens);
    if (w->opts.period_end) {
        classify_series(w);
        drop_covered_totals(w);
    }
    size_t at = o + w->nx;
    for (size_t i = 0; i < n; i++) {
        const struct wide_col *c = &w->cols[i];
        if (!w->take[i])
            continue;
        for (size_t x = 0; x < w->nx; x++) {
            const char *v = c->series >= 0 ? w->sx[(size_t)c->series * w->nx + x] : NULL;
            w->vals[o + x] = v ? v : "";
            w->vlens[o + x] = v ? strlen(v) : 0;
        }
        cell_period(w, i, &w->vals[at], &w->vlens[at]);
        w->vals[at + 1] = fields[i];
        w->vlens[at + 1] = lens[i];
        if (cb(ud, w->vals, w->vlens, w->nout) != 0)
            return 1;
    }
    return 0;
}
