// Package jobs runs the reference server's background work on River, a job
// queue that lives in the main database (refserver spec §3.13,
// ARCHITECTURE.md "Jobs and time").
//
// There is no other scheduler, ticker loop or job table. On SQLite the
// runner uses River's riversqlite driver on the store's one-connection
// *sql.DB; on PostgreSQL it uses riverpgxv5 on the store's pgx pool, which
// the stores share through stdlib.OpenDBFromPool. River's tables are
// created by rivermigrate after the goose migrations; the billing database
// has no River tables.
//
// Library packages never import River: they expose idempotent step
// functions whose due state lives in their own tables, and the server
// registers a worker per step (Config.Workers) and periodic jobs
// (Config.PeriodicJobs). River's uniqueness is not "exactly once"; the
// guarantees come from the steps' own conditional updates.
//
// A job interrupted by a crash stays "running" until River rescues it
// after Config.RescueStuckJobsAfter; a job inserted while no runner is
// started runs as soon as a runner starts on the same database.
package jobs
