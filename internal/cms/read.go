package cms

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Sentinel errors; every error of the package wraps one of them.
var (
	// ErrMalformed: the bytes are not a structurally valid CMS message.
	ErrMalformed = errBER
	// ErrUnsupported: an algorithm outside the accepted profile.
	ErrUnsupported = errors.New("cms: unsupported algorithm")
	// ErrNoRecipient: no RecipientInfo matches a given certificate.
	ErrNoRecipient = errors.New("cms: no RecipientInfo for our certificates")
	// ErrDecrypt: key transport or content decryption failed.
	ErrDecrypt = errors.New("cms: decryption failed")
	// ErrSignature: the signature or the signed attributes do not verify.
	ErrSignature = errors.New("cms: signature invalid")
	// ErrUnknownSigner: no trusted certificate matches the signer.
	ErrUnknownSigner = errors.New("cms: signer not found")
	// ErrKeyTooSmall: an RSA key below MinRSABits.
	ErrKeyTooSmall = errors.New("cms: RSA key too small")
)

func malformed(what string) error { return fmt.Errorf("%w: %s", errBER, what) }

// Recipient is one own key pair that may decrypt a message. Keep the
// previous pairs during a roll-over (spec A2.6 "Decrypting answers").
type Recipient struct {
	Cert *x509.Certificate
	Key  crypto.Decrypter
}

// Envelope describes a decrypted EnvelopedData.
type Envelope struct {
	// Version is the EnvelopedData version (0 in SECON) and
	// RecipientVersion that of the KeyTransRecipientInfo used (0).
	Version, RecipientVersion int
	// KeyTransport is the key-encryption algorithm (OAEP or rsaEncryption).
	KeyTransport asn1.ObjectIdentifier
	// OAEPHash and OAEPMGFHash are the OAEP parameters that were found.
	OAEPHash, OAEPMGFHash crypto.Hash
	// ContentCipher is the content-encryption algorithm.
	ContentCipher asn1.ObjectIdentifier
	// Recipient is the index into the recipients slice that decrypted it.
	Recipient int
	// Warnings lists accepted deviations from the SECON profile.
	Warnings []string
}

