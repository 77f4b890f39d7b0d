#!/usr/bin/env bash
# Odd exports get a clear outcome:
#  - an HTML page (a login or error page) where CSV or JSON was expected,
#    labelled text/html or mislabelled (sniffed from its first bytes): exit
#    2 with "the server sent HTML (...), not CSV", nothing parsed, no batch;
#    while a CSV that a script sends as text/html (PHP's default) loads;
#  - Excel's "Unicode text" (UTF-16LE with its byte-order mark, tab
#    separated, CRLF) and a UTF-16BE export load every row with the right
#    values, whatever csv.encoding says; "utf-16" reads one without a mark;
#  - binary data after a valid header (random bytes, NUL bytes, a truncated
#    gzip member served without Content-Encoding): exit 2, "the export is not
#    text", the rows before it delivered, nothing from its line on; a line
#    before the first NUL is quarantined with its reason like any bad row.
source "$(dirname "$0")/lib.sh"
it_setup
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine ingest.runs" it_reset_db
www=$IT_DIR/www
mkdir -p "$www"

# Facts are keyed by what they say, not by source: each export here has a
# year of its own, so that each source's rows are its own.
ss_python - "$www" <<'PY'
import gzip, os, sys
www = sys.argv[1]
def w(name, data):
    with open(os.path.join(www, name), "wb") as f:
        f.write(data)
header = "Local authority,Library name,Month,Type,Loans\n"
def good(year):
    return (header + "Exampleshire,Riverside Library,%d-04,Adult fiction,12\n"
            "Exampleshire,Quay Library,%d-04,Adult fiction,7\n" % (year, year)).encode()

page = (b"<!DOCTYPE html>\n<html lang=\"en\"><head><title>Sign in</title></head>\n"
        b"<body><form action=\"/login\"><input name=\"user\"></form></body></html>\n")
w("login.html", page)
w("error.html", b"\n\n  <HTML><BODY>500 Internal Server Error</BODY></HTML>\n")
w("php.csv", good(2015))

# Excel "Unicode text": UTF-16LE, mark FF FE, tabs, CRLF; and UTF-16BE.
def unicode_text(year):
    rows = [["Local authority", "Library name", "Month", "Type", "Loans"],
            ["Exampleshire", "Café Library", "%d-04" % year, "Adult fiction", "12"],
            ["Exampleshire", "Bodø Library", "%d-04" % year, "Children’s", "7"],
            ["Exampleshire", "Quay Library", "%d-05" % year, "Large print", "3"]]
    return "".join("\t".join(r) + "\r\n" for r in rows)
w("unicode-le.txt", b"\xff\xfe" + unicode_text(2016).encode("utf-16-le"))
w("unicode-be.txt", b"\xfe\xff" + unicode_text(2017).encode("utf-16-be"))
w("nobom-le.txt", unicode_text(2018).encode("utf-16-le"))

# Binary data after a valid header (and two rows).
w("random.csv", good(2019) + os.urandom(64 * 1024))
w("nul.csv", header.encode() + b"\0" * 4096)
gz = gzip.compress(b"".join(b"Exampleshire,Riverside Library,2024-%02d,DVD,%d\n" % (m % 12 + 1, m)
                            for m in range(2000)))
