package audit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/audittest"
	"github.com/digakit/digakit/audit/memstore"
	"golang.org/x/mod/sumdb/note"
)

// Append events, sign a checkpoint and verify the log.
func Example() {
	ctx := context.Background()
	signer, _ := note.NewSigner(audittest.TestSignerKey)
	verifier, _ := note.NewVerifier(audittest.TestVerifierKey)
	clock := audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	l, err := audit.New(audit.Config{
		Store:        memstore.New(),
		OriginPrefix: "audit.example-diga.de",
		Service:      "refserver",
		Signers:      map[string]note.Signer{audit.LogSecurity: signer},
		Now:          clock.Now,
	})
	if err != nil {
		panic(err)
	}
	user := audit.Actor{Kind: audit.ActorUser, ID: "u7q2kx3mzfzt4c5h"}
	_, err = l.Record(ctx, audit.Event{Type: audit.AuthnLoginFail, Outcome: audit.Failure, Reason: "bad_password",
		Actor: user, Subject: user.ID})
	if err != nil {
		panic(err)
	}
	// A business write and its audit event commit together (InTx).
	err = l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
		// tx.SQL() is the *sql.Tx for business writes (nil on memstore).
		_, err := tx.Append(ctx, audit.Event{Type: audit.SessionCreated, Outcome: audit.Success, Actor: user, Subject: user.ID,
			Auth: &audit.AuthInfo{ACR: "loa-substantial", AMR: []string{"pwd", "otp"}, SessionID: "raw-session-id"}})
		return err
	})
	if err != nil {
		panic(err)
	}
	clock.Advance(time.Minute)
	cps, _ := l.Checkpoint(ctx)
	fmt.Printf("%s", cps[0].Note[:len("audit.example-diga.de/security/2026-01\n2\n")])
	rep, _ := audit.Verify(ctx, l.Store(), audit.VerifyOptions{Verifiers: []note.Verifier{verifier}})
	fmt.Println("ok:", rep.OK, "events:", rep.Events)
	// Output:
	// audit.example-diga.de/security/2026-01
	// 2
	// ok: true events: 2
}

// Forbidden content fails the append under the Reject policy.
func ExampleLog_Record_forbidden() {
	l, _ := audit.New(audit.Config{Store: memstore.New()})
	_, err := l.Record(context.Background(), audit.Event{Type: audit.AuthnLoginFail, Outcome: audit.Failure,
		Actor: audit.Actor{Kind: audit.ActorAnonymous, ID: "probe:abcdefghijklmnop"},
		Attrs: map[string]any{"detail": "max@example.de"}})
	fmt.Println(err)
	// Output: audit: forbidden content: field attrs.detail (email)
}

// Prove that an event is included in a checkpointed tree.
func ExampleLog_Prove() {
	ctx := context.Background()
	l, _ := audit.New(audit.Config{Store: memstore.New()})
	var last []audit.Receipt
	for range 5 {
		last, _ = l.Record(ctx, audit.Event{Type: audit.SysStartup, Outcome: audit.Success,
			Actor: audit.Actor{Kind: audit.ActorSystem, ID: "system"}})
	}
	segs, _ := l.Store().Segments(ctx, audit.LogSecurity)
	p, _ := l.Prove(ctx, last[0], 0)
	var root [32]byte
	copy(root[:], segs[0].Root)
	fmt.Println("index", p.Index, "of", p.TreeSize, "verifies:", p.Verify(root) == nil)
	// Output: index 4 of 5 verifies: true
}
