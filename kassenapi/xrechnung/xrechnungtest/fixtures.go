package xrechnungtest

import (
	"fmt"
	"strings"

	"github.com/digakit/digakit/kassenapi/xrechnung"
)

// Code is the Freischaltcode of the fixtures. It passes the Base32Check1
// check character (spec A2.2 vector CHAAAAAAAAAAAAA → J) and is no test
// code (77…).
const Code = "CHAAAAAAAAAAAAAJ"

// Seller returns the manufacturer of the fixtures (IK 987654321).
func Seller() xrechnung.Party {
	return xrechnung.Party{
		IK: "987654321", Name: "Beispiel DiGA GmbH", VATID: "DE123456789",
		Contact: xrechnung.Contact{Name: "Erika Musterfrau", Phone: "+49 30 1234567", Email: "billing@example.com"},
		Address: xrechnung.Address{Street: "Musterstraße 1", Postcode: "10115", City: "Berlin"},
	}
}

// Buyer returns the insurer of the fixtures (IK 101234005).
func Buyer() xrechnung.Party {
	return xrechnung.Party{
		IK: "101234005", Name: "AOKAY Beispielkasse",
		Address: xrechnung.Address{Street: "Kassenweg 2", Extra: "Postfach 12 34", Postcode: "20095", City: "Hamburg"},
	}
}

// Invoice returns a valid type-380 invoice: DG2025000001234 of
// 2025-03-04 for VE-ID 00299001, service day 2025-03-01, net 218.45 EUR
// at 19 % (tax 41.51, gross 259.96).
func Invoice() xrechnung.Invoice {
	return xrechnung.Invoice{
		Number: "DG2025000001234", Type: xrechnung.TypeInvoice, IssueDate: xrechnung.NewDate(2025, 3, 4),
		Seller: Seller(), Buyer: Buyer(),
		VEID: "00299001", Code: Code, ProductName: "Tinnitus Rex", Description: "Verordnungseinheit 90 Tage",
		ServiceDay: xrechnung.NewDate(2025, 3, 1), NetCents: 21845, Tax: xrechnung.StandardVAT,
	}
}

// Golden is one valid fixture: the builder settings and the invoice.
type Golden struct {
	Name    string // file name without .xml in xrechnung/testdata/golden
	Builder xrechnung.Builder
	Invoice xrechnung.Invoice
}

// Goldens returns the X1 fixtures: 380; 380 with a payee other than the
// seller; 384 with reason 003; 384 with reason 010:UST-ID+KK-Adresse
// correcting the first 384; and 380 with reverse charge (AE, behind
// Builder.AllowReverseCharge).
func Goldens() []Golden {
	payee := Invoice()
	payee.Payee = &xrechnung.Party{IK: "987654322", Name: "Abrechnungszentrum Beispiel"}
	payee.Note = "Rechnung zur DiGA-Verordnung"
	c003 := Invoice()
	c003.Number, c003.Type, c003.IssueDate = "DG2025000001300", xrechnung.TypeCorrection, xrechnung.NewDate(2025, 4, 1)
	c003.Corrects, c003.Reason, c003.NetCents = "DG2025000001234", &xrechnung.CorrectionReason{Code: "003"}, 42000
	c010 := c003
	c010.Number, c010.Corrects = "DG2025000001301", "DG2025000001300"
	c010.Reason = &xrechnung.CorrectionReason{Code: "010", Fields: []string{xrechnung.FieldVATID, xrechnung.FieldInsurerAddress}}
	ae := Invoice()
	ae.Number, ae.Tax = "DG2025000001400", xrechnung.Tax{Category: xrechnung.TaxReverseCharge}
	return []Golden{
		{"380", xrechnung.Builder{}, Invoice()},
		{"380_payee", xrechnung.Builder{}, payee},
		{"384_003", xrechnung.Builder{}, c003},
		{"384_010", xrechnung.Builder{}, c010},
		{"380_reverse_charge", xrechnung.Builder{AllowReverseCharge: true}, ae},
	}
}

