#!/usr/bin/env bash
# shelfsync serve: the exports over HTTP on loopback, read-only.
# 1. curl: the index, a CSV and its datapackage.json, byte for byte what
#    shelfsync export writes; ETag and Last-Modified; If-None-Match and
#    If-Modified-Since answered 304; a change in the warehouse changes both
#    and the conditional answer is 200 again; unknown paths, datasets and
#    authorities 404 with the reason; only GET and HEAD.
# 2. A loop, region -> national: a second warehouse (a second database of
#    the same PostgreSQL) collects the served CSV with an ordinary csv
#    collector config: every row exactly once (its own export is the same
#    bytes); a second run gets 304 and loads nothing new.
source "$(dirname "$0")/lib.sh"
it_setup
it_need_tool curl
fx="${SS_FIXTURES:-$SS_SOURCE_DIR/../shared/fixtures}"
it_need_fixture "$fx/librarydata-schemas"
IT_RESET_TABLES="$(echo core.{service_points,service_point_alias,mobile_stops,events,loans,visits,membership,stock}) ingest.batches ingest.quarantine"
it_reset_db
it_http_start "$fx"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
"$SS_BIN_DIR/shelfsync" ref load authorities "$fx/activity-2023-24/library_authorities.json" --config "$IT_DAEMON_CONFIG" >/dev/null
it_daemon_start
for pair in barnet-events:events:events_barnet barnet-stock:stock:stock_summary_barnet; do
    IFS=: read -r source dataset file <<<"$pair"
    it_collector_config "$IT_DIR/$source.json" "$source" "http://127.0.0.1:$IT_HTTP_PORT/librarydata-schemas/data/$file.csv" "\"dataset\": \"$dataset\""
    it_collect "$IT_DIR/$source.json" || it_fail "$source: collector exited with $?"
done
events=$(it_psql "SELECT count(*) FROM core.events WHERE authority_code = 'E09000003'")

port=$(ss_free_port)
"$SS_BIN_DIR/shelfsync" serve --listen "127.0.0.1:$port" --config "$IT_DAEMON_CONFIG" >>"$IT_DIR/serve.log" 2>&1 &
serve_pid=$!
IT_PIDS+=("$serve_pid")
ss_wait_until 30 ss_tcp_accepts "$port" || { cat "$IT_DIR/serve.log"; it_fail "shelfsync serve does not listen on $port"; }
base=http://127.0.0.1:$port/export
it_log "serving on $base ($(tail -n 1 "$IT_DIR/serve.log"))"

# get PATH [curl args]: body to $IT_DIR/body, headers to $IT_DIR/headers; prints the status.
get() {
    local path=$1
    shift
    rm -f "$IT_DIR/body"
    curl -sS -o "$IT_DIR/body" -D "$IT_DIR/headers" -w '%{http_code}' "$@" "$base$path"
}
header() { grep -i "^$1:" "$IT_DIR/headers" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }

it_assert_eq 200 "$(get /)" "the index"
ss_python -c '
import json, sys
idx = json.load(open(sys.argv[1]))
e = [x for x in idx if x["dataset"] == "events" and x["authority"] == "E09000003"]
assert len(e) == 1 and e[0]["rows"] == int(sys.argv[2]) and e[0]["csv"] == "/export/events/E09000003.csv", e
' "$IT_DIR/body" "$events" || it_fail "the index does not list Barnet's events with their rows"

