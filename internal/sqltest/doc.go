// Package sqltest opens real, throw-away databases for the tests of SQL
// stores: an SQLite file in the test's temporary directory (always) and a
// fresh PostgreSQL database (when DIGAKIT_TEST_POSTGRES holds a DSN).
//
// A PostgreSQL database is created with a unique name for each call and
// dropped when the test ends, so runs leave no state behind. When
// DIGAKIT_TEST_POSTGRES is set, a failure to connect fails the test rather
// than skipping it, and every database opened is recorded as a file in
// the directory named by DIGAKIT_TEST_POSTGRES_MARK (when set), so that CI
// can prove the PostgreSQL tests really ran.
//
// Import it from _test.go files only: it pulls in both database drivers.
package sqltest
