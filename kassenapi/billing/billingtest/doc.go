// Package billingtest is the conformance suite of the billing stores and
// an in-process fake insurer for the billing layer (kassenapi spec B6).
//
// RunStores runs, against any pair of billing.BindingStore and
// billing.BillingStore opened by a Backend, the concurrency and fault
// tests of spec B6: C1 (200 accounts race for one code: one activation,
// 199 ErrCodeAlreadyRedeemed, one insurer check, one invoice, no pending
// claims left, protocol rows equal to insurer calls), C2 (one account, 50
// concurrent requests), C3 (two Service instances on separate pools), C4
// (the policy matrix), C5 (three workers submitting concurrently), C6
// (accept-then-drop on the check, then reconciliation), C7 (accept-then-drop
// on the invoice with and without duplicate rejection), crash points in
// every flow followed by a restart, manual dispatch, corrections,
// needs_data, account deletion, the protocol log with its audit backlog,
// S2 key rotation and the operator's resubmit and cancel. Runs sets the
// repetitions (10; 50 with DIGAKIT_LONG=1).
//
// Insurer implements billing.Checker and billing.Submitter in process: it
// answers ANT with a fixed DiGA-VE-ID and service day, FEH numbers per
// code, accept-then-drop faults for checks and invoices, runs
// xrechnung.Check on every invoice, applies the business rules of spec B5
// (an invoice needs an ANT from this fake; a code is never booked under
// two 380 numbers; a repeated number is accepted or rejected as a
// duplicate) and answers with VARL reports. The network fake with SECON
// CMS over mutual TLS is kassenapi/kassenapitest.
package billingtest
