package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Audience is the resource audience of every access token (§2.1).
const Audience = "diga.api"

// ACR values of the refserver (§3.2.11).
const (
	ACRNormal      = "loa-normal"
	ACRSubstantial = "loa-substantial"
	ACRHigh        = "loa-high"
)

// ClientConfig registers one OAuth client.
type ClientConfig struct {
	// ID is the client_id.
	ID string
	// RedirectURIs are matched exactly; for a native client a loopback
	// http URI matches on any port (RFC 8252 §7.3).
	RedirectURIs []string
	// PostLogoutRedirectURIs are the allowed end_session targets.
	PostLogoutRedirectURIs []string
	// RequireNonce rejects authorization requests without nonce (the DiGA
	// app client); a conformance-test client leaves it false.
	RequireNonce bool
	// SecretSHA256 is the hex SHA-256 of the client secret of a
	// confidential client (resource servers that introspect). Empty means
	// a public native client (token_endpoint_auth_method none).
	SecretSHA256 string
}

// DevClientID is the public native client registered in the development
// default for example clients (redirect http://127.0.0.1/callback, any
// port).
const DevClientID = "digakit-dev"

// DevClient returns the development client registration (§1).
func DevClient() ClientConfig {
	return ClientConfig{ID: DevClientID, RedirectURIs: []string{"http://127.0.0.1/callback"},
		PostLogoutRedirectURIs: []string{"http://127.0.0.1/logged-out"}, RequireNonce: true}
}

// Config configures a Service. Zero durations take the defaults of
// refserver spec §3.2.9.
type Config struct {
	// DB is the main database (migrated with the 003xx auth migrations).
	DB *sql.DB
	// Keys are the symmetric keys (username index, probe ids, sealing).
	Keys Keys
	// SigningKeys supplies the ES256 keys.
	SigningKeys KeyProvider
	// Issuer returns the issuer URL; it is called per request so that the
	// server can set it after binding its listener.
	Issuer func() string
	// Clients are the registered OAuth clients.
	Clients []ClientConfig
	// Events receives the auth events. Nil logs them through Logger.
	Events EventSink
	// Logger receives operational log lines (never secrets).
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the randomness source; nil means crypto/rand.
	Rand io.Reader
	// Argon2 are the hashing parameters; zero means OWASPParams.
	Argon2 Argon2Params
	// HashConcurrency caps concurrent hashes (0 = 2 × GOMAXPROCS);
	// HashWait bounds the wait for a slot (0 = 2 s).
	HashConcurrency int
	HashWait        time.Duration
	// Limits are the rate-limit settings.
	Limits LimitConfig
	// AccessTokenTTL (5 min), IDTokenTTL (5 min), RefreshIdle (30 min),
	// RefreshAbsolute (12 h), BrowserIdle (15 min), BrowserAbsolute
	// (12 h), AuthRequestTTL (10 min), CodeTTL (60 s), PreAuthTTL
	// (5 min), StepUpMaxAge (5 min).
	AccessTokenTTL, IDTokenTTL, RefreshIdle, RefreshAbsolute time.Duration
	BrowserIdle, BrowserAbsolute, AuthRequestTTL, CodeTTL    time.Duration
	PreAuthTTL, StepUpMaxAge                                 time.Duration
	// AllowInsecure permits a plain-HTTP issuer (development default).
	AllowInsecure bool
	// RegistrationGate, when set, must accept the registration code
	// (Freischaltcode redemption) before an account is created.
	RegistrationGate func(ctx context.Context, code string) error
	// AppName labels the TOTP entry in the authenticator app.
	AppName string
	// WebAuthn enables security keys and passkeys as second factor when
	// set (off by default, §3.2.7).
	WebAuthn *webauthn.Config
	// Metrics, when set, receives the auth counters.
	Metrics prometheus.Registerer
}

