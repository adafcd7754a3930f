package audit_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/audittest"
	"github.com/digakit/digakit/audit/memstore"
	"github.com/digakit/digakit/audit/sqlstore"
	"github.com/digakit/digakit/internal/sqltest"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

func newLog(t *testing.T, policy audit.ForbiddenPolicy) (*audit.Log, *memstore.Store, *audittest.Clock) {
	t.Helper()
	st := memstore.New()
	clk := audittest.NewClock(t0)
	l, err := audit.New(audit.Config{Store: st, OriginPrefix: audittest.TestOriginPrefix, Service: "refserver",
		Signers: audittest.Signers(), Now: clk.Now, KEK: bytes.Repeat([]byte{7}, 32), NetKey: []byte("net-key"),
		OnForbidden: policy})
	require.NoError(t, err)
	return l, st, clk
}

func allRecords(t *testing.T, st audit.Store) []audit.Record {
	t.Helper()
	var out []audit.Record
	logs, err := st.Logs(t.Context())
	require.NoError(t, err)
	for _, l := range logs {
		segs, err := st.Segments(t.Context(), l)
		require.NoError(t, err)
		for _, s := range segs {
			recs, err := st.Records(t.Context(), l, s.Seg, 0, 1<<20)
			require.NoError(t, err)
			out = append(out, recs...)
		}
	}
	return out
}

// Forbidden content is rejected under Reject and redacted (plus an
// input_validation_fail event) under Redact; AU-12 log injection payloads
// never reach a leaf.
func TestForbiddenContent(t *testing.T) {
	payloads := map[string]string{
		"email":     "max.mustermann@example.de",
		"jwt":       "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
		"fsc":       "ABCDEFGHJKLMN234",
		"kvnr":      "A123456789",
		"totp":      "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
		"password":  "Tr0ub4dor&3x",
		"crlf":      "a\r\nb",
		"ansi":      "\x1b[31mred",
		"nul":       "a\x00b",
		"u2028":     "a\u2028b",
		"quote":     `"}`,
		"long":      strings.Repeat("x", 10000),
		"url query": "https://example.org/cb?code=abc",
		"hex token": strings.Repeat("ab12", 10),
		"icd code":  "diagnosis F32.1",
		"ipv4":      "client 203.0.113.9",
	}
	for name, p := range payloads {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			ev := audittest.LoginFail(1)
			ev.Attrs = map[string]any{"detail": p}
			l, st, _ := newLog(t, audit.Reject)
			_, err := l.Record(ctx, ev)
			if name == "quote" {
				// quotes are escaped, not forbidden
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, audit.ErrForbiddenContent)
			require.NotContains(t, err.Error(), p)
			require.Empty(t, allRecords(t, st))

			l, st, _ = newLog(t, audit.Redact)
			_, err = l.Record(ctx, ev)
			require.NoError(t, err)
			recs := allRecords(t, st)
			require.Len(t, recs, 2)
			require.Contains(t, string(recs[0].Leaf), `"detail":"[redacted:`)
			require.Equal(t, string(audit.InputValidationFail), recs[1].Type)
			require.Contains(t, string(recs[1].Leaf), `"fields":["attrs.detail"]`)
			for _, r := range recs {
				require.NotContains(t, string(r.Leaf), p)
			}
		})
	}
	t.Run("structural", func(t *testing.T) {
		l, _, _ := newLog(t, audit.Redact)
		bad := []audit.Event{
			{Type: "no_such_type", Outcome: audit.Success, Actor: audit.Actor{Kind: audit.ActorSystem, ID: "system"}},
			{Type: audit.AuthnLoginFail, Outcome: "maybe", Actor: audit.Actor{Kind: audit.ActorSystem, ID: "system"}},
			{Type: audit.AuthnLoginFail, Outcome: audit.Failure, Actor: audit.Actor{Kind: "robot", ID: "x"}},
			{Type: audit.AuthnLoginFail, Outcome: audit.Failure, Actor: audit.Actor{Kind: audit.ActorUser, ID: "x"}, Subject: "Max Mustermann"},
			{Type: audit.AuthnLoginFail, Outcome: audit.Failure, Actor: audit.Actor{Kind: audit.ActorUser, ID: "x"}, Attrs: map[string]any{"password": "x"}},
			{Type: audit.AuthnLoginFail, Outcome: audit.Failure, Actor: audit.Actor{Kind: audit.ActorUser, ID: "x"}, Attrs: map[string]any{"f": 1.5}},
			{Type: audit.AuthnLoginFail, Outcome: audit.Failure, Actor: audit.Actor{Kind: audit.ActorUser, ID: "x"}, Reason: "Bad Reason"},
		}
		for i, ev := range bad {
			_, err := l.Record(t.Context(), ev)
			require.Error(t, err, i)
		}
	})
}

