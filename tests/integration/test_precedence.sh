#!/usr/bin/env bash
# Two sources for one fact: the second collector source sending the same
# loans key as the first (99,999 against 1) no longer replaces its value.
# Both values are kept in core.source_values, the fact row keeps the first
# (equal precedence) and core.v_source_disagreements shows both. Raising the
# second source's precedence (`shelfsync source precedence`) makes it win in
# core.loans and in the views at once; the winner changing its value updates
# the fact; the loser resending changes nothing; and a source reloading its
# own export still writes nothing (no row gets a new version).
source "$(dirname "$0")/lib.sh"
it_setup
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine ingest.source ingest.dataset_source core.source_values"
export IT_RESET_TABLES
mkdir -p "$IT_DIR/www"

H="Local authority,Library name,Month,Type,Loans"
# first: the contested key (1), a key both send alike (5), one of its own.
printf '%s\n%s\n%s\n%s\n' "$H" \
    "Exampleshire,Riverside Library,2024-04,Adult fiction,1" \
    "Exampleshire,Riverside Library,2024-04,DVD,5" \
    "Exampleshire,Hill Top Library,2024-04,Adult fiction,20" >"$IT_DIR/www/first.csv"
# second: the contested key (99,999), the agreed one, one of its own.
second() {
    printf '%s\n%s\n%s\n%s\n' "$H" \
        "Exampleshire,Riverside Library,2024-04,Adult fiction,$1" \
        "Exampleshire,Riverside Library,2024-04,DVD,5" \
        "Exampleshire,Lakeside Library,2024-04,Adult fiction,30" >"$IT_DIR/www/second.csv"
}
second 99999

it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_reset_db
it_test_authorities
it_daemon_start
url="http://127.0.0.1:$IT_HTTP_PORT"
it_collector_config "$IT_DIR/first.json" first "$url/first.csv" '"http": {"conditional": false}'
it_collector_config "$IT_DIR/second.json" second "$url/second.csv" '"http": {"conditional": false}'
src() { "$SS_BIN_DIR/shelfsync" source "$@" --config "$IT_DAEMON_CONFIG"; }

fact() {
    it_psql "SELECT loans || '|' || source FROM core.loans WHERE service_point = 'Riverside Library'
               AND item_type = '$1'"
}
month_view() {
    it_psql "SELECT loans FROM core.v_monthly_service_point WHERE authority_code = 'E99999901'
               AND service_point = 'Riverside Library' AND month = '2024-04-01'"
}
year_view() {
    it_psql "SELECT value FROM core.v_authority_year WHERE authority_code = 'E99999901'
               AND financial_year = '2024-25' AND measure = 'service_point_loans' AND age_group = 'All ages'"
}
disagreements() {
    it_psql "SELECT string_agg(source || ':' || precedence || ':' || (value::jsonb ->> 'loans') || ':' || winning, ' '
                               ORDER BY source)
               FROM core.v_source_disagreements
              WHERE dataset = 'loans' AND authority_code = 'E99999901' AND authority_name = 'Exampleshire'
                AND key::jsonb ->> 'service_point' = 'Riverside Library' AND key::jsonb ->> 'item_type' = 'Adult fiction'"
}
# versions: every row's xmin in core.loans and core.source_values: it moves
# when a row is written at all.
versions() {
    it_psql "SELECT (SELECT string_agg(xmin::text, ',' ORDER BY service_point, item_type) FROM core.loans)
               || '/' || coalesce((SELECT string_agg(xmin::text, ',' ORDER BY key, source) FROM core.source_values), '')"
}

# ---------------------------------------------------------------------------
it_collect "$IT_DIR/first.json" || it_fail "first's run exited with $?"
it_assert_eq "1|first" "$(fact 'Adult fiction')" "first alone: its value"
it_assert_eq "0" "$(it_psql 'SELECT count(*) FROM core.source_values')" "one source: nothing contested"
it_assert_eq "first|0" "$(it_psql "SELECT source || '|' || precedence FROM ingest.source")" \
    "the daemon registered the source at precedence 0"
before=$(versions)
it_collect "$IT_DIR/first.json" || it_fail "first's second run exited with $?"
it_assert_eq "$before" "$(versions)" "one source reloading its own export writes no row"

