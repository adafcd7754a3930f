package billing

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/xrechnung"
)

// invoiceBackoff is the per-invoice retry schedule of spec B3.5.
func invoiceBackoff(attempts int) time.Duration {
	steps := []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour}
	if attempts < len(steps) {
		return steps[attempts]
	}
	return 6 * time.Hour
}

func xdate(d kassenapi.Date) xrechnung.Date { return xrechnung.NewDate(d.Year, d.Month, d.Day) }

func (s *Service) xmlAAD(number string) []byte { return aad("billing_invoices", "xml_ct", number) }

// SubmitDue runs one pass of the submission worker (spec B3.5): it leases
// up to max due invoices, builds those without stored bytes, routes
// Versandart 2/3 to the manual-dispatch queue and sends the others with
// EDRE0 (TDRE0 for test invoices when TestBilling), always the stored
// bytes and number. It returns the number of invoices handled. Two passes
// may overlap: the lease decides who handles a row.
//
// REQ: kassenapi-spec:B3.5
func (s *Service) SubmitDue(ctx context.Context, max int) (int, error) {
	if max <= 0 {
		max = 20
	}
	owner := s.newID()
	now := s.now()
	rows, err := s.cfg.Billing.ClaimInvoices(ctx, owner, now, now.Add(s.cfg.InvoiceLease), max)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rows {
		if err := s.submitOne(ctx, owner, r); err != nil {
			if errors.Is(err, errAbandon) {
				return n, err
			}
			s.log.Warn("billing: invoice pass", "invoice", r.Number, "err", err)
			continue
		}
		n++
	}
	return n, nil
}

// errAbandon wraps a Fault: the pass stops at once, as on a crash.
var errAbandon = errors.New("billing: abandoned at a fault point")

func (s *Service) faultAbandon(point string) error {
	if err := s.fault(point); err != nil {
		return fmt.Errorf("%w: %w", errAbandon, err)
	}
	return nil
}

func (s *Service) finish(ctx context.Context, r InvoiceRow, owner string, o InvoiceOutcome) error {
	o.ID, o.Owner = r.ID, owner
	if o.Now.IsZero() {
		o.Now = s.now()
	}
	if o.NextAt.IsZero() {
		o.NextAt = o.Now
	}
	err := s.cfg.Billing.FinishInvoice(context.WithoutCancel(ctx), o)
	if err == nil {
		s.mirror(ctx, len(o.Protocol))
	}
	return err
}

