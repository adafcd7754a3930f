package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/digakit/digakit/internal/sqltest"
	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/kassenapi/billing/billingtest"
	"github.com/digakit/digakit/kassenapi/billing/sqlstore"
)

type backend struct {
	main, bill *sqltest.DB
}

func open(t *testing.T, d *sqltest.DB) *sql.DB {
	db, err := sql.Open(d.Driver, d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(10) // PostgreSQL: stay far below max_connections
	if d.Dialect == "sqlite" {
		db.SetMaxOpenConns(1)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func (b *backend) Stores(t *testing.T) (billing.BindingStore, billing.BillingStore) {
	bs, err := sqlstore.NewBindings(open(t, b.main), b.main.Dialect)
	if err != nil {
		t.Fatal(err)
	}
	bl, err := sqlstore.NewBilling(open(t, b.bill), b.bill.Dialect)
	if err != nil {
		t.Fatal(err)
	}
	return bs, bl
}

func newBackend(t *testing.T, dialect string) *backend {
	mk := sqltest.SQLite
	if dialect == "postgres" {
		mk = sqltest.Postgres
	}
	b := &backend{main: mk(t), bill: mk(t)}
	ctx := context.Background()
	if err := sqlstore.Migrate(ctx, b.main.DB, dialect, "main"); err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.Migrate(ctx, b.bill.DB, dialect, "billing"); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformance(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			billingtest.RunStores(t, func(t *testing.T) billingtest.Backend { return newBackend(t, d) })
		})
	}
}

// TestPlainCodeNeverInMainDB runs every flow and scans every table of
// the account database for the plain codes; the billing database holds
// them only sealed (raw SQLite file scan).
func TestPlainCodeNeverInMainDB(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			b := newBackend(t, d)
			codes := billingtest.RunFlows(t, b)
			for _, db := range []*sqltest.DB{b.main, b.bill} {
				dump := dumpAll(t, db)
				for _, c := range codes {
					if bytes.Contains(dump, []byte(c)) {
						t.Fatalf("plain code found in %s database dump", db.Dialect)
					}
				}
			}
		})
	}
}

func tables(t *testing.T, db *sqltest.DB) []string {
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if db.Dialect == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		out = append(out, n)
	}
	return out
}

// dumpAll reads every column of every row of every table.
func dumpAll(t *testing.T, db *sqltest.DB) []byte {
	var buf bytes.Buffer
	for _, tb := range tables(t, db) {
		rows, err := db.Query(`SELECT * FROM ` + tb)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch x := v.(type) {
				case []byte:
					buf.Write(x)
				default:
					fmt.Fprint(&buf, x)
				}
				buf.WriteByte(0)
			}
		}
		rows.Close()
	}
	if buf.Len() == 0 {
		t.Fatal("empty dump")
	}
	return buf.Bytes()
}

func TestProtocolAppendOnly(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqltest.DB) {
		ctx := context.Background()
		if err := sqlstore.Migrate(ctx, db.DB, db.Dialect, "billing"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO billing_protocol (ts_utc, ts_local, process, procedure, sender_ik, receiver_ik, insurer_ik, code_digest, key_id, result)
			VALUES (1, '2026-01-01 00:00:00', 'FSC', 'EDFC0', '1', '2', '3', $1, 'k', 'fehlerfrei')`, []byte("d")); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`UPDATE billing_protocol SET result = 'fehlerhaft'`); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("update allowed: %v", err)
		}
		if _, err := db.Exec(`DELETE FROM billing_protocol`); err == nil {
			t.Fatal("delete allowed")
		}
		// migrating again is harmless
		if err := sqlstore.Migrate(ctx, db.DB, db.Dialect, "billing"); err != nil {
			t.Fatal(err)
		}
	})
}
