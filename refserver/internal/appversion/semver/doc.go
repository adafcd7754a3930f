// Package semver parses and orders strict SemVer 2.0.0 versions for the
// update service (refserver spec §3.4, TR-03161-3 O.Arch_12).
//
// [Parse] accepts exactly the grammar of semver.org 2.0.0
// (MAJOR.MINOR.PATCH, optional "-" pre-release and "+" build metadata, no
// leading zeros in numeric identifiers, no "v" prefix) up to
// [MaxVersionLen] bytes and never panics: app version headers are client
// input, and a parser that throws turns every request into a 500. Errors
// never quote the input. [Version.Compare] implements the precedence of
// SemVer §11; build metadata is ignored. The fuzz target FuzzParse runs
// its seed corpus (testdata/fuzz/FuzzParse) in every go test.
//
// The package imports nothing but the standard library so that fuzzing
// builds stay small.
package semver
