package kassenapi

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// EDFC0 namespaces (spec A2.8). Requests are always written in v3.
const (
	NamespaceEDFC0v3 = "http://www.gkv-datenaustausch.de/XML-Schema/EDFC0_Pruefung/3.0"
	NamespaceEDFC0v2 = "http://www.gkv-datenaustausch.de/XML-Schema/EDFC0_Pruefung/2.0.0"
	NamespaceEDFC0v1 = "http://www.gkv-datenaustausch.de/XML-Schema/EDFC0_Pruefung/1.0"
)

// Procedures (Verfahrenskennungen).
const (
	ProcedureCheck       = "EDFC0"
	ProcedureCheckTest   = "TDFC0"
	ProcedureInvoice     = "EDRE0"
	ProcedureInvoiceTest = "TDRE0"
)

// MaxAnswerXML caps a decrypted answer (spec A3 "XML hardening").
const MaxAnswerXML = 10 << 20

const maxXMLDepth = 32

var (
	reIK    = regexp.MustCompile(`^[0-9]{9}$`)
	reDiGA  = regexp.MustCompile(`^[0-9]{5}$`)
	reVEID  = regexp.MustCompile(`^[0-9]{8}$`)
	reDigit = regexp.MustCompile(`^[0-9]{1,3}$`)
)

