package billingjobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/digakit/digakit/kassenapi/billing"
)

// Stepper is what the workers need of *billing.Service.
type Stepper interface {
	SubmitDue(ctx context.Context, max int) (int, error)
	Reconcile(ctx context.Context) (billing.ReconcileReport, error)
}

var _ Stepper = (*billing.Service)(nil)

// SubmitArgs is the periodic invoice-submission job.
type SubmitArgs struct {
	// Max bounds the invoices per pass; 0 means 50.
	Max int `json:"max,omitempty"`
}

// Kind implements river.JobArgs.
func (SubmitArgs) Kind() string { return "billing_submit_due" }

// SubmitWorker runs one SubmitDue pass, repeating while full passes come
// back, within the job's timeout.
type SubmitWorker struct {
	river.WorkerDefaults[SubmitArgs]
	Service Stepper
	Logger  *slog.Logger
}

// Timeout bounds one pass (a pass may wait for slow insurers).
func (w *SubmitWorker) Timeout(*river.Job[SubmitArgs]) time.Duration { return 10 * time.Minute }

// Work implements river.Worker.
func (w *SubmitWorker) Work(ctx context.Context, job *river.Job[SubmitArgs]) error {
	max := job.Args.Max
	if max <= 0 {
		max = 50
	}
	total := 0
	for i := 0; i < 20; i++ {
		n, err := w.Service.SubmitDue(ctx, max)
		total += n
		if err != nil {
			return err
		}
		if n < max {
			break
		}
	}
	if w.Logger != nil && total > 0 {
		w.Logger.Info("billing: invoices handled", "count", total)
	}
	return nil
}

// ReconcileArgs is the periodic reconciliation job.
type ReconcileArgs struct{}

// Kind implements river.JobArgs.
func (ReconcileArgs) Kind() string { return "billing_reconcile" }

// ReconcileWorker runs one Reconcile pass.
type ReconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	Service Stepper
	Logger  *slog.Logger
}

// Timeout bounds one pass.
func (w *ReconcileWorker) Timeout(*river.Job[ReconcileArgs]) time.Duration { return 10 * time.Minute }

// Work implements river.Worker.
func (w *ReconcileWorker) Work(ctx context.Context, _ *river.Job[ReconcileArgs]) error {
	rep, err := w.Service.Reconcile(ctx)
	if w.Logger != nil && (rep != billing.ReconcileReport{}) {
		w.Logger.Info("billing: reconciled", "rechecked", rep.Rechecked, "activated", rep.Activated, "released", rep.Released,
			"invoiced", rep.Invoiced, "requeued", rep.Requeued, "mirrored", rep.Mirrored, "needs_review", rep.NeedsReview)
	}
	return err
}

// Register adds both workers to workers.
func Register(workers *river.Workers, svc Stepper, log *slog.Logger) {
	river.AddWorker(workers, &SubmitWorker{Service: svc, Logger: log})
	river.AddWorker(workers, &ReconcileWorker{Service: svc, Logger: log})
}

// Default intervals of spec 3.13.
const (
	SubmitInterval    = 30 * time.Second
	ReconcileInterval = time.Minute
)

// PeriodicJobs returns the periodic jobs (RunOnStart) with the given
// intervals; zero means the defaults.
func PeriodicJobs(submit, reconcile time.Duration) []*river.PeriodicJob {
	if submit <= 0 {
		submit = SubmitInterval
	}
	if reconcile <= 0 {
		reconcile = ReconcileInterval
	}
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(submit),
			func() (river.JobArgs, *river.InsertOpts) { return SubmitArgs{}, nil },
			&river.PeriodicJobOpts{ID: "billing_submit_due", RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(reconcile),
			func() (river.JobArgs, *river.InsertOpts) { return ReconcileArgs{}, nil },
			&river.PeriodicJobOpts{ID: "billing_reconcile", RunOnStart: true}),
	}
}
