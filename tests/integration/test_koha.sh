#!/usr/bin/env bash
# The koha and koha_report source kinds against tests/tools/fake_koha.py:
# checkouts -> loan_transactions (exact counts, values, pseudonymous patron
# keys), both Link header styles and none, a token that dies mid-run (401,
# new token, the page again: nothing lost, nothing twice) and one renewed
# before it runs out, incremental runs (only new checkouts; an unchanged
# source adds nothing), history, libraries -> service_points, items -> stock,
# saved reports (the 10-row cap: exit 8; an HTTP-200 error), Basic auth, bad
# credentials and filters with clear errors, and no secret in any log.
source "$(dirname "$0")/lib.sh"
it_setup

CLIENT_SECRET=$(it_random_secret cs-)
BASIC_PASSWORD=$(it_random_secret pw-)
printf '%s\n' "$CLIENT_SECRET" >"$IT_DIR/client_secret"
printf '%s\n' "$BASIC_PASSWORD" >"$IT_DIR/basic_password"
it_random_secret wrong- >"$IT_DIR/wrong_password"
it_random_secret hmac- >"$IT_DIR/hmac.key"
chmod 600 "$IT_DIR"/client_secret "$IT_DIR"/basic_password "$IT_DIR"/hmac.key

# ---- the fake Koha (started in this shell so the exit trap stops it) ----
"$SS_PYTHON" "$SS_SOURCE_DIR/tests/tools/fake_koha.py" --client-id shelfsync \
    --client-secret "$CLIENT_SECRET" --basic-user librarian --basic-password "$BASIC_PASSWORD" \
    >"$IT_DIR/fake.port" 2>>"$IT_DIR/http.log" &
IT_PIDS+=("$!")
ss_wait_until 15 test -s "$IT_DIR/fake.port" || it_fail "fake_koha did not start"
KOHA_PORT=$(head -n1 "$IT_DIR/fake.port")
KOHA="http://127.0.0.1:$KOHA_PORT"
it_log "fake Koha on $KOHA"

