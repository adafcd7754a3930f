package billingtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/kassenapi/xrechnung"
)

// Backend opens stores on one pair of databases (account and billing).
// Every call returns new handles (new pools) on the same databases, so
// that tests can run several Service instances and restarts.
type Backend interface {
	Stores(t *testing.T) (billing.BindingStore, billing.BillingStore)
}

// Runs is the number of repetitions of the concurrency tests: 10, or 50
// with DIGAKIT_LONG=1.
func Runs() int {
	if os.Getenv("DIGAKIT_LONG") == "1" {
		return 50
	}
	return 10
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

type env struct {
	t     *testing.T
	b     Backend
	ins   *Insurer
	clock *Clock
	bind  billing.BindingStore
	bill  billing.BillingStore
	svc   *billing.Service
}

func newEnv(t *testing.T, nb func(t *testing.T) Backend, mod func(*billing.Config)) *env {
	e := &env{t: t, b: nb(t), ins: NewInsurer(VEID, ServiceDay), clock: NewClock(t0)}
	e.ins.Clock = e.clock.Now
	e.bind, e.bill = e.b.Stores(t)
	e.svc = e.service(mod)
	return e
}

func (e *env) service(mod func(*billing.Config)) *billing.Service {
	cfg := Config(e.t, e.bind, e.bill, e.ins, e.clock.Now)
	if mod != nil {
		mod(&cfg)
	}
	s, err := billing.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) digests(code string) []billing.Digest {
	c, err := kassenapi.ParseCode(code)
	if err != nil {
		e.t.Fatal(err)
	}
	ds, err := e.svc.Digests(c)
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

func (e *env) redemption(code string) *billing.Redemption {
	r, err := e.bill.Redemption(context.Background(), e.digests(code))
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) invoices(code string) []billing.InvoiceRow {
	r := e.redemption(code)
	if r == nil {
		return nil
	}
	inv, err := e.bill.Invoices(context.Background(), r.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return inv
}

// drain runs SubmitDue until nothing is due, advancing the clock past
// backoffs.
func (e *env) drain(svc *billing.Service) {
	for i := 0; i < 20; i++ {
		n, err := svc.SubmitDue(context.Background(), 50)
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			e.clock.Advance(7 * time.Hour)
			if n, _ = svc.SubmitDue(context.Background(), 50); n == 0 {
				return
			}
		}
	}
}

func (e *env) pendingBindings() int {
	bs, err := e.bind.Expired(context.Background(), e.clock.Now().Add(1000*time.Hour), 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(bs)
}

func fail(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Errorf(format, args...)
}

// RunStores runs the conformance suite against stores opened by nb.
func RunStores(t *testing.T, nb func(t *testing.T) Backend) {
	t.Run("C1_ConcurrentAccountsOneCode", func(t *testing.T) { testC1(t, nb, false) })
	t.Run("C2_SameAccountConcurrent", func(t *testing.T) { testC2(t, nb) })
	t.Run("C3_TwoInstances", func(t *testing.T) { testC1(t, nb, true) })
	t.Run("C4_Policy", func(t *testing.T) { testPolicy(t, nb) })
	t.Run("Rejections", func(t *testing.T) { testRejections(t, nb) })
	t.Run("C5_ConcurrentWorkers", func(t *testing.T) { testC5(t, nb) })
	t.Run("C6_CheckDroppedThenReconcile", func(t *testing.T) { testC6(t, nb) })
	t.Run("C7_InvoiceDropped", func(t *testing.T) { testC7(t, nb) })
	t.Run("NumberStableOnRetry", func(t *testing.T) { testNumberStable(t, nb) })
	t.Run("CrashPoints", func(t *testing.T) { testCrashPoints(t, nb) })
	t.Run("ManualDispatch", func(t *testing.T) { testManual(t, nb) })
	t.Run("Corrections", func(t *testing.T) { testCorrections(t, nb) })
	t.Run("NeedsData", func(t *testing.T) { testNeedsData(t, nb) })
	t.Run("ForgetAccount", func(t *testing.T) { testForget(t, nb) })
	t.Run("ProtocolAndAudit", func(t *testing.T) { testProtocol(t, nb) })
	t.Run("S2_KeyRotation", func(t *testing.T) { testRotation(t, nb) })
	t.Run("OperatorResubmitCancel", func(t *testing.T) { testResubmit(t, nb) })
	t.Run("ReviewResolution", func(t *testing.T) { testReview(t, nb) })
}

func testC1(t *testing.T, nb func(t *testing.T) Backend, twoInstances bool) {
	e := newEnv(t, nb, nil)
	svcs := []*billing.Service{e.svc}
	if twoInstances {
		b2, bl2 := e.b.Stores(t)
		cfg := Config(t, b2, bl2, e.ins, e.clock.Now)
		s2, err := billing.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, s2)
	}
	const n = 200
	runs := Runs()
	if twoInstances {
		runs = max(2, runs/5)
	}
	for run := 0; run < runs; run++ {
		code := NewCode(PrefixAPI)
		var wg sync.WaitGroup
		results := make([]error, n)
		outcomes := make([]billing.Outcome, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				r, err := svcs[i%len(svcs)].Redeem(context.Background(), fmt.Sprintf("acct-%d-%d", run, i), code)
				results[i] = err
				if r != nil {
					outcomes[i] = r.Outcome
				}
			}(i)
		}
		wg.Wait()
		act, red := 0, 0
		for i, err := range results {
			switch {
			case err == nil && outcomes[i] == billing.Activated:
				act++
			case errors.Is(err, billing.ErrCodeAlreadyRedeemed):
				red++
			default:
				fail(t, "run %d: unexpected result %v %v", run, outcomes[i], err)
			}
		}
		if act != 1 || red != n-1 {
			t.Fatalf("run %d: %d activated, %d already redeemed; want 1 and %d", run, act, red, n-1)
		}
		if c := e.ins.CountFor(code); c != 1 {
			t.Fatalf("run %d: insurer saw %d checks, want 1", run, c)
		}
		if r := e.redemption(code); r == nil || r.State != billing.RedemptionValidated {
			t.Fatalf("run %d: redemption %+v", run, r)
		}
		if inv := e.invoices(code); len(inv) != 1 {
			t.Fatalf("run %d: %d invoices", run, len(inv))
		}
		if p := e.pendingBindings(); p != 0 {
			t.Fatalf("run %d: %d pending bindings left", run, p)
		}
	}
	rows, err := e.bill.Protocol(context.Background(), "0000", "9999")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != e.ins.Checks() {
		t.Fatalf("protocol rows %d != insurer checks %d", len(rows), e.ins.Checks())
	}
}

func testC2(t *testing.T, nb func(t *testing.T) Backend) {
	e := newEnv(t, nb, nil)
	e.ins.Delay = 20 * time.Millisecond
	code := NewCode(PrefixAPI)
	const n = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	count := map[string]int{}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.svc.Redeem(context.Background(), "same-account", code)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				count[err.Error()]++
				return
			}
			count[string(r.Outcome)]++
		}()
	}
	wg.Wait()
	if count[string(billing.Activated)] != 1 || count[string(billing.AlreadyActive)] != n-1 {
		t.Fatalf("outcomes %v", count)
	}
	if c := e.ins.CountFor(code); c != 1 {
		t.Fatalf("insurer checks %d", c)
	}
}

