//go:build !production

package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digakit/digakit/kassenapi/kassenapitest"
	"github.com/digakit/digakit/refserver/examples/oidcclient"
)

// TestRedemptionAndBillingEndToEnd: against the running development
// server with its in-process fake insurer, two users log in; the first
// redeems a Freischaltcode (201, then 200 again), the second is refused
// (409), a malformed code gets 422 without echoing it, the binding is
// listed, and the billing run sends exactly one invoice that the insurer
// accepts, visible on the operator endpoint.
func TestRedemptionAndBillingEndToEnd(t *testing.T) {
	cfg := devConfig(t)
	s := start(t, quietOptions(cfg))
	base := s.Addrs["public"]
	ctx := context.Background()
	_, aliceTok := signedInUser(t, base, "alice-pseudonym")
	_, bobTok := signedInUser(t, base, "bob-pseudonym")
	alice, bob := aliceTok.AccessToken, bobTok.AccessToken
	hc := &http.Client{}
	call := func(method, path, token, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-App-Platform", oidcclient.AppPlatform)
		req.Header.Set("X-App-Version", oidcclient.AppVersion)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	ins := s.sandbox.Peer("insurer").(*kassenapitest.Server)
	code := kassenapitest.NewCode("ZZ")
	ins.AddCode(code, kassenapitest.State{Status: kassenapitest.Valid})
	body := `{"code":"` + strings.ToLower(code.Plain()[:8]) + "-" + code.Plain()[8:] + `"}`

	if st, b := call("POST", "/v1/redemptions", alice, body); st != http.StatusCreated {
		t.Fatalf("first redemption: %d %s", st, b)
	}
	if st, b := call("POST", "/v1/redemptions", alice, body); st != http.StatusOK {
		t.Fatalf("same account again: %d %s", st, b)
	}
	if st, b := call("POST", "/v1/redemptions", bob, body); st != http.StatusConflict {
		t.Fatalf("other account: %d %s", st, b)
	}
	bad := "ZZAAAAAAAAAAAAAB"
	st, b := call("POST", "/v1/redemptions", bob, `{"code":"`+bad+`"}`)
	if st != http.StatusUnprocessableEntity || strings.Contains(b, bad) {
		t.Fatalf("bad check character: %d %s", st, b)
	}
	// The GKV pseudo code is accepted in the development default (test
	// procedure TDFC0 through the fake).
	if st, b := call("POST", "/v1/redemptions", bob, `{"code":"77AAAAAAAAAAAAAX"}`); st != http.StatusCreated {
		t.Fatalf("pseudo code: %d %s", st, b)
	}
	if st, _ := call("POST", "/v1/redemptions", "", body); st != http.StatusUnauthorized {
		t.Fatalf("without token: %d, want 401", st)
	}
	st, b = call("GET", "/v1/redemptions/me", alice, "")
	if st != http.StatusOK || !strings.Contains(b, "12345") {
		t.Fatalf("my redemptions: %d %s", st, b)
	}
	if strings.Contains(b, code.Plain()) {
		t.Fatal("GET /v1/redemptions/me echoes the code")
	}
	if n := ins.CountFor(code); n != 1 {
		t.Fatalf("the insurer saw %d code checks, want 1", n)
	}

	// The submission step (a River job every 30 s) run directly.
	if _, err := s.billingSvc.SubmitDue(ctx, 10); err != nil {
		t.Fatal(err)
	}
	edre0 := 0
	for _, call := range ins.Calls() {
		if call.Procedure == "EDRE0" {
			edre0++
		}
	}
	if edre0 != 1 {
		t.Fatalf("EDRE0 calls %d, want 1", edre0)
	}
	tokFile, err := os.ReadFile(filepath.Join(cfg.Data, "keys", "operator-token"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(tokFile)))
	op := base64.RawURLEncoding.EncodeToString(raw)
	st, b = call("GET", "/admin/v1/billing/invoices?state=accepted", op, "")
	if st != http.StatusOK {
		t.Fatalf("operator invoices: %d %s", st, b)
	}
	var invs []map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(b)))
	if err := dec.Decode(&invs); err != nil {
		var wrapped struct {
			Invoices []map[string]any `json:"invoices"`
		}
		if err2 := json.Unmarshal([]byte(b), &wrapped); err2 != nil {
			t.Fatalf("operator invoices not JSON: %s", b)
		}
		invs = wrapped.Invoices
	}
	// The real code's invoice was accepted by the insurer; the pseudo
	// code's test invoice stays local (no TDRE0 billing in the sandbox).
	verdicts := map[string]int{}
	for _, inv := range invs {
		verdicts[inv["verdict"].(string)]++
	}
	if len(invs) != 2 || verdicts["accepted"] != 1 || verdicts["local_only"] != 1 {
		t.Fatalf("accepted invoices: %s", b)
	}
	if st, _ := call("GET", "/admin/v1/billing/invoices", alice, ""); st != http.StatusUnauthorized && st != http.StatusForbidden {
		t.Fatalf("user token on the operator endpoint: %d", st)
	}
	// Only a keyed hash of the code is in the main database.
	rows, err := s.main.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for _, tbl := range tables {
		// Dump every row as text and look for the code.
		var n int
		rs, err := s.main.QueryContext(ctx, `SELECT * FROM "`+tbl+`"`)
		if err != nil {
			continue
		}
		cols, _ := rs.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rs.Next() {
			_ = rs.Scan(ptrs...)
			for _, v := range vals {
				var sv string
				switch x := v.(type) {
				case string:
					sv = x
				case []byte:
					sv = string(x)
				}
				if strings.Contains(strings.ToUpper(sv), code.Plain()) {
					n++
				}
			}
		}
		rs.Close()
		if n > 0 {
			t.Errorf("table %s of the main database holds the plain code", tbl)
		}
	}
}
