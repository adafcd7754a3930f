package appversion

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/digakit/digakit/refserver/internal/appversion/semver"
)

// Header names of the update service (refserver spec §3.4).
const (
	HeaderPlatform     = "X-App-Platform"
	HeaderVersion      = "X-App-Version"
	HeaderUpdateStatus = "X-App-Update-Status"
)

// ProblemCode is the RFC 9457 extension member "code" of the 426 answer;
// apps key on it, not on the status (refserver spec §7 point 7).
const ProblemCode = "app-update-required"

// ProblemInvalidPlatform is the problem code of the 400 answer for an
// unknown platform.
const ProblemInvalidPlatform = "invalid-platform"

// DefaultExempt are the routes the gate never blocks (refserver spec
// §3.4; consent spec §3.6 "always reachable"): users must be able to
// exercise their GDPR rights (export, deletion, consents, protocol) and
// log in with an outdated app. The patterns use net/http.ServeMux syntax;
// a path ending in "/" covers its subtree.
var DefaultExempt = []string{
	"GET /v1/app-versions",
	"/healthz", "/readyz",
	"/.well-known/",
	// OpenID provider endpoints (refserver spec §2.1) and the browser pages.
	"/authorize", "/authorize/", "/oauth/", "/userinfo", "/revoke", "/end_session", "/keys",
	"/login", "/login/", "/register", "/register/",
	// Legal documents, consents and withdrawal, protocol, export, deletion.
	"/v1/legal-documents", "/v1/legal-documents/",
	"/v1/me/consents", "/v1/me/consents/",
	"GET /v1/me/protocol",
	"/v1/me/export", "/v1/me/export/",
	"DELETE /v1/me",
	"GET /v1/deletion-receipts/{id}",
	"/problems/",
}

// PolicySource is where [Gate.Refresh] reads policies from; the
// appversion/sqlstore package implements it on the main database.
type PolicySource interface {
	LoadPolicies(ctx context.Context) ([]Policy, error)
}

// AuditEvent is an update-service event for the audit log (audit spec
// §2.5: app_version_blocked, app_policy_changed). It never carries a
// raw header value: Version is the canonical form of a parsed version and
// empty otherwise.
type AuditEvent struct {
	// Type is "app_version_blocked" or "app_policy_changed".
	Type string
	// Platform is a known platform or empty (missing header).
	Platform Platform
	// Version is the parsed version (canonical) or empty.
	Version string
	// Reason is the block reason (app_version_blocked).
	Reason Reason
	// ClientIP is the peer address (app_version_blocked); the audit
	// layer turns it into a keyed network id.
	ClientIP netip.Addr
	// Policy is the new policy (app_policy_changed).
	Policy *Policy
	// Actor names who changed the policy ("cli", an admin subject).
	Actor string
}

// Config holds the optional settings of [New].
type Config struct {
	// Policies are the start policies, at most one per platform. A
	// platform without a policy accepts every well-formed version.
	// Policies loaded by Refresh replace these per platform.
	Policies []Policy
	// Source, when set, is read by Refresh and Watch.
	Source PolicySource
	// Exempt are ServeMux patterns of routes the gate passes through
	// unchecked. Nil means DefaultExempt; an empty non-nil slice exempts
	// nothing (for wrapping single gated routes).
	Exempt []string
	// Registerer receives digakit_app_version_blocked_total{platform}.
	// Nil registers nothing.
	Registerer prometheus.Registerer
	// Audit receives app_version_blocked, at most once per (network,
	// platform, version or reason) per hour. Nil audits nothing.
	Audit func(ctx context.Context, e AuditEvent)
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// policySet is an immutable snapshot of the compiled policies.
type policySet map[Platform]*compiled

// Gate is the update service: the request gate and the
// GET /v1/app-versions handler. It is safe for concurrent use.
type Gate struct {
	cfg     Config
	now     func() time.Time
	base    policySet
	current atomic.Pointer[policySet]
	exempt  *http.ServeMux
	blocked *prometheus.CounterVec

	dedupMu sync.Mutex
	dedup   map[string]time.Time
}

// exemptMarker is the handler registered for exempt patterns; the gate
// recognises a match by its type.
type exemptMarker struct{}

func (exemptMarker) ServeHTTP(http.ResponseWriter, *http.Request) {}

// New validates cfg and returns a gate. Invalid policies, two policies
// for one platform, malformed or conflicting exempt patterns and a
// failed metric registration are errors.
//
// REQ: TR03161-3:O.Arch_12
func New(cfg Config) (g *Gate, err error) {
	g = &Gate{cfg: cfg, now: cfg.Now, base: policySet{}, dedup: map[string]time.Time{}}
	if g.now == nil {
		g.now = time.Now
	}
	for _, p := range cfg.Policies {
		c, err := compile(p)
		if err != nil {
			return nil, err
		}
		if _, dup := g.base[p.Platform]; dup {
			return nil, &PolicyError{Field: "platform", Message: "two policies for " + string(p.Platform)}
		}
		g.base[p.Platform] = c
	}
	set := g.base
	g.current.Store(&set)

	patterns := cfg.Exempt
	if patterns == nil {
		patterns = DefaultExempt
	}
	g.exempt = http.NewServeMux()
	for _, pat := range patterns {
		if err := register(g.exempt, pat); err != nil {
			return nil, err
		}
	}

	g.blocked = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "digakit_app_version_blocked_total",
		Help: "Requests answered 426 by the app-version gate, by platform (none when the header was missing).",
	}, []string{"platform"})
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(g.blocked); err != nil {
			return nil, fmt.Errorf("appversion: register metric: %w", err)
		}
	}
	return g, nil
}

