package sqlstore

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digakit/digakit/internal/sqltest"
	"github.com/digakit/digakit/refserver/internal/appversion"
	"github.com/digakit/digakit/refserver/internal/store"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// eachMainDB runs f on a migrated main database per dialect: SQLite
// always, PostgreSQL when DIGAKIT_TEST_POSTGRES is set.
func eachMainDB(t *testing.T, f func(t *testing.T, db *store.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		f(t, openMain(t, "sqlite:"+filepath.Join(t.TempDir(), "main.db")))
	})
	t.Run("postgres", func(t *testing.T) {
		base := os.Getenv(sqltest.EnvPostgres)
		if base == "" {
			t.Skip(sqltest.SkipMessage)
		}
		dsn, drop, err := sqltest.CreateDatabase(t.Context(), base)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(drop)
		f(t, openMain(t, dsn))
	})
}

func openMain(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), dsn, store.RoleMain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestSQLStoreRoundTrip(t *testing.T) {
	eachMainDB(t, func(t *testing.T, db *store.DB) {
		var audited []appversion.AuditEvent
		var mu sync.Mutex
		st := New(db.DB, Config{
			Now: func() time.Time { return t0 },
			Audit: func(_ context.Context, e appversion.AuditEvent) {
				mu.Lock()
				audited = append(audited, e)
				mu.Unlock()
			},
		})
		ctx := t.Context()
		if ps, err := st.LoadPolicies(ctx); err != nil || len(ps) != 0 {
			t.Fatalf("empty store: %v %v", ps, err)
		}
		grace := t0.Add(appversion.DefaultGrace)
		p1 := appversion.Policy{Platform: appversion.IOS, MinimumVersion: "1.4.0", RecommendedVersion: "1.5.0", BlockedVersions: []string{"1.4.3"},
			GraceUntil: &grace, StoreURL: "https://apps.example/id1", AdvisoryID: "SA-2026-7", MessageKey: "update.security"}
		got, err := st.Set(ctx, p1, "cli")
		if err != nil || got.Revision != 1 {
			t.Fatalf("Set: %+v %v", got, err)
		}
		p2 := appversion.Policy{Platform: appversion.IOS, MinimumVersion: "1.5.0"}
		if got, err = st.Set(ctx, p2, "admin:abcdefghijklmnop"); err != nil || got.Revision != 2 {
			t.Fatalf("Set 2: %+v %v", got, err)
		}
		if _, err := st.Set(ctx, appversion.Policy{Platform: appversion.Android, MinimumVersion: "3.0.0"}, "cli"); err != nil {
			t.Fatal(err)
		}
		ps, err := st.LoadPolicies(ctx)
		if err != nil || len(ps) != 2 || ps[0].Platform != appversion.IOS || ps[0].MinimumVersion != "1.5.0" || ps[0].Revision != 2 || ps[1].Platform != appversion.Android {
			t.Fatalf("LoadPolicies: %+v %v", ps, err)
		}
		h, err := st.History(ctx, appversion.IOS)
		if err != nil || len(h) != 2 || h[0].Policy.AdvisoryID != "SA-2026-7" || !h[0].Policy.GraceUntil.Equal(grace) ||
			h[0].ChangedBy != "cli" || !h[0].ChangedAt.Equal(t0) || h[1].ChangedBy != "admin:abcdefghijklmnop" {
			t.Fatalf("History: %+v %v", h, err)
		}
		if len(audited) != 3 || audited[0].Type != "app_policy_changed" || audited[0].Policy.Revision != 1 || audited[0].Actor != "cli" {
			t.Fatalf("audit %+v", audited)
		}
		// Invalid input stores nothing.
		for _, bad := range []appversion.Policy{{Platform: "windows"}, {Platform: appversion.IOS, MinimumVersion: "1.2"}} {
			if _, err := st.Set(ctx, bad, "cli"); err == nil {
				t.Fatalf("%+v accepted", bad)
			}
		}
		if _, err := st.Set(ctx, p2, "bad actor!"); err == nil {
			t.Fatal("bad actor accepted")
		}
		if h, _ := st.History(ctx, appversion.IOS); len(h) != 2 {
			t.Fatalf("rejected changes reached the history: %d", len(h))
		}
		// The gate reads the store.
		g, err := appversion.New(appversion.Config{Source: st, Policies: []appversion.Policy{{Platform: appversion.IOS, MinimumVersion: "0.1.0"}, {Platform: appversion.Web, MinimumVersion: "9.0.0"}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		gp := g.Policies()
		if len(gp) != 3 || gp[0].MinimumVersion != "1.5.0" || gp[2].MinimumVersion != "9.0.0" {
			t.Fatalf("gate policies %+v", gp)
		}
	})
}

// TestSQLStoreCorruptRow: a stored policy that does not validate is an
// error for LoadPolicies, and the gate keeps what it had.
func TestSQLStoreCorruptRow(t *testing.T) {
	eachMainDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if _, err := db.ExecContext(ctx, `INSERT INTO app_policy (platform, revision, policy, updated_at, updated_by) VALUES ('web', 1, $1, 0, 'x')`,
			`{"platform":"web","minimum_version":"v2","surprise":1}`); err != nil {
			t.Fatal(err)
		}
		st := New(db.DB, Config{})
		if _, err := st.LoadPolicies(ctx); !errors.Is(err, ErrCorruptPolicy) {
			t.Fatalf("err = %v", err)
		}
		g, _ := appversion.New(appversion.Config{Source: st, Policies: []appversion.Policy{{Platform: appversion.Web, MinimumVersion: "1.0.0"}}})
		if err := g.Refresh(ctx); err == nil || g.Policies()[0].MinimumVersion != "1.0.0" {
			t.Fatal("corrupt row replaced the policy")
		}
		// Unknown platforms cannot be stored at all.
		if _, err := db.ExecContext(ctx, `INSERT INTO app_policy (platform, revision, policy, updated_at, updated_by) VALUES ('windows', 1, '{}', 0, 'x')`); err == nil {
			t.Fatal("CHECK constraint missing")
		}
	})
}

// TestSQLStoreConcurrentSet: 20 concurrent changes of one platform give
// unique consecutive revisions; a change either commits completely or
// fails with ErrConcurrentChange.
func TestSQLStoreConcurrentSet(t *testing.T) {
	eachMainDB(t, func(t *testing.T, db *store.DB) {
		st := New(db.DB, Config{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := st.Set(t.Context(), appversion.Policy{Platform: appversion.Android, MinimumVersion: "1." + itoa(i) + ".0"}, "cli")
				switch {
				case err == nil:
					mu.Lock()
					ok++
					mu.Unlock()
				case errors.Is(err, ErrConcurrentChange):
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		h, err := st.History(t.Context(), appversion.Android)
		if err != nil || len(h) != ok || ok == 0 {
			t.Fatalf("history %d, successes %d, err %v", len(h), ok, err)
		}
		for i, c := range h {
			if c.Policy.Revision != int64(i+1) {
				t.Fatalf("revision %d at %d", c.Policy.Revision, i)
			}
		}
		ps, _ := st.LoadPolicies(t.Context())
		if len(ps) != 1 || ps[0].Revision != int64(ok) || ps[0].MinimumVersion != h[ok-1].Policy.MinimumVersion {
			t.Fatalf("current %+v does not match the last history entry", ps)
		}
	})
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// TestAdminHandlerOnStore: the admin API on the real store; 10
// concurrent PUTs answer 200 or 409 only, and the history holds exactly
// the 200s.
func TestAdminHandlerOnStore(t *testing.T) {
	eachMainDB(t, func(t *testing.T, db *store.DB) {
		st := New(db.DB, Config{})
		g, err := appversion.New(appversion.Config{Source: st})
		if err != nil {
			t.Fatal(err)
		}
		h, err := g.AdminHandler(appversion.AdminConfig{Store: st,
			IsConflict: func(err error) bool { return errors.Is(err, ErrConcurrentChange) }})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequestWithContext(t.Context(), "PUT", srv.URL+"/admin/v1/app-policies/web",
					strings.NewReader(`{"minimum_version":"2.`+itoa(i)+`.0"}`))
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_ = resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if codes[200]+codes[409] != 10 || codes[200] == 0 {
			t.Fatalf("codes %v", codes)
		}
		hist, err := st.History(t.Context(), appversion.Web)
		if err != nil || len(hist) != codes[200] {
			t.Fatalf("history %d, 200s %d, err %v", len(hist), codes[200], err)
		}
		if hist[len(hist)-1].ChangedBy != "admin" {
			t.Fatalf("actor %q", hist[len(hist)-1].ChangedBy)
		}
	})
}