"$SS_BIN_DIR/shelfsync" export --dataset events --authority E09000003 --config "$IT_DAEMON_CONFIG" >"$IT_DIR/events.csv" 2>/dev/null
it_assert_eq 200 "$(get /events/E09000003.csv)" "the events CSV"
cmp -s "$IT_DIR/body" "$IT_DIR/events.csv" || it_fail "the served CSV is not what shelfsync export writes"
it_assert_eq "text/csv; charset=utf-8" "$(header Content-Type)" "its content type"
etag=$(header ETag)
lastmod=$(header Last-Modified)
it_assert_eq "\"$(sha256sum "$IT_DIR/events.csv" | cut -d' ' -f1)\"" "$etag" "ETag: the SHA-256 of the CSV"
want=$(it_psql "SELECT to_char(max(loaded_at) AT TIME ZONE 'UTC', 'Dy, DD Mon YYYY HH24:MI:SS') || ' GMT' FROM core.events WHERE authority_code = 'E09000003'")
it_assert_eq "$want" "$lastmod" "Last-Modified: when Barnet's events last changed"
it_assert_eq 304 "$(get /events/E09000003.csv -H "If-None-Match: $etag")" "If-None-Match with the ETag"
[[ ! -s $IT_DIR/body ]] || it_fail "a 304 has a body"
it_assert_eq "0" "$(header Content-Length)" "a 304's Content-Length"
it_assert_eq "$etag" "$(header ETag)" "a 304 carries the ETag"
it_assert_eq 304 "$(get /events/E09000003.csv -H "If-None-Match: \"other\", $etag")" "If-None-Match with a list naming the ETag"
it_assert_eq 200 "$(get /events/E09000003.csv -H 'If-None-Match: "other"')" "If-None-Match with another ETag"
it_assert_eq 304 "$(get /events/E09000003.csv -H "If-Modified-Since: $lastmod")" "If-Modified-Since the Last-Modified"
it_assert_eq 200 "$(get /events/E09000003.csv -H 'If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT')" "If-Modified-Since long ago"
it_assert_eq 200 "$(get /events/E09000003.csv -I)" "HEAD"

it_assert_eq 200 "$(get /events/E09000003/datapackage.json)" "the datapackage.json"
ss_python -c '
import json, sys, hashlib
d = json.load(open(sys.argv[1]))
r = d["resources"][0]
data = open(sys.argv[2], "rb").read()
assert r["path"] == "events_E09000003.csv", r["path"]
assert r["bytes"] == len(data) and r["hash"] == "sha256:" + hashlib.sha256(data).hexdigest(), r
assert d["licenses"][0]["name"] == "OGL-UK-3.0"
' "$IT_DIR/body" "$IT_DIR/events.csv" || it_fail "the served datapackage.json does not describe the served CSV"
it_assert_eq 200 "$(get /events/E09000003/events_E09000003.csv)" "the CSV where the package points"
cmp -s "$IT_DIR/body" "$IT_DIR/events.csv" || it_fail "the CSV beside the package differs"

it_assert_eq 404 "$(get /finance/E09000003.csv)" "an unknown dataset"
grep -q 'unknown dataset "finance"' "$IT_DIR/body" || it_fail "404 does not say why: $(cat "$IT_DIR/body")"
it_assert_eq 404 "$(get /events/E09999999.csv)" "an unknown authority"
it_assert_eq 404 "$(get /events/E08000021.csv)" "an authority with no events"
it_assert_eq 404 "$(get /../../etc/passwd)" "a path outside /export"
it_assert_eq 405 "$(get /events/E09000003.csv -X DELETE)" "DELETE"

# The read-only connection: it cannot write even if asked to.
it_assert_eq 1 "$(it_psql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'shelfsync serve'")" "serve's one connection"

# A change in the warehouse: a new ETag and Last-Modified.
sleep 1
it_psql "UPDATE core.events SET attendees = attendees + 1, loaded_at = now() WHERE authority_code = 'E09000003' AND event_date = (SELECT min(event_date) FROM core.events WHERE authority_code = 'E09000003')" >/dev/null
it_assert_eq 200 "$(get /events/E09000003.csv -H "If-None-Match: $etag")" "after a change: If-None-Match is 200"
[[ $(header ETag) != "$etag" && $(header Last-Modified) != "$lastmod" ]] || it_fail "after a change the ETag and Last-Modified are the same"
it_assert_eq 200 "$(get /events/E09000003.csv -H "If-Modified-Since: $lastmod")" "after a change: If-Modified-Since is 200"

