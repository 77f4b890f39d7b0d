#!/usr/bin/env bash
# The "json" source kind end to end: a top-level array whose keys are the
# field names (no mapping), a Koha-like {"data": {"items": [...]}} with its
# own key names and a nested member mapped, NDJSON events (occurrence filled
# by the collector), and an export that breaks part-way (exit 2, the records
# before the fault loaded).
source "$(dirname "$0")/lib.sh"
it_setup
IT_RESET_TABLES="core.loans core.events ingest.batches ingest.quarantine" it_reset_db
www=$IT_DIR/www
mkdir -p "$www"

# (1) Keys are already the dataset's field names. Element 3 is not an
# object and element 4 has an object where a value is wanted: both are
# quarantined with the reason (element 4 with its other mapped values,
# element 3 with none); the rest load.
cat >"$www/loans.json" <<'EOF'
[
  {"authority": "Exampleshire", "service_point": "Riverside Library", "month": "2024-04",
   "item_type": "Adult fiction", "loans": 120, "ignored": {"nested": [1, 2]}},
  {"authority": "Exampleshire", "service_point": "Hill Top Library, \"Upper\" Floor ]}", "month": "2024-04",
   "item_type": "Children\u2019s", "loans": "85"},
  42,
  {"authority": "Exampleshire", "service_point": "Riverside Library", "month": "2024-05",
   "item_type": "Adult fiction", "loans": {"n": 3}},
  {"item_type": "Adult non fiction", "loans": 7, "month": "2024-05",
   "service_point": "Riverside Library", "authority": "Exampleshire"}
]
EOF

# (2) Koha-like: the records at data.items, other keys before and after
# (one holding text that looks like the path), the library's name nested.
cat >"$www/koha.json" <<'EOF'
{"meta": {"note": "\"items\": [ not these ]", "items": [{"council": "Nowhere"}]},
 "data": {"total": 3,
          "items": [
   {"council": "Exampleshire", "branch": {"code": "RV", "name": "Riverside Library"},
    "yearmonth": "2024-06", "itype": "DVD", "issues": 12},
   {"council": "Exampleshire", "branch": {"code": "QY", "name": "Quay Library"},
    "yearmonth": "2024-06", "itype": "DVD", "issues": 0},
   {"council": "Exampleshire", "branch": {"code": "QY", "name": "Quay Library"},
    "yearmonth": "2024-06", "itype": "Large print", "issues": 1.0e1}
          ],
          "page": 1},
 "links": {"next": null}}
EOF

# (3) NDJSON events, CRLF and a blank line; two sessions of the same event.
printf '%s\r\n' \
    '{"authority": "Exampleshire", "service_point": "Riverside Library", "event_date": "2024-04-02", "name": "Rhyme time", "main_outcome": "Increased reading and literacy", "attendees": 14}' \
    '' \
    '{"authority": "Exampleshire", "service_point": "Riverside Library", "event_date": "2024-04-02", "name": "Rhyme time", "main_outcome": "Increased reading and literacy", "attendees": 9}' \
    '{"authority": "Exampleshire", "service_point": "Quay Library", "event_date": "2024-04-03", "name": "Code club", "main_outcome": "Increased digital access and literacy", "attendees": 6, "secondary_outcome": null}' \
    >"$www/events.ndjson"

# (4) Two good records, then garbage between elements.
cat >"$www/broken.json" <<'EOF'
[{"authority": "Exampleshire", "service_point": "Broken Library", "month": "2024-04", "item_type": "A", "loans": 1},
 {"authority": "Exampleshire", "service_point": "Broken Library", "month": "2024-04", "item_type": "B", "loans": 2}
 oops
 {"authority": "Exampleshire", "service_point": "Broken Library", "month": "2024-04", "item_type": "C", "loans": 3}]
EOF

it_http_start "$www"
url="http://127.0.0.1:$IT_HTTP_PORT"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start

