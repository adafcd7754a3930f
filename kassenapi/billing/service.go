package billing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/xrechnung"
)

// Checker validates codes with the insurer; *kassenapi.Client implements
// it.
type Checker interface {
	ValidateCode(ctx context.Context, code kassenapi.Code) (*kassenapi.CodeCheck, error)
}

// Submitter transports invoices; *kassenapi.Client implements it.
type Submitter interface {
	SubmitInvoice(ctx context.Context, s kassenapi.InvoiceSubmission) (*kassenapi.InvoiceAnswer, error)
}

// Numbering configures invoice numbers <Prefix><YYYY><seq> (spec B3.5).
type Numbering struct {
	Prefix     string // e.g. "DG"
	TestPrefix string // series of test invoices; default "T" + Prefix
	Width      int    // zero-padded sequence digits; default 6
}

// Config configures a Service. Checker, Submitter, Directory, Bindings,
// Billing, Keys, Seal, Catalog, Seller and ManufacturerIK are required.
type Config struct {
	Checker   Checker
	Submitter Submitter
	Directory kassenapi.DirectoryProvider

	Bindings BindingStore // account database
	Billing  BillingStore // billing database

	Keys KeyProvider // hmac-fsc
	Seal Sealer      // billing-seal

	Policy    Policy
	Catalog   *xrechnung.Catalog
	Seller    xrechnung.Party
	Payee     *xrechnung.Party
	Numbering Numbering
	// AddressOverrides completes buyer addresses per insurer IK when the
	// directory lacks postcode or city (spec B4).
	AddressOverrides map[string]xrechnung.Address
	// ManufacturerIK is our IK (protocol rows of manual dispatch).
	ManufacturerIK string

	// Lease bounds a pending claim (default 2 min); CheckBudget bounds
	// one insurer check including retries (default 60 s).
	Lease, CheckBudget time.Duration
	// InvoiceLease bounds one submission (default 5 min).
	InvoiceLease time.Duration
	// PollLimit bounds how long a second request of the same account
	// waits for a running redemption (default 5 s).
	PollLimit time.Duration

	// AllowTestCodes admits 77… codes (sandbox); TestBilling sends test
	// invoices with TDRE0 instead of only checking them locally.
	AllowTestCodes, TestBilling bool
	// TestPrefix is the directory prefix whose endpoint receives test
	// invoices (77 is not in the directory); as kassenapi.Config.TestPrefix.
	TestPrefix string

	Audit  AuditSink
	Clock  func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
	// Sleep waits between polls. Nil: a timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Fault is a test hook called at the crash points of the flows
	// ("check:claimed", "check:answered", "check:recorded",
	// "invoice:built", "invoice:sent"). A non-nil error abandons the flow
	// at once, as a crash would: no further writes.
	Fault func(point string) error
}

// Service runs redemption, billing and reconciliation.
type Service struct {
	cfg Config
	dg  *Digester
	log *slog.Logger
}

var reNumber = regexp.MustCompile(`^.{0,19}[0-9]$`)

// New validates cfg and returns a Service. It starts no goroutines.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Checker == nil || cfg.Submitter == nil:
		return nil, errors.New("billing: Checker and Submitter are required")
	case cfg.Directory == nil:
		return nil, errors.New("billing: Directory is required")
	case cfg.Bindings == nil || cfg.Billing == nil:
		return nil, errors.New("billing: Bindings and Billing stores are required")
	case cfg.Seal == nil:
		return nil, errors.New("billing: Seal is required")
	case cfg.Catalog == nil:
		return nil, errors.New("billing: Catalog is required")
	}
	if err := cfg.Catalog.Validate(); err != nil {
		return nil, fmt.Errorf("billing: catalog: %w", err)
	}
	dg, err := NewDigester(cfg.Keys)
	if err != nil {
		return nil, err
	}
	if cfg.Numbering.Width == 0 {
		cfg.Numbering.Width = 6
	}
	if cfg.Numbering.TestPrefix == "" {
		cfg.Numbering.TestPrefix = "T" + cfg.Numbering.Prefix
	}
	for _, p := range []string{cfg.Numbering.Prefix, cfg.Numbering.TestPrefix} {
		sample := fmt.Sprintf("%s2025%0*d", p, cfg.Numbering.Width, 1)
		if cfg.Numbering.Width < 1 || !reNumber.MatchString(sample) {
			return nil, fmt.Errorf("billing: numbering %q gives numbers longer than 20 characters", p)
		}
	}
	if cfg.AllowTestCodes && cfg.TestPrefix == "" {
		return nil, errors.New("billing: AllowTestCodes needs TestPrefix (the insurer that receives test procedures)")
	}
	if cfg.ManufacturerIK == "" {
		cfg.ManufacturerIK = cfg.Seller.IK
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.CheckBudget <= 0 {
		cfg.CheckBudget = time.Minute
	}
	if cfg.CheckBudget >= cfg.Lease {
		return nil, errors.New("billing: CheckBudget must be shorter than Lease")
	}
	if cfg.InvoiceLease <= 0 {
		cfg.InvoiceLease = 5 * time.Minute
	}
	if cfg.PollLimit <= 0 {
		cfg.PollLimit = 5 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Sleep == nil {
		cfg.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, dg: dg, log: log}, nil
}

func (s *Service) now() time.Time { return s.cfg.Clock() }

func (s *Service) newID() string {
	b := make([]byte, 12)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		panic("billing: randomness failed: " + err.Error()) // crypto/rand never fails
	}
	return hex.EncodeToString(b)
}

