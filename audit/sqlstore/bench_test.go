package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/audittest"
	"github.com/digakit/digakit/audit/memstore"
	"github.com/digakit/digakit/audit/sqlstore"
	"github.com/digakit/digakit/internal/sqltest"
	"golang.org/x/mod/sumdb/tlog"
)

// countingStore counts committed transactions (to know the group-commit
// batch size).
type countingStore struct {
	audit.Store
	commits atomic.Int64
}

func (c *countingStore) Begin(ctx context.Context) (audit.StoreTx, error) {
	tx, err := c.Store.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &countingTx{StoreTx: tx, c: c}, nil
}

type countingTx struct {
	audit.StoreTx
	c *countingStore
}

func (t *countingTx) Commit() error {
	t.c.commits.Add(1)
	return t.StoreTx.Commit()
}

// lastBatch is the average batch size of the last group-commit run; the
// raw-insert benchmark uses it (run both with -bench Append).
var lastBatch atomic.Int64

// BenchmarkAppend (AU-22): Record with group commit from 8 goroutines,
// plain INSERTs of the same precomputed rows in transactions of the same
// average batch size, and single-event InTx; all on SQLite WAL +
// synchronous(FULL).
func BenchmarkAppend(b *testing.B) {
	b.Run("group-commit-8", func(b *testing.B) {
		db := sqltest.SQLite(b)
		st := &countingStore{Store: newBenchStore(b, db)}
		l := audittest.NewLog(b, st, audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)))
		ctx := context.Background()
		var n atomic.Int64
		start := time.Now()
		b.SetParallelism(4) // 8 goroutines on 2 cores
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := l.Record(ctx, audittest.LoginFail(i%50)); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
				i++
			}
		})
		el := time.Since(start)
		b.StopTimer()
		avg := max(1, n.Load()/max(1, st.commits.Load()))
		lastBatch.Store(avg)
		b.ReportMetric(float64(n.Load())/el.Seconds(), "events/s")
		b.ReportMetric(float64(avg), "events/commit")
	})
	b.Run("raw-insert", func(b *testing.B) {
		batch := int(lastBatch.Load())
		if batch == 0 {
			batch = 8
		}
		recs, hashes := precompute(b, b.N)
		db := sqltest.SQLite(b)
		newBenchStore(b, db)
		ctx := context.Background()
		start := time.Now()
		b.ResetTimer()
		for i := 0; i < b.N; i += batch {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			for j := i; j < min(b.N, i+batch); j++ {
				r := recs[j]
				if _, err := tx.ExecContext(ctx, `INSERT INTO audit_events (log, seg, seq, id, ts, type, actor, subject, leaf, leaf_hash, root) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
					r.Log, r.Seg, int64(r.Seq), r.ID, r.TS, r.Type, r.Actor, r.Subject, r.Leaf, r.LeafHash, r.Root); err != nil {
					b.Fatal(err)
				}
				hs := hashes[j]
				var sb strings.Builder
				args := make([]any, 0, 4*len(hs))
				sb.WriteString(`INSERT INTO audit_hashes (log, seg, idx, hash) VALUES `)
				for k, h := range hs {
					if k > 0 {
						sb.WriteByte(',')
					}
					fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d)", 4*k+1, 4*k+2, 4*k+3, 4*k+4)
					args = append(args, r.Log, r.Seg, h.Index, h.Hash[:])
				}
				if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		b.ReportMetric(float64(batch), "events/commit")
	})
	b.Run("intx-single", func(b *testing.B) {
		db := sqltest.SQLite(b)
		st := newBenchStore(b, db)
		l := audittest.NewLog(b, st, audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)))
		ctx := context.Background()
		start := time.Now()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
				_, err := tx.Append(ctx, audittest.LoginFail(i%50))
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	})
}

func newBenchStore(b *testing.B, db *sqltest.DB) *sqlstore.Store {
	b.Helper()
	if err := sqlstore.CreateSchema(context.Background(), db.DB, db.Dialect); err != nil {
		b.Fatal(err)
	}
	st, err := sqlstore.New(db.DB, db.Dialect)
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// precompute builds n rows (and their tree hashes) with a memstore log.
func precompute(b *testing.B, n int) ([]audit.Record, [][]audit.StoredHash) {
	b.Helper()
	ctx := context.Background()
	ms := memstore.New()
	l := audittest.NewLog(b, ms, audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)))
	for i := 0; i < n; i += 256 {
		evs := make([]audit.Event, 0, 256)
		for j := i; j < min(n, i+256); j++ {
			evs = append(evs, audittest.LoginFail(j%50))
		}
		if _, err := l.Record(ctx, evs...); err != nil {
			b.Fatal(err)
		}
	}
	recs, err := ms.Records(ctx, audit.LogSecurity, "2026-01", 0, n)
	if err != nil {
		b.Fatal(err)
	}
	hashes := make([][]audit.StoredHash, n)
	for i := range recs {
		lo, hi := tlog.StoredHashIndex(0, int64(i)), tlog.StoredHashIndex(0, int64(i)+1)
		idx := make([]int64, 0, hi-lo)
		for x := lo; x < hi; x++ {
			idx = append(idx, x)
		}
		hs, err := ms.Hashes(ctx, audit.LogSecurity, "2026-01", idx)
		if err != nil {
			b.Fatal(err)
		}
		for k, h := range hs {
			hashes[i] = append(hashes[i], audit.StoredHash{Index: idx[k], Hash: h})
		}
	}
	return recs, hashes
}

// BenchmarkVerify (AU-21): verification speed over 100 000 events on
// SQLite.
func BenchmarkVerify(b *testing.B) {
	const n = 100000
	ctx := context.Background()
	db := sqltest.SQLite(b)
	st := newBenchStore(b, db)
	clk := audittest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	l := audittest.NewLog(b, st, clk)
	for i := 0; i < n; i += 1000 {
		if err := l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
			for j := i; j < i+1000; j++ {
				if _, err := tx.Append(ctx, audittest.LoginFail(j%50)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for range b.N {
		rep, err := audit.Verify(ctx, st, audit.VerifyOptions{})
		if err != nil || !rep.OK || rep.Events != n {
			b.Fatalf("verify: %v %+v", err, rep)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "events/s")
	// CPU time per event (process user+system), independent of other load
	// on a shared machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n*b.N), "cpu-ns/event")
}

// cpuTime returns the user+system CPU time of the process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
