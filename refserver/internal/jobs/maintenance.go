package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/digakit/digakit/refserver/internal/store"
)

// MaintenanceArgs is the job that keeps the SQLite files compact: it
// truncates the write-ahead log and runs PRAGMA optimize on every
// database it is given. On PostgreSQL it only checks that the databases
// answer (autovacuum does the rest).
type MaintenanceArgs struct{}

// Kind implements river.JobArgs.
func (MaintenanceArgs) Kind() string { return "db_maintenance" }

// MaintenanceWorker works MaintenanceArgs.
type MaintenanceWorker struct {
	river.WorkerDefaults[MaintenanceArgs]
	// DBs are the databases to maintain (main and billing).
	DBs []*store.DB
}

// Work implements river.Worker.
func (w *MaintenanceWorker) Work(ctx context.Context, _ *river.Job[MaintenanceArgs]) error {
	for _, db := range w.DBs {
		if db.Dialect != store.SQLite {
			if err := db.Ping(ctx); err != nil {
				return fmt.Errorf("maintenance %s: %w", db.Role, err)
			}
			continue
		}
		for _, q := range []string{`PRAGMA wal_checkpoint(TRUNCATE)`, `PRAGMA optimize`} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("maintenance %s: %w", db.Role, err)
			}
		}
	}
	return nil
}

// MaintenancePeriodic schedules MaintenanceArgs every interval.
func MaintenancePeriodic(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return MaintenanceArgs{}, nil },
		&river.PeriodicJobOpts{ID: "db_maintenance"})
}
