package xrechnung

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Namespaces of the insurer's billing answer.
const (
	nsVARL      = "http://www.xoev.de/de/validator/varl/1"
	nsScenarios = "http://www.xoev.de/de/validator/framework/1/scenarios"
)

// Verdict is the outcome of a billing answer for the invoice state
// machine (spec B3.7).
type Verdict string

// Verdicts of [Report.Classify].
const (
	// VerdictAccepted: assessment accept, whatever valid says (B2.4).
	VerdictAccepted Verdict = "accepted"
	// VerdictRejectedBusiness: reject with errors only in the insurer's
	// business step INVER, or an FEH answer other than 201/202.
	VerdictRejectedBusiness Verdict = "rejected_business"
	// VerdictRejectedFormat: reject with errors in val-xsd/val-sch.*, or
	// no scenario matched: our bug or rule drift.
	VerdictRejectedFormat Verdict = "rejected_format"
	// VerdictMismatch: neither accept nor reject, or a report about
	// another invoice; treat the submission as unknown and alert.
	VerdictMismatch Verdict = "mismatch"
	// VerdictRetry: an FEH-style answer 201 (server error) or 202
	// (storage error); the same bytes may be sent again.
	VerdictRetry Verdict = "retry"
)

// Message is one message of a validation step (rep:message).
type Message struct {
	ID    string // message id within the report
	Code  string // rule code, e.g. "BR-DE-15", "DRE0-SCTT-3", "INVER-1"
	Level string // "error", "warning" or "information" as written
	XPath string // xpathLocation
	Text  string // the insurer's text; may contain the Freischaltcode, see SafeText
	// Downgraded is true when the assessment's customLevel lowered this
	// code's level (the message itself keeps level="error").
	Downgraded bool
}

// reCodeInText finds Freischaltcodes in free text, plain or in groups of
// four ("77AA AAAA AAAA AAAX").
var reCodeInText = regexp.MustCompile(`[A-Z2-7]{4}[ -]?[A-Z2-7]{4}[ -]?[A-Z2-7]{4}[ -]?[A-Z2-7]{4}`)

// SafeText returns Text with anything that looks like a Freischaltcode
// replaced by "[code]", for logs and operator screens.
func (m Message) SafeText() string { return redactCodes(m.Text) }

func redactCodes(s string) string { return reCodeInText.ReplaceAllString(s, "[code]") }

// Step is one validation step result (rep:validationStepResult): val-xsd,
// val-sch.1 (EN 16931), val-sch.2 (XRechnung), val-sch.3 (DiGA dre0) and
// INVER (the insurer's business check).
type Step struct {
	ID       string
	Valid    bool
	Messages []Message
}

// DocumentData is rep:documentData of the DiGA scenario: what the insurer
// read from the invoice.
type DocumentData struct {
	Seller, ID, IssueDate, VEID, SellerIK, BuyerIK, PayeeIK string
	Code                                                    string // digaFreischaltcode; never log it
}

// FEH is an EDFC0-style error answer (Fehlerinformation) in place of a
// report. Whether EDRE0 ever sends one is unverified (B2.4); both are
// recognised.
type FEH struct {
	Number int    // Fehlernummer (Anhang 5)
	Text   string // Fehlertext; may contain the code, see SafeText
	XPath  string
}

// SafeText returns Text with codes redacted.
func (f FEH) SafeText() string { return redactCodes(f.Text) }

// Report is the parsed billing answer: a KoSIT validator report (VARL
// 1.0.0, spec B2.4), or an FEH message (then only FEH is set).
type Report struct {
	Valid           bool   // rep:report/@valid: false already with warnings only
	Engine          string // e.g. "KoSIT Validator 1.5.0"
	Timestamp       string
	HashAlgorithm   string
	HashValue       string // base64
	ScenarioMatched bool
	Scenario        string // s:scenario/s:name
	Document        DocumentData
	Steps           []Step
	// Assessment is "accept", "reject" or "" when the report has neither.
	Assessment string
	// CustomLevels maps rule codes to the level the scenario downgraded
	// them to (BR-CL-01/10/23/25/26 → warning for DiGA).
	CustomLevels map[string]string
	FEH          []FEH
}

