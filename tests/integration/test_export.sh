#!/usr/bin/env bash
# shelfsync export: each real published open-data file goes collector ->
# warehouse -> export, and the exported CSV (1) validates against its
# schema JSON, template header and datapackage.json (opendata_check.py,
# standard library only), and (2) holds the file's rows after the
# normalisations of docs/publishing.md (opendata_roundtrip.py). Barnet's
# loans (schema 0.2, quarterly counts) cannot be said in the current loans
# schema (a library's calendar month): the export refuses them, saying so,
# and the current-schema loans file round-trips instead. Counts withheld at
# the source (x) stay x, counts under 5 become x. Errors: an unknown
# dataset or authority, an empty selection, --from/--to for a register.
source "$(dirname "$0")/lib.sh"
it_setup
fx="${SS_FIXTURES:-$SS_SOURCE_DIR/../shared/fixtures}"
it_need_fixture "$fx/librarydata-schemas"
schemas=$fx/librarydata-schemas
IT_RESET_TABLES="$(echo core.{service_points,service_point_alias,mobile_stops,events,loans,visits,membership,stock}) ingest.batches ingest.quarantine"
it_reset_db
mkdir -p "$IT_DIR/www"
it_http_start "$fx"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_schema_authorities "$fx" >/dev/null
it_daemon_start

load() {
    local source=$1 dataset=$2 path=$3
    it_collector_config "$IT_DIR/$source.json" "$source" "http://127.0.0.1:$IT_HTTP_PORT/$path" "\"dataset\": \"$dataset\""
    it_collect "$IT_DIR/$source.json" || it_fail "$source: collector exited with $?"
    it_assert_eq 0 "$(it_psql "SELECT coalesce(sum(quarantined), 0) FROM ingest.batches WHERE source = '$source'")" "$path: nothing quarantined"
}
export_() { "$SS_BIN_DIR/shelfsync" export --config "$IT_DAEMON_CONFIG" "$@"; }

# roundtrip SOURCE DATASET TABLE FIXTURE SCHEMA TEMPLATE
roundtrip() {
    local source=$1 dataset=$2 table=$3 path=$4 schema=$5 template=$6 code name out
    load "$source" "$dataset" "$path"
    code=$(it_psql "SELECT DISTINCT authority_code FROM $table WHERE source = '$source'")
    [[ $code =~ ^[EWSN][0-9]{8}$ ]] || it_fail "$path: loaded as authority '$code', expected one GSS code"
    name=$(it_psql "SELECT name FROM ref.authority WHERE code = '$code'")
    mkdir -p "$IT_DIR/out/$source"
    out=$IT_DIR/out/$source/${dataset}_$code.csv
    export_ --dataset "$dataset" --authority "$code" --out "$out" 2>"$IT_DIR/export-$source.err" ||
        { cat "$IT_DIR/export-$source.err"; it_fail "$path: shelfsync export failed"; }
    it_log "$(cat "$IT_DIR/export-$source.err")"
    ss_python "$IT_LIB_DIR/opendata_check.py" "$schemas/$schema" "$schemas/templates/$template" "$out" "$IT_DIR/out/$source/datapackage.json" ||
        it_fail "$path: the export does not validate against $schema"
    ss_python "$IT_LIB_DIR/opendata_roundtrip.py" "$schemas/templates/$template" "$fx/$path" "$out" "$name" ||
        it_fail "$path: the export is not the file's rows"
    # The same bytes on stdout, in the same order every time.
    export_ --dataset "$dataset" --authority "$code" >"$IT_DIR/stdout.csv" 2>/dev/null || it_fail "$path: export to stdout failed"
    cmp -s "$out" "$IT_DIR/stdout.csv" || it_fail "$path: the export to stdout differs from --out"
}

D=librarydata-schemas/data T=librarydata-schemas/tests
roundtrip barnet-events events core.events $D/events_barnet.csv events.json events.csv
roundtrip plymouth-libraries service_points core.service_points $D/libraries_plymouth.csv libraries.json libraries.csv
roundtrip bristol-membership membership core.membership $D/membership_bristol.csv membership.json membership.csv
roundtrip somerset-mobile mobile_stops core.mobile_stops $D/mobile_library_stops_somerset.csv mobile-library-stops.json mobile_library_stops.csv
roundtrip newcastle-visits visits core.visits $D/physical_visits_newcastle.csv physical_visits.json physical_visits.csv
roundtrip plymouth-visits visits core.visits $D/physical_visits_plymouth.csv physical_visits.json physical_visits.csv
roundtrip barnet-stock stock core.stock $D/stock_summary_barnet.csv stock_summary.json stock_summary.csv
roundtrip test-loans loans core.loans $T/loans_success.csv loans.json loans.csv

