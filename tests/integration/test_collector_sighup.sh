#!/usr/bin/env bash
# SIGHUP to a collector: on its interval it reads the config again -- a valid
# one is used from the next run, an invalid one is refused with its
# file:line:column and the running config carries on; during a one-off run it
# is logged and the run goes on. Before, SIGHUP killed it (exit 129, no log).
source "$(dirname "$0")/lib.sh"
it_setup
it_reset_db
mkdir -p "$IT_DIR/www"
read -r rows1 total1 < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/one.csv" 30)
ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/two.csv" 60 >/dev/null
it_fake_http_start "$IT_DIR/www"
fake=$IT_FAKE_URL
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start

log="$IT_DIR/collect-hup.log"
it_collector_config "$IT_DIR/c.json" hup "$fake/ok/one.csv" '"interval_s": 1'
"$SS_BIN_DIR/shelfsync-collect" --config "$IT_DIR/c.json" >>"$log" 2>&1 &
pid=$!
IT_PIDS+=("$pid")
it_wait_for "grep -q 'next run in 1 s' '$log'" 30 || it_fail "the collector did not finish its first run"
it_assert_eq "$rows1" "$(it_psql "SELECT count(*) FROM core.loans")" "first run loaded one.csv"

it_log "an invalid config: refused with its position, the running one carries on"
cp "$IT_DIR/c.json" "$IT_DIR/c.good"
ss_python - "$IT_DIR/c.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["batch"] = {"recrods": 10}
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
kill -HUP "$pid"
it_wait_for "grep -q 'SIGHUP: .*c.json:[0-9]*:[0-9]*: \"batch.recrods\": unknown key.*the running config stays in force' '$log'" 20 ||
    it_fail "the invalid config was not refused with its position"
kill -0 "$pid" || it_fail "SIGHUP killed the collector"
runs=$(grep -c ': csv source ' "$log")
it_wait_for "(( \$(grep -c ': csv source ' '$log') > $runs ))" 20 || it_fail "no run after the refused reload"
grep -q "one.csv" <(grep ': csv source ' "$log" | tail -n 1) || it_fail "the old config did not carry on"

it_log "a valid new config: used from the next run"
it_collector_config "$IT_DIR/c.json" hup "$fake/ok/two.csv" '"interval_s": 1'
kill -HUP "$pid"
it_wait_for "grep -q 'SIGHUP: .*c.json read again; the next run uses it' '$log'" 20 || it_fail "the new config was not taken"
it_wait_for "grep -q ': csv source .*two.csv' '$log'" 20 || it_fail "the next run did not use the new URL"
it_wait_for "[[ \$(it_psql 'SELECT count(*) FROM core.loans') == 60 ]]" 20 || it_fail "two.csv was not loaded"
kill -0 "$pid" || it_fail "the collector is gone"
kill -TERM "$pid"
st=0; wait "$pid" || st=$?
((st == 0 || st == 3)) || it_fail "the collector exited with $st on SIGTERM"
it_log "ok: SIGTERM stopped it with status $st"

it_log "SIGHUP during a one-off run: logged, the run goes on"
it_collector_config "$IT_DIR/s.json" slowhup "$fake/slow/one.csv" '"http": {"low_speed_s": 0}'
it_collect_bg "$IT_DIR/s.json"
it_wait_for "grep -q ': csv source .*slow/one.csv' '$IT_DIR/collect-slowhup.log'" 20 || it_fail "the one-off run did not start"
sleep 1
kill -HUP "$IT_COLLECT_PID"
sleep 1
kill -0 "$IT_COLLECT_PID" || it_fail "SIGHUP killed a one-off run"
kill -TERM "$IT_COLLECT_PID"
st=0; it_collect_wait 30 || st=$?
((st < 128)) || it_fail "the one-off run died of a signal ($st)"
grep -q "SIGHUP: this is a one-off run" "$IT_DIR/collect-slowhup.log" || it_fail "the SIGHUP was not logged"
it_daemon_stop
