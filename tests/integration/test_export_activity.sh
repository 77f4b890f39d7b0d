#!/usr/bin/env bash
# `shelfsync export --activity-return` writes the Arts Council activity return
# of some authorities from the warehouse in the published long form
# (activity-2023-24/*.csv): the published return (raw/, one row per
# authority) is loaded as test_activity_return does, then exported for the
# City of London (quarters), Norfolk (years), Coventry (loans and visits for
# 8 months), Barking and Dagenham (computer hours for 6), Rotherham (Wi-Fi for
# 5) and Hartlepool (every month), and checked:
#   * the eight files, named and headed as the published ones;
#   * every row is a cell (or a quarter's or year's cell) of the raw return,
#     with its value: nothing summed, nothing invented; a month not reported
#     has no row, and no Count is empty;
#   * the rows are the published long form's for those authorities, after
#     the normalisations below, and where the published long form and the
#     raw return disagree, the rows differ exactly as listed in "disagree"
#     below, each with its reason (docs/warehouse.md, "The activity return");
#   * the combined file (no --out; --out FILE.csv) holds the same rows;
#     --authority all exports every fact of the year;
#   * a fact running across the year's end is left out and said; an unknown
#     authority writes nothing and exits 1; a bad year exits 2.
source "$(dirname "$0")/lib.sh"
it_setup
F="$SS_FIXTURES/activity-2023-24"
raw="$F/raw/libraries_activity_data_2023_2024.csv"
it_need_fixture "$raw" "$F/library_authorities.json" "$F/loans.csv"
it_activity_return_setup "$raw"
tables=$IT_ACTIVITY_TABLES
it_activity_return_load
it_daemon_stop

auths=E09000001,E10000020,E08000026,E09000002,E08000018,E06000001
ss=("$SS_BIN_DIR/shelfsync" export --activity-return --year 2023-24 --config "$IT_DAEMON_CONFIG")

it_log "export to a directory: one file per measure"
st=0
"${ss[@]}" --authority "$auths" --out "$IT_DIR/return" >"$IT_DIR/export.out" 2>"$IT_DIR/export.err" || st=$?
((st == 0)) || it_fail "export --out DIR: exit $st: $(tail -3 "$IT_DIR/export.err")"
for f in loans users events event_attendance visits computers wifi click_and_collect; do
    [[ -f $IT_DIR/return/$f.csv ]] || it_fail "no $f.csv written"
    cmp -s <(head -1 "$F/$f.csv" | sed 's/^\xef\xbb\xbf//') <(head -1 "$IT_DIR/return/$f.csv") ||
        it_fail "$f.csv: not the published header (CRLF): $(head -1 "$IT_DIR/return/$f.csv" | od -c | head -3)"
done
it_log "ok: the eight files with the published headers and line ends"
it_assert_eq 8 "$(ls "$IT_DIR/return" | wc -l)" "eight files, nothing else"
grep -q "^  loans  *8 of 12 months reported, NOT complete: 4 months not reported" "$IT_DIR/export.err" ||
    it_fail "the summary does not say Coventry's loans have 4 months not reported: $(grep -A3 E08000026 "$IT_DIR/export.err")"
it_log "ok: the summary says which months are not reported"

it_log "every row is a cell of the raw return, with its value; nothing empty, nothing invented"
ss_python - "$raw" "$IT_DIR/return" "$auths" <<'PY' >"$IT_DIR/raw-check.txt" || it_fail "$(tail -20 "$IT_DIR/raw-check.txt")"
import csv, json, sys
raw, out, auths = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
names = {}
for a in json.load(open(sys.argv[1].rsplit("/raw/", 1)[0] + "/library_authorities.json")):
    names[a.get("code") or a.get("gss-code") or a.get("gss_code")] = a
M = ["april", "may", "june", "july", "august", "september", "october", "november", "december",
     "january", "february", "march"]
