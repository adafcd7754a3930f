// Package kvnr validates the Krankenversichertennummer (KVNR), the
// unchangeable 10-character part of the German statutory health insurance
// number that identifies an insured person for life.
//
// Format: one upper-case letter A-Z followed by nine digits
// (pattern ^[A-Z][0-9]{9}$, FHIR invariant kvid-1 of the de.basisprofil
// identifier profile http://fhir.de/sid/gkv/kvid-10). The last digit is a
// check digit: the letter is replaced by its two-digit alphabet position
// (A=01 … Z=26), which together with the first eight digits gives ten
// digits; these are weighted alternately 1, 2, 1, 2, … from the left, each
// product is replaced by its digit sum, and the total modulo 10 must equal
// the check digit (specs gidrp.md §2.8 and mio.md §2.7; de.wikipedia
// "Krankenversichertennummer"; HL7 Germany "bp:Krankenversichertennummer").
//
// A KVNR is personal data: [Validate] returns typed errors ([ErrFormat],
// [ErrCheckDigit]) whose text never contains the input, and the [KVNR] type
// redacts itself in fmt and log output. Callers are gidrp/ (ID token
// claims), epa/ (record addressing), mio/ (Patient identifier) and the CLI
// command "digakit kvnr check".
package kvnr
