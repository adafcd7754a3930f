package audittest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/digakit/digakit/audit"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Test identity of the audit spec §2.3 (seed 00 01 … 1f). Use only in
// tests and the sandbox.
const (
	TestOriginPrefix = "audit.example-diga.de"
	TestSignerKey    = "PRIVATE+KEY+audit.example-diga.de/security+e4122476+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f"
	TestVerifierKey  = "audit.example-diga.de/security+e4122476+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
)

var (
	privOnce sync.Once
	privS    note.Signer
	privV    note.Verifier
)

// Signers returns note signers for the security log (the spec test
// identity) and the privacy log (a fixed test key).
func Signers() map[string]note.Signer {
	s, err := note.NewSigner(TestSignerKey)
	if err != nil {
		panic(err)
	}
	ps, _ := privacyKeys()
	return map[string]note.Signer{audit.LogSecurity: s, audit.LogPrivacy: ps}
}

// Verifiers returns the verifiers matching Signers.
func Verifiers() []note.Verifier {
	v, err := note.NewVerifier(TestVerifierKey)
	if err != nil {
		panic(err)
	}
	_, pv := privacyKeys()
	return []note.Verifier{v, pv}
}

// PrivacyVerifierKey returns the vkey string of the privacy test signer.
func PrivacyVerifierKey() string {
	_, vk := privacyKeyStrings()
	return vk
}

func privacyKeyStrings() (string, string) {
	// Deterministic key from seed bytes 0x20..0x3f.
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(0x20 + i)
	}
	sk, vk, err := note.GenerateKey(fixedReader(seed), TestOriginPrefix+"/privacy")
	if err != nil {
		panic(err)
	}
	return sk, vk
}

type fixedReader []byte

func (f fixedReader) Read(p []byte) (int, error) { return copy(p, f), nil }

func privacyKeys() (note.Signer, note.Verifier) {
	privOnce.Do(func() {
		sk, vk := privacyKeyStrings()
		var err error
		if privS, err = note.NewSigner(sk); err != nil {
			panic(err)
		}
		if privV, err = note.NewVerifier(vk); err != nil {
			panic(err)
		}
	})
	return privS, privV
}

// Pseudonym returns a valid test pseudonym for i.
func Pseudonym(i int) string {
	const a = "abcdefghijklmnopqrstuvwxyz234567"
	b := []byte("usr00000000aaaaa")
	for k := 15; k >= 0 && i > 0; k-- {
		b[k] = a[i%32]
		i /= 32
	}
	for k := range b {
		if b[k] == '0' {
			b[k] = 'q'
		}
	}
	return string(b)
}

// LoginFail returns an authn_login_fail event of subject i.
func LoginFail(i int) audit.Event {
	p := Pseudonym(i)
	return audit.Event{Type: audit.AuthnLoginFail, Outcome: audit.Failure, Reason: "bad_password",
		Actor: audit.Actor{Kind: audit.ActorUser, ID: p}, Subject: p}
}

// NewLog returns a Log on store with the test signers and clock.
func NewLog(t testing.TB, store audit.Store, clock *Clock) *audit.Log {
	t.Helper()
	l, err := audit.New(audit.Config{Store: store, OriginPrefix: TestOriginPrefix, Service: "refserver",
		Signers: Signers(), Now: clock.Now, KEK: make([]byte, 32)})
	require.NoError(t, err)
	return l
}

