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
    size_t n = 0;
    for (const struct ss_dataset *const *d = ss_dataset_all(); *d; d++)
        assert_ptr_equal(ss_dataset_find((*d)->name), *d), n++;
    assert_int_equal(n, 18);
}

static void test_dataset_loans_columns_put_periods_last_and_keys_marked(void **state)
{
    struct ss_column cols[SS_DATASET_MAX_COLUMNS];
    size_t n = ss_dataset_columns(ss_dataset_find("loans"), cols);
    const char *names[] = {"authority_code", "service_point", "item_type",
                           "loans",          "period_start",  "period_end"};
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
            assert_int_equal(strspn(f->name, "abcdefghijklmnopqrstuvwxyz_0123456789"),
                             strlen(f->name));
            if (f->type == SS_FT_CODE) {
                assert_non_null(f->codes);
                assert_non_null(f->code_list);
            }
            assert_non_null(f->comment);
            for (size_t j = i + 1; j < ds->nfields; j++)
                assert_string_not_equal(f->name, ds->fields[j].name);
            keys += (f->flags & SS_F_KEY) != 0;
            periods += ss_ftype_is_period(f->type);
        }
        assert_true(keys > 0);
        if (ds->flags & SS_DS_PERIOD)
            assert_true(periods > 0);
        else
            assert_int_equal(periods, 0);
        assert_true((ds->load == SS_LOAD_HISTORY) == (ds->id_column != NULL));
        struct ss_column cols[SS_DATASET_MAX_COLUMNS];
        size_t n = ss_dataset_columns(ds, cols);
        assert_true(n < SS_DATASET_MAX_COLUMNS - 3);
        assert_int_equal(ss_dataset_field_index(ds, ds->fields[0].name), 0);
    }
}

static void test_dataset_two_column_types_and_occurrence(void **state)
{
    struct ss_column cols[SS_DATASET_MAX_COLUMNS];
    size_t n = ss_dataset_columns(ss_dataset_find("membership"), cols);
    assert_int_equal(n, 5);
    assert_string_equal(cols[3].name, "members");
    assert_string_equal(cols[4].name, "members_suppressed");
    assert_string_equal(cols[4].sqltype, "boolean");
    assert_int_equal(cols[4].part, 1);

    n = ss_dataset_columns(ss_dataset_find("service_points"), cols);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(cols[i].name, "saturday_staffed_minutes") == 0) {
            found = 1;
            assert_string_equal(cols[i - 1].name, "saturday_staffed");
        }
    assert_true(found);
    assert_true(ss_dataset_has_occurrence(ss_dataset_find("events")));
    assert_false(ss_dataset_has_occurrence(ss_dataset_find("loans")));
    /* Both published event headers map to the main outcome. */
    const struct ss_field *f = &ss_dataset_find("events")->fields[5];
    assert_string_equal(f->name, "main_outcome");
    assert_string_equal(f->headers[1], "Outcome");
}

static void test_dataset_added_fields_are_optional_and_last(void **state)
{
    (void)state;
    const struct ss_dataset *const *all = ss_dataset_all();
    for (size_t i = 0; all[i]; i++) {
        size_t min = ss_dataset_min_fields(all[i]);
        for (size_t f = 0; f < all[i]->nfields; f++) {
            const struct ss_field *fl = &all[i]->fields[f];
            /* An older collector leaves these off the end: never one it must send. */
            assert_true(!(fl->flags & SS_F_ADDED) || f >= min);
            assert_true(f < min || !(fl->flags & (SS_F_REQUIRED | SS_F_KEY)));
        }
    }
    const struct ss_dataset *sp = ss_dataset_find("service_points");
    assert_int_equal(ss_dataset_min_fields(sp), sp->nfields - 2);
    assert_int_equal(ss_dataset_field_index(sp, "status"), (int)sp->nfields - 2);
    assert_int_equal(ss_dataset_field_index(sp, "as_of"), (int)sp->nfields - 1);
    assert_int_equal(ss_dataset_min_fields(ss_dataset_find("loans")),
                     ss_dataset_find("loans")->nfields);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dataset_loans_found_and_unknown_not),
        cmocka_unit_test(test_dataset_loans_columns_put_periods_last_and_keys_marked),
        cmocka_unit_test(test_dataset_every_definition_is_consistent),
        cmocka_unit_test(test_dataset_added_fields_are_optional_and_last),
        cmocka_unit_test(test_dataset_two_column_types_and_occurrence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
