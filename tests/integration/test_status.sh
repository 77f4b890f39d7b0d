#!/usr/bin/env bash
# shelfsync status: after a known load (one source complete with rows and
# quarantined records, one whose run failed) the table and --json give
# exactly those facts, the exit status names the failed source, --source
# filters, --stale-after makes a source stale; the outbox depth a collector
# reports when its daemon was away arrives with its run-end record.
# shelfsync ping: answers insecure and over CURVE; a closed port, a wrong
# server key and a key the daemon does not know fail with their reason.
source "$(dirname "$0")/lib.sh"
it_setup
IT_RESET_TABLES="core.loans ingest.batches ingest.quarantine core.source_values ingest.runs ingest.batch_coverage ingest.run_keys" it_reset_db

www="$IT_DIR/www"
mkdir -p "$www"
cp "$SS_SOURCE_DIR/tests/fixtures/loans_mixed.csv" "$www/"
it_http_start "$www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start

status() { "$SS_BIN_DIR/shelfsync" status --config "$IT_DAEMON_CONFIG" "$@"; }
# jq-like: py EXPR < json, with d the document.
py() { ss_python -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

it_log "a complete run (4 rows, 5 quarantined) and a failed one"
it_collector_config "$IT_DIR/mixed.json" mixed "http://127.0.0.1:$IT_HTTP_PORT/loans_mixed.csv" '"http": {"conditional": false}'
it_collect "$IT_DIR/mixed.json" || it_fail "collector mixed exited with $?"
it_collector_config "$IT_DIR/broken.json" broken "http://127.0.0.1:$IT_HTTP_PORT/missing.csv" '"http": {"retries": 0}'
rc=0
it_collect "$IT_DIR/broken.json" || rc=$?
[[ $rc -ne 0 ]] || it_fail "the collector of a missing export exited 0"
it_assert_eq "failed" "$(it_psql "SELECT outcome FROM ingest.runs WHERE source = 'broken'")" "broken's run failed"

rc=0
status --json --year 2024-25 >"$IT_DIR/status.json" 2>"$IT_DIR/status.err" || rc=$?
it_assert_eq 3 "$rc" "status exits 3: a source's last run failed"
it_assert_eq "failed 3" "$(py 'd["status"], d["exit_status"]' <"$IT_DIR/status.json" | tr -d "(),'")" "document verdict"
it_assert_eq "broken mixed" "$(py '" ".join(s["source"] for s in d["sources"])' <"$IT_DIR/status.json")" "one entry per source, by name"
mixed_run=$(it_psql "SELECT run_id FROM ingest.runs WHERE source = 'mixed'")
m='[s for s in d["sources"] if s["source"] == "mixed"][0]'
b='[s for s in d["sources"] if s["source"] == "broken"][0]'
it_assert_eq "ok complete 0 $mixed_run" \
    "$(py "' '.join(str(x) for x in ($m['state'], $m['last_run']['outcome'], $m['last_run']['exit_status'], $m['last_run']['run_id']))" <"$IT_DIR/status.json")" "mixed: state, outcome, exit status, run"
it_assert_eq "4 5 4 5 0" \
    "$(py "' '.join(str(x) for x in ($m['last_run']['rows_loaded'], $m['last_run']['quarantined'], $m['rows_loaded_total'], $m['quarantined_total'], $m['last_run']['outbox_batches']))" <"$IT_DIR/status.json")" \
    "mixed: rows and quarantined (last run, total), outbox"
it_assert_eq "$mixed_run" "$(py "$m['last_success']['run_id']" <"$IT_DIR/status.json")" "mixed: last success is its run"
it_assert_eq "True" "$(py "0 <= $m['lag_s'] < 600" <"$IT_DIR/status.json")" "mixed: lag since the last success"
newest=$(it_psql "SELECT to_char(max(month), 'YYYY-MM') FROM ingest.batch_coverage")
it_assert_eq "$newest" "$(py "$m['newest_period']" <"$IT_DIR/status.json")" "mixed: newest period loaded"
reasons=$(it_psql "SELECT string_agg(reason || '=' || records, '|' ORDER BY records DESC, reason) FROM (SELECT reason, sum(records) AS records FROM core.v_quarantine_counts WHERE source = 'mixed' GROUP BY reason) q")
it_assert_eq "$reasons" "$(py "'|'.join(r['reason'] + '=' + str(r['records']) for r in $m['rejects'])" <"$IT_DIR/status.json")" "mixed: rejects by reason"
it_assert_eq "5" "$(py "sum(r['records'] for r in $m['rejects'])" <"$IT_DIR/status.json")" "mixed: rejects add up to the quarantined records"
coverage=$(it_psql "SELECT string_agg(dataset || ':' || authority_code || ':' || n, '|' ORDER BY dataset, authority_code) FROM (SELECT c.dataset, c.authority_code, count(DISTINCT month) AS n FROM ingest.batch_coverage c WHERE month >= '2024-04-01' AND month < '2025-04-01' GROUP BY 1, 2) x")
it_assert_eq "$coverage" "$(py "'|'.join(c['dataset'] + ':' + c['authority_code'] + ':' + str(c['months_reported']) for c in $m['year_coverage'])" <"$IT_DIR/status.json")" "mixed: months of 2024-25 per dataset and authority"
it_assert_eq "2024-25 12" "$(py '" ".join((d["financial_year"], str(d["months_elapsed"])))' <"$IT_DIR/status.json")" "a past financial year: 12 months elapsed"
it_assert_eq "failed failed None 0" \
    "$(py "' '.join(str(x) for x in ($b['state'], $b['last_run']['outcome'], $b['last_success'], $b['rows_loaded_total']))" <"$IT_DIR/status.json")" "broken: failed, never succeeded, nothing loaded"
[[ -n $(py "$b['last_run']['error']" <"$IT_DIR/status.json") ]] || it_fail "broken: the run's error is not reported"

it_log "the daemon's own role (shelfsync_writer) may read everything status reads"
ss_python - "$IT_DAEMON_CONFIG" "$IT_DIR/writer.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["database"]["conninfo"] += " user=postgres options='-crole=shelfsync_writer'"
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
rc=0
"$SS_BIN_DIR/shelfsync" status --json --year 2024-25 --config "$IT_DIR/writer.json" >"$IT_DIR/writer.out" 2>"$IT_DIR/writer.err" || rc=$?
[[ $rc -eq 3 ]] || { cat "$IT_DIR/writer.err"; it_fail "status as shelfsync_writer exited $rc"; }
same=$(ss_python - "$IT_DIR/status.json" "$IT_DIR/writer.out" <<'PY'
import json, sys
def facts(path):
    d = json.load(open(path))
    for s in d["sources"]:
        s.pop("lag_s")  # a second later
    return d["sources"]
print(facts(sys.argv[1]) == facts(sys.argv[2]))
PY
)
it_assert_eq "True" "$same" "the same facts as the warehouse owner sees"

it_log "the human table"
rc=0
status --year 2024-25 >"$IT_DIR/status.txt" 2>&1 || rc=$?
cat "$IT_DIR/status.txt"
it_assert_eq 3 "$rc" "the table's exit status too"
head -n 1 "$IT_DIR/status.txt" | grep -q '^SOURCE  *STATE  *LAST RUN  *OUTCOME  *LOADED  *TOTAL  *REJECTS  *LAST SUCCESS  *LAG  *NEWEST  *OUTBOX$' ||
    it_fail "no heading line"
grep -Eq '^mixed +ok +[0-9-]+ [0-9:]+ +complete +4 +4 +5 ' "$IT_DIR/status.txt" || it_fail "no line for mixed with its counts"
grep -Eq '^broken +failed +[0-9-]+ [0-9:]+ +failed +0 +0 +0 ' "$IT_DIR/status.txt" || it_fail "no line for broken"
# The columns line up: SOURCE's column is as wide as its longest name.
it_assert_eq "1" "$(sed -n '1,3p' "$IT_DIR/status.txt" | awk '{print index($0, $2)}' | sort -u | wc -l)" "the second column starts at the same place on every line"
grep -q 'rejects by reason' "$IT_DIR/status.txt" || it_fail "no rejects in the details"
grep -q 'status: failed' "$IT_DIR/status.txt" || it_fail "no verdict line"

it_log "--source filters; --stale-after"
rc=0
status --json --source mixed >"$IT_DIR/mixed.json.out" || rc=$?
it_assert_eq 0 "$rc" "status --source mixed exits 0"
it_assert_eq "mixed" "$(py '" ".join(s["source"] for s in d["sources"])' <"$IT_DIR/mixed.json.out")" "only the source asked for"
it_assert_eq "default" "$(py 'd["sources"][0]["stale_after_basis"]' <"$IT_DIR/mixed.json.out")" "one run: the default stale bound"
sleep 2
rc=0
status --source mixed --stale-after 1s >/dev/null || rc=$?
it_assert_eq 4 "$rc" "status --stale-after 1s exits 4 two seconds after the last success"
rc=0
status --source nosuch >/dev/null 2>"$IT_DIR/nosuch.err" || rc=$?
it_assert_eq 5 "$rc" "status of an unknown source exits 5"
grep -q 'no run of source "nosuch"' "$IT_DIR/nosuch.err" || it_fail "no reason for the unknown source"
rc=0
status --stale-after 2x >/dev/null 2>&1 || rc=$?
it_assert_eq 2 "$rc" "a bad duration is a usage error"

it_log "outbox depth: the daemon goes away, the collector keeps its batches"
it_daemon_stop
it_collector_config "$IT_DIR/late.json" late "http://127.0.0.1:$IT_HTTP_PORT/loans_mixed.csv" \
    '"http": {"conditional": false}, "batch": {"records": 2}, "send": {"ack_timeout_ms": 300, "give_up_after_s": 2}'
rc=0
it_collect "$IT_DIR/late.json" || rc=$?
it_assert_eq 3 "$rc" "the collector gives up with its batches unacked"
kept=$(find "$IT_DIR/state-late/outbox" -maxdepth 1 -name '*.batch' | wc -l)
[[ $kept -gt 1 ]] || it_fail "the outbox holds $kept batches"
first_run=$(ls "$IT_DIR/state-late/outbox" | sed -n 's/-0000000000\.run$//p' | head -n 1)
[[ -n $first_run ]] || it_fail "no run-begin record in the outbox"
it_daemon_start
# The end record waits in the outbox with the batches: the next run delivers
# it, and the daemon learns how many batches the first run left behind.
it_collect "$IT_DIR/late.json" || it_fail "the second run exited with $?"
it_assert_eq "$kept" "$(it_psql "SELECT outbox_batches FROM ingest.runs WHERE run_id = '$first_run'")" "the first run's end record says how many batches it left in the outbox"
status --json --source late >"$IT_DIR/late.out" || it_fail "status --source late exited $?"
it_assert_eq "0 ok" "$(py '" ".join((str(d["sources"][0]["last_run"]["outbox_batches"]), d["sources"][0]["state"]))' <"$IT_DIR/late.out")" "the last run left nothing in the outbox"
it_assert_eq "default" "$(py 'd["sources"][0]["stale_after_basis"]' <"$IT_DIR/late.out")" "two runs: too few to judge the cadence"
it_collect "$IT_DIR/late.json" || it_fail "the third run exited with $?"
status --json --source late >"$IT_DIR/late.out" || it_fail "status --source late exited $?"
it_assert_eq "history 3600" "$(py '" ".join((d["sources"][0]["stale_after_basis"], str(d["sources"][0]["stale_after_s"])))' <"$IT_DIR/late.out")" "three runs: the bound comes from the source's cadence (twice its interval, at least an hour)"

it_log "shelfsync ping, insecure"
"$SS_BIN_DIR/shelfsync" ping --config "$IT_DIR/late.json" >"$IT_DIR/ping.out" 2>&1 || { cat "$IT_DIR/ping.out"; it_fail "ping failed"; }
cat "$IT_DIR/ping.out"
grep -Eq "^tcp://127.0.0.1:$IT_ZMQ_PORT: pong in [0-9.]+ ms .*protocol shelfsync/2, no CURVE" "$IT_DIR/ping.out" || it_fail "ping does not report the round trip and protocol"
"$SS_BIN_DIR/shelfsync" ping --config "$IT_DAEMON_CONFIG" >/dev/null 2>&1 || it_fail "ping with the daemon's config failed"
closed=$(ss_free_port)
rc=0
"$SS_BIN_DIR/shelfsync" ping --timeout 1500 "tcp://127.0.0.1:$closed" >/dev/null 2>"$IT_DIR/ping-closed.err" || rc=$?
cat "$IT_DIR/ping-closed.err"
[[ $rc -eq 1 ]] || it_fail "ping to a closed port exited $rc"
grep -q "could not connect.*connection refused" "$IT_DIR/ping-closed.err" || it_fail "ping to a closed port does not say why"

it_log "shelfsync ping over CURVE"
it_daemon_stop
keys="$IT_DIR/keys"
mkdir -p "$keys"
for k in daemon a b; do "$SS_BIN_DIR/shelfsync" keygen "$keys/$k" >/dev/null 2>&1 || it_fail "keygen $k"; done
printf '%s  E99999901  late  # collector A\n' "$(cat "$keys/a.pub")" >"$IT_DIR/allow"
ss_python - "$IT_DAEMON_CONFIG" "$keys/daemon.key" "$IT_DIR/allow" <<'PY'
import json, sys
path, key, allow = sys.argv[1:]
c = json.load(open(path))
del c["insecure"]
c["curve"] = {"secret_key_file": key, "allow_file": allow}
json.dump(c, open(path, "w"), indent=2)
PY
it_daemon_start
# curve CONFIG SERVER_PUB SECRET: late.json with CURVE keys.
curve() {
    ss_python - "$IT_DIR/late.json" "$1" "$2" "$3" <<'PY'
import json, sys
src, out, server, secret = sys.argv[1:]
c = json.load(open(src))
c["daemon"]["server_public_key"] = open(server).read().strip()
c["daemon"]["secret_key_file"] = secret
json.dump(c, open(out, "w"), indent=2)
PY
}
curve "$IT_DIR/curve-a.json" "$keys/daemon.pub" "$keys/a.key"
curve "$IT_DIR/curve-wrong.json" "$keys/b.pub" "$keys/a.key"
curve "$IT_DIR/curve-b.json" "$keys/daemon.pub" "$keys/b.key"
"$SS_BIN_DIR/shelfsync" ping --config "$IT_DIR/curve-a.json" >"$IT_DIR/ping-a.out" 2>&1 || { cat "$IT_DIR/ping-a.out"; it_fail "CURVE ping failed"; }
cat "$IT_DIR/ping-a.out"
grep -qF -- "CURVE authenticated as $(cat "$keys/a.pub")" "$IT_DIR/ping-a.out" || it_fail "ping does not say CURVE authenticated"
rc=0
"$SS_BIN_DIR/shelfsync" ping --timeout 3000 --config "$IT_DIR/curve-wrong.json" >/dev/null 2>"$IT_DIR/ping-wrong.err" || rc=$?
cat "$IT_DIR/ping-wrong.err"
[[ $rc -eq 1 ]] || it_fail "ping with a wrong server key exited $rc"
grep -q "CURVE handshake failed.*server_public_key" "$IT_DIR/ping-wrong.err" || it_fail "a wrong server key is not named"
rc=0
"$SS_BIN_DIR/shelfsync" ping --timeout 3000 --config "$IT_DIR/curve-b.json" >/dev/null 2>"$IT_DIR/ping-b.err" || rc=$?
cat "$IT_DIR/ping-b.err"
[[ $rc -eq 1 ]] || it_fail "ping with a key the daemon does not know exited $rc"
grep -q "refused this key" "$IT_DIR/ping-b.err" && grep -qF -- "$(cat "$keys/b.pub")" "$IT_DIR/ping-b.err" ||
    it_fail "a refused key is not named"
rc=0
"$SS_BIN_DIR/shelfsync" ping --timeout 2000 --config "$IT_DIR/late.json" >/dev/null 2>"$IT_DIR/ping-plain.err" || rc=$?
cat "$IT_DIR/ping-plain.err"
[[ $rc -eq 1 ]] || it_fail "a plain ping to a CURVE daemon exited $rc"
grep -q "the daemon wants CURVE" "$IT_DIR/ping-plain.err" || it_fail "a plain ping to a CURVE daemon does not say why it failed"
it_daemon_stop
it_log "passed"
