#!/usr/bin/env bash
# SIGHUP to the daemon reads and checks the whole config again. A good one
# takes effect at once (a lowered limits.max_records refuses a batch the old
# limit took; the metrics listener moves), and what needs a restart
# ("listen") is said so and left as it is. A bad one (a value of the wrong
# type) is refused with file:line:column in the log, and the daemon keeps
# running on the configuration it had.
source "$(dirname "$0")/lib.sh"
it_setup
it_need_tool curl "apt-get install curl"
it_daemon_config "$IT_DIR/daemon.json"
cp "$IT_DIR/daemon.json" "$IT_DIR/base.json"
m1=$(ss_free_port)
m2=$(ss_free_port)
conf() { # conf MAX_RECORDS METRICS_PORT [LISTEN]: rewrite the daemon config
    ss_python - "$IT_DIR/base.json" "$@" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["limits"] = {"max_records": int(sys.argv[2])}
c["metrics"] = {"listen": "127.0.0.1:" + sys.argv[3]}
if len(sys.argv) > 4:
    c["listen"] = sys.argv[4]
json.dump(c, open(sys.argv[1].replace("base.json", "daemon.json"), "w"), indent=2)
PY
}
conf 1000 "$m1"
it_migrate
it_test_authorities
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine ingest.runs" it_reset_db
it_daemon_start
ep="tcp://127.0.0.1:$IT_ZMQ_PORT"
ss_python - "$IT_DIR/three.bin" <<'PY'
import struct, sys
out = b""
for i, month in enumerate([b"2024-04", b"2024-05", b"2024-06"]):
    f = [b"Exampleshire", b"Main Library", month, None, None, None, b"Adult fiction", b"5"]
    out += struct.pack('<IBH', i + 2, 0, len(f))
    for x in f:
        out += struct.pack('<I', 0xFFFFFFFF) if x is None else struct.pack('<I', len(x)) + x
open(sys.argv[1], "wb").write(out)
PY
batch() { # batch SEQ: a batch of three records; prints the reply
    "$SS_BIN_DIR/ss_peer" "$ep" --timeout 5000 'shelfsync/2' \
        "{\"type\":\"batch\",\"source\":\"hup\",\"run_id\":\"r1\",\"seq\":$1,\"dataset\":\"loans\",\"records\":3,\"fields\":8}" \
        "file:$IT_DIR/three.bin"
}
hup_logged() { grep -c "$1" "$IT_DIR/daemon.log" || true; }
sighup() { # sighup PATTERN: SIGHUP and wait for PATTERN to appear once more in the log
    local before
    before=$(hup_logged "$1")
    kill -HUP "$IT_DAEMON_PID"
    ss_wait_until 10 test_more "$1" "$before" || it_fail "no \"$1\" in the log after SIGHUP"
}
test_more() { (($(hup_logged "$1") > $2)); }

out=$(batch 1) || it_fail "no reply to batch 1"
[[ $out == *'"status":"applied"'* ]] || it_fail "batch 1 under the old limit: $out"
curl -sf --max-time 5 "http://127.0.0.1:$m1/health" >/dev/null || it_fail "no metrics listener on $m1"

it_log "a good config: max_records 2, metrics on another port, a changed listen"
conf 2 "$m2" "tcp://127.0.0.1:$(ss_free_port)"
sighup 'SIGHUP: reloaded'
grep -q 'SIGHUP: "listen" changed: needs a restart' "$IT_DIR/daemon.log" || it_fail "a changed listen is not said to need a restart"
out=$(batch 2) || it_fail "no reply to batch 2 on the old endpoint (listen must be left as it was)"
[[ $out == *'"status":"refused"'*'more than the 2 allowed'* ]] || it_fail "the lowered limit did not take effect: $out"
curl -sf --max-time 5 "http://127.0.0.1:$m2/health" >/dev/null || it_fail "the metrics listener did not move to $m2"
! curl -sf --max-time 2 "http://127.0.0.1:$m1/health" >/dev/null 2>&1 || it_fail "the old metrics listener $m1 still answers"
it_log "reloaded: batch 2 refused by the new limit, metrics moved to $m2"

it_log "a bad config: refused with file:line:column, the old one kept"
conf 1000 "$m2"
sed -i 's/"max_records": 1000/"max_records": "many"/' "$IT_DIR/daemon.json"
sighup 'the configuration in force is kept'
line=$(grep 'the configuration in force is kept' "$IT_DIR/daemon.log" | tail -n 1)
[[ $line == *"daemon.json:"[0-9]*:[0-9]*': "limits.max_records"'* ]] || it_fail "the refusal does not say file:line:column and the key: $line"
it_log "refused: ${line#*: }"
kill -0 "$IT_DAEMON_PID" || it_fail "the daemon died on a bad config"
out=$(batch 3) || it_fail "no reply to batch 3 after the bad reload"
[[ $out == *'"status":"refused"'*'more than the 2 allowed'* ]] || it_fail "the old limit (2) is not the one in force: $out"

it_log "a syntax error is refused the same way"
printf '{ "listen": \n' >"$IT_DIR/daemon.json"
sighup 'the configuration in force is kept'
kill -0 "$IT_DAEMON_PID" || it_fail "the daemon died on a broken file"

it_log "the good config back: batch 4 applied under max_records 1000"
conf 1000 "$m2"
sighup 'SIGHUP: reloaded'
out=$(batch 4) || it_fail "no reply to batch 4"
[[ $out == *'"status":"applied"'* ]] || it_fail "batch 4 after the good reload: $out"
it_assert_eq "3" "$(it_psql "SELECT count(*) FROM core.loans WHERE source = 'hup'")" "rows of source hup"
it_daemon_stop || it_fail "the daemon did not stop cleanly"
