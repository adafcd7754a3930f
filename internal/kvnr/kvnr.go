package kvnr

import (
	"errors"
	"log/slog"
)

// Length is the number of characters of a KVNR.
const Length = 10

var (
	// ErrFormat means the value does not match ^[A-Z][0-9]{9}$.
	ErrFormat = errors.New("kvnr: invalid format")
	// ErrCheckDigit means the format is right but the check digit is wrong.
	ErrCheckDigit = errors.New("kvnr: invalid check digit")
)

// Validate checks format and check digit of s. It returns nil, ErrFormat
// or ErrCheckDigit; the error never contains s.
//
// REQ: mio-spec:2.7, gidrp-spec:2.8
func Validate(s string) error {
	if err := ValidateFormat(s); err != nil {
		return err
	}
	want, _ := CheckDigit(s[:Length-1])
	if s[Length-1]-'0' != want {
		return ErrCheckDigit
	}
	return nil
}

// ValidateFormat checks only the pattern ^[A-Z][0-9]{9}$ (FHIR kvid-1).
func ValidateFormat(s string) error {
	if len(s) != Length || s[0] < 'A' || s[0] > 'Z' {
		return ErrFormat
	}
	for i := 1; i < Length; i++ {
		if s[i] < '0' || s[i] > '9' {
			return ErrFormat
		}
	}
	return nil
}

// Valid reports whether s is a KVNR with a correct check digit.
func Valid(s string) bool { return Validate(s) == nil }

// CheckDigit computes the check digit for the first nine characters of a
// KVNR (a letter and eight digits). It returns ErrFormat for other input.
func CheckDigit(prefix string) (byte, error) {
	if len(prefix) != Length-1 || prefix[0] < 'A' || prefix[0] > 'Z' {
		return 0, ErrFormat
	}
	pos := int(prefix[0]-'A') + 1
	digits := [Length]int{pos / 10, pos % 10}
	for i := 1; i < Length-1; i++ {
		c := prefix[i]
		if c < '0' || c > '9' {
			return 0, ErrFormat
		}
		digits[i+1] = int(c - '0')
	}
	sum := 0
	for i, d := range digits {
		p := d * (1 + i%2)
		sum += p/10 + p%10
	}
	return byte(sum % 10), nil
}

// KVNR is a validated-on-demand KVNR string that never prints itself:
// String, GoString, Format via %v and slog all yield a redacted form.
// Use [KVNR.Reveal] where the raw value is needed (FHIR identifiers).
type KVNR string

// Redacted is what a KVNR prints as.
const Redacted = "[KVNR redacted]"

// String returns a redacted placeholder, never the number.
func (k KVNR) String() string { return Redacted }

// GoString returns a redacted placeholder for %#v.
func (k KVNR) GoString() string { return Redacted }

// LogValue implements slog.LogValuer with the redacted placeholder.
func (k KVNR) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalText redacts the value, so that a KVNR accidentally put into a
// JSON log record does not leak.
func (k KVNR) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// Reveal returns the raw number.
func (k KVNR) Reveal() string { return string(k) }

// Validate checks format and check digit.
func (k KVNR) Validate() error { return Validate(string(k)) }
