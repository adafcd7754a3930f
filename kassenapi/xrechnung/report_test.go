package xrechnung_test

import (
	"errors"
	"github.com/digakit/digakit/kassenapi/xrechnung"
	"github.com/digakit/digakit/kassenapi/xrechnung/xrechnungtest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readReport(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "reports", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseReport is X4: hand-written reports give exact verdicts.
func TestParseReport(t *testing.T) {
	const number, code = "DG2025000001234", testCode
	cases := []struct {
		file     string
		verdict  xrechnung.Verdict
		forOurs  xrechnung.Verdict // ClassifyFor(number, code)
		valid    bool
		errCodes []string
		codes    []string
	}{
		{"accept.xml", xrechnung.VerdictAccepted, xrechnung.VerdictAccepted, true, nil, nil},
		{"accept_warnings.xml", xrechnung.VerdictAccepted, xrechnung.VerdictAccepted, false, nil, []string{"BR-CL-23", "BR-DE-21"}},
		{"reject_inver.xml", xrechnung.VerdictRejectedBusiness, xrechnung.VerdictRejectedBusiness, false, []string{"INVER-1"}, []string{"INVER-1"}},
		{"reject_dre0.xml", xrechnung.VerdictRejectedFormat, xrechnung.VerdictRejectedFormat, false, []string{"DRE0-CORR-4"}, []string{"DRE0-CORR-4"}},
		{"reject_xsd.xml", xrechnung.VerdictRejectedFormat, xrechnung.VerdictRejectedFormat, false, []string{"cvc-complex-type.2.4.a"}, []string{"cvc-complex-type.2.4.a"}},
		{"no_scenario.xml", xrechnung.VerdictRejectedFormat, xrechnung.VerdictRejectedFormat, false, []string{"noScenarioMatched"}, []string{"noScenarioMatched"}},
		{"accept_other_number.xml", xrechnung.VerdictAccepted, xrechnung.VerdictMismatch, true, nil, nil},
		{"feh_201.xml", xrechnung.VerdictRetry, xrechnung.VerdictRetry, false, nil, nil},
		{"feh_102.xml", xrechnung.VerdictRejectedBusiness, xrechnung.VerdictRejectedBusiness, false, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			r, err := xrechnung.ParseReport(readReport(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Classify(); got != tc.verdict {
				t.Errorf("Classify = %s, want %s", got, tc.verdict)
			}
			if got := r.ClassifyFor(number, code); got != tc.forOurs {
				t.Errorf("ClassifyFor = %s, want %s", got, tc.forOurs)
			}
			if r.Valid != tc.valid {
				t.Errorf("Valid = %v, want %v", r.Valid, tc.valid)
			}
			if r.Accepted() != (tc.verdict == xrechnung.VerdictAccepted) {
				t.Errorf("Accepted = %v", r.Accepted())
			}
			var errs []string
			for _, m := range r.Errors() {
				errs = append(errs, m.Code)
			}
			if !slices.Equal(errs, tc.errCodes) {
				t.Errorf("Errors = %v, want %v", errs, tc.errCodes)
			}
			if got := r.Codes(); !slices.Equal(got, tc.codes) {
				t.Errorf("Codes = %v, want %v", got, tc.codes)
			}
			if s := r.String(); strings.Contains(s, code) {
				t.Errorf("String leaks the code: %s", s)
			}
		})
	}
}

func TestParseReportDetails(t *testing.T) {
	r, err := xrechnung.ParseReport(readReport(t, "accept_warnings.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Engine != "KoSIT Validator 1.5.0" || r.HashAlgorithm != "SHA-256" || r.HashValue == "" || !r.ScenarioMatched ||
		!strings.HasPrefix(r.Scenario, "DiGA-Rechnung (DRE0-Anfrage)") {
		t.Errorf("header = %+v", r)
	}
	want := xrechnung.DocumentData{Seller: "Beispiel DiGA GmbH", ID: "DG2025000001234", IssueDate: "20250304", VEID: "00299001",
		Code: testCode, SellerIK: "987654321", BuyerIK: "101234005", PayeeIK: "987654321"}
	if r.Document != want {
		t.Errorf("documentData = %+v", r.Document)
	}
	if len(r.Steps) != 5 || r.Steps[1].ID != "val-sch.1" || r.Steps[1].Valid || !r.Steps[0].Valid {
		t.Fatalf("steps = %+v", r.Steps)
	}
	m := r.Steps[1].Messages[0]
	if m.Code != "BR-CL-23" || m.Level != "error" || !m.Downgraded || !strings.Contains(m.XPath, "BilledQuantity") {
		t.Errorf("downgraded message = %+v", m)
	}
	if r.CustomLevels["BR-CL-01"] != "warning" || len(r.CustomLevels) != 5 {
		t.Errorf("custom levels = %v", r.CustomLevels)
	}

	rj, err := xrechnung.ParseReport(readReport(t, "reject_inver.xml"))
	if err != nil {
		t.Fatal(err)
	}
	msg := rj.Errors()[0]
	if !strings.Contains(msg.Text, "CHAA AAAA AAAA AAAJ") {
		t.Fatalf("raw text lost: %q", msg.Text)
	}
	if s := msg.SafeText(); strings.Contains(s, "CHAA") || !strings.Contains(s, "nicht gefunden: [code]") {
		t.Errorf("SafeText = %q", s)
	}

	f, err := xrechnung.ParseReport(readReport(t, "feh_102.xml"))
	if err != nil || len(f.FEH) != 1 || f.FEH[0].Number != 102 || !strings.Contains(f.FEH[0].Text, "nicht gefunden") {
		t.Fatalf("FEH = %+v, %v", f, err)
	}
}

func TestParseReportRejects(t *testing.T) {
	accept := string(readReport(t, "accept.xml"))
	for name, in := range map[string]string{
		"empty":          "",
		"not xml":        "{}",
		"other root":     "<x/>",
		"invoice":        string(mustBuild(t)),
		"no assessment":  string(readReport(t, "no_assessment.xml")),
		"no valid attr":  strings.Replace(accept, ` valid="true"`, "", 1),
		"bad varl":       strings.Replace(accept, `varlVersion="1.0.0"`, `varlVersion="2.0.0"`, 1),
		"no scenario el": strings.Replace(strings.Replace(accept, "<rep:scenarioMatched>", "<rep:x>", 1), "</rep:scenarioMatched>", "</rep:x>", 1),
		"dtd":            strings.Replace(accept, "<rep:report", "<!DOCTYPE rep:report><rep:report", 1),
		"truncated":      accept[:len(accept)/2],
		"FEH without nr": `<Pruefung_Freischaltcode xmlns="http://www.gkv-datenaustausch.de/XML-Schema/EDFC0_Pruefung/3.0"><Fehlerinformation/></Pruefung_Freischaltcode>`,
		"FEH bad nr":     `<Pruefung_Freischaltcode xmlns="http://www.gkv-datenaustausch.de/XML-Schema/EDFC0_Pruefung/3.0"><Fehlerinformation><Fehlernummer>abc</Fehlernummer></Fehlerinformation></Pruefung_Freischaltcode>`,
		"ANT not FEH":    `<Pruefung_Freischaltcode xmlns="http://www.gkv-datenaustausch.de/XML-Schema/EDFC0_Pruefung/3.0"><Antwort/></Pruefung_Freischaltcode>`,
		"both scenarios": strings.Replace(accept, "</rep:scenarioMatched>", "</rep:scenarioMatched><rep:noScenarioMatched/>", 1),
	} {
		t.Run(name, func(t *testing.T) {
			r, err := xrechnung.ParseReport([]byte(in))
			var re *xrechnung.ReportError
			if err == nil || r != nil || !errors.As(err, &re) {
				t.Fatalf("ParseReport = %v, %v", r, err)
			}
			if strings.Contains(err.Error(), testCode) {
				t.Errorf("error leaks the code: %v", err)
			}
		})
	}
	// accept and reject at once is not an answer: mismatch
	both := strings.Replace(accept, "</rep:accept>", "</rep:accept><rep:reject/>", 1)
	r, err := xrechnung.ParseReport([]byte(both))
	if err != nil || r.Classify() != xrechnung.VerdictMismatch {
		t.Fatalf("accept+reject: %v %v", r, err)
	}
}

func mustBuild(t testing.TB) []byte {
	t.Helper()
	b, err := xrechnungtest.Build("380")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
