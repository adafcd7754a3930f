package auth

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/digakit/digakit/refserver/examples/oidcclient"
)

const testPassword = "a long passphrase for tests"

// TestEndToEndExampleClient registers, enrols TOTP, logs in with PKCE,
// refreshes and logs out with the example client (x/oauth2 + go-oidc).
func TestEndToEndExampleClient(t *testing.T) {
	e := newEnv(t, false, nil)
	ctx := context.Background()
	c, err := oidcclient.New(ctx, e.url, nil)
	require.NoError(t, err)
	acct, err := c.Register(ctx, "", testPassword)
	require.NoError(t, err)
	require.Len(t, acct.RecoveryCodes, 10)
	require.Regexp(t, `^u-[a-z2-7]{10}$`, acct.Username)

	tok, err := c.Login(ctx, acct.Username, testPassword, acct.TOTPSecret)
	require.NoError(t, err)
	require.NotEmpty(t, tok.RefreshToken)
	require.Contains(t, tok.Claims["amr"], "pwd")
	require.Contains(t, tok.Claims["amr"], "otp")
	require.Equal(t, ACRSubstantial, tok.Claims["acr"])

	code, body, err := c.Get(ctx, tok, "/v1/me/sessions")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"current":true`)

	tok2, err := c.Refresh(ctx, tok)
	require.NoError(t, err)
	require.NotEqual(t, tok.RefreshToken, tok2.RefreshToken)

	require.NoError(t, c.Logout(ctx, tok2))
	_, err = c.Refresh(ctx, tok2)
	require.Error(t, err, "refresh after logout")
	code, _, err = c.Get(ctx, tok2, "/v1/me/sessions")
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, code)
}
