package kassenapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/digakit/digakit/internal/cms"
)

// Version is sent in the User-Agent header.
const Version = "0.1.0"

// MaxResponseSize is the default cap of an answer body (spec A2.5).
const MaxResponseSize = 4 << 20

// VerifyMode selects how the insurer's signature on answers is checked
// (spec A3 "VerifyMode").
type VerifyMode = cms.VerifyMode

// Verify modes.
const (
	// VerifyLenient (default): check, but a failure is only a warning.
	VerifyLenient = cms.VerifyLenient
	// VerifyStrict: an unknown signer or a bad signature is a CryptoError.
	VerifyStrict = cms.VerifyStrict
	// VerifyOff: no signature checks.
	VerifyOff = cms.VerifyOff
)

// DirectoryProvider gives the current endpoint directory, for example an
// Updater or a fixed snapshot ([StaticDirectory]). If it also implements
// Refresh(ctx) (bool, error), an unknown prefix triggers one refresh.
type DirectoryProvider interface{ Current() *Directory }

// KeyListProvider gives the current ITSG key list. If it also implements
// Refresh(ctx) (bool, error), a missing certificate triggers one refresh.
type KeyListProvider interface{ Current() *KeyList }

type refresher interface {
	Refresh(ctx context.Context) (bool, error)
}

// StaticDirectory is a DirectoryProvider with a fixed snapshot.
type StaticDirectory struct{ D *Directory }

// Current returns the snapshot.
func (s StaticDirectory) Current() *Directory { return s.D }

// StaticKeyList is a KeyListProvider with a fixed key list.
type StaticKeyList struct{ K *KeyList }

// Current returns the key list.
func (s StaticKeyList) Current() *KeyList { return s.K }

// RetryPolicy bounds the client's own retries of code checks (spec A3
// "Client retries"). Invoices are retried only when nothing was sent.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts including the first. Default
	// 3; 1 disables retries.
	MaxAttempts int
	// Delays are the waits before attempt 2, 3, …; the last one repeats.
	// Default 1 s, 2 s.
	Delays []time.Duration
	// Jitter is the relative random spread of each wait. Default 0.2.
	Jitter float64
	// MaxRetryAfter caps a server's Retry-After. Default 10 s.
	MaxRetryAfter time.Duration
}

