package xrechnung_test

import (
	"bytes"
	"encoding/xml"
	"io"

	"github.com/digakit/digakit/kassenapi/xrechnung"
	"github.com/digakit/digakit/kassenapi/xrechnung/xrechnungtest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func negCases(t testing.TB) []xrechnungtest.Case {
	t.Helper()
	cs, err := xrechnungtest.NegativeCases()
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestCheckNegative is X2: each edit breaks exactly the expected rules.
func TestCheckNegative(t *testing.T) {
	for _, tc := range negCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			fs := xrechnung.Check(tc.Doc)
			var errs, other []string
			for _, f := range fs {
				if f.Level == xrechnung.LevelError {
					if !slices.Contains(errs, f.Rule) {
						errs = append(errs, f.Rule)
					}
				} else if !slices.Contains(other, f.Rule) {
					other = append(other, f.Rule)
				}
				if strings.Contains(f.Message, xrechnungtest.Code) || f.XPath == "" {
					t.Errorf("bad finding %+v", f)
				}
			}
			slices.Sort(errs)
			slices.Sort(other)
			if !slices.Equal(errs, tc.Errors) {
				t.Errorf("error rules = %v, want %v", errs, tc.Errors)
			}
			if !slices.Equal(other, tc.Others) {
				t.Errorf("other rules = %v, want %v", other, tc.Others)
			}
			if xrechnung.Valid(fs) != (len(tc.Errors) == 0) {
				t.Errorf("Valid = %v", xrechnung.Valid(fs))
			}
		})
	}
}

func TestCheckGarbage(t *testing.T) {
	for _, in := range []string{"", "x", "<a>", "<a/><b/>", "\x00", strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)} {
		fs := xrechnung.Check([]byte(in))
		if xrechnung.Valid(fs) || len(fs) == 0 || (fs[0].Rule != "XML" && fs[0].Rule != "XSD") {
			t.Errorf("Check(%q) = %+v", in, fs)
		}
	}
	big := make([]byte, xrechnung.MaxDocumentSize+1)
	if fs := xrechnung.Check(big); xrechnung.Valid(fs) || fs[0].Rule != "XML" {
		t.Errorf("oversized document: %+v", fs)
	}
}

// TestEveryDRE0RuleHasANegativeCase reads the assertion ids of dre0.sch
// from the shared test data: each must be expected by at least one X2
// case, so no DiGA rule is implemented without a test that breaks it.
func TestEveryDRE0RuleHasANegativeCase(t *testing.T) {
	sch, err := os.ReadFile(filepath.Join(sharedData(t), "gkv", "schematron", "diga", "dre0.sch"))
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, tc := range negCases(t) {
		for _, r := range append(slices.Clone(tc.Errors), tc.Others...) {
			covered[r] = true
		}
	}
	n := 0
	d := xml.NewDecoder(bytes.NewReader(sch))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "assert" {
			n++
			var id string
			for _, a := range se.Attr {
				if a.Name.Local == "id" {
					id = a.Value
				}
			}
			if !covered[id] {
				t.Errorf("%s has no negative case", id)
			}
		}
	}
	if n != 41 {
		t.Errorf("dre0.sch has %d assertions, want 41", n)
	}
}

// TestCheckByteOrderMark: a UTF-8 BOM before the XML declaration is legal
// and does not change the result.
func TestCheckByteOrderMark(t *testing.T) {
	doc, err := xrechnungtest.Build("380")
	if err != nil {
		t.Fatal(err)
	}
	if fs := xrechnung.Check(append([]byte("\xef\xbb\xbf"), doc...)); len(fs) != 0 {
		t.Fatalf("findings with BOM: %+v", fs)
	}
}