it_collect "$IT_DIR/second.json" || it_fail "second's run exited with $?"
it_assert_eq "1|first" "$(fact 'Adult fiction')" "equal precedence: the value already there stays"
it_assert_eq "5|first" "$(fact 'DVD')" "the agreed key keeps its first source"
it_assert_eq "30|second" "$(it_psql "SELECT loans || '|' || source FROM core.loans WHERE service_point = 'Lakeside Library'")" \
    "a key only the second source sends is loaded as before"
it_assert_eq "Adult fiction|first|1|true Adult fiction|second|99999|false DVD|first|5|true DVD|second|5|false" \
    "$(it_psql "SELECT string_agg(key ->> 'item_type' || '|' || source || '|' || (value ->> 'loans') || '|' || winning, ' '
                                   ORDER BY key ->> 'item_type', source) FROM core.source_values")" \
    "both sources' values of both shared keys are kept, the fact row's marked winning"
it_assert_eq "first:0:1:true second:0:99999:false" "$(disagreements)" "the disagreement view shows both values"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM core.v_source_disagreements WHERE key::jsonb ->> 'item_type' = 'DVD'")" \
    "sources that agree are no disagreement"
it_assert_eq "E99999901 / Riverside Library / Adult fiction / 2024-04-01 / 2024-04-30" \
    "$(it_psql "SELECT DISTINCT key_text FROM core.v_source_disagreements")" "the key, readable"
it_assert_eq "6" "$(month_view)" "the monthly view reads the winning value (1 + 5)"
it_assert_eq "56" "$(year_view)" "the year view reads the winning values (1 + 5 + 20 + 30)"

# ---------------------------------------------------------------------------
out=$(src precedence second 10 --note "the library system's own figures") ||
    it_fail "shelfsync source precedence failed: $out"
it_log "$out"
[[ $out == *'precedence 0 -> 10'* && $out == *'loans: 2 fact rows changed'* ]] ||
    it_fail "source precedence should say 0 -> 10 and 2 loans rows changed: $out"
it_assert_eq "99999|second" "$(fact 'Adult fiction')" "higher precedence: the second source's value wins"
it_assert_eq "5|second" "$(fact 'DVD')" "and its source holds the agreed key"
it_assert_eq "first:0:1:false second:10:99999:true" "$(disagreements)" "the disagreement view says who wins now"
it_assert_eq "100004" "$(month_view)" "the monthly view reads the new winner (99,999 + 5)"
it_assert_eq "100054" "$(year_view)" "the year view reads the new winner"
list=$(src list) || it_fail "shelfsync source list failed: $list"
it_log "$list"
[[ $(grep -E '^second +10 +2 +2 ' <<<"$list") == *"loans"*"the library system's own figures"* ]] ||
    it_fail "source list should show second at 10, 2 contested, 2 winning, loans, the note: $list"
[[ $(grep -E '^first +0 +2 +0 ' <<<"$list") == *loans* ]] ||
    it_fail "source list should show first at 0, 2 contested, none winning: $list"

st=0; out=$(src precedence nosuch 3 2>&1) || st=$?
it_assert_eq "1" "$st" "an unknown source is refused"
[[ $out == *'no source "nosuch"'*'first, second'* ]] || it_fail "the refusal should name the known sources: $out"
st=0; src precedence second high >/dev/null 2>&1 || st=$?
it_assert_eq "2" "$st" "a precedence that is no integer is a usage error"

# ---------------------------------------------------------------------------
second 12345
it_collect "$IT_DIR/second.json" || it_fail "second's changed run exited with $?"
it_assert_eq "12345|second" "$(fact 'Adult fiction')" "the winner changing its value updates the fact"
it_assert_eq "first:0:1:false second:10:12345:true" "$(disagreements)" "and its kept value"
it_assert_eq "12350" "$(month_view)" "and the views"

before=$(versions)
it_collect "$IT_DIR/first.json" || it_fail "first's run after losing exited with $?"
it_assert_eq "12345|second" "$(fact 'Adult fiction')" "the loser resending changes nothing"
it_assert_eq "$before" "$(versions)" "no fact or kept value is written when the loser resends"
before=$(versions)
it_collect "$IT_DIR/second.json" || it_fail "second's reload exited with $?"
it_assert_eq "$before" "$(versions)" "the winner reloading its own export writes nothing"

