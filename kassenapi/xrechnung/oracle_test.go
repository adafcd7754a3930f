package xrechnung_test

import (
	"encoding/xml"
	"io"

	"bytes"
	"fmt"
	"github.com/digakit/digakit/kassenapi/xrechnung"
	"github.com/digakit/digakit/kassenapi/xrechnung/xrechnungtest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Interop oracles (spec B6): xmllint with the CII D16B XSD, and Saxon-HE
// with the EN 16931 (DiGA variant) and XRechnung 2.2.0 rule sets, all from
// the shared test data. The tests skip with a message when a tool is
// missing; CI installs them (Debian: libxml2-utils, libsaxonhe-java,
// a Java 17 runtime).

const saxonJar = "/usr/share/java/Saxon-HE.jar"

func needXmllint(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Skip("xmllint not installed (Debian package libxml2-utils); skipping the XSD oracle")
	}
}

func needSaxon(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("java not installed; skipping the Saxon-HE schematron oracle")
	}
	if _, err := os.Stat(saxonJar); err != nil {
		t.Skip("Saxon-HE not installed (Debian package libsaxonhe-java); skipping the schematron oracle")
	}
}

func ciiXSD(t *testing.T) string {
	return filepath.Join(sharedData(t), "gkv", "xsd", "cii-d16b", "CrossIndustryInvoice_100pD16B.xsd")
}

// xmllintValid validates files against the CII XSD in one xmllint run and
// returns the set of files that failed.
func xmllintValid(t *testing.T, files []string) map[string]bool {
	t.Helper()
	args := append([]string{"--noout", "--schema", ciiXSD(t)}, files...)
	out, err := exec.Command("xmllint", args...).CombinedOutput()
	failed := map[string]bool{}
	for _, f := range files {
		if bytes.Contains(out, []byte(f+" fails to validate")) {
			failed[f] = true
		} else if !bytes.Contains(out, []byte(f+" validates")) {
			t.Fatalf("xmllint said nothing about %s: %s", f, out)
		}
	}
	if err != nil && len(failed) == 0 {
		t.Fatalf("xmllint: %v: %s", err, out)
	}
	return failed
}

