/* Tests for ss_wide: which headers read as periods and the canonical text
 * each becomes (for a month field and for a period field), headers that only
 * look like periods, "2010-11" decided by its neighbours, ignore names and
 * patterns, configured period columns (any number of them), one record per
 * non-empty period cell with the other columns kept, rows with the wrong
 * cell count, and headers it refuses.
 *
 * Records are rendered as "v|v|v" lines so a test compares one string.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ss_wide.h"

#define MAXF 64

struct render {
    char out[16384];
    size_t len;
    int records;
    int stop_after;
};

static int render(void *ud, const char *const *vals, const size_t *lens, size_t n)
{
    struct render *r = ud;
    for (size_t i = 0; i < n; i++)
        r->len += (size_t)snprintf(r->out + r->len, sizeof(r->out) - r->len, "%s%.*s", i ? "|" : "",
                                   (int)lens[i], vals[i]);
    r->len += (size_t)snprintf(r->out + r->len, sizeof(r->out) - r->len, "\n");
    return ++r->records == r->stop_after;
}

/* Splits "a,b,c" (no quoting) into fields in buf. */
static size_t split(const char *line, char *buf, const char **f, size_t *l)
{
    size_t n = 0;
    strcpy(buf, line);
    char *p = buf;
    for (;;) {
        char *c = strchr(p, ',');
        f[n] = p;
        l[n] = c ? (size_t)(c - p) : strlen(p);
        n++;
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static int header(struct ss_wide *w, const char *line, char *err, size_t errlen)
{
    char buf[2048];
    const char *f[MAXF];
    size_t l[MAXF];
    size_t n = split(line, buf, f, l);
    return ss_wide_header(w, f, l, n, err, errlen);
}

static int row(struct ss_wide *w, const char *line, struct render *r, char *why, size_t whylen)
{
    char buf[1024];
    const char *f[MAXF];
    size_t l[MAXF];
    size_t n = split(line, buf, f, l);
    return ss_wide_row(w, f, l, n, render, r, why, whylen);
}

/* The record column list as "a|b|c". */
static void columns(struct ss_wide *w, char *dst, size_t dstlen)
{
    const char *const *names;
    const size_t *lens;
    size_t n, used = 0;
    ss_wide_columns(w, &names, &lens, &n);
    dst[0] = '\0';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(dst + used, dstlen - used, "%s%.*s", i ? "|" : "", (int)lens[i],
                                 names[i]);
}

static void expect_month(const char *text, int year, int month)
{
    int y = 0, m = 0;
    if (!ss_wide_parse_month(text, strlen(text), &y, &m))
        fail_msg("\"%s\" should read as %04d-%02d", text, year, month);
    assert_int_equal(y, year);
    assert_int_equal(m, month);
}

static void expect_not_month(const char *text)
{
    int y = 0, m = 0;
    if (ss_wide_parse_month(text, strlen(text), &y, &m))
        fail_msg("\"%s\" should not read as a month (read %04d-%02d)", text, y, m);
}

static void test_wide_month_header_forms(void **state)
{
    (void)state;
    expect_month("2023-04", 2023, 4);
    expect_month("Apr-23", 2023, 4);
    expect_month("Apr 2023", 2023, 4);
    expect_month("April 2023", 2023, 4);
    expect_month("Apr-2023", 2023, 4);
    expect_month("04/2023", 2023, 4);
    expect_month("4/2023", 2023, 4);
    expect_month("APR-23", 2023, 4);
    expect_month("april 2023", 2023, 4);
    expect_month("  Dec-24 ", 2024, 12);
    expect_month("January 2024", 2024, 1);
    expect_month("Sep-23", 2023, 9);
    expect_month("Sept 2023", 2023, 9);
    expect_month("September-2023", 2023, 9);
    expect_month("Feb 99", 1999, 2);
    expect_month("mar 2019", 2019, 3);

    expect_not_month("");
    expect_not_month("Library name");
    expect_not_month("Total");
    expect_not_month("Count type");
    expect_not_month("2023-13");
    expect_not_month("2023-00");
    expect_not_month("13/2023");
    expect_not_month("2023");
    expect_not_month("Apr");
    expect_not_month("Apr2023");
    expect_not_month("Apr-223");
    expect_not_month("Apri 2023");
    expect_not_month("Mayday 2023");
    expect_not_month("2023-04-01");
    expect_not_month("Apr-23 total");
    expect_not_month("2023-24");       /* a financial year */
    expect_not_month("2023 Q1");       /* a quarter */
    expect_month("2011-12", 2011, 12); /* the month reading of an ambiguous label */
    expect_month("2023-04-01/P1M", 2023, 4);
}

static void test_wide_month_columns_found_and_others_kept(void **state)
{
    (void)state;
    struct ss_wide *w;
    struct ss_wide_opts o = {.value_field = "visits", .period_type = SS_FT_MONTH};
    char err[1024], cols[512];
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w,
                            "Local authority,Library name,Apr-23,May 2023,June 2023,Count "
                            "type,2023-07,08/2023,Total",
                            err, sizeof(err)),
                     0);
    assert_int_equal(ss_wide_periods(w), 5);
    columns(w, cols, sizeof(cols));
    assert_string_equal(cols, "Local authority|Library name|Count type|Total|month|visits");

    struct render r = {0};
    char why[256];
    assert_int_equal(
        row(w, "Exampleshire,Hill Top,10,11,12,Automatic counter,13,14,60", &r, why, sizeof(why)),
        0);
    assert_string_equal(r.out, "Exampleshire|Hill Top|Automatic counter|60|2023-04|10\n"
                               "Exampleshire|Hill Top|Automatic counter|60|2023-05|11\n"
                               "Exampleshire|Hill Top|Automatic counter|60|2023-06|12\n"
                               "Exampleshire|Hill Top|Automatic counter|60|2023-07|13\n"
                               "Exampleshire|Hill Top|Automatic counter|60|2023-08|14\n");
    ss_wide_free(w);
}

