-- Generated from kassenapi/billing/sqlstore (main, sqlite); do not edit.
-- +goose Up
-- +goose StatementBegin
CREATE TABLE IF NOT EXISTS redemption_bindings (
    digest       BLOB PRIMARY KEY,
    key_id       TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'active', 'revoked')),
    attempt_id   TEXT NOT NULL,
    lease_until  BIGINT NOT NULL,
    activations  INTEGER NOT NULL DEFAULT 0,
    first_at     BIGINT NOT NULL DEFAULT 0,
    last_at      BIGINT NOT NULL DEFAULT 0,
    access_until TEXT NOT NULL DEFAULT ''
);
-- +goose StatementEnd
-- +goose StatementBegin
CREATE INDEX IF NOT EXISTS redemption_bindings_account ON redemption_bindings (account_id);
-- +goose StatementEnd
-- +goose StatementBegin
CREATE INDEX IF NOT EXISTS redemption_bindings_lease ON redemption_bindings (state, lease_until);
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TABLE IF NOT EXISTS redemption_activations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   TEXT NOT NULL,
    digest       BLOB NOT NULL,
    key_id       TEXT NOT NULL,
    at           BIGINT NOT NULL,
    access_until TEXT NOT NULL
);
-- +goose StatementEnd
-- +goose StatementBegin
CREATE INDEX IF NOT EXISTS redemption_activations_account ON redemption_activations (account_id, at);
-- +goose StatementEnd

-- +goose Down
DROP TABLE IF EXISTS redemption_activations;
DROP TABLE IF EXISTS redemption_bindings;
