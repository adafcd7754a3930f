package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/digakit/digakit/kassenapi/xrechnung"
	"github.com/digakit/digakit/refserver/internal/appversion"
	"github.com/digakit/digakit/refserver/internal/store"
	"github.com/digakit/digakit/refserver/internal/tlsconf"
)

// Defaults of the development layout (refserver spec §1).
const (
	DefaultAddr = "127.0.0.1:8080"
	DefaultData = "./digakit-data"
)

// Config is the server configuration. The JSON member names are the
// config file's.
type Config struct {
	// Addr is the listen address HOST:PORT. Default 127.0.0.1:8080.
	Addr string `json:"addr"`
	// Data is the data directory (SQLite files, generated keys), created
	// with mode 0700. Default ./digakit-data.
	Data string `json:"data"`
	// DB is the main database. Default sqlite:<Data>/digakit.db.
	DB Database `json:"db"`
	// Billing is the billing ledger, a separate database with its own
	// credentials. Default sqlite:<Data>/billing.db.
	Billing Database `json:"billing"`
	// TLS enables TLS on the public listener when both files are set.
	TLS TLS `json:"tls"`
	// Admin, when Addr is set, moves /healthz, /readyz and /metrics to a
	// separate listener (the production layout); with ClientCA set that
	// listener requires client certificates (mTLS).
	Admin Admin `json:"admin"`
	// Log sets the log level: debug, info (default), warn or error.
	Log Log `json:"log"`
	// Jobs tunes the River job runner.
	Jobs Jobs `json:"jobs"`
	// AppVersions configures the update service (minimum app versions).
	AppVersions AppVersions `json:"app_versions"`
	// Kasse configures the insurers' API client, redemption and billing.
	// Without it (and without the sandbox) the redemption endpoints are
	// not served.
	Kasse *Kasse `json:"kasse,omitempty"`
	// Audit configures where audit checkpoints and alerts go besides the
	// local checkpoint directory and the log.
	Audit AuditSinks `json:"audit"`
	// Auth configures the auth service (refserver spec §3.2).
	Auth Auth `json:"auth"`
	// Sandbox starts the fake peers in-process for every peer that is not
	// configured. Default true without a config file, false with one. A
	// production build refuses it.
	Sandbox *bool `json:"sandbox,omitempty"`

	// File is the path the configuration was read from ("" for none).
	File string `json:"-"`
	// AllowRoot lets the server start as uid 0 (flag only).
	AllowRoot bool `json:"-"`
}

// Database is one database setting.
type Database struct {
	// DSN is sqlite:PATH, sqlite:///abs/path or postgres://… (no password).
	DSN string `json:"dsn"`
}

// TLS names a certificate chain and key in PEM files.
type TLS struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
	// Profile is the TLS profile (refserver spec §3.5): "strict" (needs
	// GODEBUG=fips140=on) or "compat". Default "compat" in the
	// development layout, "strict" with a configuration file.
	Profile string `json:"profile"`
}

// Admin is the optional admin listener.
type Admin struct {
	Addr     string `json:"addr"`
	Cert     string `json:"cert"`
	Key      string `json:"key"`
	ClientCA string `json:"client_ca"`
	// Profile is the admin listener's TLS profile. Default: tls.profile.
	Profile string `json:"profile"`
}

