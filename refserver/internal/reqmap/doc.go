// Package reqmap checks the requirement map REQUIREMENTS.md against the
// code (refserver spec §3.9): every listed requirement of kind lib or ref
// has at least one `// REQ:` marker in non-test Go code and names tests
// that exist; every doc, ci or n.a. row carries its evidence; and no
// marker names an id the map does not list.
//
// Marker grammar: a comment line `// REQ: CATALOGUE:ID[, CATALOGUE:ID…]`
// directly above the function or type that implements the requirement,
// for example `// REQ: TR03161-3:O.Arch_10` or
// `// REQ: gemSpec_IDP_FD:A_23005`.
package reqmap
