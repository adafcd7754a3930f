package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var payload = []byte(`<?xml version="1.0" encoding="UTF-8"?><Pruefung_Freischaltcode/>`)

func bigPayload() []byte { return bytes.Repeat([]byte("0123456789abcdef"), 700) } // > 1000-byte chunks

func TestSealOpenRoundTrip(t *testing.T) {
	pki(t)
	for _, tc := range []struct {
		name string
		s    SignOptions
		e    EncryptOptions
		body []byte
	}{
		{"der", SignOptions{}, EncryptOptions{}, payload},
		{"ber indefinite chunked", SignOptions{BER: true}, EncryptOptions{BER: true}, bigPayload()},
		{"no signed attributes", SignOptions{NoSignedAttributes: true}, EncryptOptions{}, payload},
		{"empty content", SignOptions{}, EncryptOptions{}, []byte{}},
		{"pkcs1v15 key transport", SignOptions{}, EncryptOptions{PKCS1v15: true}, payload},
		{"salt 20 read from params", SignOptions{SaltLength: 20}, EncryptOptions{}, payload},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := Seal(tc.body, alice.key, alice.cert, bob.cert, &tc.s, &tc.e)
			if err != nil {
				t.Fatal(err)
			}
			if tc.s.BER && !bytes.Contains(msg[:4], []byte{0x30, 0x80}) {
				t.Fatalf("BER output does not start indefinite: % x", msg[:4])
			}
			o, err := Open(msg, []Recipient{{eve.cert, eve.key}, {bob.cert, bob.key}}, []*cert{alice.cert}, VerifyStrict)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(o.Content, tc.body) {
				t.Fatalf("content mismatch")
			}
			if o.Envelope.Recipient != 1 || o.Signer != alice.cert {
				t.Fatalf("recipient %d signer %v", o.Envelope.Recipient, o.Signer)
			}
			if tc.e.PKCS1v15 != (len(o.Warnings) == 1) {
				t.Fatalf("warnings %v", o.Warnings)
			}
		})
	}
}

