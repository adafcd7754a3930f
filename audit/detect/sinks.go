package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// WebhookSink posts alerts in the Prometheus Alertmanager v2 format
// (POST /api/v2/alerts, a JSON array of one alert) to URL.
type WebhookSink struct {
	URL string
	// RunbookBaseURL prefixes runbook ids in annotations.runbook_url,
	// e.g. "https://git.example/docs/runbooks.md#".
	RunbookBaseURL string
	// GeneratorURL is sent as generatorURL (optional).
	GeneratorURL string
	// BearerToken is sent as Authorization header when set; never logged.
	BearerToken string
	// Client defaults to a client with a 10 s timeout.
	Client *http.Client
	// Resolve is how long after the event the alert ends; 0 means 1 h.
	Resolve time.Duration
}

// amAlert is one Alertmanager v2 postable alert.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Send implements AlertSink. A non-2xx answer is an error; the engine
// re-sends the alert in its next step.
func (w WebhookSink) Send(ctx context.Context, a Alert) error {
	res := w.Resolve
	if res == 0 {
		res = time.Hour
	}
	body, err := json.Marshal([]amAlert{{
		Labels: map[string]string{"alertname": "digakit_" + strings.ToLower(a.Rule), "severity": strings.ToLower(string(a.Severity)),
			"rule": a.Rule, "runbook": a.Runbook, "key": a.Key},
		Annotations:  map[string]string{"summary": a.Summary, "runbook_url": w.RunbookBaseURL + strings.ToLower(a.Runbook)},
		StartsAt:     a.At.UTC().Format(time.RFC3339Nano),
		EndsAt:       a.At.Add(res).UTC().Format(time.RFC3339Nano),
		GeneratorURL: w.GeneratorURL,
	}})
	if err != nil {
		return fmt.Errorf("detect: webhook: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("detect: webhook: bad URL")
	}
	req.Header.Set("Content-Type", "application/json")
	if w.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+w.BearerToken)
	}
	c := w.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("detect: webhook: transport error")
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("detect: webhook: status %d", resp.StatusCode)
	}
	return nil
}

// SlogSink logs alerts as structured lines (rule, runbook, severity, key).
type SlogSink struct{ Logger *slog.Logger }

// Send implements AlertSink.
func (s SlogSink) Send(ctx context.Context, a Alert) error {
	s.Logger.LogAttrs(ctx, slog.LevelWarn, "security alert", slog.String("rule", a.Rule), slog.String("runbook", a.Runbook),
		slog.String("severity", string(a.Severity)), slog.String("key", a.Key), slog.Int("count", a.Count))
	return nil
}

// MemState is an in-memory State for tests and examples.
type MemState struct {
	mu      sync.Mutex
	cursors map[string]struct {
		seg  string
		next uint64
	}
	alerts map[string][]byte
	sent   map[string]bool
	order  []string
}

// NewMemState returns an empty MemState.
func NewMemState() *MemState {
	return &MemState{cursors: map[string]struct {
		seg  string
		next uint64
	}{}, alerts: map[string][]byte{}, sent: map[string]bool{}}
}

// Cursor implements State.
func (m *MemState) Cursor(_ context.Context, consumer, log string) (string, uint64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.cursors[consumer+"/"+log]
	return c.seg, c.next, ok, nil
}

// SetCursor implements State.
func (m *MemState) SetCursor(_ context.Context, consumer, log, seg string, next uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cursors[consumer+"/"+log] = struct {
		seg  string
		next uint64
	}{seg, next}
	return nil
}

// ClaimAlert implements State.
func (m *MemState) ClaimAlert(_ context.Context, rule, key, ws string, _ time.Time, payload []byte) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := rule + "\x00" + key + "\x00" + ws
	if _, ok := m.alerts[k]; ok {
		return false, nil
	}
	m.alerts[k] = payload
	m.order = append(m.order, k)
	return true, nil
}

// UnsentAlerts implements State.
func (m *MemState) UnsentAlerts(context.Context) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][]byte
	for _, k := range m.order {
		if !m.sent[k] {
			out = append(out, m.alerts[k])
		}
	}
	return out, nil
}

// MarkAlertSent implements State.
func (m *MemState) MarkAlertSent(_ context.Context, rule, key, ws string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent[rule+"\x00"+key+"\x00"+ws] = true
	return nil
}

var _ State = (*MemState)(nil)
