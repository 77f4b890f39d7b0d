#!/usr/bin/env bash
# shelfsyncd is killed with SIGKILL three times while a collector is sending,
# at different points of the load, and restarted each time: afterwards every
# row is there exactly once and no batch was applied twice.
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
# Small batches so the load lasts; a short ack timeout so resends happen soon.
it_collector_config "$IT_DIR/c.json" crashy "http://127.0.0.1:$IT_HTTP_PORT/loans.csv" \
    '"batch": {"records": 250}, "send": {"ack_timeout_ms": 1500, "backoff_initial_ms": 50, "backoff_max_ms": 1000, "give_up_after_s": 120}'
it_collect_bg "$IT_DIR/c.json"

batches() { it_psql 'SELECT count(*) FROM ingest.batches'; }
for at in 20 120 260; do
    it_wait_for "(( \$(batches) >= $at ))" 120 || it_fail "the load stalled before $at batches"
    it_daemon_kill9
    sleep 0.$((RANDOM % 9 + 1))
    it_daemon_start
done
it_collect_wait 300 || it_fail "collector exited with $?"

it_assert_eq "$rows" "$(it_psql 'SELECT count(*) FROM core.loans')" "rows loaded"
it_assert_eq "$total" "$(it_psql 'SELECT sum(loans) FROM core.loans')" "total loans"
it_assert_eq "400|$rows" "$(it_psql 'SELECT count(*), sum(accepted) FROM ingest.batches')" "each of 400 batches applied once"
it_assert_eq "0" "$(ls "$IT_DIR/state-crashy/outbox" | wc -l)" "outbox empty"
grep -q "duplicate" "$IT_DIR/daemon.log" && it_log "some resent batches were acked as duplicates"
it_daemon_stop