func testPolicy(t *testing.T, nb func(t *testing.T) Backend) {
	ctx := context.Background()
	cases := []struct {
		name   string
		p      billing.Policy
		steps  []string // account per step
		want   []string // outcome or error text
		window time.Duration
	}{
		{"default", billing.Policy{}, []string{"a", "a", "b"}, []string{"activated", "already_active", billing.ErrCodeAlreadyRedeemed.Error()}, 0},
		{"counted3", billing.Policy{MaxActivations: 3, SameAccount: billing.ReactivateCounted}, []string{"a", "a", "a", "a"},
			[]string{"activated", "reactivated", "reactivated", billing.ErrActivationLimit.Error()}, 0},
		{"deny", billing.Policy{SameAccount: billing.ReactivateDeny}, []string{"a", "a"}, []string{"activated", billing.ErrAlreadyActive.Error()}, 0},
		{"others2", billing.Policy{MaxActivations: 2, OtherAccounts: true}, []string{"a", "b", "c", "a"},
			[]string{"activated", "reactivated", billing.ErrActivationLimit.Error(), "already_active"}, 0},
		{"unlimited", billing.Policy{MaxActivations: -1, SameAccount: billing.ReactivateCounted}, []string{"a", "a", "a"},
			[]string{"activated", "reactivated", "reactivated"}, 0},
		{"window", billing.Policy{MaxActivations: 5, SameAccount: billing.ReactivateCounted, Window: time.Hour}, []string{"a", "a", "a"},
			[]string{"activated", "reactivated", billing.ErrActivationLimit.Error()}, 59*time.Minute + 59*time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nb, func(cfg *billing.Config) { cfg.Policy = c.p })
			code := NewCode(PrefixAPI)
			for i, acct := range c.steps {
				if c.window > 0 && i > 0 {
					e.clock.Advance(c.window)
					if i == 2 {
						e.clock.Advance(2 * time.Second)
					}
				}
				r, err := e.svc.Redeem(ctx, acct, code)
				got := ""
				if err != nil {
					got = err.Error()
				} else {
					got = string(r.Outcome)
				}
				if got != c.want[i] {
					t.Fatalf("step %d (%s): got %q want %q", i, acct, got, c.want[i])
				}
			}
			if n := e.ins.CountFor(code); n != 1 {
				t.Fatalf("insurer checks %d, want 1", n)
			}
			if inv := e.invoices(code); len(inv) != 1 {
				t.Fatalf("%d invoices", len(inv))
			}
		})
	}
}

