package mio_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/digakit/digakit/mio"
)

func exampleExport() (mio.Export, mio.Options) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	start := time.Date(2024, 4, 1, 0, 0, 0, 0, berlin)
	x := mio.Export{
		ExportID: "export-2024-05-01",
		Patient:  mio.Patient{SourceID: "p-1", KVNR: "X110411319", Name: &mio.Name{Family: "Muster", Given: "Erika"}},
		DiGA:     mio.DiGA{VEID: "12345678", PZN: "12345678", Name: "Beispiel-DiGA"},
		Period:   mio.Period{Start: start, End: start.AddDate(0, 1, 0).Add(-time.Second)},
		Created:  start.AddDate(0, 1, 0),
		Entries: []mio.Entry{
			&mio.BodyWeight{Measurement: mio.Measurement{
				Common:    mio.Common{SourceID: "w-42"},
				Effective: start.Add(31 * time.Hour), Value: mio.MustDecimal("72.50"), Unit: "kg"}},
			&mio.BloodPressure{Common: mio.Common{SourceID: "bp-1"}, Effective: start.Add(32 * time.Hour),
				Systolic: mio.MustDecimal("120"), Diastolic: mio.MustDecimal("80")},
		},
	}
	o := mio.Options{
		Namespace: mio.NewUUIDv5(mio.NamespaceURL, "https://diga.example/mio"),
		Clock:     func() time.Time { return x.Created.Add(time.Hour) },
	}
	return x, o
}

func ExampleBuild() {
	x, o := exampleExport()
	docs, err := mio.Build(context.Background(), x, o)
	if err != nil {
		fmt.Println(err)
		return
	}
	d := docs[0]
	var sb strings.Builder
	if _, err := d.WriteTo(&sb); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(docs), d.BundleUUID, d.Entries, int64(sb.Len()) == d.Size)
	fmt.Println(d.Metadata.FormatCode.Code, d.Metadata.Title)
	fmt.Println(strings.Contains(sb.String(), `<value value="72.50">`))
	// Output:
	// 1 886d41e7-0d00-590a-b85b-54c24931564f 7 true
	// urn:gematik:ig:diga:v1.1 DiGA-Export Beispiel-DiGA 2024-04-01 - 2024-04-30
	// true
}

func ExampleValidate() {
	x, o := exampleExport()
	x.Patient.KVNR = "A123456789" // wrong check digit
	x.Entries = append(x.Entries, &mio.HeartRate{Measurement: mio.Measurement{
		Common: mio.Common{SourceID: "hr-1"}, Effective: x.Period.Start, Value: mio.MustDecimal("64"), Unit: "bpm"}})
	err := mio.Validate(x, o)
	var ve *mio.ValidationError
	if errors.As(err, &ve) {
		for _, is := range ve.Issues {
			fmt.Println(is)
		}
	}
	fmt.Println(errors.Is(err, mio.ErrInvalidUnit))
	// Output:
	// Entries[2](HeartRate).Unit: invalid unit: unit not allowed for this kind
	// Patient.KVNR: invalid identifier: check digit mismatch
	// true
}

func ExampleDecodeExport() {
	in := `{"options": {"namespace": "c6542156-0dd5-573e-b5f5-8e69d662c741", "timestamp": "2024-05-01T10:00:00+02:00"},
	  "exportId": "e-1", "patient": {"sourceId": "p-1"},
	  "diga": {"veid": "1", "pzn": "12345678", "name": "D"},
	  "period": {"start": "2024-04-01T00:00:00+02:00", "end": "2024-04-30T23:59:59+02:00"},
	  "entries": [{"kind": "glucose", "sourceId": "g-1", "effective": "2024-04-04T12:00:00+02:00", "value": 5.40, "unit": "mmol/L"}]}`
	x, o, err := mio.DecodeExport(strings.NewReader(in))
	if err != nil {
		fmt.Println(err)
		return
	}
	g := x.Entries[0].(*mio.Glucose)
	fmt.Println(g.Value, g.Unit, o.Namespace)
	// Output: 5.40 mmol/L c6542156-0dd5-573e-b5f5-8e69d662c741
}

func ExampleParseDecimal() {
	for _, s := range []string{"21.0", "01.5", "NaN"} {
		d, err := mio.ParseDecimal(s)
		fmt.Println(d, err == nil)
	}
	// Output:
	// 21.0 true
	//  false
	//  false
}
