#!/usr/bin/env bash
# Nothing personal leaves the collector, not even into the quarantine.
#
# CSV, JSON and NDJSON loans exports carry borrowers' names, card numbers,
# e-mail addresses and dates of birth in columns the mapping does not take,
# and bad rows of every kind: a bad count, a bad month, a wrong column count,
# a quote that closes a line late, an unterminated quote (which swallows the
# lines after it), an element that is no object, a line that is no JSON,
# bad UTF-8, an integer too big, a duplicate key, a nested value, and a
# syntax error that ends the JSON run. Each export is collected twice: with
# the daemon down (the outbox keeps the batches and run records: their files
# are searched), then with it up while tcpdump records every byte on the
# daemon's port. Then the bytes on the wire (TCP streams reassembled), the
# collectors' state directories and logs, the daemon's log and a pg_dump
# --data-only of the warehouse are searched for every personal value: none
# may appear. The quarantine holds each bad row with its reason, line and
# the mapped values only (exact rows).
source "$(dirname "$0")/lib.sh"
it_need_tool tcpdump tcpdump
it_setup
# A database of its own: the search of its pg_dump must not find the other
# tests' data (the real register has a Blackwood Library, Barnet a Finchley).
db="shelfsync_privacy_$$"
"$SS_PGBIN/createdb" -h "$SS_PGHOST" -p "$SS_PGPORT" -U "$SS_PGUSER" "$db" || it_fail "cannot create database $db"
SS_PGDATABASE=$db
it_log "database $db for this test alone"
www=$IT_DIR/www
mkdir -p "$www"

# The personal values, one a line, and the exports that hold them.
ss_python - "$www" "$IT_DIR/personal.txt" <<'PY'
import json, os, sys
www, personal = sys.argv[1:3]
people = [
    ("Zebedee Quartermaine", "29990001234567", "zebedee.quartermaine@example.org", "1984-03-17"),
    ("Ottoline Fairweather", "29990007654321", "ottoline.fairweather@example.net", "1979-11-02"),
    ("Barnaby Thistlewood", "29990005550001", "barnaby.thistlewood@example.com", "1990-06-30"),
    ("Wilhelmina Crabtree", "29990004440004", "wilhelmina.crabtree@example.org", "1962-08-09"),
    ("Percival Ashdown", "29990003330001", "percival.ashdown@example.org", "1966-01-01"),
    ("Henrietta Blackwood", "29990003330002", "henrietta.blackwood@example.org", "1971-02-02"),
    ("Cornelius Pennywhistle", "29990008880008", "cornelius.pennywhistle@example.org", "1948-12-24"),
    ("Araminta Gallowglass", "29990009990009", "araminta.gallowglass@example.org", "1955-05-05"),
    ("Bartholomew Finchley", "29990009990010", "bartholomew.finchley@example.org", "1960-10-10"),
    ("Eustace Marchbanks", "29990006660006", "eustace.marchbanks@example.org", "1933-07-07"),
    ("Cuthbert Ravensworth", "29990002220002", "cuthbert.ravensworth@example.org", "1944-04-04"),
    ("Millicent Hawthorne", "29990002220003", "millicent.hawthorne@example.org", "1977-07-17"),
    ("Leopold Winterbottom", "29990002220004", "leopold.winterbottom@example.org", "1988-08-18"),
    ("Philippa Dunwoody", "29990002220005", "philippa.dunwoody@example.org", "1999-09-19"),
    ("Octavia Brackenbury", "29990002220006", "octavia.brackenbury@example.org", "2001-01-21"),
    ("Ambrose Fetherstonhaugh", "29990002220007", "ambrose.f@example.org", "1950-03-13"),
]
with open(personal, "w") as f:
    for p in people:
        for v in p:
            f.write(v + "\n")
        f.write(p[0].split()[1] + "\n")  # the family name alone
P = {p[0].split()[0]: p for p in people}
def cols(first):
    n, c, e, d = P[first]
    return "%s,%s,%s,%s" % (n, c, e, d)