// Run is the conformance suite (audit spec §6 AU-20). newStore returns a
// fresh, empty store with the schema applied; each case calls it once.
func Run(t *testing.T, newStore func(t *testing.T) audit.Store) {
	start := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	t.Run("ContiguousSeqAndReadBack", func(t *testing.T) {
		ctx := t.Context()
		st := newStore(t)
		clk := NewClock(start)
		l := NewLog(t, st, clk)
		var rs []audit.Receipt
		for i := range 50 {
			r, err := l.Record(ctx, LoginFail(i%5))
			require.NoError(t, err)
			rs = append(rs, r...)
			clk.Advance(time.Millisecond)
		}
		recs, err := st.Records(ctx, audit.LogSecurity, "2026-01", 0, 100)
		require.NoError(t, err)
		require.Len(t, recs, 50)
		for i, r := range recs {
			require.Equal(t, uint64(i), r.Seq)
			require.Equal(t, rs[i].ID, r.ID)
			lh := tlog.RecordHash(r.Leaf)
			require.Equal(t, rs[i].LeafHash[:], lh[:])
			require.Equal(t, lh[:], r.LeafHash)
		}
		page, err := st.Records(ctx, audit.LogSecurity, "2026-01", 45, 3)
		require.NoError(t, err)
		require.Len(t, page, 3)
		require.Equal(t, uint64(45), page[0].Seq)
		rep, err := audit.Verify(ctx, st, audit.VerifyOptions{Verifiers: Verifiers()})
		require.NoError(t, err)
		require.True(t, rep.OK, "%+v", rep)
		require.EqualValues(t, 50, rep.Events)
	})
	t.Run("RollbackLeavesNoTrace", func(t *testing.T) {
		ctx := t.Context()
		st := newStore(t)
		l := NewLog(t, st, NewClock(start))
		_, err := l.Record(ctx, LoginFail(1))
		require.NoError(t, err)
		boom := errors.New("business failure")
		err = l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
			if _, err := tx.Append(ctx, LoginFail(2)); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		recs, err := st.Records(ctx, audit.LogSecurity, "2026-01", 0, 10)
		require.NoError(t, err)
		require.Len(t, recs, 1)
		segs, err := st.Segments(ctx, audit.LogSecurity)
		require.NoError(t, err)
		require.Equal(t, uint64(1), segs[0].Size)
		_, err = l.Record(ctx, LoginFail(3))
		require.NoError(t, err)
		rep, err := audit.Verify(ctx, st, audit.VerifyOptions{})
		require.NoError(t, err)
		require.True(t, rep.OK, "%+v", rep)
	})
	t.Run("FailedAppendFailsTransaction", func(t *testing.T) {
		ctx := t.Context()
		inner := newStore(t)
		fs := NewFaultStore(inner, 1)
		l := NewLog(t, fs, NewClock(start))
		_, err := l.Record(ctx, LoginFail(1))
		require.NoError(t, err)
		fs.FailAt(OpInsert, 1)
		err = l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
			_, _ = tx.Append(ctx, LoginFail(2)) // swallowed: still fails closed
			return nil
		})
		require.ErrorIs(t, err, audit.ErrAuditWriteFailed)
		err = l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
			_, err := tx.Append(ctx, audit.Event{Type: "made_up", Outcome: audit.Success})
			return err
		})
		require.ErrorIs(t, err, audit.ErrAuditWriteFailed)
		require.ErrorIs(t, err, audit.ErrUnknownType)
		recs, err := inner.Records(ctx, audit.LogSecurity, "2026-01", 0, 10)
		require.NoError(t, err)
		require.Len(t, recs, 1)
	})
	t.Run("ConcurrentAppends", func(t *testing.T) {
		ctx := t.Context()
		st := newStore(t)
		l := NewLog(t, st, NewClock(start))
		var wg sync.WaitGroup
		var mu sync.Mutex
		ids := map[string]bool{}
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 25 {
					var r []audit.Receipt
					var err error
					if i%2 == 0 {
						r, err = l.Record(ctx, LoginFail(g))
					} else {
						err = l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
							r, err = tx.Append(ctx, LoginFail(g))
							return err
						})
					}
					if err != nil {
						t.Errorf("append: %v", err)
						return
					}
					mu.Lock()
					ids[r[0].ID] = true
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		recs, err := st.Records(ctx, audit.LogSecurity, "2026-01", 0, 1000)
		require.NoError(t, err)
		require.Equal(t, 200, len(recs))
		for i, r := range recs {
			require.Equal(t, uint64(i), r.Seq)
			require.True(t, ids[r.ID])
		}
		rep, err := audit.Verify(ctx, st, audit.VerifyOptions{})
		require.NoError(t, err)
		require.True(t, rep.OK, "%+v", rep)
	})
	t.Run("Proofs", func(t *testing.T) {
		ctx := t.Context()
		st := newStore(t)
		l := NewLog(t, st, NewClock(start))
		var rs []audit.Receipt
		for i := range 77 {
			r, err := l.Record(ctx, LoginFail(i))
			require.NoError(t, err)
			rs = append(rs, r...)
		}
		recs, err := st.Records(ctx, audit.LogSecurity, "2026-01", 0, 100)
		require.NoError(t, err)
		rng := rand.New(rand.NewPCG(7, 7))
		for range 40 {
			n := 1 + rng.IntN(77)
			i := rng.IntN(n)
			var root tlog.Hash
			copy(root[:], recs[n-1].Root)
			p, err := l.Prove(ctx, rs[i], uint64(n))
			require.NoError(t, err)
			require.NoError(t, p.Verify(root))
			old := rng.IntN(n + 1)
			cp, err := l.ProveConsistency(ctx, audit.LogSecurity, "2026-01", uint64(old), uint64(n))
			require.NoError(t, err)
			var oldRoot tlog.Hash
			if old > 0 {
				copy(oldRoot[:], recs[old-1].Root)
			} else {
				oldRoot, _ = tlog.TreeHash(0, nil)
			}
			require.NoError(t, cp.Verify(oldRoot, root))
			root[0] ^= 1
			require.Error(t, p.Verify(root))
		}
	})
	t.Run("SegmentsCheckpointsAndDrop", func(t *testing.T) {
		ctx := t.Context()
		st := newStore(t)
		clk := NewClock(start)
		dir := t.TempDir()
		l, err := audit.New(audit.Config{Store: st, OriginPrefix: TestOriginPrefix, Signers: Signers(), Now: clk.Now,
			CheckpointSinks: []audit.CheckpointSink{audit.FileSink{Dir: dir}},
			Logs:            map[string]audit.LogConfig{audit.LogSecurity: {Retention: 30 * 24 * time.Hour}}})
		require.NoError(t, err)
		for m := range 3 {
			for i := range 5 {
				_, err := l.Record(ctx, LoginFail(i))
				require.NoError(t, err)
				clk.Advance(time.Minute)
			}
			_, err := l.Checkpoint(ctx)
			require.NoError(t, err)
			clk.Set(start.AddDate(0, m+1, 0))
		}
		_, err = l.Record(ctx, LoginFail(9)) // opens 2026-04, closes 2026-03
		require.NoError(t, err)
		_, err = l.Checkpoint(ctx) // final checkpoint of 2026-03
		require.NoError(t, err)
		segs, err := st.Segments(ctx, audit.LogSecurity)
		require.NoError(t, err)
		require.Len(t, segs, 4)
		for _, s := range segs[:3] {
			require.Equal(t, audit.SegClosed, s.State)
			require.NotEmpty(t, s.FinalCheckpoint, s.Seg)
		}
		require.Equal(t, audit.SegOpen, segs[3].State)
		// Idempotent save, conflict on a different note for one size.
		tx, err := st.Begin(ctx)
		require.NoError(t, err)
		cps, err := tx.Checkpoints(ctx, audit.LogSecurity, "2026-01")
		require.NoError(t, err)
		require.NotEmpty(t, cps)
		require.NoError(t, tx.SaveCheckpoint(ctx, cps[0]))
		other := cps[0]
		other.Note = append([]byte("x"), other.Note...)
		require.ErrorIs(t, tx.SaveCheckpoint(ctx, other), audit.ErrCheckpointConflict)
		require.NoError(t, tx.Rollback())

		dropped, err := l.DropExpired(ctx)
		require.NoError(t, err)
		require.Len(t, dropped, 2) // 2026-01 and 2026-02 closed > 30 days ago
		recs, err := st.Records(ctx, audit.LogSecurity, "2026-01", 0, 100)
		require.NoError(t, err)
		require.Empty(t, recs)
		segs, err = st.Segments(ctx, audit.LogSecurity)
		require.NoError(t, err)
		require.Equal(t, audit.SegDropped, segs[0].State)
		ext, err := audit.ReadCheckpointDir(dir)
		require.NoError(t, err)
		rep, err := audit.Verify(ctx, st, audit.VerifyOptions{Verifiers: Verifiers(), External: ext, OriginPrefix: TestOriginPrefix})
		require.NoError(t, err)
		require.True(t, rep.OK, "%+v", rep)
		require.Equal(t, fmt.Sprint(audit.WarningNoExternal), fmt.Sprint(audit.WarningNoExternal))
	})
	t.Run("SubjectQueryOrder", func(t *testing.T) {
		ctx := t.Context()
		st := newStore(t)
		clk := NewClock(start)
		l := NewLog(t, st, clk)
		for i := range 6 {
			_, err := l.Record(ctx, LoginFail(i%2))
			require.NoError(t, err)
			clk.Advance(time.Second)
		}
		recs, err := st.SubjectRecords(ctx, Pseudonym(1), 10)
		require.NoError(t, err)
		require.Len(t, recs, 3)
		for i := 1; i < len(recs); i++ {
			require.Less(t, recs[i-1].TS, recs[i].TS)
		}
	})
	t.Run("Keys", func(t *testing.T) {
		ctx := t.Context()
		st := newStore(t)
		_, err := st.Key(ctx, "subj:x")
		require.ErrorIs(t, err, audit.ErrNotFound)
		tx, err := st.Begin(ctx)
		require.NoError(t, err)
		require.NoError(t, tx.PutKey(ctx, audit.WrappedKey{KID: "subj:x", Kind: "subj", Wrapped: []byte{1, 2, 3}, CreatedAt: start}))
		require.NoError(t, tx.Commit())
		k, err := st.Key(ctx, "subj:x")
		require.NoError(t, err)
		require.Equal(t, []byte{1, 2, 3}, k.Wrapped)
		require.NoError(t, st.DestroyKey(ctx, "subj:x", start))
		require.NoError(t, st.DestroyKey(ctx, "subj:x", start))
		k, err = st.Key(ctx, "subj:x")
		require.NoError(t, err)
		require.Nil(t, k.Wrapped)
		require.False(t, k.DestroyedAt.IsZero())
	})
}
