package billingtest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/kassenapitest"
	"github.com/digakit/digakit/kassenapi/xrechnung/xrechnungtest"
)

// Insurer is an in-process fake of the insurers' code check and billing
// answers for the billing layer: it implements billing.Checker and
// billing.Submitter without HTTP or CMS, so that concurrency and crash
// tests run fast. It validates invoices with xrechnung.Check, applies the
// business rules of spec B5 (the code must have had an ANT from this fake;
// one code is never billed under two 380 numbers) and answers with VARL
// reports. The network fake with SECON CMS is kassenapi/kassenapitest.
type Insurer struct {
	// VEID and ServiceDay are returned with every ANT; InsurerIK is the
	// Kostentraegerkennung of the exchanges.
	VEID       string
	ServiceDay kassenapi.Date
	InsurerIK  string
	SenderIK   string
	// Clock stamps the exchanges; nil means time.Now.
	Clock func() time.Time
	// Delay is waited in every call (honouring ctx).
	Delay time.Duration
	// RejectDuplicate: an invoice number sent again is rejected as a
	// duplicate (INVER) instead of accepted silently.
	RejectDuplicate bool

	iks       map[string]string
	mu        sync.Mutex
	checks    map[string]int
	ant       map[string]bool
	answers   map[string]error
	dropCheck int
	dropInv   int
	failInv   int
	invoices  []Invoice
	billed    map[string][]string
	calls     int
	invCalls  int
}

// Invoice is one invoice the fake booked.
type Invoice struct {
	Number string
	Code   string
	Type   string
	XML    []byte
}

// NewInsurer returns a fake that answers ANT with veid and day. The
// insurer IK of an answer is the IK of the code's prefix in Entries
// (InsurerIK for unknown prefixes and test codes).
func NewInsurer(veid string, day kassenapi.Date) *Insurer {
	iks := map[string]string{}
	for _, e := range Entries() {
		iks[e.Prefix] = e.IK
	}
	return &Insurer{VEID: veid, ServiceDay: day, InsurerIK: IKAPI, SenderIK: kassenapitest.ManufacturerIK, iks: iks}
}

func (f *Insurer) ikFor(code kassenapi.Code) string {
	if ik, ok := f.iks[code.Prefix()]; ok {
		return ik
	}
	return f.InsurerIK
}

func (f *Insurer) init() {
	if f.checks == nil {
		f.checks, f.ant, f.answers, f.billed = map[string]int{}, map[string]bool{}, map[string]error{}, map[string][]string{}
	}
}

// Answer makes every check of code fail with err (e.g. an
// *kassenapi.InsurerError with Fehlernummer 102).
func (f *Insurer) Answer(code string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.init()
	f.answers[code] = err
}

// FEH returns the insurer error of a Fehlernummer, as the client reports
// it.
func FEH(n int) error {
	class := kassenapi.ClassRejected
	switch {
	case n == 200 || n >= 300:
		class = kassenapi.ClassInternal
	case n > 200:
		class = kassenapi.ClassTransient
	}
	return &kassenapi.InsurerError{Infos: []kassenapi.FehlerInfo{{Nummer: n}}, Class: class, Procedure: kassenapi.ProcedureCheck}
}

// DropChecks makes the next n checks accept-then-drop: the fake records
// the ANT, the caller sees an outcome-unknown transport error.
func (f *Insurer) DropChecks(n int) { f.mu.Lock(); f.dropCheck = n; f.mu.Unlock() }

// DropInvoices makes the next n invoices accept-then-drop: booked, but the
// caller sees an outcome-unknown transport error.
func (f *Insurer) DropInvoices(n int) { f.mu.Lock(); f.dropInv = n; f.mu.Unlock() }

// FailInvoices makes the next n invoices fail before sending (transient).
func (f *Insurer) FailInvoices(n int) { f.mu.Lock(); f.failInv = n; f.mu.Unlock() }

// CountFor returns the number of checks of code.
func (f *Insurer) CountFor(code string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checks[code]
}

// Checks returns the total number of checks.
func (f *Insurer) Checks() int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

// InvoiceCalls returns the total number of invoice submissions.
func (f *Insurer) InvoiceCalls() int { f.mu.Lock(); defer f.mu.Unlock(); return f.invCalls }

// Invoices returns the booked invoices.
func (f *Insurer) Invoices() []Invoice {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.invoices)
}

// BilledCodes maps each billed code to its distinct 380 numbers.
func (f *Insurer) BilledCodes() map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]string{}
	for k, v := range f.billed {
		out[k] = slices.Clone(v)
	}
	return out
}

// exchangeError carries exchanges like the client's errors do.
type exchangeError struct {
	err error
	exs []kassenapi.Exchange
}

func (e *exchangeError) Error() string                   { return e.err.Error() }
func (e *exchangeError) Unwrap() error                   { return e.err }
func (e *exchangeError) Exchanges() []kassenapi.Exchange { return e.exs }

