package mio

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"testing"
	"time"
)

// mixedExport returns n observations cycling through the vital signs.
func mixedExport(n int) (Export, Options) {
	x, o := glucoseExport(0)
	x.Period.End = x.Period.Start.Add(time.Duration(n) * time.Minute)
	x.Created = x.Period.End
	o.Clock = func() time.Time { return x.Created.Add(time.Hour) }
	for i := 0; i < n; i++ {
		at := x.Period.Start.Add(time.Duration(i) * time.Minute)
		c := Common{SourceID: fmt.Sprintf("v-%d", i)}
		switch i % 5 {
		case 0:
			x.Entries = append(x.Entries, &BodyWeight{Measurement{Common: c, Effective: at, Value: MustDecimal("72.5"), Unit: "kg"}})
		case 1:
			x.Entries = append(x.Entries, &HeartRate{Measurement{Common: c, Effective: at, Value: MustDecimal("64"), Unit: "/min"}})
		case 2:
			x.Entries = append(x.Entries, &BloodPressure{Common: c, Effective: at, Systolic: MustDecimal("120"), Diastolic: MustDecimal("80")})
		case 3:
			x.Entries = append(x.Entries, &Glucose{Common: c, Effective: at, Value: MustDecimal("98"), Unit: "mg/dL"})
		case 4:
			x.Entries = append(x.Entries, &OxygenSaturation{Measurement{Common: c, Effective: at, Value: MustDecimal("97"), Unit: "%"}})
		}
	}
	return x, o
}

// BenchmarkBuild10k builds and serialises 10,000 mixed vital signs;
// metrics: output bytes/s and peak heap growth per largest document.
func BenchmarkBuild10k(b *testing.B) {
	x, o := mixedExport(10_000)
	var total, largest int64
	run := func() {
		docs, err := Build(context.Background(), x, o)
		if err != nil {
			b.Fatal(err)
		}
		total = 0
		for _, d := range docs {
			n, err := d.WriteTo(io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			total += n
			largest = max(largest, n)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
	b.SetBytes(total)
	b.StopTimer()
	peak := peakHeap(run)
	b.ReportMetric(float64(peak)/float64(largest), "peak-heap/max-doc")
}

// BenchmarkRawEncode10k is the baseline: the same values as plain
// elements and attributes through encoding/xml's EncodeToken only.
func BenchmarkRawEncode10k(b *testing.B) {
	x, _ := mixedExport(10_000)
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		cw := &countWriter{w: io.Discard}
		enc := xml.NewEncoder(cw)
		el := func(name string, attrs ...string) {
			se := xml.StartElement{Name: xml.Name{Local: name}}
			for i := 0; i+1 < len(attrs); i += 2 {
				se.Attr = append(se.Attr, xml.Attr{Name: xml.Name{Local: attrs[i]}, Value: attrs[i+1]})
			}
			_ = enc.EncodeToken(se)
			_ = enc.EncodeToken(se.End())
		}
		_ = enc.EncodeToken(xml.StartElement{Name: xml.Name{Local: "values"}})
		for _, e := range x.Entries {
			at := e.when().Format(time.RFC3339)
			switch v := e.(type) {
			case *BloodPressure:
				el("bp", "id", v.SourceID, "t", at, "sys", v.Systolic.String(), "dia", v.Diastolic.String())
			case *Glucose:
				el("glucose", "id", v.SourceID, "t", at, "v", v.Value.String(), "unit", v.Unit)
			case interface{ measurement() *Measurement }:
				m := v.measurement()
				el(string(e.Kind()), "id", m.SourceID, "t", at, "v", m.Value.String(), "unit", m.Unit)
			}
		}
		_ = enc.EncodeToken(xml.EndElement{Name: xml.Name{Local: "values"}})
		_ = enc.Flush()
		n = cw.n
	}
	b.SetBytes(n)
}
