#!/usr/bin/env bash
# The daemon's metrics and health endpoint. /metrics passes `promtool check
# metrics`; its counters equal what the test sent (2 batches of 5 records,
# 3 loaded and 2 quarantined, and one batch refused); a real Prometheus
# scrapes it (up == 1 and a counter through its query API). /health says
# "ok", then 503 "PostgreSQL unreachable" while PostgreSQL is stopped, ok
# again once it is back, and 503 while a batch is stuck behind a table lock
# (the answer comes from the server's own thread, so a stuck main loop is
# reported, not silent); a slow HTTP client does not hold up batches.
source "$(dirname "$0")/lib.sh"
it_setup
it_need_tool curl "apt-get install curl"
it_need_tool promtool "apt-get install prometheus"
it_daemon_config "$IT_DIR/daemon.json"
mport=$(ss_free_port)
ss_python - "$IT_DIR/daemon.json" "$mport" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["metrics"] = {"listen": "127.0.0.1:" + sys.argv[2]}
c["health"] = {"max_batch_wait_s": 2, "loop_stall_s": 3}
json.dump(c, open(sys.argv[1], "w"))
PY
it_migrate
it_test_authorities
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine ingest.runs" it_reset_db
it_daemon_start
url="http://127.0.0.1:$mport"
health() { curl -s -o "$IT_DIR/health.txt" -w '%{http_code}' --max-time 5 "$url/health"; }
health_is() { [[ $(health) == "$1" ]]; }
ss_wait_until 10 health_is 200 || { cat "$IT_DIR/health.txt"; it_fail "/health is not 200 after start"; }
it_assert_eq "ok" "$(cat "$IT_DIR/health.txt")" "/health body when healthy"

mkdir -p "$IT_DIR/www"
cat >"$IT_DIR/www/l.csv" <<'CSV'
Local authority,Library name,Month,Type,Loans
Exampleshire,Central Library,2024-04,Adult fiction,5
Exampleshire,Central Library,2024-05,Adult fiction,6
Exampleshire,Central Library,2024-06,Adult fiction,7
Nowhereshire,Central Library,2024-04,Adult fiction,8
Nowhereshire,Central Library,2024-05,Adult fiction,9
CSV
it_http_start "$IT_DIR/www"
it_collector_config "$IT_DIR/m1.json" m1 "http://127.0.0.1:$IT_HTTP_PORT/l.csv" '"batch": {"records": 3}'
it_collect "$IT_DIR/m1.json" || it_fail "the collector failed"
it_assert_eq "3" "$(it_psql "SELECT count(*) FROM core.loans WHERE source = 'm1'")" "rows loaded"
it_assert_eq "2" "$(it_psql "SELECT count(*) FROM ingest.quarantine WHERE source = 'm1'")" "rows quarantined"
# One refused batch: an unknown dataset.
printf '\x02\x00\x00\x00\x00\x00\x00' >"$IT_DIR/empty.bin"
out=$("$SS_BIN_DIR/ss_peer" "tcp://127.0.0.1:$IT_ZMQ_PORT" --timeout 3000 'shelfsync/2' \
    '{"type":"batch","source":"m2","run_id":"r1","seq":1,"dataset":"secrets","records":1,"fields":1}' \
    "file:$IT_DIR/empty.bin") || it_fail "no reply to the refused batch"
[[ $out == *'"status":"refused"'* ]] || it_fail "the batch was not refused: $out"

curl -sf --max-time 5 "$url/metrics" >"$IT_DIR/metrics.txt" || it_fail "GET /metrics failed"
promtool check metrics <"$IT_DIR/metrics.txt" >"$IT_DIR/promtool.log" 2>&1 ||
    { cat "$IT_DIR/promtool.log"; it_fail "promtool check metrics failed"; }
it_log "promtool check metrics: clean ($(wc -l <"$IT_DIR/metrics.txt") lines)"
metric() { awk -v k="$1" '$1 == k { print $2 }' "$IT_DIR/metrics.txt"; }
s='{source="m1",dataset="loans"}'
it_assert_eq "2" "$(metric "shelfsync_batches_received_total$s")" "batches received"
it_assert_eq "2" "$(metric "shelfsync_batches_applied_total$s")" "batches applied"
it_assert_eq "0" "$(metric "shelfsync_batches_duplicate_total$s")" "batches duplicated"
it_assert_eq "5" "$(metric "shelfsync_records_received_total$s")" "records received"
it_assert_eq "3" "$(metric "shelfsync_records_applied_total$s")" "records applied"
it_assert_eq "2" "$(metric "shelfsync_records_quarantined_total$s")" "records quarantined"
it_assert_eq "1" "$(metric 'shelfsync_batches_refused_total{source="m2",dataset="secrets"}')" "batch refused"
it_assert_eq "1" "$(metric shelfsync_postgresql_connected)" "PostgreSQL connected"
it_assert_eq "3" "$(metric shelfsync_apply_duration_seconds_count)" "apply latency samples"
[[ -n $(metric "shelfsync_last_batch_timestamp_seconds$s") ]] || it_fail "no last batch time for m1"
grep -q '^shelfsync_build_info{version="' "$IT_DIR/metrics.txt" || it_fail "no build info"

# The same batch twice: the second is a duplicate.
ss_python - "$IT_DIR/one.bin" <<'PY'
import struct, sys
f = [b"Exampleshire", b"Main Library", b"2024-04", None, None, None, b"Adult fiction", b"5"]
b = struct.pack('<IBH', 2, 0, len(f))
for x in f:
    b += struct.pack('<I', 0xFFFFFFFF) if x is None else struct.pack('<I', len(x)) + x
