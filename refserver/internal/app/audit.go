package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/detect"
	auditsql "github.com/digakit/digakit/audit/sqlstore"
	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/refserver/internal/appversion"
	"github.com/digakit/digakit/refserver/internal/auth"
	"github.com/digakit/digakit/refserver/internal/jobs"
	"github.com/digakit/digakit/refserver/internal/store"
	"github.com/digakit/digakit/refserver/internal/tlsconf"
)

// auditMigrationVersion is the goose version of the audit schema in the
// main database. It follows the embedded SQL migrations (00400) so that
// existing databases migrate in order; later SQL migrations of the main
// database take versions above it.
const auditMigrationVersion = 500

// defaultAuditOrigin is the checkpoint origin prefix of a server whose
// first start had no auth.issuer to derive one from.
const defaultAuditOrigin = "audit.invalid"

// auditMigrations returns the goose Go migration that creates the audit
// schema (audit/sqlstore) in the main database of dialect.
func auditMigrations(d store.Dialect) []*goose.Migration {
	dialect := auditsql.SQLite
	if d == store.Postgres {
		dialect = auditsql.Postgres
	}
	up := func(ctx context.Context, tx *sql.Tx) error {
		for _, stmt := range auditsql.Statements(dialect) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("audit schema: %w", err)
			}
		}
		return nil
	}
	return []*goose.Migration{goose.NewGoMigration(auditMigrationVersion, &goose.GoFunc{RunTx: up}, nil)}
}

// migrationsFor returns the extra Go migrations of a database handle:
// the audit schema for the main database, none for billing.
func migrationsFor(db *store.DB) []*goose.Migration {
	if db.Role == store.RoleMain {
		return auditMigrations(db.Dialect)
	}
	return nil
}

// auditLogs are the logs with a checkpoint signer.
var auditLogs = []string{audit.LogSecurity, audit.LogPrivacy}

// auditKeys are the key material of the audit log, kept in <data>/keys
// outside the database (audit spec §3.4, O.Cryp_6).
type auditKeys struct {
	prefix    string
	signers   map[string]note.Signer
	verifiers []note.Verifier
	kek       []byte
	netKey    []byte
}

// loadOrCreateAuditKeys reads or, on first start, generates the Ed25519
// checkpoint signers of the security and privacy logs
// (<dir>/audit-<log>.skey, 0600; the verifier keys beside them in
// audit-<log>.vkey and, one per line, audit.vkey for `digakit audit
// verify --vkey`), the seal-key KEK and the network-id key. The origin
// prefix is fixed by the first key: later starts use its name.
func loadOrCreateAuditKeys(dir, firstPrefix string) (*auditKeys, error) {
	k := &auditKeys{signers: map[string]note.Signer{}}
	var vkeys []string
	for _, log := range auditLogs {
		skPath := filepath.Join(dir, "audit-"+log+".skey")
		vkPath := filepath.Join(dir, "audit-"+log+".vkey")
		b, err := os.ReadFile(skPath)
		switch {
		case err == nil:
		case errors.Is(err, os.ErrNotExist):
			prefix := firstPrefix
			if k.prefix != "" {
				prefix = k.prefix
			}
			sk, vk, err := note.GenerateKey(rand.Reader, prefix+"/"+log)
			if err != nil {
				return nil, errors.New("cannot generate the audit checkpoint key")
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, errors.New("cannot create the key directory")
			}
			if err := os.WriteFile(skPath, []byte(sk+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("cannot write %s", filepath.Base(skPath))
			}
			if err := os.WriteFile(vkPath, []byte(vk+"\n"), 0o644); err != nil {
				return nil, fmt.Errorf("cannot write %s", filepath.Base(vkPath))
			}
			b = []byte(sk)
		default:
			return nil, fmt.Errorf("cannot read %s", filepath.Base(skPath))
		}
		signer, err := note.NewSigner(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s: not a note signer key", filepath.Base(skPath))
		}
		prefix, ok := strings.CutSuffix(signer.Name(), "/"+log)
		if !ok || (k.prefix != "" && prefix != k.prefix) {
			return nil, fmt.Errorf("%s: key name must be <origin prefix>/%s with one prefix for all logs", filepath.Base(skPath), log)
		}
		k.prefix = prefix
		vb, err := os.ReadFile(vkPath)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s", filepath.Base(vkPath))
		}
		vk := strings.TrimSpace(string(vb))
		v, err := note.NewVerifier(vk)
		if err != nil || v.Name() != signer.Name() || v.KeyHash() != signer.KeyHash() {
			return nil, fmt.Errorf("%s does not match %s", filepath.Base(vkPath), filepath.Base(skPath))
		}
		k.signers[log] = signer
		k.verifiers = append(k.verifiers, v)
		vkeys = append(vkeys, vk)
	}
	all := filepath.Join(dir, "audit.vkey")
	if err := os.WriteFile(all, []byte(strings.Join(vkeys, "\n")+"\n"), 0o644); err != nil {
		return nil, errors.New("cannot write audit.vkey")
	}
	var err error
	if k.kek, err = loadOrCreateSecret(filepath.Join(dir, "audit-kek.key")); err != nil {
		return nil, err
	}
	k.kek = k.kek[:32]
	if k.netKey, err = loadOrCreateSecret(filepath.Join(dir, "audit-net.key")); err != nil {
		return nil, err
	}
	return k, nil
}

