#!/usr/bin/env bash
# The register keeps history: a library whose hours or status change keeps
# its earlier versions with validity dates under one id -- the dates the
# register says it describes (its "As of" column), not the load times; a
# library that closes keeps its id and stays listed, as closed; loading the
# same register again changes nothing. (Older registers loaded after newer
# ones, two names for one library: test_service_point_history.sh.)
source "$(dirname "$0")/lib.sh"
it_setup
IT_RESET_TABLES="core.service_points core.service_point_alias ingest.batches ingest.quarantine" it_reset_db
mkdir -p "$IT_DIR/www"
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start
# Conditional GET off: the test rewrites the file within the second, which a
# Last-Modified of one-second resolution cannot tell apart.
it_collector_config "$IT_DIR/reg.json" register "http://127.0.0.1:$IT_HTTP_PORT/libraries.csv" \
    '"dataset": "service_points", "http": {"conditional": false}'

header='Local authority,Library name,Address 1,Address 2,Address 3,Postcode,Unique property reference number,Statutory,Type of library,Year opened,Year closed,Monday staffed hours,Tuesday staffed hours,Wednesday staffed hours,Thursday staffed hours,Friday staffed hours,Saturday staffed hours,Sunday staffed hours,Monday unstaffed hours,Tuesday unstaffed hours,Wednesday unstaffed hours,Thursday unstaffed hours,Friday unstaffed hours,Saturday unstaffed hours,Sunday unstaffed hours,Special hours,Co-located,Co-located with,Notes,URL,Email address,As of'
asof=2024-01-01
row() { # name postcode type year_closed monday
    printf 'Exampleshire,%s,1 High Street,,Exampleton,%s,,Yes,%s,1990,%s,"%s",09:00-17:00,,,,,,,,,,,,,,No,,,,,%s\n' "$1" "$2" "$3" "$4" "$5" "$asof"
}
{ echo "$header"; row Abbey "EX1 1AA" LAL "" "09:00-12:00,13:00-17:00"; row Brook "ex2 2bb" LAL "" "09:00-17:00"
  row Castle "EX3 3CC" CRL "" "10:00-14:00"; } >"$IT_DIR/www/libraries.csv"
it_collect "$IT_DIR/reg.json" || it_fail "first load"
it_assert_eq "3|3" "$(it_psql "SELECT count(*), count(*) FILTER (WHERE valid_to IS NULL) FROM core.service_points")" "three libraries, one version each"
it_assert_eq "EX2 2BB" "$(it_psql "SELECT postcode FROM core.service_points WHERE name = 'Brook'")" "postcode normalised"
first=$(it_psql "SELECT string_agg(name || '=' || service_point_id, ',' ORDER BY name) FROM core.service_points")

it_assert_eq "2024-01-01 00:00:00+00|record" "$(it_psql "SELECT DISTINCT valid_from AT TIME ZONE 'UTC' || '+00', valid_from_basis FROM core.service_points")" \
    "each version is valid from the register's own date"

# Abbey changes its hours and becomes community run; Brook closes; Castle
# stays as it was; Dale opens.
asof=2024-06-01
{ echo "$header"; row Abbey "EX1 1AA" CRL "" "10:00-16:00"; row Brook "EX2 2BB" LAL 2024 ""
  row Castle "EX3 3CC" CRL "" "10:00-14:00"; row Dale "EX4 4DD" LAL "" "09:00-17:00"; } >"$IT_DIR/www/libraries.csv"
it_collect "$IT_DIR/reg.json" || it_fail "second load"
it_assert_eq "6|4" "$(it_psql "SELECT count(*), count(*) FILTER (WHERE valid_to IS NULL) FROM core.service_points")" "six versions, four current"
it_assert_eq "$first" "$(it_psql "SELECT string_agg(DISTINCT name || '=' || service_point_id, ',') FROM core.service_points WHERE name <> 'Dale'")" \
    "every library kept its id across versions"
it_assert_eq "LAL|09:00-12:00,13:00-17:00|420|f
CRL|10:00-16:00|360|t" "$(it_psql "SELECT library_type, monday_staffed, monday_staffed_minutes, valid_to IS NULL FROM core.service_points WHERE name = 'Abbey' ORDER BY valid_from, valid_to NULLS LAST")" \
    "Abbey: the earlier version kept, ended; the new one current"
it_assert_eq "t" "$(it_psql "SELECT (SELECT valid_to FROM core.service_points WHERE name = 'Abbey' AND valid_to IS NOT NULL) = (SELECT valid_from FROM core.service_points WHERE name = 'Abbey' AND valid_to IS NULL)")" \
    "validity dates meet: one version ends when the next begins"
it_assert_eq "|Open|f
2024|Closed|t" "$(it_psql "SELECT year_closed, status, valid_to IS NULL FROM core.service_points WHERE name = 'Brook' ORDER BY valid_from, valid_to NULLS LAST")" \
    "Brook closed: the open version ended, the closed one stays listed"
it_assert_eq "2024-06-01" "$(it_psql "SELECT DISTINCT valid_to::date FROM core.service_points WHERE valid_to IS NOT NULL")" \
    "the earlier versions end when the later register's date begins"
it_assert_eq "1" "$(it_psql "SELECT count(*) FROM core.service_points WHERE name = 'Castle'")" "Castle unchanged: no new version"

# The same register again: nothing changes.
before=$(it_psql "SELECT md5(string_agg(t::text, ',' ORDER BY service_point_id, valid_from)) FROM core.service_points t")
it_collect "$IT_DIR/reg.json" || it_fail "third load"
it_assert_eq "$before" "$(it_psql "SELECT md5(string_agg(t::text, ',' ORDER BY service_point_id, valid_from)) FROM core.service_points t")" \
    "the same register again changes nothing"

# A register that leaves a closed library out does not delete it.
asof=2024-09-01
{ echo "$header"; row Abbey "EX1 1AA" CRL "" "10:00-16:00"; row Castle "EX3 3CC" CRL "" "10:00-14:00"
  row Dale "EX4 4DD" LAL "" "09:00-17:00"; } >"$IT_DIR/www/libraries.csv"
it_collect "$IT_DIR/reg.json" || it_fail "fourth load"
it_assert_eq "2024" "$(it_psql "SELECT year_closed FROM core.service_points WHERE name = 'Brook' AND valid_to IS NULL")" "closed libraries stay"
it_assert_eq "14.0" "$(it_psql "SELECT round(staffed_hours_per_week, 1) FROM core.v_service_points_current WHERE name = 'Abbey'" 2>/dev/null || echo view)" \
    "hours per week in the analysts' view (Monday 6 + Tuesday 8)"
it_daemon_stop
