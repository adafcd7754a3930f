package miotest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// ErrNoFHIRData means no FHIR data directory was found.
var ErrNoFHIRData = errors.New("miotest: FHIR data directory not found")

// DataDir returns the FHIR data directory: $DIGAKIT_FHIR_DATA, else the
// first shared/data/fhir found walking up from the working directory.
func DataDir() (string, error) {
	if d := os.Getenv("DIGAKIT_FHIR_DATA"); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d, nil
		}
		return "", ErrNoFHIRData
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", ErrNoFHIRData
	}
	for {
		cand := filepath.Join(dir, "shared", "data", "fhir")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoFHIRData
		}
		dir = parent
	}
}

// The one-line R4 XSD fix (hapi-fhir#2093): MedicationStatement.status is
// typed with Medication's status codes in the published schema.
const (
	xsdBug = `<xs:element name="status" minOccurs="1" maxOccurs="1" type="MedicationStatusCodes">`
	xsdFix = `<xs:element name="status" minOccurs="1" maxOccurs="1" type="code">`
)

var (
	schemaOnce sync.Once
	schemaPath string
	schemaErr  error
)

// PatchedSchema copies the three R4 XSDs to a private temporary directory
// (once per process), applies the MedicationStatement.status fix there and
// returns the path of fhir-single.xsd. The shared data is never modified.
func PatchedSchema() (string, error) {
	schemaOnce.Do(func() {
		data, err := DataDir()
		if err != nil {
			schemaErr = err
			return
		}
		dir, err := os.MkdirTemp("", "miotest-xsd-")
		if err != nil {
			schemaErr = err
			return
		}
		for _, f := range []string{"fhir-single.xsd", "fhir-xhtml.xsd", "xml.xsd"} {
			b, err := os.ReadFile(filepath.Join(data, "r4-xsd", f))
			if err != nil {
				schemaErr = ErrNoFHIRData
				return
			}
			if f == "fhir-single.xsd" {
				b, err = patchXSD(b)
				if err != nil {
					schemaErr = err
					return
				}
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
				schemaErr = err
				return
			}
		}
		schemaPath = filepath.Join(dir, "fhir-single.xsd")
	})
	return schemaPath, schemaErr
}

// patchXSD replaces the status type inside the MedicationStatement
// complexType and asserts exactly one replacement there.
func patchXSD(b []byte) ([]byte, error) {
	s := string(b)
	start := strings.Index(s, `<xs:complexType name="MedicationStatement">`)
	if start < 0 {
		return nil, errors.New("miotest: MedicationStatement complexType not found")
	}
	end := strings.Index(s[start:], "</xs:complexType>")
	if end < 0 {
		return nil, errors.New("miotest: MedicationStatement complexType not closed")
	}
	block := s[start : start+end]
	if strings.Count(block, xsdBug) != 1 {
		return nil, errors.New("miotest: expected exactly one status element to patch")
	}
	block = strings.Replace(block, xsdBug, xsdFix, 1)
	return []byte(s[:start] + block + s[start+end:]), nil
}

// CheckSchema validates doc with xmllint --stream against the patched R4
// schema. It skips when xmllint or the data are missing, unless
// DIGAKIT_REQUIRE_FHIR_DATA=1, then it fails.
//
// REQ: mio-spec:6.1
func CheckSchema(t testing.TB, doc []byte) {
	t.Helper()
	if out, ok := RunSchema(t, doc); !ok {
		t.Fatalf("xmllint rejects the document:\n%s", out)
	}
}

// RunSchema is CheckSchema returning xmllint's output and the verdict
// instead of failing (for mutation tests).
func RunSchema(t testing.TB, doc []byte) (string, bool) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		skipOrFail(t, "xmllint not installed")
	}
	xsd, err := PatchedSchema()
	if err != nil {
		skipOrFail(t, err.Error())
	}
	cmd := exec.Command(bin, "--noout", "--stream", "--schema", xsd, "-")
	cmd.Stdin = bytes.NewReader(doc)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("DIGAKIT_REQUIRE_FHIR_DATA") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
