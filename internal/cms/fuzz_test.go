package cms

import (
	"bytes"
	"testing"
)

// FuzzNormalize: the BER reader never panics and its output re-parses to
// the same definite form.
func FuzzNormalize(f *testing.F) {
	f.Add([]byte{0x30, 0x80, 0x24, 0x80, 0x04, 0x01, 'a', 0x00, 0x00, 0x00, 0x00})
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x05})
	f.Add([]byte{0x30, 0x81, 0x03, 0x02, 0x01, 0x05})
	f.Add([]byte{0x1f, 0x81, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Normalize(b)
		if err != nil {
			return
		}
		d2, err := Normalize(d)
		if err != nil || !bytes.Equal(d, d2) {
			t.Fatalf("normal form not stable: %v", err)
		}
	})
}

// FuzzOpen: decrypting and parsing arbitrary bytes never panics. The seeds
// are real DER and BER messages for bob.
func FuzzOpen(f *testing.F) {
	pki(f)
	for _, ber := range []bool{false, true} {
		m, err := Seal(payload, alice.key, alice.cert, bob.cert, &SignOptions{BER: ber}, &EncryptOptions{BER: ber})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m)
		s, _ := Sign(payload, alice.key, alice.cert, &SignOptions{BER: ber})
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if o, err := Open(b, []Recipient{{bob.cert, bob.key}}, nil, VerifyLenient); err == nil && o.Content == nil {
			t.Fatal("nil content without error")
		}
		if s, err := ParseSigned(b); err == nil {
			_ = s.VerifyWith(alice.cert)
		}
	})
}
