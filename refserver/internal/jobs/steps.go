package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Step is an idempotent step function of a library package that the
// server runs periodically on River (refserver spec §3.13): the audit
// checkpoint, the detection rules, invoice submission and
// reconciliation, the directory update, the auth cleanup. Library
// packages never import River; they expose such functions and keep their
// due state in their own tables, so two overlapping runs are harmless.
type Step struct {
	// Name identifies the step in job arguments, logs and River's tables
	// (lower_snake_case, unique).
	Name string
	// Interval is the period; River's elected leader enqueues the step.
	Interval time.Duration
	// RunOnStart also enqueues the step when the leader starts.
	RunOnStart bool
	// Timeout bounds one run. Zero means River's default (1 min).
	Timeout time.Duration
	// Run performs the step.
	Run func(ctx context.Context) error
}

// StepArgs is the job of one step run.
type StepArgs struct {
	Name string `json:"name"`
}

// Kind implements river.JobArgs.
func (StepArgs) Kind() string { return "step" }

// InsertOpts keeps at most one unfinished run per step in the queue, so a
// slow step does not pile up runs (completed runs do not block the next).
func (StepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{
		ByArgs: true,
		ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled,
		},
	}}
}

// stepWorker runs StepArgs by name.
type stepWorker struct {
	river.WorkerDefaults[StepArgs]
	steps map[string]Step
}

// Work implements river.Worker. An unknown name (a job left by an older
// version) is cancelled rather than retried.
func (w *stepWorker) Work(ctx context.Context, j *river.Job[StepArgs]) error {
	st, ok := w.steps[j.Args.Name]
	if !ok {
		return river.JobCancel(fmt.Errorf("unknown step %q", j.Args.Name))
	}
	if err := st.Run(ctx); err != nil {
		return fmt.Errorf("step %s: %w", st.Name, err)
	}
	return nil
}

// Timeout implements river.Worker: the step's own bound.
func (w *stepWorker) Timeout(j *river.Job[StepArgs]) time.Duration {
	if st, ok := w.steps[j.Args.Name]; ok && st.Timeout > 0 {
		return st.Timeout
	}
	return 0
}

// AddSteps registers one worker for all steps and returns their periodic
// jobs. Names must be unique and intervals positive.
func AddSteps(workers *river.Workers, steps ...Step) ([]*river.PeriodicJob, error) {
	w := &stepWorker{steps: map[string]Step{}}
	var periodic []*river.PeriodicJob
	for _, st := range steps {
		if st.Name == "" || st.Run == nil || st.Interval <= 0 {
			return nil, fmt.Errorf("jobs: step %q needs a name, a function and a positive interval", st.Name)
		}
		if _, dup := w.steps[st.Name]; dup {
			return nil, fmt.Errorf("jobs: step %q registered twice", st.Name)
		}
		w.steps[st.Name] = st
		args := StepArgs{Name: st.Name}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(st.Interval),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{ID: "step_" + st.Name, RunOnStart: st.RunOnStart}))
	}
	if err := river.AddWorkerSafely(workers, w); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return periodic, nil
}
