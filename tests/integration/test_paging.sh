#!/usr/bin/env bash
# Paging against library systems that behave as real ones (and the proxies
# before them) do, not as the collector asks: tests/tools/fake_folio.py and
# fake_koha.py told to cap the page size below the one asked for, to give
# totals that are estimates or stale, to fail every 30th request, to cut a
# body short, to change loans under a sweep.
#   FOLIO: a gateway capping limit at 100 (folio.limit 1000) with
#     totalRecords an estimate: 5,000 loans and 2,945 items all loaded, a
#     warning naming both numbers; nothing new: unchanged (exit 0); a body
#     cut short: exit 2, "cut short", progress saved and resumed; a fault on
#     the sweep's last (empty) page: the resumed run finds nothing and is
#     unchanged, then finds the next new loans; a loan made under a sweep at
#     an id already passed: fetched by the next run; a reset every 30th
#     request: each run exits 2 but saves progress, the runs converge to
#     every loan sent exactly once.
#   Koha: _per_page capped at 100 (koha.per_page 500) with Link headers,
#     without, with and without X-Total-Count, with a total that under-counts:
#     all 4,788 history rows; stock with the cap; HTTP 500 every 30th request:
#     the runs converge to 4,788 rows sent exactly once; a body cut short.
# Counts are checked exactly in PostgreSQL, and "sent exactly once" in the
# batch ledger (ingest.batches.records summed over a source's runs).
source "$(dirname "$0")/lib.sh"
it_setup
IT_RESET_TABLES="core.loan_transactions core.stock ingest.batches ingest.quarantine" it_reset_db

password=$(it_random_secret pw-)
printf '%s\n' "$password" >"$IT_DIR/folio.pw"
CLIENT_SECRET=$(it_random_secret cs-)
printf '%s\n' "$CLIENT_SECRET" >"$IT_DIR/client_secret"
it_random_secret hmac- >"$IT_DIR/hmac.key"
chmod 600 "$IT_DIR/folio.pw" "$IT_DIR/client_secret" "$IT_DIR/hmac.key"

# ---- the servers
"$SS_PYTHON" "$SS_SOURCE_DIR/tests/tools/fake_folio.py" --password-file "$IT_DIR/folio.pw" \
    --loans 5000 --items 2945 >"$IT_DIR/folio.out" 2>>"$IT_DIR/http.log" &
IT_PIDS+=("$!")
"$SS_PYTHON" "$SS_SOURCE_DIR/tests/tools/fake_koha.py" --client-id shelfsync \
    --client-secret "$CLIENT_SECRET" --history 4788 --max-per-page 100 \
    >"$IT_DIR/koha.port" 2>>"$IT_DIR/http.log" &
IT_PIDS+=("$!")
it_wait_for "grep -q '^PORT ' '$IT_DIR/folio.out'" 20 || it_fail "fake_folio did not start"
ss_wait_until 15 test -s "$IT_DIR/koha.port" || it_fail "fake_koha did not start"
okapi="http://127.0.0.1:$(awk '/^PORT /{print $2}' "$IT_DIR/folio.out")"
KOHA="http://127.0.0.1:$(head -n1 "$IT_DIR/koha.port")"
it_log "fake FOLIO gateway at $okapi, fake Koha at $KOHA"

