#!/usr/bin/env bash
# Messages that break the protocol are refused with a reason or dropped and
# counted; the daemon keeps running and keeps serving a good collector.
source "$(dirname "$0")/lib.sh"
it_setup
it_reset_db
it_http_start "$SS_SOURCE_DIR/tests/fixtures"
it_daemon_config "$IT_DIR/daemon.json"
# Tighter limits than the defaults, so they are cheap to pass.
ss_python - "$IT_DIR/daemon.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["limits"] = {"max_message_bytes": 1048576, "max_frames": 8, "max_records": 1000, "max_header_bytes": 4096}
json.dump(c, open(sys.argv[1], "w"))
PY
it_migrate
it_test_authorities
it_daemon_start
ep="tcp://127.0.0.1:$IT_ZMQ_PORT"
peer() { "$SS_BIN_DIR/ss_peer" "$ep" --timeout 2000 "$@"; }
hdr() { printf '{"type":"batch","source":"evil","run_id":"r1","seq":%s,"dataset":"%s","records":%s,"fields":%s}' "$@"; }

# Payloads written byte by byte (docs/protocol.md): line u32, flags u8, nfields u16, fields.
ss_python - "$IT_DIR" <<'PY'
import struct, sys
d = sys.argv[1]
def rec(line, fields, flags=0):
    b = struct.pack('<IBH', line, flags, len(fields))
    for f in fields:
        b += struct.pack('<I', 0xFFFFFFFF) if f is None else struct.pack('<I', len(f)) + f
    return b
good = [b"Evilshire", b"Main Library", b"2024-04", None, None, None, b"Adult fiction", b"5"]
badutf = [b"Evilshire", b"Caf\xe9 \xff Library", b"2024-04", None, None, None, b"DVD", b"1"]
open(d + "/truncated.bin", "wb").write(rec(2, good)[:-3])
open(d + "/utf8.bin", "wb").write(rec(2, good) + rec(3, badutf))
PY

it_log "a message of another protocol version is refused with a reason"
out=$(peer 'shelfsync/3' '{"type":"ping"}') || it_fail "no reply to a shelfsync/3 message"
[[ $out == *'"status":"refused"'*'unsupported protocol version \"shelfsync/3\"'* ]] || it_fail "unexpected reply: $out"

it_log "ping is answered, in protocol 2 and in protocol 1 (the daemon still speaks it)"
out=$(peer 'shelfsync/2' '{"type":"ping","source":"p","run_id":"r","seq":1}') || it_fail "no pong"
[[ $out == *'"type":"pong"'* ]] || it_fail "unexpected reply: $out"
out=$(peer 'shelfsync/1' '{"type":"ping","source":"p","run_id":"r","seq":1}') || it_fail "no pong"
[[ $out == *'"type":"pong"'* ]] || it_fail "unexpected reply: $out"

it_log "a truncated payload is refused whole"
out=$(peer 'shelfsync/1' "$(hdr 1 loans 1 8)" "file:$IT_DIR/truncated.bin") || it_fail "no reply"
[[ $out == *'"status":"refused"'*'malformed payload'* ]] || it_fail "unexpected reply: $out"

it_log "a record count over the limit is refused"
out=$(peer 'shelfsync/1' "$(hdr 2 loans 4000000000 8)" "file:$IT_DIR/utf8.bin") || it_fail "no reply"
[[ $out == *'"status":"refused"'*'more than the 1000 allowed'* ]] || it_fail "unexpected reply: $out"

it_log "a header that disagrees with its payload is refused"
out=$(peer 'shelfsync/1' "$(hdr 3 loans 5 8)" "file:$IT_DIR/utf8.bin") || it_fail "no reply"
[[ $out == *'"status":"refused"'*'header says 5 records'* ]] || it_fail "unexpected reply: $out"

it_log "wrong field count and unknown dataset are refused"
out=$(peer 'shelfsync/1' "$(hdr 4 loans 2 3)" "file:$IT_DIR/utf8.bin") || it_fail "no reply"
[[ $out == *'"status":"refused"'*'records of 3 fields'* ]] || it_fail "unexpected reply: $out"
out=$(peer 'shelfsync/1' "$(hdr 5 secrets 2 8)" "file:$IT_DIR/utf8.bin") || it_fail "no reply"
[[ $out == *'"status":"refused"'*'unknown dataset \"secrets\"'* ]] || it_fail "unexpected reply: $out"

it_log "invalid UTF-8 in a field quarantines that record only"
out=$(peer 'shelfsync/1' "$(hdr 6 loans 2 8)" "file:$IT_DIR/utf8.bin") || it_fail "no reply"
[[ $out == *'"status":"applied"'*'"accepted":1,"quarantined":1'* ]] || it_fail "unexpected reply: $out"
it_assert_eq 'Evilshire,Caf\xE9 \xFF Library,2024-04,DVD,1|"service_point": is not valid UTF-8 text' \
    "$(it_psql "SELECT raw || '|' || reason FROM ingest.quarantine WHERE source = 'evil'")" "bytes kept visibly"

it_log "messages that cannot be attributed are dropped without a reply"
peer 'GET / HTTP/1.1' && it_fail "a one-frame message got a reply"
peer 'shelfsync/1' '{oops' && it_fail "a broken header got a reply"
peer 'shelfsync/1' '{"type":"ack","source":"a","run_id":"b","seq":1,"status":"applied"}' && it_fail "an ack from a collector got a reply"
peer 'shelfsync/1' many:5000 && it_fail "5000 frames got a reply"
peer 'shelfsync/1' "$(hdr 7 loans 1 8)" size:2000000 && it_fail "an oversized frame got a reply"
peer "hex:$(printf 'shelfsync/1' | od -An -tx1 | tr -d ' \n')" "hex:7b2274797065223a2262617463682c22ff7d" && it_fail "invalid UTF-8 header got a reply"

it_log "a flood of 100 connections at once"
flood=()
for i in $(seq 1 100); do
    "$SS_BIN_DIR/ss_peer" "$ep" --timeout 20000 'shelfsync/1' "{\"type\":\"ping\",\"source\":\"f\",\"run_id\":\"r\",\"seq\":$i}" >/dev/null &
    flood+=("$!")
done
wait_ok=0
for pid in "${flood[@]}"; do
    wait "$pid" && wait_ok=$((wait_ok + 1))
done
it_assert_eq "100" "$wait_ok" "every flooding peer got its pong"

kill -0 "$IT_DAEMON_PID" || it_fail "the daemon died"
it_collector_config "$IT_DIR/good.json" good "http://127.0.0.1:$IT_HTTP_PORT/loans_mixed.csv"
it_collect "$IT_DIR/good.json" || it_fail "the good collector failed after the attacks ($?)"
it_assert_eq "4" "$(it_psql "SELECT count(*) FROM core.loans WHERE source = 'good'")" "good collector served"
it_assert_eq "1" "$(it_psql "SELECT count(*) FROM core.loans WHERE source = 'evil'")" "only the valid attacker record landed"
it_daemon_stop
grep -E "stopping: .* 5 dropped" "$IT_DIR/daemon.log" || it_fail "dropped messages not counted as expected"
