/* Occurrence numbering: the collector's count of records that share a key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ss_occurrence.h"

static uint32_t next(struct ss_occurrence *o, const char *a, const char *b)
{
    const char *v[] = {a, b};
    size_t l[] = {a ? strlen(a) : 0, b ? strlen(b) : 0};
    return ss_occurrence_next(o, v, l, 2);
}

static void test_occurrence_counts_repeats_of_a_key(void **state)
{
    struct ss_occurrence *o = ss_occurrence_new(100);
    assert_int_equal(next(o, "Burnt Oak", "Toddler Read and Rhyme"), 1);
    assert_int_equal(next(o, "Burnt Oak", "Reading Group"), 1);
    assert_int_equal(next(o, "Burnt Oak", "Toddler Read and Rhyme"), 2);
    assert_int_equal(next(o, "Burnt Oak", "Toddler Read and Rhyme"), 3);
    ss_occurrence_reset(o);
    assert_int_equal(next(o, "Burnt Oak", "Toddler Read and Rhyme"), 1);
    ss_occurrence_free(o);
}

static void test_occurrence_values_are_not_run_together(void **state)
{
    struct ss_occurrence *o = ss_occurrence_new(100);
    assert_int_equal(next(o, "ab", "c"), 1);
    assert_int_equal(next(o, "a", "bc"), 1);
    assert_int_equal(next(o, "", "x"), 1);
    assert_int_equal(next(o, NULL, "x"), 1);
    ss_occurrence_free(o);
}

static void test_occurrence_refuses_past_its_bound(void **state)
{
    struct ss_occurrence *o = ss_occurrence_new(1000);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "event %d", i);
        assert_int_equal(next(o, key, "x"), 1);
    }
    assert_int_equal(next(o, "event 5", "x"), 2); /* known keys still count */
    assert_int_equal(next(o, "one too many", "x"), 0);
    ss_occurrence_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_occurrence_counts_repeats_of_a_key),
        cmocka_unit_test(test_occurrence_values_are_not_run_together),
        cmocka_unit_test(test_occurrence_refuses_past_its_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
