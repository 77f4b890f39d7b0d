#!/usr/bin/env bash
# A config that leaves several required fields unfilled is refused with all
# of them named in one message (the run, before anything is sent, and
# check-config's note); "mapping": {"loans": {"sum": ["Issues",
# "Renewals"]}} loads issues plus renewals into core.loans, and a row with
# one of the two empty, or not a number, is quarantined with the column
# named, never summed as 0.
source "$(dirname "$0")/lib.sh"
it_setup
mkdir -p "$IT_DIR/www"
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine ingest.runs" it_reset_db
it_daemon_start
url="http://127.0.0.1:$IT_HTTP_PORT"

printf 'Branch,Month,Issues,Renewals\nHill Top,2024-04,120,30\n' >"$IT_DIR/www/missing.csv"
it_collector_config "$IT_DIR/missing.json" missing "$url/missing.csv"
st=0; it_collect "$IT_DIR/missing.json" || st=$?
it_assert_eq 1 "$st" "required fields missing: exit status (setup)"
for f in authority item_type loans; do
    grep -q "needs fields the export and the config do not give:.*\"$f\" (a column named" "$IT_DIR/collect-missing.log" ||
        it_fail "the one setup message does not name \"$f\": $(grep -i needs "$IT_DIR/collect-missing.log")"
done
out=$("$SS_BIN_DIR/shelfsync-collect" --check-config --config "$IT_DIR/missing.json") || it_fail "check-config refused a valid file"
[[ $out == *'3 required fields of dataset "loans", so the export must have them: "authority" ('*'"loans" ('* ]] ||
    it_fail "check-config does not list the required fields: $out"

printf 'Authority,Branch,Month,Type,Issues,Renewals\n%s\n%s\n%s\n%s\n%s\n' \
    'Exampleshire,Hill Top,2024-04,Fiction,120,30' \
    'Exampleshire,Hill Top,2024-05,Fiction,"1,000",5' \
    'Exampleshire,Hill Top,2024-06,Fiction,7,' \
    'Exampleshire,Hill Top,2024-07,Fiction,x,3' \
    'Exampleshire,Dale,2024-04,Fiction,0,0' >"$IT_DIR/www/sum.csv"
it_collector_config "$IT_DIR/sum.json" sum "$url/sum.csv" \
    '"mapping": {"authority": "Authority", "service_point": "Branch", "item_type": "Type",
                 "loans": {"sum": ["Issues", "Renewals"]}}'
st=0; it_collect "$IT_DIR/sum.json" || st=$?
it_assert_eq 0 "$st" "sum: exit status"
it_assert_eq "Dale|2024-04-01|0,Hill Top|2024-04-01|150,Hill Top|2024-05-01|1005" \
    "$(it_psql "SELECT string_agg(service_point || '|' || period_start || '|' || loans, ',' ORDER BY service_point, period_start)
                FROM core.loans WHERE source = 'sum'")" "sum: issues plus renewals in core.loans"
it_assert_eq "4|line 4: \"Renewals\" is empty where \"Issues\" is not;5|line 5: \"Issues\" is no whole number (\"x\")" \
    "$(it_psql "SELECT string_agg(line || '|' || split_part(split_part(reason, ': \"mapping', 1), ', and', 1), ';' ORDER BY line)
                FROM ingest.quarantine WHERE source = 'sum'")" "sum: the rows it cannot add are quarantined, the column named"
it_daemon_stop
it_log "ok: every missing field named at once; sums load, half-empty and non-numeric ones are quarantined"
