package xrechnung

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
)

// Namespaces and the XRechnung 2.2 guideline of a DiGA invoice (spec B2.1).
const (
	NSRSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
	NSRAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
	NSUDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
	NSQDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"

	// GuidelineID is BT-24 exactly as DRE0-EDC-1/2 demand: XRechnung 2.2
	// with the extension, which admits the DiGA scheme ids XR01-XR03.
	GuidelineID = "urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_2.2#conformant#urn:xoev-de:kosit:extension:xrechnung_2.2"

	// BuyerReference is the literal BT-10 of every DiGA invoice.
	BuyerReference = "Leitweg-ID"

	// PaymentMeansStandingAgreement is BT-81 "57": 30/58 would trigger the
	// XRechnung credit-transfer rule that demands account data, which
	// DRE0-AHTS-6 forbids.
	PaymentMeansStandingAgreement = "57"

	// Scheme ids of the DiGA identifiers.
	SchemeVEID = "XR01" // DiGA-VE-ID, SpecifiedTradeProduct/GlobalID
	SchemeCode = "XR02" // Freischaltcode, SpecifiedTradeProduct/BuyerAssignedID
	SchemeIK   = "XR03" // Institutionskennzeichen of seller, buyer, payee
)

// Invoice is one DiGA invoice: one Freischaltcode, exactly one line
// (spec B2.1). Amounts are integer cents.
//
// The Freischaltcode is personal data that points to a prescription; the
// String and GoString methods redact it so that an Invoice never reaches
// a log in full by accident.
type Invoice struct {
	Number    string   // BT-1, caller-assigned, ^.{0,19}\d$ (DRE0-ED-1)
	Type      TypeCode // 380 or 384
	IssueDate Date     // BT-2, the German calendar day of issue
	Note      string   // BT-22 free text, 380 only (a 384 carries its reason there)

	Seller Party  // manufacturer
	Buyer  Party  // insurer (Kostentraeger)
	Payee  *Party // nil: the seller's IK and name (as the reference client does)

	VEID        string // DiGA-VE-ID, eight digits
	Code        string // Freischaltcode, 16 characters [A-Z2-7]
	ProductName string // DiGA name
	Description string // optional product description
	ServiceDay  Date   // Tag der Leistungserbringung (BT-72)

	NetCents int64 // net price = line total = tax basis
	Tax      Tax

	Corrects string            // 384: the number of the invoice corrected (BT-25)
	Reason   *CorrectionReason // 384: Anhang 7 reason (BT-22)
}

// String describes inv without the Freischaltcode.
func (inv Invoice) String() string {
	return fmt.Sprintf("xrechnung.Invoice{Number:%q Type:%s VEID:%q Code:[redacted] Net:%s}", inv.Number, inv.Type, inv.VEID, FormatCents(inv.NetCents))
}

// GoString is String, so that %#v redacts too.
func (inv Invoice) GoString() string { return inv.String() }

// Totals are the computed amounts of an invoice.
type Totals struct {
	NetCents, TaxCents, GrossCents int64
}

// Totals computes tax and gross amounts (spec B2.1 "Amounts").
func (inv *Invoice) Totals() Totals {
	tax := TaxCents(inv.NetCents, inv.Tax.RateBP)
	return Totals{NetCents: inv.NetCents, TaxCents: tax, GrossCents: inv.NetCents + tax}
}

// Builder builds invoices. The zero value is ready to use and refuses
// reverse charge.
type Builder struct {
	// AllowReverseCharge permits VAT category AE. Default false: the AE
	// requirements are unverified for DiGA (spec B2.1, open point 12).
	// With AE the buyer IK is also written as legal registration id
	// (BT-47, schemeID XR03), the exemption reason code VATEX-EU-AE and
	// text are set (BR-AE-10), and the seller needs a VAT id (BR-AE-02).
	AllowReverseCharge bool
}

// Build renders inv with a zero [Builder].
func Build(inv Invoice) ([]byte, error) { return Builder{}.Build(inv) }

// Build validates inv, renders it as XRechnung 2.2 UN/CEFACT CII D16B and
// runs [Check] on the result. The bytes are deterministic: the same
// Invoice gives the same bytes. Invalid input gives an *InvoiceError
// (errors.Is ErrInvalidInvoice); a document with an error finding gives a
// *CheckError and no bytes.
func (b Builder) Build(inv Invoice) ([]byte, error) {
	if err := b.validate(&inv); err != nil {
		return nil, err
	}
	doc := render(&inv)
	if errs := errorFindings(Check(doc)); len(errs) > 0 {
		return nil, &CheckError{Findings: errs}
	}
	return doc, nil
}

