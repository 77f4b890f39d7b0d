-- 013: the collector's outbox depth at the end of a run (protocol 2's
-- optional run-end member outbox_batches), for `shelfsync status`. NULL for
-- runs of collectors that predate it, and for runs before this migration.

ALTER TABLE ingest.runs ADD COLUMN outbox_batches integer;
COMMENT ON COLUMN ingest.runs.outbox_batches IS 'Batches still waiting for an ack in the collector''s outbox when the run ended, as its run-end record said (the record itself not counted); NULL when the collector did not say. The record may arrive late: when it waited in the outbox too, it comes with the next run that reaches the daemon';
