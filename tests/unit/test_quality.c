/* shelfsync quality without a database: the verdict (exit status) from the
 * findings' severities, the selection's syntax, and the tables drawn from a
 * quality document (one per check, aligned, one line per finding, the
 * view named). The findings themselves are checked against a real load in
 * tests/integration/test_quality.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ss_quality.h"

static void test_quality_severities_weigh_error_warning_info(void **state)
{
    (void)state;
    assert_int_equal(ss_quality_severity_rank("error"), 2);
    assert_int_equal(ss_quality_severity_rank("warning"), 1);
    assert_int_equal(ss_quality_severity_rank("info"), 0);
    assert_int_equal(ss_quality_severity_rank("Error"), -1);
    assert_int_equal(ss_quality_severity_rank(""), -1);
    assert_int_equal(ss_quality_severity_rank(NULL), -1);
}

static void test_quality_verdict_errors_beat_warnings(void **state)
{
    (void)state;
    assert_int_equal(ss_quality_verdict(0, 0), SS_QUALITY_OK);
    assert_int_equal(ss_quality_verdict(0, 5), SS_QUALITY_WARNINGS);
    assert_int_equal(ss_quality_verdict(1, 0), SS_QUALITY_ERRORS);
    assert_int_equal(ss_quality_verdict(2, 9), SS_QUALITY_ERRORS);
    /* The documented numbers: scripts depend on them. */
    assert_int_equal(SS_QUALITY_OK, 0);
    assert_int_equal(SS_QUALITY_FAILED, 1);
    assert_int_equal(SS_QUALITY_USAGE, 2);
    assert_int_equal(SS_QUALITY_ERRORS, 3);
    assert_int_equal(SS_QUALITY_WARNINGS, 4);
}

static void test_quality_years_as_written_in_returns(void **state)
{
    (void)state;
    assert_int_equal(ss_quality_check_year("2023-24"), 0);
    assert_int_equal(ss_quality_check_year("1999-00"), 0);
    const char *bad[] = {"",      "2023",    "2023-25",  "2023-2024", "2023/24",
                         "23-24", "2023-2x", " 2023-24", "1800-01",   NULL};
    for (size_t i = 0; bad[i]; i++)
        assert_true(ss_quality_check_year(bad[i]) < 0);
    assert_true(ss_quality_check_year(NULL) < 0);
}

static void test_quality_authorities_are_gss_codes(void **state)
{
    (void)state;
    assert_int_equal(ss_quality_check_authority("E09000003"), 0);
    assert_int_equal(ss_quality_check_authority("W06000015"), 0);
    const char *bad[] = {"", "e09000003", "E0900000", "E090000031", "Barnet", "E0900000x", NULL};
    for (size_t i = 0; bad[i]; i++)
        assert_true(ss_quality_check_authority(bad[i]) < 0);
}

/* A document as ss_quality_collect makes it, before judging. */
static json_t *doc_with(const char *findings_json)
{
    json_error_t e;
    json_t *checks = json_loads(findings_json, 0, &e);
    assert_non_null(checks);
    json_t *doc =
        json_pack("{s:{s:s,s:n,s:n,s:n}, s:o}", "selection", "authority_code", "E99999901",
                  "financial_year", "dataset", "stale_after_s", "checks", checks);
    assert_non_null(doc);
    return doc;
}

static void test_quality_judge_counts_per_check_and_in_all(void **state)
{
    (void)state;
    json_t *doc = doc_with(
        "[{\"check\":\"outliers\",\"view\":\"core.quality_outliers\",\"findings\":["
        "  {\"severity\":\"error\",\"detail\":\"x\"}]},"
        " {\"check\":\"completeness\",\"view\":\"core.quality_completeness\",\"findings\":["
        "  {\"severity\":\"warning\"},{\"severity\":\"warning\"},{\"severity\":\"info\"}]},"
        " {\"check\":\"overlaps\",\"view\":\"core.quality_overlaps\",\"findings\":[]}]");
    assert_int_equal(ss_quality_judge(doc), SS_QUALITY_ERRORS);
    assert_int_equal(json_integer_value(json_object_get(doc, "errors")), 1);
    assert_int_equal(json_integer_value(json_object_get(doc, "warnings")), 2);
    assert_int_equal(json_integer_value(json_object_get(doc, "info")), 1);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "errors");
    assert_int_equal(json_integer_value(json_object_get(doc, "exit_status")), 3);
    json_t *c = json_array_get(json_object_get(doc, "checks"), 1);
    assert_int_equal(json_integer_value(json_object_get(c, "warnings")), 2);
    assert_int_equal(json_integer_value(json_object_get(c, "info")), 1);
    json_decref(doc);
}