fstats() { curl -sf "$okapi/stats" | ss_python -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, d))" "$1"; }
fadmin() { local body=${2:-'{}'}; curl -sf -X POST -H 'Content-Type: application/json' -d "$body" "$okapi/admin/$1" >/dev/null || it_fail "fake_folio admin $1 failed"; }
kstat() { curl -fsS "$KOHA/stats" | ss_python -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
kadmin() { curl -fsS -X POST "$KOHA/admin/$1" >/dev/null || it_fail "fake_koha admin $1 failed"; }
sent() { it_psql "SELECT coalesce(sum(records), 0) FROM ingest.batches WHERE source = '$1'"; }
issues() { it_psql "SELECT count(*) FROM core.loan_transactions WHERE NOT renewal AND transaction_id ${1:-!~ '^[0-9]+\$'}"; }

it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start

# Fast runs: no retry (a fault is a failed run), small batches (a run cut
# short has several, all acked before progress is saved).
fast='"http": {"retries": 0, "retry_max_s": 1}, "batch": {"records": 1000}, "send": {"give_up_after_s": 60}'
folio() { # NAME RESOURCE DATASET
    it_collector_config "$IT_DIR/$1.json" "$1" "$okapi" \
        "\"kind\": \"folio\", \"dataset\": \"$3\", \"folio\": {\"tenant\": \"diku\", \"username\": \"stats-collector\", \"password_file\": \"$IT_DIR/folio.pw\", \"resource\": \"$2\", \"limit\": 1000}, \"constants\": {\"authority\": \"Exampleshire\"}, \"privacy\": {\"hmac_key_file\": \"$IT_DIR/hmac.key\"}, $fast"
}
koha() { # NAME RESOURCE DATASET
    it_collector_config "$IT_DIR/$1.json" "$1" "$KOHA" \
        "\"kind\": \"koha\", \"dataset\": \"$3\", \"koha\": {\"resource\": \"$2\", \"auth\": \"oauth2\", \"client_id\": \"shelfsync\", \"client_secret_file\": \"$IT_DIR/client_secret\", \"per_page\": 500}, \"constants\": {\"authority\": \"Exampleshire\"}, \"privacy\": {\"hmac_key_file\": \"$IT_DIR/hmac.key\"}, $fast"
}
# until_ok CONFIG MAX: run until exit 0 (at most MAX runs); every other exit
# must be 2 (the fetch failed), with progress saved. RUNS: the runs made.
until_ok() {
    local st
    RUNS=0
    while ((RUNS < $2)); do
        RUNS=$((RUNS + 1))
        st=0
        it_collect "$1" || st=$?
        ((st == 0)) && return 0
        ((st == 2)) || it_fail "$1: run $RUNS exited $st, not 2 (a failed fetch) or 0"
        [[ -n $(it_cursor "$IT_DIR/state-$(_it_config_source "$1")") ]] ||
            it_fail "$1: run $RUNS failed and saved no progress"
    done
    it_fail "$1: no run of $2 completed"
}
last_outcome() { it_psql "SELECT outcome FROM ingest.runs WHERE source = '$1' ORDER BY started_at DESC LIMIT 1"; }

# =========================================================================
# FOLIO: a gateway that caps limit at 100; totalRecords exact below 1,000,
# past it an estimate (0.92 of the truth: 4,600 of 5,000)
fadmin config '{"max_limit": 100, "exact_below": 1000, "estimate_factor": 0.92}'
truth_renewed=$(fstats 'truth["renewed"]')

fadmin reset-stats
folio f-cap loans loan_transactions
it_collect "$IT_DIR/f-cap.json" || it_fail "FOLIO loans under a limit cap: the run failed"
it_assert_eq 5000 "$(issues)" "FOLIO cap: all 5,000 loans in core.loan_transactions"
it_assert_eq "$truth_renewed" "$(it_psql "SELECT count(*) FROM core.loan_transactions WHERE renewal")" "FOLIO cap: every renewal"
it_assert_eq 5000 "$(fstats 'served["/circulation/loans"]')" "FOLIO cap: each loan served once"
it_assert_eq $((5000 + truth_renewed)) "$(sent f-cap)" "FOLIO cap: each record sent once"
grep -q 'FOLIO /circulation/loans: 5000 records received, but totalRecords said 4600' "$IT_DIR/collect-f-cap.log" ||
    it_fail "FOLIO cap: no warning naming both 5000 and totalRecords 4600"
grep -q 'returned at most 100 records a page although "folio.limit" is 1000' "$IT_DIR/collect-f-cap.log" ||
    it_fail "FOLIO cap: the capped page size is not noticed"

fadmin reset-stats
folio f-items items stock
it_collect "$IT_DIR/f-items.json" || it_fail "FOLIO items under a limit cap: the run failed"
it_assert_eq 2945 "$(fstats 'served["/item-storage/items"]')" "FOLIO cap: all 2,945 items read"
it_assert_eq "$(fstats 'truth["stock"]')" "$(it_psql "SELECT sum(items) FROM core.stock")" \
    "FOLIO cap: core.stock counts every item in stock of the 2,945"
grep -q 'FOLIO /item-storage/items: 2945 records received, but totalRecords said 2709' "$IT_DIR/collect-f-items.log" ||
    it_fail "FOLIO cap: no warning on the items' totalRecords"

# ---- nothing new: unchanged, exit 0
fadmin reset-stats
it_collect "$IT_DIR/f-cap.json" || it_fail "FOLIO: the run with nothing new failed"
grep -q "unchanged since the last run" "$IT_DIR/collect-f-cap.log" || it_fail "FOLIO: nothing new is not unchanged"
it_assert_eq unchanged "$(last_outcome f-cap)" "FOLIO: the run with nothing new is recorded as unchanged"
it_assert_eq $((5000 + truth_renewed)) "$(sent f-cap)" "FOLIO: nothing new, nothing sent"

# ---- a body cut short (the 3rd loans page: Content-Length promises more)
fadmin config '{"fault_kind": "short", "fault_path": "/circulation/loans", "fault_at": [3], "fault_every": 0}'
folio f-cut loans loan_transactions
st=0; it_collect "$IT_DIR/f-cut.json" || st=$?
it_assert_eq 2 "$st" "FOLIO: a body cut short exits 2"
grep -q 'FOLIO .*/circulation/loans.*: the body was cut short after [0-9]* of [0-9]* bytes; nothing of this page was handed over' \
    "$IT_DIR/collect-f-cut.log" || it_fail "FOLIO: the message does not say the body was cut short"
grep -q 'HTTP 200' "$IT_DIR/collect-f-cut.log" && it_fail "FOLIO: a cut-short body is reported as an HTTP status"
cursor=$(it_cursor "$IT_DIR/state-f-cut")
[[ $cursor == folio-resume$'\n'* ]] || it_fail "FOLIO: the cut run saved no progress"
fadmin config '{"fault_at": []}'
it_collect "$IT_DIR/f-cut.json" || it_fail "FOLIO: the run after the cut failed"
grep -q 'resuming the sweep cut short by the last run' "$IT_DIR/collect-f-cut.log" || it_fail "FOLIO: the run after the cut did not resume"
it_assert_eq $((5000 + truth_renewed)) "$(sent f-cut)" "FOLIO: cut and resumed, each record sent exactly once"

# ---- a fault on the sweep's last page (the empty one after 50 full ones):
# every loan delivered, progress saved at the last id; the resumed run finds
# nothing after it, looks for what is new, finds nothing: unchanged.
fadmin config '{"fault_kind": "500", "fault_path": "/circulation/loans", "fault_at": [51], "fault_every": 0}'
folio f-end loans loan_transactions
st=0; it_collect "$IT_DIR/f-end.json" || st=$?
it_assert_eq 2 "$st" "FOLIO: a fault on the last page exits 2"
it_assert_eq $((5000 + truth_renewed)) "$(sent f-end)" "FOLIO: the fault on the last page came after every loan"
fadmin config '{"fault_at": []}'
fadmin reset-stats
it_collect "$IT_DIR/f-end.json" || it_fail "FOLIO: the resumed run with nothing left failed"
grep -q "unchanged since the last run" "$IT_DIR/collect-f-end.log" || it_fail "FOLIO: the resumed run with nothing left is not unchanged"
it_assert_eq 0 "$(fstats 'served["/circulation/loans"]')" "FOLIO: nothing left, nothing served"
it_assert_eq $((5000 + truth_renewed)) "$(sent f-end)" "FOLIO: nothing left, nothing sent"
# ...and the next new loans are found by it, whatever their ids
fadmin add-loans?count=7
it_collect "$IT_DIR/f-end.json" || it_fail "FOLIO: the run after new loans failed"
it_collect "$IT_DIR/f-end.json" || it_fail "FOLIO: the second run after new loans failed"
it_assert_eq 5007 "$(issues)" "FOLIO: the 7 new loans found after a resumed, empty sweep"

# ---- changes under a sweep: after its 3rd page, a loan is made under the
# lowest id of all (a page already passed) and the loan with the highest id
# changes; the sweep cannot see the first, so its cursor must not pass it.
fadmin config '{"mutate_after_page": 3}'
folio f-live loans loan_transactions
it_collect "$IT_DIR/f-live.json" || it_fail "FOLIO: the run with changes under the sweep failed"
new_id=$(fstats 'mutated[0]')
it_assert_eq 0 "$(issues "= '$new_id'")" "FOLIO: the loan made under the sweep at a passed id is not in it (the test tests)"
it_collect "$IT_DIR/f-live.json" || it_fail "FOLIO: the run after the changes failed"
it_assert_eq 1 "$(issues "= '$new_id'")" "FOLIO: the next run fetched the loan made under the last sweep"
it_assert_eq "$(fstats 'truth["loans"]')" "$(issues)" "FOLIO: every loan of the gateway in the warehouse"

# ---- a connection reset on every 30th request (logins included), no
# retries: each run fails but saves progress; the runs converge.
fadmin config '{"mutate_after_page": 0, "fault_kind": "reset", "fault_path": "/", "fault_every": 30, "fault_at": []}'
fadmin reset-stats
folio f-faults loans loan_transactions
until_ok "$IT_DIR/f-faults.json" 6
runs=$RUNS
[[ $runs -ge 2 ]] || it_fail "FOLIO: a fault every 30th request did not fail any run (the test tests nothing)"
[[ $(fstats 'faults') -ge 1 ]] || it_fail "FOLIO: no fault happened"
grep -q 'progress saved: the next run resumes' "$IT_DIR/collect-f-faults.log" || it_fail "FOLIO: no progress saved"
total=$(fstats 'truth["loans"] + truth["renewed"]')
it_assert_eq "$total" "$(sent f-faults)" "FOLIO: $runs runs under faults sent each of the $total records exactly once"
it_assert_eq "$(fstats 'truth["loans"]')|0" "$(it_psql "SELECT count(*) FILTER (WHERE NOT renewal), (SELECT count(*) FROM ingest.quarantine) FROM core.loan_transactions WHERE transaction_id !~ '^[0-9]+\$'")" \
    "FOLIO: every loan once, nothing quarantined"
fadmin config '{"fault_every": 0}'
it_log "ok: FOLIO under faults converged in $runs runs"

# =========================================================================
# Koha: _per_page capped at 100 (asked: 500); 4,788 returned checkouts
hist() { it_psql "SELECT count(*) FROM core.loan_transactions WHERE CASE WHEN transaction_id ~ '^[0-9]{1,9}\$' THEN transaction_id::int BETWEEN 1001 AND 5788 END"; }
for variant in "multi 1 0" "none 1 0" "none 0 0" "none 1 -1000"; do
    read -r link total offset <<<"$variant"
    name="k-$link-$total-${offset#-}"
    kadmin "config?link_style=$link&total_header=$total&total_offset=$offset"
    kadmin reset_stats
    koha "$name" checkouts_history loan_transactions
    it_collect "$IT_DIR/$name.json" || it_fail "Koha cap ($variant): the run failed"
    grep -q "koha: 4788 checkouts" "$IT_DIR/collect-$name.log" || it_fail "Koha cap (Link $link, total $total, offset $offset): not all 4,788 handed over"
    it_assert_eq 4788 "$(kstat 'd["records_served"]["/api/v1/checkouts?checked_in"]')" "Koha cap (Link $link, total $total, offset $offset): each row served once"
    it_assert_eq 4788 "$(sent "$name")" "Koha cap (Link $link, total $total, offset $offset): each row sent once"
    it_assert_eq 49 "$(kstat 'd["requests"]["/api/v1/checkouts"]')" \
        "Koha cap: 48 pages of at most 100, after one for the checkouts with no check-in date (none here)"
done
it_assert_eq 4788 "$(hist)" "Koha cap: all 4,788 history rows in core.loan_transactions"
grep -q 'koha: /api/v1/checkouts: 4788 rows received, but X-Total-Count said 3788' "$IT_DIR/collect-k-none-1-1000.log" ||
    it_fail "Koha: a total that under-counts is not warned about with both numbers"
grep -q 'answered at most 100 rows a page although koha.per_page is 500' "$IT_DIR/collect-k-none-0-0.log" ||
    it_fail "Koha: the capped page size is not noticed"

# stock with the cap and no total: 120 items in 2 pages, 110 in stock
kadmin "config?link_style=none&total_header=0&total_offset=0"
koha k-items items stock
it_collect "$IT_DIR/k-items.json" || it_fail "Koha items under a cap: the run failed"
it_assert_eq 110 "$(it_psql "SELECT sum(items) FROM core.stock WHERE service_point LIKE '% Library' AND item_type IN ('BK', 'DVD', 'CD')")" \
    "Koha cap: stock counts all 110 items in stock of the 120"

# ---- HTTP 500 on every 30th request (token requests included), no retries
kadmin "config?link_style=multi&total_header=1&fault_kind=500&fault_every=30"
koha k-faults checkouts_history loan_transactions
until_ok "$IT_DIR/k-faults.json" 6
runs=$RUNS
[[ $runs -ge 2 ]] || it_fail "Koha: a fault every 30th request did not fail any run (the test tests nothing)"
grep -q 'progress saved: the next run resumes' "$IT_DIR/collect-k-faults.log" || it_fail "Koha: no progress saved"
it_assert_eq 4788 "$(sent k-faults)" "Koha: $runs runs under faults sent each of the 4,788 rows exactly once"
it_assert_eq "4788|0" "$(hist)|$(it_psql 'SELECT count(*) FROM ingest.quarantine')" "Koha: every history row once, nothing quarantined"
kadmin "config?fault_every=0"
st=0; it_collect "$IT_DIR/k-faults.json" || st=$?
it_assert_eq 0 "$st" "Koha: the run after convergence exits 0"
grep -q "unchanged since the last run" "$IT_DIR/collect-k-faults.log" || it_fail "Koha: the run after convergence is not unchanged"
it_log "ok: Koha under faults converged in $runs runs"

# ---- a Koha body cut short (the 5th request: the 2nd history page, after the
# token, the libraries and the check for checkouts with no check-in date)
kadmin "config?fault_kind=short&fault_at=5"
koha k-cut checkouts_history loan_transactions
st=0; it_collect "$IT_DIR/k-cut.json" || st=$?
it_assert_eq 2 "$st" "Koha: a body cut short exits 2"
grep -q '/api/v1/checkouts.*: the body was cut short after [0-9]* of [0-9]* bytes; nothing of this page was handed over' \
    "$IT_DIR/collect-k-cut.log" || it_fail "Koha: the message does not say the body was cut short"
it_assert_eq 100 "$(sent k-cut)" "Koha: the page before the cut delivered"
kadmin "config?fault_at=0"
it_collect "$IT_DIR/k-cut.json" || it_fail "Koha: the run after the cut failed"
it_assert_eq 4788 "$(sent k-cut)" "Koha: cut and resumed, each row sent exactly once"

# ---- checkouts returned while the collector pages: each page's first row
# leaves /checkouts once served, moving every later row up one place. Paged
# by offset, the row at each page boundary was skipped for good (the cursor
# then passed its checkout_date); paged by keyset, none is.
kadmin "config?link_style=multi&total_header=1&fault_every=0&fault_at=0"
token=$(curl -fsS -X POST -d "grant_type=client_credentials&client_id=shelfsync&client_secret=$CLIENT_SECRET" "$KOHA/api/v1/oauth/token" |
    ss_python -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
before=$(curl -fsS -D - -o /dev/null -H "Authorization: Bearer $token" "$KOHA/api/v1/checkouts?_per_page=1" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "x-total-count" {print $2}')
[[ $before =~ ^[0-9]+$ ]] || it_fail "cannot count Koha's current checkouts"
kadmin "config?return_during_sweep=1"
kadmin reset_stats
koha k-open checkouts loan_transactions
it_collect "$IT_DIR/k-open.json" || it_fail "Koha with checkouts returned meanwhile: the run failed"
returned=$(kstat 'd.get("returned", 0)')
((returned >= 2)) || it_fail "Koha: only $returned checkouts were returned during the sweep (the test tests nothing)"
it_assert_eq "$before" "$(sent k-open)" "Koha: $returned checkouts returned during the sweep, and every one of the $before current at its start sent once"
it_assert_eq "$before" "$(it_psql "SELECT count(*) FROM core.loan_transactions WHERE CASE WHEN transaction_id ~ '^[0-9]{1,9}\$' THEN transaction_id::int < 1001 END")" \
    "Koha: every current checkout of the sweep's start is in the warehouse"
kadmin "config?return_during_sweep=0"

grep -l -- "$password" "$IT_DIR"/collect-*.log && it_fail "the FOLIO password is in a collector log"
grep -l -- "$CLIENT_SECRET" "$IT_DIR"/collect-*.log && it_fail "the Koha client secret is in a collector log"
it_log "PASS"