// TestProfileOIDs asserts every algorithm and version of spec A2.6 in our
// own output, parsed independently of the decoder's convenience fields.
func TestProfileOIDs(t *testing.T) {
	pki(t)
	msg, err := Seal(payload, alice.key, alice.cert, bob.cert, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertEnvelopeProfile(t, msg)
	inner, env, err := Decrypt(msg, []Recipient{{bob.cert, bob.key}})
	if err != nil {
		t.Fatal(err)
	}
	if env.Version != 0 || env.RecipientVersion != 0 || !env.KeyTransport.Equal(OIDRSAESOAEP) || env.OAEPHash != crypto.SHA256 || env.OAEPMGFHash != crypto.SHA256 || !env.ContentCipher.Equal(OIDAES256CBC) {
		t.Fatalf("envelope %+v", env)
	}
	assertSignedProfile(t, inner, true)
}

func mustOID(t *testing.T, n *node, want asn1.ObjectIdentifier) {
	t.Helper()
	got, err := oidOf(n)
	if err != nil || !got.Equal(want) {
		t.Fatalf("OID %v, want %v (%v)", got, want, err)
	}
}

func mustInt(t *testing.T, n *node, want int) {
	t.Helper()
	got, err := smallInt(n)
	if err != nil || got != want {
		t.Fatalf("INTEGER %d, want %d (%v)", got, want, err)
	}
}

func assertEnvelopeProfile(t *testing.T, msg []byte) {
	t.Helper()
	root, err := parseBER(msg)
	if err != nil {
		t.Fatal(err)
	}
	mustOID(t, root.children[0], OIDEnvelopedData)
	ed := root.children[1].children[0]
	mustInt(t, ed.children[0], 0)
	if len(ed.children) != 3 {
		t.Fatalf("EnvelopedData has %d fields (originatorInfo/unprotectedAttrs present?)", len(ed.children))
	}
	ktri := ed.children[1].children[0]
	mustInt(t, ktri.children[0], 0)
	if !ktri.children[1].is(classUniversal, tagSequence) {
		t.Fatal("rid is not IssuerAndSerialNumber")
	}
	ka := ktri.children[2]
	mustOID(t, ka.children[0], OIDRSAESOAEP)
	p := ka.children[1].children
	mustOID(t, p[0].children[0].children[0], OIDSHA256)
	if len(p[0].children[0].children) != 1 {
		t.Fatal("sha256 AlgorithmIdentifier has parameters")
	}
	mustOID(t, p[1].children[0].children[0], OIDMGF1)
	mustOID(t, p[1].children[0].children[1].children[0], OIDSHA256)
	eci := ed.children[2]
	mustOID(t, eci.children[0], OIDData)
	mustOID(t, eci.children[1].children[0], OIDAES256CBC)
	if iv := eci.children[1].children[1]; !iv.is(classUniversal, tagOctetString) || len(iv.content) != 16 {
		t.Fatal("IV is not a 16-byte OCTET STRING")
	}
}

func assertSignedProfile(t *testing.T, inner []byte, attrs bool) {
	t.Helper()
	root, err := parseBER(inner)
	if err != nil {
		t.Fatal(err)
	}
	mustOID(t, root.children[0], OIDSignedData)
	sd := root.children[1].children[0]
	mustInt(t, sd.children[0], 1)
	mustOID(t, sd.children[1].children[0].children[0], OIDSHA256)
	mustOID(t, sd.children[2].children[0], OIDData)
	s, err := ParseSigned(inner)
	if err != nil {
		t.Fatal(err)
	}
	si := s.Signers[0]
	if s.Version != 1 || si.Version != 1 {
		t.Fatalf("versions %d/%d, want 1/1", s.Version, si.Version)
	}
	if !si.SignatureAlgorithm.Equal(OIDRSASSAPSS) || si.PSSHash != crypto.SHA256 || si.PSSMGFHash != crypto.SHA256 || si.PSSSaltLength != 32 {
		t.Fatalf("signature %v %v %v %d", si.SignatureAlgorithm, si.PSSHash, si.PSSMGFHash, si.PSSSaltLength)
	}
	if !si.DigestAlgorithm.Equal(OIDSHA256) || si.HasSignedAttributes != attrs {
		t.Fatalf("digest %v attrs %v", si.DigestAlgorithm, si.HasSignedAttributes)
	}
	siNode := sd.children[len(sd.children)-1].children[0]
	mustInt(t, siNode.children[0], 1)
	if len(s.Certificates) == 0 || !s.Signers[0].Matches(s.Certificates[0]) {
		t.Fatal("signer certificate not embedded")
	}
}

type cert = x509.Certificate

func TestNegatives(t *testing.T) {
	pki(t)
	good, err := Seal(payload, alice.key, alice.cert, bob.cert, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	bobR := []Recipient{{bob.cert, bob.key}}
	trusted := []*cert{alice.cert}

	t.Run("wrong key", func(t *testing.T) {
		if _, err := Open(good, []Recipient{{eve.cert, eve.key}}, trusted, VerifyStrict); !errors.Is(err, ErrNoRecipient) {
			t.Fatalf("got %v", err)
		}
		// certificate matches but the key does not
		if _, err := Open(good, []Recipient{{bob.cert, eve.key}}, trusted, VerifyStrict); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("wrong AES OID", func(t *testing.T) {
		m, err := Seal(payload, alice.key, alice.cert, bob.cert, nil, &EncryptOptions{ContentOID: asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Open(m, bobR, trusted, VerifyOff); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("oaep without mgf", func(t *testing.T) {
		m, err := Seal(payload, alice.key, alice.cert, bob.cert, nil, &EncryptOptions{OAEPWithoutMGF: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Open(m, bobR, trusted, VerifyOff); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("tampered ciphertext", func(t *testing.T) {
		m := bytes.Clone(good)
		m[len(m)-1] ^= 0x01 // last block of encryptedContent: padding breaks
		if _, err := Open(m, bobR, trusted, VerifyOff); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		for _, n := range []int{0, 1, 10, len(good) / 2, len(good) - 1} {
			if _, err := Open(good[:n], bobR, trusted, VerifyOff); !errors.Is(err, ErrMalformed) {
				t.Fatalf("len %d: got %v", n, err)
			}
		}
	})
	t.Run("tampered signed attributes", func(t *testing.T) {
		signed, err := Sign(payload, alice.key, alice.cert, &SignOptions{SigningTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(signed, []byte("260102030405Z"))
		if i < 0 {
			t.Fatal("signing time not found")
		}
		signed[i+5] = '3'
		s, err := ParseSigned(signed)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.VerifyWith(alice.cert); !errors.Is(err, ErrSignature) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("tampered content", func(t *testing.T) {
		for _, attrs := range []bool{true, false} {
			signed, _ := Sign(payload, alice.key, alice.cert, &SignOptions{NoSignedAttributes: !attrs})
			i := bytes.Index(signed, []byte("Pruefung"))
			signed[i] = 'X'
			s, err := ParseSigned(signed)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.VerifyWith(alice.cert); !errors.Is(err, ErrSignature) {
				t.Fatalf("attrs=%v: got %v", attrs, err)
			}
		}
	})
	t.Run("swapped signer", func(t *testing.T) {
		m, _ := Seal(payload, eve.key, eve.cert, bob.cert, nil, nil)
		if _, err := Open(m, bobR, trusted, VerifyStrict); !errors.Is(err, ErrUnknownSigner) {
			t.Fatalf("strict: got %v", err)
		}
		o, err := Open(m, bobR, trusted, VerifyLenient)
		if err != nil || len(o.Warnings) != 1 || o.Signer != nil {
			t.Fatalf("lenient: %v %v", err, o)
		}
		if o, err := Open(m, bobR, trusted, VerifyOff); err != nil || len(o.Warnings) != 0 {
			t.Fatalf("off: %v", err)
		}
	})
	t.Run("embedded cert with trusted key", func(t *testing.T) {
		// The key list holds a certificate with the same key but another
		// serial (spec A2.10 item 5): found through the embedded cert.
		other := *alice.cert
		other.SerialNumber = new(big.Int).Lsh(alice.cert.SerialNumber, 8)
		o, err := Open(good, bobR, []*cert{&other}, VerifyStrict)
		if err != nil || o.Signer != &other {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("1024-bit recipient refused", func(t *testing.T) {
		small := issue(t, 1024, "small 0001", 9, &testCA)
		if _, err := Encrypt(payload, small.cert, nil); !errors.Is(err, ErrKeyTooSmall) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("key does not match cert", func(t *testing.T) {
		if _, err := Sign(payload, eve.key, alice.cert, nil); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestBERReaderLimits(t *testing.T) {
	deep := bytes.Repeat([]byte{0x30, 0x80}, MaxDepth+2)
	deep = append(deep, bytes.Repeat([]byte{0, 0}, MaxDepth+2)...)
	for name, in := range map[string][]byte{
		"too deep":           deep,
		"length beyond":      {0x30, 0x05, 0x02, 0x01},
		"indefinite prim":    {0x04, 0x80, 0x00, 0x00},
		"missing eoc":        {0x30, 0x80, 0x02, 0x01, 0x00},
		"huge length":        {0x30, 0x84, 0x7f, 0xff, 0xff, 0xff},
		"too many len bytes": {0x30, 0x85, 1, 1, 1, 1, 1},
		"trailing":           {0x05, 0x00, 0x00},
		"empty":              {},
	} {
		if _, err := Normalize(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	big := make([]byte, MaxInput+1)
	if _, err := Normalize(big); !errors.Is(err, ErrMalformed) {
		t.Errorf("oversize: %v", err)
	}
	// indefinite + chunked OCTET STRING → primitive definite form
	got, err := Normalize([]byte{0x30, 0x80, 0x24, 0x80, 0x04, 0x01, 'a', 0x04, 0x02, 'b', 'c', 0x00, 0x00, 0x00, 0x00})
	if err != nil || !bytes.Equal(got, []byte{0x30, 0x05, 0x04, 0x03, 'a', 'b', 'c'}) {
		t.Fatalf("normalize: % x %v", got, err)
	}
}

func TestVerifyMode(t *testing.T) {
	for m, s := range map[VerifyMode]string{VerifyLenient: "lenient", VerifyStrict: "strict", VerifyOff: "off"} {
		if m.String() != s {
			t.Errorf("%d: %s", m, m.String())
		}
	}
}

// --- OpenSSL interop (spec A6) ---

func needOpenSSL(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed: interop test skipped")
	}
	return p
}

func runOpenSSL(t *testing.T, bin string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestOpenSSLOpensOurs: openssl decrypts and verifies what we seal.
func TestOpenSSLOpensOurs(t *testing.T) {
	bin := needOpenSSL(t)
	pki(t)
	dir := t.TempDir()
	caPath, _ := writePEM(t, dir, "ca", testCA)
	aliceCert, _ := writePEM(t, dir, "alice", alice)
	bobCert, bobKey := writePEM(t, dir, "bob", bob)
	_ = aliceCert
	for _, ber := range []bool{false, true} {
		msg, err := Seal(bigPayload(), alice.key, alice.cert, bob.cert, &SignOptions{BER: ber}, &EncryptOptions{BER: ber})
		if err != nil {
			t.Fatal(err)
		}
		printed := string(runOpenSSL(t, bin, msg, "cms", "-cmsout", "-print", "-inform", "DER"))
		for _, want := range []string{"rsaesOaep", "aes-256-cbc", "mgf1", "sha256"} {
			if !strings.Contains(printed, want) {
				t.Errorf("openssl -print lacks %q", want)
			}
		}
		inner := runOpenSSL(t, bin, msg, "cms", "-decrypt", "-binary", "-inform", "DER", "-recip", bobCert, "-inkey", bobKey)
		printedInner := string(runOpenSSL(t, bin, inner, "cms", "-cmsout", "-print", "-inform", "DER"))
		_, signerPart, _ := strings.Cut(printedInner, "signerInfos:")
		for _, want := range []string{"rsassaPss", "mgf1", "sha256", "cont [ 2 ]", "INTEGER           :20"} {
			if !strings.Contains(signerPart, want) {
				t.Errorf("openssl -print of SignedData lacks %q:\n%s", want, printedInner)
			}
		}
		out := runOpenSSL(t, bin, inner, "cms", "-verify", "-binary", "-inform", "DER", "-CAfile", caPath, "-purpose", "any")
		if !bytes.Equal(out, bigPayload()) {
			t.Fatalf("ber=%v: openssl verified payload differs", ber)
		}
	}
}

// TestWeOpenOpenSSL: we decrypt and verify what openssl seals, DER and
// -indef/-stream, with and without signed attributes.
func TestWeOpenOpenSSL(t *testing.T) {
	bin := needOpenSSL(t)
	pki(t)
	dir := t.TempDir()
	aliceCert, aliceKey := writePEM(t, dir, "alice", alice)
	bobCert, _ := writePEM(t, dir, "bob", bob)
	in := filepath.Join(dir, "payload.xml")
	if err := os.WriteFile(in, bigPayload(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, noattr := range []bool{false, true} {
		for _, indef := range []bool{false, true} {
			signArgs := []string{"cms", "-sign", "-binary", "-nodetach", "-md", "sha256", "-in", in,
				"-signer", aliceCert, "-inkey", aliceKey, "-keyopt", "rsa_padding_mode:pss", "-keyopt", "rsa_pss_saltlen:32", "-outform", "DER"}
			if noattr {
				signArgs = append(signArgs, "-noattr")
			}
			encArgs := []string{"cms", "-encrypt", "-binary", "-aes256", "-recip", bobCert,
				"-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256", "-keyopt", "rsa_mgf1_md:sha256", "-outform", "DER"}
			if indef {
				// openssl 3.0 cannot stream-sign with -nodetach from a file
				// ("illegal zero content"); the envelope is streamed.
				encArgs = append(encArgs, "-stream", "-indef")
			}
			signed := runOpenSSL(t, bin, nil, signArgs...)
			msg := runOpenSSL(t, bin, signed, encArgs...)
			if indef && !bytes.HasPrefix(msg, []byte{0x30, 0x80}) {
				t.Fatalf("openssl -indef output not indefinite: % x", msg[:4])
			}
			assertEnvelopeProfile(t, msg)
			o, err := Open(msg, []Recipient{{bob.cert, bob.key}}, []*cert{alice.cert}, VerifyStrict)
			if err != nil {
				t.Fatalf("noattr=%v indef=%v: %v", noattr, indef, err)
			}
			if !bytes.Equal(o.Content, bigPayload()) {
				t.Fatal("content differs")
			}
			inner, _, _ := Decrypt(msg, []Recipient{{bob.cert, bob.key}})
			assertSignedProfile(t, inner, !noattr)
		}
	}
}

func TestCertificatesOnly(t *testing.T) {
	pki(t)
	p7c := CertificatesOnly([]*x509.Certificate{alice.cert, testCA.cert})
	got, err := ParseCertificates(p7c)
	if err != nil || len(got) != 2 || !got[0].Equal(alice.cert) || !got[1].Equal(testCA.cert) {
		t.Fatalf("%v %d", err, len(got))
	}
	bin := needOpenSSL(t)
	out := runOpenSSL(t, bin, p7c, "pkcs7", "-inform", "DER", "-print_certs", "-noout")
	if !strings.Contains(string(out), "alice 0018") {
		t.Fatalf("openssl: %s", out)
	}
}

// TestOpenSSLVariants: inputs outside the write profile that the reader
// accepts (spec A2.6): PKCS#1 v1.5 signatures, SHA-512 digests, AES-128
// content encryption (warning), PKCS#1 v1.5 key transport (warning).
func TestOpenSSLVariants(t *testing.T) {
	bin := needOpenSSL(t)
	pki(t)
	dir := t.TempDir()
	aliceCert, aliceKey := writePEM(t, dir, "alice", alice)
	bobCert, _ := writePEM(t, dir, "bob", bob)
	in := filepath.Join(dir, "payload.xml")
	if err := os.WriteFile(in, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		sign     []string
		enc      []string
		warnings int
	}{
		{"pkcs1v15 signature sha512", []string{"-md", "sha512"}, []string{"-aes256", "-recip", bobCert, "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256", "-keyopt", "rsa_mgf1_md:sha256"}, 0},
		{"aes128", []string{"-md", "sha256"}, []string{"-aes128", "-recip", bobCert, "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256", "-keyopt", "rsa_mgf1_md:sha256"}, 1},
		{"pkcs1v15 key transport", []string{"-md", "sha256"}, []string{"-aes256", "-recip", bobCert}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signed := runOpenSSL(t, bin, nil, append([]string{"cms", "-sign", "-binary", "-nodetach", "-in", in, "-signer", aliceCert, "-inkey", aliceKey, "-outform", "DER"}, tt.sign...)...)
			msg := runOpenSSL(t, bin, signed, append([]string{"cms", "-encrypt", "-binary", "-outform", "DER"}, tt.enc...)...)
			o, err := Open(msg, []Recipient{{bob.cert, bob.key}}, []*x509.Certificate{alice.cert}, VerifyStrict)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(o.Content, payload) || len(o.Warnings) != tt.warnings {
				t.Fatalf("warnings %v", o.Warnings)
			}
		})
	}
}
