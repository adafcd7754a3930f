package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Keys are the service's symmetric secrets (from the key source, never
// literals): the username blind-index key, the probe-id key and the
// sealing key for TOTP secrets.
type Keys struct {
	// Username keys HMAC-SHA256 of normalized usernames (§3.2.2).
	Username [32]byte
	// Probe keys the probe ids of typed identifiers (rate limits, §3.2.10).
	Probe [32]byte
	// Seal encrypts TOTP secrets (AES-256-GCM).
	Seal [32]byte
	// OPCrypto is the zitadel op CryptoKey.
	OPCrypto [32]byte
}

func keyedHex(key []byte, label, v string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil))
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// randText returns n random base32 characters from rnd.
func randText(rnd io.Reader, n int) (string, error) {
	b := make([]byte, (n*5+7)/8)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", errors.New("auth: random source failed")
	}
	return b32.EncodeToString(b)[:n], nil
}

// randToken returns a 256-bit random URL-safe token.
func randToken(rnd io.Reader) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", errors.New("auth: random source failed")
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func seal(key [32]byte, rnd io.Reader, plain []byte) (string, error) {
	blk, _ := aes.NewCipher(key[:])
	g, _ := cipher.NewGCM(blk)
	nonce := make([]byte, g.NonceSize())
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return "", errors.New("auth: random source failed")
	}
	return base64.RawStdEncoding.EncodeToString(g.Seal(nonce, nonce, plain, []byte("digakit/totp/v1"))), nil
}

func unseal(key [32]byte, s string) ([]byte, error) {
	b, err := base64.RawStdEncoding.DecodeString(s)
	blk, _ := aes.NewCipher(key[:])
	g, _ := cipher.NewGCM(blk)
	if err != nil || len(b) < g.NonceSize() {
		return nil, errors.New("auth: sealed secret malformed")
	}
	p, err := g.Open(nil, b[:g.NonceSize()], b[g.NonceSize():], []byte("digakit/totp/v1"))
	if err != nil {
		return nil, errors.New("auth: sealed secret does not open")
	}
	return p, nil
}

// TOTP parameters (§2.3).
const (
	TOTPPeriod = 30
	TOTPDigits = 6
	TOTPSkew   = 1
)

var totpOpts = totp.ValidateOpts{Period: TOTPPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// NormalizeTOTP strips ASCII spaces and requires exactly six ASCII digits
// (§3.2.6; full-width digits fail as otp_format).
func NormalizeTOTP(in string) (string, bool) {
	s := strings.ReplaceAll(in, " ", "")
	if len(s) != TOTPDigits {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	return s, true
}

// TOTPStep returns the RFC 6238 time step of t.
func TOTPStep(t time.Time) int64 { return t.Unix() / TOTPPeriod }

// TOTPCode computes the six-digit code of base32 secret at step.
func TOTPCode(secret string, step int64) (string, error) {
	return totp.GenerateCodeCustom(secret, time.Unix(step*TOTPPeriod, 0).UTC(), totpOpts)
}

// MatchTOTP checks code against the steps now−skew … now+skew and
// returns the matching step. It does not enforce one-time use: the
// store's conditional update does (§3.2.6).
func MatchTOTP(secret, code string, now time.Time) (int64, bool) {
	cur := TOTPStep(now)
	var found int64
	ok := 0
	for s := cur - TOTPSkew; s <= cur+TOTPSkew; s++ {
		want, err := TOTPCode(secret, s)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && ok == 0 {
			found, ok = s, 1
		}
	}
	return found, ok == 1
}

// NormalizeRecoveryCode drops '-' and spaces and upper-cases (§3.2.8).
func NormalizeRecoveryCode(in string) string {
	r := strings.NewReplacer("-", "", " ", "")
	return strings.ToUpper(r.Replace(in))
}

// RecoveryCodeHash is the stored form: SHA-256 hex of the normalized code.
func RecoveryCodeHash(code string) string { return sha256Hex(NormalizeRecoveryCode(code)) }

// formatRecoveryCode groups 24 characters as XXXX-XXXX-…
func formatRecoveryCode(s string) string {
	var parts []string
	for i := 0; i < len(s); i += 4 {
		parts = append(parts, s[i:i+4])
	}
	return strings.Join(parts, "-")
}