# (1)
it_collector_config "$IT_DIR/plain.json" plain "$url/loans.json" '"kind": "json"'
it_collect "$IT_DIR/plain.json" || it_fail "collector (top-level array) exited with $?"
it_assert_eq "E99999901|Hill Top Library, \"Upper\" Floor ]}|2024-04-01|2024-04-30|Children’s|85
E99999901|Riverside Library|2024-04-01|2024-04-30|Adult fiction|120
E99999901|Riverside Library|2024-05-01|2024-05-31|Adult non fiction|7" \
    "$(it_psql "SELECT authority_code, service_point, period_start, period_end, item_type, loans
                FROM core.loans WHERE source = 'plain' ORDER BY service_point, period_start")" \
    "top-level array loaded without a mapping"
it_assert_eq "3|line 3: the record is a number, not a JSON object|
4|line 4: \"loans\" is an object, not a single value|Exampleshire,Riverside Library,2024-05,Adult fiction" \
    "$(it_psql "SELECT line || '|' || reason || '|' || raw FROM ingest.quarantine WHERE source = 'plain' ORDER BY line")" \
    "a non-object element and a non-scalar value quarantined with element number, reason and text"

# (2)
it_collector_config "$IT_DIR/koha.json" koha "$url/koha.json" \
    '"kind": "json", "json": {"path": "data.items"},
     "mapping": {"authority": "council", "service_point": "branch.name", "month": "yearmonth",
                 "item_type": "itype", "loans": "issues"}'
it_collect "$IT_DIR/koha.json" || it_fail "collector (data.items) exited with $?"
it_assert_eq "E99999901|Quay Library|2024-06-01|DVD|0
E99999901|Quay Library|2024-06-01|Large print|10
E99999901|Riverside Library|2024-06-01|DVD|12" \
    "$(it_psql "SELECT authority_code, service_point, period_start, item_type, loans
                FROM core.loans WHERE source = 'koha' ORDER BY service_point, item_type")" \
    "records at data.items loaded through the mapping, nested member included"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM ingest.quarantine WHERE source = 'koha'")" "nothing quarantined"
it_collect "$IT_DIR/koha.json" || it_fail "second data.items run exited with $?"
it_assert_eq "1" "$(it_psql "SELECT count(*) FROM ingest.batches WHERE source = 'koha'")" \
    "unchanged export (conditional GET) sends nothing the second time"

# (3)
it_collector_config "$IT_DIR/events.json" events "$url/events.ndjson" \
    '"dataset": "events", "kind": "json", "json": {"ndjson": true}'
it_collect "$IT_DIR/events.json" || it_fail "collector (NDJSON) exited with $?"
it_assert_eq "E99999901|Quay Library|2024-04-03|Code club|1|Increased digital access and literacy|6
E99999901|Riverside Library|2024-04-02|Rhyme time|1|Increased reading and literacy|14
E99999901|Riverside Library|2024-04-02|Rhyme time|2|Increased reading and literacy|9" \
    "$(it_psql "SELECT authority_code, service_point, event_date, name, occurrence, main_outcome, attendees
                FROM core.events ORDER BY service_point, occurrence")" \
    "NDJSON events loaded, occurrence numbered by the collector"

# (4)
it_collector_config "$IT_DIR/broken.json" broken "$url/broken.json" '"kind": "json"'
st=0
it_collect "$IT_DIR/broken.json" || st=$?
it_assert_eq "2" "$st" "an export that breaks part-way fails the run with exit status 2"
grep -q "not a valid JSON export: byte 234 (line 3, column 2): expected ',' or ']' after a record, found a letter (2 records before it were read)" \
    "$IT_DIR/collect-broken.log" || it_fail "the collector's log does not say what and where the fault is"
it_log "ok: the log says what and where: $(grep -o 'not a valid JSON export.*' "$IT_DIR/collect-broken.log" | head -n 1)"
it_assert_eq "A|1
B|2" "$(it_psql "SELECT item_type, loans FROM core.loans WHERE source = 'broken' ORDER BY item_type")" \
    "the complete records before the fault loaded"
it_daemon_stop
