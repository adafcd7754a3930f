// Package sqlstore implements [audit.Store] on database/sql for SQLite
// (modernc.org/sqlite, driver "sqlite") and PostgreSQL (pgx stdlib, driver
// "pgx") with one SQL text using $n placeholders (audit spec §2.7, §3.11).
// The caller opens the database and chooses the driver; this package
// imports none.
//
// Schema: [Statements], [Schema] (goose-ready text) and [CreateSchema]
// create the tables audit_heads, audit_segments, audit_events,
// audit_hashes, audit_checkpoints, audit_checkpoint_shipments, audit_keys,
// audit_cursors and audit_alerts plus the append-only triggers of §3.6:
// UPDATE and DELETE on audit_events/audit_hashes abort unless the
// segment is being dropped; checkpoints are immutable.
//
// Locking: [Tx.LockHead] inserts the head row of a log if missing and
// locks it (PostgreSQL SELECT … FOR UPDATE; SQLite takes the single
// write lock), so appends of one log serialize across processes.
// SQLite deployments must use WAL with synchronous(FULL) so that an
// acknowledged event survives power loss; a one-connection write pool
// means every statement inside InTx must use tx.SQL().
//
// [Store] also implements detect.State (cursor and alert de-duplication).
package sqlstore
