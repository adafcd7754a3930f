package billing

import "errors"

// Outcomes of Redeem that are errors. They never carry the code.
var (
	// ErrCodeAlreadyRedeemed: the code is bound to (or being redeemed by)
	// another account, or its billing row is final without a binding (the
	// account that redeemed it was deleted). HTTP 409.
	ErrCodeAlreadyRedeemed = errors.New("billing: code already redeemed")
	// ErrActivationLimit: the policy allows no further activation. HTTP 409.
	ErrActivationLimit = errors.New("billing: activation limit reached")
	// ErrAlreadyActive: the same account re-activated under
	// ReactivateDeny.
	ErrAlreadyActive = errors.New("billing: code already active for this account")
	// ErrRedemptionInProgress: another request of the same account holds
	// the claim; retry shortly. HTTP 503.
	ErrRedemptionInProgress = errors.New("billing: redemption in progress")
	// ErrOutcomeUnknown: the insurer may have answered but the answer was
	// lost; the reconciler finishes the redemption. HTTP 503.
	ErrOutcomeUnknown = errors.New("billing: outcome of the code check unknown; retry later")
	// ErrInvalidCorrection: the invoice cannot be corrected (state, already
	// corrected, bad reason).
	ErrInvalidCorrection = errors.New("billing: invalid correction")
	// ErrNotFound: no such invoice or manual-dispatch item.
	ErrNotFound = errors.New("billing: not found")
	// ErrConflict: a compare-and-set lost (lease taken over, state moved
	// on). Callers of the stores treat it as "someone else handled it".
	ErrConflict = errors.New("billing: state changed concurrently")
	// ErrStoreUnavailable wraps database failures; HTTP 503.
	ErrStoreUnavailable = errors.New("billing: database unavailable")
)

// ErrInvalidCode is matched (errors.Is) by every *InvalidCodeError.
var ErrInvalidCode = errors.New("billing: invalid code")

// ErrUnavailable: the insurer, the directory or a database is unavailable,
// or our request was refused as invalid (FEH 200); retry later. HTTP 503.
var ErrUnavailable = errors.New("billing: temporarily unavailable; retry later")

// Reasons of an InvalidCodeError (refserver spec 3.3, HTTP 422).
const (
	ReasonFormat           = "format"
	ReasonChecksum         = "checksum"
	ReasonTestCode         = "test_code"
	ReasonUnknownPrefix    = "unknown_prefix"
	ReasonInsurerInsolvent = "insurer_insolvent"
	ReasonNoEndpoint       = "no_endpoint"
	ReasonExpired          = "expired"
	ReasonCancelled        = "cancelled"
	ReasonNotFound         = "not_found"
)

// InvalidCodeError says why a code cannot be redeemed. It never contains
// the code.
type InvalidCodeError struct {
	Reason string // one of the Reason constants
	Err    error  // the cause (kassenapi sentinel or error)
}

func (e *InvalidCodeError) Error() string { return "billing: invalid code: " + e.Reason }

// Unwrap returns the cause.
func (e *InvalidCodeError) Unwrap() error { return e.Err }

// Is matches ErrInvalidCode.
func (e *InvalidCodeError) Is(target error) bool { return target == ErrInvalidCode }
