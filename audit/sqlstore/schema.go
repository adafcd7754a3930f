package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

func checkDialect(d string) error {
	if d != SQLite && d != Postgres {
		return fmt.Errorf("sqlstore: unknown dialect %q (want %q or %q)", d, SQLite, Postgres)
	}
	return nil
}

// Statements returns the DDL statements of the audit schema for dialect
// ("sqlite" or "postgres"), in order, each without trailing semicolon.
// They are idempotent (IF NOT EXISTS / OR REPLACE). Migrations (goose)
// run them in one transaction; see Schema for a goose-ready text.
func Statements(dialect string) []string {
	blob, big := "BLOB", "INTEGER"
	if dialect == Postgres {
		blob, big = "BYTEA", "BIGINT"
	}
	r := strings.NewReplacer("BLOB", blob, "BIGINT", big)
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS audit_heads (
  log TEXT PRIMARY KEY,
  seg TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS audit_segments (
  log TEXT NOT NULL, seg TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open','closed','dropping','dropped')),
  size BIGINT NOT NULL DEFAULT 0,
  root BLOB,
  last_ts TEXT NOT NULL DEFAULT '',
  opened_at TEXT NOT NULL, closed_at TEXT, dropped_at TEXT,
  final_checkpoint TEXT,
  PRIMARY KEY (log, seg))`,
		`CREATE TABLE IF NOT EXISTS audit_events (
  log TEXT NOT NULL, seg TEXT NOT NULL, seq BIGINT NOT NULL,
  id TEXT NOT NULL UNIQUE, ts TEXT NOT NULL, type TEXT NOT NULL,
  actor TEXT NOT NULL, subject TEXT,
  leaf BLOB NOT NULL, leaf_hash BLOB NOT NULL, root BLOB NOT NULL,
  PRIMARY KEY (log, seg, seq))`,
		`CREATE INDEX IF NOT EXISTS audit_events_subject ON audit_events (subject, ts)`,
		`CREATE INDEX IF NOT EXISTS audit_events_type ON audit_events (log, type, ts)`,
		`CREATE TABLE IF NOT EXISTS audit_hashes (
  log TEXT NOT NULL, seg TEXT NOT NULL, idx BIGINT NOT NULL, hash BLOB NOT NULL,
  PRIMARY KEY (log, seg, idx))`,
		`CREATE TABLE IF NOT EXISTS audit_checkpoints (
  log TEXT NOT NULL, seg TEXT NOT NULL, size BIGINT NOT NULL, root BLOB NOT NULL, note TEXT NOT NULL,
  signed_at TEXT NOT NULL, final INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (log, seg, size))`,
		`CREATE TABLE IF NOT EXISTS audit_checkpoint_shipments (
  log TEXT NOT NULL, seg TEXT NOT NULL, size BIGINT NOT NULL, sink TEXT NOT NULL, shipped_at TEXT NOT NULL,
  PRIMARY KEY (log, seg, size, sink))`,
		`CREATE TABLE IF NOT EXISTS audit_keys (
  kid TEXT PRIMARY KEY, kind TEXT NOT NULL, wrapped BLOB, created_at TEXT NOT NULL, destroyed_at TEXT)`,
		`CREATE TABLE IF NOT EXISTS audit_cursors (
  consumer TEXT NOT NULL, log TEXT NOT NULL, seg TEXT NOT NULL, seq BIGINT NOT NULL,
  PRIMARY KEY (consumer, log))`,
		`CREATE TABLE IF NOT EXISTS audit_alerts (
  rule TEXT NOT NULL, key TEXT NOT NULL, window_start TEXT NOT NULL, raised_at TEXT NOT NULL,
  payload TEXT NOT NULL, sent_at TEXT,
  PRIMARY KEY (rule, key, window_start))`,
	}
	for i, s := range stmts {
		stmts[i] = r.Replace(s)
	}
	if dialect == Postgres {
		stmts = append(stmts,
			`CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND (SELECT state FROM audit_segments WHERE log = OLD.log AND seg = OLD.seg) = 'dropping' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$`,
			`DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events`,
			`CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_append_only()`,
			`DROP TRIGGER IF EXISTS audit_hashes_append_only ON audit_hashes`,
			`CREATE TRIGGER audit_hashes_append_only BEFORE UPDATE OR DELETE ON audit_hashes FOR EACH ROW EXECUTE FUNCTION audit_append_only()`,
			`DROP TRIGGER IF EXISTS audit_checkpoints_append_only ON audit_checkpoints`,
			`CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION audit_append_only()`,
		)
		return stmts
	}
	for _, t := range []string{"audit_events", "audit_hashes"} {
		stmts = append(stmts,
			`CREATE TRIGGER IF NOT EXISTS `+t+`_no_update BEFORE UPDATE ON `+t+`
BEGIN SELECT RAISE(ABORT, '`+t+` is append-only'); END`,
			`CREATE TRIGGER IF NOT EXISTS `+t+`_no_delete BEFORE DELETE ON `+t+`
WHEN (SELECT state FROM audit_segments WHERE log = OLD.log AND seg = OLD.seg) IS NOT 'dropping'
BEGIN SELECT RAISE(ABORT, '`+t+` is append-only'); END`)
	}
	stmts = append(stmts,
		`CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END`,
		`CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END`)
	return stmts
}

// Schema returns the audit schema of dialect as one goose-ready SQL text:
// every statement is wrapped in "-- +goose StatementBegin/End" so that
// PL/pgSQL bodies survive goose's statement splitter. The refserver embeds
// it in its migration "-- +goose Up" section.
func Schema(dialect string) string {
	var b strings.Builder
	for _, s := range Statements(dialect) {
		b.WriteString("-- +goose StatementBegin\n")
		b.WriteString(s)
		b.WriteString(";\n-- +goose StatementEnd\n")
	}
	return b.String()
}

// CreateSchema applies Statements(dialect) to db in one transaction.
func CreateSchema(ctx context.Context, db *sql.DB, dialect string) error {
	if err := checkDialect(dialect); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: create schema: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, s := range Statements(dialect) {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("sqlstore: create schema: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: create schema: %w", err)
	}
	return nil
}
