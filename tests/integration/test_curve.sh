#!/usr/bin/env bash
# CURVE between collectors and the daemon: a listed key delivers what its
# allow-file line permits and nothing else; an unlisted key is refused at the
# handshake and keeps its batches; SIGHUP lets a newly listed key in; plain
# TCP off loopback is refused at start; ipc:// sockets are 0660; no secret
# shows in a log or in ps.
source "$(dirname "$0")/lib.sh"
it_setup
it_reset_db

www="$IT_DIR/www"
keys="$IT_DIR/keys"
mkdir -p "$www" "$keys"
cp "$SS_SOURCE_DIR/tests/fixtures/loans_mixed.csv" "$www/"
# One row A may write, then one for Barnet, which A's key may not write.
printf '%s\n' 'Local authority,Library name,Month,Type,Loans' \
    'Exampleshire,Curve Test Library,2024-04,Adult fiction,11' \
    'Barnet,Curve Test Library,2024-04,Adult fiction,12' >"$www/barnet.csv"
it_http_start "$www"

it_log "shelfsync keygen for the daemon and two collectors"
for k in daemon a b; do
    "$SS_BIN_DIR/shelfsync" keygen "$keys/$k" >"$IT_DIR/keygen-$k.out" 2>>"$IT_DIR/keygen.log" ||
        it_fail "shelfsync keygen $k failed"
    it_assert_eq "$(cat "$keys/$k.pub")" "$(cat "$IT_DIR/keygen-$k.out")" "keygen prints the public key of $k"
    it_assert_eq "600" "$(stat -c %a "$keys/$k.key")" "secret key file mode of $k"
    it_assert_eq "644" "$(stat -c %a "$keys/$k.pub")" "public key file mode of $k"
    it_assert_eq "40" "$(tr -d '\n' <"$keys/$k.key" | wc -c)" "Z85 secret key length of $k"
done
if "$SS_BIN_DIR/shelfsync" keygen "$keys/a" >/dev/null 2>"$IT_DIR/keygen-again.err"; then
    it_fail "keygen overwrote an existing key"
fi
grep -q "refusing to overwrite" "$IT_DIR/keygen-again.err" || it_fail "keygen did not say why it refused"

# Secrets that must never show: the secret keys, a database password, an HMAC key.
printf 'pg-%s\n' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" >"$IT_DIR/pgpass"
printf 'hmac-%s\n' "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" >"$IT_DIR/hmac.key"
chmod 600 "$IT_DIR/pgpass" "$IT_DIR/hmac.key"
secrets=("$(cat "$keys/daemon.key")" "$(cat "$keys/a.key")" "$(cat "$keys/b.key")"
    "$(cat "$IT_DIR/pgpass")" "$(cat "$IT_DIR/hmac.key")")

printf '%s  E99999901  a-*  # collector A (Exampleshire)\n' "$(cat "$keys/a.pub")" >"$IT_DIR/allow"

it_daemon_config "$IT_DIR/daemon.json"
ss_python - "$IT_DIR/daemon.json" "$keys/daemon.key" "$IT_DIR/allow" "$IT_DIR/pgpass" <<'PY'
import json, sys
path, key, allow, pgpass = sys.argv[1:]
c = json.load(open(path))
del c["insecure"]
c["curve"] = {"secret_key_file": key, "allow_file": allow}
c["database"]["password_file"] = pgpass  # trust authentication: read, never needed
json.dump(c, open(path, "w"), indent=2)
PY
it_migrate
it_test_authorities
it_daemon_start
grep -q "CURVE on; the daemon's public key .* is $(cat "$keys/daemon.pub" | sed 's/[][\.*^$/]/\\&/g')" "$IT_DIR/daemon.log" ||
    it_fail "the daemon does not log its public key"

# collector CONFIG SOURCE FILE KEY: a CURVE collector config.
collector() {
    it_collector_config "$1" "$2" "http://127.0.0.1:$IT_HTTP_PORT/$3" \
        '"send": {"ack_timeout_ms": 2000, "give_up_after_s": 4}'
    ss_python - "$1" "$(cat "$keys/daemon.pub")" "$keys/$4.key" "$IT_DIR/hmac.key" <<'PY'
import json, sys
path, server, secret, hmac = sys.argv[1:]
c = json.load(open(path))
c["daemon"]["server_public_key"] = server
c["daemon"]["secret_key_file"] = secret
c["privacy"] = {"hmac_key_file": hmac}
json.dump(c, open(path, "w"), indent=2)
PY
}
rows() { it_psql "SELECT count(*) FROM core.loans WHERE source = '$1'"; }
batches() { it_psql "SELECT count(*) FROM ingest.batches WHERE source = '$1'"; }
outbox() { find "$IT_DIR/state-$1/outbox" -maxdepth 1 -type f -name '*.batch' 2>/dev/null | wc -l; }

