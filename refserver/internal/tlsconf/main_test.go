package tlsconf

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testPKI is generated once per test binary (RSA-3072 is slow): a CA
// and leaves for localhost/127.0.0.1 with ECDSA P-256, RSA-3072 and
// RSA-2048 keys, written as PEM files into dir.
type testPKI struct {
	dir    string
	ca     *x509.Certificate
	caFile string
	pool   *x509.CertPool
	// leaf name → cert file, key file
	files map[string][2]string
}

var pki *testPKI

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	dir, err := os.MkdirTemp("", "tlsconf-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pki, err = newPKI(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func newPKI(dir string) (*testPKI, error) {
	p := &testPKI{dir: dir, files: map[string][2]string{}}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tlsconf test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	p.ca, _ = x509.ParseCertificate(caDER)
	p.pool = x509.NewCertPool()
	p.pool.AddCert(p.ca)
	p.caFile = filepath.Join(dir, "ca.pem")
	if err := writePEM(p.caFile, "CERTIFICATE", caDER); err != nil {
		return nil, err
	}
	keys := map[string]func() (crypto.Signer, error){
		"ecdsa":   func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) },
		"rsa3072": func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 3072) },
		"rsa2048": func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) },
	}
	serial := int64(2)
	for name, gen := range keys {
		k, err := gen()
		if err != nil {
			return nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}
		serial++
		der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, k.Public(), caKey)
		if err != nil {
			return nil, err
		}
		kder, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, err
		}
		cf, kf := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
		if err := writePEM(cf, "CERTIFICATE", der); err != nil {
			return nil, err
		}
		if err := writePEM(kf, "PRIVATE KEY", kder); err != nil {
			return nil, err
		}
		p.files[name] = [2]string{cf, kf}
	}
	return p, nil
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

func (p *testPKI) pair(t testing.TB, name string) tls.Certificate {
	t.Helper()
	f := p.files[name]
	c, err := tls.LoadX509KeyPair(f[0], f[1])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// childEnv makes the test binary run a strict server instead of the
// tests (used with GODEBUG=fips140=on by the T24 strict matrix).
const childEnv = "TLSCONF_TEST_CHILD_SERVER"

// runChild serves the profile named by childEnv with the certificate of
// TLSCONF_TEST_CERT/KEY until stdin closes. It prints "ADDR host:port"
// and then the server's slog JSON lines on stdout.
func runChild() int {
	prof, err := ParseProfile(os.Getenv(childEnv))
	if err != nil {
		fmt.Println("ERR", err)
		return 3
	}
	tc, _, err := Server(prof, os.Getenv("TLSCONF_TEST_CERT"), os.Getenv("TLSCONF_TEST_KEY"), nil)
	if err != nil {
		fmt.Println("ERR", err)
		return 3
	}
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	hs, err := newTestServer(tc, logger)
	if err != nil {
		fmt.Println("ERR", err)
		return 3
	}
	fmt.Println("ADDR", hs.addr)
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = hs.srv.Close()
	return 0
}

type testServer struct {
	srv  *http.Server
	addr string
}

// newTestServer runs an http.Server with tc and the handshake log on a
// loopback port, with the timeouts of refserver spec §3.5.
func newTestServer(tc *tls.Config, logger *slog.Logger) (*testServer, error) {
	hl, err := NewHandshakeLog("public", HandshakeConfig{Logger: logger, MaxLinesPerSecond: -1})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "ok")
		}),
		TLSConfig:         tc,
		ErrorLog:          hl.ErrorLog(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	return &testServer{srv: srv, addr: ln.Addr().String()}, nil
}
