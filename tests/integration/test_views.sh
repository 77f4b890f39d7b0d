#!/usr/bin/env bash
# The analyst views of migration 004 (core.v_*) give, for named authorities,
# exactly the values computed independently here, in Python, from the real
# public files in ../shared/fixtures: loans per 1,000, active users under 12
# per 1,000 under-12 residents, year-on-year change, rank among the nearest
# neighbours, bucking the trend, stock turnover, opening hours, service points
# reporting. Quarterly facts never reach the monthly view; a partial year is
# never compared year on year.
#
# Data: the Arts Council 2023-24 activity collection (long form), plus two
# earlier years the test DERIVES from it (periods moved back one and two years;
# counts scaled: most authorities x1.1 in 2022-23 and x1.2 in 2021-22, so
# England falls every year, while the RISERS are scaled x0.9 and x0.8, so they
# rise while England falls; City of London's 2022-23 loans lose a quarter).
# Service-point facts come from the Libraries Hacked schema samples (Barnet
# loans, events, stock; Newcastle and Plymouth visits; Plymouth and Newcastle
# libraries). Reference data through `shelfsync ref load`.
#
# All the data goes in through load_views_data, with COPY into the core
# tables (source 'test', batch 0): replace that one function to load through
# the collectors instead.
source "$(dirname "$0")/lib.sh"
it_setup

ACT=${SS_FIXTURES:-}/activity-2023-24
LDS=${SS_FIXTURES:-}/librarydata-schemas/data
REG=${SS_FIXTURES:-}/libraries-register/libraries.csv
it_need_fixture "$ACT/loans.csv" "$LDS/loans_barnet.csv" "$REG"

CORE_TABLES="core.activity_loans core.activity_visits core.active_users core.activity_events
core.activity_event_attendance core.computer_hours core.wifi_sessions core.click_and_collect
core.loans core.visits core.events core.stock core.service_points"
IT_RESET_TABLES="$CORE_TABLES core.outlier_confirmation ingest.batches ingest.quarantine"
export IT_RESET_TABLES

it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_reset_db

# ---------------------------------------------------------------------------
# Python: writes the COPY input (mode copy) and computes the expected values
# (mode expect) from the same files, without SQL.
cat >"$IT_DIR/views.py" <<'PY'
import csv, datetime as dt, json, os, re, sys
from decimal import Decimal, ROUND_HALF_UP
from fractions import Fraction

ACT, LDS, REG, OUT = sys.argv[2:6]
RISERS = {"E06000001", "E10000016"}          # Hartlepool, Kent
PARTIAL_2022 = "E09000001"                    # City of London: one quarter of 2022-23 loans dropped
BARNET, HARTLEPOOL, KENT, CITY = "E09000003", "E06000001", "E10000016", "E09000001"
NEWCASTLE, PLYMOUTH = "E08000021", "E06000026"
SP_AUTH = {"Barnet": BARNET, "Newcastle City Council": NEWCASTLE, "Plymouth City Council": PLYMOUTH,
           "Plymouth": PLYMOUTH}

def rows(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))

def add_months(d, n):
    y, m = divmod(d.month - 1 + n, 12)
    return dt.date(d.year + y, m + 1, 1)

def period(p):
    start, dur = p.split("/")
    s = dt.date.fromisoformat(start)
    n = {"P1M": 1, "P3M": 3, "P1Y": 12}[dur]
    return s, add_months(s, n) - dt.timedelta(days=1), n

def shift(d, years):
    return d.replace(year=d.year - years)

def scale(code, count, back):
    if back == 0:
        return count
    if code in RISERS:
        return count * (10 - back) // 10
    return count * (10 + back) // 10

# Activity tables: (file, table, columns before the count, count column)
ACTIVITY = [
    ("loans.csv", "core.activity_loans", ["Format", "Content age group"], "format, content_age_group, loans"),
    ("visits.csv", "core.activity_visits", ["Location"], "location, visits"),
    ("users.csv", "core.active_users", ["Age group"], "age_group, users"),
    ("events.csv", "core.activity_events", ["Event type", "Age group"], "event_type, age_group, events"),
    ("event_attendance.csv", "core.activity_event_attendance", ["Event type", "Age group"],
     "event_type, age_group, attendees"),
    ("computers.csv", "core.computer_hours", [], "hours"),
    ("wifi.csv", "core.wifi_sessions", [], "sessions"),
    ("click_and_collect.csv", "core.click_and_collect", [], "interactions"),
]
MEASURE = {"loans.csv": "loans", "visits.csv": "visits", "users.csv": "active_users", "events.csv": "events",
           "event_attendance.csv": "event_attendance", "computers.csv": "computer_hours",
           "wifi.csv": "wifi_sessions", "click_and_collect.csv": "click_and_collect"}

