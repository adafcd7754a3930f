package audittest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/audittest"
	"github.com/digakit/digakit/audit/memstore"
)

// A failing audit insert fails the whole action (fail closed), even when
// the callback ignores the Append error.
func ExampleFaultStore() {
	ctx := context.Background()
	fs := audittest.NewFaultStore(memstore.New(), 1)
	l, _ := audit.New(audit.Config{Store: fs})
	fs.FailAt(audittest.OpInsert, 1)
	err := l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
		_, _ = tx.Append(ctx, audittest.LoginFail(1))
		return nil
	})
	fmt.Println(errors.Is(err, audit.ErrAuditWriteFailed))
	// Output: true
}