static void test_wide_empty_cells_skipped(void **state)
{
    (void)state;
    struct ss_wide *w;
    struct ss_wide_opts o = {
        .value_field = "visits", .period_field = "month", .period_type = SS_FT_MONTH};
    char err[1024], why[256];
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w, "Library name,Apr-23,May-23,Jun-23", err, sizeof(err)), 0);
    struct render r = {0};
    assert_int_equal(row(w, "Riverside,,7,  ", &r, why, sizeof(why)), 0);
    assert_int_equal(row(w, "Closed,,,", &r, why, sizeof(why)), 0); /* no record */
    assert_int_equal(row(w, "Hill Top,0,x,5", &r, why, sizeof(why)), 0);
    assert_string_equal(r.out, "Riverside|2023-05|7\n"
                               "Hill Top|2023-04|0\n" /* zero is a count, not empty */
                               "Hill Top|2023-05|x\n" /* the validator judges the value */
                               "Hill Top|2023-06|5\n");
    assert_int_equal(r.records, 4);
    ss_wide_free(w);
}

static void test_wide_configured_columns(void **state)
{
    (void)state;
    struct ss_config_pair pairs[] = {
        {"Q1 2023/24", "2023-04-01/P3M"},
        {"q2 2023/24", "2023-07-01/P3M"},
    };
    struct ss_wide_opts o = {
        .value_field = "loans", .period_field = "period", .columns = pairs, .ncolumns = 2};
    struct ss_wide *w;
    char err[1024], cols[512], why[256];
    assert_int_equal(ss_wide_new(&w, &o), 0);
    /* "Apr-23" reads as a month, but only the configured columns are periods. */
    assert_int_equal(header(w, "Type, Q2 2023/24 ,Apr-23,Q1 2023/24", err, sizeof(err)), 0);
    assert_int_equal(ss_wide_periods(w), 2);
    columns(w, cols, sizeof(cols));
    assert_string_equal(cols, "Type|Apr-23|period|loans");
    struct render r = {0};
    assert_int_equal(row(w, "Fiction,20,99,10", &r, why, sizeof(why)), 0);
    assert_string_equal(r.out, "Fiction|99|2023-07-01/P3M|20\n"
                               "Fiction|99|2023-04-01/P3M|10\n");
    ss_wide_free(w);
}

static void test_wide_configured_column_missing_is_an_error(void **state)
{
    (void)state;
    struct ss_config_pair pairs[] = {{"Q3", "2023-10-01/P3M"}};
    struct ss_wide_opts o = {.value_field = "loans", .columns = pairs, .ncolumns = 1};
    struct ss_wide *w;
    char err[1024];
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w, "Type,Q1,Q2", err, sizeof(err)), SS_ESETUP);
    assert_non_null(strstr(err, "\"csv.wide.columns\": the export has no column \"Q3\""));
    assert_non_null(strstr(err, "\"Type\", \"Q1\", \"Q2\""));
    ss_wide_free(w);
}

static void test_wide_no_month_header_is_an_error(void **state)
{
    (void)state;
    struct ss_wide_opts o = {.value_field = "visits"};
    struct ss_wide *w;
    char err[1024];
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w, "Library name,Visits in April,Total", err, sizeof(err)), SS_ESETUP);
    assert_non_null(strstr(err, "no column header reads as a period"));
    assert_non_null(strstr(err, "\"csv.wide.columns\""));
    ss_wide_free(w);
}

static void test_wide_column_named_like_a_field_is_an_error(void **state)
{
    (void)state;
    struct ss_wide_opts o = {.value_field = "visits"};
    struct ss_wide *w;
    char err[1024];
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w, "Library name,Apr-23,Visits", err, sizeof(err)), SS_ESETUP);
    assert_non_null(strstr(err, "\"csv.wide.value_field\""));
    assert_int_equal(header(w, "Library name,Month,Apr-23", err, sizeof(err)), SS_ESETUP);
    assert_non_null(strstr(err, "\"csv.wide.period_field\""));
    /* Fine again with a good header. */
    assert_int_equal(header(w, "Library name,Apr-23", err, sizeof(err)), 0);
    ss_wide_free(w);
}

static void test_wide_row_with_wrong_cell_count_rejected(void **state)
{
    (void)state;
    struct ss_wide_opts o = {.value_field = "visits"};
    struct ss_wide *w;
    char err[1024], why[256];
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w, "Library name,Apr-23,May-23", err, sizeof(err)), 0);
    struct render r = {0};
    assert_int_equal(row(w, "Riverside,1,2,3", &r, why, sizeof(why)), SS_EINVAL);
    assert_string_equal(why, "4 fields where the header has 3");
    assert_int_equal(row(w, "Riverside,1", &r, why, sizeof(why)), SS_EINVAL);
    assert_string_equal(why, "2 fields where the header has 3");
    assert_int_equal(r.records, 0);
    ss_wide_free(w);
}

