/* libFuzzer target for ss_wide: the period header parser, the ignore
 * patterns and the header/row transform.
 *
 * Oracle: the daemon's own readers (ss_validate), since the canonical text
 * is what crosses the wire. A header that ss_wide_parse_period accepts is a
 * real span of days inside the years the daemon takes; its interval text
 * reads with ss_parse_period to the same first and last day, its month text
 * (when it is one month) with ss_parse_month, and the canonical text reads
 * back through ss_wide_parse_period to the same period (the canonicaliser is
 * idempotent). A header that also reads as a financial year is a month whose
 * label the daemon takes as that year. ss_wide_glob matches a name against
 * the name itself with every character escaped, and "*" matches anything.
 * The input split at ',' and '\n' is a header and a row: every record it
 * gives carries a period text the daemon reads, for a month field and for a
 * period field.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_text.h"
#include "ss_validate.h"
#include "ss_wide.h"

static int same(struct ss_date d, int y, int m, int dd)
{
    return d.y == y && d.m == m && d.d == dd;
}

static void check_period(const char *s, size_t n)
{
    struct ss_wide_period p, again;
    struct ss_date a, b;
    const char *why = NULL;
    char text[32], month[32];
    if (!ss_wide_parse_period(s, n, &p))
        return;
    size_t tl = ss_wide_period_text(&p, 0, text, sizeof(text));
    if (tl == 0 || ss_parse_period(text, tl, &a, &b, &why) != 0 || !same(a, p.y1, p.m1, p.d1) ||
        !same(b, p.y2, p.m2, p.d2))
        __builtin_trap();
    if (!ss_wide_parse_period(text, tl, &again) || again.y1 != p.y1 || again.m1 != p.m1 ||
        again.d1 != p.d1 || again.y2 != p.y2 || again.m2 != p.m2 || again.d2 != p.d2)
        __builtin_trap();
    size_t ml = ss_wide_period_text(&p, 1, month, sizeof(month));
    if ((ml != 0) != ss_wide_period_is_month(&p))
        __builtin_trap();
    if (ml && (ss_parse_month(month, ml, &a, &b, &why) != 0 || !same(a, p.y1, p.m1, p.d1) ||
               !same(b, p.y2, p.m2, p.d2)))
        __builtin_trap();
    if (p.also_fy) {
        char fy[16];
        int l = snprintf(fy, sizeof(fy), "%04d-%02d", p.y1, (p.y1 + 1) % 100);
        if (!ml || ss_parse_period(fy, (size_t)l, &a, &b, &why) != 0 || !same(a, p.y1, 4, 1))
            __builtin_trap();
    }
}

static void check_glob(const char *s, size_t n)
{
    if (!ss_wide_glob("*", s, n))
        __builtin_trap();
    if (memchr(s, '\0', n))
        return;
    /* The name, trimmed as the matcher trims it (ss_trim), every byte escaped. */
    const char *t = s;
    size_t tn = n;
    ss_trim(&t, &tn);
    size_t lo = (size_t)(t - s), hi = lo + tn;
    char *pat = malloc(2 * (hi - lo) + 1);
    if (!pat)
        return;
    size_t k = 0;
    for (size_t i = lo; i < hi; i++) {
        pat[k++] = '\\';
        pat[k++] = s[i];
    }
    pat[k] = '\0';
    if (!ss_wide_glob(pat, s, n))
        __builtin_trap();
    /* A pattern from the input itself: only that it ends. */
    memcpy(pat, s + lo, hi - lo);
    pat[hi - lo] = '\0';
    (void)ss_wide_glob(pat, s, n);
    free(pat);
}

#define MAXCOLS 256

struct seen {
    int month;
};

static int on_record(void *ud, const char *const *vals, const size_t *lens, size_t n)
{
    struct seen *sn = ud;
    struct ss_date a, b;
    const char *why = NULL;
    if (n < 2)
        __builtin_trap();
    int rc = sn->month ? ss_parse_month(vals[n - 2], lens[n - 2], &a, &b, &why)
                       : ss_parse_period(vals[n - 2], lens[n - 2], &a, &b, &why);
    if (rc != 0 || lens[n - 1] == 0)
        __builtin_trap();
    return 0;
}

static size_t split(const char *s, size_t n, const char **f, size_t *l)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= n && k < MAXCOLS; i++) {
        if (i == n || s[i] == ',') {
            f[k] = s + start;
            l[k++] = i - start;
            start = i + 1;
        }
    }
    return k;
}

static void check_transform(const char *s, size_t n)
{
    const char *nl = memchr(s, '\n', n);
    size_t hn = nl ? (size_t)(nl - s) : n;
    const char *hf[MAXCOLS], *rf[MAXCOLS];
    size_t hl[MAXCOLS], rl[MAXCOLS];
    size_t nh = split(s, hn, hf, hl);
    size_t nr = nl ? split(nl + 1, n - hn - 1, rf, rl) : split(s, hn, rf, rl);
    static const char *const ignore[] = {"Total*", "*notes*", "[!a-z]?"};
    for (int month = 0; month < 2; month++) {
        struct ss_wide_opts o = {
            .value_field = "visits",
            .period_field = month ? "month" : "period",
            .period_type = month ? SS_FT_MONTH : SS_FT_PERIOD,
            .ignore = ignore,
            .nignore = 3,
        };
        struct ss_wide *w;
        char err[1024], why[256];
        if (ss_wide_new(&w, &o) != 0)
            return;
        if (ss_wide_header(w, hf, hl, nh, err, sizeof(err)) == 0) {
            const char *const *on;
            const size_t *ol;
            size_t nout;
            ss_wide_columns(w, &on, &ol, &nout);
            if (nout != nh - ss_wide_periods(w) - ss_wide_ignored(w) + 2 || ss_wide_periods(w) == 0)
                __builtin_trap();
            struct seen sn = {month};
            int rc = ss_wide_row(w, rf, rl, nr, on_record, &sn, why, sizeof(why));
            if (rc < 0 && nr == nh)
                __builtin_trap();
            const char *pv[MAXCOLS + 2];
            size_t pl[MAXCOLS + 2];
            if (ss_wide_project(w, rf, rl, nr, pv, pl) > nout - 2)
                __builtin_trap();
        } else if (!err[0]) {
            __builtin_trap();
        }
        ss_wide_free(w);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    check_period(s, size);
    check_glob(s, size);
    check_transform(s, size);
    return 0;
}
