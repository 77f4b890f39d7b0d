#!/usr/bin/env bash
# The collector against a misbehaving HTTP server (tests/tools/fake_http.py):
# a stalled body times out clearly; a dropped connection, 5xx and 429 are
# retried (429 after its Retry-After); a body cut short keeps the records
# before the cut, once each, and says so; basic and bearer credentials come
# from files, a refused one is named as such, and no secret shows in the log
# or in `ps`; SIGTERM interrupts a stalled transfer and a back-off wait.
source "$(dirname "$0")/lib.sh"
it_setup
it_reset_db

# Secrets, written with the printf builtin so that they are on no command line.
mkdir -p "$IT_DIR/www" "$IT_DIR/creds"
password=$(it_random_secret pw-)
token=$(it_random_secret tok-)
wrong="wrong-Mm5t-Lr8c"
printf '%s\n' "$password" >"$IT_DIR/creds/password"
printf '%s\n' "$token" >"$IT_DIR/creds/token"
printf '%s\n' "$wrong" >"$IT_DIR/creds/wrong"
chmod 600 "$IT_DIR"/creds/*

read -r small_rows small_total < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/small.csv" 40)
read -r big_rows _ < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/big.csv" 3000)
it_log "small.csv: $small_rows rows ($small_total loans); big.csv: $big_rows rows"

# The fake server, in this shell so that the exit trap stops it.
it_fake_http_start "$IT_DIR/www" --user shelf \
    --password-file "$IT_DIR/creds/password" --token-file "$IT_DIR/creds/token"
fake=$IT_FAKE_URL

it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start

# fake_stats PATH: "COUNT GAP" for PATH: requests made and seconds between the
# first two (0 with fewer than two).
fake_stats() {
    ss_python - "$fake/stats" "$1" <<'PY'
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1], timeout=5)).get(sys.argv[2], {"count": 0, "times": []})
t = s["times"]
print(s["count"], "%.3f" % (t[1] - t[0] if len(t) > 1 else 0))
PY
}
fake_count() { fake_stats "$1" | cut -d' ' -f1; }

# expect_small SOURCE: every row of small.csv is loaded, each once, by SOURCE.
expect_small() {
    it_assert_eq "$small_rows|$small_total" \
        "$(it_psql "SELECT count(*), sum(loans) FROM core.loans WHERE source = '$1'")" "$1: rows and total loans"
    it_assert_eq "$small_rows|0" \
        "$(it_psql "SELECT sum(accepted), sum(quarantined) FROM ingest.batches WHERE source = '$1'")" "$1: ledger (nothing sent twice)"
}

# log_has SOURCE TEXT: the collector's log for SOURCE holds TEXT.
log_has() {
    grep -qF -- "$2" "$IT_DIR/collect-$1.log" || it_fail "collect-$1.log lacks: $2"
    it_log "ok: collect-$1.log says: $2"
}
now_ms() { date +%s%3N; }

# ---------------------------------------------------------------------------
it_log "a server that stalls after the headers: a clear timeout, exit status 2, no retry"
it_collector_config "$IT_DIR/slow.json" slow "$fake/slow/small.csv" '"http": {"low_speed_s": 2, "retries": 0}'
t0=$SECONDS
st=0; it_collect "$IT_DIR/slow.json" || st=$?
took=$((SECONDS - t0))
it_assert_eq 2 "$st" "exit status"
log_has slow "$fake/slow/small.csv: timed out: the server sent less than 1 byte/s for 2 s (http.low_speed_s)"
it_assert_eq 1 "$(fake_count /slow/small.csv)" "requests (retries 0)"
((took >= 2 && took <= 10)) || it_fail "the timeout took $took s (expected 2 to 10)"
it_assert_eq 0 "$(it_psql "SELECT count(*) FROM core.loans WHERE source = 'slow'")" "nothing loaded"

# ---------------------------------------------------------------------------
it_log "a server that drops the first connection: retried, everything loads"
it_reset_db
it_collector_config "$IT_DIR/dies.json" dies "$fake/die-once/small.csv"
st=0; it_collect "$IT_DIR/dies.json" || st=$?
it_assert_eq 0 "$st" "exit status"
it_assert_eq 2 "$(fake_count /die-once/small.csv)" "requests"
log_has dies "$fake/die-once/small.csv: Empty reply from server; retry 1 of 5 in "
expect_small dies

# ---------------------------------------------------------------------------
it_log "two HTTP 500 answers, then the file: retried twice, everything loads"
it_reset_db
it_collector_config "$IT_DIR/fivehundred.json" fivehundred "$fake/500-twice/small.csv"
st=0; it_collect "$IT_DIR/fivehundred.json" || st=$?
it_assert_eq 0 "$st" "exit status"
it_assert_eq 3 "$(fake_count /500-twice/small.csv)" "requests"
log_has fivehundred "$fake/500-twice/small.csv: the server answered HTTP 500; retry 1 of 5 in "
log_has fivehundred "$fake/500-twice/small.csv: the server answered HTTP 500; retry 2 of 5 in "
expect_small fivehundred

# ---------------------------------------------------------------------------
it_log "HTTP 429 with Retry-After: 1: the next request waits at least 1 s"
it_reset_db
it_collector_config "$IT_DIR/busy.json" busy "$fake/429/small.csv"
st=0; it_collect "$IT_DIR/busy.json" || st=$?
it_assert_eq 0 "$st" "exit status"
read -r count gap < <(fake_stats /429/small.csv)
it_assert_eq 2 "$count" "requests"
it_assert_eq yes "$(ss_python -c 'import sys; print("yes" if float(sys.argv[1]) >= 1.0 else "no")' "$gap")" \
    "second request at least 1 s after the first (gap $gap s)"
log_has busy "$fake/429/small.csv: the server answered HTTP 429; retry 1 of 5 in 1.0 s (Retry-After)"
expect_small busy

# ---------------------------------------------------------------------------
it_log "a body cut short: a clear error, exit status 2, the complete rows before the cut loaded once"
it_reset_db
# What arrives, computed independently: the first half of the file; the rows
# whose line end is in it are complete, the next one is cut.
mapfile -t ci < <(ss_python - "$IT_DIR/www/big.csv" <<'PY'
import csv, io, sys
data = open(sys.argv[1], "rb").read()
half = len(data) // 2
head = data[:half]
assert head[-1:] not in (b"\r", b"\n"), "the cut falls on a line end: pick another row count"
rows = list(csv.reader(io.StringIO(data.decode(), newline="")))[1:]
n = head.count(b"\n") - 1  # complete data rows (less the header)
print(len(data), half, n, sum(int(r[4]) for r in rows[:n]), sep="\n")
for r in (rows[n - 1], rows[n]):  # the last complete row, the cut one
    print(r[1], r[2], r[3], sep="\n")
PY
)
((${#ci[@]} == 10)) || it_fail "cannot compute the cut point"
size=${ci[0]} half=${ci[1]} cut_rows=${ci[2]} cut_total=${ci[3]}
it_log "big.csv: $size bytes, cut at $half: $cut_rows complete rows; last ${ci[*]:4:3}; cut ${ci[*]:7:3}"
it_collector_config "$IT_DIR/cut.json" cut "$fake/truncated/big.csv" '"batch": {"records": 100}'
st=0; it_collect "$IT_DIR/cut.json" || st=$?
it_assert_eq 2 "$st" "exit status"
log_has cut "$fake/truncated/big.csv: the body was cut short after $half of $size bytes"
it_assert_eq 1 "$(fake_count /truncated/big.csv)" "requests (a body that has begun is not fetched again)"
it_assert_eq "$cut_rows|$cut_total" "$(it_psql "SELECT count(*), sum(loans) FROM core.loans WHERE source = 'cut'")" \
    "rows and loans before the cut"
it_assert_eq "$cut_rows|0" "$(it_psql "SELECT sum(accepted), sum(quarantined) FROM ingest.batches WHERE source = 'cut'")" \
    "ledger: each record once, none quarantined"
row_sql() { # LIBRARY MONTH TYPE
    printf "SELECT count(*) FROM core.loans WHERE source = 'cut' AND service_point = '%s' AND period_start = '%s-01' AND item_type = '%s'" \
        "$1" "$2" "${3//\'/\'\'}"
}
it_assert_eq 1 "$(it_psql "$(row_sql "${ci[4]}" "${ci[5]}" "${ci[6]}")")" "the last complete row is loaded"
it_assert_eq 0 "$(it_psql "$(row_sql "${ci[7]}" "${ci[8]}" "${ci[9]}")")" "the cut row is not loaded"
[[ ! -e $IT_DIR/state-cut/cursor ]] || it_fail "the cursor moved on after a cut body"

# ---------------------------------------------------------------------------
# run_secret SOURCE HTTP_JSON: run the collector against /auth/small.csv (the
# server waits 2 s first) in the background; while it waits, take `ps`.
run_secret() {
    it_collector_config "$IT_DIR/$1.json" "$1" "$fake/auth/small.csv?delay=2" "\"http\": $2"
    it_collect_bg "$IT_DIR/$1.json"
    local pid=$IT_COLLECT_PID
    it_wait_for '[[ $(fake_count /auth/small.csv) -gt '"$auth_seen"' ]]' 20 || it_fail "no request from $1"
    ps -eww -o pid=,args= >"$IT_DIR/ps-$1.txt"
    grep -q "^ *$pid .*shelfsync-collect --config $IT_DIR/$1.json" "$IT_DIR/ps-$1.txt" ||
        it_fail "ps did not show the running collector (pid $pid)"
    auth_seen=$(fake_count /auth/small.csv)
    st=0; it_collect_wait 60 || st=$?
}
no_secret_in() {
    local f s
    for f in "$@"; do
        for s in "$password" "$token" "$wrong"; do
            ! grep -qF -- "$s" "$f" || it_fail "a secret appears in $f"
        done
    done
    it_log "ok: no secret in $*"
}
auth_seen=0

it_log "basic auth from a password file"
it_reset_db
run_secret basic '{"auth": "basic", "username": "shelf", "password_file": "'"$IT_DIR/creds/password"'"}'
it_assert_eq 0 "$st" "exit status"
expect_small basic
no_secret_in "$IT_DIR/ps-basic.txt"

it_log "bearer auth, the token from \$CREDENTIALS_DIRECTORY"
it_reset_db
export CREDENTIALS_DIRECTORY=$IT_DIR/creds
run_secret bearer '{"auth": "bearer", "token_file": "token"}'
unset CREDENTIALS_DIRECTORY
it_assert_eq 0 "$st" "exit status"
expect_small bearer
no_secret_in "$IT_DIR/ps-bearer.txt"

it_log "a wrong password: HTTP 401 named as refused credentials, not retried"
it_reset_db
run_secret refused '{"auth": "basic", "username": "shelf", "password_file": "'"$IT_DIR/creds/wrong"'"}'
it_assert_eq 2 "$st" "exit status"
log_has refused "$fake/auth/small.csv?delay=2: the server refused the credentials (HTTP 401): check \"http.username\" and \"http.password_file\""
it_assert_eq 0 "$(it_psql "SELECT count(*) FROM core.loans WHERE source = 'refused'")" "nothing loaded"
no_secret_in "$IT_DIR/ps-refused.txt"
it_assert_eq 3 "$(fake_count /auth/small.csv)" "requests to /auth/: one a run, a 401 is not retried"
no_secret_in "$IT_DIR"/collect-*.log "$IT_DIR/daemon.log" "$IT_DIR"/*.json

# ---------------------------------------------------------------------------
it_log "SIGTERM ends a stalled transfer at once"
it_collector_config "$IT_DIR/stall.json" stall "$fake/slow/big.csv"
it_collect_bg "$IT_DIR/stall.json"
it_wait_for '[[ $(fake_count /slow/big.csv) -ge 1 ]]' 20 || it_fail "no request from stall"
sleep 0.5
kill -TERM "$IT_COLLECT_PID"
t0=$(now_ms)
st=0; it_collect_wait 10 || st=$?
took=$(($(now_ms) - t0))
((took <= 3000)) || it_fail "the collector took $took ms to stop"
it_log "ok: stopped $took ms after SIGTERM (exit status $st)"
log_has stall "stopping on a signal"

it_log "SIGTERM ends a back-off wait at once"
# /503-wait/ answers 503 with Retry-After: 30 every time: the collector waits 30 s.
it_collector_config "$IT_DIR/wait.json" wait "$fake/503-wait/small.csv"
it_collect_bg "$IT_DIR/wait.json"
it_wait_for 'grep -qF "the server answered HTTP 503; retry 1 of 5 in 30.0 s (Retry-After)" "$IT_DIR/collect-wait.log"' 20 ||
    it_fail "the collector did not start waiting"
kill -TERM "$IT_COLLECT_PID"
t0=$(now_ms)
st=0; it_collect_wait 10 || st=$?
took=$(($(now_ms) - t0))
((took <= 3000)) || it_fail "the collector took $took ms to stop"
it_log "ok: stopped $took ms after SIGTERM (exit status $st)"
it_assert_eq 1 "$(fake_count /503-wait/small.csv)" "requests (none after the signal)"
log_has wait "stopping on a signal"
it_assert_eq 0 "$(it_psql "SELECT count(*) FROM core.loans WHERE source = 'wait'")" "nothing loaded"

it_daemon_stop