// Kasse configures the insurers' API (kassenapi spec A3) and the
// redemption and billing service (kassenapi spec B3). File settings name
// PEM or data files; no secret stands in the configuration itself.
type Kasse struct {
	// ManufacturerIK is our IK (9 digits); DiGAID our 5-digit DiGA-ID.
	ManufacturerIK string `json:"manufacturer_ik"`
	DiGAID         string `json:"diga_id"`
	// IdentityKey and IdentityCert are the ITSG identity: the private key
	// (PEM) and our certificate chain (PEM or .p7c).
	IdentityKey  string `json:"identity_key"`
	IdentityCert string `json:"identity_cert"`
	// KeyListURL is the ITSG key list; DirectoryURL the insurers'
	// endpoint directory (raw XML or ZIP). Both are refreshed daily.
	KeyListURL   string `json:"key_list_url"`
	DirectoryURL string `json:"directory_url"`
	// RootCA optionally adds a PEM file of TLS roots for the insurers'
	// endpoints (the system roots stay).
	RootCA string `json:"root_ca,omitempty"`
	// AllowTestCodes accepts 77… test codes through the T-procedures,
	// sent to the insurer with prefix TestPrefix. Never in production.
	AllowTestCodes bool   `json:"allow_test_codes,omitempty"`
	TestPrefix     string `json:"test_prefix,omitempty"`
	// Seller is the invoice seller (our company): ik, name, vatid or
	// taxnumber, contact {name, phone, email}, address {street, postcode,
	// city, country}.
	Seller xrechnung.Party `json:"seller"`
	// Catalog is a JSON file with the prices per DiGA-VE-ID
	// (xrechnung.Catalog).
	Catalog string `json:"catalog"`
	// NumberPrefix prefixes invoice numbers. Default "DG".
	NumberPrefix string `json:"number_prefix,omitempty"`
	// OperatorTokenFile holds the bearer token of the billing operator
	// endpoints. Empty: generated into <data>/keys/operator-token.
	OperatorTokenFile string `json:"operator_token_file,omitempty"`
}

// AuditSinks names the separate places of the audit trail (audit spec
// §3.4, §3.7). Tokens come from files, never from the configuration.
type AuditSinks struct {
	// CheckpointURL receives every signed checkpoint by HTTP POST (a
	// place outside this server). Empty: only <data>/checkpoints.
	CheckpointURL string `json:"checkpoint_url,omitempty"`
	// CheckpointTokenFile holds the bearer token for CheckpointURL.
	CheckpointTokenFile string `json:"checkpoint_token_file,omitempty"`
	// AlertURL is an Alertmanager (v2 API) base URL for detection alerts.
	// Empty: alerts go to the log and the metric only.
	AlertURL string `json:"alert_url,omitempty"`
	// AlertTokenFile holds the bearer token for AlertURL.
	AlertTokenFile string `json:"alert_token_file,omitempty"`
	// RunbookBaseURL prefixes runbook ids in alerts, e.g.
	// "https://git.example/digakit/docs/runbooks.md#".
	RunbookBaseURL string `json:"runbook_base_url,omitempty"`
}

// AppVersions configures the update service (refserver spec §3.4).
type AppVersions struct {
	// Policies are the start policies per platform; policies stored with
	// `digakit app-policy set` (or the admin API) win over them.
	Policies []appversion.Policy `json:"policies"`
	// RefreshSeconds is how often stored policies are re-read (other
	// replicas' changes). Zero means 30.
	RefreshSeconds int `json:"refresh_seconds"`
	// Exempt replaces the default list of routes that are never gated.
	// Nil means appversion.DefaultExempt.
	Exempt []string `json:"exempt,omitempty"`
}

// Log holds logging settings.
type Log struct {
	Level string `json:"level"`
}

// Jobs holds job runner settings.
type Jobs struct {
	// MaxWorkers bounds concurrent jobs. Zero means 4.
	MaxWorkers int `json:"max_workers"`
}

// Auth holds the auth service settings (refserver spec §3.2). Zero
// values take the documented defaults.
type Auth struct {
	// Issuer is the public issuer URL. Default: the public listener's URL.
	Issuer string `json:"issuer"`
	// AccessTokenTTLSeconds is the access-token lifetime. Default 300.
	AccessTokenTTLSeconds int `json:"access_token_ttl_seconds"`
	// Argon2 overrides the argon2id parameters. Default (OWASP):
	// memory_kib 19456, iterations 2, parallelism 1.
	Argon2 Argon2 `json:"argon2"`
	// Clients are the registered OAuth clients. The development default
	// registers the public native client digakit-dev.
	Clients []AuthClient `json:"clients"`
}

// Argon2 are argon2id parameters.
type Argon2 struct {
	MemoryKiB   uint32 `json:"memory_kib"`
	Iterations  uint32 `json:"iterations"`
	Parallelism uint8  `json:"parallelism"`
}

