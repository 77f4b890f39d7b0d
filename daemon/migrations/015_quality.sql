-- 015: data quality (issue 12, `shelfsync quality`). One view per check,
-- each row a finding with its severity, so that analysts see in SQL exactly
-- what the command prints:
--   core.quality_completeness   months and service points not reported
--   core.quality_outliers       unconfirmed outliers (core.v_outliers)
--   core.quality_suppressed     counts withheld at source
--   core.quality_overlaps       two facts of one key whose periods overlap
--   core.quality_quarantine     outstanding quarantined records by reason
--   core.quality_stale_sources  sources with no successful run within their schedule
--   core.quality_partial_runs   runs that did not complete, and what they touched
-- Every view has the columns check_name, severity, authority_code,
-- authority_name, financial_year, dataset and detail (a sentence), then its
-- own. Severities: error (a figure is wrong or counted twice: outliers,
-- overlaps of full counts), warning (figures rest on incomplete data:
-- missing months and service points, quarantined records, partial runs,
-- stale sources, overlaps with a visit sample), info (by design: counts
-- withheld at source). The views read ingest.* as their owner, so analysts
-- (shelfsync_analyst) see counts and run facts, never a record's raw text.
-- core.v_outliers gains a rule: a value of a billion or more is an outlier
-- whatever its history.
-- Depends on 004, 007, 011, 012, 014.

-- The financial year (April to March) a day falls in, e.g. 2023-24.
CREATE FUNCTION core.financial_year_of(d date) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (date_part('year', d) - (date_part('month', d) < 4)::integer)::integer || '-'
       || lpad((((date_part('year', d) - (date_part('month', d) < 4)::integer)::integer + 1) % 100)::text, 2, '0');
COMMENT ON FUNCTION core.financial_year_of(date) IS 'The financial year (1 April to 31 March) a day falls in, as written in returns: 2023-24 for 2024-03-31';

