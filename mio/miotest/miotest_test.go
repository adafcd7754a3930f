package miotest

import (
	"strings"
	"testing"
)

func TestPatchXSD(t *testing.T) {
	in := `<xs:complexType name="Medication">` + xsdBug + `</xs:complexType><xs:complexType name="MedicationStatement">` + xsdBug + `</xs:complexType>`
	out, err := patchXSD([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(out), xsdBug) != 1 || strings.Count(string(out), xsdFix) != 1 ||
		!strings.HasPrefix(string(out), `<xs:complexType name="Medication">`+xsdBug) {
		t.Fatalf("patched wrong element: %s", out)
	}
	if _, err := patchXSD([]byte(`<xs:complexType name="MedicationStatement"></xs:complexType>`)); err == nil {
		t.Fatal("no status element accepted")
	}
}

func TestSchemaRejects(t *testing.T) {
	out, ok := RunSchema(t, []byte(`<Patient xmlns="http://hl7.org/fhir/"/>`))
	if ok {
		t.Fatalf("wrong namespace accepted: %s", out)
	}
	CheckSchema(t, []byte(`<Patient xmlns="http://hl7.org/fhir"><id value="p1"/></Patient>`))
}