// auditOrigin derives the checkpoint origin prefix of a first start from
// the configured issuer's host.
func (s *Server) auditOrigin() string {
	iss := s.cfg.Auth.Issuer
	if iss == "" {
		return defaultAuditOrigin
	}
	host := iss
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	host, _, _ = strings.Cut(host, "/")
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	if host == "" || strings.ContainsAny(host, " +") {
		return defaultAuditOrigin
	}
	return host
}

// auditSystem is the actor of server events.
var auditSystem = audit.Actor{Kind: audit.ActorSystem, ID: "system"}

// startAudit builds the audit log on the main database (audit spec §3.3,
// §3.4, §3.7): checkpoints signed with the keys in <data>/keys and shipped
// to <data>/checkpoints, forbidden content redacted (production
// behaviour), the detection engine with its alert metric, and the River
// steps audit_checkpoint, audit_detect (5 s), audit_drop_expired and
// audit_verify (daily). It records sys_startup; a failure there fails the
// start (fail closed).
//
// REQ: TR03161-3:O.Arch_11
func (s *Server) startAudit(ctx context.Context) error {
	keys, err := loadOrCreateAuditKeys(filepath.Join(s.cfg.Data, "keys"), s.auditOrigin())
	if err != nil {
		return &StartupError{"audit keys", err}
	}
	dialect := auditsql.SQLite
	if s.main.Dialect == store.Postgres {
		dialect = auditsql.Postgres
	}
	st, err := auditsql.New(s.main.DB, dialect)
	if err != nil {
		return &StartupError{"audit", err}
	}
	cpDir := filepath.Join(s.cfg.Data, "checkpoints")
	if err := os.MkdirAll(cpDir, 0o700); err != nil {
		return &StartupError{"audit", errors.New("cannot create the checkpoint directory")}
	}
	log := s.log.With("component", "audit")
	cpSinks := []audit.CheckpointSink{audit.FileSink{Dir: cpDir}}
	alertSinks := []detect.AlertSink{detect.SlogSink{Logger: s.log.With("component", "detect")}}
	if a := s.cfg.Audit; a.CheckpointURL != "" || a.AlertURL != "" {
		if a.CheckpointURL != "" {
			tok, err := readToken(a.CheckpointTokenFile)
			if err != nil {
				return &StartupError{"audit", fmt.Errorf("audit.checkpoint_token_file: %w", err)}
			}
			cpSinks = append(cpSinks, audit.HTTPSink{URL: a.CheckpointURL, BearerToken: tok})
		}
		if a.AlertURL != "" {
			tok, err := readToken(a.AlertTokenFile)
			if err != nil {
				return &StartupError{"audit", fmt.Errorf("audit.alert_token_file: %w", err)}
			}
			alertSinks = append(alertSinks, detect.WebhookSink{URL: strings.TrimRight(a.AlertURL, "/") + "/api/v2/alerts",
				BearerToken: tok, RunbookBaseURL: a.RunbookBaseURL})
		}
	}
	s.auditCfg = audit.Config{
		Store:           st,
		OriginPrefix:    keys.prefix,
		Service:         "digakit",
		Logs:            audit.DefaultLogs(nil),
		Signers:         keys.signers,
		KEK:             keys.kek,
		NetKey:          keys.netKey,
		CheckpointSinks: cpSinks,
		OnForbidden:     audit.Redact,
		Logger:          log,
	}
	if s.audit, err = audit.New(s.auditCfg); err != nil {
		return &StartupError{"audit", err}
	}
	s.auditStore = st
	s.auditKeys = keys
	s.auditCPDir = cpDir

	alerts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "digakit_detect_alerts_total",
		Help: "Alerts raised by the audit detection rules, by rule and severity.",
	}, []string{"rule", "severity"})
	cpAge := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "digakit_audit_checkpoint_age_seconds",
		Help: "Age of the newest signed checkpoint of each live audit segment.",
	}, []string{"log"})
	if err := s.metrics.Registry.Register(alerts); err != nil {
		return &StartupError{"audit", err}
	}
	if err := s.metrics.Registry.Register(cpAge); err != nil {
		return &StartupError{"audit", err}
	}
	eng, err := detect.New(detect.Config{
		Store: st, State: st,
		Sinks:   alertSinks,
		Counter: func(rule string, sev audit.Level) { alerts.WithLabelValues(rule, string(sev)).Inc() },
	})
	if err != nil {
		return &StartupError{"audit", err}
	}

	s.auditDetect = eng

	if _, err := s.audit.Record(ctx, audit.Event{Type: audit.SysStartup, Outcome: audit.Success, Actor: auditSystem,
		Attrs: map[string]any{"version": safeAttr(s.opts.Version)}}); err != nil {
		return &StartupError{"audit", err}
	}
	s.auditStarted = true

	s.steps = append(s.steps,
		jobs.Step{Name: "audit_checkpoint", Interval: 5 * time.Second, RunOnStart: true, Run: func(ctx context.Context) error {
			_, err := s.audit.Checkpoint(ctx)
			if sts, serr := s.audit.Status(ctx); serr == nil {
				for _, st := range sts {
					if st.State == audit.SegOpen {
						cpAge.WithLabelValues(st.Log).Set(st.CheckpointAge.Seconds())
					}
				}
			}
			return err
		}},
		jobs.Step{Name: "audit_detect", Interval: 5 * time.Second, RunOnStart: true, Run: func(ctx context.Context) error {
			_, err := eng.Evaluate(ctx)
			return err
		}},
		jobs.Step{Name: "audit_drop_expired", Interval: 24 * time.Hour, Run: func(ctx context.Context) error {
			_, err := s.audit.DropExpired(ctx)
			return err
		}},
		jobs.Step{Name: "audit_verify", Interval: 24 * time.Hour, Timeout: 30 * time.Minute, Run: s.verifyAudit},
	)
	return nil
}