func oidOf(n *node) (asn1.ObjectIdentifier, error) {
	if !n.is(classUniversal, tagOID) || n.constructed {
		return nil, malformed("expected OBJECT IDENTIFIER")
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(n.der(), &oid); err != nil {
		return nil, malformed("bad OBJECT IDENTIFIER")
	}
	return oid, nil
}

func intOf(n *node) (*big.Int, error) {
	if !n.is(classUniversal, tagInteger) || n.constructed {
		return nil, malformed("expected INTEGER")
	}
	v := new(big.Int)
	if _, err := asn1.Unmarshal(n.der(), &v); err != nil {
		return nil, malformed("bad INTEGER")
	}
	return v, nil
}

func smallInt(n *node) (int, error) {
	v, err := intOf(n)
	if err != nil {
		return 0, err
	}
	if !v.IsInt64() || v.Int64() < 0 || v.Int64() > 1<<20 {
		return 0, malformed("INTEGER out of range")
	}
	return int(v.Int64()), nil
}

func seqOf(n *node, min int) ([]*node, error) {
	if !n.is(classUniversal, tagSequence) || !n.constructed {
		return nil, malformed("expected SEQUENCE")
	}
	if len(n.children) < min {
		return nil, malformed("SEQUENCE too short")
	}
	return n.children, nil
}

// algorithm is a parsed AlgorithmIdentifier.
type algorithm struct {
	oid    asn1.ObjectIdentifier
	params *node // nil when absent
}

func algOf(n *node) (algorithm, error) {
	c, err := seqOf(n, 1)
	if err != nil {
		return algorithm{}, err
	}
	oid, err := oidOf(c[0])
	if err != nil {
		return algorithm{}, err
	}
	a := algorithm{oid: oid}
	if len(c) > 1 && !c[1].is(classUniversal, tagNull) {
		a.params = c[1]
	}
	return a, nil
}

// hashAlgParams reads the hash, MGF hash and salt of RSASSA-PSS-params or
// RSAES-OAEP-params (same layout for [0] and [1]; [2] is the salt for PSS).
func hashAlgParams(p *node) (hash, mgf crypto.Hash, salt int, err error) {
	hash, mgf, salt = crypto.SHA1, crypto.SHA1, 20
	if p == nil {
		return hash, mgf, salt, nil
	}
	c, err := seqOf(p, 0)
	if err != nil {
		return 0, 0, 0, err
	}
	for _, f := range c {
		if f.class != classContext || !f.constructed || len(f.children) != 1 {
			return 0, 0, 0, malformed("bad RSA parameters")
		}
		switch f.tag {
		case 0:
			a, err := algOf(f.children[0])
			if err != nil {
				return 0, 0, 0, err
			}
			h, ok := hashByOID(a.oid)
			if !ok {
				return 0, 0, 0, fmt.Errorf("%w: hash %v", ErrUnsupported, a.oid)
			}
			hash = h
		case 1:
			a, err := algOf(f.children[0])
			if err != nil {
				return 0, 0, 0, err
			}
			if !a.oid.Equal(OIDMGF1) || a.params == nil {
				return 0, 0, 0, fmt.Errorf("%w: mask generation %v", ErrUnsupported, a.oid)
			}
			ha, err := algOf(a.params)
			if err != nil {
				return 0, 0, 0, err
			}
			h, ok := hashByOID(ha.oid)
			if !ok {
				return 0, 0, 0, fmt.Errorf("%w: MGF1 hash %v", ErrUnsupported, ha.oid)
			}
			mgf = h
		case 2:
			// PSS: saltLength INTEGER; OAEP: pSourceAlgorithm.
			if f.children[0].is(classUniversal, tagInteger) {
				if salt, err = smallInt(f.children[0]); err != nil {
					return 0, 0, 0, err
				}
			} else {
				a, err := algOf(f.children[0])
				if err != nil {
					return 0, 0, 0, err
				}
				if !a.oid.Equal(OIDPSpecified) {
					return 0, 0, 0, fmt.Errorf("%w: OAEP pSource %v", ErrUnsupported, a.oid)
				}
				if a.params != nil {
					if l, err := a.params.octets(); err != nil || len(l) != 0 {
						return 0, 0, 0, fmt.Errorf("%w: OAEP label", ErrUnsupported)
					}
				}
			}
		case 3:
			if v, err := smallInt(f.children[0]); err != nil || v != 1 {
				return 0, 0, 0, fmt.Errorf("%w: PSS trailer field", ErrUnsupported)
			}
		default:
			return 0, 0, 0, malformed("unknown RSA parameter")
		}
	}
	return hash, mgf, salt, nil
}

// contentInfo unwraps ContentInfo and checks its type.
func contentInfo(b []byte, want asn1.ObjectIdentifier) (*node, error) {
	root, err := parseBER(b)
	if err != nil {
		return nil, err
	}
	c, err := seqOf(root, 2)
	if err != nil {
		return nil, err
	}
	oid, err := oidOf(c[0])
	if err != nil {
		return nil, err
	}
	if !oid.Equal(want) {
		return nil, fmt.Errorf("%w: content type %v, want %v", ErrUnsupported, oid, want)
	}
	if !c[1].is(classContext, 0) || !c[1].constructed || len(c[1].children) != 1 {
		return nil, malformed("ContentInfo content")
	}
	return c[1].children[0], nil
}

// rid is a parsed SignerIdentifier / RecipientIdentifier.
type rid struct {
	issuer []byte // DER Name
	serial *big.Int
	skid   []byte
}

func ridOf(n *node) (rid, error) {
	if n.is(classContext, 0) { // subjectKeyIdentifier
		b, err := n.octets()
		return rid{skid: b}, err
	}
	c, err := seqOf(n, 2)
	if err != nil {
		return rid{}, err
	}
	s, err := intOf(c[1])
	if err != nil {
		return rid{}, err
	}
	return rid{issuer: c[0].der(), serial: s}, nil
}

func (r rid) matches(cert *x509.Certificate) bool {
	if cert == nil {
		return false
	}
	if r.skid != nil {
		return len(cert.SubjectKeyId) > 0 && bytes.Equal(r.skid, cert.SubjectKeyId)
	}
	return bytes.Equal(r.issuer, cert.RawIssuer) && serialEqual(r.serial, cert.SerialNumber)
}

// Decrypt opens ContentInfo(EnvelopedData) in DER or BER with the first
// recipient whose certificate matches a KeyTransRecipientInfo.
//
// REQ: kassenapi-spec:A2.6
func Decrypt(msg []byte, recipients []Recipient) ([]byte, *Envelope, error) {
	envNode, err := contentInfo(msg, OIDEnvelopedData)
	if err != nil {
		return nil, nil, err
	}
	c, err := seqOf(envNode, 3)
	if err != nil {
		return nil, nil, err
	}
	i := 1
	if c[i].is(classContext, 0) { // originatorInfo
		i++
	}
	if i+1 >= len(c) || !c[i].is(classUniversal, tagSet) {
		return nil, nil, malformed("EnvelopedData recipientInfos")
	}
	infos, eci := c[i].children, c[i+1]
	env := &Envelope{Recipient: -1}
	if env.Version, err = smallInt(c[0]); err != nil {
		return nil, nil, err
	}

	var encKey []byte
	var ktAlg algorithm
	var key crypto.Decrypter
search:
	for _, ri := range infos {
		f, err := seqOf(ri, 4)
		if err != nil {
			continue // other RecipientInfo choices are tagged; skip them
		}
		r, err := ridOf(f[1])
		if err != nil {
			return nil, nil, err
		}
		for j, rc := range recipients {
			if r.matches(rc.Cert) && rc.Key != nil {
				if ktAlg, err = algOf(f[2]); err != nil {
					return nil, nil, err
				}
				if encKey, err = f[3].octets(); err != nil {
					return nil, nil, err
				}
				if env.RecipientVersion, err = smallInt(f[0]); err != nil {
					return nil, nil, err
				}
				env.Recipient, key = j, rc.Key
				break search
			}
		}
	}
	if key == nil {
		return nil, nil, ErrNoRecipient
	}
	ec, err := seqOf(eci, 2)
	if err != nil {
		return nil, nil, err
	}
	if len(ec) < 3 || !ec[2].is(classContext, 0) {
		return nil, nil, malformed("no encryptedContent")
	}
	calg, err := algOf(ec[1])
	if err != nil {
		return nil, nil, err
	}
	env.ContentCipher = calg.oid
	keyLen := aesKeyLen(calg.oid)
	if keyLen == 0 {
		return nil, nil, fmt.Errorf("%w: content encryption %v", ErrUnsupported, calg.oid)
	}
	if keyLen != 32 {
		env.Warnings = append(env.Warnings, fmt.Sprintf("content encrypted with AES-%d-CBC instead of AES-256-CBC", keyLen*8))
	}
	if calg.params == nil {
		return nil, nil, malformed("no IV")
	}
	iv, err := calg.params.octets()
	if err != nil || len(iv) != aes.BlockSize {
		return nil, nil, malformed("IV is not 16 bytes")
	}
	ct, err := ec[2].octets()
	if err != nil {
		return nil, nil, err
	}

	env.KeyTransport = ktAlg.oid
	var cek []byte
	switch {
	case ktAlg.oid.Equal(OIDRSAESOAEP):
		h, mgf, _, err := hashAlgParams(ktAlg.params)
		if err != nil {
			return nil, nil, err
		}
		env.OAEPHash, env.OAEPMGFHash = h, mgf
		cek, err = key.Decrypt(rand.Reader, encKey, &rsa.OAEPOptions{Hash: h, MGFHash: mgf})
		if err != nil {
			return nil, nil, fmt.Errorf("%w: key transport", ErrDecrypt)
		}
	case ktAlg.oid.Equal(OIDRSAEncryption):
		env.Warnings = append(env.Warnings, "key transport PKCS#1 v1.5 instead of RSAES-OAEP")
		//lint:ignore SA1019 spec A2.6: accept PKCS#1 v1.5 key transport with a warning, decrypted in constant time
		cek, err = key.Decrypt(rand.Reader, encKey, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: keyLen})
		if err != nil {
			return nil, nil, fmt.Errorf("%w: key transport", ErrDecrypt)
		}
	default:
		return nil, nil, fmt.Errorf("%w: key transport %v", ErrUnsupported, ktAlg.oid)
	}
	if len(cek) != keyLen {
		return nil, nil, fmt.Errorf("%w: content key length", ErrDecrypt)
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, nil, fmt.Errorf("%w: ciphertext length", ErrDecrypt)
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, nil, fmt.Errorf("%w: padding", ErrDecrypt)
	}
	good := 1
	for _, b := range pt[len(pt)-pad:] {
		good &= subtle.ConstantTimeByteEq(b, byte(pad))
	}
	if good != 1 {
		return nil, nil, fmt.Errorf("%w: padding", ErrDecrypt)
	}
	return pt[:len(pt)-pad], env, nil
}

