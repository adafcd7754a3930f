//go:build !production

package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/digakit/digakit/kassenapi"
)

func TestStartInfoClose(t *testing.T) {
	s, err := Start(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	info := s.Info()
	if len(info) != len(starters) {
		t.Fatalf("info has %d members, want one per fake (%d)", len(info), len(starters))
	}
	if _, err := json.Marshal(info); err != nil {
		t.Fatalf("info is not JSON-encodable: %v", err)
	}
	for _, st := range starters {
		if s.Peer(st.name) == nil {
			t.Errorf("peer %s not running", st.name)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestInsurerAndDirectoryAreWired(t *testing.T) {
	s, err := Start(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b, _ := json.Marshal(s.Info())
	var doc struct {
		Insurer struct {
			Endpoints map[string]string `json:"endpoints"`
			CAPEM     string            `json:"ca_pem"`
		} `json:"insurer"`
		Directory DirectoryInfo `json:"directory"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Insurer.Endpoints) == 0 || doc.Insurer.CAPEM == "" {
		t.Fatalf("insurer member incomplete: %s", b)
	}
	resp, err := http.Get(doc.Directory.XMLURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	dir, _, err := kassenapi.DirectoryOptions{AllowTestEndpoints: true}.Parse(body)
	if err != nil {
		t.Fatalf("served directory does not parse: %v", err)
	}
	// Every endpoint of the insurer fake is reachable through the served
	// directory (the directory points at the fake, not at example hosts).
	// Merged or insolvent test insurers do not resolve; the others must
	// resolve to the insurer fake's own endpoints.
	resolved := 0
	for prefix, url := range doc.Insurer.Endpoints {
		e, err := dir.Lookup(prefix, kassenapi.DateOf(time.Now()))
		if err != nil {
			continue
		}
		resolved++
		if e.URL != url {
			t.Errorf("prefix %s: directory URL %q, insurer endpoint %q", prefix, e.URL, url)
		}
	}
	if resolved < 2 {
		t.Fatalf("only %d prefixes of the served directory resolve", resolved)
	}
}
