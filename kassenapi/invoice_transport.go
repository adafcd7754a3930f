package kassenapi

import (
	"context"
	"errors"
)

// InvoiceSubmission is one ready invoice to transport (EDRE0/TDRE0).
type InvoiceSubmission struct {
	// Route is the insurer route from the directory (Lookup/Route).
	Route Route
	// Test selects TDRE0; it requires AllowTestCodes.
	Test bool
	// Number is the invoice number, for the protocol record.
	Number string
	// Code is the Freischaltcode billed, for the protocol record.
	Code Code
	// XML is the complete XRechnung CII invoice.
	XML []byte
}

// InvoiceAnswer is the decrypted, verified answer to an invoice: the
// insurer's report (VARL) or a FEH document. Package xrechnung parses it.
type InvoiceAnswer struct {
	Payload   Sensitive // prints redacted; []byte(Payload) for the bytes
	Warnings  []string
	Exchanges []Exchange
}

// SubmitInvoice sends an invoice via EDRE0 (TDRE0 when Test) to the
// route's endpoint and returns the decrypted answer (spec A3 item 5). It
// retries only when nothing was sent; all other retries belong to the
// billing worker, which owns the idempotency key. Errors carry the
// exchanges (ExchangesOf).
//
// REQ: kassenapi-spec:A3
func (c *Client) SubmitInvoice(ctx context.Context, s InvoiceSubmission) (*InvoiceAnswer, error) {
	proc := ProcedureInvoice
	if s.Test {
		if !c.cfg.AllowTestCodes {
			return nil, ErrTestCodeNotAllowed
		}
		proc = ProcedureInvoiceTest
	}
	if s.Code.IsTest() && !c.cfg.AllowTestCodes {
		return nil, ErrTestCodeNotAllowed
	}
	e := s.Route.Entry
	if !e.HasAPI() {
		return nil, ErrNoElectronicEndpoint
	}
	if len(s.XML) == 0 {
		return nil, errors.New("kassenapi: empty invoice")
	}
	ans := &InvoiceAnswer{}
	for attempt := 1; ; attempt++ {
		release, err := c.acquire(ctx, e.URL)
		if err != nil {
			return nil, &callError{err: err, exchanges: ans.Exchanges}
		}
		msg, err := c.seal(ctx, e, s.XML)
		if err != nil {
			release()
			return nil, &callError{err: err, exchanges: ans.Exchanges}
		}
		body, ctype, err := buildMultipart(c.cfg.ManufacturerIK, e.ClearingIK, proc, msg, "rechnung.cms")
		if err != nil {
			release()
			return nil, &callError{err: err, exchanges: ans.Exchanges}
		}
		r := c.do(ctx, exchangeSpec{procedure: proc, entry: e, body: body, ctype: ctype, timeout: c.cfg.InvoiceTimeout,
			code: s.Code, invoiceNo: s.Number, attempt: attempt})
		release()
		ans.Exchanges = append(ans.Exchanges, r.ex)
		if r.err == nil {
			ans.Payload, ans.Warnings = r.content, r.warnings
			return ans, nil
		}
		var te *TransportError
		notSent := errors.As(r.err, &te) && !te.Sent && te.Class == ClassTransient
		if !notSent || attempt >= c.cfg.Retry.MaxAttempts || ctx.Err() != nil {
			return nil, &callError{err: r.err, exchanges: ans.Exchanges}
		}
		if err := c.cfg.Sleep(ctx, c.backoff(attempt, 0)); err != nil {
			return nil, &callError{err: r.err, exchanges: ans.Exchanges}
		}
	}
}
