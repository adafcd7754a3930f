package kvnr

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestValidateVectors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		// mio.md §2.7
		{"X110411319", nil},
		{"T012345678", nil},
		{"A123456780", nil},
		{"Z999999997", nil},
		{"B000000004", nil},
		{"A123456789", ErrCheckDigit},
		{"P234567890", ErrCheckDigit},
		{"G995030567", ErrCheckDigit},
		{"a123456780", ErrFormat},
		{"A12345678", ErrFormat},
		{"Ä123456780", ErrFormat},
		{"A12345678O", ErrFormat},
		// gidrp.md §2.8
		{"X110411675", nil},
		{"P179293933", nil},
		{"A000000002", nil},
		{"X110542925", nil},
		{"X110401369", nil},
		{"D162565242", nil},
		{"G839948921", nil},
		{"X110680129", nil},
		{"X110594049", nil},
		{"O018753325", nil},
		{"O018753337", nil},
		{"G320916839", nil},
		{"X110411674", ErrCheckDigit},
		{"A000000000", ErrCheckDigit},
		{"x110411675", ErrFormat},
		{"1234567890", ErrFormat},
		{"X11041167", ErrFormat},
		{"X1104116755", ErrFormat},
		{"ti-ref-2@prehapp.de", ErrFormat},
		{"", ErrFormat},
		{" X110411675", ErrFormat},
	}
	for _, tc := range tests {
		got := Validate(tc.in)
		if !errors.Is(got, tc.want) || (tc.want == nil && got != nil) {
			t.Errorf("Validate(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if got != nil && strings.Contains(got.Error(), tc.in) && tc.in != "" {
			t.Errorf("error for %q echoes the input", tc.in)
		}
		if Valid(tc.in) != (tc.want == nil) {
			t.Errorf("Valid(%q) disagrees", tc.in)
		}
	}
}

func TestCheckDigitAllLetters(t *testing.T) {
	for c := 'A'; c <= 'Z'; c++ {
		prefix := string(c) + "12345678"
		d, err := CheckDigit(prefix)
		if err != nil {
			t.Fatal(err)
		}
		if d > 9 {
			t.Fatalf("digit %d", d)
		}
		full := prefix + string('0'+rune(d))
		if ref := referenceValid(full); !ref {
			t.Fatalf("%s: reference disagrees", full)
		}
		if err := Validate(full); err != nil {
			t.Fatalf("%s: %v", full, err)
		}
	}
	if _, err := CheckDigit("A1234"); !errors.Is(err, ErrFormat) {
		t.Fatal("short prefix accepted")
	}
	if _, err := CheckDigit("A1234567x"); !errors.Is(err, ErrFormat) {
		t.Fatal("non-digit prefix accepted")
	}
}

// referenceValid is an independent, string-based implementation of the
// algorithm used as a differential oracle.
func referenceValid(s string) bool {
	if len(s) != 10 || !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZ", rune(s[0])) {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	digits := fmt.Sprintf("%02d", strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZ", s[0])+1) + s[1:9]
	sum := 0
	for i, r := range digits {
		w := 1
		if i%2 == 1 {
			w = 2
		}
		p := int(r-'0') * w
		for p > 0 {
			sum += p % 10
			p /= 10
		}
	}
	return sum%10 == int(s[9]-'0')
}

func TestRedaction(t *testing.T) {
	k := KVNR("X110411675")
	for _, s := range []string{k.String(), fmt.Sprint(k), fmt.Sprintf("%v %s %#v", k, k, k)} {
		if strings.Contains(s, "X110411675") {
			t.Fatalf("leak: %q", s)
		}
	}
	b, _ := json.Marshal(struct{ K KVNR }{k})
	if strings.Contains(string(b), "X110411675") {
		t.Fatalf("json leak: %s", b)
	}
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("x", "kvnr", k)
	if strings.Contains(sb.String(), "X110411675") {
		t.Fatalf("slog leak: %s", sb.String())
	}
	if k.Reveal() != "X110411675" || k.Validate() != nil {
		t.Fatal("Reveal/Validate")
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"X110411319", "A123456789", "a123456780", "", "Ä123456780", "Z999999997"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := Validate(s)
		if (err == nil) != referenceValid(s) {
			t.Fatalf("Validate(%q) = %v, reference %v", s, err, referenceValid(s))
		}
		if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrCheckDigit) {
			t.Fatalf("untyped error %v", err)
		}
		if errors.Is(err, ErrCheckDigit) && ValidateFormat(s) != nil {
			t.Fatal("check-digit error on bad format")
		}
	})
}