# CSV, 2024. Lines: 2 good; 3 a bad count (the daemon quarantines it); 4 a
# column too many; 5 a bad month; 6-7 a quote that closes on the next line,
# after an unmapped column of it (3 fields, not 9); 8 good; 9-10 a quote
# that never closes: line 9 takes in line 10.
csv = "\n".join([
    "Local authority,Library name,Month,Type,Loans,Borrower,Card number,Email,Date of birth",
    "Exampleshire,Riverside Library,2024-04,Adult fiction,12," + cols("Zebedee"),
    "Exampleshire,Riverside Library,2024-05,Adult fiction,twelve," + cols("Ottoline"),
    "Exampleshire,Quay Library,2024-04,Adult fiction,5," + cols("Barnaby") + ",EXTRA",
    "Exampleshire,Quay Library,2024-13,DVD,3," + cols("Wilhelmina"),
    "Exampleshire,\"Hill Top Library,2024-04,DVD,2," + cols("Percival"),
    "Exampleshire,Hill Top Library,2024-05,DVD,4," + cols("Henrietta") + "\"," + P["Henrietta"][3],
    "Exampleshire,Quay Library,2024-05,Adult fiction,9," + cols("Cornelius"),
    "Exampleshire,Quay Library,\"2024-06,Adult fiction,1," + cols("Araminta"),
    "Exampleshire,Quay Library,2024-06,DVD,2," + cols("Bartholomew"),
]) + "\n"
open(os.path.join(www, "loans.csv"), "w").write(csv)

def rec(sp, month, itype, loans, first, **extra):
    n, c, e, d = P[first]
    r = {"authority": "Exampleshire", "service_point": sp, "month": month, "item_type": itype,
         "loans": loans, "borrower": n, "card": c, "email": e, "date_of_birth": d}
    r.update(extra)
    return json.dumps(r, ensure_ascii=False)

# JSON array, 2023. Elements: 1 good; 2 a string (no object); 3 a nested
# count; 4 bad UTF-8 in the name; 5 a card number too big for an integer;
# 6 a duplicate key; 7 good; 8 a syntax error (a bare name): the run ends.
bad_utf8 = rec("Quay Library", "2023-04", "DVD", 3, "Wilhelmina").encode().replace(
    b"Crabtree", b"Crabtree\xff")
big = rec("Quay Library", "2023-05", "DVD", 4, "Leopold").replace(
    '"%s"' % P["Leopold"][1], P["Leopold"][1] + "0123456789")
dup = rec("Quay Library", "2023-06", "DVD", 5, "Philippa").replace(
    '"borrower"', '"borrower": "%s", "borrower"' % P["Octavia"][0])
elems = [rec("Riverside Library", "2023-04", "Adult fiction", 12, "Zebedee").encode(),
         json.dumps("%s %s" % P["Ottoline"][:2]).encode(),
         rec("Riverside Library", "2023-05", "Adult fiction", {"n": 3}, "Barnaby").encode(),
         bad_utf8, big.encode(), dup.encode(),
         rec("Quay Library", "2023-07", "Adult fiction", 9, "Cornelius").encode(),
         ('{"authority": "Exampleshire", "borrower": %s}' % P["Eustace"][0]).encode()]
open(os.path.join(www, "loans.json"), "wb").write(b"[\n" + b",\n".join(elems) + b"\n]\n")

# NDJSON, 2022. Lines: 1 good; 2 an array; 3 no JSON (a missing comma);
# 4 a nested type; 5 bad UTF-8; 6 good.
lines = [rec("Riverside Library", "2022-04", "Adult fiction", 12, "Zebedee").encode(),
         json.dumps(list(P["Cuthbert"][:2])).encode(),
         rec("Quay Library", "2022-04", "DVD", 3, "Millicent").replace(', "card"', ' "card"').encode(),
         rec("Quay Library", "2022-05", ["DVD", "CD"], 3, "Percival").encode(),
         rec("Quay Library", "2022-06", "DVD", 2, "Ambrose").encode().replace(b"Ambrose", b"Amb\xc3rose"),
         rec("Quay Library", "2022-07", "Adult fiction", 9, "Cornelius").encode()]
