#!/usr/bin/env bash
# The skip machinery of lib.sh and scripts/test:
#  - it_skip REASON prints "SKIP: REASON", records "integration_NAME<TAB>REASON"
#    in $SS_SKIP_LOG and exits 77, with CI=true too;
#  - it_need_tool, it_need_fixture and it_setup without the test PostgreSQL skip
#    (77, "SKIP: ... is missing") outside CI and fail under CI=true (exit 1,
#    "FAIL: ... is missing under CI=true: ..."), and let the test go on when the
#    tool or file is there;
#  - ss_ctest (scripts/test's ctest runner) prints, after a real ctest run of a
#    small project, one line per skipped test and per skipped cmocka case with
#    its reason and the count; a test that exits 77 without it_skip is named as
#    giving no reason and, under CI=true only, fails the stage.
source "$(dirname "$0")/lib.sh"
it_setup
it_need_tool cmake cmake

# probe NAME CI BODY: run BODY in a script test_NAME.sh that sources lib.sh,
# with CI=$CI and SS_SKIP_LOG=$IT_DIR/skips.tsv; sets st, out (its stdout and
# stderr).
probe() {
    local name=$1 ci=$2 body=$3
    printf 'source %q\n%s\necho reached the end\n' "$IT_LIB_DIR/lib.sh" "$body" >"$IT_DIR/test_$name.sh"
    st=0
    out=$(cd "$IT_DIR" && env -u CI ${ci:+CI=$ci} SS_SKIP_LOG="$IT_DIR/skips.tsv" \
        bash "$IT_DIR/test_$name.sh" 2>&1) || st=$?
}

expect() { # STATUS PATTERN WHAT
    [[ $st == "$1" ]] || it_fail "$3: exit status $st, expected $1 (output: $out)"
    [[ $out == *$2* ]] || it_fail "$3: the output lacks '$2' (output: $out)"
    it_log "ok: $3 (exit $st)"
}

it_log "it_skip: a skip that holds everywhere"
: >"$IT_DIR/skips.tsv"
probe plain "" 'it_skip "needs root"'
expect 77 "SKIP: needs root" "it_skip outside CI"
probe plain true 'it_skip "needs root"'
expect 77 "SKIP: needs root" "it_skip under CI=true stays a skip"
[[ $out != *"reached the end"* ]] || it_fail "it_skip did not end the test"
it_assert_eq "integration_plain	needs root
integration_plain	needs root" "$(cat "$IT_DIR/skips.tsv")" "both skips recorded with their reason"

it_log "it_need_tool"
: >"$IT_DIR/skips.tsv"
probe tool "" 'it_need_tool shelfsync-no-such-tool shelfsync-no-such-package'
expect 77 "SKIP: shelfsync-no-such-tool is missing: Debian package shelfsync-no-such-package" "missing tool outside CI"
it_assert_eq "integration_tool	shelfsync-no-such-tool is missing: Debian package shelfsync-no-such-package; ./scripts/test installs it when run as root" \
    "$(cat "$IT_DIR/skips.tsv")" "the tool skip recorded"
probe tool true 'it_need_tool shelfsync-no-such-tool shelfsync-no-such-package'
expect 1 "FAIL: shelfsync-no-such-tool is missing under CI=true: the install list lacks it" "missing tool under CI=true"
[[ $out != *SKIP:* ]] || it_fail "a failing tool check also says SKIP: $out"
probe tool true 'it_need_tool bash bash'
expect 0 "reached the end" "a tool that is there"

it_log "it_need_fixture"
probe fixture "" "it_need_fixture $(printf %q "$IT_LIB_DIR") $(printf %q "$IT_DIR/no-such-file.csv")"
expect 77 "SKIP: $IT_DIR/no-such-file.csv is missing: real public data" "missing fixture outside CI"
probe fixture true "it_need_fixture $(printf %q "$IT_DIR/no-such-file.csv")"
expect 1 "FAIL: $IT_DIR/no-such-file.csv is missing under CI=true" "missing fixture under CI=true"
probe fixture true "it_need_fixture $(printf %q "$IT_LIB_DIR/lib.sh")"
expect 0 "reached the end" "a fixture that is there"

