package detect

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/digakit/digakit/audit"
)

// KeyKind says what a rule counts per.
type KeyKind string

// Keys of a rule.
const (
	// KeySubject counts per subject pseudonym, or per probe actor for
	// unknown login identifiers.
	KeySubject KeyKind = "subject"
	// KeyActor counts per actor (kind:id).
	KeyActor KeyKind = "actor"
	// KeyNet counts per client network id (client.net); events without
	// one are ignored by the rule.
	KeyNet KeyKind = "net"
	// KeyGlobal counts all matching events together.
	KeyGlobal KeyKind = "global"
)

// Match selects the events a rule counts.
type Match struct {
	// Types the rule counts (required).
	Types []audit.Type
	// Reasons, when set, restricts to these reason codes; a trailing "*"
	// matches a prefix ("otp_*").
	Reasons []string
	// ExcludeReasons drops these reason codes.
	ExcludeReasons []string
	// AttrNot, when set, matches only events whose attribute differs from
	// the value (e.g. role != audit-reader).
	AttrNot map[string]string
	// OutsideHours, when From != To, matches only events whose UTC hour
	// is outside [From, To).
	OutsideHours Hours
}

// Hours is a range of UTC hours [From, To).
type Hours struct{ From, To int }

// Rule is one detection rule (audit spec §3.7). Rules are data; thresholds
// are configurable defaults.
type Rule struct {
	ID       string
	Runbook  string      // required, ^RB-[A-Z0-9-]+$, a section in docs/runbooks.md
	Severity audit.Level // INFO, WARN or CRITICAL
	Summary  string      // short human text for the alert; no event content
	Match    Match
	Key      KeyKind
	// Window is the sliding window; 0 with Threshold 1 alerts on every
	// occurrence (deduplicated per event).
	Window time.Duration
	// Threshold is the count (or distinct count, or attribute sum) that
	// raises the alert.
	Threshold int
	// Distinct, when set ("subject"), counts distinct subjects/probes
	// instead of events.
	Distinct KeyKind
	// SumAttr, when set, adds the integer attribute (default 1 when
	// absent) instead of 1 per event (handshake aggregates).
	SumAttr string
	// Cooldown suppresses repeated alerts of one key; 0 means Window.
	Cooldown time.Duration
}

// Runbook ids of the default rules and of manual triage.
const (
	RunbookTriage = "RB-TRIAGE"
	TriageRuleID  = "TRIAGE"
)

var reRunbook = regexp.MustCompile(`^RB-[A-Z0-9-]{2,32}$`)
var reRuleID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ErrInvalidRule reports a rule that fails validation.
var ErrInvalidRule = errors.New("detect: invalid rule")

// Validate checks a rule set: unique ids, a runbook on every rule, known
// types, a positive threshold and a known key.
//
// REQ: TR03161-3:O.Org_4
func Validate(rules []Rule) error {
	seen := map[string]bool{}
	for _, r := range rules {
		switch {
		case !reRuleID.MatchString(r.ID):
			return fmt.Errorf("%w: bad id %q", ErrInvalidRule, r.ID)
		case seen[r.ID]:
			return fmt.Errorf("%w: duplicate id %s", ErrInvalidRule, r.ID)
		case r.Runbook == "":
			return fmt.Errorf("%w: rule %s has no runbook", ErrInvalidRule, r.ID)
		case !reRunbook.MatchString(r.Runbook):
			return fmt.Errorf("%w: rule %s: bad runbook id", ErrInvalidRule, r.ID)
		case r.Severity != audit.LevelInfo && r.Severity != audit.LevelWarn && r.Severity != audit.LevelCritical:
			return fmt.Errorf("%w: rule %s: bad severity", ErrInvalidRule, r.ID)
		case r.Threshold < 1:
			return fmt.Errorf("%w: rule %s: threshold must be >= 1", ErrInvalidRule, r.ID)
		case r.Window < 0 || r.Cooldown < 0 || (r.Window == 0 && r.Threshold > 1):
			return fmt.Errorf("%w: rule %s: bad window", ErrInvalidRule, r.ID)
		case !slices.Contains([]KeyKind{KeySubject, KeyActor, KeyNet, KeyGlobal}, r.Key):
			return fmt.Errorf("%w: rule %s: bad key", ErrInvalidRule, r.ID)
		case r.Distinct != "" && r.Distinct != KeySubject && r.Distinct != KeyActor:
			return fmt.Errorf("%w: rule %s: bad distinct member", ErrInvalidRule, r.ID)
		case len(r.Match.Types) == 0:
			return fmt.Errorf("%w: rule %s matches no types", ErrInvalidRule, r.ID)
		}
		for _, t := range r.Match.Types {
			if !t.Known() {
				return fmt.Errorf("%w: rule %s: unknown type", ErrInvalidRule, r.ID)
			}
		}
		seen[r.ID] = true
	}
	return nil
}

