/* shelfsync export --activity-return without a database: periods written
 * as the published long form writes them (ISO 8601 START/DURATION), the
 * financial year label, and the file names. The rows themselves are
 * checked against the published return in
 * tests/integration/test_export_activity.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ss_export_activity.h"

static struct ss_date d(int y, int m, int dd)
{
    struct ss_date x = {y, m, dd};
    return x;
}

static void test_export_period_months_quarters_years(void **state)
{
    char p[40];
    (void)state;
    assert_int_equal(ss_export_activity_period(d(2023, 4, 1), d(2023, 4, 30), p, sizeof(p)), 0);
    assert_string_equal(p, "2023-04-01/P1M");
    assert_int_equal(ss_export_activity_period(d(2024, 2, 1), d(2024, 2, 29), p, sizeof(p)), 0);
    assert_string_equal(p, "2024-02-01/P1M");
    assert_int_equal(ss_export_activity_period(d(2024, 1, 1), d(2024, 3, 31), p, sizeof(p)), 0);
    assert_string_equal(p, "2024-01-01/P3M");
    assert_int_equal(ss_export_activity_period(d(2023, 4, 1), d(2024, 3, 31), p, sizeof(p)), 0);
    assert_string_equal(p, "2023-04-01/P1Y");
    assert_int_equal(ss_export_activity_period(d(2023, 4, 1), d(2025, 3, 31), p, sizeof(p)), 0);
    assert_string_equal(p, "2023-04-01/P2Y");
    /* a quarter across the turn of the year */
    assert_int_equal(ss_export_activity_period(d(2023, 11, 1), d(2024, 1, 31), p, sizeof(p)), 0);
    assert_string_equal(p, "2023-11-01/P3M");
}

static void test_export_period_other_spans_in_days(void **state)
{
    char p[40];
    (void)state;
    /* a day, a week, a month not from its first day: never called a month */
    assert_int_equal(ss_export_activity_period(d(2023, 6, 3), d(2023, 6, 3), p, sizeof(p)), 0);
    assert_string_equal(p, "2023-06-03/P1D");
    assert_int_equal(ss_export_activity_period(d(2023, 6, 5), d(2023, 6, 11), p, sizeof(p)), 0);
    assert_string_equal(p, "2023-06-05/P7D");
    assert_int_equal(ss_export_activity_period(d(2023, 4, 15), d(2023, 5, 14), p, sizeof(p)), 0);
    assert_string_equal(p, "2023-04-15/P30D");
    /* first of a month to a day that does not end one */
    assert_int_equal(ss_export_activity_period(d(2023, 4, 1), d(2023, 4, 29), p, sizeof(p)), 0);
    assert_string_equal(p, "2023-04-01/P29D");
}

static void test_export_period_refuses_bad_input(void **state)
{
    char p[40], small[8];
    (void)state;
    assert_true(ss_export_activity_period(d(2023, 5, 1), d(2023, 4, 30), p, sizeof(p)) < 0);
    assert_true(ss_export_activity_period(d(2023, 4, 1), d(2023, 4, 30), small, sizeof(small)) < 0);
}

static void test_export_year_labels(void **state)
{
    int y = 0;
    (void)state;
    assert_int_equal(ss_export_activity_year("2023-24", &y), 0);
    assert_int_equal(y, 2023);
    assert_int_equal(ss_export_activity_year("1999-00", &y), 0);
    assert_int_equal(y, 1999);
    const char *bad[] = {"2023-25", "2023-2024", "2023/24", "23-24",
                         "2023-2",  "",          "abcd-ef", "2023-24 "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_true(ss_export_activity_year(bad[i], &y) < 0);
    assert_true(ss_export_activity_year(NULL, &y) < 0);
}

static void test_export_files_are_the_published_names(void **state)
{
    static const char *want[] = {
        "loans.csv",  "users.csv",     "events.csv", "event_attendance.csv",
        "visits.csv", "computers.csv", "wifi.csv",   "click_and_collect.csv"};
    (void)state;
    for (size_t i = 0; i < SS_EXPORT_ACTIVITY_MEASURES; i++)
        assert_string_equal(ss_export_activity_file(i), want[i]);
    assert_null(ss_export_activity_file(SS_EXPORT_ACTIVITY_MEASURES));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_period_months_quarters_years),
        cmocka_unit_test(test_export_period_other_spans_in_days),
        cmocka_unit_test(test_export_period_refuses_bad_input),
        cmocka_unit_test(test_export_year_labels),
        cmocka_unit_test(test_export_files_are_the_published_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