func (s *Service) submitOne(ctx context.Context, owner string, r InvoiceRow) error {
	code, err := s.openCode(&r.Redemption)
	if err != nil {
		return s.finish(ctx, r, owner, InvoiceOutcome{State: InvoiceNeedsData, NeedsReview: true, Messages: "sealed code cannot be opened"})
	}
	route, rerr := s.routeForInvoice(code)
	xmlBytes := []byte(nil)
	if r.XMLCT != nil {
		if xmlBytes, err = s.cfg.Seal.Open(s.xmlAAD(r.Number), r.XMLCT); err != nil {
			return s.finish(ctx, r, owner, InvoiceOutcome{State: InvoiceNeedsData, NeedsReview: true, Messages: "sealed invoice cannot be opened"})
		}
	}
	if rerr != nil {
		st := InvoiceNeedsData
		if r.MaybeSent {
			st = InvoiceSubmitUnknown
		}
		return s.finish(ctx, r, owner, InvoiceOutcome{State: st, NeedsReview: true, Messages: "route: " + rerr.Error(), NextAt: s.now().Add(invoiceBackoff(r.Attempts))})
	}
	entry := route.Entry
	if !r.MaybeSent && entry.Dispatch != kassenapi.DispatchAPI {
		return s.toManual(ctx, owner, r, code, entry, xmlBytes)
	}
	if r.MaybeSent && !entry.HasAPI() {
		// A resend may not go to manual dispatch: the first send may
		// have been booked (spec B3.5).
		return s.finish(ctx, r, owner, InvoiceOutcome{State: InvoiceSubmitUnknown, NeedsReview: true,
			Messages: "insurer has no API channel any more", NextAt: s.now().Add(invoiceBackoff(r.Attempts))})
	}
	if xmlBytes == nil {
		var st InvoiceState
		var msg string
		xmlBytes, st, msg = s.build(r, code, entry)
		if xmlBytes == nil {
			return s.finish(ctx, r, owner, InvoiceOutcome{State: st, Messages: msg, NeedsReview: st == InvoiceRejectedFormat})
		}
		ct, err := s.cfg.Seal.Seal(s.xmlAAD(r.Number), xmlBytes)
		if err != nil {
			return err
		}
		if err := s.cfg.Billing.SaveXML(ctx, r.ID, owner, ct); err != nil {
			return err
		}
		if err := s.faultAbandon("invoice:built"); err != nil {
			return err
		}
	}
	if r.Test && !s.cfg.TestBilling {
		// Test invoices are built and checked locally only (B3.2 inv. 3).
		return s.finish(ctx, r, owner, InvoiceOutcome{State: InvoiceAccepted, Verdict: "local_only"})
	}
	if err := s.cfg.Billing.MarkSending(ctx, r.ID, owner); err != nil {
		return err
	}
	ans, serr := s.cfg.Submitter.SubmitInvoice(ctx, kassenapi.InvoiceSubmission{Route: route, Test: r.Test, Number: r.Number, Code: code, XML: xmlBytes})
	if err := s.faultAbandon("invoice:sent"); err != nil {
		return err
	}
	merged := r.Redemption.InsurerIK != "" && entry.IK != r.Redemption.InsurerIK
	if merged {
		// The insurer changed since the check (merger): the current route
		// is used; the row is flagged (spec B3.5). Post-merger billing is
		// unverified.
		s.log.Warn("billing: insurer IK changed since the check", "invoice", r.Number, "checked_ik", r.Redemption.InsurerIK, "current_ik", entry.IK)
	}
	return s.recordAnswer(ctx, owner, r, code, ans, serr, merged)
}

func (s *Service) routeForInvoice(code kassenapi.Code) (kassenapi.Route, error) {
	dir := s.cfg.Directory.Current()
	if dir == nil {
		return kassenapi.Route{}, kassenapi.ErrDirectoryUnavailable
	}
	prefix := code.Prefix()
	if code.IsTest() && s.cfg.TestPrefix != "" {
		prefix = s.cfg.TestPrefix
	}
	r, err := dir.Route(prefix, Today(s.now()))
	if err != nil && !errors.Is(err, kassenapi.ErrNoElectronicEndpoint) {
		return r, err
	}
	return r, nil
}

// buyer returns the insurer party, applying address overrides; ok is
// false when postcode or city are missing (needs_address).
func (s *Service) buyer(e kassenapi.Entry) (xrechnung.Party, bool) {
	street := e.Address.Street
	if e.Address.HouseNumber != "" {
		street += " " + e.Address.HouseNumber
	}
	a := xrechnung.Address{Street: street, Extra: e.Address.Addition, Postcode: e.Address.PostalCode, City: e.Address.City, Country: "DE"}
	if o, ok := s.cfg.AddressOverrides[e.IK]; ok {
		a = o
	}
	return xrechnung.Party{IK: e.IK, Name: e.Name, Address: a}, a.Postcode != "" && a.City != ""
}

