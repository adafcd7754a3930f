package miocheck

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/digakit/digakit/mio/miotest"
)

// mutation breaks exactly one rule of a valid builder output.
type mutation struct {
	name string
	str  func(s string) string
	tree func(d *etree.Document)
	// xsd is true when the R4 schema is expected to catch it; otherwise
	// the Go checker must.
	xsd bool
}

func replaceNth(s, old, new string, n int) string {
	idx := -1
	for i := 0; i <= n; i++ {
		j := strings.Index(s[idx+1:], old)
		if j < 0 {
			return s
		}
		idx += 1 + j
	}
	return s[:idx] + new + s[idx+len(old):]
}

func rep(old, new string) func(string) string {
	return func(s string) string { return strings.Replace(s, old, new, 1) }
}

func resourceByProfile(d *etree.Document, suffix string) *etree.Element {
	for _, p := range d.FindElements("//meta/profile") {
		if strings.HasSuffix(p.SelectAttrValue("value", ""), suffix) {
			return p.Parent().Parent()
		}
	}
	return nil
}

var mutations = []mutation{
	{name: "drop Composition meta.versionId", str: func(s string) string {
		return replaceNth(s, `<versionId value="1"></versionId>`, ``, 1)
	}},
	{name: "drop Bundle meta.lastUpdated", str: rep(`<lastUpdated value="2024-05-01T10:00:00+02:00"></lastUpdated>`, ``)},
	{name: "profile without version", str: rep(`KBV_PR_MIO_DIGA_Observation_Body_Weight|1.1.0`, `KBV_PR_MIO_DIGA_Observation_Body_Weight`)},
	{name: "title Export", str: rep(`<title value="DiGA-Export">`, `<title value="Export">`)},
	{name: "corrected typo title Anhänge", str: rep(`<title value="Anhaenge">`, `<title value="Anhänge">`)},
	{name: "corrected typo code SectionAnhaenge", str: rep(`SectionAnhhaenge`, `SectionAnhaenge`)},
	{name: "section code version 1.0.0", str: rep(`<version value="1.1.0"></version>`, `<version value="1.0.0"></version>`)},
	{name: "empty section", tree: func(d *etree.Document) {
		for _, s := range d.FindElements("//Composition/section") {
			if s.SelectElement("title").SelectAttrValue("value", "") == "Anhaenge" {
				for _, e := range s.SelectElements("entry") {
					s.RemoveChild(e)
				}
			}
		}
	}},
	{name: "Composition not first", tree: func(d *etree.Document) {
		b := d.Root()
		entries := b.SelectElements("entry")
		b.RemoveChild(entries[0])
		b.InsertChildAt(entries[2].Index()+1, entries[0])
	}},
	{name: "two Compositions", tree: func(d *etree.Document) {
		b := d.Root()
		c := b.SelectElements("entry")[0].Copy()
		c.SelectElement("fullUrl").CreateAttr("value", "urn:uuid:00000000-0000-4000-8000-000000000001")
		b.InsertChildAt(b.SelectElements("entry")[1].Index(), c)
	}},
	{name: "foreign profile", str: rep(`KBV_PR_MIO_DIGA_Observation_Heart_Rate|1.1.0`, `KBV_PR_Base_Observation_Heart_Rate|1.3.0`)},
	{name: "Bundle type collection", str: rep(`<type value="document">`, `<type value="collection">`)},
	{name: "Final instead of final", str: rep(`<status value="final">`, `<status value="Final">`), xsd: true},
	{name: "QR status in-progress", str: rep(`<status value="completed"></status>`, `<status value="in-progress"></status>`)},
	{name: "status before extension", tree: func(d *etree.Document) {
		c := d.FindElement("//Composition")
		st := c.SelectElement("status")
		c.RemoveChild(st)
		c.InsertChildAt(c.SelectElement("extension").Index(), st)
	}, xsd: true},
	{name: "namespace with trailing slash", str: rep(`xmlns="http://hl7.org/fhir"`, `xmlns="http://hl7.org/fhir/"`), xsd: true},
	{name: "literal newline in attribute", str: rep(`Heute ging es mir gut.&#xA;Keine`, "Heute ging es mir gut.\nKeine")},
	{name: "upper-case UUID", str: func(s string) string {
		return strings.Replace(s, `urn:uuid:8e8017c3-ebeb-5b71-a5ca-c0cf45654203`, `urn:uuid:8E8017C3-EBEB-5B71-A5CA-C0CF45654203`, 1)
	}},
	{name: "NaN decimal", str: rep(`<value value="72.50">`, `<value value="NaN">`)},
	{name: "leading zero decimal", str: rep(`<value value="72.50">`, `<value value="072.50">`)},
	{name: "exponent decimal", str: rep(`<value value="72.50">`, `<value value="7.25E1">`)},
	{name: "dateTime without seconds", str: rep(`2024-04-02T07:30:00+02:00`, `2024-04-02T07:30+02:00`), xsd: true},
	{name: "dateTime without zone", str: rep(`2024-04-02T07:30:00+02:00`, `2024-04-02T07:30:00`), xsd: true},
	{name: "code with leading space", str: rep(`<code value="29463-7">`, `<code value=" 29463-7">`)},
	{name: "dangling reference", str: func(s string) string {
		return replaceNth(s, `<reference value="urn:uuid:8e8017c3-ebeb-5b71-a5ca-c0cf45654203">`, `<reference value="urn:uuid:8e8017c3-ebeb-5b71-a5ca-c0cf45654204">`, 1)
	}},
	{name: "duplicate fullUrl", tree: func(d *etree.Document) {
		es := d.Root().SelectElements("entry")
		es[2].SelectElement("fullUrl").CreateAttr("value", es[1].SelectElement("fullUrl").SelectAttrValue("value", ""))
	}},
	{name: "missing humanname-own-name", tree: func(d *etree.Document) {
		f := d.FindElement("//Patient/name/family")
		for _, e := range f.SelectElements("extension") {
			if strings.HasSuffix(e.SelectAttrValue("url", ""), "humanname-own-name") {
				f.RemoveChild(e)
			}
		}
	}},
	{name: "vital sign without SNOMED coding", tree: func(d *etree.Document) {
		r := resourceByProfile(d, "Observation_Body_Weight|1.1.0")
		code := r.SelectElement("code")
		for _, c := range code.SelectElements("coding") {
			if c.SelectElement("system").SelectAttrValue("value", "") == "http://snomed.info/sct" {
				code.RemoveChild(c)
			}
		}
	}},
	{name: "LOINC version 2.71", str: func(s string) string {
		return regexp.MustCompile(`<version value="2.72"></version>(\s*<code value="29463-7">)`).ReplaceAllString(s, `<version value="2.71"></version>$1`)
	}},
	{name: "UCUM mmHg", str: rep(`<code value="mm[Hg]">`, `<code value="mmHg">`)},
	{name: "SpO2 without method", tree: func(d *etree.Document) {
		r := resourceByProfile(d, "Peripheral_Oxygen_Saturation|1.1.0")
		r.RemoveChild(r.SelectElement("method"))
	}},
	{name: "BP with top-level value", tree: func(d *etree.Document) {
		r := resourceByProfile(d, "Blood_Pressure|1.1.0")
		v := etree.NewElement("valueQuantity")
		v.CreateElement("value").CreateAttr("value", "120")
		r.InsertChildAt(r.SelectElement("component").Index(), v)
	}},
	{name: "empty value attribute", str: rep(`<value value="72.50">`, `<value value="">`), xsd: true},
	{name: "Provenance target DocumentReference", tree: func(d *etree.Document) {
		doc := resourceByProfile(d, "DocumentReference|1.1.0")
		id := doc.SelectElement("id").SelectAttrValue("value", "")
		p := resourceByProfile(d, "Provenance|1.1.0")
		t := p.SelectElement("target").Copy()
		t.SelectElement("reference").CreateAttr("value", "urn:uuid:"+id)
		p.InsertChildAt(p.SelectElement("target").Index(), t)
	}},
	{name: "attachment size added", tree: func(d *etree.Document) {
		a := d.FindElement("//DocumentReference/content/attachment")
		s := etree.NewElement("size")
		s.CreateAttr("value", "56")
		a.InsertChildAt(a.SelectElement("title").Index(), s)
	}},
	{name: "gender other without extension", str: rep(`<gender value="female">`, `<gender value="other">`)},
	{name: "Composition identifier", tree: func(d *etree.Document) {
		c := d.FindElement("//Composition")
		id := d.Root().SelectElement("identifier").Copy()
		c.InsertChildAt(c.SelectElement("status").Index(), id)
	}},
	{name: "Condition without recorder", tree: func(d *etree.Document) {
		r := resourceByProfile(d, "Condition_Problem|1.1.0")
		r.RemoveChild(r.SelectElement("recorder"))
	}},
	{name: "Condition category outside Problem_Type", str: rep(`<code value="64572001">`, `<code value="73211009">`)},
	{name: "MedicationAdministration status in-progress", tree: func(d *etree.Document) {
		r := resourceByProfile(d, "MedicationAdministration_Medication_Intake|1.1.0")
		r.SelectElement("status").CreateAttr("value", "in-progress")
	}},
	{name: "MedicationStatement with medicationCodeableConcept", tree: func(d *etree.Document) {
		r := resourceByProfile(d, "MedicationStatement_Medication_Information|1.1.0")
		m := r.SelectElement("medicationReference")
		cc := etree.NewElement("medicationCodeableConcept")
		cc.CreateElement("text").CreateAttr("value", "Metformin")
		r.InsertChildAt(m.Index(), cc)
		r.RemoveChild(m)
	}},
	{name: "Food_Composition_Types with effectiveDateTime", tree: func(d *etree.Document) {
		r := resourceByProfile(d, "Food_Composition_Types|1.1.0")
		e := etree.NewElement("effectiveDateTime")
		e.CreateAttr("value", "2024-04-12T12:30:00+02:00")
		r.InsertChildAt(r.SelectElement("valueQuantity").Index(), e)
	}},
	{name: "PractitionerRole without organization", tree: func(d *etree.Document) {
		r := resourceByProfile(d, "PractitionerRole|1.1.0")
		r.RemoveChild(r.SelectElement("organization"))
	}},
	{name: "Appointment participant needs-action", tree: func(d *etree.Document) {
		r := resourceByProfile(d, "Appointment|1.1.0")
		r.SelectElement("participant").SelectElement("status").CreateAttr("value", "needs-action")
	}},
	{name: "section ziele lists a Goal_Treatment_Goal", tree: func(d *etree.Document) {
		tg := resourceByProfile(d, "Goal_Treatment_Goal|1.1.0")
		id := tg.SelectElement("id").SelectAttrValue("value", "")
		for _, s := range d.FindElements("//Composition/section") {
			if s.SelectElement("title").SelectAttrValue("value", "") == "Ziele" {
				s.SelectElement("entry").SelectElement("reference").CreateAttr("value", "urn:uuid:"+id)
			}
		}
	}},
	{name: "Condition without onset", tree: func(d *etree.Document) {
		r := resourceByProfile(d, "Condition_Problem|1.1.0")
		r.RemoveChild(r.SelectElement("onsetDateTime"))
	}},
	{name: "booked Appointment without end", tree: func(d *etree.Document) {
		r := resourceByProfile(d, "Appointment|1.1.0")
		r.RemoveChild(r.SelectElement("end"))
	}},
	{name: "attachment without contentType", tree: func(d *etree.Document) {
		a := d.FindElement("//DocumentReference/content/attachment")
		a.RemoveChild(a.SelectElement("contentType"))
	}},
	{name: "reference range low above high", str: rep(`<value value="6"></value>`, `<value value="-6"></value>`)},
	{name: "period start after end", str: rep(`<start value="2024-04-01T00:00:00+02:00">`, `<start value="2024-05-02T00:00:00+02:00">`)},
	{name: "event outside period", str: rep(`2024-04-02T07:30:00+02:00`, `2024-03-02T07:30:00+01:00`)},
}

