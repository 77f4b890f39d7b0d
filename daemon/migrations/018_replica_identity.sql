-- 018: a replica identity for every core table, so that the warehouse can
-- be published with PostgreSQL logical replication (docs/scaling.md:
-- regional warehouses publish core, the national one subscribes).
--
-- The fact tables have no primary key: their natural key is a unique index
-- (NULLS NOT DISTINCT). A table in a publication that has no replica
-- identity refuses every UPDATE ("cannot update table ... because it does
-- not have a replica identity and publishes updates"), and the daemon's
-- upsert is an UPDATE: without this, publishing a warehouse would stop its
-- loads. So each core table (and each partition of one) that has no
-- primary key gets
--   * REPLICA IDENTITY USING INDEX its natural-key index, where PostgreSQL
--     allows it: a unique, non-partial, immediate index on plain columns
--     that are all NOT NULL (events, membership, the activity return's
--     tables, loan_transactions, ...);
--   * else REPLICA IDENTITY FULL: loans, visits and stock (service_point is
--     NULL for an authority-level count), service_points (its key is
--     partial: current versions only) and outlier_confirmation (nullable key
--     columns). The whole old row then identifies it; on PostgreSQL 15 the
--     subscriber finds it by a sequential scan.
-- Neither costs anything while wal_level is below logical: the old row is
-- written to the WAL only for logical decoding. A partition made later by
-- core.add_financial_year_partition (migration 017) takes its table's FULL
-- (tests/integration/test_logical_replication.sh checks every core table).

DO $$
DECLARE
    t record;
    idx regclass;
BEGIN
    FOR t IN
        SELECT c.oid::regclass AS rel
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'core' AND c.relkind IN ('r', 'p')
          AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
        ORDER BY 1
    LOOP
        SELECT i.indexrelid::regclass INTO idx
        FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE i.indrelid = t.rel AND i.indisunique AND i.indimmediate AND i.indisvalid
          AND i.indpred IS NULL AND i.indexprs IS NULL
          AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey) k(att)
                          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.att
                          WHERE NOT a.attnotnull)
        ORDER BY ic.relname LIKE '%\_key' DESC, ic.relname
        LIMIT 1;
        IF idx IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %s REPLICA IDENTITY USING INDEX %I', t.rel,
                           (SELECT relname FROM pg_class WHERE oid = idx));
        ELSE
            EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', t.rel);
        END IF;
    END LOOP;
END
$$;
