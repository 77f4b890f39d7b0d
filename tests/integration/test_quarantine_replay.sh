#!/usr/bin/env bash
# An export names its authority by a variant the warehouse does not know:
# those rows are quarantined. `shelfsync quarantine list/show` say so, `ref
# alias add` adds the name (refusing unknown codes and ambiguous names), and
# `quarantine replay` loads exactly the rows the alias fixes, once: a second
# replay loads nothing, rows that still fail stay quarantined (with their
# new reason, not twice), and what the collector could not read is left
# alone.
source "$(dirname "$0")/lib.sh"
it_setup
it_reset_db
mkdir -p "$IT_DIR/www"
cat >"$IT_DIR/www/loans_typo.csv" <<'EOF'
Local authority,Library name,Month,Type,Loans
Exampleshire,Riverside Library,2024-04,Adult fiction,10
Exampleshyre,Riverside Library,2024-04,Children's fiction,20
Exampleshyre,Hill Top Library,2024-04,Adult fiction,30
Exampleshyre,Hill Top Library,2024-05,Adult fiction,-3
Exampleshire,Riverside Library,2024-05,Adult fiction,twelve
Exampleshire,Riverside Library,2024-05,Adult non fiction,44,extra
Nowhereshire,Riverside Library,2024-06,Adult fiction,5
EOF
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start
it_collector_config "$IT_DIR/typo.json" typo "http://127.0.0.1:$IT_HTTP_PORT/loans_typo.csv" '"http": {"conditional": false}'
it_collect "$IT_DIR/typo.json" || it_fail "collector exited with $?"

admin() { "$SS_BIN_DIR/shelfsync" "$@" --config "$IT_DIR/daemon.json"; }
q() { it_psql "$1"; }

it_assert_eq "1" "$(q 'SELECT count(*) FROM core.loans')" "the one good row loaded"
it_assert_eq "6" "$(q 'SELECT count(*) FROM ingest.quarantine')" "six rows quarantined"
it_assert_eq "5" "$(q 'SELECT count(*) FROM ingest.quarantine WHERE fields IS NOT NULL')" \
    "the values by field kept for all but the row the collector could not read"
it_assert_eq '{Exampleshyre,"Hill Top Library",2024-04,NULL,NULL,NULL,"Adult fiction",30}' \
    "$(q 'SELECT fields FROM ingest.quarantine WHERE line = 4')" "fields in the dataset's order, absent ones NULL"

# --- list and show ---
out=$(admin quarantine list) || it_fail "quarantine list exited with $?"
echo "$out"
grep -qE '^typo +loans +3 +3 +0 .*"authority" is "Exampleshyre"' <<<"$out" ||
    it_fail "quarantine list does not count the three Exampleshyre rows as outstanding"
grep -q '6 records, 6 outstanding (5 of them can be replayed' <<<"$out" || it_fail "quarantine list totals"
it_assert_eq "3" "$(admin quarantine list --json --reason exampleshyre | ss_python -c 'import json,sys; print(sum(g["outstanding"] for g in json.load(sys.stdin)))')" \
    "list --json --reason, any case"
out=$(admin quarantine show --reason exampleshyre) || it_fail "quarantine show exited with $?"
echo "$out"
it_assert_eq "3" "$(grep -c '^#[0-9]* typo/loans line [0-9]*: outstanding$' <<<"$out")" "show: three records"
grep -qF 'raw:    Exampleshyre,Hill Top Library,2024-04,Adult fiction,30' <<<"$out" || it_fail "show: raw text"
id=$(q "SELECT quarantine_id FROM ingest.quarantine WHERE line = 7")
out=$(admin quarantine show "$id")
grep -q "line 7: outstanding; cannot be replayed: the collector could not read it" <<<"$out" ||
    it_fail "show ID: the collector's reject is not replayable: $out"

# --- ref alias add: refusals first ---
gen0=$(q "SELECT value FROM ref.meta WHERE key = 'authorities_generation'")
rc=0; err=$(admin ref alias add Exampleshyre E99999999 2>&1) || rc=$?
it_assert_eq "1" "$rc" "an unknown code is refused"
grep -q "E99999999 is not in ref.authority" <<<"$err" || it_fail "unknown code: $err"
rc=0; err=$(admin ref alias add "Evilshire Council" E99999901 2>&1) || rc=$?
it_assert_eq "1" "$rc" "a name another authority holds at the same time is refused"
grep -q 'ambiguous authority name: "Evilshire Council" would stand for E99999901, but "Evilshire" already stands for E99999902' <<<"$err" ||
    it_fail "ambiguous: both named: $err"
rc=0; err=$(admin ref alias add Exampleshyre not-a-code 2>&1) || rc=$?
it_assert_eq "1" "$rc" "not a GSS code"
it_assert_eq "$gen0" "$(q "SELECT value FROM ref.meta WHERE key = 'authorities_generation'")" "refusals change nothing"
it_assert_eq "0" "$(q "SELECT count(*) FROM ref.authority_alias WHERE alias_key IN ('exampleshyre', 'evilshire council')")" "no alias written"