func testRejections(t *testing.T, nb func(t *testing.T) Backend) {
	ctx := context.Background()
	e := newEnv(t, nb, func(c *billing.Config) { c.AllowTestCodes = false })
	for _, c := range []struct {
		input, reason string
	}{
		{"ZZ", billing.ReasonFormat},
		{NewCode(PrefixAPI)[:15] + "0", billing.ReasonFormat},
		{"77AAAAAAAAAAAAAX", billing.ReasonTestCode},
		{NewCode("QQ"), billing.ReasonUnknownPrefix},
		{NewCode("ZX"), billing.ReasonInsurerInsolvent},
	} {
		_, err := e.svc.Redeem(ctx, "a", c.input)
		var ie *billing.InvalidCodeError
		if !errors.As(err, &ie) || ie.Reason != c.reason {
			t.Fatalf("%s: got %v, want reason %s", c.reason, err, c.reason)
		}
	}
	bad := NewCode(PrefixAPI)
	bad = bad[:15] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[(indexOf(bad[15])+1)%32])
	if _, err := e.svc.Redeem(ctx, "a", bad); !isReason(err, billing.ReasonChecksum) {
		t.Fatalf("checksum: %v", err)
	}
	for n, reason := range map[int]string{100: billing.ReasonExpired, 101: billing.ReasonCancelled, 102: billing.ReasonNotFound} {
		code := NewCode(PrefixAPI)
		e.ins.Answer(code, FEH(n))
		if _, err := e.svc.Redeem(ctx, "a", code); !isReason(err, reason) {
			t.Fatalf("FEH %d: %v", n, err)
		}
		if r := e.redemption(code); r == nil || r.State != billing.RedemptionRejected {
			t.Fatalf("FEH %d: redemption %+v", n, r)
		}
		if e.pendingBindings() != 0 {
			t.Fatal("binding left after rejection")
		}
		if inv := e.invoices(code); len(inv) != 0 {
			t.Fatal("invoice for a rejected code")
		}
	}
	for _, n := range []int{200, 201} {
		code := NewCode(PrefixAPI)
		e.ins.Answer(code, FEH(n))
		if _, err := e.svc.Redeem(ctx, "a", code); !errors.Is(err, billing.ErrUnavailable) {
			t.Fatalf("FEH %d: %v", n, err)
		}
		// the insurer recovers: a retry succeeds
		e.ins.Answer(code, nil)
		if r, err := e.svc.Redeem(ctx, "a", code); err != nil || r.Outcome != billing.Activated {
			t.Fatalf("FEH %d retry: %v %v", n, r, err)
		}
	}
}

func indexOf(c byte) int {
	for i, a := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") {
		if a == c {
			return i
		}
	}
	return 0
}

func isReason(err error, reason string) bool {
	var ie *billing.InvalidCodeError
	return errors.As(err, &ie) && ie.Reason == reason
}

// checkBilling asserts the billing invariants over all codes.
func (e *env) checkBilling(codes []string) {
	e.t.Helper()
	billed := e.ins.BilledCodes()
	for _, c := range codes {
		if len(billed[c]) > 1 {
			e.t.Fatalf("code billed under %d numbers", len(billed[c]))
		}
		r := e.redemption(c)
		if r == nil || r.State != billing.RedemptionValidated {
			continue
		}
		inv := e.invoices(c)
		n380 := 0
		for _, i := range inv {
			if i.Type == "380" {
				n380++
				if len(billed[c]) == 1 && billed[c][0] != i.Number {
					e.t.Fatalf("fake booked %s, ledger has %s", billed[c][0], i.Number)
				}
			}
		}
		if n380 != 1 {
			e.t.Fatalf("validated code with %d 380 invoices", n380)
		}
	}
	seen := map[string]string{}
	for _, inv := range e.ins.Invoices() {
		if c, ok := seen[inv.Number]; ok && c != inv.Code {
			e.t.Fatalf("number %s under two codes", inv.Number)
		}
		seen[inv.Number] = inv.Code
	}
}

