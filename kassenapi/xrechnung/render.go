package xrechnung

import (
	"errors"
	"fmt"
	"strings"
)

// RenderText renders a DiGA invoice as plain text for manual dispatch by
// post (Versandart 3, spec B2.3/B3.6): parties, number, dates, the line
// with VE-ID and Freischaltcode, amounts, and for a correction the
// corrected number and reason. The XML stays the legal document; the
// rendering is a printout of it. It refuses a document that Check finds
// invalid, so nothing is printed that the insurer would reject. The
// output contains the Freischaltcode (it is the invoice's content):
// treat it like the XML.
func RenderText(doc []byte) (string, error) {
	if fs := Check(doc); !Valid(fs) {
		return "", &CheckError{Findings: errorFindings(fs)}
	}
	root, err := parseXML(doc)
	if err != nil { // unreachable after Check, kept for safety
		return "", errors.New("xrechnung: " + err.Error())
	}
	ed := root.first("rsm:ExchangedDocument")
	tx := root.first(pSCTT)
	agr := tx.first(pAHTA)
	set := tx.first(pAHTS)
	sum := set.first(pSum)
	line := tx.first("ram:IncludedSupplyChainTradeLineItem")
	prod := line.first("ram:SpecifiedTradeProduct")
	tax := set.first("ram:ApplicableTradeTax")

	var b strings.Builder
	party := func(title string, p *xnode) {
		fmt.Fprintf(&b, "%s\n  %s\n", title, p.first("ram:Name").norm())
		if a := p.first("ram:PostalTradeAddress"); a != nil {
			for _, l := range []string{"ram:LineOne", "ram:LineTwo"} {
				if v := a.first(l).norm(); v != "" {
					fmt.Fprintf(&b, "  %s\n", v)
				}
			}
			fmt.Fprintf(&b, "  %s %s\n  %s\n", a.first("ram:PostcodeCode").norm(), a.first("ram:CityName").norm(), a.first("ram:CountryID").norm())
		}
		fmt.Fprintf(&b, "  IK %s\n", firstNorm(withScheme(p, SchemeIK, "ram:ID")))
	}
	title := "Rechnung"
	if ed.first("ram:TypeCode").norm() == string(TypeCorrection) {
		title = "Korrekturrechnung"
	}
	fmt.Fprintf(&b, "%s %s\n\n", title, ed.first("ram:ID").norm())
	seller := agr.first("ram:SellerTradeParty")
	party("Rechnungssteller", seller)
	for _, r := range seller.all("ram:SpecifiedTaxRegistration", "ram:ID") {
		label := "USt-IdNr."
		if s, _ := r.attr("schemeID"); s == "FC" {
			label = "Steuernummer"
		}
		fmt.Fprintf(&b, "  %s %s\n", label, r.norm())
	}
	if ct := seller.first("ram:DefinedTradeContact"); ct != nil {
		fmt.Fprintf(&b, "  Kontakt: %s, %s, %s\n", ct.first("ram:PersonName").norm(),
			ct.first("ram:TelephoneUniversalCommunication", "ram:CompleteNumber").norm(),
			ct.first("ram:EmailURIUniversalCommunication", "ram:URIID").norm())
	}
	b.WriteString("\n")
	party("Rechnungsempfänger", agr.first("ram:BuyerTradeParty"))
	b.WriteString("\n")
	payee := set.first("ram:PayeeTradeParty")
	fmt.Fprintf(&b, "Zahlungsempfänger\n  %s\n  IK %s\n\n", payee.first("ram:Name").norm(), firstNorm(withScheme(payee, SchemeIK, "ram:ID")))

	date := func(n *xnode) string {
		if d, ok := parse102(dtString(n)); ok {
			return fmt.Sprintf("%02d.%02d.%04d", d.Day, int(d.Month), d.Year)
		}
		return dtString(n)
	}
	fmt.Fprintf(&b, "Rechnungsdatum:          %s\n", date(ed.first("ram:IssueDateTime")))
	fmt.Fprintf(&b, "Tag der Leistung:        %s\n", date(tx.first("ram:ApplicableHeaderTradeDelivery", "ram:ActualDeliverySupplyChainEvent", "ram:OccurrenceDateTime")))
	if ref := set.first("ram:InvoiceReferencedDocument", "ram:IssuerAssignedID"); ref != nil {
		fmt.Fprintf(&b, "Korrigierte Rechnung:    %s\n", ref.norm())
		fmt.Fprintf(&b, "Korrekturgrund:          %s\n", ed.first("ram:IncludedNote", "ram:Content").norm())
	} else if note := ed.first("ram:IncludedNote", "ram:Content").norm(); note != "" {
		fmt.Fprintf(&b, "Bemerkung:               %s\n", note)
	}
	b.WriteString("\n")

	fmt.Fprintf(&b, "Position 1: %s\n", prod.first("ram:Name").norm())
	if d := prod.first("ram:Description").norm(); d != "" {
		fmt.Fprintf(&b, "  %s\n", d)
	}
	fmt.Fprintf(&b, "  DiGA-VE-ID %s\n", firstNorm(withScheme(prod, SchemeVEID, "ram:GlobalID")))
	fmt.Fprintf(&b, "  Freischaltcode %s\n", groupCode(firstNorm(withScheme(prod, SchemeCode, "ram:BuyerAssignedID"))))
	fmt.Fprintf(&b, "  Menge 1, Einzelpreis netto %s EUR\n\n", line.first("ram:SpecifiedLineTradeAgreement", "ram:NetPriceProductTradePrice", "ram:ChargeAmount").norm())

	vat := "USt " + tax.first("ram:RateApplicablePercent").norm() + " %"
	if tax.first("ram:CategoryCode").norm() == string(TaxReverseCharge) {
		vat += " (" + tax.first("ram:ExemptionReason").norm() + ")"
	}
	rows := [][2]string{
		{"Summe netto", sum.first("ram:TaxBasisTotalAmount").norm()},
		{vat, sum.first("ram:TaxTotalAmount").norm()},
		{"Summe brutto", sum.first("ram:GrandTotalAmount").norm()},
		{"Zahlbetrag", sum.first("ram:DuePayableAmount").norm()},
	}
	width := 0
	for _, r := range rows {
		width = max(width, len([]rune(r[0])))
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "%s%s %12s EUR\n", r[0], strings.Repeat(" ", width-len([]rune(r[0]))), r[1])
	}
	return b.String(), nil
}

// groupCode writes a Freischaltcode in groups of four for reading.
func groupCode(s string) string {
	if len(s) != 16 {
		return s
	}
	return s[0:4] + " " + s[4:8] + " " + s[8:12] + " " + s[12:16]
}

func errorFindings(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Level == LevelError {
			out = append(out, f)
		}
	}
	return out
}