// Config.AllowedAttrs restricts the attribute names of a type.
func TestAllowedAttrs(t *testing.T) {
	l, err := audit.New(audit.Config{Store: memstore.New(),
		AllowedAttrs: map[audit.Type][]string{audit.AuthnLoginFail: {"retries"}}})
	require.NoError(t, err)
	ev := audittest.LoginFail(1)
	ev.Attrs = map[string]any{"retries": 2}
	_, err = l.Record(t.Context(), ev)
	require.NoError(t, err)
	ev.Attrs = map[string]any{"comment": "ok"}
	_, err = l.Record(t.Context(), ev)
	require.ErrorIs(t, err, audit.ErrForbiddenContent)
}

// Size limit boundary: 8 192 bytes accepted, 8 193 rejected.
func TestSizeLimit(t *testing.T) {
	ctx := t.Context()
	l, st, _ := newLog(t, audit.Reject)
	word := strings.Repeat("a b ", 32) // 128 chars
	mk := func(last int) audit.Event {
		ev := audittest.LoginFail(1)
		a := make([]any, 32)
		for i := range a {
			a[i] = word
		}
		b := make([]any, 0, 32)
		for range 28 {
			b = append(b, word)
		}
		b = append(b, strings.Repeat("c", last%2)+strings.Repeat(" c", last/2))
		ev.Attrs = map[string]any{"a": a, "b": b}
		return ev
	}
	_, err := l.Record(ctx, mk(10))
	require.NoError(t, err)
	s0 := len(allRecords(t, st)[0].Leaf)
	last := 10 + 8192 - s0
	require.Positive(t, last)
	require.LessOrEqual(t, last, 128)
	_, err = l.Record(ctx, mk(last))
	require.NoError(t, err)
	recs := allRecords(t, st)
	require.Len(t, recs[1].Leaf, 8192)
	_, err = l.Record(ctx, mk(last+1))
	require.ErrorIs(t, err, audit.ErrEventTooLarge)
	require.Len(t, allRecords(t, st), 2)
}

// A clock jumping backwards never makes ts decrease; segments roll over
// with a link leaf.
func TestClockAndRollover(t *testing.T) {
	ctx := t.Context()
	l, st, clk := newLog(t, audit.Reject)
	_, err := l.Record(ctx, audittest.LoginFail(1))
	require.NoError(t, err)
	clk.Advance(-time.Hour)
	_, err = l.Record(ctx, audittest.LoginFail(1))
	require.NoError(t, err)
	recs := allRecords(t, st)
	require.Equal(t, recs[0].TS, recs[1].TS)
	clk.Set(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	_, err = l.Record(ctx, audittest.LoginFail(1))
	require.NoError(t, err)
	feb, err := st.Records(ctx, audit.LogSecurity, "2026-02", 0, 10)
	require.NoError(t, err)
	require.Len(t, feb, 2)
	require.Equal(t, string(audit.AuditSegmentOpened), feb[0].Type)
	require.Contains(t, string(feb[0].Leaf), `"prev_seg":"2026-01","prev_size":2`)
	rep, err := audit.Verify(ctx, st, audit.VerifyOptions{Verifiers: audittest.Verifiers()})
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)
	require.EqualValues(t, 4, rep.Events)
}

