package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Dialect names the SQL dialect of a database.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Role says which of the server's two databases a handle is.
type Role string

// The two database roles.
const (
	RoleMain    Role = "main"
	RoleBilling Role = "billing"
)

// SQLitePragmas are appended to every SQLite DSN (audit spec §2.7).
const SQLitePragmas = "_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"

// Errors returned by ParseDSN, Open and Migrate.
var (
	// ErrUnknownScheme: the DSN's scheme is neither sqlite nor postgres.
	ErrUnknownScheme = errors.New("store: unknown DSN scheme (want sqlite:PATH or postgres://…)")
	// ErrInlinePassword: a PostgreSQL DSN carries a password.
	ErrInlinePassword = errors.New("store: password in DSN (use PGPASSFILE or a passfile parameter)")
	// ErrSameDatabase: the handle belongs to the other role, i.e. the main
	// and billing DSNs name the same database.
	ErrSameDatabase = errors.New("store: main and billing DSNs name the same database")
)

//go:embed migrations
var migrations embed.FS

// DSN is a parsed database setting.
type DSN struct {
	Dialect Dialect
	// Path is the SQLite file path (SQLite only).
	Path string
	// ConnString is the PostgreSQL connection URL (PostgreSQL only).
	ConnString string
}

// Redacted returns the DSN for messages: the SQLite path, or the
// PostgreSQL URL without user info and parameters.
func (d DSN) Redacted() string {
	if d.Dialect == SQLite {
		return "sqlite:" + d.Path
	}
	u, err := url.Parse(d.ConnString)
	if err != nil {
		return "postgres://…"
	}
	return "postgres://" + u.Host + u.Path
}

// ParseDSN parses a database setting. It accepts sqlite:PATH,
// sqlite://PATH, sqlite:///abs/path, postgres://… and postgresql://….
//
// REQ: TR03161-3:O.Cryp_1
func ParseDSN(s string) (DSN, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return DSN{}, ErrUnknownScheme
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		// sqlite://rel/path or sqlite:///abs/path
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return DSN{}, errors.New("store: sqlite DSN without a path")
		}
		if strings.ContainsAny(path, "?#") {
			return DSN{}, errors.New("store: sqlite DSN must not carry parameters (the store sets them)")
		}
		return DSN{Dialect: SQLite, Path: filepath.Clean(path)}, nil
	case "postgres", "postgresql":
		u, err := url.Parse(s)
		if err != nil {
			return DSN{}, errors.New("store: malformed postgres DSN")
		}
		if _, has := u.User.Password(); has || u.Query().Has("password") {
			return DSN{}, ErrInlinePassword
		}
		return DSN{Dialect: Postgres, ConnString: s}, nil
	}
	return DSN{}, ErrUnknownScheme
}

// DB is an open database handle with its dialect and role.
type DB struct {
	*sql.DB
	Dialect Dialect
	Role    Role
	// Pool is the pgx pool behind DB on PostgreSQL (nil on SQLite); River's
	// riverpgxv5 driver runs on it.
	Pool *pgxpool.Pool
	dsn  DSN
}

// DSN returns the setting the handle was opened from.
func (db *DB) DSN() DSN { return db.dsn }