func (c *Config) defaults() {
	d := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	d(&c.AccessTokenTTL, 5*time.Minute)
	d(&c.IDTokenTTL, 5*time.Minute)
	d(&c.RefreshIdle, 30*time.Minute)
	d(&c.RefreshAbsolute, 12*time.Hour)
	d(&c.BrowserIdle, 15*time.Minute)
	d(&c.BrowserAbsolute, 12*time.Hour)
	d(&c.AuthRequestTTL, 10*time.Minute)
	d(&c.CodeTTL, 60*time.Second)
	d(&c.PreAuthTTL, 5*time.Minute)
	d(&c.StepUpMaxAge, 5*time.Minute)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Argon2 == (Argon2Params{}) {
		c.Argon2 = OWASPParams
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Events == nil {
		c.Events = SlogSink{Logger: c.Logger}
	}
	if c.AppName == "" {
		c.AppName = "digakit"
	}
}

// Service is the auth service: the embedded OpenID provider, accounts,
// second factors, sessions and the login pages.
type Service struct {
	cfg      Config
	db       *sql.DB
	hasher   *Hasher
	limiter  *Limiter
	clients  map[string]*client
	provider *op.Provider
	storage  *opStorage
	verifier *Verifier
	metrics  *authMetrics
	wa       *webauthn.WebAuthn
}

// Errors of the service API.
var (
	// ErrConfig: the configuration is unusable.
	ErrConfig = errors.New("auth: invalid configuration")
)

// New builds the service. It does not start goroutines.
func New(cfg Config) (*Service, error) {
	cfg.defaults()
	if cfg.DB == nil || cfg.SigningKeys == nil || cfg.Issuer == nil {
		return nil, ErrConfig
	}
	s := &Service{cfg: cfg, db: cfg.DB, clients: map[string]*client{}}
	s.hasher = NewHasher(cfg.Argon2, cfg.HashConcurrency, cfg.HashWait, cfg.Rand)
	s.limiter = NewLimiter(cfg.Limits, cfg.Now)
	s.metrics = newAuthMetrics(cfg.Metrics)
	s.hasher.OnInflight = func(n int64) { s.metrics.argonInflight.Set(float64(n)) }
	s.hasher.OnWait = func(d time.Duration) { s.metrics.argonWait.Observe(d.Seconds()) }
	for _, c := range cfg.Clients {
		if c.ID == "" || len(c.RedirectURIs) == 0 {
			return nil, ErrConfig
		}
		s.clients[c.ID] = &client{cfg: c, svc: s}
	}
	if cfg.WebAuthn != nil {
		wa, err := webauthn.New(cfg.WebAuthn)
		if err != nil {
			return nil, ErrConfig
		}
		s.wa = wa
	}
	s.storage = &opStorage{s: s}
	opts := []op.Option{}
	if cfg.AllowInsecure {
		opts = append(opts, op.WithAllowInsecure())
	}
	p, err := op.NewProvider(&op.Config{
		CryptoKey:                cfg.Keys.OPCrypto,
		DefaultLogoutRedirectURI: "/login/logged-out",
		CodeMethodS256:           true,
		AuthMethodPost:           false,
		AuthMethodPrivateKeyJWT:  false,
		GrantTypeRefreshToken:    true,
		RequestObjectSupported:   false,
		SupportedUILocales:       []language.Tag{language.German, language.English},
		SupportedScopes:          []string{"openid", "offline_access", Audience},
	}, s.storage, func(bool) (op.IssuerFromRequest, error) {
		return func(*http.Request) string { return cfg.Issuer() }, nil
	}, opts...)
	if err != nil {
		return nil, ErrConfig
	}
	s.provider = p
	s.verifier = &Verifier{Keys: cfg.SigningKeys, Issuer: cfg.Issuer, Now: cfg.Now, Revoked: s.sessionRevoked}
	return s, nil
}

// Hasher returns the password hasher (tests count its calls).
func (s *Service) Hasher() *Hasher { return s.hasher }

// Verifier returns the API access-token verifier.
func (s *Service) Verifier() *Verifier { return s.verifier }

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

func (s *Service) emit(ctx context.Context, typ, reason, actor string, attrs map[string]string) {
	s.cfg.Events.Emit(ctx, Event{Time: s.now(), Type: typ, Reason: reason, Actor: actor, Attrs: attrs})
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }
