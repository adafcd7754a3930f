package xrechnungtest

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"regexp"
	"strings"
	"time"

	"github.com/digakit/digakit/kassenapi/xrechnung"
)

// ReportMessage is one message of a fake validation report: the
// validation step (val-xsd, val-sch.1, val-sch.2, val-sch.3 or INVER),
// the rule code and the text.
type ReportMessage struct {
	Step, Code, Text string
}

// Report renders a validation report in the KoSIT validator's VARL format
// (kassenapi spec B2.4) as the insurers' billing endpoints answer it: the
// document hash, the invoice number and Freischaltcode in documentData,
// one validationStepResult per step and the accept/reject assessment. It
// is what the fake insurers answer to an invoice.
func Report(doc []byte, number, code string, msgs []ReportMessage, at time.Time) []byte {
	h := sha256.Sum256(doc)
	var b strings.Builder
	valid := len(msgs) == 0
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<rep:report xmlns:rep="http://www.xoev.de/de/validator/varl/1" xmlns:s="http://www.xoev.de/de/validator/framework/1/scenarios" varlVersion="1.0.0" valid="%v">
<rep:engine><rep:name>digakit fake insurer</rep:name></rep:engine>
<rep:timestamp>%s</rep:timestamp>
<rep:documentIdentification><rep:documentHash><rep:hashAlgorithm>SHA-256</rep:hashAlgorithm><rep:hashValue>%s</rep:hashValue></rep:documentHash></rep:documentIdentification>
<rep:scenarioMatched><s:scenario><s:name>DiGA fake</s:name></s:scenario>
<rep:documentData><id>%s</id><digaFreischaltcode>%s</digaFreischaltcode></rep:documentData>
`, valid, at.UTC().Format(time.RFC3339), base64.StdEncoding.EncodeToString(h[:]), html.EscapeString(number), html.EscapeString(code))
	for _, step := range []string{"val-xsd", "val-sch.1", "val-sch.2", "val-sch.3", "INVER"} {
		var in []ReportMessage
		for _, m := range msgs {
			if m.Step == step {
				in = append(in, m)
			}
		}
		fmt.Fprintf(&b, `<rep:validationStepResult id="%s" valid="%v">`, step, len(in) == 0)
		for i, m := range in {
			fmt.Fprintf(&b, `<rep:message id="%s.m%d" code="%s" level="error" xpathLocation="/">%s</rep:message>`, step, i+1, html.EscapeString(m.Code), html.EscapeString(m.Text))
		}
		b.WriteString("</rep:validationStepResult>\n")
	}
	if valid {
		b.WriteString("</rep:scenarioMatched><rep:assessment><rep:accept/></rep:assessment></rep:report>\n")
	} else {
		b.WriteString("</rep:scenarioMatched><rep:assessment><rep:reject/></rep:assessment></rep:report>\n")
	}
	return []byte(b.String())
}

// CheckMessages runs the DiGA rule checker on doc and returns its error
// findings as report messages of step val-sch.3.
func CheckMessages(doc []byte) []ReportMessage {
	var msgs []ReportMessage
	for _, fd := range xrechnung.Check(doc) {
		if fd.Level == xrechnung.LevelError {
			msgs = append(msgs, ReportMessage{Step: "val-sch.3", Code: fd.Rule, Text: fd.Message})
		}
	}
	return msgs
}

var (
	reNumber = regexp.MustCompile(`<rsm:ExchangedDocument>\s*<ram:ID>([^<]*)</ram:ID>`)
	reCode   = regexp.MustCompile(`<ram:BuyerAssignedID schemeID="XR02">([^<]*)</ram:BuyerAssignedID>`)
	reType   = regexp.MustCompile(`<ram:TypeCode>(380|384)</ram:TypeCode>`)
)

// InvoiceKeys extracts the invoice number, the Freischaltcode and the type
// code (380 or 384) of an invoice built by [xrechnung.Build]; missing
// values are empty.
func InvoiceKeys(doc []byte) (number, code, typeCode string) {
	return match(reNumber, doc), match(reCode, doc), match(reType, doc)
}

func match(re *regexp.Regexp, b []byte) string {
	m := re.FindSubmatch(b)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(string(m[1]))
}
