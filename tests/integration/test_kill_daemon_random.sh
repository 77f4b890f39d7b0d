#!/usr/bin/env bash
# shelfsyncd is killed with SIGKILL ten times at random moments (0.2 to 1.5 s
# after each start, when it accepts connections) while a collector sends a
# 60,000-row export in small batches, and restarted each time: afterwards
# every row is there exactly once and the ledger holds each batch once.
# IT_SEED=N replays the same kill moments.
source "$(dirname "$0")/lib.sh"
it_setup
seed=${IT_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$seed
it_log "random seed $seed (IT_SEED=$seed replays these kill moments)"
it_reset_db
mkdir -p "$IT_DIR/www"
read -r rows total < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/loans.csv" 60000)
per_batch=200
nbatches=$(( (rows + per_batch - 1) / per_batch ))
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start
# Small batches so the load lasts; a short ack timeout so resends happen soon.
it_collector_config "$IT_DIR/c.json" randkill "http://127.0.0.1:$IT_HTTP_PORT/loans.csv" \
    "\"batch\": {\"records\": $per_batch}, \"send\": {\"ack_timeout_ms\": 1500, \"backoff_initial_ms\": 50, \"backoff_max_ms\": 1000, \"give_up_after_s\": 120}"
it_collect_bg "$IT_DIR/c.json"

batches() { it_psql 'SELECT count(*) FROM ingest.batches'; }
during=0 # kills that happened while the collector was still delivering
for kill in 1 2 3 4 5 6 7 8 9 10; do
    ms=$(( 200 + RANDOM % 1301 ))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -0 "$IT_COLLECT_PID" 2>/dev/null && during=$((during + 1))
    it_log "kill $kill of 10, $ms ms after the start; $(batches) of $nbatches batches in the ledger"
    it_daemon_kill9
    it_daemon_start
done
it_log "$during of the 10 kills hit while the collector was delivering"
((during >= 3)) || it_fail "the load finished before the 3rd kill: the kills tested little (raise the row count)"
it_collect_wait 120 || it_fail "collector exited with $?"

it_assert_eq "$rows" "$(it_psql 'SELECT count(*) FROM core.loans')" "rows loaded"
it_assert_eq "$total" "$(it_psql 'SELECT sum(loans) FROM core.loans')" "total loans"
it_assert_eq "$nbatches|$rows" "$(it_psql "SELECT count(*), sum(accepted) FROM ingest.batches WHERE source = 'randkill'")" \
    "each of $nbatches batches applied once"
it_assert_eq "1|$nbatches|1|$nbatches" \
    "$(it_psql "SELECT count(DISTINCT run_id), count(DISTINCT seq), min(seq), max(seq) FROM ingest.batches WHERE source = 'randkill'")" \
    "one run, seq 1..$nbatches each once"
it_assert_eq "0" "$(it_psql 'SELECT count(*) FROM ingest.quarantine')" "nothing quarantined"
it_assert_eq "0" "$(find "$IT_DIR/state-randkill/outbox" -type f | wc -l)" "outbox empty"
it_assert_eq "0" "$(find "$IT_DIR/state-randkill/refused" -type f | wc -l)" "nothing refused"
it_log "$(grep -c 'duplicate, applied before' "$IT_DIR/daemon.log" || true) resent batches were acked as duplicates"
it_daemon_stop