# 2. The loop: a national warehouse collects the region's served export.
db2=${SS_PGDATABASE}_national
it_psql "DROP DATABASE IF EXISTS $db2" >/dev/null
it_psql "CREATE DATABASE $db2" >/dev/null
it_log "created database $db2"
psql2() { "$SS_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -tA -h "$SS_PGHOST" -p "$SS_PGPORT" -U "$SS_PGUSER" -d "$db2" -c "$1"; }
port2=$(ss_free_port)
cat >"$IT_DIR/national.json" <<JSON
{
  "description": "integration test $IT_NAME, the national warehouse",
  "listen": "tcp://127.0.0.1:$port2",
  "insecure": true,
  "database": {"conninfo": $(ss_json_str "host=$SS_PGHOST port=$SS_PGPORT dbname=$db2 user=$SS_PGUSER")}
}
JSON
"$SS_BIN_DIR/shelfsync" migrate --config "$IT_DIR/national.json" >>"$IT_DIR/migrate.log" 2>&1 || it_fail "migrating $db2 failed"
"$SS_BIN_DIR/shelfsync" ref load authorities "$fx/activity-2023-24/library_authorities.json" --config "$IT_DIR/national.json" >/dev/null
"$SS_BIN_DIR/shelfsyncd" --config "$IT_DIR/national.json" >>"$IT_DIR/daemon2.log" 2>&1 &
d2_pid=$!
IT_PIDS+=("$d2_pid")
ss_wait_until 30 ss_tcp_accepts "$port2" || it_fail "the national shelfsyncd does not listen"
for dataset in events stock; do
    cat >"$IT_DIR/national-$dataset.json" <<JSON
{
  "description": "Barnet's $dataset, as the region publishes them",
  "source": "region-barnet-$dataset",
  "dataset": "$dataset",
  "url": "$base/$dataset/E09000003.csv",
  "state_dir": "$IT_DIR/state-national-$dataset",
  "daemon": {"endpoints": ["tcp://127.0.0.1:$port2"]}
}
JSON
    it_collect "$IT_DIR/national-$dataset.json" || it_fail "national $dataset: collector exited with $?"
    table=core.$dataset
    it_assert_eq "$(it_psql "SELECT count(*) FROM $table WHERE authority_code = 'E09000003'")" \
        "$(psql2 "SELECT count(*) FROM $table WHERE authority_code = 'E09000003'")" "national $dataset: every row"
    it_assert_eq 0 "$(psql2 "SELECT coalesce(sum(quarantined), 0) FROM ingest.batches")" "national $dataset: nothing quarantined"
    "$SS_BIN_DIR/shelfsync" export --dataset "$dataset" --authority E09000003 --config "$IT_DAEMON_CONFIG" >"$IT_DIR/a.csv" 2>/dev/null
    "$SS_BIN_DIR/shelfsync" export --dataset "$dataset" --authority E09000003 --config "$IT_DIR/national.json" >"$IT_DIR/b.csv" 2>/dev/null
    cmp -s "$IT_DIR/a.csv" "$IT_DIR/b.csv" || { diff "$IT_DIR/a.csv" "$IT_DIR/b.csv" | head; it_fail "national $dataset: its export differs from the region's"; }
    it_log "national $dataset: $(($(wc -l <"$IT_DIR/b.csv") - 1)) rows, exactly the region's"
    batches=$(psql2 "SELECT count(*) FROM ingest.batches")
    loaded=$(psql2 "SELECT max(loaded_at) FROM $table")
    it_collect "$IT_DIR/national-$dataset.json" || it_fail "national $dataset, second run: collector exited with $?"
    it_assert_eq "$batches" "$(psql2 "SELECT count(*) FROM ingest.batches")" "national $dataset, second run: no new batch"
    it_assert_eq "$loaded" "$(psql2 "SELECT max(loaded_at) FROM $table")" "national $dataset, second run: nothing loaded"
    grep -qiE '304|not modified|unchanged' "$IT_DIR/collect-region-barnet-$dataset.log" || it_fail "national $dataset, second run: the collector does not say unchanged"
done
it_log "second runs: $(grep -iE '304|not modified|unchanged' "$IT_DIR"/collect-region-barnet-*.log | tail -n 2 | tr '\n' ' ')"
kill -TERM "$serve_pid" "$d2_pid"
wait "$serve_pid" || it_fail "shelfsync serve exited with $? on SIGTERM"
wait "$d2_pid" || true
_it_forget_pid "$serve_pid"
_it_forget_pid "$d2_pid"
it_psql "DROP DATABASE $db2" >/dev/null
it_daemon_stop