// Validate reports the first invalid field of inv without rendering it.
func (b Builder) Validate(inv Invoice) error { return b.validate(&inv) }

func (b Builder) validate(inv *Invoice) error {
	bad := func(field, reason string) error { return &InvoiceError{Field: field, Reason: reason} }
	switch {
	case !reNum.MatchString(inv.Number) || !validText(inv.Number, 1, 20):
		return bad("Number", "must be 1-20 characters ending in a digit")
	case inv.Type != TypeInvoice && inv.Type != TypeCorrection:
		return bad("Type", "must be 380 or 384")
	case !inv.IssueDate.Valid():
		return bad("IssueDate", "must be a valid date")
	case !inv.ServiceDay.Valid():
		return bad("ServiceDay", "must be a valid date")
	case inv.ServiceDay.After(inv.IssueDate):
		return bad("ServiceDay", "must not be after IssueDate")
	case !reVEID.MatchString(inv.VEID):
		return bad("VEID", "must be eight digits")
	case !reCode.MatchString(inv.Code):
		return bad("Code", "must be 16 characters A-Z, 2-7")
	case !validText(inv.ProductName, 1, 512):
		return bad("ProductName", "must be 1-512 printable characters")
	case !validText(inv.Description, 0, 1024):
		return bad("Description", "must be at most 1024 printable characters")
	case !validText(inv.Note, 0, 1024):
		return bad("Note", "must be at most 1024 printable characters")
	case inv.NetCents < 0 || inv.NetCents > MaxNetCents:
		return bad("NetCents", "out of range")
	}
	if err := validateTax(inv.Tax, "Tax"); err != nil {
		return err
	}
	if inv.Tax.Category == TaxReverseCharge && !b.AllowReverseCharge {
		return ErrReverseChargeDisabled
	}
	if err := validateParty(inv.Seller, "Seller", true); err != nil {
		return err
	}
	if inv.Seller.VATID == "" && inv.Seller.TaxNumber == "" {
		return bad("Seller.VATID", "seller needs a VAT id or a tax number (BR-DE-16)")
	}
	if inv.Tax.Category == TaxReverseCharge && inv.Seller.VATID == "" {
		return bad("Seller.VATID", "reverse charge needs the seller's VAT id (BR-AE-02)")
	}
	if err := validateParty(inv.Buyer, "Buyer", false); err != nil {
		return err
	}
	if inv.Payee != nil {
		if !reIK.MatchString(inv.Payee.IK) {
			return bad("Payee.IK", "must be nine digits")
		}
		if !validText(inv.Payee.Name, 1, 256) {
			return bad("Payee.Name", "must be 1-256 printable characters")
		}
	}
	if inv.payee().IK == inv.Buyer.IK {
		return bad("Payee.IK", "payee IK must differ from the buyer IK (DRE0-AHTS-10)")
	}
	switch inv.Type {
	case TypeInvoice:
		if inv.Corrects != "" || inv.Reason != nil {
			return bad("Corrects", "only a 384 references another invoice")
		}
	case TypeCorrection:
		if !reNum.MatchString(inv.Corrects) || !validText(inv.Corrects, 1, 20) {
			return bad("Corrects", "must be the corrected invoice number (1-20 characters ending in a digit)")
		}
		if inv.Corrects == inv.Number {
			return bad("Corrects", "must differ from Number (DRE0-CORR-2)")
		}
		if inv.Reason == nil {
			return bad("Reason", "a 384 needs a correction reason (DRE0-CORR-4)")
		}
		if err := inv.Reason.Validate(); err != nil {
			return err
		}
		if inv.Note != "" {
			return bad("Note", "a 384 carries its reason in BT-22; Note must be empty")
		}
	}
	return nil
}

