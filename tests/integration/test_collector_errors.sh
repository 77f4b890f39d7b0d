#!/usr/bin/env bash
# What a library IT person sees when something is wrong: a clear message and
# an exit status that says what happened; nothing fetched is lost.
source "$(dirname "$0")/lib.sh"
it_setup
it_reset_db
it_http_start "$SS_SOURCE_DIR/tests/fixtures"
it_daemon_config "$IT_DIR/daemon.json"

it_log "a bad config is refused with file:line:column"
cat >"$IT_DIR/bad.json" <<'JSON'
{
  "source": "bad",
  "dataset": "loans",
  "url": "http://127.0.0.1:1/x.csv",
  "state_dir": "/tmp/x",
  "daemon": {"endpoints": ["tcp://127.0.0.1:1"]},
  "send": {"ack_timeout_ms": 5}
}
JSON
st=0; "$SS_BIN_DIR/shelfsync-collect" --config "$IT_DIR/bad.json" --once 2>"$IT_DIR/err.txt" || st=$?
it_assert_eq 1 "$st" "exit status for a bad config"
grep -qF "$IT_DIR/bad.json:7:12: \"send.ack_timeout_ms\": expected an integer from 100 to 3600000" "$IT_DIR/err.txt" ||
    it_fail "unexpected message: $(cat "$IT_DIR/err.txt")"
st=0; "$SS_BIN_DIR/shelfsync" check-config "$IT_DIR/bad.json" 2>"$IT_DIR/err2.txt" || st=$?
it_assert_eq 1 "$st" "check-config exit status"
grep -qF "bad.json:7:12:" "$IT_DIR/err2.txt" || it_fail "check-config said: $(cat "$IT_DIR/err2.txt")"
st=0; "$SS_BIN_DIR/shelfsync" check-config "$IT_DAEMON_CONFIG" >"$IT_DIR/ok.txt" || st=$?
it_assert_eq 0 "$st" "check-config accepts the daemon config"
grep -q "ok (daemon config)" "$IT_DIR/ok.txt" || it_fail "check-config said: $(cat "$IT_DIR/ok.txt")"

it_log "check-config checks a kind's own keys too (through shelfsync-collect), and says when it cannot"
cat >"$IT_DIR/kindkey.json" <<'JSON'
{
  "source": "kindkey",
  "dataset": "loans",
  "url": "http://127.0.0.1:1/x.csv",
  "state_dir": "/tmp/x",
  "daemon": {"endpoints": ["tcp://127.0.0.1:1"]},
  "csv": {"delimitr": ";"}
}
JSON
cat >"$IT_DIR/kindname.json" <<'JSON'
{
  "source": "kindname",
  "kind": "csvx",
  "dataset": "loans",
  "url": "http://127.0.0.1:1/x.csv",
  "state_dir": "/tmp/x",
  "daemon": {"endpoints": ["tcp://127.0.0.1:1"]}
}
JSON
st=0; "$SS_BIN_DIR/shelfsync" check-config "$IT_DIR/kindkey.json" "$IT_DIR/kindname.json" 2>"$IT_DIR/err3.txt" || st=$?
it_assert_eq 1 "$st" "check-config exit status for a kind's bad key"
grep -qF "kindkey.json:7:11: \"csv.delimitr\": unknown key" "$IT_DIR/err3.txt" ||
    it_fail "check-config said: $(cat "$IT_DIR/err3.txt")"
grep -qF "kindname.json:3:3: \"kind\": expected one of" "$IT_DIR/err3.txt" ||
    it_fail "check-config said: $(cat "$IT_DIR/err3.txt")"
# shelfsync alone, with no shelfsync-collect beside it or on PATH: loud, exit 1.
mkdir -p "$IT_DIR/alone"
cp "$SS_BIN_DIR/shelfsync" "$IT_DIR/alone/"
st=0; PATH=/usr/bin:/bin "$IT_DIR/alone/shelfsync" check-config "$IT_DIR/kindkey.json" 2>"$IT_DIR/err4.txt" || st=$?
it_assert_eq 1 "$st" "check-config exit status without shelfsync-collect"
grep -qF "are not checked: shelfsync-collect is neither beside shelfsync nor on PATH" "$IT_DIR/err4.txt" ||
    it_fail "check-config said: $(cat "$IT_DIR/err4.txt")"

it_log "an export without a required column is refused before anything is sent"
it_collector_config "$IT_DIR/nocount.json" nocount "http://127.0.0.1:$IT_HTTP_PORT/loans_no_count.csv"
st=0; it_collect "$IT_DIR/nocount.json" || st=$?
it_assert_eq 1 "$st" "exit status"
grep -qF 'dataset "loans" needs fields the export and the config do not give: "loans" (a column named "Loans" or "loans", or "mapping": {"loans": "COLUMN"}, or "constants": {"loans": "VALUE"}) (the export'"'"'s columns: "Local authority", "Library name", "Month", "Type", "Issues")' \
    "$IT_DIR/collect-nocount.log" || it_fail "message not found"

it_log "a missing export: HTTP 404 is an error, nothing is parsed"
it_collector_config "$IT_DIR/missing.json" missing "http://127.0.0.1:$IT_HTTP_PORT/nope.csv"
st=0; it_collect "$IT_DIR/missing.json" || st=$?
it_assert_eq 2 "$st" "exit status"
grep -q "nope.csv: the server answered HTTP 404" "$IT_DIR/collect-missing.log" || it_fail "message not found"

it_log "the daemon is down: the collector keeps its batches and says so"
it_collector_config "$IT_DIR/later.json" later "http://127.0.0.1:$IT_HTTP_PORT/loans_mixed.csv" \
    '"send": {"ack_timeout_ms": 500, "give_up_after_s": 2}, "batch": {"records": 3}'
st=0; it_collect "$IT_DIR/later.json" || st=$?
it_assert_eq 3 "$st" "exit status with unacked batches"
it_assert_eq 3 "$(ls "$IT_DIR/state-later/outbox" | grep -c '\.batch$')" "batches kept in the outbox"
it_assert_eq 2 "$(ls "$IT_DIR/state-later/outbox" | grep -c '\.run$')" "the run's records kept with them"
grep -q "giving up for now; 3 batches stay in the outbox" "$IT_DIR/collect-later.log" || it_fail "message not found"

it_log "daemon back: the next run delivers the old batches first, then its own"
it_migrate
it_test_authorities
it_daemon_start
st=0; it_collect "$IT_DIR/later.json" || st=$?
it_assert_eq 0 "$st" "exit status"
grep -q "3 batches left in the outbox by an earlier run" "$IT_DIR/collect-later.log" || it_fail "old batches not announced"
it_assert_eq 0 "$(ls "$IT_DIR/state-later/outbox" | wc -l)" "outbox empty"
it_assert_eq 4 "$(it_psql "SELECT count(*) FROM core.loans WHERE source = 'later'")" "rows loaded once"
! grep -q "unchanged since the last run" "$IT_DIR/collect-later.log" || it_fail "the first run gave up, yet its cursor was used"
it_assert_eq 6 "$(it_psql "SELECT count(*) FROM ingest.batches WHERE source = 'later'")" "the kept batches, and the second run's full fetch (a run that gave up does not move the cursor)"
it_assert_eq "complete|3|complete|0" "$(it_psql "SELECT string_agg(outcome || '|' || exit_status, '|' ORDER BY run_id) FROM ingest.runs WHERE source = 'later'")" \
    "both runs recorded: the first gave up (exit 3), the second delivered"
it_daemon_stop
