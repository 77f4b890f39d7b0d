#!/usr/bin/env bash
# A batch that cannot meet a row already there is COPYed straight into its
# table (no staging, no upsert); one that may is staged and upserted as
# before. The forecast is ingest.batch_coverage of other runs; the table's
# natural-key unique index is the guarantee: a key there after all ends the
# direct COPY with a unique violation and the part is staged. Whichever path
# a batch takes, the warehouse ends the same: every row once, the first
# record of a repeated key kept and the repeat quarantined with its line,
# a changed value applied, an unchanged row left alone.
source "$(dirname "$0")/lib.sh"
it_setup
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine core.source_values ingest.runs ingest.batch_coverage ingest.run_keys ingest.run_key_sets ingest.dataset_source" it_reset_db
mkdir -p "$IT_DIR/www"

# gen FILE MONTHS [CHANGE]: Exampleshire, 6 libraries x MONTHS (2023-01 on)
# x 2 types, 10 + row number loans each; CHANGE (a row number) one higher.
gen() {
    ss_python - "$@" <<'PY'
import sys
path, months = sys.argv[1], int(sys.argv[2])
change = int(sys.argv[3]) if len(sys.argv) > 3 else -1
rows = ["Local authority,Library name,Month,Type,Loans"]
n = 0
for lib in range(6):
    for m in range(months):
        for t in ("Adult fiction", "DVD"):
            rows.append(f"Exampleshire,Library {lib},{2023 + m // 12}-{m % 12 + 1:02d},{t},{10 + n + (n == change)}")
            n += 1
open(path, "w").write("\n".join(rows) + "\n")
PY
}
gen "$IT_DIR/www/loans.csv" 4 # 48 rows: 5 batches of 10 (the last of 8)

it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start
url="http://127.0.0.1:$IT_HTTP_PORT/loans.csv"
it_collector_config "$IT_DIR/c.json" direct "$url" '"http": {"conditional": false}, "batch": {"records": 10}'

# direct_of RUN_NO: the records COPYed straight in by the batches the
# daemon logged since the RUN_NO'th it_collect (each starts with a marker).
mark() { echo "=== mark $1 ===" >>"$IT_DIR/daemon.log"; }
direct_since() {
    awk -v m="=== mark $1 ===" '$0 == m {on = 1; next} on && /event=batch_applied/ {
        for (i = 1; i <= NF; i++) if ($i ~ /^direct=/) { split($i, kv, "="); s += kv[2] } } END { print s + 0 }' "$IT_DIR/daemon.log"
}
sums() { it_psql "SELECT count(*) || '|' || sum(loans) FROM core.loans WHERE authority_code = 'E99999901'"; }

# 1. The first load: every batch straight in, and nothing of the run's keys
# left once it ended.
mark 1
it_collect "$IT_DIR/c.json" || it_fail "first load exited with $?"
it_assert_eq "48|1608" "$(sums)" "first load: every row, once"
it_assert_eq "48" "$(direct_since 1)" "first load: every record COPYed straight into core.loans"
it_assert_eq "0|0" "$(it_psql "SELECT (SELECT count(*) FROM ingest.run_keys) || '|' || (SELECT count(*) FROM ingest.run_key_sets)")" \
    "first load: the run's keys let go once it ended"

# 2. The same export again: every batch meets its rows (another run covered
# their months), so all are staged; nothing changes.
before=$(it_psql "SELECT string_agg(batch_id::text, ',' ORDER BY service_point, item_type, period_start) FROM core.loans")
mark 2
it_collect "$IT_DIR/c.json" || it_fail "reload exited with $?"
it_assert_eq "0" "$(direct_since 2)" "reload: no batch COPYed straight in"
it_assert_eq "48|1608" "$(sums)" "reload: the same rows"
it_assert_eq "$before" "$(it_psql "SELECT string_agg(batch_id::text, ',' ORDER BY service_point, item_type, period_start) FROM core.loans")" \
    "reload: unchanged rows left alone (no row rewritten)"

# 3. Two months more (72 rows, the new months interleaved per library): a
# batch is staged where another run covered one of its months; the values
# are the export's either way.
gen "$IT_DIR/www/loans.csv" 6
mark 3
it_collect "$IT_DIR/c.json" || it_fail "load with two new months exited with $?"
it_assert_eq "72|3276" "$(sums)" "two new months: every row, once"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM ingest.quarantine")" "two new months: nothing quarantined"

# 4. The forecast wrong: rows there that no coverage tells of (as rows
# loaded before the daemon kept it). The direct COPY meets them, the part is
# rolled back to its savepoint and staged; one changed value is applied.
it_psql "DELETE FROM ingest.batch_coverage" >/dev/null
gen "$IT_DIR/www/loans.csv" 6 30
mark 4
it_collect "$IT_DIR/c.json" || it_fail "load over rows without coverage exited with $?"
it_assert_eq "72|3277" "$(sums)" "forecast wrong: every row once, the changed value applied"
it_assert_eq "0" "$(direct_since 4)" "forecast wrong: nothing counted as COPYed straight in"
grep -q "staged instead of COPYed straight in" "$IT_DIR/daemon.log" ||
    it_fail "forecast wrong: the daemon does not say the batch was staged instead"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM ingest.quarantine")" "forecast wrong: nothing quarantined"