// Build renders the golden fixture name.
func Build(name string) ([]byte, error) {
	for _, g := range Goldens() {
		if g.Name == name {
			return g.Builder.Build(g.Invoice)
		}
	}
	return nil, fmt.Errorf("xrechnungtest: no golden %q", name)
}

// Case is one X2 negative case.
type Case struct {
	Name   string
	Base   string   // the golden it edits
	Doc    []byte   // the edited document
	Errors []string // the error rules Check reports, sorted and distinct
	Others []string // the warning and info rules Check reports, sorted and distinct
}

type tableCase struct {
	Name, Base     string
	Edits          []string // old, new pairs, each replaced once
	Errors, Others []string
}

// NegativeCases returns the X2 table: one violation per DRE0 rule of
// dre0.sch (all 41 assertions), the correction reasons "010" without
// fields and "010:010", a reference equal to the own number, sums off by
// 0.01, and the structural and EN 16931 / XRechnung rules a DiGA invoice
// can break. A case with no Errors is valid. An error means the table no
// longer matches the builder's output (a bug in this package).
func NegativeCases() ([]Case, error) {
	docs := map[string]string{}
	var out []Case
	for _, tc := range negativeTable() {
		base, ok := docs[tc.Base]
		if !ok {
			b, err := Build(tc.Base)
			if err != nil {
				return nil, err
			}
			base = string(b)
			docs[tc.Base] = base
		}
		s := base
		for i := 0; i+1 < len(tc.Edits); i += 2 {
			if !strings.Contains(s, tc.Edits[i]) {
				return nil, fmt.Errorf("xrechnungtest: case %q: edit %d does not apply to %s", tc.Name, i/2, tc.Base)
			}
			s = strings.Replace(s, tc.Edits[i], tc.Edits[i+1], 1)
		}
		out = append(out, Case{Name: tc.Name, Base: tc.Base, Doc: []byte(s), Errors: tc.Errors, Others: tc.Others})
	}
	return out, nil
}

const (
	sellerID = `<ram:ID schemeID="XR03">987654321</ram:ID>
				<ram:Name>Beispiel DiGA GmbH</ram:Name>
				<ram:DefinedTradeContact>`
	buyerID = `<ram:ID schemeID="XR03">101234005</ram:ID>`
	payeeID = `<ram:PayeeTradeParty>
				<ram:ID schemeID="XR03">987654321</ram:ID>`
	pm      = `<ram:TypeCode>57</ram:TypeCode>`
	svcDay  = `<udt:DateTimeString format="102">20250301</udt:DateTimeString>`
	product = `<ram:Name>Tinnitus Rex</ram:Name>`
)

