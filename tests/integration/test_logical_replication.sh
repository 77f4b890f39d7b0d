#!/usr/bin/env bash
# Region -> national by PostgreSQL logical replication (docs/scaling.md), on
# two local clusters: the "regional" warehouse is a private cluster of this
# test (wal_level = logical), the "national" one a database of the test
# cluster.
# 1. Both are migrated with `shelfsync migrate`; every core table of the
#    regional has a replica identity (migration 018), so the daemon's upserts
#    work while core is published.
# 2. The regional loads real data through its daemon: the published 2023-24
#    activity return (eight runs) and Barnet's per-library loans; ONS
#    authorities, populations and neighbours through `shelfsync ref load`
#    (the national loads the same reference files itself: ref is not
#    replicated).
# 3. The regional publishes schema core; the national subscribes: after the
#    initial sync every core table holds exactly the regional's rows (count
#    and a digest of every row), and core.v_authority_per_1000 and
#    core.v_authority_year give exactly the same rows.
# 4. More runs on the regional -- Barnet's events (new rows, a table whose
#    identity is its natural-key index) and Barnet's loans again with one
#    count changed (an UPDATE of a REPLICA IDENTITY FULL table) -- replicate:
#    the tables are equal again, the changed count is the new one.
# 5. What does not replicate: the ingest ledger (the national's is empty).
source "$(dirname "$0")/lib.sh"
it_setup
F="$SS_FIXTURES/activity-2023-24"
LDS="$SS_FIXTURES/librarydata-schemas/data"
raw="$F/raw/libraries_activity_data_2023_2024.csv"
it_need_fixture "$raw" "$F/library_authorities.json" "$F/mye24tablesew.csv" \
    "$F/localauthoritynearestneighboursengland.csv" "$LDS/loans_barnet.csv" "$LDS/events_barnet.csv"

# The test cluster's connection: the national warehouse is a database of it.
N_HOST=$SS_PGHOST N_PORT=$SS_PGPORT
N_DB=${SS_PGDATABASE}_national
R_DIR=$IT_DIR/regional-pg
SUB=shelfsync_national_$$

# shellcheck disable=SC2317 # called by the trap
cleanup() {
    local rc=$?
    trap - EXIT
    if [[ -n $(national_su "SELECT 1 FROM pg_database WHERE datname = '$N_DB'" postgres 2>/dev/null) ]]; then
        national_su "DROP SUBSCRIPTION IF EXISTS $SUB" >/dev/null 2>&1 ||
            national_su "ALTER SUBSCRIPTION $SUB DISABLE; ALTER SUBSCRIPTION $SUB SET (slot_name = NONE); DROP SUBSCRIPTION $SUB" >/dev/null 2>&1 || true
        national_su "DROP DATABASE IF EXISTS $N_DB WITH (FORCE)" postgres >/dev/null 2>&1 || true
    fi
    local real
    real=$(ss_pg_dir "$R_DIR")
    ss_pg_stop "$R_DIR" || true
    [[ $real == "$R_DIR" ]] || rm -rf -- "$real"
    (exit "$rc")
    _it_exit
}
trap cleanup EXIT

national() {
    "$SS_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -tA -h "$N_HOST" -p "$N_PORT" -U "$SS_PGUSER" -d "$N_DB" -c "$1"
}
# national_su SQL [DB]: as the cluster's superuser (CREATE SUBSCRIPTION needs one on PostgreSQL 15).
national_su() {
    "$SS_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -tA -h "$N_HOST" -p "$N_PORT" -U postgres -d "${2:-$N_DB}" -c "$1"
}

# The regional cluster, logical decoding on. From here on the lib's helpers
# (it_psql, it_daemon_config, it_migrate, ...) point at it.
it_log "starting the regional cluster (wal_level = logical)"
# (synchronous_commit stays on: a commit's WAL is flushed when it returns, so
# pg_current_wal_flush_lsn() is past it and the walsender can send it.)
SS_PG_SETTINGS="wal_level=logical fsync=off full_page_writes=off" ss_pg_start "$R_DIR" ||
    it_fail "cannot start the regional cluster"
SS_PGHOST=$(ss_pg_sockdir "$R_DIR")
SS_PGPORT=$(ss_pg_port "$R_DIR")
SS_PGDATABASE=shelfsync SS_PGUSER=shelfsync
regional_su() {
    "$SS_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -tA -h "$SS_PGHOST" -p "$SS_PGPORT" -U postgres -d shelfsync -c "$1"
}
it_assert_eq logical "$(it_psql "SHOW wal_level")" "the regional's wal_level"

