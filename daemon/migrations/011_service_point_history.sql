-- 011: service points have history by the date the data describes, not by
-- the order files were loaded in; one library from two sources under two
-- names is one service point (with aliases); closed libraries load as
-- closed; statutory and library_type may be unknown. docs/warehouse.md,
-- "Service points have history", says the rules this implements.
--
-- Works on a warehouse that holds data: the existing versions keep their
-- dates (they were load times: valid_from_basis 'load time'), their status
-- is backfilled from year_closed, and every name they carry becomes an
-- alias, so the next load matches them.

ALTER TABLE core.service_points
    ALTER COLUMN statutory DROP NOT NULL,
    ALTER COLUMN library_type DROP NOT NULL,
    ADD COLUMN status text,
    ADD COLUMN as_of date,
    ADD COLUMN valid_from_basis text NOT NULL DEFAULT 'load time'
        CHECK (valid_from_basis IN ('record', 'config', 'last-modified', 'load time'));
UPDATE core.service_points SET status = CASE WHEN year_closed IS NULL THEN 'Open' ELSE 'Closed' END;
ALTER TABLE core.service_points
    ADD CONSTRAINT service_points_status CHECK (status IN ('Open', 'Closed', 'Temporarily closed'));
CREATE INDEX service_points_uprn ON core.service_points (authority_code, uprn) WHERE uprn IS NOT NULL;
CREATE INDEX service_points_postcode ON core.service_points (authority_code, postcode);

COMMENT ON COLUMN core.service_points.statutory IS 'Whether the library is part of the statutory service; NULL when the source does not say (or says only Temporary Closure: see status)';
COMMENT ON COLUMN core.service_points.library_type IS 'LAL local authority library, LAL- unstaffed, CL commissioned, CRL community run, ICL independent community library; NULL when the source does not say (a closure code such as XL gives the status instead)';
COMMENT ON COLUMN core.service_points.status IS 'Open, Closed or Temporarily closed: as the source says, else Closed when a year closed or a closure code (type XL, XLR; Closed) is given, Temporarily closed for XLT or Temporary Closure, else Open';
COMMENT ON COLUMN core.service_points.as_of IS 'Date the source says the record describes (a column of the record); NULL when it gave none, and valid_from then comes from the collector (its as_of, or the export''s Last-Modified) or the load time';
COMMENT ON COLUMN core.service_points.valid_from IS 'When this version begins: the date its data describes (the record''s as_of, else the collector''s as_of or the export''s Last-Modified, else the load time; see valid_from_basis)';
COMMENT ON COLUMN core.service_points.valid_to IS 'When the next version (by data date) begins; NULL for the current version';
COMMENT ON COLUMN core.service_points.valid_from_basis IS 'Where valid_from came from: record (its as_of column), config (the collector''s as_of), last-modified (the export''s Last-Modified), load time (none of these)';
COMMENT ON COLUMN core.service_points.loaded_at IS 'When this version was loaded';
COMMENT ON COLUMN core.service_points.service_point_id IS 'Stable id shared by every version of the same row';

-- ---------------------------------------------------------------------------
-- Names

