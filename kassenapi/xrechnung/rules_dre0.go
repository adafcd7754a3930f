package xrechnung

import "math/big"

// The DiGA billing rules of ITSG dre0.sch (step 4 of the insurers'
// validation), one Go assertion per Schematron assertion with the same id
// and the same test, so that an invoice passes here exactly when it
// passes there. The one deliberate difference: DRE0-CORR-4 also fails for
// reasons the insurer's loose regex lets through (spec B2.2).

// walk calls f for every element in document order.
func walk(n *xnode, f func(*xnode)) {
	f(n)
	for _, k := range n.kids {
		walk(k, f)
	}
}

func (c *checker) dre0() {
	walk(c.root, func(n *xnode) {
		switch {
		case n.ns == NSRSM && n.local == "ExchangedDocumentContext":
			c.dre0EDC(n)
		case n.ns == NSRSM && n.local == "ExchangedDocument":
			c.dre0ED(n)
		case n.ns == NSRSM && n.local == "SupplyChainTradeTransaction":
			c.dre0SCTT(n)
		case n.ns == NSRAM && n.local == "IncludedSupplyChainTradeLineItem":
			c.dre0Line(n)
		case n.ns == NSRAM && n.local == "ApplicableHeaderTradeAgreement":
			c.dre0AHTA(n)
		case n.ns == NSRAM && n.local == "ApplicableHeaderTradeSettlement":
			c.dre0AHTS(n)
		case n.ns == NSRAM && n.local == "SpecifiedTradePaymentTerms":
			c.assert(len(n.all("ram:Description")) == 1 && n.first("ram:Description").norm() == "", "DRE0-STPT-1", LevelError, n,
				"payment terms must have exactly one, empty Description")
			c.assert(n.first("ram:DueDateDateTime") == nil, "DRE0-STPT-2", LevelError, n, "a DiGA invoice must not carry a due date")
		case n.ns == NSRAM && n.local == "SpecifiedTradeSettlementPaymentMeans":
			c.assert(n.first("ram:ApplicableTradeSettlementFinancialCard") == nil, "DRE0-AHTS-4", LevelError, n, "no payment card information allowed")
			c.assert(n.first("ram:PayerPartyDebtorFinancialAccount") == nil, "DRE0-AHTS-5", LevelError, n, "no debtor account allowed")
			c.assert(n.first("ram:PayeePartyCreditorFinancialAccount") == nil, "DRE0-AHTS-6", LevelError, n, "no creditor account allowed")
			c.assert(n.first("ram:PayerSpecifiedDebtorFinancialInstitution") == nil, "DRE0-AHTS-7", LevelError, n, "no debtor bank allowed")
			c.assert(n.first("ram:PayeeSpecifiedCreditorFinancialInstitution") == nil, "DRE0-AHTS-8", LevelError, n, "no creditor bank allowed")
		}
	})
}

func (c *checker) dre0EDC(n *xnode) {
	id := n.first("ram:GuidelineSpecifiedDocumentContextParameter", "ram:ID")
	v := id.norm()
	at := orNode(id, n)
	c.assert(len(v) >= len(guidelinePrefix22) && v[:len(guidelinePrefix22)] == guidelinePrefix22, "DRE0-EDC-1", LevelError, at,
		"BT-24 must name XRechnung 2.2 with extension (%s)", GuidelineID)
	c.assert(v == GuidelineID, "DRE0-EDC-2", LevelError, at,
		"BT-24 must be exactly %s (without the extension the scheme ids XR01-XR03 are invalid)", GuidelineID)
}

const guidelinePrefix22 = "urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_2.2"

func orNode(a, b *xnode) *xnode {
	if a != nil {
		return a
	}
	return b
}

func (c *checker) dre0ED(n *xnode) {
	id := n.first("ram:ID")
	c.assert(reNum.MatchString(id.norm()), "DRE0-ED-1", LevelError, orNode(id, n),
		"invoice number must have 1-20 characters, the last a digit")
	tc := n.first("ram:TypeCode").norm()
	c.assert(tc == "380" || tc == "384", "DRE0-ED-2", LevelError, orNode(n.first("ram:TypeCode"), n),
		"type code must be 380 (commercial invoice) or 384 (corrected invoice)")
	c.assert(reDay.MatchString(dtString(n.first("ram:IssueDateTime"))), "DRE0-ED-3", LevelError, orNode(n.first("ram:IssueDateTime"), n),
		"issue date must be given in format 102 (YYYYMMDD)")
	if tc != "384" {
		return
	}
	ref := n.parent.first("rsm:SupplyChainTradeTransaction", "ram:ApplicableHeaderTradeSettlement", "ram:InvoiceReferencedDocument", "ram:IssuerAssignedID")
	refv := ref.norm()
	at := orNode(ref, n)
	c.assert(refv != "", "DRE0-CORR-1", LevelError, at, "a corrected invoice must reference the original invoice number (BT-25)")
	c.assert(id.norm() != refv, "DRE0-CORR-2", LevelError, at, "the referenced invoice number must differ from this invoice's number")
	c.assert(reNum.MatchString(refv), "DRE0-CORR-3", LevelError, at, "the referenced invoice number must have 1-20 characters, the last a digit")
	note := n.first("ram:IncludedNote", "ram:Content")
	reason := note.norm()
	if len(n.all("ram:IncludedNote", "ram:Content")) > 1 {
		c.add("DRE0-CORR-4", LevelError, n, "a corrected invoice must carry exactly one note, the GKV Anhang 7 reason")
		return
	}
	if _, err := ParseCorrectionReason(reason); err != nil {
		msg := "a corrected invoice needs a GKV Anhang 7 reason in BT-22 (001-004, or 010: with UST-ID, KK-Adresse, LE-Adresse joined by +, each at most once)"
		if reReasonInsurer.MatchString(reason) {
			msg += "; the insurer's looser rule may accept this form, digakit does not"
		}
		c.add("DRE0-CORR-4", LevelError, orNode(note, n), "%s", msg)
	}
}

