package kassenapitest

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/digakit/digakit/kassenapi"
)

// Identities of the fake insurers (spec A5).
const (
	ManufacturerIK = "990000018" // IK of the fake manufacturer
	DiGAID         = "12345"     // DiGA-ID of the fake manufacturer's app
)

// DirectoryFileName is the member name inside a directory ZIP.
const DirectoryFileName = "Krankenkassenverzeichnis_DiGA.xml"

// EndpointOf turns a server URL such as "https://127.0.0.1:4431" (optionally
// with the "/diga" path) into the Endpunkt_Kommunikationsstelle value
// "127.0.0.1:4431" that a directory entry carries. Parse such directories
// with kassenapi.DirectoryOptions{AllowTestEndpoints: true}.
func EndpointOf(serverURL string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(serverURL, "https://"), "http://")
	s = strings.TrimSuffix(strings.TrimRight(s, "/"), "/diga")
	return s
}

// DefaultDirectoryEntries returns the six entries of the spec A5 table.
// endpointA and endpointB are the Endpunkt values of the two fake
// Kommunikationsstellen (see EndpointOf):
//
//	ZZ 990000101 / 990000200  fake A  normal, Versandart 1
//	ZU 990000102 / 990000300  fake B  second Kommunikationsstelle
//	ZY 990000103 / 990000200  fake A  gueltig_bis in the past, successor ZX
//	ZX 990000104 / 990000200  fake A  insolvenz="J"
//	ZW 990000105 / 990000200  fake A  Versandart 2, with e-mail
//	ZV 990000106 / 990000200  "3"     Versandart 3, with address
func DefaultDirectoryEntries(endpointA, endpointB string) []kassenapi.Entry {
	base := func(prefix, ik, clearing, name, endpoint string) kassenapi.Entry {
		return kassenapi.Entry{
			Prefix: prefix, IK: ik, Name: name, BillingIK: ik, ClearingIK: clearing,
			CommunicationName: "DIGA-FAKE-" + clearing[len(clearing)-3:],
			Endpoint:          endpoint, Dispatch: kassenapi.DispatchAPI,
			TechPhone: "+49 30 0000000", TechEmail: "technik@kasse.example",
		}
	}
	zz := base("ZZ", "990000101", "990000200", "Fake Krankenkasse ZZ", endpointA)
	zu := base("ZU", "990000102", "990000300", "Fake Krankenkasse ZU", endpointB)
	zy := base("ZY", "990000103", "990000200", "Fake BKK ZY (fusioniert)", endpointA)
	zy.ValidFrom = kassenapi.MustDate("2020-08-19")
	zy.ValidUntil = kassenapi.MustDate("2022-06-19")
	zy.SuccessorPrefix = "ZX"
	zx := base("ZX", "990000104", "990000200", "Fake BKK ZX (insolvent)", endpointA)
	zx.Insolvent = true
	zw := base("ZW", "990000105", "990000200", "Fake IKK ZW (E-Mail)", endpointA)
	zw.Dispatch = kassenapi.DispatchEmail
	zw.Email = "rechnung@zw.example"
	zv := base("ZV", "990000106", "990000200", "Fake AOK ZV (Post)", "3")
	zv.CommunicationName = ""
	zv.Dispatch = kassenapi.DispatchPost
	zv.Address = kassenapi.PostalAddress{Addition: "Abrechnung DiGA", Street: "Postfach", HouseNumber: "12 34 56", PostalCode: "10115", City: "Berlin"}
	return []kassenapi.Entry{zz, zu, zy, zx, zw, zv}
}

// DirectoryXML generates a v3 directory (namespace EDRE0_MVZ/3.0, the
// fixed version and gueltigab) for entries, in schema order. Fields are
// written as given, so tests can build broken entries too; with valid
// values the output validates against EDRE0-MVZ_3.0.0.xsd.
func DirectoryXML(entries []kassenapi.Entry) []byte { return DirectoryXMLVersion(entries, 3) }

