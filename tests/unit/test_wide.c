/* Tests for ss_wide: which headers read as months, configured period columns,
 * one record per non-empty period cell with the other columns kept, rows with
 * the wrong cell count, and headers it refuses.
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

#define MAXF 32

struct render {
    char out[4096];
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
    char buf[1024];
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
}

static void test_wide_month_columns_found_and_others_kept(void **state)
{
    (void)state;
    struct ss_wide *w;
    struct ss_wide_opts o = {.value_field = "visits"};
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
    struct ss_wide_opts o = {.value_field = "visits", .period_field = "month"};
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
    assert_int_equal(header(w, "Type,Q1,Q2", err, sizeof(err)), -1);
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
    assert_int_equal(header(w, "Library name,Visits in April,Total", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no column header reads as a month"));
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
    assert_int_equal(header(w, "Library name,Apr-23,Visits", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "\"csv.wide.value_field\""));
    assert_int_equal(header(w, "Library name,Month,Apr-23", err, sizeof(err)), -1);
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
    assert_int_equal(row(w, "Riverside,1,2,3", &r, why, sizeof(why)), -1);
    assert_string_equal(why, "4 fields where the header has 3");
    assert_int_equal(row(w, "Riverside,1", &r, why, sizeof(why)), -1);
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
    assert_int_equal(ss_wide_new(&w, &o), -EINVAL);
    assert_null(w);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
