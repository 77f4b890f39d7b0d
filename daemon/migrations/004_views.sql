-- 004: the views analysts query. Plain SQL over the facts of 002 and the
-- reference data of 003: no functions, no materialisation, so every view is
-- always up to date and works on empty tables. Everything an analyst sees is a
-- plain column (date, text, integer, numeric, boolean); measures are long form
-- (one row per measure, with an age_group column) so one view serves every
-- measure. See docs/warehouse.md for the rules and example queries.
--
-- Measures (the `measure` column):
--   loans, visits, active_users, events, event_attendance, computer_hours,
--   wifi_sessions, click_and_collect      authority level (Arts Council activity tables)
--   service_point_loans, service_point_visits, service_point_events,
--   service_point_event_attendance        rolled up from core.loans, core.visits, core.events
-- age_group: 'All ages' is the measure's total over every row (whatever its
-- age group, Unknown included); 'Under 12', '12-17', 'Adult' repeat the rows
-- the source gave for that band (loans: the content's age; events and
-- attendance: the audience's). Never add 'All ages' to the bands.

-- ---------------------------------------------------------------------------
-- Service points

CREATE VIEW core.v_service_points_current AS
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
       sp.year_closed IS NULL AS open,
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
       sp.loaded_at
FROM core.service_points sp
LEFT JOIN ref.authority a ON a.code = sp.authority_code
WHERE sp.valid_to IS NULL;

COMMENT ON VIEW core.v_service_points_current IS 'Library service points as they are now: the current version of each (core.service_points keeps every version), with weekly opening hours in hours';
COMMENT ON COLUMN core.v_service_points_current.service_point_id IS 'Stable id of the service point, shared by all its versions (see core.v_opening_hours)';
COMMENT ON COLUMN core.v_service_points_current.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.v_service_points_current.authority_name IS 'Short name of the library authority (ref.authority.nice_name)';
COMMENT ON COLUMN core.v_service_points_current.name IS 'Full public name of the library';
COMMENT ON COLUMN core.v_service_points_current.address_1 IS 'Address line 1';
COMMENT ON COLUMN core.v_service_points_current.address_2 IS 'Address line 2';
COMMENT ON COLUMN core.v_service_points_current.address_3 IS 'Address line 3';
COMMENT ON COLUMN core.v_service_points_current.postcode IS 'Postcode of the building';
COMMENT ON COLUMN core.v_service_points_current.uprn IS 'Unique property reference number of the building unit';
COMMENT ON COLUMN core.v_service_points_current.statutory IS 'Whether the library is part of the statutory service';
COMMENT ON COLUMN core.v_service_points_current.library_type IS 'LAL local authority library, LAL- unstaffed, CL commissioned, CRL community run, ICL independent community library';
COMMENT ON COLUMN core.v_service_points_current.year_opened IS 'Year the library opened, where known';
COMMENT ON COLUMN core.v_service_points_current.year_closed IS 'Year the library closed; NULL while it is open';
COMMENT ON COLUMN core.v_service_points_current.open IS 'True while the library is open (year_closed is NULL)';
COMMENT ON COLUMN core.v_service_points_current.staffed_hours_per_week IS 'Staffed opening hours in a normal week, in hours (e.g. 37.50): the sum of the seven days; NULL when the source gave no staffed hours for any day';
COMMENT ON COLUMN core.v_service_points_current.unstaffed_hours_per_week IS 'Unstaffed (self-service, open-access) opening hours in a normal week, in hours; NULL when the source gave none for any day';
COMMENT ON COLUMN core.v_service_points_current.monday_staffed IS 'Staffed hours on Monday, e.g. 09:00-12:00,13:00-17:00; empty = closed; NULL = not given';
COMMENT ON COLUMN core.v_service_points_current.tuesday_staffed IS 'Staffed hours on Tuesday (as monday_staffed)';
COMMENT ON COLUMN core.v_service_points_current.wednesday_staffed IS 'Staffed hours on Wednesday (as monday_staffed)';
COMMENT ON COLUMN core.v_service_points_current.thursday_staffed IS 'Staffed hours on Thursday (as monday_staffed)';
COMMENT ON COLUMN core.v_service_points_current.friday_staffed IS 'Staffed hours on Friday (as monday_staffed)';
COMMENT ON COLUMN core.v_service_points_current.saturday_staffed IS 'Staffed hours on Saturday (as monday_staffed)';
COMMENT ON COLUMN core.v_service_points_current.sunday_staffed IS 'Staffed hours on Sunday (as monday_staffed)';
COMMENT ON COLUMN core.v_service_points_current.monday_unstaffed IS 'Unstaffed hours on Monday (as monday_staffed)';
COMMENT ON COLUMN core.v_service_points_current.tuesday_unstaffed IS 'Unstaffed hours on Tuesday (as monday_staffed)';
COMMENT ON COLUMN core.v_service_points_current.wednesday_unstaffed IS 'Unstaffed hours on Wednesday (as monday_staffed)';
COMMENT ON COLUMN core.v_service_points_current.thursday_unstaffed IS 'Unstaffed hours on Thursday (as monday_staffed)';
COMMENT ON COLUMN core.v_service_points_current.friday_unstaffed IS 'Unstaffed hours on Friday (as monday_staffed)';
COMMENT ON COLUMN core.v_service_points_current.saturday_unstaffed IS 'Unstaffed hours on Saturday (as monday_staffed)';
COMMENT ON COLUMN core.v_service_points_current.sunday_unstaffed IS 'Unstaffed hours on Sunday (as monday_staffed)';
COMMENT ON COLUMN core.v_service_points_current.special_hours IS 'Changes to normal hours, e.g. 2019-12-25: X,2019-12-27: 10:00-13:00';
COMMENT ON COLUMN core.v_service_points_current.colocated IS 'Whether the library shares its building with another service';
COMMENT ON COLUMN core.v_service_points_current.colocated_with IS 'What the library shares its building with';
COMMENT ON COLUMN core.v_service_points_current.notes IS 'Notes about the library''s status or future changes';
COMMENT ON COLUMN core.v_service_points_current.url IS 'Public web page of the library';
COMMENT ON COLUMN core.v_service_points_current.email IS 'Generic e-mail address of the library or service';
COMMENT ON COLUMN core.v_service_points_current.version_from IS 'Date this version was first loaded (core.service_points.valid_from)';
COMMENT ON COLUMN core.v_service_points_current.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.v_service_points_current.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.v_service_points_current.loaded_at IS 'When the row was last inserted or changed';

CREATE VIEW core.v_opening_hours AS
SELECT sp.service_point_id,
       sp.authority_code,
       a.nice_name AS authority_name,
       sp.name,
       sp.valid_from::date AS version_from,
       sp.valid_to::date AS version_to,
       sp.valid_to IS NULL AS current_version,
       sp.year_closed IS NULL AS open,
       d.weekday,
       d.weekday_number,
       d.staffing,
       iv.interval_number::integer AS interval_number,
       split_part(iv.hours, '-', 1)::time AS opens,
       split_part(iv.hours, '-', 2)::time AS closes,
       (extract(epoch FROM split_part(iv.hours, '-', 2)::time - split_part(iv.hours, '-', 1)::time) / 60)::integer AS minutes
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

COMMENT ON VIEW core.v_opening_hours IS 'Opening hours as rows: one per service point version, weekday, staffed or unstaffed, and opening interval (a day 09:00-12:00,13:00-17:00 gives two rows). Days the library is closed, or has no hours given, have no row. Filter current_version for the hours as they are now';
COMMENT ON COLUMN core.v_opening_hours.service_point_id IS 'Stable id of the service point (core.service_points)';
COMMENT ON COLUMN core.v_opening_hours.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.v_opening_hours.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.v_opening_hours.name IS 'Full public name of the library (in that version)';
COMMENT ON COLUMN core.v_opening_hours.version_from IS 'Date the version was first loaded';
COMMENT ON COLUMN core.v_opening_hours.version_to IS 'Date a later version replaced it; NULL for the current version';
COMMENT ON COLUMN core.v_opening_hours.current_version IS 'True for the current version of the service point';
COMMENT ON COLUMN core.v_opening_hours.open IS 'True when the library had not closed in that version (year_closed is NULL)';
COMMENT ON COLUMN core.v_opening_hours.weekday IS 'Day of the week in words: Monday ... Sunday';
COMMENT ON COLUMN core.v_opening_hours.weekday_number IS 'ISO day number for sorting: 1 = Monday ... 7 = Sunday';
COMMENT ON COLUMN core.v_opening_hours.staffing IS 'Staffed or Unstaffed (self-service) hours';
COMMENT ON COLUMN core.v_opening_hours.interval_number IS '1 for the first opening interval of the day, 2 for the second ...';
COMMENT ON COLUMN core.v_opening_hours.opens IS 'Opening time';
COMMENT ON COLUMN core.v_opening_hours.closes IS 'Closing time (24:00:00 = midnight at the end of the day)';
COMMENT ON COLUMN core.v_opening_hours.minutes IS 'Minutes open in the interval';

-- ---------------------------------------------------------------------------
-- Every fact in long form

CREATE VIEW core.v_measure_facts AS
WITH f AS (
    SELECT authority_code, 'loans' AS measure, format AS breakdown, content_age_group AS age_group,
           NULL::text AS service_point, loans AS value, period_start, period_end, source, batch_id, loaded_at
    FROM core.activity_loans
    UNION ALL
    SELECT authority_code, 'visits', location, NULL, NULL, visits, period_start, period_end, source, batch_id, loaded_at
    FROM core.activity_visits
    UNION ALL
    SELECT authority_code, 'active_users', NULL, age_group, NULL, users, period_start, period_end, source, batch_id, loaded_at
    FROM core.active_users
    UNION ALL
    SELECT authority_code, 'events', event_type, age_group, NULL, events, period_start, period_end, source, batch_id, loaded_at
    FROM core.activity_events
    UNION ALL
    SELECT authority_code, 'event_attendance', event_type, age_group, NULL, attendees, period_start, period_end,
           source, batch_id, loaded_at
    FROM core.activity_event_attendance
    UNION ALL
    SELECT authority_code, 'computer_hours', NULL, NULL, NULL, hours, period_start, period_end, source, batch_id, loaded_at
    FROM core.computer_hours
    UNION ALL
    SELECT authority_code, 'wifi_sessions', NULL, NULL, NULL, sessions, period_start, period_end, source, batch_id, loaded_at
    FROM core.wifi_sessions
    UNION ALL
    SELECT authority_code, 'click_and_collect', NULL, NULL, NULL, interactions, period_start, period_end,
           source, batch_id, loaded_at
    FROM core.click_and_collect
    UNION ALL
    SELECT authority_code, 'service_point_loans', item_type, NULL, service_point, loans, period_start, period_end,
           source, batch_id, loaded_at
    FROM core.loans
    UNION ALL
    SELECT authority_code, 'service_point_visits', count_type, NULL, service_point, visits, period_start, period_end,
           source, batch_id, loaded_at
    FROM core.visits
    UNION ALL
    SELECT authority_code, 'service_point_events', NULL, NULL, service_point, 1, event_date, event_date,
           source, batch_id, loaded_at
    FROM core.events
    UNION ALL
    SELECT authority_code, 'service_point_event_attendance', NULL, NULL, service_point, attendees, event_date, event_date,
           source, batch_id, loaded_at
    FROM core.events
), p AS (
    -- date_part (double precision) rather than extract (numeric): cheaper.
    SELECT f.*,
           (date_part('day', period_start) = 1 AND date_part('day', period_end + 1) = 1) AS whole_months,
           (date_part('year', period_start) - (date_part('month', period_start) < 4)::integer)::integer AS fy_year,
           ((date_part('year', period_end) - date_part('year', period_start)) * 12
            + date_part('month', period_end) - date_part('month', period_start) + 1)::integer AS months_spanned
    FROM f
)
SELECT p.authority_code,
       a.nice_name AS authority_name,
       p.measure,
       p.breakdown,
       p.age_group,
       p.service_point,
       p.period_start,
       p.period_end,
       p.months_spanned,
       p.whole_months,
       (p.measure <> 'service_point_visits' OR p.whole_months) AS full_count,
       CASE WHEN p.period_end <= make_date(p.fy_year + 1, 3, 31)
            THEN p.fy_year || '-' || lpad(((p.fy_year + 1) % 100)::text, 2, '0')
       END AS financial_year,
       p.value,
       p.source,
       p.batch_id,
       p.loaded_at
FROM p
LEFT JOIN ref.authority a ON a.code = p.authority_code;

COMMENT ON VIEW core.v_measure_facts IS 'Every fact of the activity and service-point tables in one long form, at the grain the source gave (no rollup): one row per stored row and measure. The base of core.v_authority_year';
COMMENT ON COLUMN core.v_measure_facts.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.v_measure_facts.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.v_measure_facts.measure IS 'loans, visits, active_users, events, event_attendance, computer_hours, wifi_sessions, click_and_collect (authority level, Arts Council activity data); service_point_loans, service_point_visits, service_point_events, service_point_event_attendance (from core.loans, core.visits, core.events)';
COMMENT ON COLUMN core.v_measure_facts.breakdown IS 'The split the source gave: loans format, visits location, events event type, service-point loans item type, service-point visits count type; NULL when none';
COMMENT ON COLUMN core.v_measure_facts.age_group IS 'Age group as the source gave it (Adult, Under 12, 12-17, All ages audience, Unknown = only a total was given); NULL for measures without an age split';
COMMENT ON COLUMN core.v_measure_facts.service_point IS 'Service point as the source names it, for service_point_* measures; NULL for authority-level measures';
COMMENT ON COLUMN core.v_measure_facts.period_start IS 'First day of the count period (the event date for events)';
COMMENT ON COLUMN core.v_measure_facts.period_end IS 'Last day of the count period, inclusive';
COMMENT ON COLUMN core.v_measure_facts.months_spanned IS 'Calendar months the period touches (1 for a month or less within one month, 3 for a quarter, 12 for a year)';
COMMENT ON COLUMN core.v_measure_facts.whole_months IS 'True when the period runs from the first day of a month to the last day of a month';
COMMENT ON COLUMN core.v_measure_facts.full_count IS 'False for visit samples (core.visits rows over less than whole months, e.g. one week a quarter): they are never summed, see core.v_visit_samples';
COMMENT ON COLUMN core.v_measure_facts.financial_year IS 'Financial year (April to March, e.g. 2023-24) the whole period lies in; NULL when the period straddles two years (such a fact counts towards no year)';
COMMENT ON COLUMN core.v_measure_facts.value IS 'The count: loans, visits, users, events, attendees, hours, sessions or interactions (1 per event for service_point_events)';
COMMENT ON COLUMN core.v_measure_facts.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.v_measure_facts.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.v_measure_facts.loaded_at IS 'When the row was last inserted or changed';

-- ---------------------------------------------------------------------------
-- Service point x month

CREATE VIEW core.v_monthly_service_point AS
WITH monthly AS (
    SELECT authority_code, service_point, period_start AS month,
           loans, NULL::bigint AS visits, NULL::bigint AS samples, NULL::bigint AS events, NULL::bigint AS attendees
    FROM core.loans
    WHERE period_start = date_trunc('month', period_start)::date
      AND period_end = (period_start + interval '1 month - 1 day')::date
    UNION ALL
    SELECT authority_code, service_point, period_start, NULL, visits, NULL, NULL, NULL
    FROM core.visits
    WHERE period_start = date_trunc('month', period_start)::date
      AND period_end = (period_start + interval '1 month - 1 day')::date
    UNION ALL
    SELECT authority_code, service_point, date_trunc('month', period_start)::date, NULL, NULL, 1, NULL, NULL
    FROM core.visits
    WHERE NOT (period_start = date_trunc('month', period_start)::date
               AND period_end = (date_trunc('month', period_end) + interval '1 month - 1 day')::date)
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

COMMENT ON VIEW core.v_monthly_service_point IS 'Service point x calendar month: loans and visits from rows whose period is exactly that calendar month (quarterly, yearly or other periods are left out, never spread over months), events and attendees by event date. Visit samples (counts over less than a month) are not summed: only counted in visit_samples, see core.v_visit_samples';
COMMENT ON COLUMN core.v_monthly_service_point.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.v_monthly_service_point.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.v_monthly_service_point.service_point IS 'Service point as the source names it';
COMMENT ON COLUMN core.v_monthly_service_point.month IS 'First day of the calendar month';
COMMENT ON COLUMN core.v_monthly_service_point.financial_year IS 'Financial year of the month, e.g. 2023-24';
COMMENT ON COLUMN core.v_monthly_service_point.loans IS 'Loans (issues and renewals) counted over exactly this month, all item types; NULL when no monthly loans row';
COMMENT ON COLUMN core.v_monthly_service_point.visits IS 'Visits counted over exactly this month (full counts only); NULL when no monthly count';
COMMENT ON COLUMN core.v_monthly_service_point.visit_samples IS 'Visit samples (counts over less than whole months, e.g. one week) starting in this month; their visits are not in visits';
COMMENT ON COLUMN core.v_monthly_service_point.events IS 'Events held in the month (core.events rows)';
COMMENT ON COLUMN core.v_monthly_service_point.event_attendees IS 'People attending those events; NULL when no events';

CREATE VIEW core.v_visit_samples AS
SELECT v.authority_code,
       a.nice_name AS authority_name,
       v.service_point,
       v.count_type,
       v.period_start,
       v.period_end,
       date_trunc('month', v.period_start)::date AS month,
       (v.period_end - v.period_start + 1) AS days,
       v.visits,
       round(v.visits::numeric / (v.period_end - v.period_start + 1), 2) AS visits_per_day
FROM core.visits v
LEFT JOIN ref.authority a ON a.code = v.authority_code
WHERE NOT (v.period_start = date_trunc('month', v.period_start)::date
           AND v.period_end = (date_trunc('month', v.period_end) + interval '1 month - 1 day')::date);

COMMENT ON VIEW core.v_visit_samples IS 'Visit samples: core.visits rows counted over less than whole calendar months (e.g. one week every quarter). Not full counts, so never summed into months or years; compare them by visits per day';
COMMENT ON COLUMN core.v_visit_samples.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.v_visit_samples.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.v_visit_samples.service_point IS 'Service point as the source names it';
COMMENT ON COLUMN core.v_visit_samples.count_type IS 'How visits were counted, as the source says';
COMMENT ON COLUMN core.v_visit_samples.period_start IS 'First day of the sample';
COMMENT ON COLUMN core.v_visit_samples.period_end IS 'Last day of the sample, inclusive';
COMMENT ON COLUMN core.v_visit_samples.month IS 'First day of the month the sample starts in';
COMMENT ON COLUMN core.v_visit_samples.days IS 'Days in the sample, both ends included';
COMMENT ON COLUMN core.v_visit_samples.visits IS 'Visits counted in the sample';
COMMENT ON COLUMN core.v_visit_samples.visits_per_day IS 'visits / days, 2 decimals';

-- ---------------------------------------------------------------------------
-- Authority x financial year

CREATE VIEW core.v_authority_year AS
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
       t.months_reported >= 12 AS complete,
       t.fact_rows,
       o.open_points AS service_points_open,
       CASE WHEN o.open_points IS NOT NULL THEN coalesce(r.reporting_points, 0) END AS service_points_reporting,
       round(100.0 * coalesce(r.reporting_points, 0) / nullif(o.open_points, 0), 1) AS service_points_reporting_pct
FROM totals t
LEFT JOIN ref.financial_year fy ON fy.label = t.financial_year
LEFT JOIN ref.authority a ON a.code = t.authority_code
LEFT JOIN sp_open o ON t.measure LIKE 'service\_point\_%'
                   AND o.authority_code = t.authority_code AND o.financial_year = t.financial_year
LEFT JOIN sp_reporting r ON r.authority_code = t.authority_code AND r.financial_year = t.financial_year
                        AND r.measure = t.measure AND r.age_group = t.age_group;

COMMENT ON VIEW core.v_authority_year IS 'Authority x financial year (April to March) x measure x age group: totals and how complete they are. A fact counts towards a year only when its whole period lies inside it; nothing is pro-rated; visit samples are left out; active users count only over a whole year. complete = all 12 months reported';
COMMENT ON COLUMN core.v_authority_year.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.v_authority_year.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.v_authority_year.financial_year IS 'Financial year, e.g. 2023-24 (1 April 2023 to 31 March 2024)';
COMMENT ON COLUMN core.v_authority_year.fy_start IS 'First day of the financial year';
COMMENT ON COLUMN core.v_authority_year.fy_end IS 'Last day of the financial year';
COMMENT ON COLUMN core.v_authority_year.measure IS 'What is counted: loans, visits, active_users, events, event_attendance, computer_hours, wifi_sessions, click_and_collect (Arts Council activity data), or service_point_loans, service_point_visits, service_point_events, service_point_event_attendance (rolled up from the service-point tables)';
COMMENT ON COLUMN core.v_authority_year.age_group IS 'All ages = the total over every row (including Unknown); Under 12, 12-17, Adult = the rows given for that band (content age for loans, audience for events). The bands need not add up to All ages';
COMMENT ON COLUMN core.v_authority_year.value IS 'Sum of the counts of the facts in the year';
COMMENT ON COLUMN core.v_authority_year.months_reported IS 'Distinct calendar months of the year covered by the periods counted (a monthly row covers 1, a quarterly row 3, a yearly row 12), 0 to 12';
COMMENT ON COLUMN core.v_authority_year.complete IS 'True when all 12 months are reported; only complete years are compared (v_yoy, v_peer_benchmark ranks, v_bucking_trend)';
COMMENT ON COLUMN core.v_authority_year.fact_rows IS 'Stored fact rows summed';
COMMENT ON COLUMN core.v_authority_year.service_points_open IS 'service_point_* measures only: service points of the authority in the register (current versions) open at some time in the year; NULL when the register has none or for authority-level measures';
COMMENT ON COLUMN core.v_authority_year.service_points_reporting IS 'service_point_* measures only: how many of those open service points have facts counted in the year (matched by name, ignoring case and a trailing "Library")';
COMMENT ON COLUMN core.v_authority_year.service_points_reporting_pct IS 'service_points_reporting as a percentage of service_points_open, 1 decimal';

-- ---------------------------------------------------------------------------
-- Per 1,000 population

CREATE VIEW core.v_authority_per_1000 AS
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
       y.complete
FROM y
LEFT JOIN chosen c USING (authority_code, financial_year)
LEFT JOIN ref.population_band pb
       ON pb.code = y.authority_code AND pb.mid_year = c.mid_year AND pb.age_band = y.age_group;

COMMENT ON VIEW core.v_authority_per_1000 IS 'Authority x financial year x measure x age group per 1,000 residents: all-ages totals over the all-ages population, age-banded values (active users, content-age loans, audience-age events) over the population of the same band';
COMMENT ON COLUMN core.v_authority_per_1000.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.v_authority_per_1000.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.v_authority_per_1000.financial_year IS 'Financial year, e.g. 2023-24';
COMMENT ON COLUMN core.v_authority_per_1000.measure IS 'What is counted (see core.v_authority_year.measure)';
COMMENT ON COLUMN core.v_authority_per_1000.age_group IS 'All ages, Under 12, 12-17 or Adult; the population denominator is the same band';
COMMENT ON COLUMN core.v_authority_per_1000.value IS 'The year''s total (core.v_authority_year.value)';
COMMENT ON COLUMN core.v_authority_per_1000.population IS 'Residents of the authority in the age band (ref.population_band) in population_mid_year; NULL when ref.population has no estimate for the authority';
COMMENT ON COLUMN core.v_authority_per_1000.population_mid_year IS 'Mid-year of the population estimate used. Rule: for financial year YYYY-YY the mid-(YYYY+1) estimate (mid-2024 for 2023-24, as Libraries Hacked do: the latest estimate inside the year is mid-YYYY, ONS published mid-(YYYY+1) after it); when that year is not loaded for the authority, the nearest mid-year loaded (the later one on a tie)';
COMMENT ON COLUMN core.v_authority_per_1000.per_1000 IS 'value x 1,000 / population, 6 decimals; NULL without a population';
COMMENT ON COLUMN core.v_authority_per_1000.months_reported IS 'Months of the year reported (see core.v_authority_year)';
COMMENT ON COLUMN core.v_authority_per_1000.complete IS 'True when all 12 months are reported: compare only complete years';

-- ---------------------------------------------------------------------------
-- Year on year

CREATE VIEW core.v_yoy AS
WITH y AS (
    SELECT authority_code, financial_year, fy_start, measure, age_group, value
    FROM core.v_authority_year
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
           count(*) FILTER (WHERE NOT p.own) AS merged_codes,
           min(p.predecessors) AS predecessors,
           string_agg(p.authority_code, ', ' ORDER BY p.authority_code) FILTER (WHERE NOT p.own) AS merged_from,
           min(p.financial_year) AS previous_financial_year
    FROM (SELECT y.authority_code AS code, y.authority_code, true AS own, NULL::bigint AS predecessors,
                 (y.fy_start + interval '1 year')::date AS next_fy_start, y.financial_year, y.measure,
                 y.age_group, y.value
          FROM y
          UNION ALL
          SELECT mm.new_code, y.authority_code, false, mm.predecessors,
                 (y.fy_start + interval '1 year')::date, y.financial_year, y.measure, y.age_group, y.value
          FROM y JOIN merge_map mm ON mm.old_code = y.authority_code) p
    GROUP BY p.code, p.next_fy_start, p.measure, p.age_group
), paired AS (
    SELECT c.authority_code, c.financial_year, c.measure, c.age_group, c.value, p.previous_financial_year,
           CASE WHEN p.own_value IS NOT NULL THEN p.own_value
                WHEN p.merged_codes = p.predecessors THEN p.merged_value END AS previous_value,
           CASE WHEN p.own_value IS NOT NULL THEN c.authority_code
                WHEN p.merged_codes = p.predecessors THEN p.merged_from END AS previous_authority_codes
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
       round(100.0 * (p.value - p.previous_value) / nullif(p.previous_value, 0), 6) AS change_pct
FROM paired p
LEFT JOIN ref.authority a ON a.code = p.authority_code
WHERE p.previous_value IS NOT NULL;

COMMENT ON VIEW core.v_yoy IS 'Year on year: authority x financial year x measure x age group against the previous financial year, only where both years are complete (12 months reported). The previous year is the same authority code, or, when that has no complete year, the sum of its predecessors in ref.authority_successor (renames and mergers only, when every predecessor is complete; a split authority is not compared)';
COMMENT ON COLUMN core.v_yoy.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.v_yoy.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.v_yoy.financial_year IS 'Financial year, e.g. 2023-24';
COMMENT ON COLUMN core.v_yoy.previous_financial_year IS 'The financial year before, e.g. 2022-23';
COMMENT ON COLUMN core.v_yoy.measure IS 'What is counted (see core.v_authority_year.measure)';
COMMENT ON COLUMN core.v_yoy.age_group IS 'All ages, Under 12, 12-17 or Adult (see core.v_authority_year.age_group)';
COMMENT ON COLUMN core.v_yoy.value IS 'The year''s total';
COMMENT ON COLUMN core.v_yoy.previous_value IS 'The previous year''s total (summed over predecessors for a merged authority)';
COMMENT ON COLUMN core.v_yoy.previous_authority_codes IS 'GSS code(s) the previous value comes from: the authority''s own code, or its predecessors separated by ", "';
COMMENT ON COLUMN core.v_yoy.change IS 'value - previous_value';
COMMENT ON COLUMN core.v_yoy.change_pct IS 'change as a percentage of previous_value, 6 decimals; NULL when previous_value is 0';

-- ---------------------------------------------------------------------------
-- Peers

CREATE VIEW core.v_peer_benchmark AS
WITH v AS (
    SELECT authority_code, authority_name, financial_year, measure, age_group, per_1000, complete
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
            AND p.measure = s.measure AND p.age_group = s.age_group AND p.complete
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
       CASE WHEN s.complete THEN coalesce(p.peers_above, 0) + 1 END AS rank,
       CASE WHEN s.complete THEN coalesce(p.peers_reporting, 0) + 1 END AS ranked_of
FROM v s
LEFT JOIN peers p USING (authority_code, financial_year, measure, age_group);

COMMENT ON VIEW core.v_peer_benchmark IS 'Authority x financial year x measure x age group per 1,000 residents against its 15 nearest ONS statistical neighbours (ref.nearest_neighbour rank 1-15). Neighbours with an incomplete year are left out of the quartiles and the ranking; an authority with an incomplete year gets the quartiles but no rank (partial_reporter)';
COMMENT ON COLUMN core.v_peer_benchmark.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.v_peer_benchmark.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.v_peer_benchmark.financial_year IS 'Financial year, e.g. 2023-24';
COMMENT ON COLUMN core.v_peer_benchmark.measure IS 'What is counted (see core.v_authority_year.measure)';
COMMENT ON COLUMN core.v_peer_benchmark.age_group IS 'All ages, Under 12, 12-17 or Adult';
COMMENT ON COLUMN core.v_peer_benchmark.per_1000 IS 'The authority''s value per 1,000 residents (core.v_authority_per_1000)';
COMMENT ON COLUMN core.v_peer_benchmark.complete IS 'True when the authority reported all 12 months';
COMMENT ON COLUMN core.v_peer_benchmark.partial_reporter IS 'True when the authority reported fewer than 12 months: not ranked, compare with care';
COMMENT ON COLUMN core.v_peer_benchmark.peers_reporting IS 'Nearest neighbours (of the 15) with a complete year and a population for this measure';
COMMENT ON COLUMN core.v_peer_benchmark.peer_median IS 'Median per 1,000 of those neighbours (percentile_cont 0.5); NULL when none';
COMMENT ON COLUMN core.v_peer_benchmark.peer_lower_quartile IS 'Lower quartile per 1,000 of those neighbours (percentile_cont 0.25)';
COMMENT ON COLUMN core.v_peer_benchmark.peer_upper_quartile IS 'Upper quartile per 1,000 of those neighbours (percentile_cont 0.75)';
COMMENT ON COLUMN core.v_peer_benchmark.rank IS 'Rank of the authority among itself and those neighbours, 1 = highest per 1,000 (ties share a rank); NULL for a partial reporter';
COMMENT ON COLUMN core.v_peer_benchmark.ranked_of IS 'How many were ranked: the authority and its neighbours reporting; NULL for a partial reporter';

-- ---------------------------------------------------------------------------
-- Bucking the trend

CREATE VIEW core.v_bucking_trend AS
WITH y AS (
    SELECT * FROM core.v_yoy WHERE authority_code LIKE 'E%'
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

COMMENT ON VIEW core.v_bucking_trend IS 'Who is bucking the trend: authority x financial year x measure x age group, the authority''s change on the previous year against England''s. England = the sum over every English authority with complete years in both years (the rows of core.v_yoy), so like is compared with like';
COMMENT ON COLUMN core.v_bucking_trend.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.v_bucking_trend.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.v_bucking_trend.financial_year IS 'Financial year, e.g. 2023-24';
COMMENT ON COLUMN core.v_bucking_trend.measure IS 'What is counted (see core.v_authority_year.measure)';
COMMENT ON COLUMN core.v_bucking_trend.age_group IS 'All ages, Under 12, 12-17 or Adult';
COMMENT ON COLUMN core.v_bucking_trend.value IS 'The authority''s total for the year';
COMMENT ON COLUMN core.v_bucking_trend.previous_value IS 'The authority''s total for the previous year';
COMMENT ON COLUMN core.v_bucking_trend.change_pct IS 'The authority''s change on the previous year, per cent';
COMMENT ON COLUMN core.v_bucking_trend.england_change_pct IS 'England''s change on the previous year, per cent, over the authorities complete in both years';
COMMENT ON COLUMN core.v_bucking_trend.england_authorities IS 'How many authorities make up England''s change';
COMMENT ON COLUMN core.v_bucking_trend.bucking IS 'True when the authority rose while England fell';
COMMENT ON COLUMN core.v_bucking_trend.consecutive_years IS 'Years in a row, ending with this one, that the authority has bucked the trend (0 when it does not this year); a year without a comparison breaks the run';

-- ---------------------------------------------------------------------------
-- Stock turnover

CREATE VIEW core.v_stock_turnover AS
WITH loans_fy AS (
    SELECT authority_code, financial_year, breakdown AS item_type, sum(value)::bigint AS loans
    FROM core.v_measure_facts
    WHERE measure = 'service_point_loans' AND financial_year IS NOT NULL
    GROUP BY authority_code, financial_year, breakdown
), stock_fy AS (
    SELECT l.authority_code, l.financial_year, l.item_type,
           sum(s.items)::bigint AS items, max(s.count_date) AS stock_count_date,
           count(*)::integer AS stock_service_points
    FROM loans_fy l
    JOIN ref.financial_year fy ON fy.label = l.financial_year
    CROSS JOIN LATERAL (
        SELECT DISTINCT ON (st.service_point) st.items, st.count_date
        FROM core.stock st
        WHERE st.authority_code = l.authority_code AND st.item_type = l.item_type
          AND st.count_date <= fy.end_date
        ORDER BY st.service_point, st.count_date DESC) s
    GROUP BY l.authority_code, l.financial_year, l.item_type
)
SELECT l.authority_code,
       a.nice_name AS authority_name,
       l.financial_year,
       l.item_type,
       l.loans,
       s.items,
       s.stock_count_date,
       s.stock_service_points,
       round(l.loans::numeric / nullif(s.items, 0), 3) AS turnover
FROM loans_fy l
LEFT JOIN stock_fy s USING (authority_code, financial_year, item_type)
LEFT JOIN ref.authority a ON a.code = l.authority_code;

COMMENT ON VIEW core.v_stock_turnover IS 'Stock turnover: authority x item type x financial year, loans in the year (core.loans rows whose whole period lies in it) divided by items in stock (for each service point, its latest core.stock count on or before the end of the year, summed). Item types are matched as the library service names them';
COMMENT ON COLUMN core.v_stock_turnover.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.v_stock_turnover.authority_name IS 'Short name of the library authority';
COMMENT ON COLUMN core.v_stock_turnover.financial_year IS 'Financial year, e.g. 2023-24';
COMMENT ON COLUMN core.v_stock_turnover.item_type IS 'Item type as the library service categorises it';
COMMENT ON COLUMN core.v_stock_turnover.loans IS 'Loans of that item type in the year, all service points';
COMMENT ON COLUMN core.v_stock_turnover.items IS 'Items of that type in stock: each service point''s latest count on or before the year end, summed; NULL when no count';
COMMENT ON COLUMN core.v_stock_turnover.stock_count_date IS 'Latest count date used';
COMMENT ON COLUMN core.v_stock_turnover.stock_service_points IS 'Service points whose stock counts were summed';
COMMENT ON COLUMN core.v_stock_turnover.turnover IS 'loans / items, 3 decimals: times each item was lent in the year';
