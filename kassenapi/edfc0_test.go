package kassenapi

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const gkvData = "../../shared/data/gkv"

func TestBuildCheckRequestValidatesAgainstXSD(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed: XSD check skipped")
	}
	xsd := filepath.Join(gkvData, "xsd", "EDFC0-Pruefung_3.0.0.xsd")
	if _, err := os.Stat(xsd); err != nil {
		t.Skip("EDFC0 XSD not available: ", err)
	}
	code, err := ParseCodeMode("77AAAAAAAAAAAAAX", CodeModeTest)
	if err != nil {
		t.Fatal(err)
	}
	for _, proc := range []string{ProcedureCheck, ProcedureCheckTest} {
		b, err := BuildCheckRequest(proc, "990000018", "990000101", "12345", code)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "anfrage.xml")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(xmllint, "--noout", "--schema", xsd, f).CombinedOutput()
		if err != nil {
			t.Fatalf("%s request does not validate: %s", proc, out)
		}
		m, err := ParseCheckMessage(b)
		if err != nil || m.MessageType != "ANF" || m.Code != code.Plain() || m.DiGAID != "12345" || m.InsurerIK != "990000101" || len(m.Warnings) != 0 {
			t.Fatalf("round trip: %v %+v", err, m)
		}
	}
	for name, f := range map[string]func() error{
		"procedure": func() error {
			_, err := BuildCheckRequest("EDRE0", "990000018", "990000101", "12345", code)
			return err
		},
		"ik":   func() error { _, err := BuildCheckRequest("EDFC0", "99000018", "990000101", "12345", code); return err },
		"diga": func() error { _, err := BuildCheckRequest("EDFC0", "990000018", "990000101", "1234", code); return err },
		"code": func() error {
			_, err := BuildCheckRequest("EDFC0", "990000018", "990000101", "12345", Code{})
			return err
		},
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseCheckMessageSamples(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(gkvData, "samples", "dfc0", name))
		if err != nil {
			t.Skip("samples not available: ", err)
		}
		return b
	}
	m, err := ParseCheckMessage(read("Antwort_3.0_valid.xml"))
	if err != nil || m.MessageType != "ANT" || m.VEID != "12345000" || m.ServiceDay != "2020-08-19" || m.Sender != "987654321" || m.Procedure != "TDFC0" {
		t.Fatalf("ANT: %v %+v", err, m)
	}
	m, err = ParseCheckMessage(read("FEH-100.xml"))
	if err != nil || m.Namespace != NamespaceEDFC0v2 || len(m.Errors) != 1 || m.Errors[0].Nummer != 100 || m.Errors[0].Text != "Freischaltcode / Rezeptcode abgelaufen" {
		t.Fatalf("FEH-100: %v %+v", err, m)
	}
	m, err = ParseCheckMessage(read("FEH-200.xml"))
	if err != nil || m.Errors[0].Nummer != 200 || m.Errors[0].XPath != "/Pruefung_Freischaltcode/Anfrage" || !strings.Contains(m.Errors[0].Text, "ungültig") {
		t.Fatalf("FEH-200: %v %+v", err, m)
	}
	if m, err = ParseCheckMessage(read("Anfrage_3.0_valid.xml")); err != nil || m.MessageType != "ANF" {
		t.Fatalf("ANF: %v", err)
	}
}

const v3 = `xmlns="http://www.gkv-datenaustausch.de/XML-Schema/EDFC0_Pruefung/3.0" version="003.000.000" gueltigab="2022-08-25" verfahrenskennung="EDFC0" absender="990000200" empfaenger="990000018"`

