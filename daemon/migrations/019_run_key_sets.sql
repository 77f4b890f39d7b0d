-- The keys of a batch COPYed straight into its table (it met no row already
-- there), kept for the run's later batches as one row of three arrays
-- instead of one ingest.run_keys row per key: writing them costs one row a
-- batch. They are needed only when a later batch of the run is staged (a
-- key of it was there after all, or another run covered its months); that
-- batch first moves the run's sets into ingest.run_keys, and its duplicate
-- check reads them there. Held while the run is in progress, as run_keys.
CREATE TABLE ingest.run_key_sets (
    run_ref     bigint NOT NULL,
    batch_id    bigint NOT NULL,
    key_hash    bigint[] NOT NULL,
    line        bigint[] NOT NULL,
    values_hash bigint[] NOT NULL,
    PRIMARY KEY (run_ref, batch_id),
    CHECK (cardinality(key_hash) = cardinality(line) AND cardinality(line) = cardinality(values_hash))
);
-- 64-bit hashes do not compress: stored out of line without trying.
ALTER TABLE ingest.run_key_sets ALTER COLUMN key_hash SET STORAGE EXTERNAL,
    ALTER COLUMN line SET STORAGE EXTERNAL, ALTER COLUMN values_hash SET STORAGE EXTERNAL;
COMMENT ON TABLE ingest.run_key_sets IS 'Natural keys (as in ingest.run_keys) of the batches of runs in progress that were COPYed straight into their table, one row per batch; moved into ingest.run_keys when a later batch of the run needs its duplicate check, emptied for a run once all its batches are in';
COMMENT ON COLUMN ingest.run_key_sets.run_ref IS 'The run (ingest.runs)';
COMMENT ON COLUMN ingest.run_key_sets.batch_id IS 'The batch (ingest.batches) whose keys these are';
COMMENT ON COLUMN ingest.run_key_sets.key_hash IS 'Hashes of its records'' natural keys, after normalisation';
COMMENT ON COLUMN ingest.run_key_sets.line IS 'Line of the export that gave each key (same order)';
COMMENT ON COLUMN ingest.run_key_sets.values_hash IS 'Hash of each record''s other values (same order)';
GRANT SELECT, INSERT, DELETE ON ingest.run_key_sets TO shelfsync_writer;
