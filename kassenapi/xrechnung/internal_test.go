package xrechnung

import (
	"testing"
	"time"
)

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

// TestSchemaTable checks the generated CII D16B table: every referenced
// type is known and no sequence names an element twice (the structure
// check relies on both).
func TestSchemaTable(t *testing.T) {
	if len(ciiTypes) < 90 {
		t.Fatalf("only %d aggregate types", len(ciiTypes))
	}
	for typ, seq := range ciiTypes {
		seen := map[string]bool{}
		for _, e := range seq {
			if seen[e.name] {
				t.Errorf("%s: element %s twice", typ, e.name)
			}
			seen[e.name] = true
			_, agg := ciiTypes[e.typ]
			_, leaf := ciiLeaves[e.typ]
			if !agg && !leaf && e.typ != "" {
				t.Errorf("%s.%s: unknown type %s", typ, e.name, e.typ)
			}
		}
	}
	if _, ok := ciiTypes["rsm:CrossIndustryInvoiceType"]; !ok {
		t.Fatal("root type missing")
	}
}

func TestDateText(t *testing.T) {
	var d Date
	if err := d.UnmarshalText([]byte("2025-02-28")); err != nil || d != NewDate(2025, 2, 28) {
		t.Fatalf("%v %v", d, err)
	}
	if b, err := d.MarshalText(); err != nil || string(b) != "2025-02-28" {
		t.Fatalf("%s %v", b, err)
	}
	if err := d.UnmarshalText(nil); err != nil || !d.IsZero() {
		t.Fatal("empty text")
	}
	if b, err := (Date{}).MarshalText(); err != nil || len(b) != 0 {
		t.Fatal("zero date")
	}
	if _, err := NewDate(2025, 2, 30).MarshalText(); err == nil {
		t.Fatal("invalid date marshalled")
	}
	if err := d.UnmarshalText([]byte("28.02.2025")); err == nil {
		t.Fatal("German date accepted")
	}
}
