package appversion

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/digakit/digakit/refserver/internal/appversion/semver"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// ascending returns n versions in strictly ascending SemVer precedence
// by construction (pre-releases of a triple before the triple, triples in
// numeric order), so that expectations in the matrix are index
// comparisons and do not reuse Compare.
func ascending(n int) []string {
	var all []string
	for _, maj := range []int{0, 1, 2, 10} {
		for _, min := range []int{0, 1, 2, 9, 10} {
			for _, pat := range []int{0, 1, 10} {
				base := fmt.Sprintf("%d.%d.%d", maj, min, pat)
				for _, pre := range []string{"alpha", "alpha.1", "beta.2", "beta.11", "rc.1"} {
					all = append(all, base+"-"+pre)
				}
				all = append(all, base)
			}
		}
	}
	// Take n spread over the whole range (keeps the order).
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, all[i*len(all)/n])
	}
	return out
}

func TestAscendingIsSorted(t *testing.T) {
	vs := ascending(50)
	for i := 1; i < len(vs); i++ {
		a, _ := semver.Parse(vs[i-1])
		b, _ := semver.Parse(vs[i])
		if !a.Less(b) {
			t.Fatalf("%s !< %s", vs[i-1], vs[i])
		}
	}
}

type setup struct {
	srv  *httptest.Server
	gate *Gate
	reg  *prometheus.Registry
	now  *time.Time
}

func newSetup(t *testing.T, cfg Config) *setup {
	t.Helper()
	s := &setup{reg: prometheus.NewRegistry()}
	now := t0
	s.now = &now
	cfg.Registerer = s.reg
	cfg.Now = func() time.Time { return *s.now }
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.gate = g
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "served") }
	mux.HandleFunc("GET /v1/things", ok)
	mux.HandleFunc("GET /v1/me/protocol", ok)
	mux.HandleFunc("POST /v1/me/export", ok)
	mux.HandleFunc("DELETE /v1/me", ok)
	mux.HandleFunc("GET /v1/me/consents", ok)
	mux.Handle("GET /v1/app-versions", g.Handler())
	s.srv = httptest.NewServer(g.Middleware(mux))
	t.Cleanup(s.srv.Close)
	return s
}

type answer struct {
	status  int
	header  http.Header
	body    []byte
	problem map[string]any
}

func (s *setup) do(t *testing.T, method, path string, hdr map[string]string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		if err := json.Unmarshal(b, &a.problem); err != nil {
			t.Fatalf("problem body is not JSON: %q", b)
		}
	}
	return a
}