func validateParty(p Party, field string, seller bool) error {
	bad := func(f, reason string) error { return &InvoiceError{Field: field + "." + f, Reason: reason} }
	switch {
	case !reIK.MatchString(p.IK):
		return bad("IK", "must be nine digits")
	case !validText(strings.TrimSpace(p.Name), 1, 256) || !validText(p.Name, 0, 1024):
		return bad("Name", "must be 1-256 printable characters")
	case !validText(p.Address.Street, 0, 256), !validText(p.Address.Extra, 0, 256):
		return bad("Address.Street", "must be at most 256 printable characters")
	case !validText(p.Address.Postcode, 1, 16):
		return bad("Address.Postcode", "is required (BR-DE-4/BR-DE-9)")
	case !validText(p.Address.City, 1, 128):
		return bad("Address.City", "is required (BR-DE-3/BR-DE-8)")
	case p.Address.Country != "" && !isCountry(p.Address.Country):
		return bad("Address.Country", "must be an ISO 3166-1 alpha-2 code (BR-CL-14)")
	case !validText(p.VATID, 0, 32), !validText(p.TaxNumber, 0, 32):
		return bad("VATID", "must be at most 32 printable characters")
	}
	if seller {
		c := p.Contact
		switch {
		case !validText(c.Name, 1, 256):
			return bad("Contact.Name", "is required (BR-DE-5)")
		case !validText(c.Phone, 1, 64) || !rePhone.MatchString(c.Phone):
			return bad("Contact.Phone", "is required and needs at least three digits (BR-DE-6/BR-DE-27)")
		case !validText(c.Email, 1, 256) || !reEmail.MatchString(c.Email):
			return bad("Contact.Email", "is required and must be an e-mail address (BR-DE-7/BR-DE-28)")
		}
	}
	return nil
}

func (inv *Invoice) payee() Party {
	if inv.Payee != nil {
		return *inv.Payee
	}
	return Party{IK: inv.Seller.IK, Name: inv.Seller.Name}
}

// node is a minimal element tree for deterministic output.
type node struct {
	name  string
	attrs []string // name, value pairs
	text  string
	kids  []*node
}

func el(name string, kids ...*node) *node { return &node{name: name, kids: kids} }

func txt(name, text string, attrs ...string) *node {
	return &node{name: name, text: text, attrs: attrs}
}

// opt returns a text element, or nil for an empty text.
func opt(name, text string) *node {
	if text == "" {
		return nil
	}
	return txt(name, text)
}

func date102(name string, d Date) *node {
	return el(name, txt("udt:DateTimeString", d.format102(), "format", "102"))
}

func (n *node) write(b *bytes.Buffer, depth int) {
	b.WriteString(strings.Repeat("\t", depth))
	b.WriteByte('<')
	b.WriteString(n.name)
	for i := 0; i+1 < len(n.attrs); i += 2 {
		b.WriteString(" " + n.attrs[i] + `="`)
		xml.EscapeText(b, []byte(n.attrs[i+1]))
		b.WriteByte('"')
	}
	var kids []*node
	for _, k := range n.kids {
		if k != nil {
			kids = append(kids, k)
		}
	}
	switch {
	case len(kids) > 0:
		b.WriteString(">\n")
		for _, k := range kids {
			k.write(b, depth+1)
		}
		b.WriteString(strings.Repeat("\t", depth) + "</" + n.name + ">\n")
	case n.text != "":
		b.WriteByte('>')
		xml.EscapeText(b, []byte(n.text))
		b.WriteString("</" + n.name + ">\n")
	default:
		b.WriteString("/>\n")
	}
}

