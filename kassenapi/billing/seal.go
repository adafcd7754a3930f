package billing

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// Sealer encrypts values of the billing database (plain code, invoice
// XML, reports, protocol codes; spec B3.1 "Field encryption"). aad binds a
// ciphertext to its place (table, column, natural key).
type Sealer interface {
	Seal(aad, plaintext []byte) ([]byte, error)
	Open(aad, ciphertext []byte) ([]byte, error)
}

// ErrSeal is returned when a value cannot be opened (wrong key, wrong
// place, tampering). It carries no data.
var ErrSeal = errors.New("billing: sealed value cannot be opened")

// AESSealer is AES-256-GCM with a key id per value and a random 96-bit
// nonce (refserver key "billing-seal"). The format is
// 0x01 | len(keyID) | keyID | nonce | ciphertext+tag.
type AESSealer struct {
	current string
	keys    map[string]cipher.AEAD
	rand    io.Reader
}

// NewAESSealer builds a sealer: keys maps key ids to 32-byte keys,
// current names the key for new values. rnd nil means crypto/rand.
//
// REQ: kassenapi-spec:B3.1
func NewAESSealer(current string, keys map[string][]byte, rnd io.Reader) (*AESSealer, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	s := &AESSealer{current: current, keys: map[string]cipher.AEAD{}, rand: rnd}
	for id, k := range keys {
		if id == "" || len(id) > 255 {
			return nil, errors.New("billing: seal key id empty or too long")
		}
		if len(k) != 32 {
			return nil, fmt.Errorf("billing: seal key %q must have 32 bytes", id)
		}
		b, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		g, err := cipher.NewGCM(b)
		if err != nil {
			return nil, err
		}
		s.keys[id] = g
	}
	if _, ok := s.keys[current]; !ok {
		return nil, errors.New("billing: current seal key missing")
	}
	return s, nil
}

// Seal encrypts plaintext under the current key.
func (s *AESSealer) Seal(aad, plaintext []byte) ([]byte, error) {
	g := s.keys[s.current]
	out := make([]byte, 0, 2+len(s.current)+12+len(plaintext)+16)
	out = append(out, 1, byte(len(s.current)))
	out = append(out, s.current...)
	nonce := make([]byte, 12)
	if _, err := io.ReadFull(s.rand, nonce); err != nil {
		return nil, fmt.Errorf("billing: nonce: %w", err)
	}
	out = append(out, nonce...)
	return g.Seal(out, nonce, plaintext, aad), nil
}

// Open decrypts a value sealed by Seal under any configured key.
func (s *AESSealer) Open(aad, ct []byte) ([]byte, error) {
	if len(ct) < 2 || ct[0] != 1 {
		return nil, ErrSeal
	}
	n := int(ct[1])
	if len(ct) < 2+n+12+16 {
		return nil, ErrSeal
	}
	g, ok := s.keys[string(ct[2:2+n])]
	if !ok {
		return nil, ErrSeal
	}
	nonce := ct[2+n : 2+n+12]
	pt, err := g.Open(nil, nonce, ct[2+n+12:], aad)
	if err != nil {
		return nil, ErrSeal
	}
	return pt, nil
}

// aad builds the associated data of a sealed column.
func aad(table, column, key string) []byte {
	return []byte(table + "\x00" + column + "\x00" + key)
}
