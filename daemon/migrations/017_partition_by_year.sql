-- 017: the service-point fact tables core.loans and core.visits are
-- partitioned by financial year (PARTITION BY RANGE (period_start), one
-- partition per 1 April - 31 March, plus a DEFAULT partition so that no row
-- can ever fail for want of a partition). Years 2010-11 to 2030-31 are made
-- here; core.add_financial_year_partition makes another (moving its rows
-- out of the DEFAULT partition). The daemon never creates partitions: a
-- period outside the made years lands in DEFAULT, so two daemons loading at
-- once never race on DDL.
--
-- Only tables whose natural key holds period_start can be partitioned on
-- it (a unique index on a partitioned table must include the partition
-- key). core.loan_transactions is keyed by (authority_code,
-- transaction_id) alone: putting issued_at into its key would let a
-- transaction re-sent with a corrected issue time become a second row
-- (counted twice), so it stays one table. The authority-level activity
-- tables are small (a row per authority and month) and stay as they are.
--
-- Each table is rebuilt in this migration's transaction: the views over it
-- (found through pg_depend, recursively) are kept as pg_get_viewdef gives
-- them with their comments, column comments and grants, and dropped; the
-- table is renamed away, the partitioned table made LIKE it (columns,
-- defaults, checks, column comments), its rows copied, its indexes made
-- again from pg_get_indexdef (loans_key, visits_key: the daemon's ON
-- CONFLICT target), its grants and comment copied; the old table dropped
-- (which fails, and so rolls everything back, if anything else still
-- depends on it) and the views made again in dependency order.

CREATE FUNCTION core.add_financial_year_partition(parent regclass, first_year integer)
RETURNS regclass LANGUAGE plpgsql AS $fn$
DECLARE
    nsp text;
    rel text;
    part text;
    dflt text;
    lo date;
    hi date;
    made regclass;
    av record;
BEGIN
    SELECT n.nspname, c.relname INTO nsp, rel
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = parent AND c.relkind = 'p';
    IF NOT FOUND THEN
        RAISE EXCEPTION '% is not a partitioned table', parent;
    END IF;
    IF first_year IS NULL OR first_year < 1900 OR first_year > 2199 THEN
        RAISE EXCEPTION 'financial year %-% is out of range (1900 to 2199)', first_year, first_year + 1;
    END IF;
    lo := make_date(first_year, 4, 1);
    hi := make_date(first_year + 1, 4, 1);
    part := format('%s_fy%s_%s', rel, first_year, lpad(((first_year + 1) % 100)::text, 2, '0'));
    dflt := rel || '_default';
    -- Writers (ROW EXCLUSIVE) finish first and wait for us; taken before
    -- the DEFAULT partition's lock, in the order an INSERT takes them.
    EXECUTE format('LOCK TABLE %I.%I IN SHARE ROW EXCLUSIVE MODE', nsp, rel);
    made := to_regclass(format('%I.%I', nsp, part));
    IF made IS NOT NULL THEN
        RETURN made;
    END IF;
    IF to_regclass(format('%I.%I', nsp, dflt)) IS NOT NULL THEN
        -- The DEFAULT partition may hold rows of the year: they move to the
        -- new partition before it is attached, in this transaction.
        EXECUTE format('LOCK TABLE %I.%I IN ACCESS EXCLUSIVE MODE', nsp, dflt);
        EXECUTE format('CREATE TABLE %I.%I (LIKE %I.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                       nsp, part, nsp, rel);
        EXECUTE format('WITH moved AS (DELETE FROM %I.%I WHERE period_start >= $1 AND period_start < $2 '
                       'RETURNING *) INSERT INTO %I.%I SELECT * FROM moved', nsp, dflt, nsp, part)
            USING lo, hi;
        EXECUTE format('ALTER TABLE %I.%I ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                       nsp, rel, nsp, part, lo, hi);
    ELSE
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
                       nsp, part, nsp, rel, lo, hi);
    END IF;
    made := to_regclass(format('%I.%I', nsp, part));
    EXECUTE format('COMMENT ON TABLE %s IS %L', made,
                   format('Partition of %s.%s: financial year %s-%s (period_start from %s to %s)',
                          nsp, rel, first_year, lpad(((first_year + 1) % 100)::text, 2, '0'), lo, hi - 1));
    FOR av IN SELECT attname, col_description(parent, attnum) AS comment FROM pg_attribute
              WHERE attrelid = parent AND attnum > 0 AND NOT attisdropped LOOP
        EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', made, av.attname, av.comment);
    END LOOP;
    FOR av IN SELECT x.privilege_type, x.grantee FROM pg_class c, aclexplode(c.relacl) x
              WHERE c.oid = parent AND x.grantee <> c.relowner LOOP
        EXECUTE format('GRANT %s ON %s TO %s', av.privilege_type, made,
                       CASE WHEN av.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(av.grantee::regrole::text) END);
    END LOOP;
    -- The table's replica identity (migration 018: FULL, for logical
    -- replication), which a new partition does not inherit.
    IF (SELECT relreplident FROM pg_class WHERE oid = parent) = 'f' THEN
        EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', made);
    END IF;
    RETURN made;