func TestMutations(t *testing.T) {
	c := testChecker(t)
	orig, err := os.ReadFile("../testdata/golden/complete-0.xml")
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Check(bytes.NewReader(orig)); len(f) != 0 {
		t.Fatalf("baseline has findings: %v", f)
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			var doc []byte
			if m.str != nil {
				s := m.str(string(orig))
				if s == string(orig) {
					t.Fatal("mutation did not apply")
				}
				doc = []byte(s)
			} else {
				d := etree.NewDocument()
				d.WriteSettings.CanonicalAttrVal = true
				if err := d.ReadFromBytes(orig); err != nil {
					t.Fatal(err)
				}
				m.tree(d)
				out, err := d.WriteToBytes()
				if err != nil {
					t.Fatal(err)
				}
				doc = out
			}
			findings := c.Check(bytes.NewReader(doc))
			if m.xsd {
				if len(findings) > 0 {
					return
				}
				if _, ok := miotest.RunSchema(t, doc); ok {
					t.Fatal("neither the XSD nor the checker catches this mutation")
				}
				return
			}
			if len(findings) == 0 {
				t.Fatal("checker reports no finding")
			}
		})
	}
}

func TestNotWellFormed(t *testing.T) {
	c := testChecker(t)
	for _, in := range []string{"", "<Bundle", "<!DOCTYPE x [<!ENTITY a 'b'>]><Bundle xmlns=\"http://hl7.org/fhir\"/>", "<a/><b/>"} {
		f := c.Check(strings.NewReader(in))
		if len(f) != 1 || f[0].Rule != "xml" {
			t.Errorf("%q: %v", in, f)
		}
	}
	f := c.Check(strings.NewReader(`<Patient xmlns="http://example.org"/>`))
	if len(f) == 0 || f[0].Rule != "namespace" {
		t.Fatalf("foreign namespace: %v", f)
	}
}

func FuzzCheck(f *testing.F) {
	b, _ := os.ReadFile("../testdata/golden/minimal-0.xml")
	f.Add(b)
	f.Add([]byte(`<Patient xmlns="http://hl7.org/fhir"><meta><profile value="x"/></meta></Patient>`))
	c := testChecker(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = c.Check(bytes.NewReader(data))
	})
}
