package cms

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"time"
)

// MinRSABits is the smallest RSA key the writer signs with or encrypts to.
const MinRSABits = 2048

// PSSSaltLength is the SECON RSASSA-PSS salt length in bytes.
const PSSSaltLength = 32

// berChunk is the chunk size of constructed OCTET STRINGs in BER output
// (BouncyCastle streams 1000-byte chunks; any size is legal).
const berChunk = 1000

// SignOptions tune [Sign]. The zero value writes the SECON profile.
type SignOptions struct {
	// NoSignedAttributes signs the content directly, as pkijs does. The
	// default writes contentType, messageDigest and signingTime.
	NoSignedAttributes bool
	// SigningTime is the signingTime attribute; zero means time.Now.
	SigningTime time.Time
	// Rand is the PSS salt source; nil means crypto/rand.
	Rand io.Reader
	// BER writes indefinite lengths and a chunked eContent, as BouncyCastle
	// stream generators do. The default is DER.
	BER bool
	// Chain holds extra certificates to embed after the signer certificate.
	Chain []*x509.Certificate
	// SaltLength overrides the PSS salt length (tests only); 0 means 32.
	SaltLength int
}

// EncryptOptions tune [Encrypt]. The zero value writes the SECON profile.
type EncryptOptions struct {
	// Rand supplies the content key, IV and OAEP seed; nil means crypto/rand.
	Rand io.Reader
	// BER writes indefinite lengths and a chunked encryptedContent.
	BER bool
	// PKCS1v15 uses rsaEncryption key transport (secon-tool's fallback for
	// keys below 4096 bits). Default off: SECON writes OAEP for every key.
	PKCS1v15 bool
	// OAEPWithoutMGF omits the MGF parameter (negative tests: receivers
	// then assume MGF1-SHA-1 and decryption fails).
	OAEPWithoutMGF bool
	// ContentOID overrides the content-encryption OID that is written
	// while still encrypting with AES-256-CBC (negative tests only).
	ContentOID asn1.ObjectIdentifier
}

// encoder writes DER or, with ber set, indefinite-length BER.
type encoder struct{ ber bool }

func (e encoder) cons(first byte, tag int, children ...[]byte) []byte {
	if !e.ber {
		return encodeTLV(first|0x20, tag, bytes.Join(children, nil))
	}
	out := encodeTLV(first|0x20, tag, nil)
	out = append(out[:len(out)-1], 0x80)
	for _, c := range children {
		out = append(out, c...)
	}
	return append(out, 0, 0)
}

func (e encoder) seq(children ...[]byte) []byte { return e.cons(0, tagSequence, children...) }
func (e encoder) set(children ...[]byte) []byte { return e.cons(0, tagSet, children...) }
func (e encoder) explicit(tag int, children ...[]byte) []byte {
	return e.cons(0x80, tag, children...)
}

// octets writes an OCTET STRING (first/tag allow IMPLICIT tagging); in BER
// mode long strings are chunked.
func (e encoder) octets(first byte, tag int, data []byte) []byte {
	if !e.ber || len(data) <= berChunk {
		return encodeTLV(first, tag, data)
	}
	var chunks [][]byte
	for len(data) > 0 {
		n := min(berChunk, len(data))
		chunks = append(chunks, encodeTLV(0, tagOctetString, data[:n]))
		data = data[n:]
	}
	return e.cons(first, tag, chunks...)
}

var der = encoder{}

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		// Only called with OIDs, integers and times, which always marshal.
		panic("cms: " + err.Error())
	}
	return b
}

func oidBytes(oid asn1.ObjectIdentifier) []byte { return mustMarshal(oid) }

// algID writes an AlgorithmIdentifier without parameters (SHA-2 style).
func algID(oid asn1.ObjectIdentifier, params ...[]byte) []byte {
	return der.seq(append([][]byte{oidBytes(oid)}, params...)...)
}

func issuerAndSerial(cert *x509.Certificate) []byte {
	return der.seq(cert.RawIssuer, mustMarshal(cert.SerialNumber))
}

// pssParams writes RSASSA-PSS-params for SHA-256, MGF1-SHA-256 and salt;
// trailerField is left at its default.
func pssParams(salt int) []byte {
	return der.seq(
		der.explicit(0, algID(OIDSHA256)),
		der.explicit(1, algID(OIDMGF1, algID(OIDSHA256))),
		der.explicit(2, mustMarshal(salt)),
	)
}

func oaepParams(withMGF bool) []byte {
	parts := [][]byte{der.explicit(0, algID(OIDSHA256))}
	if withMGF {
		parts = append(parts, der.explicit(1, algID(OIDMGF1, algID(OIDSHA256))))
	}
	return der.seq(parts...)
}

func rsaPublic(cert *x509.Certificate) (*rsa.PublicKey, error) {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: certificate key is not RSA", ErrUnsupported)
	}
	if pub.N.BitLen() < MinRSABits {
		return nil, fmt.Errorf("%w: %d bits", ErrKeyTooSmall, pub.N.BitLen())
	}
	return pub, nil
}