admin() { curl -fsS -X POST "$KOHA/admin/$1" >/dev/null || it_fail "fake_koha admin $1 failed"; }
kstat() { curl -fsS "$KOHA/stats" | ss_python -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
lt() { it_psql "SELECT $1 FROM core.loan_transactions WHERE authority_code = 'E99999901' ${2:-}"; }

# shellcheck disable=SC2034 # read by it_reset_db in lib.sh
IT_RESET_TABLES="core.loan_transactions core.service_points core.stock core.loans ingest.batches ingest.quarantine"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_reset_db
it_daemon_start

oauth='"auth":"oauth2","client_id":"shelfsync","client_secret_file":"'"$IT_DIR"'/client_secret"'
privacy='"privacy":{"hmac_key_file":"'"$IT_DIR"'/hmac.key"}'
loans() { # SOURCE [KOHA_EXTRA [RESOURCE]]
    it_collector_config "$IT_DIR/$1.json" "$1" "$KOHA/" \
        '"dataset":"loan_transactions","kind":"koha","koha":{"resource":"'"${3:-checkouts}"'",'"$oauth${2:+,$2}"'},"constants":{"authority":"Exampleshire"},'"$privacy"
}

# ---- checkouts -> loan_transactions ----
loans koha-loans '"per_page":50'
it_collect "$IT_DIR/koha-loans.json" || it_fail "the checkouts run failed"
it_assert_eq 257 "$(lt 'count(*)')" "current checkouts loaded"
it_assert_eq 257 "$(lt 'count(DISTINCT transaction_id)')" "one row per checkout_id"
it_assert_eq "Fairview Library|BK|false" "$(lt "service_point || '|' || item_type || '|' || renewal" "AND transaction_id = '1'")" \
    "checkout 1: library name, embedded item type, not a renewal"
it_assert_eq t "$(lt "issued_at = '2024-05-01T19:00:00+01:00'::timestamptz" "AND transaction_id = '1'")" "checkout 1: issued_at"
it_assert_eq "Centerville Library|DVD" "$(lt "service_point || '|' || item_type" "AND transaction_id = '150'")" \
    "checkout 150 (a page with unknown extra fields)"
it_assert_eq "Midway Library|DVD" "$(lt "service_point || '|' || item_type" "AND transaction_id = '230'")" \
    "checkout 230 (a page without the optional fields)"
it_assert_eq 257 "$(lt 'count(*)' "AND patron_key ~ '^[0-9a-f]{64}\$'")" "every patron_key is a 64-hex pseudonym"
it_assert_eq 41 "$(lt 'count(DISTINCT patron_key)')" "41 patrons, 41 pseudonyms"
it_assert_eq 0 "$(lt 'count(*)' "AND patron_key ~ '^50[0-9][0-9]\$'")" "no patron id in clear"
it_assert_eq 0 "$(it_psql 'SELECT count(*) FROM ingest.quarantine')" "nothing quarantined"
it_assert_eq 1 "$(kstat 'd["tokens_issued"]')" "one OAuth2 token for the run"
it_assert_eq 0 "$(kstat 'd["bad_requests"]')" "no request Koha would refuse (unknown parameters, embeds, q)"
it_assert_eq 7 "$(kstat 'd["requests"]["/api/v1/checkouts"]')" \
    "257 checkouts in 6 pages of 50, each after the last row of the one before, and one request for those without a checkout_date"

# An unchanged source adds nothing; new checkouts are the only ones handed
# over, those made in the very second of the last one seen included.
it_collect "$IT_DIR/koha-loans.json" || it_fail "the unchanged run failed"
grep -q "unchanged since the last run" "$IT_DIR/collect-koha-loans.log" || it_fail "the unchanged run did not say so"
it_assert_eq 257 "$(lt 'count(*)')" "an unchanged source adds nothing"
admin "add_checkouts?n=5"
it_collect "$IT_DIR/koha-loans.json" || it_fail "the incremental run failed"
grep -q "koha: 5 new checkouts since checkout_date" "$IT_DIR/collect-koha-loans.log" || it_fail "the incremental run did not hand over exactly the 5 new checkouts"
it_assert_eq 262 "$(lt 'count(*)')" "the 5 new checkouts loaded"
admin "add_checkouts?n=2&same_time=1"
it_collect "$IT_DIR/koha-loans.json" || it_fail "the same-second run failed"
grep -q "koha: 2 new checkouts since checkout_date" "$IT_DIR/collect-koha-loans.log" || it_fail "the 2 checkouts made in the cursor's second were not handed over (alone)"
it_assert_eq 264 "$(lt 'count(*)')" "checkouts in the cursor's own second loaded"
it_collect "$IT_DIR/koha-loans.json" || it_fail "the second unchanged run failed"
it_assert_eq 2 "$(grep -c "unchanged since the last run" "$IT_DIR/collect-koha-loans.log")" "unchanged again after the new ones"

# ---- Link header styles: one comma-joined header; none (page counting) ----
for style in single none; do
    admin "config?link_style=$style"
    admin reset_stats
    loans "koha-link-$style" '"per_page":30'
    it_collect "$IT_DIR/koha-link-$style.json" || it_fail "the run with Link style $style failed"
    grep -q "koha: 264 checkouts" "$IT_DIR/collect-koha-link-$style.log" || it_fail "Link style $style: not all 264 checkouts handed over"
    it_assert_eq 10 "$(kstat 'd["requests"]["/api/v1/checkouts"]')" "Link style $style: 264 checkouts in 9 pages of 30 (and the one for no checkout_date)"
    it_assert_eq 264 "$(kstat 'd["records_served"]["/api/v1/checkouts"]')" "Link style $style: every record served once"
done
admin "config?link_style=multi"
it_assert_eq 264 "$(lt 'count(*)')" "the same checkouts again change nothing"

# ---- a token that dies before its expires_in: 401, new token, page again ----
admin "config?token_ttl=1&token_expires_in=3600&delay_ms=250"
admin reset_stats
loans koha-expiry '"per_page":20'
it_collect "$IT_DIR/koha-expiry.json" || it_fail "the run with expiring tokens failed"
grep -q "koha: 264 checkouts" "$IT_DIR/collect-koha-expiry.log" || it_fail "token expiry: not exactly 264 checkouts handed over"
[[ $(kstat 'd["expired_tokens"]') -ge 1 ]] || it_fail "token expiry: no token expired mid-run (the test did not test)"
it_assert_eq "$(kstat 'd["expired_tokens"]+1')" "$(kstat 'd["tokens_issued"]')" "token expiry: one new token per 401"
it_assert_eq 264 "$(kstat 'd["records_served"]["/api/v1/checkouts"]')" "token expiry: each record served once (the 401 pages had no body)"
grep -q "the token was refused (HTTP 401)" "$IT_DIR/collect-koha-expiry.log" || it_fail "token expiry: the 401 is not logged"
it_assert_eq 264 "$(lt 'count(*)')" "token expiry: nothing lost, nothing twice"

# ---- a token renewed before its announced expiry: no 401 at all ----
admin "config?token_ttl=2&token_expires_in=2&delay_ms=250"
admin reset_stats
loans koha-renew '"per_page":20'
it_collect "$IT_DIR/koha-renew.json" || it_fail "the run with short-lived tokens failed"
it_assert_eq 0 "$(kstat 'd["unauthorized"]')" "short-lived tokens renewed before they run out"
[[ $(kstat 'd["tokens_issued"]') -ge 2 ]] || it_fail "short-lived tokens: no renewal happened"
admin "config?token_ttl=3600&token_expires_in=3600&delay_ms=0"

# ---- history, a user filter, a filter Koha refuses ----
loans koha-history '"per_page":50' checkouts_history
it_collect "$IT_DIR/koha-history.json" || it_fail "the history run failed"
it_assert_eq 284 "$(lt 'count(*)')" "20 returned checkouts added"
it_assert_eq 20 "$(lt 'count(*)' "AND transaction_id::int BETWEEN 1001 AND 1020")" "history rows by checkout_id"
# (the cursor read whole first: grep -q leaving a pipe early fails it under pipefail)
cursor=$(it_cursor "$IT_DIR/state-koha-history")
[[ $cursor == "koha1 checkin_date"$'\n'* ]] || it_fail "history: the cursor is not on checkin_date"

loans koha-cpl '"query":"{\"library_id\": \"CPL\"}"'
it_collect "$IT_DIR/koha-cpl.json" || it_fail "the filtered run failed"
cpl=$(lt 'count(*)' "AND service_point = 'Centerville Library' AND transaction_id::int < 1000")
grep -q "koha: $cpl checkouts" "$IT_DIR/collect-koha-cpl.log" || it_fail "koha.query: expected $cpl checkouts of CPL"
loans koha-badq '"query":"{\"no_such_field\": 1}"'
rc=0
it_collect "$IT_DIR/koha-badq.json" || rc=$?
it_assert_eq 2 "$rc" "a filter Koha refuses fails the run"
grep -q "HTTP 400.*check koha.query" "$IT_DIR/collect-koha-badq.log" || it_fail "the refused filter's error is not clear"

# ---- Basic auth ----
it_collector_config "$IT_DIR/koha-basic.json" koha-basic "$KOHA" \
    '"dataset":"loan_transactions","kind":"koha","koha":{"resource":"checkouts","auth":"basic","username":"librarian","password_file":"'"$IT_DIR"'/basic_password","per_page":100},"constants":{"authority":"Exampleshire"},'"$privacy"
admin reset_stats
it_collect "$IT_DIR/koha-basic.json" || it_fail "the Basic auth run failed"
grep -q "koha: 264 checkouts" "$IT_DIR/collect-koha-basic.log" || it_fail "Basic auth: not all checkouts"
it_assert_eq "0|0" "$(kstat 'str(d["tokens_issued"])+"|"+str(d["unauthorized"])')" "Basic auth: no token, no 401"
it_assert_eq 284 "$(lt 'count(*)')" "Basic auth: the same checkouts change nothing"
sed "s#$IT_DIR/basic_password#$IT_DIR/wrong_password#; s/koha-basic/koha-badpw/g" "$IT_DIR/koha-basic.json" >"$IT_DIR/koha-badpw.json"
rc=0
it_collect "$IT_DIR/koha-badpw.json" || rc=$?
it_assert_eq 2 "$rc" "a wrong password fails the run"
grep -q "HTTP 401.*RESTBasicAuth" "$IT_DIR/collect-koha-badpw.log" || it_fail "the wrong password's error is not clear"

# ---- libraries -> service_points ----
it_collector_config "$IT_DIR/koha-libs.json" koha-libs "$KOHA/api/v1" \
    '"dataset":"service_points","kind":"koha","koha":{"resource":"libraries",'"$oauth"'},"constants":{"authority":"Exampleshire","statutory":"Yes","library_type":"LAL"}'
it_collect "$IT_DIR/koha-libs.json" || it_fail "the libraries run failed"
sp() { it_psql "SELECT $1 FROM core.service_points WHERE authority_code = 'E99999901' $2"; }
it_assert_eq 3 "$(sp 'count(DISTINCT name)' '')" "3 libraries as service points"
it_assert_eq "3 Market Place|Midway Cross|Midway|EX3 3CC" \
    "$(sp "concat_ws('|', address_1, address_2, address_3, postcode)" "AND name = 'Midway Library'")" \
    "Midway: empty address line closed up, town in address_3"
it_assert_eq "1 High Street|Old Town|Centerville|cpl@example.org|https://example.org/cpl" \
    "$(sp "concat_ws('|', address_1, address_2, address_3, email, url)" "AND name = 'Centerville Library'")" \
    "Centerville: address, email, url"

# ---- items -> stock ----
it_collector_config "$IT_DIR/koha-items.json" koha-items "$KOHA" \
    '"dataset":"stock","kind":"koha","koha":{"resource":"items",'"$oauth"',"per_page":25},"constants":{"authority":"Exampleshire"}'
it_collect "$IT_DIR/koha-items.json" || it_fail "the items run failed"
it_assert_eq "9|110" "$(it_psql "SELECT count(*) || '|' || sum(items) FROM core.stock WHERE authority_code = 'E99999901'")" \
    "stock: 3 libraries x 3 item types, 120 items less 6 withdrawn and 4 lost"
it_assert_eq 1 "$(it_psql "SELECT count(*) FROM core.stock WHERE authority_code = 'E99999901' AND service_point = 'Midway Library' AND item_type = 'CD' AND count_date = (now() AT TIME ZONE 'UTC')::date")" \
    "stock: by library name and item type, dated today"

# ---- patron categories: refused at init ----
it_collector_config "$IT_DIR/koha-cats.json" koha-cats "$KOHA" \
    '"dataset":"loan_transactions","kind":"koha","koha":{"resource":"patron_categories",'"$oauth"'},"constants":{"authority":"Exampleshire"}'
rc=0
it_collect "$IT_DIR/koha-cats.json" || rc=$?
it_assert_eq 1 "$rc" "patron_categories is a setup error"
grep -q "no core dataset holds patron categories" "$IT_DIR/collect-koha-cats.log" || it_fail "patron_categories: no clear message"

# ---- saved reports ----
report() { # SOURCE ID
    it_collector_config "$IT_DIR/$1.json" "$1" "$KOHA" '"dataset":"loans","kind":"koha_report","koha":{"report_id":'"$2"'}'
}
# Koha's default SvcMaxReportRows (10) cuts the 12 rows: the 10 are loaded,
# and the run ends with exit status 8 and what to do.
report koha-report 1
rc=0
it_collect "$IT_DIR/koha-report.json" || rc=$?
it_assert_eq 8 "$rc" "report: a report cut at koha.max_report_rows (10) exits 8"
it_assert_eq "10|145" "$(it_psql "SELECT count(*) || '|' || sum(loans) FROM core.loans WHERE authority_code = 'E99999901'")" \
    "report: the 10 rows Koha's default SvcMaxReportRows allows"
grep -q "Koha capped the report at 10 rows (its system preference SvcMaxReportRows; koha.max_report_rows is 10).*The 10 rows received were delivered. Raise SvcMaxReportRows in Koha's system preferences.*set koha.max_report_rows to the same value" \
    "$IT_DIR/collect-koha-report.log" || it_fail "report: the cap's message does not say what happened and what to do"
it_assert_eq partial "$(it_psql "SELECT outcome FROM ingest.runs WHERE source = 'koha-report' ORDER BY started_at DESC LIMIT 1")" \
    "report: the capped run is recorded as partial"
# Raised in Koha but not in the config: complete, with a warning to set it.
admin "config?svc_max_rows=100000"
it_collect "$IT_DIR/koha-report.json" || it_fail "the second report run failed"
grep -q "returned 12 rows, more than koha.max_report_rows (10)" "$IT_DIR/collect-koha-report.log" ||
    it_fail "report: more rows than koha.max_report_rows is not warned about"
it_assert_eq "12|186" "$(it_psql "SELECT count(*) || '|' || sum(loans) FROM core.loans WHERE authority_code = 'E99999901'")" \
    "report: all 12 rows once the syspref is raised"
it_assert_eq 1 "$(it_psql "SELECT count(*) FROM core.loans WHERE authority_code = 'E99999901' AND service_point = 'Fairview Library' AND item_type = 'DVD' AND loans = 17")" \
    "report: a row's values by their column names"
report koha-badreport 99
rc=0
it_collect "$IT_DIR/koha-badreport.json" || rc=$?
it_assert_eq 2 "$rc" "a report id Koha does not know fails the run"
grep -q "report 99 failed: Koha answered HTTP 200 with an error instead of rows.*There is no such report" \
    "$IT_DIR/collect-koha-badreport.log" || it_fail "the bad report's error is not clear"

# ---- no secret in any collector log ----
for s in "$CLIENT_SECRET" "$BASIC_PASSWORD" "$(printf 'librarian:%s' "$BASIC_PASSWORD" | base64)"; do
    if grep -rqF -- "$s" "$IT_DIR"/collect-*.log; then
        it_fail "a secret appears in a collector log"
    fi
done
it_log "no secret in the collector logs"
it_log "PASS"
