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
    keys_held        boolean NOT NULL DEFAULT false,
    UNIQUE (source, run_id)
);
CREATE INDEX runs_keys_held ON ingest.runs (run_ref) WHERE keys_held;
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
COMMENT ON COLUMN ingest.runs.keys_held IS 'True while ingest.run_keys holds natural keys of the run (for its later batches)';

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

-- ---------------------------------------------------------------------------
-- Periods that rest on a run that did not complete

CREATE VIEW core.v_partial_periods AS
SELECT c.dataset,
       c.authority_code,
       a.nice_name AS authority_name,
       c.month,
       (date_part('year', c.month) - (date_part('month', c.month) < 4)::integer)::integer || '-'
           || lpad((((date_part('year', c.month) - (date_part('month', c.month) < 4)::integer)::integer + 1) % 100)::text, 2, '0')
           AS financial_year,
       r.source,
       r.run_id,
       CASE WHEN r.outcome = 'complete' THEN 'partial' ELSE r.outcome END AS run_outcome,
       r.started_at AS run_started_at,
       r.ended_at AS run_ended_at,
       r.error AS run_error
FROM ingest.batch_coverage c
JOIN ingest.batches b ON b.batch_id = c.batch_id
JOIN ingest.runs r ON r.run_ref = b.run_ref
LEFT JOIN ref.authority a ON a.code = c.authority_code
WHERE (r.outcome IN ('partial', 'refused', 'failed', 'abandoned')
       OR (r.outcome = 'running' AND r.started_at IS NOT NULL)
       OR b.partial)
  AND NOT EXISTS (SELECT 1 FROM ingest.runs r2
                  WHERE r2.source = r.source AND r2.run_ref > r.run_ref
                    AND r2.outcome IN ('complete', 'unchanged'));

COMMENT ON VIEW core.v_partial_periods IS 'Authority x dataset x calendar month whose facts rest, at least in part, on a collector run that did not complete (cut short, capped by the source, columns left unread, batches refused, or abandoned or still running), until a later run of the same source completes. core.v_authority_year counts these months as not reported in full (complete = false)';
COMMENT ON COLUMN core.v_partial_periods.dataset IS 'The dataset, e.g. loans, activity_loans';
COMMENT ON COLUMN core.v_partial_periods.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.v_partial_periods.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.v_partial_periods.month IS 'First day of the calendar month';
COMMENT ON COLUMN core.v_partial_periods.financial_year IS 'Financial year of the month, e.g. 2023-24';
COMMENT ON COLUMN core.v_partial_periods.source IS 'Collector source of the run';
COMMENT ON COLUMN core.v_partial_periods.run_id IS 'The run that did not complete';
COMMENT ON COLUMN core.v_partial_periods.run_outcome IS 'partial, refused, failed, abandoned or running (see ingest.runs.outcome)';
COMMENT ON COLUMN core.v_partial_periods.run_started_at IS 'When that run began';
COMMENT ON COLUMN core.v_partial_periods.run_ended_at IS 'When it ended; NULL if it never said';
COMMENT ON COLUMN core.v_partial_periods.run_error IS 'What went wrong, as the collector said it';

