package kassenapitest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"

	"github.com/digakit/digakit/internal/cms"
	"github.com/digakit/digakit/kassenapi"
)

// Clearing-office IKs of the fake Kommunikationsstellen (spec A5).
const (
	ClearingIKA = "990000200" // fake A
	ClearingIKB = "990000300" // fake B
)

// testOrg is the organisation of the fake trust center (spec A5).
const testOrg = "TEST ITSG TrustCenter fuer sonstige Leistungserbringer"

// Party is a key pair with its certificate.
type Party struct {
	IK   string
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
}

// PKI is a generated test PKI in the shape of the ITSG trust center: a root,
// an issuing CA, PSS-signed end-entity certificates without KeyUsage and
// with OU=IK<ik> (spec A2.7, A5).
//
// REQ: kassenapi-spec:A5
type PKI struct {
	Root, CA *Party
	// Manufacturer is the manufacturer's current identity; Previous its
	// former one (still valid, for roll-over tests).
	Manufacturer, Previous *Party
	// Clearing holds the current clearing-office identities by IK.
	Clearing map[string]*Party
	// ExpiredClearingA is an older, expired certificate of ClearingIKA.
	ExpiredClearingA *Party
	// Rogue signs with a certificate that is not in the key list.
	Rogue *Party
	// Server is the TLS server identity for 127.0.0.1 and localhost.
	Server *Party
	// Now is the reference time of the certificates.
	Now time.Time
}

// PKIOptions configure NewPKI.
type PKIOptions struct {
	// Bits is the RSA size; default 2048 for speed (the real ITSG keys
	// have 4096 bits).
	Bits int
	// Keys, when set, are used in order instead of generating keys (e.g.
	// RSA-4096 keys from testdata). Missing keys are generated.
	Keys []*rsa.PrivateKey
	// Now is the reference time; default time.Now.
	Now time.Time
}

var (
	defaultPKIOnce sync.Once
	defaultPKI     *PKI
	defaultPKIErr  error
)

// DefaultPKI returns a process-wide RSA-2048 PKI, generated once.
func DefaultPKI() (*PKI, error) {
	defaultPKIOnce.Do(func() { defaultPKI, defaultPKIErr = NewPKI(PKIOptions{}) })
	return defaultPKI, defaultPKIErr
}

// NewPKI generates a PKI.
func NewPKI(o PKIOptions) (*PKI, error) {
	if o.Bits == 0 {
		o.Bits = 2048
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	keys := o.Keys
	next := func() (*rsa.PrivateKey, error) {
		if len(keys) > 0 {
			k := keys[0]
			keys = keys[1:]
			return k, nil
		}
		return rsa.GenerateKey(rand.Reader, o.Bits)
	}
	p := &PKI{Now: o.Now, Clearing: map[string]*Party{}}
	serial := int64(100)
	mk := func(parent *Party, ik, ou, cn string, from, until time.Time, ca bool, key *rsa.PrivateKey) (*Party, error) {
		var err error
		if key == nil {
			if key, err = next(); err != nil {
				return nil, err
			}
		}
		serial++
		subj := pkix.Name{Country: []string{"DE"}, Organization: []string{testOrg}, CommonName: cn}
		if ou != "" {
			subj.OrganizationalUnit = []string{ou}
		}
		if ik != "" {
			subj.OrganizationalUnit = append(subj.OrganizationalUnit, "IK"+ik)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: subj, NotBefore: from, NotAfter: until,
			SignatureAlgorithm: x509.SHA256WithRSAPSS,
		}
		if ca {
			tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
			tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		}
		signer, signerCert := key, tmpl
		if parent != nil {
			signer, signerCert = parent.Key, parent.Cert
		}
		raw, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
		if err != nil {
			return nil, err
		}
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return nil, err
		}
		return &Party{IK: ik, Key: key, Cert: c}, nil
	}
	now := o.Now
	year := 365 * 24 * time.Hour
	var err error
	if p.Root, err = mk(nil, "", "", "TEST ITSG Root CA", now.Add(-2*year), now.Add(10*year), true, nil); err != nil {
		return nil, err
	}
	if p.CA, err = mk(p.Root, "", "", "TEST ITSG CA sonstige Leistungserbringer", now.Add(-2*year), now.Add(5*year), true, nil); err != nil {
		return nil, err
	}
	if p.Manufacturer, err = mk(p.CA, ManufacturerIK, "Fake DiGA Hersteller", "Fake Hersteller Technik", now.Add(-24*time.Hour), now.Add(year), false, nil); err != nil {
		return nil, err
	}
	if p.Previous, err = mk(p.CA, ManufacturerIK, "Fake DiGA Hersteller", "Fake Hersteller Technik (alt)", now.Add(-year), now.Add(7*24*time.Hour), false, nil); err != nil {
		return nil, err
	}
	for _, ik := range []string{ClearingIKA, ClearingIKB} {
		if p.Clearing[ik], err = mk(p.CA, ik, "Fake Datenannahmestelle "+ik[6:], "Annahme "+ik, now.Add(-24*time.Hour), now.Add(year), false, nil); err != nil {
			return nil, err
		}
	}
	// Rogue signs answers with a certificate that is not in the key list.
	if p.Rogue, err = mk(p.CA, ClearingIKA, "Unbekannt", "Rogue signer", now.Add(-24*time.Hour), now.Add(year), false, nil); err != nil {
		return nil, err
	}
	if p.ExpiredClearingA, err = mk(p.CA, ClearingIKA, "Fake Datenannahmestelle 200", "Annahme 990000200 (abgelaufen)", now.Add(-2*year), now.Add(-year), false, p.Root.Key); err != nil {
		return nil, err
	}
	srv, err := mk(p.Root, "", "", "127.0.0.1", now.Add(-24*time.Hour), now.Add(year), false, p.CA.Key)
	if err != nil {
		return nil, err
	}
	// Re-issue the server certificate with SANs.
	tmpl := *srv.Cert
	tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	tmpl.DNSNames = []string{"localhost"}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	tmpl.SignatureAlgorithm = x509.SHA256WithRSAPSS
	raw, err := x509.CreateCertificate(rand.Reader, &tmpl, p.Root.Cert, &p.CA.Key.PublicKey, p.Root.Key)
	if err != nil {
		return nil, err
	}
	if srv.Cert, err = x509.ParseCertificate(raw); err != nil {
		return nil, err
	}
	p.Server = srv
	return p, nil
}

