package xrechnung

import "testing"

func BenchmarkBuild(b *testing.B) {
	inv := baseInvoice()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(inv); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	doc, err := Build(baseInvoice())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if fs := Check(doc); len(fs) != 0 {
			b.Fatal(fs)
		}
	}
}

func BenchmarkParseReport(b *testing.B) {
	rep := readReport(b, "accept_warnings.xml")
	b.SetBytes(int64(len(rep)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseReport(rep); err != nil {
			b.Fatal(err)
		}
	}
}
