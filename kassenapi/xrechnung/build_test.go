package xrechnung

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// testCode passes Base32Check1 (spec A2.2 vector CHAAAAAAAAAAAAA → J).
const testCode = "CHAAAAAAAAAAAAAJ"

func seller() Party {
	return Party{
		IK: "987654321", Name: "Beispiel DiGA GmbH", VATID: "DE123456789",
		Contact: Contact{Name: "Erika Musterfrau", Phone: "+49 30 1234567", Email: "billing@example.com"},
		Address: Address{Street: "Musterstraße 1", Postcode: "10115", City: "Berlin"},
	}
}

func buyer() Party {
	return Party{
		IK: "101234005", Name: "AOKAY Beispielkasse",
		Address: Address{Street: "Kassenweg 2", Extra: "Postfach 12 34", Postcode: "20095", City: "Hamburg"},
	}
}

func baseInvoice() Invoice {
	return Invoice{
		Number: "DG2025000001234", Type: TypeInvoice, IssueDate: NewDate(2025, 3, 4),
		Seller: seller(), Buyer: buyer(),
		VEID: "00299001", Code: testCode, ProductName: "Tinnitus Rex", Description: "Verordnungseinheit 90 Tage",
		ServiceDay: NewDate(2025, 3, 1), NetCents: 21845, Tax: StandardVAT,
	}
}

// goldenCases is X1 (plus reverse charge behind its flag).
func goldenCases() []struct {
	name string
	b    Builder
	inv  Invoice
} {
	payee := baseInvoice()
	payee.Payee = &Party{IK: "987654322", Name: "Abrechnungszentrum Beispiel"}
	payee.Note = "Rechnung zur DiGA-Verordnung"
	c003 := baseInvoice()
	c003.Number, c003.Type, c003.IssueDate = "DG2025000001300", TypeCorrection, NewDate(2025, 4, 1)
	c003.Corrects, c003.Reason, c003.NetCents = "DG2025000001234", &CorrectionReason{Code: "003"}, 42000
	c010 := c003
	c010.Number = "DG2025000001301"
	c010.Reason = &CorrectionReason{Code: "010", Fields: []string{FieldVATID, FieldInsurerAddress}}
	c010.Corrects = "DG2025000001300"
	ae := baseInvoice()
	ae.Number, ae.Tax = "DG2025000001400", Tax{Category: TaxReverseCharge}
	return []struct {
		name string
		b    Builder
		inv  Invoice
	}{
		{"380", Builder{}, baseInvoice()},
		{"380_payee", Builder{}, payee},
		{"384_003", Builder{}, c003},
		{"384_010", Builder{}, c010},
		{"380_reverse_charge", Builder{AllowReverseCharge: true}, ae},
	}
}

// TestBuildGolden is X1: byte-stable Build output, and Check finds
// nothing on it (not even a warning).
func TestBuildGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.b.Build(tc.inv)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := tc.b.Build(tc.inv)
			if !bytes.Equal(got, again) {
				t.Fatal("Build is not deterministic")
			}
			if fs := Check(got); len(fs) != 0 {
				t.Fatalf("Check findings on built invoice: %+v", fs)
			}
			path := filepath.Join("testdata", "golden", tc.name+".xml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run go test -update after review)\n%s", path, got)
			}
		})
	}
}

// TestBuildContent checks the DiGA-specific content of the 380 golden.
func TestBuildContent(t *testing.T) {
	doc, err := Build(baseInvoice())
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	for _, want := range []string{
		`<ram:ID>` + GuidelineID + `</ram:ID>`,
		`<ram:TypeCode>380</ram:TypeCode>`,
		`<udt:DateTimeString format="102">20250304</udt:DateTimeString>`,
		`<ram:GlobalID schemeID="XR01">00299001</ram:GlobalID>`,
		`<ram:BuyerAssignedID schemeID="XR02">` + testCode + `</ram:BuyerAssignedID>`,
		`<ram:BilledQuantity unitCode="C62">1</ram:BilledQuantity>`,
		`<ram:BuyerReference>Leitweg-ID</ram:BuyerReference>`,
		`<ram:ID schemeID="XR03">987654321</ram:ID>`, // seller and (default) payee
		`<ram:ID schemeID="XR03">101234005</ram:ID>`,
		`<ram:ID schemeID="VA">DE123456789</ram:ID>`,
		`<ram:TypeCode>57</ram:TypeCode>`,
		`<ram:Description/>`,
		`<udt:DateTimeString format="102">20250301</udt:DateTimeString>`,
		`<ram:CalculatedAmount>41.51</ram:CalculatedAmount>`,
		`<ram:RateApplicablePercent>19.00</ram:RateApplicablePercent>`,
		`<ram:TaxTotalAmount currencyID="EUR">41.51</ram:TaxTotalAmount>`,
		`<ram:GrandTotalAmount>259.96</ram:GrandTotalAmount>`,
		`<ram:DuePayableAmount>259.96</ram:DuePayableAmount>`,
		`<ram:LineTwo>Postfach 12 34</ram:LineTwo>`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s", want)
		}
	}
	for _, bad := range []string{"SellByDateTime", "DueDateDateTime", "IBANID", "InvoiceReferencedDocument", "IncludedNote"} {
		if strings.Contains(s, bad) {
			t.Errorf("unexpected %s", bad)
		}
	}
	if n := strings.Count(s, `schemeID="XR03">987654321<`); n != 2 {
		t.Errorf("seller IK written %d times, want 2 (seller and default payee)", n)
	}
}

// TestAmounts is X3: the amount vectors of spec B2.1.
func TestAmounts(t *testing.T) {
	for _, v := range []struct {
		net, tax, gross string
		netC            int64
	}{
		{"100.00", "19.00", "119.00", 10000},
		{"420.00", "79.80", "499.80", 42000},
		{"218.45", "41.51", "259.96", 21845},
		{"1.50", "0.29", "1.79", 150},
		{"952.38", "180.95", "1133.33", 95238},
	} {
		inv := Invoice{NetCents: v.netC, Tax: StandardVAT}
		tt := inv.Totals()
		if got := FormatCents(tt.NetCents); got != v.net {
			t.Errorf("net %d: %s, want %s", v.netC, got, v.net)
		}
		if got := FormatCents(tt.TaxCents); got != v.tax {
			t.Errorf("tax of %s: %s, want %s", v.net, got, v.tax)
		}
		if got := FormatCents(tt.GrossCents); got != v.gross {
			t.Errorf("gross of %s: %s, want %s", v.net, got, v.gross)
		}
	}
	for c, want := range map[int64]string{0: "0.00", 5: "0.05", -5: "-0.05", 100: "1.00", 123456789: "1234567.89"} {
		if got := FormatCents(c); got != want {
			t.Errorf("FormatCents(%d) = %s, want %s", c, got, want)
		}
	}
}

// TestBuildRejects checks that invalid input gives a typed error and no
// bytes, and that no error message quotes the Freischaltcode.
func TestBuildRejects(t *testing.T) {
	cases := []struct {
		name  string
		mut   func(*Invoice)
		field string
		is    error
	}{
		{"number too long", func(i *Invoice) { i.Number = "DG20250000012345678901" }, "Number", nil},
		{"number no digit", func(i *Invoice) { i.Number = "DG2025X" }, "Number", nil},
		{"type 381", func(i *Invoice) { i.Type = "381" }, "Type", nil},
		{"no issue date", func(i *Invoice) { i.IssueDate = Date{} }, "IssueDate", nil},
		{"feb 30", func(i *Invoice) { i.ServiceDay = NewDate(2025, 2, 30) }, "ServiceDay", nil},
		{"service after issue", func(i *Invoice) { i.ServiceDay = NewDate(2025, 3, 5) }, "ServiceDay", nil},
		{"veid 7 digits", func(i *Invoice) { i.VEID = "0029900" }, "VEID", nil},
		{"code lower case", func(i *Invoice) { i.Code = strings.ToLower(testCode) }, "Code", nil},
		{"code 15", func(i *Invoice) { i.Code = testCode[:15] }, "Code", nil},
		{"no product", func(i *Invoice) { i.ProductName = "" }, "ProductName", nil},
		{"control char", func(i *Invoice) { i.ProductName = "A\x01B" }, "ProductName", nil},
		{"negative", func(i *Invoice) { i.NetCents = -1 }, "NetCents", nil},
		{"huge", func(i *Invoice) { i.NetCents = MaxNetCents + 1 }, "NetCents", nil},
		{"no tax", func(i *Invoice) { i.Tax = Tax{} }, "Tax.Category", nil},
		{"S at 0", func(i *Invoice) { i.Tax = Tax{Category: TaxStandard} }, "Tax.RateBP", nil},
		{"AE disabled", func(i *Invoice) { i.Tax = Tax{Category: TaxReverseCharge} }, "", ErrReverseChargeDisabled},
		{"seller IK", func(i *Invoice) { i.Seller.IK = "98765432" }, "Seller.IK", nil},
		{"seller no tax id", func(i *Invoice) { i.Seller.VATID = "" }, "Seller.VATID", nil},
		{"seller no contact", func(i *Invoice) { i.Seller.Contact.Email = "" }, "Seller.Contact.Email", nil},
		{"seller bad phone", func(i *Invoice) { i.Seller.Contact.Phone = "ab" }, "Seller.Contact.Phone", nil},
		{"buyer no postcode", func(i *Invoice) { i.Buyer.Address.Postcode = "" }, "Buyer.Address.Postcode", nil},
		{"buyer no city", func(i *Invoice) { i.Buyer.Address.City = "" }, "Buyer.Address.City", nil},
		{"buyer blank name", func(i *Invoice) { i.Buyer.Name = "   " }, "Buyer.Name", nil},
		{"country", func(i *Invoice) { i.Buyer.Address.Country = "Deutschland" }, "Buyer.Address.Country", nil},
		{"payee = buyer", func(i *Invoice) { i.Payee = &Party{IK: "101234005", Name: "X"} }, "Payee.IK", nil},
		{"payee no name", func(i *Invoice) { i.Payee = &Party{IK: "101234006"} }, "Payee.Name", nil},
		{"380 with reference", func(i *Invoice) { i.Corrects = "DG1" }, "Corrects", nil},
		{"384 no reference", func(i *Invoice) { i.Type = TypeCorrection; i.Reason = &CorrectionReason{Code: "001"} }, "Corrects", nil},
		{"384 own number", func(i *Invoice) {
			i.Type, i.Corrects, i.Reason = TypeCorrection, i.Number, &CorrectionReason{Code: "001"}
		}, "Corrects", nil},
		{"384 no reason", func(i *Invoice) { i.Type, i.Corrects = TypeCorrection, "DG1" }, "Reason", nil},
		{"384 reason 005", func(i *Invoice) {
			i.Type, i.Corrects, i.Reason = TypeCorrection, "DG1", &CorrectionReason{Code: "005"}
		}, "Reason.Code", nil},
		{"384 010 no fields", func(i *Invoice) {
			i.Type, i.Corrects, i.Reason = TypeCorrection, "DG1", &CorrectionReason{Code: "010"}
		}, "Reason.Fields", nil},
		{"384 010 twice", func(i *Invoice) {
			i.Type, i.Corrects, i.Reason = TypeCorrection, "DG1", &CorrectionReason{Code: "010", Fields: []string{"UST-ID", "UST-ID"}}
		}, "Reason.Fields", nil},
		{"384 001 with field", func(i *Invoice) {
			i.Type, i.Corrects, i.Reason = TypeCorrection, "DG1", &CorrectionReason{Code: "001", Fields: []string{"UST-ID"}}
		}, "Reason.Fields", nil},
		{"384 with note", func(i *Invoice) {
			i.Type, i.Corrects, i.Reason, i.Note = TypeCorrection, "DG1", &CorrectionReason{Code: "001"}, "x"
		}, "Note", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := baseInvoice()
			tc.mut(&inv)
			doc, err := Build(inv)
			if err == nil || doc != nil {
				t.Fatalf("Build accepted invalid input: err=%v", err)
			}
			if strings.Contains(err.Error(), testCode) || strings.Contains(err.Error(), strings.ToLower(testCode)) {
				t.Fatalf("error quotes the code: %v", err)
			}
			if tc.is != nil {
				if !errors.Is(err, tc.is) {
					t.Fatalf("err = %v, want %v", err, tc.is)
				}
				return
			}
			var ie *InvoiceError
			if !errors.As(err, &ie) || !errors.Is(err, ErrInvalidInvoice) {
				t.Fatalf("err = %T %v, want *InvoiceError", err, err)
			}
			if ie.Field != tc.field {
				t.Fatalf("field = %q, want %q (%v)", ie.Field, tc.field, err)
			}
		})
	}
}

func TestInvoiceStringRedactsCode(t *testing.T) {
	inv := baseInvoice()
	for _, s := range []string{inv.String(), inv.GoString()} {
		if strings.Contains(s, testCode) || !strings.Contains(s, "[redacted]") {
			t.Errorf("String() = %s", s)
		}
	}
}

func TestCatalog(t *testing.T) {
	cat := Catalog{Entries: []CatalogEntry{
		{VEID: "00299001", Name: "Tinnitus Rex", From: NewDate(2024, 1, 1), Until: NewDate(2024, 12, 31), NetCents: 50000, Tax: StandardVAT},
		{VEID: "00299001", Name: "Tinnitus Rex", From: NewDate(2025, 1, 1), NetCents: 21845, Tax: StandardVAT},
		{VEID: "00299002", Name: "Tinnitus Rex 180", From: NewDate(2024, 1, 1), NetCents: 80000, Tax: StandardVAT},
	}}
	if err := cat.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		ve   string
		day  Date
		want int64
		err  error
	}{
		{"00299001", NewDate(2024, 12, 31), 50000, nil},
		{"00299001", NewDate(2025, 1, 1), 21845, nil},
		{"00299001", NewDate(2030, 6, 1), 21845, nil},
		{"00299001", NewDate(2023, 12, 31), 0, ErrNoPrice},
		{"00299003", NewDate(2025, 1, 1), 0, ErrNoPrice},
		{"00299002", NewDate(2025, 1, 1), 80000, nil},
	} {
		e, err := cat.Lookup(v.ve, v.day)
		if !errors.Is(err, v.err) || e.NetCents != v.want {
			t.Errorf("Lookup(%s, %s) = %d, %v; want %d, %v", v.ve, v.day, e.NetCents, err, v.want, v.err)
		}
	}
	inv := baseInvoice()
	inv.ServiceDay = NewDate(2024, 6, 1)
	if err := cat.Apply(&inv); err != nil || inv.NetCents != 50000 || inv.ProductName != "Tinnitus Rex" {
		t.Fatalf("Apply: %v %d %q", err, inv.NetCents, inv.ProductName)
	}
	before := inv
	inv.VEID = "11111111"
	if err := cat.Apply(&inv); !errors.Is(err, ErrNoPrice) || inv.NetCents != before.NetCents {
		t.Fatalf("Apply without price: %v, changed=%v", err, inv.NetCents != before.NetCents)
	}

	bad := []Catalog{
		{Entries: []CatalogEntry{{VEID: "1", Name: "x", From: NewDate(2024, 1, 1), Tax: StandardVAT}}},
		{Entries: []CatalogEntry{{VEID: "00299001", Name: "", From: NewDate(2024, 1, 1), Tax: StandardVAT}}},
		{Entries: []CatalogEntry{{VEID: "00299001", Name: "x", Tax: StandardVAT}}},
		{Entries: []CatalogEntry{{VEID: "00299001", Name: "x", From: NewDate(2024, 2, 1), Until: NewDate(2024, 1, 1), Tax: StandardVAT}}},
		{Entries: []CatalogEntry{{VEID: "00299001", Name: "x", From: NewDate(2024, 1, 1), NetCents: -1, Tax: StandardVAT}}},
		{Entries: []CatalogEntry{{VEID: "00299001", Name: "x", From: NewDate(2024, 1, 1)}}},
		{Entries: []CatalogEntry{ // overlap: open-ended then later
			{VEID: "00299001", Name: "x", From: NewDate(2024, 1, 1), Tax: StandardVAT},
			{VEID: "00299001", Name: "x", From: NewDate(2025, 1, 1), Tax: StandardVAT},
		}},
		{Entries: []CatalogEntry{ // overlap on the boundary day (Until inclusive)
			{VEID: "00299001", Name: "x", From: NewDate(2024, 1, 1), Until: NewDate(2024, 12, 31), Tax: StandardVAT},
			{VEID: "00299001", Name: "x", From: NewDate(2024, 12, 31), Tax: StandardVAT},
		}},
	}
	for i, c := range bad {
		if err := c.Validate(); !errors.Is(err, ErrInvalidInvoice) {
			t.Errorf("bad catalog %d: Validate = %v", i, err)
		}
	}
}