func negativeTable() []tableCase {
	return []tableCase{
		{Name: "EDC-1 other standard", Base: "380", Edits: []string{"xrechnung_2.2#conformant", "xrechnung_3.0#conformant"},
			Errors: []string{"DRE0-EDC-1", "DRE0-EDC-2"}, Others: []string{"BR-DE-21"}},
		{Name: "EDC-2 no extension", Base: "380", Edits: []string{"#conformant#urn:xoev-de:kosit:extension:xrechnung_2.2", ""},
			Errors: []string{"DRE0-EDC-2"}},
		{Name: "ED-1 number too long", Base: "380", Edits: []string{"<ram:ID>DG2025000001234</ram:ID>", "<ram:ID>DG20250000012340000001</ram:ID>"},
			Errors: []string{"DRE0-ED-1"}},
		{Name: "ED-1 number ends in letter", Base: "380", Edits: []string{"<ram:ID>DG2025000001234</ram:ID>", "<ram:ID>DG2025000001234A</ram:ID>"},
			Errors: []string{"DRE0-ED-1"}},
		{Name: "ED-2 type 381", Base: "380", Edits: []string{"<ram:TypeCode>380</ram:TypeCode>", "<ram:TypeCode>381</ram:TypeCode>"},
			Errors: []string{"DRE0-ED-2"}},
		{Name: "ED-3 issue date format 203", Base: "380", Edits: []string{`format="102">20250304<`, `format="203">202503041200<`},
			Errors: []string{"BR-03", "DRE0-ED-3"}},
		{Name: "ED-3 issue date too short", Base: "380", Edits: []string{`format="102">20250304<`, `format="102">2025034<`},
			Errors: []string{"CII-DT-097", "DRE0-ED-3"}},
		{Name: "CORR-1 no reference", Base: "384_003", Edits: []string{"<ram:IssuerAssignedID>DG2025000001234</ram:IssuerAssignedID>", "<ram:IssuerAssignedID> </ram:IssuerAssignedID>"},
			Errors: []string{"DRE0-CORR-1", "DRE0-CORR-3"}},
		{Name: "CORR-2 reference = own number", Base: "384_003", Edits: []string{"<ram:IssuerAssignedID>DG2025000001234<", "<ram:IssuerAssignedID>DG2025000001300<"},
			Errors: []string{"DRE0-CORR-2"}},
		{Name: "CORR-3 reference ends in letter", Base: "384_003", Edits: []string{"<ram:IssuerAssignedID>DG2025000001234<", "<ram:IssuerAssignedID>DG2025000001234X<"},
			Errors: []string{"DRE0-CORR-3"}},
		{Name: "CORR-4 reason 005", Base: "384_003", Edits: []string{"<ram:Content>003</ram:Content>", "<ram:Content>005</ram:Content>"},
			Errors: []string{"DRE0-CORR-4"}},
		{Name: "CORR-4 010 without fields", Base: "384_003", Edits: []string{"<ram:Content>003</ram:Content>", "<ram:Content>010</ram:Content>"},
			Errors: []string{"DRE0-CORR-4"}},
		{Name: "CORR-4 010:010", Base: "384_003", Edits: []string{"<ram:Content>003</ram:Content>", "<ram:Content>010:010</ram:Content>"},
			Errors: []string{"DRE0-CORR-4"}},
		{Name: "CORR-4 repeated field", Base: "384_010", Edits: []string{"010:UST-ID+KK-Adresse", "010:UST-ID+UST-ID"},
			Errors: []string{"DRE0-CORR-4"}},
		{Name: "CORR-4 003 with trailing text (insurer accepts, digakit not)", Base: "384_003", Edits: []string{"<ram:Content>003</ram:Content>", "<ram:Content>003 Preisanpassung</ram:Content>"},
			Errors: []string{"DRE0-CORR-4"}},
		{Name: "SCTT-1 two lines", Base: "380", Edits: []string{"<ram:ApplicableHeaderTradeAgreement>", "<ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument><ram:LineID>2</ram:LineID></ram:AssociatedDocumentLineDocument><ram:SpecifiedTradeProduct><ram:GlobalID schemeID=\"XR01\">00299001</ram:GlobalID><ram:BuyerAssignedID schemeID=\"XR02\">CHAAAAAAAAAAAAAJ</ram:BuyerAssignedID><ram:Name>X</ram:Name></ram:SpecifiedTradeProduct><ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice><ram:ChargeAmount>0.00</ram:ChargeAmount></ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement><ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode=\"C62\">1</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery><ram:SpecifiedLineTradeSettlement><ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>19.00</ram:RateApplicablePercent></ram:ApplicableTradeTax><ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>0.00</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement></ram:IncludedSupplyChainTradeLineItem><ram:ApplicableHeaderTradeAgreement>"},
			Errors: []string{"DRE0-SCTT-1"}},
		{Name: "SCTT-2/10 VE-ID 7 digits", Base: "380", Edits: []string{">00299001<", ">0029900<"},
			Errors: []string{"DRE0-SCTT-10", "DRE0-SCTT-2"}},
		{Name: "SCTT-11 VE-ID scheme DiGAVEID", Base: "380", Edits: []string{`schemeID="XR01"`, `schemeID="DiGAVEID"`},
			Errors: []string{"BR-CL-21", "BR-DEX-06", "DRE0-SCTT-11", "DRE0-SCTT-2"}, Others: []string{"DRE0-UPD-1"}},
		{Name: "SCTT-3 code 15 chars", Base: "380", Edits: []string{">CHAAAAAAAAAAAAAJ<", ">CHAAAAAAAAAAAAA<"},
			Errors: []string{"DRE0-SCTT-3"}},
		{Name: "SCTT-3 code lower case", Base: "380", Edits: []string{">CHAAAAAAAAAAAAAJ<", ">chaaaaaaaaaaaaaj<"},
			Errors: []string{"DRE0-SCTT-3"}},
		{Name: "SCTT-12 code scheme Freischaltcode", Base: "380", Edits: []string{`schemeID="XR02"`, `schemeID="Freischaltcode"`},
			Errors: []string{"DRE0-SCTT-12", "DRE0-SCTT-3"}, Others: []string{"DRE0-UPD-2"}},
		{Name: "SCTT-4 blank name", Base: "380", Edits: []string{product, "<ram:Name> </ram:Name>"},
			Errors: []string{"DRE0-SCTT-4"}}, // EN 16931 BR-25 tests the raw string
		{Name: "SCTT-4 empty name", Base: "380", Edits: []string{product, "<ram:Name></ram:Name>"},
			Errors: []string{"BR-25", "DRE0-SCTT-4"}},
		{Name: "SCTT-5 no service day", Base: "380", Edits: []string{svcDay, `<udt:DateTimeString format="102"></udt:DateTimeString>`},
			Errors: []string{"CII-DT-097", "DRE0-SCTT-5"}},
		{Name: "SCTT-5 service day in line only is fine", Base: "380",
			Edits: []string{
				"<ram:Description>Verordnungseinheit 90 Tage</ram:Description>",
				"<ram:Description>Verordnungseinheit 90 Tage</ram:Description><ram:IndividualTradeProductInstance><ram:SellByDateTime>" + svcDay + "</ram:SellByDateTime></ram:IndividualTradeProductInstance>",
				"<ram:ApplicableHeaderTradeDelivery>\n\t\t\t<ram:ActualDeliverySupplyChainEvent>\n\t\t\t\t<ram:OccurrenceDateTime>\n\t\t\t\t\t" + svcDay + "\n\t\t\t\t</ram:OccurrenceDateTime>\n\t\t\t</ram:ActualDeliverySupplyChainEvent>\n\t\t</ram:ApplicableHeaderTradeDelivery>",
				"<ram:ApplicableHeaderTradeDelivery/>",
			}, Others: []string{"CII-SR-087"}},
		{Name: "SCTT-6 both dates equal (insurer rejects)", Base: "380",
			Edits: []string{
				"<ram:Description>Verordnungseinheit 90 Tage</ram:Description>",
				"<ram:Description>Verordnungseinheit 90 Tage</ram:Description><ram:IndividualTradeProductInstance><ram:SellByDateTime>" + svcDay + "</ram:SellByDateTime></ram:IndividualTradeProductInstance>",
			},
			Errors: []string{"DRE0-SCTT-6"}, Others: []string{"CII-SR-087"}},
		{Name: "SCTT-7 price != line total", Base: "380", Edits: []string{"<ram:ChargeAmount>218.45<", "<ram:ChargeAmount>218.46<"},
			Errors: []string{"DRE0-SCTT-7"}},
		{Name: "SCTT-8 unit piece", Base: "380", Edits: []string{`unitCode="C62"`, `unitCode="H87"`},
			Errors: []string{"DRE0-SCTT-8"}},
		{Name: "SCTT-9 quantity 1.0", Base: "380", Edits: []string{`unitCode="C62">1<`, `unitCode="C62">1.0<`},
			Errors: []string{"DRE0-SCTT-9"}},
		{Name: "AHTA-1 seller IK 8 digits", Base: "380", Edits: []string{sellerID, strings.Replace(sellerID, "987654321", "98765432", 1)},
			Errors: []string{"DRE0-AHTA-1"}},
		{Name: "AHTS-11 two seller IKs", Base: "380", Edits: []string{sellerID, `<ram:ID schemeID="XR03">987654329</ram:ID>` + sellerID},
			Errors: []string{"DRE0-AHTS-11"}},
		{Name: "AHTA-2 buyer IK with letter", Base: "380", Edits: []string{buyerID, `<ram:ID schemeID="XR03">10123400X</ram:ID>`},
			Errors: []string{"DRE0-AHTA-2"}},
		{Name: "AHTS-12 buyer IK scheme IK", Base: "380", Edits: []string{buyerID, `<ram:ID schemeID="IK">101234005</ram:ID>`},
			Errors: []string{"BR-CL-11", "BR-DEX-05", "DRE0-AHTA-2", "DRE0-AHTS-12"}, Others: []string{"DRE0-UPD-3"}},
		{Name: "AHTS-9 payee IK empty", Base: "380", Edits: []string{payeeID, `<ram:PayeeTradeParty>
				<ram:ID schemeID="XR03"></ram:ID>`},
			Errors: []string{"DRE0-AHTS-9"}},
		{Name: "AHTS-13 payee without XR03", Base: "380", Edits: []string{payeeID, `<ram:PayeeTradeParty>
				<ram:ID>987654321</ram:ID>`},
			Errors: []string{"DRE0-AHTS-13", "DRE0-AHTS-9"}},
		{Name: "AHTS-10 payee = buyer", Base: "380", Edits: []string{payeeID, `<ram:PayeeTradeParty>
				<ram:ID schemeID="XR03">101234005</ram:ID>`},
			Errors: []string{"DRE0-AHTS-10"}},
		{Name: "AHTS-1 tax currency USD", Base: "380", Edits: []string{"<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>", "<ram:TaxCurrencyCode>USD</ram:TaxCurrencyCode><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>"},
			Errors: []string{"BR-53", "BR-DEC-15", "DRE0-AHTS-1"}},
		{Name: "AHTS-2 invoice currency USD", Base: "380", Edits: []string{"<ram:InvoiceCurrencyCode>EUR<", "<ram:InvoiceCurrencyCode>USD<"},
			Errors: []string{"BR-CO-15", "DRE0-AHTS-2"}}, // TaxTotalAmount is no longer in the invoice currency
		{Name: "AHTS-3 tax total in USD", Base: "380", Edits: []string{`currencyID="EUR"`, `currencyID="USD"`},
			Errors: []string{"BR-CO-15", "DRE0-AHTS-3"}},
		{Name: "STPT-1 description text", Base: "380", Edits: []string{"<ram:Description/>", "<ram:Description>30 Tage netto</ram:Description>"},
			Errors: []string{"DRE0-STPT-1"}},
		{Name: "STPT-1 two descriptions", Base: "380", Edits: []string{"<ram:Description/>", "<ram:Description/><ram:Description/>"},
			Errors: []string{"BR-DE-18-a", "DRE0-STPT-1"}},
		{Name: "STPT-2 due date", Base: "380", Edits: []string{"<ram:Description/>", `<ram:Description/><ram:DueDateDateTime><udt:DateTimeString format="102">20250401</udt:DateTimeString></ram:DueDateDateTime>`},
			Errors: []string{"DRE0-STPT-2"}},
		{Name: "AHTS-4 card", Base: "380", Edits: []string{pm, pm + "<ram:ApplicableTradeSettlementFinancialCard><ram:ID>1234</ram:ID></ram:ApplicableTradeSettlementFinancialCard>"},
			Errors: []string{"DRE0-AHTS-4"}},
		{Name: "AHTS-5 debtor account", Base: "380", Edits: []string{pm, pm + "<ram:PayerPartyDebtorFinancialAccount><ram:IBANID>DE02120300000000202051</ram:IBANID></ram:PayerPartyDebtorFinancialAccount>"},
			Errors: []string{"DRE0-AHTS-5"}},
		{Name: "AHTS-6 creditor account", Base: "380", Edits: []string{pm, pm + "<ram:PayeePartyCreditorFinancialAccount><ram:IBANID>DE02120300000000202051</ram:IBANID></ram:PayeePartyCreditorFinancialAccount>"},
			Errors: []string{"DRE0-AHTS-6"}},
		{Name: "AHTS-7 debtor bank", Base: "380", Edits: []string{pm, pm + "<ram:PayerSpecifiedDebtorFinancialInstitution><ram:BICID>BYLADEM1001</ram:BICID></ram:PayerSpecifiedDebtorFinancialInstitution>"},
			Errors: []string{"DRE0-AHTS-7"}},
		{Name: "AHTS-8 creditor bank", Base: "380", Edits: []string{pm, pm + "<ram:PayeeSpecifiedCreditorFinancialInstitution><ram:BICID>BYLADEM1001</ram:BICID></ram:PayeeSpecifiedCreditorFinancialInstitution>"},
			Errors: []string{"DRE0-AHTS-8"}},
		{Name: "payment means 58 without account", Base: "380", Edits: []string{pm, "<ram:TypeCode>58</ram:TypeCode>"},
			Errors: []string{"BR-DE-23-a"}, Others: []string{"BR-DE-19"}},
		{Name: "BR-DEC-18 three decimals", Base: "380", Edits: []string{"<ram:DuePayableAmount>259.96<", "<ram:DuePayableAmount>259.955<"},
			Errors: []string{"BR-CO-16", "BR-DEC-18"}},
		{Name: "BR-DEC-18 counts characters, not value", Base: "380", Edits: []string{"<ram:DuePayableAmount>259.96<", "<ram:DuePayableAmount>259.9600<"},
			Errors: []string{"BR-DEC-18"}},
		{Name: "sum: tax off by 0.01", Base: "380", Edits: []string{"<ram:CalculatedAmount>41.51<", "<ram:CalculatedAmount>41.52<"},
			Errors: []string{"BR-CO-14", "BR-S-09"}},
		{Name: "sum: grand off by 0.01", Base: "380", Edits: []string{"<ram:GrandTotalAmount>259.96<", "<ram:GrandTotalAmount>259.97<"},
			Errors: []string{"BR-CO-15", "BR-CO-16"}},
		{Name: "sum: due off by 0.01", Base: "380", Edits: []string{"<ram:DuePayableAmount>259.96<", "<ram:DuePayableAmount>259.95<"},
			Errors: []string{"BR-CO-16"}},
		{Name: "sum: header line total off by 0.01", Base: "380", Edits: []string{"<ram:LineTotalAmount>218.45</ram:LineTotalAmount>\n\t\t\t\t<ram:TaxBasisTotalAmount>", "<ram:LineTotalAmount>218.44</ram:LineTotalAmount>\n\t\t\t\t<ram:TaxBasisTotalAmount>"},
			Errors: []string{"BR-CO-10", "BR-CO-13"}},
		{Name: "sum: basis off by 0.01", Base: "380", Edits: []string{"<ram:BasisAmount>218.45<", "<ram:BasisAmount>218.46<"},
			Errors: []string{"BR-S-08"}}, // 218.46 * 19 % still rounds to 41.51
		{Name: "BR-DE-15 no buyer reference", Base: "380", Edits: []string{"<ram:BuyerReference>Leitweg-ID</ram:BuyerReference>", ""},
			Errors: []string{"BR-DE-15"}},
		{Name: "BR-DE-16 no seller tax id", Base: "380", Edits: []string{`<ram:SpecifiedTaxRegistration>
					<ram:ID schemeID="VA">DE123456789</ram:ID>
				</ram:SpecifiedTaxRegistration>`, ""},
			Errors: []string{"BR-DE-16", "BR-S-02"}},
		{Name: "BR-DE-7 no seller e-mail", Base: "380", Edits: []string{"billing@example.com", ""},
			Errors: []string{"BR-DE-7"}, Others: []string{"BR-DE-28"}},
		{Name: "BR-DE-9 no buyer postcode", Base: "380", Edits: []string{"<ram:PostcodeCode>20095</ram:PostcodeCode>", ""},
			Errors: []string{"BR-DE-9"}},
		{Name: "BR-DE-8 no buyer city", Base: "380", Edits: []string{"<ram:CityName>Hamburg</ram:CityName>", ""},
			Errors: []string{"BR-DE-8"}},
		{Name: "XSD wrong order", Base: "380", Edits: []string{"<ram:BuyerReference>Leitweg-ID</ram:BuyerReference>", "", "</ram:BuyerTradeParty>", "</ram:BuyerTradeParty><ram:BuyerReference>Leitweg-ID</ram:BuyerReference>"},
			Errors: []string{"XSD"}},
		{Name: "XSD unknown element", Base: "380", Edits: []string{"<ram:LineID>1</ram:LineID>", "<ram:LineID>1</ram:LineID><ram:Foo/>"},
			Errors: []string{"XSD"}},
		{Name: "XSD amount not a decimal", Base: "380", Edits: []string{"<ram:DuePayableAmount>259.96<", "<ram:DuePayableAmount>259,96<"},
			Errors: []string{"XSD"}},
		{Name: "XSD attribute not declared", Base: "380", Edits: []string{"<ram:LineID>1</ram:LineID>", `<ram:LineID listID="x">1</ram:LineID>`},
			Errors: []string{"XSD"}},
		{Name: "XSD attribute on an aggregate", Base: "380", Edits: []string{"<ram:SpecifiedTradeProduct>", `<ram:SpecifiedTradeProduct schemeID="XR01">`},
			Errors: []string{"XSD"}},
		{Name: "XSD text in an aggregate", Base: "380", Edits: []string{"<ram:SpecifiedTradeProduct>", `<ram:SpecifiedTradeProduct>Tinnitus`},
			Errors: []string{"XSD"}},
		{Name: "XSD DateTime not a dateTime", Base: "380", Edits: []string{`<udt:DateTimeString format="102">20250304</udt:DateTimeString>`, `<udt:DateTime>2025-03-04</udt:DateTime>`},
			Errors: []string{"BR-03", "DRE0-ED-3", "XSD"}},
		{Name: "XSD two date alternatives", Base: "380", Edits: []string{`<udt:DateTimeString format="102">20250304</udt:DateTimeString>`, `<udt:DateTimeString format="102">20250304</udt:DateTimeString><udt:DateTime>2025-03-04T00:00:00</udt:DateTime>`},
			Errors: []string{"XSD"}},
		{Name: "XSD lower-case element name", Base: "380", Edits: []string{"<ram:LineID>1</ram:LineID>", "<ram:lineID>1</ram:lineID>"},
			Errors: []string{"BR-21", "XSD"}},
		{Name: "XSD element in no namespace", Base: "380", Edits: []string{"<ram:LineID>1</ram:LineID>", "<LineID>1</LineID>"},
			Errors: []string{"BR-21", "XSD"}},
		{Name: "BR-CL-14 country XX", Base: "380", Edits: []string{"<ram:CountryID>DE</ram:CountryID>\n\t\t\t\t</ram:PostalTradeAddress>\n\t\t\t</ram:BuyerTradeParty>", "<ram:CountryID>XX</ram:CountryID>\n\t\t\t\t</ram:PostalTradeAddress>\n\t\t\t</ram:BuyerTradeParty>"},
			Errors: []string{"BR-CL-14"}},
		{Name: "BR-CL-14 country lower case", Base: "380", Edits: []string{"<ram:CountryID>DE</ram:CountryID>", "<ram:CountryID>de</ram:CountryID>"},
			Errors: []string{"BR-CL-14"}},
		{Name: "DIGAKIT-FSC-1 bad check character", Base: "380", Edits: []string{">CHAAAAAAAAAAAAAJ<", ">CHAAAAAAAAAAAAAX<"},
			Others: []string{"DIGAKIT-FSC-1"}},
		{Name: "not well-formed", Base: "380", Edits: []string{"</rsm:CrossIndustryInvoice>", ""},
			Errors: []string{"XML"}},
		{Name: "DTD", Base: "380", Edits: []string{"<rsm:CrossIndustryInvoice", `<!DOCTYPE x [<!ENTITY a "b">]><rsm:CrossIndustryInvoice`},
			Errors: []string{"XML"}},
		{Name: "wrong root", Base: "380", Edits: []string{"rsm:CrossIndustryInvoice ", "rsm:CrossIndustryInvoiceX ", "</rsm:CrossIndustryInvoice>", "</rsm:CrossIndustryInvoiceX>"},
			Errors: []string{"XSD"}},
	}
}
