package kassenapi

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func readDirTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "directory", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParseDirTestdata(t testing.TB, name string) *Directory {
	t.Helper()
	d, _, err := ParseDirectory(readDirTestdata(t, name))
	if err != nil {
		t.Fatalf("ParseDirectory(%s): %v", name, err)
	}
	return d
}

// TestDirectoryLookupITSGMerger is the spec A2.4 vector from the ITSG sample.
func TestDirectoryLookupITSGMerger(t *testing.T) {
	d := mustParseDirTestdata(t, "v3_itsg_merger.xml")
	tests := []struct {
		name   string
		prefix string
		day    string
		want   string // IK of the entry, "" when none
		err    error
		hops   []string
	}{
		{"ZY while valid", "ZY", "2021-01-01", "990000103", nil, nil},
		{"ZY first day", "ZY", "2020-08-19", "990000103", nil, nil},
		{"ZY last day", "ZY", "2022-06-19", "990000103", nil, nil},
		{"ZY after end follows to insolvent ZX", "ZY", "2022-07-01", "990000104", ErrInsurerInsolvent, []string{"ZX"}},
		{"ZY before start", "ZY", "2020-08-18", "", ErrUnknownPrefix, nil},
		{"ZX insolvent while valid", "ZX", "2021-01-01", "990000104", ErrInsurerInsolvent, nil},
		{"ZX insolvent after end", "ZX", "2023-01-01", "990000104", ErrInsurerInsolvent, nil},
		{"ZZ open", "ZZ", "1999-01-01", "990000101", nil, nil},
		{"unknown", "QQ", "2021-01-01", "", ErrUnknownPrefix, nil},
		{"case-sensitive", "zz", "2021-01-01", "", ErrUnknownPrefix, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := d.Route(tt.prefix, MustDate(tt.day))
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				var re *RouteError
				if !errors.As(err, &re) {
					t.Fatalf("error %T is not *RouteError", err)
				}
			}
			if r.Entry.IK != tt.want {
				t.Errorf("IK = %q, want %q", r.Entry.IK, tt.want)
			}
			if len(r.Hops) != len(tt.hops) {
				t.Errorf("hops = %v, want %v", r.Hops, tt.hops)
			}
		})
	}
}

func TestParseDirectoryV3AllAttributes(t *testing.T) {
	d := mustParseDirTestdata(t, "v3_all_attributes.xml")
	if d.Version() != 3 || d.Len() != 7 || d.Usable() != 7 || len(d.Problems()) != 0 || len(d.Warnings()) != 0 {
		t.Fatalf("version %d len %d usable %d problems %v warnings %v", d.Version(), d.Len(), d.Usable(), d.Problems(), d.Warnings())
	}
	ce, err := d.Lookup("CE", MustDate("2024-01-01"))
	if err != nil {
		t.Fatal(err)
	}
	want := Entry{Index: 3, Nummer: "ID4", Prefix: "CE", IK: "103000001", Name: "Gamma AOK (Post)", BillingIK: "103000001",
		ClearingIK: "103000001", CommunicationName: "AOK", Endpoint: "itscare.da-api.aok.de", URL: "https://itscare.da-api.aok.de/diga",
		Dispatch: DispatchPost, Email: "rechnung@kasse.example",
		Address:   PostalAddress{Addition: "Abt. DiGA-Rechnungen", Street: "Musterstrasse", HouseNumber: "12a", PostalCode: "10115", City: "Berlin"},
		TechPhone: "0800 1234567", TechEmail: "diga@clearing.example"}
	if ce != want {
		t.Errorf("CE =\n%+v\nwant\n%+v", ce, want)
	}
	// History of DE: old entry until 2023-12-31 with successor EE, a new DE
	// entry from 2024-01-01 (not overlapping, so both are kept).
	tests := []struct {
		day  string
		ik   string
		hops int
	}{
		{"2023-12-31", "104000001", 0},
		{"2024-01-01", "106000001", 0},
		{"2020-01-01", "104000001", 0},
	}
	for _, tt := range tests {
		r, err := d.Route("DE", MustDate(tt.day))
		if err != nil || r.Entry.IK != tt.ik || len(r.Hops) != tt.hops {
			t.Errorf("DE on %s = %s hops %v, %v; want %s", tt.day, r.Entry.IK, r.Hops, err, tt.ik)
		}
	}
	if _, err := d.Lookup("DE", MustDate("2019-12-31")); !errors.Is(err, ErrUnknownPrefix) {
		t.Errorf("DE before start: %v", err)
	}
	if _, err := d.Lookup("EE", MustDate("2023-12-31")); !errors.Is(err, ErrUnknownPrefix) {
		t.Errorf("EE before start: %v", err)
	}
}

