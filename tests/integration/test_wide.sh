#!/usr/bin/env bash
# Wide files (csv.wide): no column silently left out, every period header read.
#
# (1) A monthly file in the shape of the issue -- headers 2008-04 ... 2022-12,
#     then 2023-1 ... 2023-9, 2023-10 ... 2023-12, 2024-1 ... 2024-6, a few
#     libraries, some empty cells, and a "Notes" column nothing maps. Without
#     csv.wide.ignore the run loads every cell, names "Notes" in a warning and
#     ends with exit status 5; with "ignore": ["Notes"] or a pattern it ends
#     with 0 and loads the same rows. Counts and sums checked exactly.
# (2) A quarterly / financial-year file with "period_field": "period": each
#     column's period_start and period_end exact; the same file into the
#     month field is a setup error (exit 1) naming the column.
# (3) A csv.wide.columns list of 220 entries, in several period spellings.
# (4) A column that "mapping" names and "ignore" leaves out: refused (exit 1).
# The exports are generated here.
source "$(dirname "$0")/lib.sh"
it_setup
mkdir -p "$IT_DIR/www"
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
IT_RESET_TABLES="core.visits ingest.batches ingest.quarantine" it_reset_db
it_daemon_start

url="http://127.0.0.1:$IT_HTTP_PORT"
common='"dataset": "visits", "constants": {"authority": "Exampleshire"}, "http": {"conditional": false}'

# ---------------------------------------------------------------------------
# (1) The issue's monthly file.
# Prints "CELLS SUM COLUMNS": the non-empty month cells, their total, the
# month columns.
expected=$(ss_python - "$IT_DIR/www/monthly.csv" <<'EOF'
import sys
months = []
for y in range(2008, 2025):
    for m in range(1, 13):
        if (y, m) < (2008, 4) or (y, m) > (2024, 6):
            continue
        # zero-padded until 2022-12, then not, as the published file does
        months.append("%d-%02d" % (y, m) if y < 2023 else "%d-%d" % (y, m))
libraries = ["Central Library", "Hill Top Library", "Riverside Library",
             "Quay Library, Ground Floor", "Old Town Library"]
cells = total = 0
with open(sys.argv[1], "w", newline="") as f:
    f.write("Library name,Count type," + ",".join(months) + ",Notes\r\n")
    for li, lib in enumerate(libraries):
        row = []
        for ci in range(len(months)):
            if (li * 7 + ci) % 11 == 3 or (li == 4 and ci < 100):
                row.append("" if ci % 2 else " ")  # empty: closed, or not yet open
            else:
                v = 1000 * (li + 1) + ci
                row.append(str(v))
                cells += 1
                total += v
        name = '"%s"' % lib if "," in lib else lib
        notes = "refit 2019, ask J. Smith" if li == 1 else ""
        f.write("%s,Automatic counter,%s,\"%s\"\r\n" % (name, ",".join(row), notes))
print(cells, total, len(months))
EOF
)
read -r cells sum nmonths <<<"$expected"
it_log "generated monthly.csv: $nmonths month columns, $cells non-empty cells summing to $sum"
[[ $nmonths == 195 ]] || it_fail "the generator made $nmonths month columns, not 195"

check_monthly() { # $1: what the run was
    it_assert_eq "$cells|$sum" "$(it_psql "SELECT count(*) || '|' || sum(visits) FROM core.visits")" \
        "$1: every non-empty month cell loaded"
    it_assert_eq "$nmonths|2008-04-01|2024-06-30" \
        "$(it_psql "SELECT count(DISTINCT period_start) || '|' || min(period_start) || '|' || max(period_end)
                    FROM core.visits")" "$1: every month column read"
    it_assert_eq "0" "$(it_psql "SELECT count(*) FROM core.visits
                                 WHERE period_end <> (period_start + interval '1 month' - interval '1 day')::date
                                    OR extract(day FROM period_start) <> 1")" "$1: each row is one calendar month"
    # 2023-1 is January 2023 (month column 178: 1000 + 177); 2011-12
    # is December 2011, not the financial year; 2023-10 is October.
    it_assert_eq "1177|2011-12-01|2011-12-31|1044|1186" \
        "$(it_psql "SELECT (SELECT visits FROM core.visits WHERE service_point = 'Central Library' AND period_start = '2023-01-01')
                    || '|' || (SELECT period_start || '|' || period_end || '|' || visits FROM core.visits
                               WHERE service_point = 'Central Library' AND period_start = '2011-12-01')
                    || '|' || (SELECT visits FROM core.visits WHERE service_point = 'Central Library' AND period_start = '2023-10-01')")" \
        "$1: unpadded and ambiguous headers read as their months"
    it_assert_eq "0" "$(it_psql "SELECT count(*) FROM ingest.quarantine")" "$1: nothing quarantined"
}

