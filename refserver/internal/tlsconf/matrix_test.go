package tlsconf

import (
	"bufio"
	"bytes"
	"context"
	"crypto/fips140"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// failLog collects the handshake_fail records of one server.
type failLog struct {
	mu    sync.Mutex
	fails []map[string]any
	other []string
}

func (f *failLog) add(line []byte) {
	var rec map[string]any
	if json.Unmarshal(line, &rec) != nil {
		f.mu.Lock()
		f.other = append(f.other, string(line))
		f.mu.Unlock()
		return
	}
	if rec["msg"] == LogMsg {
		f.mu.Lock()
		f.fails = append(f.fails, rec)
		f.mu.Unlock()
	}
}

func (f *failLog) Write(p []byte) (int, error) {
	for _, l := range bytes.Split(bytes.TrimSpace(p), []byte("\n")) {
		f.add(l)
	}
	return len(p), nil
}

func (f *failLog) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.fails)
}

func (f *failLog) at(i int) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fails[i]
}

// waitCount waits until n failures are logged (the server logs from its
// connection goroutine, after the client has returned).
func (f *failLog) waitCount(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for f.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d handshake_fail lines, want %d", f.count(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// matrixCase is one client offer of the refserver spec §2.7 table.
type matrixCase struct {
	name string
	// openssl arguments (nil for Go clients)
	ossl []string
	// go client (nil for openssl)
	goClient func(addr string) error
	// expectations per profile: "" accepted, otherwise the reason
	strict, compat string
	// cipher the accepted handshake must show (openssl -brief output)
	cipher string
}

func matrix(certKind string) []matrixCase {
	kx := "ECDSA"
	if certKind != "ecdsa" {
		kx = "RSA"
	}
	goTLS := func(cfg *tls.Config) func(string) error {
		return func(addr string) error {
			cfg.RootCAs = pki.pool
			cfg.ServerName = "localhost"
			d := &net.Dialer{Timeout: 10 * time.Second}
			c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
			if err != nil {
				return err
			}
			return c.Close()
		}
	}
	return []matrixCase{
		{name: "tls13 chacha20 only", ossl: []string{"-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"},
			strict: ReasonNoCommonSuite, cipher: "TLS_CHACHA20_POLY1305_SHA256"},
		{name: "tls13 aes128 x25519 only", ossl: []string{"-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256", "-groups", "X25519"},
			strict: ReasonNoCommonGroup, cipher: "TLS_AES_128_GCM_SHA256"},
		{name: "tls13 aes128 p256", ossl: []string{"-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256", "-groups", "P-256"},
			cipher: "TLS_AES_128_GCM_SHA256"},
		{name: "tls13 aes256 p384", ossl: []string{"-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384", "-groups", "P-384"},
			cipher: "TLS_AES_256_GCM_SHA384"},
		{name: "tls12 chacha20", ossl: []string{"-tls1_2", "-cipher", "ECDHE-" + kx + "-CHACHA20-POLY1305"},
			strict: ReasonNoCommonSuite, compat: ReasonNoCommonSuite},
		{name: "tls12 aes128-gcm p256", ossl: []string{"-tls1_2", "-cipher", "ECDHE-" + kx + "-AES128-GCM-SHA256", "-groups", "P-256"},
			cipher: "ECDHE-" + kx + "-AES128-GCM-SHA256"},
		{name: "tls12 aes128-cbc-sha256", ossl: []string{"-tls1_2", "-cipher", "ECDHE-" + kx + "-AES128-SHA256"},
			strict: ReasonNoCommonSuite, compat: ReasonNoCommonSuite},
		{name: "tls11", ossl: []string{"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"},
			strict: ReasonUnsupportedVersion, compat: ReasonUnsupportedVersion},
		{name: "go tls11", goClient: goTLS(&tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}),
			strict: ReasonUnsupportedVersion, compat: ReasonUnsupportedVersion},
		{name: "go tls13 x25519 only", goClient: goTLS(&tls.Config{MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519}}),
			strict: ReasonNoCommonGroup},
		{name: "go tls13 x25519mlkem768 only", goClient: goTLS(&tls.Config{MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519MLKEM768}}),
			strict: ReasonNoCommonGroup},
		{name: "go tls12 chacha20", goClient: goTLS(&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}}),
			strict: ReasonNoCommonSuite, compat: ReasonNoCommonSuite},
		// In TLS 1.2 Go skips ECDHE suites without a common group, so a
		// group mismatch surfaces as "no cipher suite supported".
		{name: "go tls12 p521 only", goClient: goTLS(&tls.Config{MaxVersion: tls.VersionTLS12, CurvePreferences: []tls.CurveID{tls.CurveP521}}),
			strict: ReasonNoCommonSuite},
		{name: "go tls13 defaults", goClient: goTLS(&tls.Config{})},
		{name: "go client rejects server certificate", goClient: func(addr string) error {
			c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "localhost"}) // system roots: unknown CA
			if err == nil {
				_ = c.Close()
			}
			return err
		}, strict: ReasonRemoteAlert, compat: ReasonRemoteAlert},
		{name: "plain http to the tls port", goClient: func(addr string) error {
			resp, err := http.Get("http://" + addr + "/")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			return fmt.Errorf("plain HTTP answered %d", resp.StatusCode)
		}, strict: ReasonNotTLS, compat: ReasonNotTLS},
		{name: "tcp connect and close", goClient: func(addr string) error {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return err
			}
			_ = c.Close()
			return fmt.Errorf("closed")
		}, strict: ReasonClientClosed, compat: ReasonClientClosed},
	}
}