// TestDirectorySuccessorChain covers hops, the hop limit and cycles.
func TestDirectorySuccessorChain(t *testing.T) {
	mk := func(prefix, until, succ string) string {
		attrs := ""
		if until != "" {
			attrs += ` gueltig_bis="` + until + `"`
		}
		if succ != "" {
			attrs += ` nachfolge_kostentraegerkuerzel="` + succ + `"`
		}
		return `<n1:Krankenkasseninformation Nummer="I` + prefix + `"` + attrs + `><b:Kostentraegerkuerzel>` + prefix +
			`</b:Kostentraegerkuerzel><b:Kostentraegerkennung>101234560</b:Kostentraegerkennung><b:Name_des_Kostentraegers>N</b:Name_des_Kostentraegers>` +
			`<b:IK_des_Rechnungsempfaengers>101234560</b:IK_des_Rechnungsempfaengers><b:IK_Abrechnungsstelle>660500345</b:IK_Abrechnungsstelle>` +
			`<b:Endpunkt_Kommunikationsstelle>diga.kasse.example</b:Endpunkt_Kommunikationsstelle><b:Versandart>1</b:Versandart>` +
			`<b:Kontaktdaten_Technisch_Telefon>1</b:Kontaktdaten_Technisch_Telefon><b:Kontaktdaten_Technisch_EMail>a@b</b:Kontaktdaten_Technisch_EMail></n1:Krankenkasseninformation>`
	}
	doc := func(entries ...string) []byte {
		return []byte(`<n1:Kostentraeger_Mappingverzeichnis xmlns:n1="` + NamespaceMVZv3 + `" xmlns:b="` + NamespaceBasisv3 + `">` +
			strings.Join(entries, "") + `</n1:Kostentraeger_Mappingverzeichnis>`)
	}
	day := MustDate("2024-06-01")
	// Chain of 5 hops: A>B>C>D>E>F (F open).
	chain := doc(mk("AA", "2020-01-01", "BB"), mk("BB", "2020-01-01", "CC"), mk("CC", "2020-01-01", "DD"),
		mk("DD", "2020-01-01", "EE"), mk("EE", "2020-01-01", "FF"), mk("FF", "", ""))
	d, _, err := ParseDirectory(chain)
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Route("AA", day)
	if err != nil || r.Entry.Prefix != "FF" || strings.Join(r.Hops, ">") != "BB>CC>DD>EE>FF" {
		t.Fatalf("5 hops: %+v %v", r.Hops, err)
	}
	// Six hops is one too many.
	long := doc(mk("ZA", "2020-01-01", "AA"), mk("AA", "2020-01-01", "BB"), mk("BB", "2020-01-01", "CC"), mk("CC", "2020-01-01", "DD"),
		mk("DD", "2020-01-01", "EE"), mk("EE", "2020-01-01", "FF"), mk("FF", "", ""))
	d, _, _ = ParseDirectory(long)
	_, err = d.Lookup("ZA", day)
	var re *RouteError
	if !errors.Is(err, ErrUnknownPrefix) || !errors.As(err, &re) || !re.Alert {
		t.Fatalf("6 hops: %v", err)
	}
	// Cycle AA>BB>AA; FF keeps the file usable.
	cyc := doc(mk("AA", "2020-01-01", "BB"), mk("BB", "2020-01-01", "AA"), mk("FF", "", ""))
	d, _, _ = ParseDirectory(cyc)
	_, err = d.Lookup("AA", day)
	if !errors.Is(err, ErrUnknownPrefix) || !errors.As(err, &re) || !re.Alert || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("cycle: %v", err)
	}
	// Ended without successor.
	ended := doc(mk("AA", "2020-01-01", ""), mk("FF", "", ""))
	d, probs, _ := ParseDirectory(ended)
	if _, err := d.Lookup("AA", day); !errors.Is(err, ErrUnknownPrefix) {
		t.Fatalf("ended: %v", err)
	}
	if e, err := d.Lookup("AA", MustDate("2020-01-01")); err != nil || e.Prefix != "AA" {
		t.Fatalf("ended, last day: %v", err)
	}
	if len(probs) != 1 || probs[0].Field != "gueltig_bis" || probs[0].Fatal {
		t.Errorf("DRE0-MVZ-1-1 problem = %+v", probs)
	}
	// Successor missing from the file.
	missing := doc(mk("AA", "2020-01-01", "QQ"), mk("FF", "", ""))
	d, _, _ = ParseDirectory(missing)
	if r, err := d.Route("AA", day); !errors.Is(err, ErrUnknownPrefix) || len(r.Hops) != 1 {
		t.Fatalf("missing successor: %v %v", r.Hops, err)
	}
}

