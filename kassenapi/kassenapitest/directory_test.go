package kassenapitest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/digakit/digakit/kassenapi"
)

const mvzXSD = "../../../shared/data/gkv/xsd/EDRE0-MVZ_3.0.0.xsd"

// TestDirectoryXMLValidatesWithXmllint checks the generator against the
// ITSG schema with an independent tool.
func TestDirectoryXMLValidatesWithXmllint(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("SKIP: xmllint not installed (apt-get install libxml2-utils); generated directory not schema-checked")
	}
	xsd, err := filepath.Abs(mvzXSD)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(xsd); err != nil {
		t.Fatalf("schema %s: %v", xsd, err)
	}
	cases := map[string][]byte{
		"default":  DirectoryXML(DefaultDirectoryEntries("127.0.0.1:4431", "diga-api.kasse.example/diga/api/public/rest")),
		"escaping": DirectoryXML([]kassenapi.Entry{{Prefix: "ZZ", IK: "990000101", Name: "AOK <Nord> & Süd", BillingIK: "990000101", ClearingIK: "990000200", Endpoint: "diga.kasse.example", Dispatch: 1, TechPhone: "1", TechEmail: "a@b.example"}}),
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "dir.xml")
			if err := os.WriteFile(f, doc, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.CommandContext(t.Context(), xmllint, "--noout", "--schema", xsd, f).CombinedOutput()
			if err != nil {
				t.Fatalf("xmllint: %v\n%s", err, out)
			}
			if !bytes.Contains(out, []byte("validates")) {
				t.Fatalf("xmllint output %q", out)
			}
		})
	}
	// A negative control: the schema really is applied.
	bad := DirectoryXML(AllBadEntries())
	f := filepath.Join(t.TempDir(), "bad.xml")
	if err := os.WriteFile(f, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(t.Context(), xmllint, "--noout", "--schema", xsd, f).CombinedOutput(); err == nil {
		t.Fatalf("xmllint accepted the all-bad directory: %s", out)
	}
}

func TestDefaultDirectoryParses(t *testing.T) {
	a, b := "127.0.0.1:4431", "127.0.0.1:4432"
	for _, v := range []int{3, 2} {
		d, probs, err := kassenapi.DirectoryOptions{AllowTestEndpoints: true}.Parse(DirectoryXMLVersion(DefaultDirectoryEntries(a, b), v))
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if d.Version() != v || d.Len() != 6 || d.Usable() != 5 {
			t.Errorf("v%d: version %d, %d entries, %d usable", v, d.Version(), d.Len(), d.Usable())
		}
		// ZV with endpoint "3" is the only problem.
		if len(probs) != 1 || probs[0].Prefix != "ZV" || probs[0].Fatal {
			t.Errorf("v%d problems = %+v", v, probs)
		}
		e, err := d.Lookup("ZU", kassenapi.MustDate("2024-05-01"))
		if err != nil || e.URL != "https://127.0.0.1:4432/diga" || e.ClearingIK != "990000300" {
			t.Errorf("v%d ZU = %+v, %v", v, e, err)
		}
	}
}

func TestDirectoryServerConditional(t *testing.T) {
	s := NewDirectoryServer(t, DirectoryServerOptions{})
	for _, url := range []string{s.XMLURL(), s.ZIPURL()} {
		src := &kassenapi.HTTPSource{URL: url, Client: s.Client()}
		r1, err := src.Fetch(t.Context(), kassenapi.FetchState{})
		if err != nil || r1.NotModified || r1.ETag == "" || r1.LastModified == "" {
			t.Fatalf("first fetch: %+v %v", r1, err)
		}
		if _, _, err := kassenapi.ParseDirectory(r1.Body); err != nil {
			t.Fatalf("served directory: %v", err)
		}
		r2, err := src.Fetch(t.Context(), kassenapi.FetchState{ETag: r1.ETag, LastModified: r1.LastModified})
		if err != nil || !r2.NotModified {
			t.Fatalf("conditional fetch: %+v %v", r2, err)
		}
		r3, err := src.Fetch(t.Context(), kassenapi.FetchState{LastModified: r1.LastModified})
		if err != nil || !r3.NotModified {
			t.Fatalf("If-Modified-Since fetch: %+v %v", r3, err)
		}
	}
	if s.NotModified() != 4 || s.Requests("") != 6 || s.Requests(DirectoryZIPPath) != 3 {
		t.Errorf("counters: 304=%d all=%d zip=%d", s.NotModified(), s.Requests(""), s.Requests(DirectoryZIPPath))
	}
	// A new version changes the ETag.
	e := DefaultDirectoryEntries("a.kasse.example", "b.kasse.example")
	s.AddVersion("v2", DirectoryXML(e[:5]))
	if err := s.UseVersion("v2"); err != nil {
		t.Fatal(err)
	}
	if err := s.UseVersion("nope"); err == nil {
		t.Error("unknown version accepted")
	}
	src := &kassenapi.HTTPSource{URL: s.XMLURL(), Client: s.Client()}
	r, err := src.Fetch(t.Context(), kassenapi.FetchState{ETag: `"old"`})
	if err != nil || r.NotModified || !bytes.Equal(r.Body, s.Current()) {
		t.Fatalf("after switch: %v %v", r.NotModified, err)
	}
}

