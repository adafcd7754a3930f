// Package sqlstore keeps the update service's policies (package
// appversion, refserver spec §3.4) in the main database, on SQLite and
// PostgreSQL alike.
//
// Tables (migration 00400_app_policy of package store): app_policy holds
// the policy in force per platform as the JSON document of
// appversion.Policy with its revision; app_policy_history keeps every
// change with revision, time (Unix milliseconds) and actor. [Store.Set]
// validates, writes both in one transaction and reports
// app_policy_changed through [Config.Audit]; a concurrent change of the
// same platform fails on the history's primary key with
// [ErrConcurrentChange] instead of being lost. [Store.LoadPolicies]
// implements appversion.PolicySource and refuses rows that do not decode
// strictly or validate ([ErrCorruptPolicy]), so a damaged row never
// weakens the gate. Requirement: TR-03161-3 O.Arch_12.
//
// The package lives apart from appversion so that appversion's fuzz
// build does not link a database driver.
package sqlstore
