package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ErrInvalidToken is every access-token rejection; the answer is 401 with
// WWW-Authenticate: Bearer error="invalid_token". The reason is never
// told to the client.
var ErrInvalidToken = errors.New("auth: invalid access token")

// ErrSessionRevoked: the token's sid was revoked (logout, logout-all).
var ErrSessionRevoked = errors.New("auth: session revoked")

// AccessClaims are the claims of a verified access token.
type AccessClaims struct {
	Issuer   string
	Subject  string
	ClientID string
	SID      string
	ACR      string
	AMR      []string
	Scope    []string
	AuthTime time.Time
	Expiry   time.Time
	ID       string
}

// accessAllowed is the access-token claim allow-list (§3.2.9).
var accessAllowed = []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "sid", "acr", "amr", "auth_time"}

// accessRequired must be present.
var accessRequired = []string{"iss", "sub", "aud", "exp", "iat", "sid", "acr", "amr", "auth_time"}

// Verifier checks access tokens on the API (go-jose v4): ES256 only, kid
// among the published keys, iss, aud diga.api, exp/nbf with ≤ 5 s leeway,
// no claim outside the allow-list, sid not revoked.
type Verifier struct {
	Keys    KeyProvider
	Issuer  func() string
	Now     func() time.Time
	Revoked func(ctx context.Context, sid string) (bool, error)
}

// Leeway is the clock tolerance for exp and nbf.
const Leeway = 5 * time.Second

// Verify parses and checks raw.
//
// REQ: TR03161-3:O.Auth_21
func (v *Verifier) Verify(ctx context.Context, raw string) (*AccessClaims, error) {
	if len(raw) > 8192 || strings.Count(raw, ".") != 2 {
		return nil, ErrInvalidToken
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return nil, ErrInvalidToken
		}
	}
	// Only canonical base64url: a segment whose unused trailing bits are
	// set decodes to the same bytes, so it would be a second spelling of
	// one token (found by T18's mutations).
	for _, seg := range strings.Split(raw, ".") {
		if _, err := base64.RawURLEncoding.Strict().DecodeString(seg); err != nil {
			return nil, ErrInvalidToken
		}
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(tok.Headers) != 1 {
		return nil, ErrInvalidToken
	}
	h := tok.Headers[0]
	if h.KeyID == "" || h.Algorithm != string(jose.ES256) || h.JSONWebKey != nil {
		return nil, ErrInvalidToken
	}
	if typ, ok := h.ExtraHeaders[jose.HeaderType]; ok {
		if ts := fmt.Sprint(typ); ts != "JWT" && !strings.EqualFold(ts, "at+jwt") {
			return nil, ErrInvalidToken
		}
	}
	if _, ok := h.ExtraHeaders["crit"]; ok {
		return nil, ErrInvalidToken
	}
	keys, err := v.Keys.Public()
	if err != nil {
		return nil, ErrInvalidToken
	}
	var key *jose.JSONWebKey
	for i := range keys {
		if keys[i].KeyID == h.KeyID {
			key = &keys[i]
		}
	}
	if key == nil {
		return nil, ErrInvalidToken
	}
	var raw1 map[string]json.RawMessage
	var std jwt.Claims
	if err := tok.Claims(key.Key, &raw1, &std); err != nil {
		return nil, ErrInvalidToken
	}
	for k := range raw1 {
		if !slices.Contains(accessAllowed, k) {
			return nil, ErrInvalidToken
		}
	}
	for _, k := range accessRequired {
		if _, ok := raw1[k]; !ok {
			return nil, ErrInvalidToken
		}
	}
	now := v.Now()
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: v.Issuer(), AnyAudience: jwt.Audience{Audience}, Time: now}, Leeway); err != nil {
		return nil, ErrInvalidToken
	}
	if std.Expiry == nil || std.IssuedAt == nil {
		return nil, ErrInvalidToken
	}
	var priv struct {
		ClientID string   `json:"client_id"`
		SID      string   `json:"sid"`
		ACR      string   `json:"acr"`
		AMR      []string `json:"amr"`
		Scope    string   `json:"scope"`
		AuthTime int64    `json:"auth_time"`
	}
	if err := tok.Claims(key.Key, &priv); err != nil || priv.SID == "" || std.Subject == "" {
		return nil, ErrInvalidToken
	}
	if v.Revoked != nil {
		revoked, err := v.Revoked(ctx, priv.SID)
		if err != nil {
			return nil, ErrInvalidToken
		}
		if revoked {
			return nil, ErrSessionRevoked
		}
	}
	return &AccessClaims{Issuer: std.Issuer, Subject: std.Subject, ClientID: priv.ClientID, SID: priv.SID, ACR: priv.ACR,
		AMR: priv.AMR, Scope: strings.Fields(priv.Scope), AuthTime: time.Unix(priv.AuthTime, 0).UTC(),
		Expiry: std.Expiry.Time(), ID: std.ID}, nil
}