func (s *Service) fault(point string) error {
	if s.cfg.Fault == nil {
		return nil
	}
	return s.cfg.Fault(point)
}

// Result is a successful redemption.
type Result struct {
	Outcome     Outcome
	CodeID      string
	VEID        string
	ServiceDay  kassenapi.Date
	AccessUntil kassenapi.Date
}

// Digests returns the digests of code under all configured keys.
func (s *Service) Digests(code kassenapi.Code) ([]Digest, error) { return s.dg.Digests(code) }

// Redeem redeems a Freischaltcode for an account (spec B3.4). It makes at
// most one insurer check per code, also under concurrent requests, binds
// the code to the account by its keyed digest only, and records the
// plain code only sealed in the billing database.
//
// Errors: *InvalidCodeError (422), ErrCodeAlreadyRedeemed and
// ErrActivationLimit (409), ErrAlreadyActive, ErrRedemptionInProgress,
// ErrOutcomeUnknown and ErrUnavailable (503).
//
// REQ: kassenapi-spec:B3.4
func (s *Service) Redeem(ctx context.Context, accountID, input string) (*Result, error) {
	if accountID == "" {
		return nil, errors.New("billing: empty account id")
	}
	code, err := kassenapi.ParseCode(input)
	if err != nil {
		reason := ReasonFormat
		if errors.Is(err, kassenapi.ErrCodeChecksum) {
			reason = ReasonChecksum
		}
		return nil, &InvalidCodeError{Reason: reason, Err: err}
	}
	if code.IsTest() && !s.cfg.AllowTestCodes {
		return nil, &InvalidCodeError{Reason: ReasonTestCode, Err: kassenapi.ErrTestCodeNotAllowed}
	}
	if !code.IsTest() {
		if _, err := s.route(code.Prefix()); err != nil {
			return nil, err
		}
	}
	ds, err := s.dg.Digests(code)
	if err != nil {
		return nil, err
	}
	return s.redeem(ctx, accountID, code, ds)
}

// route resolves the insurer for today and maps route errors.
func (s *Service) route(prefix string) (kassenapi.Route, error) {
	dir := s.cfg.Directory.Current()
	if dir == nil {
		return kassenapi.Route{}, fmt.Errorf("%w: %w", ErrUnavailable, kassenapi.ErrDirectoryUnavailable)
	}
	r, err := dir.Route(prefix, Today(s.now()))
	if err != nil {
		return r, routeErr(err)
	}
	return r, nil
}

