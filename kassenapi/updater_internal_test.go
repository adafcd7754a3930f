package kassenapi

import (
	"net/http"
	"testing"
)

func TestNoDowngradeRedirect(t *testing.T) {
	req := func(u string) *http.Request {
		r, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	https := req("https://kkv.gkv-diga.de/Download/KrankenkassenDatei.aspx")
	if err := noDowngradeRedirect(req("https://cdn.gkv-diga.de/x.zip"), []*http.Request{https}); err != nil {
		t.Errorf("https to https refused: %v", err)
	}
	if err := noDowngradeRedirect(req("http://cdn.gkv-diga.de/x.zip"), []*http.Request{https}); err == nil {
		t.Error("https to http followed")
	}
	if err := noDowngradeRedirect(req("http://b/"), []*http.Request{req("http://a/")}); err != nil {
		t.Errorf("http to http refused: %v", err)
	}
	many := []*http.Request{https, https, https, https, https}
	if err := noDowngradeRedirect(req("https://x.example/"), many); err == nil {
		t.Error("sixth redirect followed")
	}
}
