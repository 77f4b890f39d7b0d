/* The warehouse's SQL, generated from the dataset definitions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ss_dataset.h"
#include "ss_whsql.h"

static void test_whsql_builds_every_dataset(void **state)
{
    (void)state;
    const struct ss_dataset *const *all = ss_dataset_all();
    for (size_t i = 0; all[i]; i++) {
        struct ss_whsql q;
        char err[256] = "", want[128];
        memset(&q, 0, sizeof(q));
        assert_int_equal(ss_whsql_build(&q, all[i], err, sizeof(err)), 0);
        snprintf(want, sizeof(want), "COPY pg_temp.stage_%s (ord, ", all[i]->name);
        assert_non_null(q.copy_sql);
        assert_memory_equal(q.copy_sql, want, strlen(want));
        assert_non_null(strstr(q.stage_sql, all[i]->table));
        assert_non_null(q.upsert_sql);
        assert_true(q.keys && q.keys[0]);
        assert_null(q.close_sql);
        assert_non_null(strstr(q.upsert_sql, "ON CONFLICT"));
        if (all[i]->load == SS_LOAD_HISTORY) {
            /* The table's load function (migration 011) places the versions. */
            char call[128];
            snprintf(call, sizeof(call),
                     "FROM %s_load($1::text, $2::bigint, $3::timestamptz, "
                     "$4::text)",
                     all[i]->table);
            assert_non_null(q.history_sql);
            assert_non_null(strstr(q.history_sql, call));
        } else {
            assert_null(q.history_sql);
        }
        ss_whsql_free(&q);
        assert_null(q.upsert_sql);
    }
}

static void test_whsql_upsert_keys_on_the_natural_key(void **state)
{
    (void)state;
    const struct ss_dataset *ds = ss_dataset_find("loans");
    struct ss_whsql q;
    char err[256], conflict[600];
    memset(&q, 0, sizeof(q));
    assert_non_null(ds);
    assert_int_equal(ss_whsql_build(&q, ds, err, sizeof(err)), 0);
    snprintf(conflict, sizeof(conflict), "ON CONFLICT (%s) DO", q.keys);
    assert_non_null(strstr(q.upsert_sql, conflict));
    /* A re-load of unchanged rows writes nothing. */
    assert_non_null(strstr(q.upsert_sql, "IS DISTINCT FROM"));
    ss_whsql_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whsql_builds_every_dataset),
        cmocka_unit_test(test_whsql_upsert_keys_on_the_natural_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
