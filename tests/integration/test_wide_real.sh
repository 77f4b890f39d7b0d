#!/usr/bin/env bash
# Wide files as they come: a trailing delimiter on every line (a column with
# no header and no value) is no unread column, but a value under it is; and
# the real Arts Council 2023-24 return as published (one row per authority,
# ~500 columns), twelve of whose columns are chosen by csv.wide.columns in
# several period spellings: the rest are named as unread (exit 5) until
# csv.wide.ignore names them by pattern; every chosen cell loads either way.
source "$(dirname "$0")/lib.sh"
it_setup
mkdir -p "$IT_DIR/www"
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
IT_RESET_TABLES="core.visits core.activity_events ingest.batches ingest.quarantine ingest.runs" it_reset_db
it_daemon_start
url="http://127.0.0.1:$IT_HTTP_PORT"

printf 'Local authority,Library name,Count type,2023-1,2023-2,\nExampleshire,Trail Library,Automatic counter,1,2,\n' \
    >"$IT_DIR/www/trailing.csv"
printf 'Local authority,Library name,Count type,2023-1,2023-2,\nExampleshire,Other Library,Automatic counter,1,2,\nExampleshire,Lost Library,Automatic counter,3,4,99\n' \
    >"$IT_DIR/www/trailing-value.csv"
for f in trailing trailing-value; do
    it_collector_config "$IT_DIR/$f.json" "$f" "$url/$f.csv" \
        '"dataset": "visits", "csv": {"wide": {"value_field": "visits"}}'
done
st=0; it_collect "$IT_DIR/trailing.json" || st=$?
it_assert_eq 0 "$st" "a trailing delimiter: exit status"
it_assert_eq "2|3" "$(it_psql "SELECT count(*) || '|' || sum(visits) FROM core.visits WHERE source = 'trailing'")" \
    "a trailing delimiter: the cells loaded"
st=0; it_collect "$IT_DIR/trailing-value.json" || st=$?
it_assert_eq 5 "$st" "a value under no header: exit status 5"
grep -q 'neither mapped nor read.*"(column 6, no header)"' "$IT_DIR/collect-trailing-value.log" ||
    it_fail "the warning does not say which column has no header"
it_assert_eq "4|10" "$(it_psql "SELECT count(*) || '|' || sum(visits) FROM core.visits WHERE source = 'trailing-value'")" \
    "a value under no header: the month cells still loaded"

raw="$SS_FIXTURES/activity-2023-24/raw/libraries_activity_data_2023_2024.csv"
it_need_fixture "$raw" "$SS_FIXTURES/activity-2023-24/library_authorities.json"
"$SS_BIN_DIR/shelfsync" ref load authorities "$SS_FIXTURES/activity-2023-24/library_authorities.json" \
    --config "$IT_DAEMON_CONFIG" >>"$IT_DIR/ref.log" 2>&1 || it_fail "shelfsync ref load authorities failed (see ref.log)"
read -r acells asum < <(ss_python - "$raw" <<'PY'
import csv, sys
rows = csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline=""))
months = ["april", "may", "june", "july", "august", "september", "october", "november",
          "december", "january", "february", "march"]
cells = [r[f"total_physical_events_{m}"].strip() for r in rows for m in months]
cells = [int(c) for c in cells if c]
print(len(cells), sum(cells))
PY
)
columns='{"total_physical_events_april": "April 2023", "total_physical_events_may": "2023-05",
  "total_physical_events_june": "2023-6", "total_physical_events_july": "Jul-23",
  "total_physical_events_august": "2023-08-01/P1M", "total_physical_events_september": "Sept 2023",
  "total_physical_events_october": "2023/10", "total_physical_events_november": "11/2023",
  "total_physical_events_december": "2023 Dec", "total_physical_events_january": "2024-01",
  "total_physical_events_february": "2024-02-01/2024-02-29", "total_physical_events_march": "Mar-24"}'
act_config() {
    it_collector_config "$IT_DIR/act.json" act "file://$raw" \
        "\"dataset\": \"activity_events\", \"http\": {\"conditional\": false},
         \"csv\": {\"wide\": {\"value_field\": \"events\", \"period_field\": \"period\", \"columns\": $columns$1}},
         \"constants\": {\"event_type\": \"Physical\", \"age_group\": \"All ages\"}"
}
act_loaded() {
    it_assert_eq "$acells|$asum|0" "$(it_psql "SELECT count(*) || '|' || sum(events) || '|' ||
                                                 (SELECT count(*) FROM ingest.quarantine WHERE source = 'act')
                                               FROM core.activity_events WHERE source = 'act'")" \
        "$1: every chosen cell of the real file loaded, nothing quarantined"
    it_assert_eq "12|2023-04-01|2024-03-31" "$(it_psql "SELECT count(DISTINCT period_start) || '|' || min(period_start) || '|' || max(period_end)
                                                       FROM core.activity_events WHERE source = 'act'")" "$1: twelve months"
}
act_config ""
st=0; it_collect "$IT_DIR/act.json" || st=$?
it_assert_eq 5 "$st" "the real file's other columns unread: exit status 5"
grep -q 'neither mapped nor read.*"library_details"' "$IT_DIR/collect-act.log" ||
    it_fail "the collector log does not name the real file's unread columns"
act_loaded "real file, no ignore"
it_psql "TRUNCATE core.activity_events" >/dev/null
months='"*_april", "*_may", "*_june", "*_july", "*_august", "*_september", "*_october", "*_november", "*_december", "*_january", "*_february", "*_march"'
act_config ", \"ignore\": [\"library_details\", \"total_active_members\", \"active_members_*\", $months,
                           \"*_digital\", \"*notes*\", \"*no_data*\", \"ebook_and_eaudio_data_collection\",
                           \"computers_and_devices\", \"device*loan*\"]"
st=0; it_collect "$IT_DIR/act.json" || st=$?
it_assert_eq 0 "$st" "the real file with its other columns ignored: exit status"
act_loaded "real file, the rest ignored"
it_daemon_stop
