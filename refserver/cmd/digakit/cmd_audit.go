package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/sqlstore"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"golang.org/x/mod/sumdb/note"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

func init() {
	register(command{name: "audit", summary: "audit log tools: verify", run: runAudit})
}

func runAudit(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "audit", args, map[string]func(context.Context, *env, []string) int{
		"verify": runAuditVerify,
	})
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// openAuditDB opens DSN read-only: sqlite:PATH, sqlite://PATH (modernc,
// mode=ro) or postgres://… (pgx, default_transaction_read_only=on). It
// returns the handle and the sqlstore dialect.
func openAuditDB(dsn string) (*sql.DB, string, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		if path == "" {
			return nil, "", errors.New("empty SQLite path")
		}
		if _, err := os.Stat(path); err != nil {
			return nil, "", fmt.Errorf("database file: %w", err)
		}
		if strings.ContainsAny(path, "?#") {
			return nil, "", errors.New("SQLite path must not contain '?' or '#'")
		}
		db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			return nil, "", err
		}
		return db, sqlstore.SQLite, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, "", errors.New("bad PostgreSQL DSN")
		}
		q := u.Query()
		q.Set("default_transaction_read_only", "on")
		u.RawQuery = q.Encode()
		db, err := sql.Open("pgx", u.String())
		if err != nil {
			return nil, "", errors.New("bad PostgreSQL DSN")
		}
		return db, sqlstore.Postgres, nil
	default:
		return nil, "", errors.New("DSN must start with sqlite:, sqlite:// or postgres://")
	}
}

// runAuditVerify implements `digakit audit verify --db DSN [--json]
// [--vkey VKEY]... [--checkpoints DIR] [--log LOG] [--seg SEG]` (CLI.md,
// audit spec §3.9): exit 0 ok, 1 integrity failure, 2 usage or I/O error.
func runAuditVerify(ctx context.Context, e *env, args []string) int {
	fs := newFlags("audit verify")
	dsn := fs.String("db", "", "database DSN (sqlite:PATH or postgres://...)")
	asJSON := fs.Bool("json", false, "print the JSON report")
	cpDir := fs.String("checkpoints", "", "directory with the shipped (external) checkpoints")
	logName := fs.String("log", "", "verify only this log")
	seg := fs.String("seg", "", "verify only this segment")
	var vkeys multiFlag
	fs.Var(&vkeys, "vkey", "trusted checkpoint verifier key (repeatable)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return e.fail(exitUsage, "audit verify: %v", err)
	}
	if len(pos) > 0 {
		return e.fail(exitUsage, "audit verify: unexpected argument")
	}
	if *dsn == "" {
		return e.fail(exitUsage, "audit verify: --db is required")
	}
	opt := audit.VerifyOptions{Log: *logName, Seg: *seg}
	for _, k := range vkeys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return e.fail(exitUsage, "audit verify: malformed --vkey")
		}
		opt.Verifiers = append(opt.Verifiers, v)
	}
	if *cpDir != "" {
		if st, err := os.Stat(*cpDir); err != nil || !st.IsDir() {
			return e.fail(exitUsage, "audit verify: --checkpoints is not a directory")
		}
		ext, err := audit.ReadCheckpointDir(*cpDir)
		if err != nil {
			return e.fail(exitUsage, "audit verify: reading checkpoints failed")
		}
		opt.External = ext
	}
	db, dialect, err := openAuditDB(*dsn)
	if err != nil {
		return e.fail(exitUsage, "audit verify: %v", err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return e.fail(exitUsage, "audit verify: cannot open database")
	}
	st, err := sqlstore.New(db, dialect)
	if err != nil {
		return e.fail(exitUsage, "audit verify: %v", err)
	}
	rep, err := audit.Verify(ctx, st, opt)
	if err != nil {
		return e.fail(exitUsage, "audit verify: reading the audit store failed (schema missing or I/O error)")
	}
	code := exitOK
	if !rep.OK {
		code = exitInvalid
	}
	if *asJSON {
		if err := e.writeJSON(rep); err != nil {
			return exitUsage
		}
		return code
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(e.stdout, "warning: %s\n", w)
	}
	if rep.OK {
		fmt.Fprintf(e.stdout, "ok: %d events in %d segments verified\n", rep.Events, len(rep.Segments))
		return code
	}
	for _, s := range rep.Segments {
		if s.Failure != nil {
			fmt.Fprintf(e.stdout, "FAIL %s/%s seq %d: %s\n", s.Log, s.Seg, s.Failure.Seq, s.Failure.Kind)
		}
	}
	fmt.Fprintf(e.stdout, "integrity failure: first bad event %d (%s) of %d events\n", *rep.FirstBad, *rep.Reason, rep.Events)
	return code
}
