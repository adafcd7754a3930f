//go:build !production

package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digakit/digakit/refserver/internal/config"
)

// operatorCert writes a client certificate signed by a fresh CA with the
// given organizational units (roles) and returns the CA file and the
// key pair.
func operatorCert(t *testing.T, dir, name string, roles []string) (caFile string, pair tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "operators CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name, OrganizationalUnit: roles},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(dir, name+"-ca.pem")
	_ = os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)
	return caFile, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestAuditReadPaths: a user reads the own protocol; an auditor with the
// audit-reader role reads events on the mTLS admin listener (recorded as
// audit_read); an operator without the role is refused (recorded as
// authz_fail).
func TestAuditReadPaths(t *testing.T) {
	dir := t.TempDir()
	srvCert, srvKey, srvX := testCert(t, dir, "server", false)
	caFile, reader := operatorCert(t, dir, "auditor", []string{"audit-reader"})
	// Both operator certificates come from one CA file: append the second
	// CA to it.
	ca2, plainOp := operatorCert(t, dir, "billing-operator", []string{"operator"})
	b1, _ := os.ReadFile(caFile)
	b2, _ := os.ReadFile(ca2)
	_ = os.WriteFile(caFile, append(b1, b2...), 0o600)

	cfg := devConfig(t)
	cfg.Admin = config.Admin{Addr: "127.0.0.1:0", Cert: srvCert, Key: srvKey, ClientCA: caFile}
	s := start(t, quietOptions(cfg))
	base := s.Addrs["public"]
	ctx := context.Background()

	// The user's own protocol.
	c, tok := signedInUser(t, base, "protocol-reader")
	code, body, err := c.Get(ctx, tok, "/v1/me/protocol?limit=50")
	if err != nil || code != http.StatusOK {
		t.Fatalf("own protocol: %d %s %v", code, body, err)
	}
	var prot struct {
		Entries []map[string]any `json:"entries"`
	}
	if err := json.Unmarshal([]byte(body), &prot); err != nil || prot.Entries == nil {
		t.Fatalf("own protocol body: %s", body)
	}
	if strings.Contains(body, "protocol-reader") || strings.Contains(body, testPassword) {
		t.Fatal("the protocol shows the login name or password")
	}
	if code, _, _ := c.Get(ctx, tok, "/v1/me/protocol?limit=0"); code != http.StatusBadRequest {
		t.Fatalf("limit=0: %d, want 400", code)
	}
	req, _ := http.NewRequest("GET", base+"/v1/me/protocol", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("own protocol without token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// Auditor reads on the admin listener.
	roots := x509.NewCertPool()
	roots.AddCert(srvX)
	client := func(cert tls.Certificate) *http.Client {
		return &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}}}
	}
	adm := s.Addrs["admin"]
	get := func(hc *http.Client, path string) (int, string) {
		resp, err := hc.Get(adm + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	seg := time.Now().UTC().Format("2006-01")
	st, b := get(client(reader), "/admin/v1/audit/events?log=security&seg="+seg+"&limit=100")
	if st != http.StatusOK || !strings.Contains(b, `"events"`) {
		t.Fatalf("auditor read: %d %s", st, b)
	}
	if st, _ := get(client(plainOp), "/admin/v1/audit/events?log=security&seg="+seg); st != http.StatusForbidden {
		t.Fatalf("operator without the role: %d, want 403", st)
	}
	if st, _ := get(client(reader), "/admin/v1/audit/events?log=security"); st != http.StatusBadRequest {
		t.Fatalf("missing seg: %d, want 400", st)
	}
	// Both reads are in the log: audit_read and authz_fail.
	for _, typ := range []string{"audit_read", "authz_fail"} {
		var n int
		if err := s.main.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE type = $1`, typ).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("no %s event recorded", typ)
		}
	}
}
