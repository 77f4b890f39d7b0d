-- 007: a record of every collector run (protocol v2 run messages), which
-- runs were cut short and what they touched, duplicates decided over a whole
-- run, and a quarantine that keeps every line.

CREATE TABLE ingest.runs (
    run_ref          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source           text NOT NULL,
    run_id           text NOT NULL,
    dataset          text NOT NULL,
    kind             text,
    config           text,
    full_fetch       boolean,
    started_at       timestamptz,
    ended_at         timestamptz,
    outcome          text NOT NULL DEFAULT 'running'
                     CHECK (outcome IN ('running', 'complete', 'partial', 'unchanged', 'empty',
                                        'failed', 'refused', 'abandoned', 'unknown')),
    exit_status      integer,
    bytes            bigint,
    records_sent     bigint,
    rejected_by_collector bigint,
    batches_sent     integer,
    batches_refused  integer,
    batches_received integer NOT NULL DEFAULT 0,
    error            text,
    first_seen       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, run_id)
);
COMMENT ON TABLE ingest.runs IS 'One row per collector run, from its run-begin and run-end messages (protocol 2), including runs that sent nothing (unchanged, failed); batches of the run point here (ingest.batches.run_ref). See ingest.v_runs for what the daemon loaded';
COMMENT ON COLUMN ingest.runs.run_ref IS 'Surrogate id of the run';
COMMENT ON COLUMN ingest.runs.source IS 'Collector source name, from its config';
COMMENT ON COLUMN ingest.runs.run_id IS 'The collector''s run id (UTC start time and 8 random hex digits)';
COMMENT ON COLUMN ingest.runs.dataset IS 'Dataset the run delivers';
COMMENT ON COLUMN ingest.runs.kind IS 'Source kind: csv, json, koha, koha_report, folio';
COMMENT ON COLUMN ingest.runs.config IS 'Identity (SHA-256) of the part of the collector config that shapes records: a change makes the collector fetch in full';
COMMENT ON COLUMN ingest.runs.full_fetch IS 'True when the run fetched in full, false when it fetched only what was new since its cursor';
COMMENT ON COLUMN ingest.runs.started_at IS 'When the run began (the collector''s clock); NULL when no run-begin message arrived (a protocol 1 collector)';
COMMENT ON COLUMN ingest.runs.ended_at IS 'When the run ended (the collector''s clock); NULL while it runs, or when it never said';
COMMENT ON COLUMN ingest.runs.outcome IS 'running (no end yet); complete (everything fetched); partial (cut short, capped by the source, or columns left unread: some records are missing); unchanged (nothing new since the last run); empty (the export held no record); failed (nothing could be read); refused (the daemon refused batches); abandoned (a later run of the source began before this one ended); unknown (a run from before run records)';
COMMENT ON COLUMN ingest.runs.exit_status IS 'The collector''s exit status for the run (see docs/collectors.md)';
COMMENT ON COLUMN ingest.runs.bytes IS 'Body bytes the collector received';
COMMENT ON COLUMN ingest.runs.records_sent IS 'Records the collector sent, quarantined ones included';
COMMENT ON COLUMN ingest.runs.rejected_by_collector IS 'Records the collector could not read and sent to the quarantine';
COMMENT ON COLUMN ingest.runs.batches_sent IS 'Batches the run made';
COMMENT ON COLUMN ingest.runs.batches_refused IS 'Batches of the run the daemon refused, as the collector counted them';
COMMENT ON COLUMN ingest.runs.batches_received IS 'Batches of the run the daemon applied';
COMMENT ON COLUMN ingest.runs.error IS 'What went wrong, as the collector said it; NULL when nothing did';
COMMENT ON COLUMN ingest.runs.first_seen IS 'When the daemon first heard of the run';

-- Runs from before run records: one per (source, run_id) in the ledger.
INSERT INTO ingest.runs (source, run_id, dataset, outcome, batches_received, first_seen)
SELECT source, run_id, min(dataset), 'unknown', count(*), min(received_at)
FROM ingest.batches GROUP BY source, run_id;

ALTER TABLE ingest.batches
    ADD COLUMN run_ref bigint,
    ADD COLUMN last boolean NOT NULL DEFAULT false,
    ADD COLUMN partial boolean NOT NULL DEFAULT false;
UPDATE ingest.batches b SET run_ref = r.run_ref FROM ingest.runs r
 WHERE r.source = b.source AND r.run_id = b.run_id;
CREATE INDEX batches_run ON ingest.batches (run_ref);
COMMENT ON COLUMN ingest.batches.run_ref IS 'The run that made the batch (ingest.runs)';
COMMENT ON COLUMN ingest.batches.last IS 'True for the last batch of its run';
COMMENT ON COLUMN ingest.batches.partial IS 'True when the run''s fetch was cut short: the records after this batch''s last one never arrived';