// verifyAudit is the daily integrity step: audit.Verify against the
// trusted verifier keys and the shipped checkpoint copies. A failure is
// logged and recorded as audit_integrity_fail (detection rule D9).
func (s *Server) verifyAudit(ctx context.Context) error {
	ext, err := audit.ReadCheckpointDir(s.auditCPDir)
	if err != nil {
		return err
	}
	rep, err := audit.Verify(ctx, s.auditStore, audit.VerifyOptions{
		Verifiers: s.auditKeys.verifiers, External: ext, OriginPrefix: s.auditKeys.prefix,
	})
	if err != nil {
		return err
	}
	if rep.OK {
		return nil
	}
	attrs := map[string]any{}
	reason := "verify_failed"
	for _, sg := range rep.Segments {
		if sg.Failure != nil {
			attrs["log"], attrs["seg"], attrs["seq"] = sg.Log, sg.Seg, int64(sg.Failure.Seq)
			reason = sg.Failure.Kind
			break
		}
	}
	s.log.Error("audit log verification failed", "component", "audit", "reason", reason)
	_, err = s.audit.Record(ctx, audit.Event{Type: audit.AuditIntegrityFail, Outcome: audit.Failure,
		Reason: reason, Actor: auditSystem, Attrs: attrs})
	return err
}

