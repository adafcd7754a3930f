package jobs

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/digakit/digakit/refserver/internal/store"
)

func TestStepsRunPeriodicallyAndOnStart(t *testing.T) {
	db := openMigrated(t, mainDSN(t, store.SQLite))
	defer db.Close()
	var runs, fails atomic.Int32
	ran := make(chan struct{}, 10)
	workers := river.NewWorkers()
	periodic, err := AddSteps(workers,
		Step{Name: "count", Interval: time.Hour, RunOnStart: true, Run: func(context.Context) error {
			runs.Add(1)
			ran <- struct{}{}
			return nil
		}},
		Step{Name: "broken", Interval: time.Hour, RunOnStart: true, Run: func(context.Context) error {
			fails.Add(1)
			return errors.New("boom")
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(db, Config{Workers: workers, PeriodicJobs: periodic, FetchPollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
	case <-time.After(30 * time.Second):
		t.Fatal("step with RunOnStart did not run")
	}
	// While a run is unfinished, a second insert is skipped as a
	// duplicate; once it completed, the next insert runs again (completed
	// runs do not block).
	waitState(t, db, "count", "completed")
	res0, err := r.Insert(t.Context(), StepArgs{Name: "count"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res0.UniqueSkippedAsDuplicate {
		t.Fatal("insert after a completed run was skipped as a duplicate")
	}
	select {
	case <-ran:
	case <-time.After(30 * time.Second):
		t.Fatal("manually inserted step did not run")
	}
	// An unknown step is cancelled, not retried.
	res, err := r.Insert(t.Context(), StepArgs{Name: "gone"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var state string
		if err := db.QueryRowContext(t.Context(), `SELECT state FROM river_job WHERE id = $1`, res.Job.ID).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state == "cancelled" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unknown step in state %q, want cancelled", state)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := r.Stop(t.Context(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if runs.Load() != 2 || fails.Load() < 1 {
		t.Fatalf("runs %d fails %d", runs.Load(), fails.Load())
	}
}

func TestAddStepsRejectsBadSteps(t *testing.T) {
	ok := func(context.Context) error { return nil }
	for _, steps := range [][]Step{
		{{Name: "", Interval: time.Minute, Run: ok}},
		{{Name: "x", Interval: 0, Run: ok}},
		{{Name: "x", Interval: time.Minute}},
		{{Name: "x", Interval: time.Minute, Run: ok}, {Name: "x", Interval: time.Minute, Run: ok}},
	} {
		if _, err := AddSteps(river.NewWorkers(), steps...); err == nil {
			t.Errorf("AddSteps accepted %+v", steps)
		}
	}
}

// waitState waits until every job of the named step is in state.
func waitState(t *testing.T, db *store.DB, name, state string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM river_job WHERE kind = 'step' AND json_extract(args, '$.name') = $1 AND state <> $2`, name, state).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("step %s: %d jobs not %s after 30 s", name, n, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
