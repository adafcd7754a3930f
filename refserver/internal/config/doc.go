// Package config loads and validates the reference server's
// configuration (refserver spec §1 "Configuration").
//
// One JSON file (--config) plus DIGAKIT_* environment variables and
// command-line flags; precedence is flags > environment > file >
// defaults. Secrets never stand in the file: the file names paths, and
// PostgreSQL passwords come from PGPASSFILE or a passfile parameter
// (O.Cryp_1). Unknown members are rejected so that a typo cannot silently
// switch a setting off.
package config
