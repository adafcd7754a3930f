package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/digakit/digakit/refserver/internal/appversion"
)

func TestAppPolicySetShow(t *testing.T) {
	data := t.TempDir()
	out, errs, code := runCLI(t, "", "app-policy", "show", "--data", data)
	if code != exitOK || !strings.Contains(out, "no app policy stored") {
		t.Fatalf("empty show: %d %q %q", code, out, errs)
	}
	before := time.Now().UTC().Add(-time.Second)
	out, errs, code = runCLI(t, "", "app-policy", "set", "--data", data, "--platform", "ios", "--minimum", "1.4.0",
		"--recommended", "1.5.0", "--blocked", "1.3.7, 1.3.8", "--store-url", "https://apps.example/id1",
		"--advisory-id", "SA-2026-1", "--message-key", "update.security", "--json")
	if code != exitOK {
		t.Fatalf("set: %d %q", code, errs)
	}
	var p appversion.Policy
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if p.Revision != 1 || p.MinimumVersion != "1.4.0" || len(p.BlockedVersions) != 2 || p.GraceUntil == nil {
		t.Fatalf("stored %+v", p)
	}
	// A new minimum without a grace flag gets the 7-day default.
	if d := p.GraceUntil.Sub(before); d < appversion.DefaultGrace || d > appversion.DefaultGrace+time.Minute {
		t.Fatalf("grace %v from now", d)
	}
	// Only the given members change; --critical removes the grace.
	out, errs, code = runCLI(t, "", "app-policy", "set", "--data", data, "--platform", "ios", "--minimum", "1.5.0", "--critical", "--json")
	if code != exitOK {
		t.Fatalf("set 2: %d %q", code, errs)
	}
	p = appversion.Policy{}
	_ = json.Unmarshal([]byte(out), &p)
	if p.Revision != 2 || p.MinimumVersion != "1.5.0" || p.GraceUntil != nil || p.StoreURL != "https://apps.example/id1" || p.RecommendedVersion != "1.5.0" {
		t.Fatalf("stored %+v", p)
	}
	out, _, code = runCLI(t, "", "app-policy", "set", "--data", data, "--platform", "web", "--minimum", "2.0.0", "--grace-until", "2027-01-01T00:00:00Z")
	if code != exitOK || !strings.Contains(out, "grace_until=2027-01-01T00:00:00Z") {
		t.Fatalf("set web: %d %q", code, out)
	}
	out, _, code = runCLI(t, "", "app-policy", "show", "--data", data, "--json")
	var ps []appversion.Policy
	if code != exitOK || json.Unmarshal([]byte(out), &ps) != nil || len(ps) != 2 || ps[0].Platform != "ios" || ps[1].Platform != "web" {
		t.Fatalf("show: %d %q", code, out)
	}
	out, _, code = runCLI(t, "", "app-policy", "show", "--data", data, "--platform", "ios", "--history")
	if code != exitOK || strings.Count(out, "\n") != 2 || !strings.Contains(out, " cli ios revision=1 ") {
		t.Fatalf("history: %d %q", code, out)
	}
}

func TestAppPolicyErrors(t *testing.T) {
	data := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"app-policy"}, exitUsage, "missing subcommand"},
		{[]string{"app-policy", "set", "--data", data, "--minimum", "1.0.0"}, exitUsage, "--platform"},
		{[]string{"app-policy", "set", "--data", data, "--platform", "windows"}, exitUsage, "--platform"},
		{[]string{"app-policy", "set", "--data", data, "--platform", "ios"}, exitUsage, "nothing to change"},
		{[]string{"app-policy", "set", "--data", data, "--platform", "ios", "--minimum", "v1.2"}, exitInvalid, "minimum_version"},
		{[]string{"app-policy", "set", "--data", data, "--platform", "ios", "--minimum", "2.0.0", "--recommended", "1.0.0"}, exitInvalid, "recommended_version"},
		{[]string{"app-policy", "set", "--data", data, "--platform", "ios", "--blocked", "1.2"}, exitInvalid, "blocked_versions"},
		{[]string{"app-policy", "set", "--data", data, "--platform", "ios", "--store-url", "http://x"}, exitInvalid, "store_url"},
		{[]string{"app-policy", "set", "--data", data, "--platform", "ios", "--grace", "1h", "--critical"}, exitUsage, "only one"},
		{[]string{"app-policy", "set", "--data", data, "--platform", "ios", "--grace-until", "tomorrow"}, exitInvalid, "RFC 3339"},
		{[]string{"app-policy", "show", "--data", data, "--history"}, exitUsage, "--platform"},
		{[]string{"app-policy", "show", "--config", "/nonexistent/digakit.json"}, exitUsage, "cannot read"},
	} {
		_, errs, code := runCLI(t, "", c.args...)
		if code != c.code || !strings.Contains(errs, c.err) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%v: exit %d stderr %q; want %d containing %q (one line)", c.args, code, errs, c.code, c.err)
		}
	}
	// Nothing was stored by the rejected calls.
	out, _, _ := runCLI(t, "", "app-policy", "show", "--data", data, "--json")
	if strings.TrimSpace(out) != "[]" {
		t.Fatalf("rejected changes were stored: %s", out)
	}
}