it_activity_return_setup "$raw"
for kind in populations:mye24tablesew.csv neighbours:localauthoritynearestneighboursengland.csv; do
    "$SS_BIN_DIR/shelfsync" ref load "${kind%%:*}" "$F/${kind#*:}" --config "$IT_DAEMON_CONFIG" >>"$IT_DIR/ref.log" 2>&1 ||
        it_fail "shelfsync ref load ${kind%%:*} failed (see ref.log)"
done

# 1. Every core table can be published and still be upserted.
it_assert_eq "" "$(it_psql "SELECT string_agg(c.oid::regclass::text, ', ') FROM pg_class c
                            JOIN pg_namespace n ON n.oid = c.relnamespace
                            WHERE n.nspname = 'core' AND c.relkind IN ('r', 'p') AND c.relreplident = 'd'
                              AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)")" \
    "core tables without a replica identity (migration 018)"

# 2. Real data through the regional daemon.
it_activity_return_load
mkdir -p "$IT_DIR/www"
cp "$LDS/loans_barnet.csv" "$IT_DIR/www/loans_barnet.csv"
it_collector_config "$IT_DIR/barnet-loans.json" barnet-loans "file://$IT_DIR/www/loans_barnet.csv" '"dataset": "loans"'
it_collect "$IT_DIR/barnet-loans.json" || it_fail "barnet-loans: the collector failed"
it_assert_eq 0 "$(it_psql "SELECT count(*) FROM ingest.quarantine")" "regional: nothing quarantined"

# 3. Publication and subscription.
it_log "publishing schema core on the regional"
regional_su "CREATE ROLE shelfsync_replication LOGIN REPLICATION;
             GRANT shelfsync_analyst TO shelfsync_replication;
             CREATE PUBLICATION shelfsync_core FOR TABLES IN SCHEMA core WITH (publish_via_partition_root = true)" >/dev/null

it_log "the national warehouse: database $N_DB, migrated, its own reference data"
national_su "DROP DATABASE IF EXISTS $N_DB" postgres >/dev/null
national_su "CREATE DATABASE $N_DB OWNER $SS_PGUSER" postgres >/dev/null
# it_daemon_config's file for the national database (in a subshell: the
# test's own config stays the regional's; no daemon runs on the national).
(SS_PGHOST=$N_HOST SS_PGPORT=$N_PORT SS_PGDATABASE=$N_DB it_daemon_config "$IT_DIR/national.json")
"$SS_BIN_DIR/shelfsync" migrate --config "$IT_DIR/national.json" >>"$IT_DIR/migrate.log" 2>&1 || it_fail "migrating $N_DB failed"
for kind in authorities:library_authorities.json populations:mye24tablesew.csv neighbours:localauthoritynearestneighboursengland.csv; do
    "$SS_BIN_DIR/shelfsync" ref load "${kind%%:*}" "$F/${kind#*:}" --config "$IT_DIR/national.json" >>"$IT_DIR/ref.log" 2>&1 ||
        it_fail "national: shelfsync ref load ${kind%%:*} failed (see ref.log)"
done

it_log "subscribing the national to the regional's publication"
national_su "CREATE SUBSCRIPTION $SUB
               CONNECTION 'host=$SS_PGHOST port=$SS_PGPORT dbname=shelfsync user=shelfsync_replication'
               PUBLICATION shelfsync_core" >/dev/null

ntables=$(it_psql "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'shelfsync_core'")
it_assert_eq "$(it_psql "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                          WHERE n.nspname = 'core' AND c.relkind IN ('r', 'p') AND NOT c.relispartition")" \
    "$ntables" "every core table published (partitions through their root)"
synced() { [[ $(national_su "SELECT count(*) FILTER (WHERE srsubstate = 'r') || '/' || count(*) FROM pg_subscription_rel") == "$ntables/$ntables" ]]; }
ss_wait_until 300 synced || it_fail "initial sync not done after 300 s: $(national_su "SELECT srsubstate, count(*) FROM pg_subscription_rel GROUP BY 1")"
it_log "initial sync: $ntables tables ready"

