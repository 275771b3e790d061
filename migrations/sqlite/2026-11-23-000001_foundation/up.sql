CREATE TABLE organisations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    region TEXT NOT NULL DEFAULT '',
    contact TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    organisation_id BIGINT REFERENCES organisations(id),
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE user_regions (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    region TEXT NOT NULL,
    PRIMARY KEY (user_id, region)
);

CREATE TABLE resources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ref_code TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    body TEXT NOT NULL,
    provider TEXT NOT NULL,
    organisation_id BIGINT REFERENCES organisations(id),
    region TEXT NOT NULL,
    dimensions TEXT NOT NULL,
    target_groups TEXT NOT NULL,
    eligibility TEXT,
    benefit TEXT NOT NULL,
    capacity_total BIGINT,
    capacity_remaining BIGINT,
    capacity_unit TEXT,
    valid_from DATE,
    valid_until DATE,
    apply TEXT NOT NULL,
    status TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    published_by TEXT,
    published_at TIMESTAMP,
    withdrawn_by TEXT,
    withdrawn_at TIMESTAMP
);
CREATE INDEX resources_status_kind ON resources (status, kind);
CREATE INDEX resources_organisation ON resources (organisation_id);

CREATE TABLE resource_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    resource_id BIGINT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX resource_history_resource ON resource_history (resource_id);

CREATE TABLE change_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entity TEXT NOT NULL,
    entity_ref TEXT NOT NULL,
    op TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