// dtString returns the format-102 DateTimeString under a DateTimeType
// element, normalised ("" when absent or another format).
func dtString(n *xnode) string {
	for _, k := range n.all("udt:DateTimeString") {
		if f, _ := k.attr("format"); f == "102" {
			return k.norm()
		}
	}
	return ""
}

func hasDT102(n *xnode) bool {
	for _, k := range n.all("udt:DateTimeString") {
		if f, _ := k.attr("format"); f == "102" {
			return true
		}
	}
	return false
}

func (c *checker) dre0SCTT(n *xnode) {
	c.assert(len(n.all("ram:IncludedSupplyChainTradeLineItem")) == 1, "DRE0-SCTT-1", LevelError, n, "a DiGA invoice must have exactly one line")
	for _, upd := range []struct{ rule, old, new string }{
		{"DRE0-UPD-1", "DiGAVEID", "XR01"}, {"DRE0-UPD-2", "Freischaltcode", "XR02"}, {"DRE0-UPD-3", "IK", "XR03"},
	} {
		walk(c.root, func(x *xnode) {
			if v, ok := x.attr("schemeID"); ok && v == upd.old {
				c.add(upd.rule, LevelInfo, x, "the schemeID %q is obsolete; use %q", upd.old, upd.new)
			}
		})
	}
}

// withScheme returns the children of n named step whose schemeID is s.
func withScheme(n *xnode, s string, steps ...string) []*xnode {
	var out []*xnode
	for _, k := range n.all(steps...) {
		if v, _ := k.attr("schemeID"); v == s {
			out = append(out, k)
		}
	}
	return out
}

func firstNorm(ns []*xnode) string {
	if len(ns) == 0 {
		return ""
	}
	return ns[0].norm()
}

func (c *checker) dre0Line(n *xnode) {
	prod := n.first("ram:SpecifiedTradeProduct")
	at := orNode(prod, n)
	ve := withScheme(n, SchemeVEID, "ram:SpecifiedTradeProduct", "ram:GlobalID")
	c.assert(reVEID.MatchString(firstNorm(ve)), "DRE0-SCTT-2", LevelError, at, "the line must carry the DiGA-VE-ID (eight digits) as GlobalID with schemeID XR01")
	gid := n.first("ram:SpecifiedTradeProduct", "ram:GlobalID")
	gs, _ := gid.attr("schemeID")
	c.assert(normalizeSpace(gs) == SchemeVEID, "DRE0-SCTT-11", LevelError, orNode(gid, at), "the DiGA-VE-ID must use schemeID XR01")
	code := withScheme(n, SchemeCode, "ram:SpecifiedTradeProduct", "ram:BuyerAssignedID")
	c.assert(reCode.MatchString(firstNorm(code)), "DRE0-SCTT-3", LevelError, at, "the line must carry the Freischaltcode (16 characters A-Z, 2-7) as BuyerAssignedID with schemeID XR02")
	bid := n.first("ram:SpecifiedTradeProduct", "ram:BuyerAssignedID")
	bs, _ := bid.attr("schemeID")
	c.assert(normalizeSpace(bs) == SchemeCode, "DRE0-SCTT-12", LevelError, orNode(bid, at), "the Freischaltcode must use schemeID XR02")
	c.assert(n.first("ram:SpecifiedTradeProduct", "ram:Name").norm() != "", "DRE0-SCTT-4", LevelError, at, "the line must carry the DiGA name")

	sellBy := n.first("ram:SpecifiedTradeProduct", "ram:IndividualTradeProductInstance", "ram:SellByDateTime")
	header := n.parent.first("ram:ApplicableHeaderTradeDelivery", "ram:ActualDeliverySupplyChainEvent", "ram:OccurrenceDateTime")
	c.assert(reDay.MatchString(dtString(sellBy)) || reDay.MatchString(dtString(header)), "DRE0-SCTT-5", LevelError, at,
		"the service day must be given in format 102 (ActualDeliverySupplyChainEvent/OccurrenceDateTime)")
	// dre0.sch compares with a path relative to the line item that is
	// always empty: both dates present fails unless SellByDateTime is
	// empty. Mirrored exactly (spec B2.1).
	if hasDT102(sellBy) && hasDT102(header) {
		c.assert(dtString(sellBy) == "", "DRE0-SCTT-6", LevelError, sellBy,
			"the service day must not be given both in the line (SellByDateTime) and in the header; the insurers reject this even when both are equal")
	}
	price := n.first("ram:SpecifiedLineTradeAgreement", "ram:NetPriceProductTradePrice", "ram:ChargeAmount")
	total := n.first("ram:SpecifiedLineTradeSettlement", "ram:SpecifiedTradeSettlementLineMonetarySummation", "ram:LineTotalAmount")
	p, ok1 := parseDecimal(price.norm())
	t, ok2 := parseDecimal(total.norm())
	c.assert(ok1 && ok2 && p.Cmp(t) == 0, "DRE0-SCTT-7", LevelError, orNode(price, n), "the net price must equal the line total")
	qty := n.first("ram:SpecifiedLineTradeDelivery", "ram:BilledQuantity")
	unit, _ := qty.attr("unitCode")
	c.assert(unit == "C62", "DRE0-SCTT-8", LevelError, orNode(qty, n), `the billed quantity unit must be "C62" (one)`)
	c.assert(qty.norm() == "1", "DRE0-SCTT-9", LevelError, orNode(qty, n), `the billed quantity must be "1"`)
	c.assert(reVEID.MatchString(gid.norm()), "DRE0-SCTT-10", LevelError, orNode(gid, at), "the DiGA-VE-ID must have exactly eight digits")
}

