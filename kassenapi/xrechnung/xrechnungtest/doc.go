// Package xrechnungtest holds the shared test fixtures of DiGA invoices:
// valid invoices (the golden files of package xrechnung) and the negative
// case table X2 of spec B6, each a valid invoice with one edit and the
// exact rule ids [xrechnung.Check] must report.
//
// The fake insurer (kassenapi/kassenapitest) runs the same DRE0 rules as
// xrechnung.Check (spec B5); its tests and vendors' tests iterate
// [NegativeCases] so that the two cannot drift silently. The table also
// drives the Saxon-HE oracle test of package xrechnung, which runs the
// real EN 16931 and XRechnung rule sets on every case.
package xrechnungtest
