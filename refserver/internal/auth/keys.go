package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// SigningKey is one ES256 signing key with its key id and creation time.
type SigningKey struct {
	ID      string
	Created time.Time
	Private *ecdsa.PrivateKey
}

// KeyProvider supplies the OIDC signing keys: the current key for
// signing, and every public key that verifiers must still accept
// (current plus retired keys within their retention).
type KeyProvider interface {
	// Current returns the key to sign with.
	Current() (*SigningKey, error)
	// Public returns the JWKS: current and retained retired keys.
	Public() ([]jose.JSONWebKey, error)
}

// Key rotation defaults (§3.2.9).
const (
	DefaultKeyRotation  = 90 * 24 * time.Hour
	DefaultKeyRetention = 30 * 24 * time.Hour
)

// KeyRing is a KeyProvider over a set of keys, optionally backed by a
// directory (one PKCS#8 PEM file per key, mode 0600, named
// <created-unix>-<kid>.pem). The newest key signs; a new key is made
// when the newest is older than Rotation; retired keys are published
// until Retention after their successor took over.
type KeyRing struct {
	mu        sync.Mutex
	dir       string
	keys      []*SigningKey // oldest first
	now       func() time.Time
	rand      io.Reader
	Rotation  time.Duration
	Retention time.Duration
}

// NewMemoryKeyRing returns a key ring with one fresh key held in memory.
func NewMemoryKeyRing(now func() time.Time) (*KeyRing, error) {
	if now == nil {
		now = time.Now
	}
	k := &KeyRing{now: now, rand: rand.Reader, Rotation: DefaultKeyRotation, Retention: DefaultKeyRetention}
	if _, err := k.Rotate(); err != nil {
		return nil, err
	}
	return k, nil
}

// OpenKeyRing loads the keys in dir (created with mode 0700 if missing),
// generating the first key when there is none and rotating when the
// newest key is older than DefaultKeyRotation.
func OpenKeyRing(dir string, now func() time.Time) (*KeyRing, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, errors.New("auth: cannot create the signing key directory")
	}
	k := &KeyRing{dir: dir, now: now, rand: rand.Reader, Rotation: DefaultKeyRotation, Retention: DefaultKeyRetention}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, errors.New("auth: cannot read the signing key directory")
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".pem") {
			continue
		}
		created, kid, ok := strings.Cut(strings.TrimSuffix(name, ".pem"), "-")
		sec, err := strconv.ParseInt(created, 10, 64)
		if !ok || err != nil || kid == "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("auth: cannot read signing key %s", kid)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("auth: signing key %s is not PEM", kid)
		}
		pk, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		ec, ok := pk.(*ecdsa.PrivateKey)
		if err != nil || !ok || ec.Curve != elliptic.P256() {
			return nil, fmt.Errorf("auth: signing key %s is not a P-256 key", kid)
		}
		k.keys = append(k.keys, &SigningKey{ID: kid, Created: time.Unix(sec, 0).UTC(), Private: ec})
	}
	sort.Slice(k.keys, func(i, j int) bool { return k.keys[i].Created.Before(k.keys[j].Created) })
	if len(k.keys) == 0 || now().Sub(k.keys[len(k.keys)-1].Created) >= k.Rotation {
		if _, err := k.Rotate(); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Rotate generates a new current key (and writes it when the ring has a
// directory). The previous key stays published for Retention.
func (k *KeyRing) Rotate() (*SigningKey, error) {
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, errors.New("auth: key generation failed")
	}
	kid, err := randText(k.rand, 16)
	if err != nil {
		return nil, err
	}
	sk := &SigningKey{ID: strings.ToLower(kid), Created: k.now().UTC().Truncate(time.Second), Private: pk}
	if k.dir != "" {
		der, err := x509.MarshalPKCS8PrivateKey(pk)
		if err != nil {
			return nil, errors.New("auth: key encoding failed")
		}
		name := filepath.Join(k.dir, strconv.FormatInt(sk.Created.Unix(), 10)+"-"+sk.ID+".pem")
		if err := os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, errors.New("auth: cannot write the signing key")
		}
	}
	k.mu.Lock()
	k.keys = append(k.keys, sk)
	k.mu.Unlock()
	return sk, nil
}

// Current returns the newest key.
func (k *KeyRing) Current() (*SigningKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.keys) == 0 {
		return nil, errors.New("auth: no signing key")
	}
	return k.keys[len(k.keys)-1], nil
}

// Public returns the public keys of the current key and of every retired
// key whose successor took over less than Retention ago.
func (k *KeyRing) Public() ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	var out []jose.JSONWebKey
	for i, sk := range k.keys {
		if i < len(k.keys)-1 && now.Sub(k.keys[i+1].Created) > k.Retention {
			continue
		}
		out = append(out, jose.JSONWebKey{Key: &sk.Private.PublicKey, KeyID: sk.ID, Algorithm: string(jose.ES256), Use: "sig"})
	}
	return out, nil
}

// LoadOrCreateKeys reads the service's symmetric keys from dir
// (auth-<name>.key, 32 random bytes, mode 0600), creating missing ones.
func LoadOrCreateKeys(dir string) (Keys, error) {
	var ks Keys
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return ks, errors.New("auth: cannot create the key directory")
	}
	for _, e := range []struct {
		name string
		dst  *[32]byte
	}{{"username", &ks.Username}, {"probe", &ks.Probe}, {"seal", &ks.Seal}, {"op-crypto", &ks.OPCrypto}} {
		p := filepath.Join(dir, "auth-"+e.name+".key")
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			b = make([]byte, 32)
			if _, err := rand.Read(b); err != nil {
				return ks, errors.New("auth: random source failed")
			}
			if err := os.WriteFile(p, b, 0o600); err != nil {
				return ks, fmt.Errorf("auth: cannot write key %s", e.name)
			}
		} else if err != nil {
			return ks, fmt.Errorf("auth: cannot read key %s", e.name)
		}
		if len(b) != 32 {
			return ks, fmt.Errorf("auth: key %s has the wrong length", e.name)
		}
		copy(e.dst[:], b)
	}
	return ks, nil
}

// RandomKeys returns fresh in-memory keys (tests, examples).
func RandomKeys() Keys {
	var ks Keys
	for _, k := range []*[32]byte{&ks.Username, &ks.Probe, &ks.Seal, &ks.OPCrypto} {
		_, _ = rand.Read(k[:])
	}
	return ks
}
