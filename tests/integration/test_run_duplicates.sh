#!/usr/bin/env bash
# The same export gives the same warehouse, whatever its batch boundaries and
# however often it is loaded: a natural key repeated anywhere in one export
# (in the same batch or a later one) keeps its first record; the repeat is
# quarantined, an exact repeat as such, a conflicting one as such. Before run
# records a re-run of an unchanged file flipped the value (100, 200, 100, 200)
# and exact repeats were quarantined on the first run only. Two bad records
# with the same text on different lines are both kept, each with its line.
source "$(dirname "$0")/lib.sh"
it_setup
it_reset_db
mkdir -p "$IT_DIR/www"

# 20 rows; the key of line 3 comes back at line 13 with another value, and
# line 4 comes back exactly at line 15 (with 5 records a batch: batches 1 and
# 3); line 6 comes back at line 8 with another value (the same batch). Lines
# 18 and 21 are the same bad record, text for text.
ss_python - "$IT_DIR/www/dups.csv" <<'PY'
import sys
rows = ["Local authority,Library name,Month,Type,Loans"]
for i in range(20):
    rows.append(f"Exampleshire,Library {i},2024-04,Adult fiction,{10 + i}")
rows[2] = "Exampleshire,Keyed Library,2024-04,Adult fiction,100"      # line 3
rows[12] = "Exampleshire,Keyed Library,2024-04,Adult fiction,200"     # line 13
rows[3] = "Exampleshire,Twice Library,2024-04,Adult fiction,7"        # line 4
rows[14] = "Exampleshire,Twice Library,2024-04,Adult fiction,7"       # line 15
rows[5] = "Exampleshire,Near Library,2024-04,DVD,1"                   # line 6
rows[7] = "Exampleshire,Near Library,2024-04,DVD,2"                   # line 8
rows[17] = "Exampleshire,Bad Library,2024-04,DVD,lots"                # line 18
rows.append("Exampleshire,Bad Library,2024-04,DVD,lots")              # line 22
open(sys.argv[1], "w").write("\n".join(rows) + "\n")
PY
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start

url="http://127.0.0.1:$IT_HTTP_PORT/dups.csv"
config() { it_collector_config "$IT_DIR/c.json" dups "$url" "\"http\": {\"conditional\": false}, \"batch\": {\"records\": $1}"; }

# check RUN: the warehouse after a load, the same every time.
check() {
    it_assert_eq "100" "$(it_psql "SELECT loans FROM core.loans WHERE service_point = 'Keyed Library'")" \
        "$1: the first record of a key repeated in a later batch wins"
    it_assert_eq "1" "$(it_psql "SELECT loans FROM core.loans WHERE service_point = 'Near Library'")" \
        "$1: the first record of a key repeated in the same batch wins"
    it_assert_eq "16" "$(it_psql "SELECT count(*) FROM core.loans")" "$1: rows loaded"
    expected="8|line 8 has the same authority_code, service_point, item_type, period_start, period_end as line 6 but different values: kept line 6, which is right is for the source to say
13|line 13 has the same authority_code, service_point, item_type, period_start, period_end as line 3 but different values: kept line 3, which is right is for the source to say
15|line 15 repeats line 4 exactly (same authority_code, service_point, item_type, period_start, period_end): not loaded twice
18|\"loans\" is \"lots\": not a whole number
22|\"loans\" is \"lots\": not a whole number"
    it_assert_eq "$expected" "$(it_psql "SELECT line || '|' || reason FROM ingest.quarantine ORDER BY line")" \
        "$1: the repeats and both identical bad lines quarantined, each with its line"
    it_assert_eq "0" "$(it_psql "SELECT count(*) FROM ingest.run_keys JOIN ingest.runs USING (run_ref) WHERE source = 'dups'")" \
        "$1: no run's keys are held once it ended"
    it_assert_eq "0" "$(it_psql "SELECT count(*) FROM ingest.run_key_sets JOIN ingest.runs USING (run_ref) WHERE source = 'dups'")" \
        "$1: no run's key sets (batches COPYed straight in) are held once it ended"
}

config 5
it_collect "$IT_DIR/c.json" || it_fail "first run exited with $?"
check "first run, 5 records a batch"
it_assert_eq "5|16|5" "$(it_psql "SELECT count(*), sum(accepted), sum(quarantined) FROM ingest.batches")" \
    "the ledger agrees with the facts and the quarantine"

it_collect "$IT_DIR/c.json" || it_fail "second run exited with $?"
check "the same export again"
it_assert_eq "2" "$(it_psql "SELECT min(seen_count) FROM ingest.quarantine")" "every quarantined record seen twice"

config 3
it_collect "$IT_DIR/c.json" || it_fail "third run exited with $?"
check "other batch boundaries (3 records a batch)"

config 100
it_collect "$IT_DIR/c.json" || it_fail "fourth run exited with $?"
check "one batch"
it_assert_eq "4" "$(it_psql "SELECT min(seen_count) FROM ingest.quarantine")" "seen four times"
it_assert_eq "complete|complete|complete|complete" \
    "$(it_psql "SELECT string_agg(outcome, '|' ORDER BY run_ref) FROM ingest.runs WHERE source = 'dups'")" \
    "four runs recorded, each complete"
it_daemon_stop
