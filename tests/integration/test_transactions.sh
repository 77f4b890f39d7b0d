#!/usr/bin/env bash
# Transaction-level loans arrive with pseudonymous patron keys only; views
# roll them up to months and count active users without personal data. A
# clear patron identifier is refused.
source "$(dirname "$0")/lib.sh"
it_setup
IT_RESET_TABLES="core.loan_transactions ingest.batches ingest.quarantine" it_reset_db
mkdir -p "$IT_DIR/www"
key() { printf '%s' "$1" | sha256sum | cut -c1-64; } # stands in for the collector's HMAC
{
    echo "Authority,Transaction id,Library name,Issued at,Type,Patron key,Renewal"
    echo "Exampleshire,T1,Abbey,2024-03-31T23:30:00Z,Adult fiction,$(key alice),No"  # 1 April 00:30 in London (BST)
    echo "Exampleshire,T2,Abbey,2024-04-02 10:00,Adult fiction,$(key alice),Yes"
    echo "Exampleshire,T3,Abbey,2024-04-03 11:00,DVD,$(key bob),No"
    echo "Exampleshire,T4,Brook,2024-05-01 09:15,Adult fiction,$(key carol),No"
    echo "Exampleshire,T5,Brook,2024-03-15 09:15,Adult fiction,$(key alice),No"
    echo "Exampleshire,T6,Brook,2024-05-02 09:15,Adult fiction,,No"
    echo "Exampleshire,T7,Brook,2024-05-03 09:15,Adult fiction,23456789,No"  # a clear library card number
} >"$IT_DIR/www/transactions.csv"
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start
it_collector_config "$IT_DIR/t.json" lms "http://127.0.0.1:$IT_HTTP_PORT/transactions.csv" '"dataset": "loan_transactions"'
it_collect "$IT_DIR/t.json" || it_fail "collector exited with $?"
it_assert_eq "6|1" "$(it_psql "SELECT (SELECT count(*) FROM core.loan_transactions), (SELECT count(*) FROM ingest.quarantine)")" "six loaded, one quarantined"
it_assert_eq '"patron_key" is "23456789": is not a pseudonymous key (64 lower-case hex digits); clear patron identifiers are refused' \
    "$(it_psql "SELECT reason FROM ingest.quarantine")" "a clear identifier is refused"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM core.loan_transactions WHERE patron_key = '23456789'")" "and is not stored"
it_assert_eq "Abbey|2024-04-01|3|2|1|1
Brook|2024-03-01|1|1|0|1
Brook|2024-05-01|2|2|0|1" "$(it_psql "SELECT service_point, month, sum(loans), sum(issues), sum(renewals), max(borrowers) FROM core.v_transaction_loans_monthly GROUP BY 1, 2 ORDER BY 1, 2")" \
    "monthly rollup in UK time (T1 falls in April); borrowers per item type"
it_assert_eq "2023-24|1|1
2024-25|3|5" "$(it_psql "SELECT financial_year, active_users, loans FROM core.v_transaction_active_users ORDER BY 1")" \
    "active users per financial year, distinct pseudonymous keys"
it_daemon_stop
