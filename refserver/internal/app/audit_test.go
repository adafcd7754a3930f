package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/memstore"
	auditsql "github.com/digakit/digakit/audit/sqlstore"
	"github.com/digakit/digakit/internal/sqltest"
	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/refserver/internal/appversion"
	"github.com/digakit/digakit/refserver/internal/auth"
	"github.com/digakit/digakit/refserver/internal/config"
	"github.com/digakit/digakit/refserver/internal/store"
	"github.com/digakit/digakit/refserver/internal/tlsconf"
)

// auditVerifiers reads the verifier keys the server wrote to
// <data>/keys/audit.vkey.
func auditVerifiers(t *testing.T, data string) []note.Verifier {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "keys", "audit.vkey"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []note.Verifier
	for _, line := range strings.Fields(string(b)) {
		v, err := note.NewVerifier(line)
		if err != nil {
			t.Fatalf("audit.vkey: %v", err)
		}
		vs = append(vs, v)
	}
	if len(vs) != 2 {
		t.Fatalf("audit.vkey has %d keys, want 2 (security, privacy)", len(vs))
	}
	return vs
}

// openAuditStore opens the stopped server's main database.
func openAuditStore(t *testing.T, cfg *config.Config) (*store.DB, *auditsql.Store) {
	t.Helper()
	db, err := store.Open(t.Context(), cfg.DB.DSN, store.RoleMain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	st, err := auditsql.New(db.DB, string(db.Dialect))
	if err != nil {
		t.Fatal(err)
	}
	return db, st
}

// verifyServerAudit runs audit.Verify over the stopped server's main
// database with the generated verifier keys and the shipped checkpoints.
func verifyServerAudit(t *testing.T, cfg *config.Config) (audit.Report, *store.DB) {
	t.Helper()
	db, st := openAuditStore(t, cfg)
	ext, err := audit.ReadCheckpointDir(filepath.Join(cfg.Data, "checkpoints"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(t.Context(), st, audit.VerifyOptions{Verifiers: auditVerifiers(t, cfg.Data), External: ext})
	if err != nil {
		t.Fatal(err)
	}
	return rep, db
}

func auditTypes(t *testing.T, db *store.DB) map[string]int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT type, COUNT(*) FROM audit_events GROUP BY type`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var typ string
		var n int
		if err := rows.Scan(&typ, &n); err != nil {
			t.Fatal(err)
		}
		out[typ] = n
	}
	return out
}

// TestAuditStartupShutdownCheckpointAndRestart: a start records
// sys_startup, the shutdown sys_shutdown and a signed checkpoint that
// verifies with the generated verifier key; a restart reuses the keys and
// the whole log still verifies with the shipped checkpoints.
func TestAuditStartupShutdownCheckpointAndRestart(t *testing.T) {
	cfg := devConfig(t)
	for range 2 {
		s, err := Start(t.Context(), quietOptions(cfg))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"audit-security.skey", "audit-privacy.skey", "audit-kek.key", "audit-net.key"} {
		fi, err := os.Stat(filepath.Join(cfg.Data, "keys", f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	vs := auditVerifiers(t, cfg.Data)
	rep, db := verifyServerAudit(t, cfg)
	if !rep.OK || rep.Events < 4 || len(rep.Warnings) > 0 {
		t.Fatalf("verify: %+v", rep)
	}
	types := auditTypes(t, db)
	if types["sys_startup"] != 2 || types["sys_shutdown"] != 2 {
		t.Fatalf("audit types %v, want two sys_startup and two sys_shutdown", types)
	}
	// The last checkpoint file of the security log covers every event.
	var size uint64
	if err := db.QueryRowContext(t.Context(), `SELECT size FROM audit_segments WHERE log = 'security'`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	cps, err := filepath.Glob(filepath.Join(cfg.Data, "checkpoints", "security", "*", "*.cp"))
	if err != nil || len(cps) == 0 {
		t.Fatalf("no checkpoint files: %v", err)
	}
	found := false
	for _, f := range cps {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := audit.OpenCheckpoint(b, vs)
		if err != nil {
			t.Fatalf("%s does not verify: %v", f, err)
		}
		if !strings.HasPrefix(cp.Origin, defaultAuditOrigin+"/security/") {
			t.Errorf("origin %q", cp.Origin)
		}
		found = found || cp.Size == size
	}
	if !found {
		t.Fatalf("no checkpoint of size %d among %v", size, cps)
	}
	// A foreign key does not verify the checkpoint.
	_, other, _ := note.GenerateKey(nil, defaultAuditOrigin+"/security")
	ov, _ := note.NewVerifier(other)
	b, _ := os.ReadFile(cps[0])
	if _, err := audit.OpenCheckpoint(b, []note.Verifier{ov}); err == nil {
		t.Fatal("a checkpoint verified with a foreign key")
	}
}

// TestAuditKeysMismatchFailsStart: a verifier key that does not belong to
// the signer stops the start with a one-line error.
func TestAuditKeysMismatchFailsStart(t *testing.T) {
	cfg := devConfig(t)
	s := start(t, quietOptions(cfg))
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, vk, _ := note.GenerateKey(nil, defaultAuditOrigin+"/security")
	if err := os.WriteFile(filepath.Join(cfg.Data, "keys", "audit-security.vkey"), []byte(vk+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Start(t.Context(), quietOptions(cfg))
	if err == nil || !strings.Contains(err.Error(), "audit keys") || strings.Contains(err.Error(), "PRIVATE") {
		t.Fatalf("Start = %v, want an audit keys error", err)
	}
}

// TestAuditDetectionCountsAlerts: ten failed logins of one unknown
// identifier raise D1 in the audit_detect step and the alert metric.
func TestAuditDetectionCountsAlerts(t *testing.T) {
	s := start(t, quietOptions(devConfig(t)))
	ctx := t.Context()
	probe := audit.ProbeID([]byte("0123456789abcdef0123456789abcdef"), "someone")
	for range 10 {
		ev := audit.Event{Type: audit.AuthnLoginFail, Outcome: audit.Failure, Reason: "unknown_user",
			Actor: audit.Actor{Kind: audit.ActorAnonymous, ID: probe}}
		if _, err := s.audit.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	// The River step may have evaluated first; either way the alert is
	// raised exactly once.
	if _, err := s.auditDetect.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	_, body := get(t, c, s.Addrs["public"]+"/metrics")
	if !strings.Contains(body, `digakit_detect_alerts_total{rule="D1",severity="WARN"} 1`) {
		t.Fatalf("/metrics lacks the D1 alert count")
	}
	if !strings.Contains(body, "digakit_audit_checkpoint_age_seconds") && !strings.Contains(body, "# HELP digakit_detect_alerts_total") {
		t.Fatal("/metrics lacks the audit metrics")
	}
}

// TestAuditVerifyStepRecordsIntegrityFailure: the daily verify step finds
// a shipped checkpoint that the database contradicts and records
// audit_integrity_fail.
func TestAuditVerifyStepRecordsIntegrityFailure(t *testing.T) {
	s := start(t, quietOptions(devConfig(t)))
	ctx := t.Context()
	if err := s.verifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
	// A forged external checkpoint claims more events than the log has.
	segs, err := s.auditStore.Segments(ctx, audit.LogSecurity)
	if err != nil || len(segs) == 0 {
		t.Fatal(err)
	}
	sg := segs[len(segs)-1]
	var root [32]byte
	msg, err := audit.SignCheckpoint(audit.Checkpoint{Origin: s.audit.Origin(sg.Log, sg.Seg), Size: sg.Size + 5, Root: root}, s.auditKeys.signers[audit.LogSecurity])
	if err != nil {
		t.Fatal(err)
	}
	if err := (audit.FileSink{Dir: s.auditCPDir}).Ship(ctx, audit.SignedCheckpoint{Log: sg.Log, Seg: sg.Seg, Size: sg.Size + 5, Note: msg}); err != nil {
		t.Fatal(err)
	}
	if err := s.verifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.main.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE type = 'audit_integrity_fail'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d audit_integrity_fail events, want 1", n)
	}
}

// TestBillingAuditSinkFailsWhenTheAuditStoreFails: the billing sink
// returns the audit write error, so the billing service keeps the row in
// its backlog and mirrors it later (delayed, never lost).
func TestBillingAuditSinkFailsWhenTheAuditStoreFails(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	if err := auditsql.CreateSchema(ctx, db.DB, auditsql.SQLite); err != nil {
		t.Fatal(err)
	}
	st, err := auditsql.New(db.DB, auditsql.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(audit.Config{Store: st, OnForbidden: audit.Redact})
	if err != nil {
		t.Fatal(err)
	}
	sink := billingAuditSink{log: l}
	ev := billing.AuditEvent{ProtocolID: 7, Process: billing.ProcessCheck, Procedure: "EFFC0", Result: billing.ResultError,
		Class: "permanent", Sent: true, HTTPStatus: 200, FehlerNummern: []int{1001, 1002}, CodeID: "0123456789abcdef", At: time.Now()}
	if err := sink.RecordBillingExchange(ctx, ev); err != nil {
		t.Fatal(err)
	}
	recs, err := st.Records(ctx, audit.LogSecurity, audit.SegmentID(audit.Monthly, time.Now()), 0, 10)
	if err != nil || len(recs) != 1 {
		t.Fatalf("records %d, %v", len(recs), err)
	}
	leaf := string(recs[0].Leaf)
	for _, want := range []string{`"type":"billing_exchange"`, `"outcome":"failure"`, `"code_id":"0123456789abcdef"`, `"fehler":[1001,1002]`, `"protocol_id":7`} {
		if !strings.Contains(leaf, want) {
			t.Errorf("leaf lacks %s: %s", want, leaf)
		}
	}
	_ = db.DB.Close()
	if err := sink.RecordBillingExchange(ctx, ev); err == nil {
		t.Fatal("the sink reported success without a database")
	}
}

// TestAuthAuditSinkMapping: auth events become audit events with the
// pseudonym as subject, probe ids as anonymous actors and the AMR in the
// auth member; authn_token_refreshed is not in the vocabulary and dropped.
func TestAuthAuditSinkMapping(t *testing.T) {
	ctx := t.Context()
	st := memstore.New()
	l, err := audit.New(audit.Config{Store: st, OnForbidden: audit.Redact})
	if err != nil {
		t.Fatal(err)
	}
	sink := authAuditSink{log: l, warn: quietLogger()}
	pseudo := "abcdefghijklmnop"
	sink.Emit(ctx, auth.Event{Type: auth.EventLoginSuccess, Actor: pseudo, Attrs: map[string]string{"amr": "pwd otp"}})
	sink.Emit(ctx, auth.Event{Type: auth.EventLoginFail, Reason: "unknown_user", Actor: "probe:abcdefghijklmnop"})
	sink.Emit(ctx, auth.Event{Type: auth.EventTokenRefreshed, Actor: pseudo})
	sink.Emit(ctx, auth.Event{Type: auth.EventSequenceFail, Attrs: map[string]string{"step": "login"}})
	recs, err := st.Records(ctx, audit.LogSecurity, audit.SegmentID(audit.Monthly, time.Now()), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	checks := []struct{ typ, actor, subject, has string }{
		{"authn_login_success", "user:" + pseudo, pseudo, `"amr":["pwd","otp"]`},
		{"authn_login_fail", "anonymous:probe:abcdefghijklmnop", "", `"outcome":"failure"`},
		{"sequence_fail", "anonymous:anonymous", "", `"step":"login"`},
	}
	for i, c := range checks {
		r := recs[i]
		if r.Type != c.typ || r.Actor != c.actor || r.Subject != c.subject || !strings.Contains(string(r.Leaf), c.has) {
			t.Errorf("record %d = %s %s %q %s", i, r.Type, r.Actor, r.Subject, r.Leaf)
		}
	}
}

// TestAppVersionAuditEvents: blocked versions and policy changes are
// recorded with a keyed network id, never the address.
func TestAppVersionAuditEvents(t *testing.T) {
	ctx := t.Context()
	st := memstore.New()
	l, err := audit.New(audit.Config{Store: st, OnForbidden: audit.Redact, NetKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{audit: l, log: quietLogger()}
	ip := mustAddr(t, "203.0.113.7")
	s.appVersionAudit(ctx, appversion.AuditEvent{Type: "app_version_blocked", Platform: appversion.IOS, Version: "1.2.0",
		Reason: appversion.ReasonBelowMinimum, ClientIP: ip})
	s.appVersionAudit(ctx, appversion.AuditEvent{Type: "app_policy_changed", Platform: appversion.Android,
		Policy: &appversion.Policy{Platform: appversion.Android, MinimumVersion: "2.0.0", Revision: 3}, Actor: "cli"})
	recs, err := st.Records(ctx, audit.LogSecurity, audit.SegmentID(audit.Monthly, time.Now()), 0, 10)
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	if recs[0].Type != "app_version_blocked" || !strings.Contains(string(recs[0].Leaf), `"reason":"below_minimum"`) ||
		!strings.Contains(string(recs[0].Leaf), `"net":`) || strings.Contains(string(recs[0].Leaf), "203.0.113") {
		t.Errorf("blocked: %s", recs[0].Leaf)
	}
	if recs[1].Type != "app_policy_changed" || recs[1].Actor != "admin:cli" || !strings.Contains(string(recs[1].Leaf), `"minimum_version":"2.0.0"`) {
		t.Errorf("policy: %s %s", recs[1].Actor, recs[1].Leaf)
	}
}

// TestHandshakeFailuresAreAggregated: per network and reason the first
// ten failures of a minute are individual events, the rest one aggregate
// with its count at the end of the minute.
func TestHandshakeFailuresAreAggregated(t *testing.T) {
	st := memstore.New()
	l, err := audit.New(audit.Config{Store: st, OnForbidden: audit.Redact, NetKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	h := newHandshakeAudit(l, quietLogger())
	now := time.Date(2026, 3, 1, 10, 0, 5, 0, time.UTC)
	h.now = func() time.Time { return now }
	for i := range 25 {
		h.OnFailure(tlsconf.HandshakeFailure{Listener: "public", Remote: "198.51.100.9:4" + string(rune('0'+i%10)) + "00", Reason: "no_common_suite"})
	}
	h.OnFailure(tlsconf.HandshakeFailure{Listener: "public", Remote: "[2001:db8::1]:443", Reason: "remote_alert", Alert: "bad_certificate"})
	now = now.Add(time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.run(ctx) // drains the queue and flushes the aggregates
	recs, err := st.Records(context.Background(), audit.LogSecurity, audit.SegmentID(audit.Monthly, time.Now()), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var single, agg int
	for _, r := range recs {
		leaf := string(r.Leaf)
		if r.Type != "ntwk_handshake_fail" || strings.Contains(leaf, "198.51.100") || strings.Contains(leaf, "2001:db8") {
			t.Fatalf("record %s", leaf)
		}
		if strings.Contains(leaf, `"aggregated":true`) {
			agg++
			if !strings.Contains(leaf, `"count":15`) {
				t.Errorf("aggregate %s, want count 15", leaf)
			}
		} else {
			single++
		}
	}
	if single != 11 || agg != 1 {
		t.Fatalf("%d individual and %d aggregated events, want 11 and 1", single, agg)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAuditOnPostgres: on PostgreSQL the audit migration runs, the server
// records its start and stop, signs a last checkpoint and the log
// verifies.
func TestAuditOnPostgres(t *testing.T) {
	base := os.Getenv(sqltest.EnvPostgres)
	if base == "" {
		t.Skip(sqltest.SkipMessage)
	}
	cfg := devConfig(t)
	for _, dst := range []*string{&cfg.DB.DSN, &cfg.Billing.DSN} {
		dsn, drop, err := sqltest.CreateDatabase(t.Context(), base)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(drop)
		*dst = dsn
	}
	if dir := os.Getenv(sqltest.EnvPostgresMark); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "app-TestAuditOnPostgres"), nil, 0o600)
	}
	s, err := Start(t.Context(), quietOptions(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	rep, db := verifyServerAudit(t, cfg)
	if !rep.OK || rep.Events < 2 || len(rep.Warnings) > 0 {
		t.Fatalf("verify: %+v", rep)
	}
	if types := auditTypes(t, db); types["sys_startup"] != 1 || types["sys_shutdown"] != 1 {
		t.Fatalf("audit types %v", types)
	}
}