// Config configures a Client. Required: ManufacturerIK, DiGAID, Identity,
// Directory and Keys. Every other zero value selects the documented
// default.
type Config struct {
	// ManufacturerIK is our IK (HTTP iksender, XML absender).
	ManufacturerIK string
	// DiGAID is the 5-digit BfArM DiGA-ID sent in code checks.
	DiGAID string
	// Identity signs requests, is the TLS client certificate (sent with
	// its chain) and decrypts answers (with its previous key pairs).
	Identity *Identity
	// Directory resolves prefixes to insurer endpoints.
	Directory DirectoryProvider
	// Keys holds the clearing offices' certificates.
	Keys KeyListProvider

	// HTTPClient is used as is when set. Nil: a client built from
	// Identity (TLS ≥ 1.2, HTTP/1.1, client certificate with chain, dial
	// and TLS handshake timeouts of 10 s).
	HTTPClient *http.Client
	// ExtraRootCAs are trusted in addition to the system roots when
	// HTTPClient is nil.
	ExtraRootCAs []*x509.Certificate
	// CheckTimeout bounds one code-check exchange. Default 30 s.
	CheckTimeout time.Duration
	// InvoiceTimeout bounds one invoice exchange. Default 60 s.
	InvoiceTimeout time.Duration
	// EndpointTimeouts overrides both timeouts per endpoint URL (as in the
	// directory, "https://host/path/diga"), for slow endpoints.
	EndpointTimeouts map[string]time.Duration
	// Retry bounds code-check retries.
	Retry RetryPolicy
	// Breaker configures the per-endpoint circuit breaker.
	Breaker BreakerPolicy
	// Verify is the answer signature mode. Default VerifyLenient.
	Verify VerifyMode
	// AllowTestCodes enables the test procedures TDFC0/TDRE0 and test
	// codes (prefix 77). Default false: ErrTestCodeNotAllowed.
	AllowTestCodes bool
	// TestPrefix is the directory prefix whose endpoint receives test
	// codes passed to ValidateCode (77 is not in the directory).
	TestPrefix string
	// MaxConcurrentPerEndpoint bounds the exchanges in flight per endpoint
	// URL, including the signing and decryption around them; further calls
	// wait for a slot (honouring ctx). It bounds memory and protects the
	// insurer. Default 128; negative: unlimited.
	MaxConcurrentPerEndpoint int
	// MaxResponseSize caps an answer body. Default 4 MiB.
	MaxResponseSize int64
	// Logger receives warnings (never codes or payloads). Nil: discard.
	Logger *slog.Logger
	// Clock returns the current time. Nil: time.Now.
	Clock func() time.Time
	// Rand is the randomness for keys, salts and jitter. Nil: crypto/rand.
	Rand io.Reader
	// Sleep waits between retries. Nil: a timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client talks to the insurers' DiGA API. It is safe for concurrent use
// and starts no goroutines.
type Client struct {
	cfg      Config
	http     *http.Client
	breakers *breakers
	log      *slog.Logger

	slotsMu sync.Mutex
	slots   map[string]chan struct{}

	refreshMu   sync.Mutex
	lastDirRef  time.Time
	lastKeysRef time.Time
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	switch {
	case !reIK.MatchString(cfg.ManufacturerIK):
		return nil, errors.New("kassenapi: Config.ManufacturerIK must have 9 digits")
	case !reDiGA.MatchString(cfg.DiGAID):
		return nil, errors.New("kassenapi: Config.DiGAID must have 5 digits")
	case cfg.Identity == nil || cfg.Identity.Cert == nil || cfg.Identity.Key == nil:
		return nil, errors.New("kassenapi: Config.Identity with certificate and key is required")
	case cfg.Directory == nil:
		return nil, errors.New("kassenapi: Config.Directory is required")
	case cfg.Keys == nil:
		return nil, errors.New("kassenapi: Config.Keys is required")
	case cfg.Identity.IK != "" && cfg.Identity.IK != cfg.ManufacturerIK:
		return nil, errors.New("kassenapi: the identity certificate's IK differs from Config.ManufacturerIK")
	}
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = 30 * time.Second
	}
	if cfg.InvoiceTimeout <= 0 {
		cfg.InvoiceTimeout = 60 * time.Second
	}
	if cfg.Retry.MaxAttempts <= 0 {
		cfg.Retry.MaxAttempts = 3
	}
	if len(cfg.Retry.Delays) == 0 {
		cfg.Retry.Delays = []time.Duration{time.Second, 2 * time.Second}
	}
	if cfg.Retry.Jitter == 0 {
		cfg.Retry.Jitter = 0.2
	}
	if cfg.Retry.MaxRetryAfter <= 0 {
		cfg.Retry.MaxRetryAfter = 10 * time.Second
	}
	if cfg.MaxConcurrentPerEndpoint == 0 {
		cfg.MaxConcurrentPerEndpoint = 128
	}
	if cfg.MaxResponseSize <= 0 {
		cfg.MaxResponseSize = MaxResponseSize
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	c := &Client{cfg: cfg, breakers: newBreakers(cfg.Breaker), log: cfg.Logger, slots: map[string]chan struct{}{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.http = cfg.HTTPClient
	if c.http == nil {
		hc, err := NewHTTPClient(cfg.Identity, cfg.ExtraRootCAs)
		if err != nil {
			return nil, err
		}
		c.http = hc
	}
	return c, nil
}

// NewHTTPClient returns the HTTP client of spec A2.5: TLS ≥ 1.2 with the
// identity's certificate and chain as client certificate (a leaf-only
// chain gets unknown_ca), system roots plus extra, HTTP/1.1, dial and TLS
// handshake timeouts of 10 s.
//
// REQ: kassenapi-spec:A2.5
func NewHTTPClient(id *Identity, extraRoots []*x509.Certificate) (*http.Client, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	for _, r := range extraRoots {
		roots.AddCert(r)
	}
	chain := [][]byte{id.Cert.Raw}
	for _, c := range id.Chain {
		chain = append(chain, c.Raw)
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			RootCAs:      roots,
			Certificates: []tls.Certificate{{Certificate: chain, PrivateKey: id.Key, Leaf: id.Cert}},
		},
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

// CloseIdleConnections releases idle keep-alive connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Exchange is the protocol record of one HTTP exchange (TA §4.4); retries
// produce several. It contains the Code (redacted when printed).
//
// REQ: kassenapi-spec:A3, GKV-TA:4.4
type Exchange struct {
	At            time.Time
	Duration      time.Duration
	Procedure     string
	URL           string
	SenderIK      string // iksender
	ReceiverIK    string // ikempfaenger = IK_Abrechnungsstelle
	InsurerIK     string // Kostentraegerkennung
	Code          Code
	InvoiceNumber string
	Attempt       int
	OK            bool  // a usable, verified answer (ANT, FEH or report)
	Sent          bool  // the request was completely written
	FehlerNummern []int // FEH numbers of the answer
	HTTPStatus    int
	Class         ErrorClass
	Error         string // redacted error text, "" on success
}

// CodeCheck is the result of a successful code check.
type CodeCheck struct {
	Code       Code
	Route      Route
	Procedure  string // EDFC0 or TDFC0
	VEID       string // DiGA-VE-ID: DiGA-ID + 3 digits of the Verordnungseinheit
	ServiceDay Date   // Tag der Leistungserbringung
	Warnings   []string
	// RequestXML and ResponseXML contain the code: store them encrypted.
	// They print redacted.
	RequestXML, ResponseXML Sensitive
	Exchanges               []Exchange
}

// ValidateCode checks a Freischaltcode with the insurer (EDFC0) and
// returns the DiGA-VE-ID and the day of service, or a typed error:
// *InsurerError (FEH; Rejected 100/101/102, Internal 200, Transient
// 201/202), *TransportError, *ProtocolError, *CryptoError, a directory
// error or ErrTestCodeNotAllowed. A test code (77…) is checked with TDFC0
// via Config.TestPrefix and only when AllowTestCodes is set. Use
// ExchangesOf(err) for the protocol records of a failure.
//
// REQ: kassenapi-spec:A3, kassenapi-spec:A4
func (c *Client) ValidateCode(ctx context.Context, code Code) (*CodeCheck, error) {
	if code.IsTest() {
		if !c.cfg.AllowTestCodes {
			return nil, ErrTestCodeNotAllowed
		}
		if c.cfg.TestPrefix == "" {
			return nil, &ConfigError{Err: errors.New("kassenapi: Config.TestPrefix is required for test codes")}
		}
		return c.check(ctx, code, ProcedureCheckTest, c.cfg.TestPrefix)
	}
	return c.check(ctx, code, ProcedureCheck, code.Prefix())
}

// ValidateTestCode checks a code with the test procedure TDFC0 at the
// endpoint of viaPrefix (spec A2.3). It requires AllowTestCodes.
func (c *Client) ValidateTestCode(ctx context.Context, code Code, viaPrefix string) (*CodeCheck, error) {
	if !c.cfg.AllowTestCodes {
		return nil, ErrTestCodeNotAllowed
	}
	return c.check(ctx, code, ProcedureCheckTest, viaPrefix)
}

// route resolves a prefix, refreshing the directory once on an unknown
// prefix (at most once per 10 minutes).
func (c *Client) route(ctx context.Context, prefix string) (Route, error) {
	now := c.cfg.Clock()
	d := c.cfg.Directory.Current()
	if d == nil {
		if !c.refresh(ctx, c.cfg.Directory, &c.lastDirRef) {
			return Route{}, ErrDirectoryUnavailable
		}
		if d = c.cfg.Directory.Current(); d == nil {
			return Route{}, ErrDirectoryUnavailable
		}
	}
	r, err := d.Route(prefix, DateOf(now))
	if errors.Is(err, ErrUnknownPrefix) && c.refresh(ctx, c.cfg.Directory, &c.lastDirRef) {
		if d = c.cfg.Directory.Current(); d != nil {
			r, err = d.Route(prefix, DateOf(now))
		}
	}
	return r, err
}

// staleRefresher is the on-demand refresh of an Updater, which keeps its
// own minimum interval and single flight.
type staleRefresher interface {
	RefreshIfStale(ctx context.Context) (bool, error)
}

// refresh triggers one on-demand refresh of a provider: RefreshIfStale
// when the provider has it (Updater), else Refresh at most once per 10
// minutes. It reports whether a refresh ran without error.
func (c *Client) refresh(ctx context.Context, p any, last *time.Time) bool {
	if sr, ok := p.(staleRefresher); ok {
		_, err := sr.RefreshIfStale(ctx)
		return err == nil
	}
	rf, ok := p.(refresher)
	if !ok {
		return false
	}
	c.refreshMu.Lock()
	now := c.cfg.Clock()
	if !last.IsZero() && now.Sub(*last) < 10*time.Minute {
		c.refreshMu.Unlock()
		return false
	}
	*last = now
	c.refreshMu.Unlock()
	_, err := rf.Refresh(ctx)
	return err == nil
}

// recipientCert picks the clearing office's encryption certificate,
// refreshing the key list once when none is valid.
func (c *Client) recipientCert(ctx context.Context, ik string) (*x509.Certificate, error) {
	now := c.cfg.Clock()
	kl := c.cfg.Keys.Current()
	var cert *x509.Certificate
	err := ErrNoCertificate
	if kl != nil {
		cert, err = kl.EncryptionCert(ik, now)
	}
	if err != nil && c.refresh(ctx, c.cfg.Keys, &c.lastKeysRef) {
		if kl = c.cfg.Keys.Current(); kl != nil {
			cert, err = kl.EncryptionCert(ik, now)
		}
	}
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	return cert, nil
}

// exchangeSpec is one prepared request.
type exchangeSpec struct {
	procedure string
	entry     Entry
	body      []byte
	ctype     string
	timeout   time.Duration
	code      Code
	invoiceNo string
	attempt   int
}

// exchangeResult is the outcome of one HTTP exchange.
type exchangeResult struct {
	ex         Exchange
	content    []byte // verified, decrypted payload
	reply      *Reply
	warnings   []string
	retryAfter time.Duration
	err        error
}

// acquire takes an in-flight slot for url; release it with the returned
// func. Waiting ends with ctx.
func (c *Client) acquire(ctx context.Context, url string) (func(), error) {
	if c.cfg.MaxConcurrentPerEndpoint < 0 {
		return func() {}, nil
	}
	c.slotsMu.Lock()
	ch := c.slots[url]
	if ch == nil {
		ch = make(chan struct{}, c.cfg.MaxConcurrentPerEndpoint)
		c.slots[url] = ch
	}
	c.slotsMu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, &TransportError{URL: url, Class: ClassTransient, Err: ctx.Err()}
	}
}

// seal builds the SECON message for an entry.
func (c *Client) seal(ctx context.Context, entry Entry, xmlBody []byte) ([]byte, error) {
	cert, err := c.recipientCert(ctx, entry.ClearingIK)
	if err != nil {
		return nil, err
	}
	msg, err := cms.Seal(xmlBody, c.cfg.Identity.Key, c.cfg.Identity.Cert, cert,
		&cms.SignOptions{Rand: c.cfg.Rand, SigningTime: c.cfg.Clock()},
		&cms.EncryptOptions{Rand: c.cfg.Rand})
	if err != nil {
		return nil, &CryptoError{Op: "seal", Err: err, Class: ClassConfig}
	}
	return msg, nil
}

func (c *Client) timeoutFor(url string, def time.Duration) time.Duration {
	if t, ok := c.cfg.EndpointTimeouts[url]; ok && t > 0 {
		return t
	}
	return def
}

// do performs one HTTP exchange, decrypts and verifies the answer.
func (c *Client) do(ctx context.Context, s exchangeSpec) exchangeResult {
	start := c.cfg.Clock()
	e := s.entry
	res := exchangeResult{ex: Exchange{
		At: start, Procedure: s.procedure, URL: e.URL, SenderIK: c.cfg.ManufacturerIK,
		ReceiverIK: e.ClearingIK, InsurerIK: e.IK, Code: s.code, InvoiceNumber: s.invoiceNo, Attempt: s.attempt,
	}}
	finish := func(err error) exchangeResult {
		res.err = err
		res.ex.Duration = c.cfg.Clock().Sub(start)
		res.ex.Class = ClassOf(err)
		if err != nil {
			res.ex.Error = err.Error()
		}
		res.ex.OK = err == nil
		return res
	}
	if !c.breakers.allow(e.URL, start) {
		return finish(&TransportError{URL: e.URL, Class: ClassTransient, Err: errors.New("circuit breaker open")})
	}
	r := c.roundTrip(ctx, s, &res)
	if ctx.Err() != nil {
		// The caller cancelled: says nothing about the endpoint.
		c.breakers.abandon(e.URL)
	} else {
		c.breakers.report(e.URL, ClassOf(r.err), c.cfg.Clock())
	}
	return finish(r.err)
}

type rtResult struct{ err error }

func (c *Client) roundTrip(ctx context.Context, s exchangeSpec, res *exchangeResult) rtResult {
	url := s.entry.URL
	ctx, cancel := context.WithTimeout(ctx, c.timeoutFor(url, s.timeout))
	defer cancel()
	var sentMu sync.Mutex
	sent := false
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			sentMu.Lock()
			sent = true
			sentMu.Unlock()
		}
	}}
	isSent := func() bool { sentMu.Lock(); defer sentMu.Unlock(); return sent }
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, url, bytes.NewReader(s.body))
	if err != nil {
		return rtResult{&TransportError{URL: url, Class: ClassInternal, Err: err}}
	}
	req.Header.Set("Content-Type", s.ctype)
	req.Header.Set("User-Agent", "digakit-kassenapi/"+Version)
	req.Header.Set("Accept", "multipart/form-data, */*")
	resp, err := c.http.Do(req)
	if err != nil {
		res.ex.Sent = isSent()
		return rtResult{c.transportError(url, err, res.ex.Sent)}
	}
	defer resp.Body.Close()
	res.ex.Sent = true
	res.ex.HTTPStatus = resp.StatusCode
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxResponseSize+1))
	if err != nil {
		return rtResult{c.transportError(url, err, true)}
	}
	if int64(len(body)) > c.cfg.MaxResponseSize {
		return rtResult{&ProtocolError{Reason: "answer larger than the size limit", Class: ClassOutcomeUnknown}}
	}
	if resp.StatusCode != http.StatusOK {
		te := &TransportError{URL: url, Status: resp.StatusCode, Sent: true, BodyPrefix: printablePrefix(body)}
		switch {
		case resp.StatusCode == 429 || resp.StatusCode == 502 || resp.StatusCode == 503 || resp.StatusCode == 504:
			te.Class = ClassTransient
			te.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.cfg.Clock())
			res.retryAfter = te.RetryAfter
		case resp.StatusCode >= 500:
			te.Class = ClassTransient
		default:
			te.Class = ClassInternal
		}
		return rtResult{te}
	}
	reply, err := ParseReply(resp.Header.Get("Content-Type"), body)
	if err != nil {
		return rtResult{err}
	}
	res.reply = reply
	res.warnings = append(res.warnings, reply.Warnings...)
	for name, want := range map[string]string{FieldSender: s.entry.ClearingIK, FieldReceiver: c.cfg.ManufacturerIK, FieldProcedure: s.procedure} {
		if got, ok := reply.Fields[name]; ok && got != want {
			res.warnings = append(res.warnings, fmt.Sprintf("reply field %s is %q, expected %q", name, got, want))
		}
	}
	content, warns, err := c.open(reply.Payload, s.entry)
	if err != nil {
		return rtResult{err}
	}
	res.warnings = append(res.warnings, warns...)
	res.content = content
	return rtResult{}
}