# Back to equal precedence: the value there stays (second's), nothing moves.
out=$(src precedence second 0) || it_fail "shelfsync source precedence failed: $out"
[[ $out == *'loans: 0 fact rows changed'* ]] || it_fail "equal again: nothing should change: $out"
it_assert_eq "12345|second" "$(fact 'Adult fiction')" "equal precedence again: the value there stays"
# Lower than the first: it wins again, with its own value and batch.
"$SS_BIN_DIR/shelfsync" source precedence second --config "$IT_DAEMON_CONFIG" -- -1 >/dev/null ||
    it_fail "shelfsync source precedence -- -1 failed"
it_assert_eq "1|first" "$(fact 'Adult fiction')" "lower precedence: the first source's value is back"
it_assert_eq "t" "$(it_psql "SELECT l.batch_id = v.batch_id FROM core.loans l JOIN core.source_values v
                              ON v.dataset = 'loans' AND v.source = 'first' AND v.key ->> 'service_point' = l.service_point
                             AND v.key ->> 'item_type' = l.item_type
                           WHERE l.service_point = 'Riverside Library' AND l.item_type = 'Adult fiction'")" \
    "the fact row points at the batch that gave the winning value"
it_assert_eq "0" "$(it_psql 'SELECT count(*) FROM ingest.quarantine')" "nothing quarantined"

# ---------------------------------------------------------------------------
# Two new sources sending the same 8,000 keys (values one apart) at the same
# time, in many batches each: whichever batch comes second for a key, both
# values are kept, one of them wins, and the fact row holds that one.
read -r rows _ < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/alpha.csv" 8000)
ss_python - "$IT_DIR/www/alpha.csv" "$IT_DIR/www/beta.csv" <<'PY'
import sys
with open(sys.argv[1], newline="") as f, open(sys.argv[2], "w", newline="") as g:
    for i, line in enumerate(f):
        if i:
            head, _, n = line.rstrip("\r\n").rpartition(",")
            line = f"{head},{int(n) + 1}\r\n"
        g.write(line)
PY
it_collector_config "$IT_DIR/alpha.json" alpha "$url/alpha.csv" '"batch": {"records": 250}, "send": {"give_up_after_s": 60}'
it_collector_config "$IT_DIR/beta.json" beta "$url/beta.csv" '"batch": {"records": 400}, "send": {"give_up_after_s": 60}'
it_collect_bg "$IT_DIR/alpha.json"
pid_a=$IT_COLLECT_PID
it_collect_bg "$IT_DIR/beta.json"
pid_b=$IT_COLLECT_PID
IT_COLLECT_PID=$pid_a IT_COLLECT_SOURCE=alpha
st=0; it_collect_wait 120 || st=$?
it_assert_eq 0 "$st" "collector alpha's exit status"
IT_COLLECT_PID=$pid_b IT_COLLECT_SOURCE=beta
st=0; it_collect_wait 120 || st=$?
it_assert_eq 0 "$st" "collector beta's exit status"
A0="key ->> 'authority_code' = 'E99000000'"
it_assert_eq "$rows" "$(it_psql "SELECT count(*) FROM core.loans WHERE authority_code = 'E99000000'")" \
    "at once: every key loaded once"
it_assert_eq "$((2 * rows))|$rows|$rows" \
    "$(it_psql "SELECT count(*), count(*) FILTER (WHERE winning), count(DISTINCT key) FILTER (WHERE winning)
                  FROM core.source_values WHERE dataset = 'loans' AND $A0")" \
    "at once: both values of every key kept, exactly one winning per key"
it_assert_eq "$rows" "$(it_psql "SELECT count(*) FROM core.loans l JOIN core.source_values v
                                   ON v.dataset = 'loans' AND v.winning AND v.source = l.source
                                  AND v.key = jsonb_build_object('authority_code', l.authority_code,
                                      'service_point', l.service_point, 'item_type', l.item_type,
                                      'period_start', l.period_start, 'period_end', l.period_end)
                                  AND (v.value ->> 'loans')::bigint = l.loans
                                WHERE l.authority_code = 'E99000000'")" \
    "at once: every fact row holds its winning value"
it_assert_eq "$((2 * rows))" "$(it_psql "SELECT count(*) FROM core.v_source_disagreements WHERE authority_code = 'E99000000'")" \
    "at once: every key a disagreement, both sides shown"
it_daemon_stop
