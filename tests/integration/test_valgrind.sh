#!/usr/bin/env bash
# The daemon and the collector run one small load (tests/fixtures/
# loans_mixed.csv: good records and quarantined ones) under valgrind's
# memcheck: no memory errors and no definite leaks in either. Valgrind cannot
# run AddressSanitizer binaries, so this test builds its own, without ASan,
# into $IT_DIR/build (about 40 s on 2 cores). Skipped without valgrind.
source "$(dirname "$0")/lib.sh"
it_setup
it_need_tool valgrind valgrind
it_need_tool cmake cmake

build="$IT_DIR/build"
it_log "building shelfsyncd and shelfsync-collect without sanitizers in $build"
if ! { cmake -S "$SS_SOURCE_DIR" -B "$build" -DSS_TESTS=OFF -DSS_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Debug &&
    cmake --build "$build" -j"$(nproc)" --target shelfsyncd shelfsync-collect; } >"$IT_DIR/build.log" 2>&1; then
    tail -n 30 -- "$IT_DIR/build.log"
    it_fail "the build without sanitizers failed (see $IT_DIR/build.log)"
fi
for p in shelfsyncd shelfsync-collect; do
    [[ -x $build/$p ]] || it_fail "the build made no $build/$p"
    ! nm -D -- "$build/$p" 2>/dev/null | grep -q __asan_init || it_fail "$build/$p is built with AddressSanitizer"
done
it_log "built"

# vg_check NAME LOG: fail unless valgrind's LOG reports no errors and no
# definitely lost bytes.
vg_check() {
    local name=$1 log=$2 errors lost
    [[ -s $log ]] || it_fail "no valgrind log for $name ($log)"
    grep -E 'ERROR SUMMARY|definitely lost|All heap blocks were freed' "$log" | sed "s/^/    $name: /"
    errors=$(sed -nE 's/^==[0-9]+== ERROR SUMMARY: ([0-9,]+) errors? from .*/\1/p' "$log" | tail -n 1 | tr -d ,)
    [[ -n $errors ]] || it_fail "$name: no ERROR SUMMARY in $log (did valgrind finish?)"
    if grep -qE '^==[0-9]+== +All heap blocks were freed' "$log"; then
        lost=0
    else
        lost=$(sed -nE 's/^==[0-9]+== +definitely lost: ([0-9,]+) bytes in .*/\1/p' "$log" | tail -n 1 | tr -d ,)
        [[ -n $lost ]] || it_fail "$name: no leak summary in $log"
    fi
    if ((errors != 0 || lost != 0)); then
        echo "----- $log -----"
        cat -- "$log"
        it_fail "$name under valgrind: $errors errors, $lost bytes definitely lost"
    fi
    it_log "ok: $name under valgrind: no errors, no definite leaks"
}
VG=(valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=40 --track-fds=no)

it_reset_db
it_http_start "$SS_SOURCE_DIR/tests/fixtures"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities

# The daemon under valgrind (slow to start: up to 120 s).
echo "=== $(date '+%F %T') shelfsyncd under valgrind ===" >>"$IT_DIR/daemon.log"
"${VG[@]}" --log-file="$IT_DIR/valgrind-daemon.log" "$build/shelfsyncd" --config "$IT_DAEMON_CONFIG" >>"$IT_DIR/daemon.log" 2>&1 &
IT_DAEMON_PID=$!
IT_PIDS+=("$IT_DAEMON_PID")
it_log "started shelfsyncd under valgrind (pid $IT_DAEMON_PID)"
ss_wait_until 120 _it_daemon_up || it_fail "shelfsyncd under valgrind does not accept connections after 120 s"
kill -0 "$IT_DAEMON_PID" 2>/dev/null || it_fail "shelfsyncd under valgrind exited during start-up"
it_log "shelfsyncd under valgrind accepts connections on port $IT_ZMQ_PORT"

it_collector_config "$IT_DIR/c.json" vg "http://127.0.0.1:$IT_HTTP_PORT/loans_mixed.csv" \
    '"send": {"ack_timeout_ms": 60000, "give_up_after_s": 120}'
echo "=== $(date '+%F %T') shelfsync-collect under valgrind ===" >>"$IT_DIR/collect-vg.log"
it_log "running shelfsync-collect --once under valgrind"
st=0
timeout --kill-after=10 150 "${VG[@]}" --log-file="$IT_DIR/valgrind-collect.log" \
    "$build/shelfsync-collect" --config "$IT_DIR/c.json" --once >>"$IT_DIR/collect-vg.log" 2>&1 || st=$?
it_log "shelfsync-collect under valgrind exited with status $st"

# Stop the daemon now (SIGTERM: a clean exit, then valgrind's leak check).
st_daemon=0
it_daemon_stop || st_daemon=$?

vg_check shelfsync-collect "$IT_DIR/valgrind-collect.log"
vg_check shelfsyncd "$IT_DIR/valgrind-daemon.log"
it_assert_eq 0 "$st" "the collector's exit status"
it_assert_eq 0 "$st_daemon" "the daemon's exit status"
it_assert_eq "4" "$(it_psql 'SELECT count(*) FROM core.loans')" "good records loaded"
it_assert_eq "120|85|7|131" "$(it_psql "SELECT string_agg(loans::text, '|' ORDER BY period_start, service_point) FROM core.loans")" "their values"
it_assert_eq "5" "$(it_psql 'SELECT count(*) FROM ingest.quarantine')" "bad records quarantined"
it_assert_eq "1|4|5" "$(it_psql "SELECT count(*), sum(accepted), sum(quarantined) FROM ingest.batches")" "one batch: 4 accepted, 5 quarantined"
