#!/usr/bin/env bash
# `shelfsync ref load` with the real public files (library authorities JSON,
# ONS mid-2024 population estimates, ONS nearest neighbours): counts and a few
# values checked against the files, read independently here with python;
# authority names resolved through ref.authority_alias; a reload changes
# nothing; a broken file is refused with file:line and loads nothing.
source "$(dirname "$0")/lib.sh"

: "${SS_FIXTURES:=$SS_SOURCE_DIR/../shared/fixtures}"
DATA=$SS_FIXTURES/activity-2023-24
AUTH=$DATA/library_authorities.json
POP=$DATA/mye24tablesew.csv
NN=$DATA/localauthoritynearestneighboursengland.csv
it_need_fixture "$AUTH" "$POP" "$NN"

it_setup
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
IT_RESET_TABLES="ref.nearest_neighbour ref.population ref.authority_alias ref.authority_successor ref.authority ref.meta" \
    it_reset_db

SUCC=$SS_SOURCE_DIR/daemon/ref/authority_successors.csv

ref() { "$SS_BIN_DIR/shelfsync" ref "$@" --config "$IT_DAEMON_CONFIG"; }
# ref_ok ARGS...: run `shelfsync ref ARGS`, print its output, fail if it fails.
ref_ok() {
    local out
    out=$(ref "$@" 2>&1) || { echo "$out"; it_fail "shelfsync ref $* failed"; }
    it_log "shelfsync ref $*: $out"
}

# ---- expected values, from the files themselves ----
read -r X_AUTH X_ENGLAND < <(ss_python - "$AUTH" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1], encoding="utf-8"))
print(len(a), sum(1 for x in a if x.get("nation") == "England"))
EOF
)
read -r X_SUCC X_OLD < <(ss_python - "$SUCC" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
print(len(rows), len({r["old_code"] for r in rows}))
EOF
)
read -r X_AREAS X_BARNET X_BARNET_U12 X_BARNET_ADULT < <(ss_python - "$POP" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8-sig")))
assert rows[0][-1] == "90+", rows[0][-1]
b = next(r for r in rows[1:] if r[0] == "E09000003")
ages = [int(v) for v in b[4:]]
assert sum(ages) == int(b[3])
print(len(rows) - 1, b[3], sum(ages[:12]), sum(ages[18:]))
EOF
)
read -r X_NN_CODES X_NN_ROWS X_HARTLEPOOL_1 < <(ss_python - "$NN" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8-sig")))[1:]
h = next(r for r in rows if r[0] == "E06000001")
print(len(rows), sum(1 for r in rows for c in r[2:] if c.strip()), h[2])
EOF
)
it_log "expected: $X_AUTH authorities ($X_ENGLAND England), $X_SUCC successors ($X_OLD old codes)," \
    "$X_AREAS population areas, $X_NN_ROWS neighbour rows of $X_NN_CODES authorities"
it_assert_eq 208 "$X_AUTH" "authorities in the file"
it_assert_eq E08000018 "$X_HARTLEPOOL_1" "Hartlepool's first neighbour in the file"

counts() {
    it_psql "SELECT (SELECT count(*) FROM ref.authority) || ' ' ||
                    (SELECT count(*) FROM ref.authority_alias) || ' ' ||
                    (SELECT count(*) FROM ref.authority_successor) || ' ' ||
                    (SELECT count(*) FROM ref.population) || ' ' ||
                    (SELECT count(*) FROM ref.nearest_neighbour) || ' ' ||
                    (SELECT coalesce(max(value), '0') FROM ref.meta WHERE key = 'authorities_generation')"
}

