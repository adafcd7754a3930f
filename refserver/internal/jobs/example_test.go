package jobs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/riverqueue/river"

	"github.com/digakit/digakit/refserver/internal/jobs"
	"github.com/digakit/digakit/refserver/internal/store"
)

type greetArgs struct{ Name string }

func (greetArgs) Kind() string { return "example_greet" }

type greetWorker struct {
	river.WorkerDefaults[greetArgs]
	done chan string
}

func (w *greetWorker) Work(_ context.Context, j *river.Job[greetArgs]) error {
	w.done <- "hello " + j.Args.Name
	return nil
}

func ExampleRunner() {
	dir, _ := os.MkdirTemp("", "jobs-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, _ := store.Open(ctx, "sqlite:"+filepath.Join(dir, "digakit.db"), store.RoleMain)
	defer db.Close()
	_ = db.Migrate(ctx)
	_ = jobs.Migrate(ctx, db) // River's tables, after goose

	w := &greetWorker{done: make(chan string, 1)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	r, err := jobs.New(db, jobs.Config{Workers: workers, FetchPollInterval: 100 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	_ = r.Start(ctx)
	defer func() { _ = r.Stop(ctx, 10*time.Second) }()
	_, _ = r.Insert(ctx, greetArgs{Name: "DiGA"}, nil)
	fmt.Println(<-w.done)
	// Output: hello DiGA
}
