package app

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digakit/digakit/refserver/examples/oidcclient"
	"github.com/digakit/digakit/refserver/internal/config"
)

// TestAuthEndToEndAgainstServer is the "done when": a new user
// registers, enrols TOTP, logs in with PKCE, refreshes and logs out
// against the running server, driven by the example client written with
// x/oauth2 and go-oidc.
func TestAuthEndToEndAgainstServer(t *testing.T) {
	cfg := devConfig(t)
	s := start(t, quietOptions(cfg))
	base := s.Addrs["public"]
	ctx := context.Background()
	c, err := oidcclient.New(ctx, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	const pw = "correct horse battery staple 42"
	acct, err := c.Register(ctx, "patient-pseudonym", pw)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Login(ctx, acct.Username, pw, acct.TOTPSecret)
	if err != nil {
		t.Fatal(err)
	}
	if code, body, _ := c.Get(ctx, tok, "/v1/me/sessions"); code != http.StatusOK {
		t.Fatalf("sessions: %d %s", code, body)
	}
	tok2, err := c.Refresh(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if tok2.RefreshToken == tok.RefreshToken {
		t.Fatal("refresh token not rotated")
	}
	if err := c.Logout(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refresh(ctx, tok2); err == nil {
		t.Fatal("refresh after logout succeeded")
	}
	if code, _, _ := c.Get(ctx, tok2, "/v1/me/sessions"); code != http.StatusUnauthorized {
		t.Fatalf("API after logout: %d, want 401", code)
	}

	// zitadel's own probe and device endpoints are not mounted (§2.1).
	hc := &http.Client{}
	for _, p := range []string{"/ready", "/device_authorization", "/healthz/x"} {
		if code, _ := get(t, hc, base+p); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}
	if code, body := get(t, hc, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz answered %d %q: not the refserver's handler", code, body)
	}
	// The auth counters are on the server's registry.
	if _, body := get(t, hc, base+"/metrics"); !strings.Contains(body, `digakit_auth_logins_total{method="totp",result="ok"} 1`) ||
		!strings.Contains(body, `digakit_auth_refresh_total{result="ok"} 1`) {
		t.Error("auth metrics missing from /metrics")
	}
	// Keys were generated into <data>/keys with mode 0600.
	files, _ := filepath.Glob(filepath.Join(cfg.Data, "keys", "oidc", "*.pem"))
	more, _ := filepath.Glob(filepath.Join(cfg.Data, "keys", "auth-*.key"))
	if len(files) != 1 || len(more) != 4 {
		t.Fatalf("key files: %v %v", files, more)
	}
	for _, f := range append(files, more...) {
		st, err := os.Stat(f)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", filepath.Base(f), st.Mode().Perm())
		}
	}
}

// TestAuthConfigValidation: bad auth settings stop the start with a
// one-line configuration error.
func TestAuthConfigValidation(t *testing.T) {
	for name, mut := range map[string]func(*config.Config){
		"issuer":  func(c *config.Config) { c.Auth.Issuer = "ftp://op.example" },
		"ttl":     func(c *config.Config) { c.Auth.AccessTokenTTLSeconds = 7200 },
		"argon2":  func(c *config.Config) { c.Auth.Argon2 = config.Argon2{MemoryKiB: 4, Iterations: 1, Parallelism: 1} },
		"clients": func(c *config.Config) { c.Auth.Clients = []config.AuthClient{{ID: "x"}} },
	} {
		cfg := devConfig(t)
		mut(cfg)
		_, err := Start(t.Context(), quietOptions(cfg))
		var se *StartupError
		if !errors.As(err, &se) || se.Step != "config" || !strings.Contains(err.Error(), "auth.") {
			t.Errorf("%s: %v", name, err)
		}
	}
	cfg := devConfig(t)
	cfg.Auth.Issuer = "https://op.example"
	cfg.Auth.Argon2 = config.Argon2{MemoryKiB: 64, Iterations: 1, Parallelism: 1}
	cfg.Auth.Clients = []config.AuthClient{{ID: "de.example.diga", RedirectURIs: []string{"de.example.diga:/oauth"}, RequireNonce: true}}
	s := start(t, quietOptions(cfg))
	_, body := get(t, &http.Client{}, s.Addrs["public"]+"/.well-known/openid-configuration")
	if !strings.Contains(body, `"issuer":"https://op.example"`) {
		t.Errorf("issuer not applied: %s", body)
	}
}
