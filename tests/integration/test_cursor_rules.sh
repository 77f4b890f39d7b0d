#!/usr/bin/env bash
# The cursor never runs ahead of the warehouse, and every run is recorded:
# - a run whose batches the daemon refused does not move the cursor: after the
#   config is fixed the next run fetches again and every row lands;
# - a change to what shapes records (here the mapping) makes the next run
#   fetch in full, though the export is unchanged (no 304); --full does too;
# - two runs on one state directory: the second says who holds it, exit 7;
# - an empty export and a header without rows: a warning, exit 6, the cursor
#   stays; with "allow_empty" exit 0;
# - every run is in ingest.runs, those that sent nothing included (304, a
#   failed fetch).
source "$(dirname "$0")/lib.sh"
it_setup
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine ingest.runs" it_reset_db
mkdir -p "$IT_DIR/www"
read -r rows total < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/loans.csv" 2000)
# The same rows with a second count column: the mapping chooses which is "loans".
ss_python - "$IT_DIR/www/loans.csv" "$IT_DIR/www/two.csv" <<'PY'
import sys
src, dst = sys.argv[1], sys.argv[2]
with open(src, newline="") as f, open(dst, "w", newline="") as o:
    for i, line in enumerate(f):
        line = line.rstrip("\r\n")
        line = line.replace("Authority 0,", "Authority 1,")
        o.write(line + (",Renewals\r\n" if i == 0 else ",%d\r\n" % (i % 7)))
PY
renewals=$(ss_python -c 'import sys; print(sum(i % 7 for i in range(1, int(sys.argv[1]) + 1)))' "$rows")
: >"$IT_DIR/www/empty.csv"
printf 'Local authority,Library name,Month,Type,Loans\r\n' >"$IT_DIR/www/header.csv"
it_http_start "$IT_DIR/www"
base="http://127.0.0.1:$IT_HTTP_PORT"

# A daemon that takes at most 100 records a batch refuses bigger batches.
it_daemon_config "$IT_DIR/daemon.json"
ss_python - "$IT_DIR/daemon.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["limits"] = {"max_records": 100}
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
it_migrate
it_test_authorities
it_daemon_start
# loans SOURCE: rows and total loans written by SOURCE.
loans() { it_psql "SELECT count(*) || '|' || coalesce(sum(loans), 0) FROM core.loans WHERE source = '$1'"; }
# held: rows and total loans of loans.csv's authority (Authority 0), whoever wrote them.
held() { it_psql "SELECT count(*) || '|' || coalesce(sum(loans), 0) FROM core.loans WHERE authority_code = 'E99000000'"; }
outcomes() { it_psql "SELECT string_agg(outcome || ':' || exit_status, ' ' ORDER BY run_ref) FROM ingest.runs WHERE source = '$1'"; }

it_log "a refused run does not move the cursor; the fixed config then loads every row"
it_collector_config "$IT_DIR/r.json" refused "$base/loans.csv" '"batch": {"records": 500}'
st=0; it_collect "$IT_DIR/r.json" || st=$?
it_assert_eq 4 "$st" "batches of 500 records refused (exit 4)"
it_assert_eq "0|0" "$(loans refused)" "nothing landed"
it_assert_eq "" "$(it_cursor "$IT_DIR/state-refused")" "no cursor saved after a refusal"
it_collector_config "$IT_DIR/r.json" refused "$base/loans.csv" '"batch": {"records": 100}'
st=0; it_collect "$IT_DIR/r.json" || st=$?
it_assert_eq 0 "$st" "the fixed config's run"
! grep -q "unchanged since the last run" "$IT_DIR/collect-refused.log" || it_fail "the export was taken as unchanged"
it_assert_eq "$rows|$total" "$(loans refused)" "every row landed"
it_assert_eq "refused:4 complete:0" "$(outcomes refused)" "both runs recorded"
[[ -n $(it_cursor "$IT_DIR/state-refused") ]] || it_fail "no cursor after the complete run"

it_log "unchanged export: one request, nothing sent, the run recorded"
st=0; it_collect "$IT_DIR/r.json" || st=$?
it_assert_eq 0 "$st" "third run"
grep -q "unchanged since the last run" "$IT_DIR/collect-refused.log" || it_fail "not taken as unchanged"
it_assert_eq "refused:4 complete:0 unchanged:0" "$(outcomes refused)" "the unchanged run recorded"

it_log "--full fetches in full although the export is unchanged"
: >"$IT_DIR/collect-refused.log"
timeout 120 "$SS_BIN_DIR/shelfsync-collect" --config "$IT_DIR/r.json" --once --full >>"$IT_DIR/collect-refused.log" 2>&1 ||
    it_fail "--full run failed"
