package xrechnung_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/digakit/digakit/kassenapi/xrechnung"
)

func exampleInvoice() xrechnung.Invoice {
	return xrechnung.Invoice{
		Number:    "DG2025000001234",
		Type:      xrechnung.TypeInvoice,
		IssueDate: xrechnung.NewDate(2025, 3, 4),
		Seller: xrechnung.Party{
			IK: "987654321", Name: "Beispiel DiGA GmbH", VATID: "DE123456789",
			Contact: xrechnung.Contact{Name: "Erika Musterfrau", Phone: "+49 30 1234567", Email: "billing@example.com"},
			Address: xrechnung.Address{Street: "Musterstraße 1", Postcode: "10115", City: "Berlin"},
		},
		Buyer: xrechnung.Party{
			IK: "101234005", Name: "AOKAY Beispielkasse",
			Address: xrechnung.Address{Street: "Kassenweg 2", Postcode: "20095", City: "Hamburg"},
		},
		VEID:       "00299001",
		Code:       "CHAAAAAAAAAAAAAJ",
		ServiceDay: xrechnung.NewDate(2025, 3, 1),
	}
}

// Build an invoice with the price taken from the configured catalogue.
func ExampleBuild() {
	catalog := xrechnung.Catalog{Entries: []xrechnung.CatalogEntry{{
		VEID: "00299001", Name: "Tinnitus Rex", From: xrechnung.NewDate(2025, 1, 1),
		NetCents: 21845, Tax: xrechnung.StandardVAT,
	}}}
	if err := catalog.Validate(); err != nil {
		panic(err)
	}
	inv := exampleInvoice()
	if err := catalog.Apply(&inv); err != nil {
		panic(err)
	}
	doc, err := xrechnung.Build(inv)
	if err != nil {
		panic(err)
	}
	t := inv.Totals()
	fmt.Println("net", xrechnung.FormatCents(t.NetCents), "tax", xrechnung.FormatCents(t.TaxCents), "gross", xrechnung.FormatCents(t.GrossCents))
	fmt.Println("findings:", len(xrechnung.Check(doc)))
	fmt.Println(strings.Contains(string(doc), `<ram:GlobalID schemeID="XR01">00299001</ram:GlobalID>`))
	// Output:
	// net 218.45 tax 41.51 gross 259.96
	// findings: 0
	// true
}

// A correction invoice (384) carries a new number, references the
// corrected one and gives the new full amount with an Anhang 7 reason.
func ExampleBuild_correction() {
	inv := exampleInvoice()
	inv.ProductName, inv.Tax = "Tinnitus Rex", xrechnung.StandardVAT
	inv.Number, inv.Type, inv.IssueDate = "DG2025000001300", xrechnung.TypeCorrection, xrechnung.NewDate(2025, 4, 1)
	inv.Corrects = "DG2025000001234"
	inv.NetCents = 42000
	reason, err := xrechnung.ParseCorrectionReason("010:UST-ID+LE-Adresse")
	if err != nil {
		panic(err)
	}
	inv.Reason = &reason
	doc, err := xrechnung.Build(inv)
	if err != nil {
		panic(err)
	}
	fmt.Println(xrechnung.Valid(xrechnung.Check(doc)), reason)
	// Output: true 010:UST-ID+LE-Adresse
}

// Invalid input is refused with a typed error that names the field but
// never the Freischaltcode.
func ExampleBuild_invalid() {
	inv := exampleInvoice()
	inv.ProductName, inv.Tax, inv.NetCents = "Tinnitus Rex", xrechnung.StandardVAT, 21845
	inv.Payee = &xrechnung.Party{IK: "101234005", Name: "Kasse"}
	_, err := xrechnung.Build(inv)
	fmt.Println(err)
	// Output: xrechnung: invalid Payee.IK: payee IK must differ from the buyer IK (DRE0-AHTS-10)
}

