-- 002: every core dataset's table, generated from the definitions in
-- common/ss_dataset.c by `shelfsync dataset-sql` and reviewed. Facts keep the
-- grain the source gives; rollups are views (004). Loans existed since 001:
-- its authority column now holds the GSS code, as in every other table.

ALTER TABLE core.loans RENAME COLUMN authority TO authority_code;
COMMENT ON COLUMN core.loans.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.loans.service_point IS 'Service point (library) as the source names it; Outreach for events outside libraries';

CREATE TABLE core.service_points (
    service_point_id bigint NOT NULL,
    authority_code text NOT NULL,
    name text NOT NULL,
    address_1 text,
    address_2 text,
    address_3 text,
    postcode text NOT NULL,
    uprn bigint,
    statutory boolean NOT NULL,
    library_type text NOT NULL,
    year_opened integer,
    year_closed integer,
    monday_staffed text,
    monday_staffed_minutes integer,
    tuesday_staffed text,
    tuesday_staffed_minutes integer,
    wednesday_staffed text,
    wednesday_staffed_minutes integer,
    thursday_staffed text,
    thursday_staffed_minutes integer,
    friday_staffed text,
    friday_staffed_minutes integer,
    saturday_staffed text,
    saturday_staffed_minutes integer,
    sunday_staffed text,
    sunday_staffed_minutes integer,
    monday_unstaffed text,
    monday_unstaffed_minutes integer,
    tuesday_unstaffed text,
    tuesday_unstaffed_minutes integer,
    wednesday_unstaffed text,
    wednesday_unstaffed_minutes integer,
    thursday_unstaffed text,
    thursday_unstaffed_minutes integer,
    friday_unstaffed text,
    friday_unstaffed_minutes integer,
    saturday_unstaffed text,
    saturday_unstaffed_minutes integer,
    sunday_unstaffed text,
    sunday_unstaffed_minutes integer,
    special_hours text,
    colocated boolean,
    colocated_with text,
    notes text,
    url text,
    email text,
    valid_from timestamptz NOT NULL DEFAULT now(),
    valid_to timestamptz,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX service_points_key ON core.service_points (authority_code, name, postcode, year_closed) NULLS NOT DISTINCT WHERE valid_to IS NULL;
CREATE INDEX service_points_versions ON core.service_points (service_point_id, valid_from);
CREATE SEQUENCE core.service_points_id_seq OWNED BY core.service_points.service_point_id;
COMMENT ON TABLE core.service_points IS 'The basic dataset: library service points with address, type, status and opening hours, with history (one row per version)';
COMMENT ON COLUMN core.service_points.service_point_id IS 'Stable id shared by every version of the same row';
COMMENT ON COLUMN core.service_points.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.service_points.name IS 'Full public name of the library';
COMMENT ON COLUMN core.service_points.address_1 IS 'Address line 1';
COMMENT ON COLUMN core.service_points.address_2 IS 'Address line 2';
COMMENT ON COLUMN core.service_points.address_3 IS 'Address line 3';
COMMENT ON COLUMN core.service_points.postcode IS 'Postcode of the building, upper case with one space. Part of the identity: a library that moves is a new service point (the register lists both while the old one is closing)';
COMMENT ON COLUMN core.service_points.uprn IS 'Unique property reference number of the building unit (schema 0.4.0)';
COMMENT ON COLUMN core.service_points.statutory IS 'Whether the library is part of the statutory service';
COMMENT ON COLUMN core.service_points.library_type IS 'LAL local authority library, LAL- unstaffed, CL commissioned, CRL community run, ICL independent community library';
COMMENT ON COLUMN core.service_points.year_opened IS 'Year the library opened';
COMMENT ON COLUMN core.service_points.year_closed IS 'Year the library closed; a closed library stays in the register. Part of the identity: a replacement library may share its predecessor''s name';
COMMENT ON COLUMN core.service_points.monday_staffed IS 'Staffed opening hours on Monday';
COMMENT ON COLUMN core.service_points.monday_staffed_minutes IS 'Minutes open in that day''s hours; NULL when the source gave none';
COMMENT ON COLUMN core.service_points.tuesday_staffed IS 'Staffed opening hours on Tuesday';
COMMENT ON COLUMN core.service_points.tuesday_staffed_minutes IS 'Minutes open in that day''s hours; NULL when the source gave none';
COMMENT ON COLUMN core.service_points.wednesday_staffed IS 'Staffed opening hours on Wednesday';
COMMENT ON COLUMN core.service_points.wednesday_staffed_minutes IS 'Minutes open in that day''s hours; NULL when the source gave none';
COMMENT ON COLUMN core.service_points.thursday_staffed IS 'Staffed opening hours on Thursday';
COMMENT ON COLUMN core.service_points.thursday_staffed_minutes IS 'Minutes open in that day''s hours; NULL when the source gave none';
COMMENT ON COLUMN core.service_points.friday_staffed IS 'Staffed opening hours on Friday';
COMMENT ON COLUMN core.service_points.friday_staffed_minutes IS 'Minutes open in that day''s hours; NULL when the source gave none';
COMMENT ON COLUMN core.service_points.saturday_staffed IS 'Staffed opening hours on Saturday';
COMMENT ON COLUMN core.service_points.saturday_staffed_minutes IS 'Minutes open in that day''s hours; NULL when the source gave none';
COMMENT ON COLUMN core.service_points.sunday_staffed IS 'Staffed opening hours on Sunday';
COMMENT ON COLUMN core.service_points.sunday_staffed_minutes IS 'Minutes open in that day''s hours; NULL when the source gave none';
COMMENT ON COLUMN core.service_points.monday_unstaffed IS 'Unstaffed opening hours on Monday';
COMMENT ON COLUMN core.service_points.monday_unstaffed_minutes IS 'Minutes open in that day''s hours; NULL when the source gave none';
COMMENT ON COLUMN core.service_points.tuesday_unstaffed IS 'Unstaffed opening hours on Tuesday';
COMMENT ON COLUMN core.service_points.tuesday_unstaffed_minutes IS 'Minutes open in that day''s hours; NULL when the source gave none';
COMMENT ON COLUMN core.service_points.wednesday_unstaffed IS 'Unstaffed opening hours on Wednesday';
COMMENT ON COLUMN core.service_points.wednesday_unstaffed_minutes IS 'Minutes open in that day''s hours; NULL when the source gave none';
COMMENT ON COLUMN core.service_points.thursday_unstaffed IS 'Unstaffed opening hours on Thursday';
COMMENT ON COLUMN core.service_points.thursday_unstaffed_minutes IS 'Minutes open in that day''s hours; NULL when the source gave none';
COMMENT ON COLUMN core.service_points.friday_unstaffed IS 'Unstaffed opening hours on Friday';
COMMENT ON COLUMN core.service_points.friday_unstaffed_minutes IS 'Minutes open in that day''s hours; NULL when the source gave none';
COMMENT ON COLUMN core.service_points.saturday_unstaffed IS 'Unstaffed opening hours on Saturday';
COMMENT ON COLUMN core.service_points.saturday_unstaffed_minutes IS 'Minutes open in that day''s hours; NULL when the source gave none';
COMMENT ON COLUMN core.service_points.sunday_unstaffed IS 'Unstaffed opening hours on Sunday';
COMMENT ON COLUMN core.service_points.sunday_unstaffed_minutes IS 'Minutes open in that day''s hours; NULL when the source gave none';
COMMENT ON COLUMN core.service_points.special_hours IS 'Changes to normal hours, e.g. 2019-12-25: X,2019-12-27: 10:00-13:00';
COMMENT ON COLUMN core.service_points.colocated IS 'Whether the library shares its building with another service';
COMMENT ON COLUMN core.service_points.colocated_with IS 'What the library shares its building with';
COMMENT ON COLUMN core.service_points.notes IS 'Notes about the library''s status or future changes';
COMMENT ON COLUMN core.service_points.url IS 'Public web page of the library';
COMMENT ON COLUMN core.service_points.email IS 'Generic e-mail address of the library or service';
COMMENT ON COLUMN core.service_points.valid_from IS 'When this version was first loaded';
COMMENT ON COLUMN core.service_points.valid_to IS 'When a later version replaced this one; NULL for the current version';
COMMENT ON COLUMN core.service_points.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.service_points.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.service_points.loaded_at IS 'When the row was last inserted or changed';

CREATE TABLE core.mobile_stops (
    authority_code text NOT NULL,
    mobile text NOT NULL,
    route text NOT NULL,
    community text,
    stop text NOT NULL,
    address text,
    postcode text,
    longitude numeric,
    latitude numeric,
    day text NOT NULL,
    stop_type text NOT NULL,
    arrival time NOT NULL,
    departure time NOT NULL,
    frequency text NOT NULL,
    start_date date NOT NULL,
    end_date date,
    exceptions text,
    timetable text,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX mobile_stops_key ON core.mobile_stops (authority_code, mobile, route, stop, day, arrival, start_date) NULLS NOT DISTINCT;
COMMENT ON TABLE core.mobile_stops IS 'Mobile library stops and their timetables';
COMMENT ON COLUMN core.mobile_stops.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.mobile_stops.mobile IS 'Name of the mobile library vehicle';
COMMENT ON COLUMN core.mobile_stops.route IS 'Route name, e.g. Route B';
COMMENT ON COLUMN core.mobile_stops.community IS 'Community (village or town) the stop serves';
COMMENT ON COLUMN core.mobile_stops.stop IS 'Name of the stop';
COMMENT ON COLUMN core.mobile_stops.address IS 'Address of the stop';
COMMENT ON COLUMN core.mobile_stops.postcode IS 'Nearest postcode to the stop';
COMMENT ON COLUMN core.mobile_stops.longitude IS 'WGS84 longitude of the stop';
COMMENT ON COLUMN core.mobile_stops.latitude IS 'WGS84 latitude of the stop';
COMMENT ON COLUMN core.mobile_stops.day IS 'Day of the week of the visit';
COMMENT ON COLUMN core.mobile_stops.stop_type IS 'Public, Private (e.g. home visits), Dynamic (request stops) or Other';
COMMENT ON COLUMN core.mobile_stops.arrival IS 'Arrival time';
COMMENT ON COLUMN core.mobile_stops.departure IS 'Departure time';
COMMENT ON COLUMN core.mobile_stops.frequency IS 'Repeat rule in iCalendar RRULE form, e.g. FREQ=WEEKLY;INTERVAL=4';
COMMENT ON COLUMN core.mobile_stops.start_date IS 'First visit of this timetable';
COMMENT ON COLUMN core.mobile_stops.end_date IS 'Last visit of this timetable, if it ends';
COMMENT ON COLUMN core.mobile_stops.exceptions IS 'Dates without a visit, comma separated';
COMMENT ON COLUMN core.mobile_stops.timetable IS 'Web page of the timetable';
COMMENT ON COLUMN core.mobile_stops.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.mobile_stops.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.mobile_stops.loaded_at IS 'When the row was last inserted or changed';

CREATE TABLE core.events (
    authority_code text NOT NULL,
    service_point text NOT NULL,
    event_date date NOT NULL,
    name text NOT NULL,
    occurrence bigint NOT NULL,
    main_outcome text NOT NULL,
    secondary_outcome text,
    attendees bigint NOT NULL,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX events_key ON core.events (authority_code, service_point, event_date, name, occurrence) NULLS NOT DISTINCT;
COMMENT ON TABLE core.events IS 'Library events, one row per event';
COMMENT ON COLUMN core.events.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.events.service_point IS 'Service point (library) as the source names it; Outreach for events outside libraries';
COMMENT ON COLUMN core.events.event_date IS 'Date the event was held';
COMMENT ON COLUMN core.events.name IS 'Name of the event (outreach events add the place)';
COMMENT ON COLUMN core.events.occurrence IS '1 for the first event with this library, date and name in the export, 2 for a second session of the same name that day, ...';
COMMENT ON COLUMN core.events.main_outcome IS 'Intended outcome, one of the seven Ambition outcomes';
COMMENT ON COLUMN core.events.secondary_outcome IS 'Optional secondary outcome';
COMMENT ON COLUMN core.events.attendees IS 'Number of people who attended';
COMMENT ON COLUMN core.events.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.events.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.events.loaded_at IS 'When the row was last inserted or changed';

CREATE TABLE core.visits (
    authority_code text NOT NULL,
    service_point text NOT NULL,
    count_type text NOT NULL,
    visits bigint NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end >= period_start)
);
CREATE UNIQUE INDEX visits_key ON core.visits (authority_code, service_point, period_start, period_end) NULLS NOT DISTINCT;
COMMENT ON TABLE core.visits IS 'Physical visits by service point and count period; a count over less than a whole month is a sample';
COMMENT ON COLUMN core.visits.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.visits.service_point IS 'Service point (library) as the source names it; Outreach for events outside libraries';
COMMENT ON COLUMN core.visits.count_type IS 'How visits were counted, as the source says (Automatic counter, Manual (one week every quarter), ...)';
COMMENT ON COLUMN core.visits.visits IS 'People entering the library in the count period';
COMMENT ON COLUMN core.visits.period_start IS 'First day of the count period';
COMMENT ON COLUMN core.visits.period_end IS 'Last day of the count period, inclusive';
COMMENT ON COLUMN core.visits.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.visits.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.visits.loaded_at IS 'When the row was last inserted or changed';

CREATE TABLE core.membership (
    authority_code text NOT NULL,
    count_date date NOT NULL,
    area_code text NOT NULL,
    members bigint,
    members_suppressed boolean NOT NULL,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX membership_key ON core.membership (authority_code, count_date, area_code) NULLS NOT DISTINCT;
COMMENT ON TABLE core.membership IS 'Active members by area of residence at a count date; small counts withheld';
COMMENT ON COLUMN core.membership.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.membership.count_date IS 'Date of the count';
COMMENT ON COLUMN core.membership.area_code IS 'ONS area (LSOA) of the members'' addresses, or Unknown';
COMMENT ON COLUMN core.membership.members IS 'Active members living in the area; NULL when withheld (see members_suppressed)';
COMMENT ON COLUMN core.membership.members_suppressed IS 'True when the count was withheld for privacy (between 1 and 4); the count is then NULL, never 0';
COMMENT ON COLUMN core.membership.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.membership.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.membership.loaded_at IS 'When the row was last inserted or changed';

CREATE TABLE core.stock (
    authority_code text NOT NULL,
    service_point text NOT NULL,
    count_date date NOT NULL,
    item_type text NOT NULL,
    items bigint NOT NULL,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX stock_key ON core.stock (authority_code, service_point, count_date, item_type) NULLS NOT DISTINCT;
COMMENT ON TABLE core.stock IS 'Items in stock by service point and item type at a count date';
COMMENT ON COLUMN core.stock.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.stock.service_point IS 'Service point (library) as the source names it; Outreach for events outside libraries';
COMMENT ON COLUMN core.stock.count_date IS 'Date of the count';
COMMENT ON COLUMN core.stock.item_type IS 'Item type as the library service categorises it';
COMMENT ON COLUMN core.stock.items IS 'Items of that type in stock';
COMMENT ON COLUMN core.stock.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.stock.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.stock.loaded_at IS 'When the row was last inserted or changed';

CREATE TABLE core.activity_loans (
    authority_code text NOT NULL,
    format text NOT NULL,
    content_age_group text NOT NULL,
    loans bigint NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end >= period_start)
);
CREATE UNIQUE INDEX activity_loans_key ON core.activity_loans (authority_code, format, content_age_group, period_start, period_end) NULLS NOT DISTINCT;
COMMENT ON TABLE core.activity_loans IS 'Loans by authority, format and content age group (Arts Council activity data)';
COMMENT ON COLUMN core.activity_loans.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.activity_loans.format IS 'Physical book, Physical audiobook, Ebook or Eaudio';
COMMENT ON COLUMN core.activity_loans.content_age_group IS 'Age group the content is for (Adult, Under 12, 12-17), Unknown when only a total was given';
COMMENT ON COLUMN core.activity_loans.loans IS 'Issues including renewals';
COMMENT ON COLUMN core.activity_loans.period_start IS 'First day of the count period';
COMMENT ON COLUMN core.activity_loans.period_end IS 'Last day of the count period, inclusive';
COMMENT ON COLUMN core.activity_loans.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.activity_loans.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.activity_loans.loaded_at IS 'When the row was last inserted or changed';

CREATE TABLE core.activity_visits (
    authority_code text NOT NULL,
    location text NOT NULL,
    visits bigint NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end >= period_start)
);
CREATE UNIQUE INDEX activity_visits_key ON core.activity_visits (authority_code, location, period_start, period_end) NULLS NOT DISTINCT;
COMMENT ON TABLE core.activity_visits IS 'Visits by authority and kind of location (Arts Council activity data)';
COMMENT ON COLUMN core.activity_visits.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.activity_visits.location IS 'Library, Shared building (co-located), Mobile library or Home delivery';
COMMENT ON COLUMN core.activity_visits.visits IS 'Visits, or interactions for mobile and home delivery';
COMMENT ON COLUMN core.activity_visits.period_start IS 'First day of the count period';
COMMENT ON COLUMN core.activity_visits.period_end IS 'Last day of the count period, inclusive';
COMMENT ON COLUMN core.activity_visits.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.activity_visits.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.activity_visits.loaded_at IS 'When the row was last inserted or changed';

CREATE TABLE core.active_users (
    authority_code text NOT NULL,
    age_group text NOT NULL,
    users bigint NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end >= period_start)
);
CREATE UNIQUE INDEX active_users_key ON core.active_users (authority_code, age_group, period_start, period_end) NULLS NOT DISTINCT;
COMMENT ON TABLE core.active_users IS 'Active users (borrowed at least one item) by authority and age group';
COMMENT ON COLUMN core.active_users.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.active_users.age_group IS 'Age group of the users; Unknown when only a total was given';
COMMENT ON COLUMN core.active_users.users IS 'People who borrowed at least one item in the period';
COMMENT ON COLUMN core.active_users.period_start IS 'First day of the count period';
COMMENT ON COLUMN core.active_users.period_end IS 'Last day of the count period, inclusive';
COMMENT ON COLUMN core.active_users.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.active_users.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.active_users.loaded_at IS 'When the row was last inserted or changed';

CREATE TABLE core.activity_events (
    authority_code text NOT NULL,
    event_type text NOT NULL,
    age_group text NOT NULL,
    events bigint NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end >= period_start)
);
CREATE UNIQUE INDEX activity_events_key ON core.activity_events (authority_code, event_type, age_group, period_start, period_end) NULLS NOT DISTINCT;
COMMENT ON TABLE core.activity_events IS 'Events by authority, type and audience age group';
COMMENT ON COLUMN core.activity_events.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.activity_events.event_type IS 'Physical or Digital';
COMMENT ON COLUMN core.activity_events.age_group IS 'Audience age group';
COMMENT ON COLUMN core.activity_events.events IS 'Events held';
COMMENT ON COLUMN core.activity_events.period_start IS 'First day of the count period';
COMMENT ON COLUMN core.activity_events.period_end IS 'Last day of the count period, inclusive';
COMMENT ON COLUMN core.activity_events.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.activity_events.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.activity_events.loaded_at IS 'When the row was last inserted or changed';

