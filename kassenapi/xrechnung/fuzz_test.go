package xrechnung_test

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"

	"github.com/digakit/digakit/kassenapi/xrechnung"
	"github.com/digakit/digakit/kassenapi/xrechnung/xrechnungtest"
)

// FuzzCheck (F1): Check never panics, always returns findings with a rule,
// a level, a path and a message, and never reports a document valid that
// it could not read. Seeds: the golden files and the X2 negative cases.
func FuzzCheck(f *testing.F) {
	ents, _ := os.ReadDir(filepath.Join("testdata", "golden"))
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("testdata", "golden", e.Name()))
		if err == nil {
			f.Add(b)
		}
	}
	for _, tc := range negCases(f) {
		f.Add(tc.Doc)
	}
	f.Add([]byte(""))
	f.Add([]byte("<rsm:CrossIndustryInvoice xmlns:rsm=\"" + xrechnung.NSRSM + "\"/>"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		fs := xrechnung.Check(doc)
		for _, x := range fs {
			if x.Rule == "" || x.XPath == "" || x.Message == "" {
				t.Fatalf("incomplete finding %+v", x)
			}
			switch x.Level {
			case xrechnung.LevelError, xrechnung.LevelWarning, xrechnung.LevelInfo:
			default:
				t.Fatalf("bad level %+v", x)
			}
			if x.Rule == "XML" && xrechnung.Valid(fs) {
				t.Fatal("unreadable document reported valid")
			}
		}
		if xrechnung.Valid(fs) && xml.Unmarshal(doc, new(struct{})) != nil {
			t.Fatal("document encoding/xml cannot parse reported valid")
		}
	})
}

// FuzzParseReport (F1): ParseReport never panics; a parsed report always
// classifies to one of the known verdicts. Seeds: the X4 reports.
func FuzzParseReport(f *testing.F) {
	ents, _ := os.ReadDir(filepath.Join("testdata", "reports"))
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("testdata", "reports", e.Name()))
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`<rep:report xmlns:rep="http://www.xoev.de/de/validator/varl/1" valid="true" varlVersion="1.0.0"/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := xrechnung.ParseReport(b)
		if err != nil {
			if r != nil {
				t.Fatal("report and error")
			}
			return
		}
		switch v := r.Classify(); v {
		case xrechnung.VerdictAccepted, xrechnung.VerdictRejectedBusiness, xrechnung.VerdictRejectedFormat, xrechnung.VerdictMismatch, xrechnung.VerdictRetry:
		default:
			t.Fatalf("unknown verdict %q", v)
		}
		_ = r.ClassifyFor("DG1", testCode)
		_ = r.String()
		for _, m := range r.Errors() {
			_ = m.SafeText()
		}
	})
}

// product is the part of a CII document FuzzBuild reads back.
type product struct {
	Items []struct {
		Product struct {
			Code string `xml:"BuyerAssignedID"`
			Name string `xml:"Name"`
		} `xml:"SpecifiedTradeProduct"`
	} `xml:"SupplyChainTradeTransaction>IncludedSupplyChainTradeLineItem"`
}

// FuzzBuild: any invoice Build accepts passes Check and carries the
// fields it was given.
func FuzzBuild(f *testing.F) {
	f.Add("DG2025000001234", testCode, "00299001", "Tinnitus Rex", "Musterstraße 1", "10115", int64(21845), 1900, "")
	f.Add("A1", "77AAAAAAAAAAAAAX", "12345678", "<&>\"'", "", "1", int64(0), 1, "010:UST-ID")
	f.Add("K-1", testCode, "00299001", "x", "a\tb", "99999", int64(xrechnung.MaxNetCents), 10000, "003")
	f.Fuzz(func(t *testing.T, number, code, veid, name, street, postcode string, net int64, rate int, reason string) {
		inv := xrechnungtest.Invoice()
		inv.Number, inv.Code, inv.VEID, inv.ProductName, inv.Seller.Address.Street, inv.Buyer.Address.Postcode = number, code, veid, name, street, postcode
		inv.NetCents, inv.Tax.RateBP = net, rate
		if reason != "" {
			r, err := xrechnung.ParseCorrectionReason(reason)
			if err != nil {
				return
			}
			inv.Type, inv.Corrects, inv.Reason = xrechnung.TypeCorrection, "DG1", &r
		}
		doc, err := xrechnung.Build(inv)
		if err != nil {
			return
		}
		if fs := xrechnung.Check(doc); !xrechnung.Valid(fs) {
			t.Fatalf("built invoice invalid: %+v", fs)
		}
		var p product
		if err := xml.Unmarshal(doc, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 1 || p.Items[0].Product.Code != code || p.Items[0].Product.Name != name {
			t.Fatal("fields do not round-trip")
		}
	})
}
