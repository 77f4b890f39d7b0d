#!/usr/bin/env bash
# Authorities as they were at the time, with the real reference data
# (library_authorities.json and the built-in successors): a name resolves to
# the authority valid for the record's period (Somerset 2020 -> the county
# E10000027, 2024 -> the unitary E06000066; Dorset 2016 -> the old county;
# Poole and Bournemouth before 2019 -> the old unitaries); a code used after
# its abolition is quarantined naming the successor, or, with
# "authorities.abolished": "successor", loaded as the successor's code (a
# split never; "authorities.sources" sets it per source); a successor's code
# used before it existed is quarantined; and every name in ref.authority and
# every English authority name and code in the real published files resolves
# (tests/integration/authority_names.py collects them).
source "$(dirname "$0")/lib.sh"

: "${SS_FIXTURES:=$SS_SOURCE_DIR/../shared/fixtures}"
AUTH=$SS_FIXTURES/activity-2023-24/library_authorities.json
it_need_fixture "$AUTH" "$SS_FIXTURES/libraries-register/libraries.csv" \
    "$SS_FIXTURES/libraries-register/plr_authorities.csv"

it_setup
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
IT_RESET_TABLES="core.computer_hours core.wifi_sessions core.click_and_collect core.membership ingest.batches ingest.quarantine ref.nearest_neighbour ref.population ref.authority_alias ref.authority_successor ref.authority ref.meta" \
    it_reset_db
"$SS_BIN_DIR/shelfsync" ref load authorities "$AUTH" --config "$IT_DAEMON_CONFIG" >"$IT_DIR/ref.log" 2>&1 ||
    { cat "$IT_DIR/ref.log"; it_fail "shelfsync ref load authorities failed"; }
it_log "$(cat "$IT_DIR/ref.log")"
if grep -q "ambiguous" "$IT_DIR/ref.log"; then
    it_fail "ambiguous names in the reference data: $(grep ambiguous "$IT_DIR/ref.log")"
fi

# ---- what ref.authority_alias holds ----
it_assert_eq "E06000066,E10000027" \
    "$(it_psql "SELECT string_agg(code, ',' ORDER BY code) FROM ref.authority_alias WHERE alias_key = 'somerset'")" \
    "\"somerset\" stands for the county and the unitary"
it_assert_eq "E06000059,E10000009" \
    "$(it_psql "SELECT string_agg(code, ',' ORDER BY code) FROM ref.authority_alias WHERE alias_key = 'dorset'")" \
    "\"dorset\" stands for the old county and Dorset Council"
it_assert_eq "E06000029|E06000028" \
    "$(it_psql "SELECT (SELECT string_agg(code, ',') FROM ref.authority_alias WHERE alias_key = 'poole') || '|' ||
                       (SELECT string_agg(code, ',') FROM ref.authority_alias WHERE alias_key = 'bournemouth')")" \
    "Poole and Bournemouth are aliases of the old unitaries"
resolve_is() { # NAME DATE EXPECTED
    local got
    got=$("$SS_BIN_DIR/shelfsync" ref resolve "$1" ${2:+--at "$2"} --config "$IT_DAEMON_CONFIG" 2>&1) || true
    it_assert_eq "$3" "$got" "shelfsync ref resolve \"$1\" ${2:+--at $2}"
}
resolve_is Somerset 2020-06-01 E10000027
resolve_is Somerset 2024-06-01 E06000066
resolve_is Somerset "" E06000066
resolve_is Dorset 2016-06-01 E10000009
resolve_is "Borough of Poole" 2018-06-01 E06000029
resolve_is Poole 2024-06-01 unknown

