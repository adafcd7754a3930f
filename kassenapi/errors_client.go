package kassenapi

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// ErrorClass tells a caller what to do with a failed call (spec A2.9, A3).
type ErrorClass int

// Error classes. The zero value means "no error".
const (
	// ClassNone: the exchange succeeded.
	ClassNone ErrorClass = iota
	// ClassRejected: the insurer rejected the code for good (FEH 100, 101,
	// 102, other 1xx). Tell the user; never retry.
	ClassRejected
	// ClassInternal: our request was invalid or the schema drifted (FEH
	// 200, FEH ≥ 300, HTTP 4xx other than 429). Alert; never retry.
	ClassInternal
	// ClassTransient: nothing happened at the insurer or it asked for a
	// retry (FEH 201/202, other 2xx, HTTP 429/5xx, connection failures
	// before the request was sent, open circuit breaker).
	ClassTransient
	// ClassOutcomeUnknown: the request was sent but the answer is missing
	// or unusable (timeout, reset, empty body, broken CMS). The insurer may
	// have processed it; reconcile, never treat the code as invalid.
	ClassOutcomeUnknown
	// ClassConfig: our configuration is wrong (TLS unknown_ca, no
	// certificate for the clearing office). Fix it; do not retry.
	ClassConfig
)

// String returns the lower-case class name.
func (c ErrorClass) String() string {
	switch c {
	case ClassNone:
		return "none"
	case ClassRejected:
		return "rejected"
	case ClassInternal:
		return "internal"
	case ClassTransient:
		return "transient"
	case ClassOutcomeUnknown:
		return "outcome-unknown"
	case ClassConfig:
		return "config"
	}
	return fmt.Sprintf("ErrorClass(%d)", int(c))
}

// MarshalText makes ErrorClass readable in JSON protocol records.
func (c ErrorClass) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Sentinels for errors.Is. An InsurerError matches the sentinel of each of
// its Fehlernummern.
var (
	// ErrCodeExpired: FEH 100, Freischaltcode / Rezeptcode abgelaufen.
	ErrCodeExpired = errors.New("kassenapi: freischaltcode expired (FEH 100)")
	// ErrCodeCancelled: FEH 101, Freischaltcode / Rezeptcode storniert.
	ErrCodeCancelled = errors.New("kassenapi: freischaltcode cancelled (FEH 101)")
	// ErrCodeNotFound: FEH 102, Freischaltcode / Rezeptcode nicht gefunden.
	ErrCodeNotFound = errors.New("kassenapi: freischaltcode not found (FEH 102)")
	// ErrRequestRejected: FEH 200, Anfrage oder Datei ungültig.
	ErrRequestRejected = errors.New("kassenapi: insurer rejected the request as invalid (FEH 200)")
	// ErrInsurerUnavailable: FEH 201/202, HTTP 429/5xx, or an open
	// circuit breaker. Retry later.
	ErrInsurerUnavailable = errors.New("kassenapi: insurer temporarily unavailable")
	// ErrOutcomeUnknown: the request was sent but no usable answer came.
	ErrOutcomeUnknown = errors.New("kassenapi: outcome unknown")
)

// FehlerInfo is one Fehlerinformation of a FEH answer. Text and XPath are
// the insurer's words; they are kept for operators but never put into
// error strings.
type FehlerInfo struct {
	Nummer int    // Fehlernummer
	Text   string // Fehlertext, may be empty
	XPath  string // XPath, may be empty
}

// classOfFehler maps one Fehlernummer to its class (spec A2.9).
func classOfFehler(n int) ErrorClass {
	switch {
	case n >= 100 && n < 200:
		return ClassRejected
	case n == 200:
		return ClassInternal
	case n > 200 && n < 300:
		return ClassTransient
	}
	return ClassInternal
}

