-- 003: reference data. Library authorities with their ONS GSS codes, the
-- names sources use for them, reorganisations, populations, statistical
-- nearest neighbours, financial years and code lists. Filled by
-- `shelfsync ref load` (authorities, populations, neighbours), by this
-- migration (financial years) and from the dataset definitions (code lists).
-- Depends on 001 only (schema ref).

CREATE TABLE ref.authority (
    code      text PRIMARY KEY CHECK (code ~ '^[EWSNK][0-9]{8}$'),
    name      text NOT NULL,
    nice_name text NOT NULL,
    region    text,
    nation    text,
    valid_from date,
    valid_to   date,
    CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)
);
COMMENT ON TABLE ref.authority IS 'Library authorities (the councils that run public library services), current and abolished, keyed by ONS GSS code';
COMMENT ON COLUMN ref.authority.code IS 'ONS GSS code, e.g. E09000003 (Barnet); abolished authorities keep their old code';
COMMENT ON COLUMN ref.authority.name IS 'Official name, e.g. London Borough of Barnet';
COMMENT ON COLUMN ref.authority.nice_name IS 'Short name for tables and charts, e.g. Barnet';
COMMENT ON COLUMN ref.authority.region IS 'English region (e.g. London), or the nation outside England';
COMMENT ON COLUMN ref.authority.nation IS 'England, Wales, Scotland or Northern Ireland';
COMMENT ON COLUMN ref.authority.valid_from IS 'First day the code was in use, where known (set for authorities created by a reorganisation)';
COMMENT ON COLUMN ref.authority.valid_to IS 'Last day the code was in use; NULL while the authority exists (see ref.authority_successor)';

CREATE TABLE ref.authority_successor (
    old_code   text NOT NULL REFERENCES ref.authority,
    new_code   text NOT NULL REFERENCES ref.authority,
    changed_on date NOT NULL,
    PRIMARY KEY (old_code, new_code)
);
COMMENT ON TABLE ref.authority_successor IS 'Reorganisations: which authority took over from which, e.g. Cumbria E10000006 -> Cumberland E06000063 and Westmorland and Furness E06000064 on 2023-04-01';
COMMENT ON COLUMN ref.authority_successor.old_code IS 'GSS code of the authority that ended (ref.authority.valid_to is the day before changed_on)';
COMMENT ON COLUMN ref.authority_successor.new_code IS 'GSS code of an authority that took over (all or part of) its area';
COMMENT ON COLUMN ref.authority_successor.changed_on IS 'First day the new authority was responsible';

CREATE TABLE ref.authority_alias (
    alias_key text PRIMARY KEY,
    code      text NOT NULL REFERENCES ref.authority,
    alias     text NOT NULL,
    origin    text NOT NULL
);
COMMENT ON TABLE ref.authority_alias IS 'Names sources use for authorities, by normalised key; the daemon resolves an authority name to its GSS code here. An ambiguous name (two codes) keeps the first code recorded and is reported when loaded';
COMMENT ON COLUMN ref.authority_alias.alias_key IS 'The name normalised (lower case, punctuation and "London Borough of", "Council", ... dropped): "London Borough of Barnet" and "Barnet Council" both give barnet';
COMMENT ON COLUMN ref.authority_alias.code IS 'GSS code the name stands for (ref.authority.code)';
COMMENT ON COLUMN ref.authority_alias.alias IS 'The name as first seen, before normalising';
COMMENT ON COLUMN ref.authority_alias.origin IS 'Where the name came from: authorities file name, nice name, ONS population file, curated';

CREATE TABLE ref.population (
    code     text NOT NULL,
    mid_year integer NOT NULL,
    age      integer NOT NULL CHECK (age BETWEEN 0 AND 90),
    persons  bigint NOT NULL CHECK (persons >= 0),
    PRIMARY KEY (code, mid_year, age)
);
COMMENT ON TABLE ref.population IS 'ONS mid-year population estimates by single year of age, for every geography in the ONS file (countries, regions, counties, districts, unitary authorities, London boroughs)';
COMMENT ON COLUMN ref.population.code IS 'ONS GSS code of the area (an authority, a region, E92000001 England, K04000001 England and Wales)';
COMMENT ON COLUMN ref.population.mid_year IS 'Year of the estimate, as at 30 June (2024 = mid-2024)';
COMMENT ON COLUMN ref.population.age IS 'Age in years; 90 means 90 and over';
COMMENT ON COLUMN ref.population.persons IS 'Estimated number of residents of that age';

