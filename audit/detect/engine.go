package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/digakit/digakit/audit"
)

// Alert is one raised alert. Labels carry rule ids, pseudonyms or network
// ids only, never event content.
type Alert struct {
	Rule        string      `json:"rule"`
	Runbook     string      `json:"runbook"`
	Severity    audit.Level `json:"severity"`
	Summary     string      `json:"summary"`
	Key         string      `json:"key"`
	WindowStart string      `json:"window_start"`
	At          time.Time   `json:"at"` // ts of the triggering event
	Count       int         `json:"count"`
	Log         string      `json:"log"`
	Seg         string      `json:"seg"`
	Seq         uint64      `json:"seq"`
	EventType   string      `json:"event_type"`
}

// AlertSink receives alerts (webhook, Alertmanager, slog, metrics).
type AlertSink interface {
	Send(ctx context.Context, a Alert) error
}

// State persists the engine cursor and the alert de-duplication
// (audit_cursors, audit_alerts); sqlstore.Store and MemState implement it.
type State interface {
	// Cursor returns the next position to read of a log for consumer.
	Cursor(ctx context.Context, consumer, log string) (seg string, next uint64, ok bool, err error)
	// SetCursor stores the next position.
	SetCursor(ctx context.Context, consumer, log, seg string, next uint64) error
	// ClaimAlert records (rule, key, windowStart) with the payload and
	// reports whether it was new.
	ClaimAlert(ctx context.Context, rule, key, windowStart string, raisedAt time.Time, payload []byte) (bool, error)
	// UnsentAlerts returns the payloads of claimed alerts not yet sent.
	UnsentAlerts(ctx context.Context) ([][]byte, error)
	// MarkAlertSent records that the alert reached every sink.
	MarkAlertSent(ctx context.Context, rule, key, windowStart string, at time.Time) error
}

// Config configures an Engine.
type Config struct {
	// Store is the audit store the events are read from (required).
	Store audit.Store
	// State persists cursor and de-duplication (required).
	State State
	// Rules; nil means DefaultRules().
	Rules []Rule
	// Sinks receive every new alert.
	Sinks []AlertSink
	// Counter, when set, is called once per new alert (the refserver
	// increments digakit_detect_alerts_total{rule,severity}).
	Counter func(rule string, severity audit.Level)
	// Consumer names the cursor; "" means "detect".
	Consumer string
	// Logs to evaluate; nil means security and privacy.
	Logs []string
	// Triage raises an RB-TRIAGE alert for every CRITICAL event whose
	// type no rule matches (O.Org_4 manual triage). Default on; set
	// NoTriage to disable.
	NoTriage bool
	// Rewind is how many events before the cursor a fresh engine re-reads
	// to rebuild its windows; 0 means 10 000.
	Rewind uint64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Engine evaluates committed audit events against the rules. Evaluate is
// an idempotent step for a periodic job; the engine starts no goroutines.
type Engine struct {
	cfg     Config
	rules   []Rule
	covered map[audit.Type]bool
	mu      sync.Mutex
	windows map[string]*window
	warm    map[string]bool
}

type entry struct {
	ts     time.Time
	weight int
	who    string
}

type window struct {
	entries   []entry
	lastAlert time.Time
	ttl       time.Duration
}

// New validates cfg and returns an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.State == nil {
		return nil, errors.New("detect: Config.Store and Config.State are required")
	}
	rules := cfg.Rules
	if rules == nil {
		rules = DefaultRules()
	}
	if err := Validate(rules); err != nil {
		return nil, err
	}
	if cfg.Consumer == "" {
		cfg.Consumer = "detect"
	}
	if cfg.Logs == nil {
		cfg.Logs = []string{audit.LogSecurity, audit.LogPrivacy}
	}
	if cfg.Rewind == 0 {
		cfg.Rewind = 10000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Engine{cfg: cfg, rules: rules, covered: map[audit.Type]bool{}, windows: map[string]*window{}, warm: map[string]bool{}}
	for _, r := range rules {
		for _, t := range r.Match.Types {
			e.covered[t] = true
		}
	}
	return e, nil
}

// Rules returns the active rule set.
func (e *Engine) Rules() []Rule { return slices.Clone(e.rules) }

// Result summarizes one Evaluate step.
type Result struct {
	Events int     // events read
	Alerts []Alert // new alerts
}