def activity_facts():
    """Yield (file, code, keys, start, end, months, count, fy) for the three years."""
    for fname, _, keys, _ in ACTIVITY:
        seen = set()
        for r in rows(os.path.join(ACT, fname)):
            # The Libraries Hacked converter labels the total_digital_audiobook
            # column "Physical audiobook" (core-dataset.md 2.10): the second
            # row with the same key is the eAudio total.
            k = (r["Authority"], r["Period"], *[r[x] for x in keys])
            if k in seen and fname == "loans.csv" and r["Format"] == "Physical audiobook":
                r["Format"] = "Eaudio"
            seen.add((r["Authority"], r["Period"], *[r[x] for x in keys]))
            s, e, n = period(r["Period"])
            for back in (0, 1, 2):
                if back == 1 and fname == "loans.csv" and r["Authority"] == PARTIAL_2022 \
                        and s == dt.date(2023, 10, 1):
                    continue
                s2 = shift(s, back)
                yield (fname, r["Authority"], [r[k] for k in keys], s2, add_months(s2, n) - dt.timedelta(days=1), n,
                       scale(r["Authority"], int(r["Count"]), back), 2023 - back)

def fy_of(d):
    return d.year if d.month >= 4 else d.year - 1

def hours(text):
    """Canonical hours text and minutes, as the daemon's normaliser stores them."""
    text = (text or "").strip()
    if not text:
        return None, None
    if not re.fullmatch(r"\d\d:\d\d-\d\d:\d\d(,\d\d:\d\d-\d\d:\d\d)*", text):
        return None, None
    total = 0
    for iv in text.split(","):
        a, b = iv.split("-")
        total += (int(b[:2]) * 60 + int(b[3:])) - (int(a[:2]) * 60 + int(a[3:]))
    return text, total

DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

def service_points():
    out = []
    for r in rows(os.path.join(LDS, "libraries_plymouth.csv")):
        out.append((PLYMOUTH, r))
    for r in rows(REG):
        if r["Local authority"] == "Newcastle City Council":
            out.append((NEWCASTLE, r))
    return out

def synthetic_monthly_loans():
    # Three monthly rows of the test's own: the monthly view must show these
    # and nothing of Barnet's quarterly rows.
    return [(BARNET, "Chipping Barnet", "Adult fiction", 1000 + i, dt.date(2019, 10 + i, 1),
             add_months(dt.date(2019, 10 + i, 1), 1) - dt.timedelta(days=1)) for i in range(3)]

def esc(v):
    if v is None:
        return r"\N"
    return str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")

def write(name, recs):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        for rec in recs:
            f.write("\t".join(esc(v) for v in rec) + "\n")

def mode_copy():
    by_table = {}
    for fname, code, keys, s, e, n, count, fy in activity_facts():
        table = next(t for f, t, _, _ in ACTIVITY if f == fname)
        by_table.setdefault(table, []).append([code] + keys + [count, s, e, "test", 0])
    for _, table, _, cols in ACTIVITY:
        write(table + ".tsv", by_table.get(table, []))
    loans = [(BARNET, r["Library name"], r["Type"], int(r["Loans"]), r["Count start"], r["Count end"], "test", 0)
             for r in rows(os.path.join(LDS, "loans_barnet.csv"))]
    loans += [(a, sp, it, n, s, e, "test", 0) for a, sp, it, n, s, e in synthetic_monthly_loans()]
    write("core.loans.tsv", loans)
    visits = []
    for f in ("physical_visits_newcastle.csv", "physical_visits_plymouth.csv"):
        for r in rows(os.path.join(LDS, f)):
            visits.append((SP_AUTH[r["Local authority"]], r["Library name"], r["Count type"], int(r["Visits"]),
                           r["Count start"], r["Count end"], "test", 0))
    write("core.visits.tsv", visits)
    events, seen = [], {}
    for r in rows(os.path.join(LDS, "events_barnet.csv")):
        k = (r["Library name"], r["Event date"], r["Name"])
        seen[k] = seen.get(k, 0) + 1
        events.append((BARNET, r["Library name"], r["Event date"], r["Name"], seen[k], r["Outcome"],
                       int(r["Attendees"]), "test", 0))
    write("core.events.tsv", events)
    write("core.stock.tsv", [(BARNET, r["Library name"], r["Count date"], r["Type"], int(r["Items"]), "test", 0)
                             for r in rows(os.path.join(LDS, "stock_summary_barnet.csv"))])
    sps = []
    for i, (code, r) in enumerate(service_points(), start=1):
        rec = [i, code, r["Library name"], r["Address 1"] or None, r["Address 2"] or None,
               r["Address 3"] or None, r["Postcode"], r.get("Unique property reference number") or None,
               r["Statutory"].strip().lower() == "yes", r["Type of library"],
               r["Year opened"] or None, r["Year closed"] or None]
        for staffing in ("staffed", "unstaffed"):
            for d in DAYS:
                t, m = hours(r.get(f"{d.capitalize()} {staffing} hours"))
                rec += [t, m]
        sps.append(rec + [None, "test", 0])
        if r["Library name"] == "Plymouth Central Library":
            # An older version of the same service point, replaced since.
            old = list(rec)
            old[12:14] = ["09:00-12:00,13:00-17:00", 420]
            sps.append(old + ["2019-01-01 00:00+00", "test", 0])
    write("core.service_points.tsv", sps)