grep -q -- "--full: fetching in full" "$IT_DIR/collect-refused.log" || it_fail "--full not announced"
! grep -q "unchanged since the last run" "$IT_DIR/collect-refused.log" || it_fail "--full used the cursor"
it_assert_eq "t" "$(it_psql "SELECT full_fetch FROM ingest.runs WHERE source = 'refused' ORDER BY run_ref DESC LIMIT 1")" \
    "the run record says it fetched in full"

it_log "a config change that shapes records fetches in full"
it_collector_config "$IT_DIR/m.json" mapped "$base/two.csv" '"mapping": {"loans": "Loans"}, "batch": {"records": 100}'
it_collect "$IT_DIR/m.json" || it_fail "mapped run exited with $?"
it_assert_eq "$rows|$total" "$(loans mapped)" "loans from the Loans column"
it_collect "$IT_DIR/m.json" || it_fail "mapped run 2 exited with $?"
grep -q "unchanged since the last run" "$IT_DIR/collect-mapped.log" || it_fail "the same config did not use the cursor"
it_collector_config "$IT_DIR/m.json" mapped "$base/two.csv" '"mapping": {"loans": "Renewals"}, "batch": {"records": 100}'
it_collect "$IT_DIR/m.json" || it_fail "remapped run exited with $?"
grep -q "the config changed since the cursor was saved" "$IT_DIR/collect-mapped.log" || it_fail "the config change was not noticed"
it_assert_eq "$rows|$renewals" "$(loans mapped)" "every row took the new mapping, though the export is unchanged"
it_log "a change to delivery settings only keeps the cursor"
it_collector_config "$IT_DIR/m.json" mapped "$base/two.csv" '"mapping": {"loans": "Renewals"}, "batch": {"records": 77}, "send": {"max_in_flight": 2}'
: >"$IT_DIR/collect-mapped.log"
it_collect "$IT_DIR/m.json" || it_fail "run exited with $?"
grep -q "unchanged since the last run" "$IT_DIR/collect-mapped.log" || it_fail "a delivery setting changed the config's identity"

it_log "two runs on one state directory: the second says who holds it"
it_daemon_stop
it_collector_config "$IT_DIR/l.json" locked "$base/loans.csv" '"send": {"give_up_after_s": 60}, "batch": {"records": 100}'
it_collect_bg "$IT_DIR/l.json"
first=$IT_COLLECT_PID
it_wait_for "grep -q 'batch' <(ls '$IT_DIR/state-locked/outbox' 2>/dev/null)" 30 || it_fail "the first run stored nothing"
st=0; timeout 60 "$SS_BIN_DIR/shelfsync-collect" --config "$IT_DIR/l.json" --once >"$IT_DIR/second.log" 2>&1 || st=$?
it_assert_eq 7 "$st" "the second run's exit status"
grep -q "in use by another shelfsync-collect run (pid $first)" "$IT_DIR/second.log" ||
    it_fail "the second run did not name the holder: $(cat "$IT_DIR/second.log")"
kill -TERM "$first"
st=0; it_collect_wait 30 || st=$?
it_log "the first run stopped with status $st"
it_daemon_start
it_collect "$IT_DIR/l.json" || it_fail "the run after the lock was released exited with $?"
it_assert_eq "$rows|$total" "$(held)" "every row, once"

it_log "empty and header-only exports: exit 6, the cursor stays; allow_empty makes it normal"
for f in empty header; do
    it_collector_config "$IT_DIR/$f.json" "$f" "$base/$f.csv"
    st=0; it_collect "$IT_DIR/$f.json" || st=$?
    it_assert_eq 6 "$st" "$f export: exit status"
    grep -q "the export is empty" "$IT_DIR/collect-$f.log" || it_fail "$f: no warning"
    it_assert_eq "" "$(it_cursor "$IT_DIR/state-$f")" "$f: no cursor saved"
    it_assert_eq "empty:6" "$(outcomes "$f")" "$f: the run recorded as empty"
    it_collector_config "$IT_DIR/$f.json" "$f" "$base/$f.csv" '"allow_empty": true'
    st=0; it_collect "$IT_DIR/$f.json" || st=$?
    it_assert_eq 0 "$st" "$f export with allow_empty"
done
grep -q "a header and no rows" "$IT_DIR/collect-header.log" || it_fail "header-only export not described"

it_log "a fetch that fails is recorded too"
it_collector_config "$IT_DIR/gone.json" gone "$base/nope.csv"
st=0; it_collect "$IT_DIR/gone.json" || st=$?
it_assert_eq 2 "$st" "missing export"
it_assert_eq "failed:2" "$(outcomes gone)" "the failed run recorded, with nothing sent"
it_assert_eq "1" "$(it_psql "SELECT count(*) FROM ingest.runs WHERE source = 'gone' AND error LIKE '%HTTP 404%'")" \
    "its error kept"
it_daemon_stop
