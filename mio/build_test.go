package mio

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/digakit/digakit/mio/miotest"
)

var update = flag.Bool("update", false, "rewrite golden files")

var testNS = NewUUIDv5(NamespaceURL, "https://diga.example/mio")

func loadExport(t testing.TB, name string) (Export, Options) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "export", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	x, o, err := DecodeExport(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return x, o
}

func buildAll(t testing.TB, x Export, o Options) [][]byte {
	t.Helper()
	docs, err := Build(context.Background(), x, o)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, d := range docs {
		b, err := d.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b)) != d.Size {
			t.Fatalf("size %d != planned %d", len(b), d.Size)
		}
		out = append(out, b)
	}
	return out
}

func TestUUIDv5Vectors(t *testing.T) {
	dns := UUID{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	if got := NewUUIDv5(dns, "python.org").String(); got != "886313e1-3b8a-5372-9b90-0c9aee199e5d" {
		t.Fatalf("python.org: %s", got)
	}
	if testNS.String() != "c6542156-0dd5-573e-b5f5-8e69d662c741" {
		t.Fatalf("namespace %s", testNS)
	}
	for name, want := range map[string]string{
		"patient/p-1":                     "8e8017c3-ebeb-5b71-a5ca-c0cf45654203",
		"body-weight/w-42":                "63bfc01b-0a0d-5a9c-9286-dda48bca12fc",
		"glucose/g-1":                     "d317575f-20cf-5078-87a5-b8ea0ddb75d6",
		"device-diga/1234":                "a8451703-7d41-5641-acc0-250ab2a2215b",
		"devicedefinition-diga/1234":      "de4f4663-0432-5205-9cb7-f3b93c183b2e",
		"bundle/export-2024-05-01/0":      "886d41e7-0d00-590a-b85b-54c24931564f",
		"bundle/export-2024-05-01/1":      "2c8688d8-31ad-51e0-8c90-c2d0e443a20c",
		"composition/export-2024-05-01/0": "89212cc5-c9e4-5feb-9f85-0957f9ae5d5a",
	} {
		if got := NewUUIDv5(testNS, name).String(); got != want {
			t.Errorf("%s: %s want %s", name, got, want)
		}
	}
	u, err := ParseUUID("C6542156-0DD5-573E-B5F5-8E69D662C741")
	if err != nil || u != testNS {
		t.Fatal("ParseUUID upper case")
	}
	if _, err := ParseUUID("nope"); err == nil {
		t.Fatal("ParseUUID accepted garbage")
	}
}

func TestParseDecimal(t *testing.T) {
	for _, s := range []string{"0", "21", "21.0", "-1.5", "0.001", "123456789012345678", "72.50"} {
		d, err := ParseDecimal(s)
		if err != nil || d.String() != s {
			t.Errorf("%q rejected or changed: %v", s, err)
		}
	}
	for _, s := range []string{"", "NaN", "INF", "-0", "-0.0", "1E5", "1e+21", "01.5", ".5", "+1.0", " 1", "1 ", "21,0", "1.", "-", "1234567890123456789"} {
		if _, err := ParseDecimal(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	if d, err := DecimalFromFloat(21, 1); err != nil || d.String() != "21.0" {
		t.Fatalf("DecimalFromFloat: %v %v", d, err)
	}
	if _, err := DecimalFromFloat(0, 0); err != nil {
		t.Fatal(err)
	}
	if d, _ := DecimalFromFloat(-0.0001, 2); d.String() != "0.00" {
		t.Fatalf("negative zero: %q", d)
	}
	for _, f := range []float64{nanF(), 1 / zeroF()} {
		if _, err := DecimalFromFloat(f, 2); err == nil {
			t.Fatal("NaN/Inf accepted")
		}
	}
	if DecimalFromInt(-42).String() != "-42" {
		t.Fatal("DecimalFromInt")
	}
}

func zeroF() float64 { return 0 }
func nanF() float64  { z := zeroF(); return z / z }

func TestPZN(t *testing.T) {
	for s, want := range map[string]bool{"04877800": true, "12345678": true, "12345670": false, "1234567": false, "1234567a": false} {
		if ValidPZN(s) != want {
			t.Errorf("%s", s)
		}
	}
}

// TestGoldens builds every export in testdata/export, compares the bytes
// with testdata/golden and validates them with xmllint.
func TestGoldens(t *testing.T) {
	files, _ := filepath.Glob("testdata/export/*.json")
	if len(files) < 3 {
		t.Fatal("missing exports")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			x, o := loadExport(t, filepath.Base(f))
			docs := buildAll(t, x, o)
			for i, b := range docs {
				golden := filepath.Join("testdata", "golden", fmt.Sprintf("%s-%d.xml", name, i))
				compareGolden(t, golden, b)
				miotest.CheckSchema(t, b)
			}
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./mio -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the golden file (run go test ./mio -update and review the diff)", path)
	}
}

func TestDeterminism(t *testing.T) {
	x, o := loadExport(t, "complete.json")
	o.Indent = ""
	first := buildAll(t, x, o)
	var wg sync.WaitGroup
	results := make([][][]byte, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = buildAll(t, x, o)
		}()
	}
	wg.Wait()
	old := time.Local
	time.Local = time.FixedZone("X", -11*3600)
	defer func() { time.Local = old }()
	results = append(results, buildAll(t, x, o))
	for _, r := range results {
		if len(r) != len(first) || !bytes.Equal(r[0], first[0]) {
			t.Fatal("output differs between builds")
		}
	}
}

// TestIndentedEqualsUnindented compares the namespace-resolved token
// streams after dropping whitespace-only text.
func TestIndentedEqualsUnindented(t *testing.T) {
	x, o := loadExport(t, "complete.json")
	ind := buildAll(t, x, o)[0]
	o.Indent = ""
	flat := buildAll(t, x, o)[0]
	if bytes.Contains(flat, []byte("\n  <")) {
		t.Fatal("unindented output has indentation")
	}
	a, b := tokens(t, ind), tokens(t, flat)
	if len(a) != len(b) {
		t.Fatalf("token counts %d vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("token %d: %q vs %q", i, a[i], b[i])
		}
	}
}

func tokens(t *testing.T, doc []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var out []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			s := v.Name.Space + " " + v.Name.Local
			for _, a := range v.Attr {
				s += " " + a.Name.Local + "=" + a.Value
			}
			out = append(out, s)
		case xml.EndElement:
			out = append(out, "/"+v.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(v)) > 0 {
				out = append(out, "text:"+string(v))
			}
		}
	}
}