def q(x, places=3):
    """x rounded half away from zero to places decimals, as PostgreSQL's round(numeric)."""
    x = Fraction(x)
    d = Decimal(x.numerator) / Decimal(x.denominator)
    return str(d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))

def percentile_cont(vals, p):
    v = sorted(vals)
    pos = p * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)

def mode_expect():
    E = {}
    # populations
    pop = {}
    for r in rows(os.path.join(ACT, "mye24tablesew.csv")):
        ages = [int(r[str(a)]) for a in range(90)] + [int(r["90+"])]
        pop[r["Code"]] = {"All ages": sum(ages), "Under 12": sum(ages[:12]), "12-17": sum(ages[12:18]),
                          "Adult": sum(ages[18:])}
    # authority x FY x measure totals (All ages) and months
    tot, months = {}, {}
    u12 = {}
    for fname, code, keys, s, e, n, count, fy in activity_facts():
        m = MEASURE[fname]
        k = (code, fy, m)
        tot[k] = tot.get(k, 0) + count
        ms = months.setdefault(k, set())
        d = s
        while d <= e:
            ms.add((d.year, d.month))
            d = add_months(d, 1)
        if fname == "users.csv" and keys[0] == "Under 12":
            u12[(code, fy)] = u12.get((code, fy), 0) + count
    complete = lambda k: len(months.get(k, ())) == 12
    per1000 = lambda code, fy, m: Fraction(tot[(code, fy, m)] * 1000, pop[code]["All ages"])

    E["barnet_loans_per_1000"] = q(per1000(BARNET, 2023, "loans"))
    E["kent_visits_per_1000"] = q(per1000(KENT, 2023, "visits"))
    E["hartlepool_u12_users_per_1000"] = q(Fraction(u12[(HARTLEPOOL, 2023)] * 1000, pop[HARTLEPOOL]["Under 12"]))
    E["city_u12_users_per_1000"] = q(Fraction(u12[(CITY, 2023)] * 1000, pop[CITY]["Under 12"]))

    def yoy(code, m, fy=2023):
        a, b = tot[(code, fy, m)], tot[(code, fy - 1, m)]
        return f"{a}|{b}|{a - b}|{q(Fraction(100 * (a - b), b))}"
    E["kent_loans_yoy"] = yoy(KENT, "loans")
    E["barnet_visits_yoy"] = yoy(BARNET, "visits")
    E["city_loans_months_2022"] = str(len(months[(CITY, 2022, "loans")]))

    # a natural partial reporter of 2023-24 loans
    partial = sorted(c for (c, fy, m) in tot if fy == 2023 and m == "loans" and not complete((c, fy, m)))
    E["partial_code"] = partial[0]
    E["partial_months"] = str(len(months[(partial[0], 2023, "loans")]))

    # peers: Barnet loans per 1,000 in 2023-24 among its 15 nearest neighbours
    nn = {}
    for r in rows(os.path.join(ACT, "localauthoritynearestneighboursengland.csv")):
        nn[r["Upper tier local authority code"]] = [r[f"Neighbour {i}"] for i in range(1, 16)]
    def peers(code, m, fy=2023):
        me = per1000(code, fy, m)
        vals = [per1000(c, fy, m) for c in nn[code] if (c, fy, m) in tot and complete((c, fy, m)) and c in pop]
        rank = 1 + sum(1 for v in vals if v > me)
        return (f"{rank}|{len(vals) + 1}|{q(percentile_cont(vals, Fraction(1, 2)))}|"
                f"{q(percentile_cont(vals, Fraction(1, 4)))}|{q(percentile_cont(vals, Fraction(3, 4)))}")
    E["barnet_loans_peers"] = peers(BARNET, "loans")
    E["hartlepool_visits_peers"] = peers(HARTLEPOOL, "visits")

    # England: authorities complete in both years
    def england(m, fy=2023):
        a = b = 0
        for (c, y, mm) in tot:
            if y == fy and mm == m and c.startswith("E") and complete((c, fy, m)) and complete((c, fy - 1, m)):
                a += tot[(c, fy, m)]
                b += tot[(c, fy - 1, m)]
        return q(Fraction(100 * (a - b), b))
    E["england_loans_change_pct"] = england("loans")
    E["england_visits_change_pct_2022"] = england("visits", 2022)

    # services.csv published totals, to cross-check the year view
    svc = rows(os.path.join(ACT, "services.csv"))
    E["services_loans_checked"] = str(sum(1 for r in svc if r["Loans"]))

    # service points
    sps = service_points()
    for code, r in sps:
        if r["Library name"] == "Crownhill Library":
            E["crownhill_staffed_hours"] = q(Fraction(sum(hours(r[f"{d.capitalize()} staffed hours"])[1] or 0
                                                          for d in DAYS), 60), 2)
    open_now = [r["Library name"] for code, r in sps if code == PLYMOUTH and not r["Year closed"]]
    E["plymouth_open"] = str(len(open_now))
    # Newcastle 2019-20: open service points and those with full visit counts
    def key(name):
        return re.sub(r"\s+library$", "", name.strip(), flags=re.I).lower()
    open_ncl = {key(r["Library name"]) for code, r in sps if code == NEWCASTLE
                and (not r["Year opened"] or int(r["Year opened"]) <= 2020)
                and (not r["Year closed"] or int(r["Year closed"]) >= 2019)}
    rep = set()
    for r in rows(os.path.join(LDS, "physical_visits_newcastle.csv")):
        s, e = dt.date.fromisoformat(r["Count start"]), dt.date.fromisoformat(r["Count end"])
        whole = s.day == 1 and (e + dt.timedelta(days=1)).day == 1
        if whole and fy_of(s) == 2019 and fy_of(e) == 2019 and key(r["Library name"]) in open_ncl:
            rep.add(key(r["Library name"]))
    E["newcastle_sp_visits_2019"] = f"{len(open_ncl)}|{len(rep)}"
    samples = [r for f in ("physical_visits_newcastle.csv", "physical_visits_plymouth.csv")
               for r in rows(os.path.join(LDS, f))
               if not (r["Count start"].endswith("-01") and
                       (dt.date.fromisoformat(r["Count end"]) + dt.timedelta(days=1)).day == 1)]
    E["visit_samples"] = str(len(samples))
    # stock turnover: Barnet Adult fiction 2019-20
    # Turnover is over the service points with a stock count: the loans of
    # the others are left out, and counted.
    stocked = {key(r["Library name"]) for r in rows(os.path.join(LDS, "stock_summary_barnet.csv"))
               if r["Type"] == "Adult fiction"}
    af = [(r["Library name"], int(r["Loans"])) for r in rows(os.path.join(LDS, "loans_barnet.csv"))
          if r["Type"] == "Adult fiction"]
    af += [(sp, n) for a, sp, it, n, s, e in synthetic_monthly_loans() if it == "Adult fiction"]
    l = sum(n for sp, n in af if key(sp) in stocked)
    lw = sum(n for sp, n in af if key(sp) not in stocked)
    nw = len({key(sp) for sp, n in af if key(sp) not in stocked})
    i = sum(int(r["Items"]) for r in rows(os.path.join(LDS, "stock_summary_barnet.csv"))
            if r["Type"] == "Adult fiction")
    E["barnet_adult_fiction_turnover"] = f"{l}|{i}|{q(Fraction(l, i))}|{lw}|{nw}|{'false' if nw else 'true'}"
    E["monthly_loans"] = "|".join([str(len(synthetic_monthly_loans())),
                                   str(sum(x[3] for x in synthetic_monthly_loans()))])
    ev = rows(os.path.join(LDS, "events_barnet.csv"))
    E["barnet_events_2018_01"] = "%d|%d" % (
        sum(1 for r in ev if r["Event date"].startswith("2018-01")),
        sum(int(r["Attendees"]) for r in ev if r["Event date"].startswith("2018-01")))
    for k, v in E.items():
        print(f"{k}={v}")