// Evaluate reads the committed events of every log from the persisted
// cursor up to the head, applies the rules, claims new alerts (so a
// restart or an overlapping run never alerts twice), sends them, and
// advances the cursor. Alerts a sink did not accept are re-sent by the
// next step. The refserver runs it as a River periodic job every 5 s.
//
// REQ: TR03161-3:O.Org_3, audit-spec:3.7
func (e *Engine) Evaluate(ctx context.Context) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var res Result
	var errs []error
	if err := e.resend(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, log := range e.cfg.Logs {
		if err := e.evalLog(ctx, log, &res); err != nil {
			errs = append(errs, err)
		}
	}
	if len(e.windows) > 10000 {
		e.sweep(e.cfg.Now())
	}
	return res, errors.Join(errs...)
}

func (e *Engine) evalLog(ctx context.Context, log string, res *Result) error {
	segs, err := e.cfg.Store.Segments(ctx, log)
	if err != nil {
		return fmt.Errorf("detect: %w", err)
	}
	if len(segs) == 0 {
		return nil
	}
	seg, next, ok, err := e.cfg.State.Cursor(ctx, e.cfg.Consumer, log)
	if err != nil {
		return fmt.Errorf("detect: cursor: %w", err)
	}
	if !ok {
		seg, next = segs[0].Seg, 0
	}
	start := next
	if !e.warm[log] {
		// A fresh engine rebuilds its windows from events before the
		// cursor; alerts among them are de-duplicated by State.
		e.warm[log] = true
		if start > e.cfg.Rewind {
			start -= e.cfg.Rewind
		} else {
			start = 0
		}
	}
	for _, s := range segs {
		if s.Seg < seg {
			continue
		}
		if s.Seg > seg {
			seg, start, next = s.Seg, 0, 0
		}
		if s.State == audit.SegDropped || s.State == audit.SegDropping {
			continue
		}
		from := start
		for {
			recs, err := e.cfg.Store.Records(ctx, log, s.Seg, from, 1000)
			if err != nil {
				return fmt.Errorf("detect: read: %w", err)
			}
			for _, r := range recs {
				replay := r.Seq < next
				if !replay {
					res.Events++
				}
				if err := e.feed(ctx, r, res); err != nil {
					return err
				}
				from = r.Seq + 1
			}
			if from > next {
				next = from
				if err := e.cfg.State.SetCursor(ctx, e.cfg.Consumer, log, s.Seg, next); err != nil {
					return fmt.Errorf("detect: cursor: %w", err)
				}
			}
			if len(recs) < 1000 {
				break
			}
		}
	}
	return nil
}

// sweep forgets windows whose newest entry left the window.
func (e *Engine) sweep(now time.Time) {
	for k, w := range e.windows {
		if len(w.entries) == 0 || now.Sub(w.entries[len(w.entries)-1].ts) > w.ttl {
			delete(e.windows, k)
		}
	}
}

// view is the part of an event the rules look at.
type view struct {
	typ, reason, subject, actor, net, id string
	ts                                   time.Time
	attrs                                map[string]any
}

func parse(r audit.Record) (view, bool) {
	m, err := audit.DecodeCanonical(r.Leaf)
	if err != nil {
		return view{}, false
	}
	v := view{typ: r.Type, subject: r.Subject, actor: r.Actor, id: r.ID}
	v.reason, _ = m["reason"].(string)
	if c, ok := m["client"].(map[string]any); ok {
		v.net, _ = c["net"].(string)
	}
	v.attrs, _ = m["attrs"].(map[string]any)
	ts, err := time.Parse(audit.TimeFormat, r.TS)
	if err != nil {
		return view{}, false
	}
	v.ts = ts
	return v, true
}