// SignerInfo is one parsed signer of a SignedData.
type SignerInfo struct {
	sid rid
	// Version is the SignerInfo version (1 for IssuerAndSerialNumber).
	Version int
	// DigestAlgorithm and SignatureAlgorithm are the OIDs as found.
	DigestAlgorithm, SignatureAlgorithm asn1.ObjectIdentifier
	// PSSHash, PSSMGFHash and PSSSaltLength are the RSASSA-PSS parameters
	// (zero for PKCS#1 v1.5 signatures).
	PSSHash, PSSMGFHash crypto.Hash
	PSSSaltLength       int
	// HasSignedAttributes reports whether signed attributes were present.
	HasSignedAttributes bool
	// SigningTime is the signingTime attribute, zero when absent.
	SigningTime time.Time
	signedAttrs []byte // received [0] encoding with the tag replaced by SET
	msgDigest   []byte
	ctAttr      asn1.ObjectIdentifier
	signature   []byte
}

// Signed is a parsed ContentInfo(SignedData) with attached content.
type Signed struct {
	// Version is the SignedData version (1 in SECON).
	Version int
	// Content is the encapsulated content (the XML).
	Content []byte
	// ContentType is eContentType (id-data in SECON).
	ContentType asn1.ObjectIdentifier
	// DigestAlgorithms lists the digestAlgorithms SET.
	DigestAlgorithms []asn1.ObjectIdentifier
	// Certificates are the embedded certificates that parsed.
	Certificates []*x509.Certificate
	// Signers are the SignerInfos.
	Signers []SignerInfo
}

