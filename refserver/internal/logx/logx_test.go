package logx

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRedactsSensitiveAttributes(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{Instance: "i1"})
	const canary = "CANARY-7f3a"
	l.Info("login", "password", canary, "access_token", canary, "Authorization", canary,
		"fsc", canary, "kvnr", canary, "user_email", canary, "iban", canary, "totp", canary,
		slog.Group("req", "cookie", canary, "code", canary), "route", "/v1/x")
	out := buf.String()
	if strings.Contains(out, canary) {
		t.Fatalf("canary leaked: %s", out)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON object: %v", err)
	}
	for _, k := range []string{"time", "level", "msg", "svc", "instance", "log_kind"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("member %q missing in %s", k, out)
		}
	}
	if rec["route"] != "/v1/x" || rec["log_kind"] != "app" || rec["svc"] != "digakit" {
		t.Errorf("unexpected members: %s", out)
	}
	if !strings.HasSuffix(rec["time"].(string), "Z") {
		t.Errorf("time %v not in UTC", rec["time"])
	}
}

func TestLogInjectionStaysOneLine(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{})
	l.Warn("bad request", "user_agent", "x\n{\"level\":\"ERROR\",\"msg\":\"forged\"}\r\n", "err", errors.New("a\nb"))
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1: %q", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != "bad request" {
		t.Fatalf("msg = %v", rec["msg"])
	}
}

func TestIsSensitiveKey(t *testing.T) {
	for k, want := range map[string]bool{"password": true, "refresh_token": true, "KVNR": true, "route": false, "status": false} {
		if got := IsSensitiveKey(k); got != want {
			t.Errorf("IsSensitiveKey(%q) = %v, want %v", k, got, want)
		}
	}
}
