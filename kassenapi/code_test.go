package kassenapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const codeTestAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// TestCheckCharVectors runs all 40 Base32Check1 vectors of spec A2.2.
func TestCheckCharVectors(t *testing.T) {
	abc := codeTestAlphabet
	tests := []struct {
		payload string
		want    byte
	}{
		{"", 'A'}, {"A", 'A'}, {"AB", 'Q'}, {"ABC", 'J'}, {"ABCD", 'V'}, {"ABCDE", 'I'},
		{"ABCDEF", 'G'}, {"ABCDEFG", 'A'}, {"ABCDEFGH", 'T'}, {"ABCDEFGHI", '5'},
		{"ABCDEFGHIJ", 'K'}, {"ABCDEFGHIJK", 'A'}, {"ABCDEFGHIJKL", 'F'}, {"ABCDEFGHIJKLM", 'U'},
		{"ABCDEFGHIJKLMN", 'M'}, {"ABCDEFGHIJKLMNO", 'R'}, {"ABCDEFGHIJKLMNOP", '7'},
		{"ABCDEFGHIJKLMNOPQ", 'X'}, {"ABCDEFGHIJKLMNOPQR", 'D'}, {"ABCDEFGHIJKLMNOPQRS", 'I'},
		{"ABCDEFGHIJKLMNOPQRST", '5'}, {"ABCDEFGHIJKLMNOPQRSTU", 'U'}, {"ABCDEFGHIJKLMNOPQRSTUV", 'Q'},
		{"ABCDEFGHIJKLMNOPQRSTUVW", 'D'}, {"ABCDEFGHIJKLMNOPQRSTUVWX", 'K'},
		{"ABCDEFGHIJKLMNOPQRSTUVWXY", 'J'}, {"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 'Y'},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ2", 'R'}, {"ABCDEFGHIJKLMNOPQRSTUVWXYZ23", 'V'},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ234", 'U'}, {"ABCDEFGHIJKLMNOPQRSTUVWXYZ2345", 'U'},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ23456", 'V'}, {abc, 'V'},
		{"CONSECRATIO", 'X'}, {"CAFEBABE", 'N'}, {"CAFEDEAD", 'A'}, {"DEADBEEF", 'L'}, {"234567", 'Z'},
		{abc + "ABCDEFGHIJKLMNOPQRSTUVWXYZ2345", '6'},
		{abc + abc + "ABCDEFGHIJKLMNOPQRSTUVWXYZ234", 'K'},
		// DiGA vectors.
		{"CHAAAAAAAAAAAAA", 'J'}, {"ZZAAAAAAAAAAAAA", 'W'},
	}
	if len(tests) != 42 {
		t.Fatalf("vector table has %d rows, want 40 + 2", len(tests))
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d:%s", len(tt.payload), tt.payload), func(t *testing.T) {
			got, err := CheckChar(tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("CheckChar = %c, want %c", got, tt.want)
			}
			// A payload plus its check character sums to zero.
			if s := base32Check1Sum(tt.payload + string(got)); s != 0 {
				t.Errorf("sum over payload+check = %d, want 0", s)
			}
		})
	}
}

func TestBase32Check1Matrix(t *testing.T) {
	if got, want := base32Check1Pow[2], [5]byte{0b00011, 0b00010, 0b10001, 0b01011, 0b00110}; got != want {
		t.Errorf("P^2 = %05b, want %05b", got, want)
	}
	if got, want := base32Check1Pow[30], [5]byte{0b11000, 0b00100, 0b10010, 0b10001, 0b10000}; got != want {
		t.Errorf("P^30 = %05b, want %05b", got, want)
	}
	var p31 [5]byte
	for i := range 5 {
		p31[i] = vecMulMat(base32Check1Pow[30][i], base32Check1Pow[1])
	}
	if p31 != base32Check1Pow[0] {
		t.Errorf("P^31 = %05b, want identity", p31)
	}
}

var pseudoCodes = []string{
	"77AAAAAAAAAAAAAX", "77AAAAAAAAAAADEV", "77AAAAAAAAAAADFF", "77AAAAAAAAAAADGE",
	"77AAAAAAAAAAAGIS", "77AAAAAAAAAAAGJC", "77AAAAAAAAAAAGKD",
}