// ParseSigned parses ContentInfo(SignedData) in DER or BER.
func ParseSigned(b []byte) (*Signed, error) {
	sdNode, err := contentInfo(b, OIDSignedData)
	if err != nil {
		return nil, err
	}
	c, err := seqOf(sdNode, 4)
	if err != nil {
		return nil, err
	}
	s := &Signed{}
	if s.Version, err = smallInt(c[0]); err != nil {
		return nil, err
	}
	if !c[1].is(classUniversal, tagSet) {
		return nil, malformed("digestAlgorithms")
	}
	for _, d := range c[1].children {
		a, err := algOf(d)
		if err != nil {
			return nil, err
		}
		s.DigestAlgorithms = append(s.DigestAlgorithms, a.oid)
	}
	eci, err := seqOf(c[2], 1)
	if err != nil {
		return nil, err
	}
	if s.ContentType, err = oidOf(eci[0]); err != nil {
		return nil, err
	}
	if len(eci) < 2 || !eci[1].is(classContext, 0) || len(eci[1].children) != 1 || !eci[1].children[0].is(classUniversal, tagOctetString) {
		return nil, malformed("content is not attached")
	}
	if s.Content, err = eci[1].children[0].octets(); err != nil {
		return nil, err
	}
	rest := c[3:]
	for len(rest) > 0 && rest[0].class == classContext {
		if rest[0].tag == 0 { // certificates
			for _, cn := range rest[0].children {
				if !cn.is(classUniversal, tagSequence) {
					continue // attribute or other certificate formats
				}
				if cert, err := x509.ParseCertificate(cn.der()); err == nil {
					s.Certificates = append(s.Certificates, cert)
				}
			}
		}
		rest = rest[1:]
	}
	if len(rest) != 1 || !rest[0].is(classUniversal, tagSet) {
		return nil, malformed("signerInfos")
	}
	for _, si := range rest[0].children {
		info, err := parseSignerInfo(si)
		if err != nil {
			return nil, err
		}
		s.Signers = append(s.Signers, info)
	}
	if len(s.Signers) == 0 {
		return nil, malformed("no SignerInfo")
	}
	return s, nil
}