-- The key two names of one library share: lower case, '&' as "and",
-- apostrophes dropped ("St George's" = "St Georges"), other punctuation as
-- spaces, runs of spaces as one, a leading "the" and trailing
-- generic words (library, libraries, community, hub, learning, centre,
-- center, and, information, resource) dropped -- so "Barking Learning
-- Centre Community Hub" and "Barking" both give "barking". A name of
-- generic words only keeps them ("library hub" -> "library").
CREATE FUNCTION core.service_point_name_key(name text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(nullif(btrim(regexp_replace(f.folded,
               '( (library|libraries|community|hub|learning|centre|center|and|information|resource))+$', '')), ''),
           f.folded)
    FROM (SELECT regexp_replace(btrim(regexp_replace(regexp_replace(lower(replace(name, '&', ' and ')),
                                                                    '[''’‘]', '', 'g'),
                                                     '[[:punct:][:space:]]+', ' ', 'g')),
                                '^the ', '') AS folded) f
$$;
COMMENT ON FUNCTION core.service_point_name_key(text) IS 'Name key for matching service points: lower case, apostrophes dropped, other punctuation to spaces, leading "the" and trailing generic words (library, community, hub, learning centre ...) dropped';

CREATE TABLE core.service_point_alias (
    service_point_id bigint NOT NULL,
    authority_code text NOT NULL,
    name text NOT NULL,
    name_key text NOT NULL,
    postcode text NOT NULL,
    uprn bigint,
    source text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now(),
    last_batch bigint REFERENCES ingest.batches ON DELETE SET NULL,
    PRIMARY KEY (service_point_id, name, postcode, source)
);
CREATE INDEX service_point_alias_batch ON core.service_point_alias (last_batch);
CREATE INDEX service_point_alias_postcode ON core.service_point_alias (authority_code, postcode);
COMMENT ON TABLE core.service_point_alias IS 'Every name (and postcode) each source has given a service point: how a record is matched to its stable id (docs/warehouse.md, matching)';
COMMENT ON COLUMN core.service_point_alias.service_point_id IS 'The service point (core.service_points.service_point_id)';
COMMENT ON COLUMN core.service_point_alias.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.service_point_alias.name IS 'The name as the source gave it';
COMMENT ON COLUMN core.service_point_alias.name_key IS 'core.service_point_name_key(name): what matching compares';
COMMENT ON COLUMN core.service_point_alias.postcode IS 'The postcode the source gave with the name';
COMMENT ON COLUMN core.service_point_alias.uprn IS 'The UPRN the source gave with the name, if any';
COMMENT ON COLUMN core.service_point_alias.source IS 'Collector source that gave the name';
COMMENT ON COLUMN core.service_point_alias.first_seen IS 'When the name was first loaded';
COMMENT ON COLUMN core.service_point_alias.last_seen IS 'When the name was last loaded';
COMMENT ON COLUMN core.service_point_alias.last_batch IS 'Batch that last gave the name (ingest.batches.batch_id): a service point an earlier batch of the same run gave is not matched again by that run';

INSERT INTO core.service_point_alias (service_point_id, authority_code, name, name_key, postcode, uprn,
                                      source, first_seen, last_seen)
SELECT DISTINCT ON (service_point_id, name, postcode, source)
       service_point_id, authority_code, name, core.service_point_name_key(name), postcode, uprn,
       source, min(loaded_at) OVER w, max(loaded_at) OVER w
FROM core.service_points
WINDOW w AS (PARTITION BY service_point_id, name, postcode, source)
ORDER BY service_point_id, name, postcode, source, valid_from DESC;

-- What each history batch did (the daemon logs it too).
CREATE TABLE ingest.batch_history (
    batch_id bigint PRIMARY KEY REFERENCES ingest.batches ON DELETE CASCADE,
    dataset text NOT NULL,
    inserted integer NOT NULL,
    filled integer NOT NULL,
    unchanged integer NOT NULL,
    superseded integer NOT NULL,
    new_points integer NOT NULL,
    as_of timestamptz,
    as_of_basis text,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ingest.batch_history IS 'Per batch of a dataset with history: versions made current, versions placed in the past, records that changed nothing, records superseded (their date is one a version already has, with other values), new stable ids';
COMMENT ON COLUMN ingest.batch_history.batch_id IS 'The batch (ingest.batches.batch_id)';
COMMENT ON COLUMN ingest.batch_history.dataset IS 'Its dataset (service_points)';
COMMENT ON COLUMN ingest.batch_history.loaded_at IS 'When it was applied';
COMMENT ON COLUMN ingest.batch_history.inserted IS 'Records that became the current version of their service point';
COMMENT ON COLUMN ingest.batch_history.filled IS 'Records older than the current version that filled history before it';
COMMENT ON COLUMN ingest.batch_history.unchanged IS 'Records that agree with the version in force at their date (or the one after it): nothing changed';
COMMENT ON COLUMN ingest.batch_history.superseded IS 'Records dated the same as an existing version but with other values: kept out, the existing version stands';
COMMENT ON COLUMN ingest.batch_history.new_points IS 'Records that matched no service point: new stable ids';
COMMENT ON COLUMN ingest.batch_history.as_of IS 'The batch''s as_of (collector config or Last-Modified), NULL if none';
COMMENT ON COLUMN ingest.batch_history.as_of_basis IS 'config or last-modified';

-- ---------------------------------------------------------------------------
-- Matching: the service point a staged record describes, or NULL. Tried in
-- order, never a service point another record of the batch has claimed
-- (pg_temp.sp_load_claim), never one whose versions carry a different UPRN
-- than a record with one:
--   1. UPRN: the one service point of the authority with that UPRN;
--   2. name: authority, postcode and a name key that is equal to, or a
--      whole-word prefix of (or has as one), a name the service point has
--      carried (its versions and core.service_point_alias); an equal key
--      first;
--   3. postcode: the one service point of the authority whose current
--      version is at the postcode, when the record is the batch's only one
--      there.
-- (A record with the very key of a current version -- authority, name,
-- postcode, year closed -- is matched to it before these, by the caller.)
CREATE FUNCTION core.service_point_match(p_authority text, p_postcode text, p_uprn bigint,
                                         p_name_key text, p_alone boolean) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_n integer;
BEGIN
    IF p_uprn IS NOT NULL THEN
        SELECT min(sp.service_point_id), count(DISTINCT sp.service_point_id) INTO v_id, v_n
        FROM core.service_points sp
        WHERE sp.authority_code = p_authority AND sp.uprn = p_uprn
          AND NOT EXISTS (SELECT 1 FROM pg_temp.sp_load_claim c WHERE c.service_point_id = sp.service_point_id);
        IF v_n = 1 THEN
            RETURN v_id;
        END IF;
    END IF;
    SELECT a.service_point_id INTO v_id
    FROM (SELECT n.service_point_id, n.name_key, n.last_seen
          FROM core.service_point_alias n
          WHERE n.authority_code = p_authority AND n.postcode = p_postcode
          UNION ALL
          SELECT v.service_point_id, core.service_point_name_key(v.name), v.loaded_at
          FROM core.service_points v
          WHERE v.authority_code = p_authority AND v.postcode = p_postcode) a
    WHERE (a.name_key = p_name_key OR a.name_key LIKE p_name_key || ' %' OR p_name_key LIKE a.name_key || ' %')
      AND NOT EXISTS (SELECT 1 FROM pg_temp.sp_load_claim c WHERE c.service_point_id = a.service_point_id)
      AND NOT EXISTS (SELECT 1 FROM core.service_points v WHERE v.service_point_id = a.service_point_id
                        AND v.uprn IS NOT NULL AND p_uprn IS NOT NULL AND v.uprn <> p_uprn)
    ORDER BY a.name_key = p_name_key DESC, a.last_seen DESC
    LIMIT 1;
    IF v_id IS NOT NULL OR NOT p_alone THEN
        RETURN v_id;
    END IF;
    SELECT min(sp.service_point_id), count(*) INTO v_id, v_n
    FROM core.service_points sp
    WHERE sp.authority_code = p_authority AND sp.postcode = p_postcode AND sp.valid_to IS NULL
      AND NOT (sp.uprn IS NOT NULL AND p_uprn IS NOT NULL AND sp.uprn <> p_uprn);
    IF v_n = 1 AND NOT EXISTS (SELECT 1 FROM pg_temp.sp_load_claim c WHERE c.service_point_id = v_id) THEN
        RETURN v_id;
    END IF;
    RETURN NULL;
END
$$;

-- ---------------------------------------------------------------------------
-- Placing one record as a version of service point p_id, dated p_date.
-- Returns what it did: 'inserted' (now the current version), 'filled'
-- (history before a later version), 'unchanged' (the version in force at
-- that date, or the next one, says the same), 'superseded' (a version with
-- that very date exists and says otherwise: it stands).
CREATE FUNCTION core.service_point_place(p_id bigint, p_row jsonb, p_date timestamptz, p_basis text,
                                         p_source text, p_batch bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_skip constant text[] := ARRAY['service_point_id', 'valid_from', 'valid_to', 'valid_from_basis',
                                    'source', 'batch_id', 'loaded_at', 'as_of', 'ord', 'name_key'];
    v_image jsonb := p_row - v_skip;
    v_prev core.service_points;
    v_next core.service_points;
BEGIN
    SELECT * INTO v_prev FROM core.service_points
    WHERE service_point_id = p_id AND valid_from <= p_date ORDER BY valid_from DESC LIMIT 1;
    IF FOUND AND v_prev.valid_from = p_date THEN
        RETURN CASE WHEN to_jsonb(v_prev) - v_skip = v_image THEN 'unchanged' ELSE 'superseded' END;
    END IF;
    IF FOUND AND to_jsonb(v_prev) - v_skip = v_image THEN
        RETURN 'unchanged';
    END IF;
    SELECT * INTO v_next FROM core.service_points
    WHERE service_point_id = p_id AND valid_from > p_date ORDER BY valid_from LIMIT 1;
    IF FOUND AND to_jsonb(v_next) - v_skip = v_image THEN
        RETURN 'unchanged';
    END IF;
    IF v_prev.service_point_id IS NOT NULL THEN
        UPDATE core.service_points SET valid_to = p_date
        WHERE service_point_id = p_id AND valid_from = v_prev.valid_from;
    END IF;
    -- FROM, not (f(...)).*: that would call f once per column.
    INSERT INTO core.service_points
    SELECT * FROM jsonb_populate_record(NULL::core.service_points,
                                        p_row || jsonb_build_object('service_point_id', p_id, 'valid_from', p_date,
                                                                    'valid_to', v_next.valid_from,
                                                                    'valid_from_basis', p_basis, 'source', p_source,
                                                                    'batch_id', p_batch, 'loaded_at', now()));
    RETURN CASE WHEN v_next.service_point_id IS NULL THEN 'inserted' ELSE 'filled' END;
END
$$;

-- ---------------------------------------------------------------------------
-- The daemon's call for each batch of service_points (daemon/ss_whsql.c):
-- the staged records (pg_temp.stage_service_points, the last of a repeated
-- key wins) matched and placed. p_as_of: the batch's date (collector as_of
-- or Last-Modified), NULL if none; p_basis where it came from.
CREATE FUNCTION core.service_points_load(p_source text, p_batch bigint, p_as_of timestamptz, p_basis text)
RETURNS TABLE (inserted integer, filled integer, unchanged integer, superseded integer, new_points integer)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    v_id bigint;
    v_date timestamptz;
    v_basis text;
    v_did text;
    v_now timestamptz := now();
    n_ins integer := 0;
    n_fill integer := 0;
    n_same integer := 0;
    n_sup integer := 0;
    n_new integer := 0;
BEGIN
    -- One batch of service points at a time: matching reads what the last one wrote.
    LOCK TABLE core.service_points IN SHARE ROW EXCLUSIVE MODE;
    DROP TABLE IF EXISTS pg_temp.sp_load_claim, pg_temp.sp_load_rows;
    CREATE TEMP TABLE sp_load_claim (service_point_id bigint PRIMARY KEY) ON COMMIT DROP;
    -- What the run's earlier batches gave is taken: two records of one
    -- export are two service points, wherever the batches were cut.
    INSERT INTO pg_temp.sp_load_claim
    SELECT DISTINCT a.service_point_id
    FROM ingest.batches b
    JOIN ingest.batches e ON e.run_ref = b.run_ref AND e.batch_id <> b.batch_id
    JOIN core.service_point_alias a ON a.last_batch = e.batch_id
    WHERE b.batch_id = p_batch
    ON CONFLICT DO NOTHING;
    -- The batch's records (the last of a repeated key), each with the
    -- current version that has its very key, if one does and is not taken.
    CREATE TEMP TABLE sp_load_rows ON COMMIT DROP AS
        SELECT d.*, count(*) OVER (PARTITION BY d.authority_code, d.postcode) = 1 AS alone,
               (SELECT sp.service_point_id FROM core.service_points sp
                WHERE sp.valid_to IS NULL AND sp.authority_code = d.authority_code AND sp.name = d.name
                  AND sp.postcode = d.postcode AND sp.year_closed IS NOT DISTINCT FROM d.year_closed
                  AND NOT EXISTS (SELECT 1 FROM pg_temp.sp_load_claim c
                                  WHERE c.service_point_id = sp.service_point_id)) AS exact_id
        FROM (SELECT DISTINCT ON (s.authority_code, s.name, s.postcode, s.year_closed) s.*,
                     core.service_point_name_key(s.name) AS name_key
              FROM pg_temp.stage_service_points s
              ORDER BY s.authority_code, s.name, s.postcode, s.year_closed, s.ord DESC) d;
    -- Those are claimed first (a current key is unique: no two records share one).
    INSERT INTO pg_temp.sp_load_claim SELECT exact_id FROM pg_temp.sp_load_rows WHERE exact_id IS NOT NULL;

    FOR r IN SELECT * FROM pg_temp.sp_load_rows ORDER BY exact_id IS NULL, ord LOOP
        v_id := r.exact_id;
        IF v_id IS NULL THEN
            v_id := core.service_point_match(r.authority_code, r.postcode, r.uprn, r.name_key, r.alone);
            IF v_id IS NULL THEN
                v_id := nextval('core.service_points_id_seq');
                n_new := n_new + 1;
            END IF;
            INSERT INTO pg_temp.sp_load_claim VALUES (v_id);
        END IF;
        -- A date is midnight UTC (its ::date is that date in a UK or UTC session).
        v_date := coalesce(r.as_of::timestamp AT TIME ZONE 'UTC', p_as_of, v_now);
        v_basis := CASE WHEN r.as_of IS NOT NULL THEN 'record'
                        WHEN p_as_of IS NOT NULL THEN coalesce(p_basis, 'config')
                        ELSE 'load time' END;
        v_did := core.service_point_place(v_id, to_jsonb(r) - 'alone' - 'exact_id', v_date, v_basis,
                                          p_source, p_batch);
        CASE v_did
            WHEN 'inserted' THEN n_ins := n_ins + 1;
            WHEN 'filled' THEN n_fill := n_fill + 1;
            WHEN 'unchanged' THEN n_same := n_same + 1;
            ELSE n_sup := n_sup + 1;
        END CASE;
        INSERT INTO core.service_point_alias AS a (service_point_id, authority_code, name, name_key,
                                                   postcode, uprn, source, last_batch)
        VALUES (v_id, r.authority_code, r.name, r.name_key, r.postcode, r.uprn, p_source, p_batch)
        ON CONFLICT (service_point_id, name, postcode, source)
        DO UPDATE SET last_seen = now(), uprn = coalesce(EXCLUDED.uprn, a.uprn),
                      last_batch = EXCLUDED.last_batch;
    END LOOP;

    INSERT INTO ingest.batch_history (batch_id, dataset, inserted, filled, unchanged, superseded,
                                      new_points, as_of, as_of_basis)
    VALUES (p_batch, 'service_points', n_ins, n_fill, n_same, n_sup, n_new, p_as_of, p_basis)
    ON CONFLICT (batch_id) DO NOTHING;
    RETURN QUERY SELECT n_ins, n_fill, n_same, n_sup, n_new;
END
$$;
COMMENT ON FUNCTION core.service_points_load(text, bigint, timestamptz, text) IS 'Loads the staged service points of one batch: matching (UPRN, then authority + postcode + name key, then a lone postcode) and version placement by data date; see docs/warehouse.md';

-- ---------------------------------------------------------------------------
-- The service-point views: version_from is now the data's date, open reads
-- the status; the status and the basis of the date are added at the end.

CREATE OR REPLACE VIEW core.v_service_points_current AS
SELECT sp.service_point_id,
       sp.authority_code,
       a.nice_name AS authority_name,
       sp.name,
       sp.address_1,
       sp.address_2,
       sp.address_3,
       sp.postcode,
       sp.uprn,
       sp.statutory,
       sp.library_type,
       sp.year_opened,
       sp.year_closed,
       coalesce(sp.status = 'Open', sp.year_closed IS NULL) AS open,
       CASE WHEN num_nonnulls(sp.monday_staffed_minutes, sp.tuesday_staffed_minutes, sp.wednesday_staffed_minutes,
                              sp.thursday_staffed_minutes, sp.friday_staffed_minutes, sp.saturday_staffed_minutes,
                              sp.sunday_staffed_minutes) > 0
            THEN round((coalesce(sp.monday_staffed_minutes, 0) + coalesce(sp.tuesday_staffed_minutes, 0)
                        + coalesce(sp.wednesday_staffed_minutes, 0) + coalesce(sp.thursday_staffed_minutes, 0)
                        + coalesce(sp.friday_staffed_minutes, 0) + coalesce(sp.saturday_staffed_minutes, 0)
                        + coalesce(sp.sunday_staffed_minutes, 0)) / 60.0, 2)
       END AS staffed_hours_per_week,
       CASE WHEN num_nonnulls(sp.monday_unstaffed_minutes, sp.tuesday_unstaffed_minutes, sp.wednesday_unstaffed_minutes,
                              sp.thursday_unstaffed_minutes, sp.friday_unstaffed_minutes, sp.saturday_unstaffed_minutes,
                              sp.sunday_unstaffed_minutes) > 0
            THEN round((coalesce(sp.monday_unstaffed_minutes, 0) + coalesce(sp.tuesday_unstaffed_minutes, 0)
                        + coalesce(sp.wednesday_unstaffed_minutes, 0) + coalesce(sp.thursday_unstaffed_minutes, 0)
                        + coalesce(sp.friday_unstaffed_minutes, 0) + coalesce(sp.saturday_unstaffed_minutes, 0)
                        + coalesce(sp.sunday_unstaffed_minutes, 0)) / 60.0, 2)
       END AS unstaffed_hours_per_week,
       sp.monday_staffed,
       sp.tuesday_staffed,
       sp.wednesday_staffed,
       sp.thursday_staffed,
       sp.friday_staffed,
       sp.saturday_staffed,
       sp.sunday_staffed,
       sp.monday_unstaffed,
       sp.tuesday_unstaffed,
       sp.wednesday_unstaffed,
       sp.thursday_unstaffed,
       sp.friday_unstaffed,
       sp.saturday_unstaffed,
       sp.sunday_unstaffed,
       sp.special_hours,
       sp.colocated,
       sp.colocated_with,
       sp.notes,
       sp.url,
       sp.email,
       sp.valid_from::date AS version_from,
       sp.source,
       sp.batch_id,
       sp.loaded_at,
       sp.status,
       sp.valid_from_basis AS version_from_basis
FROM core.service_points sp
LEFT JOIN ref.authority a ON a.code = sp.authority_code
WHERE sp.valid_to IS NULL;

COMMENT ON VIEW core.v_service_points_current IS 'Library service points as the latest data says they are: the version of each with the latest data date (core.service_points keeps every version), with weekly opening hours in hours';
COMMENT ON COLUMN core.v_service_points_current.statutory IS 'Whether the library is part of the statutory service; NULL when the source does not say';
COMMENT ON COLUMN core.v_service_points_current.library_type IS 'LAL local authority library, LAL- unstaffed, CL commissioned, CRL community run, ICL independent community library; NULL when the source does not say';
COMMENT ON COLUMN core.v_service_points_current.open IS 'True while the library is open (status Open); false when closed or temporarily closed';
COMMENT ON COLUMN core.v_service_points_current.version_from IS 'Date this version''s data describes (core.service_points.valid_from; see version_from_basis)';
COMMENT ON COLUMN core.v_service_points_current.loaded_at IS 'When this version was loaded';
COMMENT ON COLUMN core.v_service_points_current.status IS 'Open, Closed or Temporarily closed';
COMMENT ON COLUMN core.v_service_points_current.version_from_basis IS 'Where version_from came from: record (the source''s own date column), config (the collector''s as_of), last-modified (the export''s Last-Modified), load time';

CREATE OR REPLACE VIEW core.v_opening_hours AS
SELECT sp.service_point_id,
       sp.authority_code,
       a.nice_name AS authority_name,
       sp.name,
       sp.valid_from::date AS version_from,
       sp.valid_to::date AS version_to,
       sp.valid_to IS NULL AS current_version,
       coalesce(sp.status = 'Open', sp.year_closed IS NULL) AS open,
       d.weekday,
       d.weekday_number,
       d.staffing,
       iv.interval_number::integer AS interval_number,
       split_part(iv.hours, '-', 1)::time AS opens,
       split_part(iv.hours, '-', 2)::time AS closes,
       (extract(epoch FROM split_part(iv.hours, '-', 2)::time - split_part(iv.hours, '-', 1)::time) / 60)::integer AS minutes,
       sp.status
FROM core.service_points sp
LEFT JOIN ref.authority a ON a.code = sp.authority_code
CROSS JOIN LATERAL (VALUES
    ('Monday', 1, 'Staffed', sp.monday_staffed), ('Tuesday', 2, 'Staffed', sp.tuesday_staffed),
    ('Wednesday', 3, 'Staffed', sp.wednesday_staffed), ('Thursday', 4, 'Staffed', sp.thursday_staffed),
    ('Friday', 5, 'Staffed', sp.friday_staffed), ('Saturday', 6, 'Staffed', sp.saturday_staffed),
    ('Sunday', 7, 'Staffed', sp.sunday_staffed),
    ('Monday', 1, 'Unstaffed', sp.monday_unstaffed), ('Tuesday', 2, 'Unstaffed', sp.tuesday_unstaffed),
    ('Wednesday', 3, 'Unstaffed', sp.wednesday_unstaffed), ('Thursday', 4, 'Unstaffed', sp.thursday_unstaffed),
    ('Friday', 5, 'Unstaffed', sp.friday_unstaffed), ('Saturday', 6, 'Unstaffed', sp.saturday_unstaffed),
    ('Sunday', 7, 'Unstaffed', sp.sunday_unstaffed)) AS d(weekday, weekday_number, staffing, hours)
CROSS JOIN LATERAL string_to_table(d.hours, ',') WITH ORDINALITY AS iv(hours, interval_number)
WHERE iv.hours <> '';

COMMENT ON COLUMN core.v_opening_hours.version_from IS 'Date the version''s data describes (its valid_from)';
COMMENT ON COLUMN core.v_opening_hours.version_to IS 'Date the next version (by data date) begins; NULL for the current version';
COMMENT ON COLUMN core.v_opening_hours.open IS 'True when the library was open in that version (status Open)';
COMMENT ON COLUMN core.v_opening_hours.status IS 'Open, Closed or Temporarily closed, in that version';
