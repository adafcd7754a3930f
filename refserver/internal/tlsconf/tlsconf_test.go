package tlsconf

import (
	"context"
	"crypto/fips140"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestParseProfile(t *testing.T) {
	for in, want := range map[string]Profile{"": Strict, "strict": Strict, "STRICT": Strict, "compat": Compat} {
		if got, err := ParseProfile(in); err != nil || got != want {
			t.Errorf("ParseProfile(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseProfile("modern"); err == nil {
		t.Error("unknown profile accepted")
	}
	if Strict.String() != "strict" || Compat.String() != "compat" {
		t.Error("String")
	}
}

// TestStrictRequiresFIPS: without GODEBUG=fips140=on the strict profile
// is refused with an error naming the setting (refserver spec §4).
func TestStrictRequiresFIPS(t *testing.T) {
	if fips140.Enabled() {
		t.Skip("process runs with fips140=on")
	}
	_, err := ServerConfig(Strict, []tls.Certificate{pki.pair(t, "ecdsa")}, nil)
	if !errors.Is(err, ErrFIPSRequired) || !strings.Contains(err.Error(), "GODEBUG=fips140=on") {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := Server(Strict, pki.files["ecdsa"][0], pki.files["ecdsa"][1], nil); !errors.Is(err, ErrFIPSRequired) {
		t.Fatalf("Server: err = %v", err)
	}
	if _, err := ServerConfig(Compat, []tls.Certificate{pki.pair(t, "ecdsa")}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestServerConfigSettings(t *testing.T) {
	tc, err := ServerConfig(Compat, []tls.Certificate{pki.pair(t, "rsa3072")}, pki.pool)
	if err != nil {
		t.Fatal(err)
	}
	if tc.MinVersion != tls.VersionTLS12 || len(tc.CipherSuites) != 4 || tc.ClientAuth != tls.RequireAndVerifyClientCert ||
		tc.VerifyConnection == nil || tc.InsecureSkipVerify || tc.ClientCAs != pki.pool {
		t.Fatalf("config %+v", tc)
	}
	for _, s := range tc.CipherSuites {
		name := tls.CipherSuiteName(s)
		if !strings.Contains(name, "ECDHE") || !strings.Contains(name, "GCM") {
			t.Errorf("suite %s", name)
		}
	}
	if _, err := ServerConfig(Compat, nil, nil); err == nil {
		t.Error("no certificate accepted")
	}
	if _, err := ServerConfig(Profile(7), []tls.Certificate{pki.pair(t, "ecdsa")}, nil); err == nil {
		t.Error("unknown profile accepted")
	}
}

// TestCertificateKeySize: strict wants RSA ≥ 3000 bits (TR-02102-1),
// compat ≥ 2048.
func TestCertificateKeySize(t *testing.T) {
	r2048 := pki.pair(t, "rsa2048")
	var pe *ProfileError
	if err := checkCertificate(Strict, &r2048); !errors.As(err, &pe) || !strings.Contains(err.Error(), "2048 bits") {
		t.Fatalf("strict RSA-2048: %v", err)
	}
	if err := checkCertificate(Compat, &r2048); err != nil {
		t.Fatalf("compat RSA-2048: %v", err)
	}
	for _, k := range []string{"rsa3072", "ecdsa"} {
		c := pki.pair(t, k)
		if err := checkCertificate(Strict, &c); err != nil {
			t.Errorf("strict %s: %v", k, err)
		}
	}
}

func TestCheckState(t *testing.T) {
	cs := func(v, suite uint16, curve tls.CurveID, resumed bool) tls.ConnectionState {
		return tls.ConnectionState{Version: v, CipherSuite: suite, CurveID: curve, DidResume: resumed}
	}
	tests := []struct {
		name           string
		st             tls.ConnectionState
		strict, compat bool // ok?
	}{
		{"tls13 aes128 p256", cs(tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, tls.CurveP256, false), true, true},
		{"tls13 aes256 p384", cs(tls.VersionTLS13, tls.TLS_AES_256_GCM_SHA384, tls.CurveP384, false), true, true},
		{"tls13 aes128 p521", cs(tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, tls.CurveP521, false), true, true},
		{"tls13 chacha p256", cs(tls.VersionTLS13, tls.TLS_CHACHA20_POLY1305_SHA256, tls.CurveP256, false), false, true},
		{"tls13 aes128 x25519", cs(tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, tls.X25519, false), false, true},
		{"tls13 aes128 mlkem", cs(tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, tls.X25519MLKEM768, false), false, true},
		{"tls13 no group", cs(tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, 0, true), false, true},
		{"tls12 ecdsa gcm p256", cs(tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.CurveP256, false), true, true},
		{"tls12 rsa gcm resumed", cs(tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, 0, true), true, true},
		{"tls12 gcm no group fresh", cs(tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, 0, false), false, true},
		{"tls12 chacha", cs(tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.CurveP256, false), false, false},
		{"tls12 cbc", cs(tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.CurveP256, false), false, false},
		{"tls12 rsa kx", cs(tls.VersionTLS12, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, 0, false), false, false},
		{"tls11", cs(tls.VersionTLS11, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.CurveP256, false), false, false},
	}
	for _, tt := range tests {
		for _, p := range []struct {
			prof Profile
			ok   bool
		}{{Strict, tt.strict}, {Compat, tt.compat}} {
			err := CheckState(p.prof, tt.st)
			if (err == nil) != p.ok {
				t.Errorf("%s/%s: err = %v, want ok=%v", tt.name, p.prof, err, p.ok)
			}
			var pe *ProfileError
			if err != nil && !errors.As(err, &pe) {
				t.Errorf("%s: untyped error %v", tt.name, err)
			}
		}
	}
}

// TestClassifyPinsGoMessages pins the error texts of Go 1.26 handshakes
// (audit spec §2.6), so that a toolchain change fails loudly.
func TestClassifyPinsGoMessages(t *testing.T) {
	for text, want := range map[string][2]string{
		"tls: no cipher suite supported by both client and server; client offered: [1303 ff]": {ReasonNoCommonSuite, ""},
		"tls: no key exchanges supported by both client and server":                           {ReasonNoCommonGroup, ""},
		"tls: no ECDHE curve supported by both client and server":                             {ReasonNoCommonGroup, ""},
		"tls: client offered only unsupported versions: [302 301]":                            {ReasonUnsupportedVersion, ""},
		"remote error: tls: illegal parameter":                                                {ReasonRemoteAlert, "illegal parameter"},
		"remote error: tls: bad certificate":                                                  {ReasonRemoteAlert, "bad certificate"},
		"EOF":                                                                                 {ReasonClientClosed, ""},
		"read tcp 127.0.0.1:8443->127.0.0.1:5000: read: connection reset by peer":             {ReasonClientClosed, ""},
		"client sent an HTTP request to an HTTPS server":                                      {ReasonNotTLS, ""},
		"tls: first record does not look like a TLS handshake":                                {ReasonNotTLS, ""},
		"read tcp 127.0.0.1:8443->127.0.0.1:5000: i/o timeout":                                {ReasonTimeout, ""},
		"tls: client didn't provide a certificate":                                            {ReasonClientCert, ""},
		"tls: failed to verify certificate: x509: certificate signed by unknown authority":    {ReasonClientCert, ""},
		"tlsconf: cipher suite TLS_CHACHA20_POLY1305_SHA256 (outside TLS profile strict)":     {ReasonProfile, ""},
		"something new": {ReasonOther, ""},
	} {
		r, a := Classify(text)
		if r != want[0] || a != want[1] {
			t.Errorf("Classify(%q) = %s %q, want %s %q", text, r, a, want[0], want[1])
		}
	}
}

// TestHandshakeLogClientCert: the mTLS admin listener refuses a client
// without a certificate with exactly one client_cert line, counted in
// digakit_tls_handshake_failures_total; two listeners share the metric.
func TestHandshakeLogClientCert(t *testing.T) {
	reg := prometheus.NewRegistry()
	fl := &failLog{}
	var mu sync.Mutex
	var seen []HandshakeFailure
	cfg := HandshakeConfig{Logger: slog.New(slog.NewJSONHandler(fl, nil)), Registerer: reg,
		OnFailure: func(f HandshakeFailure) { mu.Lock(); seen = append(seen, f); mu.Unlock() }}
	hl, err := NewHandshakeLog("admin", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewHandshakeLog("public", cfg); err != nil {
		t.Fatalf("second listener on one registry: %v", err)
	}
	tc, err := ServerConfig(Compat, []tls.Certificate{pki.pair(t, "ecdsa")}, pki.pool)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), TLSConfig: tc, ErrorLog: hl.ErrorLog(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	defer srv.Close()
	// TLS 1.3: the client learns of the refusal on its first read.
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pki.pool, ServerName: "localhost"})
	if err == nil {
		_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		_, err = c.Read(make([]byte, 1))
		_ = c.Close()
	}
	if err == nil {
		t.Fatal("server accepted a client without certificate")
	}
	// With a client certificate the admin listener answers.
	cert := pki.pair(t, "ecdsa")
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{cert}}}}
	resp, err := cl.Get(fmt.Sprintf("https://localhost:%d/", ln.Addr().(*net.TCPAddr).Port))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	cl.CloseIdleConnections()
	fl.waitCount(t, 1)
	if rec := fl.at(0); rec["reason"] != ReasonClientCert || rec["listener"] != "admin" {
		t.Fatalf("record %v", rec)
	}
	if fl.count() != 1 {
		t.Fatalf("%d lines", fl.count())
	}
	mu.Lock()
	if len(seen) != 1 || seen[0].Reason != ReasonClientCert {
		t.Fatalf("OnFailure saw %+v", seen)
	}
	mu.Unlock()
	if v := metricValue(t, reg, "digakit_tls_handshake_failures_total", map[string]string{"listener": "admin", "reason": ReasonClientCert}); v != 1 {
		t.Fatalf("metric = %v", v)
	}
}

func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestHandshakeLogCapAndOtherLines: the line cap drops lines (counted)
// but never failures in the metric; other server errors become
// http_server_error lines.
func TestHandshakeLogCapAndOtherLines(t *testing.T) {
	reg := prometheus.NewRegistry()
	fl := &failLog{}
	now := time.Unix(1000, 0)
	hl, err := NewHandshakeLog("public", HandshakeConfig{Logger: slog.New(slog.NewJSONHandler(fl, nil)), Registerer: reg,
		MaxLinesPerSecond: 3, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	l := hl.ErrorLog()
	for range 5 {
		l.Printf("http: TLS handshake error from %s: %v", "192.0.2.7:4711", "EOF")
	}
	now = now.Add(time.Second)
	l.Printf("http: TLS handshake error from %s: %v", "[2001:db8::1]:443", "remote error: tls: unknown ca")
	l.Printf("http: superfluous response.WriteHeader call")
	if fl.count() != 4 {
		t.Fatalf("%d lines, want 3 + 1", fl.count())
	}
	if rec := fl.at(3); rec["remote_ip"] != "2001:db8::1" || rec["alert"] != "unknown ca" {
		t.Fatalf("record %v", rec)
	}
	if len(fl.other) != 0 {
		t.Fatalf("non-JSON output %v", fl.other)
	}
	if v := metricValue(t, reg, "digakit_tls_handshake_failures_total", map[string]string{"listener": "public", "reason": ReasonClientClosed}); v != 5 {
		t.Fatalf("failures = %v, want 5", v)
	}
	if v := metricValue(t, reg, "digakit_tls_log_dropped_total", map[string]string{"listener": "public"}); v != 2 {
		t.Fatalf("dropped = %v, want 2", v)
	}
}

func TestKeyPairReload(t *testing.T) {
	dir := t.TempDir()
	cf, kf := dir+"/tls.pem", dir+"/tls.key"
	cp := func(kind string) {
		for i, dst := range []string{cf, kf} {
			b, err := os.ReadFile(pki.files[kind][i])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	cp("ecdsa")
	tc, kp, err := Server(Compat, cf, kf, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := kp.Certificate()
	if first.Leaf.PublicKeyAlgorithm != x509.ECDSA || tc.GetCertificate == nil {
		t.Fatal("first pair")
	}
	if kp.Changed() {
		t.Fatal("Changed right after load")
	}
	// A broken file keeps the old pair.
	if err := os.WriteFile(kf, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := kp.Reload(); err == nil || strings.Contains(err.Error(), "garbage") {
		t.Fatalf("reload of a broken key: %v", err)
	}
	if got, _ := tc.GetCertificate(nil); got != first {
		t.Fatal("failed reload replaced the pair")
	}
	cp("rsa3072")
	// Make sure the modification time differs on coarse file systems.
	later := time.Now().Add(2 * time.Second)
	_ = os.Chtimes(cf, later, later)
	if !kp.Changed() {
		t.Fatal("Changed did not notice new files")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { kp.Watch(ctx, time.Millisecond, nil); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for kp.Certificate().Leaf.PublicKeyAlgorithm != x509.RSA && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	<-done
	if kp.Certificate().Leaf.PublicKeyAlgorithm != x509.RSA {
		t.Fatal("Watch did not reload")
	}
	if _, _, err := Server(Compat, dir+"/missing.pem", kf, nil); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := LoadCertPool(pki.caFile); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCertPool(kf); err == nil {
		t.Fatal("key file accepted as CA file")
	}
}

// TestClientConfigRefusesOutsideProfile_T24: outbound connections under
// the strict profile (fips140 off, so Go still offers ChaCha20 in TLS
// 1.3) are aborted by CheckState when an OpenSSL server picks ChaCha20;
// an AES-GCM server is accepted. Compat accepts ChaCha20.
func TestClientConfigRefusesOutsideProfile_T24(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	for _, c := range []struct {
		suite  string
		prof   Profile
		wantOK bool
	}{
		{"TLS_CHACHA20_POLY1305_SHA256", Strict, fips140.Enabled()}, // refused by the profile check (or not offered with fips140=on)
		{"TLS_CHACHA20_POLY1305_SHA256", Compat, !fips140.Enabled()},
		{"TLS_AES_256_GCM_SHA384", Strict, true},
	} {
		t.Run(c.suite+"/"+c.prof.String(), func(t *testing.T) {
			if fips140.Enabled() && c.suite == "TLS_CHACHA20_POLY1305_SHA256" {
				t.Skip("fips140=on: Go does not offer ChaCha20")
			}
			addr := startSServer(t, "-tls1_3", "-ciphersuites", c.suite, "-groups", "P-256")
			cfg := ClientConfig(c.prof, pki.pool)
			cfg.ServerName = "localhost"
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
			if err == nil {
				_ = conn.Close()
			}
			if (err == nil) != c.wantOK {
				t.Fatalf("err = %v, want ok=%v", err, c.wantOK)
			}
			if err != nil {
				var pe *ProfileError
				if !errors.As(err, &pe) && !strings.Contains(err.Error(), "outside TLS profile") {
					t.Fatalf("not a profile error: %v", err)
				}
			}
		})
	}
	// Full chain verification: an unknown CA is refused.
	addr := startSServer(t, "-tls1_3")
	cfg := ClientConfig(Strict, x509.NewCertPool())
	cfg.ServerName = "localhost"
	if conn, err := tls.Dial("tcp", addr, cfg); err == nil {
		_ = conn.Close()
		t.Fatal("unknown CA accepted")
	}
}

// startSServer runs "openssl s_server" on a free loopback port with the
// ECDSA test certificate until the test ends.
func startSServer(t *testing.T, args ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	full := append([]string{"s_server", "-accept", addr, "-cert", pki.files["ecdsa"][0], "-key", pki.files["ecdsa"][1], "-quiet"}, args...)
	cmd := exec.Command("openssl", full...)
	cmd.Stdin = strings.NewReader("")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("s_server did not listen: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHandshakeTimeout: a client that connects and stays silent is cut
// off at the handshake deadline (ReadHeaderTimeout) with exactly one
// timeout line.
func TestHandshakeTimeout(t *testing.T) {
	fl := &failLog{}
	hl, err := NewHandshakeLog("public", HandshakeConfig{Logger: slog.New(slog.NewJSONHandler(fl, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := ServerConfig(Compat, []tls.Certificate{pki.pair(t, "ecdsa")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), TLSConfig: tc, ErrorLog: hl.ErrorLog(), ReadHeaderTimeout: 100 * time.Millisecond}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	defer srv.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("server sent data to a silent client")
	}
	fl.waitCount(t, 1)
	if rec := fl.at(0); rec["reason"] != ReasonTimeout {
		t.Fatalf("record %v", rec)
	}
}

// BenchmarkHandshakeLogLine measures parsing, classifying, counting and
// logging one failure line (JSON to io.Discard).
func BenchmarkHandshakeLogLine(b *testing.B) {
	hl, err := NewHandshakeLog("public", HandshakeConfig{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), MaxLinesPerSecond: -1})
	if err != nil {
		b.Fatal(err)
	}
	line := []byte("http: TLS handshake error from 192.0.2.10:51234: tls: no cipher suite supported by both client and server; client offered: [1303 ff]\n")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = hl.write(line)
	}
}

// BenchmarkHandshake measures a full TLS 1.3 handshake (ECDSA P-256,
// P-256 key exchange) on loopback under the compat profile's server
// configuration and the strict client configuration.
func BenchmarkHandshake(b *testing.B) {
	tc, err := ServerConfig(Compat, []tls.Certificate{pki.pair(b, "ecdsa")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	tc.SessionTicketsDisabled = true
	ln, err := tls.Listen("tcp", "127.0.0.1:0", tc)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.(*tls.Conn).Handshake()
				_ = c.Close()
			}()
		}
	}()
	cfg := ClientConfig(Strict, pki.pool)
	cfg.ServerName = "localhost"
	cfg.MinVersion = tls.VersionTLS13
	b.ReportAllocs()
	for b.Loop() {
		c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		_ = c.Close()
	}
}

func TestApplyServerDefaults(t *testing.T) {
	hs := &http.Server{WriteTimeout: 5 * time.Second}
	ApplyServerDefaults(hs)
	if hs.ReadHeaderTimeout != 10*time.Second || hs.ReadTimeout != 30*time.Second || hs.WriteTimeout != 5*time.Second ||
		hs.IdleTimeout != 120*time.Second || hs.MaxHeaderBytes != 32<<10 {
		t.Fatalf("%+v", hs)
	}
}

// TestTransportOverHTTP2: the outbound transport talks HTTP/2 to a
// compat server with the test CA, and refuses a server outside its roots.
func TestTransportOverHTTP2(t *testing.T) {
	tc, err := ServerConfig(Compat, []tls.Certificate{pki.pair(t, "ecdsa")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := newTestServer(tc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hs.srv.Close()
	url := fmt.Sprintf("https://localhost:%s/", hs.addr[strings.LastIndex(hs.addr, ":")+1:])
	tr := Transport(Strict, pki.pool)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.TLS == nil || CheckState(Strict, *resp.TLS) != nil {
		t.Fatalf("proto %s, tls %+v", resp.Proto, resp.TLS)
	}
	tr2 := Transport(Strict, x509.NewCertPool())
	defer tr2.CloseIdleConnections()
	if resp, err := (&http.Client{Transport: tr2}).Get(url); err == nil {
		_ = resp.Body.Close()
		t.Fatal("server outside the roots accepted")
	}
}
