package detect_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/audittest"
	"github.com/digakit/digakit/audit/detect"
	"github.com/digakit/digakit/audit/memstore"
	"github.com/digakit/digakit/audit/sqlstore"
	"github.com/digakit/digakit/internal/sqltest"
	"github.com/stretchr/testify/require"
)

const net1 = "netaaaaaaaaaaaaa"

func user(i int) audit.Actor {
	return audit.Actor{Kind: audit.ActorUser, ID: audittest.Pseudonym(i)}
}

type ruleCase struct {
	rule      string
	runbook   string
	threshold int
	step      time.Duration
	event     func(i int) audit.Event
}

func ruleCases() []ruleCase {
	return []ruleCase{
		{"D1", "RB-AUTH-01", 10, time.Minute, func(int) audit.Event { return audittest.LoginFail(1) }},
		{"D2", "RB-AUTH-02", 20, 10 * time.Second, func(i int) audit.Event {
			ev := audittest.LoginFail(100 + i)
			ev.Client = &audit.ClientInfo{Net: net1}
			return ev
		}},
		{"D4", "RB-FSC-01", 5, time.Hour, func(int) audit.Event {
			return audit.Event{Type: audit.FSCRedeemFail, Outcome: audit.Failure, Reason: "not_found", Actor: user(2), Subject: audittest.Pseudonym(2)}
		}},
		{"D18", "RB-AUTH-05", 1, time.Minute, func(int) audit.Event {
			ev := audittest.LoginFail(3)
			ev.Reason = "otp_replay"
			return ev
		}},
		{"D7", "RB-TOKEN-01", 1, time.Minute, func(int) audit.Event {
			return audit.Event{Type: audit.AuthnTokenReuse, Outcome: audit.Failure, Actor: user(4), Subject: audittest.Pseudonym(4),
				Attrs: map[string]any{"kind": "refresh"}}
		}},
		{"D8", "RB-AUDIT-01", 1, time.Minute, func(int) audit.Event {
			return audit.Event{Type: audit.AuditRead, Outcome: audit.Success, Actor: user(5),
				Attrs: map[string]any{"log": "security", "count": 3, "role": "operator"}}
		}},
		{"D10", "RB-NTWK-01", 2, time.Second, func(i int) audit.Event {
			n := 99
			if i > 0 {
				n = 1
			}
			return audit.Event{Type: audit.NtwkHandshakeFail, Outcome: audit.Failure, Reason: "client_closed",
				Actor: audit.Actor{Kind: audit.ActorAnonymous, ID: "net"}, Client: &audit.ClientInfo{Net: net1},
				Attrs: map[string]any{"count": n, "aggregated": n > 1}}
		}},
	}
}

func only(as []detect.Alert, rule string) []detect.Alert {
	var out []detect.Alert
	for _, a := range as {
		if a.Rule == rule {
			out = append(out, a)
		}
	}
	return out
}

// AU-15: each rule gives 0 alerts at threshold-1 and exactly 1 at the
// threshold, driven by a fake clock; a restarted engine replaying the same
// stream raises no duplicate.
func TestRulesFireAtThreshold(t *testing.T) {
	for _, tc := range ruleCases() {
		t.Run(tc.rule, func(t *testing.T) {
			ctx := t.Context()
			st := memstore.New()
			clk := audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
			l := audittest.NewLog(t, st, clk)
			state := detect.NewMemState()
			var counted []string
			eng, err := detect.New(detect.Config{Store: st, State: state, Now: clk.Now,
				Counter: func(rule string, _ audit.Level) { counted = append(counted, rule) }})
			require.NoError(t, err)
			for i := 0; i < tc.threshold-1; i++ {
				_, err := l.Record(ctx, tc.event(i))
				require.NoError(t, err)
				clk.Advance(tc.step)
			}
			res, err := eng.Evaluate(ctx)
			require.NoError(t, err)
			require.Empty(t, only(res.Alerts, tc.rule), "threshold-1")
			_, err = l.Record(ctx, tc.event(tc.threshold-1))
			require.NoError(t, err)
			res, err = eng.Evaluate(ctx)
			require.NoError(t, err)
			got := only(res.Alerts, tc.rule)
			require.Len(t, got, 1, "threshold")
			require.Equal(t, tc.runbook, got[0].Runbook)
			require.Contains(t, counted, tc.rule)
			res, err = eng.Evaluate(ctx) // nothing new
			require.NoError(t, err)
			require.Empty(t, res.Alerts)

			restarted, err := detect.New(detect.Config{Store: st, State: state, Now: clk.Now})
			require.NoError(t, err)
			res, err = restarted.Evaluate(ctx)
			require.NoError(t, err)
			require.Empty(t, res.Alerts, "no duplicate after restart")
		})
	}
}

