#!/usr/bin/env bash
# Service points have history by the date the data describes, not the order
# files were loaded in (issue 10):
# - an older register loaded after a newer one changes no current row: it
#   fills history before it (the Bristol case: the real register file as
#   the current one, as of its config's as_of; a 2016 snapshot derived from
#   it, dated by its own "As of" column, with fewer hours, no year opened,
#   no e-mail and "statutory" flipped);
# - reloading either changes nothing; a same-dated file with other values
#   is superseded, and counted;
# - two names for one library at one postcode are one service point, with
#   both names as aliases; a UPRN matches across different postcodes;
# - a closed library without a type loads as closed; statutory and type
#   missing load as NULL.
source "$(dirname "$0")/lib.sh"
it_setup
fx="${SS_FIXTURES:-$SS_SOURCE_DIR/../shared/fixtures}"
bristol="$fx/libraries-register/libraries/bristol_city_council.csv"
it_need_fixture "$bristol"
it_need_fixture "$fx/activity-2023-24/library_authorities.json"
IT_RESET_TABLES="core.service_points core.service_point_alias ingest.batch_history ingest.batches ingest.quarantine" it_reset_db
mkdir -p "$IT_DIR/www"
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
"$SS_BIN_DIR/shelfsync" ref load authorities "$fx/activity-2023-24/library_authorities.json" --config "$IT_DAEMON_CONFIG"
it_test_authorities
it_daemon_start

# register SOURCE FILE [extra collector JSON]: load www/FILE as service_points.
register() {
    local source=$1 file=$2 extra=${3:-}
    it_collector_config "$IT_DIR/$source.json" "$source" "http://127.0.0.1:$IT_HTTP_PORT/$file" \
        "\"dataset\": \"service_points\", \"http\": {\"conditional\": false}${extra:+, $extra}"
    it_collect "$IT_DIR/$source.json" || it_fail "$source: collector exited with $?"
}
table_md5() { it_psql "SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY service_point_id, valid_from), '')) FROM core.service_points t ${1:-}"; }
history() { it_psql "SELECT inserted || '|' || filled || '|' || unchanged || '|' || superseded || '|' || new_points FROM ingest.batch_history h JOIN ingest.batches b USING (batch_id) WHERE b.source = '$1' ORDER BY batch_id DESC LIMIT 1"; }

# ---------------------------------------------------------------------------
# Bristol: the current register, as of 2024-04-01 (the collector's as_of).
cp "$bristol" "$IT_DIR/www/bristol.csv"
register bristol-now bristol.csv '"as_of": "2024-04-01"'
n=$(ss_python -c 'import csv,sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1], encoding="utf-8-sig"))))' "$bristol")
it_assert_eq "$n|$n|0" "$(it_psql "SELECT count(*), count(*) FILTER (WHERE valid_to IS NULL), count(*) FILTER (WHERE valid_from <> '2024-04-01T00:00:00Z') FROM core.service_points WHERE source = 'bristol-now'")" \
    "every Bristol library loaded, valid from the config's as_of"
it_assert_eq "config" "$(it_psql "SELECT DISTINCT valid_from_basis FROM core.service_points WHERE source = 'bristol-now'")" "the basis of the date is said"
it_assert_eq "2" "$(it_psql "SELECT count(DISTINCT service_point_id) FROM core.service_points WHERE name = 'Southmead'")" \
    "Southmead moved (closed at BS10 6AS, opened at BS10 6BQ): two service points"
current=$(table_md5 "WHERE valid_to IS NULL")

# A 2016 snapshot derived from it: its own "As of" column, no Tuesday hours,
# no year opened, no e-mail, Avonmouth not statutory, Bedminster under a
# longer name, and a library that has since gone (type XL, no status given).
ss_python - "$bristol" "$IT_DIR/www/bristol-2016.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
fields = list(rows[0].keys()) + ["As of"]
with open(sys.argv[2], "w", encoding="utf-8", newline="") as out:
    w = csv.DictWriter(out, fieldnames=fields)
    w.writeheader()
    for r in rows:
        if r["Year opened"] and int(r["Year opened"]) > 2016:
            continue
        r["Tuesday staffed hours"] = ""
        r["Year opened"] = ""
        r["Email address"] = ""
        r["Year closed"] = "" if r["Year closed"] and int(r["Year closed"]) > 2016 else r["Year closed"]
        if r["Library name"] == "Avonmouth":
            r["Statutory"] = "No"
        if r["Library name"] == "Bedminster":
            r["Library name"] = "Bedminster Library"
        r["As of"] = "2016-07-01"
        w.writerow(r)
    gone = {k: "" for k in fields}
    gone.update({"Local authority": "Bristol City Council", "Library name": "Old Market",
                 "Postcode": "BS2 0EZ", "Type of library": "XL", "As of": "2016-07-01"})
    w.writerow(gone)