func counter(t *testing.T, reg *prometheus.Registry, platform string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "digakit_app_version_blocked_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "platform" && l.GetValue() == platform {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// expectation is what one (policy state, version index) should give.
type expectation struct {
	block  bool
	reason Reason
	hint   string // X-App-Update-Status prefix, "" for none
	status Status // GET /v1/app-versions
}

type policyState struct {
	name   string
	policy func(p Platform, v []string) *Policy
	expect func(i int) expectation
}

func ptr[T any](v T) *T { return &v }

func policyStates() []policyState {
	okE := expectation{status: StatusOK}
	blockMin := expectation{block: true, reason: ReasonBelowMinimum, status: StatusUpdateRequired}
	graceE := expectation{hint: "update_required; grace-until=" + t0.Add(48*time.Hour).Format(time.RFC3339), status: StatusUpdateRequired}
	return []policyState{
		{"no-policy", func(Platform, []string) *Policy { return nil }, func(int) expectation { return okE }},
		{"minimum-no-grace", func(p Platform, v []string) *Policy {
			return &Policy{Platform: p, MinimumVersion: v[20], StoreURL: "https://apps.example/" + string(p), AdvisoryID: "DIGA-SA-2026-01"}
		}, func(i int) expectation {
			if i < 20 {
				return blockMin
			}
			return okE
		}},
		{"minimum-in-grace", func(p Platform, v []string) *Policy {
			return &Policy{Platform: p, MinimumVersion: v[20], GraceUntil: ptr(t0.Add(48 * time.Hour))}
		}, func(i int) expectation {
			if i < 20 {
				return graceE
			}
			return okE
		}},
		{"minimum-grace-over", func(p Platform, v []string) *Policy {
			return &Policy{Platform: p, MinimumVersion: v[20], GraceUntil: ptr(t0.Add(-time.Second))}
		}, func(i int) expectation {
			if i < 20 {
				return blockMin
			}
			return okE
		}},
		{"recommended", func(p Platform, v []string) *Policy {
			return &Policy{Platform: p, MinimumVersion: v[20], RecommendedVersion: v[30], MessageKey: "update.soon"}
		}, func(i int) expectation {
			switch {
			case i < 20:
				return blockMin
			case i < 30:
				return expectation{hint: "update_recommended", status: StatusUpdateRecommended}
			}
			return okE
		}},
		{"blocked-versions", func(p Platform, v []string) *Policy {
			return &Policy{Platform: p, MinimumVersion: v[10], GraceUntil: ptr(t0.Add(48 * time.Hour)),
				BlockedVersions: []string{v[35], v[40] + "+build.99"}}
		}, func(i int) expectation {
			switch {
			case i == 35 || i == 40:
				return expectation{block: true, reason: ReasonVersionBlocked, status: StatusUpdateRequired}
			case i < 10:
				return graceE
			}
			return okE
		}},
	}
}

// TestAppVersionMatrix_T16 is T16 (refserver spec §6): 3 platforms × 50
// versions × 6 policy states on a gated route, an exempt route and
// GET /v1/app-versions, over real HTTP on loopback.
func TestAppVersionMatrix_T16(t *testing.T) {
	versions := ascending(50)
	var fivexx, total int
	for _, st := range policyStates() {
		for _, plat := range Platforms {
			t.Run(st.name+"/"+string(plat), func(t *testing.T) {
				var ps []Policy
				if p := st.policy(plat, versions); p != nil {
					ps = append(ps, *p)
				}
				// The other platforms block almost everything: the gate must
				// read the policy of the platform the request names.
				for _, other := range Platforms {
					if other != plat {
						ps = append(ps, Policy{Platform: other, MinimumVersion: versions[49]})
					}
				}
				s := newSetup(t, Config{Policies: ps})
				wantBlocks := 0
				for i, v := range versions {
					want := st.expect(i)
					hdr := map[string]string{HeaderPlatform: string(plat), HeaderVersion: v}
					a := s.do(t, "GET", "/v1/things", hdr)
					total++
					if a.status >= 500 {
						fivexx++
					}
					if want.block {
						wantBlocks++
						if a.status != http.StatusUpgradeRequired {
							t.Fatalf("%s: status %d, want 426", v, a.status)
						}
						checkProblem(t, a, plat, want.reason)
						if a.header.Get("Upgrade") != "" {
							t.Fatalf("%s: Upgrade header present", v)
						}
						if p := st.policy(plat, versions); p != nil && a.problem["minimum_version"] != p.MinimumVersion {
							t.Fatalf("%s: minimum_version %v", v, a.problem["minimum_version"])
						}
					} else {
						if a.status != http.StatusOK || string(a.body) != "served" {
							t.Fatalf("%s: status %d body %q, want 200", v, a.status, a.body)
						}
						if got := a.header.Get(HeaderUpdateStatus); got != want.hint {
							t.Fatalf("%s: %s = %q, want %q", v, HeaderUpdateStatus, got, want.hint)
						}
					}
					// Exempt routes are served whatever the version.
					for _, ex := range [][2]string{{"GET", "/v1/me/protocol"}, {"POST", "/v1/me/export"}, {"DELETE", "/v1/me"}, {"GET", "/v1/me/consents"}} {
						a := s.do(t, ex[0], ex[1], hdr)
						total++
						if a.status != http.StatusOK {
							t.Fatalf("exempt %s %s with %s: status %d", ex[0], ex[1], v, a.status)
						}
					}
					// The app's own check answers as specified.
					a = s.do(t, "GET", "/v1/app-versions?platform="+string(plat)+"&version="+v, nil)
					total++
					var info map[string]any
					if a.status != http.StatusOK || json.Unmarshal(a.body, &info) != nil {
						t.Fatalf("app-versions %s: %d %q", v, a.status, a.body)
					}
					if info["status"] != string(want.status) || info["platform"] != string(plat) {
						t.Fatalf("app-versions %s: %s", v, a.body)
					}
					for _, k := range []string{"minimum_version", "recommended_version", "grace_until", "store_url", "advisory_id", "message_key"} {
						if _, ok := info[k]; !ok {
							t.Fatalf("app-versions %s: member %s missing", v, k)
						}
					}
				}
				if got := counter(t, s.reg, string(plat)); got != float64(wantBlocks) {
					t.Fatalf("digakit_app_version_blocked_total{platform=%s} = %v, want %d", plat, got, wantBlocks)
				}
			})
		}
	}
	if fivexx != 0 {
		t.Fatalf("%d of %d answers were 5xx", fivexx, total)
	}
	t.Logf("T16: %d requests, 0 × 5xx", total)
}

func checkProblem(t *testing.T, a answer, plat Platform, reason Reason) {
	t.Helper()
	p := a.problem
	if p == nil {
		t.Fatalf("no problem body: %q", a.body)
	}
	if p["code"] != ProblemCode || p["status"] != float64(426) || p["type"] != "/problems/"+ProblemCode || p["title"] == "" {
		t.Fatalf("problem body %s", a.body)
	}
	if p["reason"] != string(reason) {
		t.Fatalf("reason %v, want %s", p["reason"], reason)
	}
	if plat != "" && p["platform"] != string(plat) {
		t.Fatalf("platform %v, want %s", p["platform"], plat)
	}
	if a.header.Get("Cache-Control") != "no-store" {
		t.Fatal("426 without Cache-Control: no-store")
	}
}

// malformed returns 200 version header values that are not strict
// SemVer by construction (none has leading or trailing whitespace, which
// HTTP strips, nor control characters, which the Go client refuses).
func malformed() []string {
	out := []string{
		"v1.2.3", "V1.2.3", "1.2", "1", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "1.2.3-", "1.2.3+",
		"1.2.3-01", "1.2.3-a..b", "1.2.3+a..b", "1.2.3-a_b", "1..3", ".1.2.3", "1.2.3.", "-1.2.3", "1.2.-3",
		"1.2.3 beta", "1,2,3", "１.２.３", "1.2.3-ä", "18446744073709551616.0.0", "a.b.c", "latest", "*",
		"^1.2.3", "~1.2.3", ">=1.2.3", "1.2.x", "1.2.3+build+x", "null", "undefined", "%31.2.3",
		"1.2.3;q=1", `{"v":"1.2.3"}`, "1.2.3' OR 1=1--", "<script>alert(1)</script>", "${jndi:ldap://x/a}",
		"1.2.3-" + strings.Repeat("a", 59), strings.Repeat("9", 10<<10), "1.2.3-ß", "0x1.0.0", "1e3.0.0",
		"+1.2.3", "1.2.3-+", "=1.2.3", "1.2.3 || 2.0.0", "\u202e1.2.3",
	}
	for i := 0; len(out) < 200; i++ {
		switch i % 6 {
		case 0:
			out = append(out, fmt.Sprintf("%d.%d", i, i+1))
		case 1:
			out = append(out, fmt.Sprintf("%d.%d.%d.%d", i, 1, 2, 3))
		case 2:
			out = append(out, fmt.Sprintf("v%d.%d.%d", i, 0, 1))
		case 3:
			out = append(out, fmt.Sprintf("0%d.%d.%d", i, 2, 3))
		case 4:
			out = append(out, fmt.Sprintf("%d.%d.%d-", i, 2, 3))
		case 5:
			out = append(out, fmt.Sprintf("%d.%d.%d-rc.0%d", 1, 2, 3, i))
		}
	}
	return out
}

// TestAppVersionMalformedHeaders_T16 sends 200 malformed version values
// (on every platform), missing headers and unknown platforms: never 5xx,
// 426 app-update-required with the right reason, the value never echoed.
func TestAppVersionMalformedHeaders_T16(t *testing.T) {
	s := newSetup(t, Config{Policies: []Policy{{Platform: IOS, MinimumVersion: "1.0.0"}}})
	bad := malformed()
	if len(bad) != 200 {
		t.Fatalf("%d malformed values", len(bad))
	}
	for i, v := range bad {
		plat := Platforms[i%3]
		a := s.do(t, "GET", "/v1/things", map[string]string{HeaderPlatform: string(plat), HeaderVersion: v})
		if a.status != http.StatusUpgradeRequired {
			t.Fatalf("%q: status %d, want 426", v, a.status)
		}
		checkProblem(t, a, plat, ReasonVersionUnparseable)
		if len(v) >= 6 && strings.Contains(string(a.body), v) {
			t.Fatalf("%q echoed in the body", v)
		}
		// GET /v1/app-versions: 200 update_required, reason version_unparseable.
		a = s.do(t, "GET", "/v1/app-versions?platform="+string(plat)+"&version="+urlEscape(v), nil)
		var info VersionInfo
		if a.status != http.StatusOK || json.Unmarshal(a.body, &info) != nil ||
			info.Status != StatusUpdateRequired || info.Reason != ReasonVersionUnparseable {
			t.Fatalf("app-versions %q: %d %s", v, a.status, a.body)
		}
	}
	cases := []struct {
		name   string
		hdr    map[string]string
		status int
		reason Reason
	}{
		{"no headers", nil, 426, ReasonMissingPlatform},
		{"no platform", map[string]string{HeaderVersion: "1.2.3"}, 426, ReasonMissingPlatform},
		{"no version", map[string]string{HeaderPlatform: "ios"}, 426, ReasonMissingVersion},
		{"empty version", map[string]string{HeaderPlatform: "android", HeaderVersion: ""}, 426, ReasonMissingPlatform + ""},
		{"windows", map[string]string{HeaderPlatform: "windows", HeaderVersion: "1.2.3"}, 400, ""},
		{"windows no version", map[string]string{HeaderPlatform: "windows"}, 400, ""},
		{"long platform", map[string]string{HeaderPlatform: strings.Repeat("i", 10<<10), HeaderVersion: "1.2.3"}, 400, ""},
		{"upper-case platform", map[string]string{HeaderPlatform: "IOS", HeaderVersion: "1.2.3"}, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := s.do(t, "GET", "/v1/things", c.hdr)
			if c.name == "empty version" {
				// Go's client drops an empty header value: the server sees
				// no version.
				c.reason = ReasonMissingVersion
			}
			if a.status != c.status {
				t.Fatalf("status %d, want %d (%s)", a.status, c.status, a.body)
			}
			switch c.status {
			case 426:
				checkProblem(t, a, "", c.reason)
			case 400:
				if a.problem["code"] != ProblemInvalidPlatform {
					t.Fatalf("body %s", a.body)
				}
				if strings.Contains(string(a.body), "windows") {
					t.Fatal("platform echoed")
				}
			}
		})
	}
	if got := counter(t, s.reg, "none"); got != 2 {
		t.Fatalf("blocked{platform=none} = %v, want 2", got)
	}
}