CREATE TABLE core.activity_event_attendance (
    authority_code text NOT NULL,
    event_type text NOT NULL,
    age_group text NOT NULL,
    attendees bigint NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end >= period_start)
);
CREATE UNIQUE INDEX activity_event_attendance_key ON core.activity_event_attendance (authority_code, event_type, age_group, period_start, period_end) NULLS NOT DISTINCT;
COMMENT ON TABLE core.activity_event_attendance IS 'Event attendance by authority, type and audience age group';
COMMENT ON COLUMN core.activity_event_attendance.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.activity_event_attendance.event_type IS 'Physical or Digital';
COMMENT ON COLUMN core.activity_event_attendance.age_group IS 'Audience age group';
COMMENT ON COLUMN core.activity_event_attendance.attendees IS 'People who attended events';
COMMENT ON COLUMN core.activity_event_attendance.period_start IS 'First day of the count period';
COMMENT ON COLUMN core.activity_event_attendance.period_end IS 'Last day of the count period, inclusive';
COMMENT ON COLUMN core.activity_event_attendance.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.activity_event_attendance.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.activity_event_attendance.loaded_at IS 'When the row was last inserted or changed';

CREATE TABLE core.computer_hours (
    authority_code text NOT NULL,
    hours bigint NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end >= period_start)
);
CREATE UNIQUE INDEX computer_hours_key ON core.computer_hours (authority_code, period_start, period_end) NULLS NOT DISTINCT;
COMMENT ON TABLE core.computer_hours IS 'Hours of public computer use by authority';
COMMENT ON COLUMN core.computer_hours.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.computer_hours.hours IS 'Hours of use of public computers and devices in libraries';
COMMENT ON COLUMN core.computer_hours.period_start IS 'First day of the count period';
COMMENT ON COLUMN core.computer_hours.period_end IS 'Last day of the count period, inclusive';
COMMENT ON COLUMN core.computer_hours.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.computer_hours.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.computer_hours.loaded_at IS 'When the row was last inserted or changed';