open(os.path.join(www, "loans.ndjson"), "wb").write(b"\n".join(lines) + b"\n")
PY
mapfile -t personal <"$IT_DIR/personal.txt"
it_log "${#personal[@]} personal values in the exports"

it_http_start "$www"
url="http://127.0.0.1:$IT_HTTP_PORT"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities

send='"send": {"give_up_after_s": 1}'
it_collector_config "$IT_DIR/p-csv.json" p-csv "$url/loans.csv" "$send"
it_collector_config "$IT_DIR/p-json.json" p-json "$url/loans.json" "\"kind\": \"json\", $send"
it_collector_config "$IT_DIR/p-ndjson.json" p-ndjson "$url/loans.ndjson" \
    "\"kind\": \"json\", \"json\": {\"ndjson\": true}, $send"

# search WHAT FILE...: fail if any personal value is in the files.
search() {
    local what=$1 v f
    shift
    for v in "${personal[@]}"; do
        for f in "$@"; do
            if grep -aqF -- "$v" "$f"; then
                grep -aoF -- "$v" "$f" | head -n 3
                it_fail "$what: \"$v\" is in $f"
            fi
        done
    done
    it_log "ok: $what: none of the ${#personal[@]} personal values in $# files"
}

# --- 1. the daemon is down: everything waits in the outboxes ------------------
for src in p-csv p-json p-ndjson; do
    st=0
    it_collect "$IT_DIR/$src.json" || st=$?
    [[ $st == 3 || $st == 2 ]] || it_fail "$src without a daemon: exit $st, expected 3 (2 for the broken JSON)"
done
mapfile -t stored < <(find "$IT_DIR"/state-p-* -type f)
it_assert_eq "3" "$(find "$IT_DIR"/state-p-*/outbox -name '*.batch' | wc -l | tr -d ' ')" \
    "one batch a collector (and its run records) waits in each outbox"
search "outbox and state files" "${stored[@]}"

# --- 2. the daemon is up, the wire recorded -----------------------------------
it_daemon_start
tcpdump -i lo -U --immediate-mode -n -s 0 -w "$IT_DIR/wire.pcap" "tcp port $IT_ZMQ_PORT" 2>"$IT_DIR/tcpdump.log" &
tcpdump_pid=$!
IT_PIDS+=("$tcpdump_pid")
if ! ss_wait_until 15 grep -q 'listening on' "$IT_DIR/tcpdump.log"; then
    if ! kill -0 "$tcpdump_pid" 2>/dev/null; then
        cat "$IT_DIR/tcpdump.log"
        it_skip "tcpdump cannot capture on lo here (no permission?)"
    fi
    it_fail "tcpdump did not start listening"
fi
it_log "tcpdump (pid $tcpdump_pid) records port $IT_ZMQ_PORT"

st=0
it_collect "$IT_DIR/p-csv.json" || st=$?
it_assert_eq "0" "$st" "p-csv: exit status"
st=0
it_collect "$IT_DIR/p-json.json" || st=$?
it_assert_eq "2" "$st" "p-json: the syntax error at element 8 fails the run"
grep -qF "expected a value, found a letter" "$IT_DIR/collect-p-json.log" || it_fail "p-json: the log does not say what broke"
st=0
it_collect "$IT_DIR/p-ndjson.json" || st=$?
it_assert_eq "0" "$st" "p-ndjson: exit status"
it_assert_eq "0" "$(find "$IT_DIR"/state-p-*/outbox -type f | wc -l | tr -d ' ')" "every outbox is empty"
it_assert_eq "6" "$(it_psql "SELECT count(*) FROM ingest.runs WHERE source LIKE 'p-%' AND outcome <> 'running'")" \
    "both runs of each collector are recorded"

sleep 1 # the last acks, and the capture written out
kill -TERM "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null || true
_it_forget_pid "$tcpdump_pid"
it_log "tcpdump: $(tail -n 2 "$IT_DIR/tcpdump.log" | tr '\n' ' ')"

