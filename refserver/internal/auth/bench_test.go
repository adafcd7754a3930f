package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/argon2"
)

// benchLogin signs "bench" in through the pages and returns tokens.
func benchLogin(b *testing.B, e *env, secret string) tokenResponse {
	e.clock.Advance(30 * time.Second)
	br := browser()
	_, body := run(b, br, e.authorizeURL(nil))
	loc := e.loginVia(b, br, body, "bench", secret, TOTPStep(e.clock.Now()))
	tr := e.exchange(b, loc.Query().Get("code"), pkceVerifier)
	if tr.status != http.StatusOK {
		b.Fatalf("exchange: %d %s", tr.status, tr.Error)
	}
	return tr
}

// BenchmarkRefreshHTTP: POST /oauth/token grant_type=refresh_token
// through the provider's full handler stack on SQLite (rotation in one
// transaction, ES256 access and ID token).
func BenchmarkRefreshHTTP(b *testing.B) {
	e := newEnv(b, true, nil)
	secret, _ := e.register(b, "bench")
	rt := benchLogin(b, e, secret).RefreshToken
	hc := &http.Client{}
	b.ResetTimer()
	for b.Loop() {
		resp, err := hc.PostForm(e.url+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {DevClientID}})
		if err != nil {
			b.Fatal(err)
		}
		var tr tokenResponse
		_ = json.NewDecoder(resp.Body).Decode(&tr)
		_ = resp.Body.Close()
		if tr.RefreshToken == "" {
			b.Fatalf("refresh failed: %d %s", resp.StatusCode, tr.Error)
		}
		rt = tr.RefreshToken
	}
}

// BenchmarkRefreshBare: a bare net/http handler doing the same work —
// hash lookup, rotation in one transaction, ES256 signing of one access
// and one ID token — without the provider.
func BenchmarkRefreshBare(b *testing.B) {
	e := newEnv(b, true, nil)
	secret, _ := e.register(b, "bench")
	rt := benchLogin(b, e, secret).RefreshToken
	db := e.db.DB
	key, _ := e.keys.Current()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key.Private}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", key.ID))
	if err != nil {
		b.Fatal(err)
	}
	sign := func(m map[string]any) string {
		bs, _ := json.Marshal(m)
		obj, _ := signer.Sign(bs)
		s, _ := obj.CompactSerialize()
		return s
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		hash := sha256Hex(r.PostForm.Get("refresh_token"))
		ctx := r.Context()
		var family, sub, state string
		if err := db.QueryRowContext(ctx, `SELECT rt.family, a.sub, rt.state FROM auth_refresh_tokens rt JOIN auth_sessions s ON s.id = rt.family
			JOIN auth_accounts a ON a.id = s.account WHERE rt.hash = $1`, hash).Scan(&family, &sub, &state); err != nil || state != "active" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		next, _ := randToken(e.svc.cfg.Rand)
		now := time.Now()
		tx, err := db.BeginTx(ctx, &sql.TxOptions{})
		if err != nil {
			http.Error(w, "", 500)
			return
		}
		res, _ := tx.ExecContext(ctx, `UPDATE auth_refresh_tokens SET state = 'rotated', rotated_at = $1 WHERE hash = $2 AND state = 'active'`, ms(now), hash)
		if n, _ := res.RowsAffected(); n != 1 {
			_ = tx.Rollback()
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		_, _ = tx.ExecContext(ctx, `INSERT INTO auth_refresh_tokens (hash, family, scopes, state, created_at) VALUES ($1,$2,'openid','active',$3)`, sha256Hex(next), family, ms(now))
		_, _ = tx.ExecContext(ctx, `UPDATE auth_sessions SET last_used_at = $1 WHERE id = $2`, ms(now), family)
		if err := tx.Commit(); err != nil {
			http.Error(w, "", 500)
			return
		}
		base := map[string]any{"iss": e.url, "sub": sub, "aud": []string{Audience}, "exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "sid": family}
		at := sign(base)
		base["aud"] = []string{Audience, DevClientID}
		id := sign(base)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": at, "id_token": id, "refresh_token": next, "token_type": "Bearer"})
	})
	srv := newBareServer(b, h)
	hc := &http.Client{}
	b.ResetTimer()
	for b.Loop() {
		resp, err := hc.PostForm(srv+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {DevClientID}})
		if err != nil {
			b.Fatal(err)
		}
		var tr tokenResponse
		_ = json.NewDecoder(resp.Body).Decode(&tr)
		_ = resp.Body.Close()
		if tr.RefreshToken == "" {
			b.Fatal("bare refresh failed")
		}
		rt = tr.RefreshToken
	}
}

// BenchmarkLoginOWASP: complete password + TOTP logins through the pages
// (authorize, password form, TOTP form, callback, code exchange) with the
// OWASP argon2id parameters, one at a time.
func BenchmarkLoginOWASP(b *testing.B) {
	e := newEnv(b, true, func(c *Config) {
		c.Argon2 = OWASPParams
		c.Limits.NetworkAttempts = 1 << 30
	})
	secret, _ := e.register(b, "bench")
	b.ResetTimer()
	for b.Loop() {
		benchLogin(b, e, secret)
	}
}

// BenchmarkArgon2Floor: one argon2id computation with the OWASP
// parameters, one at a time (the floor of BenchmarkLoginOWASP).
func BenchmarkArgon2Floor(b *testing.B) {
	salt := []byte("0123456789abcdef")
	p := OWASPParams
	for b.Loop() {
		argon2.IDKey([]byte("a long passphrase"), salt, p.Iterations, p.MemoryKiB, p.Parallelism, 32)
	}
}

// BenchmarkArgon2FloorParallel: the floor with the concurrency cap
// (2 × GOMAXPROCS goroutines).
func BenchmarkArgon2FloorParallel(b *testing.B) {
	h := NewHasher(OWASPParams, 0, time.Minute, nil)
	phc, _ := h.Hash(context.Background(), "a long passphrase")
	b.SetParallelism(2)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _, _ = h.Verify(context.Background(), phc, "a long passphrase")
		}
	})
	_ = runtime.GOMAXPROCS(0)
}

func newBareServer(b *testing.B, h http.Handler) string {
	mux := http.NewServeMux()
	mux.Handle("POST /oauth/token", h)
	srv := httpTestServer(mux)
	b.Cleanup(srv.Close)
	return strings.TrimSuffix(srv.URL, "/")
}
