package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/digakit/digakit/internal/sqltest"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		in      string
		dialect Dialect
		path    string
		err     error
	}{
		{in: "sqlite:data/x.db", dialect: SQLite, path: "data/x.db"},
		{in: "sqlite://data/x.db", dialect: SQLite, path: "data/x.db"},
		{in: "sqlite:///abs/x.db", dialect: SQLite, path: "/abs/x.db"},
		{in: "sqlite:/abs/x.db", dialect: SQLite, path: "/abs/x.db"},
		{in: "postgres://u@h:5432/db?sslmode=verify-full", dialect: Postgres},
		{in: "postgresql://h/db", dialect: Postgres},
		{in: "mysql://h/db", err: ErrUnknownScheme},
		{in: "just-a-path.db", err: ErrUnknownScheme},
		{in: "", err: ErrUnknownScheme},
		{in: "postgres://u:secret@h/db", err: ErrInlinePassword},
		{in: "postgres://u@h/db?password=secret", err: ErrInlinePassword},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := ParseDSN(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Dialect != tt.dialect || d.Path != tt.path {
				t.Fatalf("got %+v, want dialect %s path %q", d, tt.dialect, tt.path)
			}
		})
	}
	for _, bad := range []string{"sqlite:", "sqlite:x.db?_pragma=foo"} {
		if _, err := ParseDSN(bad); err == nil {
			t.Errorf("ParseDSN(%q) accepted", bad)
		}
	}
}

func TestRedactedHidesUserAndParams(t *testing.T) {
	d, err := ParseDSN("postgres://alice@db.example:5432/digakit?passfile=/run/pw&sslmode=verify-full")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Redacted(), "postgres://db.example:5432/digakit"; got != want {
		t.Fatalf("Redacted = %q, want %q", got, want)
	}
}

// dsnPair returns DSNs of two fresh, separate databases of one dialect.
func dsnPair(t *testing.T, dialect Dialect) (main, billing string) {
	t.Helper()
	if dialect == SQLite {
		dir := t.TempDir()
		return "sqlite:" + filepath.Join(dir, "digakit.db"), "sqlite:" + filepath.Join(dir, "billing.db")
	}
	base := os.Getenv(sqltest.EnvPostgres)
	if base == "" {
		t.Skip(sqltest.SkipMessage)
	}
	var dsns [2]string
	for i := range dsns {
		dsn, drop, err := sqltest.CreateDatabase(t.Context(), base)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(drop)
		dsns[i] = dsn
	}
	markPostgres(t)
	return dsns[0], dsns[1]
}

func markPostgres(t *testing.T) {
	if dir := os.Getenv(sqltest.EnvPostgresMark); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, filepath.Base(t.Name())+"-store"), nil, 0o600)
	}
}

func eachDialect(t *testing.T, f func(t *testing.T, d Dialect)) {
	for _, d := range []Dialect{SQLite, Postgres} {
		t.Run(string(d), func(t *testing.T) { f(t, d) })
	}
}

func TestMigrationsAndSeparation(t *testing.T) {
	eachDialect(t, func(t *testing.T, d Dialect) {
		ctx := t.Context()
		mainDSN, billingDSN := dsnPair(t, d)
		mdb, err := Open(ctx, mainDSN, RoleMain)
		if err != nil {
			t.Fatal(err)
		}
		defer mdb.Close()
		bdb, err := Open(ctx, billingDSN, RoleBilling)
		if err != nil {
			t.Fatal(err)
		}
		defer bdb.Close()
		for _, db := range []*DB{mdb, bdb} {
			if db.Dialect != d {
				t.Fatalf("dialect = %s, want %s", db.Dialect, d)
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("migrate %s: %v", db.Role, err)
			}
			// Applying again is a no-op.
			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("second migrate %s: %v", db.Role, err)
			}
			pending, err := db.Pending(ctx)
			if err != nil || pending {
				t.Fatalf("pending = %v, %v after migrate", pending, err)
			}
			if v, err := db.Version(ctx); err != nil || v < 1 {
				t.Fatalf("version = %d, %v", v, err)
			}
			if err := db.Ping(ctx); err != nil {
				t.Fatal(err)
			}
		}
		// A row written through the main handle is not visible through
		// the billing handle.
		if _, err := mdb.ExecContext(ctx, `INSERT INTO digakit_meta (key, value) VALUES ('probe', 'main-only')`); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := bdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM digakit_meta WHERE key = 'probe'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("billing handle sees %d rows written through the main handle", n)
		}
		mi, _ := mdb.Instance(ctx)
		bi, _ := bdb.Instance(ctx)
		if mi == "" || mi == bi {
			t.Fatalf("instance ids %q and %q: databases not separate", mi, bi)
		}
		// Opening the main database as billing is refused.
		wrong, err := Open(ctx, mainDSN, RoleBilling)
		if err != nil {
			t.Fatal(err)
		}
		defer wrong.Close()
		if err := wrong.Migrate(ctx); !errors.Is(err, ErrSameDatabase) {
			t.Fatalf("migrate main DB as billing: err = %v, want ErrSameDatabase", err)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A data directory below a regular file cannot be created, even as root.
	if _, err := Open(ctx, "sqlite:"+filepath.Join(file, "sub", "x.db"), RoleMain); err == nil {
		t.Fatal("Open below a regular file succeeded")
	}
	if _, err := Open(ctx, "redis://localhost", RoleMain); !errors.Is(err, ErrUnknownScheme) {
		t.Fatalf("err = %v, want ErrUnknownScheme", err)
	}
}
