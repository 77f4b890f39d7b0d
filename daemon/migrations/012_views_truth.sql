-- 012: the views say what they rest on (issue 10).
--   * Facts given for a whole authority: core.loans, core.visits and
--     core.stock take a NULL service point (= the whole authority). Such
--     rows count in the authority's totals, never as a service point.
--   * ingest.quarantine keeps the authority and period of a record where
--     they can be told; core.v_quarantine_counts shows analysts the counts,
--     never the raw text; a year with outstanding quarantined records for
--     the authority and dataset is not complete.
--   * core.v_stock_turnover divides the loans of the service points that
--     have a stock count by their stock, and counts what it left out.
--   * core.v_outliers flags facts far outside the authority's own history or
--     its peers; core.outlier_confirmation lets an operator confirm one. An
--     authority-year resting on an unconfirmed outlier is not ranked.
-- Views are replaced in place (CREATE OR REPLACE, new columns at the end),
-- so the comments and grants of their existing columns stay.

-- ---------------------------------------------------------------------------
-- Authority-level facts

-- (008 gave core.loans the key index every other dataset has, NULLS NOT
-- DISTINCT, so one authority-level row per key.)
ALTER TABLE core.loans ALTER COLUMN service_point DROP NOT NULL;
ALTER TABLE core.visits ALTER COLUMN service_point DROP NOT NULL;
ALTER TABLE core.stock ALTER COLUMN service_point DROP NOT NULL;
COMMENT ON COLUMN core.loans.service_point IS 'Service point (library) as the source names it; no value = the whole authority (a count the source gives per authority only)';
COMMENT ON COLUMN core.visits.service_point IS 'Service point (library) as the source names it; no value = the whole authority (a count the source gives per authority only)';
COMMENT ON COLUMN core.stock.service_point IS 'Service point (library) as the source names it; no value = the whole authority (a count the source gives per authority only)';

-- ---------------------------------------------------------------------------
-- Where a quarantined record belongs

ALTER TABLE ingest.quarantine
    ADD COLUMN authority_code text,
    ADD COLUMN period_start date,
    ADD COLUMN period_end date;
CREATE INDEX quarantine_where ON ingest.quarantine (dataset, authority_code, period_start);
COMMENT ON COLUMN ingest.quarantine.authority_code IS 'ONS GSS code of the authority the record names, where it resolves (whatever other field failed); NULL when it cannot be told';
COMMENT ON COLUMN ingest.quarantine.period_start IS 'First day of the record''s count period (or its event, count or issue date), where it can be read; NULL when not';
COMMENT ON COLUMN ingest.quarantine.period_end IS 'Last day of that period, inclusive; NULL when not known';

