package xrechnung

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func golden(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", name+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// negCase is one X2 case: a golden document with one edit and the exact
// set of error rules Check must report.
type negCase struct {
	name   string
	base   string   // golden name
	edits  []string // old, new pairs applied with strings.Replace (once each)
	errors []string // expected error rule ids, sorted
	other  []string // expected non-error rule ids (warnings, info), sorted
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

func negCases() []negCase {
	return []negCase{
		{name: "EDC-1 other standard", base: "380", edits: []string{"xrechnung_2.2#conformant", "xrechnung_3.0#conformant"},
			errors: []string{"DRE0-EDC-1", "DRE0-EDC-2"}, other: []string{"BR-DE-21"}},
		{name: "EDC-2 no extension", base: "380", edits: []string{"#conformant#urn:xoev-de:kosit:extension:xrechnung_2.2", ""},
			errors: []string{"DRE0-EDC-2"}},
		{name: "ED-1 number too long", base: "380", edits: []string{"<ram:ID>DG2025000001234</ram:ID>", "<ram:ID>DG20250000012340000001</ram:ID>"},
			errors: []string{"DRE0-ED-1"}},
		{name: "ED-1 number ends in letter", base: "380", edits: []string{"<ram:ID>DG2025000001234</ram:ID>", "<ram:ID>DG2025000001234A</ram:ID>"},
			errors: []string{"DRE0-ED-1"}},
		{name: "ED-2 type 381", base: "380", edits: []string{"<ram:TypeCode>380</ram:TypeCode>", "<ram:TypeCode>381</ram:TypeCode>"},
			errors: []string{"DRE0-ED-2"}},
		{name: "ED-3 issue date format 203", base: "380", edits: []string{`format="102">20250304<`, `format="203">202503041200<`},
			errors: []string{"BR-03", "DRE0-ED-3"}},
		{name: "ED-3 issue date too short", base: "380", edits: []string{`format="102">20250304<`, `format="102">2025034<`},
			errors: []string{"CII-DT-097", "DRE0-ED-3"}},
		{name: "CORR-1 no reference", base: "384_003", edits: []string{"<ram:IssuerAssignedID>DG2025000001234</ram:IssuerAssignedID>", "<ram:IssuerAssignedID> </ram:IssuerAssignedID>"},
			errors: []string{"DRE0-CORR-1", "DRE0-CORR-3"}},
		{name: "CORR-2 reference = own number", base: "384_003", edits: []string{"<ram:IssuerAssignedID>DG2025000001234<", "<ram:IssuerAssignedID>DG2025000001300<"},
			errors: []string{"DRE0-CORR-2"}},
		{name: "CORR-3 reference ends in letter", base: "384_003", edits: []string{"<ram:IssuerAssignedID>DG2025000001234<", "<ram:IssuerAssignedID>DG2025000001234X<"},
			errors: []string{"DRE0-CORR-3"}},
		{name: "CORR-4 reason 005", base: "384_003", edits: []string{"<ram:Content>003</ram:Content>", "<ram:Content>005</ram:Content>"},
			errors: []string{"DRE0-CORR-4"}},
		{name: "CORR-4 010 without fields", base: "384_003", edits: []string{"<ram:Content>003</ram:Content>", "<ram:Content>010</ram:Content>"},
			errors: []string{"DRE0-CORR-4"}},
		{name: "CORR-4 010:010", base: "384_003", edits: []string{"<ram:Content>003</ram:Content>", "<ram:Content>010:010</ram:Content>"},
			errors: []string{"DRE0-CORR-4"}},
		{name: "CORR-4 repeated field", base: "384_010", edits: []string{"010:UST-ID+KK-Adresse", "010:UST-ID+UST-ID"},
			errors: []string{"DRE0-CORR-4"}},
		{name: "CORR-4 003 with trailing text (insurer accepts, digakit not)", base: "384_003", edits: []string{"<ram:Content>003</ram:Content>", "<ram:Content>003 Preisanpassung</ram:Content>"},
			errors: []string{"DRE0-CORR-4"}},
		{name: "SCTT-1 two lines", base: "380", edits: []string{"<ram:ApplicableHeaderTradeAgreement>", "<ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument><ram:LineID>2</ram:LineID></ram:AssociatedDocumentLineDocument><ram:SpecifiedTradeProduct><ram:GlobalID schemeID=\"XR01\">00299001</ram:GlobalID><ram:BuyerAssignedID schemeID=\"XR02\">CHAAAAAAAAAAAAAJ</ram:BuyerAssignedID><ram:Name>X</ram:Name></ram:SpecifiedTradeProduct><ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice><ram:ChargeAmount>0.00</ram:ChargeAmount></ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement><ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode=\"C62\">1</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery><ram:SpecifiedLineTradeSettlement><ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>19.00</ram:RateApplicablePercent></ram:ApplicableTradeTax><ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>0.00</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement></ram:IncludedSupplyChainTradeLineItem><ram:ApplicableHeaderTradeAgreement>"},
			errors: []string{"DRE0-SCTT-1"}},
		{name: "SCTT-2/10 VE-ID 7 digits", base: "380", edits: []string{">00299001<", ">0029900<"},
			errors: []string{"DRE0-SCTT-10", "DRE0-SCTT-2"}},
		{name: "SCTT-11 VE-ID scheme DiGAVEID", base: "380", edits: []string{`schemeID="XR01"`, `schemeID="DiGAVEID"`},
			errors: []string{"BR-CL-21", "BR-DEX-06", "DRE0-SCTT-11", "DRE0-SCTT-2"}, other: []string{"DRE0-UPD-1"}},
		{name: "SCTT-3 code 15 chars", base: "380", edits: []string{">CHAAAAAAAAAAAAAJ<", ">CHAAAAAAAAAAAAA<"},
			errors: []string{"DRE0-SCTT-3"}},
		{name: "SCTT-3 code lower case", base: "380", edits: []string{">CHAAAAAAAAAAAAAJ<", ">chaaaaaaaaaaaaaj<"},
			errors: []string{"DRE0-SCTT-3"}},
		{name: "SCTT-12 code scheme Freischaltcode", base: "380", edits: []string{`schemeID="XR02"`, `schemeID="Freischaltcode"`},
			errors: []string{"DRE0-SCTT-12", "DRE0-SCTT-3"}, other: []string{"DRE0-UPD-2"}},
		{name: "SCTT-4 blank name", base: "380", edits: []string{product, "<ram:Name> </ram:Name>"},
			errors: []string{"DRE0-SCTT-4"}}, // EN 16931 BR-25 tests the raw string
		{name: "SCTT-4 empty name", base: "380", edits: []string{product, "<ram:Name></ram:Name>"},
			errors: []string{"BR-25", "DRE0-SCTT-4"}},
		{name: "SCTT-5 no service day", base: "380", edits: []string{svcDay, `<udt:DateTimeString format="102"></udt:DateTimeString>`},
			errors: []string{"CII-DT-097", "DRE0-SCTT-5"}},
		{name: "SCTT-5 service day in line only is fine", base: "380",
			edits: []string{
				"<ram:Description>Verordnungseinheit 90 Tage</ram:Description>",
				"<ram:Description>Verordnungseinheit 90 Tage</ram:Description><ram:IndividualTradeProductInstance><ram:SellByDateTime>" + svcDay + "</ram:SellByDateTime></ram:IndividualTradeProductInstance>",
				"<ram:ApplicableHeaderTradeDelivery>\n\t\t\t<ram:ActualDeliverySupplyChainEvent>\n\t\t\t\t<ram:OccurrenceDateTime>\n\t\t\t\t\t" + svcDay + "\n\t\t\t\t</ram:OccurrenceDateTime>\n\t\t\t</ram:ActualDeliverySupplyChainEvent>\n\t\t</ram:ApplicableHeaderTradeDelivery>",
				"<ram:ApplicableHeaderTradeDelivery/>",
			}, other: []string{"CII-SR-087"}},
		{name: "SCTT-6 both dates equal (insurer rejects)", base: "380",
			edits: []string{
				"<ram:Description>Verordnungseinheit 90 Tage</ram:Description>",
				"<ram:Description>Verordnungseinheit 90 Tage</ram:Description><ram:IndividualTradeProductInstance><ram:SellByDateTime>" + svcDay + "</ram:SellByDateTime></ram:IndividualTradeProductInstance>",
			},
			errors: []string{"DRE0-SCTT-6"}, other: []string{"CII-SR-087"}},
		{name: "SCTT-7 price != line total", base: "380", edits: []string{"<ram:ChargeAmount>218.45<", "<ram:ChargeAmount>218.46<"},
			errors: []string{"DRE0-SCTT-7"}},
		{name: "SCTT-8 unit piece", base: "380", edits: []string{`unitCode="C62"`, `unitCode="H87"`},
			errors: []string{"DRE0-SCTT-8"}},
		{name: "SCTT-9 quantity 1.0", base: "380", edits: []string{`unitCode="C62">1<`, `unitCode="C62">1.0<`},
			errors: []string{"DRE0-SCTT-9"}},
		{name: "AHTA-1 seller IK 8 digits", base: "380", edits: []string{sellerID, strings.Replace(sellerID, "987654321", "98765432", 1)},
			errors: []string{"DRE0-AHTA-1"}},
		{name: "AHTS-11 two seller IKs", base: "380", edits: []string{sellerID, `<ram:ID schemeID="XR03">987654329</ram:ID>` + sellerID},
			errors: []string{"DRE0-AHTS-11"}},
		{name: "AHTA-2 buyer IK with letter", base: "380", edits: []string{buyerID, `<ram:ID schemeID="XR03">10123400X</ram:ID>`},
			errors: []string{"DRE0-AHTA-2"}},
		{name: "AHTS-12 buyer IK scheme IK", base: "380", edits: []string{buyerID, `<ram:ID schemeID="IK">101234005</ram:ID>`},
			errors: []string{"BR-CL-11", "BR-DEX-05", "DRE0-AHTA-2", "DRE0-AHTS-12"}, other: []string{"DRE0-UPD-3"}},
		{name: "AHTS-9 payee IK empty", base: "380", edits: []string{payeeID, `<ram:PayeeTradeParty>
				<ram:ID schemeID="XR03"></ram:ID>`},
			errors: []string{"DRE0-AHTS-9"}},
		{name: "AHTS-13 payee without XR03", base: "380", edits: []string{payeeID, `<ram:PayeeTradeParty>
				<ram:ID>987654321</ram:ID>`},
			errors: []string{"DRE0-AHTS-13", "DRE0-AHTS-9"}},
		{name: "AHTS-10 payee = buyer", base: "380", edits: []string{payeeID, `<ram:PayeeTradeParty>
				<ram:ID schemeID="XR03">101234005</ram:ID>`},
			errors: []string{"DRE0-AHTS-10"}},
		{name: "AHTS-1 tax currency USD", base: "380", edits: []string{"<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>", "<ram:TaxCurrencyCode>USD</ram:TaxCurrencyCode><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>"},
			errors: []string{"BR-53", "BR-DEC-15", "DRE0-AHTS-1"}},
		{name: "AHTS-2 invoice currency USD", base: "380", edits: []string{"<ram:InvoiceCurrencyCode>EUR<", "<ram:InvoiceCurrencyCode>USD<"},
			errors: []string{"BR-CO-15", "DRE0-AHTS-2"}}, // TaxTotalAmount is no longer in the invoice currency
		{name: "AHTS-3 tax total in USD", base: "380", edits: []string{`currencyID="EUR"`, `currencyID="USD"`},
			errors: []string{"BR-CO-15", "DRE0-AHTS-3"}},
		{name: "STPT-1 description text", base: "380", edits: []string{"<ram:Description/>", "<ram:Description>30 Tage netto</ram:Description>"},
			errors: []string{"DRE0-STPT-1"}},
		{name: "STPT-1 two descriptions", base: "380", edits: []string{"<ram:Description/>", "<ram:Description/><ram:Description/>"},
			errors: []string{"BR-DE-18-a", "DRE0-STPT-1"}},
		{name: "STPT-2 due date", base: "380", edits: []string{"<ram:Description/>", `<ram:Description/><ram:DueDateDateTime><udt:DateTimeString format="102">20250401</udt:DateTimeString></ram:DueDateDateTime>`},
			errors: []string{"DRE0-STPT-2"}},
		{name: "AHTS-4 card", base: "380", edits: []string{pm, pm + "<ram:ApplicableTradeSettlementFinancialCard><ram:ID>1234</ram:ID></ram:ApplicableTradeSettlementFinancialCard>"},
			errors: []string{"DRE0-AHTS-4"}},
		{name: "AHTS-5 debtor account", base: "380", edits: []string{pm, pm + "<ram:PayerPartyDebtorFinancialAccount><ram:IBANID>DE02120300000000202051</ram:IBANID></ram:PayerPartyDebtorFinancialAccount>"},
			errors: []string{"DRE0-AHTS-5"}},
		{name: "AHTS-6 creditor account", base: "380", edits: []string{pm, pm + "<ram:PayeePartyCreditorFinancialAccount><ram:IBANID>DE02120300000000202051</ram:IBANID></ram:PayeePartyCreditorFinancialAccount>"},
			errors: []string{"DRE0-AHTS-6"}},
		{name: "AHTS-7 debtor bank", base: "380", edits: []string{pm, pm + "<ram:PayerSpecifiedDebtorFinancialInstitution><ram:BICID>BYLADEM1001</ram:BICID></ram:PayerSpecifiedDebtorFinancialInstitution>"},
			errors: []string{"DRE0-AHTS-7"}},
		{name: "AHTS-8 creditor bank", base: "380", edits: []string{pm, pm + "<ram:PayeeSpecifiedCreditorFinancialInstitution><ram:BICID>BYLADEM1001</ram:BICID></ram:PayeeSpecifiedCreditorFinancialInstitution>"},
			errors: []string{"DRE0-AHTS-8"}},
		{name: "payment means 58 without account", base: "380", edits: []string{pm, "<ram:TypeCode>58</ram:TypeCode>"},
			errors: []string{"BR-DE-23-a"}, other: []string{"BR-DE-19"}},
		{name: "BR-DEC-18 three decimals", base: "380", edits: []string{"<ram:DuePayableAmount>259.96<", "<ram:DuePayableAmount>259.955<"},
			errors: []string{"BR-CO-16", "BR-DEC-18"}},
		{name: "BR-DEC-18 counts characters, not value", base: "380", edits: []string{"<ram:DuePayableAmount>259.96<", "<ram:DuePayableAmount>259.9600<"},
			errors: []string{"BR-DEC-18"}},
		{name: "sum: tax off by 0.01", base: "380", edits: []string{"<ram:CalculatedAmount>41.51<", "<ram:CalculatedAmount>41.52<"},
			errors: []string{"BR-CO-14", "BR-S-09"}},
		{name: "sum: grand off by 0.01", base: "380", edits: []string{"<ram:GrandTotalAmount>259.96<", "<ram:GrandTotalAmount>259.97<"},
			errors: []string{"BR-CO-15", "BR-CO-16"}},
		{name: "sum: due off by 0.01", base: "380", edits: []string{"<ram:DuePayableAmount>259.96<", "<ram:DuePayableAmount>259.95<"},
			errors: []string{"BR-CO-16"}},
		{name: "sum: header line total off by 0.01", base: "380", edits: []string{"<ram:LineTotalAmount>218.45</ram:LineTotalAmount>\n\t\t\t\t<ram:TaxBasisTotalAmount>", "<ram:LineTotalAmount>218.44</ram:LineTotalAmount>\n\t\t\t\t<ram:TaxBasisTotalAmount>"},
			errors: []string{"BR-CO-10", "BR-CO-13"}},
		{name: "sum: basis off by 0.01", base: "380", edits: []string{"<ram:BasisAmount>218.45<", "<ram:BasisAmount>218.46<"},
			errors: []string{"BR-S-08"}}, // 218.46 * 19 % still rounds to 41.51
		{name: "BR-DE-15 no buyer reference", base: "380", edits: []string{"<ram:BuyerReference>Leitweg-ID</ram:BuyerReference>", ""},
			errors: []string{"BR-DE-15"}},
		{name: "BR-DE-16 no seller tax id", base: "380", edits: []string{`<ram:SpecifiedTaxRegistration>
					<ram:ID schemeID="VA">DE123456789</ram:ID>
				</ram:SpecifiedTaxRegistration>`, ""},
			errors: []string{"BR-DE-16", "BR-S-02"}},
		{name: "BR-DE-7 no seller e-mail", base: "380", edits: []string{"billing@example.com", ""},
			errors: []string{"BR-DE-7"}, other: []string{"BR-DE-28"}},
		{name: "BR-DE-9 no buyer postcode", base: "380", edits: []string{"<ram:PostcodeCode>20095</ram:PostcodeCode>", ""},
			errors: []string{"BR-DE-9"}},
		{name: "BR-DE-8 no buyer city", base: "380", edits: []string{"<ram:CityName>Hamburg</ram:CityName>", ""},
			errors: []string{"BR-DE-8"}},
		{name: "XSD wrong order", base: "380", edits: []string{"<ram:BuyerReference>Leitweg-ID</ram:BuyerReference>", "", "</ram:BuyerTradeParty>", "</ram:BuyerTradeParty><ram:BuyerReference>Leitweg-ID</ram:BuyerReference>"},
			errors: []string{"XSD"}},
		{name: "XSD unknown element", base: "380", edits: []string{"<ram:LineID>1</ram:LineID>", "<ram:LineID>1</ram:LineID><ram:Foo/>"},
			errors: []string{"XSD"}},
		{name: "XSD amount not a decimal", base: "380", edits: []string{"<ram:DuePayableAmount>259.96<", "<ram:DuePayableAmount>259,96<"},
			errors: []string{"XSD"}},
		{name: "DIGAKIT-FSC-1 bad check character", base: "380", edits: []string{">CHAAAAAAAAAAAAAJ<", ">CHAAAAAAAAAAAAAX<"},
			other: []string{"DIGAKIT-FSC-1"}},
		{name: "not well-formed", base: "380", edits: []string{"</rsm:CrossIndustryInvoice>", ""},
			errors: []string{"XML"}},
		{name: "DTD", base: "380", edits: []string{"<rsm:CrossIndustryInvoice", `<!DOCTYPE x [<!ENTITY a "b">]><rsm:CrossIndustryInvoice`},
			errors: []string{"XML"}},
		{name: "wrong root", base: "380", edits: []string{"rsm:CrossIndustryInvoice ", "rsm:CrossIndustryInvoiceX ", "</rsm:CrossIndustryInvoice>", "</rsm:CrossIndustryInvoiceX>"},
			errors: []string{"XSD"}},
	}
}

func (tc negCase) doc(t testing.TB) []byte {
	s := golden(t, tc.base)
	for i := 0; i+1 < len(tc.edits); i += 2 {
		if !strings.Contains(s, tc.edits[i]) {
			t.Fatalf("edit %d: %q not in %s", i/2, tc.edits[i], tc.base)
		}
		s = strings.Replace(s, tc.edits[i], tc.edits[i+1], 1)
	}
	return []byte(s)
}

// TestCheckNegative is X2: each edit breaks exactly the expected rules.
func TestCheckNegative(t *testing.T) {
	for _, tc := range negCases() {
		t.Run(tc.name, func(t *testing.T) {
			fs := Check(tc.doc(t))
			var errs, other []string
			for _, f := range fs {
				if f.Level == LevelError {
					if !slices.Contains(errs, f.Rule) {
						errs = append(errs, f.Rule)
					}
				} else if !slices.Contains(other, f.Rule) {
					other = append(other, f.Rule)
				}
				if strings.Contains(f.Message, testCode) || f.XPath == "" {
					t.Errorf("bad finding %+v", f)
				}
			}
			slices.Sort(errs)
			slices.Sort(other)
			if !slices.Equal(errs, tc.errors) {
				t.Errorf("error rules = %v, want %v", errs, tc.errors)
			}
			if !slices.Equal(other, tc.other) {
				t.Errorf("other rules = %v, want %v", other, tc.other)
			}
			if Valid(fs) != (len(tc.errors) == 0) {
				t.Errorf("Valid = %v", Valid(fs))
			}
		})
	}
}

func TestCheckGarbage(t *testing.T) {
	for _, in := range []string{"", "x", "<a>", "<a/><b/>", "\x00", strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)} {
		fs := Check([]byte(in))
		if Valid(fs) || len(fs) == 0 || (fs[0].Rule != "XML" && fs[0].Rule != "XSD") {
			t.Errorf("Check(%q) = %+v", in, fs)
		}
	}
	big := make([]byte, MaxDocumentSize+1)
	if fs := Check(big); Valid(fs) || fs[0].Rule != "XML" {
		t.Errorf("oversized document: %+v", fs)
	}
}

// TestEveryDRE0RuleHasANegativeCase reads the assertion ids of dre0.sch
// from the shared test data: each must be expected by at least one X2
// case, so no DiGA rule is implemented without a test that breaks it.
func TestEveryDRE0RuleHasANegativeCase(t *testing.T) {
	sch, err := os.ReadFile(filepath.Join(sharedData(t), "gkv", "schematron", "diga", "dre0.sch"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := parseXML(sch)
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, tc := range negCases() {
		for _, r := range append(slices.Clone(tc.errors), tc.other...) {
			covered[r] = true
		}
	}
	n := 0
	walk(root, func(x *xnode) {
		if x.local != "assert" {
			return
		}
		id, _ := x.attr("id")
		n++
		if !covered[id] {
			t.Errorf("%s has no negative case", id)
		}
	})
	if n != 41 {
		t.Errorf("dre0.sch has %d assertions, want 41", n)
	}
}
