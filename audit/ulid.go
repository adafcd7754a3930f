package audit

import (
	"fmt"
	"io"
	"time"
)

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newULID returns a ULID whose time part is t (ms) and whose 80-bit random
// part comes from r.
func newULID(t time.Time, r io.Reader) (string, error) {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	if _, err := io.ReadFull(r, b[6:]); err != nil {
		return "", fmt.Errorf("audit: random source: %w", err)
	}
	// 128 bits -> 26 Crockford base32 characters; the first character
	// carries 2 zero bits and the top 3 bits.
	var out [26]byte
	pos := -2
	for c := range out {
		var v byte
		for range 5 {
			v <<= 1
			if pos >= 0 {
				v |= (b[pos/8] >> (7 - uint(pos%8))) & 1
			}
			pos++
		}
		out[c] = crockford[v]
	}
	return string(out[:]), nil
}
