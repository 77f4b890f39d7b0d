#!/usr/bin/env bash
# core.v_bucking_characteristics (migration 016) and `shelfsync trends`: for
# the services bucking England's trend in visits, each characteristic's
# figure, the neighbours' median, n and the ratio equal an independent Python
# computation from the fixture files, and the thin-data rule holds.
#
# Data (report_data.sh): the real 2023-24 activity return, reference data and
# register, plus a CRAFTED 2022-23 of visits only (the fixtures hold one
# year; bucking needs two): most authorities x 1.1, the risers x 0.9.
#
# Python computes from the files: populations (mye24), the 15 nearest
# neighbours, each authority's 2023-24 events, attendance, computer hours and
# Wi-Fi sessions (the raw return's cells, bands before totals, as
# test_activity_return.sh), service points open in 2023-24 and their weekly
# hours, per 1,000 / per 100,000, the neighbours' medians, ratios and the
# thin rule. Three things it takes from the warehouse, as inputs: which
# authorities buck the trend (core.v_bucking_trend, tested by test_views.sh),
# which activity years are complete and free of unconfirmed outliers
# (core.v_authority_per_1000's complete and outliers, tested by test_views.sh
# and test_views_truth.sh), and the register's service points as loaded
# (core.service_points current versions: which register rows are one library
# -- the register repeats some -- is the loader's matching, tested by
# test_service_point_history.sh and test_load_fixtures.sh).
#
# Always too thin with these fixtures: stock per capita (core.stock holds
# nothing here: no stock file of an English authority beside Barnet's sample,
# not loaded) and paid staff per 1,000 (no workforce data is published in the
# fixtures): the service's own figure is missing for every one.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/report_data.sh"
it_setup
rd_load
rd_load_crafted

n=$(it_psql "SELECT count(*) FROM core.v_bucking_trend WHERE financial_year = '2023-24' AND measure = 'visits' AND age_group = 'All ages' AND bucking")
((n >= 5)) || it_fail "expected at least 5 services bucking the trend in visits, got $n"
it_log "$n services buck the trend in visits 2023-24"
it_assert_eq "$((n * 8))" "$(it_psql "SELECT count(*) FROM core.v_bucking_characteristics WHERE financial_year = '2023-24' AND measure = 'visits' AND age_group = 'All ages'")" \
    "eight characteristics per bucking service"

it_psql "SELECT authority_code FROM core.v_bucking_trend WHERE financial_year = '2023-24' AND measure = 'visits'
           AND age_group = 'All ages' AND bucking" >"$IT_DIR/bucking.txt"
it_psql "SELECT authority_code || '|' || measure || '|' || (complete AND outliers = 0) FROM core.v_authority_per_1000
           WHERE financial_year = '2023-24' AND age_group = 'All ages'" >"$IT_DIR/usable.txt"
it_psql "SELECT DISTINCT authority_code FROM core.v_quarantine_counts WHERE dataset = 'service_points'
           AND outstanding_records > 0 AND NOT exact_repeat AND authority_code IS NOT NULL" >"$IT_DIR/reg-quarantined.txt"

m="monday tuesday wednesday thursday friday saturday sunday"
cols=$(for x in $m; do printf '%s_staffed_minutes,%s_unstaffed_minutes,' "$x" "$x"; done)
sum=$(for x in $m; do printf 'coalesce(%s_staffed_minutes, 0) + coalesce(%s_unstaffed_minutes, 0) + ' "$x" "$x"; done)
it_psql "SELECT authority_code || '|' || coalesce(year_opened::text, '') || '|' || coalesce(year_closed::text, '') || '|' ||
                coalesce(status, '') || '|' || num_nonnulls(${cols%,}) || '|' ||
                (${sum% + })
         FROM core.service_points WHERE valid_to IS NULL" >"$IT_DIR/register.txt"
ss_python - "$RAW" "$ACT" "$REG" "$SS_SOURCE_DIR/daemon/ref/authority_aliases.csv" "$IT_DIR" <<'PY' | sort >"$IT_DIR/want.txt" ||
import csv, json, os, re, sys
from decimal import Decimal, ROUND_HALF_UP
from fractions import Fraction
raw, act, reg, aliases, d = sys.argv[1:]
def rows(p):
    return list(csv.DictReader(open(p, encoding="utf-8-sig", newline="")))
def q(x, places):
    x = Fraction(x)
    return str((Decimal(x.numerator) / Decimal(x.denominator)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))
def median(v):
    v = sorted(v); n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
def key(name):  # names match ignoring case and spacing, as the daemon resolves them
    return " ".join(name.split()).lower()
auth = json.load(open(os.path.join(act, "library_authorities.json")))
code_of = {}
for a in auth:
    code_of[key(a["name"])] = a["code"]; code_of[key(a["nice_name"])] = a["code"]
for r in rows(aliases):
    code_of[key(r["alias"])] = r["code"]
pop = {r["Code"]: int(r["All ages"]) for r in rows(os.path.join(act, "mye24tablesew.csv"))}
nn = {r["Upper tier local authority code"]: [r[f"Neighbour {i}"] for i in range(1, 16)]
      for r in rows(os.path.join(act, "localauthoritynearestneighboursengland.csv"))}
