package audit

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// RoleAuditReader is the role that may read audit events (spec §3.6).
const RoleAuditReader = "audit-reader"

// Principal is the authenticated caller of a read.
type Principal struct {
	Actor Actor
	Roles []string
}

// Query selects events of one segment.
type Query struct {
	Log, Seg string
	From     uint64 // first seq
	Limit    int    // 0 means 1000, at most 10 000
}

// Read returns events for an auditor. It requires RoleAuditReader (else it
// records authz_fail and returns ErrAccessDenied) and records every read as
// audit_read (attrs log, seg, from, count); if that record fails, the read
// fails and no events are returned.
//
// REQ: audit-spec:3.6
func (l *Log) Read(ctx context.Context, p Principal, q Query) ([]Record, error) {
	if !slices.Contains(p.Roles, RoleAuditReader) {
		_, err := l.Record(ctx, Event{Type: AuthzFail, Outcome: Failure, Reason: "role", Actor: p.Actor,
			Target: &Target{Type: "audit_log", ID: safeID(q.Log)}})
		if err != nil {
			return nil, err
		}
		return nil, ErrAccessDenied
	}
	if q.Limit <= 0 {
		q.Limit = 1000
	}
	q.Limit = min(q.Limit, 10000)
	recs, err := l.store.Records(ctx, q.Log, q.Seg, q.From, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("audit: read: %w", err)
	}
	_, err = l.Record(ctx, Event{Type: AuditRead, Outcome: Success, Actor: p.Actor,
		Attrs: map[string]any{"log": safeID(q.Log), "seg": safeID(q.Seg), "from": int64(q.From), "count": int64(len(recs)),
			"role": RoleAuditReader}})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

func safeID(s string) string {
	if reTargetID.MatchString(s) {
		return s
	}
	return "invalid"
}

// ProtocolEntry is one line of a user's own protocol.
type ProtocolEntry struct {
	ID      string         `json:"id"`
	TS      string         `json:"ts"`
	Type    string         `json:"type"`
	Outcome string         `json:"outcome"`
	Reason  string         `json:"reason,omitempty"`
	Attrs   map[string]any `json:"attrs,omitempty"`
}

// protocolTypes are the event types a user sees in the own protocol:
// consent and personal-data changes, account and credential life cycle.
var protocolPrefixes = []string{"consent_", "data_", "prescription_", "epa_", "kvnr_", "user_",
	"authn_password_change", "authn_mfa_", "authn_recovery_", "gid_link_"}

// Protocol returns the own protocol of the subject with the given
// pseudonym (consent and personal-data changes) in time order, at most
// limit entries (0 means 1000). The caller (a refserver handler) must have
// authenticated the subject; only events whose subject is the pseudonym
// and whose type is on the allow-list are returned.
//
// REQ: audit-spec:3.6
func (l *Log) Protocol(ctx context.Context, subject string, limit int) ([]ProtocolEntry, error) {
	if !rePseudonym.MatchString(subject) {
		return nil, fmt.Errorf("%w: subject is not a pseudonym", ErrForbiddenContent)
	}
	if limit <= 0 {
		limit = 1000
	}
	recs, err := l.store.SubjectRecords(ctx, subject, 10*limit)
	if err != nil {
		return nil, fmt.Errorf("audit: protocol: %w", err)
	}
	out := []ProtocolEntry{}
	for _, r := range recs {
		if r.Subject != subject || !hasAnyPrefix(r.Type, protocolPrefixes) {
			continue
		}
		m, err := DecodeCanonical(r.Leaf)
		if err != nil {
			continue
		}
		e := ProtocolEntry{ID: r.ID, TS: r.TS, Type: r.Type}
		e.Outcome, _ = m["outcome"].(string)
		e.Reason, _ = m["reason"].(string)
		e.Attrs, _ = m["attrs"].(map[string]any)
		out = append(out, e)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

func hasAnyPrefix(s string, ps []string) bool {
	for _, p := range ps {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
