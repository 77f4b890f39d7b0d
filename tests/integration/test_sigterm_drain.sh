#!/usr/bin/env bash
# SIGTERM while the daemon is in the middle of a large batch loses nothing.
# A table lock holds the daemon inside the apply of the first 10,000-record
# batch of a 40,000-row export; SIGTERM arrives then. The daemon finishes and
# commits that batch, answers it, takes no further batch, and exits 0. The
# collector keeps the rest in its outbox, and once the daemon is back every
# row is there exactly once, each batch applied once. (The batches sent to
# the stopped daemon and never read are resent after the ack timeout, 8 s
# here: longer than the lock holds the first.)
source "$(dirname "$0")/lib.sh"
it_setup
it_reset_db
mkdir -p "$IT_DIR/www"
read -r rows total < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/loans.csv" 40000)
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start
it_collector_config "$IT_DIR/c.json" drain "http://127.0.0.1:$IT_HTTP_PORT/loans.csv" \
    '"batch": {"records": 10000}, "send": {"ack_timeout_ms": 8000, "backoff_initial_ms": 50, "backoff_max_ms": 500, "give_up_after_s": 120}'

it_lock_table core.loans 4
locker=$IT_LOCKER_PID
it_collect_bg "$IT_DIR/c.json"
ss_wait_until 20 it_daemon_waits_on_lock || it_fail "the daemon never waited on the lock inside a batch"
it_log "the daemon is inside a batch, held by the lock: SIGTERM"
pid=$IT_DAEMON_PID
t0=$SECONDS
kill -TERM "$pid"
sleep 1
kill -0 "$pid" 2>/dev/null || it_fail "the daemon exited while its batch was still being applied"
it_daemon_stop || it_fail "the daemon did not exit 0 after SIGTERM during a batch"
it_log "the daemon exited $((SECONDS - t0)) s after SIGTERM"
wait "$locker" || true
it_assert_eq "1|10000" "$(it_psql 'SELECT count(*), sum(accepted) FROM ingest.batches')" \
    "the batch in flight committed, no further batch taken after SIGTERM"
it_assert_eq "10000" "$(it_psql 'SELECT count(*) FROM core.loans')" "rows of the batch in flight"

it_daemon_start
it_collect_wait 180 || it_fail "the collector failed after the daemon came back"
it_assert_eq "$rows" "$(it_psql 'SELECT count(*) FROM core.loans')" "rows loaded"
it_assert_eq "$total" "$(it_psql 'SELECT sum(loans) FROM core.loans')" "total loans"
it_assert_eq "4|$rows" "$(it_psql 'SELECT count(*), sum(accepted) FROM ingest.batches')" "each of 4 batches applied once"
it_assert_eq "0" "$(find "$IT_DIR/state-drain/outbox" -type f | wc -l)" "outbox empty"
it_daemon_stop