// Identity returns the manufacturer's identity with the CA chain and the
// previous key pair.
func (p *PKI) Identity() *kassenapi.Identity {
	return &kassenapi.Identity{
		IK: ManufacturerIK, Cert: p.Manufacturer.Cert, Key: p.Manufacturer.Key,
		Chain:    []*x509.Certificate{p.CA.Cert},
		Previous: []kassenapi.KeyPair{{Cert: p.Previous.Cert, Key: p.Previous.Key}},
	}
}

// LeafOnlyIdentity returns the manufacturer's identity without its CA
// chain: endpoints answer it with the TLS alert unknown_ca (spec A2.10).
func (p *PKI) LeafOnlyIdentity() *kassenapi.Identity {
	id := p.Identity()
	id.Chain = nil
	return id
}

// KeyListFile returns an ITSG-style key list (base64 DER without armour,
// 64 columns, blank-line separated, CRLF) with the clearing offices, the
// manufacturer (current and previous), an expired older certificate of
// ClearingIKA, one block without OU=IK… and one block of broken base64
// (spec A5).
func (p *PKI) KeyListFile() []byte {
	var b bytes.Buffer
	block := func(der []byte) {
		s := base64.StdEncoding.EncodeToString(der)
		for len(s) > 64 {
			b.WriteString(s[:64] + "\r\n")
			s = s[64:]
		}
		b.WriteString(s + "\r\n\r\n")
	}
	block(p.ExpiredClearingA.Cert.Raw)
	block(p.Clearing[ClearingIKA].Cert.Raw)
	block(p.Clearing[ClearingIKB].Cert.Raw)
	block(p.Manufacturer.Cert.Raw)
	block(p.Previous.Cert.Raw)
	block(p.CA.Cert.Raw) // no OU=IK…: skipped with a problem
	b.WriteString("This is not base64!\r\n\r\n")
	return b.Bytes()
}

// KeyList returns the parsed KeyListFile.
func (p *PKI) KeyList() *kassenapi.KeyList {
	kl, _, err := kassenapi.ParseKeyList(p.KeyListFile())
	if err != nil {
		panic(fmt.Sprintf("kassenapitest: own key list does not parse: %v", err)) // programming error
	}
	return kl
}

// P7C returns the manufacturer's certificate and chain as a .p7c (DER).
func (p *PKI) P7C() []byte {
	return cms.CertificatesOnly([]*x509.Certificate{p.Manufacturer.Cert, p.CA.Cert, p.Root.Cert})
}

// CAPEM returns the root certificate in PEM (trust anchor for the TLS
// server and the chains).
func (p *PKI) CAPEM() string { return certPEM(p.Root.Cert) }

// ClientCertPEM returns the manufacturer certificate followed by its CA.
func (p *PKI) ClientCertPEM() string { return certPEM(p.Manufacturer.Cert) + certPEM(p.CA.Cert) }

// ClientKeyPEM returns the manufacturer's private key (PKCS#8 PEM). It is
// a throw-away test key.
func (p *PKI) ClientKeyPEM() string { return keyPEM(p.Manufacturer.Key) }

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func keyPEM(k *rsa.PrivateKey) string {
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}