END
$fn$;
COMMENT ON FUNCTION core.add_financial_year_partition(regclass, integer) IS
    'Make the partition of a table partitioned by financial year (period_start) for the year from 1 April of first_year, moving its rows out of the DEFAULT partition; returns the partition (the one there already if it exists). Takes SHARE ROW EXCLUSIVE on the table: loads wait for it, it waits for loads';

-- autovacuum ANALYZEs partitions, never a partitioned table, and a query
-- over the whole table (a batch joined to it on the natural key) is planned
-- with the partitioned table's own statistics: without them every column
-- is taken to have 200 distinct values, and the join of a 5,000-record
-- batch to 30,000 rows of one authority was planned as a merge join on
-- authority_code alone (150,000,000 comparisons, 25 s). shelfsyncd calls
-- this after batches that wrote 50 rows + 10 % of the table (autovacuum's
-- defaults for a plain table; daemon/ss_partstats.h); it runs as the
-- table's owner, since the daemon's role (shelfsync_writer) may not
-- ANALYZE. SKIP_LOCKED: a table being given a partition, or analyzed by
-- another daemon, is skipped rather than waited for.
CREATE FUNCTION core.analyze_partitioned(tbl regclass)
RETURNS real LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET client_min_messages = error AS $fn$
DECLARE
    n real;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
                    WHERE c.oid = tbl AND c.relkind = 'p' AND s.nspname = 'core') THEN
        RAISE EXCEPTION '% is not a partitioned table of core', tbl;
    END IF;
    EXECUTE format('ANALYZE (SKIP_LOCKED) %s', tbl);
    SELECT reltuples INTO n FROM pg_class WHERE oid = tbl;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION core.analyze_partitioned(regclass) IS
    'ANALYZE a partitioned table of core (and its partitions), as its owner, skipping it if locked; returns its rows as counted. autovacuum never analyzes a partitioned table; shelfsyncd calls this after writing 50 rows + 10 % of it';
REVOKE ALL ON FUNCTION core.analyze_partitioned(regclass) FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'shelfsync_writer') THEN
        GRANT EXECUTE ON FUNCTION core.analyze_partitioned(regclass) TO shelfsync_writer;
    END IF;
END
$$;

CREATE FUNCTION pg_temp.ss_partition_by_year(tbl regclass, first_year integer, last_year integer)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    nsp text;
    rel text;
    old text;
    newt regclass;
    comment text;
    rv record;
    av record;
