package kassenapi

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// CodeLength is the length of a Freischaltcode (spec A2.1).
const CodeLength = 16

// TestCodePrefix is the Kostentraegerkuerzel of the GKV pseudo codes
// (GKV Anhang 6, spec A2.3). It is never in the endpoint directory.
const TestCodePrefix = "77"

// codeAlphabet is the RFC 4648 Base32 alphabet without padding, in index order
// (spec A2.1, A2.2 step 1).
const codeAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// Errors of ParseCode and CheckChar. They never carry the code itself.
var (
	// ErrCodeLength: after normalisation the code does not have 16 characters.
	ErrCodeLength = errors.New("kassenapi: freischaltcode must have 16 characters")
	// ErrCodeCharset: a character outside A–Z2–7; the concrete error is a
	// *CharsetError.
	ErrCodeCharset = errors.New("kassenapi: freischaltcode contains a character outside A-Z2-7")
	// ErrCodeChecksum: the 16th character is not the Base32Check1 check
	// character of the first 15 (GKV Anhang 3, spec A2.2).
	ErrCodeChecksum = errors.New("kassenapi: freischaltcode check character is wrong")
	// ErrTestCodeNotAllowed: a test code (prefix 77) or a test procedure was
	// used without test mode (spec A2.3, A2.10 item 9, A4).
	ErrTestCodeNotAllowed = errors.New("kassenapi: test freischaltcode (77...) not allowed in production mode")
)

// CharsetError reports the first character of a code that is not in the
// Base32 alphabet A–Z2–7 (after normalisation). 0, 1, 8 and 9 are never
// guessed as O, I, B or g (spec A4). errors.Is(err, ErrCodeCharset) holds.
type CharsetError struct {
	Pos  int  // 0-based position in the normalised code
	Char rune // the offending character
}

// Error describes the position and the Unicode code point, not the code.
func (e *CharsetError) Error() string {
	return fmt.Sprintf("kassenapi: freischaltcode character %d (%U) is not in A-Z2-7", e.Pos+1, e.Char)
}

// Is makes errors.Is(err, ErrCodeCharset) true.
func (e *CharsetError) Is(target error) bool { return target == ErrCodeCharset }

// CodeMode says whether test codes are acceptable. The zero value is
// production mode, so test codes are refused unless a caller opts in.
type CodeMode int

const (
	// CodeModeProduction refuses test codes (prefix 77) with ErrTestCodeNotAllowed.
	CodeModeProduction CodeMode = iota
	// CodeModeTest accepts test codes; use only with the T-procedures
	// (TDFC0/TDRE0) and never to unlock a production app.
	CodeModeTest
)

// Code is a normalised, checksum-valid Freischaltcode. It is a struct so that
// neither string(code) nor %s, %v, %+v, %#v, %q nor slog can print the plain
// value: all of them show the redacted form of [Code.String]. Use
// [Code.Plain] only for the wire and the billing database. The zero Code is
// not valid ([Code.IsZero]).
//
// REQ: kassenapi-spec:A3
type Code struct {
	s string
}

// ParseCode normalises input and checks it (spec A2.1, A2.2, A3 item 1):
// leading and trailing white space, ASCII spaces, tabs, hyphens and
// non-breaking spaces are dropped, letters are upper-cased, then the code
// must have 16 characters of A–Z2–7 and a valid Base32Check1 check
// character. Test codes are accepted here; use [ParseCodeMode] or
// [Code.CheckMode] to enforce production mode. Errors are ErrCodeLength,
// *CharsetError (ErrCodeCharset) or ErrCodeChecksum and never contain the
// input.
//
// REQ: kassenapi-spec:A2.1, kassenapi-spec:A2.2
func ParseCode(input string) (Code, error) {
	n := NormalizeCode(input)
	if err := checkNormalized(n); err != nil {
		return Code{}, err
	}
	return Code{s: n}, nil
}

// ParseCodeMode is ParseCode followed by [Code.CheckMode]: in
// CodeModeProduction a test code yields ErrTestCodeNotAllowed.
//
// REQ: kassenapi-spec:A2.3
func ParseCodeMode(input string, mode CodeMode) (Code, error) {
	c, err := ParseCode(input)
	if err != nil {
		return Code{}, err
	}
	if err := c.CheckMode(mode); err != nil {
		return Code{}, err
	}
	return c, nil
}

// NormalizeCode applies the normalisation of ParseCode without checking:
// drop white space (ASCII space, tab, CR, LF, NBSP U+00A0, narrow NBSP
// U+202F) and hyphens (also U+2010/U+2011 from word processors), upper-case
// ASCII letters. Other characters are kept, so that the check reports them.
func NormalizeCode(input string) string {
	var b strings.Builder
	b.Grow(len(input))
	for _, r := range input {
		switch r {
		case ' ', '\t', '\r', '\n', '\u00a0', '\u202f', '-', '\u2010', '\u2011':
			continue
		}
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// CodeProblem maps an error of ParseCode or ParseCodeMode to the error name
// of the CLI contract: "" for nil, else "length", "charset", "checksum" or
// "test-code-not-allowed".
func CodeProblem(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrCodeLength):
		return "length"
	case errors.Is(err, ErrCodeCharset):
		return "charset"
	case errors.Is(err, ErrCodeChecksum):
		return "checksum"
	case errors.Is(err, ErrTestCodeNotAllowed):
		return "test-code-not-allowed"
	}
	return "invalid"
}

func checkNormalized(n string) error {
	if c := utf8.RuneCountInString(n); c != CodeLength {
		return fmt.Errorf("%w (got %d)", ErrCodeLength, c)
	}
	pos := 0
	for _, r := range n {
		if codeIndex(r) < 0 {
			return &CharsetError{Pos: pos, Char: r}
		}
		pos++
	}
	if base32Check1Sum(n) != 0 {
		return ErrCodeChecksum
	}
	return nil
}