// severity orders classes for "the class is the most severe one".
func severity(c ErrorClass) int {
	switch c {
	case ClassInternal:
		return 4
	case ClassRejected:
		return 3
	case ClassTransient:
		return 2
	}
	return 1
}

// InsurerError is a FEH answer: the insurer processed the request and
// refused it. errors.Is matches ErrCodeExpired (100), ErrCodeCancelled
// (101), ErrCodeNotFound (102), ErrRequestRejected (200) and
// ErrInsurerUnavailable (201/202).
//
// REQ: kassenapi-spec:A2.9
type InsurerError struct {
	Infos     []FehlerInfo
	Class     ErrorClass
	Procedure string // EDFC0, TDFC0, EDRE0, TDRE0
}

func newInsurerError(proc string, infos []FehlerInfo) *InsurerError {
	e := &InsurerError{Infos: infos, Procedure: proc}
	for _, i := range infos {
		c := classOfFehler(i.Nummer)
		if severity(c) > severity(e.Class) {
			e.Class = c
		}
	}
	return e
}

// Numbers returns the Fehlernummern in order.
func (e *InsurerError) Numbers() []int {
	out := make([]int, len(e.Infos))
	for i, f := range e.Infos {
		out[i] = f.Nummer
	}
	return out
}

// Error lists the Fehlernummern and the class, never the insurer's text.
func (e *InsurerError) Error() string {
	nums := make([]string, len(e.Infos))
	for i, f := range e.Infos {
		nums[i] = fmt.Sprint(f.Nummer)
	}
	return fmt.Sprintf("kassenapi: insurer answered FEH %s (%s)", strings.Join(nums, ","), e.Class)
}

// Is matches the per-number sentinels.
func (e *InsurerError) Is(target error) bool {
	for _, f := range e.Infos {
		switch {
		case f.Nummer == 100 && target == ErrCodeExpired,
			f.Nummer == 101 && target == ErrCodeCancelled,
			f.Nummer == 102 && target == ErrCodeNotFound,
			f.Nummer == 200 && target == ErrRequestRejected,
			(f.Nummer == 201 || f.Nummer == 202) && target == ErrInsurerUnavailable:
			return true
		}
	}
	return false
}

// ErrorClass returns the class.
func (e *InsurerError) ErrorClass() ErrorClass { return e.Class }

// TransportError is a failure of the HTTP exchange itself: dial, TLS,
// timeout, reset, or a non-200 status.
type TransportError struct {
	URL        string
	Status     int    // HTTP status, 0 when none was received
	BodyPrefix []byte // first bytes of an error body, control characters removed
	// Sent reports whether the request was completely written. When true,
	// the insurer may have processed it.
	Sent       bool
	RetryAfter time.Duration // from a Retry-After header
	Class      ErrorClass
	Hint       string // operator hint, e.g. for TLS alerts
	Err        error  // cause
}