func (c *checker) dre0AHTA(n *xnode) {
	s := withScheme(n, SchemeIK, "ram:SellerTradeParty", "ram:ID")
	at := orNode(n.first("ram:SellerTradeParty"), n)
	c.assert(reIK.MatchString(firstNorm(s)), "DRE0-AHTA-1", LevelError, at, "the seller must carry the manufacturer's IK (nine digits) as ID with schemeID XR03")
	c.assert(len(s) == 1, "DRE0-AHTS-11", LevelError, at, "the seller must carry exactly one ID with schemeID XR03")
	b := withScheme(n, SchemeIK, "ram:BuyerTradeParty", "ram:ID")
	at = orNode(n.first("ram:BuyerTradeParty"), n)
	c.assert(reIK.MatchString(firstNorm(b)), "DRE0-AHTA-2", LevelError, at, "the buyer must carry the insurer's IK (nine digits) as ID with schemeID XR03")
	c.assert(len(b) == 1, "DRE0-AHTS-12", LevelError, at, "the buyer must carry exactly one ID with schemeID XR03")
}

func (c *checker) dre0AHTS(n *xnode) {
	p := withScheme(n, SchemeIK, "ram:PayeeTradeParty", "ram:ID")
	at := orNode(n.first("ram:PayeeTradeParty"), n)
	c.assert(reIK.MatchString(firstNorm(p)), "DRE0-AHTS-9", LevelError, at, "the payee must carry its IK (nine digits) as ID with schemeID XR03")
	c.assert(len(p) == 1, "DRE0-AHTS-13", LevelError, at, "the payee must carry exactly one ID with schemeID XR03")
	var buyer string
	if n.parent != nil {
		buyer = firstNorm(withScheme(n.parent, SchemeIK, "ram:ApplicableHeaderTradeAgreement", "ram:BuyerTradeParty", "ram:ID"))
	}
	c.assert(firstNorm(p) != buyer, "DRE0-AHTS-10", LevelError, at, "the payee IK must differ from the insurer's IK")
	tcc := n.first("ram:TaxCurrencyCode")
	c.assert(tcc == nil || tcc.norm() == "EUR", "DRE0-AHTS-1", LevelError, orNode(tcc, n), "the VAT currency must be EUR")
	c.assert(n.first("ram:InvoiceCurrencyCode").norm() == "EUR", "DRE0-AHTS-2", LevelError, orNode(n.first("ram:InvoiceCurrencyCode"), n), "the invoice currency must be EUR")
	eur := ""
	for _, t := range n.all("ram:SpecifiedTradeSettlementHeaderMonetarySummation", "ram:TaxTotalAmount") {
		if v, _ := t.attr("currencyID"); v == "EUR" {
			eur = t.norm()
			break
		}
	}
	c.assert(eur != "", "DRE0-AHTS-3", LevelError, n, "the VAT total must be given in EUR (TaxTotalAmount currencyID EUR)")
}

// decimals returns the parsed values of nodes; ok is false if any fails.
func decimals(ns []*xnode) ([]*big.Rat, bool) {
	out := make([]*big.Rat, 0, len(ns))
	for _, n := range ns {
		r, ok := parseDecimal(n.norm())
		if !ok {
			return nil, false
		}
		out = append(out, r)
	}
	return out, true
}
