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
// [DirectoryServer.SetEntries] or [DirectoryServer.AddVersion] and
// [DirectoryServer.UseVersion]; faults with [DirectoryServer.SetFault]
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
// endpoints carry an IP address and a port.
package kassenapitest
