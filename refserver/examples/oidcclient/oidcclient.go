package oidcclient

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"
)

// Client drives the reference server as a DiGA app would.
type Client struct {
	Base     string
	HTTP     *http.Client
	Provider *oidc.Provider
	OAuth    *oauth2.Config
	// Now is the clock for TOTP codes (nil = time.Now).
	Now func() time.Time
	// lastStep remembers the last TOTP step used per secret so that the next login
	// uses a later one (the server rejects replays).
	lastStep map[string]int64
}

// Token is the result of a login or refresh.
type Token struct {
	*oauth2.Token
	// IDToken is the raw ID token; Claims its verified claims.
	IDToken string
	Claims  map[string]any
}

// Account is what registration shows once.
type Account struct {
	Username      string
	TOTPSecret    string
	RecoveryCodes []string
}

// New discovers the provider at base (the issuer) and prepares the
// client. hc may be nil.
func New(ctx context.Context, base string, hc *http.Client) (*Client, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	jar, _ := cookiejar.New(nil)
	c := *hc
	c.Jar = jar
	c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, &c), base)
	if err != nil {
		return nil, fmt.Errorf("oidcclient: discovery: %w", err)
	}
	return &Client{Base: base, HTTP: &c, Provider: p, OAuth: &oauth2.Config{
		ClientID:    "digakit-dev",
		Endpoint:    p.Endpoint(),
		RedirectURL: "http://127.0.0.1:53682/callback",
		Scopes:      []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess, "diga.api"},
	}}, nil
}

var (
	reHidden = regexp.MustCompile(`name="(authRequestID|token)" value="([^"]*)"`)
	reSecret = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	reUser   = regexp.MustCompile(`id="username">([^<]+)<`)
	reCode   = regexp.MustCompile(`<li><code>([A-Z2-7-]+)</code></li>`)
	reMsg    = regexp.MustCompile(`id="message">([^<]*)<`)
)

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) post(ctx context.Context, path string, form url.Values) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (c *Client) do(req *http.Request) (*http.Response, string, error) {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(b), err
}

func field(body, name string) string {
	for _, m := range reHidden.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2])
		}
	}
	return ""
}

func pageError(step string, resp *http.Response, body string) error {
	msg := ""
	if m := reMsg.FindStringSubmatch(body); m != nil {
		msg = ": " + html.UnescapeString(m[1])
	}
	return fmt.Errorf("oidcclient: %s: status %d%s", step, resp.StatusCode, msg)
}