// AuthClient registers one public native OAuth client.
type AuthClient struct {
	ID                     string   `json:"id"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	// RequireNonce rejects authorization requests without nonce (true
	// for the DiGA app).
	RequireNonce bool `json:"require_nonce"`
}

// Flags are the command-line settings; empty strings are unset.
type Flags struct {
	Addr, Data, Config, TLSCert, TLSKey string
	AllowRoot                           bool
}

// Load builds the configuration from the file named in f (if any), the
// environment (getenv) and the flags, then fills defaults. It returns an
// error for an unreadable or malformed file; call Validate for the
// semantic checks.
func Load(f Flags, getenv func(string) string) (*Config, error) {
	c := &Config{}
	if f.Config != "" {
		b, err := os.ReadFile(f.Config)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("config: cannot read %s: %v", f.Config, pe.Err)
			}
			return nil, fmt.Errorf("config: cannot read %s", f.Config)
		}
		if err := decodeStrict(b, c); err != nil {
			return nil, fmt.Errorf("config: %s: %w", f.Config, err)
		}
		c.File = f.Config
	}
	for _, e := range []struct {
		name string
		dst  *string
	}{
		{"DIGAKIT_ADDR", &c.Addr},
		{"DIGAKIT_DATA", &c.Data},
		{"DIGAKIT_DB_DSN", &c.DB.DSN},
		{"DIGAKIT_BILLING_DSN", &c.Billing.DSN},
		{"DIGAKIT_TLS_CERT", &c.TLS.Cert},
		{"DIGAKIT_TLS_KEY", &c.TLS.Key},
		{"DIGAKIT_LOG_LEVEL", &c.Log.Level},
	} {
		if v := getenv(e.name); v != "" {
			*e.dst = v
		}
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.Addr, f.Addr)
	set(&c.Data, f.Data)
	set(&c.TLS.Cert, f.TLSCert)
	set(&c.TLS.Key, f.TLSKey)
	c.AllowRoot = f.AllowRoot

	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Data == "" {
		c.Data = DefaultData
	}
	if c.DB.DSN == "" {
		c.DB.DSN = "sqlite:" + filepath.Join(c.Data, "digakit.db")
	}
	if c.Billing.DSN == "" {
		c.Billing.DSN = "sqlite:" + filepath.Join(c.Data, "billing.db")
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.TLS.Profile == "" {
		c.TLS.Profile = "strict"
		if c.File == "" {
			c.TLS.Profile = "compat"
		}
	}
	if c.Admin.Profile == "" {
		c.Admin.Profile = c.TLS.Profile
	}
	if c.AppVersions.RefreshSeconds == 0 {
		c.AppVersions.RefreshSeconds = 30
	}
	if c.Sandbox == nil {
		dev := c.File == ""
		c.Sandbox = &dev
	}
	return c, nil
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("invalid JSON at byte %d", se.Offset)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("member %q has the wrong type", te.Field)
		}
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			return fmt.Errorf("unknown member %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return errors.New("invalid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}

// Production reports whether the configuration is the production layout
// (a configuration file was given).
func (c *Config) Production() bool { return c.File != "" }

// SandboxEnabled reports whether fake peers are started in-process.
func (c *Config) SandboxEnabled() bool { return c.Sandbox != nil && *c.Sandbox }

// LogLevel returns the configured slog level.
func (c *Config) LogLevel() slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.Log.Level))
	return l
}

var (
	ikPattern     = regexp.MustCompile(`^[0-9]{9}$`)
	digaIDPattern = regexp.MustCompile(`^[0-9]{5}$`)
)

// Problem is one configuration problem.
type Problem struct {
	// Field is the JSON path of the setting.
	Field string
	// Message says what is wrong, without secret values.
	Message string
}

func (p Problem) String() string { return p.Field + ": " + p.Message }

// ValidationError lists every problem found.
type ValidationError struct{ Problems []Problem }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "config: " + strings.Join(parts, "; ")
}

// Validate checks everything that can be checked without starting
// anything: addresses, DSN schemes, TLS file pairs, log level.
func (c *Config) Validate() error {
	var ps []Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		add("addr", "want HOST:PORT")
	}
	if c.Data == "" {
		add("data", "must not be empty")
	}
	for _, d := range []struct {
		field string
		dsn   string
	}{{"db.dsn", c.DB.DSN}, {"billing.dsn", c.Billing.DSN}} {
		if _, err := store.ParseDSN(d.dsn); err != nil {
			add(d.field, "%s", strings.TrimPrefix(err.Error(), "store: "))
		}
	}
	if c.DB.DSN == c.Billing.DSN {
		add("billing.dsn", "must name a database other than db.dsn")
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		add("tls", "cert and key must be given together")
	}
	if c.Admin.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Admin.Addr); err != nil {
			add("admin.addr", "want HOST:PORT")
		}
		if c.Admin.Addr == c.Addr && !strings.HasSuffix(c.Addr, ":0") {
			add("admin.addr", "must differ from addr")
		}
		if (c.Admin.Cert == "") != (c.Admin.Key == "") {
			add("admin", "cert and key must be given together")
		}
		if c.Admin.ClientCA != "" && c.Admin.Cert == "" {
			add("admin.client_ca", "needs admin.cert and admin.key (mTLS)")
		}
	}
	for _, p := range []struct{ field, v string }{{"tls.profile", c.TLS.Profile}, {"admin.profile", c.Admin.Profile}} {
		if _, err := tlsconf.ParseProfile(p.v); err != nil {
			add(p.field, "want strict or compat")
		}
	}
	if c.AppVersions.RefreshSeconds < 1 || c.AppVersions.RefreshSeconds > 86400 {
		add("app_versions.refresh_seconds", "want 1..86400")
	}
	seen := map[appversion.Platform]bool{}
	for i, p := range c.AppVersions.Policies {
		if err := p.Validate(); err != nil {
			add(fmt.Sprintf("app_versions.policies[%d]", i), "%s", err)
		} else if seen[p.Platform] {
			add(fmt.Sprintf("app_versions.policies[%d]", i), "second policy for platform %s", p.Platform)
		}
		seen[p.Platform] = true
	}
	for _, u := range []struct{ field, v string }{
		{"audit.checkpoint_url", c.Audit.CheckpointURL}, {"audit.alert_url", c.Audit.AlertURL},
	} {
		if u.v != "" && !strings.HasPrefix(u.v, "https://") && !(strings.HasPrefix(u.v, "http://") && !c.Production()) {
			add(u.field, "want an https URL")
		}
	}
	if k := c.Kasse; k != nil {
		if !ikPattern.MatchString(k.ManufacturerIK) {
			add("kasse.manufacturer_ik", "want 9 digits")
		}
		if !digaIDPattern.MatchString(k.DiGAID) {
			add("kasse.diga_id", "want 5 digits")
		}
		for _, f := range []struct{ field, v string }{
			{"kasse.identity_key", k.IdentityKey}, {"kasse.identity_cert", k.IdentityCert},
			{"kasse.key_list_url", k.KeyListURL}, {"kasse.directory_url", k.DirectoryURL}, {"kasse.catalog", k.Catalog},
		} {
			if f.v == "" {
				add(f.field, "required")
			}
		}
		if k.AllowTestCodes && k.TestPrefix == "" {
			add("kasse.test_prefix", "required with allow_test_codes")
		}
		if k.Seller.IK != "" && k.Seller.IK != k.ManufacturerIK {
			add("kasse.seller.ik", "must equal kasse.manufacturer_ik")
		}
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.Log.Level)); err != nil {
		add("log.level", "want debug, info, warn or error")
	}
	if c.Jobs.MaxWorkers < 0 || c.Jobs.MaxWorkers > 1000 {
		add("jobs.max_workers", "want 0..1000")
	}
	if c.Auth.Issuer != "" {
		if u, err := url.Parse(c.Auth.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			add("auth.issuer", "want an absolute http(s) URL without query or fragment")
		}
	}
	if c.Auth.AccessTokenTTLSeconds < 0 || c.Auth.AccessTokenTTLSeconds > 3600 {
		add("auth.access_token_ttl_seconds", "want 0..3600")
	}
	if a := c.Auth.Argon2; a != (Argon2{}) && (a.MemoryKiB < 8*uint32(max(a.Parallelism, 1)) || a.Iterations < 1 || a.Parallelism < 1) {
		add("auth.argon2", "want memory_kib >= 8*parallelism, iterations >= 1, parallelism >= 1")
	}
	for i, cl := range c.Auth.Clients {
		if cl.ID == "" || len(cl.RedirectURIs) == 0 {
			add(fmt.Sprintf("auth.clients[%d]", i), "needs id and redirect_uris")
		}
	}
	if len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}
