package appversion

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// memWriter is an in-memory PolicyWriter for the handler tests; the real
// store is exercised in package sqlstore.
type memWriter struct {
	mu      sync.Mutex
	ps      map[Platform]Policy
	fail    error
	actors  []string
	loadErr error
}

func (m *memWriter) LoadPolicies(context.Context) ([]Policy, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.loadErr != nil {
		return nil, m.loadErr
	}
	var out []Policy
	for _, p := range Platforms {
		if q, ok := m.ps[p]; ok {
			out = append(out, q)
		}
	}
	return out, nil
}

func (m *memWriter) Set(_ context.Context, p Policy, actor string) (Policy, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return Policy{}, m.fail
	}
	p.Revision = m.ps[p.Platform].Revision + 1
	m.ps[p.Platform] = p
	m.actors = append(m.actors, actor)
	return p, nil
}

var errConflict = errors.New("conflict")

func TestAdminHandler(t *testing.T) {
	mw := &memWriter{ps: map[Platform]Policy{}}
	g, err := New(Config{Policies: []Policy{{Platform: Web, MinimumVersion: "1.0.0"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.AdminHandler(AdminConfig{}); err == nil {
		t.Fatal("missing store accepted")
	}
	h, err := g.AdminHandler(AdminConfig{Store: mw, Actor: func(*http.Request) string { return "admin:op1" },
		IsConflict: func(err error) bool { return errors.Is(err, errConflict) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Middleware(h))
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(HeaderPlatform, "ios") // admin routes are not exempt in this setup
		req.Header.Set(HeaderVersion, "9.9.9")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := do("PUT", "/admin/v1/app-policies/ios", `{"minimum_version":"1.4.0","store_url":"https://apps.example/id1"}`)
	if code != 200 || !strings.Contains(body, `"revision":1`) || !strings.Contains(body, `"platform":"ios"`) {
		t.Fatalf("PUT: %d %s", code, body)
	}
	// Installed in the gate at once.
	if info, _ := g.Check(IOS, "1.3.0"); info.Status != StatusUpdateRequired {
		t.Fatalf("gate not updated: %+v", info)
	}
	code, body = do("GET", "/admin/v1/app-policies", "")
	if code != 200 || !strings.Contains(body, `"minimum_version":"1.4.0"`) || !strings.Contains(body, `"platform":"web"`) {
		t.Fatalf("GET: %d %s", code, body)
	}
	for _, c := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"/admin/v1/app-policies/ios", `{"minimum_version":"v1"}`, 400, "minimum_version"},
		{"/admin/v1/app-policies/ios", `{"minimum_version":"1.0.0","minimum_version":"9.0.0"}`, 400, "duplicate"},
		{"/admin/v1/app-policies/ios", `{"minimum":"1.0.0"}`, 400, "unknown member"},
		{"/admin/v1/app-policies/ios", `{"platform":"web"}`, 400, "platform"},
		{"/admin/v1/app-policies/ios", `{} {}`, 400, "trailing"},
		{"/admin/v1/app-policies/ios", `{"blocked_versions":[` + strings.Repeat(`"1.0.0",`, 3000) + `"1.0.0"]}`, 400, "too large"},
		{"/admin/v1/app-policies/windows", `{}`, 404, "not-found"},
	} {
		code, body := do("PUT", c.path, c.body)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("PUT %s %.40s: %d %s", c.path, c.body, code, body)
		}
	}
	mw.fail = errConflict
	if code, _ := do("PUT", "/admin/v1/app-policies/ios", `{}`); code != 409 {
		t.Errorf("conflict: %d", code)
	}
	mw.fail = errors.New("db down")
	if code, body := do("PUT", "/admin/v1/app-policies/ios", `{}`); code != 503 || strings.Contains(body, "db down") {
		t.Errorf("store failure: %d %s", code, body)
	}
	mw.loadErr = errors.New("db down")
	if code, _ := do("GET", "/admin/v1/app-policies", ""); code != 503 {
		t.Errorf("GET with store down: %d", code)
	}
	if len(mw.actors) != 1 || mw.actors[0] != "admin:op1" {
		t.Fatalf("actors %v", mw.actors)
	}
}

func TestNoDuplicateKeys(t *testing.T) {
	for in, ok := range map[string]bool{
		`{"a":1,"b":{"a":2},"c":[{"a":1},{"a":1}]}`: true,
		`{"a":1,"a":2}`:             false,
		`{"a":{"x":1,"x":1}}`:       false,
		`{"a":[1,2],"b":"a","a":3}`: false,
		`{"a":"b","b":"a"}`:         true,
		`[{"k":1},{"k":2}]`:         true,
		`{"a":[{"k":1,"k":2}]}`:     false,
		`{"a":`:                     false,
	} {
		if err := noDuplicateKeys([]byte(in)); (err == nil) != ok {
			t.Errorf("%s: err = %v", in, err)
		}
	}
}
