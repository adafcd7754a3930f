package app

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digakit/digakit/audit"
)

// TestAuditSinksFromConfig: with audit.checkpoint_url and audit.alert_url
// set, signed checkpoints are POSTed to the checkpoint receiver and
// detection alerts to the Alertmanager API, both with their bearer
// tokens.
func TestAuditSinksFromConfig(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got[r.URL.Path] = append(got[r.URL.Path], r.Header.Get("Authorization")+"|"+string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer recv.Close()
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte("s3cr3t-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := devConfig(t)
	cfg.Audit.CheckpointURL, cfg.Audit.CheckpointTokenFile = recv.URL+"/checkpoints", tokFile
	cfg.Audit.AlertURL, cfg.Audit.AlertTokenFile = recv.URL+"/am/", tokFile
	cfg.Audit.RunbookBaseURL = "https://runbooks.example/#"
	s := start(t, quietOptions(cfg))
	ctx := t.Context()

	// Ten failed logins from one probe raise D1.
	probe := audit.ProbeID([]byte("0123456789abcdef0123456789abcdef"), "someone")
	for range 10 {
		if _, err := s.audit.Record(ctx, audit.Event{Type: audit.AuthnLoginFail, Outcome: audit.Failure, Reason: "unknown_user",
			Actor: audit.Actor{Kind: audit.ActorAnonymous, ID: probe}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.auditDetect.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	// Shutdown signs a last checkpoint regardless of its age; it is
	// shipped to the receiver.
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		cps, alerts := got["/checkpoints"], got["/am/api/v2/alerts"]
		mu.Unlock()
		if len(cps) > 0 && len(alerts) > 0 {
			if !strings.HasPrefix(cps[0], "Bearer s3cr3t-token|") || !strings.Contains(cps[0], "\n— ") {
				t.Fatalf("checkpoint request %q is not a signed note with the token", cps[0])
			}
			if !strings.HasPrefix(alerts[0], "Bearer s3cr3t-token|") || !strings.Contains(alerts[0], "D1") || !strings.Contains(alerts[0], "runbooks.example") {
				t.Fatalf("alert request %q", alerts[0])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint posts %d, alert posts %d after 20 s", len(cps), len(alerts))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAuditSinkURLsValidated(t *testing.T) {
	cfg := devConfig(t)
	cfg.File = "x.json" // production layout: https only
	cfg.Audit.AlertURL = "http://am.internal"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "audit.alert_url") {
		t.Fatalf("err = %v", err)
	}
}