CREATE TABLE core.wifi_sessions (
    authority_code text NOT NULL,
    sessions bigint NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end >= period_start)
);
CREATE UNIQUE INDEX wifi_sessions_key ON core.wifi_sessions (authority_code, period_start, period_end) NULLS NOT DISTINCT;
COMMENT ON TABLE core.wifi_sessions IS 'Wi-Fi sessions in libraries by authority';
COMMENT ON COLUMN core.wifi_sessions.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.wifi_sessions.sessions IS 'Wi-Fi sessions in library buildings';
COMMENT ON COLUMN core.wifi_sessions.period_start IS 'First day of the count period';
COMMENT ON COLUMN core.wifi_sessions.period_end IS 'Last day of the count period, inclusive';
COMMENT ON COLUMN core.wifi_sessions.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.wifi_sessions.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.wifi_sessions.loaded_at IS 'When the row was last inserted or changed';

CREATE TABLE core.click_and_collect (
    authority_code text NOT NULL,
    interactions bigint NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end >= period_start)
);
CREATE UNIQUE INDEX click_and_collect_key ON core.click_and_collect (authority_code, period_start, period_end) NULLS NOT DISTINCT;
COMMENT ON TABLE core.click_and_collect IS 'Click and collect interactions by authority';
COMMENT ON COLUMN core.click_and_collect.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.click_and_collect.interactions IS 'Click and collect interactions';
COMMENT ON COLUMN core.click_and_collect.period_start IS 'First day of the count period';
COMMENT ON COLUMN core.click_and_collect.period_end IS 'Last day of the count period, inclusive';
COMMENT ON COLUMN core.click_and_collect.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.click_and_collect.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.click_and_collect.loaded_at IS 'When the row was last inserted or changed';