func testC5(t *testing.T, nb func(t *testing.T) Backend) {
	ctx := context.Background()
	e := newEnv(t, nb, nil)
	n := 60
	if os.Getenv("DIGAKIT_LONG") == "1" {
		n = 500
	}
	codes := make([]string, n)
	for i := range codes {
		codes[i] = NewCode(PrefixAPI)
		if _, err := e.svc.Redeem(ctx, fmt.Sprintf("a%d", i), codes[i]); err != nil {
			t.Fatal(err)
		}
	}
	e.ins.Delay = time.Millisecond
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := e.service(nil)
			for {
				k, err := svc.SubmitDue(ctx, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if k == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := len(e.ins.Invoices()); got != n {
		t.Fatalf("fake booked %d invoices, want %d", got, n)
	}
	if e.ins.InvoiceCalls() != n {
		t.Fatalf("fake got %d submissions, want %d", e.ins.InvoiceCalls(), n)
	}
	for _, c := range codes {
		inv := e.invoices(c)
		if len(inv) != 1 || inv[0].State != billing.InvoiceAccepted || inv[0].NeedsReview {
			t.Fatalf("invoice %+v", inv)
		}
	}
	e.checkBilling(codes)
}

func testC6(t *testing.T, nb func(t *testing.T) Backend) {
	ctx := context.Background()
	e := newEnv(t, nb, nil)
	code := NewCode(PrefixAPI)
	e.ins.DropChecks(1)
	if _, err := e.svc.Redeem(ctx, "a", code); !errors.Is(err, billing.ErrOutcomeUnknown) {
		t.Fatalf("first redeem: %v", err)
	}
	if r := e.redemption(code); r.State != billing.RedemptionUnknown {
		t.Fatalf("state %s", r.State)
	}
	// another account meanwhile: 409, no insurer call
	if _, err := e.svc.Redeem(ctx, "b", code); !errors.Is(err, billing.ErrCodeAlreadyRedeemed) {
		t.Fatalf("other account: %v", err)
	}
	e.clock.Advance(3 * time.Minute)
	rep, err := e.svc.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rechecked != 1 || rep.Activated != 1 {
		t.Fatalf("reconcile %+v", rep)
	}
	r, err := e.svc.Redeem(ctx, "a", code)
	if err != nil || r.Outcome != billing.AlreadyActive {
		t.Fatalf("after reconcile: %v %v", r, err)
	}
	if c := e.ins.CountFor(code); c != 2 {
		t.Fatalf("fake saw %d checks, want 2", c)
	}
	e.drain(e.svc)
	if len(e.ins.Invoices()) != 1 {
		t.Fatalf("%d invoices", len(e.ins.Invoices()))
	}
	e.checkBilling([]string{code})

	// same-account retry after the lease: re-checks itself
	code2 := NewCode(PrefixAPI)
	e.ins.DropChecks(1)
	if _, err := e.svc.Redeem(ctx, "c", code2); !errors.Is(err, billing.ErrOutcomeUnknown) {
		t.Fatal(err)
	}
	e.clock.Advance(3 * time.Minute)
	if r, err := e.svc.Redeem(ctx, "c", code2); err != nil || r.Outcome != billing.Activated {
		t.Fatalf("retry: %v %v", r, err)
	}
	if e.pendingBindings() != 0 {
		t.Fatal("pending binding left")
	}
}

func testC7(t *testing.T, nb func(t *testing.T) Backend) {
	for _, dup := range []bool{false, true} {
		t.Run(fmt.Sprintf("rejectDuplicate=%v", dup), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, nb, nil)
			e.ins.RejectDuplicate = dup
			code := NewCode(PrefixAPI)
			if _, err := e.svc.Redeem(ctx, "a", code); err != nil {
				t.Fatal(err)
			}
			e.ins.DropInvoices(1)
			if _, err := e.svc.SubmitDue(ctx, 10); err != nil {
				t.Fatal(err)
			}
			inv := e.invoices(code)
			if inv[0].State != billing.InvoiceSubmitUnknown {
				t.Fatalf("state %s", inv[0].State)
			}
			number := inv[0].Number
			e.drain(e.svc)
			inv = e.invoices(code)
			want := billing.InvoiceAccepted
			if dup {
				want = billing.InvoiceAcceptedPresumed
			}
			if len(inv) != 1 || inv[0].State != want || inv[0].Number != number {
				t.Fatalf("got %s %s, want %s %s", inv[0].State, inv[0].Number, want, number)
			}
			if dup && !inv[0].NeedsReview {
				t.Fatal("accepted_presumed without review flag")
			}
			if len(e.ins.Invoices()) != 1 || e.ins.InvoiceCalls() != 2 {
				t.Fatalf("fake booked %d, calls %d", len(e.ins.Invoices()), e.ins.InvoiceCalls())
			}
			e.checkBilling([]string{code})
		})
	}
}

func testNumberStable(t *testing.T, nb func(t *testing.T) Backend) {
	ctx := context.Background()
	e := newEnv(t, nb, nil)
	code := NewCode(PrefixAPI)
	if _, err := e.svc.Redeem(ctx, "a", code); err != nil {
		t.Fatal(err)
	}
	number := e.invoices(code)[0].Number
	e.ins.FailInvoices(3)
	for i := 0; i < 3; i++ {
		if _, err := e.svc.SubmitDue(ctx, 10); err != nil {
			t.Fatal(err)
		}
		inv := e.invoices(code)
		if inv[0].State != billing.InvoiceQueued || inv[0].Number != number {
			t.Fatalf("attempt %d: %s %s", i, inv[0].State, inv[0].Number)
		}
		e.clock.Advance(7 * time.Hour)
	}
	e.drain(e.svc)
	inv := e.invoices(code)
	if inv[0].State != billing.InvoiceAccepted || inv[0].Number != number {
		t.Fatalf("final %s %s", inv[0].State, inv[0].Number)
	}
	if b := e.ins.BilledCodes()[code]; len(b) != 1 || b[0] != number {
		t.Fatalf("billed %v", b)
	}
}