it_log "it_setup without the PostgreSQL of scripts/test"
probe nopg "" 'unset SS_PGPORT; it_setup'
expect 77 "SKIP: SS_PGPORT is missing" "no PostgreSQL outside CI"
probe nopg true 'unset SS_PGPORT; it_setup'
expect 1 "FAIL: SS_PGPORT is missing under CI=true" "no PostgreSQL under CI=true"

it_log "ss_ctest reports every skip with its reason"
proj=$IT_DIR/proj
mkdir -p "$proj"
# Long output before the skip line: the reason must not depend on what ctest keeps.
printf 'source %q\nfor i in $(seq 1 2000); do echo "line $i of output"; done\nit_skip "needs a thing"\n' \
    "$IT_LIB_DIR/lib.sh" >"$proj/test_said.sh"
printf 'echo "no reason here"\nexit 77\n' >"$proj/test_silent.sh"
# What a cmocka binary prints when one of its cases calls skip().
cat >"$proj/cmocka.sh" <<'EOF'
printf '[==========] Running 2 test(s).\n[ RUN      ] test_one\n[       OK ] test_one\n'
printf '[ RUN      ] test_two\nskipping: /x/y.csv is absent\n[  SKIPPED ] test_two\n'
printf '[==========] 2 test(s) run.\n[  PASSED  ] 1 test(s).\n[  SKIPPED ] 1 test(s), listed below:\n[  SKIPPED ] test_two\n'
EOF
cat >"$proj/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.18)
project(skips NONE)
enable_testing()
add_test(NAME integration_said COMMAND bash $proj/test_said.sh)
add_test(NAME integration_silent COMMAND bash $proj/test_silent.sh)
add_test(NAME unit_cm COMMAND bash $proj/cmocka.sh)
add_test(NAME unit_ok COMMAND true)
set_tests_properties(integration_said integration_silent PROPERTIES SKIP_RETURN_CODE 77)
EOF
cmake -S "$proj" -B "$proj/build" >"$IT_DIR/cmake.log" 2>&1 || { cat "$IT_DIR/cmake.log"; it_fail "cannot configure $proj"; }
run_ss_ctest() { # CI
    st=0
    out=$(cd "$SS_SOURCE_DIR" && env -u CI ${1:+CI=$1} SS_LOG_TAG=test bash -c \
        'source scripts/lib/common.sh; ss_ctest "the stage" "$0"' "$proj/build" 2>&1) || st=$?
}
run_ss_ctest ""
expect 0 "test: the stage: 3 skipped (a test or a cmocka case each), with the reason:" "ss_ctest outside CI"
for line in "test:   integration_said: needs a thing" \
    "test:   integration_silent: no reason given (SKIP_RETURN_CODE=77; it skipped without it_skip)" \
    "test:   unit_cm: test_two: skipping: /x/y.csv is absent"; do
    grep -qF -- "$line" <<<"$out" || it_fail "ss_ctest does not print '$line': $out"
done
[[ $(grep -c 'unit_cm: test_two' <<<"$out") == 1 ]] || it_fail "the skipped cmocka case is named more than once: $out"
! grep -q "^test:   unit_ok" <<<"$out" || it_fail "a test that skipped nothing is listed: $out"
it_log "ok: each skip named once with its reason"
run_ss_ctest true
expect 1 "a test skipped without saying why (not through it_skip); under CI=true that fails" "an unexplained skip under CI=true"

rm "$proj/test_silent.sh"
printf 'exit 0\n' >"$proj/test_silent.sh"
printf 'printf "[ RUN      ] test_one\\n[       OK ] test_one\\n"\n' >"$proj/cmocka.sh"
printf 'exit 0\n' >"$proj/test_said.sh"
run_ss_ctest true
expect 0 "test: the stage: no test skipped" "nothing skipped"
