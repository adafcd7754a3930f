package sqlstore_test

import (
	"context"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/audittest"
	"github.com/digakit/digakit/audit/sqlstore"
	"github.com/digakit/digakit/internal/sqltest"
	"github.com/stretchr/testify/require"
)

// fill appends n events in transactions of 100.
func fill(t testing.TB, l *audit.Log, clk *audittest.Clock, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i += 100 {
		err := l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
			for j := i; j < min(n, i+100); j++ {
				if _, err := tx.Append(ctx, audittest.LoginFail(j%97)); err != nil {
					return err
				}
				clk.Advance(time.Millisecond)
			}
			return nil
		})
		require.NoError(t, err)
	}
}

// dropTriggers plays the attacker with database administrator rights.
func dropTriggers(t testing.TB, db *sqltest.DB) {
	t.Helper()
	stmts := []string{"DROP TRIGGER IF EXISTS audit_events_no_update", "DROP TRIGGER IF EXISTS audit_events_no_delete"}
	if db.Dialect == sqlstore.Postgres {
		stmts = []string{"DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events"}
	}
	for _, s := range stmts {
		_, err := db.ExecContext(context.Background(), s)
		require.NoError(t, err)
	}
}

func verify(t testing.TB, st audit.Store) audit.Report {
	t.Helper()
	rep, err := audit.Verify(context.Background(), st, audit.VerifyOptions{Verifiers: audittest.Verifiers()})
	require.NoError(t, err)
	return rep
}

func requireBad(t testing.TB, rep audit.Report, idx int64, what string) {
	t.Helper()
	require.False(t, rep.OK, what)
	require.NotNil(t, rep.FirstBad, what)
	require.Equal(t, idx, *rep.FirstBad, "%s: reason %s", what, *rep.Reason)
}

// T9 (AU-3): 10 000 events; 100 random byte flips in leaf, leaf_hash or
// root of a random row, one deletion, one swap of two leaves and one edit
// of the subject column are all detected with the right first bad index.
func TestT9Tamper(t *testing.T) {
	db := sqltest.SQLite(t)
	st := newStore(t, db)
	clk := audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	l := audittest.NewLog(t, st, clk)
	const n = 10000
	fill(t, l, clk, n)
	clk.Advance(2 * time.Minute)
	_, err := l.Checkpoint(t.Context())
	require.NoError(t, err)
	rep := verify(t, st)
	require.True(t, rep.OK, "%+v", rep)
	require.EqualValues(t, n, rep.Events)
	dropTriggers(t, db)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(9, 10))
	cols := []string{"leaf", "leaf_hash", "root"}

	// 100 byte flips. Each trial tampers with a fresh copy of the rows read
	// from SQLite (snapshot), so that the trials stay fast under -race;
	// the first 2 trials tamper with the SQLite rows themselves.
	snap := takeSnapshot(t, st)
	detected := 0
	for trial := range 100 {
		seq := rng.IntN(n)
		col := cols[trial%3]
		if trial < 2 {
			var orig []byte
			require.NoError(t, db.QueryRowContext(ctx, `SELECT `+col+` FROM audit_events WHERE seq = $1`, seq).Scan(&orig))
			bad := append([]byte(nil), orig...)
			bad[rng.IntN(len(bad))] ^= byte(1 + rng.IntN(255))
			_, err := db.ExecContext(ctx, `UPDATE audit_events SET `+col+` = $1 WHERE seq = $2`, bad, seq)
			require.NoError(t, err)
			requireBad(t, verify(t, st), int64(seq), col)
			_, err = db.ExecContext(ctx, `UPDATE audit_events SET `+col+` = $1 WHERE seq = $2`, orig, seq)
			require.NoError(t, err)
		} else {
			restore := snap.flip(seq, col, rng)
			requireBad(t, verify(t, snap), int64(seq), col)
			restore()
		}
		detected++
	}
	require.Equal(t, 100, detected)
	require.True(t, verify(t, snap).OK)

	// Edit of an indexed column only.
	_, err = db.ExecContext(ctx, `UPDATE audit_events SET subject = $1 WHERE seq = 4321`, audittest.Pseudonym(5000))
	require.NoError(t, err)
	rep = verify(t, st)
	requireBad(t, rep, 4321, "subject")
	require.Equal(t, audit.KindColumnMismatch, *rep.Reason)
	_, err = db.ExecContext(ctx, `UPDATE audit_events SET subject = $1 WHERE seq = 4321`, audittest.Pseudonym(4321%97))
	require.NoError(t, err)

	// Swap the leaves of two rows: the lower index is reported.
	var a, b []byte
	require.NoError(t, db.QueryRowContext(ctx, `SELECT leaf FROM audit_events WHERE seq = 1234`).Scan(&a))
	require.NoError(t, db.QueryRowContext(ctx, `SELECT leaf FROM audit_events WHERE seq = 8765`).Scan(&b))
	_, err = db.ExecContext(ctx, `UPDATE audit_events SET leaf = $1 WHERE seq = 1234`, b)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `UPDATE audit_events SET leaf = $1 WHERE seq = 8765`, a)
	require.NoError(t, err)
	rep = verify(t, st)
	requireBad(t, rep, 1234, "swap")
	_, err = db.ExecContext(ctx, `UPDATE audit_events SET leaf = $1 WHERE seq = 1234`, a)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `UPDATE audit_events SET leaf = $1 WHERE seq = 8765`, b)
	require.NoError(t, err)

	// Delete one row.
	_, err = db.ExecContext(ctx, `DELETE FROM audit_events WHERE seq = 5000`)
	require.NoError(t, err)
	rep = verify(t, st)
	requireBad(t, rep, 5000, "delete")
	require.Equal(t, audit.KindSeqGap, *rep.Reason)
}