// stopAudit records sys_shutdown and signs a last checkpoint of every
// grown segment, whatever its age, before the database closes.
func (s *Server) stopAudit(ctx context.Context) {
	if s.audit == nil || s.auditStopped {
		return
	}
	s.auditStopped = true
	if s.auditStarted {
		if _, err := s.audit.Record(ctx, audit.Event{Type: audit.SysShutdown, Outcome: audit.Success, Actor: auditSystem}); err != nil {
			s.log.Error("recording sys_shutdown failed", "component", "audit", "err", err)
		}
	}
	cfg := s.auditCfg
	cfg.CheckpointAge = time.Nanosecond
	if final, err := audit.New(cfg); err == nil {
		if _, err := final.Checkpoint(ctx); err != nil {
			s.log.Error("final audit checkpoint failed", "component", "audit", "err", err)
		}
	}
}

// safeAttr keeps an attribute value within the audit encoder's limits.
func safeAttr(v string) string {
	if v == "" {
		return "unknown"
	}
	if len(v) > 64 {
		v = v[:64]
	}
	return v
}

// actorOf maps an auth actor (audit pseudonym, "probe:<id>" for an
// unknown login identifier, or empty) to the audit actor and subject.
func actorOf(a string) (audit.Actor, string) {
	switch {
	case a == "":
		return audit.Actor{Kind: audit.ActorAnonymous, ID: "anonymous"}, ""
	case strings.HasPrefix(a, "probe:"):
		return audit.Actor{Kind: audit.ActorAnonymous, ID: a}, ""
	default:
		p := strings.ToLower(a)
		if !rePseudonymID.MatchString(p) {
			// Not an audit pseudonym: keep it as actor id only (the
			// encoder redacts it if it is not a safe id either).
			return audit.Actor{Kind: audit.ActorUser, ID: p}, ""
		}
		return audit.Actor{Kind: audit.ActorUser, ID: p}, p
	}
}

// authAuditSink adapts the auth service's events to the audit log. The
// auth hook cannot fail its action, so an append failure is logged (and
// the event is in the auth service's slog line as well); events outside
// the audit vocabulary (authn_token_refreshed) are dropped.
type authAuditSink struct {
	log  *audit.Log
	slog auth.SlogSink
	warn *slog.Logger
}

// Emit implements auth.EventSink.
func (a authAuditSink) Emit(ctx context.Context, e auth.Event) {
	a.slog.Emit(ctx, e)
	typ := audit.Type(e.Type)
	if !typ.Known() {
		return
	}
	actor, subject := actorOf(e.Actor)
	ev := audit.Event{Type: typ, Outcome: outcomeOf(typ), Reason: e.Reason, Actor: actor, Subject: subject}
	if len(e.Attrs) > 0 {
		ev.Attrs = map[string]any{}
		for k, v := range e.Attrs {
			if k == "amr" {
				ev.Auth = &audit.AuthInfo{AMR: strings.Fields(v)}
				continue
			}
			ev.Attrs[k] = v
		}
		if len(ev.Attrs) == 0 {
			ev.Attrs = nil
		}
	}
	if _, err := a.log.Record(context.WithoutCancel(ctx), ev); err != nil {
		a.warn.Error("audit append failed", "type", e.Type, "err", err)
		markAuditFailed(ctx)
	}
}

// outcomeOf derives the outcome of an auth event from its type.
func outcomeOf(t audit.Type) audit.Outcome {
	s := string(t)
	switch {
	case strings.HasSuffix(s, "_fail"), strings.Contains(s, "_fail_"), strings.HasSuffix(s, "_lock"),
		strings.HasSuffix(s, "_reuse"), t == audit.SessionUseAfterExpire, t == audit.ExcessRateLimitExceeded,
		t == audit.AuditIntegrityFail:
		return audit.Failure
	}
	return audit.Success
}

// billingAuditSink records the billing protocol log (kassenapi spec B3.8)
// as billing_exchange events. An error leaves the row in the billing
// service's backlog, which the reconciler mirrors again: an audit outage
// delays but never loses the copy.
type billingAuditSink struct{ log *audit.Log }