// codeIndex maps a character to its alphabet index, -1 if foreign.
func codeIndex(r rune) int {
	switch {
	case r >= 'A' && r <= 'Z':
		return int(r - 'A')
	case r >= '2' && r <= '7':
		return int(r-'2') + 26
	}
	return -1
}

// CheckChar returns the Base32Check1 check character of payload (GKV
// Anhang 3, spec A2.2) for any length over A–Z2–7. payload must already be
// normalised; a foreign character yields a *CharsetError.
//
// REQ: kassenapi-spec:A2.2
func CheckChar(payload string) (byte, error) {
	pos := 0
	for _, r := range payload {
		if codeIndex(r) < 0 {
			return 0, &CharsetError{Pos: pos, Char: r}
		}
		pos++
	}
	s := base32Check1Sum(payload)
	n := len(payload) // all ASCII here
	e := ((30-n)%31 + 31) % 31
	return codeAlphabet[base32Check1Mul(s, e)], nil
}

// base32Check1Pow holds P^0 … P^30 as five 5-bit rows each (row 0 first),
// where P is the companion matrix of 1 + x + x³ + x⁴ + x⁵ given in spec A2.2
// step 2. P^31 is the identity.
var base32Check1Pow = func() (p [31][5]byte) {
	p[0] = [5]byte{0x10, 0x08, 0x04, 0x02, 0x01}
	base := [5]byte{0x01, 0x11, 0x08, 0x05, 0x03}
	for k := 1; k < 31; k++ {
		for i := range 5 {
			p[k][i] = vecMulMat(p[k-1][i], base)
		}
	}
	return p
}()

// vecMulMat multiplies the 5-bit row vector v (MSB first) by matrix m over
// GF(2): the XOR of the rows j whose bit (4-j) is set in v.
func vecMulMat(v byte, m [5]byte) byte {
	var r byte
	for j := range 5 {
		if v&(1<<(4-j)) != 0 {
			r ^= m[j]
		}
	}
	return r
}

// base32Check1Tab[k][v] = v · P^k, precomputed for speed.
var base32Check1Tab = func() (t [31][32]byte) {
	for k := range 31 {
		for v := range 32 {
			t[k][v] = vecMulMat(byte(v), base32Check1Pow[k])
		}
	}
	return t
}()

func base32Check1Mul(v byte, exp int) byte { return base32Check1Tab[exp%31][v&31] }

// base32Check1Sum is s = XOR over i (1-based) of a_i · P^(i mod 31).
// The caller guarantees that s contains only alphabet characters.
func base32Check1Sum(s string) byte {
	var sum byte
	for i := 0; i < len(s); i++ {
		sum ^= base32Check1Mul(byte(codeIndex(rune(s[i]))), (i+1)%31)
	}
	return sum
}

// Plain returns the 16 plain characters. Use it only on the wire (EDFC0,
// XRechnung) and for the billing database; never log it.
func (c Code) Plain() string { return c.s }

// IsZero reports whether c is the zero Code (not parsed).
func (c Code) IsZero() bool { return c.s == "" }

// Prefix is the Kostentraegerkuerzel, the first two characters and the key
// into the endpoint directory. It is not secret.
func (c Code) Prefix() string {
	if len(c.s) < 2 {
		return ""
	}
	return c.s[:2]
}

// Version is the third character (currently "A"; other alphabet characters
// are not rejected, spec A2.1).
func (c Code) Version() string {
	if len(c.s) < 3 {
		return ""
	}
	return c.s[2:3]
}

// InsurerPart is the individual part issued by the insurer, characters 4–15
// (60 bits). It is secret like the whole code.
func (c Code) InsurerPart() string {
	if len(c.s) < CodeLength {
		return ""
	}
	return c.s[3:15]
}

// Check is the check character, the 16th character.
func (c Code) Check() byte {
	if len(c.s) < CodeLength {
		return 0
	}
	return c.s[15]
}

// IsTest reports whether c is a test code (prefix 77, spec A2.3).
func (c Code) IsTest() bool { return c.Prefix() == TestCodePrefix }

// CheckMode returns ErrTestCodeNotAllowed for a test code in
// CodeModeProduction, nil otherwise.
func (c Code) CheckMode(mode CodeMode) error {
	if c.IsTest() && mode != CodeModeTest {
		return ErrTestCodeNotAllowed
	}
	return nil
}

// Equal compares two codes in constant time.
func (c Code) Equal(o Code) bool {
	return subtle.ConstantTimeCompare([]byte(c.s), []byte(o.s)) == 1
}

// String returns the redacted form: prefix, twelve asterisks and the last
// two characters ("CH************AJ"); "" for the zero Code.
func (c Code) String() string {
	if len(c.s) != CodeLength {
		return ""
	}
	return c.s[:2] + "************" + c.s[14:]
}

// GoString is the redacted form for %#v.
func (c Code) GoString() string { return "kassenapi.Code(" + c.String() + ")" }

// Format prints the redacted form for every verb, so that %v, %+v, %s, %q
// and %x cannot leak the code.
func (c Code) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, c.GoString())
	case verb == 'q':
		fmt.Fprintf(f, "%q", c.String())
	default:
		fmt.Fprint(f, c.String())
	}
}

// LogValue makes slog print the redacted form.
func (c Code) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalText is redacted too: a Code that ends up in JSON or a log
// record by accident does not leak. Use Plain to serialise on purpose.
func (c Code) MarshalText() ([]byte, error) { return []byte(c.String()), nil }
