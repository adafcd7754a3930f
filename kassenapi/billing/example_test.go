package billing_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/kassenapi/billing/billingtest"
	"github.com/digakit/digakit/kassenapi/billing/sqlstore"
	"github.com/digakit/digakit/kassenapi/xrechnung"
)

// openSQLite opens a throw-away SQLite file with the pragmas the stores
// expect (BEGIN IMMEDIATE, WAL, one connection).
func openSQLite(dir, name string) *sql.DB {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, name)+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		panic(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// exampleService wires a Service on two SQLite files and the in-process
// fake insurer.
func exampleService(dir string) (*billing.Service, *billingtest.Insurer) {
	ctx := context.Background()
	mainDB, billDB := openSQLite(dir, "main.db"), openSQLite(dir, "billing.db")
	if err := sqlstore.Migrate(ctx, mainDB, sqlstore.SQLite, "main"); err != nil {
		panic(err)
	}
	if err := sqlstore.Migrate(ctx, billDB, sqlstore.SQLite, "billing"); err != nil {
		panic(err)
	}
	binds, _ := sqlstore.NewBindings(mainDB, sqlstore.SQLite)
	bill, _ := sqlstore.NewBilling(billDB, sqlstore.SQLite)
	ins := billingtest.NewInsurer(billingtest.VEID, kassenapi.MustDate("2026-03-02"))
	clock := func() time.Time { return time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) }
	ins.Clock = clock
	svc, err := billing.New(billing.Config{
		Checker: ins, Submitter: ins, Directory: kassenapi.StaticDirectory{D: exampleDirectory()},
		Bindings: binds, Billing: bill,
		Keys: billingtest.Keys(), Seal: exampleSealer(),
		Catalog: billingtest.Catalog(), Seller: billingtest.Seller(),
		Numbering: billing.Numbering{Prefix: "DG"}, Clock: clock,
	})
	if err != nil {
		panic(err)
	}
	return svc, ins
}

func exampleDirectory() *kassenapi.Directory {
	d, _, err := kassenapi.ParseDirectory(billingtest.DirectoryXML())
	if err != nil {
		panic(err)
	}
	return d
}

func exampleSealer() billing.Sealer {
	s, err := billing.NewAESSealer("s1", map[string][]byte{"s1": []byte("0123456789abcdef0123456789abcdef")}, nil)
	if err != nil {
		panic(err)
	}
	return s
}

// Redeem a code: the first request binds it (one insurer check), the
// same account again is idempotent, another account gets 409.
func ExampleService_Redeem() {
	dir, _ := os.MkdirTemp("", "billing-example")
	defer os.RemoveAll(dir)
	svc, ins := exampleService(dir)
	ctx := context.Background()
	code := billingtest.NewCode(billingtest.PrefixAPI)

	r, err := svc.Redeem(ctx, "account-1", code)
	fmt.Println(r.Outcome, r.VEID, r.ServiceDay, r.AccessUntil, err)
	r, _ = svc.Redeem(ctx, "account-1", code)
	fmt.Println(r.Outcome)
	_, err = svc.Redeem(ctx, "account-2", code)
	fmt.Println(errors.Is(err, billing.ErrCodeAlreadyRedeemed))
	fmt.Println("insurer checks:", ins.CountFor(code))
	// Output:
	// activated 12345001 2026-03-02 2026-05-31 <nil>
	// already_active
	// true
	// insurer checks: 1
}

// Submit the invoices that are due: the invoice of a redeemed code is
// built as XRechnung CII, sent with EDRE0 and accepted by the insurer.
func ExampleService_SubmitDue() {
	dir, _ := os.MkdirTemp("", "billing-example")
	defer os.RemoveAll(dir)
	svc, ins := exampleService(dir)
	ctx := context.Background()
	if _, err := svc.Redeem(ctx, "account-1", billingtest.NewCode(billingtest.PrefixAPI)); err != nil {
		panic(err)
	}
	n, err := svc.SubmitDue(ctx, 10)
	fmt.Println(n, err)
	inv := ins.Invoices()[0]
	fmt.Println(inv.Number, inv.Type, xrechnung.Valid(xrechnung.Check(inv.XML)))
	// Output:
	// 1 <nil>
	// DG2026000001 380 true
}

// The digest that links the two databases, and the code id for logs.
func ExampleDigester() {
	dg, _ := billing.NewDigester(billing.StaticKeys{{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}})
	code, _ := kassenapi.ParseCode("77AAAAAAAAAAAAAX")
	ds, _ := dg.Digests(code)
	fmt.Println(ds[0].KeyID, len(ds[0].Sum), len(ds[0].CodeID()))
	// Output: k1 32 16
}

// The protocol log's German local time, which repeats in the autumn hour.
func ExampleLocalTimestamp() {
	for _, s := range []string{"2025-03-30T01:00:00Z", "2025-10-26T00:30:00Z", "2025-10-26T01:30:00Z"} {
		t, _ := time.Parse(time.RFC3339, s)
		fmt.Println(billing.LocalTimestamp(t))
	}
	// Output:
	// 2025-03-30 03:00:00
	// 2025-10-26 02:30:00
	// 2025-10-26 02:30:00
}
