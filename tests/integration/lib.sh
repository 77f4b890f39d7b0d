# shellcheck shell=bash
# Helpers for the integration tests: tests/integration/test_*.sh, run by CTest
# (see tests/CMakeLists.txt) against the PostgreSQL that scripts/test started.
#
# Environment (from CTest and scripts/test):
#   SS_BIN_DIR     build directory holding shelfsyncd, shelfsync-collect, shelfsync
#   SS_SOURCE_DIR  the checkout
#   SS_PGHOST SS_PGPORT SS_PGDATA SS_PGBIN SS_PGUSER SS_PGDATABASE SS_PGDIR
#                  the test cluster (socket directory, port, data directory, server
#                  binaries, role, database, cluster directory)
#   SS_FIXTURES    ../shared/fixtures beside the checkout (may be absent)
#   SS_KEEP=1      keep $IT_DIR even when the test passes
#   SS_SKIP_LOG    a file every skipping test appends "NAME<TAB>REASON" to
#                  (scripts/test prints them after ctest)
#   CI=true        a test that would skip because something the scripts or the CI
#                  set-up provide is missing (a tool, the shared fixtures, the
#                  test PostgreSQL) fails instead
#
# A test looks like:
#   source "$(dirname "$0")/lib.sh"
#   it_setup
#   it_reset_db
#   it_http_start "$SS_SOURCE_DIR/tests/fixtures"
#   it_daemon_config "$IT_DIR/daemon.json"; it_daemon_start
#   it_collector_config "$IT_DIR/c.json" leeds "http://127.0.0.1:$IT_HTTP_PORT/loans.csv"
#   it_collect "$IT_DIR/c.json" || it_fail "collector failed"
#   it_assert_eq 240 "$(it_psql 'SELECT count(*) FROM core.loans')" "rows loaded"
#
# Sourcing this file turns on `set -euo pipefail`. Every step prints one line, so
# CTest's --output-on-failure explains what happened; when the test fails, the
# tails of the daemon, collector and HTTP logs are printed too. Background
# processes (daemon, HTTP server, collectors started with it_collect_bg) are
# tracked and killed when the test exits, however it exits. Functions that start
# a background process must be called in the test's own shell, not in $(...).

set -euo pipefail

IT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SS_SOURCE_DIR:=$(cd "$IT_LIB_DIR/../.." && pwd)}"
# shellcheck source=scripts/lib/common.sh
source "$SS_SOURCE_DIR/scripts/lib/common.sh"

IT_NAME=$(basename "$0" .sh)
IT_DIR=""
IT_PIDS=()            # every background process this test started
IT_DAEMON_PID=""
IT_DAEMON_CONFIG=""
IT_ZMQ_PORT="${IT_ZMQ_PORT:-}"
IT_HTTP_PORT=""
IT_COLLECT_PID=""
IT_COLLECT_SOURCE=""
IT_PG_STOPPED=0
: "${IT_COLLECT_TIMEOUT:=300}" # seconds before it_collect gives up on a collector

it_log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "$IT_NAME" "$*"; }

# it_random_secret [PREFIX]: a fresh random secret for one test run. Tests
# never carry literal credentials: each run makes its own and writes it to a
# file, as an operator would.
it_random_secret() { printf '%s%s\n' "${1:-}" "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"; }

# it_fail MSG: print MSG and fail the test (exit 1; the exit trap dumps the logs).
it_fail() {
    it_log "FAIL: $*"
    exit 1
}

# it_assert_eq EXPECTED ACTUAL MSG: fail unless EXPECTED and ACTUAL are the same string.
it_assert_eq() {
    if [[ $1 == "$2" ]]; then
        it_log "ok: $3 ($2)"
    else
        it_fail "$3: expected '$1', got '$2'"
    fi
}

# ---------------------------------------------------------------------------
# Skipping. A test skips by exit status 77 (CTest's SKIP_RETURN_CODE), only
# through these, so that every skip says why on the console and in $SS_SKIP_LOG.

