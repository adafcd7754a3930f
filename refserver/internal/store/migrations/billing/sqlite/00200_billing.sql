-- Generated from kassenapi/billing/sqlstore (billing, sqlite); do not edit.
-- +goose Up
-- +goose StatementBegin
CREATE TABLE IF NOT EXISTS billing_redemptions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    code_digest   BLOB NOT NULL UNIQUE,
    key_id        TEXT NOT NULL,
    code_ct       BLOB NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('checking', 'validated', 'rejected', 'failed', 'unknown')),
    attempt_id    TEXT NOT NULL,
    lease_until   BIGINT NOT NULL,
    prefix        TEXT NOT NULL,
    insurer_ik    TEXT NOT NULL DEFAULT '',
    veid          TEXT NOT NULL DEFAULT '',
    service_day   TEXT NOT NULL DEFAULT '',
    checks        INTEGER NOT NULL DEFAULT 0,
    needs_review  INTEGER NOT NULL DEFAULT 0,
    next_check_at BIGINT NOT NULL DEFAULT 0,
    claimable     INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
-- +goose StatementEnd
-- +goose StatementBegin
CREATE INDEX IF NOT EXISTS billing_redemptions_open ON billing_redemptions (state, next_check_at);
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TABLE IF NOT EXISTS billing_series (
    series TEXT PRIMARY KEY,
    next   BIGINT NOT NULL
);
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TABLE IF NOT EXISTS billing_invoices (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    redemption_id BIGINT NOT NULL REFERENCES billing_redemptions (id),
    number        TEXT NOT NULL UNIQUE,
    type_code     TEXT NOT NULL CHECK (type_code IN ('380', '384')),
    test          INTEGER NOT NULL DEFAULT 0,
    state         TEXT NOT NULL,
    net_cents     BIGINT NOT NULL DEFAULT 0,
    corrects      TEXT UNIQUE,
    corrected_by  TEXT,
    reason        TEXT NOT NULL DEFAULT '',
    xml_ct        BLOB,
    report_ct     BLOB,
    verdict       TEXT NOT NULL DEFAULT '',
    messages      TEXT NOT NULL DEFAULT '',
    maybe_sent    INTEGER NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 0,
    needs_review  INTEGER NOT NULL DEFAULT 0,
    next_at       BIGINT NOT NULL DEFAULT 0,
    lease_owner   TEXT NOT NULL DEFAULT '',
    lease_until   BIGINT NOT NULL DEFAULT 0,
    dispatch      INTEGER NOT NULL DEFAULT 0,
    target        TEXT NOT NULL DEFAULT '',
    dispatched_by TEXT NOT NULL DEFAULT '',
    dispatched_at BIGINT NOT NULL DEFAULT 0,
    dispatch_ref  TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
-- +goose StatementEnd
-- +goose StatementBegin
CREATE UNIQUE INDEX IF NOT EXISTS billing_invoices_one_380 ON billing_invoices (redemption_id) WHERE type_code = '380';
-- +goose StatementEnd
-- +goose StatementBegin
CREATE INDEX IF NOT EXISTS billing_invoices_due ON billing_invoices (state, next_at);
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TABLE IF NOT EXISTS billing_protocol (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_utc         BIGINT NOT NULL,
    ts_local       TEXT NOT NULL,
    process        TEXT NOT NULL,
    procedure      TEXT NOT NULL,
    sender_ik      TEXT NOT NULL,
    receiver_ik    TEXT NOT NULL,
    insurer_ik     TEXT NOT NULL,
    code_ct        BLOB,
    code_digest    BLOB NOT NULL,
    key_id         TEXT NOT NULL,
    result         TEXT NOT NULL CHECK (result IN ('fehlerfrei', 'fehlerhaft')),
    class          TEXT NOT NULL DEFAULT '',
    fehlernummern  TEXT NOT NULL DEFAULT '',
    http_status    INTEGER NOT NULL DEFAULT 0,
    sent           INTEGER NOT NULL DEFAULT 0,
    duration_ms    BIGINT NOT NULL DEFAULT 0,
    invoice_number TEXT NOT NULL DEFAULT '',
    attempt_id     TEXT NOT NULL DEFAULT ''
);
-- +goose StatementEnd
-- +goose StatementBegin
CREATE INDEX IF NOT EXISTS billing_protocol_local ON billing_protocol (ts_local);
-- +goose StatementEnd
-- +goose StatementBegin
CREATE INDEX IF NOT EXISTS billing_protocol_digest ON billing_protocol (code_digest);
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TABLE IF NOT EXISTS billing_protocol_audit_pending (
    protocol_id BIGINT PRIMARY KEY
);
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER IF NOT EXISTS billing_protocol_no_update BEFORE UPDATE ON billing_protocol
BEGIN SELECT RAISE(ABORT, 'billing_protocol is append-only'); END;;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER IF NOT EXISTS billing_protocol_no_delete BEFORE DELETE ON billing_protocol
BEGIN SELECT RAISE(ABORT, 'billing_protocol is append-only'); END;;
-- +goose StatementEnd

-- +goose Down
DROP TABLE IF EXISTS billing_protocol_audit_pending;
DROP TABLE IF EXISTS billing_protocol;
DROP TABLE IF EXISTS billing_invoices;
DROP TABLE IF EXISTS billing_series;
DROP TABLE IF EXISTS billing_redemptions;