CREATE VIEW core.v_quarantine_counts AS
WITH whole_runs AS (
    -- The latest complete run of each source and dataset that read the
    -- whole export again: a csv, json or Koha report export is read whole
    -- whenever it is fetched; a paging kind only when it fetched in full.
    SELECT source, dataset, max(run_ref) AS run_ref
    FROM ingest.runs
    WHERE outcome = 'complete' AND (full_fetch OR kind IN ('csv', 'json', 'koha_report'))
    GROUP BY source, dataset
), q AS (
    SELECT q.source, q.dataset, q.authority_code, q.period_start, q.period_end, q.seen_count,
           q.first_seen, q.last_seen,
           substring(q.reason FROM '^"([^"]+)"') AS field,
           -- The reason with the record's own details masked: quoted values
           -- (after "is") as "...", numbers as N, so that reasons group.
           regexp_replace(regexp_replace(q.reason, ' is "[^"]*"', ' is "..."', 'g'), '[0-9]+', 'N', 'g') AS reason,
           q.reason ~ '^line [0-9]+ repeats line [0-9]+ exactly' AS exact_repeat,
           -- Outstanding: no such run since the batch that last carried it
           -- left it out.
           (w.run_ref IS NULL OR b.run_ref IS NULL OR w.run_ref <= b.run_ref) AS outstanding
    FROM ingest.quarantine q
    LEFT JOIN ingest.batches b ON b.batch_id = q.batch_id
    LEFT JOIN whole_runs w ON w.source = q.source AND w.dataset = q.dataset
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
       (count(*) FILTER (WHERE q.outstanding))::integer AS outstanding_records,
       sum(q.seen_count)::bigint AS times_received,
       min(q.first_seen) AS first_seen,
       max(q.last_seen) AS last_seen
FROM q
LEFT JOIN ref.authority a ON a.code = q.authority_code
GROUP BY q.source, q.dataset, q.authority_code, a.nice_name, q.period_start, q.period_end, q.field, q.reason,
         q.exact_repeat;

COMMENT ON VIEW core.v_quarantine_counts IS 'How many records the daemon quarantined, by source, dataset, authority, period and reason, without the records themselves (ingest.quarantine, which analysts cannot read, has the raw text). Outstanding records make the authority''s year incomplete in core.v_authority_year';
COMMENT ON COLUMN core.v_quarantine_counts.source IS 'Collector source that sent the records';
COMMENT ON COLUMN core.v_quarantine_counts.dataset IS 'Dataset they were meant for, e.g. loans, activity_loans';
COMMENT ON COLUMN core.v_quarantine_counts.authority_code IS 'ONS GSS code of the authority the records name; NULL when it could not be resolved (an unknown name is itself a reason)';
COMMENT ON COLUMN core.v_quarantine_counts.authority_name IS 'Short name of the authority';
COMMENT ON COLUMN core.v_quarantine_counts.period_start IS 'First day of the records'' count period (event, count or issue date for datasets without a period); NULL when it could not be read';
COMMENT ON COLUMN core.v_quarantine_counts.period_end IS 'Last day of that period, inclusive';
COMMENT ON COLUMN core.v_quarantine_counts.financial_year IS 'Financial year period_start falls in, e.g. 2023-24';
COMMENT ON COLUMN core.v_quarantine_counts.field IS 'The field the reason names (e.g. loans, month, authority); NULL for reasons about the whole record (a repeat, a wrong number of fields)';
COMMENT ON COLUMN core.v_quarantine_counts.reason IS 'Why, with the records'' own values masked ("..." for a quoted value, N for a number), e.g. "loans" is "...": not a whole number; line N repeats line N exactly (...)';
COMMENT ON COLUMN core.v_quarantine_counts.exact_repeat IS 'True for exact repeats of a record loaded once already (nothing is missing from the facts): these do not make a year incomplete';
COMMENT ON COLUMN core.v_quarantine_counts.records IS 'Quarantined records (source lines)';
COMMENT ON COLUMN core.v_quarantine_counts.outstanding_records IS 'Of those, records not yet superseded: no later complete run of the source that read the whole export again (any csv, json or koha_report run that fetched; a koha or folio run only when it fetched in full) left them out. Quarantine rows are a log and are never removed; a fixed record stops being outstanding after the next complete full run';
COMMENT ON COLUMN core.v_quarantine_counts.times_received IS 'How many times those records were received in all';
COMMENT ON COLUMN core.v_quarantine_counts.first_seen IS 'When the first of them was quarantined';
COMMENT ON COLUMN core.v_quarantine_counts.last_seen IS 'When one of them was last received';

-- ---------------------------------------------------------------------------
-- Outliers

CREATE TABLE core.outlier_confirmation (
    authority_code text NOT NULL,
    measure        text NOT NULL,
    breakdown      text,
    age_group      text,
    service_point  text,
    period_start   date NOT NULL,
    period_end     date NOT NULL,
    value          bigint NOT NULL,
    confirmed_by   text NOT NULL DEFAULT current_user,
    confirmed_at   timestamptz NOT NULL DEFAULT now(),
    reason         text NOT NULL
);
CREATE UNIQUE INDEX outlier_confirmation_fact ON core.outlier_confirmation
    (authority_code, measure, breakdown, age_group, service_point, period_start, period_end) NULLS NOT DISTINCT;
COMMENT ON TABLE core.outlier_confirmation IS 'Outliers (core.v_outliers) an operator has checked with the source and confirmed as true: one row per fact, written by the warehouse owner or the writer role (see docs/warehouse.md). A confirmation holds only while the fact still has the confirmed value';
COMMENT ON COLUMN core.outlier_confirmation.authority_code IS 'The fact''s authority (core.v_outliers.authority_code)';
COMMENT ON COLUMN core.outlier_confirmation.measure IS 'The fact''s measure (core.v_outliers.measure)';
COMMENT ON COLUMN core.outlier_confirmation.breakdown IS 'The fact''s breakdown, NULL when it has none';
COMMENT ON COLUMN core.outlier_confirmation.age_group IS 'The fact''s age group, NULL when it has none';
COMMENT ON COLUMN core.outlier_confirmation.service_point IS 'The fact''s service point, NULL for an authority-level fact';
COMMENT ON COLUMN core.outlier_confirmation.period_start IS 'First day of the fact''s period';
COMMENT ON COLUMN core.outlier_confirmation.period_end IS 'Last day of the fact''s period';
COMMENT ON COLUMN core.outlier_confirmation.value IS 'The value confirmed: when the fact is reloaded with another value, the confirmation no longer holds';
COMMENT ON COLUMN core.outlier_confirmation.confirmed_by IS 'Who confirmed it (the database role, or a name)';
COMMENT ON COLUMN core.outlier_confirmation.confirmed_at IS 'When';
COMMENT ON COLUMN core.outlier_confirmation.reason IS 'Why the value is right, e.g. who at the service said so';

CREATE VIEW core.v_outliers AS
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
), flagged AS (
    SELECT o.authority_code, o.measure, o.breakdown, o.age_group, o.service_point, o.period_start, o.period_end,
           o.months_spanned, o.whole_months, o.financial_year, o.value,
           CASE WHEN o.own_median IS NOT NULL THEN 'history' ELSE 'peers' END AS rule,
           CASE WHEN o.own_median IS NOT NULL THEN o.n - 1 ELSE p.peers END::integer AS compared_with,
           coalesce(o.own_median, p.peer_median) AS median,
           p.rate
    FROM own o
    LEFT JOIN peer p ON o.own_median IS NULL AND p.authority_code = o.authority_code AND p.measure = o.measure
                    AND p.breakdown IS NOT DISTINCT FROM o.breakdown AND p.age_group IS NOT DISTINCT FROM o.age_group
                    AND p.period_start = o.period_start AND p.period_end = o.period_end
    -- More than 20 times the median, and at least 1,000 more (small
    -- counts, 26 events in a month where 1 is usual, are no outliers).
    WHERE (o.own_median > 0 AND o.value > 20 * o.own_median AND o.value - o.own_median >= 1000)
       OR (o.own_median IS NULL AND p.peer_median > 0 AND p.rate > 20 * p.peer_median
           AND (p.rate - p.peer_median) * p.persons / 1000 >= 1000)
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

COMMENT ON VIEW core.v_outliers IS 'Facts far outside what the service has reported before, or its peers: flagged, and kept out of rankings (core.v_peer_benchmark ranks and quartiles, core.v_bucking_trend and England''s change) until an operator confirms them in core.outlier_confirmation. Rule "history": the value is more than 20 times the median of the same authority''s other facts of the same measure, breakdown, age group, service point and period length (at least 3 of them, any year). Rule "peers", for an authority-level fact with fewer than 3 such: its value per 1,000 residents (all ages) is more than 20 times the median per 1,000 of the other facts of the same measure, breakdown, age group, period length and financial year (at least 3, any authority with a population loaded). In both, the value must also exceed what the median implies by at least 1,000 (so small counts are no outliers); a median of 0 flags nothing. Service-point events are not checked';
COMMENT ON COLUMN core.v_outliers.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.v_outliers.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.v_outliers.measure IS 'What is counted (see core.v_measure_facts.measure)';
COMMENT ON COLUMN core.v_outliers.breakdown IS 'The fact''s breakdown (see core.v_measure_facts.breakdown); NULL when none';
COMMENT ON COLUMN core.v_outliers.age_group IS 'The fact''s age group as the source gave it; NULL when none';
COMMENT ON COLUMN core.v_outliers.service_point IS 'Service point for service_point_* measures; NULL for authority-level facts';
COMMENT ON COLUMN core.v_outliers.period_start IS 'First day of the fact''s period';
COMMENT ON COLUMN core.v_outliers.period_end IS 'Last day of the fact''s period';
COMMENT ON COLUMN core.v_outliers.months_spanned IS 'Calendar months the period touches (the period length compared)';
COMMENT ON COLUMN core.v_outliers.whole_months IS 'True when the period runs from the first to the last day of months';
COMMENT ON COLUMN core.v_outliers.financial_year IS 'Financial year the period lies in; NULL when it straddles two';
COMMENT ON COLUMN core.v_outliers.value IS 'The value as stored';
COMMENT ON COLUMN core.v_outliers.rule IS 'history (against the authority''s own other periods) or peers (per 1,000 residents against the other facts of the year)';
COMMENT ON COLUMN core.v_outliers.compared_with IS 'How many facts the median is over';
COMMENT ON COLUMN core.v_outliers.median IS 'The median compared with: of the values (history) or of the values per 1,000 residents (peers), 3 decimals';
COMMENT ON COLUMN core.v_outliers.times_median IS 'The value (history) or the value per 1,000 (peers) as a multiple of the median, 1 decimal';
COMMENT ON COLUMN core.v_outliers.confirmed IS 'True when core.outlier_confirmation confirms this fact with this value: then it counts like any other';
COMMENT ON COLUMN core.v_outliers.confirmed_by IS 'Who confirmed it; NULL while unconfirmed';
COMMENT ON COLUMN core.v_outliers.confirmed_at IS 'When it was confirmed';
COMMENT ON COLUMN core.v_outliers.confirmation_reason IS 'Why it was confirmed';

-- ---------------------------------------------------------------------------
-- Service point x month: authority-level rows are no service point

CREATE OR REPLACE VIEW core.v_monthly_service_point AS
WITH monthly AS (
    SELECT authority_code, service_point, period_start AS month,
           loans, NULL::bigint AS visits, NULL::bigint AS samples, NULL::bigint AS events, NULL::bigint AS attendees
    FROM core.loans
    WHERE period_start = date_trunc('month', period_start)::date
      AND period_end = (period_start + interval '1 month - 1 day')::date
      AND service_point IS NOT NULL
    UNION ALL
    SELECT authority_code, service_point, period_start, NULL, visits, NULL, NULL, NULL
    FROM core.visits
    WHERE period_start = date_trunc('month', period_start)::date
      AND period_end = (period_start + interval '1 month - 1 day')::date
      AND service_point IS NOT NULL
    UNION ALL
    SELECT authority_code, service_point, date_trunc('month', period_start)::date, NULL, NULL, 1, NULL, NULL
    FROM core.visits
    WHERE NOT (period_start = date_trunc('month', period_start)::date
               AND period_end = (date_trunc('month', period_end) + interval '1 month - 1 day')::date)
      AND service_point IS NOT NULL
    UNION ALL
    SELECT authority_code, service_point, date_trunc('month', event_date)::date, NULL, NULL, NULL, 1, attendees
    FROM core.events
), g AS (
    SELECT authority_code, service_point, month,
           sum(loans)::bigint AS loans,
           sum(visits)::bigint AS visits,
           coalesce(sum(samples), 0)::integer AS visit_samples,
           coalesce(sum(events), 0)::integer AS events,
           sum(attendees)::bigint AS event_attendees
    FROM monthly
    GROUP BY authority_code, service_point, month
)
SELECT g.authority_code,
       a.nice_name AS authority_name,
       g.service_point,
       g.month,
       extract(year FROM g.month - interval '3 months')::integer || '-'
           || lpad(((extract(year FROM g.month - interval '3 months')::integer + 1) % 100)::text, 2, '0') AS financial_year,
       g.loans,
       g.visits,
       g.visit_samples,
       g.events,
       g.event_attendees
FROM g
LEFT JOIN ref.authority a ON a.code = g.authority_code;

COMMENT ON VIEW core.v_monthly_service_point IS 'Service point x calendar month: loans and visits from rows whose period is exactly that calendar month (quarterly, yearly or other periods are left out, never spread over months), events and attendees by event date. Visit samples (counts over less than a month) are not summed: only counted in visit_samples, see core.v_visit_samples. Rows given for the whole authority (no service point) are no service point and are left out: they count in core.v_authority_year';

COMMENT ON COLUMN core.v_measure_facts.service_point IS 'Service point as the source names it, for service_point_* measures; NULL for authority-level measures, and for service_point_* rows the source gave for the whole authority';
COMMENT ON COLUMN core.v_visit_samples.service_point IS 'Service point as the source names it; NULL for a sample of the whole authority';

-- ---------------------------------------------------------------------------
-- Authority x financial year: quarantine, outliers, authority-level rows

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
           sum(c.value) FILTER (WHERE k.k = 0 AND c.service_point IS NULL) AS authority_value,
           count(*) FILTER (WHERE k.k = 0) AS fact_rows
    FROM counted c
    JOIN (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11)) AS k(k) ON k.k < c.months_spanned
    GROUP BY c.authority_code, c.financial_year, c.measure, c.age_group,
             date_part('year', c.period_start) * 12 + date_part('month', c.period_start) + k.k
), totals AS (
    SELECT authority_code, financial_year, measure, age_group,
           sum(value)::bigint AS value,
           sum(authority_value)::bigint AS authority_value,
           sum(fact_rows)::integer AS fact_rows,
           count(*)::integer AS months_reported
    FROM by_month
    GROUP BY authority_code, financial_year, measure, age_group
), sp_register AS (
    -- Service points in the register open at some time in the year: opened
    -- by its end (or year unknown), not closed before it starts -- by its
    -- year closed, or, for one the source calls closed without a year, by
    -- the date of the version that says so (011: status, valid_from).
    SELECT sp.service_point_id, sp.authority_code, fy.label AS financial_year,
           lower(regexp_replace(btrim(sp.name), '\s+library$', '', 'i')) AS name_key
    FROM core.service_points sp
    JOIN ref.financial_year fy
      ON (sp.year_opened IS NULL OR sp.year_opened <= extract(year FROM fy.end_date))
     AND (sp.year_closed IS NULL OR sp.year_closed >= extract(year FROM fy.start_date))
     AND NOT (sp.status = 'Closed' AND sp.year_closed IS NULL AND sp.valid_from::date < fy.start_date)
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
), quarantined AS (
    -- Outstanding quarantined records whose period touches the year
    -- (exact repeats of a loaded record are no loss).
    SELECT md.measure, q.authority_code, fy.label AS financial_year,
           sum(q.outstanding_records)::integer AS records
    FROM core.v_quarantine_counts q
    JOIN measure_dataset md ON md.dataset = q.dataset
    JOIN ref.financial_year fy ON q.period_start <= fy.end_date AND q.period_end >= fy.start_date
    WHERE NOT q.exact_repeat AND q.outstanding_records > 0
    GROUP BY md.measure, q.authority_code, fy.label
), outliers AS (
    -- Unconfirmed outliers among the facts counted, per age-group row.
    SELECT o.authority_code, o.financial_year, o.measure, b.age_group, count(*)::integer AS outliers
    FROM core.v_outliers o
    CROSS JOIN LATERAL (VALUES ('All ages'),
        (CASE WHEN o.age_group IN ('Under 12', '12-17', 'Adult') THEN o.age_group END)) AS b(age_group)
    WHERE NOT o.confirmed AND o.financial_year IS NOT NULL AND b.age_group IS NOT NULL
      AND (o.measure <> 'active_users' OR (o.months_spanned = 12 AND o.whole_months))
    GROUP BY o.authority_code, o.financial_year, o.measure, b.age_group
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
       t.months_reported >= 12 AND coalesce(pm.partial_months, 0) = 0 AND coalesce(q.records, 0) = 0 AS complete,
       t.fact_rows,
       o.open_points AS service_points_open,
       CASE WHEN o.open_points IS NOT NULL THEN coalesce(r.reporting_points, 0) END AS service_points_reporting,
       round(100.0 * coalesce(r.reporting_points, 0) / nullif(o.open_points, 0), 1) AS service_points_reporting_pct,
       coalesce(pm.partial_months, 0) AS partial_months,
       coalesce(q.records, 0) AS quarantined_records,
       coalesce(ol.outliers, 0) AS outliers,
       CASE WHEN t.measure LIKE 'service\_point\_%' THEN coalesce(t.authority_value, 0) END AS authority_level_value
FROM totals t
LEFT JOIN ref.financial_year fy ON fy.label = t.financial_year
LEFT JOIN ref.authority a ON a.code = t.authority_code
LEFT JOIN sp_open o ON t.measure LIKE 'service\_point\_%'
                   AND o.authority_code = t.authority_code AND o.financial_year = t.financial_year
LEFT JOIN sp_reporting r ON r.authority_code = t.authority_code AND r.financial_year = t.financial_year
                        AND r.measure = t.measure AND r.age_group = t.age_group
LEFT JOIN partial pm ON pm.authority_code = t.authority_code AND pm.financial_year = t.financial_year
                    AND pm.measure = t.measure
LEFT JOIN quarantined q ON q.authority_code = t.authority_code AND q.financial_year = t.financial_year
                       AND q.measure = t.measure
LEFT JOIN outliers ol ON ol.authority_code = t.authority_code AND ol.financial_year = t.financial_year
                     AND ol.measure = t.measure AND ol.age_group = t.age_group;

COMMENT ON VIEW core.v_authority_year IS 'Authority x financial year (April to March) x measure x age group: totals and how complete they are. A fact counts towards a year only when its whole period lies inside it; nothing is pro-rated; visit samples are left out; active users count only over a whole year; rows given for the whole authority (no service point) count in the totals, never as a service point. complete = all 12 months reported, none resting on a run that did not complete (core.v_partial_periods), and no outstanding quarantined record of the dataset for the authority in the year (core.v_quarantine_counts). outliers counts unconfirmed outliers (core.v_outliers): such a year is not ranked';
COMMENT ON COLUMN core.v_authority_year.complete IS 'True when all 12 months are reported, no month rests on a collector run that did not complete (partial_months = 0) and no record of the year is outstanding in the quarantine (quarantined_records = 0); only complete years are compared (v_yoy, v_peer_benchmark ranks, v_bucking_trend)';
COMMENT ON COLUMN core.v_authority_year.service_points_reporting IS 'service_point_* measures only: how many of those open service points have facts counted in the year (matched by name, ignoring case and a trailing "Library"); rows for the whole authority are no service point';
COMMENT ON COLUMN core.v_authority_year.quarantined_records IS 'Outstanding quarantined records (core.v_quarantine_counts.outstanding_records, exact repeats left out) of the measure''s dataset for the authority whose period touches the year: the figures may be short; complete is false while there are any';
COMMENT ON COLUMN core.v_authority_year.outliers IS 'Unconfirmed outliers (core.v_outliers) among the facts summed: the year is kept out of ranks, quartiles and England''s trend until they are confirmed (core.outlier_confirmation) or corrected';
COMMENT ON COLUMN core.v_authority_year.authority_level_value IS 'service_point_* measures only: the part of value from rows the source gave for the whole authority (no service point); NULL for authority-level measures';

-- ---------------------------------------------------------------------------
-- Per 1,000, peers, year on year, bucking the trend: outliers are not ranked

CREATE OR REPLACE VIEW core.v_authority_per_1000 AS
WITH y AS MATERIALIZED (
    SELECT * FROM core.v_authority_year
), pop_years AS (
    SELECT DISTINCT code, mid_year FROM ref.population
), chosen AS (
    -- The population estimate for each authority and year: mid-(YYYY+1) for
    -- YYYY-YY, else the nearest mid-year loaded, the later one on a tie.
    SELECT DISTINCT ON (k.authority_code, k.financial_year) k.authority_code, k.financial_year, py.mid_year
    FROM (SELECT DISTINCT authority_code, financial_year FROM y) k
    JOIN pop_years py ON py.code = k.authority_code
    ORDER BY k.authority_code, k.financial_year,
             abs(py.mid_year - (substr(k.financial_year, 1, 4)::integer + 1)), py.mid_year DESC
)
SELECT y.authority_code,
       y.authority_name,
       y.financial_year,
       y.measure,
       y.age_group,
       y.value,
       pb.persons AS population,
       c.mid_year AS population_mid_year,
       round(1000.0 * y.value / nullif(pb.persons, 0), 6) AS per_1000,
       y.months_reported,
       y.complete,
       y.outliers
FROM y
LEFT JOIN chosen c USING (authority_code, financial_year)
LEFT JOIN ref.population_band pb
       ON pb.code = y.authority_code AND pb.mid_year = c.mid_year AND pb.age_band = y.age_group;

COMMENT ON COLUMN core.v_authority_per_1000.complete IS 'True when the year is complete (core.v_authority_year.complete: 12 months, no partial run, nothing outstanding in the quarantine): compare only complete years';
COMMENT ON COLUMN core.v_authority_per_1000.outliers IS 'Unconfirmed outliers among the facts summed (core.v_authority_year.outliers): compare only years with none';

CREATE OR REPLACE VIEW core.v_peer_benchmark AS
WITH v AS (
    SELECT authority_code, authority_name, financial_year, measure, age_group, per_1000, complete, outliers,
           complete AND outliers = 0 AS rankable
    FROM core.v_authority_per_1000
    WHERE per_1000 IS NOT NULL
), nb AS (
    SELECT code, neighbour_code FROM ref.nearest_neighbour WHERE rank <= 15
), peers AS (
    SELECT s.authority_code, s.financial_year, s.measure, s.age_group,
           count(*)::integer AS peers_reporting,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY p.per_1000::float8) AS median,
           percentile_cont(0.25) WITHIN GROUP (ORDER BY p.per_1000::float8) AS lower_quartile,
           percentile_cont(0.75) WITHIN GROUP (ORDER BY p.per_1000::float8) AS upper_quartile,
           count(*) FILTER (WHERE p.per_1000 > s.per_1000)::integer AS peers_above
    FROM v s
    JOIN nb ON nb.code = s.authority_code
    JOIN v p ON p.authority_code = nb.neighbour_code AND p.financial_year = s.financial_year
            AND p.measure = s.measure AND p.age_group = s.age_group AND p.rankable
    GROUP BY s.authority_code, s.financial_year, s.measure, s.age_group
)
SELECT s.authority_code,
       s.authority_name,
       s.financial_year,
       s.measure,
       s.age_group,
       s.per_1000,
       s.complete,
       NOT s.complete AS partial_reporter,
       coalesce(p.peers_reporting, 0) AS peers_reporting,
       round(p.median::numeric, 6) AS peer_median,
       round(p.lower_quartile::numeric, 6) AS peer_lower_quartile,
       round(p.upper_quartile::numeric, 6) AS peer_upper_quartile,
       CASE WHEN s.rankable THEN coalesce(p.peers_above, 0) + 1 END AS rank,
       CASE WHEN s.rankable THEN coalesce(p.peers_reporting, 0) + 1 END AS ranked_of,
       s.outliers
