package jobs

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"go.uber.org/goleak"

	"github.com/digakit/digakit/internal/sqltest"
	"github.com/digakit/digakit/refserver/internal/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// database/sql and pgx keep background goroutines for pooled
		// connections that end shortly after Close.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
		goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
	)
}

type probeArgs struct {
	Token string `json:"token"`
}

func (probeArgs) Kind() string { return "test_probe" }

type probeWorker struct {
	river.WorkerDefaults[probeArgs]
	runs atomic.Int32
	done chan string
}

func (w *probeWorker) Work(_ context.Context, j *river.Job[probeArgs]) error {
	w.runs.Add(1)
	w.done <- j.Args.Token
	return nil
}

func mainDSN(t *testing.T, d store.Dialect) string {
	t.Helper()
	if d == store.SQLite {
		return "sqlite:" + filepath.Join(t.TempDir(), "digakit.db")
	}
	base := os.Getenv(sqltest.EnvPostgres)
	if base == "" {
		t.Skip(sqltest.SkipMessage)
	}
	dsn, drop, err := sqltest.CreateDatabase(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	if dir := os.Getenv(sqltest.EnvPostgresMark); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "jobs-"+filepath.Base(t.Name())), nil, 0o600)
	}
	return dsn
}

func openMigrated(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), dsn, store.RoleMain)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestJobSurvivesRestart: a job enqueued before a restart runs after it,
// exactly once (refserver spec §3.13).
func TestJobSurvivesRestart(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			ctx := t.Context()
			dsn := mainDSN(t, d)

			// First life: start, enqueue a job due shortly, shut down
			// before it is due, close the database.
			db1 := openMigrated(t, dsn)
			w1 := &probeWorker{done: make(chan string, 1)}
			workers1 := river.NewWorkers()
			river.AddWorker(workers1, w1)
			r1, err := New(db1, Config{Workers: workers1, FetchPollInterval: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if err := r1.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := r1.Insert(ctx, probeArgs{Token: "survivor"}, &river.InsertOpts{ScheduledAt: time.Now().Add(1500 * time.Millisecond)}); err != nil {
				t.Fatal(err)
			}
			if err := r1.Stop(ctx, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := db1.Close(); err != nil {
				t.Fatal(err)
			}
			if n := w1.runs.Load(); n != 0 {
				t.Fatalf("job ran %d times before the restart", n)
			}

			// Second life on the same database.
			db2 := openMigrated(t, dsn)
			defer db2.Close()
			w2 := &probeWorker{done: make(chan string, 1)}
			workers2 := river.NewWorkers()
			river.AddWorker(workers2, w2)
			r2, err := New(db2, Config{Workers: workers2, FetchPollInterval: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if err := r2.Start(ctx); err != nil {
				t.Fatal(err)
			}
			select {
			case tok := <-w2.done:
				if tok != "survivor" {
					t.Fatalf("ran job %q, want survivor", tok)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("job enqueued before the restart did not run after it")
			}
			if err := r2.Stop(ctx, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if n := w2.runs.Load(); n != 1 {
				t.Fatalf("job ran %d times after the restart, want 1", n)
			}
			var state string
			if err := db2.QueryRowContext(ctx, `SELECT state FROM river_job WHERE kind = 'test_probe'`).Scan(&state); err != nil {
				t.Fatal(err)
			}
			if state != "completed" {
				t.Fatalf("job state = %q, want completed", state)
			}
		})
	}
}

func TestMaintenanceWorker(t *testing.T) {
	db := openMigrated(t, mainDSN(t, store.SQLite))
	defer db.Close()
	w := &MaintenanceWorker{DBs: []*store.DB{db}}
	if err := w.Work(t.Context(), &river.Job[MaintenanceArgs]{}); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	if err := w.Work(t.Context(), &river.Job[MaintenanceArgs]{}); err == nil {
		t.Fatal("maintenance on a closed database reported success")
	}
}

func TestRunnerRefusesBillingDatabase(t *testing.T) {
	db, err := store.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "billing.db"), store.RoleBilling)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := Migrate(t.Context(), db); err == nil {
		t.Fatal("River tables migrated into the billing database")
	}
	if _, err := New(db, Config{InsertOnly: true}); err == nil {
		t.Fatal("runner built on the billing database")
	}
}
