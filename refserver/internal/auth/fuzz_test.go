package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=,t=,p=$$")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, tag, err := ParsePHC(s)
		if err != nil {
			return
		}
		if p.MemoryKiB < 8 || p.Iterations < 1 || p.Parallelism < 1 || len(salt) < 8 || len(tag) < 16 {
			t.Fatalf("accepted out-of-range parameters %+v", p)
		}
		if again := EncodePHC(p, salt, tag); again != s {
			t.Fatalf("not canonical: %q vs %q", again, s)
		}
	})
}

func FuzzNormalizeUsername(f *testing.F) {
	for _, s := range []string{"Alice", "ＡＬＩＣＥ", "Straße", "ab", "a\u0000b", "\xff", " x y ", "İstanbul"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := NormalizeUsername(s)
		if !ok {
			return
		}
		c := utf8.RuneCountInString(n)
		if c < 3 || c > 64 || !utf8.ValidString(n) || strings.ContainsAny(n, " \t\r\n\x00") {
			t.Fatalf("bad normalized username %q", n)
		}
		if n2, ok := NormalizeUsername(n); !ok || n2 != n {
			t.Fatalf("not idempotent: %q → %q", n, n2)
		}
	})
}

func FuzzNormalizeTOTP(f *testing.F) {
	for _, s := range []string{"123456", "12 34 56", "１２３４５６", "12345", "abcdef", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := NormalizeTOTP(s)
		if !ok {
			return
		}
		if len(c) != 6 || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("bad code %q", c)
		}
	})
}

// FuzzVerifyAccessToken: no input panics or is accepted without a valid
// signature by the ring's key.
func FuzzVerifyAccessToken(f *testing.F) {
	ring, err := NewMemoryKeyRing(nil)
	if err != nil {
		f.Fatal(err)
	}
	v := &Verifier{Keys: ring, Issuer: func() string { return "https://op.example" }, Now: time.Now}
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJFUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJ4In0.AAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := v.Verify(context.Background(), s); err == nil {
			t.Fatalf("accepted %q", s)
		}
	})
}

// FuzzFormEndpoints posts arbitrary bodies and queries to the form and
// token endpoints: never a 5xx, never a panic.
func FuzzFormEndpoints(f *testing.F) {
	e := newEnv(f, true, func(c *Config) { c.Limits.NetworkAttempts = 1 << 30; c.Limits.Registrations = 1 << 30 })
	mux := http.NewServeMux()
	e.svc.Mount(mux)
	paths := []string{"/login", "/login/2fa", "/register", "/register/totp", "/login/reset", "/oauth/token", "/revoke", "/authorize", "/end_session", "/login/2fa/webauthn/begin"}
	f.Add(uint8(0), "authRequestID=x&username=a&password=b", "")
	f.Add(uint8(1), "token=x&kind=recovery&code=AAAA", "")
	f.Add(uint8(2), "username=%00%ff&password=xxxxxxxxxxxx", "")
	f.Add(uint8(5), "grant_type=refresh_token&refresh_token=x&client_id=digakit-dev", "")
	f.Add(uint8(5), "grant_type=authorization_code&code=x&client_id=digakit-dev&code_verifier=y", "")
	f.Add(uint8(7), "", "client_id=digakit-dev&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&response_type=code&scope=openid")
	f.Add(uint8(8), "", "id_token_hint=a.b.c")
	f.Fuzz(func(t *testing.T, which uint8, body, query string) {
		p := paths[int(which)%len(paths)]
		req := httptest.NewRequest(http.MethodPost, p, strings.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q %q: %d %s", p, body, query, rec.Code, rec.Body.String())
		}
	})
}