// register adds one exempt pattern, turning ServeMux's panic on a bad
// pattern into an error.
func register(mux *http.ServeMux, pat string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("appversion: exempt pattern %q: %v", pat, r)
		}
	}()
	mux.Handle(pat, exemptMarker{})
	return nil
}

// Refresh reloads the policies from Config.Source; each loaded policy
// replaces the configured one of its platform. On error the current
// policies stay in force.
func (g *Gate) Refresh(ctx context.Context) error {
	if g.cfg.Source == nil {
		return nil
	}
	ps, err := g.cfg.Source.LoadPolicies(ctx)
	if err != nil {
		return err
	}
	return g.SetPolicies(ps...)
}

// SetPolicies installs policies (for example right after an admin API
// change); each replaces the current policy of its platform, the others
// keep theirs. Nothing changes when any policy is invalid.
func (g *Gate) SetPolicies(ps ...Policy) error {
	for {
		old := g.current.Load()
		next := policySet{}
		for k, v := range *old {
			next[k] = v
		}
		for _, p := range ps {
			c, err := compile(p)
			if err != nil {
				return err
			}
			next[p.Platform] = c
		}
		if g.current.CompareAndSwap(old, &next) {
			return nil
		}
	}
}

// Policies returns the policies in force, in the order of [Platforms].
func (g *Gate) Policies() []Policy {
	set := *g.current.Load()
	var out []Policy
	for _, p := range Platforms {
		if c, ok := set[p]; ok {
			out = append(out, c.Policy)
		}
	}
	return out
}

// Watch calls Refresh every interval until ctx ends, so that changes made
// with "digakit app-policy set" reach a running server. Errors go to
// onErr (may be nil). It blocks; run it in a goroutine owned by the
// caller.
func (g *Gate) Watch(ctx context.Context, interval time.Duration, onErr func(error)) {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := g.Refresh(ctx); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}

// isExempt reports whether r matches an exempt pattern. Requests the
// exempt mux would redirect (unclean paths) are not exempt: fail closed.
func (g *Gate) isExempt(r *http.Request) bool {
	h, _ := g.exempt.Handler(r)
	_, ok := h.(exemptMarker)
	return ok
}

// platformOf reads X-App-Platform: ok=false when missing; valid=false for
// an unknown value or several values. The comparison ignores ASCII case.
func platformOf(h http.Header) (p Platform, present, valid bool) {
	vs := h.Values(HeaderPlatform)
	if len(vs) == 0 || (len(vs) == 1 && vs[0] == "") {
		return "", false, false
	}
	if len(vs) > 1 || len(vs[0]) > 16 {
		return "", true, false
	}
	p = Platform(strings.ToLower(vs[0]))
	return p, true, p.Valid()
}

// versionOf reads X-App-Version; several values count as unparseable
// (returned as a value that never parses).
func versionOf(h http.Header) string {
	vs := h.Values(HeaderVersion)
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	return "\x00several"
}

