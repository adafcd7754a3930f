package billing

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ReconcileReport counts what one Reconcile pass did.
type ReconcileReport struct {
	Rechecked   int // insurer re-checks of unknown/expired checks
	Activated   int // pending bindings activated from validated rows
	Released    int // pending bindings released
	Invoiced    int // validated rows that got their missing 380
	Requeued    int // needs_address/needs_data rows back to queued
	Mirrored    int // protocol rows mirrored to audit
	NeedsReview int // rows flagged for review in this pass
}

// Reconcile runs one idempotent reconciliation pass (spec B3.9); it is
// safe to run on several instances at once (CAS and leases):
//
//  1. unknown redemptions, and checking ones whose lease expired, are
//     re-checked with the insurer on the backoff schedule;
//  2. expired pending bindings are activated (validated) or released
//     (rejected, failed, absent); open ones keep waiting;
//  3. validated redemptions without a 380 get one (a bug; logged);
//  4. needs_address/needs_data invoices go back to queued;
//  5. protocol rows left in the audit backlog are mirrored.
//
// REQ: kassenapi-spec:B3.9
func (s *Service) Reconcile(ctx context.Context) (ReconcileReport, error) {
	var rep ReconcileReport
	var errs []error
	due, err := s.cfg.Billing.DueRechecks(ctx, s.now(), 50)
	if err != nil {
		errs = append(errs, err)
	}
	for _, r := range due {
		if err := s.recheck(ctx, r, &rep); err != nil {
			if errors.Is(err, errAbandon) {
				return rep, err
			}
			errs = append(errs, err)
		}
	}
	exp, err := s.cfg.Bindings.Expired(ctx, s.now(), 200)
	if err != nil {
		errs = append(errs, err)
	}
	for _, b := range exp {
		r, err := s.cfg.Billing.Redemption(ctx, []Digest{b.Digest})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch {
		case r != nil && r.State == RedemptionValidated:
			err = s.cfg.Bindings.Activate(ctx, b.Digest, b.AttemptID, s.cfg.Policy.accessUntil(r.VEID, r.ServiceDay), s.now())
			if err == nil {
				rep.Activated++
			}
		case r == nil || r.State == RedemptionRejected || r.State == RedemptionFailed:
			err = s.cfg.Bindings.Release(ctx, b.Digest, b.AttemptID)
			if err == nil {
				rep.Released++
			}
		default:
			// still open: keep the claim until the re-check decides
			err = s.cfg.Bindings.Extend(ctx, b.Digest, b.AttemptID, s.now().Add(s.cfg.Lease))
		}
		if err != nil && !errors.Is(err, ErrConflict) {
			errs = append(errs, err)
		}
	}
	missing, err := s.cfg.Billing.ValidatedWithoutInvoice(ctx, 50)
	if err != nil {
		errs = append(errs, err)
	}
	for _, r := range missing {
		code, err := s.openCode(&r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := s.cfg.Billing.CreateInvoice(ctx, r.ID, *s.newInvoice(code.IsTest(), "380", s.now())); err != nil {
			errs = append(errs, err)
			continue
		}
		s.log.Error("billing: validated redemption had no invoice; created one", "code_id", r.Digest.CodeID())
		rep.Invoiced++
	}
	if rep.Requeued, err = s.cfg.Billing.Requeue(ctx, s.now()); err != nil {
		errs = append(errs, err)
	}
	if rep.Mirrored, err = s.MirrorAudit(ctx, 500); err != nil {
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

// recheck re-checks one open redemption with the insurer.
func (s *Service) recheck(ctx context.Context, r Redemption, rep *ReconcileReport) error {
	code, err := s.openCode(&r)
	if err != nil {
		return fmt.Errorf("billing: open code of %s: %w", r.Digest.CodeID(), err)
	}
	attempt := s.newID()
	now := s.now()
	red, err := s.cfg.Billing.BeginCheck(ctx, CheckStart{Digests: []Digest{r.Digest}, Prefix: r.Prefix,
		AttemptID: attempt, LeaseUntil: now.Add(s.cfg.Lease), Now: now, Recheck: true,
		CodeCT: func(Digest) ([]byte, error) { return r.CodeCT, nil }})
	if err != nil {
		if errors.Is(err, ErrConflict) {
			return nil
		}
		return err
	}
	res, err := s.runCheck(ctx, code, red, attempt)
	if err != nil {
		if errors.Is(err, ErrOutcomeUnknown) {
			return nil
		}
		return fmt.Errorf("%w: %w", errAbandon, err)
	}
	rep.Rechecked++
	if res.state == RedemptionRejected && (r.State == RedemptionUnknown || r.State == RedemptionChecking) {
		rep.NeedsReview++
	}
	return nil
}

// Run is the worker loop for users without a job system: Reconcile at
// start and every minute, SubmitDue every 30 s, until ctx ends. It
// returns ctx.Err(). Several instances may run at once (leases and CAS).
// The refserver runs the same steps as River jobs instead.
func (s *Service) Run(ctx context.Context) error {
	submit := time.NewTicker(30 * time.Second)
	defer submit.Stop()
	rec := time.NewTicker(time.Minute)
	defer rec.Stop()
	if _, err := s.Reconcile(ctx); err != nil {
		s.log.Warn("billing: reconcile", "err", err)
	}
	for {
		if _, err := s.SubmitDue(ctx, 50); err != nil && ctx.Err() == nil {
			s.log.Warn("billing: submit", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-rec.C:
			if _, err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("billing: reconcile", "err", err)
			}
		case <-submit.C:
		}
	}
}

// Stats returns the monitoring summary with the alert ages of spec B3.9:
// queued over 48 h, submit_unknown over 24 h, manual_pending over 7 days.
func (s *Service) Stats(ctx context.Context) (Stats, error) {
	return s.cfg.Billing.Stats(ctx, s.now(), StatAges{Queued: 48 * time.Hour, SubmitUnknown: 24 * time.Hour, ManualPending: 7 * 24 * time.Hour})
}
