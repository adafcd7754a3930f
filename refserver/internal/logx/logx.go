package logx

import (
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"regexp"
	"time"
)

// Redacted replaces the value of a sensitive attribute.
const Redacted = "[redacted]"

// sensitiveKey matches attribute keys whose values are never logged
// (refserver spec §3.6).
var sensitiveKey = regexp.MustCompile(`(?i)password|passwd|secret|token|authorization|cookie|otp|code|fsc|kvnr|email|iban`)

// IsSensitiveKey reports whether an attribute key is redacted.
func IsSensitiveKey(key string) bool { return sensitiveKey.MatchString(key) }

// Options configures New.
type Options struct {
	// Level is the minimum level. Zero is Info.
	Level slog.Leveler
	// Instance identifies this process among replicas.
	Instance string
}

// New returns a JSON logger writing to w. Every record carries svc,
// instance and log_kind (default "app"); time is RFC 3339 in UTC.
// Sensitive attributes are replaced by [redacted] at any group depth.
//
// REQ: TR03161-3:O.Arch_11
func New(w io.Writer, o Options) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level:       o.Level,
		ReplaceAttr: replace,
	})
	return slog.New(h).With(
		slog.String("svc", "digakit"),
		slog.String("instance", o.Instance),
		slog.String("log_kind", "app"),
	)
}

// InstanceID returns an id for this process: the host name and a random
// suffix, so that replicas on one host differ.
func InstanceID() string {
	h, _ := os.Hostname()
	return h + "-" + rand.Text()[:8]
}

func replace(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
		return slog.String(slog.TimeKey, a.Value.Time().UTC().Format(time.RFC3339Nano))
	}
	if len(groups) == 0 && (a.Key == slog.MessageKey || a.Key == slog.LevelKey) {
		return a
	}
	if sensitiveKey.MatchString(a.Key) && a.Key != "log_kind" {
		return slog.String(a.Key, Redacted)
	}
	return a
}
