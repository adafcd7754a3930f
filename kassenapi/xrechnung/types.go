package xrechnung

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// TypeCode is the invoice type code (BT-3, UNTDID 1001). DiGA invoices use
// only [TypeInvoice] and [TypeCorrection] (rule DRE0-ED-2).
type TypeCode string

// The two type codes a DiGA invoice may carry.
const (
	TypeInvoice    TypeCode = "380" // commercial invoice: the one invoice per Freischaltcode
	TypeCorrection TypeCode = "384" // corrected invoice: new full amounts, references the original (spec B2.2)
)

// TaxCategory is the VAT category code (BT-151/BT-118, UNCL 5305).
type TaxCategory string

// Supported VAT categories.
const (
	// TaxStandard is the standard rate ("S"), 19 % for DiGA in Germany.
	TaxStandard TaxCategory = "S"
	// TaxReverseCharge is "AE" (VAT reverse charge) at 0 %. The spec keeps it
	// behind a flag ([Builder.AllowReverseCharge]) because its EN 16931
	// requirements are unverified for DiGA (spec B2.1, open point 12).
	TaxReverseCharge TaxCategory = "AE"
)

// Tax is the VAT treatment of the single invoice line. RateBP is the rate
// in basis points (19 % = 1900). The zero value is invalid: set it
// explicitly, usually to [StandardVAT].
type Tax struct {
	Category TaxCategory `json:"category"`
	RateBP   int         `json:"rate_bp"`
}

// StandardVAT is 19 % standard-rated VAT, the usual treatment of a DiGA.
var StandardVAT = Tax{Category: TaxStandard, RateBP: 1900}

// Date is a calendar day without time zone (service day, issue date,
// validity bounds). The zero value means "not set".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the date y-m-d; it does not normalise (see [Date.Valid]).
func NewDate(y int, m time.Month, d int) Date { return Date{Year: y, Month: m, Day: d} }

// DateOf returns the calendar day of t in t's location. Callers pass t
// already converted to Europe/Berlin where the German day matters.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("xrechnung: date %q is not YYYY-MM-DD", truncate(s, 12))
	}
	return DateOf(t), nil
}

// MarshalText writes YYYY-MM-DD, or nothing for the zero Date, so that
// dates in JSON or TOML configuration read naturally.
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	if !d.Valid() {
		return nil, fmt.Errorf("xrechnung: invalid date %04d-%02d-%02d", d.Year, int(d.Month), d.Day)
	}
	return []byte(d.String()), nil
}

// UnmarshalText reads YYYY-MM-DD; an empty text gives the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d is a real calendar day between the years 1900
// and 9999.
func (d Date) Valid() bool {
	if d.Year < 1900 || d.Year > 9999 {
		return false
	}
	return DateOf(time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)) == d
}

// Before reports whether d is earlier than o.
func (d Date) Before(o Date) bool { return d.key() < o.key() }

// After reports whether d is later than o.
func (d Date) After(o Date) bool { return d.key() > o.key() }

func (d Date) key() int { return d.Year*10000 + int(d.Month)*100 + d.Day }

// String returns YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// format102 returns the UN/EDIFACT date format 102 (CCYYMMDD).
func (d Date) format102() string { return fmt.Sprintf("%04d%02d%02d", d.Year, int(d.Month), d.Day) }

// parse102 parses format 102 (CCYYMMDD).
func parse102(s string) (Date, bool) {
	if len(s) != 8 {
		return Date{}, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return Date{}, false
	}
	d := Date{n / 10000, time.Month(n / 100 % 100), n % 100}
	return d, d.Valid()
}

// Address is a postal address (BG-5/BG-8). For the insurer it comes from
// the endpoint directory: street and house number go to Street (LineOne),
// "Postalische_Zusaetze" to Extra (LineTwo). Country defaults to "DE".
type Address struct {
	Street   string // BT-35/BT-50 LineOne
	Extra    string // BT-36/BT-51 LineTwo, optional
	Postcode string // BT-38/BT-53, required (BR-DE-4/BR-DE-9)
	City     string // BT-37/BT-52, required (BR-DE-3/BR-DE-8)
	Country  string // BT-40/BT-55, ISO 3166-1 alpha-2; "" means "DE"
}

