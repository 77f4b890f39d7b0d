#!/usr/bin/env bash
# --dry-run fetches and maps, prints a sample as it would be sent, and sends
# and stores nothing; --progress reports bytes, records, rejects and rate.
source "$(dirname "$0")/lib.sh"
it_setup
it_http_start "$SS_SOURCE_DIR/tests/fixtures"
it_daemon_config "$IT_DIR/daemon.json" # no daemon runs: a dry run must not need one
it_collector_config "$IT_DIR/c.json" dry "http://127.0.0.1:$IT_HTTP_PORT/loans_mixed.csv"
out=$("$SS_BIN_DIR/shelfsync-collect" --config "$IT_DIR/c.json" --dry-run --progress 2>"$IT_DIR/err.txt") ||
    it_fail "dry run exited with $?: $(cat "$IT_DIR/err.txt")"
echo "$out"
[[ $out == *'line 2: authority="Exampleshire" service_point="Hill Top Library, Upper Floor" month="2024-04" item_type="Adult fiction" loans="120"'* ]] ||
    it_fail "the sample does not show the first record as mapped"
[[ $out == *"line 7: rejected: line 7: 6 fields where the header has 5"* ]] || it_fail "the sample does not show the reject"
[[ $out == *"dry run: 8 records (1 rejected), nothing sent"* ]] || it_fail "no summary line"
grep -q "progress: 0.0 MB, 8 records, 1 rejected" "$IT_DIR/err.txt" || it_fail "no progress line: $(cat "$IT_DIR/err.txt")"
[[ ! -e $IT_DIR/state-dry/outbox ]] || [[ -z $(ls "$IT_DIR/state-dry/outbox") ]] || it_fail "a dry run wrote to the outbox"
[[ ! -e $IT_DIR/state-dry/cursor ]] || it_fail "a dry run moved the cursor"
it_log "ok: dry run printed a sample and stored nothing"