// build renders the invoice of a row; on failure it returns the state.
func (s *Service) build(r InvoiceRow, code kassenapi.Code, e kassenapi.Entry) ([]byte, InvoiceState, string) {
	buyer, ok := s.buyer(e)
	if !ok {
		return nil, InvoiceNeedsAddress, "buyer postcode or city missing"
	}
	red := r.Redemption
	inv := xrechnung.Invoice{
		Number: r.Number, Type: xrechnung.TypeCode(r.Type), IssueDate: xdate(Today(s.now())),
		Seller: s.cfg.Seller, Buyer: buyer, Payee: s.cfg.Payee,
		VEID: red.VEID, Code: code.Plain(), ServiceDay: xdate(red.ServiceDay),
	}
	if err := s.cfg.Catalog.Apply(&inv); err != nil {
		return nil, InvoiceNeedsData, "no price for the DiGA-VE-ID on the service day"
	}
	if r.Type == string(xrechnung.TypeCorrection) {
		inv.NetCents = r.NetCents
		inv.Corrects = r.Corrects
		reason, err := xrechnung.ParseCorrectionReason(r.Reason)
		if err != nil {
			return nil, InvoiceNeedsData, "bad correction reason"
		}
		inv.Reason = &reason
	}
	b, err := xrechnung.Build(inv)
	if err != nil {
		var ce *xrechnung.CheckError
		if errors.As(err, &ce) {
			return nil, InvoiceRejectedFormat, ce.Error()
		}
		return nil, InvoiceNeedsData, err.Error()
	}
	return b, "", ""
}

// toManual routes a Versandart 2/3 invoice to the manual-dispatch queue
// with its target (spec B3.6).
func (s *Service) toManual(ctx context.Context, owner string, r InvoiceRow, code kassenapi.Code, e kassenapi.Entry, xmlBytes []byte) error {
	target := e.Email
	if e.Dispatch == kassenapi.DispatchPost {
		if !e.Address.Complete() {
			target = ""
		} else {
			a := e.Address
			target = fmt.Sprintf("%s, %s %s, %s %s", e.Name, a.Street, a.HouseNumber, a.PostalCode, a.City)
			if a.Addition != "" {
				target = e.Name + ", " + a.Addition + ", " + target[len(e.Name)+2:]
			}
		}
	}
	if target == "" {
		return s.finish(ctx, r, owner, InvoiceOutcome{State: InvoiceNeedsAddress, Dispatch: int(e.Dispatch), Messages: "dispatch target missing"})
	}
	if xmlBytes == nil {
		var st InvoiceState
		var msg string
		xmlBytes, st, msg = s.build(r, code, e)
		if xmlBytes == nil {
			return s.finish(ctx, r, owner, InvoiceOutcome{State: st, Messages: msg, Dispatch: int(e.Dispatch)})
		}
		ct, err := s.cfg.Seal.Seal(s.xmlAAD(r.Number), xmlBytes)
		if err != nil {
			return err
		}
		if err := s.cfg.Billing.SaveXML(ctx, r.ID, owner, ct); err != nil {
			return err
		}
	}
	return s.finish(ctx, r, owner, InvoiceOutcome{State: InvoiceManualPending, Dispatch: int(e.Dispatch), Target: target})
}

// message is a stored report message (codes redacted).
type message struct {
	Step  string `json:"step,omitempty"`
	Code  string `json:"code"`
	Level string `json:"level"`
	Text  string `json:"text"`
}

func reportMessages(rep *xrechnung.Report) string {
	var ms []message
	for _, st := range rep.Steps {
		for _, m := range st.Messages {
			ms = append(ms, message{Step: st.ID, Code: m.Code, Level: m.Level, Text: m.SafeText()})
		}
	}
	for _, f := range rep.FEH {
		ms = append(ms, message{Code: fmt.Sprintf("FEH-%d", f.Number), Level: "error", Text: f.SafeText()})
	}
	if len(ms) == 0 {
		return ""
	}
	b, _ := json.Marshal(ms)
	return string(b)
}

