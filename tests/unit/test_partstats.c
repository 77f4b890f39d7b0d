/* ss_partstats: when the daemon ANALYZEs a partitioned table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ss_partstats.h"

/* Autovacuum's rule for a plain table: more than 50 + 10 % of its rows. */
static void test_due(void **state)
{
    (void)state;
    assert_false(ss_partstats_due(0, 0));
    assert_false(ss_partstats_due(50, 0));
    assert_true(ss_partstats_due(51, 0));
    assert_true(ss_partstats_due(51, -1)); /* never analyzed */
    assert_false(ss_partstats_due(1050, 10000));
    assert_true(ss_partstats_due(1051, 10000));
    assert_false(ss_partstats_due(5000, 1000000));
    assert_true(ss_partstats_due(100051, 1000000));
}

/* A dataset that is not partitioned (or unknown) never asks the database. */
static void test_not_partitioned(void **state)
{
    (void)state;
    struct ss_partstats ps;
    char err[64];
    ss_partstats_init(&ps);
    assert_int_equal(0, ss_partstats_note(&ps, NULL, "stock", 100000, err, sizeof(err)));
    assert_int_equal(0, ss_partstats_note(&ps, NULL, "no such dataset", 100000, err, sizeof(err)));
    assert_int_equal(0, ss_partstats_note(&ps, NULL, "loans", 100000, err, sizeof(err)));
    assert_int_equal(0, (int)ps.n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_due),
        cmocka_unit_test(test_not_partitioned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