func parseSignerInfo(n *node) (SignerInfo, error) {
	var si SignerInfo
	f, err := seqOf(n, 5)
	if err != nil {
		return si, err
	}
	if si.Version, err = smallInt(f[0]); err != nil {
		return si, err
	}
	if si.sid, err = ridOf(f[1]); err != nil {
		return si, err
	}
	da, err := algOf(f[2])
	if err != nil {
		return si, err
	}
	si.DigestAlgorithm = da.oid
	i := 3
	if f[i].is(classContext, 0) {
		si.HasSignedAttributes = true
		raw := bytes.Clone(f[i].raw)
		if f[i].raw[1] == 0x80 { // indefinite: signers must use DER here; re-encode
			raw = f[i].der()
		}
		raw[0] = 0x31
		si.signedAttrs = raw
		for _, a := range f[i].children {
			ac, err := seqOf(a, 2)
			if err != nil {
				return si, err
			}
			oid, err := oidOf(ac[0])
			if err != nil {
				return si, err
			}
			if !ac[1].is(classUniversal, tagSet) || len(ac[1].children) != 1 {
				return si, malformed("attribute values")
			}
			v := ac[1].children[0]
			switch {
			case oid.Equal(OIDAttrMessageDigest):
				if si.msgDigest, err = v.octets(); err != nil {
					return si, err
				}
			case oid.Equal(OIDAttrContentType):
				if si.ctAttr, err = oidOf(v); err != nil {
					return si, err
				}
			case oid.Equal(OIDAttrSigningTime):
				var t time.Time
				if _, err := asn1.Unmarshal(v.der(), &t); err == nil {
					si.SigningTime = t
				}
			}
		}
		i++
	}
	if len(f) < i+2 {
		return si, malformed("SignerInfo too short")
	}
	sa, err := algOf(f[i])
	if err != nil {
		return si, err
	}
	si.SignatureAlgorithm = sa.oid
	if sa.oid.Equal(OIDRSASSAPSS) {
		if si.PSSHash, si.PSSMGFHash, si.PSSSaltLength, err = hashAlgParams(sa.params); err != nil {
			return si, err
		}
	}
	if si.signature, err = f[i+1].octets(); err != nil {
		return si, err
	}
	return si, nil
}

// Matches reports whether cert is identified by the SignerInfo's sid.
func (si *SignerInfo) Matches(cert *x509.Certificate) bool { return si.sid.matches(cert) }

// VerifyWith checks the first signer's signature and signed attributes
// with cert's public key. It does not judge trust in cert.
func (s *Signed) VerifyWith(cert *x509.Certificate) error {
	si := &s.Signers[0]
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: signer key is not RSA", ErrUnsupported)
	}
	dh, ok := hashByOID(si.DigestAlgorithm)
	if !ok || dh == crypto.SHA1 {
		return fmt.Errorf("%w: digest %v", ErrUnsupported, si.DigestAlgorithm)
	}
	msg := s.Content
	if si.HasSignedAttributes {
		d := dh.New()
		d.Write(s.Content)
		if si.msgDigest == nil || subtle.ConstantTimeCompare(d.Sum(nil), si.msgDigest) != 1 {
			return fmt.Errorf("%w: messageDigest does not match the content", ErrSignature)
		}
		if si.ctAttr == nil || !si.ctAttr.Equal(s.ContentType) {
			return fmt.Errorf("%w: contentType attribute does not match", ErrSignature)
		}
		msg = si.signedAttrs
	}
	switch {
	case si.SignatureAlgorithm.Equal(OIDRSASSAPSS):
		if si.PSSHash == crypto.SHA1 || si.PSSHash != si.PSSMGFHash {
			return fmt.Errorf("%w: PSS with %v/MGF1-%v", ErrUnsupported, si.PSSHash, si.PSSMGFHash)
		}
		h := si.PSSHash.New()
		h.Write(msg)
		if err := rsa.VerifyPSS(pub, si.PSSHash, h.Sum(nil), si.signature, &rsa.PSSOptions{SaltLength: si.PSSSaltLength, Hash: si.PSSHash}); err != nil {
			return ErrSignature
		}
	case si.SignatureAlgorithm.Equal(OIDSHA256WithRSA), si.SignatureAlgorithm.Equal(OIDSHA384WithRSA),
		si.SignatureAlgorithm.Equal(OIDSHA512WithRSA), si.SignatureAlgorithm.Equal(OIDRSAEncryption):
		hh := dh
		switch {
		case si.SignatureAlgorithm.Equal(OIDSHA256WithRSA):
			hh = crypto.SHA256
		case si.SignatureAlgorithm.Equal(OIDSHA384WithRSA):
			hh = crypto.SHA384
		case si.SignatureAlgorithm.Equal(OIDSHA512WithRSA):
			hh = crypto.SHA512
		}
		h := hh.New()
		h.Write(msg)
		if err := rsa.VerifyPKCS1v15(pub, hh, h.Sum(nil), si.signature); err != nil {
			return ErrSignature
		}
	default:
		return fmt.Errorf("%w: signature %v", ErrUnsupported, si.SignatureAlgorithm)
	}
	return nil
}

// VerifyMode selects how a signature failure is treated (spec A3).
type VerifyMode int

