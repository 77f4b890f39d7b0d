#!/usr/bin/env bash
# core.loans and core.visits are partitioned by financial year (migration
# 017). Loans of three financial years, loaded through the daemon, land in
# their years' partitions; a month far outside the years the migration made
# lands in the DEFAULT partition, and core.add_financial_year_partition
# moves it into a partition of its own; a batch sent again (a reload) still
# changes nothing and counts once, and a changed value updates the DEFAULT
# row in place; the DEFAULT row is in the views; after 300 rows the daemon
# has given core.loans statistics of its own (autovacuum never does); a
# one-year query scans one partition; migration 017 on a warehouse with
# rows keeps every row, every view's definition and every view's rows.
source "$(dirname "$0")/lib.sh"
it_setup
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine ingest.runs" it_reset_db
# The year this test adds (below), left by an earlier run on this cluster.
it_psql "DROP TABLE IF EXISTS core.loans_fy2047_48" >/dev/null
it_daemon_start
ep="tcp://127.0.0.1:$IT_ZMQ_PORT"

# The shape: both tables partitioned on period_start, each with a DEFAULT
# partition and 2010-11 .. 2030-31; the key index is partitioned too.
for t in loans visits; do
    it_assert_eq "p" "$(it_psql "SELECT relkind FROM pg_class WHERE oid = 'core.$t'::regclass")" "core.$t is partitioned"
    it_assert_eq "RANGE (period_start)" "$(it_psql "SELECT pg_get_partkeydef('core.$t'::regclass)")" "core.$t partition key"
    it_assert_eq "22" "$(it_psql "SELECT count(*) FROM pg_inherits WHERE inhparent = 'core.$t'::regclass")" \
        "core.$t: 21 years and DEFAULT"
    it_assert_eq "DEFAULT" "$(it_psql "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = 'core.${t}_default'::regclass")" \
        "core.${t}_default is the DEFAULT partition"
    it_assert_eq "FOR VALUES FROM ('2010-04-01') TO ('2011-04-01')" \
        "$(it_psql "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = 'core.${t}_fy2010_11'::regclass")" \
        "core.${t}_fy2010_11 bounds"
    it_assert_eq "I" "$(it_psql "SELECT relkind FROM pg_class WHERE oid = 'core.${t}_key'::regclass")" \
        "core.${t}_key is a partitioned index"
done