func urlEscape(s string) string { return url.QueryEscape(s) }

// TestAppVersionRawHeaders sends bytes the Go client refuses (control
// characters, NUL, 8-bit) over a raw connection: never 5xx; what reaches
// the gate is 426, what net/http rejects itself is 400.
func TestAppVersionRawHeaders(t *testing.T) {
	s := newSetup(t, Config{})
	addr := strings.TrimPrefix(s.srv.URL, "http://")
	for _, v := range []string{"1.2.3\x00", "\x01\x02", "1.2.3\x7f", "1.2\x1b[31m.3", "\xff\xfe1.2.3", "1.2.3\r"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET /v1/things HTTP/1.1\r\nHost: x\r\nX-App-Platform: ios\r\nX-App-Version: %s\r\nConnection: close\r\n\r\n", v)
		b, _ := io.ReadAll(c)
		_ = c.Close()
		var code int
		if _, err := fmt.Sscanf(string(b), "HTTP/1.1 %d", &code); err != nil {
			t.Fatalf("%q: no status line in %q", v, b)
		}
		if code != 426 && code != 400 {
			t.Fatalf("%q: status %d", v, code)
		}
		if strings.Contains(string(b), v) {
			t.Fatalf("%q echoed", v)
		}
	}
}

// TestAppVersions426OverHTTP2_T34 is T34: a Go client with
// ForceAttemptHTTP2 over TLS on loopback receives 426 and the problem
// body over HTTP/2, and no Upgrade header.
func TestAppVersions426OverHTTP2_T34(t *testing.T) {
	g, err := New(Config{Policies: []Policy{{Platform: Android, MinimumVersion: "2.0.0", StoreURL: "https://play.example/app"}}})
	if err != nil {
		t.Fatal(err)
	}
	inner := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Upgrade", "h2c") // must never leak into the 426
		_, _ = io.WriteString(w, "served")
	})
	srv := httptest.NewUnstartedServer(g.Middleware(inner))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/v1/things", nil)
	req.Header.Set(HeaderPlatform, "android")
	req.Header.Set(HeaderVersion, "1.9.9")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("HTTP/2 client failed on the 426 answer: %v", err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
	}
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if _, ok := resp.Header["Upgrade"]; ok {
		t.Fatal("Upgrade header present over HTTP/2")
	}
	var p map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p["code"] != ProblemCode || p["minimum_version"] != "2.0.0" || p["store_url"] != "https://play.example/app" || p["reason"] != string(ReasonBelowMinimum) {
		t.Fatalf("problem %v", p)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"bad minimum":    {Policies: []Policy{{Platform: IOS, MinimumVersion: "v1"}}},
		"bad platform":   {Policies: []Policy{{Platform: "windows"}}},
		"duplicate":      {Policies: []Policy{{Platform: IOS}, {Platform: IOS}}},
		"rec below min":  {Policies: []Policy{{Platform: IOS, MinimumVersion: "2.0.0", RecommendedVersion: "1.0.0"}}},
		"http store":     {Policies: []Policy{{Platform: IOS, StoreURL: "http://x.example/"}}},
		"bad blocked":    {Policies: []Policy{{Platform: IOS, BlockedVersions: []string{"1.2"}}}},
		"bad pattern":    {Exempt: []string{"GET"}},
		"conflict":       {Exempt: []string{"/a/", "/a/"}},
		"bad advisory":   {Policies: []Policy{{Platform: IOS, AdvisoryID: "a b"}}},
		"bad messagekey": {Policies: []Policy{{Platform: IOS, MessageKey: strings.Repeat("k", 65)}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	reg := prometheus.NewRegistry()
	if _, err := New(Config{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Registerer: reg}); err == nil {
		t.Error("second registration on one registry accepted")
	}
}

func TestExemptPatterns(t *testing.T) {
	g, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		exempt       bool
	}{
		{"GET", "/v1/app-versions", true},
		{"GET", "/healthz", true},
		{"GET", "/.well-known/openid-configuration", true},
		{"POST", "/oauth/token", true},
		{"GET", "/login/gid/start", true},
		{"GET", "/v1/legal-documents/privacy/versions/4", true},
		{"DELETE", "/v1/me/consents/diga.use", true},
		{"GET", "/v1/me/protocol", true},
		{"POST", "/v1/me/protocol", false},
		{"GET", "/v1/me/export/abc/archive", true},
		{"DELETE", "/v1/me", true},
		{"GET", "/v1/me", false},
		{"GET", "/v1/deletion-receipts/r1", true},
		{"GET", "/problems/app-update-required", true},
		{"POST", "/v1/redemptions", false},
		{"GET", "/v1/me/../me/export/x", false}, // unclean: fail closed
		{"GET", "/v1/me/sessions", false},
	} {
		r := httptest.NewRequest(c.method, "http://x"+c.path, nil)
		if got := g.isExempt(r); got != c.exempt {
			t.Errorf("%s %s: exempt=%v, want %v", c.method, c.path, got, c.exempt)
		}
	}
	// An empty non-nil list exempts nothing.
	g, _ = New(Config{Exempt: []string{}})
	if g.isExempt(httptest.NewRequest("GET", "http://x/v1/app-versions", nil)) {
		t.Error("empty exempt list exempted a route")
	}
}

func TestAuditDeduplicatedPerHour(t *testing.T) {
	var mu sync.Mutex
	var events []AuditEvent
	s := newSetup(t, Config{
		Policies: []Policy{{Platform: Web, BlockedVersions: []string{"3.0.0"}}},
		Audit: func(_ context.Context, e AuditEvent) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		},
	})
	hdr := map[string]string{HeaderPlatform: "web", HeaderVersion: "3.0.0+b1"}
	for range 5 {
		s.do(t, "GET", "/v1/things", hdr)
	}
	s.do(t, "GET", "/v1/things", map[string]string{HeaderPlatform: "web", HeaderVersion: "secret-looking-value"})
	*s.now = s.now.Add(61 * time.Minute)
	s.do(t, "GET", "/v1/things", hdr)
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 3 {
		t.Fatalf("%d audit events, want 3: %+v", len(events), events)
	}
	if e := events[0]; e.Type != "app_version_blocked" || e.Platform != Web || e.Version != "3.0.0+b1" || e.Reason != ReasonVersionBlocked || !e.ClientIP.IsLoopback() {
		t.Fatalf("event %+v", e)
	}
	if e := events[1]; e.Version != "" || e.Reason != ReasonVersionUnparseable {
		t.Fatalf("unparseable value reached the audit event: %+v", e)
	}
	if got := counter(t, s.reg, "web"); got != 7 {
		t.Fatalf("metric counts %v blocks, want 7 (every block)", got)
	}
}

