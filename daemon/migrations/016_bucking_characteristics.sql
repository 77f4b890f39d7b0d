-- What the services that buck the trend have in common: for each authority
-- bucking England's trend in a measure (core.v_bucking_trend), how it differs
-- from its ONS nearest neighbours on what else the warehouse holds, each
-- figure as a ratio to the neighbours' median with the number of neighbours
-- behind it, and a note where the data are too thin to say anything.

-- ---------------------------------------------------------------------------
-- One figure per authority, financial year and characteristic

CREATE VIEW core.v_authority_characteristics AS
WITH per1000 AS MATERIALIZED (
    SELECT authority_code, financial_year, measure, per_1000, complete, outliers
    FROM core.v_authority_per_1000
    WHERE age_group = 'All ages'
), pop AS (
    -- The all-ages population for each authority and year, by the rule of
    -- core.v_authority_per_1000: the mid-(YYYY+1) estimate for YYYY-YY, else
    -- the nearest mid-year loaded, the later one on a tie. Every authority
    -- with an estimate, whether or not it has activity facts.
    SELECT DISTINCT ON (pb.code, fy.label) pb.code AS authority_code, fy.label AS financial_year,
           pb.persons AS population
    FROM ref.population_band pb
    CROSS JOIN ref.financial_year fy
    WHERE pb.age_band = 'All ages' AND pb.persons > 0
    ORDER BY pb.code, fy.label, abs(pb.mid_year - (substr(fy.label, 1, 4)::integer + 1)), pb.mid_year DESC
), quarantined AS (
    -- Outstanding quarantined records (exact repeats left out) of a dataset
    -- for the authority whose period touches the year, or with no period.
    SELECT q.dataset, q.authority_code, fy.label AS financial_year, sum(q.outstanding_records) AS records
    FROM core.v_quarantine_counts q
    JOIN ref.financial_year fy
      ON q.period_start IS NULL OR (q.period_start <= fy.end_date AND q.period_end >= fy.start_date)
    WHERE NOT q.exact_repeat AND q.outstanding_records > 0 AND q.authority_code IS NOT NULL
    GROUP BY q.dataset, q.authority_code, fy.label
), sp AS (
    -- Register service points (current versions) open at some time in the
    -- year, by the rule of core.v_authority_year; their weekly hours from the
    -- current version (the register is today's network, not the year's).
    SELECT sp.authority_code, fy.label AS financial_year,
           count(*) AS points,
           count(*) FILTER (WHERE sp.status IS DISTINCT FROM 'Closed') AS points_not_closed,
           count(*) FILTER (WHERE sp.status IS DISTINCT FROM 'Closed'
                              AND num_nonnulls(sp.monday_staffed_minutes, sp.tuesday_staffed_minutes,
                                               sp.wednesday_staffed_minutes, sp.thursday_staffed_minutes,
                                               sp.friday_staffed_minutes, sp.saturday_staffed_minutes,
                                               sp.sunday_staffed_minutes, sp.monday_unstaffed_minutes,
                                               sp.tuesday_unstaffed_minutes, sp.wednesday_unstaffed_minutes,
                                               sp.thursday_unstaffed_minutes, sp.friday_unstaffed_minutes,
                                               sp.saturday_unstaffed_minutes, sp.sunday_unstaffed_minutes) = 0)
               AS points_without_hours,
           sum(coalesce(sp.monday_staffed_minutes, 0) + coalesce(sp.tuesday_staffed_minutes, 0)
               + coalesce(sp.wednesday_staffed_minutes, 0) + coalesce(sp.thursday_staffed_minutes, 0)
               + coalesce(sp.friday_staffed_minutes, 0) + coalesce(sp.saturday_staffed_minutes, 0)
               + coalesce(sp.sunday_staffed_minutes, 0) + coalesce(sp.monday_unstaffed_minutes, 0)
               + coalesce(sp.tuesday_unstaffed_minutes, 0) + coalesce(sp.wednesday_unstaffed_minutes, 0)
               + coalesce(sp.thursday_unstaffed_minutes, 0) + coalesce(sp.friday_unstaffed_minutes, 0)
               + coalesce(sp.saturday_unstaffed_minutes, 0) + coalesce(sp.sunday_unstaffed_minutes, 0))
               FILTER (WHERE sp.status IS DISTINCT FROM 'Closed') AS minutes_per_week
    FROM core.service_points sp
    JOIN ref.financial_year fy
      ON (sp.year_opened IS NULL OR sp.year_opened <= extract(year FROM fy.end_date))
     AND (sp.year_closed IS NULL OR sp.year_closed >= extract(year FROM fy.start_date))
     AND NOT (sp.status = 'Closed' AND sp.year_closed IS NULL AND sp.valid_from::date < fy.start_date)
    WHERE sp.valid_to IS NULL
    GROUP BY sp.authority_code, fy.label
), stock AS (
    -- Each service point's latest stock count on or before the year end.
    SELECT s.authority_code, fy.label AS financial_year, count(DISTINCT s.service_point) AS points,
           sum(s.items) AS items
    FROM ref.financial_year fy
    JOIN core.stock s ON s.count_date <= fy.end_date
    WHERE s.count_date = (SELECT max(s2.count_date) FROM core.stock s2
                          WHERE s2.authority_code = s.authority_code AND s2.service_point = s.service_point
                            AND s2.count_date <= fy.end_date)
    GROUP BY s.authority_code, fy.label
), workforce AS (
    -- Paid staff headcount of the latest count period lying wholly in the year.
    SELECT DISTINCT ON (w.authority_code, fy.label) w.authority_code, fy.label AS financial_year,
           sum(w.headcount) OVER (PARTITION BY w.authority_code, fy.label, w.period_end) AS headcount
    FROM core.workforce w
    JOIN ref.financial_year fy ON w.period_start >= fy.start_date AND w.period_end <= fy.end_date
    WHERE w.role = 'Staff'
    ORDER BY w.authority_code, fy.label, w.period_end DESC
), figures (authority_code, financial_year, characteristic, value, complete, source_view) AS (
    SELECT p.authority_code, p.financial_year,
           CASE p.measure WHEN 'events' THEN 'events_per_1000'
                          WHEN 'event_attendance' THEN 'event_attendance_per_1000'
                          WHEN 'computer_hours' THEN 'computer_hours_per_1000'
                          WHEN 'wifi_sessions' THEN 'wifi_sessions_per_1000' END,
           p.per_1000, p.complete AND p.outliers = 0, 'core.v_authority_per_1000'
    FROM per1000 p
    WHERE p.measure IN ('events', 'event_attendance', 'computer_hours', 'wifi_sessions')
    UNION ALL
    SELECT s.authority_code, s.financial_year, 'opening_hours_per_1000',
           CASE WHEN s.points_not_closed > s.points_without_hours
                THEN round(1000.0 * s.minutes_per_week / (60.0 * pop.population), 6) END,
           s.points_without_hours = 0 AND coalesce(q.records, 0) = 0, 'core.v_service_points_current'
    FROM sp s
    JOIN pop USING (authority_code, financial_year)
    LEFT JOIN quarantined q ON q.dataset = 'service_points' AND q.authority_code = s.authority_code
                           AND q.financial_year = s.financial_year
    UNION ALL
    SELECT s.authority_code, s.financial_year, 'service_points_per_100000',
           round(100000.0 * s.points / pop.population, 6),
           coalesce(q.records, 0) = 0, 'core.v_service_points_current'
    FROM sp s
    JOIN pop USING (authority_code, financial_year)
    LEFT JOIN quarantined q ON q.dataset = 'service_points' AND q.authority_code = s.authority_code
                           AND q.financial_year = s.financial_year
    UNION ALL
    SELECT st.authority_code, st.financial_year, 'stock_per_capita',
           round(1.0 * st.items / pop.population, 6),
           st.points >= coalesce(s.points, 0) AND coalesce(q.records, 0) = 0, 'core.stock'
    FROM stock st
    JOIN pop USING (authority_code, financial_year)
    LEFT JOIN sp s USING (authority_code, financial_year)
    LEFT JOIN quarantined q ON q.dataset = 'stock' AND q.authority_code = st.authority_code
                           AND q.financial_year = st.financial_year
    UNION ALL
    SELECT w.authority_code, w.financial_year, 'workforce_per_1000',
           round(1000.0 * w.headcount / pop.population, 6),
           coalesce(q.records, 0) = 0, 'core.workforce'
    FROM workforce w
    JOIN pop USING (authority_code, financial_year)
    LEFT JOIN quarantined q ON q.dataset = 'workforce' AND q.authority_code = w.authority_code
                           AND q.financial_year = w.financial_year
)
SELECT f.authority_code, a.nice_name AS authority_name, f.financial_year, f.characteristic, f.value,
       f.complete, f.source_view