FROM v s
LEFT JOIN peers p USING (authority_code, financial_year, measure, age_group);

COMMENT ON VIEW core.v_peer_benchmark IS 'Authority x financial year x measure x age group per 1,000 residents against its 15 nearest ONS statistical neighbours (ref.nearest_neighbour rank 1-15). Neighbours with an incomplete year, or a year resting on an unconfirmed outlier (core.v_outliers), are left out of the quartiles and the ranking; such an authority gets the quartiles but no rank (partial_reporter, outliers)';
COMMENT ON COLUMN core.v_peer_benchmark.peers_reporting IS 'Nearest neighbours (of the 15) with a complete year, no unconfirmed outlier and a population for this measure';
COMMENT ON COLUMN core.v_peer_benchmark.rank IS 'Rank of the authority among itself and those neighbours, 1 = highest per 1,000 (ties share a rank); NULL for a partial reporter or a year with an unconfirmed outlier';
COMMENT ON COLUMN core.v_peer_benchmark.ranked_of IS 'How many were ranked: the authority and its neighbours reporting; NULL when the authority is not ranked';
COMMENT ON COLUMN core.v_peer_benchmark.outliers IS 'Unconfirmed outliers in the authority''s year (core.v_authority_year.outliers): not ranked while above 0';

CREATE OR REPLACE VIEW core.v_yoy AS
WITH all_years AS MATERIALIZED (
    -- Filtered only once materialised: the planner cannot estimate how many
    -- years are complete, and a guess of one row made it loop.
    SELECT authority_code, financial_year, fy_start, measure, age_group, value, outliers, complete
    FROM core.v_authority_year
), y AS (
    SELECT authority_code, financial_year, fy_start, measure, age_group, value, outliers
    FROM all_years
    WHERE complete
), merge_map AS (
    -- Successions usable for comparison: renames and mergers (each old code
    -- has one successor). A split (Cumbria into two) cannot be compared.
    SELECT s.old_code, s.new_code, count(*) OVER (PARTITION BY s.new_code) AS predecessors
    FROM ref.authority_successor s
    WHERE NOT EXISTS (SELECT 1 FROM ref.authority_successor s2
                      WHERE s2.old_code = s.old_code AND s2.new_code <> s.new_code)
), prev AS (
    -- Each complete year, keyed by the code and year it is the "previous
    -- year" of: its own code, and the successor of a merged or renamed code.
    SELECT p.code, p.next_fy_start, p.measure, p.age_group,
           sum(p.value) FILTER (WHERE p.own)::bigint AS own_value,
           sum(p.value) FILTER (WHERE NOT p.own)::bigint AS merged_value,
           sum(p.outliers) FILTER (WHERE p.own)::integer AS own_outliers,
           sum(p.outliers) FILTER (WHERE NOT p.own)::integer AS merged_outliers,
           count(*) FILTER (WHERE NOT p.own) AS merged_codes,
           min(p.predecessors) AS predecessors,
           string_agg(p.authority_code, ', ' ORDER BY p.authority_code) FILTER (WHERE NOT p.own) AS merged_from,
           min(p.financial_year) AS previous_financial_year
    FROM (SELECT y.authority_code AS code, y.authority_code, true AS own, NULL::bigint AS predecessors,
                 (y.fy_start + interval '1 year')::date AS next_fy_start, y.financial_year, y.measure,
                 y.age_group, y.value, y.outliers
          FROM y
          UNION ALL
          SELECT mm.new_code, y.authority_code, false, mm.predecessors,
                 (y.fy_start + interval '1 year')::date, y.financial_year, y.measure, y.age_group, y.value,
                 y.outliers
          FROM y JOIN merge_map mm ON mm.old_code = y.authority_code) p
    GROUP BY p.code, p.next_fy_start, p.measure, p.age_group
), paired AS (
    SELECT c.authority_code, c.financial_year, c.measure, c.age_group, c.value, p.previous_financial_year,
           CASE WHEN p.own_value IS NOT NULL THEN p.own_value
                WHEN p.merged_codes = p.predecessors THEN p.merged_value END AS previous_value,
           CASE WHEN p.own_value IS NOT NULL THEN c.authority_code
                WHEN p.merged_codes = p.predecessors THEN p.merged_from END AS previous_authority_codes,
           c.outliers + CASE WHEN p.own_value IS NOT NULL THEN p.own_outliers
                             ELSE coalesce(p.merged_outliers, 0) END AS outliers
    FROM y c
    JOIN prev p ON p.code = c.authority_code AND p.next_fy_start = c.fy_start
               AND p.measure = c.measure AND p.age_group = c.age_group
)
SELECT p.authority_code,
       a.nice_name AS authority_name,
       p.financial_year,
       p.previous_financial_year,
       p.measure,
       p.age_group,
       p.value,
       p.previous_value,
       p.previous_authority_codes,
       p.value - p.previous_value AS change,
       round(100.0 * (p.value - p.previous_value) / nullif(p.previous_value, 0), 6) AS change_pct,
       p.outliers
