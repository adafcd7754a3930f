package kassenapi

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"
)

// FuzzParseDirectory: no panic on any XML or ZIP input; an accepted
// directory has at least one usable entry, only valid prefixes and IKs,
// and Lookup never panics. (Determinism of the digest is a unit test: a
// second parse here would double the cost of every minimization step.)
func FuzzParseDirectory(f *testing.F) {
	// Compact seeds: large seeds make the fuzzer spend its time minimizing.
	// The golden files in testdata/directory are covered by the unit tests.
	entry := func(attrs, prefix, endpoint string) string {
		return `<n1:Krankenkasseninformation Nummer="I1"` + attrs + `><b:Kostentraegerkuerzel>` + prefix + `</b:Kostentraegerkuerzel>` +
			`<b:Kostentraegerkennung>101234560</b:Kostentraegerkennung><b:Name_des_Kostentraegers>N</b:Name_des_Kostentraegers>` +
			`<b:IK_des_Rechnungsempfaengers>101234560</b:IK_des_Rechnungsempfaengers><b:IK_Abrechnungsstelle>660500345</b:IK_Abrechnungsstelle>` +
			`<b:Endpunkt_Kommunikationsstelle>` + endpoint + `</b:Endpunkt_Kommunikationsstelle><b:Versandart>1</b:Versandart>` +
			`<b:Kontaktdaten_Technisch_Telefon>1</b:Kontaktdaten_Technisch_Telefon><b:Kontaktdaten_Technisch_EMail>a@b</b:Kontaktdaten_Technisch_EMail></n1:Krankenkasseninformation>`
	}
	doc := func(entries ...string) []byte {
		return []byte(`<n1:Kostentraeger_Mappingverzeichnis xmlns:n1="` + NamespaceMVZv3 + `" xmlns:b="` + NamespaceBasisv3 + `">` +
			strings.Join(entries, "") + `</n1:Kostentraeger_Mappingverzeichnis>`)
	}
	seeds := [][]byte{
		doc(entry("", "ZZ", "diga.kasse.example")),
		doc(entry(` gueltig_bis="2022-06-19" nachfolge_kostentraegerkuerzel="ZX"`, "ZY", "https://diga.kasse.example/x/"),
			entry(` insolvenz="J" gueltig_ab="2020-06-19"`, "ZX", "127.0.0.1:8443"), entry("", "ZZ", "3")),
		doc(entry("", "AA", "diga.kasse.example"), entry("", "AA", "diga.kasse.example")),
	}
	for _, s := range seeds {
		f.Add(s)
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("Krankenkassenverzeichnis_DiGA.xml")
		w.Write(s)
		zw.Close()
		f.Add(buf.Bytes())
	}
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><Kostentraeger_Mappingverzeichnis xmlns="` + NamespaceMVZv3 + `"/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, probs, err := DirectoryOptions{AllowTestEndpoints: len(b)%2 == 0}.Parse(b)
		if err != nil {
			if d != nil {
				t.Fatal("directory with error")
			}
			return
		}
		if d.Usable() == 0 || d.Len() > d.FileEntries() {
			t.Fatalf("usable %d len %d file %d", d.Usable(), d.Len(), d.FileEntries())
		}
		for _, p := range probs {
			if p.Index < 0 || p.Index >= d.FileEntries() || p.Field == "" || p.Reason == "" {
				t.Fatalf("bad problem %+v", p)
			}
		}
		day := MustDate("2024-06-01")
		for _, e := range d.Entries() {
			if !isPrefix(e.Prefix) || !IsIK(e.IK) || !IsIK(e.BillingIK) || !IsIK(e.ClearingIK) || e.Dispatch < 1 || e.Dispatch > 3 {
				t.Fatalf("invalid entry kept: %+v", e)
			}
			_, _ = d.Route(e.Prefix, day)
			_, _ = d.Route(e.SuccessorPrefix, e.ValidUntil.AddDays(1))
		}
	})
}