# Without ignore: every cell loads, "Notes" is named, exit status 5.
it_collector_config "$IT_DIR/m1.json" monthly "$url/monthly.csv" \
    "$common, \"csv\": {\"wide\": {\"value_field\": \"visits\"}}"
st=0
it_collect "$IT_DIR/m1.json" || st=$?
it_assert_eq "5" "$st" "a column neither mapped nor read: exit status"
grep -E '1 column of the export is neither mapped nor read.*: "Notes"; ' "$IT_DIR/collect-monthly.log" >/dev/null ||
    it_fail "no warning naming the \"Notes\" column in collect-monthly.log"
grep -F 'J. Smith' "$IT_DIR/collect-monthly.log" >/dev/null &&
    it_fail "the log quotes a Notes cell"
check_monthly "no ignore"

# With "ignore": ["Notes"] (any case), then with a pattern: exit 0, the same rows.
for ignore in '["notes"]' '["*NOTE*", "Total*"]'; do
    IT_RESET_TABLES="core.visits ingest.batches ingest.quarantine" it_reset_db
    it_collector_config "$IT_DIR/m2.json" monthly "$url/monthly.csv" \
        "$common, \"csv\": {\"wide\": {\"value_field\": \"visits\", \"ignore\": $ignore}}"
    st=0
    it_collect "$IT_DIR/m2.json" || st=$?
    it_assert_eq "0" "$st" "ignore $ignore: exit status"
    check_monthly "ignore $ignore"
done
tail -n 40 "$IT_DIR/collect-monthly.log" | grep -F '195 period columns' | grep -F '1 left out by "csv.wide.ignore"' >/dev/null ||
    it_fail "the last run's log does not say 195 period columns and 1 left out"

# ---------------------------------------------------------------------------
# (2) Quarters, financial years and intervals into "period".
IT_RESET_TABLES="core.visits ingest.batches ingest.quarantine" it_reset_db
printf '%b' \
    'Library name,Count type,2021/22,FY2022-23,2023-24 Q1,Q2 2023-24,2023-24 Q3,FY2023-24 Q4,2024 Q2,2024-Q3,Q4 2024,2025-01-01/P1M,2025-02-01/2025-03-31,2025-04/2025-06,Total\r\n' \
    'Central Library,Automatic counter,100000,110000,30000,31000,32000,,33000,34000,35000,12000,24000,36000,x\r\n' \
    'Hill Top Library,Manual (one week every quarter),5000,5100,,1300,1400,1500,1600,1700,1800,,,1900,x\r\n' \
    >"$IT_DIR/www/quarterly.csv"
it_collector_config "$IT_DIR/q1.json" quarterly "$url/quarterly.csv" \
    "$common, \"csv\": {\"wide\": {\"value_field\": \"visits\", \"period_field\": \"period\", \"ignore\": [\"Total\"]}}"