# The TCP streams, each direction in sequence order (segments may split a value).
ss_python - "$IT_DIR/wire.pcap" "$IT_DIR/wire.streams" <<'PY' || it_fail "cannot read the capture"
import struct, sys
data = open(sys.argv[1], "rb").read()
magic = struct.unpack("<I", data[:4])[0]
end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
linktype = struct.unpack(end + "I", data[20:24])[0]
streams, off, packets = {}, 24, 0
while off + 16 <= len(data):
    incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    packets += 1
    if linktype == 1:  # Ethernet
        if struct.unpack(">H", pkt[12:14])[0] != 0x0800:
            continue
        ip = pkt[14:]
    elif linktype == 113:  # Linux cooked
        ip = pkt[16:]
    else:
        ip = pkt[4:]  # loopback/null
    if not ip or ip[0] >> 4 != 4 or ip[9] != 6:
        continue
    ihl = (ip[0] & 15) * 4
    total = struct.unpack(">H", ip[2:4])[0]
    tcp = ip[ihl:total]
    sport, dport, seq = struct.unpack(">HHI", tcp[:8])
    payload = tcp[(tcp[12] >> 4) * 4:]
    if payload:
        streams.setdefault((ip[12:16], sport, ip[16:20], dport), {})[seq] = payload
nbytes = 0
with open(sys.argv[2], "wb") as out:
    for key, segs in streams.items():
        want = None
        for seq in sorted(segs):
            if want is not None and seq != want:
                sys.exit("a gap in a TCP stream: byte %d expected, %d found: the capture "
                         "missed packets" % (want, seq))
            out.write(segs[seq])
            nbytes += len(segs[seq])
            want = (seq + len(segs[seq])) & 0xFFFFFFFF
        out.write(b"\n--\n")
print("%d packets, %d streams, %d payload bytes, no gap" % (packets, len(streams), nbytes))
PY
wire_bytes=$(stat -c %s "$IT_DIR/wire.streams")
((wire_bytes > 2000)) || it_fail "the capture holds only $wire_bytes bytes: it did not see the batches"
grep -aqF "Riverside Library" "$IT_DIR/wire.streams" || it_fail "the capture does not hold the records' mapped values"
grep -aqF "expected a value, found a letter" "$IT_DIR/wire.streams" || it_fail "the capture does not hold the JSON run's error text"
search "the wire (TCP streams to and from the daemon)" "$IT_DIR/wire.streams"
mapfile -t stored < <(find "$IT_DIR"/state-p-* -type f)
search "logs and state" "$IT_DIR"/collect-p-*.log "$IT_DIR/daemon.log" "${stored[@]}"

"$SS_PGBIN/pg_dump" -h "$SS_PGHOST" -p "$SS_PGPORT" -U "$SS_PGUSER" -d "$SS_PGDATABASE" --data-only \
    >"$IT_DIR/warehouse.sql" || it_fail "pg_dump failed"
grep -aqF "Hill Top" "$IT_DIR/warehouse.sql" || grep -aqF "Quay Library" "$IT_DIR/warehouse.sql" ||
    it_fail "the dump does not hold the loaded rows"
search "pg_dump --data-only of the warehouse" "$IT_DIR/warehouse.sql"

# --- 3. what the warehouse holds: exactly ---------------------------------------
loans() {
    it_psql "SELECT service_point || '|' || period_start || '|' || item_type || '|' || loans
             FROM core.loans WHERE source = '$1' ORDER BY period_start, service_point"
}
quarantine() {
    it_psql "SELECT line || '|' || reason || '|' || raw FROM ingest.quarantine WHERE source = '$1' ORDER BY line"
}
it_assert_eq "Riverside Library|2024-04-01|Adult fiction|12
Quay Library|2024-05-01|Adult fiction|9" "$(loans p-csv)" "p-csv: the two good rows loaded"
it_assert_eq "3|\"loans\" is \"twelve\": not a whole number|Exampleshire,Riverside Library,2024-05,Adult fiction,twelve
4|line 4: 10 fields where the header has 9|Exampleshire,Quay Library,2024-04,Adult fiction,5
5|\"month\" is \"2024-13\": no such month|Exampleshire,Quay Library,2024-13,DVD,3
6|line 6: 3 fields where the header has 9, over lines 6-7 (a quote that does not close where it should?)|Exampleshire
9|line 9: unterminated quoted field starting at line 9|Exampleshire,Quay Library" \
    "$(quarantine p-csv)" "p-csv: 5 bad rows quarantined with line, reason and mapped values only"

