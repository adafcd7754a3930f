package kassenapi

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseCode: no panic; every accepted code is 16 alphabet characters,
// round-trips and has a valid check character; errors are typed and never
// contain the normalised input.
func FuzzParseCode(f *testing.F) {
	for _, s := range append(pseudoCodes, "CHAAAAAAAAAAAAAJ", " ch-aaaa aaaa aaaa aj ", "CHAAAAAAAAAAAAAX", "3234567654ABCDEF",
		"", "0", "CHAAAAAAAAAAAA0J", "CH\u00a0AAAA", "\xff\xfe", strings.Repeat("A", 1000)) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseCode(in)
		if err != nil {
			if !c.IsZero() {
				t.Fatal("code with error")
			}
			if !errors.Is(err, ErrCodeLength) && !errors.Is(err, ErrCodeCharset) && !errors.Is(err, ErrCodeChecksum) {
				t.Fatalf("untyped error %v", err)
			}
			if n := NormalizeCode(in); len(n) >= 8 && strings.Contains(err.Error(), n) {
				t.Fatalf("error leaks the input: %v", err)
			}
			return
		}
		p := c.Plain()
		if len(p) != CodeLength {
			t.Fatalf("len %d", len(p))
		}
		for _, r := range p {
			if codeIndex(r) < 0 {
				t.Fatalf("foreign character %q", r)
			}
		}
		again, err := ParseCode(p)
		if err != nil || !again.Equal(c) {
			t.Fatalf("round trip: %v", err)
		}
		if cc, err := CheckChar(p[:15]); err != nil || cc != p[15] {
			t.Fatalf("check char %c vs %c (%v)", cc, p[15], err)
		}
		if strings.Contains(c.String(), p) {
			t.Fatal("String leaks")
		}
		if _, err := ParseCodeMode(in, CodeModeProduction); c.IsTest() != errors.Is(err, ErrTestCodeNotAllowed) {
			t.Fatalf("mode check: test=%v err=%v", c.IsTest(), err)
		}
	})
}
