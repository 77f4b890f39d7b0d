# shellcheck shell=bash
# What the benchmarks share: an optimised build, a private PostgreSQL with its
# default durability, a generated loans export served over HTTP on loopback,
# a daemon, and a collector config. Sourced by scripts/bench, bench/throughput,
# bench/collector_memory and bench/daemon_memory from the checkout's top
# directory; each function dies on failure. Everything lives in $work and is removed on exit.

# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh
SS_LOG_TAG=bench

# bench_begin: builds build-bench/ (Release, no tests) and makes $work, with
# a trap that stops what was started (pids in the array bench_pids).
bench_begin() {
    # shellcheck disable=SC2119 # no arguments: every package
    ss_need_packages
    ss_build build-bench -DCMAKE_BUILD_TYPE=Release -DSS_TESTS=OFF >/dev/null
    work=$(mktemp -d /tmp/shelfsync-bench.XXXXXX)
    bench_pids=()
    trap bench_end EXIT
}

# shellcheck disable=SC2317 # called by the trap
bench_end() {
    local p
    for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    if [[ -d $work/pg ]]; then
        ss_pg_stop "$work/pg" >/dev/null 2>&1 || true
        rm -rf -- "$(ss_pg_dir "$work/pg")"
    fi
    rm -rf -- "$work"
}

# bench_pg_start: the private PostgreSQL; psql_ runs SQL on it.
bench_pg_start() {
    ss_pg_start "$work/pg" >/dev/null
    pg_sock=$(ss_pg_sockdir "$work/pg")
    pg_port=$(ss_pg_port "$work/pg")
}
psql_() { psql -X -q -tA -h "$pg_sock" -p "$pg_port" -U shelfsync -d shelfsync "$@"; }

# bench_export ROWS: $work/www/loans.csv (gen_loans.py) served on loopback;
# sets export_url and export_bytes.
# shellcheck disable=SC2034 # export_url, export_bytes: for the caller
bench_export() {
    mkdir -p "$work/www"
    ss_python tests/integration/gen_loans.py "$work/www/loans.csv" "$1" >/dev/null
    export_bytes=$(stat -c %s "$work/www/loans.csv")
    local http_port # "$SS_PYTHON", not ss_python: $! must be python, for bench_end to stop it
    http_port=$(ss_free_port)
    "$SS_PYTHON" -m http.server --bind 127.0.0.1 "$http_port" --directory "$work/www" >/dev/null 2>&1 &
    bench_pids+=($!)
    ss_wait_until 10 ss_tcp_accepts "$http_port"
    export_url="http://127.0.0.1:$http_port/loans.csv"
}

# bench_daemon_start: migrates, loads 1,000 authorities (the ones
# gen_loans.py names), starts shelfsyncd; sets daemon_pid and zmq_port.
bench_daemon_start() {
    zmq_port=$(ss_free_port)
    cat >"$work/daemon.json" <<JSON
{"listen": "tcp://127.0.0.1:$zmq_port", "insecure": true,
 "database": {"conninfo": "host=$pg_sock port=$pg_port dbname=shelfsync user=shelfsync"}}
JSON
    build-bench/shelfsync migrate --config "$work/daemon.json" >/dev/null 2>&1
    psql_ -c "INSERT INTO ref.authority (code, name, nice_name) SELECT 'E99' || lpad(n::text, 6, '0'), 'Authority ' || n, 'Authority ' || n FROM generate_series(0, 999) n;
          INSERT INTO ref.authority_alias (alias_key, code, alias, origin) SELECT 'authority ' || n, 'E99' || lpad(n::text, 6, '0'), 'Authority ' || n, 'bench' FROM generate_series(0, 999) n;
          INSERT INTO ref.meta VALUES ('authorities_generation', '1') ON CONFLICT (key) DO UPDATE SET value = '1'" >/dev/null
    build-bench/shelfsyncd --config "$work/daemon.json" 2>"$work/daemon.log" &
    daemon_pid=$!
    bench_pids+=("$daemon_pid")
    ss_wait_until 30 ss_tcp_accepts "$zmq_port"
}

# bench_collect_config: $work/collect.json, the loans export to the daemon.
bench_collect_config() {
    cat >"$work/collect.json" <<JSON
{"source": "bench", "dataset": "loans", "url": "$export_url", "state_dir": "$work/state",
 "daemon": {"endpoints": ["tcp://127.0.0.1:$zmq_port"]}, "http": {"conditional": false}}
JSON
}

# bench_collect LABEL [ARGS...]: one collector run (--once ARGS) with the
# config $bench_collect_json (default $work/collect.json); its peak
# resident memory in KiB goes to $work/kb.LABEL, its seconds to
# $work/secs.LABEL, its log to $work/collect.LABEL.log.
bench_collect() {
    local label=$1 t0 t1
    shift
    t0=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$work/kb.$label" \
        build-bench/shelfsync-collect --config "${bench_collect_json:-$work/collect.json}" --once "$@" \
        >"$work/collect.$label.out" 2>"$work/collect.$label.log"
    t1=$(date +%s.%N)
    ss_python -c "print(float('$t1') - float('$t0'))" >"$work/secs.$label"
}

# bench_mib KIB: KiB as MiB, one decimal.
bench_mib() { ss_python -c "print(f'{$1 / 1024:.1f}')"; }
