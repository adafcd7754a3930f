package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/digakit/digakit/refserver/internal/store"
)

// Config holds the optional settings of a Runner.
type Config struct {
	// Logger receives River's log records. Nil discards them (River's own
	// default would write text lines to stdout).
	Logger *slog.Logger
	// Workers are the registered job workers. Nil means none: the runner
	// can then only insert.
	Workers *river.Workers
	// PeriodicJobs are enqueued by the elected leader.
	PeriodicJobs []*river.PeriodicJob
	// MaxWorkers bounds concurrent jobs on the default queue. Zero means 4.
	MaxWorkers int
	// FetchPollInterval is how often the runner polls for new jobs. Zero
	// means River's default (1 s); SQLite has no LISTEN/NOTIFY, so polling
	// is how new jobs are found there.
	FetchPollInterval time.Duration
	// RescueStuckJobsAfter bounds how long a job interrupted by a crash
	// stays "running". Zero means 10 minutes.
	RescueStuckJobsAfter time.Duration
	// InsertOnly builds a client that never works jobs (tools that only
	// enqueue). Workers may then be nil.
	InsertOnly bool
}

// client is what Runner needs of River's generic client; both the SQLite
// and the pgx instantiation satisfy it.
type client interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Runner is a River client bound to the main database.
type Runner struct {
	c       client
	started bool
}

// Migrate creates or upgrades River's tables in db. It must run after the
// goose migrations and only on the main database.
func Migrate(ctx context.Context, db *store.DB) error {
	if db.Role != store.RoleMain {
		return errors.New("jobs: River tables belong in the main database only")
	}
	var err error
	switch db.Dialect {
	case store.SQLite:
		var m *rivermigrate.Migrator[*sql.Tx]
		if m, err = rivermigrate.New(riversqlite.New(db.DB), nil); err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	case store.Postgres:
		var m *rivermigrate.Migrator[pgx.Tx]
		if m, err = rivermigrate.New(riverpgxv5.New(db.Pool), nil); err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	default:
		err = fmt.Errorf("unknown dialect %q", db.Dialect)
	}
	if err != nil {
		return fmt.Errorf("jobs: migrate River tables: %w", err)
	}
	return nil
}

// New builds a runner on the main database. It does not start it.
func New(db *store.DB, cfg Config) (*Runner, error) {
	if db.Role != store.RoleMain {
		return nil, errors.New("jobs: the runner works on the main database only")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rc := &river.Config{
		Logger:               logger,
		PeriodicJobs:         cfg.PeriodicJobs,
		FetchPollInterval:    cfg.FetchPollInterval,
		RescueStuckJobsAfter: cfg.RescueStuckJobsAfter,
	}
	if rc.RescueStuckJobsAfter == 0 {
		rc.RescueStuckJobsAfter = 10 * time.Minute
	}
	if rc.FetchPollInterval > 0 && rc.FetchPollInterval < 100*time.Millisecond {
		rc.FetchCooldown = rc.FetchPollInterval
	}
	if !cfg.InsertOnly {
		if cfg.Workers == nil {
			return nil, errors.New("jobs: Config.Workers is required unless InsertOnly")
		}
		maxWorkers := cfg.MaxWorkers
		if maxWorkers == 0 {
			maxWorkers = 4
		}
		rc.Workers = cfg.Workers
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}}
	}
	var (
		c   client
		err error
	)
	switch db.Dialect {
	case store.SQLite:
		c, err = river.NewClient(riversqlite.New(db.DB), rc)
	case store.Postgres:
		c, err = river.NewClient(riverpgxv5.New(db.Pool), rc)
	default:
		err = fmt.Errorf("unknown dialect %q", db.Dialect)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Runner{c: c}, nil
}

// Start starts working jobs until Stop.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.c.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	r.started = true
	return nil
}

// Stop lets running jobs finish for up to grace, then cancels them
// (refserver spec §1 "Shutdown": Stop, then StopAndCancel after 10 s).
func (r *Runner) Stop(ctx context.Context, grace time.Duration) error {
	if !r.started {
		return nil
	}
	r.started = false
	sctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	err := r.c.Stop(sctx)
	if err == nil {
		return nil
	}
	cctx, cancel2 := context.WithTimeout(ctx, grace)
	defer cancel2()
	if err2 := r.c.StopAndCancel(cctx); err2 != nil {
		return fmt.Errorf("jobs: stop: %w", errors.Join(err, err2))
	}
	return nil
}

// Insert enqueues one job.
func (r *Runner) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := r.c.Insert(ctx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return res, nil
}