func TestParseCode(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		want   string
		err    error
		charAt int
		char   rune
	}{
		{"pseudo valid", "77AAAAAAAAAAAAAX", "77AAAAAAAAAAAAAX", nil, 0, 0},
		{"CH valid", "CHAAAAAAAAAAAAAJ", "CHAAAAAAAAAAAAAJ", nil, 0, 0},
		{"ZZ valid", "ZZAAAAAAAAAAAAAW", "ZZAAAAAAAAAAAAAW", nil, 0, 0},
		{"spec normalisation", " ch-aaaa aaaa aaaa aj ", "CHAAAAAAAAAAAAAJ", nil, 0, 0},
		{"NBSP and tabs", "\tCHAA\u00a0AAAA\u202fAAAA-AAAJ\n", "CHAAAAAAAAAAAAAJ", nil, 0, 0},
		{"Bitmarck rejected X", "CHAAAAAAAAAAAAAX", "", ErrCodeChecksum, 0, 0},
		{"ITSG sample 1", "3234567654ABCDEF", "", ErrCodeChecksum, 0, 0},
		{"ITSG sample 2", "ABCDEFGHIJKLMNOP", "", ErrCodeChecksum, 0, 0},
		{"ITSG sample 3", "AXXYYZZAABBCCDD7", "", ErrCodeChecksum, 0, 0},
		{"zero is not O", "CHAAAAAAAAAAAA0J", "", ErrCodeCharset, 14, '0'},
		{"one is not I", "1HAAAAAAAAAAAAAJ", "", ErrCodeCharset, 0, '1'},
		{"eight", "CHAAAAAA8AAAAAAJ", "", ErrCodeCharset, 8, '8'},
		{"nine", "CHAAAAAAAAAAAAA9", "", ErrCodeCharset, 15, '9'},
		{"umlaut", "CHÄAAAAAAAAAAAAJ", "", ErrCodeCharset, 2, 'Ä'},
		{"padding", "CHAAAAAAAAAAAA=J", "", ErrCodeCharset, 14, '='},
		{"empty", "", "", ErrCodeLength, 0, 0},
		{"only spaces", "   - -  ", "", ErrCodeLength, 0, 0},
		{"15", "CHAAAAAAAAAAAAA", "", ErrCodeLength, 0, 0},
		{"17", "CHAAAAAAAAAAAAAJA", "", ErrCodeLength, 0, 0},
		{"invalid utf8", "CHAAAAAAAAAAAA\xffJ", "", ErrCodeCharset, 14, '\uFFFD'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCode(tt.input)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("ParseCode: %v", err)
				}
				if c.Plain() != tt.want {
					t.Errorf("Plain = %q, want %q", c.Plain(), tt.want)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if !c.IsZero() {
				t.Error("code returned with an error")
			}
			if tt.err == ErrCodeCharset {
				var ce *CharsetError
				if !errors.As(err, &ce) {
					t.Fatalf("error %T is not *CharsetError", err)
				}
				if ce.Pos != tt.charAt || ce.Char != tt.char {
					t.Errorf("CharsetError = {%d %q}, want {%d %q}", ce.Pos, ce.Char, tt.charAt, tt.char)
				}
			}
			if n := NormalizeCode(tt.input); len(n) >= 4 && strings.Contains(err.Error(), n) {
				t.Errorf("error %q contains the code", err)
			}
		})
	}
}

