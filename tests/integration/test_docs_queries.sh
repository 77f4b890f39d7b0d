#!/usr/bin/env bash
# Every ```sql block of docs/warehouse.md's section "Questions and the SQL
# that answers them" runs, as an analyst (shelfsync_analyst, where the role
# exists), against a warehouse loaded with real data, returns rows, and the
# figures it gives for named authorities equal a Python computation of its
# own from the fixture files:
#   * the published 2023-24 activity return (raw/, loaded through the shipped
#     configs as test_activity_return loads it), the ONS files through
#     `shelfsync ref load authorities|populations|neighbours`;
#   * Barnet's per-library loans and stock (librarydata-schemas) through the
#     csv collector, for stock turnover;
#   * for bucking the trend, which needs two years, a 2022-23 DERIVED here
#     from the 2023-24 visits: each fact moved back a year, its count x1.1
#     (England falls), but Barnsley's and Kent's x0.9 (they rise).
# The checks: Barnsley's loans per 1,000 (both neighbour-group queries);
# England's under-12 share of active users and the City of London's; the
# risers' change in visits, bucking; Barnet's 2019-20 adult fiction turnover.
source "$(dirname "$0")/lib.sh"
it_setup
F="$SS_FIXTURES/activity-2023-24"
LDS="$SS_FIXTURES/librarydata-schemas/data"
raw="$F/raw/libraries_activity_data_2023_2024.csv"
it_need_fixture "$raw" "$F/library_authorities.json" "$F/mye24tablesew.csv" \
    "$F/localauthoritynearestneighboursengland.csv" "$F/loans.csv" "$LDS/loans_barnet.csv" "$LDS/stock_summary_barnet.csv"
it_activity_return_setup "$raw" core.loans core.stock core.outlier_confirmation core.source_values
for kind in populations:mye24tablesew.csv neighbours:localauthoritynearestneighboursengland.csv; do
    "$SS_BIN_DIR/shelfsync" ref load "${kind%%:*}" "$F/${kind#*:}" --config "$IT_DAEMON_CONFIG" >>"$IT_DIR/ref.log" 2>&1 ||
        it_fail "shelfsync ref load ${kind%%:*} failed (see ref.log)"
done
it_activity_return_load

it_log "Barnet's per-library loans and stock, through the csv collector"
it_http_start "$LDS"
for s in loans:loans_barnet.csv stock:stock_summary_barnet.csv; do
    it_collector_config "$IT_DIR/barnet-${s%%:*}.json" "barnet-${s%%:*}" "http://127.0.0.1:$IT_HTTP_PORT/${s#*:}" \
        "\"dataset\": \"${s%%:*}\""
    it_collect "$IT_DIR/barnet-${s%%:*}.json" || it_fail "barnet-${s%%:*}: the collector failed"
done
it_assert_eq 0 "$(it_psql "SELECT count(*) FROM ingest.quarantine")" "nothing quarantined"
it_daemon_stop

it_log "a 2022-23 derived from the 2023-24 visits (x1.1; Barnsley and Kent x0.9)"
it_psql "INSERT INTO core.activity_visits (authority_code, location, visits, period_start, period_end, source, batch_id, loaded_at)
         SELECT authority_code, location,
                CASE WHEN authority_code IN ('E08000016', 'E10000016') THEN visits * 9 / 10 ELSE visits * 11 / 10 END,
                (period_start - interval '1 year')::date,
                (date_trunc('month', period_end - interval '1 year') + interval '1 month' - interval '1 day')::date,
                source, batch_id, loaded_at
         FROM core.activity_visits WHERE period_start >= '2023-04-01'" >/dev/null

it_log "the section's sql blocks"
ss_python - "$SS_SOURCE_DIR/docs/warehouse.md" "$IT_DIR/q" <<'PY' >"$IT_DIR/blocks.txt" || it_fail "cannot read the section: $(cat "$IT_DIR/blocks.txt")"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"^## Questions and the SQL that answers them\n(.*?)(?=^## )", text, re.S | re.M)
if not m:
    print("no section \"Questions and the SQL that answers them\""); sys.exit(1)