FROM paired p
LEFT JOIN ref.authority a ON a.code = p.authority_code
WHERE p.previous_value IS NOT NULL;

COMMENT ON COLUMN core.v_yoy.outliers IS 'Unconfirmed outliers (core.v_outliers) in the two years compared: a change resting on one is shown but kept out of core.v_bucking_trend';

CREATE OR REPLACE VIEW core.v_bucking_trend AS
WITH y AS (
    SELECT * FROM core.v_yoy WHERE authority_code LIKE 'E%' AND outliers = 0
), england AS (
    SELECT financial_year, measure, age_group,
           count(*)::integer AS authorities,
           sum(value)::bigint AS value,
           sum(previous_value)::bigint AS previous_value
    FROM y
    GROUP BY financial_year, measure, age_group
), flagged AS (
    SELECT y.authority_code, y.authority_name, y.financial_year, y.measure, y.age_group,
           y.value, y.previous_value, y.change_pct,
           e.authorities, e.value AS england_value, e.previous_value AS england_previous_value,
           round(100.0 * (e.value - e.previous_value) / nullif(e.previous_value, 0), 6) AS england_change_pct,
           (y.value > y.previous_value AND e.value < e.previous_value) AS bucking,
           substr(y.financial_year, 1, 4)::integer AS fy_year
    FROM y
    JOIN england e USING (financial_year, measure, age_group)
), runs AS (
    SELECT f.*,
           f.fy_year - row_number() OVER (PARTITION BY authority_code, measure, age_group, bucking
                                          ORDER BY fy_year) AS run
    FROM flagged f
)
SELECT authority_code,
       authority_name,
       financial_year,
       measure,
       age_group,
       value,
       previous_value,
       change_pct,
       england_change_pct,
       authorities AS england_authorities,
       bucking,
       CASE WHEN bucking
            THEN row_number() OVER (PARTITION BY authority_code, measure, age_group, bucking, run ORDER BY fy_year)::integer
            ELSE 0
       END AS consecutive_years