// AU-14: seal IPs (and a subject value) for many events, destroy the
// subject key: verification still passes, the sealed values are gone and
// key_destroyed is recorded.
func TestCryptoShredding(t *testing.T) {
	ctx := t.Context()
	l, st, _ := newLog(t, audit.Reject)
	subj := audittest.Pseudonym(42)
	for i := range 1000 {
		ev := audittest.LoginFail(42)
		ev.Client = &audit.ClientInfo{Platform: "ios", IP: netip.MustParseAddr(fmt.Sprintf("203.0.113.%d", i%250)), UserAgent: "DiGA/1.0"}
		ev.Sealed = map[string]string{"ip": fmt.Sprintf("203.0.113.%d", i%250)}
		_, err := l.Record(ctx, ev)
		require.NoError(t, err)
	}
	other := audittest.LoginFail(7)
	other.Sealed = map[string]string{"ip": "198.51.100.7"}
	_, err := l.Record(ctx, other)
	require.NoError(t, err)
	recs := allRecords(t, st)
	for _, r := range recs {
		require.NotContains(t, string(r.Leaf), "203.0.113.")
	}
	got, err := l.Unseal(ctx, recs[5])
	require.NoError(t, err)
	require.Equal(t, "203.0.113.5", got["ip"])

	require.NoError(t, l.Shred(ctx, subj))
	_, err = l.Unseal(ctx, recs[5])
	require.ErrorIs(t, err, audit.ErrKeyDestroyed)
	got, err = l.Unseal(ctx, recs[1000]) // another subject is untouched
	require.NoError(t, err)
	require.Equal(t, "198.51.100.7", got["ip"])
	recs = allRecords(t, st)
	require.Equal(t, string(audit.KeyDestroyed), recs[len(recs)-1].Type)
	rep, err := audit.Verify(ctx, st, audit.VerifyOptions{Verifiers: audittest.Verifiers()})
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)
	// Sealing for a shredded subject fails closed.
	ev := audittest.LoginFail(42)
	ev.Sealed = map[string]string{"ip": "203.0.113.1"}
	_, err = l.Record(ctx, ev)
	require.ErrorIs(t, err, audit.ErrAuditWriteFailed)
}

// Reads need the audit-reader role and are audited; users see only their
// own protocol.
func TestReadAccessAndProtocol(t *testing.T) {
	ctx := t.Context()
	l, st, _ := newLog(t, audit.Reject)
	subj := audittest.Pseudonym(3)
	_, err := l.Record(ctx, audittest.LoginFail(3),
		audit.Event{Type: audit.ConsentGranted, Outcome: audit.Success, Actor: audit.Actor{Kind: audit.ActorUser, ID: subj}, Subject: subj,
			Attrs: map[string]any{"action": "grant", "purpose": "diga.use"}},
		audit.Event{Type: audit.ConsentGranted, Outcome: audit.Success, Actor: audit.Actor{Kind: audit.ActorUser, ID: audittest.Pseudonym(4)},
			Subject: audittest.Pseudonym(4), Attrs: map[string]any{"action": "grant"}})
	require.NoError(t, err)
	admin := audit.Actor{Kind: audit.ActorAdmin, ID: audittest.Pseudonym(9)}
	_, err = l.Read(ctx, audit.Principal{Actor: admin, Roles: []string{"operator"}}, audit.Query{Log: audit.LogSecurity, Seg: "2026-01"})
	require.ErrorIs(t, err, audit.ErrAccessDenied)
	recs, err := l.Read(ctx, audit.Principal{Actor: admin, Roles: []string{audit.RoleAuditReader}}, audit.Query{Log: audit.LogSecurity, Seg: "2026-01"})
	require.NoError(t, err)
	require.Len(t, recs, 2) // login fail + authz_fail of the denied read
	sec, err := st.Records(ctx, audit.LogSecurity, "2026-01", 0, 100)
	require.NoError(t, err)
	require.Equal(t, string(audit.AuthzFail), sec[1].Type)
	require.Equal(t, string(audit.AuditRead), sec[2].Type)
	require.Contains(t, string(sec[2].Leaf), `"count":2`)

	prot, err := l.Protocol(ctx, subj, 0)
	require.NoError(t, err)
	require.Len(t, prot, 1)
	require.Equal(t, string(audit.ConsentGranted), prot[0].Type)
	require.Equal(t, "grant", prot[0].Attrs["action"])
}

