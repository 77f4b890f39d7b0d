-- 008: core.loans, created by 001 before the tables were generated from the
-- dataset definitions, gets the shape its definition gives every other fact
-- table: the natural key as the unique index loans_key (NULLS NOT DISTINCT,
-- so a key column may later become optional) instead of a primary key, and
-- the definitions' column comments. tests/integration/test_dataset_sql.sh
-- checks the migrated tables against the definitions.

ALTER TABLE core.loans DROP CONSTRAINT loans_pkey;
CREATE UNIQUE INDEX loans_key ON core.loans (authority_code, service_point, item_type, period_start, period_end) NULLS NOT DISTINCT;
COMMENT ON COLUMN core.loans.item_type IS 'Item type as the library service categorises it';
COMMENT ON COLUMN core.loans.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