static void test_wide_stop_from_callback(void **state)
{
    (void)state;
    struct ss_wide_opts o = {.value_field = "visits"};
    struct ss_wide *w;
    char err[1024], why[256];
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w, "Library name,Apr-23,May-23,Jun-23", err, sizeof(err)), 0);
    struct render r = {.stop_after = 2};
    assert_int_equal(row(w, "Riverside,1,2,3", &r, why, sizeof(why)), 1);
    assert_int_equal(r.records, 2);
    ss_wide_free(w);
}

static void test_wide_needs_value_field(void **state)
{
    (void)state;
    struct ss_wide *w = (struct ss_wide *)1;
    struct ss_wide_opts o = {0};
    assert_int_equal(ss_wide_new(&w, &o), SS_EINVAL);
    assert_null(w);
}

/* header reads as a period whose canonical texts are as_period (a period
 * field) and as_month (a month field; NULL: refused there). */
static void expect_period(const char *text, const char *as_period, const char *as_month)
{
    struct ss_wide_period p;
    char got[32];
    if (!ss_wide_parse_period(text, strlen(text), &p))
        fail_msg("\"%s\" should read as the period %s", text, as_period);
    if (ss_wide_period_text(&p, 0, got, sizeof(got)) == 0 || strcmp(got, as_period) != 0)
        fail_msg("\"%s\": period text \"%s\", expected \"%s\"", text, got, as_period);
    size_t n = ss_wide_period_text(&p, 1, got, sizeof(got));
    if (as_month && (n == 0 || strcmp(got, as_month) != 0))
        fail_msg("\"%s\": month text \"%s\", expected \"%s\"", text, n ? got : "(none)", as_month);
    if (!as_month && n != 0)
        fail_msg("\"%s\" is no month, yet gave the month text \"%s\"", text, got);
}

static void expect_not_period(const char *text)
{
    struct ss_wide_period p;
    char got[32] = "";
    if (ss_wide_parse_period(text, strlen(text), &p)) {
        ss_wide_period_text(&p, 0, got, sizeof(got));
        fail_msg("\"%s\" should not read as a period (read %s)", text, got);
    }
}

static void test_wide_period_header_forms_and_canonical_text(void **state)
{
    (void)state;
    /* months, every spelling the issue lists */
    expect_period("2023-1", "2023-01-01/P1M", "2023-01");
    expect_period("2023-01", "2023-01-01/P1M", "2023-01");
    expect_period("2023/01", "2023-01-01/P1M", "2023-01");
    expect_period("2023/1", "2023-01-01/P1M", "2023-01");
    expect_period("2023-10", "2023-10-01/P1M", "2023-10");
    expect_period("01/2023", "2023-01-01/P1M", "2023-01");
    expect_period("1/2023", "2023-01-01/P1M", "2023-01");
    expect_period("01-2023", "2023-01-01/P1M", "2023-01");
    expect_period("Jan-23", "2023-01-01/P1M", "2023-01");
    expect_period("Jan 2023", "2023-01-01/P1M", "2023-01");
    expect_period("Jan  2023", "2023-01-01/P1M", "2023-01");
    expect_period("January 2023", "2023-01-01/P1M", "2023-01");
    expect_period("Jan-2023", "2023-01-01/P1M", "2023-01");
    expect_period("Jan/23", "2023-01-01/P1M", "2023-01");
    expect_period("2023 Jan", "2023-01-01/P1M", "2023-01");
    expect_period("2023-Jan", "2023-01-01/P1M", "2023-01");
    expect_period("2023 January", "2023-01-01/P1M", "2023-01");
    expect_period("Sept 2023", "2023-09-01/P1M", "2023-09");
    expect_period("sept-23", "2023-09-01/P1M", "2023-09");
    expect_period("FEB 2024", "2024-02-01/P1M", "2024-02");
    expect_period("  \xc2\xa0 Mar-24 \t", "2024-03-01/P1M", "2024-03"); /* no-break space */
    expect_period("Dec-99", "1999-12-01/P1M", "1999-12");
    /* financial years: April to March */
    expect_period("2023-24", "2023-04-01/P1Y", NULL);
    expect_period("2023/24", "2023-04-01/P1Y", NULL);
    expect_period("2023/2024", "2023-04-01/P1Y", NULL);
    expect_period("2023-2024", "2023-04-01/P1Y", NULL);
    expect_period("FY2023-24", "2023-04-01/P1Y", NULL);
    expect_period("fy 2023/24", "2023-04-01/P1Y", NULL);
    expect_period("1999-00", "1999-04-01/P1Y", NULL);
    /* financial quarters: Q1 April-June ... Q4 January-March of the year after */
    expect_period("2023-24 Q1", "2023-04-01/P3M", NULL);
    expect_period("2023-24 Q2", "2023-07-01/P3M", NULL);
    expect_period("2023-24 Q3", "2023-10-01/P3M", NULL);
    expect_period("2023-24 Q4", "2024-01-01/P3M", NULL);
    expect_period("2023-24-Q2", "2023-07-01/P3M", NULL);
    expect_period("Q1 2023-24", "2023-04-01/P3M", NULL);
    expect_period("q4 2023/24", "2024-01-01/P3M", NULL);
    expect_period("Q3 FY2023-24", "2023-10-01/P3M", NULL);
    expect_period("FY2023-24 Q3", "2023-10-01/P3M", NULL);
    expect_period("2010-11 Q1", "2010-04-01/P3M", NULL); /* a quarter: no month reading */
    /* calendar quarters: Q1 January-March */
    expect_period("2023 Q1", "2023-01-01/P3M", NULL);
    expect_period("2023-Q2", "2023-04-01/P3M", NULL);
    expect_period("2023Q3", "2023-07-01/P3M", NULL);
    expect_period("Q4 2023", "2023-10-01/P3M", NULL);
    expect_period("q1-2023", "2023-01-01/P3M", NULL);
    /* ISO 8601 intervals */
    expect_period("2023-04-01/P1M", "2023-04-01/P1M", "2023-04");
    expect_period("2023-04-01/p1m", "2023-04-01/P1M", "2023-04");
    expect_period("2023-04-01/P3M", "2023-04-01/P3M", NULL);
    expect_period("2023-04-01/P12M", "2023-04-01/P1Y", NULL);
    expect_period("2023-04-01/P1Y6M", "2023-04-01/P18M", NULL);
    expect_period("2023-04-01/2023-06-30", "2023-04-01/P3M", NULL);
    expect_period("2023-04-01/2023-04-30", "2023-04-01/P1M", "2023-04");
    expect_period("2023-04/2023-06", "2023-04-01/P3M", NULL);
    expect_period("2023-04/P3M", "2023-04-01/P3M", NULL);
    expect_period("01/04/2023/P1M", "2023-04-01/P1M", "2023-04");
    expect_period("2023-04-03/P7D", "2023-04-03/2023-04-09", NULL);
    expect_period("2023-04-03/P1W", "2023-04-03/2023-04-09", NULL);
    expect_period("2023-04-03/2023-04-09", "2023-04-03/2023-04-09", NULL);
    expect_period("2024-02-01/P1M", "2024-02-01/P1M", "2024-02"); /* leap year */
    /* The daemon's arithmetic: a month from the 31st ends on the 27th of February. */
    expect_period("2023-01-31/P1M", "2023-01-31/2023-02-27", NULL);
}

