-- The natural keys of a run's batches, kept for its later batches as one
-- row of three arrays per batch, with the batch's key range, instead of one
-- ingest.run_keys row per key: writing them costs one row a batch. A later
-- batch probes only the sets whose range meets its own (an export in some
-- order meets one or two: the batches around it), read whole. A batch that
-- meets more than a few (an export in no order) moves them into
-- ingest.run_keys, and the run's keys are probed there by its index from
-- then on (ingest.runs.keys_indexed). Held while the run is in progress.
CREATE TABLE ingest.run_key_sets (
    run_ref     bigint NOT NULL,
    batch_id    bigint NOT NULL,
    key_hash    bigint[] NOT NULL,
    line        bigint[] NOT NULL,
    values_hash bigint[] NOT NULL,
    min_key     bytea NOT NULL,
    max_key     bytea NOT NULL,
    PRIMARY KEY (run_ref, batch_id),
    CHECK (cardinality(key_hash) = cardinality(line) AND cardinality(line) = cardinality(values_hash)),
    CHECK (min_key <= max_key)
);
-- 64-bit hashes do not compress: stored out of line without trying.
ALTER TABLE ingest.run_key_sets ALTER COLUMN key_hash SET STORAGE EXTERNAL,
    ALTER COLUMN line SET STORAGE EXTERNAL, ALTER COLUMN values_hash SET STORAGE EXTERNAL;
COMMENT ON TABLE ingest.run_key_sets IS 'Natural keys (as in ingest.run_keys) of the batches of runs in progress, one row per batch with its key range; probed by a later batch of the run whose range meets it, moved into ingest.run_keys when one meets too many; emptied for a run once all its batches are in';
COMMENT ON COLUMN ingest.run_key_sets.run_ref IS 'The run (ingest.runs)';
COMMENT ON COLUMN ingest.run_key_sets.batch_id IS 'The batch (ingest.batches) whose keys these are';
COMMENT ON COLUMN ingest.run_key_sets.key_hash IS 'Hashes of its kept records'' natural keys, after normalisation';
COMMENT ON COLUMN ingest.run_key_sets.line IS 'Line of the export that gave each key (same order)';
COMMENT ON COLUMN ingest.run_key_sets.values_hash IS 'Hash of each record''s other values (same order)';
COMMENT ON COLUMN ingest.run_key_sets.min_key IS 'The least of its natural keys (the key columns'' text, tab-separated, cut at 256 bytes)';
COMMENT ON COLUMN ingest.run_key_sets.max_key IS 'The greatest of its natural keys, the same way';
GRANT SELECT, INSERT, UPDATE, DELETE ON ingest.run_key_sets TO shelfsync_writer;

ALTER TABLE ingest.runs ADD COLUMN keys_indexed boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN ingest.runs.keys_indexed IS 'True once keys of the run went from ingest.run_key_sets to ingest.run_keys (its batches met too many key sets): its later batches probe run_keys too';
COMMENT ON COLUMN ingest.runs.keys_held IS 'True while ingest.run_key_sets or ingest.run_keys hold natural keys of the run (for its later batches)';