func routeErr(err error) error {
	switch {
	case errors.Is(err, kassenapi.ErrUnknownPrefix):
		return &InvalidCodeError{Reason: ReasonUnknownPrefix, Err: err}
	case errors.Is(err, kassenapi.ErrInsurerInsolvent):
		return &InvalidCodeError{Reason: ReasonInsurerInsolvent, Err: err}
	case errors.Is(err, kassenapi.ErrNoElectronicEndpoint):
		return &InvalidCodeError{Reason: ReasonNoEndpoint, Err: err}
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

func storeErr(err error) error {
	if errors.Is(err, ErrStoreUnavailable) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return fmt.Errorf("%w: %w: %w", ErrUnavailable, ErrStoreUnavailable, err)
}

func (s *Service) redeem(ctx context.Context, account string, code kassenapi.Code, ds []Digest) (*Result, error) {
	pollUntil := s.now().Add(s.cfg.PollLimit)
	wait := 50 * time.Millisecond
	for round := 0; ; round++ {
		if round > 1000 || ctx.Err() != nil {
			return nil, ErrRedemptionInProgress
		}
		now := s.now()
		attempt := s.newID()
		res, err := s.cfg.Bindings.Claim(ctx, ClaimRequest{
			Digests: ds, AccountID: account, AttemptID: attempt,
			LeaseUntil: now.Add(s.cfg.Lease), Now: now,
			Decide: func(b Binding) Decision { return s.cfg.Policy.decide(b, account, now) },
		})
		if err != nil {
			return nil, storeErr(err)
		}
		b := res.Binding
		switch {
		case res.Decision != nil:
			if res.Decision.Err != nil {
				return nil, res.Decision.Err
			}
			return s.result(ctx, res.Decision.Outcome, b, ds)
		case res.Won:
			return s.check(ctx, account, code, b, attempt, false)
		case b.State != BindingPending:
			return nil, ErrCodeAlreadyRedeemed
		case b.LeaseUntil.After(now):
			if b.AccountID != account {
				return nil, ErrCodeAlreadyRedeemed
			}
			if now.After(pollUntil) {
				return nil, ErrRedemptionInProgress
			}
			if err := s.cfg.Sleep(ctx, wait); err != nil {
				return nil, ErrRedemptionInProgress
			}
			wait = min(wait*2, 500*time.Millisecond)
			continue
		}
		// Expired pending claim: reconcile this digest first.
		again, err := s.settleExpired(ctx, b, ds)
		if err != nil {
			return nil, err
		}
		if again {
			continue
		}
		// The check's outcome is unknown: only the claiming account may
		// re-check it now; the reconciler does it otherwise.
		if b.AccountID != account {
			return nil, ErrCodeAlreadyRedeemed
		}
		if err := s.cfg.Bindings.TakeOver(ctx, b.Digest, b.AttemptID, attempt, now.Add(s.cfg.Lease)); err != nil {
			if errors.Is(err, ErrConflict) {
				continue
			}
			return nil, storeErr(err)
		}
		b.AttemptID = attempt
		return s.check(ctx, account, code, b, attempt, true)
	}
}

// settleExpired resolves an expired pending binding from the billing row
// (spec B3.9): validated → activate for the claimant; rejected, failed or
// absent → release. It reports whether the caller should claim again;
// false means the check outcome is open (checking/unknown).
func (s *Service) settleExpired(ctx context.Context, b Binding, ds []Digest) (bool, error) {
	// the billing row may be stored under another configured key
	r, err := s.cfg.Billing.Redemption(ctx, uniqueDigests(b.Digest, ds))
	if err != nil {
		return false, storeErr(err)
	}
	switch {
	case r != nil && r.State == RedemptionValidated:
		err = s.cfg.Bindings.Activate(ctx, b.Digest, b.AttemptID, s.cfg.Policy.accessUntil(r.VEID, r.ServiceDay), s.now())
	case r == nil || r.State == RedemptionRejected || r.State == RedemptionFailed:
		err = s.cfg.Bindings.Release(ctx, b.Digest, b.AttemptID)
	case r.State == RedemptionChecking && r.LeaseUntil.After(s.now()):
		return false, ErrRedemptionInProgress
	default:
		return false, nil
	}
	if err != nil && !errors.Is(err, ErrConflict) {
		return false, storeErr(err)
	}
	return true, nil
}

func (s *Service) result(ctx context.Context, o Outcome, b Binding, ds []Digest) (*Result, error) {
	res := &Result{Outcome: o, CodeID: b.Digest.CodeID(), AccessUntil: b.AccessUntil}
	r, err := s.cfg.Billing.Redemption(ctx, ds)
	if err == nil && r != nil {
		res.VEID, res.ServiceDay = r.VEID, r.ServiceDay
	}
	return res, nil
}

func (s *Service) sealCode(d Digest, code kassenapi.Code) ([]byte, error) {
	return s.cfg.Seal.Seal(aad("billing_redemptions", "code_ct", hex.EncodeToString(d.Sum[:])), []byte(code.Plain()))
}

func (s *Service) openCode(r *Redemption) (kassenapi.Code, error) {
	pt, err := s.cfg.Seal.Open(aad("billing_redemptions", "code_ct", hex.EncodeToString(r.Digest.Sum[:])), r.CodeCT)
	if err != nil {
		return kassenapi.Code{}, err
	}
	return kassenapi.ParseCode(string(pt))
}

// check runs steps 4–6 of the Redeem flow for a claimed binding.
func (s *Service) check(ctx context.Context, account string, code kassenapi.Code, b Binding, attempt string, recheck bool) (*Result, error) {
	now := s.now()
	red, err := s.cfg.Billing.BeginCheck(ctx, CheckStart{
		Digests: uniqueDigests(b.Digest, s.mustDigests(code)), CodeCT: func(d Digest) ([]byte, error) { return s.sealCode(d, code) },
		Prefix: code.Prefix(), AttemptID: attempt, LeaseUntil: now.Add(s.cfg.Lease), Now: now, Recheck: recheck,
	})
	if err != nil {
		if errors.Is(err, ErrConflict) && red != nil && red.State == RedemptionValidated && red.Claimable {
			return s.claimResolved(ctx, b, attempt, red)
		}
		_ = s.cfg.Bindings.Release(context.WithoutCancel(ctx), b.Digest, attempt)
		if errors.Is(err, ErrConflict) {
			if red != nil && red.State == RedemptionValidated {
				return nil, ErrCodeAlreadyRedeemed
			}
			return nil, ErrRedemptionInProgress
		}
		return nil, storeErr(err)
	}
	if err := s.fault("check:claimed"); err != nil {
		return nil, err
	}
	res, err := s.runCheck(ctx, code, red, attempt)
	if err != nil {
		return nil, err
	}
	return s.bind(ctx, b, attempt, res)
}

func (s *Service) mustDigests(code kassenapi.Code) []Digest {
	ds, _ := s.dg.Digests(code)
	return ds
}

func uniqueDigests(first Digest, rest []Digest) []Digest {
	out := []Digest{first}
	for _, d := range rest {
		if d != first {
			out = append(out, d)
		}
	}
	return out
}

// checkResult is a recorded check outcome.
type checkResult struct {
	state   RedemptionState
	veid    string
	day     kassenapi.Date
	err     error // the error for the caller unless validated
	invoice string
}

// runCheck calls the insurer for a redemption in state checking and
// records the outcome (steps 4 and 5). The redemption must be leased to
// attempt.
func (s *Service) runCheck(ctx context.Context, code kassenapi.Code, red *Redemption, attempt string) (*checkResult, error) {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CheckBudget)
	cc, cerr := s.cfg.Checker.ValidateCode(cctx, code)
	cancel()
	if err := s.fault("check:answered"); err != nil {
		return nil, err
	}
	now := s.now()
	o := CheckOutcome{Digest: red.Digest, AttemptID: attempt, Now: now}
	var exs []kassenapi.Exchange
	res := &checkResult{}
	if cerr == nil {
		exs = cc.Exchanges
		o.State, o.VEID, o.ServiceDay, o.InsurerIK = RedemptionValidated, cc.VEID, cc.ServiceDay, cc.Route.Entry.IK
		o.Invoice = s.newInvoice(code.IsTest(), "380", now)
		res.veid, res.day = cc.VEID, cc.ServiceDay
	} else {
		exs = exchangesOf(cerr)
		o.State, res.err = classifyCheck(cerr)
		if o.State == RedemptionUnknown {
			o.NextCheckAt = now.Add(recheckBackoff(red.Checks - 1))
			if red.Checks > 0 {
				o.NeedsReview = red.CreatedAt.Before(now.Add(-72 * time.Hour))
			}
		}
		if o.State == RedemptionRejected && (red.PrevState == RedemptionUnknown || red.PrevState == RedemptionChecking) {
			o.NeedsReview = true // spec B3.9: a lost first answer may have been ANT
		}
	}
	if len(exs) > 0 {
		o.InsurerIK = exs[0].InsurerIK
	}
	o.Protocol = s.protocolRows(ProcessCheck, exs, red.Digest, red.CodeCT, attempt, "")
	res.state = o.State
	num, err := s.cfg.Billing.FinishCheck(context.WithoutCancel(ctx), o)
	if err != nil {
		s.log.Warn("billing: recording check outcome failed", "code_id", red.Digest.CodeID(), "state", string(o.State), "err", err)
		// The insurer may have answered ANT: leave the row checking; its
		// lease expires and the reconciler re-checks.
		return nil, ErrOutcomeUnknown
	}
	res.invoice = num
	s.mirror(ctx, len(o.Protocol))
	if err := s.fault("check:recorded"); err != nil {
		return nil, err
	}
	return res, nil
}

// classifyCheck maps a check error to the redemption state and the
// caller's error (spec B3.3, B3.4 HTTP mapping).
func classifyCheck(err error) (RedemptionState, error) {
	switch {
	case errors.Is(err, kassenapi.ErrCodeExpired):
		return RedemptionRejected, &InvalidCodeError{Reason: ReasonExpired, Err: kassenapi.ErrCodeExpired}
	case errors.Is(err, kassenapi.ErrCodeCancelled):
		return RedemptionRejected, &InvalidCodeError{Reason: ReasonCancelled, Err: kassenapi.ErrCodeCancelled}
	case errors.Is(err, kassenapi.ErrCodeNotFound):
		return RedemptionRejected, &InvalidCodeError{Reason: ReasonNotFound, Err: kassenapi.ErrCodeNotFound}
	case errors.Is(err, kassenapi.ErrUnknownPrefix), errors.Is(err, kassenapi.ErrInsurerInsolvent), errors.Is(err, kassenapi.ErrNoElectronicEndpoint):
		return RedemptionFailed, routeErr(err)
	case errors.Is(err, kassenapi.ErrTestCodeNotAllowed):
		return RedemptionFailed, &InvalidCodeError{Reason: ReasonTestCode, Err: err}
	}
	switch kassenapi.ClassOf(err) {
	case kassenapi.ClassRejected:
		return RedemptionRejected, &InvalidCodeError{Reason: ReasonNotFound, Err: err}
	case kassenapi.ClassInternal:
		return RedemptionRejected, fmt.Errorf("%w: %w", ErrUnavailable, err)
	case kassenapi.ClassOutcomeUnknown:
		return RedemptionUnknown, ErrOutcomeUnknown
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return RedemptionUnknown, ErrOutcomeUnknown
	}
	return RedemptionFailed, fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// recheckBackoff is the re-check schedule of spec B3.9.
func recheckBackoff(checks int) time.Duration {
	steps := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}
	if checks < len(steps) {
		return steps[checks]
	}
	return 6 * time.Hour
}

// bind runs step 6: activate, release or keep the pending binding.
func (s *Service) bind(ctx context.Context, b Binding, attempt string, res *checkResult) (*Result, error) {
	ctx = context.WithoutCancel(ctx)
	switch res.state {
	case RedemptionValidated:
		until := s.cfg.Policy.accessUntil(res.veid, res.day)
		if err := s.cfg.Bindings.Activate(ctx, b.Digest, attempt, until, s.now()); err != nil {
			s.log.Warn("billing: activation failed; the reconciler activates", "code_id", b.Digest.CodeID(), "err", err)
			return nil, ErrOutcomeUnknown
		}
		return &Result{Outcome: Activated, CodeID: b.Digest.CodeID(), VEID: res.veid, ServiceDay: res.day, AccessUntil: until}, nil
	case RedemptionUnknown:
		_ = s.cfg.Bindings.Extend(ctx, b.Digest, attempt, s.now().Add(s.cfg.Lease))
		return nil, res.err
	default:
		if err := s.cfg.Bindings.Release(ctx, b.Digest, attempt); err != nil && !errors.Is(err, ErrConflict) {
			s.log.Warn("billing: release failed; the reconciler releases", "code_id", b.Digest.CodeID(), "err", err)
		}
		return nil, res.err
	}
}

// newInvoice describes a new invoice row for the numbering of now.
func (s *Service) newInvoice(test bool, typ string, now time.Time) *NewInvoice {
	p := s.cfg.Numbering.Prefix
	if test {
		p = s.cfg.Numbering.TestPrefix
	}
	year := fmt.Sprintf("%04d", now.In(berlin).Year())
	return &NewInvoice{Series: p + year, Prefix: p + year, Width: s.cfg.Numbering.Width, Type: typ, Test: test, Now: now}
}

// mirror copies pending protocol rows to the audit sink (best effort; the
// reconciler repeats whatever is left).
func (s *Service) mirror(ctx context.Context, n int) {
	if s.cfg.Audit == nil || n == 0 {
		return
	}
	_, _ = s.MirrorAudit(ctx, 100)
}

// MirrorAudit mirrors up to limit protocol rows to the audit sink and
// removes them from the backlog (spec B3.8).
func (s *Service) MirrorAudit(ctx context.Context, limit int) (int, error) {
	if s.cfg.Audit == nil {
		return 0, nil
	}
	rows, err := s.cfg.Billing.AuditPending(ctx, limit)
	if err != nil {
		return 0, err
	}
	var done []int64
	for _, p := range rows {
		if err := s.cfg.Audit.RecordBillingExchange(ctx, AuditEventOf(p)); err != nil {
			break
		}
		done = append(done, p.ID)
	}
	if len(done) > 0 {
		if err := s.cfg.Billing.AuditDone(ctx, done); err != nil {
			return 0, err
		}
	}
	return len(done), nil
}

// AccountRedemption is one redemption of an account, as listed to its
// owner: never the code or its digest.
type AccountRedemption struct {
	RedeemedAt  time.Time
	VEID        string
	ServiceDay  kassenapi.Date
	AccessUntil kassenapi.Date
	State       string // "active"
}

// Redemptions lists the activations of an account, newest first, with
// the VE-ID and service day from the billing database.
func (s *Service) Redemptions(ctx context.Context, accountID string) ([]AccountRedemption, error) {
	as, err := s.cfg.Bindings.Activations(ctx, accountID)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]AccountRedemption, 0, len(as))
	for _, a := range as {
		ar := AccountRedemption{RedeemedAt: a.At, AccessUntil: a.AccessUntil, State: string(BindingActive)}
		if r, err := s.cfg.Billing.Redemption(ctx, []Digest{a.Digest}); err == nil && r != nil {
			ar.VEID, ar.ServiceDay = r.VEID, r.ServiceDay
		}
		out = append(out, ar)
	}
	return out, nil
}

