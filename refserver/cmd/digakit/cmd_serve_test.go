package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServeBadConfigurationExit2OneLine(t *testing.T) {
	occupied, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer occupied.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	_ = os.WriteFile(file, nil, 0o600)
	badJSON := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(badJSON, []byte("{"), 0o600)
	data := filepath.Join(dir, "data")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown DSN scheme", []string{"serve", "--data", data, "--addr", "127.0.0.1:0"}, map[string]string{"DIGAKIT_DB_DSN": "mongodb://x"}, "unknown DSN scheme"},
		{"unwritable data dir", []string{"serve", "--data", filepath.Join(file, "d"), "--addr", "127.0.0.1:0"}, nil, "cannot create"},
		{"port in use", []string{"serve", "--data", data, "--addr", occupied.Addr().String()}, nil, "address already in use"},
		{"unreadable config", []string{"serve", "--config", filepath.Join(dir, "missing.json")}, nil, "cannot read"},
		{"malformed config", []string{"serve", "--config", badJSON}, nil, "invalid JSON"},
		{"stray argument", []string{"serve", "extra"}, nil, "unexpected argument"},
		{"unknown flag", []string{"serve", "--port", "1"}, nil, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb strings.Builder
			code := run(t.Context(), tt.args, &env{
				stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
				getenv: func(k string) string { return tt.env[k] },
			})
			if code != exitUsage {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, errb.String())
			}
			lines := strings.Split(strings.TrimRight(errb.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
				t.Fatalf("stderr = %q, want one line containing %q", errb.String(), tt.want)
			}
		})
	}
}

// TestServeAnswersAndShutsDownCleanly runs serve in-process, waits for the
// "listening" log line, probes the endpoints and cancels the context (the
// CLI's SIGTERM path): exit 0.
func TestServeAnswersAndShutsDownCleanly(t *testing.T) {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		var errb strings.Builder
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data")}, &env{
			stdin: strings.NewReader(""), stdout: pw, stderr: &errb, getenv: func(string) string { return "" },
		})
		_ = pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	url := ""
	deadline := time.After(60 * time.Second)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for url == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("serve exited before listening")
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatalf("stdout line is not JSON: %q", l)
			}
			if rec["msg"] == "listening" {
				url, _ = rec["url"].(string)
			}
		case <-deadline:
			t.Fatal("no listening line within 60 s")
		}
	}
	go func() { // keep draining the log
		for range lines {
		}
	}()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := c.Get(url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s = %d", p, resp.StatusCode)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit %d after shutdown, want 0", code)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop within 60 s")
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	_ = os.WriteFile(good, []byte(`{"addr":"127.0.0.1:8443","db":{"dsn":"sqlite:/tmp/a.db"},"billing":{"dsn":"sqlite:/tmp/b.db"}}`), 0o600)
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"addr":"x","db":{"dsn":"mysql://h"}}`), 0o600)
	if out, errs, code := runCLI(t, "", "config", "check", "--config", good); code != exitOK || !strings.Contains(out, "valid") {
		t.Fatalf("good: exit %d out %q err %q", code, out, errs)
	}
	_, errs, code := runCLI(t, "", "config", "check", "--config", bad)
	if code != exitInvalid {
		t.Fatalf("bad: exit %d, want 1", code)
	}
	if n := strings.Count(errs, "\n"); n != 2 || !strings.Contains(errs, "addr:") || !strings.Contains(errs, "db.dsn:") {
		t.Fatalf("bad: want one line per problem, got %q", errs)
	}
	if _, _, code := runCLI(t, "", "config", "check", "--config", filepath.Join(dir, "none.json")); code != exitUsage {
		t.Fatalf("missing file: exit %d, want 2", code)
	}
	if _, _, code := runCLI(t, "", "config"); code != exitUsage {
		t.Fatalf("no subcommand: exit %d, want 2", code)
	}
}
