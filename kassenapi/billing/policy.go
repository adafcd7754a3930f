package billing

import (
	"time"

	"github.com/digakit/digakit/kassenapi"
)

// Outcome is the successful result of Redeem.
type Outcome string

// Successful outcomes. HTTP: Activated 201, the others 200.
const (
	// Activated: first activation; the insurer confirmed the code.
	Activated Outcome = "activated"
	// Reactivated: a counted re-activation (policy).
	Reactivated Outcome = "reactivated"
	// AlreadyActive: the code is already bound to this account
	// (idempotent re-activation, not counted).
	AlreadyActive Outcome = "already_active"
)

// Reactivation says what a re-activation by the same account does.
type Reactivation int

// Re-activation modes (spec B3.2).
const (
	// ReactivateIdempotent: success, not counted (default).
	ReactivateIdempotent Reactivation = iota
	// ReactivateCounted: success while MaxActivations allows, counted.
	ReactivateCounted
	// ReactivateDeny: ErrAlreadyActive.
	ReactivateDeny
)

// Policy is the redemption policy (spec B3.2). Whatever the policy,
// re-activations never call the insurer and never bill.
//
// REQ: kassenapi-spec:B3.2
type Policy struct {
	// MaxActivations is the number of counted activations per code
	// (first + counted re-activations). 0 means the default 1; a negative
	// value means unlimited.
	MaxActivations int
	// SameAccount is the re-activation mode for the binding's account.
	SameAccount Reactivation
	// OtherAccounts lets further accounts activate while MaxActivations
	// allows. Default false: ErrCodeAlreadyRedeemed.
	OtherAccounts bool
	// Window limits re-activations to FirstAt+Window (0: unlimited).
	Window time.Duration
	// AccessDays gives the access period from the service day per
	// DiGA-VE-ID. Nil: 90 days.
	AccessDays func(veid string) int
}

func (p Policy) max() int {
	if p.MaxActivations == 0 {
		return 1
	}
	return p.MaxActivations
}

func (p Policy) accessUntil(veid string, day kassenapi.Date) kassenapi.Date {
	n := 90
	if p.AccessDays != nil {
		n = p.AccessDays(veid)
	}
	return day.AddDays(n)
}

// decide applies the policy to an existing active binding.
func (p Policy) decide(b Binding, account string, now time.Time) Decision {
	if b.State != BindingActive {
		return Decision{Err: ErrCodeAlreadyRedeemed}
	}
	same := b.AccountID == account
	if !same && !p.OtherAccounts {
		return Decision{Err: ErrCodeAlreadyRedeemed}
	}
	if same {
		switch p.SameAccount {
		case ReactivateDeny:
			return Decision{Err: ErrAlreadyActive}
		case ReactivateIdempotent:
			return Decision{Outcome: AlreadyActive}
		}
	}
	if p.Window > 0 && now.After(b.FirstAt.Add(p.Window)) {
		return Decision{Err: ErrActivationLimit}
	}
	if m := p.max(); m > 0 && b.Activations >= m {
		return Decision{Err: ErrActivationLimit}
	}
	return Decision{Count: true, Outcome: Reactivated}
}
