// Package oidcclient is an example relying party for the digakit
// reference server, written with golang.org/x/oauth2 and
// github.com/coreos/go-oidc/v3 only. It registers a pseudonymous
// account, enrols TOTP, signs in with the authorization code flow and
// PKCE S256, refreshes and signs out — what a DiGA app does, with the
// login pages driven by plain form posts instead of a browser.
//
// The flow against a running `digakit serve` (development default):
//
//	c, _ := oidcclient.New(ctx, "http://127.0.0.1:8080", nil)
//	acct, _ := c.Register(ctx, "", "a long passphrase here")
//	tok, _ := c.Login(ctx, acct.Username, "a long passphrase here", acct.TOTPSecret)
//	tok, _ = c.Refresh(ctx, tok)
//	_ = c.Logout(ctx, tok)
//
// It uses the public native client "digakit-dev" whose loopback
// redirect URI http://127.0.0.1/callback is accepted on any port
// (RFC 8252 §7.3). The redirect is intercepted, never served.
package oidcclient
