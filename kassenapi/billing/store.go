package billing

import (
	"context"
	"time"

	"github.com/digakit/digakit/kassenapi"
)

// BindingState is the state of a binding in the account database.
type BindingState string

// Binding states (spec B3.3).
const (
	BindingPending BindingState = "pending"
	BindingActive  BindingState = "active"
	BindingRevoked BindingState = "revoked"
)

// Binding is one row of the account database: a code digest bound to an
// account. It never holds the plain code.
type Binding struct {
	Digest      Digest
	AccountID   string
	State       BindingState
	AttemptID   string
	LeaseUntil  time.Time
	Activations int
	FirstAt     time.Time
	LastAt      time.Time
	AccessUntil kassenapi.Date
}

// Decision is what the policy decides about a claim that found an
// existing active binding. Exactly one of Err or the flags applies.
type Decision struct {
	Err     error // ErrCodeAlreadyRedeemed, ErrActivationLimit, ErrAlreadyActive
	Count   bool  // count a (re-)activation: activations+1 and a history row
	Outcome Outcome
}

// ClaimRequest asks the account database for the claim of step 3 of the
// Redeem flow (spec B3.4).
type ClaimRequest struct {
	Digests    []Digest // current key first; a found row keeps its digest
	AccountID  string
	AttemptID  string
	LeaseUntil time.Time
	Now        time.Time
	// Decide applies the policy to an existing active binding inside the
	// claiming transaction.
	Decide func(b Binding) Decision
}

// ClaimResult is the answer of BindingStore.Claim.
type ClaimResult struct {
	Binding Binding
	// Won: a new pending row was inserted for this attempt.
	Won bool
	// Decision is set when an active binding was found.
	Decision *Decision
}

// Activation is one row of the activation history.
type Activation struct {
	AccountID   string
	Digest      Digest
	At          time.Time
	AccessUntil kassenapi.Date
}

// BindingStore is the account-database side. Every method is atomic.
type BindingStore interface {
	// Claim finds the binding under any of the digests or inserts a
	// pending one under the first (spec B3.4 step 3). An active binding is
	// passed to Decide in the same transaction; when the decision counts,
	// the activation is recorded there.
	Claim(ctx context.Context, r ClaimRequest) (ClaimResult, error)
	// TakeOver moves an expired pending binding to a new attempt (CAS on
	// the old attempt id). ErrConflict when it lost.
	TakeOver(ctx context.Context, d Digest, oldAttempt, newAttempt string, leaseUntil time.Time) error
	// Extend sets a new lease on a pending binding (CAS on attempt id).
	Extend(ctx context.Context, d Digest, attemptID string, leaseUntil time.Time) error
	// Activate turns a pending binding into active (CAS on attempt id)
	// and records the first activation.
	Activate(ctx context.Context, d Digest, attemptID string, accessUntil kassenapi.Date, at time.Time) error
	// Release deletes a pending binding (CAS on attempt id).
	Release(ctx context.Context, d Digest, attemptID string) error
	// Expired lists pending bindings whose lease ended before t.
	Expired(ctx context.Context, before time.Time, limit int) ([]Binding, error)
	// Activations lists the activations of an account, newest first.
	Activations(ctx context.Context, accountID string) ([]Activation, error)
	// ForgetAccount deletes the account's bindings and history.
	ForgetAccount(ctx context.Context, accountID string) error
}

// RedemptionState is the state of a redemption in the billing database.
type RedemptionState string

// Redemption states (spec B3.3).
const (
	RedemptionChecking  RedemptionState = "checking"
	RedemptionValidated RedemptionState = "validated"
	RedemptionRejected  RedemptionState = "rejected"
	RedemptionFailed    RedemptionState = "failed"
	RedemptionUnknown   RedemptionState = "unknown"
)