// open decrypts with the current or previous own keys and verifies the
// signature against the clearing office's key-list certificates.
func (c *Client) open(msg []byte, e Entry) ([]byte, []string, error) {
	pt, env, err := cms.Decrypt(msg, c.cfg.Identity.recipients())
	if err != nil {
		return nil, nil, &CryptoError{Op: "decrypt", Err: err, Class: ClassOutcomeUnknown}
	}
	warns := append([]string(nil), env.Warnings...)
	if env.Recipient > 0 {
		warns = append(warns, "answer encrypted to a previous own certificate")
	}
	s, err := cms.ParseSigned(pt)
	if err != nil {
		return nil, nil, &CryptoError{Op: "decrypt", Err: err, Class: ClassOutcomeUnknown}
	}
	var trusted []*x509.Certificate
	if kl := c.cfg.Keys.Current(); kl != nil {
		trusted = kl.ForIK(e.ClearingIK)
		for _, kc := range kl.certs {
			if kc.IK != e.ClearingIK && s.Signers[0].Matches(kc.Cert) {
				trusted = append(trusted, kc.Cert)
			}
		}
	}
	_, vw, err := s.Verify(trusted, c.cfg.Verify)
	if err != nil {
		return nil, nil, &CryptoError{Op: "verify", Err: err, Class: ClassOutcomeUnknown}
	}
	for _, w := range vw {
		c.log.Warn("kassenapi: answer signature not verified", "endpoint", e.URL, "reason", w)
	}
	return s.Content, append(warns, vw...), nil
}

