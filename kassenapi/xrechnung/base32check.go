package xrechnung

import "crypto/subtle"

// base32Check1Valid reports whether a 16-character Freischaltcode passes
// the GKV check character "Base32Check1" (Anhang 3, spec A2.2): the sum
// over i of a_i * P^(i mod 31) over GF(2)^5 is zero, with P the matrix of
// the primitive polynomial 1 + x + x^3 + x^4 + x^5.
func base32Check1Valid(code string) bool {
	var s byte
	for i := 0; i < len(code); i++ {
		a, ok := b32index(code[i])
		if !ok {
			return false
		}
		s ^= mulPow(a, (i+1)%31)
	}
	return s == 0
}

var checkRows = [5]byte{0x01, 0x11, 0x08, 0x05, 0x03}

// mulP multiplies the 5-bit row vector v by P.
func mulP(v byte) byte {
	var out byte
	for j := 0; j < 5; j++ {
		if v&(1<<(4-j)) != 0 {
			out ^= checkRows[j]
		}
	}
	return out
}

func mulPow(v byte, e int) byte {
	for ; e > 0; e-- {
		v = mulP(v)
	}
	return v
}

func b32index(c byte) (byte, bool) {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A', true
	case c >= '2' && c <= '7':
		return c - '2' + 26, true
	}
	return 0, false
}

// equalCode compares two codes in constant time for equal lengths.
func equalCode(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
