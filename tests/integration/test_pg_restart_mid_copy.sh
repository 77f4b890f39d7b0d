#!/usr/bin/env bash
# PostgreSQL is restarted with `pg_ctl restart -m immediate` while the daemon
# is in the middle of a COPY of a big batch (its backend is caught there and
# held with SIGSTOP until the postmaster has told it to quit), so the
# daemon's connection is reset inside the batch's transaction: the daemon
# keeps the batch, reconnects and applies it again; afterwards every row is
# there exactly once and each batch is in the ledger once.
source "$(dirname "$0")/lib.sh"
it_setup
it_reset_db
mkdir -p "$IT_DIR/www"
read -r rows total < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/loans.csv" 150000)
per_batch=5000
nbatches=$(( (rows + per_batch - 1) / per_batch ))
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start
it_collector_config "$IT_DIR/c.json" pgrestart "http://127.0.0.1:$IT_HTTP_PORT/loans.csv" \
    "\"batch\": {\"records\": $per_batch}, \"send\": {\"ack_timeout_ms\": 5000, \"backoff_max_ms\": 2000, \"give_up_after_s\": 120}"
it_collect_bg "$IT_DIR/c.json"
it_wait_for "(( \$(it_psql 'SELECT count(*) FROM ingest.batches') >= 3 ))" 60 || it_fail "the load stalled"
# Catch the daemon's backend inside its COPY: a watcher session polls
# pg_stat_activity every millisecond until the daemon's backend is running a
# COPY; the backend is then frozen (SIGSTOP) and looked at again: still in
# the COPY, it is caught; otherwise it goes on (SIGCONT) and the watcher waits
# for the next batch. Once caught, PostgreSQL is restarted and the frozen
# backend takes its SIGQUIT there: the daemon's connection is reset mid-COPY.
bpid=""
# shellcheck disable=SC2317 # called by the trap
_thaw() { [[ -z $bpid ]] || kill -CONT "$bpid" 2>/dev/null || true; }
trap 'rc=$?; _thaw; (exit $rc); _it_exit' EXIT
pg_q() { timeout 10 "$SS_PGBIN/psql" -X -q -tA -h "$SS_PGHOST" -p "$SS_PGPORT" -U "$SS_PGUSER" -d "$SS_PGDATABASE" -c "$1" 2>&1 || true; }
in_copy="state = 'active' AND query ~* '^\s*COPY '"
watch="DO \$\$
DECLARE p int; t timestamptz := clock_timestamp() + interval '5 s';
BEGIN
  LOOP
    PERFORM pg_stat_clear_snapshot();
    SELECT pid INTO p FROM pg_stat_activity
     WHERE application_name = 'shelfsyncd' AND datname = current_database() AND $in_copy LIMIT 1;
    IF p IS NOT NULL THEN RAISE NOTICE 'in COPY: %', p; RETURN; END IF;
    EXIT WHEN clock_timestamp() > t;
    PERFORM pg_sleep(0.001);
  END LOOP;
END \$\$;"
caught=0 tries=0 deadline=$((SECONDS + 40))
while ((SECONDS < deadline)); do
    bpid=$(pg_q "$watch" | sed -nE 's/.*in COPY: ([0-9]+).*/\1/p')
    if [[ -z $bpid ]] || ! kill -STOP "$bpid" 2>/dev/null; then
        bpid=""
        continue
    fi
    tries=$((tries + 1))
    if [[ $(pg_q "SELECT count(*) FROM pg_stat_activity WHERE pid = $bpid AND $in_copy") == 1 ]]; then
        caught=1
        break
    fi
    kill -CONT "$bpid" 2>/dev/null || true
    bpid=""
done
((caught)) || it_fail "never caught the daemon's backend inside a COPY in 40 s ($tries COPYs seen, all over before the backend was frozen)"
before=$(it_psql 'SELECT count(*) FROM ingest.batches')
it_log "the daemon's backend (pid $bpid) is frozen inside a COPY (COPY seen $tries times); $before of $nbatches batches in the ledger"
(( before >= 3 )) || it_fail "fewer than 3 batches in the ledger at the restart"
it_log "restarting PostgreSQL: pg_ctl restart -m immediate"
IT_PG_STOPPED=1 # the exit trap starts it again should the restart fail
_it_pg_as "$SS_PGBIN/pg_ctl" -D "$SS_PGDATA" -m immediate -w -t 60 \
    -l "${SS_PGDIR:-$(dirname -- "$SS_PGDATA")}/postgresql.log" restart >/dev/null &
restart_pid=$!
IT_PIDS+=("$restart_pid")
# Thaw the backend only once the postmaster has sent it SIGQUIT (bit 3 of its
# pending signals), so that it dies where it stands, inside the COPY.
_sigquit_pending() {
    local m
    m=$(awk '/^(ShdPnd|SigPnd):/ {print $2}' "/proc/$bpid/status" 2>/dev/null | paste -sd' ') || return 0
    [[ -z $m ]] && return 0
    for x in $m; do (( 0x$x & 4 )) && return 0; done
    return 1
}
ss_wait_until 10 _sigquit_pending || it_log "no SIGQUIT pending for the backend after 10 s; thawing it anyway"
_thaw
bpid=""
wait "$restart_pid" || it_fail "pg_ctl restart -m immediate failed"
_it_forget_pid "$restart_pid"
ss_wait_until 60 "$SS_PGBIN/pg_isready" -q -h "$SS_PGHOST" -p "$SS_PGPORT" -U "$SS_PGUSER" -d "$SS_PGDATABASE" ||
    it_fail "PostgreSQL does not answer after the restart"
IT_PG_STOPPED=0
it_log "PostgreSQL is back"
kill -0 "$IT_DAEMON_PID" 2>/dev/null || it_fail "the daemon died when PostgreSQL restarted"

st=0; it_collect_wait 90 || st=$?
it_assert_eq 0 "$st" "the collector's exit status"
it_assert_eq "$rows" "$(it_psql 'SELECT count(*) FROM core.loans')" "rows loaded"
it_assert_eq "$total" "$(it_psql 'SELECT sum(loans) FROM core.loans')" "total loans"
it_assert_eq "$nbatches|$rows|$nbatches|1" \
    "$(it_psql "SELECT count(*), sum(accepted), count(DISTINCT seq), count(DISTINCT run_id) FROM ingest.batches WHERE source = 'pgrestart'")" \
    "each of $nbatches batches applied once"
it_assert_eq "0" "$(it_psql 'SELECT count(*) FROM ingest.quarantine')" "nothing quarantined"
it_assert_eq "0" "$(find "$IT_DIR/state-pgrestart/outbox" -type f | wc -l)" "outbox empty"
# The daemon's log shows the lost connection, the batch it kept, and the reconnect.
grep -E 'kept, retrying in' "$IT_DIR/daemon.log" | head -n 3 | sed 's/^/    daemon.log: /'
grep -qE 'database error during (the direct )?COPY: .*; batch pgrestart/[^ ]+ kept, retrying in' "$IT_DIR/daemon.log" ||
    it_fail "the daemon's log shows no COPY cut short and its batch kept for a retry"
connects=$(grep -c 'connected to PostgreSQL' "$IT_DIR/daemon.log" || true)
it_log "the daemon connected to PostgreSQL $connects times"
((connects >= 2)) || it_fail "the daemon's log shows no reconnect to PostgreSQL"
it_daemon_stop
