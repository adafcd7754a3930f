package xrechnung

import (
	"math/big"
	"regexp"
	"strings"
)

// The EN 16931 (CEN CII 1.3.7, DiGA variant) and XRechnung 2.2 (KoSIT
// Schematron 1.7.3) rules that a one-line DiGA invoice can break, with the
// rule ids of those rule sets. The Saxon oracle test runs the real rule
// sets on the same documents where Java and Saxon-HE are installed.

const (
	pSCTT = "rsm:SupplyChainTradeTransaction"
	pAHTA = "ram:ApplicableHeaderTradeAgreement"
	pAHTS = "ram:ApplicableHeaderTradeSettlement"
	pSum  = "ram:SpecifiedTradeSettlementHeaderMonetarySummation"
)

func (c *checker) en16931() {
	r := c.root
	tx := r.first(pSCTT)
	agr := tx.first(pAHTA)
	set := tx.first(pAHTS)
	sum := set.first(pSum)
	seller := agr.first("ram:SellerTradeParty")
	buyer := agr.first("ram:BuyerTradeParty")
	at := func(n *xnode) *xnode { return orNode(n, r) }

	// EN 16931 tests presence as "x != ''" on the raw string value.
	present := func(rule string, n *xnode, ctx *xnode, what string) {
		c.assert(n.value() != "", rule, LevelError, at(ctx), "%s must be present", what)
	}
	present("BR-01", r.first("rsm:ExchangedDocumentContext", "ram:GuidelineSpecifiedDocumentContextParameter", "ram:ID"), r.first("rsm:ExchangedDocumentContext"), "the specification identifier (BT-24)")
	present("BR-02", r.first("rsm:ExchangedDocument", "ram:ID"), r.first("rsm:ExchangedDocument"), "the invoice number (BT-1)")
	c.assert(dtString(r.first("rsm:ExchangedDocument", "ram:IssueDateTime")) != "",
		"BR-03", LevelError, at(r.first("rsm:ExchangedDocument")), "the issue date (BT-2) must be present")
	present("BR-04", r.first("rsm:ExchangedDocument", "ram:TypeCode"), r.first("rsm:ExchangedDocument"), "the invoice type code (BT-3)")
	present("BR-05", set.first("ram:InvoiceCurrencyCode"), set, "the invoice currency code (BT-5)")
	present("BR-06", seller.first("ram:Name"), seller, "the seller name (BT-27)")
	present("BR-07", buyer.first("ram:Name"), buyer, "the buyer name (BT-44)")
	c.assert(seller.first("ram:PostalTradeAddress") != nil, "BR-08", LevelError, at(seller), "the seller postal address (BG-5) must be present")
	if a := seller.first("ram:PostalTradeAddress"); a != nil {
		present("BR-09", a.first("ram:CountryID"), a, "the seller country code (BT-40)")
	}
	c.assert(buyer.first("ram:PostalTradeAddress") != nil, "BR-10", LevelError, at(buyer), "the buyer postal address (BG-8) must be present")
	if a := buyer.first("ram:PostalTradeAddress"); a != nil {
		present("BR-11", a.first("ram:CountryID"), a, "the buyer country code (BT-55)")
	}
	if sum != nil { // as in EN 16931, BR-12..15 have the summation as context
		present("BR-12", sum.first("ram:LineTotalAmount"), sum, "the sum of line net amounts (BT-106)")
		present("BR-13", sum.first("ram:TaxBasisTotalAmount"), sum, "the total without VAT (BT-109)")
		present("BR-14", sum.first("ram:GrandTotalAmount"), sum, "the total with VAT (BT-112)")
		present("BR-15", sum.first("ram:DuePayableAmount"), sum, "the amount due (BT-115)")
	}
	lines := tx.all("ram:IncludedSupplyChainTradeLineItem")
	c.assert(len(lines) > 0, "BR-16", LevelError, at(tx), "the invoice must have at least one line")

	lineSum := new(big.Rat)
	linesOK := true
	for _, l := range lines {
		present("BR-21", l.first("ram:AssociatedDocumentLineDocument", "ram:LineID"), l, "the line identifier (BT-126)")
		q := l.first("ram:SpecifiedLineTradeDelivery", "ram:BilledQuantity")
		present("BR-22", q, l, "the invoiced quantity (BT-129)")
		u, _ := q.attr("unitCode")
		c.assert(strings.TrimSpace(u) != "", "BR-23", LevelError, at(orNode(q, l)), "the unit of measure (BT-130) must be present")
		lt := l.first("ram:SpecifiedLineTradeSettlement", "ram:SpecifiedTradeSettlementLineMonetarySummation", "ram:LineTotalAmount")
		present("BR-24", lt, l, "the line net amount (BT-131)")
		present("BR-25", l.first("ram:SpecifiedTradeProduct", "ram:Name"), l, "the item name (BT-153)")
		price := l.first("ram:SpecifiedLineTradeAgreement", "ram:NetPriceProductTradePrice", "ram:ChargeAmount")
		present("BR-26", price, l, "the item net price (BT-146)")
		if p, ok := parseDecimal(price.norm()); ok {
			c.assert(p.Sign() >= 0, "BR-27", LevelError, price, "the item net price (BT-146) must not be negative")
		}
		if v, ok := parseDecimal(lt.norm()); ok {
			lineSum.Add(lineSum, v)
		} else {
			linesOK = false
		}
		tax := l.first("ram:SpecifiedLineTradeSettlement", "ram:ApplicableTradeTax")
		present("BR-CO-04", tax.first("ram:CategoryCode"), orNode(tax, l), "the invoiced item VAT category code (BT-151)")
		if tax.first("ram:CategoryCode").norm() == "S" {
			rate, ok := parseDecimal(tax.first("ram:RateApplicablePercent").norm())
			c.assert(ok && rate.Sign() > 0, "BR-S-05", LevelError, at(tax), "a line with VAT category S must have a rate greater than zero")
		}
		if tax.first("ram:CategoryCode").norm() == "AE" {
			rate, ok := parseDecimal(tax.first("ram:RateApplicablePercent").norm())
			c.assert(ok && rate.Sign() == 0, "BR-AE-05", LevelError, at(tax), "a line with VAT category AE must have the rate 0")
		}
	}

	dec := func(n *xnode) (*big.Rat, bool) { return parseDecimal(n.norm()) }
	lineTotal, okLT := dec(sum.first("ram:LineTotalAmount"))
	if okLT && linesOK {
		c.assert(lineTotal.Cmp(lineSum) == 0, "BR-CO-10", LevelError, sum.first("ram:LineTotalAmount"),
			"the sum of line net amounts (BT-106) must equal the sum of the line totals (%s)", fmtRat(lineSum))
	}
	basis, okB := dec(sum.first("ram:TaxBasisTotalAmount"))
	if okLT && okB && len(set.all("ram:SpecifiedTradeAllowanceCharge")) == 0 {
		c.assert(basis.Cmp(lineTotal) == 0, "BR-CO-13", LevelError, sum.first("ram:TaxBasisTotalAmount"),
			"the total without VAT (BT-109) must equal the sum of line net amounts without allowances or charges")
	}
	var taxTotal *big.Rat
	okT := false
	for _, t := range sum.all("ram:TaxTotalAmount") {
		if cur, _ := t.attr("currencyID"); cur == set.first("ram:InvoiceCurrencyCode").norm() {
			taxTotal, okT = dec(t)
		}
	}
	heads := set.all("ram:ApplicableTradeTax")
	if calcs, ok := decimals(allOf(heads, "ram:CalculatedAmount")); ok && okT {
		s := new(big.Rat)
		for _, v := range calcs {
			s.Add(s, v)
		}
		c.assert(taxTotal.Cmp(s) == 0, "BR-CO-14", LevelError, at(sum), "the VAT total (BT-110) must equal the sum of the VAT category amounts (%s)", fmtRat(s))
	}
	grand, okG := dec(sum.first("ram:GrandTotalAmount"))
	if okB && okG {
		want := new(big.Rat).Set(basis)
		if okT {
			want.Add(want, taxTotal)
		}
		c.assert(grand.Cmp(want) == 0, "BR-CO-15", LevelError, sum.first("ram:GrandTotalAmount"),
			"the total with VAT (BT-112) must equal the total without VAT plus the VAT total (%s)", fmtRat(want))
	} else {
		c.add("BR-CO-15", LevelError, at(orNode(sum, set)), "the total with VAT (BT-112) must equal the total without VAT plus the VAT total")
	}
	due, okD := dec(sum.first("ram:DuePayableAmount"))
	if okG && okD {
		want := new(big.Rat).Set(grand)
		if p, ok := dec(sum.first("ram:TotalPrepaidAmount")); ok {
			want.Sub(want, p)
		}
		if p, ok := dec(sum.first("ram:RoundingAmount")); ok {
			want.Add(want, p)
		}
		c.assert(due.Cmp(want) == 0, "BR-CO-16", LevelError, sum.first("ram:DuePayableAmount"),
			"the amount due (BT-115) must equal the total with VAT minus prepaid plus rounding (%s)", fmtRat(want))
	}
	c.assert(seller == nil || len(seller.all("ram:ID")) > 0 || len(seller.all("ram:GlobalID")) > 0 ||
		seller.first("ram:SpecifiedLegalOrganization", "ram:ID") != nil || len(withScheme(seller, "VA", "ram:SpecifiedTaxRegistration", "ram:ID")) > 0,
		"BR-CO-26", LevelError, at(seller), "the seller must be identified by an identifier, legal registration or VAT identifier")

	// At most two decimals for the amounts of the totals and breakdown. As
	// in EN 16931 these rules count the characters after the "." of the
	// raw text ("1.500" fails), except BR-DEC-13/15, which compare values.
	// (CEN's BR-DEC-23 for the line net amount uses a path that never
	// matches in CII 1.3.7, so it is not reproduced.)
	for _, d := range []struct {
		rule string
		ns   []*xnode
	}{
		{"BR-DEC-09", sum.all("ram:LineTotalAmount")},
		{"BR-DEC-12", sum.all("ram:TaxBasisTotalAmount")},
		{"BR-DEC-14", sum.all("ram:GrandTotalAmount")},
		{"BR-DEC-18", sum.all("ram:DuePayableAmount")},
		{"BR-DEC-19", allOf(heads, "ram:BasisAmount")},
		{"BR-DEC-20", allOf(heads, "ram:CalculatedAmount")},
	} {
		if len(d.ns) > 0 {
			_, frac, _ := strings.Cut(d.ns[0].value(), ".")
			c.assert(len([]rune(frac)) <= 2, d.rule, LevelError, d.ns[0], "the amount %s may have at most two decimals", d.ns[0].local)
		}
	}
	taxCur := set.first("ram:TaxCurrencyCode")
	for _, t := range sum.all("ram:TaxTotalAmount") {
		if cur, _ := t.attr("currencyID"); cur == set.first("ram:InvoiceCurrencyCode").value() {
			if v, ok := dec(t); ok {
				c.assert(v.Cmp(roundHalfUp2(v)) == 0, "BR-DEC-13", LevelError, t, "the VAT total (BT-110) may have at most two decimals")
			}
		}
	}
	if taxCur != nil && sum != nil {
		found := false
		for _, t := range sum.all("ram:TaxTotalAmount") {
			if cur, _ := t.attr("currencyID"); cur == taxCur.value() {
				found = true
				if v, ok := dec(t); ok && v.Cmp(roundHalfUp2(v)) != 0 {
					found = false
				}
			}
		}
		c.assert(found, "BR-53", LevelError, sum, "with a VAT accounting currency (BT-6) the VAT total in that currency (BT-111) must be given")
		if len(sum.all("ram:TaxTotalAmount")) > 0 {
			c.assert(found, "BR-DEC-15", LevelError, sum, "the VAT total in accounting currency (BT-111) may have at most two decimals")
		}
	}
	walk(r, func(n *xnode) {
		if n.ns == NSUDT && n.local == "DateTimeString" {
			if f, _ := n.attr("format"); f == "102" {
				c.assert(reEightDigits.MatchString(n.value()), "CII-DT-097", LevelError, n, "a date with format 102 must be YYYYMMDD")
			}
		}
	})
	for _, l := range lines {
		if p := l.first("ram:SpecifiedTradeProduct"); p != nil {
			c.assert(p.first("ram:IndividualTradeProductInstance") == nil, "CII-SR-087", LevelWarning, p, "IndividualTradeProductInstance should not be present")
		}
	}

	// VAT breakdown per category (BR-S-08/09, BR-AE-08/09/10), for the
	// categories of the lines.
	for _, h := range heads {
		cat := h.first("ram:CategoryCode").norm()
		rate, okR := dec(h.first("ram:RateApplicablePercent"))
		b, okBa := dec(h.first("ram:BasisAmount"))
		calc, okC := dec(h.first("ram:CalculatedAmount"))
		want := new(big.Rat)
		for _, l := range lines {
			lt := l.first("ram:SpecifiedLineTradeSettlement", "ram:ApplicableTradeTax")
			lr, ok := dec(lt.first("ram:RateApplicablePercent"))
			if lt.first("ram:CategoryCode").norm() == cat && ok && okR && lr.Cmp(rate) == 0 {
				if v, ok := dec(l.first("ram:SpecifiedLineTradeSettlement", "ram:SpecifiedTradeSettlementLineMonetarySummation", "ram:LineTotalAmount")); ok {
					want.Add(want, v)
				}
			}
		}
		switch cat {
		case "S":
			if okBa {
				c.assert(b.Cmp(want) == 0, "BR-S-08", LevelError, h, "the VAT category taxable amount (BT-116) for S must equal the sum of its line net amounts (%s)", fmtRat(want))
			}
			if okBa && okR && okC {
				exp := roundHalfUp2(new(big.Rat).Quo(new(big.Rat).Mul(b, rate), big.NewRat(100, 1)))
				c.assert(calc.Cmp(exp) == 0, "BR-S-09", LevelError, h, "the VAT category tax amount (BT-117) for S must equal taxable amount times rate, rounded to two decimals (%s)", fmtRat(exp))
			}
			c.assert(len(withScheme(seller, "VA", "ram:SpecifiedTaxRegistration", "ram:ID"))+len(withScheme(seller, "FC", "ram:SpecifiedTaxRegistration", "ram:ID")) > 0 ||
				agr.first("ram:SellerTaxRepresentativeTradeParty") != nil,
				"BR-S-02", LevelError, at(seller), "an invoice with VAT category S needs the seller's VAT identifier, tax registration or tax representative")
		case "AE":
			if okBa {
				c.assert(b.Cmp(want) == 0, "BR-AE-08", LevelError, h, "the VAT category taxable amount (BT-116) for AE must equal the sum of its line net amounts (%s)", fmtRat(want))
			}
			c.assert(okC && calc.Sign() == 0, "BR-AE-09", LevelError, h, "the VAT category tax amount (BT-117) for AE must be 0")
			c.assert(h.first("ram:ExemptionReason").norm() != "" || h.first("ram:ExemptionReasonCode").norm() != "",
				"BR-AE-10", LevelError, h, "the VAT breakdown for AE needs an exemption reason text or code (BT-120/BT-121)")
			c.assert(len(withScheme(seller, "VA", "ram:SpecifiedTaxRegistration", "ram:ID")) > 0 || agr.first("ram:SellerTaxRepresentativeTradeParty") != nil,
				"BR-AE-02", LevelError, at(seller), "an invoice with VAT category AE needs the seller's VAT identifier")
			c.assert(len(withScheme(buyer, "VA", "ram:SpecifiedTaxRegistration", "ram:ID")) > 0 || buyer.first("ram:SpecifiedLegalOrganization", "ram:ID") != nil,
				"BR-AE-02", LevelError, at(buyer), "an invoice with VAT category AE needs the buyer's VAT identifier or legal registration identifier")
		}
	}

	// Scheme ids (BR-CL-11, BR-CL-21; with the ITSG DiGA patch XR01-XR03
	// pass) and country codes (BR-CL-14).
	walk(r, func(n *xnode) {
		if n.ns == NSRAM && n.local == "CountryID" {
			v := n.norm()
			c.assert(!strings.Contains(v, " ") && isCountry(v), "BR-CL-14", LevelError, n, "the country code must be from ISO 3166-1 alpha-2")
		}
		s, ok := n.attr("schemeID")
		if !ok || n.ns != NSRAM {
			return
		}
		switch {
		case n.local == "ID" && !hasAncestor(n, "SpecifiedTaxRegistration"):
			c.assert(iso6523[strings.TrimSpace(s)], "BR-CL-11", LevelError, n, "the scheme identifier of %s must be from the ISO 6523 ICD list (or XR01-XR03)", n.local)
		case n.local == "GlobalID" && n.parent != nil && n.parent.local == "SpecifiedTradeProduct":
			c.assert(iso6523[strings.TrimSpace(s)], "BR-CL-21", LevelError, n, "the item standard identifier scheme must be from the ISO 6523 ICD list (or XR01-XR03)")
		}
	})
}