it_log "collector A loads its own authority over CURVE"
collector "$IT_DIR/a.json" a-loans loans_mixed.csv a
it_collect "$IT_DIR/a.json" || it_fail "collector A failed ($?)"
it_assert_eq "4" "$(rows a-loans)" "A's rows loaded"

it_log "collector B, not in the allow file, is refused at the handshake"
collector "$IT_DIR/b.json" b-loans loans_mixed.csv b
it_collect_bg "$IT_DIR/b.json"
ps_seen=""
for _ in 1 2 3 4 5 6; do
    ps_seen+=$(ps -eo args)
    sleep 0.5
done
st=0
it_collect_wait 60 || st=$?
it_assert_eq "3" "$st" "B gives up with its batches unacked (exit 3)"
grep -q "the daemon refused our key (ZAP status 400).*$(cut -c1-8 "$keys/b.pub" | sed 's/[][\.*^$/]/\\&/g')" "$IT_DIR/collect-b-loans.log" ||
    it_fail "B's log does not say that its key was refused"
grep -q "handshake from .* refused: key $(cut -c1-8 "$keys/b.pub" | sed 's/[][\.*^$/]/\\&/g')\.\.\. is not in the allow file" "$IT_DIR/daemon.log" ||
    it_fail "the daemon did not log the refused key"
it_assert_eq "0" "$(batches b-loans)" "nothing of B's landed"
[[ $(outbox b-loans) -ge 1 ]] || it_fail "B's outbox lost its batches"
it_log "ok: B's outbox keeps $(outbox b-loans) batch(es)"

it_log "collector A with a source outside its sources is refused"
collector "$IT_DIR/x.json" x-loans loans_mixed.csv a
st=0
it_collect "$IT_DIR/x.json" || st=$?
it_assert_eq "4" "$st" "A under source x-loans: batches refused (exit 4)"
grep -q 'source "x-loans" is not one this collector'"'"'s key may write' "$IT_DIR/collect-x-loans.log" ||
    it_fail "the refusal reason is not in the collector's log"
grep -q 'batch x-loans/.* refused: source "x-loans"' "$IT_DIR/daemon.log" || it_fail "the daemon did not log the refusal"
it_assert_eq "0" "$(batches x-loans)" "no batch of x-loans in the ledger"
it_assert_eq "0" "$(rows x-loans)" "no row of x-loans"

it_log "collector A with an export naming Barnet is refused whole"
collector "$IT_DIR/ab.json" a-barnet barnet.csv a
st=0
it_collect "$IT_DIR/ab.json" || st=$?
it_assert_eq "4" "$st" "A's Barnet export: batch refused (exit 4)"
grep -q 'line 3: authority \\\?"Barnet\\\?" (E09000003) is not one this collector'"'"'s key may write' "$IT_DIR/collect-a-barnet.log" ||
    it_fail "the collector's log does not name the authority and the line"
grep -q 'batch a-barnet/.* refused: line 3: authority "Barnet" (E09000003)' "$IT_DIR/daemon.log" ||
    it_fail "the daemon did not log the authority refusal"
it_assert_eq "0" "$(batches a-barnet)" "no batch of a-barnet in the ledger"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM core.loans WHERE service_point = 'Curve Test Library'")" "not even A's own row of that batch landed"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM ingest.quarantine WHERE source = 'a-barnet'")" "nothing quarantined either"

it_log "SIGHUP after adding B to the allow file lets B deliver"
printf '%s  E99999901  b-loans  # collector B, added later\n' "$(cat "$keys/b.pub")" >>"$IT_DIR/allow"
kill -HUP "$IT_DAEMON_PID"
it_wait_for "grep -q 'SIGHUP: reloaded' '$IT_DIR/daemon.log'" 20 || it_fail "the daemon did not reload on SIGHUP"
grep -q "allow file: key $(cut -c1-8 "$keys/b.pub" | sed 's/[][\.*^$/]/\\&/g')\.\.\. (collector B, added later) added: authorities E99999901; sources b-loans" "$IT_DIR/daemon.log" ||
    it_fail "the reload did not log what changed"
