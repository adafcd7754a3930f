package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/kassenapi/billing/billingtest"
	billingsql "github.com/digakit/digakit/kassenapi/billing/sqlstore"
	"github.com/digakit/digakit/refserver/internal/store"
)

func runCLIEnv(t *testing.T, vars map[string]string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(t.Context(), args, &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return vars[k] }})
	return out.String(), errb.String(), code
}

func TestKasseProtocolExport(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	open := func(name string, role store.Role) *store.DB {
		db, err := store.Open(ctx, "sqlite:"+filepath.Join(data, name), role)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return db
	}
	mainDB, billDB := open("digakit.db", store.RoleMain), open("billing.db", store.RoleBilling)
	binds, _ := billingsql.NewBindings(mainDB.DB, "sqlite")
	bill, _ := billingsql.NewBilling(billDB.DB, "sqlite")
	clock := billingtest.NewClock(time.Date(2025, 10, 26, 1, 30, 0, 0, time.UTC)) // 02:30 CET
	ins := billingtest.NewInsurer(billingtest.VEID, kassenapi.MustDate("2025-10-26"))
	ins.Clock = clock.Now
	svc, err := billing.New(billingtest.Config(t, binds, bill, ins, clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	code := billingtest.NewCode(billingtest.PrefixAPI)
	if _, err := svc.Redeem(ctx, "a", code); err != nil {
		t.Fatal(err)
	}
	clock.Advance(24 * time.Hour)
	if _, err := svc.SubmitDue(ctx, 10); err != nil {
		t.Fatal(err)
	}
	_ = mainDB.Close()
	_ = billDB.Close()

	vars := map[string]string{EnvSealKeys: "s1:" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))}
	out, stderr, rc := runCLIEnv(t, vars, "kasse", "protocol", "export", "--from", "2025-10-26", "--to", "2025-10-27", "--data", data)
	if rc != exitOK {
		t.Fatalf("exit %d: %s", rc, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0][8] != "freischaltcode" {
		t.Fatalf("rows %v", rows)
	}
	if rows[1][1] != "2025-10-26 02:30:00" || rows[1][3] != "FSC" || rows[1][8] != code || rows[1][9] != "fehlerfrei" {
		t.Fatalf("check row %v", rows[1][:10])
	}
	if rows[2][1] != "2025-10-27 02:30:00" || rows[2][3] != "RE" || rows[2][4] != "EDRE0" || rows[2][15] == "" {
		t.Fatalf("invoice row %v", rows[2])
	}
	// one day only
	out, _, rc = runCLIEnv(t, vars, "kasse", "protocol", "export", "--from", "2025-10-27", "--to", "2025-10-27", "--data", data)
	if rc != exitOK || strings.Count(out, "\n") != 2 {
		t.Fatalf("one day: %d %q", rc, out)
	}
	for _, c := range []struct {
		vars map[string]string
		args []string
		err  string
	}{
		{vars, []string{"--from", "2025-10-27"}, "--from and --to"},
		{vars, []string{"--from", "2025-10-28", "--to", "2025-10-27"}, "before"},
		{vars, []string{"--from", "27.10.2025", "--to", "2025-10-27"}, "--from and --to"},
		{nil, []string{"--from", "2025-10-27", "--to", "2025-10-27"}, EnvSealKeys},
		{map[string]string{EnvSealKeys: "s1:AAAA"}, []string{"--from", "2025-10-27", "--to", "2025-10-27"}, "32 bytes"},
	} {
		_, stderr, rc := runCLIEnv(t, c.vars, append([]string{"kasse", "protocol", "export", "--data", data}, c.args...)...)
		if rc != exitUsage || !strings.Contains(stderr, c.err) {
			t.Fatalf("%v: %d %q", c.args, rc, stderr)
		}
	}
	// a wrong key cannot open the codes and says so without details
	wrong := map[string]string{EnvSealKeys: "s1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))}
	_, stderr, rc = runCLIEnv(t, wrong, "kasse", "protocol", "export", "--from", "2025-10-26", "--to", "2025-10-27", "--data", data)
	if rc != exitUsage || strings.Contains(stderr, code) {
		t.Fatalf("wrong key: %d %q", rc, stderr)
	}
}