static void test_wide_not_periods(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "   ",
        "2023",
        "23",
        "Total",
        "Notes",
        "Count type",
        "Library name",
        "Local authority",
        "Jan",
        "Q1",
        "FY",
        "FY23-24",
        "2023-13",
        "2023-0",
        "2023-00",
        "13/2023",
        "0/2023",
        "2023-04-01",
        "01/04/2023",
        "23-Jan",
        "Jan2023",
        "Janu 2023",
        "Apr-223",
        "Apr 2023 total",
        "Apr-23 (provisional)",
        "2023-25",
        "2023/2025",
        "2023-24 Q5",
        "2023-24 Q0",
        "Q1 23",
        "Q1 2023 Q2",
        "2023-24q1",
        "2023-04-01/",
        "2023-04-01/P",
        "2023-04-01/P1",
        "2023-04-01/PM",
        "2023-04-01/P1X",
        "2023-04-30/2023-04-01",
        "2023-04-31/P1M",
        "2023-02-29/P1M",
        "2023-04-01/P0D",
        "1899-12",
        "Dec-1899",
        "2200-01",
        "2199-00",
        "2199-12-01/P1M1D",
        "2023-04/2023-03",
        "2023 - 24",
        "2023--01",
        "2023-1-1",
        "- 2023-01",
        "2023-01 x",
        "Jan-23-24",
        "Sept",
        "2023 Sept 1",
        "\xc3\xa9t\xc3\xa9 2023",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_not_period(bad[i]);
    /* A header past the length any period has. */
    char longer[200];
    memset(longer, ' ', sizeof(longer));
    memcpy(longer + 90, "2023-04", 7);
    longer[199] = '\0';
    expect_period(longer, "2023-04-01/P1M", "2023-04"); /* spaces around do not count */
    memset(longer, '0', 80);
    expect_not_period(longer);
}

/* The header of the issue: zero-padded months to 2022-12, then 2023-1. */
static void test_wide_issue_header_every_month_read(void **state)
{
    (void)state;
    char names[400][16];
    const char *f[400];
    size_t l[400], n = 0;
    strcpy(names[n++], "Library name");
    for (int y = 2008; y <= 2024; y++)
        for (int m = (y == 2008 ? 4 : 1); m <= 12; m++)
            snprintf(names[n++], sizeof(names[0]), y < 2023 ? "%d-%02d" : "%d-%d", y, m);
    strcpy(names[n++], "Notes");
    for (size_t i = 0; i < n; i++)
        f[i] = names[i], l[i] = strlen(names[i]);

    struct ss_wide *w;
    struct ss_wide_opts o = {.value_field = "visits", .period_type = SS_FT_MONTH};
    char err[1024], why[256];
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(ss_wide_header(w, f, l, n, err, sizeof(err)), 0);
    assert_int_equal(ss_wide_periods(w), n - 2); /* 2009-10, 2010-11, 2011-12: months here */
    char cols[512];
    columns(w, cols, sizeof(cols));
    assert_string_equal(cols, "Library name|Notes|month|visits");

    /* Each cell its month: the 2023-1 column is January 2023, 2011-12 December 2011. */
    const char *cells[400];
    size_t clens[400];
    char val[400][24];
    for (size_t i = 0; i < n; i++) {
        snprintf(val[i], sizeof(val[i]), "%zu", i);
        cells[i] = val[i];
        clens[i] = strlen(val[i]);
    }
    struct render r = {0};
    assert_int_equal(ss_wide_row(w, cells, clens, n, render, &r, why, sizeof(why)), 0);
    assert_int_equal(r.records, (int)(n - 2));
    assert_non_null(strstr(r.out, "0|202|2011-12|45\n"));
    assert_non_null(strstr(r.out, "0|202|2023-01|178\n"));
    assert_non_null(strstr(r.out, "0|202|2023-10|187\n"));
    assert_non_null(strstr(r.out, "0|202|2024-12|201\n"));
    ss_wide_free(w);
}