FROM figures f
LEFT JOIN ref.authority a ON a.code = f.authority_code;

COMMENT ON VIEW core.v_authority_characteristics IS 'Authority x financial year x characteristic: the figures core.v_bucking_characteristics compares with the nearest neighbours (opening hours a week per 1,000 residents, service points per 100,000, stock per resident, events, event attendance, computer hours and Wi-Fi sessions per 1,000, paid staff per 1,000), over the all-ages population core.v_authority_per_1000 uses; complete says whether the figure rests on complete data';
COMMENT ON COLUMN core.v_authority_characteristics.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.v_authority_characteristics.authority_name IS 'Short name of the authority (ref.authority.nice_name)';
COMMENT ON COLUMN core.v_authority_characteristics.financial_year IS 'Financial year, e.g. 2023-24';
COMMENT ON COLUMN core.v_authority_characteristics.characteristic IS 'opening_hours_per_1000, service_points_per_100000, stock_per_capita, events_per_1000, event_attendance_per_1000, computer_hours_per_1000, wifi_sessions_per_1000 or workforce_per_1000';
COMMENT ON COLUMN core.v_authority_characteristics.value IS 'The figure (6 decimals); NULL when it cannot be computed (opening hours: no open service point has hours given)';
COMMENT ON COLUMN core.v_authority_characteristics.complete IS 'False when the figure rests on incomplete data: an activity measure whose year is not complete or rests on an unconfirmed outlier; opening hours with a service point open now without hours given; stock counted at fewer service points than the register has open; an outstanding quarantined record of the dataset for the authority and year';
COMMENT ON COLUMN core.v_authority_characteristics.source_view IS 'Where the figure comes from: core.v_authority_per_1000, core.v_service_points_current (the register), core.stock or core.workforce';