payload() { # payload FILE: records (tab-separated fields, \N for none) from stdin, as a batch's payload
    cat >"$1.tsv"
    ss_python - "$1" <<'PY'
import struct, sys
out = b""
for i, line in enumerate(open(sys.argv[1] + ".tsv", "rb").read().splitlines()):
    f = [None if x == b"\\N" else x for x in line.split(b"\t")]
    out += struct.pack('<IBH', i + 2, 0, len(f))
    for x in f:
        out += struct.pack('<I', 0xFFFFFFFF) if x is None else struct.pack('<I', len(x)) + x
open(sys.argv[1], "wb").write(out)
PY
}
# 2015-16, 2019-20 (March 2020, the year's last month), 2024-25 (April 2024,
# its first), and one far outside the partitions the migration made.
write_batch() { # write_batch FILE N: the four records, the far month's loans N
    local m n
    for m in 2015-06:5 2020-03:7 2024-04:11 "2047-05:$2"; do
        n=${m#*:}
        printf 'Exampleshire\tMain Library\t%s\t\\N\t\\N\t\\N\tAdult fiction\t%s\n' "${m%%:*}" "$n"
    done | payload "$1"
}
write_batch "$IT_DIR/batch.bin" 13
write_batch "$IT_DIR/batch17.bin" 17
batch() { # batch RUN SEQ [FILE]: the four records; prints the reply
    "$SS_BIN_DIR/ss_peer" "$ep" --timeout 5000 'shelfsync/2' \
        "{\"type\":\"batch\",\"source\":\"parts\",\"run_id\":\"$1\",\"seq\":$2,\"dataset\":\"loans\",\"records\":4,\"fields\":8}" \
        "file:${3:-$IT_DIR/batch.bin}"
}
where() { # the partition each loans row is in
    it_psql "SELECT string_agg(period_start || ' ' || tableoid::regclass || ' ' || loans, ', ' ORDER BY period_start) FROM core.loans"
}

out=$(batch r1 1) || it_fail "no reply to the batch"
[[ $out == *'"status":"applied"'* ]] || it_fail "batch not applied: $out"
it_assert_eq "2015-06-01 core.loans_fy2015_16 5, 2020-03-01 core.loans_fy2019_20 7, 2024-04-01 core.loans_fy2024_25 11, 2047-05-01 core.loans_default 13" \
    "$(where)" "each row in its financial year's partition, the far one in DEFAULT"

# A reload: the same records in a new run change nothing; the batch sent
# again is a duplicate.
before=$(it_psql "SELECT string_agg(batch_id::text, ',' ORDER BY period_start) FROM core.loans")
out=$(batch r1 1) || it_fail "no reply to the batch sent again"
[[ $out == *'"status":"duplicate"'* ]] || it_fail "the batch sent again was not a duplicate: $out"
out=$(batch r2 1) || it_fail "no reply to the reload"
[[ $out == *'"status":"applied"'* ]] || it_fail "reload not applied: $out"
it_assert_eq "4" "$(it_psql "SELECT count(*) FROM core.loans")" "a reload leaves four rows"
it_assert_eq "$before" "$(it_psql "SELECT string_agg(batch_id::text, ',' ORDER BY period_start) FROM core.loans")" \
    "a reload of unchanged rows writes none"
it_assert_eq "36" "$(it_psql "SELECT sum(loans) FROM core.loans")" "each loan counted once"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM (SELECT FROM core.loans GROUP BY authority_code, service_point,
    item_type, period_start, period_end HAVING count(*) > 1) d")" "one row per natural key over all partitions"

# A row in DEFAULT is still in the views: its month, and its financial year.
it_assert_eq "13" "$(it_psql "SELECT loans FROM core.v_monthly_service_point WHERE authority_code = 'E99999901'
    AND service_point = 'Main Library' AND month = '2047-05-01'")" "the DEFAULT row in core.v_monthly_service_point"
it_assert_eq "13" "$(it_psql "SELECT value FROM core.v_authority_year WHERE authority_code = 'E99999901'
    AND financial_year = '2047-48' AND measure = 'service_point_loans' AND age_group = 'All ages'")" \
    "the DEFAULT row in core.v_authority_year (2047-48)"
# The upsert finds a DEFAULT row by its key: a new value replaces it there.
out=$(batch r2b 1 "$IT_DIR/batch17.bin") || it_fail "no reply to the changed batch"
[[ $out == *'"status":"applied"'* ]] || it_fail "changed batch not applied: $out"
it_assert_eq "4 40 core.loans_default" "$(it_psql "SELECT count(*) || ' ' || sum(loans) || ' ' || max(tableoid::regclass::text)
    FILTER (WHERE period_start = '2047-05-01') FROM core.loans")" "a changed value in DEFAULT updates its row"
out=$(batch r2c 1) || it_fail "no reply to the batch changed back"
[[ $out == *'"status":"applied"'* ]] || it_fail "batch changed back not applied: $out"
it_assert_eq "4 36" "$(it_psql "SELECT count(*) || ' ' || sum(loans) FROM core.loans")" "changed back: four rows, 36"

# Statistics: autovacuum never ANALYZEs a partitioned table, so the daemon
# does (core.analyze_partitioned) once it has written more than 50 rows +
# 10 % of it. 300 loans of a second source (the several-sources path, whose
# join to the whole table needs them) give core.loans its own statistics:
# one authority, as the rows say, not the planner's default of 200.
for i in $(seq 0 299); do
    printf 'Exampleshire\tBranch %d\t2023-%02d\t\\N\t\\N\t\\N\tAdult fiction\t%d\n' "$i" $((i % 12 + 1)) "$i"
done | payload "$IT_DIR/many.bin"
out=$("$SS_BIN_DIR/ss_peer" "$ep" --timeout 5000 'shelfsync/2' \
    '{"type":"batch","source":"parts-b","run_id":"m1","seq":1,"dataset":"loans","records":300,"fields":8}' \
    "file:$IT_DIR/many.bin") || it_fail "no reply to the 300 loans"
[[ $out == *'"status":"applied"'* ]] || it_fail "the 300 loans not applied: $out"
it_wait_for "(( \$(it_psql \"SELECT reltuples::int FROM pg_class WHERE oid = 'core.loans'::regclass\") == 304 ))" 10 ||
    it_fail "the daemon did not ANALYZE core.loans after writing 300 rows"
it_assert_eq "1 304" "$(it_psql "SELECT s.n_distinct::int || ' ' || c.reltuples::int FROM pg_stats s, pg_class c
    WHERE s.schemaname = 'core' AND s.tablename = 'loans' AND s.inherited AND s.attname = 'authority_code'
      AND c.oid = 'core.loans'::regclass")" "core.loans' statistics: one authority, 304 rows"
it_assert_eq "t" "$(it_psql "SELECT has_function_privilege('shelfsync_writer', 'core.analyze_partitioned(regclass)', 'EXECUTE')")" \
    "the daemon's role may call core.analyze_partitioned"
it_psql "SELECT core.analyze_partitioned('ingest.batches')" >/dev/null 2>&1 &&
    it_fail "core.analyze_partitioned accepted a table that is not a partitioned table of core"
it_psql "DELETE FROM core.loans WHERE source = 'parts-b'; DELETE FROM ingest.dataset_source WHERE source = 'parts-b'" >/dev/null

# A year made later takes its rows out of DEFAULT, and loads go on.
it_assert_eq "core.loans_fy2047_48" "$(it_psql "SELECT core.add_financial_year_partition('core.loans', 2047)")" \
    "add_financial_year_partition names the partition"
it_assert_eq "core.loans_fy2047_48" "$(it_psql "SELECT core.add_financial_year_partition('core.loans', 2047)")" \
    "add_financial_year_partition again gives the partition there"
it_assert_eq "2015-06-01 core.loans_fy2015_16 5, 2020-03-01 core.loans_fy2019_20 7, 2024-04-01 core.loans_fy2024_25 11, 2047-05-01 core.loans_fy2047_48 13" \
    "$(where)" "the far row moved to its new partition"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM core.loans_default")" "DEFAULT is empty again"
it_assert_eq "" "$(it_psql "SELECT string_agg(a.attname, ', ') FROM pg_attribute a WHERE a.attrelid = 'core.loans_fy2047_48'::regclass
    AND a.attnum > 0 AND NOT a.attisdropped AND col_description(a.attrelid, a.attnum) IS NULL")" "the new partition's columns have comments"
it_psql "SELECT obj_description('core.loans_fy2047_48'::regclass, 'pg_class')" | grep -q '2047-48' ||
    it_fail "the new partition has no comment"
it_assert_eq "t" "$(it_psql "SELECT has_table_privilege('shelfsync_writer', 'core.loans_fy2047_48', 'INSERT')")" \
    "the new partition has the table's grants"
out=$(batch r3 1) || it_fail "no reply to the load after the new partition"
[[ $out == *'"status":"applied"'* ]] || it_fail "load after the new partition not applied: $out"
it_assert_eq "4 36" "$(it_psql "SELECT count(*) || ' ' || sum(loans) FROM core.loans")" "still once each"
it_psql "SELECT core.add_financial_year_partition('core.loans', 1850)" >/dev/null 2>&1 &&
    it_fail "a year out of range was accepted"
it_psql "SELECT core.add_financial_year_partition('core.ref_missing', 2040)" >/dev/null 2>&1 &&
    it_fail "a missing table was accepted"

# Partition pruning: a query for one financial year reads one partition.
plan=$(it_psql "EXPLAIN (COSTS OFF) SELECT sum(loans) FROM core.loans
                WHERE period_start >= DATE '2019-04-01' AND period_start < DATE '2020-04-01'")
it_log "plan: $(tr '\n' ' ' <<<"$plan")"
it_assert_eq "1" "$(grep -c 'on loans_' <<<"$plan")" "one partition scanned for one year"
grep -q 'loans_fy2019_20' <<<"$plan" || it_fail "the year's query does not read loans_fy2019_20: $plan"
# And through a view over it (the financial year of the views' own rule).
it_assert_eq "1" "$(it_psql "EXPLAIN (COSTS OFF) SELECT * FROM core.loans WHERE period_start BETWEEN '2024-04-01' AND '2025-03-31'" |
    grep -c 'on loans_')" "a one-year BETWEEN reads one partition"

# The views over the tables were made again and answer.
for v in $(it_psql "SELECT DISTINCT c.relname FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
                      JOIN pg_class c ON c.oid = r.ev_class
                     WHERE d.refobjid IN ('core.loans'::regclass, 'core.visits'::regclass) AND c.relkind = 'v' ORDER BY 1"); do
    it_psql "SELECT count(*) FROM core.$v" >/dev/null || it_fail "core.$v fails"
done

# The migration moves the rows a warehouse holds: a scratch database taken
# to 016 with the migration files themselves (recorded as shelfsync migrate
# records them), given loans and visits, then migrated by shelfsync.
pre=shelfsync_partitions_pre
it_psql "DROP DATABASE IF EXISTS $pre" >/dev/null
it_psql "CREATE DATABASE $pre" >/dev/null
pre_psql() { SS_PGDATABASE=$pre it_psql "$1"; }
pre_psql "CREATE SCHEMA ingest; CREATE TABLE ingest.schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now())" >/dev/null
for f in "$SS_SOURCE_DIR"/daemon/migrations/0*.sql; do
    name=$(basename "$f")
    v=$((10#${name%%_*}))
    ((v <= 16)) || continue
    "$SS_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -1 -h "$SS_PGHOST" -p "$SS_PGPORT" -U "$SS_PGUSER" -d "$pre" \
        -c "SET client_min_messages = warning" -f "$f" \
        -c "INSERT INTO ingest.schema_migrations (version, name) VALUES ($v, '$name')" >/dev/null ||
        it_fail "$name does not apply to the scratch database"
done
pre_psql "INSERT INTO core.loans (authority_code, service_point, item_type, loans, period_start, period_end, source, batch_id)
          SELECT 'E99999901', 'Library ' || (g % 7), CASE WHEN g % 2 = 0 THEN 'Adult fiction' ELSE 'Children' END, g,
                 d, (d + interval '1 month' - interval '1 day')::date, 'pre', 1
            FROM generate_series(0, 599) g, LATERAL (SELECT (DATE '2005-01-01' + (g / 7) * interval '1 month')::date) AS m(d)
          ON CONFLICT DO NOTHING;
          INSERT INTO core.visits (authority_code, service_point, count_type, visits, period_start, period_end, source, batch_id)
          SELECT 'E99999901', 'Library ' || (g % 3), 'Door counter', g, (DATE '2009-01-01' + (g / 3) * interval '1 month')::date,
                 (DATE '2009-01-01' + (g / 3 + 1) * interval '1 month' - interval '1 day')::date, 'pre', 1
            FROM generate_series(0, 899) g" >/dev/null || it_fail "cannot fill the scratch database"
sums="SELECT (SELECT count(*) || ' ' || sum(loans) || ' ' || count(DISTINCT item_type) FROM core.loans) || ' / '
          || (SELECT count(*) || ' ' || sum(visits) FROM core.visits)"
want=$(pre_psql "$sums")
views="SELECT string_agg(c.relname || E'\n' || pg_get_viewdef(c.oid) || E'\n' || coalesce(obj_description(c.oid, 'pg_class'), '-')
               || E'\n' || coalesce(c.relacl::text, '-'), E'\n' ORDER BY c.relname)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'core' AND c.relkind = 'v'"
# Made again from pg_get_viewdef, an unnamed column of a later UNION arm
# gets the name PostgreSQL figures for it ("NULL::text AS text"); that name
# is never used (the first arm names the columns), so it is left out here,
# and the columns themselves are compared below.
viewdefs() { pre_psql "$views" | sed -E 's/::([a-z ]+)(\[\])? AS [a-z0-9_]+(,?)$/::\1\2\3/'; }
viewcols="SELECT string_agg(c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '
                 || coalesce(col_description(c.oid, a.attnum), '-'), E'\n' ORDER BY c.relname, a.attnum)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
           WHERE n.nspname = 'core' AND c.relkind = 'v' AND a.attnum > 0"
# What each view says: its rows, in order, as one digest per view.
viewrows="SELECT string_agg(c.relname || ' ' || md5(query_to_xml(format('SELECT * FROM core.%I t ORDER BY t::text', c.relname),
                                                             true, false, '')::text), E'\n' ORDER BY c.relname)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'core' AND c.relkind = 'v'"