-- A fact's key in words for the findings' detail: "computer_hours",
-- "loans / Ebook / Adult", "service_point_visits / Door counter at Riverside Library".
CREATE FUNCTION core.quality_fact_label(measure text, breakdown text, age_group text, service_point text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN measure || coalesce(' / ' || breakdown, '') || coalesce(' / ' || age_group, '')
       || coalesce(' at ' || service_point, '');
COMMENT ON FUNCTION core.quality_fact_label(text, text, text, text) IS 'A fact''s measure, breakdown, age group and service point in words, as the quality views'' detail gives them';

-- Each measure of core.v_measure_facts and its dataset (as v_authority_year).
CREATE VIEW core.v_measure_dataset (measure, dataset) AS
VALUES ('loans', 'activity_loans'), ('visits', 'activity_visits'), ('active_users', 'active_users'),
       ('events', 'activity_events'), ('event_attendance', 'activity_event_attendance'),
       ('computer_hours', 'computer_hours'), ('wifi_sessions', 'wifi_sessions'),
       ('click_and_collect', 'click_and_collect'), ('service_point_loans', 'loans'),
       ('service_point_visits', 'visits'), ('service_point_events', 'events'),
       ('service_point_event_attendance', 'events');
COMMENT ON VIEW core.v_measure_dataset IS 'Which dataset (core table) each measure of core.v_measure_facts comes from: the quality views name datasets';
COMMENT ON COLUMN core.v_measure_dataset.measure IS 'A measure of core.v_measure_facts';
COMMENT ON COLUMN core.v_measure_dataset.dataset IS 'The dataset it is read from, e.g. activity_loans for loans, loans for service_point_loans';

-- ---------------------------------------------------------------------------
-- Outliers: one more rule in the one place they are computed

CREATE OR REPLACE VIEW core.v_outliers AS
WITH f AS (
    SELECT m.authority_code, m.measure, m.breakdown, m.age_group, m.service_point, m.period_start,
           m.period_end, m.months_spanned, m.whole_months, m.financial_year, m.value
    FROM core.v_measure_facts m
    WHERE m.full_count AND m.value IS NOT NULL
      AND m.measure NOT IN ('service_point_events', 'service_point_event_attendance')
), hist AS (
    -- The authority's own periods of the same length, sorted.
    SELECT f.*,
           array_agg(f.value) OVER w AS vals,
           row_number() OVER w AS pos,
           count(*) OVER w AS n
    FROM f
    WINDOW w AS (PARTITION BY f.authority_code, f.measure, f.breakdown, f.age_group, f.service_point,
                              f.months_spanned
                 ORDER BY f.value ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
), own AS (
    -- The median of the others: positions lo and hi (0-based) of the n - 1
    -- other values, mapped past this fact's own position.
    SELECT h.*,
           CASE WHEN h.n - 1 >= 3 THEN
               (h.vals[CASE WHEN (h.n - 2) / 2 + 1 < h.pos THEN (h.n - 2) / 2 + 1 ELSE (h.n - 2) / 2 + 2 END]
                + h.vals[CASE WHEN (h.n - 1) / 2 + 1 < h.pos THEN (h.n - 1) / 2 + 1 ELSE (h.n - 1) / 2 + 2 END]) / 2.0
           END AS own_median
    FROM hist h
), pop AS (
    -- The all-ages population of each authority and year: mid-(YYYY+1)
    -- for YYYY-YY, else the nearest mid-year loaded (as v_authority_per_1000).
    SELECT DISTINCT ON (k.authority_code, k.financial_year) k.authority_code, k.financial_year, pb.persons
    FROM (SELECT DISTINCT authority_code, financial_year FROM own
          WHERE service_point IS NULL AND financial_year IS NOT NULL) k
    JOIN ref.population_band pb ON pb.code = k.authority_code AND pb.age_band = 'All ages'
    WHERE pb.persons > 0
    ORDER BY k.authority_code, k.financial_year,
             abs(pb.mid_year - (substr(k.financial_year, 1, 4)::integer + 1)), pb.mid_year DESC
), rates AS (
    -- Authority-level facts per 1,000 residents, each against every fact
    -- of the same kind and year; only those without enough history of
    -- their own (candidate) are judged this way.
    SELECT o.authority_code, o.measure, o.breakdown, o.age_group, o.period_start, o.period_end,
           p.persons, 1000.0 * o.value / p.persons AS rate, o.n - 1 < 3 AS candidate,
           array_agg(1000.0 * o.value / p.persons) OVER w AS vals,
           row_number() OVER w AS pos,
           count(*) OVER w AS n
    FROM own o
    JOIN pop p ON p.authority_code = o.authority_code AND p.financial_year = o.financial_year
    WHERE o.service_point IS NULL
    WINDOW w AS (PARTITION BY o.measure, o.breakdown, o.age_group, o.months_spanned, o.financial_year
                 ORDER BY 1000.0 * o.value / p.persons ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
), peer AS (
    SELECT r.authority_code, r.measure, r.breakdown, r.age_group, r.period_start, r.period_end, r.rate,
           r.persons, r.n - 1 AS peers,
           (r.vals[CASE WHEN (r.n - 2) / 2 + 1 < r.pos THEN (r.n - 2) / 2 + 1 ELSE (r.n - 2) / 2 + 2 END]
            + r.vals[CASE WHEN (r.n - 1) / 2 + 1 < r.pos THEN (r.n - 1) / 2 + 1 ELSE (r.n - 1) / 2 + 2 END]) / 2.0
               AS peer_median
    FROM rates r
    WHERE r.candidate AND r.n - 1 >= 3
), judged AS (
    SELECT o.authority_code, o.measure, o.breakdown, o.age_group, o.service_point, o.period_start, o.period_end,
           o.months_spanned, o.whole_months, o.financial_year, o.value, o.n, o.own_median,
           p.peers, p.peer_median, p.rate,
           -- More than 20 times the median, and at least 1,000 more (small
           -- counts, 26 events in a month where 1 is usual, are no outliers).
           coalesce(o.own_median > 0 AND o.value > 20 * o.own_median AND o.value - o.own_median >= 1000, false)
               AS history_hit,
           coalesce(o.own_median IS NULL AND p.peer_median > 0 AND p.rate > 20 * p.peer_median
                    AND (p.rate - p.peer_median) * p.persons / 1000 >= 1000, false) AS peers_hit
    FROM own o
    LEFT JOIN peer p ON o.own_median IS NULL AND p.authority_code = o.authority_code AND p.measure = o.measure
                    AND p.breakdown IS NOT DISTINCT FROM o.breakdown AND p.age_group IS NOT DISTINCT FROM o.age_group
                    AND p.period_start = o.period_start AND p.period_end = o.period_end
), flagged AS (
    -- 015: a value of a billion or more is flagged whatever its history
    -- (rule ceiling): no library authority counts that much of anything in
    -- one period, and a first load has no history to compare with.
    SELECT j.authority_code, j.measure, j.breakdown, j.age_group, j.service_point, j.period_start, j.period_end,
           j.months_spanned, j.whole_months, j.financial_year, j.value,
           CASE WHEN j.history_hit THEN 'history' WHEN j.peers_hit THEN 'peers' ELSE 'ceiling' END AS rule,
           CASE WHEN j.history_hit THEN j.n - 1 WHEN j.peers_hit THEN j.peers END::integer AS compared_with,
           CASE WHEN j.history_hit THEN j.own_median WHEN j.peers_hit THEN j.peer_median END AS median,
           j.rate
    FROM judged j
    WHERE j.history_hit OR j.peers_hit OR j.value >= 1000000000
)
SELECT fl.authority_code,
       a.nice_name AS authority_name,
       fl.measure,
       fl.breakdown,
       fl.age_group,
       fl.service_point,
       fl.period_start,
       fl.period_end,
       fl.months_spanned,
       fl.whole_months,
       fl.financial_year,
       fl.value::bigint AS value,
       fl.rule,
       fl.compared_with,
       round(fl.median::numeric, 3) AS median,
       round(CASE WHEN fl.rule = 'history' THEN fl.value / nullif(fl.median, 0)
                  ELSE fl.rate / nullif(fl.median, 0) END::numeric, 1) AS times_median,
       c.authority_code IS NOT NULL AS confirmed,
       c.confirmed_by,
       c.confirmed_at,
       c.reason AS confirmation_reason
FROM flagged fl
LEFT JOIN core.outlier_confirmation c
       ON c.authority_code = fl.authority_code AND c.measure = fl.measure
      AND c.breakdown IS NOT DISTINCT FROM fl.breakdown AND c.age_group IS NOT DISTINCT FROM fl.age_group
      AND c.service_point IS NOT DISTINCT FROM fl.service_point
      AND c.period_start = fl.period_start AND c.period_end = fl.period_end AND c.value = fl.value
LEFT JOIN ref.authority a ON a.code = fl.authority_code;
COMMENT ON VIEW core.v_outliers IS 'Facts far outside what the service has reported before, or its peers: flagged, and kept out of rankings (core.v_peer_benchmark ranks and quartiles, core.v_bucking_trend and England''s change) until an operator confirms them in core.outlier_confirmation. Rule "history": the value is more than 20 times the median of the same authority''s other facts of the same measure, breakdown, age group, service point and period length (at least 3 of them, any year). Rule "peers", for an authority-level fact with fewer than 3 such: its value per 1,000 residents (all ages) is more than 20 times the median per 1,000 of the other facts of the same measure, breakdown, age group, period length and financial year (at least 3, any authority with a population loaded). In both, the value must also exceed what the median implies by at least 1,000 (so small counts are no outliers); a median of 0 flags nothing. Rule "ceiling" (015): a value of 1,000,000,000 or more, whatever its history (no authority counts that much of anything in one period; a first load has no history). Service-point events are not checked';
COMMENT ON COLUMN core.v_outliers.rule IS 'history (against the authority''s own other periods), peers (per 1,000 residents against the other facts of the year) or ceiling (a billion or more: compared_with, median and times_median are NULL)';

-- ---------------------------------------------------------------------------
-- Completeness

CREATE VIEW core.quality_completeness AS
WITH facts AS (
    -- Full counts whose whole period lies in one financial year, as
    -- v_authority_year counts them; events (one row per event: a month
    -- without one is no gap) are not checked.
    SELECT md.dataset, m.authority_code, m.financial_year, m.service_point, m.period_start, m.months_spanned
    FROM core.v_measure_facts m
    JOIN core.v_measure_dataset md ON md.measure = m.measure
    WHERE m.financial_year IS NOT NULL AND m.full_count AND md.dataset <> 'events'
), months AS (
    SELECT DISTINCT f.dataset, f.authority_code, f.financial_year, f.service_point,
           (date_trunc('month', f.period_start) + k.k * interval '1 month')::date AS month
    FROM facts f
    JOIN generate_series(0, 11) AS k(k) ON k.k < f.months_spanned
), latest AS (
    SELECT dataset, max(financial_year) AS last_fy FROM months GROUP BY dataset
), years AS (
    -- Expected: every year from the authority's first of the dataset to the
    -- latest any authority reported for it; in each, the months that have
    -- ended.
    SELECT s.dataset, s.authority_code, fy.label AS financial_year, fy.start_date, fy.end_date
    FROM (SELECT dataset, authority_code, min(financial_year) AS first_fy FROM months GROUP BY 1, 2) s
    JOIN latest l ON l.dataset = s.dataset
    JOIN ref.financial_year fy ON fy.label BETWEEN s.first_fy AND l.last_fy
), expected AS (
    SELECT y.dataset, y.authority_code, y.financial_year, m.month::date AS month
    FROM years y
    CROSS JOIN LATERAL generate_series(y.start_date, least(y.end_date, (date_trunc('month', now()) - interval '1 day')::date),
                                       interval '1 month') AS m(month)
), authority_gaps AS (
    SELECT e.dataset, e.authority_code, e.financial_year, NULL::text AS service_point, NULL::bigint AS service_point_id,
           count(*)::integer AS months_expected,
           (count(*) FILTER (WHERE r.month IS NOT NULL))::integer AS months_reported,
           string_agg(to_char(e.month, 'YYYY-MM'), ', ' ORDER BY e.month) FILTER (WHERE r.month IS NULL) AS missing_months
    FROM expected e
    LEFT JOIN (SELECT DISTINCT dataset, authority_code, month FROM months) r
           ON r.dataset = e.dataset AND r.authority_code = e.authority_code AND r.month = e.month
    GROUP BY e.dataset, e.authority_code, e.financial_year
), per_library AS (
    -- Authority-years of a per-library dataset with facts per service point.
    SELECT DISTINCT dataset, authority_code, financial_year FROM months
    WHERE service_point IS NOT NULL AND dataset IN ('loans', 'visits')
), register AS (
    -- The service points of the register open at some time in the year, as
    -- v_authority_year's service_points_open: current versions, opened by
    -- the year's end (or year unknown), not closed before it starts -- by
    -- year closed, or for one closed without a year by the date of the
    -- version that says so.
    SELECT p.dataset, p.authority_code, p.financial_year, sp.service_point_id, sp.name,
           lower(regexp_replace(btrim(sp.name), '\s+library$', '', 'i')) AS name_key
    FROM per_library p
    JOIN ref.financial_year fy ON fy.label = p.financial_year
    JOIN core.service_points sp ON sp.authority_code = p.authority_code AND sp.valid_to IS NULL
     AND (sp.year_opened IS NULL OR sp.year_opened <= extract(year FROM fy.end_date))
     AND (sp.year_closed IS NULL OR sp.year_closed >= extract(year FROM fy.start_date))
     AND NOT (sp.status = 'Closed' AND sp.year_closed IS NULL AND sp.valid_from::date < fy.start_date)
), sp_months AS (
    SELECT DISTINCT dataset, authority_code, financial_year, month,
           lower(regexp_replace(btrim(service_point), '\s+library$', '', 'i')) AS name_key
    FROM months WHERE service_point IS NOT NULL
), sp_gaps AS (
    SELECT r.dataset, r.authority_code, r.financial_year, r.name AS service_point, r.service_point_id,
           count(*)::integer AS months_expected,
           (count(*) FILTER (WHERE s.month IS NOT NULL))::integer AS months_reported,
           string_agg(to_char(e.month, 'YYYY-MM'), ', ' ORDER BY e.month) FILTER (WHERE s.month IS NULL) AS missing_months
    FROM register r
    JOIN expected e ON e.dataset = r.dataset AND e.authority_code = r.authority_code AND e.financial_year = r.financial_year
    LEFT JOIN sp_months s ON s.dataset = r.dataset AND s.authority_code = r.authority_code
                         AND s.financial_year = r.financial_year AND s.name_key = r.name_key AND s.month = e.month
    GROUP BY r.dataset, r.authority_code, r.financial_year, r.name, r.service_point_id
), gaps AS (
    SELECT * FROM authority_gaps WHERE months_reported < months_expected
    UNION ALL
    SELECT * FROM sp_gaps WHERE months_reported < months_expected
)
SELECT 'completeness'::text AS check_name,
       'warning'::text AS severity,
       g.authority_code,
       a.nice_name AS authority_name,
       g.financial_year,
       g.dataset,
       CASE WHEN g.service_point IS NULL THEN
                (g.months_expected - g.months_reported) || ' of ' || g.months_expected || ' months not reported: '
                || g.missing_months
            WHEN g.months_reported = 0 THEN
                'service point ' || g.service_point || ' (open in the register) reported no month of ' || g.months_expected
            ELSE 'service point ' || g.service_point || ': ' || (g.months_expected - g.months_reported) || ' of '
                 || g.months_expected || ' months not reported: ' || g.missing_months
       END AS detail,
       CASE WHEN g.service_point IS NULL THEN 'months missing'
            WHEN g.months_reported = 0 THEN 'service point not reporting'
            ELSE 'service point months missing' END AS finding,
       g.service_point,
       g.service_point_id,
       g.months_expected,
       g.months_reported,
       g.months_expected - g.months_reported AS months_missing,
       g.missing_months
FROM gaps g
LEFT JOIN ref.authority a ON a.code = g.authority_code;

COMMENT ON VIEW core.quality_completeness IS 'Months and service points not reported, per dataset, authority and financial year. Expected months: every month of the year that has ended, in every year from the authority''s first year of the dataset to the latest year any authority reported for it. A month is reported when a full count of the dataset whose whole period lies in the year covers it (as core.v_authority_year.months_reported; visit samples do not count; events, one row per event, are not checked). For loans and visits given per library, every service point of the register open in the year (current versions as core.v_service_points_current, as v_authority_year.service_points_open; matched by name ignoring case and a trailing "Library") is expected in every such month. One row per authority (service_point NULL) or service point with a gap. Severity warning';
COMMENT ON COLUMN core.quality_completeness.check_name IS 'completeness';
COMMENT ON COLUMN core.quality_completeness.severity IS 'warning: the year''s figures rest on incomplete data';
COMMENT ON COLUMN core.quality_completeness.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.quality_completeness.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.quality_completeness.financial_year IS 'Financial year, e.g. 2023-24';
COMMENT ON COLUMN core.quality_completeness.dataset IS 'Dataset, e.g. activity_loans, loans, visits';
COMMENT ON COLUMN core.quality_completeness.detail IS 'The finding in words';
COMMENT ON COLUMN core.quality_completeness.finding IS 'months missing (the authority as a whole), service point not reporting (an open service point with no month), service point months missing';
COMMENT ON COLUMN core.quality_completeness.service_point IS 'The service point''s name in the register; NULL for the authority as a whole (any fact of the dataset, per library or for the whole authority, reports a month)';
COMMENT ON COLUMN core.quality_completeness.service_point_id IS 'Its stable id (core.service_points.service_point_id); NULL for the authority';
COMMENT ON COLUMN core.quality_completeness.months_expected IS 'Months of the year expected (12, or those ended so far in the current year)';
COMMENT ON COLUMN core.quality_completeness.months_reported IS 'Of those, the months reported';
COMMENT ON COLUMN core.quality_completeness.months_missing IS 'months_expected - months_reported';
COMMENT ON COLUMN core.quality_completeness.missing_months IS 'The months not reported, as YYYY-MM, comma-separated';

-- ---------------------------------------------------------------------------
-- Outliers not confirmed

CREATE VIEW core.quality_outliers AS
SELECT 'outliers'::text AS check_name,
       'error'::text AS severity,
       o.authority_code,
       o.authority_name,
       o.financial_year,
       md.dataset,
       core.quality_fact_label(o.measure, o.breakdown, o.age_group, o.service_point)
           || ' ' || o.period_start || '..' || o.period_end || ': '
           || o.value
           || CASE o.rule WHEN 'ceiling' THEN ', a billion or more (rule ceiling)'
                          ELSE ', ' || o.times_median || ' times the median ' || o.median || ' of '
                               || o.compared_with || CASE o.rule WHEN 'history' THEN ' of its own periods (rule history)'
                                                          ELSE ' peers per 1,000 residents (rule peers)' END
              END AS detail,
       o.measure,
       o.breakdown,
       o.age_group,
       o.service_point,
       o.period_start,
       o.period_end,
       o.value,
       o.rule,
       o.compared_with,
       o.median,
       o.times_median
FROM core.v_outliers o
LEFT JOIN core.v_measure_dataset md ON md.measure = o.measure
WHERE NOT o.confirmed;

COMMENT ON VIEW core.quality_outliers IS 'The outliers of core.v_outliers (rules history, peers, ceiling) that no one has confirmed in core.outlier_confirmation; one row per fact. Severity error: the figure is probably wrong, and the authority-year is kept out of ranks until it is corrected at the source or confirmed';
COMMENT ON COLUMN core.quality_outliers.check_name IS 'outliers';
COMMENT ON COLUMN core.quality_outliers.severity IS 'error';
COMMENT ON COLUMN core.quality_outliers.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.quality_outliers.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.quality_outliers.financial_year IS 'Financial year the fact''s period lies in; NULL when it straddles two';
COMMENT ON COLUMN core.quality_outliers.dataset IS 'Dataset of the fact';
COMMENT ON COLUMN core.quality_outliers.detail IS 'The finding in words';
COMMENT ON COLUMN core.quality_outliers.measure IS 'As core.v_outliers.measure';
COMMENT ON COLUMN core.quality_outliers.breakdown IS 'As core.v_outliers.breakdown';
COMMENT ON COLUMN core.quality_outliers.age_group IS 'As core.v_outliers.age_group';
COMMENT ON COLUMN core.quality_outliers.service_point IS 'As core.v_outliers.service_point';
COMMENT ON COLUMN core.quality_outliers.period_start IS 'First day of the fact''s period';
COMMENT ON COLUMN core.quality_outliers.period_end IS 'Last day of the fact''s period';
COMMENT ON COLUMN core.quality_outliers.value IS 'The value as stored';
COMMENT ON COLUMN core.quality_outliers.rule IS 'history, peers or ceiling (core.v_outliers.rule)';
COMMENT ON COLUMN core.quality_outliers.compared_with IS 'How many facts the median is over; NULL for ceiling';
COMMENT ON COLUMN core.quality_outliers.median IS 'The median compared with; NULL for ceiling';
COMMENT ON COLUMN core.quality_outliers.times_median IS 'The value as a multiple of the median; NULL for ceiling';

-- ---------------------------------------------------------------------------
-- Suppressed cells

CREATE VIEW core.quality_suppressed AS
SELECT 'suppressed'::text AS check_name,
       'info'::text AS severity,
       m.authority_code,
       a.nice_name AS authority_name,
       core.financial_year_of(m.count_date) AS financial_year,
       'membership'::text AS dataset,
       (count(*) FILTER (WHERE m.members_suppressed)) || ' of ' || count(*) || ' members counts of '
           || m.count_date || ' withheld at source (1 to 4 each): not in the sums' AS detail,
       'members'::text AS field,
       m.count_date,
       (count(*) FILTER (WHERE m.members_suppressed))::integer AS suppressed_cells,
       count(*)::integer AS cells,
       string_agg(m.area_code, ', ' ORDER BY m.area_code) FILTER (WHERE m.members_suppressed) AS suppressed_keys
FROM core.membership m
LEFT JOIN ref.authority a ON a.code = m.authority_code
GROUP BY m.authority_code, a.nice_name, m.count_date
HAVING bool_or(m.members_suppressed);

COMMENT ON VIEW core.quality_suppressed IS 'Counts the source withheld (published as x; stored NULL with the _suppressed flag true, never 0), per dataset, authority and count date; today membership.members, where areas with 1 to 4 members are withheld. Sums leave them out. Severity info: withheld by design, not an error';
COMMENT ON COLUMN core.quality_suppressed.check_name IS 'suppressed';
COMMENT ON COLUMN core.quality_suppressed.severity IS 'info';
COMMENT ON COLUMN core.quality_suppressed.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.quality_suppressed.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.quality_suppressed.financial_year IS 'Financial year of the count date';
COMMENT ON COLUMN core.quality_suppressed.dataset IS 'Dataset (membership)';
COMMENT ON COLUMN core.quality_suppressed.detail IS 'The finding in words';
COMMENT ON COLUMN core.quality_suppressed.field IS 'The field withheld (members)';
COMMENT ON COLUMN core.quality_suppressed.count_date IS 'Date of the count';
COMMENT ON COLUMN core.quality_suppressed.suppressed_cells IS 'Counts withheld';
COMMENT ON COLUMN core.quality_suppressed.cells IS 'Counts of that authority and date in all';
COMMENT ON COLUMN core.quality_suppressed.suppressed_keys IS 'The areas (area_code) whose counts were withheld, comma-separated';

-- ---------------------------------------------------------------------------
-- Overlapping periods

CREATE VIEW core.quality_overlaps AS
WITH f AS (
    SELECT m.authority_code, m.measure, md.dataset, m.breakdown, m.age_group, m.service_point,
           m.period_start, m.period_end, m.full_count, m.value, m.financial_year
    FROM core.v_measure_facts m
    JOIN core.v_measure_dataset md ON md.measure = m.measure
    WHERE m.measure NOT IN ('service_point_events', 'service_point_event_attendance')
)
SELECT 'overlaps'::text AS check_name,
       CASE WHEN x.full_count AND y.full_count THEN 'error' ELSE 'warning' END AS severity,
       x.authority_code,
       a.nice_name AS authority_name,
       x.financial_year,
       x.dataset,
       core.quality_fact_label(x.measure, x.breakdown, x.age_group, x.service_point)
           || ': ' || x.period_start || '..' || x.period_end
           || ' (' || x.value || ') overlaps ' || y.period_start || '..' || y.period_end || ' (' || y.value || ')'
           || CASE WHEN x.full_count AND y.full_count THEN ': the overlap is counted twice in totals'
                   ELSE ': a visit sample within a count of another period' END AS detail,
       x.measure,
       x.breakdown,
       x.age_group,
       x.service_point,
       x.period_start,
       x.period_end,
       x.value,
       y.period_start AS other_period_start,
       y.period_end AS other_period_end,
       y.value AS other_value,
       x.full_count AND y.full_count AS counted_twice
FROM f x
JOIN f y ON y.authority_code = x.authority_code AND y.measure = x.measure
        AND coalesce(y.breakdown, '') = coalesce(x.breakdown, '') AND coalesce(y.age_group, '') = coalesce(x.age_group, '')
        AND coalesce(y.service_point, '') = coalesce(x.service_point, '')
        AND y.breakdown IS NOT DISTINCT FROM x.breakdown AND y.age_group IS NOT DISTINCT FROM x.age_group
        AND y.service_point IS NOT DISTINCT FROM x.service_point
        AND y.period_start <= x.period_end AND x.period_start <= y.period_end
        AND (x.period_start, x.period_end) < (y.period_start, y.period_end)
LEFT JOIN ref.authority a ON a.code = x.authority_code;

COMMENT ON VIEW core.quality_overlaps IS 'Two facts of the same key but for the period (authority, measure, breakdown, age group, service point) whose count periods overlap: a month and a quarter that contains it, two samples of one week, a sample inside a monthly count. One row per pair, the earlier period first. Severity error when both are full counts (the totals of core.v_authority_year add the overlap twice), warning when one is a visit sample (samples are never summed). Events are not checked';
COMMENT ON COLUMN core.quality_overlaps.check_name IS 'overlaps';
COMMENT ON COLUMN core.quality_overlaps.severity IS 'error (both summed: counted twice) or warning (a visit sample)';
COMMENT ON COLUMN core.quality_overlaps.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.quality_overlaps.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.quality_overlaps.financial_year IS 'Financial year of the earlier fact''s period; NULL when it straddles two';
COMMENT ON COLUMN core.quality_overlaps.dataset IS 'Dataset of the facts';
COMMENT ON COLUMN core.quality_overlaps.detail IS 'The finding in words';
COMMENT ON COLUMN core.quality_overlaps.measure IS 'As core.v_measure_facts.measure';
COMMENT ON COLUMN core.quality_overlaps.breakdown IS 'As core.v_measure_facts.breakdown';
COMMENT ON COLUMN core.quality_overlaps.age_group IS 'As core.v_measure_facts.age_group';
COMMENT ON COLUMN core.quality_overlaps.service_point IS 'Service point; NULL for authority-level facts';
COMMENT ON COLUMN core.quality_overlaps.period_start IS 'First day of the earlier fact''s period';
COMMENT ON COLUMN core.quality_overlaps.period_end IS 'Last day of the earlier fact''s period';
COMMENT ON COLUMN core.quality_overlaps.value IS 'Its value';
COMMENT ON COLUMN core.quality_overlaps.other_period_start IS 'First day of the other fact''s period';
COMMENT ON COLUMN core.quality_overlaps.other_period_end IS 'Last day of the other fact''s period';
COMMENT ON COLUMN core.quality_overlaps.other_value IS 'Its value';
COMMENT ON COLUMN core.quality_overlaps.counted_twice IS 'True when both are full counts, summed by the year views';

-- ---------------------------------------------------------------------------
-- Quarantine, outstanding only

CREATE VIEW core.quality_quarantine AS
SELECT 'quarantine'::text AS check_name,
       'warning'::text AS severity,
       q.authority_code,
       q.authority_name,
       q.financial_year,
       q.dataset,
       sum(q.outstanding_records) || ' record' || CASE WHEN sum(q.outstanding_records) = 1 THEN '' ELSE 's' END
           || ' of source ' || q.source || ' outstanding in the quarantine: ' || q.reason AS detail,
       q.source,
       q.field,
       q.reason,
       sum(q.outstanding_records)::integer AS outstanding_records,
       sum(q.records)::integer AS records,
       min(q.period_start) AS first_period_start,
       max(q.period_end) AS last_period_end,
       max(q.last_seen) AS last_seen
FROM core.v_quarantine_counts q
WHERE q.outstanding_records > 0 AND NOT q.exact_repeat
GROUP BY q.authority_code, q.authority_name, q.financial_year, q.dataset, q.source, q.field, q.reason;

COMMENT ON VIEW core.quality_quarantine IS 'Records still outstanding in the quarantine (core.v_quarantine_counts.outstanding_records: neither superseded by a later complete run nor resolved by a replay), exact repeats left out (the record they repeat is loaded), by authority, financial year, dataset, source and reason (the record''s own values masked; never the raw text). Severity warning: the facts are short by these records, and the year is not complete';
COMMENT ON COLUMN core.quality_quarantine.check_name IS 'quarantine';
COMMENT ON COLUMN core.quality_quarantine.severity IS 'warning';
COMMENT ON COLUMN core.quality_quarantine.authority_code IS 'ONS GSS code of the authority the records name; NULL when it could not be told';
COMMENT ON COLUMN core.quality_quarantine.authority_name IS 'Short name of the authority';
COMMENT ON COLUMN core.quality_quarantine.financial_year IS 'Financial year of the records'' periods; NULL when it could not be read';
COMMENT ON COLUMN core.quality_quarantine.dataset IS 'Dataset the records were meant for';
COMMENT ON COLUMN core.quality_quarantine.detail IS 'The finding in words';
COMMENT ON COLUMN core.quality_quarantine.source IS 'Collector source that sent them';
COMMENT ON COLUMN core.quality_quarantine.field IS 'The field the reason names; NULL for reasons about the whole record';
COMMENT ON COLUMN core.quality_quarantine.reason IS 'Why, with the records'' values masked (as core.v_quarantine_counts.reason)';
COMMENT ON COLUMN core.quality_quarantine.outstanding_records IS 'Records outstanding';
COMMENT ON COLUMN core.quality_quarantine.records IS 'Records quarantined for this reason in all (outstanding or not) in the groups with some outstanding';
COMMENT ON COLUMN core.quality_quarantine.first_period_start IS 'First day of the earliest of their periods';
COMMENT ON COLUMN core.quality_quarantine.last_period_end IS 'Last day of the latest of their periods';
COMMENT ON COLUMN core.quality_quarantine.last_seen IS 'When one of them was last received';

-- ---------------------------------------------------------------------------
-- Stale sources

-- Every collector source with its runs judged against a bound: p_stale_after_s
-- seconds, or NULL for the source's own (as `shelfsync status`: twice the
-- median gap between the starts of its last ten runs, at least an hour, when
-- there are at least three runs; else 8 days). SECURITY DEFINER: it reads
-- ingest.runs for analysts, who cannot, and gives no record text.
CREATE FUNCTION core.quality_source_runs(p_stale_after_s bigint)
RETURNS TABLE (source text, dataset text, authority_code text, runs integer, last_run_at timestamptz,
               last_run_outcome text, last_success_at timestamptz, run_interval_s bigint, stale_after_s bigint,
               stale_after_basis text, lag_s bigint, stale boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
WITH r AS (
    SELECT r.source, r.dataset, r.outcome, r.ended_at, r.run_ref,
           coalesce(r.started_at, r.first_seen) AS began, r.started_at
    FROM ingest.runs r
    WHERE r.outcome <> 'replay'
), last AS (
    SELECT DISTINCT ON (source) source, dataset, began, outcome FROM r ORDER BY source, began DESC, run_ref DESC
), ok AS (
    SELECT source, max(coalesce(ended_at, began)) AS at FROM r
    WHERE outcome IN ('complete', 'unchanged') GROUP BY source
), gaps AS (
    SELECT source, extract(epoch FROM started_at - lag(started_at) OVER w) AS gap,
           row_number() OVER (PARTITION BY source ORDER BY started_at DESC) AS rn
    FROM r WHERE started_at IS NOT NULL
    WINDOW w AS (PARTITION BY source ORDER BY started_at)
), cadence AS (
    SELECT source, percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS median_gap, count(*) AS n
    FROM gaps WHERE gap IS NOT NULL AND rn <= 10 GROUP BY source
), counts AS (
    SELECT source, count(*)::integer AS runs FROM r GROUP BY source
), one_authority AS (
    SELECT b.source, CASE WHEN count(DISTINCT c.authority_code) = 1 THEN min(c.authority_code) END AS authority_code
    FROM ingest.batch_coverage c JOIN ingest.batches b ON b.batch_id = c.batch_id
    GROUP BY b.source
), judged AS (
    SELECT l.source, l.dataset, oa.authority_code, n.runs, l.began AS last_run_at, l.outcome AS last_run_outcome,
           ok.at AS last_success_at,
           CASE WHEN cd.n >= 2 THEN round(cd.median_gap)::bigint END AS run_interval_s,
           CASE WHEN p_stale_after_s IS NOT NULL THEN p_stale_after_s
                WHEN cd.n >= 2 THEN greatest(3600, 2 * round(cd.median_gap))::bigint
                ELSE 8 * 86400 END AS stale_after_s,
           CASE WHEN p_stale_after_s IS NOT NULL THEN 'option' WHEN cd.n >= 2 THEN 'history' ELSE 'default' END
               AS stale_after_basis,
           floor(extract(epoch FROM now() - ok.at))::bigint AS lag_s
    FROM last l
    JOIN counts n ON n.source = l.source
    LEFT JOIN ok ON ok.source = l.source
    LEFT JOIN cadence cd ON cd.source = l.source
    LEFT JOIN one_authority oa ON oa.source = l.source
)
SELECT j.*, (j.lag_s IS NULL OR j.lag_s > j.stale_after_s) AS stale FROM judged j
$$;
REVOKE ALL ON FUNCTION core.quality_source_runs(bigint) FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'shelfsync_analyst') THEN
        GRANT EXECUTE ON FUNCTION core.quality_source_runs(bigint) TO shelfsync_analyst;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'shelfsync_writer') THEN
        GRANT EXECUTE ON FUNCTION core.quality_source_runs(bigint) TO shelfsync_writer;
    END IF;
END
$$;
COMMENT ON FUNCTION core.quality_source_runs(bigint) IS 'Every collector source (ingest.runs, replays left out): its last run, last successful run (complete or unchanged), usual interval and whether it is stale: no successful run within p_stale_after_s seconds, or with NULL within its own bound (twice the median gap between the starts of its last ten runs, at least an hour, given at least three runs; else 8 days), as `shelfsync status` judges. core.quality_stale_sources lists the stale ones by the sources'' own bounds; core.quality_stale_sources passes the session''s shelfsync.stale_after_s, as `shelfsync quality --stale-after` sets it';

CREATE VIEW core.quality_stale_sources AS
SELECT 'stale_sources'::text AS check_name,
       'warning'::text AS severity,
       s.authority_code,
       a.nice_name AS authority_name,
       NULL::text AS financial_year,
       s.dataset,
       'source ' || s.source || ': ' ||
           CASE WHEN s.last_success_at IS NULL THEN 'no successful run in ' || s.runs || ' run' || CASE WHEN s.runs = 1 THEN '' ELSE 's' END
                ELSE 'last successful run ' || to_char(s.last_success_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI"Z"')
                     || ', ' || justify_interval(make_interval(secs => s.lag_s)) || ' ago' END
           || ' (stale after ' || justify_interval(make_interval(secs => s.stale_after_s)) || ', '
           || s.stale_after_basis || '); last run '
           || s.last_run_outcome AS detail,
       s.source,
       s.runs,
       s.last_run_at,
       s.last_run_outcome,
       s.last_success_at,
       s.run_interval_s,
       s.stale_after_s,
       s.stale_after_basis,
       s.lag_s
FROM core.quality_source_runs(nullif(current_setting('shelfsync.stale_after_s', true), '')::bigint) s
LEFT JOIN ref.authority a ON a.code = s.authority_code
WHERE s.stale;

COMMENT ON VIEW core.quality_stale_sources IS 'Collector sources with no successful run (complete or unchanged) within their schedule: twice the median gap between the starts of their last ten runs, at least an hour, when there are at least three runs; else 8 days (core.quality_source_runs). A session may set its own bound in seconds, SET shelfsync.stale_after_s = 86400, as `shelfsync quality --stale-after` does. Severity warning: its newest facts may be missing';
COMMENT ON COLUMN core.quality_stale_sources.check_name IS 'stale_sources';
COMMENT ON COLUMN core.quality_stale_sources.severity IS 'warning';
COMMENT ON COLUMN core.quality_stale_sources.authority_code IS 'The authority the source has loaded facts for, when it is one; NULL for several or none';
COMMENT ON COLUMN core.quality_stale_sources.authority_name IS 'Short name of that authority';
COMMENT ON COLUMN core.quality_stale_sources.financial_year IS 'NULL: staleness is about now, not a year';
COMMENT ON COLUMN core.quality_stale_sources.dataset IS 'Dataset of the source''s last run';
COMMENT ON COLUMN core.quality_stale_sources.detail IS 'The finding in words';
COMMENT ON COLUMN core.quality_stale_sources.source IS 'Collector source name';
COMMENT ON COLUMN core.quality_stale_sources.runs IS 'Runs recorded for it';
COMMENT ON COLUMN core.quality_stale_sources.last_run_at IS 'When its last run began';
COMMENT ON COLUMN core.quality_stale_sources.last_run_outcome IS 'How that run ended (ingest.runs.outcome)';
COMMENT ON COLUMN core.quality_stale_sources.last_success_at IS 'When its last successful run ended; NULL if none';
COMMENT ON COLUMN core.quality_stale_sources.run_interval_s IS 'Median gap between the starts of its last ten runs, seconds; NULL with fewer than three runs';
COMMENT ON COLUMN core.quality_stale_sources.stale_after_s IS 'The bound, seconds';
COMMENT ON COLUMN core.quality_stale_sources.stale_after_basis IS 'history (from run_interval_s), default (8 days) or option (the session''s shelfsync.stale_after_s)';
COMMENT ON COLUMN core.quality_stale_sources.lag_s IS 'Seconds since the last successful run; NULL if none';

-- ---------------------------------------------------------------------------
-- Partial runs

CREATE FUNCTION core.quality_partial_run_rows()
RETURNS TABLE (source text, run_id text, dataset text, run_outcome text, run_started_at timestamptz,
               run_ended_at timestamptz, run_error text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    -- Runs that ended partial and loaded nothing (so are in no period of
    -- core.v_partial_periods), until a later run of the source completes.
    SELECT r.source, r.run_id, r.dataset, r.outcome, r.started_at, r.ended_at, r.error
    FROM ingest.runs r
    WHERE r.outcome = 'partial'
      AND NOT EXISTS (SELECT 1 FROM ingest.batches b JOIN ingest.batch_coverage c ON c.batch_id = b.batch_id
                      WHERE b.run_ref = r.run_ref)
      AND NOT EXISTS (SELECT 1 FROM ingest.runs r2
                      WHERE r2.source = r.source AND r2.run_ref > r.run_ref AND r2.outcome IN ('complete', 'unchanged'))
$$;
REVOKE ALL ON FUNCTION core.quality_partial_run_rows() FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'shelfsync_analyst') THEN
        GRANT EXECUTE ON FUNCTION core.quality_partial_run_rows() TO shelfsync_analyst;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'shelfsync_writer') THEN
        GRANT EXECUTE ON FUNCTION core.quality_partial_run_rows() TO shelfsync_writer;
    END IF;
END
$$;
COMMENT ON FUNCTION core.quality_partial_run_rows() IS 'Collector runs that ended partial and loaded no facts, until a later run of the same source completes (for core.quality_partial_runs; SECURITY DEFINER: reads ingest.runs for analysts)';

CREATE VIEW core.quality_partial_runs AS
WITH periods AS (
    SELECT p.dataset, p.authority_code, p.authority_name, p.financial_year, p.source, p.run_id, p.run_outcome,
           p.run_started_at, p.run_ended_at, p.run_error,
           count(DISTINCT p.month)::integer AS months,
           string_agg(DISTINCT to_char(p.month, 'YYYY-MM'), ', ') AS month_list
    FROM core.v_partial_periods p
    GROUP BY p.dataset, p.authority_code, p.authority_name, p.financial_year, p.source, p.run_id, p.run_outcome,
             p.run_started_at, p.run_ended_at, p.run_error
)
SELECT 'partial_runs'::text AS check_name,
       'warning'::text AS severity,
       p.authority_code,
       p.authority_name,
       p.financial_year,
       p.dataset,
       p.months || ' month' || CASE WHEN p.months = 1 THEN '' ELSE 's' END || ' (' || p.month_list
           || ') rest on run ' || p.run_id || ' of source ' || p.source || ', ' || p.run_outcome
           || coalesce(': ' || p.run_error, '') AS detail,
       p.source,
       p.run_id,
       p.run_outcome,
       p.run_started_at,
       p.run_ended_at,
       p.run_error,
       p.months,
       p.month_list
FROM periods p
UNION ALL
SELECT 'partial_runs', 'warning', NULL, NULL, NULL, r.dataset,
       'run ' || r.run_id || ' of source ' || r.source || ' ended partial and loaded nothing'
           || coalesce(': ' || r.run_error, ''),
       r.source, r.run_id, r.run_outcome, r.run_started_at, r.run_ended_at, r.run_error, 0, NULL
FROM core.quality_partial_run_rows() r;

COMMENT ON VIEW core.quality_partial_runs IS 'Collector runs that did not complete and what rests on them: per dataset, authority, financial year and run, the months of core.v_partial_periods (facts loaded by a run cut short, capped, with columns unread, refused, abandoned or still running, until a later run of the source completes); and runs that ended partial having loaded nothing (authority and year NULL). Severity warning: those months may be short';
COMMENT ON COLUMN core.quality_partial_runs.check_name IS 'partial_runs';
COMMENT ON COLUMN core.quality_partial_runs.severity IS 'warning';
COMMENT ON COLUMN core.quality_partial_runs.authority_code IS 'ONS GSS code of the library authority; NULL for a run that loaded nothing';
COMMENT ON COLUMN core.quality_partial_runs.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.quality_partial_runs.financial_year IS 'Financial year of the months; NULL for a run that loaded nothing';
COMMENT ON COLUMN core.quality_partial_runs.dataset IS 'Dataset';
COMMENT ON COLUMN core.quality_partial_runs.detail IS 'The finding in words';
COMMENT ON COLUMN core.quality_partial_runs.source IS 'Collector source of the run';
COMMENT ON COLUMN core.quality_partial_runs.run_id IS 'The run that did not complete';
COMMENT ON COLUMN core.quality_partial_runs.run_outcome IS 'partial, refused, failed, abandoned or running (ingest.runs.outcome)';
COMMENT ON COLUMN core.quality_partial_runs.run_started_at IS 'When the run began';
COMMENT ON COLUMN core.quality_partial_runs.run_ended_at IS 'When it ended; NULL if it never said';
COMMENT ON COLUMN core.quality_partial_runs.run_error IS 'What went wrong, as the collector said it';
COMMENT ON COLUMN core.quality_partial_runs.months IS 'Months of the year resting on the run (0: it loaded nothing)';
COMMENT ON COLUMN core.quality_partial_runs.month_list IS 'Those months, YYYY-MM, comma-separated';

-- Analysts and the writer read every quality view (005's default
-- privileges give the same when the same role migrates; said again here).
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'shelfsync_analyst') THEN
        GRANT SELECT ON core.v_measure_dataset, core.quality_completeness, core.quality_outliers,
              core.quality_suppressed, core.quality_overlaps, core.quality_quarantine, core.quality_stale_sources,
              core.quality_partial_runs TO shelfsync_analyst;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'shelfsync_writer') THEN
        GRANT SELECT ON core.v_measure_dataset, core.quality_completeness, core.quality_outliers,
              core.quality_suppressed, core.quality_overlaps, core.quality_quarantine, core.quality_stale_sources,
              core.quality_partial_runs TO shelfsync_writer;
    END IF;
END
$$;