// Redemption is one row of the billing database per code.
type Redemption struct {
	ID          int64
	Digest      Digest
	CodeCT      []byte // sealed plain code
	State       RedemptionState
	AttemptID   string
	LeaseUntil  time.Time
	Prefix      string
	InsurerIK   string
	VEID        string
	ServiceDay  kassenapi.Date
	Checks      int // insurer checks made
	NeedsReview bool
	NextCheckAt time.Time
	// Claimable: an operator resolved the review (validated without a
	// binding); the next redemption of the code binds it without a check.
	Claimable bool
	// PrevState is set by BeginCheck: the state before this check.
	PrevState RedemptionState
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CheckStart moves a redemption to checking (spec B3.3 first row).
type CheckStart struct {
	Digests    []Digest // current key first
	CodeCT     func(d Digest) ([]byte, error)
	Prefix     string
	AttemptID  string
	LeaseUntil time.Time
	Now        time.Time
	// Recheck allows taking over an unknown row or a checking row whose
	// lease expired (reconciliation, or a same-account retry).
	Recheck bool
}

// ProtocolEntry is one row of the protocol log (TA §4.4, spec B3.8).
type ProtocolEntry struct {
	ID            int64
	TS            time.Time // UTC instant
	TSLocal       string    // yyyy-MM-dd HH:mm:ss Europe/Berlin
	Process       string    // FSC or RE
	Procedure     string    // EDFC0, TDFC0, EDRE0, TDRE0, MAIL, POST
	SenderIK      string
	ReceiverIK    string
	InsurerIK     string
	CodeCT        []byte
	Digest        Digest
	Result        string // fehlerfrei or fehlerhaft
	Class         string
	FehlerNummern string // comma separated
	HTTPStatus    int
	Sent          bool
	DurationMS    int64
	InvoiceNumber string
	AttemptID     string
}

// NewInvoice asks FinishCheck or Correct to create an invoice row and
// allocate its number in the same transaction.
type NewInvoice struct {
	Series   string // counter key, e.g. "DG2025"
	Prefix   string // number prefix incl. year, e.g. "DG2025"
	Width    int    // zero-padded digits of the sequence
	Type     string // "380" or "384"
	Test     bool
	NetCents int64 // 384 only; 380 prices at build time
	Corrects string
	Reason   string
	Now      time.Time
}

// CheckOutcome records the result of a code check (spec B3.3).
type CheckOutcome struct {
	Digest      Digest // the row's digest
	AttemptID   string
	State       RedemptionState
	InsurerIK   string
	VEID        string
	ServiceDay  kassenapi.Date
	NeedsReview bool
	NextCheckAt time.Time
	Protocol    []ProtocolEntry
	Invoice     *NewInvoice // with State validated
	Now         time.Time
}

// InvoiceState is the state of an invoice row (spec B3.3).
type InvoiceState string

// Invoice states.
const (
	InvoiceQueued           InvoiceState = "queued"
	InvoiceSubmitting       InvoiceState = "submitting"
	InvoiceAccepted         InvoiceState = "accepted"
	InvoiceAcceptedPresumed InvoiceState = "accepted_presumed"
	InvoiceRejectedFormat   InvoiceState = "rejected_format"
	InvoiceRejectedBusiness InvoiceState = "rejected_business"
	InvoiceSubmitUnknown    InvoiceState = "submit_unknown"
	InvoiceManualPending    InvoiceState = "manual_pending"
	InvoiceManualSent       InvoiceState = "manual_sent"
	InvoiceNeedsAddress     InvoiceState = "needs_address"
	InvoiceNeedsData        InvoiceState = "needs_data"
	InvoiceCancelled        InvoiceState = "cancelled"
)

// InvoiceRow is an invoice with the data of its redemption.
type InvoiceRow struct {
	ID           int64
	Number       string
	Type         string
	State        InvoiceState
	Test         bool
	NetCents     int64
	Corrects     string
	CorrectedBy  string
	Reason       string
	XMLCT        []byte // sealed invoice XML; nil until built
	MaybeSent    bool   // a send may have reached the insurer
	Attempts     int
	NeedsReview  bool
	Verdict      string
	Messages     string
	Dispatch     int
	Target       string
	DispatchedBy string
	DispatchRef  string
	DispatchedAt time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time

	Redemption Redemption
}

// InvoiceOutcome finishes a claimed invoice (CAS on the lease owner).
type InvoiceOutcome struct {
	ID          int64
	Owner       string
	State       InvoiceState
	Verdict     string
	Messages    string
	ReportCT    []byte
	NeedsReview bool
	// NotSent clears the maybe-sent mark: this attempt provably did not
	// send, and no earlier one did.
	NotSent  bool
	Dispatch int
	Target   string
	NextAt   time.Time
	Protocol []ProtocolEntry
	Now      time.Time
}

// ManualFilter selects manual-dispatch items.
type ManualFilter struct {
	States []InvoiceState // default manual_pending and needs_address
	Limit  int
}

// BillingStore is the billing-database side. Every method is one
// transaction; protocol rows are written in the transaction of their
// state change.
type BillingStore interface {
	// Redemption returns the row under any of the digests, or nil.
	Redemption(ctx context.Context, ds []Digest) (*Redemption, error)
	// BeginCheck moves the redemption to checking for this attempt,
	// inserting it when absent. It returns the row as it is afterwards;
	// ErrConflict with the current row when the CAS failed.
	BeginCheck(ctx context.Context, s CheckStart) (*Redemption, error)
	// FinishCheck records a check outcome (CAS on state checking and the
	// attempt id) with its protocol rows, and on validated the invoice row
	// with its number. It returns the number ("" when none).
	FinishCheck(ctx context.Context, o CheckOutcome) (string, error)
	// DueRechecks lists unknown rows and checking rows with an expired
	// lease whose next check is due.
	DueRechecks(ctx context.Context, now time.Time, limit int) ([]Redemption, error)
	// ValidatedWithoutInvoice lists validated rows without a 380 (a bug).
	ValidatedWithoutInvoice(ctx context.Context, limit int) ([]Redemption, error)
	// CreateInvoice adds an invoice row for a redemption (reconciler and
	// corrections); the partial unique index refuses a second 380.
	CreateInvoice(ctx context.Context, redemptionID int64, n NewInvoice) (string, error)

	// ClaimInvoices leases up to n due rows to owner and sets them
	// submitting.
	ClaimInvoices(ctx context.Context, owner string, now, until time.Time, n int) ([]InvoiceRow, error)
	// SaveXML stores the built bytes (CAS on owner) before the first send.
	SaveXML(ctx context.Context, id int64, owner string, xmlCT []byte) error
	// MarkSending notes that the bytes are about to leave (CAS on owner).
	MarkSending(ctx context.Context, id int64, owner string) error
	// FinishInvoice records the outcome (CAS on owner) with protocol rows.
	FinishInvoice(ctx context.Context, o InvoiceOutcome) error
	// Invoice returns the row with this number.
	Invoice(ctx context.Context, number string) (*InvoiceRow, error)
	// Invoices lists invoices of a redemption, oldest first.
	Invoices(ctx context.Context, redemptionID int64) ([]InvoiceRow, error)
	// Requeue moves needs_address/needs_data rows back to queued.
	Requeue(ctx context.Context, now time.Time) (int, error)
	// ManualQueue lists manual-dispatch items.
	ManualQueue(ctx context.Context, f ManualFilter) ([]InvoiceRow, error)
	// MarkDispatched moves manual_pending to manual_sent with a protocol
	// row. ErrConflict when the row is not manual_pending.
	MarkDispatched(ctx context.Context, number, by, reference string, at time.Time, p ProtocolEntry) error
	// Correct inserts a 384 for the invoice number (which must be
	// accepted, accepted_presumed or manual_sent and not yet corrected)
	// and marks the original corrected. ErrInvalidCorrection otherwise.
	Correct(ctx context.Context, number string, n NewInvoice) (string, error)

	// Resolve moves a rejected redemption under review to validated with
	// the VE-ID and service day the insurer confirmed, creates its 380 and
	// marks it claimable (spec B3.3 last row). ErrConflict otherwise.
	Resolve(ctx context.Context, ds []Digest, veid string, day kassenapi.Date, n NewInvoice) (string, error)
	// TakeClaim clears the claimable mark (CAS); ErrConflict when it was
	// not set.
	TakeClaim(ctx context.Context, ds []Digest) error

	// Stats counts invoices per state, the overdue ones (older than the
	// given ages by updated_at) and the redemptions under review.
	Stats(ctx context.Context, now time.Time, ages StatAges) (Stats, error)

	// Transition moves an invoice from one of the states from to state to
	// (operator actions); clearXML drops the stored bytes so that the next
	// pass rebuilds them with the same number. It also clears the
	// maybe-sent mark (the previous send had a definite answer).
	// ErrNotFound or ErrConflict.
	Transition(ctx context.Context, number string, from []InvoiceState, to InvoiceState, clearXML bool, now time.Time) error

	// Protocol lists protocol rows with fromLocal <= ts_local <= toLocal.
	Protocol(ctx context.Context, fromLocal, toLocal string) ([]ProtocolEntry, error)
	// AuditPending lists protocol rows not yet mirrored to audit.
	AuditPending(ctx context.Context, limit int) ([]ProtocolEntry, error)
	// AuditDone removes ids from the audit backlog.
	AuditDone(ctx context.Context, ids []int64) error
}

// StatAges are the alert ages of spec B3.9.
type StatAges struct {
	Queued, SubmitUnknown, ManualPending time.Duration
}

// Stats is the monitoring summary of the billing ledger (spec B3.9
// "Metrics and admin list"): counts only, never codes.
type Stats struct {
	ByState              map[InvoiceState]int `json:"by_state"`
	QueuedOverdue        int                  `json:"queued_overdue"`
	SubmitUnknownOld     int                  `json:"submit_unknown_overdue"`
	ManualPendingOld     int                  `json:"manual_pending_overdue"`
	InvoicesNeedReview   int                  `json:"invoices_needs_review"`
	RedemptionsReview    int                  `json:"redemptions_needs_review"`
	RedemptionsUnknown   int                  `json:"redemptions_unknown"`
	ProtocolAuditBacklog int                  `json:"protocol_audit_backlog"`
}