{"copy": mode_copy, "expect": mode_expect}[sys.argv[1]]()
PY

# load_views_data: fill the reference data and the core tables the views read.
load_views_data() {
    local t cols
    it_log "shelfsync ref load authorities, populations, neighbours"
    "$SS_BIN_DIR/shelfsync" ref load authorities "$ACT/library_authorities.json" --config "$IT_DAEMON_CONFIG" >>"$IT_DIR/ref.log" 2>&1 ||
        { cat "$IT_DIR/ref.log"; it_fail "ref load authorities failed"; }
    "$SS_BIN_DIR/shelfsync" ref load populations "$ACT/mye24tablesew.csv" --config "$IT_DAEMON_CONFIG" >>"$IT_DIR/ref.log" 2>&1 ||
        { cat "$IT_DIR/ref.log"; it_fail "ref load populations failed"; }
    "$SS_BIN_DIR/shelfsync" ref load neighbours "$ACT/localauthoritynearestneighboursengland.csv" --config "$IT_DAEMON_CONFIG" >>"$IT_DIR/ref.log" 2>&1 ||
        { cat "$IT_DIR/ref.log"; it_fail "ref load neighbours failed"; }

    mkdir -p "$IT_DIR/copy"
    ss_python "$IT_DIR/views.py" copy "$ACT" "$LDS" "$REG" "$IT_DIR/copy" || it_fail "views.py copy failed"
    declare -A columns=(
        [core.activity_loans]="authority_code, format, content_age_group, loans, period_start, period_end, source, batch_id"
        [core.activity_visits]="authority_code, location, visits, period_start, period_end, source, batch_id"
        [core.active_users]="authority_code, age_group, users, period_start, period_end, source, batch_id"
        [core.activity_events]="authority_code, event_type, age_group, events, period_start, period_end, source, batch_id"
        [core.activity_event_attendance]="authority_code, event_type, age_group, attendees, period_start, period_end, source, batch_id"
        [core.computer_hours]="authority_code, hours, period_start, period_end, source, batch_id"
        [core.wifi_sessions]="authority_code, sessions, period_start, period_end, source, batch_id"
        [core.click_and_collect]="authority_code, interactions, period_start, period_end, source, batch_id"
        [core.loans]="authority_code, service_point, item_type, loans, period_start, period_end, source, batch_id"
        [core.visits]="authority_code, service_point, count_type, visits, period_start, period_end, source, batch_id"
        [core.events]="authority_code, service_point, event_date, name, occurrence, main_outcome, attendees, source, batch_id"
        [core.stock]="authority_code, service_point, count_date, item_type, items, source, batch_id"
    )
    local sp_cols="service_point_id, authority_code, name, address_1, address_2, address_3, postcode, uprn, statutory, library_type, year_opened, year_closed" d s
    for s in staffed unstaffed; do
        for d in monday tuesday wednesday thursday friday saturday sunday; do
            sp_cols+=", ${d}_${s}, ${d}_${s}_minutes"
        done
    done
    columns[core.service_points]="$sp_cols, valid_to, source, batch_id"
    for t in $CORE_TABLES; do
        cols=${columns[$t]}
        it_psql "COPY $t ($cols) FROM STDIN" <"$IT_DIR/copy/$t.tsv" || it_fail "COPY into $t failed"
    done
    it_psql "SELECT setval('core.service_points_id_seq', (SELECT max(service_point_id) FROM core.service_points))" >/dev/null
    # The old version of Plymouth Central Library was replaced a while ago.
    it_psql "UPDATE core.service_points SET valid_from = '2018-06-01' WHERE valid_to IS NOT NULL" >/dev/null
    it_psql "ANALYZE $(echo $CORE_TABLES | tr ' ' ',')" >/dev/null
    it_log "loaded: $(it_psql "SELECT string_agg(t || ' ' || n, ', ') FROM (
        SELECT 'activity_loans' t, count(*) n FROM core.activity_loans UNION ALL
        SELECT 'loans', count(*) FROM core.loans UNION ALL SELECT 'visits', count(*) FROM core.visits UNION ALL
        SELECT 'events', count(*) FROM core.events UNION ALL SELECT 'service_points', count(*) FROM core.service_points) x")"
}