// runOpenSSL runs s_client and returns its combined output and whether
// the handshake completed.
func runOpenSSL(t *testing.T, addr string, args []string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	full := append([]string{"s_client", "-connect", addr, "-servername", "localhost", "-CAfile", pki.caFile,
		"-verify_return_error", "-brief"}, args...)
	cmd := exec.CommandContext(ctx, "openssl", full...)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	return string(out), err == nil && strings.Contains(string(out), "CONNECTION ESTABLISHED")
}

// runMatrix drives every case against the server at addr and checks the
// outcomes of profile prof and one handshake_fail line per refusal.
func runMatrix(t *testing.T, prof Profile, certKind, addr string, fl *failLog) {
	_, errLook := exec.LookPath("openssl")
	want := 0
	for _, c := range matrix(certKind) {
		expect := c.strict
		if prof == Compat {
			expect = c.compat
		}
		if c.ossl != nil && errLook != nil {
			t.Logf("%s: openssl not installed, skipped", c.name)
			continue
		}
		var accepted bool
		var out string
		if c.ossl != nil {
			out, accepted = runOpenSSL(t, addr, c.ossl)
			if accepted && c.cipher != "" && !strings.Contains(out, c.cipher) {
				t.Errorf("%s: negotiated something else than %s: %s", c.name, c.cipher, out)
			}
		} else {
			err := c.goClient(addr)
			accepted = err == nil
			out = fmt.Sprint(err)
		}
		if expect == "" {
			if !accepted {
				t.Errorf("%s: refused, want accepted (%s)", c.name, strings.TrimSpace(out))
			}
			continue
		}
		if accepted {
			t.Errorf("%s: accepted, want refused with %s", c.name, expect)
			continue
		}
		want++
		fl.waitCount(t, want)
		rec := fl.at(want - 1)
		if rec["reason"] != expect || rec["listener"] != "public" || rec["level"] != "WARN" || rec["remote_ip"] != "127.0.0.1" {
			t.Errorf("%s: handshake_fail %v, want reason %s", c.name, rec, expect)
		}
		if expect == ReasonRemoteAlert && rec["alert"] != "bad certificate" {
			t.Errorf("%s: alert %v", c.name, rec["alert"])
		}
	}
	// A last good request: any stray second line of an earlier refusal
	// would have been written by now.
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool}}, Timeout: 10 * time.Second}
	resp, err := cl.Get("https://localhost" + addr[strings.LastIndex(addr, ":"):] + "/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	cl.CloseIdleConnections()
	if got := fl.count(); got != want {
		t.Fatalf("%d handshake_fail lines for %d refused handshakes", got, want)
	}
	t.Logf("%s/%s: %d refused handshakes, %d handshake_fail lines", prof, certKind, want, fl.count())
}

// TestTLSMatrixStrict_T24 is T24 for the strict profile: the server runs
// in a child process with GODEBUG=fips140=on (strict refuses to start
// without it), the clients (OpenSSL s_client and Go) in this process.
func TestTLSMatrixStrict_T24(t *testing.T) {
	for _, kind := range []string{"ecdsa", "rsa3072"} {
		t.Run(kind, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "GODEBUG=fips140=on", childEnv+"=strict",
				"TLSCONF_TEST_CERT="+pki.files[kind][0], "TLSCONF_TEST_KEY="+pki.files[kind][1])
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				_ = stdin.Close()
				_ = cmd.Wait()
			}()
			sc := bufio.NewScanner(stdout)
			if !sc.Scan() {
				t.Fatal("child server printed nothing")
			}
			first := sc.Text()
			addr, ok := strings.CutPrefix(first, "ADDR ")
			if !ok {
				t.Fatalf("child server: %s", first)
			}
			fl := &failLog{}
			go func() {
				for sc.Scan() {
					fl.add(sc.Bytes())
				}
			}()
			runMatrix(t, Strict, kind, addr, fl)
		})
	}
}

// TestTLSMatrixCompat_T24 runs the same matrix against the compat
// profile in this process (fips140 off).
func TestTLSMatrixCompat_T24(t *testing.T) {
	if fips140.Enabled() {
		t.Skip("compat column is measured with fips140 off")
	}
	for _, kind := range []string{"ecdsa", "rsa3072"} {
		t.Run(kind, func(t *testing.T) {
			tc, _, err := Server(Compat, pki.files[kind][0], pki.files[kind][1], nil)
			if err != nil {
				t.Fatal(err)
			}
			fl := &failLog{}
			hs, err := newTestServer(tc, slog.New(slog.NewJSONHandler(fl, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer hs.srv.Close()
			runMatrix(t, Compat, kind, hs.addr, fl)
		})
	}
}
