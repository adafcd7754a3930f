package auth

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// dumpAuthTables renders every row of the auth tables as text.
func dumpAuthTables(t testing.TB, e *env) string {
	t.Helper()
	var b strings.Builder
	for _, tbl := range []string{"auth_accounts", "auth_totp", "auth_recovery_codes", "auth_webauthn_credentials", "auth_requests", "auth_preauth",
		"auth_sessions", "auth_refresh_tokens", "auth_access_tokens", "auth_revoked_sessions", "auth_browser_sessions", "auth_webauthn_users", "auth_webauthn_challenges"} {
		rows, err := e.db.QueryContext(context.Background(), "SELECT * FROM "+tbl)
		require.NoError(t, err)
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v|", v)
			}
			b.WriteByte('\n')
		}
		_ = rows.Close()
	}
	return b.String()
}

// TestT21NoSecretsAtRest: after registration, login, refresh and a
// recovery-code check, neither the database rows nor the log output
// contain the password, username, TOTP secret, recovery codes, codes or
// tokens; tokens and session ids are stored only as hashes.
//
// REQ: TR03161-3:O.Auth_18
func TestT21NoSecretsAtRest(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, false, func(c *Config) {
		c.Logger = logger
		c.Events = SlogSink{Logger: logger}
	})
	const user = "Canary-Username-7QX"
	secret, codes := e.register(t, user)
	tok, err := e.client(t).Login(context.Background(), user, testPassword, secret)
	require.NoError(t, err)
	r := e.refresh(t, tok.RefreshToken)
	require.NotEmpty(t, r.RefreshToken)
	_ = e.refresh(t, tok.RefreshToken) // reuse: logged as an event

	db := dumpAuthTables(t, e)
	out := logs.String()
	require.Contains(t, out, `"log_kind":"audit"`)
	canaries := map[string]string{
		"password": testPassword, "username": user, "normalized username": strings.ToLower(user), "totp secret": secret,
		"recovery code": codes[0], "recovery code (normalized)": NormalizeRecoveryCode(codes[1]),
		"refresh token": tok.RefreshToken, "rotated refresh token": r.RefreshToken, "access token": tok.AccessToken,
		"access token signature": tok.AccessToken[strings.LastIndexByte(tok.AccessToken, '.')+1:], "id token": tok.IDToken,
	}
	for what, c := range canaries {
		require.NotContains(t, db, c, "%s stored in the clear", what)
		require.NotContains(t, out, c, "%s in the log", what)
	}
	require.Contains(t, db, sha256Hex(r.RefreshToken), "refresh tokens are stored as SHA-256")
}
