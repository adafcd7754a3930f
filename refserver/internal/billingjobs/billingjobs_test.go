package billingjobs_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/kassenapi/billing/billingtest"
	"github.com/digakit/digakit/kassenapi/billing/sqlstore"
	"github.com/digakit/digakit/refserver/internal/billingjobs"
	"github.com/digakit/digakit/refserver/internal/jobs"
	"github.com/digakit/digakit/refserver/internal/store"
)

// TestJobsSubmitAndReconcile runs the periodic jobs on River (SQLite):
// a redeemed code's invoice is submitted, and a check whose answer was
// lost is reconciled, without anyone calling the step functions directly.
func TestJobsSubmitAndReconcile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mainDB, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "main.db"), store.RoleMain)
	if err != nil {
		t.Fatal(err)
	}
	defer mainDB.Close()
	billDB, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "billing.db"), store.RoleBilling)
	if err != nil {
		t.Fatal(err)
	}
	defer billDB.Close()
	for _, db := range []*store.DB{mainDB, billDB} {
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := jobs.Migrate(ctx, mainDB); err != nil {
		t.Fatal(err)
	}
	binds, _ := sqlstore.NewBindings(mainDB.DB, "sqlite")
	bill, _ := sqlstore.NewBilling(billDB.DB, "sqlite")
	ins := billingtest.NewInsurer(billingtest.VEID, billingtest.ServiceDay)
	cfg := billingtest.Config(t, binds, bill, ins, time.Now)
	cfg.Lease, cfg.CheckBudget = 300*time.Millisecond, 200*time.Millisecond
	svc, err := billing.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	billingjobs.Register(workers, svc, nil)
	r, err := jobs.New(mainDB, jobs.Config{Workers: workers, PeriodicJobs: billingjobs.PeriodicJobs(200*time.Millisecond, 200*time.Millisecond),
		FetchPollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	code, lost := billingtest.NewCode(billingtest.PrefixAPI), billingtest.NewCode(billingtest.PrefixAPI)
	if _, err := svc.Redeem(ctx, "a", code); err != nil {
		t.Fatal(err)
	}
	ins.DropChecks(1)
	if _, err := svc.Redeem(ctx, "b", lost); err == nil {
		t.Fatal("dropped check succeeded")
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Stop(ctx, 5*time.Second) }()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if len(ins.Invoices()) == 1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(ins.Invoices()) != 1 {
		t.Fatalf("fake booked %d invoices", len(ins.Invoices()))
	}
	// the lost check: the reconciler re-checks after the 1-minute backoff;
	// the binding stays pending meanwhile and no second account can take it
	if _, err := svc.Redeem(ctx, "c", lost); err == nil {
		t.Fatal("other account got a pending code")
	}
}
