#!/usr/bin/env bash
# Two collectors for two sources (different exports, different authorities)
# send to one daemon at the same time: both complete, and each source's rows
# are all there exactly once.
source "$(dirname "$0")/lib.sh"
it_setup
it_reset_db
mkdir -p "$IT_DIR/www"
# gen_loans.py names "Authority 0" for its first 48,000 rows: give each export
# its own authority so that the two sources' natural keys do not overlap.
read -r rows_a total_a < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/a.csv" 40000)
read -r rows_b total_b < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/b.csv" 30000)
sed -i 's/^Authority 0,/Authority 11,/' "$IT_DIR/www/a.csv"
sed -i 's/^Authority 0,/Authority 12,/' "$IT_DIR/www/b.csv"
it_assert_eq "$rows_a" "$(grep -c '^Authority 11,' "$IT_DIR/www/a.csv")" "rows of Authority 11 in a.csv"
it_assert_eq "$rows_b" "$(grep -c '^Authority 12,' "$IT_DIR/www/b.csv")" "rows of Authority 12 in b.csv"
per_a=250 per_b=400
batches_a=$(( (rows_a + per_a - 1) / per_a ))
batches_b=$(( (rows_b + per_b - 1) / per_b ))
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start
it_collector_config "$IT_DIR/a.json" eleven "http://127.0.0.1:$IT_HTTP_PORT/a.csv" \
    "\"batch\": {\"records\": $per_a}, \"send\": {\"give_up_after_s\": 60}"
it_collector_config "$IT_DIR/b.json" twelve "http://127.0.0.1:$IT_HTTP_PORT/b.csv" \
    "\"batch\": {\"records\": $per_b}, \"send\": {\"give_up_after_s\": 60}"

it_collect_bg "$IT_DIR/a.json"
pid_a=$IT_COLLECT_PID
it_collect_bg "$IT_DIR/b.json"
pid_b=$IT_COLLECT_PID
# Both must really be sending at once: wait until each has a batch in the
# ledger while the other is still running.
it_wait_for "(( \$(it_psql \"SELECT count(DISTINCT source) FROM ingest.batches\") == 2 ))" 60 ||
    it_fail "the two sources never both had batches in the ledger"
overlap=0
kill -0 "$pid_a" 2>/dev/null && kill -0 "$pid_b" 2>/dev/null && overlap=1
((overlap)) || it_fail "one collector finished before the other had a batch applied: they did not run at once"
it_log "both sources have batches in the ledger while both collectors still run"

IT_COLLECT_PID=$pid_a IT_COLLECT_SOURCE=eleven
st=0; it_collect_wait 90 || st=$?
it_assert_eq 0 "$st" "collector eleven's exit status"
IT_COLLECT_PID=$pid_b IT_COLLECT_SOURCE=twelve
st=0; it_collect_wait 90 || st=$?
it_assert_eq 0 "$st" "collector twelve's exit status"

it_assert_eq "$rows_a|$total_a" "$(it_psql "SELECT count(*), sum(loans) FROM core.loans WHERE source = 'eleven'")" \
    "source eleven: rows and total loans"
it_assert_eq "$rows_b|$total_b" "$(it_psql "SELECT count(*), sum(loans) FROM core.loans WHERE source = 'twelve'")" \
    "source twelve: rows and total loans"
it_assert_eq "$((rows_a + rows_b))" "$(it_psql 'SELECT count(*) FROM core.loans')" "rows loaded in all"
it_assert_eq "eleven|E99000011 twelve|E99000012" \
    "$(it_psql "SELECT DISTINCT source, authority_code FROM core.loans ORDER BY 1, 2" | tr '\n' ' ' | sed 's/ $//')" \
    "each source wrote its own authority only"
it_assert_eq "eleven|$batches_a|$rows_a|1|$batches_a twelve|$batches_b|$rows_b|1|$batches_b" \
    "$(it_psql "SELECT source, count(*), sum(accepted), count(DISTINCT run_id), count(DISTINCT seq) FROM ingest.batches GROUP BY source ORDER BY source" | tr '\n' ' ' | sed 's/ $//')" \
    "ledger: each batch of each source once"
it_assert_eq "0" "$(it_psql 'SELECT count(*) FROM ingest.quarantine')" "nothing quarantined"
it_assert_eq "0" "$(find "$IT_DIR/state-eleven/outbox" "$IT_DIR/state-twelve/outbox" -type f | wc -l)" "outboxes empty"
it_daemon_stop
