#!/usr/bin/env bash
# shelfsync-collect --discover URL: a config proposed from the head of an
# export, over a real HTTP server on loopback.
#
# (1) Every published template (librarydata-schemas/templates/*.csv, header
#     only): the dataset guessed from the headers, every column mapped, no
#     constant needed, and the config passes --check-config as proposed.
# (2) Every published sample export (librarydata-schemas/data/*.csv): the
#     proposal passes --check-config, and with only its placeholders for the
#     daemon and the state directory set to the test's, it LOADS the export
#     through a real daemon: rows loaded = the file's data rows (counted with
#     Python's csv module), none quarantined.
# (3) Exports generated here, each loaded the same way with its count
#     checked: a wide file (months as columns, a Notes column that must go
#     to csv.wide.ignore), a headerless one (--dataset given, mapped by
#     position and value type), a semicolon-separated Windows-1252 one, a
#     UTF-16 (with byte-order mark) tab-separated one, a JSON API answer,
#     and one larger than the head --discover reads (only 1 MiB read, the
#     whole file loads).
# (4) Nothing usable: an HTML page, an empty file, binary data -- exit 2
#     with the reason on stderr and nothing on stdout; an unknown --dataset
#     exits 1.
source "$(dirname "$0")/lib.sh"
it_setup
fx="${SS_FIXTURES:-$SS_SOURCE_DIR/../shared/fixtures}"
it_need_fixture "$fx/librarydata-schemas"
IT_RESET_TABLES="$(echo core.{service_points,service_point_alias,mobile_stops,events,loans,visits,membership,stock}) ingest.batches ingest.quarantine"
it_reset_db
mkdir -p "$IT_DIR/www"
ln -s "$fx/librarydata-schemas" "$IT_DIR/www/schemas"
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
"$SS_BIN_DIR/shelfsync" ref load authorities "$fx/activity-2023-24/library_authorities.json" --config "$IT_DAEMON_CONFIG" >/dev/null
it_daemon_start
url="http://127.0.0.1:$IT_HTTP_PORT"
collect="$SS_BIN_DIR/shelfsync-collect"

# discover NAME URL [ARGS...]: the proposal in $IT_DIR/NAME.json, the summary
# in NAME.err; fails unless it exits 0 and check-config accepts it.
discover() {
    local name=$1 u=$2 st=0
    shift 2
    "$collect" --discover "$u" "$@" >"$IT_DIR/$name.json" 2>"$IT_DIR/$name.err" || st=$?
    sed "s/^/  [$name] /" "$IT_DIR/$name.err"
    ((st == 0)) || it_fail "$name: --discover exited with $st"
    "$collect" --check-config --config "$IT_DIR/$name.json" >"$IT_DIR/$name.check" 2>&1 ||
        { cat "$IT_DIR/$name.check"; it_fail "$name: check-config refused the proposed config"; }
}
# jq-like: field EXPR of NAME.json (Python expression over c)
field() { ss_python -c 'import json, sys; c = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$IT_DIR/$1.json" "$2"; }
# load NAME: the proposal with the daemon and state_dir placeholders set to
# the test's, checked again and run once; echoes its source
load() {
    local name=$1 st=0
    ss_python - "$IT_DIR/$name.json" "$IT_DIR/$name.run.json" "$IT_DIR" "$IT_ZMQ_PORT" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["state_dir"] = sys.argv[3] + "/state-" + c["source"]
c["daemon"]["endpoints"] = ["tcp://127.0.0.1:" + sys.argv[4]]
json.dump(c, open(sys.argv[2], "w"), indent=2)
EOF
    "$collect" --check-config --config "$IT_DIR/$name.run.json" >/dev/null || it_fail "$name: check-config refused it with the test's daemon"
    it_collect "$IT_DIR/$name.run.json" || st=$?
    ((st == 0)) || { tail -20 "$IT_DIR/collect-$(field "$name" 'c["source"]').log"; it_fail "$name: the collector exited with $st"; }
}
# check NAME TABLE EXPECTED: rows loaded (service points: or counted as
# unchanged versions) and none quarantined
check() {
    local name=$1 table=$2 want=$3 source loaded quarantined
    source=$(field "$name" 'c["source"]')
    loaded=$(it_psql "SELECT count(*) + coalesce((SELECT sum(h.unchanged + h.superseded) FROM ingest.batch_history h
                        JOIN ingest.batches b USING (batch_id) WHERE b.source = '$source'), 0) FROM $table WHERE source = '$source'")
    quarantined=$(it_psql "SELECT coalesce(sum(quarantined), 0) FROM ingest.batches WHERE source = '$source'")
    ((quarantined == 0)) || it_psql "SELECT '  quarantined: line ' || line || ': ' || reason FROM ingest.quarantine WHERE source = '$source' ORDER BY line LIMIT 10"
    it_assert_eq "$want|0" "$loaded|$quarantined" "$name: rows loaded|quarantined through the proposed config"
}
rows() { # PATH [ENCODING [DELIMITER]]: data rows, by Python's csv module
    ss_python -c 'import csv, sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1], encoding=sys.argv[2], newline=""), delimiter=sys.argv[3])))' \
        "$1" "${2:-utf-8-sig}" "${3:-,}"
}
table_of() { case $1 in service_points|mobile_stops|events|loans|visits|membership|stock) echo "core.$1" ;; *) it_fail "no table for $1" ;; esac; }

