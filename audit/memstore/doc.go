// Package memstore is an in-memory [audit.Store] for examples and unit
// tests (audit spec §1 package layout). It passes the audittest
// conformance suite. Write transactions are serialized (one writer, like
// SQLite) and buffered until Commit, so a rollback leaves no trace and
// readers never see uncommitted rows. Nothing is persisted.
package memstore
