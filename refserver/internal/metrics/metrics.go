package metrics

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one registry with the server's collectors. It is not global:
// every server (and every test) has its own.
type Metrics struct {
	Registry *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	connOpen *prometheus.GaugeVec
	connAll  *prometheus.CounterVec
}

// New returns a registry with the Go, process and build-info collectors.
func New(version, goVersion, fips string) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	bi := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "digakit_build_info", Help: "Build information; always 1.",
	}, []string{"version", "go_version", "fips"})
	bi.WithLabelValues(version, goVersion, fips).Set(1)
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "digakit_http_requests_total", Help: "HTTP requests by listener, route template, method and status code.",
		}, []string{"listener", "route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "digakit_http_request_duration_seconds", Help: "HTTP request duration.",
			Buckets: prometheus.DefBuckets,
		}, []string{"listener", "route", "method", "code"}),
		connOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "digakit_connections_open", Help: "Open connections by listener.",
		}, []string{"listener"}),
		connAll: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "digakit_connections_total", Help: "Accepted connections by listener.",
		}, []string{"listener"}),
	}
	reg.MustRegister(bi, m.requests, m.duration, m.connOpen, m.connAll)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// knownMethods keeps the method label bounded.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// Instrument wraps h (a *http.ServeMux or a handler that sets
// Request.Pattern) with request counting and timing for listener.
func (m *Metrics) Instrument(listener string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		method := r.Method
		if !knownMethods[method] {
			method = "other"
		}
		code := strconv.Itoa(sw.code)
		m.requests.WithLabelValues(listener, route, method, code).Inc()
		m.duration.WithLabelValues(listener, route, method, code).Observe(time.Since(start).Seconds())
	})
}

// ConnState returns an http.Server.ConnState hook that counts connections.
func (m *Metrics) ConnState(listener string) func(net.Conn, http.ConnState) {
	open := m.connOpen.WithLabelValues(listener)
	all := m.connAll.WithLabelValues(listener)
	return func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Inc()
			all.Inc()
		case http.StateClosed, http.StateHijacked:
			open.Dec()
		}
	}
}

type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code = code
		w.wroteHeader = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
