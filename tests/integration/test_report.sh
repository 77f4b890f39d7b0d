#!/usr/bin/env bash
# `shelfsync report`: one self-contained HTML page for a real authority from
# the 2023-24 activity data (report_data.sh: the activity return, reference
# data, the register). Headless Chromium prints it to PDF (a file with
# pages), dumps the rendered DOM and takes a screenshot. Every figure the page
# shows (data-source, data-measure, data-field, data-value) equals the
# warehouse's view, shown rounded as the page rounds; nothing external is
# referenced (no http(s):// in src or href, no <script>); an authority name
# with & and < is escaped. Then with a crafted 2022-23 of visits (as
# test_bucking_characteristics.sh) the bucking section shows the figures of
# core.v_bucking_characteristics.
#
# SS_REPORT_SCREENSHOT=PATH copies the screenshot there (docs/report-example.png
# is made so).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/report_data.sh"
it_setup
it_need_tool chromium
rd_load
AUTH=${SS_REPORT_AUTHORITY:-E10000016} # Kent

chrome() {
    HOME="$IT_DIR/home" timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
        --user-data-dir="$IT_DIR/chrome" --disable-extensions --disable-background-networking \
        --hide-scrollbars "$@" 2>>"$IT_DIR/chromium.log"
}
mkdir -p "$IT_DIR/home"

# check_page HTML DOM: the figures in DOM against the views.
check_page() {
    local html=$1 dom=$2
    grep -qi '<script' "$html" && it_fail "$html has a <script>"
    ss_python - "$dom" <<'PY' >"$IT_DIR/refs.txt" || it_fail "external references in the page: $(cat "$IT_DIR/refs.txt")"
import re, sys
s = open(sys.argv[1], encoding="utf-8").read()
bad = re.findall(r'(?:src|href)\s*=\s*["\']?\s*(?:https?:)?//[^"\' >]*', s, re.I) + re.findall(r'<script', s, re.I) \
    + re.findall(r'url\(\s*["\']?(?:https?:)?//', s, re.I) + re.findall(r'@import', s, re.I)
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
    # Every traced figure: source|measure|field|data-value|shown text.
    ss_python - "$dom" <<'PY' >"$IT_DIR/figures.txt"
import html.parser, sys
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.cur = None; self.out = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "span" and "data-source" in a:
            self.cur = [a["data-source"], a["data-measure"], a["data-field"], a["data-value"], ""]
    def handle_data(self, d):
        if self.cur is not None:
            self.cur[4] += d
    def handle_endtag(self, tag):
        if tag == "span" and self.cur is not None:
            self.out.append(self.cur); self.cur = None
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
for f in p.out:
    print("|".join(f))
PY
    (($(wc -l <"$IT_DIR/figures.txt") >= 30)) || it_fail "too few traced figures in the page: $(wc -l <"$IT_DIR/figures.txt")"
}

# want SQL: the view's values as source|measure|field|value lines.
it_log "render the report for $AUTH, 2023-24"
"$SS_BIN_DIR/shelfsync" report --authority "$AUTH" --year 2023-24 --out "$IT_DIR/report.html" --config "$IT_DAEMON_CONFIG" ||
    it_fail "shelfsync report failed"
chrome --dump-dom "file://$IT_DIR/report.html" >"$IT_DIR/dom.html" || it_fail "chromium --dump-dom failed: $(tail -5 "$IT_DIR/chromium.log")"
grep -q '<svg' "$IT_DIR/dom.html" || it_fail "the rendered page has no chart"
check_page "$IT_DIR/report.html" "$IT_DIR/dom.html"

