#!/usr/bin/env bash
# A run that is cut short still delivers what it read, and the warehouse knows
# the run was partial: its last batch says so, ingest.runs records it, and the
# analyst views count the months it touched as not complete until a later run
# of the same source completes -- so no one mistakes a partial month for a
# whole one.
source "$(dirname "$0")/lib.sh"
it_setup
IT_RESET_TABLES="core.loans core.activity_loans ingest.batches ingest.quarantine ingest.runs ingest.batch_coverage" it_reset_db
mkdir -p "$IT_DIR/www"

# Arts Council loans for 2023-24, 12 months x 4 formats x 3 age groups, for Exampleshire
# (E99999901); v2.csv is the same file with every count one higher (the
# source revised it).
ss_python - "$IT_DIR/www" <<'PY'
import sys
d = sys.argv[1]
formats = ["Physical book", "Physical audiobook", "Ebook", "Eaudio"]
ages = ["Adult", "Under 12", "12-17"]
for name, extra in (("v1.csv", 0), ("v2.csv", 1)):
    with open(f"{d}/{name}", "w") as f:
        f.write("Authority,Format,Content age group,Period,Count\n")
        for m in range(12):
            y, mm = (2023, 4 + m) if m < 9 else (2024, m - 8)
            for i, fmt in enumerate(formats):
                for k, age in enumerate(ages):
                    f.write(f"E99999901,{fmt},{age},{y}-{mm:02d}-01/P1M,{100 + 20 * m + 3 * i + k + extra}\n")
PY
it_fake_http_start "$IT_DIR/www"
fake=$IT_FAKE_URL

it_daemon_config "$IT_DIR/daemon.json"
it_migrate
it_test_authorities
it_daemon_start

year() {
    it_psql "SELECT value || '|' || months_reported || '|' || partial_months || '|' || complete
               FROM core.v_authority_year
              WHERE authority_code = 'E99999901' AND financial_year = '2023-24'
                AND measure = 'loans' AND age_group = 'All ages'"
}
conf() {
    it_collector_config "$IT_DIR/a.json" act "$fake/$1" \
        '"dataset": "activity_loans", "batch": {"records": 20}, "http": {"retries": 0}'
}

it_log "a complete load: 12 months reported, complete"
conf ok/v1.csv
it_collect "$IT_DIR/a.json" || it_fail "first run exited with $?"
v1_total=$(it_psql "SELECT sum(loans) FROM core.activity_loans")
it_assert_eq "$v1_total|12|0|true" "$(year)" "the year is complete"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM core.v_partial_periods")" "no partial period"

it_log "the revised file, cut short half-way: what was read lands, the run is partial"
conf truncated/v2.csv
st=0; it_collect "$IT_DIR/a.json" || st=$?
it_assert_eq 2 "$st" "a cut body: exit status 2"
it_assert_eq "partial|2" "$(it_psql "SELECT outcome || '|' || exit_status FROM ingest.runs WHERE source = 'act' ORDER BY run_ref DESC LIMIT 1")" \
    "ingest.runs: the run is partial"
it_assert_eq "t" "$(it_psql "SELECT bool_and(partial) FROM ingest.batches b JOIN ingest.runs r USING (run_ref) WHERE r.run_id = (SELECT run_id FROM ingest.runs WHERE source = 'act' ORDER BY run_ref DESC LIMIT 1)")" \
    "its batches are marked partial"
it_assert_eq "t" "$(it_psql "SELECT last FROM ingest.batches ORDER BY batch_id DESC LIMIT 1")" "its last batch says it was the last"
months=$(it_psql "SELECT count(DISTINCT month) FROM core.v_partial_periods WHERE dataset = 'activity_loans' AND authority_code = 'E99999901'")
((months > 0 && months < 12)) || it_fail "the months the cut run touched: $months"
it_log "ok: $months months rest on the partial run"
read -r value reported partial complete < <(year | tr '|' ' ')
it_assert_eq "12|$months|false" "$reported|$partial|$complete" "the year: 12 months reported, $months resting on a partial run, not complete"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM core.v_authority_per_1000 WHERE authority_code = 'E99999901' AND financial_year = '2023-24' AND measure = 'loans' AND complete")" \
    "the per-1,000 view does not call it complete either"
it_assert_eq "partial|act" "$(it_psql "SELECT DISTINCT run_outcome || '|' || source FROM core.v_partial_periods")" \
    "v_partial_periods names the run and its source"

it_log "the revised file in full: complete again"
conf ok/v2.csv
it_collect "$IT_DIR/a.json" || it_fail "the full run exited with $?"
v2_total=$(it_psql "SELECT sum(loans) FROM core.activity_loans")
it_assert_eq "$((v1_total + 144))" "$v2_total" "every count revised"
it_assert_eq "$v2_total|12|0|true" "$(year)" "the year is complete again"
it_assert_eq "0" "$(it_psql "SELECT count(*) FROM core.v_partial_periods")" "no partial period left"
it_daemon_stop
