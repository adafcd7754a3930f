package detect_test

import (
	"context"
	"fmt"
	"time"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/audittest"
	"github.com/digakit/digakit/audit/detect"
	"github.com/digakit/digakit/audit/memstore"
)

// A token reuse raises one CRITICAL alert with its runbook; the engine
// step is idempotent.
func Example() {
	ctx := context.Background()
	st := memstore.New()
	clock := audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	l, _ := audit.New(audit.Config{Store: st, Now: clock.Now})
	eng, _ := detect.New(detect.Config{Store: st, State: detect.NewMemState(), Now: clock.Now,
		Counter: func(rule string, sev audit.Level) { fmt.Println("metric", rule, sev) }})
	user := audit.Actor{Kind: audit.ActorUser, ID: "u7q2kx3mzfzt4c5h"}
	_, _ = l.Record(ctx, audit.Event{Type: audit.AuthnTokenReuse, Outcome: audit.Failure, Actor: user, Subject: user.ID,
		Attrs: map[string]any{"kind": "refresh"}})
	res, _ := eng.Evaluate(ctx)
	for _, a := range res.Alerts {
		fmt.Println(a.Rule, a.Runbook, a.Severity, a.Key)
	}
	res, _ = eng.Evaluate(ctx)
	fmt.Println("again:", len(res.Alerts))
	// Output:
	// metric D7 CRITICAL
	// D7 RB-TOKEN-01 CRITICAL u7q2kx3mzfzt4c5h
	// again: 0
}
