package xrechnung_test

import (
	"encoding/json"
	"github.com/digakit/digakit/kassenapi/xrechnung"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// sharedData returns the shared test data folder (…/shared/data) found by
// walking up from the package directory, or skips the test visibly.
func sharedData(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "data", "gkv")
		if _, err := os.Stat(p); err == nil {
			return filepath.Join(d, "shared", "data")
		}
		if filepath.Dir(d) == d {
			t.Skipf("shared test data (shared/data/gkv) not found above %s", dir)
		}
	}
}

type expectedDRE0 struct {
	File      string `json:"file"`
	Expected  string `json:"expected"`
	ITSGCodes []struct {
		Step  int    `json:"step"`
		Code  string `json:"code"`
		Level string `json:"level"`
	} `json:"itsgCodes"`
	Observed struct {
		XSD         string   `json:"xsd"`
		EN16931Diga []string `json:"en16931Diga"`
		XRechnung   []string `json:"xrechnung"`
	} `json:"observed"`
}

func loadExpected(t testing.TB) (string, []expectedDRE0) {
	data := sharedData(t)
	b, err := os.ReadFile(filepath.Join(data, "gkv", "samples", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		DRE0 []expectedDRE0 `json:"dre0"`
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	if len(exp.DRE0) != 6 {
		t.Fatalf("expected.json lists %d invoices, want 6", len(exp.DRE0))
	}
	return filepath.Join(data, "gkv", "samples"), exp.DRE0
}

// TestCheckSharedSamples is X5: the six ITSG sample invoices give the
// expected accept/reject, and every rule code ITSG asserts is reported.
func TestCheckSharedSamples(t *testing.T) {
	dir, exp := loadExpected(t)
	for _, e := range exp {
		t.Run(filepath.Base(e.File), func(t *testing.T) {
			doc, err := os.ReadFile(filepath.Join(dir, e.File))
			if err != nil {
				t.Fatal(err)
			}
			fs := xrechnung.Check(doc)
			for _, f := range fs {
				t.Logf("%s %s %s: %s", f.Level, f.Rule, f.XPath, f.Message)
			}
			if got, want := xrechnung.Valid(fs), e.Expected == "accept"; got != want {
				t.Fatalf("Valid = %v, want %v", got, want)
			}
			var rules []string
			for _, f := range fs {
				rules = append(rules, f.Rule)
			}
			for _, c := range e.ITSGCodes {
				if !slices.Contains(rules, c.Code) {
					t.Errorf("rule %s (step %d) not reported", c.Code, c.Step)
				}
			}
			for _, c := range append(e.Observed.EN16931Diga, e.Observed.XRechnung...) {
				if !slices.Contains(rules, c) {
					t.Errorf("rule %s (observed with Saxon) not reported", c)
				}
			}
			if e.Observed.XSD == "invalid" && !slices.Contains(rules, "XSD") {
				t.Errorf("XSD structure error not reported")
			}
			if e.Expected == "accept" {
				for _, f := range fs {
					if f.Level == xrechnung.LevelError {
						t.Errorf("unexpected error finding %s", f.Rule)
					}
				}
			}
			if filepath.Base(e.File) == "xrechnung-2.2-invalid_384_ohne_grund.xml" {
				var errs []string
				for _, f := range fs {
					if f.Level == xrechnung.LevelError {
						errs = append(errs, f.Rule)
					}
				}
				if !slices.Equal(errs, []string{"DRE0-CORR-4"}) {
					t.Errorf("error findings = %v, want exactly [DRE0-CORR-4]", errs)
				}
			}
		})
	}
}
