package redeemapi_test

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/kassenapi/billing/billingtest"
	"github.com/digakit/digakit/refserver/internal/redeemapi"
)

func benchCodes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = billingtest.NewCode(billingtest.PrefixAPI)
	}
	return out
}

func post(b *testing.B, c *http.Client, url, code string, want int) {
	req, _ := http.NewRequest("POST", url, strings.NewReader(`{"code":"`+code+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-Account", "bench-account")
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// BenchmarkRedeemHTTP is B1: a first redemption of a fresh code through
// POST /v1/redemptions (both SQLite databases, zero-latency fake insurer).
func BenchmarkRedeemHTTP(b *testing.B) {
	f := newFixtureTB(b)
	codes := benchCodes(b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		post(b, f.srv.Client(), f.srv.URL+"/v1/redemptions", codes[i], http.StatusCreated)
	}
}

// BenchmarkBareHandler is the baseline of B1: a bare net/http handler
// doing the same crypto (parse and check the code, HMAC digest, AES-GCM
// seal) without databases or the insurer.
func BenchmarkBareHandler(b *testing.B) {
	dg, _ := billing.NewDigester(billingtest.Keys())
	seal := billingtest.Sealer(b)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/redemptions", func(w http.ResponseWriter, r *http.Request) {
		req, err := redeemapi.DecodeRedeemRequest(r.Body)
		if err != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		code, err := kassenapi.ParseCode(req.Code)
		if err != nil {
			http.Error(w, "bad", http.StatusUnprocessableEntity)
			return
		}
		ds, _ := dg.Digests(code)
		if _, err := seal.Seal([]byte(hex.EncodeToString(ds[0].Sum[:])), []byte(code.Plain())); err != nil {
			http.Error(w, "bad", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"outcome":"activated","state":"active"}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	codes := benchCodes(b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		post(b, srv.Client(), srv.URL+"/v1/redemptions", codes[i], http.StatusCreated)
	}
}