func TestParseDirectoryV2(t *testing.T) {
	d := mustParseDirTestdata(t, "v2_plain.xml")
	if d.Version() != 2 || d.Len() != 2 {
		t.Fatalf("version %d len %d", d.Version(), d.Len())
	}
	e, err := d.Lookup("TK", MustDate("2023-04-24"))
	if err != nil || e.URL != "https://diga-api.tk.de/diga/api/public/rest/diga" {
		t.Fatalf("TK = %q, %v", e.URL, err)
	}
	// v2 namespace with a v3 version attribute: accepted with a warning.
	b := bytes.Replace(readDirTestdata(t, "v2_plain.xml"), []byte(`version="002.000.000"`), []byte(`version="003.000.000"`), 1)
	d, _, err = ParseDirectory(b)
	if err != nil || len(d.Warnings()) != 1 {
		t.Fatalf("v2 with v3 version: %v, warnings %v", err, d.Warnings())
	}
	// v2 root with v3 basis children: accepted with a warning.
	b = bytes.ReplaceAll(readDirTestdata(t, "v2_plain.xml"), []byte(NamespaceBasisv2), []byte(NamespaceBasisv3))
	d, _, err = ParseDirectory(b)
	if err != nil || len(d.Warnings()) != 1 || d.Len() != 2 {
		t.Fatalf("mixed namespaces: %v, warnings %v", err, d.Warnings())
	}
}

// TestParseDirectoryJunk: every bad entry is rejected on its own, the rest
// stays usable (spec A4, A2.10 item 6).
func TestParseDirectoryJunk(t *testing.T) {
	d, probs, err := ParseDirectory(readDirTestdata(t, "junk_real_world.xml"))
	if err != nil {
		t.Fatal(err)
	}
	type pr struct {
		index int
		field string
		fatal bool
	}
	want := []pr{
		{1, "Endpunkt_Kommunikationsstelle", false},
		{2, "Kostentraegerkennung", true},
		{5, "Versandart", true},
		{6, "Kostentraegerkuerzel", true},
		{8, "Endpunkt_Kommunikationsstelle", false},
		{9, "Endpunkt_Kommunikationsstelle", false},
		{10, "EMail_Kostentraeger", false},
		{11, "Kostentraegerkennung", true},
		{12, "gueltig_bis", false},
		{3, "Kostentraegerkuerzel", true},
		{4, "Kostentraegerkuerzel", true},
	}
	if len(probs) != len(want) {
		t.Fatalf("problems:\n%v", probs)
	}
	for i, w := range want {
		p := probs[i]
		if p.Index != w.index || p.Field != w.field || p.Fatal != w.fatal || p.Reason == "" {
			t.Errorf("problem %d = %+v, want %+v", i, p, w)
		}
	}
	var kept []string
	for _, e := range d.Entries() {
		kept = append(kept, fmt.Sprintf("%d:%s:%v", e.Index, e.Prefix, e.HasAPI()))
	}
	if got := strings.Join(kept, " "); got != "0:AA:true 1:AB:false 7:AF:true 8:AG:false 9:AH:false 10:AI:true 12:AK:true" {
		t.Errorf("kept = %s", got)
	}
	aa, err := d.Lookup("AA", MustDate("2024-01-01"))
	if err != nil || aa.Name != "BMW BKK" || aa.CommunicationName != "" || aa.URL != "https://diga.bitmarck-daten.de/diga" || aa.Endpoint != "diga.bitmarck-daten.de" {
		t.Errorf("AA = %+v, %v", aa, err)
	}
	ab, err := d.Lookup("AB", MustDate("2024-01-01"))
	if !errors.Is(err, ErrNoElectronicEndpoint) || ab.Prefix != "AB" || ab.URL != "" || !ab.Address.Complete() || ab.Dispatch != DispatchPost {
		t.Errorf("AB = %+v, %v", ab, err)
	}
	af, err := d.Lookup("AF", MustDate("2024-01-01"))
	if err != nil || af.URL != "https://diga.apimisc.de/diga" || len(d.Warnings()) != 1 {
		t.Errorf("AF = %q, %v, warnings %v", af.URL, err, d.Warnings())
	}
	for _, p := range []string{"AC", "AD", "AE", "AJ"} {
		if _, err := d.Lookup(p, MustDate("2024-01-01")); !errors.Is(err, ErrUnknownPrefix) {
			t.Errorf("dropped %s: %v", p, err)
		}
	}
	if d.FileEntries() != 13 || d.Usable() != 4 {
		t.Errorf("FileEntries %d Usable %d", d.FileEntries(), d.Usable())
	}
}

