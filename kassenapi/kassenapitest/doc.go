// Package kassenapitest provides in-process fakes of the outside systems of
// package kassenapi, for digakit's own tests, for vendors' tests and for
// "digakit sandbox". They are real servers on 127.0.0.1 (httptest, with TLS
// where the real peer has it) that check what they receive as strictly as
// the real peer (spec kassenapi.md A5).
//
// # Directory server
//
// [DirectoryServer] plays the publication site of the endpoint directory
// (Kostenträger-Mappingverzeichnis, spec A2.4): it serves the current
// version as raw XML ([DirectoryXMLPath]) and as ZIP ([DirectoryZIPPath],
// the shape of https://kkv.gkv-diga.de/Download/KrankenkassenDatei.aspx),
// with ETag and Last-Modified and 304 answers to conditional requests.
// Versions are switched with [DirectoryServer.Set],
// [DirectoryServer.SetEntries] or [DirectoryServer.UseVersion]; the
// variants of [DirectoryVersions] are preloaded ([VersionPrefixAdded],
// [VersionPrefixRemoved], [VersionEndpointChanged], [VersionIKChanged],
// [VersionMerger], [VersionInsolvency], [VersionV2]) and more can be added
// with [DirectoryServer.AddVersion]. Faults are set with
// [DirectoryServer.SetFault]
// (truncated file, not XML, wrong namespace, all entries bad, empty list,
// ZIP with two XML members, 404, 500, slow body). Request and 304 counters
// let tests assert conditional fetching.
//
// [DirectoryXML] generates a valid v3 directory (EDRE0-MVZ_3.0.0.xsd) for
// any entries, and [DefaultDirectoryEntries] gives the six fake insurers
// of spec A5 (ZZ normal, ZU second Kommunikationsstelle, ZY merged into
// ZX, ZX insolvent, ZW invoices by e-mail, ZV by post with endpoint "3").
// Point them at running fakes with [EndpointOf] and parse the result with
// kassenapi.DirectoryOptions{AllowTestEndpoints: true}, since loopback
// endpoints carry an IP address and a port.//
// # Fake insurer
//
// [Server] ([NewServer] in tests, [Start] for digakit sandbox) plays two
// Kommunikationsstellen: fake A (clearing IK [ClearingIKA], prefixes ZZ,
// ZY, ZX, ZW) and fake B ([ClearingIKB], ZU), each an HTTPS server on
// 127.0.0.1 that requires a client certificate chaining to the test root
// ([ClientCertRequired]; a leaf-only chain is refused, as Bitmarck does).
// POST /diga is validated like a strict insurer (spec A5): Content-Length
// (411 for chunked bodies), the four multipart fields in order with
// nutzdaten as application/octet-stream, ikempfaenger = its clearing IK,
// the SECON profile of internal/cms (OAEP SHA-256/MGF1-SHA-256 and
// AES-256-CBC only, PSS SHA-256 salt 32 signature verified against the key
// list), and the EDFC0 v3 request (version, gueltigab, IK roles,
// verfahrenskennung, checksum); any content failure is FEH 200 with an
// XPath. Answers are signed by the clearing office and encrypted to the
// manufacturer, in BER with indefinite lengths like BouncyCastle. The seven
// pseudo codes ([TestCodeValid] …) behave per spec A2.3 under TDFC0;
// [Server.AddCode] registers more codes (valid with VE suffix and service
// day, expired, cancelled, unknown) and [NewCode] makes checksum-valid
// ones. [Server.SetFault] and [Server.SetCodeFault] inject the faults of
// [FaultKind] (latency, hang, accept-then-drop, empty body, no boundary,
// HTML 502, HTTP statuses with Retry-After, FEH 201/202, wrong namespace,
// bad encoding, wrong code or VE-ID, broken CMS, unknown signer, previous
// certificate, unknown_ca), optionally for the next N calls or one call
// number only.
// [Server.Calls] and [Server.CountFor] account for every request. The
// test PKI ([PKI], [DefaultPKI]: RSA-2048 by default, RSA-4096 keys can be
// passed in) has a root and an issuing CA in the ITSG shape, PSS-signed
// certificates without KeyUsage and with OU=IK…, the manufacturer's
// current and previous identity, and an ITSG-style key list
// ([PKI.KeyListFile]) with an expired older certificate, a block without
// OU=IK and a block of broken base64. [Server.ClientConfig] returns a
// kassenapi.Config wired to the fake, and [Server.Info] the JSON member
// that digakit sandbox prints under "insurer".
package kassenapitest
