//go:build !production

package sandbox

import (
	"encoding/json"
	"testing"
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