st=0
it_collect "$IT_DIR/q1.json" || st=$?
it_assert_eq "0" "$st" "quarterly file into period: exit status"
it_assert_eq "Central Library|2021-04-01|2022-03-31|100000
Central Library|2022-04-01|2023-03-31|110000
Central Library|2023-04-01|2023-06-30|30000
Central Library|2023-07-01|2023-09-30|31000
Central Library|2023-10-01|2023-12-31|32000
Central Library|2024-04-01|2024-06-30|33000
Central Library|2024-07-01|2024-09-30|34000
Central Library|2024-10-01|2024-12-31|35000
Central Library|2025-01-01|2025-01-31|12000
Central Library|2025-02-01|2025-03-31|24000
Central Library|2025-04-01|2025-06-30|36000
Hill Top Library|2021-04-01|2022-03-31|5000
Hill Top Library|2022-04-01|2023-03-31|5100
Hill Top Library|2023-07-01|2023-09-30|1300
Hill Top Library|2023-10-01|2023-12-31|1400
Hill Top Library|2024-01-01|2024-03-31|1500
Hill Top Library|2024-04-01|2024-06-30|1600
Hill Top Library|2024-07-01|2024-09-30|1700
Hill Top Library|2024-10-01|2024-12-31|1800
Hill Top Library|2025-04-01|2025-06-30|1900" \
    "$(it_psql "SELECT service_point, period_start, period_end, visits FROM core.visits
                ORDER BY service_point, period_start")" "each column's period_start and period_end"

# The same file into the month field: refused before anything is sent.
it_collector_config "$IT_DIR/q2.json" quartermonth "$url/quarterly.csv" \
    "$common, \"csv\": {\"wide\": {\"value_field\": \"visits\", \"ignore\": [\"Total\"]}}"
st=0
it_collect "$IT_DIR/q2.json" || st=$?
it_assert_eq "1" "$st" "quarterly file into the month field: exit status"
grep -F 'column "2021/22" is the period 2021-04-01/P1Y, not one calendar month' "$IT_DIR/collect-quartermonth.log" |
    grep -F 'set "period_field": "period"' >/dev/null ||
    it_fail "the log does not name the column and say to set \"period_field\": \"period\""
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM ingest.batches WHERE source = 'quartermonth'")" \
    "nothing sent by the refused run"

# ---------------------------------------------------------------------------
# (3) 220 period columns listed by hand, in several spellings, no cap.
IT_RESET_TABLES="core.visits ingest.batches ingest.quarantine" it_reset_db
columns_json=$(ss_python - "$IT_DIR/www/listed.csv" <<'EOF'
import json, sys
names, cols = [], {}
spell = ["%(y)d-%(m)02d", "%(b)s-%(yy)02d", "%(m)d/%(y)d", "%(y)d-%(m)02d-01/P1M"]
abbr = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
for i in range(220):
    y, m = 2005 + i // 12, i % 12 + 1
    name = "Col %d" % i
    names.append(name)
    cols[name] = spell[i % 4] % {"y": y, "m": m, "b": abbr[m - 1], "yy": y % 100}
with open(sys.argv[1], "w") as f:
    f.write("Library name,Count type," + ",".join(names) + "\n")
    f.write("Central Library,Automatic counter," + ",".join(str(i + 1) for i in range(220)) + "\n")
print(json.dumps(cols))
EOF
)
it_collector_config "$IT_DIR/l1.json" listed "$url/listed.csv" \
    "$common, \"csv\": {\"wide\": {\"value_field\": \"visits\", \"columns\": $columns_json}}"
st=0
it_collect "$IT_DIR/l1.json" || st=$?
it_assert_eq "0" "$st" "220 listed period columns: exit status"
it_assert_eq "220|24310|2005-01-01|2023-04-30" \
    "$(it_psql "SELECT count(*) || '|' || sum(visits) || '|' || min(period_start) || '|' || max(period_end)
                FROM core.visits WHERE source = 'listed'")" "every listed column loaded"
it_assert_eq "1|2|3|4|220" \
    "$(it_psql "SELECT string_agg(visits::text, '|' ORDER BY period_start) FROM core.visits
                WHERE period_start IN ('2005-01-01', '2005-02-01', '2005-03-01', '2005-04-01', '2023-04-01')")" \
    "each spelling read as its month"

# ---------------------------------------------------------------------------
# (4) A column both mapped and ignored: refused at the header, naming it.
it_collector_config "$IT_DIR/x1.json" mappedignored "$url/monthly.csv" \
    "$common, \"mapping\": {\"service_point\": \"Library name\"},
     \"csv\": {\"wide\": {\"value_field\": \"visits\", \"ignore\": [\"Notes\", \"library*\"]}}"
st=0
it_collect "$IT_DIR/x1.json" || st=$?
it_assert_eq "1" "$st" "a mapped column that is also ignored: exit status"
grep -F '"csv.wide.ignore" leaves out the column "Library name", which "mapping" names' \
    "$IT_DIR/collect-mappedignored.log" >/dev/null || it_fail "the log does not name the mapped, ignored column"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM ingest.batches WHERE source = 'mappedignored'")" \
    "nothing sent by the refused run"