-- complete is false for a year with a month in core.v_partial_periods.
CREATE OR REPLACE VIEW core.v_authority_year AS
WITH counted AS (
    -- Facts whose whole period lies in one financial year; visit samples left
    -- out; active users only over a whole year (a distinct count of people
    -- cannot be added up over shorter periods).
    SELECT m.authority_code, m.financial_year, m.measure, b.age_group, m.service_point,
           m.period_start, m.months_spanned, m.value
    FROM core.v_measure_facts m
    CROSS JOIN LATERAL (VALUES ('All ages'),
        (CASE WHEN m.age_group IN ('Under 12', '12-17', 'Adult') THEN m.age_group END)) AS b(age_group)
    WHERE m.financial_year IS NOT NULL
      AND m.full_count
      AND b.age_group IS NOT NULL
      AND (m.measure <> 'active_users' OR (m.months_spanned = 12 AND m.whole_months))
), by_month AS (
    -- One row per fact and calendar month it covers (k = 0 for its first
    -- month, which alone carries the value), so one pass gives both the sum
    -- and the distinct months. A period inside one year covers at most 12.
    SELECT c.authority_code, c.financial_year, c.measure, c.age_group,
           sum(c.value) FILTER (WHERE k.k = 0) AS value,
           count(*) FILTER (WHERE k.k = 0) AS fact_rows
    FROM counted c
    JOIN (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11)) AS k(k) ON k.k < c.months_spanned
    GROUP BY c.authority_code, c.financial_year, c.measure, c.age_group,
             date_part('year', c.period_start) * 12 + date_part('month', c.period_start) + k.k
), totals AS (
    SELECT authority_code, financial_year, measure, age_group,
           sum(value)::bigint AS value,
           sum(fact_rows)::integer AS fact_rows,
           count(*)::integer AS months_reported
    FROM by_month
    GROUP BY authority_code, financial_year, measure, age_group
), sp_register AS (
    -- Service points in the register open at some time in the year: opened
    -- by its end (or year unknown), not closed before it starts.
    SELECT sp.service_point_id, sp.authority_code, fy.label AS financial_year,
           lower(regexp_replace(btrim(sp.name), '\s+library$', '', 'i')) AS name_key
    FROM core.service_points sp
    JOIN ref.financial_year fy
      ON (sp.year_opened IS NULL OR sp.year_opened <= extract(year FROM fy.end_date))
     AND (sp.year_closed IS NULL OR sp.year_closed >= extract(year FROM fy.start_date))
    WHERE sp.valid_to IS NULL
      AND (sp.authority_code, fy.label) IN (SELECT authority_code, financial_year FROM counted WHERE service_point IS NOT NULL)
), sp_open AS (
    SELECT authority_code, financial_year, count(*)::integer AS open_points
    FROM sp_register
    GROUP BY authority_code, financial_year
), sp_reporting AS (
    SELECT c.authority_code, c.financial_year, c.measure, c.age_group,
           count(DISTINCT r.service_point_id)::integer AS reporting_points
    FROM (SELECT DISTINCT authority_code, financial_year, measure, age_group,
                 lower(regexp_replace(btrim(service_point), '\s+library$', '', 'i')) AS name_key
          FROM counted WHERE service_point IS NOT NULL) c
    JOIN sp_register r USING (authority_code, financial_year, name_key)
    GROUP BY c.authority_code, c.financial_year, c.measure, c.age_group
), measure_dataset (measure, dataset) AS (
    VALUES ('loans', 'activity_loans'), ('visits', 'activity_visits'), ('active_users', 'active_users'),
           ('events', 'activity_events'), ('event_attendance', 'activity_event_attendance'),
           ('computer_hours', 'computer_hours'), ('wifi_sessions', 'wifi_sessions'),
           ('click_and_collect', 'click_and_collect'), ('service_point_loans', 'loans'),
           ('service_point_visits', 'visits'), ('service_point_events', 'events'),
           ('service_point_event_attendance', 'events')
), partial AS (
    -- Months of the year whose facts rest on a run that did not complete.
    SELECT md.measure, p.authority_code, fy.label AS financial_year,
           count(DISTINCT p.month)::integer AS partial_months
    FROM core.v_partial_periods p
    JOIN measure_dataset md ON md.dataset = p.dataset
    JOIN ref.financial_year fy ON p.month BETWEEN fy.start_date AND fy.end_date
    GROUP BY md.measure, p.authority_code, fy.label
)
SELECT t.authority_code,
       a.nice_name AS authority_name,
       t.financial_year,
       fy.start_date AS fy_start,
       fy.end_date AS fy_end,
       t.measure,
       t.age_group,
       t.value,
       t.months_reported,
       t.months_reported >= 12 AND coalesce(pm.partial_months, 0) = 0 AS complete,
       t.fact_rows,
       o.open_points AS service_points_open,
       CASE WHEN o.open_points IS NOT NULL THEN coalesce(r.reporting_points, 0) END AS service_points_reporting,
       round(100.0 * coalesce(r.reporting_points, 0) / nullif(o.open_points, 0), 1) AS service_points_reporting_pct,
       coalesce(pm.partial_months, 0) AS partial_months
FROM totals t
LEFT JOIN ref.financial_year fy ON fy.label = t.financial_year
LEFT JOIN ref.authority a ON a.code = t.authority_code
LEFT JOIN sp_open o ON t.measure LIKE 'service\_point\_%'
                   AND o.authority_code = t.authority_code AND o.financial_year = t.financial_year
LEFT JOIN sp_reporting r ON r.authority_code = t.authority_code AND r.financial_year = t.financial_year
                        AND r.measure = t.measure AND r.age_group = t.age_group
LEFT JOIN partial pm ON pm.authority_code = t.authority_code AND pm.financial_year = t.financial_year
                    AND pm.measure = t.measure;


COMMENT ON VIEW core.v_authority_year IS 'Authority x financial year (April to March) x measure x age group: totals and how complete they are. A fact counts towards a year only when its whole period lies inside it; nothing is pro-rated; visit samples are left out; active users count only over a whole year. complete = all 12 months reported and none resting on a run that did not complete (core.v_partial_periods)';
COMMENT ON COLUMN core.v_authority_year.complete IS 'True when all 12 months are reported and no month rests on a collector run that did not complete (partial_months = 0); only complete years are compared (v_yoy, v_peer_benchmark ranks, v_bucking_trend)';
COMMENT ON COLUMN core.v_authority_year.partial_months IS 'Months of the year whose facts rest on a collector run that did not complete (core.v_partial_periods): the figures for them may be short';
