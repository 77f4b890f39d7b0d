/* shelfsync status without a database: durations for --stale-after, and the
 * table drawn from a status document (aligned, one line per source, unknown
 * values as "-"). The facts themselves are checked against a real load in
 * tests/integration/test_status.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ss_status.h"

static void test_status_durations_parse_with_their_units(void **state)
{
    long s = 0;
    (void)state;
    assert_int_equal(ss_status_parse_duration("90", &s), 0);
    assert_int_equal(s, 90);
    assert_int_equal(ss_status_parse_duration("90s", &s), 0);
    assert_int_equal(s, 90);
    assert_int_equal(ss_status_parse_duration("45m", &s), 0);
    assert_int_equal(s, 45 * 60);
    assert_int_equal(ss_status_parse_duration("36h", &s), 0);
    assert_int_equal(s, 36 * 3600);
    assert_int_equal(ss_status_parse_duration("2d", &s), 0);
    assert_int_equal(s, 2 * 86400);
    assert_int_equal(ss_status_parse_duration("1w", &s), 0);
    assert_int_equal(s, 7 * 86400);
}

static void test_status_bad_durations_refused(void **state)
{
    long s = 7;
    (void)state;
    const char *bad[] = {"", "d", "0", "-1d", "2x", "2dd", "1.5h", "99999999999w", "3 d"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_true(ss_status_parse_duration(bad[i], &s) < 0);
    assert_int_equal(s, 7);
}

static const char doc_text[] =
    "{\"financial_year\":\"2024-25\",\"months_elapsed\":12,\"status\":\"failed\","
    "\"sources\":[{\"source\":\"a-very-long-source-name\",\"dataset\":\"loans\",\"kind\":\"csv\","
    "\"state\":\"ok\",\"last_run\":{\"run_id\":\"r1\",\"outcome\":\"complete\",\"exit_status\":0,"
    "\"started_at\":\"2026-12-01T02:00:00Z\",\"ended_at\":\"2026-12-01T02:00:05Z\","
    "\"rows_loaded\":1234,\"quarantined\":2,\"outbox_batches\":null},"
    "\"last_success\":{\"run_id\":\"r1\",\"at\":\"2026-12-01T02:00:05Z\"},\"lag_s\":7200,"
    "\"rows_loaded_total\":99999,\"quarantined_total\":2,\"newest_period\":\"2024-06\","
    "\"rejects\":[{\"reason\":\"\\\"loans\\\" is \\\"...\\\": negative\",\"records\":2,"
    "\"outstanding\":1}],\"year_coverage\":[]},"
    "{\"source\":\"b\",\"dataset\":\"loans\",\"state\":\"failed\",\"last_run\":{\"run_id\":\"r2\","
    "\"outcome\":\"failed\",\"exit_status\":2,\"started_at\":\"2026-12-01T03:00:00Z\","
    "\"ended_at\":null,\"error\":\"HTTP 404\",\"rows_loaded\":0,\"quarantined\":0,"
    "\"outbox_batches\":3},\"last_success\":null,\"lag_s\":null,\"rows_loaded_total\":0,"
    "\"quarantined_total\":0,\"newest_period\":null,\"rejects\":[],\"year_coverage\":[]}]}";

static void test_status_table_aligned_one_line_per_source(void **state)
{
    char *out = NULL;
    size_t len = 0;
    json_error_t jerr;
    (void)state;
    json_t *doc = json_loads(doc_text, 0, &jerr);
    assert_non_null(doc);
    FILE *f = open_memstream(&out, &len);
    ss_status_print(doc, f);
    fclose(f);
    char *l1 = out, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    assert_memory_equal(l1, "SOURCE                   STATE   LAST RUN", 40);
    assert_memory_equal(l2, "a-very-long-source-name  ok      2026-12-01 02:00  complete", 59);
    assert_memory_equal(l3, "b                        failed  2026-12-01 03:00  failed", 57);
    /* Counts right-aligned under their headings; unknowns as "-". */
    assert_non_null(strstr(l2, "  1234  99999        2  2026-12-01 02:00  2h   2024-06  -\n"));
    assert_non_null(strstr(l3, "     0      0        0  -                 -    -        3\n"));
    assert_non_null(strstr(out, "  error: HTTP 404\n"));
    assert_non_null(strstr(out, "\"loans\" is \"...\": negative"));
    assert_non_null(strstr(out, "\nstatus: failed\n"));
    free(out);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_durations_parse_with_their_units),
        cmocka_unit_test(test_status_bad_durations_refused),
        cmocka_unit_test(test_status_table_aligned_one_line_per_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