static void test_wide_ambiguous_label_decided_by_the_other_columns(void **state)
{
    (void)state;
    struct ss_wide *w;
    struct ss_wide_opts o = {.value_field = "visits", .period_field = "period"};
    char err[1024], why[256];
    assert_int_equal(ss_wide_new(&w, &o), 0);

    /* Among financial years: the year. */
    assert_int_equal(header(w, "Library name,2010-11,2011-12,2012-13", err, sizeof(err)), 0);
    struct render r = {0};
    assert_int_equal(row(w, "Central,1,2,3", &r, why, sizeof(why)), 0);
    assert_string_equal(r.out, "Central|2010-04-01/P1Y|1\n"
                               "Central|2011-04-01/P1Y|2\n"
                               "Central|2012-04-01/P1Y|3\n");
    /* Among months: the month. */
    assert_int_equal(header(w, "Library name,2011-10,2011-11,2011-12", err, sizeof(err)), 0);
    memset(&r, 0, sizeof(r));
    assert_int_equal(row(w, "Central,1,2,3", &r, why, sizeof(why)), 0);
    assert_string_equal(r.out, "Central|2011-10-01/P1M|1\n"
                               "Central|2011-11-01/P1M|2\n"
                               "Central|2011-12-01/P1M|3\n");
    /* Alone: refused, naming it and both readings. */
    assert_int_equal(header(w, "Library name,2011-12", err, sizeof(err)), SS_ESETUP);
    assert_non_null(strstr(err, "column \"2011-12\" reads both as the month 2011-12 and as the "
                                "financial year 2011-12"));
    assert_non_null(strstr(err, "\"csv.wide.columns\""));
    ss_wide_free(w);
}

static void test_wide_non_month_period_with_month_field_is_an_error(void **state)
{
    (void)state;
    struct ss_wide *w;
    struct ss_wide_opts o = {.value_field = "visits", .period_type = SS_FT_MONTH};
    char err[1024];
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w, "Library name,Apr-23,May-23,2023-24 Q1", err, sizeof(err)),
                     SS_ESETUP);
    assert_non_null(strstr(err, "column \"2023-24 Q1\" is the period 2023-04-01/P3M"));
    assert_non_null(strstr(err, "\"period_field\": \"period\""));
    assert_non_null(strstr(err, "\"csv.wide.ignore\""));
    ss_wide_free(w);

    /* The same header into a period field loads. */
    o = (struct ss_wide_opts){
        .value_field = "visits", .period_field = "period", .period_type = SS_FT_PERIOD};
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w, "Library name,Jul-23,Aug-23,2023-24 Q1", err, sizeof(err)), 0);
    struct render r = {0};
    char why[256];
    assert_int_equal(row(w, "Central,1,2,3", &r, why, sizeof(why)), 0);
    assert_string_equal(r.out, "Central|2023-07-01/P1M|1\n"
                               "Central|2023-08-01/P1M|2\n"
                               "Central|2023-04-01/P3M|3\n");
    ss_wide_free(w);
}

static void test_wide_two_columns_of_one_period_is_an_error(void **state)
{
    (void)state;
    struct ss_wide *w;
    struct ss_wide_opts o = {.value_field = "visits", .period_type = SS_FT_MONTH};
    char err[1024];
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w, "Library name,Apr-23,2023-05,May 2023", err, sizeof(err)),
                     SS_ESETUP);
    assert_non_null(
        strstr(err, "columns \"2023-05\" and \"May 2023\" are both the period 2023-05"));
    /* Leaving one out mends it. */
    const char *ign[] = {"May 2023"};
    ss_wide_free(w);
    o.ignore = ign;
    o.nignore = 1;
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w, "Library name,Apr-23,2023-05,May 2023", err, sizeof(err)), 0);
    assert_int_equal(ss_wide_periods(w), 2);
    ss_wide_free(w);
}

static void test_wide_glob_patterns(void **state)
{
    (void)state;
    assert_true(ss_wide_glob("Notes", "Notes", 5));
    assert_true(ss_wide_glob("notes", " NOTES ", 7));
    assert_true(ss_wide_glob(" Notes ", "Notes", 5));
    assert_false(ss_wide_glob("Notes", "Notes 2", 7));
    assert_true(ss_wide_glob("Total*", "Total", 5));
    assert_true(ss_wide_glob("Total*", "total 2023-24", 13));
    assert_false(ss_wide_glob("Total*", "Grand total", 11));
    assert_true(ss_wide_glob("*notes*", "Manager's notes (internal)", 26));
    assert_true(ss_wide_glob("*", "", 0));
    assert_true(ss_wide_glob("*", "anything", 8));
    assert_false(ss_wide_glob("", "x", 1));
    assert_true(ss_wide_glob("", "  ", 2));
    assert_true(ss_wide_glob("Q?", "Q1", 2));
    assert_false(ss_wide_glob("Q?", "Q12", 3));
    assert_true(ss_wide_glob("?t?", "\xc3\xa9t\xc3\xa9", 5)); /* "été": ? is one character */
    assert_true(ss_wide_glob("[0-9]*", "2023 total", 10));
    assert_false(ss_wide_glob("[!0-9]*", "2023 total", 10));
    assert_true(ss_wide_glob("[!0-9]*", "Total", 5));
    assert_true(ss_wide_glob("[tx]otal", "Total", 5)); /* sets ignore case too */
    assert_true(ss_wide_glob("a[b", "a[b", 3));        /* no closing ']': literal */
    assert_true(ss_wide_glob("\\*", "*", 1));
    assert_false(ss_wide_glob("\\*", "x", 1));
    assert_true(ss_wide_glob("*a*b*c", "xxaxxbxxbxc", 11));
    assert_false(ss_wide_glob("*a*b*c", "xxaxxbxxbx", 10));
    assert_true(ss_wide_glob("**x", "abx", 3));
}

