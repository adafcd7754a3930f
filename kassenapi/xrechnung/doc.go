// Package xrechnung builds and checks the invoices a DiGA manufacturer
// sends to a statutory insurer (Krankenkasse, "Kostentraeger"), and parses
// the insurer's answer. It is stateless: invoice numbers, the redemption
// ledger, submission and retries live in the billing layer on top of it.
//
// DiGA (Digitale Gesundheitsanwendungen) are apps that insurers pay for
// on prescription. The patient redeems a 16-character Freischaltcode;
// after the insurer confirmed the code, the manufacturer bills exactly one
// invoice per code in XRechnung 2.2, UN/CEFACT CII D16B syntax (GKV
// Technische Anlage V2.0, in force since 2023-10-01). Terms used here:
// IK (Institutionskennzeichen, the nine-digit id of manufacturer and
// insurer), DiGA-VE-ID (the eight-digit id of the prescribed unit,
// "Verordnungseinheit"), Tag der Leistungserbringung (service day).
//
// # Flow
//
//  1. Prices come from configuration: a [Catalog] lists the net price of
//     each DiGA-VE-ID per validity period with its VAT treatment.
//     [Catalog.Apply] fills an [Invoice] for the VE-ID and service day
//     the insurer confirmed, or returns [ErrNoPrice] (spec B4: the
//     invoice waits in needs_data).
//  2. The caller assigns the invoice number (allocated once per code by
//     the billing layer, spec B3.5) and the issue date, and calls [Build].
//     Build validates every field (typed [*InvoiceError]), renders the
//     document deterministically (the same Invoice gives the same bytes,
//     so a resend is byte-identical) and runs [Check] on its own output:
//     a document with an error finding is never returned ([*CheckError]).
//  3. A correction is a new invoice of type 384 with a new number, the
//     corrected number in Corrects (BT-25), a [CorrectionReason] (GKV
//     Anhang 7, BT-22), the same code, VE-ID and service day, and the new
//     full amounts (spec B2.2).
//  4. [Check] runs the insurer's validation pipeline as far as it can run
//     in Go: CII D16B structure, EN 16931, XRechnung 2.2 and the DiGA
//     rules of ITSG dre0.sch (spec B2.1), returning [Finding]s with the
//     rules' own ids. `digakit invoice check FILE [--json]` exposes it.
//  5. The insurer answers with a KoSIT validator report (VARL, spec B2.4);
//     [ParseReport] reads it (or an EDFC0-style FEH), and
//     [Report.Classify] / [Report.ClassifyFor] map it to a [Verdict] for
//     the invoice state machine (spec B3.7): accepted, rejected_business,
//     rejected_format, mismatch or retry.
//  6. For dispatch by post (Versandart 3, spec B3.6), [RenderText] prints
//     a checked invoice as plain text.
//
// # DiGA rules applied by Build (spec B2.1)
//
//   - BT-24 guideline id [GuidelineID] (XRechnung 2.2 with extension);
//     type code 380, or 384 for corrections.
//   - Exactly one line: VE-ID as GlobalID schemeID XR01, Freischaltcode as
//     BuyerAssignedID schemeID XR02, DiGA name, quantity 1 C62, net price
//     equal to the line total.
//   - Seller, buyer and payee IKs as ID schemeID XR03; the payee defaults
//     to the seller and must differ from the buyer.
//   - BT-10 buyer reference "Leitweg-ID"; seller contact, address and
//     VAT id (schemeID VA) or tax number (FC); buyer address from the
//     insurer directory.
//   - Service day only in the header delivery event (the insurer rejects
//     a second copy in the line, DRE0-SCTT-6).
//   - Payment means 57 (standing agreement) without any account, card or
//     bank data; one empty payment terms description; no due date.
//   - Currency EUR; VAT category S with the rate from the catalogue. Tax
//     is net*rate rounded half-up to the cent ([TaxCents]); the reference
//     client rounds half-even, the two differ only on exact ties.
//   - Reverse charge (AE, 0 %) only with [Builder.AllowReverseCharge]: its
//     golden file passes the CII XSD and the EN 16931 (DiGA) and
//     XRechnung rule sets, but whether insurers accept AE for DiGA is
//     unverified (spec open point 12).
//
// # Check
//
// Rule ids are those of the sources, so that a finding can be looked up
// there:
//
//   - DRE0-* from dre0.sch, all 41 assertions (DRE0-UPD-1..3 as info);
//   - EN 16931 CII 1.3.7 with the ITSG DiGA patch: BR-01..BR-16,
//     BR-21..BR-27, BR-53, BR-CO-04/10/13/14/15/16/26, BR-S-02/05/08/09,
//     BR-AE-02/05/08/09/10, BR-CL-11/14/21, BR-DEC-09/12/13/14/15/18/19/20,
//     CII-DT-097 and the warning CII-SR-087;
//   - XRechnung 2.2.0 (Schematron 1.7.3): BR-DE-1..9, 14..17, 18-a, 19,
//     21, 23-a, 26..28, BR-DEX-05/06;
//   - digakit's own: "XML" (not well-formed, too large, DTD), "XSD" (the
//     CII D16B structure: element names, order and cardinality,
//     attributes, text, decimal/date/boolean content; the tables are
//     generated from the schema by internal/ciigen) and "DIGAKIT-FSC-1"
//     (a warning for a Freischaltcode whose Base32Check1 check character
//     is wrong; dre0.sch does not test it, and the ITSG samples fail it).
//
// Each rule mirrors its source's test, quirks included (DRE0-SCTT-6
// compares with an always-empty path; BR-DEC-* count characters after the
// "."). The one deliberate difference: DRE0-CORR-4 is checked in the
// exact Anhang 7 form, stricter than the insurer's regex. Not implemented:
// the other EN 16931 syntax-restriction warnings (CII-SR-*), code-list
// rules beyond the scheme ids, and rules about allowances, charges,
// prepaid amounts and other VAT categories, which a DiGA invoice does not
// use. The tests run the real EN 16931 and XRechnung rule sets with
// Saxon-HE, and xmllint with the XSD, on every golden file and on every
// case of [github.com/digakit/digakit/kassenapi/xrechnung/xrechnungtest.NegativeCases],
// and require the same error rules; dre0.sch itself cannot run offline,
// so each of its assertions has a negative case instead.
//
// # Security
//
// The Freischaltcode points to a prescription and therefore to health
// data. No error, finding message or String method of this package
// contains it: [Invoice.String] and [Report.String] redact it,
// [Message.SafeText] and [FEH.SafeText] replace code-like text of the
// insurer's messages. Outside XML is read with a size limit
// ([MaxDocumentSize]), a depth limit and without DTDs.
//
// # Sources
//
// Spec kassenapi.md part B: B2.1 (invoice), B2.2 (corrections), B2.4
// (VARL report), B3.7 (report handling), B3.10 (API), B6 X1-X5 and F1
// (tests). Rule sources in the shared test data: ITSG
// validator-configuration-diga dre0.sch and scenarios.xml, CEN EN 16931
// CII 1.3.7, KoSIT XRechnung CII 2.2.0 (1.7.3), UN/CEFACT CII D16B XSD,
// KoSIT report.xsd.
package xrechnung
