#!/usr/bin/env bash
# The migrated warehouse holds exactly the tables the dataset definitions
# imply. The DDL `shelfsync dataset-sql` derives from common/ss_dataset.c is
# run into a scratch schema; the tables the migrations (001 onwards, ALTERs
# and all) built in core must match it column for column -- name, type,
# NOT NULL, comment -- and have the same indexes it creates (the natural key
# above all) and the same partition key (core.loans and core.visits are
# partitioned by period_start, migration 017; their partitions are the
# migration's and are not compared). A definition changed without its migration, or a migration
# without its definition, fails here.
source "$(dirname "$0")/lib.sh"
it_setup
it_daemon_config "$IT_DIR/daemon.json"
it_migrate

"$SS_BIN_DIR/shelfsync" dataset-sql >"$IT_DIR/ddl.sql" || it_fail "shelfsync dataset-sql failed"
grep -q '^CREATE TABLE core\.' "$IT_DIR/ddl.sql" || it_fail "shelfsync dataset-sql printed no table"
{
    echo "DROP SCHEMA IF EXISTS ddlcheck CASCADE; CREATE SCHEMA ddlcheck;"
    sed 's/\bcore\./ddlcheck./g' "$IT_DIR/ddl.sql"
} >"$IT_DIR/ddlcheck.sql"
it_psql "$(cat "$IT_DIR/ddlcheck.sql")" >/dev/null || it_fail "the generated DDL does not run"

# One line per column of every table the definitions name, in each schema.
columns() {
    it_psql "
      SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
             || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
             || ' -- ' || coalesce(col_description(c.oid, a.attnum), '(no comment)')
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = '$1' AND c.relkind IN ('r', 'p')
        AND c.relname IN (SELECT relname FROM pg_class k JOIN pg_namespace s ON s.oid = k.relnamespace
                          WHERE s.nspname = 'ddlcheck' AND k.relkind IN ('r', 'p'))
      ORDER BY 1"
}
# The indexes the definitions create, as each schema has them.
indexes() {
    it_psql "
      SELECT replace(pg_get_indexdef(i.indexrelid), '$1.', 'SCHEMA.')
      FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
      JOIN pg_namespace n ON n.oid = x.relnamespace
      WHERE n.nspname = '$1'
        AND x.relname IN (SELECT relname FROM pg_class k JOIN pg_namespace s ON s.oid = k.relnamespace
                          WHERE s.nspname = 'ddlcheck' AND k.relkind IN ('i', 'I'))
      ORDER BY 1"
}
# The partition key of each partitioned table (migration 017: loans and
# visits by RANGE (period_start)).
partkeys() {
    it_psql "
      SELECT c.relname || ' PARTITION BY ' || pg_get_partkeydef(c.oid)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = '$1' AND c.relkind = 'p'
        AND c.relname IN (SELECT relname FROM pg_class k JOIN pg_namespace s ON s.oid = k.relnamespace
                          WHERE s.nspname = 'ddlcheck' AND k.relkind IN ('r', 'p'))
      ORDER BY 1"
}
tables=$(it_psql "SELECT count(*) FROM pg_class k JOIN pg_namespace s ON s.oid = k.relnamespace
                  WHERE s.nspname = 'ddlcheck' AND k.relkind IN ('r', 'p')")
missing=$(it_psql "SELECT string_agg(k.relname, ', ') FROM pg_class k JOIN pg_namespace s ON s.oid = k.relnamespace
                   WHERE s.nspname = 'ddlcheck' AND k.relkind IN ('r', 'p')
                     AND to_regclass('core.' || k.relname) IS NULL")
[[ -z $missing ]] || it_fail "the migrations create no table for dataset(s): $missing"
columns ddlcheck >"$IT_DIR/want.txt"
columns core >"$IT_DIR/have.txt"
indexes ddlcheck >>"$IT_DIR/want.txt"
indexes core >>"$IT_DIR/have.txt"
partkeys ddlcheck >>"$IT_DIR/want.txt"
partkeys core >>"$IT_DIR/have.txt"
grep -qx 'loans PARTITION BY RANGE (period_start)' "$IT_DIR/want.txt" ||
    it_fail "shelfsync dataset-sql does not print core.loans as partitioned by period_start"
if ! diff -u --label 'definitions (shelfsync dataset-sql)' --label 'migrated warehouse' \
    "$IT_DIR/want.txt" "$IT_DIR/have.txt" >"$IT_DIR/diff.txt"; then
    cat "$IT_DIR/diff.txt"
    it_fail "the migrated tables differ from the dataset definitions (above: - definition, + migrations)"
fi
it_psql "DROP SCHEMA ddlcheck CASCADE" >/dev/null
it_log "all $tables dataset tables match their definitions ($(wc -l <"$IT_DIR/want.txt") columns and indexes)"
