package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/fips140"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Profile is a TLS configuration profile (refserver spec §3.5).
type Profile int

// The profiles. The zero value is Strict.
const (
	// Strict follows BSI TR-02102-2 as far as Go allows: TLS 1.2 and 1.3,
	// TLS 1.2 suites ECDHE-ECDSA/RSA with AES-GCM only, groups P-256 and
	// P-384, and it requires GODEBUG=fips140=on, the only way to keep
	// ChaCha20-Poly1305 out of TLS 1.3 in Go.
	Strict Profile = iota
	// Compat keeps the minimum version and the TLS 1.2 suites of Strict
	// but Go's TLS 1.3 defaults (ChaCha20, X25519, hybrid ML-KEM groups).
	// It must be chosen explicitly and is logged at start.
	Compat
)

// String returns "strict" or "compat".
func (p Profile) String() string {
	switch p {
	case Strict:
		return "strict"
	case Compat:
		return "compat"
	}
	return fmt.Sprintf("profile(%d)", int(p))
}

// ParseProfile parses "strict" (also "") or "compat".
func ParseProfile(s string) (Profile, error) {
	switch strings.ToLower(s) {
	case "", "strict":
		return Strict, nil
	case "compat":
		return Compat, nil
	}
	return 0, errors.New("tlsconf: unknown TLS profile (want strict or compat)")
}

// ErrFIPSRequired is returned for the Strict profile when the process
// does not run with GODEBUG=fips140=on (crypto/fips140.Enabled).
var ErrFIPSRequired = errors.New("tlsconf: TLS profile strict requires GODEBUG=fips140=on (or use profile compat)")

// TLS12Suites are the TLS 1.2 cipher suites of both profiles
// (TR-02102-2: ECDHE with AES-GCM; no CBC, no ChaCha20, no RSA key
// exchange).
var TLS12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
}

// StrictTLS13Suites are the TLS 1.3 suites Strict accepts. Go cannot
// offer TLS_AES_128_CCM_SHA256 (listed by TR-02102-2) at all.
var StrictTLS13Suites = []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384}

// StrictGroups are the key-exchange groups of Strict (P-521 is accepted
// by CheckState on outbound connections but not offered).
var StrictGroups = []tls.CurveID{tls.CurveP256, tls.CurveP384}

// Minimum key sizes of our own certificates under Strict (TR-02102-1:
// RSA ≥ 3000 bits; ECDSA on P-256 or larger NIST curves) and Compat.
const (
	StrictMinRSABits = 3000
	CompatMinRSABits = 2048
)

// ProfileError says why a connection or certificate does not meet a
// profile. It names suites, groups and versions, never key material.
type ProfileError struct {
	Profile Profile
	Reason  string
}

func (e *ProfileError) Error() string {
	return "tlsconf: " + e.Reason + " (outside TLS profile " + e.Profile.String() + ")"
}

// base builds the settings both sides share.
func base(p Profile) (*tls.Config, error) {
	switch p {
	case Strict:
		return &tls.Config{
			MinVersion:       tls.VersionTLS12,
			CipherSuites:     slices.Clone(TLS12Suites),
			CurvePreferences: slices.Clone(StrictGroups),
		}, nil
	case Compat:
		return &tls.Config{
			MinVersion:   tls.VersionTLS12,
			CipherSuites: slices.Clone(TLS12Suites),
		}, nil
	}
	return nil, errors.New("tlsconf: unknown TLS profile")
}

// ServerConfig returns the server configuration of profile p with the
// certificate chains certs (at least one). With clientCAs set, client
// certificates are required and verified (mTLS, admin listener). Strict
// fails with ErrFIPSRequired unless crypto/fips140 is enabled, and both
// profiles reject certificates with keys below the profile's size.
// VerifyConnection runs [CheckState] on every handshake.
//
// REQ: TR03161-3:O.Cryp_8, TR03161-3:O.Ntwk_4, TR03161-3:O.Auth_2
func ServerConfig(p Profile, certs []tls.Certificate, clientCAs *x509.CertPool) (*tls.Config, error) {
	if len(certs) == 0 {
		return nil, errors.New("tlsconf: no server certificate")
	}
	for i := range certs {
		if err := checkCertificate(p, &certs[i]); err != nil {
			return nil, err
		}
	}
	tc, err := serverBase(p, clientCAs)
	if err != nil {
		return nil, err
	}
	tc.Certificates = certs
	return tc, nil
}

