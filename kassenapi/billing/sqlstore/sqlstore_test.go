package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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

// TestProtocolFailureLeavesStateUnchanged is P1 of spec B6: when the
// protocol insert fails, the billing transaction fails and no state
// changes (no validated row, no invoice, no number used).
func TestProtocolFailureLeavesStateUnchanged(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqltest.DB) {
		ctx := context.Background()
		if err := sqlstore.Migrate(ctx, db.DB, db.Dialect, "billing"); err != nil {
			t.Fatal(err)
		}
		st, _ := sqlstore.NewBilling(db.DB, db.Dialect)
		d := billing.Digest{KeyID: "k1"}
		d.Sum[0] = 1
		now := time.Now()
		if _, err := st.BeginCheck(ctx, billing.CheckStart{Digests: []billing.Digest{d}, AttemptID: "a1", LeaseUntil: now.Add(time.Minute), Now: now,
			Prefix: "ZZ", CodeCT: func(billing.Digest) ([]byte, error) { return []byte("ct"), nil }}); err != nil {
			t.Fatal(err)
		}
		inv := &billing.NewInvoice{Series: "DG2026", Prefix: "DG2026", Width: 6, Type: "380", Now: now}
		bad := billing.ProtocolEntry{TS: now, TSLocal: "x", Process: "FSC", Procedure: "EDFC0", Digest: d, Result: "kaputt"}
		if _, err := st.FinishCheck(ctx, billing.CheckOutcome{Digest: d, AttemptID: "a1", State: billing.RedemptionValidated,
			VEID: "12345001", Protocol: []billing.ProtocolEntry{bad}, Invoice: inv, Now: now}); err == nil {
			t.Fatal("failing protocol insert accepted")
		}
		r, _ := st.Redemption(ctx, []billing.Digest{d})
		if r.State != billing.RedemptionChecking || r.VEID != "" {
			t.Fatalf("state changed: %s", r.State)
		}
		if invs, _ := st.Invoices(ctx, r.ID); len(invs) != 0 {
			t.Fatal("invoice created")
		}
		good := bad
		good.Result = billing.ResultOK
		num, err := st.FinishCheck(ctx, billing.CheckOutcome{Digest: d, AttemptID: "a1", State: billing.RedemptionValidated,
			VEID: "12345001", Protocol: []billing.ProtocolEntry{good}, Invoice: inv, Now: now})
		if err != nil || num != "DG2026000001" {
			t.Fatalf("retry: %q %v (the failed attempt must not use a number)", num, err)
		}
		// a second FinishCheck for the same attempt loses the CAS
		if _, err := st.FinishCheck(ctx, billing.CheckOutcome{Digest: d, AttemptID: "a1", State: billing.RedemptionValidated, Invoice: inv, Now: now}); !errors.Is(err, billing.ErrConflict) {
			t.Fatalf("second finish: %v", err)
		}
		// a second 380 for the redemption is refused by the unique index
		if _, err := st.CreateInvoice(ctx, r.ID, *inv); err == nil {
			t.Fatal("second 380 accepted")
		}
	})
}
