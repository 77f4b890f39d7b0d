#!/usr/bin/env bash
# CSV exports as library systems write them: Windows-1252 text with ';'
# between fields (declared, then detected), a wide visits export with one
# column per month (as Newcastle publishes), a headerless export described by
# csv.columns and mapping, branch names in mixed case through a loose value
# map. The warehouse holds the right UTF-8 text, one
# visits row per non-empty month cell, and each bad row in quarantine with its
# line. The exports are written here; none is a copy of a real file.
source "$(dirname "$0")/lib.sh"
it_setup
mkdir -p "$IT_DIR/www"
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
IT_RESET_TABLES="core.loans core.visits ingest.batches ingest.quarantine" it_reset_db
it_daemon_start

url="http://127.0.0.1:$IT_HTTP_PORT"

# (1) Windows-1252, ';' between fields, CRLF line ends. é is 0xE9, ’ 0x92,
# € 0x80; 0x81 has no character in Windows-1252. A quoted field holds a ';'
# and a comma.
printf '%b' \
    'Local authority;Library name;Month;Type;Loans\r\n' \
    'Exampleshire;Caf\xe9 Library;2024-04;Children\x92s fiction;12\r\n' \
    'Exampleshire;St Mary\x92s Library;2024-04;"Sale; \x805 a bag, all week";3\r\n' \
    'Exampleshire;Caf\xe9 Library;2024-05;Odd\x81type;4\r\n' \
    'Exampleshire;Caf\xe9 Library;2024-05;Adult fiction;many\r\n' >"$IT_DIR/www/loans-1252.csv"
[[ $(wc -c <"$IT_DIR/www/loans-1252.csv") == 273 ]] || it_fail "test export loans-1252.csv is $(wc -c <"$IT_DIR/www/loans-1252.csv") bytes, not 273"