viewdefs >"$IT_DIR/views-before.txt"
pre_psql "$viewcols" >"$IT_DIR/viewcols-before.txt"
pre_psql "$viewrows" >"$IT_DIR/viewrows-before.txt" || it_fail "cannot read the views before the migration"
sed "s/dbname=$SS_PGDATABASE /dbname=$pre /" "$IT_DIR/daemon.json" >"$IT_DIR/pre.json"
"$SS_BIN_DIR/shelfsync" migrate --config "$IT_DIR/pre.json" >"$IT_DIR/pre-migrate.log" 2>&1 ||
    { cat "$IT_DIR/pre-migrate.log"; it_fail "migration 017 fails on a warehouse with rows"; }
it_assert_eq "$want" "$(pre_psql "$sums")" "the rows moved: count and sums as before"
it_assert_eq "p p" "$(pre_psql "SELECT string_agg(relkind::text, ' ' ORDER BY relname) FROM pg_class
    WHERE oid IN ('core.loans'::regclass, 'core.visits'::regclass)")" "both partitioned after the migration"
it_assert_eq "0" "$(pre_psql "SELECT count(*) FROM core.loans
    WHERE tableoid IS DISTINCT FROM coalesce(to_regclass('core.loans_fy' || replace(core.financial_year_of(period_start), '-', '_')),
                                              'core.loans_default'::regclass)")" \
    "every moved row in its financial year's partition"
