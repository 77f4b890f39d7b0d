#!/usr/bin/env bash
# Privacy by design, and transaction-level loans. The export carries clear
# library card numbers; the collector replaces them with HMAC-SHA256 under
# the library service's key before anything is written: the outbox (the
# exact bytes that go on the wire) and the warehouse hold no clear value.
# Views roll the transactions up to months and count active users from the
# pseudonymous keys.
source "$(dirname "$0")/lib.sh"
it_setup
IT_RESET_TABLES="core.loan_transactions ingest.batches ingest.quarantine" it_reset_db
mkdir -p "$IT_DIR/www"
key=$(it_random_secret hmac-)
printf '%s\n' "$key" >"$IT_DIR/hmac.key"
chmod 600 "$IT_DIR/hmac.key"
{
    echo "Authority,Transaction id,Library name,Issued at,Type,Patron key,Renewal"
    echo "Exampleshire,T1,Abbey,2024-03-31T23:30:00Z,Adult fiction,23456789,No"  # 1 April 00:30 in London (BST)
    echo "Exampleshire,T2,Abbey,2024-04-02 10:00,Adult fiction,23456789,Yes"
    echo "Exampleshire,T3,Abbey,2024-04-03 11:00,DVD,98765432,No"
    echo "Exampleshire,T4,Brook,2024-05-01 09:15,Adult fiction,55501234,No"
    echo "Exampleshire,T5,Brook,2024-03-15 09:15,Adult fiction,23456789,No"
    echo "Exampleshire,T6,Brook,2024-05-02 09:15,Adult fiction,,No"
    echo "Exampleshire,T7,Brook,2024-05-03 09:15,Adult fiction,77712345,No,extra"  # unreadable: quarantined
} >"$IT_DIR/www/transactions.csv"
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_collector_config "$IT_DIR/t.json" lms "http://127.0.0.1:$IT_HTTP_PORT/transactions.csv" \
    "\"dataset\": \"loan_transactions\", \"privacy\": {\"hmac_key_file\": \"$IT_DIR/hmac.key\"}, \"send\": {\"give_up_after_s\": 1, \"ack_timeout_ms\": 300}"

# First with the daemon down, so the batch stays in the outbox to be read.
st=0; it_collect "$IT_DIR/t.json" || st=$?
it_assert_eq 3 "$st" "batches kept for the daemon"
for clear in 23456789 98765432 55501234 77712345; do
    grep -rq "$clear" "$IT_DIR/state-lms/outbox" && it_fail "clear card number $clear is in the outbox"
done
expected=$(ss_python -c 'import hmac, hashlib, sys; print(hmac.new(sys.argv[1].encode(), b"23456789", hashlib.sha256).hexdigest())' "$key")
grep -rq "$expected" "$IT_DIR/state-lms/outbox" || it_fail "the pseudonym is not HMAC-SHA256 of the card number"
it_log "ok: the outbox (the bytes on the wire) holds pseudonyms only"

it_daemon_start
it_collect "$IT_DIR/t.json" || it_fail "delivery exited with $?"
it_assert_eq "6|1" "$(it_psql "SELECT (SELECT count(*) FROM core.loan_transactions), (SELECT count(*) FROM ingest.quarantine)")" "six loaded, one quarantined"
it_assert_eq "2024-03-01,2024-04-01,2024-05-01" \
    "$(it_psql "SELECT string_agg(DISTINCT month::text, ',') FROM ingest.batch_coverage WHERE dataset = 'loan_transactions' AND authority_code = 'E99999901'")" \
    "the months of the issue times are the batches' coverage (T1, given in UTC, counts in March)"
it_assert_eq "line 8: 8 fields where the header has 7|Exampleshire,T7,Brook,2024-05-03 09:15,Adult fiction,No" \
    "$(it_psql "SELECT reason || '|' || raw FROM ingest.quarantine")" "a quarantined record's raw text: its mapped values, without the card number"
dump=$("$SS_PGBIN/pg_dump" -h "$SS_PGHOST" -p "$SS_PGPORT" -U "$SS_PGUSER" -d "$SS_PGDATABASE" --data-only -n core -n ingest)
for clear in 23456789 98765432 55501234 77712345; do
    [[ $dump == *"$clear"* ]] && it_fail "clear card number $clear is in the warehouse"
done
it_assert_eq "$expected" "$(it_psql "SELECT patron_key FROM core.loan_transactions WHERE transaction_id = 'T2'")" "pseudonym stored"
it_log "ok: the warehouse holds pseudonyms only"

it_assert_eq "Abbey|2024-04-01|3|2|1|1
Brook|2024-03-01|1|1|0|1
Brook|2024-05-01|2|2|0|1" "$(it_psql "SELECT service_point, month, sum(loans), sum(issues), sum(renewals), max(borrowers) FROM core.v_transaction_loans_monthly GROUP BY 1, 2 ORDER BY 1, 2")" \
    "monthly rollup in UK time (T1 falls in April); borrowers per item type"
it_assert_eq "2023-24|1|1
2024-25|3|5" "$(it_psql "SELECT financial_year, active_users, loans FROM core.v_transaction_active_users ORDER BY 1")" \
    "active users per financial year, distinct pseudonymous keys"

# Without a key the identifiers are dropped, never sent in clear.
it_collector_config "$IT_DIR/nokey.json" nokey "http://127.0.0.1:$IT_HTTP_PORT/transactions.csv" '"dataset": "loan_transactions"'
IT_RESET_TABLES="core.loan_transactions ingest.batches ingest.quarantine" it_reset_db
it_collect "$IT_DIR/nokey.json" || it_fail "collector without a key exited with $?"
it_assert_eq "6|0" "$(it_psql "SELECT count(*), count(patron_key) FROM core.loan_transactions")" "no key: patron keys dropped"
grep -q 77712345 "$IT_DIR"/collect-*.log && it_fail "a clear card number reached the collector's log"
it_daemon_stop