# ---------------------------------------------------------------------------
# (1) The published templates.
declare -A template_ds=([events]=events [libraries]=service_points [loans]=loans [membership]=membership
    [mobile_library_stops]=mobile_stops [physical_visits]=visits [stock_summary]=stock)
n=0
for f in "$fx"/librarydata-schemas/templates/*.csv; do
    t=$(basename "$f" .csv)
    [[ -n ${template_ds[$t]:-} ]] || it_fail "template $t: no expected dataset in this test (a new template?)"
    discover "tpl-$t" "$url/schemas/templates/$t.csv"
    it_assert_eq "${template_ds[$t]}" "$(field "tpl-$t" 'c["dataset"]')" "template $t: the dataset guessed from its headers"
    cols=$(head -n 1 "$f" | tr ',' '\n' | wc -l)
    it_assert_eq "$cols|[]" "$(field "tpl-$t" '"%d|%s" % (len([k for k in c["mapping"] if k != "description"]), [k for k in c["constants"] if k != "description"])')" \
        "template $t: every column mapped, no constant needed"
    n=$((n + 1))
done
((n >= 7)) || it_fail "only $n templates found"

# ---------------------------------------------------------------------------
# (2) The published sample exports, loaded through the proposal.
n=0
for f in "$fx"/librarydata-schemas/data/*.csv; do
    d=$(basename "$f" .csv)
    discover "data-$d" "$url/schemas/data/$d.csv"
    ds=$(field "data-$d" 'c["dataset"]')
    load "data-$d"
    check "data-$d" "$(table_of "$ds")" "$(rows "$f")"
    n=$((n + 1))
done
((n >= 8)) || it_fail "only $n sample exports found"
it_assert_eq "Outcome" "$(field data-events_barnet 'c["mapping"]["main_outcome"]')" "events: main_outcome from its alias Outcome"
it_assert_eq "Colocated" "$(field data-libraries_plymouth 'c["mapping"]["colocated"]')" "libraries: Colocated matches Co-located"

# ---------------------------------------------------------------------------
# (3) Generated exports.
ss_python - "$IT_DIR/www" <<'EOF'
import json, sys
d = sys.argv[1]
# Wide: months as columns (2023-1 ... 2024-3), some cells empty, a Notes column.
months = ["%d-%d" % (2023 + (m - 1) // 12, (m - 1) % 12 + 1) for m in range(1, 16)]
cells = 0
with open(d + "/wide.csv", "w", newline="") as f:
    f.write("Local authority,Library name,Count type," + ",".join(months) + ",Notes\r\n")
    for i, lib in enumerate(["Central", "East Finchley", "Hendon", "Mill Hill"]):
        row = ["" if (i + j) % 5 == 0 else str(100 * i + j) for j in range(len(months))]
        cells += sum(1 for v in row if v)
        f.write("Barnet,%s,Automatic counter,%s,%s\r\n" % (lib, ",".join(row), "refit" if i == 2 else ""))
open(d + "/wide.count", "w").write(str(cells))
# Headerless, in the published column order of loans.
with open(d + "/headerless.csv", "w", newline="") as f:
    for i in range(40):
        f.write("Barnet,Library %d,2023-%02d,%s,%d\n" % (i % 4, i // 4 + 1, ["Adult fiction", "Children"][i % 2], 10 + i))
# Semicolons, Windows-1252 (é, ’ and £ as single bytes), CRLF.
with open(d + "/stock-1252.csv", "w", encoding="cp1252", newline="") as f:
    f.write("Local authority;Library name;Count date;Type;Items\r\n")
    for i in range(25):
        f.write("Barnet;Caf\u00e9 Library %d;2023-04-01;Children\u2019s \u00a3%d;%d\r\n" % (i % 3, i, i * 3))
# UTF-16 with its byte-order mark, tabs: what Excel's "Unicode text" writes.
with open(d + "/loans-utf16.txt", "w", encoding="utf-16", newline="") as f:
    f.write("Local authority\tLibrary name\tMonth\tType\tLoans\r\n")
    for i in range(30):
        f.write("Barnet\tSt\u00e9phane %d\t2023-%02d\tAdult\t%d\r\n" % (i % 5, i // 5 + 1, i))
# A JSON API's answer.
recs = [{"Local authority": "Barnet", "Library name": "Library %d" % i, "Month": "2024-01",
         "Type": "Ebook", "Loans": i} for i in range(12)]
json.dump({"meta": {"count": 12}, "data": {"items": recs}}, open(d + "/loans.json", "w"))
# Larger than the head --discover reads (1 MiB): 30000 rows, about 1.5 MB.
with open(d + "/loans-large.csv", "w", newline="") as f:
    f.write("Local authority,Library name,Month,Type,Loans\n")
    for i in range(30000):
        f.write("Barnet,Library number %d with a long name,%d-%02d,Adult fiction,%d\n" % (i % 250, 2000 + (i // 250) // 12, (i // 250) % 12 + 1, i))
open(d + "/page.html", "w").write("<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Please sign in</body></html>\n")
open(d + "/empty.csv", "w").close()
open(d + "/data.xlsx", "wb").write(b"PK\x03\x04" + bytes(range(256)) * 4)
EOF

discover wide "$url/wide.csv" --dataset visits
it_assert_eq "visits|month|['Notes']" "$(field wide '"%s|%s|%s" % (c["csv"]["wide"]["value_field"], c["csv"]["wide"]["period_field"], c["csv"]["wide"]["ignore"])')" \
    "wide: the cells to visits, the months to month, Notes ignored"
load wide
check wide core.visits "$(cat "$IT_DIR/www/wide.count")"
it_assert_eq "15" "$(it_psql "SELECT count(DISTINCT period_start) FROM core.visits WHERE source = 'wide'")" "wide: every month column read"

discover headerless "$url/headerless.csv" --dataset loans
it_assert_eq "False|5" "$(field headerless '"%s|%d" % (c["csv"]["header"], len(c["csv"]["columns"]))')" "headerless: no header, five columns named"
it_assert_eq "Loans" "$(field headerless 'c["mapping"]["loans"]')" "headerless: the counts column mapped to loans by its values"
load headerless
check headerless core.loans 40
it_assert_eq "1180" "$(it_psql "SELECT sum(loans) FROM core.loans WHERE source = 'headerless'")" "headerless: the loans column is the counts"
rc=0
"$collect" --discover "$url/headerless.csv" >/dev/null 2>"$IT_DIR/headerless-nods.err" || rc=$?
it_assert_eq 2 "$rc" "headerless without --dataset: nothing to propose"
grep -q -- "--dataset" "$IT_DIR/headerless-nods.err" || it_fail "headerless without --dataset: the reason does not say to pass --dataset"

discover stock-1252 "$url/stock-1252.csv"
it_assert_eq "stock|;|windows-1252" "$(field stock-1252 '"%s|%s|%s" % (c["dataset"], c["csv"]["delimiter"], c["csv"]["encoding"])')" "1252: dataset, delimiter, encoding"
load stock-1252
check stock-1252 core.stock "$(rows "$IT_DIR/www/stock-1252.csv" cp1252 ';')"
it_assert_eq "Café Library 1" "$(it_psql "SELECT min(service_point) FROM core.stock WHERE source = 'stock-1252' AND service_point LIKE '%1'")" "1252: é arrives as UTF-8"

discover loans-utf16 "$url/loans-utf16.txt"
it_assert_eq "loans|	|utf-16" "$(field loans-utf16 '"%s|%s|%s" % (c["dataset"], c["csv"]["delimiter"], c["csv"]["encoding"])')" "UTF-16: dataset, delimiter, encoding"
load loans-utf16
check loans-utf16 core.loans "$(rows "$IT_DIR/www/loans-utf16.txt" utf-16 $'\t')"

discover loans-json "$url/loans.json"
it_assert_eq "json|data.items" "$(field loans-json '"%s|%s" % (c["kind"], c["json"]["path"])')" "JSON: kind and path of the records"
load loans-json
check loans-json core.loans 12

discover loans-large "$url/loans-large.csv"
grep -q "the head of a longer export" "$IT_DIR/loans-large.err" || it_fail "large: the summary does not say only the head was read"
grep -q '"1048576 bytes' <(field loans-large 'chr(34) + c["description"].split("(the first ")[1]') ||
    it_fail "large: the proposal does not say it read the first 1048576 bytes"
load loans-large
check loans-large core.loans 30000

# ---------------------------------------------------------------------------
# (4) Nothing usable.
refuse() { # NAME URL WHAT: exit 2, nothing on stdout, the reason names WHAT
    local rc=0
    "$collect" --discover "$2" >"$IT_DIR/$1.out" 2>"$IT_DIR/$1.err" || rc=$?
    it_log "$1: $(cat "$IT_DIR/$1.err")"
    it_assert_eq "2|0" "$rc|$(wc -c <"$IT_DIR/$1.out")" "$1: exit 2, no config"
    grep -qi -- "$3" "$IT_DIR/$1.err" || it_fail "$1: the reason does not say \"$3\""
}
refuse html "$url/page.html" "HTML"
refuse empty "$url/empty.csv" "empty"
refuse xlsx "$url/data.xlsx" "zip"
refuse missing "$url/no-such-file.csv" "404"
rc=0
"$collect" --discover "$url/wide.csv" --dataset no_such_dataset >/dev/null 2>&1 || rc=$?
it_assert_eq 1 "$rc" "an unknown --dataset: usage error"
it_log "ok"
