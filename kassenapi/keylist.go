package kassenapi

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/digakit/digakit/internal/cms"
)

// ErrNoCertificate: the key list has no certificate valid now for the
// clearing office IK (spec A4; class Config).
var ErrNoCertificate = errors.New("kassenapi: no valid certificate for the clearing office")

// MaxKeyListSize caps a key-list file.
const MaxKeyListSize = 16 << 20

var ouIK = regexp.MustCompile(`^IK([0-9]{9})$`)

// KeyCert is one certificate of the ITSG key list with the IK taken from
// its subject OU=IK<9 digits> (spec A2.7).
type KeyCert struct {
	IK   string
	Cert *x509.Certificate
}

// KeyList is an immutable, indexed ITSG key list ("annahme-rsa4096.key").
// It is safe for concurrent use.
type KeyList struct {
	certs []KeyCert
	byIK  map[string][]int
}

// IKOf returns the IK of a certificate's subject OU=IK<9 digits>, or "".
func IKOf(c *x509.Certificate) string {
	for _, ou := range c.Subject.OrganizationalUnit {
		if m := ouIK.FindStringSubmatch(strings.TrimSpace(ou)); m != nil {
			return m[1]
		}
	}
	return ""
}

// ParseKeyList parses an ITSG key list: base64 DER certificates without
// PEM armour, separated by blank lines; CRLF, trailing spaces, repeated
// blank lines and stray PEM armour are tolerated (spec A2.7). A block that
// is not base64 or DER, or has no OU=IK…, is skipped with a problem (spec
// A4). The file is rejected when no certificate is usable.
//
// REQ: kassenapi-spec:A2.7
func ParseKeyList(b []byte) (*KeyList, []EntryProblem, error) {
	if len(b) > MaxKeyListSize {
		return nil, nil, fmt.Errorf("kassenapi: key list larger than %d bytes", MaxKeyListSize)
	}
	var blocks []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			blocks = append(blocks, cur.String())
			cur.Reset()
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), MaxKeyListSize)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "", strings.HasPrefix(line, "-----"):
			flush()
		default:
			cur.WriteString(line)
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("kassenapi: key list: %w", err)
	}
	kl := &KeyList{byIK: map[string][]int{}}
	var problems []EntryProblem
	for i, blk := range blocks {
		der, err := base64.StdEncoding.DecodeString(blk)
		if err != nil {
			problems = append(problems, EntryProblem{Index: i, Field: "base64", Reason: "not base64", Fatal: true})
			continue
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			problems = append(problems, EntryProblem{Index: i, Field: "certificate", Reason: "not a DER certificate", Fatal: true})
			continue
		}
		ik := IKOf(cert)
		if ik == "" {
			problems = append(problems, EntryProblem{Index: i, Field: "subject", Reason: "no OU=IK<9 digits>", Fatal: true})
			continue
		}
		kl.byIK[ik] = append(kl.byIK[ik], len(kl.certs))
		kl.certs = append(kl.certs, KeyCert{IK: ik, Cert: cert})
	}
	if len(kl.certs) == 0 {
		return nil, problems, errors.New("kassenapi: key list has no usable certificate")
	}
	return kl, problems, nil
}

// NewKeyList builds a key list from certificates (tests, LDAP).
// Certificates without OU=IK… are ignored.
func NewKeyList(certs ...*x509.Certificate) *KeyList {
	kl := &KeyList{byIK: map[string][]int{}}
	for _, c := range certs {
		if ik := IKOf(c); ik != "" {
			kl.byIK[ik] = append(kl.byIK[ik], len(kl.certs))
			kl.certs = append(kl.certs, KeyCert{IK: ik, Cert: c})
		}
	}
	return kl
}

// Len is the number of certificates.
func (k *KeyList) Len() int { return len(k.certs) }

// All returns every certificate in file order.
func (k *KeyList) All() []KeyCert { return slices.Clone(k.certs) }

// ForIK returns all certificates of ik in file order.
func (k *KeyList) ForIK(ik string) []*x509.Certificate {
	if k == nil {
		return nil
	}
	var out []*x509.Certificate
	for _, i := range k.byIK[ik] {
		out = append(out, k.certs[i].Cert)
	}
	return out
}

