package sqlstore_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/audittest"
	"github.com/digakit/digakit/internal/sqltest"
	"github.com/stretchr/testify/require"
)

// AU-8: when the audit insert fails, the business row written through
// tx.SQL() is absent and InTx returns ErrAuditWriteFailed, also when fn
// swallows the error.
func TestFailClosed(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		st := newStore(t, db)
		_, err := db.ExecContext(ctx, `CREATE TABLE business (id TEXT PRIMARY KEY)`)
		require.NoError(t, err)
		fs := audittest.NewFaultStore(st, 1)
		l := audittest.NewLog(t, fs, audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)))
		for _, swallow := range []bool{false, true} {
			fs.FailAt(audittest.OpInsert, 1)
			err := l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
				if _, err := tx.SQL().ExecContext(ctx, `INSERT INTO business (id) VALUES ($1)`, "order-1"); err != nil {
					return err
				}
				_, err := tx.Append(ctx, audittest.LoginFail(1))
				if swallow {
					return nil
				}
				return err
			})
			require.ErrorIs(t, err, audit.ErrAuditWriteFailed)
			var n int
			require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM business`).Scan(&n))
			require.Zero(t, n)
		}
		// commit failure also fails the action
		fs.FailAt(audittest.OpCommit, 1)
		err = l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
			_, err := tx.Append(ctx, audittest.LoginFail(1))
			return err
		})
		require.ErrorIs(t, err, audit.ErrAuditWriteFailed)
		rep, err := audit.Verify(ctx, st, audit.VerifyOptions{})
		require.NoError(t, err)
		require.True(t, rep.OK)
		require.Zero(t, rep.Events)
	})
}

// AU-7: 8 goroutines x 100 InTx calls (1 000 under DIGAKIT_LONG=1), 5 % of
// fn fail, 2 % injected store failures: committed rows equal acknowledged
// appends exactly, seq contiguous, ids unique, verify ok.
func TestNoLostAcknowledged(t *testing.T) {
	per := 100
	if !raceEnabled || testingLong() {
		per = 250
	}
	sqltest.Each(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		st := newStore(t, db)
		fs := audittest.NewFaultStore(st, 3)
		fs.FailRate(audittest.OpInsert, 0.02)
		l := audittest.NewLog(t, fs, audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)))
		var acked sync.Map
		var nAck atomic.Int64
		boom := errors.New("business failure")
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(g), 1))
				for range per {
					var id string
					failFn := rng.IntN(100) < 5
					var err error
					if rng.IntN(2) == 0 {
						err = l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
							r, err := tx.Append(ctx, audittest.LoginFail(g))
							if err != nil {
								return err
							}
							id = r[0].ID
							if failFn {
								return boom
							}
							return nil
						})
					} else if !failFn {
						var r []audit.Receipt
						r, err = l.Record(ctx, audittest.LoginFail(g))
						if err == nil {
							id = r[0].ID
						}
					} else {
						continue
					}
					if err == nil {
						acked.Store(id, true)
						nAck.Add(1)
					} else if !errors.Is(err, boom) && !errors.Is(err, audit.ErrAuditWriteFailed) {
						t.Errorf("unexpected error: %v", err)
					}
				}
			}()
		}
		wg.Wait()
		require.Positive(t, fs.Injected)
		recs, err := st.Records(ctx, audit.LogSecurity, "2026-01", 0, 100000)
		require.NoError(t, err)
		require.EqualValues(t, nAck.Load(), len(recs))
		seen := map[string]bool{}
		for i, r := range recs {
			require.Equal(t, uint64(i), r.Seq)
			require.False(t, seen[r.ID])
			seen[r.ID] = true
			_, ok := acked.Load(r.ID)
			require.True(t, ok, "unacknowledged row committed")
		}
		rep, err := audit.Verify(ctx, st, audit.VerifyOptions{})
		require.NoError(t, err)
		require.True(t, rep.OK, "%+v", rep)
	})
}

// AU-10: UPDATE and DELETE on live segments fail on both dialects.
func TestAppendOnlyTriggers(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		st := newStore(t, db)
		l := audittest.NewLog(t, st, audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)))
		_, err := l.Record(ctx, audittest.LoginFail(1), audittest.LoginFail(2))
		require.NoError(t, err)
		for _, q := range []string{
			`UPDATE audit_events SET type = 'x' WHERE seq = 0`,
			`DELETE FROM audit_events WHERE seq = 1`,
			`UPDATE audit_hashes SET idx = idx + 100`,
			`DELETE FROM audit_hashes`,
		} {
			_, err := db.ExecContext(ctx, q)
			require.Error(t, err, q)
			require.Contains(t, err.Error(), "append-only")
		}
		var n int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events`).Scan(&n))
		require.Equal(t, 2, n)
	})
}

// A caller that began its own *sql.Tx joins it (Log.Join): the business
// row and the event commit together, and a failed Append makes Commit
// fail and roll back.
func TestJoinCallerTx(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		st := newStore(t, db)
		_, err := db.ExecContext(ctx, `CREATE TABLE business (id TEXT PRIMARY KEY)`)
		require.NoError(t, err)
		l := audittest.NewLog(t, st, audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)))

		sqlTx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		tx := l.Join(st.Join(sqlTx))
		_, err = sqlTx.ExecContext(ctx, `INSERT INTO business (id) VALUES ($1)`, "a")
		require.NoError(t, err)
		_, err = tx.Append(ctx, audittest.LoginFail(1))
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))

		sqlTx, err = db.BeginTx(ctx, nil)
		require.NoError(t, err)
		tx = l.Join(st.Join(sqlTx))
		_, err = sqlTx.ExecContext(ctx, `INSERT INTO business (id) VALUES ($1)`, "b")
		require.NoError(t, err)
		_, err = tx.Append(ctx, audit.Event{Type: audit.AuthnLoginFail, Outcome: audit.Failure,
			Actor: audit.Actor{Kind: audit.ActorUser, ID: "x"}, Attrs: map[string]any{"detail": "max@example.de"}})
		require.ErrorIs(t, err, audit.ErrForbiddenContent)
		require.ErrorIs(t, tx.Commit(ctx), audit.ErrAuditWriteFailed)

		var ids []string
		rows, err := db.QueryContext(ctx, `SELECT id FROM business`)
		require.NoError(t, err)
		for rows.Next() {
			var id string
			require.NoError(t, rows.Scan(&id))
			ids = append(ids, id)
		}
		require.NoError(t, rows.Err())
		require.Equal(t, []string{"a"}, ids)
		rep, err := audit.Verify(ctx, st, audit.VerifyOptions{})
		require.NoError(t, err)
		require.True(t, rep.OK)
		require.EqualValues(t, 1, rep.Events)
	})
}