FROM runs;

COMMENT ON VIEW core.v_bucking_trend IS 'Who is bucking the trend: authority x financial year x measure x age group, the authority''s change on the previous year against England''s. England = the sum over every English authority with complete years in both years and no unconfirmed outlier in either (the rows of core.v_yoy with outliers = 0), so like is compared with like; an authority''s change resting on an outlier is not listed';

-- ---------------------------------------------------------------------------
-- Stock turnover over the same service points

CREATE OR REPLACE VIEW core.v_stock_turnover AS
WITH l AS (
    -- Loans rows whose whole period lies in one financial year.
    SELECT lo.authority_code, lo.service_point, lo.item_type, lo.loans, fy.label AS financial_year,
           fy.end_date
    FROM core.loans lo
    JOIN ref.financial_year fy ON lo.period_start >= fy.start_date AND lo.period_end <= fy.end_date
), per_sp AS (
    SELECT authority_code, financial_year, item_type, max(end_date) AS end_date,
           lower(regexp_replace(btrim(service_point), '\s+library$', '', 'i')) AS name_key,
           sum(loans)::bigint AS loans
    FROM l
    WHERE service_point IS NOT NULL
    GROUP BY authority_code, financial_year, item_type,
             lower(regexp_replace(btrim(service_point), '\s+library$', '', 'i'))
), stocked AS (
    -- Each service point's latest count on or before the end of the year.
    SELECT p.*, s.items, s.count_date
    FROM per_sp p
    LEFT JOIN LATERAL (
        SELECT st.items, st.count_date
        FROM core.stock st
        WHERE st.authority_code = p.authority_code AND st.item_type = p.item_type
          AND st.service_point IS NOT NULL
          AND lower(regexp_replace(btrim(st.service_point), '\s+library$', '', 'i')) = p.name_key
          AND st.count_date <= p.end_date
        ORDER BY st.count_date DESC
        LIMIT 1) s ON true
), sp AS (
    SELECT authority_code, financial_year, item_type,
           sum(loans) FILTER (WHERE items IS NOT NULL)::bigint AS loans,
           sum(items)::bigint AS items,
           max(count_date) AS stock_count_date,
           count(*) FILTER (WHERE items IS NOT NULL)::integer AS stock_service_points,
           coalesce(sum(loans) FILTER (WHERE items IS NULL), 0)::bigint AS loans_without_stock,
           count(*) FILTER (WHERE items IS NULL)::integer AS service_points_without_stock
    FROM stocked
    GROUP BY authority_code, financial_year, item_type
), whole AS (
    SELECT authority_code, financial_year, item_type, sum(loans)::bigint AS loans
    FROM l
    WHERE service_point IS NULL
    GROUP BY authority_code, financial_year, item_type
), k AS (
    SELECT authority_code, financial_year, item_type FROM sp
    UNION
    SELECT authority_code, financial_year, item_type FROM whole
)
SELECT k.authority_code,
       a.nice_name AS authority_name,
       k.financial_year,
       k.item_type,
       coalesce(s.loans, 0) AS loans,
       s.items,
       s.stock_count_date,
       coalesce(s.stock_service_points, 0) AS stock_service_points,
       round(s.loans::numeric / nullif(s.items, 0), 3) AS turnover,
       coalesce(s.loans_without_stock, 0) AS loans_without_stock,
       coalesce(s.service_points_without_stock, 0) AS service_points_without_stock,
       coalesce(w.loans, 0) AS authority_level_loans,
       coalesce(s.service_points_without_stock, 0) = 0 AND w.loans IS NULL AND s.items IS NOT NULL AS complete
