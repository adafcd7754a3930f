package appversion

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzGate feeds arbitrary X-App-Platform / X-App-Version values (and
// the same values as GET /v1/app-versions parameters) through the gate:
// never a status outside {200, 400, 426}, never a panic, and a value is
// never echoed into the answer.
func FuzzGate(f *testing.F) {
	for _, s := range [][2]string{
		{"ios", "1.4.2"}, {"android", "v1.2"}, {"web", "1.2"}, {"", "1.2.3"}, {"ios", ""}, {"windows", "1.0.0"},
		{"IOS", "1.3.7+b"}, {"ios", "1.2.3-beta.01"}, {"ios", strings.Repeat("9", 100)}, {"web", "１.２.３"},
		{"ios", "1.2.3\x00"}, {"android", "0.0.0-0"}, {"ios\r\nX-Evil: 1", "1.0.0"},
	} {
		f.Add(s[0], s[1])
	}
	grace := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	g, err := New(Config{
		Policies: []Policy{
			{Platform: IOS, MinimumVersion: "1.4.0", RecommendedVersion: "1.6.0", BlockedVersions: []string{"1.3.7"}, GraceUntil: &grace},
			{Platform: Android, MinimumVersion: "2.0.0", StoreURL: "https://play.example/app"},
		},
		Now: func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		f.Fatal(err)
	}
	api := g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	versions := g.Handler()
	// Everything the answers may legitimately contain.
	var ref strings.Builder
	for _, p := range []string{"", "ios", "android", "web", "windows"} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/v1/things", nil)
		if p != "" {
			r.Header.Set(HeaderPlatform, p)
		}
		r.Header.Set(HeaderVersion, "x")
		api.ServeHTTP(w, r)
		ref.WriteString(w.Body.String())
		w = httptest.NewRecorder()
		versions.ServeHTTP(w, httptest.NewRequest("GET", "/v1/app-versions?platform="+p+"&version=x", nil))
		ref.WriteString(w.Body.String())
	}
	known := ref.String()
	f.Fuzz(func(t *testing.T, platform, version string) {
		r := httptest.NewRequest("GET", "/v1/things", nil)
		r.Header[HeaderPlatform] = []string{platform}
		r.Header[HeaderVersion] = []string{version}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		switch w.Code {
		case 200, 400, 426:
		default:
			t.Fatalf("status %d", w.Code)
		}
		if w.Header().Get("Upgrade") != "" {
			t.Fatal("Upgrade header")
		}
		body := w.Body.String()
		for _, v := range []string{platform, version} {
			if len(v) >= 4 && strings.Contains(body, v) && !strings.Contains(known, v) {
				t.Fatalf("value %q echoed", v)
			}
		}
		q := "/v1/app-versions?platform=" + urlQuery(platform) + "&version=" + urlQuery(version)
		w = httptest.NewRecorder()
		versions.ServeHTTP(w, httptest.NewRequest("GET", q, nil))
		if w.Code != 200 && w.Code != 400 {
			t.Fatalf("app-versions status %d", w.Code)
		}
	})
}

func urlQuery(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' {
			b.WriteByte(c)
		} else {
			b.WriteString("%")
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		}
	}
	return b.String()
}
