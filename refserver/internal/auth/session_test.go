package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestT23SessionMatrix runs the session matrix on a fake clock: idle
// timeout, absolute timeout, logout-all of N of N devices, revoked sid
// at the API, step-up for credential changes, password change revoking
// the other sessions.
//
// REQ: TR03161-3:O.Auth_10
// REQ: TR03161-3:O.Auth_11
// REQ: TR03161-3:O.Auth_12
// REQ: TR03161-3:O.Auth_16
// REQ: TR03161-3:O.Auth_17
func TestT23SessionMatrix(t *testing.T) {
	e := newEnv(t, true, nil)
	secret, _ := e.register(t, "sessions")
	ctx := context.Background()
	login := func(t *testing.T) tokenResponse {
		e.clock.Advance(30 * time.Second) // a fresh TOTP step per login
		tok, err := e.client(t).Login(ctx, "sessions", testPassword, secret)
		require.NoError(t, err)
		return tokenResponse{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, IDToken: tok.IDToken}
	}

	t.Run("idle-timeout", func(t *testing.T) {
		tok := login(t)
		e.clock.Advance(29 * time.Minute)
		r := e.refresh(t, tok.RefreshToken)
		require.Equal(t, http.StatusOK, r.status, "29 min idle is fine")
		e.clock.Advance(31 * time.Minute)
		require.Equal(t, "invalid_grant", e.refresh(t, r.RefreshToken).Error)
		require.GreaterOrEqual(t, e.sink.Count(EventSessionExpired, "idle_timeout"), 1)
	})
	t.Run("absolute-timeout", func(t *testing.T) {
		tok := login(t)
		rt := tok.RefreshToken
		for elapsed := time.Duration(0); elapsed+25*time.Minute <= 12*time.Hour; elapsed += 25 * time.Minute {
			e.clock.Advance(25 * time.Minute)
			r := e.refresh(t, rt)
			require.Equal(t, http.StatusOK, r.status, "after %v", elapsed)
			rt = r.RefreshToken
		}
		e.clock.Advance(25 * time.Minute)
		require.Equal(t, "invalid_grant", e.refresh(t, rt).Error)
		require.GreaterOrEqual(t, e.sink.Count(EventSessionExpired, "absolute_timeout"), 1)
	})
	t.Run("logout-all-N-of-N", func(t *testing.T) {
		const n = 5
		var toks []tokenResponse
		for range n {
			toks = append(toks, login(t))
		}
		code, body := e.api(t, http.MethodGet, "/v1/me/sessions", toks[0].AccessToken, "")
		require.Equal(t, http.StatusOK, code)
		var list []SessionInfo
		require.NoError(t, json.Unmarshal([]byte(body), &list))
		require.Len(t, list, n)
		require.NotContains(t, body, "127.0.0.1", "no IP addresses in the device list")
		// A refresh with app headers records platform and version.
		req, _ := http.NewRequest(http.MethodPost, e.url+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {toks[0].RefreshToken}, "client_id": {DevClientID}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-App-Platform", "ios")
		req.Header.Set("X-App-Version", "2.3.4")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var rr tokenResponse
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&rr))
		_ = resp.Body.Close()
		require.NotEmpty(t, rr.AccessToken)
		toks[0] = rr
		_, body = e.api(t, http.MethodGet, "/v1/me/sessions", toks[0].AccessToken, "")
		require.Contains(t, body, `"platform":"ios","app_version":"2.3.4","current":true`)
		current := 0
		for _, s := range list {
			if s.Current {
				current++
			}
		}
		require.Equal(t, 1, current)

		// Revoking one device from another.
		code, _ = e.api(t, http.MethodDelete, "/v1/me/sessions/"+list[len(list)-1].ID, toks[0].AccessToken, "")
		require.Equal(t, http.StatusNoContent, code)
		code, _ = e.api(t, http.MethodDelete, "/v1/me/sessions/not-mine", toks[0].AccessToken, "")
		require.Equal(t, http.StatusNotFound, code)

		code, _ = e.api(t, http.MethodDelete, "/v1/me/sessions", toks[1].AccessToken, "")
		require.Equal(t, http.StatusNoContent, code)
		revoked := 0
		for _, tk := range toks {
			if e.refresh(t, tk.RefreshToken).Error == "invalid_grant" {
				revoked++
			}
			code, body := e.api(t, http.MethodGet, "/v1/me/sessions", tk.AccessToken, "")
			require.Equal(t, http.StatusUnauthorized, code, "revoked sid at the API")
			require.Contains(t, body, "session_use_after_expire")
		}
		require.Equal(t, n, revoked)
	})
	t.Run("step-up-and-password-change", func(t *testing.T) {
		other := login(t)
		tok := login(t)
		e.clock.Advance(6 * time.Minute)
		r := e.refresh(t, tok.RefreshToken) // new access token, old auth_time
		require.Equal(t, http.StatusOK, r.status)
		code, body := e.api(t, http.MethodPost, "/v1/me/password", r.AccessToken, `{"current_password":"`+testPassword+`","new_password":"another long passphrase"}`)
		require.Equal(t, http.StatusUnauthorized, code)
		require.Contains(t, body, "step-up-required")

		code, body = e.api(t, http.MethodPost, "/v1/me/recovery-codes", r.AccessToken, "")
		require.Equal(t, http.StatusUnauthorized, code, "recovery-code regeneration needs step-up")
		require.Contains(t, body, "step-up-required")

		fresh := login(t)
		code, body = e.api(t, http.MethodPost, "/v1/me/recovery-codes", fresh.AccessToken, "")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, `"recovery_codes":[`)
		code, _ = e.api(t, http.MethodPost, "/v1/me/password", fresh.AccessToken, `{"current_password":"wrong wrong wrong","new_password":"another long passphrase"}`)
		require.Equal(t, http.StatusForbidden, code)
		code, _ = e.api(t, http.MethodPost, "/v1/me/password", fresh.AccessToken, `{"current_password":"`+testPassword+`","new_password":"password1234"}`)
		require.Equal(t, http.StatusUnprocessableEntity, code, "block list")
		code, _ = e.api(t, http.MethodPost, "/v1/me/password", fresh.AccessToken, `{"current_password":"`+testPassword+`","new_password":"another long passphrase"}`)
		require.Equal(t, http.StatusNoContent, code)
		require.Equal(t, "invalid_grant", e.refresh(t, other.RefreshToken).Error, "other sessions revoked")
		require.Equal(t, "invalid_grant", e.refresh(t, r.RefreshToken).Error)
		require.Equal(t, http.StatusOK, e.refresh(t, fresh.RefreshToken).status, "the current session stays")
		require.Equal(t, 1, e.sink.Count(EventPasswordChange, "change"))
	})
}

// TestBrowserSessionTimeouts: the OP session cookie ends after 15 min
// idle and 12 h absolute.
func TestBrowserSessionTimeouts(t *testing.T) {
	e := newEnv(t, true, nil)
	ctx := context.Background()
	e.register(t, "browser-user")
	acct, _ := e.svc.accountByUsername(ctx, "browser-user")
	tok, err := e.svc.newBrowserSession(ctx, acct.id, []string{"pwd", "otp"}, e.clock.Now())
	require.NoError(t, err)
	start := e.clock.Now()
	for {
		e.clock.Advance(14 * time.Minute)
		_, err := e.svc.browserSession(ctx, tok)
		if e.clock.Now().Sub(start) <= 12*time.Hour {
			require.NoError(t, err, "alive while used within 15 min and under 12 h")
			continue
		}
		require.Error(t, err, "absolute timeout")
		break
	}
	tok, err = e.svc.newBrowserSession(ctx, acct.id, []string{"pwd", "otp"}, e.clock.Now())
	require.NoError(t, err)
	e.clock.Advance(16 * time.Minute)
	_, err = e.svc.browserSession(ctx, tok)
	require.Error(t, err, "idle timeout")
}