const (
	// VerifyLenient checks the signature but only warns on failure. It is
	// the default because real insurers send signer certificates that are
	// not in the key list (spec A2.10 item 5).
	VerifyLenient VerifyMode = iota
	// VerifyStrict fails on an unknown signer or a bad signature.
	VerifyStrict
	// VerifyOff skips signature checks.
	VerifyOff
)

// String returns "lenient", "strict" or "off".
func (m VerifyMode) String() string {
	switch m {
	case VerifyStrict:
		return "strict"
	case VerifyOff:
		return "off"
	}
	return "lenient"
}

// FindSigner returns the trusted certificate that identifies the first
// signer: a trusted certificate matched by issuer and serial number (or
// key identifier), else an embedded certificate matched by the sid whose
// public key equals a trusted certificate's key.
func (s *Signed) FindSigner(trusted []*x509.Certificate) *x509.Certificate {
	si := &s.Signers[0]
	for _, c := range trusted {
		if si.sid.matches(c) {
			return c
		}
	}
	for _, e := range s.Certificates {
		if !si.sid.matches(e) {
			continue
		}
		for _, c := range trusted {
			if pk, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && pk.Equal(e.PublicKey) {
				return c
			}
		}
	}
	return nil
}

// Verify checks the first signer against trusted per mode. It returns the
// certificate used (nil when none) and warnings. In Lenient mode failures
// become warnings; in Off mode nothing is checked.
func (s *Signed) Verify(trusted []*x509.Certificate, mode VerifyMode) (*x509.Certificate, []string, error) {
	if mode == VerifyOff {
		return nil, nil, nil
	}
	var err error
	cert := s.FindSigner(trusted)
	if cert == nil {
		err = ErrUnknownSigner
	} else {
		err = s.VerifyWith(cert)
	}
	if err == nil {
		return cert, nil, nil
	}
	if mode == VerifyStrict {
		return nil, nil, err
	}
	return nil, []string{"signature not verified: " + err.Error()}, nil
}

// Opened is the result of [Open].
type Opened struct {
	// Content is the signed payload.
	Content []byte
	// Envelope describes the decryption.
	Envelope *Envelope
	// Signed is the inner SignedData.
	Signed *Signed
	// Signer is the trusted certificate that verified, nil if none.
	Signer *x509.Certificate
	// Warnings collects the envelope and verification warnings.
	Warnings []string
}

// Open decrypts msg with one of recipients and verifies the inner
// SignedData against trusted per mode (SECON: decrypt, then verify). A
// structurally broken message is an error in every mode.
//
// REQ: kassenapi-spec:A2.6
func Open(msg []byte, recipients []Recipient, trusted []*x509.Certificate, mode VerifyMode) (*Opened, error) {
	pt, env, err := Decrypt(msg, recipients)
	if err != nil {
		return nil, err
	}
	s, err := ParseSigned(pt)
	if err != nil {
		return nil, err
	}
	signer, warns, err := s.Verify(trusted, mode)
	if err != nil {
		return nil, err
	}
	return &Opened{Content: s.Content, Envelope: env, Signed: s, Signer: signer, Warnings: append(append([]string(nil), env.Warnings...), warns...)}, nil
}

// ParseCertificates returns the certificates of a certs-only SignedData
// (an ITSG ".p7c", DER or BER). Content and signers may be absent.
func ParseCertificates(b []byte) ([]*x509.Certificate, error) {
	sdNode, err := contentInfo(b, OIDSignedData)
	if err != nil {
		return nil, err
	}
	c, err := seqOf(sdNode, 3)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, f := range c[3:] {
		if !f.is(classContext, 0) {
			continue
		}
		for _, cn := range f.children {
			cert, err := x509.ParseCertificate(cn.der())
			if err != nil {
				return nil, fmt.Errorf("%w: certificate: %v", errBER, err)
			}
			out = append(out, cert)
		}
	}
	return out, nil
}

// CertificatesOnly returns a certs-only SignedData (".p7c") in DER holding
// certs, as the ITSG trust center issues them.
func CertificatesOnly(certs []*x509.Certificate) []byte {
	var raws [][]byte
	for _, c := range certs {
		raws = append(raws, c.Raw)
	}
	sd := der.seq(mustMarshal(1), der.set(), der.seq(oidBytes(OIDData)), der.cons(0x80, 0, raws...), der.set())
	return der.seq(oidBytes(OIDSignedData), der.explicit(0, sd))
}
