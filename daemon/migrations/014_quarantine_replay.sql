-- 014: quarantined records can be replayed (issue 11, `shelfsync quarantine
-- replay`): after an operator fixes the reference data (an alias, a code),
-- the outstanding records run through today's validation again, as a batch
-- of a replay run of their own source; those that pass load, once.
--   * ingest.quarantine.fields keeps each record's values by field, so that
--     it can be sent again as it came (raw leaves absent fields out);
--   * a replayed row says when, by which batch, and what became of it;
--   * ingest.v_quarantine gives every row its state, and
--     core.v_quarantine_counts (hence v_authority_year's completeness) counts
--     only the outstanding ones.
-- Depends on 001, 007, 012.

ALTER TABLE ingest.quarantine
    ADD COLUMN fields text[],
    ADD COLUMN replayed_at timestamptz,
    ADD COLUMN replay_batch_id bigint REFERENCES ingest.batches,
    ADD COLUMN resolution text CHECK (resolution IN ('loaded', 'replaced')),
    ADD COLUMN replay_seen_count integer;
CREATE INDEX quarantine_replay_batch ON ingest.quarantine (replay_batch_id) WHERE replay_batch_id IS NOT NULL;
COMMENT ON COLUMN ingest.quarantine.fields IS 'The record''s values in the dataset''s field order, exactly as received (NULL elements: fields the collector did not send), so that `shelfsync quarantine replay` can send it again; NULL when it cannot be: the collector could not read the record, a value is not valid UTF-8, or it was quarantined before migration 014';
COMMENT ON COLUMN ingest.quarantine.replayed_at IS 'When `shelfsync quarantine replay` last ran the record through validation again; NULL if never';
COMMENT ON COLUMN ingest.quarantine.replay_batch_id IS 'The replay batch (ingest.batches, replay = true) that did';
COMMENT ON COLUMN ingest.quarantine.resolution IS 'What the replay made of it: loaded (it passed and loaded: the facts point at the replay batch), replaced (it failed again for another reason: the row of that reason, from the replay batch, holds it now); NULL while it failed again for the same reason, or was never replayed';
COMMENT ON COLUMN ingest.quarantine.replay_seen_count IS 'seen_count when the replay resolved it: a record received again afterwards (seen_count larger) is outstanding again';

ALTER TABLE ingest.batches ADD COLUMN replay boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN ingest.batches.replay IS 'True for a batch of quarantined records sent again by `shelfsync quarantine replay` (its run''s outcome is replay), under the source that first sent them';

ALTER TABLE ingest.runs DROP CONSTRAINT runs_outcome_check;
ALTER TABLE ingest.runs ADD CONSTRAINT runs_outcome_check
    CHECK (outcome IN ('running', 'complete', 'partial', 'unchanged', 'empty', 'failed', 'refused',
                       'abandoned', 'unknown', 'replay'));
COMMENT ON COLUMN ingest.runs.outcome IS 'running (no end yet); complete (everything fetched); partial (cut short, capped by the source, or columns left unread: some records are missing); unchanged (nothing new since the last run); empty (the export held no record); failed (nothing could be read); refused (the daemon refused batches); abandoned (a later run of the source began before this one ended); unknown (a run from before run records); replay (not a collector run: `shelfsync quarantine replay` sending quarantined records of the source again)';

-- Every quarantined record with its state.
CREATE VIEW ingest.v_quarantine AS
WITH whole_runs AS (
    -- As in 012: the latest complete run of each source and dataset that
    -- read the whole export again.
    SELECT source, dataset, max(run_ref) AS run_ref
    FROM ingest.runs
    WHERE outcome = 'complete' AND (full_fetch OR kind IN ('csv', 'json', 'koha_report'))
    GROUP BY source, dataset
)
SELECT q.quarantine_id, q.source, q.dataset, q.batch_id, b.run_id, q.line, q.reason, q.raw, q.fields,
       q.authority_code, q.period_start, q.period_end, q.first_seen, q.last_seen, q.seen_count,
       q.replayed_at, q.replay_batch_id, q.resolution,
       CASE WHEN q.resolution IS NOT NULL AND q.seen_count <= coalesce(q.replay_seen_count, 0)
                THEN q.resolution
            WHEN NOT (w.run_ref IS NULL OR b.run_ref IS NULL OR w.run_ref <= b.run_ref)
                THEN 'superseded'
            ELSE 'outstanding'
       END AS state,
       CASE WHEN q.reason ~ '^line [0-9]+ (repeats line [0-9]+ exactly|has the same )' THEN 'repeat'
            WHEN q.fields IS NOT NULL THEN NULL
            WHEN q.reason ~ '^line [0-9]+: ' THEN 'collector'
            ELSE 'no fields'
       END AS unreplayable
FROM ingest.quarantine q
LEFT JOIN ingest.batches b ON b.batch_id = q.batch_id
LEFT JOIN whole_runs w ON w.source = q.source AND w.dataset = q.dataset;

COMMENT ON VIEW ingest.v_quarantine IS 'Every quarantined record (ingest.quarantine) with its state: outstanding, superseded by a later complete run, or resolved by `shelfsync quarantine replay`; and whether a replay can send it again';
COMMENT ON COLUMN ingest.v_quarantine.quarantine_id IS 'Surrogate id of the quarantined record (`shelfsync quarantine show ID`)';
COMMENT ON COLUMN ingest.v_quarantine.source IS 'Collector source name';
COMMENT ON COLUMN ingest.v_quarantine.dataset IS 'Dataset the record was meant for';
COMMENT ON COLUMN ingest.v_quarantine.batch_id IS 'Batch that last carried the record';
COMMENT ON COLUMN ingest.v_quarantine.run_id IS 'The run of that batch (a collector run id, or replay-... for a replay)';
COMMENT ON COLUMN ingest.v_quarantine.line IS 'Line (or record number) in the source export where the record starts';
COMMENT ON COLUMN ingest.v_quarantine.reason IS 'Why the record was refused';
COMMENT ON COLUMN ingest.v_quarantine.raw IS 'The record as one CSV line of its mapped values';
COMMENT ON COLUMN ingest.v_quarantine.fields IS 'Its values by field, as received; NULL when not kept';
COMMENT ON COLUMN ingest.v_quarantine.authority_code IS 'GSS code of the record''s authority, where it resolved';
COMMENT ON COLUMN ingest.v_quarantine.period_start IS 'First day of the record''s period, where it could be read';
COMMENT ON COLUMN ingest.v_quarantine.period_end IS 'Last day of that period, inclusive';
COMMENT ON COLUMN ingest.v_quarantine.first_seen IS 'When the record was first quarantined';
COMMENT ON COLUMN ingest.v_quarantine.last_seen IS 'When a collector last sent it';
COMMENT ON COLUMN ingest.v_quarantine.seen_count IS 'How many times collectors sent it (a replay is not counted)';
COMMENT ON COLUMN ingest.v_quarantine.replayed_at IS 'When a replay last ran it through validation again';
COMMENT ON COLUMN ingest.v_quarantine.replay_batch_id IS 'The replay batch that did';
COMMENT ON COLUMN ingest.v_quarantine.resolution IS 'loaded or replaced by that replay; NULL if it failed again for the same reason or was never replayed';
COMMENT ON COLUMN ingest.v_quarantine.state IS 'outstanding (missing from the facts, to be fixed); superseded (a later complete run of the source that read the whole export again left it out); loaded (a replay loaded it); replaced (a replay quarantined it again for another reason: that row is outstanding instead). A resolved record sent again by a collector is outstanding again';
COMMENT ON COLUMN ingest.v_quarantine.unreplayable IS 'Why a replay cannot send it again: collector (the collector could not read it), repeat (the export gave its key twice: for the source to decide), no fields (its values by field were not kept: quarantined before migration 014, or not valid UTF-8); NULL when it can be replayed';

-- Counts of outstanding records only: a record a replay loaded no longer
-- makes its year incomplete. Same columns as in 012, one more at the end.
CREATE OR REPLACE VIEW core.v_quarantine_counts AS
WITH q AS (
    SELECT q.source, q.dataset, q.authority_code, q.period_start, q.period_end, q.seen_count,
           q.first_seen, q.last_seen,
           substring(q.reason FROM '^"([^"]+)"') AS field,
           regexp_replace(regexp_replace(q.reason, ' is "[^"]*"', ' is "..."', 'g'), '[0-9]+', 'N', 'g') AS reason,
           q.reason ~ '^line [0-9]+ repeats line [0-9]+ exactly' AS exact_repeat,
           q.state
    FROM ingest.v_quarantine q
)
SELECT q.source,
       q.dataset,
       q.authority_code,
       a.nice_name AS authority_name,
       q.period_start,
       q.period_end,
       CASE WHEN q.period_start IS NOT NULL THEN
           (date_part('year', q.period_start) - (date_part('month', q.period_start) < 4)::integer)::integer || '-'
           || lpad((((date_part('year', q.period_start) - (date_part('month', q.period_start) < 4)::integer)::integer + 1) % 100)::text, 2, '0')
       END AS financial_year,
       q.field,
       q.reason,
       q.exact_repeat,
       count(*)::integer AS records,
       (count(*) FILTER (WHERE q.state = 'outstanding'))::integer AS outstanding_records,
       sum(q.seen_count)::bigint AS times_received,
       min(q.first_seen) AS first_seen,
       max(q.last_seen) AS last_seen,
       (count(*) FILTER (WHERE q.state IN ('loaded', 'replaced')))::integer AS replayed_records
FROM q
LEFT JOIN ref.authority a ON a.code = q.authority_code
GROUP BY q.source, q.dataset, q.authority_code, a.nice_name, q.period_start, q.period_end, q.field, q.reason,
         q.exact_repeat;

COMMENT ON COLUMN core.v_quarantine_counts.outstanding_records IS 'Of those, records still outstanding: not superseded (no later complete run of the source that read the whole export again — any csv, json or koha_report run that fetched; a koha or folio run only when it fetched in full — left them out) and not resolved by `shelfsync quarantine replay` (loaded, or quarantined again for another reason, counted under that reason). Quarantine rows are a log and are never removed';
COMMENT ON COLUMN core.v_quarantine_counts.replayed_records IS 'Of those, records `shelfsync quarantine replay` resolved: loaded, or quarantined again for another reason (counted as outstanding under that reason)';
