package auth

import "github.com/prometheus/client_golang/prometheus"

// authMetrics are the counters of refserver spec §3.6 owned by the auth
// service. Label values are fixed vocabularies, never ids.
type authMetrics struct {
	logins        *prometheus.CounterVec
	lockouts      *prometheus.CounterVec
	reuse         *prometheus.CounterVec
	refresh       *prometheus.CounterVec
	rejections    *prometheus.CounterVec
	argonInflight prometheus.Gauge
	argonWait     prometheus.Histogram
}

func newAuthMetrics(reg prometheus.Registerer) *authMetrics {
	m := &authMetrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "digakit_auth_logins_total", Help: "Login steps by method and result.",
		}, []string{"method", "result"}),
		lockouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "digakit_auth_lockouts_total", Help: "Temporary locks by scope.",
		}, []string{"scope"}),
		reuse: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "digakit_auth_token_reuse_total", Help: "Reuse of rotated refresh tokens or consumed codes.",
		}, []string{"kind"}),
		refresh: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "digakit_auth_refresh_total", Help: "Refresh-token grants by result.",
		}, []string{"result"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "digakit_ratelimit_rejections_total", Help: "Requests rejected by a rate limiter.",
		}, []string{"limiter"}),
		argonInflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "digakit_argon2_inflight", Help: "Running argon2id computations.",
		}),
		argonWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "digakit_argon2_wait_seconds", Help: "Wait for an argon2id slot.",
			Buckets: []float64{0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2},
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.logins, m.lockouts, m.reuse, m.refresh, m.rejections, m.argonInflight, m.argonWait} {
			_ = reg.Register(c)
		}
	}
	return m
}