// transportError classifies a failed round trip (spec A4).
func (c *Client) transportError(url string, err error, sent bool) error {
	te := &TransportError{URL: url, Sent: sent, Err: err}
	var alert tls.AlertError
	var certErr *tls.CertificateVerificationError
	msg := err.Error()
	switch {
	case errors.As(err, &alert) || strings.Contains(msg, "remote error: tls:"):
		te.Class = ClassConfig
		te.Hint = "TLS alert from the endpoint: send the full ITSG chain with the client certificate"
	case errors.As(err, &certErr) || strings.Contains(msg, "x509:"):
		te.Class = ClassConfig
		te.Hint = "the endpoint's server certificate is not trusted"
	case !sent:
		te.Class = ClassTransient
	default:
		te.Class = ClassOutcomeUnknown
	}
	if te.Class != ClassConfig && sent && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
		te.Class = ClassOutcomeUnknown
	}
	return te
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff returns the wait before attempt n+1 (n ≥ 1) with jitter.
func (c *Client) backoff(n int, retryAfter time.Duration) time.Duration {
	d := c.cfg.Retry.Delays[min(n-1, len(c.cfg.Retry.Delays)-1)]
	if j := c.cfg.Retry.Jitter; j > 0 {
		span := int64(float64(d) * j * 2)
		if span > 0 {
			r, err := rand.Int(c.cfg.Rand, big.NewInt(span))
			if err == nil {
				d = d - time.Duration(float64(d)*j) + time.Duration(r.Int64())
			}
		}
	}
	if retryAfter > d {
		d = min(retryAfter, c.cfg.Retry.MaxRetryAfter)
	}
	return d
}

