package billingjobs_test

import (
	"fmt"

	"github.com/digakit/digakit/refserver/internal/billingjobs"
)

// The periodic jobs of the billing layer with their default intervals.
func ExamplePeriodicJobs() {
	jobs := billingjobs.PeriodicJobs(0, 0)
	fmt.Println(len(jobs), billingjobs.SubmitInterval, billingjobs.ReconcileInterval)
	fmt.Println(billingjobs.SubmitArgs{}.Kind(), billingjobs.ReconcileArgs{}.Kind())
	// Output:
	// 2 30s 1m0s
	// billing_submit_due billing_reconcile
}
