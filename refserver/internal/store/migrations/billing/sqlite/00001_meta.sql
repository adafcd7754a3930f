-- +goose Up
-- digakit_meta records which role (main or billing) a database was
-- created for, and a random instance id, so that the two databases can
-- never be mixed up (see package doc).
CREATE TABLE digakit_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE digakit_meta;