// String summarises r without message texts or the code.
func (r *Report) String() string {
	if len(r.FEH) > 0 {
		return fmt.Sprintf("xrechnung.Report{FEH:%d}", r.FEH[0].Number)
	}
	return fmt.Sprintf("xrechnung.Report{Assessment:%q Valid:%v Scenario:%v Steps:%d Invoice:%q}", r.Assessment, r.Valid, r.ScenarioMatched, len(r.Steps), r.Document.ID)
}

// ParseReport parses the decrypted nutzdaten of an EDRE0/TDRE0 answer:
// a rep:report, or an EDFC0-style Pruefung_Freischaltcode with
// Fehlerinformation. Anything else gives a *ReportError. The input is
// limited to [MaxDocumentSize]; DTDs are rejected.
func ParseReport(b []byte) (*Report, error) {
	root, err := parseXML(b)
	if err != nil {
		return nil, &ReportError{Reason: err.Error()}
	}
	if root.local == "Pruefung_Freischaltcode" && strings.HasPrefix(root.ns, "http://www.gkv-datenaustausch.de/XML-Schema/EDFC0_Pruefung/") {
		return parseFEH(root)
	}
	if root.ns != nsVARL || root.local != "report" {
		return nil, &ReportError{Reason: "root element is neither rep:report nor Pruefung_Freischaltcode"}
	}
	r := &Report{CustomLevels: map[string]string{}}
	switch v, _ := root.attr("valid"); strings.TrimSpace(v) {
	case "true", "1":
		r.Valid = true
	case "false", "0":
	default:
		return nil, &ReportError{Reason: "report has no valid attribute"}
	}
	if v, _ := root.attr("varlVersion"); !strings.HasPrefix(strings.TrimSpace(v), "1.") {
		return nil, &ReportError{Reason: "unsupported varlVersion"}
	}
	r.Engine = root.first("rep:engine", "rep:name").norm()
	r.Timestamp = root.first("rep:timestamp").norm()
	r.HashAlgorithm = root.first("rep:documentIdentification", "rep:documentHash", "rep:hashAlgorithm").norm()
	r.HashValue = root.first("rep:documentIdentification", "rep:documentHash", "rep:hashValue").norm()
	sc := root.first("rep:scenarioMatched")
	ns := root.first("rep:noScenarioMatched")
	switch {
	case sc != nil && ns != nil:
		return nil, &ReportError{Reason: "report has both scenarioMatched and noScenarioMatched"}
	case sc != nil:
		r.ScenarioMatched = true
		r.Scenario = sc.first("s:scenario", "s:name").norm()
		if dd := sc.first("rep:documentData"); dd != nil {
			get := func(name string) string {
				for _, k := range dd.kids {
					if k.local == name {
						return k.norm()
					}
				}
				return ""
			}
			r.Document = DocumentData{
				Seller: get("seller"), ID: get("id"), IssueDate: get("issueDate"), VEID: get("digaVeId"),
				Code: get("digaFreischaltcode"), SellerIK: get("digaSellerIk"), BuyerIK: get("digaBuyerIk"), PayeeIK: get("digaPayeeIk"),
			}
		}
	case ns != nil:
		sc = ns
	default:
		return nil, &ReportError{Reason: "report has neither scenarioMatched nor noScenarioMatched"}
	}
	for _, s := range sc.all("rep:validationStepResult") {
		st := Step{}
		st.ID, _ = s.attr("id")
		v, _ := s.attr("valid")
		st.Valid = strings.TrimSpace(v) == "true" || strings.TrimSpace(v) == "1"
		for _, m := range s.all("rep:message") {
			msg := Message{Text: m.norm()}
			msg.ID, _ = m.attr("id")
			msg.Code, _ = m.attr("code")
			msg.Level, _ = m.attr("level")
			msg.XPath, _ = m.attr("xpathLocation")
			msg.Code, msg.Level = strings.TrimSpace(msg.Code), strings.TrimSpace(msg.Level)
			st.Messages = append(st.Messages, msg)
		}
		r.Steps = append(r.Steps, st)
	}
	as := root.first("rep:assessment")
	if as == nil {
		return nil, &ReportError{Reason: "report has no assessment"}
	}
	// customLevel downgrades: from the scenario copy (s:createReport) and
	// from the assessment (rep:customLevel), whichever the engine writes.
	levels := append(sc.all("s:scenario", "s:createReport", "s:customLevel"), as.all("rep:customLevel")...)
	for _, cl := range levels {
		lvl, _ := cl.attr("level")
		for _, code := range strings.Fields(cl.value()) {
			r.CustomLevels[code] = strings.TrimSpace(lvl)
		}
	}
	switch {
	case as.first("rep:accept") != nil && as.first("rep:reject") != nil:
		r.Assessment = ""
	case as.first("rep:accept") != nil:
		r.Assessment = "accept"
	case as.first("rep:reject") != nil:
		r.Assessment = "reject"
	}
	for i := range r.Steps {
		for j := range r.Steps[i].Messages {
			m := &r.Steps[i].Messages[j]
			if l, ok := r.CustomLevels[m.Code]; ok && l != m.Level {
				m.Downgraded = true
			}
		}
	}
	return r, nil
}