static void test_quality_info_alone_is_ok_and_unknown_severity_is_an_error(void **state)
{
    (void)state;
    json_t *doc = doc_with("[{\"check\":\"suppressed\",\"findings\":[{\"severity\":\"info\"}]}]");
    assert_int_equal(ss_quality_judge(doc), SS_QUALITY_OK);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "ok");
    json_decref(doc);
    doc = doc_with("[{\"check\":\"x\",\"findings\":[{\"severity\":\"bogus\"},{}]}]");
    assert_int_equal(ss_quality_judge(doc), SS_QUALITY_ERRORS);
    assert_int_equal(json_integer_value(json_object_get(doc, "errors")), 2);
    json_decref(doc);
}

static char *printed(json_t *doc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    ss_quality_print(doc, f);
    fclose(f);
    return buf;
}

static void test_quality_tables_align_and_name_their_view(void **state)
{
    (void)state;
    json_t *doc = doc_with(
        "[{\"check\":\"outliers\",\"view\":\"core.quality_outliers\",\"title\":\"far "
        "out\",\"findings\":["
        "  {\"severity\":\"error\",\"authority_code\":\"E99999901\",\"financial_year\":\"2023-24\","
        "   \"dataset\":\"computer_hours\",\"detail\":\"computer_hours 2023-07-01..2023-07-31: "
        "4000000000\"},"
        "  {\"severity\":\"warning\",\"authority_code\":null,\"financial_year\":null,"
        "   \"dataset\":\"loans\",\"detail\":\"two\\nlines\"}]},"
        " {\"check\":\"overlaps\",\"view\":\"core.quality_overlaps\",\"title\":\"o\",\"findings\":["
        "]}]");
    ss_quality_judge(doc);
    char *out = printed(doc);
    assert_non_null(
        strstr(out, "selection: authority E99999901, financial year all, dataset all\n"));
    assert_non_null(strstr(out, "outliers (core.quality_outliers): far out\n"));
    assert_non_null(strstr(out, "  SEVERITY  AUTHORITY  YEAR     DATASET         DETAIL\n"));
    assert_non_null(
        strstr(out, "  error     E99999901  2023-24  computer_hours  computer_hours 2023-07-01"));
    /* Unknown values as "-"; a line break in a detail stays on its line. */
    assert_non_null(strstr(out, "  warning   -          -        loans           two lines\n"));
    assert_non_null(strstr(out, "  1 error, 1 warning, 0 info\n"));
    assert_non_null(strstr(out, "overlaps (core.quality_overlaps): o\n  nothing found\n"));
    assert_non_null(strstr(out, "quality: errors (1 error, 1 warning, 0 info)\n"));
    free(out);
    json_decref(doc);
}

static void test_quality_every_check_has_its_view(void **state)
{
    (void)state;
    const char *want[] = {"completeness", "outliers",      "suppressed",  "overlaps",
                          "quarantine",   "stale_sources", "partial_runs"};
    assert_int_equal(ss_quality_nchecks, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < ss_quality_nchecks; i++) {
        char view[64];
        snprintf(view, sizeof(view), "core.quality_%s", want[i]);
        assert_string_equal(ss_quality_checks[i].name, want[i]);
        assert_string_equal(ss_quality_checks[i].view, view);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quality_severities_weigh_error_warning_info),
        cmocka_unit_test(test_quality_verdict_errors_beat_warnings),
        cmocka_unit_test(test_quality_years_as_written_in_returns),
        cmocka_unit_test(test_quality_authorities_are_gss_codes),
        cmocka_unit_test(test_quality_judge_counts_per_check_and_in_all),
        cmocka_unit_test(test_quality_info_alone_is_ok_and_unknown_severity_is_an_error),
        cmocka_unit_test(test_quality_tables_align_and_name_their_view),
        cmocka_unit_test(test_quality_every_check_has_its_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