-- Which calendar months of which authority each batch wrote facts for: the
-- views mark a month incomplete while it rests on a run that did not
-- complete (core.v_partial_periods).
CREATE TABLE ingest.batch_coverage (
    batch_id       bigint NOT NULL,
    dataset        text NOT NULL,
    authority_code text NOT NULL,
    month          date NOT NULL,
    PRIMARY KEY (batch_id, dataset, authority_code, month)
);
CREATE INDEX batch_coverage_month ON ingest.batch_coverage (dataset, authority_code, month);
COMMENT ON TABLE ingest.batch_coverage IS 'The calendar months (of the period, event date, count date or issue time) each applied batch loaded facts for, per authority';
COMMENT ON COLUMN ingest.batch_coverage.batch_id IS 'The batch (ingest.batches)';
COMMENT ON COLUMN ingest.batch_coverage.dataset IS 'Its dataset';
COMMENT ON COLUMN ingest.batch_coverage.authority_code IS 'ONS GSS code of an authority the batch loaded facts for';
COMMENT ON COLUMN ingest.batch_coverage.month IS 'First day of a calendar month those facts fall in';

-- The natural keys a run has loaded so far, so that a key repeated in a
-- later batch of the same export is judged the same way whatever the batch
-- boundaries and however often the export is loaded: the first record wins,
-- the repeat is quarantined. Held while the run is in progress.
CREATE TABLE ingest.run_keys (
    run_ref     bigint NOT NULL,
    key_hash    bigint NOT NULL,
    line        bigint NOT NULL,
    values_hash bigint NOT NULL,
    PRIMARY KEY (run_ref, key_hash)
);
COMMENT ON TABLE ingest.run_keys IS 'Natural keys (64-bit hashes of their normalised values) loaded by the batches of runs still in progress, with the line that gave each: a later record of the same run with the same key is quarantined, never applied over it. Emptied for a run once all its batches are in';
COMMENT ON COLUMN ingest.run_keys.run_ref IS 'The run (ingest.runs)';
COMMENT ON COLUMN ingest.run_keys.key_hash IS 'Hash of the record''s natural key, after normalisation';
COMMENT ON COLUMN ingest.run_keys.line IS 'Line of the export that first gave the key';
COMMENT ON COLUMN ingest.run_keys.values_hash IS 'Hash of that record''s other values: tells an exact repeat from a conflicting one';
GRANT DELETE ON ingest.run_keys TO shelfsync_writer;

-- Two bad records with the same text on different lines are two records.
DROP INDEX ingest.quarantine_record;
CREATE UNIQUE INDEX quarantine_record ON ingest.quarantine (source, dataset, line, md5(reason), md5(raw));
COMMENT ON TABLE ingest.quarantine IS 'Records that failed validation, with the reason; one row per source line (the same bad record on two lines is two rows), and the same bad record sent again updates last_seen and seen_count';

CREATE VIEW ingest.v_runs AS
SELECT r.run_ref, r.source, r.run_id, r.dataset, r.kind, r.started_at, r.ended_at, r.outcome,
       r.exit_status, r.full_fetch, r.bytes, r.records_sent, r.rejected_by_collector,
       r.batches_sent, r.batches_refused, r.batches_received,
       coalesce(b.accepted, 0) AS accepted,
       coalesce(b.quarantined, 0) AS quarantined,
       coalesce(b.partial, false) AS partial_batch,
       r.error
FROM ingest.runs r
LEFT JOIN (SELECT run_ref, sum(accepted)::bigint AS accepted, sum(quarantined)::bigint AS quarantined,
                  bool_or(partial) AS partial
           FROM ingest.batches GROUP BY run_ref) b ON b.run_ref = r.run_ref;
COMMENT ON VIEW ingest.v_runs IS 'Every collector run with what the daemon made of it: records loaded and quarantined, summed over the run''s batches in the ledger';
COMMENT ON COLUMN ingest.v_runs.run_ref IS 'Surrogate id of the run';
COMMENT ON COLUMN ingest.v_runs.source IS 'Collector source name';
COMMENT ON COLUMN ingest.v_runs.run_id IS 'The collector''s run id';
COMMENT ON COLUMN ingest.v_runs.dataset IS 'Dataset the run delivers';
COMMENT ON COLUMN ingest.v_runs.kind IS 'Source kind';
COMMENT ON COLUMN ingest.v_runs.started_at IS 'When the run began';
COMMENT ON COLUMN ingest.v_runs.ended_at IS 'When the run ended';
COMMENT ON COLUMN ingest.v_runs.outcome IS 'As ingest.runs.outcome';
COMMENT ON COLUMN ingest.v_runs.exit_status IS 'The collector''s exit status';
COMMENT ON COLUMN ingest.v_runs.full_fetch IS 'Fetched in full rather than incrementally';
COMMENT ON COLUMN ingest.v_runs.bytes IS 'Body bytes received';
COMMENT ON COLUMN ingest.v_runs.records_sent IS 'Records sent, quarantined ones included';
COMMENT ON COLUMN ingest.v_runs.rejected_by_collector IS 'Records the collector could not read';
COMMENT ON COLUMN ingest.v_runs.batches_sent IS 'Batches the run made';
COMMENT ON COLUMN ingest.v_runs.batches_refused IS 'Batches the daemon refused';
COMMENT ON COLUMN ingest.v_runs.batches_received IS 'Batches the daemon applied';
COMMENT ON COLUMN ingest.v_runs.accepted IS 'Records of the run loaded into core';
COMMENT ON COLUMN ingest.v_runs.quarantined IS 'Records of the run written to ingest.quarantine';
COMMENT ON COLUMN ingest.v_runs.partial_batch IS 'True when a batch of the run said the fetch was cut short';
COMMENT ON COLUMN ingest.v_runs.error IS 'What went wrong, as the collector said it';
