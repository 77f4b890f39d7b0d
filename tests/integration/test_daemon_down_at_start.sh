#!/usr/bin/env bash
# The daemon is not running when the collector starts: the collector fetches
# into its outbox and waits; the daemon starts 3 s later; the collector
# delivers everything and exits 0. Every row exactly once.
source "$(dirname "$0")/lib.sh"
it_setup
it_reset_db
mkdir -p "$IT_DIR/www"
read -r rows total < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/loans.csv" 20000)
per_batch=500
nbatches=$(( (rows + per_batch - 1) / per_batch ))
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
ss_tcp_accepts "$IT_ZMQ_PORT" && it_fail "something already listens on the daemon's port $IT_ZMQ_PORT"
it_collector_config "$IT_DIR/c.json" latedaemon "http://127.0.0.1:$IT_HTTP_PORT/loans.csv" \
    "\"batch\": {\"records\": $per_batch}, \"send\": {\"give_up_after_s\": 60}"
it_collect_bg "$IT_DIR/c.json"
sleep 3
kill -0 "$IT_COLLECT_PID" 2>/dev/null || it_fail "the collector did not wait for the daemon"
waiting=$(find "$IT_DIR/state-latedaemon/outbox" -name '*.batch' | wc -l)
it_log "$waiting batches wait in the outbox after 3 s without a daemon"
((waiting > 0)) || it_fail "the collector stored nothing in its outbox while the daemon was down"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM ingest.batches")" "nothing applied before the daemon starts"
it_daemon_start
st=0; it_collect_wait 60 || st=$?
it_assert_eq 0 "$st" "the collector's exit status"
it_assert_eq "$rows" "$(it_psql 'SELECT count(*) FROM core.loans')" "rows loaded"
it_assert_eq "$total" "$(it_psql 'SELECT sum(loans) FROM core.loans')" "total loans"
it_assert_eq "$nbatches|$rows|$nbatches|1" \
    "$(it_psql "SELECT count(*), sum(accepted), count(DISTINCT seq), count(DISTINCT run_id) FROM ingest.batches WHERE source = 'latedaemon'")" \
    "each of $nbatches batches applied once"
it_assert_eq "0" "$(it_psql 'SELECT count(*) FROM ingest.quarantine')" "nothing quarantined"
it_assert_eq "0" "$(find "$IT_DIR/state-latedaemon/outbox" -type f | wc -l)" "outbox empty"
it_daemon_stop
