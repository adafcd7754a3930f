package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/fips140"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"go.uber.org/goleak"

	"github.com/digakit/digakit/internal/sqltest"
	"github.com/digakit/digakit/refserver/internal/appversion"
	"github.com/digakit/digakit/refserver/internal/config"
	"github.com/digakit/digakit/refserver/internal/jobs"
	"github.com/digakit/digakit/refserver/internal/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
		goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"), // idle keep-alive conns of the test client
	)
}

func devConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.Flags{Addr: "127.0.0.1:0", Data: filepath.Join(t.TempDir(), "data")}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func quietOptions(cfg *config.Config) Options {
	return Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), Getuid: func() int { return 1000 }, Version: "test"}
}

func start(t *testing.T, o Options) *Server {
	t.Helper()
	s, err := Start(t.Context(), o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeHealthReadyMetricsShutdown(t *testing.T) {
	s := start(t, quietOptions(devConfig(t)))
	base := s.Addrs["public"]
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	if code, body := get(t, c, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	code, body := get(t, c, base+"/readyz")
	if code != 200 {
		t.Fatalf("/readyz = %d %s", code, body)
	}
	var rz struct{ Checks map[string]string }
	if err := json.Unmarshal([]byte(body), &rz); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"db", "billing_db", "migrations"} {
		if rz.Checks[k] != "ok" {
			t.Errorf("check %s = %q, want ok", k, rz.Checks[k])
		}
	}
	if code, body := get(t, c, base+"/no/such/path"); code != 404 || !strings.Contains(body, `"status":404`) {
		t.Fatalf("unknown path = %d %s", code, body)
	}
	code, body = get(t, c, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`digakit_build_info{fips="off",go_version=`,
		`digakit_http_requests_total{code="200",listener="public",method="GET",route="GET /healthz"} 1`,
		`digakit_http_requests_total{code="404",listener="public",method="GET",route="/"} 1`,
		"go_goroutines", "process_",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "/no/such/path") {
		t.Error("raw path leaked into a metric label")
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := c.Get(base + "/healthz"); err == nil {
		t.Fatal("server still answers after Shutdown")
	}
}

func TestReadyzReportsDatabaseFailure(t *testing.T) {
	s := start(t, quietOptions(devConfig(t)))
	_ = s.billing.DB.Close() // the billing database goes away
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	code, body := get(t, c, s.Addrs["public"]+"/readyz")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d, want 503", code)
	}
	if !strings.Contains(body, `"billing_db":"fail"`) || !strings.Contains(body, `"db":"ok"`) {
		t.Fatalf("/readyz body = %s", body)
	}
	if strings.Contains(body, "closed") {
		t.Fatalf("/readyz leaks an error text: %s", body)
	}
}

func TestStartupErrors(t *testing.T) {
	occupied, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer occupied.Close()
	file := filepath.Join(t.TempDir(), "plainfile")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mod    func(c *config.Config)
		uid    int
		step   string
		substr string
	}{
		{"unknown DSN scheme", func(c *config.Config) { c.DB.DSN = "mysql://h/db" }, 1000, "config", "unknown DSN scheme"},
		{"unwritable data dir", func(c *config.Config) {
			c.Data = filepath.Join(file, "data")
			c.DB.DSN = "sqlite:" + filepath.Join(c.Data, "x.db")
			c.Billing.DSN = "sqlite:" + filepath.Join(c.Data, "y.db")
		}, 1000, "data directory", "cannot create"},
		{"port in use", func(c *config.Config) { c.Addr = occupied.Addr().String() }, 1000, "listen public", "address already in use"},
		{"same database for both roles", func(c *config.Config) {
			c.Billing.DSN = strings.Replace(c.DB.DSN, "sqlite:", "sqlite://", 1)
		}, 1000, "billing database", "same database"},
		{"root in production layout", func(c *config.Config) { c.File = "x.json"; f := false; c.Sandbox = &f }, 0, "start-up check", "refusing to run as root"},
		{"bad TLS files", func(c *config.Config) { c.TLS.Cert, c.TLS.Key = file, file }, 1000, "tls", "cannot load certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := devConfig(t)
			tt.mod(cfg)
			o := quietOptions(cfg)
			o.Getuid = func() int { return tt.uid }
			s, err := Start(t.Context(), o)
			if err == nil {
				_ = s.Shutdown(t.Context())
				t.Fatal("Start succeeded")
			}
			var se *StartupError
			if !errors.As(err, &se) {
				t.Fatalf("err %T %v is not a *StartupError", err, err)
			}
			if se.Step != tt.step || !strings.Contains(err.Error(), tt.substr) {
				t.Fatalf("err = %q (step %q), want step %q containing %q", err, se.Step, tt.step, tt.substr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestRootAllowedWithFlagAndInDevelopment(t *testing.T) {
	cfg := devConfig(t)
	o := quietOptions(cfg)
	o.Getuid = func() int { return 0 }
	start(t, o) // development default: warning only

	cfg2 := devConfig(t)
	cfg2.File, cfg2.AllowRoot = "x.json", true
	o2 := quietOptions(cfg2)
	o2.Getuid = func() int { return 0 }
	start(t, o2)
}

// TestJobEnqueuedBeforeRestartRunsAfterIt: a job inserted while the
// server is down runs once the server is started again.
func TestJobEnqueuedBeforeRestartRunsAfterIt(t *testing.T) {
	cfg := devConfig(t)
	s := start(t, quietOptions(cfg))
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}

	db, err := store.Open(t.Context(), cfg.DB.DSN, store.RoleMain)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := jobs.New(db, jobs.Config{InsertOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ins.Insert(t.Context(), jobs.MaintenanceArgs{}, &river.InsertOpts{Tags: []string{"before-restart"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()

	o := quietOptions(cfg)
	o.JobPollInterval = 100 * time.Millisecond
	s2 := start(t, o)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var state string
		if err := s2.main.QueryRowContext(t.Context(), `SELECT state FROM river_job WHERE id = $1`, res.Job.ID).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job state %q 30 s after the restart, want completed", state)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The services' periodic steps run on River too (auth cleanup runs on
	// start).
	for {
		var n int
		if err := s2.main.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM river_job WHERE kind = 'step' AND json_extract(args, '$.name') = 'auth_cleanup' AND state = 'completed'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("auth_cleanup step did not complete")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestServeOnPostgres(t *testing.T) {
	base := os.Getenv(sqltest.EnvPostgres)
	if base == "" {
		t.Skip(sqltest.SkipMessage)
	}
	cfg := devConfig(t)
	for _, dst := range []*string{&cfg.DB.DSN, &cfg.Billing.DSN} {
		dsn, drop, err := sqltest.CreateDatabase(t.Context(), base)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(drop)
		*dst = dsn
	}
	if dir := os.Getenv(sqltest.EnvPostgresMark); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "app-TestServeOnPostgres"), nil, 0o600)
	}
	s := start(t, quietOptions(cfg))
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if code, body := get(t, c, s.Addrs["public"]+"/readyz"); code != 200 {
		t.Fatalf("/readyz on PostgreSQL = %d %s", code, body)
	}
	if s.main.Dialect != store.Postgres || s.billing.Dialect != store.Postgres {
		t.Fatal("not running on PostgreSQL")
	}
}

// testCert writes a self-signed ECDSA certificate for 127.0.0.1 and
// returns the file paths and the certificate.
func testCert(t *testing.T, dir, name string, client bool) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage:           []x509.ExtKeyUsage{usage},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile, cert
}

func TestTLSAndAdminListenerWithMTLS(t *testing.T) {
	dir := t.TempDir()
	srvCert, srvKey, srvX := testCert(t, dir, "server", false)
	cliCert, cliKey, cliX := testCert(t, dir, "operator", true)
	cfg := devConfig(t)
	cfg.TLS.Cert, cfg.TLS.Key = srvCert, srvKey
	cfg.Admin = config.Admin{Addr: "127.0.0.1:0", Cert: srvCert, Key: srvKey, ClientCA: cliCert}
	s := start(t, quietOptions(cfg))

	roots := x509.NewCertPool()
	roots.AddCert(srvX)
	plain := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: roots}}}
	pair, err := tls.LoadX509KeyPair(cliCert, cliKey)
	if err != nil {
		t.Fatal(err)
	}
	_ = cliX
	operator := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}}}}

	pub, adm := s.Addrs["public"], s.Addrs["admin"]
	if !strings.HasPrefix(pub, "https://") || !strings.HasPrefix(adm, "https://") {
		t.Fatalf("addrs %v not TLS", s.Addrs)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if code, _ := get(t, plain, pub+p); code != 404 {
			t.Errorf("public %s = %d, want 404 (admin only)", p, code)
		}
		if code, _ := get(t, operator, adm+p); code != 200 {
			t.Errorf("admin %s with client certificate = %d, want 200", p, code)
		}
	}
	if _, err := plain.Get(adm + "/healthz"); err == nil {
		t.Fatal("admin listener answered a client without certificate")
	}
}

// TestUpdateServiceGatesTheAPI: /v1/ requests without app version headers
// get 426 (refserver spec §3.4), GET /v1/app-versions answers, pages and
// unknown paths are not gated, and an outdated version is blocked.
func TestUpdateServiceGatesTheAPI(t *testing.T) {
	cfg := devConfig(t)
	cfg.AppVersions.Policies = []appversion.Policy{{Platform: "ios", MinimumVersion: "2.0.0"}}
	s := start(t, quietOptions(cfg))
	base := s.Addrs["public"]
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	do := func(path, platform, version string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if platform != "" {
			req.Header.Set("X-App-Platform", platform)
		}
		if version != "" {
			req.Header.Set("X-App-Version", version)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("Upgrade") != "" {
			t.Errorf("%s: Upgrade header on a %d", path, resp.StatusCode)
		}
		return resp.StatusCode, string(b)
	}
	if code, body := do("/v1/me/sessions", "", ""); code != 426 || !strings.Contains(body, "app-update-required") {
		t.Fatalf("no headers: %d %s", code, body)
	}
	if code, _ := do("/v1/me/sessions", "ios", "1.9.9"); code != 426 {
		t.Fatalf("below minimum: %d, want 426", code)
	}
	if code, _ := do("/v1/me/sessions", "ios", "2.0.0"); code != 401 {
		t.Fatalf("current version without token: %d, want 401", code)
	}
	if code, body := do("/v1/app-versions?platform=ios&version=1.0.0", "ios", "1.0.0"); code != 200 || !strings.Contains(body, "2.0.0") {
		t.Fatalf("/v1/app-versions: %d %s", code, body)
	}
	if code, _ := do("/no/such/page", "", ""); code != 404 {
		t.Fatalf("unknown path: %d, want 404 (not gated)", code)
	}
	if code, _ := do("/healthz", "", ""); code != 200 {
		t.Fatalf("/healthz gated: %d", code)
	}
}

func TestStrictTLSProfileNeedsFIPS(t *testing.T) {
	if fips140.Enabled() {
		t.Skip("fips140 is on: strict is allowed")
	}
	dir := t.TempDir()
	cert, key, _ := testCert(t, dir, "server", false)
	cfg := devConfig(t)
	cfg.TLS.Cert, cfg.TLS.Key, cfg.TLS.Profile = cert, key, "strict"
	_, err := Start(t.Context(), quietOptions(cfg))
	var se *StartupError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "fips140=on") {
		t.Fatalf("err = %v, want a start-up error naming fips140=on", err)
	}
}
