# shellcheck shell=bash
# Helpers for the scripts in scripts/: packages, a private PostgreSQL cluster, a
# loopback HTTP server, background processes tracked by pid file, the build.
#
# Sourced, never executed. Functions report failure by returning non-zero (or,
# for ss_need_packages when it cannot install, by exiting 1); they print what
# they do on stderr so that a script's stdout stays its own.
#
# Private PostgreSQL cluster layout under a directory DIR:
#   DIR/data           the cluster (initdb), owned by `postgres` when run as root
#   DIR/sock           the Unix socket directory (listen_addresses='': no TCP)
#   DIR/port           the port, i.e. the socket name .s.PGSQL.PORT
#   DIR/postgresql.log the server log
#   DIR/redirect       present only when the cluster could not live in DIR (the
#                      postgres user cannot reach DIR, or the socket path would be
#                      too long): holds the absolute path of the directory that
#                      really holds data/, sock/, port and the log.
# Every ss_pg_* function takes DIR and follows the redirect, so callers need not
# care; ss_pg_dir DIR prints the real directory.

# The Debian 12 packages the scripts install (as root) or print the install line
# for: SS_PACKAGES builds and runs the programs (what scripts/demo needs);
# SS_TEST_PACKAGES adds what the tests, the fuzz targets and bench/ call:
# cmocka, clang and its libFuzzer runtime, curl (the FOLIO and Koha tests, the
# bench ceiling), valgrind (integration_valgrind), ps (procps, absent from
# minimal images), tcpdump (loopback captures in the privacy tests), time
# (/usr/bin/time in bench/throughput), prometheus (promtool and a real
# scraper for integration_metrics), systemd (systemd-analyze), groff-base (the
# man pages checked in integration_package), man-db (systemd-analyze verify
# opens the installed units' Documentation=man: pages) and file (CPack's
# dpkg-shlibdeps step) and chromium (headless: integration_report renders
# the HTML report, prints it to PDF and reads its DOM).
SS_PACKAGES="build-essential cmake pkg-config libzmq3-dev libpq-dev libssl-dev libjansson-dev libcurl4-openssl-dev postgresql python3"
SS_TEST_PACKAGES="libcmocka-dev clang libclang-rt-14-dev curl valgrind procps tcpdump time systemd prometheus groff-base man-db file chromium"
# SS_BENCH_PACKAGES: what ./scripts/bench alone needs beyond both lists
# (pgloader, one of the loaders it compares against); neither ./scripts/test
# nor ./scripts/demo installs it.
SS_BENCH_PACKAGES="pgloader git"
# What ./scripts/bench calls beyond SS_TOOLS, as SS_TOOLS says it (git only
# names the commit measured; without it the results say "unknown").
# shellcheck disable=SC2034 # read by the tests
SS_BENCH_TOOLS="pgloader=pgloader git=git"

# Every program a script, test or bench/ script calls (or has cmake call) that
# is not in every Debian system (a package of priority "required"), as
# PROGRAM=PACKAGE, PACKAGE being the one in the lists above that brings it.
# integration_install_list checks that the scripts call nothing else, that each
# PACKAGE is in a list above and, under CI=true, that each PROGRAM is on PATH.
# (The PostgreSQL server programs are found by ss_pg_bindir, not on PATH.)
# shellcheck disable=SC2034 # read by the tests
SS_TOOLS="cc=build-essential make=build-essential nm=build-essential cmake=cmake ctest=cmake
pkg-config=pkg-config psql=postgresql python3=python3 clang=clang curl=curl valgrind=valgrind
ps=procps tcpdump=tcpdump /usr/bin/time=time systemd-analyze=systemd promtool=prometheus
prometheus=prometheus groff=groff-base chromium=chromium"

# Extra "name=value" server settings (space-separated) written into the cluster's
# configuration at every ss_pg_start; empty keeps PostgreSQL's defaults. Tests use
# e.g. "fsync=off synchronous_commit=off full_page_writes=off".
: "${SS_PG_SETTINGS:=}"

SS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

ss_log() { printf '%s: %s\n' "${SS_LOG_TAG:-shelfsync}" "$*" >&2; }
ss_die() { ss_log "error: $*"; exit 1; }