# Every view answers on empty tables.
for v in $(it_psql "SELECT table_name FROM information_schema.views WHERE table_schema = 'core' ORDER BY 1"); do
    it_psql "SELECT count(*) FROM core.$v" >/dev/null || it_fail "core.$v fails on empty tables"
done
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM core.v_authority_year")" "empty warehouse, empty year view"

# Every view and every column of it is documented.
it_assert_eq "" "$(it_psql "SELECT string_agg(c.relname, ', ') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'core' AND c.relkind = 'v' AND obj_description(c.oid, 'pg_class') IS NULL")" "views without a comment"
it_assert_eq "" "$(it_psql "SELECT string_agg(c.relname || '.' || a.attname, ', ') FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
    WHERE n.nspname = 'core' AND c.relkind = 'v' AND col_description(c.oid, a.attnum) IS NULL")" "view columns without a comment"
it_assert_eq "" "$(it_psql "SELECT string_agg(DISTINCT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, NULL), ', ')
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
    WHERE n.nspname = 'core' AND c.relkind = 'v'
      AND format_type(a.atttypid, NULL) NOT IN ('text', 'date', 'integer', 'bigint', 'numeric', 'boolean',
          'time without time zone', 'timestamp with time zone')")" "view columns of types a BI tool might not read"

load_views_data