# ---- records through the daemon: quarantine mode (the default) ----
it_daemon_start
mkdir -p "$IT_DIR/www"
# collect SOURCE DATASET FILE: load FILE (in $IT_DIR/www) as SOURCE.
collect() {
    it_collector_config "$IT_DIR/$1.json" "$1" "file://$IT_DIR/www/$3" "\"dataset\": \"$2\""
    it_collect "$IT_DIR/$1.json" || it_fail "$1: the collector failed"
}
code_of() { # SOURCE PERIOD_START: the code loaded
    it_psql "SELECT string_agg(authority_code, ',') FROM core.computer_hours WHERE source = '$1' AND period_start = '$2'"
}
reason_of() { # SOURCE RAW-PREFIX: the quarantine reason of the record whose raw text starts so
    it_psql "SELECT string_agg(reason, ' / ') FROM ingest.quarantine WHERE source = '$1' AND raw LIKE '$2%'"
}
cat >"$IT_DIR/www/hours.csv" <<'EOF'
Authority,Period,Count
Somerset,2020-21,101
Somerset,2024-25,102
Dorset,2016-04-01/2016-04-30,103
Poole,2017-18,104
Bournemouth,2017-18,105
Borough of Poole,2018-04-01/2018-04-30,106
E10000027,2024-25,107
E06000066,2019-20,108
Cumbria,2024-25,109
Somerset,2022-10-01/2023-09-30,110
Poole,2024-25,111
EOF
collect periods computer_hours hours.csv
it_assert_eq E10000027 "$(code_of periods 2020-04-01)" "Somerset 2020-21: the county"
it_assert_eq E06000066 "$(code_of periods 2024-04-01)" "Somerset 2024-25: the unitary"
it_assert_eq E10000009 "$(code_of periods 2016-04-01)" "Dorset 2016: the old county"
it_assert_eq E06000028,E06000029 \
    "$(it_psql "SELECT string_agg(authority_code, ',' ORDER BY authority_code) FROM core.computer_hours WHERE source = 'periods' AND period_start = '2017-04-01'")" \
    "Poole and Bournemouth 2017-18: the old unitaries"
it_assert_eq E06000029 "$(code_of periods 2018-04-01)" "Borough of Poole 2018: the old unitary"
it_assert_eq 5 "$(it_psql "SELECT count(*) FROM ingest.quarantine WHERE source = 'periods'")" \
    "five records quarantined"
r=$(reason_of periods E10000027)
[[ $r == *"E10000027 Somerset was abolished on 2023-04-01"*"its successor is E06000066 Somerset"* ]] ||
    it_fail "abolished code: reason does not name the successor: $r"
it_log "ok: abolished code quarantined: $r"
r=$(reason_of periods E06000066)
[[ $r == *"E06000066 Somerset began on 2023-04-01"*"E10000027 Somerset"* ]] ||
    it_fail "a successor's code before it existed: reason: $r"
it_log "ok: code before its authority existed quarantined: $r"
r=$(reason_of periods Cumbria)
[[ $r == *"E10000006 Cumbria was abolished on 2023-04-01"*"split between E06000063 Cumberland and E06000064 Westmorland and Furness"* ]] ||
    it_fail "Cumbria 2024: reason does not name both successors: $r"
it_log "ok: split authority quarantined: $r"
r=$(reason_of periods "Somerset,2022-10-01")
[[ $r == *"runs across 2023-04-01"* ]] || it_fail "a period across the reorganisation: reason: $r"
r=$(reason_of periods "Poole,2024")
[[ $r == *"E06000029 Poole was abolished on 2019-04-01"*"E06000058 Bournemouth, Christchurch and Poole"* ]] ||
    it_fail "Poole 2024: reason: $r"

# A dataset without a period: the record's key date (membership's count date).
cat >"$IT_DIR/www/members.csv" <<'EOF'
Local authority,Count date,Area code,Members
Somerset,2019-10-23,E01029000,12
Somerset,2024-01-15,E01029000,13
EOF
collect members membership members.csv
it_assert_eq "2019-10-23|E10000027
2024-01-15|E06000066" \
    "$(it_psql "SELECT count_date || '|' || authority_code FROM core.membership WHERE source = 'members' ORDER BY count_date")" \
    "membership: Somerset as at the count date"

# ---- "authorities": {"abolished": "successor"} ----
it_daemon_stop
ss_python - "$IT_DAEMON_CONFIG" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["authorities"] = {"abolished": "successor", "sources": {"strict": "quarantine"}}
json.dump(c, open(sys.argv[1], "w"), indent=2)
EOF
it_daemon_start
# Other years than above, so that no key meets one the first source loaded.
cat >"$IT_DIR/www/hours2.csv" <<'EOF'
Authority,Period,Count
E10000027,2025-26,201
Poole,2025-26,202
Cumbria,2025-26,203
E06000066,2018-19,204
Somerset,2022-11-01/2023-10-31,205
Somerset,2021-22,206
EOF
collect successor computer_hours hours2.csv
it_assert_eq E06000066 \
    "$(it_psql "SELECT authority_code FROM core.computer_hours WHERE source = 'successor' AND hours = 201")" \
    "successor mode: E10000027 for 2025-26 loads as E06000066"
it_assert_eq E06000058 \
    "$(it_psql "SELECT authority_code FROM core.computer_hours WHERE source = 'successor' AND hours = 202")" \
    "successor mode: Poole 2025-26 loads as Bournemouth, Christchurch and Poole"
