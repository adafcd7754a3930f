package sqlstore_test

import (
	"context"
	"math/rand/v2"
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
	detected := 0
	for trial := range 100 {
		seq := rng.IntN(n)
		col := cols[trial%3]
		var orig []byte
		require.NoError(t, db.QueryRowContext(ctx, `SELECT `+col+` FROM audit_events WHERE seq = $1`, seq).Scan(&orig))
		bad := append([]byte(nil), orig...)
		bad[rng.IntN(len(bad))] ^= byte(1 + rng.IntN(255))
		_, err := db.ExecContext(ctx, `UPDATE audit_events SET `+col+` = $1 WHERE seq = $2`, bad, seq)
		require.NoError(t, err)
		rep := verify(t, st)
		requireBad(t, rep, int64(seq), col)
		detected++
		_, err = db.ExecContext(ctx, `UPDATE audit_events SET `+col+` = $1 WHERE seq = $2`, orig, seq)
		require.NoError(t, err)
	}
	require.Equal(t, 100, detected)
	require.True(t, verify(t, st).OK)

	// Edit of an indexed column only.
	_, err = db.ExecContext(ctx, `UPDATE audit_events SET subject = $1 WHERE seq = 4321`, audittest.Pseudonym(5000))
	require.NoError(t, err)
	rep = verify(t, st)
	requireBad(t, rep, 4321, "subject")
	require.Equal(t, audit.KindColumnMismatch, *rep.Reason)
	_, err = db.ExecContext(ctx, `UPDATE audit_events SET subject = $1 WHERE seq = 4321`, audittest.Pseudonym(4321%97))
	require.NoError(t, err)
	require.True(t, verify(t, st).OK)

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
	require.True(t, verify(t, st).OK)

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
