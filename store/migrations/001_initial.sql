-- Yaad store, version 1.
-- Every dataset row keeps its provenance (batch_id, sheet, source_row) so that any number can be
-- traced to the cell it came from. Rows are never updated in place by an import: a newer batch
-- marks the rows it replaces with superseded_by, so a rollback can restore them exactly.

CREATE SEQUENCE IF NOT EXISTS batch_seq START 1;
CREATE SEQUENCE IF NOT EXISTS target_seq START 1;

-- Every CBS settlement (the reference list), with the authority it belongs to.
CREATE TABLE localities (
    code INTEGER PRIMARY KEY,          -- CBS locality code (סמל יישוב)
    name VARCHAR NOT NULL,
    name_en VARCHAR,
    district VARCHAR,
    sub_district VARCHAR,
    municipal_status_id INTEGER,
    authority_code INTEGER,            -- the local authority it rolls up to (NULL: none)
    population INTEGER,
    lat DOUBLE,
    lon DOUBLE,
    previous_names VARCHAR,
    merged_names VARCHAR
);

-- The ~255 local authorities goals are measured for: cities and local councils keep their CBS
-- locality code; a regional council gets 10000 + its CBS municipal status code.
CREATE TABLE authorities (
    code INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    name_en VARCHAR,
    kind VARCHAR NOT NULL,             -- city | local_council | regional_council
    district VARCHAR,
    population INTEGER,
    lat DOUBLE,
    lon DOUBLE
);

CREATE TABLE import_batches (
    batch_id INTEGER PRIMARY KEY,
    file_name VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    imported_by VARCHAR NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,           -- committed | rolled_back
    rows_per_dataset JSON,
    rolled_back_at TIMESTAMP,
    rolled_back_by VARCHAR
);

CREATE TABLE programs (
    authority_code INTEGER NOT NULL,
    locality_code INTEGER,
    program_name VARCHAR NOT NULL,
    operator VARCHAR,
    flagship BOOLEAN,
    domain VARCHAR,
    target_population VARCHAR,
    start_date DATE,
    status VARCHAR,
    new_response BOOLEAN,
    continuity_plan BOOLEAN,
    participants INTEGER,
    last_updated DATE,
    batch_id INTEGER NOT NULL,
    sheet VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    superseded_by INTEGER
);

-- One row per meeting; participants are counted, never named.
CREATE TABLE meetings (
    meeting_id VARCHAR NOT NULL,       -- stable: authority + date + type
    authority_code INTEGER NOT NULL,
    locality_code INTEGER,
    meeting_date DATE NOT NULL,
    meeting_type VARCHAR NOT NULL,
    topic VARCHAR,
    participants INTEGER,
    batch_id INTEGER NOT NULL,
    sheet VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    superseded_by INTEGER
);

-- One row per participant at a meeting: a keyed hash instead of the name, for de-duplication.
CREATE TABLE meeting_participants (
    meeting_id VARCHAR NOT NULL,
    authority_code INTEGER NOT NULL,
    person_key VARCHAR,
    organisation VARCHAR,
    sector VARCHAR,
    role VARCHAR,
    batch_id INTEGER NOT NULL,
    sheet VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    superseded_by INTEGER
);

CREATE TABLE partnerships (
    authority_code INTEGER NOT NULL,
    locality_code INTEGER,
    partnership_name VARCHAR NOT NULL,
    partners VARCHAR,
    sectors VARCHAR,
    start_date DATE,
    level VARCHAR,
    status VARCHAR,
    new_response BOOLEAN,
    batch_id INTEGER NOT NULL,
    sheet VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    superseded_by INTEGER
);

CREATE TABLE volunteers (
    authority_code INTEGER NOT NULL,
    locality_code INTEGER,
    period VARCHAR NOT NULL,           -- 2025-03 | 2025-Q1 | 2025
    period_kind VARCHAR NOT NULL,      -- month | quarter | year
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    cluster VARCHAR,
    volunteers INTEGER,
    new_volunteers INTEGER,
    hours DOUBLE,
    batch_id INTEGER NOT NULL,
    sheet VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    superseded_by INTEGER
);

CREATE TABLE trainings (
    authority_code INTEGER NOT NULL,
    locality_code INTEGER,
    training_date DATE NOT NULL,
    topic VARCHAR,
    training_kind VARCHAR NOT NULL,
    audience VARCHAR,
    participants INTEGER,
    hours DOUBLE,
    batch_id INTEGER NOT NULL,
    sheet VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    superseded_by INTEGER
);

CREATE TABLE budgets (
    authority_code INTEGER NOT NULL,
    locality_code INTEGER,
    year INTEGER NOT NULL,
    source VARCHAR NOT NULL,
    amount DOUBLE NOT NULL,
    batch_id INTEGER NOT NULL,
    sheet VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    superseded_by INTEGER
);

CREATE TABLE clusters (
    authority_code INTEGER NOT NULL,
    locality_code INTEGER,
    cluster_name VARCHAR NOT NULL,
    domain VARCHAR,
    has_coordinator BOOLEAN NOT NULL,
    has_authority_rep BOOLEAN NOT NULL,
    has_ngo_rep BOOLEAN NOT NULL,
    established DATE,
    work_plan BOOLEAN,
    status VARCHAR,
    batch_id INTEGER NOT NULL,
    sheet VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    superseded_by INTEGER
);

-- Attributes users upload (program cohort, peer group, ...), one row per attribute.
CREATE TABLE locality_attributes (
    authority_code INTEGER NOT NULL,
    attribute VARCHAR NOT NULL,
    value VARCHAR,
    batch_id INTEGER NOT NULL,
    sheet VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    superseded_by INTEGER
);

-- Target overrides, versioned: a change appends a row and closes the previous one.
-- authority_code NULL = every locality that year.
CREATE TABLE targets (
    target_id INTEGER PRIMARY KEY DEFAULT nextval('target_seq'),
    goal VARCHAR NOT NULL,
    year INTEGER NOT NULL,
    authority_code INTEGER,
    target_low DOUBLE,
    target_high DOUBLE,
    set_by VARCHAR NOT NULL,
    set_at TIMESTAMP NOT NULL,
    note VARCHAR,
    batch_id INTEGER,
    superseded_by INTEGER
);

-- Bumped by every write, so caches keyed on it are never stale.
CREATE TABLE store_meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR
);
INSERT INTO store_meta VALUES ('data_version', '0');