it_assert_eq "Riverside Library|2023-04-01|Adult fiction|12
Quay Library|2023-07-01|Adult fiction|9" "$(loans p-json)" "p-json: the two good records loaded"
q=$(quarantine p-json)
it_assert_eq "5" "$(wc -l <<<"$q" | tr -d ' ')" "p-json: 5 records quarantined"
expect_line() { # expect_line WHAT PATTERN (a bash pattern for one line of $q)
    local l
    while IFS= read -r l; do
        # shellcheck disable=SC2053 # $2 is a pattern
        [[ $l == $2 ]] && { it_log "ok: $1 ($l)"; return 0; }
    done <<<"$q"
    it_fail "$1: no quarantine row like '$2' in: $q"
}
expect_line "p-json: a string element, no values" "2|line 2: the record is a string, not a JSON object|"
expect_line "p-json: a nested count, the other mapped values" \
    "3|line 3: \"loans\" is an object, not a single value|Exampleshire,Riverside Library,2023-05,Adult fiction"
expect_line "p-json: bad UTF-8, no excerpt, the mapped values" \
    "4|line 4: not valid JSON: text that is not UTF-8 at byte [0-9]* of the record (its line 1, column [0-9]*)|Exampleshire,Quay Library,2023-04,DVD,3"
expect_line "p-json: an integer too big, no excerpt, the mapped values" \
    "5|line 5: not valid JSON: a number too large to hold at byte [0-9]* of the record (its line 1, column [0-9]*)|Exampleshire,Quay Library,2023-05,DVD,4"
expect_line "p-json: a duplicate key, no excerpt, the mapped values" \
    "6|line 6: not valid JSON: a key that appears twice at byte [0-9]* of the record (its line 1, column [0-9]*)|Exampleshire,Quay Library,2023-06,DVD,5"
it_assert_eq "2" "$(it_psql "SELECT count(*) FROM ingest.runs WHERE source = 'p-json' AND exit_status = 2
    AND error LIKE '%not a valid JSON export: byte % (line 9, column %): expected a value, found a letter (7 records before it were read)'")" \
    "p-json: both run records say what broke and where, not what it held"

it_assert_eq "Riverside Library|2022-04-01|Adult fiction|12
Quay Library|2022-07-01|Adult fiction|9" "$(loans p-ndjson)" "p-ndjson: the two good lines loaded"
q=$(quarantine p-ndjson)
it_assert_eq "4" "$(wc -l <<<"$q" | tr -d ' ')" "p-ndjson: 4 lines quarantined"
expect_line "p-ndjson: an array, no values" "2|line 2: the record is an array, not a JSON object|"
expect_line "p-ndjson: no JSON, no excerpt" \
    "3|line 3: not one JSON value: line 3, column [0-9]* (byte [0-9]*): expected ',' or '}' after a member of an object, found '\"'|"
expect_line "p-ndjson: a nested type, the other mapped values" \
    "4|line 4: \"item_type\" is an array, not a single value|Exampleshire,Quay Library,2022-05,3"
expect_line "p-ndjson: bad UTF-8, the mapped values" \
    "5|line 5: not valid JSON: text that is not UTF-8 at byte [0-9]* of the record (its line 1, column [0-9]*)|Exampleshire,Quay Library,2022-06,DVD,2"
it_assert_eq "14|2" "$(it_psql "SELECT count(*), min(seen_count) FROM ingest.quarantine WHERE source LIKE 'p-%'")" \
    "each bad record once in the quarantine, seen by both runs"
it_daemon_stop
"$SS_PGBIN/dropdb" -h "$SS_PGHOST" -p "$SS_PGPORT" -U "$SS_PGUSER" "$db" || it_log "could not drop $db"