// BuildCheckRequest returns the EDFC0/TDFC0 request (nachrichtentyp ANF)
// in UTF-8 with an XML declaration (spec A2.8): absender and
// IK_DiGA_Hersteller = manufacturerIK, empfaenger and IK_Krankenkasse =
// insurerIK (Kostentraegerkennung).
//
// REQ: kassenapi-spec:A2.8
func BuildCheckRequest(procedure, manufacturerIK, insurerIK, digaID string, code Code) ([]byte, error) {
	switch {
	case procedure != ProcedureCheck && procedure != ProcedureCheckTest:
		return nil, fmt.Errorf("kassenapi: procedure %q is not EDFC0/TDFC0", procedure)
	case !reIK.MatchString(manufacturerIK), !reIK.MatchString(insurerIK):
		return nil, errors.New("kassenapi: IKs must have 9 digits")
	case !reDiGA.MatchString(digaID):
		return nil, errors.New("kassenapi: DiGA-ID must have 5 digits")
	case code.IsZero():
		return nil, errors.New("kassenapi: empty freischaltcode")
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<Pruefung_Freischaltcode xmlns="%s" version="003.000.000" gueltigab="2022-08-25" verfahrenskennung="%s" nachrichtentyp="ANF" absender="%s" empfaenger="%s">`,
		NamespaceEDFC0v3, procedure, manufacturerIK, insurerIK)
	b.WriteString("\n  <Anfrage>\n")
	fmt.Fprintf(&b, "    <IK_DiGA_Hersteller>%s</IK_DiGA_Hersteller>\n", manufacturerIK)
	fmt.Fprintf(&b, "    <IK_Krankenkasse>%s</IK_Krankenkasse>\n", insurerIK)
	fmt.Fprintf(&b, "    <DiGAID>%s</DiGAID>\n", digaID)
	fmt.Fprintf(&b, "    <Freischaltcode>%s</Freischaltcode>\n", code.Plain())
	b.WriteString("  </Anfrage>\n</Pruefung_Freischaltcode>\n")
	return b.Bytes(), nil
}

// CheckMessage is a parsed EDFC0 message (ANF, ANT or FEH) of any
// version. Fields hold the raw texts; the client checks them against the
// request.
type CheckMessage struct {
	Namespace   string
	Version     string // version attribute
	ValidFrom   string // gueltigab
	Procedure   string // verfahrenskennung
	MessageType string // nachrichtentyp: ANF, ANT, FEH
	Sender      string // absender
	Receiver    string // empfaenger

	// Anfrage / Antwort fields.
	HasRequest, HasAnswer bool
	ManufacturerIK        string // IK_DiGA_Hersteller
	InsurerIK             string // IK_Krankenkasse
	DiGAID                string // DiGAID (ANF)
	VEID                  string // DiGAVEID (ANT)
	Code                  string // Freischaltcode as sent (normalised by the caller)
	ServiceDay            string // Tag_der_Leistungserbringung

	Errors   []FehlerInfo // Fehlerinformation (FEH)
	Warnings []string
}

// ParseCheckMessage parses an EDFC0 message leniently but safely (spec
// A3, A4): no DTD or entities, at most MaxAnswerXML bytes and 32 levels,
// a BOM is allowed, UTF-8, ISO-8859-1/-15 and windows-1252 are decoded,
// bytes invalid for a declared UTF-8 are decoded as windows-1252 with a
// warning, v1/v2/v3 namespaces are read and a namespace/version mismatch
// is a warning. Structural rules (DFC0-PF-1/2/3) are checked here; the
// values are checked by the caller. Errors are *ProtocolError.
//
// REQ: kassenapi-spec:A2.8, kassenapi-spec:A4
func ParseCheckMessage(b []byte) (*CheckMessage, error) {
	perr := func(format string, a ...any) error {
		return &ProtocolError{Reason: fmt.Sprintf(format, a...), Class: ClassOutcomeUnknown}
	}
	if len(b) > MaxAnswerXML {
		return nil, perr("answer XML larger than %d bytes", MaxAnswerXML)
	}
	m := &CheckMessage{}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) && !declaresNonUTF8(b) {
		b = dirDecodeWindows1252(b)
		m.Warnings = append(m.Warnings, "answer bytes are not valid for the declared encoding; decoded as windows-1252")
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.CharsetReader = dirCharsetReader
	dec.Strict = true
	dec.Entity = nil

	var path []string
	var text strings.Builder
	var cur *FehlerInfo
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, perr("answer is not well-formed XML")
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, perr("answer contains a DTD or directive")
		case xml.StartElement:
			if len(path) >= maxXMLDepth {
				return nil, perr("answer nested deeper than %d", maxXMLDepth)
			}
			text.Reset()
			name := t.Name.Local
			if len(path) == 0 {
				if name != "Pruefung_Freischaltcode" {
					return nil, perr("unknown root element")
				}
				m.Namespace = t.Name.Space
				for _, a := range t.Attr {
					if a.Name.Space != "" && a.Name.Space != "xmlns" {
						continue
					}
					v := strings.TrimSpace(a.Value)
					switch a.Name.Local {
					case "version":
						m.Version = v
					case "gueltigab":
						m.ValidFrom = v
					case "verfahrenskennung":
						m.Procedure = v
					case "nachrichtentyp":
						m.MessageType = v
					case "absender":
						m.Sender = v
					case "empfaenger":
						m.Receiver = v
					}
				}
			} else if len(path) == 1 {
				switch name {
				case "Anfrage":
					m.HasRequest = true
				case "Antwort":
					m.HasAnswer = true
				case "Fehlerinformation":
					if len(m.Errors) >= 99 {
						return nil, perr("more than 99 Fehlerinformation elements")
					}
					m.Errors = append(m.Errors, FehlerInfo{})
					cur = &m.Errors[len(m.Errors)-1]
				}
			}
			path = append(path, name)
		case xml.CharData:
			if text.Len() < 4096 {
				text.Write(t)
			}
		case xml.EndElement:
			if len(path) == 0 {
				return nil, perr("unbalanced XML")
			}
			v := strings.TrimSpace(text.String())
			if len(path) == 3 {
				switch path[1] + "/" + path[2] {
				case "Anfrage/IK_DiGA_Hersteller", "Antwort/IK_DiGA_Hersteller":
					m.ManufacturerIK = v
				case "Anfrage/IK_Krankenkasse", "Antwort/IK_Krankenkasse":
					m.InsurerIK = v
				case "Anfrage/DiGAID":
					m.DiGAID = v
				case "Antwort/DiGAVEID":
					m.VEID = v
				case "Anfrage/Freischaltcode", "Antwort/Freischaltcode":
					m.Code = v
				case "Antwort/Tag_der_Leistungserbringung":
					m.ServiceDay = v
				case "Fehlerinformation/Fehlernummer":
					if cur != nil {
						n, err := strconv.Atoi(v)
						if err != nil || !reDigit.MatchString(v) || n <= 0 {
							return nil, perr("Fehlernummer is not a positive number of at most 3 digits")
						}
						cur.Nummer = n
					}
				case "Fehlerinformation/Fehlertext":
					if cur != nil {
						cur.Text = strings.Join(strings.Fields(v), " ")
					}
				case "Fehlerinformation/XPath":
					if cur != nil {
						cur.XPath = v
					}
				}
			}
			path = path[:len(path)-1]
			text.Reset()
		}
	}
	switch m.Namespace {
	case NamespaceEDFC0v3:
		if m.Version != "003.000.000" {
			m.Warnings = append(m.Warnings, fmt.Sprintf("v3 namespace with version %q", m.Version))
		}
	case NamespaceEDFC0v2:
		if m.Version != "002.000.000" {
			m.Warnings = append(m.Warnings, fmt.Sprintf("v2 namespace with version %q", m.Version))
		}
	case NamespaceEDFC0v1:
	default:
		return nil, perr("unknown root namespace")
	}
	switch m.MessageType {
	case "ANF":
		if !m.HasRequest {
			return nil, perr("ANF without Anfrage")
		}
	case "ANT":
		if !m.HasAnswer {
			return nil, perr("ANT without Antwort")
		}
	case "FEH":
		if len(m.Errors) == 0 {
			return nil, perr("FEH without Fehlerinformation")
		}
		for _, e := range m.Errors {
			if e.Nummer == 0 {
				return nil, perr("Fehlerinformation without Fehlernummer")
			}
		}
	default:
		return nil, perr("unknown nachrichtentyp")
	}
	return m, nil
}