// code returns a TOTP code for a step after the last one used.
func (c *Client) code(secret string) (string, error) {
	// Never reuse a time step of the same secret: the server refuses a
	// replayed code (waiting for the next step would also do).
	step := c.now().Unix() / 30
	if last, ok := c.lastStep[secret]; ok && step <= last {
		step = last + 1
	}
	if c.lastStep == nil {
		c.lastStep = map[string]int64{}
	}
	c.lastStep[secret] = step
	return totp.GenerateCodeCustom(secret, time.Unix(step*30, 0), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// Register creates an account (empty username = generated), confirms
// the TOTP enrollment and returns what the server showed once.
func (c *Client) Register(ctx context.Context, username, password string) (*Account, error) {
	resp, body, err := c.post(ctx, "/register", url.Values{"username": {username}, "password": {password}})
	if err != nil {
		return nil, err
	}
	sec := reSecret.FindStringSubmatch(body)
	tok := field(body, "token")
	if resp.StatusCode != http.StatusOK || sec == nil || tok == "" {
		return nil, pageError("register", resp, body)
	}
	a := &Account{Username: username, TOTPSecret: sec[1]}
	if u := reUser.FindStringSubmatch(body); u != nil {
		a.Username = html.UnescapeString(u[1])
	}
	code, err := c.code(a.TOTPSecret)
	if err != nil {
		return nil, err
	}
	resp, body, err = c.post(ctx, "/register/totp", url.Values{"token": {tok}, "code": {code}})
	if err != nil {
		return nil, err
	}
	for _, m := range reCode.FindAllStringSubmatch(body, -1) {
		a.RecoveryCodes = append(a.RecoveryCodes, m[1])
	}
	if resp.StatusCode != http.StatusOK || len(a.RecoveryCodes) == 0 {
		return nil, pageError("enroll", resp, body)
	}
	return a, nil
}

// Login runs the authorization code flow with PKCE S256, state and
// nonce, signs in with password and TOTP, exchanges the code and
// verifies the ID token.
func (c *Client) Login(ctx context.Context, username, password, totpSecret string) (*Token, error) {
	verifier := oauth2.GenerateVerifier()
	state := oauth2.GenerateVerifier()
	nonce := oauth2.GenerateVerifier()
	u := c.OAuth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, body, err := c.do(req)
	if err != nil {
		return nil, err
	}
	id := field(body, "authRequestID")
	if resp.StatusCode != http.StatusOK || id == "" {
		return nil, pageError("authorize", resp, body)
	}
	resp, body, err = c.post(ctx, "/login", url.Values{"authRequestID": {id}, "username": {username}, "password": {password}})
	if err != nil {
		return nil, err
	}
	tok := field(body, "token")
	if resp.StatusCode != http.StatusOK || tok == "" {
		return nil, pageError("password", resp, body)
	}
	code, err := c.code(totpSecret)
	if err != nil {
		return nil, err
	}
	resp, body, err = c.post(ctx, "/login/2fa", url.Values{"token": {tok}, "kind": {"totp"}, "code": {code}})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusFound {
		return nil, pageError("second factor", resp, body)
	}
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || cb.Query().Get("state") != state || cb.Query().Get("code") == "" {
		return nil, errors.New("oidcclient: callback without code or with a wrong state")
	}
	t, err := c.OAuth.Exchange(oidc.ClientContext(ctx, c.HTTP), cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("oidcclient: code exchange: %w", err)
	}
	out, err := c.verify(ctx, t)
	if err != nil {
		return nil, err
	}
	if out.Claims["nonce"] != nonce {
		return nil, errors.New("oidcclient: nonce mismatch")
	}
	return out, nil
}

func (c *Client) verify(ctx context.Context, t *oauth2.Token) (*Token, error) {
	raw, _ := t.Extra("id_token").(string)
	idt, err := c.Provider.Verifier(&oidc.Config{ClientID: c.OAuth.ClientID}).Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("oidcclient: ID token: %w", err)
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, err
	}
	return &Token{Token: t, IDToken: raw, Claims: claims}, nil
}

// Refresh exchanges the refresh token for a new pair (the server rotates
// the refresh token on every use).
func (c *Client) Refresh(ctx context.Context, t *Token) (*Token, error) {
	old := &oauth2.Token{RefreshToken: t.RefreshToken, Expiry: time.Unix(1, 0)}
	nt, err := c.OAuth.TokenSource(oidc.ClientContext(ctx, c.HTTP), old).Token()
	if err != nil {
		return nil, fmt.Errorf("oidcclient: refresh: %w", err)
	}
	return c.verify(ctx, nt)
}

// Logout ends the session at the end_session endpoint with the ID token
// as hint.
func (c *Client) Logout(ctx context.Context, t *Token) error {
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := c.Provider.Claims(&meta); err != nil || meta.EndSession == "" {
		return errors.New("oidcclient: no end_session_endpoint")
	}
	u := meta.EndSession + "?" + url.Values{"id_token_hint": {t.IDToken}, "client_id": {c.OAuth.ClientID}}.Encode()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, body, err := c.do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		return pageError("logout", resp, body)
	}
	return nil
}

// The platform and version this example app reports on API requests.
const (
	AppPlatform = "android"
	AppVersion  = "1.0.0"
)

// Get calls an API path with the access token.
func (c *Client) Get(ctx context.Context, t *Token, path string) (int, string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+path, nil)
	req.Header.Set("Authorization", "Bearer "+t.AccessToken)
	// Every API request names the app's platform and version (update
	// service, refserver spec §3.4); an outdated app gets 426.
	req.Header.Set("X-App-Platform", AppPlatform)
	req.Header.Set("X-App-Version", AppVersion)
	resp, body, err := c.do(req)
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, body, nil
}
