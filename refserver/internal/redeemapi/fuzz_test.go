package redeemapi_test

import (
	"strings"
	"testing"

	"github.com/digakit/digakit/refserver/internal/redeemapi"
)

// FuzzDecodeRedeemRequest: the JSON decoder of POST /v1/redemptions never
// panics, never accepts trailing data or unknown members, and never puts
// the input into its error.
func FuzzDecodeRedeemRequest(f *testing.F) {
	for _, s := range []string{`{"code":"ZZAA AAAA AAAA AAAX"}`, `{}`, `{"code":1}`, `{"code":"x","y":1}`, `{"code":"x"} {}`,
		`[]`, ``, `{"code":"` + strings.Repeat("A", 70) + `"}`, `{"code":"\u0000"}`, `{"code":null}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, err := redeemapi.DecodeRedeemRequest(strings.NewReader(body))
		if err != nil {
			if len(body) > 8 && strings.Contains(err.Error(), body) {
				t.Fatal("error echoes the input")
			}
			return
		}
		if req.Code == "" || len(req.Code) > 64 {
			t.Fatalf("accepted code of length %d", len(req.Code))
		}
	})
}
