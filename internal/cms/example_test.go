package cms_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/digakit/digakit/internal/cms"
)

func selfSigned(cn string) (*rsa.PrivateKey, *x509.Certificate) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		SignatureAlgorithm: x509.SHA256WithRSAPSS,
	}
	raw, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(raw)
	return key, cert
}

// Seal a message for an insurer and open it on the other side.
func Example() {
	makerKey, makerCert := selfSigned("manufacturer")
	insurerKey, insurerCert := selfSigned("clearing office")

	msg, err := cms.Seal([]byte("<xml/>"), makerKey, makerCert, insurerCert, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	opened, err := cms.Open(msg, []cms.Recipient{{Cert: insurerCert, Key: insurerKey}},
		[]*x509.Certificate{makerCert}, cms.VerifyStrict)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s signed by %s\n", opened.Content, opened.Signer.Subject.CommonName)
	fmt.Println(opened.Envelope.ContentCipher.Equal(cms.OIDAES256CBC), opened.Signed.Signers[0].PSSSaltLength)
	// Output:
	// <xml/> signed by manufacturer
	// true 32
}