BEGIN
    SELECT n.nspname, c.relname INTO nsp, rel
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl AND c.relkind = 'r';
    IF NOT FOUND THEN
        RAISE EXCEPTION '% is not a plain table', tbl;
    END IF;
    IF EXISTS (SELECT FROM pg_constraint WHERE confrelid = tbl) THEN
        RAISE EXCEPTION '% is referenced by a foreign key: not partitioned', tbl;
    END IF;
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', tbl);
    old := rel || '_unpartitioned';
    comment := obj_description(tbl, 'pg_class');

    -- The views over the table, at their greatest depth: a view comes
    -- after every view it reads.
    DROP TABLE IF EXISTS pg_temp.ss_views, pg_temp.ss_view_columns, pg_temp.ss_indexes, pg_temp.ss_acl;
    CREATE TEMP TABLE ss_views AS
    WITH RECURSIVE deps (oid, depth) AS (
        SELECT DISTINCT r.ev_class, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
         WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
           AND d.refobjid = tbl AND r.ev_class <> tbl
        UNION
        SELECT r.ev_class, deps.depth + 1 FROM deps
          JOIN pg_depend d ON d.refobjid = deps.oid AND d.refclassid = 'pg_class'::regclass
                          AND d.classid = 'pg_rewrite'::regclass
          JOIN pg_rewrite r ON r.oid = d.objid
         WHERE r.ev_class <> deps.oid)
    SELECT c.oid, n.nspname, c.relname, c.relkind, pg_get_viewdef(c.oid) AS def, max(deps.depth) AS depth,
           c.reloptions, c.relowner::regrole::text AS owner, obj_description(c.oid, 'pg_class') AS comment
      FROM deps JOIN pg_class c ON c.oid = deps.oid JOIN pg_namespace n ON n.oid = c.relnamespace
     GROUP BY c.oid, n.nspname, c.relname, c.relkind, c.reloptions, c.relowner;
    IF EXISTS (SELECT FROM ss_views WHERE relkind <> 'v') THEN
        RAISE EXCEPTION '% has dependents that are not plain views', tbl;
    END IF;
    -- Dropping the views CASCADE must take nothing else with them.
    IF EXISTS (SELECT FROM pg_depend d JOIN ss_views v ON v.oid = d.refobjid
                WHERE d.refclassid = 'pg_class'::regclass AND d.classid NOT IN ('pg_rewrite'::regclass, 'pg_type'::regclass)) THEN
        RAISE EXCEPTION 'an object other than a view depends on a view over %', tbl;
    END IF;
    CREATE TEMP TABLE ss_view_columns AS
    SELECT v.nspname, v.relname, a.attname, col_description(v.oid, a.attnum) AS comment
      FROM ss_views v JOIN pg_attribute a ON a.attrelid = v.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE col_description(v.oid, a.attnum) IS NOT NULL;
    CREATE TEMP TABLE ss_acl AS
    SELECT format('%I.%I', v.nspname, v.relname) AS obj, x.privilege_type, x.grantee
      FROM ss_views v JOIN pg_class c ON c.oid = v.oid, aclexplode(c.relacl) x WHERE x.grantee <> c.relowner
    UNION ALL
    SELECT format('%I.%I', nsp, rel), x.privilege_type, x.grantee
      FROM pg_class c, aclexplode(c.relacl) x WHERE c.oid = tbl AND x.grantee <> c.relowner;
    CREATE TEMP TABLE ss_indexes AS
    SELECT x.relname, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
     WHERE i.indrelid = tbl;

    FOR rv IN SELECT * FROM ss_views WHERE depth = 1 LOOP
        EXECUTE format('DROP VIEW IF EXISTS %I.%I CASCADE', rv.nspname, rv.relname);
    END LOOP;

    EXECUTE format('ALTER TABLE %I.%I RENAME TO %I', nsp, rel, old);
    FOR rv IN SELECT * FROM ss_indexes LOOP
        EXECUTE format('ALTER INDEX %I.%I RENAME TO %I', nsp, rv.relname, left(rv.relname, 48) || '_unpartitioned');
    END LOOP;
    EXECUTE format('CREATE TABLE %I.%I (LIKE %I.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS '
                   'INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STATISTICS INCLUDING STORAGE) '
                   'PARTITION BY RANGE (period_start)', nsp, rel, nsp, old);
    newt := to_regclass(format('%I.%I', nsp, rel));
    EXECUTE format('COMMENT ON TABLE %s IS %L', newt,
                   comment || '. Partitioned by financial year of period_start (see core.add_financial_year_partition)');
    FOR av IN SELECT * FROM ss_acl WHERE obj = format('%I.%I', nsp, rel) LOOP
        EXECUTE format('GRANT %s ON %s TO %s', av.privilege_type, newt,
                       CASE WHEN av.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(av.grantee::regrole::text) END);
    END LOOP;
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s DEFAULT', nsp, rel || '_default', newt);
    EXECUTE format('COMMENT ON TABLE %I.%I IS %L', nsp, rel || '_default',
                   format('DEFAULT partition of %s.%s: rows of a financial year that has no partition of its own '
                          '(core.add_financial_year_partition moves them into one)', nsp, rel));
    FOR av IN SELECT attname, col_description(newt, attnum) AS comment FROM pg_attribute
              WHERE attrelid = newt AND attnum > 0 AND NOT attisdropped LOOP
        EXECUTE format('COMMENT ON COLUMN %I.%I.%I IS %L', nsp, rel || '_default', av.attname, av.comment);
    END LOOP;
    FOR av IN SELECT * FROM ss_acl WHERE obj = format('%I.%I', nsp, rel) LOOP
        EXECUTE format('GRANT %s ON %I.%I TO %s', av.privilege_type, nsp, rel || '_default',
                       CASE WHEN av.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(av.grantee::regrole::text) END);
    END LOOP;
    FOR y IN first_year .. last_year LOOP
        PERFORM core.add_financial_year_partition(newt, y);
    END LOOP;

    EXECUTE format('INSERT INTO %s SELECT * FROM %I.%I', newt, nsp, old);
    FOR rv IN SELECT * FROM ss_indexes LOOP
        EXECUTE rv.def;
    END LOOP;
    EXECUTE format('DROP TABLE %I.%I', nsp, old);

    FOR rv IN SELECT * FROM ss_views ORDER BY depth, oid LOOP
        EXECUTE format('CREATE VIEW %I.%I%s AS %s', rv.nspname, rv.relname,
                       CASE WHEN rv.reloptions IS NULL THEN '' ELSE ' WITH (' || array_to_string(rv.reloptions, ', ') || ')' END,
                       rv.def);
        IF rv.owner <> current_user THEN
            EXECUTE format('ALTER VIEW %I.%I OWNER TO %I', rv.nspname, rv.relname, rv.owner);
        END IF;
        EXECUTE format('COMMENT ON VIEW %I.%I IS %L', rv.nspname, rv.relname, rv.comment);
    END LOOP;
    FOR av IN SELECT * FROM ss_view_columns LOOP
        EXECUTE format('COMMENT ON COLUMN %I.%I.%I IS %L', av.nspname, av.relname, av.attname, av.comment);
    END LOOP;
    FOR av IN SELECT * FROM ss_acl WHERE obj <> format('%I.%I', nsp, rel) LOOP
        EXECUTE format('GRANT %s ON %s TO %s', av.privilege_type, av.obj,
                       CASE WHEN av.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(av.grantee::regrole::text) END);
    END LOOP;
    EXECUTE format('ANALYZE %s', newt);
    DROP TABLE pg_temp.ss_views, pg_temp.ss_view_columns, pg_temp.ss_indexes, pg_temp.ss_acl;
END
$fn$;

SELECT pg_temp.ss_partition_by_year('core.loans', 2010, 2030);
SELECT pg_temp.ss_partition_by_year('core.visits', 2010, 2030);
DROP FUNCTION pg_temp.ss_partition_by_year(regclass, integer, integer);
