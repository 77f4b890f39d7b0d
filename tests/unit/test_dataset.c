/* The dataset table: every part derives its columns and keys from it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ss_dataset.h"

static void test_dataset_loans_found_and_unknown_not(void **state)
{
    assert_non_null(ss_dataset_find("loans"));
    assert_null(ss_dataset_find("nope"));
    assert_ptr_equal(ss_dataset_all()[0], ss_dataset_find("loans"));
}

static void test_dataset_loans_columns_put_periods_last_and_keys_marked(void **state)
{
    struct ss_column cols[SS_DATASET_MAX_COLUMNS];
    size_t n = ss_dataset_columns(ss_dataset_find("loans"), cols);
    const char *names[] = {"authority", "service_point", "item_type",
                           "loans",     "period_start",  "period_end"};
    const int keys[] = {1, 1, 1, 0, 1, 1};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(cols[i].name, names[i]);
        assert_int_equal(cols[i].key, keys[i]);
    }
    assert_string_equal(cols[3].sqltype, "bigint");
    assert_int_equal(cols[4].field, -1);
}

static void test_dataset_every_definition_is_consistent(void **state)
{
    /* Every dataset: unique field names, a natural key, and for period
     * datasets at least one period field; names safe to splice into SQL. */
    for (const struct ss_dataset *const *d = ss_dataset_all(); *d; d++) {
        const struct ss_dataset *ds = *d;
        int keys = 0, periods = 0;
        assert_non_null(strchr(ds->table, '.'));
        for (size_t i = 0; i < ds->nfields; i++) {
            const struct ss_field *f = &ds->fields[i];
            assert_int_equal(strspn(f->name, "abcdefghijklmnopqrstuvwxyz_"), strlen(f->name));
            assert_non_null(f->comment);
            for (size_t j = i + 1; j < ds->nfields; j++)
                assert_string_not_equal(f->name, ds->fields[j].name);
            keys += (f->flags & SS_F_KEY) != 0;
            periods += ss_ftype_is_period(f->type);
        }
        assert_true(keys > 0);
        if (ds->flags & SS_DS_PERIOD)
            assert_true(periods > 0);
        assert_int_equal(ss_dataset_field_index(ds, ds->fields[0].name), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dataset_loans_found_and_unknown_not),
        cmocka_unit_test(test_dataset_loans_columns_put_periods_last_and_keys_marked),
        cmocka_unit_test(test_dataset_every_definition_is_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
