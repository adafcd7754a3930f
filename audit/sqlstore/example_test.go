package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/sqlstore"
	_ "modernc.org/sqlite"
)

// Open SQLite with the recommended pragmas, create the schema, append an
// event together with a business row and verify.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "audit-example")
	defer os.RemoveAll(dir)
	db, _ := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := sqlstore.CreateSchema(ctx, db, sqlstore.SQLite); err != nil {
		panic(err)
	}
	_, _ = db.ExecContext(ctx, `CREATE TABLE accounts (pseudonym TEXT PRIMARY KEY)`)
	st, _ := sqlstore.New(db, sqlstore.SQLite)
	l, _ := audit.New(audit.Config{Store: st})
	err := l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
		if _, err := tx.SQL().ExecContext(ctx, `INSERT INTO accounts (pseudonym) VALUES ($1)`, "u7q2kx3mzfzt4c5h"); err != nil {
			return err
		}
		_, err := tx.Append(ctx, audit.Event{Type: audit.UserCreated, Outcome: audit.Success,
			Actor: audit.Actor{Kind: audit.ActorUser, ID: "u7q2kx3mzfzt4c5h"}, Subject: "u7q2kx3mzfzt4c5h"})
		return err
	})
	fmt.Println("committed:", err == nil)
	rep, _ := audit.Verify(ctx, st, audit.VerifyOptions{})
	fmt.Println("ok:", rep.OK, "events:", rep.Events, "warnings:", rep.Warnings)
	// Output:
	// committed: true
	// ok: true events: 1 warnings: [no_trusted_key no_external_evidence]
}
