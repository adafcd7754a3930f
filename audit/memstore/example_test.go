package memstore_test

import (
	"context"
	"fmt"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/memstore"
)

func Example() {
	ctx := context.Background()
	st := memstore.New()
	l, _ := audit.New(audit.Config{Store: st})
	_, _ = l.Record(ctx, audit.Event{Type: audit.SysStartup, Outcome: audit.Success, Actor: audit.Actor{Kind: audit.ActorSystem, ID: "system"}})
	logs, _ := st.Logs(ctx)
	segs, _ := st.Segments(ctx, logs[0])
	fmt.Println(logs, segs[0].State, segs[0].Size)
	// Output: [security] open 1
}