AGE = {"Adult": "adult", "Under 12": "11_under", "12-17": "12_17", "All ages": "all_ages"}
def cols(measure, bd, age):
    """The raw columns (with {m} for the month) a row of measure can come from."""
    a = AGE.get(age)
    if measure == "loans":
        band, tot = {"Physical book": ("loans_{a}_{m}", "total_physical_book_issues_{m}"),
                     "Physical audiobook": ("loans_{a}_{m}_digital", "total_physical_audiobook_issues_{m}"),
                     "Ebook": ("ebooks_{a}_{m}", "total_ebook_issues_{m}"),
                     "Eaudio": ("digital_audiobook_issues_{a}_{m}", "total_digital_audiobook_issues_{m}")}[bd]
        return [tot] if age == "Unknown" else [band.replace("{a}", a)]
    if measure in ("events", "event_attendance"):
        t = bd.lower()
        if measure == "events":
            return [f"total_{t}_events_{{m}}"] if age == "Unknown" else [f"{t}_events_{'adults' if a == 'adult' else a}_{{m}}"]
        return [f"total_attendees_{t}_events_{{m}}"] if age == "Unknown" else [f"{t}_attendees_{'adults' if a == 'adult' else a}_{{m}}"]
    if measure == "visits":
        return [{"Library": "physical_visits_no_colocation_{m}", "Shared building": "physical_visits_colocation_{m}",
                 "Mobile library": "mobile_libraries_{m}", "Home delivery": "home_delivery_{m}"}[bd]]
    return [{"computers": "hours_public_computers_{m}", "wifi": "wifi_sessions_{m}",
             "click_and_collect": "click_and_collect_{m}"}[measure]]
rows = {}
for r in csv.DictReader(open(raw, encoding="utf-8-sig", newline="")):
    rows[r["authority"]] = r
# the raw file names authorities in words: find each code's row by the warehouse's own names
byname = {}
for code in auths:
    a = names.get(code) or {}
    for k in ("nice_name", "nice-name", "name", "official-name", "official_name"):
        if a.get(k) in rows:
            byname[code] = rows[a[k]]
missing = [c for c in auths if c not in byname]
if missing:
    print("cannot find the raw rows of", missing, "(library_authorities.json keys:", list(next(iter(names.values())).keys()), ")")
    sys.exit(1)
bad = n = 0
for measure in ["loans", "users", "events", "event_attendance", "visits", "computers", "wifi", "click_and_collect"]:
    for r in csv.DictReader(open(f"{out}/{measure}.csv", newline="")):
        n += 1
        code, period, count = r["Authority"], r["Period"], r["Count"]
        if not count.isdigit():
            print("not a count:", measure, r); bad += 1; continue
        src = byname[code]
        start, dur = period.split("/")
        if measure == "users":
            col = {"Adult": "active_members_adults", "Under 12": "active_members_11_under",
                   "12-17": "active_members_12_17", "Unknown": "total_active_members"}[r["Age group"]]
            ok = dur == "P1Y" and src[col].strip() == count
        else:
            bd = r.get("Format") or r.get("Event type") or r.get("Location")
            age = r.get("Content age group") or r.get("Age group")
            i = (int(start[5:7]) - 4) % 12  # the period's first month, 0 = April
            last = {"P1M": [i], "P3M": [i + 2], "P1Y": [0, 11]}[dur]  # entered in the period's last month (a year: April or March)
            ok = any(src[c.format(m=M[k])].strip() == count for c in cols(measure, bd, age) for k in last)
        if not ok:
            print("not in the raw return:", measure, dict(r)); bad += 1
print(f"{n} rows checked against the raw return, {bad} wrong")
sys.exit(1 if bad or n == 0 else 0)
PY
it_log "ok: $(tail -1 "$IT_DIR/raw-check.txt")"

it_log "the rows are the published long form's, but where it and the raw return disagree (listed)"
# Normalisations, applied to the published rows before comparing:
#  1. order: rows are compared as sorted lists (the export orders by
#     authority, breakdown, age group and period; the published files by the
#     raw file's row and column order);
#  2. visits: the published converter labels physical_visits_no_colocation
#     "Shared building" and physical_visits_colocation "Library" (Hartlepool's
#     April: 1,352 in physical_visits_no_colocation_april is "Shared
#     building" there): swapped back;
#  3. loans: it labels the eAudio totals (total_digital_audiobook_issues_*)
#     "Physical audiobook": such a row is compared as Eaudio when the export
#     has the Eaudio total of the same authority, period and count;
#  4. events and attendance: it never reads the total columns
#     (total_physical_events_*, total_attendees_*_events_*), so the export's
#     rows of age group Unknown (a total where no band is given) are not in it:
#     they are left out of this comparison (the raw check above covers them).
# Every other difference is listed in "disagree" (< only published, > only
# the export) and must be exactly that.
ss_python - "$F" "$IT_DIR/return" "$auths" <<'PY' >"$IT_DIR/residual.txt" || it_fail "cannot compare with the published long form"
import collections, csv, sys
fx, out, auths = sys.argv[1], sys.argv[2], set(sys.argv[3].split(","))
SWAP = {"Library": "Shared building", "Shared building": "Library"}
for m in ["loans", "users", "events", "event_attendance", "visits", "computers", "wifi", "click_and_collect"]:
    theirs = [r for r in csv.reader(open(f"{fx}/{m}.csv", encoding="utf-8-sig", newline=""))][1:]
    ours = [r for r in csv.reader(open(f"{out}/{m}.csv", newline=""))][1:]
    theirs = [r for r in theirs if r[0] in auths]
    if m == "visits":
        theirs = [[r[0], SWAP.get(r[1], r[1])] + r[2:] for r in theirs]
    if m in ("events", "event_attendance"):
        ours = [r for r in ours if r[2] != "Unknown"]
    t = collections.Counter(map(tuple, theirs))
    o = collections.Counter(map(tuple, ours))
    if m == "loans":
        for r in list(t):
            e = (r[0], "Eaudio") + r[2:]
            if r[1] == "Physical audiobook" and r[2] == "Unknown" and o[e] and not o[r]:
                n = min(t[r], o[e])
                t[r] -= n
                t[e] += n
    for r in sorted((t - o).elements()):
        print("<", m, ",".join(r))
    for r in sorted((o - t).elements()):
        print(">", m, ",".join(r))
