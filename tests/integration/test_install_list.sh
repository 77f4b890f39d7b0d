#!/usr/bin/env bash
# The install list (scripts/lib/common.sh) covers what the scripts call, so a
# fresh Debian 12 runs ./scripts/test and ./scripts/demo after the scripts
# installed their packages:
#  - every program a script, test or bench/ script calls (in command position,
#    as tests/tools/shell_commands.py finds them) that is installed here comes
#    from a package of priority "required" (in every Debian) or is listed in
#    SS_TOOLS;
#  - every SS_TOOLS package is in SS_PACKAGES or SS_TEST_PACKAGES, every
#    SS_TOOLS program is on PATH (under CI=true a missing one fails), and every
#    it_need_tool CMD PACKAGE in the tests matches SS_TOOLS;
#  - curl, valgrind, procps and tcpdump are in the test list, valgrind not in
#    the demo's;
#  - every module the Python test tools import is there;
#  - run as a user other than root, ss_need_packages prints a line that works on
#    a Debian without sudo: su -c 'apt-get update && apt-get install ...'.
source "$(dirname "$0")/lib.sh"
it_setup

in_list() { [[ " $SS_PACKAGES $SS_TEST_PACKAGES " == *" $1 "* ]]; }

declare -A tool_pkg=()
for entry in $SS_TOOLS; do
    tool_pkg[${entry%%=*}]=${entry#*=}
    in_list "${entry#*=}" || it_fail "SS_TOOLS says ${entry%%=*} comes from ${entry#*=}, which no install list has"
done
it_log "ok: the ${#tool_pkg[@]} SS_TOOLS packages are all in SS_PACKAGES or SS_TEST_PACKAGES"
# Only ./scripts/bench installs these: never required on PATH.
declare -A bench_pkg=()
for entry in $SS_BENCH_TOOLS; do
    bench_pkg[${entry%%=*}]=${entry#*=}
    [[ " $SS_BENCH_PACKAGES " == *" ${entry#*=} "* ]] ||
        it_fail "SS_BENCH_TOOLS says ${entry%%=*} comes from ${entry#*=}, which SS_BENCH_PACKAGES lacks"
done
it_log "ok: the bench's own programs come from SS_BENCH_PACKAGES"

for p in curl valgrind procps tcpdump libcmocka-dev clang; do
    [[ " $SS_TEST_PACKAGES " == *" $p "* ]] || it_fail "SS_TEST_PACKAGES lacks $p"
done
[[ " $SS_PACKAGES " != *" valgrind "* ]] || it_fail "the demo's list (SS_PACKAGES) has valgrind, which only the tests need"
it_log "ok: curl, valgrind, procps, tcpdump in the test list; the demo's list has no valgrind"

# The package that owns the program at PATH ("" when none does). Debian 12 has
# merged /usr: dpkg knows a file by the path its package ships, /bin or /usr/bin.
owner() {
    local p c real
    real=$(realpath -- "$1")
    for p in "$1" "$real"; do
        for c in "$p" "${p/#\/usr\/bin\//\/bin\/}" "${p/#\/bin\//\/usr\/bin\/}" \
            "${p/#\/usr\/sbin\//\/sbin\/}" "${p/#\/sbin\//\/usr\/sbin\/}"; do
            dpkg-query -S -- "$c" 2>/dev/null | sed -n '1s/:.*//p' | grep . && return 0
        done
    done
    return 0
}

it_log "scanning the scripts for the programs they call"
cd "$SS_SOURCE_DIR"
files=(scripts/demo scripts/test scripts/fuzz scripts/bench scripts/lib/common.sh tests/integration/*.sh
       bench/throughput bench/collector_memory bench/daemon_memory bench/lib/*.sh .ci/run)
mapfile -t called < <(ss_python tests/tools/shell_commands.py "${files[@]}")
((${#called[@]} > 20)) || it_fail "the scan found only ${#called[@]} words: tests/tools/shell_commands.py is broken"
checked=0 bad=()
for cmd in "${called[@]}"; do
    [[ $(type -t -- "$cmd" 2>/dev/null) == file ]] || continue # builtins, functions, not a program
    checked=$((checked + 1))
    [[ -n ${tool_pkg[$cmd]:-} || -n ${bench_pkg[$cmd]:-} ]] && continue
    path=$(type -P -- "$cmd")
    pkg=$(owner "$path")
    if [[ -z $pkg ]]; then
        bad+=("$cmd ($path belongs to no Debian package: a fresh Debian lacks it)")
        continue
    fi
    prio=$(dpkg-query -W -f='${Priority}' "$pkg" 2>/dev/null || true)
    [[ $prio == required ]] ||
        bad+=("$cmd (package $pkg, priority ${prio:-unknown}: add $pkg to SS_TEST_PACKAGES and $cmd=$pkg to SS_TOOLS)")
done
((${#bad[@]} == 0)) || it_fail "the scripts call programs no install list covers: ${bad[*]}"
it_log "ok: $checked programs called, each in every Debian or in SS_TOOLS"

while read -r cmd pkg; do
    [[ ${tool_pkg[$cmd]:-} == "$pkg" ]] || it_fail "a test says it_need_tool $cmd $pkg, but SS_TOOLS has ${cmd}=${tool_pkg[$cmd]:-nothing}"
done < <(grep -hE '^\s*it_need_tool [A-Za-z0-9/_.+-]+ [A-Za-z0-9_.+-]+\s*$' tests/integration/test_*.sh | sed 's/^ *it_need_tool //')
it_log "ok: every it_need_tool names its program and package as SS_TOOLS does"

mapfile -t modules < <(ss_python - tests/tools/*.py tests/integration/*.py scripts/lib/*.py <<'PY'
import ast, sys
found = set()
for path in sys.argv[1:]:
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read(), path)):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
print("\n".join(sorted(found)))
PY
)
for m in "${modules[@]}"; do
    ss_python -c "import $m" 2>/dev/null || it_fail "the Python test tools import $m, which $SS_PYTHON lacks: add its Debian package (python3-...) to SS_TEST_PACKAGES"
done
it_log "ok: the ${#modules[@]} modules the Python tools import are there (${modules[*]})"

it_log "the install line printed for a user other than root"
script=$(printf 'source %q; SS_LOG_TAG=t; ss_need_packages bash shelfsync-no-such-package' "$SS_SOURCE_DIR/scripts/lib/common.sh")
st=0
if ((EUID == 0)); then
    runuser -u nobody -- test -r "$SS_SOURCE_DIR/scripts/lib/common.sh" ||
        it_skip "the user nobody cannot read $SS_SOURCE_DIR/scripts/lib/common.sh, so the non-root message cannot be tried"
    (cd / && runuser -u nobody -- bash -c "$script") >"$IT_DIR/need.out" 2>"$IT_DIR/need.err" || st=$?
else
    bash -c "$script" >"$IT_DIR/need.out" 2>"$IT_DIR/need.err" || st=$?
fi
it_assert_eq 1 "$st" "ss_need_packages exits 1 when a package is missing and it cannot install"
it_assert_eq "su -c 'apt-get update && apt-get install -y --no-install-recommends shelfsync-no-such-package'" \
    "$(cat "$IT_DIR/need.out")" "the one line on stdout: su, not sudo, only the missing package"
grep -qF "or, as root: apt-get update && apt-get install -y --no-install-recommends shelfsync-no-such-package" "$IT_DIR/need.err" ||
    it_fail "stderr does not give the root alternative: $(cat "$IT_DIR/need.err")"
it_log "ok: stderr also says how to do it as root"

# Last, since outside CI a missing program skips the rest.
for cmd in "${!tool_pkg[@]}"; do
    it_need_tool "$cmd" "${tool_pkg[$cmd]}"
done
it_log "ok: every SS_TOOLS program is on PATH"