func TestPseudoCodesValid(t *testing.T) {
	for _, s := range pseudoCodes {
		c, err := ParseCode(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if !c.IsTest() || c.Prefix() != "77" || c.Version() != "A" {
			t.Errorf("%s: IsTest=%v Prefix=%q Version=%q", s, c.IsTest(), c.Prefix(), c.Version())
		}
	}
}

func TestCodeParts(t *testing.T) {
	c, err := ParseCode("chaaaaaaaaaaaaaj")
	if err != nil {
		t.Fatal(err)
	}
	if c.Prefix() != "CH" || c.Version() != "A" || c.InsurerPart() != "AAAAAAAAAAAA" || c.Check() != 'J' || c.IsTest() {
		t.Errorf("parts = %q %q %q %c test=%v", c.Prefix(), c.Version(), c.InsurerPart(), c.Check(), c.IsTest())
	}
	var zero Code
	if zero.Prefix() != "" || zero.Version() != "" || zero.InsurerPart() != "" || zero.Check() != 0 || zero.String() != "" {
		t.Error("zero Code has parts")
	}
	d, _ := ParseCode("CHAAAAAAAAAAAAAJ")
	if !c.Equal(d) || c.Equal(zero) {
		t.Error("Equal")
	}
}

// TestTestCodeMode: test codes only in test mode (spec A2.3, A4).
func TestTestCodeMode(t *testing.T) {
	for _, s := range pseudoCodes {
		if _, err := ParseCodeMode(s, CodeModeProduction); !errors.Is(err, ErrTestCodeNotAllowed) {
			t.Errorf("%s production: err = %v, want ErrTestCodeNotAllowed", s, err)
		}
		if _, err := ParseCodeMode(s, CodeModeTest); err != nil {
			t.Errorf("%s test mode: %v", s, err)
		}
	}
	var zeroMode CodeMode
	if _, err := ParseCodeMode("77AAAAAAAAAAAAAX", zeroMode); !errors.Is(err, ErrTestCodeNotAllowed) {
		t.Error("zero CodeMode must be production")
	}
	if _, err := ParseCodeMode("CHAAAAAAAAAAAAAJ", CodeModeProduction); err != nil {
		t.Errorf("production code: %v", err)
	}
	if _, err := ParseCodeMode("77AAAAAAAAAAAAAA", CodeModeTest); !errors.Is(err, ErrCodeChecksum) {
		t.Errorf("bad test code: %v", err)
	}
	if got := CodeProblem(ErrTestCodeNotAllowed); got != "test-code-not-allowed" {
		t.Errorf("CodeProblem = %q", got)
	}
}

// TestCodeSubstitutionProperty is the A2.2 property: no single substitution
// and no adjacent transposition of 77AAAAAAAAAAAAAX is valid.
func TestCodeSubstitutionProperty(t *testing.T) {
	const base = "77AAAAAAAAAAAAAX"
	n := 0
	for i := range len(base) {
		for _, r := range codeTestAlphabet {
			if byte(r) == base[i] {
				continue
			}
			b := []byte(base)
			b[i] = byte(r)
			n++
			if _, err := ParseCode(string(b)); !errors.Is(err, ErrCodeChecksum) {
				t.Errorf("substitution %d=%c accepted (err %v)", i, r, err)
			}
		}
	}
	if n != 16*31 {
		t.Fatalf("tried %d substitutions, want %d", n, 16*31)
	}
	for i := 0; i+1 < len(base); i++ {
		if base[i] == base[i+1] {
			continue
		}
		b := []byte(base)
		b[i], b[i+1] = b[i+1], b[i]
		if _, err := ParseCode(string(b)); err == nil {
			t.Errorf("transposition at %d accepted", i)
		}
	}
}

// TestCodeRedaction scans every way of printing a Code for the plain value
// (spec A6 "Redaction").
func TestCodeRedaction(t *testing.T) {
	for _, s := range append(pseudoCodes, "CHAAAAAAAAAAAAAJ") {
		c, err := ParseCode(s)
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "code", c)
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "code", c, "ptr", &c)
		js, _ := json.Marshal(struct{ C Code }{c})
		outs := []string{
			fmt.Sprint(c), fmt.Sprintf("%s %v %+v %#v %q %x %X %d", c, c, c, c, c, c, c, c),
			fmt.Sprintf("%v %+v", &c, struct{ C Code }{c}), fmt.Sprintf("%#v", struct{ C Code }{c}),
			logs.String(), string(js), c.String(), c.GoString(),
			fmt.Errorf("wrapped: %v", c).Error(),
		}
		for _, o := range outs {
			if strings.Contains(o, s) {
				t.Errorf("output leaks the code: %q", o)
			}
		}
		if want := s[:2] + "************" + s[14:]; c.String() != want {
			t.Errorf("String = %q, want %q", c.String(), want)
		}
	}
}

// TestCodeRoundTrip: every accepted code parses again to itself and its
// check character is CheckChar of the first 15.
func TestCodeRoundTrip(t *testing.T) {
	for _, s := range pseudoCodes {
		c, _ := ParseCode(s)
		again, err := ParseCode(c.Plain())
		if err != nil || !again.Equal(c) {
			t.Fatalf("round trip failed for %v: %v", c, err)
		}
		cc, _ := CheckChar(c.Plain()[:15])
		if cc != c.Check() {
			t.Errorf("CheckChar(first 15) = %c, want %c", cc, c.Check())
		}
	}
	if _, err := CheckChar("AB0"); !errors.Is(err, ErrCodeCharset) {
		t.Errorf("CheckChar foreign: %v", err)
	}
}

func BenchmarkParseCode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCode(" ch-aaaa aaaa aaaa aj "); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckChar(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CheckChar("CHAAAAAAAAAAAAA"); err != nil {
			b.Fatal(err)
		}
	}
}