func TestDirectoryServerFaults(t *testing.T) {
	s := NewDirectoryServer(t, DirectoryServerOptions{TLS: true, SlowDelay: 1})
	tests := []struct {
		fault  DirectoryFault
		status int
		parse  bool // body parses as a usable directory
	}{
		{DirectoryOK, 200, true},
		{DirectoryTruncated, 200, false},
		{DirectoryNotXML, 200, false},
		{DirectoryWrongNamespace, 200, false},
		{DirectoryAllBadEntries, 200, false},
		{DirectoryEmptyList, 200, false},
		{DirectoryZIPTwoXML, 200, false},
		{DirectoryNotFound, 404, false},
		{DirectoryServerError, 500, false},
		{DirectorySlowBody, 200, true},
	}
	for _, tt := range tests {
		s.SetFault(tt.fault)
		for _, url := range []string{s.XMLURL(), s.ZIPURL()} {
			resp, err := s.Client().Get(url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("fault %d %s: status %d, want %d", tt.fault, url, resp.StatusCode, tt.status)
				continue
			}
			if tt.status != 200 {
				continue
			}
			_, _, err = kassenapi.ParseDirectory(body)
			if (err == nil) != tt.parse {
				t.Errorf("fault %d %s: parse err = %v, want ok=%v", tt.fault, url, err, tt.parse)
			}
			if err != nil && !errors.Is(err, kassenapi.ErrDirectoryRejected) {
				t.Errorf("fault %d: error %v is not ErrDirectoryRejected", tt.fault, err)
			}
		}
	}
	resp, err := s.Client().Post(s.XMLURL(), "text/plain", nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST status %d", resp.StatusCode)
		}
	}
}

func TestStartDirectoryServerWithoutTB(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent()) // runs after s.Close
	s, err := StartDirectoryServer(DirectoryServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r, err := (&kassenapi.HTTPSource{URL: s.ZIPURL(), Client: s.Client()}).Fetch(ctx, kassenapi.FetchState{})
	if err != nil || !bytes.HasPrefix(r.Body, []byte("PK\x03\x04")) {
		t.Fatalf("zip fetch: %v", err)
	}
	if got := EndpointOf("https://127.0.0.1:4431/diga"); got != "127.0.0.1:4431" {
		t.Errorf("EndpointOf = %q", got)
	}
}

// TestDirectoryVersions: every preloaded variant parses and differs from
// the base as its name says.
func TestDirectoryVersions(t *testing.T) {
	s := NewDirectoryServer(t, DirectoryServerOptions{EndpointA: "127.0.0.1:4431", EndpointB: "127.0.0.1:4432"})
	opts := kassenapi.DirectoryOptions{AllowTestEndpoints: true}
	base, _, err := opts.Parse(s.Current())
	if err != nil {
		t.Fatal(err)
	}
	day := kassenapi.MustDate("2024-06-01")
	tests := []struct {
		version string
		check   func(d *kassenapi.Directory, diff kassenapi.DirectoryDiff) bool
	}{
		{VersionPrefixAdded, func(_ *kassenapi.Directory, df kassenapi.DirectoryDiff) bool {
			return len(df.Added) == 1 && df.Added[0] == "ZT"
		}},
		{VersionPrefixRemoved, func(_ *kassenapi.Directory, df kassenapi.DirectoryDiff) bool {
			return len(df.Removed) == 1 && df.Removed[0] == "ZW"
		}},
		{VersionEndpointChanged, func(d *kassenapi.Directory, df kassenapi.DirectoryDiff) bool {
			e, err := d.Lookup("ZZ", day)
			return err == nil && e.URL == "https://127.0.0.1:4432/diga" && len(df.EndpointChanged()) == 1
		}},
		{VersionIKChanged, func(_ *kassenapi.Directory, df kassenapi.DirectoryDiff) bool {
			return len(df.Changed) == 1 && df.Changed[0].Field == kassenapi.DiffFieldClearingIK
		}},
		{VersionMerger, func(d *kassenapi.Directory, _ kassenapi.DirectoryDiff) bool {
			r, err := d.Route("ZZ", day)
			return err == nil && r.Entry.Prefix == "ZU" && len(r.Hops) == 1
		}},
		{VersionInsolvency, func(d *kassenapi.Directory, _ kassenapi.DirectoryDiff) bool {
			_, err := d.Lookup("ZU", day)
			return errors.Is(err, kassenapi.ErrInsurerInsolvent)
		}},
		{VersionV2, func(d *kassenapi.Directory, df kassenapi.DirectoryDiff) bool {
			return d.Version() == 2 && len(df.Added) == 0 && len(df.Removed) == 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			if err := s.UseVersion(tt.version); err != nil {
				t.Fatal(err)
			}
			d, _, err := opts.Parse(s.Current())
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(d, kassenapi.DiffDirectories(base, d)) {
				t.Errorf("variant does not show its change: %+v", kassenapi.DiffDirectories(base, d))
			}
		})
	}
}
