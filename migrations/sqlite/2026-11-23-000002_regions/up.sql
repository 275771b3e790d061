-- Names of region codes (administrative divisions, streets, communities),
-- managed by admins and shown beside the codes.
CREATE TABLE regions (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
