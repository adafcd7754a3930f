package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedSamples returns shared/data/gkv/samples/dre0 found above the
// package directory, or skips visibly.
func sharedSamples(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(".")
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "data", "gkv", "samples", "dre0")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if filepath.Dir(d) == d {
			t.Skipf("shared test data not found above %s", dir)
		}
	}
}

const goldenInvoice = "../../../kassenapi/xrechnung/testdata/golden/380.xml"

// TestInvoiceCheck covers every exit code of "digakit invoice check" and
// X5 through the CLI: the six ITSG sample invoices.
func TestInvoiceCheck(t *testing.T) {
	samples := sharedSamples(t)
	tmp := t.TempDir()
	broken := filepath.Join(tmp, "broken.xml")
	if err := os.WriteFile(broken, []byte("<rsm:CrossIndustryInvoice"), 0o644); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(tmp, "huge.xml")
	if err := os.WriteFile(huge, make([]byte, 4<<20+10), 0o644); err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(goldenInvoice)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		rules []string // error rules that must appear (JSON runs)
	}{
		{"valid golden", "", []string{"invoice", "check", goldenInvoice, "--json"}, exitOK, nil},
		{"valid golden text", "", []string{"invoice", "check", goldenInvoice}, exitOK, nil},
		{"valid stdin", string(golden), []string{"invoice", "check", "-", "--json"}, exitOK, nil},
		{"sample valid_normal", "", []string{"invoice", "check", "--json", filepath.Join(samples, "xrechnung-2.2-valid_normal.xml")}, exitOK, nil},
		{"sample valid_korrekturrechnung", "", []string{"invoice", "check", filepath.Join(samples, "xrechnung-2.2-valid_korrekturrechnung.xml"), "--json"}, exitOK, nil},
		{"sample valid_double_id", "", []string{"invoice", "check", filepath.Join(samples, "xrechnung-2.2-valid_double_id.xml"), "--json"}, exitOK, nil},
		{"sample invalid_384_ohne_grund", "", []string{"invoice", "check", filepath.Join(samples, "xrechnung-2.2-invalid_384_ohne_grund.xml"), "--json"}, exitInvalid, []string{"DRE0-CORR-4"}},
		{"sample invalid_schemeid", "", []string{"invoice", "check", filepath.Join(samples, "xrechnung-2.2-invalid_schemeid.xml"), "--json"}, exitInvalid, []string{"BR-CL-21", "BR-CL-11", "BR-DEX-05", "BR-DEX-06"}},
		{"sample invalid_xsd", "", []string{"invoice", "check", filepath.Join(samples, "xrechnung-2.2-invalid_xsd.xml"), "--json"}, exitInvalid, []string{"XSD", "BR-CO-15"}},
		{"sample invalid text", "", []string{"invoice", "check", filepath.Join(samples, "xrechnung-2.2-invalid_384_ohne_grund.xml")}, exitInvalid, nil},
		{"not well-formed", "", []string{"invoice", "check", broken, "--json"}, exitInvalid, []string{"XML"}},
		{"too large", "", []string{"invoice", "check", huge, "--json"}, exitInvalid, []string{"XML"}},
		{"empty stdin", "", []string{"invoice", "check", "-", "--json"}, exitInvalid, []string{"XML"}},
		{"missing file", "", []string{"invoice", "check", filepath.Join(tmp, "nope.xml")}, exitUsage, nil},
		{"directory", "", []string{"invoice", "check", tmp}, exitUsage, nil},
		{"no file", "", []string{"invoice", "check"}, exitUsage, nil},
		{"two files", "", []string{"invoice", "check", goldenInvoice, goldenInvoice}, exitUsage, nil},
		{"bad flag", "", []string{"invoice", "check", goldenInvoice, "--xml"}, exitUsage, nil},
		{"no subcommand", "", []string{"invoice"}, exitUsage, nil},
		{"unknown subcommand", "", []string{"invoice", "submit"}, exitUsage, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runCLI(t, tc.stdin, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tc.code, out, errs)
			}
			if tc.code == exitUsage {
				if out != "" || strings.Count(strings.TrimSpace(errs), "\n") != 0 || errs == "" {
					t.Errorf("usage error: stdout %q stderr %q (want one stderr line)", out, errs)
				}
				return
			}
			if errs != "" {
				t.Errorf("stderr %q", errs)
			}
			if !strings.Contains(strings.Join(tc.args, " "), "--json") {
				want := "valid ("
				if tc.code == exitInvalid {
					want = "invalid ("
				}
				if !strings.HasPrefix(out, want) {
					t.Errorf("text output %q", out)
				}
				return
			}
			var res struct {
				Valid    *bool `json:"valid"`
				Findings []struct {
					Rule    *string `json:"rule"`
					Message *string `json:"message"`
					Path    *string `json:"path"`
					Level   string  `json:"level"`
				} `json:"findings"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("bad JSON %q: %v", out, err)
			}
			if res.Valid == nil || *res.Valid != (tc.code == exitOK) || res.Findings == nil {
				t.Fatalf("JSON %s", out)
			}
			var rules []string
			for _, f := range res.Findings {
				if f.Rule == nil || f.Message == nil || f.Path == nil {
					t.Fatalf("finding misses rule/message/path: %s", out)
				}
				if f.Level == "error" {
					rules = append(rules, *f.Rule)
				}
			}
			for _, r := range tc.rules {
				if !strings.Contains(","+strings.Join(rules, ",")+",", ","+r+",") {
					t.Errorf("error rule %s missing from %v", r, rules)
				}
			}
			if tc.name == "sample invalid_384_ohne_grund" && len(rules) != 1 {
				t.Errorf("error rules %v, want exactly DRE0-CORR-4", rules)
			}
		})
	}
}

// TestInvoiceCheckNoCodeLeak: neither stdout nor stderr of a failing
// check repeats the Freischaltcode of the invoice.
func TestInvoiceCheckNoCodeLeak(t *testing.T) {
	golden, err := os.ReadFile(goldenInvoice)
	if err != nil {
		t.Fatal(err)
	}
	const code = "CHAAAAAAAAAAAAAJ"
	bad := strings.Replace(string(golden), "<ram:TypeCode>380<", "<ram:TypeCode>999<", 1)
	bad = strings.Replace(bad, ">"+code+"<", ">"+code[:15]+"X<", 1)
	out, errs, exit := runCLI(t, bad, "invoice", "check", "-", "--json")
	if exit != exitInvalid || strings.Contains(out+errs, code[:15]) {
		t.Fatalf("exit %d, output %s %s", exit, out, errs)
	}
}