// Open opens the database of role named by dsn and checks that it can be
// reached. It does not migrate.
func Open(ctx context.Context, dsn string, role Role) (*DB, error) {
	d, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	switch d.Dialect {
	case SQLite:
		if err := os.MkdirAll(filepath.Dir(d.Path), 0o700); err != nil {
			return nil, fmt.Errorf("store: %s database directory: %w", role, pathErr(err))
		}
		db, err := sql.Open("sqlite", "file:"+d.Path+"?"+SQLitePragmas)
		if err != nil {
			return nil, fmt.Errorf("store: open %s database: %w", role, err)
		}
		// One connection: SQLite has one writer, River's SQLite driver
		// recommends it, and it makes _txlock=immediate serialise writes
		// without SQLITE_BUSY storms.
		db.SetMaxOpenConns(1)
		db.SetConnMaxIdleTime(0)
		if err := ping(ctx, db); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("store: %s database %s: %w", role, d.Redacted(), err)
		}
		return &DB{DB: db, Dialect: SQLite, Role: role, dsn: d}, nil
	default:
		cfg, err := pgxpool.ParseConfig(d.ConnString)
		if err != nil {
			return nil, fmt.Errorf("store: %s database: malformed postgres DSN", role)
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("store: %s database %s: %w", role, d.Redacted(), err)
		}
		db := stdlib.OpenDBFromPool(pool)
		if err := ping(ctx, db); err != nil {
			_ = db.Close()
			pool.Close()
			return nil, fmt.Errorf("store: %s database %s: %w", role, d.Redacted(), err)
		}
		return &DB{DB: db, Dialect: Postgres, Role: role, Pool: pool, dsn: d}, nil
	}
}

// Close closes the handle and, on PostgreSQL, its pool.
func (db *DB) Close() error {
	err := db.DB.Close()
	if db.Pool != nil {
		db.Pool.Close()
	}
	return err
}

func ping(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// Migrate applies the embedded migrations of the handle's role and
// dialect, plus extra Go migrations (library schemas such as the audit
// store's), and then checks the database's recorded role. It is safe to
// call on every start; concurrent starts on PostgreSQL are serialised by
// goose's session lock.
func (db *DB) Migrate(ctx context.Context, extra ...*goose.Migration) error {
	p, err := db.provider(extra...)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate %s database: %w", db.Role, err)
	}
	return db.checkRole(ctx)
}

// Pending reports whether migrations are outstanding (the readiness check
// "migrations").
func (db *DB) Pending(ctx context.Context, extra ...*goose.Migration) (bool, error) {
	p, err := db.provider(extra...)
	if err != nil {
		return false, err
	}
	return p.HasPending(ctx)
}

// Version returns the applied migration version.
func (db *DB) Version(ctx context.Context) (int64, error) {
	p, err := db.provider()
	if err != nil {
		return 0, err
	}
	return p.GetDBVersion(ctx)
}

func (db *DB) provider(extra ...*goose.Migration) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+string(db.Role)+"/"+string(db.Dialect))
	if err != nil {
		return nil, err
	}
	d := goose.DialectSQLite3
	if db.Dialect == Postgres {
		d = goose.DialectPostgres
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if len(extra) > 0 {
		opts = append(opts, goose.WithGoMigrations(extra...))
	}
	return goose.NewProvider(d, db.DB, sub, opts...)
}

// checkRole records the role on first use and refuses a database that was
// created for the other role.
//
// REQ: kassenapi-spec:B3.1
func (db *DB) checkRole(ctx context.Context) error {
	id := rand.Text()
	if _, err := db.ExecContext(ctx,
		`INSERT INTO digakit_meta (key, value) VALUES ('role', $1) ON CONFLICT (key) DO NOTHING`, string(db.Role)); err != nil {
		return fmt.Errorf("store: record role: %w", err)
	}
	if _, err := db.ExecContext(ctx,
		`INSERT INTO digakit_meta (key, value) VALUES ('instance', $1) ON CONFLICT (key) DO NOTHING`, id); err != nil {
		return fmt.Errorf("store: record instance: %w", err)
	}
	var got string
	if err := db.QueryRowContext(ctx, `SELECT value FROM digakit_meta WHERE key = 'role'`).Scan(&got); err != nil {
		return fmt.Errorf("store: read role: %w", err)
	}
	if got != string(db.Role) {
		return ErrSameDatabase
	}
	return nil
}

// Instance returns the random id recorded when the database was first
// migrated; two handles on one database report the same id.
func (db *DB) Instance(ctx context.Context) (string, error) {
	var id string
	err := db.QueryRowContext(ctx, `SELECT value FROM digakit_meta WHERE key = 'instance'`).Scan(&id)
	return id, err
}

// Ping runs one query on the handle (the readiness checks "db" and
// "billing_db").
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}