it_log "the page's figures equal the views'"
it_psql "
  WITH m(measure) AS (VALUES ('loans'), ('visits'), ('active_users'), ('event_attendance'), ('computer_hours'), ('wifi_sessions')),
  p AS (SELECT * FROM core.v_authority_per_1000 WHERE age_group = 'All ages' AND financial_year = '2023-24'),
  b AS (SELECT * FROM core.v_peer_benchmark WHERE authority_code = '$AUTH' AND age_group = 'All ages' AND financial_year = '2023-24'),
  e AS (SELECT measure, round(1000.0 * sum(value) / sum(population), 6) AS per_1000 FROM p
        WHERE authority_code LIKE 'E%' AND complete AND outliers = 0 AND population > 0 GROUP BY measure)
  SELECT 'core.v_authority_per_1000|' || m.measure || '|per_1000|' || coalesce(p.per_1000::text, '') FROM m LEFT JOIN p ON p.authority_code = '$AUTH' AND p.measure = m.measure
  UNION ALL SELECT 'core.v_peer_benchmark|' || m.measure || '|peer_median|' || coalesce(b.peer_median::text, '') FROM m LEFT JOIN b USING (measure)
  UNION ALL SELECT 'core.v_peer_benchmark|' || m.measure || '|peers_reporting|' || coalesce(b.peers_reporting::text, '') FROM m LEFT JOIN b USING (measure)
  UNION ALL SELECT 'core.v_authority_per_1000|' || m.measure || '|england_per_1000|' || coalesce(e.per_1000::text, '') FROM m LEFT JOIN e USING (measure)
  UNION ALL SELECT 'core.v_peer_benchmark|' || measure || '|rank|' || rank FROM b WHERE rank IS NOT NULL AND measure IN (SELECT measure FROM m)
  UNION ALL SELECT 'core.v_peer_benchmark|' || measure || '|ranked_of|' || ranked_of FROM b WHERE rank IS NOT NULL AND measure IN (SELECT measure FROM m)" | sort >"$IT_DIR/want.txt"
compare() {
    ss_python - "$IT_DIR/want.txt" "$IT_DIR/figures.txt" <<'PY' >"$IT_DIR/compare.txt" || it_fail "the page's figures differ from the views': $(head -20 "$IT_DIR/compare.txt")"
import sys
from decimal import Decimal, ROUND_HALF_UP
want = {}
for l in open(sys.argv[1]).read().split("\n"):
    if l:
        s, m, f, v = l.split("|"); want[(s, m, f)] = v
got = {}
for l in open(sys.argv[2], encoding="utf-8").read().split("\n"):
    if l:
        s, m, f, v, shown = l.split("|"); got.setdefault((s, m, f), (v, shown))
bad = 0
for k, v in sorted(want.items()):
    if k not in got:
        print("missing in the page:", k); bad += 1; continue
    gv, shown = got[k]
    if v == "":
        if gv != "" or shown != "\u2014":
            print("want no figure:", k, gv, shown); bad += 1
        continue
    if gv == "" or Decimal(gv).quantize(Decimal("0.000001")) != Decimal(v).quantize(Decimal("0.000001")):
        print("value:", k, "want", v, "got", gv); bad += 1; continue
    places = Decimal("1") if k[2] in ("peers_reporting", "rank", "ranked_of", "outstanding_records") else \
        Decimal("0.01") if k[0] == "core.v_bucking_characteristics" else Decimal("0.1")
    if k[2] == "ratio_to_peer_median":
        places = Decimal("0.001")
    # shown = the value rounded to the page's places (a value exactly on a half
    # may go either way: the page rounds a binary double)
    if abs(Decimal(shown.replace(",", "")) - Decimal(v)) > places / 2 or len(shown.split(".")[-1]) != max(0, -places.as_tuple().exponent) and "." in shown:
        print("shown:", k, "want", v, "shown", shown); bad += 1
print(f"{len(want)} figures compared, {bad} wrong")
sys.exit(1 if bad else 0)
PY
    it_log "ok: $(tail -1 "$IT_DIR/compare.txt")"
}
compare
grep -q "$(it_psql "SELECT nice_name FROM ref.authority WHERE code = '$AUTH'")" "$IT_DIR/dom.html" || it_fail "the authority's name is not in the page"

it_log "print to PDF, screenshot"
chrome --print-to-pdf="$IT_DIR/report.pdf" --no-pdf-header-footer "file://$IT_DIR/report.html" >/dev/null ||
    it_fail "chromium --print-to-pdf failed: $(tail -5 "$IT_DIR/chromium.log")"
[[ -s $IT_DIR/report.pdf ]] || it_fail "no PDF written"
pages=$(ss_python -c 'import re, sys; print(max([int(n) for n in re.findall(rb"/Count (\d+)", open(sys.argv[1], "rb").read())] or [0]))' "$IT_DIR/report.pdf")
((pages >= 2)) || it_fail "the PDF has $pages pages (want at least 2: the print CSS breaks pages)"
it_log "PDF: $pages pages, $(stat -c %s "$IT_DIR/report.pdf") bytes"
chrome --screenshot="$IT_DIR/report.png" --window-size=1200,2400 "file://$IT_DIR/report.html" >/dev/null ||
    it_fail "chromium --screenshot failed: $(tail -5 "$IT_DIR/chromium.log")"
