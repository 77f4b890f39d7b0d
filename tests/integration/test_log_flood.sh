#!/usr/bin/env bash
# A hostile peer that controls the rate of log lines gets a bounded number of
# them: 1,000 bad messages, each over a connection of its own (600 too
# large, 400 with a broken header), write at most limits.log_burst lines per
# reason per window, and summaries that account for every other one
# ("bad messages: N more in the last S s not logged one by one: ..."): lines
# plus summarised counts equal the 1,000 sent. The daemon's memory (VmRSS)
# after the burst falls back near what it was before it (figures printed),
# and a good collector is served afterwards.
source "$(dirname "$0")/lib.sh"
it_setup
it_daemon_config "$IT_DIR/daemon.json"
ss_python - "$IT_DIR/daemon.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["limits"] = {"max_message_bytes": 1048576, "log_burst": 5, "log_summary_s": 3}
c["metrics"] = {"listen": "off"}
json.dump(c, open(sys.argv[1], "w"))
PY
it_migrate
it_test_authorities
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine ingest.runs" it_reset_db
# Under the sanitizer build, ASan's allocator keeps freed memory in a
# quarantine (256 MB by default) and returns it to the system only when told
# to: make it behave as malloc would, so RSS means the same as in a release
# build.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1:thread_local_quarantine_size_kb=64:allocator_release_to_os_interval_ms=200" \
    it_daemon_start
ep="tcp://127.0.0.1:$IT_ZMQ_PORT"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$IT_DAEMON_PID/status"; }
# Warm up: one of each kind, so the baseline has the code paths in memory.
"$SS_BIN_DIR/ss_peer" "$ep" --timeout 2000 --flood 1 'shelfsync/1' '{oops' || true
"$SS_BIN_DIR/ss_peer" "$ep" --timeout 2000 'shelfsync/2' '{"type":"ping","source":"p","run_id":"r","seq":1}' >/dev/null ||
    it_fail "no pong before the burst"
sleep 2
before=$(rss)
dropped_lines() { grep -c 'dropped a message' "$IT_DIR/daemon.log" || true; }
base_lines=$(dropped_lines)

t0=$SECONDS
peak=0
"$SS_BIN_DIR/ss_peer" "$ep" --timeout 60000 --flood 600 'shelfsync/1' '{"type":"batch"}' size:400000 size:400000 size:400000 >"$IT_DIR/flood1.log" 2>&1 &
f1=$!
IT_PIDS+=("$f1")
"$SS_BIN_DIR/ss_peer" "$ep" --timeout 60000 --flood 400 'shelfsync/1' '{oops' >"$IT_DIR/flood2.log" 2>&1 &
f2=$!
IT_PIDS+=("$f2")
while kill -0 "$f1" 2>/dev/null || kill -0 "$f2" 2>/dev/null; do
    r=$(rss)
    ((r > peak)) && peak=$r
    sleep 0.2
done
wait "$f1" || it_fail "the flood of large messages failed"
wait "$f2" || it_fail "the flood of malformed messages failed"
it_log "1,000 bad messages sent in $((SECONDS - t0)) s"
# Everything read: the daemon answers a ping again after the queue drains.
"$SS_BIN_DIR/ss_peer" "$ep" --timeout 30000 'shelfsync/2' '{"type":"ping","source":"p","run_id":"r","seq":2}' >/dev/null ||
    it_fail "no pong after the burst"
# The summary comes at the end of a window (3 s here).
sleep 5
after=$(rss)
it_log "VmRSS: ${before} kB before, ${peak} kB at the peak, ${after} kB 5 s after the burst"

# Near the baseline: within 16 MiB of it (the peak is several times that).
((after <= before + 16384)) || it_fail "VmRSS ${after} kB after the burst, ${before} kB before: memory did not fall back"

it_http_start "$SS_SOURCE_DIR/tests/fixtures"
it_collector_config "$IT_DIR/good.json" good "http://127.0.0.1:$IT_HTTP_PORT/loans_mixed.csv"
it_collect "$IT_DIR/good.json" || it_fail "the good collector failed after the burst ($?)"
it_daemon_stop || it_fail "the daemon did not stop cleanly"

# At the stop the last window's summary is written: every drop the daemon
# counted is a line or in a summary.
dropped=$(sed -n 's/.*stopping: .*, \([0-9]*\) dropped,.*/\1/p' "$IT_DIR/daemon.log")
dropped=$((dropped - 1)) # the warm-up message
lines=$(($(dropped_lines) - base_lines))
summarised=$(grep -o 'bad messages: [0-9]* more' "$IT_DIR/daemon.log" | awk '{ s += $3 } END { print s + 0 }')
it_log "$dropped bad messages dropped; $lines lines for single messages, $summarised more in summaries:"
grep 'bad messages:' "$IT_DIR/daemon.log" | sed 's/^/    /'
((dropped >= 900)) || it_fail "only $dropped of the 1,000 bad messages reached the daemon"
((lines <= 60)) || it_fail "$lines log lines for $dropped bad messages: not rate-limited"
grep -Eq 'bad messages: [0-9]+ more in the last [0-9]+ s not logged one by one: [0-9]+ (too large|malformed), [0-9]+ (too large|malformed)' "$IT_DIR/daemon.log" ||
    it_fail "no summary with counts by reason"
it_assert_eq "$dropped" "$((lines + summarised))" "every bad message is logged or counted in a summary"
