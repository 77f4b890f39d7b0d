#!/usr/bin/env bash
# The analyst views say what they rest on (issue 10, migration 012):
#  * a consortium's loans given per authority (no "Library name" column, the
#    collector config leaves service_point unmapped) load as authority-level
#    rows: counted in the authority's service_point_loans, no library of
#    their own in v_monthly_service_point or service_points_reporting;
#  * a quarantined record makes its authority's year incomplete, the analyst
#    role sees the count (core.v_quarantine_counts) but not the record, and
#    the next complete full run that loads the fixed record makes it whole;
#  * stock turnover is over the branches with a stock count, the others'
#    loans are counted, authority-level loans are not in it;
#  * the 2,236,995,718 computer hours Haringey reported for March 2024 (the
#    Arts Council 2023-24 return, raw file) are flagged, kept out of the
#    peer ranking and England's trend, confirmed and back in; a changed
#    value needs confirming again.
# Data: the real 2023-24 computer hours (long form) and reference files of
# ../shared/fixtures/activity-2023-24; small exports of the test's own for
# the rest, loaded through the daemon.
source "$(dirname "$0")/lib.sh"
it_setup

ACT=${SS_FIXTURES:-}/activity-2023-24
it_need_fixture "$ACT/computers.csv" "$ACT/library_authorities.json" "$ACT/mye24tablesew.csv"

IT_RESET_TABLES="core.loans core.stock core.service_points core.computer_hours core.outlier_confirmation
ingest.batches ingest.quarantine ingest.runs ingest.batch_coverage"
export IT_RESET_TABLES
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_reset_db
for kind in authorities:library_authorities.json populations:mye24tablesew.csv \
    neighbours:localauthoritynearestneighboursengland.csv; do
    "$SS_BIN_DIR/shelfsync" ref load "${kind%%:*}" "$ACT/${kind#*:}" --config "$IT_DAEMON_CONFIG" >>"$IT_DIR/ref.log" 2>&1 ||
        { cat "$IT_DIR/ref.log"; it_fail "ref load ${kind%%:*} failed"; }
done
it_test_authorities

as_analyst() { "$SS_PGBIN/psql" -X -q -tA -h "$SS_PGHOST" -p "$SS_PGPORT" -U postgres -d "$SS_PGDATABASE" \
    -c "SET ROLE shelfsync_analyst" -c "$1" 2>&1; }

mkdir -p "$IT_DIR/www"
it_http_start "$IT_DIR/www"
it_daemon_start
months() { # months FIRST_VALUE: the twelve months of 2023-24 as YYYY-MM,value
    local i v=$1
    for i in 04 05 06 07 08 09 10 11 12; do echo "2023-$i,$((v + 10#$i))"; done
    for i in 01 02 03; do echo "2024-$i,$((v + 20 + 10#$i))"; done
}

# ---------------------------------------------------------------------------
# Authority-level loans: no fake library
it_psql "INSERT INTO core.service_points (service_point_id, authority_code, name, postcode, statutory, library_type, source, batch_id)
         VALUES (1, 'E09000003', 'Chipping Barnet Library', 'EN5 4QT', true, 'LAL', 'test', 0),
                (2, 'E09000003', 'Hendon Library', 'NW4 4BQ', true, 'LAL', 'test', 0),
                (3, 'E09000003', 'Mill Hill Library', 'NW7 3RA', true, 'LAL', 'test', 0)" >/dev/null
{
    echo "Local authority,Library name,Month,Type,Loans"
    months 1000 | sed 's/^/Barnet,Chipping Barnet,/; s/,\([0-9]*\)$/,Adult fiction,\1/'
    months 500 | sed 's/^/Barnet,Hendon,/; s/,\([0-9]*\)$/,Adult fiction,\1/'
} >"$IT_DIR/www/branches.csv"
{
    echo "Local authority,Month,Type,Loans"
    months 7000 | sed 's/^/Barnet,/; s/,\([0-9]*\)$/,Adult fiction,\1/'
} >"$IT_DIR/www/consortium.csv"
branch_sum=$(months 1000 | awk -F, "{ s += \$2 } END { print s }")
hendon_sum=$(months 500 | awk -F, "{ s += \$2 } END { print s }")
whole_sum=$(months 7000 | awk -F, "{ s += \$2 } END { print s }")

