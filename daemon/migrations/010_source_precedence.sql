-- 010: several sources for one fact. Every source that sends a batch has a
-- row in ingest.source with a precedence operators set (`shelfsync source
-- precedence`). When two sources send the same natural key, the fact table
-- holds the winning value (the higher precedence; at equal precedence the
-- value already there stays) and core.source_values keeps every source's
-- value of that key, so nothing is overwritten without a trace.
-- ingest.dataset_source says which sources have written which dataset: the
-- daemon does the extra work only for a dataset with more than one.

CREATE TABLE ingest.source (
    source     text PRIMARY KEY,
    precedence integer NOT NULL DEFAULT 0,
    note       text,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz NOT NULL DEFAULT now(),
    changed_at timestamptz
);
COMMENT ON TABLE ingest.source IS 'Every collector source that has sent a batch (the daemon adds it on its first batch, precedence 0), with the precedence that decides whose value a fact row holds when two sources send the same natural key';
COMMENT ON COLUMN ingest.source.source IS 'Collector source name, from its config';
COMMENT ON COLUMN ingest.source.precedence IS 'Higher wins: a fact row holds the value of the source of highest precedence that sent its key; at equal precedence the value already there stays. Set with `shelfsync source precedence NAME N`';
COMMENT ON COLUMN ingest.source.note IS 'Why the precedence is what it is, as the operator said (`--note`)';
COMMENT ON COLUMN ingest.source.first_seen IS 'When the daemon first received a batch from the source';
COMMENT ON COLUMN ingest.source.last_seen IS 'When it last received one (to the minute)';
COMMENT ON COLUMN ingest.source.changed_at IS 'When the precedence or note was last set; NULL if never';

CREATE TABLE ingest.dataset_source (
    dataset    text NOT NULL,
    source     text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, source)
);
COMMENT ON TABLE ingest.dataset_source IS 'Which sources have loaded facts into which dataset; while a dataset has one, its batches skip the several-sources work';
COMMENT ON COLUMN ingest.dataset_source.dataset IS 'Dataset, e.g. loans';
COMMENT ON COLUMN ingest.dataset_source.source IS 'Collector source that has loaded facts into it';
COMMENT ON COLUMN ingest.dataset_source.first_seen IS 'When it first did';

CREATE TABLE core.source_values (
    dataset   text NOT NULL,
    key       jsonb NOT NULL,
    key_text  text NOT NULL,
    source    text NOT NULL,
    value     jsonb NOT NULL,
    winning   boolean NOT NULL,
    batch_id  bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, key, source)
);
COMMENT ON TABLE core.source_values IS 'Every source''s value of each contested fact: a natural key that more than one source has sent. The fact table holds the winning one (winning = true); a key only one source sent is not here';
COMMENT ON COLUMN core.source_values.dataset IS 'Dataset (and core table) of the fact, e.g. loans';
COMMENT ON COLUMN core.source_values.key IS 'The fact''s natural key: its key columns and their values, e.g. {"authority_code": "E09000003", "period_start": "2024-01-01", ...}';
COMMENT ON COLUMN core.source_values.key_text IS 'The key''s values in column order, separated by " / ", for reading';
COMMENT ON COLUMN core.source_values.source IS 'Collector source that sent this value';
COMMENT ON COLUMN core.source_values.value IS 'The fact''s other columns as that source last sent them, e.g. {"loans": 1}';
COMMENT ON COLUMN core.source_values.winning IS 'True for the value the fact table holds (highest precedence; at equal precedence the one there first)';
COMMENT ON COLUMN core.source_values.batch_id IS 'Batch that last gave this value (ingest.batches.batch_id)';
COMMENT ON COLUMN core.source_values.loaded_at IS 'When this value was last loaded or changed';
GRANT SELECT, INSERT, UPDATE ON core.source_values TO shelfsync_writer;
GRANT SELECT, INSERT, UPDATE ON ingest.source, ingest.dataset_source TO shelfsync_writer;
GRANT SELECT ON core.source_values TO shelfsync_analyst;

-- Sources and writers a warehouse already has: from the ledger, and from the
-- fact tables themselves (rows loaded by other means included), so that a
-- dataset two sources wrote before this migration takes the several-sources
-- path from its next batch. What was overwritten before it left no trace.
INSERT INTO ingest.source (source, first_seen, last_seen)
SELECT source, min(received_at), max(received_at) FROM ingest.batches GROUP BY source
ON CONFLICT (source) DO NOTHING;
INSERT INTO ingest.dataset_source (dataset, source, first_seen)
SELECT dataset, source, min(received_at) FROM ingest.batches WHERE accepted > 0 GROUP BY dataset, source
ON CONFLICT DO NOTHING;
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'core' AND c.relkind = 'r' AND c.relname <> 'source_values'
               AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'source')
               AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'batch_id')
             ORDER BY 1
    LOOP
        EXECUTE format('INSERT INTO ingest.dataset_source (dataset, source) SELECT DISTINCT %L, source FROM core.%I ON CONFLICT DO NOTHING', t, t);
        EXECUTE format('INSERT INTO ingest.source (source) SELECT DISTINCT source FROM core.%I ON CONFLICT DO NOTHING', t);
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------------
-- Where sources disagree

CREATE VIEW core.v_source_disagreements AS
SELECT v.dataset,
       v.key ->> 'authority_code' AS authority_code,
       a.nice_name AS authority_name,
       v.key_text,
       v.key::text AS key,
       v.source,
       coalesce(s.precedence, 0) AS precedence,
       v.value::text AS value,
       v.winning,
       v.batch_id,
       v.loaded_at
FROM core.source_values v
LEFT JOIN ingest.source s ON s.source = v.source
LEFT JOIN ref.authority a ON a.code = v.key ->> 'authority_code'
WHERE EXISTS (SELECT 1 FROM core.source_values o
              WHERE o.dataset = v.dataset AND o.key = v.key AND o.value <> v.value);
COMMENT ON VIEW core.v_source_disagreements IS 'Facts that two or more sources sent with different values: one row per source and fact. The fact table and every view hold the winning row''s value; the others are here only';
COMMENT ON COLUMN core.v_source_disagreements.dataset IS 'Dataset (and core table) of the fact, e.g. loans';
COMMENT ON COLUMN core.v_source_disagreements.authority_code IS 'ONS GSS code of the library authority the fact is about';
COMMENT ON COLUMN core.v_source_disagreements.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.v_source_disagreements.key_text IS 'The fact''s natural key, its values in column order separated by " / "';
COMMENT ON COLUMN core.v_source_disagreements.key IS 'The fact''s natural key as JSON text ({"column": value, ...}; key::jsonb ->> ''service_point'' takes one out), as in core.source_values.key';
COMMENT ON COLUMN core.v_source_disagreements.source IS 'Collector source that sent this value';
COMMENT ON COLUMN core.v_source_disagreements.precedence IS 'That source''s precedence (higher wins)';
COMMENT ON COLUMN core.v_source_disagreements.value IS 'The fact''s other columns as that source sent them, as JSON text, e.g. {"loans": 1}';
COMMENT ON COLUMN core.v_source_disagreements.winning IS 'True for the value the fact table and the views hold';
COMMENT ON COLUMN core.v_source_disagreements.batch_id IS 'Batch that gave this value (ingest.batches.batch_id)';
COMMENT ON COLUMN core.v_source_disagreements.loaded_at IS 'When this value was last loaded or changed';
GRANT SELECT ON core.v_source_disagreements TO shelfsync_analyst;
