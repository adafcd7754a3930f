package kassenapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/kassenapitest"
)

func testPKI(t testing.TB) *kassenapitest.PKI {
	t.Helper()
	p, err := kassenapitest.DefaultPKI()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseKeyList(t *testing.T) {
	p := testPKI(t)
	kl, problems, err := kassenapi.ParseKeyList(p.KeyListFile())
	if err != nil {
		t.Fatal(err)
	}
	if kl.Len() != 5 || len(problems) != 2 {
		t.Fatalf("%d certs, problems %+v", kl.Len(), problems)
	}
	if problems[0].Reason != "no OU=IK<9 digits>" || problems[1].Reason != "not base64" {
		t.Fatalf("problems %+v", problems)
	}
	if n := len(kl.ForIK(kassenapitest.ClearingIKA)); n != 2 {
		t.Fatalf("%d certificates for A", n)
	}
	// The expired certificate comes first in the file; the valid one wins.
	c, err := kl.EncryptionCert(kassenapitest.ClearingIKA, time.Now())
	if err != nil || !c.Equal(p.Clearing[kassenapitest.ClearingIKA].Cert) {
		t.Fatalf("encryption cert: %v", err)
	}
	// Back when only the older one was valid, it is chosen.
	c, err = kl.EncryptionCert(kassenapitest.ClearingIKA, time.Now().Add(-500*24*time.Hour))
	if err != nil || !c.Equal(p.ExpiredClearingA.Cert) {
		t.Fatalf("old cert: %v", err)
	}
	if _, err := kl.EncryptionCert("990000999", time.Now()); !errors.Is(err, kassenapi.ErrNoCertificate) {
		t.Fatalf("unknown IK: %v", err)
	}
	if got := kl.ByIssuerSerial(p.Manufacturer.Cert.RawIssuer, p.Manufacturer.Cert.SerialNumber); got == nil || !got.Equal(p.Manufacturer.Cert) {
		t.Fatal("issuer+serial lookup")
	}
	if kl.ByIssuerSerial(p.Rogue.Cert.RawIssuer, p.Rogue.Cert.SerialNumber) != nil {
		t.Fatal("rogue found")
	}
}

func TestParseKeyListTolerance(t *testing.T) {
	p := testPKI(t)
	b64 := base64.StdEncoding.EncodeToString(p.Clearing[kassenapitest.ClearingIKB].Cert.Raw)
	var in strings.Builder
	in.WriteString("\r\n\r\n   \r\n")
	for len(b64) > 64 {
		in.WriteString(b64[:64] + "   \r\n")
		b64 = b64[64:]
	}
	in.WriteString(b64 + "\r\n\r\n\r\n")
	in.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Manufacturer.Cert.Raw}))
	in.WriteString("AAAA\n\n")
	kl, problems, err := kassenapi.ParseKeyList([]byte(in.String()))
	if err != nil || kl.Len() != 2 || len(problems) != 1 || problems[0].Reason != "not a DER certificate" {
		t.Fatalf("%v %v %+v", err, kl, problems)
	}
	if _, _, err := kassenapi.ParseKeyList([]byte("\n\nnot base64\n")); err == nil {
		t.Fatal("file without certificates accepted")
	}
}

func TestLoadIdentity(t *testing.T) {
	p := testPKI(t)
	// .p7c DER, .p7c PEM, and PEM certificates in any order.
	p7cPEM := pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: p.P7C()})
	for name, certs := range map[string][]byte{
		"p7c der": p.P7C(), "p7c pem": p7cPEM,
		"pem chain first": []byte(p.CAPEM() + p.ClientCertPEM()),
	} {
		id, err := kassenapi.LoadIdentity([]byte(p.ClientKeyPEM()), certs)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if id.IK != kassenapitest.ManufacturerIK || !id.Cert.Equal(p.Manufacturer.Cert) || len(id.Chain) == 0 {
			t.Fatalf("%s: %+v", name, id)
		}
	}
	if _, err := kassenapi.LoadIdentity([]byte(p.ClientKeyPEM()), []byte(p.CAPEM())); err == nil {
		t.Fatal("no matching certificate accepted")
	}
	if _, err := kassenapi.LoadIdentity([]byte("nope"), p.P7C()); err == nil {
		t.Fatal("bad key accepted")
	}
	caKey := []byte(strings.Replace(p.ClientKeyPEM(), "x", "x", 1))
	if _, err := kassenapi.LoadIdentity(caKey, []byte(p.CAPEM())); err == nil {
		t.Fatal("CA without IK accepted")
	}
}

// FuzzParseKeyList: the key-list parser never panics; accepted lists hold
// only certificates with an IK.
func FuzzParseKeyList(f *testing.F) {
	p := testPKI(f)
	f.Add(p.KeyListFile())
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add(bytes.Repeat([]byte("\r\n"), 10))
	f.Fuzz(func(t *testing.T, b []byte) {
		kl, _, err := kassenapi.ParseKeyList(b)
		if err != nil {
			return
		}
		for _, c := range kl.All() {
			if kassenapi.IKOf(c.Cert) != c.IK || len(c.IK) != 9 {
				t.Fatal("certificate without IK accepted")
			}
		}
	})
}
