package tlsconf

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Handshake failure reasons (audit spec §3.8 plus "profile").
const (
	ReasonClientClosed       = "client_closed"
	ReasonNoCommonSuite      = "no_common_suite"
	ReasonNoCommonGroup      = "no_common_group"
	ReasonUnsupportedVersion = "unsupported_version"
	ReasonNotTLS             = "not_tls"
	ReasonRemoteAlert        = "remote_alert"
	ReasonTimeout            = "timeout"
	ReasonProfile            = "profile"
	ReasonClientCert         = "client_cert"
	ReasonOther              = "other"
)

// LogMsg is the slog message of a failed handshake.
const LogMsg = "handshake_fail"

var reAlert = regexp.MustCompile(`remote error: tls: ([a-z][a-z ]{0,47})`)

// Classify maps the text of a Go TLS handshake error to a reason and, for
// remote_alert, the alert name. The substrings are those observed with Go
// 1.26 against OpenSSL and Go clients (audit spec §2.6).
func Classify(text string) (reason, alert string) {
	switch {
	case strings.Contains(text, "HTTP request to an HTTPS server"), strings.Contains(text, "does not look like a TLS handshake"),
		strings.Contains(text, "first record does not look like"):
		return ReasonNotTLS, ""
	case strings.Contains(text, "no cipher suite supported"):
		return ReasonNoCommonSuite, ""
	case strings.Contains(text, "no key exchanges supported"), strings.Contains(text, "no ECDHE curve"):
		return ReasonNoCommonGroup, ""
	case strings.Contains(text, "unsupported versions"), strings.Contains(text, "protocol version not supported"):
		return ReasonUnsupportedVersion, ""
	case strings.Contains(text, "remote error: tls: "):
		if m := reAlert.FindStringSubmatch(text); m != nil {
			return ReasonRemoteAlert, strings.TrimSpace(m[1])
		}
		return ReasonRemoteAlert, ""
	case strings.Contains(text, "i/o timeout"):
		return ReasonTimeout, ""
	case strings.Contains(text, "outside TLS profile"):
		return ReasonProfile, ""
	case strings.Contains(text, "certificate"):
		return ReasonClientCert, ""
	case text == "EOF", strings.HasSuffix(text, ": EOF"), strings.Contains(text, "unexpected EOF"),
		strings.Contains(text, "connection reset by peer"):
		return ReasonClientClosed, ""
	}
	return ReasonOther, ""
}

// HandshakeFailure is one aborted inbound handshake.
type HandshakeFailure struct {
	Listener string
	// Remote is the client address (host:port) as net/http reports it.
	Remote string
	Reason string
	// Alert is the TLS alert the client sent (Reason remote_alert).
	Alert string
	// Detail is Go's error text, cut to 256 bytes.
	Detail string
}

// HandshakeConfig holds the optional settings of [NewHandshakeLog].
type HandshakeConfig struct {
	// Logger receives one WARN line per failure (msg handshake_fail) and
	// other server errors (msg http_server_error). Nil discards them.
	Logger *slog.Logger
	// Registerer receives digakit_tls_handshake_failures_total{listener,
	// reason} and digakit_tls_log_dropped_total{listener}; a collector
	// already registered by another listener is shared. Nil registers
	// nothing.
	Registerer prometheus.Registerer
	// OnFailure is called for every failure (the audit hook for
	// ntwk_handshake_fail; aggregation is the audit layer's). May be nil.
	OnFailure func(HandshakeFailure)
	// MaxLinesPerSecond caps the log lines (metrics and OnFailure always
	// count). Zero means 1000; negative means no cap.
	MaxLinesPerSecond int
	// Now is the clock of the cap. Nil means time.Now.
	Now func() time.Time
}

// HandshakeLog turns net/http's server error log into structured
// handshake-failure records: install [HandshakeLog.ErrorLog] as
// http.Server.ErrorLog. net/http writes exactly one line
// "http: TLS handshake error from <addr>: <reason>" per failed
// handshake, so each failure yields exactly one handshake_fail line.
type HandshakeLog struct {
	listener string
	cfg      HandshakeConfig
	log      *slog.Logger
	failures *prometheus.CounterVec
	dropped  *prometheus.CounterVec

	mu     sync.Mutex
	second int64
	lines  int
}