// Contact is the seller contact (BG-6), required by BR-DE-2/5/6/7.
type Contact struct {
	Name  string // BT-41 PersonName
	Phone string // BT-42, at least three digits (BR-DE-27)
	Email string // BT-43
}

// Party is a trade party of the invoice. The IK (Institutionskennzeichen,
// nine digits) is written as ID with schemeID XR03.
//
//   - Seller (the DiGA manufacturer): IK, Name, Contact, Address and VATID
//     (USt-IdNr., schemeID VA) or TaxNumber (Steuernummer, schemeID FC).
//   - Buyer (the insurer, Kostentraeger): IK, Name (trimmed), Address from
//     the directory.
//   - Payee: IK and Name; Contact, Address and tax ids are not written.
type Party struct {
	IK        string
	Name      string
	VATID     string
	TaxNumber string
	Contact   Contact
	Address   Address
}

// CorrectionReason is the reason of a correction invoice per GKV Anhang 7,
// written to BT-22: Code "001".."004" without Fields, or "010" with one or
// more distinct Fields from "UST-ID", "KK-Adresse", "LE-Adresse" (rendered
// "010:UST-ID+KK-Adresse"). The meanings of 001-004 are unverified (spec
// B2.2); digakit does not invent descriptions.
type CorrectionReason struct {
	Code   string
	Fields []string
}

// Correction reason field names for code 010.
const (
	FieldVATID          = "UST-ID"     // the seller's VAT id changed
	FieldInsurerAddress = "KK-Adresse" // the insurer's address changed
	FieldSellerAddress  = "LE-Adresse" // the provider's (manufacturer's) address changed
)

// String renders the reason as written to BT-22.
func (r CorrectionReason) String() string {
	if r.Code != "010" {
		return r.Code
	}
	s := "010:"
	for i, f := range r.Fields {
		if i > 0 {
			s += "+"
		}
		s += f
	}
	return s
}

// Validate checks the reason against Anhang 7: a known code, fields only
// with 010, at least one field with 010, no field twice.
func (r CorrectionReason) Validate() error {
	switch r.Code {
	case "001", "002", "003", "004":
		if len(r.Fields) != 0 {
			return &InvoiceError{Field: "Reason.Fields", Reason: "fields are allowed only with reason 010"}
		}
		return nil
	case "010":
	default:
		return &InvoiceError{Field: "Reason.Code", Reason: "must be 001, 002, 003, 004 or 010"}
	}
	if len(r.Fields) == 0 {
		return &InvoiceError{Field: "Reason.Fields", Reason: "reason 010 needs at least one of UST-ID, KK-Adresse, LE-Adresse"}
	}
	seen := map[string]bool{}
	for _, f := range r.Fields {
		switch f {
		case FieldVATID, FieldInsurerAddress, FieldSellerAddress:
		default:
			return &InvoiceError{Field: "Reason.Fields", Reason: "unknown field " + strconv.Quote(truncate(f, 20))}
		}
		if seen[f] {
			return &InvoiceError{Field: "Reason.Fields", Reason: "field " + f + " given twice"}
		}
		seen[f] = true
	}
	return nil
}

// reasonStrict is the exact Anhang 7 form that [Check] enforces for
// DRE0-CORR-4 (stricter than the insurer's regex, spec B2.2).
var reasonStrict = regexp.MustCompile(`^(00[1-4]|010:(UST-ID|KK-Adresse|LE-Adresse)(\+(UST-ID|KK-Adresse|LE-Adresse))*)$`)

// ParseCorrectionReason parses a BT-22 reason such as "003" or
// "010:UST-ID+LE-Adresse".
func ParseCorrectionReason(s string) (CorrectionReason, error) {
	if !reasonStrict.MatchString(s) {
		return CorrectionReason{}, &InvoiceError{Field: "Reason", Reason: "not a GKV Anhang 7 correction reason"}
	}
	r := CorrectionReason{Code: s[:3]}
	if r.Code == "010" {
		rest := s[4:]
		for len(rest) > 0 {
			i := 0
			for i < len(rest) && rest[i] != '+' {
				i++
			}
			r.Fields = append(r.Fields, rest[:i])
			if i < len(rest) {
				i++
			}
			rest = rest[i:]
		}
	}
	if err := r.Validate(); err != nil {
		return CorrectionReason{}, err
	}
	return r, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