-- ---------------------------------------------------------------------------
-- Bucking services against their neighbours

CREATE VIEW core.v_bucking_characteristics AS
WITH bucking AS (
    SELECT authority_code, authority_name, financial_year, measure, age_group, change_pct,
           england_change_pct, consecutive_years
    FROM core.v_bucking_trend
    WHERE bucking
), ch AS MATERIALIZED (
    SELECT * FROM core.v_authority_characteristics
    WHERE financial_year IN (SELECT financial_year FROM bucking)
), kinds (characteristic, ord) AS (
    VALUES ('opening_hours_per_1000', 1), ('service_points_per_100000', 2), ('stock_per_capita', 3),
           ('events_per_1000', 4), ('event_attendance_per_1000', 5), ('computer_hours_per_1000', 6),
           ('wifi_sessions_per_1000', 7), ('workforce_per_1000', 8)
), peers AS (
    -- Neighbours (ranks 1-15, as core.v_peer_benchmark) with the figure
    -- resting on complete data.
    SELECT nb.code AS authority_code, c.financial_year, c.characteristic, count(*)::integer AS peers,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY c.value::float8) AS median
    FROM ref.nearest_neighbour nb
    JOIN ch c ON c.authority_code = nb.neighbour_code AND c.complete AND c.value IS NOT NULL
    WHERE nb.rank <= 15
    GROUP BY nb.code, c.financial_year, c.characteristic
), joined AS (
    SELECT b.*, k.characteristic, k.ord, c.value, c.complete,
           coalesce(c.source_view, CASE WHEN k.ord BETWEEN 4 AND 7 THEN 'core.v_authority_per_1000'
                                        WHEN k.ord <= 2 THEN 'core.v_service_points_current'
                                        WHEN k.ord = 3 THEN 'core.stock' ELSE 'core.workforce' END) AS source_view,
           coalesce(p.peers, 0) AS peers, round(p.median::numeric, 6) AS peer_median
    FROM bucking b
    CROSS JOIN kinds k
    LEFT JOIN ch c ON c.authority_code = b.authority_code AND c.financial_year = b.financial_year
                  AND c.characteristic = k.characteristic
    LEFT JOIN peers p ON p.authority_code = b.authority_code AND p.financial_year = b.financial_year
                     AND p.characteristic = k.characteristic
)
SELECT authority_code,
       authority_name,
       financial_year,
       measure,
       age_group,
       change_pct,
       england_change_pct,
       consecutive_years,
       characteristic,
       source_view,
       value,
       complete AS value_complete,
       peers AS peers_with_figure,
       peer_median,
       CASE WHEN value IS NOT NULL AND complete AND peers >= 5 AND peer_median > 0
            THEN round(value / peer_median, 3) END AS ratio_to_peer_median,
       NOT (value IS NOT NULL AND complete AND peers >= 5 AND peer_median > 0) AS too_thin,
       CASE WHEN value IS NULL THEN 'too thin: the service''s own figure is missing'
            WHEN NOT complete THEN 'too thin: the service''s own figure rests on incomplete data'
            WHEN peers < 5 THEN 'too thin: ' || peers || ' of 15 neighbours have the figure (fewer than 5)'
            WHEN NOT peer_median > 0 THEN 'too thin: the neighbours'' median is 0'
       END AS note,
       ord AS characteristic_order
