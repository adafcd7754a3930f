//go:build !production

package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digakit/digakit/refserver/internal/app"
	"github.com/digakit/digakit/refserver/internal/config"
)

// TestAuditVerifyOnServerDatabase: the audit log that a development server
// wrote into its main database verifies with `digakit audit verify`, the
// verifier keys from <data>/keys/audit.vkey and the shipped checkpoints
// (exit 0, no warnings); an unrelated key is not trusted (exit 1).
func TestAuditVerifyOnServerDatabase(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	cfg, err := config.Load(config.Flags{Addr: "127.0.0.1:0", Data: data}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	s, err := app.Start(t.Context(), app.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler),
		Getuid: func() int { return 1000 }, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(data, "keys", "audit.vkey"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"audit", "verify", "--db", cfg.DB.DSN, "--checkpoints", filepath.Join(data, "checkpoints"), "--json"}
	for _, vk := range strings.Fields(string(b)) {
		args = append(args, "--vkey", vk)
	}
	out, errOut, code := runCLI(t, "", args...)
	var rep struct {
		OK       bool     `json:"ok"`
		Events   int64    `json:"events"`
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %s (stderr %s)", out, errOut)
	}
	if code != exitOK || !rep.OK || rep.Events < 2 || len(rep.Warnings) > 0 {
		t.Fatalf("exit %d, report %+v", code, rep)
	}
	// Without the server's keys the signed checkpoints are not trusted.
	other := "audit.invalid/security+00000000+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
	out, _, code = runCLI(t, "", "audit", "verify", "--db", cfg.DB.DSN, "--vkey", other, "--json")
	if code == exitOK {
		t.Fatalf("verify with a foreign key: exit 0, %s", out)
	}
}