// AU-11: checkpoint cadence on a fake clock; concurrent runs give no
// duplicates; the FileSink never overwrites.
func TestCheckpointCadence(t *testing.T) {
	ctx := t.Context()
	st := memstore.New()
	clk := audittest.NewClock(t0)
	dir := t.TempDir()
	l, err := audit.New(audit.Config{Store: st, OriginPrefix: audittest.TestOriginPrefix, Signers: audittest.Signers(), Now: clk.Now,
		CheckpointSinks: []audit.CheckpointSink{audit.FileSink{Dir: dir}}})
	require.NoError(t, err)
	var signed []audit.SignedCheckpoint
	for i := range 2500 {
		_, err := l.Record(ctx, audittest.LoginFail(i%10))
		require.NoError(t, err)
		clk.Advance(72 * time.Millisecond) // 2500 appends over 3 min
		if i%70 == 69 {                    // every ~5 s of fake time
			cps, err := l.Checkpoint(ctx)
			require.NoError(t, err)
			signed = append(signed, cps...)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			clk.Advance(61 * time.Second)
			cps, err := l.Checkpoint(ctx)
			if err != nil {
				t.Errorf("checkpoint: %v", err)
			}
			mu.Lock()
			signed = append(signed, cps...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	cps, err := l.Checkpoint(ctx) // no growth: nothing new
	require.NoError(t, err)
	require.Empty(t, cps)
	slices.SortFunc(signed, func(a, b audit.SignedCheckpoint) int { return cmp.Compare(a.Size, b.Size) })
	sizes := map[uint64]bool{}
	prev := uint64(0)
	for _, c := range signed {
		require.False(t, sizes[c.Size], "duplicate size %d", c.Size)
		sizes[c.Size] = true
		require.Greater(t, c.Size, prev)
		prev = c.Size
	}
	require.True(t, sizes[1000] || sizes[2500])
	require.True(t, sizes[2500], "final size signed")
	ext, err := audit.ReadCheckpointDir(dir)
	require.NoError(t, err)
	require.Len(t, ext, len(signed))
	// a different note for a shipped size is a conflict
	fs := audit.FileSink{Dir: dir}
	c := signed[0]
	c.Note = append([]byte("x"), c.Note...)
	require.ErrorIs(t, fs.Ship(ctx, c), audit.ErrCheckpointConflict)
	require.NoError(t, fs.Ship(ctx, signed[0]))
}

// AU-5: an attacker who rewrites a segment and re-signs it with the
// stolen key, but cannot reach the external sink, is caught by the shipped
// checkpoints.
func TestRewriteWithKeyCaughtByExternal(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	mk := func(st audit.Store, sinkDir string, subjOffset int) {
		clk := audittest.NewClock(t0)
		cfg := audit.Config{Store: st, OriginPrefix: audittest.TestOriginPrefix, Signers: audittest.Signers(), Now: clk.Now}
		if sinkDir != "" {
			cfg.CheckpointSinks = []audit.CheckpointSink{audit.FileSink{Dir: sinkDir}}
		}
		l, err := audit.New(cfg)
		require.NoError(t, err)
		for i := range 20 {
			_, err := l.Record(ctx, audittest.LoginFail(i+subjOffset))
			require.NoError(t, err)
		}
		clk.Advance(2 * time.Minute)
		_, err = l.Checkpoint(ctx)
		require.NoError(t, err)
	}
	honest := memstore.New()
	mk(honest, dir, 0)
	forged := memstore.New()
	mk(forged, "", 1) // different content, validly signed
	ext, err := audit.ReadCheckpointDir(dir)
	require.NoError(t, err)
	rep, err := audit.Verify(ctx, forged, audit.VerifyOptions{Verifiers: audittest.Verifiers()})
	require.NoError(t, err)
	require.True(t, rep.OK, "undetectable without the shipped copy")
	rep, err = audit.Verify(ctx, forged, audit.VerifyOptions{Verifiers: audittest.Verifiers(), External: ext})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Equal(t, audit.KindCheckpointRoot, *rep.Reason)
	rep, err = audit.Verify(ctx, honest, audit.VerifyOptions{Verifiers: audittest.Verifiers(), External: ext})
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)
}

// Canary test (AU-13, library part): an end-to-end run that hands canary
// secrets to every input a careless caller might use finds 0 occurrences
// in the SQLite store files (database and WAL).
func TestCanaries(t *testing.T) {
	ctx := t.Context()
	db := sqltest.SQLite(t)
	require.NoError(t, sqlstore.CreateSchema(ctx, db.DB, db.Dialect))
	st, err := sqlstore.New(db.DB, db.Dialect)
	require.NoError(t, err)
	clk := audittest.NewClock(t0)
	l, err := audit.New(audit.Config{Store: st, OriginPrefix: audittest.TestOriginPrefix, Signers: audittest.Signers(), Now: clk.Now,
		KEK: bytes.Repeat([]byte{9}, 32), NetKey: []byte("k"), OnForbidden: audit.Redact})
	require.NoError(t, err)
	canaries := map[string]string{
		"password":    "CanaryPa55!word",
		"totp_secret": "CANARYTOTPSECRETAAAAAAAA",
		"token":       "eyJhbGciOiJFUzI1NiJ9.eyJjYW5hcnkiOjF9.c2ln",
		"refresh":     "canaryrefresh0123456789abcdef0123456789abcdef",
		"fsc":         "CANARY2345FSCAAA",
		"kvnr":        "X987654321",
		"email":       "canary.person@example-diga.de",
		"health":      "CanaryDiagnosis-F32.1!",
		"session":     "canary-session-id-777",
		"ip":          "192.0.2.199",
		"ua":          "CanaryBrowser/9.9 (secret build)",
	}
	subj := audittest.Pseudonym(77)
	var evs []audit.Event
	for name, c := range canaries {
		if name == "session" || name == "ua" {
			// shapeless secrets: only given in their typed fields
			// (Auth.SessionID, Client.UserAgent), which are hashed
			c = "plain text"
		}
		evs = append(evs, audit.Event{Type: audit.AuthnLoginFail, Outcome: audit.Failure, Reason: "bad_password",
			Actor: audit.Actor{Kind: audit.ActorUser, ID: subj}, Subject: subj,
			Auth:   &audit.AuthInfo{SessionID: canaries["session"]},
			Client: &audit.ClientInfo{Platform: "web", IP: netip.MustParseAddr(canaries["ip"]), UserAgent: canaries["ua"]},
			Attrs:  map[string]any{"detail": c, "list": []any{c}, "note_" + strings.ReplaceAll(name, "_", ""): c},
			Sealed: map[string]string{"ip": canaries["ip"]}})
	}
	for _, ev := range evs {
		err := l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
			_, err := tx.Append(ctx, ev)
			return err
		})
		// attr names like note_password are rejected even under Redact
		if err != nil {
			require.ErrorIs(t, err, audit.ErrForbiddenContent)
			for _, c := range canaries {
				require.NotContains(t, err.Error(), c)
			}
			ev.Attrs = map[string]any{"detail": ev.Attrs["detail"], "list": ev.Attrs["list"]}
			_, err = l.Record(ctx, ev)
			require.NoError(t, err)
		}
	}
	clk.Advance(2 * time.Minute)
	_, err = l.Checkpoint(ctx)
	require.NoError(t, err)
	require.NoError(t, l.Shred(ctx, subj))
	var files [][]byte
	dir := filepath.Dir(strings.TrimPrefix(strings.SplitN(db.DSN, "?", 2)[0], "file:"))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		files = append(files, b)
	}
	require.NotEmpty(t, files)
	found := 0
	for name, c := range canaries {
		for _, f := range files {
			if bytes.Contains(f, []byte(c)) {
				t.Errorf("canary %s found in the store", name)
				found++
			}
		}
	}
	require.Zero(t, found)
	n := len(allRecords(t, st))
	require.Greater(t, n, len(canaries))
}

