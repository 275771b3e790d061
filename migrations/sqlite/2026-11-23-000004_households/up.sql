-- Settings the application keeps in the database (the data key's check value).
CREATE TABLE app_settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- A household in difficulty. Address and contact phone are encrypted
-- (AES-256-GCM); the phone is also kept as a keyed hash to find it by.
-- Until consent is recorded only the name it is known by and the region
-- are kept.
CREATE TABLE households (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ref_code TEXT NOT NULL UNIQUE,
    region TEXT NOT NULL,
    adviser TEXT,
    head_name TEXT NOT NULL,
    consent BOOLEAN NOT NULL,
    consent_by TEXT,
    consent_at TIMESTAMP,
    address_enc TEXT,
    contact_phone_enc TEXT,
    contact_phone_hash TEXT,
    profile TEXT NOT NULL DEFAULT '{}',
    identified_on DATE NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    version BIGINT NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX households_region ON households (region);
CREATE INDEX households_adviser ON households (adviser);
CREATE INDEX households_phone_hash ON households (contact_phone_hash);

CREATE TABLE members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id BIGINT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    id_number_enc TEXT,
    id_number_hash TEXT,
    phone_enc TEXT,
    phone_hash TEXT,
    relation TEXT NOT NULL,
    sex TEXT,
    birth_date DATE,
    disability_grade BIGINT NOT NULL DEFAULT 0,
    disability_type TEXT,
    health TEXT NOT NULL DEFAULT '[]',
    employment TEXT,
    student_stage TEXT,
    income_monthly REAL
);
CREATE INDEX members_household ON members (household_id, position);
CREATE INDEX members_id_number_hash ON members (id_number_hash);
CREATE INDEX members_phone_hash ON members (phone_hash);

-- One assessment on the 12-dimension needs scale; every one is kept.
CREATE TABLE assessments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id BIGINT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    assessed_on DATE NOT NULL,
    scores TEXT NOT NULL,
    total BIGINT NOT NULL,
    priority BOOLEAN NOT NULL,
    risk TEXT NOT NULL,
    suggested_type TEXT NOT NULL,
    service_type TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX assessments_household ON assessments (household_id, assessed_on);

CREATE TABLE needs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ref_code TEXT NOT NULL UNIQUE,
    household_id BIGINT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    dimension TEXT NOT NULL,
    title TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    urgency TEXT NOT NULL,
    quantity BIGINT NOT NULL DEFAULT 1,
    status TEXT NOT NULL,
    assessment_id BIGINT REFERENCES assessments(id),
    version BIGINT NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX needs_household ON needs (household_id);
CREATE INDEX needs_status_dimension ON needs (status, dimension);

-- Every status a need has had: who, when, why.
CREATE TABLE need_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    need_id BIGINT NOT NULL REFERENCES needs(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX need_events_need ON need_events (need_id, at);

-- Case notes (服务记录): home visits, calls, referrals, meetings.
CREATE TABLE case_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id BIGINT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    noted_on DATE NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX case_notes_household ON case_notes (household_id, noted_on);

-- Who saw which personal data, and when (reveals of masked values).
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    field TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_subject ON audit_log (subject);