// ForgetAccount deletes the account's bindings (account deletion, end of
// prescription). Billing rows stay, so the codes cannot be redeemed or
// billed again.
func (s *Service) ForgetAccount(ctx context.Context, accountID string) error {
	return s.cfg.Bindings.ForgetAccount(ctx, accountID)
}

// claimResolved binds a code whose review an operator resolved: the
// first account to redeem it afterwards gets it, without an insurer
// check (the insurer confirmed it to the operator).
func (s *Service) claimResolved(ctx context.Context, b Binding, attempt string, red *Redemption) (*Result, error) {
	ctx = context.WithoutCancel(ctx)
	if err := s.cfg.Billing.TakeClaim(ctx, []Digest{red.Digest}); err != nil {
		_ = s.cfg.Bindings.Release(ctx, b.Digest, attempt)
		if errors.Is(err, ErrConflict) {
			return nil, ErrCodeAlreadyRedeemed
		}
		return nil, storeErr(err)
	}
	until := s.cfg.Policy.accessUntil(red.VEID, red.ServiceDay)
	if err := s.cfg.Bindings.Activate(ctx, b.Digest, attempt, until, s.now()); err != nil {
		return nil, ErrOutcomeUnknown
	}
	return &Result{Outcome: Activated, CodeID: b.Digest.CodeID(), VEID: red.VEID, ServiceDay: red.ServiceDay, AccessUntil: until}, nil
}

// ResolveReview records what the insurer confirmed to an operator for a
// code whose lost first check was later answered with a rejection
// (rejected + needs_review, spec B3.3 last row and B3.9): the redemption
// becomes validated with veid and day, its 380 is created, and the next
// redemption of the code binds it without a check. The operator supplies
// the plain code (from the insurer's correspondence or the protocol
// export). It returns the invoice number; ErrConflict when the code is
// not under review.
func (s *Service) ResolveReview(ctx context.Context, input, veid string, day kassenapi.Date) (string, error) {
	code, err := kassenapi.ParseCode(input)
	if err != nil {
		return "", &InvalidCodeError{Reason: ReasonFormat, Err: err}
	}
	if len(veid) != 8 || strings.Trim(veid, "0123456789") != "" || day.IsZero() {
		return "", errors.New("billing: ResolveReview needs an 8-digit VE-ID and the service day")
	}
	ds, err := s.dg.Digests(code)
	if err != nil {
		return "", err
	}
	return s.cfg.Billing.Resolve(ctx, ds, veid, day, *s.newInvoice(code.IsTest(), "380", s.now()))
}