func parseFEH(root *xnode) (*Report, error) {
	r := &Report{}
	for _, k := range root.kids {
		if k.local != "Fehlerinformation" {
			continue
		}
		f := FEH{}
		for _, x := range k.kids {
			switch x.local {
			case "Fehlernummer":
				if _, err := fmt.Sscanf(x.norm(), "%d", &f.Number); err != nil || f.Number < 0 || f.Number > 999 {
					return nil, &ReportError{Reason: "FEH answer with a bad Fehlernummer"}
				}
			case "Fehlertext":
				f.Text = x.norm()
			case "XPath":
				f.XPath = x.norm()
			}
		}
		if f.Number == 0 {
			return nil, &ReportError{Reason: "FEH answer without Fehlernummer"}
		}
		r.FEH = append(r.FEH, f)
	}
	if len(r.FEH) == 0 {
		return nil, &ReportError{Reason: "EDFC0 answer without Fehlerinformation"}
	}
	return r, nil
}

// Accepted reports whether the insurer accepted the invoice (Classify is
// VerdictAccepted).
func (r *Report) Accepted() bool { return r.Classify() == VerdictAccepted }

// Classify maps the report to a verdict (spec B3.7). Acceptance is decided
// by the assessment alone: a report with valid="false" because of
// warnings or downgraded errors is accepted.
func (r *Report) Classify() Verdict {
	if len(r.FEH) > 0 {
		for _, f := range r.FEH {
			if f.Number != 201 && f.Number != 202 {
				return VerdictRejectedBusiness
			}
		}
		return VerdictRetry
	}
	switch r.Assessment {
	case "accept":
		return VerdictAccepted
	case "reject":
	default:
		return VerdictMismatch
	}
	if !r.ScenarioMatched {
		return VerdictRejectedFormat
	}
	business := false
	for _, s := range r.Steps {
		for _, m := range s.Messages {
			if m.Level != "error" || m.Downgraded {
				continue
			}
			if s.ID != "INVER" {
				return VerdictRejectedFormat
			}
			business = true
		}
		if !s.Valid && s.ID != "INVER" && len(s.Messages) == 0 {
			// an invalid format step without messages: treat as format
			return VerdictRejectedFormat
		}
	}
	if business {
		return VerdictRejectedBusiness
	}
	// reject without any error message: the rules changed under us
	return VerdictRejectedFormat
}

// ClassifyFor is Classify plus the correlation check of B3.7: a report
// whose documentData names another invoice number or another
// Freischaltcode is VerdictMismatch. Codes are compared in constant
// time; empty documentData fields are not compared.
func (r *Report) ClassifyFor(number, code string) Verdict {
	if len(r.FEH) == 0 && r.ScenarioMatched {
		if r.Document.ID != "" && r.Document.ID != number {
			return VerdictMismatch
		}
		if r.Document.Code != "" && !equalCode(strings.ReplaceAll(r.Document.Code, " ", ""), code) {
			return VerdictMismatch
		}
	}
	return r.Classify()
}

// Errors returns the messages that count as errors (level error and not
// downgraded), in report order.
func (r *Report) Errors() []Message {
	var out []Message
	for _, s := range r.Steps {
		for _, m := range s.Messages {
			if m.Level == "error" && !m.Downgraded {
				out = append(out, m)
			}
		}
	}
	return out
}

// Codes returns the distinct message codes of the report, sorted.
func (r *Report) Codes() []string {
	var out []string
	for _, s := range r.Steps {
		for _, m := range s.Messages {
			if !slices.Contains(out, m.Code) {
				out = append(out, m.Code)
			}
		}
	}
	slices.Sort(out)
	return out
}
