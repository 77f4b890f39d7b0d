#!/usr/bin/env bash
# The "folio" source kind against tests/tools/fake_folio.py, a fake Okapi
# gateway: login with expiring cookies, keyset paging past a totalRecords
# that under-counts (warned about with both numbers), token refresh mid-run
# (before expiry, and after a 401), incremental runs on
# metadata.updatedDate (nothing new: unchanged, exit 0; loans of the minute
# before a sweep read again), service points, stock from items, clear
# errors for a wrong tenant or password, no password in the log, and patron
# ids only as HMAC pseudonyms in the warehouse. Gateways that cap the page
# size, fail or cut bodies short: test_paging.sh.
source "$(dirname "$0")/lib.sh"
it_setup
IT_RESET_TABLES="core.loan_transactions core.service_points core.stock ingest.batches ingest.quarantine" it_reset_db

password=$(it_random_secret pw-)
printf '%s\n' "$password" >"$IT_DIR/folio.pw"
it_random_secret hmac- >"$IT_DIR/hmac.key"
wrong=$(it_random_secret wrong-)
printf '%s\n' "$wrong" >"$IT_DIR/wrong.pw"
chmod 600 "$IT_DIR"/*.pw "$IT_DIR/hmac.key"

# ---- the fake gateway
"$SS_PYTHON" "$SS_SOURCE_DIR/tests/tools/fake_folio.py" --password-file "$IT_DIR/folio.pw" \
    --token-ttl 600 >"$IT_DIR/folio.out" 2>>"$IT_DIR/http.log" &
IT_PIDS+=("$!")
it_wait_for "grep -q '^PORT ' '$IT_DIR/folio.out'" 20 || it_fail "fake_folio did not start"
port=$(awk '/^PORT /{print $2}' "$IT_DIR/folio.out")
okapi="http://127.0.0.1:$port"
it_log "fake FOLIO gateway at $okapi"
fstats() { curl -sf "$okapi/stats" | ss_python -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, d))" "$1"; }
fadmin() { local body=${2:-'{}'}; curl -sf -X POST -H 'Content-Type: application/json' -d "$body" "$okapi/admin/$1" >/dev/null; }

it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start

folio() { # NAME RESOURCE DATASET [TENANT] [PASSWORD_FILE] [EXTRA]
    it_collector_config "$IT_DIR/$1.json" "$1" "$okapi/" \
        "\"kind\": \"folio\", \"dataset\": \"$3\", \"folio\": {\"tenant\": \"${4:-diku}\", \"username\": \"stats-collector\", \"password_file\": \"${5:-$IT_DIR/folio.pw}\", \"resource\": \"$2\", \"limit\": 100}, \"constants\": {\"authority\": \"Exampleshire\"}, \"privacy\": {\"hmac_key_file\": \"$IT_DIR/hmac.key\"}${6:+, $6}"
}

# ---- clear errors
folio badtenant loans loan_transactions nosuchtenant
st=0; it_collect "$IT_DIR/badtenant.json" || st=$?
[[ $st != 0 ]] || it_fail "a wrong tenant did not fail the run"
grep -q 'check "folio.tenant" ("nosuchtenant")' "$IT_DIR/collect-badtenant.log" ||
    it_fail "the wrong-tenant error does not name folio.tenant"
it_log "ok: a wrong tenant fails with a message naming folio.tenant"

folio badpw loans loan_transactions diku "$IT_DIR/wrong.pw"
st=0; it_collect "$IT_DIR/badpw.json" || st=$?
[[ $st != 0 ]] || it_fail "a wrong password did not fail the run"
grep -q "FOLIO login as \"stats-collector\".*HTTP 422.*check \"folio.username\" and the password in $IT_DIR/wrong.pw" \
    "$IT_DIR/collect-badpw.log" || it_fail "the wrong-password error is not clear"
grep -q -- "$wrong" "$IT_DIR/collect-badpw.log" && it_fail "the wrong password is in the log"
it_log "ok: a wrong password fails with a message naming the password file, not the password"

sed 's/"tenant": "diku", //' "$IT_DIR/badpw.json" >"$IT_DIR/notenant.json"
st=0; it_collect "$IT_DIR/notenant.json" || st=$?
[[ $st != 0 ]] || it_fail "a config without folio.tenant was accepted"
grep -q '"folio".*required key missing\|"folio.tenant"' "$IT_DIR/collect-badpw.log" ||
    it_fail "the missing-tenant error does not name folio.tenant"
it_log "ok: a missing tenant is a config error"

folio users users active_users
st=0; it_collect "$IT_DIR/users.json" || st=$?
[[ $st != 0 ]] || it_fail "resource users was accepted"
grep -q '"folio.resource": "users" fills no core dataset' "$IT_DIR/collect-users.log" ||
    it_fail "resource users is not refused with a reason"
it_log "ok: resource users is refused at init with a reason"

# ---- loans: 2,500 past an under-estimated totalRecords, the token expiring
# mid-run and refreshed ahead of time (honest Max-Age)
fadmin config '{"token_ttl": 1.0, "delay": 0.08}'
fadmin reset-stats
folio lms loans loan_transactions
it_collect "$IT_DIR/lms.json" || it_fail "the loans run failed"
truth_loans=$(fstats 'truth["loans"]')
truth_renewed=$(fstats 'truth["renewed"]')
it_assert_eq 2500 "$truth_loans" "the fake holds 2,500 loans"
grep -q 'totalRecords 1666 (an estimate' "$IT_DIR/collect-lms.log" || it_fail "totalRecords was not logged as an estimate"
grep -q 'FOLIO /circulation/loans: 2500 records received, but totalRecords said 1666' "$IT_DIR/collect-lms.log" ||
    it_fail "the disagreeing totalRecords is not warned about with both numbers"
it_assert_eq 2500 "$(fstats 'served["/circulation/loans"]')" "each loan fetched once although totalRecords said 1666"
[[ $(fstats 'refreshes') -ge 1 ]] || it_fail "the access token was never refreshed"
it_assert_eq 0 "$(fstats 'unauthorized')" "refreshed before expiry: no 401"
it_assert_eq 1 "$(fstats 'logins')" "one login"
it_assert_eq "2500|2500|$truth_renewed|0" \
    "$(it_psql "SELECT count(*) FILTER (WHERE NOT renewal), count(DISTINCT split_part(transaction_id, '/', 1)), count(*) FILTER (WHERE renewal), (SELECT count(*) FROM ingest.quarantine) FROM core.loan_transactions")" \
    "all 2,500 issues once, one renewal row per renewed loan, nothing quarantined"
it_assert_eq "4" "$(it_psql "SELECT count(DISTINCT service_point) FROM core.loan_transactions WHERE service_point LIKE '% Library'")" \
    "service point ids mapped to names"

# ---- privacy: patron ids only as 64-hex pseudonyms
it_assert_eq "$(fstats 'truth["with_user"]')|0" \
    "$(it_psql "SELECT count(patron_key), count(*) FILTER (WHERE patron_key !~ '^[0-9a-f]{64}\$') FROM core.loan_transactions WHERE NOT renewal")" \
    "patron keys present for non-anonymised loans, all 64-hex"
dump=$("$SS_PGBIN/pg_dump" -h "$SS_PGHOST" -p "$SS_PGPORT" -U "$SS_PGUSER" -d "$SS_PGDATABASE" --data-only -n core -n ingest)
for u in $(fstats '" ".join(truth["user_ids"])'); do
    [[ $dump == *"$u"* ]] && it_fail "FOLIO user id $u is in the warehouse"
done
grep -rq "$(fstats 'truth["user_ids"][0]')" "$IT_DIR/collect-lms.log" && it_fail "a user id is in the collector log"
it_log "ok: no FOLIO user id in the warehouse or the log"

# ---- incremental: nothing new is "unchanged" (exit 0); then only the new loans
fadmin config '{"token_ttl": 600, "delay": 0}'
fadmin reset-stats
it_collect "$IT_DIR/lms.json" || it_fail "the run with nothing new failed"
it_assert_eq 0 "$(fstats 'served["/circulation/loans"]')" "nothing new: no loan fetched"
grep -q "unchanged since the last run" "$IT_DIR/collect-lms.log" || it_fail "the run with nothing new does not say unchanged"
it_assert_eq unchanged "$(it_psql "SELECT outcome FROM ingest.runs WHERE source = 'lms' ORDER BY started_at DESC LIMIT 1")" \
    "the run with nothing new is recorded as unchanged"
fadmin add-loans?count=7
fadmin reset-stats
it_collect "$IT_DIR/lms.json" || it_fail "the incremental run failed"
it_assert_eq 7 "$(fstats 'served["/circulation/loans"]')" "the second run fetched only the 7 new loans"
fstats 'queries[-1]' | grep -q 'metadata.updatedDate>"' || it_fail "the incremental query has no updatedDate clause"
it_assert_eq 2507 "$(it_psql "SELECT count(*) FROM core.loan_transactions WHERE NOT renewal")" "2,507 issues after the second run"
# The 7 were made (at the real time) less than a minute before that sweep
# began: its cursor stays a minute before it, so the next run reads them again
# (a loan changed under a sweep at an id already passed is caught that way);
# loading them again changes nothing.
fadmin reset-stats
it_collect "$IT_DIR/lms.json" || it_fail "the run after the incremental one failed"
it_assert_eq 7 "$(fstats 'served["/circulation/loans"]')" "loans of the minute before the sweep read again"
it_assert_eq "2507|0" "$(it_psql "SELECT count(*) FILTER (WHERE NOT renewal), (SELECT count(*) FROM ingest.quarantine) FROM core.loan_transactions")" \
    "read again: nothing doubled, nothing quarantined"

# ---- a full run again with a gateway whose cookie outlives the token: 401, refresh, same page again
fadmin config '{"token_ttl": 1.0, "cookie_max_age": 3600, "delay": 0.08}'
fadmin reset-stats
IT_RESET_TABLES="core.loan_transactions ingest.quarantine" it_reset_db
rm -f "$IT_DIR/state-lms/cursor"
it_collect "$IT_DIR/lms.json" || it_fail "the run with 401s failed"
[[ $(fstats 'expired') -ge 1 ]] || it_fail "the token never expired mid-run (the test proves nothing)"
[[ $(fstats 'refreshes') -ge 1 ]] || it_fail "no refresh after a 401"
it_assert_eq 2507 "$(fstats 'served["/circulation/loans"]')" "after 401s each loan still served once"
it_assert_eq "2507|0" "$(it_psql "SELECT count(*) FILTER (WHERE NOT renewal), (SELECT count(*) FROM ingest.quarantine) FROM core.loan_transactions")" \
    "nothing lost or doubled across the 401s"
fadmin config '{"token_ttl": 600, "cookie_max_age": null, "delay": 0}'

# ---- service points
folio sps service_points service_points diku "" \
    '"value_maps": {"postcode": {"CEN": "EX1 1AA", "NOR": "EX4 2BB", "SOU": "EX2 3CC", "MOB": "EX1 1AB"}}'
sed -i 's/"constants": {"authority": "Exampleshire"}/"constants": {"authority": "Exampleshire", "statutory": "yes", "library_type": "LAL"}/' "$IT_DIR/sps.json"
it_collect "$IT_DIR/sps.json" || it_fail "the service points run failed"
it_assert_eq "Central Library|EX1 1AA
Mobile Library|EX1 1AB
North Library|EX4 2BB
South Library|EX2 3CC" "$(it_psql "SELECT name, postcode FROM core.service_points ORDER BY name")" "four service points, postcodes by code"

# ---- items -> stock
folio stock items stock
it_collect "$IT_DIR/stock.json" || it_fail "the stock run failed"
it_assert_eq "$(fstats 'truth["stock"]')|4|3" \
    "$(it_psql "SELECT sum(items), count(DISTINCT service_point), count(DISTINCT item_type) FROM core.stock")" \
    "stock counts items in stock per service point x material type"

# ---- a page past its byte bound (limits.max_record_bytes x folio.limit) is a clear error
folio bigpage loans loan_transactions diku "" '"limits": {"max_record_bytes": 256}'
st=0; it_collect "$IT_DIR/bigpage.json" || st=$?
[[ $st != 0 ]] || it_fail "a page past its bound was accepted"
grep -q 'the page is larger than 25600 bytes.*lower "folio.limit"' "$IT_DIR/collect-bigpage.log" ||
    it_fail "the page bound error is not clear"
it_log "ok: a page past its byte bound fails with a clear message"

# ---- the password never in any collector log
grep -l -- "$password" "$IT_DIR"/collect-*.log && it_fail "the FOLIO password is in a collector log"
it_log "ok: the password appears in no collector log"