FROM joined;

COMMENT ON VIEW core.v_bucking_characteristics IS 'Services bucking the trend (core.v_bucking_trend, bucking) x characteristic: how the service differs from its 15 nearest ONS neighbours on opening hours, service points, stock, events and attendance, computer and Wi-Fi use and staff (core.v_authority_characteristics), as a ratio to the neighbours'' median. Too thin to say anything (ratio NULL, note says why) when the service''s own figure is missing or rests on incomplete data, fewer than 5 neighbours have a complete figure, or their median is 0';
COMMENT ON COLUMN core.v_bucking_characteristics.authority_code IS 'ONS GSS code of the bucking authority';
COMMENT ON COLUMN core.v_bucking_characteristics.authority_name IS 'Short name of the authority';
COMMENT ON COLUMN core.v_bucking_characteristics.financial_year IS 'Financial year it bucked the trend in, e.g. 2023-24';
COMMENT ON COLUMN core.v_bucking_characteristics.measure IS 'The measure it bucked the trend in (core.v_bucking_trend.measure)';
COMMENT ON COLUMN core.v_bucking_characteristics.age_group IS 'The age group of that measure';
COMMENT ON COLUMN core.v_bucking_characteristics.change_pct IS 'Its change on the previous year, per cent';
COMMENT ON COLUMN core.v_bucking_characteristics.england_change_pct IS 'England''s change, per cent';
COMMENT ON COLUMN core.v_bucking_characteristics.consecutive_years IS 'Years in a row it has bucked the trend, ending with this one';
COMMENT ON COLUMN core.v_bucking_characteristics.characteristic IS 'What is compared (core.v_authority_characteristics.characteristic)';
COMMENT ON COLUMN core.v_bucking_characteristics.source_view IS 'The view or table the figure comes from';
COMMENT ON COLUMN core.v_bucking_characteristics.value IS 'The service''s own figure; NULL when the warehouse cannot compute it';
COMMENT ON COLUMN core.v_bucking_characteristics.value_complete IS 'False when its own figure rests on incomplete data (core.v_authority_characteristics.complete); NULL when missing';
COMMENT ON COLUMN core.v_bucking_characteristics.peers_with_figure IS 'How many of its 15 nearest neighbours have the figure, resting on complete data: the n behind the median';
COMMENT ON COLUMN core.v_bucking_characteristics.peer_median IS 'Median of those neighbours'' figures (percentile_cont 0.5, 6 decimals)';
COMMENT ON COLUMN core.v_bucking_characteristics.ratio_to_peer_median IS 'value / peer_median (3 decimals): above 1 more than its neighbours; NULL when too thin';
COMMENT ON COLUMN core.v_bucking_characteristics.too_thin IS 'True when the data are too thin to say anything: own figure missing or incomplete, fewer than 5 neighbours with the figure, or a median of 0';
COMMENT ON COLUMN core.v_bucking_characteristics.note IS 'Why it is too thin, in words; NULL when the ratio stands';
COMMENT ON COLUMN core.v_bucking_characteristics.characteristic_order IS 'Display order of the characteristic (1-8)';