func serverBase(p Profile, clientCAs *x509.CertPool) (*tls.Config, error) {
	if p == Strict && !fips140.Enabled() {
		return nil, ErrFIPSRequired
	}
	tc, err := base(p)
	if err != nil {
		return nil, err
	}
	tc.NextProtos = []string{"h2", "http/1.1"}
	if clientCAs != nil {
		tc.ClientCAs = clientCAs
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	tc.VerifyConnection = func(cs tls.ConnectionState) error { return CheckState(p, cs) }
	return tc, nil
}

// ClientConfig returns the configuration of outbound connections under
// profile p: full chain verification against roots (nil means the system
// roots), never InsecureSkipVerify, and [CheckState] in
// VerifyConnection, which aborts a handshake that negotiated anything
// outside the profile (Go offers its TLS 1.3 suites regardless of
// CipherSuites, so without fips140=on a peer may choose ChaCha20; the
// check refuses such a connection).
//
// REQ: TR03161-3:O.Ntwk_3, TR03161-3:O.TrdP_10, TR03161-3:O.Cryp_8
func ClientConfig(p Profile, roots *x509.CertPool) *tls.Config {
	tc, err := base(p)
	if err != nil {
		tc, _ = base(Strict)
		p = Strict
	}
	tc.RootCAs = roots
	tc.VerifyConnection = func(cs tls.ConnectionState) error { return CheckState(p, cs) }
	return tc
}

// CheckState checks a negotiated connection against profile p: version
// at least TLS 1.2; a TLS 1.2 suite from TLS12Suites; under Strict a
// TLS 1.3 suite from StrictTLS13Suites and a group from P-256, P-384 or
// P-521. A resumed TLS 1.2 session carries no group and passes the group
// check (its suite is checked). It returns a *ProfileError.
//
// REQ: TR03161-3:O.Cryp_8, TR03161-3:O.Ntwk_4
func CheckState(p Profile, cs tls.ConnectionState) error {
	bad := func(format string, args ...any) error {
		return &ProfileError{Profile: p, Reason: fmt.Sprintf(format, args...)}
	}
	if p != Strict && p != Compat {
		return bad("unknown profile")
	}
	switch cs.Version {
	case tls.VersionTLS12:
		if !slices.Contains(TLS12Suites, cs.CipherSuite) {
			return bad("cipher suite %s", tls.CipherSuiteName(cs.CipherSuite))
		}
	case tls.VersionTLS13:
		if p == Strict && !slices.Contains(StrictTLS13Suites, cs.CipherSuite) {
			return bad("cipher suite %s", tls.CipherSuiteName(cs.CipherSuite))
		}
	default:
		return bad("protocol version %s", tls.VersionName(cs.Version))
	}
	if p == Strict {
		switch cs.CurveID {
		case tls.CurveP256, tls.CurveP384, tls.CurveP521:
		case 0:
			if !(cs.DidResume && cs.Version == tls.VersionTLS12) {
				return bad("no key-exchange group")
			}
		default:
			return bad("key-exchange group %s", cs.CurveID)
		}
	}
	return nil
}

// checkCertificate checks the leaf key of one of our own certificates.
func checkCertificate(p Profile, c *tls.Certificate) error {
	if len(c.Certificate) == 0 {
		return errors.New("tlsconf: empty certificate chain")
	}
	leaf := c.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return errors.New("tlsconf: certificate does not parse")
		}
	}
	minRSA := CompatMinRSABits
	if p == Strict {
		minRSA = StrictMinRSABits
	}
	switch k := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSA {
			return &ProfileError{Profile: p, Reason: fmt.Sprintf("RSA certificate key of %d bits (need %d)", k.N.BitLen(), minRSA)}
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return &ProfileError{Profile: p, Reason: "ECDSA certificate curve"}
		}
	default:
		if p == Strict {
			return &ProfileError{Profile: p, Reason: fmt.Sprintf("certificate key type %T", leaf.PublicKey)}
		}
	}
	return nil
}