func render(inv *Invoice) []byte {
	t := inv.Totals()
	rate := FormatCents(int64(inv.Tax.RateBP))
	net := FormatCents(t.NetCents)
	cat := string(inv.Tax.Category)
	ae := inv.Tax.Category == TaxReverseCharge

	var note *node
	switch {
	case inv.Type == TypeCorrection:
		note = el("ram:IncludedNote", txt("ram:Content", inv.Reason.String()))
	case inv.Note != "":
		note = el("ram:IncludedNote", txt("ram:Content", inv.Note))
	}

	lineTax := el("ram:ApplicableTradeTax",
		txt("ram:TypeCode", "VAT"),
		txt("ram:CategoryCode", cat),
		txt("ram:RateApplicablePercent", rate))
	headTax := el("ram:ApplicableTradeTax",
		txt("ram:CalculatedAmount", FormatCents(t.TaxCents)),
		txt("ram:TypeCode", "VAT"))
	if ae {
		headTax.kids = append(headTax.kids, txt("ram:ExemptionReason", "Umkehrung der Steuerschuldnerschaft"))
	}
	headTax.kids = append(headTax.kids,
		txt("ram:BasisAmount", net),
		txt("ram:CategoryCode", cat))
	if ae {
		headTax.kids = append(headTax.kids, txt("ram:ExemptionReasonCode", "VATEX-EU-AE"))
	}
	headTax.kids = append(headTax.kids, txt("ram:RateApplicablePercent", rate))

	seller := party("ram:SellerTradeParty", inv.Seller, true, false)
	buyer := party("ram:BuyerTradeParty", inv.Buyer, false, ae)
	payee := inv.payee()

	var ref *node
	if inv.Type == TypeCorrection {
		ref = el("ram:InvoiceReferencedDocument", txt("ram:IssuerAssignedID", inv.Corrects))
	}

	root := &node{name: "rsm:CrossIndustryInvoice", attrs: []string{
		"xmlns:rsm", NSRSM, "xmlns:ram", NSRAM, "xmlns:udt", NSUDT,
	}, kids: []*node{
		el("rsm:ExchangedDocumentContext",
			el("ram:GuidelineSpecifiedDocumentContextParameter", txt("ram:ID", GuidelineID))),
		el("rsm:ExchangedDocument",
			txt("ram:ID", inv.Number),
			txt("ram:TypeCode", string(inv.Type)),
			date102("ram:IssueDateTime", inv.IssueDate),
			note),
		el("rsm:SupplyChainTradeTransaction",
			el("ram:IncludedSupplyChainTradeLineItem",
				el("ram:AssociatedDocumentLineDocument", txt("ram:LineID", "1")),
				el("ram:SpecifiedTradeProduct",
					txt("ram:GlobalID", inv.VEID, "schemeID", SchemeVEID),
					txt("ram:BuyerAssignedID", inv.Code, "schemeID", SchemeCode),
					txt("ram:Name", inv.ProductName),
					opt("ram:Description", inv.Description)),
				el("ram:SpecifiedLineTradeAgreement",
					el("ram:NetPriceProductTradePrice", txt("ram:ChargeAmount", net))),
				el("ram:SpecifiedLineTradeDelivery",
					txt("ram:BilledQuantity", "1", "unitCode", "C62")),
				el("ram:SpecifiedLineTradeSettlement",
					lineTax,
					el("ram:SpecifiedTradeSettlementLineMonetarySummation", txt("ram:LineTotalAmount", net)))),
			el("ram:ApplicableHeaderTradeAgreement",
				txt("ram:BuyerReference", BuyerReference),
				seller,
				buyer),
			el("ram:ApplicableHeaderTradeDelivery",
				el("ram:ActualDeliverySupplyChainEvent", date102("ram:OccurrenceDateTime", inv.ServiceDay))),
			el("ram:ApplicableHeaderTradeSettlement",
				txt("ram:InvoiceCurrencyCode", "EUR"),
				el("ram:PayeeTradeParty",
					txt("ram:ID", payee.IK, "schemeID", SchemeIK),
					txt("ram:Name", strings.TrimSpace(payee.Name))),
				el("ram:SpecifiedTradeSettlementPaymentMeans", txt("ram:TypeCode", PaymentMeansStandingAgreement)),
				headTax,
				el("ram:SpecifiedTradePaymentTerms", &node{name: "ram:Description"}),
				el("ram:SpecifiedTradeSettlementHeaderMonetarySummation",
					txt("ram:LineTotalAmount", net),
					txt("ram:TaxBasisTotalAmount", net),
					txt("ram:TaxTotalAmount", FormatCents(t.TaxCents), "currencyID", "EUR"),
					txt("ram:GrandTotalAmount", FormatCents(t.GrossCents)),
					txt("ram:DuePayableAmount", FormatCents(t.GrossCents))),
				ref)),
	}}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	root.write(&b, 0)
	return b.Bytes()
}

func party(name string, p Party, seller, legalIK bool) *node {
	n := el(name, txt("ram:ID", p.IK, "schemeID", SchemeIK), txt("ram:Name", strings.TrimSpace(p.Name)))
	if legalIK {
		n.kids = append(n.kids, el("ram:SpecifiedLegalOrganization", txt("ram:ID", p.IK, "schemeID", SchemeIK)))
	}
	if seller {
		n.kids = append(n.kids, el("ram:DefinedTradeContact",
			txt("ram:PersonName", p.Contact.Name),
			el("ram:TelephoneUniversalCommunication", txt("ram:CompleteNumber", p.Contact.Phone)),
			el("ram:EmailURIUniversalCommunication", txt("ram:URIID", p.Contact.Email))))
	}
	country := p.Address.Country
	if country == "" {
		country = "DE"
	}
	n.kids = append(n.kids, el("ram:PostalTradeAddress",
		txt("ram:PostcodeCode", p.Address.Postcode),
		opt("ram:LineOne", p.Address.Street),
		opt("ram:LineTwo", p.Address.Extra),
		txt("ram:CityName", p.Address.City),
		txt("ram:CountryID", country)))
	if seller {
		if p.VATID != "" {
			n.kids = append(n.kids, el("ram:SpecifiedTaxRegistration", txt("ram:ID", p.VATID, "schemeID", "VA")))
		}
		if p.TaxNumber != "" {
			n.kids = append(n.kids, el("ram:SpecifiedTaxRegistration", txt("ram:ID", p.TaxNumber, "schemeID", "FC")))
		}
	}
	return n
}