PY
# Where the published long form and the raw return disagree, for these
# authorities (docs/warehouse.md, "The activity return", says why):
cat <<'EOF' | grep -v '^#' >"$IT_DIR/disagree.txt"
# Coventry gives, for April to November, both the physical book (and
# audiobook) total and its age bands in each month. The published long form
# keeps the total as well as the bands -- the month counted twice -- because
# its converter uses a format's totals whenever the March cell of its adult
# band is empty; the warehouse keeps the bands only (a total is read only
# where no band of its month is given).
< loans E08000026,Physical audiobook,Unknown,2023-04-01/P1M,465
< loans E08000026,Physical audiobook,Unknown,2023-05-01/P1M,654
< loans E08000026,Physical audiobook,Unknown,2023-06-01/P1M,533
< loans E08000026,Physical audiobook,Unknown,2023-07-01/P1M,459
< loans E08000026,Physical audiobook,Unknown,2023-08-01/P1M,615
< loans E08000026,Physical audiobook,Unknown,2023-09-01/P1M,475
< loans E08000026,Physical audiobook,Unknown,2023-10-01/P1M,412
< loans E08000026,Physical audiobook,Unknown,2023-11-01/P1M,914
< loans E08000026,Physical book,Unknown,2023-04-01/P1M,42821
< loans E08000026,Physical book,Unknown,2023-05-01/P1M,44591
< loans E08000026,Physical book,Unknown,2023-06-01/P1M,39886
< loans E08000026,Physical book,Unknown,2023-07-01/P1M,46182
< loans E08000026,Physical book,Unknown,2023-08-01/P1M,54135
< loans E08000026,Physical book,Unknown,2023-09-01/P1M,45028
< loans E08000026,Physical book,Unknown,2023-10-01/P1M,46894
< loans E08000026,Physical book,Unknown,2023-11-01/P1M,45934
# The City of London reports quarterly, in each quarter's last month; its
# 12-17 physical audiobook loans have one cell, June's 2. The published form
# calls it June (P1M); the warehouse, reading a quarterly return, the
# quarter April-June (P3M).
< loans E09000001,Physical audiobook,12-17,2023-06-01/P1M,2
> loans E09000001,Physical audiobook,12-17,2023-04-01/P3M,2
# Norfolk: February's eAudio total (174,793) is given beside its bands
# (139,214 adult, 35,579 under 12); the published form keeps the total too
# (labelled Physical audiobook), the warehouse the bands only.
< loans E10000020,Physical audiobook,Unknown,2024-02-01/P1M,174793
EOF
diff <(sort "$IT_DIR/disagree.txt") <(sort "$IT_DIR/residual.txt") >"$IT_DIR/residual.diff" ||
    it_fail "the export and the published long form differ otherwise than listed (- listed, + found): $(head -40 "$IT_DIR/residual.diff")"
it_log "ok: the same rows as the published long form, but the $(grep -c . "$IT_DIR/disagree.txt") listed"

it_log "the combined long file: standard output, and --out FILE.csv, hold the same rows"
st=0
"${ss[@]}" --authority "$auths" >"$IT_DIR/combined.csv" 2>"$IT_DIR/combined.err" || st=$?
it_assert_eq 0 "$st" "export to standard output"
"${ss[@]}" --authority "$auths" --out "$IT_DIR/sub/combined.csv" 2>"$IT_DIR/combined-file.err" ||
    it_fail "export --out FILE.csv: $(tail -3 "$IT_DIR/combined-file.err")"
