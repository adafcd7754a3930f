//go:build !production

package app

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/digakit/digakit/kassenapi/kassenapitest"
	"github.com/digakit/digakit/refserver/examples/oidcclient"
)

// TestAuditEndToEnd (issue 5 item 7): against the running development
// server, a user registers, fails one login, logs in, redeems a
// Freischaltcode (201, again 200, a bad code 422) and refreshes the
// token; after shutdown the main database's audit log verifies with the
// generated keys and the shipped checkpoints, it holds the auth events
// (user_created, authn_login_fail, authn_login_success, session_created,
// authn_token_created), the redemption outcomes (fsc_redeem_ok twice,
// fsc_redeem_fail reason checksum, each with the account's pseudonym) and
// the billing protocol log (billing_exchange of the code check) besides
// sys_startup and sys_shutdown, and no leaf carries the username, the
// password, a token or the code.
func TestAuditEndToEnd(t *testing.T) {
	cfg := devConfig(t)
	s := start(t, quietOptions(cfg))
	base := s.Addrs["public"]
	ctx := context.Background()
	c, err := oidcclient.New(ctx, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	const pw = "correct horse battery staple 42"
	acct, err := c.Register(ctx, "audit-user", pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, acct.Username, pw+"x", acct.TOTPSecret); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	tok, err := c.Login(ctx, acct.Username, pw, acct.TOTPSecret)
	if err != nil {
		t.Fatal(err)
	}
	ins := s.sandbox.Peer("insurer").(*kassenapitest.Server)
	code := kassenapitest.NewCode("ZZ")
	ins.AddCode(code, kassenapitest.State{Status: kassenapitest.Valid})
	redeem := func(code string, want int) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/v1/redemptions", strings.NewReader(`{"code":"`+code+`"}`))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-App-Platform", oidcclient.AppPlatform)
		req.Header.Set("X-App-Version", oidcclient.AppVersion)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("redemption: %d %s, want %d", resp.StatusCode, b, want)
		}
	}
	redeem(code.Plain(), http.StatusCreated)
	redeem(code.Plain(), http.StatusOK)
	redeem("ZZAAAAAAAAAAAAAB", http.StatusUnprocessableEntity) // bad check character
	// Whatever the redemption did not mirror yet (best effort after
	// commit) the reconciler's mirror step copies.
	if _, err := s.billingSvc.MirrorAudit(ctx, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refresh(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	rep, db := verifyServerAudit(t, cfg)
	if !rep.OK || rep.Events == 0 || len(rep.Warnings) > 0 {
		t.Fatalf("verify: %+v", rep)
	}
	types := auditTypes(t, db)
	for _, want := range []string{"sys_startup", "sys_shutdown", "user_created", "authn_login_fail", "authn_login_success",
		"session_created", "authn_token_created", "billing_exchange"} {
		if types[want] == 0 {
			t.Errorf("no %s event; types %v", want, types)
		}
	}
	if types["fsc_redeem_ok"] != 2 || types["fsc_redeem_fail"] != 1 {
		t.Errorf("redemption events %v, want two fsc_redeem_ok and one fsc_redeem_fail", types)
	}
	var subj int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE type LIKE 'fsc_redeem_%' AND subject IS NOT NULL AND subject <> ''`).Scan(&subj); err != nil {
		t.Fatal(err)
	}
	if subj != 3 {
		t.Errorf("%d redemption events carry the account's pseudonym, want 3", subj)
	}
	if types["authn_token_refreshed"] != 0 {
		t.Error("authn_token_refreshed is not in the vocabulary")
	}
	rows, err := db.QueryContext(ctx, `SELECT leaf FROM audit_events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	fsc := 0
	for rows.Next() {
		var leaf []byte
		if err := rows.Scan(&leaf); err != nil {
			t.Fatal(err)
		}
		l := string(leaf)
		if strings.Contains(l, `"type":"billing_exchange"`) && strings.Contains(l, `"procedure":"EDFC0"`) {
			fsc++
		}
		if strings.Contains(l, `"type":"fsc_redeem_fail"`) && !strings.Contains(l, `"reason":"checksum"`) {
			t.Errorf("fsc_redeem_fail without the check's reason: %s", l)
		}
		for _, secret := range []string{acct.Username, pw, tok.AccessToken, code.Plain(), "127.0.0.1"} {
			if secret != "" && strings.Contains(l, secret) {
				t.Fatalf("an audit leaf carries a secret or address: %s", l)
			}
		}
		if strings.Contains(l, "[redacted:") {
			t.Errorf("the server produced forbidden content: %s", l)
		}
	}
	if fsc == 0 {
		t.Error("the code check (EDFC0) is not in the audit log")
	}
}

// TestLoginFailsClosedWhenTheAuditLogIsDown: while audit appends fail,
// a login answers 503 audit-unavailable and hands out no token; once the
// audit store is back the same login succeeds.
func TestLoginFailsClosedWhenTheAuditLogIsDown(t *testing.T) {
	s := start(t, quietOptions(devConfig(t)))
	base := s.Addrs["public"]
	ctx := context.Background()
	c, err := oidcclient.New(ctx, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	const pw = "correct horse battery staple 42"
	acct, err := c.Register(ctx, "", pw)
	if err != nil {
		t.Fatal(err)
	}
	// A second account (own client) logs in once the log is back: the
	// first account's TOTP code of this window is spent.
	c2, err := oidcclient.New(ctx, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	acct2, err := c2.Register(ctx, "", pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.main.ExecContext(ctx, `CREATE TRIGGER audit_down BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'down'); END`); err != nil {
		t.Fatal(err)
	}
	if tok, err := c.Login(ctx, acct.Username, pw, acct.TOTPSecret); err == nil {
		t.Fatalf("login succeeded without audit: %+v", tok != nil)
	}
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	_, metrics := get(t, hc, base+"/metrics")
	if !strings.Contains(metrics, `code="503"`) {
		t.Fatal("no request answered 503 while the audit log was down")
	}
	if _, err := s.main.ExecContext(ctx, `DROP TRIGGER audit_down`); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Login(ctx, acct2.Username, pw, acct2.TOTPSecret); err != nil {
		t.Fatalf("login after the audit log is back: %v", err)
	}
}