// RecordBillingExchange implements billing.AuditSink.
func (b billingAuditSink) RecordBillingExchange(ctx context.Context, e billing.AuditEvent) error {
	out := audit.Success
	if e.Result != billing.ResultOK {
		out = audit.Failure
	}
	attrs := map[string]any{
		"protocol_id": e.ProtocolID,
		"process":     e.Process,
		"procedure":   e.Procedure,
		"result":      e.Result,
		"sent":        e.Sent,
		"http_status": int64(e.HTTPStatus),
	}
	if e.CodeID != "" {
		attrs["code_id"] = e.CodeID
	}
	if e.Class != "" {
		attrs["class"] = e.Class
	}
	if len(e.FehlerNummern) > 0 {
		fs := make([]any, 0, min(len(e.FehlerNummern), 32))
		for _, f := range e.FehlerNummern[:min(len(e.FehlerNummern), 32)] {
			fs = append(fs, int64(f))
		}
		attrs["fehler"] = fs
	}
	_, err := b.log.Record(ctx, audit.Event{Type: audit.BillingExchange, Outcome: out,
		Actor: audit.Actor{Kind: audit.ActorService, ID: "svc:billing"}, Attrs: attrs})
	return err
}

// appVersionAudit records the update service's events (app_version_blocked,
// app_policy_changed). The hook cannot fail the request; a failed append
// is logged.
func (s *Server) appVersionAudit(ctx context.Context, e appversion.AuditEvent) {
	if s.audit == nil {
		return
	}
	ev := audit.Event{Type: audit.Type(e.Type), Outcome: audit.Success,
		Actor: audit.Actor{Kind: audit.ActorAnonymous, ID: "anonymous"}}
	switch ev.Type {
	case audit.AppVersionBlocked:
		ev.Outcome, ev.Reason = audit.Failure, string(e.Reason)
		ev.Client = &audit.ClientInfo{Platform: string(e.Platform), AppVersion: e.Version, IP: e.ClientIP}
	case audit.AppPolicyChanged:
		ev.Actor = audit.Actor{Kind: audit.ActorAdmin, ID: safeAttr(e.Actor)}
		attrs := map[string]any{"platform": string(e.Platform)}
		if p := e.Policy; p != nil {
			attrs["revision"] = p.Revision
			if p.MinimumVersion != "" {
				attrs["minimum_version"] = p.MinimumVersion
			}
			if p.RecommendedVersion != "" {
				attrs["recommended_version"] = p.RecommendedVersion
			}
			if n := len(p.BlockedVersions); n > 0 {
				attrs["blocked_versions"] = int64(n)
			}
			if p.AdvisoryID != "" {
				attrs["advisory_id"] = safeAttr(p.AdvisoryID)
			}
		}
		ev.Attrs = attrs
	default:
		return
	}
	if ev.Client != nil && ev.Client.Platform != "" && ev.Client.Platform != "ios" && ev.Client.Platform != "android" && ev.Client.Platform != "web" {
		ev.Client.Platform = "other"
	}
	if _, err := s.audit.Record(context.WithoutCancel(ctx), ev); err != nil {
		s.log.Error("audit append failed", "component", "appversion", "type", e.Type, "err", err)
		if ev.Type == audit.AppPolicyChanged {
			// The change is committed; the operator learns that its
			// audit record is missing.
			markAuditFailed(ctx)
		}
	}
}

// handshakeAudit turns TLS handshake failures into ntwk_handshake_fail
// events, aggregated as the audit spec §3.8 asks: per (network, reason)
// the first 10 of a minute individually, the rest as one event with attrs
// count and aggregated at the end of the minute. The hook never blocks the
// connection goroutine: events queue to one writer goroutine; a full
// queue folds the failure into the minute's aggregate.
type handshakeAudit struct {
	log   *audit.Log
	warn  *slog.Logger
	now   func() time.Time
	queue chan audit.Event

	mu     sync.Mutex
	minute time.Time
	counts map[hsKey]int
}

type hsKey struct {
	listener, reason string
	prefix           netip.Prefix
}

const (
	hsIndividual = 10
	hsQueue      = 256
)

func newHandshakeAudit(l *audit.Log, warn *slog.Logger) *handshakeAudit {
	return &handshakeAudit{log: l, warn: warn, now: time.Now, queue: make(chan audit.Event, hsQueue), counts: map[hsKey]int{}}
}

// netPrefixOf is the aggregation key of an address: its /24 or /48.
func netPrefixOf(a netip.Addr) netip.Prefix {
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}