// Events spread wider than the window never reach the threshold.
func TestWindowSlides(t *testing.T) {
	ctx := t.Context()
	st := memstore.New()
	clk := audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	l := audittest.NewLog(t, st, clk)
	eng, err := detect.New(detect.Config{Store: st, State: detect.NewMemState(), Now: clk.Now})
	require.NoError(t, err)
	for range 30 {
		_, err := l.Record(ctx, audittest.LoginFail(1))
		require.NoError(t, err)
		clk.Advance(7 * time.Minute) // 9 per hour < 10
	}
	res, err := eng.Evaluate(ctx)
	require.NoError(t, err)
	require.Empty(t, only(res.Alerts, "D1"))
	require.Equal(t, 30, res.Events)
}

// An unconfigured critical type goes to manual triage (RB-TRIAGE).
func TestTriage(t *testing.T) {
	ctx := t.Context()
	st := memstore.New()
	clk := audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	l := audittest.NewLog(t, st, clk)
	eng, err := detect.New(detect.Config{Store: st, State: detect.NewMemState(), Now: clk.Now})
	require.NoError(t, err)
	_, err = l.Record(ctx, audit.Event{Type: audit.SequenceFail, Outcome: audit.Failure, Actor: user(1), Attrs: map[string]any{"step": "otp"}})
	require.NoError(t, err)
	res, err := eng.Evaluate(ctx)
	require.NoError(t, err)
	require.Len(t, res.Alerts, 1)
	require.Equal(t, detect.RunbookTriage, res.Alerts[0].Runbook)
}

// AU-16: every default rule validates; a rule without runbook does not.
func TestValidate(t *testing.T) {
	require.NoError(t, detect.Validate(detect.DefaultRules()))
	for _, r := range detect.DefaultRules() {
		require.NotEmpty(t, r.Runbook)
		require.NotEmpty(t, r.Severity)
	}
	bad := detect.DefaultRules()[:1]
	bad[0].Runbook = ""
	require.ErrorIs(t, detect.Validate(bad), detect.ErrInvalidRule)
	_, err := detect.New(detect.Config{Store: memstore.New(), State: detect.NewMemState(), Rules: bad})
	require.ErrorIs(t, err, detect.ErrInvalidRule)
	dup := append(detect.DefaultRules()[:1], detect.DefaultRules()[:1]...)
	require.ErrorIs(t, detect.Validate(dup), detect.ErrInvalidRule)
}

// Every runbook id (default rules and RB-TRIAGE) has its own heading in
// docs/runbooks.md.
func TestRunbooksDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/runbooks.md")
	require.NoError(t, err)
	ids := map[string]bool{detect.RunbookTriage: true}
	for _, r := range detect.DefaultRules() {
		ids[r.Runbook] = true
	}
	for id := range ids {
		require.Regexp(t, regexp.MustCompile(`(?m)^## `+regexp.QuoteMeta(id)+`\b`), string(doc), id)
	}
}

// Alerts go to an Alertmanager-v2 webhook; a 503 keeps the alert pending
// and the next step re-sends it exactly once.
func TestWebhookSinkRetry(t *testing.T) {
	ctx := t.Context()
	var mu sync.Mutex
	var got [][]map[string]any
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/api/v2/alerts" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		if fail {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var body []map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		got = append(got, body)
	}))
	defer srv.Close()
	db := sqltest.SQLite(t)
	require.NoError(t, sqlstore.CreateSchema(ctx, db.DB, db.Dialect))
	st, err := sqlstore.New(db.DB, db.Dialect)
	require.NoError(t, err)
	clk := audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	l := audittest.NewLog(t, st, clk)
	eng, err := detect.New(detect.Config{Store: st, State: st, Now: clk.Now,
		Sinks: []detect.AlertSink{detect.WebhookSink{URL: srv.URL + "/api/v2/alerts", RunbookBaseURL: "https://docs.example/runbooks#"}}})
	require.NoError(t, err)
	_, err = l.Record(ctx, audit.Event{Type: audit.AuthnTokenReuse, Outcome: audit.Failure, Actor: user(4), Subject: audittest.Pseudonym(4)})
	require.NoError(t, err)
	res, err := eng.Evaluate(ctx)
	require.NoError(t, err)
	require.Len(t, res.Alerts, 1)
	mu.Lock()
	require.Empty(t, got)
	fail = false
	mu.Unlock()
	_, err = eng.Evaluate(ctx)
	require.NoError(t, err)
	_, err = eng.Evaluate(ctx)
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 1)
	labels := got[0][0]["labels"].(map[string]any)
	require.Equal(t, "D7", labels["rule"])
	require.Equal(t, "RB-TOKEN-01", labels["runbook"])
	require.Equal(t, "critical", labels["severity"])
	require.Equal(t, audittest.Pseudonym(4), labels["key"])
	ann := got[0][0]["annotations"].(map[string]any)
	require.Equal(t, "https://docs.example/runbooks#rb-token-01", ann["runbook_url"])
}