// Status reports checkpoint age, growth and unshipped checkpoints.
func TestStatus(t *testing.T) {
	ctx := t.Context()
	st := memstore.New()
	clk := audittest.NewClock(t0)
	l, err := audit.New(audit.Config{Store: st, OriginPrefix: audittest.TestOriginPrefix, Signers: audittest.Signers(), Now: clk.Now,
		CheckpointSinks: []audit.CheckpointSink{audit.FileSink{Dir: t.TempDir()}}})
	require.NoError(t, err)
	_, err = l.Record(ctx, audittest.LoginFail(1))
	require.NoError(t, err)
	clk.Advance(2 * time.Minute)
	_, err = l.Checkpoint(ctx)
	require.NoError(t, err)
	_, err = l.Record(ctx, audittest.LoginFail(1))
	require.NoError(t, err)
	clk.Advance(6 * time.Minute)
	ss, err := l.Status(ctx)
	require.NoError(t, err)
	require.Len(t, ss, 1)
	require.True(t, ss[0].Grown)
	require.Equal(t, uint64(2), ss[0].Size)
	require.Equal(t, uint64(1), ss[0].CheckpointSize)
	require.Equal(t, 6*time.Minute, ss[0].CheckpointAge)
	require.Zero(t, ss[0].Unshipped)
}