// retryable reports whether a code check may be retried after err (spec
// A3 "Client retries"): nothing sent, HTTP 429/502/503/504, FEH 201/202.
//
// REQ: kassenapi-spec:A3
func retryable(err error) bool {
	var te *TransportError
	if errors.As(err, &te) {
		if te.Class == ClassConfig {
			return false
		}
		return !te.Sent || te.Status == 429 || te.Status == 502 || te.Status == 503 || te.Status == 504
	}
	var ie *InsurerError
	if errors.As(err, &ie) {
		return ie.Class == ClassTransient
	}
	return false
}

func (c *Client) check(ctx context.Context, code Code, procedure, prefix string) (*CodeCheck, error) {
	if code.IsZero() {
		return nil, ErrCodeLength
	}
	route, err := c.route(ctx, prefix)
	if err != nil {
		return nil, err
	}
	e := route.Entry
	xmlReq, err := BuildCheckRequest(procedure, c.cfg.ManufacturerIK, e.IK, c.cfg.DiGAID, code)
	if err != nil {
		return nil, err
	}
	res := &CodeCheck{Code: code, Route: route, Procedure: procedure, RequestXML: xmlReq}
	fail := func(err error) (*CodeCheck, error) {
		return nil, &callError{err: err, exchanges: res.Exchanges}
	}
	for attempt := 1; ; attempt++ {
		release, err := c.acquire(ctx, e.URL)
		if err != nil {
			return fail(err)
		}
		// A fresh CMS per attempt: same content, new keys and salt.
		msg, err := c.seal(ctx, e, xmlReq)
		if err != nil {
			release()
			return fail(err)
		}
		body, ctype, err := buildMultipart(c.cfg.ManufacturerIK, e.ClearingIK, procedure, msg, "anfrage.cms")
		if err != nil {
			release()
			return fail(err)
		}
		r := c.do(ctx, exchangeSpec{procedure: procedure, entry: e, body: body, ctype: ctype, timeout: c.cfg.CheckTimeout, code: code, attempt: attempt})
		release()
		if r.err == nil {
			r.err = c.interpretCheck(res, &r, code, procedure, e)
			r.ex.Class = ClassOf(r.err)
			if r.err != nil {
				r.ex.Error = r.err.Error()
			}
			r.ex.OK = r.err == nil || r.ex.FehlerNummern != nil
		}
		res.Exchanges = append(res.Exchanges, r.ex)
		if r.err == nil {
			res.Warnings = append(res.Warnings, r.warnings...)
			return res, nil
		}
		if errors.Is(r.err, context.Canceled) || ctx.Err() != nil {
			return fail(r.err)
		}
		if attempt >= c.cfg.Retry.MaxAttempts || !retryable(r.err) {
			return fail(r.err)
		}
		wait := c.backoff(attempt, r.retryAfter)
		if dl, ok := ctx.Deadline(); ok && c.cfg.Clock().Add(wait).After(dl) {
			return fail(r.err)
		}
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			return fail(r.err)
		}
	}
}

