-- 005: the two roles people and programs use. The daemon writes as
-- shelfsync_writer; analysts read core and ref as shelfsync_analyst (grant it
-- to their own login roles: GRANT shelfsync_analyst TO alice). Both are
-- NOLOGIN group roles. Creating them needs CREATEROLE; where the migrating
-- role lacks it, an administrator creates them first (docs/warehouse.md)
-- and this migration only grants.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shelfsync_writer') THEN
        CREATE ROLE shelfsync_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shelfsync_analyst') THEN
        CREATE ROLE shelfsync_analyst NOLOGIN;
    END IF;
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO shelfsync_writer', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO shelfsync_analyst', current_database());
END
$$;

-- The writer: facts and machinery, and reading reference data.
GRANT USAGE ON SCHEMA core, ingest, ref TO shelfsync_writer;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA core, ingest TO shelfsync_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA ref TO shelfsync_writer;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA core, ingest TO shelfsync_writer;

-- The analyst: read-only on core and ref, nothing in ingest.
GRANT USAGE ON SCHEMA core, ref TO shelfsync_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA core, ref TO shelfsync_analyst;

-- Tables and views later migrations create get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA core GRANT SELECT, INSERT, UPDATE ON TABLES TO shelfsync_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA ingest GRANT SELECT, INSERT, UPDATE ON TABLES TO shelfsync_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA core, ingest GRANT USAGE, SELECT ON SEQUENCES TO shelfsync_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA ref GRANT SELECT ON TABLES TO shelfsync_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA core, ref GRANT SELECT ON TABLES TO shelfsync_analyst;

-- The analysts' views are plain SQL over modest tables; JIT compilation
-- costs more than it saves (about a second a query). Set for the database,
-- since a setting on a group role does not reach its members.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
END
$$;