static void test_wide_ignored_columns_left_out(void **state)
{
    (void)state;
    const char *ign[] = {"notes", "Total*", "*comment*"};
    struct ss_wide_opts o = {
        .value_field = "visits", .period_type = SS_FT_MONTH, .ignore = ign, .nignore = 3};
    struct ss_wide *w;
    char err[1024], cols[512], why[256];
    assert_int_equal(ss_wide_new(&w, &o), 0);
    /* "Total 2023-24" and "2023-24" would be periods the month field cannot
     * hold; "Visits comment" is named like nothing; all left out. */
    assert_int_equal(ss_wide_ignores(w, "  NOTES", 7), 1);
    assert_int_equal(ss_wide_ignores(w, "Library name", 12), 0);
    const char *ign2[] = {"notes", "Total*", "*comment*", "2023-24"};
    ss_wide_free(w);
    o.ignore = ign2;
    o.nignore = 4;
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w,
                            "Library name,Notes,Apr-23,May-23,Total,Visits comment,2023-24,Count "
                            "type",
                            err, sizeof(err)),
                     0);
    assert_int_equal(ss_wide_periods(w), 2);
    assert_int_equal(ss_wide_ignored(w), 4);
    columns(w, cols, sizeof(cols));
    assert_string_equal(cols, "Library name|Count type|month|visits");
    struct render r = {0};
    assert_int_equal(
        row(w, "Central,Ann Smith says hi,1,2,3,ok,99,Automatic", &r, why, sizeof(why)), 0);
    assert_string_equal(r.out, "Central|Automatic|2023-04|1\n"
                               "Central|Automatic|2023-05|2\n");
    /* A rejected row keeps no ignored cell either. */
    const char *fields[] = {"Central", "Ann Smith", "1", "2", "3", "ok", "99", "Automatic", "x"};
    size_t lens[9];
    for (size_t i = 0; i < 9; i++)
        lens[i] = strlen(fields[i]);
    const char *pv[4];
    size_t pl[4];
    assert_int_equal(ss_wide_project(w, fields, lens, 9, pv, pl), 2);
    assert_string_equal(pv[0], "Central");
    assert_string_equal(pv[1], "Automatic");
    /* A value field clash is mended by leaving the column out. */
    assert_int_equal(header(w, "Library name,Apr-23,Visits", err, sizeof(err)), SS_ESETUP);
    assert_non_null(strstr(err, "\"csv.wide.ignore\""));
    ss_wide_free(w);
}

static void test_wide_configured_values_canonicalised(void **state)
{
    (void)state;
    struct ss_config_pair pairs[] = {
        {"A", "Apr-23"},
        {"B", "2023-05"},
        {"C", "2023-06-01/P1M"},
        {"D", "2011-12"},
    };
    struct ss_wide_opts o = {
        .value_field = "visits", .period_type = SS_FT_MONTH, .columns = pairs, .ncolumns = 4};
    struct ss_wide *w;
    char err[1024], why[256];
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w, "Library name,A,B,C,D", err, sizeof(err)), 0);
    struct render r = {0};
    assert_int_equal(row(w, "Central,1,2,3,4", &r, why, sizeof(why)), 0);
    assert_string_equal(r.out, "Central|2023-04|1\n"
                               "Central|2023-05|2\n"
                               "Central|2023-06|3\n"
                               "Central|2011-12|4\n"); /* a month field: the month */
    ss_wide_free(w);

    /* Into a period field: intervals, and "2011-12" is the financial year, as
     * the daemon reads that text in a period field. */
    o.period_field = "period";
    o.period_type = SS_FT_PERIOD;
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w, "Library name,A,B,C,D", err, sizeof(err)), 0);
    memset(&r, 0, sizeof(r));
    assert_int_equal(row(w, "Central,1,2,3,4", &r, why, sizeof(why)), 0);
    assert_string_equal(r.out, "Central|2023-04-01/P1M|1\n"
                               "Central|2023-05-01/P1M|2\n"
                               "Central|2023-06-01/P1M|3\n"
                               "Central|2011-04-01/P1Y|4\n");
    ss_wide_free(w);

    /* A value that is no period is refused, naming the entry. */
    struct ss_config_pair bad[] = {{"A", "first quarter"}};
    o.columns = bad;
    o.ncolumns = 1;
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w, "Library name,A", err, sizeof(err)), SS_ESETUP);
    assert_non_null(strstr(err, "\"csv.wide.columns.A\": \"first quarter\" is not a period"));
    ss_wide_free(w);

    /* A configured column is read even when an ignore pattern matches it. */
    struct ss_config_pair tot[] = {{"Total 2023-24", "2023-24"}};
    const char *ign[] = {"Total*"};
    o.columns = tot;
    o.ignore = ign;
    o.nignore = 1;
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w, "Library name,Total 2023-24,Total 2022-23", err, sizeof(err)), 0);
    assert_int_equal(ss_wide_periods(w), 1);
    assert_int_equal(ss_wide_ignored(w), 1);
    ss_wide_free(w);
}

