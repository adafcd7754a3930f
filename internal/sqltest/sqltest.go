package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// EnvPostgres names the environment variable that holds the PostgreSQL
// DSN for tests.
const EnvPostgres = "DIGAKIT_TEST_POSTGRES"

// EnvPostgresMark names the environment variable with a directory in
// which every PostgreSQL database opened by a test leaves a marker file.
const EnvPostgresMark = "DIGAKIT_TEST_POSTGRES_MARK"

// SkipMessage is the visible message of a skipped PostgreSQL test.
const SkipMessage = "PostgreSQL tests skipped: " + EnvPostgres + " is not set"

// SQLitePragmas are the connection settings every digakit SQLite handle
// uses (audit spec §2.7): foreign keys, busy timeout, WAL, full sync and
// immediate write transactions.
const SQLitePragmas = "_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"

// DB is an open test database with its dialect ("sqlite" or "postgres").
type DB struct {
	*sql.DB
	Dialect string
	// DSN reopens the same database (for restart tests).
	DSN string
	// Driver is the database/sql driver name for DSN.
	Driver string
}

// SQLite opens a new SQLite database file in t.TempDir with the digakit
// pragmas and a one-connection pool.
func SQLite(t testing.TB) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	dsn := "file:" + path + "?" + SQLitePragmas
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatalf("sqltest: open sqlite: %v", err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	if err := db.PingContext(context.Background()); err != nil {
		t.Fatalf("sqltest: ping sqlite: %v", err)
	}
	return &DB{DB: db, Dialect: "sqlite", DSN: dsn, Driver: "sqlite"}
}

// Postgres creates a fresh PostgreSQL database and opens it, or skips the
// test with SkipMessage when DIGAKIT_TEST_POSTGRES is not set. The
// database is dropped when the test ends.
func Postgres(t testing.TB) *DB {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skip(SkipMessage)
	}
	dsn, cleanup, err := CreateDatabase(context.Background(), base)
	if err != nil {
		t.Fatalf("sqltest: %v", err)
	}
	t.Cleanup(cleanup)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("sqltest: open postgres: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.PingContext(context.Background()); err != nil {
		t.Fatalf("sqltest: ping postgres: %v", err)
	}
	mark(t)
	return &DB{DB: db, Dialect: "postgres", DSN: dsn, Driver: "pgx"}
}

// CreateDatabase creates a uniquely named database on the server of base
// and returns its DSN and a function that drops it.
func CreateDatabase(ctx context.Context, base string) (dsn string, drop func(), err error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("bad %s DSN", EnvPostgres)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, fmt.Errorf("open postgres: %w", err)
	}
	name := "digakit_t_" + strings.ToLower(rand.Text()[:16])
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(cctx, "CREATE DATABASE "+name); err != nil {
		_ = admin.Close()
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u.Path = "/" + name
	drop = func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(dctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = admin.Close()
	}
	return u.String(), drop, nil
}

// Each runs f once per available dialect as a subtest: "sqlite" always,
// "postgres" when configured (skipped with SkipMessage otherwise).
func Each(t *testing.T, f func(t *testing.T, db *DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { f(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, Postgres(t)) })
}

func mark(t testing.TB) {
	dir := os.Getenv(EnvPostgresMark)
	if dir == "" {
		return
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	_ = os.WriteFile(filepath.Join(dir, name), nil, 0o600)
}