# 5. A key repeated in a later batch of a first load (a new authority, a
# second source of the dataset, no key contested so far): the
# first batch goes straight in, the later one meets its own run's row, is
# staged, and its duplicate check (the run's key sets moved to
# ingest.run_keys) quarantines the repeat with the line that gave the key.
ss_python - "$IT_DIR/www/barnet.csv" <<'PY'
import sys
rows = ["Local authority,Library name,Month,Type,Loans"]
for i in range(20):
    rows.append(f"Barnet,Library {i},2024-04,Adult fiction,{100 + i}")
rows[14] = "Barnet,Library 2,2024-04,Adult fiction,999"  # line 15 repeats line 4's key
open(sys.argv[1], "w").write("\n".join(rows) + "\n")
PY
it_collector_config "$IT_DIR/b.json" barnet "http://127.0.0.1:$IT_HTTP_PORT/barnet.csv" \
    '"dataset": "loans", "http": {"conditional": false}, "batch": {"records": 10}'
mark 5
it_collect "$IT_DIR/b.json" || it_fail "load with a repeated key exited with $?"
it_assert_eq "19|102" "$(it_psql "SELECT count(*) || '|' || (SELECT loans FROM core.loans WHERE authority_code = 'E09000003' AND service_point = 'Library 2') FROM core.loans WHERE authority_code = 'E09000003'")" \
    "repeated key: the first record kept"
it_assert_eq "15|line 15 has the same authority_code, service_point, item_type, period_start, period_end as line 4 but different values: kept line 4, which is right is for the source to say" \
    "$(it_psql "SELECT line || '|' || reason FROM ingest.quarantine WHERE source = 'barnet'")" \
    "repeated key: the repeat quarantined with its line and the first's"
it_assert_eq "10" "$(direct_since 5)" "repeated key: the first batch COPYed straight in, the second staged"
it_assert_eq "0|0" "$(it_psql "SELECT (SELECT count(*) FROM ingest.run_keys) || '|' || (SELECT count(*) FROM ingest.run_key_sets)")" \
    "repeated key: the run's keys let go once it ended"

# 6. An export in no order (keys shuffled, 40 batches of 5): a batch's key
# range meets more than 16 of its run's key sets, so they go into
# ingest.run_keys and are probed there; a key of line 3 repeated at line
# 198, and one of line 10 exactly at line 150, are quarantined as before.
ss_python - "$IT_DIR/www/shuffled.csv" <<'PY'
import random, sys
random.seed(13)
rows = [f"Evilshire,Library {i:03d},2024-0{1 + i % 9},DVD,{i}" for i in range(200)]
random.shuffle(rows)
rows[196] = rows[1].rsplit(",", 1)[0] + ",9999"  # line 198: line 3's key, another value
rows[148] = rows[8]                              # line 150: line 10 exactly
open(sys.argv[1], "w").write("Local authority,Library name,Month,Type,Loans\n" + "\n".join(rows) + "\n")
PY
it_psql "INSERT INTO ref.authority_alias (alias_key, code, alias, origin) VALUES ('evilshire', 'E99999902', 'Evilshire', 'test') ON CONFLICT DO NOTHING" >/dev/null
it_collector_config "$IT_DIR/s.json" shuffled "http://127.0.0.1:$IT_HTTP_PORT/shuffled.csv" \
    '"http": {"conditional": false}, "batch": {"records": 5}'
mark 6
it_collect "$IT_DIR/s.json" || it_fail "shuffled export exited with $?"
it_assert_eq "198" "$(it_psql "SELECT count(*) FROM core.loans WHERE authority_code = 'E99999902'")" \
    "shuffled: every key once"
it_assert_eq "150|exactly
198|different values" "$(it_psql "SELECT line || '|' || CASE WHEN reason LIKE '%exactly%' THEN 'exactly' ELSE 'different values' END FROM ingest.quarantine WHERE source = 'shuffled' ORDER BY line")" \
    "shuffled: both repeats quarantined"
it_assert_eq "line 198 has the same authority_code, service_point, item_type, period_start, period_end as line 3 but different values: kept line 3, which is right is for the source to say" \
    "$(it_psql "SELECT reason FROM ingest.quarantine WHERE source = 'shuffled' AND line = 198")" \
    "shuffled: the repeat's reason names the line that gave the key"
grep -q "shuffled" <(it_psql "SELECT source FROM ingest.runs WHERE source = 'shuffled' AND NOT keys_held AND NOT keys_indexed") ||
    it_fail "shuffled: the run's keys are let go once it ended"
it_assert_eq "0|0" "$(it_psql "SELECT (SELECT count(*) FROM ingest.run_keys) || '|' || (SELECT count(*) FROM ingest.run_key_sets)")" \
    "shuffled: nothing of the run's keys left"
grep -q "key sets of its run (an export in no order)" "$IT_DIR/daemon.log" ||
    it_fail "shuffled: the daemon never moved the run's key sets into ingest.run_keys"
it_daemon_stop
