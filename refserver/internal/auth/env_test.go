package auth

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/digakit/digakit/internal/sqltest"
	"github.com/digakit/digakit/refserver/examples/oidcclient"
	"github.com/digakit/digakit/refserver/internal/store"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Now().UTC()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testParams are cheap argon2id parameters for tests that are not about
// hashing cost.
var testParams = Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

const confClientID = "conformance"

// rsSecret is the introspection client's secret (test only).
const rsSecret = "resource-server-secret-for-tests"

type env struct {
	svc   *Service
	srv   *httptest.Server
	url   string
	sink  *MemorySink
	clock *fakeClock
	keys  *KeyRing
	db    *store.DB
}

func openDB(t testing.TB, dialect string) *store.DB {
	t.Helper()
	ctx := context.Background()
	var dsn string
	if dialect == "postgres" {
		dsn = sqltest.Postgres(t).DSN
	} else {
		dsn = "sqlite:" + filepath.Join(t.TempDir(), "main.db")
	}
	db, err := store.Open(ctx, dsn, store.RoleMain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// newEnv starts the service on an httptest server with SQLite. With
// fake, the service runs on a fake clock.
func newEnv(t testing.TB, fake bool, mut func(*Config)) *env {
	return newEnvDB(t, openDB(t, "sqlite"), fake, mut)
}

func newEnvDB(t testing.TB, db *store.DB, fake bool, mut func(*Config)) *env {
	t.Helper()
	e := &env{sink: &MemorySink{}, db: db}
	now := time.Now
	if fake {
		e.clock = newClock()
		now = e.clock.Now
	}
	ring, err := NewMemoryKeyRing(now)
	if err != nil {
		t.Fatal(err)
	}
	e.keys = ring
	cfg := Config{
		DB: db.DB, Keys: RandomKeys(), SigningKeys: ring, Issuer: func() string { return e.url },
		Clients: []ClientConfig{DevClient(),
			{ID: confClientID, RedirectURIs: []string{"https://rp.example/cb"}},
			{ID: "resource-server", RedirectURIs: []string{"https://rs.example/none"}, SecretSHA256: sha256Hex(rsSecret)}},
		Events: e.sink, Now: now, Argon2: testParams, AllowInsecure: true,
	}
	if mut != nil {
		mut(&cfg)
	}
	e.svc, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.svc.Mount(mux)
	mux.HandleFunc("/", http.NotFound)
	e.srv = httptest.NewServer(mux)
	e.url = e.srv.URL
	t.Cleanup(e.srv.Close)
	return e
}

// register creates an active account with username and returns its TOTP
// secret and recovery codes.
func (e *env) register(t testing.TB, username string) (secret string, recovery []string) {
	t.Helper()
	ctx := context.Background()
	en, err := e.svc.Register(ctx, username, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	// The previous step (inside the skew) so that a login right after
	// registration can use the current one.
	code, err := TOTPCode(en.TOTPSecret, TOTPStep(e.svc.now())-1)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := e.svc.ConfirmTOTP(ctx, en.Token, code)
	if err != nil {
		t.Fatal(err)
	}
	return en.TOTPSecret, rc
}

// client returns an example client (own cookie jar = one device) on the
// env's clock.
func (e *env) client(t testing.TB) *oidcclient.Client {
	t.Helper()
	c, err := oidcclient.New(context.Background(), e.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.clock != nil {
		c.Now = e.clock.Now
	}
	return c
}

// noFollow is an HTTP client that does not follow redirects.
func noFollow() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// authorizeURL builds an authorization request for the dev client with
// a valid PKCE challenge; extra overrides or adds parameters ("" deletes).
func (e *env) authorizeURL(extra map[string]string) string {
	v := url.Values{
		"client_id":             {DevClientID},
		"redirect_uri":          {"http://127.0.0.1:53682/callback"},
		"response_type":         {"code"},
		"scope":                 {"openid offline_access diga.api"},
		"state":                 {"st-123"},
		"nonce":                 {"n-456"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(pkceVerifier)},
		"code_challenge_method": {"S256"},
	}
	for k, val := range extra {
		if val == "" {
			v.Del(k)
		} else {
			v.Set(k, val)
		}
	}
	return e.url + "/authorize?" + v.Encode()
}

const pkceVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

// newAuthRequest opens /authorize and returns the auth request id from
// the redirect to the login page.
func (e *env) newAuthRequest(t testing.TB) string {
	t.Helper()
	resp, err := noFollow().Get(e.authorizeURL(nil))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	id := loc.Query().Get("authRequestID")
	if resp.StatusCode != http.StatusFound || id == "" {
		t.Fatalf("authorize: %d %s", resp.StatusCode, loc)
	}
	return id
}

// postForm posts form to path and returns status and body.
func (e *env) postForm(t testing.TB, path string, form url.Values) (int, string, http.Header) {
	t.Helper()
	resp, err := noFollow().PostForm(e.url+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// tokenResponse is the token endpoint's JSON.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Error        string `json:"error"`
	status       int
}

func (e *env) token(t testing.TB, form url.Values) tokenResponse {
	t.Helper()
	resp, err := http.PostForm(e.url+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var tr tokenResponse
	_ = json.NewDecoder(resp.Body).Decode(&tr)
	tr.status = resp.StatusCode
	return tr
}

func (e *env) refresh(t testing.TB, rt string) tokenResponse {
	return e.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {DevClientID}})
}

// api calls path with the bearer token.
func (e *env) api(t testing.TB, method, path, at string, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+at)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func httpTestServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newJSONLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