// TestEndpointNormalisation covers the URL vectors and rules of spec A2.4.
func TestEndpointNormalisation(t *testing.T) {
	tests := []struct {
		in, want  string
		allowTest bool
	}{
		{"diga.bitmarck-daten.de", "https://diga.bitmarck-daten.de/diga", false},
		{"diga-api.tk.de/diga/api/public/rest", "https://diga-api.tk.de/diga/api/public/rest/diga", false},
		{"  https://DIGA.KKH.DE/  ", "https://diga.kkh.de/diga", false},
		{"diga.kkh.de///", "https://diga.kkh.de/diga", false},
		{"3", "", false},
		{"", "", false},
		{"http://diga.kkh.de", "", false},
		{"ftp://diga.kkh.de", "", false},
		{"user:pw@diga.kkh.de", "", false},
		{"diga.kkh.de?x=1", "", false},
		{"diga.kkh.de#frag", "", false},
		{"localhost", "", false},
		{"localhost", "https://localhost/diga", true},
		{"127.0.0.1:8443", "", false},
		{"127.0.0.1:8443", "https://127.0.0.1:8443/diga", true},
		{"[::1]:8443", "https://[::1]:8443/diga", true},
		{"diga.kkh.de:443", "", false},
		{"diga.kkh.de:99999", "", true},
		{"1.2", "", false},
		{"-bad.example", "", false},
		{"diga kkh.de", "", false},
		{"diga.kkh.de/a b", "", false},
		{"diga.kkh.de/../x", "", false},
		{strings.Repeat("a", 190) + ".example.de", "", false},
	}
	for _, tt := range tests {
		got, err := EndpointURL(tt.in, tt.allowTest)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("EndpointURL(%q, %v) = %q, %v; want %q", tt.in, tt.allowTest, got, err, tt.want)
		}
		if err != nil && !errors.Is(err, ErrNoElectronicEndpoint) {
			t.Errorf("EndpointURL(%q): error %v is not ErrNoElectronicEndpoint", tt.in, err)
		}
	}
}

