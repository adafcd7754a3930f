package auth

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Event types of the audit vocabulary (audit spec §2.5) that the auth
// service emits.
const (
	EventLoginSuccess     = "authn_login_success"
	EventLoginFail        = "authn_login_fail"
	EventLoginFailMax     = "authn_login_fail_max"
	EventLoginLock        = "authn_login_lock"
	EventPasswordChange   = "authn_password_change"
	EventTokenCreated     = "authn_token_created"
	EventTokenRevoked     = "authn_token_revoked"
	EventTokenReuse       = "authn_token_reuse"
	EventSessionCreated   = "session_created"
	EventSessionExpired   = "session_expired"
	EventSessionUseAfter  = "session_use_after_expire"
	EventSequenceFail     = "sequence_fail"
	EventUserCreated      = "user_created"
	EventMFAEnrolled      = "authn_mfa_enrolled"
	EventRecoveryUsed     = "authn_recovery_used"
	EventRecoveryRegen    = "authn_recovery_regenerated"
	EventResetRequested   = "authn_reset_requested"
	EventRateLimited      = "excess_rate_limit_exceeded"
	EventConsentGranted   = "consent_granted"
	EventConsentWithdrawn = "consent_withdrawn"
	EventTokenRefreshed   = "authn_token_refreshed"
)

// Event is one auth event. It never carries personal data: the actor is
// the account's audit pseudonym (or, for an unknown identifier, a probe
// id derived with a keyed hash), never a username, token or code.
type Event struct {
	// Time is the service clock's time of the event.
	Time time.Time
	// Type is the audit vocabulary type (Event* constants).
	Type string
	// Reason is the audit reason code ("bad_password", "otp_replay", …).
	Reason string
	// Actor is the audit pseudonym or probe id ("probe:…").
	Actor string
	// Attrs are additional non-personal attributes (kind, client_id, …).
	Attrs map[string]string
}

// EventSink receives auth events. The audit package's log is adapted to
// it by the server wiring; Emit must not block for long and reports
// failures through its own channels (the auth flow does not fail when
// an event cannot be delivered — the audit adapter decides fail-closed
// behaviour).
type EventSink interface {
	Emit(ctx context.Context, e Event)
}

// SlogSink writes every event as one slog record with log_kind=audit.
type SlogSink struct {
	Logger *slog.Logger
}

// Emit logs e at WARN for failures and reuse, INFO otherwise.
func (s SlogSink) Emit(ctx context.Context, e Event) {
	if s.Logger == nil {
		return
	}
	lvl := slog.LevelInfo
	switch e.Type {
	case EventLoginFail, EventLoginFailMax, EventLoginLock, EventTokenReuse, EventSessionUseAfter, EventSequenceFail, EventRateLimited:
		lvl = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("log_kind", "audit"),
		slog.String("type", e.Type),
		slog.String("actor", e.Actor),
	}
	if e.Reason != "" {
		attrs = append(attrs, slog.String("reason", e.Reason))
	}
	keys := make([]string, 0, len(e.Attrs))
	for k := range e.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		attrs = append(attrs, slog.String("attr_"+k, e.Attrs[k]))
	}
	s.Logger.LogAttrs(ctx, lvl, "auth event", attrs...)
}

// MemorySink records events for tests and examples. It is safe for
// concurrent use.
type MemorySink struct {
	mu     sync.Mutex
	events []Event
}

// Emit records e.
func (m *MemorySink) Emit(_ context.Context, e Event) {
	m.mu.Lock()
	m.events = append(m.events, e)
	m.mu.Unlock()
}

// Events returns a copy of the recorded events.
func (m *MemorySink) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.events...)
}

// Count returns how many recorded events have type typ and, when reason
// is not empty, that reason.
func (m *MemorySink) Count(typ, reason string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.events {
		if e.Type == typ && (reason == "" || e.Reason == reason) {
			n++
		}
	}
	return n
}
