package billing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/digakit/digakit/kassenapi"
)

// DigestDomain is the domain-separation string of the code digest (spec
// B3.1): CodeDigest = HMAC-SHA-256(K, "digakit/fsc/v1" || 0x00 || code).
const DigestDomain = "digakit/fsc/v1"

// MaxDigestKeys bounds the configured digest keys: the current one plus
// lookup keys during a rotation (spec B3.1).
const MaxDigestKeys = 3

// Digest is the keyed digest of one Freischaltcode under one key. It is
// the only link between the account database and the billing database.
type Digest struct {
	KeyID string
	Sum   [32]byte
}

// CodeID is the lower-case hex of the first 8 bytes of the digest: the
// only code reference allowed in logs, metrics and audit events.
func (d Digest) CodeID() string { return hex.EncodeToString(d.Sum[:8]) }

// String returns the key id and the code id, never the full digest.
func (d Digest) String() string { return d.KeyID + ":" + d.CodeID() }

// DigestKey is one HMAC key (refserver key "hmac-fsc").
type DigestKey struct {
	ID     string
	Secret []byte // at least 32 random bytes
}

// KeyProvider supplies the digest keys: the first is current (new rows),
// all (at most MaxDigestKeys) are tried on lookups. The refserver reads
// them from its key source; they are stored in neither database.
type KeyProvider interface {
	DigestKeys() []DigestKey
}

// StaticKeys is a fixed KeyProvider.
type StaticKeys []DigestKey

// DigestKeys returns the keys.
func (s StaticKeys) DigestKeys() []DigestKey { return s }

// Digester computes code digests.
type Digester struct {
	keys KeyProvider
}

// NewDigester checks the keys of p (1 to MaxDigestKeys, ids unique and
// non-empty, secrets of at least 32 bytes) and returns a Digester.
//
// REQ: kassenapi-spec:B3.1
func NewDigester(p KeyProvider) (*Digester, error) {
	if p == nil {
		return nil, errors.New("billing: no digest key provider")
	}
	if err := checkKeys(p.DigestKeys()); err != nil {
		return nil, err
	}
	return &Digester{keys: p}, nil
}

func checkKeys(ks []DigestKey) error {
	if len(ks) == 0 || len(ks) > MaxDigestKeys {
		return fmt.Errorf("billing: need 1 to %d digest keys, have %d", MaxDigestKeys, len(ks))
	}
	seen := map[string]bool{}
	for i, k := range ks {
		if k.ID == "" || seen[k.ID] {
			return fmt.Errorf("billing: digest key %d: id empty or repeated", i)
		}
		if len(k.Secret) < 32 {
			return fmt.Errorf("billing: digest key %q: secret shorter than 32 bytes", k.ID)
		}
		seen[k.ID] = true
	}
	return nil
}

// Digests returns the digest of code under every configured key, the
// current key first.
func (g *Digester) Digests(code kassenapi.Code) ([]Digest, error) {
	ks := g.keys.DigestKeys()
	if err := checkKeys(ks); err != nil {
		return nil, err
	}
	out := make([]Digest, len(ks))
	for i, k := range ks {
		out[i] = Digest{KeyID: k.ID, Sum: digest(k.Secret, code.Plain())}
	}
	return out, nil
}

func digest(key []byte, code string) [32]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(DigestDomain))
	m.Write([]byte{0})
	m.Write([]byte(code))
	var s [32]byte
	copy(s[:], m.Sum(nil))
	return s
}