// TestParseDirectoryRejectsFile: whole-file rejections (spec A4).
func TestParseDirectoryRejectsFile(t *testing.T) {
	good := readDirTestdata(t, "v3_itsg_merger.xml")
	zipOf := func(files map[string][]byte) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, n := range slices.Sorted(maps.Keys(files)) {
			w, _ := zw.Create(n)
			w.Write(files[n])
		}
		zw.Close()
		return buf.Bytes()
	}
	deep := `<n1:Kostentraeger_Mappingverzeichnis xmlns:n1="` + NamespaceMVZv3 + `">` + strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40) + `</n1:Kostentraeger_Mappingverzeichnis>`
	tests := map[string][]byte{
		"empty":            nil,
		"not xml":          []byte("Wartungsarbeiten"),
		"html":             []byte("<html><body>502 Bad Gateway</body></html>"),
		"truncated":        good[:len(good)/2],
		"wrong namespace":  bytes.ReplaceAll(good, []byte(NamespaceMVZv3), []byte("urn:wrong")),
		"no namespace":     bytes.ReplaceAll(good, []byte(`xmlns:n1="`+NamespaceMVZv3+`"`), []byte(`xmlns:n1=""`)),
		"wrong root":       bytes.ReplaceAll(good, []byte("Kostentraeger_Mappingverzeichnis"), []byte("Mappingverzeichnis")),
		"empty list":       []byte(`<Kostentraeger_Mappingverzeichnis xmlns="` + NamespaceMVZv3 + `"/>`),
		"dtd":              append([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]>`), good[bytes.Index(good, []byte("<n1:K")):]...),
		"entity":           bytes.Replace(good, []byte("ZZ</bas"), []byte("&e;</bas"), 1),
		"too deep":         []byte(deep),
		"no usable entry":  regexp.MustCompile(`Kommunikationsstelle>[^<]*<`).ReplaceAll(good, []byte("Kommunikationsstelle>3<")),
		"all IKs bad":      bytes.ReplaceAll(good, []byte(">990"), []byte(">X90")),
		"zip no xml":       zipOf(map[string][]byte{"readme.txt": []byte("x")}),
		"zip two xml":      zipOf(map[string][]byte{"a.xml": good, "b.xml": good}),
		"zip path trick":   zipOf(map[string][]byte{"../a.xml": good}),
		"zip absolute":     zipOf(map[string][]byte{"/etc/a.xml": good}),
		"zip broken":       []byte("PK\x03\x04garbage"),
		"zip inner broken": zipOf(map[string][]byte{"a.xml": []byte("not xml")}),
		"oversized xml":    bytes.Repeat([]byte(" "), MaxDirectoryXMLSize+1),
		"unsupported enc":  append([]byte(`<?xml version="1.0" encoding="EBCDIC"?>`), good[bytes.Index(good, []byte("<n1:K")):]...),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			d, _, err := ParseDirectory(b)
			if err == nil || d != nil {
				t.Fatalf("accepted")
			}
			var de *DirectoryError
			if !errors.Is(err, ErrDirectoryRejected) || !errors.As(err, &de) || de.Reason == "" {
				t.Fatalf("err = %v (%T)", err, err)
			}
		})
	}
}

func TestParseDirectoryZIPAndEncodings(t *testing.T) {
	good := readDirTestdata(t, "v3_all_attributes.xml")
	ref, _, err := ParseDirectory(good)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.Create("__MACOSX/")
	w, _ := zw.Create("Krankenkassenverzeichnis_DiGA.XML")
	w.Write(good)
	zw.Close()
	d, _, err := ParseDirectory(buf.Bytes())
	if err != nil || d.Digest() != ref.Digest() {
		t.Fatalf("zip: %v", err)
	}
	// BOM.
	d, _, err = ParseDirectory(append([]byte("\xef\xbb\xbf"), good...))
	if err != nil || d.Digest() != ref.Digest() {
		t.Fatalf("BOM: %v", err)
	}
	// Whitespace-only change keeps the digest; a field change does not.
	d, _, _ = ParseDirectory(bytes.ReplaceAll(good, []byte("\n    <bas:"), []byte("\n\t\t<bas:")))
	if d.Digest() != ref.Digest() {
		t.Error("digest changed by white space")
	}
	d, _, _ = ParseDirectory(bytes.Replace(good, []byte("Alpha BKK"), []byte("Alpha BKK2"), 1))
	if d.Digest() == ref.Digest() {
		t.Error("digest unchanged by a name change")
	}
	// ISO-8859-1, ISO-8859-15 and windows-1252 declared, and windows-1252
	// bytes declared as UTF-8 (spec A4: decode as windows-1252 with a warning).
	umlaut := bytes.Replace(good, []byte("Alpha BKK"), []byte("S\xfcd BKK \x80"), 1)
	for enc, want := range map[string]string{"ISO-8859-1": "Süd BKK \u0080", "ISO-8859-15": "Süd BKK \u0080", "windows-1252": "Süd BKK €", "UTF-8": "Süd BKK €"} {
		b := bytes.Replace(umlaut, []byte(`encoding="UTF-8"`), []byte(`encoding="`+enc+`"`), 1)
		d, _, err := ParseDirectory(b)
		if err != nil {
			t.Fatalf("%s: %v", enc, err)
		}
		e, _ := d.Lookup("AA", MustDate("2024-01-01"))
		if e.Name != want {
			t.Errorf("%s: name %q, want %q", enc, e.Name, want)
		}
		if enc == "UTF-8" && len(d.Warnings()) != 1 {
			t.Errorf("no warning for invalid UTF-8: %v", d.Warnings())
		}
	}
	latin9 := bytes.Replace(bytes.Replace(good, []byte("Alpha BKK"), []byte("\xa4 BKK"), 1), []byte(`encoding="UTF-8"`), []byte(`encoding="ISO-8859-15"`), 1)
	d, _, _ = ParseDirectory(latin9)
	if e, _ := d.Lookup("AA", MustDate("2024-01-01")); e.Name != "€ BKK" {
		t.Errorf("latin9 name %q", e.Name)
	}
}

func TestDiffDirectories(t *testing.T) {
	old := mustParseDirTestdata(t, "v3_all_attributes.xml")
	b := readDirTestdata(t, "v3_all_attributes.xml")
	b = bytes.Replace(b, []byte("diga-api.tk.de/diga/api/public/rest"), []byte("diga-api2.tk.de/rest"), 1) // TK endpoint
	b = bytes.Replace(b, []byte(">102000001<"), []byte(">102000009<"), 1)                                  // BE ik
	b = bytes.Replace(b, []byte("<bas:Versandart>2</bas:Versandart>"), []byte("<bas:Versandart>1</bas:Versandart>"), 1)
	b = bytes.Replace(b, []byte("<bas:Kostentraegerkuerzel>AA</bas:Kostentraegerkuerzel>"), []byte("<bas:Kostentraegerkuerzel>AZ</bas:Kostentraegerkuerzel>"), 1)
	nw, _, err := ParseDirectory(b)
	if err != nil {
		t.Fatal(err)
	}
	diff := DiffDirectories(old, nw)
	if strings.Join(diff.Added, ",") != "AZ" || strings.Join(diff.Removed, ",") != "AA" {
		t.Errorf("added %v removed %v", diff.Added, diff.Removed)
	}
	var got []string
	for _, c := range diff.Changed {
		got = append(got, c.Prefix+"."+c.Field+":"+c.Old+">"+c.New)
	}
	want := "BE.ik:102000001>102000009 BE.dispatch:2>1 TK.endpoint:diga-api.tk.de/diga/api/public/rest>diga-api2.tk.de/rest"
	if strings.Join(got, " ") != want {
		t.Errorf("changed =\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	if ep := diff.EndpointChanged(); len(ep) != 1 || ep[0] != "TK" {
		t.Errorf("EndpointChanged = %v", ep)
	}
	if !DiffDirectories(old, old).Empty() || DiffDirectories(nil, old).Empty() || len(DiffDirectories(nil, old).Added) != 6 {
		t.Error("self/nil diff")
	}
}

func TestDateOf(t *testing.T) {
	tests := []struct {
		utc  string
		want string
	}{
		{"2024-01-15T22:59:59Z", "2024-01-15"}, // CET 23:59:59
		{"2024-01-15T23:00:00Z", "2024-01-16"}, // CET midnight
		{"2024-07-15T21:59:59Z", "2024-07-15"}, // CEST 23:59:59
		{"2024-07-15T22:00:00Z", "2024-07-16"},
		{"2024-03-31T00:59:59Z", "2024-03-31"}, // switch day, before 01:00 UTC
		{"2024-03-30T23:00:00Z", "2024-03-31"},
		{"2024-10-26T22:00:00Z", "2024-10-27"}, // still CEST
		{"2024-10-27T01:00:00Z", "2024-10-27"}, // CET from here
	}
	for _, tt := range tests {
		ts, _ := time.Parse(time.RFC3339, tt.utc)
		if got := DateOf(ts).String(); got != tt.want {
			t.Errorf("DateOf(%s) = %s, want %s", tt.utc, got, tt.want)
		}
	}
	for _, bad := range []string{"2024-02-30", "2024-1-01", "20240101", "", "2024-01-01T00"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
	d := MustDate("2024-02-28")
	if d.AddDays(1).String() != "2024-02-29" || !d.Before(d.AddDays(1)) || !d.AddDays(1).After(d) || d.Compare(d) != 0 {
		t.Error("date arithmetic")
	}
}

// TestDirectoryConcurrentLookup runs lookups from many goroutines (-race).
func TestDirectoryConcurrentLookup(t *testing.T) {
	d := mustParseDirTestdata(t, "v3_all_attributes.xml")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 200 {
				e, err := d.Lookup([]string{"AA", "TK", "DE"}[(i+j)%3], MustDate("2024-06-01"))
				if err != nil || e.URL == "" {
					t.Error(err)
					return
				}
				_ = d.Entries()
			}
		})
	}
	wg.Wait()
}

func BenchmarkParseDirectory(b *testing.B) {
	raw := readDirTestdata(b, "v3_all_attributes.xml")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseDirectory(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDirectoryLookup(b *testing.B) {
	d := mustParseDirTestdata(b, "v3_all_attributes.xml")
	day := MustDate("2024-06-01")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Lookup("DE", day); err != nil {
			b.Fatal(err)
		}
	}
}

// dirBenchXML builds a directory of n entries, the size of the real file
// of 2023-04-24 for n = 105.
func dirBenchXML(n int) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><n1:Kostentraeger_Mappingverzeichnis xmlns:n1="` + NamespaceMVZv3 +
		`" xmlns:bas="` + NamespaceBasisv3 + `" version="003.000.000" gueltigab="2022-08-25">`)
	for i := range n {
		p := string(codeAlphabet[i/32]) + string(codeAlphabet[i%32])
		fmt.Fprintf(&b, `<n1:Krankenkasseninformation Nummer="ID%d"><bas:Kostentraegerkuerzel>%s</bas:Kostentraegerkuerzel>`+
			`<bas:Kostentraegerkennung>10%07d</bas:Kostentraegerkennung><bas:Name_des_Kostentraegers>Betriebskrankenkasse %d   </bas:Name_des_Kostentraegers>`+
			`<bas:IK_des_Rechnungsempfaengers>10%07d</bas:IK_des_Rechnungsempfaengers><bas:IK_Abrechnungsstelle>660500345</bas:IK_Abrechnungsstelle>`+
			`<bas:Name_Kommunikationsstelle>DIGA-BITMARCK</bas:Name_Kommunikationsstelle><bas:Endpunkt_Kommunikationsstelle>diga.bitmarck-daten.de</bas:Endpunkt_Kommunikationsstelle>`+
			`<bas:Versandart>1</bas:Versandart><bas:Kontaktdaten_Technisch_Telefon>0800 1234567</bas:Kontaktdaten_Technisch_Telefon>`+
			`<bas:Kontaktdaten_Technisch_EMail>diga@bitmarck.example</bas:Kontaktdaten_Technisch_EMail></n1:Krankenkasseninformation>`, i, p, i, i, i)
	}
	b.WriteString(`</n1:Kostentraeger_Mappingverzeichnis>`)
	return []byte(b.String())
}

