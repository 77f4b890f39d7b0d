#!/usr/bin/env bash
# Records with bad values are quarantined with their reason and line; the
# rest of their batch lands. Sent again, a bad record is counted, not copied.
source "$(dirname "$0")/lib.sh"
it_setup
it_reset_db
it_http_start "$SS_SOURCE_DIR/tests/fixtures"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start
it_collector_config "$IT_DIR/mixed.json" mixed "http://127.0.0.1:$IT_HTTP_PORT/loans_mixed.csv" '"http": {"conditional": false}'
it_collect "$IT_DIR/mixed.json" || it_fail "collector exited with $?"

it_assert_eq "4" "$(it_psql 'SELECT count(*) FROM core.loans')" "good records loaded"
it_assert_eq "120|85|7|131" "$(it_psql "SELECT string_agg(loans::text, '|' ORDER BY period_start, service_point) FROM core.loans")" "their values"
it_assert_eq "Hill Top Library, Upper Floor" "$(it_psql "SELECT service_point FROM core.loans WHERE loans = 120")" "quoted comma kept"
it_assert_eq "Children's \"picture\" books" "$(it_psql "SELECT item_type FROM core.loans WHERE loans = 85")" "doubled quotes"
it_assert_eq "Local
history" "$(it_psql "SELECT item_type FROM core.loans WHERE loans = 7")" "quoted newline kept"
expected='4|"loans" is "twelve": not a whole number
5|"month" is "2024-13": no such month
6|"loans" is "-3": negative
7|line 7: 6 fields where the header has 5
10|"authority": required value missing'
it_assert_eq "$expected" "$(it_psql "SELECT line || '|' || reason FROM ingest.quarantine ORDER BY line")" "quarantined with line and reason"
it_assert_eq "Exampleshire,Riverside Library,2024-04,Adult fiction,twelve" \
    "$(it_psql "SELECT raw FROM ingest.quarantine WHERE line = 4")" "raw text kept"
it_assert_eq "Exampleshire,Riverside Library,2024-05,Adult non fiction,44" \
    "$(it_psql "SELECT raw FROM ingest.quarantine WHERE line = 7")" "raw text of a record the collector could not map: its mapped values only, not the extra column"
it_assert_eq "1|4|5" "$(it_psql "SELECT count(*), sum(accepted), sum(quarantined) FROM ingest.batches")" "one batch: 4 accepted, 5 quarantined"

it_collect "$IT_DIR/mixed.json" || it_fail "second run exited with $?"
it_assert_eq "5|2" "$(it_psql "SELECT count(*), min(seen_count) FROM ingest.quarantine")" "same bad records counted again, not duplicated"
it_assert_eq "4" "$(it_psql 'SELECT count(*) FROM core.loans')" "facts unchanged"
it_daemon_stop