it_collector_config "$IT_DIR/branches.json" branches "http://127.0.0.1:$IT_HTTP_PORT/branches.csv"
it_collect "$IT_DIR/branches.json" || it_fail "branches run exited with $?"
year_sql="SELECT value || '|' || service_points_open || '|' || service_points_reporting || '|' || authority_level_value
          FROM core.v_authority_year WHERE authority_code = 'E09000003' AND financial_year = '2023-24'
           AND measure = 'service_point_loans' AND age_group = 'All ages'"
it_assert_eq "$((branch_sum + hendon_sum))|3|2|0" "$(it_psql "$year_sql")" "branch loans: value|open|reporting|authority level"
monthly_before=$(it_psql "SELECT count(*) FROM core.v_monthly_service_point")

# The consortium's file has no library column: service_point is left unmapped.
it_collector_config "$IT_DIR/consortium.json" consortium "http://127.0.0.1:$IT_HTTP_PORT/consortium.csv"
it_collect "$IT_DIR/consortium.json" || it_fail "authority-level run exited with $?"
it_assert_eq "12|12" "$(it_psql "SELECT count(*) || '|' || count(*) FILTER (WHERE service_point IS NULL) FROM core.loans
    WHERE source = 'consortium'")" "authority-level loans load, with no service point"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM ingest.quarantine")" "nothing quarantined"
it_assert_eq "$((branch_sum + hendon_sum + whole_sum))|3|2|$whole_sum" "$(it_psql "$year_sql")" \
    "authority-level loans counted in service_point_loans, not as a service point (value|open|reporting|authority level)"
it_assert_eq "$monthly_before|0" "$(it_psql "SELECT count(*) || '|' || count(*) FILTER (WHERE service_point IS NULL)
    FROM core.v_monthly_service_point")" "no library of their own in the monthly view"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM core.v_monthly_service_point WHERE service_point ILIKE 'all%'")" \
    "no invented \"All service points\""

# ---------------------------------------------------------------------------
# Stock turnover over the branches with stock
it_psql "INSERT INTO core.stock (authority_code, service_point, count_date, item_type, items, source, batch_id)
         VALUES ('E09000003', 'Chipping Barnet Library', '2023-10-01', 'Adult fiction', 4000, 'test', 0),
                ('E09000003', 'Mill Hill', '2023-10-01', 'Adult fiction', 9999, 'test', 0),
                ('E09000003', 'Hendon', '2024-06-01', 'Adult fiction', 3000, 'test', 0)" >/dev/null
turnover=$(ss_python -c "from decimal import Decimal, ROUND_HALF_UP; print((Decimal($branch_sum) / 4000).quantize(Decimal('0.001'), ROUND_HALF_UP))")
it_assert_eq "$branch_sum|4000|$turnover|1|$hendon_sum|1|$whole_sum|false" "$(it_psql "SELECT loans || '|' || items || '|' || turnover
    || '|' || stock_service_points || '|' || loans_without_stock || '|' || service_points_without_stock
    || '|' || authority_level_loans || '|' || complete
    FROM core.v_stock_turnover WHERE authority_code = 'E09000003' AND financial_year = '2023-24' AND item_type = 'Adult fiction'")" \
    "turnover over Chipping Barnet only: Hendon's count is after the year, Mill Hill lent nothing, the consortium's loans are no branch's (loans|items|turnover|branches|loans left out|branches left out|authority level|complete)"

