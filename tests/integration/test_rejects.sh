#!/usr/bin/env bash
# Rejects go back to whoever runs the collector: the daemon's ack carries the
# reasons, the collector prints them and writes STATE_DIR/rejects/RUN.csv
# (line, field, reason, raw), and "reject_limit" (a count or a share) turns a
# run that quarantined too much into exit status 9 with its cursor kept.
source "$(dirname "$0")/lib.sh"
it_setup
it_reset_db
www=$IT_DIR/www
mkdir -p "$www"
cp "$SS_SOURCE_DIR/tests/fixtures/loans_mixed.csv" "$www/"
# The issue's case: a typo in an authority constant, every record quarantined.
{
    echo "Library name,Month,Type,Loans"
    for i in 1 2 3 4 5 6 7 8 9 10; do echo "Riverside Library,2024-0$(((i % 9) + 1)),Type $i,$i"; done
} >"$www/no_authority.csv"
it_http_start "$www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start

state=$IT_DIR/state-mixed
log=$IT_DIR/collect-mixed.log
it_collector_config "$IT_DIR/mixed.json" mixed "http://127.0.0.1:$IT_HTTP_PORT/loans_mixed.csv" '"http": {"conditional": false}'
it_collect "$IT_DIR/mixed.json" || it_fail "without a reject_limit the run exits 0, got $?"
grep -q '5 records quarantined by the daemon' "$log" || it_fail "the collector says how many were quarantined"
grep -qF '1 x "loans": not a whole number' "$log" || it_fail "each reason with its count, without the value"
grep -qF '1 x line N: N fields where the header has N' "$log" || it_fail "a reason not about one field, its numbers as N"
grep -qF 'line 4: "loans" is "twelve": not a whole number' "$log" || it_fail "the first lines in full"
run=$(grep -o 'event=run_summary run=[^ ]*' "$log" | tail -1 | cut -d= -f3)
file=$state/rejects/$run.csv
[[ -f $file ]] || it_fail "no reject file $file: $(ls -la "$state" "$state/rejects" 2>&1)"
got=$(ss_python - "$file" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='')))
print(rows[0])
for r in rows[1:]:
    print('|'.join(r))
PY
)
expected="['line', 'field', 'reason', 'raw']
4|loans|\"loans\" is \"twelve\": not a whole number|Exampleshire,Riverside Library,2024-04,Adult fiction,twelve
5|month|\"month\" is \"2024-13\": no such month|Exampleshire,Riverside Library,2024-13,Adult non fiction,40
6|loans|\"loans\" is \"-3\": negative|Exampleshire,Riverside Library,2024-05,Adult fiction,-3
7||line 7: 6 fields where the header has 5|Exampleshire,Riverside Library,2024-05,Adult non fiction,44
10|authority|\"authority\": required value missing|,Riverside Library,2024-06,Adult fiction,9"
it_assert_eq "$expected" "$got" "the reject file: every quarantined record with line, field, reason and raw text"
[[ $(stat -c %a "$file") == 600 ]] || it_fail "the reject file is the collector's own (mode $(stat -c %a "$file"))"

# A count: 5 quarantined is over 4.
it_collector_config "$IT_DIR/mixed.json" mixed "http://127.0.0.1:$IT_HTTP_PORT/loans_mixed.csv" '"http": {"conditional": false}, "reject_limit": 4'
rc=0
it_collect "$IT_DIR/mixed.json" || rc=$?
it_assert_eq 9 "$rc" "over a count reject_limit: exit 9"
grep -qF '5 of 9 records quarantined (55.6%), over "reject_limit" 4' "$log" || it_fail "the collector says why it failed"
last_run=$(grep -o 'event=run_summary run=[^ ]*' "$log" | tail -1 | cut -d= -f3)
it_assert_eq "9|complete" "$(it_psql "SELECT exit_status, outcome FROM ingest.runs WHERE run_id = '$last_run'")" "the run record: exit status 9, everything fetched"
it_assert_eq "4" "$(it_psql 'SELECT count(*) FROM core.loans')" "the good records still loaded, once"

# Shares: 5 of 9 is 55.6 %.
it_collector_config "$IT_DIR/mixed.json" mixed "http://127.0.0.1:$IT_HTTP_PORT/loans_mixed.csv" '"http": {"conditional": false}, "reject_limit": "60%"'
it_collect "$IT_DIR/mixed.json" || it_fail "under a 60% reject_limit the run exits 0, got $?"
it_collector_config "$IT_DIR/mixed.json" mixed "http://127.0.0.1:$IT_HTTP_PORT/loans_mixed.csv" '"http": {"conditional": false}, "reject_limit": "50%"'
rc=0
it_collect "$IT_DIR/mixed.json" || rc=$?
it_assert_eq 9 "$rc" "over a 50% reject_limit: exit 9"
# 5 (same records, runs 1-4) stay 5 rows in the quarantine
it_assert_eq "5" "$(it_psql "SELECT count(*) FROM ingest.quarantine WHERE source = 'mixed'")" "a bad record sent again is counted, not copied"

# The typo in an authority constant: 10 of 10 quarantined; "0" allows none.
it_collector_config "$IT_DIR/typo.json" typo "http://127.0.0.1:$IT_HTTP_PORT/no_authority.csv" \
    '"http": {"conditional": false}, "constants": {"authority": "Exampleshrie"}, "reject_limit": 0'
"$SS_BIN_DIR/shelfsync-collect" --check-config --config "$IT_DIR/typo.json" || it_fail "the config itself is fine"
rc=0
it_collect "$IT_DIR/typo.json" || rc=$?
it_assert_eq 9 "$rc" "every record quarantined, reject_limit 0: exit 9"
grep -qF '10 x "authority": ' "$IT_DIR/collect-typo.log" || it_fail "the one reason, counted 10 times: $(grep ' x ' "$IT_DIR/collect-typo.log")"
grep -qF 'Exampleshrie' "$IT_DIR/collect-typo.log" || it_fail "the first lines name the value"
typo_file=$(ls "$IT_DIR/state-typo/rejects/"*.csv)
it_assert_eq 11 "$(wc -l <"$typo_file")" "the reject file: a header and 10 lines"

# A bad reject_limit is a config error with its place.
printf '{"source": "x", "dataset": "loans", "url": "http://127.0.0.1/", "state_dir": "%s",\n "daemon": {"endpoints": ["tcp://127.0.0.1:1"]},\n "reject_limit": "lots"}\n' "$IT_DIR/x" >"$IT_DIR/bad.json"
rc=0
out=$("$SS_BIN_DIR/shelfsync-collect" --check-config --config "$IT_DIR/bad.json" 2>&1) || rc=$?
it_assert_eq 1 "$rc" "a bad reject_limit: exit 1"
[[ $out == *"bad.json:3:"*'"reject_limit": expected a count'* ]] || it_fail "file:line:column and what is expected: $out"
it_daemon_stop