// A segment deleted without retention (no audit_segment_dropped event) is
// an unjustified gap; a legitimately dropped one verifies (AU-9).
func TestUnjustifiedGap(t *testing.T) {
	db := sqltest.SQLite(t)
	st := newStore(t, db)
	ctx := t.Context()
	clk := audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	l := audittest.NewLog(t, st, clk)
	fill(t, l, clk, 30)
	clk.Set(time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC))
	fill(t, l, clk, 10)
	_, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	require.True(t, verify(t, st).OK)
	dropTriggers(t, db)
	_, err = db.ExecContext(ctx, `UPDATE audit_segments SET state = 'dropped' WHERE seg = '2026-01'`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `DELETE FROM audit_events WHERE seg = '2026-01'`)
	require.NoError(t, err)
	rep := verify(t, st)
	requireBad(t, rep, 0, "gap")
	require.Equal(t, audit.KindUnjustifiedGap, *rep.Reason)
	require.EqualValues(t, 11, rep.Events)
}

// Editing the link leaf's view of the previous segment (its head row) is
// a segment_link_mismatch at the first event of the next segment.
func TestSegmentLinkMismatch(t *testing.T) {
	db := sqltest.SQLite(t)
	st := newStore(t, db)
	ctx := t.Context()
	clk := audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	l := audittest.NewLog(t, st, clk)
	fill(t, l, clk, 20)
	clk.Set(time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC))
	fill(t, l, clk, 5)
	require.True(t, verify(t, st).OK)
	// Attacker truncates January and rewrites its head consistently.
	dropTriggers(t, db)
	_, err := db.ExecContext(ctx, `DELETE FROM audit_events WHERE seg = '2026-01' AND seq >= 15`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `UPDATE audit_segments SET size = 15, root = (SELECT root FROM audit_events WHERE seg = '2026-01' AND seq = 14) WHERE seg = '2026-01'`)
	require.NoError(t, err)
	rep := verify(t, st)
	requireBad(t, rep, 15, "link")
	require.Equal(t, audit.KindSegmentLink, *rep.Reason)
}

// snapshot is a read-only in-memory copy of a store's rows for fast
// tamper trials.
type snapshot struct {
	audit.Store // nil: write methods are not used by Verify
	logs        []string
	segs        map[string][]audit.Segment
	recs        map[string][]audit.Record
	cps         map[string][]audit.SignedCheckpoint
}

func takeSnapshot(t *testing.T, st audit.Store) *snapshot {
	t.Helper()
	ctx := t.Context()
	s := &snapshot{segs: map[string][]audit.Segment{}, recs: map[string][]audit.Record{}, cps: map[string][]audit.SignedCheckpoint{}}
	logs, err := st.Logs(ctx)
	require.NoError(t, err)
	s.logs = logs
	for _, l := range logs {
		segs, err := st.Segments(ctx, l)
		require.NoError(t, err)
		s.segs[l] = segs
		for _, sg := range segs {
			recs, err := st.Records(ctx, l, sg.Seg, 0, 1<<30)
			require.NoError(t, err)
			s.recs[l+"/"+sg.Seg] = recs
			cps, err := st.Checkpoints(ctx, l, sg.Seg)
			require.NoError(t, err)
			s.cps[l+"/"+sg.Seg] = cps
		}
	}
	return s
}

// flip changes one random byte of a column of the row at seq and returns
// a function that restores it.
func (s *snapshot) flip(seq int, col string, rng *rand.Rand) func() {
	r := &s.recs[audit.LogSecurity+"/2026-01"][seq]
	field := map[string]*[]byte{"leaf": &r.Leaf, "leaf_hash": &r.LeafHash, "root": &r.Root}[col]
	orig := *field
	bad := append([]byte(nil), orig...)
	bad[rng.IntN(len(bad))] ^= byte(1 + rng.IntN(255))
	*field = bad
	return func() { *field = orig }
}

func (s *snapshot) Logs(context.Context) ([]string, error) { return s.logs, nil }

func (s *snapshot) Segments(_ context.Context, log string) ([]audit.Segment, error) {
	return s.segs[log], nil
}

func (s *snapshot) Records(_ context.Context, log, seg string, from uint64, limit int) ([]audit.Record, error) {
	recs := s.recs[log+"/"+seg]
	i := sort.Search(len(recs), func(i int) bool { return recs[i].Seq >= from })
	return recs[i:min(len(recs), i+limit)], nil
}

func (s *snapshot) Checkpoints(_ context.Context, log, seg string) ([]audit.SignedCheckpoint, error) {
	return s.cps[log+"/"+seg], nil
}