// Middleware returns the gate as middleware for the API (refserver spec
// §3.1: after request id, access log and panic recovery, before
// authentication). Gated requests need X-App-Platform and X-App-Version:
//
//   - missing platform, missing or unparseable version, a blocked
//     version, or a version below the minimum after the grace period →
//     426 with the app-update-required problem (no Upgrade header);
//   - an unknown platform → 400 invalid-platform;
//   - below the minimum inside the grace period → served, with
//     X-App-Update-Status: update_required; grace-until=<RFC 3339>;
//   - below the recommended version → served, with
//     X-App-Update-Status: update_recommended.
//
// Header values are never echoed and never cause a 5xx.
//
// REQ: TR03161-3:O.Arch_12
func (g *Gate) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.isExempt(r) {
			next.ServeHTTP(w, r)
			return
		}
		p, present, valid := platformOf(r.Header)
		if !present {
			g.block(w, r, "", nil, Decision{Status: StatusUpdateRequired, Reason: ReasonMissingPlatform, Block: true}, "")
			return
		}
		if !valid {
			writeProblem(w, http.StatusBadRequest, problem{
				Type: "/problems/" + ProblemInvalidPlatform, Title: "Unknown app platform",
				Status: http.StatusBadRequest, Code: ProblemInvalidPlatform,
				Detail: "X-App-Platform must be ios, android or web.",
			})
			return
		}
		c := (*g.current.Load())[p]
		raw := versionOf(r.Header)
		d := c.evaluate(raw, g.now())
		if d.Block {
			canon := ""
			if v, err := semver.Parse(raw); err == nil {
				canon = v.String()
			}
			g.block(w, r, p, c, d, canon)
			return
		}
		switch {
		case d.Status == StatusUpdateRequired:
			w.Header().Set(HeaderUpdateStatus, "update_required; grace-until="+d.GraceUntil.UTC().Format(time.RFC3339))
		case d.Status == StatusUpdateRecommended:
			w.Header().Set(HeaderUpdateStatus, string(StatusUpdateRecommended))
		}
		next.ServeHTTP(w, r)
	})
}

// block answers 426, counts and audits it.
func (g *Gate) block(w http.ResponseWriter, r *http.Request, p Platform, c *compiled, d Decision, canon string) {
	label := string(p)
	if label == "" {
		label = "none"
	}
	g.blocked.WithLabelValues(label).Inc()
	g.audit(r, p, d.Reason, canon)

	body := problem{
		Type:   "/problems/" + ProblemCode,
		Title:  "App update required",
		Status: http.StatusUpgradeRequired,
		Code:   ProblemCode,
		Detail: "This app version can no longer use the service. Please update the app.",
		Reason: d.Reason,
	}
	if p != "" {
		body.Platform = p
	}
	if c != nil {
		body.MinimumVersion = c.MinimumVersion
		body.StoreURL = c.StoreURL
		body.AdvisoryID = c.AdvisoryID
		body.MessageKey = c.MessageKey
		if !c.grace.IsZero() {
			s := c.grace.UTC().Format(time.RFC3339)
			body.GraceUntil = s
		}
	}
	// No Upgrade header: RFC 9110 wants one, but HTTP/2 forbids it as a
	// connection-specific field (RFC 9113 §8.2.2) and Go does not strip
	// it (refserver spec §2.8).
	writeProblem(w, http.StatusUpgradeRequired, body)
}

// dedupWindow and dedupCap bound the audit de-duplication.
const (
	dedupWindow = time.Hour
	dedupCap    = 10000
)

func (g *Gate) audit(r *http.Request, p Platform, reason Reason, canon string) {
	if g.cfg.Audit == nil {
		return
	}
	ip := clientIP(r)
	key := netKey(ip) + "|" + string(p) + "|" + canon + "|" + string(reason)
	now := g.now()
	g.dedupMu.Lock()
	if t, ok := g.dedup[key]; ok && now.Sub(t) < dedupWindow {
		g.dedupMu.Unlock()
		return
	}
	if len(g.dedup) >= dedupCap {
		for k, t := range g.dedup {
			if now.Sub(t) >= dedupWindow {
				delete(g.dedup, k)
			}
		}
		if len(g.dedup) >= dedupCap {
			clear(g.dedup)
		}
	}
	g.dedup[key] = now
	g.dedupMu.Unlock()
	g.cfg.Audit(r.Context(), AuditEvent{Type: "app_version_blocked", Platform: p, Version: canon, Reason: reason, ClientIP: ip})
}