CREATE TABLE core.workforce (
    authority_code text NOT NULL,
    role text NOT NULL,
    headcount bigint NOT NULL,
    fte numeric,
    hours numeric,
    period_start date NOT NULL,
    period_end date NOT NULL,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end >= period_start)
);
CREATE UNIQUE INDEX workforce_key ON core.workforce (authority_code, role, period_start, period_end) NULLS NOT DISTINCT;
COMMENT ON TABLE core.workforce IS 'Staff and volunteers: headcount, full-time equivalents and hours';
COMMENT ON COLUMN core.workforce.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.workforce.role IS 'Staff (paid) or Volunteer';
COMMENT ON COLUMN core.workforce.headcount IS 'People';
COMMENT ON COLUMN core.workforce.fte IS 'Full-time equivalents (staff)';
COMMENT ON COLUMN core.workforce.hours IS 'Hours worked in the period';
COMMENT ON COLUMN core.workforce.period_start IS 'First day of the count period';
COMMENT ON COLUMN core.workforce.period_end IS 'Last day of the count period, inclusive';
COMMENT ON COLUMN core.workforce.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.workforce.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.workforce.loaded_at IS 'When the row was last inserted or changed';

CREATE TABLE core.finance (
    authority_code text NOT NULL,
    direction text NOT NULL,
    heading text NOT NULL,
    amount numeric NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end >= period_start)
);
CREATE UNIQUE INDEX finance_key ON core.finance (authority_code, direction, heading, period_start, period_end) NULLS NOT DISTINCT;
COMMENT ON TABLE core.finance IS 'Income and expenditure by heading and financial year';
COMMENT ON COLUMN core.finance.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.finance.direction IS 'Income or Expenditure';
COMMENT ON COLUMN core.finance.heading IS 'Budget heading, e.g. Employees, Premises, Materials, Fees and charges';
COMMENT ON COLUMN core.finance.amount IS 'Amount in pounds sterling';
COMMENT ON COLUMN core.finance.period_start IS 'First day of the count period';
COMMENT ON COLUMN core.finance.period_end IS 'Last day of the count period, inclusive';
COMMENT ON COLUMN core.finance.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.finance.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.finance.loaded_at IS 'When the row was last inserted or changed';