// recordAnswer maps the submission result to the invoice state (spec
// B3.7) and records it with its protocol rows.
//
// REQ: kassenapi-spec:B3.7
func (s *Service) recordAnswer(ctx context.Context, owner string, r InvoiceRow, code kassenapi.Code, ans *kassenapi.InvoiceAnswer, serr error, review bool) error {
	now := s.now()
	o := InvoiceOutcome{Now: now, NextAt: now.Add(invoiceBackoff(r.Attempts))}
	var exs []kassenapi.Exchange
	ok := false
	if serr != nil {
		exs = exchangesOf(serr)
		var te *kassenapi.TransportError
		notSent := errors.As(serr, &te) && !te.Sent
		switch {
		case notSent && !r.MaybeSent:
			o.State, o.NotSent = InvoiceQueued, true
		default:
			o.State = InvoiceSubmitUnknown
		}
		o.Messages = "submission: " + kassenapi.ClassOf(serr).String()
	} else {
		exs = ans.Exchanges
		rep, err := xrechnung.ParseReport(ans.Payload)
		if err != nil {
			o.State, o.NeedsReview, o.Verdict, o.Messages = InvoiceSubmitUnknown, true, string(xrechnung.VerdictMismatch), "unparsable answer"
		} else {
			ct, err := s.cfg.Seal.Seal(aad("billing_invoices", "report_ct", r.Number), ans.Payload)
			if err != nil {
				return err
			}
			o.ReportCT, o.Messages = ct, reportMessages(rep)
			v := rep.ClassifyFor(r.Number, code.Plain())
			o.Verdict = string(v)
			switch v {
			case xrechnung.VerdictAccepted:
				o.State, ok = InvoiceAccepted, true
			case xrechnung.VerdictRejectedBusiness:
				if r.MaybeSent {
					// A resend rejected: possibly as a duplicate of a
					// booked first send (spec B3.9).
					o.State, o.NeedsReview = InvoiceAcceptedPresumed, true
				} else {
					o.State, o.NeedsReview = InvoiceRejectedBusiness, true
				}
			case xrechnung.VerdictRejectedFormat:
				o.State, o.NeedsReview = InvoiceRejectedFormat, true
			case xrechnung.VerdictRetry:
				o.State = InvoiceSubmitUnknown
				if !r.MaybeSent {
					o.State = InvoiceQueued
				}
			default:
				o.State, o.NeedsReview = InvoiceSubmitUnknown, true
			}
		}
	}
	o.NeedsReview = o.NeedsReview || review
	o.Protocol = s.protocolRows(ProcessInvoice, exs, r.Redemption.Digest, r.Redemption.CodeCT, "", r.Number)
	for i := range o.Protocol {
		if !ok {
			o.Protocol[i].Result = ResultError
		}
	}
	return s.finish(ctx, r, owner, o)
}

// Correct issues a correction invoice (384) for the invoice number with
// new full net amounts and an Anhang 7 reason (spec B2.2). The invoice must
// be accepted, accepted_presumed or manual_sent and not corrected yet; a
// second correction corrects the latest 384. It returns the new number;
// the 384 is built and sent by SubmitDue.
//
// REQ: kassenapi-spec:B2.2
func (s *Service) Correct(ctx context.Context, number string, newNetCents int64, reason xrechnung.CorrectionReason) (string, error) {
	if err := reason.Validate(); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidCorrection, err)
	}
	if newNetCents < 0 || newNetCents > xrechnung.MaxNetCents {
		return "", fmt.Errorf("%w: amount out of range", ErrInvalidCorrection)
	}
	orig, err := s.cfg.Billing.Invoice(ctx, number)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", fmt.Errorf("%w: %w", ErrInvalidCorrection, err)
		}
		return "", err
	}
	n := s.newInvoice(orig.Test, string(xrechnung.TypeCorrection), s.now())
	n.NetCents, n.Corrects, n.Reason = newNetCents, number, reason.String()
	return s.cfg.Billing.Correct(ctx, number, *n)
}

// ManualQueue lists the manual-dispatch queue (spec B3.6).
func (s *Service) ManualQueue(ctx context.Context, f ManualFilter) ([]InvoiceRow, error) {
	return s.cfg.Billing.ManualQueue(ctx, f)
}

// InvoiceXML returns the stored bytes of an invoice (for e-mail or print
// dispatch). They contain the code: hand them only to the operator.
func (s *Service) InvoiceXML(ctx context.Context, number string) ([]byte, error) {
	r, err := s.cfg.Billing.Invoice(ctx, number)
	if err != nil {
		return nil, err
	}
	if r.XMLCT == nil {
		return nil, ErrNotFound
	}
	return s.cfg.Seal.Open(s.xmlAAD(r.Number), r.XMLCT)
}