cmp -s "$IT_DIR/combined.csv" "$IT_DIR/sub/combined.csv" || it_fail "--out FILE.csv differs from standard output"
ss_python - "$IT_DIR/combined.csv" "$IT_DIR/return" <<'PY' >"$IT_DIR/combined-check.txt" || it_fail "$(tail -5 "$IT_DIR/combined-check.txt")"
import collections, csv, sys
comb = list(csv.DictReader(open(sys.argv[1], newline="")))
assert list(comb[0].keys()) == ["Measure", "Authority", "Breakdown", "Age group", "Period", "Count"], comb[0].keys()
got = collections.Counter((r["Measure"], r["Authority"], r["Breakdown"], r["Age group"], r["Period"], r["Count"]) for r in comb)
want = collections.Counter()
for m in ["loans", "users", "events", "event_attendance", "visits", "computers", "wifi", "click_and_collect"]:
    for r in csv.DictReader(open(f"{sys.argv[2]}/{m}.csv", newline="")):
        bd = r.get("Format") or r.get("Event type") or r.get("Location") or ""
        age = r.get("Content age group") or r.get("Age group") or ""
        want[(m, r["Authority"], bd, age, r["Period"], r["Count"])] += 1
print(f"{sum(got.values())} combined rows, {sum(want.values())} in the files; {sum((got - want).values())} only combined, {sum((want - got).values())} only in the files")
sys.exit(0 if got == want else 1)
PY
it_log "ok: $(cat "$IT_DIR/combined-check.txt")"

it_log "--authority all: every fact of the year"
"${ss[@]}" --authority all --out "$IT_DIR/all.csv" 2>"$IT_DIR/all.err" || it_fail "export --authority all: $(tail -3 "$IT_DIR/all.err")"
q=""
for t in $tables; do q+="${q:+ + }(SELECT count(*) FROM $t WHERE period_start >= '2023-04-01' AND period_end <= '2024-03-31')"; done
it_assert_eq "$(it_psql "SELECT $q")" "$(($(wc -l <"$IT_DIR/all.csv") - 1))" "rows of --authority all = the year's facts"

it_log "a fact running across the end of the year is left out, and said"
it_psql "INSERT INTO core.computer_hours (authority_code, hours, period_start, period_end, source, batch_id, loaded_at)
         SELECT authority_code, 99, '2024-03-01', '2024-04-30', source, batch_id, now()
         FROM core.computer_hours WHERE authority_code = 'E06000001' LIMIT 1" >/dev/null
"${ss[@]}" --authority E06000001 >"$IT_DIR/straddle.csv" 2>"$IT_DIR/straddle.err" || it_fail "export: $(tail -3 "$IT_DIR/straddle.err")"
grep -q "core.computer_hours: 1 facts run across an end of 2023-24" "$IT_DIR/straddle.err" ||
    it_fail "the straddling fact is not said: $(head -3 "$IT_DIR/straddle.err")"
it_assert_eq 0 "$(grep -c ',99\r\?$' "$IT_DIR/straddle.csv" || true)" "the straddling fact is not exported"
it_assert_eq "$(grep -c '^computers,E06000001,' "$IT_DIR/combined.csv")" \
    "$(grep -c '^computers,' "$IT_DIR/straddle.csv")" "Hartlepool's computer hours as before"

it_log "errors: an unknown authority writes nothing (exit 1); a bad year or no authority is a usage error (exit 2)"
st=0
"${ss[@]}" --authority E09000001,E99999999 --out "$IT_DIR/none" 2>"$IT_DIR/unknown.err" || st=$?
it_assert_eq 1 "$st" "unknown authority: exit 1"
grep -q "no authority E99999999 in ref.authority" "$IT_DIR/unknown.err" || it_fail "the error does not name the code: $(cat "$IT_DIR/unknown.err")"
[[ ! -e $IT_DIR/none ]] || it_fail "an export with an unknown authority wrote $IT_DIR/none"
st=0
"$SS_BIN_DIR/shelfsync" export --activity-return --authority E09000001 --year 2023-2024 \
    --config "$IT_DAEMON_CONFIG" 2>"$IT_DIR/year.err" || st=$?
it_assert_eq 2 "$st" "bad --year: exit 2"
grep -q -- '--year "2023-2024": expected a financial year such as 2023-24' "$IT_DIR/year.err" || it_fail "$(cat "$IT_DIR/year.err")"
st=0
"${ss[@]}" 2>"$IT_DIR/noauth.err" || st=$?
it_assert_eq 2 "$st" "no --authority: exit 2"
st=0
"${ss[@]}" --authority E09000001x 2>"$IT_DIR/badcode.err" || st=$?
it_assert_eq 1 "$st" "a malformed code: exit 1"
grep -q 'not a GSS code' "$IT_DIR/badcode.err" || it_fail "$(cat "$IT_DIR/badcode.err")"
