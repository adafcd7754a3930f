package xrechnung_test

import (
	"testing"

	"github.com/digakit/digakit/kassenapi/xrechnung"
)

func BenchmarkBuild(b *testing.B) {
	inv := baseInvoice()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := xrechnung.Build(inv); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	doc, err := xrechnung.Build(baseInvoice())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if fs := xrechnung.Check(doc); len(fs) != 0 {
			b.Fatal(fs)
		}
	}
}

func BenchmarkParseReport(b *testing.B) {
	rep := readReport(b, "accept_warnings.xml")
	b.SetBytes(int64(len(rep)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := xrechnung.ParseReport(rep); err != nil {
			b.Fatal(err)
		}
	}
}
