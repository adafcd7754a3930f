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
//     the T-procedures TDFC0/TDRE0; the insurer answers them with the
//     errors of GKV Anhang 5 "Fehlerausgaben". They are refused with
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
//     "Last-known-good", "Change detection"); [NewDirectoryUpdater] wires
//     it for the directory. [HTTPSource] fetches raw XML or ZIP with
//     If-None-Match and If-Modified-Since ([FileSource] and [BytesSource]
//     serve local copies); the SHA-256 of the unpacked payload detects
//     change; [DirectoryGuard] refuses suspicious files (no usable entry,
//     fewer than 80 % of the entries, more than 20 % of the prefixes gone)
//     unless an operator calls [Updater.ForceAccept]; the accepted snapshot
//     is swapped atomically ([Updater.Current] is lock-free) and persisted
//     to a [SnapshotStore] ([FileSnapshotStore]) from which the next start
//     loads it, so a restart works without network; with no snapshot at
//     all [Updater.Get] returns [ErrDirectoryUnavailable]. Changes reach
//     OnChange as a [DirectoryChange] with its [DirectoryDiff] (prefixes
//     added and removed, changed IKs, endpoints and Versandart); rejected
//     downloads reach OnError as an [*UpdateError] while the old snapshot
//     stays current. The canonical [Directory.Digest] suppresses change
//     reports for white-space-only edits.
//  6. The updater starts no goroutines. Call [Updater.Update] or
//     [Updater.Refresh] from a scheduler (the reference server uses a River
//     job), or run [Updater.Run] (24 h ± 10 % jitter) in a goroutine of
//     your own and stop it with [Updater.Close]. An unknown prefix or a
//     missing certificate should call [Updater.RefreshIfStale]: it is
//     single-flight and fetches at most once per 10 minutes.
//
// Errors never contain a Freischaltcode: the code errors name only the
// position and code point of a foreign character, and directory and
// updater errors carry prefixes, IKs and URLs, which are public.
//
// # Code check and invoice transport
//
// [New] builds a [Client] from a [Config]: the manufacturer IK and DiGA-ID,
// the own ITSG [Identity] ([LoadIdentity]: RSA key plus .p7c with chain,
// previous key pairs kept for roll-over), a [DirectoryProvider] and a
// [KeyListProvider] ([ParseKeyList] reads the ITSG "annahme-rsa4096.key"
// list, A2.7; [KeyList.EncryptionCert] picks the certificate of a clearing
// IK valid now with the latest NotBefore; [NewKeyListUpdater] keeps it
// current with the same [Updater] as the directory). [Client.ValidateCode] then
// (A2.5–A2.9, A3 item 4):
//
//  1. refuses test codes unless Config.AllowTestCodes (they go as TDFC0 via
//     Config.TestPrefix; [Client.ValidateTestCode] names the prefix);
//  2. routes the prefix with the directory (one refresh on an unknown
//     prefix, at most every 10 minutes) and picks the encryption
//     certificate of IK_Abrechnungsstelle (one key-list refresh, else
//     [ErrNoCertificate], class Config);
//  3. builds the EDFC0 request ([BuildCheckRequest], valid against
//     EDFC0-Pruefung_3.0.0.xsd), signs it RSASSA-PSS SHA-256 salt 32 and
//     encrypts it RSAES-OAEP SHA-256/MGF1-SHA-256 + AES-256-CBC (package
//     internal/cms, the SECON profile of GKV Anlage 16, A2.6);
//  4. POSTs multipart/form-data (iksender, ikempfaenger, verfahren,
//     nutzdaten) with Content-Length over TLS ≥ 1.2 with the client
//     certificate and its chain, HTTP/1.1, per-endpoint timeouts
//     (Config.EndpointTimeouts, default 30 s; 60 s for invoices);
//  5. reads the answer leniently ([ParseReply]: sniffed boundary, raw CMS,
//     case-insensitive names, 4 MiB cap), decrypts BER or DER with the
//     current or a previous key, verifies the insurer's signature per
//     [VerifyMode] (Lenient by default: a failure is a warning and a log
//     line; Strict: [CryptoError]) and parses ANT/FEH of v1/v2/v3 in any
//     declared encoding without DTDs ([ParseCheckMessage]);
//  6. checks the answer against the request (A4: procedure, our IK, the
//     code, an 8-digit VE-ID starting with our DiGA-ID, a plausible service
//     day) and returns a [CodeCheck] with the DiGA-VE-ID and the day of
//     service.
//
// Failures are typed and classed ([ErrorClass], [ClassOf]): [InsurerError]
// carries the Fehlernummern (100/101/102 → [ClassRejected] with
// [ErrCodeExpired], [ErrCodeCancelled], [ErrCodeNotFound]; 200 →
// [ClassInternal], [ErrRequestRejected]; 201/202 → [ClassTransient],
// [ErrInsurerUnavailable]); [TransportError] says whether the request was
// sent (Sent=false → Transient; sent without answer → [ClassOutcomeUnknown];
// TLS alerts such as unknown_ca → [ClassConfig] with a hint to send the
// full chain); [ProtocolError] and [CryptoError] on an answer are
// OutcomeUnknown, never "code invalid". Code checks are retried at most 3
// times (1 s, 2 s, ±20 % jitter, Retry-After honoured, within the context
// deadline) only when nothing was sent, on HTTP 429/502/503/504 or on FEH
// 201/202; a circuit breaker per endpoint URL opens after 5 consecutive
// Transient or OutcomeUnknown exchanges for 60 s and lets one trial
// through; at most Config.MaxConcurrentPerEndpoint exchanges (default 128)
// are in flight per endpoint, which bounds memory under bursts. Every HTTP
// exchange yields an [Exchange] protocol record (TA
// §4.4), on success in CodeCheck.Exchanges, on failure via [ExchangesOf].
// [Client.SubmitInvoice] sends a ready XRechnung via EDRE0/TDRE0 over the
// same path and returns the decrypted, verified answer ([InvoiceAnswer]);
// it retries only when nothing was sent. Error strings, Exchanges and log
// records never contain a plain code, a key or the insurer's Fehlertext.
// The Client is safe for concurrent use and starts no goroutines.
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
