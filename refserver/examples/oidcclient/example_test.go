package oidcclient_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/digakit/digakit/refserver/examples/oidcclient"
	"github.com/digakit/digakit/refserver/internal/app"
	"github.com/digakit/digakit/refserver/internal/config"
)

// Example runs the whole app flow against a started reference server
// (development default on a loopback port): register, enrol TOTP, log
// in with PKCE, refresh, log out.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, _ := os.MkdirTemp("", "oidcclient-example")
	defer func() { _ = os.RemoveAll(dir) }()
	cfg, _ := config.Load(config.Flags{Addr: "127.0.0.1:0", Data: filepath.Join(dir, "data")}, func(string) string { return "" })
	srv, err := app.Start(ctx, app.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), Getuid: func() int { return 1000 }})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = srv.Shutdown(context.Background()) }()

	c, err := oidcclient.New(ctx, srv.Addrs["public"], nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	const pw = "a long passphrase for the example"
	acct, err := c.Register(ctx, "example-user", pw)
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := c.Login(ctx, acct.Username, pw, acct.TOTPSecret)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("amr:", tok.Claims["amr"], "acr:", tok.Claims["acr"])
	tok, err = c.Refresh(ctx, tok)
	fmt.Println("refreshed:", err == nil)
	fmt.Println("logout:", c.Logout(ctx, tok))
	_, err = c.Refresh(ctx, tok)
	fmt.Println("refresh after logout fails:", err != nil)
	// Output:
	// amr: [pwd otp mfa] acr: loa-substantial
	// refreshed: true
	// logout: <nil>
	// refresh after logout fails: true
}