# The python3 the scripts use: Debian's, so that a pyenv or venv on PATH does not
# matter. SS_PYTHON is its path (for starting it in the background, where $!
# must be python itself, not a subshell running a function).
if [[ -x /usr/bin/python3 ]]; then SS_PYTHON=/usr/bin/python3; else SS_PYTHON=$(command -v python3 || echo python3); fi
ss_python() { "$SS_PYTHON" "$@"; }

# ss_need_packages [PACKAGE...]: make sure every PACKAGE (default: all of
# $SS_PACKAGES and $SS_TEST_PACKAGES) is installed. As root, installs the missing
# ones; otherwise prints the command that installs them on a fresh Debian (which
# has no sudo: `su -c '...'` asks for root's password) and exits 1.
ss_need_packages() {
    local pkg status missing=() want=("$@")
    (($#)) || read -ra want <<<"$SS_PACKAGES $SS_TEST_PACKAGES"
    for pkg in "${want[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
        [[ $status == installed ]] || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    local install=(apt-get install -y --no-install-recommends "${missing[@]}")
    if ((EUID == 0)); then
        ss_log "installing missing packages: ${missing[*]}"
        apt-get update
        DEBIAN_FRONTEND=noninteractive "${install[@]}"
    else
        ss_log "missing packages: ${missing[*]}; install them with (it asks for root's password):"
        printf "su -c 'apt-get update && %s'\n" "${install[*]}"
        ss_log "or, as root: apt-get update && ${install[*]} (where sudo is set up: sudo ${install[*]})"
        exit 1
    fi
}

# ss_ctest NAME BUILD_DIR CTEST_ARGS...: run ctest --output-on-failure in
# BUILD_DIR, then print on stderr every test that skipped with its reason, and
# how many (NAME heads the lines). The integration tests record their reasons
# in $SS_SKIP_LOG (BUILD_DIR/skipped.tsv, emptied first; see it_skip), cmocka
# cases print theirs; scripts/lib/ctest_skips.py reads both and ctest's JUnit
# file (BUILD_DIR/ctest-junit.xml). Returns ctest's status; when ctest passed,
# 1 if the report could not be made, or if under CI=true a test skipped
# without saying why.
ss_ctest() {
    local name=$1 dir st=0 rst=0 report n line
    dir=$(realpath -- "$2") || return 1
    shift 2
    rm -f -- "$dir/skipped.tsv" "$dir/ctest-junit.xml"
    # The whole output of passed tests goes into the JUnit file, so that a
    # skipped cmocka case shows there however long its test's output.
    SS_SKIP_LOG=$dir/skipped.tsv ctest --test-dir "$dir" --output-on-failure \
        --output-junit "$dir/ctest-junit.xml" --test-output-size-passed 4194304 "$@" || st=$?
    report=$(ss_python "$SS_LIB_DIR/ctest_skips.py" "$dir/ctest-junit.xml" "$dir/skipped.tsv") || rst=$?
    if ((rst != 0 && rst != 3)); then
        ss_log "$name: cannot tell which tests skipped (no readable $dir/ctest-junit.xml)"
        ((st != 0)) || st=1
        return "$st"
    fi
    n=0
    [[ -z $report ]] || n=$(wc -l <<<"$report")
    if ((n == 0)); then
        ss_log "$name: no test skipped"
    else
        ss_log "$name: $n skipped (a test or a cmocka case each), with the reason:"
        while IFS= read -r line; do ss_log "  $line"; done <<<"$report"
    fi
    if ((rst == 3)) && [[ ${CI:-} == true ]]; then
        ss_log "$name: a test skipped without saying why (not through it_skip); under CI=true that fails"
        ((st != 0)) || st=1
    fi
    return "$st"
}

# ss_build DIR [cmake args...]: configure the project in the current directory
# into DIR and build it with one job per CPU.
ss_build() {
    local dir=$1
    shift
    ss_log "building in $dir"
    cmake -S . -B "$dir" "$@" && cmake --build "$dir" -j"$(nproc)"
}

# ss_free_port: print a TCP port on 127.0.0.1 that was free a moment ago.
ss_free_port() {
    ss_python -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# ss_tcp_accepts PORT: true when something accepts connections on 127.0.0.1:PORT.
ss_tcp_accepts() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ss_wait_until TIMEOUT_S CMD...: run CMD every 0.1 s until it succeeds (return 0)
# or TIMEOUT_S seconds have passed (return 1).
ss_wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# ss_json_str STRING: print STRING as a JSON string literal (quotes included).
ss_json_str() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\t'/\\t}
    s=${s//$'\n'/\\n}
    s=${s//$'\r'/\\r}
    printf '"%s"' "$s"
}

# ---------------------------------------------------------------------------
# Background processes tracked by a pid file

# ss_pid_alive PIDFILE [PATTERN]: true when PIDFILE names a live process whose
# command line contains PATTERN (guards against a recycled pid).
ss_pid_alive() {
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    [[ -z ${2:-} ]] && return 0
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# ss_spawn PIDFILE LOGFILE CMD...: start CMD detached (own session, stdin from
# /dev/null, stdout and stderr appended to LOGFILE) and write its pid to PIDFILE.
# The pid is the program's own (the wrapper shell execs it), so it can be
# signalled directly.
ss_spawn() {
    local pidfile=$1 logfile=$2
    shift 2
    rm -f -- "$pidfile"
    # shellcheck disable=SC2016 # $$ and "$@" belong to the inner shell
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 &
    # Wait for the pid file, so the caller can rely on it on return.
    ss_wait_until 10 test -s "$pidfile"
}

# ss_pid_stop PIDFILE PATTERN [TIMEOUT_S]: SIGTERM the process named by PIDFILE
# (if alive and matching PATTERN), wait for it to go (default 30 s, then
# SIGKILL), remove PIDFILE. Succeeds when nothing was running.
ss_pid_stop() {
    local pidfile=$1 pattern=$2 timeout=${3:-30} pid
    if ss_pid_alive "$pidfile" "$pattern"; then
        pid=$(<"$pidfile")
        kill -TERM "$pid" 2>/dev/null || true
        if ! ss_wait_until "$timeout" _ss_pid_gone "$pid"; then
            ss_log "pid $pid ($pattern) still running after ${timeout}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            ss_wait_until 5 _ss_pid_gone "$pid" || true
        fi
    fi
    rm -f "$pidfile"
}

_ss_pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# ---------------------------------------------------------------------------
# PostgreSQL

# ss_pg_bindir: print the newest /usr/lib/postgresql/VERSION/bin.
ss_pg_bindir() {
    local d best="" bestv=-1 v
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x $d/pg_ctl ]] || continue
        v=${d#/usr/lib/postgresql/}
        v=${v%/bin}
        [[ $v =~ ^[0-9]+$ ]] || continue
        if ((v > bestv)); then best=$d bestv=$v; fi
    done
    [[ -n $best ]] || { ss_log "no PostgreSQL server in /usr/lib/postgresql/*/bin (package postgresql)"; return 1; }
    printf '%s\n' "$best"
}

# Run a server-side command (initdb, pg_ctl) as the cluster's owner: `postgres`
# when we are root (both refuse to run as root), ourselves otherwise.
_ss_pg_as() {
    # From / so that a cwd the postgres user cannot read draws no warnings.
    if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# ss_pg_dir DIR: print the directory that really holds the cluster of DIR.
ss_pg_dir() {
    local dir
    dir=$(realpath -m -- "$1")
    if [[ -s $dir/redirect ]]; then cat -- "$dir/redirect"; else printf '%s\n' "$dir"; fi
}
ss_pg_sockdir() { printf '%s/sock\n' "$(ss_pg_dir "$1")"; }
ss_pg_port() {
    local real
    real=$(ss_pg_dir "$1")
    [[ -s $real/port ]] || { ss_log "no cluster in $1 (no port file)"; return 1; }
    cat -- "$real/port"
}

# Whether the cluster's owner can create and use files in DIR.
_ss_pg_usable() {
    if ((EUID == 0)); then
        runuser -u postgres -- test -d "$1" -a -w "$1" -a -x "$1" 2>/dev/null
    else
        [[ -d $1 && -w $1 && -x $1 ]]
    fi
}

# ss_pg_start DIR [PORT]: make sure a private cluster for DIR runs (see the layout
# at the top), with trust authentication, the role `shelfsync` (LOGIN, CREATEROLE) and the
# database `shelfsync` it owns. initdb only when there is no cluster yet; a
# running cluster is left running. PORT defaults to the recorded one, else a free
# one. Sets SS_PG_DIR to the real cluster directory.
ss_pg_start() {
    local dir port="${2:-}" bindir real sock data
    dir=$(realpath -m -- "$1")
    bindir=$(ss_pg_bindir) || return 1
    mkdir -p -- "$dir" || return 1
    ((EUID == 0)) && chown postgres: -- "$dir"

    real=$(ss_pg_dir "$dir")
    if [[ $real != "$dir" && ! -d $real/data ]]; then
        # A redirect to a directory that is gone (e.g. /tmp was cleaned): start over.
        rm -f -- "$dir/redirect"
        real=$dir
    fi
    if [[ $real == "$dir" && ! -d $dir/data ]]; then
        # The socket path must fit in sun_path (107 bytes): DIR/sock/.s.PGSQL.NNNNN
        local why=""
        if ! _ss_pg_usable "$dir"; then
            why="the postgres user cannot reach $dir"
        elif ((${#dir} + 23 > 100)); then
            why="socket path under $dir would be too long"
        fi
        if [[ -n $why ]]; then
            real=$(mktemp -d /tmp/shelfsync-pg.XXXXXX) || return 1
            ((EUID == 0)) && chown postgres: -- "$real"
            printf '%s\n' "$real" >"$dir/redirect"
            ss_log "$why; keeping the cluster in $real instead (recorded in $dir/redirect)"
        fi
    fi
    data=$real/data
    sock=$real/sock
    # shellcheck disable=SC2034 # for the caller
    SS_PG_DIR=$real

    if [[ -z $port ]]; then
        if [[ -s $real/port ]]; then port=$(<"$real/port"); else port=$(ss_free_port) || return 1; fi
    fi
    [[ $port =~ ^[0-9]+$ ]] || { ss_log "bad port '$port'"; return 1; }

    if [[ ! -d $data ]]; then
        ss_log "initdb $data"
        _ss_pg_as "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale >"$real/initdb.log" 2>&1 || {
            ss_log "initdb failed:"
            cat -- "$real/initdb.log" >&2
            return 1
        }
        printf "\n# shelfsync: connection settings and extra settings, rewritten by ss_pg_start\ninclude_if_exists 'shelfsync.conf'\n" |
            _ss_pg_as tee -a "$data/postgresql.conf" >/dev/null
    fi

    # A postmaster killed a moment ago can linger as a zombie until reaped; both
    # pg_ctl and the server would take it for a live one.
    if [[ -s $data/postmaster.pid ]]; then
        local oldpid
        oldpid=$(_ss_pg_as head -n 1 -- "$data/postmaster.pid" 2>/dev/null || true)
        if [[ $oldpid =~ ^[0-9]+$ ]] && _ss_is_zombie "$oldpid"; then
            ss_log "waiting for the old postmaster (pid $oldpid) to be reaped"
            ss_wait_until 30 _ss_not_zombie "$oldpid" || true
        fi
    fi

    if _ss_pg_as "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        port=$(<"$real/port")
        ss_log "PostgreSQL already running in $data (socket $sock, port $port)"
    else
        _ss_pg_as mkdir -p -- "$sock" || return 1
        local settings="listen_addresses = ''
unix_socket_directories = '$sock'
port = $port
" kv
        for kv in $SS_PG_SETTINGS; do
            [[ $kv == *=* ]] || { ss_log "SS_PG_SETTINGS: '$kv' is not name=value"; return 1; }
            settings+="${kv%%=*} = '${kv#*=}'"$'\n'
        done
        printf '%s' "$settings" | _ss_pg_as tee "$data/shelfsync.conf" >/dev/null || return 1
        printf '%s\n' "$port" >"$real/port"
        ss_log "starting PostgreSQL in $data (socket $sock, port $port${SS_PG_SETTINGS:+, $SS_PG_SETTINGS})"
        _ss_pg_as "$bindir/pg_ctl" -D "$data" -l "$real/postgresql.log" -w -t 60 start >/dev/null || {
            ss_log "pg_ctl start failed; end of $real/postgresql.log:"
            tail -n 20 -- "$real/postgresql.log" >&2
            return 1
        }
    fi

    if ! ss_wait_until 60 "$bindir/pg_isready" -q -h "$sock" -p "$port" -U postgres -d postgres; then
        ss_log "PostgreSQL in $data does not answer on $sock port $port"
        return 1
    fi

    local su=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres -d postgres -tA)
    if [[ -z $("${su[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'shelfsync'") ]]; then
        ss_log "creating role shelfsync"
        "${su[@]}" -c "CREATE ROLE shelfsync LOGIN" || return 1
    fi
    # The owner that runs migrations creates the writer and analyst roles (005);
    # a test that must see only its own data makes a database of its own.
    "${su[@]}" -c "ALTER ROLE shelfsync CREATEROLE CREATEDB" >/dev/null || return 1
    if [[ -z $("${su[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'shelfsync'") ]]; then
        ss_log "creating database shelfsync"
        "${su[@]}" -c "CREATE DATABASE shelfsync OWNER shelfsync" || return 1
    fi
}

_ss_is_zombie() { [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]; }
_ss_not_zombie() { ! _ss_is_zombie "$1"; }

# ss_pg_stop DIR: stop the cluster of DIR (fast shutdown). Succeeds when it was
# not running or does not exist.
ss_pg_stop() {
    local real bindir
    real=$(ss_pg_dir "$1")
    [[ -d $real/data ]] || return 0
    bindir=$(ss_pg_bindir) || return 1
    if _ss_pg_as "$bindir/pg_ctl" -D "$real/data" status >/dev/null 2>&1; then
        ss_log "stopping PostgreSQL in $real/data"
        _ss_pg_as "$bindir/pg_ctl" -D "$real/data" -m fast -w -t 60 stop >/dev/null
    fi
}

# ss_pg_psql DIR ARGS...: psql as shelfsync on database shelfsync of DIR's cluster.
ss_pg_psql() {
    local dir=$1 port bindir
    shift
    port=$(ss_pg_port "$dir") || return 1
    bindir=$(ss_pg_bindir) || return 1
    "$bindir/psql" -X -h "$(ss_pg_sockdir "$dir")" -p "$port" -U shelfsync -d shelfsync "$@"
}

# ---------------------------------------------------------------------------
# A static HTTP server on loopback

# ss_http_start DIR ROOT: serve ROOT on 127.0.0.1 at a free port with python's
# http.server in the background; pid in DIR/pid, port in DIR/port, log in
# DIR/http.log. Already serving ROOT → just succeed. Returns once it answers.
ss_http_start() {
    local dir=$1 root attempt port
    root=$(realpath -e -- "$2") || { ss_log "no directory $2 to serve"; return 1; }
    mkdir -p -- "$dir" || return 1
    if ss_pid_alive "$dir/pid" http.server && [[ $(cat -- "$dir/root" 2>/dev/null) == "$root" ]] &&
        _ss_http_answers "$(<"$dir/port")"; then
        ss_log "HTTP server already serving $root on port $(<"$dir/port")"
        return 0
    fi
    ss_http_stop "$dir"
    # The port is only known free when chosen, so a lost race is retried.
    for attempt in 1 2 3; do
        port=$(ss_free_port) || return 1
        ss_spawn "$dir/pid" "$dir/http.log" \
            "$SS_PYTHON" -m http.server --bind 127.0.0.1 "$port" --directory "$root" ||
            return 1
        printf '%s\n' "$port" >"$dir/port"
        printf '%s\n' "$root" >"$dir/root"
        if ss_wait_until 15 _ss_http_up "$dir/pid" "$port"; then
            if _ss_http_answers "$port"; then
                ss_log "HTTP server on http://127.0.0.1:$port/ serving $root (pid $(<"$dir/pid"))"
                return 0
            fi
        fi
        ss_log "HTTP server did not come up on port $port (attempt $attempt); end of $dir/http.log:"
        tail -n 5 -- "$dir/http.log" >&2
        ss_http_stop "$dir"
    done
    return 1
}

_ss_http_up() { ! ss_pid_alive "$1" || _ss_http_answers "$2"; }

_ss_http_answers() {
    ss_python - "$1" <<'EOF' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=2).read()
EOF
}

# ss_http_stop DIR: stop the server started by ss_http_start DIR, if running.
ss_http_stop() {
    ss_pid_stop "$1/pid" http.server 10
}
