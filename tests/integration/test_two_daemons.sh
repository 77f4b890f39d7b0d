#!/usr/bin/env bash
# Two daemons write one warehouse (the same database); collectors list both
# endpoints.
# 1. A batch that times out at one daemon is resent to the other while the
#    first is still applying it: the ledger's unique key (source, run_id, seq)
#    lets one apply it and the other ack it as a duplicate; it is in the
#    ledger once.
# 2. One daemon is killed with SIGKILL mid-run and not restarted: the
#    collector finishes through the other; every row exactly once.
source "$(dirname "$0")/lib.sh"
it_setup
# The lib's exit trap prints daemon.log (the first daemon); print the second's too.
trap 'rc=$?; if ((rc != 0 && rc != 77)) && [[ -s $IT_DIR/daemon2.log ]]; then
        echo "----- last 40 lines of $IT_DIR/daemon2.log -----"; tail -n 40 -- "$IT_DIR/daemon2.log"; fi
      (exit $rc); _it_exit' EXIT
it_reset_db
mkdir -p "$IT_DIR/www"
# Each part gets its own authorities, so the two loads' natural keys differ.
read -r rows_a total_a < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/dupe.csv" 10000)
sed -i 's/^Authority 0,/Authority 50,/' "$IT_DIR/www/dupe.csv"
read -r rows_b total_b < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/loans.csv" 60000)
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start
d1_port=$IT_ZMQ_PORT

# The second daemon: it_daemon_config's file with its own listen port.
d2_port=$(ss_free_port)
while [[ $d2_port == "$d1_port" ]]; do d2_port=$(ss_free_port); done
cat >"$IT_DIR/daemon2.json" <<EOF
{
  "description": $(ss_json_str "integration test $IT_NAME, second daemon"),
  "listen": "tcp://127.0.0.1:$d2_port",
  "insecure": true,
  "database": {
    "conninfo": $(ss_json_str "host=$SS_PGHOST port=$SS_PGPORT dbname=$SS_PGDATABASE user=$SS_PGUSER")
  }
}
EOF
"$SS_BIN_DIR/shelfsyncd" --config "$IT_DIR/daemon2.json" >>"$IT_DIR/daemon2.log" 2>&1 &
d2_pid=$!
IT_PIDS+=("$d2_pid")
it_log "started the second shelfsyncd (pid $d2_pid, listen tcp://127.0.0.1:$d2_port)"
_d2_up() { ! kill -0 "$d2_pid" 2>/dev/null || ss_tcp_accepts "$d2_port"; }
ss_wait_until 30 _d2_up || it_fail "the second shelfsyncd does not accept connections on port $d2_port after 30 s"
kill -0 "$d2_pid" 2>/dev/null || it_fail "the second shelfsyncd exited during start-up"
it_log "the second shelfsyncd accepts connections on port $d2_port"

# both_endpoints FILE: point the collector config FILE at both daemons.
both_endpoints() {
    ss_python - "$1" "tcp://127.0.0.1:$d1_port" "tcp://127.0.0.1:$d2_port" <<'PY'
import json, sys
path, e1, e2 = sys.argv[1:4]
cfg = json.load(open(path))
cfg["daemon"]["endpoints"] = [e1, e2]
json.dump(cfg, open(path, "w"), indent=2)
PY
    it_log "$1: endpoints tcp://127.0.0.1:$d1_port and tcp://127.0.0.1:$d2_port"
}

# ---- 1. the same batch at both daemons --------------------------------------
# The whole export in one batch, and core.loans locked by another session for
# a few seconds: the daemon that gets the batch records it in the ledger and
# then waits on the lock; the collector's ack timeout (100 ms) passes and it
# resends, round-robin, to the other daemon, which meets the first one's
# uncommitted ledger row. When the lock goes, one commits and acks "applied",
# the other acks "duplicate".
it_collector_config "$IT_DIR/dupe.json" dupe "http://127.0.0.1:$IT_HTTP_PORT/dupe.csv" \
    "\"batch\": {\"records\": $rows_a}, \"send\": {\"ack_timeout_ms\": 100, \"max_in_flight\": 1, \"backoff_initial_ms\": 10, \"backoff_max_ms\": 100, \"give_up_after_s\": 60}"
both_endpoints "$IT_DIR/dupe.json"
it_log "locking core.loans for 6 s in another session"
it_psql "BEGIN; LOCK TABLE core.loans IN SHARE ROW EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT;" >/dev/null &
lock_pid=$!
IT_PIDS+=("$lock_pid")
it_wait_for "(( \$(it_psql \"SELECT count(*) FROM pg_locks WHERE relation = 'core.loans'::regclass AND mode = 'ShareRowExclusiveLock' AND granted\") == 1 ))" 20 ||
    it_fail "could not lock core.loans"
it_collect "$IT_DIR/dupe.json" || it_fail "collector dupe exited with $?"
wait "$lock_pid" || it_fail "the locking session failed"
_it_forget_pid "$lock_pid"
it_assert_eq "$rows_a|$total_a" "$(it_psql "SELECT count(*), sum(loans) FROM core.loans WHERE source = 'dupe'")" \
    "source dupe: rows and total loans"