// NewHandshakeLog returns the hook for the listener named listener
// ("public", "admin").
//
// REQ: TR03161-3:O.Ntwk_4
func NewHandshakeLog(listener string, cfg HandshakeConfig) (*HandshakeLog, error) {
	h := &HandshakeLog{listener: listener, cfg: cfg, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.cfg.Now == nil {
		h.cfg.Now = time.Now
	}
	if h.cfg.MaxLinesPerSecond == 0 {
		h.cfg.MaxLinesPerSecond = 1000
	}
	failures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "digakit_tls_handshake_failures_total",
		Help: "Aborted inbound TLS handshakes by listener and reason.",
	}, []string{"listener", "reason"})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "digakit_tls_log_dropped_total",
		Help: "Handshake failure log lines dropped by the rate cap, by listener.",
	}, []string{"listener"})
	var err error
	if h.failures, err = registerShared(cfg.Registerer, failures); err != nil {
		return nil, err
	}
	if h.dropped, err = registerShared(cfg.Registerer, dropped); err != nil {
		return nil, err
	}
	return h, nil
}

func registerShared(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, errors.New("tlsconf: register metric: " + err.Error())
	}
	return c, nil
}

// ErrorLog returns the *log.Logger to install as http.Server.ErrorLog.
func (h *HandshakeLog) ErrorLog() *log.Logger {
	return log.New(writerFunc(h.write), "", 0)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

var reHandshake = regexp.MustCompile(`^http: TLS handshake error from (\S+): (.*)$`)

func (h *HandshakeLog) write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\n")
	m := reHandshake.FindStringSubmatch(line)
	if m == nil {
		if h.allow() {
			h.log.LogAttrs(context.Background(), slog.LevelWarn, "http_server_error",
				slog.String("log_kind", "app"), slog.String("listener", h.listener), slog.String("detail", cut(line, 1024)))
		}
		return len(p), nil
	}
	f := HandshakeFailure{Listener: h.listener, Remote: m[1], Detail: cut(m[2], 256)}
	f.Reason, f.Alert = Classify(m[2])
	h.Record(f)
	return len(p), nil
}

// Record counts, logs and reports one failure. ErrorLog calls it; a
// listener that is not an http.Server may call it directly.
func (h *HandshakeLog) Record(f HandshakeFailure) {
	if f.Listener == "" {
		f.Listener = h.listener
	}
	h.failures.WithLabelValues(f.Listener, f.Reason).Inc()
	if h.cfg.OnFailure != nil {
		h.cfg.OnFailure(f)
	}
	if !h.allow() {
		h.dropped.WithLabelValues(f.Listener).Inc()
		return
	}
	attrs := []slog.Attr{
		slog.String("log_kind", "conn"),
		slog.String("listener", f.Listener),
		slog.String("reason", f.Reason),
	}
	if host, port, err := net.SplitHostPort(f.Remote); err == nil {
		attrs = append(attrs, slog.String("remote_ip", host), slog.String("remote_port", port))
	}
	if f.Alert != "" {
		attrs = append(attrs, slog.String("alert", f.Alert))
	}
	attrs = append(attrs, slog.String("detail", f.Detail))
	h.log.LogAttrs(context.Background(), slog.LevelWarn, LogMsg, attrs...)
}

// allow applies the per-second line cap.
func (h *HandshakeLog) allow() bool {
	if h.cfg.MaxLinesPerSecond < 0 {
		return true
	}
	sec := h.cfg.Now().Unix()
	h.mu.Lock()
	defer h.mu.Unlock()
	if sec != h.second {
		h.second, h.lines = sec, 0
	}
	if h.lines >= h.cfg.MaxLinesPerSecond {
		return false
	}
	h.lines++
	return true
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