blocks = re.findall(r"^```sql\n(.*?)^```", m.group(1), re.S | re.M)
for i, b in enumerate(blocks, 1):
    open(f"{sys.argv[2]}{i}.sql", "w").write(b)
print(len(blocks))
PY
n=$(cat "$IT_DIR/blocks.txt")
it_assert_eq 6 "$n" "sql blocks in the section"
role=""
[[ $(it_psql "SELECT count(*) FROM pg_roles WHERE rolname = 'shelfsync_analyst'") == 1 ]] &&
    it_psql "GRANT shelfsync_analyst TO CURRENT_USER" >/dev/null 2>&1 && role="SET ROLE shelfsync_analyst;"
it_log "running them ${role:+as shelfsync_analyst}"
for i in $(seq 1 "$n"); do
    { printf '%s\n' "$role"; cat "$IT_DIR/q$i.sql"; } >"$IT_DIR/run$i.sql"
    "$SS_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 --csv -h "$SS_PGHOST" -p "$SS_PGPORT" -U "$SS_PGUSER" \
        -d "$SS_PGDATABASE" -f "$IT_DIR/run$i.sql" >"$IT_DIR/q$i.csv" 2>"$IT_DIR/q$i.err" ||
        it_fail "block $i failed: $(cat "$IT_DIR/q$i.err") -- $(head -3 "$IT_DIR/q$i.sql")"
    rows=$(($(wc -l <"$IT_DIR/q$i.csv") - 1))
    ((rows > 0)) || it_fail "block $i returned no rows: $(head -3 "$IT_DIR/q$i.sql")"
    it_log "ok: block $i: $rows rows"
done
[[ -z $role ]] || it_psql "REVOKE shelfsync_analyst FROM CURRENT_USER" >/dev/null

it_log "figures against Python, from the fixture files"
ss_python - "$F" "$LDS" "$raw" "$IT_DIR/q" <<'PY' >"$IT_DIR/figures.txt" || it_fail "$(cat "$IT_DIR/figures.txt")"
import csv, datetime as dt, json, sys
from decimal import Decimal, ROUND_HALF_UP
from fractions import Fraction
F, LDS, RAW, Q = sys.argv[1:]
def rows(p):
    return list(csv.DictReader(open(p, encoding="utf-8-sig", newline="")))
def r1(x, places="0.1"):
    """PostgreSQL's round() of an exact fraction: half away from zero."""
    return str((Decimal(x.numerator) / Decimal(x.denominator)).quantize(Decimal(places), rounding=ROUND_HALF_UP))
pop = {}
for r in rows(f"{F}/mye24tablesew.csv"):
    ages = {int(k.rstrip("+")): int(v) for k, v in r.items() if k.rstrip("+").isdigit()}
    pop[r["Code"]] = {"All ages": int(r["All ages"]), "Under 12": sum(v for a, v in ages.items() if a < 12),
                      "12-17": sum(v for a, v in ages.items() if 12 <= a <= 17),
                      "Adult": sum(v for a, v in ages.items() if a >= 18)}
out = [list(csv.DictReader(open(f"{Q}{i}.csv", newline=""))) for i in range(1, 7)]
bad = 0
def check(what, want, got):
    global bad
    ok = want == got
    bad += not ok
    print(("ok  " if ok else "FAIL"), f"{what}: want {want}, got {got}")

# 1, 2: Barnsley's loans per 1,000, from the published long form (its rows
# there are the raw return's) over the ONS mid-2024 population
BARNSLEY = "E08000016"
loans = sum(int(r["Count"]) for r in rows(f"{F}/loans.csv") if r["Authority"] == BARNSLEY)
want = r1(Fraction(loans * 1000, pop[BARNSLEY]["All ages"]))
got = [r["loans_per_1000"] for r in out[0] if r["authority_code"] == BARNSLEY]
check("1: Barnsley's loans per 1,000 in its group", [want], got)
check("1: the group is Barnsley and 15 neighbours", 16, len(out[0]))
group = {r["Upper tier local authority code"]: [r[f"Neighbour {i}"] for i in range(1, 16)]
         for r in rows(f"{F}/localauthoritynearestneighboursengland.csv")}[BARNSLEY] + [BARNSLEY]