// MarkDispatched records that an operator sent a manual item (who, a
// reference), writing the protocol row (procedure MAIL or POST) in the
// same transaction. Items in needs_address are refused (ErrConflict).
//
// REQ: kassenapi-spec:B3.6
func (s *Service) MarkDispatched(ctx context.Context, number, by, reference string) error {
	if by == "" {
		return errors.New("billing: MarkDispatched needs the operator")
	}
	r, err := s.cfg.Billing.Invoice(ctx, number)
	if err != nil {
		return err
	}
	if r.State != InvoiceManualPending {
		return ErrConflict
	}
	now := s.now()
	proc := "MAIL"
	if r.Dispatch == int(kassenapi.DispatchPost) {
		proc = "POST"
	}
	p := ProtocolEntry{TS: now.UTC(), TSLocal: LocalTimestamp(now), Process: ProcessInvoice, Procedure: proc,
		SenderIK: s.cfg.ManufacturerIK, ReceiverIK: r.Redemption.InsurerIK, InsurerIK: r.Redemption.InsurerIK,
		CodeCT: r.Redemption.CodeCT, Digest: r.Redemption.Digest, Result: ResultOK, Class: kassenapi.ClassNone.String(),
		Sent: true, InvoiceNumber: number}
	if err := s.cfg.Billing.MarkDispatched(ctx, number, by, reference, now, p); err != nil {
		return err
	}
	s.mirror(ctx, 1)
	return nil
}

// ProtocolRecord is a decrypted protocol row for export.
type ProtocolRecord struct {
	ProtocolEntry
	Code string // plain Freischaltcode (auditors only)
}

// Protocol returns the protocol rows of the German days from..to
// (inclusive) with decrypted codes, for `digakit kasse protocol export`.
func (s *Service) Protocol(ctx context.Context, from, to kassenapi.Date) ([]ProtocolRecord, error) {
	return ExportProtocol(ctx, s.cfg.Billing, s.cfg.Seal, from, to)
}

// ExportProtocol reads the protocol rows of the German days from..to
// (inclusive) from a billing store and decrypts their codes.
func ExportProtocol(ctx context.Context, st BillingStore, seal Sealer, from, to kassenapi.Date) ([]ProtocolRecord, error) {
	rows, err := st.Protocol(ctx, from.String()+" 00:00:00", to.String()+" 23:59:59")
	if err != nil {
		return nil, err
	}
	out := make([]ProtocolRecord, len(rows))
	for i, p := range rows {
		out[i].ProtocolEntry = p
		if len(p.CodeCT) > 0 {
			pt, err := seal.Open(aad("billing_redemptions", "code_ct", hex.EncodeToString(p.Digest.Sum[:])), p.CodeCT)
			if err != nil {
				return nil, err
			}
			out[i].Code = string(pt)
		}
	}
	return out, nil
}

// Resubmit is the operator's "fix and resubmit" (spec B3.3): a
// rejected_format invoice is rebuilt from the current configuration with
// the same number, a rejected_business one is sent again with the same
// bytes. ErrConflict when the invoice is in another state.
func (s *Service) Resubmit(ctx context.Context, number string) error {
	r, err := s.cfg.Billing.Invoice(ctx, number)
	if err != nil {
		return err
	}
	switch r.State {
	case InvoiceRejectedFormat:
		return s.cfg.Billing.Transition(ctx, number, []InvoiceState{InvoiceRejectedFormat}, InvoiceQueued, true, s.now())
	case InvoiceRejectedBusiness:
		return s.cfg.Billing.Transition(ctx, number, []InvoiceState{InvoiceRejectedBusiness}, InvoiceQueued, false, s.now())
	}
	return ErrConflict
}

// Cancel withdraws an invoice that was never accepted: queued, needs_*
// or rejected_* (spec B3.3). The redemption stays validated, so the code
// is not billed again by the reconciler.
func (s *Service) Cancel(ctx context.Context, number string) error {
	return s.cfg.Billing.Transition(ctx, number, []InvoiceState{InvoiceQueued, InvoiceNeedsAddress, InvoiceNeedsData,
		InvoiceRejectedFormat, InvoiceRejectedBusiness}, InvoiceCancelled, false, s.now())
}
