package sqlstore

import "strings"

// Dialects understood by the stores.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// mainSchema is the account-database part: bindings by keyed digest only
// (never the plain code) and the activation history.
const mainSchema = `
CREATE TABLE IF NOT EXISTS redemption_bindings (
    digest       {{BLOB}} PRIMARY KEY,
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
CREATE INDEX IF NOT EXISTS redemption_bindings_account ON redemption_bindings (account_id);
CREATE INDEX IF NOT EXISTS redemption_bindings_lease ON redemption_bindings (state, lease_until);
CREATE TABLE IF NOT EXISTS redemption_activations (
    id           {{ID}},
    account_id   TEXT NOT NULL,
    digest       {{BLOB}} NOT NULL,
    key_id       TEXT NOT NULL,
    at           BIGINT NOT NULL,
    access_until TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS redemption_activations_account ON redemption_activations (account_id, at);
`

// billingSchema is the billing-database part (spec B3.1, B3.3, B3.5,
// B3.8). Plain codes, XML and reports exist only sealed (*_ct columns).
const billingSchema = `
CREATE TABLE IF NOT EXISTS billing_redemptions (
    id            {{ID}},
    code_digest   {{BLOB}} NOT NULL UNIQUE,
    key_id        TEXT NOT NULL,
    code_ct       {{BLOB}} NOT NULL,
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
CREATE INDEX IF NOT EXISTS billing_redemptions_open ON billing_redemptions (state, next_check_at);
CREATE TABLE IF NOT EXISTS billing_series (
    series TEXT PRIMARY KEY,
    next   BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS billing_invoices (
    id            {{ID}},
    redemption_id BIGINT NOT NULL REFERENCES billing_redemptions (id),
    number        TEXT NOT NULL UNIQUE,
    type_code     TEXT NOT NULL CHECK (type_code IN ('380', '384')),
    test          INTEGER NOT NULL DEFAULT 0,
    state         TEXT NOT NULL,
    net_cents     BIGINT NOT NULL DEFAULT 0,
    corrects      TEXT UNIQUE,
    corrected_by  TEXT,
    reason        TEXT NOT NULL DEFAULT '',
    xml_ct        {{BLOB}},
    report_ct     {{BLOB}},
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
CREATE UNIQUE INDEX IF NOT EXISTS billing_invoices_one_380 ON billing_invoices (redemption_id) WHERE type_code = '380';
CREATE INDEX IF NOT EXISTS billing_invoices_due ON billing_invoices (state, next_at);
CREATE TABLE IF NOT EXISTS billing_protocol (
    id             {{ID}},
    ts_utc         BIGINT NOT NULL,
    ts_local       TEXT NOT NULL,
    process        TEXT NOT NULL,
    procedure      TEXT NOT NULL,
    sender_ik      TEXT NOT NULL,
    receiver_ik    TEXT NOT NULL,
    insurer_ik     TEXT NOT NULL,
    code_ct        {{BLOB}},
    code_digest    {{BLOB}} NOT NULL,
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
CREATE INDEX IF NOT EXISTS billing_protocol_local ON billing_protocol (ts_local);
CREATE INDEX IF NOT EXISTS billing_protocol_digest ON billing_protocol (code_digest);
CREATE TABLE IF NOT EXISTS billing_protocol_audit_pending (
    protocol_id BIGINT PRIMARY KEY
);
`

const sqliteTriggers = `
CREATE TRIGGER IF NOT EXISTS billing_protocol_no_update BEFORE UPDATE ON billing_protocol
BEGIN SELECT RAISE(ABORT, 'billing_protocol is append-only'); END;
--
CREATE TRIGGER IF NOT EXISTS billing_protocol_no_delete BEFORE DELETE ON billing_protocol
BEGIN SELECT RAISE(ABORT, 'billing_protocol is append-only'); END;
`

const postgresTriggers = `
CREATE OR REPLACE FUNCTION billing_protocol_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'billing_protocol is append-only'; END $$;
--
DROP TRIGGER IF EXISTS billing_protocol_no_change ON billing_protocol;
--
CREATE TRIGGER billing_protocol_no_change BEFORE UPDATE OR DELETE ON billing_protocol
FOR EACH ROW EXECUTE FUNCTION billing_protocol_append_only();
`

func expand(s, dialect string) string {
	id, blob := "INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"
	if dialect == Postgres {
		id, blob = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "BYTEA"
	}
	return strings.NewReplacer("{{ID}}", id, "{{BLOB}}", blob).Replace(s)
}

func split(s string, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// MainSchema returns the statements of the account-database tables for
// dialect ("sqlite" or "postgres"). They are idempotent (IF NOT EXISTS);
// the refserver ships them as goose migration 00200_redemption.sql.
func MainSchema(dialect string) []string { return split(expand(mainSchema, dialect), ";") }

// BillingSchema returns the statements of the billing-database tables,
// including the append-only triggers of the protocol log; the refserver
// ships them as goose migration 00200_billing.sql.
func BillingSchema(dialect string) []string {
	st := split(expand(billingSchema, dialect), ";")
	trig := sqliteTriggers
	if dialect == Postgres {
		trig = postgresTriggers
	}
	return append(st, split(trig, "--")...)
}

// GooseMigration renders the schema of role ("main" or "billing") for
// dialect as a goose SQL migration, the content of the refserver files
// 00200_redemption.sql and 00200_billing.sql (a test keeps them equal).
func GooseMigration(dialect, role string) string {
	var st, drops []string
	if role == "main" {
		st = MainSchema(dialect)
		drops = []string{"redemption_activations", "redemption_bindings"}
	} else {
		st = BillingSchema(dialect)
		drops = []string{"billing_protocol_audit_pending", "billing_protocol", "billing_invoices", "billing_series", "billing_redemptions"}
	}
	var b strings.Builder
	b.WriteString("-- Generated from kassenapi/billing/sqlstore (" + role + ", " + dialect + "); do not edit.\n")
	b.WriteString("-- +goose Up\n")
	for _, s := range st {
		b.WriteString("-- +goose StatementBegin\n" + s + ";\n-- +goose StatementEnd\n")
	}
	b.WriteString("\n-- +goose Down\n")
	if role != "main" && dialect == Postgres {
		b.WriteString("DROP FUNCTION IF EXISTS billing_protocol_append_only() CASCADE;\n")
	}
	for _, d := range drops {
		b.WriteString("DROP TABLE IF EXISTS " + d + ";\n")
	}
	return b.String()
}