func TestParseCheckMessageLenient(t *testing.T) {
	tests := []struct {
		name, in, warning string
		check             func(*CheckMessage) bool
	}{
		{"bom", "\xef\xbb\xbf<Pruefung_Freischaltcode " + v3 + ` nachrichtentyp="FEH"><Fehlerinformation><Fehlernummer>102</Fehlernummer></Fehlerinformation></Pruefung_Freischaltcode>`, "",
			func(m *CheckMessage) bool { return m.Errors[0].Nummer == 102 }},
		{"v2 ns with v3 version", `<p:Pruefung_Freischaltcode xmlns:p="http://www.gkv-datenaustausch.de/XML-Schema/EDFC0_Pruefung/2.0.0" version="003.000.000" nachrichtentyp="FEH"><p:Fehlerinformation><p:Fehlernummer>201</p:Fehlernummer></p:Fehlerinformation></p:Pruefung_Freischaltcode>`, "v2 namespace",
			func(m *CheckMessage) bool { return m.Errors[0].Nummer == 201 }},
		{"latin-1 declared", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Pruefung_Freischaltcode " + v3 + ` nachrichtentyp="FEH"><Fehlerinformation><Fehlernummer>200</Fehlernummer><Fehlertext>ung` + "\xfc" + `ltig   Anfrage</Fehlertext></Fehlerinformation></Pruefung_Freischaltcode>`, "",
			func(m *CheckMessage) bool { return m.Errors[0].Text == "ungültig Anfrage" }},
		{"1252 bytes declared utf-8", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Pruefung_Freischaltcode " + v3 + ` nachrichtentyp="FEH"><Fehlerinformation><Fehlernummer>200</Fehlernummer><Fehlertext>ung` + "\xfc\x80" + `ltig</Fehlertext></Fehlerinformation></Pruefung_Freischaltcode>`, "windows-1252",
			func(m *CheckMessage) bool { return m.Errors[0].Text == "ungü€ltig" }},
		{"several errors", "<Pruefung_Freischaltcode " + v3 + ` nachrichtentyp="FEH"><Fehlerinformation><Fehlernummer>102</Fehlernummer></Fehlerinformation><Fehlerinformation><Fehlernummer>200</Fehlernummer></Fehlerinformation></Pruefung_Freischaltcode>`, "",
			func(m *CheckMessage) bool { return len(m.Errors) == 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseCheckMessage([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(m) {
				t.Fatalf("%+v", m)
			}
			if tt.warning != "" && !strings.Contains(strings.Join(m.Warnings, "|"), tt.warning) {
				t.Fatalf("warnings %q", m.Warnings)
			}
		})
	}
}

func TestParseCheckMessageRejects(t *testing.T) {
	deep := "<Pruefung_Freischaltcode " + v3 + ` nachrichtentyp="FEH">` + strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40) + "</Pruefung_Freischaltcode>"
	for name, in := range map[string]string{
		"dtd":              `<!DOCTYPE x [<!ENTITY e "boom">]><Pruefung_Freischaltcode ` + v3 + ` nachrichtentyp="FEH"><Fehlerinformation><Fehlernummer>1</Fehlernummer></Fehlerinformation></Pruefung_Freischaltcode>`,
		"entity":           `<Pruefung_Freischaltcode ` + v3 + ` nachrichtentyp="FEH"><Fehlerinformation><Fehlernummer>&e;</Fehlernummer></Fehlerinformation></Pruefung_Freischaltcode>`,
		"unknown ns":       `<Pruefung_Freischaltcode xmlns="urn:x" nachrichtentyp="FEH"><Fehlerinformation><Fehlernummer>1</Fehlernummer></Fehlerinformation></Pruefung_Freischaltcode>`,
		"other root":       `<Antwort ` + v3 + `/>`,
		"ANT w/o Antwort":  `<Pruefung_Freischaltcode ` + v3 + ` nachrichtentyp="ANT"/>`,
		"FEH w/o info":     `<Pruefung_Freischaltcode ` + v3 + ` nachrichtentyp="FEH"/>`,
		"ANF w/o Anfrage":  `<Pruefung_Freischaltcode ` + v3 + ` nachrichtentyp="ANF"/>`,
		"bad type":         `<Pruefung_Freischaltcode ` + v3 + ` nachrichtentyp="XYZ"/>`,
		"bad Fehlernummer": `<Pruefung_Freischaltcode ` + v3 + ` nachrichtentyp="FEH"><Fehlerinformation><Fehlernummer>1000</Fehlernummer></Fehlerinformation></Pruefung_Freischaltcode>`,
		"no Fehlernummer":  `<Pruefung_Freischaltcode ` + v3 + ` nachrichtentyp="FEH"><Fehlerinformation><Fehlertext>x</Fehlertext></Fehlerinformation></Pruefung_Freischaltcode>`,
		"not xml":          "\x30\x80garbage",
		"empty":            "",
		"truncated":        `<Pruefung_Freischaltcode ` + v3 + ` nachrichtentyp="FEH"><Fehlerinformation>`,
		"too deep":         deep,
		"unknown charset":  `<?xml version="1.0" encoding="EBCDIC"?><Pruefung_Freischaltcode ` + v3 + ` nachrichtentyp="FEH"/>`,
	} {
		_, err := ParseCheckMessage([]byte(in))
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Class != ClassOutcomeUnknown {
			t.Errorf("%s: got %v", name, err)
		}
	}
	if _, err := ParseCheckMessage(make([]byte, MaxAnswerXML+1)); err == nil {
		t.Error("oversize accepted")
	}
}

func TestInsurerErrorClasses(t *testing.T) {
	tests := []struct {
		nums  []int
		class ErrorClass
		is    []error
	}{
		{[]int{100}, ClassRejected, []error{ErrCodeExpired}},
		{[]int{101}, ClassRejected, []error{ErrCodeCancelled}},
		{[]int{102}, ClassRejected, []error{ErrCodeNotFound}},
		{[]int{150}, ClassRejected, nil},
		{[]int{200}, ClassInternal, []error{ErrRequestRejected}},
		{[]int{201}, ClassTransient, []error{ErrInsurerUnavailable}},
		{[]int{202}, ClassTransient, []error{ErrInsurerUnavailable}},
		{[]int{250}, ClassTransient, nil},
		{[]int{300}, ClassInternal, nil},
		{[]int{201, 102}, ClassRejected, []error{ErrInsurerUnavailable, ErrCodeNotFound}},
		{[]int{102, 200}, ClassInternal, []error{ErrCodeNotFound, ErrRequestRejected}},
	}
	for _, tt := range tests {
		var infos []FehlerInfo
		for _, n := range tt.nums {
			infos = append(infos, FehlerInfo{Nummer: n, Text: "secret text"})
		}
		e := newInsurerError("EDFC0", infos)
		if e.Class != tt.class || ClassOf(e) != tt.class {
			t.Errorf("%v: class %v, want %v", tt.nums, e.Class, tt.class)
		}
		for _, s := range tt.is {
			if !errors.Is(e, s) {
				t.Errorf("%v: not %v", tt.nums, s)
			}
		}
		if strings.Contains(e.Error(), "secret") {
			t.Errorf("Fehlertext in error string")
		}
	}
}

// FuzzParseCheckMessage: the answer parser never panics; accepted
// messages satisfy DFC0-PF-1/2/3.
func FuzzParseCheckMessage(f *testing.F) {
	for _, n := range []string{"Anfrage_3.0_valid.xml", "Antwort_3.0_valid.xml", "FEH-100.xml", "FEH-200.xml"} {
		if b, err := os.ReadFile(filepath.Join(gkvData, "samples", "dfc0", n)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("<Pruefung_Freischaltcode " + v3 + ` nachrichtentyp="FEH"><Fehlerinformation><Fehlernummer>102</Fehlernummer></Fehlerinformation></Pruefung_Freischaltcode>`))
	f.Add([]byte("<?xml version=\"1.0\" encoding=\"windows-1252\"?><Pruefung_Freischaltcode " + v3 + ` nachrichtentyp="ANT"><Antwort><DiGAVEID>12345000</DiGAVEID></Antwort></Pruefung_Freischaltcode>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseCheckMessage(b)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("untyped error %T", err)
			}
			return
		}
		switch m.MessageType {
		case "ANT":
			if !m.HasAnswer {
				t.Fatal("ANT without Antwort accepted")
			}
		case "FEH":
			if len(m.Errors) == 0 {
				t.Fatal("FEH without Fehlerinformation accepted")
			}
		case "ANF":
			if !m.HasRequest {
				t.Fatal("ANF without Anfrage accepted")
			}
		default:
			t.Fatalf("type %q accepted", m.MessageType)
		}
	})
}
