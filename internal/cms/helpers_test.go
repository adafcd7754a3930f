package cms

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testID is a key pair with a PSS-signed certificate from the test CA.
type testID struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

var (
	pkiOnce                 sync.Once
	testCA, alice, bob, eve testID
)

func issue(t testing.TB, bits int, cn string, serial int64, parent *testID) testID {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:       big.NewInt(serial),
		Subject:            pkix.Name{Country: []string{"DE"}, Organization: []string{"TEST ITSG TrustCenter fuer sonstige Leistungserbringer"}, OrganizationalUnit: []string{"IK99000" + cn[len(cn)-4:]}, CommonName: cn},
		NotBefore:          time.Now().Add(-time.Hour),
		NotAfter:           time.Now().Add(24 * time.Hour),
		SignatureAlgorithm: x509.SHA256WithRSAPSS,
	}
	signerKey, signerCert := key, tmpl
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign
	} else {
		signerKey, signerCert = parent.key, parent.cert
	}
	raw, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(raw)
	if err != nil {
		t.Fatal(err)
	}
	return testID{key, cert}
}

func pki(t testing.TB) {
	t.Helper()
	pkiOnce.Do(func() {
		testCA = issue(t, 2048, "Test CA 0000", 1, nil)
		alice = issue(t, 2048, "alice 0018", 2, &testCA)
		bob = issue(t, 2048, "bob 0200", 3, &testCA)
		eve = issue(t, 2048, "eve 0300", 4, &testCA)
	})
}

// writePEM writes the identity to dir and returns cert and key paths.
func writePEM(t testing.TB, dir, name string, id testID) (certPath, keyPath string) {
	t.Helper()
	certPath = filepath.Join(dir, name+".crt")
	keyPath = filepath.Join(dir, name+".key")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(id.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}