// TestOracleXSD validates the golden files, freshly built invoices and
// the shared samples with xmllint; the structural check of Check must
// agree with xmllint on every file, including the X2 negative cases.
func TestOracleXSD(t *testing.T) {
	needXmllint(t)
	dir := t.TempDir()
	var files []string
	want := map[string]bool{} // file -> must validate
	for _, tc := range xrechnungtest.Goldens() {
		doc, err := tc.Builder.Build(tc.Invoice)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "built_"+tc.Name+".xml")
		if err := os.WriteFile(p, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
		want[p] = true
		g, _ := filepath.Abs(filepath.Join("testdata", "golden", tc.Name+".xml"))
		files = append(files, g)
		want[g] = true
	}
	samples, exp := loadExpected(t)
	for _, e := range exp {
		p := filepath.Join(samples, e.File)
		files = append(files, p)
		want[p] = e.Observed.XSD == "valid"
	}
	checkerSays := map[string]bool{}
	for i, tc := range negCases(t) {
		if slices.Contains(tc.Errors, "XML") {
			continue // xmllint reports parse errors differently
		}
		p := filepath.Join(dir, fmt.Sprintf("neg_%02d.xml", i))
		if err := os.WriteFile(p, tc.Doc, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
		checkerSays[p] = !slices.Contains(tc.Errors, "XSD")
	}
	failed := xmllintValid(t, files)
	for _, f := range files {
		if w, ok := want[f]; ok && w == failed[f] {
			t.Errorf("%s: xmllint valid = %v, want %v", filepath.Base(f), !failed[f], w)
		}
		if w, ok := checkerSays[f]; ok && w == failed[f] {
			t.Errorf("%s: xmllint valid = %v, but Check's XSD rule says %v", filepath.Base(f), !failed[f], w)
		}
	}
	// and the checker's structure rule agrees on the samples
	for _, e := range exp {
		doc, _ := os.ReadFile(filepath.Join(samples, e.File))
		hasXSD := slices.ContainsFunc(xrechnung.Check(doc), func(f xrechnung.Finding) bool { return f.Rule == "XSD" })
		if hasXSD != (e.Observed.XSD == "invalid") {
			t.Errorf("%s: Check XSD finding = %v, xmllint says %s", e.File, hasXSD, e.Observed.XSD)
		}
	}
}

var (
	digaXSLOnce sync.Once
	digaXSL     string
	digaXSLErr  error
)

// saxonRules returns the two compiled rule sets: EN 16931 patched for
// DiGA (built once per test binary, as ITSG's build does) and XRechnung.
func saxonRules(t *testing.T) (en, xr string) {
	data := sharedData(t)
	digaXSLOnce.Do(func() {
		dir, err := os.MkdirTemp("", "digakit-xrechnung-saxon")
		if err != nil {
			digaXSLErr = err
			return
		}
		digaXSL = filepath.Join(dir, "EN16931-CII-validation-diga.xsl")
		out, err := exec.Command("java", "-jar", saxonJar,
			"-s:"+filepath.Join(data, "gkv", "schematron", "en16931-cii-1.3.7", "EN16931-CII-validation.xslt"),
			"-xsl:"+filepath.Join(data, "gkv", "schematron", "diga", "EN16931_DiGA_workaround.xslt"),
			"-o:"+digaXSL).CombinedOutput()
		if err != nil {
			digaXSLErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if digaXSLErr != nil {
		t.Fatal(digaXSLErr)
	}
	return digaXSL, filepath.Join(data, "gkv", "schematron", "xrechnung-2.2.0", "XRechnung-CII-validation.xslt")
}

// saxonDir runs one rule set on every file of in (one JVM) and returns,
// per file name, the failed assertion ids with flag "fatal" and those
// with other flags.
func saxonDir(t *testing.T, in, xsl string) (fatal, other map[string][]string) {
	t.Helper()
	out := t.TempDir()
	if b, err := exec.Command("java", "-jar", saxonJar, "-s:"+in, "-xsl:"+xsl, "-o:"+out).CombinedOutput(); err != nil {
		t.Fatalf("saxon: %v: %s", err, b)
	}
	fatal, other = map[string][]string{}, map[string][]string{}
	ents, err := os.ReadDir(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatalf("no SVRL for %s: %v", e.Name(), err)
		}
		fatal[e.Name()], other[e.Name()] = nil, nil
		d := xml.NewDecoder(bytes.NewReader(b))
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("SVRL of %s: %v", e.Name(), err)
			}
			se, ok := tok.(xml.StartElement)
			if !ok || se.Name.Local != "failed-assert" {
				continue
			}
			var id, flag string
			for _, a := range se.Attr {
				switch a.Name.Local {
				case "id":
					id = a.Value
				case "flag":
					flag = a.Value
				}
			}
			if flag == "fatal" {
				fatal[e.Name()] = append(fatal[e.Name()], id)
			} else {
				other[e.Name()] = append(other[e.Name()], id)
			}
		}
	}
	return fatal, other
}

// TestOracleSchematron runs the EN 16931 (DiGA) and XRechnung 2.2.0 rule
// sets with Saxon-HE on (a) the golden and freshly built invoices: no
// failed assertion at all; (b) the shared samples: exactly the codes of
// samples/expected.json; (c) the X2 negative cases: the EN 16931 and
// XRechnung error rules of Check equal Saxon's fatal assertions.
func TestOracleSchematron(t *testing.T) {
	needSaxon(t)
	en, xr := saxonRules(t)
	in := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(in, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range xrechnungtest.Goldens() {
		doc, err := tc.Builder.Build(tc.Invoice)
		if err != nil {
			t.Fatal(err)
		}
		write("built_"+tc.Name+".xml", doc)
	}
	samples, exp := loadExpected(t)
	for _, e := range exp {
		b, err := os.ReadFile(filepath.Join(samples, e.File))
		if err != nil {
			t.Fatal(err)
		}
		write("sample_"+filepath.Base(e.File), b)
	}
	neg := negCases(t)
	for i, tc := range neg {
		if slices.ContainsFunc(tc.Errors, func(r string) bool { return r == "XML" || r == "XSD" }) {
			continue // the insurer stops at the XSD step
		}
		write(fmt.Sprintf("neg_%02d.xml", i), tc.Doc)
	}
	enF, enO := saxonDir(t, in, en)
	xrF, xrO := saxonDir(t, in, xr)

	for _, tc := range xrechnungtest.Goldens() {
		n := "built_" + tc.Name + ".xml"
		if len(enF[n])+len(enO[n])+len(xrF[n])+len(xrO[n]) != 0 {
			t.Errorf("%s: Saxon failed assertions EN16931 %v %v, XRechnung %v %v", n, enF[n], enO[n], xrF[n], xrO[n])
		}
	}
	for _, e := range exp {
		n := "sample_" + filepath.Base(e.File)
		gotEN := append(append([]string{}, enF[n]...), enO[n]...)
		gotXR := append(append([]string{}, xrF[n]...), xrO[n]...)
		if !sameMultiset(gotEN, e.Observed.EN16931Diga) || !sameMultiset(gotXR, e.Observed.XRechnung) {
			t.Errorf("%s: Saxon EN16931 %v XRechnung %v; expected.json %v %v", n, gotEN, gotXR, e.Observed.EN16931Diga, e.Observed.XRechnung)
		}
		// Check reports every rule Saxon reports
		doc, _ := os.ReadFile(filepath.Join(in, n))
		rules := ruleSet(xrechnung.Check(doc), func(xrechnung.Finding) bool { return true })
		for _, r := range append(gotEN, gotXR...) {
			if !slices.Contains(rules, r) {
				t.Errorf("%s: Saxon reports %s, Check does not", n, r)
			}
		}
	}
	for i, tc := range neg {
		n := fmt.Sprintf("neg_%02d.xml", i)
		if _, ok := enF[n]; !ok {
			continue
		}
		saxon := uniqSorted(append(append([]string{}, enF[n]...), xrF[n]...))
		doc, _ := os.ReadFile(filepath.Join(in, n))
		ours := ruleSet(xrechnung.Check(doc), func(f xrechnung.Finding) bool {
			return f.Level == xrechnung.LevelError && !strings.HasPrefix(f.Rule, "DRE0-")
		})
		if !slices.Equal(saxon, ours) {
			t.Errorf("%s (%s): Saxon fatal %v, Check (non-DRE0 errors) %v", n, tc.Name, saxon, ours)
		}
		sw := uniqSorted(append(append([]string{}, enO[n]...), xrO[n]...))
		ow := ruleSet(xrechnung.Check(doc), func(f xrechnung.Finding) bool {
			return f.Level != xrechnung.LevelError && !strings.HasPrefix(f.Rule, "DRE0-") && f.Rule != "DIGAKIT-FSC-1"
		})
		if !slices.Equal(sw, ow) {
			t.Errorf("%s (%s): Saxon warnings %v, Check warnings %v", n, tc.Name, sw, ow)
		}
	}
}

func ruleSet(fs []xrechnung.Finding, keep func(xrechnung.Finding) bool) []string {
	var out []string
	for _, f := range fs {
		if keep(f) {
			out = append(out, f.Rule)
		}
	}
	return uniqSorted(out)
}

func uniqSorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func sameMultiset(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestOracleReportXSD validates the hand-written report fixtures with
// xmllint against the KoSIT report schema, so that X4 tests realistic
// reports (no_assessment.xml is invalid on purpose).
func TestOracleReportXSD(t *testing.T) {
	needXmllint(t)
	xsd := filepath.Join(sharedData(t), "gkv", "xsd", "report", "report.xsd")
	ents, err := os.ReadDir(filepath.Join("testdata", "reports"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "feh_") {
			continue
		}
		p := filepath.Join("testdata", "reports", e.Name())
		out, err := exec.Command("xmllint", "--noout", "--schema", xsd, p).CombinedOutput()
		want := e.Name() != "no_assessment.xml"
		if (err == nil) != want {
			t.Errorf("%s: xmllint valid = %v, want %v: %s", e.Name(), err == nil, want, out)
		}
	}
}