// Check an invoice received from elsewhere.
func ExampleCheck() {
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
    xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100">
  <rsm:ExchangedDocumentContext/>
</rsm:CrossIndustryInvoice>`
	findings := xrechnung.Check([]byte(doc))
	fmt.Println("valid:", xrechnung.Valid(findings))
	for _, f := range findings[:3] {
		fmt.Println(f.Level, f.Rule, f.XPath)
	}
	// Output:
	// valid: false
	// error XSD /rsm:CrossIndustryInvoice[1]
	// error DRE0-EDC-1 /rsm:CrossIndustryInvoice[1]/rsm:ExchangedDocumentContext[1]
	// error DRE0-EDC-2 /rsm:CrossIndustryInvoice[1]/rsm:ExchangedDocumentContext[1]
}

// Parse the insurer's validation report and decide what to do.
func ExampleParseReport() {
	report := `<rep:report xmlns:rep="http://www.xoev.de/de/validator/varl/1" varlVersion="1.0.0" valid="false">
  <rep:engine><rep:name>KoSIT Validator 1.5.0</rep:name></rep:engine>
  <rep:timestamp>2025-03-04T10:15:00Z</rep:timestamp>
  <rep:documentIdentification>
    <rep:documentHash><rep:hashAlgorithm>SHA-256</rep:hashAlgorithm><rep:hashValue>AAAA</rep:hashValue></rep:documentHash>
    <rep:documentReference>DG2025000001234.xml</rep:documentReference>
  </rep:documentIdentification>
  <rep:scenarioMatched>
    <rep:documentData><id>DG2025000001234</id><digaFreischaltcode>CHAAAAAAAAAAAAAJ</digaFreischaltcode></rep:documentData>
    <rep:validationStepResult id="val-xsd" valid="true"/>
    <rep:validationStepResult id="INVER" valid="false">
      <rep:message id="m1" code="INVER-1" level="error">Freischaltcode / Rezeptcode nicht gefunden: CHAA AAAA AAAA AAAJ</rep:message>
    </rep:validationStepResult>
  </rep:scenarioMatched>
  <rep:assessment><rep:reject/></rep:assessment>
</rep:report>`
	r, err := xrechnung.ParseReport([]byte(report))
	if err != nil {
		panic(err)
	}
	fmt.Println(r.ClassifyFor("DG2025000001234", "CHAAAAAAAAAAAAAJ"))
	for _, m := range r.Errors() {
		fmt.Println(m.Code, m.SafeText())
	}
	// Output:
	// rejected_business
	// INVER-1 Freischaltcode / Rezeptcode nicht gefunden: [code]
}

// Tax is rounded half-up to the cent.
func ExampleTaxCents() {
	fmt.Println(xrechnung.FormatCents(xrechnung.TaxCents(150, 1900)))
	// Output: 0.29
}

// Render an invoice for dispatch by post (Versandart 3).
func ExampleRenderText() {
	inv := exampleInvoice()
	inv.ProductName, inv.Tax, inv.NetCents = "Tinnitus Rex", xrechnung.StandardVAT, 21845
	doc, err := xrechnung.Build(inv)
	if err != nil {
		panic(err)
	}
	text, err := xrechnung.RenderText(doc)
	if err != nil {
		panic(err)
	}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	fmt.Println(lines[0])
	fmt.Println(lines[len(lines)-1])
	// Output:
	// Rechnung DG2025000001234
	// Zahlbetrag         259.96 EUR
}

// Load the price catalogue from JSON configuration.
func ExampleCatalog_json() {
	var cat xrechnung.Catalog
	err := json.Unmarshal([]byte(`{"entries": [
	  {"ve_id": "00299001", "name": "Tinnitus Rex", "from": "2024-01-01", "until": "2024-12-31",
	   "net_cents": 50000, "tax": {"category": "S", "rate_bp": 1900}},
	  {"ve_id": "00299001", "name": "Tinnitus Rex", "from": "2025-01-01",
	   "net_cents": 21845, "tax": {"category": "S", "rate_bp": 1900}}]}`), &cat)
	if err != nil {
		panic(err)
	}
	if err := cat.Validate(); err != nil {
		panic(err)
	}
	for _, day := range []string{"2024-06-30", "2025-03-01", "2023-12-31"} {
		d, _ := xrechnung.ParseDate(day)
		e, err := cat.Lookup("00299001", d)
		fmt.Println(day, xrechnung.FormatCents(e.NetCents), err)
	}
	// Output:
	// 2024-06-30 500.00 <nil>
	// 2025-03-01 218.45 <nil>
	// 2023-12-31 0.00 xrechnung: no price for this DiGA-VE-ID and service day
}
