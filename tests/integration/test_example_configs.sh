#!/usr/bin/env bash
# Every example config shipped in config/ passes `shelfsync check-config`,
# so the examples a library IT team copies stay true to the code.
set -euo pipefail
: "${SS_BIN_DIR:?}" "${SS_SOURCE_DIR:?}"
shopt -s nullglob
files=("$SS_SOURCE_DIR"/config/*.json "$SS_SOURCE_DIR"/config/collectors/*.json "$SS_SOURCE_DIR"/config/collectors/systems/*.json "$SS_SOURCE_DIR"/config/collectors/activity-return/*.json)
((${#files[@]} >= 3)) || { echo "FAIL: expected example configs under config/"; exit 1; }
"$SS_BIN_DIR/shelfsync" check-config "${files[@]}"
for f in "${files[@]}"; do
    grep -q '"description"' "$f" || { echo "FAIL: $f has no \"description\""; exit 1; }
done
echo "all ${#files[@]} example configs are valid"
