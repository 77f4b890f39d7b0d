#!/usr/bin/env bash
# Running under systemd. The units in systemd/ (with this build's programs
# filled in) pass `systemd-analyze verify`, and `systemd-analyze security
# --offline=true` rates each at an exposure of 2.0 or less. The daemon speaks
# the notification protocol to a test NOTIFY_SOCKET: READY=1 once it takes
# batches, WATCHDOG=1 while its main loop makes progress -- and none while
# it is stuck on one batch (a table lock holds its apply), again once the
# batch is through -- STATUS= lines, and STOPPING=1 with EXTEND_TIMEOUT_USEC
# on SIGTERM, after which it finishes and exits 0.
source "$(dirname "$0")/lib.sh"
it_setup
it_need_tool systemd-analyze "apt-get install systemd"

# --- the units ---
units="$IT_DIR/units"
mkdir -p "$units"
for f in "$SS_SOURCE_DIR"/systemd/*.in "$SS_SOURCE_DIR"/systemd/*.timer "$SS_SOURCE_DIR"/systemd/*.sysusers; do
    out="$units/$(basename "${f%.in}")"
    sed -e "s|@SS_BINDIR@|$SS_BIN_DIR|g" -e "s|@SS_CONFIG_DIR@|/etc/shelfsync|g" \
        -e "s|@SS_DOC_DIR@|/usr/share/doc/shelfsync|g" "$f" >"$out"
    ! grep -n '@[A-Z_]*@' "$out" || it_fail "$(basename "$f"): a placeholder is left unfilled"
done
(cd "$units" && systemd-analyze verify --man=no ./shelfsyncd.service ./shelfsync-collect@.service \
    ./shelfsync-collect@.timer) >"$IT_DIR/verify.log" 2>&1 || { cat "$IT_DIR/verify.log"; it_fail "systemd-analyze verify failed"; }
[[ ! -s $IT_DIR/verify.log ]] || { cat "$IT_DIR/verify.log"; it_fail "systemd-analyze verify printed warnings"; }
it_log "systemd-analyze verify: the three units are clean"
for u in shelfsyncd.service shelfsync-collect@.service; do
    (cd "$units" && systemd-analyze security --offline=true --no-pager "./$u") >"$IT_DIR/security-$u.log" 2>&1 || true
    score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$IT_DIR/security-$u.log")
    [[ -n $score ]] || { cat "$IT_DIR/security-$u.log"; it_fail "$u: no exposure level in systemd-analyze security's output"; }
    awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || it_fail "$u: exposure $score, more than 2.0"
    it_log "$u: exposure $score (at most 2.0)"
done

# --- the notification protocol ---
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine ingest.runs" it_reset_db
sock="$IT_DIR/notify.sock"
cat >"$IT_DIR/listen.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
t0 = time.monotonic()
with open(sys.argv[2], "w", buffering=1) as log:
    while True:
        msg = s.recv(4096).decode()
        for line in msg.splitlines():
            log.write("%.2f %s\n" % (time.monotonic() - t0, line))
PY
"$SS_PYTHON" "$IT_DIR/listen.py" "$sock" "$IT_DIR/notify.log" </dev/null >"$IT_DIR/listen.out" 2>&1 &
listener=$!
IT_PIDS+=("$listener")
ss_wait_until 10 test -S "$sock" || it_fail "the test notification socket did not appear"
NOTIFY_SOCKET=$sock WATCHDOG_USEC=1000000 it_daemon_start
ss_wait_until 10 grep -q '^[0-9.]* READY=1$' "$IT_DIR/notify.log" || it_fail "no READY=1 from the daemon"
grep -q 'STATUS=' "$IT_DIR/notify.log" || it_fail "no STATUS= line from the daemon"
sleep 2
pings() { grep -c ' WATCHDOG=1$' "$IT_DIR/notify.log" || true; }
(($(pings) >= 3)) || it_fail "only $(pings) WATCHDOG=1 in the daemon's first seconds (interval 1 s: one every 0.5 s expected)"
it_log "READY=1 and $(pings) watchdog pings so far"

# Stuck: a lock holds the daemon's apply of the next batch for 6 s.
mkdir -p "$IT_DIR/www"
printf 'Local authority,Library name,Month,Type,Loans\nExampleshire,Central Library,2023-04,Book,5\n' >"$IT_DIR/www/l.csv"
it_http_start "$IT_DIR/www"
it_collector_config "$IT_DIR/c.json" stuck "http://127.0.0.1:$IT_HTTP_PORT/l.csv"
it_psql "SELECT 1" >/dev/null
it_lock_table core.loans 6
locker=$IT_LOCKER_PID
it_collect_bg "$IT_DIR/c.json"
# Wait until the daemon is inside the batch (blocked on the lock).
ss_wait_until 10 it_daemon_waits_on_lock || it_fail "the daemon never waited on the lock"
before=$(pings)
sleep 3
during=$(pings)
it_assert_eq "$before" "$during" "no WATCHDOG=1 while the daemon is stuck on a batch"
wait "$locker" || true
it_collect_wait || it_fail "the collector failed (see its log)"
it_assert_eq 5 "$(it_psql "SELECT sum(loans) FROM core.loans WHERE source = 'stuck'")" "the held batch loaded once the lock went"
sleep 1.5
(($(pings) > during)) || it_fail "the watchdog did not resume after the batch"
it_log "watchdog: $before pings before the lock, none during it, $(pings) after"

it_daemon_stop || it_fail "the daemon did not exit 0 on SIGTERM"
grep -q 'STOPPING=1' "$IT_DIR/notify.log" || it_fail "no STOPPING=1 on SIGTERM"
grep -q 'EXTEND_TIMEOUT_USEC=[0-9]' "$IT_DIR/notify.log" || it_fail "no EXTEND_TIMEOUT_USEC on SIGTERM"
it_log "STOPPING=1 and EXTEND_TIMEOUT_USEC on SIGTERM; exit 0"
kill "$listener" 2>/dev/null || true