# The published return has outliers (core.v_outliers), which the derived
# years copy; test_views_truth tests the flags. Here they are confirmed, so
# the ranks and trends below are those of the plain rules.
it_log "outliers flagged: $(it_psql "SELECT count(*) || ' (' || coalesce(string_agg(DISTINCT measure, ', '), '') || ')' FROM core.v_outliers")"
it_psql "INSERT INTO core.outlier_confirmation (authority_code, measure, breakdown, age_group, service_point, period_start,
             period_end, value, reason)
         SELECT authority_code, measure, breakdown, age_group, service_point, period_start, period_end, value, 'test_views'
         FROM core.v_outliers" >/dev/null
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM core.v_outliers WHERE NOT confirmed")" "every outlier confirmed"

declare -A X
while IFS='=' read -r k v; do X[$k]=$v; done < <(ss_python "$IT_DIR/views.py" expect "$ACT" "$LDS" "$REG" "$IT_DIR/copy")
((${#X[@]} > 10)) || it_fail "views.py expect gave no values"

pv() { # pv AUTHORITY FY MEASURE AGE -> per_1000 rounded to 3
    it_psql "SELECT round(per_1000, 3) FROM core.v_authority_per_1000 WHERE authority_code = '$1'
             AND financial_year = '$2' AND measure = '$3' AND age_group = '$4'"
}

# --- per 1,000 --------------------------------------------------------------
it_assert_eq "${X[barnet_loans_per_1000]}" "$(pv E09000003 2023-24 loans 'All ages')" "Barnet loans per 1,000, 2023-24"
it_assert_eq "${X[kent_visits_per_1000]}" "$(pv E10000016 2023-24 visits 'All ages')" "Kent visits per 1,000, 2023-24"
it_assert_eq "${X[hartlepool_u12_users_per_1000]}" "$(pv E06000001 2023-24 active_users 'Under 12')" \
    "Hartlepool active users under 12 per 1,000 under-12 residents"
it_assert_eq "${X[city_u12_users_per_1000]}" "$(pv E09000001 2023-24 active_users 'Under 12')" \
    "City of London active users under 12 per 1,000 under-12 residents"
it_assert_eq "2024" "$(it_psql "SELECT DISTINCT population_mid_year FROM core.v_authority_per_1000 WHERE financial_year = '2023-24'")" \
    "2023-24 uses the mid-2024 estimate"
it_assert_eq "2024" "$(it_psql "SELECT DISTINCT population_mid_year FROM core.v_authority_per_1000 WHERE financial_year = '2021-22'")" \
    "2021-22 falls back to the nearest estimate loaded"
it_assert_eq "Barnet" "$(it_psql "SELECT authority_name FROM core.v_authority_per_1000 WHERE authority_code = 'E09000003' LIMIT 1")" \
    "names in words next to codes"

# The year view reproduces the published per-service totals (services.csv).
it_psql "SELECT authority_code || ',' || value FROM core.v_authority_year
    WHERE financial_year = '2023-24' AND measure = 'loans' AND age_group = 'All ages'" >"$IT_DIR/year_loans.csv"
# (the heredoc outside the assertion's quotes: tests/tools/shell_commands.py
# reads it as one, so its Python is not taken for commands)
checked=$(ss_python - "$ACT/services.csv" "$IT_DIR/year_loans.csv" <<'PY'
import csv, sys
got = dict(line.strip().split(",") for line in open(sys.argv[2]) if line.strip())
svc = [r for r in csv.DictReader(open(sys.argv[1], encoding="utf-8-sig")) if r["Loans"]]
print(f"{len(svc)}|{sum(1 for r in svc if got.get(r['Authority code']) != r['Loans'])}")
PY
)
it_assert_eq "${X[services_loans_checked]}|0" "$checked" "2023-24 loans equal services.csv for every service with loans (checked|mismatches)"

# --- completeness and year on year ------------------------------------------
it_assert_eq "${X[kent_loans_yoy]}" "$(it_psql "SELECT value || '|' || previous_value || '|' || change || '|' || round(change_pct, 3)
    FROM core.v_yoy WHERE authority_code = 'E10000016' AND financial_year = '2023-24' AND measure = 'loans' AND age_group = 'All ages'")" \
    "Kent loans 2023-24 on 2022-23 (value|previous|change|%)"
it_assert_eq "${X[barnet_visits_yoy]}" "$(it_psql "SELECT value || '|' || previous_value || '|' || change || '|' || round(change_pct, 3)
    FROM core.v_yoy WHERE authority_code = 'E09000003' AND financial_year = '2023-24' AND measure = 'visits' AND age_group = 'All ages'")" \
    "Barnet visits 2023-24 on 2022-23"
it_assert_eq "${X[city_loans_months_2022]}|false" "$(it_psql "SELECT months_reported || '|' || complete FROM core.v_authority_year
    WHERE authority_code = 'E09000001' AND financial_year = '2022-23' AND measure = 'loans' AND age_group = 'All ages'")" \
    "City of London 2022-23 loans: a quarter missing"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM core.v_yoy WHERE authority_code = 'E09000001' AND measure = 'loans'
    AND financial_year IN ('2022-23', '2023-24')")" "an incomplete year is never compared"
it_assert_eq "1" "$(it_psql "SELECT count(*) FROM core.v_yoy WHERE authority_code = 'E09000001' AND measure = 'visits'
    AND financial_year = '2023-24' AND age_group = 'All ages'")" "its complete measures are"
partial=${X[partial_code]}
it_assert_eq "${X[partial_months]}|false" "$(it_psql "SELECT months_reported || '|' || complete FROM core.v_authority_year
    WHERE authority_code = '$partial' AND financial_year = '2023-24' AND measure = 'loans' AND age_group = 'All ages'")" \
    "$partial reported fewer than 12 months of 2023-24 loans"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM core.v_yoy WHERE authority_code = '$partial' AND measure = 'loans'
    AND financial_year = '2023-24'")" "$partial absent from v_yoy for loans 2023-24"
it_assert_eq "true||" "$(it_psql "SELECT partial_reporter || '|' || coalesce(rank::text, '') || '|' || coalesce(ranked_of::text, '')
    FROM core.v_peer_benchmark WHERE authority_code = '$partial' AND financial_year = '2023-24' AND measure = 'loans' AND age_group = 'All ages'")" \
    "$partial flagged, not ranked"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM core.v_yoy y JOIN core.v_authority_year a
    ON a.authority_code = y.authority_code AND a.measure = y.measure AND a.age_group = y.age_group
   AND a.financial_year IN (y.financial_year, y.previous_financial_year) WHERE NOT a.complete")" \
    "no v_yoy row rests on an incomplete year"

# --- peers ------------------------------------------------------------------
peer_sql() {
    it_psql "SELECT rank || '|' || ranked_of || '|' || round(peer_median, 3) || '|' || round(peer_lower_quartile, 3)
                    || '|' || round(peer_upper_quartile, 3)
             FROM core.v_peer_benchmark WHERE authority_code = '$1' AND financial_year = '2023-24'
              AND measure = '$2' AND age_group = 'All ages'"
}
it_assert_eq "${X[barnet_loans_peers]}" "$(peer_sql E09000003 loans)" \
    "Barnet loans per 1,000 among its 15 nearest neighbours (rank|of|median|lower|upper)"
it_assert_eq "${X[hartlepool_visits_peers]}" "$(peer_sql E06000001 visits)" "Hartlepool visits per 1,000 among its neighbours"

# --- bucking the trend -------------------------------------------------------
it_assert_eq "true|2|${X[england_loans_change_pct]}" "$(it_psql "SELECT bucking || '|' || consecutive_years || '|' || round(england_change_pct, 3)
    FROM core.v_bucking_trend WHERE authority_code = 'E06000001' AND financial_year = '2023-24' AND measure = 'loans' AND age_group = 'All ages'")" \
    "Hartlepool loans rise while England falls, two years running"
it_assert_eq "true|1|${X[england_visits_change_pct_2022]}" "$(it_psql "SELECT bucking || '|' || consecutive_years || '|' || round(england_change_pct, 3)
    FROM core.v_bucking_trend WHERE authority_code = 'E10000016' AND financial_year = '2022-23' AND measure = 'visits' AND age_group = 'All ages'")" \
    "Kent visits 2022-23: bucking, first year"
it_assert_eq "false|0" "$(it_psql "SELECT bucking || '|' || consecutive_years FROM core.v_bucking_trend
    WHERE authority_code = 'E09000003' AND financial_year = '2023-24' AND measure = 'loans' AND age_group = 'All ages'")" \
    "Barnet loans follow England down"

# --- service points -----------------------------------------------------------
it_assert_eq "${X[monthly_loans]}" "$(it_psql "SELECT count(*) || '|' || sum(loans) FROM core.v_monthly_service_point WHERE loans IS NOT NULL")" \
    "only the monthly loans rows reach the monthly view"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM core.v_monthly_service_point
    WHERE authority_code = 'E09000003' AND loans IS NOT NULL AND service_point <> 'Chipping Barnet'")" \
    "none of Barnet's $(it_psql "SELECT count(*) FROM core.loans WHERE period_end - period_start > 31") quarterly loans rows in any month"
it_assert_eq "56660|0" "$(it_psql "SELECT visits || '|' || visit_samples FROM core.v_monthly_service_point
    WHERE authority_code = 'E08000021' AND service_point = 'City' AND month = '2019-01-01'")" "a full monthly visit count"
it_assert_eq "|2" "$(it_psql "SELECT coalesce(visits::text, '') || '|' || visit_samples FROM core.v_monthly_service_point
    WHERE authority_code = 'E06000026' AND service_point = 'Central' AND month = '2019-02-01'")" "February samples counted, not summed"
it_assert_eq "${X[visit_samples]}" "$(it_psql "SELECT count(*) FROM core.v_visit_samples")" "every sample in v_visit_samples"
it_assert_eq "741.63" "$(it_psql "SELECT visits_per_day FROM core.v_visit_samples WHERE service_point = 'Central' AND period_start = '2019-02-12'")" \
    "visits per day of a sample (5933 over 8 days, both ends counted)"
it_assert_eq "${X[barnet_events_2018_01]}" "$(it_psql "SELECT sum(events) || '|' || sum(event_attendees) FROM core.v_monthly_service_point
    WHERE authority_code = 'E09000003' AND month = '2018-01-01'")" "Barnet events and attendees in January 2018"
it_assert_eq "${X[newcastle_sp_visits_2019]}" "$(it_psql "SELECT service_points_open || '|' || service_points_reporting FROM core.v_authority_year
    WHERE authority_code = 'E08000021' AND financial_year = '2019-20' AND measure = 'service_point_visits' AND age_group = 'All ages'")" \
    "Newcastle 2019-20: open service points, those reporting full visit counts"
it_assert_eq "9|false" "$(it_psql "SELECT months_reported || '|' || complete FROM core.v_authority_year
    WHERE authority_code = 'E09000003' AND financial_year = '2019-20' AND measure = 'service_point_loans' AND age_group = 'All ages'")" \
    "Barnet's loans: two quarters and three single months, 9 months reported"
it_assert_eq "${X[barnet_adult_fiction_turnover]}" "$(it_psql "SELECT loans || '|' || items || '|' || turnover || '|' || loans_without_stock
        || '|' || service_points_without_stock || '|' || complete FROM core.v_stock_turnover
    WHERE authority_code = 'E09000003' AND financial_year = '2019-20' AND item_type = 'Adult fiction'")" \
    "Barnet Adult fiction stock turnover 2019-20, over the branches with stock (loans|items|turnover|loans left out|branches left out|complete)"
it_assert_eq "${X[crownhill_staffed_hours]}" "$(it_psql "SELECT staffed_hours_per_week FROM core.v_service_points_current WHERE name = 'Crownhill Library'")" \
    "Crownhill Library staffed hours per week"
it_assert_eq "${X[plymouth_open]}" "$(it_psql "SELECT count(*) FROM core.v_service_points_current WHERE authority_code = 'E06000026' AND open")" \
    "Plymouth libraries open now"
it_assert_eq "08:30:00-18:00:00" "$(it_psql "SELECT string_agg(opens || '-' || closes, ',' ORDER BY interval_number) FROM core.v_opening_hours
    WHERE name = 'Plymouth Central Library' AND current_version AND weekday = 'Monday' AND staffing = 'Staffed'")" "current Monday hours"
it_assert_eq "09:00:00-12:00:00,13:00:00-17:00:00|420" "$(it_psql "SELECT string_agg(opens || '-' || closes, ',' ORDER BY interval_number) || '|' || sum(minutes)
    FROM core.v_opening_hours WHERE name = 'Plymouth Central Library' AND NOT current_version AND weekday = 'Monday' AND staffing = 'Staffed'")" \
    "the replaced version's Monday: two intervals"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM core.v_service_points_current sp
    WHERE staffed_hours_per_week IS DISTINCT FROM (SELECT round(sum(minutes) / 60.0, 2) FROM core.v_opening_hours o
          WHERE o.service_point_id = sp.service_point_id AND o.current_version AND o.staffing = 'Staffed')")" \
    "weekly hours agree with the intervals"

# --- plans: seconds, not minutes ---------------------------------------------
for v in $(it_psql "SELECT table_name FROM information_schema.views WHERE table_schema = 'core' ORDER BY 1"); do
    start=$(date +%s%N)
    it_psql "SELECT count(*) FROM core.$v" >/dev/null
    ms=$((($(date +%s%N) - start) / 1000000))
    it_log "core.$v: $ms ms on the full fixture data"
    ((ms < 60000)) || it_fail "core.$v took $ms ms"
done