// OnFailure is the tlsconf.HandshakeConfig hook.
func (h *handshakeAudit) OnFailure(f tlsconf.HandshakeFailure) {
	var ip netip.Addr
	if ap, err := netip.ParseAddrPort(f.Remote); err == nil {
		ip = ap.Addr().Unmap()
	}
	k := hsKey{listener: f.Listener, reason: f.Reason, prefix: netPrefixOf(ip)}
	now := h.now()
	h.mu.Lock()
	flush := h.rollLocked(now)
	h.counts[k]++
	n := h.counts[k]
	h.mu.Unlock()
	h.enqueue(flush...)
	if n > hsIndividual {
		return
	}
	ev := hsEvent(k, ip, 1, false)
	if f.Alert != "" {
		ev.Attrs["alert"] = safeAttr(f.Alert)
	}
	select {
	case h.queue <- ev:
	default:
		// The writer is behind: count the failure into the aggregate.
		h.mu.Lock()
		h.counts[k] += hsIndividual
		h.mu.Unlock()
	}
}

func hsEvent(k hsKey, ip netip.Addr, count int, aggregated bool) audit.Event {
	reason := k.reason
	if reason == "" {
		reason = "other"
	}
	return audit.Event{Type: audit.NtwkHandshakeFail, Outcome: audit.Failure, Reason: reason,
		Actor:  audit.Actor{Kind: audit.ActorAnonymous, ID: "anonymous"},
		Client: &audit.ClientInfo{IP: ip},
		Attrs:  map[string]any{"listener": safeAttr(k.listener), "count": int64(count), "aggregated": aggregated}}
}

// rollLocked starts a new minute when now left the current one and
// returns the aggregate events of the old minute.
func (h *handshakeAudit) rollLocked(now time.Time) []audit.Event {
	m := now.Truncate(time.Minute)
	if m.Equal(h.minute) {
		return nil
	}
	var out []audit.Event
	for k, n := range h.counts {
		if n > hsIndividual {
			out = append(out, hsEvent(k, k.prefix.Addr(), n-hsIndividual, true))
		}
	}
	h.minute = m
	clear(h.counts)
	return out
}

func (h *handshakeAudit) enqueue(evs ...audit.Event) {
	for _, ev := range evs {
		select {
		case h.queue <- ev:
		default:
			h.warn.Warn("handshake audit queue full; aggregate dropped", "component", "audit")
		}
	}
}

// run writes queued events until ctx ends, rolls the minute once a
// minute, and flushes the aggregates at the end.
func (h *handshakeAudit) run(ctx context.Context) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	write := func(ev audit.Event) {
		if _, err := h.log.Record(context.WithoutCancel(ctx), ev); err != nil {
			h.warn.Error("audit append failed", "component", "audit", "type", string(ev.Type), "err", err)
		}
	}
	for {
		select {
		case ev := <-h.queue:
			write(ev)
		case <-t.C:
			h.mu.Lock()
			flush := h.rollLocked(h.now())
			h.mu.Unlock()
			for _, ev := range flush {
				write(ev)
			}
		case <-ctx.Done():
		drain:
			for {
				select {
				case ev := <-h.queue:
					write(ev)
				default:
					break drain
				}
			}
			h.mu.Lock()
			flush := h.rollLocked(time.Time{})
			h.mu.Unlock()
			for _, ev := range flush {
				write(ev)
			}
			return
		}
	}
}

// auditReady reports the readiness checks audit_head (the audit store
// answers) and checkpoint_signer (every log has a signer).
func (s *Server) auditReady(ctx context.Context) (head, signer error) {
	l := s.audit
	if l == nil {
		return errors.New("audit log not started"), errors.New("audit log not started")
	}
	if _, err := l.Status(ctx); err != nil {
		head = err
	}
	for _, name := range auditLogs {
		if s.auditKeys == nil || s.auditKeys.signers[name] == nil {
			signer = errors.New("no checkpoint signer for " + name)
		}
	}
	return head, signer
}

// authEvents is the auth service's event sink: the slog line of
// auth.SlogSink plus the audit event.
func (s *Server) authEvents() auth.EventSink {
	sl := auth.SlogSink{Logger: s.log.With("component", "auth")}
	if s.audit == nil {
		return sl
	}
	return authAuditSink{log: s.audit, slog: sl, warn: s.log.With("component", "auth")}
}

// billingAudit is the billing service's audit sink (nil without a log).
func (s *Server) billingAudit() billing.AuditSink {
	if s.audit == nil {
		return nil
	}
	return billingAuditSink{log: s.audit}
}

// auditFailKey marks a request context whose audit append failed.
type auditFailKey struct{}