# --- replay before the fix: nothing loads, nothing is counted twice ---
out=$(admin quarantine replay --source typo) || it_fail "replay exited with $?"
echo "$out"
grep -q "^replayed 5: 0 loaded, 5 still quarantined:" <<<"$out" || it_fail "replay before the fix"
grep -q "^not replayed: 1 outstanding: the collector could not read it" <<<"$out" || it_fail "collector reject named"
it_assert_eq "6|6" "$(q "SELECT count(*), sum(seen_count) FROM ingest.quarantine")" "no new row, no receipt counted"

# --- the alias ---
out=$(admin ref alias add Exampleshyre e99999901 --origin "issue 11 test") || it_fail "alias add exited with $?"
echo "$out"
grep -q 'added "Exampleshyre" (key "exampleshyre") for E99999901' <<<"$out" || it_fail "alias add says what it did"
it_assert_eq "$((gen0 + 1))" "$(q "SELECT value FROM ref.meta WHERE key = 'authorities_generation'")" "generation bumped"
out=$(admin ref alias add Exampleshyre E99999901) || it_fail "alias add again exited with $?"
grep -q "already known as E99999901: nothing changed" <<<"$out" || it_fail "same alias again: $out"
it_assert_eq "$((gen0 + 1))" "$(q "SELECT value FROM ref.meta WHERE key = 'authorities_generation'")" "not bumped again"
out=$(admin ref alias list exampleshyre)
grep -qE '^exampleshyre +E99999901 +Exampleshire +issue 11 test +Exampleshyre' <<<"$out" || it_fail "alias list: $out"

# --- dry run, then the replay ---
out=$(admin quarantine replay --dry-run) || it_fail "dry run exited with $?"
echo "$out"
grep -q "^dry run (nothing changed): replayed 5: 2 loaded, 3 still quarantined:" <<<"$out" || it_fail "dry run"
it_assert_eq "1|6|0" "$(q "SELECT (SELECT count(*) FROM core.loans), (SELECT count(*) FROM ingest.quarantine),
    (SELECT count(*) FROM ingest.quarantine WHERE resolution IS NOT NULL)")" "the dry run changed nothing"

out=$(admin quarantine replay) || it_fail "replay exited with $?"
echo "$out"
grep -q "^replayed 5: 2 loaded, 3 still quarantined:" <<<"$out" || it_fail "replay summary"
grep -qF '"loans" is "-3": negative' <<<"$out" || it_fail "the row that now fails for another reason says so"
it_assert_eq "3" "$(q 'SELECT count(*) FROM core.loans')" "exactly the two fixed rows loaded"
it_assert_eq "20|30" "$(q "SELECT string_agg(loans::text, '|' ORDER BY loans) FROM core.loans WHERE loans IN (20, 30)")" "their values"
it_assert_eq "typo|t|replay|2" "$(q "SELECT l.source, b.replay, r.outcome, count(*) FROM core.loans l JOIN ingest.batches b USING (batch_id)
    JOIN ingest.runs r ON r.run_ref = b.run_ref WHERE l.loans IN (20, 30) GROUP BY 1, 2, 3")" \
    "provenance: the source, a replay batch and run"
it_assert_eq "2|1|4" "$(q "SELECT count(*) FILTER (WHERE state = 'loaded'), count(*) FILTER (WHERE state = 'replaced'),
    count(*) FILTER (WHERE state = 'outstanding') FROM ingest.v_quarantine")" "loaded, replaced, outstanding"
it_assert_eq "7|7" "$(q "SELECT count(*), sum(seen_count) FROM ingest.quarantine")" \
    "one new row (the new reason), no receipt counted for the rest"
it_assert_eq "4" "$(q "SELECT sum(outstanding_records) FROM core.v_quarantine_counts WHERE source = 'typo'")" \
    "v_quarantine_counts counts only the outstanding"
it_assert_eq "complete" "$(admin status --json --source typo | ss_python -c 'import json,sys; print(json.load(sys.stdin)["sources"][0]["last_run"]["outcome"])')" \
    "status: the last run is still the collector's"

# --- exactly once ---
out=$(admin quarantine replay) || it_fail "second replay exited with $?"
echo "$out"
grep -q "^replayed 3: 0 loaded, 3 still quarantined:" <<<"$out" || it_fail "second replay loads nothing"
it_assert_eq "3|7" "$(q "SELECT (SELECT count(*) FROM core.loans), (SELECT count(*) FROM ingest.quarantine)")" \
    "second replay: no fact, no quarantine row added"

# --- the collector sends the same export again: the fixed rows pass, the rest is counted ---
it_collect "$IT_DIR/typo.json" || it_fail "second run exited with $?"
it_assert_eq "3" "$(q 'SELECT count(*) FROM core.loans')" "the fixed rows load once, not twice"
it_assert_eq "7" "$(q 'SELECT count(*) FROM ingest.quarantine')" "the still bad rows are counted again, not copied"
it_assert_eq "2" "$(q "SELECT seen_count FROM ingest.quarantine WHERE reason LIKE '%negative'")" \
    "the replay's new reason is the one the collector's run meets"
it_daemon_stop