# caught_up: the national has applied everything the regional wrote so far.
caught_up() {
    local lsn
    lsn=$(it_psql "SELECT pg_current_wal_flush_lsn()")
    # shellcheck disable=SC2317 # called by ss_wait_until; pg_stat_replication shows its positions to a superuser
    _applied() { [[ $(regional_su "SELECT coalesce(bool_and(replay_lsn >= '$lsn'), false) FROM pg_stat_replication WHERE application_name = '$SUB'") == t ]]; }
    ss_wait_until 120 _applied || it_fail "the national has not applied up to $lsn after 120 s: $(regional_su "SELECT application_name, state, sent_lsn, write_lsn, flush_lsn, replay_lsn FROM pg_stat_replication")"
}

# digest SQL-RELATION: its rows, counted and hashed in a fixed order.
digest_sql() {
    printf "SET TimeZone = 'UTC'; SET jit = off; SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, E'\\\\n' ORDER BY t::text), '')) FROM %s t" "$1"
}
same_tables() {
    local what=$1 t r n
    for t in $(it_psql "SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = 'core' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1"); do
        r=$(it_psql "$(digest_sql "$t")")
        n=$(national "$(digest_sql "$t")")
        [[ $r == "$n" ]] || it_fail "$what: $t differs: regional $r, national $n"
    done
    it_log "ok: $what: every core table the same (loans: $(it_psql "SELECT count(*) FROM core.loans") rows, activity_loans: $(it_psql "SELECT count(*) FROM core.activity_loans"))"
}

caught_up
same_tables "after the initial sync"
for v in core.v_authority_per_1000 core.v_authority_year; do
    r=$(it_psql "$(digest_sql "$v")")
    it_assert_eq "$r" "$(national "$(digest_sql "$v")")" "$v: the national's rows are the regional's"
done
q="SELECT round(per_1000, 3) FROM core.v_authority_per_1000 WHERE authority_code = 'E08000016' AND financial_year = '2023-24' AND measure = 'loans' AND age_group = 'All ages'"
it_assert_eq "$(it_psql "$q")" "$(national "$q")" "Barnsley's 2023-24 loans per 1,000, both sides"
[[ -n $(national "$q") ]] || it_fail "Barnsley's loans per 1,000 are empty at the national"

# 4. More runs on the regional: new rows, and an update.
it_collector_config "$IT_DIR/barnet-events.json" barnet-events "file://$LDS/events_barnet.csv" '"dataset": "events"'
it_collect "$IT_DIR/barnet-events.json" || it_fail "barnet-events: the collector failed"
ss_python - "$IT_DIR/www/loans_barnet.csv" <<'PY' || it_fail "cannot change loans_barnet.csv"
import sys
p = sys.argv[1]
lines = open(p, encoding="utf-8").read().split("\n")
head, _, value = lines[1].rpartition(",")
lines[1] = head + "," + str(int(value) + 1000)
open(p, "w", encoding="utf-8").write("\n".join(lines))
PY
touch -d '+1 minute' "$IT_DIR/www/loans_barnet.csv"
batches=$(it_psql "SELECT count(*) FROM ingest.batches")
it_collect "$IT_DIR/barnet-loans.json" || it_fail "barnet-loans, second run: the collector failed"
(($(it_psql "SELECT count(*) FROM ingest.batches") > batches)) || it_fail "barnet-loans, second run: no new batch"
changed="SELECT loans FROM core.loans WHERE authority_code = 'E09000003' AND service_point = 'Barnet Book Club'
         AND item_type = 'Adult audiobook' AND period_start = '2019-04-01' AND period_end = '2019-06-30'"
it_assert_eq 1009 "$(it_psql "$changed")" "regional: the changed count"
caught_up
it_assert_eq 1009 "$(national "$changed")" "national: the changed count replicated (an UPDATE, identity FULL)"
it_assert_eq "$(it_psql "SELECT count(*) FROM core.events")" "$(national "SELECT count(*) FROM core.events")" "national: the new run's events"
same_tables "after the second runs"

# 5. The ledger is each warehouse's own.
it_assert_eq 0 "$(national "SELECT count(*) FROM ingest.batches")" "national: no batch of its own (the ledger is not replicated)"
it_log "regional ledger: $(it_psql "SELECT count(*) || ' batches, ' || sum(accepted) || ' records accepted' FROM ingest.batches")"
it_daemon_stop
