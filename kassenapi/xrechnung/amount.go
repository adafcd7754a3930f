package xrechnung

import (
	"math/big"
	"regexp"
	"strconv"
)

// MaxNetCents bounds the net amount of one invoice (one billion euro) so
// that every amount computation stays far inside int64.
const MaxNetCents = 100_000_000_000

// TaxCents returns the VAT for net cents at rateBP basis points, rounded
// commercially half-up to the cent: (net*rate + 5000) / 10000 (spec B2.1).
// The reference client rounds half-even; the two differ only on exact
// ties such as 1.50 EUR at 19 % (0.285 → 0.29 here, 0.28 there). Half-up
// is what EN 16931 BR-CO-17 tooling and German commercial practice expect.
// net must be in [0, MaxNetCents] and rateBP in [0, 10000].
func TaxCents(net int64, rateBP int) int64 {
	return (net*int64(rateBP) + 5000) / 10000
}

// FormatCents renders cents as a decimal with exactly two digits after a
// "." and no grouping ("1133.33", "-0.05").
func FormatCents(c int64) string {
	neg := c < 0
	u := uint64(c)
	if neg {
		u = uint64(-c)
	}
	s := strconv.FormatUint(u/100, 10) + "." + string(rune('0'+u%100/10)) + string(rune('0'+u%10))
	if neg {
		return "-" + s
	}
	return s
}

// xsdDecimal is the lexical space of xs:decimal.
var xsdDecimal = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)

// parseDecimal parses an xs:decimal (after whitespace collapse) exactly.
func parseDecimal(s string) (*big.Rat, bool) {
	if len(s) > 64 || !xsdDecimal.MatchString(s) {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// fmtRat renders r with two decimals, for messages.
func fmtRat(r *big.Rat) string { return r.FloatString(2) }

// roundHalfUp2 rounds r to two decimals, halves away from zero (the
// EN 16931 rounding of BR-S-09 etc., XPath round()).
func roundHalfUp2(r *big.Rat) *big.Rat {
	x := new(big.Rat).Mul(r, big.NewRat(100, 1))
	num, den := x.Num(), x.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	twice := new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2))
	if twice.Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return new(big.Rat).SetFrac(q, big.NewInt(100))
}