// DirectoryXMLVersion generates a v3 or v2 directory. v2 has no
// insolvenz/gueltig_*/nachfolge attributes; they are left out.
func DirectoryXMLVersion(entries []kassenapi.Entry, version int) []byte {
	ns, bas, ver, gab := kassenapi.NamespaceMVZv3, kassenapi.NamespaceBasisv3, "003.000.000", "2022-08-25"
	if version == 2 {
		ns, bas, ver, gab = kassenapi.NamespaceMVZv2, kassenapi.NamespaceBasisv2, "002.000.000", "2020-07-01"
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<n1:Kostentraeger_Mappingverzeichnis xmlns:n1="%s" xmlns:bas="%s" version="%s" gueltigab="%s">`+"\n", ns, bas, ver, gab)
	for i, e := range entries {
		fmt.Fprintf(&b, `  <n1:Krankenkasseninformation Nummer="ID%d"`, i+1)
		if version != 2 {
			if e.Insolvent {
				b.WriteString(` insolvenz="J"`)
			}
			if !e.ValidFrom.IsZero() {
				fmt.Fprintf(&b, ` gueltig_ab="%s"`, e.ValidFrom)
			}
			if !e.ValidUntil.IsZero() {
				fmt.Fprintf(&b, ` gueltig_bis="%s"`, e.ValidUntil)
			}
			if e.SuccessorPrefix != "" {
				fmt.Fprintf(&b, ` nachfolge_kostentraegerkuerzel="%s"`, xmlEsc(e.SuccessorPrefix))
			}
		}
		b.WriteString(">\n")
		field := func(name, v string, optional bool) {
			if optional && v == "" {
				return
			}
			fmt.Fprintf(&b, "    <bas:%s>%s</bas:%s>\n", name, xmlEsc(v), name)
		}
		field("Kostentraegerkuerzel", e.Prefix, false)
		field("Kostentraegerkennung", e.IK, false)
		field("Name_des_Kostentraegers", e.Name, false)
		field("IK_des_Rechnungsempfaengers", e.BillingIK, false)
		field("IK_Abrechnungsstelle", e.ClearingIK, false)
		field("Name_Kommunikationsstelle", e.CommunicationName, true)
		field("Endpunkt_Kommunikationsstelle", e.Endpoint, false)
		field("Versandart", strconv.Itoa(int(e.Dispatch)), false)
		field("EMail_Kostentraeger", e.Email, true)
		field("Postalische_Zusaetze", e.Address.Addition, true)
		field("Strasse_Postfach", e.Address.Street, true)
		field("Hausnummer_Postfachnummer", e.Address.HouseNumber, true)
		field("PLZ", e.Address.PostalCode, true)
		field("Ort", e.Address.City, true)
		field("Kontaktdaten_Technisch_Telefon", e.TechPhone, false)
		field("Kontaktdaten_Technisch_EMail", e.TechEmail, false)
		b.WriteString("  </n1:Krankenkasseninformation>\n")
	}
	b.WriteString("</n1:Kostentraeger_Mappingverzeichnis>\n")
	return b.Bytes()
}

func xmlEsc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// zipEpoch is the fixed modification time of generated ZIP members, so
// that the same XML always gives the same ZIP bytes (stable ETags).
var zipEpoch = time.Date(2023, 4, 24, 0, 0, 0, 0, time.UTC)

// ZipDirectory packs a directory XML into a ZIP with one member
// DirectoryFileName, as the publication site serves it. The output is
// deterministic.
func ZipDirectory(xmlBytes []byte) []byte {
	return ZipFiles(map[string][]byte{DirectoryFileName: xmlBytes})
}

// ZipFiles builds a deterministic ZIP with the given members (sorted by
// name), e.g. to test archives with two XML members or path tricks.
func ZipFiles(files map[string][]byte) []byte {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: zipEpoch})
		if err != nil {
			panic(err) // only on programming errors: bytes.Buffer never fails
		}
		_, _ = w.Write(files[n])
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