// testCrashPoints abandons the flows at every crash point, as a SIGKILL
// would, then restarts (new stores and service) and reconciles.
func testCrashPoints(t *testing.T, nb func(t *testing.T) Backend) {
	points := []string{"check:claimed", "check:answered", "check:recorded", "invoice:built", "invoice:sent"}
	for _, p := range points {
		t.Run(p, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, nb, nil)
			crash := errors.New("crash")
			var once sync.Once
			crashing := e.service(func(c *billing.Config) {
				c.Fault = func(point string) error {
					hit := false
					if point == p {
						once.Do(func() { hit = true })
					}
					if hit {
						return crash
					}
					return nil
				}
			})
			codes := []string{NewCode(PrefixAPI), NewCode(PrefixAPI)}
			for i, c := range codes {
				_, _ = crashing.Redeem(ctx, fmt.Sprintf("acct%d", i), c)
			}
			_, _ = crashing.SubmitDue(ctx, 10)
			// restart
			e.bind, e.bill = e.b.Stores(t)
			svc := e.service(nil)
			for round := 0; round < 4; round++ {
				e.clock.Advance(7 * time.Hour)
				if _, err := svc.Reconcile(ctx); err != nil {
					t.Fatal(err)
				}
				e.drain(svc)
			}
			e.checkBilling(codes)
			for i, c := range codes {
				r := e.redemption(c)
				if r == nil || r.State != billing.RedemptionValidated {
					t.Fatalf("code %d not validated after recovery: %+v", i, r)
				}
				inv := e.invoices(c)
				if len(inv) != 1 || inv[0].State != billing.InvoiceAccepted {
					t.Fatalf("code %d invoices %+v", i, inv)
				}
				res, err := svc.Redeem(ctx, fmt.Sprintf("acct%d", i), c)
				if err != nil || res.Outcome != billing.AlreadyActive {
					t.Fatalf("code %d binding after recovery: %v %v", i, res, err)
				}
			}
			if len(e.ins.Invoices()) != len(codes) {
				t.Fatalf("fake booked %d invoices", len(e.ins.Invoices()))
			}
			if e.pendingBindings() != 0 {
				t.Fatal("pending bindings left")
			}
		})
	}
}

