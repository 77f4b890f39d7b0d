#!/usr/bin/env bash
# The analyst role reads core and ref and cannot write anything; the writer
# role can write facts but not reference data.
source "$(dirname "$0")/lib.sh"
it_setup
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
as_role() { "$SS_PGBIN/psql" -X -q -tA -h "$SS_PGHOST" -p "$SS_PGPORT" -U postgres -d "$SS_PGDATABASE" \
    -c "SET ROLE $1" -c "$2" 2>&1; }

it_assert_eq "t|t" "$(it_psql "SELECT rolcanlogin = false, true FROM pg_roles WHERE rolname = 'shelfsync_analyst'")" "analyst role exists, NOLOGIN"
out=$(as_role shelfsync_analyst "SELECT count(*) FROM core.loans") || true
[[ $out =~ ^[0-9]+$ ]] || it_fail "analyst cannot read core.loans: $out"
out=$(as_role shelfsync_analyst "SELECT count(*) FROM core.v_authority_year") || true
[[ $out =~ ^[0-9]+$ ]] || it_fail "analyst cannot read the views: $out"
out=$(as_role shelfsync_analyst "SELECT count(*) FROM ref.authority") || true
[[ $out =~ ^[0-9]+$ ]] || it_fail "analyst cannot read ref.authority: $out"
for sql in "INSERT INTO core.stock (authority_code, service_point, count_date, item_type, items, source, batch_id) VALUES ('E99999901', 'x', '2024-01-01', 'x', 1, 'x', 0)" \
    "UPDATE core.loans SET loans = 0" "DELETE FROM ref.authority" "CREATE TABLE core.mine (a int)" \
    "SELECT count(*) FROM ingest.quarantine"; do
    out=$(as_role shelfsync_analyst "$sql") || true
    [[ $out == *"permission denied"* ]] || it_fail "analyst was not refused: $sql: $out"
    it_log "ok: analyst refused: ${sql:0:40}..."
done
out=$(as_role shelfsync_writer "INSERT INTO core.stock (authority_code, service_point, count_date, item_type, items, source, batch_id) VALUES ('E99999901', 'x', '2024-01-01', 'x', 1, 'x', 0)") || true
[[ $out == "" ]] || it_fail "writer cannot write a fact: $out"
out=$(as_role shelfsync_writer "DELETE FROM ref.authority") || true
[[ $out == *"permission denied"* ]] || it_fail "writer may change reference data: $out"
it_psql "DELETE FROM core.stock WHERE source = 'x'" >/dev/null
it_log "roles behave"

# `\d+` is the documentation: every table, view and column in the schemas
# people read has a COMMENT.
it_assert_eq "" "$(it_psql "SELECT string_agg(n.nspname || '.' || c.relname, ', ' ORDER BY 1) FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname IN ('core', 'ref', 'ingest') AND c.relkind IN ('r', 'v') AND obj_description(c.oid, 'pg_class') IS NULL")" \
    "tables and views without a comment"
it_assert_eq "" "$(it_psql "SELECT string_agg(n.nspname || '.' || c.relname || '.' || a.attname, ', ' ORDER BY 1) FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
    WHERE n.nspname IN ('core', 'ref', 'ingest') AND c.relkind IN ('r', 'v') AND a.attnum > 0 AND NOT a.attisdropped
      AND col_description(c.oid, a.attnum) IS NULL")" "columns without a comment"

# The daemon can run as a login in shelfsync_writer, with no rights to
# change the schema: the schema is current, so it starts and loads.
it_psql "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shelfsyncd_test') THEN
           CREATE ROLE shelfsyncd_test LOGIN; END IF; END \$\$; GRANT shelfsync_writer TO shelfsyncd_test" >/dev/null
ss_python - "$IT_DAEMON_CONFIG" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["database"]["conninfo"] = c["database"]["conninfo"].replace("user=shelfsync", "user=shelfsyncd_test")
json.dump(c, open(sys.argv[1], "w"))
PY
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine" it_reset_db
it_http_start "$SS_SOURCE_DIR/tests/fixtures"
it_daemon_start
it_collector_config "$IT_DIR/w.json" writer "http://127.0.0.1:$IT_HTTP_PORT/loans_mixed.csv"
it_collect "$IT_DIR/w.json" || it_fail "loading through a writer-role daemon failed ($?)"
it_assert_eq "4" "$(it_psql "SELECT count(*) FROM core.loans WHERE source = 'writer'")" "a writer-role daemon loads"
it_daemon_stop