kill -0 "$IT_DAEMON_PID" || it_fail "SIGHUP stopped the daemon"
it_collect "$IT_DIR/b.json" || it_fail "B failed after being allowed ($?)"
it_assert_eq "0" "$(outbox b-loans)" "B's outbox delivered"
it_assert_eq "2" "$(batches b-loans)" "B's kept batch in the ledger, and the new run's (the first run's batch was never acked, so its cursor did not move and the export is fetched again)"
it_assert_eq "4|4" "$(it_psql "SELECT string_agg(accepted::text, '|') FROM ingest.batches WHERE source = 'b-loans'")" "B's records accepted, each time"

it_log "no secret in the logs or in ps"
ps_seen+=$(ps -eo args)
for s in "${secrets[@]}"; do
    [[ -n $s ]] || it_fail "empty secret in the test"
    if grep -rqF -- "$s" "$IT_DIR"/*.log; then
        it_fail "a secret (${s:0:4}...) appears in a log"
    fi
    [[ $ps_seen != *"$s"* ]] || it_fail "a secret (${s:0:4}...) appears in ps output"
done
it_log "ok: none of ${#secrets[@]} secrets in $(ls "$IT_DIR"/*.log | wc -l) logs or in ps"

it_daemon_stop
grep -qE "security: [0-9]+ handshakes allowed, [1-9][0-9]* refused by the allow file; 2 batches refused" "$IT_DIR/daemon.log" ||
    it_fail "refusals not counted as expected"

it_log "the daemon refuses plain TCP off loopback"
plain() { # plain NAME LISTEN INSECURE: write a config without "curve"
    ss_python - "$IT_DAEMON_CONFIG" "$IT_DIR/$1.json" "$2" "$3" <<'PY'
import json, sys
src, dst, listen, insecure = sys.argv[1:]
c = json.load(open(src))
c.pop("curve", None)
c["listen"] = listen
if insecure == "yes":
    c["insecure"] = True
json.dump(c, open(dst, "w"), indent=2)
PY
}
port=$(ss_free_port)
plain open "tcp://0.0.0.0:$port" no
st=0
timeout 30 "$SS_BIN_DIR/shelfsyncd" --config "$IT_DIR/open.json" >"$IT_DIR/open.log" 2>&1 || st=$?
it_assert_eq "1" "$st" "no CURVE, no insecure, 0.0.0.0: refused"
grep -q "refusing to start: tcp://0.0.0.0:$port: plain TCP without CURVE" "$IT_DIR/open.log" || it_fail "no clear message: $(cat "$IT_DIR/open.log")"
plain openi "tcp://0.0.0.0:$port" yes
st=0
timeout 30 "$SS_BIN_DIR/shelfsyncd" --config "$IT_DIR/openi.json" >"$IT_DIR/openi.log" 2>&1 || st=$?
it_assert_eq "1" "$st" "insecure on 0.0.0.0: refused"
grep -q '"insecure": true allows plain TCP on loopback addresses only' "$IT_DIR/openi.log" || it_fail "no clear message: $(cat "$IT_DIR/openi.log")"
plain lo "tcp://127.0.0.1:$port" no
st=0
timeout 30 "$SS_BIN_DIR/shelfsyncd" --config "$IT_DIR/lo.json" >"$IT_DIR/lo.log" 2>&1 || st=$?
it_assert_eq "1" "$st" "plain loopback without insecure: refused"

it_log "an ipc:// socket is created mode 0660"
plain ipc "ipc://$IT_DIR/d.sock" no
"$SS_BIN_DIR/shelfsyncd" --config "$IT_DIR/ipc.json" >>"$IT_DIR/ipc.log" 2>&1 &
ipc_pid=$!
IT_PIDS+=("$ipc_pid")
it_wait_for "[[ -S '$IT_DIR/d.sock' ]] && grep -q ready '$IT_DIR/ipc.log'" 30 || it_fail "the ipc daemon did not start"
it_assert_eq "660" "$(stat -c %a "$IT_DIR/d.sock")" "ipc socket mode"
kill -TERM "$ipc_pid"
wait "$ipc_pid" || it_fail "the ipc daemon did not stop cleanly"
_it_forget_pid "$ipc_pid"
it_log "done"