func allOf(ns []*xnode, steps ...string) []*xnode {
	var out []*xnode
	for _, n := range ns {
		out = append(out, n.all(steps...)...)
	}
	return out
}

// reEightDigits is the unanchored XPath matches(., '(\d{8})').
var reEightDigits = regexp.MustCompile(`[0-9]{8}`)

func hasAncestor(n *xnode, local string) bool {
	for x := n.parent; x != nil; x = x.parent {
		if x.local == local {
			return true
		}
	}
	return false
}

func (c *checker) xrechnung() {
	r := c.root
	tx := r.first(pSCTT)
	agr := tx.first(pAHTA)
	set := tx.first(pAHTS)
	seller := agr.first("ram:SellerTradeParty")
	at := func(n *xnode) *xnode { return orNode(n, r) }
	c.assert(set.first("ram:SpecifiedTradeSettlementPaymentMeans") != nil, "BR-DE-1", LevelError, at(set), `an invoice must contain "PAYMENT INSTRUCTIONS" (BG-16)`)
	c.assert(agr.first("ram:BuyerReference").norm() != "", "BR-DE-15", LevelError, at(agr), `"Buyer reference" (BT-10) must be present`)
	c.assert(len(withScheme(seller, "VA", "ram:SpecifiedTaxRegistration", "ram:ID"))+len(withScheme(seller, "VAT", "ram:SpecifiedTaxRegistration", "ram:ID"))+
		len(withScheme(seller, "FC", "ram:SpecifiedTaxRegistration", "ram:ID")) > 0 || agr.first("ram:SellerTaxRepresentativeTradeParty") != nil,
		"BR-DE-16", LevelError, at(seller), "the seller VAT identifier (BT-31), tax registration identifier (BT-32) or tax representative (BG-11) must be present")
	tc := r.first("rsm:ExchangedDocument", "ram:TypeCode").norm()
	switch tc {
	case "326", "380", "384", "389", "381", "875", "876", "877":
	default:
		c.add("BR-DE-17", LevelWarning, at(r.first("rsm:ExchangedDocument", "ram:TypeCode")), "the invoice type code (BT-3) should be one of 326, 380, 384, 389, 381, 875, 876, 877")
	}
	for _, pt := range set.all("ram:SpecifiedTradePaymentTerms") {
		c.assert(len(pt.all("ram:Description")) < 2, "BR-DE-18-a", LevelError, pt, "BT-20 must not occur more than once")
	}
	if tc == "384" {
		c.assert(set.first("ram:InvoiceReferencedDocument") != nil, "BR-DE-26", LevelWarning, at(set), "a corrected invoice (384) should reference the preceding invoice (BG-3)")
	}
	id := r.first("rsm:ExchangedDocumentContext", "ram:GuidelineSpecifiedDocumentContextParameter", "ram:ID").value()
	c.assert(id == "urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_2.2" || id == GuidelineID, "BR-DE-21", LevelWarning,
		at(r.first("rsm:ExchangedDocumentContext")), "the specification identifier (BT-24) should be the XRechnung 2.2 identifier")
	if seller != nil {
		contacts := seller.all("ram:DefinedTradeContact")
		c.assert(len(contacts) > 0, "BR-DE-2", LevelError, seller, `the group "SELLER CONTACT" (BG-6) must be present`)
		for _, ct := range contacts {
			c.assert(ct.first("ram:PersonName").norm() != "" || ct.first("ram:DepartmentName").norm() != "", "BR-DE-5", LevelError, ct, `"Seller contact point" (BT-41) must be present`)
			phone := ct.first("ram:TelephoneUniversalCommunication", "ram:CompleteNumber").norm()
			c.assert(phone != "", "BR-DE-6", LevelError, ct, `"Seller contact telephone number" (BT-42) must be present`)
			c.assert(rePhone.MatchString(phone), "BR-DE-27", LevelWarning, ct, "BT-42 should contain at least three digits")
			mail := ct.first("ram:EmailURIUniversalCommunication", "ram:URIID").norm()
			c.assert(mail != "", "BR-DE-7", LevelError, ct, `"Seller contact email address" (BT-43) must be present`)
			c.assert(reEmail.MatchString(mail), "BR-DE-28", LevelWarning, ct, "BT-43 should be a plausible e-mail address")
		}
		if a := seller.first("ram:PostalTradeAddress"); a != nil {
			c.assert(a.first("ram:CityName").norm() != "", "BR-DE-3", LevelError, a, `"Seller city" (BT-37) must be present`)
			c.assert(a.first("ram:PostcodeCode").norm() != "", "BR-DE-4", LevelError, a, `"Seller post code" (BT-38) must be present`)
		}
	}
	if a := agr.first("ram:BuyerTradeParty", "ram:PostalTradeAddress"); a != nil {
		c.assert(a.first("ram:CityName").norm() != "", "BR-DE-8", LevelError, a, `"Buyer city" (BT-52) must be present`)
		c.assert(a.first("ram:PostcodeCode").norm() != "", "BR-DE-9", LevelError, a, `"Buyer post code" (BT-53) must be present`)
	}
	for _, pm := range set.all("ram:SpecifiedTradeSettlementPaymentMeans") {
		switch pm.first("ram:TypeCode").norm() {
		case "30", "58":
			c.assert(pm.first("ram:PayeePartyCreditorFinancialAccount") != nil, "BR-DE-23-a", LevelError, pm,
				"payment means 30/58 (credit transfer) need the group CREDIT TRANSFER (BG-17); DiGA invoices use 57")
			if pm.first("ram:TypeCode").norm() == "58" {
				c.assert(validIBAN(pm.first("ram:PayeePartyCreditorFinancialAccount", "ram:IBANID").value()), "BR-DE-19", LevelWarning, pm,
					"payment means 58 (SEPA credit transfer) should carry a correct IBAN (BT-84)")
			}
		}
	}
	for _, h := range set.all("ram:ApplicableTradeTax") {
		c.assert(h.first("ram:RateApplicablePercent").norm() != "", "BR-DE-14", LevelError, h, `"VAT category rate" (BT-119) must be present`)
	}
	// Extension scheme ids (BR-DEX-05/06), when BT-24 names the extension.
	if id != GuidelineID {
		return
	}
	walk(r, func(n *xnode) {
		s, ok := n.attr("schemeID")
		if !ok || n.ns != NSRAM {
			return
		}
		switch {
		case n.local == "ID" && !hasAncestor(n, "SpecifiedTaxRegistration"):
			c.assert(iso6523[strings.TrimSpace(s)], "BR-DEX-05", LevelError, n, "the scheme identifier of %s must be from the ISO 6523 ICD list or XR01-XR03", n.local)
		case n.local == "GlobalID" && hasAncestor(n, "SpecifiedTradeProduct"):
			c.assert(iso6523[strings.TrimSpace(s)], "BR-DEX-06", LevelError, n, "the item standard identifier scheme must be from the ISO 6523 ICD list or XR01-XR03")
		}
	})
}

// fsc reports a Freischaltcode with a wrong check character as a warning:
// dre0.sch does not test it, and the ITSG valid samples fail it, but a
// real code always passes (spec A2.2, B2.1).
func (c *checker) fsc() {
	for _, n := range withScheme(c.root.first(pSCTT, "ram:IncludedSupplyChainTradeLineItem", "ram:SpecifiedTradeProduct"), SchemeCode, "ram:BuyerAssignedID") {
		v := n.norm()
		if reCode.MatchString(v) && !base32Check1Valid(v) {
			c.add("DIGAKIT-FSC-1", LevelWarning, n, "the Freischaltcode has a wrong check character (Base32Check1); the insurer will not find it")
		}
	}
}

// validIBAN checks the format and the ISO 13616 mod-97 check digits.
func validIBAN(s string) bool {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)
	if len(s) < 5 || len(s) > 34 || !reIBAN.MatchString(s) {
		return false
	}
	s = strings.ToUpper(s[4:] + s[:4])
	rem := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			rem = (rem*10 + int(r-'0')) % 97
		case r >= 'A' && r <= 'Z':
			rem = (rem*100 + int(r-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}

var reIBAN = regexp.MustCompile(`^[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{0,30}$`)