// ByIssuerSerial finds a certificate by its DER issuer and serial number.
func (k *KeyList) ByIssuerSerial(rawIssuer []byte, serial *big.Int) *x509.Certificate {
	if k == nil {
		return nil
	}
	for _, c := range k.certs {
		if bytes.Equal(c.Cert.RawIssuer, rawIssuer) && c.Cert.SerialNumber.Cmp(serial) == 0 {
			return c.Cert
		}
	}
	return nil
}

// EncryptionCert returns the certificate of ik valid at `at` with the
// latest NotBefore (not the last one in the file; spec A2.7), or
// ErrNoCertificate.
//
// REQ: kassenapi-spec:A2.7
func (k *KeyList) EncryptionCert(ik string, at time.Time) (*x509.Certificate, error) {
	var best *x509.Certificate
	for _, c := range k.ForIK(ik) {
		if at.Before(c.NotBefore) || at.After(c.NotAfter) {
			continue
		}
		if best == nil || c.NotBefore.After(best.NotBefore) {
			best = c
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w (IK %s)", ErrNoCertificate, ik)
	}
	return best, nil
}

// KeyPair is a private key with its certificate.
type KeyPair struct {
	Cert *x509.Certificate
	Key  interface {
		crypto.Signer
		crypto.Decrypter
	}
}

// Identity is the manufacturer's own ITSG identity: it signs requests, is
// the TLS client certificate (with Chain) and decrypts answers together
// with Previous pairs kept after a roll-over (spec A2.6, A2.7).
type Identity struct {
	IK    string
	Cert  *x509.Certificate
	Chain []*x509.Certificate // CA certificates after Cert, for TLS
	Key   interface {
		crypto.Signer
		crypto.Decrypter
	}
	Previous []KeyPair
}

// LoadIdentity reads a private key (PEM, PKCS#1 or PKCS#8) and the ITSG
// certificates (a .p7c in DER or PEM, or PEM CERTIFICATE blocks). The
// end-entity certificate is the one whose public key matches the key; its
// subject must carry OU=IK<ik>.
//
// REQ: kassenapi-spec:A2.7
func LoadIdentity(keyPEM, certs []byte) (*Identity, error) {
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		return nil, err
	}
	all, err := parseCertBundle(certs)
	if err != nil {
		return nil, err
	}
	id := &Identity{Key: key}
	for _, c := range all {
		if pk, ok := c.PublicKey.(*rsa.PublicKey); ok && pk.Equal(key.Public()) && id.Cert == nil {
			id.Cert = c
		} else {
			id.Chain = append(id.Chain, c)
		}
	}
	if id.Cert == nil {
		return nil, errors.New("kassenapi: no certificate matches the private key")
	}
	if id.IK = IKOf(id.Cert); id.IK == "" {
		return nil, errors.New("kassenapi: own certificate has no OU=IK<9 digits>")
	}
	if n := key.PublicKey.N.BitLen(); n < cms.MinRSABits {
		return nil, fmt.Errorf("kassenapi: own RSA key has %d bits, need at least %d", n, cms.MinRSABits)
	}
	return id, nil
}

func parsePrivateKey(b []byte) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("kassenapi: private key is not PEM")
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, errors.New("kassenapi: private key is neither PKCS#1 nor PKCS#8")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("kassenapi: private key is not RSA")
	}
	return rk, nil
}

func parseCertBundle(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("kassenapi: certificate: %w", err)
			}
			out = append(out, c)
		case "PKCS7", "CMS":
			cs, err := cms.ParseCertificates(blk.Bytes)
			if err != nil {
				return nil, err
			}
			out = append(out, cs...)
		}
	}
	if len(out) == 0 && len(b) > 0 && b[0] == 0x30 {
		cs, err := cms.ParseCertificates(b)
		if err != nil {
			return nil, err
		}
		out = cs
	}
	if len(out) == 0 {
		return nil, errors.New("kassenapi: no certificates found")
	}
	return out, nil
}

// recipients lists the current and previous key pairs for decryption.
func (id *Identity) recipients() []cms.Recipient {
	r := []cms.Recipient{{Cert: id.Cert, Key: id.Key}}
	for _, p := range id.Previous {
		r = append(r, cms.Recipient{Cert: p.Cert, Key: p.Key})
	}
	return r
}
