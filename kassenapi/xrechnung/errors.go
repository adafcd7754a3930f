package xrechnung

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoPrice reports that the [Catalog] has no net price for a DiGA-VE-ID
// on the service day (spec B4: the invoice goes to needs_data).
var ErrNoPrice = errors.New("xrechnung: no price for this DiGA-VE-ID and service day")

// ErrReverseChargeDisabled reports an invoice with VAT category AE built
// without [Builder.AllowReverseCharge].
var ErrReverseChargeDisabled = errors.New("xrechnung: reverse charge (AE) is disabled")

// ErrInvalidInvoice is matched by every *InvoiceError and *CheckError
// through errors.Is.
var ErrInvalidInvoice = errors.New("xrechnung: invalid invoice")

// InvoiceError reports one invalid input field of an [Invoice] or
// [Catalog]. Reason never contains the Freischaltcode.
type InvoiceError struct {
	Field  string // Go field path, e.g. "Seller.IK"
	Reason string
}

func (e *InvoiceError) Error() string {
	return "xrechnung: invalid " + e.Field + ": " + e.Reason
}

// Is makes errors.Is(err, ErrInvalidInvoice) true.
func (e *InvoiceError) Is(target error) bool { return target == ErrInvalidInvoice }

// CheckError reports that a built document has error findings of [Check].
// That means a bug or an input the field checks did not catch; the
// document is not returned.
type CheckError struct {
	Findings []Finding // the error findings only
}

func (e *CheckError) Error() string {
	ids := make([]string, 0, len(e.Findings))
	for _, f := range e.Findings {
		ids = append(ids, f.Rule)
	}
	return fmt.Sprintf("xrechnung: built invoice fails rules %s", strings.Join(ids, ", "))
}

// Is makes errors.Is(err, ErrInvalidInvoice) true.
func (e *CheckError) Is(target error) bool { return target == ErrInvalidInvoice }

// ReportError reports a billing answer that is not a usable KoSIT report
// or FEH message. It never quotes the document.
type ReportError struct {
	Reason string
	Err    error // the XML decoder's error, if any
}

func (e *ReportError) Error() string {
	if e.Err != nil {
		return "xrechnung: bad report: " + e.Reason + ": " + e.Err.Error()
	}
	return "xrechnung: bad report: " + e.Reason
}

func (e *ReportError) Unwrap() error { return e.Err }
