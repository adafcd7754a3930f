// Package billing is the stateful layer on top of the kassenapi client:
// redemption of Freischaltcodes (prescription codes of a DiGA) with at
// most one insurer check per code, the binding of a code to a user
// account, invoices in XRechnung CII (package xrechnung) with numbers
// allocated exactly once, their submission (EDRE0/TDRE0) and
// reconciliation, the manual-dispatch queue for Versandart 2/3,
// correction invoices (384) and the protocol log of the GKV Technische
// Anlage §4.4. The spec is kassenapi.md part B (B3.1–B3.10).
//
// # Two databases
//
// The account database (BindingStore) holds only the keyed digest of a
// code, CodeDigest = HMAC-SHA-256(K, "digakit/fsc/v1" || 0x00 || code)
// with the key id (refserver key "hmac-fsc", up to MaxDigestKeys lookup
// keys for rotation), bound to the account id. The billing database
// (BillingStore) holds the plain code only sealed (Sealer, refserver key
// "billing-seal", AES-256-GCM), together with the insurer data, invoices,
// reports and the protocol log; it never holds an account id. No
// transaction spans both. The plain code lives in memory only during the
// request: nothing on the app side keeps it after activation (B3.1).
// Digest.CodeID, the hex of the first 8 digest bytes, is the only code
// reference in logs.
//
// # Redeem (B3.4)
//
//  1. ParseCode (normalise, length, alphabet, Base32Check1); test codes
//     (77…) only with AllowTestCodes; the prefix must resolve in the
//     directory today.
//  2. Account DB, one transaction: find the binding under every digest or
//     insert a pending one (lease 2 min). An active binding is judged by
//     the Policy in the same transaction; a pending one of another account
//     gives ErrCodeAlreadyRedeemed, of the same account a short poll; an
//     expired one is settled from the billing row first.
//  3. Billing DB: CAS the redemption to checking (or insert it). A
//     validated row without binding (account deleted) gives
//     ErrCodeAlreadyRedeemed without an insurer call.
//  4. The insurer check, outside any transaction, within CheckBudget.
//  5. One billing transaction records the outcome, one protocol row per
//     HTTP exchange and, on ANT, the invoice row with its number.
//  6. Account DB: activate (ANT), release (rejected/failed) or keep the
//     pending claim (outcome unknown → ErrOutcomeUnknown, reconciled).
//
// Because the claim in step 2 is unique per digest and the CAS in step 3
// is unique per code, concurrent requests make at most one insurer check.
//
// # State machines (B3.3)
//
// Binding (account DB), one row per digest plus an activation history:
//
//	(none) ──claim──▶ pending(account, attempt, lease)
//	pending ──ANT recorded──▶ active(first account, activations, first_at)
//	pending ──rejected/failed, or lease expired without ANT──▶ (deleted)
//	active ──operator──▶ revoked
//	any ──ForgetAccount──▶ (deleted); the billing row stays, so the code
//	                        can never be redeemed or billed again
//
// Redemption (billing DB, unique digest):
//
//	none|rejected|failed ──claim won──▶ checking(attempt, lease)
//	checking ──ANT──▶ validated  (+ protocol rows, + invoice 380 queued
//	                              with its number; final state)
//	checking ──FEH 100/101/102/200──▶ rejected
//	checking ──not sent, 201/202, HTTP error──▶ failed
//	checking ──sent, no usable answer──▶ unknown
//	unknown | checking with expired lease ──re-check (Reconcile)──▶ as above;
//	    unknown ──FEH 1xx──▶ rejected + needs_review
//
// Invoice (billing DB, unique number, at most one 380 per redemption by a
// partial unique index, at most one correction per invoice):
//
//	queued ──lease──▶ submitting ──report──▶ accepted | rejected_format |
//	                                        rejected_business | submit_unknown
//	submit_unknown | submitting with expired lease ──▶ submitting
//	    (same stored bytes and number; a rejected resend ▶ accepted_presumed
//	     + review, as it may be a duplicate of a booked first send)
//	queued ──Versandart 2/3──▶ manual_pending ──operator──▶ manual_sent
//	queued ──no price / no address──▶ needs_data | needs_address ──Reconcile──▶ queued
//	accepted | accepted_presumed | manual_sent ──Correct──▶ new 384 row (queued),
//	    the original gets corrected_by
//
// The XML is built once, stored sealed before the first send, and every
// retry sends the stored bytes with the same number (B3.5). Sending is
// marked (maybe_sent) before the bytes leave, so a crash between sending
// and recording leads to a resend of the same number, never to a second
// invoice, and never to a lost one.
//
// # Reconciliation (B3.9)
//
// Reconcile re-checks unknown and stale checking redemptions on the
// backoff 1 min, 5 min, 15 min, 1 h, then 6 h; activates expired pending
// bindings whose redemption is validated and releases those whose
// redemption is rejected, failed or absent; creates a missing 380 for a
// validated redemption; requeues needs_* invoices; and mirrors protocol
// rows left in the audit backlog. SubmitDue and Reconcile are idempotent
// step functions; refserver runs them as River periodic jobs.
//
// # Protocol log (TA §4.4, B3.8)
//
// Every exchange with an insurer and every manual dispatch gives a row
// with the partners' IKs, the UTC instant and the German local time
// (LocalTimestamp), the process (FSC/RE) and procedure, the code (sealed)
// and the result (fehlerfrei/fehlerhaft). Rows are written in the
// transaction of their state change, are append-only (database trigger),
// and are mirrored to an AuditSink after commit through a backlog table.
//
// Stores: package sqlstore implements both interfaces on database/sql for
// SQLite and PostgreSQL; package billingtest is the conformance suite and
// an in-process fake insurer.
package billing
