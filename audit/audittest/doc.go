// Package audittest holds test helpers for audit stores (audit spec §5,
// §6): the conformance suite [Run] that every [audit.Store] implementation
// passes (AU-20), a fault-injecting wrapper [FaultStore] for fail-closed
// tests (AU-7, AU-8), a fake [Clock], and the spec's test signing identity
// (§2.3) with helpers to build a Log on a store. Use the keys only in tests
// and the sandbox.
package audittest
