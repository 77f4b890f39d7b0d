#!/usr/bin/env bash
# The collector is killed with SIGKILL mid-run; run again, it first sends
# what its outbox kept, then the export again: every row exactly once.
source "$(dirname "$0")/lib.sh"
it_setup
it_reset_db
mkdir -p "$IT_DIR/www"
read -r rows total < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/loans.csv" 100000)
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start
it_collector_config "$IT_DIR/c.json" killed "http://127.0.0.1:$IT_HTTP_PORT/loans.csv" \
    '"batch": {"records": 200}'
it_collect_bg "$IT_DIR/c.json"
it_wait_for "(( \$(it_psql 'SELECT count(*) FROM ingest.batches') >= 60 ))" 120 || it_fail "the load stalled"
it_log "killing the collector (SIGKILL to pid $IT_COLLECT_PID)"
kill -KILL "$IT_COLLECT_PID"
it_collect_wait 30 || it_log "killed collector reaped (status $?)"
first=$(it_psql 'SELECT count(*) FROM core.loans')
(( first < rows )) || it_fail "the collector finished before it was killed ($first rows)"
it_log "$first rows landed before the kill; $(ls "$IT_DIR/state-killed/outbox" | wc -l) batches left in the outbox"

it_collect "$IT_DIR/c.json" || it_fail "second run exited with $?"
it_assert_eq "$rows" "$(it_psql 'SELECT count(*) FROM core.loans')" "rows loaded"
it_assert_eq "$total" "$(it_psql 'SELECT sum(loans) FROM core.loans')" "total loans"
it_assert_eq "0" "$(ls "$IT_DIR/state-killed/outbox" | wc -l)" "outbox empty"
it_assert_eq "0" "$(it_psql 'SELECT count(*) FROM (SELECT run_id, seq FROM ingest.batches GROUP BY 1, 2 HAVING count(*) > 1) d')" "no batch twice in the ledger"
it_daemon_stop
