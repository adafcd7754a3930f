package mio

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// Decimal is a FHIR decimal kept as its exact text: precision is
// significant (21.0 is not 21), so a value never passes through float64.
// The zero Decimal is "absent".
type Decimal struct{ s string }

// ErrDecimalSyntax is returned by ParseDecimal.
var errDecimalSyntax = errors.New("mio: invalid decimal")

// ParseDecimal accepts -?(0|[1-9][0-9]*)(\.[0-9]+)? with at most 18
// significant digits, no exponent and no negative zero.
//
// REQ: mio-spec:2.8
func ParseDecimal(s string) (Decimal, error) {
	if !validDecimal(s) {
		return Decimal{}, errDecimalSyntax
	}
	return Decimal{s}, nil
}

// MustDecimal is ParseDecimal that panics; for constants in tests and
// examples only.
func MustDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DecimalFromInt returns the decimal text of i.
func DecimalFromInt(i int64) Decimal { return Decimal{strconv.FormatInt(i, 10)} }

// DecimalFromFloat formats f with a fixed number of fraction digits
// (scale); NaN and infinities are rejected.
func DecimalFromFloat(f float64, scale int) (Decimal, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || scale < 0 || scale > 17 {
		return Decimal{}, errDecimalSyntax
	}
	s := strconv.FormatFloat(f, 'f', scale, 64)
	if strings.TrimLeft(s, "-0.") == "" && strings.HasPrefix(s, "-") {
		s = s[1:]
	}
	return ParseDecimal(s)
}

// String returns the exact text.
func (d Decimal) String() string { return d.s }

// IsZero reports whether the decimal is absent.
func (d Decimal) IsZero() bool { return d.s == "" }

// Float returns the value as float64 for plausibility checks only.
func (d Decimal) Float() float64 {
	f, _ := strconv.ParseFloat(d.s, 64)
	return f
}

func validDecimal(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intLen := i - start
	if intLen == 0 || (intLen > 1 && s[start] == '0') {
		return false
	}
	sig := intLen
	if i < len(s) {
		if s[i] != '.' {
			return false
		}
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == fs || i != len(s) {
			return false
		}
		sig += i - fs
	}
	if sig > 18 {
		return false
	}
	if s[0] == '-' && strings.Trim(s[1:], "0.") == "" {
		return false // negative zero
	}
	return true
}

// MarshalJSON writes the decimal as a JSON string.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(d.s)), nil }

// UnmarshalJSON accepts a JSON string or a JSON number; the literal text
// is kept byte for byte.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s := string(b)
	if strings.HasPrefix(s, `"`) {
		u, err := strconv.Unquote(s)
		if err != nil {
			return errDecimalSyntax
		}
		s = u
	}
	d.s = s // validated in Validate with a path
	return nil
}
