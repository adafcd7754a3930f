// Package kassenapi implements the German statutory insurers' DiGA API
// ("Kassen-API"): checking a Freischaltcode with the insurer, finding the
// insurer's endpoint in the published directory, and transporting invoices.
// The contract is the digakit spec kassenapi.md, part A; section numbers
// below (A2.1 …) refer to it. The GKV sources are the "Technische Anlage für
// die elektronische Abrechnung der DiGA nach § 33a SGB V" (TA) V2.0 with its
// Anhänge, and the ITSG schemas EDFC0 and EDRE0-MVZ.
//
// # Terms
//
// A Freischaltcode (also Rezeptcode) is the 16-character code an insured
// person receives from the statutory insurer (Krankenkasse) for one DiGA
// prescription. Its first two characters are the Kostentraegerkuerzel
// (here: prefix), the short key of the insurer (Kostentraeger = the payer).
// The Kostentraegerkennung is the insurer's IK (Institutionskennzeichen, 9
// digits); the IK_Abrechnungsstelle is the IK of the clearing office that
// runs the endpoint for the insurer. The endpoint directory
// (Kostenträger-Mappingverzeichnis, MVZ) maps prefixes to these IKs, the
// endpoint and the invoice channel (Versandart).
//
// # Flow
//
//  1. Parse the code the user typed or pasted with [ParseCode] (A2.1, A2.2).
//     Normalisation drops spaces, hyphens and non-breaking spaces and
//     upper-cases; the code must have 16 characters of A–Z2–7 and a valid
//     check character "Base32Check1" (GKV Anhang 3), which [CheckChar]
//     computes. A bad code never reaches the network. Errors are typed:
//     [ErrCodeLength], [*CharsetError] ([ErrCodeCharset]) and
//     [ErrCodeChecksum]. [Code] never prints its plain value: String,
//     Format, GoString, LogValue and MarshalText all show the redacted form
//     "CH************AJ"; only [Code.Plain] returns the characters, for the
//     wire and the billing database.
//  2. Test codes (prefix 77, GKV Anhang 6 "Pseudo-Codes", A2.3) are only for
//     the T-procedures TDFC0/TDRE0. They are refused with
//     [ErrTestCodeNotAllowed] unless the caller opts into test mode
//     ([ParseCodeMode] with [CodeModeTest]); users asked that a test code
//     never unlock a production app (A2.10 item 9).
//  3. Resolve the insurer with [Directory.Lookup] (prefix and day, A2.4):
//     it follows mergers through nachfolge_kostentraegerkuerzel (at most
//     [MaxSuccessorHops] hops, cycles detected), refuses insolvent insurers
//     ([ErrInsurerInsolvent]) and entries without an API endpoint
//     ([ErrNoElectronicEndpoint]), and returns an [Entry] with the IKs in
//     their roles: HTTP ikempfaenger and CMS recipient = ClearingIK, XML
//     empfaenger = IK, URL = "https://" + endpoint + "/diga".
//  4. The directory comes from [ParseDirectory] (raw XML or ZIP, v3 and v2
//     namespaces, parsed by namespace URI, hardened: no DTD, size and depth
//     caps, own charset tables). Every entry is validated alone: a bad
//     prefix, IK or Versandart or a duplicate prefix drops that entry with
//     an [EntryProblem] and the rest stays usable; the file as a whole is
//     rejected ([*DirectoryError]) only when nothing usable is left.
//     [DiffDirectories] compares two snapshots.
//  5. An [Updater] keeps the directory current (A3 "Updater guards",
//     "Last-known-good", "Change detection"): [HTTPSource] fetches with
//     ETag and Last-Modified, the SHA-256 of the unpacked payload detects
//     change, [DirectoryGuard] refuses suspicious files (no usable entry,
//     fewer than 80 % of the entries, more than 20 % of the prefixes
//     gone), the accepted snapshot is swapped atomically and persisted to a
//     [SnapshotStore] ([FileSnapshotStore]) from which the next start loads
//     it, so a restart works without network. The updater starts no
//     goroutines: call [Updater.Refresh] from a scheduler (the reference
//     server uses a River job) or run [Updater.Run] in a goroutine of your
//     own; [Updater.Close] stops it.
//
// # Code check and invoice transport
//
// PLACEHOLDER (helper B): the EDFC0 code check client, SECON CMS and the
// EDRE0 invoice transport are described here.
//
// # Unverified facts
//
// The directory URL (https://kkv.gkv-diga.de/Download/KrankenkassenDatei.aspx)
// and its format (ZIP or raw XML) are unverified, so both are accepted and
// the URL is configuration. The routing meaning of gueltig_ab, gueltig_bis,
// nachfolge_kostentraegerkuerzel and insolvenz is a design decision of the
// spec (A2.4), not a published rule.
//
// The fake insurer and the directory server for tests live in package
// kassenapitest.
package kassenapi