# ---------------------------------------------------------------------------
# A quarantined record: the year is not complete
{
    echo "Local authority,Library name,Month,Type,Loans"
    months 100 | sed 's/^/Exampleshire,Riverside Library,/; s/,\([0-9]*\)$/,Adult fiction,\1/'
    echo "Exampleshire,Riverside Library,2023-06,Adult non fiction,twelve"
    echo "Exampleshire,Riverside Library,2023-07,Adult fiction,107"
} >"$IT_DIR/www/riverside.csv"
it_collector_config "$IT_DIR/riverside.json" riverside "http://127.0.0.1:$IT_HTTP_PORT/riverside.csv" '"http": {"conditional": false}'
it_collect "$IT_DIR/riverside.json" || it_fail "riverside run exited with $?"
it_assert_eq "loans|E99999901|2023-06-01|2023-06-30
loans|E99999901|2023-07-01|2023-07-31" "$(it_psql "SELECT dataset || '|' || authority_code || '|' || period_start || '|' || period_end
    FROM ingest.quarantine WHERE source = 'riverside' ORDER BY line")" \
    "the quarantine knows the authority and period of a bad record, whichever field failed"
ex_sql="SELECT months_reported || '|' || complete || '|' || quarantined_records FROM core.v_authority_year
        WHERE authority_code = 'E99999901' AND financial_year = '2023-24' AND measure = 'service_point_loans' AND age_group = 'All ages'"
it_assert_eq "12|false|1" "$(it_psql "$ex_sql")" \
    "12 months reported, but a record quarantined: not complete (months|complete|quarantined; the exact repeat is no loss)"
out=$(as_analyst "SELECT dataset || '|' || authority_code || '|' || financial_year || '|' || coalesce(field, '') || '|' || reason || '|' || records
    || '|' || outstanding_records FROM core.v_quarantine_counts WHERE source = 'riverside' ORDER BY reason")
it_assert_eq 'loans|E99999901|2023-24|loans|"loans" is "...": not a whole number|1|1
loans|E99999901|2023-24||line N repeats line N exactly (same authority_code, service_point, item_type, period_start, period_end): not loaded twice|1|1' \
    "$out" "the analyst role sees the counts by dataset, authority, period and reason, numbers and values masked"
out=$(as_analyst "SELECT count(*) FROM ingest.quarantine") || true
[[ $out == *"permission denied"* ]] || it_fail "the analyst reads the raw quarantine: $out"
out=$(as_analyst "SELECT raw FROM core.v_quarantine_counts") || true
[[ $out == *"does not exist"* ]] || it_fail "core.v_quarantine_counts shows raw text: $out"

# Fixed at the source: the next complete full run loads it, the year is whole.
sed -i 's/Adult non fiction,twelve/Adult non fiction,12/' "$IT_DIR/www/riverside.csv"
it_collect "$IT_DIR/riverside.json" || it_fail "second riverside run exited with $?"
it_log "runs: $(it_psql "SELECT string_agg(outcome || ' ' || coalesce(full_fetch::text, '?'), ', ' ORDER BY run_ref) FROM ingest.runs WHERE source = 'riverside'")"
it_assert_eq "12|true|0" "$(it_psql "$ex_sql")" "after a complete run that loads the fixed record, the year is complete"
it_assert_eq "0|1" "$(it_psql "SELECT sum(outstanding_records) FILTER (WHERE NOT exact_repeat) || '|' || sum(outstanding_records) FILTER (WHERE exact_repeat)
    FROM core.v_quarantine_counts WHERE source = 'riverside'")" "the old quarantine row is no longer outstanding; the repeat is sent again"
it_daemon_stop

# ---------------------------------------------------------------------------
# The outlier: Haringey's March 2024 computer hours
cat >"$IT_DIR/outlier.py" <<'PY'
import csv, datetime as dt, os, sys
ACT, OUT = sys.argv[1:3]
HARINGEY, MARCH = "E09000014", 2236995718

def rows(name):
    with open(os.path.join(ACT, name), encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))

def add_months(d, n):
    y, m = divmod(d.month - 1 + n, 12)
    return dt.date(d.year + y, m + 1, 1)

facts, months = [], {}
for r in rows("computers.csv"):
    start, dur = r["Period"].split("/")
    s = dt.date.fromisoformat(start)
    n = {"P1M": 1, "P3M": 3, "P1Y": 12}[dur]
    facts.append((r["Authority"], int(r["Count"]), s, add_months(s, n) - dt.timedelta(days=1)))
    months.setdefault(r["Authority"], set()).update(add_months(s, k) for k in range(n))
    # 2022-23: the same counts a year earlier, so that England has a trend.
    s1 = s.replace(year=s.year - 1)
    facts.append((r["Authority"], int(r["Count"]), s1, add_months(s1, n) - dt.timedelta(days=1)))
assert HARINGEY not in months
# Haringey: ordinary months of the test's own (all of 2022-23, eleven of
# 2023-24, fewer hours than the year before), and March as published.
for k in range(12):
    s = add_months(dt.date(2022, 4, 1), k)
    facts.append((HARINGEY, 9500 + 37 * k, s, add_months(s, 1) - dt.timedelta(days=1)))
for k in range(11):
    s = add_months(dt.date(2023, 4, 1), k)
    facts.append((HARINGEY, 9000 + 37 * k, s, add_months(s, 1) - dt.timedelta(days=1)))
facts.append((HARINGEY, MARCH, dt.date(2024, 3, 1), dt.date(2024, 3, 31)))
# An authority with a population and no computer hours: one absurd month
# with no history of its own is judged against its peers.
pop = {r["Code"] for r in rows("mye24tablesew.csv")}
nn = {r["Upper tier local authority code"]: [r[f"Neighbour {i}"] for i in range(1, 16)]
      for r in rows("localauthoritynearestneighboursengland.csv")}
lonely = sorted(c for c in nn if c in pop and c not in months and c != HARINGEY)[0]
facts.append((lonely, MARCH, dt.date(2024, 3, 1), dt.date(2024, 3, 31)))
with open(os.path.join(OUT, "computer_hours.tsv"), "w") as f:
    for code, v, s, e in facts:
        f.write(f"{code}\t{v}\t{s}\t{e}\ttest\t0\n")
# A neighbour of Haringey's with a complete year and a population: Haringey
# counts among its peers only while its year is rankable.
peer = sorted(c for c, ns in nn.items() if HARINGEY in ns and c in pop and len(months.get(c, ())) == 12)[0]
print(f"lonely={lonely}")
print(f"peer={peer}")
PY
declare -A X
while IFS='=' read -r k v; do X[$k]=$v; done < <(ss_python "$IT_DIR/outlier.py" "$ACT" "$IT_DIR")
[[ -n ${X[peer]:-} && -n ${X[lonely]:-} ]] || it_fail "outlier.py found no peer"
it_psql "COPY core.computer_hours (authority_code, hours, period_start, period_end, source, batch_id) FROM STDIN" \
    <"$IT_DIR/computer_hours.tsv" || it_fail "COPY into core.computer_hours failed"
it_psql "ANALYZE core.computer_hours" >/dev/null

it_assert_eq "history|2236995718|false" "$(it_psql "SELECT rule || '|' || value || '|' || confirmed FROM core.v_outliers
    WHERE authority_code = 'E09000014' AND measure = 'computer_hours'")" "Haringey's March 2024 flagged against its own months"
it_assert_eq "peers|false" "$(it_psql "SELECT rule || '|' || confirmed FROM core.v_outliers
    WHERE authority_code = '${X[lonely]}' AND measure = 'computer_hours'")" "${X[lonely]}'s lone month flagged against its peers"
it_log "outliers in the real 2023-24 computer hours: $(it_psql "SELECT count(*) FROM core.v_outliers
    WHERE authority_code NOT IN ('E09000014', '${X[lonely]}')") ($(it_psql "SELECT coalesce(string_agg(authority_code || ' ' || period_start || ' ' || value || ' ' || rule || ' x' || times_median, '; '), 'none') FROM core.v_outliers
    WHERE authority_code NOT IN ('E09000014', '${X[lonely]}')"))"
hy_sql="SELECT complete || '|' || outliers FROM core.v_authority_year WHERE authority_code = 'E09000014'
        AND financial_year = '2023-24' AND measure = 'computer_hours' AND age_group = 'All ages'"
bench_sql="SELECT coalesce(rank::text, '-') || '|' || outliers FROM core.v_peer_benchmark WHERE authority_code = 'E09000014'
           AND financial_year = '2023-24' AND measure = 'computer_hours' AND age_group = 'All ages'"
peers_sql="SELECT peers_reporting FROM core.v_peer_benchmark WHERE authority_code = '${X[peer]}'
           AND financial_year = '2023-24' AND measure = 'computer_hours' AND age_group = 'All ages'"
it_assert_eq "true|1" "$(it_psql "$hy_sql")" "Haringey's year: 12 months, resting on one unconfirmed outlier"
it_assert_eq "-|1" "$(it_psql "$bench_sql")" "not ranked while flagged"
peers_flagged=$(it_psql "$peers_sql")
[[ -n $peers_flagged ]] || it_fail "${X[peer]} has no benchmark row"
trend_sql="SELECT count(*) FILTER (WHERE authority_code = 'E09000014') || '|' || max(england_authorities)
           FROM core.v_bucking_trend WHERE financial_year = '2023-24' AND measure = 'computer_hours' AND age_group = 'All ages'"
yoy_sql="SELECT outliers FROM core.v_yoy WHERE authority_code = 'E09000014' AND financial_year = '2023-24'
         AND measure = 'computer_hours' AND age_group = 'All ages'"
it_assert_eq "1" "$(it_psql "$yoy_sql")" "Haringey's change on 2022-23 is shown, resting on the outlier"
trend_flagged=$(it_psql "$trend_sql")
[[ $trend_flagged =~ ^0\|[0-9]+$ ]] || it_fail "Haringey in England's computer hours trend while flagged: $trend_flagged"

start=$(date +%s%N)
it_psql "SELECT count(*) FROM core.v_peer_benchmark" >/dev/null
it_log "core.v_peer_benchmark: $((($(date +%s%N) - start) / 1000000)) ms"

# An operator confirms it (docs/warehouse.md): it counts again.
it_psql "INSERT INTO core.outlier_confirmation (authority_code, measure, period_start, period_end, value, reason)
         VALUES ('E09000014', 'computer_hours', '2024-03-01', '2024-03-31', 2236995718, 'test: confirmed with the service')" >/dev/null
it_assert_eq "true" "$(it_psql "SELECT confirmed::text FROM core.v_outliers WHERE authority_code = 'E09000014'")" "confirmed"
out=$(as_analyst "SELECT count(*) FROM core.outlier_confirmation")
it_assert_eq "1" "$out" "analysts read the confirmations"
out=$(as_analyst "DELETE FROM core.outlier_confirmation") || true
[[ $out == *"permission denied"* ]] || it_fail "an analyst may remove a confirmation: $out"
it_assert_eq "true|0" "$(it_psql "$hy_sql")" "no unconfirmed outlier in Haringey's year"
[[ $(it_psql "$bench_sql") =~ ^[0-9]+\|0$ ]] || it_fail "Haringey not ranked once confirmed: $(it_psql "$bench_sql")"
it_assert_eq "$((peers_flagged + 1))" "$(it_psql "$peers_sql")" "Haringey back among ${X[peer]}'s peers"
it_assert_eq "1|$((${trend_flagged#*|} + 1))" "$(it_psql "$trend_sql")" "and in England's trend (Haringey listed|England's authorities)"

# The value changes: the confirmation was for the old one.
it_psql "UPDATE core.computer_hours SET hours = hours + 1 WHERE authority_code = 'E09000014' AND period_start = '2024-03-01'" >/dev/null
it_assert_eq "false|-|1" "$(it_psql "SELECT confirmed::text FROM core.v_outliers WHERE authority_code = 'E09000014'")|$(it_psql "$bench_sql")" \
    "a new value is flagged again until confirmed"
