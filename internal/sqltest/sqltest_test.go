package sqltest

import "testing"

func TestEachOpensWorkingDatabases(t *testing.T) {
	Each(t, func(t *testing.T, db *DB) {
		if _, err := db.ExecContext(t.Context(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(t.Context(), "INSERT INTO t (id, v) VALUES ($1, $2)", 1, "x"); err != nil {
			t.Fatal(err)
		}
		var v string
		if err := db.QueryRowContext(t.Context(), "SELECT v FROM t WHERE id = $1", 1).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != "x" {
			t.Fatalf("v = %q, want x", v)
		}
	})
}