it_assert_eq "1|$rows_a|1|1" \
    "$(it_psql "SELECT count(*), sum(accepted), count(DISTINCT seq), count(DISTINCT run_id) FROM ingest.batches WHERE source = 'dupe'")" \
    "source dupe: its one batch once in the ledger"
resends=$(grep -c 'no ack for 1 batch after 100 ms' "$IT_DIR/collect-dupe.log" || true)
it_log "the collector resent the batch $resends times"
((resends >= 1)) || it_fail "the batch was acked within 100 ms although core.loans was locked: nothing was resent"
# Which daemon applied the batch, and which acked it as a duplicate.
a1=$(grep -c 'batch dupe/[^ ]*/1 (loans): ' "$IT_DIR/daemon.log" || true)
a2=$(grep -c 'batch dupe/[^ ]*/1 (loans): ' "$IT_DIR/daemon2.log" || true)
u1=$(grep -c 'batch dupe/[^ ]*/1: duplicate, applied before' "$IT_DIR/daemon.log" || true)
u2=$(grep -c 'batch dupe/[^ ]*/1: duplicate, applied before' "$IT_DIR/daemon2.log" || true)
it_log "daemon 1: applied $a1, duplicate $u1; daemon 2: applied $a2, duplicate $u2"
it_assert_eq 1 "$((a1 + a2))" "the batch applied once, by one daemon"
if ((a1 == 1)); then other_dups=$u2; else other_dups=$u1; fi
((other_dups >= 1)) ||
    it_fail "the daemon that did not apply the batch never acked it as a duplicate: the resend did not reach it"
it_log "ok: the other daemon acked the resent batch as a duplicate ($other_dups times)"

# ---- 2. one daemon killed mid-run -------------------------------------------
it_collector_config "$IT_DIR/c.json" twodaemons "http://127.0.0.1:$IT_HTTP_PORT/loans.csv" \
    '"batch": {"records": 500}, "send": {"ack_timeout_ms": 1500, "backoff_initial_ms": 50, "backoff_max_ms": 1000, "give_up_after_s": 60}'
both_endpoints "$IT_DIR/c.json"
it_collect_bg "$IT_DIR/c.json"
it_wait_for "(( \$(it_psql \"SELECT count(*) FROM ingest.batches WHERE source = 'twodaemons'\") >= 30 ))" 60 ||
    it_fail "the load stalled"
d1_before=$(grep -c 'batch twodaemons/.* records, ' "$IT_DIR/daemon.log" || true)
d2_before=$(grep -c 'batch twodaemons/.* records, ' "$IT_DIR/daemon2.log" || true)
it_log "before the kill: daemon 1 applied $d1_before batches, daemon 2 $d2_before"
((d1_before > 0 && d2_before > 0)) || it_fail "the collector did not use both daemons"
it_daemon_kill9
kill -0 "$IT_COLLECT_PID" 2>/dev/null || it_fail "the collector finished before the kill"
st=0; it_collect_wait 90 || st=$?
it_assert_eq 0 "$st" "the collector's exit status (finished through the second daemon)"
d2_after=$(grep -c 'batch twodaemons/.* records, ' "$IT_DIR/daemon2.log" || true)
it_log "daemon 2 applied $((d2_after - d2_before)) batches after the kill"
((d2_after > d2_before)) || it_fail "daemon 2 applied nothing after daemon 1 was killed"
kill -0 "$d2_pid" 2>/dev/null || it_fail "the second daemon died"

it_assert_eq "$rows_b|$total_b" "$(it_psql "SELECT count(*), sum(loans) FROM core.loans WHERE source = 'twodaemons'")" \
    "source twodaemons: rows and total loans"
it_assert_eq "$((rows_a + rows_b))" "$(it_psql 'SELECT count(*) FROM core.loans')" "rows loaded in all"
nb=$(( (rows_b + 499) / 500 ))
it_assert_eq "$nb|$rows_b|$nb|1" \
    "$(it_psql "SELECT count(*), sum(accepted), count(DISTINCT seq), count(DISTINCT run_id) FROM ingest.batches WHERE source = 'twodaemons'")" \
    "source twodaemons: each of $nb batches once in the ledger"
it_assert_eq "0" "$(it_psql 'SELECT count(*) FROM (SELECT source, run_id, seq FROM ingest.batches GROUP BY 1, 2, 3 HAVING count(*) > 1) d')" \
    "no (source, run, seq) twice in the ledger"
it_assert_eq "0" "$(it_psql 'SELECT count(*) FROM ingest.quarantine')" "nothing quarantined"
it_assert_eq "0" "$(find "$IT_DIR/state-dupe/outbox" "$IT_DIR/state-twodaemons/outbox" -type f | wc -l)" "outboxes empty"

it_log "stopping the second shelfsyncd (SIGTERM to pid $d2_pid)"
kill -TERM "$d2_pid"
ss_wait_until 30 _ss_pid_gone "$d2_pid" || it_fail "the second shelfsyncd did not stop within 30 s"
st=0; wait "$d2_pid" || st=$?
_it_forget_pid "$d2_pid"
it_assert_eq 0 "$st" "the second shelfsyncd's exit status"
