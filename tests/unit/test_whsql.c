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

/* Several sources: every upsert dataset with values keeps contested values
 * (side_sql) and can re-resolve them (resolve_sql); history datasets and
 * key-only ones have neither. */
static void test_whsql_source_statements_for_every_upsert_dataset(void **state)
{
    (void)state;
    const struct ss_dataset *const *all = ss_dataset_all();
    for (size_t i = 0; all[i]; i++) {
        struct ss_whsql q;
        char err[256] = "", want[300];
        memset(&q, 0, sizeof(q));
        assert_int_equal(ss_whsql_build(&q, all[i], err, sizeof(err)), 0);
        int has_values = 0;
        for (size_t c = 0; c < q.ncols; c++)
            has_values |= !q.cols[c].key;
        if (all[i]->load != SS_LOAD_UPSERT || !has_values) {
            assert_null(q.side_sql);
            assert_null(q.resolve_sql);
            ss_whsql_free(&q);
            continue;
        }
        assert_non_null(q.side_sql);
        assert_non_null(q.resolve_sql);
        assert_non_null(strstr(q.side_sql, "INSERT INTO core.source_values"));
        /* The fact row the staged row meets, by the key's index (NULL keys
         * matched as equal). */
        for (size_t c = 0; c < q.ncols; c++) {
            if (!q.cols[c].key)
                continue;
            int f = q.cols[c].field;
            int opt = f >= 0 && !(all[i]->fields[f].flags & SS_F_REQUIRED);
            snprintf(want, sizeof(want), "t.%s %s s.%s", q.cols[c].name,
                     opt ? "IS NOT DISTINCT FROM" : "=", q.cols[c].name);
            assert_non_null(strstr(q.side_sql, want));
        }
        snprintf(want, sizeof(want), "jsonb_populate_record(NULL::%s, w.key || w.value)",
                 all[i]->table);
        assert_non_null(strstr(q.resolve_sql, want));
        snprintf(want, sizeof(want), "WHERE v.dataset = '%s'", all[i]->name);
        assert_non_null(strstr(q.resolve_sql, want));
        ss_whsql_free(&q);
        assert_null(q.side_sql);
        assert_null(q.resolve_sql);
    }
}

/* The one-source case costs one look at ingest.dataset_source: the staged
 * rows are read only when another source has written the dataset, and the
 * upsert reaches its precedence lookups only for another source's row. */
static void test_whsql_one_source_skips_the_source_work(void **state)
{
    (void)state;
    const struct ss_dataset *ds = ss_dataset_find("loans");
    struct ss_whsql q;
    char err[256];
    memset(&q, 0, sizeof(q));
    assert_non_null(ds);
    assert_int_equal(ss_whsql_build(&q, ds, err, sizeof(err)), 0);
    const char *guard = "FROM pg_temp.stage_loans WHERE EXISTS (SELECT 1 FROM "
                        "ingest.dataset_source d WHERE d.dataset = 'loans' AND d.source <> "
                        "$1::text) ORDER BY";
    const char *g = strstr(q.side_sql, guard);
    assert_non_null(g);
    /* The guard is on the one read of the staged rows. */
    assert_null(strstr(g + strlen(guard), "pg_temp.stage_loans"));
    assert_ptr_equal(strstr(q.side_sql, "pg_temp.stage_loans"), g + strlen("FROM "));
    const char *c =
        strstr(q.upsert_sql, "WHERE CASE WHEN t.source = EXCLUDED.source THEN (t.loans) "
                             "IS DISTINCT FROM (EXCLUDED.loans) ELSE ");
    const char *p = strstr(q.upsert_sql, "ingest.source");
    assert_non_null(c);
    assert_non_null(p);
    assert_true(c < p);
    /* A loser's value: kept, never written over the fact row. */
    assert_non_null(strstr(q.side_sql, "DO UPDATE SET value = EXCLUDED.value"));
    ss_whsql_free(&q);
}

/* Re-resolving picks per key the highest precedence, then the value already
 * in the fact row, and writes only rows that change. */
static void test_whsql_resolve_keeps_the_incumbent_on_a_tie(void **state)
{
    (void)state;
    const struct ss_dataset *ds = ss_dataset_find("loans");
    struct ss_whsql q;
    char err[256];
    memset(&q, 0, sizeof(q));
    assert_int_equal(ss_whsql_build(&q, ds, err, sizeof(err)), 0);
    assert_non_null(strstr(q.resolve_sql,
                           "ORDER BY v.key, coalesce((SELECT p.precedence FROM ingest.source p "
                           "WHERE p.source = v.source), 0) DESC, coalesce(cur.source = v.source, "
                           "false) DESC, v.loaded_at, v.source"));
    assert_non_null(strstr(q.resolve_sql, "SET winning = (f.source = w.source)"));
    assert_non_null(strstr(q.resolve_sql, "AND (t.source IS DISTINCT FROM w.source OR (t.loans) IS "
                                          "DISTINCT FROM (r.loans))"));
    ss_whsql_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whsql_builds_every_dataset),
        cmocka_unit_test(test_whsql_upsert_keys_on_the_natural_key),
        cmocka_unit_test(test_whsql_source_statements_for_every_upsert_dataset),
        cmocka_unit_test(test_whsql_one_source_skips_the_source_work),
        cmocka_unit_test(test_whsql_resolve_keeps_the_incumbent_on_a_tie),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
