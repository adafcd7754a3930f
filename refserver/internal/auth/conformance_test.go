package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// browser is a cookie-carrying client that stops at the RP redirect.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/callback" || req.URL.Host == "rp.example" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

// run performs GET u with b and returns the final response (body read).
func run(t testing.TB, b *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := b.Get(u)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func hidden(body, name string) string {
	i := strings.Index(body, `name="`+name+`" value="`)
	if i < 0 {
		return ""
	}
	rest := body[i+len(`name="`+name+`" value="`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// loginVia signs in on the login page the browser sits on and returns
// the RP redirect.
func (e *env) loginVia(t testing.TB, b *http.Client, body, user, secret string, step int64) *url.URL {
	t.Helper()
	id := hidden(body, "authRequestID")
	require.NotEmpty(t, id, body)
	resp, err := b.PostForm(e.url+"/login", url.Values{"authRequestID": {id}, "username": {user}, "password": {testPassword}})
	require.NoError(t, err)
	pb, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	tok := hidden(string(pb), "token")
	require.NotEmpty(t, tok, string(pb))
	code, _ := TOTPCode(secret, step)
	resp, err = b.PostForm(e.url+"/login/2fa", url.Values{"token": {tok}, "kind": {"totp"}, "code": {code}})
	require.NoError(t, err)
	_ = resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	return loc
}

func (e *env) exchange(t testing.TB, code, verifier string) tokenResponse {
	return e.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {DevClientID},
		"redirect_uri": {"http://127.0.0.1:53682/callback"}, "code_verifier": {verifier}})
}

func claims(t testing.TB, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	require.Len(t, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	m := map[string]any{}
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// idAllowed is the ID-token claim allow-list (§3.2.9).
var idAllowed = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp", "client_id", "at_hash", "c_hash"}

func checkAllowList(t testing.TB, m map[string]any, allowed, required []string) {
	t.Helper()
	for k := range m {
		require.Contains(t, allowed, k, "claim %q outside the allow-list", k)
	}
	for _, k := range required {
		require.Contains(t, m, k)
	}
}

func twoFactors(t testing.TB, m map[string]any) {
	t.Helper()
	amr, _ := m["amr"].([]any)
	var s []string
	for _, a := range amr {
		s = append(s, a.(string))
	}
	require.Contains(t, s, "pwd")
	require.True(t, slices.Contains(s, "otp") || slices.Contains(s, "rcode") || slices.Contains(s, "hwk"), "second factor in amr %v", s)
}

// TestT17ConformanceLite mirrors the OpenID conformance modules named in
// refserver spec T17.
func TestT17ConformanceLite(t *testing.T) {
	e := newEnv(t, true, nil)
	secret, _ := e.register(t, "conformer")
	step := TOTPStep(e.clock.Now())
	nextStep := func() int64 { e.clock.Advance(30 * time.Second); step = TOTPStep(e.clock.Now()); return step }
	ctx := context.Background()
	_ = ctx

	// signIn runs a complete login in a fresh browser and returns tokens.
	signIn := func(t *testing.T, extra map[string]string) (tokenResponse, *http.Client) {
		b := browser()
		_, body := run(t, b, e.authorizeURL(extra))
		loc := e.loginVia(t, b, body, "conformer", secret, nextStep())
		require.Equal(t, "st-123", loc.Query().Get("state"))
		tr := e.exchange(t, loc.Query().Get("code"), pkceVerifier)
		require.Equal(t, http.StatusOK, tr.status, tr.Error)
		return tr, b
	}

	t.Run("oidcc-server", func(t *testing.T) {
		tr, _ := signIn(t, nil)
		id := claims(t, tr.IDToken)
		checkAllowList(t, id, idAllowed, []string{"iss", "sub", "aud", "exp", "iat", "nonce", "auth_time", "sid", "acr", "amr"})
		require.Equal(t, "n-456", id["nonce"])
		require.Equal(t, e.url, id["iss"])
		twoFactors(t, id)
		at := claims(t, tr.AccessToken)
		checkAllowList(t, at, accessAllowed, accessRequired)
		twoFactors(t, at)
		require.Equal(t, id["sid"], at["sid"])
	})
	t.Run("discovery", func(t *testing.T) {
		resp, body := run(t, http.DefaultClient, e.url+"/.well-known/openid-configuration")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var d map[string]any
		require.NoError(t, json.Unmarshal([]byte(body), &d))
		require.Equal(t, []any{"S256"}, d["code_challenge_methods_supported"])
		require.Equal(t, []any{"ES256"}, d["id_token_signing_alg_values_supported"])
		require.Equal(t, e.url, d["issuer"])
	})
	t.Run("oidcc-ensure-registered-redirect-uri", func(t *testing.T) {
		for _, ru := range []string{"https://evil.example/cb", "http://127.0.0.1:53682/callback/x", "http://localhost:53682/callback"} {
			resp, body := run(t, noFollow(), e.authorizeURL(map[string]string{"redirect_uri": ru}))
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			require.Empty(t, resp.Header.Get("Location"))
			require.Contains(t, body, "redirect URI")
		}
	})
	t.Run("oidcc-codereuse", func(t *testing.T) {
		b := browser()
		_, body := run(t, b, e.authorizeURL(nil))
		loc := e.loginVia(t, b, body, "conformer", secret, nextStep())
		code := loc.Query().Get("code")
		first := e.exchange(t, code, pkceVerifier)
		require.Equal(t, http.StatusOK, first.status)
		second := e.exchange(t, code, pkceVerifier)
		require.Equal(t, "invalid_grant", second.Error)
		require.Equal(t, "invalid_grant", e.refresh(t, first.RefreshToken).Error, "tokens of the first exchange revoked")
		require.GreaterOrEqual(t, e.sink.Count(EventTokenReuse, ""), 1)
	})
	t.Run("pkce", func(t *testing.T) {
		for name, extra := range map[string]map[string]string{
			"plain":          {"code_challenge_method": "plain", "code_challenge": pkceVerifier},
			"missing-method": {"code_challenge_method": ""},
			"missing":        {"code_challenge": "", "code_challenge_method": ""},
		} {
			resp, _ := run(t, noFollow(), e.authorizeURL(extra))
			require.Equal(t, http.StatusFound, resp.StatusCode, name)
			loc, _ := url.Parse(resp.Header.Get("Location"))
			require.Equal(t, "127.0.0.1:53682", loc.Host, name)
			require.Equal(t, "invalid_request", loc.Query().Get("error"), name)
		}
		// A wrong verifier at the token endpoint fails.
		b := browser()
		_, body := run(t, b, e.authorizeURL(nil))
		loc := e.loginVia(t, b, body, "conformer", secret, nextStep())
		tr := e.exchange(t, loc.Query().Get("code"), strings.Repeat("x", 43))
		require.Equal(t, "invalid_grant", tr.Error)
	})
	t.Run("oidcc-nonce", func(t *testing.T) {
		resp, _ := run(t, noFollow(), e.authorizeURL(map[string]string{"nonce": ""}))
		loc, _ := url.Parse(resp.Header.Get("Location"))
		require.Equal(t, "invalid_request", loc.Query().Get("error"), "app client requires nonce")
		// The conformance client may omit nonce.
		v := url.Values{"client_id": {confClientID}, "redirect_uri": {"https://rp.example/cb"}, "response_type": {"code"},
			"scope": {"openid"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
		resp, _ = run(t, noFollow(), e.url+"/authorize?"+v.Encode())
		require.Equal(t, http.StatusFound, resp.StatusCode)
		require.Contains(t, resp.Header.Get("Location"), "/login?authRequestID=")
	})
	t.Run("oidcc-prompt-none-not-logged-in", func(t *testing.T) {
		resp, _ := run(t, browser(), e.authorizeURL(map[string]string{"prompt": "none"}))
		require.Equal(t, http.StatusFound, resp.StatusCode)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		require.Equal(t, "login_required", loc.Query().Get("error"))
		require.Equal(t, "st-123", loc.Query().Get("state"))
	})
	t.Run("oidcc-prompt-none-logged-in-and-max-age-1", func(t *testing.T) {
		_, b := signIn(t, nil)
		// With an OP session, prompt=none completes without interaction.
		resp, _ := run(t, b, e.authorizeURL(map[string]string{"prompt": "none"}))
		loc, _ := url.Parse(resp.Header.Get("Location"))
		require.NotEmpty(t, loc.Query().Get("code"), loc.String())
		// max_age=1 after 2 s forces a new login.
		e.clock.Advance(2 * time.Second)
		resp, body := run(t, b, e.authorizeURL(map[string]string{"max_age": "1"}))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, `action="/login"`)
		// prompt=login forces it as well.
		resp, body = run(t, b, e.authorizeURL(map[string]string{"prompt": "login"}))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, `action="/login"`)
	})
	t.Run("oidcc-userinfo-get-post-header-post-body", func(t *testing.T) {
		tr, _ := signIn(t, nil)
		check := func(req *http.Request) {
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer func() { _ = resp.Body.Close() }()
			var m map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, []string{"sub"}, keys(m), "userinfo returns sub only")
		}
		req, _ := http.NewRequest(http.MethodGet, e.url+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		check(req)
		req, _ = http.NewRequest(http.MethodPost, e.url+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		check(req)
		req, _ = http.NewRequest(http.MethodPost, e.url+"/userinfo", strings.NewReader(url.Values{"access_token": {tr.AccessToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		check(req)
	})
	t.Run("oidcc-ensure-request-with-unknown-parameter-succeeds", func(t *testing.T) {
		signIn(t, map[string]string{"foo": "bar", "x-unknown": "1"})
	})
	t.Run("oidcc-ensure-other-scope-order-succeeds", func(t *testing.T) {
		tr, _ := signIn(t, map[string]string{"scope": "diga.api offline_access openid"})
		require.NotEmpty(t, tr.RefreshToken)
	})
	t.Run("oidcc-idtoken-signature", func(t *testing.T) {
		tr, _ := signIn(t, nil)
		_, err := e.svc.Verifier().Verify(context.Background(), tr.AccessToken)
		require.NoError(t, err)
		hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(tr.IDToken, ".")[0])
		require.Contains(t, string(hdr), `"alg":"ES256"`)
		resp, body := run(t, http.DefaultClient, e.url+"/keys")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		cur, _ := e.keys.Current()
		require.Contains(t, body, cur.ID)
		require.NotContains(t, body, `"d"`, "no private key material in the JWKS")
	})
	t.Run("oidcc-refresh-token", func(t *testing.T) {
		tr, _ := signIn(t, nil)
		r := e.refresh(t, tr.RefreshToken)
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, claims(t, tr.IDToken)["sub"], claims(t, r.IDToken)["sub"])
		checkAllowList(t, claims(t, r.AccessToken), accessAllowed, accessRequired)
	})
	t.Run("rejected-requests", func(t *testing.T) {
		for name, c := range map[string]struct {
			extra map[string]string
			want  string
		}{
			"request_uri":   {map[string]string{"request_uri": "urn:x"}, "request_uri_not_supported"},
			"response_type": {map[string]string{"response_type": "token"}, "unsupported_response_type"},
			"scope-profile": {map[string]string{"scope": "openid profile"}, "invalid_scope"},
			"scope-email":   {map[string]string{"scope": "openid email"}, "invalid_scope"},
			"request":       {map[string]string{"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"},
		} {
			resp, _ := run(t, noFollow(), e.authorizeURL(c.extra))
			loc, _ := url.Parse(resp.Header.Get("Location"))
			require.Equal(t, c.want, loc.Query().Get("error"), name)
		}
	})
	t.Run("second-factor-without-password-step", func(t *testing.T) {
		code, _, _ := e.postForm(t, "/login/2fa", url.Values{"token": {"forged"}, "code": {"123456"}})
		require.Equal(t, http.StatusBadRequest, code)
		require.GreaterOrEqual(t, e.sink.Count(EventSequenceFail, ""), 1)
	})
	t.Run("zitadel-routes-not-mounted", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/ready", "/device_authorization"} {
			resp, _ := run(t, http.DefaultClient, e.url+p)
			require.Equal(t, http.StatusNotFound, resp.StatusCode, p)
		}
	})
	t.Run("introspection", func(t *testing.T) {
		tr, _ := signIn(t, nil)
		req, _ := http.NewRequest(http.MethodPost, e.url+"/oauth/introspect", strings.NewReader(url.Values{"token": {tr.AccessToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("resource-server", rsSecret)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		_ = resp.Body.Close()
		require.Equal(t, true, m["active"])
		// Revocation (RFC 7009) of the refresh token ends the session.
		resp, err = http.PostForm(e.url+"/revoke", url.Values{"token": {tr.RefreshToken}, "client_id": {DevClientID}})
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "invalid_grant", e.refresh(t, tr.RefreshToken).Error)
		req, _ = http.NewRequest(http.MethodPost, e.url+"/oauth/introspect", strings.NewReader(url.Values{"token": {tr.AccessToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("resource-server", rsSecret)
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		m = map[string]any{}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		_ = resp.Body.Close()
		require.Equal(t, false, m["active"])
		// Unknown tokens: 200.
		resp, err = http.PostForm(e.url+"/revoke", url.Values{"token": {"unknown"}, "client_id": {DevClientID}})
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