// Sign returns ContentInfo(SignedData) over content with the content
// attached, signed RSASSA-PSS SHA-256 salt 32 with key. cert must hold the
// public key of key.
func Sign(content []byte, key crypto.Signer, cert *x509.Certificate, opts *SignOptions) ([]byte, error) {
	if opts == nil {
		opts = &SignOptions{}
	}
	if key == nil || cert == nil {
		return nil, errors.New("cms: sign: key and certificate are required")
	}
	pub, err := rsaPublic(cert)
	if err != nil {
		return nil, err
	}
	if kp, ok := key.Public().(*rsa.PublicKey); !ok || !kp.Equal(pub) {
		return nil, errors.New("cms: sign: key does not match the certificate")
	}
	rnd := opts.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	salt := opts.SaltLength
	if salt == 0 {
		salt = PSSSaltLength
	}
	e := encoder{ber: opts.BER}
	contentDigest := sha256.Sum256(content)

	var signedAttrs []byte // [0] IMPLICIT SET OF Attribute
	toSign := content
	if !opts.NoSignedAttributes {
		t := opts.SigningTime
		if t.IsZero() {
			t = time.Now()
		}
		attrs := [][]byte{
			der.seq(oidBytes(OIDAttrContentType), der.set(oidBytes(OIDData))),
			der.seq(oidBytes(OIDAttrSigningTime), der.set(mustMarshal(t.UTC()))),
			der.seq(oidBytes(OIDAttrMessageDigest), der.set(encodeTLV(0, tagOctetString, contentDigest[:]))),
		}
		sort.Slice(attrs, func(i, j int) bool { return bytes.Compare(attrs[i], attrs[j]) < 0 })
		setOf := der.set(attrs...)
		toSign = setOf
		signedAttrs = append([]byte{0xa0}, setOf[1:]...)
	}
	h := sha256.Sum256(toSign)
	sig, err := key.Sign(rnd, h[:], &rsa.PSSOptions{SaltLength: salt, Hash: crypto.SHA256})
	if err != nil {
		return nil, fmt.Errorf("cms: sign: %w", err)
	}

	signerInfo := [][]byte{
		mustMarshal(1),
		issuerAndSerial(cert),
		algID(OIDSHA256),
	}
	if signedAttrs != nil {
		signerInfo = append(signerInfo, signedAttrs)
	}
	signerInfo = append(signerInfo, algID(OIDRSASSAPSS, pssParams(salt)), encodeTLV(0, tagOctetString, sig))

	certs := [][]byte{cert.Raw}
	for _, c := range opts.Chain {
		certs = append(certs, c.Raw)
	}
	signedData := e.seq(
		mustMarshal(1),
		der.set(algID(OIDSHA256)),
		e.seq(oidBytes(OIDData), e.explicit(0, e.octets(0, tagOctetString, content))),
		e.cons(0x80, 0, certs...),
		e.set(der.seq(signerInfo...)),
	)
	return e.seq(oidBytes(OIDSignedData), e.explicit(0, signedData)), nil
}

// Encrypt returns ContentInfo(EnvelopedData) of plaintext for recipient:
// RSAES-OAEP SHA-256/MGF1-SHA-256 key transport and AES-256-CBC.
func Encrypt(plaintext []byte, recipient *x509.Certificate, opts *EncryptOptions) ([]byte, error) {
	if opts == nil {
		opts = &EncryptOptions{}
	}
	if recipient == nil {
		return nil, errors.New("cms: encrypt: recipient certificate is required")
	}
	pub, err := rsaPublic(recipient)
	if err != nil {
		return nil, err
	}
	rnd := opts.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	key := make([]byte, 32)
	iv := make([]byte, aes.BlockSize)
	if _, err := io.ReadFull(rnd, key); err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	if _, err := io.ReadFull(rnd, iv); err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cms: encrypt: %w", err)
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := make([]byte, len(plaintext)+pad)
	copy(buf, plaintext)
	for i := len(plaintext); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)

	var keyAlg, encKey []byte
	if opts.PKCS1v15 {
		//lint:ignore SA1019 opt-in mirror of secon-tool's fallback (spec A2.6), default off
		encKey, err = rsa.EncryptPKCS1v15(rnd, pub, key)
		keyAlg = algID(OIDRSAEncryption, encodeTLV(0, tagNull, nil))
	} else {
		encKey, err = rsa.EncryptOAEP(sha256.New(), rnd, pub, key, nil)
		keyAlg = algID(OIDRSAESOAEP, oaepParams(!opts.OAEPWithoutMGF))
	}
	if err != nil {
		return nil, fmt.Errorf("cms: encrypt key: %w", err)
	}
	contentOID := OIDAES256CBC
	if opts.ContentOID != nil {
		contentOID = opts.ContentOID
	}
	e := encoder{ber: opts.BER}
	ktri := der.seq(mustMarshal(0), issuerAndSerial(recipient), keyAlg, encodeTLV(0, tagOctetString, encKey))
	env := e.seq(
		mustMarshal(0),
		der.set(ktri),
		e.seq(oidBytes(OIDData), algID(contentOID, encodeTLV(0, tagOctetString, iv)), e.octets(0x80, 0, buf)),
	)
	return e.seq(oidBytes(OIDEnvelopedData), e.explicit(0, env)), nil
}

// Seal signs content with key/cert and encrypts the resulting SignedData
// to recipient (SECON order: sign, then encrypt).
//
// REQ: kassenapi-spec:A2.6
func Seal(content []byte, key crypto.Signer, cert, recipient *x509.Certificate, sopts *SignOptions, eopts *EncryptOptions) ([]byte, error) {
	signed, err := Sign(content, key, cert, sopts)
	if err != nil {
		return nil, err
	}
	return Encrypt(signed, recipient, eopts)
}

// serialEqual compares certificate serial numbers.
func serialEqual(a, b *big.Int) bool { return a != nil && b != nil && a.Cmp(b) == 0 }
