// Package sqlstore implements billing.BindingStore (the account database)
// and billing.BillingStore (the billing database) on database/sql, with
// one SQL text for SQLite (modernc) and PostgreSQL (pgx stdlib) using $n
// placeholders (kassenapi spec B3.10).
//
// Concurrency: every method is one transaction. Read-then-write steps
// lock the row (SELECT … FOR UPDATE on PostgreSQL; on SQLite the handle
// must open write transactions with BEGIN IMMEDIATE, _txlock=immediate,
// as every digakit SQLite handle does), and inserts race through unique
// keys with INSERT … ON CONFLICT DO NOTHING: the binding's primary key is
// the code digest, the redemption's code_digest is unique, invoice
// numbers are unique, a partial unique index allows one 380 per
// redemption, and corrects is unique (one correction per invoice).
// Invoice numbers come from a counter row updated in the transaction that
// creates the invoice, so the series is gap-free and never repeats.
// Invoices are leased with SKIP LOCKED on PostgreSQL.
//
// The protocol log table is append-only: a trigger refuses UPDATE and
// DELETE on both dialects (spec B3.8).
//
// MainSchema and BillingSchema return the tables; GooseMigration renders
// them as the refserver's goose migrations 00200_redemption.sql (account
// database) and 00200_billing.sql (billing database), and a test keeps
// those files equal to them. Migrate applies them directly for library
// users. The plain code exists only sealed in the billing tables.
package sqlstore
