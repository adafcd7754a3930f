package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestInstrumentLabelsByRouteTemplate(t *testing.T) {
	m := New("v1", "go1.26", "off")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/items/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := m.Instrument("public", mux)
	for _, p := range []string{"/v1/items/secret-id-1", "/v1/items/secret-id-2"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/v1/items/x", nil))
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	out := string(body)
	if !strings.Contains(out, `digakit_http_requests_total{code="418",listener="public",method="GET",route="GET /v1/items/{id}"} 2`) {
		t.Fatalf("missing templated counter:\n%s", out)
	}
	if !strings.Contains(out, `method="other"`) {
		t.Error("unknown method not folded into \"other\"")
	}
	if strings.Contains(out, "secret-id") {
		t.Fatal("raw path in a label")
	}
	if !strings.Contains(out, `digakit_build_info{fips="off",go_version="go1.26",version="v1"} 1`) {
		t.Error("build info missing")
	}
}