// Error describes the failure without payload data.
func (e *TransportError) Error() string {
	var b strings.Builder
	b.WriteString("kassenapi: POST " + e.URL)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.Hint != "" {
		b.WriteString(" (" + e.Hint + ")")
	}
	fmt.Fprintf(&b, " [%s, sent=%v]", e.Class, e.Sent)
	return b.String()
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

// Is makes transient transport errors match ErrInsurerUnavailable and
// sent-but-unanswered ones ErrOutcomeUnknown.
func (e *TransportError) Is(target error) bool {
	return (target == ErrInsurerUnavailable && e.Class == ClassTransient) ||
		(target == ErrOutcomeUnknown && e.Class == ClassOutcomeUnknown)
}

// ErrorClass returns the class.
func (e *TransportError) ErrorClass() ErrorClass { return e.Class }

// ProtocolError is an answer that does not follow the protocol: empty
// body, missing multipart parts, bad XML, fields that contradict the
// request. Raw holds at most 512 bytes of an undecrypted body.
type ProtocolError struct {
	Reason string
	Raw    []byte
	Class  ErrorClass // OutcomeUnknown for answers to a sent request
}

// Error returns the reason.
func (e *ProtocolError) Error() string {
	return "kassenapi: protocol error: " + e.Reason + " [" + e.Class.String() + "]"
}

// Is matches ErrOutcomeUnknown.
func (e *ProtocolError) Is(target error) bool {
	return target == ErrOutcomeUnknown && e.Class == ClassOutcomeUnknown
}

// ErrorClass returns the class.
func (e *ProtocolError) ErrorClass() ErrorClass { return e.Class }

// CryptoError is a failure to build or open the SECON CMS.
type CryptoError struct {
	Op    string // "seal", "decrypt", "verify"
	Err   error
	Class ErrorClass
}

// Error names the operation and the cause.
func (e *CryptoError) Error() string {
	return "kassenapi: " + e.Op + ": " + e.Err.Error() + " [" + e.Class.String() + "]"
}

// Unwrap returns the cause.
func (e *CryptoError) Unwrap() error { return e.Err }

// Is matches ErrOutcomeUnknown.
func (e *CryptoError) Is(target error) bool {
	return target == ErrOutcomeUnknown && e.Class == ClassOutcomeUnknown
}

// ErrorClass returns the class.
func (e *CryptoError) ErrorClass() ErrorClass { return e.Class }

// ConfigError wraps a configuration problem found at call time (no
// certificate for the clearing office, no test route).
type ConfigError struct{ Err error }

// Error returns the cause.
func (e *ConfigError) Error() string { return e.Err.Error() + " [config]" }

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// ErrorClass returns ClassConfig.
func (e *ConfigError) ErrorClass() ErrorClass { return ClassConfig }

// ClassOf returns the class of any error of this package: Rejected for
// code errors found locally and unknown prefixes, Transient for a missing
// directory, the carried class otherwise.
//
// REQ: kassenapi-spec:A2.9
func ClassOf(err error) ErrorClass {
	if err == nil {
		return ClassNone
	}
	var c interface{ ErrorClass() ErrorClass }
	if errors.As(err, &c) {
		return c.ErrorClass()
	}
	switch {
	case errors.Is(err, ErrDirectoryUnavailable):
		return ClassTransient
	case errors.Is(err, ErrCodeLength), errors.Is(err, ErrCodeCharset), errors.Is(err, ErrCodeChecksum),
		errors.Is(err, ErrUnknownPrefix), errors.Is(err, ErrInsurerInsolvent), errors.Is(err, ErrNoElectronicEndpoint):
		return ClassRejected
	case errors.Is(err, ErrTestCodeNotAllowed):
		return ClassConfig
	}
	return ClassInternal
}

// callError attaches the protocol records to an error of a call.
type callError struct {
	err       error
	exchanges []Exchange
}

func (e *callError) Error() string { return e.err.Error() }
func (e *callError) Unwrap() error { return e.err }

// ExchangesOf returns the HTTP exchanges behind an error returned by
// ValidateCode, ValidateTestCode or SubmitInvoice (nil if none were made).
// Write them to the protocol log (TA §4.4) like those of a success.
func ExchangesOf(err error) []Exchange {
	var ce *callError
	if errors.As(err, &ce) {
		return append([]Exchange(nil), ce.exchanges...)
	}
	return nil
}

// Sensitive holds bytes that contain a Freischaltcode or health data (the
// EDFC0 XML, an invoice answer). Printing it with any fmt verb, logging it
// with slog or marshalling it to JSON shows only its length; use the bytes
// directly ([]byte(s)) to store them, encrypted.
type Sensitive []byte

// String returns "[N bytes redacted]".
func (s Sensitive) String() string { return fmt.Sprintf("[%d bytes redacted]", len(s)) }

// Format prints the redacted form for every verb.
func (s Sensitive) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue is the redacted form.
func (s Sensitive) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON is the redacted form as a JSON string.
func (s Sensitive) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }
