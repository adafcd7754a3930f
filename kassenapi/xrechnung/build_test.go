package xrechnung_test

import (
	"bytes"
	"errors"
	"flag"
	"github.com/digakit/digakit/kassenapi/xrechnung"
	"github.com/digakit/digakit/kassenapi/xrechnung/xrechnungtest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func baseInvoice() xrechnung.Invoice { return xrechnungtest.Invoice() }

// TestBuildGolden is X1: byte-stable Build output, and Check finds
// nothing on it (not even a warning).
func TestBuildGolden(t *testing.T) {
	for _, tc := range xrechnungtest.Goldens() {
		t.Run(tc.Name, func(t *testing.T) {
			got, err := tc.Builder.Build(tc.Invoice)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := tc.Builder.Build(tc.Invoice)
			if !bytes.Equal(got, again) {
				t.Fatal("Build is not deterministic")
			}
			if fs := xrechnung.Check(got); len(fs) != 0 {
				t.Fatalf("Check findings on built invoice: %+v", fs)
			}
			path := filepath.Join("testdata", "golden", tc.Name+".xml")
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
	doc, err := xrechnung.Build(baseInvoice())
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	for _, want := range []string{
		`<ram:ID>` + xrechnung.GuidelineID + `</ram:ID>`,
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
		inv := xrechnung.Invoice{NetCents: v.netC, Tax: xrechnung.StandardVAT}
		tt := inv.Totals()
		if got := xrechnung.FormatCents(tt.NetCents); got != v.net {
			t.Errorf("net %d: %s, want %s", v.netC, got, v.net)
		}
		if got := xrechnung.FormatCents(tt.TaxCents); got != v.tax {
			t.Errorf("tax of %s: %s, want %s", v.net, got, v.tax)
		}
		if got := xrechnung.FormatCents(tt.GrossCents); got != v.gross {
			t.Errorf("gross of %s: %s, want %s", v.net, got, v.gross)
		}
	}
	for c, want := range map[int64]string{0: "0.00", 5: "0.05", -5: "-0.05", 100: "1.00", 123456789: "1234567.89"} {
		if got := xrechnung.FormatCents(c); got != want {
			t.Errorf("FormatCents(%d) = %s, want %s", c, got, want)
		}
	}
}

// TestBuildRejects checks that invalid input gives a typed error and no
// bytes, and that no error message quotes the Freischaltcode.
func TestBuildRejects(t *testing.T) {
	cases := []struct {
		name  string
		mut   func(*xrechnung.Invoice)
		field string
		is    error
	}{
		{"number too long", func(i *xrechnung.Invoice) { i.Number = "DG20250000012345678901" }, "Number", nil},
		{"number no digit", func(i *xrechnung.Invoice) { i.Number = "DG2025X" }, "Number", nil},
		{"type 381", func(i *xrechnung.Invoice) { i.Type = "381" }, "Type", nil},
		{"no issue date", func(i *xrechnung.Invoice) { i.IssueDate = xrechnung.Date{} }, "IssueDate", nil},
		{"feb 30", func(i *xrechnung.Invoice) { i.ServiceDay = xrechnung.NewDate(2025, 2, 30) }, "ServiceDay", nil},
		{"service after issue", func(i *xrechnung.Invoice) { i.ServiceDay = xrechnung.NewDate(2025, 3, 5) }, "ServiceDay", nil},
		{"veid 7 digits", func(i *xrechnung.Invoice) { i.VEID = "0029900" }, "VEID", nil},
		{"code lower case", func(i *xrechnung.Invoice) { i.Code = strings.ToLower(testCode) }, "Code", nil},
		{"code 15", func(i *xrechnung.Invoice) { i.Code = testCode[:15] }, "Code", nil},
		{"no product", func(i *xrechnung.Invoice) { i.ProductName = "" }, "ProductName", nil},
		{"control char", func(i *xrechnung.Invoice) { i.ProductName = "A\x01B" }, "ProductName", nil},
		{"negative", func(i *xrechnung.Invoice) { i.NetCents = -1 }, "NetCents", nil},
		{"huge", func(i *xrechnung.Invoice) { i.NetCents = xrechnung.MaxNetCents + 1 }, "NetCents", nil},
		{"no tax", func(i *xrechnung.Invoice) { i.Tax = xrechnung.Tax{} }, "Tax.Category", nil},
		{"S at 0", func(i *xrechnung.Invoice) { i.Tax = xrechnung.Tax{Category: xrechnung.TaxStandard} }, "Tax.RateBP", nil},
		{"AE disabled", func(i *xrechnung.Invoice) { i.Tax = xrechnung.Tax{Category: xrechnung.TaxReverseCharge} }, "", xrechnung.ErrReverseChargeDisabled},
		{"seller IK", func(i *xrechnung.Invoice) { i.Seller.IK = "98765432" }, "Seller.IK", nil},
		{"seller no tax id", func(i *xrechnung.Invoice) { i.Seller.VATID = "" }, "Seller.VATID", nil},
		{"seller no contact", func(i *xrechnung.Invoice) { i.Seller.Contact.Email = "" }, "Seller.Contact.Email", nil},
		{"seller bad phone", func(i *xrechnung.Invoice) { i.Seller.Contact.Phone = "ab" }, "Seller.Contact.Phone", nil},
		{"buyer no postcode", func(i *xrechnung.Invoice) { i.Buyer.Address.Postcode = "" }, "Buyer.Address.Postcode", nil},
		{"buyer no city", func(i *xrechnung.Invoice) { i.Buyer.Address.City = "" }, "Buyer.Address.City", nil},
		{"buyer blank name", func(i *xrechnung.Invoice) { i.Buyer.Name = "   " }, "Buyer.Name", nil},
		{"country", func(i *xrechnung.Invoice) { i.Buyer.Address.Country = "Deutschland" }, "Buyer.Address.Country", nil},
		{"country XX", func(i *xrechnung.Invoice) { i.Seller.Address.Country = "XX" }, "Seller.Address.Country", nil},
		{"payee = buyer", func(i *xrechnung.Invoice) { i.Payee = &xrechnung.Party{IK: "101234005", Name: "X"} }, "Payee.IK", nil},
		{"payee no name", func(i *xrechnung.Invoice) { i.Payee = &xrechnung.Party{IK: "101234006"} }, "Payee.Name", nil},
		{"380 with reference", func(i *xrechnung.Invoice) { i.Corrects = "DG1" }, "Corrects", nil},
		{"384 no reference", func(i *xrechnung.Invoice) {
			i.Type = xrechnung.TypeCorrection
			i.Reason = &xrechnung.CorrectionReason{Code: "001"}
		}, "Corrects", nil},
		{"384 own number", func(i *xrechnung.Invoice) {
			i.Type, i.Corrects, i.Reason = xrechnung.TypeCorrection, i.Number, &xrechnung.CorrectionReason{Code: "001"}
		}, "Corrects", nil},
		{"384 no reason", func(i *xrechnung.Invoice) { i.Type, i.Corrects = xrechnung.TypeCorrection, "DG1" }, "Reason", nil},
		{"384 reason 005", func(i *xrechnung.Invoice) {
			i.Type, i.Corrects, i.Reason = xrechnung.TypeCorrection, "DG1", &xrechnung.CorrectionReason{Code: "005"}
		}, "Reason.Code", nil},
		{"384 010 no fields", func(i *xrechnung.Invoice) {
			i.Type, i.Corrects, i.Reason = xrechnung.TypeCorrection, "DG1", &xrechnung.CorrectionReason{Code: "010"}
		}, "Reason.Fields", nil},
		{"384 010 twice", func(i *xrechnung.Invoice) {
			i.Type, i.Corrects, i.Reason = xrechnung.TypeCorrection, "DG1", &xrechnung.CorrectionReason{Code: "010", Fields: []string{"UST-ID", "UST-ID"}}
		}, "Reason.Fields", nil},
		{"384 001 with field", func(i *xrechnung.Invoice) {
			i.Type, i.Corrects, i.Reason = xrechnung.TypeCorrection, "DG1", &xrechnung.CorrectionReason{Code: "001", Fields: []string{"UST-ID"}}
		}, "Reason.Fields", nil},
		{"384 with note", func(i *xrechnung.Invoice) {
			i.Type, i.Corrects, i.Reason, i.Note = xrechnung.TypeCorrection, "DG1", &xrechnung.CorrectionReason{Code: "001"}, "x"
		}, "Note", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := baseInvoice()
			tc.mut(&inv)
			doc, err := xrechnung.Build(inv)
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
			var ie *xrechnung.InvoiceError
			if !errors.As(err, &ie) || !errors.Is(err, xrechnung.ErrInvalidInvoice) {
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
	cat := xrechnung.Catalog{Entries: []xrechnung.CatalogEntry{
		{VEID: "00299001", Name: "Tinnitus Rex", From: xrechnung.NewDate(2024, 1, 1), Until: xrechnung.NewDate(2024, 12, 31), NetCents: 50000, Tax: xrechnung.StandardVAT},
		{VEID: "00299001", Name: "Tinnitus Rex", From: xrechnung.NewDate(2025, 1, 1), NetCents: 21845, Tax: xrechnung.StandardVAT},
		{VEID: "00299002", Name: "Tinnitus Rex 180", From: xrechnung.NewDate(2024, 1, 1), NetCents: 80000, Tax: xrechnung.StandardVAT},
	}}
	if err := cat.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		ve   string
		day  xrechnung.Date
		want int64
		err  error
	}{
		{"00299001", xrechnung.NewDate(2024, 12, 31), 50000, nil},
		{"00299001", xrechnung.NewDate(2025, 1, 1), 21845, nil},
		{"00299001", xrechnung.NewDate(2030, 6, 1), 21845, nil},
		{"00299001", xrechnung.NewDate(2023, 12, 31), 0, xrechnung.ErrNoPrice},
		{"00299003", xrechnung.NewDate(2025, 1, 1), 0, xrechnung.ErrNoPrice},
		{"00299002", xrechnung.NewDate(2025, 1, 1), 80000, nil},
	} {
		e, err := cat.Lookup(v.ve, v.day)
		if !errors.Is(err, v.err) || e.NetCents != v.want {
			t.Errorf("Lookup(%s, %s) = %d, %v; want %d, %v", v.ve, v.day, e.NetCents, err, v.want, v.err)
		}
	}
	inv := baseInvoice()
	inv.ServiceDay = xrechnung.NewDate(2024, 6, 1)
	if err := cat.Apply(&inv); err != nil || inv.NetCents != 50000 || inv.ProductName != "Tinnitus Rex" {
		t.Fatalf("Apply: %v %d %q", err, inv.NetCents, inv.ProductName)
	}
	before := inv
	inv.VEID = "11111111"
	if err := cat.Apply(&inv); !errors.Is(err, xrechnung.ErrNoPrice) || inv.NetCents != before.NetCents {
		t.Fatalf("Apply without price: %v, changed=%v", err, inv.NetCents != before.NetCents)
	}

	bad := []xrechnung.Catalog{
		{Entries: []xrechnung.CatalogEntry{{VEID: "1", Name: "x", From: xrechnung.NewDate(2024, 1, 1), Tax: xrechnung.StandardVAT}}},
		{Entries: []xrechnung.CatalogEntry{{VEID: "00299001", Name: "", From: xrechnung.NewDate(2024, 1, 1), Tax: xrechnung.StandardVAT}}},
		{Entries: []xrechnung.CatalogEntry{{VEID: "00299001", Name: "x", Tax: xrechnung.StandardVAT}}},
		{Entries: []xrechnung.CatalogEntry{{VEID: "00299001", Name: "x", From: xrechnung.NewDate(2024, 2, 1), Until: xrechnung.NewDate(2024, 1, 1), Tax: xrechnung.StandardVAT}}},
		{Entries: []xrechnung.CatalogEntry{{VEID: "00299001", Name: "x", From: xrechnung.NewDate(2024, 1, 1), NetCents: -1, Tax: xrechnung.StandardVAT}}},
		{Entries: []xrechnung.CatalogEntry{{VEID: "00299001", Name: "x", From: xrechnung.NewDate(2024, 1, 1)}}},
		{Entries: []xrechnung.CatalogEntry{ // overlap: open-ended then later
			{VEID: "00299001", Name: "x", From: xrechnung.NewDate(2024, 1, 1), Tax: xrechnung.StandardVAT},
			{VEID: "00299001", Name: "x", From: xrechnung.NewDate(2025, 1, 1), Tax: xrechnung.StandardVAT},
		}},
		{Entries: []xrechnung.CatalogEntry{ // overlap on the boundary day (Until inclusive)
			{VEID: "00299001", Name: "x", From: xrechnung.NewDate(2024, 1, 1), Until: xrechnung.NewDate(2024, 12, 31), Tax: xrechnung.StandardVAT},
			{VEID: "00299001", Name: "x", From: xrechnung.NewDate(2024, 12, 31), Tax: xrechnung.StandardVAT},
		}},
	}
	for i, c := range bad {
		if err := c.Validate(); !errors.Is(err, xrechnung.ErrInvalidInvoice) {
			t.Errorf("bad catalog %d: Validate = %v", i, err)
		}
	}
}

func TestCorrectionReasonParse(t *testing.T) {
	for _, s := range []string{"001", "002", "003", "004", "010:UST-ID", "010:UST-ID+LE-Adresse+KK-Adresse"} {
		r, err := xrechnung.ParseCorrectionReason(s)
		if err != nil || r.String() != s {
			t.Errorf("ParseCorrectionReason(%q) = %v, %v", s, r, err)
		}
	}
	for _, s := range []string{"", "005", "010", "010:", "010:010", "010:UST-ID+UST-ID", "001 ", "001:UST-ID", "010:UST-ID+", "0010"} {
		if _, err := xrechnung.ParseCorrectionReason(s); err == nil {
			t.Errorf("ParseCorrectionReason(%q) accepted", s)
		}
	}
}

const testCode = xrechnungtest.Code