func clientIP(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// netKey is the network of ip (/24 for IPv4, /64 for IPv6), used only as
// an in-memory de-duplication key.
func netKey(ip netip.Addr) string {
	if !ip.IsValid() {
		return "?"
	}
	bits := 64
	if ip.Is4() {
		bits = 24
	}
	pfx, err := ip.Prefix(bits)
	if err != nil {
		return "?"
	}
	return pfx.String()
}

// problem is the RFC 9457 body of the gate's answers.
type problem struct {
	Type           string   `json:"type"`
	Title          string   `json:"title"`
	Status         int      `json:"status"`
	Code           string   `json:"code"`
	Detail         string   `json:"detail,omitempty"`
	Reason         Reason   `json:"reason,omitempty"`
	Platform       Platform `json:"platform,omitempty"`
	MinimumVersion string   `json:"minimum_version,omitempty"`
	StoreURL       string   `json:"store_url,omitempty"`
	AdvisoryID     string   `json:"advisory_id,omitempty"`
	GraceUntil     string   `json:"grace_until,omitempty"`
	MessageKey     string   `json:"message_key,omitempty"`
}

func writeProblem(w http.ResponseWriter, status int, p problem) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Del("Upgrade")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(p)
}

// VersionInfo is the answer of GET /v1/app-versions (refserver spec
// §3.4). Unset policy members are null.
type VersionInfo struct {
	Platform           Platform `json:"platform"`
	Status             Status   `json:"status"`
	Reason             Reason   `json:"reason,omitempty"`
	MinimumVersion     *string  `json:"minimum_version"`
	RecommendedVersion *string  `json:"recommended_version"`
	GraceUntil         *string  `json:"grace_until"`
	StoreURL           *string  `json:"store_url"`
	AdvisoryID         *string  `json:"advisory_id"`
	MessageKey         *string  `json:"message_key"`
}

// Check answers what GET /v1/app-versions answers for platform and the
// raw version: ErrUnknownPlatform for an unknown platform.
func (g *Gate) Check(platform Platform, raw string) (VersionInfo, error) {
	if !platform.Valid() {
		return VersionInfo{}, ErrUnknownPlatform
	}
	c := (*g.current.Load())[platform]
	d := c.evaluate(raw, g.now())
	info := VersionInfo{Platform: platform, Status: d.Status}
	switch d.Reason {
	case ReasonMissingVersion, ReasonVersionUnparseable, ReasonVersionBlocked, ReasonBelowMinimum:
		info.Reason = d.Reason
	}
	if c != nil {
		opt := func(s string) *string {
			if s == "" {
				return nil
			}
			return &s
		}
		info.MinimumVersion = opt(c.MinimumVersion)
		info.RecommendedVersion = opt(c.RecommendedVersion)
		info.StoreURL = opt(c.StoreURL)
		info.AdvisoryID = opt(c.AdvisoryID)
		info.MessageKey = opt(c.MessageKey)
		if !c.grace.IsZero() {
			info.GraceUntil = opt(c.grace.UTC().Format(time.RFC3339))
		}
	}
	return info, nil
}

// Handler serves GET /v1/app-versions?platform=ios&version=1.4.2
// (public, exempt from the gate): 200 with a [VersionInfo]; an
// unparseable or missing version answers 200 update_required with a
// reason; an unknown or missing platform answers 400 invalid-platform.
//
// REQ: TR03161-3:O.Arch_12
func (g *Gate) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p := Platform(strings.ToLower(q.Get("platform")))
		if len(q["platform"]) != 1 || len(q.Get("platform")) > 16 {
			p = ""
		}
		info, err := g.Check(p, q.Get("version"))
		if err != nil {
			writeProblem(w, http.StatusBadRequest, problem{
				Type: "/problems/" + ProblemInvalidPlatform, Title: "Unknown app platform",
				Status: http.StatusBadRequest, Code: ProblemInvalidPlatform,
				Detail: "The platform parameter must be ios, android or web.",
			})
			return
		}
		if len(q["version"]) > 1 {
			info, _ = g.Check(p, "\x00several")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(info)
	})
}