# it_skip REASON: skip the test for a reason that holds everywhere, CI included
# (e.g. it needs root and runs as another user): print "SKIP: REASON", record it,
# exit 77. Like every function here that ends the test, call it in the test's own
# shell, not in $(...).
it_skip() {
    local reason=${*//[$'\t\n']/ }
    echo "SKIP: $reason"
    if [[ -n ${SS_SKIP_LOG:-} ]]; then
        printf 'integration_%s\t%s\n' "${IT_NAME#test_}" "$reason" >>"$SS_SKIP_LOG" ||
            echo "(could not record the skip in $SS_SKIP_LOG)"
    fi
    exit 77
}

# it_skip_missing WHAT CI_WHY REASON: WHAT is missing, and it is something the
# scripts or the CI set-up are meant to provide. Skips with "WHAT is missing:
# REASON"; under CI=true fails instead (exit 1) with "WHAT is missing under
# CI=true: CI_WHY", since there a missing piece is a fault of the set-up.
it_skip_missing() {
    if [[ ${CI:-} == true ]]; then
        it_log "FAIL: $1 is missing under CI=true: $2 ($3)"
        exit 1
    fi
    it_skip "$1 is missing: $3"
}

# it_need_tool CMD PACKAGE: skip (under CI=true: fail) unless the program CMD is
# on PATH. PACKAGE is the Debian package that provides it, which must be in
# SS_PACKAGES or SS_TEST_PACKAGES and CMD=PACKAGE in SS_TOOLS
# (scripts/lib/common.sh; integration_install_list checks both).
it_need_tool() {
    command -v "$1" >/dev/null 2>&1 && return 0
    it_skip_missing "$1" "the install list lacks it" "Debian package $2; ./scripts/test installs it when run as root"
}

# it_need_fixture PATH...: skip (under CI=true: fail) unless every PATH (files or
# directories of the real public data in ../shared/fixtures, $SS_FIXTURES) exists.
# Tests only read these, never write into them (scripts/test checks).
it_need_fixture() {
    local f
    for f in "$@"; do
        [[ -e $f ]] ||
            it_skip_missing "$f" "CI must provide the shared fixtures beside the checkout" \
                "real public data, kept beside the checkout in ../shared/fixtures (SS_FIXTURES points elsewhere)"
    done
}

# it_setup: skip (under CI=true: fail) unless scripts/test's PostgreSQL is there;
# create the work directory $IT_DIR; install the exit trap that stops what the
# test started.
it_setup() {
    if [[ -z ${SS_PGPORT:-} ]]; then
        it_skip_missing "SS_PGPORT" "run the tests with ./scripts/test" \
            "integration tests need the PostgreSQL that ./scripts/test starts"
    fi
    [[ -n ${SS_BIN_DIR:-} ]] || it_fail "SS_BIN_DIR is not set (the build directory holding the programs)"
    [[ -n ${SS_PGHOST:-} && -n ${SS_PGDATA:-} ]] || it_fail "SS_PGHOST and SS_PGDATA must be set with SS_PGPORT (./scripts/test sets them)"
    : "${SS_PGUSER:=shelfsync}" "${SS_PGDATABASE:=shelfsync}"
    : "${SS_PGBIN:=$(ss_pg_bindir)}"
    IT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/shelfsync-it-$IT_NAME.XXXXXX")
    trap _it_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    it_log "work directory $IT_DIR; PostgreSQL on $SS_PGHOST port $SS_PGPORT"
}

# shellcheck disable=SC2317 # called by the trap
_it_exit() {
    local rc=$? f pid
    trap - EXIT
    if ((rc != 0 && rc != 77)); then
        it_log "test failed (exit $rc); logs follow"
        for f in "$IT_DIR"/daemon.log "$IT_DIR"/collect-*.log "$IT_DIR"/http.log; do
            [[ -s $f ]] || continue
            echo "----- last 40 lines of $f -----"
            tail -n 40 -- "$f"
        done
        echo "----- end of logs -----"
    fi
    for pid in "${IT_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${IT_PIDS[@]}"; do
        if ! ss_wait_until 10 _ss_pid_gone "$pid"; then
            it_log "pid $pid ignored SIGTERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    if ((IT_PG_STOPPED)); then
        it_log "restarting PostgreSQL for the tests that follow"
        it_pg_start || true
    fi
    if [[ -n $IT_DIR ]]; then
        if ((rc == 0 || rc == 77)) && [[ ${SS_KEEP:-0} != 1 ]]; then
            rm -rf -- "$IT_DIR"
        else
            it_log "work directory kept: $IT_DIR"
        fi
    fi
    exit "$rc"
}

_it_forget_pid() {
    local keep=() p
    for p in "${IT_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    IT_PIDS=("${keep[@]}")
}

# ---------------------------------------------------------------------------
# PostgreSQL

# it_psql SQL: run SQL as the test role on the test database; print the result
# unaligned, tuples only ('|' between columns). Fails on any SQL error.
it_psql() {
    "$SS_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -tA -h "$SS_PGHOST" -p "$SS_PGPORT" \
        -U "$SS_PGUSER" -d "$SS_PGDATABASE" -c "$1"
}

# it_reset_db: empty the warehouse tables the tests look at (those that exist:
# the schema may not be migrated yet). Tables that reference them are emptied
# too (CASCADE). IT_RESET_TABLES overrides the list.
it_reset_db() {
    local tables=${IT_RESET_TABLES:-core.loans ingest.batches ingest.quarantine core.source_values} t existing=()
    for t in $tables; do
        [[ -n $(it_psql "SELECT to_regclass('$t')") ]] && existing+=("$t")
    done
    if ((${#existing[@]})); then
        it_log "emptying ${existing[*]}"
        local IFS=,
        it_psql "TRUNCATE ${existing[*]} CASCADE" >/dev/null
    else
        it_log "no warehouse tables to empty yet"
    fi
}

# it_reset_warehouse: empty every table of core and ingest but the migration
# bookkeeping, and ref.population: a test that judges the whole warehouse
# (the quality checks) starts from nothing, whatever ran before it.
it_reset_warehouse() {
    local tables
    tables=$(it_psql "SELECT string_agg(format('%I.%I', schemaname, tablename), ' ' ORDER BY 1)
                        FROM pg_tables WHERE schemaname IN ('core', 'ingest')
                         AND tablename NOT LIKE 'schema%' AND tablename NOT LIKE 'migration%'")
    IT_RESET_TABLES="$tables ref.population" it_reset_db
}

# it_lock_table TABLE SECONDS: hold an ACCESS EXCLUSIVE lock on TABLE for
# SECONDS in a background session (its pid in IT_LOCKER_PID and IT_PIDS),
# once the lock is granted. A batch the daemon applies to it then waits.
it_lock_table() {
    "$SS_PGBIN/psql" -X -q -h "$SS_PGHOST" -p "$SS_PGPORT" -U "$SS_PGUSER" -d "$SS_PGDATABASE" \
        -c "BEGIN; LOCK TABLE $1 IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep($2); COMMIT;" >/dev/null 2>&1 &
    IT_LOCKER_PID=$!
    IT_PIDS+=("$IT_LOCKER_PID")
    it_wait_for "(( \$(it_psql \"SELECT count(*) FROM pg_locks WHERE relation = '$1'::regclass AND mode = 'AccessExclusiveLock' AND granted\") == 1 ))" 10 ||
        it_fail "could not lock $1"
}

# it_daemon_waits_on_lock: true while a session of shelfsyncd waits on a lock
# (inside a batch, held by it_lock_table).
it_daemon_waits_on_lock() {
    (($(it_psql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'shelfsyncd'
                 AND wait_event_type = 'Lock'") >= 1))
}

_it_pg_as() {
    if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# it_pg_stop: stop the test cluster (fast shutdown). The exit trap restarts it if
# the test ends before it_pg_start, so later tests still find it.
it_pg_stop() {
    it_log "stopping PostgreSQL"
    IT_PG_STOPPED=1
    _it_pg_as "$SS_PGBIN/pg_ctl" -D "$SS_PGDATA" -m fast -w -t 60 stop >/dev/null
}

# it_pg_start: start the test cluster again (same port and socket) and wait until
# it accepts connections.
it_pg_start() {
    local logdir=${SS_PGDIR:-$(dirname -- "$SS_PGDATA")}
    it_log "starting PostgreSQL"
    if ! _it_pg_as "$SS_PGBIN/pg_ctl" -D "$SS_PGDATA" status >/dev/null 2>&1; then
        _it_pg_as "$SS_PGBIN/pg_ctl" -D "$SS_PGDATA" -l "$logdir/postgresql.log" -w -t 60 start >/dev/null ||
            it_fail "pg_ctl start failed (see $logdir/postgresql.log)"
    fi
    ss_wait_until 60 "$SS_PGBIN/pg_isready" -q -h "$SS_PGHOST" -p "$SS_PGPORT" -U "$SS_PGUSER" -d "$SS_PGDATABASE" ||
        it_fail "PostgreSQL does not answer after start"
    IT_PG_STOPPED=0
}

# ---------------------------------------------------------------------------
# HTTP

# it_http_start ROOT: serve ROOT over HTTP on 127.0.0.1:$IT_HTTP_PORT (log
# $IT_DIR/http.log) until the test ends.
it_http_start() {
    local root attempt pid
    root=$(realpath -e -- "$1") || it_fail "it_http_start: no directory $1"
    for attempt in 1 2 3; do
        IT_HTTP_PORT=$(ss_free_port)
        "$SS_PYTHON" -m http.server --bind 127.0.0.1 "$IT_HTTP_PORT" --directory "$root" >>"$IT_DIR/http.log" 2>&1 &
        pid=$!
        IT_PIDS+=("$pid")
        if ss_wait_until 15 _it_http_up "$pid" "$IT_HTTP_PORT" && _ss_http_answers "$IT_HTTP_PORT"; then
            it_log "HTTP server on port $IT_HTTP_PORT serving $root"
            return 0
        fi
        it_log "HTTP server did not come up on port $IT_HTTP_PORT (attempt $attempt)"
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        _it_forget_pid "$pid"
    done
    it_fail "could not start the HTTP server"
}

_it_http_up() { ! kill -0 "$1" 2>/dev/null || _ss_http_answers "$2"; }

# it_fake_http_start DIR [ARGS...]: start the misbehaving HTTP server
# (tests/tools/fake_http.py, its routes /ok/, /slow/, /truncated/, ...) over
# DIR with ARGS until the test ends; $IT_FAKE_URL is its base URL.
it_fake_http_start() {
    local dir=$1
    shift
    "$SS_PYTHON" "$SS_SOURCE_DIR/tests/tools/fake_http.py" "$@" "$dir" >"$IT_DIR/fake.port" 2>>"$IT_DIR/http.log" &
    IT_PIDS+=("$!")
    ss_wait_until 15 test -s "$IT_DIR/fake.port" || it_fail "fake_http.py did not start (see http.log)"
    IT_FAKE_URL="http://127.0.0.1:$(head -n 1 "$IT_DIR/fake.port")"
    it_log "fake_http.py (pid $!) on $IT_FAKE_URL"
}

# ---------------------------------------------------------------------------
# Daemon

_it_zmq_port() {
    [[ -n $IT_ZMQ_PORT ]] || IT_ZMQ_PORT=$(ss_free_port)
}

# it_daemon_config FILE: write a daemon config for the test database listening on
# tcp://127.0.0.1:$IT_ZMQ_PORT (chosen once per test, so restarts keep it);
# it_daemon_start and it_migrate use it.
it_daemon_config() {
    _it_zmq_port
    IT_DAEMON_CONFIG=$1
    cat >"$1" <<EOF
{
  "description": $(ss_json_str "integration test $IT_NAME"),
  "listen": "tcp://127.0.0.1:$IT_ZMQ_PORT",
  "insecure": true,
  "database": {
    "conninfo": $(ss_json_str "host=$SS_PGHOST port=$SS_PGPORT dbname=$SS_PGDATABASE user=$SS_PGUSER")
  }
}
EOF
    it_log "daemon config $1 (listen tcp://127.0.0.1:$IT_ZMQ_PORT)"
}

# it_migrate: apply the warehouse migrations with `shelfsync migrate`.
it_migrate() {
    [[ -n $IT_DAEMON_CONFIG ]] || it_fail "it_migrate: call it_daemon_config first"
    it_log "shelfsync migrate"
    "$SS_BIN_DIR/shelfsync" migrate --config "$IT_DAEMON_CONFIG" >>"$IT_DIR/migrate.log" 2>&1 ||
        { tail -n 20 -- "$IT_DIR/migrate.log"; it_fail "shelfsync migrate failed"; }
}

# it_test_authorities: register the fictional authorities the tests' own
# exports name ("Exampleshire" E99999901, "Evilshire" E99999902, "Authority N"
# E99000000+N for N < 100) and Barnet (E09000003), so the daemon resolves
# them without the real reference files. Needs the schema (it_migrate first).
it_test_authorities() {
    it_log "registering test authorities in ref.authority"
    it_psql "
      INSERT INTO ref.authority (code, name, nice_name, region, nation) VALUES
        ('E99999901', 'Exampleshire County Council', 'Exampleshire', 'Test', 'England'),
        ('E99999902', 'Evilshire Council', 'Evilshire', 'Test', 'England'),
        ('E09000003', 'London Borough of Barnet', 'Barnet', 'London', 'England')
      ON CONFLICT (code) DO NOTHING;
      INSERT INTO ref.authority (code, name, nice_name, region, nation)
        SELECT 'E99' || lpad(n::text, 6, '0'), 'Authority ' || n, 'Authority ' || n, 'Test', 'England'
        FROM generate_series(0, 99) n
      ON CONFLICT (code) DO NOTHING;
      INSERT INTO ref.authority_alias (alias_key, code, alias, origin) VALUES
        ('exampleshire', 'E99999901', 'Exampleshire', 'test'),
        ('evilshire', 'E99999902', 'Evilshire', 'test'),
        ('barnet', 'E09000003', 'Barnet', 'test')
      ON CONFLICT DO NOTHING;
      INSERT INTO ref.authority_alias (alias_key, code, alias, origin)
        SELECT 'authority ' || n, 'E99' || lpad(n::text, 6, '0'), 'Authority ' || n, 'test'
        FROM generate_series(0, 99) n
      ON CONFLICT DO NOTHING;
      INSERT INTO ref.meta (key, value) VALUES ('authorities_generation', '1')
      ON CONFLICT (key) DO UPDATE SET value = (ref.meta.value::bigint + 1)::text;" >/dev/null
}

# it_schema_authorities FIXTURES: load the real authorities
# (FIXTURES/activity-2023-24/library_authorities.json) and "Test authority"
# (E99999903), which the open-data schemas' test files name, into the test
# warehouse (it_daemon_config's). Needs the schema (it_migrate first).
it_schema_authorities() {
    "$SS_BIN_DIR/shelfsync" ref load authorities "$1/activity-2023-24/library_authorities.json" --config "$IT_DAEMON_CONFIG" ||
        it_fail "shelfsync ref load authorities failed"
    it_psql "INSERT INTO ref.authority (code, name, nice_name, region, nation)
               VALUES ('E99999903', 'Test authority', 'Test authority', 'Test', 'England') ON CONFLICT DO NOTHING;
             INSERT INTO ref.authority_alias (alias_key, code, alias, origin)
               VALUES ('test authority', 'E99999903', 'Test authority', 'test') ON CONFLICT DO NOTHING;
             UPDATE ref.meta SET value = (value::bigint + 1)::text WHERE key = 'authorities_generation'" >/dev/null
}

# it_daemon_start: start shelfsyncd with the config of it_daemon_config (log
# appended to $IT_DIR/daemon.log) and wait until its port accepts connections.
it_daemon_start() {
    [[ -n $IT_DAEMON_CONFIG ]] || it_fail "it_daemon_start: call it_daemon_config first"
    [[ -z $IT_DAEMON_PID ]] || it_fail "it_daemon_start: the daemon already runs (pid $IT_DAEMON_PID)"
    echo "=== $(date '+%F %T') it_daemon_start ===" >>"$IT_DIR/daemon.log"
    "$SS_BIN_DIR/shelfsyncd" --config "$IT_DAEMON_CONFIG" >>"$IT_DIR/daemon.log" 2>&1 &
    IT_DAEMON_PID=$!
    IT_PIDS+=("$IT_DAEMON_PID")
    it_log "started shelfsyncd (pid $IT_DAEMON_PID)"
    if ! ss_wait_until 30 _it_daemon_up; then
        kill -0 "$IT_DAEMON_PID" 2>/dev/null || it_fail "shelfsyncd exited during start-up"
        it_fail "shelfsyncd does not accept connections on port $IT_ZMQ_PORT after 30 s"
    fi
    kill -0 "$IT_DAEMON_PID" 2>/dev/null || it_fail "shelfsyncd exited during start-up"
    it_log "shelfsyncd accepts connections on port $IT_ZMQ_PORT"
}

_it_daemon_up() { ! kill -0 "$IT_DAEMON_PID" 2>/dev/null || ss_tcp_accepts "$IT_ZMQ_PORT"; }

# it_daemon_stop: SIGTERM the daemon and wait for it (30 s, then SIGKILL and
# fail). Returns the daemon's exit status: 0 for a clean shutdown.
it_daemon_stop() {
    [[ -n $IT_DAEMON_PID ]] || { it_log "it_daemon_stop: no daemon running"; return 0; }
    local pid=$IT_DAEMON_PID st=0
    it_log "stopping shelfsyncd (SIGTERM to pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! ss_wait_until 30 _ss_pid_gone "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        IT_DAEMON_PID=""
        _it_forget_pid "$pid"
        it_fail "shelfsyncd did not stop within 30 s of SIGTERM"
    fi
    wait "$pid" || st=$?
    IT_DAEMON_PID=""
    _it_forget_pid "$pid"
    it_log "shelfsyncd exited with status $st"
    return "$st"
}

# it_daemon_kill9: SIGKILL the daemon (a crash) and reap it.
it_daemon_kill9() {
    [[ -n $IT_DAEMON_PID ]] || it_fail "it_daemon_kill9: no daemon running"
    local pid=$IT_DAEMON_PID
    it_log "killing shelfsyncd (SIGKILL to pid $pid)"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    IT_DAEMON_PID=""
    _it_forget_pid "$pid"
}

# ---------------------------------------------------------------------------
# Collectors

# it_collector_config FILE SOURCE URL [EXTRA]: write a collector config for
# SOURCE fetching URL and sending to the test daemon, with its state in
# $IT_DIR/state-SOURCE. EXTRA is raw JSON members appended to the top-level
# object, e.g. '"send":{"ack_timeout_ms":500},"batch":{"records":100}'; when
# EXTRA sets "dataset" or "state_dir" the default (IT_DATASET, else "loans";
# the state directory above) is left out.
it_collector_config() {
    local file=$1 source=$2 url=$3 extra=${4:-}
    _it_zmq_port
    {
        printf '{\n  "description": %s,\n' "$(ss_json_str "integration test $IT_NAME, source $source")"
        printf '  "source": %s,\n' "$(ss_json_str "$source")"
        [[ $extra == *'"dataset"'* ]] || printf '  "dataset": %s,\n' "$(ss_json_str "${IT_DATASET:-loans}")"
        printf '  "url": %s,\n' "$(ss_json_str "$url")"
        [[ $extra == *'"state_dir"'* ]] || printf '  "state_dir": %s,\n' "$(ss_json_str "$IT_DIR/state-$source")"
        printf '  "daemon": {"endpoints": ["tcp://127.0.0.1:%s"]}' "$IT_ZMQ_PORT"
        [[ -z $extra ]] || printf ',\n  %s' "$extra"
        printf '\n}\n'
    } >"$file"
    ss_python -m json.tool "$file" >/dev/null || it_fail "it_collector_config: $file is not valid JSON (EXTRA: $extra)"
    it_log "collector config $file (source $source, url $url)"
}

_it_config_source() {
    ss_python -c 'import json, sys; print(json.load(open(sys.argv[1]))["source"])' "$1" ||
        it_fail "cannot read \"source\" from $1"
}

# it_collect CONFIG: run `shelfsync-collect --config CONFIG --once` (log appended
# to $IT_DIR/collect-SOURCE.log; killed after IT_COLLECT_TIMEOUT s) and return
# its exit status. Use `it_collect c.json || rc=$?` to look at a failure.
it_collect() {
    local config=$1 source st=0
    source=$(_it_config_source "$config")
    echo "=== $(date '+%F %T') it_collect $config ===" >>"$IT_DIR/collect-$source.log"
    it_log "running shelfsync-collect --once for $source"
    timeout --kill-after=10 "$IT_COLLECT_TIMEOUT" \
        "$SS_BIN_DIR/shelfsync-collect" --config "$config" --once >>"$IT_DIR/collect-$source.log" 2>&1 || st=$?
    ((st == 124)) && it_log "shelfsync-collect for $source timed out after $IT_COLLECT_TIMEOUT s"
    it_log "shelfsync-collect for $source exited with status $st"
    return "$st"
}

# it_collect_bg CONFIG: start `shelfsync-collect --once` in the background (e.g.
# while the daemon is down); $IT_COLLECT_PID is its pid. it_collect_wait reaps it.
it_collect_bg() {
    local config=$1
    IT_COLLECT_SOURCE=$(_it_config_source "$config")
    echo "=== $(date '+%F %T') it_collect_bg $config ===" >>"$IT_DIR/collect-$IT_COLLECT_SOURCE.log"
    "$SS_BIN_DIR/shelfsync-collect" --config "$config" --once >>"$IT_DIR/collect-$IT_COLLECT_SOURCE.log" 2>&1 &
    IT_COLLECT_PID=$!
    IT_PIDS+=("$IT_COLLECT_PID")
    it_log "started shelfsync-collect --once for $IT_COLLECT_SOURCE in the background (pid $IT_COLLECT_PID)"
}

# it_collect_wait [TIMEOUT_S]: wait for the it_collect_bg collector (default
# IT_COLLECT_TIMEOUT s; then kill it and fail); return its exit status.
it_collect_wait() {
    local pid=$IT_COLLECT_PID st=0
    [[ -n $pid ]] || it_fail "it_collect_wait: no background collector"
    if ! ss_wait_until "${1:-$IT_COLLECT_TIMEOUT}" _ss_pid_gone "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        _it_forget_pid "$pid"
        IT_COLLECT_PID=""
        it_fail "shelfsync-collect for $IT_COLLECT_SOURCE still running after ${1:-$IT_COLLECT_TIMEOUT} s"
    fi
    wait "$pid" || st=$?
    _it_forget_pid "$pid"
    IT_COLLECT_PID=""
    it_log "shelfsync-collect for $IT_COLLECT_SOURCE exited with status $st"
    return "$st"
}

# it_cursor STATE_DIR: print the cursor a collector saved in STATE_DIR/cursor
# (the "cursor" member of its JSON), nothing when there is none.
it_cursor() {
    [[ -e $1/cursor ]] || return 0
    ss_python -c 'import json, sys; print(json.load(open(sys.argv[1]))["cursor"])' "$1/cursor"
}

# ---------------------------------------------------------------------------

# it_wait_for CMD TIMEOUT_S: evaluate the shell command CMD (in this shell, so
# it_psql and friends work) every 0.2 s until it succeeds; return 1 after
# TIMEOUT_S seconds. Example: it_wait_for '[[ $(it_psql "SELECT count(*) FROM ingest.batches") -ge 3 ]]' 30
it_wait_for() {
    local cmd=$1 deadline=$((SECONDS + $2))
    it_log "waiting up to $2 s for: $cmd"
    until eval "$cmd"; do
        if ((SECONDS >= deadline)); then
            it_log "timed out after $2 s waiting for: $cmd"
            return 1
        fi
        sleep 0.2
    done
}

# ---------------------------------------------------------------------------
# The Arts Council activity return, as published (one row per authority).

# The warehouse tables the return loads.
IT_ACTIVITY_TABLES="core.activity_loans core.active_users core.activity_events core.activity_event_attendance
    core.activity_visits core.computer_hours core.wifi_sessions core.click_and_collect"

# it_activity_return_setup RAW [TABLES...]: a daemon (config, migration,
# started) over an emptied warehouse -- the return's tables, the ledger,
# quarantine and runs, and TABLES -- with the authorities of
# activity-2023-24/library_authorities.json loaded; RAW's directory served
# over HTTP; and the shipped config/collectors/activity-return/*.json,
# pointed at RAW, the daemon and state under $IT_DIR, in $IT_DIR/ace. Call
# in the test's own shell.
it_activity_return_setup() {
    local raw=$1
    shift
    it_daemon_config "$IT_DIR/daemon.json"
    it_migrate
    IT_RESET_TABLES="$IT_ACTIVITY_TABLES ingest.batches ingest.quarantine ingest.runs $*" it_reset_db
    "$SS_BIN_DIR/shelfsync" ref load authorities "$SS_FIXTURES/activity-2023-24/library_authorities.json" \
        --config "$IT_DAEMON_CONFIG" >>"$IT_DIR/ref.log" 2>&1 ||
        it_fail "shelfsync ref load authorities failed (see ref.log)"
    it_daemon_start
    it_http_start "$(dirname "$raw")"
    mkdir -p "$IT_DIR/ace"
    ss_python - "$SS_SOURCE_DIR/config/collectors/activity-return" "$IT_DIR/ace" \
        "http://127.0.0.1:$IT_HTTP_PORT/$(basename "$raw")" "$IT_ZMQ_PORT" <<'PY' ||
import glob, json, os, sys
src, dst, url, port = sys.argv[1:]
for f in sorted(glob.glob(os.path.join(src, "*.json"))):
    c = json.load(open(f))
    c["url"] = url
    c["state_dir"] = os.path.join(dst, "state-" + c["source"])
    c["daemon"] = {"endpoints": ["tcp://127.0.0.1:" + port]}
    json.dump(c, open(os.path.join(dst, os.path.basename(f)), "w"), indent=1)
PY
        it_fail "cannot copy the shipped configs"
    it_assert_eq 8 "$(ls "$IT_DIR/ace"/*.json | wc -l)" "one config per dataset"
}

# it_activity_return_load: run the shipped load script over $IT_DIR/ace (the
# daemon running); fail unless every run exits 0 and nothing is quarantined.
it_activity_return_load() {
    local st=0
    SHELFSYNC_COLLECT="$SS_BIN_DIR/shelfsync-collect" \
        "$SS_SOURCE_DIR/config/collectors/activity-return/load" "$IT_DIR/ace" \
        >>"$IT_DIR/collect-load.log" 2>&1 || st=$?
    it_assert_eq 0 "$st" "the load script: every run exit 0 (nothing unread)"
    it_assert_eq 8 "$(grep -c 'exit status 0' "$IT_DIR/collect-load.log")" "eight runs"
    it_assert_eq 0 "$(it_psql "SELECT count(*) FROM ingest.quarantine")" \
        "nothing quarantined: $(it_psql "SELECT source || ': ' || reason FROM ingest.quarantine LIMIT 3")"
}
