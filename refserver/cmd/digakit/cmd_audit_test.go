package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/audittest"
	"github.com/digakit/digakit/audit/sqlstore"
	"github.com/digakit/digakit/internal/sqltest"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

type verifyOut struct {
	OK       bool    `json:"ok"`
	Events   int64   `json:"events"`
	FirstBad *int64  `json:"firstBad"`
	Reason   *string `json:"reason"`
}

// auditFixture writes n events into a fresh SQLite file (with signed
// checkpoints shipped to a directory) and returns the DSN, the open
// handle and the checkpoint directory.
func auditFixture(t *testing.T, n int) (string, *sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.db")
	db, err := sql.Open("sqlite", "file:"+path+"?"+sqltest.SQLitePragmas)
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return fill(t, db, sqlstore.SQLite, n), db, filepath.Join(filepath.Dir(path), "cp")
}

func fill(t *testing.T, db *sql.DB, dialect string, n int) string {
	t.Helper()
	ctx := t.Context()
	require.NoError(t, sqlstore.CreateSchema(ctx, db, dialect))
	st, err := sqlstore.New(db, dialect)
	require.NoError(t, err)
	clk := audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	dir := ""
	var row string
	if dialect == sqlstore.SQLite {
		require.NoError(t, db.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&row))
		dir = filepath.Join(filepath.Dir(row), "cp")
	} else {
		dir = filepath.Join(t.TempDir(), "cp")
	}
	l, err := audit.New(audit.Config{Store: st, OriginPrefix: audittest.TestOriginPrefix, Signers: audittest.Signers(),
		Now: clk.Now, CheckpointSinks: []audit.CheckpointSink{audit.FileSink{Dir: dir}}})
	require.NoError(t, err)
	for i := 0; i < n; i += 50 {
		require.NoError(t, l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
			for j := i; j < min(n, i+50); j++ {
				if _, err := tx.Append(ctx, audittest.LoginFail(j%7)); err != nil {
					return err
				}
				clk.Advance(time.Millisecond)
			}
			return nil
		}))
		clk.Advance(time.Minute)
		_, err := l.Checkpoint(ctx)
		require.NoError(t, err)
	}
	if dialect == sqlstore.SQLite {
		return "sqlite:" + row
	}
	return dir
}

func runVerify(t *testing.T, args ...string) (verifyOut, string, int) {
	t.Helper()
	stdout, stderr, code := runCLI(t, "", append([]string{"audit", "verify", "--json"}, args...)...)
	var out verifyOut
	if code != exitUsage {
		require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
		require.True(t, strings.HasPrefix(strings.TrimSpace(stdout), "{\n  \"ok\":"), stdout)
	}
	return out, stderr, code
}

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	_, err := db.ExecContext(context.Background(), q, args...)
	require.NoError(t, err)
}