// A panicking callback releases the transaction: later appends work.
func TestInTxPanicReleases(t *testing.T) {
	ctx := t.Context()
	l, st, _ := newLog(t, audit.Reject)
	func() {
		defer func() { require.NotNil(t, recover()) }()
		_ = l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
			_, _ = tx.Append(ctx, audittest.LoginFail(1))
			panic("boom")
		})
	}()
	_, err := l.Record(ctx, audittest.LoginFail(2))
	require.NoError(t, err)
	require.Len(t, allRecords(t, st), 1)
}

// Timestamps, four-part app versions and ids are not mistaken for IPs.
func TestNoFalsePositives(t *testing.T) {
	l, _, _ := newLog(t, audit.Reject)
	ev := audittest.LoginFail(1)
	ev.Client = &audit.ClientInfo{Platform: "android", AppVersion: "1.4.2.100"}
	ev.Attrs = map[string]any{"until": "2026-01-15T10:20:00Z", "client_id": "diga-app", "kind": "refresh",
		"prev_root": "iv4YDkflzBvLizKZx3ILW8fGZsAqcTQyAcYJGZZNfNg=", "max": 10, "segment": "2026-W03"}
	_, err := l.Record(t.Context(), ev)
	require.NoError(t, err)
	ev.Attrs = map[string]any{"detail": "from 2001:db8::1"}
	_, err = l.Record(t.Context(), ev)
	require.ErrorIs(t, err, audit.ErrForbiddenContent)
}
