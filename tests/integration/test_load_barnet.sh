#!/usr/bin/env bash
# The Barnet loans sample (older "Count start,Count end" header, quarterly
# periods) loads exactly; loading the same export again changes nothing.
source "$(dirname "$0")/lib.sh"
it_setup
barnet="${SS_FIXTURES:-$SS_SOURCE_DIR/../shared/fixtures}/librarydata-schemas/data/loans_barnet.csv"
it_need_fixture "$barnet"
it_reset_db
it_http_start "$(dirname "$barnet")"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start
it_collector_config "$IT_DIR/barnet.json" barnet-loans \
    "http://127.0.0.1:$IT_HTTP_PORT/loans_barnet.csv" '"batch": {"records": 100}'
it_collect "$IT_DIR/barnet.json" || it_fail "collector exited with $?"

# What the file holds, computed independently of shelfsync.
read -r rows total < <(ss_python - "$barnet" <<'PY'
import csv, sys
with open(sys.argv[1], encoding="utf-8-sig", newline="") as f:
    r = list(csv.DictReader(f))
print(len(r), sum(int(x["Loans"]) for x in r))
PY
)
it_assert_eq "$rows" "$(it_psql 'SELECT count(*) FROM core.loans')" "rows loaded"
it_assert_eq "$total" "$(it_psql 'SELECT sum(loans) FROM core.loans')" "total loans"
it_assert_eq "0" "$(it_psql 'SELECT count(*) FROM ingest.quarantine')" "nothing quarantined"
it_assert_eq "8" "$(it_psql 'SELECT count(*) FROM ingest.batches')" "batches of 100 records"
it_assert_eq "662" "$(it_psql "SELECT loans FROM core.loans WHERE service_point = 'Barnet Book Club'
    AND item_type = 'Barnet Book Club' AND period_start = '2019-04-01' AND period_end = '2019-06-30'")" \
    "Barnet Book Club, first quarter"
it_assert_eq "E09000003|Barnet Book Club|Adult audiobook|9|2019-04-01|2019-06-30" \
    "$(it_psql "SELECT authority_code, service_point, item_type, loans, period_start, period_end FROM core.loans
     ORDER BY service_point, period_start, item_type LIMIT 1")" "first row, every column"
it_assert_eq "barnet-loans" "$(it_psql 'SELECT DISTINCT source FROM core.loans')" "provenance"

# The same export again: not fetched twice (conditional GET), nothing sent.
it_collect "$IT_DIR/barnet.json" || it_fail "second run exited with $?"
grep -q "unchanged since the last run" "$IT_DIR/collect-barnet-loans.log" || it_fail "an unchanged export was fetched again"
it_assert_eq "8" "$(it_psql 'SELECT count(*) FROM ingest.batches')" "no new batches for an unchanged export"

# Forced to load it again: new batches, no row changed.
it_collector_config "$IT_DIR/barnet.json" barnet-loans \
    "http://127.0.0.1:$IT_HTTP_PORT/loans_barnet.csv" '"batch": {"records": 100}, "http": {"conditional": false}'
before=$(it_psql "SELECT md5(string_agg(t::text, ',' ORDER BY authority_code, service_point, item_type, period_start)) FROM core.loans t")
it_collect "$IT_DIR/barnet.json" || it_fail "third run exited with $?"
after=$(it_psql "SELECT md5(string_agg(t::text, ',' ORDER BY authority_code, service_point, item_type, period_start)) FROM core.loans t")
it_assert_eq "$before" "$after" "second load changed no row (values, batch ids, loaded_at)"
it_assert_eq "16" "$(it_psql 'SELECT count(*) FROM ingest.batches')" "second run's batches in the ledger"
it_daemon_stop