open(sys.argv[1], "wb").write(b)
PY
for i in 1 2; do
    "$SS_BIN_DIR/ss_peer" "tcp://127.0.0.1:$IT_ZMQ_PORT" --timeout 3000 'shelfsync/1' \
        '{"type":"batch","source":"m3","run_id":"r1","seq":1,"dataset":"loans","records":1,"fields":8}' \
        "file:$IT_DIR/one.bin" >"$IT_DIR/dup$i.txt" || it_fail "no reply to batch m3 ($i)"
done
grep -q '"status":"duplicate"' "$IT_DIR/dup2.txt" || it_fail "the second m3 batch is not a duplicate: $(cat "$IT_DIR/dup2.txt")"
curl -sf --max-time 5 "$url/metrics" >"$IT_DIR/metrics.txt" || it_fail "GET /metrics failed"
it_assert_eq "1" "$(metric 'shelfsync_batches_applied_total{source="m3",dataset="loans"}')" "m3 applied once"
it_assert_eq "1" "$(metric 'shelfsync_batches_duplicate_total{source="m3",dataset="loans"}')" "m3 duplicate once"

# --- a real Prometheus scraping the endpoint ---
if command -v prometheus >/dev/null; then
    pport=$(ss_free_port)
    cat >"$IT_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: shelfsyncd
    static_configs:
      - targets: ["127.0.0.1:$mport"]
YML
    prometheus --config.file="$IT_DIR/prometheus.yml" --storage.tsdb.path="$IT_DIR/tsdb" \
        --web.listen-address="127.0.0.1:$pport" >"$IT_DIR/prometheus.log" 2>&1 </dev/null &
    IT_PIDS+=("$!")
    q() { curl -s --max-time 5 --data-urlencode "query=$1" "http://127.0.0.1:$pport/api/v1/query"; }
    it_wait_for '[[ $(q up) == *"\"value\":["*",\"1\"]"* ]]' 30 || { tail "$IT_DIR/prometheus.log"; it_fail "Prometheus does not see the daemon up"; }
    it_wait_for '[[ $(q "shelfsync_records_quarantined_total{source=\"m1\"}") == *",\"2\"]"* ]]' 15 ||
        it_fail "Prometheus does not have the quarantined count: $(q 'shelfsync_records_quarantined_total')"
    it_log "Prometheus scraped the daemon: up 1, quarantined 2"
else
    it_log "prometheus is not installed: the real-scraper check is skipped (promtool ran)"
fi

# --- a slow HTTP client holds nothing up ---
"$SS_PYTHON" -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.send(b"GET /metr")
time.sleep(8)
' "$mport" >/dev/null 2>&1 &
slow=$!
IT_PIDS+=("$slow")
sleep 0.3
t0=$SECONDS
out=$("$SS_BIN_DIR/ss_peer" "tcp://127.0.0.1:$IT_ZMQ_PORT" --timeout 3000 'shelfsync/2' '{"type":"ping","source":"p","run_id":"r","seq":1}') ||
    it_fail "no pong while a slow HTTP client holds the listener"
[[ $out == *pong* ]] || it_fail "unexpected reply: $out"
ss_wait_until 6 health_is 200 || it_fail "/health not answered within the slow client's deadline"
it_log "a slow HTTP client: pong at once, /health after $((SECONDS - t0)) s (the client's deadline is 2 s)"

# --- PostgreSQL stopped, then back ---
it_pg_stop
ss_wait_until 15 health_is 503 || it_fail "/health still $(health) with PostgreSQL stopped"
grep -q 'PostgreSQL unreachable' "$IT_DIR/health.txt" || { cat "$IT_DIR/health.txt"; it_fail "no reason in /health"; }
it_log "PostgreSQL stopped: /health 503: $(tr '\n' ' ' <"$IT_DIR/health.txt")"
curl -sf --max-time 5 "$url/metrics" >"$IT_DIR/metrics.txt" || it_fail "GET /metrics failed"
it_assert_eq "0" "$(metric shelfsync_postgresql_connected)" "PostgreSQL gauge while stopped"
it_pg_start
ss_wait_until 15 health_is 200 || { cat "$IT_DIR/health.txt"; it_fail "/health not 200 after PostgreSQL returned"; }
it_log "PostgreSQL back: /health 200"

# --- a batch stuck behind a table lock ---
it_lock_table core.loans 8
locker=$IT_LOCKER_PID
printf 'Local authority,Library name,Month,Type,Loans\nExampleshire,Central Library,2023-04,Adult fiction,5\n' >"$IT_DIR/www/s.csv"
it_collector_config "$IT_DIR/s.json" stuck "http://127.0.0.1:$IT_HTTP_PORT/s.csv"
it_collect_bg "$IT_DIR/s.json"
ss_wait_until 7 health_is 503 || it_fail "/health still 200 while a batch is stuck"
it_log "stuck batch: /health 503: $(tr '\n' ' ' <"$IT_DIR/health.txt")"
grep -q 'batch stuck/.* waiting for' "$IT_DIR/health.txt" || it_fail "/health does not name the waiting batch"
ss_wait_until 5 grep -q "main loop stuck for" "$IT_DIR/health.txt" ||
    { health >/dev/null; grep -q 'main loop stuck for' "$IT_DIR/health.txt"; } || it_fail "/health does not say the main loop is stuck"
it_log "and: $(grep 'main loop' "$IT_DIR/health.txt")"
it_collect_wait 60 || it_fail "the stuck collector failed once the lock went"
ss_wait_until 10 health_is 200 || { cat "$IT_DIR/health.txt"; it_fail "/health not 200 after the lock went"; }
it_log "lock released: batch applied, /health 200"
it_daemon_stop || it_fail "the daemon did not stop cleanly"