check_loaded() {
    it_assert_eq "$X_AUTH" "$(it_psql 'SELECT count(*) FROM ref.authority WHERE valid_to IS NULL')" \
        "current authorities"
    it_assert_eq "$X_ENGLAND" \
        "$(it_psql "SELECT count(*) FROM ref.authority WHERE valid_to IS NULL AND nation = 'England'")" \
        "current authorities in England"
    it_assert_eq "$X_OLD" "$(it_psql 'SELECT count(*) FROM ref.authority WHERE valid_to IS NOT NULL')" \
        "abolished authorities kept"
    it_assert_eq "$X_SUCC" "$(it_psql 'SELECT count(*) FROM ref.authority_successor')" "successors"
    it_assert_eq "2023-03-31|Cumbria" \
        "$(it_psql "SELECT valid_to, nice_name FROM ref.authority WHERE code = 'E10000006'")" \
        "Cumbria ends the day before the reorganisation"
    it_assert_eq "2023-04-01|2023-04-01" \
        "$(it_psql "SELECT string_agg(changed_on::text, '|' ORDER BY new_code) FROM ref.authority_successor WHERE old_code = 'E10000006'")" \
        "Cumbria's two successors"
    it_assert_eq "2023-04-01" "$(it_psql "SELECT valid_from FROM ref.authority WHERE code = 'E06000063'")" \
        "Cumberland's first day"
    it_assert_eq "$((X_AREAS * 91))" "$(it_psql 'SELECT count(*) FROM ref.population WHERE mid_year = 2024')" \
        "population rows (areas x 91 ages)"
    it_assert_eq "$X_AREAS" "$(it_psql 'SELECT count(DISTINCT code) FROM ref.population')" "population areas"
    it_assert_eq "$X_BARNET" \
        "$(it_psql "SELECT sum(persons) FROM ref.population WHERE code = 'E09000003' AND mid_year = 2024")" \
        "Barnet: the single ages add up to the file's All ages"
    it_assert_eq "$X_BARNET|$X_BARNET_U12|$X_BARNET_ADULT" \
        "$(it_psql "SELECT max(persons) FILTER (WHERE age_band = 'All ages') || '|' ||
                           max(persons) FILTER (WHERE age_band = 'Under 12') || '|' ||
                           max(persons) FILTER (WHERE age_band = 'Adult')
                    FROM ref.population_band WHERE code = 'E09000003' AND mid_year = 2024")" \
        "Barnet's population bands"
    it_assert_eq 1 "$(it_psql "SELECT count(DISTINCT mid_year) FROM ref.population WHERE code = 'E92000001'")" \
        "England (E92000001) is loaded too"
    it_assert_eq "$X_NN_ROWS" "$(it_psql 'SELECT count(*) FROM ref.nearest_neighbour')" \
        "nearest-neighbour rows (non-empty cells)"
    it_assert_eq "$X_NN_CODES" "$(it_psql 'SELECT count(DISTINCT code) FROM ref.nearest_neighbour')" \
        "authorities with neighbours"
    it_assert_eq "$X_HARTLEPOOL_1" \
        "$(it_psql "SELECT neighbour_code FROM ref.nearest_neighbour WHERE code = 'E06000001' AND rank = 1")" \
        "Hartlepool's nearest neighbour"
    it_assert_eq 0 "$(it_psql 'SELECT count(*) FROM ref.authority_alias a LEFT JOIN ref.authority r USING (code) WHERE r.code IS NULL')" \
        "every alias points at an authority"
}

# ---- load ----
ref_ok load authorities "$AUTH"
ref_ok load populations "$POP"
ref_ok load neighbours "$NN"
check_loaded
it_assert_eq 1 "$(it_psql "SELECT value FROM ref.meta WHERE key = 'authorities_generation'")" \
    "authorities generation after the first load"
it_assert_eq "2024-25|2024-04-01|2025-03-31" \
    "$(it_psql "SELECT label || '|' || start_date || '|' || end_date FROM ref.financial_year WHERE label = '2024-25'")" \
    "financial year 2024-25"
it_assert_eq 50 "$(it_psql 'SELECT count(*) FROM ref.financial_year')" "financial years 2000-01 .. 2049-50"