func (m Match) matches(v view) bool {
	if !slices.Contains(m.Types, audit.Type(v.typ)) {
		return false
	}
	if len(m.Reasons) > 0 {
		ok := false
		for _, r := range m.Reasons {
			if r == v.reason || (strings.HasSuffix(r, "*") && strings.HasPrefix(v.reason, strings.TrimSuffix(r, "*"))) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if slices.Contains(m.ExcludeReasons, v.reason) {
		return false
	}
	for k, want := range m.AttrNot {
		if got, _ := v.attrs[k].(string); got == want {
			return false
		}
	}
	if m.OutsideHours.From != m.OutsideHours.To {
		h := v.ts.UTC().Hour()
		if h >= m.OutsideHours.From && h < m.OutsideHours.To {
			return false
		}
	}
	return true
}

func key(k KeyKind, v view) string {
	switch k {
	case KeySubject:
		if v.subject != "" {
			return v.subject
		}
		return v.actor
	case KeyActor:
		return v.actor
	case KeyNet:
		return v.net
	default:
		return "*"
	}
}

func (e *Engine) feed(ctx context.Context, r audit.Record, res *Result) error {
	v, ok := parse(r)
	if !ok {
		return nil // the verifier reports malformed rows
	}
	for _, rule := range e.rules {
		if !rule.Match.matches(v) {
			continue
		}
		k := key(rule.Key, v)
		if k == "" {
			continue
		}
		if rule.Window == 0 {
			// every occurrence, de-duplicated per event
			if err := e.raise(ctx, rule, k, v.id, v, r, 1, res); err != nil {
				return err
			}
			continue
		}
		wk := rule.ID + "\x00" + k
		w := e.windows[wk]
		if w == nil {
			w = &window{ttl: max(rule.Window, rule.Cooldown)}
			e.windows[wk] = w
		}
		cut := v.ts.Add(-rule.Window)
		i := 0
		for i < len(w.entries) && !w.entries[i].ts.After(cut) {
			i++
		}
		w.entries = w.entries[i:]
		weight := 1
		if rule.SumAttr != "" {
			if n, ok := v.attrs[rule.SumAttr].(int64); ok && n > 0 {
				weight = int(min(n, 1<<30))
			}
		}
		w.entries = append(w.entries, entry{ts: v.ts, weight: weight, who: key(rule.Distinct, v)})
		count := 0
		if rule.Distinct != "" {
			seen := map[string]bool{}
			for _, en := range w.entries {
				seen[en.who] = true
			}
			count = len(seen)
		} else {
			for _, en := range w.entries {
				count += en.weight
			}
		}
		if count < rule.Threshold {
			continue
		}
		cool := rule.Cooldown
		if cool == 0 {
			cool = rule.Window
		}
		if !w.lastAlert.IsZero() && v.ts.Sub(w.lastAlert) < cool {
			continue
		}
		w.lastAlert = v.ts
		ws := w.entries[0].ts.UTC().Format(audit.TimeFormat)
		if err := e.raise(ctx, rule, k, ws, v, r, count, res); err != nil {
			return err
		}
	}
	if !e.cfg.NoTriage && !e.covered[audit.Type(v.typ)] && audit.Type(v.typ).Level() == audit.LevelCritical {
		tr := Rule{ID: TriageRuleID, Runbook: RunbookTriage, Severity: audit.LevelCritical, Summary: "unassessed critical event type"}
		return e.raise(ctx, tr, key(KeyActor, v), v.id, v, r, 1, res)
	}
	return nil
}

func (e *Engine) raise(ctx context.Context, rule Rule, k, windowStart string, v view, r audit.Record, count int, res *Result) error {
	a := Alert{Rule: rule.ID, Runbook: rule.Runbook, Severity: rule.Severity, Summary: rule.Summary, Key: k,
		WindowStart: windowStart, At: v.ts, Count: count, Log: r.Log, Seg: r.Seg, Seq: r.Seq, EventType: v.typ}
	payload, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("detect: %w", err)
	}
	isNew, err := e.cfg.State.ClaimAlert(ctx, a.Rule, a.Key, a.WindowStart, e.cfg.Now().UTC(), payload)
	if err != nil {
		return fmt.Errorf("detect: claim alert: %w", err)
	}
	if !isNew {
		return nil
	}
	res.Alerts = append(res.Alerts, a)
	if e.cfg.Counter != nil {
		e.cfg.Counter(a.Rule, a.Severity)
	}
	e.send(ctx, a) // failures are retried by resend
	return nil
}

func (e *Engine) send(ctx context.Context, a Alert) bool {
	for _, s := range e.cfg.Sinks {
		if err := s.Send(ctx, a); err != nil {
			return false
		}
	}
	if err := e.cfg.State.MarkAlertSent(ctx, a.Rule, a.Key, a.WindowStart, e.cfg.Now().UTC()); err != nil {
		return false
	}
	return true
}

func (e *Engine) resend(ctx context.Context) error {
	ps, err := e.cfg.State.UnsentAlerts(ctx)
	if err != nil {
		return fmt.Errorf("detect: unsent alerts: %w", err)
	}
	failed := 0
	for _, p := range ps {
		var a Alert
		if json.Unmarshal(p, &a) != nil {
			continue
		}
		if !e.send(ctx, a) {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("detect: %d alerts not delivered", failed)
	}
	return nil
}
