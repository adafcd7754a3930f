package xrechnung

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzCheck (F1): Check never panics, always returns findings with a rule,
// a level and a path, and never reports a document valid that has no
// readable root.
func FuzzCheck(f *testing.F) {
	ents, _ := os.ReadDir(filepath.Join("testdata", "golden"))
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("testdata", "golden", e.Name()))
		if err == nil {
			f.Add(b)
		}
	}
	for _, tc := range negCases() {
		f.Add(tc.doc(f))
	}
	f.Add([]byte(""))
	f.Add([]byte("<rsm:CrossIndustryInvoice xmlns:rsm=\"" + NSRSM + "\"/>"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		fs := Check(doc)
		for _, x := range fs {
			if x.Rule == "" || x.XPath == "" || x.Message == "" {
				t.Fatalf("incomplete finding %+v", x)
			}
			switch x.Level {
			case LevelError, LevelWarning, LevelInfo:
			default:
				t.Fatalf("bad level %+v", x)
			}
		}
		if _, err := parseXML(doc); err != nil && Valid(fs) {
			t.Fatal("unreadable document reported valid")
		}
	})
}

// FuzzParseReport (F1): ParseReport never panics; a parsed report always
// classifies to one of the known verdicts.
func FuzzParseReport(f *testing.F) {
	ents, _ := os.ReadDir(filepath.Join("testdata", "reports"))
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("testdata", "reports", e.Name()))
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("<rep:report xmlns:rep=\"" + nsVARL + "\" valid=\"true\" varlVersion=\"1.0.0\"/>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReport(b)
		if err != nil {
			if r != nil {
				t.Fatal("report and error")
			}
			return
		}
		switch v := r.Classify(); v {
		case VerdictAccepted, VerdictRejectedBusiness, VerdictRejectedFormat, VerdictMismatch, VerdictRetry:
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

// FuzzBuild: any invoice Build accepts is well-formed, passes Check and
// carries the fields it was given.
func FuzzBuild(f *testing.F) {
	f.Add("DG2025000001234", testCode, "00299001", "Tinnitus Rex", "Musterstraße 1", "10115", int64(21845), 1900, "")
	f.Add("A1", "77AAAAAAAAAAAAAX", "12345678", "<&>\"'", "", "1", int64(0), 1, "010:UST-ID")
	f.Add("K-1", testCode, "00299001", "x", "a\tb", "99999", int64(MaxNetCents), 10000, "003")
	f.Fuzz(func(t *testing.T, number, code, veid, name, street, postcode string, net int64, rate int, reason string) {
		inv := baseInvoice()
		inv.Number, inv.Code, inv.VEID, inv.ProductName, inv.Seller.Address.Street, inv.Buyer.Address.Postcode = number, code, veid, name, street, postcode
		inv.NetCents, inv.Tax.RateBP = net, rate
		if reason != "" {
			r, err := ParseCorrectionReason(reason)
			if err != nil {
				return
			}
			inv.Type, inv.Corrects, inv.Reason = TypeCorrection, "DG1", &r
		}
		doc, err := Build(inv)
		if err != nil {
			return
		}
		if fs := Check(doc); !Valid(fs) {
			t.Fatalf("built invoice invalid: %+v", fs)
		}
		root, err := parseXML(doc)
		if err != nil {
			t.Fatal(err)
		}
		p := root.first(pSCTT, "ram:IncludedSupplyChainTradeLineItem", "ram:SpecifiedTradeProduct")
		if p.first("ram:BuyerAssignedID").value() != code || p.first("ram:Name").value() != name {
			t.Fatal("fields do not round-trip")
		}
	})
}
