package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const mioExports = "../../../mio/testdata/export"

func TestMIOBuildAndCheck(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, code := runCLI(t, "", "mio", "build", "--in", filepath.Join(mioExports, "complete.json"), "--out", out)
	if code != exitOK {
		t.Fatalf("code %d stderr %s", code, stderr)
	}
	var man struct {
		ExportID   string `json:"exportId"`
		MIOVersion string `json:"mioVersion"`
		Documents  []struct {
			File, BundleID, SHA256 string
			Index, Count, Entries  int
			Size                   int64
			Period                 struct{ Start, End string }
			EPA                    struct {
				FormatCode struct{ Code, System, Display string } `json:"formatCode"`
				MimeType   string                                 `json:"mimeType"`
				Title      string                                 `json:"title"`
				Start      string                                 `json:"serviceStartTime"`
			} `json:"epa"`
		} `json:"documents"`
	}
	if err := json.Unmarshal([]byte(stdout), &man); err != nil {
		t.Fatal(err)
	}
	disk, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil || string(disk) != stdout {
		t.Fatal("manifest.json differs from stdout")
	}
	if man.ExportID != "export-2024-05-01" || man.MIOVersion != "1.1.0" || len(man.Documents) != 1 {
		t.Fatalf("manifest %+v", man)
	}
	d := man.Documents[0]
	b, err := os.ReadFile(filepath.Join(out, d.File))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != d.SHA256 || int64(len(b)) != d.Size || d.BundleID != "urn:uuid:"+strings.TrimSuffix(d.File, ".xml") {
		t.Fatalf("document entry %+v", d)
	}
	if d.EPA.FormatCode.Code != "urn:gematik:ig:diga:v1.1" || d.EPA.MimeType != "application/fhir+xml" ||
		d.Period.Start != "2024-03-31T22:00:00Z" || d.EPA.Start != d.Period.Start || d.Count != 1 {
		t.Fatalf("epa %+v period %+v", d.EPA, d.Period)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 2 {
		t.Fatalf("temporary files left: %v", entries)
	}

	stdout, stderr, code = runCLI(t, "", "mio", "check", filepath.Join(out, d.File), "--json")
	if code != exitOK || !strings.Contains(stdout, `"valid": true`) {
		t.Fatalf("check: code %d out %s err %s", code, stdout, stderr)
	}
}

func TestMIOBuildErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	src, _ := os.ReadFile(filepath.Join(mioExports, "minimal.json"))
	s := strings.Replace(string(src), `"unit": "kg"`, `"unit": "lb"`, 1)
	s = strings.Replace(s, `"pzn": "12345678"`, `"pzn": "12345670"`, 1)
	if err := os.WriteFile(bad, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	_, stderr, code := runCLI(t, "", "mio", "build", "--in", bad, "--out", out)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != exitInvalid || len(lines) != 2 ||
		lines[0] != "DiGA.PZN: invalid identifier: PZN needs 8 digits and a valid check digit" ||
		!strings.HasPrefix(lines[1], "Entries[0](BodyWeight).Unit: invalid unit:") {
		t.Fatalf("code %d stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("output directory created for invalid input")
	}
	if _, _, code := runCLI(t, "", "mio", "build", "--in", filepath.Join(dir, "missing.json"), "--out", out); code != exitUsage {
		t.Fatalf("unreadable input: %d", code)
	}
	file := filepath.Join(dir, "file")
	_ = os.WriteFile(file, nil, 0o600)
	if _, _, code := runCLI(t, "", "mio", "build", "--in", filepath.Join(mioExports, "minimal.json"), "--out", file); code != exitUsage {
		t.Fatalf("unwritable DIR: %d", code)
	}
	if _, _, code := runCLI(t, "", "mio", "build", "--in", filepath.Join(mioExports, "minimal.json")); code != exitUsage {
		t.Fatalf("missing --out: %d", code)
	}
	_ = os.WriteFile(bad, []byte(`{"exportId": 1}`), 0o600)
	if _, stderr, code := runCLI(t, "", "mio", "build", "--in", bad, "--out", out); code != exitInvalid || !strings.HasPrefix(stderr, "exportId: invalid JSON") {
		t.Fatalf("bad JSON: %d %q", code, stderr)
	}
}

// TestMIOCheckKBVExamples: every shipped KBV example passes with exit 0.
func TestMIOCheckKBVExamples(t *testing.T) {
	files, _ := filepath.Glob("../../../../shared/data/fhir/kbv-examples/*/*.xml")
	if len(files) != 84 {
		t.Skipf("KBV examples not found (%d)", len(files))
	}
	for _, f := range files {
		stdout, _, code := runCLI(t, "", "mio", "check", f)
		if code != exitOK {
			t.Errorf("%s: %d %s", filepath.Base(f), code, stdout)
		}
	}
}

func TestMIOCheckFindings(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "x.xml")
	_ = os.WriteFile(f, []byte("<Bundle"), 0o600)
	stdout, _, code := runCLI(t, "", "mio", "check", f, "--json")
	if code != exitInvalid || !strings.Contains(stdout, `"rule": "xml"`) || !strings.Contains(stdout, `"valid": false`) {
		t.Fatalf("not well-formed: %d %s", code, stdout)
	}
	golden, _ := os.ReadFile("../../../mio/testdata/golden/minimal-0.xml")
	_ = os.WriteFile(f, []byte(strings.Replace(string(golden), `value="DiGA-Export"`, `value="Export"`, 1)), 0o600)
	stdout, _, code = runCLI(t, "", "mio", "check", f)
	if code != exitInvalid || !strings.Contains(stdout, "Composition.title") {
		t.Fatalf("title Export: %d %s", code, stdout)
	}
	if _, _, code := runCLI(t, "", "mio", "check"); code != exitUsage {
		t.Fatal("usage")
	}
	if _, _, code := runCLI(t, "", "mio", "check", filepath.Join(dir, "nope.xml")); code != exitUsage {
		t.Fatal("missing file")
	}
}

func TestMIOCheckNoData(t *testing.T) {
	var out, errb strings.Builder
	code := run(t.Context(), []string{"mio", "check", "x.xml"}, &env{
		stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(k string) string {
			if k == "DIGAKIT_FHIR_DATA" {
				return "/nonexistent"
			}
			return ""
		},
	})
	if code != exitUsage || !strings.Contains(errb.String(), "FHIR data not found") {
		t.Fatalf("%d %s", code, errb.String())
	}
}

func TestMIOBuildSplit(t *testing.T) {
	dir := t.TempDir()
	var entries []string
	for i := 0; i < 300; i++ {
		entries = append(entries, `{"kind": "glucose", "sourceId": "g-`+strings.Repeat("x", i%3)+string(rune('a'+i%26))+`-`+itoa(i)+`", "effective": "2024-04-`+pad(1+i/12)+`T`+pad(i%12)+`:00:00+02:00", "value": "98", "unit": "mg/dL"}`)
	}
	in := `{"options": {"namespace": "c6542156-0dd5-573e-b5f5-8e69d662c741", "timestamp": "2024-05-01T10:00:00+02:00", "maxBytes": 65536},
	 "exportId": "e-split", "patient": {"sourceId": "p-1"}, "diga": {"veid": "1", "pzn": "12345678", "name": "D"},
	 "period": {"start": "2024-04-01T00:00:00+02:00", "end": "2024-04-30T23:59:59+02:00"},
	 "entries": [` + strings.Join(entries, ",") + `]}`
	f := filepath.Join(dir, "in.json")
	if err := os.WriteFile(f, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	stdout, stderr, code := runCLI(t, "", "mio", "build", "--in", f, "--out", out)
	if code != exitOK {
		t.Fatalf("%d %s", code, stderr)
	}
	var man struct {
		Documents []struct {
			File         string
			Index, Count int
			Size         int64
		} `json:"documents"`
	}
	if err := json.Unmarshal([]byte(stdout), &man); err != nil {
		t.Fatal(err)
	}
	if len(man.Documents) < 3 {
		t.Fatalf("want a split, got %d documents", len(man.Documents))
	}
	for i, d := range man.Documents {
		if d.Index != i || d.Count != len(man.Documents) || d.Size > 65536 {
			t.Fatalf("document %+v", d)
		}
		if _, _, code := runCLI(t, "", "mio", "check", filepath.Join(out, d.File)); code != exitOK {
			t.Fatalf("document %d does not pass mio check", i)
		}
	}
}

func pad(i int) string {
	if i < 10 {
		return "0" + itoa(i)
	}
	return itoa(i)
}

func itoa(i int) string { return strconv.Itoa(i) }
