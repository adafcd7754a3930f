package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/digakit/digakit/internal/sqltest"
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
