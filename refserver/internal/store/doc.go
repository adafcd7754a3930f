// Package store opens the reference server's two databases and migrates
// them.
//
// The server keeps two separate databases (ARCHITECTURE.md "Storage";
// kassenapi spec B3.1): the main database (accounts, sessions, consent,
// audit, jobs) and the billing ledger (plain Freischaltcodes, invoices,
// protocol log), each with its own DSN and credentials, because the GKV
// rules require billing data apart from user accounts. Each handle is
// opened from one DSN whose scheme picks the dialect (refserver spec §1):
//
//   - sqlite:PATH, sqlite://PATH or sqlite:///abs/path opens
//     modernc.org/sqlite (pure Go) with foreign keys, a busy timeout, WAL,
//     synchronous(FULL) and immediate write transactions (audit spec
//     §2.7) and a one-connection pool;
//   - postgres://… or postgresql://… opens a pgx pool and a database/sql
//     handle on the same pool (stdlib.OpenDBFromPool), so that River's
//     riverpgxv5 driver and the stores share connections.
//
// Any other scheme is an error. Passwords never stand in a DSN: pgx reads
// them from PGPASSFILE or a passfile parameter.
//
// Migrations are embedded goose SQL files, one directory per database and
// dialect (migrations/{main,billing}/{sqlite,postgres}). Each database
// records its role in the table digakit_meta at first migration; opening
// the billing DSN as the main database (or both DSNs naming one database)
// fails with ErrSameDatabase, so the separation cannot be lost by a typo.
package store