PY
register bristol-2016 bristol-2016.csv
it_assert_eq "$current" "$(table_md5 "WHERE valid_to IS NULL AND source <> 'bristol-2016'")" \
    "the 2016 register after the current one changes no current row"
it_assert_eq "avonmouth.library@bristol.gov.uk|13:00-17:00|t|2024-04-01" \
    "$(it_psql "SELECT email, tuesday_staffed, statutory, version_from FROM core.v_service_points_current WHERE name = 'Avonmouth'")" \
    "Avonmouth keeps its e-mail, its hours and its statutory status"
it_assert_eq "|f|2016-07-01|2024-04-01" \
    "$(it_psql "SELECT coalesce(email, ''), statutory, valid_from::date, valid_to::date FROM core.service_points WHERE name = 'Avonmouth' AND valid_to IS NOT NULL")" \
    "the 2016 Avonmouth is history, ending where the current version begins"
it_assert_eq "1|2" "$(it_psql "SELECT count(DISTINCT service_point_id), count(*) FROM core.service_points WHERE name IN ('Bedminster', 'Bedminster Library')")" \
    "Bedminster Library (2016) is Bedminster: one service point, two versions"
it_assert_eq "Bedminster|Bedminster Library" "$(it_psql "SELECT string_agg(name, '|' ORDER BY name) FROM core.service_point_alias WHERE service_point_id = (SELECT service_point_id FROM core.service_points WHERE name = 'Bedminster')")" \
    "both names kept as aliases"
it_assert_eq "Open|2016-07-01|2024-04-01" "$(it_psql "SELECT status, valid_from::date, valid_to::date FROM core.service_points WHERE name = 'Southmead' AND postcode = 'BS10 6AS' AND valid_to IS NOT NULL")" \
    "the old Southmead was open in 2016: history before its closed version"
it_assert_eq "Closed||" "$(it_psql "SELECT status, coalesce(library_type, ''), coalesce(statutory::text, '') FROM core.v_service_points_current WHERE name = 'Old Market'")" \
    "a closed library without a type (XL) loads as closed, type and statutory unknown"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM ingest.quarantine")" "nothing quarantined"
h2016=$(history bristol-2016)
it_log "bristol-2016: inserted|filled|unchanged|superseded|new = $h2016"
it_assert_eq "0|0" "$(IFS='|' read -r ins fil unc sup new <<<"$h2016"; echo "$sup|$((ins - new))")" \
    "nothing superseded; the only current versions it made are of the new service point"
before=$(it_psql "SELECT count(*) FROM core.service_points")

# Reloading either changes nothing.
all=$(table_md5)
register bristol-2016 bristol-2016.csv
it_assert_eq "$all" "$(table_md5)" "the 2016 register again changes nothing"
register bristol-now bristol.csv '"as_of": "2024-04-01"'
it_assert_eq "$all" "$(table_md5)" "the current register again changes nothing"
it_assert_eq "$before" "$(it_psql "SELECT count(*) FROM core.service_points")" "no new versions"

# The same date, other values: superseded, counted, nothing changes.
sed 's/avonmouth.library@bristol.gov.uk/someone@example.org/' "$bristol" >"$IT_DIR/www/bristol-same-day.csv"
register bristol-same-day bristol-same-day.csv '"as_of": "2024-04-01"'
it_assert_eq "$all" "$(table_md5)" "a same-dated register with other values changes nothing"
it_assert_eq "0|0|$((n - 1))|1|0" "$(history bristol-same-day)" "... and is counted as superseded"

# ---------------------------------------------------------------------------
# Two sources, two names, one library; a UPRN across postcodes; statutory
# and type missing.
header='Local authority,Library name,Address 1,Address 2,Address 3,Postcode,Unique property reference number,Statutory,Type of library,Year opened,Year closed,Monday staffed hours,Tuesday staffed hours,Wednesday staffed hours,Thursday staffed hours,Friday staffed hours,Saturday staffed hours,Sunday staffed hours,Monday unstaffed hours,Tuesday unstaffed hours,Wednesday unstaffed hours,Thursday unstaffed hours,Friday unstaffed hours,Saturday unstaffed hours,Sunday unstaffed hours,Special hours,Co-located,Co-located with,Notes,URL,Email address,As of'
row() { # name postcode uprn statutory type as_of
    printf 'Exampleshire,%s,1 High Street,,Exampleton,%s,%s,%s,%s,,,09:00-17:00,,,,,,,,,,,,,,,No,,,,,%s\n' "$1" "$2" "$3" "$4" "$5" "$6"
}
{ echo "$header"; row Barking "EX1 1AA" "" Yes LAL 2024-01-01; row "Castle" "EX3 3CC" 100040000001 Yes LAL 2024-01-01
  row "Dale" "EX4 4DD" "" "" "" 2024-01-01; } >"$IT_DIR/www/a.csv"
{ echo "$header"; row "Barking Learning Centre Community Hub" "ex1 1aa" "" Yes CRL 2024-02-01
  row "Castle Community Library" "EX3 3CD" 000100040000001 Yes LAL 2024-02-01; } >"$IT_DIR/www/b.csv"
