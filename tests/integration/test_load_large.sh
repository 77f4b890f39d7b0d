#!/usr/bin/env bash
# A 100,000-row export streams through and loads exactly.
source "$(dirname "$0")/lib.sh"
it_setup
it_reset_db
mkdir -p "$IT_DIR/www"
read -r rows total < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/loans.csv" 100000)
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start
it_collector_config "$IT_DIR/big.json" big "http://127.0.0.1:$IT_HTTP_PORT/loans.csv"
it_collect "$IT_DIR/big.json" || it_fail "collector exited with $?"
it_assert_eq "$rows" "$(it_psql 'SELECT count(*) FROM core.loans')" "rows loaded"
it_assert_eq "$total" "$(it_psql 'SELECT sum(loans) FROM core.loans')" "total loans"
it_assert_eq "$rows|0" "$(it_psql 'SELECT sum(accepted), sum(quarantined) FROM ingest.batches')" "ledger totals"
it_assert_eq "20" "$(it_psql 'SELECT count(*) FROM ingest.batches')" "batches of 5,000"
# Row 0 and row 99,999, computed by hand from gen_loans.py.
it_assert_eq "Library 0, Branch 0|2015-01-01|2015-01-31|Adult fiction|0" \
    "$(it_psql "SELECT service_point, period_start, period_end, item_type, loans FROM core.loans WHERE authority_code = 'E99000000' AND service_point LIKE 'Library 0,%' AND period_start = '2015-01-01' AND item_type = 'Adult fiction'")" "first row"
it_assert_eq "$(( (99999 * 7919) % 5000 ))" \
    "$(it_psql "SELECT loans FROM core.loans WHERE authority_code = 'E99000002' AND service_point = 'Library 3' AND period_start = '2018-04-01' AND item_type = 'E-book'")" "last row"
it_daemon_stop