loans_1252_checks() { # $1: what the run was
    it_assert_eq "3" "$(it_psql 'SELECT count(*) FROM core.loans')" "$1: rows loaded"
    it_assert_eq "Exampleshire|Café Library|2024-04-01|2024-04-30|Children’s fiction|12
Exampleshire|Café Library|2024-05-01|2024-05-31|Odd�type|4
Exampleshire|St Mary’s Library|2024-04-01|2024-04-30|Sale; €5 a bag, all week|3" \
        "$(it_psql "SELECT a.nice_name, l.service_point, l.period_start, l.period_end, l.item_type, l.loans
                    FROM core.loans l JOIN ref.authority a ON a.code = l.authority_code
                    WHERE l.loans < 100 ORDER BY l.service_point, l.period_start")" \
        "$1: rows and UTF-8 text"
    # The bytes, so no terminal or client encoding can hide a wrong one.
    it_assert_eq "436166c3a9204c696272617279|4368696c6472656ee28099732066696374696f6e" \
        "$(it_psql "SELECT encode(convert_to(service_point, 'UTF8'), 'hex') || '|' ||
                           encode(convert_to(item_type, 'UTF8'), 'hex')
                    FROM core.loans WHERE loans = 12")" "$1: é is C3 A9, ’ is E2 80 99"
    it_assert_eq "e282ac" "$(it_psql "SELECT encode(convert_to(substr(item_type, 7, 1), 'UTF8'), 'hex')
                    FROM core.loans WHERE loans = 3")" "$1: € is E2 82 AC"
    it_assert_eq "efbfbd" "$(it_psql "SELECT encode(convert_to(substr(item_type, 4, 1), 'UTF8'), 'hex')
                    FROM core.loans WHERE loans = 4")" "$1: an undefined byte is U+FFFD, not dropped"
    it_assert_eq '5|"loans" is "many": not a whole number|Exampleshire,Café Library,2024-05,Adult fiction,many' \
        "$(it_psql "SELECT line || '|' || reason || '|' || raw FROM ingest.quarantine ORDER BY line")" \
        "$1: bad row quarantined with its line"
}

it_collector_config "$IT_DIR/l1252.json" l1252 "$url/loans-1252.csv" \
    '"csv": {"encoding": "windows-1252", "delimiter": ";"}, "http": {"conditional": false}'
it_collect "$IT_DIR/l1252.json" || it_fail "collector (declared delimiter) exited with $?"
loans_1252_checks "declared ';'"

# (2) The same export, the delimiter detected from the header line.
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine" it_reset_db
it_collector_config "$IT_DIR/ldetect.json" ldetect "$url/loans-1252.csv" \
    '"csv": {"encoding": "windows-1252", "detect_delimiter": true}, "http": {"conditional": false}'
it_collect "$IT_DIR/ldetect.json" || it_fail "collector (detected delimiter) exited with $?"
loans_1252_checks "detected ';'"
grep -q "detected delimiter ';' from the first line" "$IT_DIR/collect-ldetect.log" ||
    it_fail "the collector log does not say which delimiter it detected"
it_log "ok: the log says the delimiter detected"

# Detection counts only delimiters outside quotes: this header has more
# commas than bars, all of them inside quotes.
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine" it_reset_db
printf '%b' \
    'Local authority|"Library, branch, or mobile"|Month|"Type (fiction, non-fiction, other)"|Loans\n' \
    'Exampleshire|Riverside Library|2024-08|Adult fiction, large print|21\n' >"$IT_DIR/www/loans-bar.csv"
it_collector_config "$IT_DIR/lbar.json" lbar "$url/loans-bar.csv" \
    '"csv": {"detect_delimiter": true},
     "mapping": {"service_point": "Library, branch, or mobile", "item_type": "Type (fiction, non-fiction, other)"},
     "http": {"conditional": false}'
it_collect "$IT_DIR/lbar.json" || it_fail "collector ('|' detected) exited with $?"
it_assert_eq "Riverside Library|2024-08-01|Adult fiction, large print|21" \
    "$(it_psql "SELECT service_point, period_start, item_type, loans FROM core.loans")" "'|' detected past quoted commas"
grep -q "detected delimiter '|' from the first line (',' 0, ';' 0, tab 0, '|' 4)" "$IT_DIR/collect-lbar.log" ||
    it_fail "the collector log does not say it detected '|' (4 of them, no comma outside quotes)"
it_log "ok: the log says '|' was detected, commas in quotes not counted"

# The same text as UTF-8 passes through unchanged (default encoding).
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine" it_reset_db
LC_ALL=C sed 's/Odd\x81type/Oddtype/' "$IT_DIR/www/loans-1252.csv" | iconv -f WINDOWS-1252 -t UTF-8 \
    >"$IT_DIR/www/loans-utf8.csv"
it_collector_config "$IT_DIR/lutf8.json" lutf8 "$url/loans-utf8.csv" \
    '"csv": {"delimiter": ";"}, "http": {"conditional": false}'
it_collect "$IT_DIR/lutf8.json" || it_fail "collector (UTF-8) exited with $?"
it_assert_eq "Café Library|Children’s fiction|12
Café Library|Oddtype|4
St Mary’s Library|Sale; €5 a bag, all week|3" \
    "$(it_psql "SELECT service_point, item_type, loans FROM core.loans ORDER BY service_point, period_start")" \
    "UTF-8 export passed through"

# (3) A wide visits export: one column per month, a few empty cells, a row
# with a cell too many, a total column the config leaves out on purpose
# (csv.wide.ignore; tests/integration/test_wide.sh has the run that is not
# told to, and every header form).
printf '%b' \
    'Local authority,Library name,Count type,Apr-23,May-23,Jun-23,Jul-23,Total\r\n' \
    'Exampleshire,Riverside Library,Automatic counter,1200,1100,,1300,3600\r\n' \
    'Exampleshire,Hill Top Library,Manual (one week every quarter),,250,260,,510\r\n' \
    'Exampleshire,Closed Library,Automatic counter,,,,,0\r\n' \
    'Exampleshire,Extra Cell Library,Automatic counter,1,2,3,4,10,99\r\n' \
    'Exampleshire,"Quay Library, Ground Floor",Automatic counter,75, ,80,85,240\r\n' \
    >"$IT_DIR/www/visits-wide.csv"
it_collector_config "$IT_DIR/vwide.json" vwide "$url/visits-wide.csv" \
    '"dataset": "visits", "csv": {"wide": {"value_field": "visits", "period_field": "month",
                                          "ignore": ["Total"]}}'