lending = {r["Authority"] for r in rows(f"{F}/loans.csv")}
check("1: the members with no loans in the return have no figure (not 0)",
      sorted(c for c in group if c not in lending), sorted(r["authority_code"] for r in out[0] if r["loans_per_1000"] == ""))
check("2: Barnsley's loans per 1,000 beside its peers' quartiles", [want], [r["loans_per_1000"] for r in out[1]])

# 3: England's under-12 share, from the raw return: the band where a service gave it
names = {}
for a in json.load(open(f"{F}/library_authorities.json")):
    names[a["nice_name"]] = names[a["name"]] = a["code"]
users = n = residents = 0
for r in rows(RAW):
    code = names[r["authority"]]
    v = r["active_members_11_under"].strip()
    if v and code in pop:
        users += int(v); residents += pop[code]["Under 12"]; n += 1
got = [(r["authorities"], r["active_users"], r["residents"], r["pct_of_residents"]) for r in out[2] if r["age_group"] == "Under 12"]
check("3: England's active users under 12, their residents and share", [(str(n), str(users), str(residents), r1(Fraction(users * 100, residents)))], got)

# 4: the City of London's under-12 share, from the published users.csv
CITY = "E09000001"
u = [int(r["Count"]) for r in rows(f"{F}/users.csv") if r["Authority"] == CITY and r["Age group"] == "Under 12"]
got = [r["pct_of_residents"] for r in out[3] if r["authority_name"] == "City of London" and r["age_group"] == "Under 12"]
check("4: City of London's under-12 share", [r1(Fraction(u[0] * 1000, pop[CITY]["Under 12"]) / 10)], got)

# 5: the risers' change in visits: 2023-24 from the published visits.csv, 2022-23 as derived
for code, name in (("E08000016", "Barnsley"), ("E10000016", "Kent")):
    v = [int(r["Count"]) for r in rows(f"{F}/visits.csv") if r["Authority"] == code]
    now, before = sum(v), sum(c * 9 // 10 for c in v)
    got = [(r["previous_value"], r["value"], r["change_pct"]) for r in out[4] if r["authority_name"] == name]
    check(f"5: {name} bucks the trend in visits", [(str(before), str(now), r1(Fraction((now - before) * 100, before)))], got)
check("5: England fell", True, all(Decimal(r["england_change_pct"]) < 0 for r in out[4]))

# 6: Barnet's 2019-20 adult fiction turnover: loans at the libraries with a
# count, over their latest count on or before 31 March 2020
def sp(name):
    n = name.strip().lower()
    return n[: -len(" library")] if n.endswith(" library") else n
stock = {}
for r in rows(f"{LDS}/stock_summary_barnet.csv"):
    if r["Type"] == "Adult fiction" and r["Count date"] <= "2020-03-31":
        k = sp(r["Library name"])
        if k not in stock or r["Count date"] > stock[k][0]:
            stock[k] = (r["Count date"], int(r["Items"]))
lent = {}
for r in rows(f"{LDS}/loans_barnet.csv"):
    if r["Type"] == "Adult fiction" and r["Count start"] >= "2019-04-01" and r["Count end"] <= "2020-03-31":
        lent[sp(r["Library name"])] = lent.get(sp(r["Library name"]), 0) + int(r["Loans"])
l = sum(v for k, v in lent.items() if k in stock)
i = sum(stock[k][1] for k in lent if k in stock)
got = [(r["loans"], r["items"], r["turnover"]) for r in out[5] if r["financial_year"] == "2019-20" and r["item_type"] == "Adult fiction"]
check("6: Barnet's adult fiction turnover, 2019-20", [(str(l), str(i), r1(Fraction(l, i), "0.001"))], got)
sys.exit(1 if bad else 0)
PY
cat "$IT_DIR/figures.txt"
it_log "ok: $(grep -c '^ok' "$IT_DIR/figures.txt") figures equal Python's"
