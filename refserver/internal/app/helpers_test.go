package app

import (
	"context"
	"testing"

	"github.com/digakit/digakit/refserver/examples/oidcclient"
)

// testPassword is the password of the users the end-to-end tests create.
const testPassword = "correct horse battery staple 42"

// signedInUser registers name on the server at base with its own client
// (one browser per user), enrols TOTP and logs in with PKCE.
func signedInUser(t *testing.T, base, name string) (*oidcclient.Client, *oidcclient.Token) {
	t.Helper()
	ctx := context.Background()
	c, err := oidcclient.New(ctx, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := c.Register(ctx, name, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Login(ctx, acct.Username, testPassword, acct.TOTPSecret)
	if err != nil {
		t.Fatal(err)
	}
	return c, tok
}