func (f *Insurer) wait(ctx context.Context) error {
	if f.Delay <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(f.Delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (f *Insurer) exchange(proc string, code kassenapi.Code, number string) kassenapi.Exchange {
	at := time.Now()
	if f.Clock != nil {
		at = f.Clock()
	}
	ik := f.ikFor(code)
	return kassenapi.Exchange{At: at, Procedure: proc, SenderIK: f.SenderIK, ReceiverIK: ik, InsurerIK: ik,
		Code: code, InvoiceNumber: number, Attempt: 1, Sent: true, OK: true, HTTPStatus: 200}
}

// ValidateCode implements billing.Checker.
func (f *Insurer) ValidateCode(ctx context.Context, code kassenapi.Code) (*kassenapi.CodeCheck, error) {
	if err := f.wait(ctx); err != nil {
		return nil, &kassenapi.TransportError{Class: kassenapi.ClassTransient, Err: err}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.init()
	p := code.Plain()
	f.calls++
	f.checks[p]++
	proc := kassenapi.ProcedureCheck
	if code.IsTest() {
		proc = kassenapi.ProcedureCheckTest
	}
	ex := f.exchange(proc, code, "")
	if err := f.answers[p]; err != nil {
		var ie *kassenapi.InsurerError
		if errors.As(err, &ie) {
			ex.FehlerNummern = ie.Numbers()
		}
		ex.Class = kassenapi.ClassOf(err)
		return nil, &exchangeError{err: err, exs: []kassenapi.Exchange{ex}}
	}
	f.ant[p] = true
	if f.dropCheck > 0 {
		f.dropCheck--
		ex.OK, ex.Class = false, kassenapi.ClassOutcomeUnknown
		return nil, &exchangeError{err: &kassenapi.TransportError{Sent: true, Class: kassenapi.ClassOutcomeUnknown, Err: errors.New("connection reset")}, exs: []kassenapi.Exchange{ex}}
	}
	return &kassenapi.CodeCheck{Code: code, Procedure: proc, VEID: f.VEID, ServiceDay: f.ServiceDay,
		Route:     kassenapi.Route{Entry: kassenapi.Entry{IK: f.ikFor(code), ClearingIK: f.ikFor(code)}},
		Exchanges: []kassenapi.Exchange{ex}}, nil
}

// SubmitInvoice implements billing.Submitter.
func (f *Insurer) SubmitInvoice(ctx context.Context, s kassenapi.InvoiceSubmission) (*kassenapi.InvoiceAnswer, error) {
	if err := f.wait(ctx); err != nil {
		return nil, &kassenapi.TransportError{Sent: true, Class: kassenapi.ClassOutcomeUnknown, Err: err}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.init()
	f.invCalls++
	proc := kassenapi.ProcedureInvoice
	if s.Test {
		proc = kassenapi.ProcedureInvoiceTest
	}
	ex := f.exchange(proc, s.Code, s.Number)
	if f.failInv > 0 {
		f.failInv--
		ex.Sent, ex.OK, ex.Class = false, false, kassenapi.ClassTransient
		return nil, &exchangeError{err: &kassenapi.TransportError{Sent: false, Class: kassenapi.ClassTransient, Err: errors.New("connection refused")}, exs: []kassenapi.Exchange{ex}}
	}
	number, code, typ := xrechnungtest.InvoiceKeys(s.XML)
	msgs := xrechnungtest.CheckMessages(s.XML)
	if len(msgs) == 0 {
		switch {
		case !f.ant[code]:
			msgs = append(msgs, xrechnungtest.ReportMessage{Step: "INVER", Code: "INVER-1", Text: "fake: Freischaltcode / Rezeptcode nicht gefunden"})
		case typ == "380" && len(f.billed[code]) > 0 && !slices.Contains(f.billed[code], number):
			msgs = append(msgs, xrechnungtest.ReportMessage{Step: "INVER", Code: "INVER-2", Text: "fake: Freischaltcode bereits unter anderer Rechnungsnummer abgerechnet"})
		case f.booked(number) && f.RejectDuplicate:
			msgs = append(msgs, xrechnungtest.ReportMessage{Step: "INVER", Code: "INVER-3", Text: "fake: Rechnungsnummer bereits vorhanden"})
		}
	}
	if len(msgs) == 0 && !f.booked(number) {
		f.invoices = append(f.invoices, Invoice{Number: number, Code: code, Type: typ, XML: slices.Clone(s.XML)})
		if typ == "380" {
			f.billed[code] = append(f.billed[code], number)
		}
	}
	if f.dropInv > 0 && len(msgs) == 0 {
		f.dropInv--
		ex.OK, ex.Class = false, kassenapi.ClassOutcomeUnknown
		return nil, &exchangeError{err: &kassenapi.TransportError{Sent: true, Class: kassenapi.ClassOutcomeUnknown, Err: errors.New("connection reset")}, exs: []kassenapi.Exchange{ex}}
	}
	if len(msgs) > 0 {
		ex.Class = kassenapi.ClassRejected
	}
	return &kassenapi.InvoiceAnswer{Payload: xrechnungtest.Report(s.XML, number, code, msgs, time.Now()), Exchanges: []kassenapi.Exchange{ex}}, nil
}

func (f *Insurer) booked(number string) bool {
	return slices.ContainsFunc(f.invoices, func(i Invoice) bool { return i.Number == number })
}