[[ -s $IT_DIR/report.png ]] || it_fail "no screenshot written"
[[ -z ${SS_REPORT_SCREENSHOT:-} ]] || cp "$IT_DIR/report.png" "$SS_REPORT_SCREENSHOT"

it_log "names are escaped: an authority called 'Ampersand & <Co>'"
it_psql "UPDATE ref.authority SET nice_name = 'Ampersand & <Co>' WHERE code = '$AUTH'" >/dev/null
"$SS_BIN_DIR/shelfsync" report --authority "$AUTH" --year 2023-24 --out "$IT_DIR/escaped.html" --config "$IT_DAEMON_CONFIG" ||
    it_fail "shelfsync report (escaped name) failed"
grep -q 'Ampersand &amp; &lt;Co&gt;' "$IT_DIR/escaped.html" || it_fail "the name is not escaped"
grep -q '<Co>' "$IT_DIR/escaped.html" && it_fail "the name is in the page unescaped"
it_psql "UPDATE ref.authority SET nice_name = 'Kent' WHERE code = 'E10000016'" >/dev/null
[[ $AUTH == E10000016 ]] || it_psql "UPDATE ref.authority SET nice_name = name WHERE code = '$AUTH'" >/dev/null

it_log "errors: an unknown authority, a bad year"
st=0
"$SS_BIN_DIR/shelfsync" report --authority E99999999 --year 2023-24 --out "$IT_DIR/x.html" --config "$IT_DAEMON_CONFIG" 2>"$IT_DIR/err.txt" || st=$?
it_assert_eq 1 "$st" "an unknown authority fails"
grep -q 'no authority "E99999999"' "$IT_DIR/err.txt" || it_fail "no reason for an unknown authority: $(cat "$IT_DIR/err.txt")"
[[ ! -e $IT_DIR/x.html ]] || it_fail "a report was written for an unknown authority"
st=0
"$SS_BIN_DIR/shelfsync" report --authority "$AUTH" --year 2023/25 --out "$IT_DIR/x.html" --config "$IT_DAEMON_CONFIG" 2>/dev/null || st=$?
it_assert_eq 2 "$st" "a bad year is a usage error"

it_log "with a crafted 2022-23 of visits: the bucking section shows core.v_bucking_characteristics"
rd_load_crafted
it_assert_eq t "$(it_psql "SELECT bucking FROM core.v_bucking_trend WHERE authority_code = '$AUTH' AND financial_year = '2023-24' AND measure = 'visits' AND age_group = 'All ages'")" \
    "$AUTH bucks the (crafted) trend in visits"
"$SS_BIN_DIR/shelfsync" report --authority "$AUTH" --year 2023-24 --out "$IT_DIR/report2.html" --config "$IT_DAEMON_CONFIG" ||
    it_fail "shelfsync report (two years) failed"
chrome --dump-dom "file://$IT_DIR/report2.html" >"$IT_DIR/dom.html" || it_fail "chromium --dump-dom failed"
check_page "$IT_DIR/report2.html" "$IT_DIR/dom.html"
it_psql "SELECT 'core.v_bucking_characteristics|' || measure || '/' || characteristic || '|' || f.field || '|' || coalesce(f.v, '')
         FROM core.v_bucking_characteristics c
         CROSS JOIN LATERAL (VALUES ('value', c.value::text), ('peer_median', c.peer_median::text),
                                    ('peers_with_figure', c.peers_with_figure::text), ('ratio_to_peer_median', c.ratio_to_peer_median::text)) f(field, v)
         WHERE authority_code = '$AUTH' AND financial_year = '2023-24' AND age_group = 'All ages'
         UNION ALL
         SELECT 'core.v_bucking_trend|visits|' || f.field || '|' || f.v FROM core.v_bucking_trend t
         CROSS JOIN LATERAL (VALUES ('change_pct', t.change_pct::text), ('england_change_pct', t.england_change_pct::text)) f(field, v)
         WHERE authority_code = '$AUTH' AND financial_year = '2023-24' AND measure = 'visits' AND age_group = 'All ages'" |
    sort >"$IT_DIR/want.txt"
compare
grep -q 'too thin: the service&#39;s own figure is missing\|too thin: the service.s own figure is missing' "$IT_DIR/dom.html" ||
    it_fail "the page does not say where the data are too thin"
it_daemon_stop