it_collect "$IT_DIR/vwide.json" || it_fail "collector (wide) exited with $?"
it_assert_eq "8" "$(it_psql 'SELECT count(*) FROM core.visits')" "one visits row per non-empty month cell"
it_assert_eq "E99999901|Hill Top Library|2023-05-01|2023-05-31|Manual (one week every quarter)|250
E99999901|Hill Top Library|2023-06-01|2023-06-30|Manual (one week every quarter)|260
E99999901|Quay Library, Ground Floor|2023-04-01|2023-04-30|Automatic counter|75
E99999901|Quay Library, Ground Floor|2023-06-01|2023-06-30|Automatic counter|80
E99999901|Quay Library, Ground Floor|2023-07-01|2023-07-31|Automatic counter|85
E99999901|Riverside Library|2023-04-01|2023-04-30|Automatic counter|1200
E99999901|Riverside Library|2023-05-01|2023-05-31|Automatic counter|1100
E99999901|Riverside Library|2023-07-01|2023-07-31|Automatic counter|1300" \
    "$(it_psql "SELECT authority_code, service_point, period_start, period_end, count_type, visits
                FROM core.visits ORDER BY service_point, period_start")" "visits by month"
it_assert_eq "5|line 5: 9 fields where the header has 8|Exampleshire,Extra Cell Library,Automatic counter" \
    "$(it_psql "SELECT line || '|' || reason || '|' || raw FROM ingest.quarantine WHERE source = 'vwide'")" \
    "wide row with a cell too many quarantined at its own line"
it_collect "$IT_DIR/vwide.json" || it_fail "second wide run exited with $?"
it_assert_eq "1" "$(it_psql "SELECT count(*) FROM ingest.batches WHERE source = 'vwide'")" \
    "unchanged export (conditional GET) sends nothing the second time"

# A wide export with no period in its header fails the run and says why.
it_collector_config "$IT_DIR/vnomonth.json" vnomonth "$url/loans-utf8.csv" \
    '"dataset": "visits", "csv": {"delimiter": ";", "wide": {"value_field": "visits"}}'
st=0
it_collect "$IT_DIR/vnomonth.json" || st=$?
it_assert_eq "1" "$st" "a wide export with no period column: a setup error (exit status)"
grep -q 'no column header reads as a period' "$IT_DIR/collect-vnomonth.log" ||
    it_fail "the collector log does not say that no column reads as a period"
it_log "ok: no period column: the run fails (status $st) and says why"

# (4) A headerless loans export: csv.columns names the columns, mapping maps them.
printf '%b' \
    'Exampleshire,Riverside Library,2024-06,Adult fiction,55\n' \
    'Exampleshire,Riverside Library,2024-06,"Large print, adult",7\n' \
    'Exampleshire,Riverside Library,2024-06,Audiobooks\n' \
    'Exampleshire,Hill Top Library,2024-07,Adult fiction,0\n' >"$IT_DIR/www/loans-noheader.csv"
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine" it_reset_db
it_collector_config "$IT_DIR/lnohdr.json" lnohdr "$url/loans-noheader.csv" \
    '"csv": {"header": false, "columns": ["LA", "Branch", "Issue month", "Category", "Issues"]},
     "mapping": {"authority": "LA", "service_point": "Branch", "month": "Issue month",
                 "item_type": "Category", "loans": "Issues"},
     "http": {"conditional": false}'
it_collect "$IT_DIR/lnohdr.json" || it_fail "collector (headerless) exited with $?"
it_assert_eq "E99999901|Hill Top Library|2024-07-01|2024-07-31|Adult fiction|0
E99999901|Riverside Library|2024-06-01|2024-06-30|Adult fiction|55
E99999901|Riverside Library|2024-06-01|2024-06-30|Large print, adult|7" \
    "$(it_psql "SELECT authority_code, service_point, period_start, period_end, item_type, loans
                FROM core.loans ORDER BY service_point, item_type")" "headerless rows mapped"
it_assert_eq "3|line 3: 4 fields where the header has 5" \
    "$(it_psql "SELECT line || '|' || reason FROM ingest.quarantine")" \
    "short row quarantined; line 1 is data, not a header"

# (5) Branch names typed by hand: one branch in several cases and spacings.
# A loose value map sends each as its code; the item type is upper-cased
# first (transform_first), then mapped by upper-case keys.
printf '%b' \
    'Local authority,Library name,Month,Type,Loans\n' \
    'Exampleshire,CENTRAL LIBRARY,2024-04,af,10\n' \
    'Exampleshire,Central  library,2024-05,AF,11\n' \
    'Exampleshire,"\tcentral Library ",2024-06,Af,12\n' \
    'Exampleshire,Central Library,2024-07,jf,13\n' \
    'Exampleshire,kirkgate,2024-04,af,5\n' \
    'Exampleshire,Kirkgate Branch,2024-04,af,6\n' >"$IT_DIR/www/loans-branches.csv"
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine" it_reset_db
it_collector_config "$IT_DIR/lloose.json" lloose "$url/loans-branches.csv" \
    '"transforms": {"item_type": "upper"},
     "value_maps": {
       "service_point": {"match": "loose", "values": {"Central Library": "SP001", "KIRKGATE": "SP002"}},
       "item_type": {"values": {"AF": "Adult fiction", "JF": "Junior fiction"}, "transform_first": true}},
     "http": {"conditional": false}'
it_collect "$IT_DIR/lloose.json" || it_fail "collector (loose value map) exited with $?"
it_assert_eq "Kirkgate Branch|2024-04-01|Adult fiction|6
SP001|2024-04-01|Adult fiction|10
SP001|2024-05-01|Adult fiction|11
SP001|2024-06-01|Adult fiction|12
SP001|2024-07-01|Junior fiction|13
SP002|2024-04-01|Adult fiction|5" \
    "$(it_psql "SELECT service_point, period_start, item_type, loans FROM core.loans
                ORDER BY service_point, period_start")" \
    "mixed-case branch names loaded as their service point codes"
it_assert_eq "0" "$(it_psql 'SELECT count(*) FROM ingest.quarantine')" "no row quarantined"
it_daemon_stop