// DefaultRules returns the default rule set of audit spec §3.7 (thresholds
// are proposals, configurable). D3 (global failure ratio) and D11
// (dashboard only) are not alert rules here.
//
// REQ: TR03161-3:O.Org_3, TR03161-3:O.Org_4
func DefaultRules() []Rule {
	fail := []audit.Type{audit.AuthnLoginFail}
	return []Rule{
		{ID: "D1", Runbook: "RB-AUTH-01", Severity: audit.LevelWarn, Summary: "brute force on one account",
			Match: Match{Types: fail}, Key: KeySubject, Window: time.Hour, Threshold: 10},
		{ID: "D2", Runbook: "RB-AUTH-02", Severity: audit.LevelWarn, Summary: "credential stuffing from one network",
			Match: Match{Types: fail}, Key: KeyNet, Window: 10 * time.Minute, Threshold: 20, Distinct: KeySubject},
		{ID: "D4", Runbook: "RB-FSC-01", Severity: audit.LevelWarn, Summary: "Freischaltcode guessing by one account",
			Match: Match{Types: []audit.Type{audit.FSCRedeemFail}, ExcludeReasons: fscBenign}, Key: KeySubject,
			Window: 24 * time.Hour, Threshold: 5},
		{ID: "D4N", Runbook: "RB-FSC-01", Severity: audit.LevelWarn, Summary: "Freischaltcode guessing from one network",
			Match: Match{Types: []audit.Type{audit.FSCRedeemFail}, ExcludeReasons: fscBenign}, Key: KeyNet,
			Window: time.Hour, Threshold: 20},
		{ID: "D5", Runbook: "RB-FSC-02", Severity: audit.LevelInfo, Summary: "Freischaltcode already bound to another account",
			Match: Match{Types: []audit.Type{audit.FSCRedeemFail}, Reasons: []string{"already_bound"}}, Key: KeySubject, Threshold: 1},
		{ID: "D6", Runbook: "RB-AUTH-04", Severity: audit.LevelWarn, Summary: "second-factor guessing",
			Match: Match{Types: fail, Reasons: []string{"otp_*", "webauthn_failed", "recovery_invalid"}}, Key: KeySubject,
			Window: 15 * time.Minute, Threshold: 5},
		{ID: "D7", Runbook: "RB-TOKEN-01", Severity: audit.LevelCritical, Summary: "token reuse (rotated refresh token or consumed code)",
			Match: Match{Types: []audit.Type{audit.AuthnTokenReuse}}, Key: KeySubject, Threshold: 1},
		{ID: "D8", Runbook: "RB-AUDIT-01", Severity: audit.LevelWarn, Summary: "audit log read without the audit-reader role",
			Match: Match{Types: []audit.Type{audit.AuditRead, audit.AuditExport}, AttrNot: map[string]string{"role": audit.RoleAuditReader}},
			Key:   KeyActor, Threshold: 1},
		{ID: "D8H", Runbook: "RB-AUDIT-01", Severity: audit.LevelWarn, Summary: "audit log read outside office hours",
			Match: Match{Types: []audit.Type{audit.AuditRead, audit.AuditExport}, OutsideHours: Hours{From: 6, To: 20}},
			Key:   KeyActor, Threshold: 1},
		{ID: "D8V", Runbook: "RB-AUDIT-01", Severity: audit.LevelWarn, Summary: "more than 10 000 audit events read in one hour",
			Match: Match{Types: []audit.Type{audit.AuditRead, audit.AuditExport}}, Key: KeyActor, Window: time.Hour,
			Threshold: 10001, SumAttr: "count"},
		{ID: "D9", Runbook: "RB-AUDIT-02", Severity: audit.LevelCritical, Summary: "audit integrity or checkpoint shipping failure",
			Match: Match{Types: []audit.Type{audit.AuditIntegrityFail, audit.AuditCheckpointShipFail}}, Key: KeyGlobal, Threshold: 1},
		{ID: "D10", Runbook: "RB-NTWK-01", Severity: audit.LevelWarn, Summary: "burst of TLS handshake failures from one network",
			Match: Match{Types: []audit.Type{audit.NtwkHandshakeFail}}, Key: KeyNet, Window: time.Minute, Threshold: 100, SumAttr: "count"},
		{ID: "D12", Runbook: "RB-AUTHZ-01", Severity: audit.LevelCritical, Summary: "authorization probing",
			Match: Match{Types: []audit.Type{audit.AuthzFail, audit.MaliciousDirectReference}}, Key: KeySubject,
			Window: 10 * time.Minute, Threshold: 10},
		{ID: "D13", Runbook: "RB-SESS-01", Severity: audit.LevelWarn, Summary: "use of dead sessions",
			Match: Match{Types: []audit.Type{audit.SessionUseAfterExpire}}, Key: KeySubject, Window: 10 * time.Minute, Threshold: 5},
		{ID: "D14", Runbook: "RB-MON-01", Severity: audit.LevelCritical, Summary: "monitoring disabled",
			Match: Match{Types: []audit.Type{audit.SysMonitorDisabled}}, Key: KeyGlobal, Threshold: 1},
		{ID: "D15", Runbook: "RB-ADMIN-01", Severity: audit.LevelInfo, Summary: "admin activity",
			Match: Match{Types: []audit.Type{audit.AuthzAdmin, audit.SensitiveRead, audit.SensitiveUpdate, audit.SensitiveDelete}},
			Key:   KeyActor, Threshold: 1},
		{ID: "D16", Runbook: "RB-NOTIFY-01", Severity: audit.LevelWarn, Summary: "notification failures",
			Match: Match{Types: []audit.Type{audit.NotifyFailed}}, Key: KeyGlobal, Window: time.Hour, Threshold: 10},
		{ID: "D17", Runbook: "RB-DEL-01", Severity: audit.LevelCritical, Summary: "overdue data deletion",
			Match: Match{Types: []audit.Type{audit.DataDeletionOverdue}}, Key: KeySubject, Threshold: 1},
		{ID: "D18", Runbook: "RB-AUTH-05", Severity: audit.LevelWarn, Summary: "TOTP replay",
			Match: Match{Types: fail, Reasons: []string{"otp_replay"}}, Key: KeySubject, Window: 15 * time.Minute, Threshold: 1},
	}
}

var fscBenign = []string{"insurer_unavailable", "outcome_unknown", "in_progress", "already_bound"}