w("gzip.csv", good(2020) + gz[: len(gz) // 2])
w("random.ndjson", b'{"authority": "Exampleshire", "service_point": "Riverside Library", '
  b'"month": "2021-04", "item_type": "Adult fiction", "loans": 12}\n' + os.urandom(8192))
PY

"$SS_PYTHON" "$SS_SOURCE_DIR/tests/tools/fake_http.py" "$www" >"$IT_DIR/fake.port" 2>>"$IT_DIR/http.log" &
fake_pid=$!
IT_PIDS+=("$fake_pid")
ss_wait_until 15 test -s "$IT_DIR/fake.port" || it_fail "fake_http.py did not start (see http.log)"
fake="http://127.0.0.1:$(head -n 1 "$IT_DIR/fake.port")"
it_log "fake_http.py (pid $fake_pid) on $fake"

it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start

# expect_failure SOURCE STATUS TEXT: the run exited with STATUS and its log
# says TEXT (fixed string).
expect_failure() {
    local src=$1 want=$2 text=$3 st=0
    it_collect "$IT_DIR/$src.json" || st=$?
    it_assert_eq "$want" "$st" "$src: exit status"
    grep -qF -- "$text" "$IT_DIR/collect-$src.log" || it_fail "$src: the log does not say: $text"
    it_log "ok: $src: the log says: $text"
}

# batches SOURCE: "batches|facts|quarantined" the warehouse holds for SOURCE.
counts() {
    it_psql "SELECT (SELECT count(*) FROM ingest.batches WHERE source = '$1') || '|' ||
                    (SELECT count(*) FROM core.loans WHERE source = '$1') || '|' ||
                    (SELECT count(*) FROM ingest.quarantine WHERE source = '$1')"
}

run_record() {
    it_psql "SELECT outcome || '|' || exit_status FROM ingest.runs WHERE source = '$1' AND outcome <> 'running'"
}

# --- HTML where CSV or JSON was expected ------------------------------------
it_collector_config "$IT_DIR/html-csv.json" html-csv "$fake/typed/login.html?ct=text/html;%20charset=utf-8"
expect_failure html-csv 2 "$fake/typed/login.html?ct=text/html;%20charset=utf-8: the server sent HTML (Content-Type text/html), not CSV (a login or error page? check the URL and the credentials)"
it_assert_eq "0|0|0" "$(counts html-csv)" "html-csv: no batch, no fact, no quarantine"
it_assert_eq "failed|2" "$(run_record html-csv)" "html-csv: the run is recorded as failed, exit 2"
it_assert_eq "1" "$(it_psql "SELECT count(*) FROM ingest.runs WHERE source = 'html-csv' AND error LIKE '%the server sent HTML (Content-Type text/html), not CSV%'")" \
    "html-csv: the run record carries the message"
if grep -q 'fields where the header\|needs "' "$IT_DIR/collect-html-csv.log"; then
    it_fail "html-csv: an HTML page was reported as a mapping problem"
fi

it_collector_config "$IT_DIR/sniff-csv.json" sniff-csv "$fake/ok/login.html"
expect_failure sniff-csv 2 "the server sent HTML (it begins <!DOCTYPE html; Content-Type text/csv), not CSV"
it_assert_eq "0|0|0" "$(counts sniff-csv)" "sniff-csv: HTML served as text/csv: no batch"

it_collector_config "$IT_DIR/sniff-err.json" sniff-err "$fake/ok/error.html" '"csv": {"detect_delimiter": true}'
expect_failure sniff-err 2 "the server sent HTML (it begins <html; Content-Type text/csv), not CSV"
it_assert_eq "0|0|0" "$(counts sniff-err)" "sniff-err: an upper-case page after blank lines: no batch"

it_collector_config "$IT_DIR/html-json.json" html-json "$fake/typed/login.html?ct=text/html" '"kind": "json"'
expect_failure html-json 2 "the server sent HTML (Content-Type text/html), not JSON (a login or error page? check the URL and the credentials)"
it_assert_eq "0|0|0" "$(counts html-json)" "html-json: no batch"

it_collector_config "$IT_DIR/sniff-json.json" sniff-json "$fake/typed/error.html?ct=application/json" \
    '"kind": "json", "json": {"ndjson": true}'
expect_failure sniff-json 2 "the server sent HTML (it begins <html; Content-Type application/json), not JSON"
it_assert_eq "0|0|0" "$(counts sniff-json)" "sniff-json: no batch"

it_collector_config "$IT_DIR/file-html.json" file-html "file://$www/login.html"
expect_failure file-html 2 "file://$www/login.html: the file holds HTML (it begins <!DOCTYPE html), not CSV"
it_assert_eq "0|0|0" "$(counts file-html)" "file-html: no batch"

# A CSV that comes as text/html (a script's default) is data, not a page.
it_collector_config "$IT_DIR/php.json" php "$fake/typed/php.csv?ct=text/html"
it_collect "$IT_DIR/php.json" || it_fail "a CSV sent as text/html was refused (exit $?)"
it_assert_eq "1|2|0" "$(counts php)" "php: a CSV labelled text/html loads"

# --- UTF-16 ------------------------------------------------------------------
# utf16_rows YEAR: what the three rows of an export of YEAR load as.
utf16_rows() {
    printf '%s\n' "Bodø Library|$1-04-01|Children’s|7" "Café Library|$1-04-01|Adult fiction|12" \
        "Quay Library|$1-05-01|Large print|3"
}
loans_of() {
    it_psql "SELECT service_point || '|' || period_start || '|' || item_type || '|' || loans
             FROM core.loans WHERE source = '$1' ORDER BY service_point"
}

it_collector_config "$IT_DIR/excel-le.json" excel-le "$fake/ok/unicode-le.txt" '"csv": {"detect_delimiter": true}'
it_collect "$IT_DIR/excel-le.json" || it_fail "UTF-16LE (Excel Unicode text) exited with $?"
it_assert_eq "$(utf16_rows 2016)" "$(loans_of excel-le)" "excel-le: every row, with Café, Bodø and ’"
it_assert_eq "1|3|0" "$(counts excel-le)" "excel-le: one batch, 3 facts, nothing quarantined"
grep -qF 'the export starts with a UTF-16LE byte-order mark, so it is read as UTF-16LE ("csv.encoding" says utf-8)' \
    "$IT_DIR/collect-excel-le.log" || it_fail "excel-le: the log does not say the mark decided"

it_collector_config "$IT_DIR/excel-be.json" excel-be "$fake/ok/unicode-be.txt" \
    '"csv": {"delimiter": "\t", "encoding": "windows-1252"}'
it_collect "$IT_DIR/excel-be.json" || it_fail "UTF-16BE exited with $?"
it_assert_eq "$(utf16_rows 2017)" "$(loans_of excel-be)" "excel-be: the mark wins over windows-1252"
it_assert_eq "1|3|0" "$(counts excel-be)" "excel-be: 3 facts"

it_collector_config "$IT_DIR/nobom.json" nobom "$fake/ok/nobom-le.txt" '"csv": {"delimiter": "\t", "encoding": "utf-16"}'
it_collect "$IT_DIR/nobom.json" || it_fail "UTF-16 without a mark (csv.encoding utf-16) exited with $?"
it_assert_eq "$(utf16_rows 2018)" "$(loans_of nobom)" "nobom: \"utf-16\" reads little-endian without a mark"

# The same file without csv.encoding: binary (NULs at every other byte), and the message says what to set.
it_collector_config "$IT_DIR/nobom-utf8.json" nobom-utf8 "$fake/ok/nobom-le.txt" '"csv": {"delimiter": "\t"}'
expect_failure nobom-utf8 2 'it looks like UTF-16 without a byte-order mark: set "csv.encoding" to "utf-16"'
it_assert_eq "0|0|0" "$(counts nobom-utf8)" "nobom-utf8: nothing sent"

# --- binary data after a valid header ---------------------------------------
it_collector_config "$IT_DIR/nul.json" nul "$fake/ok/nul.csv"
expect_failure nul 2 "the export is not text: a NUL byte at line 2, and 4096 bytes of binary data (NUL or control bytes) in the 4096 bytes from there; nothing from line 2 on is read"
it_assert_eq "0|0|0" "$(counts nul)" "nul: a header and NUL bytes: nothing sent"
it_assert_eq "failed|2" "$(run_record nul)" "nul: recorded as failed"

it_collector_config "$IT_DIR/gzip.json" gzip "$fake/ok/gzip.csv"
expect_failure gzip 2 "the export is not text: a NUL byte at line 4,"
grep -qF "gzip-compressed data, and the server did not say so (no Content-Encoding)" "$IT_DIR/collect-gzip.log" ||
    it_fail "gzip: the message does not say it is gzip"
it_assert_eq "1|2|0" "$(counts gzip)" "gzip: the 2 rows before it delivered, nothing quarantined"
it_assert_eq "partial|2" "$(run_record gzip)" "gzip: recorded as partial"

it_collector_config "$IT_DIR/random.json" random "$fake/ok/random.csv"
expect_failure random 2 "the export is not text: a NUL byte at line "
line=$(grep -o 'the export is not text: a NUL byte at line [0-9]*' "$IT_DIR/collect-random.log" | grep -o '[0-9]*$')
it_log "random: the first NUL byte is on line $line"
it_assert_eq "Quay Library|7
Riverside Library|12" "$(it_psql "SELECT service_point || '|' || loans FROM core.loans WHERE source = 'random' ORDER BY 1")" \
    "random: exactly the 2 rows before the binary data loaded"
# Lines of random bytes before the first NUL are bad rows like any other:
# each quarantined with its reason, none dropped; none from its line on.
it_assert_eq "$(it_psql "SELECT rejected_by_collector FROM ingest.runs WHERE source = 'random' AND outcome <> 'running'")" \
    "$(it_psql "SELECT count(*) FILTER (WHERE reason LIKE 'line %') FROM ingest.quarantine WHERE source = 'random'")" \
    "random: every row the collector rejected is in the quarantine"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM ingest.quarantine WHERE source = 'random' AND (line < 4 OR line >= $line)")" \
    "random: the quarantine holds lines between the good rows and the first NUL only"
it_assert_eq "partial|2" "$(run_record random)" "random: recorded as partial"

it_collector_config "$IT_DIR/random-nd.json" random-nd "$fake/ok/random.ndjson" \
    '"kind": "json", "json": {"ndjson": true}'
expect_failure random-nd 2 "the export is not text: a NUL byte at line "
it_assert_eq "1" "$(it_psql "SELECT count(*) FROM core.loans WHERE source = 'random-nd'")" "random-nd: the good line loaded"

it_daemon_stop