static void test_wide_configured_columns_unbounded(void **state)
{
    (void)state;
    enum { N = 240 };
    static char keys[N][16], vals[N][16], names[N + 1][16];
    static struct ss_config_pair pairs[N];
    const char *f[N + 1];
    size_t l[N + 1];
    strcpy(names[0], "Library name");
    for (int i = 0; i < N; i++) {
        int y = 2004 + i / 12, m = i % 12 + 1;
        snprintf(keys[i], sizeof(keys[i]), "c%d", i);
        snprintf(vals[i], sizeof(vals[i]), "%d/%d", m, y);            /* read as a period */
        pairs[N - 1 - i] = (struct ss_config_pair){keys[i], vals[i]}; /* any order */
        snprintf(names[i + 1], sizeof(names[0]), "C%d", i);
    }
    for (int i = 0; i <= N; i++)
        f[i] = names[i], l[i] = strlen(names[i]);
    struct ss_wide_opts o = {
        .value_field = "visits", .period_type = SS_FT_MONTH, .columns = pairs, .ncolumns = N};
    struct ss_wide *w;
    char err[1024];
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(ss_wide_header(w, f, l, N + 1, err, sizeof(err)), 0);
    assert_int_equal(ss_wide_periods(w), N);
    ss_wide_free(w);
}

/* A return with several series per row (the Arts Council's shape): columns
 * by pattern, series values, totals loaded only where their bands are
 * empty, and quarters and years entered in their last month. */
