package mio

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/digakit/digakit/mio/miocheck"
	"github.com/digakit/digakit/mio/miotest"
)

var (
	fuzzCheckerOnce sync.Once
	fuzzCheckerVal  *miocheck.Checker
)

// fuzzChecker loads the profile checker once, or returns nil without data.
func fuzzChecker() *miocheck.Checker {
	fuzzCheckerOnce.Do(func() {
		if dir, err := miotest.DataDir(); err == nil {
			fuzzCheckerVal, _ = miocheck.Load(dir)
		}
	})
	return fuzzCheckerVal
}

// FuzzExportJSON feeds arbitrary bytes as a JSON export file: decoding and
// building never panic, and every input either yields a
// *ValidationError or documents that are well-formed XML with exactly the
// planned size (no input may produce invalid XML).
func FuzzExportJSON(f *testing.F) {
	files, _ := filepath.Glob("testdata/export/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"entries":[{"kind":"diary-entry","sourceId":"x","effective":"2024-04-02T07:30:00+02:00","text":"\u0000"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, o, err := DecodeExport(bytes.NewReader(data))
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("untyped decode error %v", err)
			}
			return
		}
		o.Clock = func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }
		if o.MaxBytes > 1<<22 || o.MaxBytes == 0 {
			o.MaxBytes = 1 << 22
		}
		docs, err := Build(context.Background(), x, o)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("untyped build error %v", err)
			}
			return
		}
		for _, d := range docs {
			b, err := d.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(b)) != d.Size {
				t.Fatal("size mismatch")
			}
			dec := xml.NewDecoder(bytes.NewReader(b))
			for {
				_, err := dec.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("not well-formed: %v", err)
				}
			}
			if bytes.Contains(b, []byte("\uFFFD")) && !bytes.Contains(data, []byte("\uFFFD")) && !bytes.Contains(data, []byte(`\ufffd`)) && !bytes.Contains(data, []byte(`\uFFFD`)) {
				t.Fatal("encoder replaced an invalid character")
			}
			if c := fuzzChecker(); c != nil {
				if f := c.Check(bytes.NewReader(b)); len(f) > 0 {
					t.Fatalf("miocheck findings on builder output: %v", f)
				}
			}
		}
	})
}

// FuzzParseDecimal: accepted decimals match the grammar and re-print
// identically.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "21.0", "-1.5", "NaN", "01.5", ".5", "1e5", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDecimal(s)
		if err != nil {
			return
		}
		if d.String() != s || !decimalRe.MatchString(s) {
			t.Fatalf("%q accepted", s)
		}
	})
}

// FuzzStrings puts arbitrary text into a free-text field: the result is an
// ErrInvalidString/ErrRequired issue or a document whose text round-trips.
func FuzzStrings(f *testing.F) {
	for _, s := range []string{"a", "\n\t\r", "<&>\"'", "ä😀", "\x00", "\uFFFE", " x "} {
		f.Add(s)
	}
	x0, o := glucoseExport(1)
	f.Fuzz(func(t *testing.T, s string) {
		x := x0
		x.Entries = []Entry{&DiaryEntry{Common: Common{SourceID: "d"}, Effective: Timing{At: x.Period.Start}, Text: s}}
		docs, err := Build(context.Background(), x, o)
		if err != nil {
			if !errors.Is(err, ErrInvalidString) && !errors.Is(err, ErrRequired) {
				t.Fatalf("unexpected %v", err)
			}
			return
		}
		b, _ := docs[0].Bytes()
		var v struct {
			Entries []struct {
				V struct {
					Value string `xml:"value,attr"`
				} `xml:"resource>Observation>valueString"`
			} `xml:"entry"`
		}
		if err := xml.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		ok := false
		for _, e := range v.Entries {
			if e.V.Value != "" && e.V.Value == trimmed(s) {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("text did not round-trip: %q", s)
		}
	})
}

var decimalRe = regexpMust(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?$`)