// markAuditFailed records in ctx, when it comes from auditGuard, that an
// audit append of the request failed.
func markAuditFailed(ctx context.Context) {
	if f, ok := ctx.Value(auditFailKey{}).(*atomic.Bool); ok {
		f.Store(true)
	}
}

// auditGuard fails a request closed when an audit event it caused could
// not be written (audit spec §3.3, HTTP 503 audit-unavailable): the auth
// and update-service hooks cannot fail their action themselves, so the
// response is held back until the handler returns and replaced by the
// problem when an append failed. The client then never receives the
// session cookie, code or token whose issuance is missing from the log.
func (s *Server) auditGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		failed := new(atomic.Bool)
		rec := &heldResponse{header: http.Header{}}
		inner := r.WithContext(context.WithValue(r.Context(), auditFailKey{}, failed))
		next.ServeHTTP(rec, inner)
		// The mux records the matched route on the request it served;
		// the metrics middleware outside reads it from the outer one.
		r.Pattern = inner.Pattern
		if failed.Load() {
			s.log.Error("request failed closed: audit write failed", "component", "audit", "path_pattern", r.Pattern)
			writeProblem(w, http.StatusServiceUnavailable, "audit-unavailable", "Audit Unavailable")
			return
		}
		h := w.Header()
		for k, v := range rec.header {
			h[k] = v
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	})
}

// heldResponse buffers a response for auditGuard.
type heldResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (h *heldResponse) Header() http.Header { return h.header }

func (h *heldResponse) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *heldResponse) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.body.Write(b)
}

// reReasonCode is the audit reason pattern.
var reReasonCode = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)

// rePseudonymID is the audit pseudonym pattern.
var rePseudonymID = regexp.MustCompile(`^[a-z2-7]{16}$`)

// redemptionAudit records the outcome of POST /v1/redemptions as
// fsc_redeem_ok or fsc_redeem_fail (audit spec §2.5; detection rules D4
// and D5) with the account's audit pseudonym as subject, never the code.
// Reasons: already_active (200), already_bound (409), the code check's
// reason (422) and insurer_unavailable (503, outcome unknown or in
// progress included). When the append fails the response becomes 503
// audit-unavailable (auditGuard); a repeat of the same account's request
// is idempotent (200) and is recorded then.
func (s *Server) redemptionAudit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held := &heldResponse{header: http.Header{}}
		next.ServeHTTP(held, r)
		if held.status == 0 {
			held.status = http.StatusOK
		}
		ev := audit.Event{Type: audit.FSCRedeemFail, Outcome: audit.Failure}
		switch held.status {
		case http.StatusCreated:
			ev.Type, ev.Outcome = audit.FSCRedeemOK, audit.Success
		case http.StatusOK:
			ev.Type, ev.Outcome, ev.Reason = audit.FSCRedeemOK, audit.Success, "already_active"
		case http.StatusConflict:
			ev.Reason = "already_bound"
		case http.StatusUnprocessableEntity:
			var p struct {
				Reason string `json:"reason"`
			}
			_ = json.Unmarshal(held.body.Bytes(), &p)
			ev.Reason = "invalid_code"
			if reReasonCode.MatchString(p.Reason) {
				ev.Reason = p.Reason
			}
		case http.StatusServiceUnavailable:
			ev.Reason = "insurer_unavailable"
		default:
			ev.Type = "" // 400 and 401 are no redemption attempt
		}
		if ev.Type != "" && s.audit != nil {
			ev.Actor = audit.Actor{Kind: audit.ActorAnonymous, ID: "anonymous"}
			if p, ok := s.pseudonymOf(r.Context()); ok {
				ev.Actor, ev.Subject = audit.Actor{Kind: audit.ActorUser, ID: p}, p
			}
			if _, err := s.audit.Record(context.WithoutCancel(r.Context()), ev); err != nil {
				s.log.Error("audit append failed", "component", "billing", "type", string(ev.Type), "err", err)
				markAuditFailed(r.Context())
			}
		}
		h := w.Header()
		for k, v := range held.header {
			h[k] = v
		}
		w.WriteHeader(held.status)
		_, _ = w.Write(held.body.Bytes())
	})
}

// readToken reads a bearer token from file; an empty name means none.
func readToken(file string) (string, error) {
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", errors.New("cannot read the token file")
	}
	return strings.TrimSpace(string(b)), nil
}