static void test_wide_series_totals_and_period_end(void **state)
{
    (void)state;
    struct ss_config_pair cols[] = {{"*_apr", "2023-04"}, {"*_may", "2023-05"},
                                    {"*_jun", "2023-06"}, {"*_sep", "2023-09"},
                                    {"*_dec", "2023-12"}, {"*_mar", "2024-03"}};
    struct ss_config_pair unknown[] = {{"age", "Unknown"}}, adult[] = {{"age", "Adult"}},
                          child[] = {{"age", "Under 12"}};
    struct ss_config_valmap series[] = {{.field = "tot_*", .pairs = unknown, .npairs = 1},
                                        {.field = "ad_*", .pairs = adult, .npairs = 1},
                                        {.field = "ch_*", .pairs = child, .npairs = 1}};
    struct ss_config_pair totals[] = {{"tot_*", "age"}};
    const char *ign[] = {"notes"};
    struct ss_wide_opts o = {.value_field = "count",
                             .period_field = "period",
                             .period_type = SS_FT_PERIOD,
                             .columns = cols,
                             .ncolumns = 6,
                             .ignore = ign,
                             .nignore = 1,
                             .series = series,
                             .nseries = 3,
                             .totals = totals,
                             .ntotals = 1,
                             .period_end = 1};
    struct ss_wide *w;
    char err[1024], why[256], list[256];
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w,
                            "authority,tot_apr,tot_may,tot_jun,tot_sep,tot_dec,tot_mar,"
                            "ad_apr,ad_may,ad_jun,ad_sep,ad_dec,ad_mar,"
                            "ch_apr,ch_may,ch_jun,ch_sep,ch_dec,ch_mar,notes",
                            err, sizeof(err)),
                     0);
    assert_int_equal(ss_wide_periods(w), 18);
    columns(w, list, sizeof(list));
    assert_string_equal(list, "authority|age|period|count");
    struct render r = {0};
    /* Monthly, with bands: the totals are left out (and equal their bands). */
    assert_int_equal(row(w, "A,3,3,3,,,,1,1,1,,,,2,2,2,,,,x", &r, why, sizeof(why)), 0);
    assert_string_equal(r.out, "A|Adult|2023-04-01/P1M|1\nA|Adult|2023-05-01/P1M|1\n"
                               "A|Adult|2023-06-01/P1M|1\nA|Under 12|2023-04-01/P1M|2\n"
                               "A|Under 12|2023-05-01/P1M|2\nA|Under 12|2023-06-01/P1M|2\n");
    assert_int_equal(ss_wide_totals_dropped(w), 3);
    assert_int_equal(ss_wide_totals_differing(w), 0);
    /* Quarterly: figures only in quarter-end months are quarters; March's
     * total is not the sum of its bands (counted, still left out). */
    memset(&r, 0, sizeof(r));
    assert_int_equal(row(w, "B,,,6,6,7,9,,,5,6,7,8,,,1,,,2,", &r, why, sizeof(why)), 0);
    assert_string_equal(r.out, "B|Adult|2023-04-01/P3M|5\nB|Adult|2023-07-01/P3M|6\n"
                               "B|Adult|2023-10-01/P3M|7\nB|Adult|2024-01-01/P3M|8\n"
                               "B|Under 12|2023-04-01/P3M|1\nB|Under 12|2024-01-01/P3M|2\n");
    assert_int_equal(ss_wide_totals_dropped(w), 7);
    assert_int_equal(ss_wide_totals_differing(w), 1);
    assert_int_equal(ss_wide_totals_excess(w), 0); /* March: 9 against 8 + 2 */
    assert_int_equal(ss_wide_quarters(w), 6);
    /* A total alone in March is the year, as age group Unknown. */
    memset(&r, 0, sizeof(r));
    assert_int_equal(row(w, "C,,,,,,100,,,,,,,,,,,,,", &r, why, sizeof(why)), 0);
    assert_string_equal(r.out, "C|Unknown|2023-04-01/P1Y|100\n");
    assert_int_equal(ss_wide_years(w), 1);
    /* One cell in March beside a quarterly series of the row: a quarter. */
    memset(&r, 0, sizeof(r));
    assert_int_equal(row(w, "D,,,,,,,,,1,2,3,4,,,,,,5,", &r, why, sizeof(why)), 0);
    assert_non_null(strstr(r.out, "D|Under 12|2024-01-01/P3M|5\n"));
    /* A lone April cell is the year; cells in other months stay months. */
    memset(&r, 0, sizeof(r));
    assert_int_equal(row(w, "E,,,,,,,4,,,,,,1,,1,,,,", &r, why, sizeof(why)), 0);
    assert_string_equal(r.out, "E|Adult|2023-04-01/P1Y|4\nE|Under 12|2023-04-01/P1M|1\n"
                               "E|Under 12|2023-06-01/P1M|1\n");
    /* Norfolk's shape: monthly totals, the year's bands in March. The
     * bands count those months already: the totals are left out. */
    unsigned long dropped = ss_wide_totals_dropped(w);
    memset(&r, 0, sizeof(r));
    assert_int_equal(row(w, "F,10,11,12,13,14,15,,,,,,40,,,,,,30,", &r, why, sizeof(why)), 0);
    assert_string_equal(r.out, "F|Adult|2023-04-01/P1Y|40\nF|Under 12|2023-04-01/P1Y|30\n");
    assert_int_equal(ss_wide_totals_dropped(w), dropped + 6);
    assert_int_equal(ss_wide_totals_covered(w), 5); /* March's by its own bands */
    /* Quarterly bands cover the months of their quarter, not others. */
    memset(&r, 0, sizeof(r));
    assert_int_equal(row(w, "G,10,11,,,14,,,,5,6,,,,,,,,,", &r, why, sizeof(why)), 0);
    assert_string_equal(r.out, "G|Unknown|2023-12-01/P1M|14\nG|Adult|2023-04-01/P3M|5\n"
                               "G|Adult|2023-07-01/P3M|6\n");
    assert_int_equal(ss_wide_totals_covered(w), 7);
    ss_wide_free(w);

    /* Without period_end every cell is its column's month. */
    o.period_end = 0;
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(header(w,
                            "authority,tot_apr,tot_may,tot_jun,tot_sep,tot_dec,tot_mar,"
                            "ad_apr,ad_may,ad_jun,ad_sep,ad_dec,ad_mar,"
                            "ch_apr,ch_may,ch_jun,ch_sep,ch_dec,ch_mar,notes",
                            err, sizeof(err)),
                     0);
    memset(&r, 0, sizeof(r));
    assert_int_equal(row(w, "C,,,,,,100,,,,,,,,,,,,,", &r, why, sizeof(why)), 0);
    assert_string_equal(r.out, "C|Unknown|2024-03-01/P1M|100\n");
    /* Refused: a period column in no series, a pattern that matches nothing,
     * two columns of one series and period. */
    assert_int_equal(
        header(w, "authority,tot_apr,xx_apr,ad_may,ad_jun,ad_sep,ad_dec,ad_mar", err, sizeof(err)),
        SS_ESETUP);
    assert_non_null(strstr(err, "the period column \"xx_apr\" is in no series"));
    assert_int_equal(header(w, "authority,tot_apr,ad_may,ad_jun,ad_sep,ad_dec", err, sizeof(err)),
                     SS_ESETUP);
    assert_non_null(strstr(err, "the pattern \"*_mar\" matches no column"));
    struct ss_config_valmap dup[] = {{.field = "*", .pairs = adult, .npairs = 1}};
    o.series = dup;
    o.nseries = 1;
    o.ntotals = 0;
    ss_wide_free(w);
    assert_int_equal(ss_wide_new(&w, &o), 0);
    assert_int_equal(
        header(w, "authority,tot_apr,ad_apr,ad_may,ad_jun,ad_sep,ad_dec,ad_mar", err, sizeof(err)),
        SS_ESETUP);
    assert_non_null(strstr(err, "columns \"tot_apr\" and \"ad_apr\" are both the period "
                                "2023-04-01/P1M of one series"));
    ss_wide_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wide_month_header_forms),
        cmocka_unit_test(test_wide_month_columns_found_and_others_kept),
        cmocka_unit_test(test_wide_empty_cells_skipped),
        cmocka_unit_test(test_wide_configured_columns),
        cmocka_unit_test(test_wide_configured_column_missing_is_an_error),
        cmocka_unit_test(test_wide_no_month_header_is_an_error),
        cmocka_unit_test(test_wide_column_named_like_a_field_is_an_error),
        cmocka_unit_test(test_wide_row_with_wrong_cell_count_rejected),
        cmocka_unit_test(test_wide_stop_from_callback),
        cmocka_unit_test(test_wide_needs_value_field),
        cmocka_unit_test(test_wide_period_header_forms_and_canonical_text),
        cmocka_unit_test(test_wide_not_periods),
        cmocka_unit_test(test_wide_issue_header_every_month_read),
        cmocka_unit_test(test_wide_ambiguous_label_decided_by_the_other_columns),
        cmocka_unit_test(test_wide_non_month_period_with_month_field_is_an_error),
        cmocka_unit_test(test_wide_two_columns_of_one_period_is_an_error),
        cmocka_unit_test(test_wide_glob_patterns),
        cmocka_unit_test(test_wide_ignored_columns_left_out),
        cmocka_unit_test(test_wide_configured_values_canonicalised),
        cmocka_unit_test(test_wide_configured_columns_unbounded),
        cmocka_unit_test(test_wide_series_totals_and_period_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
