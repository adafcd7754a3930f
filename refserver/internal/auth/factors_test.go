package auth

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestT26FactorMatrixLite: a password alone never issues tokens (the
// callback answers interaction_required until a second factor passed);
// password + TOTP and password + recovery code do (see
// TestRecoveryCodeLoginSingleUse, TestWebAuthnSecondFactor for the other
// factors); lower-trust consent events and the revocation of lower-trust
// sessions on withdrawal.
//
// REQ: TR03161-3:O.Auth_4
// REQ: TR03161-3:O.Auth_5
func TestT26FactorMatrixLite(t *testing.T) {
	e := newEnv(t, true, nil)
	e.register(t, "one-factor")
	id := e.newAuthRequest(t)
	code, body, _ := e.postForm(t, "/login", url.Values{"authRequestID": {id}, "username": {"one-factor"}, "password": {testPassword}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `action="/login/2fa"`)
	resp, err := noFollow().Get(e.url + "/authorize/callback?id=" + url.QueryEscape(id))
	require.NoError(t, err)
	_ = resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	require.Empty(t, loc.Query().Get("code"), "no code after the password alone")
	require.Equal(t, "interaction_required", loc.Query().Get("error"))

	// Lower-trust consent.
	ctx := context.Background()
	acct := mustAccount(t, e, "one-factor")
	var sub string
	require.NoError(t, e.db.QueryRowContext(ctx, `SELECT sub FROM auth_accounts WHERE id = $1`, acct).Scan(&sub))
	_, err = e.svc.RecordLowerTrustConsent(ctx, sub, true)
	require.NoError(t, err)
	require.Equal(t, 1, e.sink.Count(EventConsentGranted, ""))
	// A lower-trust session (as a passkey-only login would create).
	_, err = e.db.ExecContext(ctx, `INSERT INTO auth_sessions (id, account, client_id, amr, acr, auth_time, platform, app_version, created_at, last_used_at)
		VALUES ('lowsid', $1, $2, 'hwk user', $3, 0, '', '', 0, 0)`, acct, DevClientID, ACRNormal)
	require.NoError(t, err)
	n, err := e.svc.RecordLowerTrustConsent(ctx, sub, false)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	revoked, err := e.svc.sessionRevoked(ctx, "lowsid")
	require.NoError(t, err)
	require.True(t, revoked)
	require.Equal(t, 1, e.sink.Count(EventConsentWithdrawn, ""))
}

// TestSlogSinkWritesAuditKind: the default sink logs with log_kind=audit
// and carries no identifier beyond the pseudonym.
func TestSlogSinkWritesAuditKind(t *testing.T) {
	var buf syncBuffer
	s := SlogSink{Logger: newJSONLogger(&buf)}
	s.Emit(context.Background(), Event{Type: EventLoginFail, Reason: "bad_password", Actor: "abcdefghijklmnop", Attrs: map[string]string{"limiter": "x"}})
	out := buf.String()
	require.Contains(t, out, `"log_kind":"audit"`)
	require.Contains(t, out, `"type":"authn_login_fail"`)
	require.Contains(t, out, `"reason":"bad_password"`)
	require.Contains(t, out, `"level":"WARN"`)
}

// TestCleanupRemovesExpiredRows: expired auth requests, step tokens and
// revoked-sid rows go; live ones stay.
func TestCleanupRemovesExpiredRows(t *testing.T) {
	e := newEnv(t, true, nil)
	ctx := context.Background()
	e.newAuthRequest(t)
	e.clock.Advance(time.Hour)
	live := e.newAuthRequest(t)
	require.NoError(t, e.svc.Cleanup(ctx))
	var n int
	require.NoError(t, e.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM auth_requests`).Scan(&n))
	require.Equal(t, 1, n)
	_, err := e.svc.authRequest(ctx, live)
	require.NoError(t, err)
}

// TestLockLink: the "this wasn't me" link locks the account and revokes
// every session; unknown or reused links get the same answer.
func TestLockLink(t *testing.T) {
	e := newEnv(t, true, nil)
	secret, _ := e.register(t, "lock-me")
	tok, err := e.client(t).Login(context.Background(), "lock-me", testPassword, secret)
	require.NoError(t, err)
	lt, err := e.svc.NewLockLinkToken(context.Background(), mustAccount(t, e, "lock-me"))
	require.NoError(t, err)
	code, body, _ := e.postForm(t, "/login/lock?t="+url.QueryEscape(lt), nil)
	require.Equal(t, http.StatusAccepted, code)
	code2, body2, _ := e.postForm(t, "/login/lock?t="+url.QueryEscape(lt), nil)
	code3, body3, _ := e.postForm(t, "/login/lock?t=unknown", nil)
	require.Equal(t, []int{code, code}, []int{code2, code3})
	require.Equal(t, []string{body, body}, []string{body2, body3})
	require.Equal(t, "invalid_grant", e.refresh(t, tok.RefreshToken).Error)
	require.Equal(t, 1, e.sink.Count(EventLoginLock, "customer"))
	id := e.newAuthRequest(t)
	_, page, _ := e.postForm(t, "/login", url.Values{"authRequestID": {id}, "username": {"lock-me"}, "password": {testPassword}})
	require.Contains(t, page, "Username or password is wrong.", "a locked account cannot log in")
}