func TestSetPoliciesAndRefresh(t *testing.T) {
	src := &fakeSource{}
	s := newSetup(t, Config{Source: src, Policies: []Policy{{Platform: IOS, MinimumVersion: "1.0.0"}}})
	hdr := map[string]string{HeaderPlatform: "ios", HeaderVersion: "1.5.0"}
	if a := s.do(t, "GET", "/v1/things", hdr); a.status != 200 {
		t.Fatalf("status %d", a.status)
	}
	src.ps = []Policy{{Platform: IOS, MinimumVersion: "2.0.0", Revision: 3}}
	if err := s.gate.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if a := s.do(t, "GET", "/v1/things", hdr); a.status != 426 {
		t.Fatalf("after refresh: status %d", a.status)
	}
	// An invalid policy changes nothing.
	src.ps = []Policy{{Platform: IOS, MinimumVersion: "1.0.0"}, {Platform: Web, MinimumVersion: "x"}}
	if err := s.gate.Refresh(t.Context()); err == nil {
		t.Fatal("invalid policy accepted")
	}
	if ps := s.gate.Policies(); len(ps) != 1 || ps[0].MinimumVersion != "2.0.0" || ps[0].Revision != 3 {
		t.Fatalf("policies %+v", ps)
	}
	// Watch picks up changes and stops with ctx.
	src.ps = []Policy{{Platform: IOS, MinimumVersion: "1.0.0"}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.gate.Watch(ctx, time.Millisecond, nil); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for s.gate.Policies()[0].MinimumVersion != "1.0.0" && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if s.gate.Policies()[0].MinimumVersion != "1.0.0" {
		t.Fatal("Watch did not refresh")
	}
}

type fakeSource struct {
	mu sync.Mutex
	ps []Policy
}

func (f *fakeSource) LoadPolicies(context.Context) ([]Policy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Policy(nil), f.ps...), nil
}

