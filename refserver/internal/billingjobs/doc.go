// Package billingjobs runs the billing step functions of kassenapi/billing
// as River jobs (refserver spec 3.13, kassenapi spec B3.5, B3.9): invoice
// submission (Service.SubmitDue) every 30 s and reconciliation
// (Service.Reconcile, which also mirrors the protocol log to audit) every
// minute, both on start. The guarantees come from the steps' own leases
// and compare-and-set updates, so overlapping runs are safe; River only
// schedules them.
//
// Wiring (refserver/internal/app): Register adds the workers to the
// server's river.Workers, PeriodicJobs gives the periodic jobs for
// jobs.Config.PeriodicJobs. The billing database has no River tables; the
// jobs live in the main database and call the billing service, which
// holds its own handles on both databases.
package billingjobs