// The verify CLI detects every tampering kind of T9/AU-3/AU-4/AU-5 (one
// trial per kind) with the right firstBad, and is read-only.
func TestAuditVerifyCLI(t *testing.T) {
	vk := []string{"--vkey", audittest.TestVerifierKey, "--vkey", audittest.PrivacyVerifierKey()}
	attacker := func(db *sql.DB) {
		exec(t, db, `DROP TRIGGER IF EXISTS audit_events_no_update`)
		exec(t, db, `DROP TRIGGER IF EXISTS audit_events_no_delete`)
	}
	t.Run("ok", func(t *testing.T) {
		dsn, _, dir := auditFixture(t, 300)
		out, _, code := runVerify(t, append([]string{"--db", dsn, "--checkpoints", dir}, vk...)...)
		require.Equal(t, exitOK, code)
		require.True(t, out.OK)
		require.EqualValues(t, 300, out.Events)
		require.Nil(t, out.FirstBad)
		require.Nil(t, out.Reason)
		// sqlite:// form and text output
		stdout, _, code := runCLI(t, "", "audit", "verify", "--db", "sqlite://"+strings.TrimPrefix(dsn, "sqlite:"))
		require.Equal(t, exitOK, code)
		require.Contains(t, stdout, "ok: 300 events")
		require.Contains(t, stdout, "warning: no_trusted_key")
	})
	cases := []struct {
		name   string
		tamper func(db *sql.DB)
		bad    int64
		reason string
	}{
		{"flip leaf", func(db *sql.DB) {
			exec(t, db, `UPDATE audit_events SET leaf = CAST(REPLACE(CAST(leaf AS TEXT), 'bad_password', 'bad_passwore') AS BLOB) WHERE seq = 42`)
		}, 42, audit.KindLeafHashMismatch},
		{"flip leaf_hash", func(db *sql.DB) {
			exec(t, db, `UPDATE audit_events SET leaf_hash = zeroblob(32) WHERE seq = 77`)
		}, 77, audit.KindLeafHashMismatch},
		{"flip root", func(db *sql.DB) { exec(t, db, `UPDATE audit_events SET root = zeroblob(32) WHERE seq = 150`) }, 150, audit.KindRootMismatch},
		{"delete", func(db *sql.DB) { exec(t, db, `DELETE FROM audit_events WHERE seq = 200`) }, 200, audit.KindSeqGap},
		{"swap", func(db *sql.DB) {
			exec(t, db, `UPDATE audit_events SET leaf = (SELECT leaf FROM audit_events WHERE seq = 250) WHERE seq = 10`)
		}, 10, audit.KindColumnMismatch},
		{"subject column", func(db *sql.DB) {
			exec(t, db, `UPDATE audit_events SET subject = 'zzzzzzzzzzzzzzzz' WHERE seq = 99`)
		}, 99, audit.KindColumnMismatch},
		{"truncate and rewrite head", func(db *sql.DB) {
			// delete the last 50 rows and make the head and local
			// checkpoints consistent: only the shipped copy tells.
			exec(t, db, `DELETE FROM audit_events WHERE seq >= 250`)
			exec(t, db, `UPDATE audit_segments SET size = 250, root = (SELECT root FROM audit_events WHERE seq = 249)`)
			exec(t, db, `DROP TRIGGER IF EXISTS audit_checkpoints_no_delete`)
			exec(t, db, `DELETE FROM audit_checkpoints WHERE size > 250`)
		}, 250, audit.KindTruncated},
		{"rewrite without key", func(db *sql.DB) {
			exec(t, db, `DROP TRIGGER IF EXISTS audit_checkpoints_no_update`)
			exec(t, db, `UPDATE audit_checkpoints SET note = REPLACE(note, '`+"\u2014"+` audit.example-diga.de/security ', '`+"\u2014"+` audit.example-diga.de/security AAAA') WHERE size = 100`)
		}, 0, audit.KindSignatureInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dsn, db, dir := auditFixture(t, 300)
			attacker(db)
			tc.tamper(db)
			out, _, code := runVerify(t, append([]string{"--db", dsn, "--checkpoints", dir}, vk...)...)
			require.Equal(t, exitInvalid, code)
			require.False(t, out.OK)
			require.NotNil(t, out.FirstBad)
			require.Equal(t, tc.bad, *out.FirstBad)
			require.Equal(t, tc.reason, *out.Reason)
		})
	}
	t.Run("truncation without external checkpoints", func(t *testing.T) {
		dsn, db, _ := auditFixture(t, 300)
		attacker(db)
		cases[6].tamper(db)
		out, _, code := runVerify(t, append([]string{"--db", dsn}, vk...)...)
		require.Equal(t, exitOK, code, "undetectable without the shipped copy (AU-4)")
		require.True(t, out.OK)
		stdout, _, _ := runCLI(t, "", "audit", "verify", "--db", dsn)
		require.Contains(t, stdout, "warning: no_external_evidence")
	})
	t.Run("wrong key", func(t *testing.T) {
		dsn, _, _ := auditFixture(t, 60)
		_, vkOther, err := noteKey()
		require.NoError(t, err)
		out, _, code := runVerify(t, "--db", dsn, "--vkey", vkOther)
		require.Equal(t, exitInvalid, code)
		require.Equal(t, audit.KindSignatureInvalid, *out.Reason)
	})
	t.Run("read-only", func(t *testing.T) {
		dsn, db, _ := auditFixture(t, 60)
		var before int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM audit_events`).Scan(&before))
		_, _, code := runVerify(t, "--db", dsn)
		require.Equal(t, exitOK, code)
		var after int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM audit_events`).Scan(&after))
		require.Equal(t, before, after)
	})
	t.Run("postgres", func(t *testing.T) {
		pg := sqltest.Postgres(t)
		dir := fill(t, pg.DB, sqlstore.Postgres, 120)
		out, _, code := runVerify(t, append([]string{"--db", pg.DSN, "--checkpoints", dir}, vk...)...)
		require.Equal(t, exitOK, code)
		require.EqualValues(t, 120, out.Events)
		exec(t, pg.DB, `DROP TRIGGER audit_events_append_only ON audit_events`)
		exec(t, pg.DB, `DELETE FROM audit_events WHERE seq = 33`)
		out, _, code = runVerify(t, append([]string{"--db", pg.DSN, "--checkpoints", dir}, vk...)...)
		require.Equal(t, exitInvalid, code)
		require.Equal(t, int64(33), *out.FirstBad)
	})
}

func TestAuditVerifyUsage(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.db")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{"no db", []string{"audit", "verify"}, "--db is required"},
		{"bad dsn", []string{"audit", "verify", "--db", "mysql://x"}, "DSN must start"},
		{"missing file", []string{"audit", "verify", "--db", "sqlite:/nonexistent/x.db"}, "database file"},
		{"no schema", []string{"audit", "verify", "--db", "sqlite:" + empty}, "reading the audit store failed"},
		{"bad vkey", []string{"audit", "verify", "--db", "sqlite:" + empty, "--vkey", "nonsense"}, "malformed --vkey"},
		{"bad flag", []string{"audit", "verify", "--nope"}, "flag provided but not defined"},
		{"no subcommand", []string{"audit"}, "missing subcommand"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, "", tc.args...)
			require.Equal(t, exitUsage, code)
			require.Contains(t, stderr, tc.err)
		})
	}
}

func noteKey() (string, string, error) {
	return note.GenerateKey(rand.Reader, "audit.example-diga.de/security")
}

// --log/--seg restrict the scope; the text report names the failing
// segment and kind.
func TestAuditVerifyScopeAndText(t *testing.T) {
	dsn, db, _ := auditFixture(t, 100)
	exec(t, db, `DROP TRIGGER IF EXISTS audit_events_no_update`)
	exec(t, db, `UPDATE audit_events SET root = zeroblob(32) WHERE seq = 7`)
	stdout, _, code := runCLI(t, "", "audit", "verify", "--db", dsn)
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stdout, "FAIL security/2026-01 seq 7: root_mismatch")
	require.Contains(t, stdout, "first bad event 7 (root_mismatch)")
	out, _, code := runVerify(t, "--db", dsn, "--log", "privacy")
	require.Equal(t, exitOK, code)
	require.Zero(t, out.Events)
	out, _, code = runVerify(t, "--db", dsn, "--seg", "2026-01")
	require.Equal(t, exitInvalid, code)
	require.EqualValues(t, 7, *out.FirstBad)
}