# Barnet's loans are quarterly (schema 0.2 Count start/Count end): refused.
load barnet-loans loans $D/loans_barnet.csv
st=0
export_ --dataset loans --authority E09000003 --out "$IT_DIR/out/barnet-loans.csv" 2>"$IT_DIR/err" || st=$?
it_log "$(cat "$IT_DIR/err")"
it_assert_eq 1 "$st" "quarterly loans: export exits 1"
grep -q "702 of 702 rows cannot be written in the Loans schema 0.3.0" "$IT_DIR/err" || it_fail "quarterly loans: the reason is not said"
[[ ! -e $IT_DIR/out/barnet-loans.csv && ! -e $IT_DIR/out/datapackage.json ]] || it_fail "quarterly loans: a file was written"

# Suppressed at the source stays suppressed; a count under 5 is written x.
printf 'Local authority,Count date,Area code,Members\nTest authority,2020-03-31,E01000001,x\nTest authority,2020-03-31,E01000002,3\nTest authority,2020-03-31,E01000003,5\nTest authority,2020-03-31,E01000004,1200\n' >"$IT_DIR/www/membership_x.csv"
it_collector_config "$IT_DIR/test-x.json" test-x "file://$IT_DIR/www/membership_x.csv" '"dataset": "membership"'
it_collect "$IT_DIR/test-x.json" || it_fail "membership with x: collector exited with $?"
it_assert_eq "t|" "$(it_psql "SELECT members_suppressed, members FROM core.membership WHERE area_code = 'E01000001'")" "x is stored as suppressed, no count"
mkdir -p "$IT_DIR/out/x"
export_ --dataset membership --authority E99999903 --out "$IT_DIR/out/x/m.csv" 2>/dev/null || it_fail "membership with x: export failed"
it_assert_eq "Local authority,Count date,Area code,Members
Test authority,2020-03-31,E01000001,x
Test authority,2020-03-31,E01000002,x
Test authority,2020-03-31,E01000003,5
Test authority,2020-03-31,E01000004,1200" "$(cat "$IT_DIR/out/x/m.csv")" "x stays x, 3 becomes x, 5 and more are written"
ss_python "$IT_LIB_DIR/opendata_check.py" "$schemas/membership.json" "$schemas/templates/membership.csv" "$IT_DIR/out/x/m.csv" "$IT_DIR/out/x/datapackage.json" ||
    it_fail "membership with x does not validate"

# The package: licence by flag, the period covered by --from/--to.
mkdir -p "$IT_DIR/out/p"
export_ --dataset events --authority E09000003 --from 2018-02-01 --to 2018-02-28 --licence CC-BY-4.0 --out "$IT_DIR/out/p/ev.csv" 2>/dev/null || it_fail "events of February 2018: export failed"
it_assert_eq "CC-BY-4.0|2018-02-01|2018-02-28|ev.csv|e09000003-events" "$(ss_python -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("|".join([d["licenses"][0]["name"], d["temporalCoverage"]["start"], d["temporalCoverage"]["end"], d["resources"][0]["path"], d["name"]]))' "$IT_DIR/out/p/datapackage.json")" "licence, period, path and name of the package"
it_assert_eq "$(it_psql "SELECT count(*) FROM core.events WHERE authority_code = 'E09000003' AND event_date BETWEEN '2018-02-01' AND '2018-02-28'")" \
    "$(($(wc -l <"$IT_DIR/out/p/ev.csv") - 1))" "--from/--to: the events of those days"

# Errors, each with its reason and exit status 1 (2 for usage).
expect_fail() {
    local want=$1 pattern=$2 st=0
    shift 2
    export_ "$@" >"$IT_DIR/out.csv" 2>"$IT_DIR/err" || st=$?
    it_assert_eq "$want" "$st" "export $*: exit status"
    grep -q -- "$pattern" "$IT_DIR/err" || { cat "$IT_DIR/err"; it_fail "export $*: the message does not say '$pattern'"; }
    it_log "  $(head -n 1 "$IT_DIR/err")"
}
expect_fail 1 'unknown dataset "finance"' --dataset finance --authority E09000003
expect_fail 1 'unknown authority "E09999999"' --dataset events --authority E09999999
expect_fail 1 'no rows in the warehouse' --dataset events --authority E09000003 --from 1990-01-01 --to 1990-12-31
expect_fail 1 'is a register' --dataset service_points --authority E06000026 --from 2019-01-01
expect_fail 1 'expected a date YYYY-MM-DD' --dataset events --authority E09000003 --from 2019-02-30
expect_fail 2 'unknown licence' --dataset events --authority E09000003 --out "$IT_DIR/x.csv" --licence MIT
export_ --dataset events --authority E09000003 --from 1990-01-01 --to 1990-12-31 --allow-empty >"$IT_DIR/empty.csv" 2>/dev/null ||
    it_fail "--allow-empty: export failed"
it_assert_eq "$(cat "$schemas/templates/events.csv")" "$(cat "$IT_DIR/empty.csv")" "--allow-empty: the header alone"
"$SS_BIN_DIR/shelfsync" export --help | grep -q 'no datapackage.json is written' || it_fail "export --help does not say stdout has no datapackage"
it_daemon_stop