it_assert_eq "$(pre_psql "SELECT count(*) FROM core.loans WHERE period_start < '2010-04-01'")" \
    "$(pre_psql "SELECT count(*) FROM core.loans_default")" "rows before 2010-11 in DEFAULT"
viewdefs >"$IT_DIR/views-after.txt"
diff -u "$IT_DIR/views-before.txt" "$IT_DIR/views-after.txt" ||
    it_fail "the views were not made again as they were (definitions, comments, grants)"
pre_psql "$viewcols" >"$IT_DIR/viewcols-after.txt"
diff -u "$IT_DIR/viewcols-before.txt" "$IT_DIR/viewcols-after.txt" ||
    it_fail "the views' columns changed (names, types, comments)"
pre_psql "$viewrows" >"$IT_DIR/viewrows-after.txt" || it_fail "cannot read the views after the migration"
diff -u "$IT_DIR/viewrows-before.txt" "$IT_DIR/viewrows-after.txt" ||
    it_fail "a view says something else after the migration (its rows differ)"
it_assert_eq "$(pre_psql "SELECT sum(loans) FROM core.loans_default")" \
    "$(pre_psql "SELECT sum(loans) FROM core.v_monthly_service_point WHERE month < '2010-04-01'")" \
    "the DEFAULT partition's loans (before 2010-11) are in core.v_monthly_service_point"
it_assert_eq "" "$(pre_psql "SELECT string_agg(to_regclass(n.nspname || '.' || c.relname)::text, ', ') FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname LIKE '%unpartitioned%'")" "nothing of the old tables left"
it_psql "DROP DATABASE $pre" >/dev/null
it_psql "DROP TABLE core.loans_fy2047_48" >/dev/null # the warehouse as migrated
it_log "ok"
