package metrics_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/digakit/digakit/refserver/internal/metrics"
)

func ExampleMetrics_Instrument() {
	m := metrics.New("devel", "go1.26.8", "off")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := httptest.NewServer(m.Instrument("public", mux))
	defer srv.Close()
	resp, _ := http.Get(srv.URL + "/healthz")
	resp.Body.Close()

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "digakit_http_requests_total") {
			fmt.Println(line)
		}
	}
	// Output: digakit_http_requests_total{code="200",listener="public",method="GET",route="GET /healthz"} 1
}
