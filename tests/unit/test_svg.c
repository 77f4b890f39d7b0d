/* ss_svg: the report's charts are well-formed, escape their text, write
 * plain numbers, and draw a missing value as a gap, never as 0. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ss_svg.h"

static char *buf;
static size_t len;

static FILE *open_buf(void)
{
    free(buf);
    buf = NULL;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    return f;
}

static const char *close_buf(FILE *f)
{
    fclose(f);
    return buf;
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Every number in an attribute is a plain decimal: no nan, inf, or locale
 * commas; tags balance. */
static void assert_well_formed(const char *s)
{
    assert_null(strstr(s, "nan"));
    assert_null(strstr(s, "inf"));
    assert_int_equal(count(s, "<svg"), 1);
    assert_int_equal(count(s, "</svg>"), 1);
    assert_int_equal(count(s, "<title>"), count(s, "</title>"));
    assert_int_equal(count(s, "<text"), count(s, "</text>"));
    assert_int_equal(count(s, "<circle"), count(s, "</circle>"));
    assert_int_equal(count(s, "<"), count(s, ">"));
    assert_null(strstr(s, "<script"));
    assert_null(strstr(s, "href"));
}

static void test_svg_escape_all_five(void **state)
{
    (void)state;
    FILE *f = open_buf();
    ss_svg_escape(f, "Brighton & Hove <\"x\"> 'y'");
    assert_string_equal(close_buf(f), "Brighton &amp; Hove &lt;&quot;x&quot;&gt; &#39;y&#39;");
}

static void test_svg_bar_values_and_escaped_labels(void **state)
{
    (void)state;
    struct ss_svg_point p[] = {{"A & B <x>", 12.5, 1}, {"Peers' median", 25, 0}};
    FILE *f = open_buf();
    assert_int_equal(ss_svg_bar_chart(f, "Loans <per> 1,000", p, 2), 0);
    const char *s = close_buf(f);
    assert_well_formed(s);
    assert_non_null(strstr(s, ">12.50</text>"));
    assert_non_null(strstr(s, ">25.00</text>"));
    assert_non_null(strstr(s, "A &amp; B &lt;x&gt;"));
    assert_non_null(strstr(s, "Loans &lt;per&gt; 1,000"));
    assert_null(strstr(s, "<x>"));
    assert_int_equal(count(s, "<rect"), 2);
}

static void test_svg_bar_missing_is_no_bar_not_zero(void **state)
{
    (void)state;
    struct ss_svg_point p[] = {{"has", 3, 0}, {"missing", NAN, 0}, {"endless", INFINITY, 0}};
    FILE *f = open_buf();
    assert_int_equal(ss_svg_bar_chart(f, "t", p, 3), 0);
    const char *s = close_buf(f);
    assert_well_formed(s);
    assert_int_equal(count(s, "<rect"), 1);
    assert_int_equal(count(s, "no figure"), 2);
    assert_null(strstr(s, ">0.00</text>"));
}

static void test_svg_empty_series_says_no_data(void **state)
{
    (void)state;
    FILE *f = open_buf();
    assert_int_equal(ss_svg_bar_chart(f, "t", NULL, 0), 0);
    const char *s = close_buf(f);
    assert_well_formed(s);
    assert_non_null(strstr(s, "no data"));

    f = open_buf();
    assert_int_equal(ss_svg_strip_plot(f, "t", NULL, 0, NAN), 0);
    s = close_buf(f);
    assert_well_formed(s);
    assert_non_null(strstr(s, "no data"));
    assert_null(strstr(s, "median"));

    f = open_buf();
    assert_int_equal(ss_svg_line_chart(f, "t", NULL, 0, NULL, 0), 0);
    s = close_buf(f);
    assert_well_formed(s);
    assert_non_null(strstr(s, "no data"));
}

static void test_svg_strip_dots_median_and_missing(void **state)
{
    (void)state;
    struct ss_svg_point p[] = {{"Me & co", 40, 1}, {"P1", 10, 0}, {"P2", NAN, 0}, {"P3", 30, 0}};
    FILE *f = open_buf();
    assert_int_equal(ss_svg_strip_plot(f, "Visits", p, 4, 20), 0);
    const char *s = close_buf(f);
    assert_well_formed(s);
    assert_int_equal(count(s, "<circle"), 3); /* P2 missing: no dot */
    assert_non_null(strstr(s, "median 20.00"));
    assert_non_null(strstr(s, "<title>Me &amp; co: 40.00</title>"));
    assert_null(strstr(s, "P2"));
    /* The highlighted dot is last (on top). */
    assert_true(strstr(s, "Me &amp; co") > strstr(s, "P3"));
}

static void test_svg_line_gap_not_zero(void **state)
{
    (void)state;
    const char *x[] = {"2020-21", "2021-22", "2022-23", "2023-24", "2024-25"};
    double a[] = {10, 20, NAN, 40, 50};
    double b[] = {NAN, 5, NAN, NAN, NAN};
    struct ss_svg_series s[] = {{"Service <A>", a, 1}, {"Peers", b, 0}};
    FILE *f = open_buf();
    assert_int_equal(ss_svg_line_chart(f, "Trend", x, 5, s, 2), 0);
    const char *out = close_buf(f);
    assert_well_formed(out);
    /* a: two runs (2020-22 and 2023-25) -> two paths; b: a lone dot, no path. */
    assert_int_equal(count(out, "<path"), 2);
    assert_int_equal(count(out, "<circle"), 5);
    assert_non_null(strstr(out, "Service &lt;A&gt; 2021-22: 20.00"));
    assert_null(strstr(out, "2022-23: 0.00"));
    /* Every path has exactly one move: a gap starts a new path, never a line to 0. */
    const char *p = out;
    while ((p = strstr(p, "<path"))) {
        const char *end = strstr(p, "/>");
        assert_non_null(end);
        size_t moves = 0;
        for (const char *q = p; q < end; q++)
            moves += *q == 'M';
        assert_int_equal(moves, 1);
        p = end;
    }
}

static void test_svg_single_year_is_a_dot(void **state)
{
    (void)state;
    const char *x[] = {"2023-24"};
    double a[] = {7.25};
    struct ss_svg_series s[] = {{"Me", a, 1}};
    FILE *f = open_buf();
    assert_int_equal(ss_svg_line_chart(f, "One year", x, 1, s, 1), 0);
    const char *out = close_buf(f);
    assert_well_formed(out);
    assert_int_equal(count(out, "<path"), 0);
    assert_int_equal(count(out, "<circle"), 1);
    assert_non_null(strstr(out, ": 7.25</title>"));
}

static void test_svg_bad_arguments(void **state)
{
    (void)state;
    FILE *f = open_buf();
    assert_true(ss_svg_bar_chart(f, "t", NULL, 2) < 0);
    assert_true(ss_svg_strip_plot(NULL, "t", NULL, 0, 0) < 0);
    const char *x[] = {"a"};
    assert_true(ss_svg_line_chart(f, "t", x, 1, NULL, 1) < 0);
    close_buf(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svg_escape_all_five),
        cmocka_unit_test(test_svg_bar_values_and_escaped_labels),
        cmocka_unit_test(test_svg_bar_missing_is_no_bar_not_zero),
        cmocka_unit_test(test_svg_empty_series_says_no_data),
        cmocka_unit_test(test_svg_strip_dots_median_and_missing),
        cmocka_unit_test(test_svg_line_gap_not_zero),
        cmocka_unit_test(test_svg_single_year_is_a_dot),
        cmocka_unit_test(test_svg_bad_arguments),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(buf);
    return rc;
}