func testManual(t *testing.T, nb func(t *testing.T) Backend) {
	ctx := context.Background()
	e := newEnv(t, nb, nil)
	mail, post := NewCode(PrefixEmail), NewCode(PrefixPost)
	for _, c := range []string{mail, post} {
		if _, err := e.svc.Redeem(ctx, "a-"+c[:4], c); err != nil {
			t.Fatal(err)
		}
	}
	e.drain(e.svc)
	q, err := e.svc.ManualQueue(ctx, billing.ManualFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 2 {
		t.Fatalf("queue has %d items", len(q))
	}
	for _, it := range q {
		if it.State != billing.InvoiceManualPending || it.Target == "" {
			t.Fatalf("item %s %s %q", it.Number, it.State, it.Target)
		}
		doc, err := e.svc.InvoiceXML(ctx, it.Number)
		if err != nil {
			t.Fatal(err)
		}
		if !xrechnung.Valid(xrechnung.Check(doc)) {
			t.Fatalf("manual invoice fails the checker: %v", xrechnung.Check(doc))
		}
		if err := e.svc.MarkDispatched(ctx, it.Number, "operator", "ticket-1"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.MarkDispatched(ctx, it.Number, "operator", "ticket-1"); !errors.Is(err, billing.ErrConflict) {
			t.Fatalf("second MarkDispatched: %v", err)
		}
	}
	if e.ins.InvoiceCalls() != 0 {
		t.Fatal("manual invoices went to the API")
	}
	e.clock.Advance(8 * 24 * time.Hour)
	if st, err := e.svc.Stats(ctx); err != nil || st.ManualPendingOld != 0 || st.ByState[billing.InvoiceManualSent] != 2 {
		t.Fatalf("stats %+v %v", st, err)
	}
	q, _ = e.svc.ManualQueue(ctx, billing.ManualFilter{States: []billing.InvoiceState{billing.InvoiceManualSent}})
	if len(q) != 2 || q[0].DispatchedBy != "operator" {
		t.Fatalf("sent items %d", len(q))
	}
	rows, _ := e.bill.Protocol(ctx, "0000", "9999")
	procs := map[string]int{}
	for _, r := range rows {
		procs[r.Procedure]++
	}
	if procs["MAIL"] != 1 || procs["POST"] != 1 {
		t.Fatalf("protocol procedures %v", procs)
	}
}

func testCorrections(t *testing.T, nb func(t *testing.T) Backend) {
	ctx := context.Background()
	e := newEnv(t, nb, nil)
	code := NewCode(PrefixAPI)
	if _, err := e.svc.Redeem(ctx, "a", code); err != nil {
		t.Fatal(err)
	}
	orig := e.invoices(code)[0].Number
	if _, err := e.svc.Correct(ctx, orig, 20000, xrechnung.CorrectionReason{Code: "003"}); !errors.Is(err, billing.ErrInvalidCorrection) {
		t.Fatalf("correct queued invoice: %v", err)
	}
	e.drain(e.svc)
	if _, err := e.svc.Correct(ctx, orig, 20000, xrechnung.CorrectionReason{Code: "010"}); !errors.Is(err, billing.ErrInvalidCorrection) {
		t.Fatalf("bad reason: %v", err)
	}
	c1, err := e.svc.Correct(ctx, orig, 20000, xrechnung.CorrectionReason{Code: "010", Fields: []string{"UST-ID", "KK-Adresse"}})
	if err != nil {
		t.Fatal(err)
	}
	if c1 == orig {
		t.Fatal("correction reuses the number")
	}
	if _, err := e.svc.Correct(ctx, orig, 20000, xrechnung.CorrectionReason{Code: "003"}); !errors.Is(err, billing.ErrInvalidCorrection) {
		t.Fatalf("second correction of the original: %v", err)
	}
	e.drain(e.svc)
	c2, err := e.svc.Correct(ctx, c1, 19000, xrechnung.CorrectionReason{Code: "003"})
	if err != nil {
		t.Fatalf("correct the correction: %v", err)
	}
	e.drain(e.svc)
	inv := e.invoices(code)
	if len(inv) != 3 {
		t.Fatalf("%d invoices", len(inv))
	}
	for _, i := range inv {
		if i.State != billing.InvoiceAccepted {
			t.Fatalf("%s %s %s", i.Number, i.Type, i.State)
		}
	}
	if inv[1].Corrects != orig || inv[2].Corrects != c1 || inv[2].Number != c2 || inv[0].CorrectedBy != c1 {
		t.Fatalf("references: %+v", inv)
	}
	books := e.ins.Invoices()
	if len(books) != 3 || books[1].Type != "384" {
		t.Fatalf("fake %d", len(books))
	}
	e.checkBilling([]string{code})
}

func testNeedsData(t *testing.T, nb func(t *testing.T) Backend) {
	ctx := context.Background()
	e := newEnv(t, nb, nil)
	e.ins.VEID = UnpricedVE
	code := NewCode(PrefixAPI)
	if _, err := e.svc.Redeem(ctx, "a", code); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SubmitDue(ctx, 10); err != nil {
		t.Fatal(err)
	}
	inv := e.invoices(code)
	if inv[0].State != billing.InvoiceNeedsData || e.ins.InvoiceCalls() != 0 {
		t.Fatalf("state %s, calls %d", inv[0].State, e.ins.InvoiceCalls())
	}
	// the price arrives with a config reload
	svc := e.service(func(c *billing.Config) {
		c.Catalog.Entries = append(c.Catalog.Entries, xrechnung.CatalogEntry{VEID: UnpricedVE, Name: "Fake DiGA 2", From: xrechnung.NewDate(2020, 1, 1), NetCents: 10000, Tax: xrechnung.StandardVAT})
	})
	e.clock.Advance(2 * time.Hour)
	if rep, err := svc.Reconcile(ctx); err != nil || rep.Requeued != 1 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	e.drain(svc)
	if inv := e.invoices(code); inv[0].State != billing.InvoiceAccepted {
		t.Fatalf("state %s", inv[0].State)
	}
}

func testForget(t *testing.T, nb func(t *testing.T) Backend) {
	ctx := context.Background()
	e := newEnv(t, nb, nil)
	code := NewCode(PrefixAPI)
	if _, err := e.svc.Redeem(ctx, "a", code); err != nil {
		t.Fatal(err)
	}
	if err := e.bind.ForgetAccount(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	for _, acct := range []string{"a", "b"} {
		if _, err := e.svc.Redeem(ctx, acct, code); !errors.Is(err, billing.ErrCodeAlreadyRedeemed) {
			t.Fatalf("%s after deletion: %v", acct, err)
		}
	}
	if e.ins.CountFor(code) != 1 || len(e.invoices(code)) != 1 || e.pendingBindings() != 0 {
		t.Fatal("re-entry after deletion changed state")
	}
	if as, _ := e.bind.Activations(ctx, "a"); len(as) != 0 {
		t.Fatal("activations kept after ForgetAccount")
	}
}

type sink struct {
	mu  sync.Mutex
	ids map[int64]int
	err error
}

func (s *sink) RecordBillingExchange(_ context.Context, e billing.AuditEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.ids[e.ProtocolID]++
	return nil
}

func testProtocol(t *testing.T, nb func(t *testing.T) Backend) {
	ctx := context.Background()
	sk := &sink{ids: map[int64]int{}, err: errors.New("audit down")}
	e := newEnv(t, nb, func(c *billing.Config) { c.Audit = sk })
	code := NewCode(PrefixAPI)
	if _, err := e.svc.Redeem(ctx, "a", code); err != nil {
		t.Fatal(err)
	}
	e.drain(e.svc)
	day := billing.Today(e.clock.Now())
	recs, err := e.svc.Protocol(ctx, kassenapi.MustDate("2026-03-01"), day)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Process != billing.ProcessCheck || recs[1].Process != billing.ProcessInvoice {
		t.Fatalf("protocol %d rows", len(recs))
	}
	for _, r := range recs {
		if r.Code != code || r.Result != billing.ResultOK || r.InsurerIK == "" || r.SenderIK == "" || len(r.TSLocal) != 19 {
			t.Fatalf("row %+v", r.ProtocolEntry)
		}
	}
	// audit was down: the backlog keeps the rows until Reconcile mirrors them
	sk.mu.Lock()
	sk.err = nil
	sk.mu.Unlock()
	rep, err := e.svc.Reconcile(ctx)
	if err != nil || rep.Mirrored != 2 {
		t.Fatalf("mirror %+v %v", rep, err)
	}
	if rep, _ := e.svc.Reconcile(ctx); rep.Mirrored != 0 {
		t.Fatal("mirrored twice")
	}
	if len(sk.ids) != 2 {
		t.Fatalf("audit saw %v", sk.ids)
	}
}

// RunFlows runs redemption, billing, rejection, reconciliation, manual
// dispatch and correction flows on b and returns the codes used (for
// canary scans of the databases).
func RunFlows(t *testing.T, b Backend) []string {
	ctx := context.Background()
	e := &env{t: t, b: b, ins: NewInsurer(VEID, ServiceDay), clock: NewClock(t0)}
	e.ins.Clock = e.clock.Now
	e.bind, e.bill = b.Stores(t)
	e.svc = e.service(nil)
	ok, rej, drop, mail := NewCode(PrefixAPI), NewCode(PrefixAPI), NewCode(PrefixAPI), NewCode(PrefixEmail)
	e.ins.Answer(rej, FEH(102))
	for i, c := range []string{ok, rej, mail} {
		_, _ = e.svc.Redeem(ctx, fmt.Sprintf("acct%d", i), c)
	}
	e.ins.DropChecks(1)
	_, _ = e.svc.Redeem(ctx, "acct-drop", drop)
	e.clock.Advance(3 * time.Minute)
	if _, err := e.svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	e.drain(e.svc)
	inv := e.invoices(ok)
	if _, err := e.svc.Correct(ctx, inv[0].Number, 100, xrechnung.CorrectionReason{Code: "001"}); err != nil {
		t.Fatal(err)
	}
	e.drain(e.svc)
	q, _ := e.svc.ManualQueue(ctx, billing.ManualFilter{})
	for _, it := range q {
		_ = e.svc.MarkDispatched(ctx, it.Number, "op", "ref")
	}
	return []string{ok, rej, drop, mail}
}

// testRotation is S2 of spec B6: bind under key 1, rotate to key 2 (key 1
// kept for lookups), redeem again: the binding is found, no second check.
func testRotation(t *testing.T, nb func(t *testing.T) Backend) {
	ctx := context.Background()
	e := newEnv(t, nb, nil)
	code := NewCode(PrefixAPI)
	if _, err := e.svc.Redeem(ctx, "a", code); err != nil {
		t.Fatal(err)
	}
	rotated := e.service(func(c *billing.Config) {
		c.Keys = billing.StaticKeys{{ID: "k2", Secret: []byte("fedcba9876543210fedcba9876543210-k2")}, Keys()[0]}
	})
	if r, err := rotated.Redeem(ctx, "a", code); err != nil || r.Outcome != billing.AlreadyActive {
		t.Fatalf("after rotation: %v %v", r, err)
	}
	if _, err := rotated.Redeem(ctx, "b", code); !errors.Is(err, billing.ErrCodeAlreadyRedeemed) {
		t.Fatalf("other account after rotation: %v", err)
	}
	if e.ins.CountFor(code) != 1 || len(e.invoices(code)) != 1 {
		t.Fatal("rotation caused a second check or invoice")
	}
	// a new code is stored under the new key
	fresh := NewCode(PrefixAPI)
	if r, err := rotated.Redeem(ctx, "c", fresh); err != nil || r.Outcome != billing.Activated {
		t.Fatalf("new code: %v %v", r, err)
	}
	c, _ := kassenapi.ParseCode(fresh)
	ds, _ := rotated.Digests(c)
	r, err := e.bill.Redemption(ctx, ds)
	if err != nil || r == nil || r.Digest.KeyID != "k2" {
		t.Fatalf("new row key %+v %v", r, err)
	}
}

func testResubmit(t *testing.T, nb func(t *testing.T) Backend) {
	ctx := context.Background()
	e := newEnv(t, nb, nil)
	// the insurer does not know the code: INVER business rejection
	code := NewCode(PrefixAPI)
	if _, err := e.svc.Redeem(ctx, "a", code); err != nil {
		t.Fatal(err)
	}
	e.ins.mu.Lock()
	delete(e.ins.ant, code)
	e.ins.mu.Unlock()
	e.drain(e.svc)
	inv := e.invoices(code)[0]
	if inv.State != billing.InvoiceRejectedBusiness || !inv.NeedsReview || !strings.Contains(inv.Messages, "INVER-1") {
		t.Fatalf("state %s %q", inv.State, inv.Messages)
	}
	if err := e.svc.Resubmit(ctx, "DG0000000009"); !errors.Is(err, billing.ErrNotFound) {
		t.Fatalf("unknown number: %v", err)
	}
	e.ins.mu.Lock()
	e.ins.ant[code] = true
	e.ins.mu.Unlock()
	if err := e.svc.Resubmit(ctx, inv.Number); err != nil {
		t.Fatal(err)
	}
	e.drain(e.svc)
	if got := e.invoices(code)[0]; got.State != billing.InvoiceAccepted || got.Number != inv.Number {
		t.Fatalf("after resubmit %s %s", got.State, got.Number)
	}
	if err := e.svc.Resubmit(ctx, inv.Number); !errors.Is(err, billing.ErrConflict) {
		t.Fatalf("resubmit accepted invoice: %v", err)
	}
	if err := e.svc.Cancel(ctx, inv.Number); !errors.Is(err, billing.ErrConflict) {
		t.Fatalf("cancel accepted invoice: %v", err)
	}
	// cancel a queued invoice: never sent, never recreated
	c2 := NewCode(PrefixAPI)
	if _, err := e.svc.Redeem(ctx, "b", c2); err != nil {
		t.Fatal(err)
	}
	n2 := e.invoices(c2)[0].Number
	if err := e.svc.Cancel(ctx, n2); err != nil {
		t.Fatal(err)
	}
	e.drain(e.svc)
	if _, err := e.svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if inv := e.invoices(c2); len(inv) != 1 || inv[0].State != billing.InvoiceCancelled {
		t.Fatalf("cancelled invoice %+v", inv)
	}
	if len(e.ins.BilledCodes()[c2]) != 0 {
		t.Fatal("cancelled invoice sent")
	}
}

// testReview: a lost first check answered later with FEH 102 goes to
// review; the operator confirms VE-ID and day; the code's owner then
// redeems it without a further check, and it is billed once.
func testReview(t *testing.T, nb func(t *testing.T) Backend) {
	ctx := context.Background()
	e := newEnv(t, nb, nil)
	code := NewCode(PrefixAPI)
	e.ins.DropChecks(1)
	if _, err := e.svc.Redeem(ctx, "a", code); !errors.Is(err, billing.ErrOutcomeUnknown) {
		t.Fatal(err)
	}
	e.ins.Answer(code, FEH(102))
	e.clock.Advance(10 * time.Minute)
	if _, err := e.svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	r := e.redemption(code)
	if r.State != billing.RedemptionRejected || !r.NeedsReview || e.pendingBindings() != 0 {
		t.Fatalf("after re-check: %s review=%v", r.State, r.NeedsReview)
	}
	if st, err := e.svc.Stats(ctx); err != nil || st.RedemptionsReview != 1 {
		t.Fatalf("stats %+v %v", st, err)
	}
	if _, err := e.svc.ResolveReview(ctx, NewCode(PrefixAPI), VEID, ServiceDay); !errors.Is(err, billing.ErrConflict) {
		t.Fatalf("resolve unknown code: %v", err)
	}
	num, err := e.svc.ResolveReview(ctx, code, VEID, ServiceDay)
	if err != nil || num == "" {
		t.Fatal(err)
	}
	if _, err := e.svc.ResolveReview(ctx, code, VEID, ServiceDay); !errors.Is(err, billing.ErrConflict) {
		t.Fatalf("second resolve: %v", err)
	}
	checks := e.ins.CountFor(code)
	res, err := e.svc.Redeem(ctx, "a", code)
	if err != nil || res.Outcome != billing.Activated || res.VEID != VEID {
		t.Fatalf("redeem after resolution: %v %v", res, err)
	}
	if _, err := e.svc.Redeem(ctx, "b", code); !errors.Is(err, billing.ErrCodeAlreadyRedeemed) {
		t.Fatalf("other account: %v", err)
	}
	if e.ins.CountFor(code) != checks {
		t.Fatal("redeem after resolution called the insurer")
	}
	e.ins.Answer(code, nil)
	e.ins.mu.Lock()
	e.ins.ant[code] = true // the insurer knows the code (it confirmed it to the operator)
	e.ins.mu.Unlock()
	e.drain(e.svc)
	if inv := e.invoices(code); len(inv) != 1 || inv[0].State != billing.InvoiceAccepted || inv[0].Number != num {
		t.Fatalf("invoices %+v", inv)
	}
}