CREATE TABLE core.loan_transactions (
    authority_code text NOT NULL,
    transaction_id text NOT NULL,
    service_point text NOT NULL,
    issued_at timestamptz NOT NULL,
    item_type text NOT NULL,
    patron_key text,
    renewal boolean,
    source text NOT NULL,
    batch_id bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX loan_transactions_key ON core.loan_transactions (authority_code, transaction_id) NULLS NOT DISTINCT;
COMMENT ON TABLE core.loan_transactions IS 'Individual issues from library systems, with a pseudonymous patron key only';
COMMENT ON COLUMN core.loan_transactions.authority_code IS 'ONS GSS code of the library authority (names in the source are resolved through ref.authority_alias)';
COMMENT ON COLUMN core.loan_transactions.transaction_id IS 'The library system''s id of the issue';
COMMENT ON COLUMN core.loan_transactions.service_point IS 'Service point the item was issued at';
COMMENT ON COLUMN core.loan_transactions.issued_at IS 'When the item was issued (UTC)';
COMMENT ON COLUMN core.loan_transactions.item_type IS 'Item type as the library service categorises it';
COMMENT ON COLUMN core.loan_transactions.patron_key IS 'Pseudonymous patron key: HMAC-SHA256 under the library service''s own key, never the patron''s identity';
COMMENT ON COLUMN core.loan_transactions.renewal IS 'Whether the issue was a renewal';
COMMENT ON COLUMN core.loan_transactions.source IS 'Collector source that last wrote the row';
COMMENT ON COLUMN core.loan_transactions.batch_id IS 'Batch that last wrote the row (ingest.batches.batch_id)';
COMMENT ON COLUMN core.loan_transactions.loaded_at IS 'When the row was last inserted or changed';