func BenchmarkParseDirectory105(b *testing.B) {
	raw := dirBenchXML(105)
	if d, _, err := ParseDirectory(raw); err != nil || d.Usable() != 105 {
		b.Fatalf("bench directory: %v", err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("Krankenkassenverzeichnis_DiGA.xml")
	w.Write(raw)
	zw.Close()
	for name, in := range map[string][]byte{"xml": raw, "zip": buf.Bytes()} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := ParseDirectory(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestNilDirectory(t *testing.T) {
	var d *Directory
	if d.Len() != 0 || d.Usable() != 0 || d.Version() != 0 || d.Digest() != "" || d.Entries() != nil || d.Prefixes() != nil ||
		d.Problems() != nil || d.Warnings() != nil || d.FileEntries() != 0 {
		t.Error("nil directory not empty")
	}
	if _, err := d.Lookup("ZZ", MustDate("2024-01-01")); !errors.Is(err, ErrDirectoryUnavailable) {
		t.Errorf("nil Lookup: %v", err)
	}
}

// TestGoldenDirectoriesXSD checks the hand-written v3 golden files against
// the ITSG schema with xmllint (the junk and v2 files are invalid on
// purpose).
func TestGoldenDirectoriesXSD(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("SKIP: xmllint not installed (apt-get install libxml2-utils); golden files not schema-checked")
	}
	xsd, _ := filepath.Abs("../../shared/data/gkv/xsd/EDRE0-MVZ_3.0.0.xsd")
	for name, valid := range map[string]bool{"v3_all_attributes.xml": true, "v3_itsg_merger.xml": true, "junk_real_world.xml": false} {
		out, err := exec.CommandContext(t.Context(), xmllint, "--noout", "--schema", xsd, filepath.Join("testdata", "directory", name)).CombinedOutput()
		if (err == nil) != valid {
			t.Errorf("%s: xmllint valid=%v, want %v\n%s", name, err == nil, valid, out)
		}
	}
}
