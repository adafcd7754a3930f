package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/refserver/internal/auth"
)

// mountAuditReads serves the two read paths of the audit log (audit spec
// §3.6):
//
//   - GET /v1/me/protocol: the signed-in user's own protocol (consent,
//     personal-data and credential changes), newest first, at most
//     ?limit= entries (1..1000, default 200);
//   - GET /admin/v1/audit/events?log=&seg=&from=&limit=: events for an
//     auditor, only on an admin listener that requires client
//     certificates. The operator is the certificate's subject; its
//     organizational units are its roles, so a certificate with
//     OU=audit-reader may read. Every read is recorded as audit_read and
//     every refused one as authz_fail by the audit log itself.
func (s *Server) mountAuditReads(public, admin *http.ServeMux) {
	if s.audit == nil {
		return
	}
	if s.authSvc != nil {
		public.Handle("GET /v1/me/protocol", s.authSvc.RequireUser(http.HandlerFunc(s.ownProtocol)))
	}
	if admin != nil && s.cfg.Admin.ClientCA != "" {
		admin.HandleFunc("GET /admin/v1/audit/events", s.auditEvents)
	}
}

func (s *Server) ownProtocol(w http.ResponseWriter, r *http.Request) {
	limit, ok := limitParam(r, 200, 1000)
	if !ok {
		writeProblem(w, http.StatusBadRequest, "bad-request", "limit must be a number from 1 to 1000")
		return
	}
	p, ok := s.pseudonymOf(r.Context())
	if !ok {
		writeProblem(w, http.StatusUnauthorized, "unauthorized", "Authentication required")
		return
	}
	entries, err := s.audit.Protocol(r.Context(), p, limit)
	if err != nil {
		s.log.Error("reading the own protocol failed", "component", "audit", "err", err)
		writeProblem(w, http.StatusServiceUnavailable, "audit-unavailable", "The protocol cannot be read right now")
		return
	}
	writeJSONNoStore(w, map[string]any{"entries": entries})
}

func (s *Server) auditEvents(w http.ResponseWriter, r *http.Request) {
	limit, ok := limitParam(r, 1000, 10000)
	if !ok {
		writeProblem(w, http.StatusBadRequest, "bad-request", "limit must be a number from 1 to 10000")
		return
	}
	q := audit.Query{Log: r.URL.Query().Get("log"), Seg: r.URL.Query().Get("seg"), Limit: limit}
	if f := r.URL.Query().Get("from"); f != "" {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, "bad-request", "from must be a sequence number")
			return
		}
		q.From = n
	}
	if q.Log == "" || q.Seg == "" {
		writeProblem(w, http.StatusBadRequest, "bad-request", "log and seg are required")
		return
	}
	p := audit.Principal{Actor: audit.Actor{Kind: audit.ActorAdmin, ID: strings.TrimPrefix(operatorOf(r), "admin:")}}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		p.Roles = r.TLS.PeerCertificates[0].Subject.OrganizationalUnit
	}
	recs, err := s.audit.Read(r.Context(), p, q)
	switch {
	case errors.Is(err, audit.ErrAccessDenied):
		writeProblem(w, http.StatusForbidden, "forbidden", "The audit-reader role is required")
		return
	case err != nil:
		s.log.Error("audit read failed", "component", "audit", "err", err)
		writeProblem(w, http.StatusServiceUnavailable, "audit-unavailable", "The audit log cannot be read right now")
		return
	}
	type event struct {
		Log   string          `json:"log"`
		Seg   string          `json:"seg"`
		Seq   uint64          `json:"seq"`
		Event json.RawMessage `json:"event"`
	}
	out := make([]event, 0, len(recs))
	for _, rec := range recs {
		out = append(out, event{Log: rec.Log, Seg: rec.Seg, Seq: rec.Seq, Event: json.RawMessage(rec.Leaf)})
	}
	writeJSONNoStore(w, map[string]any{"events": out})
}

// pseudonymOf returns the audit pseudonym of the signed-in account.
func (s *Server) pseudonymOf(ctx context.Context) (string, bool) {
	c := auth.ClaimsFrom(ctx)
	if c == nil || c.Subject == "" {
		return "", false
	}
	var p string
	if err := s.main.QueryRowContext(ctx, `SELECT pseudonym FROM auth_accounts WHERE sub = $1`, c.Subject).Scan(&p); err != nil {
		return "", false
	}
	p = strings.ToLower(p)
	return p, rePseudonymID.MatchString(p)
}

func limitParam(r *http.Request, def, max int) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, false
	}
	return n, true
}

func writeJSONNoStore(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