func TestDate(t *testing.T) {
	d, err := ParseDate("2025-03-01")
	if err != nil || d != NewDate(2025, time.March, 1) || d.String() != "2025-03-01" || d.format102() != "20250301" {
		t.Fatalf("ParseDate: %v %v", d, err)
	}
	if _, err := ParseDate("2025-02-30"); err == nil {
		t.Error("ParseDate accepted 2025-02-30")
	}
	if got, ok := parse102("20240229"); !ok || got != NewDate(2024, 2, 29) {
		t.Error("parse102 leap day")
	}
	if _, ok := parse102("20230229"); ok {
		t.Error("parse102 accepted 2023-02-29")
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if DateOf(time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC).In(berlin)) != NewDate(2026, 1, 1) {
		t.Error("DateOf does not use the time's location")
	}
}

func TestCorrectionReasonParse(t *testing.T) {
	for _, s := range []string{"001", "002", "003", "004", "010:UST-ID", "010:UST-ID+LE-Adresse+KK-Adresse"} {
		r, err := ParseCorrectionReason(s)
		if err != nil || r.String() != s {
			t.Errorf("ParseCorrectionReason(%q) = %v, %v", s, r, err)
		}
	}
	for _, s := range []string{"", "005", "010", "010:", "010:010", "010:UST-ID+UST-ID", "001 ", "001:UST-ID", "010:UST-ID+", "0010"} {
		if _, err := ParseCorrectionReason(s); err == nil {
			t.Errorf("ParseCorrectionReason(%q) accepted", s)
		}
	}
}

func TestBase32Check1(t *testing.T) {
	for _, c := range []string{"77AAAAAAAAAAAAAX", "77AAAAAAAAAAADEV", "77AAAAAAAAAAADFF", "77AAAAAAAAAAADGE", "77AAAAAAAAAAAGIS", "77AAAAAAAAAAAGJC", "77AAAAAAAAAAAGKD", "CHAAAAAAAAAAAAAJ", "ZZAAAAAAAAAAAAAW"} {
		if !base32Check1Valid(c) {
			t.Errorf("%s should be valid", c)
		}
	}
	for _, c := range []string{"CHAAAAAAAAAAAAAX", "ABCDEFGHIJKLMNOP", "AXXYYZZAABBCCDD7", "3234567654ABCDEF"} {
		if base32Check1Valid(c) {
			t.Errorf("%s should be invalid", c)
		}
	}
}