CREATE VIEW core.v_bucking_characteristics_summary AS
SELECT financial_year,
       measure,
       age_group,
       characteristic,
       min(characteristic_order) AS characteristic_order,
       count(*)::integer AS bucking_services,
       count(ratio_to_peer_median)::integer AS services_compared,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ratio_to_peer_median::float8)::numeric, 3) AS median_ratio,
       count(*) FILTER (WHERE ratio_to_peer_median > 1)::integer AS services_above_peers,
       count(*) FILTER (WHERE ratio_to_peer_median < 1)::integer AS services_below_peers,
       count(ratio_to_peer_median) < 5 AS too_thin
FROM core.v_bucking_characteristics
GROUP BY financial_year, measure, age_group, characteristic;

COMMENT ON VIEW core.v_bucking_characteristics_summary IS 'What the services bucking the trend in a measure and year have in common: per characteristic, the median of their ratios to their neighbours'' medians (core.v_bucking_characteristics) and how many stand above and below their neighbours. Too thin when fewer than 5 services have a ratio';
COMMENT ON COLUMN core.v_bucking_characteristics_summary.financial_year IS 'Financial year, e.g. 2023-24';
COMMENT ON COLUMN core.v_bucking_characteristics_summary.measure IS 'The measure bucked';
COMMENT ON COLUMN core.v_bucking_characteristics_summary.age_group IS 'Its age group';
COMMENT ON COLUMN core.v_bucking_characteristics_summary.characteristic IS 'What is compared';
COMMENT ON COLUMN core.v_bucking_characteristics_summary.characteristic_order IS 'Display order (1-8)';
COMMENT ON COLUMN core.v_bucking_characteristics_summary.bucking_services IS 'Services bucking the trend in the measure and year';
COMMENT ON COLUMN core.v_bucking_characteristics_summary.services_compared IS 'Of those, how many have a ratio (not too thin)';
COMMENT ON COLUMN core.v_bucking_characteristics_summary.median_ratio IS 'Median of their ratios to their neighbours'' medians (3 decimals); NULL when none has one';
COMMENT ON COLUMN core.v_bucking_characteristics_summary.services_above_peers IS 'Services with a ratio above 1';
COMMENT ON COLUMN core.v_bucking_characteristics_summary.services_below_peers IS 'Services with a ratio below 1';
COMMENT ON COLUMN core.v_bucking_characteristics_summary.too_thin IS 'True when fewer than 5 services have a ratio: too thin to say what they have in common';
