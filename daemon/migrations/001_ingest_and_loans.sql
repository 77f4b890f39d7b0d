-- 001: the ingest machinery (batch ledger, quarantine) and the first
-- core dataset, loans. Applied once, in a transaction, by ss_migrate.

CREATE SCHEMA IF NOT EXISTS ingest;
COMMENT ON SCHEMA ingest IS 'shelfsync machinery: batch ledger, quarantine of rejected records, schema version';
CREATE SCHEMA IF NOT EXISTS core;
COMMENT ON SCHEMA core IS 'The public library core dataset: facts at the grain each source gives, and the views analysts query';
CREATE SCHEMA IF NOT EXISTS ref;
COMMENT ON SCHEMA ref IS 'Reference data and code lists: authorities, populations, peers';

CREATE TABLE ingest.batches (
    batch_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      text NOT NULL,
    run_id      text NOT NULL,
    seq         integer NOT NULL,
    dataset     text NOT NULL,
    records     integer NOT NULL,
    accepted    integer NOT NULL DEFAULT 0,
    quarantined integer NOT NULL DEFAULT 0,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, run_id, seq)
);
COMMENT ON TABLE ingest.batches IS 'Batch ledger: one row per batch applied; a batch seen again is acknowledged as a duplicate and not applied twice';
COMMENT ON COLUMN ingest.batches.batch_id IS 'Surrogate id; facts and quarantine rows point here for provenance';
COMMENT ON COLUMN ingest.batches.source IS 'Collector source name, from its config';
COMMENT ON COLUMN ingest.batches.run_id IS 'Collector run that produced the batch';
COMMENT ON COLUMN ingest.batches.seq IS 'Batch number within the run, from 1';
COMMENT ON COLUMN ingest.batches.dataset IS 'Dataset the records belong to, e.g. loans';
COMMENT ON COLUMN ingest.batches.records IS 'Records the batch carried';
COMMENT ON COLUMN ingest.batches.accepted IS 'Records that passed validation and were loaded';
COMMENT ON COLUMN ingest.batches.quarantined IS 'Records written to ingest.quarantine instead';
COMMENT ON COLUMN ingest.batches.received_at IS 'When the batch was committed';

CREATE TABLE ingest.quarantine (
    quarantine_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source        text NOT NULL,
    dataset       text NOT NULL,
    batch_id      bigint NOT NULL REFERENCES ingest.batches,
    line          bigint NOT NULL,
    reason        text NOT NULL,
    raw           text NOT NULL,
    first_seen    timestamptz NOT NULL DEFAULT now(),
    last_seen     timestamptz NOT NULL DEFAULT now(),
    seen_count    integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX quarantine_record ON ingest.quarantine (source, dataset, md5(reason), md5(raw));
COMMENT ON TABLE ingest.quarantine IS 'Records that failed validation, with the reason; the same bad record sent again updates last_seen and seen_count';
COMMENT ON COLUMN ingest.quarantine.quarantine_id IS 'Surrogate id of the quarantined record';
COMMENT ON COLUMN ingest.quarantine.source IS 'Collector source name';
COMMENT ON COLUMN ingest.quarantine.dataset IS 'Dataset the record was meant for';
COMMENT ON COLUMN ingest.quarantine.batch_id IS 'Batch that last carried the record';
COMMENT ON COLUMN ingest.quarantine.line IS 'Line (or record number) in the source export where the record starts';
COMMENT ON COLUMN ingest.quarantine.reason IS 'Why the record was refused: the field, the value, the rule';
COMMENT ON COLUMN ingest.quarantine.raw IS 'The record as received, as one CSV line of its mapped values; invalid bytes shown as \xNN';
COMMENT ON COLUMN ingest.quarantine.first_seen IS 'When the record was first quarantined';
COMMENT ON COLUMN ingest.quarantine.last_seen IS 'When it was last sent again';
COMMENT ON COLUMN ingest.quarantine.seen_count IS 'How many times it has been received';

CREATE TABLE core.loans (
    authority     text NOT NULL,
    service_point text NOT NULL,
    item_type     text NOT NULL,
    loans         bigint NOT NULL CHECK (loans >= 0),
    period_start  date NOT NULL,
    period_end    date NOT NULL,
    source        text NOT NULL,
    batch_id      bigint NOT NULL,
    loaded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (authority, service_point, item_type, period_start, period_end),
    CHECK (period_end >= period_start)
);
COMMENT ON TABLE core.loans IS 'Loans (issues and renewals) by service point, count period and item type, at the grain the source gives';
COMMENT ON COLUMN core.loans.authority IS 'Local authority responsible for the library service, as the source names it';
COMMENT ON COLUMN core.loans.service_point IS 'Library (service point) the loans were made at, as the source names it';
COMMENT ON COLUMN core.loans.item_type IS 'Item type as the library service categorises it, e.g. Adult fiction';
COMMENT ON COLUMN core.loans.loans IS 'Issues and renewals of that item type in the count period';
COMMENT ON COLUMN core.loans.period_start IS 'First day of the count period';
COMMENT ON COLUMN core.loans.period_end IS 'Last day of the count period, inclusive';
COMMENT ON COLUMN core.loans.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.loans.batch_id IS 'Batch that last changed the row (ingest.batches.batch_id)';
-- No foreign key on batch_id: the daemon writes the ledger row in the same
-- transaction, and a per-row referential check costs a quarter of the load time.
COMMENT ON COLUMN core.loans.loaded_at IS 'When the row was last inserted or changed';