// TestRoundTripStrings parses the output with etree and encoding/xml and
// checks that free text with control characters, markup characters,
// umlauts and 4-byte characters survives exactly.
func TestRoundTripStrings(t *testing.T) {
	x, o := loadExport(t, "unicode.json")
	doc := buildAll(t, x, o)[0]
	want := x.Entries[0].(*DiaryEntry).Text
	et := etree.NewDocument()
	if err := et.ReadFromBytes(doc); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, el := range et.FindElements("//valueString") {
		if el.SelectAttrValue("value", "") == want {
			found = true
		}
	}
	if !found {
		t.Fatal("diary text did not round-trip through etree")
	}
	if !bytes.Contains(doc, []byte("Zeile 1&#xA;Zeile&#x9;2&#xD;&#xA;")) {
		t.Fatal("LF/TAB/CR not escaped as character references")
	}
	var v struct {
		Entries []struct {
			Obs struct {
				Value struct {
					V string `xml:"value,attr"`
				} `xml:"valueString"`
			} `xml:"resource>Observation"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range v.Entries {
		seen[e.Obs.Value.V] = true
	}
	if !seen[want] || !seen[`"sehr" gut & 'ruhig'`] {
		t.Fatal("encoding/xml round trip lost text")
	}
	if !bytes.Contains(doc, []byte(`<text value="getrimmt">`)) {
		t.Fatal("note not trimmed")
	}
	if !bytes.Contains(doc, []byte(`2024-03-31T12:00:00.123+02:00`)) {
		t.Fatal("sub-second time not truncated to ms")
	}
	if !bytes.Contains(doc, []byte(`2024-03-31T01:59:59+01:00`)) || !bytes.Contains(doc, []byte(`2024-03-31T03:00:00+02:00`)) {
		t.Fatal("DST instants not rendered in Europe/Berlin")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	x, o := loadExport(t, "complete.json")
	b, err := x.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	x2, _, err := DecodeExport(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buildAll(t, x, o)[0], buildAll(t, x2, o)[0]) {
		t.Fatal("JSON round trip changes the output")
	}
}

func TestDecodeExportErrors(t *testing.T) {
	tests := []struct {
		name, json string
		code       error
		path       string
	}{
		{"syntax", `{"exportId": }`, ErrInvalidJSON, ""},
		{"unknown member", `{"exportId": "x", "bogus": 1}`, ErrInvalidJSON, "bogus"},
		{"wrong type", `{"exportId": 5}`, ErrInvalidJSON, "exportId"},
		{"unknown kind", `{"entries": [{"kind": "horoscope"}]}`, ErrUnsupported, "entries[0].kind"},
		{"entry unknown member", `{"entries": [{"kind": "body-weight", "weight": 1}]}`, ErrInvalidJSON, "entries[0].weight"},
		{"time without zone", `{"entries": [{"kind": "body-weight", "effective": "2024-04-02T07:30:00"}]}`, ErrInvalidDate, "entries[0]"},
		{"trailing", `{} {}`, ErrInvalidJSON, ""},
	}
	for _, tc := range tests {
		_, _, err := DecodeExport(strings.NewReader(tc.json))
		var ve *ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, tc.code) {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if ve.Issues[0].Path != tc.path {
			t.Errorf("%s: path %q want %q", tc.name, ve.Issues[0].Path, tc.path)
		}
	}
	// A JSON number keeps its literal text.
	x, o, err := DecodeExport(strings.NewReader(strings.Replace(minimalJSON, `"72.50"`, `72.50`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buildAll(t, x, o)[0], []byte(`<value value="72.50">`)) {
		t.Fatal("JSON number decimal lost precision")
	}
}

var minimalJSON = func() string { b, _ := os.ReadFile("testdata/export/minimal.json"); return string(b) }()
