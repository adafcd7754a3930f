package xrechnung

import (
	"fmt"
	"regexp"
	"slices"
)

var (
	reVEID = regexp.MustCompile(`^[0-9]{8}$`)
	reIK   = regexp.MustCompile(`^[0-9]{9}$`)
	reCode = regexp.MustCompile(`^[A-Z2-7]{16}$`)
	reNum  = regexp.MustCompile(`^.{0,19}[0-9]$`)
)

// CatalogEntry is the price of one DiGA-VE-ID (Verordnungseinheit) for one
// validity period, as listed by the BfArM directory and the negotiated
// price. Until is inclusive; the zero Until means open-ended.
//
// In JSON configuration an entry reads
//
//	{"ve_id": "00299001", "name": "Tinnitus Rex", "from": "2025-01-01",
//	 "until": "", "net_cents": 21845, "tax": {"category": "S", "rate_bp": 1900}}
type CatalogEntry struct {
	VEID        string `json:"ve_id"`                 // eight digits (DRE0-SCTT-2)
	Name        string `json:"name"`                  // DiGA name, BT-153 (DRE0-SCTT-4)
	Description string `json:"description,omitempty"` // BT-154, optional
	From        Date   `json:"from"`
	Until       Date   `json:"until"` // inclusive; zero (empty) = open-ended
	NetCents    int64  `json:"net_cents"`
	Tax         Tax    `json:"tax"`
}

// Catalog holds the configured prices per DiGA-VE-ID. No PZN is used: the
// VE-ID identifies the product, and the price depends on the VE and its
// validity period (spec B2.1). Validate it once after loading the
// configuration; [Catalog.Apply] fills an invoice from it.
type Catalog struct {
	Entries []CatalogEntry `json:"entries"`
}

// Validate checks every entry and that the periods of one VE-ID do not
// overlap, so that every (VE-ID, day) has at most one price.
func (c *Catalog) Validate() error {
	for i, e := range c.Entries {
		field := fmt.Sprintf("Catalog.Entries[%d]", i)
		switch {
		case !reVEID.MatchString(e.VEID):
			return &InvoiceError{Field: field + ".VEID", Reason: "must be eight digits"}
		case !validText(e.Name, 1, 512):
			return &InvoiceError{Field: field + ".Name", Reason: "must be 1-512 printable characters"}
		case !validText(e.Description, 0, 1024):
			return &InvoiceError{Field: field + ".Description", Reason: "must be at most 1024 printable characters"}
		case !e.From.Valid():
			return &InvoiceError{Field: field + ".From", Reason: "must be a valid date"}
		case !e.Until.IsZero() && (!e.Until.Valid() || e.Until.Before(e.From)):
			return &InvoiceError{Field: field + ".Until", Reason: "must be a valid date not before From"}
		case e.NetCents < 0 || e.NetCents > MaxNetCents:
			return &InvoiceError{Field: field + ".NetCents", Reason: "out of range"}
		}
		if err := validateTax(e.Tax, field+".Tax"); err != nil {
			return err
		}
		for j, o := range c.Entries[:i] {
			if o.VEID == e.VEID && overlaps(o, e) {
				return &InvoiceError{Field: field, Reason: fmt.Sprintf("period overlaps entry %d of the same VE-ID", j)}
			}
		}
	}
	return nil
}

func overlaps(a, b CatalogEntry) bool {
	// a and b overlap unless one ends before the other starts.
	aEndsBefore := !a.Until.IsZero() && a.Until.Before(b.From)
	bEndsBefore := !b.Until.IsZero() && b.Until.Before(a.From)
	return !aEndsBefore && !bEndsBefore
}

// Lookup returns the entry for veid whose period contains day, or
// [ErrNoPrice].
func (c *Catalog) Lookup(veid string, day Date) (CatalogEntry, error) {
	i := slices.IndexFunc(c.Entries, func(e CatalogEntry) bool {
		return e.VEID == veid && !day.Before(e.From) && (e.Until.IsZero() || !day.After(e.Until))
	})
	if i < 0 {
		return CatalogEntry{}, ErrNoPrice
	}
	return c.Entries[i], nil
}

// Apply sets ProductName, Description, NetCents and Tax of inv from the
// entry for inv.VEID on inv.ServiceDay. It returns [ErrNoPrice] when
// there is none and leaves inv unchanged then.
func (c *Catalog) Apply(inv *Invoice) error {
	e, err := c.Lookup(inv.VEID, inv.ServiceDay)
	if err != nil {
		return err
	}
	inv.ProductName, inv.Description, inv.NetCents, inv.Tax = e.Name, e.Description, e.NetCents, e.Tax
	return nil
}

func validateTax(t Tax, field string) error {
	switch t.Category {
	case TaxStandard:
		if t.RateBP <= 0 || t.RateBP > 10000 {
			return &InvoiceError{Field: field + ".RateBP", Reason: "standard rate must be in (0, 100 %]"}
		}
	case TaxReverseCharge:
		if t.RateBP != 0 {
			return &InvoiceError{Field: field + ".RateBP", Reason: "reverse charge rate must be 0"}
		}
	default:
		return &InvoiceError{Field: field + ".Category", Reason: `must be "S" or "AE"`}
	}
	return nil
}

// validText reports whether s has between min and max runes, is valid
// UTF-8 without control characters and has no leading or trailing blank.
func validText(s string, min, max int) bool {
	n := 0
	for _, r := range s {
		if r == 0xFFFD || r < 0x20 || (r >= 0x7F && r < 0xA0) {
			return false
		}
		n++
	}
	if n < min || n > max {
		return false
	}
	return n == 0 || (s[0] != ' ' && s[len(s)-1] != ' ')
}