// interpretCheck parses and checks an EDFC0 answer against the request
// (spec A4).
func (c *Client) interpretCheck(res *CodeCheck, r *exchangeResult, code Code, procedure string, e Entry) error {
	perr := func(reason string) error { return &ProtocolError{Reason: reason, Class: ClassOutcomeUnknown} }
	m, err := ParseCheckMessage(r.content)
	if err != nil {
		return err
	}
	r.warnings = append(r.warnings, m.Warnings...)
	if m.Procedure != procedure {
		return perr("answer verfahrenskennung differs from the request")
	}
	switch m.MessageType {
	case "ANF":
		return perr("answer has nachrichtentyp ANF")
	case "FEH":
		ie := newInsurerError(procedure, m.Errors)
		r.ex.FehlerNummern = ie.Numbers()
		res.ResponseXML = r.content
		return ie
	}
	if m.ManufacturerIK != c.cfg.ManufacturerIK {
		return perr("answer IK_DiGA_Hersteller is not ours")
	}
	if m.InsurerIK != e.IK {
		r.warnings = append(r.warnings, "answer IK_Krankenkasse differs from the directory's Kostentraegerkennung")
	}
	if !reVEID.MatchString(m.VEID) || !strings.HasPrefix(m.VEID, c.cfg.DiGAID) {
		return perr("DiGAVEID is not 8 digits starting with our DiGA-ID")
	}
	if NormalizeCode(m.Code) != code.Plain() {
		return perr("answer Freischaltcode differs from the request")
	}
	day, err := ParseDate(m.ServiceDay)
	if err != nil {
		return perr("Tag_der_Leistungserbringung is not a date")
	}
	today := DateOf(c.cfg.Clock())
	if day.After(today.AddDays(1)) {
		return perr("Tag_der_Leistungserbringung is in the future")
	}
	if day.Before(today.AddDays(-400)) {
		r.warnings = append(r.warnings, "Tag_der_Leistungserbringung is older than 400 days")
	}
	res.VEID, res.ServiceDay, res.ResponseXML = m.VEID, day, r.content
	return nil
}