usable = {}
for l in open(os.path.join(d, "usable.txt")).read().split():
    c, m, ok = l.split("|"); usable[(c, m)] = ok in ("t", "true")
regq = set(open(os.path.join(d, "reg-quarantined.txt")).read().split())
bucking = open(os.path.join(d, "bucking.txt")).read().split()
# Activity totals per authority from the raw return: per month, the bands' cells, else the total's.
M = ["april", "may", "june", "july", "august", "september", "october", "november", "december", "january", "february", "march"]
groups = {
    "events": [(f"total_{t}_events_{{m}}", [f"{t}_events_{a}_{{m}}" for a in ("adults", "11_under", "12_17", "all_ages")]) for t in ("physical", "digital")],
    "event_attendance": [(f"total_attendees_{t}_events_{{m}}", [f"{t}_attendees_{a}_{{m}}" for a in ("adults", "11_under", "12_17")]) for t in ("physical", "digital")],
    "computer_hours": [(None, ["hours_public_computers_{m}"])],
    "wifi_sessions": [(None, ["wifi_sessions_{m}"])],
}
def v(r, c):
    x = r[c].strip(); return int(x) if x else None
val = {}
for r in rows(raw):
    code = code_of[key(r["authority"])]
    for ms, gs in groups.items():
        total, anyc = 0, False
        for tot, bands in gs:
            for m in M:
                b = [x for x in (v(r, c.format(m=m)) for c in bands) if x is not None]
                if not b and tot and v(r, tot.format(m=m)) is not None:
                    b = [v(r, tot.format(m=m))]
                total += sum(b); anyc |= bool(b)
        if anyc:
            val[(code, ms)] = total
# The register: the service points the warehouse holds (current versions;
# which register rows are one library is the loader's matching, tested by
# test_service_point_history.sh), open at some time in 2023-24; the hours of
# those not closed, from their minutes.
sp = {}
for l in open(os.path.join(d, "register.txt")).read().split("\n"):
    if not l:
        continue
    code, yo, yc, status, given, mins = l.split("|")
    if (yo and int(yo) > 2024) or (yc and int(yc) < 2023):
        continue
    s = sp.setdefault(code, [0, 0, 0, 0])  # points, not closed, without hours, minutes
    s[0] += 1
    if status != "Closed":
        s[1] += 1
        s[2] += given == "0"
        s[3] += int(mins)
def figure(code, ch):
    """(value as Fraction or None, complete)"""
    if code not in pop:
        return None, None
    p = pop[code]
    if ch in ("events", "event_attendance", "computer_hours", "wifi_sessions"):
        if (code, ch) not in val:
            return None, None
        return Fraction(1000 * val[(code, ch)], p), usable.get((code, ch), False)
    if code not in sp:
        return None, None
    pts, nc, noh, mins = sp[code]
    if ch == "service_points":
        return Fraction(100000 * pts, p), code not in regq
    if nc <= noh:
        return None, noh == 0 and code not in regq
    return Fraction(1000 * mins, 60 * p), noh == 0 and code not in regq
for code in bucking:
    for ch in ("opening_hours", "service_points", "events", "event_attendance", "computer_hours", "wifi_sessions"):
        me, ok = figure(code, ch)
        peers = []
        for n in nn.get(code, []):
            pv, pok = figure(n, ch)
            if pv is not None and pok:
                peers.append(Fraction(q(pv, 6)))
        med = median(peers) if peers else None
        thin = not (me is not None and ok and len(peers) >= 5 and med > 0)
        ratio = "" if thin else q(Fraction(q(me, 6)) / Fraction(q(med, 6)), 3)
        print("|".join([code, ch, "" if me is None else q(me, 6), str(len(peers)),
                        "" if med is None else q(med, 6), ratio, "t" if thin else "f"]))
    for ch in ("stock_per_capita", "workforce_per_1000"):
        print("|".join([code, ch, "", "0", "", "", "t"]))
PY
    it_fail "the Python computation failed"
it_psql "SELECT authority_code || '|' || regexp_replace(characteristic, '_per_(1000|100000)$', '') || '|' ||
                coalesce(value::text, '') || '|' || peers_with_figure || '|' || coalesce(peer_median::text, '') || '|' ||
                coalesce(ratio_to_peer_median::text, '') || '|' || CASE WHEN too_thin THEN 't' ELSE 'f' END
         FROM core.v_bucking_characteristics
         WHERE financial_year = '2023-24' AND measure = 'visits' AND age_group = 'All ages'" |
    sed -E 's/\|workforce\|/|workforce_per_1000|/' | sort >"$IT_DIR/got.txt"
diff "$IT_DIR/want.txt" "$IT_DIR/got.txt" >"$IT_DIR/diff.txt" ||
    it_fail "the view differs from Python (want < > got): $(head -20 "$IT_DIR/diff.txt")"
it_log "ok: $(wc -l <"$IT_DIR/want.txt") (service, characteristic) figures equal Python's"
ratios=$(it_psql "SELECT count(*) FROM core.v_bucking_characteristics WHERE NOT too_thin AND financial_year = '2023-24' AND measure = 'visits'")
((ratios > 0)) || it_fail "no characteristic has a ratio: the test proves nothing"
it_log "$ratios ratios stand; $(it_psql "SELECT count(*) FROM core.v_bucking_characteristics WHERE too_thin AND financial_year = '2023-24' AND measure = 'visits'") too thin"

it_log "the thin rule: every too-thin row says why, no ratio; every ratio rests on 5 or more neighbours"
it_assert_eq 0 "$(it_psql "SELECT count(*) FROM core.v_bucking_characteristics
                            WHERE too_thin <> (note IS NOT NULL) OR (too_thin AND ratio_to_peer_median IS NOT NULL)
                               OR (NOT too_thin AND (peers_with_figure < 5 OR NOT value_complete))")" "the rule holds"
it_assert_eq "too thin: the service's own figure is missing" \
    "$(it_psql "SELECT DISTINCT note FROM core.v_bucking_characteristics WHERE characteristic IN ('stock_per_capita', 'workforce_per_1000')")" \
    "stock and workforce: always too thin with these fixtures"

it_log "the summary: median of the services' ratios"
ss_python - "$IT_DIR/got.txt" <<'PY' >"$IT_DIR/want-summary.txt"
import sys
from decimal import Decimal, ROUND_HALF_UP
by = {}
for l in open(sys.argv[1]).read().split("\n"):
    if l:
        c, ch, v, n, med, ratio, thin = l.split("|")
        by.setdefault(ch, []).append(Decimal(ratio) if ratio else None)
for ch in sorted(by):
    r = sorted(x for x in by[ch] if x is not None)
    m = "" if not r else (r[len(r) // 2] if len(r) % 2 else (r[len(r) // 2 - 1] + r[len(r) // 2]) / 2).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    print(f"{ch}|{len(by[ch])}|{len(r)}|{m}|{sum(1 for x in r if x > 1)}|{'t' if len(r) < 5 else 'f'}")
PY
it_psql "SELECT regexp_replace(characteristic, '_per_(1000|100000)$', '') || '|' || bucking_services || '|' || services_compared || '|' ||
                coalesce(median_ratio::text, '') || '|' || services_above_peers || '|' || CASE WHEN too_thin THEN 't' ELSE 'f' END
         FROM core.v_bucking_characteristics_summary WHERE financial_year = '2023-24' AND measure = 'visits' AND age_group = 'All ages'" |
    sed -E 's/^workforce\|/workforce_per_1000|/' | sort >"$IT_DIR/got-summary.txt"
diff "$IT_DIR/want-summary.txt" "$IT_DIR/got-summary.txt" >"$IT_DIR/diff-summary.txt" ||
    it_fail "the summary differs (want < > got): $(cat "$IT_DIR/diff-summary.txt")"

it_log "shelfsync trends: JSON and text say what the view says"
"$SS_BIN_DIR/shelfsync" trends --measure visits --year 2023-24 --json --config "$IT_DAEMON_CONFIG" >"$IT_DIR/trends.json" ||
    it_fail "shelfsync trends --json failed"
it_assert_eq "$n" "$(ss_python -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["services"]))' "$IT_DIR/trends.json")" "trends --json lists every bucking service"
it_assert_eq "$((n * 8))" "$(ss_python -c 'import json,sys; print(sum(len(s["characteristics"]) for s in json.load(open(sys.argv[1]))["services"]))' "$IT_DIR/trends.json")" "eight characteristics each"
"$SS_BIN_DIR/shelfsync" trends --measure visits --config "$IT_DAEMON_CONFIG" >"$IT_DIR/trends.txt" || it_fail "shelfsync trends failed"
grep -q "too thin: the service's own figure is missing" "$IT_DIR/trends.txt" || it_fail "trends text does not say where the data are too thin"
grep -q "What they have in common" "$IT_DIR/trends.txt" || it_fail "trends text has no summary"
kent=$(it_psql "SELECT ratio_to_peer_median FROM core.v_bucking_characteristics WHERE authority_code = 'E10000016' AND financial_year = '2023-24' AND measure = 'visits' AND characteristic = 'service_points_per_100000'")
[[ -z $kent ]] || grep -q "Service points per 100,000 residents .* $(printf '%.2f' "$kent")  " "$IT_DIR/trends.txt" ||
    it_fail "trends text: Kent's service points ratio $kent not shown: $(grep -A9 E10000016 "$IT_DIR/trends.txt")"
st=0
"$SS_BIN_DIR/shelfsync" trends --measure visits --year 2023 --config "$IT_DAEMON_CONFIG" 2>"$IT_DIR/err.txt" || st=$?
it_assert_eq 2 "$st" "a bad --year is a usage error"
grep -q 'expected a financial year' "$IT_DIR/err.txt" || it_fail "no reason given for a bad --year"
st=0
"$SS_BIN_DIR/shelfsync" trends --config "$IT_DAEMON_CONFIG" 2>/dev/null || st=$?
it_assert_eq 2 "$st" "--measure is required"
it_daemon_stop
