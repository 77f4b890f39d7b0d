#!/usr/bin/env bash
# PostgreSQL is stopped mid-run for 30 s: the daemon stops acking and
# reconnects, the collector waits; afterwards every row is there exactly once.
source "$(dirname "$0")/lib.sh"
it_setup
it_reset_db
mkdir -p "$IT_DIR/www"
read -r rows total < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/loans.csv" 60000)
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start
it_collector_config "$IT_DIR/c.json" outage "http://127.0.0.1:$IT_HTTP_PORT/loans.csv" \
    '"batch": {"records": 200}, "send": {"ack_timeout_ms": 2000, "backoff_max_ms": 2000, "give_up_after_s": 120}'
it_collect_bg "$IT_DIR/c.json"
it_wait_for "(( \$(it_psql 'SELECT count(*) FROM ingest.batches') >= 30 ))" 120 || it_fail "the load stalled"
it_pg_stop
sleep 30 # the issue: PostgreSQL stopped for 30 s mid-run
kill -0 "$IT_COLLECT_PID" 2>/dev/null || it_fail "the collector did not wait for the database"
kill -0 "$IT_DAEMON_PID" 2>/dev/null || it_fail "the daemon died while the database was down"
it_pg_start
it_collect_wait 180 || it_fail "collector exited with $?"
it_assert_eq "$rows" "$(it_psql 'SELECT count(*) FROM core.loans')" "rows loaded"
it_assert_eq "$total" "$(it_psql 'SELECT sum(loans) FROM core.loans')" "total loans"
it_assert_eq "300|$rows" "$(it_psql 'SELECT count(*), sum(accepted) FROM ingest.batches')" "each batch applied once"
grep -q "retrying" "$IT_DIR/daemon.log" || it_fail "the daemon never noticed the outage"
it_daemon_stop