CREATE VIEW ref.population_band AS
SELECT code, mid_year, band.age_band, sum(persons)::bigint AS persons
FROM ref.population
CROSS JOIN LATERAL (VALUES
    (CASE WHEN age < 12 THEN 'Under 12' WHEN age < 18 THEN '12-17' ELSE 'Adult' END),
    ('All ages')) AS band(age_band)
GROUP BY code, mid_year, band.age_band;
COMMENT ON VIEW ref.population_band IS 'Populations in the age bands the Arts Council data uses: Under 12 (0-11), 12-17, Adult (18 and over), All ages';
COMMENT ON COLUMN ref.population_band.code IS 'ONS GSS code of the area';
COMMENT ON COLUMN ref.population_band.mid_year IS 'Year of the estimate (mid-year)';
COMMENT ON COLUMN ref.population_band.age_band IS 'Under 12, 12-17, Adult or All ages';
COMMENT ON COLUMN ref.population_band.persons IS 'Estimated residents in the band';

CREATE TABLE ref.nearest_neighbour (
    code           text NOT NULL,
    rank           integer NOT NULL CHECK (rank >= 1),
    neighbour_code text NOT NULL,
    PRIMARY KEY (code, rank)
);
COMMENT ON TABLE ref.nearest_neighbour IS 'ONS statistical nearest neighbours of upper-tier authorities in England: the authorities most alike, for benchmarking against peers';
COMMENT ON COLUMN ref.nearest_neighbour.code IS 'GSS code of the authority';
COMMENT ON COLUMN ref.nearest_neighbour.rank IS '1 = the nearest (most similar) neighbour';
COMMENT ON COLUMN ref.nearest_neighbour.neighbour_code IS 'GSS code of the neighbour';

CREATE TABLE ref.financial_year (
    label      text PRIMARY KEY,
    start_date date NOT NULL,
    end_date   date NOT NULL,
    CHECK (end_date > start_date)
);
COMMENT ON TABLE ref.financial_year IS 'UK local-government financial years, 1 April to 31 March, 2000-01 to 2049-50';
COMMENT ON COLUMN ref.financial_year.label IS 'The year as written in returns, e.g. 2023-24';
COMMENT ON COLUMN ref.financial_year.start_date IS 'First day, 1 April';
COMMENT ON COLUMN ref.financial_year.end_date IS 'Last day, 31 March of the following year';

INSERT INTO ref.financial_year (label, start_date, end_date)
SELECT y || '-' || lpad(((y + 1) % 100)::text, 2, '0'),
       make_date(y, 4, 1),
       make_date(y + 1, 3, 31)
FROM generate_series(2000, 2049) AS y;

CREATE TABLE ref.code_list (
    list     text NOT NULL,
    code     text NOT NULL,
    position integer NOT NULL,
    PRIMARY KEY (list, code)
);
COMMENT ON TABLE ref.code_list IS 'Code lists of the core dataset (item types, age groups, event types, library types ...), from the dataset definitions';
COMMENT ON COLUMN ref.code_list.list IS 'Name of the code list, e.g. age_group';
COMMENT ON COLUMN ref.code_list.code IS 'One value of the list, spelled as stored in the facts';
COMMENT ON COLUMN ref.code_list.position IS 'Order in which to list the values (1 = first)';

CREATE TABLE ref.meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
COMMENT ON TABLE ref.meta IS 'Bookkeeping of the reference data, e.g. authorities_generation (incremented by each `shelfsync ref load authorities`, so the daemon knows to re-read its alias cache)';
COMMENT ON COLUMN ref.meta.key IS 'Setting name';
COMMENT ON COLUMN ref.meta.value IS 'Setting value, as text';