func TestAppVersionsEndpoint(t *testing.T) {
	s := newSetup(t, Config{Policies: []Policy{{Platform: IOS, MinimumVersion: "1.4.0", RecommendedVersion: "1.6.0",
		GraceUntil: ptr(t0.Add(time.Hour)), StoreURL: "https://apps.example/id1", AdvisoryID: "SA-1", MessageKey: "upd"}}})
	for _, c := range []struct {
		query  string
		status int
		want   string
	}{
		{"platform=ios&version=1.4.2", 200, `{"platform":"ios","status":"update_recommended","minimum_version":"1.4.0","recommended_version":"1.6.0","grace_until":"2026-11-29T13:00:00Z","store_url":"https://apps.example/id1","advisory_id":"SA-1","message_key":"upd"}`},
		{"platform=ios&version=1.3.9", 200, `{"platform":"ios","status":"update_required","reason":"below_minimum","minimum_version":"1.4.0","recommended_version":"1.6.0","grace_until":"2026-11-29T13:00:00Z","store_url":"https://apps.example/id1","advisory_id":"SA-1","message_key":"upd"}`},
		{"platform=ios&version=1.7.0", 200, `{"platform":"ios","status":"ok","minimum_version":"1.4.0","recommended_version":"1.6.0","grace_until":"2026-11-29T13:00:00Z","store_url":"https://apps.example/id1","advisory_id":"SA-1","message_key":"upd"}`},
		{"platform=ios&version=v1.7", 200, `{"platform":"ios","status":"update_required","reason":"version_unparseable","minimum_version":"1.4.0","recommended_version":"1.6.0","grace_until":"2026-11-29T13:00:00Z","store_url":"https://apps.example/id1","advisory_id":"SA-1","message_key":"upd"}`},
		{"platform=ios", 200, `{"platform":"ios","status":"update_required","reason":"missing_version","minimum_version":"1.4.0","recommended_version":"1.6.0","grace_until":"2026-11-29T13:00:00Z","store_url":"https://apps.example/id1","advisory_id":"SA-1","message_key":"upd"}`},
		{"platform=ios&version=1.7.0&version=1.0.0", 200, `{"platform":"ios","status":"update_required","reason":"version_unparseable","minimum_version":"1.4.0","recommended_version":"1.6.0","grace_until":"2026-11-29T13:00:00Z","store_url":"https://apps.example/id1","advisory_id":"SA-1","message_key":"upd"}`},
		{"platform=web&version=0.0.1", 200, `{"platform":"web","status":"ok","minimum_version":null,"recommended_version":null,"grace_until":null,"store_url":null,"advisory_id":null,"message_key":null}`},
		{"platform=windows&version=1.0.0", 400, ""},
		{"version=1.0.0", 400, ""},
		{"platform=ios&platform=web&version=1.0.0", 400, ""},
	} {
		a := s.do(t, "GET", "/v1/app-versions?"+c.query, nil)
		if a.status != c.status {
			t.Fatalf("%s: status %d", c.query, a.status)
		}
		if c.status == 400 {
			if a.problem["code"] != ProblemInvalidPlatform {
				t.Fatalf("%s: %s", c.query, a.body)
			}
			continue
		}
		if got := strings.TrimSpace(string(a.body)); got != c.want {
			t.Fatalf("%s:\n got %s\nwant %s", c.query, got, c.want)
		}
		if a.header.Get("Content-Type") != "application/json" {
			t.Fatalf("content type %q", a.header.Get("Content-Type"))
		}
	}
}

// TestGateConcurrent runs requests while policies change (-race).
func TestGateConcurrent(t *testing.T) {
	s := newSetup(t, Config{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				if i == 0 {
					_ = s.gate.SetPolicies(Policy{Platform: IOS, MinimumVersion: fmt.Sprintf("1.%d.0", j)})
					continue
				}
				a := s.do(t, "GET", "/v1/things", map[string]string{HeaderPlatform: "ios", HeaderVersion: "1.10.0"})
				if a.status != 200 && a.status != 426 {
					t.Errorf("status %d", a.status)
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkGate(b *testing.B) {
	g, err := New(Config{Policies: []Policy{{Platform: IOS, MinimumVersion: "1.4.0", RecommendedVersion: "1.6.0",
		BlockedVersions: []string{"1.5.1", "1.5.2"}}}})
	if err != nil {
		b.Fatal(err)
	}
	h := g.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", "http://x/v1/things", nil)
	r.Header.Set(HeaderPlatform, "ios")
	r.Header.Set(HeaderVersion, "1.7.3-beta.2+build.77")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
