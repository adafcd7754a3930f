package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(Flags{}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != DefaultAddr || c.Data != DefaultData {
		t.Fatalf("addr %q data %q", c.Addr, c.Data)
	}
	if c.DB.DSN != "sqlite:digakit-data/digakit.db" || c.Billing.DSN != "sqlite:digakit-data/billing.db" {
		t.Fatalf("dsns %q %q", c.DB.DSN, c.Billing.DSN)
	}
	if !c.SandboxEnabled() || c.Production() {
		t.Fatal("development default must enable the sandbox and not be production")
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPrecedenceFlagsEnvFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "digakit.json")
	body := `{"addr":"127.0.0.1:1111","data":"/file/data","db":{"dsn":"sqlite:/file/main.db"},"billing":{"dsn":"sqlite:/file/billing.db"},"log":{"level":"warn"}}`
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Flags{Config: file, Addr: "127.0.0.1:3333"}, env(map[string]string{
		"DIGAKIT_ADDR": "127.0.0.1:2222", "DIGAKIT_DATA": "/env/data", "DIGAKIT_LOG_LEVEL": "debug",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:3333" { // flag beats env and file
		t.Errorf("addr = %q", c.Addr)
	}
	if c.Data != "/env/data" { // env beats file
		t.Errorf("data = %q", c.Data)
	}
	if c.DB.DSN != "sqlite:/file/main.db" { // file beats default
		t.Errorf("db = %q", c.DB.DSN)
	}
	if c.Log.Level != "debug" {
		t.Errorf("log level = %q", c.Log.Level)
	}
	if !c.Production() || c.SandboxEnabled() {
		t.Error("a config file means the production layout without sandbox")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, file, want string
	}{
		{"missing", filepath.Join(dir, "nope.json"), "cannot read"},
		{"syntax", write("syntax.json", `{"addr":`), "invalid JSON"},
		{"unknown member", write("unknown.json", `{"adr":"x"}`), `unknown member "adr"`},
		{"wrong type", write("type.json", `{"jobs":{"max_workers":"four"}}`), "wrong type"},
		{"trailing", write("trail.json", `{} {}`), "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(Flags{Config: tt.file}, env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatal("multi-line error")
			}
		})
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	c, err := Load(Flags{Addr: "nonsense"}, env(map[string]string{
		"DIGAKIT_DB_DSN": "mysql://x", "DIGAKIT_BILLING_DSN": "postgres://u:pw@h/db",
		"DIGAKIT_TLS_CERT": "c.pem", "DIGAKIT_LOG_LEVEL": "loud",
	}))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	fields := map[string]bool{}
	for _, p := range ve.Problems {
		fields[p.Field] = true
	}
	for _, f := range []string{"addr", "db.dsn", "billing.dsn", "tls", "log.level"} {
		if !fields[f] {
			t.Errorf("no problem reported for %s (got %v)", f, ve.Problems)
		}
	}
	if strings.Contains(err.Error(), "pw") {
		t.Fatal("password echoed in a validation message")
	}
}

func TestSameDSNRejected(t *testing.T) {
	c, _ := Load(Flags{}, env(map[string]string{"DIGAKIT_DB_DSN": "sqlite:/x.db", "DIGAKIT_BILLING_DSN": "sqlite:/x.db"}))
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "billing.dsn") {
		t.Fatalf("err = %v", err)
	}
}