it_assert_eq E10000027 \
    "$(it_psql "SELECT authority_code FROM core.computer_hours WHERE source = 'successor' AND hours = 206")" \
    "successor mode: Somerset 2021-22 is still the county"
it_assert_eq 3 "$(it_psql "SELECT count(*) FROM ingest.quarantine WHERE source = 'successor'")" \
    "successor mode: the split, the code before it existed and the period across the change stay quarantined"
[[ $(reason_of successor Cumbria) == *"split between"* ]] || it_fail "successor mode: Cumbria not refused as a split"
# "authorities.sources": one source keeps the quarantine.
printf 'Authority,Period,Count\nE10000027,2026-27,301\n' >"$IT_DIR/www/strict.csv"
collect strict computer_hours strict.csv
it_assert_eq "0|1" "$(it_psql "SELECT (SELECT count(*) FROM core.computer_hours WHERE source = 'strict') || '|' ||
                                     (SELECT count(*) FROM ingest.quarantine WHERE source = 'strict' AND reason LIKE '%was abolished%')")" \
    "authorities.sources: the source set to quarantine keeps the abolished code out"

# ---- every name and nice name in ref.authority, as at a day it was valid ----
# Names to wifi_sessions, nice names to click_and_collect (no key meets
# another source's); Count is the row's number, to pair it with the code it
# must get.
for spec in name:wifi_sessions:sessions nice_name:click_and_collect:interactions; do
    IFS=: read -r col table measure <<<"$spec"
    {
        echo "Authority,Period,Count"
        it_psql "COPY (SELECT $col, d || '/' || d, row_number() OVER (ORDER BY code) FROM
                   (SELECT code, $col, coalesce(valid_to, '2025-01-01')::text AS d FROM ref.authority) a
                   ORDER BY code) TO STDOUT WITH (FORMAT csv)"
    } >"$IT_DIR/www/ref-$col.csv"
    collect "ref-$col" "$table" "ref-$col.csv"
    bad=$(it_psql "SELECT string_agg(raw || ': ' || reason, E'\n') FROM ingest.quarantine WHERE source = 'ref-$col'")
    [[ -z $bad ]] || it_fail "ref.authority $col values that do not resolve:
$bad"
    wrong=$(it_psql "SELECT string_agg(a.$col || ' -> ' || coalesce(l.authority_code, 'nothing') || ', not ' || a.code, E'\n')
        FROM (SELECT row_number() OVER (ORDER BY code) n, code, $col FROM ref.authority) a
        LEFT JOIN core.$table l ON l.source = 'ref-$col' AND l.$measure = a.n
        WHERE l.authority_code IS DISTINCT FROM a.code")
    [[ -z $wrong ]] || it_fail "ref.authority $col values that resolve to another code:
$wrong"
    it_assert_eq "$(it_psql 'SELECT count(*) FROM ref.authority')" \
        "$(it_psql "SELECT count(*) FROM core.$table WHERE source = 'ref-$col'")" \
        "every $col in ref.authority resolves to its own code"
done

# ---- every authority name and code the real files publish ----
ss_python "$SS_SOURCE_DIR/tests/integration/authority_names.py" "$SS_FIXTURES" "$IT_DIR/www" >"$IT_DIR/names.txt" ||
    it_fail "authority_names.py failed"
while read -r group n; do
    collect "names-$group" computer_hours "$group.csv"
    bad=$(it_psql "SELECT string_agg(raw || ': ' || reason, E'\n') FROM ingest.quarantine WHERE source = 'names-$group'")
    [[ -z $bad ]] || it_fail "$group: names that do not resolve:
$bad"
    it_assert_eq "$n" "$(it_psql "SELECT count(*) FROM core.computer_hours WHERE source = 'names-$group'")" \
        "$group: all $n names loaded"
    if [[ -e $IT_DIR/www/$group.sql ]]; then
        wrong=$(it_psql "SELECT string_agg(e.name || ' -> ' || coalesce(l.authority_code, 'nothing') || ', not ' || e.code, E'\n')
            FROM (VALUES $(cat "$IT_DIR/www/$group.sql")) e(n, code, name)
            LEFT JOIN core.computer_hours l ON l.source = 'names-$group' AND l.hours = e.n
            WHERE l.authority_code IS DISTINCT FROM e.code")
        [[ -z $wrong ]] || it_fail "$group: names that resolve to another code than the file says:
$wrong"
        it_log "ok: $group: $(wc -l <"$IT_DIR/www/$group.sql") names resolve to the code the files give them"
    fi
done <"$IT_DIR/names.txt"
it_log "all authority period checks passed"