FROM k
LEFT JOIN sp s USING (authority_code, financial_year, item_type)
LEFT JOIN whole w USING (authority_code, financial_year, item_type)
LEFT JOIN ref.authority a ON a.code = k.authority_code;

COMMENT ON VIEW core.v_stock_turnover IS 'Stock turnover: authority x item type x financial year, loans in the year (core.loans rows whose whole period lies in it) at the service points with a stock count, divided by the items in stock at those same service points (each one''s latest core.stock count on or before the end of the year). Loans at service points without a count, and loans given for the whole authority, are left out of turnover and counted (loans_without_stock, authority_level_loans). Service points are matched by name, ignoring case and a trailing "Library"; item types as the library service names them';
COMMENT ON COLUMN core.v_stock_turnover.loans IS 'Loans of that item type in the year at the service points with a stock count (the numerator of turnover)';
COMMENT ON COLUMN core.v_stock_turnover.items IS 'Items of that type in stock at those service points: each one''s latest count on or before the year end, summed; NULL when none has a count';
COMMENT ON COLUMN core.v_stock_turnover.stock_service_points IS 'Service points with loans in the year and a stock count: those turnover is over';
COMMENT ON COLUMN core.v_stock_turnover.turnover IS 'loans / items, 3 decimals: times each item was lent in the year, over the same service points; NULL without stock';
COMMENT ON COLUMN core.v_stock_turnover.loans_without_stock IS 'Loans of the year at service points with no stock count for the item type by the year end: left out of turnover';
COMMENT ON COLUMN core.v_stock_turnover.service_points_without_stock IS 'Service points with loans in the year but no stock count: left out of turnover';
COMMENT ON COLUMN core.v_stock_turnover.authority_level_loans IS 'Loans the source gave for the whole authority (no service point): left out of turnover, which is over service points';
COMMENT ON COLUMN core.v_stock_turnover.complete IS 'True when turnover covers every loan of the year: each service point with loans has a stock count and no loans were given for the whole authority only';
