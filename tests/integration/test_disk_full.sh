#!/usr/bin/env bash
# The disk under the collector's outbox fills up while the daemon is down and
# batches pile up: the collector stops fetching, says the disk is full, exits
# non-zero without crashing and keeps every batch it had stored. With room
# again (the tmpfs remounted larger) and the daemon up, the next run delivers
# the stored batches and the export: every row exactly once.
# Needs root (mount -t tmpfs); skipped otherwise.
source "$(dirname "$0")/lib.sh"
it_setup
state="$IT_DIR/state"
mkdir -p "$state"
if ((EUID != 0)); then
    it_skip "test_disk_full mounts a small tmpfs for the outbox and needs root"
fi
if ! mount -t tmpfs -o size=512k,mode=0750 tmpfs "$state" 2>"$IT_DIR/mount.err"; then
    it_skip "cannot mount a tmpfs here (mount: $(tr '\n' ' ' <"$IT_DIR/mount.err")): test_disk_full needs it"
fi
# shellcheck disable=SC2317 # called by the trap
_unmount() {
    mountpoint -q "$state" || return 0
    ls -la "$state/outbox" >"$IT_DIR/outbox-at-exit.txt" 2>&1 || true
    [[ -z $IT_COLLECT_PID ]] || kill -KILL "$IT_COLLECT_PID" 2>/dev/null || true
    umount "$state" 2>/dev/null || umount -l "$state" || it_log "could not unmount $state"
}
trap 'rc=$?; _unmount; (exit $rc); _it_exit' EXIT
it_log "tmpfs of 512 KiB on $state for the collector's state directory"

it_reset_db
mkdir -p "$IT_DIR/www"
read -r rows total < <(ss_python "$IT_LIB_DIR/gen_loans.py" "$IT_DIR/www/loans.csv" 20000)
per_batch=100
it_http_start "$IT_DIR/www"
it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
# The daemon stays down: every batch stays in the outbox until the disk is full.
it_collector_config "$IT_DIR/c.json" diskfull "http://127.0.0.1:$IT_HTTP_PORT/loans.csv" \
    "\"state_dir\": $(ss_json_str "$state"), \"batch\": {\"records\": $per_batch}, \"send\": {\"give_up_after_s\": 2}"
log="$IT_DIR/collect-diskfull.log"
st=0; it_collect "$IT_DIR/c.json" || st=$?
grep -E 'cannot write batch|disk|No space' "$log" | sed 's/^/    collect log: /'
((st != 0)) || it_fail "the collector exited 0 although the disk was full"
((st < 128)) || it_fail "the collector died of signal $((st - 128))"
! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$log" || it_fail "a sanitizer reported an error in the collector"
[[ $st == 2 || $st == 3 ]] || it_fail "exit status $st: expected 2 (fetch not completed) or 3 (batches left unacked)"
it_log "ok: the collector exited with status $st"
grep -qi 'disk full' "$log" || it_fail "the collector's log does not say that the disk is full"
it_log "ok: the log says the disk is full"
writes=$(grep -c 'cannot write batch' "$log" || true)
((writes <= 2)) || it_fail "the collector tried to write $writes batches to the full disk: it did not stop fetching"
summary=$(grep -E 'run [^ ]+: [0-9]+ bytes, [0-9]+ records' "$log" | tail -n 1)
[[ -n $summary ]] || it_fail "no run summary in the collector's log"
read -r read_records made < <(sed -E 's/.* bytes, ([0-9]+) records .* in ([0-9]+) batches;.*/\1 \2/' <<<"$summary")
stored=$(find "$state/outbox" -name '*.batch' | wc -l)
it_log "the collector read $read_records of $rows records, stored $made batches; $stored batch files in the outbox"
((read_records < rows)) || it_fail "the collector read the whole export although it could not store it"
((stored > 0)) || it_fail "nothing was stored before the disk filled up"
it_assert_eq "$made" "$stored" "every batch the run stored is still in the outbox"
it_assert_eq "0" "$(find "$state/outbox" -name '*.tmp' | wc -l)" "no half-written batch left in the outbox"
it_assert_eq "0" "$(find "$state/refused" -type f | wc -l)" "nothing moved to refused/"
run1=$(find "$state/outbox" -name '*.batch' -printf '%f\n' | sed -E 's/-[0-9]{10}\.batch$//' | sort -u)
it_assert_eq 1 "$(grep -c . <<<"$run1")" "the stored batches come from one run"
it_assert_eq "$(seq 1 "$stored" | tr '\n' ' ')" \
    "$(find "$state/outbox" -name '*.batch' -printf '%f\n' | sed -E 's/.*-([0-9]{10})\.batch$/\1/' | sort -n | sed 's/^0*//' | tr '\n' ' ')" \
    "the stored batches are seq 1..$stored with no gap"

it_log "remounting the tmpfs with 64 MiB"
mount -o remount,size=64m "$state" || it_fail "cannot remount $state larger"
it_daemon_start
st=0; it_collect "$IT_DIR/c.json" || st=$?
it_assert_eq 0 "$st" "the second run's exit status"
grep -q "$stored batches left in the outbox by an earlier run" "$log" ||
    it_fail "the second run did not pick up the $stored stored batches"
it_assert_eq "$rows" "$(it_psql 'SELECT count(*) FROM core.loans')" "rows loaded"
it_assert_eq "$total" "$(it_psql 'SELECT sum(loans) FROM core.loans')" "total loans"
it_assert_eq "$stored|$((stored * per_batch))|$stored" \
    "$(it_psql "SELECT count(*), sum(accepted), count(DISTINCT seq) FROM ingest.batches WHERE source = 'diskfull' AND run_id = '$run1'")" \
    "the first run's stored batches applied, each once"
nb=$(( (rows + per_batch - 1) / per_batch ))
it_assert_eq "2|$((nb + stored))" \
    "$(it_psql "SELECT count(DISTINCT run_id), count(*) FROM ingest.batches WHERE source = 'diskfull'")" \
    "the ledger holds the two runs' batches, each once"
it_assert_eq "0" "$(it_psql 'SELECT count(*) FROM ingest.quarantine')" "nothing quarantined"
it_assert_eq "0" "$(find "$state/outbox" -type f | wc -l)" "outbox empty"
it_daemon_stop