# ---- names resolve as the daemon will resolve them ----
resolve_is() {
    local got
    got=$(ref resolve "$1" 2>&1) || true
    it_assert_eq "$2" "$got" "\"$1\" resolves"
}
resolve_is "London Borough of Barnet" E09000003
resolve_is "Barnet" E09000003
resolve_is "Barnet Council" E09000003
resolve_is "Bristol, City of" E06000023
resolve_is "Bristol City Council" E06000023
resolve_is "Newcastle City Council" E08000021
resolve_is "Newcastle upon Tyne" E08000021
resolve_is "Kingston upon Hull, City of" E06000010
resolve_is "Herefordshire, County of" E06000019
resolve_is "Southend" E06000033
resolve_is "Southend on Sea" E06000033
resolve_is "Bath and NE Somerset" E06000022
resolve_is "St Helens" E08000013
resolve_is "Stoke on Trent" E06000021
resolve_is "Cumbria" E10000006
resolve_is "e09000003" E09000003
resolve_is "Nowhere Shire" unknown
st=0
ref resolve "Nowhere Shire" >/dev/null 2>&1 || st=$?
it_assert_eq 1 "$st" "an unknown name exits with status 1"

# ---- reload: nothing changes ----
before=$(counts)
ref_ok load authorities "$AUTH"
ref_ok load populations "$POP" --year 2024
ref_ok load neighbours "$NN"
after=$(counts)
it_assert_eq "${before% *} $((${before##* } + 1))" "$after" \
    "reload: same rows, only the authorities generation moves on"
check_loaded
it_assert_eq 0 "$(it_psql 'SELECT count(*) FROM (SELECT code, lower(alias) FROM ref.authority_alias GROUP BY 1, 2 HAVING count(*) > 1) d')" \
    "no duplicate aliases"

# ---- broken files load nothing ----
before=$(counts)
expect_refused() { # WHAT PATTERN ARGS...
    local what=$1 pattern=$2 out st=0
    shift 2
    out=$(ref "$@" 2>&1) || st=$?
    ((st != 0)) || it_fail "$what: accepted (output: $out)"
    [[ $out == *$pattern* ]] || it_fail "$what: message does not say '$pattern': $out"
    it_log "ok: $what refused: $out"
    it_assert_eq "$before" "$(counts)" "$what: nothing loaded"
}

# A bad count on the last line: every row before it went into the COPY already.
last=$(wc -l <"$POP")
awk -v n="$last" -F, 'BEGIN { OFS = "," } NR == n { $10 = "12x" } { print }' "$POP" >"$IT_DIR/mye24broken.csv"
expect_refused "population file with a bad count" "mye24broken.csv:$last: column 10" \
    load populations "$IT_DIR/mye24broken.csv" --year 2031
it_assert_eq 0 "$(it_psql 'SELECT count(*) FROM ref.population WHERE mid_year = 2031')" \
    "no 2031 rows after the refused load"

# All ages that does not add up.
awk -F, 'BEGIN { OFS = "," } NR == 5 { $4 = $4 + 1 } { print }' "$POP" >"$IT_DIR/mye24sum.csv"
expect_refused "population file whose All ages is off" "mye24sum.csv:5: column 4" \
    load populations "$IT_DIR/mye24sum.csv"

cp "$POP" "$IT_DIR/populations.csv"
expect_refused "population file with no year" "give --year" load populations "$IT_DIR/populations.csv"

head -c 5000 "$AUTH" >"$IT_DIR/truncated.json"
expect_refused "truncated authorities JSON" "truncated.json:" load authorities "$IT_DIR/truncated.json"

ss_python - "$AUTH" "$IT_DIR/badcode.json" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1], encoding="utf-8"))
a[150]["code"] = "E0600000X"
json.dump(a, open(sys.argv[2], "w"), indent=2)
EOF
badline=$(grep -n '"E0600000X"' "$IT_DIR/badcode.json" | cut -d: -f1)
expect_refused "authorities JSON with a bad code" "badcode.json:$((badline - 1)): authority 151" \
    load authorities "$IT_DIR/badcode.json"

awk -F, 'BEGIN { OFS = "," } NR == 40 { $5 = "" } { print }' "$NN" >"$IT_DIR/gap.csv"
expect_refused "neighbours file with a gap" "gap.csv:40: column 6" load neighbours "$IT_DIR/gap.csv"

ref_ok show
it_log "all ref checks passed"