register source-a a.csv
register source-b b.csv
it_assert_eq "1|2|CRL" "$(it_psql "SELECT count(DISTINCT service_point_id), count(*), max(library_type) FILTER (WHERE valid_to IS NULL) FROM core.service_points WHERE authority_code = 'E99999901' AND postcode = 'EX1 1AA'")" \
    "Barking and Barking Learning Centre Community Hub (same postcode): one service point, the later version current"
it_assert_eq "Barking|source-a
Barking Learning Centre Community Hub|source-b" "$(it_psql "SELECT name || '|' || source FROM core.service_point_alias WHERE authority_code = 'E99999901' AND postcode = 'EX1 1AA' ORDER BY name")" \
    "both names are aliases of it, with their sources"
it_assert_eq "1|EX3 3CD" "$(it_psql "SELECT count(DISTINCT service_point_id), max(postcode) FILTER (WHERE valid_to IS NULL) FROM core.service_points WHERE uprn = 100040000001")" \
    "the same UPRN under two postcodes: one service point"
it_assert_eq "||Open" "$(it_psql "SELECT coalesce(statutory::text, ''), coalesce(library_type, ''), status FROM core.v_service_points_current WHERE name = 'Dale'")" \
    "statutory and type missing load as NULL (unknown), open"

# No date in the records or the config: the export's Last-Modified (HTTP),
# or a file:// export's modification time.
nodate='Local authority,Library name,Postcode,Type of library'
{ echo "$nodate"; echo "Exampleshire,Fen,EX6 6FF,LAL"; } >"$IT_DIR/www/c.csv"
{ echo "$nodate"; echo "Exampleshire,Gorse,EX7 7GG,LAL"; } >"$IT_DIR/www/d.csv"
touch -d '2023-03-01 12:00:00 UTC' "$IT_DIR/www/c.csv" "$IT_DIR/www/d.csv"
register source-c c.csv
it_collector_config "$IT_DIR/source-d.json" source-d "file://$IT_DIR/www/d.csv" '"dataset": "service_points"'
it_collect "$IT_DIR/source-d.json" || it_fail "source-d: collector exited with $?"
it_assert_eq "Fen|2023-03-01 12:00:00|last-modified
Gorse|2023-03-01 12:00:00|last-modified" "$(it_psql "SELECT name || '|' || (valid_from AT TIME ZONE 'UTC') || '|' || valid_from_basis FROM core.service_points WHERE name IN ('Fen', 'Gorse') ORDER BY name")" \
    "without a date in the data or the config, a version is valid from the export's Last-Modified (HTTP) or its file's time (file://)"

# ---------------------------------------------------------------------------
# An older collector: its records lack the fields added since (status,
# as_of) and its header has no as_of. It still loads, dated by the load time.
ss_python - "$IT_DIR/old.bin" <<'PY'
import struct, sys
fields = [b"Exampleshire", b"Elm", None, None, None, b"EX5 5EE", None, b"Yes", b"XLT"] + [None] * 22
assert len(fields) == 31
b = struct.pack('<IBH', 2, 0, len(fields))
for f in fields:
    b += struct.pack('<I', 0xFFFFFFFF) if f is None else struct.pack('<I', len(f)) + f
open(sys.argv[1], "wb").write(b)
PY
out=$("$SS_BIN_DIR/ss_peer" "tcp://127.0.0.1:$IT_ZMQ_PORT" --timeout 10000 'shelfsync/2' \
    '{"type":"batch","source":"old-collector","run_id":"r1","seq":1,"dataset":"service_points","records":1,"fields":31,"last":true}' \
    "file:$IT_DIR/old.bin") || it_fail "no reply to the older collector's batch"
[[ $out == *'"status":"applied"'*'"accepted":1'* ]] || it_fail "older collector's batch not applied: $out"
it_assert_eq "Temporarily closed||load time" "$(it_psql "SELECT status, coalesce(library_type, ''), valid_from_basis FROM core.service_points WHERE name = 'Elm'")" \
    "a batch without the added fields loads: status derived, dated by the load time"
it_daemon_stop
